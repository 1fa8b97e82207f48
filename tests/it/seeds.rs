//! The three seed providers, linked end to end through the app's domain against the project's emulators
//! of them, configured the way a user would: a `providers.toml` that overrides the built-in entries'
//! client credentials and hosts. Each provider's API is then called with the token presented its way.

use std::time::Duration;

use account_linker::accounts::AccountState;
use account_linker::linker::{LinkError, Linker};
use account_linker::paths::AppPaths;
use account_linker::providers::Catalogue;
use account_linker_tests::emulators::workfront::{WorkfrontConfig, WorkfrontServer, WF_CLIENT_ID, WF_CLIENT_SECRET};
use account_linker_tests::emulators::youthweb::{YouthwebConfig, YouthwebServer, YW_CLIENT_ID, YW_CLIENT_SECRET};
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer, ZF_CLIENT_ID};

use crate::browser;

/// A linker whose config folder holds `providers_toml`.
fn linker(providers_toml: &str) -> (tempfile::TempDir, Linker) {
    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(home.path().join("providers.toml"), providers_toml).expect("write providers.toml");
    let paths = AppPaths::isolated(home.path());
    let catalogue = Catalogue::load(&paths.config_dir);
    assert!(catalogue.problems().is_empty(), "{:?}", catalogue.problems());
    (home, Linker::new(&paths, catalogue).expect("linker"))
}

async fn link(linker: &Linker, provider: &str, tenant: Option<&str>) -> Result<account_linker::accounts::Account, LinkError> {
    let start = linker.begin(provider, tenant).await?;
    let location = browser::authorize(&start.authorize_url, "approve").await;
    linker.complete(&start.flow_id, &location).await
}

#[tokio::test]
async fn zaehlerfreunde_auth0_two_hosts_audience_json_public_client_rotation_revocation() {
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");
    let (_home, linker) = linker(&zf.providers_toml());
    assert_ne!(zf.authorize_base.port(), zf.token_base.port(), "two hosts");
    let account = link(&linker, "zaehlerfreunde", None).await.expect("linked");
    assert!(account.has_refresh_token, "offline_access gives a refresh token");
    assert!(account.display_name.is_some(), "name from the id_token");
    assert!(account.scopes.contains(&"offline_access".to_owned()));
    let stats = zf.stats();
    assert_eq!((stats.json_requests, stats.form_requests), (1, 0), "JSON token requests");
    assert_eq!(stats.client_auth_none, 1, "public client");

    let answer = linker.test_api(&account.id).await.expect("api");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.presented_as, "Authorization: Bearer…");

    let first_rt = linker.vault().tokens(&account.id).await.expect("keyring").refresh_token.expect("rt");
    linker.refresh(&account.id).await.expect("refresh");
    let second_rt = linker.vault().tokens(&account.id).await.expect("keyring").refresh_token.expect("rt");
    assert_ne!(first_rt, second_rt, "the rotated refresh token replaced the spent one");
    assert_eq!(zf.stats().refresh_grants, 1);
    linker.refresh(&account.id).await.expect("the stored (rotated) refresh token works");
    assert_eq!(zf.stats().refresh_reuse_detected, 0, "a spent refresh token is never sent again");

    let revocation = linker.disconnect(&account.id).await.expect("disconnect");
    assert_eq!(revocation, account_linker::linker::Revocation::Revoked);
    assert_eq!(zf.stats().revocation_requests, 1);
}

#[tokio::test]
async fn youthweb_login_redirect_json_secret_one_hour_no_refresh_json_api() {
    let yw = YouthwebServer::start(YouthwebConfig::default()).await.expect("emulator");
    let (_home, linker) = linker(&format!(
        "[[provider]]\nid = \"youthweb\"\nclient_id = \"{YW_CLIENT_ID}\"\nclient_secret = \"{YW_CLIENT_SECRET}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\ntest_url = \"{}\"\n",
        yw.endpoint("auth/authorize"),
        yw.endpoint("auth/access_token"),
        yw.endpoint("users/me"),
    ));
    let account = link(&linker, "youthweb", None).await.expect("linked");
    assert_eq!(account.expires_at.map(|e| e - account.linked_at), Some(3600));
    let stats = yw.stats();
    assert_eq!((stats.json_requests, stats.client_auth_body), (1, 1), "JSON body with client_id and client_secret");

    let answer = linker.test_api(&account.id).await.expect("api");
    assert_eq!(answer.status, 200, "Accept: application/vnd.api+json was sent: {answer:?}");
    assert!(answer.content_type.starts_with("application/vnd.api+json"));

    let err = linker.refresh(&account.id).await.unwrap_err();
    assert_eq!(err.code(), "needs_reconnect");
    assert!(err.to_string().contains("does not offer token refresh"), "{err}");
    assert_eq!(yw.stats().token_requests, 1, "no refresh request is ever sent to Youthweb");
}

/// A `providers.toml` pointing the built-in Workfront entry at the emulator.
pub fn workfront_toml(wf: &WorkfrontServer) -> String {
    let base = wf.base_url.as_str().trim_end_matches('/');
    format!(
        "[[provider]]\nid = \"workfront\"\nclient_id = \"{WF_CLIENT_ID}\"\nclient_secret = \"{WF_CLIENT_SECRET}\"\n\
         authorize_url = \"{base}/wf/{{tenant}}/integrations/oauth2/authorize\"\n\
         token_url = \"{base}/wf/{{tenant}}/integrations/oauth2/api/v1/token\"\n\
         test_url = \"{base}/wf/{{tenant}}/attask/api/v14.0/proj/search\"\n"
    )
}

#[tokio::test]
async fn workfront_tenant_basic_auth_session_id_domain_lane_wid_unknown_lifetime() {
    let wf = WorkfrontServer::start(WorkfrontConfig::default()).await.expect("emulator");
    let (_home, linker) = linker(&workfront_toml(&wf));

    let refused = linker.begin("workfront", Some("acme.my.workfront.com.evil.example")).await.unwrap_err();
    assert_eq!(refused.code(), "bad_tenant");
    assert_eq!(wf.stats().authorize_requests, 0, "a look-alike host is refused before any request");

    let account = link(&linker, "workfront", Some("acme")).await.expect("linked");
    assert_eq!(account.tenant.as_deref(), Some("acme.my.workfront.com"));
    assert_eq!(account.details.get("domain").map(String::as_str), Some("acme"));
    assert_eq!(account.details.get("lane").map(String::as_str), Some("my"));
    assert!(account.details.get("wid").is_some_and(|w| !w.is_empty()), "wid kept: {:?}", account.details);
    assert_eq!(account.token_type, "sessionID");
    assert_eq!(account.expires_at, None, "expires_in 0 is an unknown lifetime, not 'expired'");
    assert_eq!(account.state, AccountState::Connected);
    assert_eq!((wf.stats().client_auth_basic, wf.stats().json_requests), (1, 1), "HTTP Basic with a JSON body");

    let answer = linker.test_api(&account.id).await.expect("api");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.presented_as, "sessionID");
    let token = linker.access_token(&account.id).await.expect("token");
    assert!(token.secret().starts_with("wf_at_"), "an unknown lifetime is not treated as expired");

    let before = linker.vault().tokens(&account.id).await.expect("keyring").refresh_token.expect("rt");
    linker.refresh(&account.id).await.expect("refresh");
    let after = linker.vault().tokens(&account.id).await.expect("keyring").refresh_token.expect("rt");
    assert_ne!(before, after, "Workfront's refresh returns a new refresh token, stored");
}

#[tokio::test]
async fn workfront_preview_lane_and_a_code_past_its_lifetime() {
    let wf = WorkfrontServer::start(WorkfrontConfig { code_lifetime: Duration::from_millis(300), ..WorkfrontConfig::default() })
        .await
        .expect("emulator");
    let (_home, linker) = linker(&workfront_toml(&wf));
    let account = link(&linker, "workfront", Some("https://acme.preview.workfront.com/")).await.expect("linked at once");
    assert_eq!(account.details.get("lane").map(String::as_str), Some("preview"));

    let start = linker.begin("workfront", Some("acme")).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = linker.complete(&start.flow_id, &location).await.unwrap_err();
    assert_eq!(err.code(), "token_exchange");
    assert!(err.to_string().contains("expired"), "{err}");
}

/// A `providers.toml` entry pointing the built-in Zählerfreunde at the emulator.
pub fn zf_toml(zf: &ZaehlerfreundeServer) -> String {
    format!(
        "[[provider]]\nid = \"zaehlerfreunde\"\nclient_id = \"{ZF_CLIENT_ID}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\n",
        zf.authorize_endpoint("authorize"),
        zf.token_endpoint("oauth/token"),
    )
}

#[tokio::test]
async fn broken_token_answers_are_clear_errors_and_store_nothing() {
    use account_linker_tests::emulators::Fault;
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");
    let (_home, linker) = linker(&zf_toml(&zf));
    for (fault, words) in [
        (Fault::Status500Html, "HTML page instead of JSON"),
        (Fault::MalformedJson, "not JSON"),
        (Fault::EmptyBody, "empty body"),
        (Fault::Status503, "HTTP 503"),
        (Fault::TooMany429 { retry_after_secs: 30 }, "429"),
    ] {
        zf.fail_next_token(1, fault);
        let err = link(&linker, "zaehlerfreunde", None).await.unwrap_err();
        assert_eq!(err.code(), "token_exchange", "{fault:?}: {err}");
        let text = err.to_string();
        assert!(text.contains(words) || text.contains("temporarily_unavailable"), "{fault:?}: {text}");
        assert!(!text.contains("zf_rt_") && !text.contains("eyJ"), "no token in the message: {text}");
    }
    assert!(linker.accounts().await.expect("accounts").is_empty(), "nothing was stored");
    link(&linker, "zaehlerfreunde", None).await.expect("the next sign-in works");
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client_in_words() {
    let yw = YouthwebServer::start(YouthwebConfig::default()).await.expect("emulator");
    let (_home, linker) = linker(&format!(
        "[[provider]]\nid = \"youthweb\"\nclient_id = \"{YW_CLIENT_ID}\"\nclient_secret = \"not-the-secret\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\n",
        yw.endpoint("auth/authorize"),
        yw.endpoint("auth/access_token"),
    ));
    let err = link(&linker, "youthweb", None).await.unwrap_err();
    assert_eq!(err.code(), "token_exchange");
    assert!(err.to_string().contains("invalid_client"), "{err}");
    assert!(!err.to_string().contains("not-the-secret"), "the secret is never echoed: {err}");
}

/// A `providers.toml` entry pointing the built-in Youthweb at the emulator.
pub fn youthweb_toml(yw: &YouthwebServer) -> String {
    format!(
        "[[provider]]\nid = \"youthweb\"\nclient_id = \"{YW_CLIENT_ID}\"\nclient_secret = \"{YW_CLIENT_SECRET}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\ntest_url = \"{}\"\n",
        yw.endpoint("auth/authorize"),
        yw.endpoint("auth/access_token"),
        yw.endpoint("users/me"),
    )
}

#[tokio::test]
async fn a_redirect_uri_the_provider_does_not_know_is_refused_there_and_nothing_is_issued() {
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");
    let (_home, linker) = linker(&format!("{}redirect_uri = \"org.accountlinker.app:/oauth2/unregistered\"\n", zf_toml(&zf)));
    let start = linker.begin("zaehlerfreunde", None).await.expect("begin");
    assert!(start.authorize_url.query_pairs().any(|(k, v)| k == "redirect_uri" && v == "org.accountlinker.app:/oauth2/unregistered"));
    let page = browser::client().get(start.authorize_url.clone()).send().await.expect("authorize");
    assert_eq!(page.status(), 400, "the provider shows an error page instead of redirecting");
    assert_eq!(zf.stats().codes_issued, 0);
    assert!(linker.cancel(&start.flow_id), "the flow stays cancellable; nothing was stored");
    assert!(linker.accounts().await.expect("accounts").is_empty());
}
