//! Opening a sign-in link in the user's default browser.
//!
//! `$BROWSER` (the long-standing convention: a command, or several separated by `:`, that takes the URL
//! as its argument) wins when set; otherwise the platform's opener: `xdg-open` on Linux and the BSDs,
//! `open` on macOS, the URL protocol handler on Windows. The opener's exit status is waited for, so a
//! missing or failing opener is reported and the user can copy the link instead.
//!
//! The link is never logged: it carries the flow's `state`.

use std::process::{Command, Stdio};

use url::Url;

/// Why the browser could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// Only web links are opened.
    #[error("only https (or loopback http) links are opened in the browser")]
    NotAWebLink,
    /// The opener could not be started.
    #[error("could not start '{program}' to open the browser: {source}")]
    Start {
        /// The command.
        program: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The opener ran and failed.
    #[error("'{program}' could not open the browser (exit status {status})")]
    Failed {
        /// The command.
        program: String,
        /// Its exit status.
        status: String,
    },
}

/// The command that opens `url`: program and arguments. `browser_env` is the value of `$BROWSER`.
pub fn command_for(url: &Url, browser_env: Option<&str>) -> (String, Vec<String>) {
    if let Some(first) = browser_env.and_then(|b| b.split(':').map(str::trim).find(|c| !c.is_empty())) {
        // `%s` marks where the URL goes (the convention's optional form); else it is the last argument.
        let mut parts: Vec<String> = first.split_whitespace().map(str::to_owned).collect();
        let program = parts.remove(0);
        if parts.iter().any(|p| p.contains("%s")) {
            parts = parts.into_iter().map(|p| p.replace("%s", url.as_str())).collect();
        } else {
            parts.push(url.as_str().to_owned());
        }
        return (program, parts);
    }
    if cfg!(target_os = "macos") {
        ("open".into(), vec![url.as_str().into()])
    } else if cfg!(windows) {
        ("rundll32".into(), vec!["url.dll,FileProtocolHandler".into(), url.as_str().into()])
    } else {
        ("xdg-open".into(), vec![url.as_str().into()])
    }
}

/// Opens `url` in the default browser and waits for the opener to report (not for the browser).
/// Blocking: call it off the async workers.
pub fn open(url: &Url) -> Result<(), BrowserError> {
    let web = url.scheme() == "https"
        || (url.scheme() == "http" && url.host().is_some_and(|h| crate::oauth::navigation::is_loopback(&h.to_owned())));
    if !web {
        return Err(BrowserError::NotAWebLink);
    }
    let browser_env = std::env::var("BROWSER").ok();
    let (program, args) = command_for(url, browser_env.as_deref());
    tracing::info!(%program, host = url.host_str().unwrap_or(""), "opening the sign-in page in the browser");
    let status = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|source| BrowserError::Start { program: program.clone(), source })?;
    if status.success() {
        Ok(())
    } else {
        Err(BrowserError::Failed { program, status: status.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Url {
        Url::parse("https://idp.example/authorize?state=s&x=1").expect("url")
    }

    #[test]
    fn browser_env_wins_and_takes_the_url_last_or_at_percent_s() {
        let (p, a) = command_for(&link(), Some("firefox --new-window"));
        assert_eq!((p.as_str(), a), ("firefox", vec!["--new-window".to_owned(), link().to_string()]));
        let (p, a) = command_for(&link(), Some(":chromium %s --incognito:firefox"));
        assert_eq!((p.as_str(), a), ("chromium", vec![link().to_string(), "--incognito".to_owned()]));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn without_browser_env_xdg_open_is_used() {
        assert_eq!(command_for(&link(), None), ("xdg-open".to_owned(), vec![link().to_string()]));
        assert_eq!(command_for(&link(), Some("")).0, "xdg-open");
    }

    #[test]
    fn only_web_links_are_opened() {
        for bad in ["file:///etc/passwd", "org.accountlinker.app:/oauth2/demo?code=x", "http://example.com/", "javascript:alert(1)"] {
            assert!(matches!(open(&Url::parse(bad).expect("url")), Err(BrowserError::NotAWebLink)), "{bad}");
        }
    }
}
