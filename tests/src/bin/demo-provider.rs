//! `demo-provider`: runs the demo OAuth 2.0 provider on `127.0.0.1` until SIGTERM or SIGINT.
//!
//! ```text
//! demo-provider [--port N] [--lifetime SECS] [--test-controls]
//! ```
//!
//! On start it prints exactly one line to standard output, which scripts parse:
//!
//! ```text
//! demo-provider listening on http://127.0.0.1:PORT/
//! ```
//!
//! Everything else (usage, errors, shutdown notice) goes to standard error. Tokens, codes and
//! verifiers are never printed.

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use account_linker_tests::demo_provider::{DemoConfig, DemoServer};

const USAGE: &str = "\
usage: demo-provider [--port N] [--lifetime SECS] [--test-controls]

  --port N          port to listen on at 127.0.0.1 (default 0: the OS picks one)
  --lifetime SECS   access token lifetime in seconds (default 3600)
  --test-controls   serve the /_control/ endpoints used by end-to-end tests
  --help            show this help

Sign in as user \"demo\" with password \"demo\".";

/// What the command line asks for.
#[derive(Debug)]
struct Options {
    port: u16,
    config: DemoConfig,
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        port: 0,
        config: DemoConfig::default(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = |what: &str| {
            inline_value
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value ({what})"))
        };
        match name.as_str() {
            "--port" => {
                let text = value("a port number")?;
                options.port = text
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {text}"))?;
            }
            "--lifetime" => {
                let text = value("seconds")?;
                options.config.access_token_lifetime_secs = text
                    .parse()
                    .map_err(|_| format!("--lifetime: not a number of seconds: {text}"))?;
            }
            "--test-controls" if inline_value.is_none() => options.config.test_controls = true,
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unknown argument: {name}")),
        }
    }
    Ok(Some(options))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("demo-provider: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let server = match DemoServer::start(options.config, addr).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("demo-provider: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        if let Err(error) = writeln!(stdout, "demo-provider listening on {}", server.base_url)
            .and_then(|()| stdout.flush())
        {
            eprintln!("demo-provider: cannot write to standard output: {error}");
        }
    }
    account_linker_tests::until_stopped().await;
    eprintln!("demo-provider: shutting down");
    match server.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo-provider: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_all_options() {
        let options = parse_args(args(&["--port", "8080", "--lifetime=5", "--test-controls"]))
            .expect("valid arguments")
            .expect("not --help");
        assert_eq!(options.port, 8080);
        assert_eq!(options.config.access_token_lifetime_secs, 5);
        assert!(options.config.test_controls);
    }

    #[test]
    fn defaults_and_errors() {
        let options = parse_args(args(&[])).expect("valid").expect("not --help");
        assert_eq!(options.port, 0);
        assert_eq!(options.config, DemoConfig::default());
        assert!(parse_args(args(&["--help"])).expect("valid").is_none());
        assert!(parse_args(args(&["--port"])).is_err());
        assert!(parse_args(args(&["--port", "x"])).is_err());
        assert!(parse_args(args(&["--bogus"])).is_err());
    }
}
