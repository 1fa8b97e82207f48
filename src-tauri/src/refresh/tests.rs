//! The refresher's schedule under paused tokio time, against an in-memory backend whose answers a test
//! scripts. (The live faults, the keyring and the emulators are in the integration tests.)

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::clock::TestClock;
use super::*;
use crate::oauth::token::TokenError;

const T0: WallMs = 1_800_000_000_000;
const SEC: u64 = 1000;

/// How the fake provider answers the next refresh of an account.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// New tokens living this many seconds (`None`: unknown lifetime).
    Ok(Option<u64>),
    /// A transient failure, with a `Retry-After` in seconds.
    Unavailable(Option<u64>),
    /// `invalid_grant`.
    Refused,
    /// The token endpoint can't be reached (offline).
    Offline,
}

struct Fake {
    clock: TestClock,
    accounts: Mutex<BTreeMap<String, Tracked>>,
    script: Mutex<BTreeMap<String, VecDeque<Answer>>>,
    calls: Mutex<Vec<(String, WallMs)>>,
    latency: Mutex<Duration>,
    in_flight: std::sync::atomic::AtomicUsize,
    most_in_flight: std::sync::atomic::AtomicUsize,
}

impl Fake {
    fn new(clock: &TestClock) -> Arc<Self> {
        Arc::new(Self { clock: clock.clone(), accounts: Mutex::default(), script: Mutex::default(), calls: Mutex::default(),
            latency: Mutex::default(),
            in_flight: Default::default(),
            most_in_flight: Default::default(),
        })
    }

    fn add(&self, id: &str, lifetime_secs: Option<u64>, can_refresh: bool) {
        let now = self.clock.now() / 1000;
        let account = Account {
            linked_at: now,
            expires_at: lifetime_secs.map(|l| now + l),
            has_refresh_token: can_refresh,
            ..Account::for_test(id, "p")
        };
        self.accounts.lock().expect("lock").insert(id.into(), Tracked { account, can_refresh, provider_name: "P".into() });
    }

    fn script(&self, id: &str, answers: &[Answer]) {
        self.script.lock().expect("lock").entry(id.into()).or_default().extend(answers.iter().cloned());
    }

    /// Seconds after T0 of each refresh request for `id`.
    fn calls(&self, id: &str) -> Vec<u64> {
        self.calls.lock().expect("lock").iter().filter(|(a, _)| a == id).map(|(_, t)| (t - T0) / SEC).collect()
    }

    fn state(&self, id: &str) -> AccountState {
        self.accounts.lock().expect("lock")[id].account.state.clone()
    }
}

impl Backend for Fake {
    async fn accounts(&self) -> Result<Vec<Tracked>, LinkError> {
        Ok(self.accounts.lock().expect("lock").values().cloned().collect())
    }

    async fn refresh(&self, account_id: &str, seen: Option<u64>) -> Result<RefreshOutcome, LinkError> {
        use std::sync::atomic::Ordering::SeqCst;
        let latency = *self.latency.lock().expect("lock");
        let now_in_flight = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_in_flight.fetch_max(now_in_flight, SeqCst);
        tokio::time::sleep(latency).await;
        self.in_flight.fetch_sub(1, SeqCst);
        let now = self.clock.now();
        let mut accounts = self.accounts.lock().expect("lock");
        let tracked = accounts.get_mut(account_id).ok_or_else(|| LinkError::UnknownAccount(account_id.into()))?;
        if seen.is_some_and(|s| s != tracked.account.refreshes) {
            return Ok(RefreshOutcome::AlreadyFresh(tracked.account.clone()));
        }
        self.calls.lock().expect("lock").push((account_id.into(), now));
        let answer = self.script.lock().expect("lock").get_mut(account_id).and_then(VecDeque::pop_front).unwrap_or(Answer::Ok(Some(3600)));
        match answer {
            Answer::Ok(lifetime) => {
                let a = &mut tracked.account;
                a.refreshed_at = Some(now / 1000);
                a.refreshes += 1;
                a.expires_at = lifetime.map(|l| now / 1000 + l);
                Ok(RefreshOutcome::Refreshed(a.clone()))
            }
            Answer::Unavailable(retry_after) => Err(LinkError::Token(TokenError::Rejected {
                status: if retry_after.is_some() { 429 } else { 503 },
                error: "temporarily_unavailable".into(),
                description: None,
                retry_after: retry_after.map(Duration::from_secs),
            })),
            Answer::Offline => Err(LinkError::Token(TokenError::Transport("connection refused".into()))),
            Answer::Refused => {
                let reason = "refused".to_owned();
                tracked.account.state = AccountState::NeedsReconnect { reason: reason.clone() };
                Err(LinkError::NeedsReconnect(reason))
            }
        }
    }

    async fn expire(&self, account_id: &str, reason: String) -> Result<Account, LinkError> {
        let mut accounts = self.accounts.lock().expect("lock");
        let tracked = accounts.get_mut(account_id).ok_or_else(|| LinkError::UnknownAccount(account_id.into()))?;
        tracked.account.state = AccountState::NeedsReconnect { reason };
        Ok(tracked.account.clone())
    }
}

struct Run {
    clock: TestClock,
    fake: Arc<Fake>,
    handle: RefresherHandle,
    notices: mpsc::UnboundedReceiver<Notice>,
}

fn start(setup: impl FnOnce(&Fake)) -> Run {
    let clock = TestClock::starting_at(T0);
    let fake = Fake::new(&clock);
    setup(&fake);
    let (tx, notices) = mpsc::unbounded_channel();
    let (handle, _task) = spawn(fake.clone(), clock.clone(), Policy::default(), tx);
    Run { clock, fake, handle, notices }
}

impl Run {
    /// Lets `secs` of (paused) time pass.
    async fn pass(&self, secs: u64) {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    fn drain(&mut self) -> Vec<Notice> {
        std::iter::from_fn(|| self.notices.try_recv().ok()).collect()
    }
}

#[tokio::test(start_paused = true)]
async fn a_one_hour_token_is_refreshed_once_between_65_and_75_percent() {
    let run = start(|f| f.add("a", Some(3600), true));
    run.pass(2339).await;
    assert!(run.fake.calls("a").is_empty(), "nothing before 65 %");
    run.pass(361).await;
    let calls = run.fake.calls("a");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!((2340..=2700).contains(&calls[0]), "{calls:?}");
    // The next one is planned from the new tokens: about 40 to 45 minutes later, not sooner.
    run.pass(2300).await;
    assert_eq!(run.fake.calls("a").len(), 1);
    run.pass(500).await;
    assert_eq!(run.fake.calls("a").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn accounts_linked_together_are_spread_by_jitter() {
    let run = start(|f| (0..50).for_each(|i| f.add(&format!("acc-{i}"), Some(3600), true)));
    run.pass(2701).await;
    let mut times: Vec<u64> = (0..50).flat_map(|i| run.fake.calls(&format!("acc-{i}"))).collect();
    assert_eq!(times.len(), 50);
    times.sort_unstable();
    times.dedup();
    assert!(times.len() > 30, "only {} distinct seconds", times.len());
    assert!(times[0] >= 2340 && times[times.len() - 1] <= 2700);
}

#[tokio::test(start_paused = true)]
async fn short_zero_and_missing_lifetimes_never_loop() {
    let run = start(|f| {
        f.add("twenty", Some(20), true);
        f.add("zero", Some(0), true);
        f.add("unknown", None, true);
    });
    run.fake.script("twenty", &[Answer::Ok(Some(20)); 100]);
    run.fake.script("zero", &[Answer::Ok(Some(0)); 100]);
    run.fake.script("unknown", &[Answer::Ok(None); 100]);
    run.pass(600).await;
    // 20-second tokens: one refresh per 15 s floor (40 in 10 minutes), not 35 per second.
    let twenty = run.fake.calls("twenty");
    assert!(twenty.len() <= 40 && twenty.len() >= 35, "{} refreshes of a 20 s token in 600 s", twenty.len());
    assert!(twenty.windows(2).all(|w| w[1] - w[0] >= 15), "{twenty:?}");
    let zero = run.fake.calls("zero");
    assert!(zero.len() <= 40, "expires_in 0: {} refreshes in 600 s", zero.len());
    // Unknown lifetime: the 20-minute interval, so none yet, and never treated as expired.
    assert!(run.fake.calls("unknown").is_empty());
    run.pass(600).await;
    assert_eq!(run.fake.calls("unknown").len(), 1);
    assert_eq!(run.fake.state("unknown"), AccountState::Connected);
}

#[tokio::test(start_paused = true)]
async fn transient_failures_back_off_exponentially_with_a_cap() {
    let mut run = start(|f| f.add("a", Some(100), true));
    run.fake.script("a", &[Answer::Unavailable(None); 12]);
    run.pass(4 * 3600).await;
    let calls = run.fake.calls("a");
    let gaps: Vec<u64> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    // 5-10 s, 10-20, 20-40, ... capped at 15-30 minutes.
    for (i, gap) in gaps.iter().enumerate().take(11) {
        let step = (10u64 << i).min(1800);
        assert!(*gap >= step / 2 && *gap <= step + 1, "retry {} after {gap} s (step {step}): {gaps:?}", i + 1);
    }
    assert!(gaps.iter().take(12).all(|g| *g <= 1801), "{gaps:?}");
    // After the 13th attempt succeeded, the schedule is the normal one (a one-hour token here).
    assert!(gaps[12] >= 2340, "{gaps:?}");
    assert_eq!(run.fake.state("a"), AccountState::Connected);
    let notices = run.drain();
    let repeated: Vec<_> = notices.iter().filter(|n| matches!(n, Notice::RepeatedFailure { .. })).collect();
    assert_eq!(repeated.len(), 1, "told once, after the third failure in a row");
    assert!(matches!(repeated[0], Notice::RepeatedFailure { failures: 3, .. }));
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let run = start(|f| f.add("a", Some(100), true));
    run.fake.script("a", &[Answer::Unavailable(Some(300)), Answer::Ok(Some(3600))]);
    run.pass(1000).await;
    let calls = run.fake.calls("a");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1] - calls[0] >= 300 && calls[1] - calls[0] <= 301, "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_refused_grant_needs_reconnect_and_is_never_retried() {
    let mut run = start(|f| f.add("a", Some(100), true));
    run.fake.script("a", &[Answer::Refused]);
    run.pass(24 * 3600).await;
    assert_eq!(run.fake.calls("a").len(), 1);
    assert!(matches!(run.fake.state("a"), AccountState::NeedsReconnect { .. }));
    assert!(run.drain().iter().any(|n| matches!(n, Notice::NeedsReconnect { reason, .. } if reason == "refused")));
}

#[tokio::test(start_paused = true)]
async fn without_refresh_the_user_is_reminded_then_asked_to_reconnect() {
    let mut run = start(|f| f.add("yw", Some(3600), false));
    run.pass(2999).await;
    assert!(run.drain().iter().all(|n| !matches!(n, Notice::ReconnectDueSoon { .. })));
    run.pass(2).await;
    let notices = run.drain();
    assert!(notices.iter().any(|n| matches!(n, Notice::ReconnectDueSoon { expires_at, .. } if *expires_at == T0 / 1000 + 3600)), "{notices:?}");
    run.pass(598).await;
    assert_eq!(run.fake.state("yw"), AccountState::Connected);
    run.pass(2).await;
    assert!(matches!(run.fake.state("yw"), AccountState::NeedsReconnect { .. }));
    assert!(run.drain().iter().any(|n| matches!(n, Notice::NeedsReconnect { .. })));
    assert!(run.fake.calls("yw").is_empty(), "nothing was sent to a provider without refresh");
    run.pass(24 * 3600).await;
    assert!(run.drain().is_empty(), "told once");
}

#[tokio::test(start_paused = true)]
async fn after_a_suspend_overdue_refreshes_run_at_once() {
    let run = start(|f| f.add("a", Some(3600), true));
    run.pass(60).await;
    // The machine sleeps two hours: the wall clock moves, tokio's monotonic clock does not.
    run.clock.jump(2 * 3600 * SEC);
    run.handle.clock_changed();
    run.pass(1).await;
    let calls = run.fake.calls("a");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0] >= 7260 && calls[0] <= 7261, "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn refresh_now_answers_and_reschedules() {
    let run = start(|f| f.add("a", Some(3600), true));
    run.pass(10).await;
    let account = run.handle.refresh_now("a").await.expect("refreshed");
    assert_eq!(account.refreshed_at, Some(T0 / 1000 + 10));
    assert_eq!(run.fake.calls("a"), vec![10]);
    run.pass(2339).await;
    assert_eq!(run.fake.calls("a").len(), 1, "planned from the new tokens");
    assert!(matches!(run.handle.refresh_now("nope").await, Err(LinkError::UnknownAccount(_))));
}

#[tokio::test(start_paused = true)]
async fn a_refresh_done_elsewhere_is_not_repeated() {
    let run = start(|f| f.add("a", Some(3600), true));
    run.pass(100).await;
    // Another process refreshed the account at 100 s; this refresher still has the old schedule.
    {
        let mut accounts = run.fake.accounts.lock().expect("lock");
        let a = &mut accounts.get_mut("a").expect("a").account;
        a.refreshed_at = Some(T0 / 1000 + 100);
        a.refreshes += 1;
        a.expires_at = Some(T0 / 1000 + 7300);
    }
    run.pass(2700).await;
    assert!(run.fake.calls("a").is_empty(), "the conditional refresh found new tokens and sent nothing");
    run.pass(2800).await;
    assert_eq!(run.fake.calls("a").len(), 1, "then planned from the other process's tokens");
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_and_none_is_lost() {
    let run = start(|f| {
        (0..100).for_each(|i| f.add(&format!("x{i}"), Some(0), true));
        *f.latency.lock().expect("lock") = Duration::from_secs(1);
    });
    run.pass(30).await;
    let counts: Vec<usize> = (0..100).map(|i| run.fake.calls(&format!("x{i}")).len()).collect();
    assert!(counts.iter().all(|c| *c == 1), "{counts:?}");
    let most = run.fake.most_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(most, Policy::default().concurrency, "at most `concurrency` refreshes at once");
}

#[tokio::test(start_paused = true)]
async fn online_again_retries_unreachable_accounts_within_seconds_but_leaves_servers_that_asked_to_wait() {
    let run = start(|f| {
        f.add("offline", Some(100), true);
        f.add("throttled", Some(100), true);
    });
    run.fake.script("offline", &[Answer::Offline; 6]);
    run.fake.script("throttled", &[Answer::Unavailable(Some(3000))]);
    // Both first fail at 65-75 s; "offline" backs off 5-10, 10-20, 20-40, 40-80 s...
    run.pass(300).await;
    let before = run.fake.calls("offline");
    assert!(before.len() >= 4 && before.len() <= 6, "{before:?}");
    assert_eq!(run.fake.calls("throttled").len(), 1);

    // The network comes back (the script still has offline answers for some attempts).
    run.fake.script.lock().expect("lock").insert("offline".into(), VecDeque::new());
    run.handle.network_up();
    run.pass(6).await;
    let after = run.fake.calls("offline");
    assert_eq!(after.len(), before.len() + 1, "retried at once: {after:?}");
    let retried = *after.last().expect("a call");
    assert!((302..=305).contains(&retried), "2-5 s after the network came back: {after:?}");
    assert_eq!(run.fake.state("offline"), AccountState::Connected);
    assert_eq!(run.fake.calls("throttled").len(), 1, "Retry-After is still honoured");
}

#[tokio::test(start_paused = true)]
async fn a_flapping_network_cannot_make_the_refresher_loop() {
    let run = start(|f| f.add("a", Some(100), true));
    run.fake.script("a", &[Answer::Offline; 1000]);
    run.pass(120).await;
    let before = run.fake.calls("a").len();
    // "Online" every second for ten minutes, while the endpoint stays unreachable.
    for _ in 0..600 {
        run.handle.network_up();
        run.pass(1).await;
    }
    let during = run.fake.calls("a").len() - before;
    // At most one nudge per 30 s (20 in 600 s) plus the backoff's own retries (a handful).
    assert!(during <= 20 + 8, "{during} attempts in 10 minutes: {:?}", run.fake.calls("a"));
    assert!(during >= 10, "the nudges did retry: {during}");
}

#[tokio::test(start_paused = true)]
async fn next_refreshes_tell_the_planned_time_and_leave_out_what_is_not_refreshed() {
    let run = start(|f| {
        f.add("hour", Some(3600), true);
        f.add("no-grant", Some(3600), false);
    });
    run.pass(1).await;
    let next = run.handle.next_refreshes().await;
    let at = next["hour"] - T0 / 1000;
    assert!((2340..=2700).contains(&at), "{at}");
    assert!(!next.contains_key("no-grant"), "{next:?}");
    // It is the time the refresher acts on (told rounded up to the second).
    run.pass(at).await;
    let calls = run.fake.calls("hour");
    assert!(calls.len() == 1 && calls[0] + 1 >= at && calls[0] <= at, "{calls:?} {at}");
    // Then planned from the new tokens; after a failure, the retry time (here after Retry-After) is told.
    let again = run.handle.next_refreshes().await["hour"] - T0 / 1000;
    assert!(again > at + 2000, "{again}");
    run.fake.script("hour", &[Answer::Unavailable(Some(600))]);
    run.pass(again - at).await;
    let calls = run.fake.calls("hour");
    assert!(calls.len() == 2 && calls[1] + 1 >= again && calls[1] <= again, "{calls:?} {again}");
    let retry = run.handle.next_refreshes().await["hour"] - T0 / 1000;
    assert!((again + 600..again + 700).contains(&retry), "{retry}");
}
