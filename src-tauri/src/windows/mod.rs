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
    open_main(app);
}

/// Makes the main window. On Linux its page is painted without GPU compositing: the page is a plain
/// document (no video, WebGL or 3D transforms), and a composited page costs a GL context and its
/// textures in the web process (measured by `benches/app.sh`: see the README). Login windows show the
/// providers' pages and keep WebKit's default.
pub fn open_main(app: &AppHandle) {
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == MAIN_WINDOW).cloned() else { return };
    // The window starts blank and the page loads once the policy is set, so WebKit never sets up
    // compositing for it only to tear it down again.
    #[cfg(target_os = "linux")]
    let mut config = config;
    #[cfg(target_os = "linux")]
    let page = std::mem::replace(&mut config.url, tauri::WebviewUrl::External("about:blank".parse().expect("a valid URL")));
    let window = match tauri::WebviewWindowBuilder::from_config(app, &config).and_then(|b| b.build()) {
        Ok(window) => window,
        Err(e) => return tracing::error!(error = %e, "could not open the main window"),
    };
    #[cfg(target_os = "linux")]
    load_without_gpu(&window, &page);
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// Sets the web view's hardware-acceleration policy to "never", then loads `page`.
#[cfg(target_os = "linux")]
fn load_without_gpu(window: &tauri::WebviewWindow, page: &tauri::WebviewUrl) {
    let url = match page {
        // Tauri serves the app's own files under this origin on Linux.
        tauri::WebviewUrl::App(path) => format!("tauri://localhost/{}", path.to_string_lossy().trim_start_matches('/')),
        other => other.to_string(),
    };
    let set = window.with_webview(move |webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        let view = webview.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
        view.load_uri(&url);
    });
    if let Err(e) = set {
        tracing::error!(error = %e, "could not load the main window's page");
    }
}
