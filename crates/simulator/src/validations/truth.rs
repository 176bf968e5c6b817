//! Which validations each order's renewal needs, from the structure the
//! fleet was built from (host, domain and organization indexes), not from
//! comparing names as the exporter does.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DomainRecord, DomainsShown, generated_names, mountain_midnight};
use crate::catalog::DOMAINS;
use crate::fleet::{Order, World};

/// The most names of one order the exporter judges (the rest are the
/// finding `too_many_names`).
pub(crate) const MAX_NAMES: usize = 1000;

/// One validation a renewal needs, as the exporter should report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NeedTruth {
    /// `domain` or `organization`.
    pub(crate) scope: &'static str,
    /// `ov` or `ev`.
    pub(crate) kind: &'static str,
    pub(crate) id: u64,
    pub(crate) name: String,
    /// When it ends, Unix seconds; `None` when there is none to reuse.
    pub(crate) expiry_timestamp: Option<i64>,
}

/// What an order's renewal depends on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct OrderValidationTruth {
    /// Each validation needed once, domains first.
    pub(crate) needs: Vec<NeedTruth>,
    /// Names no active validation covers.
    pub(crate) uncovered_names: Vec<String>,
}

impl OrderValidationTruth {
    /// The dated need that ends first.
    pub(crate) fn earliest(&self) -> Option<&NeedTruth> {
        self.needs
            .iter()
            .filter(|n| n.expiry_timestamp.is_some())
            .min_by_key(|n| n.expiry_timestamp)
    }

    /// Whether a validation record the renewal at `renewal` (Unix
    /// seconds) needs ends by then: the evidence that it stalls (a need
    /// with no date is none).
    pub(crate) fn validation_ends_by(&self, renewal: i64) -> bool {
        self.needs
            .iter()
            .any(|n| n.expiry_timestamp.is_some_and(|end| end <= renewal))
    }
}

/// How a name stands to its order's generated host name `B`.
#[derive(Clone, Copy, PartialEq)]
enum Relation {
    /// `B` itself.
    Exact,
    /// `www.B`, `sanN.B`.
    Below,
    /// `*.B`.
    Wildcard,
}

/// What the renewal of `order` needs at `now` (nothing when the key may
/// not read the validations).
pub(crate) fn order_truth(
    world: &World,
    order: &Order,
    now: DateTime<Utc>,
) -> OrderValidationTruth {
    let validations = &world.validations;
    let mut truth = OrderValidationTruth::default();
    if !validations.permitted {
        return truth;
    }
    let kind = order.product().validation;
    let o = order.organization;
    let base = order.base_name();
    let generated = generated_names(order);
    // A domain list that shows nothing of the names: no conclusion.
    let names = match validations.domains_shown {
        DomainsShown::All => order.dns_names(),
        DomainsShown::Empty | DomainsShown::Foreign => Vec::new(),
    };
    for name in names.into_iter().take(MAX_NAMES) {
        // The records that may cover the name, nearest first.
        let candidates: Vec<&DomainRecord> = if generated {
            let relation = if name == base {
                Relation::Exact
            } else if name.starts_with("*.") {
                Relation::Wildcard
            } else {
                Relation::Below
            };
            let d = order.domain % DOMAINS.len() as u8;
            validations
                .domains
                .iter()
                .filter(|r| r.organization == o && r.domain == d && r.is_active)
                .filter(|r| match r.host {
                    Some(host) => {
                        host == order.host && (relation == Relation::Exact || !r.exact_only())
                    }
                    None => true,
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev() // subdomain records come after the base ones
                .collect()
        } else {
            // A name posted through the API: under which catalogue domain.
            let lower = name.trim_start_matches("*.").to_ascii_lowercase();
            validations
                .domains
                .iter()
                .filter(|r| r.organization == o && r.host.is_none() && r.is_active)
                .filter(|r| {
                    let domain = DOMAINS[usize::from(r.domain)];
                    lower == domain || lower.ends_with(&format!(".{domain}"))
                })
                .collect()
        };
        let chosen = candidates
            .iter()
            .find(|r| r.usable(kind, now))
            .map(|r| (r, true))
            .or_else(|| candidates.first().map(|r| (r, false)));
        if let Some((record, usable)) = chosen {
            push(
                &mut truth,
                NeedTruth {
                    scope: "domain",
                    kind,
                    id: record.id,
                    name: record.name.clone(),
                    expiry_timestamp: record.until(kind).map(mountain_midnight),
                },
            );
            if usable {
                continue;
            }
        }
        if !truth.uncovered_names.contains(&name) {
            truth.uncovered_names.push(name);
        }
    }
    let org = &validations.organizations[usize::from(o) % validations.organizations.len()];
    let until = if kind == "ev" {
        org.ev_until
    } else {
        org.ov_until
    };
    push(
        &mut truth,
        NeedTruth {
            scope: "organization",
            kind,
            id: org.id,
            name: org.name.to_owned(),
            expiry_timestamp: until.map(mountain_midnight),
        },
    );
    truth
}

fn push(truth: &mut OrderValidationTruth, need: NeedTruth) {
    if !truth
        .needs
        .iter()
        .any(|n| n.scope == need.scope && n.id == need.id)
    {
        truth.needs.push(need);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn the_account_has_every_kind_of_validation() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let world = World::generate(400, 1, today);
        let v = &world.validations;
        let now = today.and_hms_opt(12, 0, 0).unwrap().and_utc();
        let ends = |r: &DomainRecord| r.ov_until.map(|d| (d - today).num_days());
        assert!(
            v.domains.iter().any(|r| ends(r).is_some_and(|d| d < 0)),
            "expired"
        );
        assert!(
            v.domains
                .iter()
                .any(|r| ends(r).is_some_and(|d| (0..7).contains(&d))),
            "this week"
        );
        assert!(v.domains.iter().any(|r| r.host.is_some() && r.exact_only()));
        assert!(v.domains.iter().any(|r| r.name.contains('ü')));
        assert!(v.domains.iter().any(|r| !r.is_active));
        assert!(v.domains.iter().any(|r| r.ev_until.is_none()));
        let truths: Vec<OrderValidationTruth> = world
            .orders
            .iter()
            .map(|o| order_truth(&world, o, now))
            .collect();
        assert!(truths.iter().any(|t| !t.uncovered_names.is_empty()));
        assert!(truths.iter().any(|t| {
            t.needs.iter().any(|n| {
                n.scope == "domain" && v.domains.iter().any(|r| r.id == n.id && r.host.is_some())
            })
        }));
        assert!(
            truths
                .iter()
                .any(|t| t.needs.iter().any(|n| n.expiry_timestamp.is_none()))
        );
    }
}
