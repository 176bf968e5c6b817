//! What a process has used so far, from `/proc`: CPU time and memory, for
//! the benchmarks' figures.

use std::process::Command;

use crate::Process;

/// CPU time of a process: utime+stime from `/proc/PID/stat` (every
/// thread, dead ones included, in 10 ms ticks) and the sum of its live
/// threads' `schedstat` (nanoseconds).
#[derive(Clone, Copy)]
pub struct Cpu {
    stat: f64,
    threads: f64,
}

impl Cpu {
    /// Seconds from `before` to `self`: the nanosecond figure when it agrees
    /// with utime+stime (no thread exited in between), else utime+stime.
    pub fn since(self, before: Cpu) -> f64 {
        let coarse = self.stat - before.stat;
        let fine = self.threads - before.threads;
        if (fine - coarse).abs() <= 0.03 + 0.02 * coarse {
            fine
        } else {
            coarse
        }
    }
}

impl Process {
    /// The CPU time of the process so far, two ways.
    pub fn cpu(&self) -> Cpu {
        let pid = self.pid();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        // Fields after the command name, which is in parentheses.
        let after = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line; `after`
        // starts at field 3.
        let ticks: u64 =
            fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
        let mut threads_ns: u64 = 0;
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                threads_ns += std::fs::read_to_string(task.path().join("schedstat"))
                    .ok()
                    .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
                    .unwrap_or(0);
            }
        }
        Cpu {
            stat: ticks as f64 / clock_ticks_per_second(),
            threads: threads_ns as f64 / 1e9,
        }
    }

    /// (VmHWM, VmRSS) of the process in MB: its peak and current resident
    /// memory.
    pub fn memory_mb(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
                .expect("VmHWM/VmRSS in /proc/PID/status")
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux architecture that matters here; getconf
    // says so when it is there.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
