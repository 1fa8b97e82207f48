//! The linking service: the one place the connect and disconnect paths are written down.
//!
//! The GUI's IPC commands and (later) the command line call these functions, so a button and a support
//! command can't drift apart. Nothing here knows about windows: whoever shows the authorize page hands
//! the redirect URL back to [`Linker::complete`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use url::Url;

use crate::accounts::lock::RefreshLock;
use crate::accounts::{Account, AccountState, AccountStore, StoreError};
use crate::diagnostics::timeline::{self, Entry, Event, Exchange, Timelines};
use crate::oauth::callback::{Callback, CallbackError};
use crate::oauth::flow::{FlowId, PendingFlow};
use crate::oauth::navigation::NavigationPolicy;
use crate::oauth::redirect::RedirectUri;
use crate::oauth::secret::AccessToken;
use crate::oauth::token::{self, TokenError};
use crate::oauth::jwt;
use crate::paths::AppPaths;
use crate::providers::config::ConfigError;
use crate::providers::{Catalogue, LoginMode, ProviderError, ProviderView};
use crate::vault::{Vault, VaultError};

/// Why a linking step failed. [`LinkError::code`] is what the UI branches on.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No provider with this id.
    #[error("there is no provider '{0}'")]
    UnknownProvider(String),
    /// No account with this id.
    #[error("there is no account '{0}'")]
    UnknownAccount(String),
    /// A redirect arrived for no sign-in in progress (or one already finished).
    #[error("this sign-in is no longer in progress (it finished, was cancelled, or was never started here)")]
    NoPendingFlow,
    /// The user closed the sign-in window.
    #[error("the sign-in window was closed before the sign-in finished; no account was linked")]
    Cancelled,
    /// The provider can't start a flow (not configured, bad tenant, bad URL).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The redirect was refused or carried an error.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The code exchange failed.
    #[error("could not get tokens: {0}")]
    Token(#[from] TokenError),
    /// The keyring failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The account can't be used until the user signs in again.
    #[error("the account needs to be reconnected: {0}")]
    NeedsReconnect(String),
    /// The account file failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A reconnect was signed in by someone else than the account's user: nothing was changed.
    #[error("you signed in as {signed_in}, but this account belongs to {expected}; nothing was changed (to link {signed_in} as well, use Add account)")]
    DifferentAccount {
        /// Who the account belongs to.
        expected: String,
        /// Who signed in.
        signed_in: String,
    },
    /// The result could not be written out (e.g. stdout closed).
    #[error("could not write the output: {0}")]
    Output(String),
}

impl LinkError {
    /// A stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::UnknownProvider(_) => "unknown_provider",
            LinkError::UnknownAccount(_) => "unknown_account",
            LinkError::NoPendingFlow => "no_pending_flow",
            LinkError::Cancelled => "cancelled",
            LinkError::Provider(ProviderError::Tenant(_)) => "bad_tenant",
            LinkError::Provider(ProviderError::NoClientId(_) | ProviderError::NoClientSecret(_)) => "provider_not_configured",
            LinkError::Provider(_) => "provider_config",
            LinkError::Callback(CallbackError::StateMismatch | CallbackError::StateMissing) => "state_mismatch",
            LinkError::Callback(CallbackError::Provider { error, .. }) if error == "access_denied" => "access_denied",
            LinkError::Callback(CallbackError::Provider { .. }) => "provider_error",
            LinkError::Callback(_) => "bad_redirect",
            LinkError::Token(_) => "token_exchange",
            LinkError::Vault(_) => "keyring",
            LinkError::NeedsReconnect(_) => "needs_reconnect",
            LinkError::Store(_) => "account_store",
            LinkError::DifferentAccount { .. } => "different_account",
            LinkError::Output(_) => "output",
        }
    }
}

/// A flow that was started: where to send the user.
#[derive(Debug, Clone)]
pub struct LinkStart {
    /// The flow's id.
    pub flow_id: FlowId,
    /// Provider id.
    pub provider_id: String,
    /// Provider name, for the login window's title.
    pub provider_name: String,
    /// The authorize URL to open.
    pub authorize_url: Url,
    /// The redirect URI that ends the flow.
    pub redirect_uri: RedirectUri,
    /// Where the login window may go: the provider's hosts only.
    pub navigation: NavigationPolicy,
}

/// A pending flow as the UI shows it (no `state`, no link).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingView {
    /// The flow.
    pub flow_id: FlowId,
    /// Provider id.
    pub provider_id: String,
    /// Provider name.
    pub provider_name: String,
    /// The host the user signs in at.
    pub authorize_host: String,
    /// Where: the login window or the default browser.
    pub login: LoginMode,
}

/// Why a sign-in moved to the default browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandOff {
    /// The user asked ("Continue in your browser").
    User,
    /// The provider refused the login window ("disallowed_useragent").
    EmbeddedRefused,
}

impl HandOff {
    /// The reason as a stable word (UI code, timeline).
    pub fn as_str(self) -> &'static str {
        match self {
            HandOff::User => "user",
            HandOff::EmbeddedRefused => "embedded_refused",
        }
    }
}

/// What happened at the provider when an account was disconnected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "camelCase")]
pub enum Revocation {
    /// The provider revoked the token (RFC 7009).
    Revoked,
    /// The provider offers no revocation endpoint.
    NotOffered,
    /// No token was stored to revoke.
    NothingToRevoke,
    /// Revocation was tried and failed; the account was removed locally anyway.
    Failed(String),
}

/// What a conditional refresh did.
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
    /// New tokens were obtained and stored.
    Refreshed(Account),
    /// Another refresh got there first; nothing was sent.
    AlreadyFresh(Account),
}

impl RefreshOutcome {
    /// The account as it is now.
    pub fn account(&self) -> &Account {
        match self {
            RefreshOutcome::Refreshed(a) | RefreshOutcome::AlreadyFresh(a) => a,
        }
    }
}

/// An account as the UI shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// Name of its provider (its id if the provider is no longer configured).
    pub provider_name: String,
}

/// The linking service.
#[derive(Debug)]
pub struct Linker {
    catalogue: Catalogue,
    store: AccountStore,
    vault: Vault,
    http: reqwest::Client,
    flows: Mutex<HashMap<FlowId, PendingFlow>>,
    /// Flows that re-authorize an existing account ("Reconnect"): flow → account id.
    reconnects: Mutex<HashMap<FlowId, String>>,
    locks_dir: std::path::PathBuf,
    timelines: Timelines,
    discovered: tokio::sync::Mutex<HashMap<String, crate::providers::Provider>>,
}

impl Linker {
    /// A linker over the given folders and providers.
    pub fn new(paths: &AppPaths, catalogue: Catalogue) -> Result<Self, TokenError> {
        Self::with_http_timeout(paths, catalogue, token::DEFAULT_TIMEOUT)
    }

    /// A linker whose requests to providers give up after `timeout`.
    pub fn with_http_timeout(paths: &AppPaths, catalogue: Catalogue, timeout: std::time::Duration) -> Result<Self, TokenError> {
        Ok(Self {
            catalogue,
            store: AccountStore::new(paths.accounts_file()),
            vault: Vault::new(paths.keyring_service.clone()),
            http: token::http_client_with_timeout(timeout).map_err(|e| TokenError::Transport(e.to_string()))?,
            flows: Mutex::new(HashMap::new()),
            reconnects: Mutex::new(HashMap::new()),
            locks_dir: paths.locks_dir(),
            timelines: Timelines::new(paths.timeline_dir()),
            discovered: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The keyring vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Adds an event to an account's timeline. A timeline that can't be written is logged, never fatal.
    pub fn note(&self, account_id: &str, event: Event) {
        if let Err(e) = self.timelines.record(account_id, event) {
            tracing::warn!(account = account_id, error = %e, "timeline not written");
        }
    }

    fn note_all(&self, account_id: &str, entries: &[Entry]) {
        if let Err(e) = self.timelines.append(account_id, entries) {
            tracing::warn!(account = account_id, error = %e, "timeline not written");
        }
    }

    /// The providers the user can link.
    pub fn providers(&self) -> Vec<ProviderView> {
        self.catalogue.all().iter().map(|p| p.view()).collect()
    }

    /// Problems found in the provider configuration.
    pub fn config_problems(&self) -> &[ConfigError] {
        self.catalogue.problems()
    }

    /// A provider ready for use: for one given by its OpenID Connect issuer alone, the endpoints are
    /// discovered at first use and remembered for the life of the process.
    pub async fn provider(&self, provider_id: &str) -> Result<crate::providers::Provider, LinkError> {
        let provider = self.catalogue.get(provider_id).ok_or_else(|| LinkError::UnknownProvider(provider_id.to_owned()))?;
        let Some(issuer) = provider.issuer.as_ref().filter(|_| provider.needs_discovery()) else {
            return Ok(provider.clone());
        };
        let mut cache = self.discovered.lock().await;
        if let Some(found) = cache.get(provider_id) {
            return Ok(found.clone());
        }
        let found = crate::providers::discovery::discover(&self.http, provider, issuer).await.map_err(ProviderError::from)?;
        tracing::info!(provider = provider_id, issuer = %issuer, "endpoints discovered");
        cache.insert(provider_id.to_owned(), found.clone());
        Ok(found)
    }

    /// Starts a sign-in at a provider; `tenant` is what the user typed for providers that need one.
    pub async fn begin(&self, provider_id: &str, tenant: Option<&str>) -> Result<LinkStart, LinkError> {
        let provider = &self.provider(provider_id).await?;
        let endpoints = provider.endpoints(tenant)?;
        let flow = PendingFlow::begin(provider, endpoints)?;
        let start = LinkStart {
            flow_id: flow.id.clone(),
            provider_id: provider.id.clone(),
            provider_name: provider.name.clone(),
            authorize_url: flow.authorize_url.clone(),
            redirect_uri: flow.redirect_uri.clone(),
            navigation: NavigationPolicy::new(&flow.authorize_url, &flow.endpoints.token, &provider.login_hosts),
        };
        tracing::info!(flow = start.flow_id.as_str(), provider = provider_id,
            authorize_host = start.authorize_url.host_str().unwrap_or(""), "sign-in started");
        self.flows().insert(flow.id.clone(), flow);
        Ok(start)
    }

    /// Starts signing in again to an existing account ("Reconnect"): the same provider and tenant. When the
    /// flow finishes, the account keeps its id and its tokens are replaced in place (see [`Linker::finish`]).
    pub async fn begin_reconnect(&self, account_id: &str) -> Result<LinkStart, LinkError> {
        let account = self.find(account_id).await?;
        let start = self.begin(&account.provider_id, account.tenant.as_deref()).await?;
        lock(&self.reconnects).insert(start.flow_id.clone(), account.id);
        Ok(start)
    }

    /// The account a flow re-authorizes, if it is a reconnect.
    pub fn reconnect_target(&self, flow_id: &FlowId) -> Option<String> {
        lock(&self.reconnects).get(flow_id).cloned()
    }

    /// Takes a pending flow out, so that it completes at most once.
    pub fn take_flow(&self, flow_id: &FlowId) -> Option<PendingFlow> {
        self.flows().remove(flow_id)
    }

    /// The flows in progress.
    pub fn pending_ids(&self) -> Vec<FlowId> {
        self.flows().keys().cloned().collect()
    }

    /// What the UI shows of a pending flow; `None` once it ended.
    pub fn pending(&self, flow_id: &FlowId) -> Option<PendingView> {
        let flows = self.flows();
        let flow = flows.get(flow_id)?;
        let provider_name = self.catalogue.get(&flow.provider_id).map_or_else(|| flow.provider_id.clone(), |p| p.name.clone());
        Some(PendingView {
            flow_id: flow.id.clone(),
            provider_id: flow.provider_id.clone(),
            provider_name,
            authorize_host: flow.authorize_url.host_str().unwrap_or_default().to_owned(),
            login: flow.login,
        })
    }

    /// The sign-in link of a pending flow (its authorize URL, with its `state` and PKCE challenge), for
    /// the user to open in a browser of their choice. The flow stays where it is.
    pub fn sign_in_link(&self, flow_id: &FlowId) -> Result<Url, LinkError> {
        self.flows().get(flow_id).map(|f| f.authorize_url.clone()).ok_or(LinkError::NoPendingFlow)
    }

    /// Moves a pending flow to the default browser: the same flow (same `state`, same PKCE verifier)
    /// then ends through the app's URI scheme ([`Linker::route`]), and closing its login window no
    /// longer cancels it. Returns the link to open. `why` goes to the timeline.
    pub fn hand_off(&self, flow_id: &FlowId, why: HandOff) -> Result<Url, LinkError> {
        let mut flows = self.flows();
        let flow = flows.get_mut(flow_id).ok_or(LinkError::NoPendingFlow)?;
        flow.login = LoginMode::Browser;
        if flow.handed_off.is_none() {
            flow.handed_off = Some((crate::refresh::schedule::wall_now(), why.as_str()));
        }
        tracing::info!(flow = flow_id.as_str(), why = why.as_str(), "sign-in continues in the default browser");
        Ok(flow.authorize_url.clone())
    }

    /// Cancels a flow whose sign-in page is in a login window that was closed; a flow handed to the
    /// browser stays pending. `true` if it was cancelled.
    pub fn cancel_in_window(&self, flow_id: &FlowId) -> bool {
        let in_window = self.flows().get(flow_id).is_some_and(|f| f.login == LoginMode::Embedded);
        in_window && self.cancel(flow_id)
    }

    /// Finds the pending flow a redirect belongs to (its redirect URI and `state`, compared in constant
    /// time) and takes it out, for [`Linker::finish`]. This is the way in for every redirect that arrives
    /// from outside the login window: the app's URI scheme (the browser path) and the command line's
    /// pasted URL. A redirect that belongs to no pending flow is refused and recorded in the app timeline
    /// (by its target and parameter names only); the flows in progress stay as they were, so a stray or
    /// forged URL can't end a sign-in.
    pub fn route(&self, redirect: &str) -> Result<PendingFlow, LinkError> {
        let refused = |target: String, params: Vec<String>, err: LinkError| {
            tracing::warn!(%target, ?params, code = err.code(), "redirect refused");
            self.note(timeline::APP, Event::CallbackRefused { target, params, reason: err.to_string() });
            err
        };
        let callback = match Callback::parse(redirect) {
            Ok(c) => c,
            Err(e) => return Err(refused("(unreadable)".into(), Vec::new(), e.into())),
        };
        let params: Vec<String> = callback.param_names().into_iter().map(str::to_owned).collect();
        let mut flows = self.flows();
        let id = flows.values().find(|f| f.claims(&callback)).map(|f| f.id.clone());
        if let Some(flow) = id.and_then(|id| flows.remove(&id)) {
            return Ok(flow);
        }
        let same_target = flows.values().any(|f| f.redirect_uri.matches(callback.url()));
        drop(flows);
        let err = match (same_target, callback.param("state")) {
            (true, None) => LinkError::Callback(CallbackError::StateMissing),
            (true, Some(_)) => LinkError::Callback(CallbackError::StateMismatch),
            (false, _) => LinkError::NoPendingFlow,
        };
        Err(refused(callback.target(), params, err))
    }

    /// Cancels a flow; `true` if it was still pending.
    pub fn cancel(&self, flow_id: &FlowId) -> bool {
        lock(&self.reconnects).remove(flow_id);
        let Some(flow) = self.take_flow(flow_id) else { return false };
        tracing::info!(flow = flow_id.as_str(), "sign-in cancelled");
        let err = LinkError::Cancelled;
        let failed = Event::FlowFailed { code: err.code().into(), message: err.to_string() };
        let mut entries = vec![flow_started(&flow)];
        if let Some((at_ms, why)) = flow.handed_off {
            entries.push(Entry { at_ms, event: Event::HandedToBrowser { why: why.into() } });
        }
        entries.push(now_entry(failed));
        self.note_all(timeline::APP, &entries);
        true
    }

    /// Completes a pending flow with the URL the browser was redirected to.
    pub async fn complete(&self, flow_id: &FlowId, redirect: &str) -> Result<Account, LinkError> {
        let flow = self.take_flow(flow_id).ok_or(LinkError::NoPendingFlow)?;
        self.finish(flow, redirect).await
    }

    /// Finishes a flow already taken out with [`Linker::take_flow`]: checks the redirect, exchanges
    /// the code at once, stores the tokens in the keyring and the account in the store. A reconnect
    /// ([`Linker::begin_reconnect`]) replaces the tokens of its account instead of adding one.
    pub async fn finish(&self, flow: PendingFlow, redirect: &str) -> Result<Account, LinkError> {
        let flow_id = flow.id.clone();
        let target = lock(&self.reconnects).remove(&flow_id);
        let mut events = vec![flow_started(&flow)];
        if let Some((at_ms, why)) = flow.handed_off {
            events.push(Entry { at_ms, event: Event::HandedToBrowser { why: why.into() } });
        }
        let provider = self.provider(&flow.provider_id).await?;
        let outcome = async {
            let callback = Callback::parse(redirect)?;
            tracing::info!(flow = flow_id.as_str(), params = ?callback.param_names(), "redirect received");
            let params = callback.param_names().into_iter().map(str::to_owned).collect();
            events.push(now_entry(Event::RedirectReceived { params }));
            let (token_url, tenant) = (flow.endpoints.token.clone(), flow.endpoints.tenant.clone());
            let flow_userinfo = flow.endpoints.userinfo.clone();
            let grant = flow.complete(&callback)?;
            let mut details = grant.kept.clone();
            // The code may live only minutes (Workfront: 2): exchange it at once.
            let started = std::time::Instant::now();
            let result = token::exchange_code(&self.http, &provider, &token_url, grant).await;
            events.push(now_entry(Event::CodeExchange(exchange_of(&result, started))));
            let tokens = result?;
            for field in &provider.keep_token_fields {
                match tokens.extra.get(field) {
                    Some(serde_json::Value::String(v)) => details.insert(field.clone(), v.clone()),
                    Some(v @ serde_json::Value::Number(_)) => details.insert(field.clone(), v.to_string()),
                    _ => None,
                };
            }
            let now = unix_now();
            let id_claims = tokens.id_token.as_ref().and_then(|t| jwt::claims(t.secret()));
            let display_name = match id_claims.as_ref().and_then(jwt::friendly_name) {
                Some(name) => Some(name),
                None => self
                    .userinfo_name(&provider, &flow_userinfo, &tokens)
                    .await
                    .or_else(|| id_claims.as_ref().and_then(jwt::display_name)),
            };
            if let Some(target) = &target {
                return self.reconnect_in_place(target, tokens, display_name, details).await;
            }
            let account_id = uuid::Uuid::new_v4().to_string();
            let account = Account {
                id: account_id.clone(),
                provider_id: provider.id.clone(),
                tenant,
                details,
                display_name,
                scopes: tokens.scope.clone().unwrap_or_else(|| provider.scopes.clone()),
                token_type: tokens.token_type.clone(),
                linked_at: now,
                expires_at: tokens.expires_in.map(|s| now.saturating_add(s)),
                has_refresh_token: tokens.refresh_token.is_some(),
                state: AccountState::Connected,
                refreshed_at: None,
                refreshes: 0,
                last_error: None,
            };
            // A new id: nothing is stored under it, so nothing to read first, keep or migrate.
            self.vault
                .update_tokens(&account_id, crate::vault::StoredTokens::default(), crate::vault::NewTokens::from(&tokens))
                .await?;
            if let Err(e) = self.add_account(account.clone()).await {
                // Secrets without metadata would be orphans nobody can see or delete.
                if let Err(cleanup) = self.vault.delete_account(&account_id).await {
                    tracing::warn!(account = account_id.as_str(), error = %cleanup, "could not remove keyring entries after a failed save");
                }
                return Err(e);
            }
            Ok::<_, LinkError>(account)
        }
        .await;
        match &outcome {
            Ok(a) => {
                tracing::info!(flow = flow_id.as_str(), account = a.id.as_str(), "account linked");
                let reason = if target.is_some() { "reconnected" } else { "linked" };
                events.push(now_entry(Event::StateChanged { state: "connected".into(), reason: reason.into() }));
                self.note_all(&a.id, &events);
            }
            Err(e) => {
                tracing::warn!(flow = flow_id.as_str(), code = e.code(), error = %e, "sign-in failed");
                events.push(now_entry(Event::FlowFailed { code: e.code().into(), message: e.to_string() }));
                self.note_all(timeline::APP, &events);
            }
        }
        outcome
    }

    /// Replaces an account's tokens with those of a new sign-in, keeping its id. Refused when the new
    /// sign-in names another user than the account's (both names known and different): the new tokens are
    /// then dropped and the account stays as it was. Holds the account's refresh lock, so no refresh
    /// writes older tokens over the new ones; a journal left by an interrupted refresh is cleared, the new
    /// grant supersedes it.
    async fn reconnect_in_place(
        &self,
        account_id: &str,
        tokens: token::TokenSet,
        display_name: Option<String>,
        details: std::collections::BTreeMap<String, String>,
    ) -> Result<Account, LinkError> {
        let mut refresh_lock = self.refresh_lock(account_id).await?;
        let old = self.find(account_id).await?;
        if let (Some(expected), Some(signed_in)) = (&old.display_name, &display_name) {
            if expected != signed_in {
                return Err(LinkError::DifferentAccount { expected: expected.clone(), signed_in: signed_in.clone() });
            }
        }
        // Replaced, not merged: tokens of the old grant that the new one lacks belong to a grant that
        // ended. Nothing is read, so this also replaces a keyring item that could not be read.
        self.vault.replace_tokens(account_id, crate::vault::NewTokens::from(&tokens)).await?;
        let now = unix_now();
        let id = account_id.to_owned();
        let updated = self
            .update(move |accounts| {
                let a = accounts.iter_mut().find(|a| a.id == id).ok_or(LinkError::UnknownAccount(id.clone()))?;
                a.display_name = display_name.or(a.display_name.take());
                a.details.extend(details);
                if let Some(scope) = tokens.scope.clone() {
                    a.scopes = scope;
                }
                a.token_type = tokens.token_type.clone();
                a.expires_at = tokens.expires_in.map(|s| now.saturating_add(s));
                a.has_refresh_token = tokens.refresh_token.is_some();
                a.refreshed_at = Some(now);
                // New tokens: a refresh that read the account before this one must see the change.
                a.refreshes += 1;
                a.last_error = None;
                a.state = AccountState::Connected;
                Ok(a.clone())
            })
            .await?;
        refresh_lock.finish()?;
        tracing::info!(account = account_id, "account reconnected in place");
        Ok(updated)
    }

    /// Who the account belongs to, from the provider's userinfo endpoint (when the ID token doesn't say).
    async fn userinfo_name(&self, provider: &crate::providers::Provider, url: &Option<Url>, tokens: &token::TokenSet) -> Option<String> {
        let url = url.as_ref()?;
        let request = self.http.get(url.clone()).header(reqwest::header::ACCEPT, "application/json");
        let response = crate::oauth::api::with_token(request, provider, &tokens.token_type, &tokens.access_token)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            tracing::info!(status = response.status().as_u16(), "userinfo did not answer; the account stays unnamed");
            return None;
        }
        let claims: serde_json::Map<String, serde_json::Value> = response.json().await.ok()?;
        jwt::friendly_name(&claims)
    }

    /// Every linked account.
    pub async fn accounts(&self) -> Result<Vec<AccountView>, LinkError> {
        let accounts = self.load().await?;
        Ok(accounts
            .into_iter()
            .map(|account| AccountView {
                provider_name: self
                    .catalogue
                    .get(&account.provider_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| account.provider_id.clone()),
                account,
            })
            .collect())
    }

    /// Removes an account: revokes its refresh (or access) token at the provider where it offers RFC 7009
    /// revocation, then deletes its keyring entries, then its metadata. A failed revocation does not stop
    /// the local removal; the outcome says what happened at the provider. Holds the account's refresh lock,
    /// so no refresh (here or in another process) writes tokens back after they were deleted.
    pub async fn disconnect(&self, account_id: &str) -> Result<Revocation, LinkError> {
        let _lock = self.refresh_lock(account_id).await?;
        let account = self.find(account_id).await?;
        let revocation = self.revoke(&account).await;
        self.vault.delete_account(account_id).await?;
        let id = account_id.to_owned();
        self.update(move |accounts| {
            accounts.retain(|a| a.id != id);
            Ok(())
        })
        .await?;
        tracing::info!(account = account_id, revocation = ?revocation, "account disconnected");
        if let Err(e) = self.timelines.remove(account_id) {
            tracing::warn!(account = account_id, error = %e, "timeline not removed");
        }
        let words = match &revocation {
            Revocation::Revoked => "revoked at the provider".to_owned(),
            Revocation::NotOffered => "the provider offers no revocation".to_owned(),
            Revocation::NothingToRevoke => "no token was stored".to_owned(),
            Revocation::Failed(why) => format!("revocation failed: {why}"),
        };
        self.note(timeline::APP, Event::Disconnected { revocation: format!("account {account_id} ({}): {words}", account.provider_id) });
        Ok(revocation)
    }

    async fn revoke(&self, account: &Account) -> Revocation {
        let Ok(provider) = self.provider(&account.provider_id).await else { return Revocation::NotOffered };
        let provider = &provider;
        let Some(url) = provider.endpoints(account.tenant.as_deref()).ok().and_then(|e| e.revocation) else {
            return Revocation::NotOffered;
        };
        let tokens = match self.vault.tokens(&account.id).await {
            Ok(t) => t,
            Err(e) => return Revocation::Failed(e.to_string()),
        };
        let (token, hint) = match (tokens.refresh_token, tokens.access_token) {
            (Some(r), _) => (r.secret().to_owned(), "refresh_token"),
            (None, Some(a)) => (a.secret().to_owned(), "access_token"),
            (None, None) => return Revocation::NothingToRevoke,
        };
        let params = vec![("token", token), ("token_type_hint", hint.to_owned())];
        let request = match token::build_request(&self.http, provider, &url, params) {
            Ok(r) => r,
            Err(e) => return Revocation::Failed(e.to_string()),
        };
        match request.send().await {
            Ok(r) if r.status().is_success() => Revocation::Revoked,
            Ok(r) => Revocation::Failed(format!("the provider answered HTTP {}", r.status().as_u16())),
            Err(e) => Revocation::Failed(format!("the provider could not be reached: {e}")),
        }
    }

    /// Refreshes an account's tokens now, whatever their expiry ("Refresh now", `account-linker refresh`).
    pub async fn refresh(&self, account_id: &str) -> Result<Account, LinkError> {
        match self.refresh_with(account_id, None).await? {
            RefreshOutcome::Refreshed(a) | RefreshOutcome::AlreadyFresh(a) => Ok(a),
        }
    }

    /// Refreshes an account's tokens unless they changed since the caller saw `seen_refreshes` (the
    /// account's [`Account::refreshes`]): when another refresh, here or in another process, got there
    /// first, nothing is sent and the account is returned as it is now.
    pub async fn refresh_if_unchanged(&self, account_id: &str, seen_refreshes: u64) -> Result<RefreshOutcome, LinkError> {
        self.refresh_with(account_id, Some(seen_refreshes)).await
    }

    /// The one refresh path. Single-flight per account across threads and processes (a lock file);
    /// the account is read again once the lock is held. The journal in the lock file records that a
    /// request is in flight, so a refresh token spent by an interrupted refresh is explained, not lost
    /// silently. The new tokens are stored in one keyring write (merged with what was read, so a
    /// response without a refresh or ID token keeps the stored one) before the metadata.
    async fn refresh_with(&self, account_id: &str, if_unchanged_since: Option<u64>) -> Result<RefreshOutcome, LinkError> {
        let result = self.refresh_locked(account_id, if_unchanged_since).await;
        if let Err(LinkError::Vault(e)) = &result {
            self.note(account_id, Event::KeyringError { step: "refresh".into(), message: e.to_string() });
        }
        result
    }

    async fn refresh_locked(&self, account_id: &str, if_unchanged_since: Option<u64>) -> Result<RefreshOutcome, LinkError> {
        let mut lock = self.refresh_lock(account_id).await?;
        let account = self.find(account_id).await?;
        if let AccountState::NeedsReconnect { reason } = &account.state {
            return Err(LinkError::NeedsReconnect(reason.clone()));
        }
        if if_unchanged_since.is_some_and(|seen| account.refreshes != seen) {
            tracing::debug!(account = account_id, "already refreshed elsewhere");
            return Ok(RefreshOutcome::AlreadyFresh(account));
        }
        let provider = &self.provider(&account.provider_id).await?;
        if !provider.refresh {
            return Err(LinkError::NeedsReconnect(format!(
                "{} does not offer token refresh; sign in again when the access token expires",
                provider.name
            )));
        }
        // Read once, under the lock: the refresh token to send, and what the new tokens are merged with.
        let stored = match self.vault.tokens(account_id).await {
            Ok(stored) => stored,
            // Unreadable: sending nothing and writing nothing over it; only a reconnect can help.
            Err(e @ VaultError::Damaged { .. }) => {
                let reason = e.to_string();
                self.mark_needs_reconnect(account_id, reason.clone()).await?;
                return Err(LinkError::NeedsReconnect(reason));
            }
            Err(e) => return Err(e.into()),
        };
        let refresh_token = stored
            .refresh_token
            .clone()
            .ok_or_else(|| LinkError::NeedsReconnect("no refresh token is stored for this account".into()))?;
        let endpoints = provider.endpoints(account.tenant.as_deref())?;
        let interrupted = lock.interrupted();
        lock.mark_in_flight(unix_now())?;
        let started = std::time::Instant::now();
        let result = token::refresh(&self.http, provider, &endpoints.token, &refresh_token).await;
        tracing::info!(account = account_id, ok = result.is_ok(), ms = started.elapsed().as_millis() as u64, "refresh");
        self.note(account_id, Event::Refresh(exchange_of(&result, started)));
        let id = account_id.to_owned();
        match result {
            Ok(tokens) => {
                self.vault
                    .update_tokens(account_id, stored, crate::vault::NewTokens::from(&tokens))
                    .await?;
                let now = unix_now();
                let updated = self
                    .update(move |accounts| {
                        let a = accounts.iter_mut().find(|a| a.id == id).ok_or(LinkError::UnknownAccount(id.clone()))?;
                        a.expires_at = tokens.expires_in.map(|s| now.saturating_add(s));
                        a.token_type = tokens.token_type.clone();
                        a.has_refresh_token = a.has_refresh_token || tokens.refresh_token.is_some();
                        if let Some(scope) = tokens.scope {
                            a.scopes = scope;
                        }
                        a.refreshed_at = Some(now);
                        a.refreshes += 1;
                        a.last_error = None;
                        a.state = AccountState::Connected;
                        Ok(a.clone())
                    })
                    .await?;
                lock.finish()?;
                Ok(RefreshOutcome::Refreshed(updated))
            }
            Err(e) if e.is_grant_refused() => {
                let TokenError::Rejected { error, description, .. } = &e else { return Err(e.into()) };
                let detail = format!("{error}{}", description.as_ref().map(|d| format!(": {d}")).unwrap_or_default());
                let reason = match interrupted {
                    Some(at) => format!(
                        "an earlier refresh (started at {at}, Unix time) was interrupted before its answer was stored, and the provider no longer accepts the previous refresh token ({detail}); sign in again"
                    ),
                    None => format!(
                        "the provider no longer accepts this account's refresh token ({detail}); it was revoked, expired or already used; sign in again"
                    ),
                };
                let state = AccountState::NeedsReconnect { reason: reason.clone() };
                self.note(account_id, Event::StateChanged { state: "needsReconnect".into(), reason: reason.clone() });
                self.update(move |accounts| {
                    if let Some(a) = accounts.iter_mut().find(|a| a.id == id) {
                        a.state = state;
                        a.last_error = None;
                    }
                    Ok(())
                })
                .await?;
                lock.finish()?;
                Err(LinkError::NeedsReconnect(reason))
            }
            Err(e) => {
                // An OAuth error answer means the provider refused: the token was not spent, the journal
                // goes. Without a readable answer (timeout, cut connection, garbage) the request may have
                // been processed and the token rotated: the journal stays, so a later refusal is explained.
                if matches!(e, TokenError::Rejected { .. }) {
                    lock.finish()?;
                }
                let words = e.to_string();
                self.update(move |accounts| {
                    if let Some(a) = accounts.iter_mut().find(|a| a.id == id) {
                        a.last_error = Some(words);
                    }
                    Ok(())
                })
                .await?;
                Err(LinkError::Token(e))
            }
        }
    }

    async fn refresh_lock(&self, account_id: &str) -> Result<RefreshLock, LinkError> {
        let (dir, id) = (self.locks_dir.clone(), account_id.to_owned());
        Ok(tokio::task::spawn_blocking(move || RefreshLock::acquire(&dir, &id)).await.map_err(join_err)??)
    }

    /// Calls the provider's test URL with the account's access token, presented the provider's way. An
    /// answer of 401 with a refresh grant available refreshes once and calls again (a lifetime of 0 means
    /// "unknown", so a 401 is how such a provider says the session ended).
    pub async fn test_api(&self, account_id: &str) -> Result<crate::oauth::api::ApiAnswer, LinkError> {
        let account = self.find(account_id).await?;
        let provider = &self.provider(&account.provider_id).await?;
        let endpoints = provider.endpoints(account.tenant.as_deref())?;
        let url = endpoints.test.ok_or_else(|| ProviderError::NoTestUrl(provider.name.clone()))?;
        let call = |token: AccessToken, token_type: String| {
            let url = url.clone();
            async move {
                crate::oauth::api::get(&self.http, provider, &token_type, &token, &url)
                    .await
                    .map_err(|e| LinkError::Token(TokenError::Transport(e.to_string())))
            }
        };
        let host = url.host_str().unwrap_or("").to_owned();
        let noted = |answer: Result<crate::oauth::api::ApiAnswer, LinkError>, started: std::time::Instant| {
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let (status, error) = match &answer {
                Ok(a) => (Some(a.status), None),
                Err(e) => (None, Some(e.to_string())),
            };
            self.note(account_id, Event::ApiTest { host: host.clone(), status, ms, error });
            answer
        };
        let started = std::time::Instant::now();
        let answer = noted(call(self.access_token(account_id).await?, account.token_type.clone()).await, started)?;
        if answer.status == 401 && provider.refresh && account.has_refresh_token {
            let refreshed = self.refresh(account_id).await?;
            let started = std::time::Instant::now();
            return noted(call(self.access_token(account_id).await?, refreshed.token_type).await, started);
        }
        Ok(answer)
    }

    /// The support report for an account: state, token inspector, timeline, probes, likely causes. A
    /// keyring that fails does not stop the report: the probe and the inspector say what is missing.
    pub async fn report(&self, account_id: &str) -> Result<crate::diagnostics::report::Report, LinkError> {
        use crate::diagnostics::{inspect, probes, report};
        let account = self.find(account_id).await?;
        let provider = self.provider(&account.provider_id).await.ok();
        let tokens = match self.vault.tokens(account_id).await {
            Ok(t) => t,
            Err(e) => {
                self.note(account_id, Event::KeyringError { step: "support report".into(), message: e.to_string() });
                crate::vault::StoredTokens::default()
            }
        };
        let token_url = provider.as_ref().and_then(|p| p.endpoints(account.tenant.as_deref()).ok()).map(|e| e.token);
        let probes = probes::run(&self.vault, &self.http, token_url.as_ref()).await;
        let timeline = self.timelines.read(account_id).map_err(|e| LinkError::Output(e.to_string()))?;
        let view = provider.as_ref().map(|p| p.view());
        let inspection = inspect::inspect(&account, provider.as_ref(), &tokens, unix_now());
        let explanations = report::explain(&account, view.as_ref(), &timeline.entries, probes.clock_skew_secs);
        Ok(report::Report {
            generated_at: unix_now(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            os: report::os_description(),
            provider: view,
            account,
            inspection,
            explanations,
            probes,
            timeline,
        })
    }

    /// An account's timeline ([`timeline::APP`] for what belongs to no account).
    pub async fn timeline(&self, account_id: &str) -> Result<timeline::TimelineRead, LinkError> {
        if account_id != timeline::APP {
            self.find(account_id).await?;
        }
        self.timelines.read(account_id).map_err(|e| LinkError::Output(e.to_string()))
    }

    async fn find(&self, account_id: &str) -> Result<Account, LinkError> {
        self.load().await?.into_iter().find(|a| a.id == account_id).ok_or_else(|| LinkError::UnknownAccount(account_id.to_owned()))
    }

    /// A usable access token for another program: refreshed first when it has expired or the background
    /// refresher would refresh it now (three quarters into its lifetime, never sooner than 15 s after the
    /// last refresh; for a lifetime the provider did not state, after the refresher's interval). Two
    /// programs asking at once send one refresh: the second finds the tokens already renewed.
    pub async fn access_token(&self, account_id: &str) -> Result<AccessToken, LinkError> {
        let account = self.find(account_id).await?;
        if let AccountState::NeedsReconnect { reason } = &account.state {
            return Err(LinkError::NeedsReconnect(reason.clone()));
        }
        let now = unix_now();
        // Due by the background refresher's own schedule (its jitter aside), or expired: a script calling
        // `token` in a loop refreshes no more often than the app would, whatever the lifetime.
        let due = crate::refresh::schedule::Policy::default().refresh_at(
            account.obtained_at().saturating_mul(1000),
            account.expires_at.map(|at| at.saturating_mul(1000)),
            0.0,
        );
        let stale = account.expires_at.is_some_and(|at| at <= now) || due <= now.saturating_mul(1000);
        if stale {
            let can_refresh = self.provider(&account.provider_id).await?.refresh && account.has_refresh_token;
            if can_refresh {
                self.refresh_if_unchanged(account_id, account.refreshes).await?;
            } else if account.expires_at.is_some_and(|at| at <= now) {
                return Err(LinkError::NeedsReconnect("the access token expired and the provider offers no refresh".into()));
            }
        }
        self.vault
            .tokens(account_id)
            .await?
            .access_token
            .ok_or_else(|| LinkError::NeedsReconnect("no access token is stored for this account".into()))
    }

    /// Marks an account as needing a reconnect (e.g. the token of a provider without refresh expired).
    pub async fn mark_needs_reconnect(&self, account_id: &str, reason: String) -> Result<Account, LinkError> {
        self.note(account_id, Event::StateChanged { state: "needsReconnect".into(), reason: reason.clone() });
        let id = account_id.to_owned();
        self.update(move |accounts| {
            let a = accounts.iter_mut().find(|a| a.id == id).ok_or(LinkError::UnknownAccount(id.clone()))?;
            a.state = AccountState::NeedsReconnect { reason };
            Ok(a.clone())
        })
        .await
    }

    /// The raw account list (no provider names), for the refresher.
    pub async fn account_list(&self) -> Result<Vec<Account>, LinkError> {
        self.load().await
    }

    async fn add_account(&self, account: Account) -> Result<(), LinkError> {
        self.update(move |accounts| {
            accounts.push(account);
            Ok(())
        })
        .await
    }

    async fn load(&self) -> Result<Vec<Account>, LinkError> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || store.load()).await.map_err(join_err)??)
    }

    /// Changes the account list under the store's cross-process lock, off the async workers.
    async fn update<R: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Vec<Account>) -> Result<R, LinkError> + Send + 'static,
    ) -> Result<R, LinkError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.update(change)).await.map_err(join_err)?
    }

    fn flows(&self) -> std::sync::MutexGuard<'_, HashMap<FlowId, PendingFlow>> {
        lock(&self.flows)
    }
}

/// A mutex's guard; a panic elsewhere while it was held leaves plain maps that are still consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A timeline entry stamped now.
fn now_entry(event: Event) -> Entry {
    Entry { at_ms: crate::refresh::schedule::wall_now(), event }
}

/// The "sign-in started" entry of a flow, stamped when it began.
fn flow_started(flow: &PendingFlow) -> Entry {
    let elapsed = u64::try_from(flow.started_at.elapsed().as_millis()).unwrap_or(0);
    let scopes = flow
        .authorize_url
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    Entry {
        at_ms: crate::refresh::schedule::wall_now().saturating_sub(elapsed),
        event: Event::FlowStarted {
            provider: flow.provider_id.clone(),
            authorize_host: flow.authorize_url.host_str().unwrap_or("").to_owned(),
            scopes,
            tenant: flow.endpoints.tenant.clone(),
        },
    }
}

/// What a token request did, for the timeline: status, time, error code and description, never a token.
fn exchange_of(result: &Result<token::TokenSet, TokenError>, started: std::time::Instant) -> Exchange {
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let none = Exchange { ok: false, status: None, ms, error: None, error_description: None, new_refresh_token: false, expires_in: None };
    match result {
        Ok(t) => Exchange { ok: true, status: Some(200), new_refresh_token: t.refresh_token.is_some(), expires_in: t.expires_in, ..none },
        Err(TokenError::Rejected { status, error, description, .. }) => {
            Exchange { status: Some(*status), error: Some(error.clone()), error_description: description.clone(), ..none }
        }
        Err(TokenError::Malformed { status, what, .. }) => Exchange { status: Some(*status), error: Some(what.clone()), ..none },
        Err(e @ (TokenError::Transport(_) | TokenError::Unconfigured(_))) => Exchange { error: Some(e.to_string()), ..none },
    }
}

fn join_err(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io { action: "use", path: "accounts file".into(), source: std::io::Error::other(e.to_string()) }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
