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
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer};
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
    std::fs::write(home.path().join("providers.toml"), zf.providers_toml()).expect("providers.toml");
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
    assert_eq!(b["explanations"][0]["code"], "refresh_revoked", "{}", b["explanations"]);
    assert!(b["explanations"][0]["text"].as_str().expect("explained").contains("no longer accepts the refresh token"));
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

#[tokio::test(flavor = "multi_thread")]
async fn youthweb_workfront_and_failed_sign_ins_leak_no_secret_either() {
    use account_linker_tests::emulators::workfront::{WorkfrontConfig, WorkfrontServer, WF_CLIENT_SECRET};
    use account_linker_tests::emulators::youthweb::{YouthwebConfig, YouthwebServer, YW_CLIENT_SECRET};
    let yw = YouthwebServer::start(YouthwebConfig::default()).await.expect("youthweb");
    let wf = WorkfrontServer::start(WorkfrontConfig::default()).await.expect("workfront");
    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(home.path().join("providers.toml"), format!("{}\n{}", crate::seeds::youthweb_toml(&yw), crate::seeds::workfront_toml(&wf)))
        .expect("providers.toml");
    let paths = AppPaths::isolated(home.path());
    let catalogue = Catalogue::load(&paths.config_dir);
    assert!(catalogue.problems().is_empty(), "{:?}", catalogue.problems());
    let linker = Linker::new(&paths, catalogue).expect("linker");
    let link = |provider: &'static str, tenant: Option<&'static str>, decision: &'static str| {
        let linker = &linker;
        async move {
            let start = linker.begin(provider, tenant).await?;
            let location = browser::authorize(&start.authorize_url, decision).await;
            linker.complete(&start.flow_id, &location).await
        }
    };

    // Two accounts, their APIs called, Workfront refreshed (rotation); then sign-ins that fail: consent
    // denied, and a token endpoint answering an HTML error page.
    let youthweb = link("youthweb", None, "approve").await.expect("youthweb linked");
    let workfront = link("workfront", Some("acme"), "approve").await.expect("workfront linked");
    assert_eq!(linker.test_api(&youthweb.id).await.expect("api").status, 200);
    assert_eq!(linker.test_api(&workfront.id).await.expect("api").status, 200);
    linker.refresh(&workfront.id).await.expect("workfront refresh");
    // Every kind of broken token answer, each recorded in the timeline and retried later.
    for fault in [Fault::Status503, Fault::TooMany429 { retry_after_secs: 1 }, Fault::MalformedJson, Fault::EmptyBody, Fault::Status500Html] {
        wf.fail_next_token(1, fault);
        linker.refresh(&workfront.id).await.expect_err("a broken answer");
    }
    linker.refresh(&workfront.id).await.expect("recovers");
    assert_eq!(link("youthweb", None, "deny").await.expect_err("denied").code(), "access_denied");
    wf.fail_next_token(1, Fault::Status500Html);
    assert_eq!(link("workfront", Some("acme"), "approve").await.expect_err("500").code(), "token_exchange");

    let mut outputs = Vec::new();
    for args in [
        vec!["token", youthweb.id.as_str()],
        vec!["token", workfront.id.as_str()],
        vec!["diagnose", youthweb.id.as_str()],
        vec!["diagnose", workfront.id.as_str(), "--json"],
        vec!["log", "app", "--json"],
        vec!["providers", "--json"],
        vec!["accounts", "--json"],
    ] {
        let out = cli(home.path(), &args).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        outputs.push((args.join(" "), out));
    }
    let app_log: serde_json::Value = serde_json::from_slice(&outputs[4].1.stdout).expect("json");
    let kinds: Vec<&str> = app_log["entries"].as_array().expect("entries").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "flowFailed").count(), 2, "{app_log:#}");
    let yw_report = text(&outputs[2].1.stdout);
    assert!(yw_report.contains("offers no token refresh"), "Youthweb's missing refresh is explained: {yw_report}");
    let wf_report: serde_json::Value = serde_json::from_slice(&outputs[3].1.stdout).expect("json");
    assert_eq!(wf_report["inspection"]["presentedAs"], "sessionID: …");
    let refreshes: Vec<&serde_json::Value> =
        wf_report["timeline"]["entries"].as_array().expect("entries").iter().filter(|e| e["kind"] == "refresh").collect();
    assert_eq!(refreshes.len(), 7, "every refresh is in the timeline");
    assert_eq!(refreshes.iter().filter(|e| e["ok"] == false).count(), 5);
    assert!(refreshes.iter().any(|e| e["status"] == 429));

    let mut secrets = yw.issued_secrets();
    secrets.extend(wf.issued_secrets());
    secrets.extend([YW_CLIENT_SECRET.to_owned(), WF_CLIENT_SECRET.to_owned()]);
    assert!(secrets.len() >= 8, "{}", secrets.len());
    // providers.toml holds the client secrets the user typed: it is the one file allowed to.
    let mut haystacks: Vec<(String, String)> = all_files(home.path()).into_iter().filter(|(n, _)| !n.ends_with("providers.toml")).collect();
    for (name, out) in &outputs {
        if !name.starts_with("token ") {
            haystacks.push((format!("{name} stdout"), text(&out.stdout)));
        }
        haystacks.push((format!("{name} stderr"), text(&out.stderr)));
    }
    for secret in &secrets {
        for (name, hay) in &haystacks {
            assert!(!hay.contains(secret.as_str()), "a secret ({}…) leaked into {name}", &secret[..6.min(secret.len())]);
        }
    }
    for account in [&youthweb, &workfront] {
        linker.vault().delete_account(&account.id).await.expect("clean up");
    }
}
