//! The vault: tokens in the OS keyring (Secret Service on Linux), never on disk in plain text.
//!
//! One keyring item per account: service `account-linker` (or `account-linker:<tag>` for an isolated
//! `$ACCOUNT_LINKER_HOME`), user `<account-id>`, so support staff can find them with
//! `secret-tool search service account-linker`. Its secret is a small JSON object, the account's
//! bundle: `{"v":1,"access_token":…,"refresh_token":…,"id_token":…}`, absent tokens omitted. Linking or
//! refreshing an account is one keyring write (gnome-keyring rewrites its whole collection file for each
//! write), and the write is atomic: the access, refresh and ID token of one grant are stored together or
//! not at all. A bundle that is not valid JSON, has an unknown field or another version than 1 is a
//! [`VaultError::Damaged`] and is never merged into or overwritten by a refresh; a reconnect replaces it.
//!
//! Versions before the bundle kept one item per token, user `<account-id>/access_token`,
//! `…/refresh_token` and `…/id_token`. An account without a bundle is read from those; the next write
//! stores the bundle and then removes them (a failure to remove them is logged, and the bundle is read
//! first from then on); [`Vault::delete_account`] removes both layouts.
//!
//! Keyring calls block on D-Bus, so they run on tokio's blocking pool, never on an async worker.
//! `NoEntry` is `Ok(None)`, not an error.

use std::fmt;

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
    /// Every kind.
    pub const ALL: [SecretKind; 3] = [SecretKind::AccessToken, SecretKind::RefreshToken, SecretKind::IdToken];

    /// The kind's field in the bundle (and the suffix of its item in the old per-kind layout).
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
    /// The account's keyring item holds something this version can't read (never the secret itself in
    /// the message). It is left as it is: a reconnect replaces it, disconnecting removes it.
    #[error("the keyring item of account {account} {DAMAGED_ITEM} ({why}); it was left as it is: reconnect the account to replace it")]
    Damaged {
        /// The account.
        account: String,
        /// What is wrong with the item, without its content.
        why: String,
    },
}

/// The words [`VaultError::Damaged`] says of the item, by which the support report tells it from other
/// keyring failures (the timeline keeps the error's text).
pub const DAMAGED_ITEM: &str = "can't be read";

/// The tokens of one token response, to be stored. An absent refresh or ID token keeps the stored one
/// ([`Vault::update_tokens`]) or leaves none ([`Vault::replace_tokens`]).
#[derive(Debug, Clone, Copy)]
pub struct NewTokens<'a> {
    /// The access token.
    pub access: &'a AccessToken,
    /// A refresh token, if the response carried one.
    pub refresh: Option<&'a RefreshToken>,
    /// An ID token, if the response carried one.
    pub id: Option<&'a IdToken>,
}

impl<'a> From<&'a crate::oauth::token::TokenSet> for NewTokens<'a> {
    fn from(tokens: &'a crate::oauth::token::TokenSet) -> Self {
        Self { access: &tokens.access_token, refresh: tokens.refresh_token.as_ref(), id: tokens.id_token.as_ref() }
    }
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
    /// Read from the old per-kind items (there is no bundle yet): the next write removes them.
    pub(crate) old_layout: bool,
}

impl StoredTokens {
    /// Whether these were read from the old per-kind items, not from a bundle.
    pub fn from_old_layout(&self) -> bool {
        self.old_layout
    }

    /// Keeps `value` as the token of `kind`.
    fn set(&mut self, kind: SecretKind, value: String) {
        match kind {
            SecretKind::AccessToken => self.access_token = Some(AccessToken::new(value)),
            SecretKind::RefreshToken => self.refresh_token = Some(RefreshToken::new(value)),
            SecretKind::IdToken => self.id_token = Some(IdToken::new(value)),
        }
    }

    /// One kind of token, as text.
    pub fn get(&self, kind: SecretKind) -> Option<&str> {
        match kind {
            SecretKind::AccessToken => self.access_token.as_ref().map(AccessToken::secret),
            SecretKind::RefreshToken => self.refresh_token.as_ref().map(RefreshToken::secret),
            SecretKind::IdToken => self.id_token.as_ref().map(IdToken::secret),
        }
    }
}

/// The bundle's JSON text: a secret, so its `Debug` prints `[redacted]`.
struct BundleText(String);

impl fmt::Debug for BundleText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BundleText([redacted])")
    }
}

/// The bundle format version this code writes and reads.
const BUNDLE_VERSION: u64 = 1;

/// The bundle as written: `v` first, absent tokens omitted. No `Debug`: it holds secrets.
#[derive(serde::Serialize)]
struct BundleOut<'a> {
    v: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

/// The bundle of these tokens.
fn encode(access_token: Option<&str>, refresh_token: Option<&str>, id_token: Option<&str>) -> BundleText {
    let out = BundleOut { v: BUNDLE_VERSION, access_token, refresh_token, id_token };
    BundleText(serde_json::to_string(&out).expect("strings and a number always serialise"))
}

/// The tokens in a bundle, or what is wrong with it. The reason never quotes the content: serde's own
/// messages can (`invalid type: string "…"`), so only positions and field names we know are named.
fn decode(text: &BundleText) -> Result<StoredTokens, String> {
    let value: serde_json::Value = serde_json::from_str(&text.0)
        .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))?;
    let serde_json::Value::Object(map) = value else { return Err("not a JSON object".into()) };
    match map.get("v") {
        Some(v) if v.as_u64() == Some(BUNDLE_VERSION) => {}
        Some(v) if v.is_number() => return Err(format!("unknown format version {v} (this version reads {BUNDLE_VERSION})")),
        Some(_) => return Err("its format version \"v\" is not a number".into()),
        None => return Err("no format version \"v\"".into()),
    }
    let mut tokens = StoredTokens::default();
    for (key, value) in map {
        let kind = match key.as_str() {
            "v" => continue,
            "access_token" => SecretKind::AccessToken,
            "refresh_token" => SecretKind::RefreshToken,
            "id_token" => SecretKind::IdToken,
            _ => return Err(format!("a field that format version {BUNDLE_VERSION} does not have")),
        };
        let serde_json::Value::String(value) = value else { return Err(format!("\"{}\" is not a string", kind.name())) };
        tokens.set(kind, value);
    }
    Ok(tokens)
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

    /// Reads an account's tokens: one keyring read. Without a bundle, from the old per-kind items (all
    /// `None` when there are none either).
    pub async fn tokens(&self, account_id: &str) -> Result<StoredTokens, VaultError> {
        if let Some(text) = self.get_item(account_id.to_owned()).await? {
            let text = BundleText(text);
            return decode(&text).map_err(|why| VaultError::Damaged { account: account_id.to_owned(), why });
        }
        let mut tokens = StoredTokens::default();
        for kind in SecretKind::ALL {
            let Some(value) = self.get_item(old_user(account_id, kind)).await? else { continue };
            tokens.old_layout = true;
            tokens.set(kind, value);
        }
        Ok(tokens)
    }

    /// Reads one kind of an account's tokens (the whole bundle is read); `Ok(None)` when there is none.
    pub async fn get(&self, account_id: &str, kind: SecretKind) -> Result<Option<String>, VaultError> {
        Ok(self.tokens(account_id).await?.get(kind).map(str::to_owned))
    }

    /// Stores a token response's tokens. An absent refresh or ID token leaves the stored one in place (a
    /// refresh response need not repeat them): then the bundle is read first and merged, else nothing is
    /// read. One write, atomic; a damaged bundle is not overwritten (the read fails). Old per-kind items
    /// found by the read are removed after the write.
    pub async fn put_tokens(&self, account_id: &str, new: NewTokens<'_>) -> Result<(), VaultError> {
        let stored = if new.refresh.is_some() && new.id.is_some() { StoredTokens::default() } else { self.tokens(account_id).await? };
        self.update_tokens(account_id, stored, new).await
    }

    /// [`Vault::put_tokens`] over tokens the caller has just read with [`Vault::tokens`] (and kept from
    /// changing, e.g. under the account's refresh lock), so nothing is read again: an absent refresh or ID
    /// token keeps the one in `stored`. For a new account id, `StoredTokens::default()`: nothing to keep.
    pub async fn update_tokens(&self, account_id: &str, stored: StoredTokens, new: NewTokens<'_>) -> Result<(), VaultError> {
        let bundle = encode(
            Some(new.access.secret()),
            new.refresh.map(RefreshToken::secret).or(stored.refresh_token.as_ref().map(RefreshToken::secret)),
            new.id.map(IdToken::secret).or(stored.id_token.as_ref().map(IdToken::secret)),
        );
        self.write(account_id, bundle, new.refresh.is_some()).await?;
        if stored.old_layout {
            self.remove_old_items(account_id).await;
        }
        Ok(())
    }

    /// Stores exactly these tokens, whatever was stored (a reconnect: tokens of the old grant that the
    /// new one lacks belong to a grant that ended). Nothing is read, so a damaged bundle is replaced too;
    /// old per-kind items are removed after the write.
    pub async fn replace_tokens(&self, account_id: &str, new: NewTokens<'_>) -> Result<(), VaultError> {
        // Nothing to keep, and old per-kind items may be there: the update over an empty old-layout read.
        let nothing_kept = StoredTokens { old_layout: true, ..StoredTokens::default() };
        self.update_tokens(account_id, nothing_kept, new).await
    }

    /// Deletes every secret of an account: its bundle and any old per-kind items. Deleting what is not
    /// there is fine.
    pub async fn delete_account(&self, account_id: &str) -> Result<(), VaultError> {
        self.delete_item(account_id.to_owned()).await?;
        for kind in SecretKind::ALL {
            self.delete_item(old_user(account_id, kind)).await?;
        }
        Ok(())
    }

    /// Writes an account's bundle. A write that carries a new refresh token is tried again when the
    /// keyring stumbles: the provider has already rotated it, the old one is spent.
    async fn write(&self, account_id: &str, bundle: BundleText, carries_refresh_token: bool) -> Result<(), VaultError> {
        let attempts = if carries_refresh_token { REFRESH_TOKEN_ATTEMPTS } else { 1 };
        with_retries(attempts, || self.set_item(account_id.to_owned(), &bundle)).await
    }

    /// Removes the old per-kind items after the bundle was written; a failure is logged, not returned
    /// (reads prefer the bundle, and [`Vault::delete_account`] removes them all).
    async fn remove_old_items(&self, account_id: &str) {
        for kind in SecretKind::ALL {
            match self.delete_item(old_user(account_id, kind)).await {
                Ok(()) => tracing::debug!(account = account_id, kind = kind.name(), "old per-kind keyring item removed"),
                Err(e) => tracing::warn!(account = account_id, kind = kind.name(), error = %e, "could not remove an old per-kind keyring item; the account's bundle is used"),
            }
        }
    }

    async fn set_item(&self, user: String, bundle: &BundleText) -> Result<(), VaultError> {
        let (service, value) = (self.service.clone(), BundleText(bundle.0.clone()));
        blocking(move || entry(&service, &user)?.set_password(&value.0).map_err(map_err)).await
    }

    async fn get_item(&self, user: String) -> Result<Option<String>, VaultError> {
        let service = self.service.clone();
        blocking(move || match entry(&service, &user)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        })
        .await
    }

    async fn delete_item(&self, user: String) -> Result<(), VaultError> {
        let service = self.service.clone();
        blocking(move || match entry(&service, &user)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        })
        .await
    }
}

/// The keyring user name of an item of the old per-kind layout: `<account-id>/<kind>`.
pub fn old_user(account_id: &str, kind: SecretKind) -> String {
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
    fn a_bundle_round_trips_and_omits_absent_tokens() {
        let text = encode(Some("at"), None, Some("id"));
        assert_eq!(text.0, r#"{"v":1,"access_token":"at","id_token":"id"}"#);
        let t = decode(&text).expect("decode");
        assert_eq!((t.get(SecretKind::AccessToken), t.get(SecretKind::RefreshToken), t.get(SecretKind::IdToken)), (Some("at"), None, Some("id")));
        assert!(!t.from_old_layout());
        let all = decode(&encode(Some("a\"\n"), Some("r"), Some("i"))).expect("decode");
        assert_eq!((all.get(SecretKind::AccessToken), all.get(SecretKind::RefreshToken)), (Some("a\"\n"), Some("r")));
    }

    #[test]
    fn a_damaged_bundle_says_what_is_wrong_without_its_content() {
        let why = |text: &str| decode(&BundleText(text.to_owned())).map(|_| ()).expect_err(text);
        assert_eq!(why("rt_secret_value"), "not valid JSON (line 1, column 1)");
        assert_eq!(why(r#"{"v":1,"access_token":"at_secret"#), "not valid JSON (line 1, column 32)");
        assert_eq!(why(r#"["at_secret"]"#), "not a JSON object");
        assert_eq!(why(r#"{"access_token":"at_secret"}"#), "no format version \"v\"");
        assert_eq!(why(r#"{"v":2,"access_token":"at_secret"}"#), "unknown format version 2 (this version reads 1)");
        assert_eq!(why(r#"{"v":"at_secret"}"#), "its format version \"v\" is not a number");
        assert_eq!(why(r#"{"v":1,"at_secret":"x"}"#), "a field that format version 1 does not have");
        assert_eq!(why(r#"{"v":1,"refresh_token":["rt_secret"]}"#), "\"refresh_token\" is not a string");
        let e = VaultError::Damaged { account: "acct".into(), why: why("x") };
        assert!(e.to_string().contains("reconnect the account"), "{e}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let text = encode(Some("at_secret"), Some("rt_secret"), Some("id_secret"));
        assert_eq!(format!("{text:?}"), "BundleText([redacted])");
        let tokens = decode(&text).expect("decode");
        assert!(!format!("{tokens:?}").contains("secret"), "{tokens:?}");
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
