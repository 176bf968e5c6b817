//! Poll telemetry: the counters of poll results, failures, steps that
//! ended early, failed detail requests and denied validation lists, shared
//! by every account's poller and appended to each scrape.

use prometheus::{IntCounterVec, Opts, Registry};

use crate::certcentral::{Endpoint, ErrorKind};

/// Poll counters shared by every account's poller.
#[derive(Clone)]
pub struct PollTelemetry {
    pub(super) polls: IntCounterVec,
    pub(super) errors: IntCounterVec,
    pub(super) incomplete: IntCounterVec,
    pub(super) detail_errors: IntCounterVec,
    pub(super) validation_denied: IntCounterVec,
}

impl PollTelemetry {
    /// Registers the poll counters once per process.
    pub fn register(registry: &Registry) -> prometheus::Result<PollTelemetry> {
        let polls = counter(
            "certcentral_polls_total",
            "Polls of the CertCentral API, by result.",
            &["account", "result"],
        )?;
        let errors = counter(
            "certcentral_poll_errors_total",
            &format!(
                "Failed polls, by kind of failure ({}).",
                ErrorKind::listed()
            ),
            &["account", "kind"],
        )?;
        let incomplete = counter(
            "certcentral_poll_incomplete_total",
            "Successful polls (the report was read) whose later step, the subaccount listing, the validation lists or order details, ended early, by step and kind.",
            &["account", "step", "kind"],
        )?;
        let detail_errors = counter(
            "certcentral_order_detail_errors_total",
            "Order detail or reissue requests that failed for one order (the poll goes on), by endpoint and kind.",
            &["account", "endpoint", "kind"],
        )?;
        let validation_denied = counter(
            "certcentral_validation_lists_denied_total",
            "Validation list reads (domains, organizations, subaccount_domains) that the API key may not make (401, 403 or 404): they are left out, and the rest of the poll goes on.",
            &["account", "endpoint"],
        )?;
        for collector in [
            &polls,
            &errors,
            &incomplete,
            &detail_errors,
            &validation_denied,
        ] {
            registry.register(Box::new(collector.clone()))?;
        }
        Ok(PollTelemetry {
            polls,
            errors,
            incomplete,
            detail_errors,
            validation_denied,
        })
    }
}

impl PollTelemetry {
    /// Every series of `account` whose label values are known in advance,
    /// at 0, as the instrumentation guidelines ask: a dashboard's
    /// `increase()` then shows the first failure, and a panel shows 0, not
    /// "no data".
    pub fn start_account(&self, account: &str) {
        for result in ["success", "failure"] {
            self.polls.with_label_values(&[account, result]);
        }
        for kind in ErrorKind::ALL {
            self.errors.with_label_values(&[account, kind.as_str()]);
            for step in STEPS {
                self.incomplete
                    .with_label_values(&[account, step, kind.as_str()]);
            }
        }
        for kind in ErrorKind::REQUEST {
            for endpoint in [Endpoint::Order, Endpoint::Reissue] {
                self.detail_errors
                    .with_label_values(&[account, endpoint.as_str(), kind.as_str()]);
            }
        }
        for endpoint in [
            Endpoint::Domains,
            Endpoint::Organizations,
            Endpoint::SubaccountDomains,
        ] {
            self.validation_denied
                .with_label_values(&[account, endpoint.as_str()]);
        }
    }
}

/// The steps of a poll after the report (the `step` label of
/// `certcentral_poll_incomplete_total`).
const STEPS: [&str; 3] = ["subaccounts", "validations", "details"];

/// A counter family with these labels.
fn counter(name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_errors_help_names_every_kind() {
        let registry = Registry::new();
        let telemetry = PollTelemetry::register(&registry).unwrap();
        // A family without series is not gathered.
        telemetry.errors.with_label_values(&["a", "auth"]);
        let families = registry.gather();
        let help = families
            .iter()
            .find(|f| f.name() == "certcentral_poll_errors_total")
            .map(|f| f.help().to_owned())
            .unwrap_or_default();
        for kind in ErrorKind::ALL {
            assert!(help.contains(kind.as_str()), "{kind} missing: {help}");
        }
    }
}
