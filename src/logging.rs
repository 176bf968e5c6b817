//! Logging: the configured format on stderr, and panics as one error
//! event in that format with any API key redacted.

use std::sync::OnceLock;

use clap::ValueEnum;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::certcentral::ApiKey;

/// The log level (`--log.level`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// How log lines are written (`--log.format`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

/// The API keys in use, so that a panic message that happens to hold one
/// is redacted before it is logged.
static KEYS: OnceLock<Vec<ApiKey>> = OnceLock::new();

/// Tells the panic hook which keys to redact.
pub fn redact_in_panics(keys: Vec<ApiKey>) {
    let _ = KEYS.set(keys);
}

/// Panics are logged as one error event in the configured log format
/// (so that a JSON log stays JSON), with any API key redacted, instead of
/// the default multi-line message. `RUST_BACKTRACE=1` adds the backtrace.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let redact = |text: &str| {
            KEYS.get()
                .into_iter()
                .flatten()
                .fold(text.to_owned(), |text, key| key.redact(&text))
        };
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a panic without a message)");
        let message = redact(message);
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            let backtrace = redact(&backtrace.to_string());
            tracing::error!(panic = %message, %location, thread, %backtrace, "panicked");
        } else {
            tracing::error!(panic = %message, %location, thread, "panicked");
        }
    }));
}

/// Sets up the global subscriber: `level` for this crate and the
/// simulator, warnings for the libraries it uses.
pub fn init(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::WARN)
        .with_target("certcentral_exporter", level)
        // The simulator behind `simulate` and `--demo`.
        .with_target("certcentral_simulator", level);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// Log output kept in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The hook, on a panic whose message holds the key: one JSON event,
    /// error level, with the location, and the key redacted (also from a
    /// backtrace when RUST_BACKTRACE asks for one).
    #[test]
    fn a_panic_is_one_json_event_with_the_key_redacted() {
        const KEY: &str = "SECRET-SWEEP-7f1e2d3c4b5a";
        let _ = KEYS.set(vec![ApiKey::new(KEY).expect("a key")]);
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let previous = std::panic::take_hook();
        install_panic_hook();
        let result = tracing::subscriber::with_default(subscriber, || {
            std::panic::catch_unwind(|| panic!("the key {KEY} ended up in a panic"))
        });
        std::panic::set_hook(previous);
        assert!(result.is_err());

        let bytes = captured.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let text = String::from_utf8(bytes).expect("UTF-8 logs");
        assert!(
            !text.contains(KEY) && !text.contains("7f1e2d3c4b5a"),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {text}");
        let event: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON");
        assert_eq!(event["level"], "ERROR");
        assert_eq!(event["message"], "panicked");
        assert_eq!(event["panic"], "the key [REDACTED] ended up in a panic");
        assert!(
            event["location"]
                .as_str()
                .is_some_and(|l| l.starts_with("src/logging.rs:")),
            "{event}"
        );
    }
}
