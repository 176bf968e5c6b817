//! Every family the renderer writes, declared once: name, type, help and
//! label names. The writers name these declarations, never a family's name
//! as text; `docs/metrics-catalogue.md` is tested against [`ALL`]
//! (`tests/catalogue.rs`). Grouped by the writer that renders them.

use super::exposition::{Family, Kind};

/// Declares a gauge family.
const fn gauge(name: &'static str, labels: &'static [&'static str], help: &'static str) -> Family {
    Family {
        name,
        kind: Kind::Gauge,
        help,
        labels,
    }
}

/// The labels of every per-order series (see `order_labels`).
const ORDER: &[&str] = &["account", "order_id"];

// ------------------------------------------------------------ health

pub(crate) const UP: Family = gauge(
    "certcentral_up",
    &["account"],
    "1 if the latest poll read the account's whole order report (the expiry data), else 0; order details have signals of their own (certcentral_details_*).",
);
pub(crate) const LAST_SUCCESSFUL_POLL: Family = gauge(
    "certcentral_last_successful_poll_timestamp_seconds",
    &["account"],
    "Unix time of the latest successful poll.",
);
pub(crate) const LAST_POLL: Family = gauge(
    "certcentral_last_poll_timestamp_seconds",
    &["account"],
    "Unix time the latest poll ended, successful or not.",
);
pub(crate) const POLL_DURATION: Family = gauge(
    "certcentral_poll_duration_seconds",
    &["account"],
    "How long the latest poll took.",
);
pub(crate) const POLL_INTERVAL: Family = gauge(
    "certcentral_poll_interval_seconds",
    &["account"],
    "Configured time between polls (alerts use it to tell stale data).",
);
pub(crate) const REPORT_ROWS_SKIPPED: Family = gauge(
    "certcentral_report_rows_skipped",
    &["account"],
    "Order report rows the latest successful poll could not understand and left out.",
);
pub(crate) const BUILD_INFO: Family = gauge(
    "certcentral_build_info",
    &["version"],
    "1, labelled with the exporter's version (one series per exporter, not per account).",
);
pub(crate) const DETAILS_BACKLOG: Family = gauge(
    "certcentral_details_backlog",
    &["account"],
    "Order details and reissue lists due but not read yet (new or changed orders, reissue lists, waiting and routine refreshes), after the latest poll's details step.",
);
pub(crate) const DETAILS_DUE: Family = gauge(
    "certcentral_details_due",
    &["account", "reason"],
    "Order details and reissue lists due but not read yet, by reason: new (details unknown for the current report row), reissues (reissue list missing or older than the details), waiting, refresh.",
);
pub(crate) const DETAILS_OLDEST: Family = gauge(
    "certcentral_details_oldest_timestamp_seconds",
    &["account"],
    "Unix time at which the oldest order details in use were read (absent before any are known).",
);

// ------------------------------------------------------------ orders

pub(crate) const ORDERS: Family = gauge(
    "certcentral_orders",
    &["account", "status"],
    "Orders in the account, by status.",
);
pub(crate) const ORDER_INFO: Family = gauge(
    "certcentral_order_info",
    &[
        "account",
        "order_id",
        "common_name",
        "product",
        "container",
        "organization",
        "signature_hash",
        "key_size",
        "key_algorithm",
        "issuing_ca",
        "auto_reissue",
        "subaccount_id",
    ],
    "1 per order with per-order series, labelled with what describes it: common name, product, container, organization, the active certificate's signature hash, key size, key algorithm (rsa, ec, other) and issuing CA, and subaccount_id for subaccount orders. Join it: * on(account, order_id) group_left(common_name, ...) certcentral_order_info.",
);
pub(crate) const ORDER_AUTO_RENEW: Family = gauge(
    "certcentral_order_auto_renew",
    ORDER,
    "1 if auto-renew is enabled on the order, else 0.",
);
pub(crate) const ORDER_HAS_DUPLICATES: Family = gauge(
    "certcentral_order_has_duplicates",
    ORDER,
    "1 if the order's certificate has duplicates, else 0.",
);
pub(crate) const ORDER_RENEWED: Family = gauge(
    "certcentral_order_renewed",
    ORDER,
    "1 if the order has been renewed (a newer order replaces it), else 0.",
);
pub(crate) const ORDER_VALID_TILL: Family = gauge(
    "certcentral_order_valid_till_timestamp_seconds",
    ORDER,
    "End of the order's validity where it is not the active certificate's expiry (Multi-year Plans, reissued certificates), Unix seconds; orders whose validity ends with their certificate have no series (use certcentral_certificate_expiry_timestamp_seconds).",
);
pub(crate) const ORDER_REISSUES: Family = gauge(
    "certcentral_order_reissues",
    &["account", "order_id", "status"],
    "Certificates reissued on the order, by status (archived ones left out).",
);
pub(crate) const ORDER_PENDING_REQUESTS: Family = gauge(
    "certcentral_order_pending_requests",
    ORDER,
    "Requests on the order waiting on approval or validation (status pending or submitted); orders without any have no series.",
);
pub(crate) const ORDER_OLDEST_PENDING_REQUEST_AGE: Family = gauge(
    "certcentral_order_oldest_pending_request_age_seconds",
    ORDER,
    "Age of the order's oldest request still pending or submitted, at the latest render (each poll, and as each UTC day ends).",
);

// ------------------------------------------------------------ expiry

pub(crate) const CERTIFICATES_EXPIRING: Family = gauge(
    "certcentral_certificates_expiring",
    &["account", "container", "product", "within"],
    "Unexpired certificates in use that expire within the window (7d, 30d, 90d), by container and product.",
);
pub(crate) const ACTIONABLE_CERTIFICATES_EXPIRING: Family = gauge(
    "certcentral_actionable_certificates_expiring",
    &["account", "container", "product", "within"],
    "The same, counting only actionable orders (nothing will replace the certificate in time).",
);
pub(crate) const CERTIFICATE_EXPIRY: Family = gauge(
    "certcentral_certificate_expiry_timestamp_seconds",
    ORDER,
    "When the order's active certificate expires (23:59:59 UTC of its valid_till date, its notAfter), Unix seconds.",
);
pub(crate) const CERTIFICATE_DAYS_REMAINING: Family = gauge(
    "certcentral_certificate_days_remaining",
    ORDER,
    "Whole days until the active certificate expires, floor((expiry - now) / 86400); negative once expired.",
);
pub(crate) const ORDER_HANDLED: Family = gauge(
    "certcentral_order_handled",
    ORDER,
    "1 when something will replace this certificate before it expires (a newer order renews it, or auto-renew or auto-reissue will act in time); orders that need someone to act have no series, so that an order without one alerts.",
);

// ------------------------------------------------------------ compliance

pub(crate) const COMPLIANCE_VIOLATIONS: Family = gauge(
    "certcentral_compliance_violations",
    &["account", "rule"],
    "Orders breaking each compliance rule (enabled rules only).",
);
pub(crate) const MANUAL_RENEWAL_ORDERS: Family = gauge(
    "certcentral_manual_renewal_orders",
    &["account", "max_validity_days"],
    "Issued orders with auto-renew and auto-reissue off, for each coming CA/Browser Forum maximum validity (days).",
);
pub(crate) const ORDERS_EXCEEDING_MANUAL_RENEWAL_THRESHOLD: Family = gauge(
    "certcentral_orders_exceeding_manual_renewal_threshold",
    &["account", "max_validity_days", "threshold"],
    "Of those, orders that would need more than `threshold` manual renewals a year under that maximum validity.",
);
pub(crate) const COMPLIANCE_VIOLATION: Family = gauge(
    "certcentral_compliance_violation",
    &["account", "order_id", "rule"],
    "1 while the order breaks the compliance rule (only broken rules have a series).",
);

// ------------------------------------------------------------ validations

pub(crate) const VALIDATION_LIST_READABLE: Family = gauge(
    "certcentral_validation_list_readable",
    &["account", "list"],
    "1 if the latest validation refresh could read the list (domains, organizations), 0 if the API key may not (403/404: nothing is concluded from it); absent before the first refresh.",
);
pub(crate) const DOMAIN_VALIDATIONS_CONCLUSIVE: Family = gauge(
    "certcentral_domain_validations_conclusive",
    &["account"],
    "1 if the domain list covers a name of at least one order in use (or no order in use needs a domain validation: DV only), 0 if it is empty or covers none (the key may not see the domains, or the list is not this account's): then no name counts as uncovered and no order is held up by a name; absent while the list is not read.",
);
pub(crate) const VALIDATIONS_REFRESH: Family = gauge(
    "certcentral_validations_refresh_timestamp_seconds",
    &["account"],
    "Unix time of the validations in use (the latest successful refresh, or the one kept in the store).",
);
pub(crate) const DOMAIN_VALIDATION_EXPIRY: Family = gauge(
    "certcentral_domain_validation_expiry_timestamp_seconds",
    &[
        "account",
        "domain_id",
        "domain",
        "organization_id",
        "subaccount_id",
        "type",
    ],
    "When each domain record's OV or EV validation (DCV) reuse ends, Unix seconds; subaccount domains carry subaccount_id.",
);
pub(crate) const ORGANIZATION_VALIDATION_EXPIRY: Family = gauge(
    "certcentral_organization_validation_expiry_timestamp_seconds",
    &["account", "organization_id", "organization", "type"],
    "When each organization's OV or EV validation ends, Unix seconds (none while pending).",
);
pub(crate) const ORDER_VALIDATION_EXPIRY: Family = gauge(
    "certcentral_order_validation_expiry_timestamp_seconds",
    &[
        "account",
        "order_id",
        "scope",
        "type",
        "validation_id",
        "validation",
    ],
    "Per order: when the validation its renewal needs that ends first ends, Unix seconds; scope (domain or organization), type (ov, ev), validation_id and validation (the domain's or organization's name) say which.",
);
pub(crate) const ORDER_UNCOVERED_NAMES: Family = gauge(
    "certcentral_order_uncovered_names",
    ORDER,
    "Per order: names (common name and SANs) that no active validation of its organization covers; orders without any have no series.",
);
pub(crate) const VALIDATIONS_EXPIRING: Family = gauge(
    "certcentral_validations_expiring",
    &["account", "scope", "within"],
    "Domain records (scope=domain, subaccounts' included) and organizations (scope=organization) whose first OV or EV validation ends within the window (7d, 30d, 90d) and has not ended yet.",
);
pub(crate) const VALIDATIONS_EXPIRED: Family = gauge(
    "certcentral_validations_expired",
    &["account", "scope"],
    "Domain records and organizations whose first OV or EV validation has ended.",
);
pub(crate) const UNCOVERED_NAMES: Family = gauge(
    "certcentral_uncovered_names",
    &["account"],
    "Distinct names on certificates in use (not renewed) that no active validation of their order's organization covers: their renewal waits on a new DCV.",
);
pub(crate) const VALIDATED_DOMAINS: Family = gauge(
    "certcentral_validated_domains",
    &["account", "reuse_days"],
    "Active domain records with an OV or EV validation, for each coming CA/Browser Forum domain validation reuse period (days).",
);
pub(crate) const DOMAINS_EXCEEDING_REVALIDATION_THRESHOLD: Family = gauge(
    "certcentral_domains_exceeding_revalidation_threshold",
    &["account", "reuse_days", "threshold"],
    "Of those, domains that would need revalidating more than `threshold` times a year under that reuse period.",
);

// ------------------------------------------------------------ subaccounts

pub(crate) const SUBACCOUNT_ORDERS: Family = gauge(
    "certcentral_subaccount_orders",
    &["account", "subaccount_id", "subaccount", "status"],
    "Orders of subaccounts, by subaccount and status.",
);
pub(crate) const SUBACCOUNT_ORDER_COST: Family = gauge(
    "certcentral_subaccount_order_cost",
    &["account", "subaccount_id", "subaccount", "currency"],
    "Total cost of subaccount orders (and their reissues), by subaccount and currency.",
);

/// Every rendered family, in the order the exposition has them.
pub const ALL: &[&Family] = &[
    &UP,
    &LAST_SUCCESSFUL_POLL,
    &LAST_POLL,
    &POLL_DURATION,
    &POLL_INTERVAL,
    &REPORT_ROWS_SKIPPED,
    &BUILD_INFO,
    &DETAILS_BACKLOG,
    &DETAILS_DUE,
    &DETAILS_OLDEST,
    &ORDERS,
    &ORDER_INFO,
    &ORDER_AUTO_RENEW,
    &ORDER_HAS_DUPLICATES,
    &ORDER_RENEWED,
    &ORDER_VALID_TILL,
    &ORDER_REISSUES,
    &ORDER_PENDING_REQUESTS,
    &ORDER_OLDEST_PENDING_REQUEST_AGE,
    &CERTIFICATES_EXPIRING,
    &ACTIONABLE_CERTIFICATES_EXPIRING,
    &CERTIFICATE_EXPIRY,
    &CERTIFICATE_DAYS_REMAINING,
    &ORDER_HANDLED,
    &COMPLIANCE_VIOLATIONS,
    &MANUAL_RENEWAL_ORDERS,
    &ORDERS_EXCEEDING_MANUAL_RENEWAL_THRESHOLD,
    &COMPLIANCE_VIOLATION,
    &VALIDATION_LIST_READABLE,
    &DOMAIN_VALIDATIONS_CONCLUSIVE,
    &VALIDATIONS_REFRESH,
    &DOMAIN_VALIDATION_EXPIRY,
    &ORGANIZATION_VALIDATION_EXPIRY,
    &ORDER_VALIDATION_EXPIRY,
    &ORDER_UNCOVERED_NAMES,
    &VALIDATIONS_EXPIRING,
    &VALIDATIONS_EXPIRED,
    &UNCOVERED_NAMES,
    &VALIDATED_DOMAINS,
    &DOMAINS_EXCEEDING_REVALIDATION_THRESHOLD,
    &SUBACCOUNT_ORDERS,
    &SUBACCOUNT_ORDER_COST,
];

// ------------------------------------------------------------ /probe

/// The families of a `/probe` answer (not of `/metrics`); none carries
/// `account` but the status.
pub const PROBE: [&Family; 6] = [
    &gauge(
        "certcentral_probe_success",
        &[],
        "1 when the handshake completed and a certificate was read.",
    ),
    &gauge(
        "certcentral_probe_duration_seconds",
        &[],
        "How long the probe took.",
    ),
    &gauge(
        "certcentral_probe_certificate_expiry_timestamp_seconds",
        &[],
        "The served leaf's notAfter, Unix seconds.",
    ),
    &gauge(
        "certcentral_probe_certificate_status",
        &["status", "account", "order_id", "container"],
        "1, with status: active (the order's active certificate), superseded (replaced by a reissue or a renewal that is not deployed here) or unknown (no polled account's certificate); account, order_id and container (the order's owner; empty for a subaccount order) when known.",
    ),
    &gauge(
        "certcentral_probe_certificate_verified",
        &["reason"],
        "1 if the served chain verifies for server_name against the trusted roots, 0 if not; reason: expired, not_yet_valid, unknown_issuer, name_mismatch, revoked, bad_signature, wrong_purpose, invalid or no_trust_anchors (empty when verified).",
    ),
    &gauge(
        "certcentral_probe_replacement_expiry_timestamp_seconds",
        &["replacement_order_id", "by"],
        "For a superseded certificate: when its replacement (replacement_order_id, by reissue or renewal) expires, Unix seconds; the certificate to install.",
    ),
];
