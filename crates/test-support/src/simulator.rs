//! `certcentral-exporter simulate`, and its control endpoints under
//! `/_simulator/` (the simulator's `control.rs` documents them) as typed
//! methods.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::process::Command;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::StatusCode;
use reqwest::blocking::{RequestBuilder, Response};
use serde::Serialize;
use serde_json::Value;

pub use certcentral_simulator::Faults;

use crate::process::{Binary, Process, free_port, http, poll_until};

/// The simulator on a free loopback port, stopped when dropped; its
/// control endpoints are its [`Controls`] (through `Deref`).
pub struct Simulator {
    /// The `simulate` process.
    pub process: Process,
    controls: Controls,
}

/// The API and the `/_simulator/` endpoints of a simulator: the one a
/// [`Simulator`] started, or one running elsewhere (the exporter's
/// `--demo` embeds one), with one typed method per control endpoint.
pub struct Controls {
    /// `http://HOST:PORT`, the root of the API and of `/_simulator/`.
    pub base: String,
    client: reqwest::blocking::Client,
}

impl Deref for Simulator {
    type Target = Controls;

    fn deref(&self) -> &Controls {
        &self.controls
    }
}

/// The body of a reissue (`POST /_simulator/orders/{id}/reissue`); the
/// default is a later expiry, shown in the report at once.
#[derive(Debug, Default, Serialize)]
pub struct Reissue {
    /// The new certificate's last day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till: Option<NaiveDate>,
    /// The report still shows the old certificate.
    pub report_lags: bool,
}

/// A change to an order (`POST /_simulator/orders/{id}/touch`): each field
/// given is set, the others kept.
#[derive(Debug, Default, Serialize)]
pub struct Change {
    /// A new status, as the report names it (`issued`, `revoked`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// New expiry of the certificate the report shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till: Option<NaiveDate>,
    /// Or move that expiry by this many days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_till_days: Option<i64>,
    /// Auto-renewal on or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_renew: Option<bool>,
    /// Auto-reissue on or off (Multi-year Plans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_reissue: Option<bool>,
    /// Whether the order has duplicate certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_duplicates: Option<bool>,
    /// Whether the order was renewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_renewed: Option<bool>,
    /// Renewal notices off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_renewal_notifications: Option<bool>,
    /// Out of contract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_out_of_contract: Option<bool>,
    /// CT logging off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_ct: Option<bool>,
    /// A new common name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
}

/// The value of `simulate --faults` for `faults`.
pub fn faults_flag(faults: &Faults) -> String {
    serde_json::to_string(faults).expect("a fault spec serializes")
}

impl Simulator {
    /// `simulate` with `orders` orders from `seed`, and `extra` flags of
    /// `simulate`; returns once it answers.
    pub fn start(bin: Binary, orders: usize, seed: u64, extra: &[&str]) -> Simulator {
        Simulator::spawn(bin.command(), orders, seed, extra)
    }

    /// `command` (the binary, with the global flags and environment the
    /// caller wants) with `simulate ...` appended; returns once it answers.
    pub fn spawn(mut command: Command, orders: usize, seed: u64, extra: &[&str]) -> Simulator {
        let listen = format!("127.0.0.1:{}", free_port());
        command
            .args(["simulate", "--listen", &listen])
            .args(["--orders", &orders.to_string(), "--seed", &seed.to_string()])
            .args(extra);
        let simulator = Simulator {
            process: Process::start(&format!("simulator-{orders}"), command),
            controls: Controls::at(&format!("http://{listen}")),
        };
        // Building a large fleet takes a while.
        let timeout = Duration::from_secs(60) + Duration::from_millis(orders as u64 / 2);
        poll_until(
            "the simulator to listen",
            timeout,
            Duration::from_millis(50),
            &[&simulator.process],
            || simulator.reachable().then_some(()),
        );
        simulator
    }
}

impl Controls {
    /// The simulator at `base` (`http://HOST:PORT`).
    pub fn at(base: &str) -> Controls {
        Controls {
            base: base.trim_end_matches('/').to_owned(),
            client: http(),
        }
    }

    /// Whether it answers on `/_simulator/` (`GET /_simulator/stats`).
    pub fn reachable(&self) -> bool {
        let answer = self.client.get(self.control("stats")).send();
        answer.is_ok_and(|r| r.status().is_success())
    }

    /// The API base URL to give the exporter.
    pub fn api_url(&self) -> String {
        format!("{}/services/v2", self.base)
    }

    fn control(&self, path: &str) -> String {
        format!("{}/_simulator/{path}", self.base)
    }

    /// Sends `request`; panics, with the answer, unless it is `expected`.
    fn call(&self, request: RequestBuilder, expected: StatusCode, what: &str) -> Response {
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("simulator, {what}: {e}"));
        let status = response.status();
        if status != expected {
            let body = response.text().unwrap_or_default();
            panic!("simulator, {what}: HTTP {status} (not {expected}): {body}");
        }
        response
    }

    fn json(&self, request: RequestBuilder, what: &str) -> Value {
        self.call(request, StatusCode::OK, what)
            .json()
            .unwrap_or_else(|e| panic!("simulator, {what}: not JSON: {e}"))
    }

    /// `GET /_simulator/endpoints`: the TLS scenario endpoints (what a
    /// probe of each should find, what each has seen) and the CA PEM.
    pub fn endpoints(&self) -> Value {
        self.json(self.client.get(self.control("endpoints")), "the endpoints")
    }

    /// `GET /_simulator/orders`: the truth about every order of the
    /// report, by ascending id.
    pub fn orders(&self) -> Vec<Value> {
        let truth = self.json(self.client.get(self.control("orders")), "the orders");
        serde_json::from_value(truth).expect("a list of orders")
    }

    /// `GET /_simulator/orders/{id}`: one order's truth, `None` if there
    /// is no such order.
    pub fn order(&self, id: u64) -> Option<Value> {
        let request = self.client.get(self.control(&format!("orders/{id}")));
        let response = request.send().expect("simulator, an order");
        match response.status() {
            StatusCode::NOT_FOUND => None,
            StatusCode::OK => Some(response.json().expect("simulator, an order: JSON")),
            status => panic!("simulator, order {id}: HTTP {status}"),
        }
    }

    /// `GET /_simulator/subaccount-orders`: the truth about every order of
    /// the subaccount listing.
    pub fn subaccount_orders(&self) -> Vec<Value> {
        let request = self.client.get(self.control("subaccount-orders"));
        let truth = self.json(request, "the subaccount orders");
        serde_json::from_value(truth).expect("a list of subaccount orders")
    }

    /// `DELETE /_simulator/orders/{id}`: the order leaves the account.
    pub fn remove_order(&self, id: u64) {
        let request = self.client.delete(self.control(&format!("orders/{id}")));
        self.call(request, StatusCode::NO_CONTENT, "remove an order");
    }

    /// `POST /_simulator/orders/{id}/reissue`: a new certificate; the
    /// answer names it (`certificate_id`, `thumbprint`, `valid_till`...).
    pub fn reissue(&self, id: u64, reissue: &Reissue) -> Value {
        let url = self.control(&format!("orders/{id}/reissue"));
        self.json(self.client.post(url).json(reissue), "reissue")
    }

    /// `POST /_simulator/orders/{id}/touch` without a body: the report
    /// row's expiry moves one day later; answers the order's new truth.
    pub fn touch(&self, id: u64) -> Value {
        let url = self.control(&format!("orders/{id}/touch"));
        self.json(self.client.post(url), "touch")
    }

    /// `POST /_simulator/orders/{id}/touch` with `change`; answers the
    /// order's new truth.
    pub fn change(&self, id: u64, change: &Change) -> Value {
        let url = self.control(&format!("orders/{id}/touch"));
        self.json(self.client.post(url).json(change), "change an order")
    }

    /// `GET /_simulator/stats`: requests served by endpoint and status,
    /// good answers by order, faults injected.
    pub fn stats(&self) -> Value {
        self.json(self.client.get(self.control("stats")), "stats")
    }

    /// `DELETE /_simulator/stats`: counting starts afresh.
    pub fn reset_stats(&self) {
        let request = self.client.delete(self.control("stats"));
        self.call(request, StatusCode::NO_CONTENT, "reset the stats");
    }

    /// `GET /_simulator/faults`: the fault mode in force.
    pub fn faults(&self) -> Value {
        self.json(self.client.get(self.control("faults")), "the faults")
    }

    /// `PUT /_simulator/faults`: replaces the fault mode
    /// (`Faults::default()` turns it off).
    pub fn set_faults(&self, faults: &Faults) {
        let request = self.client.put(self.control("faults")).json(faults);
        self.call(request, StatusCode::OK, "set the faults");
    }

    /// `GET /_simulator/info`: size, seed and day of the fleet.
    pub fn info(&self) -> Value {
        self.json(self.client.get(self.control("info")), "info")
    }

    /// `GET /_simulator/validations`: every domain record and organization
    /// with its expiry instants.
    pub fn validations(&self) -> Value {
        self.json(self.client.get(self.control("validations")), "validations")
    }

    /// `PUT /_simulator/validations`: whether the key may read the
    /// validation endpoints (else they answer 403); answers the permission
    /// now in force.
    pub fn set_validations_permitted(&self, permitted: bool) -> bool {
        let body = serde_json::json!({ "permitted": permitted });
        let request = self.client.put(self.control("validations")).json(&body);
        let answer = self.json(request, "set the validation permission");
        answer["permitted"].as_bool().expect("permitted: a boolean")
    }

    /// `PUT /_simulator/validations`: what the account's domain list
    /// shows (`all`, `empty`, or `foreign`: records that cover none of the
    /// orders' names); answers what is now in force.
    pub fn set_domains_shown(&self, shown: &str) -> String {
        let body = serde_json::json!({ "domains": shown });
        let request = self.client.put(self.control("validations")).json(&body);
        let answer = self.json(request, "set what the domain list shows");
        answer["domains"]
            .as_str()
            .expect("domains: a string")
            .to_owned()
    }

    /// Issued orders that could page on the report's date (0 to 29 days
    /// left), reissued with the report still showing the old certificate
    /// (`report_lags`), the new one valid 106 days more: the false page that
    /// the reissue list must prevent. Returns their ids and new expiries.
    pub fn reissue_urgent_orders(&self, most: usize) -> BTreeMap<u64, i64> {
        let till = chrono::Utc::now().date_naive() + chrono::Duration::days(106);
        let lagging = Reissue {
            valid_till: Some(till),
            report_lags: true,
        };
        let mut reissued = BTreeMap::new();
        for order in self.orders().iter().filter(|o| {
            o["status"] == "issued"
                && o["exported"] == true
                && o["actionable"] == true
                && o["days_remaining"]
                    .as_i64()
                    .is_some_and(|d| (0..30).contains(&d))
        }) {
            if reissued.len() == most {
                break;
            }
            let id = order["id"].as_u64().expect("id");
            let moved = self.reissue(id, &lagging);
            assert_eq!(moved["valid_till"], till.to_string());
            reissued.insert(id, 0);
        }
        for order in &self.orders() {
            if let Some(expiry) = reissued.get_mut(&order["id"].as_u64().unwrap_or(0)) {
                assert_ne!(
                    order["valid_till"], order["report_valid_till"],
                    "the report lags"
                );
                *expiry = order["expiry_timestamp"].as_i64().expect("expiry");
            }
        }
        assert!(!reissued.is_empty(), "the fleet has urgent orders");
        reissued
    }
}

/// The rules the simulator's truth says an order breaks (`expected_findings`
/// of `/_simulator/orders`), for comparing with the exporter's findings.
pub fn expected_findings(order: &Value) -> BTreeSet<String> {
    order["expected_findings"]
        .as_array()
        .expect("expected_findings is a list")
        .iter()
        .map(|rule| rule.as_str().expect("a rule name").to_owned())
        .collect()
}
