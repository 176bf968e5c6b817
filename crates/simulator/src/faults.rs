//! Fault mode: the ways CertCentral (or the network in front of it) can
//! misbehave, injected on purpose so that the exporter's handling of them
//! is tested. Set with `--faults JSON` or `PUT /_simulator/faults`.
//!
//! Draws come from a generator seeded with the simulator's seed (or the
//! fault spec's own `seed`), one draw per API request, so a test that
//! sends the same requests in the same order meets the same faults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What goes wrong, and how often. Rates are shares of API requests, from
/// 0 to 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer HTTP 500 with the documented error body.
    pub error_rate: f64,
    /// The next this many API requests answer 429, whatever the windows.
    pub rate_limit_burst: u32,
    /// Answer this share only after `slow_ms` (past a client's timeout).
    pub slow_rate: f64,
    /// How long a slow answer waits, in milliseconds.
    pub slow_ms: u64,
    /// Send half the body, then reset the connection.
    pub reset_rate: f64,
    /// Report pages cut short inside a row (a complete HTTP answer).
    pub truncate_report_rate: f64,
    /// Report pages of garbage (an HTML error page, invalid UTF-8, 200).
    pub garbage_report_rate: f64,
    /// Order details and reissue lists that are not the documented JSON.
    pub bad_detail_rate: f64,
    /// Only these endpoints (`report`, `order`, `reissue`,
    /// `subaccount_orders`, `order_create`); all when absent.
    pub endpoints: Option<Vec<String>>,
    /// Reseeds the fault generator when set.
    pub seed: Option<u64>,
}

impl Faults {
    /// Parses a fault spec (JSON), checked.
    pub fn parse(text: &str) -> Result<Faults, String> {
        let faults: Faults =
            serde_json::from_str(text).map_err(|e| format!("not a fault spec: {e}"))?;
        faults.check()?;
        Ok(faults)
    }

    /// Rates must be shares; endpoint names must be known.
    pub(crate) fn check(&self) -> Result<(), String> {
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
        for endpoint in self.endpoints.iter().flatten() {
            if !ENDPOINTS.contains(&endpoint.as_str()) {
                return Err(format!(
                    "unknown endpoint {endpoint:?} (endpoints: {})",
                    ENDPOINTS.join(", ")
                ));
            }
        }
        Ok(())
    }

    fn applies_to(&self, endpoint: &str) -> bool {
        self.endpoints
            .as_ref()
            .is_none_or(|list| list.iter().any(|e| e == endpoint))
    }
}

/// The endpoint names of the stats and of `Faults::endpoints`.
pub(crate) const ENDPOINTS: [&str; 5] = [
    "report",
    "order",
    "reissue",
    "subaccount_orders",
    "order_create",
];

/// What the fault mode decided for one request.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Draw {
    pub(crate) error: bool,
    pub(crate) burst: bool,
    pub(crate) slow: Option<Duration>,
    pub(crate) reset: bool,
    pub(crate) truncate: bool,
    pub(crate) garbage: bool,
    /// Which unexpected JSON to send (when `Some`).
    pub(crate) bad_detail: Option<usize>,
}

/// The fault spec in force, its generator, and what it has injected.
#[derive(Debug)]
pub(crate) struct Injector {
    faults: Faults,
    rng: fastrand::Rng,
    injected: BTreeMap<&'static str, u64>,
}

impl Injector {
    /// An injector for `faults`, seeded with `seed` unless the spec has
    /// its own.
    pub(crate) fn new(faults: Faults, seed: u64) -> Injector {
        let rng = fastrand::Rng::with_seed(faults.seed.unwrap_or(seed));
        Injector {
            faults,
            rng,
            injected: BTreeMap::new(),
        }
    }

    /// The spec in force.
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the spec (and reseeds when it has a seed).
    pub(crate) fn set(&mut self, faults: Faults) {
        if let Some(seed) = faults.seed {
            self.rng = fastrand::Rng::with_seed(seed);
        }
        self.faults = faults;
    }

    /// Faults injected so far, by kind.
    pub(crate) fn injected(&self) -> &BTreeMap<&'static str, u64> {
        &self.injected
    }

    /// Draws the faults of one request to `endpoint`. Every rate draws a
    /// number whether or not it applies, so that one endpoint's faults do
    /// not shift another's.
    pub(crate) fn draw(&mut self, endpoint: &str) -> Draw {
        let applies = self.faults.applies_to(endpoint);
        let f = &self.faults;
        let rng = &mut self.rng;
        let mut hit = |rate: f64| {
            let x = rng.f64();
            applies && rate > 0.0 && x < rate
        };
        let error = hit(f.error_rate);
        let slow = hit(f.slow_rate).then(|| Duration::from_millis(f.slow_ms));
        let reset = hit(f.reset_rate);
        let truncate = hit(f.truncate_report_rate) && endpoint == "report";
        let garbage = hit(f.garbage_report_rate) && endpoint == "report";
        let bad_detail = (hit(f.bad_detail_rate) && matches!(endpoint, "order" | "reissue"))
            .then(|| rng.usize(0..BAD_DETAILS.len()));
        let burst = applies && f.rate_limit_burst > 0;
        if burst {
            self.faults.rate_limit_burst -= 1;
        }
        let draw = Draw {
            error,
            burst,
            slow,
            reset,
            truncate,
            garbage,
            bad_detail,
        };
        for (kind, on) in [
            ("rate_limit_burst", draw.burst),
            ("error", draw.error && !draw.burst),
            ("slow", draw.slow.is_some() && !draw.burst),
            ("reset", draw.reset && !draw.burst && !draw.error),
            (
                "truncate_report",
                draw.truncate && !draw.burst && !draw.error,
            ),
            ("garbage_report", draw.garbage && !draw.burst && !draw.error),
            (
                "bad_detail",
                draw.bad_detail.is_some() && !draw.burst && !draw.error,
            ),
        ] {
            if on {
                *self.injected.entry(kind).or_default() += 1;
            }
        }
        draw
    }
}

/// Order details of unexpected shapes: not an object; fields of the wrong
/// types; an object without any expected field; a truncated document.
pub(crate) const BAD_DETAILS: [&[u8]; 4] = [
    br#"[{"unexpected": "shape"}, 42]"#,
    br#"{"id": "not-a-number", "certificate": "nope", "status": 7, "requests": {"id": 1}, "certificates": "none", "auto_renew": "maybe"}"#,
    br#"{"error": null, "data": {"wrapped": true}}"#,
    br#"{"id": 123, "certificate": {"common_name": "example.com", "valid_till": "2026-"#,
];

/// A report page that is not a report: an HTML error page from a proxy,
/// with bytes that are not UTF-8.
pub(crate) const GARBAGE_REPORT: &[u8] =
    b"<html><head><title>502 Bad Gateway</title></head><body>upstream \xff\xfe\x00 error</body></html>\n";

/// Where to cut a report page so the cut falls inside a row: in the CSR
/// of the middle row (or the middle of the body when there is none).
pub(crate) fn truncation_point(body: &[u8]) -> usize {
    const CSR: &[u8] = b"-----BEGIN CERTIFICATE REQUEST-----";
    let middle = body.len() / 2;
    let row_start = body[..middle]
        .windows(2)
        .rposition(|w| w == b"\n\"")
        .map_or(0, |i| i + 1);
    body[row_start..]
        .windows(CSR.len())
        .position(|w| w == CSR)
        .map_or(middle, |i| row_start + i + CSR.len() + 100)
        .min(body.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_rates_and_endpoints() {
        assert!(Faults::parse(r#"{"error_rate": 0.5}"#).is_ok());
        assert!(Faults::parse(r#"{"error_rate": 1.5}"#).is_err());
        assert!(Faults::parse(r#"{"endpoints": ["report"]}"#).is_ok());
        assert!(Faults::parse(r#"{"endpoints": ["nope"]}"#).is_err());
        assert!(
            Faults::parse(r#"{"eror_rate": 0.5}"#).is_err(),
            "typos are errors"
        );
    }

    #[test]
    fn draws_are_deterministic_for_a_seed() {
        let faults =
            Faults::parse(r#"{"error_rate": 0.3, "reset_rate": 0.2, "truncate_report_rate": 0.5}"#)
                .unwrap();
        let run = |seed| {
            let mut injector = Injector::new(faults.clone(), seed);
            (0..200)
                .map(|i| injector.draw(if i % 2 == 0 { "report" } else { "order" }))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let draws = run(1);
        let errors = draws.iter().filter(|d| d.error).count();
        assert!((30..90).contains(&errors), "{errors} errors of 200 at 0.3");
        assert!(
            draws.iter().skip(1).step_by(2).all(|d| !d.truncate),
            "only report pages are cut"
        );
    }

    #[test]
    fn a_burst_counts_down_and_endpoints_filter() {
        let mut injector = Injector::new(
            Faults::parse(r#"{"rate_limit_burst": 2, "endpoints": ["report"]}"#).unwrap(),
            1,
        );
        assert!(!injector.draw("order").burst);
        assert!(injector.draw("report").burst);
        assert!(injector.draw("report").burst);
        assert!(!injector.draw("report").burst);
        assert_eq!(injector.injected().get("rate_limit_burst"), Some(&2));
    }

    #[test]
    fn the_cut_is_inside_a_row() {
        let world = crate::fleet::World::generate(
            50,
            1,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        );
        let page = crate::report::page(&world, 1000, 0);
        let cut = truncation_point(page.as_bytes());
        assert!(cut > 0 && cut < page.len());
        let text = String::from_utf8_lossy(&page.as_bytes()[..cut]);
        let quotes = text.matches('"').count();
        assert_eq!(quotes % 2, 1, "the cut leaves a quoted value open");
        let mut reader = csv::Reader::from_reader(&page.as_bytes()[..cut]);
        let rows: Vec<_> = reader.records().collect();
        assert!(
            rows.iter()
                .any(|r| r.as_ref().map_or(true, |r| r.len() != 58)),
            "the last row is incomplete"
        );
    }
}
