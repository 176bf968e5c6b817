//! The account-state board: what each account's latest polls produced, as
//! the rest of the exporter reads it. The poller publishes on it; the
//! metrics renderer, the readiness check and the landing page read it. It
//! depends on nothing downstream (and not on the poller), so readers never
//! depend on the driver.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::certcentral::ErrorKind;
use crate::coverage::ValidationIndex;
use crate::fleet::Fleet;

/// What one account's latest polls produced, as the rest of the exporter
/// sees it. Replaced whole, never changed in place.
#[derive(Debug, Clone)]
pub struct AccountState {
    /// The account's name, as configured (the `account` label).
    pub account: String,
    /// How often the account is polled: how stale its data may be.
    pub poll_interval: Duration,
    /// The fleet of the latest successful report read.
    pub fleet: Option<Arc<Fleet>>,
    /// Whether the latest poll, finished or under way, read the whole
    /// report: `certcentral_up`.
    pub up: bool,
    /// When a poll last read the whole report.
    pub last_success: Option<DateTime<Utc>>,
    /// How the latest finished poll ended; `None` until one has.
    pub last_poll: Option<PollOutcome>,
    /// Detail reads still due, and how old the details in use are.
    pub details: DetailsProgress,
    /// The account's validations, once read (or loaded from the store).
    pub validations: Option<Arc<ValidationIndex>>,
}

impl AccountState {
    /// The state of an account not polled yet.
    pub fn new(account: String, poll_interval: Duration) -> AccountState {
        AccountState {
            account,
            poll_interval,
            fleet: None,
            up: false,
            last_success: None,
            last_poll: None,
            details: DetailsProgress::default(),
            validations: None,
        }
    }
}

/// How the latest poll ended.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    /// When the poll ended.
    pub ended_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
    /// `None` when the poll succeeded (read the whole report).
    pub failure: Option<PollFailure>,
    /// Steps after the report that ended early, though the poll succeeded.
    pub incomplete: Vec<(&'static str, PollFailure)>,
}

/// A failed poll, ready for a log line, a metric label and the landing page.
#[derive(Debug, Clone)]
pub struct PollFailure {
    /// The class of failure (the `kind` label).
    pub kind: ErrorKind,
    /// What went wrong, without the API key.
    pub message: String,
}

/// Why an order is due, most urgent first; the `reason` label of
/// `certcentral_details_due`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Details never read, or read for an earlier version of the report row.
    New,
    /// Details current, reissue list missing or older than them.
    Reissues,
    /// Waiting on a request: read again to follow it.
    Waiting,
    /// Routine refresh of details past their refresh age.
    Refresh,
}

impl Reason {
    /// Every reason, in label order.
    pub const ALL: [Reason; 4] = [
        Reason::New,
        Reason::Reissues,
        Reason::Waiting,
        Reason::Refresh,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Reissues => "reissues",
            Reason::Waiting => "waiting",
            Reason::Refresh => "refresh",
        }
    }
}

/// How much detail work is due for an account, as its metrics show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailsProgress {
    /// Reads due, by reason (a reissue list counts apart from its details).
    pub due: [usize; Reason::ALL.len()],
    /// When the oldest details still in use were read.
    pub oldest: Option<DateTime<Utc>>,
}

impl DetailsProgress {
    /// Every read still due: `certcentral_details_backlog`.
    pub fn backlog(&self) -> usize {
        self.due.iter().sum()
    }

    /// Reads due for one reason.
    pub fn due(&self, reason: Reason) -> usize {
        self.due[reason as usize]
    }
}

/// The latest state of every account, and a signal when one changes.
pub struct Board {
    states: RwLock<BTreeMap<String, Arc<AccountState>>>,
    changes: watch::Sender<u64>,
}

impl Board {
    /// A board for these accounts, none polled yet.
    pub fn new(accounts: impl IntoIterator<Item = (String, Duration)>) -> Board {
        let states = accounts
            .into_iter()
            .map(|(account, interval)| {
                (
                    account.clone(),
                    Arc::new(AccountState::new(account, interval)),
                )
            })
            .collect();
        Board {
            states: RwLock::new(states),
            changes: watch::Sender::new(0),
        }
    }

    /// Replaces one account's state and wakes whoever watches the board.
    pub fn publish(&self, state: AccountState) {
        let mut states = self.states.write().unwrap_or_else(|e| e.into_inner());
        states.insert(state.account.clone(), Arc::new(state));
        drop(states);
        self.changes.send_modify(|version| *version += 1);
    }

    /// Every account's current state, in account order.
    pub fn states(&self) -> Vec<Arc<AccountState>> {
        let states = self.states.read().unwrap_or_else(|e| e.into_inner());
        states.values().cloned().collect()
    }

    /// One account's current state.
    pub fn state(&self, account: &str) -> Option<Arc<AccountState>> {
        let states = self.states.read().unwrap_or_else(|e| e.into_inner());
        states.get(account).cloned()
    }

    /// How many states have been published: what was built from the board
    /// at one version is current while the version is.
    pub fn version(&self) -> u64 {
        *self.changes.borrow()
    }

    /// A receiver that changes whenever an account's state is published.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
