//! Helpers for the emulators' tests: an HTTP client that follows no redirects and small
//! parsers for pages and redirects.

use reqwest::header::LOCATION;
use url::Url;

/// An HTTP client that follows no redirects.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The value of hidden field `name` in a page.
pub(crate) fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("page has the hidden field") + marker.len();
    let end = html[start..].find('"').expect("value ends") + start;
    html[start..end].replace("&amp;", "&")
}


/// A query parameter of `url`.
pub(crate) fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The `Location` of a redirect, resolved against `base`.
pub(crate) fn location(base: &Url, response: &reqwest::Response) -> Url {
    let value = response.headers().get(LOCATION).expect("Location header");
    base.join(value.to_str().expect("ASCII Location"))
        .expect("valid Location")
}

/// The claims of a JWT (signature not checked).
pub(crate) fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// A PKCE pair: (verifier, S256 challenge).
pub(crate) fn pkce() -> (String, String) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};
    let verifier = super::common::random_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}
