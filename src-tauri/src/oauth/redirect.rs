//! The app's redirect URIs: a private-use URI scheme (RFC 8252 §7.1), reverse-DNS, single slash, and a
//! distinct path per provider, e.g. `org.accountlinker.app:/oauth2/demo`.
//!
//! A distinct path per provider (and tenant) means a callback meant for one authorization server can
//! never complete another's flow: [`RedirectUri::matches`] compares scheme, host and path exactly.

use std::fmt;
use url::Url;

/// The private-use URI scheme of the app, in reverse-DNS form.
pub const SCHEME: &str = "org.accountlinker.app";

/// A redirect URI of this app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(Url);

/// Why a string is not a usable redirect URI for this app.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    /// The provider id or tenant holds characters that can't appear in a path segment.
    #[error("'{0}' can't be used in a redirect path: use letters, digits, '-', '_' and '.'")]
    BadSegment(String),
    /// A configured redirect URI that the app could not receive.
    #[error("'{0}' is not a redirect URI of this app: it must look like {SCHEME}:/path (single slash, no query)")]
    NotTheAppScheme(String),
}

impl RedirectUri {
    /// The redirect URI for a provider, and a tenant where the provider has one.
    pub fn for_provider(provider_id: &str, tenant: Option<&str>) -> Result<Self, RedirectUriError> {
        let mut text = format!("{SCHEME}:/oauth2/{}", checked_segment(provider_id)?);
        if let Some(tenant) = tenant {
            text.push('/');
            text.push_str(checked_segment(tenant)?);
        }
        Url::parse(&text)
            .map(Self)
            .map_err(|_| RedirectUriError::BadSegment(provider_id.to_owned()))
    }

    /// A redirect URI given in the configuration: it must use the app's scheme with a single-slash path
    /// (RFC 8252 §7.1) and no query or fragment, or the login window could never capture it.
    pub fn parse(text: &str) -> Result<Self, RedirectUriError> {
        let bad = || RedirectUriError::NotTheAppScheme(text.to_owned());
        let url = Url::parse(text.trim()).map_err(|_| bad())?;
        let ok = url.scheme() == SCHEME
            && url.host().is_none()
            && url.path().starts_with('/')
            && !url.path().starts_with("//")
            && url.query().is_none()
            && url.fragment().is_none();
        if ok {
            Ok(Self(url))
        } else {
            Err(bad())
        }
    }

    /// The URI as sent in the authorize and token requests.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether `url` is a redirect to exactly this URI (scheme, no host, path), ignoring its query.
    pub fn matches(&self, url: &Url) -> bool {
        url.scheme() == self.0.scheme()
            && url.host().is_none()
            && url.port().is_none()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path() == self.0.path()
            && url.fragment().is_none()
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a URL uses the app's scheme at all: such a URL is never handed to the OS or loaded.
pub fn is_app_scheme(url: &Url) -> bool {
    url.scheme() == SCHEME
}

fn checked_segment(s: &str) -> Result<&str, RedirectUriError> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s != "."
        && s != "..";
    if ok {
        Ok(s)
    } else {
        Err(RedirectUriError::BadSegment(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_slash_reverse_dns_with_provider_path() {
        let r = RedirectUri::for_provider("demo", None).expect("valid");
        assert_eq!(r.as_str(), "org.accountlinker.app:/oauth2/demo");
        let t = RedirectUri::for_provider("workfront", Some("acme.my.workfront.com")).expect("valid");
        assert_eq!(t.as_str(), "org.accountlinker.app:/oauth2/workfront/acme.my.workfront.com");
    }

    #[test]
    fn matches_exactly_and_nothing_else() {
        let r = RedirectUri::for_provider("demo", None).expect("valid");
        let ok = Url::parse("org.accountlinker.app:/oauth2/demo?code=a&state=b").expect("url");
        assert!(r.matches(&ok));
        for bad in [
            "org.accountlinker.app:/oauth2/other?code=a",
            "org.accountlinker.app:/oauth2/demo/x?code=a",
            "org.accountlinker.app://oauth2/demo?code=a",
            "org.accountlinker.evil:/oauth2/demo?code=a",
            "https://example.com/oauth2/demo?code=a",
            "org.accountlinker.app:/oauth2/demo?code=a#frag",
        ] {
            assert!(!r.matches(&Url::parse(bad).expect("url")), "{bad} must not match");
        }
    }

    #[test]
    fn configured_redirect_uris_must_be_the_apps() {
        assert!(RedirectUri::parse("org.accountlinker.app:/oauth2/legacy").is_ok());
        for bad in ["https://example.com/cb", "org.accountlinker.app://host/cb", "org.accountlinker.app:/cb?x=1", "other.app:/cb", "x"] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostile_segments_are_refused() {
        for bad in ["", "..", "a/b", "a?b", "a b", "ä"] {
            assert!(RedirectUri::for_provider(bad, None).is_err(), "{bad:?}");
        }
    }
}
