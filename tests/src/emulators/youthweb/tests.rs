//! Tests of the Youthweb emulator over real HTTP (redirects not followed, cookie passed by hand).

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::emulators::test_support::{client, hidden, location, query_param};

async fn start() -> YouthwebServer {
    YouthwebServer::start(YouthwebConfig::default()).await.expect("emulator starts")
}

/// authorize → login redirect → login → back to authorize → consent; returns the redirect.
async fn approved(c: &reqwest::Client, server: &YouthwebServer, query: &str) -> Url {
    let response = c.get(format!("{}auth/authorize?{query}", server.base_url)).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::FOUND);
    let login_url = location(&server.base_url, &response);
    assert_eq!(login_url.path(), "/login");
    let html = c.get(login_url).send().await.expect("GET").text().await.expect("body");
    assert!(html.contains("id=\"demo-credentials\""));
    let redirect = hidden(&html, "redirect");
    let response = c
        .post(server.endpoint("login"))
        .form(&[("redirect", redirect.as_str()), ("username", "demo"), ("password", "demo")])
        .send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookie = response.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("pair").to_owned();
    let back = location(&server.base_url, &response);
    assert_eq!(back.as_str(), format!("{}auth/authorize?{query}", server.base_url));
    let html = c.get(back).header("cookie", &cookie).send().await.expect("GET").text().await.expect("body");
    assert!(html.contains("id=\"approve\""), "{html}");
    let request_id = hidden(&html, "request_id");
    let response = c
        .post(server.endpoint("auth/consent"))
        .form(&[("request_id", request_id.as_str()), ("decision", "approve")])
        .send().await.expect("POST");
    assert_eq!(response.status(), StatusCode::FOUND);
    location(&server.base_url, &response)
}

fn query() -> String {
    format!("response_type=code&client_id={YW_CLIENT_ID}&redirect_uri={}&scope=user%3Aread&state=random_string",
        url::form_urlencoded::byte_serialize(YW_REDIRECT_URI.as_bytes()).collect::<String>())
}

async fn post_token(c: &reqwest::Client, server: &YouthwebServer, body: &Value) -> (StatusCode, Value) {
    let response = c.post(server.endpoint("auth/access_token")).json(body).send().await.expect("POST");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code_request(code: &str, secret: &str) -> Value {
    json!({"grant_type": "authorization_code", "client_id": YW_CLIENT_ID, "client_secret": secret, "redirect_uri": YW_REDIRECT_URI, "code": code})
}

#[tokio::test]
async fn yw_happy_path_login_redirect_token_and_json_api() {
    let server = start().await;
    let c = client();
    // The login redirect is exactly the documented form.
    let q = query();
    let response = c.get(format!("{}auth/authorize?{q}", server.base_url)).send().await.expect("GET");
    let expected: String = url::form_urlencoded::byte_serialize(format!("auth/authorize?{q}").as_bytes()).collect();
    assert_eq!(response.headers()["location"], format!("/login?redirect={expected}").as_str());
    assert!(expected.contains("redirect_uri%3Dorg.accountlinker.app%253A%252Foauth2%252Fyouthweb"));

    let redirect = approved(&c, &server, &q).await;
    assert!(redirect.as_str().starts_with(&format!("{YW_REDIRECT_URI}?state=random_string&code=")));
    let code = query_param(&redirect, "code").expect("code");
    let (status, body) = post_token(&c, &server, &code_request(&code, YW_CLIENT_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let object = body.as_object().expect("object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["access_token", "expires_in", "refresh_token", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().expect("at").to_owned();
    assert!(access.starts_with("eyJ"));
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();
    assert!(refresh.starts_with(YW_REFRESH_TOKEN_PREFIX));

    let me = c.get(server.endpoint("users/me")).bearer_auth(&access).header("accept", JSON_API).send().await.expect("GET");
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.headers()["content-type"], JSON_API);
    let doc: Value = serde_json::from_str(&me.text().await.expect("body")).expect("JSON");
    assert_eq!(doc["data"]["type"], "users");
    assert_eq!(doc["data"]["id"], "123456");
    assert_eq!(doc["data"]["attributes"]["username"], "demo");

    // Accept without the JSON:API media type: 406 with an error document.
    let me = c.get(server.endpoint("users/me")).bearer_auth(&access).header("accept", "application/json").send().await.expect("GET");
    assert_eq!(me.status(), StatusCode::NOT_ACCEPTABLE);
    let doc: Value = serde_json::from_str(&me.text().await.expect("body")).expect("JSON");
    assert_eq!(doc["errors"][0]["status"], "406");
    let me = c.get(server.endpoint("users/me")).header("accept", JSON_API).send().await.expect("GET");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // The refresh grant is not offered.
    let (status, body) = post_token(&c, &server, &json!({"grant_type": "refresh_token", "client_id": YW_CLIENT_ID, "client_secret": YW_CLIENT_SECRET, "refresh_token": refresh})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    // Codes are one-time.
    let (_, body) = post_token(&c, &server, &code_request(&code, YW_CLIENT_SECRET)).await;
    assert_eq!(body["error"], "invalid_grant");
    let stats = server.stats();
    assert_eq!(stats.client_auth_body, 2);
    assert_eq!(stats.api_ok, 1);
    assert_eq!(stats.api_unauthorized, 1);
    assert_eq!(stats.token_requests_by_grant.get("refresh_token"), Some(&1));
}

#[tokio::test]
async fn yw_secret_required_urlencoded_code_and_optional_redirect_uri() {
    let server = start().await;
    let c = client();
    let q = format!("response_type=code&client_id={YW_CLIENT_ID}&scope=user%3Aread");
    let redirect = approved(&c, &server, &q).await;
    assert!(redirect.as_str().starts_with(&format!("{YW_REDIRECT_URI}?code=")), "registered URI used, no state");
    let code = query_param(&redirect, "code").expect("code");
    let (status, body) = post_token(&c, &server, &code_request(&code, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, _) = post_token(&c, &server, &json!({"grant_type": "authorization_code", "client_id": YW_CLIENT_ID, "code": code})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The code as it appears in the URL (still URL-encoded) is accepted too.
    let raw = redirect.query().expect("query").strip_prefix("code=").expect("code first").to_owned();
    assert_ne!(raw, code, "the code needs URL-encoding");
    let (status, body) = post_token(&c, &server, &code_request(&raw, YW_CLIENT_SECRET)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn yw_errors_deny_faults_and_tamper() {
    let server = start().await;
    let c = client();
    let response = c.get(format!("{}auth/authorize?response_type=code&client_id={YW_CLIENT_ID}&redirect_uri=https%3A%2F%2Fevil.example", server.base_url)).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = c.get(format!("{}auth/authorize?response_type=code&client_id=%3Cb%3E", server.base_url)).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    server.tamper_next_state();
    let redirect = approved(&c, &server, &query()).await;
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("random_string-tampered"));

    for fault in [json!({"kind": "status_503"}), json!({"kind": "empty_body"})] {
        let r = c.post(server.endpoint("_control/fail-next-token")).json(&json!({"fault": fault})).send().await.expect("POST");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    server.fail_next_token(1, Fault::MalformedJson);
    let body = code_request("x", YW_CLIENT_SECRET);
    let r = c.post(server.endpoint("auth/access_token")).json(&body).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let r = c.post(server.endpoint("auth/access_token")).json(&body).send().await.expect("POST");
    assert!(r.text().await.expect("body").is_empty());
    let r = c.post(server.endpoint("auth/access_token")).json(&body).send().await.expect("POST");
    assert!(r.json::<Value>().await.is_err());
    let (status, _) = post_token(&c, &server, &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.revoke_refresh_tokens();
    assert_eq!(server.stats().faults_injected, 3);
}

#[tokio::test]
async fn yw_no_minting_hang_after_issuing_and_refresh_counted() {
    let server = start().await;
    let c = client();
    let r = c.post(server.endpoint("_control/mint-refresh-tokens")).json(&json!({"n": 1})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.expect("JSON")["error"], "unsupported_grant_type");

    // The code is redeemed, then the answer waits.
    let redirect = approved(&c, &server, &query()).await;
    let code = query_param(&redirect, "code").expect("code");
    server.fail_next_token(1, Fault::HangAfterIssuing { secs: 5 });
    let r = c.post(server.endpoint("auth/access_token")).json(&code_request(&code, YW_CLIENT_SECRET)).timeout(std::time::Duration::from_millis(300)).send().await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let (status, body) = post_token(&c, &server, &code_request(&code, YW_CLIENT_SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "redeemed before the hang");

    let redirect = approved(&c, &server, &query()).await;
    let code = query_param(&redirect, "code").expect("code");
    let r = c.post(server.endpoint("_control/fail-next-token")).json(&json!({"fault": {"kind": "hang_after_issuing", "secs": 1}})).send().await.expect("POST");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let started = std::time::Instant::now();
    let (status, body) = post_token(&c, &server, &code_request(&code, YW_CLIENT_SECRET)).await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh = body["refresh_token"].as_str().expect("rt").to_owned();

    // No refresh grant, but the request is counted.
    let (status, body) = post_token(&c, &server, &json!({"grant_type": "refresh_token", "client_id": YW_CLIENT_ID, "client_secret": YW_CLIENT_SECRET, "refresh_token": refresh})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    let stats = server.stats();
    assert_eq!(stats.faults_injected, 2);
    assert_eq!(stats.code_reuse_detected, 1);
    assert_eq!(stats.token_requests_by_grant.get("refresh_token"), Some(&1));
    assert_eq!(stats.refresh_grants, 0);
    assert_eq!(stats.refresh_reuse_detected, 0);
}
