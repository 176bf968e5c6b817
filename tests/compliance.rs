//! Compliance findings and the handled series, order by order, against the
//! simulator's own truth.

use std::collections::{BTreeMap, BTreeSet};

use certcentral_exporter::compliance::Rule;
use certcentral_test_support::{Binary, Exporter, Simulator, expected_findings, exporter_binary};

const BIN: Binary = exporter_binary!();

#[test]
fn findings_and_handled_orders_match_the_simulator_order_by_order() {
    let sim = Simulator::start(BIN, 600, 21, &["--rate-limit", "200000/3m,20000/5s"]);
    let url = sim.api_url();
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &url,
            "--certcentral.rate-limit",
            "200000/3m,20000/5s",
            "--certcentral.detail-budget",
            "100000",
            "--storage.path",
            "",
            "--poll.interval",
            "1h",
        ],
        &[("CERTCENTRAL_API_KEY", "k")],
    );
    exporter.wait_ready();
    let scrape = exporter.scrape();
    let mut findings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for sample in scrape
        .samples
        .iter()
        .filter(|s| s.metric == "certcentral_compliance_violation")
    {
        let id = sample.labels.get("order_id").unwrap().to_owned();
        findings
            .entry(id)
            .or_default()
            .insert(sample.labels.get("rule").unwrap().to_owned());
    }
    let handled = scrape.by_label("certcentral_order_handled", "order_id");
    let mut every_rule = BTreeSet::new();
    let mut actionable_seen = [0, 0];
    for order in sim.orders() {
        let id = order["id"].to_string();
        let expected = expected_findings(&order);
        let got = findings.remove(&id).unwrap_or_default();
        assert_eq!(
            got, expected,
            "findings of order {id} ({} {:?})",
            order["status"], order["valid_till"]
        );
        every_rule.extend(expected);
        if order["exported"] == true {
            let flag = order["actionable"].as_bool().unwrap();
            assert_eq!(
                handled.get(&id).copied(),
                (!flag).then_some(1.0),
                "handled series of order {id} (actionable: {flag})"
            );
            actionable_seen[usize::from(flag)] += 1;
        }
    }
    assert!(
        findings.is_empty(),
        "findings for orders the simulator does not have: {findings:?}"
    );
    let rules: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.as_str()).collect();
    let seen: BTreeSet<&str> = every_rule.iter().map(String::as_str).collect();
    assert_eq!(seen, rules, "the fleet shows every finding");
    assert!(
        actionable_seen[0] > 10 && actionable_seen[1] > 10,
        "{actionable_seen:?}"
    );
    // The per-account counts agree with the per-order series.
    for rule in rules {
        let per_order = scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == "certcentral_compliance_violation" && s.labels.get("rule") == Some(rule)
            })
            .count() as f64;
        assert_eq!(
            scrape.value("certcentral_compliance_violations", &[("rule", rule)]),
            Some(per_order),
            "{rule}"
        );
    }
}
