//! Account Linker against the floor of its own stack (run on demand with `benches/app.sh`, not part of
//! the test command). Needs a D-Bus session with an unlocked gnome-keyring and a display (Xvfb).
//!
//! `APP` is the app's binary, `BARE` a bare Tauri v2 hello-world built with the same tauri, features and
//! profile (`benches/bare-app`). Both run side by side, alternately, `RUNS` times (default 5) after one
//! discarded warm-up each; every figure is the median.
//!
//! - **Start to interactive**: from just before exec to the window's first IPC call (the app logs
//!   `first IPC call from the window unix_us=…` once; the bare app prints the same line).
//! - **Memory**: RSS and PSS (`/proc/PID/smaps_rollup`) summed over the process and all its descendants
//!   (WebKit's web and network processes), `SETTLE` seconds (default 8) after start. The app has 3 accounts
//!   linked through the real sign-in path against the Zählerfreunde emulator (a day to live: nothing due).
//! - **Idle cost**: in the first `IDLE_RUNS` runs (default 3), the CPU time (per-thread `schedstat`,
//!   nanoseconds) and context switches (voluntary + involuntary: wake-ups) of all those processes over
//!   `IDLE_SECS` (default 60). Threads that end during the span are not counted.
//! - **Closed to the tray**: with a StatusNotifier host on the bus (this bench owns the watcher's name), the
//!   app started with `--background` runs without its window (the webview destroyed), as after closing it;
//!   memory and idle cost as above, one run.
//! - **Link latency**: `LINKS` sign-ins (default 20) through `Linker::begin`/`complete` against the emulator
//!   and the real keyring, timed from the captured redirect to tokens and account stored, minus the time the
//!   emulator's token endpoint spent answering. Split: the code exchange as the app's HTTP client saw it
//!   (from the account's timeline, whole milliseconds), the same keyring write (one bundle) timed alone, the rest.
//! - **Sizes**: the two binaries, and the .deb that `DEB` names, if any.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use account_linker::diagnostics::timeline::Event;
use account_linker::linker::Linker;
use account_linker::paths::{AppPaths, HOME_ENV};
use account_linker::providers::Catalogue;
use account_linker::oauth::secret::{AccessToken, IdToken, RefreshToken};
use account_linker::vault::{StoredTokens, Vault};
use account_linker_tests::emulators::zaehlerfreunde::{ZaehlerfreundeConfig, ZaehlerfreundeServer};

#[allow(dead_code)]
#[path = "../it/browser.rs"]
mod browser;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn unix_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

// ---- processes -------------------------------------------------------------------------------------

/// `pid` and all its descendants, from the parent ids in `/proc/*/stat`.
fn tree(root: u32) -> Vec<u32> {
    let mut parent = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The name is in parentheses and may hold spaces: the fields after the last ')' are state, ppid…
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) {
            parent.insert(pid, ppid);
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_owned()).unwrap_or_else(|_| "?".into())
}

/// RSS and PSS of one process, in KiB.
fn rss_pss(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

#[derive(Debug, Clone, Default)]
struct Memory {
    rss_kib: u64,
    pss_kib: u64,
    per_process: Vec<(String, u64)>,
}

fn memory(root: u32) -> Memory {
    let mut m = Memory::default();
    for pid in tree(root) {
        let (rss, pss) = rss_pss(pid);
        m.rss_kib += rss;
        m.pss_kib += pss;
        m.per_process.push((comm(pid), rss));
    }
    m
}

/// Per thread: (process name, CPU nanoseconds, context switches).
fn threads(root: u32) -> BTreeMap<(u32, u32), (String, u64, u64)> {
    let mut out = BTreeMap::new();
    for pid in tree(root) {
        let name = comm(pid);
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let dir = task.path();
            let ns = std::fs::read_to_string(dir.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
                .unwrap_or(0);
            let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
            let switches: u64 = status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
                .sum();
            out.insert((pid, tid), (name.clone(), ns, switches));
        }
    }
    out
}

#[derive(Debug, Clone, Default)]
struct Idle {
    cpu_ms: f64,
    switches: f64,
    per_process: BTreeMap<String, f64>,
}

fn idle(root: u32, secs: u64) -> Idle {
    let before = threads(root);
    std::thread::sleep(Duration::from_secs(secs));
    let after = threads(root);
    let mut idle = Idle::default();
    for (key, (name, ns, sw)) in &after {
        let (ns0, sw0) = before.get(key).map_or((0, 0), |(_, n, s)| (*n, *s));
        let ms = ns.saturating_sub(ns0) as f64 / 1e6;
        idle.cpu_ms += ms;
        idle.switches += sw.saturating_sub(sw0) as f64;
        *idle.per_process.entry(name.clone()).or_default() += ms;
    }
    idle
}

// ---- launching -------------------------------------------------------------------------------------

struct Subject {
    label: &'static str,
    bin: PathBuf,
    /// `ACCOUNT_LINKER_HOME` for the app; `None` for the bare app.
    home: Option<PathBuf>,
}

struct Running {
    child: Child,
    log: PathBuf,
    started_us: u64,
}

impl Running {
    fn start(subject: &Subject, args: &[&str], log: PathBuf) -> Running {
        let mut cmd = Command::new(&subject.bin);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
        if let Some(home) = &subject.home {
            cmd.env(HOME_ENV, home).env("ACCOUNT_LINKER_LOG_FILE", &log).stderr(Stdio::null());
        } else {
            cmd.stderr(std::fs::File::create(&log).expect("log file"));
        }
        let started_us = unix_us();
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {}: {e}", subject.bin.display()));
        Running { child, log, started_us }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Milliseconds from exec to the first IPC call.
    fn wait_interactive(&mut self) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.log_text();
            // The line that says so; start-up step lines (debug level) carry `unix_us=` too.
            let line = text.lines().find(|l| l.contains("first IPC call from the window"));
            if let Some(at) = line.and_then(|l| l.split("unix_us=").nth(1)) {
                let digits: String = at.chars().take_while(char::is_ascii_digit).collect();
                let us: u64 = digits.parse().expect("a timestamp");
                return us.saturating_sub(self.started_us) as f64 / 1000.0;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before its first IPC call:\n{text}", self.log.display());
            }
            assert!(Instant::now() < deadline, "no IPC call within 60 s:\n{text}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn settle_until(&self, secs: u64) {
        let at = self.started_us + secs * 1_000_000;
        let now = unix_us();
        if at > now {
            std::thread::sleep(Duration::from_micros(at - now));
        }
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, as a session ending would send; then wait.
    fn stop(mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

// ---- linking ---------------------------------------------------------------------------------------

fn linker_for(zf: &ZaehlerfreundeServer, home: &Path) -> (AppPaths, Arc<Linker>) {
    std::fs::write(home.join("providers.toml"), zf.providers_toml()).expect("providers.toml");
    let paths = AppPaths::isolated(home);
    let catalogue = Catalogue::load(&paths.config_dir);
    assert!(catalogue.problems().is_empty(), "{:?}", catalogue.problems());
    let linker = Arc::new(Linker::new(&paths, catalogue).expect("linker"));
    (paths, linker)
}

struct Link {
    total_ms: f64,
    endpoint_ms: f64,
    exchange_ms: f64,
    keyring_ms: f64,
}

/// One sign-in: the browser part untimed, then the redirect handed to the linker, timed.
async fn link(zf: &ZaehlerfreundeServer, linker: &Linker, vault: &Vault) -> Link {
    let start = linker.begin("zaehlerfreunde", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let endpoint_before = zf.stats().token_endpoint_us;
    let t = Instant::now();
    let account = linker.complete(&start.flow_id, &location).await.expect("linked");
    let total_ms = t.elapsed().as_secs_f64() * 1000.0;
    let endpoint_ms = (zf.stats().token_endpoint_us - endpoint_before) as f64 / 1000.0;
    let timeline = linker.timeline(&account.id).await.expect("timeline");
    let exchange_ms = timeline
        .entries
        .iter()
        .find_map(|e| match &e.event {
            Event::CodeExchange(x) => Some(x.ms as f64),
            _ => None,
        })
        .expect("the timeline has the code exchange");
    // The same keyring work alone: one bundle of access, refresh and ID token stored under a fresh id, as
    // a link stores it.
    let probe = format!("probe-{}", account.id);
    let token = "x".repeat(900);
    let t = Instant::now();
    vault
        .update_tokens(&probe, StoredTokens::default(), account_linker::vault::NewTokens { access: &AccessToken::new(&token), refresh: Some(&RefreshToken::new(&token)), id: Some(&IdToken::new(&token)) })
        .await
        .expect("keyring put");
    let keyring_ms = t.elapsed().as_secs_f64() * 1000.0;
    vault.delete_account(&probe).await.expect("keyring clean-up");
    Link { total_ms, endpoint_ms, exchange_ms, keyring_ms }
}

// ---- the fake tray host ----------------------------------------------------------------------------

/// Owns `org.kde.StatusNotifierWatcher` on the session bus, so the app believes the desktop shows trays.
fn tray_host() -> dbus::blocking::Connection {
    let conn = dbus::blocking::Connection::new_session().expect("session bus");
    conn.request_name("org.kde.StatusNotifierWatcher", false, true, true).expect("own the watcher's name");
    conn
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let app = PathBuf::from(std::env::var("APP").expect("APP: the app's binary"));
    let bare = PathBuf::from(std::env::var("BARE").expect("BARE: the bare app's binary"));
    let runs = env_num("RUNS", 5).max(1);
    let idle_runs = env_num("IDLE_RUNS", 3).min(runs);
    let idle_secs = env_num("IDLE_SECS", 60);
    let settle = env_num("SETTLE", 8);
    let links = env_num("LINKS", 20).max(1);
    let work = tempfile::tempdir().expect("tmp");

    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");

    // Link latency first (and the 3 accounts the app runs with, through the same path).
    let link_home = work.path().join("link");
    std::fs::create_dir_all(&link_home).expect("mkdir");
    let (link_paths, linker) = linker_for(&zf, &link_home);
    let vault = Vault::new(link_paths.keyring_service.clone());
    link(&zf, &linker, &vault).await; // warm-up: connections, keyring session
    let mut samples = Vec::new();
    for _ in 0..links {
        samples.push(link(&zf, &linker, &vault).await);
    }
    for a in linker.account_list().await.expect("accounts") {
        vault.delete_account(&a.id).await.expect("clean up");
    }
    let app_home = work.path().join("app");
    std::fs::create_dir_all(&app_home).expect("mkdir");
    let (app_paths, app_linker) = linker_for(&zf, &app_home);
    for _ in 0..3 {
        let start = app_linker.begin("zaehlerfreunde", None).await.expect("begin");
        let location = browser::authorize(&start.authorize_url, "approve").await;
        app_linker.complete(&start.flow_id, &location).await.expect("linked");
    }
    drop(app_linker);

    let subjects = [
        Subject { label: "app", bin: app.clone(), home: Some(app_home.clone()) },
        Subject { label: "bare", bin: bare, home: None },
    ];
    let logs = work.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let mut start_ms: [Vec<f64>; 2] = Default::default();
    let mut mem: [Vec<Memory>; 2] = Default::default();
    let mut idles: [Vec<Idle>; 2] = Default::default();
    let mut tray_line = String::new();
    for run in 0..=runs {
        for (i, s) in subjects.iter().enumerate() {
            let mut r = Running::start(s, &[], logs.join(format!("{}-{run}.log", s.label)));
            let ms = r.wait_interactive();
            r.settle_until(settle);
            let m = memory(r.child.id());
            let idle = (run >= 1 && run <= idle_runs).then(|| idle(r.child.id(), idle_secs));
            if s.home.is_some() && run == 0 {
                tray_line = r.log_text().lines().find(|l| l.contains("tray")).unwrap_or("").to_owned();
            }
            r.stop();
            if run == 0 {
                println!("warm-up {}: {ms:.0} ms to first IPC call", s.label);
                continue;
            }
            let procs: Vec<String> = m.per_process.iter().map(|(n, kib)| format!("{n} {:.0}", mib(*kib))).collect();
            print!("run {run} {}: {ms:.0} ms, RSS {:.0} MiB ({}), PSS {:.0} MiB", s.label, mib(m.rss_kib), procs.join(", "), mib(m.pss_kib));
            if let Some(idle) = &idle {
                let per: Vec<String> = idle.per_process.iter().map(|(n, ms)| format!("{n} {ms:.0}")).collect();
                print!("; idle {idle_secs} s: {:.0} ms CPU ({}), {:.0} switches", idle.cpu_ms, per.join(", "), idle.switches);
                idles[i].push(idle.clone());
            }
            println!("; load {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?"));
            start_ms[i].push(ms);
            mem[i].push(m);
        }
    }

    // Closed to the tray: a tray host on the bus, the app without its window.
    let host = tray_host();
    let mut r = Running::start(&subjects[0], &["--background"], logs.join("app-tray.log"));
    r.settle_until(settle);
    let alive = r.alive();
    let tray_mem = memory(r.child.id());
    let tray_idle = idle(r.child.id(), idle_secs);
    let tray_log = r.log_text();
    r.stop();
    drop(host);
    let tray_procs: Vec<String> = tray_mem.per_process.iter().map(|(n, kib)| format!("{n} {:.0}", mib(*kib))).collect();
    println!(
        "tray (--background, a StatusNotifier watcher on the bus): alive {alive}, RSS {:.0} MiB ({}), PSS {:.0} MiB; idle {:.0} ms CPU, {:.0} switches",
        mib(tray_mem.rss_kib),
        tray_procs.join(", "),
        mib(tray_mem.pss_kib),
        tray_idle.cpu_ms,
        tray_idle.switches
    );
    let app_vault = Vault::new(app_paths.keyring_service.clone());
    for a in account_linker::accounts::AccountStore::new(app_paths.accounts_file()).load().expect("store") {
        app_vault.delete_account(&a.id).await.expect("clean up");
    }

    // The table.
    let med = |v: &[f64]| median(v.to_vec());
    let m_of = |i: usize, f: fn(&Memory) -> u64| median(mem[i].iter().map(|m| mib(f(m))).collect());
    let i_of = |i: usize, f: fn(&Idle) -> f64| median(idles[i].iter().map(f).collect());
    let per_of = |i: usize| {
        let mut names: Vec<String> = idles[i].iter().flat_map(|x| x.per_process.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
            .iter()
            .map(|n| format!("{n} {:.0}", median(idles[i].iter().map(|x| x.per_process.get(n).copied().unwrap_or(0.0)).collect())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (sa, sb) = (med(&start_ms[0]), med(&start_ms[1]));
    let (ra, rb) = (m_of(0, |m| m.rss_kib), m_of(1, |m| m.rss_kib));
    let (pa, pb) = (m_of(0, |m| m.pss_kib), m_of(1, |m| m.pss_kib));
    let total = median(samples.iter().map(|l| l.total_ms).collect());
    let own = median(samples.iter().map(|l| l.total_ms - l.endpoint_ms).collect());
    let endpoint = median(samples.iter().map(|l| l.endpoint_ms).collect());
    let keyring = median(samples.iter().map(|l| l.keyring_ms).collect());
    let http = median(samples.iter().map(|l| (l.exchange_ms - l.endpoint_ms).max(0.0)).collect());
    let rest = median(samples.iter().map(|l| l.total_ms - l.exchange_ms - l.keyring_ms).collect());
    println!();
    println!("| measure | app | bare Tauri | target |");
    println!("|---|---|---|---|");
    println!("| start to interactive: exec → first IPC call (median of {runs}) | {sa:.0} ms ({:.2}×) | {sb:.0} ms | ≤ 1.15× |", sa / sb);
    println!("| memory, all processes, {settle} s after start, 3 accounts (median of {runs}): RSS | {ra:.0} MiB ({}) | {rb:.0} MiB | ≤ bare + 15 MB |", signed_mib(ra - rb));
    println!("| same: PSS | {pa:.0} MiB ({}) | {pb:.0} MiB | |", signed_mib(pa - pb));
    if idle_runs > 0 {
        println!(
            "| idle {idle_secs} s, window open (median of {idle_runs}): CPU time | {:.0} ms ({}) | {:.0} ms ({}) | ≤ 20 ms |",
            i_of(0, |x| x.cpu_ms),
            per_of(0),
            i_of(1, |x| x.cpu_ms),
            per_of(1)
        );
        println!("| same: context switches (wake-ups) | {:.0} | {:.0} | |", i_of(0, |x| x.switches), i_of(1, |x| x.switches));
    }
    println!(
        "| closed to the tray (`--background`, webview destroyed; one run) | RSS {:.0} MiB, PSS {:.0} MiB; idle {:.0} ms CPU, {:.0} switches / {idle_secs} s | | |",
        mib(tray_mem.rss_kib),
        mib(tray_mem.pss_kib),
        tray_idle.cpu_ms,
        tray_idle.switches
    );
    println!(
        "| link latency: redirect → tokens stored, minus the token endpoint (median of {links}) | {own:.1} ms (total {total:.1}, endpoint {endpoint:.2}) | | ≤ 20 ms |"
    );
    println!("| of which: keyring, the one bundle write timed alone | {keyring:.1} ms | | |");
    println!("| of which: HTTP client around the endpoint (timeline, whole ms) | {http:.1} ms | | |");
    // Negative when the keyring was slower alone than inside the sign-in: within its spread.
    println!("| of which: the rest (checks, account file, timeline; < 0 = within the keyring's spread) | {rest:.1} ms | | |");
    let bytes = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let size = |b: u64| format!("{:.1} MiB ({b} bytes)", b as f64 / 1048576.0);
    println!("| release binary | {} | {} | |", size(bytes(&app)), size(bytes(&subjects[1].bin)));
    match std::env::var("DEB").ok().filter(|d| !d.is_empty()) {
        Some(deb) => println!("| .deb (`{}`) | {} | | |", Path::new(&deb).file_name().map_or(deb.clone(), |f| f.to_string_lossy().into_owned()), size(bytes(Path::new(&deb)))),
        None => println!("| .deb | not built (`scripts/run.sh --package`) | | |"),
    }
    println!();
    println!("without a tray host, the app said: {}", tray_line.split("INFO").nth(1).unwrap_or(tray_line.as_str()).trim());
    if !alive {
        println!("with a tray host, --background exited early:\n{tray_log}");
    }
}

/// A difference in MiB with its sign: "+12", "−31".
fn signed_mib(diff: f64) -> String {
    let whole = diff.round();
    if whole < 0.0 { format!("−{:.0}", -whole) } else { format!("+{whole:.0}") }
}
