//! Reading the account's validations: the domain list, the organization
//! list and each subaccount's domain list, on their own schedule (hourly
//! by default), through the same client and rate limiter, beside the
//! report and ahead of the order details. A refresh is a few list pages:
//! like the report's, they are outside the detail budget (which leaves a
//! fifth of the rate limit for list pages by default).
//!
//! A list the key may not read (401, 403 or 404 on its first page) is said
//! once in the log, counted in `certcentral_validation_lists_denied_total`,
//! and left out: nothing is concluded from it, and the rest of the poll
//! goes on. Any other failure ends the step early; the validations read
//! before stay in use until a refresh succeeds.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use serde::de::DeserializeOwned;

use super::listings::Listings;
use super::{PollError, Poller};
use crate::certcentral::client::Answer;
use crate::certcentral::validations::{DomainList, LIST_PAGE_SIZE, OrganizationList};
use crate::certcentral::wire::Page;
use crate::certcentral::{ApiError, Client, Endpoint};
use crate::coverage::{
    DomainValidation, OrganizationValidation, ValidationIndex, ValidationSnapshot,
};

/// Pages of one list read at most in a refresh (200,000 domains at 1,000
/// a page): a server that never says the list ended costs this much.
const MAX_PAGES: usize = 200;

/// One list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum List {
    Domains,
    Organizations,
    SubaccountDomains(u64),
}

impl List {
    fn endpoint(self) -> Endpoint {
        match self {
            List::Domains => Endpoint::Domains,
            List::Organizations => Endpoint::Organizations,
            List::SubaccountDomains(_) => Endpoint::SubaccountDomains,
        }
    }

    async fn page(self, client: &Client, offset: usize) -> Result<Answer, ApiError> {
        match self {
            List::Domains => client.domains(LIST_PAGE_SIZE, offset).await,
            List::Organizations => client.organizations(LIST_PAGE_SIZE, offset).await,
            List::SubaccountDomains(id) => {
                client.subaccount_domains(id, LIST_PAGE_SIZE, offset).await
            }
        }
    }
}

/// A page of a list, as far as paging goes.
trait Paged: DeserializeOwned {
    type Item;
    fn page(&self) -> Option<&Page>;
    fn into_items(self) -> Vec<Self::Item>;
}

impl Paged for DomainList {
    type Item = crate::certcentral::validations::Domain;
    fn page(&self) -> Option<&Page> {
        self.page.as_ref()
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.domains
    }
}

impl Paged for OrganizationList {
    type Item = crate::certcentral::validations::Organization;
    fn page(&self) -> Option<&Page> {
        self.page.as_ref()
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.organizations
    }
}

/// Whether an error says the key may not read the list at all.
fn denied(err: &ApiError) -> bool {
    matches!(err.status(), Some(401 | 403 | 404))
}

impl Poller {
    /// Whether the validations are due: never read, or read longer ago
    /// than the refresh interval.
    pub(super) fn validations_due(&self) -> bool {
        let refresh = chrono::Duration::from_std(self.settings.validations_refresh)
            .unwrap_or(chrono::Duration::MAX);
        self.validations.as_ref().is_none_or(|index| {
            let age = Utc::now() - index.snapshot().fetched_at;
            // A refresh from the future (a clock set back) is due too.
            age >= refresh || age < chrono::Duration::zero()
        })
    }
}

impl Listings {
    /// Reads every validation list (the subaccounts' domain lists of
    /// `subaccounts`), counting the requests in `requests`. What it read is
    /// saved in the store, and is to replace the validations in use.
    pub(super) async fn read_validations(
        &mut self,
        subaccounts: Vec<u64>,
        requests: &mut usize,
    ) -> Result<Arc<ValidationIndex>, PollError> {
        let domains = self
            .read_list::<DomainList>(List::Domains, requests)
            .await?
            .map(|items| {
                items
                    .iter()
                    .filter_map(|d| DomainValidation::from_wire(d, None))
                    .collect::<Vec<_>>()
            });
        let organizations = self
            .read_list::<OrganizationList>(List::Organizations, requests)
            .await?
            .map(|items| {
                items
                    .iter()
                    .filter_map(OrganizationValidation::from_wire)
                    .collect::<Vec<_>>()
            });
        let mut subaccount_domains = Vec::new();
        for id in subaccounts {
            let list = List::SubaccountDomains(id);
            if let Some(items) = self.read_list::<DomainList>(list, requests).await? {
                subaccount_domains.extend(
                    items
                        .iter()
                        .filter_map(|d| DomainValidation::from_wire(d, Some(id))),
                );
            }
        }
        let snapshot = Arc::new(ValidationSnapshot {
            fetched_at: Utc::now(),
            domains: dedup(domains),
            organizations: organizations.map(|mut orgs| {
                let mut seen = HashSet::new();
                orgs.retain(|o| seen.insert(o.id));
                orgs
            }),
            subaccount_domains: dedup(Some(subaccount_domains)).unwrap_or_default(),
        });
        tracing::info!(
            account = %self.account,
            domains = snapshot.domains.as_ref().map_or(0, Vec::len),
            organizations = snapshot.organizations.as_ref().map_or(0, Vec::len),
            subaccount_domains = snapshot.subaccount_domains.len(),
            requests = *requests,
            "read the account's validations"
        );
        if let Some(store) = self.store.clone() {
            let kept = snapshot.clone();
            let saved = tokio::task::spawn_blocking(move || store.save_validations(&kept)).await;
            if let Ok(Err(err)) = saved {
                tracing::warn!(account = %self.account, error = %err, "cannot save the validations in the state store");
            }
        }
        Ok(Arc::new(ValidationIndex::new(snapshot)))
    }

    /// Every page of one list, or `None` when the key may not read it.
    async fn read_list<L: Paged>(
        &mut self,
        list: List,
        requests: &mut usize,
    ) -> Result<Option<Vec<L::Item>>, PollError> {
        let endpoint = list.endpoint();
        let mut items = Vec::new();
        let mut offset = 0;
        for _ in 0..MAX_PAGES {
            *requests += 1;
            let answer = match list.page(&self.client, offset).await {
                Ok(answer) => answer,
                Err(err) if offset == 0 && denied(&err) => {
                    self.telemetry
                        .validation_denied
                        .with_label_values(&[&self.account, endpoint.as_str()])
                        .inc();
                    if self.validation_denials_logged.insert(list) {
                        match list {
                            // A parent account's key commonly may not read
                            // a sub-subaccount's domains: that subaccount's
                            // names go without validations, which is no
                            // reason to warn.
                            List::SubaccountDomains(subaccount) => tracing::info!(
                                account = %self.account,
                                subaccount,
                                reason = %err,
                                "the API key may not read the domains of this subaccount; its names go without validations (said once)"
                            ),
                            List::Domains | List::Organizations => tracing::warn!(
                                account = %self.account,
                                %endpoint,
                                reason = %err,
                                "the API key may not read this validation list; validations go without it (said once)"
                            ),
                        }
                    }
                    return Ok(None);
                }
                Err(err) => return Err(err.into()),
            };
            let page: L = self.client.decode(endpoint, &answer.text()?)?;
            let total = page.page().and_then(|p| p.total).map(|t| t as usize);
            let page = page.into_items();
            let count = page.len();
            offset += count;
            items.extend(page);
            let done = count == 0 || total.map_or(count < LIST_PAGE_SIZE, |total| offset >= total);
            if done {
                self.validation_denials_logged.remove(&list);
                return Ok(Some(items));
            }
        }
        Err(PollError::PagingStuck {
            endpoint: endpoint.as_str(),
            offset,
        })
    }
}

/// Each domain record once (offset paging may show one twice).
fn dedup(domains: Option<Vec<DomainValidation>>) -> Option<Vec<DomainValidation>> {
    domains.map(|mut domains| {
        let mut seen = HashSet::new();
        domains.retain(|d| seen.insert(d.id));
        domains
    })
}
