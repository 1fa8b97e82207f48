//! Refresher benchmarks (run on demand with `benches/refresh.sh`, not part of the test command).
//!
//! **Refresh burst.** `ACCOUNTS` (default 1,000) Zählerfreunde accounts, all due at once, are refreshed by
//! the app's own background refresher (default policy: 16 at a time) against the emulator over real HTTP,
//! with every token written to the real Secret Service. Timed from the refresher's start to the last
//! account stored. Afterwards every account must hold a new refresh token, the emulator must have seen
//! exactly one refresh grant per account and no token presented twice.
//!
//! Side by side, the **floor**: a plain HTTP client spends each account's stored (new) refresh token at the
//! same concurrency, nothing else. Every one of them must be accepted, which also proves that no refresh
//! token was lost. And the keyring alone: the reads and writes of secrets the burst needs, 16 at a time.
//!
//! **Idle app.** With `APP` set to the app's binary (and a display), 3 linked accounts with an hour to
//! live, the app runs for `IDLE_SECS` (default 60) after settling; the CPU time and the context switches
//! (wake-ups) of all its processes (main and WebKit) over that span are reported.
//!
//! **Keyring call cost.** `CALLS` (default 200) writes and reads of one entry each, through the vault (one
//! long-lived Secret Service session per process) and through the `keyring` crate's own credential (a new
//! D-Bus connection and encrypted session per call), alternating, in the same keyring.
//!
//! Every figure is the median of `RUNS` runs (default 3).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use account_linker::accounts::{Account, AccountState, AccountStore};
use account_linker::linker::Linker;
use account_linker::paths::AppPaths;
use account_linker::providers::Catalogue;
use account_linker::refresh::clock::SystemClock;
use account_linker::refresh::schedule::Policy;
use account_linker::refresh::{self, Notice};
use account_linker::oauth::secret::{AccessToken, IdToken, RefreshToken};
use account_linker::vault::{SecretKind, StoredTokens, Vault};
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer, ZF_CLIENT_ID};
use tokio::sync::{mpsc, Semaphore};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A throwaway home with `providers.toml` pointing at the emulator.
fn home_for(zf: &ZaehlerfreundeServer) -> (tempfile::TempDir, AppPaths) {
    let home = tempfile::tempdir().expect("tmp");
    let toml = zf.providers_toml();
    std::fs::write(home.path().join("providers.toml"), toml).expect("providers.toml");
    let paths = AppPaths::isolated(home.path());
    (home, paths)
}

/// Writes `n` accounts whose tokens were obtained `age` seconds ago and expire `left` seconds from now,
/// each with a refresh token minted by the emulator.
async fn seed(zf: &ZaehlerfreundeServer, paths: &AppPaths, n: usize, age: u64, left: u64) -> Vec<(String, String)> {
    let vault = Vault::new(paths.keyring_service.clone());
    let t = now();
    let minted = zf.mint_refresh_tokens(n);
    assert_eq!(minted.len(), n, "the emulator minted {} of {n} refresh tokens", minted.len());
    let mut accounts = Vec::with_capacity(n);
    let mut pairs = Vec::with_capacity(n);
    for (i, rt) in minted.into_iter().enumerate() {
        let id = format!("bench-{i:05}");
        vault
            .update_tokens(&id, StoredTokens::default(), account_linker::vault::NewTokens { access: &AccessToken::new("seeded-access-token"), refresh: Some(&RefreshToken::new(&rt)), id: None })
            .await
            .expect("keyring put");
        accounts.push(Account {
            id: id.clone(),
            provider_id: "zaehlerfreunde".into(),
            tenant: None,
            details: Default::default(),
            display_name: Some(format!("user{i}@example.test")),
            scopes: vec!["openid".into(), "offline_access".into()],
            token_type: "Bearer".into(),
            linked_at: t - age,
            expires_at: Some(t + left),
            has_refresh_token: true,
            state: AccountState::Connected,
            refreshed_at: None,
            refreshes: 0,
            last_error: None,
        });
        pairs.push((id, rt));
    }
    AccountStore::new(paths.accounts_file()).save(&accounts).expect("store");
    pairs
}

struct Burst {
    refresher_secs: f64,
    floor_secs: f64,
    keyring_secs: f64,
}

async fn burst(n: usize, concurrency: usize) -> Burst {
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig { access_token_lifetime: Duration::from_secs(3600), ..Default::default() })
        .await
        .expect("emulator");
    let (_home, paths) = home_for(&zf);
    // Obtained 50 minutes ago, expiring in 10: every account is past its refresh point, all due at once.
    let seeded = seed(&zf, &paths, n, 3000, 600).await;
    let catalogue = Catalogue::load(&paths.config_dir);
    assert!(catalogue.problems().is_empty(), "{:?}", catalogue.problems());
    let linker = Arc::new(Linker::new(&paths, catalogue).expect("linker"));
    let grants_before = zf.stats().refresh_grants;

    let (tx, mut notices) = mpsc::unbounded_channel();
    let policy = Policy { concurrency, ..Policy::default() };
    let started = Instant::now();
    let (_handle, _task) = refresh::spawn(linker.clone(), SystemClock::new(), policy, tx);
    let mut done = std::collections::HashSet::new();
    let mut retried = 0u32;
    tokio::time::timeout(Duration::from_secs(1800), async {
        while done.len() < n {
            match notices.recv().await.expect("notices") {
                Notice::Changed { account } if account.refreshes == 1 && account.last_error.is_none() => {
                    done.insert(account.id);
                }
                Notice::Changed { account } if account.last_error.is_some() => {
                    // Retried by the refresher; counted, and the account must still end refreshed once.
                    eprintln!("{} will be retried: {:?}", account.id, account.last_error);
                    retried += 1;
                }
                Notice::NeedsReconnect { account, reason, .. } => panic!("{} needs reconnect: {reason}", account.id),
                _ => {}
            }
        }
    })
    .await
    .expect("all refreshed within 30 minutes");
    let refresher_secs = started.elapsed().as_secs_f64();
    if retried > 0 {
        println!("  {retried} refreshes failed once and were retried");
    }

    // Nothing lost: the store says every account was refreshed once, the emulator saw one grant each and
    // no reuse, and every stored refresh token is new.
    let stored = AccountStore::new(paths.accounts_file()).load().expect("store");
    assert_eq!(stored.len(), n);
    assert!(stored.iter().all(|a| a.refreshes == 1 && a.state == AccountState::Connected && a.last_error.is_none()));
    let stats = zf.stats();
    assert_eq!(stats.refresh_grants - grants_before, n as u64, "exactly one refresh grant per account");
    assert_eq!(stats.refresh_reuse_detected, 0, "no refresh token spent twice");
    let vault = linker.vault();
    let mut current = Vec::with_capacity(n);
    for (id, old) in &seeded {
        let rt = vault.get(id, SecretKind::RefreshToken).await.expect("keyring").expect("a refresh token");
        assert_ne!(&rt, old, "{id} kept its old refresh token");
        current.push(rt);
    }

    // The floor: the emulator's own throughput, spending each stored token once at the same concurrency.
    let client = reqwest::Client::new();
    let url = zf.token_endpoint("oauth/token").to_string();
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for rt in current {
        let (client, url, permits) = (client.clone(), url.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("permit");
            let body = serde_json::json!({"grant_type": "refresh_token", "client_id": ZF_CLIENT_ID, "refresh_token": rt});
            let answer = client.post(&url).json(&body).send().await.expect("token request");
            assert!(answer.status().is_success(), "a stored refresh token was refused: {}", answer.status());
            let json: serde_json::Value = answer.json().await.expect("json");
            assert!(json["refresh_token"].is_string());
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("floor request");
    }
    let floor_secs = started.elapsed().as_secs_f64();
    assert_eq!(zf.stats().refresh_reuse_detected, 0);

    // The keyring alone: the same keyring work a refresh does (read the account's bundle, write the new
    // one with refresh, access and ID token), same concurrency.
    let permits = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (id, _) in &seeded {
        let (vault, id, permits) = (Vault::new(paths.keyring_service.clone()), id.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("permit");
            let stored = vault.tokens(&id).await.expect("get");
            assert!(stored.refresh_token.is_some(), "a refresh token");
            let (at, rt, it) = (AccessToken::new("keyring-floor-at"), RefreshToken::new("keyring-floor-rt"), IdToken::new("keyring-floor-id"));
            vault.update_tokens(&id, stored, account_linker::vault::NewTokens { access: &at, refresh: Some(&rt), id: Some(&it) }).await.expect("put");
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("keyring work");
    }
    let keyring_secs = started.elapsed().as_secs_f64();

    for (id, _) in &seeded {
        vault.delete_account(id).await.expect("clean up");
    }
    Burst { refresher_secs, floor_secs, keyring_secs }
}

/// Per process: its name and CPU time in clock ticks.
type Ticks = std::collections::BTreeMap<u32, (String, u64)>;

/// CPU time (clock ticks) of a process tree and the context switches of each of its live threads, from /proc.
fn tree_usage(root: u32) -> (Ticks, std::collections::HashMap<u32, u64>, usize) {
    let (mut ticks, mut switches, mut procs) = (std::collections::BTreeMap::new(), std::collections::HashMap::new(), 0);
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            procs += 1;
            // Fields after the command's closing parenthesis: utime is the 14th field, stime the 15th
            // (both include the process's threads that have ended).
            let (head, rest) = stat.rsplit_once(')').unwrap_or(("", ""));
            let name = head.split_once('(').map(|(_, n)| n.to_owned()).unwrap_or_default();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let t = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ticks.insert(pid, (name, t));
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
        for t in tasks.flatten() {
            let tid: u32 = t.file_name().to_string_lossy().parse().unwrap_or(0);
            if let Ok(status) = std::fs::read_to_string(t.path().join("status")) {
                let n: u64 = status
                    .lines()
                    .filter_map(|l| l.strip_prefix("voluntary_ctxt_switches:").or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:")))
                    .filter_map(|v| v.trim().parse::<u64>().ok())
                    .sum();
                switches.insert(tid, n);
            }
            if let Ok(list) = std::fs::read_to_string(t.path().join("children")) {
                todo.extend(list.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    (ticks, switches, procs)
}

struct Idle {
    cpu_ms: f64,
    per_process: String,
    wakeups: f64,
    processes: usize,
}

async fn idle(app: &str, secs: u64) -> Idle {
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");
    let (home, paths) = home_for(&zf);
    // Three accounts obtained a minute ago with an hour to live: nothing is due for the next 38 minutes.
    let seeded = seed(&zf, &paths, 3, 60, 3600).await;
    let mut child = std::process::Command::new(app)
        .env(account_linker::paths::HOME_ENV, home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the app");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pid = child.id();
    let (t0, s0, _) = tree_usage(pid);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (t1, s1, processes) = tree_usage(pid);
    // SIGTERM, as a session ending would send.
    let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
    let token_requests = zf.stats().token_requests;
    assert_eq!(token_requests, 0, "the idle app made {token_requests} token requests");
    let vault = Vault::new(paths.keyring_service.clone());
    for (id, _) in &seeded {
        vault.delete_account(id).await.expect("clean up");
    }
    let tick_ms = 1000.0 / 100.0; // USER_HZ is 100 on Linux
    // Threads that ended during the span are not counted; threads that started count from zero.
    let wakeups: u64 = s1.iter().map(|(tid, n)| n.saturating_sub(s0.get(tid).copied().unwrap_or(0))).sum();
    let mut total = 0;
    let mut per_process = Vec::new();
    for (pid, (name, t)) in &t1 {
        let d = t.saturating_sub(t0.get(pid).map(|(_, t)| *t).unwrap_or(0));
        total += d;
        per_process.push(format!("{name} {:.0} ms", d as f64 * tick_ms));
    }
    Idle { cpu_ms: total as f64 * tick_ms, per_process: per_process.join(", "), wakeups: wakeups as f64, processes }
}

/// Milliseconds per keyring call (a write and a read per entry) through the vault and through the
/// `keyring` crate's own per-call credential.
async fn keyring_calls(calls: usize) -> (f64, f64) {
    let service = format!("account-linker-bench-calls-{}", std::process::id());
    let vault = Vault::new(service.clone());
    let secret = AccessToken::new("bench-secret");
    let started = Instant::now();
    for i in 0..calls {
        vault.update_tokens(&format!("v{i}"), StoredTokens::default(), account_linker::vault::NewTokens { access: &secret, refresh: None, id: None }).await.expect("vault put");
        assert!(vault.tokens(&format!("v{i}")).await.expect("vault get").access_token.is_some());
    }
    let session_ms = started.elapsed().as_secs_f64() * 1000.0 / (2 * calls) as f64;
    let own = service.clone();
    let per_call_ms = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        for i in 0..calls {
            let entry = keyring::Entry::new(&own, &format!("k{i}/access_token")).expect("entry");
            entry.set_password("bench-secret").expect("keyring put");
            assert_eq!(entry.get_password().expect("keyring get"), "bench-secret");
        }
        started.elapsed().as_secs_f64() * 1000.0 / (2 * calls) as f64
    })
    .await
    .expect("keyring thread");
    for i in 0..calls {
        vault.delete_account(&format!("v{i}")).await.expect("clean up");
        vault.delete_account(&format!("k{i}")).await.expect("clean up");
    }
    (session_ms, per_call_ms)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let calls = env_num("CALLS", 200) as usize;
    if calls > 0 {
        let (mut session, mut per_call) = (Vec::new(), Vec::new());
        for run in 1..=env_num("RUNS", 3).max(1) {
            let (s, p) = keyring_calls(calls).await;
            println!("keyring run {run}: {s:.1} ms per call with one session, {p:.1} ms with a connection per call");
            session.push(s);
            per_call.push(p);
        }
        println!();
        println!("| keyring call ({calls} writes + {calls} reads, median) | ms per call |");
        println!("|---|---|");
        println!("| one Secret Service session per process (the vault) | {:.1} |", median(session));
        println!("| a D-Bus connection and key exchange per call (keyring's own) | {:.1} |", median(per_call));
        println!();
    }
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let n = env_num("ACCOUNTS", 1000) as usize;
    let runs = env_num("RUNS", 3).max(1) as usize;
    let concurrency = Policy::default().concurrency;
    let (mut refresher, mut floor, mut keyring) = (Vec::new(), Vec::new(), Vec::new());
    for run in (1..=runs).filter(|_| n > 0) {
        let b = burst(n, concurrency).await;
        println!(
            "burst run {run}: refresher {:.2} s, HTTP floor {:.2} s, keyring work {:.2} s",
            b.refresher_secs, b.floor_secs, b.keyring_secs
        );
        refresher.push(b.refresher_secs);
        floor.push(b.floor_secs);
        keyring.push(b.keyring_secs);
    }
    if n > 0 {
        let (r, f, k) = (median(refresher), median(floor), median(keyring));
        println!();
        println!("| measure (median of {runs}) | value |");
        println!("|---|---|");
        println!("| {n} accounts due at once, refreshed by the refresher ({concurrency} at a time), none lost | {r:.2} s ({:.0}/s) |", n as f64 / r);
        println!("| same tokens, plain HTTP client at the emulator (floor) | {f:.2} s ({:.0}/s) |", n as f64 / f);
        println!("| the same keyring work alone ({n} bundle reads, {n} bundle writes) | {k:.2} s |");
        println!("| refresher / HTTP floor | {:.2}× |", r / f);
        println!("| refresher / (HTTP floor + keyring work) | {:.2}× |", r / (f + k));
    }

    if let Ok(app) = std::env::var("APP") {
        let secs = env_num("IDLE_SECS", 60);
        let mut cpu = Vec::new();
        let mut wake = Vec::new();
        let mut procs = 0;
        for run in 1..=runs {
            let i = idle(&app, secs).await;
            println!("idle run {run}: {:.0} ms CPU ({}), {:.0} context switches, {} processes", i.cpu_ms, i.per_process, i.wakeups, i.processes);
            cpu.push(i.cpu_ms);
            wake.push(i.wakeups);
            procs = i.processes;
        }
        println!("| idle app, 3 accounts, window open, over {secs} s: CPU time | {:.0} ms |", median(cpu));
        println!("| idle app: context switches (wake-ups) of its {procs} processes over {secs} s | {:.0} |", median(wake));
    }
}
