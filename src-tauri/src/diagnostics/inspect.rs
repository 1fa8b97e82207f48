//! The token inspector: everything support staff need to know about an account's tokens except their
//! values. Secrets appear only as a fingerprint (the first 8 hex digits of their SHA-256), so two
//! reports can be compared without either holding a token. JWT-shaped tokens are decoded (header and
//! the claims that explain most problems), without verifying them: this is for reading, never for trust.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::accounts::Account;
use crate::oauth::jwt;
use crate::providers::Provider;
use crate::vault::StoredTokens;

/// The claims shown from a JWT; anything else (names, e-mail) stays out of reports.
pub const SHOWN_CLAIMS: [&str; 9] = ["iss", "aud", "sub", "exp", "iat", "nbf", "scope", "azp", "client_id"];

/// The first 8 hex digits of a secret's SHA-256.
pub fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A JWT's header and shown claims.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JwtView {
    /// The header (`alg`, `typ`, `kid`).
    pub header: Map<String, Value>,
    /// The claims in [`SHOWN_CLAIMS`] that are present.
    pub claims: Map<String, Value>,
}

/// Decodes a JWT-shaped token's header and shown claims; `None` for opaque tokens.
pub fn decode_jwt(token: &str) -> Option<JwtView> {
    let header = jwt::header(token)?.into_iter().filter(|(k, _)| ["alg", "typ", "kid"].contains(&k.as_str())).collect();
    let claims = jwt::claims(token)?.into_iter().filter(|(k, _)| SHOWN_CLAIMS.contains(&k.as_str())).collect();
    Some(JwtView { header, claims })
}

/// One stored token, described.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// First 8 hex digits of its SHA-256.
    pub fingerprint: String,
    /// Its length in characters.
    pub length: usize,
    /// Decoded, when it is a JWT.
    pub jwt: Option<JwtView>,
}

impl TokenView {
    fn of(secret: &str) -> Self {
        Self { fingerprint: fingerprint(secret), length: secret.chars().count(), jwt: decode_jwt(secret) }
    }
}

/// What the inspector says about an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    /// `token_type` as the provider gave it.
    pub token_type: String,
    /// How the token is sent to the API, e.g. `Authorization: Bearer …` or `sessionID: …`.
    pub presented_as: String,
    /// Scopes granted.
    pub scopes_granted: Vec<String>,
    /// Scopes asked for (the provider's configuration).
    pub scopes_asked: Vec<String>,
    /// Asked but not granted.
    pub scopes_missing: Vec<String>,
    /// When the current tokens were obtained (Unix seconds).
    pub issued_at: u64,
    /// When the access token expires (Unix seconds); `None`: the provider did not say.
    pub expires_at: Option<u64>,
    /// Seconds left (negative: expired); `None` when the lifetime is unknown.
    pub seconds_left: Option<i64>,
    /// Whether the provider offers refresh.
    pub provider_refreshes: bool,
    /// How many times the tokens were refreshed since linking.
    pub refreshes: u64,
    /// The access token, described.
    pub access_token: Option<TokenView>,
    /// The refresh token, described (its fingerprint changes when it rotates).
    pub refresh_token: Option<TokenView>,
    /// The ID token, described.
    pub id_token: Option<TokenView>,
}

/// Inspects an account's tokens as of `now` (Unix seconds).
pub fn inspect(account: &Account, provider: Option<&Provider>, tokens: &StoredTokens, now: u64) -> Inspection {
    let presented_as = match provider {
        Some(p) => {
            let how = crate::oauth::api::presentation(p, &account.token_type);
            format!("{}: {}…", how.header, how.prefix)
        }
        None => "unknown (the provider is no longer configured)".into(),
    };
    let scopes_asked = provider.map(|p| p.scopes.clone()).unwrap_or_default();
    let scopes_missing = scopes_asked.iter().filter(|s| !account.scopes.contains(s)).cloned().collect();
    // The refresh token is not a JWT for any provider we know; its claims would not be shown anyway.
    let refresh_token = tokens.refresh_token.as_ref().map(|t| TokenView { jwt: None, ..TokenView::of(t.secret()) });
    Inspection {
        token_type: account.token_type.clone(),
        presented_as,
        scopes_granted: account.scopes.clone(),
        scopes_asked,
        scopes_missing,
        issued_at: account.obtained_at(),
        expires_at: account.expires_at,
        seconds_left: account.expires_at.map(|at| at as i64 - now as i64),
        provider_refreshes: provider.is_some_and(|p| p.refresh),
        refreshes: account.refreshes,
        access_token: tokens.access_token.as_ref().map(|t| TokenView::of(t.secret())),
        refresh_token,
        id_token: tokens.id_token.as_ref().map(|t| TokenView::of(t.secret())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn jwt(header: &str, claims: &str) -> String {
        format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn fingerprints_are_short_stable_and_differ() {
        assert_eq!(fingerprint("abc"), "ba7816bf", "SHA-256 of abc starts ba7816bf");
        assert_eq!(fingerprint("abc").len(), 8);
        assert_ne!(fingerprint("abc"), fingerprint("abd"));
    }

    #[test]
    fn decodes_the_useful_claims_and_leaves_personal_ones_out() {
        let token = jwt(
            r#"{"alg":"RS256","typ":"JWT","kid":"k1","x5c":["MII..."]}"#,
            r#"{"iss":"https://t.auth0.com/","aud":["api","x"],"sub":"auth0|1","exp":1700000000,"iat":1699996400,"scope":"openid offline_access","email":"a@b.test","name":"A"}"#,
        );
        let view = decode_jwt(&token).expect("a JWT");
        assert_eq!(view.header.get("alg"), Some(&Value::from("RS256")));
        assert!(!view.header.contains_key("x5c"));
        assert_eq!(view.claims.get("exp"), Some(&Value::from(1_700_000_000u64)));
        assert_eq!(view.claims.get("scope"), Some(&Value::from("openid offline_access")));
        assert!(!view.claims.contains_key("email") && !view.claims.contains_key("name"));
        assert!(decode_jwt("opaque").is_none());
        assert!(decode_jwt("a.b.c").is_none(), "not base64 JSON");
    }

    #[test]
    fn inspects_without_any_secret_value() {
        use crate::oauth::secret::{AccessToken, RefreshToken};
        let mut provider = crate::providers::builtin::all().into_iter().find(|p| p.id == "workfront").expect("workfront");
        provider.scopes = vec!["a".into(), "b".into()];
        let account = Account {
            tenant: Some("acme.my.workfront.com".into()),
            scopes: vec!["a".into()],
            token_type: "sessionID".into(),
            linked_at: 1000,
            refreshed_at: Some(2000),
            refreshes: 3,
            ..Account::for_test("x", "workfront")
        };
        let tokens = StoredTokens {
            access_token: Some(AccessToken::new("wf_at_secret_value")),
            refresh_token: Some(RefreshToken::new("wf_rt_secret_value")),
            ..StoredTokens::default()
        };
        let i = inspect(&account, Some(&provider), &tokens, 2500);
        assert_eq!(i.presented_as, "sessionID: …");
        assert_eq!(i.scopes_missing, vec!["b".to_owned()]);
        assert_eq!((i.issued_at, i.seconds_left, i.refreshes), (2000, None, 3));
        assert_eq!(i.refresh_token.as_ref().map(|t| t.fingerprint.clone()), Some(fingerprint("wf_rt_secret_value")));
        let json = serde_json::to_string(&i).expect("json");
        assert!(!json.contains("secret_value"), "{json}");
    }
}
