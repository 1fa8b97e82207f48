//! Parsing the redirect that ends an authorization: hostile input, checked in a fixed order.
//!
//! [`Callback::parse`] only turns text into parameters and refuses ambiguity (a parameter given twice).
//! [`crate::oauth::flow::PendingFlow::complete`] then checks, in this order: `state`, the whole redirect
//! URI, `error`, and only then reads `code`.

use url::Url;

/// The query parameters of a redirect to the app.
#[derive(Debug, Clone)]
pub struct Callback {
    url: Url,
    params: Vec<(String, String)>,
}

/// Why a callback was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    /// The text is not a URL.
    #[error("the redirect is not a valid URL")]
    NotAUrl,
    /// A parameter that must be unique was sent more than once.
    #[error("the redirect carries the parameter '{0}' more than once")]
    DuplicateParameter(String),
    /// No `state` came back.
    #[error("the redirect carries no 'state': it does not belong to a sign-in started here")]
    StateMissing,
    /// The `state` is not the one this flow sent.
    #[error("the redirect's 'state' does not match the sign-in in progress: it was refused")]
    StateMismatch,
    /// The redirect went somewhere other than this flow's redirect URI.
    #[error("the redirect went to {got}, but this sign-in expects {expected}")]
    RedirectMismatch {
        /// The redirect URI of the flow.
        expected: String,
        /// Scheme and path of the URL that arrived (no query).
        got: String,
    },
    /// The provider answered with an error.
    #[error("{}", provider_error_words(.error, .description.as_deref()))]
    Provider {
        /// The `error` code, e.g. `access_denied`.
        error: String,
        /// The provider's `error_description`, kept for diagnostics.
        description: Option<String>,
    },
    /// Neither `code` nor `error` came back.
    #[error("the redirect carries no authorization code")]
    CodeMissing,
}

const UNIQUE: [&str; 4] = ["state", "code", "error", "error_description"];

impl Callback {
    /// Parses the URL a browser was sent to.
    pub fn parse(raw: &str) -> Result<Self, CallbackError> {
        let url = Url::parse(raw.trim()).map_err(|_| CallbackError::NotAUrl)?;
        Self::from_url(url)
    }

    /// Takes apart an already parsed URL.
    pub fn from_url(url: Url) -> Result<Self, CallbackError> {
        let params: Vec<(String, String)> =
            url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        for name in UNIQUE {
            if params.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(CallbackError::DuplicateParameter(name.to_owned()));
            }
        }
        Ok(Self { url, params })
    }

    /// The URL itself.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// One parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The names of all parameters that came (never their values: those may be secrets).
    pub fn param_names(&self) -> Vec<&str> {
        self.params.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Scheme and path of the redirect, without query: safe to log and to show.
    pub fn target(&self) -> String {
        let mut u = self.url.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.to_string()
    }
}

fn provider_error_words(error: &str, description: Option<&str>) -> String {
    let words = match error {
        "access_denied" => "You declined access at the provider, so no account was linked.",
        "invalid_scope" => "The provider refused the permissions the app asked for.",
        "unauthorized_client" => "The provider does not allow this app to sign in this way.",
        "server_error" | "temporarily_unavailable" => "The provider had a problem; try again in a moment.",
        "invalid_request" => "The provider rejected the sign-in request.",
        "unsupported_response_type" => "The provider does not support this kind of sign-in.",
        _ => "The provider refused the sign-in.",
    };
    match description {
        Some(d) if !d.is_empty() => format!("{words} (provider said: {error}: {d})"),
        _ => format!("{words} (provider said: {error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_code_or_state_is_refused() {
        let e = Callback::parse("org.accountlinker.app:/oauth2/demo?code=a&code=b&state=s").unwrap_err();
        assert_eq!(e, CallbackError::DuplicateParameter("code".into()));
        let e = Callback::parse("org.accountlinker.app:/oauth2/demo?code=a&state=s&state=t").unwrap_err();
        assert_eq!(e, CallbackError::DuplicateParameter("state".into()));
    }

    #[test]
    fn params_and_target_never_leak_values() {
        let c = Callback::parse("org.accountlinker.app:/oauth2/demo?code=SECRET&state=s&lane=x").expect("parse");
        assert_eq!(c.param("code"), Some("SECRET"));
        assert_eq!(c.param_names(), vec!["code", "state", "lane"]);
        assert_eq!(c.target(), "org.accountlinker.app:/oauth2/demo");
    }

    #[test]
    fn access_denied_reads_as_words() {
        let e = CallbackError::Provider { error: "access_denied".into(), description: Some("The user denied access".into()) };
        let text = e.to_string();
        assert!(text.starts_with("You declined access"), "{text}");
        assert!(text.contains("access_denied"));
    }

    #[test]
    fn garbage_is_not_a_url() {
        assert_eq!(Callback::parse("::::").unwrap_err(), CallbackError::NotAUrl);
    }
}
