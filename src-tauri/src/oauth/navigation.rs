//! Where the login window may go: an allow-list decided from the provider's own hosts.
//!
//! The login window shows the provider's pages and nothing else. A navigation is
//! * captured when it is the redirect to the app's scheme (the flow's callback),
//! * allowed to `https` on the authorize host, the token host or a host the provider lists in
//!   `login_hosts` (identity redirects, e.g. a separate sign-in host),
//! * allowed to plain `http` only on such a host when it is a loopback host (local test servers),
//! * refused otherwise: other schemes (`file:`, `data:`, `javascript:`, `blob:`, `about:`, …), unknown
//!   hosts, and `http` to a host that is not loopback.
//!
//! The policy is pure: it knows nothing about windows, so it is tested on its own.

use std::net::Ipv4Addr;

use url::{Host, Url};

use super::redirect::is_app_scheme;

/// What the login window does with a navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Load it: a page of the provider.
    Allow,
    /// Stop it and hand the URL to the flow: the redirect to the app's scheme.
    Capture(Url),
    /// Stop it and log why.
    Refuse(Refusal),
}

/// Why a navigation was refused. Carries only the scheme or host, never the whole URL (it may carry
/// codes or tokens).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A scheme other than `https`, `http` (loopback) and the app's own.
    #[error("the scheme '{0}:' is not allowed in the login window")]
    Scheme(String),
    /// A host that is not one of the provider's.
    #[error("the host '{0}' is not one of the provider's")]
    UnknownHost(String),
    /// Plain `http` to a host that is not loopback.
    #[error("plain http to '{0}' is not allowed: only loopback hosts may use http")]
    InsecureHttp(String),
    /// An `http(s)` URL without a host.
    #[error("the URL has no host")]
    NoHost,
}

/// The navigation allow-list of one flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavigationPolicy {
    hosts: Vec<Host<String>>,
}

impl NavigationPolicy {
    /// The policy for a flow that signs in at `authorize`, exchanges the code at `token`, and may pass
    /// through the extra `login_hosts` (host names, compared case-insensitively; entries that are not
    /// hosts are ignored: the configuration checks them).
    pub fn new(authorize: &Url, token: &Url, login_hosts: &[String]) -> Self {
        let mut hosts: Vec<Host<String>> = Vec::new();
        let given = [authorize.host().map(|h| h.to_owned()), token.host().map(|h| h.to_owned())];
        let listed = login_hosts.iter().map(|h| parse_host(h));
        for host in given.into_iter().chain(listed).flatten() {
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        Self { hosts }
    }

    /// The hosts this policy allows.
    pub fn hosts(&self) -> &[Host<String>] {
        &self.hosts
    }

    /// Decides about one navigation of the login window.
    pub fn decide(&self, url: &Url) -> Decision {
        if is_app_scheme(url) {
            return Decision::Capture(url.clone());
        }
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Decision::Refuse(Refusal::Scheme(other.to_owned())),
        };
        let Some(host) = url.host().map(|h| h.to_owned()) else {
            return Decision::Refuse(Refusal::NoHost);
        };
        if !self.hosts.contains(&host) {
            return Decision::Refuse(Refusal::UnknownHost(host.to_string()));
        }
        if !https && !is_loopback(&host) {
            return Decision::Refuse(Refusal::InsecureHttp(host.to_string()));
        }
        Decision::Allow
    }
}

/// A host name as given in `login_hosts` (`example.com`, `127.0.0.1`, `[::1]`); `None` if it is not one.
pub fn parse_host(text: &str) -> Option<Host<String>> {
    let url = Url::parse(&format!("https://{text}/")).ok()?;
    // Only the host itself: nothing that parsing would drop or normalise (ports, paths, user names).
    let plain = url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(text)) && url.path() == "/";
    plain.then(|| url.host().map(|h| h.to_owned())).flatten()
}

/// Whether `host` is a loopback host (`127.0.0.0/8`, `::1`, `localhost` and its subdomains).
pub fn is_loopback(host: &Host<String>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4: Ipv4Addr| v4.is_loopback()),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn auth0_like() -> NavigationPolicy {
        NavigationPolicy::new(
            &url("https://auth.prod.zaehlerfreunde.com/authorize?client_id=x"),
            &url("https://zaehlerfreunde-prod.eu.auth0.com/oauth/token"),
            &["accounts.google.com".into(), "Login.Example.COM".into()],
        )
    }

    fn local() -> NavigationPolicy {
        NavigationPolicy::new(&url("http://127.0.0.1:8080/authorize"), &url("http://127.0.0.1:8080/token"), &[])
    }

    #[test]
    fn the_providers_https_hosts_are_allowed() {
        let p = auth0_like();
        assert_eq!(p.decide(&url("https://auth.prod.zaehlerfreunde.com/u/login?state=x")), Decision::Allow);
        assert_eq!(p.decide(&url("https://zaehlerfreunde-prod.eu.auth0.com/continue")), Decision::Allow);
        assert_eq!(p.decide(&url("https://accounts.google.com/o/oauth2/auth")), Decision::Allow);
        assert_eq!(p.decide(&url("https://login.example.com/sso")), Decision::Allow, "login_hosts compare without case");
        assert_eq!(p.hosts().len(), 4);
    }

    #[test]
    fn the_redirect_to_the_app_is_captured() {
        let p = auth0_like();
        let redirect = url("org.accountlinker.app:/oauth2/zaehlerfreunde?code=c&state=s");
        assert_eq!(p.decide(&redirect), Decision::Capture(redirect.clone()));
    }

    #[test]
    fn unknown_hosts_are_refused() {
        let p = auth0_like();
        assert_eq!(p.decide(&url("https://evil.example/phish")), Decision::Refuse(Refusal::UnknownHost("evil.example".into())));
        assert_eq!(
            p.decide(&url("https://auth.prod.zaehlerfreunde.com.evil.example/")),
            Decision::Refuse(Refusal::UnknownHost("auth.prod.zaehlerfreunde.com.evil.example".into()))
        );
        assert_eq!(p.decide(&url("https://sub.accounts.google.com/")), Decision::Refuse(Refusal::UnknownHost("sub.accounts.google.com".into())));
    }

    #[test]
    fn other_schemes_are_refused() {
        let p = local();
        for (u, scheme) in [
            ("file:///etc/passwd", "file"),
            ("data:text/html,<script>alert(1)</script>", "data"),
            ("javascript:alert(1)", "javascript"),
            ("blob:http://127.0.0.1:8080/5c1f0f8e-5c1f-4f8e-8e5c-1f0f8e5c1f0f", "blob"),
            ("about:blank", "about"),
            ("ftp://127.0.0.1/", "ftp"),
            ("ws://127.0.0.1:8080/", "ws"),
            ("tauri://localhost/index.html", "tauri"),
            ("mailto:someone@example.com", "mailto"),
        ] {
            assert_eq!(p.decide(&url(u)), Decision::Refuse(Refusal::Scheme(scheme.into())), "{u}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_hosts() {
        let p = local();
        assert_eq!(p.decide(&url("http://127.0.0.1:8080/login")), Decision::Allow);
        assert_eq!(p.decide(&url("http://127.0.0.1:9999/other-port")), Decision::Allow, "the host is what is compared");
        assert_eq!(p.decide(&url("https://127.0.0.1:8080/login")), Decision::Allow);
        assert_eq!(p.decide(&url("http://localhost:8080/")), Decision::Refuse(Refusal::UnknownHost("localhost".into())));
        let insecure = NavigationPolicy::new(&url("https://idp.example/authorize"), &url("https://idp.example/token"), &[]);
        assert_eq!(insecure.decide(&url("http://idp.example/login")), Decision::Refuse(Refusal::InsecureHttp("idp.example".into())));
    }

    #[test]
    fn listed_loopback_test_hosts_work_over_http() {
        let p = NavigationPolicy::new(
            &url("http://127.0.0.1:8080/authorize"),
            &url("http://127.0.0.1:8081/token"),
            &["localhost".into(), "[::1]".into()],
        );
        assert_eq!(p.decide(&url("http://localhost:3000/login")), Decision::Allow);
        assert_eq!(p.decide(&url("http://[::1]:3000/login")), Decision::Allow);
        assert_eq!(p.decide(&url("http://127.0.0.2/")), Decision::Refuse(Refusal::UnknownHost("127.0.0.2".into())));
    }

    #[test]
    fn login_hosts_that_are_not_hosts_are_ignored() {
        assert_eq!(parse_host("example.com"), Some(Host::Domain("example.com".into())));
        assert_eq!(parse_host("EXAMPLE.com"), Some(Host::Domain("example.com".into())));
        assert_eq!(parse_host("[::1]"), Some(Host::Ipv6(Ipv6Addr::LOCALHOST)));
        for bad in ["https://example.com", "example.com/path", "example.com:443", "user@example.com", "", "exa mple.com", "a?b"] {
            assert_eq!(parse_host(bad), None, "{bad}");
        }
        let p = NavigationPolicy::new(&url("https://a.example/"), &url("https://a.example/t"), &["example.com/path".into()]);
        assert_eq!(p.hosts(), &[Host::Domain("a.example".to_owned())]);
    }

    #[test]
    fn loopback_hosts() {
        let parse_host = |h: &str| url(&format!("http://{h}/")).host().map(|h| h.to_owned());
        for h in ["127.0.0.1", "127.1.2.3", "[::1]", "localhost", "app.localhost", "[::ffff:127.0.0.1]"] {
            assert!(is_loopback(&parse_host(h).unwrap()), "{h}");
        }
        for h in ["10.0.0.1", "example.com", "localhost.example", "[::2]"] {
            assert!(!is_loopback(&parse_host(h).unwrap()), "{h}");
        }
    }
}
