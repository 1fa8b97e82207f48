//! Machinery shared by the provider emulators: the token store ([`Core`]), fault injection,
//! statistics, the `/_control/...` routes, HTML pages and request parsing helpers.
//!
//! It reuses the demo provider's internals (HTML escaping and style sheet, the HS256 signer
//! and the RFC 6749 parameter parser). Like the demo provider, codes and tokens are stored
//! only as SHA-256 hashes and nothing here ever logs a token, code or secret.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::RngCore as _;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::sync::oneshot;
use url::Url;

pub(crate) use crate::demo_provider::html::escape;
pub(crate) use crate::demo_provider::jwt::sign as sign_jwt;
pub(crate) use crate::demo_provider::params::Params;
use crate::demo_provider::html::STYLE;
use crate::demo_provider::{DEMO_PASSWORD, DEMO_USERNAME, DEMO_USER_NAME};

use super::{EmulatorStats, Fault};

/// How long a pending authorization request (login / consent) may take.
const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// How long a used or expired code is remembered, so that its reuse is still detected.
const CODE_RETENTION: Duration = Duration::from_secs(600);

/// The SHA-256 hash under which a code or token is stored.
type SecretHash = [u8; 32];

/// Hashes a code or token for storage and lookup.
fn secret_hash(secret: &str) -> SecretHash {
    Sha256::digest(secret.as_bytes()).into()
}

/// 32 random bytes, BASE64URL-encoded without padding (43 characters).
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 33 random bytes in standard base64 (with `+` and `/`), so the value must be URL-encoded.
pub(crate) fn random_token_std() -> String {
    // 34 bytes: standard base64 with `=` padding, so the value always needs URL-encoding (as Youthweb's
    // codes do), not only when the random bytes happen to produce `+` or `/`.
    let mut bytes = [0u8; 34];
    rand::thread_rng().fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

/// Compares without an early exit on the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a PKCE `code_verifier` matches an `S256` challenge (RFC 7636 §4.6).
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// An authorization request waiting for the user to sign in and decide.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) scope: String,
    pub(crate) code_challenge: Option<String>,
    /// Emulator-specific binding (Auth0 audience, Workfront organization host).
    pub(crate) extra: String,
    pub(crate) created: Instant,
    pub(crate) signed_in: bool,
}

/// What a code or refresh token grants.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) extra: String,
    pub(crate) family: u64,
    pub(crate) code_challenge: Option<String>,
}

struct CodeRecord {
    client_id: String,
    redirect_uri: String,
    scope: String,
    code_challenge: Option<String>,
    extra: String,
    expires_at: Instant,
    used: bool,
    family: Option<u64>,
}

struct AccessRecord {
    grant: Grant,
    expires_at: Instant,
    /// Sliding (idle) lifetime: each successful use extends `expires_at` by it.
    idle: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshStatus {
    Active,
    Rotated,
    Revoked,
}

struct RefreshRecord {
    grant: Grant,
    status: RefreshStatus,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshError {
    Unknown,
    Revoked,
    /// A rotated token was presented again; its family is now revoked.
    Reused,
    WrongClient,
}

/// An error answer of a token endpoint (RFC 6749 §5.2).
#[derive(Debug)]
pub(crate) struct TokenError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl TokenError {
    /// An error with the status RFC 6749 suggests (401 for `invalid_client`, else 400).
    pub(crate) fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.error, "error_description": self.description }));
        let mut response = (self.status, no_store_headers(), body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, required on token responses.
pub(crate) fn no_store_headers() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// A successful JSON token response.
pub(crate) fn token_ok(body: serde_json::Value) -> Response {
    (StatusCode::OK, no_store_headers(), Json(body)).into_response()
}

/// Everything that changes while an emulator runs.
#[derive(Default)]
pub(crate) struct Core {
    pub(crate) stats: EmulatorStats,
    faults: VecDeque<Fault>,
    pub(crate) tamper_next_state: bool,
    pub(crate) pending: HashMap<String, Pending>,
    codes: HashMap<SecretHash, CodeRecord>,
    access: HashMap<SecretHash, AccessRecord>,
    refresh: HashMap<SecretHash, RefreshRecord>,
    sessions: HashSet<SecretHash>,
    next_family: u64,
    /// Every secret issued or received (codes, tokens, PKCE verifiers), for redaction tests.
    pub(crate) issued: Vec<String>,
}

impl Core {
    /// Forgets stale requests, old codes and expired access tokens.
    pub(crate) fn prune(&mut self, now: Instant) {
        self.pending
            .retain(|_, p| now.duration_since(p.created) < PENDING_LIFETIME);
        self.codes
            .retain(|_, c| now < c.expires_at + CODE_RETENTION);
        self.access.retain(|_, t| now < t.expires_at);
    }

    /// Queues `n` copies of `fault` for the next token requests.
    pub(crate) fn fail_next_token(&mut self, n: u32, fault: Fault) {
        for _ in 0..n {
            self.faults.push_back(fault);
        }
    }

    /// The fault to answer the current token request with, if one is queued.
    pub(crate) fn take_fault(&mut self) -> Option<Fault> {
        let fault = self.faults.pop_front();
        if fault.is_some() {
            self.stats.faults_injected += 1;
        }
        fault
    }

    /// Stores a pending request and returns its id.
    pub(crate) fn add_pending(&mut self, pending: Pending) -> String {
        let id = random_token();
        self.pending.insert(id.clone(), pending);
        id
    }

    /// The `state` to send back, tampered with if the test control asked for it.
    pub(crate) fn outgoing_state(&mut self, state: Option<String>) -> Option<String> {
        if self.tamper_next_state {
            self.tamper_next_state = false;
            Some(format!("{}-tampered", state.unwrap_or_default()))
        } else {
            state
        }
    }

    /// Starts a browser session (a signed-in user) and returns its cookie value.
    pub(crate) fn new_session(&mut self) -> String {
        let id = random_token();
        self.sessions.insert(secret_hash(&id));
        id
    }

    /// Whether `id` is a session started by [`Core::new_session`].
    pub(crate) fn has_session(&self, id: &str) -> bool {
        self.sessions.contains(&secret_hash(id))
    }

    /// Stores `code` for an approved request, valid for `lifetime`.
    pub(crate) fn issue_code(&mut self, code: &str, request: &Pending, lifetime: Duration) {
        self.issued.push(code.to_owned());
        self.codes.insert(
            secret_hash(code),
            CodeRecord {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                scope: request.scope.clone(),
                code_challenge: request.code_challenge.clone(),
                extra: request.extra.clone(),
                expires_at: Instant::now() + lifetime,
                used: false,
                family: None,
            },
        );
        self.stats.codes_issued += 1;
    }

    /// Whether `code` is a code this server issued (used or not).
    pub(crate) fn knows_code(&self, code: &str) -> bool {
        self.codes.contains_key(&secret_hash(code))
    }

    /// Redeems a code: one-time use (reuse revokes what it issued), expiry, and its binding
    /// to the client, the redirect URI (when `redirect_uri` is given) and `extra`.
    pub(crate) fn redeem_code(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        extra: &str,
    ) -> Result<Grant, TokenError> {
        let Some(record) = self.codes.get_mut(&secret_hash(code)) else {
            return Err(TokenError::invalid_grant("unknown authorization code"));
        };
        if record.used {
            let family = record.family.take();
            self.stats.code_reuse_detected += 1;
            if let Some(family) = family {
                self.revoke_family(family);
            }
            return Err(TokenError::invalid_grant(
                "authorization code was already used; tokens issued from it were revoked",
            ));
        }
        record.used = true;
        if Instant::now() >= record.expires_at {
            return Err(TokenError::invalid_grant("authorization code expired"));
        }
        if record.client_id != client_id {
            return Err(TokenError::invalid_grant(
                "authorization code was issued to another client",
            ));
        }
        if redirect_uri.is_some_and(|uri| uri != record.redirect_uri) {
            return Err(TokenError::invalid_grant(
                "redirect_uri does not match the one of the authorization request",
            ));
        }
        if record.extra != extra {
            return Err(TokenError::invalid_grant(
                "authorization code was issued elsewhere",
            ));
        }
        let family = self.next_family;
        self.next_family += 1;
        let record = self.codes.get_mut(&secret_hash(code));
        let Some(record) = record else {
            return Err(TokenError::invalid_grant("unknown authorization code"));
        };
        record.family = Some(family);
        Ok(Grant {
            client_id: record.client_id.clone(),
            scope: record.scope.clone(),
            extra: record.extra.clone(),
            family,
            code_challenge: record.code_challenge.clone(),
        })
    }

    /// Stores `access_token` (valid `lifetime`, sliding if `idle`) and, with a
    /// `refresh_prefix`, issues and stores a refresh token that is returned.
    pub(crate) fn issue_tokens(
        &mut self,
        grant: &Grant,
        access_token: &str,
        lifetime: Duration,
        idle: bool,
        refresh_prefix: Option<&str>,
    ) -> Option<String> {
        self.issued.push(access_token.to_owned());
        self.access.insert(
            secret_hash(access_token),
            AccessRecord {
                grant: grant.clone(),
                expires_at: Instant::now() + lifetime,
                idle: idle.then_some(lifetime),
            },
        );
        let prefix = refresh_prefix?;
        let refresh_token = format!("{prefix}{}", random_token());
        self.issued.push(refresh_token.clone());
        self.refresh.insert(
            secret_hash(&refresh_token),
            RefreshRecord {
                grant: grant.clone(),
                status: RefreshStatus::Active,
            },
        );
        Some(refresh_token)
    }

    /// Exchanges (rotates) a refresh token. Presenting a rotated one revokes its family.
    pub(crate) fn rotate_refresh(
        &mut self,
        token: &str,
        client_id: &str,
    ) -> Result<Grant, RefreshError> {
        let Some(record) = self.refresh.get_mut(&secret_hash(token)) else {
            return Err(RefreshError::Unknown);
        };
        match record.status {
            RefreshStatus::Active => {}
            RefreshStatus::Revoked => return Err(RefreshError::Revoked),
            RefreshStatus::Rotated => {
                let family = record.grant.family;
                self.stats.refresh_reuse_detected += 1;
                self.revoke_family(family);
                return Err(RefreshError::Reused);
            }
        }
        if record.grant.client_id != client_id {
            return Err(RefreshError::WrongClient);
        }
        record.status = RefreshStatus::Rotated;
        self.stats.refresh_grants += 1;
        Ok(record.grant.clone())
    }

    /// The grant behind a valid access token; a sliding token's lifetime is extended.
    pub(crate) fn check_access(&mut self, token: &str) -> Option<Grant> {
        let now = Instant::now();
        let record = self.access.get_mut(&secret_hash(token))?;
        if now >= record.expires_at {
            return None;
        }
        if let Some(idle) = record.idle {
            record.expires_at = now + idle;
        }
        Some(record.grant.clone())
    }

    /// Counts an API call.
    pub(crate) fn count_api(&mut self, ok: bool) {
        if ok {
            self.stats.api_ok += 1;
        } else {
            self.stats.api_unauthorized += 1;
        }
    }

    /// Revokes every access and refresh token of `family`.
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.access.retain(|_, t| t.grant.family != family);
        for token in self.refresh.values_mut() {
            if token.grant.family == family && token.status == RefreshStatus::Active {
                token.status = RefreshStatus::Revoked;
            }
        }
    }

    /// RFC 7009 revocation: a refresh token revokes its family, an access token itself.
    pub(crate) fn revoke_token(&mut self, token: &str, client_id: Option<&str>) {
        let allowed = |owner: &str| client_id.is_none_or(|c| c == owner);
        let hash = secret_hash(token);
        if let Some(record) = self.refresh.get(&hash) {
            if allowed(&record.grant.client_id) {
                let family = record.grant.family;
                self.revoke_family(family);
            }
        } else if self
            .access
            .get(&hash)
            .is_some_and(|r| allowed(&r.grant.client_id))
        {
            self.access.remove(&hash);
        }
    }

    /// Revokes every refresh token that is still active.
    pub(crate) fn revoke_all_refresh_tokens(&mut self) {
        for token in self.refresh.values_mut() {
            if token.status == RefreshStatus::Active {
                token.status = RefreshStatus::Revoked;
            }
        }
    }

    /// Issues `n` active refresh tokens (`prefix` + random) for `client_id`, `scope` and
    /// `extra`, each in a family of its own, as if `n` codes had been redeemed (but no access
    /// token is stored and no statistic counts them).
    pub(crate) fn mint_refresh_tokens(
        &mut self,
        n: usize,
        client_id: &str,
        scope: &str,
        extra: &str,
        prefix: &str,
    ) -> Vec<String> {
        (0..n)
            .map(|_| {
                let family = self.next_family;
                self.next_family += 1;
                let refresh_token = format!("{prefix}{}", random_token());
                self.refresh.insert(
                    secret_hash(&refresh_token),
                    RefreshRecord {
                        grant: Grant {
                            client_id: client_id.to_owned(),
                            scope: scope.to_owned(),
                            extra: extra.to_owned(),
                            family,
                            code_challenge: None,
                        },
                        status: RefreshStatus::Active,
                    },
                );
                refresh_token
            })
            .collect()
    }
}

/// The most refresh tokens one `POST /_control/mint-refresh-tokens` may ask for.
pub(crate) const MAX_MINTED: usize = 100_000;

/// What an emulator's minted refresh tokens are bound to (see [`Core::mint_refresh_tokens`]).
#[derive(Debug, Clone)]
pub(crate) struct MintPolicy {
    /// The client the tokens are issued to.
    pub(crate) client_id: String,
    /// The scope when the request names none.
    pub(crate) default_scope: String,
    /// A scope value without which the provider would issue no refresh token.
    pub(crate) required_scope: Option<&'static str>,
    /// The emulator-specific binding (Auth0 audience; Workfront's first organization host).
    pub(crate) extra: String,
    /// Other values of `extra` a request may pick with `org` (Workfront's organization hosts).
    pub(crate) orgs: Vec<String>,
    /// The refresh token prefix.
    pub(crate) prefix: &'static str,
}

impl MintPolicy {
    /// Mints `n` tokens with `scope` (default [`MintPolicy::default_scope`]) for `org`
    /// (default [`MintPolicy::extra`]).
    pub(crate) fn mint(
        &self,
        core: &mut Core,
        n: usize,
        scope: Option<&str>,
        org: Option<&str>,
    ) -> Result<Vec<String>, TokenError> {
        if n > MAX_MINTED {
            return Err(TokenError::invalid_request(format!(
                "n must be at most {MAX_MINTED}"
            )));
        }
        let scope = scope.map_or_else(
            || self.default_scope.clone(),
            |s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            },
        );
        if let Some(required) = self.required_scope {
            if !scope.split(' ').any(|s| s == required) {
                return Err(TokenError::new(
                    "invalid_scope",
                    format!(
                        "without {required} in the scope this provider issues no refresh token"
                    ),
                ));
            }
        }
        let extra = match org {
            None => self.extra.as_str(),
            Some(org) if self.orgs.iter().any(|o| o == org) => org,
            Some(org) => {
                return Err(TokenError::invalid_request(if self.orgs.is_empty() {
                    "this emulator has no organizations: leave out org".to_owned()
                } else {
                    format!("unknown organization: {org}")
                }))
            }
        };
        Ok(core.mint_refresh_tokens(n, &self.client_id, &scope, extra, self.prefix))
    }
}

/// The core, shared between handlers behind a mutex never held across an `.await`.
#[derive(Default)]
pub(crate) struct CoreCell(Mutex<Core>);

impl CoreCell {
    /// Locks the core; a poisoned mutex is still usable since every update is self-contained.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A reference to the shared core.
pub(crate) type CoreRef = Arc<CoreCell>;

/// What became of a token request, decided under the core's lock (see [`token_outcome`]).
pub(crate) enum TokenOutcome {
    /// A queued [`Fault`] answers instead of the token endpoint; nothing was processed.
    Replaced(Fault),
    /// The request was processed (its state change is committed); `result` is sent after `delay`.
    Processed {
        result: Result<serde_json::Value, TokenError>,
        delay: Duration,
    },
}

/// Takes the next queued [`Fault`] and, unless it replaces the answer, processes the token
/// request with `process` (counting an error in [`EmulatorStats::token_errors`]).
/// [`Fault::HangAfterIssuing`] processes the request and only delays its answer.
pub(crate) fn token_outcome(
    core: &mut Core,
    params: Result<Params, TokenError>,
    process: impl FnOnce(&mut Core, &Params) -> Result<serde_json::Value, TokenError>,
) -> TokenOutcome {
    let delay = match core.take_fault() {
        None => Duration::ZERO,
        Some(Fault::HangAfterIssuing { secs }) => Duration::from_secs(secs),
        Some(fault) => return TokenOutcome::Replaced(fault),
    };
    let result = params.and_then(|params| process(core, &params));
    if result.is_err() {
        core.stats.token_errors += 1;
    }
    TokenOutcome::Processed { result, delay }
}

/// Sends the answer of a token request, after the core's lock was released.
pub(crate) async fn token_answer(outcome: TokenOutcome) -> Response {
    match outcome {
        TokenOutcome::Replaced(fault) => fault_response(fault).await,
        TokenOutcome::Processed { result, delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            match result {
                Ok(body) => token_ok(body),
                Err(error) => error.into_response(),
            }
        }
    }
}

/// The answer to a token request that a [`Fault`] replaces.
async fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Status503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            no_store_headers(),
            Json(json!({"error": "temporarily_unavailable", "error_description": "Service Unavailable"})),
        )
            .into_response(),
        Fault::Status500Html => {
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>\
                 <body><h1>Internal Server Error</h1><p>Something went wrong.</p></body></html>",
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        Fault::TooMany429 { retry_after_secs } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                no_store_headers(),
                Json(json!({"error": "too_many_requests", "error_description": "Rate limit exceeded"})),
            )
                .into_response();
            if let Ok(value) = HeaderValue::try_from(retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Fault::MalformedJson => json_raw(StatusCode::OK, "{\"access_token\": \"trunc"),
        Fault::EmptyBody => json_raw(StatusCode::OK, ""),
        Fault::Hang { secs } => {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            json_raw(
                StatusCode::GATEWAY_TIMEOUT,
                "{\"error\":\"temporarily_unavailable\",\"error_description\":\"upstream timed out\"}",
            )
        }
        // Never a replacement: `token_outcome` processes the request and `token_answer` delays it.
        Fault::HangAfterIssuing { .. } => json_raw(
            StatusCode::INTERNAL_SERVER_ERROR,
            "{\"error\":\"server_error\",\"error_description\":\"hang_after_issuing delays a processed answer\"}",
        ),
    }
}

/// A response with `body` declared as `application/json`, whatever it holds.
fn json_raw(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, no_store_headers(), body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The body of `POST /_control/fail-next-token`.
#[derive(Deserialize)]
struct FailRequest {
    #[serde(default = "one")]
    n: u32,
    fault: Fault,
}

fn one() -> u32 {
    1
}

async fn control_fail_next_token(State(core): State<CoreRef>, body: Bytes) -> Response {
    match serde_json::from_slice::<FailRequest>(&body) {
        Ok(request) => {
            core.lock().fail_next_token(request.n, request.fault);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_request", "error_description": error.to_string()})),
        )
            .into_response(),
    }
}

async fn control_revoke(State(core): State<CoreRef>) -> Response {
    core.lock().revoke_all_refresh_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn control_tamper(State(core): State<CoreRef>) -> Response {
    core.lock().tamper_next_state = true;
    StatusCode::NO_CONTENT.into_response()
}

async fn control_stats(State(core): State<CoreRef>) -> Response {
    let stats = core.lock().stats.clone();
    Json(stats).into_response()
}

/// The body of `POST /_control/mint-refresh-tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    #[serde(default = "one_token")]
    n: usize,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    org: Option<String>,
}

fn one_token() -> usize {
    1
}

/// The state of the control routes.
#[derive(Clone)]
struct Control {
    core: CoreRef,
    mint: Option<Arc<MintPolicy>>,
}

async fn control_mint(State(control): State<Control>, body: Bytes) -> Response {
    let Some(policy) = &control.mint else {
        return TokenError::new(
            "unsupported_grant_type",
            "this emulator offers no refresh grant, so it mints no refresh tokens",
        )
        .into_response();
    };
    let request = match serde_json::from_slice::<MintRequest>(&body) {
        Ok(request) => request,
        Err(error) => return TokenError::invalid_request(error.to_string()).into_response(),
    };
    let minted = policy.mint(
        &mut control.core.lock(),
        request.n,
        request.scope.as_deref(),
        request.org.as_deref(),
    );
    match minted {
        Ok(tokens) => token_ok(json!({ "refresh_tokens": tokens })),
        Err(error) => error.into_response(),
    }
}

/// The `/_control/...` routes: `POST fail-next-token` (`{"n":1,"fault":{"kind":"status_503"}}`),
/// `POST revoke-refresh-tokens`, `POST tamper-next-state`, `GET stats` and
/// `POST mint-refresh-tokens` (`{"n":3,"scope":"…","org":"…"}`, all optional, answering
/// `{"refresh_tokens":[…]}`; without a `mint` policy `400 unsupported_grant_type`).
pub(crate) fn control_router(core: CoreRef, mint: Option<MintPolicy>) -> Router {
    let mint_router = Router::new()
        .route("/_control/mint-refresh-tokens", post(control_mint))
        .with_state(Control {
            core: Arc::clone(&core),
            mint: mint.map(Arc::new),
        });
    Router::new()
        .route("/_control/fail-next-token", post(control_fail_next_token))
        .route("/_control/revoke-refresh-tokens", post(control_revoke))
        .route("/_control/tamper-next-state", post(control_tamper))
        .route("/_control/stats", get(control_stats))
        .with_state(core)
        .merge(mint_router)
}

/// A listener serving a router until dropped.
pub(crate) struct Listener {
    /// `http://127.0.0.1:PORT/`.
    pub(crate) base_url: Url,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and serves `router` on the current tokio runtime.
pub(crate) async fn serve(router: Router) -> io::Result<Listener> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/")).map_err(io::Error::other)?;
    Ok(serve_listener(listener, router, base_url))
}

/// Serves `router` on an already bound loopback `listener`.
pub(crate) fn serve_listener(
    listener: tokio::net::TcpListener,
    router: Router,
    base_url: Url,
) -> Listener {
    let (tx, rx) = oneshot::channel::<()>();
    let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = rx.await;
    });
    tokio::spawn(async move { serve.await });
    Listener {
        base_url,
        shutdown: Some(tx),
    }
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Form,
    Other,
}

/// Classifies the request body by its `Content-Type` and counts it in the statistics.
pub(crate) fn body_kind(core: &mut Core, headers: &HeaderMap) -> BodyKind {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let kind = match media_type.as_deref() {
        Some("application/json") => BodyKind::Json,
        Some("application/x-www-form-urlencoded") => BodyKind::Form,
        _ => BodyKind::Other,
    };
    match kind {
        BodyKind::Json => core.stats.json_requests += 1,
        BodyKind::Form => core.stats.form_requests += 1,
        BodyKind::Other => core.stats.other_content_type_requests += 1,
    }
    kind
}

/// Parses a JSON or form body.
pub(crate) fn parse_body(kind: BodyKind, body: &[u8]) -> Result<Params, TokenError> {
    match kind {
        BodyKind::Json => Params::from_json(body)
            .map_err(|_| TokenError::invalid_request("the request body is not a JSON object")),
        BodyKind::Form => Ok(Params::from_urlencoded(body)),
        BodyKind::Other => Err(TokenError::invalid_request(
            "unsupported content type: use application/json or application/x-www-form-urlencoded",
        )),
    }
}

/// Counts a token request and its `grant_type`.
pub(crate) fn count_grant(core: &mut Core, params: &Params) {
    core.stats.token_requests += 1;
    let grant = params
        .get("grant_type")
        .ok()
        .flatten()
        .unwrap_or("(none)")
        .to_owned();
    *core.stats.token_requests_by_grant.entry(grant).or_insert(0) += 1;
}

/// A required parameter.
pub(crate) fn required<'p>(params: &'p Params, name: &'static str) -> Result<&'p str, TokenError> {
    params
        .get(name)
        .map_err(|dup| TokenError::invalid_request(dup.to_string()))?
        .ok_or_else(|| TokenError::invalid_request(format!("{name} is required")))
}

/// An optional parameter.
pub(crate) fn optional<'p>(
    params: &'p Params,
    name: &'static str,
) -> Result<Option<&'p str>, TokenError> {
    params
        .get(name)
        .map_err(|dup| TokenError::invalid_request(dup.to_string()))
}

/// `Authorization: Basic` credentials: `None` without that header, `Some(Err)` if malformed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    Some(
        decoded
            .and_then(|text| {
                text.split_once(':')
                    .map(|(id, secret)| (id.to_owned(), secret.to_owned()))
            })
            .ok_or(()),
    )
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim()),
        _ => None,
    }
}

/// The value of cookie `name`.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A redirect (`status`, usually 303) to `target` with `params` appended to its query.
pub(crate) fn redirect_with(
    status: StatusCode,
    issuer: &str,
    target: &str,
    params: &[(&str, &str)],
) -> Response {
    let Ok(mut url) = Url::parse(target) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            issuer,
            "Invalid redirect_uri",
            "The redirect URL is not a valid URL.",
        );
    };
    if !params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    location_response(status, issuer, url.as_str())
}

/// A redirect to `location` as given.
pub(crate) fn location_response(status: StatusCode, issuer: &str, location: &str) -> Response {
    let Ok(location) = HeaderValue::try_from(location) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            issuer,
            "Invalid redirect",
            "The redirect URL cannot be sent in a Location header.",
        );
    };
    (
        status,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
    )
        .into_response()
}

/// An error redirected to the client (RFC 6749 §4.1.2.1).
pub(crate) fn redirect_error(
    issuer: &str,
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_with(StatusCode::SEE_OTHER, issuer, redirect_uri, &params)
}

/// A complete HTML response. `title` is escaped here; `body` must already be safe HTML.
pub(crate) fn page(status: StatusCode, issuer: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – {issuer}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <p class=\"brand\">{issuer}</p>\n{body}</main>\n</body>\n</html>\n",
        title = escape(title),
        issuer = escape(issuer),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // No form-action here: it would also block the redirect to the app's custom scheme.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"),
    );
    response
}

/// An error page shown instead of redirecting.
pub(crate) fn error_page(status: StatusCode, issuer: &str, title: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p id=\"error\" class=\"error\" role=\"alert\">{}</p>\n\
         <p>Go back to the application and start linking the account again.</p>\n",
        escape(title),
        escape(message),
    );
    page(status, issuer, title, &body)
}

/// Hidden form fields, escaped.
fn hidden_fields(hidden: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in hidden {
        let _ = writeln!(
            out,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    out
}

/// The login form posting to `action` (ids `username`, `password`, `login`, `demo-credentials`).
pub(crate) fn login_page(
    issuer: &str,
    action: &str,
    hidden: &[(&str, &str)],
    client_name: &str,
    username: &str,
    failed: bool,
) -> Response {
    let mut body = String::from("<h1>Sign in</h1>\n");
    if !client_name.is_empty() {
        let _ = writeln!(
            body,
            "<p>to continue to <strong>{}</strong></p>",
            escape(client_name)
        );
    }
    let _ = writeln!(
        body,
        "<p class=\"hint\" id=\"demo-credentials\">Demo user: {DEMO_USERNAME} · Password: {DEMO_PASSWORD}</p>"
    );
    if failed {
        body.push_str(
            "<p id=\"error\" class=\"error\" role=\"alert\">Wrong user name or password</p>\n",
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{action}\">\n{hidden}\
         <label for=\"username\">User name</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\" value=\"{username}\" autofocus>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\n\
         <button id=\"login\" type=\"submit\">Sign in</button>\n\
         </form>\n",
        action = escape(action),
        hidden = hidden_fields(hidden),
        username = escape(username),
    );
    page(StatusCode::OK, issuer, "Sign in", &body)
}

/// The consent form posting to `action` (buttons `approve` and `deny`, field `decision`).
pub(crate) fn consent_page(
    issuer: &str,
    action: &str,
    hidden: &[(&str, &str)],
    client_name: &str,
    scope: &str,
) -> Response {
    let mut body = String::from("<h1>Allow access?</h1>\n");
    let _ = writeln!(
        body,
        "<p id=\"consent-text\">{client} wants to access your {issuer} account (scopes: {scope})</p>",
        client = escape(client_name),
        issuer = escape(issuer),
        scope = escape(scope),
    );
    let _ = writeln!(
        body,
        "<p class=\"hint\">Signed in as {DEMO_USER_NAME} ({DEMO_USERNAME})</p>"
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{action}\">\n{hidden}<div class=\"actions\">\n\
         <button id=\"approve\" name=\"decision\" value=\"approve\" type=\"submit\">Allow</button>\n\
         <button id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\" class=\"secondary\">Deny</button>\n\
         </div>\n</form>\n",
        action = escape(action),
        hidden = hidden_fields(hidden),
    );
    page(StatusCode::OK, issuer, "Allow access", &body)
}

/// Whether the login form carries the demo credentials.
pub(crate) fn credentials_ok(params: &Params) -> bool {
    params.get("username").ok().flatten() == Some(DEMO_USERNAME)
        && params.get("password").ok().flatten() == Some(DEMO_PASSWORD)
}

/// The decision of the consent form: `Some(true)` approve, `Some(false)` deny.
pub(crate) fn decision(params: &Params) -> Option<bool> {
    match params.get("decision") {
        Ok(Some("approve")) => Some(true),
        Ok(Some("deny")) => Some(false),
        _ => None,
    }
}
