//! The command line, as support staff and scripts use it: the real `account-linker` binary against the
//! demo provider over HTTP and the real Secret Service, with exit codes and outputs checked.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use account_linker_tests::demo_provider::{DemoConfig, DemoServer};

use crate::browser;

fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/account-linker");
    assert!(bin.exists(), "build the app first (cargo build -p account-linker): {}", bin.display());
    bin
}

/// The app's command line in the isolated home `home` (no demo provider), as another program runs it.
pub(crate) fn command_in(home: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(binary());
    c.args(args).env("ACCOUNT_LINKER_HOME", home).env_remove("ACCOUNT_LINKER_LOG").stdin(Stdio::null());
    c
}

struct Cli {
    home: tempfile::TempDir,
    demo_url: String,
}

impl Cli {
    /// The command line in a fresh home, with the demo provider at `demo`.
    fn for_demo(demo: &DemoServer) -> Cli {
        Cli { home: tempfile::tempdir().expect("tmp"), demo_url: demo.base_url.to_string() }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = command_in(self.home.path(), args);
        c.env("ACCOUNT_LINKER_DEMO_URL", &self.demo_url);
        c
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut c = self.command(args);
        tokio::task::spawn_blocking(move || c.output().expect("run account-linker")).await.expect("join")
    }

    /// `connect demo --no-browser`: reads the URL it prints, signs in over HTTP, pastes the redirect.
    async fn connect(&self, decision: &'static str) -> Output {
        self.connect_to(&["connect", "demo", "--no-browser"], decision).await
    }

    async fn connect_to(&self, args: &[&str], decision: &'static str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (first, reader) = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            reader.read_line(&mut line).expect("first line");
            (line, reader)
        })
        .await
        .expect("join");
        let url = url::Url::parse(first.trim()).expect("the first stdout line is the authorize URL");
        let location = browser::authorize(&url, decision).await;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{location}").expect("paste");
        drop(stdin);
        tokio::task::spawn_blocking(move || {
            let mut rest = String::new();
            let mut reader = reader;
            std::io::Read::read_to_string(&mut reader, &mut rest).expect("rest");
            let mut out = child.wait_with_output().expect("wait");
            out.stdout = rest.into_bytes();
            out
        })
        .await
        .expect("join")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn link_use_refresh_lose_and_disconnect_from_the_command_line() {
    let demo = DemoServer::start_local(DemoConfig { test_controls: true, ..DemoConfig::default() }).await.expect("demo");
    let cli = Cli::for_demo(&demo);

    let out = cli.connect("approve").await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    assert_eq!(id.len(), 36, "prints the new account's id: {id:?}");

    let out = cli.run(&["accounts", "--json"]).await;
    let accounts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(accounts[0]["id"], id.as_str());
    assert_eq!(accounts[0]["state"]["kind"], "connected");
    assert_eq!(accounts[0]["displayName"], "demo@example.test");

    let out = cli.run(&["token", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let first_token = text(&out.stdout).trim().to_owned();
    assert!(first_token.starts_with("demo_at_"));
    assert!(text(&out.stderr).is_empty(), "nothing but the token: {}", text(&out.stderr));

    let out = cli.run(&["refresh", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("expires in"));
    assert_eq!(demo.stats().refresh_grants, 1);
    let out = cli.run(&["token", &id]).await;
    assert_ne!(text(&out.stdout).trim(), first_token, "the refreshed access token is handed out");

    // The provider revokes the grant: the account needs reconnecting, exit code 3, said plainly.
    demo.revoke_all_refresh_tokens();
    let out = cli.run(&["refresh", &id]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("needs to be reconnected"), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).lines().count(), 1, "one clear line");
    let out = cli.run(&["accounts"]).await;
    assert!(text(&out.stdout).contains("needs reconnect"), "{}", text(&out.stdout));
    let requests = demo.stats().token_requests;
    let out = cli.run(&["refresh", &id]).await;
    assert_eq!(out.status.code(), Some(3));
    let out_token = cli.run(&["token", &id]).await;
    assert_eq!(out_token.status.code(), Some(3));
    assert_eq!(demo.stats().token_requests, requests, "no token request for an account that needs reconnecting");

    let out = cli.run(&["disconnect", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the provider revoked the token"), "{}", text(&out.stdout));
    assert_eq!(demo.stats().revocation_requests, 1);
    let out = cli.run(&["accounts", "--json"]).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json"), serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_consent_and_bad_usage_have_their_exit_codes() {
    let demo = DemoServer::start_local(DemoConfig::default()).await.expect("demo");
    let cli = Cli::for_demo(&demo);

    let out = cli.connect("deny").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("You declined access"), "{}", text(&out.stderr));

    for (args, code) in [
        (vec!["connect", "nosuch", "--no-browser"], 2),
        (vec!["connect", "demo"], 2),
        (vec!["token"], 2),
        (vec!["token", "no-such-account"], 2),
        (vec!["accounts", "--bogus"], 2),
        (vec!["connect", "zaehlerfreunde", "--no-browser"], 2),
    ] {
        let out = cli.run(&args).await;
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with("account-linker: "), "{args:?}: {}", text(&out.stderr));
    }
    let out = cli.run(&["connect", "zaehlerfreunde", "--no-browser"]).await;
    assert!(text(&out.stderr).contains("no client_id is configured"), "{}", text(&out.stderr));

    let out = cli.run(&["providers", "--json"]).await;
    let providers: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<_> = providers.as_array().expect("list").iter().map(|p| p["id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, ["demo", "zaehlerfreunde", "youthweb", "workfront"]);
    assert_eq!(providers[3]["redirectUri"], "org.accountlinker.app:/oauth2/workfront");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_providers_toml_is_reported_and_the_rest_works() {
    let demo = DemoServer::start_local(DemoConfig::default()).await.expect("demo");
    let cli = Cli::for_demo(&demo);
    std::fs::write(
        cli.home.path().join("providers.toml"),
        "[[provider]]\nid = \"zaehlerfreunde\"\nclient_id = \"abc123\"\n\n[[provider]]\nid = \"x\"\nname = \"X\"\nauthorize_url = \"http://evil.example/a\"\n",
    )
    .expect("write");
    let out = cli.run(&["providers", "--json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("providers.toml:8: provider 'x', field 'authorize_url'"), "{stderr}");
    let providers: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let zf = providers.as_array().expect("list").iter().find(|p| p["id"] == "zaehlerfreunde").expect("zf");
    assert!(zf["notReady"].is_null(), "the valid override applied: {zf}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workfront_account_is_linked_from_the_command_line_with_its_organization() {
    use account_linker_tests::emulators::workfront::{WorkfrontConfig, WorkfrontServer};
    let demo = DemoServer::start_local(DemoConfig::default()).await.expect("demo");
    let wf = WorkfrontServer::start(WorkfrontConfig::default()).await.expect("emulator");
    let cli = Cli::for_demo(&demo);
    std::fs::write(cli.home.path().join("providers.toml"), crate::seeds::workfront_toml(&wf)).expect("write");

    let out = cli.connect_to(&["connect", "workfront", "--tenant", "acme", "--no-browser"], "approve").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();
    let out = cli.run(&["accounts", "--json"]).await;
    let accounts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(accounts[0]["tenant"], "acme.my.workfront.com");
    assert_eq!(accounts[0]["details"]["lane"], "my");
    let out = cli.run(&["token", &id]).await;
    assert!(text(&out.stdout).starts_with("wf_at_"), "{}", text(&out.stderr));
    let out = cli.run(&["disconnect", &id]).await;
    assert!(text(&out.stdout).contains("can't revoke"), "Workfront has no revocation endpoint: {}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn zaehlerfreunde_and_youthweb_are_linked_from_the_command_line() {
    use account_linker_tests::emulators::youthweb::{YouthwebConfig, YouthwebServer};
    use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer};
    let demo = DemoServer::start_local(DemoConfig::default()).await.expect("demo");
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("zf");
    let yw = YouthwebServer::start(YouthwebConfig::default()).await.expect("yw");
    let cli = Cli::for_demo(&demo);
    let toml = format!("{}\n{}", crate::seeds::zf_toml(&zf), crate::seeds::youthweb_toml(&yw));
    std::fs::write(cli.home.path().join("providers.toml"), toml).expect("write");

    for (provider, token_prefix) in [("zaehlerfreunde", "eyJ"), ("youthweb", "eyJ")] {
        let out = cli.connect_to(&["connect", provider, "--no-browser"], "approve").await;
        assert_eq!(out.status.code(), Some(0), "{provider}: {}", text(&out.stderr));
        let id = text(&out.stdout).trim().to_owned();
        let out = cli.run(&["token", &id]).await;
        assert!(text(&out.stdout).starts_with(token_prefix), "{provider}: a JWT access token");
    }
    let out = cli.run(&["accounts"]).await;
    assert_eq!(text(&out.stdout).lines().count(), 2, "{}", text(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_provider_by_issuer_is_linked_from_the_command_line() {
    let demo = DemoServer::start_local(DemoConfig::default()).await.expect("demo");
    let op = crate::oidc::start_oidc_provider();
    let cli = Cli::for_demo(&demo);
    std::fs::write(cli.home.path().join("providers.toml"), crate::oidc::oidc_toml(&op.issuer)).expect("write");
    let out = cli.connect_to(&["connect", "oidc-test", "--no-browser"], "approve").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = cli.run(&["accounts", "--json"]).await;
    let accounts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(accounts[0]["displayName"], "demo@oidc.test");
    assert_eq!(accounts[0]["hasRefreshToken"], true);
}

#[tokio::test]
async fn without_a_secret_service_the_command_line_says_so_and_loses_nothing() {
    let demo = DemoServer::start_local(DemoConfig { test_controls: true, ..DemoConfig::default() }).await.expect("demo");
    let cli = Cli::for_demo(&demo);
    let out = cli.connect("approve").await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_owned();

    // The session bus is gone (as in an SSH session without a desktop): every keyring step says so.
    for args in [vec!["token", id.as_str()], vec!["refresh", id.as_str()], vec!["disconnect", id.as_str()]] {
        let mut c = cli.command(&args);
        c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/account-linker-test-bus");
        let out = tokio::task::spawn_blocking(move || c.output().expect("run")).await.expect("join");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("no system keyring is running") && err.contains("start a Secret Service"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    }
    assert_eq!(demo.stats().token_requests, 1, "only the code exchange reached the provider");

    // With the keyring back, the account is exactly as it was.
    let out = cli.run(&["accounts", "--json"]).await;
    let accounts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(accounts[0]["id"], id.as_str());
    assert_eq!(accounts[0]["state"]["kind"], "connected");
    let out = cli.run(&["token", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("demo_at_"));
}
