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
        userinfo_url: Some(url("https://auth.prod.zaehlerfreunde.com/userinfo")),
        revocation_url: Some(url("https://zaehlerfreunde-prod.eu.auth0.com/oauth/revoke")),
        test_url: Some(url("https://auth.prod.zaehlerfreunde.com/userinfo")),
        token_encoding: TokenEncoding::Json,
        scopes: ["openid", "profile", "email", "offline_access"].map(String::from).to_vec(),
        authorize_params: BTreeMap::from([("audience".into(), "https://api.prod.zaehlerfreunde.com".into())]),
        ..Provider::base(
            "zaehlerfreunde",
            "Zählerfreunde",
            url("https://auth.prod.zaehlerfreunde.com/authorize"),
            url("https://zaehlerfreunde-prod.eu.auth0.com/oauth/token"),
        )
    }
}

/// Youthweb: `/auth/authorize` and `/auth/access_token`; `state`; JSON token request with `client_id` and
/// `client_secret` in the body; 1-hour tokens; the refresh grant is not offered yet (the user reconnects);
/// the API wants `Accept: application/vnd.api+json`.
pub fn youthweb() -> Provider {
    Provider {
        client_auth: ClientAuth::Body,
        token_encoding: TokenEncoding::Json,
        scopes: vec!["user:read".into()],
        pkce: false,
        refresh: false,
        api_accept: Some("application/vnd.api+json".into()),
        ..Provider::base("youthweb", "Youthweb", url("https://youthweb.net/auth/authorize"), url("https://youthweb.net/auth/access_token"))
    }
}

/// Adobe Workfront: one host per organization (the tenant); client auth by HTTP Basic with a JSON body;
/// `token_type: sessionID` sent as a `sessionID:` header; the redirect carries `domain` and `lane`; the
/// code lives 2 minutes; `expires_in: 0` (lifetime unknown); `wid` kept; refresh rotates the refresh token.
pub fn workfront() -> Provider {
    Provider {
        test_url: Some(url("https://{tenant}/attask/api/v14.0/proj/search")),
        client_auth: ClientAuth::Basic,
        token_encoding: TokenEncoding::Json,
        pkce: false,
        presentation: TokenPresentation { header: "sessionID".into(), prefix: String::new() },
        keep_redirect_params: vec!["domain".into(), "lane".into()],
        keep_token_fields: vec!["wid".into()],
        tenant: Some(TenantRule {
            label: "Organization host".into(),
            hosts: vec!["*.*.workfront.com".into()],
            bare: Some("{tenant}.my.workfront.com".into()),
        }),
        ..Provider::base(
            "workfront",
            "Adobe Workfront",
            url("https://{tenant}/integrations/oauth2/authorize"),
            url("https://{tenant}/integrations/oauth2/api/v1/token"),
        )
    }
}

/// The project's own demo provider served at `base` (a public client with PKCE and rotating refresh).
pub fn demo(base: &Url) -> Result<Provider, url::ParseError> {
    let at = |path: &str| base.join(path).map(|u| UrlTemplate::from_url(&u));
    Ok(Provider {
        userinfo_url: Some(at("userinfo")?),
        revocation_url: Some(at("revoke")?),
        test_url: Some(at("userinfo")?),
        client_id: Some("account-linker-demo".into()),
        scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
        ..Provider::base("demo", "Demo Provider", at("authorize")?, at("token")?)
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
