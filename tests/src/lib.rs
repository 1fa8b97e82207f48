//! Test support for Account Linker.
//!
//! This crate holds the **demo provider**: a small OAuth 2.0 authorization server
//! ([RFC 6749] with [RFC 7636] PKCE, [RFC 7009] revocation and an OpenID-Connect-style
//! `id_token` and `/userinfo`). It serves three audiences:
//!
//! 1. newcomers, who run the `demo-provider` binary to link an account with the desktop app
//!    without any network access or real provider account;
//! 2. the integration tests (`tests/it`), which start it in-process with
//!    [`demo_provider::DemoServer::start`];
//! 3. the end-to-end WebDriver tests, which type into its HTML login form inside the app's
//!    webview.
//!
//! It also holds [`emulators`]: test servers that emulate real providers (Zählerfreunde,
//! Youthweb, Adobe Workfront) with their documented quirks and fault injection.
//!
//! [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [RFC 7009]: https://www.rfc-editor.org/rfc/rfc7009

pub mod demo_provider;
pub mod emulators;

/// Waits for SIGINT (ctrl-c) or, on Unix, SIGTERM.
pub async fn until_stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                eprintln!("cannot listen for SIGTERM: {error}");
                if let Err(e) = tokio::signal::ctrl_c().await {
                    eprintln!("cannot listen for ctrl-c: {e}");
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

