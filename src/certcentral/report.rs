//! The order report (`GET /report/order`): a CSV page parsed into the few
//! fields the exporter uses, by column name, one page at a time.
//!
//! The report can be large (every row carries the CSR), so a page is read
//! once as `csv::ByteRecord`s and only the used columns are kept. Strings
//! that repeat across orders (status, product, container, organization) are
//! interned so that 100,000 orders share a handful of allocations.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};

/// One order as the report describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub order_id: u64,
    pub status: Arc<str>,
    pub date_created: Option<NaiveDateTime>,
    pub common_name: Box<str>,
    /// The SANs, as the report's `dns_names` column writes them (comma
    /// separated; see [`crate::coverage::order_names`]).
    pub dns_names: Box<str>,
    pub product_name_id: Arc<str>,
    pub container_id: Option<u64>,
    pub container_name: Arc<str>,
    pub organization_id: Option<u64>,
    pub organization_name: Arc<str>,
    pub validity_years: Option<u32>,
    pub signature_hash: Arc<str>,
    pub valid_from: Option<NaiveDate>,
    /// Expiry date of the order's certificate. (The report page describes
    /// this column as "Date when certificate validity starts": a copy-paste
    /// slip; it is the end, as on every other endpoint.)
    pub valid_till: Option<NaiveDate>,
    pub certificate_id: Option<u64>,
    pub thumbprint: Box<str>,
    pub serial_number: Box<str>,
    /// This order has been renewed by a newer one.
    pub is_renewed: bool,
    /// On a renewal: the order it renews.
    pub renewed_order_id: Option<u64>,
    /// 1 is enabled. (The report page says "0 (enabled), 1 (disabled)"; the
    /// order and order-info pages both say 1 is enabled, and so do we.)
    pub auto_renew: bool,
    pub has_duplicates: bool,
    pub disable_renewal_notifications: bool,
    pub is_out_of_contract: bool,
    /// The key the CSR asks for (the CSR itself is not kept).
    pub csr_key: CsrKey,
}

/// The public key of an order's CSR: all the exporter keeps of the CSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CsrKey {
    /// The report has no CSR for the order.
    Missing,
    /// There is a CSR, but it is not a readable PKCS#10 request.
    Unreadable,
    Rsa {
        bits: u32,
    },
    Ec {
        bits: u32,
    },
    /// Another algorithm (DSA, GOST, EdDSA...), with its size where known.
    Other {
        bits: u32,
    },
}

impl CsrKey {
    /// Reads the key of a PEM (or bare base64) CSR.
    pub fn from_csr(csr: &[u8]) -> CsrKey {
        use x509_parser::public_key::PublicKey;
        let csr = csr.trim_ascii();
        if csr.is_empty() {
            return CsrKey::Missing;
        }
        let Some(der) = pem_body(csr) else {
            return CsrKey::Unreadable;
        };
        let Some(subject_pki) = subject_public_key_info(&der) else {
            return CsrKey::Unreadable;
        };
        match subject_pki.parsed() {
            Ok(PublicKey::RSA(rsa)) => CsrKey::Rsa {
                bits: unsigned_bits(rsa.modulus),
            },
            Ok(PublicKey::EC(point)) => CsrKey::Ec {
                bits: u32::try_from(point.key_size()).unwrap_or(0),
            },
            Ok(other) => CsrKey::Other {
                bits: u32::try_from(other.key_size()).unwrap_or(0),
            },
            Err(_) => CsrKey::Unreadable,
        }
    }
}

/// The public key of a DER CSR (PKCS#10: `SEQUENCE { SEQUENCE { version,
/// subject, subjectPKInfo, attributes }, signatureAlgorithm, signature }`),
/// walked to without reading the subject, the attributes or the signature,
/// which the key's size does not need and which cost most of a full parse.
fn subject_public_key_info(der: &[u8]) -> Option<x509_parser::x509::SubjectPublicKeyInfo<'_>> {
    use x509_parser::asn1_rs::{Any, FromDer, Tag};
    let sequence = |bytes| match Any::from_der(bytes) {
        Ok((rest, any)) if any.tag() == Tag::Sequence => Some((rest, any.data)),
        _ => None,
    };
    let (_, request) = sequence(der)?;
    let (_, info) = sequence(request)?;
    let (rest, version) = Any::from_der(info).ok()?;
    if version.tag() != Tag::Integer {
        return None;
    }
    let (rest, _subject) = sequence(rest)?;
    let (_, subject_pki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(rest).ok()?;
    Some(subject_pki)
}

/// The DER bytes of a PEM block (or of bare base64), ignoring line breaks.
fn pem_body(text: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = match memchr::memmem::find(text, b"-----BEGIN") {
        Some(begin) => {
            let after = &text[begin..];
            let start = memchr::memchr(b'\n', after)? + 1;
            let end = memchr::memmem::find(after, b"-----END")?;
            after.get(start..end)?
        }
        None => text,
    };
    // Line by line, not byte by byte: this ran once per order and was a
    // tenth of a first poll's CPU.
    let mut compact = Vec::with_capacity(body.len());
    for line in body.split(u8::is_ascii_whitespace) {
        compact.extend_from_slice(line);
    }
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// The bit length of a big-endian unsigned integer (DER adds a leading 0).
fn unsigned_bits(bytes: &[u8]) -> u32 {
    let first = bytes.iter().position(|&b| b != 0);
    first.map_or(0, |i| {
        let len = u32::try_from(bytes.len() - i).unwrap_or(u32::MAX / 8);
        len * 8 - bytes[i].leading_zeros()
    })
}

/// CSR keys already read, by order, with a digest of the CSR they came
/// from: a poll re-reads only the CSRs that changed.
#[derive(Debug, Default)]
pub struct CsrCache(HashMap<u64, (u32, CsrKey)>);

impl CsrCache {
    fn key(&mut self, order_id: u64, csr: &[u8]) -> CsrKey {
        let digest = crc32fast::hash(csr);
        match self.0.get(&order_id) {
            Some(&(seen, key)) if seen == digest => key,
            _ => {
                let key = CsrKey::from_csr(csr);
                self.0.insert(order_id, (digest, key));
                key
            }
        }
    }

    /// Forgets orders that are not in `keep`.
    pub fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        self.0.retain(|&id, _| keep(id));
    }
}

/// What parsing carries from page to page and poll to poll.
#[derive(Debug, Default)]
pub struct ParseContext {
    pub interner: Interner,
    pub csr_keys: CsrCache,
}

/// A row that was skipped because part of it could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The row's order id as written, if there was one.
    pub order_id: String,
    pub reason: String,
}

/// The parse of one report page.
#[derive(Debug, Default)]
pub struct ReportPage {
    pub rows: Vec<Arc<ReportRow>>,
    pub skipped: Vec<SkippedRow>,
    /// Data records on the page (kept and skipped), to tell a short page.
    pub records: usize,
}

/// Why a whole page could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report has no order_id column (is this a CSV order report?)")]
    NoOrderIdColumn,
    #[error(
        "the report page ends in the middle of a row (record {record} has {found} of {expected} fields)"
    )]
    Truncated {
        record: usize,
        found: usize,
        expected: usize,
    },
    #[error("the report page is not readable CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// The longest value kept for a label (common name, container,
/// organization, product, status). CertCentral limits a common name to 64
/// characters; a 10 MB "name" is a broken row, not a label.
pub const MAX_LABEL_BYTES: usize = 1024;

/// The longest order id kept for the log line of a skipped row.
const MAX_LOGGED_ID_BYTES: usize = 64;

/// Shares one allocation between equal strings across rows and pages.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `text`.
    pub fn intern(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(shared.clone());
        shared
    }
}

/// Positions of the columns we read, found by header name.
struct Columns {
    order_id: usize,
    status: Option<usize>,
    date_created: Option<usize>,
    common_name: Option<usize>,
    dns_names: Option<usize>,
    product_name_id: Option<usize>,
    container_id: Option<usize>,
    container_name: Option<usize>,
    organization_id: Option<usize>,
    organization_name: Option<usize>,
    validity_years: Option<usize>,
    signature_hash: Option<usize>,
    valid_from: Option<usize>,
    valid_till: Option<usize>,
    certificate_id: Option<usize>,
    thumbprint: Option<usize>,
    serial_number: Option<usize>,
    is_renewed: Option<usize>,
    renewed_order_id: Option<usize>,
    auto_renew: Option<usize>,
    has_duplicates: Option<usize>,
    disable_renewal_notifications: Option<usize>,
    is_out_of_contract: Option<usize>,
    csr: Option<usize>,
}

impl Columns {
    fn find(header: &csv::ByteRecord) -> Result<Columns, ReportError> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| trim_bom(h).eq_ignore_ascii_case(name.as_bytes()))
        };
        Ok(Columns {
            order_id: find("order_id").ok_or(ReportError::NoOrderIdColumn)?,
            status: find("status"),
            date_created: find("date_created"),
            common_name: find("common_name"),
            dns_names: find("dns_names"),
            product_name_id: find("product_name_id"),
            container_id: find("container_id"),
            container_name: find("container_name"),
            organization_id: find("organization_id"),
            organization_name: find("organization_name"),
            validity_years: find("validity_years"),
            signature_hash: find("signature_hash"),
            valid_from: find("valid_from"),
            valid_till: find("valid_till"),
            certificate_id: find("certificate_tracker_id").or_else(|| find("certificate_id")),
            thumbprint: find("thumbprint"),
            serial_number: find("serial_number"),
            is_renewed: find("is_renewed"),
            renewed_order_id: find("renewed_order_id"),
            auto_renew: find("auto_renew"),
            has_duplicates: find("has_duplicates"),
            disable_renewal_notifications: find("disable_renewal_notifications"),
            is_out_of_contract: find("is_out_of_contract"),
            csr: find("csr"),
        })
    }
}

fn trim_bom(field: &[u8]) -> &[u8] {
    let field = field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field);
    field.trim_ascii()
}

/// Whether a page's text holds at least `limit` records, by a quick count
/// of the line ends outside quotes (blank lines left out): a hint that the
/// next page exists, so that it can be read while this one is parsed. The
/// parse, not this count, decides where the report ends.
pub fn looks_full(text: &[u8], limit: usize) -> bool {
    let mut quoted = false;
    let mut lines = 0;
    let mut line_start = 0;
    let mut segment_start = 0;
    // Line ends are few and quotes many: the quotes between two line ends
    // are counted in one vectorised pass (memchr's count), rather than
    // stopped at one by one.
    for at in memchr::memchr_iter(b'\n', text) {
        let quotes = memchr::memchr_iter(b'"', &text[segment_start..at]).count();
        quoted ^= quotes % 2 == 1;
        segment_start = at + 1;
        if quoted {
            continue;
        }
        if !text[line_start..at].trim_ascii().is_empty() {
            lines += 1;
            // The header and `limit` records.
            if lines > limit {
                return true;
            }
        }
        line_start = at + 1;
    }
    lines + usize::from(!text[line_start..].trim_ascii().is_empty()) > limit
}

/// Parses one page of the order report.
///
/// Rows that cannot be understood are returned in `skipped`; the page as a
/// whole fails only when it is not an order report at all, or when its last
/// row is cut short (a truncated answer must not look like a short page).
pub fn parse_page(bytes: &[u8], context: &mut ParseContext) -> Result<ReportPage, ReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut page = ReportPage::default();
    // An empty answer is an empty page: the count was a multiple of the limit.
    if !reader.read_byte_record(&mut record)? {
        return Ok(page);
    }
    let columns = Columns::find(&record)?;
    let expected = record.len();
    let mut short: Option<(usize, usize)> = None;
    let mut last_start = reader.position().byte() as usize;
    while reader.read_byte_record(&mut record)? {
        let start = last_start;
        last_start = reader.position().byte() as usize;
        if last_start >= bytes.len() && cut_off(&bytes[start.min(bytes.len())..]) {
            return Err(ReportError::Truncated {
                record: page.records + 1,
                found: record.len(),
                expected,
            });
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
            continue; // a blank line
        }
        page.records += 1;
        if let Some((record_no, found)) = short.take() {
            // A short record followed by more rows was damaged, not cut off.
            page.skipped.push(SkippedRow {
                order_id: String::new(),
                reason: format!("record {record_no} has {found} of {expected} fields"),
            });
        }
        if record.len() < expected {
            short = Some((page.records, record.len()));
            continue;
        }
        match parse_row(&record, &columns, context) {
            Ok(row) => page.rows.push(Arc::new(row)),
            Err(reason) => page.skipped.push(SkippedRow {
                order_id: bounded(&text(&record, Some(columns.order_id)), MAX_LOGGED_ID_BYTES),
                reason,
            }),
        }
    }
    if let Some((record, found)) = short {
        return Err(ReportError::Truncated {
            record,
            found,
            expected,
        });
    }
    Ok(page)
}

/// Whether the raw last record of an answer was cut off: it ends inside a
/// quoted value (an odd number of double quotes: quotes inside values are
/// doubled, so a whole record has an even number), or, with no newline
/// after it, right after a field separator.
fn cut_off(raw: &[u8]) -> bool {
    let odd_quotes = raw.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    odd_quotes || raw.last() == Some(&b',')
}

/// `text` cut to at most `max` bytes (on a character boundary).
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn field(record: &csv::ByteRecord, column: Option<usize>) -> &[u8] {
    column
        .and_then(|c| record.get(c))
        .map_or(&[][..], <[u8]>::trim_ascii)
}

fn text(record: &csv::ByteRecord, column: Option<usize>) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(field(record, column))
}

fn parse_row(
    record: &csv::ByteRecord,
    columns: &Columns,
    context: &mut ParseContext,
) -> Result<ReportRow, String> {
    let order_id = parse_id(field(record, Some(columns.order_id)))
        .ok_or_else(|| "order_id is not a number".to_owned())?
        .ok_or_else(|| "order_id is empty".to_owned())?;
    let id = |name: &str, column| {
        parse_id(field(record, column)).ok_or_else(|| format!("{name} is not a number"))
    };
    let date = |name: &str, column| {
        parse_date(field(record, column)).map_err(|()| format!("{name} is not a yyyy-MM-dd date"))
    };
    let flag = |name: &str, column| {
        parse_flag(field(record, column)).ok_or_else(|| format!("{name} is not 0 or 1"))
    };
    for (name, column) in [
        ("common_name", columns.common_name),
        ("container_name", columns.container_name),
        ("organization_name", columns.organization_name),
        ("product_name_id", columns.product_name_id),
        ("status", columns.status),
        ("thumbprint", columns.thumbprint),
        ("serial_number", columns.serial_number),
        ("signature_hash", columns.signature_hash),
    ] {
        if field(record, column).len() > MAX_LABEL_BYTES {
            return Err(format!("{name} is longer than {MAX_LABEL_BYTES} bytes"));
        }
    }
    let interner = &mut context.interner;
    let mut shared = |column| interner.intern(&text(record, column));
    let mut row = ReportRow {
        order_id,
        status: shared(columns.status),
        common_name: text(record, columns.common_name).into(),
        dns_names: text(record, columns.dns_names).into(),
        product_name_id: shared(columns.product_name_id),
        container_name: shared(columns.container_name),
        organization_name: shared(columns.organization_name),
        signature_hash: shared(columns.signature_hash),
        container_id: id("container_id", columns.container_id)?,
        organization_id: id("organization_id", columns.organization_id)?,
        certificate_id: id("certificate_tracker_id", columns.certificate_id)?,
        renewed_order_id: id("renewed_order_id", columns.renewed_order_id)?.filter(|&id| id != 0),
        validity_years: parse_id(field(record, columns.validity_years))
            .ok_or_else(|| "validity_years is not a number".to_owned())?
            .and_then(|y| u32::try_from(y).ok()),
        date_created: parse_datetime(field(record, columns.date_created))
            .map_err(|()| "date_created is not a yyyy-MM-dd HH:mm:ss time".to_owned())?,
        valid_from: date("valid_from", columns.valid_from)?,
        valid_till: date("valid_till", columns.valid_till)?,
        thumbprint: text(record, columns.thumbprint).into(),
        serial_number: text(record, columns.serial_number).into(),
        is_renewed: flag("is_renewed", columns.is_renewed)?,
        auto_renew: flag("auto_renew", columns.auto_renew)?,
        has_duplicates: flag("has_duplicates", columns.has_duplicates)?,
        disable_renewal_notifications: flag(
            "disable_renewal_notifications",
            columns.disable_renewal_notifications,
        )?,
        is_out_of_contract: flag("is_out_of_contract", columns.is_out_of_contract)?,
        csr_key: CsrKey::Missing,
    };
    row.csr_key = context.csr_keys.key(order_id, field(record, columns.csr));
    // A validity that ends before it starts says nothing about how long the
    // certificate is valid: its start is dropped, its end (the expiry) kept.
    if row
        .valid_from
        .zip(row.valid_till)
        .is_some_and(|(from, till)| from > till)
    {
        row.valid_from = None;
    }
    Ok(row)
}

/// `Some(None)` for an empty field, `None` for one that is not a number.
fn parse_id(field: &[u8]) -> Option<Option<u64>> {
    if field.is_empty() {
        return Some(None);
    }
    std::str::from_utf8(field).ok()?.parse().ok().map(Some)
}

fn parse_flag(field: &[u8]) -> Option<bool> {
    match field {
        b"" | b"0" | b"false" | b"False" | b"FALSE" => Some(false),
        b"1" | b"true" | b"True" | b"TRUE" => Some(true),
        _ => None,
    }
}

/// A date as `yyyy-MM-dd`; a time after it (`yyyy-MM-dd HH:mm:ss` or ISO
/// 8601) is tolerated and dropped. Empty and MySQL's `0000-00-00` are no date.
fn parse_date(field: &[u8]) -> Result<Option<NaiveDate>, ()> {
    if field.is_empty() || field.starts_with(b"0000-00-00") {
        return Ok(None);
    }
    let text = std::str::from_utf8(field).map_err(|_| ())?;
    let day = match text.as_bytes().get(10) {
        None => text,
        Some(b' ' | b'T') => &text[..10],
        Some(_) => return Err(()),
    };
    if let Some(date) = fixed_date(day.as_bytes()) {
        return Ok(Some(date));
    }
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ())
}

/// The `n` ASCII digits of `bytes` as a number; `None` for anything else.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `yyyy-MM-dd` exactly, as every report row writes it, without a format
/// string to interpret (a 100,000-row report holds 400,000 dates); other
/// spellings go to chrono's parser.
fn fixed_date(text: &[u8]) -> Option<NaiveDate> {
    match text {
        [y @ .., b'-', m1, m2, b'-', d1, d2] if y.len() == 4 => NaiveDate::from_ymd_opt(
            i32::try_from(digits(y)?).ok()?,
            digits(&[*m1, *m2])?,
            digits(&[*d1, *d2])?,
        ),
        _ => None,
    }
}

/// A time as `yyyy-MM-dd HH:mm:ss` (the report's format) or ISO 8601.
fn parse_datetime(field: &[u8]) -> Result<Option<NaiveDateTime>, ()> {
    if field.is_empty() || field.starts_with(b"0000-00-00") {
        return Ok(None);
    }
    if let [day @ .., b' ', h1, h2, b':', m1, m2, b':', s1, s2] = field
        && let Some(date) = fixed_date(day)
        && let Some(time) = date.and_hms_opt(
            digits(&[*h1, *h2]).unwrap_or(99),
            digits(&[*m1, *m2]).unwrap_or(99),
            digits(&[*s1, *s2]).unwrap_or(99),
        )
    {
        return Ok(Some(time));
    }
    let text = std::str::from_utf8(field).map_err(|_| ())?;
    if let Ok(time) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Ok(Some(time));
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Some(time.naive_utc()));
    }
    match parse_date(field)? {
        Some(day) => Ok(day.and_hms_opt(0, 0, 0)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/data/report-sample.csv");

    fn parse(text: &str) -> ReportPage {
        parse_page(text.as_bytes(), &mut ParseContext::default()).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_page_looks_full_by_its_records_not_its_lines() {
        let header = "order_id,csr\n";
        let row = "\"1\",\"-----BEGIN\nAAA\n-----END\n\"\n";
        let page = |rows: usize, tail: &str| format!("{header}{}{tail}", row.repeat(rows));
        assert!(
            !looks_full(page(2, "").as_bytes(), 3),
            "six lines, two records"
        );
        assert!(looks_full(page(3, "").as_bytes(), 3));
        assert!(
            !looks_full(page(2, "\n\r\n").as_bytes(), 3),
            "blank lines are no records"
        );
        let unterminated = page(3, "");
        assert!(
            looks_full(unterminated.trim_end().as_bytes(), 3),
            "no newline at the end"
        );
        let escaped = "\"1\",\"say \"\"hi\"\"\nthere\"\n";
        let escaped = |rows: usize| format!("{header}{}", escaped.repeat(rows));
        assert!(!looks_full(escaped(2).as_bytes(), 3), "doubled quotes");
        assert!(looks_full(escaped(3).as_bytes(), 3), "doubled quotes");
        assert!(!looks_full(b"", 1));
        assert!(!looks_full(header.as_bytes(), 1));
    }

    #[test]
    fn parses_the_api_page_sample() {
        let page = parse(SAMPLE);
        assert_eq!(page.records, 3);
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        let ids: Vec<u64> = page.rows.iter().map(|r| r.order_id).collect();
        assert_eq!(ids, [123456, 123455, 123454]);
        let first = &page.rows[0];
        assert_eq!(&*first.status, "issued");
        assert_eq!(&*first.common_name, "example.com");
        assert_eq!(&*first.product_name_id, "ssl_plus");
        assert_eq!(&*first.container_name, "Will Smith");
        assert_eq!(first.container_id, Some(112233));
        assert_eq!(&*first.organization_name, "Real Organization");
        assert_eq!(first.valid_from, Some(day("2018-10-26")));
        assert_eq!(first.valid_till, Some(day("2020-10-30")));
        assert_eq!(first.certificate_id, Some(111113));
        assert_eq!(&*first.signature_hash, "sha256");
        assert_eq!(first.validity_years, Some(2));
        assert!(first.is_renewed);
        assert_eq!(
            first.renewed_order_id, None,
            "renewed_order_id 0 means not a renewal"
        );
        assert!(first.is_out_of_contract);
        assert!(!first.auto_renew);
        assert!(!first.has_duplicates);
        assert!(!first.disable_renewal_notifications);
        assert_eq!(
            first.date_created,
            NaiveDateTime::parse_from_str("2018-10-26 10:15:33", "%Y-%m-%d %H:%M:%S").ok()
        );
        assert!(page.rows[1].disable_renewal_notifications);
        assert_eq!(&*page.rows[2].product_name_id, "ssl_wildcard");
        assert!(page.rows[2].has_duplicates);
        // Repeated strings share one allocation.
        assert!(Arc::ptr_eq(
            &page.rows[0].container_name,
            &page.rows[2].container_name
        ));
    }

    /// A validity that ends before it starts keeps its end (the expiry)
    /// and loses its start.
    #[test]
    fn a_valid_from_after_valid_till_is_dropped_and_the_expiry_kept() {
        let page = parse(
            "\"order_id\",\"valid_from\",\"valid_till\"\n\"7\",\"2027-01-01\",\"2026-06-01\"\n\"8\",\"2026-01-01\",\"2026-06-01\"\n",
        );
        assert_eq!(page.rows[0].valid_from, None);
        assert_eq!(page.rows[0].valid_till, Some(day("2026-06-01")));
        assert_eq!(page.rows[1].valid_from, Some(day("2026-01-01")));
    }

    #[test]
    fn empty_and_header_only_pages_have_no_records() {
        assert_eq!(parse("").records, 0);
        let header = SAMPLE.lines().next().unwrap();
        assert_eq!(parse(header).records, 0);
        assert_eq!(parse(&format!("{header}\n")).records, 0);
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_with_extras_and_gaps() {
        let text = "\"valid_till\",\"extra\",\"status\",\"order_id\",\"common_name\"\n\
                    \"2030-01-02\",\"x\",\"issued\",\"7\",\"a.example\"\n";
        let page = parse(text);
        let row = &page.rows[0];
        assert_eq!(row.order_id, 7);
        assert_eq!(row.valid_till, Some(day("2030-01-02")));
        assert_eq!(&*row.status, "issued");
        assert_eq!(&*row.container_name, "", "a missing column reads as empty");
        assert!(!row.auto_renew);
    }

    #[test]
    fn quotes_commas_newlines_and_metadata_inside_values() {
        let text = "\"order_id\",\"organization_name\",\"custom_renewal_message\",\"metadata\",\"csr\",\"valid_till\"\n\
                    \"1\",\"Müller, \"\"Nord\"\" GmbH\",\"line one\nline two, with comma\",\"12\x1fInvoice\x1f42\x1f13\x1fTeam\x1fweb\",\"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n\",\"2031-05-06\"\n";
        let page = parse(text);
        assert!(page.skipped.is_empty());
        assert_eq!(&*page.rows[0].organization_name, "Müller, \"Nord\" GmbH");
        assert_eq!(page.rows[0].valid_till, Some(day("2031-05-06")));
    }

    #[test]
    fn bad_rows_are_skipped_with_a_reason() {
        let text = "order_id,valid_till,auto_renew\n\
                    \"x1\",\"2030-01-01\",\"1\"\n\
                    \"2\",\"2030-13-45\",\"1\"\n\
                    \"3\",\"2030-01-01\",\"maybe\"\n\
                    \"\",\"2030-01-01\",\"1\"\n\
                    \"5\",\"2030-01-01\",\"1\"\n";
        let page = parse(text);
        assert_eq!(page.records, 5);
        assert_eq!(page.rows.len(), 1);
        assert_eq!(page.rows[0].order_id, 5);
        assert!(page.rows[0].auto_renew);
        let reasons: Vec<&str> = page.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "order_id is not a number",
                "valid_till is not a yyyy-MM-dd date",
                "auto_renew is not 0 or 1",
                "order_id is empty"
            ]
        );
        assert_eq!(page.skipped[0].order_id, "x1");
    }

    #[test]
    fn a_page_cut_mid_row_is_an_error_not_a_short_page() {
        let cut = &SAMPLE[..SAMPLE.len() - 60];
        match parse_page(cut.as_bytes(), &mut ParseContext::default()) {
            Err(ReportError::Truncated { record: 3, .. }) => {}
            other => panic!("expected truncation, got {other:?}"),
        }
    }

    #[test]
    fn a_short_row_in_the_middle_is_skipped() {
        let text =
            "order_id,status,valid_till\n\"1\",\"issued\"\n\"2\",\"issued\",\"2030-01-01\"\n";
        let page = parse(text);
        assert_eq!(page.rows.len(), 1);
        assert_eq!(page.skipped.len(), 1);
        assert_eq!(page.records, 2);
    }

    #[test]
    fn garbage_is_not_a_report() {
        let err = parse_page(
            b"<html><body>Bad gateway</body></html>",
            &mut ParseContext::default(),
        );
        assert!(matches!(err, Err(ReportError::NoOrderIdColumn)));
    }

    #[test]
    fn dates_in_other_documented_shapes() {
        assert_eq!(
            parse_date(b"2030-01-02 00:00:00"),
            Ok(Some(day("2030-01-02")))
        );
        assert_eq!(
            parse_date(b"2030-01-02T00:00:00+00:00"),
            Ok(Some(day("2030-01-02")))
        );
        assert_eq!(parse_date(b"0000-00-00"), Ok(None));
        assert_eq!(parse_date(b""), Ok(None));
        assert_eq!(parse_date(b"2030-01-02x"), Err(()));
        assert_eq!(parse_date(b"02/01/2030"), Err(()));
        assert!(
            parse_datetime(b"2018-10-16T20:05:28+00:00")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn the_fast_date_path_agrees_with_chrono() {
        let chrono_date = |t: &str| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok();
        for text in [
            "2030-01-02",
            "2024-02-29",
            "2023-02-29",
            "2030-13-01",
            "2030-00-10",
            "1999-12-31",
        ] {
            assert_eq!(fixed_date(text.as_bytes()), chrono_date(text), "{text}");
            assert_eq!(
                parse_date(text.as_bytes()).ok().flatten(),
                chrono_date(text),
                "{text}"
            );
        }
        // Spellings the fast path leaves to chrono still parse as before.
        assert_eq!(fixed_date(b"2030-1-2"), None);
        assert_eq!(parse_date(b"2030-1-2"), Ok(chrono_date("2030-1-2")));
        assert_eq!(fixed_date(b"+030-01-02"), None);
        let chrono_time = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok();
        for text in [
            "2018-10-26 10:15:33",
            "2018-02-28 10:00:00",
            "2018-10-26 23:59:60",
        ] {
            assert_eq!(
                parse_datetime(text.as_bytes()).ok().flatten(),
                chrono_time(text),
                "{text}"
            );
        }
    }

    #[test]
    fn invalid_utf8_and_nul_bytes_do_not_panic() {
        let text = b"order_id,common_name,valid_till\n\"1\",\"a\xff\x00b\",\"2030-01-01\"\n";
        let page = parse_page(text, &mut ParseContext::default()).unwrap();
        assert_eq!(page.rows.len(), 1);
        assert!(page.rows[0].common_name.contains('\u{fffd}'));
    }
}

#[cfg(test)]
mod csr_tests {
    use super::*;
    use proptest::prelude::*;

    use x509_parser::prelude::{FromDer, X509CertificationRequest};

    const REAL_CSRS: [&str; 4] = [
        include_str!("../../tests/data/csr/rsa1024.csr"),
        include_str!("../../tests/data/csr/rsa2048.csr"),
        include_str!("../../tests/data/csr/ec256.csr"),
        include_str!("../../tests/data/csr/ec384.csr"),
    ];

    #[test]
    fn the_walk_to_the_key_reads_what_the_full_parse_reads() {
        for pem in REAL_CSRS {
            let der = pem_body(pem.as_bytes()).unwrap();
            let (_, request) = X509CertificationRequest::from_der(&der).unwrap();
            let full = request.certification_request_info.subject_pki;
            assert_eq!(subject_public_key_info(&der).map(|k| k.raw), Some(full.raw));
        }
        // A request cut anywhere, even after its key, is no request: the
        // outer length must hold.
        let der = pem_body(REAL_CSRS[1].as_bytes()).unwrap();
        for cut in 0..der.len() {
            assert!(
                subject_public_key_info(&der[..cut]).is_none(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn reads_key_algorithm_and_size() {
        let cases = [
            (
                include_str!("../../tests/data/csr/rsa1024.csr"),
                CsrKey::Rsa { bits: 1024 },
            ),
            (
                include_str!("../../tests/data/csr/rsa2048.csr"),
                CsrKey::Rsa { bits: 2048 },
            ),
            (
                include_str!("../../tests/data/csr/ec256.csr"),
                CsrKey::Ec { bits: 256 },
            ),
            (
                include_str!("../../tests/data/csr/ec384.csr"),
                CsrKey::Ec { bits: 384 },
            ),
        ];
        for (pem, key) in cases {
            assert_eq!(CsrKey::from_csr(pem.as_bytes()), key);
            // Windows line ends and no PEM armour read the same.
            assert_eq!(CsrKey::from_csr(pem.replace('\n', "\r\n").as_bytes()), key);
            let bare: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            assert_eq!(CsrKey::from_csr(bare.as_bytes()), key);
        }
    }

    #[test]
    fn the_api_page_placeholder_is_unreadable_and_empty_is_missing() {
        let placeholder =
            "-----BEGIN CERTIFICATE REQUEST-----\n...\n-----END CERTIFICATE REQUEST-----\n";
        assert_eq!(CsrKey::from_csr(placeholder.as_bytes()), CsrKey::Unreadable);
        assert_eq!(CsrKey::from_csr(b"  \n"), CsrKey::Missing);
        let pem = include_str!("../../tests/data/csr/rsa2048.csr");
        let damaged = pem.replacen('M', "A", 3);
        assert_eq!(CsrKey::from_csr(damaged.as_bytes()), CsrKey::Unreadable);
    }

    #[test]
    fn unchanged_csrs_are_not_parsed_again() {
        let pem = include_str!("../../tests/data/csr/ec256.csr").as_bytes();
        let mut cache = CsrCache::default();
        assert_eq!(cache.key(1, pem), CsrKey::Ec { bits: 256 });
        // A changed CSR for the same order is read again.
        let other = include_str!("../../tests/data/csr/rsa1024.csr").as_bytes();
        assert_eq!(cache.key(1, other), CsrKey::Rsa { bits: 1024 });
        cache.retain(|id| id != 1);
        assert!(cache.0.is_empty());
    }

    #[test]
    fn bit_length_of_unsigned_integers() {
        assert_eq!(unsigned_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(unsigned_bits(&[0x7f, 0xff]), 15);
        assert_eq!(unsigned_bits(&[0x00, 0x00]), 0);
        assert_eq!(unsigned_bits(&[]), 0);
    }

    proptest! {
        #[test]
        fn no_bytes_panic_the_csr_reader(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = CsrKey::from_csr(&bytes);
        }

        #[test]
        fn no_damage_to_a_real_csr_panics_the_reader(
            flips in proptest::collection::vec((0usize..899, any::<u8>()), 1..20),
            cut in 0usize..899,
        ) {
            let mut pem = include_bytes!("../../tests/data/csr/rsa2048.csr").to_vec();
            for (at, byte) in flips {
                if let Some(b) = pem.get_mut(at) { *b = byte; }
            }
            pem.truncate(cut.max(1));
            let _ = CsrKey::from_csr(&pem);
        }

        /// Bytes of a real request changed in its DER (not its base64, which
        /// rarely leaves a request that parses): wherever the full parse
        /// still reads the request, the walk finds the same key.
        #[test]
        fn the_walk_to_the_key_finds_the_full_parses_key(
            which in 0usize..4,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let pem = REAL_CSRS[which];
            let mut der = pem_body(pem.as_bytes()).unwrap();
            for (at, byte) in flips {
                let at = at.index(der.len());
                der[at] = byte;
            }
            if let Ok((_, request)) = X509CertificationRequest::from_der(&der) {
                let full = &request.certification_request_info.subject_pki;
                let walked = subject_public_key_info(&der);
                prop_assert_eq!(walked.map(|k| k.raw), Some(full.raw));
            }
        }

        #[test]
        fn no_csv_input_panics_the_page_parser(text in "[\"a-z0-9,\\n\\x1f\\x00]{0,400}") {
            let header = "order_id,status,valid_till,auto_renew,csr\n";
            let _ = parse_page(format!("{header}{text}").as_bytes(), &mut ParseContext::default());
        }
    }
}
