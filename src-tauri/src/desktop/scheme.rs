//! Registering the app's URI scheme (`org.accountlinker.app:`) with the desktop, so that the browser's
//! redirect at the end of a sign-in starts `account-linker URL`, which the single-instance plugin
//! forwards to the running app.
//!
//! On Linux this is a desktop entry in `$XDG_DATA_HOME/applications` whose `MimeType` names
//! `x-scheme-handler/org.accountlinker.app`, made the default handler with `xdg-mime`. The deep-link
//! plugin's `register_all()` writes one too, but with a quoted `Exec` line that Debian's generic
//! `xdg-open` can't run; this entry quotes the program only when its path needs it. A packaged install
//! (.deb) declares the scheme in its own desktop file; the user's entry points at the same binary.
//! Other platforms: Windows registers through the plugin, macOS through the bundle's Info.plist.

use std::path::{Path, PathBuf};

use crate::oauth::redirect::SCHEME;

/// The entry's file name.
pub const FILE_NAME: &str = "org.accountlinker.AccountLinker-handler.desktop";

/// The MIME type of the scheme.
pub fn mime_type() -> String {
    format!("x-scheme-handler/{SCHEME}")
}

/// The text of the desktop entry for the program at `exe`.
pub fn entry(exe: &Path) -> String {
    let path = exe.to_string_lossy();
    // The Desktop Entry spec quotes arguments holding reserved characters; a plain path stays bare.
    let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
    let program = if plain {
        path.into_owned()
    } else {
        format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\"").replace('`', "\\`").replace('$', "\\$"))
    };
    format!(
        "[Desktop Entry]\nType=Application\nName=Account Linker\nComment=Finishes sign-ins started in Account Linker\nExec={program} %u\nTerminal=false\nNoDisplay=true\nMimeType={};\n",
        mime_type()
    )
}

/// Where the entry goes under `data_home` (usually `$XDG_DATA_HOME`).
pub fn entry_path(data_home: &Path) -> PathBuf {
    data_home.join("applications").join(FILE_NAME)
}

/// Writes the entry (when it differs) and makes it the scheme's default handler. Blocking.
#[cfg(target_os = "linux")]
pub fn register() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the program's path is unknown: {e}"))?;
    // An AppImage runs from a temporary mount: the entry must start the image itself.
    let exe = std::env::var_os("APPIMAGE").map(PathBuf::from).unwrap_or(exe);
    let data_home = dirs::data_dir().ok_or("no data folder ($XDG_DATA_HOME or ~/.local/share)")?;
    let path = entry_path(&data_home);
    let text = entry(&exe);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        let dir = path.parent().ok_or("no applications folder")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
        std::fs::write(&path, &text).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    }
    let status = std::process::Command::new("xdg-mime")
        .args(["default", FILE_NAME, &mime_type()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("could not run xdg-mime: {e}"))?;
    if !status.success() {
        return Err(format!("xdg-mime could not make the entry the default handler ({status})"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exec_line_is_unquoted_for_a_plain_path() {
        let text = entry(Path::new("/usr/bin/account-linker"));
        assert!(text.contains("\nExec=/usr/bin/account-linker %u\n"), "{text}");
        assert!(text.contains("\nMimeType=x-scheme-handler/org.accountlinker.app;\n"), "{text}");
    }

    #[test]
    fn a_path_with_spaces_is_quoted_as_the_spec_says() {
        let text = entry(Path::new("/opt/My Apps/account-linker"));
        assert!(text.contains("\nExec=\"/opt/My Apps/account-linker\" %u\n"), "{text}");
    }
}
