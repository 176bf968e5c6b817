//! The simulator over real HTTP: what a client of CertCentral meets (key
//! check, paging, gzip, the JSON shapes, rate limits, faults) and what
//! the controls change.

use std::io::Read;
use std::time::Duration;

use certcentral_simulator::{REPORT_COLUMNS as COLUMNS, SimulatorConfig, Window, spawn_local};
use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};

/// A CSR the simulator reads (one of those its fleet carries).
const CSR: &str = include_str!("../src/csr/rsa3072.pem");

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// A simulator of `orders` orders whose rate limit the tests do not meet
/// (except the test of the rate limit).
fn config(orders: usize) -> SimulatorConfig {
    let mut config = SimulatorConfig::new(orders, 11);
    config.today = Some(Utc::now().date_naive());
    config.rate_limit = vec![Window {
        limit: 1_000_000,
        period: Duration::from_secs(1),
    }];
    config
}

async fn start(config: SimulatorConfig) -> String {
    let addr = spawn_local(config).await.unwrap().address;
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_gzip()
        .build()
        .unwrap()
}

async fn get(base: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{base}/services/v2{path}"))
        .header("X-DC-DEVKEY", "test-key")
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn truth(base: &str) -> Vec<Value> {
    json_of(
        client()
            .get(format!("{base}/_simulator/orders"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

fn read_csv(text: &str) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), COLUMNS.to_vec());
    reader.records().map(Result::unwrap).collect()
}

fn column(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).unwrap()
}

async fn report(base: &str) -> Vec<csv::StringRecord> {
    let response = get(base, "/report/order?limit=1000").await;
    assert_eq!(response.status(), 200);
    read_csv(&response.text().await.unwrap())
}

/// Every page of the report, in order.
async fn whole_report(base: &str) -> Vec<csv::StringRecord> {
    let mut rows = Vec::new();
    loop {
        let path = format!("/report/order?limit=1000&offset={}", rows.len());
        let response = get(base, &path).await;
        assert_eq!(response.status(), 200);
        let page = read_csv(&response.text().await.unwrap());
        let last = page.len() < 1000;
        rows.extend(page);
        if last {
            return rows;
        }
    }
}

fn assert_error(body: &Value, code: &str) {
    let errors = body["errors"].as_array().expect("an errors list");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], code, "{body}");
    assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn the_key_is_checked_on_every_api_route_and_never_echoed() {
    let base = start(config(30)).await;
    for path in [
        "/report/order",
        "/order/certificate/1",
        "/order/certificate/1/reissue",
        "/account/subaccount/order",
    ] {
        let response = client()
            .get(format!("{base}/services/v2{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_error(&json_of(response).await, "invalid_api_key");
        let response = client()
            .get(format!("{base}/services/v2{path}"))
            .header("X-DC-DEVKEY", " ")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path} with an empty key");
    }
    let mut keyed = config(30);
    keyed.api_key = Some("s3cret-key".into());
    let base = start(keyed).await;
    let response = client()
        .get(format!("{base}/services/v2/report/order"))
        .header("X-DC-DEVKEY", "wrong-key-value")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let text = response.text().await.unwrap();
    assert!(!text.contains("wrong-key-value") && !text.contains("s3cret"));
    let response = client()
        .get(format!("{base}/services/v2/report/order"))
        .header("X-DC-DEVKEY", "s3cret-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let stats = json_of(
        client()
            .get(format!("{base}/_simulator/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["requests"]["report"]["401"], 1);
    assert_eq!(stats["requests"]["report"]["200"], 1);
}

#[tokio::test]
async fn the_report_pages_and_validates_limit_and_offset() {
    let base = start(config(1_500)).await;
    let response = get(&base, "/report/order").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let first = read_csv(&response.text().await.unwrap());
    assert_eq!(first.len(), 1000, "limit defaults to 1000");
    let second = read_csv(
        &get(&base, "/report/order?limit=1000&offset=1000")
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(second.len(), 500);
    let mut ids: Vec<u64> = first
        .iter()
        .chain(&second)
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    ids.dedup();
    assert_eq!(ids.len(), 1500);
    let past = get(&base, "/report/order?offset=1500")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        past,
        format!("{}\n", COLUMNS.join(",")),
        "past the end: only the header"
    );
    for (query, code) in [
        ("limit=0", "invalid_limit"),
        ("limit=1001", "invalid_limit"),
        ("limit=-1", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("offset=-5", "invalid_offset"),
        ("offset=1.5", "invalid_offset"),
    ] {
        let response = get(&base, &format!("/report/order?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_error(&json_of(response).await, code);
    }
}

#[tokio::test]
async fn gzip_when_asked_for() {
    let base = start(config(100)).await;
    let plain = get(&base, "/report/order").await.text().await.unwrap();
    let response = client()
        .get(format!("{base}/services/v2/report/order"))
        .header("X-DC-DEVKEY", "k")
        .header("Accept-Encoding", "gzip, deflate")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.unwrap();
    assert!(compressed.len() * 4 < plain.len());
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, plain);
    let response = client()
        .get(format!("{base}/services/v2/report/order"))
        .header("X-DC-DEVKEY", "k")
        .header("Accept-Encoding", "gzip;q=0, identity")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn details_and_reissues_agree_with_the_report_and_the_truth() {
    let base = start(config(80)).await;
    let rows = report(&base).await;
    let truths = truth(&base).await;
    for row in &rows {
        let id = &row[0];
        let info = json_of(get(&base, &format!("/order/certificate/{id}")).await).await;
        let t = truths
            .iter()
            .find(|t| t["id"].as_u64() == id.parse().ok())
            .unwrap();
        assert_eq!(info["id"].to_string(), *id);
        assert_eq!(info["status"], row[column("status")]);
        assert_eq!(info["status"], t["status"]);
        assert_eq!(info["product"]["name_id"], row[column("product_name_id")]);
        assert_eq!(info["container"]["name"], row[column("container_name")]);
        assert_eq!(
            info["organization"]["name"],
            row[column("organization_name")]
        );
        assert_eq!(
            info["certificate"]["common_name"],
            row[column("common_name")]
        );
        assert_eq!(info["auto_renew"].to_string(), row[column("auto_renew")]);
        assert_eq!(info["certificate"]["valid_till"], t["valid_till"]);
        assert_eq!(
            t["report_valid_till"].as_str().unwrap_or(""),
            &row[column("valid_till")]
        );
        assert_eq!(info["is_renewed"], t["renewed"]);
        assert_eq!(info["was_renewed_by_order_id"], t["renewed_by_order_id"]);
        if row[column("renewed_order_id")].len() > 1 {
            assert_eq!(
                info["renewed_order_id"].to_string(),
                row[column("renewed_order_id")]
            );
        }
        if t["multi_year_plan"] == true {
            assert_eq!(info["is_multi_year_plan"], "1");
            assert_eq!(info["order_valid_till"], t["order_valid_till"]);
        }
        let pending = info["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "pending" || r["status"] == "submitted")
            .count();
        assert_eq!(json!(pending), t["pending_requests"]);
        // The active certificate: latest issued, not archived.
        let list = json_of(get(&base, &format!("/order/certificate/{id}/reissue")).await).await;
        let certificates = list["certificates"].as_array().unwrap();
        assert!(certificates.iter().all(|c| c["archived"] == 0));
        let active = certificates
            .iter()
            .filter(|c| c["status"] == "issued")
            .max_by_key(|c| {
                (
                    c["date_issued"].as_str().unwrap().to_owned(),
                    c["id"].as_u64(),
                )
            });
        assert_eq!(
            active
                .map(|c| c["valid_till"].clone())
                .unwrap_or(Value::Null),
            t["valid_till"],
            "order {id}"
        );
        let all = json_of(
            get(
                &base,
                &format!("/order/certificate/{id}/reissue?show_archived=true"),
            )
            .await,
        )
        .await;
        assert!(all["certificates"].as_array().unwrap().len() >= certificates.len());
    }
    assert!(
        truths
            .iter()
            .any(|t| t["valid_till"] != t["report_valid_till"] && t["in_report"] == true),
        "some report row lags behind a reissue"
    );
    let response = get(&base, "/order/certificate/999").await;
    assert_eq!(response.status(), 404);
    assert_error(&json_of(response).await, "not_found");
    let response = get(&base, "/order/certificate/999/reissue").await;
    assert_eq!(response.status(), 404);
    // By thumbprint and serial number.
    let issued = rows
        .iter()
        .find(|r| r[column("status")] == *"issued")
        .unwrap();
    for key in [column("thumbprint"), column("serial_number")] {
        let info = json_of(get(&base, &format!("/order/certificate/{}", &issued[key])).await).await;
        assert_eq!(info["id"].to_string(), issued[0]);
    }
}

#[tokio::test]
async fn the_subaccount_listing_pages_and_overlaps_the_report() {
    // Enough orders that some in both lists show the same certificate on
    // any day (about 1 in 65 of them is in both).
    let base = start(config(3000)).await;
    let rows = whole_report(&base).await;
    let report_ids: Vec<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    let page = json_of(get(&base, "/account/subaccount/order?limit=15").await).await;
    let total = page["page"]["total"].as_u64().unwrap();
    assert_eq!(page["page"]["limit"], 15);
    assert_eq!(page["orders"].as_array().unwrap().len(), 15);
    let all = json_of(get(&base, "/account/subaccount/order").await).await;
    let orders = all["orders"].as_array().unwrap();
    assert_eq!(orders.len() as u64, total);
    assert!(
        orders
            .iter()
            .any(|o| report_ids.contains(&o["id"].to_string())),
        "some also in the report"
    );
    assert!(
        orders
            .iter()
            .any(|o| o["order_prices"][0]["currency"] == "EUR")
    );
    assert!(orders.iter().all(|o| o["order_price"]["currency"] == "USD"));
    assert!(
        orders
            .iter()
            .any(|o| o["certificate"]["valid_till"].is_string())
    );
    assert!(
        orders.iter().any(|o| o.get("certificate").is_none()),
        "sub-subaccount orders have no certificate"
    );
    let ids: std::collections::BTreeSet<u64> = orders
        .iter()
        .map(|o| o["subaccount"]["account_id"].as_u64().unwrap())
        .collect();
    assert!(ids.len() >= 3);
    // An order in both lists says the same in both, but for the expiry
    // while the report lags behind a reissue: the listing shows the active
    // certificate's, the report row the one it still shows (the truth's
    // `report_valid_till`). Which orders lag depends on the day the fleet is
    // built around.
    let truths = truth(&base).await;
    let mut compared = 0;
    for order in orders
        .iter()
        .filter(|o| report_ids.contains(&o["id"].to_string()))
    {
        let row = rows
            .iter()
            .find(|r| order["id"].as_u64() == r[0].parse().ok())
            .unwrap();
        assert_eq!(order["status"], row[column("status")]);
        assert_eq!(order["product"]["name_id"], row[column("product_name_id")]);
        if let Some(till) = order["certificate"]["valid_till"].as_str() {
            let truth = truths.iter().find(|t| t["id"] == order["id"]).unwrap();
            assert_eq!(till, truth["valid_till"], "the active certificate's");
            if truth["report_valid_till"] == truth["valid_till"] {
                assert_eq!(till, &row[column("valid_till")]);
                compared += 1;
            }
        }
    }
    assert!(compared > 0, "no expiry compared with the report");
    let past =
        json_of(get(&base, &format!("/account/subaccount/order?offset={total}")).await).await;
    assert!(past["orders"].as_array().unwrap().is_empty());
    let response = get(&base, "/account/subaccount/order?limit=2000").await;
    assert_eq!(response.status(), 400);
    // The truth of the listing: what the exporter can know of each order.
    assert_eq!(truths.len(), rows.len(), "the report's orders");
    let subs = json_of(
        client()
            .get(format!("{base}/_simulator/subaccount-orders"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let subs = subs.as_array().unwrap();
    assert_eq!(subs.len() as u64, total);
    for (sub, listed) in subs.iter().zip(orders) {
        assert_eq!(sub["id"], listed["id"]);
        assert_eq!(sub["subaccount_id"], listed["subaccount"]["account_id"]);
        assert_eq!(sub["valid_till"], listed["certificate"]["valid_till"]);
        assert_eq!(
            sub["in_report"],
            json!(report_ids.contains(&listed["id"].to_string()))
        );
    }
}

async fn post(base: &str, product: &str, body: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/services/v2/order/certificate/{product}"))
        .header("X-DC-DEVKEY", "k")
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

fn order_body(change: impl FnOnce(&mut Value)) -> String {
    let mut body = json!({
        "certificate": {
            "common_name": "new.example.com",
            "dns_names": ["www.new.example.com"],
            "csr": CSR,
            "signature_hash": "sha256",
            "server_platform": {"id": 45},
        },
        "validity_years": 1,
        "payment_method": "balance",
        "organization": {"id": 221_133},
    });
    change(&mut body);
    body.to_string()
}

#[tokio::test]
async fn orders_are_validated_as_documented_and_appear_in_the_report() {
    let base = start(config(30)).await;
    let far = (Utc::now().date_naive() + chrono::Duration::days(825)).to_string();
    let near = (Utc::now().date_naive() + chrono::Duration::days(300)).to_string();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "ssl_plus",
            order_body(|b| {
                b["certificate"]
                    .as_object_mut()
                    .unwrap()
                    .remove("common_name")
                    .map(drop)
                    .unwrap_or(())
            }),
            400,
            "missing_param",
        ),
        (
            "ssl_plus",
            order_body(|b| {
                b["certificate"]
                    .as_object_mut()
                    .unwrap()
                    .remove("csr")
                    .map(drop)
                    .unwrap_or(())
            }),
            400,
            "missing_param",
        ),
        (
            "ssl_plus",
            order_body(|b| b["certificate"]["signature_hash"] = json!("sha1")),
            400,
            "invalid_signature_hash",
        ),
        (
            "ssl_plus",
            order_body(|b| b["certificate"]["signature_hash"] = json!("sha384")),
            400,
            "invalid_signature_hash",
        ),
        (
            "ssl_plus",
            order_body(|b| b["validity_years"] = json!(3)),
            400,
            "invalid_validity_years",
        ),
        (
            "ssl_plus",
            order_body(|b| b["validity_years"] = json!("1")),
            400,
            "invalid_validity_years",
        ),
        (
            "ssl_plus",
            order_body(|b| b["custom_expiration_date"] = json!(far)),
            400,
            "invalid_custom_expiration_date",
        ),
        (
            "ssl_plus",
            order_body(|b| b["custom_expiration_date"] = json!("2026-13-01")),
            400,
            "invalid_custom_expiration_date",
        ),
        (
            "ssl_plus",
            order_body(|b| b["payment_method"] = json!("bitcoin")),
            400,
            "invalid_payment_method",
        ),
        (
            "ssl_plus",
            order_body(|b| {
                b.as_object_mut()
                    .unwrap()
                    .remove("organization")
                    .map(drop)
                    .unwrap_or(())
            }),
            400,
            "missing_param",
        ),
        ("ssl_plus", "{not json".to_owned(), 400, "invalid_json"),
        ("code_signing", order_body(|_| {}), 400, "invalid_product"),
        (
            "ssl_securesite_pro",
            order_body(|_| {}),
            400,
            "invalid_product",
        ),
    ];
    for (product, body, status, code) in cases {
        let response = post(&base, product, &body).await;
        assert_eq!(response.status(), status, "{code}: {body}");
        assert_error(&json_of(response).await, code);
    }
    // One-step approval (the default): a pending request.
    let response = post(
        &base,
        "ssl_plus",
        &order_body(|b| b["custom_expiration_date"] = json!(near)),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created = json_of(response).await;
    assert_eq!(created["requests"][0]["status"], "pending");
    let pending_id = created["id"].as_u64().unwrap();
    // Skip approval: issued at once.
    let response = post(
        &base,
        "ssl_wildcard",
        &order_body(|b| {
            b["skip_approval"] = json!(true);
            b["certificate"]["common_name"] = json!("*.fresh.example.com");
            b["auto_renew"] = json!(1);
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created = json_of(response).await;
    let issued_id = created["id"].as_u64().unwrap();
    assert!(created["certificate_id"].is_u64());
    assert!(created.get("requests").is_none());
    let rows = report(&base).await;
    assert_eq!(rows.len(), 32);
    assert_eq!(rows[0][0], issued_id.to_string(), "newest first");
    assert_eq!(&rows[0][column("common_name")], "*.fresh.example.com");
    assert_eq!(&rows[0][column("status")], "issued");
    assert_eq!(&rows[0][column("auto_renew")], "1");
    assert_eq!(&rows[0][column("csr")], CSR);
    assert_eq!(rows[1][0], pending_id.to_string());
    assert_eq!(&rows[1][column("status")], "needs_approval");
    let t = json_of(
        client()
            .get(format!("{base}/_simulator/orders/{issued_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(t["key"]["bits"], 3072);
    assert_eq!(t["exported"], true);
}

#[tokio::test]
async fn rate_limits_answer_429_per_key() {
    let mut limited = config(10);
    limited.rate_limit = vec![
        Window {
            limit: 6,
            period: Duration::from_secs(60),
        },
        Window {
            limit: 3,
            period: Duration::from_secs(1),
        },
    ];
    let base = start(limited.clone()).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(get(&base, "/report/order?limit=1").await.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 200, 429], "the short window");
    let response = get(&base, "/order/certificate/1").await;
    assert_eq!(response.status(), 429);
    assert!(
        response.headers().get("retry-after").is_none(),
        "no Retry-After unless asked"
    );
    assert_error(&json_of(response).await, "request_limit_exceeded");
    let other = client()
        .get(format!("{base}/services/v2/report/order?limit=1"))
        .header("X-DC-DEVKEY", "another-key")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "limits are per key");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(get(&base, "/report/order?limit=1").await.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 200, 429], "the short window again");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let response = get(&base, "/report/order?limit=1").await;
    assert_eq!(response.status(), 429, "the long window: 6 a minute");
    let stats = json_of(
        client()
            .get(format!("{base}/_simulator/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["rate_limited"], 4);
    assert_eq!(stats["requests"]["order"]["429"], 1);

    limited.retry_after = Some(7);
    let base = start(limited).await;
    for _ in 0..3 {
        get(&base, "/report/order?limit=1").await;
    }
    let response = get(&base, "/report/order?limit=1").await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
}

async fn put_faults(base: &str, spec: Value) {
    let response = client()
        .put(format!("{base}/_simulator/faults"))
        .body(spec.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn faults_can_be_switched_on_at_runtime() {
    let base = start(config(60)).await;
    put_faults(&base, json!({"error_rate": 1.0})).await;
    let response = get(&base, "/report/order").await;
    assert_eq!(response.status(), 500);
    assert_error(&json_of(response).await, "server_error");

    put_faults(&base, json!({"rate_limit_burst": 2})).await;
    assert_eq!(get(&base, "/report/order").await.status(), 429);
    assert_eq!(get(&base, "/order/certificate/1").await.status(), 429);
    assert_eq!(get(&base, "/report/order").await.status(), 200);

    put_faults(&base, json!({"truncate_report_rate": 1.0})).await;
    let text = get(&base, "/report/order").await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert!(
        reader
            .records()
            .any(|r| r.map_or(true, |r| r.len() != COLUMNS.len())),
        "a cut page does not read whole"
    );

    put_faults(&base, json!({"garbage_report_rate": 1.0})).await;
    let response = get(&base, "/report/order").await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(std::str::from_utf8(&body).is_err() && body.starts_with(b"<html>"));

    put_faults(&base, json!({"bad_detail_rate": 1.0, "seed": 3})).await;
    let id = report(&base).await[0][0].to_owned();
    let mut shapes = std::collections::BTreeSet::new();
    for _ in 0..12 {
        let body = get(&base, &format!("/order/certificate/{id}"))
            .await
            .bytes()
            .await
            .unwrap();
        assert!(
            serde_json::from_slice::<Value>(&body)
                .map_or(true, |v| v.get("status").is_none_or(|s| !s.is_string()))
        );
        shapes.insert(body.to_vec());
    }
    assert!(shapes.len() > 1, "several unexpected shapes");

    put_faults(&base, json!({"reset_rate": 1.0, "endpoints": ["report"]})).await;
    let result = match client()
        .get(format!("{base}/services/v2/report/order"))
        .header("X-DC-DEVKEY", "k")
        .send()
        .await
    {
        Ok(response) => response.bytes().await.map(drop),
        Err(e) => Err(e),
    };
    assert!(result.is_err(), "the body breaks off");
    assert_eq!(
        get(&base, &format!("/order/certificate/{id}"))
            .await
            .status(),
        200,
        "only the report"
    );

    put_faults(&base, json!({"slow_rate": 1.0, "slow_ms": 1500})).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let result = quick
        .get(format!("{base}/services/v2/report/order"))
        .header("X-DC-DEVKEY", "k")
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));

    put_faults(&base, json!({})).await;
    assert_eq!(get(&base, "/report/order").await.status(), 200);
    let stats = json_of(
        client()
            .get(format!("{base}/_simulator/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let injected = &stats["faults_injected"];
    for kind in [
        "error",
        "rate_limit_burst",
        "truncate_report",
        "garbage_report",
        "bad_detail",
        "reset",
        "slow",
    ] {
        assert!(
            injected[kind].as_u64().is_some_and(|n| n > 0),
            "{kind}: {stats}"
        );
    }
    assert_eq!(stats["requests"]["report"]["reset"], 1);
    let bad = client()
        .put(format!("{base}/_simulator/faults"))
        .body(r#"{"error_rate": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes() {
    let a = start(config(300)).await;
    let b = start(config(300)).await;
    let mut other = config(300);
    other.seed = 12;
    let c = start(other).await;
    let page = |base: String| async move {
        get(&base, "/report/order?offset=100")
            .await
            .text()
            .await
            .unwrap()
    };
    let (pa, pb, pc) = (page(a.clone()).await, page(b).await, page(c).await);
    assert_eq!(pa, pb);
    assert_ne!(pa, pc);
    let mut fixed = config(50);
    fixed.today = Some(day());
    let d = start(fixed.clone()).await;
    let e = start(fixed).await;
    assert_eq!(page(d).await, page(e).await);
}

#[tokio::test]
async fn controls_change_what_every_endpoint_says() {
    let base = start(config(60)).await;
    let rows = report(&base).await;
    let row = rows
        .iter()
        .find(|r| r[column("status")] == *"issued")
        .unwrap()
        .clone();
    let id: u64 = row[0].parse().unwrap();
    let http = client();

    // Reissue: a new certificate everywhere, a later expiry.
    let answer = json_of(
        http.post(format!("{base}/_simulator/orders/{id}/reissue"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let certificate = answer["certificate_id"].as_u64().unwrap();
    let rows = report(&base).await;
    let now_row = rows.iter().find(|r| r[0] == row[0]).unwrap();
    assert_eq!(
        now_row[column("certificate_tracker_id")],
        certificate.to_string()
    );
    assert_eq!(
        now_row[column("thumbprint")],
        answer["thumbprint"].as_str().unwrap().to_owned()
    );
    assert_ne!(
        now_row[column("serial_number")],
        row[column("serial_number")]
    );
    assert!(now_row[column("valid_till")] > row[column("valid_till")]);
    let info = json_of(get(&base, &format!("/order/certificate/{id}")).await).await;
    assert_eq!(info["certificate"]["id"], certificate);
    assert_eq!(info["certificate"]["valid_till"], answer["valid_till"]);
    let list = json_of(get(&base, &format!("/order/certificate/{id}/reissue")).await).await;
    assert_eq!(list["certificates"][0]["id"], certificate, "newest first");
    let archived = json_of(
        get(
            &base,
            &format!("/order/certificate/{id}/reissue?show_archived=true"),
        )
        .await,
    )
    .await;
    assert!(
        archived["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["archived"] == 1)
    );

    // A reissue the report does not show yet.
    let answer = json_of(
        http.post(format!("{base}/_simulator/orders/{id}/reissue"))
            .body(r#"{"valid_till": "2030-01-01", "report_lags": true}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer["valid_till"], "2030-01-01");
    let t = json_of(
        http.get(format!("{base}/_simulator/orders/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(t["valid_till"], "2030-01-01");
    assert_eq!(
        t["report_valid_till"],
        now_row[column("valid_till")].to_owned()
    );

    // Touch: the report row changes.
    let before = report(&base)
        .await
        .into_iter()
        .find(|r| r[0] == row[0])
        .unwrap();
    let t = json_of(
        http.post(format!("{base}/_simulator/orders/{id}/touch"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let after = report(&base)
        .await
        .into_iter()
        .find(|r| r[0] == row[0])
        .unwrap();
    assert_ne!(before[column("valid_till")], after[column("valid_till")]);
    assert_eq!(
        t["report_valid_till"],
        after[column("valid_till")].to_owned()
    );
    let t = json_of(
        http.post(format!("{base}/_simulator/orders/{id}/touch"))
            .body(r#"{"auto_renew": true, "status": "revoked"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(t["status"], "revoked");
    let after = report(&base)
        .await
        .into_iter()
        .find(|r| r[0] == row[0])
        .unwrap();
    assert_eq!(&after[column("auto_renew")], "1");
    assert_eq!(&after[column("status")], "revoked");
    let bad = http
        .post(format!("{base}/_simulator/orders/{id}/touch"))
        .body(r#"{"status": "nope"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // Delete: gone from the report and the details.
    let response = http
        .delete(format!("{base}/_simulator/orders/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(report(&base).await.iter().all(|r| r[0] != row[0]));
    assert_eq!(
        get(&base, &format!("/order/certificate/{id}"))
            .await
            .status(),
        404
    );
    for (method, path) in [
        (reqwest::Method::DELETE, format!("/_simulator/orders/{id}")),
        (reqwest::Method::GET, format!("/_simulator/orders/{id}")),
        (
            reqwest::Method::POST,
            format!("/_simulator/orders/{id}/reissue"),
        ),
    ] {
        let response = http
            .request(method.clone(), format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {path}");
    }

    // Truth listing filters and pages.
    let issued = json_of(
        http.get(format!(
            "{base}/_simulator/orders?status=issued&limit=3&offset=1"
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    let issued = issued.as_array().unwrap();
    assert_eq!(issued.len(), 3);
    assert!(issued.iter().all(|t| t["status"] == "issued"));
    let info = json_of(
        http.get(format!("{base}/_simulator/info"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info["orders"], 59);
}

#[test]
fn the_key_never_appears_in_debug_output() {
    let mut config = config(1);
    config.api_key = Some("s3cret-key".into());
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[tokio::test]
async fn unknown_api_paths_get_the_error_shape() {
    let base = start(config(5)).await;
    let response = get(&base, "/nothing/here").await;
    assert_eq!(response.status(), 404);
    assert_error(&json_of(response).await, "not_found");
    let empty = start(config(0)).await;
    let text = get(&empty, "/report/order").await.text().await.unwrap();
    assert_eq!(text.lines().count(), 1);
    assert_eq!(truth(&empty).await.len(), 0);
}
