//! Reading the subaccount order listing: every page, each unchanged page
//! kept as it was parsed (see `memo`). A key that may not list
//! subaccount orders (or an account without subaccounts) is normal: said
//! once in the log, then quiet.

use std::collections::{HashSet, VecDeque};

use std::sync::Arc;

use crate::certcentral::client::Answer;
use crate::certcentral::report::Interner;
use crate::certcentral::wire::SubaccountOrderList;
use crate::certcentral::{ApiError, Client};
use crate::fleet::{SubaccountOrderRecord, Subaccounts};

use super::PollError;
use super::listings::Listings;
use super::memo::KnownPage;

/// Subaccount orders per page (the endpoint's maximum).
const SUBACCOUNT_PAGE_SIZE: usize = 1000;

/// A page of the subaccount order listing, as the fleet uses it.
pub(super) struct SubaccountPage {
    /// Orders on the page, readable or not (paging counts them all).
    count: usize,
    /// Orders in the whole listing, if the page says.
    total: Option<usize>,
    records: Vec<SubaccountOrderRecord>,
}

/// A page of the listing asked for ahead of the one being read, on a task
/// of its own; dropped (a failed read, or a listing that ended sooner than
/// it said), it is aborted.
struct PageAhead {
    task: tokio::task::JoinHandle<Result<Answer, ApiError>>,
    client: Arc<Client>,
    /// Where the page starts in the listing.
    offset: usize,
}

impl PageAhead {
    fn request(client: &Arc<Client>, offset: usize) -> PageAhead {
        let reader = client.clone();
        PageAhead {
            task: tokio::spawn(async move {
                reader.subaccount_orders(SUBACCOUNT_PAGE_SIZE, offset).await
            }),
            client: client.clone(),
            offset,
        }
    }

    /// The page's answer; a request cancelled under it (the runtime
    /// shutting down) is made again in turn.
    async fn answer(mut self) -> Result<Answer, ApiError> {
        match (&mut self.task).await {
            Ok(answer) => answer,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_) => {
                self.client
                    .subaccount_orders(SUBACCOUNT_PAGE_SIZE, self.offset)
                    .await
            }
        }
    }
}

impl Drop for PageAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listings {
    /// Reads the subaccount order listing. A key that may not list it (or an
    /// account without subaccounts) is normal: said once, then quiet.
    ///
    /// Once a full page has said how many orders the listing holds, up to
    /// `concurrency` of the pages after it are requested at once. A listing
    /// whose pages are all full makes the same requests as one read in turn;
    /// one that comes back short mid-way (the listing shrank under the read)
    /// drops the requests made past that point.
    pub(super) async fn read_subaccounts(
        &mut self,
        unavailable_before: bool,
    ) -> Result<Subaccounts, PollError> {
        let mut pages: Vec<KnownPage<SubaccountPage>> = Vec::new();
        let mut records: Vec<SubaccountOrderRecord> = Vec::new();
        let mut interner = Interner::default();
        let mut seen = HashSet::new();
        let mut offset = 0;
        let mut ahead: VecDeque<PageAhead> = VecDeque::new();
        loop {
            let answer = match ahead.pop_front() {
                Some(page) if page.offset == offset => page.answer().await,
                _ => {
                    ahead.clear();
                    self.client
                        .subaccount_orders(SUBACCOUNT_PAGE_SIZE, offset)
                        .await
                }
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(err) if offset == 0 && matches!(err.status(), Some(401 | 403 | 404)) => {
                    if !unavailable_before {
                        tracing::info!(
                            account = %self.account,
                            reason = %err,
                            "no subaccount orders for this key; asked again each poll, said once"
                        );
                    }
                    self.subaccount_pages.clear();
                    return Ok(Subaccounts::Unavailable);
                }
                Err(err) => return Err(err.into()),
            };
            let known = KnownPage::read(
                &answer,
                self.subaccount_pages.get(pages.len()),
                |text| -> Result<_, ApiError> {
                    let list: SubaccountOrderList = self.client.decode(answer.endpoint(), text)?;
                    Ok(SubaccountPage {
                        count: list.orders.len(),
                        total: list.page.and_then(|p| p.total).map(|t| t as usize),
                        records: list
                            .orders
                            .iter()
                            .filter_map(|o| {
                                SubaccountOrderRecord::from_wire(o, &mut |s| interner.intern(s))
                            })
                            .collect(),
                    })
                },
            )?;
            let page = &known.parsed;
            let mut new_orders = 0;
            for record in &page.records {
                if seen.insert(record.order_id) {
                    new_orders += 1;
                    records.push(record.clone());
                }
            }
            offset += page.count;
            if offset > self.settings.max_orders {
                return Err(PollError::TooManyRows {
                    endpoint: "subaccount_orders",
                    limit: self.settings.max_orders,
                });
            }
            let page_total = page.total;
            let page_full = page.count == SUBACCOUNT_PAGE_SIZE;
            let done = page.count == 0
                || page
                    .total
                    .map_or(page.count < SUBACCOUNT_PAGE_SIZE, |total| offset >= total);
            pages.push(known);
            if done {
                self.subaccount_pages = pages;
                return Ok(Subaccounts::Listed(records));
            }
            if new_orders == 0 {
                return Err(PollError::PagingStuck {
                    endpoint: "subaccount_orders",
                    offset,
                });
            }
            if let Some(total) = page_total.filter(|_| page_full) {
                let mut next = ahead
                    .back()
                    .map_or(offset, |last| last.offset + SUBACCOUNT_PAGE_SIZE);
                while ahead.len() < self.settings.concurrency.max(1) && next < total {
                    ahead.push_back(PageAhead::request(&self.client, next));
                    next += SUBACCOUNT_PAGE_SIZE;
                }
            }
        }
    }
}
