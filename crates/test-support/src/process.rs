//! The binary, child processes, ports, waiting and HTTP clients.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The variable the exporter reads its API key from; the harness never
/// lets the caller's own through.
const API_KEY_ENV: &str = "CERTCENTRAL_API_KEY";

/// The `certcentral-exporter` binary a test runs (see the crate doc, "The
/// binary's path", for why the caller supplies it).
#[derive(Clone, Copy, Debug)]
pub struct Binary {
    path: &'static str,
}

impl Binary {
    /// The binary at `path`; usually [`exporter_binary!`](crate::exporter_binary).
    pub const fn new(path: &'static str) -> Binary {
        Binary { path }
    }

    /// Where the binary is.
    pub fn path(self) -> &'static Path {
        Path::new(self.path)
    }

    /// A command for the binary, without `$CERTCENTRAL_API_KEY` from the
    /// test's own environment.
    pub fn command(self) -> Command {
        let mut command = Command::new(self.path);
        command.env_remove(API_KEY_ENV);
        command
    }

    /// The binary started by `wrapper` (e.g. `prlimit --nofile=256:1024
    /// --`), which ends by running the command it is given.
    pub fn wrapped(self, wrapper: &[&str]) -> Command {
        let Some((program, wrapper_args)) = wrapper.split_first() else {
            return self.command();
        };
        let mut command = Command::new(program);
        command
            .args(wrapper_args)
            .arg(self.path)
            .env_remove(API_KEY_ENV);
        command
    }

    /// The binary with `args` and `env`, running until dropped.
    pub fn spawn(self, args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut command = self.command();
        command.args(args).envs(env.iter().copied());
        Process::start("certcentral-exporter", command)
    }

    /// The binary with `args` and `env`, run to its exit (stdin closed).
    pub fn output(self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command()
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.path))
    }
}

/// A child process, killed and reaped when dropped (on every exit path,
/// panics included), its stdout and stderr kept in a file that failure
/// messages quote.
pub struct Process {
    name: String,
    child: Mutex<Child>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Starts `command` (stdin closed, output to the log), `name` naming it
    /// in messages.
    pub fn start(name: &str, mut command: Command) -> Process {
        let dir = tempfile::tempdir().expect("a temporary directory for the log");
        let log = dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("the log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("the log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({:?}): {e}", command.get_program()));
        Process {
            name: name.to_owned(),
            child: Mutex::new(child),
            log,
            _dir: dir,
        }
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything the process has written so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of its output, headed with its name.
    pub fn tail(&self) -> String {
        let text = self.logs();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(30);
        format!(
            "--- last lines of {} output ---\n{}",
            self.name,
            lines[start..].join("\n")
        )
    }

    /// The process id (to read `/proc` or send signals).
    pub fn pid(&self) -> u32 {
        self.child().id()
    }

    /// Whether it has not exited yet.
    pub fn is_running(&self) -> bool {
        matches!(self.child().try_wait(), Ok(None))
    }

    /// Panics, quoting its output, if it has exited.
    pub fn assert_running(&self) {
        if let Ok(Some(status)) = self.child().try_wait() {
            panic!("{} exited early ({status})\n{}", self.name, self.tail());
        }
    }

    /// Waits (with a deadline) for the process to exit by itself.
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child().try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends `signal` (`TERM`, `INT`, `HUP`...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.name);
    }

    /// Sends `signal` and waits (with a deadline) for the exit status;
    /// also how long it took.
    pub fn stop(&self, signal: &str, timeout: Duration) -> (Option<ExitStatus>, Duration) {
        let sent = Instant::now();
        self.signal(signal);
        (self.wait_exit(timeout), sent.elapsed())
    }

    /// Sends SIGTERM and waits (with a deadline) for the exit status.
    pub fn terminate(&self, timeout: Duration) -> Option<ExitStatus> {
        self.stop("TERM", timeout).0
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after
/// `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    poll_until(what, timeout, Duration::from_millis(50), &[], check)
}

/// Polls `check` every `every` until it returns `Some`; panics, quoting
/// their output, as soon as one of `watched` exits, or after `timeout`.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    watched: &[&Process],
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        for process in watched {
            process.assert_running();
        }
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            let tails: Vec<String> = watched.iter().map(|p| p.tail()).collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                tails.join("\n")
            );
        }
        std::thread::sleep(every);
    }
}

/// A blocking HTTP client with a 30 s timeout; it asks for gzip and
/// inflates what comes back.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// A blocking HTTP client that leaves bodies as sent (no automatic gzip),
/// for tests and benchmarks of the encoding itself.
pub fn raw_http(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_gzip()
        .timeout(timeout)
        .build()
        .expect("an HTTP client")
}
