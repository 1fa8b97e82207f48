//! OpenID Connect Discovery: a provider given by its `issuer` alone gets its endpoints and abilities from
//! `{issuer}/.well-known/openid-configuration`. The document's `issuer` must equal the configured one
//! exactly (OIDC Discovery §4.3), so a document can't redirect the app to another server's endpoints.

use serde::Deserialize;
use url::Url;

use super::template::UrlTemplate;
use super::{ClientAuth, Provider};

/// Why discovery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// The document could not be fetched.
    #[error("could not fetch {url}: {reason}")]
    Fetch {
        /// Where it was looked for.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The document is not a discovery document.
    #[error("{url} is not an OpenID Connect discovery document: {reason}")]
    Invalid {
        /// Where it came from.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The document names another issuer.
    #[error("the discovery document names the issuer '{found}', not '{expected}': refused")]
    IssuerMismatch {
        /// Configured issuer.
        expected: String,
        /// Issuer in the document.
        found: String,
    },
}

#[derive(Deserialize)]
struct Document {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    grant_types_supported: Option<Vec<String>>,
}

/// The discovery document's URL for an issuer.
pub fn document_url(issuer: &Url) -> Result<Url, url::ParseError> {
    Url::parse(&format!("{}/.well-known/openid-configuration", issuer.as_str().trim_end_matches('/')))
}

/// Fills `provider`'s endpoints and abilities from its issuer's discovery document. Fields the user set
/// explicitly in `providers.toml` are kept.
pub async fn discover(http: &reqwest::Client, provider: &Provider, issuer: &Url) -> Result<Provider, DiscoveryError> {
    let url = document_url(issuer).map_err(|e| DiscoveryError::Invalid { url: issuer.to_string(), reason: e.to_string() })?;
    let fetch = |reason: String| DiscoveryError::Fetch { url: url.to_string(), reason };
    let response = http.get(url.clone()).send().await.map_err(|e| fetch(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fetch(format!("HTTP {}", response.status().as_u16())));
    }
    let body = response.bytes().await.map_err(|e| fetch(e.to_string()))?;
    apply(provider, issuer, &url, &body)
}

fn apply(provider: &Provider, issuer: &Url, url: &Url, body: &[u8]) -> Result<Provider, DiscoveryError> {
    let invalid = |reason: String| DiscoveryError::Invalid { url: url.to_string(), reason };
    let doc: Document = serde_json::from_slice(body).map_err(|e| invalid(e.to_string()))?;
    if doc.issuer.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(DiscoveryError::IssuerMismatch { expected: issuer.to_string(), found: doc.issuer });
    }
    let endpoint = |name: &str, v: &str| UrlTemplate::parse(v).map_err(|e| invalid(format!("{name}: {e}")));
    let mut p = provider.clone();
    if p.authorize_url.as_str().is_empty() {
        p.authorize_url = endpoint("authorization_endpoint", &doc.authorization_endpoint)?;
    }
    if p.token_url.as_str().is_empty() {
        p.token_url = endpoint("token_endpoint", &doc.token_endpoint)?;
    }
    if p.userinfo_url.is_none() {
        p.userinfo_url = doc.userinfo_endpoint.as_deref().map(|u| endpoint("userinfo_endpoint", u)).transpose()?;
        if p.test_url.is_none() {
            p.test_url = p.userinfo_url.clone();
        }
    }
    if p.revocation_url.is_none() {
        p.revocation_url = doc.revocation_endpoint.as_deref().map(|u| endpoint("revocation_endpoint", u)).transpose()?;
    }
    if let Some(methods) = &doc.code_challenge_methods_supported {
        p.pkce = p.pkce && methods.iter().any(|m| m == "S256");
    }
    if p.client_secret.is_some() {
        if let Some(methods) = &doc.token_endpoint_auth_methods_supported {
            let has = |m: &str| methods.iter().any(|x| x == m);
            p.client_auth = if has("client_secret_basic") { ClientAuth::Basic } else if has("client_secret_post") { ClientAuth::Body } else { p.client_auth };
        }
    }
    if let Some(grants) = &doc.grant_types_supported {
        p.refresh = p.refresh && grants.iter().any(|g| g == "refresh_token");
    }
    if p.scopes.is_empty() {
        p.scopes = vec!["openid".into()];
        let supported = doc.scopes_supported.unwrap_or_default();
        for extra in ["profile", "email", "offline_access"] {
            if supported.iter().any(|s| s == extra) {
                p.scopes.push(extra.into());
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::config;

    fn custom() -> (Provider, Url) {
        let mut ps = Vec::new();
        let problems = config::apply(
            std::path::Path::new("p.toml"),
            "[[provider]]\nid = \"idp\"\nname = \"IdP\"\nissuer = \"https://idp.example/realms/a\"\nclient_id = \"c\"\n",
            &mut ps,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let p = ps.remove(0);
        let issuer = p.issuer.clone().expect("issuer");
        (p, issuer)
    }

    #[test]
    fn document_url_appends_to_the_issuer_path() {
        let (_, issuer) = custom();
        assert_eq!(document_url(&issuer).expect("url").as_str(), "https://idp.example/realms/a/.well-known/openid-configuration");
    }

    #[test]
    fn endpoints_and_abilities_come_from_the_document() {
        let (p, issuer) = custom();
        let doc = br#"{"issuer":"https://idp.example/realms/a","authorization_endpoint":"https://idp.example/realms/a/auth",
            "token_endpoint":"https://idp.example/realms/a/token","userinfo_endpoint":"https://idp.example/realms/a/me",
            "revocation_endpoint":"https://idp.example/realms/a/revoke","code_challenge_methods_supported":["plain","S256"],
            "scopes_supported":["openid","email","offline_access"],"grant_types_supported":["authorization_code","refresh_token"]}"#;
        let d = apply(&p, &issuer, &issuer, doc).expect("applied");
        assert_eq!(d.authorize_url.as_str(), "https://idp.example/realms/a/auth");
        assert_eq!(d.revocation_url.as_ref().map(UrlTemplate::as_str), Some("https://idp.example/realms/a/revoke"));
        assert_eq!(d.scopes, ["openid", "email", "offline_access"]);
        assert!(d.pkce && d.refresh);
    }

    #[test]
    fn another_issuer_or_insecure_endpoints_are_refused() {
        let (p, issuer) = custom();
        let doc = br#"{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a","token_endpoint":"https://evil.example/t"}"#;
        assert!(matches!(apply(&p, &issuer, &issuer, doc), Err(DiscoveryError::IssuerMismatch { .. })));
        let doc = br#"{"issuer":"https://idp.example/realms/a","authorization_endpoint":"http://idp.example/a","token_endpoint":"https://idp.example/t"}"#;
        assert!(matches!(apply(&p, &issuer, &issuer, doc), Err(DiscoveryError::Invalid { .. })));
        assert!(matches!(apply(&p, &issuer, &issuer, b"<html>"), Err(DiscoveryError::Invalid { .. })));
    }
}
