//! What the fleet's tests share: the day they build fleets around.

use chrono::NaiveDate;

use super::{Order, World};

/// The day the tests' fleets are built around.
pub(super) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// Days from the fleet's day to the order's expiry.
pub(super) fn days_left(world: &World, o: &Order) -> Option<i64> {
    o.valid_till().map(|t| (t - world.today).num_days())
}
