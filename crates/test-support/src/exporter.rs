//! The exporter on a free loopback port.

use std::process::Command;
use std::time::Duration;

use crate::process::{Binary, Process, free_port, http, poll_until, wait_for};
use crate::scrape::Scrape;
use crate::simulator::Controls;

/// The exporter, stopped when dropped.
pub struct Exporter {
    /// The exporter process.
    pub process: Process,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::blocking::Client,
}

impl Exporter {
    /// The binary with `args` and `env`, logging at debug level unless
    /// `args` say otherwise.
    pub fn start(bin: Binary, args: &[&str], env: &[(&str, &str)]) -> Exporter {
        Exporter::start_wrapped(bin, &[], args, env)
    }

    /// The exporter started by `wrapper` (see [`Binary::wrapped`]).
    pub fn start_wrapped(
        bin: Binary,
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Exporter {
        let mut command = bin.wrapped(wrapper);
        command.envs(env.iter().copied());
        if !args.contains(&"--log.level") {
            command.args(["--log.level", "debug"]);
        }
        Exporter::spawn(command, args)
    }

    /// `command` (an exporter binary with the environment and flags the
    /// caller wants) listening on a free port, with `args`.
    pub fn spawn(command: Command, args: &[&str]) -> Exporter {
        Exporter::spawn_at(command, &format!("127.0.0.1:{}", free_port()), args)
    }

    /// `command` listening on `listen` (`host:port`: the address of an
    /// exporter it restarts), with `args`.
    pub fn spawn_at(mut command: Command, listen: &str, args: &[&str]) -> Exporter {
        command.args(["--web.listen-address", listen]).args(args);
        Exporter {
            process: Process::start("exporter", command),
            base: format!("http://{listen}"),
            client: http(),
        }
    }

    /// The URL of `path` on it.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Whether `path` answers with a success (`/-/healthy`: it listens;
    /// `/-/ready`: its first poll is served).
    pub fn answers(&self, path: &str) -> bool {
        self.client
            .get(self.url(path))
            .send()
            .is_ok_and(|r| r.status().is_success())
    }

    /// Waits for `/-/healthy` (the server listens); panics if the process
    /// exits meanwhile.
    pub fn wait_healthy(&self, timeout: Duration) {
        poll_until(
            "the exporter to listen",
            timeout,
            Duration::from_millis(50),
            &[&self.process],
            || self.answers("/-/healthy").then_some(()),
        );
    }

    /// Waits (60 s at most) for `/-/ready`: the first poll is served.
    pub fn wait_ready(&self) {
        self.wait_ready_within(Duration::from_secs(60));
    }

    /// Waits for `/-/ready`; panics if the process exits meanwhile.
    pub fn wait_ready_within(&self, timeout: Duration) {
        poll_until(
            "the exporter to be ready",
            timeout,
            Duration::from_millis(50),
            &[&self.process],
            || self.answers("/-/ready").then_some(()),
        );
    }

    /// The controls of the simulator a `--demo` exporter polls, from the
    /// URL its log names (`None` before it is logged).
    pub fn demo_simulator(&self) -> Option<Controls> {
        let logs = self.process.logs();
        let url = logs
            .lines()
            .find(|l| l.contains("embedded CertCentral simulator"))?
            .split_whitespace()
            .find_map(|field| field.strip_prefix("url="))?
            .trim_matches('"');
        Some(Controls::at(
            url.trim_end_matches('/').trim_end_matches("/services/v2"),
        ))
    }

    /// GET `path`; panics if there is no answer.
    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        http().get(self.url(path)).send().expect("GET")
    }

    /// One scrape, parsed.
    pub fn scrape(&self) -> Scrape {
        let text = self.get("/metrics").text().expect("metrics body");
        Scrape::parse(&text)
    }

    /// Scrapes until `check` holds (60 s at most); a scrape that gets no
    /// answer (the exporter not listening yet) counts as not yet.
    pub fn scrape_until(&self, what: &str, check: impl Fn(&Scrape) -> bool) -> Scrape {
        wait_for(what, Duration::from_secs(60), || {
            self.process.assert_running();
            let text = self
                .client
                .get(self.url("/metrics"))
                .send()
                .ok()?
                .text()
                .ok()?;
            Some(Scrape::parse(&text)).filter(|s| check(s))
        })
    }
}
