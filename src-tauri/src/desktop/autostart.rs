//! Start at login: an XDG autostart entry (`~/.config/autostart/<app id>.desktop`) that starts the app in
//! the tray (`--background`), so accounts keep being refreshed without the window.

use std::path::{Path, PathBuf};

/// The entry's file name.
pub const FILE_NAME: &str = "org.accountlinker.AccountLinker.desktop";

/// The command-line flag that starts the app without showing its window.
pub const BACKGROUND_FLAG: &str = "--background";

/// The autostart entry in `config_home` (usually `$XDG_CONFIG_HOME`).
#[derive(Debug, Clone)]
pub struct Autostart {
    path: PathBuf,
}

impl Autostart {
    /// The entry in the user's config folder.
    pub fn for_user() -> Option<Self> {
        dirs::config_dir().map(|d| Self::in_config_home(&d))
    }

    /// The entry under a given config folder.
    pub fn in_config_home(config_home: &Path) -> Self {
        Self { path: config_home.join("autostart").join(FILE_NAME) }
    }

    /// Where the entry lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the app starts at login (the entry exists and is not disabled).
    pub fn is_enabled(&self) -> bool {
        std::fs::read_to_string(&self.path)
            .map(|text| !text.lines().any(|l| l.trim() == "Hidden=true" || l.trim() == "X-GNOME-Autostart-enabled=false"))
            .unwrap_or(false)
    }

    /// Turns starting at login on (writing an entry that runs `executable`) or off (removing it).
    pub fn set(&self, enabled: bool, executable: &Path) -> std::io::Result<()> {
        if !enabled {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.path, entry(executable))
    }
}

/// The text of the entry. The path is quoted as the Desktop Entry spec asks.
pub fn entry(executable: &Path) -> String {
    let exe = executable.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"").replace('`', "\\`").replace('$', "\\$");
    format!(
        "[Desktop Entry]\nType=Application\nName=Account Linker\nName[de]=Account Linker\n\
         Comment=Keeps your linked accounts connected\nComment[de]=Hält Ihre verknüpften Konten verbunden\n\
         Exec=\"{exe}\" {BACKGROUND_FLAG}\nIcon=org.accountlinker.AccountLinker\nTerminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turning_it_on_and_off() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = Autostart::in_config_home(dir.path());
        assert!(!a.is_enabled());
        a.set(true, Path::new("/opt/Account Linker/account-linker")).expect("on");
        assert!(a.is_enabled());
        let text = std::fs::read_to_string(a.path()).expect("read");
        assert!(text.contains("Exec=\"/opt/Account Linker/account-linker\" --background"), "{text}");
        a.set(false, Path::new("/x")).expect("off");
        assert!(!a.is_enabled());
        a.set(false, Path::new("/x")).expect("off twice is fine");
    }

    #[test]
    fn a_user_disabled_entry_counts_as_off() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = Autostart::in_config_home(dir.path());
        std::fs::create_dir_all(a.path().parent().expect("dir")).expect("mkdir");
        std::fs::write(a.path(), "[Desktop Entry]\nHidden=true\n").expect("write");
        assert!(!a.is_enabled());
    }

    #[test]
    fn special_characters_in_the_path_are_quoted() {
        assert!(entry(Path::new("/a/$b\"c")).contains(r#"Exec="/a/\$b\"c" --background"#));
    }
}
