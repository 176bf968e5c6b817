//! The shape of the real binary's exposition, family by family: the demo
//! fleet with every per-order series and every order's details. What
//! describes an order (common name, product, container, organization, its
//! certificate's hash, key size and CA, its subaccount) is on one
//! `certcentral_order_info` series per order and nowhere else per order
//! (a per-order series carries `account`, `order_id` and its own labels);
//! every per-order series has that info series; and `promtool check
//! metrics` finds nothing in a real scrape but the documented unit note.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use certcentral_exporter::metrics::families;
use certcentral_test_support::prometheus_parse::Labels;
use certcentral_test_support::{
    Binary, Exporter, Scrape, exporter_binary, promtool_check_metrics, value, wait_for,
};

const BIN: Binary = exporter_binary!();

/// Labels a per-order series carries besides `account` and `order_id`:
/// its own, by family (every one of them; families not listed have none).
const OWN_LABELS: &[(&str, &[&str])] = &[
    ("certcentral_compliance_violation", &["rule"]),
    ("certcentral_order_reissues", &["status"]),
    (
        "certcentral_order_validation_expiry_timestamp_seconds",
        &["scope", "type", "validation_id", "validation"],
    ),
];

/// The labels that describe an order: on its info series only.
const DESCRIPTIVE: [&str; 4] = ["common_name", "product", "container", "organization"];

/// The labels `certcentral_order_info` is declared with.
fn info_labels() -> &'static [&'static str] {
    families::ALL
        .iter()
        .find(|family| family.name == "certcentral_order_info")
        .expect("certcentral_order_info is declared")
        .labels
}

/// The one `promtool check metrics` finding the interface accepts.
const UNIT_NOTE: &str =
    "certcentral_certificate_days_remaining use base unit \"seconds\" instead of \"days\"";

/// The demo exporter once every order's details are read.
fn demo_with_details() -> (Exporter, Scrape) {
    let exporter = Exporter::start(
        BIN,
        &[
            "--demo",
            "--storage.path",
            "",
            "--poll.interval",
            "20s",
            "--certcentral.detail-budget",
            "100000",
        ],
        &[],
    );
    exporter.wait_ready();
    let scrape = wait_for(
        "every order's details (certcentral_details_backlog 0) and the validations",
        Duration::from_secs(180),
        || {
            let scrape = exporter.scrape();
            let read = scrape.value("certcentral_details_backlog", &[]) == Some(0.0)
                && scrape.has("certcentral_order_reissues")
                && scrape.has("certcentral_validations_refresh_timestamp_seconds");
            read.then_some(scrape)
        },
    );
    (exporter, scrape)
}

type OrderKey = (String, String);

fn order_key(labels: &Labels) -> Option<OrderKey> {
    Some((
        labels.get("account")?.to_owned(),
        labels.get("order_id")?.to_owned(),
    ))
}

#[test]
fn descriptive_labels_live_on_one_info_series_per_order() {
    for (family, own) in OWN_LABELS {
        assert!(
            !own.iter().any(|l| DESCRIPTIVE.contains(l)),
            "{family}: a descriptive label is no family's own"
        );
    }
    let (exporter, scrape) = demo_with_details();
    let mut problems = Vec::new();
    let mut info: BTreeMap<OrderKey, usize> = BTreeMap::new();
    let mut described_by_details = 0;
    // Per-order family -> the orders it has series for.
    let mut per_order: BTreeMap<&str, BTreeSet<OrderKey>> = BTreeMap::new();
    for sample in &scrape.samples {
        let Some(key) = order_key(&sample.labels) else {
            continue;
        };
        let names: BTreeSet<&str> = sample.labels.keys().map(String::as_str).collect();
        if sample.metric == "certcentral_order_info" {
            *info.entry(key).or_default() += 1;
            let unknown: Vec<_> = names
                .iter()
                .filter(|n| !info_labels().contains(n))
                .collect();
            if !unknown.is_empty() {
                problems.push(format!("info series with {unknown:?}: {:?}", sample.labels));
            }
            if value(&sample.value) != 1.0 {
                problems.push(format!("info series not 1: {:?}", sample.labels));
            }
            described_by_details += usize::from(sample.labels.get("issuing_ca").is_some());
            continue;
        }
        let own = OWN_LABELS
            .iter()
            .find(|(family, _)| *family == sample.metric)
            .map_or(&[][..], |(_, labels)| *labels);
        let expected: BTreeSet<&str> = ["account", "order_id"]
            .into_iter()
            .chain(own.iter().copied())
            .collect();
        if names != expected {
            problems.push(format!(
                "{} carries {names:?}, not {expected:?}",
                sample.metric
            ));
        }
        per_order
            .entry(sample.metric.as_str())
            .or_default()
            .insert(key);
    }
    for (key, count) in &info {
        if *count != 1 {
            problems.push(format!("{count} info series for {key:?}"));
        }
    }
    let described: BTreeSet<&OrderKey> = info.keys().collect();
    let mut with_series: BTreeSet<&OrderKey> = BTreeSet::new();
    for (family, orders) in &per_order {
        let undescribed: Vec<_> = orders.iter().filter(|k| !described.contains(k)).collect();
        if !undescribed.is_empty() {
            problems.push(format!(
                "{family}: {} orders without certcentral_order_info, e.g. {:?}",
                undescribed.len(),
                undescribed[0]
            ));
        }
        with_series.extend(orders);
    }
    let idle: Vec<_> = described.difference(&with_series).collect();
    if !idle.is_empty() {
        problems.push(format!("info series of orders without series: {idle:?}"));
    }
    // The demo fleet has every kind of per-order series, and details.
    for family in [
        "certcentral_certificate_expiry_timestamp_seconds",
        "certcentral_certificate_days_remaining",
        "certcentral_order_auto_renew",
        "certcentral_order_has_duplicates",
        "certcentral_order_renewed",
        "certcentral_order_handled",
        "certcentral_compliance_violation",
        "certcentral_order_valid_till_timestamp_seconds",
        "certcentral_order_reissues",
        "certcentral_order_pending_requests",
        "certcentral_order_oldest_pending_request_age_seconds",
        "certcentral_order_validation_expiry_timestamp_seconds",
        "certcentral_order_uncovered_names",
    ] {
        if !per_order.contains_key(family) {
            problems.push(format!("the demo has no {family} series"));
        }
    }
    for (family, instead) in [
        (
            "certcentral_certificate_info",
            "folded into certcentral_order_info",
        ),
        (
            "certcentral_order_auto_reissue",
            "the auto_reissue label of certcentral_order_info",
        ),
        (
            "certcentral_order_ct_logging",
            "the compliance finding ct_logging_disabled",
        ),
    ] {
        assert!(!scrape.has(family), "{family} is gone: {instead}");
    }
    // The order's validity has a series only where it says more than the
    // certificate's expiry.
    let expiry: BTreeMap<OrderKey, f64> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "certcentral_certificate_expiry_timestamp_seconds")
        .filter_map(|s| Some((order_key(&s.labels)?, value(&s.value))))
        .collect();
    for sample in scrape
        .samples
        .iter()
        .filter(|s| s.metric == "certcentral_order_valid_till_timestamp_seconds")
    {
        let key = order_key(&sample.labels);
        let certificate = key.as_ref().and_then(|k| expiry.get(k));
        if certificate == Some(&value(&sample.value)) {
            problems.push(format!(
                "valid_till repeats the expiry: {:?}",
                sample.labels
            ));
        }
    }
    let reissue_known = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "certcentral_order_info")
        .filter(|s| s.labels.get("issuing_ca").is_some())
        .filter(|s| matches!(s.labels.get("auto_reissue"), Some("true") | Some("false")))
        .count();
    assert_eq!(
        reissue_known, described_by_details,
        "every order with details says auto_reissue true or false"
    );
    assert!(info.len() > 100, "only {} orders described", info.len());
    assert!(
        described_by_details * 2 > info.len(),
        "the issuing CA (from details) names only {described_by_details} of {} orders",
        info.len()
    );
    assert!(
        scrape.samples.iter().any(
            |s| s.metric == "certcentral_order_info" && s.labels.get("subaccount_id").is_some()
        ),
        "a subaccount order is described with its subaccount_id"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n{}",
        problems.len(),
        problems.join("\n"),
        exporter.process.logs()
    );
}

#[test]
fn promtool_finds_only_the_days_remaining_unit_note_in_a_real_scrape() {
    let (_exporter, scrape) = demo_with_details();
    let findings = promtool_check_metrics(&scrape.text);
    assert!(
        findings.iter().all(|f| f.contains(UNIT_NOTE)),
        "promtool check metrics: {findings:#?}"
    );
    assert_eq!(findings.len(), 1, "the unit note, once: {findings:#?}");
    // The check can fail: promtool reports a counter without `_total`.
    let broken = format!(
        "{}# HELP certcentral_broken A counter.\n# TYPE certcentral_broken counter\ncertcentral_broken 1\n",
        scrape.text
    );
    assert!(
        promtool_check_metrics(&broken).len() > 1,
        "promtool reports a counter without _total"
    );
}
