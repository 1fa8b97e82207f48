//! Refreshing under live faults: the app's domain and its background refresher against the Zählerfreunde
//! emulator (Auth0-style rotating refresh tokens that revoke their family on reuse) over real HTTP, with
//! the real Secret Service. Each test checks the final state and that no refresh token was lost or spent
//! twice (`refresh_reuse_detected` stays 0 unless the test provokes it on purpose).

use std::sync::Arc;
use std::time::Duration;

use account_linker::accounts::{Account, AccountState, AccountStore};
use account_linker::linker::{LinkError, Linker, RefreshOutcome};
use account_linker::paths::AppPaths;
use account_linker::providers::Catalogue;
use account_linker::refresh::clock::SystemClock;
use account_linker::refresh::schedule::Policy;
use account_linker::refresh::{self, Notice};
use account_linker::oauth::secret::RefreshToken;
use account_linker::vault::{old_user, SecretKind};

use crate::vault::{raw_get, raw_set};
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer};
use account_linker_tests::emulators::Fault;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::browser;

/// A linked Zählerfreunde account in a throwaway home, with the token endpoint optionally behind a proxy
/// that can go "offline".
struct Env {
    home: tempfile::TempDir,
    paths: AppPaths,
    linker: Arc<Linker>,
    zf: ZaehlerfreundeServer,
    account: Account,
}

impl Env {
    /// Links an account whose access tokens live `lifetime`.
    async fn start(lifetime: Duration) -> Env {
        let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig { access_token_lifetime: lifetime, ..Default::default() })
            .await
            .expect("emulator");
        let home = tempfile::tempdir().expect("tmp");
        std::fs::write(home.path().join("providers.toml"), zf.providers_toml_with_token_url(zf.token_endpoint("oauth/token").as_str()))
            .expect("providers.toml");
        let paths = AppPaths::isolated(home.path());
        let catalogue = Catalogue::load(&paths.config_dir);
        assert!(catalogue.problems().is_empty(), "{:?}", catalogue.problems());
        let linker = Arc::new(Linker::with_http_timeout(&paths, catalogue, Duration::from_secs(2)).expect("linker"));
        let start = linker.begin("zaehlerfreunde", None).await.expect("begin");
        let location = browser::authorize(&start.authorize_url, "approve").await;
        let account = linker.complete(&start.flow_id, &location).await.expect("linked");
        assert!(account.has_refresh_token);
        Env { home, paths, linker, zf, account }
    }

    async fn refresh_token(&self) -> Option<String> {
        self.linker.vault().get(&self.account.id, SecretKind::RefreshToken).await.expect("keyring")
    }

    fn stored(&self) -> Account {
        let accounts = AccountStore::new(self.paths.accounts_file()).load().expect("store");
        accounts.into_iter().find(|a| a.id == self.account.id).expect("account still there")
    }

    /// Runs `account-linker refresh` in another process and kills it (SIGKILL) as soon as the emulator's
    /// statistics satisfy `reached`, i.e. mid-refresh.
    async fn kill_refresh_when(&self, reached: impl Fn(&account_linker_tests::emulators::EmulatorStats) -> bool) {
        let mut child = crate::cli::command_in(self.home.path(), &["refresh", &self.account.id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        tokio::time::timeout(Duration::from_secs(15), async {
            while !reached(&self.zf.stats()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the refresh reached the provider");
        child.kill().expect("kill -9");
        child.wait().expect("reaped");
    }

    /// The emulator's count of refresh grants and of rotated refresh tokens presented again.
    fn grants_and_reuse(&self) -> (u64, u64) {
        let s = self.zf.stats();
        (s.refresh_grants, s.refresh_reuse_detected)
    }
}

/// A policy that fits a test: a floor of 1 s and backoff from 300 ms to 2 s.
fn quick_policy() -> Policy {
    Policy {
        min_interval: Duration::from_secs(1),
        backoff_base: Duration::from_millis(300),
        backoff_cap: Duration::from_secs(2),
        retry_after_cap: Duration::from_secs(5),
        failures_before_notice: 3,
        ..Policy::default()
    }
}

#[tokio::test]
async fn every_token_endpoint_fault_is_retryable_and_loses_nothing() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let faults = [
        (Fault::Status503, None),
        (Fault::TooMany429 { retry_after_secs: 7 }, Some(Duration::from_secs(7))),
        (Fault::MalformedJson, None),
        (Fault::EmptyBody, None),
        (Fault::Status500Html, None),
        (Fault::Hang { secs: 4 }, None),
    ];
    for (fault, retry_after) in faults {
        let before = env.refresh_token().await;
        env.zf.fail_next_token(1, fault);
        let err = env.linker.refresh(&env.account.id).await.expect_err("the fault fails this refresh");
        let LinkError::Token(e) = &err else { panic!("{fault:?}: expected a token error, got {err}") };
        assert!(!e.is_grant_refused(), "{fault:?} is not a refusal: {e}");
        assert_eq!(e.retry_after(), retry_after, "{fault:?}");
        if matches!(fault, Fault::Hang { .. }) {
            assert!(e.to_string().contains("timed out"), "{e}");
        }
        let stored = env.stored();
        assert_eq!(stored.state, AccountState::Connected, "{fault:?}: still connected");
        assert!(stored.last_error.is_some(), "{fault:?}: the failure is recorded for the UI");
        assert_eq!(env.refresh_token().await, before, "{fault:?}: the refresh token is untouched");
        // The next attempt works with the same token: the fault replaced the provider's processing.
        let account = env.linker.refresh(&env.account.id).await.expect("recovers");
        assert_eq!(account.last_error, None);
        assert_ne!(env.refresh_token().await, before, "rotated");
    }
    assert_eq!(env.grants_and_reuse(), (6, 0), "six rotations, no token spent twice");
}

#[tokio::test]
async fn a_revoked_grant_needs_reconnect_in_words_and_is_never_retried() {
    let env = Env::start(Duration::from_secs(2)).await;
    env.zf.revoke_refresh_tokens();
    let (tx, mut notices) = mpsc::unbounded_channel();
    let (handle, _task) = refresh::spawn(env.linker.clone(), SystemClock::new(), quick_policy(), tx);
    let notice = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match notices.recv().await.expect("notices") {
                n @ Notice::NeedsReconnect { .. } => break n,
                _ => continue,
            }
        }
    })
    .await
    .expect("told within 10 s");
    let Notice::NeedsReconnect { reason, .. } = notice else { unreachable!() };
    assert!(reason.contains("no longer accepts") && reason.contains("invalid_grant"), "{reason}");
    assert!(matches!(env.stored().state, AccountState::NeedsReconnect { .. }));
    let requests = env.zf.stats().token_requests;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(env.zf.stats().token_requests, requests, "nothing retries a refused grant");
    assert!(matches!(handle.refresh_now(&env.account.id).await, Err(LinkError::NeedsReconnect(_))));
    assert_eq!(env.zf.stats().token_requests, requests);
}

#[tokio::test]
async fn a_reused_rotated_refresh_token_needs_reconnect() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let old = env.refresh_token().await.expect("rt");
    env.linker.refresh(&env.account.id).await.expect("rotate");
    // A stale copy comes back (a restored backup, another client): the provider sees a reuse.
    let access = env.linker.vault().tokens(&env.account.id).await.expect("keyring").access_token.expect("at");
    env.linker.vault().put_tokens(&env.account.id, account_linker::vault::NewTokens { access: &access, refresh: Some(&RefreshToken::new(old)), id: None }).await.expect("put");
    let err = env.linker.refresh(&env.account.id).await.expect_err("reuse is refused");
    assert!(matches!(&err, LinkError::NeedsReconnect(r) if r.contains("already used")), "{err}");
    assert_eq!(env.grants_and_reuse(), (1, 1));
    assert!(matches!(env.stored().state, AccountState::NeedsReconnect { .. }));
}

#[tokio::test]
async fn an_account_linked_by_an_older_version_refreshes_and_moves_to_one_keyring_item() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let id = env.account.id.clone();
    // The old layout: one item per token, no bundle.
    let before = env.linker.vault().tokens(&id).await.expect("keyring");
    env.linker.vault().delete_account(&id).await.expect("keyring");
    for kind in SecretKind::ALL {
        if let Some(v) = before.get(kind) {
            raw_set(&env.paths.keyring_service, old_user(&id, kind), v).await;
        }
    }
    assert!(env.linker.vault().tokens(&id).await.expect("keyring").from_old_layout());
    let old_rt = env.refresh_token().await.expect("the old refresh token is read");

    env.linker.refresh(&id).await.expect("refresh with the old refresh token");
    assert_eq!(env.grants_and_reuse(), (1, 0));
    let after = env.linker.vault().tokens(&id).await.expect("keyring");
    assert!(!after.from_old_layout(), "stored as a bundle");
    assert!(after.refresh_token.as_ref().is_some_and(|t| t.secret() != old_rt), "the rotated refresh token is stored");
    let bundle = raw_get(&env.paths.keyring_service, id.clone()).await.expect("one item under the account id");
    assert!(bundle.starts_with(r#"{"v":1,"#), "a bundle");
    for kind in SecretKind::ALL {
        assert_eq!(raw_get(&env.paths.keyring_service, old_user(&id, kind)).await, None, "the old {} item is gone", kind.name());
    }
    env.linker.refresh(&id).await.expect("refresh from the bundle");
    assert_eq!(env.grants_and_reuse(), (2, 0));
}

#[tokio::test]
async fn a_damaged_keyring_item_needs_reconnect_and_is_neither_sent_nor_overwritten() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let id = env.account.id.clone();
    let damaged = r#"{"v":7,"refresh_token":"zf_rt_from_the_future"}"#.to_owned();
    raw_set(&env.paths.keyring_service, id.clone(), &damaged).await;
    let requests = env.zf.stats().token_requests;
    let err = env.linker.refresh(&id).await.expect_err("cannot refresh");
    assert!(matches!(&err, LinkError::NeedsReconnect(r) if r.contains("unknown format version 7") && r.contains("reconnect")), "{err}");
    assert!(!err.to_string().contains("zf_rt_"), "the secret is not in the message");
    assert_eq!(env.zf.stats().token_requests, requests, "nothing was sent");
    assert!(matches!(env.stored().state, AccountState::NeedsReconnect { .. }));
    assert_eq!(raw_get(&env.paths.keyring_service, id.clone()).await, Some(damaged), "the item was left as it is");
    assert!(env.linker.access_token(&id).await.is_err());
    env.linker.vault().delete_account(&id).await.expect("clean up");
}

#[tokio::test]
async fn the_refresher_rides_out_503_and_429_and_recovers_by_itself() {
    let env = Env::start(Duration::from_secs(2)).await;
    env.zf.fail_next_token(2, Fault::Status503);
    env.zf.fail_next_token(1, Fault::TooMany429 { retry_after_secs: 2 });
    let before = env.refresh_token().await;
    let (tx, mut notices) = mpsc::unbounded_channel();
    let (_handle, _task) = refresh::spawn(env.linker.clone(), SystemClock::new(), quick_policy(), tx);
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let refreshed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let n = notices.recv().await.expect("notices");
            seen.push(n.clone());
            if let Notice::Changed { account } = n {
                if account.refreshed_at.is_some() && account.last_error.is_none() {
                    break account;
                }
            }
        }
    })
    .await
    .expect("recovered within 15 s");
    assert_eq!(refreshed.state, AccountState::Connected);
    assert!(started.elapsed() >= Duration::from_secs(2), "the 429's Retry-After of 2 s was waited out");
    assert!(seen.iter().any(|n| matches!(n, Notice::RepeatedFailure { failures: 3, .. })), "told after three failures in a row");
    assert_ne!(env.refresh_token().await, before);
    assert_eq!(env.grants_and_reuse(), (1, 0));
}

/// A TCP forwarder to the token host that can be switched "offline" (connections are cut at once).
struct Switch {
    url: String,
    online: Arc<std::sync::atomic::AtomicBool>,
}

async fn switch_to(token_host: &url::Url) -> Switch {
    let target: std::net::SocketAddr = format!("{}:{}", token_host.host_str().expect("host"), token_host.port().expect("port")).parse().expect("addr");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let online = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = online.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                inbound.shutdown().await.ok();
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await.ok();
                }
            });
        }
    });
    Switch { url: format!("http://127.0.0.1:{port}/oauth/token"), online }
}

/// Points the linked account's provider at a switch to its token host, for refreshing (the link went
/// through the real endpoint), and a linker that reads that configuration.
async fn behind_switch(env: &Env) -> (Switch, Arc<Linker>) {
    let switch = switch_to(&env.zf.token_base).await;
    std::fs::write(env.home.path().join("providers.toml"), env.zf.providers_toml_with_token_url(&switch.url)).expect("toml");
    let linker = Arc::new(Linker::with_http_timeout(&env.paths, Catalogue::load(&env.paths.config_dir), Duration::from_secs(2)).expect("linker"));
    (switch, linker)
}

/// The next account change the refresher tells that `matches`, within 10 s.
async fn changed(notices: &mut mpsc::UnboundedReceiver<Notice>, matches: impl Fn(&Account) -> bool) -> Result<Account, tokio::time::error::Elapsed> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Notice::Changed { account } = notices.recv().await.expect("notices") {
                if matches(&account) {
                    break account;
                }
            }
        }
    })
    .await
}

#[tokio::test]
async fn offline_then_online_recovers_on_its_own() {
    let env = Env::start(Duration::from_secs(2)).await;
    let (switch, linker) = behind_switch(&env).await;
    let (tx, mut notices) = mpsc::unbounded_channel();
    let (_handle, _task) = refresh::spawn(linker, SystemClock::new(), quick_policy(), tx);
    // Offline: failures pile up and are told once.
    tokio::time::timeout(Duration::from_secs(15), async {
        while !matches!(notices.recv().await.expect("notices"), Notice::RepeatedFailure { .. }) {}
    })
    .await
    .expect("repeated failure told");
    assert_eq!(env.zf.stats().token_requests, 1, "only the code exchange reached the provider");
    assert!(env.stored().last_error.is_some());
    switch.online.store(true, std::sync::atomic::Ordering::SeqCst);
    let account = changed(&mut notices, |a| a.last_error.is_none()).await.expect("back online within the capped backoff");
    assert!(account.refreshed_at.is_some());
    assert_eq!(env.grants_and_reuse(), (1, 0));
}

#[tokio::test]
async fn killed_after_the_provider_rotated_the_token_ends_in_a_clear_reconnect() {
    let env = Env::start(Duration::from_secs(3600)).await;
    env.zf.fail_next_token(1, Fault::HangAfterIssuing { secs: 30 });
    // Kill the process once the provider committed the rotation, before it hears back.
    env.kill_refresh_when(|s| s.refresh_grants > 0).await;
    assert_eq!(env.stored().state, AccountState::Connected, "nothing was recorded yet");
    // The next refresh finds the journal: the provider refuses the spent token, and the account says why.
    let err = env.linker.refresh(&env.account.id).await.expect_err("the spent token is refused");
    let LinkError::NeedsReconnect(reason) = &err else { panic!("{err}") };
    assert!(reason.contains("interrupted"), "{reason}");
    let AccountState::NeedsReconnect { reason: stored } = env.stored().state else { panic!("not marked") };
    assert_eq!(&stored, reason);
}

#[tokio::test]
async fn killed_before_the_provider_answered_keeps_a_working_token() {
    let env = Env::start(Duration::from_secs(3600)).await;
    // The provider hangs without processing: the token was never spent.
    env.zf.fail_next_token(1, Fault::Hang { secs: 30 });
    env.kill_refresh_when(|s| s.faults_injected > 0).await;
    env.linker.refresh(&env.account.id).await.expect("the journal's warning was unneeded: the token still works");
    assert_eq!(env.grants_and_reuse(), (1, 0));
    assert_eq!(env.stored().state, AccountState::Connected);
}

#[tokio::test]
async fn two_processes_and_the_app_asking_at_once_send_one_refresh() {
    // 3-second tokens, expired: every one of the three wants to refresh. Whoever comes second finds the
    // account refreshed (its new token is not due for 15 s) and uses the new token.
    let env = Env::start(Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let seen = env.account.refreshes;
    let spawn_token = || {
        let mut c = crate::cli::command_in(env.home.path(), &["token", &env.account.id]);
        tokio::task::spawn_blocking(move || c.output().expect("run"))
    };
    let (a, b) = (spawn_token(), spawn_token());
    let here = env.linker.refresh_if_unchanged(&env.account.id, seen);
    let (a, b, here) = tokio::join!(a, b, here);
    let (a, b) = (a.expect("join"), b.expect("join"));
    assert!(a.status.success() && b.status.success(), "{} / {}", String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr));
    // Compared without printing: a failure message must not carry the tokens into the test log.
    assert!(a.stdout == b.stdout, "both programs got the same, new access token");
    let here = here.expect("refresh here");
    assert!(matches!(here, RefreshOutcome::Refreshed(_) | RefreshOutcome::AlreadyFresh(_)));
    let stored_access = env.linker.vault().get(&env.account.id, SecretKind::AccessToken).await.expect("keyring").expect("at");
    assert!(String::from_utf8_lossy(&a.stdout).trim() == stored_access, "the programs' token is the stored one");
    assert_eq!(env.grants_and_reuse(), (1, 0), "exactly one refresh request reached the provider");
}

#[tokio::test]
async fn online_again_retries_at_once_instead_of_waiting_out_the_backoff() {
    let env = Env::start(Duration::from_secs(2)).await;
    let (switch, linker) = behind_switch(&env).await;
    let (tx, mut notices) = mpsc::unbounded_channel();
    // A backoff of ten minutes: without the "online" signal nothing would be tried again in this test.
    let policy = Policy { backoff_base: Duration::from_secs(600), backoff_cap: Duration::from_secs(600), ..quick_policy() };
    let (handle, _task) = refresh::spawn(linker, SystemClock::new(), policy, tx);
    changed(&mut notices, |a| a.last_error.is_some()).await.expect("the offline refresh failed");
    switch.online.store(true, std::sync::atomic::Ordering::SeqCst);
    let online_at = std::time::Instant::now();
    handle.network_up();
    let account = changed(&mut notices, |a| a.last_error.is_none()).await.expect("refreshed soon after the network came back");
    assert!(online_at.elapsed() < Duration::from_secs(6), "{:?}", online_at.elapsed());
    assert!(account.refreshed_at.is_some());
    assert_eq!(env.grants_and_reuse(), (1, 0));
}
