//! Emulator of **Zählerfreunde**, whose authorization server is an Auth0 tenant.
//!
//! As at the real provider, the authorization host (`auth.prod.zaehlerfreunde.com`) and the
//! token host (`zaehlerfreunde-prod.eu.auth0.com`) differ; here they are two listeners,
//! [`ZaehlerfreundeServer::authorize_base`] and [`ZaehlerfreundeServer::token_base`].
//!
//! | Host | Endpoint |
//! | --- | --- |
//! | authorize | `GET /authorize`, `POST /login`, `POST /consent`, `GET /userinfo` |
//! | token | `POST /oauth/token`, `POST /oauth/revoke`, `GET /.well-known/openid-configuration`, `GET /api/v1/meters` |
//! | both | `/_control/...` (see [the module overview](super)) |
//!
//! Quirks emulated from the provider's documentation and Auth0's behaviour:
//!
//! * `/authorize` needs `audience=https://api.prod.zaehlerfreunde.com`: without it the
//!   redirect carries `error=invalid_request`, with another one `error=access_denied` and
//!   `error_description=Service not found: <audience>`.
//! * The client is public (no secret). PKCE `S256` is optional, but once a `code_challenge`
//!   was sent, the token request needs the `code_verifier`.
//! * Token requests are JSON (`Content-Type: application/json`); with
//!   [`ZaehlerfreundeConfig::strict_json`] (default) anything else is refused.
//! * A refresh token is issued only when `offline_access` was granted. Refresh tokens rotate;
//!   a rotated, revoked or unknown one answers Auth0's `403`
//!   `{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}`, and
//!   presenting a rotated one revokes its whole family.
//! * The access token is an HS256 JWT for the API audience and `/userinfo`.
//!
//! * Embedded browsers refused ([`ZaehlerfreundeServer::refuse_embedded`], `POST
//!   /_control/refuse-embedded` with `{"as": "google"}`, `{"as": "auth0"}` or `{"as": "off"}`): the
//!   tenant's users sign in with Google, and Google refuses OAuth in embedded webviews. Google does not
//!   send the browser back: it shows its own page "Access blocked … Error 403: disallowed_useragent" at
//!   `/signin/oauth/error?authError=…`, the reason base64-encoded in `authError` (`"google"`; here the
//!   page is served by the authorize listener, as if `connection=google-oauth2` had skipped Auth0's
//!   login page). `"auth0"` is the relayed form: Auth0 ends the transaction at the app's redirect URI
//!   with `error=access_denied&error_description=…disallowed_useragent…` and the `state`. Only requests
//!   whose `User-Agent` looks embedded are refused ([`looks_embedded`]: Android's `; wv)`, an iOS
//!   WebKit view without `Safari/`, or WebKitGTK, i.e. `X11;`, `Linux` and `AppleWebKit` without `Chrome/`,
//!   which is what Tauri's login window sends on Linux); any other client (a real browser, a test's
//!   HTTP client) signs in as usual.
//!
//! [`ZaehlerfreundeServer::mint_refresh_tokens`] (and `POST /_control/mint-refresh-tokens`)
//! issues refresh tokens without a browser; their scope must include `offline_access`
//! (default [`ZF_MINT_SCOPE`]), else a refresh would issue no new refresh token.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use url::Url;

use super::common::{
    self, body_kind, bearer_token, control_router, count_grant, error_page, optional,
    parse_body, random_token, redirect_error, redirect_with, required, sign_jwt,
    BodyKind, CoreCell, CoreRef, Listener, MintPolicy, Pending, RefreshError, TokenError,
};
use super::{EmulatorStats, Fault};
use crate::demo_provider::{DEMO_USER_EMAIL, DEMO_USER_NAME};

/// The API audience the provider documents.
pub const ZF_AUDIENCE: &str = "https://api.prod.zaehlerfreunde.com";

/// The default client id.
pub const ZF_CLIENT_ID: &str = "zf-account-linker";

/// The default registered redirect URI.
pub const ZF_REDIRECT_URI: &str = "org.accountlinker.app:/oauth2/zaehlerfreunde";

/// The `sub` of the demo user, in Auth0's `connection|id` form.
pub const ZF_SUBJECT: &str = "auth0|demo-user-1";

/// Prefix of the `jti` claim of access tokens.
pub const ZF_ACCESS_TOKEN_PREFIX: &str = "zf_at_";

/// Prefix of refresh tokens.
pub const ZF_REFRESH_TOKEN_PREFIX: &str = "zf_rt_";

/// The scope of minted refresh tokens when none is asked for (see
/// [`ZaehlerfreundeServer::mint_refresh_tokens`]).
pub const ZF_MINT_SCOPE: &str = "openid offline_access";

/// The refresh error description Auth0 answers with (status 403).
pub const ZF_INVALID_REFRESH: &str = "Unknown or invalid refresh token.";

/// How the emulator behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZaehlerfreundeConfig {
    /// The public client's id. Default [`ZF_CLIENT_ID`].
    pub client_id: String,
    /// The redirect URIs registered for it, matched exactly. Default [`ZF_REDIRECT_URI`].
    pub redirect_uris: Vec<String>,
    /// The only API audience. Default [`ZF_AUDIENCE`].
    pub audience: String,
    /// Refuse token requests that are not `application/json`. Default `true`.
    pub strict_json: bool,
    /// Lifetime of access tokens. Default 86400 s (Auth0's default).
    pub access_token_lifetime: Duration,
    /// Lifetime of authorization codes. Default 60 s.
    pub code_lifetime: Duration,
    /// Shown on the pages. Default `"Zählerfreunde"`.
    pub issuer_name: String,
}

impl Default for ZaehlerfreundeConfig {
    fn default() -> Self {
        Self {
            client_id: ZF_CLIENT_ID.to_owned(),
            redirect_uris: vec![ZF_REDIRECT_URI.to_owned()],
            audience: ZF_AUDIENCE.to_owned(),
            strict_json: true,
            access_token_lifetime: Duration::from_secs(86_400),
            code_lifetime: Duration::from_secs(60),
            issuer_name: "Zählerfreunde".to_owned(),
        }
    }
}

/// How the emulator answers an embedded browser (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddedRefusal {
    /// Google's own error page, `Error 403: disallowed_useragent`; the browser is not sent back.
    Google,
    /// Auth0 relaying it: a redirect to the app with `error=access_denied` and the reason.
    Auth0,
}

/// Whether a `User-Agent` is an embedded browser by the marks Google is known to refuse.
pub fn looks_embedded(user_agent: &str) -> bool {
    let android_webview = user_agent.contains("; wv)");
    let ios_webview = (user_agent.contains("iPhone") || user_agent.contains("iPad")) && user_agent.contains("AppleWebKit") && !user_agent.contains("Safari/");
    let webkitgtk = user_agent.contains("X11;") && user_agent.contains("Linux") && user_agent.contains("AppleWebKit") && !user_agent.contains("Chrome/");
    android_webview || ios_webview || webkitgtk
}

/// The `authError` of Google's error page: a small message naming the reason, base64-encoded.
fn google_auth_error() -> String {
    use base64::Engine;
    let reason = b"disallowed_useragent";
    let mut message = vec![0x0a, reason.len() as u8];
    message.extend_from_slice(reason);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message)
}

struct Shared {
    config: ZaehlerfreundeConfig,
    refuse_embedded: std::sync::Mutex<Option<EmbeddedRefusal>>,
    authorize_base: Url,
    token_base: Url,
    key: [u8; 32],
    core: CoreRef,
    mint: MintPolicy,
}

/// A running Zählerfreunde emulator (two listeners). Dropping it shuts both down.
pub struct ZaehlerfreundeServer {
    /// The authorization host, e.g. `http://127.0.0.1:PORT1/`; also the tokens' `iss`.
    pub authorize_base: Url,
    /// The token (and API) host, e.g. `http://127.0.0.1:PORT2/`.
    pub token_base: Url,
    /// Same as [`ZaehlerfreundeServer::authorize_base`] (the common shape of the emulators).
    pub base_url: Url,
    shared: Arc<Shared>,
    _listeners: [Listener; 2],
}

impl std::fmt::Debug for ZaehlerfreundeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZaehlerfreundeServer")
            .field("authorize_base", &self.authorize_base.as_str())
            .field("token_base", &self.token_base.as_str())
            .finish_non_exhaustive()
    }
}

impl ZaehlerfreundeServer {
    /// Starts both listeners on `127.0.0.1` with ports chosen by the OS.
    pub async fn start(config: ZaehlerfreundeConfig) -> io::Result<ZaehlerfreundeServer> {
        let auth_listener =
            tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .await?;
        let token_listener =
            tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
                .await?;
        // Both base URLs must be known before either router is built; bind, then serve.
        let authorize_base = Url::parse(&format!("http://{}/", auth_listener.local_addr()?))
            .map_err(io::Error::other)?;
        let token_base = Url::parse(&format!("http://{}/", token_listener.local_addr()?))
            .map_err(io::Error::other)?;
        let core: CoreRef = Arc::new(CoreCell::default());
        let mint = MintPolicy {
            client_id: config.client_id.clone(),
            default_scope: ZF_MINT_SCOPE.to_owned(),
            required_scope: Some("offline_access"),
            extra: config.audience.clone(),
            orgs: Vec::new(),
            prefix: ZF_REFRESH_TOKEN_PREFIX,
        };
        let shared = Arc::new(Shared {
            config,
            refuse_embedded: std::sync::Mutex::new(None),
            authorize_base: authorize_base.clone(),
            token_base: token_base.clone(),
            key: rand::random::<[u8; 32]>(),
            core: Arc::clone(&core),
            mint: mint.clone(),
        });
        let auth_router = Router::new()
            .route("/authorize", get(authorize))
            .route("/login", post(login))
            .route("/consent", post(consent))
            .route("/userinfo", get(userinfo))
            .route("/signin/oauth/error", get(google_error))
            .route("/_control/refuse-embedded", post(control_refuse_embedded))
            .with_state(Arc::clone(&shared))
            .merge(control_router(Arc::clone(&core), Some(mint.clone())));
        let token_router = Router::new()
            .route("/oauth/token", post(token))
            .route("/oauth/revoke", post(revoke))
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/api/v1/meters", get(meters))
            .with_state(Arc::clone(&shared))
            .merge(control_router(core, Some(mint)));
        let listeners = [
            common::serve_listener(auth_listener, auth_router, authorize_base.clone()),
            common::serve_listener(token_listener, token_router, token_base.clone()),
        ];
        Ok(ZaehlerfreundeServer {
            base_url: authorize_base.clone(),
            authorize_base,
            token_base,
            shared,
            _listeners: listeners,
        })
    }

    /// `authorize_base` joined with `path` (e.g. `"authorize"`).
    pub fn authorize_endpoint(&self, path: &str) -> Url {
        join(&self.authorize_base, path)
    }

    /// `token_base` joined with `path` (e.g. `"oauth/token"`).
    pub fn token_endpoint(&self, path: &str) -> Url {
        join(&self.token_base, path)
    }

    /// The app's `providers.toml` entry that points the built-in Zählerfreunde provider at this emulator
    /// (authorize, token, userinfo, revocation and test URLs).
    pub fn providers_toml(&self) -> String {
        self.providers_toml_with_token_url(self.token_endpoint("oauth/token").as_str())
    }

    /// [`ZaehlerfreundeServer::providers_toml`] with another token endpoint (e.g. a proxy in front of it).
    pub fn providers_toml_with_token_url(&self, token_url: &str) -> String {
        format!(
            "[[provider]]\nid = \"zaehlerfreunde\"\nclient_id = \"{ZF_CLIENT_ID}\"\nauthorize_url = \"{}\"\ntoken_url = \"{token_url}\"\n\
             userinfo_url = \"{}\"\nrevocation_url = \"{}\"\ntest_url = \"{}\"\n",
            self.authorize_endpoint("authorize"),
            self.authorize_endpoint("userinfo"),
            self.token_endpoint("oauth/revoke"),
            self.token_endpoint("api/v1/meters"),
        )
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> EmulatorStats {
        self.shared.core.lock().stats.clone()
    }

    /// Refuses embedded browsers from now on, the way `how` says (`None`: lets them sign in again).
    pub fn refuse_embedded(&self, how: Option<EmbeddedRefusal>) {
        *self.shared.refuse_embedded.lock().unwrap_or_else(|e| e.into_inner()) = how;
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

    /// Every secret issued or received so far (codes, access, refresh and ID tokens, PKCE verifiers).
    pub fn issued_secrets(&self) -> Vec<String> {
        self.shared.core.lock().issued.clone()
    }

    /// `n` fresh, active refresh tokens (`zf_rt_…`) for the configured client, audience and
    /// scope [`ZF_MINT_SCOPE`], each in its own family, as if `n` codes had been redeemed
    /// (no browser; no statistic counts them). Also `POST /_control/mint-refresh-tokens`.
    pub fn mint_refresh_tokens(&self, n: usize) -> Vec<String> {
        self.shared
            .mint
            .mint(&mut self.shared.core.lock(), n, None, None)
            .unwrap_or_default()
    }
}

fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    url
}

/// The body of `POST /_control/refuse-embedded`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RefuseEmbedded {
    #[serde(rename = "as")]
    how: String,
}

/// `POST /_control/refuse-embedded`.
async fn control_refuse_embedded(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let how = match serde_json::from_slice::<RefuseEmbedded>(&body).map(|r| r.how) {
        Ok(h) if h == "google" => Some(EmbeddedRefusal::Google),
        Ok(h) if h == "auth0" => Some(EmbeddedRefusal::Auth0),
        Ok(h) if h == "off" => None,
        _ => return (StatusCode::BAD_REQUEST, "expected {\"as\": \"google\" | \"auth0\" | \"off\"}").into_response(),
    };
    *shared.refuse_embedded.lock().unwrap_or_else(|e| e.into_inner()) = how;
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /signin/oauth/error`: Google's page for a refused sign-in.
async fn google_error(State(shared): State<Arc<Shared>>) -> Response {
    let body = "<h1>Access blocked: Zählerfreunde’s request does not comply with Google’s policies</h1>\n\
        <p id=\"error\" class=\"error\" role=\"alert\">Error 403: disallowed_useragent</p>\n\
        <p>You can’t sign in from this screen because this app doesn’t comply with Google’s embedded webview policy. \
        If this app has a website, you can open a web browser and try signing in from there.</p>\n";
    common::page(StatusCode::FORBIDDEN, &format!("{} (Google)", shared.config.issuer_name), "Access blocked", body)
}

/// `GET /authorize`.
async fn authorize(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let refusal = *shared.refuse_embedded.lock().unwrap_or_else(|e| e.into_inner());
    let params = common::Params::from_urlencoded(query.unwrap_or_default().as_bytes());
    let mut core = shared.core.lock();
    core.prune(std::time::Instant::now());
    core.stats.authorize_requests += 1;
    let bad = |title: &str, message: &str| error_page(StatusCode::BAD_REQUEST, issuer, title, message);
    let client_id = match params.get("client_id") {
        Ok(Some(id)) if id == shared.config.client_id => id,
        Ok(Some(id)) => return bad("Unknown client", &format!("Unknown client: {id}")),
        _ => return bad("Unknown client", "The request has no valid client_id."),
    };
    let redirect_uri = match params.get("redirect_uri") {
        Ok(Some(uri)) if shared.config.redirect_uris.iter().any(|r| r == uri) => uri,
        _ => {
            return bad(
                "Callback URL mismatch",
                "The provided redirect_uri is not in the list of allowed callback URLs.",
            )
        }
    };
    let state = params.get("state").ok().flatten();
    let fail = |error: &str, description: &str| {
        redirect_error(issuer, redirect_uri, error, description, state)
    };
    match params.get("response_type") {
        Ok(Some("code")) => {}
        Ok(None) => return fail("invalid_request", "Missing required parameter: response_type"),
        _ => {
            return fail(
                "unsupported_response_type",
                "Unsupported response type: only code is allowed",
            )
        }
    }
    match params.get("audience") {
        Ok(Some(audience)) if audience == shared.config.audience => {}
        Ok(Some(audience)) => {
            return fail("access_denied", &format!("Service not found: {audience}"))
        }
        _ => return fail("invalid_request", "Missing required parameter: audience"),
    }
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Ok(None), _) => None,
        (Ok(Some(challenge)), Ok(Some("S256"))) => Some(challenge.to_owned()),
        _ => {
            return fail(
                "invalid_request",
                "code_challenge_method must be S256 when code_challenge is sent",
            )
        }
    };
    let scope = params
        .get("scope")
        .ok()
        .flatten()
        .unwrap_or("openid")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match refusal.filter(|_| looks_embedded(user_agent)) {
        Some(EmbeddedRefusal::Google) => {
            let mut page = join(&shared.authorize_base, "signin/oauth/error");
            page.query_pairs_mut().append_pair("authError", &google_auth_error()).append_pair("client_id", client_id);
            return common::location_response(StatusCode::FOUND, issuer, page.as_str());
        }
        Some(EmbeddedRefusal::Auth0) => {
            return fail(
                "access_denied",
                "Error 403: disallowed_useragent. You can't sign in from this screen because this app doesn't comply with Google's embedded webview policy.",
            )
        }
        None => {}
    }
    let request_id = core.add_pending(Pending {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        scope,
        code_challenge,
        extra: shared.config.audience.clone(),
        created: std::time::Instant::now(),
        signed_in: false,
    });
    drop(core);
    common::login_page(issuer, "/login", &[("request_id", &request_id)], "Account Linker", "", false)
}

fn unknown_request(issuer: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        issuer,
        "Unknown sign-in request",
        "This sign-in request is unknown, expired or already finished.",
    )
}

/// `POST /login`.
async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let params = common::Params::from_urlencoded(&body);
    let mut core = shared.core.lock();
    let Ok(Some(request_id)) = params.get("request_id") else {
        return unknown_request(issuer);
    };
    let Some(scope) = core.pending.get(request_id).map(|p| p.scope.clone()) else {
        return unknown_request(issuer);
    };
    if !common::credentials_ok(&params) {
        core.stats.logins_failed += 1;
        let username = params.get("username").ok().flatten().unwrap_or("");
        return common::login_page(issuer, "/login", &[("request_id", request_id)], "Account Linker", username, true);
    }
    core.stats.logins_succeeded += 1;
    if let Some(pending) = core.pending.get_mut(request_id) {
        pending.signed_in = true;
    }
    drop(core);
    common::consent_page(issuer, "/consent", &[("request_id", request_id)], "Account Linker", &scope)
}

/// `POST /consent`.
async fn consent(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let issuer = shared.config.issuer_name.as_str();
    let params = common::Params::from_urlencoded(&body);
    let mut core = shared.core.lock();
    let Ok(Some(request_id)) = params.get("request_id") else {
        return unknown_request(issuer);
    };
    let Some(approve) = common::decision(&params) else {
        return error_page(StatusCode::BAD_REQUEST, issuer, "Invalid decision", "Choose Allow or Deny.");
    };
    if !core.pending.get(request_id).is_some_and(|p| p.signed_in) {
        return unknown_request(issuer);
    }
    let Some(request) = core.pending.remove(request_id) else {
        return unknown_request(issuer);
    };
    let state = core.outgoing_state(request.state.clone());
    if !approve {
        core.stats.consents_denied += 1;
        return redirect_error(issuer, &request.redirect_uri, "access_denied", "User did not authorize the request", state.as_deref());
    }
    let code = random_token();
    core.issue_code(&code, &request, shared.config.code_lifetime);
    drop(core);
    let mut out = vec![("code", code.as_str())];
    if let Some(state) = &state {
        out.push(("state", state));
    }
    redirect_with(StatusCode::FOUND, issuer, &request.redirect_uri, &out)
}

/// `POST /oauth/token`.
async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = std::time::Instant::now();
    let outcome = {
        let mut core = shared.core.lock();
        let kind = body_kind(&mut core, &headers);
        let params = if shared.config.strict_json && kind != BodyKind::Json {
            Err(TokenError::invalid_request("content type must be application/json"))
        } else {
            parse_body(kind, &body)
        };
        match &params {
            Ok(params) => count_grant(&mut core, params),
            Err(_) => core.stats.token_requests += 1,
        }
        common::token_outcome(&mut core, params, |core, params| grant(&shared, core, params))
    };
    let answer = common::token_answer(outcome).await;
    let spent = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    shared.core.lock().stats.token_endpoint_us += spent;
    answer
}

fn grant(
    shared: &Shared,
    core: &mut common::Core,
    params: &common::Params,
) -> Result<serde_json::Value, TokenError> {
    let grant_type = required(params, "grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(TokenError::new("unsupported_grant_type", format!("Unsupported grant type: {grant_type}")));
    }
    let client_id = required(params, "client_id")?;
    if optional(params, "client_secret")?.is_some() {
        core.stats.client_auth_body += 1;
    } else {
        core.stats.client_auth_none += 1;
    }
    if client_id != shared.config.client_id {
        return Err(TokenError::new("access_denied", "Unauthorized").with_status(StatusCode::UNAUTHORIZED));
    }
    let granted = if grant_type == "authorization_code" {
        let code = required(params, "code")?;
        let redirect_uri = required(params, "redirect_uri")?;
        let verifier = optional(params, "code_verifier")?;
        let grant = core
            .redeem_code(code, client_id, Some(redirect_uri), &shared.config.audience)
            .map_err(|e| e.with_status(StatusCode::FORBIDDEN))?;
        if let Some(v) = verifier {
            core.issued.push(v.to_owned());
        }
        if let Some(challenge) = &grant.code_challenge {
            let Some(verifier) = verifier else {
                return Err(TokenError::new("invalid_request", "Parameter 'code_verifier' is required").with_status(StatusCode::FORBIDDEN));
            };
            if !common::pkce_matches(verifier, challenge) {
                return Err(TokenError::invalid_grant("Failed to verify code verifier").with_status(StatusCode::FORBIDDEN));
            }
        }
        grant
    } else {
        let refresh_token = required(params, "refresh_token")?;
        core.rotate_refresh(refresh_token, client_id).map_err(|_: RefreshError| {
            TokenError::invalid_grant(ZF_INVALID_REFRESH).with_status(StatusCode::FORBIDDEN)
        })?
    };
    Ok(issue(shared, core, &granted))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn issue(shared: &Shared, core: &mut common::Core, grant: &common::Grant) -> serde_json::Value {
    let lifetime = shared.config.access_token_lifetime.as_secs();
    let iat = now_secs();
    let issuer = shared.authorize_base.as_str();
    let access_token = sign_jwt(
        &shared.key,
        &json!({
            "iss": issuer,
            "sub": ZF_SUBJECT,
            "aud": [shared.config.audience, format!("{issuer}userinfo")],
            "iat": iat,
            "exp": iat.saturating_add(lifetime),
            "scope": grant.scope,
            "azp": grant.client_id,
            "jti": format!("{ZF_ACCESS_TOKEN_PREFIX}{}", random_token()),
        }),
    );
    let offline = grant.scope.split(' ').any(|s| s == "offline_access");
    let refresh = core.issue_tokens(
        grant,
        &access_token,
        shared.config.access_token_lifetime,
        false,
        offline.then_some(ZF_REFRESH_TOKEN_PREFIX),
    );
    let mut body = json!({
        "access_token": access_token,
        "scope": grant.scope,
        "expires_in": lifetime,
        "token_type": "Bearer",
    });
    if grant.scope.split(' ').any(|s| s == "openid") {
        let id_token = sign_jwt(
            &shared.key,
            &json!({
                "iss": issuer,
                "sub": ZF_SUBJECT,
                "aud": grant.client_id,
                "iat": iat,
                "exp": iat.saturating_add(36_000),
                "name": DEMO_USER_NAME,
                "email": DEMO_USER_EMAIL,
            }),
        );
        core.issued.push(id_token.clone());
        body["id_token"] = json!(id_token);
    }
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}

/// `POST /oauth/revoke` with `{client_id, token}`: 200 with an empty body.
async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut core = shared.core.lock();
    core.stats.revocation_requests += 1;
    let kind = body_kind(&mut core, &headers);
    let params = match parse_body(kind, &body) {
        Ok(params) => params,
        Err(error) => return error.into_response(),
    };
    let (token, client_id) = match (required(&params, "token"), required(&params, "client_id")) {
        (Ok(token), Ok(client_id)) => (token, client_id),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };
    core.revoke_token(token, Some(client_id));
    StatusCode::OK.into_response()
}

/// `GET /.well-known/openid-configuration`.
async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    let issuer = shared.authorize_base.as_str();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": join(&shared.authorize_base, "authorize").as_str(),
        "token_endpoint": join(&shared.token_base, "oauth/token").as_str(),
        "userinfo_endpoint": join(&shared.authorize_base, "userinfo").as_str(),
        "revocation_endpoint": join(&shared.token_base, "oauth/revoke").as_str(),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["HS256"],
    }))
    .into_response()
}

/// Checks the Bearer token: its grant, or a 401 answer (a whole response: boxing it buys nothing here).
#[allow(clippy::result_large_err)]
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<common::Grant, Response> {
    let mut core = shared.core.lock();
    let grant = bearer_token(headers).and_then(|token| core.check_access(token));
    core.count_api(grant.is_some());
    grant.ok_or_else(|| {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            )],
            Json(json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"})),
        )
            .into_response()
    })
}

/// `GET /api/v1/meters`: the user's meters.
async fn meters(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match authenticate(&shared, &headers) {
        Err(response) => response,
        Ok(_) => Json(json!({
            "meters": [
                {"id": "m-1", "name": "Stromzähler Wohnung", "type": "electricity", "unit": "kWh"},
                {"id": "m-2", "name": "Gaszähler", "type": "gas", "unit": "m³"}
            ]
        }))
        .into_response(),
    }
}

/// `GET /userinfo`.
async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    match authenticate(&shared, &headers) {
        Err(response) => response,
        Ok(_) => Json(json!({"sub": ZF_SUBJECT, "name": DEMO_USER_NAME, "email": DEMO_USER_EMAIL}))
            .into_response(),
    }
}

#[cfg(test)]
mod tests;
