//! The order report (`GET /report/order`) as its API page documents it:
//! a header row, then one row per order with all 58 columns, every value
//! wrapped in double quotes (inner quotes doubled), CSRs and renewal
//! messages spanning several lines. Newest orders first, as in the
//! page's sample.
//!
//! Decisions where the page is unclear or wrong:
//! - `auto_renew` is `1` when auto-renew is enabled (the page says
//!   "0 (enabled)"; the order pages say 1 is enabled, which we follow);
//! - `valid_till` is the expiry date of the certificate the row shows
//!   (the page calls it the start: a copy-paste slip);
//! - `is_renewed` is `1` when a newer order renews this one;
//!   `renewed_order_id` is the previous order's id on a renewal, else
//!   `0` (or empty for orders that never had a certificate);
//! - `dns_names` are joined with commas; `cost` has two decimals.

use std::fmt::Write;

use super::fleet::{Order, World, serial_number};

/// The report's columns, in the documented order.
pub const COLUMNS: [&str; 58] = [
    "order_id",
    "customer_order_id",
    "date_created",
    "container_id",
    "container_name",
    "status",
    "user_id",
    "organization_id",
    "organization_name",
    "organization_address_1",
    "organization_address_2",
    "organization_city",
    "organization_state",
    "organization_country",
    "organization_unit",
    "tech_first_name",
    "tech_last_name",
    "tech_email",
    "tech_title",
    "tech_telephone",
    "server_type",
    "issuing_ca",
    "agreement_id",
    "validity_years",
    "signature_hash",
    "dcv_method",
    "common_name",
    "plus_feature",
    "dns_names",
    "product_id",
    "product_name_id",
    "product_name",
    "product_type",
    "email",
    "csr",
    "valid_from",
    "valid_till",
    "certificate_tracker_id",
    "is_renewed",
    "renewed_order_id",
    "receipt_id",
    "disable_issuance_email",
    "pay_type",
    "is_out_of_contract",
    "disable_renewal_notifications",
    "additional_emails",
    "auto_renew",
    "custom_renewal_message",
    "thumbprint",
    "serial_number",
    "account_id",
    "user_first_name",
    "user_last_name",
    "user_email",
    "user_assignments",
    "cost",
    "metadata",
    "has_duplicates",
];

/// The account id every row carries.
pub(crate) const ACCOUNT_ID: u64 = 4_567_890;

/// The largest `limit` the endpoint accepts, and its default.
pub(crate) const MAX_LIMIT: usize = 1000;

/// A CSV row under construction: quotes each value as it is added.
struct Row<'a> {
    out: &'a mut String,
    first: bool,
}

impl Row<'_> {
    fn text(&mut self, value: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        if value.contains('"') {
            self.out.push_str(&value.replace('"', "\"\""));
        } else {
            self.out.push_str(value);
        }
        self.out.push('"');
    }

    fn number(&mut self, value: u64) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        let _ = write!(self.out, "\"{value}\"");
    }

    fn flag(&mut self, on: bool) {
        self.text(if on { "1" } else { "0" });
    }

    fn display(&mut self, value: Option<impl std::fmt::Display>) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        match value {
            Some(value) => {
                let _ = write!(self.out, "\"{value}\"");
            }
            None => self.out.push_str("\"\""),
        }
    }
}

/// Appends one order's row (with its line break).
fn row(out: &mut String, order: &Order) {
    let mut row = Row { out, first: true };
    let product = order.product();
    let org = order.organization();
    let user = order.user();
    let container = order.container();
    let certificate = order.report_certificate();
    let issued = certificate.filter(|c| c.issued.is_some());
    row.number(order.id);
    row.text(if order.id.is_multiple_of(7) {
        "PO-7731, \"Q3\""
    } else {
        ""
    });
    row.display(Some(order.created.format("%Y-%m-%d %H:%M:%S")));
    row.number(container.id);
    row.text(container.name);
    row.text(order.status.as_str());
    row.number(user.id);
    row.number(org.id);
    row.text(org.name);
    row.text(org.address);
    row.text("");
    row.text(org.city);
    row.text(org.state);
    row.text(org.country);
    row.text("IT, Web Operations");
    row.text(user.first_name);
    row.text(user.last_name);
    row.text(user.email);
    row.text(user.title);
    row.text(user.telephone);
    row.text("-1");
    row.text(if order.csr.algorithm() == Some("ec") {
        "DigiCert Global G3 TLS ECC SHA384 2020 CA1"
    } else {
        "DigiCert Global G2 TLS RSA SHA256 2020 CA1"
    });
    row.text("41");
    row.number(u64::from(order.validity_years));
    row.text(order.signature_hash.as_str());
    row.text(["dns-txt-token", "http-token", "email"][(order.id % 3) as usize]);
    row.text(&order.common_name());
    row.flag(order.plus_feature);
    row.text(&order.dns_names().join(","));
    row.number(u64::from(product.id));
    row.text(product.name_id);
    row.text(product.name);
    row.text("ssl_certificate");
    row.text("");
    row.text(order.csr_pem());
    row.display(issued.and_then(|c| c.valid_from));
    row.display(issued.and_then(|c| c.valid_till));
    row.display(issued.map(|c| c.id));
    row.flag(order.is_renewed);
    match order.renewed_order_id {
        Some(previous) => row.number(previous),
        None if order.status.has_certificate() => row.text("0"),
        None => row.text(""),
    }
    row.number(order.id + 54_321);
    row.flag(order.disable_issuance_email);
    row.text(if order.id.is_multiple_of(5) { "C" } else { "A" });
    row.flag(order.is_out_of_contract);
    row.flag(order.disable_renewal_notifications);
    row.text(if order.id.is_multiple_of(4) {
        "ops@example.com,security@example.com"
    } else {
        ""
    });
    row.flag(order.auto_renew);
    row.text(order.renewal_message());
    row.display(issued.map(|c| order.thumbprint(c)));
    row.display(issued.map(|c| serial_number(c.id)));
    row.number(ACCOUNT_ID);
    row.text(user.first_name);
    row.text(user.last_name);
    row.text(user.email);
    row.number(user.id);
    row.text(&order.cost());
    row.text(order.metadata());
    row.flag(order.has_duplicates);
    out.push('\n');
}

/// A page of the report: the header, then up to `limit` orders from
/// `offset`, newest first (a page past the end is only the header).
pub(crate) fn page(world: &World, limit: usize, offset: usize) -> String {
    let total = world.orders.len();
    let end = total.saturating_sub(offset);
    let start = end.saturating_sub(limit);
    let rows = &world.orders[start..end];
    let mut out = String::with_capacity(700 + rows.len() * 2_200);
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for order in rows.iter().rev() {
        row(&mut out, order);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Status;
    use chrono::NaiveDate;

    fn world(n: usize) -> World {
        World::generate(n, 1, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
    }

    fn read(text: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let records = reader.records().map(Result::unwrap).collect();
        (headers, records)
    }

    #[test]
    fn a_page_round_trips_through_the_csv_crate() {
        let world = world(400);
        let text = page(&world, 1000, 0);
        let (headers, records) = read(&text);
        assert_eq!(headers.iter().collect::<Vec<_>>(), COLUMNS.to_vec());
        assert_eq!(records.len(), 400);
        let column = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
        for (record, order) in records.iter().zip(world.orders.iter().rev()) {
            assert_eq!(record.len(), 58);
            assert_eq!(record[column("order_id")], order.id.to_string());
            assert_eq!(record[column("status")], *order.status.as_str());
            assert_eq!(record[column("container_name")], *order.container().name);
            assert_eq!(
                record[column("organization_name")],
                *order.organization().name
            );
            assert_eq!(record[column("common_name")], order.common_name());
            assert_eq!(record[column("csr")], *order.csr_pem());
            assert_eq!(record[column("product_name_id")], *order.product().name_id);
            assert_eq!(
                record[column("auto_renew")],
                *if order.auto_renew { "1" } else { "0" }
            );
            assert_eq!(
                record[column("custom_renewal_message")],
                *order.renewal_message()
            );
            assert_eq!(record[column("metadata")], *order.metadata());
            let shown = order.report_certificate().filter(|c| c.issued.is_some());
            assert_eq!(
                record[column("valid_till")],
                shown
                    .and_then(|c| c.valid_till)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            );
        }
        let any =
            |name: &str, f: &dyn Fn(&str) -> bool| records.iter().any(|r| f(&r[column(name)]));
        assert!(any("organization_name", &|v| v.contains('"') && v.contains(',')));
        assert!(any("container_name", &|v| v.contains('\\')));
        assert!(any("container_name", &|v| !v.is_ascii()));
        assert!(any("custom_renewal_message", &|v| v.contains('\n')));
        assert!(any("metadata", &|v| v.contains('\u{1f}')));
        assert!(any("renewed_order_id", &|v| v.len() > 1));
        assert!(any("is_renewed", &|v| v == "1"));
        assert!(any("has_duplicates", &|v| v == "1"));
    }

    #[test]
    fn every_value_is_quoted() {
        let text = page(&world(30), 1000, 0);
        let mut lines = text.split('\n');
        assert!(!lines.next().unwrap().contains('"'), "the header is bare");
        let first = lines.next().unwrap();
        assert!(first.starts_with("\"") && first.contains("\",\""));
        assert!(!text.contains(",,"), "no bare empty value");
    }

    #[test]
    fn paging_covers_every_order_once_newest_first() {
        let world = world(2_345);
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let (_, records) = read(&page(&world, 1000, offset));
            ids.extend(records.iter().map(|r| r[0].parse::<u64>().unwrap()));
            if records.len() < 1000 {
                break;
            }
            offset += 1000;
        }
        let mut expected: Vec<u64> = world.orders.iter().map(|o| o.id).collect();
        expected.reverse();
        assert_eq!(ids, expected);
        let (headers, records) = read(&page(&world, 10, 5_000));
        assert_eq!(headers.len(), 58);
        assert!(records.is_empty(), "past the end: only the header");
        let (_, records) = read(&page(&world, 3, 2));
        assert_eq!(records.len(), 3);
        assert_eq!(records[0][0], expected[2].to_string());
    }

    #[test]
    fn orders_without_a_certificate_have_empty_dates() {
        let world = world(50);
        let text = page(&world, 1000, 0);
        let (_, records) = read(&text);
        let column = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
        for record in &records {
            let status = Status::parse(&record[column("status")]).unwrap();
            if matches!(
                status,
                Status::Pending | Status::Rejected | Status::Canceled
            ) {
                assert_eq!(&record[column("valid_till")], "");
                assert_eq!(&record[column("thumbprint")], "");
            }
        }
    }

    #[test]
    fn page_render_time() {
        let world = world(100_000);
        let started = std::time::Instant::now();
        let text = page(&world, 1000, 50_000);
        println!(
            "a 1000-row page ({} bytes) rendered in {:?}",
            text.len(),
            started.elapsed()
        );
    }
}
