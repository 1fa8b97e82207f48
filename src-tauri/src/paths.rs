//! Where the app keeps its files, and the keyring namespace that goes with them.
//!
//! `$ACCOUNT_LINKER_HOME`, when set, holds everything (config, data, logs) and also namespaces the
//! keyring entries, so tests and support staff can work in isolation from the user's real accounts.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Environment variable that relocates everything the app stores.
pub const HOME_ENV: &str = "ACCOUNT_LINKER_HOME";

/// Keyring service name used for the user's real accounts.
pub const KEYRING_SERVICE: &str = "account-linker";

/// The folders and names the app works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPaths {
    /// Configuration (`providers.toml`).
    pub config_dir: PathBuf,
    /// Data (`accounts.json`, timelines).
    pub data_dir: PathBuf,
    /// Keyring service name for this installation.
    pub keyring_service: String,
}

impl AppPaths {
    /// From the environment: `$ACCOUNT_LINKER_HOME`, else the platform's config and data folders.
    pub fn from_env() -> Self {
        match std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            Some(home) => Self::isolated(Path::new(&home)),
            None => Self {
                config_dir: dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("account-linker"),
                data_dir: dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("account-linker"),
                keyring_service: KEYRING_SERVICE.to_owned(),
            },
        }
    }

    /// Everything under one folder, with keyring entries namespaced by that folder's path.
    pub fn isolated(home: &Path) -> Self {
        let absolute = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
        let digest = Sha256::digest(absolute.to_string_lossy().as_bytes());
        let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        Self {
            config_dir: absolute.clone(),
            data_dir: absolute,
            keyring_service: format!("{KEYRING_SERVICE}:{tag}"),
        }
    }

    /// The name this installation's running instance is known by (the single-instance plugin's D-Bus
    /// name on Linux): an isolated home has its own, so a test or support session never hands its
    /// redirects to the user's app, nor the other way round.
    pub fn instance_id(&self) -> String {
        match self.keyring_service.strip_prefix(KEYRING_SERVICE).and_then(|rest| rest.strip_prefix(':')) {
            Some(tag) => format!("org.accountlinker.AccountLinker.home_{tag}"),
            None => "org.accountlinker.AccountLinker".to_owned(),
        }
    }

    /// The folder of the per-account timelines.
    pub fn timeline_dir(&self) -> PathBuf {
        self.data_dir.join("timeline")
    }

    /// The folder of the per-account refresh locks.
    pub fn locks_dir(&self) -> PathBuf {
        self.data_dir.join("locks")
    }

    /// The account metadata file.
    pub fn accounts_file(&self) -> PathBuf {
        self.data_dir.join("accounts.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolated_homes_get_their_own_keyring_namespace() {
        let a = AppPaths::isolated(Path::new("/tmp/a"));
        let b = AppPaths::isolated(Path::new("/tmp/b"));
        assert_ne!(a.keyring_service, b.keyring_service);
        assert!(a.keyring_service.starts_with("account-linker:"));
        assert_eq!(a.accounts_file(), Path::new("/tmp/a/accounts.json"));
        assert_ne!(a.instance_id(), b.instance_id());
        assert!(a.instance_id().starts_with("org.accountlinker.AccountLinker.home_"), "{}", a.instance_id());
    }
}
