//! The support report: one redacted bundle (JSON, or text for people) with the app version, the OS, the
//! provider's settings (secrets masked), the account's state, the token inspector's output, the timeline,
//! environment probes and plain-word explanations of what probably went wrong. Nothing in it is a secret:
//! it is built only from types that hold none (the inspector's fingerprints, the timeline's events).

use serde::Serialize;

use super::inspect::Inspection;
use super::probes::Probes;
use super::timeline::{Entry, Event, TimelineRead};
use crate::accounts::{Account, AccountState};
use crate::providers::ProviderView;

/// The report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// When it was made (Unix seconds).
    pub generated_at: u64,
    /// The app's version.
    pub app_version: String,
    /// The operating system.
    pub os: String,
    /// The provider's settings as the catalogue shows them (no secret).
    pub provider: Option<ProviderView>,
    /// The account's metadata.
    pub account: Account,
    /// The token inspector.
    pub inspection: Inspection,
    /// Likely causes, in plain words, most specific first.
    pub explanations: Vec<Cause>,
    /// Environment probes.
    pub probes: Probes,
    /// The account's timeline.
    pub timeline: TimelineRead,
}

/// The operating system's name and kernel, e.g. `Debian GNU/Linux 12 (bookworm), Linux 6.1.0`.
pub fn os_description() -> String {
    let name = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned())))
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|k| format!(", Linux {}", k.trim())).unwrap_or_default();
    format!("{name}{kernel} ({})", std::env::consts::ARCH)
}

fn has(text: &str, needle: &str) -> bool {
    text.to_ascii_lowercase().contains(needle)
}

/// A likely cause: a stable code (the UI shows its own words for it, in the user's language) and the
/// same in English words (the text report, the command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// Stable code, e.g. `refresh_revoked`.
    pub code: &'static str,
    /// English words.
    pub text: String,
    /// For `clock_skew`: local clock minus the provider's, in seconds.
    pub skew_secs: Option<i64>,
}

/// Plain-word explanations of the common causes, from the account, its provider and its timeline.
pub fn explain(account: &Account, provider: Option<&ProviderView>, timeline: &[Entry], clock_skew: Option<i64>) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::new();
    let mut add = |code: &'static str, s: &str| {
        if !out.iter().any(|o| o.code == code) {
            out.push(Cause { code, text: s.to_owned(), skew_secs: None });
        }
    };
    if let AccountState::NeedsReconnect { reason } = &account.state {
        if has(reason, "interrupted") {
            add("interrupted", "A refresh was interrupted (the app or the computer stopped) after the provider had already issued a new refresh token, so the old one no longer works. Reconnect the account.");
        } else if has(reason, "reuse") || has(reason, "already been used") {
            add("refresh_reused", "The refresh token was used twice (a restored backup, or another copy of the app), and the provider revoked it for safety. Reconnect the account.");
        } else if has(reason, "invalid_grant") || has(reason, "no longer accepts") {
            add("refresh_revoked", "The provider no longer accepts the refresh token: it was revoked (password change, signed out everywhere, app access removed), it expired, or a copy of it was used elsewhere. Reconnect the account.");
        } else if has(reason, "does not offer token refresh") || has(reason, "offers no refresh") {
            add("no_refresh", "This provider offers no token refresh: its access tokens end after their lifetime and the account must be reconnected each time.");
        }
    }
    if provider.is_some_and(|p| !p.refresh) {
        add("no_refresh", "This provider offers no token refresh (for example Youthweb, whose tokens last one hour): the user must reconnect when the token expires; the app reminds them ahead of time.");
    }
    for entry in timeline.iter().rev().take(50) {
        let (error, description) = match &entry.event {
            Event::CodeExchange(x) | Event::Refresh(x) if !x.ok => (x.error.clone().unwrap_or_default(), x.error_description.clone().unwrap_or_default()),
            Event::FlowFailed { code, message } => (code.clone(), message.clone()),
            Event::KeyringError { message, .. } => ("keyring".into(), message.clone()),
            _ => continue,
        };
        let both = format!("{error} {description}");
        let code_exchange = matches!(entry.event, Event::CodeExchange(_));
        if error == "access_denied" || has(&description, "denied") && has(&error, "access") {
            add("consent_denied", "The user declined the consent page (access_denied); connecting again and choosing Allow fixes it.");
        } else if error == "invalid_client" || error == "unauthorized_client" {
            add("client_secret_wrong", "The provider refused the client credentials (invalid_client): the client id or client secret in providers.toml is wrong or was rotated.");
        } else if has(&both, "redirect_uri") || has(&both, "redirect uri") {
            add("redirect_uri_unregistered", "The provider refused the redirect URI: register the exact redirect URI shown by `account-linker providers` with the provider.");
        } else if code_exchange && error == "invalid_grant" {
            add("code_expired", "The authorization code was refused (invalid_grant): codes are single-use and short-lived (Workfront's last 2 minutes); a slow or repeated sign-in lets it expire. Connect again.");
        } else if error == "keyring" && has(&description, crate::vault::DAMAGED_ITEM) {
            add("keyring_item_damaged", "The account's keyring item can't be read (damaged, or written by a newer version of the app); it was left as it is. Reconnecting the account replaces it.");
        } else if error == "keyring" {
            add("keyring", "The system keyring failed (locked, not running, or access denied): unlock it or start a Secret Service, then try again.");
        } else if error.starts_with("the token endpoint could not be reached") || matches!(&entry.event, Event::Refresh(x) | Event::CodeExchange(x) if x.status.is_some_and(|s| s >= 500 || s == 429)) {
            add("provider_down", "The provider was unreachable or overloaded (network down, 5xx or 429); the app retries by itself with growing pauses.");
        }
    }
    if let Some(skew) = clock_skew.filter(|s| s.abs() > super::probes::MAX_SKEW_SECS) {
        out.push(Cause {
            code: "clock_skew",
            text: format!(
                "This computer's clock is {} s {} the provider's: tokens may look expired or not yet valid. Turn on automatic time (NTP).",
                skew.abs(),
                if skew > 0 { "ahead of" } else { "behind" }
            ),
            skew_secs: Some(skew),
        });
    }
    out
}

/// Formats Unix seconds as UTC and local time, e.g. `2026-12-04 13:42:48 UTC (14:42:48 local)`.
pub fn both_times(unix: u64) -> String {
    use chrono::{Local, TimeZone, Utc};
    let secs = i64::try_from(unix).unwrap_or(i64::MAX);
    match (Utc.timestamp_opt(secs, 0).single(), Local.timestamp_opt(secs, 0).single()) {
        (Some(u), Some(l)) => format!("{} UTC ({} local)", u.format("%Y-%m-%d %H:%M:%S"), l.format("%Y-%m-%d %H:%M:%S %:z")),
        _ => format!("{unix} (Unix time)"),
    }
}

impl Report {
    /// The report as text for people (what "Copy report" and `diagnose` print).
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut t = String::new();
        let a = &self.account;
        let i = &self.inspection;
        let _ = writeln!(t, "Account Linker {} support report, {}", self.app_version, both_times(self.generated_at));
        let _ = writeln!(t, "System: {}", self.os);
        let _ = writeln!(t, "\nAccount {} at {}{}", a.id, a.provider_id, a.tenant.as_ref().map(|x| format!(" ({x})")).unwrap_or_default());
        let state = match &a.state {
            AccountState::Connected => "connected".to_owned(),
            AccountState::NeedsReconnect { reason } => format!("needs reconnect: {reason}"),
        };
        let _ = writeln!(t, "  state: {state}");
        if let Some(e) = &a.last_error {
            let _ = writeln!(t, "  last refresh failure (being retried): {e}");
        }
        let _ = writeln!(t, "  linked: {}", both_times(a.linked_at));
        if let Some(r) = a.refreshed_at {
            let _ = writeln!(t, "  last refresh: {} ({} refreshes since linking)", both_times(r), a.refreshes);
        }
        if let Some(p) = &self.provider {
            let _ = writeln!(t, "\nProvider {} ({}): sign-in at {}, redirect URI {}, refresh {}{}", p.name, p.id, p.authorize_host, p.redirect_uri,
                if p.refresh { "offered" } else { "not offered" },
                p.not_ready.as_ref().map(|n| format!(", not ready: {n}")).unwrap_or_default());
        }
        let _ = writeln!(t, "\nTokens");
        let _ = writeln!(t, "  type {}, sent as {}", i.token_type, i.presented_as);
        let _ = writeln!(t, "  scopes granted: {}", i.scopes_granted.join(" "));
        if !i.scopes_missing.is_empty() {
            let _ = writeln!(t, "  scopes asked but not granted: {}", i.scopes_missing.join(" "));
        }
        let _ = writeln!(t, "  issued: {}", both_times(i.issued_at));
        match (i.expires_at, i.seconds_left) {
            (Some(at), Some(left)) if left >= 0 => { let _ = writeln!(t, "  expires: {} ({left} s left)", both_times(at)); }
            (Some(at), Some(left)) => { let _ = writeln!(t, "  expired: {} ({} s ago)", both_times(at), -left); }
            _ => { let _ = writeln!(t, "  expires: unknown (the provider did not say; refreshed on a schedule and on 401)"); }
        }
        for (name, view) in [("access token", &i.access_token), ("refresh token", &i.refresh_token), ("ID token", &i.id_token)] {
            match view {
                Some(v) => {
                    let _ = writeln!(t, "  {name}: fingerprint {} ({} characters){}", v.fingerprint, v.length, if v.jwt.is_some() { ", a JWT" } else { "" });
                    if let Some(j) = &v.jwt {
                        let _ = writeln!(t, "    header {}", serde_json::Value::Object(j.header.clone()));
                        let _ = writeln!(t, "    claims {}", serde_json::Value::Object(j.claims.clone()));
                    }
                }
                None => { let _ = writeln!(t, "  {name}: none stored"); }
            }
        }
        let _ = writeln!(t, "\nLikely causes");
        if self.explanations.is_empty() {
            let _ = writeln!(t, "  none found");
        }
        for e in &self.explanations {
            let _ = writeln!(t, "  - {}", e.text);
        }
        let _ = writeln!(t, "\nEnvironment");
        let _ = write!(t, "{}", self.probes.to_text());
        let _ = writeln!(t, "\nTimeline ({} events{})", self.timeline.entries.len(),
            if self.timeline.unreadable_lines > 0 { format!(", {} unreadable lines skipped", self.timeline.unreadable_lines) } else { String::new() });
        t.push_str(&timeline_text(&self.timeline.entries));
        t
    }
}

/// Writes a report's text (as [`Report::to_text`] made it) to `folder` as
/// `account-linker-report-<provider>-<UTC time>.txt`.
pub fn save(text: &str, provider_id: &str, generated_at: u64, folder: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let stamp = chrono::DateTime::from_timestamp(i64::try_from(generated_at).unwrap_or(0), 0)
        .map(|t| t.format("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_else(|| generated_at.to_string());
    let provider: String = provider_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let path = folder.join(format!("account-linker-report-{provider}-{stamp}.txt"));
    std::fs::create_dir_all(folder).map_err(|e| format!("could not create {}: {e}", folder.display()))?;
    std::fs::write(&path, text).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    Ok(path)
}

/// The timeline as text, one line per event, oldest first.
pub fn timeline_text(entries: &[Entry]) -> String {
    let mut t = String::new();
    for e in entries {
        t.push_str(&format!("  {}  {}\n", both_times(e.at_ms / 1000), describe(&e.event)));
    }
    t
}

fn exchange_words(x: &super::timeline::Exchange) -> String {
    let status = x.status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "no answer".into());
    if x.ok {
        format!(
            "{status} in {} ms, {}, expires_in {}",
            x.ms,
            if x.new_refresh_token { "new refresh token" } else { "no new refresh token" },
            x.expires_in.map(|e| e.to_string()).unwrap_or_else(|| "not given".into())
        )
    } else {
        format!(
            "failed: {status} in {} ms, {}{}",
            x.ms,
            x.error.as_deref().unwrap_or("error"),
            x.error_description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
        )
    }
}

/// One event in words.
pub fn describe(event: &Event) -> String {
    match event {
        Event::FlowStarted { provider, authorize_host, scopes, tenant } => format!(
            "sign-in started at {provider}{}, authorize host {authorize_host}, scopes asked: {}",
            tenant.as_ref().map(|t| format!(" ({t})")).unwrap_or_default(),
            scopes.join(" ")
        ),
        Event::RedirectReceived { params } => format!("redirect received with parameters: {}", params.join(", ")),
        Event::FlowFailed { code, message } => format!("sign-in ended without an account ({code}): {message}"),
        Event::CallbackRefused { target, params, reason } => {
            format!("redirect to {target} (parameters: {}) refused: {reason}", params.join(", "))
        }
        Event::HandedToBrowser { why } => format!("sign-in continued in the default browser ({why})"),
        Event::CodeExchange(x) => format!("code exchange {}", exchange_words(x)),
        Event::Refresh(x) => format!("refresh {}", exchange_words(x)),
        Event::ApiTest { host, status, ms, error } => match (status, error) {
            (Some(s), _) => format!("test API call to {host}: HTTP {s} in {ms} ms"),
            (None, e) => format!("test API call to {host} failed after {ms} ms: {}", e.as_deref().unwrap_or("no answer")),
        },
        Event::StateChanged { state, reason } => format!("state {state}: {reason}"),
        Event::KeyringError { step, message } => format!("keyring error during {step}: {message}"),
        Event::TokenHandedOut { program } => format!("access token handed out to {program}"),
        Event::Disconnected { revocation } => format!("disconnected: {revocation}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::timeline::Exchange;
    use super::*;

    fn account(state: AccountState) -> Account {
        Account { state, ..Account::for_test("a1", "workfront") }
    }

    fn at(event: Event) -> Entry {
        Entry { at_ms: 1_700_000_000_000, event }
    }

    fn failed(error: &str, description: Option<&str>, status: Option<u16>) -> Exchange {
        Exchange { ok: false, status, ms: 5, error: Some(error.into()), error_description: description.map(Into::into), new_refresh_token: false, expires_in: None }
    }

    #[test]
    fn explains_the_common_causes_in_plain_words() {
        let revoked = account(AccountState::NeedsReconnect { reason: "the provider no longer accepts this account's refresh token (invalid_grant)".into() });
        assert_eq!(explain(&revoked, None, &[], None)[0].code, "refresh_revoked");
        assert!(explain(&revoked, None, &[], None)[0].text.contains("revoked"));
        let reused = account(AccountState::NeedsReconnect { reason: "invalid_grant: Refresh token reuse detected".into() });
        assert!(explain(&reused, None, &[], None)[0].text.contains("used twice"));
        let ok = account(AccountState::Connected);
        let damaged = crate::vault::VaultError::Damaged { account: "a1".into(), why: "not valid JSON (line 1, column 1)".into() };
        let cases: [(Event, &str); 7] = [
            (Event::KeyringError { step: "refresh".into(), message: damaged.to_string() }, "Reconnecting the account replaces it"),
            (Event::FlowFailed { code: "access_denied".into(), message: "denied".into() }, "declined the consent"),
            (Event::CodeExchange(failed("invalid_client", None, Some(401))), "client id or client secret"),
            (Event::FlowFailed { code: "provider_error".into(), message: "redirect_uri mismatch".into() }, "redirect URI"),
            (Event::CodeExchange(failed("invalid_grant", Some("code expired"), Some(400))), "2 minutes"),
            (Event::KeyringError { step: "refresh".into(), message: "locked".into() }, "keyring"),
            (Event::Refresh(failed("temporarily_unavailable", None, Some(503))), "unreachable or overloaded"),
        ];
        for (event, words) in cases {
            let said = explain(&ok, None, &[at(event.clone())], None);
            assert!(said.iter().any(|s| s.text.contains(words)), "{event:?}: {said:?}");
        }
        let skew = &explain(&ok, None, &[], Some(-95))[0];
        assert!(skew.text.contains("95 s behind") && skew.code == "clock_skew" && skew.skew_secs == Some(-95));
        assert!(explain(&ok, None, &[], Some(30)).is_empty(), "30 s of skew is fine");
    }

    #[test]
    fn every_event_has_words() {
        let text = describe(&Event::Refresh(Exchange { ok: true, status: Some(200), ms: 12, error: None, error_description: None, new_refresh_token: true, expires_in: Some(0) }));
        assert_eq!(text, "refresh HTTP 200 in 12 ms, new refresh token, expires_in 0");
        assert!(both_times(1_700_000_000).starts_with("2023-11-14 22:13:20 UTC ("));
    }
}
