//! What an operator installs: the API key as a systemd credential, and the
//! landing page saying where the data comes from. (The unit file and the
//! Kubernetes manifests are checked in tests/deploy.rs.)

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use certcentral_test_support::{Binary, Exporter, Simulator, exporter_binary};

const BIN: Binary = exporter_binary!();

const RIGHT_KEY: &str = "right-key-5c1e";

/// A file holding `key`, readable by its owner only (as the exporter wants).
fn key_file(dir: &std::path::Path, name: &str, key: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{key}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The exporter polling `sim` once per hour, without a store.
fn exporter(sim: &Simulator, extra: &[&str], env: &[(&str, &str)]) -> Exporter {
    let url = sim.api_url();
    let mut args = vec!["--certcentral.url", &url, "--storage.path", ""];
    args.extend_from_slice(extra);
    Exporter::start(BIN, &args, env)
}

/// certcentral_up after the first poll, which may fail (then the exporter
/// never gets ready). `certcentral_polls_total` counts a poll the moment it
/// ends, but `certcentral_up` comes from the render that follows it: after
/// a good poll, wait for the rendered
/// `certcentral_last_poll_timestamp_seconds` too, or a loaded machine
/// scrapes the render from before the poll (`up` 0). A failed poll reads 0
/// before and after its render.
fn first_poll_up(exporter: &Exporter) -> f64 {
    exporter.wait_healthy(Duration::from_secs(60));
    let scrape = exporter.scrape_until("the first poll, rendered", |s| {
        s.sum("certcentral_polls_total", &[("result", "failure")]) >= 1.0
            || (s.sum("certcentral_polls_total", &[("result", "success")]) >= 1.0
                && s.has("certcentral_last_poll_timestamp_seconds"))
    });
    scrape.value("certcentral_up", &[]).expect("certcentral_up")
}

#[test]
fn the_key_comes_from_the_systemd_credential_before_the_environment_and_after_the_flag() {
    let sim = Simulator::start(BIN, 5, 1, &["--api-key", RIGHT_KEY]);
    let dir = tempfile::tempdir().unwrap();
    key_file(dir.path(), "certcentral-api-key", RIGHT_KEY);
    let credentials = dir.path().to_str().unwrap();

    // The credential wins over a wrong $CERTCENTRAL_API_KEY.
    let with_credential = exporter(
        &sim,
        &[],
        &[
            ("CREDENTIALS_DIRECTORY", credentials),
            ("CERTCENTRAL_API_KEY", "wrong-env-key"),
        ],
    );
    assert_eq!(first_poll_up(&with_credential), 1.0);
    let logs = with_credential.process.logs();
    assert!(!logs.contains(RIGHT_KEY), "the key is in the log: {logs}");
    drop(with_credential);

    // --certcentral.api-key-file wins over the credential.
    let other = tempfile::tempdir().unwrap();
    let wrong = key_file(other.path(), "key", "wrong-file-key");
    let with_flag = exporter(
        &sim,
        &["--certcentral.api-key-file", wrong.to_str().unwrap()],
        &[("CREDENTIALS_DIRECTORY", credentials)],
    );
    assert_eq!(first_poll_up(&with_flag), 0.0);
    drop(with_flag);

    // A credentials directory without the key's credential (the unit loads
    // only a web config, say) leaves $CERTCENTRAL_API_KEY in use.
    let empty = tempfile::tempdir().unwrap();
    let with_env = exporter(
        &sim,
        &[],
        &[
            ("CREDENTIALS_DIRECTORY", empty.path().to_str().unwrap()),
            ("CERTCENTRAL_API_KEY", RIGHT_KEY),
        ],
    );
    assert_eq!(first_poll_up(&with_env), 1.0);
}

#[test]
fn the_landing_page_names_the_polled_url_and_links_runbooks_and_readme() {
    let sim = Simulator::start(BIN, 5, 1, &["--api-key", RIGHT_KEY]);
    let exporter = exporter(&sim, &[], &[("CERTCENTRAL_API_KEY", RIGHT_KEY)]);
    exporter.wait_ready();
    let page = exporter.get("/").text().unwrap();
    assert!(
        page.contains(&format!("account default: <code>{}</code>", sim.api_url())),
        "{page}"
    );
    assert!(!page.contains("Demo"), "{page}");
    assert!(
        page.contains("docs/runbooks.md\">Alert runbooks</a>"),
        "{page}"
    );
    assert!(page.contains("#readme\">README</a>"), "{page}");
    assert!(!page.contains(RIGHT_KEY), "the key is on the page");

    let demo = Exporter::start(BIN, &["--demo", "--demo.orders", "5"], &[]);
    demo.wait_ready();
    let page = demo.get("/").text().unwrap();
    assert!(
        page.contains("<strong>Demo:</strong> polling the embedded CertCentral simulator"),
        "{page}"
    );
    assert!(!page.contains("Polling CertCentral:"), "{page}");
}
