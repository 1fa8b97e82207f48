//! Tests of the Zählerfreunde emulator over real HTTP (two listeners, redirects not followed).

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::emulators::test_support::{client, hidden, jwt_claims, location, pkce, query_param};

async fn start() -> ZaehlerfreundeServer {
    ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default())
        .await
        .expect("emulator starts")
}

fn authorize_url(server: &ZaehlerfreundeServer, extra: &[(&str, &str)]) -> Url {
    let mut url = server.authorize_endpoint("authorize");
    url.query_pairs_mut().extend_pairs(extra);
    url
}

fn standard<'a>(scope: &'a str, audience: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", ZF_CLIENT_ID),
        ("redirect_uri", ZF_REDIRECT_URI),
        ("scope", scope),
        ("audience", audience),
        ("state", "st-1"),
    ]
}

/// authorize → login → consent (approve); returns the redirect.
async fn approved(c: &reqwest::Client, server: &ZaehlerfreundeServer, query: &[(&str, &str)]) -> Url {
    let html = c.get(authorize_url(server, query)).send().await.expect("GET").text().await.expect("body");
    assert!(html.contains("id=\"demo-credentials\""), "{html}");
    let request_id = hidden(&html, "request_id");
    let html = c
        .post(server.authorize_endpoint("login"))
        .form(&[("request_id", request_id.as_str()), ("username", "demo"), ("password", "demo")])
        .send().await.expect("POST").text().await.expect("body");
    assert!(html.contains("id=\"approve\""), "{html}");
    let response = c
        .post(server.authorize_endpoint("consent"))
        .form(&[("request_id", request_id.as_str()), ("decision", "approve")])
        .send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::FOUND);
    location(&server.authorize_base, &response)
}

async fn post_token(c: &reqwest::Client, server: &ZaehlerfreundeServer, body: &Value) -> (StatusCode, Value) {
    let response = c.post(server.token_endpoint("oauth/token")).json(body).send().await.expect("POST");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn exchange(c: &reqwest::Client, server: &ZaehlerfreundeServer, code: &str) -> (StatusCode, Value) {
    post_token(c, server, &json!({"grant_type": "authorization_code", "client_id": ZF_CLIENT_ID, "code": code, "redirect_uri": ZF_REDIRECT_URI})).await
}

async fn meters(c: &reqwest::Client, server: &ZaehlerfreundeServer, token: &str) -> StatusCode {
    c.get(server.token_endpoint("api/v1/meters")).bearer_auth(token).send().await.expect("GET").status()
}

#[tokio::test]
async fn zf_happy_path_two_hosts_json_tokens_refresh_rotation_and_reuse() {
    let server = start().await;
    assert_ne!(server.authorize_base, server.token_base, "two different hosts");
    let c = client();
    let redirect = approved(&c, &server, &standard("openid profile email offline_access", ZF_AUDIENCE)).await;
    assert!(redirect.as_str().starts_with(ZF_REDIRECT_URI));
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-1"));
    let code = query_param(&redirect, "code").expect("code");

    // The token endpoint is not on the authorize host.
    let wrong_host = c.post(server.authorize_endpoint("oauth/token")).json(&json!({})).send().await.expect("POST");
    assert_eq!(wrong_host.status(), StatusCode::NOT_FOUND);

    let (status, body) = exchange(&c, &server, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let access = body["access_token"].as_str().expect("access_token").to_owned();
    let claims = jwt_claims(&access);
    assert_eq!(claims["iss"], server.authorize_base.as_str());
    assert_eq!(claims["aud"], json!([ZF_AUDIENCE, format!("{}userinfo", server.authorize_base)]));
    assert_eq!(claims["azp"], ZF_CLIENT_ID);
    assert_eq!(claims["scope"], "openid profile email offline_access");
    assert!(claims["jti"].as_str().is_some_and(|j| j.starts_with(ZF_ACCESS_TOKEN_PREFIX)));
    assert_eq!(jwt_claims(body["id_token"].as_str().expect("id_token"))["aud"], ZF_CLIENT_ID);
    let refresh = body["refresh_token"].as_str().expect("refresh_token").to_owned();
    assert!(refresh.starts_with(ZF_REFRESH_TOKEN_PREFIX));

    assert_eq!(meters(&c, &server, &access).await, StatusCode::OK);
    assert_eq!(meters(&c, &server, "nope").await, StatusCode::UNAUTHORIZED);
    let info = c.get(server.authorize_endpoint("userinfo")).bearer_auth(&access).send().await.expect("GET");
    assert_eq!(info.status(), StatusCode::OK);

    let refresh_body = |rt: &str| json!({"grant_type": "refresh_token", "client_id": ZF_CLIENT_ID, "refresh_token": rt});
    let (status, body) = post_token(&c, &server, &refresh_body(&refresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = body["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(rotated, refresh);
    let new_access = body["access_token"].as_str().expect("access").to_owned();

    // Reuse of the old refresh token: Auth0's 403 and the family is revoked.
    let (status, body) = post_token(&c, &server, &refresh_body(&refresh)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, json!({"error": "invalid_grant", "error_description": ZF_INVALID_REFRESH}));
    let (status, _) = post_token(&c, &server, &refresh_body(&rotated)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(meters(&c, &server, &new_access).await, StatusCode::UNAUTHORIZED);

    // The code is one-time.
    let (status, body) = exchange(&c, &server, &code).await;
    assert_eq!(body["error"], "invalid_grant", "{status}");

    let stats = server.stats();
    assert_eq!(stats.refresh_reuse_detected, 1);
    assert_eq!(stats.code_reuse_detected, 1);
    assert_eq!(stats.token_requests_by_grant.get("refresh_token"), Some(&3));
    assert_eq!(stats.token_requests_by_grant.get("authorization_code"), Some(&2));
    assert_eq!(stats.client_auth_none, 5);
    assert!(stats.json_requests >= 5);
    assert_eq!(stats.api_ok, 2);
    assert_eq!(stats.api_unauthorized, 2);
    let discovery: Value = c.get(server.token_endpoint(".well-known/openid-configuration")).send().await.expect("GET").json().await.expect("JSON");
    assert_eq!(discovery["token_endpoint"], server.token_endpoint("oauth/token").as_str());
    assert_eq!(discovery["authorization_endpoint"], server.authorize_endpoint("authorize").as_str());
}

#[tokio::test]
async fn zf_audience_is_required() {
    let server = start().await;
    let c = client();
    let mut query = standard("openid", ZF_AUDIENCE);
    query.retain(|(n, _)| *n != "audience");
    let response = c.get(authorize_url(&server, &query)).send().await.expect("GET");
    let url = location(&server.authorize_base, &response);
    assert_eq!(query_param(&url, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(&url, "state").as_deref(), Some("st-1"));

    let response = c.get(authorize_url(&server, &standard("openid", "https://other.example"))).send().await.expect("GET");
    let url = location(&server.authorize_base, &response);
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&url, "error_description").as_deref(), Some("Service not found: https://other.example"));
}

#[tokio::test]
async fn zf_unknown_client_or_redirect_shows_an_escaped_html_400() {
    let server = start().await;
    let c = client();
    let mut query = standard("openid", ZF_AUDIENCE);
    query[1] = ("client_id", "<script>x</script>");
    let response = c.get(authorize_url(&server, &query)).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.expect("body");
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>x"));
    let mut query = standard("openid", ZF_AUDIENCE);
    query[2] = ("redirect_uri", "org.accountlinker.app:/oauth2/zaehlerfreunde/evil");
    let response = c.get(authorize_url(&server, &query)).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn zf_no_refresh_token_without_offline_access_and_deny() {
    let server = start().await;
    let c = client();
    let redirect = approved(&c, &server, &standard("openid profile", ZF_AUDIENCE)).await;
    let (status, body) = exchange(&c, &server, &query_param(&redirect, "code").expect("code")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("refresh_token").is_none(), "{body}");

    let html = c.get(authorize_url(&server, &standard("openid", ZF_AUDIENCE))).send().await.expect("GET").text().await.expect("body");
    let request_id = hidden(&html, "request_id");
    c.post(server.authorize_endpoint("login")).form(&[("request_id", request_id.as_str()), ("username", "demo"), ("password", "demo")]).send().await.expect("POST");
    let response = c.post(server.authorize_endpoint("consent")).form(&[("request_id", request_id.as_str()), ("decision", "deny")]).send().await.expect("POST");
    let url = location(&server.authorize_base, &response);
    assert_eq!(query_param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&url, "state").as_deref(), Some("st-1"));
}

#[tokio::test]
async fn zf_pkce_when_sent_needs_the_verifier() {
    let server = start().await;
    let c = client();
    let (verifier, challenge) = pkce();
    let mut query = standard("openid offline_access", ZF_AUDIENCE);
    query.push(("code_challenge", &challenge));
    query.push(("code_challenge_method", "S256"));
    let code = query_param(&approved(&c, &server, &query).await, "code").expect("code");
    let (status, body) = exchange(&c, &server, &code).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let code = query_param(&approved(&c, &server, &query).await, "code").expect("code");
    let (status, body) = post_token(&c, &server, &json!({"grant_type": "authorization_code", "client_id": ZF_CLIENT_ID, "code": code, "redirect_uri": ZF_REDIRECT_URI, "code_verifier": verifier})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn zf_strict_json_rejects_forms_and_lenient_mode_counts_them() {
    let server = start().await;
    let c = client();
    let code = query_param(&approved(&c, &server, &standard("openid", ZF_AUDIENCE)).await, "code").expect("code");
    let form = [("grant_type", "authorization_code"), ("client_id", ZF_CLIENT_ID), ("code", code.as_str()), ("redirect_uri", ZF_REDIRECT_URI)];
    let response = c.post(server.token_endpoint("oauth/token")).form(&form).send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error_description"], "content type must be application/json");
    assert_eq!(server.stats().form_requests, 1);

    let lenient = ZaehlerfreundeServer::start(ZaehlerfreundeConfig { strict_json: false, ..Default::default() }).await.expect("starts");
    let code = query_param(&approved(&c, &lenient, &standard("openid", ZF_AUDIENCE)).await, "code").expect("code");
    let form = [("grant_type", "authorization_code"), ("client_id", ZF_CLIENT_ID), ("code", code.as_str()), ("redirect_uri", ZF_REDIRECT_URI)];
    let response = c.post(lenient.token_endpoint("oauth/token")).form(&form).send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(lenient.stats().form_requests, 1);
    assert_eq!(lenient.stats().json_requests, 0);
}

#[tokio::test]
async fn zf_revocation_and_revoke_control() {
    let server = start().await;
    let c = client();
    let code = query_param(&approved(&c, &server, &standard("openid offline_access", ZF_AUDIENCE)).await, "code").expect("code");
    let (_, body) = exchange(&c, &server, &code).await;
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();
    let response = c.post(server.token_endpoint("oauth/revoke")).json(&json!({"client_id": ZF_CLIENT_ID, "token": refresh})).send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("body").is_empty());
    let (status, _) = post_token(&c, &server, &json!({"grant_type": "refresh_token", "client_id": ZF_CLIENT_ID, "refresh_token": refresh})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let code = query_param(&approved(&c, &server, &standard("openid offline_access", ZF_AUDIENCE)).await, "code").expect("code");
    let (_, body) = exchange(&c, &server, &code).await;
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();
    let response = c.post(server.token_endpoint("_control/revoke-refresh-tokens")).send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = post_token(&c, &server, &json!({"grant_type": "refresh_token", "client_id": ZF_CLIENT_ID, "refresh_token": refresh})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn zf_fault_controls_and_tampered_state() {
    let server = start().await;
    let c = client();
    let any = json!({"grant_type": "authorization_code", "client_id": ZF_CLIENT_ID, "code": "x", "redirect_uri": ZF_REDIRECT_URI});
    server.fail_next_token(1, Fault::Status503);
    server.fail_next_token(1, Fault::Status500Html);
    server.fail_next_token(1, Fault::TooMany429 { retry_after_secs: 7 });
    server.fail_next_token(1, Fault::MalformedJson);
    server.fail_next_token(1, Fault::EmptyBody);
    let send = || c.post(server.token_endpoint("oauth/token")).json(&any).send();
    let r = send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
    let r = send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "7");
    let r = send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.json::<Value>().await.is_err());
    let r = send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("body").is_empty());
    // Via HTTP: two hangs, and a client with a short timeout.
    let r = c.post(server.authorize_endpoint("_control/fail-next-token")).json(&json!({"n": 1, "fault": {"kind": "hang", "secs": 3}})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c.post(server.token_endpoint("oauth/token")).json(&any).timeout(std::time::Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let r = send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "faults are used up");
    assert_eq!(server.stats().faults_injected, 6);

    server.tamper_next_state();
    let redirect = approved(&c, &server, &standard("openid", ZF_AUDIENCE)).await;
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-1-tampered"));
    let stats: Value = c.get(server.token_endpoint("_control/stats")).send().await.expect("GET").json().await.expect("JSON");
    assert_eq!(stats["faults_injected"], 6);
}

fn refresh_request(token: &str) -> Value {
    json!({"grant_type": "refresh_token", "client_id": ZF_CLIENT_ID, "refresh_token": token})
}

#[tokio::test]
async fn zf_mint_refresh_tokens_control_and_method() {
    let server = start().await;
    let c = client();
    let r = c.post(server.token_endpoint("_control/mint-refresh-tokens")).json(&json!({"n": 3})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.expect("JSON");
    let minted: Vec<String> = serde_json::from_value(body["refresh_tokens"].clone()).expect("a list of strings");
    assert_eq!(minted.len(), 3);
    assert!(minted.iter().all(|t| t.starts_with(ZF_REFRESH_TOKEN_PREFIX)));
    assert_eq!(minted.iter().collect::<std::collections::HashSet<_>>().len(), 3, "distinct");
    assert_eq!(server.stats(), EmulatorStats::default(), "minting counts nothing");

    // Each refreshes like a redeemed code's token with the default scope, and rotates.
    let (status, body) = post_token(&c, &server, &refresh_request(&minted[0])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], ZF_MINT_SCOPE);
    assert_eq!(jwt_claims(body["access_token"].as_str().expect("at"))["azp"], ZF_CLIENT_ID);
    let rotated = body["refresh_token"].as_str().expect("offline_access gives a new refresh token").to_owned();
    assert_eq!(meters(&c, &server, body["access_token"].as_str().expect("at")).await, StatusCode::OK);
    // Each in its own family: reusing the first revokes only the first's family.
    let (status, _) = post_token(&c, &server, &refresh_request(&minted[0])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post_token(&c, &server, &refresh_request(&rotated)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the first family is revoked");
    for token in &minted[1..] {
        let (status, body) = post_token(&c, &server, &refresh_request(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // The Rust method, and the route on the authorize host with a scope.
    let more = server.mint_refresh_tokens(2);
    assert_eq!(more.len(), 2);
    let (status, _) = post_token(&c, &server, &refresh_request(&more[1])).await;
    assert_eq!(status, StatusCode::OK);
    let r = c.post(server.authorize_endpoint("_control/mint-refresh-tokens")).json(&json!({"scope": "openid  email offline_access"})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("JSON");
    assert_eq!(body["refresh_tokens"].as_array().map(Vec::len), Some(1), "n defaults to 1");
    let (_, body) = post_token(&c, &server, &refresh_request(body["refresh_tokens"][0].as_str().expect("rt"))).await;
    assert_eq!(body["scope"], "openid email offline_access");

    // Refused: no offline_access, an org, unknown fields, too many.
    for (request, error) in [
        (json!({"n": 1, "scope": "openid"}), "invalid_scope"),
        (json!({"n": 1, "org": "acme.my.workfront.com"}), "invalid_request"),
        (json!({"count": 1}), "invalid_request"),
        (json!({"n": 100_001}), "invalid_request"),
    ] {
        let r = c.post(server.token_endpoint("_control/mint-refresh-tokens")).json(&request).send().await.expect("POST");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{request}");
        assert_eq!(r.json::<Value>().await.expect("JSON")["error"], error, "{request}");
    }
    let stats = server.stats();
    assert_eq!(stats.refresh_grants, 5);
    assert_eq!(stats.refresh_reuse_detected, 1);
    assert_eq!(stats.token_requests_by_grant.get("refresh_token"), Some(&7));
}

#[tokio::test]
async fn zf_hang_after_issuing_rotates_before_the_late_answer() {
    let server = start().await;
    let c = client();
    let [token] = <[String; 1]>::try_from(server.mint_refresh_tokens(1)).expect("one token");

    // The client gives up (or is killed) while the answer hangs: the rotation is committed.
    server.fail_next_token(1, Fault::HangAfterIssuing { secs: 5 });
    let r = c.post(server.token_endpoint("oauth/token")).json(&refresh_request(&token)).timeout(std::time::Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    assert_eq!(server.stats().refresh_grants, 1, "rotated before answering");
    let (status, body) = post_token(&c, &server, &refresh_request(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the old token is now reuse");
    assert_eq!(body["error_description"], ZF_INVALID_REFRESH);

    // A patient client gets the normal answer, late (queued over HTTP).
    let [token] = <[String; 1]>::try_from(server.mint_refresh_tokens(1)).expect("one token");
    let r = c.post(server.authorize_endpoint("_control/fail-next-token")).json(&json!({"fault": {"kind": "hang_after_issuing", "secs": 1}})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let started = std::time::Instant::now();
    let (status, body) = post_token(&c, &server, &refresh_request(&token)).await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = body["refresh_token"].as_str().expect("rt");
    let (status, _) = post_token(&c, &server, &refresh_request(rotated)).await;
    assert_eq!(status, StatusCode::OK);

    // A code is redeemed before the hang: presenting it again is reuse.
    let redirect = approved(&c, &server, &standard("openid offline_access", ZF_AUDIENCE)).await;
    let code = query_param(&redirect, "code").expect("code");
    server.fail_next_token(1, Fault::HangAfterIssuing { secs: 5 });
    let r = c.post(server.token_endpoint("oauth/token")).json(&json!({"grant_type": "authorization_code", "client_id": ZF_CLIENT_ID, "code": code, "redirect_uri": ZF_REDIRECT_URI})).timeout(std::time::Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let (status, body) = exchange(&c, &server, &code).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    let stats = server.stats();
    assert_eq!(stats.faults_injected, 3);
    assert_eq!(stats.refresh_grants, 3);
    assert_eq!(stats.refresh_reuse_detected, 1);
    assert_eq!(stats.code_reuse_detected, 1);
    assert_eq!(stats.token_requests_by_grant.get("refresh_token"), Some(&4));
    assert_eq!(stats.token_errors, 2);
}
