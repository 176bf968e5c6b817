//! The fixed vocabulary the simulated account is built from: products,
//! containers, organizations, users, subaccounts, CSRs, renewal messages
//! and custom fields. Orders refer to these by index, so that a million
//! orders cost no allocation each.
//!
//! Names are deliberately awkward (commas, double quotes, backslashes,
//! non-ASCII) because real accounts have such names and every one of them
//! must survive the CSV report and the exporter's labels.

use serde::Serialize;

/// A product the simulated account orders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Product {
    /// The product's `name_id` (the exporter's `product` label).
    pub(crate) name_id: &'static str,
    /// Display name.
    pub(crate) name: &'static str,
    /// CertCentral's internal product id (the report's `product_id`).
    pub(crate) id: u32,
    /// `ov` or `ev`.
    pub(crate) validation: &'static str,
    /// Names on the certificate are wildcards.
    pub(crate) wildcard: bool,
    /// Several SANs are bought.
    pub(crate) multi_domain: bool,
    /// `POST /order/certificate/{product}` takes this product (the
    /// OV/EV SSL page names six products; Secure Site is ordered elsewhere).
    pub(crate) orderable: bool,
    /// Yearly price in US cents.
    pub(crate) price_cents: u32,
}

/// Every product, with the weight it has in a generated fleet.
pub(crate) const PRODUCTS: [(Product, u32); 8] = [
    (
        Product {
            name_id: "ssl_plus",
            name: "Standard SSL",
            id: 1,
            validation: "ov",
            wildcard: false,
            multi_domain: false,
            orderable: true,
            price_cents: 17_500,
        },
        30,
    ),
    (
        Product {
            name_id: "ssl_multi_domain",
            name: "Multi-Domain SSL",
            id: 7,
            validation: "ov",
            wildcard: false,
            multi_domain: true,
            orderable: true,
            price_cents: 29_900,
        },
        15,
    ),
    (
        Product {
            name_id: "ssl_wildcard",
            name: "WildCard",
            id: 2,
            validation: "ov",
            wildcard: true,
            multi_domain: false,
            orderable: true,
            price_cents: 59_500,
        },
        14,
    ),
    (
        Product {
            name_id: "ssl_ev_plus",
            name: "EV SSL",
            id: 3,
            validation: "ev",
            wildcard: false,
            multi_domain: false,
            orderable: true,
            price_cents: 34_400,
        },
        10,
    ),
    (
        Product {
            name_id: "ssl_ev_multi_domain",
            name: "EV Multi-Domain SSL",
            id: 8,
            validation: "ev",
            wildcard: false,
            multi_domain: true,
            orderable: true,
            price_cents: 49_900,
        },
        6,
    ),
    (
        Product {
            name_id: "ssl_cloud_wildcard",
            name: "Cloud Wildcard SSL",
            id: 45,
            validation: "ov",
            wildcard: true,
            multi_domain: true,
            orderable: true,
            price_cents: 68_800,
        },
        8,
    ),
    (
        Product {
            name_id: "ssl_securesite",
            name: "Secure Site SSL",
            id: 36,
            validation: "ov",
            wildcard: false,
            multi_domain: false,
            orderable: false,
            price_cents: 39_900,
        },
        9,
    ),
    (
        Product {
            name_id: "ssl_securesite_pro",
            name: "Secure Site Pro SSL",
            id: 104,
            validation: "ov",
            wildcard: false,
            multi_domain: true,
            orderable: false,
            price_cents: 99_500,
        },
        8,
    ),
];

/// The product with this `name_id`.
pub(crate) fn product_index(name_id: &str) -> Option<u8> {
    PRODUCTS
        .iter()
        .position(|(p, _)| p.name_id == name_id)
        .and_then(|i| u8::try_from(i).ok())
}

/// A container (a division of the account).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Container {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
}

/// The account's containers; the first is the top-level one.
pub(crate) const CONTAINERS: [Container; 8] = [
    Container {
        id: 112_233,
        name: "Example Corp",
    },
    Container {
        id: 112_240,
        name: "Web Platform",
    },
    Container {
        id: 112_241,
        name: "Payments, EU",
    },
    Container {
        id: 112_242,
        name: "Müller, \"Nord\" GmbH",
    },
    Container {
        id: 112_243,
        name: "Café\\Prod",
    },
    Container {
        id: 112_244,
        name: "東京 Operations",
    },
    Container {
        id: 112_245,
        name: "QA \"staging\" (do not use)",
    },
    Container {
        id: 112_246,
        name: "Øresund Logistics A/S",
    },
];

/// An organization orders are validated for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Organization {
    pub(crate) id: u64,
    pub(crate) name: &'static str,
    pub(crate) assumed_name: &'static str,
    pub(crate) address: &'static str,
    pub(crate) city: &'static str,
    pub(crate) state: &'static str,
    pub(crate) country: &'static str,
}

/// The account's organizations.
pub(crate) const ORGANIZATIONS: [Organization; 6] = [
    Organization {
        id: 221_133,
        name: "Example Corp",
        assumed_name: "Example",
        address: "123 Fake Street",
        city: "Lehi",
        state: "Utah",
        country: "us",
    },
    Organization {
        id: 221_134,
        name: "Müller, \"Nord\" GmbH",
        assumed_name: "Müller Nord",
        address: "Hafenstraße 7",
        city: "Hamburg",
        state: "Hamburg",
        country: "de",
    },
    Organization {
        id: 221_135,
        name: "Société Générale d'Exemple",
        assumed_name: "SGE",
        address: "1, rue de l'Exemple",
        city: "Paris",
        state: "Île-de-France",
        country: "fr",
    },
    Organization {
        id: 221_136,
        name: "Back\\slash & Co, Ltd.",
        assumed_name: "Backslash",
        address: "Unit 4, \"The Yard\"",
        city: "Leeds",
        state: "West Yorkshire",
        country: "gb",
    },
    Organization {
        id: 221_137,
        name: "株式会社サンプル",
        assumed_name: "Sample KK",
        address: "1-2-3 Marunouchi",
        city: "Chiyoda-ku",
        state: "Tokyo",
        country: "jp",
    },
    Organization {
        id: 221_138,
        name: "Café\\Prod SAS",
        assumed_name: "Café Prod",
        address: "8 place du Marché",
        city: "Lyon",
        state: "Auvergne-Rhône-Alpes",
        country: "fr",
    },
];

/// A CertCentral user (who placed an order, or asked for a reissue).
#[derive(Debug, Clone, Copy)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) first_name: &'static str,
    pub(crate) last_name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) title: &'static str,
    pub(crate) telephone: &'static str,
}

/// The account's users.
pub(crate) const USERS: [User; 4] = [
    User {
        id: 123_123,
        first_name: "Will",
        last_name: "Smith",
        email: "will.smith@example.com",
        title: "Fresh Prince",
        telephone: "8015555555",
    },
    User {
        id: 123_124,
        first_name: "Zoë",
        last_name: "O'Brien",
        email: "zoe.obrien@example.com",
        title: "Platform Engineer",
        telephone: "+44 20 7946 0000",
    },
    User {
        id: 123_125,
        first_name: "Jürgen",
        last_name: "Weiß",
        email: "juergen.weiss@example.de",
        title: "IT-Sicherheit, Leitung",
        telephone: "+49 40 123456",
    },
    User {
        id: 123_126,
        first_name: "Logan",
        last_name: "Nelson",
        email: "logan.nelson@example.com",
        title: "SRE",
        telephone: "8015550100",
    },
];

/// Custom renewal messages; index 0 is "none". Several lines, quotes and
/// commas, as people write them.
pub(crate) const RENEWAL_MESSAGES: [&str; 5] = [
    "",
    "Renew soon, please.\nCall the \"web\" team, ext. 42",
    "Owner: payments-oncall@example.com\nRunbook: https://wiki.example.com/tls, section 3\n\nDo NOT let this lapse.",
    "Bitte rechtzeitig erneuern.\r\nDanke, Jürgen",
    "Reminder for C:\\certs\\prod \u{2014} \"legacy\" box",
];

/// Custom-field values (`metadata` column: id, label, value separated by
/// 0x1f); index 0 is "none".
pub(crate) const METADATA: [&str; 4] = [
    "",
    "12\u{1f}Invoice #\u{1f}INV-2041",
    "12\u{1f}Invoice #\u{1f}INV-2042\u{1f}13\u{1f}Team\u{1f}web, \"edge\"",
    "14\u{1f}Cost centre\u{1f}CC-900\\Ops",
];

/// A subaccount of the account (orders listed by the subaccount endpoint).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Subaccount {
    pub(crate) id: u64,
    pub(crate) account_type: &'static str,
    pub(crate) organization: &'static str,
    /// Orders of immediate subaccounts carry a `certificate` object in the
    /// listing; those of sub-subaccounts do not (as documented).
    pub(crate) immediate: bool,
}

/// The account's subaccounts.
pub(crate) const SUBACCOUNTS: [Subaccount; 4] = [
    Subaccount {
        id: 123_445,
        account_type: "enterprise",
        organization: "Sub account organization",
        immediate: true,
    },
    Subaccount {
        id: 123_446,
        account_type: "enterprise",
        organization: "Filiale Zürich AG",
        immediate: true,
    },
    Subaccount {
        id: 123_447,
        account_type: "retail",
        organization: "Reseller, \"West\"",
        immediate: true,
    },
    Subaccount {
        id: 123_448,
        account_type: "enterprise",
        organization: "Sub-sub \\ Tochter",
        immediate: false,
    },
];

/// Domains names are drawn from.
pub(crate) const DOMAINS: [&str; 6] = [
    "example.com",
    "example.org",
    "example.net",
    "exemple.fr",
    "beispiel.de",
    "xn--mller-kva.example",
];

/// Host name prefixes.
pub(crate) const HOSTS: [&str; 10] = [
    "www", "api", "shop", "mail", "vpn", "portal", "cdn", "auth", "intranet", "billing",
];

/// The CSRs orders carry: real PKCS#10 requests generated once with
/// openssl, so the report has realistic bytes and the exporter's CSR
/// reader meets real keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Csr {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Ec256,
    Ec384,
    /// A weak key (the `weak_key` finding).
    Rsa1024,
    /// Damaged base64 (the `csr_unreadable` finding).
    Corrupt,
    /// Good base64 of a cut-off DER request (also unreadable).
    Truncated,
}

impl Csr {
    /// Every CSR, with the weight it has in a generated fleet.
    pub(crate) const WEIGHTED: [(Csr, u32); 8] = [
        (Csr::Rsa2048, 620),
        (Csr::Rsa3072, 90),
        (Csr::Rsa4096, 100),
        (Csr::Ec256, 120),
        (Csr::Ec384, 50),
        (Csr::Rsa1024, 10),
        (Csr::Corrupt, 5),
        (Csr::Truncated, 5),
    ];

    /// The PEM text.
    pub(crate) fn pem(self) -> &'static str {
        match self {
            Csr::Rsa2048 => include_str!("csr/rsa2048.pem"),
            Csr::Rsa3072 => include_str!("csr/rsa3072.pem"),
            Csr::Rsa4096 => include_str!("csr/rsa4096.pem"),
            Csr::Ec256 => include_str!("csr/ec256.pem"),
            Csr::Ec384 => include_str!("csr/ec384.pem"),
            Csr::Rsa1024 => include_str!("csr/rsa1024.pem"),
            Csr::Corrupt => include_str!("csr/corrupt.pem"),
            Csr::Truncated => include_str!("csr/truncated.pem"),
        }
    }

    /// The key algorithm, `rsa` or `ec`, as a reader of the CSR finds it;
    /// `None` when the CSR cannot be read.
    pub(crate) fn algorithm(self) -> Option<&'static str> {
        match self {
            Csr::Rsa2048 | Csr::Rsa3072 | Csr::Rsa4096 | Csr::Rsa1024 => Some("rsa"),
            Csr::Ec256 | Csr::Ec384 => Some("ec"),
            Csr::Corrupt | Csr::Truncated => None,
        }
    }

    /// The key size a reader of the CSR finds; `None` when unreadable.
    pub(crate) fn bits(self) -> Option<u32> {
        match self {
            Csr::Rsa2048 => Some(2048),
            Csr::Rsa3072 => Some(3072),
            Csr::Rsa4096 => Some(4096),
            Csr::Ec256 => Some(256),
            Csr::Ec384 => Some(384),
            Csr::Rsa1024 => Some(1024),
            Csr::Corrupt | Csr::Truncated => None,
        }
    }

    /// The `key_size` CertCentral states in order details (it knows the
    /// key even when the CSR text in the report is damaged).
    pub(crate) fn stated_key_size(self) -> u32 {
        self.bits().unwrap_or(2048)
    }
}

/// Picks from a weighted table.
pub(crate) fn weighted<T: Copy>(rng: &mut fastrand::Rng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.u32(0..total.max(1));
    for (item, weight) in table {
        if pick < *weight {
            return *item;
        }
        pick -= weight;
    }
    table[0].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrs_are_pem_and_weights_cover_every_kind() {
        for (csr, _) in Csr::WEIGHTED {
            let pem = csr.pem();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
            assert!(
                pem.trim_end()
                    .ends_with("-----END CERTIFICATE REQUEST-----")
            );
        }
        assert_eq!(product_index("ssl_plus"), Some(0));
        assert_eq!(product_index("code_signing"), None);
    }
}
