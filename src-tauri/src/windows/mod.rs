//! Windows of the app: the main window's label and the login window.

pub mod login;

/// Label of the main window (named in `capabilities/main.json`).
pub const MAIN_WINDOW: &str = "main";
