//! Environment probes for the support report: does the keyring work (write, read, delete a probe entry),
//! is the URI scheme registered with the desktop, which WebKitGTK, which proxies are in effect
//! (credentials masked), and is the clock right (against the token endpoint's `Date` header).

use std::time::Instant;

use serde::Serialize;
use url::Url;

use crate::oauth::redirect::SCHEME;
use crate::oauth::secret::{AccessToken, IdToken, RefreshToken};
use crate::vault::{SecretKind, StoredTokens, Vault};

/// Clock skew beyond which the report warns.
pub const MAX_SKEW_SECS: i64 = 60;

/// What the probes found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Probes {
    /// The keyring round trip: `ok in N ms` or the failure.
    pub keyring: String,
    /// The desktop's handler for the app's URI scheme.
    pub scheme_handler: String,
    /// The installed WebKitGTK.
    pub webkitgtk: String,
    /// Proxy variables in effect, credentials masked.
    pub proxies: Vec<String>,
    /// The clock check.
    pub clock: String,
    /// Local clock minus the provider's (seconds), when measured.
    pub clock_skew_secs: Option<i64>,
}

impl Probes {
    /// The probes as indented text lines.
    pub fn to_text(&self) -> String {
        let proxies = if self.proxies.is_empty() { "none".to_owned() } else { self.proxies.join(", ") };
        format!(
            "  keyring: {}\n  URI scheme {SCHEME}: {}\n  WebKitGTK: {}\n  proxies: {proxies}\n  clock: {}\n",
            self.keyring, self.scheme_handler, self.webkitgtk, self.clock
        )
    }
}

/// Runs every probe; `token_url` is where the clock is checked (none: skipped).
pub async fn run(vault: &Vault, http: &reqwest::Client, token_url: Option<&Url>) -> Probes {
    let (clock, clock_skew_secs) = match token_url {
        Some(url) => clock_check(http, url).await,
        None => ("not checked (no token endpoint)".into(), None),
    };
    // The helper programs run on the blocking pool, never on an async worker.
    let desktop = tokio::task::spawn_blocking(|| {
        let scheme = command_line("xdg-mime", &["query", "default", &crate::desktop::scheme::mime_type()])
            .map(|s| if s.is_empty() { "not registered with the desktop (the system-browser sign-in can't return to the app)".into() } else { s })
            .unwrap_or_else(|e| format!("unknown ({e})"));
        let webkit = command_line("dpkg-query", &["-W", "-f", "${Version}", "libwebkit2gtk-4.1-0"]).unwrap_or_else(|e| format!("unknown ({e})"));
        (scheme, webkit)
    });
    let keyring = keyring_probe(vault).await;
    let (scheme_handler, webkitgtk) = desktop.await.unwrap_or_else(|e| (format!("unknown ({e})"), format!("unknown ({e})")));
    Probes {
        keyring,
        scheme_handler,
        webkitgtk,
        proxies: proxies(std::env::vars()),
        clock,
        clock_skew_secs,
    }
}

/// Writes, reads back and deletes a probe account's tokens, the way an account's are kept (one item).
async fn keyring_probe(vault: &Vault) -> String {
    let id = format!("probe-{}", uuid::Uuid::new_v4());
    let started = Instant::now();
    let value = |kind: SecretKind| format!("account-linker keyring probe ({})", kind.name());
    let outcome = async {
        let (access, refresh, id_token) = (
            AccessToken::new(value(SecretKind::AccessToken)),
            RefreshToken::new(value(SecretKind::RefreshToken)),
            IdToken::new(value(SecretKind::IdToken)),
        );
        vault.update_tokens(&id, StoredTokens::default(), crate::vault::NewTokens { access: &access, refresh: Some(&refresh), id: Some(&id_token) }).await?;
        let back = vault.tokens(&id).await;
        // Deleted even when the read failed: a probe leaves nothing behind.
        vault.delete_account(&id).await?;
        let back = back?;
        Ok::<_, crate::vault::VaultError>(SecretKind::ALL.iter().all(|&k| back.get(k) == Some(value(k).as_str())))
    }
    .await;
    match outcome {
        Ok(true) => format!("write, read and delete ok in {} ms", started.elapsed().as_millis()),
        Ok(false) => "the keyring returned something else than was written".into(),
        Err(e) => format!("failed: {e}"),
    }
}

fn command_line(program: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The proxy variables set, with any user name and password masked.
pub fn proxies(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut out: Vec<String> = vars
        .filter(|(k, _)| ["http_proxy", "https_proxy", "all_proxy", "no_proxy"].contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| {
            let shown = match Url::parse(&v) {
                Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
                    let _ = u.set_username("***");
                    let _ = u.set_password(None);
                    u.to_string()
                }
                // Not a URL with a scheme (`alice:s3cret@proxy:3128` parses as scheme `alice`): whatever
                // stands before the last `@` may be credentials.
                _ => match v.rsplit_once('@') {
                    Some((head, host)) => format!("{}***@{host}", head.find("://").map_or("", |i| &head[..i + 3])),
                    None => v,
                },
            };
            format!("{k}={shown}")
        })
        .collect();
    out.sort();
    out
}

/// Compares the local clock with the `Date` header of the token endpoint (any answer carries one).
async fn clock_check(http: &reqwest::Client, url: &Url) -> (String, Option<i64>) {
    let answer = match http.head(url.clone()).send().await {
        Ok(a) => a,
        Err(e) => return (format!("not checked: {} could not be reached ({e})", url.host_str().unwrap_or("")), None),
    };
    let Some(date) = answer.headers().get(reqwest::header::DATE).and_then(|d| d.to_str().ok()) else {
        return ("not checked: the token endpoint sent no Date header".into(), None);
    };
    let Some(theirs) = crate::refresh::schedule::parse_http_date(date) else {
        return (format!("not checked: unreadable Date header {date:?}"), None);
    };
    let skew = crate::linker::unix_now() as i64 - theirs as i64;
    let words = if skew.abs() > MAX_SKEW_SECS {
        format!("WARNING: {} s {} {} (turn on automatic time)", skew.abs(), if skew > 0 { "ahead of" } else { "behind" }, url.host_str().unwrap_or(""))
    } else {
        format!("within {} s of {}", skew.abs().max(1), url.host_str().unwrap_or(""))
    };
    (words, Some(skew))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_masked() {
        let vars = vec![
            ("HTTPS_PROXY".to_owned(), "http://alice:s3cret@proxy.example:3128".to_owned()),
            ("no_proxy".to_owned(), "localhost,127.0.0.1".to_owned()),
            ("PATH".to_owned(), "/usr/bin".to_owned()),
        ];
        let shown = proxies(vars.into_iter());
        assert_eq!(shown, vec!["HTTPS_PROXY=http://***@proxy.example:3128/".to_owned(), "no_proxy=localhost,127.0.0.1".to_owned()]);
        assert!(!shown.concat().contains("s3cret"));
        let bare = proxies(vec![("http_proxy".to_owned(), "alice:s3cret@proxy.example:3128".to_owned())].into_iter());
        assert_eq!(bare, vec!["http_proxy=***@proxy.example:3128".to_owned()], "no scheme: still masked");
    }
}
