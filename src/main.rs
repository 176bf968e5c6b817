//! `certcentral-exporter`: parse the command line, set up logging, hand over.

use std::process::ExitCode;

use clap::Parser;

#[cfg(feature = "simulator")]
use certcentral_exporter::cli::Command;
use certcentral_exporter::cli::{Cli, one_line_error};
use certcentral_exporter::{app, logging};

/// jemalloc rather than glibc's malloc: a poll of a large account frees
/// hundreds of megabytes at once, and glibc keeps most of it mapped while
/// the live heap stays flat (the benchmark's soak, docs/performance.md).
/// jemalloc's background thread returns it.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: freed pages go back to the
/// system after about a second, from a background thread, not from a
/// scrape or a poll.
#[cfg(target_os = "linux")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: Option<&'static std::ffi::c_char> = Some(
    // SAFETY: a pointer to the first byte of a NUL-terminated static string.
    unsafe { &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() },
);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            // --help and --version
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("{}", one_line_error(&err));
            return ExitCode::from(2);
        }
    };
    logging::init(cli.exporter.log_level, cli.exporter.log_format);
    logging::install_panic_hook();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        #[cfg(feature = "simulator")]
        Some(Command::Simulate(args)) => runtime.block_on(app::simulate(args)),
        None => {
            let config = match cli.exporter.into_config() {
                Ok(config) => config,
                Err(err) => {
                    eprintln!("error: {err}");
                    return ExitCode::from(2);
                }
            };
            logging::redact_in_panics(config.accounts.iter().map(|a| a.api_key.clone()).collect());
            runtime.block_on(app::run(config))
        }
    };
    // Work still running on blocking threads (a bcrypt check of a login
    // that arrived before SIGTERM) does not hold up the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<app::StartupError>().is_some() => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "exiting");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
