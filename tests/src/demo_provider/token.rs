//! The back channel: `POST /token` (RFC 6749 §4.1.3 and §6, RFC 7636 §4.6), `/userinfo`,
//! `POST /revoke` (RFC 7009) and the RFC 8414 metadata document.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::authorize::{is_unreserved, normalize_scope};
use super::jwt;
use super::params::Params;
use super::state::{secret_hash, RefreshStatus, Shared, State as ServerState};
use super::{DEMO_USER_EMAIL, DEMO_USER_NAME};

/// An error answer of the token endpoint (RFC 6749 §5.2).
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
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

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.error, "error_description": self.description }));
        let mut response = (self.status, no_store_headers(), body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"demo-provider\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, required on token responses.
fn no_store_headers() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}

/// Parses a form body, or a JSON object when the `Content-Type` says so.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
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
    match media_type.as_deref() {
        None | Some("application/x-www-form-urlencoded") => Ok(Params::from_urlencoded(body)),
        Some("application/json") => Params::from_json(body)
            .map_err(|_| OAuthError::invalid_request("the request body is not a JSON object")),
        Some(_) => Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        )),
    }
}

/// A required parameter.
fn required<'p>(params: &'p Params, name: &'static str) -> Result<&'p str, OAuthError> {
    params
        .get(name)
        .map_err(|dup| OAuthError::invalid_request(dup.to_string()))?
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

/// An optional parameter.
fn optional<'p>(params: &'p Params, name: &'static str) -> Result<Option<&'p str>, OAuthError> {
    params
        .get(name)
        .map_err(|dup| OAuthError::invalid_request(dup.to_string()))
}

/// Checks a PKCE `code_verifier` against the `S256` challenge (RFC 7636 §4.6).
fn verify_pkce(verifier: &str, challenge: &str) -> Result<(), OAuthError> {
    if !(43..=128).contains(&verifier.len()) || !verifier.chars().all(is_unreserved) {
        return Err(OAuthError::invalid_grant(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    Ok(())
}

/// Compares without an early exit on the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /token`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = parse_body(&headers, &body);
    let mut st = shared.lock();
    st.prune(Instant::now());
    st.stats.token_requests += 1;
    let result = params.and_then(|params| grant(&shared, &mut st, &params));
    if result.is_err() {
        st.stats.token_errors += 1;
    }
    drop(st);
    match result {
        Ok(body) => (StatusCode::OK, no_store_headers(), Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Dispatches on `grant_type` after identifying the (public) client.
fn grant(
    shared: &Shared,
    st: &mut ServerState,
    params: &Params,
) -> Result<serde_json::Value, OAuthError> {
    let grant_type = required(params, "grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        ));
    }
    let client_id = required(params, "client_id")?;
    if !st.clients.contains_key(client_id) {
        return Err(OAuthError::new("invalid_client", "unknown client"));
    }
    if grant_type == "authorization_code" {
        authorization_code_grant(shared, st, params, client_id)
    } else {
        refresh_token_grant(shared, st, params, client_id)
    }
}

/// The token response for freshly issued tokens (RFC 6749 §5.1).
fn token_response(
    shared: &Shared,
    st: &mut ServerState,
    client_id: &str,
    user: &'static str,
    scope: &str,
    family: u64,
    nonce: Option<&str>,
) -> serde_json::Value {
    let lifetime = shared.config.access_token_lifetime_secs;
    let tokens = st.issue_tokens(
        client_id,
        user,
        scope,
        family,
        Duration::from_secs(lifetime),
    );
    let id_token = jwt::id_token(
        &shared.id_token_key,
        shared.base_url.as_str(),
        user,
        client_id,
        lifetime,
        nonce,
    );
    json!({
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "refresh_token": tokens.refresh_token,
        "scope": scope,
        "id_token": id_token,
    })
}

/// `grant_type=authorization_code`. Any presentation consumes the code.
fn authorization_code_grant(
    shared: &Shared,
    st: &mut ServerState,
    params: &Params,
    client_id: &str,
) -> Result<serde_json::Value, OAuthError> {
    let code = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let verifier = required(params, "code_verifier")?;
    let Some(grant) = st.codes.get_mut(&secret_hash(code)) else {
        return Err(OAuthError::invalid_grant("unknown authorization code"));
    };
    if grant.used {
        let family = grant.family.take();
        st.stats.code_reuse_detected += 1;
        if let Some(family) = family {
            st.revoke_family(family);
        }
        return Err(OAuthError::invalid_grant(
            "authorization code was already used; tokens issued from it were revoked",
        ));
    }
    grant.used = true;
    if Instant::now() >= grant.expires_at {
        return Err(OAuthError::invalid_grant("authorization code expired"));
    }
    if grant.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the one of the authorization request",
        ));
    }
    verify_pkce(verifier, &grant.code_challenge)?;
    let user = grant.user;
    let scope = grant.scope.clone();
    let nonce = grant.nonce.clone();
    let family = st.new_family();
    if let Some(grant) = st.codes.get_mut(&secret_hash(code)) {
        grant.family = Some(family);
    }
    st.stats.code_exchanges += 1;
    Ok(token_response(
        shared,
        st,
        client_id,
        user,
        &scope,
        family,
        nonce.as_deref(),
    ))
}

/// `grant_type=refresh_token`, with rotation and reuse detection.
fn refresh_token_grant(
    shared: &Shared,
    st: &mut ServerState,
    params: &Params,
    client_id: &str,
) -> Result<serde_json::Value, OAuthError> {
    let refresh_token = required(params, "refresh_token")?;
    let requested_scope = optional(params, "scope")?;
    let Some(record) = st.refresh_tokens.get_mut(&secret_hash(refresh_token)) else {
        return Err(OAuthError::invalid_grant("unknown refresh token"));
    };
    match record.status {
        RefreshStatus::Active => {}
        RefreshStatus::Revoked => {
            return Err(OAuthError::invalid_grant("refresh token was revoked"))
        }
        RefreshStatus::Rotated => {
            let family = record.family;
            st.stats.refresh_reuse_detected += 1;
            st.revoke_family(family);
            return Err(OAuthError::invalid_grant(
                "refresh token was already used; all tokens of this grant were revoked",
            ));
        }
    }
    if record.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "refresh token was issued to another client",
        ));
    }
    let scope = match requested_scope {
        None => record.scope.clone(),
        Some(requested) => {
            let granted: Vec<&str> = record.scope.split(' ').collect();
            match normalize_scope(requested) {
                Some(tokens)
                    if !tokens.is_empty() && tokens.iter().all(|t| granted.contains(t)) =>
                {
                    tokens.join(" ")
                }
                _ => {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        "the requested scope exceeds the scope originally granted",
                    ))
                }
            }
        }
    };
    record.status = RefreshStatus::Rotated;
    let user = record.user;
    let family = record.family;
    st.stats.refresh_grants += 1;
    Ok(token_response(
        shared, st, client_id, user, &scope, family, None,
    ))
}

/// A `401` answer of a protected resource (RFC 6750 §3).
fn bearer_challenge(invalid_token: bool) -> Response {
    let (challenge, body) = if invalid_token {
        (
            "Bearer realm=\"demo-provider\", error=\"invalid_token\", \
             error_description=\"The access token is invalid, expired or revoked\"",
            json!({ "error": "invalid_token", "error_description": "The access token is invalid, expired or revoked" }),
        )
    } else {
        (
            "Bearer realm=\"demo-provider\"",
            json!({ "error_description": "A Bearer access token is required" }),
        )
    };
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(body),
    )
        .into_response()
}

/// `GET` or `POST /userinfo`: the user's claims for a valid `Bearer` access token.
pub(crate) async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut st = shared.lock();
    let now = Instant::now();
    st.prune(now);
    st.stats.userinfo_requests += 1;
    let Some(authorization) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return bearer_challenge(false);
    };
    let token = match authorization.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return bearer_challenge(false),
    };
    let Some(record) = st.access_tokens.get(&secret_hash(token)) else {
        return bearer_challenge(true);
    };
    if now >= record.expires_at || !st.clients.contains_key(&record.client_id) {
        return bearer_challenge(true);
    }
    let sub = record.user;
    drop(st);
    let body = json!({
        "sub": sub,
        "name": DEMO_USER_NAME,
        "email": DEMO_USER_EMAIL,
    });
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response()
}

/// `POST /revoke` (RFC 7009): answers 200 whether or not the token was known. Revoking a
/// refresh token revokes every token of its grant; revoking an access token only that one.
/// A token issued to a client other than the given `client_id` is left alone.
pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match parse_body(&headers, &body) {
        Ok(params) => params,
        Err(error) => return error.into_response(),
    };
    let mut st = shared.lock();
    st.stats.revocation_requests += 1;
    let (token, client_id) = match (required(&params, "token"), optional(&params, "client_id")) {
        (Ok(token), Ok(client_id)) => (token, client_id),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };
    let allowed = |owner: &str| client_id.is_none_or(|c| c == owner);
    let hash = secret_hash(token);
    if let Some(record) = st.refresh_tokens.get(&hash) {
        if allowed(&record.client_id) {
            let family = record.family;
            st.revoke_family(family);
        }
    } else if st
        .access_tokens
        .get(&hash)
        .is_some_and(|record| allowed(&record.client_id))
    {
        st.access_tokens.remove(&hash);
    }
    drop(st);
    (StatusCode::OK, no_store_headers()).into_response()
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414), also served as
/// `/.well-known/openid-configuration`.
pub(crate) async fn metadata(State(shared): State<Arc<Shared>>) -> Response {
    let base = &shared.base_url;
    let endpoint = |path: &str| {
        let mut url = base.clone();
        url.set_path(path);
        url.to_string()
    };
    Json(json!({
        "issuer": base.as_str(),
        "authorization_endpoint": endpoint("authorize"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "revocation_endpoint": endpoint("revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "name", "email", "nonce"],
    }))
    .into_response()
}
