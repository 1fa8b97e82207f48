//! Tests of the Workfront emulator over real HTTP (redirects not followed).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::emulators::test_support::{client, hidden, location, query_param};

const ORG: &str = "acme.my.workfront.com";

async fn start(config: WorkfrontConfig) -> WorkfrontServer {
    WorkfrontServer::start(config).await.expect("emulator starts")
}

fn redirect_uri(org: &str) -> String {
    format!("{WF_REDIRECT_URI}/{org}")
}

async fn approved(c: &reqwest::Client, server: &WorkfrontServer, org: &str, state: Option<&str>) -> Url {
    let mut url = server.org_base(org).join("integrations/oauth2/authorize").expect("url");
    url.query_pairs_mut()
        .append_pair("client_id", WF_CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri(org))
        .append_pair("response_type", "code")
        .append_pair("code_challenge", "ignored");
    if let Some(state) = state {
        url.query_pairs_mut().append_pair("state", state);
    }
    let html = c.get(url).send().await.expect("GET").text().await.expect("body");
    let request_id = hidden(&html, "request_id");
    let html = c.post(server.org_base(org).join("login").expect("url"))
        .form(&[("request_id", request_id.as_str()), ("username", "demo"), ("password", "demo")])
        .send().await.expect("POST").text().await.expect("body");
    assert!(html.contains("id=\"approve\""), "{html}");
    let response = c.post(server.org_base(org).join("consent").expect("url"))
        .form(&[("request_id", request_id.as_str()), ("decision", "approve")])
        .send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::FOUND);
    location(&server.base_url, &response)
}

fn basic() -> String {
    format!("Basic {}", STANDARD.encode(format!("{WF_CLIENT_ID}:{WF_CLIENT_SECRET}")))
}

async fn token_basic_json(c: &reqwest::Client, server: &WorkfrontServer, org: &str, body: &Value) -> (StatusCode, Value) {
    let r = c.post(server.org_base(org).join("integrations/oauth2/api/v1/token").expect("url"))
        .header("authorization", basic()).json(body).send().await.expect("POST");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn token_form(c: &reqwest::Client, server: &WorkfrontServer, org: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = c.post(server.org_base(org).join("integrations/oauth2/api/v1/token").expect("url"))
        .form(form).send().await.expect("POST");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn projects(c: &reqwest::Client, server: &WorkfrontServer, org: &str, session: Option<&str>, bearer: Option<&str>) -> (StatusCode, Value) {
    let mut request = c.get(server.org_base(org).join("attask/api/v14.0/proj/search").expect("url"));
    if let Some(session) = session {
        request = request.header("sessionID", session);
    }
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let r = request.send().await.expect("GET");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn wf_happy_path_basic_json_session_header_and_rotation() {
    let server = start(WorkfrontConfig::default()).await;
    let c = client();
    let redirect = approved(&c, &server, ORG, Some("s1")).await;
    assert!(redirect.as_str().starts_with(&redirect_uri(ORG)));
    assert_eq!(query_param(&redirect, "domain").as_deref(), Some("acme"));
    assert_eq!(query_param(&redirect, "lane").as_deref(), Some("my"));
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("s1"));
    let code = query_param(&redirect, "code").expect("code");
    let ru = redirect_uri(ORG);
    let (status, body) = token_basic_json(&c, &server, ORG, &json!({"code": code, "grant_type": "authorization_code", "redirect_uri": ru})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "sessionID");
    assert_eq!(body["expires_in"], 0);
    assert_eq!(body["wid"], WF_USER_ID);
    let access = body["access_token"].as_str().expect("at").to_owned();
    assert!(access.starts_with(WF_ACCESS_TOKEN_PREFIX));
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();
    assert!(refresh.starts_with(WF_REFRESH_TOKEN_PREFIX));

    let (status, body) = projects(&c, &server, ORG, Some(&access), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"][0]["name"], "Demo project");
    let (status, body) = projects(&c, &server, ORG, None, Some(&access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"error": {"class": "com.attask.common.AuthenticationException", "message": "You are not currently logged in"}}));
    let (status, _) = projects(&c, &server, "acme.preview.workfront.com", Some(&access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a session belongs to its organization");

    let (status, body) = token_basic_json(&c, &server, ORG, &json!({"grant_type": "refresh_token", "refresh_token": refresh})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = body["refresh_token"].as_str().expect("rt").to_owned();
    assert_ne!(rotated, refresh);
    let (status, body) = token_basic_json(&c, &server, ORG, &json!({"grant_type": "refresh_token", "refresh_token": refresh})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (_, body) = token_basic_json(&c, &server, ORG, &json!({"grant_type": "refresh_token", "refresh_token": rotated})).await;
    assert_eq!(body["error"], "invalid_grant", "the family was revoked");
    let (_, body) = token_basic_json(&c, &server, ORG, &json!({"code": code, "grant_type": "authorization_code", "redirect_uri": ru})).await;
    assert_eq!(body["error"], "invalid_grant", "codes are one-time");
    let stats = server.stats();
    assert_eq!(stats.client_auth_basic, 5);
    assert_eq!(stats.json_requests, 5);
    assert_eq!(stats.refresh_reuse_detected, 1);
}

#[tokio::test]
async fn wf_form_auth_preview_lane_and_wrong_secret() {
    let server = start(WorkfrontConfig::default()).await;
    let c = client();
    let org = "acme.preview.workfront.com";
    let redirect = approved(&c, &server, org, None).await;
    assert_eq!(query_param(&redirect, "lane").as_deref(), Some("preview"));
    assert_eq!(query_param(&redirect, "domain").as_deref(), Some("acme"));
    assert!(query_param(&redirect, "state").is_none());
    let code = query_param(&redirect, "code").expect("code");
    let ru = redirect_uri(org);
    let (status, body) = token_form(&c, &server, org, &[("grant_type", "authorization_code"), ("redirect_uri", &ru), ("code", &code), ("client_id", WF_CLIENT_ID), ("client_secret", "wrong")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let redirect = approved(&c, &server, org, None).await;
    let code = query_param(&redirect, "code").expect("code");
    let (status, body) = token_form(&c, &server, org, &[("grant_type", "authorization_code"), ("redirect_uri", &ru), ("code", &code), ("client_id", WF_CLIENT_ID), ("client_secret", WF_CLIENT_SECRET)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();
    let (status, body) = token_form(&c, &server, org, &[("grant_type", "refresh_token"), ("redirect_uri", &ru), ("refresh_token", &refresh), ("client_id", WF_CLIENT_ID), ("client_secret", WF_CLIENT_SECRET)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.stats().client_auth_body, 3);
    assert_eq!(server.stats().form_requests, 3);
}

#[tokio::test]
async fn wf_code_expires_and_sessions_idle_out() {
    let server = start(WorkfrontConfig {
        code_lifetime: Duration::from_millis(200),
        session_lifetime: Duration::from_millis(400),
        ..Default::default()
    }).await;
    let c = client();
    let ru = redirect_uri(ORG);
    let code = query_param(&approved(&c, &server, ORG, None).await, "code").expect("code");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = token_basic_json(&c, &server, ORG, &json!({"code": code, "grant_type": "authorization_code", "redirect_uri": ru})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "invalid_grant", "error_description": "authorization code expired"}));

    let code = query_param(&approved(&c, &server, ORG, None).await, "code").expect("code");
    let (_, body) = token_basic_json(&c, &server, ORG, &json!({"code": code, "grant_type": "authorization_code", "redirect_uri": ru})).await;
    let access = body["access_token"].as_str().expect("at").to_owned();
    assert_eq!(body["expires_in"], 0);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(projects(&c, &server, ORG, Some(&access), None).await.0, StatusCode::OK, "use extends the session");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(projects(&c, &server, ORG, Some(&access), None).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(projects(&c, &server, ORG, Some(&access), None).await.0, StatusCode::UNAUTHORIZED, "idle session expired");
}

#[tokio::test]
async fn wf_registered_redirects_unknown_org_faults_and_controls() {
    let server = start(WorkfrontConfig::default()).await;
    let c = client();
    let mut url = server.org_base(ORG).join("integrations/oauth2/authorize").expect("url");
    url.query_pairs_mut().append_pair("client_id", WF_CLIENT_ID).append_pair("redirect_uri", &format!("{WF_REDIRECT_URI}/acme.my.workfront.com.evil")).append_pair("response_type", "code");
    let r = c.get(url).send().await.expect("GET");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.get(server.org_base("evil.my.workfront.com").join("integrations/oauth2/authorize").expect("url")).send().await.expect("GET");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = c.post(server.base_url.join("_control/tamper-next-state").expect("url")).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let redirect = approved(&c, &server, ORG, Some("s")).await;
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("s-tampered"));

    let code = query_param(&redirect, "code").expect("code");
    let ru = redirect_uri(ORG);
    server.fail_next_token(2, Fault::TooMany429 { retry_after_secs: 2 });
    server.fail_next_token(1, Fault::Status500Html);
    let body = json!({"code": code, "grant_type": "authorization_code", "redirect_uri": ru});
    assert_eq!(token_basic_json(&c, &server, ORG, &body).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(token_basic_json(&c, &server, ORG, &body).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(token_basic_json(&c, &server, ORG, &body).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, body) = token_basic_json(&c, &server, ORG, &body).await;
    assert_eq!(status, StatusCode::OK, "faults did not consume the code: {body}");
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();
    server.revoke_refresh_tokens();
    let (_, body) = token_basic_json(&c, &server, ORG, &json!({"grant_type": "refresh_token", "refresh_token": refresh})).await;
    assert_eq!(body["error"], "invalid_grant");
    // Basic auth with a form body is not one of the documented dialects.
    let r = c.post(server.org_base(ORG).join("integrations/oauth2/api/v1/token").expect("url"))
        .header("authorization", basic()).form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let stats: Value = c.get(server.base_url.join("_control/stats").expect("url")).send().await.expect("GET").json().await.expect("JSON");
    assert_eq!(stats["faults_injected"], 3);
}

fn refresh_request(token: &str) -> Value {
    json!({"grant_type": "refresh_token", "refresh_token": token})
}

#[tokio::test]
async fn wf_minted_refresh_tokens_belong_to_an_organization() {
    let server = start(WorkfrontConfig::default()).await;
    let c = client();
    let minted = server.mint_refresh_tokens(2);
    assert_eq!(minted.len(), 2);
    assert!(minted.iter().all(|t| t.starts_with(WF_REFRESH_TOKEN_PREFIX)));
    let (status, body) = token_basic_json(&c, &server, ORG, &refresh_request(&minted[0])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 0);
    let (status, _) = projects(&c, &server, ORG, body["access_token"].as_str(), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = token_basic_json(&c, &server, "acme.preview.workfront.com", &refresh_request(&minted[1])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "bound to the first organization");
    assert_eq!(body["error_description"], "refresh token belongs to another organization");

    // Over HTTP, for another organization.
    let r = c.post(server.base_url.join("_control/mint-refresh-tokens").expect("url")).json(&json!({"n": 1, "org": "acme.preview.workfront.com"})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("JSON");
    let preview = body["refresh_tokens"][0].as_str().expect("rt").to_owned();
    let (status, body) = token_form(&c, &server, "acme.preview.workfront.com", &[("grant_type", "refresh_token"), ("refresh_token", &preview), ("client_id", WF_CLIENT_ID), ("client_secret", WF_CLIENT_SECRET)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.mint_refresh_tokens_for_org("acme.preview.workfront.com", 1).map(|t| t.len()), Some(1));
    assert_eq!(server.mint_refresh_tokens_for_org("other.my.workfront.com", 1), None);
    let r = c.post(server.base_url.join("_control/mint-refresh-tokens").expect("url")).json(&json!({"org": "other.my.workfront.com"})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.expect("JSON")["error"], "invalid_request");
}

#[tokio::test]
async fn wf_hang_after_issuing_commits_then_answers_late() {
    let server = start(WorkfrontConfig::default()).await;
    let c = client();
    let url = server.org_base(ORG).join("integrations/oauth2/api/v1/token").expect("url");
    // The code is redeemed, but the client gives up before the answer.
    let redirect = approved(&c, &server, ORG, None).await;
    let code = query_param(&redirect, "code").expect("code");
    let ru = redirect_uri(ORG);
    let exchange = json!({"code": code, "grant_type": "authorization_code", "redirect_uri": ru});
    server.fail_next_token(1, Fault::HangAfterIssuing { secs: 5 });
    let r = c.post(url.clone()).header("authorization", basic()).json(&exchange).timeout(std::time::Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let (status, body) = token_basic_json(&c, &server, ORG, &exchange).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "the code was redeemed before the hang");

    // A rotation that the client never stores: its old token is reuse afterwards.
    let [token] = <[String; 1]>::try_from(server.mint_refresh_tokens(1)).expect("one token");
    let r = c.post(server.base_url.join("_control/fail-next-token").expect("url")).json(&json!({"fault": {"kind": "hang_after_issuing", "secs": 5}})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c.post(url).header("authorization", basic()).json(&refresh_request(&token)).timeout(std::time::Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let (status, body) = token_basic_json(&c, &server, ORG, &refresh_request(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "refresh token was already used; the session family was revoked");

    // A patient client gets the normal answer after the delay.
    let [token] = <[String; 1]>::try_from(server.mint_refresh_tokens(1)).expect("one token");
    server.fail_next_token(1, Fault::HangAfterIssuing { secs: 1 });
    let started = std::time::Instant::now();
    let (status, body) = token_basic_json(&c, &server, ORG, &refresh_request(&token)).await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.starts_with(WF_REFRESH_TOKEN_PREFIX)));

    let stats = server.stats();
    assert_eq!(stats.faults_injected, 3);
    assert_eq!(stats.code_reuse_detected, 1);
    assert_eq!(stats.refresh_grants, 2);
    assert_eq!(stats.refresh_reuse_detected, 1);
    assert_eq!(stats.token_requests_by_grant.get("refresh_token"), Some(&3));
    assert_eq!(stats.token_requests_by_grant.get("authorization_code"), Some(&2));
}
