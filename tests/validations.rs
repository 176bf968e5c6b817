//! Renewal blockers end to end, over HTTP against the simulator: the
//! validation each order's renewal depends on, its actionable flag and
//! findings, order by order against the simulator's own truth; an
//! auto-renewing order whose domain validation ends before its renewal is
//! actionable, one whose validation outlives the renewal is not; the
//! validations survive a restart; a key without permission gets 403s that
//! are said once while the rest keeps working.

use certcentral_test_support::{
    Binary, Change, Exporter, Scrape, Simulator, expected_findings, exporter_binary, http,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const BIN: Binary = exporter_binary!();

const RATE: &str = "200000/3m,20000/5s";

fn exporter(sim: &Simulator, extra: &[&str]) -> Exporter {
    let url = sim.api_url();
    let mut args = vec![
        "--certcentral.url",
        &url,
        "--certcentral.rate-limit",
        RATE,
        "--certcentral.detail-budget",
        "100000",
    ];
    if !extra.contains(&"--poll.interval") {
        args.extend(["--poll.interval", "1h"]);
    }
    args.extend_from_slice(extra);
    let exporter = Exporter::start(BIN, &args, &[("CERTCENTRAL_API_KEY", "k")]);
    exporter.wait_ready();
    exporter
}

/// Rules broken, by order id.
fn findings(scrape: &Scrape) -> BTreeMap<String, BTreeSet<String>> {
    let mut findings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in scrape
        .samples
        .iter()
        .filter(|s| s.metric == "certcentral_compliance_violation")
    {
        findings
            .entry(s.labels.get("order_id").unwrap().to_owned())
            .or_default()
            .insert(s.labels.get("rule").unwrap().to_owned());
    }
    findings
}

/// An issued, unrenewed, plain order (no plan, no reissue) of the truth.
fn plain_issued(order: &Value) -> bool {
    order["status"] == "issued"
        && order["renewed"] == false
        && order["multi_year_plan"] == false
        && order["valid_till"] == order["report_valid_till"]
        && order["exported"] == true
}

#[test]
fn each_orders_renewal_needs_match_the_simulator_order_by_order() {
    let sim = Simulator::start(BIN, 600, 31, &["--rate-limit", RATE]);
    let today = chrono::Utc::now().date_naive();
    let day = 86_400;
    // Two auto-renewing orders: one whose domain validation ends before
    // auto-renew would act (30 days before expiry), one whose every
    // validation outlives it.
    let truth = sim.orders();
    let blocked = truth
        .iter()
        .filter(|o| plain_issued(o) && o["validation"]["uncovered_names"] == json!([]))
        .find(|o| {
            o["validation"]["needs"]
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["expiry_timestamp"].as_i64().is_some())
                && o["validation_scope"] == "domain"
        })
        .expect("an order whose first validation is a domain's");
    let blocked_id = blocked["id"].as_u64().unwrap();
    let ends = blocked["validation_expiry_timestamp"].as_i64().unwrap();
    let ends_day = chrono::DateTime::from_timestamp(ends, 0)
        .unwrap()
        .date_naive();
    // Renewal 40 days after the validation ends, expiry 30 days later.
    let till = (ends_day + chrono::Duration::days(70)).max(today + chrono::Duration::days(60));
    let moved = sim.change(
        blocked_id,
        &Change {
            auto_renew: Some(true),
            valid_till: Some(till),
            ..Change::default()
        },
    );
    assert_eq!(moved["renewal_blocked"], true, "{moved}");
    assert_eq!(moved["actionable"], true);
    let now = chrono::Utc::now().timestamp();
    let fine = truth
        .iter()
        .filter(|o| plain_issued(o) && o["id"].as_u64() != Some(blocked_id))
        .filter(|o| o["validation"]["uncovered_names"] == json!([]))
        .find(|o| {
            let needs = o["validation"]["needs"].as_array().unwrap();
            !needs.is_empty()
                && needs.iter().all(|n| {
                    n["expiry_timestamp"]
                        .as_i64()
                        .is_some_and(|t| t > now + 40 * day)
                })
        })
        .expect("an order whose validations all last 40 days more");
    let fine_id = fine["id"].as_u64().unwrap();
    let till = today + chrono::Duration::days(45);
    let moved = sim.change(
        fine_id,
        &Change {
            auto_renew: Some(true),
            valid_till: Some(till),
            ..Change::default()
        },
    );
    assert_eq!(moved["renewal_blocked"], false, "{moved}");
    assert_eq!(moved["actionable"], false, "{moved}");

    let exporter = exporter(&sim, &["--storage.path", ""]);
    let scrape = exporter.scrape();
    let truth = sim.orders();
    let expiry = scrape.by_label(
        "certcentral_order_validation_expiry_timestamp_seconds",
        "order_id",
    );
    let uncovered = scrape.by_label("certcentral_order_uncovered_names", "order_id");
    let handled = scrape.by_label("certcentral_order_handled", "order_id");
    let mut findings = findings(&scrape);
    let (mut with_needs, mut with_uncovered, mut blocked_seen) = (0, 0, 0);
    for order in truth.iter().filter(|o| o["exported"] == true) {
        let id = order["id"].to_string();
        // The validation it depends on: when it ends and which it is.
        let want = order["validation_expiry_timestamp"]
            .as_i64()
            .map(|t| t as f64);
        assert_eq!(
            expiry.get(&id).copied(),
            want,
            "validation expiry of order {id}"
        );
        if want.is_some() {
            with_needs += 1;
            let sample = scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == "certcentral_order_validation_expiry_timestamp_seconds"
                        && s.labels.get("order_id") == Some(&id)
                })
                .unwrap();
            // prometheus-parse leaves label values escaped...
            let label = |name: &str| {
                sample
                    .labels
                    .get(name)
                    .map(|v| v.replace("\\\\", "\\").replace("\\\"", "\""))
            };
            for (name, want) in [
                (
                    "scope",
                    order["validation_scope"].as_str().map(str::to_owned),
                ),
                ("type", order["validation_type"].as_str().map(str::to_owned)),
                ("validation_id", Some(order["validation_id"].to_string())),
                (
                    "validation",
                    order["validation_name"].as_str().map(str::to_owned),
                ),
            ] {
                // ... and cuts values at commas.
                if !want.as_deref().is_some_and(|w| w.contains(',')) {
                    assert_eq!(label(name), want, "{name} of order {id}");
                }
            }
        }
        let names = order["validation"]["uncovered_names"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            uncovered.get(&id).copied().unwrap_or(0.0),
            names as f64,
            "uncovered names of order {id}"
        );
        with_uncovered += usize::from(names > 0);
        blocked_seen += usize::from(order["renewal_blocked"] == true);
        assert_eq!(
            handled.get(&id).copied(),
            (order["actionable"] != true).then_some(1.0),
            "handled series of order {id}"
        );
        let expected = expected_findings(order);
        assert_eq!(
            findings.remove(&id).unwrap_or_default(),
            expected,
            "findings of order {id}"
        );
    }
    assert!(
        with_needs > 100 && with_uncovered > 10 && blocked_seen > 10,
        "{with_needs} {with_uncovered} {blocked_seen}"
    );
    // The order set up to be blocked pages; the other does not.
    let blocked_id = blocked_id.to_string();
    assert_eq!(handled.get(&blocked_id), None, "actionable: not handled");
    assert!(
        scrape
            .value(
                "certcentral_compliance_violation",
                &[
                    ("order_id", &blocked_id),
                    ("rule", "validation_expires_before_renewal")
                ]
            )
            .is_some()
    );
    assert_eq!(handled.get(&fine_id.to_string()), Some(&1.0));

    // Every validation of the truth, per domain and organization, paged
    // through the simulator's 50-item pages.
    let v = sim.validations();
    let domains = v["domains"].as_array().unwrap();
    assert!(domains.len() > 50, "more than one page: {}", domains.len());
    for record in domains
        .iter()
        .chain(v["subaccount_domains"].as_array().unwrap())
    {
        let id = record["id"].to_string();
        for kind in ["ov", "ev"] {
            let want = record[format!("{kind}_expiry_timestamp")]
                .as_i64()
                .filter(|_| record["is_active"] == true)
                .map(|t| t as f64);
            assert_eq!(
                scrape.value(
                    "certcentral_domain_validation_expiry_timestamp_seconds",
                    &[("domain_id", &id), ("type", kind)]
                ),
                want,
                "{kind} of domain {id} ({})",
                record["name"]
            );
        }
    }
    for org in v["organizations"].as_array().unwrap() {
        for kind in ["ov", "ev"] {
            assert_eq!(
                scrape.value(
                    "certcentral_organization_validation_expiry_timestamp_seconds",
                    &[("organization_id", &org["id"].to_string()), ("type", kind)]
                ),
                org[format!("{kind}_expiry_timestamp")]
                    .as_i64()
                    .map(|t| t as f64),
                "{kind} of organization {}",
                org["id"]
            );
        }
    }
    let stats = sim.stats();
    assert!(
        stats["requests"]["domains"]["200"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    // The sub-subaccount's domains may not be listed: said once, as news
    // rather than a warning (a parent's key commonly may not).
    let logs = exporter.process.logs();
    let said: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("may not read the domains of this subaccount"))
        .collect();
    assert_eq!(said.len(), 1, "{logs}");
    assert!(said[0].contains("level=info"), "{logs}");
    assert!(
        !logs.contains("may not read this validation list"),
        "{logs}"
    );
    assert!(scrape.sum("certcentral_validations_expiring", &[("within", "7d")]) >= 1.0);
    assert!(scrape.sum("certcentral_validations_expired", &[]) >= 1.0);
    assert!(scrape.value("certcentral_uncovered_names", &[]).unwrap() >= 1.0);
    assert!(scrape.has("certcentral_domains_exceeding_revalidation_threshold"));
}

#[test]
fn the_validations_survive_a_restart_until_their_refresh_is_due() {
    let sim = Simulator::start(BIN, 120, 5, &["--rate-limit", RATE]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_owned();
    let first = exporter(&sim, &["--storage.path", &path]);
    let before = first.scrape();
    let domains = sim.stats()["requests"]["domains"]["200"].as_u64().unwrap();
    assert!(domains >= 1);
    drop(first);
    let again = exporter(&sim, &["--storage.path", &path]);
    let after = again.scrape();
    let stats = sim.stats();
    assert_eq!(
        stats["requests"]["domains"]["200"].as_u64(),
        Some(domains),
        "not read again before the refresh is due"
    );
    for metric in [
        "certcentral_domain_validation_expiry_timestamp_seconds",
        "certcentral_order_validation_expiry_timestamp_seconds",
    ] {
        let count = |s: &Scrape| s.samples.iter().filter(|x| x.metric == metric).count();
        assert!(count(&before) > 0);
        assert_eq!(count(&after), count(&before), "{metric}");
    }
}

#[test]
fn a_key_without_permission_is_said_once_and_the_rest_keeps_working() {
    let sim = Simulator::start(BIN, 200, 7, &["--rate-limit", RATE]);
    assert!(
        !sim.set_validations_permitted(false),
        "switch the permission off"
    );
    let exporter = exporter(
        &sim,
        &[
            "--storage.path",
            "",
            "--poll.interval",
            "2s",
            "--validations.refresh-interval",
            "1m",
        ],
    );
    let scrape = exporter.scrape();
    assert_eq!(scrape.value("certcentral_up", &[]), Some(1.0));
    for list in ["domains", "organizations"] {
        assert_eq!(
            scrape.value("certcentral_validation_list_readable", &[("list", list)]),
            Some(0.0),
            "{list}"
        );
    }
    assert!(
        scrape.value(
            "certcentral_validation_lists_denied_total",
            &[("endpoint", "domains")]
        ) >= Some(1.0)
    );
    assert!(!scrape.has("certcentral_order_validation_expiry_timestamp_seconds"));
    // Findings and handled orders are those of an exporter that knows
    // nothing of validations, as the truth says in this mode.
    let mut findings = findings(&scrape);
    let handled = scrape.by_label("certcentral_order_handled", "order_id");
    for order in sim.orders() {
        let id = order["id"].to_string();
        let expected = expected_findings(&order);
        assert!(!expected.contains("name_not_covered"));
        assert_eq!(
            findings.remove(&id).unwrap_or_default(),
            expected,
            "order {id}"
        );
        if order["exported"] == true {
            assert_eq!(
                handled.get(&id).copied(),
                (order["actionable"] != true).then_some(1.0)
            );
        }
    }
    // Several polls later, the 403 is still said once per list; the
    // answers were the documented error shape.
    let polls = |s: &Scrape| s.value("certcentral_polls_total", &[("result", "success")]);
    let first = polls(&scrape).unwrap();
    exporter.scrape_until("two more polls", |s| polls(s) >= Some(first + 2.0));
    let logs = exporter.process.logs();
    for list in ["domains", "organizations"] {
        let said = logs
            .lines()
            .filter(|l| {
                l.contains("may not read this validation list")
                    && l.contains(&format!("endpoint={list}"))
            })
            .count();
        assert_eq!(said, 1, "{list}: {logs}");
    }
    assert!(logs.contains("access_denied|missing_permission"), "{logs}");
    let raw = http()
        .get(format!("{}/domain", sim.api_url()))
        .header("X-DC-DEVKEY", "k")
        .send()
        .unwrap();
    assert_eq!(raw.status().as_u16(), 403);
    let body: Value = raw.json().unwrap();
    assert_eq!(
        body["errors"][0]["code"],
        "access_denied|missing_permission"
    );
}

/// A page rests on evidence. A domain list that is empty (a key whose
/// user may not see the domains), or one that covers none of the orders'
/// names, is no conclusion: no auto-renewing order is actionable because
/// of it, no name counts as uncovered, the health metric and a log line
/// say why. With the real list back, the orders a domain validation holds
/// up are actionable again, order by order as the simulator's truth says.
#[test]
fn a_domain_list_that_shows_none_of_the_names_pages_no_one() {
    let sim = Simulator::start(BIN, 300, 11, &["--rate-limit", RATE]);
    let truth_blocked = |sim: &Simulator| -> BTreeSet<String> {
        sim.orders()
            .iter()
            .filter(|o| o["exported"] == true && o["renewal_blocked"] == true)
            .map(|o| o["id"].to_string())
            .collect()
    };
    let with_list = truth_blocked(&sim);
    assert!(
        !with_list.is_empty(),
        "the fleet has orders a validation holds up"
    );
    for shown in ["empty", "foreign"] {
        assert_eq!(sim.set_domains_shown(shown), shown);
        // Only an organization validation can hold an order up now.
        let blocked = truth_blocked(&sim);
        assert!(
            blocked.is_subset(&with_list),
            "{shown}: the truth holds up more: {blocked:?} of {with_list:?}"
        );
        let exporter = exporter(&sim, &["--storage.path", ""]);
        let scrape = exporter.scrape();
        assert_eq!(
            scrape.value(
                "certcentral_validation_list_readable",
                &[("list", "domains")]
            ),
            Some(1.0),
            "{shown}: the list was read"
        );
        assert_eq!(
            scrape.value("certcentral_domain_validations_conclusive", &[]),
            Some(0.0),
            "{shown}"
        );
        assert_eq!(scrape.value("certcentral_uncovered_names", &[]), Some(0.0));
        let handled = scrape.by_label("certcentral_order_handled", "order_id");
        let findings = findings(&scrape);
        for order in sim.orders().iter().filter(|o| o["exported"] == true) {
            let id = order["id"].to_string();
            // Auto-renewing orders outside the grace period are handled:
            // nothing pages for them.
            assert_eq!(
                handled.get(&id).copied(),
                (order["actionable"] != true).then_some(1.0),
                "{shown}: order {id}"
            );
            assert!(
                !findings
                    .get(&id)
                    .is_some_and(|f| f.contains("name_not_covered")),
                "{shown}: order {id} has a name counted as uncovered"
            );
        }
        let logs = exporter.process.logs();
        assert_eq!(
            logs.matches("the domain list covers none of the names")
                .count(),
            1,
            "{shown}: said once: {logs}"
        );
    }
    assert_eq!(sim.set_domains_shown("all"), "all");
    let exporter = exporter(&sim, &["--storage.path", ""]);
    let scrape = exporter.scrape();
    assert_eq!(
        scrape.value("certcentral_domain_validations_conclusive", &[]),
        Some(1.0)
    );
    let handled = scrape.by_label("certcentral_order_handled", "order_id");
    for id in &with_list {
        assert_eq!(handled.get(id), None, "order {id} pages again");
    }
}
