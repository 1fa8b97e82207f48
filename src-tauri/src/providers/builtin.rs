//! The built-in providers, with every quirk of their public documentation written down as data.
//!
//! Client ids and secrets are issued per app by each provider, so they come from `providers.toml`.

use std::collections::BTreeMap;

use url::Url;

use super::config::ConfigError;
use super::template::{is_loopback, UrlTemplate};
use super::tenant::TenantRule;
use super::{ClientAuth, Provider, TokenEncoding, TokenPresentation, DEMO_URL_ENV};

fn url(text: &str) -> UrlTemplate {
    match UrlTemplate::parse(text) {
        Ok(t) => t,
        // The built-in URLs are constants checked by the unit tests below.
        Err(e) => panic!("built-in URL {text} is invalid: {e}"),
    }
}

/// The built-in providers in display order.
pub fn all() -> Vec<Provider> {
    vec![zaehlerfreunde(), youthweb(), workfront()]
}

/// Zählerfreunde: an Auth0 tenant. The authorize host (`auth.prod…`) and the token host (`…eu.auth0.com`)
/// differ; `audience` selects the API; public client (no secret); JSON token requests; refresh tokens
/// (rotating) for `offline_access`; Auth0 supports PKCE and RFC 7009 revocation.
pub fn zaehlerfreunde() -> Provider {
    Provider {
        id: "zaehlerfreunde".into(),
        name: "Zählerfreunde".into(),
        authorize_url: url("https://auth.prod.zaehlerfreunde.com/authorize"),
        token_url: url("https://zaehlerfreunde-prod.eu.auth0.com/oauth/token"),
        userinfo_url: Some(url("https://auth.prod.zaehlerfreunde.com/userinfo")),
        revocation_url: Some(url("https://zaehlerfreunde-prod.eu.auth0.com/oauth/revoke")),
        test_url: Some(url("https://auth.prod.zaehlerfreunde.com/userinfo")),
        client_id: None,
        client_secret: None,
        client_auth: ClientAuth::None,
        token_encoding: TokenEncoding::Json,
        scopes: ["openid", "profile", "email", "offline_access"].map(String::from).to_vec(),
        authorize_params: BTreeMap::from([("audience".into(), "https://api.prod.zaehlerfreunde.com".into())]),
        pkce: true,
        refresh: true,
        presentation: TokenPresentation::bearer(),
        api_accept: None,
        keep_redirect_params: Vec::new(),
        keep_token_fields: Vec::new(),
        tenant: None,
        issuer: None,
    }
}

/// Youthweb: `/auth/authorize` and `/auth/access_token`; `state`; JSON token request with `client_id` and
/// `client_secret` in the body; 1-hour tokens; the refresh grant is not offered yet (the user reconnects);
/// the API wants `Accept: application/vnd.api+json`.
pub fn youthweb() -> Provider {
    Provider {
        id: "youthweb".into(),
        name: "Youthweb".into(),
        authorize_url: url("https://youthweb.net/auth/authorize"),
        token_url: url("https://youthweb.net/auth/access_token"),
        userinfo_url: None,
        revocation_url: None,
        test_url: None,
        client_id: None,
        client_secret: None,
        client_auth: ClientAuth::Body,
        token_encoding: TokenEncoding::Json,
        scopes: vec!["user:read".into()],
        authorize_params: BTreeMap::new(),
        pkce: false,
        refresh: false,
        presentation: TokenPresentation::bearer(),
        api_accept: Some("application/vnd.api+json".into()),
        keep_redirect_params: Vec::new(),
        keep_token_fields: Vec::new(),
        tenant: None,
        issuer: None,
    }
}

/// Adobe Workfront: one host per organization (the tenant); client auth by HTTP Basic with a JSON body;
/// `token_type: sessionID` sent as a `sessionID:` header; the redirect carries `domain` and `lane`; the
/// code lives 2 minutes; `expires_in: 0` (lifetime unknown); `wid` kept; refresh rotates the refresh token.
pub fn workfront() -> Provider {
    Provider {
        id: "workfront".into(),
        name: "Adobe Workfront".into(),
        authorize_url: url("https://{tenant}/integrations/oauth2/authorize"),
        token_url: url("https://{tenant}/integrations/oauth2/api/v1/token"),
        userinfo_url: None,
        revocation_url: None,
        test_url: Some(url("https://{tenant}/attask/api/v14.0/proj/search")),
        client_id: None,
        client_secret: None,
        client_auth: ClientAuth::Basic,
        token_encoding: TokenEncoding::Json,
        scopes: Vec::new(),
        authorize_params: BTreeMap::new(),
        pkce: false,
        refresh: true,
        presentation: TokenPresentation { header: "sessionID".into(), prefix: String::new() },
        api_accept: None,
        keep_redirect_params: vec!["domain".into(), "lane".into()],
        keep_token_fields: vec!["wid".into()],
        tenant: Some(TenantRule {
            label: "Organization host".into(),
            hosts: vec!["*.*.workfront.com".into()],
            bare: Some("{tenant}.my.workfront.com".into()),
        }),
        issuer: None,
    }
}

/// The project's own demo provider served at `base` (a public client with PKCE and rotating refresh).
pub fn demo(base: &Url) -> Result<Provider, url::ParseError> {
    let at = |path: &str| base.join(path).map(|u| UrlTemplate::from_url(&u));
    Ok(Provider {
        id: "demo".into(),
        name: "Demo Provider".into(),
        authorize_url: at("authorize")?,
        token_url: at("token")?,
        userinfo_url: Some(at("userinfo")?),
        revocation_url: Some(at("revoke")?),
        test_url: Some(at("userinfo")?),
        client_id: Some("account-linker-demo".into()),
        client_secret: None,
        client_auth: ClientAuth::None,
        token_encoding: TokenEncoding::Form,
        scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
        authorize_params: BTreeMap::new(),
        pkce: true,
        refresh: true,
        presentation: TokenPresentation::bearer(),
        api_accept: None,
        keep_redirect_params: Vec::new(),
        keep_token_fields: Vec::new(),
        tenant: None,
        issuer: None,
    })
}

/// The demo provider from the value of `ACCOUNT_LINKER_DEMO_URL` (loopback `http://` only).
pub fn demo_from(value: &str) -> Result<Provider, ConfigError> {
    let bad = |reason: &str| ConfigError::env(DEMO_URL_ENV, format!("{value:?} is not usable: {reason}"));
    let mut base = Url::parse(value).map_err(|e| bad(&e.to_string()))?;
    if base.scheme() != "http" || !is_loopback(&base) {
        return Err(bad("the demo provider must be http:// on a loopback address"));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    demo(&base).map_err(|e| bad(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_urls_are_valid_and_ids_unique() {
        let all = all();
        let mut ids: Vec<_> = all.iter().map(|p| p.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 3);
        for p in &all {
            assert!(p.redirect_uri().is_ok(), "{}", p.id);
        }
    }

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
