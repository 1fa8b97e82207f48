//! Reading the claims of a JWT without verifying it: for showing who an account belongs to and for
//! diagnostics only, never for an access decision.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// The claims of a JWT-shaped string, or `None` if it is not one.
pub fn claims(token: &str) -> Option<Map<String, Value>> {
    object(segments(token)?.1)
}

/// The header (`alg`, `typ`, `kid`, …) of a JWT-shaped string, or `None` if it is not one.
pub fn header(token: &str) -> Option<Map<String, Value>> {
    object(segments(token)?.0)
}

/// The header and payload segments of `header.payload.signature`.
fn segments(token: &str) -> Option<(&str, &str)> {
    let mut parts = token.split('.');
    let (header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((header, payload))
}

/// A base64url segment holding a JSON object.
fn object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A name to show for the account: e-mail, then name, then preferred user name, then subject.
pub fn display_name(claims: &Map<String, Value>) -> Option<String> {
    friendly_name(claims).or_else(|| claim(claims, "sub"))
}

/// A name a person recognises (e-mail, name, user name), never the opaque subject.
pub fn friendly_name(claims: &Map<String, Value>) -> Option<String> {
    ["email", "name", "preferred_username", "nickname"].iter().find_map(|k| claim(claims, k))
}

fn claim(claims: &Map<String, Value>, key: &str) -> Option<String> {
    claims.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_payload_and_picks_email() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","email":"a@b.test","name":"A"}"#);
        let c = claims(&format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig")).expect("jwt");
        assert_eq!(display_name(&c).as_deref(), Some("a@b.test"));
    }

    #[test]
    fn non_jwt_is_none() {
        assert!(claims("opaque-token").is_none());
        assert!(claims("a.b.c.d").is_none());
        assert!(claims("a.!!!.c").is_none());
    }
}
