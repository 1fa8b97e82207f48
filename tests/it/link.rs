//! The connect path end to end without a window: begin → the demo provider's pages over HTTP → redirect →
//! state check → PKCE code exchange → keyring + account store; and disconnect.

use account_linker::accounts::AccountState;
use account_linker::linker::{LinkError, Linker};
use account_linker::paths::AppPaths;
use account_linker::providers::{builtin, Catalogue};
use account_linker::vault::SecretKind;
use account_linker_tests::demo_provider::{DemoConfig, DemoServer};

use crate::browser;

struct Setup {
    demo: DemoServer,
    linker: Linker,
    paths: AppPaths,
    _home: tempfile::TempDir,
}

async fn setup() -> Setup {
    let demo = DemoServer::start_local(DemoConfig { test_controls: true, ..DemoConfig::default() }).await.expect("demo");
    let home = tempfile::tempdir().expect("tmp");
    let paths = AppPaths::isolated(home.path());
    let provider = builtin::demo(&demo.base_url).expect("demo provider");
    let linker = Linker::new(&paths, Catalogue::new(vec![provider])).expect("linker");
    Setup { demo, linker, paths, _home: home }
}

#[tokio::test]
async fn links_an_account_and_disconnects_it() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    assert_eq!(start.redirect_uri.as_str(), "org.accountlinker.app:/oauth2/demo");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    assert!(location.starts_with("org.accountlinker.app:/oauth2/demo?code="), "{location}");

    let account = s.linker.complete(&start.flow_id, &location).await.expect("linked");
    assert_eq!(account.provider_id, "demo");
    assert_eq!(account.display_name.as_deref(), Some("demo@example.test"));
    assert_eq!(account.state, AccountState::Connected);
    assert!(account.has_refresh_token);
    let expires_in = account.expires_at.expect("expiry") - account.linked_at;
    assert_eq!(expires_in, 3600);
    assert_eq!(s.demo.stats().code_exchanges, 1);

    let tokens = s.linker.vault().tokens(&account.id).await.expect("keyring");
    assert!(tokens.refresh_token.expect("refresh token").secret().starts_with("demo_rt_"));
    assert!(tokens.access_token.expect("access token").secret().starts_with("demo_at_"));
    assert!(tokens.id_token.is_some());

    // The API answers to the token, presented as Bearer; the token itself is never in the answer.
    let answer = s.linker.test_api(&account.id).await.expect("api");
    assert_eq!(answer.status, 200);
    assert!(answer.excerpt.contains("demo@example.test"), "{answer:?}");
    assert_eq!(answer.presented_as, "Authorization: Bearer…");

    // A restart: a new linker over the same folder sees the account.
    let provider = builtin::demo(&s.demo.base_url).expect("demo");
    let restarted = Linker::new(&s.paths, Catalogue::new(vec![provider])).expect("linker");
    let listed = restarted.accounts().await.expect("accounts");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].account, account);
    assert_eq!(listed[0].provider_name, "Demo Provider");

    restarted.disconnect(&account.id).await.expect("disconnect");
    assert!(restarted.accounts().await.expect("accounts").is_empty());
    assert_eq!(s.linker.vault().get(&account.id, SecretKind::RefreshToken).await.expect("keyring"), None);
    assert!(matches!(restarted.disconnect(&account.id).await, Err(LinkError::UnknownAccount(_))));
}

#[tokio::test]
async fn the_same_redirect_completes_a_flow_only_once() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    s.linker.complete(&start.flow_id, &location).await.expect("linked");
    let again = s.linker.complete(&start.flow_id, &location).await.unwrap_err();
    assert_eq!(again.code(), "no_pending_flow");
    assert_eq!(s.demo.stats().code_exchanges, 1);
}

#[tokio::test]
async fn a_forged_state_is_rejected_before_any_exchange() {
    let s = setup().await;
    s.demo.tamper_next_state();
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let err = s.linker.complete(&start.flow_id, &location).await.unwrap_err();
    assert_eq!(err.code(), "state_mismatch", "{err}");
    assert_eq!(s.demo.stats().token_requests, 0);
    assert!(s.linker.accounts().await.expect("accounts").is_empty());
}

#[tokio::test]
async fn denied_consent_is_access_denied_in_words() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "deny").await;
    let err = s.linker.complete(&start.flow_id, &location).await.unwrap_err();
    assert_eq!(err.code(), "access_denied");
    assert!(err.to_string().starts_with("You declined access"), "{err}");
    assert!(s.linker.accounts().await.expect("accounts").is_empty());
}

#[tokio::test]
async fn a_callback_for_another_provider_path_is_refused() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let elsewhere = location.replace("/oauth2/demo?", "/oauth2/other?");
    let err = s.linker.complete(&start.flow_id, &elsewhere).await.unwrap_err();
    assert_eq!(err.code(), "bad_redirect", "{err}");
    assert_eq!(s.demo.stats().token_requests, 0);
}

#[tokio::test]
async fn a_cancelled_flow_cannot_be_completed() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    assert!(s.linker.cancel(&start.flow_id));
    assert!(!s.linker.cancel(&start.flow_id));
    let location = browser::authorize(&start.authorize_url, "approve").await;
    assert_eq!(s.linker.complete(&start.flow_id, &location).await.unwrap_err().code(), "no_pending_flow");
}

#[tokio::test]
async fn token_endpoint_down_is_a_clear_error_and_stores_nothing() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let base = s.demo.base_url.clone();
    drop(s.demo);
    // Give the server a moment to stop listening.
    for _ in 0..50 {
        if tokio::net::TcpStream::connect((base.host_str().expect("host"), base.port().expect("port"))).await.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let err = s.linker.complete(&start.flow_id, &location).await.unwrap_err();
    assert_eq!(err.code(), "token_exchange", "{err}");
    assert!(err.to_string().contains("could not be reached"), "{err}");
    assert!(s.linker.accounts().await.expect("accounts").is_empty());
}

#[tokio::test]
async fn a_corrupt_account_file_is_reported_and_kept() {
    let s = setup().await;
    let file = s.paths.accounts_file();
    std::fs::write(&file, b"{ not json").expect("write");
    let err = s.linker.accounts().await.unwrap_err();
    assert_eq!(err.code(), "account_store");
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let err = s.linker.complete(&start.flow_id, &location).await.unwrap_err();
    assert_eq!(err.code(), "account_store");
    assert_eq!(std::fs::read(&file).expect("kept"), b"{ not json", "the damaged file was not overwritten");
}

#[tokio::test]
async fn reconnect_replaces_the_tokens_of_the_same_account_in_place() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let account = s.linker.complete(&start.flow_id, &location).await.expect("linked");
    let old_refresh = s.linker.vault().get(&account.id, SecretKind::RefreshToken).await.expect("keyring");

    // The provider revokes the grant: the account needs reconnecting.
    s.demo.revoke_all_refresh_tokens();
    assert!(matches!(s.linker.refresh(&account.id).await, Err(LinkError::NeedsReconnect(_))));
    let listed = s.linker.account_list().await.expect("accounts");
    assert!(matches!(listed[0].state, AccountState::NeedsReconnect { .. }));

    // A cancelled reconnect leaves nothing behind.
    let cancelled = s.linker.begin_reconnect(&account.id).await.expect("begin reconnect");
    assert_eq!(s.linker.reconnect_target(&cancelled.flow_id).as_deref(), Some(account.id.as_str()));
    assert!(s.linker.cancel(&cancelled.flow_id));
    assert_eq!(s.linker.reconnect_target(&cancelled.flow_id), None);

    let again = s.linker.begin_reconnect(&account.id).await.expect("begin reconnect");
    assert_eq!(again.provider_id, "demo");
    let location = browser::authorize(&again.authorize_url, "approve").await;
    let reconnected = s.linker.complete(&again.flow_id, &location).await.expect("reconnected");
    assert_eq!(reconnected.id, account.id, "the same account");
    assert_eq!(reconnected.state, AccountState::Connected);
    assert_eq!(reconnected.linked_at, account.linked_at, "still linked since then");
    assert!(reconnected.refreshed_at.is_some());
    assert!(reconnected.refreshes > account.refreshes, "new tokens count, so a refresh that read the account before sees the change");
    let listed = s.linker.account_list().await.expect("accounts");
    assert_eq!(listed.len(), 1, "no second account");
    assert_eq!(listed[0], reconnected);
    let new_refresh = s.linker.vault().get(&account.id, SecretKind::RefreshToken).await.expect("keyring");
    assert!(new_refresh.is_some() && new_refresh != old_refresh, "new tokens under the same id");
    // The new grant works.
    s.linker.refresh(&account.id).await.expect("refresh after reconnect");
    let timeline = s.linker.timeline(&account.id).await.expect("timeline");
    assert!(timeline.entries.iter().any(|e| matches!(&e.event,
        account_linker::diagnostics::timeline::Event::StateChanged { state, reason } if state == "connected" && reason == "reconnected")));
    s.linker.disconnect(&account.id).await.expect("disconnect");
}

#[tokio::test]
async fn reconnect_as_someone_else_changes_nothing() {
    let s = setup().await;
    let start = s.linker.begin("demo", None).await.expect("begin");
    let account = s.linker.complete(&start.flow_id, &browser::authorize(&start.authorize_url, "approve").await).await.expect("linked");
    let before = s.linker.vault().tokens(&account.id).await.expect("keyring");
    // The stored account is someone else's than the demo provider's only user.
    let store = account_linker::accounts::AccountStore::new(s.paths.accounts_file());
    store
        .update(|accounts| {
            accounts[0].display_name = Some("alice@example.test".into());
            Ok::<_, account_linker::accounts::StoreError>(())
        })
        .expect("edit");
    let again = s.linker.begin_reconnect(&account.id).await.expect("begin reconnect");
    let result = s.linker.complete(&again.flow_id, &browser::authorize(&again.authorize_url, "approve").await).await;
    let Err(e @ LinkError::DifferentAccount { .. }) = result else { panic!("{result:?}") };
    assert_eq!(e.code(), "different_account");
    assert!(e.to_string().contains("you signed in as demo@example.test, but this account belongs to alice@example.test"), "{e}");
    let after = s.linker.vault().tokens(&account.id).await.expect("keyring");
    assert_eq!(after.refresh_token.map(|t| t.secret().to_owned()), before.refresh_token.map(|t| t.secret().to_owned()));
    assert_eq!(s.linker.account_list().await.expect("accounts")[0].display_name.as_deref(), Some("alice@example.test"));
    s.linker.disconnect(&account.id).await.expect("disconnect");
}
