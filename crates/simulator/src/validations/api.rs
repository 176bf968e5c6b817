//! The three endpoints that list the validations: `GET /domain`,
//! `GET /organization` and `GET /account/subaccount/{id}/domain`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{
    DomainRecord, DomainsShown, MAX_VALIDATION_LIMIT, Validations, mountain_midnight, rfc3339,
};
use crate::Shared;
use crate::api::{self, paging, query};
use crate::catalog::{ORGANIZATIONS, SUBACCOUNTS};

/// The 403 of a key that may not read validations.
fn denied() -> Response {
    api::error(
        StatusCode::FORBIDDEN,
        "access_denied|missing_permission",
        "The API key does not have permission to perform this action.",
    )
}

/// The `validations[]` of a record, or of an organization.
fn validations_json(
    ov: Option<NaiveDate>,
    ev: Option<NaiveDate>,
    approved: Option<NaiveDate>,
) -> Value {
    let entry = |kind: &str, name: &str, description: &str, until: Option<NaiveDate>| {
        let mut v = json!({"type": kind, "name": name, "description": description});
        match until {
            Some(day) => {
                v["validated_until"] = json!(rfc3339(mountain_midnight(day)));
                v["status"] = json!("active");
                if let Some(approved) = approved {
                    v["date_created"] = json!(rfc3339(mountain_midnight(approved) + 57_600));
                }
            }
            None => v["status"] = json!("pending"),
        }
        v
    };
    let mut list = vec![entry("ov", "OV", "Normal Organization Validation", ov)];
    if ev.is_some() || approved.is_none() {
        list.push(entry(
            "ev",
            "EV",
            "Extended Organization Validation (EV)",
            ev,
        ));
    }
    Value::Array(list)
}

/// One domain as the lists write it.
fn domain_json(
    record: &DomainRecord,
    utc_times: bool,
    reuse_status: bool,
    with_validations: bool,
) -> Value {
    let org = &ORGANIZATIONS[usize::from(record.organization)];
    let day = |day: NaiveDate| {
        if utc_times {
            json!(rfc3339(mountain_midnight(day)))
        } else {
            json!(day.format("%Y-%m-%d").to_string())
        }
    };
    let approval = mountain_midnight(record.approved) + 57_600;
    let mut expiration = json!({});
    if let Some(ov) = record.ov_until {
        expiration["ov"] = day(ov);
    }
    if let Some(ev) = record.ev_until {
        expiration["ev"] = day(ev);
    }
    if reuse_status {
        expiration["ov_status"] = json!("valid");
        expiration["ev_status"] = json!(if record.ev_until.is_some() {
            "valid"
        } else {
            "not_validated"
        });
        expiration["dcv_approval_date"] = day(record.approved);
    }
    let mut v = json!({
        "id": record.id,
        "is_active": record.is_active,
        "name": record.name,
        "date_created": rfc3339(approval - 86_400 * 30),
        "dcv_approval_datetime": rfc3339(approval),
        "last_submitted_datetime": rfc3339(approval - 3_600),
        "organization": {"id": org.id, "status": "active", "name": org.name,
                         "display_name": format!("{} ({})", org.name, org.assumed_name), "is_active": "1"},
        "dcv_method": record.dcv_method,
        "dcv_expiration": expiration,
    });
    if with_validations {
        v["validations"] =
            validations_json(record.ov_until, record.ev_until, Some(record.approved));
    }
    v
}

/// A page of `items` with the paging envelope.
fn page(key: &str, items: Vec<Value>, total: usize, limit: usize, offset: usize) -> Response {
    Json(json!({key: items, "page": {"total": total, "limit": limit, "offset": offset}}))
        .into_response()
}

fn flag(query: &std::collections::HashMap<String, String>, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true") || v.trim() == "1")
}

/// What every validation list starts with: the query, its paging (capped at
/// the lists' page size; a bad value is a 400 first), then a 403 while the key
/// lacks permission.
fn list_request(
    raw: Option<String>,
    validations: &Validations,
) -> Result<(HashMap<String, String>, usize, usize), Box<Response>> {
    let query = query(raw);
    let (limit, offset) = paging(&query).map_err(|e| Box::new(e.into_response()))?;
    if !validations.permitted {
        return Err(Box::new(denied()));
    }
    Ok((query, limit.min(MAX_VALIDATION_LIMIT), offset))
}

/// `GET /domain?limit=&offset=&include_dcv_expiration_time=&filters[include_validation_reuse_status]=`.
pub(crate) async fn domains(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = shared.world();
    let validations = &world.validations;
    let (query, limit, offset) = match list_request(raw, validations) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let utc = flag(&query, "include_dcv_expiration_time");
    let reuse = flag(&query, "filters[include_validation_reuse_status]");
    let shown: Vec<DomainRecord> = match validations.domains_shown {
        DomainsShown::All => validations.domains.clone(),
        DomainsShown::Empty => Vec::new(),
        DomainsShown::Foreign => validations
            .domains
            .iter()
            .map(|r| DomainRecord {
                name: format!("unrelated{}.invalid", r.id),
                ..r.clone()
            })
            .collect(),
    };
    let items = shown
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| domain_json(r, utc, reuse, true))
        .collect();
    page("domains", items, shown.len(), limit, offset)
}

/// `GET /account/subaccount/{id}/domain`: bare Mountain Time dates always
/// (that page lists no UTC flag), `validations[]` on every other record.
pub(crate) async fn subaccount_domains(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = shared.world();
    let validations = &world.validations;
    let (query, limit, offset) = match list_request(raw, validations) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let Ok(id) = id.parse::<u64>() else {
        return api::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The subaccount was not found.",
        );
    };
    let Some((_, records)) = validations
        .subaccount_domains
        .iter()
        .find(|(s, _)| *s == id)
    else {
        if SUBACCOUNTS.iter().any(|s| s.id == id) {
            return denied();
        }
        return api::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The subaccount was not found.",
        );
    };
    let reuse = flag(&query, "filters[include_validation_reuse_status]");
    let items = records
        .iter()
        .enumerate()
        .skip(offset)
        .take(limit)
        .map(|(i, r)| domain_json(r, false, reuse, i % 2 == 1))
        .collect();
    page("domains", items, records.len(), limit, offset)
}

/// `GET /organization?include_validation=true&limit=&offset=`.
pub(crate) async fn organizations(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let world = shared.world();
    let validations = &world.validations;
    let (query, limit, offset) = match list_request(raw, validations) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let with_validations = flag(&query, "include_validation");
    let items = ORGANIZATIONS
        .iter()
        .zip(&validations.organizations)
        .skip(offset)
        .take(limit)
        .map(|(org, record)| {
            let mut v = json!({
                "id": org.id, "status": "active", "name": org.name,
                "assumed_name": org.assumed_name,
                "display_name": format!("{} ({})", org.name, org.assumed_name),
                "is_active": true, "address": org.address, "city": org.city,
                "state": org.state, "country": org.country,
            });
            if with_validations {
                v["validations"] = validations_json(record.ov_until, record.ev_until, None);
            }
            v
        })
        .collect();
    page("organizations", items, ORGANIZATIONS.len(), limit, offset)
}
