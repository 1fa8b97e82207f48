//! A fresh browsing session for every sign-in: the provider's cookies, caches and storage are cleared
//! before a flow's first page loads and again when the flow ends, so linking a second account at the same
//! provider never silently reuses the first one's login.
//!
//! A separate data directory or an incognito webview would do the same, but WebKitGTK then hides the
//! window from WebDriver; clearing the shared data keeps the login window testable. On Linux every webview
//! of the app shares one WebKit context, so the data is reached through the main window's webview and
//! the clearing is awaited. The app's own origin keeps its local storage (the UI's language choice): it
//! belongs to the app, not to a provider.

use std::time::Duration;

use tauri::{AppHandle, Manager, WebviewWindow};

/// How long clearing may take before the sign-in is refused rather than started with old data.
const LIMIT: Duration = Duration::from_secs(10);

/// Held while a sign-in's session is set up (old login window closed, data cleared, new window opened)
/// and while an ended one's data is cleared, so that clearing never hits a sign-in in progress.
pub static GATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Why the browsing data could not be cleared.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No window is open to reach the browsing data through.
    #[error("no window is open to reach the browsing data through")]
    NoWindow,
    /// The webview could not be reached.
    #[error("the webview could not be reached: {0}")]
    Webview(#[from] tauri::Error),
    /// The webview has no website data manager.
    #[error("the webview has no website data manager")]
    NoDataManager,
    /// WebKit reported an error while clearing.
    #[error("WebKit could not clear the browsing data: {0}")]
    Clear(String),
    /// The clearing never reported back (the window went away).
    #[error("clearing the browsing data was interrupted")]
    Interrupted,
    /// WebKit did not report back in time.
    #[error("clearing the browsing data took longer than {} s", LIMIT.as_secs())]
    TimedOut,
}

/// Clears every provider's browsing data and waits until it is gone.
pub async fn clear(app: &AppHandle) -> Result<(), SessionError> {
    let window = app
        .get_webview_window(super::MAIN_WINDOW)
        .or_else(|| app.webview_windows().into_values().next())
        .ok_or(SessionError::NoWindow)?;
    tokio::time::timeout(LIMIT, clear_through(&window)).await.map_err(|_| SessionError::TimedOut)?
}

#[cfg(target_os = "linux")]
async fn clear_through(window: &WebviewWindow) -> Result<(), SessionError> {
    use tokio::sync::oneshot;
    use webkit2gtk::{gio, glib, WebViewExt, WebsiteDataManagerExt, WebsiteDataManagerExtManual, WebsiteDataTypes};

    // The app's own origin (tauri://localhost): its local storage is the app's, not a provider's.
    let app_site = window.url().ok().and_then(|u| u.host_str().map(str::to_owned));
    let (cleared_tx, cleared_rx) = oneshot::channel::<Result<(), SessionError>>();
    let (storage_tx, storage_rx) = oneshot::channel::<Result<usize, SessionError>>();
    window.with_webview(move |webview| {
        let Some(manager) = webview.inner().website_data_manager() else {
            let _ = cleared_tx.send(Err(SessionError::NoDataManager));
            return;
        };
        let everything_but_local_storage = WebsiteDataTypes::ALL - WebsiteDataTypes::LOCAL_STORAGE;
        manager.clear(everything_but_local_storage, glib::TimeSpan::from_seconds(0), None::<&gio::Cancellable>, move |r| {
            let _ = cleared_tx.send(r.map_err(|e| SessionError::Clear(e.to_string())));
        });
        let remover = manager.clone();
        manager.fetch(WebsiteDataTypes::LOCAL_STORAGE, None::<&gio::Cancellable>, move |r| {
            let sites = match r {
                Ok(sites) => sites,
                Err(e) => {
                    let _ = storage_tx.send(Err(SessionError::Clear(e.to_string())));
                    return;
                }
            };
            let providers: Vec<_> = sites.iter().filter(|s| s.name().as_deref() != app_site.as_deref()).collect();
            for site in &sites {
                let name = site.name();
                tracing::debug!(site = name.as_deref().unwrap_or(""), kept = name.as_deref() == app_site.as_deref(), "local storage");
            }
            let count = providers.len();
            if count == 0 {
                // Nothing to remove (WebKitGTK 2.50 does not call back when asked to remove nothing).
                let _ = storage_tx.send(Ok(0));
                return;
            }
            remover.remove(WebsiteDataTypes::LOCAL_STORAGE, &providers, None::<&gio::Cancellable>, move |r| {
                let _ = storage_tx.send(r.map(|()| count).map_err(|e| SessionError::Clear(e.to_string())));
            });
        });
    })?;
    cleared_rx.await.map_err(|_| SessionError::Interrupted)??;
    let sites = storage_rx.await.map_err(|_| SessionError::Interrupted)??;
    tracing::info!(local_storage_sites = sites, "browsing data of login windows cleared");
    Ok(())
}

#[cfg(not(target_os = "linux"))]
async fn clear_through(window: &WebviewWindow) -> Result<(), SessionError> {
    // Elsewhere the platform clears asynchronously without telling when it is done.
    window.clear_all_browsing_data()?;
    Ok(())
}
