//! The simulator behaves as the API pages say CertCentral does: the
//! documented errors and shapes, and the rate limits.

use certcentral_test_support::{Binary, Simulator, exporter_binary, http};
use serde_json::{Value, json};

const BIN: Binary = exporter_binary!();

fn post(sim: &Simulator, product: &str, body: &Value) -> (u16, Value) {
    let response = http()
        .post(format!("{}/order/certificate/{product}", sim.api_url()))
        .header("X-DC-DEVKEY", "k")
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn valid() -> Value {
    json!({
        "certificate": {"common_name": "new.example.com", "csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----", "signature_hash": "sha256"},
        "validity_years": 1,
        "organization": {"id": 112233},
        "payment_method": "balance"
    })
}

#[test]
fn order_creation_is_validated_as_documented_and_appears_in_the_next_report() {
    let sim = Simulator::start(BIN, 30, 1, &[]);
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "ssl_plus",
            Box::new(|b| b["certificate"]["common_name"] = json!("")),
            "missing_param",
        ),
        (
            "ssl_plus",
            Box::new(|b| {
                b["certificate"].as_object_mut().unwrap().remove("csr");
            }),
            "missing_param",
        ),
        (
            "ssl_plus",
            Box::new(|b| b["certificate"]["signature_hash"] = json!("sha1")),
            "invalid_signature_hash",
        ),
        (
            "ssl_plus",
            Box::new(|b| b["validity_years"] = json!(3)),
            "invalid_validity_years",
        ),
        (
            "ssl_plus",
            Box::new(|b| b["custom_expiration_date"] = json!("2099-01-01")),
            "invalid_custom_expiration_date",
        ),
        (
            "ssl_plus",
            Box::new(|b| b["payment_method"] = json!("cheque")),
            "invalid_payment_method",
        ),
        ("ssl_nonesuch", Box::new(|_| {}), "invalid_product"),
    ];
    for (product, change, code) in cases {
        let mut body = valid();
        change(&mut body);
        let (status, answer) = post(&sim, product, &body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["errors"][0]["code"], code, "{answer}");
        assert!(answer["errors"][0]["message"].is_string());
    }
    let (status, answer) = post(&sim, "ssl_multi_domain", &valid());
    assert_eq!(status, 201);
    assert_eq!(
        answer["requests"][0]["status"], "pending",
        "one-step approval: {answer}"
    );
    let id = answer["id"].as_u64().unwrap();
    let mut skip = valid();
    skip["skip_approval"] = json!(true);
    let (status, issued) = post(&sim, "ssl_plus", &skip);
    assert_eq!(status, 201);
    assert!(issued["certificate_id"].is_u64(), "{issued}");
    let report = http()
        .get(format!("{}/report/order?limit=1000", sim.api_url()))
        .header("X-DC-DEVKEY", "k")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        report.contains(&format!("\"{id}\"")),
        "the new order is in the report"
    );
    let truth = sim.orders();
    let created = truth.iter().find(|o| o["id"] == issued["id"]).unwrap();
    assert_eq!(created["status"], "issued");
}

#[test]
fn bad_keys_and_limits_get_the_documented_error_shape() {
    let sim = Simulator::start(BIN, 10, 1, &["--api-key", "right"]);
    let get = |key: &str, query: &str| {
        http()
            .get(format!("{}/report/order{query}", sim.api_url()))
            .header("X-DC-DEVKEY", key)
            .send()
            .unwrap()
    };
    let wrong = get("wrong", "");
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().unwrap();
    assert_eq!(body["errors"][0]["code"], "invalid_api_key");
    assert!(!body.to_string().contains("wrong"), "the key is not echoed");
    for query in ["?limit=1001", "?limit=0", "?limit=x", "?offset=-1"] {
        let response = get("right", query);
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().unwrap();
        assert!(body["errors"][0]["code"].is_string(), "{query}: {body}");
    }
    let past_the_end = get("right", "?limit=5&offset=500").text().unwrap();
    assert_eq!(past_the_end.lines().count(), 1, "only the header");
    assert!(past_the_end.starts_with("order_id,"));
}

#[test]
fn the_short_window_is_enforced_with_a_documented_429_and_no_retry_after() {
    let sim = Simulator::start(BIN, 5, 1, &["--rate-limit", "30/1m,10/2s"]);
    let client = http();
    let send = |key: &str| {
        client
            .get(format!("{}/report/order?limit=1", sim.api_url()))
            .header("X-DC-DEVKEY", key)
            .send()
            .unwrap()
    };
    let codes: Vec<u16> = (0..11).map(|_| send("a").status().as_u16()).collect();
    assert_eq!(&codes[..10], &[200; 10]);
    let refused = send("a");
    assert_eq!(refused.status(), 429, "short window: {codes:?}");
    assert!(
        refused.headers().get("retry-after").is_none(),
        "CertCentral documents no Retry-After"
    );
    let body: Value = refused.json().unwrap();
    assert_eq!(body["errors"][0]["code"], "request_limit_exceeded");
    assert_eq!(send("b").status(), 200, "per key");
    let stats = sim.stats();
    assert!(stats["rate_limited"].as_u64().unwrap() >= 1);
}

#[test]
fn the_long_window_caps_what_the_short_one_lets_through() {
    let sim = Simulator::start(BIN, 5, 1, &["--rate-limit", "15/1m,10/300ms"]);
    let client = http();
    let started = std::time::Instant::now();
    let mut admitted = 0;
    // Over two seconds the short window alone would let 60 through.
    while started.elapsed() < std::time::Duration::from_secs(2) {
        let response = client
            .get(format!("{}/report/order?limit=1", sim.api_url()))
            .header("X-DC-DEVKEY", "k")
            .send()
            .unwrap();
        admitted += usize::from(response.status() == 200);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(admitted, 15);
}

/// `simulate` says where it listens as it starts (it printed nothing).
#[test]
fn simulate_says_where_it_listens() {
    let sim = Simulator::start(BIN, 5, 1, &[]);
    let said = format!("simulating CertCentral at {}", sim.api_url());
    certcentral_test_support::wait_for(
        "the start-up line",
        std::time::Duration::from_secs(10),
        || sim.process.logs().contains(&said).then_some(()),
    );
}
