//! `id_token`s: compact JWS (RFC 7515) tokens signed with HS256, i.e. HMAC-SHA256
//! (RFC 2104, implemented here over `sha2`) with a random per-server key.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::{DEMO_USER_EMAIL, DEMO_USER_NAME};

/// SHA-256's block size in bytes.
const BLOCK: usize = 64;

/// HMAC-SHA256 of `message` under `key` (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest: [u8; 32] = Sha256::digest(key).into();
        block_key[..digest.len()].copy_from_slice(&digest);
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for ((i, o), k) in ipad.iter_mut().zip(opad.iter_mut()).zip(block_key) {
        *i ^= k;
        *o ^= k;
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Seconds since the Unix epoch.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Signs `claims` as a compact HS256 JWT.
pub(crate) fn sign(key: &[u8], claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(key, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// The `id_token` for the demo user, issued by `issuer` to `client_id`.
pub(crate) fn id_token(
    key: &[u8],
    issuer: &str,
    subject: &str,
    client_id: &str,
    lifetime_secs: u64,
    nonce: Option<&str>,
) -> String {
    let iat = now_secs();
    let mut claims = serde_json::json!({
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": iat,
        "exp": iat.saturating_add(lifetime_secs),
        "name": DEMO_USER_NAME,
        "email": DEMO_USER_EMAIL,
    });
    if let (Some(nonce), Some(object)) = (nonce, claims.as_object_mut()) {
        object.insert("nonce".to_owned(), nonce.into());
    }
    sign(key, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231_test_vectors() {
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn id_token_is_a_verifiable_hs256_jwt() {
        let token = id_token(
            b"k",
            "http://127.0.0.1:1/",
            "sub-1",
            "client",
            60,
            Some("n-0S6"),
        );
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = URL_SAFE_NO_PAD
            .decode(parts[0])
            .expect("header is base64url");
        assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(parts[1])
                .expect("payload is base64url"),
        )
        .expect("payload is JSON");
        assert_eq!(claims["iss"], "http://127.0.0.1:1/");
        assert_eq!(claims["aud"], "client");
        assert_eq!(claims["nonce"], "n-0S6");
        assert_eq!(
            claims["exp"].as_u64(),
            claims["iat"].as_u64().map(|iat| iat + 60)
        );
        let expected = hmac_sha256(b"k", format!("{}.{}", parts[0], parts[1]).as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(parts[2])
                .expect("signature is base64url"),
            expected
        );
    }
}
