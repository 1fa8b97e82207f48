//! Token requests (RFC 6749 §4.1.3 and §6) and the parsing of their answers.
//!
//! Errors are split by what the caller does next (as oauth2-rs does): the server said no
//! ([`TokenError::Rejected`]), it could not be reached ([`TokenError::Transport`]), or its answer made no
//! sense ([`TokenError::Malformed`]). Redirects are never followed on the token endpoint.

use std::time::Duration;

use serde::Deserialize;

use super::flow::CodeGrant;
use super::secret::{AccessToken, IdToken, RefreshToken};
use crate::providers::Provider;

/// The HTTP client for token requests: no redirects, bounded time, identifies the app.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("AccountLinker/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A successful token response.
#[derive(Debug)]
pub struct TokenSet {
    /// The access token.
    pub access_token: AccessToken,
    /// `token_type` as the provider spelled it.
    pub token_type: String,
    /// Lifetime in seconds; `None` when missing or 0 (the lifetime is unknown, not "expired").
    pub expires_in: Option<u64>,
    /// A refresh token, when one was issued.
    pub refresh_token: Option<RefreshToken>,
    /// An OpenID Connect ID token, when one was issued.
    pub id_token: Option<IdToken>,
    /// Granted scopes, when the provider says (else the requested ones apply).
    pub scope: Option<Vec<String>>,
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider answered with an OAuth error.
    #[error("the provider refused the token request: {error}{}", .description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The `error` code, e.g. `invalid_grant`.
        error: String,
        /// `error_description`, kept for diagnostics.
        description: Option<String>,
    },
    /// The token endpoint could not be reached or did not answer in time.
    #[error("the token endpoint could not be reached: {0}")]
    Transport(String),
    /// The answer was not a token response.
    #[error("the token endpoint answered HTTP {status} with {what}")]
    Malformed {
        /// HTTP status.
        status: u16,
        /// What was wrong, without the body (it might hold tokens).
        what: String,
    },
}

impl TokenError {
    /// Whether trying again later may succeed (408, 429, 5xx, network), as opposed to a reconnect.
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Transport(_) => true,
            TokenError::Rejected { status, error, .. } => {
                *status == 408 || *status == 429 || *status >= 500 || error == "temporarily_unavailable"
            }
            TokenError::Malformed { status, .. } => *status == 408 || *status == 429 || *status >= 500,
        }
    }
}

/// Exchanges an authorization code for tokens (public client, form-encoded, PKCE verifier).
pub async fn exchange_code(http: &reqwest::Client, provider: &Provider, grant: CodeGrant) -> Result<TokenSet, TokenError> {
    let mut form: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("code", grant.code.secret().to_owned()),
        ("redirect_uri", grant.redirect_uri.to_string()),
        ("client_id", provider.client_id.clone()),
    ];
    if let Some(v) = grant.verifier {
        form.push(("code_verifier", v.into_secret()));
    }
    post(http, provider, &form).await
}

/// Uses a refresh token (RFC 6749 §6).
pub async fn refresh(http: &reqwest::Client, provider: &Provider, token: &RefreshToken) -> Result<TokenSet, TokenError> {
    let form: Vec<(&str, String)> = vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", token.secret().to_owned()),
        ("client_id", provider.client_id.clone()),
    ];
    post(http, provider, &form).await
}

async fn post(http: &reqwest::Client, provider: &Provider, form: &[(&str, String)]) -> Result<TokenSet, TokenError> {
    let response = http
        .post(provider.token_url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| TokenError::Transport(describe_transport(&e)))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.bytes().await.map_err(|e| TokenError::Transport(describe_transport(&e)))?;
    parse_response(status, &content_type, &body)
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "the connection failed (offline, or the server is down)".into()
    } else {
        // reqwest's Display names the URL but never a form body.
        e.to_string()
    }
}

#[derive(Deserialize)]
struct RawSuccess {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Turns a token endpoint's answer into a [`TokenSet`] or a [`TokenError`].
pub fn parse_response(status: u16, content_type: &str, body: &[u8]) -> Result<TokenSet, TokenError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(TokenError::Malformed { status, what: "an empty body".into() });
    }
    if !(200..300).contains(&status) {
        return match serde_json::from_slice::<RawError>(body) {
            Ok(e) => Err(TokenError::Rejected { status, error: e.error, description: e.error_description }),
            Err(_) => Err(TokenError::Malformed { status, what: body_kind(content_type, body) }),
        };
    }
    let raw: RawSuccess = serde_json::from_slice(body).map_err(|e| {
        if let Ok(err) = serde_json::from_slice::<RawError>(body) {
            return TokenError::Rejected { status, error: err.error, description: err.error_description };
        }
        TokenError::Malformed {
            status,
            what: if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
                format!("JSON that is not a token response ({})", redact_serde(&e))
            } else {
                body_kind(content_type, body)
            },
        }
    })?;
    if raw.access_token.is_empty() {
        return Err(TokenError::Malformed { status, what: "an empty access_token".into() });
    }
    Ok(TokenSet {
        access_token: AccessToken::new(raw.access_token),
        token_type: raw.token_type.unwrap_or_else(|| "Bearer".into()),
        expires_in: parse_lifetime(raw.expires_in.as_ref()),
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()).map(RefreshToken::new),
        id_token: raw.id_token.filter(|t| !t.is_empty()).map(IdToken::new),
        scope: raw.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()),
    })
}

/// `expires_in` as a positive number of seconds; 0, missing, negative or nonsense mean "unknown".
/// Some servers send it as a string.
fn parse_lifetime(v: Option<&serde_json::Value>) -> Option<u64> {
    let secs = match v? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 1.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    (secs > 0).then_some(secs)
}

fn body_kind(content_type: &str, body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(64)]).to_ascii_lowercase();
    if head.contains("<html") || head.contains("<!doctype") || content_type.contains("html") {
        "an HTML page instead of JSON".into()
    } else if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "JSON without an 'error' field".into()
    } else {
        format!("a body that is not JSON (content type '{content_type}')")
    }
}

/// serde's message, which names the field but never echoes string values.
fn redact_serde(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.find(" at line") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_success_response() {
        let t = parse_response(
            200,
            "application/json",
            br#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"a b","x":1}"#,
        )
        .expect("ok");
        assert_eq!(t.access_token.secret(), "at");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.refresh_token.as_ref().map(RefreshToken::secret), Some("rt"));
        assert_eq!(t.scope, Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn zero_missing_or_odd_lifetimes_are_unknown() {
        for body in [
            r#"{"access_token":"a","expires_in":0}"#,
            r#"{"access_token":"a"}"#,
            r#"{"access_token":"a","expires_in":-5}"#,
            r#"{"access_token":"a","expires_in":null}"#,
        ] {
            assert_eq!(parse_response(200, "application/json", body.as_bytes()).expect("ok").expires_in, None, "{body}");
        }
        let t = parse_response(200, "application/json", br#"{"access_token":"a","expires_in":"120"}"#).expect("ok");
        assert_eq!(t.expires_in, Some(120));
    }

    #[test]
    fn oauth_errors_are_rejections_and_sorted() {
        let e = parse_response(400, "application/json", br#"{"error":"invalid_grant","error_description":"used"}"#).unwrap_err();
        assert!(matches!(&e, TokenError::Rejected { error, .. } if error == "invalid_grant"));
        assert!(!e.is_transient());
        let e = parse_response(503, "application/json", br#"{"error":"temporarily_unavailable"}"#).unwrap_err();
        assert!(e.is_transient());
    }

    #[test]
    fn html_empty_and_garbage_bodies_are_malformed_without_echoing_them() {
        let e = parse_response(500, "text/html", b"<html><body>Oops secret</body></html>").unwrap_err();
        assert!(e.to_string().contains("HTML page"), "{e}");
        assert!(!e.to_string().contains("secret"));
        let e = parse_response(200, "application/json", b"").unwrap_err();
        assert!(e.to_string().contains("empty body"));
        let e = parse_response(200, "application/json", br#"{"access_token": 5, "refresh_token":"rt_secret"}"#).unwrap_err();
        assert!(!e.to_string().contains("rt_secret"), "{e}");
        let e = parse_response(200, "text/plain", b"access_token=abc").unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{e}");
    }
}
