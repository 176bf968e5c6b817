//! Which targets `/probe` may connect to: by default only hosts that are
//! names on an in-use order of a polled account (exactly, or under one of
//! its wildcard names), so that nobody turns the exporter into a port
//! scanner; `--probe.allowed-targets` adds host names, `*.` patterns and
//! CIDR ranges. An IP literal is allowed only inside an allowed range.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::fleet::Fleet;

/// `--probe.allowed-targets`: names, `*.` patterns and CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedTargets {
    names: HashSet<String>,
    /// Parents under which any name is allowed (`*.example.com` is
    /// `example.com`).
    parents: HashSet<String>,
    ranges: Vec<(IpAddr, u8)>,
}

impl AllowedTargets {
    /// Parses the comma-separated flag value.
    pub fn parse(text: &str) -> Result<AllowedTargets, String> {
        let mut allowed = AllowedTargets::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(parent) = item.strip_prefix("*.") {
                allowed.parents.insert(host_key(parent)?);
            } else if let Some((ip, bits)) = item.split_once('/') {
                let ip: IpAddr = ip
                    .parse()
                    .map_err(|_| format!("'{item}' is not a CIDR range like 10.0.0.0/8"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits: u8 = bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("'{item}' has no prefix length from 0 to {max}"))?;
                allowed.ranges.push((ip, bits));
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                allowed
                    .ranges
                    .push((ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else {
                allowed.names.insert(host_key(item)?);
            }
        }
        Ok(allowed)
    }

    /// Whether `host` (a name or an IP literal) may be probed, given the
    /// names of the polled accounts' in-use orders.
    pub fn allows(&self, host: &str, orders: &OrderNames) -> bool {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
            return self
                .ranges
                .iter()
                .any(|(net, bits)| in_range(ip, *net, *bits));
        }
        let Ok(host) = host_key(host) else {
            return false;
        };
        let parent = host.split_once('.').map(|(_, p)| p);
        self.names.contains(&host)
            || orders.names.contains(&host)
            || parent.is_some_and(|p| self.parents.contains(p) || orders.wildcards.contains(p))
    }
}

/// The names on the in-use orders of the polled accounts.
#[derive(Debug, Default)]
pub struct OrderNames {
    /// Exact names (not wildcards), lower-case ASCII.
    pub(crate) names: HashSet<String>,
    /// The parents of wildcard names (`*.example.com` is `example.com`).
    pub(crate) wildcards: HashSet<String>,
}

impl OrderNames {
    /// Adds the names of `fleet`'s in-use orders (report and subaccount).
    pub fn add_fleet(&mut self, fleet: &Fleet) {
        let in_use = fleet.orders.iter().filter(|o| o.status().is_in_use());
        for order in in_use {
            let report = &order.report;
            for name in crate::coverage::order_names(&report.common_name, &report.dns_names) {
                self.add(name);
            }
        }
        for order in &fleet.subaccount_orders {
            self.add(&order.common_name);
        }
    }

    fn add(&mut self, name: &str) {
        match crate::coverage::normalize(name) {
            Some((parent, true)) => {
                self.wildcards.insert(parent.into_owned());
            }
            Some((name, false)) => {
                self.names.insert(name.into_owned());
            }
            None => {}
        }
    }
}

/// A target probed by its address (an IP literal and port) with a server
/// name of its own, allowed and discovered as it is: the demo's scenario
/// endpoints, which listen on loopback ports.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedTarget {
    /// `ADDRESS:PORT`.
    pub target: String,
    /// The server name (SNI) to ask for.
    pub server_name: String,
    /// Labels for the discovered target.
    pub labels: Vec<(String, String)>,
}

impl FixedTarget {
    /// Its service discovery group: the server name as the
    /// `__param_server_name` Prometheus passes to `/probe`.
    fn group(&self) -> serde_json::Value {
        let mut labels: serde_json::Map<String, serde_json::Value> = self
            .labels
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().into()))
            .collect();
        labels.insert(
            "__param_server_name".to_owned(),
            self.server_name.as_str().into(),
        );
        serde_json::json!({"targets": [self.target], "labels": labels})
    }
}

/// Prometheus HTTP service discovery (`/probe/targets`): the distinct
/// non-wildcard names of the accounts' in-use orders, each `NAME:443` in a
/// target group of its own, labelled with its `account` and, for
/// relabelling, the newest order that names it (`__meta_certcentral_order_id`,
/// `__meta_certcentral_container`, `__meta_certcentral_common_name`).
///
/// The fixed targets come after them, as they are.
pub fn discovery(
    states: &[std::sync::Arc<crate::board::AccountState>],
    fixed: &[FixedTarget],
) -> serde_json::Value {
    use std::collections::BTreeMap;
    let mut targets: BTreeMap<(String, String), serde_json::Value> = BTreeMap::new();
    for state in states {
        let Some(fleet) = &state.fleet else { continue };
        let in_use = fleet.orders.iter().filter(|o| o.status().is_in_use());
        // Oldest first, so that the newest order naming a host wins.
        for order in in_use {
            let report = &order.report;
            for name in crate::coverage::order_names(&report.common_name, &report.dns_names) {
                // Wildcards are not targets: host_key refuses them.
                let Ok(name) = host_key(name) else { continue };
                let labels = serde_json::json!({
                    "account": state.account,
                    "__meta_certcentral_order_id": order.id().to_string(),
                    "__meta_certcentral_container": &*report.container_name,
                    "__meta_certcentral_common_name": &*report.common_name,
                });
                targets.insert((state.account.clone(), name), labels);
            }
        }
    }
    serde_json::Value::Array(
        targets
            .into_iter()
            .map(|((_, name), labels)| {
                serde_json::json!({"targets": [format!("{name}:443")], "labels": labels})
            })
            .chain(fixed.iter().map(FixedTarget::group))
            .collect(),
    )
}

/// A host name as it is compared, as the coverage of names compares them
/// ([`crate::coverage::normalize`]: lower case, no trailing dot, IDNs in
/// their ASCII form); a wildcard, or anything but letters, digits, `-`,
/// `_` and dots, is not a host name.
fn host_key(name: &str) -> Result<String, String> {
    match crate::coverage::normalize(name) {
        Some((host, false))
            if host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
        {
            Ok(host.into_owned())
        }
        _ => Err(format!("'{}' is not a host name", name.trim())),
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders(names: &[&str]) -> OrderNames {
        let mut orders = OrderNames::default();
        for name in names {
            orders.add(name);
        }
        orders
    }

    #[test]
    fn only_order_names_and_the_flags_targets_are_allowed() {
        let orders = orders(&["shop.example.com", "*.api.example.com", "Bücher.example"]);
        let none = AllowedTargets::default();
        assert!(none.allows("shop.example.com", &orders));
        assert!(none.allows("SHOP.example.com.", &orders));
        assert!(none.allows("v1.api.example.com", &orders));
        assert!(
            !none.allows("a.v1.api.example.com", &orders),
            "one label only"
        );
        assert!(
            !none.allows("api.example.com", &orders),
            "not the wildcard's parent"
        );
        assert!(
            none.allows("xn--bcher-kva.example", &orders),
            "IDN in ASCII"
        );
        assert!(!none.allows("intranet.example.com", &orders));
        assert!(
            !none.allows("127.0.0.1", &orders),
            "no IP literal by default"
        );

        let flag =
            AllowedTargets::parse("127.0.0.1, *.lab.test, db.internal, 10.0.0.0/8, ::1").unwrap();
        assert!(flag.allows("127.0.0.1", &orders));
        assert!(flag.allows("10.200.3.4", &orders));
        assert!(!flag.allows("11.0.0.1", &orders));
        assert!(flag.allows("[::1]", &orders));
        assert!(flag.allows("x.lab.test", &orders));
        assert!(flag.allows("db.internal", &orders));
        assert!(!flag.allows("db2.internal", &orders));
        for bad in ["10.0.0.0/33", "x/8", "a b"] {
            assert!(AllowedTargets::parse(bad).is_err(), "{bad}");
        }
    }
}
