//! Fault mode: the ways CertCentral (or the network in front of it) can
//! misbehave, injected on purpose so the exporter's handling is tested.

use serde::{Deserialize, Serialize};

/// What goes wrong, and how often. Rates are shares of API requests
/// (0 to 1), drawn from the simulator's seeded generator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer HTTP 500 with the documented error body.
    pub error_rate: f64,
    /// The next this many API requests answer 429, whatever the windows.
    pub rate_limit_burst: u32,
    /// Answer this share slowly, after `slow_ms`.
    pub slow_rate: f64,
    pub slow_ms: u64,
    /// Send half the body, then reset the connection.
    pub reset_rate: f64,
    /// Report pages cut short in the middle of a row (a complete HTTP answer).
    pub truncate_report_rate: f64,
    /// Report pages of garbage (an HTML error page with status 200).
    pub garbage_report_rate: f64,
    /// Order details that are not the documented JSON object.
    pub bad_detail_rate: f64,
}

impl Faults {
    /// Parses `--faults` JSON.
    pub fn parse(text: &str) -> Result<Faults, String> {
        let faults: Faults =
            serde_json::from_str(text).map_err(|e| format!("not a fault spec: {e}"))?;
        faults.check()?;
        Ok(faults)
    }

    /// Rates must be shares.
    pub fn check(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("slow_rate", self.slow_rate),
            ("reset_rate", self.reset_rate),
            ("truncate_report_rate", self.truncate_report_rate),
            ("garbage_report_rate", self.garbage_report_rate),
            ("bad_detail_rate", self.bad_detail_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        Ok(())
    }
}
