//! Desktop notifications for what the refresher found: a reconnect needed, a reconnect due soon (providers
//! without refresh), refreshing that keeps failing. Sent over D-Bus to `org.freedesktop.Notifications`;
//! each account's notification replaces its previous one instead of piling up. The words never carry a
//! secret: only the provider's and the account's names and the refresher's plain-word reason.

use std::collections::HashMap;
use std::time::Duration;

use crate::refresh::Notice;

/// How pressing a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Informational.
    Normal,
    /// Needs the user.
    Critical,
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The account it is about (notifications of one account replace each other).
    pub account_id: String,
    /// The headline.
    pub summary: String,
    /// The details.
    pub body: String,
    /// How pressing.
    pub urgency: Urgency,
}

fn who(account: &crate::accounts::Account, provider_name: &str) -> String {
    match &account.display_name {
        Some(name) => format!("{name} ({provider_name})"),
        None => provider_name.to_owned(),
    }
}

/// The notification for a refresher notice, in German or English; `None` for notices that need none.
/// `now` (Unix seconds) turns an expiry into "in N minutes".
pub fn for_notice(notice: &Notice, german: bool, now: u64) -> Option<Notification> {
    let (account, summary, body, urgency) = match notice {
        Notice::NeedsReconnect { account, provider_name, reason } => (
            account,
            if german { "Konto neu verbinden" } else { "Reconnect your account" },
            if german {
                format!("{} muss neu verbunden werden: {reason}", who(account, provider_name))
            } else {
                format!("{} needs to be reconnected: {reason}", who(account, provider_name))
            },
            Urgency::Critical,
        ),
        Notice::ReconnectDueSoon { account, provider_name, expires_at } => {
            let minutes = expires_at.saturating_sub(now).div_ceil(60);
            (
                account,
                if german { "Bald neu verbinden" } else { "Reconnect soon" },
                if german {
                    format!(
                        "Der Zugang zu {} läuft in {minutes} Min. ab, und {provider_name} kann ihn nicht verlängern. Verbinden Sie das Konto neu, um es weiter zu nutzen.",
                        who(account, provider_name)
                    )
                } else {
                    format!(
                        "Access to {} expires in {minutes} min, and {provider_name} cannot renew it. Reconnect the account to keep using it.",
                        who(account, provider_name)
                    )
                },
                Urgency::Normal,
            )
        }
        Notice::RepeatedFailure { account, provider_name, failures, error } => (
            account,
            if german { "Aktualisieren schlägt fehl" } else { "Refreshing keeps failing" },
            if german {
                format!("{}: {failures} Versuche in Folge sind fehlgeschlagen ({error}). Es wird weiter versucht.", who(account, provider_name))
            } else {
                format!("{}: {failures} attempts in a row failed ({error}). Retrying.", who(account, provider_name))
            },
            Urgency::Normal,
        ),
        Notice::Refreshing { .. } | Notice::Changed { .. } => return None,
    };
    Some(Notification { account_id: account.id.clone(), summary: summary.to_owned(), body, urgency })
}

/// Why a notification could not be shown.
#[derive(Debug, thiserror::Error)]
#[error("could not show a desktop notification: {0}")]
pub struct NotifyError(String);

/// Sends notifications to the desktop's notification server, remembering each account's last one.
#[derive(Debug, Default)]
pub struct Notifier {
    shown: HashMap<String, u32>,
}

impl Notifier {
    /// A notifier that has shown nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `n`, replacing the account's previous notification. Blocks on D-Bus (call it off the
    /// async workers).
    #[cfg(target_os = "linux")]
    pub fn show(&mut self, n: &Notification) -> Result<(), NotifyError> {
        use dbus::arg::{PropMap, Variant};
        let err = |e: dbus::Error| NotifyError(e.message().unwrap_or("D-Bus error").to_owned());
        let conn = dbus::blocking::Connection::new_session().map_err(err)?;
        let proxy = conn.with_proxy("org.freedesktop.Notifications", "/org/freedesktop/Notifications", Duration::from_secs(5));
        let mut hints = PropMap::new();
        let urgency: u8 = match n.urgency {
            Urgency::Normal => 1,
            Urgency::Critical => 2,
        };
        hints.insert("urgency".into(), Variant(Box::new(urgency)));
        hints.insert("desktop-entry".into(), Variant(Box::new("org.accountlinker.AccountLinker".to_owned())));
        let replaces = self.shown.get(&n.account_id).copied().unwrap_or(0);
        let (id,): (u32,) = proxy
            .method_call(
                "org.freedesktop.Notifications",
                "Notify",
                ("Account Linker", replaces, "org.accountlinker.AccountLinker", n.summary.as_str(), n.body.as_str(), Vec::<String>::new(), hints, -1i32),
            )
            .map_err(err)?;
        self.shown.insert(n.account_id.clone(), id);
        Ok(())
    }

    /// Shows `n` (not implemented off Linux yet: logged instead).
    #[cfg(not(target_os = "linux"))]
    pub fn show(&mut self, n: &Notification) -> Result<(), NotifyError> {
        tracing::info!(summary = n.summary.as_str(), "notification");
        self.shown.insert(n.account_id.clone(), 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Account;

    fn account() -> Account {
        Account {
            display_name: Some("ada@example.org".into()),
            expires_at: Some(3600),
            has_refresh_token: false,
            ..Account::for_test("acc", "youthweb")
        }
    }

    #[test]
    fn reconnect_due_soon_says_when_in_both_languages() {
        let notice = Notice::ReconnectDueSoon { account: account(), provider_name: "Youthweb".into(), expires_at: 3600 };
        let en = for_notice(&notice, false, 3000).expect("en");
        assert_eq!(en.summary, "Reconnect soon");
        assert!(en.body.contains("ada@example.org (Youthweb) expires in 10 min"), "{}", en.body);
        let de = for_notice(&notice, true, 3000).expect("de");
        assert!(de.body.contains("läuft in 10 Min. ab"), "{}", de.body);
    }

    #[test]
    fn needs_reconnect_is_critical_and_gives_the_reason() {
        let notice = Notice::NeedsReconnect { account: account(), provider_name: "Youthweb".into(), reason: "revoked".into() };
        let n = for_notice(&notice, false, 0).expect("n");
        assert_eq!(n.urgency, Urgency::Critical);
        assert!(n.body.ends_with("needs to be reconnected: revoked"));
    }

    #[test]
    fn routine_notices_show_nothing() {
        assert_eq!(for_notice(&Notice::Changed { account: account() }, false, 0), None);
        assert_eq!(for_notice(&Notice::Refreshing { account_id: "a".into() }, false, 0), None);
    }
}
