//! Hostile input: what CertCentral (or anything between it and us) could
//! send instead of what the API pages document. The report's CSV parser,
//! the JSON decoding of order details, reissue lists and subaccount orders,
//! and the CSR reader must answer with a clear error for the row or the
//! answer, in memory bounded by the input, and never panic.
//!
//! Property tests run a bounded number of cases (a few hundred each, or
//! `PROPTEST_CASES`: `PROPTEST_CASES=100000` for a long hunt), so CI can run
//! them on every commit in about a second.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use certcentral_exporter::certcentral::report::{
    CsrKey, ParseContext, ReportError, ReportPage, parse_page,
};
use certcentral_exporter::certcentral::wire::{
    OrderInfo, ReissueList, SubaccountOrderList, decode,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Memory: a counting allocator, per thread, so that parallel tests do not
// disturb each other's numbers.

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = CURRENT.try_with(|current| {
                let now = current.get() + delta;
                current.set(now);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }
    });
}

// SAFETY: every call is passed to the system allocator unchanged; the
// bookkeeping touches only const-initialised thread-locals without
// destructors, and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same layout as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        account(-(layout.size() as isize));
        // SAFETY: allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        account(layout.size() as isize);
        // SAFETY: same layout as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        account(new_size as isize - layout.size() as isize);
        // SAFETY: allocated by `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most memory it held at once
/// (on this thread, beyond what was held before).
fn peak_memory<T>(f: impl FnOnce() -> T) -> (T, usize) {
    CURRENT.with(|c| c.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let value = f();
    TRACKING.with(|t| t.set(false));
    (value, PEAK.with(Cell::get).max(0) as usize)
}

const TEN_MB: usize = 10 * 1024 * 1024;

/// Cases per property: `default`, or `PROPTEST_CASES` for a longer run.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// Report pages built like CertCentral's: the documented header (unquoted),
// every value quoted, a multi-line CSR in each row.

const SAMPLE: &str = include_str!("data/report-sample.csv");
const EC256: &str = include_str!("data/csr/ec256.csr");

fn header() -> Vec<String> {
    SAMPLE
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect()
}

fn column(name: &str) -> usize {
    header().iter().position(|h| h == name).unwrap()
}

/// A well-formed row for `order_id`.
fn row(order_id: u64) -> Vec<Vec<u8>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(SAMPLE.as_bytes());
    let mut record: Vec<Vec<u8>> = reader
        .byte_records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(<[u8]>::to_vec)
        .collect();
    record[column("order_id")] = order_id.to_string().into_bytes();
    record[column("common_name")] = format!("host{order_id}.example.com").into_bytes();
    record[column("csr")] = EC256.as_bytes().to_vec();
    record
}

fn quote(value: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in value {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// The page's bytes, and the offset at which each record ends (just after
/// its newline).
fn page(rows: &[Vec<Vec<u8>>]) -> (Vec<u8>, Vec<usize>) {
    let mut out = header().join(",").into_bytes();
    out.push(b'\n');
    let mut ends = vec![out.len()];
    for row in rows {
        let fields: Vec<Vec<u8>> = row.iter().map(|f| quote(f)).collect();
        out.extend(fields.join(&b","[..]));
        out.push(b'\n');
        ends.push(out.len());
    }
    (out, ends)
}

fn parse(bytes: &[u8]) -> Result<ReportPage, ReportError> {
    parse_page(bytes, &mut ParseContext::default())
}

/// Values that do not belong in a report field.
fn hostile_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"12\x0034".to_vec()),
        Just(b"\xff\xfe\xfd".to_vec()),
        Just(b"\xc3\x28".to_vec()),
        Just(b"\xEF\xBB\xBF123".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        Just(b"1e3".to_vec()),
        Just(b"0x10".to_vec()),
        Just("\u{ff12}\u{ff10}\u{ff13}\u{ff10}-01-01".as_bytes().to_vec()),
        Just(b"2030-02-30".to_vec()),
        Just(b"9999-99-99 99:99:99".to_vec()),
        Just(b"2030-01-01\xff".to_vec()),
        Just(b"yes".to_vec()),
        Just(b"2".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"\",\"".to_vec()),
        Just(b"\x1f\x1f\x1f".to_vec()),
        Just("\u{1F512}\u{202E}".as_bytes().to_vec()),
        (1usize..70_000).prop_map(|n| vec![b'9'; n]),
        (1usize..70_000).prop_map(|n| vec![b'A'; n]),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

fn parses_as_id(value: &[u8]) -> bool {
    let trimmed = value.trim_ascii();
    trimmed.is_empty()
        || std::str::from_utf8(trimmed)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    /// Any bytes at all, alone or after a real header: an error or a page,
    /// never a panic; every record is accounted for.
    #[test]
    fn no_bytes_panic_the_page_parser(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        with_header in any::<bool>(),
    ) {
        let mut input = Vec::new();
        if with_header {
            input.extend(header().join(",").into_bytes());
            input.push(b'\n');
        }
        input.extend(bytes);
        if let Ok(page) = parse(&input) {
            prop_assert_eq!(page.rows.len() + page.skipped.len(), page.records);
        }
    }

    /// A hostile value in any column of any row costs that row at most:
    /// every other row is read as it was, every record is accounted for,
    /// and a row whose order_id is not a number is skipped with a reason
    /// that names the column.
    #[test]
    fn a_hostile_field_costs_only_its_row(
        rows in 1usize..12,
        mutations in proptest::collection::vec((0usize..12, 0usize..58, hostile_value()), 1..6),
    ) {
        let mut table: Vec<Vec<Vec<u8>>> = (0..rows).map(|i| row(1000 + i as u64)).collect();
        let mut touched = std::collections::BTreeSet::new();
        for (r, c, value) in &mutations {
            let r = r % rows;
            table[r][*c] = value.clone();
            touched.insert(r);
        }
        let (bytes, _) = page(&table);
        let page = parse(&bytes).expect("a well-quoted page is a page");
        prop_assert_eq!(page.records, rows);
        prop_assert_eq!(page.rows.len() + page.skipped.len(), rows);
        for r in 0..rows {
            if touched.contains(&r) {
                continue;
            }
            let id = 1000 + r as u64;
            let kept = page.rows.iter().find(|k| k.order_id == id);
            prop_assert!(kept.is_some(), "untouched row {} was lost: {:?}", id, page.skipped);
            let expected = format!("host{id}.example.com");
            prop_assert_eq!(&*kept.unwrap().common_name, expected.as_str());
        }
        let id_column = column("order_id");
        for (r, c, _) in &mutations {
            let r = r % rows;
            if *c == id_column && !parses_as_id(&table[r][id_column]) {
                prop_assert!(
                    page.skipped.iter().any(|s| s.reason.contains("order_id")),
                    "row {} with order_id {:?} not skipped: {:?}",
                    r, String::from_utf8_lossy(&table[r][id_column]), page.skipped
                );
            }
        }
        for skipped in &page.skipped {
            prop_assert!(!skipped.reason.is_empty());
            prop_assert!(skipped.reason.len() < 200, "a reason is a sentence: {}", skipped.reason);
        }
    }
}

/// A page cut short anywhere inside a row must fail (the orders after the
/// cut would otherwise look gone); only a cut exactly between two records
/// is a shorter page, which no parser can tell.
#[test]
fn a_page_cut_anywhere_inside_a_row_is_an_error() {
    let rows: Vec<_> = (1..=3).map(row).collect();
    let (bytes, ends) = page(&rows);
    let mut wrong = Vec::new();
    for cut in ends[0] + 1..bytes.len() {
        // A cut at a record's end, or just before its newline, leaves a
        // whole page (the last line of a CSV need not end in a newline).
        if ends.contains(&cut) || ends.contains(&(cut + 1)) {
            continue;
        }
        match parse(&bytes[..cut]) {
            Err(ReportError::Truncated { .. }) => {}
            other => wrong.push((
                cut,
                String::from_utf8_lossy(&bytes[cut.saturating_sub(12)..cut]).into_owned(),
                format!("{:?}", other.map(|p| (p.records, p.rows.len()))),
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cuts of {} parse as a page, e.g. {:?}",
        wrong.len(),
        bytes.len() - ends[0],
        &wrong[..wrong.len().min(4)]
    );
}

/// The same property as above, for the cuts the parser does catch today:
/// anywhere after a row's first field opens and before its last field.
#[test]
fn a_page_cut_before_the_last_field_of_a_row_is_an_error() {
    let rows: Vec<_> = (1..=3).map(row).collect();
    let (bytes, ends) = page(&rows);
    for pair in ends.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        // The last field is `,"0"\n`: cuts from its comma on are the bug
        // above, and so is a cut just after the row's first quote.
        let last_field = end - 5;
        assert_eq!(&bytes[last_field..end], b",\"0\"\n");
        for cut in start + 2..=last_field {
            match parse(&bytes[..cut]) {
                Err(ReportError::Truncated { .. }) => {}
                other => panic!(
                    "cut at {cut} ({:?}) gave {:?}",
                    String::from_utf8_lossy(&bytes[cut - 12..cut]),
                    other.map(|p| (p.records, p.rows.len()))
                ),
            }
        }
    }
}

/// A 10 MB value in a column the exporter keeps, in one it reads but does
/// not keep (the CSR), in one it ignores, and as an order id: the page is
/// read in memory proportional to the input, and an order id that is not a
/// number is an error for that row.
#[test]
fn a_ten_megabyte_field_is_read_in_bounded_memory() {
    for (name, value) in [
        ("common_name", vec![b'a'; TEN_MB]),
        ("csr", vec![b'A'; TEN_MB]),
        ("custom_renewal_message", vec![b'x'; TEN_MB]),
        ("metadata", vec![0x1f; TEN_MB]),
        ("order_id", vec![b'9'; TEN_MB]),
    ] {
        let mut rows: Vec<_> = (1..=3).map(row).collect();
        rows[1][column(name)] = value;
        let (bytes, _) = page(&rows);
        let (result, peak) = peak_memory(|| parse(&bytes));
        let page = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(page.records, 3, "{name}");
        assert!(
            page.rows.iter().any(|r| r.order_id == 1) && page.rows.iter().any(|r| r.order_id == 3),
            "{name}: the other rows are kept"
        );
        assert!(
            peak < 4 * bytes.len(),
            "{name}: parsing a {} byte page held {peak} bytes at once",
            bytes.len()
        );
        if name == "order_id" {
            assert_eq!(page.skipped.len(), 1);
            assert!(page.skipped[0].reason.contains("order_id"));
        }
        if name == "csr" {
            let kept = page.rows.iter().find(|r| r.order_id == 2).unwrap();
            assert_eq!(kept.csr_key, CsrKey::Unreadable);
        }
    }
}

/// A value the exporter turns into a label (common_name, container,
/// organization, product, status) is bounded: a 10 MB common name must not
/// become a 10 MB label on every per-order series. CertCentral itself
/// limits a common name to 64 characters (X.509's ub-common-name).
#[test]
fn a_huge_label_value_is_an_error_for_its_row() {
    for name in [
        "common_name",
        "container_name",
        "organization_name",
        "product_name_id",
        "status",
    ] {
        let mut rows: Vec<_> = (1..=3).map(row).collect();
        rows[1][column(name)] = vec![b'a'; TEN_MB];
        let (bytes, _) = page(&rows);
        let page = parse(&bytes).unwrap();
        assert!(
            page.rows.iter().all(|r| r.order_id != 2),
            "{name}: the row with a 10 MB value is kept"
        );
        assert!(
            page.skipped.iter().any(|s| s.reason.contains(name)),
            "{name}: the reason names the column: {:?}",
            page.skipped
        );
    }
}

/// A skipped row's order id is kept for its log line (and remembered so
/// that it is logged once): a 10 MB "order id" must not make a 10 MB line.
#[test]
fn a_skipped_row_keeps_a_bounded_order_id() {
    let mut rows: Vec<_> = (1..=3).map(row).collect();
    rows[1][column("order_id")] = vec![b'9'; TEN_MB];
    let (bytes, _) = page(&rows);
    let page = parse(&bytes).unwrap();
    assert_eq!(page.skipped.len(), 1);
    assert!(
        page.skipped[0].order_id.len() <= 1024,
        "the skipped row's id, for a log line: {} bytes",
        page.skipped[0].order_id.len()
    );
}

/// NUL bytes and invalid UTF-8 where numbers, dates and flags belong: the
/// row is skipped with a reason naming the column.
#[test]
fn nul_bytes_and_invalid_utf8_in_typed_columns_skip_the_row() {
    for (name, value) in [
        ("order_id", &b"12\x0034"[..]),
        ("order_id", b"\xff\xfe"),
        ("valid_till", b"2030-01-0\x00"),
        ("valid_till", b"2030-01-01\xff"),
        ("date_created", b"\xc3\x28"),
        ("auto_renew", b"\x00"),
        ("container_id", b"1\xff"),
        ("has_duplicates", b"\xEF\xBB\xBF1"),
    ] {
        let mut rows: Vec<_> = (1..=3).map(row).collect();
        rows[1][column(name)] = value.to_vec();
        let (bytes, _) = page(&rows);
        let page = parse(&bytes).unwrap();
        assert_eq!(page.rows.len(), 2, "{name} {value:?}");
        assert_eq!(page.skipped.len(), 1, "{name} {value:?}");
        let reason = &page.skipped[0].reason;
        let named = if name == "order_id" { "order_id" } else { name };
        assert!(reason.contains(named), "{name}: {reason}");
    }
}

/// A header of a million columns, or a line of a million commas: the page
/// fails or reads, in bounded memory, without panicking.
#[test]
fn absurd_shapes_do_not_blow_up() {
    let mut wide = String::from("order_id");
    for i in 0..200_000 {
        wide.push_str(&format!(",c{i}"));
    }
    wide.push_str("\n\"1\"\n");
    let (result, peak) = peak_memory(|| parse(wide.as_bytes()));
    assert!(matches!(result, Err(ReportError::Truncated { .. })));
    assert!(peak < 16 * wide.len(), "{peak} for {}", wide.len());

    let commas = format!("order_id\n\"1\"{}\n", ",".repeat(1_000_000));
    let page = parse(commas.as_bytes()).unwrap();
    assert_eq!(page.rows.len(), 1, "extra fields are tolerated");

    let quotes = format!("order_id\n{}\n", "\"".repeat(1_000_001));
    let _ = parse(quotes.as_bytes());

    let lines = "\n".repeat(1_000_000);
    let page = parse(format!("order_id{lines}").as_bytes()).unwrap();
    assert_eq!(page.records, 0, "blank lines are not records");
}

// ---------------------------------------------------------------------------
// JSON answers.

const ORDER_INFO: &str = r#"{
  "id": 123456,
  "certificate": {"id": 104, "common_name": "example.com", "thumbprint": "7D23",
    "serial_number": "0669", "valid_from": "2019-04-30", "valid_till": "2020-05-04",
    "signature_hash": "sha256", "key_size": 2048, "ca_cert": {"id": "ABCD", "name": "DigiCert SHA2 Secure Server CA"}},
  "status": "issued", "is_renewed": false, "renewed_order_id": 0,
  "order_valid_from": "2019-04-30", "order_valid_till": "2021-05-04",
  "auto_renew": 1, "auto_reissue": 0, "disable_ct": false, "disable_renewal_notifications": false,
  "is_multi_year_plan": "1",
  "requests": [{"id": 1, "date": "2019-04-30T18:02:50+00:00", "type": "new_request", "status": "approved"}]
}"#;

const REISSUES: &str = r#"{"certificates": [
  {"id": 1, "status": "issued", "date_created": "2019-04-30T18:02:50+00:00", "valid_till": "2020-05-04", "key_size": 2048, "archived": false},
  {"id": 2, "status": "revoked", "date_created": "2019-05-30 18:02:50", "valid_till": "2020-05-04", "archived": "1"}
]}"#;

const SUBACCOUNT_ORDERS: &str = r#"{"orders": [
  {"id": 1, "certificate": {"id": 9, "common_name": "a.example", "valid_till": "2030-01-01", "signature_hash": "sha256"},
   "subaccount": {"account_id": 7, "organization_name": "Sub"}, "product": {"name_id": "ssl_plus"},
   "order_price": {"cost": "10.5", "currency": "USD"}, "status": "issued"},
  {"id": "2", "subaccount": {"account_id": 7}, "status": "pending"}
], "page": {"total": 2, "limit": 1000, "offset": 0}}"#;

/// Decodes with each of the three answer types; never panics.
fn decode_all(bytes: &[u8]) -> [bool; 3] {
    [
        decode::<OrderInfo>(bytes).is_ok(),
        decode::<ReissueList>(bytes).is_ok(),
        decode::<SubaccountOrderList>(bytes).is_ok(),
    ]
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("\0".into())),
        Just(Value::String("2030-02-30".into())),
        Just(Value::String("9999-12-31T23:59:60+25:00".into())),
        Just(Value::String("ツ".repeat(40))),
    ];
    leaf.prop_recursive(6, 128, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("certificate".to_owned()),
                    Just("certificates".to_owned()),
                    Just("orders".to_owned()),
                    Just("requests".to_owned()),
                    Just("valid_till".to_owned()),
                    Just("subaccount".to_owned()),
                    Just("page".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every top-level key of a sample, with the value replaced.
fn with_field(sample: &str, path: &[&str], value: &serde_json::Value) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_str(sample).unwrap();
    let mut target = &mut json;
    for key in &path[..path.len() - 1] {
        target = &mut target[*key];
    }
    target[path[path.len() - 1]] = value.clone();
    serde_json::to_vec(&json).unwrap()
}

fn hostile_json() -> Vec<serde_json::Value> {
    use serde_json::json;
    vec![
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5e300),
        json!(-0.0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!("not a number"),
        json!(""),
        json!("\u{0}"),
        json!("2030-13-45"),
        json!("\u{ff12}\u{ff10}\u{ff13}\u{ff10}-01-01"),
        json!("é".repeat(6)),
        json!([1, 2, 3]),
        json!([[[[[]]]]]),
        json!({"nested": {"deeper": [null]}}),
        json!("x".repeat(100_000)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn no_bytes_panic_the_json_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decode_all(&bytes);
    }

    /// Any JSON value: nothing panics, and an answer that is a string, a
    /// number, a bool or null is an error. (Arrays: see
    /// `an_array_is_not_an_answer`.)
    #[test]
    fn no_json_value_panics_the_decoders(value in any_json()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let decoded = decode_all(&bytes);
        if !value.is_object() && !value.is_array() {
            prop_assert_eq!(decoded, [false; 3], "{}", value);
        }
    }

    /// Damage to a real answer (bytes flipped, cut short): a clear error or
    /// an answer, never a panic.
    #[test]
    fn damaged_answers_do_not_panic(
        which in 0usize..3,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let sample = [ORDER_INFO, REISSUES, SUBACCOUNT_ORDERS][which];
        let mut bytes = sample.as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        decode_all(&bytes);
    }
}

/// A field of the wrong type reads as absent; the rest of the answer is
/// read as before (the lenient design documented in wire.rs).
#[test]
fn a_field_of_the_wrong_type_costs_only_that_field() {
    let reference: OrderInfo = serde_json::from_str(ORDER_INFO).unwrap();
    assert_eq!(reference.id, Some(123456));
    let fields: &[&[&str]] = &[
        &["id"],
        &["status"],
        &["auto_renew"],
        &["order_valid_till"],
        &["requests"],
        &["certificate"],
        &["certificate", "valid_till"],
        &["certificate", "key_size"],
        &["certificate", "ca_cert"],
        &["is_multi_year_plan"],
    ];
    for path in fields {
        for value in hostile_json() {
            let bytes = with_field(ORDER_INFO, path, &value);
            let info = match decode::<OrderInfo>(&bytes) {
                Ok(info) => info,
                // The nested objects are not read leniently: anything but an
                // object there fails the answer, which is a clear error too.
                Err(e) => {
                    let nested_object =
                        matches!(*path, ["certificate"] | ["certificate", "ca_cert"]);
                    assert!(
                        nested_object && !value.is_object(),
                        "{path:?} = {value}: {e}"
                    );
                    continue;
                }
            };
            if path != &["id"] {
                assert_eq!(info.id, Some(123456), "{path:?} = {value}");
            }
            if path != &["order_valid_till"] {
                assert_eq!(info.order_valid_till, reference.order_valid_till);
            }
            if path[0] != "certificate" {
                let cert = info.certificate.as_ref().unwrap();
                assert_eq!(
                    cert.valid_till,
                    reference.certificate.as_ref().unwrap().valid_till
                );
            }
        }
    }

    let reissues: ReissueList = serde_json::from_str(REISSUES).unwrap();
    assert_eq!(reissues.certificates.len(), 2);
    for value in hostile_json() {
        let bytes = with_field(
            REISSUES,
            &["certificates"],
            &serde_json::json!([value, {"id": 5, "status": "issued", "valid_till": "2031-01-01"}]),
        );
        let list: ReissueList = decode(&bytes).unwrap();
        assert!(
            list.certificates.iter().any(|c| c.id == Some(5)),
            "a bad item ({value}) is dropped, not the list"
        );
    }

    let orders: SubaccountOrderList = serde_json::from_str(SUBACCOUNT_ORDERS).unwrap();
    assert_eq!(orders.orders.len(), 2);
    for value in hostile_json() {
        let bytes = with_field(SUBACCOUNT_ORDERS, &["page"], &value);
        if let Ok(list) = decode::<SubaccountOrderList>(&bytes) {
            assert_eq!(list.orders.len(), 2);
        }
    }
}

/// Answers that are not the documented object are errors, with a message.
#[test]
fn answers_that_are_not_objects_are_clear_errors() {
    for bytes in [
        &br#"[{"unexpected": "shape"}, 42]"#[..],
        b"",
        b"null",
        b"\"order\"",
        b"<html><body>502 Bad Gateway</body></html>",
        b"{\"id\": 1, \"status\": \"\xff\xfe\"}",
        b"{\"id\": 1, \"status\": \"a\x00b\"}",
        b"{\"id\": 1e400}",
        b"{\"id\": 1,",
        b"\xEF\xBB\xBF{\"id\": 1}",
    ] {
        for (what, result) in [
            ("order", decode::<OrderInfo>(bytes).err()),
            ("reissue", decode::<ReissueList>(bytes).err()),
            ("subaccount", decode::<SubaccountOrderList>(bytes).err()),
        ] {
            let err = result
                .unwrap_or_else(|| panic!("{what}: {:?} decoded", String::from_utf8_lossy(bytes)));
            assert!(!err.to_string().is_empty());
        }
    }
    // An escaped NUL is valid JSON: read, not rejected.
    let info: OrderInfo = decode(br#"{"id": 1, "status": "a\u0000b"}"#).unwrap();
    assert_eq!(info.status.as_deref(), Some("a\0b"));
}

/// Nesting a hundred thousand deep is an error (serde_json's recursion
/// limit), not a stack overflow, wherever it is.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = |prefix: &str, suffix: &str| {
        format!(
            "{prefix}{}{}{suffix}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        )
    };
    assert_eq!(decode_all(deep("", "").as_bytes()), [false; 3]);
    // Where the answer's own fields nest too deep, that answer fails (the
    // other types ignore the field as unknown, without recursing).
    for (text, which) in [
        (deep("{\"id\": 1, \"requests\": ", "}"), 0),
        (deep("{\"id\": 1, \"certificate\": {\"ca_cert\": ", "}}"), 0),
        (deep("{\"certificates\": ", "}"), 1),
        (
            deep("{\"orders\": [{\"id\": 1, \"order_prices\": ", "}]}"),
            2,
        ),
        (deep("{\"orders\": [], \"page\": {\"total\": ", "}}"), 2),
    ] {
        assert!(!decode_all(text.as_bytes())[which], "{}", &text[..60]);
    }
    // An object answer is read straight into its type: nesting under a
    // field nobody reads is skipped without recursing (never a stack
    // overflow, however deep), and the fields read are what they say.
    let unknown = format!(
        "{{\"id\": 1, \"certificates\": [], \"orders\": [], \"x\": {}1{}}}",
        "{\"a\":[".repeat(1_000_000),
        "]}".repeat(1_000_000)
    );
    assert_eq!(decode_all(unknown.as_bytes()), [true; 3]);
    let order: OrderInfo = decode(unknown.as_bytes()).unwrap();
    assert_eq!(order.id, Some(1));
}

/// An answer that is a JSON array is not the documented object. serde's
/// derive reads a sequence as the struct's fields in order, so `[]` reads as
/// an order with no details at all (cached as that order's details until
/// they age out), and `[[]]` as an empty subaccount listing (every
/// subaccount order would leave /metrics).
#[test]
fn an_array_is_not_an_answer() {
    for bytes in [
        &b"[]"[..],
        b"[null]",
        b"[1, null, \"issued\"]",
        b"[[]]",
        b"[[], null]",
    ] {
        assert_eq!(
            decode_all(bytes),
            [false; 3],
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// An answer that names one of its fields twice says two things: it is
/// refused, not read as whichever came last (it used to be).
#[test]
fn a_field_named_twice_is_refused() {
    let twice = br#"{"id": 1, "auto_renew": 1, "auto_renew": 0}"#;
    assert!(decode::<OrderInfo>(twice).is_err());
    let once = br#"{"id": 1, "auto_renew": 1}"#;
    assert_eq!(decode::<OrderInfo>(once).unwrap().auto_renew, Some(true));
    let listing = br#"{"orders": [], "orders": [{"id": 2}]}"#;
    assert!(decode::<SubaccountOrderList>(listing).is_err());
}

/// A 10 MB string, or a list of a million items, in an answer: decoded or
/// refused in memory proportional to the answer.
#[test]
fn huge_answers_are_decoded_in_bounded_memory() {
    let big_string = format!(
        "{{\"id\": 1, \"status\": \"{}\", \"certificate\": {{\"common_name\": \"{}\"}}}}",
        "s".repeat(TEN_MB),
        "c".repeat(TEN_MB)
    );
    let (info, peak) = peak_memory(|| decode::<OrderInfo>(big_string.as_bytes()));
    assert_eq!(info.unwrap().id, Some(1));
    assert!(peak < 4 * big_string.len(), "{peak}");

    let items = "{\"id\":1,\"status\":\"issued\"},".repeat(200_000);
    let many = format!("{{\"certificates\": [{items}{{}}]}}");
    let (list, peak) = peak_memory(|| decode::<ReissueList>(many.as_bytes()));
    assert_eq!(list.unwrap().certificates.len(), 200_001);
    assert!(
        peak < 64 * many.len(),
        "{peak} bytes for a {} byte answer",
        many.len()
    );

    let nulls = format!("{{\"orders\": [{}null]}}", "null,".repeat(1_000_000));
    let (list, _) = peak_memory(|| decode::<SubaccountOrderList>(nulls.as_bytes()));
    assert!(
        list.unwrap().orders.is_empty(),
        "items that are not orders are dropped"
    );
}

// ---------------------------------------------------------------------------
// CSRs.

fn pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
    for line in body.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE REQUEST-----\n");
    out
}

fn der_of(pem_text: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

const CSRS: [(&str, CsrKey); 4] = [
    (include_str!("data/csr/ec256.csr"), CsrKey::Ec { bits: 256 }),
    (include_str!("data/csr/ec384.csr"), CsrKey::Ec { bits: 384 }),
    (
        include_str!("data/csr/rsa1024.csr"),
        CsrKey::Rsa { bits: 1024 },
    ),
    (
        include_str!("data/csr/rsa2048.csr"),
        CsrKey::Rsa { bits: 2048 },
    ),
];

/// CSRs made here (rcgen) read as the key they carry.
#[test]
fn generated_csrs_read_as_their_key() {
    for (alg, expected) in [
        (&rcgen::PKCS_ECDSA_P256_SHA256, CsrKey::Ec { bits: 256 }),
        (&rcgen::PKCS_ECDSA_P384_SHA384, CsrKey::Ec { bits: 384 }),
    ] {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["host.example".to_owned()]).unwrap();
        let csr = params.serialize_request(&key).unwrap();
        assert_eq!(CsrKey::from_csr(csr.pem().unwrap().as_bytes()), expected);
        assert_eq!(CsrKey::from_csr(&pem(csr.der())), expected);
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let csr = rcgen::CertificateParams::new(vec!["h.example".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    assert!(matches!(
        CsrKey::from_csr(csr.pem().unwrap().as_bytes()),
        CsrKey::Other { .. }
    ));
    for (text, expected) in CSRS {
        assert_eq!(CsrKey::from_csr(text.as_bytes()), expected);
    }
}

/// Every truncation of every real CSR (as DER inside intact PEM armour):
/// unreadable or the right key, never a panic and never another key.
#[test]
fn every_truncation_of_a_real_csr_is_unreadable_or_right() {
    for (text, expected) in CSRS {
        let der = der_of(text);
        for cut in 0..der.len() {
            let key = CsrKey::from_csr(&pem(&der[..cut]));
            assert!(
                key == CsrKey::Unreadable || key == expected,
                "cut at {cut}: {key:?}"
            );
        }
    }
}

/// DER whose lengths claim gigabytes, or that nests ten thousand deep:
/// unreadable, at once, without allocating what the lengths claim.
#[test]
fn der_that_lies_about_its_lengths_is_unreadable() {
    let mut cases: Vec<Vec<u8>> = vec![
        vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00],
        vec![0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x30, 0x80, 0x30, 0x80, 0x00, 0x00],
        vec![0x30; 10_000],
        [0x30, 0x82].repeat(5_000),
        vec![0x06, 0x84, 0x10, 0x00, 0x00, 0x00],
    ];
    let der = der_of(CSRS[3].0);
    // A real CSR whose inner lengths are bumped one by one.
    for i in 0..der.len() {
        if der[i] == 0x82 && i + 2 < der.len() {
            let mut lie = der.clone();
            lie[i + 1] = 0xff;
            cases.push(lie);
        }
    }
    for case in cases {
        let started = std::time::Instant::now();
        let (key, peak) = peak_memory(|| CsrKey::from_csr(&pem(&case)));
        assert!(
            matches!(key, CsrKey::Unreadable | CsrKey::Rsa { .. }),
            "{key:?}"
        );
        assert!(peak < 64 * 1024 + 8 * case.len(), "{peak} bytes");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}

/// A 10 MB CSR field (valid base64, junk base64, bytes that are not text):
/// unreadable, in memory proportional to it.
#[test]
fn a_ten_megabyte_csr_is_unreadable_in_bounded_memory() {
    let mut valid_armour = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
    valid_armour.extend(std::iter::repeat_n(b'A', TEN_MB));
    valid_armour.extend(b"\n-----END CERTIFICATE REQUEST-----\n");
    let mut newlines = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
    newlines.extend(b"QUFB\n".repeat(TEN_MB / 5));
    newlines.extend(b"-----END CERTIFICATE REQUEST-----\n");
    for case in [
        valid_armour,
        newlines,
        vec![b'A'; TEN_MB],
        vec![0xff; TEN_MB],
        vec![0; TEN_MB],
        b"-----BEGIN ".repeat(TEN_MB / 11),
    ] {
        let (key, peak) = peak_memory(|| CsrKey::from_csr(&case));
        assert_eq!(key, CsrKey::Unreadable);
        assert!(peak < 3 * case.len(), "{peak} bytes for {}", case.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    /// Random DER inside PEM armour, and random text: never a panic.
    #[test]
    fn random_der_in_pem_armour_does_not_panic(
        der in proptest::collection::vec(any::<u8>(), 0..4096),
        text in ".{0,600}",
    ) {
        CsrKey::from_csr(&pem(&der));
        CsrKey::from_csr(text.as_bytes());
        let mut armoured = b"-----BEGIN CERTIFICATE REQUEST-----\n".to_vec();
        armoured.extend(text.as_bytes());
        CsrKey::from_csr(&armoured);
    }

    /// A real CSR with bytes of its DER changed: unreadable or some key,
    /// never a panic.
    #[test]
    fn damaged_der_of_a_real_csr_does_not_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let mut der = der_of(CSRS[which].0);
        for (at, byte) in flips {
            let i = at.index(der.len());
            der[i] = byte;
        }
        CsrKey::from_csr(&pem(&der));
    }
}
