//! The simulated account: a deterministic, realistic fleet of orders built
//! from a seed and today's date, with everything the four read endpoints
//! serve, and the truth tests check the exporter against.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;

/// The CSRs the simulator hands out, real PKCS#10 requests so that the
/// exporter's CSR reader meets real bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Csr {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Ec256,
    Ec384,
    /// Weak: the `weak_key` finding.
    Rsa1024,
    /// Damaged base64: the `csr_unreadable` finding.
    Corrupt,
}

impl Csr {
    pub fn pem(self) -> &'static str {
        match self {
            Csr::Rsa2048 => include_str!("csr/rsa2048.pem"),
            Csr::Rsa3072 => include_str!("csr/rsa3072.pem"),
            Csr::Rsa4096 => include_str!("csr/rsa4096.pem"),
            Csr::Ec256 => include_str!("csr/ec256.pem"),
            Csr::Ec384 => include_str!("csr/ec384.pem"),
            Csr::Rsa1024 => include_str!("csr/rsa1024.pem"),
            Csr::Corrupt => include_str!("csr/corrupt.pem"),
        }
    }

    pub fn key_size(self) -> u32 {
        match self {
            Csr::Rsa2048 | Csr::Corrupt => 2048,
            Csr::Rsa3072 => 3072,
            Csr::Rsa4096 => 4096,
            Csr::Ec256 => 256,
            Csr::Ec384 => 384,
            Csr::Rsa1024 => 1024,
        }
    }
}

/// A product of the SSL group.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    pub name_id: &'static str,
    pub name: &'static str,
}

/// The products orders are drawn from (and that `POST` accepts).
pub const PRODUCTS: [Product; 7] = [
    Product {
        name_id: "ssl_plus",
        name: "Standard SSL",
    },
    Product {
        name_id: "ssl_multi_domain",
        name: "Multi-Domain SSL",
    },
    Product {
        name_id: "ssl_wildcard",
        name: "WildCard",
    },
    Product {
        name_id: "ssl_ev_plus",
        name: "EV SSL",
    },
    Product {
        name_id: "ssl_ev_multi_domain",
        name: "EV Multi-Domain SSL",
    },
    Product {
        name_id: "ssl_cloud_wildcard",
        name: "Cloud Wildcard SSL",
    },
    Product {
        name_id: "ssl_securesite_pro",
        name: "Secure Site Pro SSL",
    },
];

/// Containers, with the awkward names real accounts have.
const CONTAINERS: [&str; 5] = [
    "Web Platform",
    "Payments, EU",
    "Müller, \"Nord\" GmbH",
    "Café\\Prod",
    "東京 Operations",
];

/// Organizations, likewise.
const ORGANIZATIONS: [&str; 4] = [
    "Example Corp",
    "Müller, \"Nord\" GmbH",
    "Société Générale d'Exemple",
    "Back\\slash & Co",
];

/// A request on an order (as the details list them).
#[derive(Debug, Clone, Serialize)]
pub struct SimRequest {
    pub id: u64,
    pub date: DateTime<Utc>,
    pub kind: &'static str,
    pub status: &'static str,
}

/// A certificate of an order's reissue list.
#[derive(Debug, Clone, Serialize)]
pub struct SimCertificate {
    pub id: u64,
    pub status: &'static str,
    pub date_created: DateTime<Utc>,
    pub date_issued: Option<DateTime<Utc>>,
    pub valid_till: Option<NaiveDate>,
    pub archived: bool,
}

/// One order with everything any endpoint says about it.
#[derive(Debug, Clone, Serialize)]
pub struct SimOrder {
    pub id: u64,
    pub status: String,
    pub date_created: NaiveDateTime,
    pub container_id: u64,
    pub container: String,
    pub organization_id: u64,
    pub organization: String,
    pub common_name: String,
    pub dns_names: Vec<String>,
    pub product: &'static str,
    pub product_name: &'static str,
    pub validity_years: u32,
    pub signature_hash: String,
    pub csr: Csr,
    pub valid_from: Option<NaiveDate>,
    /// The expiry the report shows (the order's first certificate).
    pub report_valid_till: Option<NaiveDate>,
    pub certificate_id: Option<u64>,
    pub thumbprint: String,
    pub serial_number: String,
    pub is_renewed: bool,
    pub renewed_order_id: Option<u64>,
    pub auto_renew: bool,
    pub auto_reissue: bool,
    pub has_duplicates: bool,
    pub disable_renewal_notifications: bool,
    pub is_out_of_contract: bool,
    pub disable_ct: bool,
    pub multi_year_plan: bool,
    pub order_valid_till: Option<NaiveDate>,
    pub custom_renewal_message: String,
    pub requests: Vec<SimRequest>,
    /// Reissued certificates; the latest issued, non-archived one is active.
    pub reissues: Vec<SimCertificate>,
    pub cost: u32,
}

impl SimOrder {
    /// The expiry of the active certificate: the latest issued,
    /// non-archived reissue, else the report's.
    pub fn valid_till(&self) -> Option<NaiveDate> {
        self.reissues
            .iter()
            .filter(|c| c.status == "issued" && !c.archived)
            .max_by_key(|c| (c.date_issued, c.id))
            .and_then(|c| c.valid_till)
            .or(self.report_valid_till)
    }

    pub fn in_use(&self) -> bool {
        matches!(self.status.as_str(), "issued" | "reissue_pending")
    }
}

/// An order of a subaccount.
#[derive(Debug, Clone, Serialize)]
pub struct SimSubaccountOrder {
    pub id: u64,
    pub subaccount_id: u64,
    pub subaccount_organization: &'static str,
    pub status: &'static str,
    pub product: &'static str,
    pub common_name: String,
    pub valid_till: Option<NaiveDate>,
    pub cost: u32,
    pub currency: &'static str,
    /// Reissue costs in another currency.
    pub extra_prices: Vec<(f64, &'static str)>,
    /// Only immediate subaccounts' orders carry a certificate object.
    pub immediate: bool,
}

/// Everything the simulated account holds.
#[derive(Debug, Clone)]
pub struct World {
    pub today: NaiveDate,
    pub orders: Vec<SimOrder>,
    pub subaccount_orders: Vec<SimSubaccountOrder>,
    pub next_order_id: u64,
    pub next_certificate_id: u64,
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(hour, 17, 42).unwrap_or(NaiveTime::MIN))
        .and_utc()
}

/// The longest validity allowed for a certificate issued on `day`, so that
/// ordinary orders stay within the CA/Browser Forum baseline.
pub(super) fn baseline_days(day: NaiveDate) -> i64 {
    let step = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
    if day >= step(2029, 3, 15) {
        47
    } else if day >= step(2027, 3, 15) {
        100
    } else if day >= step(2026, 3, 15) {
        200
    } else {
        398
    }
}

/// Orders `0..SCENARIOS` are fixed scenarios, one per thing the exporter
/// must see; the rest are drawn at random.
const SCENARIOS: usize = 22;

impl World {
    /// The fleet for `orders` orders from `seed`, relative to `today`.
    pub fn generate(orders: usize, seed: u64, today: NaiveDate) -> World {
        let mut rng = fastrand::Rng::with_seed(seed);
        let first_id = 100_000 + rng.u64(0..1000) * 10;
        let mut world = World {
            today,
            orders: Vec::with_capacity(orders),
            subaccount_orders: Vec::new(),
            next_order_id: first_id,
            next_certificate_id: 5_000_000,
        };
        for index in 0..orders {
            let order = world.new_order(&mut rng, index, orders);
            world.orders.push(order);
        }
        world.link_renewals(orders);
        world.subaccount_orders = world.subaccounts(&mut rng);
        world
    }

    fn next_certificate(&mut self) -> u64 {
        self.next_certificate_id += 1;
        self.next_certificate_id
    }

    fn new_order(&mut self, rng: &mut fastrand::Rng, index: usize, total: usize) -> SimOrder {
        let today = self.today;
        let id = self.next_order_id;
        self.next_order_id += 1 + rng.u64(0..3);
        let product = PRODUCTS[rng.usize(0..PRODUCTS.len())];
        let container_index = rng.usize(0..CONTAINERS.len());
        let organization_index = rng.usize(0..ORGANIZATIONS.len());
        let host = format!("host{index}");
        let domain = ["example.com", "example.org", "exemple.fr", "beispiel.de"][rng.usize(0..4)];
        let common_name = if product.name_id.contains("wildcard") {
            format!("*.{host}.{domain}")
        } else {
            format!("{host}.{domain}")
        };
        let status = match rng.u32(0..100) {
            0..=59 => "issued",
            60..=69 => "expired",
            70..=74 => "pending",
            75..=79 => "needs_approval",
            80..=84 => "canceled",
            85..=88 => "rejected",
            89..=92 => "revoked",
            93..=96 => "reissue_pending",
            _ => "processing",
        };
        let csr = [
            Csr::Rsa2048,
            Csr::Rsa2048,
            Csr::Rsa3072,
            Csr::Rsa4096,
            Csr::Ec256,
            Csr::Ec384,
        ][rng.usize(0..6)];
        let days_out = match status {
            "issued" | "reissue_pending" | "revoked" => rng.i64(1..730),
            "expired" => -rng.i64(1..400),
            _ => 0,
        };
        let mut order = SimOrder {
            id,
            status: status.to_owned(),
            date_created: at(today - Duration::days(rng.i64(30..900)), 9).naive_utc(),
            container_id: 1000 + container_index as u64,
            container: CONTAINERS[container_index].to_owned(),
            organization_id: 2000 + organization_index as u64,
            organization: ORGANIZATIONS[organization_index].to_owned(),
            dns_names: vec![common_name.clone(), format!("www.{host}.{domain}")],
            common_name,
            product: product.name_id,
            product_name: product.name,
            validity_years: 1,
            signature_hash: if rng.u32(0..10) == 0 {
                "sha384"
            } else {
                "sha256"
            }
            .to_owned(),
            csr,
            valid_from: None,
            report_valid_till: None,
            certificate_id: None,
            thumbprint: String::new(),
            serial_number: String::new(),
            is_renewed: false,
            renewed_order_id: None,
            auto_renew: rng.bool(),
            auto_reissue: false,
            has_duplicates: rng.u32(0..25) == 0,
            disable_renewal_notifications: false,
            is_out_of_contract: false,
            disable_ct: false,
            multi_year_plan: false,
            order_valid_till: None,
            custom_renewal_message: if rng.u32(0..8) == 0 {
                "Renew soon, please.\nCall the \"web\" team, ext. 42".to_owned()
            } else {
                String::new()
            },
            requests: Vec::new(),
            reissues: Vec::new(),
            cost: 100 + rng.u32(0..900),
        };
        if days_out != 0 {
            self.issue(&mut order, today + Duration::days(days_out));
        }
        order.requests.push(SimRequest {
            id: id * 10,
            date: at(order.date_created.date(), 10),
            kind: "new_request",
            status: if matches!(status, "pending" | "needs_approval") {
                "pending"
            } else {
                "approved"
            },
        });
        if status == "needs_approval" {
            // Some wait a day, some far too long.
            let waited = if rng.bool() { 1 } else { 10 };
            order.requests[0].date = at(today - Duration::days(waited), 8);
        }
        if total >= SCENARIOS && index < SCENARIOS {
            self.scenario(&mut order, index);
        }
        order
    }

    /// Gives an order an issued certificate expiring on `till`.
    pub fn issue(&mut self, order: &mut SimOrder, till: NaiveDate) {
        let mut from = till - Duration::days(397);
        let allowed = baseline_days(from);
        if allowed < 398 {
            from = till - Duration::days(allowed - 1);
            // A shorter step may apply to the later start date.
            from = till - Duration::days(baseline_days(from).min(allowed) - 1);
        }
        order.valid_from = Some(from);
        order.report_valid_till = Some(till);
        let certificate = self.next_certificate();
        order.certificate_id = Some(certificate);
        order.thumbprint = format!(
            "{:040X}",
            u128::from(certificate) * 7_919 + u128::from(order.id)
        );
        order.serial_number = format!("{:032X}", u128::from(certificate) * 104_729);
    }

    /// The fixed scenarios: at least one order for every finding, every
    /// expiry the alerts care about, and renewal and reissue chains.
    fn scenario(&mut self, order: &mut SimOrder, index: usize) {
        let today = self.today;
        let issued = |order: &mut SimOrder, days: i64, world: &mut World| {
            order.status = "issued".to_owned();
            world.issue(order, today + Duration::days(days));
        };
        order.has_duplicates = false;
        order.auto_renew = false;
        order.signature_hash = "sha256".to_owned();
        order.csr = Csr::Rsa2048;
        order.requests.truncate(1);
        if let Some(request) = order.requests.first_mut() {
            request.status = "approved";
        }
        match index {
            0 => issued(order, 0, self),  // due today
            1 => issued(order, 1, self),  // tomorrow
            2 => issued(order, 5, self),  // within 7 days
            3 => issued(order, 20, self), // within 30 days, auto-renew off
            4 => {
                issued(order, 21, self); // within 30 days, auto-renew on
                order.auto_renew = true;
            }
            5 => {
                order.status = "expired".to_owned(); // expired, not renewed
                self.issue(order, today - Duration::days(10));
            }
            6 => {
                issued(order, 12, self); // renewed by order 7
                order.is_renewed = true;
            }
            7 => issued(order, 380, self), // renewal of order 6 (linked later)
            8 => {
                issued(order, 150, self);
                order.has_duplicates = true;
            }
            9 => {
                issued(order, 160, self);
                order.signature_hash = "sha1".to_owned();
            }
            10 => {
                issued(order, 170, self);
                order.csr = Csr::Rsa1024;
            }
            11 => {
                issued(order, 180, self);
                order.csr = Csr::Corrupt;
            }
            12 => {
                issued(order, 190, self); // two years: past the baseline
                order.valid_from = order.report_valid_till.map(|t| t - Duration::days(730));
                order.validity_years = 2;
            }
            13 => {
                issued(order, 200, self);
                order.disable_renewal_notifications = true;
            }
            14 => {
                issued(order, 210, self);
                order.is_out_of_contract = true;
            }
            15 => {
                issued(order, 220, self);
                order.disable_ct = true;
            }
            16 => {
                order.status = "needs_approval".to_owned(); // waiting ten days
                order.requests[0].status = "pending";
                order.requests[0].date = at(today - Duration::days(10), 8);
            }
            17 => {
                // A Multi-year Plan whose certificate was reissued: the
                // active certificate expires later than the report says.
                issued(order, 25, self);
                order.multi_year_plan = true;
                order.auto_reissue = true;
                order.auto_renew = true;
                order.order_valid_till = Some(today + Duration::days(700));
                self.add_reissue(order, today + Duration::days(340));
            }
            18 => {
                order.status = "reissue_pending".to_owned();
                self.issue(order, today + Duration::days(90));
                let id = self.next_certificate();
                order.reissues.push(SimCertificate {
                    id,
                    status: "pending",
                    date_created: at(today - Duration::days(1), 11),
                    date_issued: None,
                    valid_till: None,
                    archived: false,
                });
                order.requests.push(SimRequest {
                    id: order.id * 10 + 1,
                    date: at(today - Duration::days(1), 11),
                    kind: "reissue",
                    status: "submitted",
                });
            }
            19 => order.status = "canceled".to_owned(),
            20 => order.status = "rejected".to_owned(),
            _ => {
                order.status = "pending".to_owned();
                order.requests[0].status = "pending";
                order.requests[0].date = at(today, 0);
            }
        }
    }

    /// Reissues an order's certificate: a new issued certificate expiring on
    /// `till`, the old one archived; the report row shows the new
    /// certificate's id, thumbprint and serial (its expiry stays the order's).
    pub fn add_reissue(&mut self, order: &mut SimOrder, till: NaiveDate) {
        let today = self.today;
        if order.reissues.is_empty()
            && let Some(previous) = order.certificate_id
        {
            order.reissues.push(SimCertificate {
                id: previous,
                status: "issued",
                date_created: at(order.date_created.date(), 10),
                date_issued: Some(at(order.date_created.date(), 11)),
                valid_till: order.report_valid_till,
                archived: true,
            });
        }
        for old in &mut order.reissues {
            old.archived = true;
        }
        let id = self.next_certificate();
        let count = order.reissues.len() as i64;
        order.reissues.push(SimCertificate {
            id,
            status: "issued",
            date_created: at(today, 1) + Duration::minutes(count),
            date_issued: Some(at(today, 2) + Duration::minutes(count)),
            valid_till: Some(till),
            archived: false,
        });
        order.requests.push(SimRequest {
            id: order.id * 10 + 2 + count as u64,
            date: at(today, 1),
            kind: "reissue",
            status: "approved",
        });
        order.certificate_id = Some(id);
        order.thumbprint = format!("{:040X}", u128::from(id) * 7_919 + u128::from(order.id));
        order.serial_number = format!("{:032X}", u128::from(id) * 104_729);
    }

    /// Renewal chains: scenario 7 renews scenario 6, and one in fifty of
    /// the other orders renews an earlier expired or issued one.
    fn link_renewals(&mut self, total: usize) {
        if total >= SCENARIOS {
            self.orders[7].renewed_order_id = Some(self.orders[6].id);
        }
        for i in (SCENARIOS.min(total)..self.orders.len())
            .step_by(50)
            .skip(1)
        {
            let old = i - 7;
            if old >= SCENARIOS
                && self.orders[i].status == "issued"
                && self.orders[old].status == "expired"
            {
                self.orders[i].renewed_order_id = Some(self.orders[old].id);
                self.orders[old].is_renewed = true;
            }
        }
    }

    /// Subaccount orders: three subaccounts, some orders also in the main
    /// report (the docs allow both to list one order).
    fn subaccounts(&mut self, rng: &mut fastrand::Rng) -> Vec<SimSubaccountOrder> {
        let subaccounts = [
            (123_445_u64, "Sub account organization", true),
            (123_446, "Filiale Zürich AG", true),
            (123_447, "Reseller, \"West\"", false),
        ];
        let count = (self.orders.len() / 10).clamp(3, 5000);
        let mut list = Vec::with_capacity(count);
        for i in 0..count {
            let (subaccount_id, organization, immediate) = subaccounts[i % subaccounts.len()];
            let shared = i % 7 == 3 && i < self.orders.len();
            let id = if shared {
                self.orders[i].id
            } else {
                self.next_order_id + 500_000 + i as u64
            };
            let status = ["issued", "issued", "issued", "pending", "expired"][rng.usize(0..5)];
            let valid_till = matches!(status, "issued" | "expired").then(|| {
                let days = if status == "issued" {
                    rng.i64(1..700)
                } else {
                    -rng.i64(1..300)
                };
                self.today + Duration::days(days)
            });
            list.push(SimSubaccountOrder {
                id,
                subaccount_id,
                subaccount_organization: organization,
                status,
                product: PRODUCTS[rng.usize(0..3)].name_id,
                common_name: format!("sub{i}.example.net"),
                valid_till,
                cost: 150 + rng.u32(0..400),
                currency: "USD",
                extra_prices: if i % 11 == 5 {
                    vec![(49.5, "EUR")]
                } else {
                    Vec::new()
                },
                immediate,
            });
        }
        list
    }

    /// Whether a newer order names this one as the order it renews.
    pub fn renewed(&self, order: &SimOrder) -> bool {
        order.is_renewed
            || self
                .orders
                .iter()
                .any(|o| o.renewed_order_id == Some(order.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn a_seed_gives_the_same_fleet() {
        let a = World::generate(500, 7, today());
        let b = World::generate(500, 7, today());
        let c = World::generate(500, 8, today());
        let ids = |w: &World| {
            w.orders
                .iter()
                .map(|o| (o.id, o.status.clone(), o.report_valid_till))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
    }

    #[test]
    fn every_status_and_the_scenarios_are_there() {
        let world = World::generate(300, 1, today());
        for status in [
            "issued",
            "expired",
            "pending",
            "needs_approval",
            "canceled",
            "rejected",
            "revoked",
            "reissue_pending",
        ] {
            assert!(world.orders.iter().any(|o| o.status == status), "{status}");
        }
        assert_eq!(world.orders[0].report_valid_till, Some(today()));
        assert_eq!(world.orders[7].renewed_order_id, Some(world.orders[6].id));
        assert!(world.renewed(&world.orders[6]));
        assert!(world.orders[17].valid_till() > world.orders[17].report_valid_till);
        let ids: std::collections::HashSet<u64> = world.orders.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), world.orders.len(), "ids are unique");
        assert!(
            world.subaccount_orders.iter().any(|s| ids.contains(&s.id)),
            "some subaccount orders are also in the report"
        );
    }

    #[test]
    fn ordinary_certificates_stay_within_the_baseline() {
        let world = World::generate(2000, 3, today());
        for order in world.orders.iter().skip(SCENARIOS) {
            if let (Some(from), Some(till)) = (order.valid_from, order.report_valid_till) {
                assert!(
                    (till - from).num_days() <= baseline_days(from),
                    "order {}",
                    order.id
                );
            }
        }
    }

    #[test]
    fn generation_is_fast_enough_for_a_million_orders() {
        let started = std::time::Instant::now();
        let world = World::generate(100_000, 1, today());
        assert_eq!(world.orders.len(), 100_000);
        println!("100,000 orders generated in {:?}", started.elapsed());
    }
}
