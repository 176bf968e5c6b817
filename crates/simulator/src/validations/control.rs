//! `/_simulator/validations`: every record with its expiry instants, and
//! the switch that takes the key's permission away.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DomainRecord, DomainsShown, OrganizationRecord, mountain_midnight};
use crate::Shared;

/// The truth about the validations, for tests: every record with its
/// expiry instants.
#[derive(Serialize)]
struct Truth<'a> {
    permitted: bool,
    domains: Vec<RecordTruth<'a>>,
    organizations: Vec<OrganizationTruth<'a>>,
    subaccount_domains: Vec<RecordTruth<'a>>,
}

#[derive(Serialize)]
struct RecordTruth<'a> {
    #[serde(flatten)]
    record: &'a DomainRecord,
    subaccount_id: Option<u64>,
    ov_expiry_timestamp: Option<i64>,
    ev_expiry_timestamp: Option<i64>,
}

#[derive(Serialize)]
struct OrganizationTruth<'a> {
    #[serde(flatten)]
    record: &'a OrganizationRecord,
    ov_expiry_timestamp: Option<i64>,
    ev_expiry_timestamp: Option<i64>,
}

fn record_truth(record: &DomainRecord, subaccount_id: Option<u64>) -> RecordTruth<'_> {
    RecordTruth {
        record,
        subaccount_id,
        ov_expiry_timestamp: record.ov_until.map(mountain_midnight),
        ev_expiry_timestamp: record.ev_until.map(mountain_midnight),
    }
}

/// `GET /_simulator/validations`: every domain record and organization
/// with its expiry instants.
pub(crate) async fn truth(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    let v = &world.validations;
    let truth = Truth {
        permitted: v.permitted,
        domains: v.domains.iter().map(|r| record_truth(r, None)).collect(),
        organizations: v
            .organizations
            .iter()
            .map(|record| OrganizationTruth {
                record,
                ov_expiry_timestamp: record.ov_until.map(mountain_midnight),
                ev_expiry_timestamp: record.ev_until.map(mountain_midnight),
            })
            .collect(),
        subaccount_domains: v
            .subaccount_domains
            .iter()
            .flat_map(|(id, records)| records.iter().map(|r| record_truth(r, Some(*id))))
            .collect(),
    };
    Json(truth).into_response()
}

/// A change to the validations: `{"permitted": false}` makes the three
/// endpoints answer 403; `{"domains": "empty"}` (or `"foreign"`, `"all"`)
/// sets what the account's domain list shows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidationsChange {
    permitted: Option<bool>,
    domains: Option<DomainsShown>,
}

/// `PUT /_simulator/validations`.
pub(crate) async fn change(
    State(shared): State<Arc<Shared>>,
    Json(change): Json<ValidationsChange>,
) -> Response {
    let mut world = shared.world_mut();
    if let Some(permitted) = change.permitted {
        world.validations.permitted = permitted;
    }
    if let Some(shown) = change.domains {
        world.validations.domains_shown = shown;
    }
    Json(json!({
        "permitted": world.validations.permitted,
        "domains": world.validations.domains_shown,
    }))
    .into_response()
}
