//! Recognising a provider's answer "sign-in is not allowed in an embedded browser".
//!
//! Google refuses OAuth in embedded webviews with "Error 403: disallowed_useragent": its error page's
//! address carries the reason in `authError`, a base64-encoded message naming `disallowed_useragent`
//! (`https://accounts.google.com/signin/oauth/error?authError=…`). A broker in front of another identity
//! provider (Auth0 with a social connection) may instead send the browser back with
//! `error=…&error_description=…disallowed_useragent…`. Either way the sign-in can't go on in the login
//! window, but the same flow can go on in the user's browser: the login window offers that hand-off.
//!
//! Only the address is looked at (the login window sees navigations, not page text), so the check is
//! pure and tested on its own.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use url::Url;

/// The reason code providers use for "this browser is not allowed".
pub const DISALLOWED_USERAGENT: &str = "disallowed_useragent";

/// Whether navigating to `url` means the provider refuses to sign in inside an embedded browser.
pub fn refuses_embedded(url: &Url) -> bool {
    let fragment_pairs = url.fragment().map(|f| url::form_urlencoded::parse(f.as_bytes()).into_owned().collect::<Vec<_>>()).unwrap_or_default();
    let pairs = url.query_pairs().into_owned().chain(fragment_pairs);
    url.path().to_ascii_lowercase().contains(DISALLOWED_USERAGENT) || pairs.into_iter().any(|(k, v)| names_it(&k) || names_it(&v) || decoded_names_it(&v))
}

fn names_it(text: &str) -> bool {
    text.to_ascii_lowercase().contains(DISALLOWED_USERAGENT)
}

/// Google's `authError` is base64 (standard or URL-safe, with or without padding) of a small message.
fn decoded_names_it(value: &str) -> bool {
    if value.len() < DISALLOWED_USERAGENT.len() || value.len() > 4096 {
        return false;
    }
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .iter()
        .filter_map(|engine| engine.decode(value).ok())
        .any(|bytes| bytes.windows(DISALLOWED_USERAGENT.len()).any(|w| w.eq_ignore_ascii_case(DISALLOWED_USERAGENT.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn googles_error_page_is_recognised() {
        // authError as Google sends it: a length-prefixed message naming the reason, base64-encoded.
        let mut message = vec![0x0a, 0x14];
        message.extend_from_slice(b"disallowed_useragent");
        message.extend_from_slice(b"\x12\x05Error");
        for encoded in [URL_SAFE_NO_PAD.encode(&message), STANDARD.encode(&message)] {
            let page = Url::parse_with_params("https://accounts.google.com/signin/oauth/error", [("authError", encoded.as_str()), ("client_id", "x")]).expect("url");
            assert!(refuses_embedded(&page), "{page}");
        }
        assert!(refuses_embedded(&url("https://accounts.google.com/signin/oauth/error/disallowed_useragent")));
    }

    #[test]
    fn a_relayed_error_is_recognised() {
        assert!(refuses_embedded(&url(
            "org.accountlinker.app:/oauth2/zaehlerfreunde?error=access_denied&error_description=Error%20403%3A%20disallowed_useragent&state=s"
        )));
        assert!(refuses_embedded(&url("org.accountlinker.app:/oauth2/x?error=disallowed_useragent&state=s")));
        assert!(refuses_embedded(&url("https://idp.example/cb#error=DISALLOWED_USERAGENT")));
    }

    #[test]
    fn ordinary_pages_and_answers_are_not() {
        for u in [
            "https://accounts.google.com/o/oauth2/v2/auth?client_id=x&state=abc",
            "org.accountlinker.app:/oauth2/demo?code=ZGlzYWxsb3dlZA&state=s",
            "org.accountlinker.app:/oauth2/demo?error=access_denied&error_description=User%20did%20not%20authorize",
            "https://auth.example/u/login?state=hKFo2SBtY2FsV1hQbU5fZ2tOVkFQTmlwS3FhVjRWZkVMbnJDT6Fur3VuaXZlcnNhbC1sb2dpbqN0aWTZIHRZ",
        ] {
            assert!(!refuses_embedded(&url(u)), "{u}");
        }
    }
}
