//! Windows of the app: the main window, the login window and the tray.

pub mod login;
pub mod login_page;
pub mod session;
pub mod signin;
pub mod tray;

#[cfg(test)]
mod lockdown;

use tauri::{AppHandle, Manager};

/// Label of the main window (named in `capabilities/main.json`).
pub const MAIN_WINDOW: &str = "main";

/// Shows and focuses the main window, creating it again if it was closed to the tray.
pub fn show_main(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let shown = window.unminimize().and_then(|()| window.show()).and_then(|()| window.set_focus());
        if let Err(e) = shown {
            tracing::warn!(error = %e, "could not show the main window");
        }
        return;
    }
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == MAIN_WINDOW).cloned() else { return };
    let built = tauri::WebviewWindowBuilder::from_config(app, &config).and_then(|b| b.build());
    if let Err(e) = built {
        tracing::error!(error = %e, "could not open the main window");
    }
}
