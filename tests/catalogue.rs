//! `docs/metrics-catalogue.md` against what the exporter serves: every
//! rendered family's row matches its declaration (`metrics::families`),
//! every family a real scrape serves (the `prometheus` registry's counters
//! included) has a row with the same type and help, and every row is
//! served or declared. The poll error kinds the row lists are the ones
//! the served help text names.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use certcentral_exporter::metrics::families;
use certcentral_test_support::{
    Binary, Exporter, Faults, Simulator, exporter_binary, http, wait_for,
};

const BIN: Binary = exporter_binary!();

const CATALOGUE: &str = include_str!("../docs/metrics-catalogue.md");

/// One row of a catalogue table.
#[derive(Debug)]
struct Row {
    kind: String,
    /// Label names (`account` is implied).
    labels: BTreeSet<String>,
    /// The values listed for a label (`name=a\|b`).
    values: BTreeMap<String, BTreeSet<String>>,
    help: String,
}

/// Every family row of the catalogue, by name.
fn catalogue() -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in CATALOGUE
        .lines()
        .filter(|l| l.starts_with("| certcentral_") || l.starts_with("| process_"))
    {
        // Cells split on `|` but not on `\|`.
        let cells: Vec<String> = line
            .replace("\\|", "\u{0}")
            .split('|')
            .map(|c| c.trim().replace('\u{0}', "|"))
            .collect();
        let [_, name, kind, labels, help, _] = &cells[..] else {
            panic!("a row has four cells: {line}");
        };
        let mut row = Row {
            kind: kind.clone(),
            labels: BTreeSet::new(),
            values: BTreeMap::new(),
            help: help.clone(),
        };
        for label in labels.split(',').map(str::trim).filter(|l| !l.is_empty()) {
            let (label, values) = label.split_once('=').unwrap_or((label, ""));
            row.labels.insert(label.to_owned());
            if !values.is_empty() {
                let values = values.split('|').map(str::to_owned).collect();
                row.values.insert(label.to_owned(), values);
            }
        }
        assert!(
            rows.insert(name.clone(), row).is_none(),
            "{name} has two rows"
        );
    }
    assert!(rows.len() > 40, "the catalogue's tables are read");
    rows
}

/// Each family `/metrics` renders, and each of a `/probe` answer (not in
/// a `/metrics` scrape; tests/probe.rs reads them from real answers), has
/// its row as declared.
#[test]
fn each_rendered_family_has_the_row_its_declaration_says() {
    let rows = catalogue();
    let rendered = families::ALL.iter().map(|f| (f, true));
    for (family, on_metrics) in rendered.chain(families::PROBE.iter().map(|f| (f, false))) {
        let row = rows
            .get(family.name)
            .unwrap_or_else(|| panic!("{} has no row in the catalogue", family.name));
        assert_eq!(row.kind, family.kind.as_str(), "{}", family.name);
        assert_eq!(row.help, family.help, "{}", family.name);
        // Every family of /metrics but the process's build_info (one per
        // exporter).
        if on_metrics {
            assert_eq!(
                family.labels.contains(&"account"),
                family.name != "certcentral_build_info",
                "{} carries account",
                family.name
            );
        }
        let declared: BTreeSet<String> = family
            .labels
            .iter()
            .filter(|l| **l != "account")
            .map(|l| l.to_string())
            .collect();
        assert_eq!(row.labels, declared, "{} labels", family.name);
    }
}

/// A family as a scrape serves it.
#[derive(Debug, Default)]
struct Served {
    kind: String,
    help: String,
    /// Every label name its samples carry.
    labels: BTreeSet<String>,
}

/// The families of an exposition text, by name, read line by line: the
/// samples after a TYPE line are that family's.
fn served(text: &str, into: &mut BTreeMap<String, Served>) {
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            into.entry(name.to_owned()).or_default().help =
                help.replace("\\n", "\n").replace("\\\\", "\\");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            into.entry(name.to_owned()).or_default().kind = kind.to_owned();
            current = name.to_owned();
        } else if !line.is_empty() && !line.starts_with('#') {
            let family = into.get_mut(&current).expect("samples follow a TYPE line");
            family.labels.extend(label_names(line));
        }
    }
}

/// The label names of one sample line, values skipped with their escapes.
fn label_names(line: &str) -> Vec<String> {
    let Some((_, mut rest)) = line.split_once('{') else {
        return Vec::new();
    };
    let mut names = Vec::new();
    while let Some((name, value)) = rest.split_once("=\"") {
        names.push(name.trim_start_matches(',').to_owned());
        let mut chars = value.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => {
                    chars.next();
                }
                Some((at, '"')) => break at,
                Some(_) => {}
                None => panic!("an unterminated label value: {line}"),
            }
        };
        rest = &value[end + 1..];
        if rest.starts_with('}') {
            break;
        }
    }
    names
}

/// The error kinds a poll errors help text lists: its parenthesised list,
/// or what follows its last colon.
fn listed_kinds(help: &str) -> BTreeSet<String> {
    let list = match (help.rfind('('), help.rfind(')')) {
        (Some(open), Some(close)) if open < close => &help[open + 1..close],
        _ => help.rsplit(':').next().unwrap_or(help),
    };
    list.trim_end_matches('.')
        .split(',')
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect()
}

/// A scrape of `--demo` behind basic auth: every rendered family and the
/// registry's counters, the basic-auth ones included.
fn demo_scrape() -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("web.yml");
    let hash = bcrypt::hash("catalogue", 4).expect("bcrypt hash");
    std::fs::write(
        &config,
        format!("basic_auth_users:\n  prometheus: {hash}\n"),
    )
    .expect("web config");
    let exporter = Exporter::start(
        BIN,
        &[
            "--demo",
            "--web.config.file",
            config.to_str().expect("path"),
        ],
        &[],
    );
    let client = http();
    wait_for("the demo's first render", Duration::from_secs(60), || {
        client
            .get(format!("{}/metrics", exporter.base))
            .basic_auth("prometheus", Some("catalogue"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
            .and_then(|r| r.text().ok())
            .filter(|t| t.contains("\ncertcentral_order_info{"))
    })
}

/// A scrape of an exporter whose order detail requests all fail: the
/// retry and detail error counters appear.
fn failing_details_scrape() -> String {
    let sim = Simulator::start(BIN, 40, 7, &[]);
    sim.set_faults(&Faults {
        error_rate: 1.0,
        endpoints: Some(vec!["order".into()]),
        ..Faults::default()
    });
    let url = sim.api_url();
    let exporter = Exporter::start(
        BIN,
        &[
            "--certcentral.url",
            &url,
            "--certcentral.retry-delay",
            "50ms",
            "--poll.interval",
            "1s",
            "--storage.path",
            "",
        ],
        &[("CERTCENTRAL_API_KEY", "catalogue-key")],
    );
    let scrape = exporter.scrape_until("retries and detail errors", |s| {
        s.sum("certcentral_api_retries_total", &[]) > 0.0
            && s.sum("certcentral_order_detail_errors_total", &[]) > 0.0
    });
    scrape.text
}

/// Every labelled counter is served at 0 from the first scrape for every
/// label value known in advance, so that `increase()` sees the first
/// failure and a panel shows 0, not "no data".
#[test]
fn labelled_counters_start_at_zero_for_every_known_label_value() {
    let exporter = Exporter::start(BIN, &["--demo", "--demo.orders", "5"], &[]);
    exporter.wait_healthy(Duration::from_secs(30));
    let scrape = exporter.scrape();
    let kinds = [
        "auth",
        "rate_limited",
        "api",
        "server",
        "timeout",
        "transport",
        "decode",
        "deadline",
        "panic",
    ];
    let mut missing = Vec::new();
    let mut expect = |metric: &str, labels: &[(&str, &str)]| {
        if scrape.value(metric, labels).is_none() {
            missing.push(format!("{metric}{labels:?}"));
        }
    };
    for result in ["success", "failure"] {
        expect("certcentral_polls_total", &[("result", result)]);
    }
    for kind in kinds {
        expect("certcentral_poll_errors_total", &[("kind", kind)]);
        for step in ["subaccounts", "validations", "details"] {
            expect(
                "certcentral_poll_incomplete_total",
                &[("step", step), ("kind", kind)],
            );
        }
    }
    for kind in &kinds[..7] {
        for endpoint in ["order", "reissue"] {
            expect(
                "certcentral_order_detail_errors_total",
                &[("endpoint", endpoint), ("kind", kind)],
            );
        }
    }
    for endpoint in [
        "report",
        "order",
        "reissue",
        "subaccount_orders",
        "domains",
        "organizations",
        "subaccount_domains",
    ] {
        for kind in ["rate_limited", "server", "timeout", "transport"] {
            expect(
                "certcentral_api_retries_total",
                &[("endpoint", endpoint), ("kind", kind)],
            );
        }
    }
    for endpoint in ["domains", "organizations", "subaccount_domains"] {
        expect(
            "certcentral_validation_lists_denied_total",
            &[("endpoint", endpoint)],
        );
    }
    expect("certcentral_api_redirects_refused_total", &[]);
    assert!(
        missing.is_empty(),
        "not served from the start: {missing:#?}"
    );
}

#[test]
fn every_served_family_has_its_row_and_every_row_is_served_or_declared() {
    let rows = catalogue();
    let mut families = BTreeMap::new();
    served(&demo_scrape(), &mut families);
    served(&failing_details_scrape(), &mut families);
    for (name, family) in &families {
        let row = rows
            .get(name)
            .unwrap_or_else(|| panic!("{name} is served but has no row in the catalogue"));
        assert_eq!(row.kind, family.kind, "{name} type");
        assert_eq!(row.help, family.help, "{name} help");
        let undocumented: Vec<&String> = family
            .labels
            .iter()
            .filter(|l| !matches!(l.as_str(), "account" | "le"))
            .filter(|l| !row.labels.contains(*l))
            .collect();
        assert!(
            undocumented.is_empty(),
            "{name} carries {undocumented:?}, not in its row"
        );
    }
    let declared: BTreeSet<&str> = families::ALL
        .iter()
        .chain(&families::PROBE)
        .map(|f| f.name)
        .collect();
    for name in rows.keys() {
        assert!(
            families.contains_key(name) || declared.contains(name.as_str()),
            "{name} is in the catalogue but neither served nor declared"
        );
    }

    let errors = "certcentral_poll_errors_total";
    let kinds = listed_kinds(&families[errors].help);
    assert!(
        kinds.contains("auth"),
        "kinds read from the help: {kinds:?}"
    );
    assert_eq!(
        rows[errors].values.get("kind"),
        Some(&kinds),
        "the catalogue's poll error kinds are the help text's"
    );
}

#[test]
fn label_names_skip_escaped_values() {
    assert_eq!(
        label_names(r#"m{a="x\"}y",b_c="{\\",d="z"} 1"#),
        ["a", "b_c", "d"]
    );
    assert!(label_names("m 1").is_empty());
    assert_eq!(
        listed_kinds("Failed polls, by kind (auth, api)."),
        BTreeSet::from(["auth".to_owned(), "api".to_owned()])
    );
    assert_eq!(
        listed_kinds("Failed polls by kind: auth, api."),
        BTreeSet::from(["auth".to_owned(), "api".to_owned()])
    );
}
