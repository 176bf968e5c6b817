//! The health writer: per account, whether the latest poll read the
//! report, when polls ran and how long they took, the configured interval,
//! the report rows left out, the build, and how far the order details are
//! (what is still due, by reason, and how old the oldest details in use
//! are; `certcentral_up` says only whether the report was read).

use super::families::{
    BUILD_INFO, DETAILS_BACKLOG, DETAILS_DUE, DETAILS_OLDEST, LAST_POLL, LAST_SUCCESSFUL_POLL,
    POLL_DURATION, POLL_INTERVAL, REPORT_ROWS_SKIPPED, UP,
};
use super::{Family, FleetView, LabelBlock, TextWriter, flag, unix_seconds};
use crate::board::{AccountState, Reason};

/// Writes the health families of every account.
pub(super) fn write(w: &mut TextWriter, view: &FleetView<'_>) {
    let per_account =
        |w: &mut TextWriter, family: &'static Family, value: fn(&AccountState) -> Option<f64>| {
            let mut samples = w.family(family);
            for account in view.accounts {
                if let Some(v) = value(account.state) {
                    samples.sample(&account.labels, v);
                }
            }
        };
    per_account(w, &UP, |s| Some(flag(s.up)));
    per_account(w, &LAST_SUCCESSFUL_POLL, |s| {
        s.last_success.map(unix_seconds)
    });
    per_account(w, &LAST_POLL, |s| {
        s.last_poll.as_ref().map(|p| unix_seconds(p.ended_at))
    });
    per_account(w, &POLL_DURATION, |s| {
        s.last_poll.as_ref().map(|p| p.duration.as_secs_f64())
    });
    per_account(w, &POLL_INTERVAL, |s| Some(s.poll_interval.as_secs_f64()));
    per_account(w, &REPORT_ROWS_SKIPPED, |s| {
        s.fleet.as_ref().map(|f| f.skipped_rows as f64)
    });
    // One series for the process, as every exporter's build_info: the
    // version does not differ between the accounts it polls.
    w.family(&BUILD_INFO).sample(
        &LabelBlock::new()
            .with("version", env!("CARGO_PKG_VERSION"))
            .finish(),
        1.0,
    );
    per_account(w, &DETAILS_BACKLOG, |s| Some(s.details.backlog() as f64));
    let mut due = w.family(&DETAILS_DUE);
    for account in view.accounts {
        for reason in Reason::ALL {
            due.sample(
                &LabelBlock::extend(&account.labels, "reason", reason.as_str()),
                account.state.details.due(reason) as f64,
            );
        }
    }
    per_account(w, &DETAILS_OLDEST, |s| s.details.oldest.map(unix_seconds));
}
