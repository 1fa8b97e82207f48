//! The command line: the same binary, the same domain functions as the GUI, no window.
//!
//! ```text
//! account-linker providers [--json]
//! account-linker accounts [--json]
//! account-linker connect PROVIDER [--tenant ORG] --no-browser
//! account-linker token ACCOUNT
//! account-linker refresh ACCOUNT
//! account-linker disconnect ACCOUNT
//! account-linker diagnose ACCOUNT [--json]
//! account-linker log ACCOUNT|app [--json]
//! ```
//! Exit codes: 0 done, 2 bad usage or configuration, 3 the account needs reconnecting, 1 anything else;
//! each failure prints one clear line on stderr. Only `token` prints a secret, and only on stdout.

use std::io::{BufRead, Write};

use crate::linker::{LinkError, Linker, Revocation};
use crate::paths::AppPaths;
use crate::providers::Catalogue;

/// The subcommands, for telling a CLI call from a GUI start.
pub const SUBCOMMANDS: [&str; 10] =
    ["providers", "accounts", "connect", "token", "refresh", "disconnect", "diagnose", "log", "help", "--help"];

/// Exit code: done.
pub const EXIT_OK: i32 = 0;
/// Exit code: anything else failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: bad usage or configuration.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the account needs reconnecting.
pub const EXIT_RECONNECT: i32 = 3;

const USAGE: &str = "usage:
  account-linker                                   open the app
  account-linker providers [--json]                the provider catalogue (secrets masked)
  account-linker accounts [--json]                 linked accounts and their state
  account-linker connect PROVIDER [--tenant ORG] --no-browser
                                                   print the sign-in URL, read the redirected-to URL
                                                   from stdin, link the account, print its id
  account-linker token ACCOUNT                     a valid access token on stdout (refreshed if needed)
  account-linker refresh ACCOUNT                   refresh the account's tokens now
  account-linker disconnect ACCOUNT                revoke at the provider where possible, delete locally
  account-linker diagnose ACCOUNT [--json]         a support report: state, token inspector (no secrets),
                                                   likely causes, environment probes, timeline
  account-linker log ACCOUNT [--json]              the account's timeline (`log app`: sign-ins that ended
                                                   without an account, disconnections)";

/// Whether these arguments ask for the command line rather than the window.
pub fn wants_cli(args: &[String]) -> bool {
    args.get(1).is_some_and(|a| SUBCOMMANDS.contains(&a.as_str()))
}

/// Runs a subcommand; returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(EXIT_FAILED, &format!("could not start: {e}")),
    };
    runtime.block_on(run(args))
}

struct Args<'a> {
    positional: Vec<&'a str>,
    json: bool,
    no_browser: bool,
    tenant: Option<&'a str>,
}

fn parse(args: &[String]) -> Result<Args<'_>, String> {
    let mut out = Args { positional: Vec::new(), json: false, no_browser: false, tenant: None };
    let mut it = args.iter().skip(2);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => out.json = true,
            "--no-browser" => out.no_browser = true,
            "--tenant" => out.tenant = Some(it.next().ok_or("--tenant needs a value")?.as_str()),
            s if s.starts_with("--tenant=") => out.tenant = Some(&s["--tenant=".len()..]),
            s if s.starts_with('-') => return Err(format!("unknown option '{s}'")),
            s => out.positional.push(s),
        }
    }
    Ok(out)
}

async fn run(args: &[String]) -> i32 {
    let command = args.get(1).map(String::as_str).unwrap_or("help");
    if matches!(command, "help" | "--help") {
        println!("{USAGE}");
        return EXIT_OK;
    }
    let parsed = match parse(args) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_USAGE, &format!("{e}\n{USAGE}")),
    };
    let paths = AppPaths::from_env();
    let catalogue = Catalogue::load(&paths.config_dir);
    for problem in catalogue.problems() {
        eprintln!("account-linker: warning: {problem}");
    }
    let linker = match Linker::new(&paths, catalogue) {
        Ok(l) => l,
        Err(e) => return fail(EXIT_FAILED, &e.to_string()),
    };
    let one = |what: &str| match parsed.positional.as_slice() {
        [x] => Ok(x.to_string()),
        _ => Err(format!("'{command}' takes exactly one {what}\n{USAGE}")),
    };
    let result = match command {
        "providers" => providers(&linker, parsed.json),
        "accounts" => accounts(&linker, parsed.json).await,
        "connect" => match one("provider id") {
            Ok(p) if parsed.no_browser => connect(&linker, &p, parsed.tenant).await,
            Ok(_) => return fail(EXIT_USAGE, "connect from the command line needs --no-browser (paste the redirected-to URL)"),
            Err(e) => return fail(EXIT_USAGE, &e),
        },
        "token" | "refresh" | "disconnect" | "diagnose" | "log" => match one("account id") {
            Ok(id) => match command {
                "token" => token(&linker, &id).await,
                "refresh" => refresh(&linker, &id).await,
                "diagnose" => diagnose(&linker, &id, parsed.json).await,
                "log" => log(&linker, &id, parsed.json).await,
                _ => disconnect(&linker, &id).await,
            },
            Err(e) => return fail(EXIT_USAGE, &e),
        },
        _ => return fail(EXIT_USAGE, &format!("unknown command '{command}'\n{USAGE}")),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let code = match &e {
                LinkError::NeedsReconnect(_) => EXIT_RECONNECT,
                LinkError::UnknownProvider(_) | LinkError::UnknownAccount(_) | LinkError::Provider(_) => EXIT_USAGE,
                _ => EXIT_FAILED,
            };
            fail(code, &e.to_string())
        }
    }
}

fn fail(code: i32, message: &str) -> i32 {
    eprintln!("account-linker: {message}");
    code
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), LinkError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| LinkError::Output(e.to_string()))?;
    println!("{text}");
    Ok(())
}

fn providers(linker: &Linker, json: bool) -> Result<(), LinkError> {
    let list = linker.providers();
    if json {
        return print_json(&list);
    }
    for p in list {
        let status = p.not_ready.as_deref().unwrap_or("ready");
        println!("{:<16} {:<20} redirect_uri {}  ({status})", p.id, p.name, p.redirect_uri);
    }
    Ok(())
}

async fn accounts(linker: &Linker, json: bool) -> Result<(), LinkError> {
    let list = linker.accounts().await?;
    if json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("no accounts linked");
    }
    for a in list {
        let state = match &a.account.state {
            crate::accounts::AccountState::Connected => "connected".to_owned(),
            crate::accounts::AccountState::NeedsReconnect { reason } => format!("needs reconnect: {reason}"),
        };
        let name = a.account.display_name.as_deref().unwrap_or("-");
        println!("{}  {:<16} {:<28} {state}", a.account.id, a.account.provider_id, name);
    }
    Ok(())
}

async fn connect(linker: &Linker, provider: &str, tenant: Option<&str>) -> Result<(), LinkError> {
    let start = linker.begin(provider, tenant).await?;
    println!("{}", start.authorize_url);
    std::io::stdout().flush().ok();
    eprintln!("Open the URL above in a browser and sign in. The browser is then sent to");
    eprintln!("{}?… — paste that whole address here and press Enter:", start.redirect_uri);
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if read.map(|n| n == 0).unwrap_or(true) || line.trim().is_empty() {
        linker.cancel(&start.flow_id);
        return Err(LinkError::Cancelled);
    }
    // The same way in as a redirect through the app's URI scheme: the pasted URL must belong to this
    // sign-in (redirect URI and `state`), or it is refused and recorded.
    let flow = match linker.route(line.trim()) {
        Ok(flow) => flow,
        Err(e) => {
            linker.cancel(&start.flow_id);
            return Err(e);
        }
    };
    let account = linker.finish(flow, line.trim()).await?;
    println!("{}", account.id);
    Ok(())
}

async fn token(linker: &Linker, account: &str) -> Result<(), LinkError> {
    let token = linker.access_token(account).await?;
    let program = crate::diagnostics::calling_program();
    tracing::info!(account, program = program.as_str(), "access token handed out on stdout");
    linker.note(account, crate::diagnostics::timeline::Event::TokenHandedOut { program });
    println!("{}", token.secret());
    Ok(())
}

async fn refresh(linker: &Linker, account: &str) -> Result<(), LinkError> {
    let a = linker.refresh(account).await?;
    match a.expires_at {
        Some(at) => println!("refreshed; the access token expires in {} s", at.saturating_sub(crate::linker::unix_now())),
        None => println!("refreshed; the provider did not say when the access token expires"),
    }
    Ok(())
}

async fn disconnect(linker: &Linker, account: &str) -> Result<(), LinkError> {
    match linker.disconnect(account).await? {
        Revocation::Revoked => println!("disconnected; the provider revoked the token"),
        Revocation::NotOffered => println!("disconnected locally; this provider can't revoke tokens, so revoke the app's access in your account settings there"),
        Revocation::NothingToRevoke => println!("disconnected; no token was stored to revoke"),
        Revocation::Failed(why) => println!("disconnected locally; revoking at the provider failed ({why}), so revoke the app's access in your account settings there"),
    }
    Ok(())
}

async fn diagnose(linker: &Linker, account: &str, json: bool) -> Result<(), LinkError> {
    let report = linker.report(account).await?;
    if json {
        return print_json(&report);
    }
    print!("{}", report.to_text());
    Ok(())
}

async fn log(linker: &Linker, account: &str, json: bool) -> Result<(), LinkError> {
    let timeline = linker.timeline(account).await?;
    if json {
        return print_json(&timeline);
    }
    if timeline.entries.is_empty() {
        println!("nothing recorded yet");
    }
    print!("{}", crate::diagnostics::report::timeline_text(&timeline.entries));
    if timeline.unreadable_lines > 0 {
        println!("({} damaged lines of the timeline file were skipped)", timeline.unreadable_lines);
    }
    Ok(())
}
