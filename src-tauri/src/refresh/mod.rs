//! The background refresher: one task that owns the schedule of every account, receives commands and
//! sends [`Notice`]s out. No locks are shared with it; the UI talks to it through a [`RefresherHandle`].
//!
//! One timer (the earliest deadline, on a [`clock::Clock`]) drives all accounts; nothing wakes while
//! nothing is due. Refreshes run concurrently up to [`schedule::Policy::concurrency`], each through the
//! [`Backend`] (the [`crate::linker::Linker`] in the app), which makes them single-flight per account,
//! also across processes. A failure is sorted into: retry later (capped exponential backoff honouring
//! `Retry-After`), or needs reconnect (the provider refused the grant), which nothing retries.
//! Providers without a refresh grant get a reminder ahead of expiry, then the account needs reconnecting.

pub mod clock;
pub mod schedule;

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;

use crate::accounts::{Account, AccountState};
use crate::linker::{LinkError, Linker, RefreshOutcome};
use crate::oauth::token::TokenError;
use clock::Clock;
use schedule::{Policy, WallMs};

/// An account as the refresher sees it.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The account's metadata.
    pub account: Account,
    /// Whether its provider offers the refresh grant.
    pub can_refresh: bool,
    /// The provider's display name, for notices.
    pub provider_name: String,
}

/// What the refresher needs from the rest of the app.
pub trait Backend: Send + Sync + 'static {
    /// Every account, with its provider's refresh capability.
    fn accounts(&self) -> impl Future<Output = Result<Vec<Tracked>, LinkError>> + Send;
    /// Refreshes one account; `seen_refreshes` makes it conditional (see
    /// [`Linker::refresh_if_unchanged`]), `None` refreshes whatever happened meanwhile.
    fn refresh(&self, account_id: &str, seen_refreshes: Option<u64>) -> impl Future<Output = Result<RefreshOutcome, LinkError>> + Send;
    /// Marks an account as needing a reconnect.
    fn expire(&self, account_id: &str, reason: String) -> impl Future<Output = Result<Account, LinkError>> + Send;
}

impl Backend for Linker {
    async fn accounts(&self) -> Result<Vec<Tracked>, LinkError> {
        let mut tracked = Vec::new();
        for account in self.account_list().await? {
            // A provider removed from the configuration can't be refreshed; the account still shows.
            let (can_refresh, provider_name) = match self.provider(&account.provider_id).await {
                Ok(p) => (p.refresh, p.name),
                Err(e) => {
                    tracing::warn!(account = account.id.as_str(), error = %e, "provider unavailable; not refreshing");
                    (false, account.provider_id.clone())
                }
            };
            tracked.push(Tracked { account, can_refresh, provider_name });
        }
        Ok(tracked)
    }

    async fn refresh(&self, account_id: &str, seen_refreshes: Option<u64>) -> Result<RefreshOutcome, LinkError> {
        match seen_refreshes {
            Some(seen) => self.refresh_if_unchanged(account_id, seen).await,
            None => self.refresh(account_id).await.map(RefreshOutcome::Refreshed),
        }
    }

    async fn expire(&self, account_id: &str, reason: String) -> Result<Account, LinkError> {
        self.mark_needs_reconnect(account_id, reason).await
    }
}

/// What the refresher tells the app (the UI, the tray, desktop notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A refresh of this account started.
    Refreshing {
        /// The account.
        account_id: String,
    },
    /// The account changed (refreshed, or a failure recorded).
    Changed {
        /// The account as it is now.
        account: Account,
    },
    /// The user must sign in again; nothing will retry.
    NeedsReconnect {
        /// The account.
        account: Account,
        /// Its provider's name.
        provider_name: String,
        /// Why, in plain words.
        reason: String,
    },
    /// A provider without refresh: the token expires soon and the user should reconnect.
    ReconnectDueSoon {
        /// The account.
        account: Account,
        /// Its provider's name.
        provider_name: String,
        /// When the token expires (Unix seconds).
        expires_at: u64,
    },
    /// Refreshing failed this many times in a row; it keeps being retried.
    RepeatedFailure {
        /// The account.
        account: Account,
        /// Its provider's name.
        provider_name: String,
        /// Failures in a row.
        failures: u32,
        /// The last failure, in plain words.
        error: String,
    },
}

enum Command {
    Reload,
    RefreshNow { account_id: String, reply: oneshot::Sender<Result<Account, LinkError>> },
    ClockChanged,
    NetworkUp,
    NextRefreshes { reply: oneshot::Sender<HashMap<String, u64>> },
}

/// Talks to the refresher task. Dropping every handle stops it.
#[derive(Debug, Clone)]
pub struct RefresherHandle {
    tx: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Reload => "Reload",
            Command::RefreshNow { .. } => "RefreshNow",
            Command::ClockChanged => "ClockChanged",
            Command::NetworkUp => "NetworkUp",
            Command::NextRefreshes { .. } => "NextRefreshes",
        })
    }
}

impl RefresherHandle {
    /// The account list changed (linked, disconnected, changed by another process): read it again.
    pub fn reload(&self) {
        self.tx.send(Command::Reload).ok();
    }

    /// The machine woke up or the clock was set: look at the schedule again now.
    pub fn clock_changed(&self) {
        self.tx.send(Command::ClockChanged).ok();
    }

    /// The machine is online again: accounts waiting out a failed refresh because the token endpoint
    /// could not be reached try again within seconds instead of at the end of their backoff. A server
    /// that asked to wait (`Retry-After`, 429, 5xx) is still left alone, and a network that keeps flapping
    /// cannot make this fire more than once per [`Policy::network_nudge_gap`].
    pub fn network_up(&self) {
        self.tx.send(Command::NetworkUp).ok();
    }

    /// When each account's next refresh is planned (Unix seconds), by account id: the schedule the
    /// refresher keeps, retries after failures included. Accounts without a planned refresh (needs
    /// reconnect, no refresh grant, a refresh running now) are absent. Empty if the refresher stopped.
    pub async fn next_refreshes(&self) -> HashMap<String, u64> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Command::NextRefreshes { reply }).is_err() {
            return HashMap::new();
        }
        answer.await.unwrap_or_default()
    }

    /// Refreshes an account now ("Refresh now") and answers with the outcome.
    pub async fn refresh_now(&self, account_id: &str) -> Result<Account, LinkError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::RefreshNow { account_id: account_id.to_owned(), reply })
            .map_err(|_| LinkError::Output("the background refresher has stopped".into()))?;
        answer.await.map_err(|_| LinkError::Output("the background refresher has stopped".into()))?
    }
}

/// Starts the refresher on the current tokio runtime. It loads the accounts at once (overdue ones,
/// e.g. after the app was closed for a while, are refreshed right away) and runs until every
/// [`RefresherHandle`] is dropped.
pub fn spawn<B: Backend, C: Clock>(
    backend: Arc<B>,
    clock: C,
    policy: Policy,
    notices: mpsc::UnboundedSender<Notice>,
) -> (RefresherHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(policy.concurrency.max(1)));
    let refresher =
        Refresher { backend, clock, policy, notices, entries: HashMap::new(), tasks: JoinSet::new(), permits, last_network_up: None };
    let task = tokio::spawn(refresher.run(rx));
    (RefresherHandle { tx }, task)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Idle,
    Refresh(WallMs),
    Remind(WallMs),
    Expire(WallMs),
}

#[derive(Debug)]
struct Entry {
    tracked: Tracked,
    failures: u32,
    retry_at: Option<WallMs>,
    reminded: bool,
    in_flight: u32,
    /// The last failure was an unreachable token endpoint (offline, DNS, refused, timed out).
    unreachable: bool,
}

struct Done {
    account_id: String,
    reply: Option<oneshot::Sender<Result<Account, LinkError>>>,
    result: Result<RefreshOutcome, LinkError>,
}

struct Refresher<B, C> {
    backend: Arc<B>,
    clock: C,
    policy: Policy,
    notices: mpsc::UnboundedSender<Notice>,
    entries: HashMap<String, Entry>,
    tasks: JoinSet<Done>,
    permits: Arc<Semaphore>,
    /// When the last "online again" was acted on.
    last_network_up: Option<WallMs>,
}

/// A number in `[0, 1)` fixed by its inputs: the same account gets the same jitter for the same tokens.
fn jitter(parts: impl Hash) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl<B: Backend, C: Clock> Refresher<B, C> {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        self.reload().await;
        loop {
            let next = self.entries.values().filter(|e| e.in_flight == 0).filter_map(|e| self.plan(e).time()).min();
            let timer = async {
                match next {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => match done {
                    Ok(done) => self.finished(done),
                    Err(e) => tracing::error!(error = %e, "a refresh task failed"),
                },
                command = rx.recv() => match command {
                    None => break,
                    Some(Command::Reload) => self.reload().await,
                    Some(Command::ClockChanged) => tracing::info!("clock changed or machine resumed; looking at the schedule again"),
                    Some(Command::NetworkUp) => self.network_up(),
                    Some(Command::RefreshNow { account_id, reply }) => self.start_refresh(&account_id, None, Some(reply)),
                    Some(Command::NextRefreshes { reply }) => {
                        reply.send(self.next_refreshes()).ok();
                    }
                },
                () = timer => self.run_due().await,
            }
        }
        tracing::debug!("refresher stopped");
    }

    fn next_refreshes(&self) -> HashMap<String, u64> {
        self.entries
            .iter()
            .filter(|(_, e)| e.in_flight == 0)
            .filter_map(|(id, e)| match self.plan(e) {
                Plan::Refresh(at) => Some((id.clone(), at.div_ceil(1000))),
                _ => None,
            })
            .collect()
    }

    fn plan(&self, entry: &Entry) -> Plan {
        let account = &entry.tracked.account;
        if !matches!(account.state, AccountState::Connected) {
            return Plan::Idle;
        }
        let obtained = account.obtained_at().saturating_mul(1000);
        let expires = account.expires_at.map(|s| s.saturating_mul(1000));
        if entry.tracked.can_refresh && account.has_refresh_token {
            let planned = self.policy.refresh_at(obtained, expires, jitter((&account.id, account.obtained_at())));
            return Plan::Refresh(entry.retry_at.unwrap_or(planned));
        }
        match expires {
            Some(exp) if !entry.reminded => {
                Plan::Remind(self.policy.reminder_at(obtained, exp, self.clock.now()).unwrap_or(obtained).min(exp))
            }
            Some(exp) => Plan::Expire(exp),
            None => Plan::Idle,
        }
    }

    async fn reload(&mut self) {
        let tracked = match self.backend.accounts().await {
            Ok(t) => t,
            Err(e) => {
                // The account file or keyring is broken: keep the schedule we have; the UI says why.
                tracing::warn!(error = %e, "could not read the accounts; keeping the current schedule");
                return;
            }
        };
        let mut entries = HashMap::with_capacity(tracked.len());
        for t in tracked {
            let id = t.account.id.clone();
            let entry = match self.entries.remove(&id) {
                Some(mut old) if old.tracked.account.refreshes == t.account.refreshes && old.tracked.account.state == t.account.state => {
                    old.tracked = t;
                    old
                }
                Some(old) => Entry { tracked: t, failures: 0, retry_at: None, reminded: false, in_flight: old.in_flight, unreachable: false },
                None => Entry { tracked: t, failures: 0, retry_at: None, reminded: false, in_flight: 0, unreachable: false },
            };
            entries.insert(id, entry);
        }
        self.entries = entries;
        tracing::debug!(accounts = self.entries.len(), "schedule loaded");
    }

    async fn run_due(&mut self) {
        let now = self.clock.now();
        let due: Vec<(String, Plan)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.in_flight == 0)
            .map(|(id, e)| (id.clone(), self.plan(e)))
            .filter(|(_, plan)| plan.time().is_some_and(|t| t <= now))
            .collect();
        for (id, plan) in due {
            match plan {
                Plan::Refresh(_) => {
                    let seen = self.entries.get(&id).map(|e| e.tracked.account.refreshes);
                    self.start_refresh(&id, seen, None);
                }
                Plan::Remind(_) => self.remind(&id),
                Plan::Expire(_) => self.expire(&id).await,
                Plan::Idle => {}
            }
        }
    }

    fn start_refresh(&mut self, account_id: &str, seen: Option<u64>, reply: Option<oneshot::Sender<Result<Account, LinkError>>>) {
        let Some(entry) = self.entries.get_mut(account_id) else {
            if let Some(reply) = reply {
                reply.send(Err(LinkError::UnknownAccount(account_id.to_owned()))).ok();
            }
            return;
        };
        entry.in_flight += 1;
        self.notices.send(Notice::Refreshing { account_id: account_id.to_owned() }).ok();
        let (backend, permits, account_id) = (self.backend.clone(), self.permits.clone(), account_id.to_owned());
        self.tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = backend.refresh(&account_id, seen).await;
            Done { account_id, reply, result }
        });
    }

    fn finished(&mut self, done: Done) {
        let Done { account_id, reply, result } = done;
        let now = self.clock.now();
        let reply_with = |result: Result<Account, LinkError>| {
            if let Some(reply) = reply {
                reply.send(result).ok();
            }
        };
        let Some(entry) = self.entries.get_mut(&account_id) else {
            return reply_with(result.map(|o| o.account().clone()));
        };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        match result {
            Ok(outcome) => {
                entry.tracked.account = outcome.account().clone();
                entry.failures = 0;
                entry.retry_at = None;
                entry.reminded = false;
                entry.unreachable = false;
                self.notices.send(Notice::Changed { account: entry.tracked.account.clone() }).ok();
                reply_with(Ok(entry.tracked.account.clone()));
            }
            Err(LinkError::NeedsReconnect(reason)) => {
                entry.tracked.account.state = AccountState::NeedsReconnect { reason: reason.clone() };
                tracing::warn!(account = account_id.as_str(), reason = reason.as_str(), "account needs reconnecting");
                self.notices
                    .send(Notice::NeedsReconnect {
                        account: entry.tracked.account.clone(),
                        provider_name: entry.tracked.provider_name.clone(),
                        reason: reason.clone(),
                    })
                    .ok();
                reply_with(Err(LinkError::NeedsReconnect(reason)));
            }
            Err(LinkError::UnknownAccount(id)) => {
                // Disconnected meanwhile (maybe by another process).
                self.entries.remove(&account_id);
                reply_with(Err(LinkError::UnknownAccount(id)));
            }
            Err(e) => {
                entry.failures += 1;
                let retry_after = match &e {
                    LinkError::Token(t) => t.retry_after(),
                    _ => None,
                };
                entry.unreachable = matches!(&e, LinkError::Token(TokenError::Transport(_)));
                let delay = self.policy.retry_delay(entry.failures, retry_after, jitter((&account_id, entry.failures)));
                entry.retry_at = Some(now + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                let words = e.to_string();
                tracing::warn!(account = account_id.as_str(), failures = entry.failures, retry_in_s = delay.as_secs(), code = e.code(), error = words.as_str(), "refresh failed; will retry");
                entry.tracked.account.last_error = Some(words.clone());
                self.notices.send(Notice::Changed { account: entry.tracked.account.clone() }).ok();
                if entry.failures == self.policy.failures_before_notice {
                    self.notices
                        .send(Notice::RepeatedFailure {
                            account: entry.tracked.account.clone(),
                            provider_name: entry.tracked.provider_name.clone(),
                            failures: entry.failures,
                            error: words,
                        })
                        .ok();
                }
                reply_with(Err(e));
            }
        }
    }

    fn network_up(&mut self) {
        let now = self.clock.now();
        let gap = u64::try_from(self.policy.network_nudge_gap.as_millis()).unwrap_or(u64::MAX);
        if self.last_network_up.is_some_and(|last| now < last.saturating_add(gap)) {
            tracing::debug!("online again, but acted on that moments ago");
            return;
        }
        self.last_network_up = Some(now);
        let mut nudged = 0;
        for (id, entry) in &mut self.entries {
            if entry.unreachable && entry.in_flight == 0 && entry.retry_at.is_some_and(|at| at > now) {
                // Spread over a few seconds, so that many accounts don't all go at once.
                let spread = (jitter((id, "online")) * NETWORK_UP_SPREAD_MS as f64) as u64;
                entry.retry_at = Some(now + NETWORK_UP_DELAY_MS + spread);
                nudged += 1;
            }
        }
        tracing::info!(accounts = nudged, "online again; retrying accounts whose token endpoint was unreachable");
    }

    fn remind(&mut self, account_id: &str) {
        let Some(entry) = self.entries.get_mut(account_id) else { return };
        entry.reminded = true;
        let Some(expires_at) = entry.tracked.account.expires_at else { return };
        tracing::info!(account = account_id, expires_at, "reconnect due soon (the provider offers no refresh)");
        self.notices
            .send(Notice::ReconnectDueSoon {
                account: entry.tracked.account.clone(),
                provider_name: entry.tracked.provider_name.clone(),
                expires_at,
            })
            .ok();
    }

    async fn expire(&mut self, account_id: &str) {
        let Some(entry) = self.entries.get(account_id) else { return };
        let provider_name = entry.tracked.provider_name.clone();
        let reason = format!("the access token expired and {provider_name} offers no way to renew it; sign in again to keep using this account");
        match self.backend.expire(account_id, reason.clone()).await {
            Ok(account) => {
                if let Some(entry) = self.entries.get_mut(account_id) {
                    entry.tracked.account = account.clone();
                }
                self.notices.send(Notice::NeedsReconnect { account, provider_name, reason }).ok();
            }
            Err(LinkError::UnknownAccount(_)) => {
                self.entries.remove(account_id);
            }
            Err(e) => {
                // Mark it locally so the timer does not fire again at once; the next reload retries.
                tracing::warn!(account = account_id, error = %e, "could not record that the account expired");
                if let Some(entry) = self.entries.get_mut(account_id) {
                    entry.tracked.account.state = AccountState::NeedsReconnect { reason };
                }
            }
        }
    }
}

impl Plan {
    fn time(self) -> Option<WallMs> {
        match self {
            Plan::Idle => None,
            Plan::Refresh(t) | Plan::Remind(t) | Plan::Expire(t) => Some(t),
        }
    }
}

/// After "online again", unreachable accounts retry this soon (the network may need a moment for DNS)...
const NETWORK_UP_DELAY_MS: u64 = 2_000;
/// ...spread over this much more.
const NETWORK_UP_SPREAD_MS: u64 = 3_000;

#[cfg(test)]
mod tests;
