//! Tests of the demo provider over real HTTP: each starts a server on `127.0.0.1:0` and talks
//! to it with `reqwest` (redirects not followed, so the `303`s can be inspected).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::html::escape;
use super::jwt::hmac_sha256;
use super::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

async fn start(config: DemoConfig) -> DemoServer {
    DemoServer::start_local(config)
        .await
        .expect("demo provider starts")
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = state::random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(server: &DemoServer, extra: &[(&str, &str)]) -> Url {
    let mut url = server.endpoint("authorize");
    url.query_pairs_mut().extend_pairs(extra);
    url
}

/// The standard parameters of a valid authorization request.
fn valid_request<'a>(state: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", DEMO_CLIENT_ID),
        ("redirect_uri", DEMO_REDIRECT_URI),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "openid profile email"),
    ]
}

fn hidden_request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("page has a request_id field") + marker.len();
    let end = html[start..].find('"').expect("request_id value ends") + start;
    html[start..end].to_owned()
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

fn location(response: &reqwest::Response) -> Url {
    let value = response.headers().get(LOCATION).expect("Location header");
    Url::parse(value.to_str().expect("ASCII Location")).expect("absolute Location")
}

async fn get_text(
    client: &reqwest::Client,
    url: Url,
) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let response = client.get(url).send().await.expect("GET succeeds");
    let status = response.status();
    let headers = response.headers().clone();
    (status, response.text().await.expect("body"), headers)
}

/// Opens the authorization request and returns the login page's request id.
async fn open_request(
    client: &reqwest::Client,
    server: &DemoServer,
    state: &str,
    challenge: &str,
) -> String {
    let (status, html, _) = get_text(
        client,
        authorize_url(server, &valid_request(state, challenge)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    hidden_request_id(&html)
}

async fn login(
    client: &reqwest::Client,
    server: &DemoServer,
    request_id: &str,
    user: &str,
    password: &str,
) -> (StatusCode, String) {
    let response = client
        .post(server.endpoint("login"))
        .form(&[
            ("request_id", request_id),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /login succeeds");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn decide(
    client: &reqwest::Client,
    server: &DemoServer,
    request_id: &str,
    decision: &str,
) -> reqwest::Response {
    client
        .post(server.endpoint("consent"))
        .form(&[("request_id", request_id), ("decision", decision)])
        .send()
        .await
        .expect("POST /consent succeeds")
}

/// Runs authorize → login → consent (approve) and returns the redirect URL.
async fn approved_redirect(
    client: &reqwest::Client,
    server: &DemoServer,
    state: &str,
    challenge: &str,
) -> Url {
    let request_id = open_request(client, server, state, challenge).await;
    let (status, html) = login(client, server, &request_id, DEMO_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let response = decide(client, server, &request_id, "approve").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(&response)
}

/// Runs the front channel and returns an authorization code.
async fn obtain_code(client: &reqwest::Client, server: &DemoServer, challenge: &str) -> String {
    let redirect = approved_redirect(client, server, "st", challenge).await;
    query_param(&redirect, "code").expect("redirect carries a code")
}

async fn post_token(
    client: &reqwest::Client,
    server: &DemoServer,
    form: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let response = client
        .post(server.endpoint("token"))
        .form(form)
        .send()
        .await
        .expect("POST /token succeeds");
    let status = response.status();
    let headers = response.headers().clone();
    (status, response.json().await.expect("JSON body"), headers)
}

async fn exchange(
    client: &reqwest::Client,
    server: &DemoServer,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    let (status, body, _) = post_token(
        client,
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", DEMO_REDIRECT_URI),
            ("client_id", DEMO_CLIENT_ID),
            ("code_verifier", verifier),
        ],
    )
    .await;
    (status, body)
}

async fn refresh(
    client: &reqwest::Client,
    server: &DemoServer,
    refresh_token: &str,
) -> (StatusCode, Value) {
    let (status, body, _) = post_token(
        client,
        server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEMO_CLIENT_ID),
        ],
    )
    .await;
    (status, body)
}

async fn userinfo(
    client: &reqwest::Client,
    server: &DemoServer,
    access_token: &str,
) -> reqwest::Response {
    client
        .get(server.endpoint("userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("GET /userinfo succeeds")
}

fn text<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a string in {body}"))
}

fn assert_oauth_error(status: StatusCode, body: &Value, error: &str, description_part: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        text(body, "error_description").contains(description_part),
        "{body}"
    );
}

/// Decodes and verifies an `id_token`, returning its claims.
fn verify_id_token(server: &DemoServer, id_token: &str) -> Value {
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("base64url"))
            .expect("JSON");
    assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    let signature = hmac_sha256(
        &server.shared.id_token_key,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url"),
        signature,
        "signature verifies"
    );
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
        .expect("JSON claims")
}

#[tokio::test]
async fn happy_path_with_refresh_rotation_and_reuse_detection() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (verifier, challenge) = pkce();

    let (status, html, _) = get_text(&client, server.base_url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/authorize"));

    // Authorize: the login page.
    let (status, html, headers) = get_text(
        &client,
        authorize_url(&server, &valid_request("s-123", &challenge)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[CONTENT_TYPE]
        .to_str()
        .expect("ASCII")
        .starts_with("text/html"));
    assert!(html.contains("<title>Sign in – Demo Provider</title>"));
    assert!(html.contains("Demo user: demo · Password: demo"));
    assert!(html.contains("method=\"post\" action=\"/login\""));
    for needle in [
        "id=\"username\" name=\"username\"",
        "id=\"password\" name=\"password\" type=\"password\"",
        "<button id=\"login\" type=\"submit\">Sign in</button>",
    ] {
        assert!(html.contains(needle), "login page lacks {needle}");
    }
    assert!(!html.contains("id=\"error\""));
    let request_id = hidden_request_id(&html);

    // A wrong password shows the error and keeps the request.
    let (status, html) = login(&client, &server, &request_id, DEMO_USERNAME, "wrong").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(
        "<p id=\"error\" class=\"error\" role=\"alert\">Wrong user name or password</p>"
    ));
    assert_eq!(hidden_request_id(&html), request_id);

    // The right one shows the consent page.
    let (status, html) = login(&client, &server, &request_id, DEMO_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(
        "Account Linker wants to access your Demo Provider account (scopes: openid profile email)"
    ));
    assert!(html.contains("method=\"post\" action=\"/consent\""));
    assert!(html.contains("<button id=\"approve\" name=\"decision\" value=\"approve\""));
    assert!(html.contains("<button id=\"deny\" name=\"decision\" value=\"deny\""));

    // Approve: 303 to the custom-scheme redirect URI with code and state.
    let response = decide(&client, &server, &request_id, "approve").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let redirect = location(&response);
    assert!(
        redirect
            .as_str()
            .starts_with("org.accountlinker.app:/oauth2/demo?code="),
        "{redirect}"
    );
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("s-123"));
    let code = query_param(&redirect, "code").expect("code");
    assert_eq!(code.len(), 43);

    // The request is finished: deciding again is an error page.
    assert_eq!(
        decide(&client, &server, &request_id, "approve")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // Exchange the code.
    let (status, tokens, headers) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", DEMO_REDIRECT_URI),
            ("client_id", DEMO_CLIENT_ID),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[PRAGMA], "no-cache");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "openid profile email");
    let access_token = text(&tokens, "access_token").to_owned();
    let refresh_token = text(&tokens, "refresh_token").to_owned();
    assert!(access_token.starts_with("demo_at_"));
    assert!(refresh_token.starts_with("demo_rt_"));
    let claims = verify_id_token(&server, text(&tokens, "id_token"));
    assert_eq!(claims["iss"], server.base_url.as_str());
    assert_eq!(claims["sub"], DEMO_SUBJECT);
    assert_eq!(claims["aud"], DEMO_CLIENT_ID);
    assert_eq!(claims["name"], "Demo User");
    assert_eq!(claims["email"], "demo@example.test");
    assert_eq!(
        claims["exp"].as_u64(),
        claims["iat"].as_u64().map(|iat| iat + 3600)
    );

    // Userinfo.
    let response = userinfo(&client, &server, &access_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let info: Value = response.json().await.expect("JSON");
    assert_eq!(
        info,
        serde_json::json!({"sub": "demo-user-1", "name": "Demo User", "email": "demo@example.test"})
    );

    // Refresh rotates the refresh token.
    let (status, rotated) = refresh(&client, &server, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_access = text(&rotated, "access_token").to_owned();
    let new_refresh = text(&rotated, "refresh_token").to_owned();
    assert_ne!(new_refresh, refresh_token);
    assert_ne!(new_access, access_token);
    assert!(new_refresh.starts_with("demo_rt_"));
    assert_eq!(rotated["scope"], "openid profile email");
    verify_id_token(&server, text(&rotated, "id_token"));
    assert_eq!(
        userinfo(&client, &server, &new_access).await.status(),
        StatusCode::OK
    );

    // Presenting the old refresh token again is reuse: the whole family is revoked.
    let (status, body) = refresh(&client, &server, &refresh_token).await;
    assert_oauth_error(
        status,
        &body,
        "invalid_grant",
        "refresh token was already used",
    );
    let (status, body) = refresh(&client, &server, &new_refresh).await;
    assert_oauth_error(status, &body, "invalid_grant", "revoked");
    let response = userinfo(&client, &server, &new_access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .expect("ASCII")
        .contains("error=\"invalid_token\""));

    let stats = server.stats();
    assert_eq!(stats.authorize_requests, 1);
    assert_eq!(stats.logins_failed, 1);
    assert_eq!(stats.logins_succeeded, 1);
    assert_eq!(stats.codes_issued, 1);
    assert_eq!(stats.code_exchanges, 1);
    assert_eq!(stats.refresh_grants, 1);
    assert_eq!(stats.refresh_reuse_detected, 1);
    assert_eq!(stats.token_requests, 4);
    assert_eq!(stats.token_errors, 2);
    assert_eq!(stats.userinfo_requests, 3);
    assert_eq!(stats.active_access_tokens, 0);
    assert_eq!(stats.active_refresh_tokens, 0);
}

#[tokio::test]
async fn bad_pkce_verifier_is_rejected_and_consumes_the_code() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (verifier, challenge) = pkce();
    let code = obtain_code(&client, &server, &challenge).await;

    // A missing verifier is a malformed request; the code is not even looked at.
    let (status, body, _) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", DEMO_REDIRECT_URI),
            ("client_id", DEMO_CLIENT_ID),
        ],
    )
    .await;
    assert_oauth_error(
        status,
        &body,
        "invalid_request",
        "code_verifier is required",
    );

    let (other_verifier, _) = pkce();
    let (status, body) = exchange(&client, &server, &code, &other_verifier).await;
    assert_oauth_error(
        status,
        &body,
        "invalid_grant",
        "code_verifier does not match",
    );

    // The failed attempt used the code up.
    let (status, body) = exchange(&client, &server, &code, &verifier).await;
    assert_oauth_error(status, &body, "invalid_grant", "already used");

    // A malformed verifier is rejected too.
    let code = obtain_code(&client, &server, &challenge).await;
    let (status, body) = exchange(&client, &server, &code, "too-short").await;
    assert_oauth_error(
        status,
        &body,
        "invalid_grant",
        "code_verifier must be 43 to 128",
    );
    assert_eq!(server.stats().code_exchanges, 0);
}

#[tokio::test]
async fn code_reuse_is_rejected_and_revokes_issued_tokens() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (verifier, challenge) = pkce();
    let code = obtain_code(&client, &server, &challenge).await;

    let (status, tokens) = exchange(&client, &server, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access_token = text(&tokens, "access_token");
    assert_eq!(
        userinfo(&client, &server, access_token).await.status(),
        StatusCode::OK
    );

    let (status, body) = exchange(&client, &server, &code, &verifier).await;
    assert_oauth_error(status, &body, "invalid_grant", "already used");
    assert_eq!(
        userinfo(&client, &server, access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = refresh(&client, &server, text(&tokens, "refresh_token")).await;
    assert_oauth_error(status, &body, "invalid_grant", "revoked");

    let stats = server.stats();
    assert_eq!(stats.code_reuse_detected, 1);
    assert_eq!(stats.code_exchanges, 1);
}

#[tokio::test]
async fn expired_code_is_rejected() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (verifier, challenge) = pkce();
    let code = obtain_code(&client, &server, &challenge).await;
    {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .expect("monotonic clock is past 1 s");
        let mut st = server.shared.lock();
        for grant in st.codes.values_mut() {
            grant.expires_at = past;
        }
    }
    let (status, body) = exchange(&client, &server, &code, &verifier).await;
    assert_oauth_error(status, &body, "invalid_grant", "authorization code expired");
}

#[tokio::test]
async fn unregistered_redirect_uri_or_unknown_client_shows_an_error_page() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (_, challenge) = pkce();

    for wrong in [
        "https://attacker.example/cb",
        "org.accountlinker.app:/oauth2/demo/",
        "org.accountlinker.app:/oauth2/other",
    ] {
        let mut params = valid_request("s", &challenge);
        params.retain(|(name, _)| *name != "redirect_uri");
        params.push(("redirect_uri", wrong));
        let response = client
            .get(authorize_url(&server, &params))
            .send()
            .await
            .expect("GET succeeds");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{wrong}");
        assert!(
            response.headers().get(LOCATION).is_none(),
            "{wrong} must not be redirected to"
        );
        assert!(response.headers()[CONTENT_TYPE]
            .to_str()
            .expect("ASCII")
            .starts_with("text/html"));
        let html = response.text().await.expect("body");
        assert!(
            html.contains("redirect_uri is not registered for this client"),
            "{html}"
        );
    }

    let mut params = valid_request("s", &challenge);
    params.retain(|(name, _)| *name != "client_id");
    params.push(("client_id", "<script>alert(1)</script>"));
    let response = client
        .get(authorize_url(&server, &params))
        .send()
        .await
        .expect("GET succeeds");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    let html = response.text().await.expect("body");
    assert!(html.contains("Unknown client"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn other_authorization_errors_are_redirected_with_state() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (_, challenge) = pkce();

    let cases: [(&str, Option<&str>, &str, &str); 4] = [
        (
            "response_type",
            Some("token"),
            "unsupported_response_type",
            "response_type=code",
        ),
        (
            "code_challenge",
            None,
            "invalid_request",
            "PKCE code_challenge is required",
        ),
        (
            "code_challenge_method",
            Some("plain"),
            "invalid_request",
            "S256",
        ),
        ("code_challenge_method", None, "invalid_request", "S256"),
    ];
    for (name, value, error, description) in cases {
        let mut params = valid_request("xyz", &challenge);
        params.retain(|(n, _)| *n != name);
        if let Some(value) = value {
            params.push((name, value));
        }
        let response = client
            .get(authorize_url(&server, &params))
            .send()
            .await
            .expect("GET succeeds");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name}");
        let redirect = location(&response);
        assert!(
            redirect.as_str().starts_with(DEMO_REDIRECT_URI),
            "{redirect}"
        );
        assert_eq!(query_param(&redirect, "error").as_deref(), Some(error));
        assert!(query_param(&redirect, "error_description")
            .expect("description")
            .contains(description));
        assert_eq!(query_param(&redirect, "state").as_deref(), Some("xyz"));
        assert_eq!(query_param(&redirect, "code"), None);
    }

    // Without a state, none is added.
    let mut params = valid_request("unused", &challenge);
    params.retain(|(n, _)| *n != "state" && *n != "response_type");
    params.push(("response_type", "token"));
    let response = client
        .get(authorize_url(&server, &params))
        .send()
        .await
        .expect("GET succeeds");
    assert_eq!(query_param(&location(&response), "state"), None);
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (_, challenge) = pkce();
    let request_id = open_request(&client, &server, "deny-state", &challenge).await;
    let (status, _) = login(&client, &server, &request_id, DEMO_USERNAME, DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let response = decide(&client, &server, &request_id, "deny").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let redirect = location(&response);
    assert_eq!(
        redirect.as_str(),
        "org.accountlinker.app:/oauth2/demo?error=access_denied&error_description=The+user+denied+access&state=deny-state"
    );
    assert_eq!(server.stats().codes_issued, 0);
    assert_eq!(server.stats().consents_denied, 1);

    // The request is gone.
    let response = decide(&client, &server, &request_id, "approve").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("id=\"error\""));
}

#[tokio::test]
async fn consent_requires_a_login() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (_, challenge) = pkce();
    let request_id = open_request(&client, &server, "s", &challenge).await;
    let response = decide(&client, &server, &request_id, "approve").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    let (status, html) = login(
        &client,
        &server,
        "no-such-request",
        DEMO_USERNAME,
        DEMO_PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown"));
}

#[tokio::test]
async fn test_controls_tamper_state_report_stats_and_revoke() {
    let server = start(DemoConfig {
        test_controls: true,
        ..DemoConfig::default()
    })
    .await;
    let client = client();
    let (verifier, challenge) = pkce();

    let response = client
        .post(server.endpoint("_control/tamper-next-state"))
        .send()
        .await
        .expect("POST succeeds");
    assert!(response.status().is_success());
    let redirect = approved_redirect(&client, &server, "original", &challenge).await;
    assert_eq!(
        query_param(&redirect, "state").as_deref(),
        Some("original-tampered")
    );
    // Only the next redirect is tampered with.
    let redirect = approved_redirect(&client, &server, "original", &challenge).await;
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("original"));

    let code = query_param(&redirect, "code").expect("code");
    let (status, tokens) = exchange(&client, &server, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK);

    let stats: Value = client
        .get(server.endpoint("_control/stats"))
        .send()
        .await
        .expect("GET succeeds")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stats["codes_issued"], 2);
    assert_eq!(stats["token_requests"], 1);
    assert_eq!(stats["active_refresh_tokens"], 1);

    let response = client
        .post(server.endpoint("_control/revoke-refresh-tokens"))
        .send()
        .await
        .expect("POST succeeds");
    assert!(response.status().is_success());
    let (status, body) = refresh(&client, &server, text(&tokens, "refresh_token")).await;
    assert_oauth_error(status, &body, "invalid_grant", "revoked");
    // Access tokens stay valid.
    assert_eq!(
        userinfo(&client, &server, text(&tokens, "access_token"))
            .await
            .status(),
        StatusCode::OK
    );

    // Without test controls the paths do not exist.
    let plain = start(DemoConfig::default()).await;
    let response = client
        .post(plain.endpoint("_control/tamper-next-state"))
        .send()
        .await
        .expect("POST succeeds");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = client
        .get(plain.endpoint("_control/stats"))
        .send()
        .await
        .expect("GET succeeds");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn token_endpoint_validates_requests() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (verifier, challenge) = pkce();

    let (status, body, headers) = post_token(
        &client,
        &server,
        &[("grant_type", "password"), ("client_id", DEMO_CLIENT_ID)],
    )
    .await;
    assert_oauth_error(status, &body, "unsupported_grant_type", "grant_type");
    assert_eq!(headers[CACHE_CONTROL], "no-store");

    let (status, body, _) = post_token(
        &client,
        &server,
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_oauth_error(status, &body, "invalid_request", "client_id is required");

    let (status, body, headers) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "nobody"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(headers.contains_key(WWW_AUTHENTICATE));

    let (status, body, _) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "demo_rt_unknown"),
            ("client_id", DEMO_CLIENT_ID),
        ],
    )
    .await;
    assert_oauth_error(status, &body, "invalid_grant", "unknown refresh token");

    let (status, body) = exchange(&client, &server, "not-a-code", &verifier).await;
    assert_oauth_error(status, &body, "invalid_grant", "unknown authorization code");

    // Duplicated parameters are malformed requests.
    let (status, body, _) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_id", DEMO_CLIENT_ID),
        ],
    )
    .await;
    assert_oauth_error(status, &body, "invalid_request", "more than once");

    // A redirect_uri differing from the authorization request's.
    let code = obtain_code(&client, &server, &challenge).await;
    let (status, body, _) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "org.accountlinker.app:/oauth2/other"),
            ("client_id", DEMO_CLIENT_ID),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_oauth_error(status, &body, "invalid_grant", "redirect_uri");

    // An unsupported body type.
    let response = client
        .post(server.endpoint("token"))
        .header(CONTENT_TYPE, "text/plain")
        .body("grant_type=refresh_token")
        .send()
        .await
        .expect("POST succeeds");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_request");

    // JSON bodies are accepted with the same fields.
    let code = obtain_code(&client, &server, &challenge).await;
    let response = client
        .post(server.endpoint("token"))
        .json(&serde_json::json!({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEMO_REDIRECT_URI,
            "client_id": DEMO_CLIENT_ID,
            "code_verifier": verifier,
        }))
        .send()
        .await
        .expect("POST succeeds");
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.expect("JSON");
    assert!(text(&tokens, "access_token").starts_with("demo_at_"));

    // Narrowing the scope on refresh is allowed, widening it is not.
    let refresh_token = text(&tokens, "refresh_token");
    let (status, body, _) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEMO_CLIENT_ID),
            ("scope", "admin"),
        ],
    )
    .await;
    assert_oauth_error(status, &body, "invalid_scope", "scope");
    let (status, body, _) = post_token(
        &client,
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", DEMO_CLIENT_ID),
            ("scope", "openid"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid");
}

#[tokio::test]
async fn expired_access_token_is_rejected_at_userinfo() {
    let server = start(DemoConfig {
        access_token_lifetime_secs: 0,
        ..DemoConfig::default()
    })
    .await;
    let client = client();
    let (verifier, challenge) = pkce();
    let code = obtain_code(&client, &server, &challenge).await;
    let (status, tokens) = exchange(&client, &server, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens["expires_in"], 0);
    let response = userinfo(&client, &server, text(&tokens, "access_token")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .expect("ASCII")
        .contains("error=\"invalid_token\""));

    // No token at all: a challenge without an error code (RFC 6750 §3.1).
    let response = client
        .get(server.endpoint("userinfo"))
        .send()
        .await
        .expect("GET succeeds");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        "Bearer realm=\"demo-provider\""
    );
}

#[tokio::test]
async fn revocation_endpoint_revokes_tokens() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (verifier, challenge) = pkce();
    let code = obtain_code(&client, &server, &challenge).await;
    let (_, tokens) = exchange(&client, &server, &code, &verifier).await;
    let access_token = text(&tokens, "access_token");
    let refresh_token = text(&tokens, "refresh_token");
    let revoke = |token: String| {
        let client = client.clone();
        let url = server.endpoint("revoke");
        async move {
            client
                .post(url)
                .form(&[("token", token.as_str()), ("client_id", DEMO_CLIENT_ID)])
                .send()
                .await
                .expect("POST /revoke succeeds")
                .status()
        }
    };

    assert_eq!(revoke(access_token.to_owned()).await, StatusCode::OK);
    assert_eq!(
        userinfo(&client, &server, access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The refresh token survives revoking the access token...
    let (status, rotated) = refresh(&client, &server, refresh_token).await;
    assert_eq!(status, StatusCode::OK);
    // ...and revoking a refresh token revokes the grant.
    assert_eq!(
        revoke(text(&rotated, "refresh_token").to_owned()).await,
        StatusCode::OK
    );
    let (status, body) = refresh(&client, &server, text(&rotated, "refresh_token")).await;
    assert_oauth_error(status, &body, "invalid_grant", "revoked");
    assert_eq!(
        userinfo(&client, &server, text(&rotated, "access_token"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(revoke("demo_at_unknown".to_owned()).await, StatusCode::OK);
    let response = client
        .post(server.endpoint("revoke"))
        .form(&[("client_id", DEMO_CLIENT_ID)])
        .send()
        .await
        .expect("POST succeeds");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(server.stats().revocation_requests, 4);
}

#[tokio::test]
async fn metadata_and_unknown_paths() {
    let server = start(DemoConfig {
        issuer_name: "Test <Provider>".to_owned(),
        ..DemoConfig::default()
    })
    .await;
    let client = client();
    let metadata: Value = client
        .get(server.endpoint(".well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("GET succeeds")
        .json()
        .await
        .expect("JSON");
    assert_eq!(metadata["issuer"], server.base_url.as_str());
    assert_eq!(
        metadata["token_endpoint"],
        server.endpoint("token").as_str()
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );

    let (status, html, _) = get_text(&client, server.endpoint("nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        html.contains("<title>Not found – Test &lt;Provider&gt;</title>"),
        "{html}"
    );
}

#[tokio::test]
async fn reflected_input_is_escaped() {
    assert_eq!(
        escape(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (_, challenge) = pkce();
    let request_id = open_request(&client, &server, "s", &challenge).await;
    let (status, html) = login(&client, &server, &request_id, "\"><script>x</script>", "pw").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = start(DemoConfig::default()).await;
    let url = server.endpoint("");
    assert_eq!(
        client()
            .get(url.clone())
            .send()
            .await
            .expect("GET succeeds")
            .status(),
        StatusCode::OK
    );
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if client().get(url.clone()).send().await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server still answers after being dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_signed_in_browser_skips_the_login_form_until_its_cookie_is_gone() {
    let server = start(DemoConfig::default()).await;
    let client = client();
    let (_, challenge) = pkce();
    let request_id = open_request(&client, &server, "s1", &challenge).await;
    let response = client
        .post(server.endpoint("login"))
        .form(&[
            ("request_id", request_id.as_str()),
            ("username", DEMO_USERNAME),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login succeeds");
    let cookie = response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(
        cookie.starts_with("demo_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("name=value").to_owned();

    // The same browser, a new authorization request: straight to consent, and consent works.
    let url = authorize_url(&server, &valid_request("s2", &challenge));
    let resumed = client
        .get(url.clone())
        .header(reqwest::header::COOKIE, &session)
        .send()
        .await
        .expect("GET");
    assert_eq!(resumed.status(), StatusCode::OK);
    let html = resumed.text().await.expect("body");
    assert!(
        html.contains("id=\"approve\"") && !html.contains("id=\"username\""),
        "{html}"
    );
    let redirect = decide(&client, &server, &hidden_request_id(&html), "approve").await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert!(query_param(&location(&redirect), "code").is_some());
    assert_eq!(server.stats().sessions_resumed, 1);

    // Without the cookie, or with one the server never set, the login form is back.
    for sent in [None, Some("demo_session=forged")] {
        let mut request = client.get(url.clone());
        if let Some(sent) = sent {
            request = request.header(reqwest::header::COOKIE, sent);
        }
        let html = request
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        assert!(html.contains("id=\"username\""), "{sent:?}: {html}");
    }
    assert_eq!(server.stats().sessions_resumed, 1);
}

#[tokio::test]
async fn the_hostile_page_exists_only_with_test_controls() {
    let with = start(DemoConfig {
        test_controls: true,
        ..DemoConfig::default()
    })
    .await;
    let (status, html, _) = get_text(&client(), with.endpoint("_control/hostile-page")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("__TAURI_INTERNALS__") && html.contains("id=\"to-data\""));
    let away = client()
        .get(with.endpoint("_control/redirect-away"))
        .send()
        .await
        .expect("GET");
    assert_eq!(away.status(), StatusCode::FOUND);
    assert_eq!(location(&away).as_str(), hostile::FOREIGN_URL);
    let without = start(DemoConfig::default()).await;
    let (status, _, _) = get_text(&client(), without.endpoint("_control/hostile-page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
