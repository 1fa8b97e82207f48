//! PKCE (RFC 7636) with the S256 method only: `plain` gives no protection against a code interceptor.
//!
//! The verifier is neither `Clone` nor `Debug`-printable: it is spent exactly once, in the token request.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A PKCE code verifier: 43 characters of base64url from 32 random bytes.
pub struct PkceVerifier(String);

/// The S256 challenge of a [`PkceVerifier`], safe to put in the authorize URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge(String);

impl PkceVerifier {
    /// A fresh random verifier.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The S256 challenge: BASE64URL(SHA256(verifier)).
    pub fn challenge(&self) -> PkceChallenge {
        PkceChallenge(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes())))
    }

    /// Consumes the verifier for the token request.
    pub fn into_secret(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

impl PkceChallenge {
    /// The challenge string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The method name sent as `code_challenge_method`.
    pub const METHOD: &'static str = "S256";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = PkceVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(v.challenge().as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn generated_verifier_has_valid_length_and_alphabet() {
        let v = PkceVerifier::generate();
        let s = v.into_secret();
        assert_eq!(s.len(), 43);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(s, PkceVerifier::generate().into_secret());
    }
}
