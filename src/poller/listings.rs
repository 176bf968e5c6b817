//! The listings read beside the report: the subaccount order listing, then
//! the account's validations when their refresh is due. Neither depends on
//! the report, so a poll reads them while the report's pages are in flight,
//! through the same client (its rate limiter and its cap on requests in
//! flight).
//!
//! What they keep from poll to poll (the listing's parsed pages, the
//! denials already said in the log) lives in [`Listings`], which a poll
//! locks for the length of its read: a poll cut short (a failed report, the
//! deadline) drops its read and leaves the last complete one in place.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::memo::KnownPage;
use super::subaccounts::SubaccountPage;
use super::validations::List;
use super::{PollError, PollSettings, PollTelemetry};
use crate::certcentral::Client;
use crate::coverage::ValidationIndex;
use crate::fleet::Subaccounts;
use crate::store::Store;

/// The listings' reader and what it keeps between polls.
pub(super) struct Listings {
    pub(super) account: String,
    pub(super) client: Arc<Client>,
    pub(super) settings: PollSettings,
    pub(super) telemetry: PollTelemetry,
    pub(super) store: Option<Store>,
    /// The pages of the latest complete subaccount listing, in order.
    pub(super) subaccount_pages: Vec<KnownPage<SubaccountPage>>,
    /// Validation lists the key may not read, already said in the log.
    pub(super) validation_denials_logged: HashSet<List>,
}

/// What a read of the listings starts from: the poller's view before it.
pub(super) struct Before {
    /// The last listing said the key may not list subaccount orders (said
    /// once in the log).
    pub(super) subaccounts_unavailable: bool,
    /// `Some` when the validations are due: the subaccounts whose domains
    /// to read if the listing fails this time.
    pub(super) validations_due: Option<Vec<u64>>,
}

/// What a read of the listings found.
pub(super) struct ListingsRead {
    pub(super) subaccounts: Result<Subaccounts, PollError>,
    /// `None` when the validations were not due.
    pub(super) validations: Option<Result<Arc<ValidationIndex>, PollError>>,
    /// Validation list requests made.
    pub(super) validation_requests: usize,
}

impl Listings {
    /// A reader with nothing kept yet.
    pub(super) fn new(
        account: String,
        client: Arc<Client>,
        settings: PollSettings,
        telemetry: PollTelemetry,
        store: Option<Store>,
    ) -> Arc<Mutex<Listings>> {
        Arc::new(Mutex::new(Listings {
            account,
            client,
            settings,
            telemetry,
            store,
            subaccount_pages: Vec::new(),
            validation_denials_logged: HashSet::new(),
        }))
    }

    /// Reads the subaccount listing, then the validations if they are due
    /// (their subaccount domains follow the listing just read).
    pub(super) async fn read(this: Arc<Mutex<Listings>>, before: Before) -> ListingsRead {
        let mut listings = this.lock_owned().await;
        let subaccounts = listings
            .read_subaccounts(before.subaccounts_unavailable)
            .await;
        let mut validation_requests = 0;
        let validations = match before.validations_due {
            None => None,
            Some(previous_ids) => {
                let ids = match &subaccounts {
                    Ok(listing) => subaccount_ids(listing),
                    Err(_) => previous_ids,
                };
                Some(
                    listings
                        .read_validations(ids, &mut validation_requests)
                        .await,
                )
            }
        };
        ListingsRead {
            subaccounts,
            validations,
            validation_requests,
        }
    }
}

/// The subaccounts a listing names, each once, in order.
pub(super) fn subaccount_ids(listing: &Subaccounts) -> Vec<u64> {
    match listing {
        Subaccounts::Listed(orders) => {
            let mut ids: Vec<u64> = orders.iter().map(|o| o.subaccount_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        _ => Vec::new(),
    }
}
