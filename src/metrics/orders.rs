//! The orders writer: each account's orders by status, and for each order
//! with series what it is: its info series (the labels that describe it,
//! joined in by queries), its settings, the end of its validity, its
//! reissues and its requests waiting on someone.

use super::families::{
    ORDER_AUTO_RENEW, ORDER_HAS_DUPLICATES, ORDER_INFO, ORDER_OLDEST_PENDING_REQUEST_AGE,
    ORDER_PENDING_REQUESTS, ORDER_REISSUES, ORDER_RENEWED, ORDER_VALID_TILL, ORDERS,
};
use super::{FleetView, LabelBlock, TextWriter, flag, per_order, unix_seconds};
use crate::certcentral::report::CsrKey;
use crate::fleet::{Order, end_of_day};

/// Writes the order families.
pub(super) fn write(w: &mut TextWriter, view: &FleetView<'_>) {
    let mut orders = w.family(&ORDERS);
    for account in view.accounts {
        let Some(fleet) = &account.state.fleet else {
            continue;
        };
        for (status, count) in fleet.status_counts() {
            orders.sample(
                &LabelBlock::extend(&account.labels, "status", status),
                count as f64,
            );
        }
    }
    let mut info = w.family(&ORDER_INFO);
    for row in view.rows.iter().filter(|r| r.series) {
        info.sample(&info_labels(&row.labels, row.order), 1.0);
    }
    for row in view.subaccount_rows.iter().filter(|r| r.series) {
        info.sample(&row.info_labels, 1.0);
    }
    per_order(w, view.rows, &ORDER_AUTO_RENEW, |row| {
        Some(flag(row.order.report.auto_renew))
    });
    per_order(w, view.rows, &ORDER_HAS_DUPLICATES, |row| {
        Some(flag(row.order.report.has_duplicates))
    });
    per_order(w, view.rows, &ORDER_RENEWED, |row| {
        Some(flag(row.order.renewed))
    });
    per_order(w, view.rows, &ORDER_VALID_TILL, |row| {
        let order = row.order;
        let valid_till = end_of_day(order.details.as_ref()?.order_valid_till?);
        (Some(valid_till) != order.expiry()).then(|| unix_seconds(valid_till))
    });
    let mut reissues = w.family(&ORDER_REISSUES);
    for row in view.rows.iter().filter(|r| r.all_series()) {
        let Some(by_status) = row.order.details.as_ref().and_then(|d| d.reissues.as_ref()) else {
            continue;
        };
        for (status, count) in &by_status.by_status {
            reissues.sample(
                &LabelBlock::extend(&row.labels, "status", status),
                f64::from(*count),
            );
        }
    }
    let mut pending = w.family(&ORDER_PENDING_REQUESTS);
    for row in view.rows.iter().filter(|r| r.series) {
        let waiting = row
            .order
            .details
            .as_ref()
            .map_or(0, |d| d.waiting_requests().count());
        if waiting > 0 {
            pending.sample(&row.labels, waiting as f64);
        }
    }
    let mut oldest_pending = w.family(&ORDER_OLDEST_PENDING_REQUEST_AGE);
    for row in view.rows.iter().filter(|r| r.series) {
        let oldest = row
            .order
            .details
            .as_ref()
            .and_then(|d| d.waiting_requests().filter_map(|r| r.date).min());
        if let Some(oldest) = oldest {
            let age = (view.now - oldest).num_seconds().max(0);
            oldest_pending.sample(&row.labels, age as f64);
        }
    }
}

/// The `key_size` and `key_algorithm` labels: the details' key size, else
/// the CSR's; the algorithm the CSR's where its size is that one, else
/// told by the size (RSA keys have 1024 bits or more, EC keys at most 521).
/// Empty where neither is known.
fn key_labels(details_bits: Option<u64>, csr: CsrKey) -> (String, &'static str) {
    let from_csr = match csr {
        CsrKey::Rsa { bits } => Some((u64::from(bits), "rsa")),
        CsrKey::Ec { bits } => Some((u64::from(bits), "ec")),
        CsrKey::Other { bits } => Some((u64::from(bits), "other")),
        CsrKey::Missing | CsrKey::Unreadable => None,
    };
    let by_size = |bits: u64| if bits >= 1024 { "rsa" } else { "ec" };
    match (details_bits, from_csr) {
        (Some(bits), Some((csr_bits, algorithm))) if bits == csr_bits => {
            (bits.to_string(), algorithm)
        }
        (Some(bits), _) => (bits.to_string(), by_size(bits)),
        (None, Some((bits, algorithm))) => (bits.to_string(), algorithm),
        (None, None) => (String::new(), ""),
    }
}

/// The labels of a report order's `certcentral_order_info`: the
/// descriptive ones, and its active certificate's signature hash, key size
/// and issuing CA from its details (the report's hash and CSR key until
/// the details are known; the CA only the details name).
fn info_labels(base: &str, order: &Order) -> String {
    let report = &order.report;
    let details = order.details.as_deref();
    let signature_hash = details
        .and_then(|d| d.signature_hash.as_deref())
        .filter(|h| !h.is_empty())
        .unwrap_or(&report.signature_hash);
    let (key_size, key_algorithm) = key_labels(details.and_then(|d| d.key_size), report.csr_key);
    let mut block = LabelBlock::continuing(base);
    block.push("common_name", &report.common_name);
    block.push("product", &report.product_name_id);
    block.push("container", &report.container_name);
    block.push("organization", &report.organization_name);
    block.push("signature_hash", signature_hash);
    block.push("key_size", &key_size);
    block.push("key_algorithm", key_algorithm);
    block.push(
        "issuing_ca",
        details.and_then(|d| d.ca_name.as_deref()).unwrap_or(""),
    );
    // A setting that rarely changes: a label here, not a series of its own
    // per order (empty until the order's details are read).
    block.push(
        "auto_reissue",
        details.map_or("", |d| if d.auto_reissue { "true" } else { "false" }),
    );
    block.finish()
}

#[cfg(test)]
mod tests {
    use super::key_labels;
    use crate::certcentral::report::CsrKey;

    /// A key size never goes without the algorithm that gives it meaning.
    #[test]
    fn key_size_comes_with_its_algorithm() {
        let labels = |details, csr| {
            let (size, algorithm) = key_labels(details, csr);
            (size, algorithm.to_owned())
        };
        let pair = |size: &str, algorithm: &str| (size.to_owned(), algorithm.to_owned());
        assert_eq!(labels(None, CsrKey::Ec { bits: 256 }), pair("256", "ec"));
        assert_eq!(
            labels(None, CsrKey::Rsa { bits: 2048 }),
            pair("2048", "rsa")
        );
        assert_eq!(
            labels(Some(384), CsrKey::Ec { bits: 384 }),
            pair("384", "ec")
        );
        // Reissued with another key: the details' size, and its algorithm.
        assert_eq!(
            labels(Some(384), CsrKey::Rsa { bits: 2048 }),
            pair("384", "ec")
        );
        assert_eq!(labels(Some(3072), CsrKey::Missing), pair("3072", "rsa"));
        assert_eq!(labels(None, CsrKey::Unreadable), pair("", ""));
    }
}
