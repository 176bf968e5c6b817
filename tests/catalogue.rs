//! `docs/metrics-catalogue.md` against what the exporter serves: every
//! rendered family's row matches its declaration (`metrics::families`),
//! every family a real scrape serves (the `prometheus` registry's counters
//! included) has a row with the same type and help, and every row is
//! served or declared. The poll error kinds the row lists are the ones
//! the served help text names. `docs/metrics.md`, the guide, names in its
//! tables only the catalogue's families and labels, and every family; the
//! `endpoint` values it lists are the catalogue's, and the catalogue's are
//! the exporter's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use certcentral_exporter::metrics::families;
use certcentral_test_support::{
    Binary, Exporter, Faults, Simulator, exporter_binary, http, wait_for,
};

const BIN: Binary = exporter_binary!();

const CATALOGUE: &str = include_str!("../docs/metrics-catalogue.md");
const GUIDE: &str = include_str!("../docs/metrics.md");

/// The header of the guide's column that shows the earlier shape (the
/// migration table): families since removed, such as
/// `certcentral_certificate_info`, and descriptive labels since moved to
/// `certcentral_order_info`. Its names are not checked.
const EARLIER_SHAPE_COLUMN: &str = "before";

/// The cells of a Markdown table row, split on `|` but not on `\|`.
fn cells(line: &str) -> Vec<String> {
    line.replace("\\|", "\u{0}")
        .split('|')
        .map(|c| c.trim().replace('\u{0}', "|"))
        .collect()
}

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
        let cells = cells(line);
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

/// A metric named in a code span of the guide: its name as written and
/// the label names in its braces (none without braces).
#[derive(Debug, PartialEq)]
struct Mention {
    name: String,
    labels: Vec<String>,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

/// Every metric named in the code spans of `text`: a word that starts
/// with `certcentral_` or `process_`, with the label names of the braces
/// right after it (`{a,b}`, or a selector's `{a="x"}`). A name followed by
/// `*` is a pattern (`certcentral_details_*`), not a metric.
fn mentions(text: &str) -> Vec<Mention> {
    let mut found = Vec::new();
    for span in text.split('`').skip(1).step_by(2) {
        let mut at = 0;
        while at < span.len() {
            let rest = &span[at..];
            let starts = (rest.starts_with("certcentral_") || rest.starts_with("process_"))
                && !span[..at].ends_with(is_name_char);
            if !starts {
                at += rest.chars().next().map_or(1, char::len_utf8);
                continue;
            }
            let name: String = rest.chars().take_while(|c| is_name_char(*c)).collect();
            at += name.len();
            let after = &span[at..];
            if after.starts_with('*') {
                continue;
            }
            let mut labels = Vec::new();
            if let Some(braces) = after.strip_prefix('{') {
                let inner = unquoted(braces.split_once('}').map_or(braces, |(inner, _)| inner));
                labels = inner
                    .split(',')
                    .map(|l| {
                        l.trim()
                            .chars()
                            .take_while(|c| is_name_char(*c))
                            .collect::<String>()
                    })
                    .filter(|l| !l.is_empty())
                    .collect();
            }
            found.push(Mention { name, labels });
        }
    }
    found
}

/// `text` with its double-quoted strings (escapes included) left out.
fn unquoted(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                _ => {}
            }
        }
    }
    out
}

/// The values a text lists for the `endpoint` label: the code spans of
/// each parenthesis right after the word, as in "by endpoint (`report`,
/// `order`)" or "`endpoint` (`order`, `reissue`)". Empty if it lists none.
fn listed_endpoints(text: &str) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    for (at, _) in text.match_indices("endpoint") {
        let after = text[at + "endpoint".len()..]
            .trim_start_matches('`')
            .trim_start();
        if let Some(list) = after.strip_prefix('(') {
            let list = list.split_once(')').map_or(list, |(list, _)| list);
            values.extend(list.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    values
}

/// One table row of the guide: its line and its cells, less those of the
/// earlier-shape column.
fn guide_rows() -> Vec<(usize, Vec<String>)> {
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for (i, line) in GUIDE.lines().enumerate() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let cells = cells(line);
        if header.is_none() {
            header = Some(cells);
            continue;
        }
        let columns = header.as_ref().expect("a header row");
        if cells
            .iter()
            .all(|c| c.chars().all(|c| matches!(c, '-' | ':')))
        {
            continue;
        }
        let kept = cells
            .into_iter()
            .enumerate()
            .filter(|(n, _)| columns.get(*n).map(String::as_str) != Some(EARLIER_SHAPE_COLUMN))
            .map(|(_, c)| c)
            .collect();
        rows.push((i + 1, kept));
    }
    assert!(
        rows.len() > 50,
        "the guide's tables are read: {} rows",
        rows.len()
    );
    rows
}

/// The exporter's `endpoint` label values, read from its source (the
/// `Endpoint::Name => "value"` arms of `as_str`) under src/certcentral/,
/// wherever the enum lives there; checked against the length of
/// `Endpoint::ALL` where that is declared.
fn exporter_endpoints() -> BTreeSet<String> {
    fn sources(dir: &Path, into: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("src/certcentral") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(std::fs::read_to_string(&path).expect("a source file"));
            }
        }
    }
    let mut texts = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/certcentral"),
        &mut texts,
    );
    let mut values = BTreeSet::new();
    let mut declared = None;
    for text in &texts {
        for line in text.lines().map(str::trim) {
            if let Some(arm) = line.strip_prefix("Endpoint::")
                && let Some((_, value)) = arm.split_once("=> \"")
            {
                values.insert(value.split('"').next().unwrap_or("").to_owned());
            }
            if let Some((_, length)) = line.split_once("ALL: [Endpoint; ") {
                declared = length
                    .split(']')
                    .next()
                    .and_then(|n| n.trim().parse::<usize>().ok());
            }
        }
    }
    assert!(
        values.len() >= 2,
        "the Endpoint label values are read from src/certcentral/: {values:?}"
    );
    if let Some(declared) = declared {
        assert_eq!(
            values.len(),
            declared,
            "every endpoint's label value is read: {values:?}"
        );
    }
    values
}

/// docs/metrics.md against the catalogue: every metric its tables name is
/// a catalogued family (or a histogram's series), with only that family's
/// labels (and `account`, implied everywhere); every family is in a table;
/// where a row lists the `endpoint` label's values they are the
/// catalogue's, and the catalogue's are the exporter's.
#[test]
fn metrics_guide_tables_agree_with_the_catalogue() {
    let rows = catalogue();
    let mut problems = Vec::new();
    let mut named = BTreeSet::new();
    let mut endpoints_listed = BTreeMap::new();
    for (line, cells) in guide_rows() {
        let mut first = None;
        for mention in cells.iter().flat_map(|c| mentions(c)) {
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| mention.name.strip_suffix(suffix))
                .find(|base| rows.get(*base).is_some_and(|r| r.kind == "histogram"))
                .unwrap_or(mention.name.as_str())
                .to_owned();
            let Some(row) = rows.get(&family) else {
                problems.push(format!(
                    "line {line}: {} is not in the catalogue",
                    mention.name
                ));
                continue;
            };
            for label in &mention.labels {
                let bucket = label == "le" && mention.name.ends_with("_bucket");
                if label != "account" && !bucket && !row.labels.contains(label) {
                    problems.push(format!(
                        "line {line}: {} has no label {label} in the catalogue ({:?})",
                        mention.name, row.labels
                    ));
                }
            }
            first.get_or_insert(family.clone());
            named.insert(family);
        }
        // A row is about the family its first cell names.
        let Some(family) = first else { continue };
        let listed: BTreeSet<String> = cells
            .iter()
            .skip(2)
            .flat_map(|c| listed_endpoints(c))
            .collect();
        if listed.is_empty() || !rows[&family].labels.contains("endpoint") {
            continue;
        }
        match rows[&family].values.get("endpoint") {
            Some(catalogued) if *catalogued == listed => {}
            Some(catalogued) => problems.push(format!(
                "line {line}: {family} lists endpoints {listed:?}, the catalogue {catalogued:?}"
            )),
            None => problems.push(format!(
                "line {line}: {family} lists endpoints {listed:?}; list them in its catalogue row too (endpoint=a\\|b)"
            )),
        }
        endpoints_listed.insert(family, listed);
    }
    for name in rows.keys().filter(|name| !named.contains(*name)) {
        problems.push(format!(
            "{name} is in the catalogue but in no table of docs/metrics.md"
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/metrics.md:\n{}",
        problems.join("\n")
    );

    // The API endpoints: the guide lists them all where it counts requests,
    // and the catalogue's lists are the exporter's (all, or some of them).
    let exporter = exporter_endpoints();
    let requests = "certcentral_api_requests_total";
    assert_eq!(
        rows[requests].values.get("endpoint"),
        Some(&exporter),
        "the catalogue's {requests} endpoints"
    );
    assert_eq!(
        endpoints_listed.get(requests),
        Some(&exporter),
        "docs/metrics.md's {requests} endpoints"
    );
    for (name, row) in &rows {
        if let Some(values) = row.values.get("endpoint") {
            assert!(
                values.is_subset(&exporter),
                "{name}: {values:?} are not all the exporter's {exporter:?}"
            );
        }
    }
}

#[test]
fn guide_mentions_read_names_labels_and_lists() {
    assert_eq!(
        mentions(
            "`certcentral_a{x,y}` and `rate(certcentral_b_bucket{le=\"1,2\", z!~\"q\"}[5m]) * process_c` `certcentral_d_*` certcentral_e"
        ),
        [
            Mention {
                name: "certcentral_a".into(),
                labels: vec!["x".into(), "y".into()]
            },
            Mention {
                name: "certcentral_b_bucket".into(),
                labels: vec!["le".into(), "z".into()]
            },
            Mention {
                name: "process_c".into(),
                labels: vec![]
            },
        ]
    );
    assert!(mentions("`my_certcentral_x` `xprocess_y`").is_empty());
    assert_eq!(
        listed_endpoints(
            "by endpoint (`report`, `order`) and `endpoint` (`reissue`); endpoint, kind (`auth`)"
        ),
        BTreeSet::from([
            "report".to_owned(),
            "order".to_owned(),
            "reissue".to_owned()
        ])
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
