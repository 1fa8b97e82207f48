//! The front channel: `GET /authorize`, `POST /login` and `POST /consent`.
//!
//! `/authorize` checks the request in the order RFC 6749 §4.1.2.1 asks for: an unknown client
//! or a `redirect_uri` that is not registered is shown to the user as an HTML error page and
//! never redirected (that would make the server an open redirector); every later error is
//! redirected back to the client with `error`, `error_description` and `state`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::html::{consent_page, error_page, login_page};
use super::params::Params;
use super::state::{random_token, PendingRequest, Shared};
use super::{DEFAULT_SCOPE, DEMO_PASSWORD, DEMO_SUBJECT, DEMO_USERNAME, SESSION_COOKIE};

/// The value of the session cookie the browser sent, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// A `303 See Other` to the client's `redirect_uri` with `params` added to its query.
fn redirect_to_client(shared: &Shared, redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            shared,
            "Invalid redirect_uri",
            "The registered redirect_uri is not a valid URL.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    let Ok(location) = HeaderValue::try_from(url.as_str()) else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            shared,
            "Invalid redirect_uri",
            "The redirect URL cannot be sent in a Location header.",
        );
    };
    (
        StatusCode::SEE_OTHER,
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
fn redirect_error(
    shared: &Shared,
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_to_client(shared, redirect_uri, &params)
}

/// Whether `c` may appear in a scope token (RFC 6749 §3.3).
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

/// Whether `c` is an unreserved URI character, the alphabet of PKCE values (RFC 7636 §4.1).
pub(crate) fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Splits, validates and de-duplicates a scope; `None` if a token has forbidden characters.
pub(crate) fn normalize_scope(scope: &str) -> Option<Vec<&str>> {
    let mut tokens: Vec<&str> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if !token.chars().all(is_scope_char) {
            return None;
        }
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    Some(tokens)
}

/// `GET /authorize`: validates the authorization request and shows the login page.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_urlencoded(query.unwrap_or_default().as_bytes());
    let mut st = shared.lock();
    st.prune(Instant::now());
    st.stats.authorize_requests += 1;

    // 1. Errors about the client or the redirect URI: never redirect.
    let client_id = match params.get("client_id") {
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &shared,
                "Invalid request",
                "client_id was given more than once.",
            )
        }
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &shared,
                "Unknown client",
                "The request has no client_id.",
            )
        }
        Ok(Some(client_id)) => client_id,
    };
    let Some(client) = st.clients.get(client_id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &shared,
            "Unknown client",
            &format!("Unknown client: no client is registered with client_id \"{client_id}\"."),
        );
    };
    let client_name = client.name;
    let redirect_uri = match params.get("redirect_uri") {
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &shared,
                "Invalid redirect_uri",
                "redirect_uri was given more than once.",
            )
        }
        Ok(None) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &shared,
                "Invalid redirect_uri",
                "The request has no redirect_uri, and this provider requires it.",
            )
        }
        Ok(Some(uri)) if !client.redirect_uris.iter().any(|r| r == uri) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &shared,
                "Invalid redirect_uri",
                "redirect_uri is not registered for this client.",
            )
        }
        Ok(Some(uri)) => uri,
    };

    // 2. Everything else is redirected back to the client.
    let state = match params.get("state") {
        Ok(state) => state,
        Err(dup) => {
            return redirect_error(
                &shared,
                redirect_uri,
                "invalid_request",
                &dup.to_string(),
                None,
            )
        }
    };
    let fail = |error: &str, description: &str| {
        redirect_error(&shared, redirect_uri, error, description, state)
    };
    match params.get("response_type") {
        Err(dup) => return fail("invalid_request", &dup.to_string()),
        Ok(None) => return fail("invalid_request", "response_type is required"),
        Ok(Some("code")) => {}
        Ok(Some(_)) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            )
        }
    }
    let code_challenge = match params.get("code_challenge") {
        Err(dup) => return fail("invalid_request", &dup.to_string()),
        Ok(None) => return fail("invalid_request", "PKCE code_challenge is required"),
        Ok(Some(challenge)) => challenge,
    };
    match params.get("code_challenge_method") {
        Err(dup) => return fail("invalid_request", &dup.to_string()),
        Ok(Some("S256")) => {}
        Ok(_) => {
            return fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not supported)",
            )
        }
    }
    if code_challenge.len() != 43 || !code_challenge.chars().all(is_unreserved) {
        return fail(
            "invalid_request",
            "code_challenge must be the BASE64URL (no padding) encoded SHA-256 of the code_verifier",
        );
    }
    let scope = match params.get("scope") {
        Err(dup) => return fail("invalid_request", &dup.to_string()),
        Ok(scope) => scope.unwrap_or(DEFAULT_SCOPE),
    };
    let scope = match normalize_scope(scope) {
        Some(tokens) if !tokens.is_empty() => tokens.join(" "),
        Some(_) => DEFAULT_SCOPE.to_owned(),
        None => {
            return fail(
                "invalid_scope",
                "scope contains characters that are not allowed",
            )
        }
    };
    let nonce = match params.get("nonce") {
        Err(dup) => return fail("invalid_request", &dup.to_string()),
        Ok(nonce) => nonce.map(str::to_owned),
    };

    // A browser that signed in before skips the login form.
    let user = session_cookie(&headers).and_then(|s| st.sessions.get(s).copied());
    let request_id = random_token();
    st.pending.insert(
        request_id.clone(),
        PendingRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state: state.map(str::to_owned),
            code_challenge: code_challenge.to_owned(),
            scope: scope.clone(),
            nonce,
            created: Instant::now(),
            user,
        },
    );
    if user.is_some() {
        st.stats.sessions_resumed += 1;
        drop(st);
        return consent_page(&shared, &request_id, client_name, &scope);
    }
    drop(st);
    login_page(&shared, &request_id, client_name, "", false)
}

/// The error page for a `request_id` the server does not know (any more).
fn unknown_request(shared: &Shared) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        shared,
        "Unknown sign-in request",
        "This sign-in request is unknown, expired or already finished.",
    )
}

/// `POST /login`: checks the credentials; shows the consent page or the login page again.
pub(crate) async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let params = Params::from_urlencoded(&body);
    let mut st = shared.lock();
    st.prune(Instant::now());
    let Ok(Some(request_id)) = params.get("request_id") else {
        return unknown_request(&shared);
    };
    let Some(request) = st.pending.get(request_id) else {
        return unknown_request(&shared);
    };
    let client_name = st
        .clients
        .get(&request.client_id)
        .map_or("the application", |c| c.name);
    let username = params.get("username").ok().flatten().unwrap_or("");
    let password = params.get("password").ok().flatten().unwrap_or("");
    if username != DEMO_USERNAME || password != DEMO_PASSWORD {
        st.stats.logins_failed += 1;
        return login_page(&shared, request_id, client_name, username, true);
    }
    let scope = request.scope.clone();
    if let Some(request) = st.pending.get_mut(request_id) {
        request.user = Some(DEMO_SUBJECT);
    }
    st.stats.logins_succeeded += 1;
    let session = random_token();
    st.sessions.insert(session.clone(), DEMO_SUBJECT);
    drop(st);
    let mut response = consent_page(&shared, request_id, client_name, &scope);
    let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
    if let Ok(value) = HeaderValue::try_from(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `POST /consent`: issues a code (approve) or `access_denied` (deny) and redirects.
pub(crate) async fn consent(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let params = Params::from_urlencoded(&body);
    let mut st = shared.lock();
    st.prune(Instant::now());
    let Ok(Some(request_id)) = params.get("request_id") else {
        return unknown_request(&shared);
    };
    let approve = match params.get("decision") {
        Ok(Some("approve")) => true,
        Ok(Some("deny")) => false,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                &shared,
                "Invalid decision",
                "Choose either Allow or Deny.",
            )
        }
    };
    let Some(user) = st.pending.get(request_id).map(|r| r.user) else {
        return unknown_request(&shared);
    };
    let Some(user) = user else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &shared,
            "Not signed in",
            "Sign in before deciding.",
        );
    };
    let Some(request) = st.pending.remove(request_id) else {
        return unknown_request(&shared);
    };
    let redirect_uri = request.redirect_uri.clone();
    let mut state = request.state.clone();
    if st.tamper_next_state {
        st.tamper_next_state = false;
        state = Some(format!("{}-tampered", state.unwrap_or_default()));
    }
    let response = if approve {
        let code = st.issue_code(request, user);
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &state {
            params.push(("state", state));
        }
        redirect_to_client(&shared, &redirect_uri, &params)
    } else {
        st.stats.consents_denied += 1;
        redirect_error(
            &shared,
            &redirect_uri,
            "access_denied",
            "The user denied access",
            state.as_deref(),
        )
    };
    drop(st);
    response
}
