//! URL templates: provider URLs that may contain `{tenant}`, replaced at connect time.
//!
//! A template is checked when the configuration is read: it must be an `https://` URL, or `http://` to a
//! loopback address (test servers), once a tenant is filled in.

use std::fmt;

use url::Url;

/// The placeholder replaced by the tenant (e.g. a Workfront organization host).
pub const TENANT: &str = "{tenant}";

/// A URL that may contain `{tenant}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(String);

/// Why a URL (template) can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("'{0}' is not a valid URL")]
    Invalid(String),
    /// Plain http to a host that is not loopback: tokens would cross the network unencrypted.
    #[error("'{0}' uses http:// to a host that is not loopback; use https://")]
    InsecureHttp(String),
    /// Neither http nor https.
    #[error("'{0}' must be an https:// URL")]
    Scheme(String),
    /// The URL needs a tenant but none was given.
    #[error("this provider needs a tenant ({0})")]
    TenantMissing(String),
}

impl UrlTemplate {
    /// Checks a template: with a sample tenant filled in, it must be a usable URL.
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let t = Self(text.trim().to_owned());
        t.fill("tenant.example")?;
        Ok(t)
    }

    /// An empty template, replaced before use (custom providers must give their URLs).
    pub(crate) fn unset() -> Self {
        Self(String::new())
    }

    /// A template from a URL with no placeholder.
    pub fn from_url(url: &Url) -> Self {
        Self(url.as_str().to_owned())
    }

    /// Whether the template contains `{tenant}`.
    pub fn needs_tenant(&self) -> bool {
        self.0.contains(TENANT)
    }

    /// The URL for a tenant (ignored when the template has no placeholder).
    pub fn resolve(&self, tenant: Option<&str>) -> Result<Url, UrlError> {
        match (self.needs_tenant(), tenant) {
            (true, Some(t)) => self.fill(t),
            (true, None) => Err(UrlError::TenantMissing(self.0.clone())),
            (false, _) => checked(&self.0),
        }
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn fill(&self, tenant: &str) -> Result<Url, UrlError> {
        checked(&self.0.replace(TENANT, tenant))
    }
}

impl fmt::Display for UrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a URL's host is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn checked(text: &str) -> Result<Url, UrlError> {
    let url = Url::parse(text).map_err(|_| UrlError::Invalid(text.to_owned()))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(UrlError::InsecureHttp(text.to_owned())),
        _ => Err(UrlError::Scheme(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_is_filled_in_host_or_path() {
        let t = UrlTemplate::parse("https://{tenant}/integrations/oauth2/authorize").expect("ok");
        assert!(t.needs_tenant());
        assert_eq!(
            t.resolve(Some("acme.my.workfront.com")).expect("url").as_str(),
            "https://acme.my.workfront.com/integrations/oauth2/authorize"
        );
        assert_eq!(t.resolve(None), Err(UrlError::TenantMissing(t.as_str().to_owned())));
        let local = UrlTemplate::parse("http://127.0.0.1:8080/wf/{tenant}/integrations/oauth2/authorize").expect("ok");
        assert_eq!(
            local.resolve(Some("acme.my.workfront.com")).expect("url").as_str(),
            "http://127.0.0.1:8080/wf/acme.my.workfront.com/integrations/oauth2/authorize"
        );
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(UrlTemplate::parse("http://localhost:1/x").is_ok());
        assert!(UrlTemplate::parse("http://[::1]:1/x").is_ok());
        assert!(matches!(UrlTemplate::parse("http://example.com/x"), Err(UrlError::InsecureHttp(_))));
        assert!(matches!(UrlTemplate::parse("ftp://example.com/x"), Err(UrlError::Scheme(_))));
        assert!(matches!(UrlTemplate::parse("not a url"), Err(UrlError::Invalid(_))));
    }
}
