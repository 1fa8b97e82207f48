//! Diagnostics as support staff use them: the timeline, the token inspector and the support report
//! (`account-linker diagnose`, `log`) for a Zählerfreunde account that was linked, refreshed, handed out
//! and broken, over real HTTP and the real Secret Service. Redaction is checked, not hoped for: every
//! code, token and verifier the emulator issued or received is searched for in every output, the
//! timeline files, the account file and the debug log, and must not be there.

use std::path::Path;
use std::process::Output;

use account_linker::accounts::AccountStore;
use account_linker::diagnostics::inspect::fingerprint;
use account_linker::linker::Linker;
use account_linker::paths::AppPaths;
use account_linker::providers::Catalogue;
use account_linker::vault::SecretKind;
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer, ZF_CLIENT_ID};
use account_linker_tests::emulators::Fault;

use crate::browser;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn cli(home: &Path, args: &[&str]) -> Output {
    let mut c = crate::cli::command_in(home, args);
    c.env("ACCOUNT_LINKER_LOG", "debug").env("ACCOUNT_LINKER_LOG_FILE", home.join("debug.log"));
    tokio::task::spawn_blocking(move || c.output().expect("run account-linker")).await.expect("join")
}

/// Every file under `dir`, as text.
fn all_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.display().to_string(), String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn support_sees_why_an_account_broke_and_never_a_secret() {
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");
    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(
        home.path().join("providers.toml"),
        format!(
            "[[provider]]\nid = \"zaehlerfreunde\"\nclient_id = \"{ZF_CLIENT_ID}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\nuserinfo_url = \"{}\"\ntest_url = \"{}\"\n",
            zf.authorize_endpoint("authorize"),
            zf.token_endpoint("oauth/token"),
            zf.authorize_endpoint("userinfo"),
            zf.authorize_endpoint("userinfo"),
        ),
    )
    .expect("providers.toml");
    let paths = AppPaths::isolated(home.path());
    let linker = Linker::new(&paths, Catalogue::load(&paths.config_dir)).expect("linker");

    // Linked, refreshed (rotation), a refresh that meets a 503, a test API call, a token handed out.
    let start = linker.begin("zaehlerfreunde", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let account = linker.complete(&start.flow_id, &location).await.expect("linked");
    let id = account.id.as_str();
    linker.refresh(id).await.expect("refresh");
    zf.fail_next_token(1, Fault::Status503);
    linker.refresh(id).await.expect_err("503");
    let answer = linker.test_api(id).await.expect("test call");
    assert_eq!(answer.status, 200);
    let token = cli(home.path(), &["token", id]).await;
    assert!(token.status.success(), "{}", text(&token.stderr));

    let log = cli(home.path(), &["log", id, "--json"]).await;
    assert!(log.status.success(), "{}", text(&log.stderr));
    let timeline: serde_json::Value = serde_json::from_slice(&log.stdout).expect("json");
    let kinds: Vec<&str> = timeline["entries"].as_array().expect("entries").iter().map(|e| e["kind"].as_str().unwrap_or("")).collect();
    assert_eq!(
        kinds,
        ["flowStarted", "redirectReceived", "codeExchange", "stateChanged", "refresh", "refresh", "apiTest", "tokenHandedOut"],
        "{timeline:#}"
    );
    let e = &timeline["entries"];
    assert_eq!(e[0]["authorizeHost"], zf.authorize_endpoint("authorize").host_str().expect("host"));
    assert!(e[0]["scopes"].as_array().expect("scopes").iter().any(|s| s == "offline_access"));
    assert_eq!(e[1]["params"], serde_json::json!(["code", "state"]));
    assert_eq!((e[2]["ok"].as_bool(), e[2]["newRefreshToken"].as_bool()), (Some(true), Some(true)));
    assert_eq!((e[4]["ok"].as_bool(), e[4]["status"].as_u64()), (Some(true), Some(200)));
    assert_eq!((e[5]["ok"].as_bool(), e[5]["status"].as_u64()), (Some(false), Some(503)));
    assert_eq!(e[6]["status"], 200);
    assert!(e[7]["program"].as_str().expect("program").contains("(pid "), "{}", e[7]);
    let log_text = cli(home.path(), &["log", id]).await;
    assert!(text(&log_text.stdout).contains(" UTC (") && text(&log_text.stdout).contains("refresh failed: HTTP 503"), "{}", text(&log_text.stdout));

    // The report: inspector (fingerprints, decoded claims), probes, the timeline.
    let report = cli(home.path(), &["diagnose", id, "--json"]).await;
    assert!(report.status.success(), "{}", text(&report.stderr));
    let r: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    let rt = linker.vault().get(id, SecretKind::RefreshToken).await.expect("keyring").expect("rt");
    let at = linker.vault().get(id, SecretKind::AccessToken).await.expect("keyring").expect("at");
    assert_eq!(r["inspection"]["refreshToken"]["fingerprint"], fingerprint(&rt));
    assert_eq!(r["inspection"]["accessToken"]["fingerprint"], fingerprint(&at));
    assert_eq!(r["inspection"]["presentedAs"], "Authorization: Bearer …");
    assert_eq!(r["inspection"]["refreshes"], 1);
    let claims = &r["inspection"]["accessToken"]["jwt"]["claims"];
    assert!(claims["sub"].is_string(), "{claims}");
    assert!(claims["exp"].is_u64() && claims["scope"].as_str().is_some_and(|s| s.contains("offline_access")));
    assert!(r["inspection"]["idToken"]["jwt"]["claims"]["email"].is_null(), "personal claims stay out");
    assert!(r["probes"]["keyring"].as_str().expect("probe").starts_with("write, read and delete ok"), "{}", r["probes"]);
    assert!(r["probes"]["clock"].as_str().expect("clock").starts_with("within"), "{}", r["probes"]);
    assert_eq!(r["timeline"]["entries"].as_array().map(Vec::len), Some(8));
    let human = cli(home.path(), &["diagnose", id]).await;
    let human_text = text(&human.stdout);
    for part in ["support report", "Tokens", "fingerprint", "Likely causes", "Environment", "Timeline (8 events)"] {
        assert!(human_text.contains(part), "{part}: {human_text}");
    }

    // The provider revokes the grant: the report explains it in plain words.
    zf.revoke_refresh_tokens();
    linker.refresh(id).await.expect_err("revoked");
    let broken = cli(home.path(), &["diagnose", id, "--json"]).await;
    let b: serde_json::Value = serde_json::from_slice(&broken.stdout).expect("json");
    assert_eq!(b["account"]["state"]["kind"], "needsReconnect");
    assert!(b["explanations"][0].as_str().expect("explained").contains("no longer accepts the refresh token"), "{}", b["explanations"]);
    let unknown = cli(home.path(), &["diagnose", "no-such-account"]).await;
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown.stderr));

    // Redaction: no secret the emulator issued or received appears anywhere but in `token`'s stdout.
    let secrets = zf.issued_secrets();
    assert!(secrets.len() >= 8, "codes, access, refresh and ID tokens and the verifier were recorded: {}", secrets.len());
    let mut haystacks = all_files(home.path());
    for (name, out) in [("log", &log), ("log text", &log_text), ("diagnose --json", &report), ("diagnose", &human), ("broken", &broken)] {
        haystacks.push((format!("{name} stdout"), text(&out.stdout)));
        haystacks.push((format!("{name} stderr"), text(&out.stderr)));
    }
    haystacks.push(("token stderr".into(), text(&token.stderr)));
    assert!(haystacks.iter().any(|(n, t)| n.ends_with("debug.log") && t.contains("DEBUG") || n.ends_with("debug.log") && t.contains("INFO")), "the debug log was written");
    let accounts = AccountStore::new(paths.accounts_file()).load().expect("store");
    assert_eq!(accounts.len(), 1);
    for secret in &secrets {
        for (name, hay) in &haystacks {
            assert!(!hay.contains(secret.as_str()), "a secret ({}…) leaked into {name}", &secret[..6.min(secret.len())]);
        }
    }
    linker.vault().delete_account(id).await.expect("clean up");
}
