//! Emulator of **Youthweb** (`youthweb.net`), following its German OAuth2 documentation.
//!
//! | Endpoint | What it does |
//! | --- | --- |
//! | `GET /auth/authorize` | validates the request; without a session redirects (`302`) to `/login?redirect=…`, with one shows the consent page |
//! | `GET /login`, `POST /login` | the login form; success sets the `yw_session` cookie and redirects back to `/auth/authorize?…` |
//! | `POST /auth/consent` | redirects to the client with `state` and `code` (or `error=access_denied`) |
//! | `POST /auth/access_token` | the `authorization_code` grant with `client_secret` in a JSON body |
//! | `GET /users/me` | the user as a JSON:API document (needs `Accept: application/vnd.api+json`) |
//! | `/_control/...` | fault controls (see [the module overview](super)) |
//!
//! Quirks emulated:
//!
//! * `redirect_uri` is optional; without it the registered one is used. `state` is optional
//!   but echoed.
//! * The login redirect is exactly `/login?redirect=auth%2Fauthorize%3F…` (the path without
//!   its leading slash plus the original query, URL-encoded once more).
//! * Codes are standard base64 (with `+`, `/`, `=`), so they arrive URL-encoded; the token
//!   endpoint also accepts a code that was sent still URL-encoded (the doc's note).
//! * The token response is exactly `{"token_type","expires_in":3600,"access_token":<JWT>,
//!   "refresh_token"}`, but the refresh grant is not offered: `grant_type=refresh_token`
//!   answers `400 unsupported_grant_type`, and so does `POST /_control/mint-refresh-tokens`.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use url::Url;

use super::common::{
    self, bearer_token, body_kind, control_router, count_grant, error_page, optional,
    parse_body, random_token, random_token_std, redirect_error, redirect_with, required, serve,
    sign_jwt, CoreCell, CoreRef, Listener, Pending, TokenError,
};
use super::{EmulatorStats, Fault};
use crate::demo_provider::DEMO_USER_EMAIL;

/// The default client id.
pub const YW_CLIENT_ID: &str = "yw-account-linker";

/// The default client secret.
pub const YW_CLIENT_SECRET: &str = "yw-secret-GAbSLKO5fxvRZ2RfPKmeV116";

/// The default registered redirect URI.
pub const YW_REDIRECT_URI: &str = "org.accountlinker.app:/oauth2/youthweb";

/// The JSON:API media type.
pub const JSON_API: &str = "application/vnd.api+json";

/// The demo user's id at Youthweb.
pub const YW_USER_ID: &str = "123456";

/// Prefix of the `jti` claim of access tokens.
pub const YW_ACCESS_TOKEN_PREFIX: &str = "yw_at_";

/// Prefix of refresh tokens (issued, but not usable).
pub const YW_REFRESH_TOKEN_PREFIX: &str = "yw_rt_";

/// The name of the login session cookie.
pub const YW_SESSION_COOKIE: &str = "yw_session";

/// How the emulator behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YouthwebConfig {
    /// The client id. Default [`YW_CLIENT_ID`].
    pub client_id: String,
    /// The client secret. Default [`YW_CLIENT_SECRET`].
    pub client_secret: String,
    /// The registered redirect URIs, matched exactly; the first is used when a request has
    /// none. Default [`YW_REDIRECT_URI`].
    pub redirect_uris: Vec<String>,
    /// The scope when a request names none. Default `user:read`.
    pub default_scope: String,
    /// Lifetime of codes. Default 60 s.
    pub code_lifetime: Duration,
    /// Shown on the pages. Default `"Youthweb"`.
    pub issuer_name: String,
}

impl Default for YouthwebConfig {
    fn default() -> Self {
        Self {
            client_id: YW_CLIENT_ID.to_owned(),
            client_secret: YW_CLIENT_SECRET.to_owned(),
            redirect_uris: vec![YW_REDIRECT_URI.to_owned()],
            default_scope: "user:read".to_owned(),
            code_lifetime: Duration::from_secs(60),
            issuer_name: "Youthweb".to_owned(),
        }
    }
}

struct Shared {
    config: YouthwebConfig,
    key: [u8; 32],
    core: CoreRef,
}

/// A running Youthweb emulator. Dropping it shuts it down.
pub struct YouthwebServer {
    /// `http://127.0.0.1:PORT/`, standing for `https://youthweb.net/` (and the API host).
    pub base_url: Url,
    shared: Arc<Shared>,
    _listener: Listener,
}

impl std::fmt::Debug for YouthwebServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YouthwebServer")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl YouthwebServer {
    /// Starts the emulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(config: YouthwebConfig) -> io::Result<YouthwebServer> {
        let core: CoreRef = Arc::new(CoreCell::default());
        let shared = Arc::new(Shared {
            config,
            key: rand::random::<[u8; 32]>(),
            core: Arc::clone(&core),
        });
        let router = Router::new()
            .route("/auth/authorize", get(authorize))
            .route("/login", get(login_form).post(login))
            .route("/auth/consent", post(consent))
            .route("/auth/access_token", post(access_token))
            .route("/users/me", get(users_me))
            .with_state(Arc::clone(&shared))
            .merge(control_router(core, None));
        let listener = serve(router).await?;
        Ok(YouthwebServer {
            base_url: listener.base_url.clone(),
            shared,
            _listener: listener,
        })
    }

    /// The absolute URL of `path` (e.g. `"auth/access_token"`).
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(path);
        url
    }

    /// Every secret issued so far (codes, access and refresh tokens), for redaction tests.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.core.lock().issued.clone()
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> EmulatorStats {
        self.shared.core.lock().stats.clone()
    }

    /// Answers the next `n` token requests with `fault`.
    pub fn fail_next_token(&self, n: u32, fault: Fault) {
        self.shared.core.lock().fail_next_token(n, fault);
    }

    /// Revokes every refresh token (they cannot be used anyway).
    pub fn revoke_refresh_tokens(&self) {
        self.shared.core.lock().revoke_all_refresh_tokens();
    }

    /// The next redirect after consent carries a `state` with `-tampered` appended.
    pub fn tamper_next_state(&self) {
        self.shared.core.lock().tamper_next_state = true;
    }
}

/// `GET /auth/authorize`.
async fn authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let raw_query = query.unwrap_or_default();
    let params = common::Params::from_urlencoded(raw_query.as_bytes());
    let mut core = shared.core.lock();
    core.prune(Instant::now());
    core.stats.authorize_requests += 1;
    let bad = |title: &str, message: &str| error_page(StatusCode::BAD_REQUEST, issuer, title, message);
    match params.get("client_id") {
        Ok(Some(id)) if id == shared.config.client_id => {}
        _ => return bad("Unknown client", "The client is unknown."),
    }
    let redirect_uri = match params.get("redirect_uri") {
        Ok(None) => match shared.config.redirect_uris.first() {
            Some(uri) => uri.as_str(),
            None => return bad("Invalid redirect_uri", "The client has no redirect URL."),
        },
        Ok(Some(uri)) if shared.config.redirect_uris.iter().any(|r| r == uri) => uri,
        _ => return bad("Invalid redirect_uri", "redirect_uri is not registered for this client."),
    };
    let state = params.get("state").ok().flatten();
    let signed_in = common::cookie(&headers, YW_SESSION_COOKIE).is_some_and(|id| core.has_session(id));
    if !signed_in {
        drop(core);
        let target: String =
            url::form_urlencoded::byte_serialize(format!("auth/authorize?{raw_query}").as_bytes())
                .collect();
        return common::location_response(StatusCode::FOUND, issuer, &format!("/login?redirect={target}"));
    }
    match params.get("response_type") {
        Ok(Some("code")) => {}
        _ => {
            return redirect_error(issuer, redirect_uri, "unsupported_response_type", "response_type must be code", state)
        }
    }
    let scope = params
        .get("scope")
        .ok()
        .flatten()
        .unwrap_or(&shared.config.default_scope)
        .to_owned();
    let request_id = core.add_pending(Pending {
        client_id: shared.config.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        scope: scope.clone(),
        code_challenge: None,
        extra: String::new(),
        created: Instant::now(),
        signed_in: true,
    });
    drop(core);
    common::consent_page(issuer, "/auth/consent", &[("request_id", &request_id)], "Account Linker", &scope)
}

/// The `redirect` target if it is a relative `auth/authorize` URL (no open redirect).
fn safe_target(params: &common::Params) -> Option<String> {
    let target = params.get("redirect").ok().flatten()?;
    target
        .starts_with("auth/authorize?")
        .then(|| format!("/{target}"))
}

/// `GET /login?redirect=…`.
async fn login_form(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = common::Params::from_urlencoded(query.unwrap_or_default().as_bytes());
    let redirect = params.get("redirect").ok().flatten().unwrap_or("");
    common::login_page(&shared.config.issuer_name, "/login", &[("redirect", redirect)], "", "", false)
}

/// `POST /login`: sets the session cookie and redirects back to the authorization request.
async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let params = common::Params::from_urlencoded(&body);
    let mut core = shared.core.lock();
    if !common::credentials_ok(&params) {
        core.stats.logins_failed += 1;
        let username = params.get("username").ok().flatten().unwrap_or("");
        let redirect = params.get("redirect").ok().flatten().unwrap_or("");
        return common::login_page(issuer, "/login", &[("redirect", redirect)], "", username, true);
    }
    core.stats.logins_succeeded += 1;
    let session = core.new_session();
    drop(core);
    let target = safe_target(&params).unwrap_or_else(|| "/".to_owned());
    let mut response = common::location_response(StatusCode::FOUND, issuer, &target);
    if let Ok(value) = HeaderValue::try_from(format!(
        "{YW_SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /auth/consent`.
async fn consent(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let params = common::Params::from_urlencoded(&body);
    let mut core = shared.core.lock();
    let request = match (params.get("request_id"), common::decision(&params)) {
        (Ok(Some(id)), Some(_)) => core.pending.remove(id),
        _ => None,
    };
    let Some(request) = request else {
        return error_page(StatusCode::BAD_REQUEST, issuer, "Unknown request", "This request is unknown or already finished.");
    };
    let state = core.outgoing_state(request.state.clone());
    if common::decision(&params) != Some(true) {
        core.stats.consents_denied += 1;
        return redirect_error(issuer, &request.redirect_uri, "access_denied", "The resource owner or authorization server denied the request.", state.as_deref());
    }
    let code = format!("def50200{}", random_token_std());
    core.issue_code(&code, &request, shared.config.code_lifetime);
    drop(core);
    // The doc's example lists `state` first, then `code`.
    let mut out = Vec::new();
    if let Some(state) = &state {
        out.push(("state", state.as_str()));
    }
    out.push(("code", code.as_str()));
    redirect_with(StatusCode::FOUND, issuer, &request.redirect_uri, &out)
}

/// `POST /auth/access_token`.
async fn access_token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let outcome = {
        let mut core = shared.core.lock();
        let kind = body_kind(&mut core, &headers);
        let params = parse_body(kind, &body);
        match &params {
            Ok(params) => count_grant(&mut core, params),
            Err(_) => core.stats.token_requests += 1,
        }
        common::token_outcome(&mut core, params, |core, params| grant(&shared, core, params))
    };
    common::token_answer(outcome).await
}

fn grant(
    shared: &Shared,
    core: &mut common::Core,
    params: &common::Params,
) -> Result<serde_json::Value, TokenError> {
    let grant_type = required(params, "grant_type")?;
    if grant_type != "authorization_code" {
        return Err(TokenError::new(
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ));
    }
    let client_id = required(params, "client_id")?;
    let secret = required(params, "client_secret")?;
    core.stats.client_auth_body += 1;
    if client_id != shared.config.client_id
        || !common::constant_time_eq(secret.as_bytes(), shared.config.client_secret.as_bytes())
    {
        return Err(TokenError::new("invalid_client", "Client authentication failed"));
    }
    let mut code = required(params, "code")?.to_owned();
    if !core.knows_code(&code) {
        // The client may have forgotten to URL-decode the code from the redirect.
        let decoded: String = url::form_urlencoded::parse(format!("c={code}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .next()
            .unwrap_or_default();
        if core.knows_code(&decoded) {
            code = decoded;
        }
    }
    let redirect_uri = optional(params, "redirect_uri")?;
    let grant = core.redeem_code(&code, client_id, redirect_uri, "")?;
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let access_token = sign_jwt(
        &shared.key,
        &json!({
            "exp": iat + 3600,
            "iat": iat,
            "iss": client_id,
            "sub": YW_USER_ID,
            "scope": grant.scope,
            "jti": format!("{YW_ACCESS_TOKEN_PREFIX}{}", random_token()),
        }),
    );
    let refresh = core
        .issue_tokens(&grant, &access_token, Duration::from_secs(3600), false, Some(YW_REFRESH_TOKEN_PREFIX))
        .unwrap_or_default();
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": access_token,
        "refresh_token": refresh,
    }))
}

/// A JSON:API error document.
fn json_api_error(status: StatusCode, title: &str, detail: &str) -> Response {
    json_api(
        status,
        &json!({"errors": [{"status": status.as_u16().to_string(), "title": title, "detail": detail}]}),
    )
}

fn json_api(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    response
}

/// `GET /users/me`.
async fn users_me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let accepts = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| media.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(JSON_API)));
    if !accepts {
        return json_api_error(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable",
            "The Accept header must contain application/vnd.api+json",
        );
    }
    let mut core = shared.core.lock();
    let grant = bearer_token(&headers).and_then(|token| core.check_access(token));
    core.count_api(grant.is_some());
    drop(core);
    if grant.is_none() {
        let mut response = json_api_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Access token is missing, invalid or expired");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    json_api(
        StatusCode::OK,
        &json!({
            "data": {
                "type": "users",
                "id": YW_USER_ID,
                "attributes": {
                    "username": "demo",
                    "first_name": "Demo",
                    "last_name": "User",
                    "email": DEMO_USER_EMAIL,
                },
                "links": {"self": format!("/users/{YW_USER_ID}")},
            },
            "jsonapi": {"version": "1.0"},
        }),
    )
}

#[cfg(test)]
mod tests;
