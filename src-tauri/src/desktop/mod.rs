//! Desktop integration that needs no window: desktop notifications (freedesktop D-Bus), starting at
//! login (an XDG autostart entry), noticing the network come back, the default browser and the app's URI
//! scheme handler. Plain Rust, tested without Tauri.

pub mod autostart;
pub mod browser;
#[cfg(target_os = "linux")]
pub mod network;
pub mod notify;
pub mod scheme;

/// Whether the user's language is German, from the usual locale variables (first one set wins).
pub fn prefers_german() -> bool {
    ["LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("de"))
}

/// Whether the desktop shows tray icons: a StatusNotifier host (KDE, GNOME with the AppIndicator
/// extension, XFCE, Cinnamon…) owns `org.kde.StatusNotifierWatcher` on the session bus.
pub fn tray_host_available() -> bool {
    name_has_owner("org.kde.StatusNotifierWatcher")
}

/// Whether `name` has an owner on the session bus (`false` when there is no session bus).
#[cfg(target_os = "linux")]
pub fn name_has_owner(name: &str) -> bool {
    let Ok(conn) = dbus::blocking::Connection::new_session() else { return false };
    let proxy = conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", std::time::Duration::from_secs(2));
    proxy
        .method_call::<(bool,), _, _, _>("org.freedesktop.DBus", "NameHasOwner", (name,))
        .map(|(owned,)| owned)
        .unwrap_or(false)
}

/// Whether `name` has an owner on the session bus (no D-Bus off Linux: `false`).
#[cfg(not(target_os = "linux"))]
pub fn name_has_owner(_name: &str) -> bool {
    false
}
