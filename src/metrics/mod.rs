//! Metrics: the fleet snapshots rendered into the Prometheus exposition,
//! once per change (a poll, or the UTC day rolling over), never per scrape.
//! Counters that move between polls (API requests, poll results) live in a
//! `prometheus::Registry` and are appended at scrape time.

mod exposition;
mod gzip;

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use exposition::{Kind, LabelBlock, TextWriter};
pub use gzip::GzipPrefix;

use crate::fleet::Order;
use crate::poller::AccountState;

/// Choices that shape the rendered metrics.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    /// How long an expired certificate keeps its per-order series.
    pub expired_retention: chrono::Duration,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            expired_retention: chrono::Duration::days(30),
        }
    }
}

/// The rendered fleet metrics, shared by every scrape until the next render.
pub struct Exposition {
    pub text: Bytes,
    gzip: OnceLock<GzipPrefix>,
}

impl Exposition {
    fn new(text: String) -> Exposition {
        Exposition {
            text: Bytes::from(text),
            gzip: OnceLock::new(),
        }
    }

    /// The text deflated, computed on the first gzip scrape and kept.
    pub fn gzip_prefix(&self) -> &GzipPrefix {
        self.gzip.get_or_init(|| GzipPrefix::new(&self.text))
    }
}

/// Statuses whose orders have a certificate in use: per-order series exist
/// for them. (`reissue_pending` still has its current certificate.)
const STATUSES_WITH_CERTIFICATE: [&str; 2] = ["issued", "reissue_pending"];

/// Whether an order gets per-order series at `now`.
fn is_exported(order: &Order, now: DateTime<Utc>, settings: &RenderSettings) -> bool {
    let status = order.status();
    if STATUSES_WITH_CERTIFICATE.contains(&status) {
        return true;
    }
    status == "expired"
        && order
            .expiry()
            .is_some_and(|expiry| expiry + settings.expired_retention > now)
}

/// One exported order with its label block.
struct Row<'a> {
    order: &'a Order,
    labels: String,
}

fn order_labels(account: &str, order: &Order) -> String {
    let report = &order.report;
    LabelBlock::new()
        .with("account", account)
        .with("order_id", &order.id().to_string())
        .with("common_name", &report.common_name)
        .with("product", &report.product_name_id)
        .with("container", &report.container_name)
        .with("organization", &report.organization_name)
        .finish()
}

/// Renders every account's state at `now`.
pub fn render(
    states: &[Arc<AccountState>],
    now: DateTime<Utc>,
    settings: &RenderSettings,
) -> Exposition {
    let accounts: Vec<(&AccountState, String)> = states
        .iter()
        .map(|s| {
            (
                s.as_ref(),
                LabelBlock::new().with("account", &s.account).finish(),
            )
        })
        .collect();
    let rows: Vec<Row<'_>> = states
        .iter()
        .flat_map(|state| {
            let account = state.account.as_str();
            state.fleet.iter().flat_map(move |fleet| {
                fleet
                    .orders
                    .iter()
                    .filter(move |order| is_exported(order, now, settings))
                    .map(move |order| Row {
                        order,
                        labels: order_labels(account, order),
                    })
            })
        })
        .collect();
    let mut w = TextWriter::with_capacity(4096 + rows.len() * 5 * 220);

    w.family(
        "certcentral_up",
        Kind::Gauge,
        "1 if the latest poll of the account succeeded, else 0.",
    );
    for (state, labels) in &accounts {
        let up = state
            .last_poll
            .as_ref()
            .is_some_and(|p| p.failure.is_none());
        w.sample("certcentral_up", labels, f64::from(u8::from(up)));
    }
    w.family(
        "certcentral_last_successful_poll_timestamp_seconds",
        Kind::Gauge,
        "Unix time of the latest successful poll.",
    );
    for (state, labels) in &accounts {
        if let Some(at) = state.last_success {
            w.sample(
                "certcentral_last_successful_poll_timestamp_seconds",
                labels,
                unix_seconds(at),
            );
        }
    }
    w.family(
        "certcentral_last_poll_timestamp_seconds",
        Kind::Gauge,
        "Unix time the latest poll ended, successful or not.",
    );
    for (state, labels) in &accounts {
        if let Some(poll) = &state.last_poll {
            w.sample(
                "certcentral_last_poll_timestamp_seconds",
                labels,
                unix_seconds(poll.ended_at),
            );
        }
    }
    w.family(
        "certcentral_poll_duration_seconds",
        Kind::Gauge,
        "How long the latest poll took.",
    );
    for (state, labels) in &accounts {
        if let Some(poll) = &state.last_poll {
            w.sample(
                "certcentral_poll_duration_seconds",
                labels,
                poll.duration.as_secs_f64(),
            );
        }
    }
    w.family(
        "certcentral_poll_interval_seconds",
        Kind::Gauge,
        "Configured time between polls (alerts use it to tell stale data).",
    );
    for (state, labels) in &accounts {
        w.sample(
            "certcentral_poll_interval_seconds",
            labels,
            state.poll_interval.as_secs_f64(),
        );
    }
    w.family(
        "certcentral_report_rows_skipped",
        Kind::Gauge,
        "Order report rows the latest successful poll could not understand and left out.",
    );
    for (state, labels) in &accounts {
        if let Some(fleet) = &state.fleet {
            w.sample(
                "certcentral_report_rows_skipped",
                labels,
                fleet.skipped_rows as f64,
            );
        }
    }
    w.family(
        "certcentral_build_info",
        Kind::Gauge,
        "1, labelled with the exporter's version.",
    );
    for (state, _) in &accounts {
        let labels = LabelBlock::new()
            .with("account", &state.account)
            .with("version", env!("CARGO_PKG_VERSION"))
            .finish();
        w.sample("certcentral_build_info", &labels, 1.0);
    }
    w.family(
        "certcentral_orders",
        Kind::Gauge,
        "Orders in the account, by status.",
    );
    for (state, labels) in &accounts {
        let Some(fleet) = &state.fleet else { continue };
        for (status, count) in fleet.status_counts() {
            w.sample(
                "certcentral_orders",
                &LabelBlock::extend(labels, "status", status),
                count as f64,
            );
        }
    }

    per_order(
        &mut w,
        &rows,
        "certcentral_certificate_expiry_timestamp_seconds",
        "When the order's active certificate expires (00:00 UTC of its valid_till date), Unix seconds.",
        |order| order.expiry().map(unix_seconds),
    );
    per_order(
        &mut w,
        &rows,
        "certcentral_certificate_days_remaining",
        "Whole days until the active certificate expires, floor((expiry - now) / 86400); negative once expired.",
        |order| order.days_remaining(now).map(|d| d as f64),
    );
    per_order(
        &mut w,
        &rows,
        "certcentral_order_auto_renew",
        "1 if auto-renew is enabled on the order, else 0.",
        |order| Some(flag(order.report.auto_renew)),
    );
    per_order(
        &mut w,
        &rows,
        "certcentral_order_has_duplicates",
        "1 if the order's certificate has duplicates, else 0.",
        |order| Some(flag(order.report.has_duplicates)),
    );
    per_order(
        &mut w,
        &rows,
        "certcentral_order_renewed",
        "1 if the order has been renewed (a newer order replaces it), else 0.",
        |order| Some(flag(order.renewed)),
    );

    Exposition::new(w.into_string())
}

fn per_order(
    w: &mut TextWriter,
    rows: &[Row<'_>],
    name: &str,
    help: &str,
    value: impl Fn(&Order) -> Option<f64>,
) {
    w.family(name, Kind::Gauge, help);
    for row in rows {
        if let Some(v) = value(row.order) {
            w.sample(name, &row.labels, v);
        }
    }
}

fn flag(on: bool) -> f64 {
    f64::from(u8::from(on))
}

fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}
