//! The demo provider's HTML pages: login, consent, errors and the index.
//!
//! Everything reflected from a request is escaped with [`escape`]. Element ids (`username`,
//! `password`, `login`, `error`, `approve`, `deny`) are relied upon by the WebDriver tests.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::state::Shared;
use super::{DEMO_PASSWORD, DEMO_USERNAME, DEMO_USER_NAME};

/// Escapes text for use in HTML content and in double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#eef1f6;color:#1d2330;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{background:#fff;padding:2rem 2.25rem;border-radius:12px;box-shadow:0 6px 28px rgba(20,30,60,.12);\
width:min(26rem,92vw)}\
.brand{margin:0 0 .25rem;font-size:.85rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:#5a6475}\
h1{font-size:1.4rem;margin:0 0 1rem}\
label{display:block;font-weight:600;margin:.9rem 0 .3rem}\
input{width:100%;padding:.55rem .7rem;border:1px solid #b8c0cc;border-radius:6px;font-size:1rem}\
input:focus{outline:2px solid #2f5bd3;outline-offset:1px}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;border:0;border-radius:6px;font-size:1rem;\
background:#2f5bd3;color:#fff;cursor:pointer}\
button:hover{background:#2448ab}\
button.secondary{background:#e3e7ee;color:#1d2330}\
button.secondary:hover{background:#d3d9e3}\
.actions{display:flex;gap:.75rem}\
.hint{background:#f4f6fa;border:1px dashed #b8c0cc;border-radius:6px;padding:.5rem .75rem;font-size:.95rem}\
.error{background:#fdecee;color:#a3001b;border-radius:6px;padding:.5rem .75rem}\
code{font-family:ui-monospace,monospace;font-size:.9em}\
ul{padding-left:1.2rem}";

/// A complete HTML response. `title` is escaped here; `body` must already be safe HTML. The page frame
/// and its security headers are shared with the seed-provider emulators.
pub(crate) fn page(status: StatusCode, shared: &Shared, title: &str, body: &str) -> Response {
    crate::emulators::common::page(status, &shared.config.issuer_name, title, body)
}

/// An error page that is shown instead of redirecting (status 400 unless told otherwise).
pub(crate) fn error_page(
    status: StatusCode,
    shared: &Shared,
    title: &str,
    message: &str,
) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p id=\"error\" class=\"error\" role=\"alert\">{}</p>\n\
         <p>Go back to the application and start linking the account again.</p>\n",
        escape(title),
        escape(message),
    );
    page(status, shared, title, &body)
}

/// The login page for pending request `request_id`, optionally after a failed attempt.
pub(crate) fn login_page(
    shared: &Shared,
    request_id: &str,
    client_name: &str,
    username: &str,
    failed: bool,
) -> Response {
    let mut body = String::new();
    body.push_str("<h1>Sign in</h1>\n");
    let _ = writeln!(
        body,
        "<p>to continue to <strong>{}</strong></p>",
        escape(client_name)
    );
    let _ = writeln!(
        body,
        "<p class=\"hint\" id=\"demo-credentials\">Demo user: {DEMO_USERNAME} · Password: {DEMO_PASSWORD}</p>"
    );
    if failed {
        body.push_str(
            "<p id=\"error\" class=\"error\" role=\"alert\">Wrong user name or password</p>\n",
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
         <label for=\"username\">User name</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\" value=\"{username}\"{autofocus_user}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"{autofocus_password}>\n\
         <button id=\"login\" type=\"submit\">Sign in</button>\n\
         </form>\n",
        request_id = escape(request_id),
        username = escape(username),
        autofocus_user = if failed && !username.is_empty() { "" } else { " autofocus" },
        autofocus_password = if failed && !username.is_empty() { " autofocus" } else { "" },
    );
    page(StatusCode::OK, shared, "Sign in", &body)
}

/// The consent page for an authenticated pending request.
pub(crate) fn consent_page(
    shared: &Shared,
    request_id: &str,
    client_name: &str,
    scope: &str,
) -> Response {
    let mut body = String::new();
    body.push_str("<h1>Allow access?</h1>\n");
    let _ = writeln!(
        body,
        "<p id=\"consent-text\">{client} wants to access your {issuer} account (scopes: {scope})</p>",
        client = escape(client_name),
        issuer = escape(&shared.config.issuer_name),
        scope = escape(scope),
    );
    let _ = writeln!(
        body,
        "<p class=\"hint\">Signed in as {DEMO_USER_NAME} ({DEMO_USERNAME})</p>"
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/consent\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
         <div class=\"actions\">\n\
         <button id=\"approve\" name=\"decision\" value=\"approve\" type=\"submit\">Allow</button>\n\
         <button id=\"deny\" name=\"decision\" value=\"deny\" type=\"submit\" class=\"secondary\">Deny</button>\n\
         </div>\n</form>\n",
        request_id = escape(request_id),
    );
    page(StatusCode::OK, shared, "Allow access", &body)
}

/// `GET /`: what this server is and where its endpoints are.
pub(crate) async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let base = shared.base_url.as_str().trim_end_matches('/');
    let mut body = String::new();
    let _ = writeln!(body, "<h1>{}</h1>", escape(&shared.config.issuer_name));
    body.push_str(
        "<p>This is the <strong>demo provider</strong> of Account Linker: a small OAuth 2.0 \
         authorization server (authorization code grant with PKCE) for trying the app offline \
         and for its tests.</p>\n",
    );
    let _ = writeln!(
        body,
        "<p class=\"hint\">Demo user: {DEMO_USERNAME} · Password: {DEMO_PASSWORD}</p>"
    );
    body.push_str("<ul>\n");
    for (path, what) in [
        ("/authorize", "authorization endpoint"),
        ("/token", "token endpoint"),
        ("/userinfo", "user info"),
        ("/revoke", "token revocation (RFC 7009)"),
        (
            "/.well-known/oauth-authorization-server",
            "metadata (RFC 8414)",
        ),
    ] {
        let _ = writeln!(
            body,
            "<li><code>{}{path}</code> – {what}</li>",
            escape(base)
        );
    }
    body.push_str("</ul>\n");
    page(StatusCode::OK, &shared, "About", &body)
}

/// Any path the server does not serve.
pub(crate) async fn not_found(State(shared): State<Arc<Shared>>) -> Response {
    let body = "<h1>Not found</h1>\n<p id=\"error\" class=\"error\" role=\"alert\">This page does not exist.</p>\n\
                <p><a href=\"/\">About this server</a></p>\n";
    page(StatusCode::NOT_FOUND, &shared, "Not found", body)
}
