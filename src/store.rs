//! The state kept across restarts (`--storage.path`): what order details
//! and reissue lists taught us, per account, so that a restart costs the
//! report pages and nothing more until entries age out.
//!
//! One JSON file per account. Writes go to a temporary file that is synced
//! and then renamed over the old one, so a kill at any instant leaves either
//! the old or the new file, both whole. A file that cannot be read, or that
//! belongs to another account, API base or format, is renamed aside and
//! reported, never trusted and never a crash.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fleet::OrderDetails;

const FORMAT: &str = "certcentral-exporter-store";
const VERSION: u32 = 1;

/// One account's store file.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    account: String,
    base_url: String,
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
        let file_name: String = account
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Store {
            path: dir.join(format!("{file_name}.state.json")),
            account: account.to_owned(),
            base_url: base_url.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the store holds; empty when there is no file yet. A damaged or
    /// foreign file is set aside (renamed `*.bad-<time>`) and reported.
    pub fn load(&self) -> Result<HashMap<u64, Arc<OrderDetails>>, StoreError> {
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
        let aside = self
            .path
            .with_extension(format!("bad-{}", Utc::now().format("%Y%m%dT%H%M%S")));
        match std::fs::rename(&self.path, &aside) {
            Ok(()) => tracing::warn!(
                account = %self.account,
                path = %self.path.display(),
                moved_to = %aside.display(),
                problem,
                "the state store cannot be trusted; set it aside and starting afresh"
            ),
            Err(e) => tracing::warn!(
                account = %self.account,
                path = %self.path.display(),
                problem,
                error = %e,
                "the state store cannot be trusted and cannot be moved aside; ignoring it"
            ),
        }
        Ok(HashMap::new())
    }

    /// Replaces the store's content, crash-safely.
    pub fn save(&self, orders: &HashMap<u64, Arc<OrderDetails>>) -> Result<(), StoreError> {
        let write_err = |source| StoreError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let file = File {
            format: FORMAT.to_owned(),
            version: VERSION,
            account: self.account.clone(),
            base_url: self.base_url.clone(),
            saved_at: Utc::now(),
            orders: orders.clone(),
        };
        let tmp = self.path.with_extension("tmp");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(write_err)?);
        serde_json::to_writer(&mut out, &file).map_err(|e| write_err(e.into()))?;
        let out = out.into_inner().map_err(|e| write_err(e.into_error()))?;
        out.sync_all().map_err(write_err)?;
        drop(out);
        std::fs::rename(&tmp, &self.path).map_err(write_err)?;
        if let Some(dir) = self.path.parent()
            && let Ok(dir) = std::fs::File::open(dir)
        {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(fingerprint: u32) -> Arc<OrderDetails> {
        Arc::new(OrderDetails {
            fingerprint,
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

    #[test]
    fn another_accounts_file_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        Store::new(dir.path(), "prod", "https://x/services/v2")
            .save(&HashMap::from([(1, details(7))]))
            .unwrap();
        let other = Store::new(dir.path(), "prod", "https://eu/services/v2");
        assert!(other.load().unwrap().is_empty());
    }
}
