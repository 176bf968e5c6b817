//! The compliance writer: per account, the orders breaking each enabled
//! rule and the manual-renewal outlook under each coming CA/Browser Forum
//! maximum validity; per order with series, each rule it breaks.

use super::families::{
    COMPLIANCE_VIOLATION, COMPLIANCE_VIOLATIONS, MANUAL_RENEWAL_ORDERS,
    ORDERS_EXCEEDING_MANUAL_RENEWAL_THRESHOLD,
};
use super::{Account, Family, FleetView, LabelBlock, TextWriter};

/// Writes the compliance families.
pub(super) fn write(w: &mut TextWriter, view: &FleetView<'_>) {
    let mut violations = w.family(&COMPLIANCE_VIOLATIONS);
    for account in view.accounts {
        let Some(assessment) = &account.assessment else {
            continue;
        };
        for (rule, count) in &assessment.counts {
            violations.sample(
                &LabelBlock::extend(&account.labels, "rule", rule.as_str()),
                *count as f64,
            );
        }
    }
    outlook(
        w,
        view,
        [
            &MANUAL_RENEWAL_ORDERS,
            &ORDERS_EXCEEDING_MANUAL_RENEWAL_THRESHOLD,
        ],
        "max_validity_days",
        |account| Some(&account.assessment.as_ref()?.outlook),
    );
    let mut violation = w.family(&COMPLIANCE_VIOLATION);
    for row in view.rows.iter().filter(|r| r.series) {
        for rule in row.verdict.findings.iter() {
            violation.sample(&LabelBlock::extend(&row.labels, "rule", rule.as_str()), 1.0);
        }
    }
}

/// The two families of an outlook: for each coming CA/Browser Forum step
/// (labelled `step`), how many orders or domains it concerns, and how many
/// of those would exceed the account's `manual_renewals_threshold` a year
/// (labelled `threshold`). `steps` gives an account's (step, count, over)
/// triples, `None` to leave the account out.
pub(super) fn outlook(
    w: &mut TextWriter,
    view: &FleetView<'_>,
    [counted, exceeding]: [&'static Family; 2],
    step: &str,
    steps: impl for<'a> Fn(&'a Account<'a>) -> Option<&'a Vec<(u32, usize, usize)>>,
) {
    let mut samples = w.family(counted);
    for account in view.accounts {
        for (days, count, _) in steps(account).into_iter().flatten() {
            samples.sample(
                &LabelBlock::extend(&account.labels, step, &days.to_string()),
                *count as f64,
            );
        }
    }
    let mut samples = w.family(exceeding);
    for account in view.accounts {
        let Some(steps) = steps(account) else {
            continue;
        };
        let threshold = view
            .settings
            .compliance_for(&account.state.account)
            .manual_renewals_threshold
            .to_string();
        for (days, _, over) in steps {
            let labels = LabelBlock::extend(&account.labels, step, &days.to_string());
            samples.sample(
                &LabelBlock::extend(&labels, "threshold", &threshold),
                *over as f64,
            );
        }
    }
}
