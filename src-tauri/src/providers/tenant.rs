//! Tenants: the per-organization part of a provider's URLs (e.g. a Workfront organization host).
//!
//! What the user types is normalised (`acme` → `acme.my.workfront.com`, a pasted URL → its host) and
//! then checked against the provider's allowed host patterns before any request is made, so
//! `acme.my.workfront.com.evil.example` is refused.

/// How a provider's tenant is asked for and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRule {
    /// What the UI calls it, e.g. "Organization host".
    pub label: String,
    /// Allowed host patterns; `*` stands for exactly one DNS label (e.g. `*.*.workfront.com`).
    pub hosts: Vec<String>,
    /// What a bare name becomes, e.g. `{tenant}.my.workfront.com`.
    pub bare: Option<String>,
}

/// Why a tenant was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// Nothing was given.
    #[error("enter the {0}")]
    Missing(String),
    /// Not a host name.
    #[error("'{0}' is not a host name")]
    NotAHost(String),
    /// A host outside the provider's allowed patterns.
    #[error("'{host}' is not a host of this provider (allowed: {allowed})")]
    NotAllowed {
        /// The host given.
        host: String,
        /// The patterns allowed.
        allowed: String,
    },
}

impl TenantRule {
    /// Normalises and checks what the user typed; returns the tenant host.
    pub fn normalise(&self, input: &str) -> Result<String, TenantError> {
        let mut text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(TenantError::Missing(self.label.clone()));
        }
        if let Some(rest) = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")) {
            text = rest.trim_end_matches('/').to_owned();
        }
        let valid_label = |l: &str| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if text.len() > 253 || !text.split('.').all(valid_label) {
            return Err(TenantError::NotAHost(input.trim().to_owned()));
        }
        let host = match (&self.bare, text.contains('.')) {
            (Some(bare), false) => bare.replace(super::template::TENANT, &text),
            _ => text,
        };
        if self.hosts.iter().any(|p| host_matches(p, &host)) {
            Ok(host)
        } else {
            Err(TenantError::NotAllowed { host, allowed: self.hosts.join(", ") })
        }
    }
}

/// Whether `host` matches `pattern`, label by label, `*` matching exactly one label.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let (p, h): (Vec<_>, Vec<_>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len() && p.iter().zip(&h).all(|(p, h)| *p == "*" || p.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workfront() -> TenantRule {
        TenantRule {
            label: "organization host".into(),
            hosts: vec!["*.*.workfront.com".into()],
            bare: Some("{tenant}.my.workfront.com".into()),
        }
    }

    #[test]
    fn bare_names_urls_and_hosts_normalise() {
        let r = workfront();
        assert_eq!(r.normalise("acme").as_deref(), Ok("acme.my.workfront.com"));
        assert_eq!(r.normalise(" ACME.my.workfront.com ").as_deref(), Ok("acme.my.workfront.com"));
        assert_eq!(r.normalise("https://acme.preview.workfront.com/").as_deref(), Ok("acme.preview.workfront.com"));
    }

    #[test]
    fn look_alike_and_hostile_hosts_are_refused() {
        let r = workfront();
        for bad in ["acme.my.workfront.com.evil.example", "evil.example", "a.b.c.workfront.com", "workfront.com"] {
            assert!(matches!(r.normalise(bad), Err(TenantError::NotAllowed { .. })), "{bad}");
        }
        for bad in ["acme/../x", "acme.my.workfront.com/path", "a b", "acme..my.workfront.com", "-x.my.workfront.com", "user@acme"] {
            assert!(matches!(r.normalise(bad), Err(TenantError::NotAHost(_))), "{bad}");
        }
        assert!(matches!(r.normalise("  "), Err(TenantError::Missing(_))));
    }
}
