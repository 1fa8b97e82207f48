//! IPC commands: thin adapters from the web UI to the [`crate::linker::Linker`].
//!
//! Each parses its arguments, calls one domain function and maps the error to `{code, message}`.
//! Arguments are never logged (they can hold codes or tokens). The command list is [`COMMANDS`],
//! also read by `build.rs` to generate one permission per command.

pub mod notices;

use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::linker::{AccountView, HandOff, LinkError, Linker};
use crate::oauth::flow::FlowId;
use crate::refresh::RefresherHandle;
use crate::providers::ProviderView;
use crate::windows::signin::{self, SignInPending};

/// Event sent when the account list changed.
pub const EVENT_ACCOUNTS_CHANGED: &str = "accounts-changed";
/// Event sent when the background refresher starts refreshing an account (payload: its id).
pub const EVENT_ACCOUNT_REFRESHING: &str = "account-refreshing";
/// Event sent when a sign-in finished, successfully or not.
pub const EVENT_LINK_FINISHED: &str = "link-finished";
/// Event sent when a page in the login window could not be loaded (payload: [`LoginLoadFailed`]).
pub const EVENT_LOGIN_LOAD_FAILED: &str = "login-load-failed";

/// Payload of [`EVENT_LOGIN_LOAD_FAILED`]: which page failed and why, in words (no query string: it
/// may hold the flow's `state`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginLoadFailed {
    /// The provider.
    pub provider_id: String,
    /// The host that could not be reached.
    pub host: String,
    /// What went wrong: `offline`, `dns`, `tls`, `refused` or `other`.
    pub kind: &'static str,
    /// WebKit's own words.
    pub message: String,
}

/// Event sent when a pending sign-in changed without the main window asking (the provider refused the
/// login window, and the main window offers the browser).
pub const EVENT_SIGN_IN_PENDING: &str = "sign-in-pending";

/// An error as the UI receives it.
#[derive(Debug, Clone, Serialize)]
pub struct IpcError {
    /// Stable code the UI may branch on.
    pub code: String,
    /// Words for the user.
    pub message: String,
}

impl From<LinkError> for IpcError {
    fn from(e: LinkError) -> Self {
        Self { code: e.code().to_owned(), message: e.to_string() }
    }
}

/// Payload of [`EVENT_LINK_FINISHED`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkFinished {
    /// The flow.
    pub flow_id: String,
    /// The provider.
    pub provider_id: String,
    /// The new (or, for a reconnect, the same) account's id, on success.
    pub account_id: Option<String>,
    /// Whether the sign-in re-authorized an existing account.
    pub reconnect: bool,
    /// What went wrong, on failure.
    pub error: Option<IpcError>,
}

type Shared<'a> = State<'a, Arc<Linker>>;

/// Sign-in outcomes that came before the window listened: a browser's redirect can start the app (after
/// it was closed mid-sign-in), and its refusal must still be told. Kept until the window asks for them
/// ([`startup_outcomes`]), at most [`EARLY_OUTCOMES`].
#[derive(Debug)]
pub struct EarlyOutcomes {
    /// The kept outcomes; `None` once the window has asked (it listens from then on).
    outcomes: std::sync::Mutex<Option<Vec<LinkFinished>>>,
}

impl Default for EarlyOutcomes {
    fn default() -> Self {
        Self { outcomes: std::sync::Mutex::new(Some(Vec::new())) }
    }
}

/// How many early outcomes are kept.
pub const EARLY_OUTCOMES: usize = 10;

impl EarlyOutcomes {
    /// Keeps `outcome` if the window has not asked for the early ones yet.
    pub fn keep(&self, outcome: &LinkFinished) {
        let mut kept = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(kept) = kept.as_mut().filter(|k| k.len() < EARLY_OUTCOMES) {
            kept.push(outcome.clone());
        }
    }

    /// The kept outcomes, once; from now on outcomes reach the window as events only.
    pub fn take(&self) -> Vec<LinkFinished> {
        self.outcomes.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default()
    }
}

/// The sign-in outcomes that came before the window listened (see [`EarlyOutcomes`]).
#[tauri::command]
pub fn startup_outcomes(early: State<'_, EarlyOutcomes>) -> Vec<LinkFinished> {
    early.take()
}

/// What [`list_providers`] returns: the providers, and problems in the user's configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ProvidersList {
    /// Linkable providers.
    pub providers: Vec<ProviderView>,
    /// Each problem in one line: file, line, provider, field, what is wrong.
    pub problems: Vec<String>,
}

/// The providers the user can link.
#[tauri::command]
pub fn list_providers(linker: Shared<'_>) -> ProvidersList {
    ProvidersList {
        providers: linker.providers(),
        problems: linker.config_problems().iter().map(ToString::to_string).collect(),
    }
}

/// An account in the list: what the linker knows, and when the refresher will next refresh it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRow {
    /// The account and its provider's name.
    #[serde(flatten)]
    pub view: AccountView,
    /// The refresher's next planned refresh (Unix seconds); `None` when none is planned.
    pub next_refresh_at: Option<u64>,
}

/// The linked accounts. The refresher reads the list again too (the command line may have changed
/// it) before it tells each account's next refresh.
#[tauri::command]
pub async fn list_accounts(app: AppHandle, linker: Shared<'_>) -> Result<Vec<AccountRow>, IpcError> {
    let accounts = linker.accounts().await?;
    let mut next = std::collections::HashMap::new();
    if let Some(refresher) = app.try_state::<RefresherHandle>() {
        refresher.reload();
        next = refresher.next_refreshes().await;
    }
    Ok(accounts.into_iter().map(|view| AccountRow { next_refresh_at: next.get(&view.account.id).copied(), view }).collect())
}

/// Refreshes an account's tokens now ("Refresh now"), through the background refresher so its
/// schedule stays right.
#[tauri::command]
pub async fn refresh_account(app: AppHandle, account_id: String) -> Result<AccountView, IpcError> {
    let refresher = app
        .try_state::<RefresherHandle>()
        .ok_or_else(|| IpcError { code: "refresher".into(), message: "the background refresher is not running".into() })?;
    let account = refresher.refresh_now(&account_id).await?;
    let linker = app.state::<Arc<Linker>>();
    let view = linker.accounts().await?.into_iter().find(|v| v.account.id == account.id);
    view.ok_or_else(|| LinkError::UnknownAccount(account_id).into())
}

/// What [`account_report`] returns: the support report, and the same as text for copying.
#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    /// The report.
    pub report: crate::diagnostics::report::Report,
    /// The report as text.
    pub text: String,
}

/// The support report of an account: state, token inspector, likely causes, probes, timeline.
#[tauri::command]
pub async fn account_report(linker: Shared<'_>, account_id: String) -> Result<ReportView, IpcError> {
    let report = linker.report(&account_id).await?;
    Ok(ReportView { text: report.to_text(), report })
}

/// Calls the provider's test URL with the account's token ("Test API call").
#[tauri::command]
pub async fn test_api_call(app: AppHandle, linker: Shared<'_>, account_id: String) -> Result<crate::oauth::api::ApiAnswer, IpcError> {
    let answer = linker.test_api(&account_id).await;
    // A 401 may have refreshed the tokens.
    accounts_changed(&app);
    Ok(answer?)
}

/// Saves the support report the window shows (`text`, from [`account_report`], so the probes don't run
/// again) as a text file in the user's Downloads folder; returns its path.
#[tauri::command]
pub async fn save_report(linker: Shared<'_>, account_id: String, text: String) -> Result<String, IpcError> {
    let account = linker.account_list().await?.into_iter().find(|a| a.id == account_id).ok_or(LinkError::UnknownAccount(account_id))?;
    let folder = dirs::download_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir);
    let path = crate::diagnostics::report::save(&text, &account.provider_id, crate::linker::unix_now(), &folder)
        .map_err(|e| IpcError { code: "save_report".into(), message: e })?;
    Ok(path.display().to_string())
}

/// The account list changed here (linked, disconnected): tell the UI and the refresher.
pub fn accounts_changed(app: &AppHandle) {
    emit(app, EVENT_ACCOUNTS_CHANGED, ());
    if let Some(refresher) = app.try_state::<RefresherHandle>() {
        refresher.reload();
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move { crate::windows::tray::refresh(&app).await });
}

/// Starts linking an account: opens the provider's sign-in page in a login window, or in the default
/// browser for a provider with `login = "browser"`.
#[tauri::command]
pub async fn connect(
    app: AppHandle,
    linker: Shared<'_>,
    provider_id: String,
    tenant: Option<String>,
    language: Option<String>,
) -> Result<SignInPending, IpcError> {
    crate::windows::login_page::set_language(language.as_deref());
    signin::start(&app, linker.inner().clone(), &provider_id, tenant.as_deref().filter(|t| !t.trim().is_empty())).await
}

/// Signs in again to an existing account ("Reconnect"): a login window (or the browser) at its provider
/// and tenant; when it finishes, the account's tokens are replaced in place.
#[tauri::command]
pub async fn reconnect(app: AppHandle, linker: Shared<'_>, account_id: String, language: Option<String>) -> Result<SignInPending, IpcError> {
    crate::windows::login_page::set_language(language.as_deref());
    signin::start_reconnect(&app, linker.inner().clone(), &account_id).await
}

/// "Continue in your browser": the pending sign-in goes on in the default browser (same flow).
#[tauri::command]
pub async fn continue_in_browser(app: AppHandle, linker: Shared<'_>, flow_id: String) -> Result<SignInPending, IpcError> {
    signin::hand_off(&app, &linker, &FlowId::from(flow_id), HandOff::User, true).await
}

/// "Copy sign-in link": the pending sign-in's link, for a browser of the user's choice.
#[tauri::command]
pub fn sign_in_link(linker: Shared<'_>, flow_id: String) -> Result<String, IpcError> {
    Ok(linker.sign_in_link(&FlowId::from(flow_id))?.to_string())
}

/// Cancels a pending sign-in and closes its login window.
#[tauri::command]
pub fn cancel_sign_in(app: AppHandle, linker: Shared<'_>, flow_id: String) {
    signin::cancel(&app, &linker, &FlowId::from(flow_id));
}

/// Removes an account and its keyring entries.
#[tauri::command]
pub async fn disconnect(app: AppHandle, linker: Shared<'_>, account_id: String) -> Result<(), IpcError> {
    let revocation = linker.disconnect(&account_id).await?;
    tracing::info!(?revocation, "disconnect finished");
    accounts_changed(&app);
    Ok(())
}

/// Sends an event to the main window; a failure is logged (the UI reloads on focus anyway).
pub fn emit<S: Serialize + Clone>(app: &AppHandle, event: &str, payload: S) {
    use tauri::Emitter;
    if let Err(e) = app.emit_to(crate::windows::MAIN_WINDOW, event, payload) {
        tracing::warn!(event, error = %e, "could not notify the main window");
    }
}

include!("command_list.rs");

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(n: usize) -> LinkFinished {
        LinkFinished {
            flow_id: String::new(),
            provider_id: format!("p{n}"),
            account_id: None,
            reconnect: false,
            error: Some(IpcError { code: "no_pending_flow".into(), message: "refused".into() }),
        }
    }

    #[test]
    fn outcomes_before_the_window_listens_are_kept_once_and_bounded() {
        let early = EarlyOutcomes::default();
        for n in 0..EARLY_OUTCOMES + 5 {
            early.keep(&outcome(n));
        }
        let taken = early.take();
        assert_eq!(taken.len(), EARLY_OUTCOMES, "bounded");
        assert_eq!(taken[0].provider_id, "p0", "the first ones are kept");
        early.keep(&outcome(99));
        assert!(early.take().is_empty(), "once the window listens, outcomes are events only");
    }
}
