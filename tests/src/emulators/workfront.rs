//! Emulator of **Adobe Workfront**'s OAuth 2 authorization code flow, following its (German)
//! documentation.
//!
//! Each organization has its own host (`acme.my.workfront.com`); here every route lives under
//! the path prefix `/wf/{org_host}/` ([`WorkfrontServer::org_base`]).
//!
//! | Endpoint (under `/wf/{org_host}`) | What it does |
//! | --- | --- |
//! | `GET /integrations/oauth2/authorize` | validates the request and shows the login page |
//! | `POST /login`, `POST /consent` | login and consent; redirects with `code`, `domain`, `lane` (and `state`) |
//! | `POST /integrations/oauth2/api/v1/token` | `authorization_code` and `refresh_token` grants |
//! | `GET /attask/api/v14.0/proj/search` | projects, for a `sessionID` header |
//!
//! `/_control/...` (see [the module overview](super)) lives at the root.
//!
//! Quirks emulated:
//!
//! * No scopes, no PKCE (`code_challenge` is ignored).
//! * The redirect carries `domain` (first label of the host) and `lane` (second label).
//! * Codes are valid 2 minutes ([`WorkfrontConfig::code_lifetime`]); an expired one answers
//!   `400 invalid_grant` "authorization code expired".
//! * Client authentication is either `Authorization: Basic base64(id:secret)` with a JSON body,
//!   or `client_id` and `client_secret` in a form body.
//! * The answer is `{"token_type":"sessionID","access_token","refresh_token","expires_in":0,
//!   "wid"}`: the access token is a session id that expires after
//!   [`WorkfrontConfig::session_lifetime`] of inactivity, which the client cannot know.
//! * Refresh tokens rotate; a rotated one answers `invalid_grant` and revokes its family. A
//!   refresh token belongs to the organization it was issued at: another organization's token
//!   endpoint answers `invalid_grant` "refresh token belongs to another organization". So
//!   [`WorkfrontServer::mint_refresh_tokens`] binds to the first of [`WorkfrontConfig::orgs`]
//!   (`acme.my.workfront.com` by default); `mint_refresh_tokens_for_org` and the route's
//!   `"org"` pick another.
//! * The API wants the header `sessionID: <access_token>`; a Bearer header alone answers 401
//!   with `com.attask.common.AuthenticationException`.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use url::Url;

use super::common::{
    self, basic_credentials, body_kind, control_router, count_grant, error_page, optional,
    parse_body, random_token, redirect_error, redirect_with, required, serve, BodyKind,
    CoreCell, CoreRef, Listener, MintPolicy, Pending, RefreshError, TokenError,
};
use super::{EmulatorStats, Fault};

/// The default client id.
pub const WF_CLIENT_ID: &str = "wf-account-linker";

/// The default client secret.
pub const WF_CLIENT_SECRET: &str = "wf-secret-0123456789abcdef";

/// The redirect URI without a tenant.
pub const WF_REDIRECT_URI: &str = "org.accountlinker.app:/oauth2/workfront";

/// The default organization hosts.
pub const WF_DEFAULT_ORGS: [&str; 2] = ["acme.my.workfront.com", "acme.preview.workfront.com"];

/// The demo user's Workfront id, the `wid` of token responses.
pub const WF_USER_ID: &str = "62c5a0b1000a1b2c3d4e5f60718293a4";

/// Prefix of access tokens (session ids).
pub const WF_ACCESS_TOKEN_PREFIX: &str = "wf_at_";

/// Prefix of refresh tokens.
pub const WF_REFRESH_TOKEN_PREFIX: &str = "wf_rt_";

/// How the emulator behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkfrontConfig {
    /// The client id. Default [`WF_CLIENT_ID`].
    pub client_id: String,
    /// The client secret. Default [`WF_CLIENT_SECRET`].
    pub client_secret: String,
    /// The organization hosts served. Default [`WF_DEFAULT_ORGS`].
    pub orgs: Vec<String>,
    /// The registered redirect URIs, matched exactly. Default [`WF_REDIRECT_URI`] and
    /// `WF_REDIRECT_URI/<org host>` for each default organization.
    pub redirect_uris: Vec<String>,
    /// Lifetime of codes. Default 120 s.
    pub code_lifetime: Duration,
    /// Idle lifetime of sessions (access tokens). Default 30 minutes.
    pub session_lifetime: Duration,
    /// Shown on the pages. Default `"Adobe Workfront"`.
    pub issuer_name: String,
}

impl Default for WorkfrontConfig {
    fn default() -> Self {
        let mut redirect_uris = vec![WF_REDIRECT_URI.to_owned()];
        redirect_uris.extend(WF_DEFAULT_ORGS.iter().map(|org| format!("{WF_REDIRECT_URI}/{org}")));
        Self {
            client_id: WF_CLIENT_ID.to_owned(),
            client_secret: WF_CLIENT_SECRET.to_owned(),
            orgs: WF_DEFAULT_ORGS.iter().map(|o| (*o).to_owned()).collect(),
            redirect_uris,
            code_lifetime: Duration::from_secs(120),
            session_lifetime: Duration::from_secs(30 * 60),
            issuer_name: "Adobe Workfront".to_owned(),
        }
    }
}

struct Shared {
    config: WorkfrontConfig,
    core: CoreRef,
    mint: MintPolicy,
}

/// A running Workfront emulator. Dropping it shuts it down.
pub struct WorkfrontServer {
    /// `http://127.0.0.1:PORT/`; organizations live under `wf/{org_host}/`.
    pub base_url: Url,
    shared: Arc<Shared>,
    _listener: Listener,
}

impl std::fmt::Debug for WorkfrontServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkfrontServer")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl WorkfrontServer {
    /// Starts the emulator on `127.0.0.1` with a port chosen by the OS.
    pub async fn start(config: WorkfrontConfig) -> io::Result<WorkfrontServer> {
        let core: CoreRef = Arc::new(CoreCell::default());
        let mint = MintPolicy {
            client_id: config.client_id.clone(),
            default_scope: String::new(),
            required_scope: None,
            extra: config.orgs.first().cloned().unwrap_or_default(),
            orgs: config.orgs.clone(),
            prefix: WF_REFRESH_TOKEN_PREFIX,
        };
        let shared = Arc::new(Shared {
            config,
            core: Arc::clone(&core),
            mint: mint.clone(),
        });
        let router = Router::new()
            .route("/wf/{org}/integrations/oauth2/authorize", get(authorize))
            .route("/wf/{org}/login", post(login))
            .route("/wf/{org}/consent", post(consent))
            .route("/wf/{org}/integrations/oauth2/api/v1/token", post(token))
            .route("/wf/{org}/attask/api/v14.0/proj/search", get(project_search))
            .with_state(Arc::clone(&shared))
            .merge(control_router(core, Some(mint)));
        let listener = serve(router).await?;
        Ok(WorkfrontServer {
            base_url: listener.base_url.clone(),
            shared,
            _listener: listener,
        })
    }

    /// The base URL standing for `https://<org_host>/`: `base_url` + `wf/<org_host>/`.
    pub fn org_base(&self, org_host: &str) -> Url {
        let mut url = self.base_url.clone();
        url.set_path(&format!("wf/{org_host}/"));
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

    /// Revokes every active refresh token.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.core.lock().revoke_all_refresh_tokens();
    }

    /// The next redirect after consent carries a `state` with `-tampered` appended.
    pub fn tamper_next_state(&self) {
        self.shared.core.lock().tamper_next_state = true;
    }

    /// `n` fresh, active refresh tokens (`wf_rt_…`) for the configured client, each in its own
    /// family, as if `n` codes had been redeemed (no browser; no statistic counts them).
    ///
    /// A Workfront refresh token belongs to an organization: these are bound to the first of
    /// [`WorkfrontConfig::orgs`] (by default `acme.my.workfront.com`) and are refused
    /// (`invalid_grant`, "belongs to another organization") at any other organization's token
    /// endpoint. Use [`WorkfrontServer::mint_refresh_tokens_for_org`] for another one.
    pub fn mint_refresh_tokens(&self, n: usize) -> Vec<String> {
        self.shared
            .mint
            .mint(&mut self.shared.core.lock(), n, None, None)
            .unwrap_or_default()
    }

    /// Like [`WorkfrontServer::mint_refresh_tokens`], bound to `org_host`; `None` if that
    /// organization is not served (or `n` is over 100 000).
    pub fn mint_refresh_tokens_for_org(&self, org_host: &str, n: usize) -> Option<Vec<String>> {
        self.shared
            .mint
            .mint(&mut self.shared.core.lock(), n, None, Some(org_host))
            .ok()
    }
}

/// The organization's `(domain, lane)`, if the host is served.
fn org_parts<'o>(shared: &Shared, org: &'o str) -> Option<(&'o str, &'o str)> {
    if !shared.config.orgs.iter().any(|o| o == org) {
        return None;
    }
    let mut labels = org.split('.');
    Some((labels.next()?, labels.next()?))
}

fn unknown_org(shared: &Shared) -> Response {
    error_page(StatusCode::NOT_FOUND, &shared.config.issuer_name, "Unknown organization", "No Workfront organization is served at this host.")
}

/// `GET /wf/{org}/integrations/oauth2/authorize`.
async fn authorize(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    if org_parts(&shared, &org).is_none() {
        return unknown_org(&shared);
    }
    let params = common::Params::from_urlencoded(query.unwrap_or_default().as_bytes());
    let mut core = shared.core.lock();
    core.prune(Instant::now());
    core.stats.authorize_requests += 1;
    let bad = |title: &str, message: &str| error_page(StatusCode::BAD_REQUEST, issuer, title, message);
    match params.get("client_id") {
        Ok(Some(id)) if id == shared.config.client_id => {}
        _ => return bad("Unknown client", "The client is unknown."),
    }
    let redirect_uri = match params.get("redirect_uri") {
        Ok(Some(uri)) if shared.config.redirect_uris.iter().any(|r| r == uri) => uri,
        _ => return bad("Invalid redirect_uri", "redirect_uri is not registered for this client."),
    };
    let state = params.get("state").ok().flatten();
    match params.get("response_type") {
        Ok(Some("code")) => {}
        _ => return redirect_error(issuer, redirect_uri, "unsupported_response_type", "response_type must be code", state),
    }
    let request_id = core.add_pending(Pending {
        client_id: shared.config.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        scope: String::new(),
        code_challenge: None,
        extra: org.clone(),
        created: Instant::now(),
        signed_in: false,
    });
    drop(core);
    common::login_page(issuer, &format!("/wf/{org}/login"), &[("request_id", &request_id)], "Account Linker", "", false)
}

fn unknown_request(issuer: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, issuer, "Unknown sign-in request", "This sign-in request is unknown, expired or already finished.")
}

/// `POST /wf/{org}/login`.
async fn login(State(shared): State<Arc<Shared>>, Path(org): Path<String>, body: Bytes) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let params = common::Params::from_urlencoded(&body);
    let mut core = shared.core.lock();
    let Ok(Some(request_id)) = params.get("request_id") else {
        return unknown_request(issuer);
    };
    if core.pending.get(request_id).is_none_or(|p| p.extra != org) {
        return unknown_request(issuer);
    }
    if !common::credentials_ok(&params) {
        core.stats.logins_failed += 1;
        let username = params.get("username").ok().flatten().unwrap_or("");
        return common::login_page(issuer, &format!("/wf/{org}/login"), &[("request_id", request_id)], "Account Linker", username, true);
    }
    core.stats.logins_succeeded += 1;
    if let Some(pending) = core.pending.get_mut(request_id) {
        pending.signed_in = true;
    }
    drop(core);
    common::consent_page(issuer, &format!("/wf/{org}/consent"), &[("request_id", request_id)], "Account Linker", "Workfront")
}

/// `POST /wf/{org}/consent`.
async fn consent(State(shared): State<Arc<Shared>>, Path(org): Path<String>, body: Bytes) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let Some((domain, lane)) = org_parts(&shared, &org) else {
        return unknown_org(&shared);
    };
    let params = common::Params::from_urlencoded(&body);
    let mut core = shared.core.lock();
    let Ok(Some(request_id)) = params.get("request_id") else {
        return unknown_request(issuer);
    };
    let Some(approve) = common::decision(&params) else {
        return error_page(StatusCode::BAD_REQUEST, issuer, "Invalid decision", "Choose Allow or Deny.");
    };
    if !core.pending.get(request_id).is_some_and(|p| p.signed_in && p.extra == org) {
        return unknown_request(issuer);
    }
    let Some(request) = core.pending.remove(request_id) else {
        return unknown_request(issuer);
    };
    let state = core.outgoing_state(request.state.clone());
    if !approve {
        core.stats.consents_denied += 1;
        return redirect_error(issuer, &request.redirect_uri, "access_denied", "The user denied access", state.as_deref());
    }
    let code = random_token();
    core.issue_code(&code, &request, shared.config.code_lifetime);
    drop(core);
    let mut out = vec![("code", code.as_str()), ("domain", domain), ("lane", lane)];
    if let Some(state) = &state {
        out.push(("state", state));
    }
    redirect_with(StatusCode::FOUND, issuer, &request.redirect_uri, &out)
}

/// `POST /wf/{org}/integrations/oauth2/api/v1/token`.
async fn token(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if org_parts(&shared, &org).is_none() {
        return unknown_org(&shared);
    }
    let outcome = {
        let mut core = shared.core.lock();
        let kind = body_kind(&mut core, &headers);
        let params = parse_body(kind, &body);
        match &params {
            Ok(params) => count_grant(&mut core, params),
            Err(_) => core.stats.token_requests += 1,
        }
        common::token_outcome(&mut core, params, |core, p| grant(&shared, core, &org, &headers, kind, p))
    };
    common::token_answer(outcome).await
}

/// Authenticates the client: Basic (with JSON) or `client_id` + `client_secret` in a form.
fn authenticate_client(
    shared: &Shared,
    core: &mut common::Core,
    headers: &HeaderMap,
    kind: BodyKind,
    params: &common::Params,
) -> Result<(), TokenError> {
    let body_id = optional(params, "client_id")?;
    let body_secret = optional(params, "client_secret")?;
    let (id, secret) = match basic_credentials(headers) {
        Some(_) if body_secret.is_some() => {
            return Err(TokenError::invalid_request("use either Basic authentication or client_secret in the body, not both"))
        }
        Some(Err(())) => return Err(TokenError::new("invalid_client", "malformed Basic credentials")),
        Some(Ok((id, secret))) => {
            core.stats.client_auth_basic += 1;
            if kind != BodyKind::Json {
                return Err(TokenError::invalid_request("with Basic authentication the body must be application/json"));
            }
            (id, secret)
        }
        None => {
            let (Some(id), Some(secret)) = (body_id, body_secret) else {
                return Err(TokenError::new("invalid_client", "client authentication is required"));
            };
            core.stats.client_auth_body += 1;
            if kind != BodyKind::Form {
                return Err(TokenError::invalid_request("client_id and client_secret must be sent form-urlencoded"));
            }
            (id.to_owned(), secret.to_owned())
        }
    };
    if id != shared.config.client_id
        || !common::constant_time_eq(secret.as_bytes(), shared.config.client_secret.as_bytes())
    {
        return Err(TokenError::new("invalid_client", "invalid client credentials"));
    }
    Ok(())
}

fn grant(
    shared: &Shared,
    core: &mut common::Core,
    org: &str,
    headers: &HeaderMap,
    kind: BodyKind,
    params: &common::Params,
) -> Result<serde_json::Value, TokenError> {
    authenticate_client(shared, core, headers, kind, params)?;
    let client_id = shared.config.client_id.as_str();
    let grant = match required(params, "grant_type")? {
        "authorization_code" => {
            let code = required(params, "code")?;
            let redirect_uri = required(params, "redirect_uri")?;
            core.redeem_code(code, client_id, Some(redirect_uri), org)?
        }
        "refresh_token" => {
            let refresh_token = required(params, "refresh_token")?;
            let grant = core.rotate_refresh(refresh_token, client_id).map_err(|e| {
                TokenError::invalid_grant(match e {
                    RefreshError::Reused => "refresh token was already used; the session family was revoked",
                    RefreshError::Revoked => "refresh token was revoked",
                    RefreshError::Unknown | RefreshError::WrongClient => "invalid refresh token",
                })
            })?;
            if grant.extra != org {
                return Err(TokenError::invalid_grant("refresh token belongs to another organization"));
            }
            grant
        }
        _ => return Err(TokenError::new("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")),
    };
    let access_token = format!("{WF_ACCESS_TOKEN_PREFIX}{}", random_token());
    let refresh = core
        .issue_tokens(&grant, &access_token, shared.config.session_lifetime, true, Some(WF_REFRESH_TOKEN_PREFIX))
        .unwrap_or_default();
    Ok(json!({
        "token_type": "sessionID",
        "access_token": access_token,
        "refresh_token": refresh,
        "expires_in": 0,
        "wid": WF_USER_ID,
    }))
}

/// `GET /wf/{org}/attask/api/v14.0/proj/search`.
async fn project_search(
    State(shared): State<Arc<Shared>>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    if org_parts(&shared, &org).is_none() {
        return unknown_org(&shared);
    }
    let mut core = shared.core.lock();
    let grant = headers
        .get("sessionID")
        .and_then(|v| v.to_str().ok())
        .and_then(|session| core.check_access(session.trim()))
        .filter(|grant| grant.extra == org);
    core.count_api(grant.is_some());
    drop(core);
    if grant.is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"class": "com.attask.common.AuthenticationException", "message": "You are not currently logged in"}})),
        )
            .into_response();
    }
    Json(json!({"data": [{"ID": "5f8a1c2b0001a2b3c4d5e6f708192a3b", "name": "Demo project", "objCode": "PROJ", "status": "CUR"}]}))
        .into_response()
}

#[cfg(test)]
mod tests;
