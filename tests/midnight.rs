//! The end of a UTC day under a fake clock (libfaketime, Debian package
//! `faketime`): the exporter starts 29 seconds before 23:59:59, polls
//! once, and its render as the day ends must move every order's days
//! remaining, expired ones included, without another poll. An order on
//! its last valid day reads 0 and is not expired until then. A step of the
//! wall clock moves them too, without a poll.

use std::time::Duration;

use certcentral_test_support::{
    Binary, Process, Scrape, exporter_binary, free_port, http, stand_in, wait_for,
};

const BIN: Binary = exporter_binary!();

/// libfaketime wherever the machine's architecture keeps it: the dynamic
/// loader expands `$LIB` (`lib/x86_64-linux-gnu`, `lib/aarch64-linux-gnu`,
/// ...), as Debian's own `faketime` command does.
const LIBFAKETIME: &str = "/usr/$LIB/faketime/libfaketime.so.1";

/// The sample report with three orders: one on its last valid day and not
/// renewed, one long expired, one a year out.
fn report() -> String {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(include_str!("data/report-sample.csv").as_bytes());
    let mut writer = csv::Writer::from_writer(Vec::new());
    // (status, valid_till, is_renewed)
    let changes = [
        ("issued", "2026-12-02", "0"),
        ("expired", "2026-11-18", "1"),
        ("issued", "2027-12-03", "1"),
    ];
    for (i, record) in reader.records().enumerate() {
        let mut record: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        if let Some((status, valid_till, renewed)) = i.checked_sub(1).map(|i| changes[i]) {
            record[5] = status.to_owned();
            record[36] = valid_till.to_owned();
            record[38] = renewed.to_owned();
        }
        writer.write_record(&record).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// Serves the report, and a 404 for anything else; its base URL.
fn certcentral() -> String {
    let report = report();
    stand_in(move |request| {
        if request.contains("/report/order") {
            ("200 OK", report.clone())
        } else {
            ("404 Not Found", "{}".to_owned())
        }
    })
}

fn days(scrape: &Scrape) -> std::collections::BTreeMap<String, f64> {
    scrape.by_label("certcentral_certificate_days_remaining", "order_id")
}

/// The exporter polling [`certcentral`] once an hour under libfaketime,
/// with `clock` (the FAKETIME variables), and where it listens.
fn start_faked(clock: &[(&str, &str)]) -> (Process, String) {
    assert!(
        std::process::Command::new("faketime")
            .args(["-f", "+0", "true"])
            .status()
            .is_ok_and(|s| s.success()),
        "libfaketime is needed: scripts/install-test-tools installs it (Debian's faketime)"
    );
    let url = format!("{}/services/v2", certcentral());
    let listen = format!("127.0.0.1:{}", free_port());
    let mut env = vec![
        ("CERTCENTRAL_API_KEY", "midnight-key"),
        ("LD_PRELOAD", LIBFAKETIME),
    ];
    env.extend_from_slice(clock);
    let process = BIN.spawn(
        &[
            "--web.listen-address",
            &listen,
            "--storage.path",
            "",
            "--certcentral.url",
            &url,
            "--poll.interval",
            "1h",
        ],
        &env,
    );
    (process, listen)
}

/// One scrape of the exporter at `listen`, once it answers.
fn scrape_at(process: &mut Process, listen: &str) -> Option<Scrape> {
    assert!(process.is_running(), "{}", process.logs());
    let text = http()
        .get(format!("http://{listen}/metrics"))
        .send()
        .ok()?
        .text()
        .ok()?;
    Some(Scrape::parse(&text))
}

/// A step of the wall clock (a resumed VM, an NTP correction) moves every
/// day count within seconds, without a poll: the renderer does not only
/// wait for the next day boundary it computed before the step.
#[test]
fn a_step_of_the_wall_clock_moves_every_days_remaining() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("faketime");
    // Dates of its own, not today's: the report's dates are fixed.
    std::fs::write(&spec, "@2026-12-01 12:00:00\n").unwrap();
    let spec_path = spec.to_str().unwrap().to_owned();
    let (mut process, listen) = start_faked(&[
        ("FAKETIME_TIMESTAMP_FILE", &spec_path),
        ("FAKETIME_CACHE_DURATION", "1"),
        // Timers run on the real monotonic clock: only the wall clock steps.
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ]);
    let before = wait_for("the first poll", Duration::from_secs(30), || {
        scrape_at(&mut process, &listen).filter(|s| days(s).len() == 3)
    });
    let polls = before.sum("certcentral_polls_total", &[]);
    std::fs::write(&spec, "@2026-12-03 12:00:00\n").unwrap();
    let after = wait_for("the render after the step", Duration::from_secs(40), || {
        scrape_at(&mut process, &listen)
            .filter(|s| days(s).get("123454") == Some(&(days(&before)["123454"] - 2.0)))
    });
    assert_eq!(
        after.sum("certcentral_polls_total", &[]),
        polls,
        "no poll in between"
    );
    for (order, was) in days(&before) {
        assert_eq!(days(&after)[&order], was - 2.0, "order {order}");
    }
}

#[test]
fn as_the_utc_day_ends_every_days_remaining_moves_expired_ones_included() {
    // Starts at this instant and runs at the real speed.
    let (mut process, listen) = start_faked(&[("FAKETIME", "@2026-12-02 23:59:30")]);
    let scrape = |process: &mut Process| scrape_at(process, &listen);
    let evening = wait_for("the first poll", Duration::from_secs(30), || {
        scrape(&mut process).filter(|s| days(s).len() == 3)
    });
    let polls = evening.sum("certcentral_polls_total", &[]);
    let before = days(&evening);
    assert_eq!(before["123456"], 0.0, "its last valid day: {before:?}");
    assert_eq!(before["123455"], -14.0, "{before:?}");
    let expiry = evening.by_label(
        "certcentral_certificate_expiry_timestamp_seconds",
        "order_id",
    );
    let end_of_day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc().timestamp() as f64);
    assert_eq!(Some(expiry["123456"]), end_of_day, "its notAfter");
    let expired_finding = |scrape: &Scrape| {
        scrape.value(
            "certcentral_compliance_violation",
            &[("order_id", "123456"), ("rule", "expired_not_renewed")],
        )
    };
    assert_eq!(
        expired_finding(&evening),
        None,
        "the last valid day is not expired"
    );
    let after = wait_for(
        "the render as the day ends",
        Duration::from_secs(90),
        || {
            // The unexpired order's count moves as the day ends either way.
            scrape(&mut process)
                .filter(|s| days(s).get("123454") == Some(&(before["123454"] - 1.0)))
        },
    );
    assert_eq!(
        after.sum("certcentral_polls_total", &[]),
        polls,
        "no poll in between"
    );
    assert_eq!(
        expired_finding(&after),
        Some(1.0),
        "expired once its day is over"
    );
    let after = days(&after);
    for (order, days) in &before {
        assert_eq!(
            after[order],
            days - 1.0,
            "order {order}: {before:?} -> {after:?}"
        );
    }
}
