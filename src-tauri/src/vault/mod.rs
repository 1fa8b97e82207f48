//! The vault: tokens in the OS keyring (Secret Service on Linux), never on disk in plain text.
//!
//! One keyring entry per account and kind, service `account-linker` (or `account-linker:<tag>` for an
//! isolated `$ACCOUNT_LINKER_HOME`) and user `<account-id>/<kind>`, so support staff can find them with
//! `secret-tool search service account-linker`. Keyring calls block on D-Bus, so they run on tokio's
//! blocking pool, never on an async worker. `NoEntry` is `Ok(None)`, not an error.

use crate::oauth::secret::{AccessToken, IdToken, RefreshToken};

#[cfg(target_os = "linux")]
mod session;

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
    /// No Secret Service answers (none installed or running, or no D-Bus session).
    #[error("no system keyring is running ({0}); log in to a desktop session, or start a Secret Service such as gnome-keyring (or KeePassXC with its Secret Service integration), then try again")]
    NoService(String),
    /// The keyring collection is locked.
    #[error("the system keyring is locked; unlock it (for example in \"Passwords and Keys\" or by logging in to the desktop again), then try again")]
    Locked,
    /// The user dismissed the keyring's unlock or access prompt.
    #[error("access to the system keyring was denied (its prompt was dismissed); try again and allow access")]
    Denied,
    /// The keyring refused or failed the operation for another reason.
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
            // The provider has already rotated it: a keyring that stumbles once must not lose it.
            with_retries(REFRESH_TOKEN_ATTEMPTS, || self.put(account_id, SecretKind::RefreshToken, r.secret())).await?;
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

/// The keyring entry for `user` under `service`. On Linux it goes through the process's one long-lived
/// Secret Service session ([`session`]); elsewhere through the platform store `keyring` picks.
#[cfg(target_os = "linux")]
fn entry(service: &str, user: &str) -> Result<keyring::Entry, VaultError> {
    Ok(session::SessionCredential::entry(service, user))
}

#[cfg(not(target_os = "linux"))]
fn entry(service: &str, user: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new(service, user).map_err(map_err)
}

/// Sorts a keyring failure into what the user can act on: no Secret Service, locked, denied, or other.
fn map_err(e: keyring::Error) -> VaultError {
    match e {
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => classify(inner.as_ref()),
        other => VaultError::Failed(other.to_string()),
    }
}

#[cfg(target_os = "linux")]
fn classify(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> VaultError {
    use dbus_secret_service::Error as Ss;
    match inner.downcast_ref::<Ss>() {
        Some(Ss::Locked) => VaultError::Locked,
        Some(Ss::Prompt) => VaultError::Denied,
        Some(Ss::Unavailable) => VaultError::NoService(inner.to_string()),
        Some(Ss::Dbus(e)) if is_no_service(e.name()) => VaultError::NoService(e.message().unwrap_or("no D-Bus session").to_owned()),
        _ => VaultError::Failed(inner.to_string()),
    }
}

#[cfg(not(target_os = "linux"))]
fn classify(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> VaultError {
    VaultError::Failed(inner.to_string())
}

/// D-Bus errors that mean nobody is there to answer: no bus, or no Secret Service on it.
#[cfg(target_os = "linux")]
fn is_no_service(name: Option<&str>) -> bool {
    matches!(
        name,
        Some(
            "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner"
                | "org.freedesktop.DBus.Error.NoServer"
                | "org.freedesktop.DBus.Error.FileNotFound"
                | "org.freedesktop.DBus.Error.NotSupported"
        )
    ) || name.is_some_and(|n| n.starts_with("org.freedesktop.DBus.Error.Spawn."))
}

/// Keyring calls handed to the keyring at once from this process: one being answered, one ready behind
/// it. The Secret Service answers one call at a time (and on Linux the session thread serves them in
/// turn), so more would only queue there, where a slow keyring (thousands of entries, a busy disk) lets
/// queued calls run into D-Bus's 25 s reply timeout; queued here, they just wait.
pub const CONCURRENT_CALLS: usize = 2;

/// How often a rotated refresh token's write is tried before the refresh is given up.
pub const REFRESH_TOKEN_ATTEMPTS: u32 = 3;

static CALLS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CALLS);

/// Runs `op` up to `attempts` times while it fails for a reason other than a missing or locked keyring,
/// with a short pause between tries.
async fn with_retries<F, Fut>(attempts: u32, mut op: F) -> Result<(), VaultError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), VaultError>>,
{
    let mut tried = 0;
    loop {
        tried += 1;
        match op().await {
            Err(VaultError::Failed(why)) if tried < attempts => {
                tracing::warn!(attempt = tried, error = why.as_str(), "keyring write failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(tried))).await;
            }
            other => return other,
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, VaultError> + Send + 'static) -> Result<T, VaultError> {
    let _permit = CALLS.acquire().await.map_err(|e| VaultError::Failed(format!("keyring queue closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| VaultError::Failed(format!("keyring worker stopped: {e}")))?
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use dbus_secret_service::Error as Ss;

    fn no_access(e: Ss) -> keyring::Error {
        keyring::Error::NoStorageAccess(Box::new(e))
    }

    fn platform(e: Ss) -> keyring::Error {
        keyring::Error::PlatformFailure(Box::new(e))
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_token_write_that_stumbles_is_tried_again_but_not_forever() {
        let calls = std::sync::atomic::AtomicU32::new(0);
        let flaky = |fail_times: u32| {
            let calls = &calls;
            move || {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { if n < fail_times { Err(VaultError::Failed("no reply".into())) } else { Ok(()) } }
            }
        };
        assert_eq!(with_retries(3, flaky(2)).await, Ok(()));
        assert_eq!(calls.swap(0, std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(with_retries(3, flaky(5)).await, Err(VaultError::Failed("no reply".into())));
        assert_eq!(calls.swap(0, std::sync::atomic::Ordering::SeqCst), 3, "three attempts, then the error");
        let locked = || async { Err::<(), _>(VaultError::Locked) };
        assert_eq!(with_retries(3, locked).await, Err(VaultError::Locked), "a locked keyring is said at once");
    }

    #[test]
    fn keyring_failures_are_told_apart_with_what_to_do() {
        assert_eq!(map_err(no_access(Ss::Locked)), VaultError::Locked);
        assert_eq!(map_err(no_access(Ss::Prompt)), VaultError::Denied);
        assert!(matches!(map_err(platform(Ss::Unavailable)), VaultError::NoService(_)));
        let unknown = dbus::Error::new_custom("org.freedesktop.DBus.Error.ServiceUnknown", "The name org.freedesktop.secrets was not provided");
        assert_eq!(
            map_err(platform(Ss::Dbus(unknown))),
            VaultError::NoService("The name org.freedesktop.secrets was not provided".into())
        );
        let no_bus = dbus::Error::new_custom("org.freedesktop.DBus.Error.FileNotFound", "Failed to connect to socket");
        assert!(matches!(map_err(platform(Ss::Dbus(no_bus))), VaultError::NoService(_)));
        let other = dbus::Error::new_custom("org.freedesktop.DBus.Error.AccessDenied", "denied by policy");
        assert!(matches!(map_err(platform(Ss::Dbus(other))), VaultError::Failed(m) if m.contains("denied by policy")));
        assert!(matches!(map_err(keyring::Error::TooLong("user".into(), 10)), VaultError::Failed(_)));

        assert!(VaultError::Locked.to_string().contains("unlock it"));
        assert!(VaultError::Denied.to_string().contains("allow access"));
        assert!(VaultError::NoService("x".into()).to_string().contains("start a Secret Service"));
    }
}
