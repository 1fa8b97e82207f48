//! `emulators`: runs the emulators of the three seed providers (Zählerfreunde, Youthweb, Workfront) on
//! `127.0.0.1` until SIGTERM or SIGINT, and writes a `providers.toml` that points the app at them.
//!
//! ```text
//! emulators --providers-toml PATH [--zf-access-token-lifetime SECS]
//! ```
//!
//! `--zf-access-token-lifetime SECS` sets the lifetime of Zählerfreunde's access tokens (default
//! 86400, Auth0's default; at least 1), e.g. a few seconds to exercise refreshing.
//!
//! Prints one line to standard output once all are listening, which scripts wait for:
//! `emulators ready: zaehlerfreunde=URL youthweb=URL workfront=URL`. Sign in as `demo` / `demo`; the
//! Workfront organizations are `acme` (lane `my`) and `acme.preview.workfront.com`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use account_linker_tests::emulators::workfront::{WorkfrontConfig, WorkfrontServer, WF_CLIENT_ID, WF_CLIENT_SECRET};
use account_linker_tests::emulators::youthweb::{YouthwebConfig, YouthwebServer, YW_CLIENT_ID, YW_CLIENT_SECRET};
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer};

const USAGE: &str = "usage: emulators --providers-toml PATH [--zf-access-token-lifetime SECS]";

/// The command line.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    providers_toml: PathBuf,
    zf_access_token_lifetime: Option<Duration>,
}

/// Parses the arguments (without the program name); `None` means: print [`USAGE`].
fn parse_args(args: &[String]) -> Option<Options> {
    let mut providers_toml = None;
    let mut zf_access_token_lifetime = None;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next()?;
        match flag.as_str() {
            "--providers-toml" if providers_toml.is_none() => providers_toml = Some(PathBuf::from(value)),
            "--zf-access-token-lifetime" if zf_access_token_lifetime.is_none() => {
                let secs = value.parse::<u64>().ok().filter(|s| *s > 0)?;
                zf_access_token_lifetime = Some(Duration::from_secs(secs));
            }
            _ => return None,
        }
    }
    Some(Options { providers_toml: providers_toml?, zf_access_token_lifetime })
}

/// The `providers.toml` that points the built-in seed providers at the running emulators.
fn providers_toml(zf: &ZaehlerfreundeServer, yw: &YouthwebServer, wf: &WorkfrontServer) -> String {
    let wf_base = wf.base_url.as_str().trim_end_matches('/');
    format!(
        "# Written by tests/src/bin/emulators.rs: the seed providers, served by local emulators.\n\n{}\n\
         [[provider]]\nid = \"youthweb\"\nclient_id = \"{YW_CLIENT_ID}\"\nclient_secret = \"{YW_CLIENT_SECRET}\"\n\
         authorize_url = \"{}\"\ntoken_url = \"{}\"\ntest_url = \"{}\"\n\n\
         [[provider]]\nid = \"workfront\"\nclient_id = \"{WF_CLIENT_ID}\"\nclient_secret = \"{WF_CLIENT_SECRET}\"\n\
         authorize_url = \"{wf_base}/wf/{{tenant}}/integrations/oauth2/authorize\"\n\
         token_url = \"{wf_base}/wf/{{tenant}}/integrations/oauth2/api/v1/token\"\n\
         test_url = \"{wf_base}/wf/{{tenant}}/attask/api/v14.0/proj/search\"\n",
        zf.providers_toml(),
        yw.endpoint("auth/authorize"),
        yw.endpoint("auth/access_token"),
        yw.endpoint("users/me"),
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(options) = parse_args(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let path = options.providers_toml;
    let mut zf_config = ZaehlerfreundeConfig::default();
    if let Some(lifetime) = options.zf_access_token_lifetime {
        zf_config.access_token_lifetime = lifetime;
    }
    let started = async {
        Ok::<_, std::io::Error>((
            ZaehlerfreundeServer::start(zf_config).await?,
            YouthwebServer::start(YouthwebConfig::default()).await?,
            WorkfrontServer::start(WorkfrontConfig::default()).await?,
        ))
    };
    let (zf, yw, wf) = match started.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("emulators: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&path, providers_toml(&zf, &yw, &wf)) {
        eprintln!("emulators: could not write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    println!("emulators ready: zaehlerfreunde={} youthweb={} workfront={}", zf.authorize_base, yw.base_url, wf.base_url);
    if let Err(e) = std::io::stdout().flush() {
        eprintln!("emulators: {e}");
    }
    account_linker_tests::until_stopped().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn options_in_any_order_and_refusals() {
        let plain = parse_args(&args(&["--providers-toml", "p.toml"]));
        assert_eq!(plain, Some(Options { providers_toml: PathBuf::from("p.toml"), zf_access_token_lifetime: None }));
        let both = parse_args(&args(&["--zf-access-token-lifetime", "5", "--providers-toml", "p.toml"]));
        assert_eq!(both.and_then(|o| o.zf_access_token_lifetime), Some(Duration::from_secs(5)));
        for bad in [
            &[][..],
            &["--zf-access-token-lifetime", "5"],
            &["--providers-toml"],
            &["--providers-toml", "p.toml", "--zf-access-token-lifetime", "0"],
            &["--providers-toml", "p.toml", "--zf-access-token-lifetime", "soon"],
            &["--providers-toml", "p.toml", "--providers-toml", "q.toml"],
            &["--providers-toml", "p.toml", "--other", "x"],
        ] {
            assert_eq!(parse_args(&args(bad)), None, "{bad:?}");
        }
    }
}
