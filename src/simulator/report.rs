//! The order report as the API page documents it: all 58 columns, every
//! value double-quoted, multi-line CSRs and messages, `limit` and `offset`.

use super::fleet::SimOrder;

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

fn flag(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

/// One order's values, in column order.
fn values(order: &SimOrder) -> [String; 58] {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    [
        order.id.to_string(),
        String::new(),
        order.date_created.format("%Y-%m-%d %H:%M:%S").to_string(),
        order.container_id.to_string(),
        order.container.clone(),
        order.status.clone(),
        "123123".into(),
        order.organization_id.to_string(),
        order.organization.clone(),
        "123 Fake Street".into(),
        String::new(),
        "Lehi".into(),
        "Utah".into(),
        "us".into(),
        "IT, Web".into(),
        "Will".into(),
        "Smith".into(),
        "will.smith@example.com".into(),
        "Fresh Prince".into(),
        "8015555555".into(),
        "2".into(),
        "DigiCert Global G2 TLS RSA SHA256 2020 CA1".into(),
        "41".into(),
        order.validity_years.to_string(),
        order.signature_hash.clone(),
        "dns-txt-token".into(),
        order.common_name.clone(),
        "0".into(),
        order.dns_names.join(","),
        "1".into(),
        order.product.into(),
        order.product_name.into(),
        "ssl_certificate".into(),
        String::new(),
        order.csr.pem().into(),
        date(order.valid_from),
        date(order.report_valid_till),
        order
            .certificate_id
            .map(|c| c.to_string())
            .unwrap_or_default(),
        flag(order.is_renewed).into(),
        order.renewed_order_id.unwrap_or(0).to_string(),
        (order.id + 7).to_string(),
        "0".into(),
        "A".into(),
        flag(order.is_out_of_contract).into(),
        flag(order.disable_renewal_notifications).into(),
        "ops@example.com,security@example.com".into(),
        flag(order.auto_renew).into(),
        order.custom_renewal_message.clone(),
        order.thumbprint.clone(),
        order.serial_number.clone(),
        "4567890".into(),
        "Will".into(),
        "Smith".into(),
        "will.smith@example.com".into(),
        "123123".into(),
        order.cost.to_string(),
        format!(
            "12\u{1f}Invoice #\u{1f}INV-{}\u{1f}13\u{1f}Team\u{1f}web, \"edge\"",
            order.id
        ),
        flag(order.has_duplicates).into(),
    ]
}

fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// A page of the report: the header, then up to `limit` orders from
/// `offset` (a page past the end is only the header).
pub fn page<'a>(orders: impl Iterator<Item = &'a SimOrder>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for order in orders {
        for (i, value) in values(order).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_quoted(&mut out, value);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::fleet::World;

    #[test]
    fn the_page_reads_back_with_the_csv_crate() {
        let world = World::generate(
            40,
            1,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        );
        let text = page(world.orders.iter());
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), 58);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 40);
        let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
        for (record, order) in records.iter().zip(&world.orders) {
            assert_eq!(record.len(), 58);
            assert_eq!(record[column("order_id")], order.id.to_string());
            assert_eq!(record[column("container_name")], order.container);
            assert_eq!(record[column("csr")], *order.csr.pem());
        }
        assert!(
            records
                .iter()
                .any(|r| r[column("organization_name")].contains('"'))
        );
        assert!(
            records
                .iter()
                .any(|r| r[column("custom_renewal_message")].contains('\n'))
        );
    }
}
