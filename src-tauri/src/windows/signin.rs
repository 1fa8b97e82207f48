//! A sign-in from the desktop's side: where it happens (the login window or the default browser), the
//! hand-off from one to the other, and redirects that come back through the app's URI scheme.
//!
//! Why the controls live in the main window: the login window shows third-party pages and gets no IPC at
//! all, so nothing can be put into its page. While a sign-in is pending, the main window shows "Signing in
//! at <provider> (<host>)…" with Continue in your browser, Copy sign-in link and Cancel (ui/src/views/
//! signin.js). "Continue in your browser" keeps the flow (same `state`, same PKCE verifier), opens its
//! link in the default browser and closes the login window without cancelling. The browser's redirect to
//! `org.accountlinker.app:/oauth2/…` starts `account-linker URL`; the single-instance plugin hands the URL
//! to this process ([`arrived`]), where [`Linker::route`] finds the flow by redirect URI and `state`.

use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Manager};
use url::Url;

use super::login;
use crate::ipc::{emit, IpcError, EVENT_SIGN_IN_PENDING};
use crate::linker::{HandOff, LinkError, LinkStart, Linker, PendingView};
use crate::oauth::flow::FlowId;
use crate::oauth::redirect::is_app_scheme;
use crate::providers::LoginMode;

/// A pending sign-in as the main window shows it, and what just happened to it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInPending {
    /// The flow, its provider and where the user signs in.
    #[serde(flatten)]
    pub flow: PendingView,
    /// Why it moved to the browser (`user`, `embedded_refused`), when it did.
    pub handed_off: Option<&'static str>,
    /// Whether the browser was opened with the link (`false`: it is waiting for the user to choose).
    pub browser_opened: bool,
    /// Why the browser could not be opened, when that failed (the user can copy the link instead).
    pub browser_error: Option<IpcError>,
}

/// Starts a sign-in: cancels any other pending one (one at a time), then opens the login window, or
/// the default browser for a provider with `login = "browser"`.
pub async fn start(app: &AppHandle, linker: Arc<Linker>, provider_id: &str, tenant: Option<&str>) -> Result<SignInPending, IpcError> {
    cancel_all(app, &linker);
    let start = linker.begin(provider_id, tenant).await?;
    open(app, linker, start).await
}

/// Starts a reconnect of an existing account ("Reconnect"): a sign-in like [`start`], at the account's
/// provider and tenant, whose tokens replace the account's own.
pub async fn start_reconnect(app: &AppHandle, linker: Arc<Linker>, account_id: &str) -> Result<SignInPending, IpcError> {
    cancel_all(app, &linker);
    let start = linker.begin_reconnect(account_id).await?;
    open(app, linker, start).await
}

/// One sign-in at a time: a new one cancels those still pending.
fn cancel_all(app: &AppHandle, linker: &Linker) {
    for earlier in linker.pending_ids() {
        cancel(app, linker, &earlier);
    }
}

async fn open(app: &AppHandle, linker: Arc<Linker>, start: LinkStart) -> Result<SignInPending, IpcError> {
    let flow_id = start.flow_id.clone();
    let view = linker.pending(&flow_id).ok_or(LinkError::NoPendingFlow)?;
    if view.login == LoginMode::Browser {
        let browser_error = open_browser(start.authorize_url.clone()).await.err();
        return Ok(SignInPending { flow: view, handed_off: None, browser_opened: browser_error.is_none(), browser_error });
    }
    if let Err(e) = login::open(app, linker.clone(), start).await {
        linker.cancel(&flow_id);
        return Err(IpcError { code: "window".into(), message: format!("could not open the sign-in window: {e}") });
    }
    Ok(SignInPending { flow: view, handed_off: None, browser_opened: false, browser_error: None })
}

/// Moves a pending sign-in to the default browser: marks the flow, closes its login window (without
/// cancelling) and, when `open` is set, opens the link. A browser that can't be opened leaves the flow
/// pending: the answer says why, and the user can copy the link.
pub async fn hand_off(app: &AppHandle, linker: &Linker, flow_id: &FlowId, why: HandOff, open: bool) -> Result<SignInPending, IpcError> {
    let link = linker.hand_off(flow_id, why)?;
    close_login_window(app, flow_id);
    let browser_error = if open { open_browser(link).await.err() } else { None };
    let flow = linker.pending(flow_id).ok_or(LinkError::NoPendingFlow)?;
    Ok(SignInPending { flow, handed_off: Some(why.as_str()), browser_opened: open && browser_error.is_none(), browser_error })
}

/// The provider refused the login window (e.g. Google's `disallowed_useragent`): the flow moves to the
/// browser side and the main window offers to continue there.
pub async fn embedded_refused(app: &AppHandle, linker: &Linker, flow_id: &FlowId) {
    match hand_off(app, linker, flow_id, HandOff::EmbeddedRefused, false).await {
        Ok(pending) => emit(app, EVENT_SIGN_IN_PENDING, pending),
        Err(e) => tracing::warn!(flow = flow_id.as_str(), code = e.code, "could not offer the browser hand-off"),
    }
    super::show_main(app);
}

/// Cancels a pending sign-in (the Cancel button, or a new sign-in replacing it).
pub fn cancel(app: &AppHandle, linker: &Linker, flow_id: &FlowId) {
    let provider_id = linker.pending(flow_id).map(|p| p.provider_id);
    let reconnect = linker.reconnect_target(flow_id).is_some();
    if linker.cancel(flow_id) {
        login::finished(app, flow_id.as_str(), provider_id.as_deref().unwrap_or_default(), reconnect, Err(LinkError::Cancelled));
    }
    close_login_window(app, flow_id);
}

/// A URL handed to the app by the OS (its URI scheme): a redirect that ends a sign-in. It is routed to
/// its pending flow by redirect URI and `state`, checked like the login window's capture, and the code
/// exchanged at once. One that belongs to no pending flow is refused, recorded and shown in words;
/// nothing is stored. The URL itself is never logged (it carries the code).
pub async fn arrived(app: AppHandle, linker: Arc<Linker>, url: Url) {
    let app = &app;
    if !is_app_scheme(&url) {
        tracing::warn!(scheme = url.scheme(), "a link of another scheme was handed to the app; ignored");
        return;
    }
    super::show_main(app);
    let flow = match linker.route(url.as_str()) {
        Ok(flow) => flow,
        Err(e) => return login::finished(app, "", "", false, Err(e)),
    };
    let (flow_id, provider_id) = (flow.id.clone(), flow.provider_id.clone());
    // The user may have opened the copied link elsewhere while the login window was still open.
    close_login_window(app, &flow_id);
    let reconnect = linker.reconnect_target(&flow_id).is_some();
    let result = linker.finish(flow, url.as_str()).await.map(|a| a.id);
    login::finished(app, flow_id.as_str(), &provider_id, reconnect, result);
}

/// Closes a flow's login window, if it is open.
pub(crate) fn close_login_window(app: &AppHandle, flow_id: &FlowId) {
    if let Some(window) = app.get_webview_window(&login::label(flow_id)) {
        if let Err(e) = window.destroy() {
            tracing::warn!(error = %e, "could not close the login window");
        }
    }
}

async fn open_browser(link: Url) -> Result<(), IpcError> {
    let opened = tauri::async_runtime::spawn_blocking(move || crate::desktop::browser::open(&link)).await;
    opened
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|message| IpcError { code: "browser".into(), message })
}
