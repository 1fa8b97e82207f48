//! Token requests (RFC 6749 §4.1.3 and §6) and the parsing of their answers.
//!
//! Errors are split by what the caller does next (as oauth2-rs does): the server said no
//! ([`TokenError::Rejected`]), it could not be reached ([`TokenError::Transport`]), or its answer made no
//! sense ([`TokenError::Malformed`]). Redirects are never followed on the token endpoint.

use std::time::Duration;

use serde::Deserialize;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use url::Url;

use super::flow::CodeGrant;
use super::secret::{AccessToken, IdToken, RefreshToken};
use crate::providers::{ClientAuth, Provider, ProviderError, TokenEncoding};

/// How long a token request may take in all, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client for token requests: no redirects, bounded time, identifies the app.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    http_client_with_timeout(DEFAULT_TIMEOUT)
}

/// [`http_client`] with another overall timeout (a hanging token endpoint fails after `timeout`).
pub fn http_client_with_timeout(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
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
    /// Fields beyond RFC 6749 (e.g. Workfront's `wid`); kept in memory, filtered before storing.
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Why a token request failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider answered with an OAuth error.
    #[error("the provider refused the token request (HTTP {status}): {error}{}", .description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The `error` code, e.g. `invalid_grant`.
        error: String,
        /// `error_description`, kept for diagnostics.
        description: Option<String>,
        /// How long the server asked the client to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
    },
    /// The token endpoint could not be reached or did not answer in time.
    #[error("the token endpoint could not be reached: {0}")]
    Transport(String),
    /// No request was sent: the provider lacks the client credentials its dialect needs.
    #[error(transparent)]
    Unconfigured(#[from] ProviderError),
    /// The answer was not a token response.
    #[error("the token endpoint answered HTTP {status} with {what}")]
    Malformed {
        /// HTTP status.
        status: u16,
        /// What was wrong, without the body (it might hold tokens).
        what: String,
        /// How long the server asked the client to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
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
            TokenError::Unconfigured(_) => false,
        }
    }

    /// How long the server asked the client to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TokenError::Rejected { retry_after, .. } | TokenError::Malformed { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the provider refused the grant for good (`invalid_grant`: revoked, expired or reused).
    pub fn is_grant_refused(&self) -> bool {
        matches!(self, TokenError::Rejected { error, .. } if error == "invalid_grant" || error == "unauthorized_client")
    }

    fn with_retry_after(mut self, value: Option<Duration>) -> Self {
        if let TokenError::Rejected { retry_after, .. } | TokenError::Malformed { retry_after, .. } = &mut self {
            *retry_after = value;
        }
        self
    }
}

/// Exchanges an authorization code for tokens at `token_url`, in the provider's dialect, with the
/// PKCE verifier where one was used.
pub async fn exchange_code(http: &reqwest::Client, provider: &Provider, token_url: &Url, grant: CodeGrant) -> Result<TokenSet, TokenError> {
    let mut params: Vec<(&str, String)> = vec![
        ("grant_type", "authorization_code".into()),
        ("code", grant.code.secret().to_owned()),
        ("redirect_uri", grant.redirect_uri.to_string()),
    ];
    if let Some(v) = grant.verifier {
        params.push(("code_verifier", v.into_secret()));
    }
    post(http, provider, token_url, params).await
}

/// Uses a refresh token (RFC 6749 §6) at `token_url`, in the provider's dialect.
pub async fn refresh(http: &reqwest::Client, provider: &Provider, token_url: &Url, token: &RefreshToken) -> Result<TokenSet, TokenError> {
    let params: Vec<(&str, String)> =
        vec![("grant_type", "refresh_token".into()), ("refresh_token", token.secret().to_owned())];
    post(http, provider, token_url, params).await
}

/// Builds a token request in the provider's dialect: client authentication (public client, secret in
/// the body, or HTTP Basic) and encoding (form or JSON).
pub fn build_request(
    http: &reqwest::Client,
    provider: &Provider,
    token_url: &Url,
    mut params: Vec<(&str, String)>,
) -> Result<reqwest::RequestBuilder, TokenError> {
    let client_id = provider.readiness()?.to_owned();
    let secret = || {
        provider.client_secret.as_ref().map(|s| s.secret().to_owned()).ok_or_else(|| ProviderError::NoClientSecret(provider.id.clone()))
    };
    let mut request = http.post(token_url.clone()).header(reqwest::header::ACCEPT, "application/json");
    match provider.client_auth {
        ClientAuth::None => params.push(("client_id", client_id)),
        ClientAuth::Body => {
            params.push(("client_id", client_id));
            params.push(("client_secret", secret()?));
        }
        ClientAuth::Basic => {
            let pair = STANDARD.encode(format!("{client_id}:{}", secret()?));
            request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {pair}"));
        }
    }
    Ok(match provider.token_encoding {
        TokenEncoding::Form => request.form(&params),
        TokenEncoding::Json => {
            let body: serde_json::Map<String, serde_json::Value> =
                params.into_iter().map(|(k, v)| (k.to_owned(), serde_json::Value::String(v))).collect();
            request.json(&body)
        }
    })
}

async fn post(http: &reqwest::Client, provider: &Provider, token_url: &Url, params: Vec<(&str, String)>) -> Result<TokenSet, TokenError> {
    let response = build_request(http, provider, token_url, params)?
        .send()
        .await
        .map_err(|e| TokenError::Transport(describe_transport(&e)))?;
    let status = response.status().as_u16();
    let content_type = content_type(&response);
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::refresh::schedule::parse_retry_after(v, crate::refresh::schedule::wall_now()));
    let body = response.bytes().await.map_err(|e| TokenError::Transport(describe_transport(&e)))?;
    parse_response(status, &content_type, &body).map_err(|e| e.with_retry_after(retry_after))
}

/// The response's `Content-Type`, or "" when absent or not text.
pub fn content_type(response: &reqwest::Response) -> String {
    response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
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
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, serde_json::Value>,
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
        return Err(TokenError::Malformed { status, what: "an empty body".into(), retry_after: None });
    }
    if !(200..300).contains(&status) {
        return match serde_json::from_slice::<RawError>(body) {
            Ok(e) => Err(TokenError::Rejected { status, error: e.error, description: e.error_description, retry_after: None }),
            Err(_) => Err(TokenError::Malformed { status, what: body_kind(content_type, body), retry_after: None }),
        };
    }
    let raw: RawSuccess = serde_json::from_slice(body).map_err(|e| {
        if let Ok(err) = serde_json::from_slice::<RawError>(body) {
            return TokenError::Rejected { status, error: err.error, description: err.error_description, retry_after: None };
        }
        TokenError::Malformed {
            status,
            what: if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
                format!("JSON that is not a token response ({})", redact_serde(&e))
            } else {
                body_kind(content_type, body)
            },
            retry_after: None,
        }
    })?;
    if raw.access_token.is_empty() {
        return Err(TokenError::Malformed { status, what: "an empty access_token".into(), retry_after: None });
    }
    Ok(TokenSet {
        access_token: AccessToken::new(raw.access_token),
        token_type: raw.token_type.unwrap_or_else(|| "Bearer".into()),
        expires_in: parse_lifetime(raw.expires_in.as_ref()),
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()).map(RefreshToken::new),
        id_token: raw.id_token.filter(|t| !t.is_empty()).map(IdToken::new),
        scope: raw.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()),
        extra: raw.extra,
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
    fn workfront_session_id_response_keeps_wid_and_unknown_lifetime() {
        let t = parse_response(
            200,
            "application/json",
            br#"{"token_type":"sessionID","access_token":"s","refresh_token":"r","expires_in":0,"wid":"w-1"}"#,
        )
        .expect("ok");
        assert_eq!(t.token_type, "sessionID");
        assert_eq!(t.expires_in, None);
        assert_eq!(t.extra.get("wid").and_then(|v| v.as_str()), Some("w-1"));
    }

    fn body_of(req: reqwest::Request) -> (Option<String>, Option<String>, String) {
        let header = |name: reqwest::header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (ct, auth) = (header(reqwest::header::CONTENT_TYPE), header(reqwest::header::AUTHORIZATION));
        let body = req.body().and_then(|b| b.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        (ct, auth, body)
    }

    #[test]
    fn each_seed_dialect_builds_its_documented_request() {
        let http = reqwest::Client::new();
        let url = Url::parse("https://token.example/t").expect("url");
        let params = || vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", "rt".to_owned())];

        let mut zf = crate::providers::builtin::zaehlerfreunde();
        zf.client_id = Some("zf-id".into());
        let (ct, auth, body) = body_of(build_request(&http, &zf, &url, params()).expect("req").build().expect("build"));
        assert_eq!(ct.as_deref(), Some("application/json"));
        assert_eq!(auth, None);
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json, serde_json::json!({"grant_type":"refresh_token","refresh_token":"rt","client_id":"zf-id"}));

        let mut yw = crate::providers::builtin::youthweb();
        yw.client_id = Some("yw-id".into());
        yw.client_secret = Some(crate::providers::ClientSecret::new("yw-secret"));
        let (ct, _, body) = body_of(build_request(&http, &yw, &url, params()).expect("req").build().expect("build"));
        assert_eq!(ct.as_deref(), Some("application/json"));
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(json["client_secret"], "yw-secret");

        let mut wf = crate::providers::builtin::workfront();
        wf.client_id = Some("wf-id".into());
        wf.client_secret = Some(crate::providers::ClientSecret::new("wf-secret"));
        let (ct, auth, body) = body_of(build_request(&http, &wf, &url, params()).expect("req").build().expect("build"));
        assert_eq!(ct.as_deref(), Some("application/json"));
        assert_eq!(auth.as_deref(), Some(format!("Basic {}", STANDARD.encode("wf-id:wf-secret")).as_str()));
        assert!(!body.contains("wf-secret") && !body.contains("client_id"), "{body}");

        wf.client_auth = ClientAuth::Body;
        wf.token_encoding = TokenEncoding::Form;
        let (ct, auth, body) = body_of(build_request(&http, &wf, &url, params()).expect("req").build().expect("build"));
        assert_eq!(ct.as_deref(), Some("application/x-www-form-urlencoded"));
        assert_eq!(auth, None);
        assert_eq!(body, "grant_type=refresh_token&refresh_token=rt&client_id=wf-id&client_secret=wf-secret");
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
