//! The login window: shows the provider's sign-in pages and captures the redirect to the app's scheme.
//!
//! The capture is `on_navigation`: WebKitGTK reports the custom-scheme navigation for a server 302/303
//! or a script redirect, and returning `false` stops it, so the redirect is never handed to the OS.
//! Every navigation goes through the flow's [`NavigationPolicy`]: only the provider's hosts load,
//! everything else is refused and logged. New windows (`target=_blank`, `window.open`) are denied.
//! Each flow starts with a fresh browsing session ([`session`]), cleared again when it ends. One sign-in
//! at a time: a new one closes the login window of the one before (which cancels it), because the
//! browsing data is shared.
//! The window's label starts with `login-`, which no capability names: pages there get no IPC at all.
//! Closing the window before the redirect cancels the flow, unless the flow was handed to the default
//! browser ([`super::signin`]). A navigation that shows the provider refusing embedded browsers
//! ([`crate::oauth::embedded`], e.g. Google's `disallowed_useragent`) is stopped, and the main window
//! offers to continue the same flow in the browser.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use url::Url;

use super::login_page;
use super::session::{self, SessionError};
use crate::ipc::{emit, IpcError, LinkFinished, EVENT_LINK_FINISHED};
use crate::linker::{LinkError, LinkStart, Linker};
use crate::oauth::embedded::refuses_embedded;
use crate::oauth::flow::FlowId;
use crate::oauth::navigation::Decision;

/// What the login window reports to its flow: at most one of these is sent.
enum Outcome {
    /// The redirect to the app's scheme.
    Redirect(Url),
    /// The provider refuses to sign in inside an embedded browser.
    EmbeddedRefused,
}

/// The label of the login window of a flow.
pub fn label(flow_id: &FlowId) -> String {
    format!("{LABEL_PREFIX}{}", flow_id.as_str().replace(|c: char| !c.is_ascii_alphanumeric(), ""))
}

/// Prefix of every login window's label.
pub const LABEL_PREFIX: &str = "login-";

/// Why a login window could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The previous sign-in's browsing data could not be cleared: the window is not opened with it.
    #[error("could not start a fresh sign-in session: {0}")]
    Session(#[from] SessionError),
    /// The window could not be built.
    #[error(transparent)]
    Window(#[from] tauri::Error),
}

/// Opens a login window for a started flow, after closing any other login window (cancelling its flow)
/// and clearing the browsing data of earlier sign-ins.
pub async fn open(app: &AppHandle, linker: Arc<Linker>, start: LinkStart) -> Result<(), OpenError> {
    let _gate = session::GATE.lock().await;
    for (label, window) in app.webview_windows() {
        if label.starts_with(LABEL_PREFIX) {
            tracing::info!(window = label, "a new sign-in replaces the open one");
            if let Err(e) = window.destroy() {
                tracing::warn!(error = %e, "could not close the earlier login window");
            }
        }
    }
    session::clear(app).await?;
    let label = label(&start.flow_id);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
    let captured = Arc::new(AtomicBool::new(false));
    let captured_nav = captured.clone();
    let policy = start.navigation.clone();
    let (nav_flow, new_window_flow) = (start.flow_id.clone(), start.flow_id.clone());
    let window = WebviewWindowBuilder::new(app, &label, WebviewUrl::External(start.authorize_url.clone()))
        .title(login_page::title(&start.provider_name, &start.authorize_url, true))
        .inner_size(520.0, 720.0)
        .min_inner_size(380.0, 480.0)
        .center()
        .on_navigation(move |url| match policy.decide(url) {
            _ if refuses_embedded(url) => {
                tracing::warn!(flow = nav_flow.as_str(), host = url.host_str().unwrap_or(""), "the provider refuses embedded browsers");
                if !captured_nav.swap(true, Ordering::SeqCst) && tx.send(Outcome::EmbeddedRefused).is_err() {
                    tracing::warn!("refusal seen after the flow ended");
                }
                false
            }
            Decision::Allow => true,
            Decision::Capture(url) => {
                // Taken exactly once; never loaded, never handed to the OS.
                if !captured_nav.swap(true, Ordering::SeqCst) && tx.send(Outcome::Redirect(url)).is_err() {
                    tracing::warn!("redirect captured after the flow ended");
                }
                false
            }
            Decision::Refuse(reason) => {
                tracing::warn!(flow = nav_flow.as_str(), %reason, "login window: navigation refused");
                false
            }
        })
        .on_page_load({
            let name = start.provider_name.clone();
            move |window, page| {
                let loading = matches!(page.event(), tauri::webview::PageLoadEvent::Started);
                if let Err(e) = window.set_title(&login_page::title(&name, page.url(), loading)) {
                    tracing::debug!(error = %e, "could not set the login window's title");
                }
            }
        })
        .on_new_window(move |url, _features| {
            tracing::warn!(flow = new_window_flow.as_str(), scheme = url.scheme(), host = url.host_str().unwrap_or(""),
                "login window: new window refused");
            NewWindowResponse::Deny
        })
        .build()?;
    login_page::watch_failures(&window, start.provider_id.clone(), start.provider_name.clone())?;

    let flow_id = start.flow_id.clone();
    let reconnect = linker.reconnect_target(&flow_id).is_some();
    let captured_close = captured;
    let cancel_linker = linker.clone();
    let cancel_app = app.clone();
    let cancel_provider = start.provider_id.clone();
    let cancel_label = label.clone();
    window.on_window_event(move |event| {
        let closed_by_user = matches!(event, WindowEvent::Destroyed) && !captured_close.load(Ordering::SeqCst);
        if closed_by_user && cancel_linker.cancel_in_window(&flow_id) {
            finished(&cancel_app, flow_id.as_str(), &cancel_provider, reconnect, Err(LinkError::Cancelled));
            forget_session(cancel_app.clone(), cancel_label.clone());
        }
    });

    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let url = match rx.recv().await {
            Some(Outcome::Redirect(url)) => url,
            Some(Outcome::EmbeddedRefused) => {
                super::signin::embedded_refused(&app, &linker, &start.flow_id).await;
                return forget_session(app, label);
            }
            // The window is gone without an outcome: closed, cancelled, or handed to the browser.
            None => return forget_session(app, label),
        };
        let flow = linker.take_flow(&start.flow_id);
        super::signin::close_login_window(&app, &start.flow_id);
        let result = match flow {
            Some(flow) => linker.finish(flow, url.as_str()).await.map(|a| a.id),
            None => Err(LinkError::NoPendingFlow),
        };
        finished(&app, start.flow_id.as_str(), &start.provider_id, reconnect, result);
        forget_session(app, label);
    });
    Ok(())
}

/// Clears the ended flow's browsing data in the background: nothing of a sign-in outlives it. When
/// another sign-in has begun meanwhile, it started from cleared data and must keep its own.
fn forget_session(app: AppHandle, ended_label: String) {
    tauri::async_runtime::spawn(async move {
        let _gate = session::GATE.lock().await;
        if app.webview_windows().keys().any(|l| l.starts_with(LABEL_PREFIX) && *l != ended_label) {
            return;
        }
        if let Err(e) = session::clear(&app).await {
            tracing::warn!(error = %e, "could not clear the browsing data after the sign-in");
        }
    });
}

/// Tells the main window how a sign-in (or a reconnect) ended (`flow_id` empty for a redirect that
/// belonged to none), and brings it to the front.
pub fn finished(app: &AppHandle, flow_id: &str, provider_id: &str, reconnect: bool, result: Result<String, LinkError>) {
    let ok = result.is_ok();
    let (account_id, error) = match result {
        Ok(id) => (Some(id), None),
        Err(e) => (None, Some(IpcError::from(e))),
    };
    let outcome = LinkFinished { flow_id: flow_id.to_owned(), provider_id: provider_id.to_owned(), account_id, error, reconnect };
    if let Some(early) = app.try_state::<crate::ipc::EarlyOutcomes>() {
        early.keep(&outcome);
    }
    emit(app, EVENT_LINK_FINISHED, outcome);
    if ok {
        crate::ipc::accounts_changed(app);
    }
    if let Some(main) = app.get_webview_window(crate::windows::MAIN_WINDOW) {
        if let Err(e) = main.set_focus() {
            tracing::debug!(error = %e, "could not focus the main window");
        }
    }
}
