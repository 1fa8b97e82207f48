//! The provider catalogue: what the app knows about each authorization server it can link to.
//!
//! A [`Provider`] is plain data describing a provider's dialect of OAuth 2.0 (how the client
//! authenticates, how token requests are encoded, how the access token is presented to the API, whether
//! refresh exists, whether URLs carry a tenant). The protocol code in [`crate::oauth`] reads it.
//! The catalogue is the built-in providers ([`builtin`]), the demo provider when
//! `ACCOUNT_LINKER_DEMO_URL` names one, and the user's `providers.toml` ([`config`]).

pub mod builtin;
pub mod config;
pub mod discovery;
pub mod template;
pub mod tenant;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::oauth::redirect::{RedirectUri, RedirectUriError};
use template::{UrlError, UrlTemplate};
use tenant::TenantRule;

/// Environment variable naming the base URL of a running demo provider.
pub const DEMO_URL_ENV: &str = "ACCOUNT_LINKER_DEMO_URL";

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A public client: `client_id` in the body, no secret.
    None,
    /// `client_id` and `client_secret` in the request body.
    Body,
    /// HTTP Basic with `client_id:client_secret`.
    Basic,
}

/// How token requests are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEncoding {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    Form,
    /// `application/json` (Auth0, Youthweb, Workfront's examples).
    Json,
}

/// How the access token is sent to the provider's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPresentation {
    /// Header name, e.g. `Authorization` or `sessionID`.
    pub header: String,
    /// Text before the token, e.g. `Bearer ` (with its space) or nothing.
    pub prefix: String,
}

impl TokenPresentation {
    /// `Authorization: Bearer <token>` (RFC 6750).
    pub fn bearer() -> Self {
        Self { header: "Authorization".into(), prefix: "Bearer ".into() }
    }
}

/// A client secret from the configuration; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// One authorization server, its dialect, and the app's client registration at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Stable id, used in redirect paths and account records.
    pub id: String,
    /// Name shown to the user.
    pub name: String,
    /// The authorization endpoint (may contain `{tenant}`).
    pub authorize_url: UrlTemplate,
    /// The token endpoint (may contain `{tenant}`).
    pub token_url: UrlTemplate,
    /// Who the user is, where the provider has such an endpoint.
    pub userinfo_url: Option<UrlTemplate>,
    /// RFC 7009 revocation endpoint, where the provider offers one.
    pub revocation_url: Option<UrlTemplate>,
    /// A URL that answers a request carrying a valid access token, for "test API call".
    pub test_url: Option<UrlTemplate>,
    /// The client id the provider issued; `None` until the user configures one.
    pub client_id: Option<String>,
    /// The client secret, for confidential clients.
    pub client_secret: Option<ClientSecret>,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// How token requests are encoded.
    pub token_encoding: TokenEncoding,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// Extra authorize parameters (e.g. Auth0's `audience`).
    pub authorize_params: BTreeMap<String, String>,
    /// Whether the provider accepts PKCE (S256).
    pub pkce: bool,
    /// Whether the provider offers the refresh grant.
    pub refresh: bool,
    /// How the access token is presented to the API.
    pub presentation: TokenPresentation,
    /// `Accept` header for API requests, where the API needs one (Youthweb's JSON:API).
    pub api_accept: Option<String>,
    /// Redirect parameters besides `code`/`state` kept with the account (Workfront's `domain`, `lane`).
    pub keep_redirect_params: Vec<String>,
    /// Token response fields kept with the account (Workfront's `wid`).
    pub keep_token_fields: Vec<String>,
    /// How the tenant is asked for and checked, for providers whose URLs carry one.
    pub tenant: Option<TenantRule>,
    /// OpenID Connect issuer: endpoints not given are discovered from it at first use.
    pub issuer: Option<Url>,
    /// A redirect URI registered at the provider other than the app's default for it.
    pub redirect_uri: Option<RedirectUri>,
    /// Hosts besides the authorize and token hosts that the login window may show (identity
    /// redirects, e.g. a separate sign-in host).
    pub login_hosts: Vec<String>,
    /// One of [`ICONS`], shown beside the provider's name; `None` picks one by id (see [`Provider::icon_name`]).
    pub icon: Option<String>,
    /// Where the user signs in: the app's login window, or the default browser.
    pub login: LoginMode,
}

/// Where a provider's sign-in page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LoginMode {
    /// In the app's own login window (the redirect is captured there).
    #[default]
    Embedded,
    /// In the user's default browser (the redirect comes back through the app's URI scheme). For
    /// providers that refuse embedded browsers, or company sign-ins that need the real one.
    Browser,
}

impl LoginMode {
    /// The mode as written in `providers.toml`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "embedded" => Some(Self::Embedded),
            "browser" => Some(Self::Browser),
            _ => None,
        }
    }
}

/// The icons the UI ships (`ui/icons/<name>.svg`): the seed providers', the demo's, a generic OpenID
/// Connect one and a generic fallback. No remote images: the main window's CSP forbids them.
pub const ICONS: &[&str] = &["zaehlerfreunde", "youthweb", "workfront", "demo", "openid", "generic"];

/// The user-visible part of a provider, sent to the UI (no secrets).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    /// Provider id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Host of the authorization endpoint (or the template), shown so the user knows where they sign in.
    pub authorize_host: String,
    /// The redirect URI to register at the provider (without tenant).
    pub redirect_uri: String,
    /// What the tenant is called, when the provider needs one.
    pub tenant_label: Option<String>,
    /// Why the provider can't be linked yet (e.g. no client id configured).
    pub not_ready: Option<String>,
    /// Whether the provider offers the refresh grant.
    pub refresh: bool,
    /// Its icon, one of [`ICONS`].
    pub icon: &'static str,
    /// Where the user signs in.
    pub login: LoginMode,
}

/// Why a provider can't be used for a flow right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No client id configured.
    #[error("no client_id is configured for '{0}': ask the provider for one and add it to providers.toml")]
    NoClientId(String),
    /// The client authenticates with a secret but none is configured.
    #[error("no client_secret is configured for '{0}': add the secret the provider issued to providers.toml")]
    NoClientSecret(String),
    /// The tenant was refused.
    #[error(transparent)]
    Tenant(#[from] tenant::TenantError),
    /// A URL could not be built.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The provider has no URL to test a token against.
    #[error("{0} has no test_url configured: add one to providers.toml to test its API")]
    NoTestUrl(String),
    /// OpenID Connect discovery failed.
    #[error(transparent)]
    Discovery(#[from] discovery::DiscoveryError),
    /// The redirect URI could not be built.
    #[error(transparent)]
    Redirect(#[from] RedirectUriError),
}

/// A provider's URLs for one tenant (or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The tenant host, for providers that have one.
    pub tenant: Option<String>,
    /// Authorization endpoint.
    pub authorize: Url,
    /// Token endpoint.
    pub token: Url,
    /// Userinfo endpoint.
    pub userinfo: Option<Url>,
    /// Revocation endpoint.
    pub revocation: Option<Url>,
    /// API test URL.
    pub test: Option<Url>,
    /// The redirect URI for this provider and tenant.
    pub redirect_uri: RedirectUri,
}

impl Provider {
    /// A provider with the RFC 6749 defaults: public client, form-encoded token requests, PKCE, refresh,
    /// Bearer tokens, no tenant. Built-in and configured providers start from this and change what differs.
    pub fn base(id: &str, name: &str, authorize_url: UrlTemplate, token_url: UrlTemplate) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            authorize_url,
            token_url,
            userinfo_url: None,
            revocation_url: None,
            test_url: None,
            client_id: None,
            client_secret: None,
            client_auth: ClientAuth::None,
            token_encoding: TokenEncoding::Form,
            scopes: Vec::new(),
            authorize_params: BTreeMap::new(),
            pkce: true,
            refresh: true,
            presentation: TokenPresentation::bearer(),
            api_accept: None,
            keep_redirect_params: Vec::new(),
            keep_token_fields: Vec::new(),
            tenant: None,
            issuer: None,
            redirect_uri: None,
            login_hosts: Vec::new(),
            icon: None,
            login: LoginMode::Embedded,
        }
    }

    /// Why this provider can't start a flow, if it can't.
    pub fn readiness(&self) -> Result<&str, ProviderError> {
        let client_id = self.client_id.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| ProviderError::NoClientId(self.id.clone()))?;
        if self.client_auth != ClientAuth::None && self.client_secret.is_none() {
            return Err(ProviderError::NoClientSecret(self.id.clone()));
        }
        Ok(client_id)
    }

    /// The URLs for `tenant` (as typed by the user; normalised and checked here).
    pub fn endpoints(&self, tenant: Option<&str>) -> Result<Endpoints, ProviderError> {
        let tenant = match (&self.tenant, tenant) {
            (Some(rule), Some(t)) => Some(rule.normalise(t)?),
            (Some(rule), None) => Some(rule.normalise("")?),
            (None, _) => None,
        };
        let t = tenant.as_deref();
        let opt = |u: &Option<UrlTemplate>| u.as_ref().map(|u| u.resolve(t)).transpose();
        Ok(Endpoints {
            authorize: self.authorize_url.resolve(t)?,
            token: self.token_url.resolve(t)?,
            userinfo: opt(&self.userinfo_url)?,
            revocation: opt(&self.revocation_url)?,
            test: opt(&self.test_url)?,
            redirect_uri: match &self.redirect_uri {
                Some(fixed) => fixed.clone(),
                None => RedirectUri::for_provider(&self.id, t)?,
            },
            tenant,
        })
    }

    /// This provider's redirect URI without a tenant (what the UI shows for registration).
    pub fn redirect_uri(&self) -> Result<RedirectUri, RedirectUriError> {
        match &self.redirect_uri {
            Some(fixed) => Ok(fixed.clone()),
            None => RedirectUri::for_provider(&self.id, None),
        }
    }

    /// Whether endpoints must still be discovered from the issuer.
    pub fn needs_discovery(&self) -> bool {
        self.issuer.is_some() && (self.authorize_url.as_str().is_empty() || self.token_url.as_str().is_empty())
    }

    /// What the UI shows of this provider.
    pub fn view(&self) -> ProviderView {
        let shown = match (&self.issuer, self.authorize_url.as_str()) {
            (Some(issuer), "") => issuer.to_string(),
            (_, url) => url.replace(template::TENANT, "tenant"),
        };
        let host = Url::parse(&shown)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        ProviderView {
            id: self.id.clone(),
            name: self.name.clone(),
            authorize_host: if self.authorize_url.needs_tenant() && host == "tenant" { "—".into() } else { host },
            redirect_uri: self.redirect_uri().map(|r| r.to_string()).unwrap_or_default(),
            tenant_label: self.tenant.as_ref().map(|t| t.label.clone()),
            not_ready: self.readiness().err().map(|e| e.to_string()),
            refresh: self.refresh,
            icon: self.icon_name(),
            login: self.login,
        }
    }

    /// The icon to show: the configured one, else the one named like the provider's id, else the OpenID
    /// Connect icon for a provider given by its issuer, else the generic one.
    pub fn icon_name(&self) -> &'static str {
        let by_name = |name: &str| ICONS.iter().copied().find(|i| *i == name);
        self.icon
            .as_deref()
            .and_then(by_name)
            .or_else(|| by_name(&self.id))
            .unwrap_or(if self.issuer.is_some() { "openid" } else { "generic" })
    }
}

/// All providers the app can link, and what went wrong reading the user's configuration.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    providers: Vec<Provider>,
    problems: Vec<config::ConfigError>,
}

impl Catalogue {
    /// A catalogue of exactly these providers.
    pub fn new(providers: Vec<Provider>) -> Self {
        Self { providers, problems: Vec::new() }
    }

    /// Built-ins, the demo provider (if `ACCOUNT_LINKER_DEMO_URL` is set) and `providers.toml` in
    /// `config_dir`. Problems are collected, never fatal: valid providers stay usable.
    pub fn load(config_dir: &Path) -> Self {
        let mut providers = builtin::all();
        let mut problems = Vec::new();
        if let Ok(value) = std::env::var(DEMO_URL_ENV) {
            match builtin::demo_from(&value) {
                Ok(p) => providers.insert(0, p),
                Err(e) => problems.push(e),
            }
        }
        let file = config_dir.join(config::FILE_NAME);
        match std::fs::read_to_string(&file) {
            Ok(text) => problems.extend(config::apply(&file, &text, &mut providers)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(config::ConfigError::file(&file, format!("could not be read: {e}"))),
        }
        Self { providers, problems }
    }

    /// The provider with this id.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Every provider, in display order.
    pub fn all(&self) -> &[Provider] {
        &self.providers
    }

    /// Problems found in the configuration, for the UI and the CLI.
    pub fn problems(&self) -> &[config::ConfigError] {
        &self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_icon_is_shipped_and_each_provider_gets_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/icons");
        for name in ICONS {
            let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap_or_else(|e| panic!("{name}.svg: {e}"));
            // Self-contained: no links to other files or hosts (the CSP would block them anyway).
            assert!(svg.trim_start().starts_with("<svg") && !svg.contains("href"), "{name}.svg");
        }
        let icons: Vec<_> = builtin::all().iter().map(Provider::icon_name).collect();
        assert_eq!(icons, ["zaehlerfreunde", "youthweb", "workfront"]);
        let mut custom = Provider::base("my-idp", "My IdP", UrlTemplate::parse("https://idp.example.com/a").unwrap(), UrlTemplate::parse("https://idp.example.com/t").unwrap());
        assert_eq!(custom.icon_name(), "generic");
        custom.issuer = Some(Url::parse("https://idp.example.com").unwrap());
        assert_eq!(custom.icon_name(), "openid");
        custom.icon = Some("youthweb".into());
        assert_eq!(custom.icon_name(), "youthweb");
    }

    #[test]
    fn workfront_endpoints_follow_the_tenant_and_refuse_look_alikes() {
        let mut wf = builtin::workfront();
        wf.client_id = Some("id".into());
        let e = wf.endpoints(Some("acme")).expect("endpoints");
        assert_eq!(e.tenant.as_deref(), Some("acme.my.workfront.com"));
        assert_eq!(e.authorize.as_str(), "https://acme.my.workfront.com/integrations/oauth2/authorize");
        assert_eq!(e.token.as_str(), "https://acme.my.workfront.com/integrations/oauth2/api/v1/token");
        assert_eq!(e.redirect_uri.as_str(), "org.accountlinker.app:/oauth2/workfront/acme.my.workfront.com");
        assert!(matches!(wf.endpoints(Some("acme.my.workfront.com.evil.example")), Err(ProviderError::Tenant(_))));
        assert!(matches!(wf.endpoints(None), Err(ProviderError::Tenant(_))));
    }

    #[test]
    fn readiness_names_what_is_missing() {
        let zf = builtin::zaehlerfreunde();
        assert_eq!(zf.readiness(), Err(ProviderError::NoClientId("zaehlerfreunde".into())));
        let mut yw = builtin::youthweb();
        yw.client_id = Some("abc".into());
        assert_eq!(yw.readiness(), Err(ProviderError::NoClientSecret("youthweb".into())));
        yw.client_secret = Some(ClientSecret::new("s"));
        assert_eq!(yw.readiness(), Ok("abc"));
        assert!(yw.view().not_ready.is_none());
        assert!(!format!("{yw:?}").contains("\"s\""));
    }
}
