//! The vault: tokens in the OS keyring (Secret Service on Linux), never on disk in plain text.
//!
//! One keyring entry per account and kind, service `account-linker` (or `account-linker:<tag>` for an
//! isolated `$ACCOUNT_LINKER_HOME`) and user `<account-id>/<kind>`, so support staff can find them with
//! `secret-tool search service account-linker`. Keyring calls block on D-Bus, so they run on tokio's
//! blocking pool, never on an async worker. `NoEntry` is `Ok(None)`, not an error.

use crate::oauth::secret::{AccessToken, IdToken, RefreshToken};

/// The kinds of secret kept per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The access token.
    AccessToken,
    /// The refresh token.
    RefreshToken,
    /// The OpenID Connect ID token.
    IdToken,
}

impl SecretKind {
    /// Every kind, for deleting an account's entries.
    pub const ALL: [SecretKind; 3] = [SecretKind::AccessToken, SecretKind::RefreshToken, SecretKind::IdToken];

    /// The name used in the keyring entry.
    pub fn name(self) -> &'static str {
        match self {
            SecretKind::AccessToken => "access_token",
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::IdToken => "id_token",
        }
    }
}

/// Why the keyring could not be used, with what the user can do about it.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    /// No Secret Service, or the collection is locked.
    #[error("the system keyring is not available or is locked ({0}); unlock it (e.g. log in to the desktop session) or start a Secret Service such as gnome-keyring")]
    Unavailable(String),
    /// The keyring refused or failed the operation.
    #[error("the system keyring failed: {0}")]
    Failed(String),
}

/// The tokens of one account as kept in the keyring.
#[derive(Debug, Default)]
pub struct StoredTokens {
    /// Access token.
    pub access_token: Option<AccessToken>,
    /// Refresh token.
    pub refresh_token: Option<RefreshToken>,
    /// ID token.
    pub id_token: Option<IdToken>,
}

/// Access to the keyring under one service name.
#[derive(Debug, Clone)]
pub struct Vault {
    service: String,
}

impl Vault {
    /// A vault whose entries use `service` as their keyring service name.
    pub fn new(service: impl Into<String>) -> Self {
        Self { service: service.into() }
    }

    /// The keyring service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Stores one secret.
    pub async fn put(&self, account_id: &str, kind: SecretKind, value: &str) -> Result<(), VaultError> {
        let (service, user, value) = (self.service.clone(), user(account_id, kind), value.to_owned());
        blocking(move || entry(&service, &user)?.set_password(&value).map_err(map_err)).await
    }

    /// Reads one secret; `Ok(None)` when there is none.
    pub async fn get(&self, account_id: &str, kind: SecretKind) -> Result<Option<String>, VaultError> {
        let (service, user) = (self.service.clone(), user(account_id, kind));
        blocking(move || match entry(&service, &user)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        })
        .await
    }

    /// Deletes one secret; deleting what is not there is fine.
    pub async fn delete(&self, account_id: &str, kind: SecretKind) -> Result<(), VaultError> {
        let (service, user) = (self.service.clone(), user(account_id, kind));
        blocking(move || match entry(&service, &user)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        })
        .await
    }

    /// Stores a token response's secrets. The refresh token goes first: with rotating refresh tokens the
    /// old one is already spent, so the new one must be safe before anything else. An absent refresh or
    /// ID token leaves the stored one in place (a refresh response need not repeat them).
    pub async fn put_tokens(
        &self,
        account_id: &str,
        access: &AccessToken,
        refresh: Option<&RefreshToken>,
        id: Option<&IdToken>,
    ) -> Result<(), VaultError> {
        if let Some(r) = refresh {
            self.put(account_id, SecretKind::RefreshToken, r.secret()).await?;
        }
        self.put(account_id, SecretKind::AccessToken, access.secret()).await?;
        if let Some(id) = id {
            self.put(account_id, SecretKind::IdToken, id.secret()).await?;
        }
        Ok(())
    }

    /// Reads all of an account's secrets.
    pub async fn tokens(&self, account_id: &str) -> Result<StoredTokens, VaultError> {
        Ok(StoredTokens {
            access_token: self.get(account_id, SecretKind::AccessToken).await?.map(AccessToken::new),
            refresh_token: self.get(account_id, SecretKind::RefreshToken).await?.map(RefreshToken::new),
            id_token: self.get(account_id, SecretKind::IdToken).await?.map(IdToken::new),
        })
    }

    /// Deletes every secret of an account.
    pub async fn delete_account(&self, account_id: &str) -> Result<(), VaultError> {
        for kind in SecretKind::ALL {
            self.delete(account_id, kind).await?;
        }
        Ok(())
    }
}

/// The keyring user name of an entry: `<account-id>/<kind>`.
pub fn user(account_id: &str, kind: SecretKind) -> String {
    format!("{account_id}/{}", kind.name())
}

fn entry(service: &str, user: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new(service, user).map_err(map_err)
}

fn map_err(e: keyring::Error) -> VaultError {
    match e {
        keyring::Error::NoStorageAccess(inner) => VaultError::Unavailable(inner.to_string()),
        keyring::Error::PlatformFailure(inner) => VaultError::Unavailable(inner.to_string()),
        other => VaultError::Failed(other.to_string()),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, VaultError> + Send + 'static) -> Result<T, VaultError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| VaultError::Failed(format!("keyring worker stopped: {e}")))?
}
