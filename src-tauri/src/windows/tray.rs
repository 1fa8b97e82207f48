//! The tray icon: the app keeps refreshing with its window closed, and the tray menu lists the accounts
//! that need attention, opens the window, toggles starting at login and quits.
//!
//! The menu is described by [`menu_model`] (plain data, unit-tested) and rendered into a Tauri menu. A tray
//! is only used when the desktop shows one (a StatusNotifier host is on the session bus): where none is
//! (GNOME without the AppIndicator extension), closing the window quits as usual, rather than leaving an
//! invisible process behind.

use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::AppHandle;

use crate::accounts::AccountState;
use crate::desktop::autostart::Autostart;
use crate::linker::AccountView;

/// The tray icon's id.
pub const TRAY_ID: &str = "main-tray";

/// One entry of the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A command.
    Action {
        /// Menu id.
        id: String,
        /// Label.
        label: String,
        /// Whether it can be chosen.
        enabled: bool,
    },
    /// An on/off setting.
    Check {
        /// Menu id.
        id: String,
        /// Label.
        label: String,
        /// Whether it is on.
        checked: bool,
    },
    /// A separator line.
    Separator,
}

fn action(id: &str, label: String, enabled: bool) -> Item {
    Item::Action { id: id.to_owned(), label, enabled }
}

/// The tray menu for these accounts: those needing a reconnect or failing to refresh first, each opening
/// the window; then "Open", "Start at login" and "Quit".
pub fn menu_model(accounts: &[AccountView], german: bool, starts_at_login: bool) -> Vec<Item> {
    let t = |en: &str, de: &str| if german { de.to_owned() } else { en.to_owned() };
    let mut items = vec![action("open", t("Open Account Linker", "Account Linker öffnen"), true), Item::Separator];
    let attention: Vec<Item> = accounts
        .iter()
        .filter_map(|v| {
            let name = v.account.display_name.clone().unwrap_or_else(|| v.provider_name.clone());
            let what = match (&v.account.state, &v.account.last_error) {
                (AccountState::NeedsReconnect { .. }, _) => t("reconnect needed", "neu verbinden"),
                (AccountState::Connected, Some(_)) => t("refresh failing", "Aktualisierung schlägt fehl"),
                (AccountState::Connected, None) => return None,
            };
            Some(action(&format!("account:{}", v.account.id), format!("⚠ {name} ({}): {what}", v.provider_name), true))
        })
        .collect();
    if attention.is_empty() {
        let label = if accounts.is_empty() {
            t("No linked accounts", "Keine verknüpften Konten")
        } else {
            t("All accounts connected", "Alle Konten verbunden")
        };
        items.push(action("status", label, false));
    } else {
        items.extend(attention);
    }
    items.push(Item::Separator);
    items.push(Item::Check { id: "autostart".into(), label: t("Start at login", "Beim Anmelden starten"), checked: starts_at_login });
    items.push(action("quit", t("Quit", "Beenden"), true));
    items
}

fn render(app: &AppHandle, model: &[Item]) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    for item in model {
        let built: Box<dyn IsMenuItem<tauri::Wry>> = match item {
            Item::Action { id, label, enabled } => Box::new(MenuItem::with_id(app, id, label, *enabled, None::<&str>)?),
            Item::Check { id, label, checked } => Box::new(CheckMenuItem::with_id(app, id, label, true, *checked, None::<&str>)?),
            Item::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        };
        menu.append(built.as_ref())?;
    }
    Ok(menu)
}

/// Creates the tray icon when the desktop shows trays; `None` (and a log line) otherwise.
pub fn create(app: &AppHandle) -> Option<TrayIcon> {
    if !crate::desktop::tray_host_available() {
        tracing::info!("no system tray on this desktop; closing the window quits the app");
        return None;
    }
    let menu = match render(app, &menu_model(&[], crate::desktop::prefers_german(), autostart_enabled())) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "could not build the tray menu");
            return None;
        }
    };
    let mut builder = TrayIconBuilder::with_id(TRAY_ID).menu(&menu).tooltip("Account Linker").on_menu_event(on_menu);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    match builder.build(app) {
        Ok(tray) => Some(tray),
        Err(e) => {
            tracing::warn!(error = %e, "could not create the tray icon; closing the window quits the app");
            None
        }
    }
}

/// Rebuilds the tray menu from the account list as it is now (after a link, a disconnect, a change made
/// by another process, a refresh); does nothing without a tray.
pub async fn refresh(app: &AppHandle) {
    use tauri::Manager;
    if app.tray_by_id(TRAY_ID).is_none() {
        return;
    }
    let linker = app.state::<std::sync::Arc<crate::linker::Linker>>().inner().clone();
    match linker.accounts().await {
        Ok(accounts) => update(app, &accounts).await,
        Err(e) => tracing::warn!(error = %e, "could not read the accounts for the tray"),
    }
}

/// Rebuilds the tray menu from these accounts.
pub async fn update(app: &AppHandle, accounts: &[AccountView]) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else { return };
    let model = menu_model(accounts, crate::desktop::prefers_german(), autostart_enabled());
    let attention = model.iter().any(|i| matches!(i, Item::Action { id, .. } if id.starts_with("account:")));
    let result = render(app, &model).and_then(|menu| tray.set_menu(Some(menu))).and_then(|()| {
        tray.set_tooltip(Some(if attention { "Account Linker — an account needs attention" } else { "Account Linker" }))
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not update the tray menu");
    }
}

fn autostart_enabled() -> bool {
    Autostart::for_user().is_some_and(|a| a.is_enabled())
}

fn on_menu(app: &AppHandle, event: tauri::menu::MenuEvent) {
    let id = event.id().as_ref();
    match id {
        "quit" => app.exit(0),
        "autostart" => {
            let Some(autostart) = Autostart::for_user() else { return };
            let enable = !autostart.is_enabled();
            let result = std::env::current_exe().and_then(|exe| autostart.set(enable, &exe));
            match result {
                Ok(()) => tracing::info!(enabled = enable, path = %autostart.path().display(), "start at login changed"),
                Err(e) => tracing::warn!(error = %e, "could not change start at login"),
            }
        }
        _ => crate::windows::show_main(app),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Account;

    fn view(id: &str, state: AccountState, last_error: Option<&str>) -> AccountView {
        AccountView {
            account: Account {
                display_name: Some(format!("{id}@example.org")),
                state,
                last_error: last_error.map(str::to_owned),
                ..Account::for_test(id, "zf")
            },
            provider_name: "Zählerfreunde".into(),
        }
    }

    fn labels(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Action { label, .. } | Item::Check { label, .. } => label.clone(),
                Item::Separator => "---".into(),
            })
            .collect()
    }

    #[test]
    fn accounts_needing_attention_are_listed() {
        let accounts = [
            view("ok", AccountState::Connected, None),
            view("gone", AccountState::NeedsReconnect { reason: "revoked".into() }, None),
            view("flaky", AccountState::Connected, Some("HTTP 503")),
        ];
        let l = labels(&menu_model(&accounts, false, true));
        assert_eq!(
            l,
            [
                "Open Account Linker",
                "---",
                "⚠ gone@example.org (Zählerfreunde): reconnect needed",
                "⚠ flaky@example.org (Zählerfreunde): refresh failing",
                "---",
                "Start at login",
                "Quit"
            ]
        );
    }

    #[test]
    fn all_good_says_so_in_german_too() {
        let m = menu_model(&[view("ok", AccountState::Connected, None)], true, false);
        assert!(m.contains(&Item::Action { id: "status".into(), label: "Alle Konten verbunden".into(), enabled: false }));
        assert!(m.contains(&Item::Check { id: "autostart".into(), label: "Beim Anmelden starten".into(), checked: false }));
        assert!(labels(&menu_model(&[], false, false)).contains(&"No linked accounts".to_owned()));
    }
}
