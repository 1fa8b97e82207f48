//! A hostile page for the app's lock-down tests, routed only with the test controls.
//!
//! Shown in the app's login window, it plays a compromised provider page: it calls the app's and a
//! plugin's commands through `window.__TAURI_INTERNALS__` and shows what came back (`data-outcome` on
//! `#ipc-app`, `#ipc-plugin` and `#ipc-webview`: `refused` or `allowed`), shows whether an earlier visit
//! left something in local storage (`#remembered`: `nothing` or `yes`), and it offers links and
//! buttons that try to leave the provider: an unknown host, plain http, `data:`, `file:`,
//! `javascript:`, `blob:`, a server redirect to an unknown host, `target=_blank` and `window.open`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Where the links try to go: a host that is never one of the provider's.
pub const FOREIGN_URL: &str = "https://foreign.invalid/phish";

const BODY: &str = r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Hostile page</title></head>
<body>
<h1 id="hostile">Hostile page</h1>
<p>App command: <output id="ipc-app" data-outcome="pending">pending</output></p>
<p>Plugin command: <output id="ipc-plugin" data-outcome="pending">pending</output></p>
<p>Create a webview: <output id="ipc-webview" data-outcome="pending">pending</output></p>
<p>window.open: <output id="open-result">not tried</output></p>
<p>Remembered in local storage: <output id="remembered">pending</output></p>
<ul>
<li><a id="to-foreign" href="https://foreign.invalid/phish">an unknown host</a></li>
<li><a id="to-http" href="http://foreign.invalid/phish">plain http to an unknown host</a></li>
<li><a id="to-data" href="data:text/html,%3Ch1%20id%3Dpwned%3Epwned%3C%2Fh1%3E">a data: URL</a></li>
<li><a id="to-file" href="file:///etc/passwd">a file: URL</a></li>
<li><a id="to-javascript" href="javascript:location.href='https://foreign.invalid/from-javascript'">a javascript: URL</a></li>
<li><a id="to-redirect" href="/_control/redirect-away">a server redirect to an unknown host</a></li>
<li><a id="to-blank" href="/" target="_blank">target=_blank</a></li>
<li><button id="to-blob" type="button">a blob: URL</button></li>
<li><button id="open-window" type="button">window.open</button></li>
</ul>
<script>
function probe(id, command, args) {
  const out = document.getElementById(id);
  const done = (outcome, text) => { out.dataset.outcome = outcome; out.textContent = text; };
  const ipc = window.__TAURI_INTERNALS__;
  if (!ipc || typeof ipc.invoke !== 'function') return done('refused', 'no IPC in this window');
  const timer = setTimeout(() => done('refused', 'no answer'), 5000);
  ipc.invoke(command, args).then(
    (value) => { clearTimeout(timer); done('allowed', JSON.stringify(value)); },
    (error) => { clearTimeout(timer); done('refused', String(error)); },
  );
}
const remembered = localStorage.getItem('hostile-remembered');
document.getElementById('remembered').textContent = remembered ?? 'nothing';
localStorage.setItem('hostile-remembered', 'yes');
probe('ipc-app', 'list_accounts', {});
probe('ipc-plugin', 'plugin:app|version', {});
probe('ipc-webview', 'plugin:webview|create_webview_window', { options: { label: 'evil', url: 'https://foreign.invalid/' } });
document.getElementById('to-blob').addEventListener('click', () => {
  location.href = URL.createObjectURL(new Blob(['<h1 id="pwned">pwned</h1>'], { type: 'text/html' }));
});
document.getElementById('open-window').addEventListener('click', () => {
  const w = window.open('/', 'popup');
  document.getElementById('open-result').textContent = w ? 'opened' : 'blocked';
});
</script>
</body>
</html>
"#;

/// `GET /_control/hostile-page`: the page above, without a CSP, so that nothing but the app stops it.
pub(crate) async fn hostile_page() -> Response {
    let mut response = (StatusCode::OK, BODY).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /_control/redirect-away`: a `302` to [`FOREIGN_URL`].
pub(crate) async fn redirect_away() -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, HeaderValue::from_static(FOREIGN_URL))],
    )
        .into_response()
}
