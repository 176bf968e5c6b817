//! The simulated account: a deterministic, realistic fleet of orders built
//! from a seed and a day ("today"), and the changes tests make to it.
//!
//! Orders are compact (names, CSRs, containers and the like are indexes
//! into [`crate::catalog`]; the common case allocates nothing), so
//! that a million orders fit and generate quickly. Everything an endpoint
//! says about an order is derived from this one model, which keeps the
//! report, the details, the reissue list and the truth consistent.
//!
//! How the fleet is built:
//! - the first orders are fixed *scenarios*, most important first (due
//!   today, tomorrow, within 7 and 30 days, every status, renewal chains,
//!   one order per compliance finding...), as many as the size allows;
//! - the rest are random *lineages*: one to three orders for the same name,
//!   each renewing the one before;
//! - orders are then sorted by creation time and numbered, so that order
//!   ids grow with time as in CertCentral.
//!
//! Layout: [`model`] (the orders and the lookups), [`generator`] (the
//! fleet from a seed), [`scenarios`] (the fixed orders it starts with),
//! [`changes`] (what the controls and the API's `POST` change).

mod changes;
mod generator;
mod model;
mod scenarios;
#[cfg(test)]
mod testing;

pub(crate) use changes::{Change, NewOrder};
pub use model::Approval;
pub(crate) use model::*;
