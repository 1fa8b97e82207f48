//! What the login window tells the user about itself: a title naming the provider and the host being
//! visited (with "loading…" while a page loads), and a plain error page with a "Try again" link when a
//! page can't be loaded (offline, DNS, TLS, refused) instead of a blank window. The main window hears of
//! the failure too ([`crate::ipc::EVENT_LOGIN_LOAD_FAILED`]).
//!
//! The words come from the UI's resource files (`ui/i18n/*.json`, keys `login.*`), in the language the
//! main window uses ([`set_language`]), so all text stays in one place. The login window itself gets no
//! IPC: everything here happens on the Rust side.

use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::{Map, Value};
use tauri::Manager;
use url::Url;

const UNSET: u8 = 0;
const ENGLISH: u8 = 1;
const GERMAN: u8 = 2;
static LANGUAGE: AtomicU8 = AtomicU8::new(UNSET);

/// Uses the main window's language (`"de"` or `"en"`) for the login window; anything else is ignored.
pub fn set_language(code: Option<&str>) {
    match code {
        Some("de") => LANGUAGE.store(GERMAN, Ordering::Relaxed),
        Some("en") => LANGUAGE.store(ENGLISH, Ordering::Relaxed),
        _ => {}
    }
}

fn german() -> bool {
    match LANGUAGE.load(Ordering::Relaxed) {
        UNSET => crate::desktop::prefers_german(),
        l => l == GERMAN,
    }
}

/// The text for `key` with `{name}` placeholders filled, from `ui/i18n`.
fn text(key: &str, params: &[(&str, &str)]) -> String {
    static EN: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    static DE: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let load = |json: &str| serde_json::from_str(json).unwrap_or_default();
    let en = EN.get_or_init(|| load(include_str!("../../../ui/i18n/en.json")));
    let de = DE.get_or_init(|| load(include_str!("../../../ui/i18n/de.json")));
    let catalog = if german() { de } else { en };
    let mut out = catalog.get(key).or_else(|| en.get(key)).and_then(Value::as_str).unwrap_or(key).to_owned();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The window's title: the provider's name and the host shown, "loading…" while it loads.
pub fn title(provider: &str, url: &Url, loading: bool) -> String {
    let host = url.host_str().unwrap_or_default();
    let key = if loading { "login.titleLoading" } else { "login.title" };
    text(key, &[("name", provider), ("host", host)])
}

/// What kind of failure a load error is; `None` for what is no failure to show: a navigation the
/// window's policy stopped (the captured redirect, a refused host) or a load replaced by another.
pub fn failure_kind(domain: &str, code: i32, message: &str) -> Option<&'static str> {
    match domain {
        "WebKitPolicyError" | "webkit-policy-error-quark" => None,
        "g-resolver-error-quark" => Some("dns"),
        "g-tls-error-quark" => Some("tls"),
        // GIO's codes: 39 connection refused, 28 host not found, 37/38 host/network unreachable,
        // 24 timed out, 19 cancelled (a newer load replaced this one).
        "g-io-error-quark" => match code {
            39 => Some("refused"),
            28 => Some("dns"),
            37 | 38 | 24 => Some("offline"),
            19 => None,
            _ => Some("other"),
        },
        // WebKit's own network errors: 302 is "cancelled" (a newer load replaced this one).
        "WebKitNetworkError" | "webkit-network-error-quark" if code == 302 => None,
        _ if message.contains("TLS") || message.contains("certificate") => Some("tls"),
        _ if message.contains("resolve") => Some("dns"),
        _ if message.contains("refused") => Some("refused"),
        _ => Some("other"),
    }
}

/// A small self-contained page saying why `url` could not be shown, with a link to try again.
pub fn error_page(provider: &str, url: &Url, kind: &str, detail: &str) -> String {
    let host = url.host_str().unwrap_or_default();
    let params = [("name", provider), ("host", host)];
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let lang = if german() { "de" } else { "en" };
    format!(
        r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="color-scheme" content="light dark"><title>{title}</title>
<style>body{{font:15px/1.5 system-ui,Cantarell,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh}}
main{{max-width:30rem;padding:2rem}}h1{{font-size:1.25rem}}code{{font-size:.85rem;opacity:.75;overflow-wrap:anywhere}}
a{{display:inline-block;margin-top:1rem;padding:.45rem 1rem;border-radius:7px;background:#2a5bd7;color:#fff;text-decoration:none}}
a:focus-visible{{outline:3px solid #1a73e8;outline-offset:2px}}</style></head>
<body><main id="load-failed" data-kind="{kind}" role="alert"><h1>{title}</h1><p>{why}</p><p>{hint}</p><p><code>{detail}</code></p>
<a id="retry" href="{retry}">{again}</a></main></body></html>"#,
        title = esc(&text("login.failedTitle", &params)),
        why = esc(&text(&format!("login.failed.{kind}"), &params)),
        hint = esc(&text("login.failedHint", &params)),
        detail = esc(detail),
        retry = esc(url.as_str()),
        again = esc(&text("login.retry", &params)),
    )
}

/// Shows [`error_page`] in the login window when one of its pages fails to load, and tells the main
/// window ([`crate::ipc::EVENT_LOGIN_LOAD_FAILED`]). Failures that are none (see [`failure_kind`]) keep
/// WebKit's default handling.
pub fn watch_failures(window: &tauri::WebviewWindow, provider_id: String, provider_name: String) -> tauri::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use webkit2gtk::glib::translate::IntoGlib;
        use webkit2gtk::{gio, NetworkError, WebViewExt};
        let app = window.app_handle().clone();
        window.with_webview(move |webview| {
            webview.inner().connect_load_failed(move |view, _event, uri, error| {
                let Ok(url) = Url::parse(uri) else { return false };
                let domain = error.domain().as_str().to_owned();
                let code = error
                    .kind::<gio::IOErrorEnum>()
                    .map(IntoGlib::into_glib)
                    .or_else(|| error.kind::<NetworkError>().map(IntoGlib::into_glib))
                    .unwrap_or(-1);
                let Some(kind) = failure_kind(&domain, code, error.message()) else { return false };
                tracing::warn!(provider = provider_id.as_str(), host = url.host_str().unwrap_or(""), kind, %domain,
                    code, error = error.message(), "login window: page failed to load");
                let payload = crate::ipc::LoginLoadFailed {
                    provider_id: provider_id.clone(),
                    host: url.host_str().unwrap_or_default().to_owned(),
                    kind,
                    message: error.message().to_owned(),
                };
                crate::ipc::emit(&app, crate::ipc::EVENT_LOGIN_LOAD_FAILED, payload);
                view.load_alternate_html(&error_page(&provider_name, &url, kind, error.message()), uri, None);
                true
            });
        })?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (window, provider_id, provider_name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_told_apart_and_stopped_navigations_are_none() {
        assert_eq!(failure_kind("g-io-error-quark", 39, "Connection refused"), Some("refused"));
        assert_eq!(failure_kind("g-resolver-error-quark", 0, "Error resolving “x”"), Some("dns"));
        assert_eq!(failure_kind("g-tls-error-quark", 1, "Unacceptable TLS certificate"), Some("tls"));
        assert_eq!(failure_kind("g-io-error-quark", 38, "Network is unreachable"), Some("offline"));
        assert_eq!(failure_kind("g-io-error-quark", 19, "Operation was cancelled"), None);
        assert_eq!(failure_kind("WebKitPolicyError", 102, "Frame load interrupted by policy change"), None);
        assert_eq!(failure_kind("WebKitNetworkError", 302, "Load request cancelled"), None);
    }

    #[test]
    fn the_error_page_names_the_host_escapes_and_links_back() {
        set_language(Some("en"));
        let url = Url::parse("http://127.0.0.1:9/authorize?state=a&b=<c>").unwrap();
        let page = error_page("Demo <Provider>", &url, "refused", "Connection refused");
        assert!(page.contains("127.0.0.1"), "{page}");
        assert!(page.contains("href=\"http://127.0.0.1:9/authorize?state=a&amp;b=%3Cc%3E\""), "{page}");
        assert!(!page.contains("<Provider>") && !page.contains("{name}") && !page.contains("{host}"), "{page}");
        assert_eq!(title("Demo", &url, true), "Sign in to Demo — 127.0.0.1 (loading…)");
        assert_eq!(title("Demo", &url, false), "Sign in to Demo — 127.0.0.1");
    }
}
