//! The state kept across restarts (`--storage.path`): what order details
//! and reissue lists taught us, per account, so that a restart costs the
//! report pages and nothing more until entries age out; and the latest
//! read of the account's validations (`<account>.validations.json`,
//! replaced whole after each refresh in the same crash-safe way), so that
//! a restart does not read them again before their refresh is due.
//!
//! Two files per account for the details. The snapshot (`<account>.state.json`) is written
//! whole at the end of a poll, to a temporary file that is synced and then
//! renamed over the old one, so a kill at any instant leaves either the old
//! or the new file, both whole; a write that fails removes its temporary
//! file. Between snapshots, every answer is appended to the journal
//! (`<account>.journal.jsonl`, one JSON line each) the moment it is read,
//! so that a poll cut short by its deadline, a failure or a kill loses
//! nothing it paid for; a snapshot replaces the journal. A line cut short by
//! a kill is ignored. A file that cannot be read, or that belongs to another
//! account, API base or format, is renamed aside and reported, never
//! trusted and never a crash.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::coverage::ValidationSnapshot;
use crate::fleet::OrderDetails;

const FORMAT: &str = "certcentral-exporter-store";
const VALIDATIONS_FORMAT: &str = "certcentral-exporter-validations";
const JOURNAL_FORMAT: &str = "certcentral-exporter-journal";
const VERSION: u32 = 1;

/// One account's store: its snapshot and its journal.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    journal_path: PathBuf,
    validations_path: PathBuf,
    account: String,
    base_url: String,
    /// The journal, open for appending once the first entry is written.
    journal: Arc<Mutex<Option<std::fs::File>>>,
}

/// The first line of a journal: whose it is.
#[derive(Serialize, Deserialize)]
struct JournalHeader {
    format: String,
    version: u32,
    account: String,
    base_url: String,
}

/// A line of the journal: an order's details as just read, or `null` when
/// the order is gone.
#[derive(Serialize, Deserialize)]
struct JournalEntry {
    order_id: u64,
    details: Option<Arc<OrderDetails>>,
}

/// The validations file.
#[derive(Serialize, Deserialize)]
struct ValidationsFile {
    format: String,
    version: u32,
    account: String,
    base_url: String,
    validations: ValidationSnapshot,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    account: String,
    base_url: String,
    saved_at: DateTime<Utc>,
    orders: HashMap<u64, Arc<OrderDetails>>,
}

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Store {
    /// The store of `account` (polled at `base_url`) in directory `dir`.
    pub fn new(dir: &Path, account: &str, base_url: &str) -> Store {
        let file_name = file_stem(account);
        Store {
            path: dir.join(format!("{file_name}.state.json")),
            journal_path: dir.join(format!("{file_name}.journal.jsonl")),
            validations_path: dir.join(format!("{file_name}.validations.json")),
            account: account.to_owned(),
            base_url: base_url.to_owned(),
            journal: Arc::new(Mutex::new(None)),
        }
    }

    /// The snapshot's path, for log lines.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the store holds: the snapshot with the journal's entries on
    /// top; empty when there is no file yet. A damaged or foreign file is
    /// set aside (renamed `*.bad-<time>`) and reported.
    pub fn load(&self) -> Result<HashMap<u64, Arc<OrderDetails>>, StoreError> {
        let mut orders = self.load_snapshot()?;
        self.replay_journal(&mut orders)?;
        Ok(orders)
    }

    fn load_snapshot(&self) -> Result<HashMap<u64, Arc<OrderDetails>>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let problem = match serde_json::from_slice::<File>(&bytes) {
            Err(e) => format!("unreadable ({e})"),
            Ok(file) if file.format != FORMAT || file.version != VERSION => {
                format!(
                    "format {} version {}, expected {FORMAT} {VERSION}",
                    file.format, file.version
                )
            }
            Ok(file) if file.account != self.account || file.base_url != self.base_url => format!(
                "belongs to account {} at {}, not {} at {}",
                file.account, file.base_url, self.account, self.base_url
            ),
            Ok(file) => return Ok(file.orders),
        };
        self.set_aside(&self.path, &problem);
        Ok(HashMap::new())
    }

    /// Applies the journal's entries, in order, on top of the snapshot. A
    /// last line cut short (a kill mid-write) is ignored; a journal of
    /// another account is set aside.
    fn replay_journal(
        &self,
        orders: &mut HashMap<u64, Arc<OrderDetails>>,
    ) -> Result<(), StoreError> {
        let file = match std::fs::File::open(&self.journal_path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.journal_path.clone(),
                    source,
                });
            }
        };
        let mut lines = std::io::BufReader::new(file).split(b'\n');
        let header = match lines.next() {
            None => return Ok(()),
            Some(line) => line.map_err(|source| StoreError::Read {
                path: self.journal_path.clone(),
                source,
            })?,
        };
        let problem = match serde_json::from_slice::<JournalHeader>(&header) {
            Err(e) => Some(format!("unreadable header ({e})")),
            Ok(h) if h.format != JOURNAL_FORMAT || h.version != VERSION => Some(format!(
                "format {} version {}, expected {JOURNAL_FORMAT} {VERSION}",
                h.format, h.version
            )),
            Ok(h) if h.account != self.account || h.base_url != self.base_url => Some(format!(
                "belongs to account {} at {}, not {} at {}",
                h.account, h.base_url, self.account, self.base_url
            )),
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            self.set_aside(&self.journal_path, &problem);
            return Ok(());
        }
        for line in lines {
            let line = line.map_err(|source| StoreError::Read {
                path: self.journal_path.clone(),
                source,
            })?;
            let Ok(entry) = serde_json::from_slice::<JournalEntry>(&line) else {
                // A line cut short by a kill or a failed write; every
                // other line is whole.
                continue;
            };
            match entry.details {
                Some(details) => orders.insert(entry.order_id, details),
                None => orders.remove(&entry.order_id),
            };
        }
        Ok(())
    }

    /// Renames a file that cannot be trusted out of the way, keeping the
    /// [`KEPT_ASIDE`] newest set aside from the same file.
    fn set_aside(&self, path: &Path, problem: &str) {
        let aside = path.with_extension(format!("bad-{}", Utc::now().format("%Y%m%dT%H%M%S")));
        let renamed = std::fs::rename(path, &aside);
        if renamed.is_ok() {
            prune_set_aside(&aside);
        }
        match renamed {
            Ok(()) => tracing::warn!(
                account = %self.account,
                path = %path.display(),
                moved_to = %aside.display(),
                problem,
                "the state store cannot be trusted; set it aside and starting afresh"
            ),
            Err(e) => tracing::warn!(
                account = %self.account,
                path = %path.display(),
                problem,
                error = %e,
                "the state store cannot be trusted and cannot be moved aside; ignoring it"
            ),
        }
    }

    /// Appends what was just read of one order (`None`: the order is gone)
    /// to the journal, so that it survives a kill before the next snapshot.
    pub fn append(
        &self,
        order_id: u64,
        details: Option<&Arc<OrderDetails>>,
    ) -> Result<(), StoreError> {
        let write_err = |source| StoreError::Write {
            path: self.journal_path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(&JournalEntry {
            order_id,
            details: details.cloned(),
        })
        .map_err(|e| write_err(e.into()))?;
        line.push(b'\n');
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.is_none() {
            *journal = Some(self.open_journal().map_err(write_err)?);
        }
        if let Some(file) = journal.as_mut()
            && let Err(e) = file.write_all(&line)
        {
            // A partial line is ignored when read; start the next one on
            // a line of its own.
            let _ = file.write_all(b"\n");
            return Err(write_err(e));
        }
        Ok(())
    }

    /// Opens the journal for appending, writing its header if it is new.
    fn open_journal(&self) -> std::io::Result<std::fs::File> {
        if let Some(dir) = self.journal_path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.journal_path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            // A line cut short by a kill: end it, so the next entry starts
            // a line of its own.
            let mut last = [0u8; 1];
            let mut reader = std::fs::File::open(&self.journal_path)?;
            std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(len - 1))?;
            std::io::Read::read_exact(&mut reader, &mut last)?;
            if last != *b"\n" {
                file.write_all(b"\n")?;
            }
        } else {
            let mut header = serde_json::to_vec(&JournalHeader {
                format: JOURNAL_FORMAT.to_owned(),
                version: VERSION,
                account: self.account.clone(),
                base_url: self.base_url.clone(),
            })?;
            header.push(b'\n');
            file.write_all(&header)?;
        }
        Ok(file)
    }

    /// Replaces the store's content, crash-safely, and then the journal:
    /// the snapshot holds all it said. A write that fails leaves the old
    /// snapshot and the journal as they were, and no temporary file.
    pub fn save(&self, orders: &HashMap<u64, Arc<OrderDetails>>) -> Result<(), StoreError> {
        let file = File {
            format: FORMAT.to_owned(),
            version: VERSION,
            account: self.account.clone(),
            base_url: self.base_url.clone(),
            saved_at: Utc::now(),
            orders: orders.clone(),
        };
        replace_file(&self.path, &file)?;
        // Held across the removal, so that no entry lands in a journal
        // about to go.
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        *journal = None;
        match std::fs::remove_file(&self.journal_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Write {
                path: self.journal_path.clone(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// The latest validations kept, if any; a damaged or foreign file is
    /// set aside and reported, like the snapshot.
    pub fn load_validations(&self) -> Result<Option<ValidationSnapshot>, StoreError> {
        let bytes = match std::fs::read(&self.validations_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.validations_path.clone(),
                    source,
                });
            }
        };
        let problem = match serde_json::from_slice::<ValidationsFile>(&bytes) {
            Err(e) => format!("unreadable ({e})"),
            Ok(file) if file.format != VALIDATIONS_FORMAT || file.version != VERSION => format!(
                "format {} version {}, expected {VALIDATIONS_FORMAT} {VERSION}",
                file.format, file.version
            ),
            Ok(file) if file.account != self.account || file.base_url != self.base_url => format!(
                "belongs to account {} at {}, not {} at {}",
                file.account, file.base_url, self.account, self.base_url
            ),
            Ok(file) => return Ok(Some(file.validations)),
        };
        self.set_aside(&self.validations_path, &problem);
        Ok(None)
    }

    /// Replaces the validations kept, crash-safely.
    pub fn save_validations(&self, validations: &ValidationSnapshot) -> Result<(), StoreError> {
        replace_file(
            &self.validations_path,
            &ValidationsFile {
                format: VALIDATIONS_FORMAT.to_owned(),
                version: VERSION,
                account: self.account.clone(),
                base_url: self.base_url.clone(),
                validations: validations.clone(),
            },
        )
    }
}

/// How many files set aside from one store file are kept (the newest):
/// enough to look into what went wrong, never a pile.
pub const KEPT_ASIDE: usize = 3;

/// Removes all but the [`KEPT_ASIDE`] newest files set aside from the same
/// store file as `aside` (`<stem>.bad-<time>`; the time sorts by name).
fn prune_set_aside(aside: &Path) {
    let (Some(dir), Some(name)) = (aside.parent(), aside.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    let Some(at) = name.rfind(".bad-") else {
        return;
    };
    let prefix = &name[..at + ".bad-".len()];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut siblings: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    siblings.sort();
    let excess = siblings.len().saturating_sub(KEPT_ASIDE);
    for old in &siblings[..excess] {
        let _ = std::fs::remove_file(old);
    }
}

/// The file name stem of an account's store files: its name with every
/// byte but ASCII letters, digits and `-` written `_XX` (hex), so that no
/// two account names share files (`prod.eu` is `prod_2Eeu`, `prod_eu`
/// is `prod_5Feu`).
fn file_stem(account: &str) -> String {
    let mut stem = String::with_capacity(account.len());
    for byte in account.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            stem.push(char::from(byte));
        } else {
            stem.push_str(&format!("_{byte:02X}"));
        }
    }
    stem
}

/// The exclusive hold of one exporter on a `--storage.path` directory:
/// two exporters writing the same files would undo each other's saves.
/// Released when dropped (or when the process ends, however it ends).
pub struct StoreLock {
    _file: std::fs::File,
}

/// The lock file in a storage directory.
const LOCK_FILE: &str = "lock";

impl StoreLock {
    /// Takes the directory (creating it), or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<StoreLock, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--storage.path {}: cannot create: {e}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                format!(
                    "--storage.path {}: cannot open {LOCK_FILE}: {e}",
                    dir.display()
                )
            })?;
        if let Err(err) = lock_exclusive(&file) {
            let mut holder = String::new();
            let _ = std::io::Read::read_to_string(&mut file, &mut holder);
            let holder = holder.trim();
            return Err(if err.kind() == std::io::ErrorKind::WouldBlock {
                format!(
                    "--storage.path {}: another exporter uses it ({}); give each its own directory",
                    dir.display(),
                    if holder.is_empty() {
                        "pid unknown".to_owned()
                    } else {
                        format!("pid {holder}")
                    }
                )
            } else {
                format!(
                    "--storage.path {}: cannot lock {LOCK_FILE}: {err}",
                    dir.display()
                )
            });
        }
        // Who holds it, for the message of the next one to try.
        let _ = file.set_len(0);
        let _ =
            std::io::Write::write_all(&mut file, format!("{}\n", std::process::id()).as_bytes());
        Ok(StoreLock { _file: file })
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &std::fs::File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(std::io::Error::from)
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Replaces `path` with `value` as JSON: written to a temporary file that
/// is synced and renamed over it, the directory synced after. A write that
/// fails leaves the old file and no temporary one.
fn replace_file<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let write_err = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let tmp = path.with_extension("tmp");
    let written = write_synced(&tmp, value).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(source));
    }
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Writes `file` as JSON to `path` and syncs it to disk.
fn write_synced<T: Serialize>(path: &Path, file: &T) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    serde_json::to_writer(&mut out, file)?;
    let out = out.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(fingerprint: u32) -> Arc<OrderDetails> {
        Arc::new(OrderDetails {
            fingerprint,
            fetched_at: "2026-12-01T00:00:00Z".parse().unwrap(),
            ..crate::fleet::fixtures::details()
        })
    }

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        assert!(store.load().unwrap().is_empty());
        let orders = HashMap::from([(1, details(7)), (2, details(8))]);
        store.save(&orders).unwrap();
        assert_eq!(store.load().unwrap(), orders);
    }

    #[test]
    fn the_validations_round_trip_and_a_foreign_file_is_not_trusted() {
        use crate::coverage::{DomainValidation, TypedValidation};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        assert_eq!(store.load_validations().unwrap(), None);
        let snapshot = ValidationSnapshot {
            fetched_at: "2026-12-01T00:00:00Z".parse().unwrap(),
            domains: Some(vec![DomainValidation {
                id: 7,
                name: "müller.example".into(),
                organization_id: Some(3),
                subaccount_id: None,
                active: true,
                exact_only: false,
                ov: Some(TypedValidation {
                    until: Some("2027-01-01T07:00:00Z".parse().unwrap()),
                    status: Some("active".into()),
                }),
                ev: None,
            }]),
            organizations: None,
            subaccount_domains: Vec::new(),
        };
        store.save_validations(&snapshot).unwrap();
        store.save(&HashMap::new()).unwrap();
        let again = Store::new(dir.path(), "prod", "https://x/services/v2");
        assert_eq!(again.load_validations().unwrap(), Some(snapshot));
        let other = Store::new(dir.path(), "prod", "https://eu/services/v2");
        assert_eq!(other.load_validations().unwrap(), None);
        assert!(
            !dir.path().join("prod.validations.json").exists(),
            "set aside"
        );
    }

    #[test]
    fn a_file_cut_mid_write_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        store.save(&HashMap::from([(1, details(7))])).unwrap();
        let bytes = std::fs::read(store.path()).unwrap();
        std::fs::write(store.path(), &bytes[..bytes.len() / 2]).unwrap();
        assert!(store.load().unwrap().is_empty());
        assert!(!store.path().exists(), "moved aside");
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".bad-"))
            .collect();
        assert_eq!(aside.len(), 1);
    }

    /// Account names that differ only in punctuation keep apart files.
    #[test]
    fn no_two_account_names_share_files() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "prod.eu",
            "prod_eu",
            "prod-eu",
            "prod eu",
            "prod/eu",
            "prodeu",
            "prod_2Eeu",
        ];
        let paths: std::collections::BTreeSet<PathBuf> = names
            .iter()
            .map(|n| {
                Store::new(dir.path(), n, "https://x/services/v2")
                    .path()
                    .to_owned()
            })
            .collect();
        assert_eq!(paths.len(), names.len(), "{paths:?}");
        assert_eq!(file_stem("prod.eu"), "prod_2Eeu");
        assert_eq!(file_stem("prod_eu"), "prod_5Feu");
        let eu = Store::new(dir.path(), "prod.eu", "https://x/services/v2");
        let other = Store::new(dir.path(), "prod_eu", "https://x/services/v2");
        eu.save(&HashMap::from([(1, details(7))])).unwrap();
        other.save(&HashMap::from([(2, details(8))])).unwrap();
        assert_eq!(eu.load().unwrap().keys().collect::<Vec<_>>(), [&1]);
        assert_eq!(other.load().unwrap().keys().collect::<Vec<_>>(), [&2]);
    }

    /// Files set aside do not pile up: the newest few of each are kept.
    #[test]
    fn files_set_aside_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        for i in 0..6 {
            let old = dir.path().join(format!("prod.state.bad-2026010{i}T000000"));
            std::fs::write(&old, "x").unwrap();
        }
        std::fs::write(store.path(), "not json").unwrap();
        assert!(store.load().unwrap().is_empty());
        let mut aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".bad-"))
            .collect();
        aside.sort();
        assert_eq!(aside.len(), KEPT_ASIDE, "{aside:?}");
        assert!(
            aside[0].ends_with("20260104T000000") && aside[1].ends_with("20260105T000000"),
            "the oldest went first, the one just set aside stays: {aside:?}"
        );
    }

    /// A second hold on a storage directory is refused with the holder's
    /// pid; the directory is free again once the first is dropped.
    #[test]
    fn a_storage_directory_has_one_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("state");
        let first = StoreLock::acquire(&store).unwrap();
        let err = StoreLock::acquire(&store).err().unwrap();
        assert!(err.contains("another exporter uses it"), "{err}");
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert!(StoreLock::acquire(&store).is_ok());
    }

    #[test]
    fn another_accounts_file_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        Store::new(dir.path(), "prod", "https://x/services/v2")
            .save(&HashMap::from([(1, details(7))]))
            .unwrap();
        let other = Store::new(dir.path(), "prod", "https://eu/services/v2");
        assert!(other.load().unwrap().is_empty());
    }

    #[test]
    fn the_journal_holds_what_was_read_since_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        store
            .save(&HashMap::from([(1, details(7)), (2, details(8))]))
            .unwrap();
        store.append(3, Some(&details(9))).unwrap();
        store.append(1, Some(&details(10))).unwrap();
        store.append(2, None).unwrap();
        // A restart (a new Store) reads the snapshot with the journal on top.
        let again = Store::new(dir.path(), "prod", "https://x/services/v2");
        let expected = HashMap::from([(1, details(10)), (3, details(9))]);
        assert_eq!(again.load().unwrap(), expected);
        // A snapshot replaces the journal.
        again.save(&expected).unwrap();
        assert!(!dir.path().join("prod.journal.jsonl").exists());
        assert_eq!(store.load().unwrap(), expected);
    }

    #[test]
    fn a_line_cut_by_a_kill_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        store.append(1, Some(&details(7))).unwrap();
        store.append(2, Some(&details(8))).unwrap();
        let journal = dir.path().join("prod.journal.jsonl");
        let text = std::fs::read(&journal).unwrap();
        std::fs::write(&journal, &text[..text.len() - 20]).unwrap();
        let again = Store::new(dir.path(), "prod", "https://x/services/v2");
        assert_eq!(again.load().unwrap(), HashMap::from([(1, details(7))]));
        // Appending after a cut line starts a line of its own, and the
        // cut line hides nothing after it.
        again.append(3, Some(&details(9))).unwrap();
        let loaded = Store::new(dir.path(), "prod", "https://x/services/v2")
            .load()
            .unwrap();
        assert_eq!(loaded, HashMap::from([(1, details(7)), (3, details(9))]));
    }

    #[test]
    fn another_accounts_journal_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        Store::new(dir.path(), "prod", "https://x/services/v2")
            .append(1, Some(&details(7)))
            .unwrap();
        let other = Store::new(dir.path(), "prod", "https://eu/services/v2");
        assert!(other.load().unwrap().is_empty());
        assert!(!dir.path().join("prod.journal.jsonl").exists(), "set aside");
    }

    /// A snapshot written onto a full file system (a 64 KiB tmpfs, which
    /// needs root to mount) fails, leaves no temporary file behind and
    /// keeps the old snapshot and the journal.
    #[test]
    fn a_write_onto_a_full_file_system_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (CI runs this as root)");
            return;
        }
        let store = Store::new(dir.path(), "prod", "https://x/services/v2");
        let small = HashMap::from([(1, details(7))]);
        store.save(&small).unwrap();
        store.append(2, Some(&details(8))).unwrap();
        let big: HashMap<u64, Arc<OrderDetails>> = (0..2000).map(|id| (id, details(1))).collect();
        let result = store.save(&big);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let loaded = store.load();
        drop(store); // its journal is open
        let unmounted = std::process::Command::new("umount")
            .arg(dir.path())
            .status();
        assert!(unmounted.is_ok_and(|s| s.success()), "unmounted");
        assert!(result.is_err(), "the file system is full");
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        assert_eq!(
            loaded.unwrap(),
            HashMap::from([(1, details(7)), (2, details(8))])
        );
    }
}
