//! Linked accounts: their metadata (never secrets) and the file that keeps it.
//!
//! The file is written atomically (temporary file, fsync, rename, fsync of the folder). A file that is
//! corrupt or from an unknown version is reported and left alone: it is never replaced by an empty list.
//! Read-modify-write goes through [`AccountStore::update`], which holds an exclusive lock on a file beside
//! it, so the app and a command line running at the same time never overwrite each other's changes.

pub mod lock;
pub mod watch;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where an account stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AccountState {
    /// Tokens are in the keyring and usable.
    Connected,
    /// The user must sign in again; `reason` says why in plain words.
    NeedsReconnect {
        /// Why.
        reason: String,
    },
}

/// One linked account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Stable id, also the user name of its keyring item.
    pub id: String,
    /// The provider it is linked at.
    pub provider_id: String,
    /// The tenant (e.g. a Workfront organization host), for providers that have one.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Non-secret details the provider returned and asked to keep (Workfront's `domain`, `lane`, `wid`).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// Who the account belongs to, as the provider says (e-mail or name), when known.
    pub display_name: Option<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// `token_type` of the access token.
    pub token_type: String,
    /// When it was linked (Unix seconds).
    pub linked_at: u64,
    /// When the access token expires (Unix seconds); `None` when the provider did not say.
    pub expires_at: Option<u64>,
    /// Whether a refresh token is in the keyring.
    pub has_refresh_token: bool,
    /// Lifecycle state.
    pub state: AccountState,
    /// When the tokens were last refreshed (Unix seconds); `None` if never since linking.
    #[serde(default)]
    pub refreshed_at: Option<u64>,
    /// How many times the tokens were refreshed; compared to tell whether another refresh got there first.
    #[serde(default)]
    pub refreshes: u64,
    /// The last refresh failure that will be retried, in plain words; cleared by a successful refresh.
    #[serde(default)]
    pub last_error: Option<String>,
}

impl Account {
    /// A connected account at `provider_id` with a refresh token, linked at time 0 and nothing else set,
    /// for tests to adjust with struct update syntax.
    #[cfg(test)]
    pub(crate) fn for_test(id: &str, provider_id: &str) -> Self {
        Self {
            id: id.into(),
            provider_id: provider_id.into(),
            tenant: None,
            details: BTreeMap::new(),
            display_name: None,
            scopes: vec![],
            token_type: "Bearer".into(),
            linked_at: 0,
            expires_at: None,
            has_refresh_token: true,
            state: AccountState::Connected,
            refreshed_at: None,
            refreshes: 0,
            last_error: None,
        }
    }

    /// When the current tokens were obtained (Unix seconds): the last refresh, else the link.
    pub fn obtained_at(&self) -> u64 {
        self.refreshed_at.unwrap_or(self.linked_at)
    }
}

/// Why the account file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid account list; it is left untouched.
    #[error("{path} is damaged ({reason}); it was left untouched so nothing is lost — move it aside to start over")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    accounts: Vec<Account>,
}

const VERSION: u32 = 1;

/// The account metadata file.
#[derive(Debug, Clone)]
pub struct AccountStore {
    path: PathBuf,
}

impl AccountStore {
    /// A store kept at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name of the temporary file this process writes and renames into place: a change renamed
    /// from it is this process's own (see [`watch::changes`]).
    pub fn temp_file_name(&self) -> String {
        format!("{}.tmp-{}", self.path.file_name().and_then(|n| n.to_str()).unwrap_or("accounts.json"), std::process::id())
    }

    /// All accounts; an absent file is an empty list.
    pub fn load(&self) -> Result<Vec<Account>, StoreError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { action: "read", path: self.path.clone(), source }),
        };
        let corrupt = |reason: String| StoreError::Corrupt { path: self.path.clone(), reason };
        let file: FileFormat = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.version != VERSION {
            return Err(corrupt(format!("version {} is not one this app knows", file.version)));
        }
        Ok(file.accounts)
    }

    /// Reads, changes and writes the list under an exclusive lock shared with other processes. `change`
    /// returning an error leaves the file as it was.
    pub fn update<R, E: From<StoreError>>(&self, change: impl FnOnce(&mut Vec<Account>) -> Result<R, E>) -> Result<R, E> {
        let _lock = lock::FileLock::exclusive(&self.path.with_extension("lock"))?;
        let mut accounts = self.load()?;
        let result = change(&mut accounts)?;
        self.save(&accounts)?;
        Ok(result)
    }

    /// Replaces the list atomically. Callers that read first use [`AccountStore::update`].
    pub fn save(&self, accounts: &[Account]) -> Result<(), StoreError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { action, path, source }
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let body = serde_json::to_vec_pretty(&FileFormat { version: VERSION, accounts: accounts.to_vec() })
            .map_err(|e| StoreError::Corrupt { path: self.path.clone(), reason: e.to_string() })?;
        let tmp = self.path.with_file_name(self.temp_file_name());
        let result = (|| {
            let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
            f.write_all(&body).map_err(io("write", &tmp))?;
            f.sync_all().map_err(io("flush", &tmp))?;
            // Closed before the rename, so its close is the temporary file's (see `watch`).
            drop(f);
            std::fs::rename(&tmp, &self.path).map_err(io("replace", &self.path))?;
            if let Ok(d) = std::fs::File::open(dir) {
                d.sync_all().map_err(io("flush", dir))?;
            }
            Ok(())
        })();
        if result.is_err() {
            // Best effort: a stray temporary file is harmless, the real file is unchanged.
            std::fs::remove_file(&tmp).ok();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str) -> Account {
        Account {
            display_name: Some("a@b.test".into()),
            scopes: vec!["openid".into()],
            linked_at: 1,
            expires_at: Some(2),
            ..Account::for_test(id, "demo")
        }
    }

    #[test]
    fn files_without_the_newer_fields_still_load() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("accounts.json");
        let old = r#"{"version":1,"accounts":[{"id":"a","providerId":"demo","displayName":null,"scopes":[],
            "tokenType":"Bearer","linkedAt":5,"expiresAt":null,"hasRefreshToken":false,"state":{"kind":"connected"}}]}"#;
        std::fs::write(&path, old).expect("write");
        let accounts = AccountStore::new(&path).load().expect("load");
        assert_eq!(accounts[0].refreshed_at, None);
        assert_eq!(accounts[0].obtained_at(), 5);
    }

    #[test]
    fn updates_from_many_threads_are_all_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = AccountStore::new(dir.path().join("accounts.json"));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for j in 0..5 {
                        store
                            .update(|accounts| {
                                accounts.push(account(&format!("{i}-{j}")));
                                Ok::<_, StoreError>(())
                            })
                            .expect("update");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(store.load().expect("load").len(), 40, "no update overwrote another");
    }

    #[test]
    fn a_failed_change_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = AccountStore::new(dir.path().join("accounts.json"));
        store.save(&[account("a")]).expect("save");
        let result = store.update(|accounts| {
            accounts.clear();
            Err::<(), _>(StoreError::Corrupt { path: "x".into(), reason: "refused".into() })
        });
        assert!(result.is_err());
        assert_eq!(store.load().expect("load").len(), 1);
    }

    #[test]
    fn round_trip_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = AccountStore::new(dir.path().join("sub/accounts.json"));
        assert!(store.load().expect("empty").is_empty());
        store.save(&[account("a"), account("b")]).expect("save");
        assert_eq!(store.load().expect("load"), vec![account("a"), account("b")]);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("sub")).expect("dir").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn corrupt_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("accounts.json");
        std::fs::write(&path, b"{\"version\":1,\"accounts\":[{\"id\":").expect("write");
        let err = AccountStore::new(&path).load().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"));
        assert_eq!(std::fs::read(&path).expect("still there"), b"{\"version\":1,\"accounts\":[{\"id\":");
    }

    #[test]
    fn unknown_version_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("accounts.json");
        std::fs::write(&path, br#"{"version":99,"accounts":[]}"#).expect("write");
        assert!(matches!(AccountStore::new(&path).load(), Err(StoreError::Corrupt { .. })));
    }
}
