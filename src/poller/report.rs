//! Reading the order report: every page in order, several requested at
//! once while the ones before are parsed (on a blocking thread), pages unchanged
//! since the read before kept as they were (see `memo`). A read
//! that fails anywhere fails whole: a half-read report is never a fleet.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use crate::certcentral::report::{self, Interner, ReportError, ReportRow, SkippedRow};

use tokio::sync::mpsc;

use crate::certcentral::{ApiError, Client};

use super::memo::{KnownPage, Recognised};
use super::{PollError, Poller};

/// Pages read, inflated and recognised, that may wait for the parse.
const PAGES_WAITING: usize = 2;

/// A page's answer.
type PageAnswer = Result<Recognised<report::ReportPage>, ApiError>;

/// One page requested ahead, on a task of its own (so that its answer
/// arrives while the pages before it are handed on); aborted if dropped.
struct Ahead(tokio::task::JoinHandle<PageAnswer>);

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The report's pages read on a task of their own, up to `concurrency`
/// requests in flight, handed on in order, inflated and recognised, while
/// the pages before them are parsed (at most [`PAGES_WAITING`] waiting).
///
/// How far ahead it asks: the pages the previous read found are asked for
/// at once (`concurrency` at a time), so that a report as before costs its
/// pages and no request more; past them (or from the second page on, in a
/// first read) only once every page so far has come back full, since the
/// CSV report says nothing of its length: a first read asks for at most
/// `concurrency - 1` pages past the end. The parse still decides where the
/// report ends; dropped (the read failed, ended or was cancelled), the
/// reader is aborted with every request it has in flight.
struct PageReader {
    pages: mpsc::Receiver<PageAnswer>,
    /// Taken once the reader has stopped.
    task: Option<tokio::task::JoinHandle<()>>,
}

impl PageReader {
    fn start(
        client: &Arc<Client>,
        known: Vec<KnownPage<report::ReportPage>>,
        limit: usize,
        concurrency: usize,
    ) -> PageReader {
        let (send, pages) = mpsc::channel(PAGES_WAITING);
        let client = client.clone();
        let known = Arc::new(known);
        let task = tokio::spawn(async move {
            let request = |index: usize| {
                let (client, known) = (client.clone(), known.clone());
                Ahead(tokio::spawn(async move {
                    let answer = client.report_page(limit, index * limit).await?;
                    KnownPage::recognise(&answer, known.get(index))
                }))
            };
            // Pages known to exist: those of the previous read (at least
            // the first); the rest exist once every page so far was full.
            let known_pages = known.len().max(1);
            let mut ahead: VecDeque<Ahead> = VecDeque::new();
            let (mut next, mut full_so_far) = (0, 0);
            loop {
                while ahead.len() < concurrency.max(1)
                    && (next < known_pages || full_so_far >= known_pages)
                {
                    ahead.push_back(request(next));
                    next += 1;
                }
                let Some(mut front) = ahead.pop_front() else {
                    return;
                };
                let page = match (&mut front.0).await {
                    Ok(page) => page,
                    Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                    Err(_) => return,
                };
                let full = match &page {
                    Ok(Recognised::Known(known)) => known.parsed.records >= limit,
                    Ok(Recognised::New(new)) => report::looks_full(&new.text, limit),
                    Err(_) => false,
                };
                if send.send(page).await.is_err() || !full {
                    return;
                }
                full_so_far += 1;
            }
        });
        PageReader {
            pages,
            task: Some(task),
        }
    }

    /// The next page, or `None` once the reader has stopped (the page
    /// before it did not look full, or the runtime is shutting down).
    async fn next(&mut self) -> Option<Result<Recognised<report::ReportPage>, ApiError>> {
        if let Some(page) = self.pages.recv().await {
            return Some(page);
        }
        let task = self.task.take()?;
        match task.await {
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            _ => None,
        }
    }
}

impl Drop for PageReader {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// What a report read found.
pub(super) enum ReportRead {
    /// Every page as in the previous read: the fleet built from it stands.
    Unchanged,
    Changed(ReportRows),
}

/// The rows of a report read.
#[derive(Default)]
pub(super) struct ReportRows {
    pub(super) rows: Vec<Arc<ReportRow>>,
    pub(super) skipped: Vec<SkippedRow>,
    /// Order ids on the pages added so far.
    seen: HashSet<u64>,
}

impl ReportRows {
    /// Adds the rows of the next page; says how many of its orders were not
    /// on an earlier page.
    fn add(&mut self, page: &report::ReportPage) -> usize {
        let new_orders = page
            .rows
            .iter()
            .filter(|r| self.seen.insert(r.order_id))
            .count();
        self.rows.extend(page.rows.iter().cloned());
        self.skipped.extend(page.skipped.iter().cloned());
        new_orders
    }
}

impl Poller {
    /// Reads every page of the report, in order. Any failure fails the whole
    /// read: a half-read report is never a fleet. A page that comes back
    /// byte for byte as in the previous read is not parsed again, and a
    /// report that comes back whole as before leaves the fleet as it is.
    pub(super) async fn read_report(&mut self) -> Result<ReportRead, PollError> {
        let page_size = self.settings.page_size;
        // Strings are interned afresh each poll, so that names no longer in
        // the report are freed.
        self.parse_context.interner = Interner::default();
        let mut pages: Vec<KnownPage<report::ReportPage>> = Vec::new();
        // Rows are gathered from the first page that differs from the
        // previous read (or all of them, without a fleet to keep).
        let mut changed: Option<ReportRows> = None;
        let mut offset = 0;
        let mut reader = PageReader::start(
            &self.client,
            self.report_pages.clone(),
            page_size,
            self.settings.concurrency,
        );
        loop {
            // A reader that stopped early leaves the rest to be read here,
            // in turn.
            let recognised = match reader.next().await {
                Some(page) => page?,
                None => {
                    let answer = self.client.report_page(page_size, offset).await?;
                    KnownPage::recognise(&answer, self.report_pages.get(pages.len()))?
                }
            };
            let known = match recognised {
                Recognised::Known(known) => known,
                Recognised::New(new) => {
                    let parsed = self.parse_report_page(&new.text).await;
                    new.parsed(Arc::new(
                        parsed.map_err(|source| PollError::Report { offset, source })?,
                    ))
                }
            };
            let page = &known.parsed;
            let as_before = changed.is_none()
                && self.fleet.is_some()
                && self
                    .report_pages
                    .get(pages.len())
                    .is_some_and(|old| known.shares_parse(old));
            if !as_before {
                let rows = changed.get_or_insert_with(|| {
                    let mut rows = ReportRows::default();
                    for earlier in &pages {
                        rows.add(&earlier.parsed);
                    }
                    rows
                });
                let new_orders = rows.add(page);
                if page.records > 0 && new_orders == 0 && page.skipped.is_empty() {
                    return Err(PollError::PagingStuck {
                        endpoint: "report",
                        offset,
                    });
                }
            }
            if offset + page.records > self.settings.max_orders {
                return Err(PollError::TooManyRows {
                    endpoint: "report",
                    limit: self.settings.max_orders,
                });
            }
            let last = page.records < page_size;
            pages.push(known);
            if last {
                self.pages_reused = pages
                    .iter()
                    .zip(&self.report_pages)
                    .filter(|(new, old)| new.shares_parse(old))
                    .count();
                self.report_pages = pages;
                let Some(rows) = changed else {
                    return Ok(ReportRead::Unchanged);
                };
                self.parse_context
                    .csr_keys
                    .retain(|id| rows.seen.contains(&id));
                return Ok(ReportRead::Changed(rows));
            }
            offset += page_size;
        }
    }

    /// Parses a report page on a blocking thread, so that the page after it
    /// downloads meanwhile. (A poll cancelled during the parse starts its
    /// next read with an empty CSR cache: slower, not wrong.)
    async fn parse_report_page(
        &mut self,
        text: &bytes::Bytes,
    ) -> Result<report::ReportPage, ReportError> {
        let moved = text.clone();
        let mut context = std::mem::take(&mut self.parse_context);
        let parsed = tokio::task::spawn_blocking(move || {
            let page = report::parse_page(&moved, &mut context);
            (page, context)
        })
        .await;
        match parsed {
            Ok((page, context)) => {
                self.parse_context = context;
                page
            }
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Not run (the runtime shutting down): parsed here instead.
            Err(_) => report::parse_page(text, &mut self.parse_context),
        }
    }

    /// Logs each report row that cannot be understood once, not at every
    /// poll (again if it comes back after a read without it).
    pub(super) fn log_skipped_once(&mut self, skipped: &[SkippedRow]) {
        let current: HashSet<(String, String)> = skipped
            .iter()
            .map(|s| (s.order_id.clone(), s.reason.clone()))
            .collect();
        for (order_id, reason) in current.difference(&self.logged_skips) {
            tracing::warn!(
                account = %self.account,
                order_id = %order_id,
                reason = %reason,
                "skipping a report row that cannot be understood"
            );
        }
        self.logged_skips = current;
    }
}
