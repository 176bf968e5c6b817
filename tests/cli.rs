//! The command line: bad input is one line naming the flag, exit code 2.

use certcentral_test_support::{Binary, exporter_binary};

const BIN: Binary = exporter_binary!();

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = BIN.output(args, env);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_error(args: &[&str], env: &[(&str, &str)], names: &str) {
    let (code, stderr) = run(args, env);
    assert_eq!(code, Some(2), "exit code for {args:?}; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line for {args:?}, got: {stderr}");
    assert!(
        lines[0].contains(names),
        "{:?} should name {names}",
        lines[0]
    );
}

#[test]
fn a_poll_interval_that_is_not_a_duration() {
    assert_one_line_error(
        &["--demo", "--poll.interval", "soon"],
        &[],
        "--poll.interval",
    );
}

#[test]
fn a_url_that_does_not_parse() {
    assert_one_line_error(
        &["--certcentral.url", "not a url"],
        &[("CERTCENTRAL_API_KEY", "k")],
        "--certcentral.url",
    );
    assert_one_line_error(
        &["--certcentral.url", "ftp://example.com/x"],
        &[("CERTCENTRAL_API_KEY", "k")],
        "--certcentral.url",
    );
}

#[test]
fn no_key_and_no_demo() {
    assert_one_line_error(&[], &[], "--certcentral.api-key-file");
}

#[test]
fn a_missing_or_empty_key_file() {
    assert_one_line_error(
        &["--certcentral.api-key-file", "/nonexistent/key"],
        &[],
        "--certcentral.api-key-file",
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("key");
    std::fs::write(&empty, "\n").unwrap();
    std::fs::set_permissions(&empty, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    assert_one_line_error(
        &["--certcentral.api-key-file", empty.to_str().unwrap()],
        &[],
        "is empty",
    );
}

#[test]
fn a_page_size_above_the_api_maximum() {
    assert_one_line_error(
        &["--demo", "--certcentral.page-size", "1001"],
        &[],
        "--certcentral.page-size",
    );
}

#[test]
fn an_unknown_flag() {
    assert_one_line_error(&["--demo", "--no-such-flag"], &[], "--no-such-flag");
}

#[test]
fn a_mistyped_flag_or_command_gets_a_suggestion_on_its_one_line() {
    assert_one_line_error(
        &["--demo", "--poll.intervall", "5m"],
        &[],
        "'--poll.intervall' found; did you mean '--poll.interval'?",
    );
    assert_one_line_error(&["simulat"], &[], "did you mean 'simulate'?");
}

#[test]
fn the_key_is_not_accepted_as_a_flag_value() {
    let (code, _) = run(&["--certcentral.api-key", "secret"], &[]);
    assert_eq!(code, Some(2));
}

#[test]
fn a_config_file_with_a_typo_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.yml");
    std::fs::write(&path, "accounts:\n  - name: prod\n    api_key_fil: /x\n").unwrap();
    assert_one_line_error(
        &["--config.file", path.to_str().unwrap()],
        &[],
        "api_key_fil",
    );
    std::fs::write(
        &path,
        "accounts:\n  - name: prod\n    api_key_env: NO_SUCH_VARIABLE_HERE\n",
    )
    .unwrap();
    assert_one_line_error(
        &["--config.file", path.to_str().unwrap()],
        &[],
        "accounts[0].api_key_env",
    );
    std::fs::write(
        &path,
        "metrics:\n  per_order_horizon: 30d\naccounts:\n  - name: prod\n    api_key_env: HOME\n",
    )
    .unwrap();
    assert_one_line_error(
        &[
            "--config.file",
            path.to_str().unwrap(),
            "--metrics.per-order-horizon",
            "90d",
        ],
        &[],
        "metrics.per_order_horizon and --metrics.per-order-horizon both set",
    );
}

#[test]
fn help_and_version_succeed() {
    let (code, _) = run(&["--help"], &[]);
    assert_eq!(code, Some(0));
    let out = BIN.output(&["--version"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_port_in_use_is_one_line_and_exit_2_before_anything_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (code, stderr) = run(
        &[
            "--web.listen-address",
            &address,
            "--storage.path",
            state.to_str().unwrap(),
            "--certcentral.url",
            "http://127.0.0.1:9/services/v2",
        ],
        &[("CERTCENTRAL_API_KEY", "k")],
    );
    assert_eq!(code, Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, no log lines: {stderr}");
    assert!(
        lines[0].starts_with("error: --web.listen-address")
            && lines[0].contains(&address)
            && lines[0].to_lowercase().contains("in use"),
        "{stderr}"
    );
    assert!(!state.exists(), "the store was opened before the port was");
}

#[test]
fn a_bad_enum_value_lists_the_valid_ones() {
    assert_one_line_error(
        &["--demo", "--log.level", "verbose"],
        &[],
        "valid values: error, warn, info, debug, trace",
    );
    assert_one_line_error(
        &["--demo", "--log.format", "text"],
        &[],
        "valid values: logfmt, json",
    );
}

/// Two exporters on one `--storage.path` would undo each other's saves:
/// the second stops at start-up, naming the directory and the holder.
#[test]
fn a_second_exporter_on_the_same_storage_path_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let first = certcentral_test_support::Exporter::start(
        BIN,
        &["--demo", "--demo.orders", "5", "--storage.path", store],
        &[],
    );
    first.wait_healthy(std::time::Duration::from_secs(30));
    assert_one_line_error(
        &[
            "--demo",
            "--storage.path",
            store,
            "--web.listen-address",
            "127.0.0.1:0",
        ],
        &[],
        &format!(
            "--storage.path {store}: another exporter uses it (pid {})",
            first.process.pid()
        ),
    );
}
