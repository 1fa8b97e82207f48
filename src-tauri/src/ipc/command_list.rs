/// Every app command, written once: `build.rs` includes this file to generate a permission per command,
/// and `capabilities/main.json` grants them to the main window only.
pub const COMMANDS: &[&str] =
    &["list_providers", "list_accounts", "connect", "reconnect", "disconnect", "refresh_account", "account_report", "test_api_call",
        "save_report", "continue_in_browser", "sign_in_link", "cancel_sign_in", "startup_outcomes"];
