//! The provider catalogue: what the app knows about each authorization server it can link to.
//!
//! A [`Provider`] is plain data; the protocol code in [`crate::oauth`] reads it. The catalogue today holds
//! the local demo provider when `ACCOUNT_LINKER_DEMO_URL` names one (the README's run command starts it).

use serde::Serialize;
use url::Url;

use crate::oauth::redirect::{RedirectUri, RedirectUriError};

/// Environment variable naming the base URL of a running demo provider.
pub const DEMO_URL_ENV: &str = "ACCOUNT_LINKER_DEMO_URL";

/// One authorization server and the app's client registration at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Stable id, used in redirect paths and account records.
    pub id: String,
    /// Name shown to the user.
    pub name: String,
    /// The authorization endpoint.
    pub authorize_url: Url,
    /// The token endpoint.
    pub token_url: Url,
    /// The endpoint that tells who the user is, where the provider has one.
    pub userinfo_url: Option<Url>,
    /// The client id the provider issued to the app.
    pub client_id: String,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Whether the provider accepts PKCE (S256).
    pub pkce: bool,
}

/// The user-visible part of a provider, sent to the UI.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// Provider id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Host of the authorization endpoint, shown so the user knows where they will sign in.
    pub authorize_host: String,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
}

impl Provider {
    /// The built-in demo provider served at `base` (the project's own authorization server).
    pub fn demo(base: &Url) -> Result<Self, url::ParseError> {
        Ok(Self {
            id: "demo".into(),
            name: "Demo Provider".into(),
            authorize_url: base.join("authorize")?,
            token_url: base.join("token")?,
            userinfo_url: Some(base.join("userinfo")?),
            client_id: "account-linker-demo".into(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
            pkce: true,
        })
    }

    /// This provider's redirect URI.
    pub fn redirect_uri(&self) -> Result<RedirectUri, RedirectUriError> {
        RedirectUri::for_provider(&self.id, None)
    }

    /// What the UI shows of this provider.
    pub fn view(&self) -> ProviderView {
        ProviderView {
            id: self.id.clone(),
            name: self.name.clone(),
            authorize_host: self.authorize_url.host_str().unwrap_or_default().to_owned(),
            redirect_uri: self.redirect_uri().map(|r| r.to_string()).unwrap_or_default(),
        }
    }
}

/// All providers the app can link to.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    providers: Vec<Provider>,
}

/// Why the catalogue could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// `ACCOUNT_LINKER_DEMO_URL` is not a URL the app may use.
    #[error("{DEMO_URL_ENV}={value:?} is not usable: {reason}")]
    BadDemoUrl {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Catalogue {
    /// A catalogue of the given providers.
    pub fn new(providers: Vec<Provider>) -> Self {
        Self { providers }
    }

    /// The catalogue from the environment: the demo provider when `ACCOUNT_LINKER_DEMO_URL` is set.
    pub fn from_env() -> Result<Self, CatalogueError> {
        let mut providers = Vec::new();
        if let Ok(value) = std::env::var(DEMO_URL_ENV) {
            providers.push(demo_from(&value)?);
        }
        Ok(Self { providers })
    }

    /// The provider with this id.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Every provider, in display order.
    pub fn all(&self) -> &[Provider] {
        &self.providers
    }
}

fn demo_from(value: &str) -> Result<Provider, CatalogueError> {
    let bad = |reason: &str| CatalogueError::BadDemoUrl { value: value.to_owned(), reason: reason.to_owned() };
    let mut base = Url::parse(value).map_err(|e| bad(&e.to_string()))?;
    let loopback = matches!(base.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(base.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || base.host_str() == Some("localhost");
    if !loopback || base.scheme() != "http" {
        return Err(bad("the demo provider must be http:// on a loopback address"));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Provider::demo(&base).map_err(|e| bad(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_provider_endpoints_hang_off_the_base() {
        let p = demo_from("http://127.0.0.1:7000").expect("valid");
        assert_eq!(p.authorize_url.as_str(), "http://127.0.0.1:7000/authorize");
        assert_eq!(p.token_url.as_str(), "http://127.0.0.1:7000/token");
        assert_eq!(p.view().redirect_uri, "org.accountlinker.app:/oauth2/demo");
    }

    #[test]
    fn demo_provider_must_be_loopback_http() {
        assert!(demo_from("http://example.com/").is_err());
        assert!(demo_from("https://127.0.0.1/").is_err());
        assert!(demo_from("not a url").is_err());
    }
}
