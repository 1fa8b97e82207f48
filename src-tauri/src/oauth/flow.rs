//! A sign-in in progress: the `state`, the PKCE verifier and the redirect URI it was started with.
//!
//! [`PendingFlow::begin`] builds the authorize URL; [`PendingFlow::complete`] consumes the flow (a flow
//! completes at most once) and checks a callback against it in a fixed order.

use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use url::Url;

use super::callback::{Callback, CallbackError};
use super::pkce::{PkceChallenge, PkceVerifier};
use super::redirect::RedirectUri;
use super::secret::AuthorizationCode;
use crate::providers::{Endpoints, LoginMode, Provider, ProviderError};

/// Identifies a pending flow inside the app (never sent to the provider).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FlowId(String);

impl FlowId {
    fn generate() -> Self {
        Self(random_token(12))
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for FlowId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// The anti-CSRF `state` value: 32 random bytes, compared in constant time.
#[derive(Clone)]
pub struct CsrfState(String);

impl CsrfState {
    fn generate() -> Self {
        Self(random_token(32))
    }
    fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for CsrfState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfState([redacted])")
    }
}

/// A sign-in that was started and not yet completed or cancelled.
#[derive(Debug)]
pub struct PendingFlow {
    /// Internal id.
    pub id: FlowId,
    /// The provider being linked.
    pub provider_id: String,
    /// Where the browser is sent.
    pub authorize_url: Url,
    /// Where the provider sends the browser back.
    pub redirect_uri: RedirectUri,
    /// The provider's URLs for this flow's tenant.
    pub endpoints: Endpoints,
    /// When the flow began.
    pub started_at: Instant,
    /// Where the user signs in: the login window, or (from the start or after a hand-off) the default
    /// browser, whose redirect comes back through the app's URI scheme.
    pub login: LoginMode,
    /// When (Unix ms) and why (a stable word) the flow moved from the login window to the browser.
    pub handed_off: Option<(u64, &'static str)>,
    state: CsrfState,
    verifier: Option<PkceVerifier>,
    keep_params: Vec<String>,
}

/// What a successful callback yields: everything the code exchange needs.
#[derive(Debug)]
pub struct CodeGrant {
    /// The authorization code.
    pub code: AuthorizationCode,
    /// The PKCE verifier, where PKCE was used.
    pub verifier: Option<PkceVerifier>,
    /// The redirect URI, sent again in the token request.
    pub redirect_uri: RedirectUri,
    /// Redirect parameters the provider asks to keep (e.g. Workfront's `domain` and `lane`).
    pub kept: std::collections::BTreeMap<String, String>,
}

impl PendingFlow {
    /// Starts a flow at `provider` (URLs resolved for a tenant in `endpoints`): fresh `state`, fresh PKCE
    /// verifier (where the provider allows PKCE), and the authorize URL.
    pub fn begin(provider: &Provider, endpoints: Endpoints) -> Result<Self, ProviderError> {
        let client_id = provider.readiness()?;
        let redirect_uri = endpoints.redirect_uri.clone();
        let state = CsrfState::generate();
        let verifier = provider.pkce.then(PkceVerifier::generate);
        let mut authorize_url = endpoints.authorize.clone();
        {
            let mut q = authorize_url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("state", &state.0);
            if !provider.scopes.is_empty() {
                q.append_pair("scope", &provider.scopes.join(" "));
            }
            for (k, v) in &provider.authorize_params {
                q.append_pair(k, v);
            }
            if let Some(v) = &verifier {
                let challenge = v.challenge();
                q.append_pair("code_challenge", challenge.as_str())
                    .append_pair("code_challenge_method", PkceChallenge::METHOD);
            }
        }
        Ok(Self {
            id: FlowId::generate(),
            provider_id: provider.id.clone(),
            authorize_url,
            redirect_uri,
            endpoints,
            started_at: Instant::now(),
            login: provider.login,
            handed_off: None,
            state,
            verifier,
            keep_params: provider.keep_redirect_params.clone(),
        })
    }

    /// Whether a callback that arrived from outside (the URI scheme, a pasted URL) belongs to this flow:
    /// its redirect URI and its `state` (compared in constant time). Nothing is consumed: a callback that
    /// is not this flow's leaves it pending, so a stray or forged URL can't end someone's sign-in.
    pub fn claims(&self, callback: &Callback) -> bool {
        let state_ok = callback.param("state").is_some_and(|s| self.state.matches(s));
        // Both are checked whatever the first says, so the answer's timing tells nothing about the state.
        let redirect_ok = self.redirect_uri.matches(callback.url());
        state_ok & redirect_ok
    }

    /// Checks a callback against this flow, in order: `state`, redirect URI, `error`, `code`.
    /// The flow is consumed either way: a callback is taken exactly once.
    pub fn complete(self, callback: &Callback) -> Result<CodeGrant, CallbackError> {
        match callback.param("state") {
            None => return Err(CallbackError::StateMissing),
            Some(s) if !self.state.matches(s) => return Err(CallbackError::StateMismatch),
            Some(_) => {}
        }
        if !self.redirect_uri.matches(callback.url()) {
            return Err(CallbackError::RedirectMismatch {
                expected: self.redirect_uri.to_string(),
                got: callback.target(),
            });
        }
        if let Some(error) = callback.param("error") {
            return Err(CallbackError::Provider {
                error: error.to_owned(),
                description: callback.param("error_description").map(str::to_owned),
            });
        }
        let code = callback.param("code").filter(|c| !c.is_empty()).ok_or(CallbackError::CodeMissing)?;
        let kept = self
            .keep_params
            .iter()
            .filter_map(|k| callback.param(k).map(|v| (k.clone(), v.to_owned())))
            .collect();
        Ok(CodeGrant { code: AuthorizationCode::new(code), verifier: self.verifier, redirect_uri: self.redirect_uri, kept })
    }

    /// The `state` sent with this flow, for tests that play the provider.
    #[cfg(test)]
    pub(crate) fn state_for_test(&self) -> &str {
        &self.state.0
    }
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        crate::providers::builtin::demo(&Url::parse("http://127.0.0.1:9/").expect("url")).expect("demo")
    }

    fn begin(p: &Provider) -> PendingFlow {
        PendingFlow::begin(p, p.endpoints(None).expect("endpoints")).expect("begin")
    }

    fn cb(flow: &PendingFlow, query: &str) -> Callback {
        Callback::parse(&format!("{}?{query}", flow.redirect_uri)).expect("callback")
    }

    #[test]
    fn authorize_url_carries_state_pkce_and_redirect() {
        let flow = begin(&provider());
        let q: std::collections::HashMap<_, _> = flow.authorize_url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "account-linker-demo");
        assert_eq!(q["redirect_uri"], "org.accountlinker.app:/oauth2/demo");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"].len(), 43);
        assert_eq!(q["state"], flow.state_for_test());
    }

    #[test]
    fn seed_quirks_reach_the_authorize_url_and_the_grant() {
        let mut zf = crate::providers::builtin::zaehlerfreunde();
        zf.client_id = Some("abc123".into());
        let flow = begin(&zf);
        assert!(flow.authorize_url.as_str().starts_with("https://auth.prod.zaehlerfreunde.com/authorize?"));
        let q: std::collections::HashMap<_, _> = flow.authorize_url.query_pairs().into_owned().collect();
        assert_eq!(q["audience"], "https://api.prod.zaehlerfreunde.com");
        assert_eq!(q["scope"], "openid profile email offline_access");
        assert_eq!(q["code_challenge_method"], "S256");

        let mut wf = crate::providers::builtin::workfront();
        wf.client_id = Some("wf".into());
        wf.client_secret = Some(crate::providers::ClientSecret::new("s"));
        let flow = PendingFlow::begin(&wf, wf.endpoints(Some("acme")).expect("endpoints")).expect("begin");
        let q: std::collections::HashMap<_, _> = flow.authorize_url.query_pairs().into_owned().collect();
        assert!(!q.contains_key("code_challenge"), "Workfront does not take PKCE");
        assert_eq!(q["redirect_uri"], "org.accountlinker.app:/oauth2/workfront/acme.my.workfront.com");
        let c = Callback::parse(&format!("{}?code=c&domain=acme&lane=my&state={}", flow.redirect_uri, flow.state_for_test())).expect("cb");
        let grant = flow.complete(&c).expect("grant");
        assert_eq!(grant.kept.get("domain").map(String::as_str), Some("acme"));
        assert_eq!(grant.kept.get("lane").map(String::as_str), Some("my"));
        assert!(grant.verifier.is_none());
    }

    #[test]
    fn unconfigured_provider_cannot_begin() {
        let zf = crate::providers::builtin::zaehlerfreunde();
        assert!(matches!(PendingFlow::begin(&zf, zf.endpoints(None).expect("e")), Err(ProviderError::NoClientId(_))));
    }

    #[test]
    fn good_callback_yields_code_and_verifier() {
        let flow = begin(&provider());
        let c = cb(&flow, &format!("code=abc&state={}", flow.state_for_test()));
        let grant = flow.complete(&c).expect("grant");
        assert_eq!(grant.code.secret(), "abc");
        assert!(grant.verifier.is_some());
    }

    #[test]
    fn wrong_or_missing_state_is_checked_before_anything_else() {
        let flow = begin(&provider());
        let c = cb(&flow, "error=access_denied&state=forged");
        assert_eq!(flow.complete(&c).unwrap_err(), CallbackError::StateMismatch);
        let flow = begin(&provider());
        let c = cb(&flow, "code=abc");
        assert_eq!(flow.complete(&c).unwrap_err(), CallbackError::StateMissing);
    }

    #[test]
    fn redirect_for_another_provider_is_refused() {
        let flow = begin(&provider());
        let c = Callback::parse(&format!("org.accountlinker.app:/oauth2/other?code=a&state={}", flow.state_for_test()))
            .expect("parse");
        assert!(matches!(flow.complete(&c).unwrap_err(), CallbackError::RedirectMismatch { .. }));
    }

    #[test]
    fn provider_error_and_missing_code() {
        let flow = begin(&provider());
        let c = cb(&flow, &format!("error=access_denied&state={}", flow.state_for_test()));
        assert!(matches!(flow.complete(&c).unwrap_err(), CallbackError::Provider { ref error, .. } if error == "access_denied"));
        let flow = begin(&provider());
        let c = cb(&flow, &format!("state={}", flow.state_for_test()));
        assert_eq!(flow.complete(&c).unwrap_err(), CallbackError::CodeMissing);
    }

    #[test]
    fn a_flow_claims_only_its_own_redirect_and_state() {
        let flow = begin(&provider());
        assert!(flow.claims(&cb(&flow, &format!("code=abc&state={}", flow.state_for_test()))));
        assert!(flow.claims(&cb(&flow, &format!("error=access_denied&state={}", flow.state_for_test()))));
        assert!(!flow.claims(&cb(&flow, "code=abc&state=forged")));
        assert!(!flow.claims(&cb(&flow, "code=abc")));
        let elsewhere = Callback::parse(&format!("org.accountlinker.app:/oauth2/other?code=a&state={}", flow.state_for_test())).expect("parse");
        assert!(!flow.claims(&elsewhere));
    }
}
