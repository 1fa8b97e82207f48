//! Integration tests: the app's domain against the demo provider over real HTTP on 127.0.0.1 and a real
//! Secret Service (started by `scripts/test.sh` inside `dbus-run-session`). One binary, so tests link once.

mod browser;
mod cli;
mod diagnose;
mod link;
mod notify;
mod refresh;
pub mod oidc;
mod seeds;
mod system_browser;
mod ui_text;
mod vault;
