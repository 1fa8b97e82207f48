//! The refresher's clock: wall-clock time, and a sleep that wakes at a wall-clock deadline.
//!
//! Token expiry is wall-clock time, but tokio's timers run on the monotonic clock, which on Linux stops
//! while the machine sleeps: a refresh due during a suspend would fire that much late. [`SystemClock`]
//! sleeps on a `timerfd` of `CLOCK_REALTIME` with an absolute deadline, which the kernel fires at once on
//! resume when the deadline passed, and with `TFD_TIMER_CANCEL_ON_SET`, which wakes it when the clock is
//! set (NTP step, the user changing the time), so the schedule is looked at again. One timer, no polling:
//! nothing wakes the process while nothing is due.
//!
//! [`TestClock`] runs on tokio's (pausable) clock, with a wall offset a test can jump.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::schedule::{wall_now, WallMs};

/// A boxed future, as the clock's sleeps are.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Wall-clock time and sleeping until a wall-clock deadline.
pub trait Clock: Send + Sync + 'static {
    /// Now, in wall-clock milliseconds.
    fn now(&self) -> WallMs;
    /// Resolves at `deadline`, or earlier when the wall clock is set (the caller then looks again).
    fn sleep_until(&self, deadline: WallMs) -> Sleep<'_>;
}

/// The real clock (a `timerfd` on Linux; elsewhere tokio sleeps of at most a minute).
#[derive(Debug)]
pub struct SystemClock {
    #[cfg(target_os = "linux")]
    timer: Option<linux::WallTimer>,
}

impl SystemClock {
    /// The real clock.
    pub fn new() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            timer: linux::WallTimer::new()
                .map_err(|e| tracing::warn!(error = %e, "no timerfd; refreshes after a suspend may run up to a minute late"))
                .ok(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> WallMs {
        wall_now()
    }

    fn sleep_until(&self, deadline: WallMs) -> Sleep<'_> {
        #[cfg(target_os = "linux")]
        if let Some(timer) = &self.timer {
            return Box::pin(async move {
                if let Err(e) = timer.sleep_until(deadline).await {
                    tracing::warn!(error = %e, "the wall-clock timer failed; falling back to a short sleep");
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                }
            });
        }
        // Without a wall-clock timer: monotonic naps of at most a minute, so a suspend delays little.
        let wait = deadline.saturating_sub(wall_now()).min(60_000);
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(wait)))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::{AsFd, AsRawFd, RawFd};

    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use tokio::io::unix::AsyncFd;

    use super::WallMs;

    #[derive(Debug)]
    struct Fd(TimerFd);

    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    /// A `CLOCK_REALTIME` timerfd, armed with absolute deadlines that a clock change cancels.
    #[derive(Debug)]
    pub(super) struct WallTimer {
        fd: AsyncFd<Fd>,
    }

    impl WallTimer {
        pub(super) fn new() -> std::io::Result<Self> {
            let timer = TimerFd::new(ClockId::CLOCK_REALTIME, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)?;
            // `new` is deprecated for fds that might be closed or swapped while registered; this one is
            // owned by the `TimerFd` inside the `AsyncFd` and lives exactly as long as the registration.
            #[allow(deprecated)]
            let fd = AsyncFd::new(Fd(timer))?;
            Ok(Self { fd })
        }

        pub(super) async fn sleep_until(&self, deadline: WallMs) -> std::io::Result<()> {
            // A zero deadline would disarm the timer: the past is 1 ms after the epoch.
            let deadline = deadline.max(1);
            let at = TimeSpec::new((deadline / 1000) as i64, ((deadline % 1000) * 1_000_000) as i64);
            self.fd.get_ref().0.set(
                Expiration::OneShot(at),
                TimerSetTimeFlags::TFD_TIMER_ABSTIME | TimerSetTimeFlags::TFD_TIMER_CANCEL_ON_SET,
            )?;
            loop {
                let mut ready = self.fd.readable().await?;
                // `wait` reads the expiry count; ECANCELED (clock set) also ends the sleep.
                match ready.try_io(|fd| fd.get_ref().0.wait().map_err(std::io::Error::from)) {
                    Ok(result) => return result,
                    Err(_would_block) => continue,
                }
            }
        }
    }
}

/// A clock for tests: tokio's clock (pause it with `tokio::time::pause`) plus a wall offset that
/// [`TestClock::jump`] moves, as a suspend or a clock change would.
#[derive(Debug, Clone)]
pub struct TestClock {
    origin_wall: WallMs,
    origin: tokio::time::Instant,
    offset: Arc<AtomicU64>,
}

impl TestClock {
    /// A clock that reads `wall` now.
    pub fn starting_at(wall: WallMs) -> Self {
        Self { origin_wall: wall, origin: tokio::time::Instant::now(), offset: Arc::new(AtomicU64::new(0)) }
    }

    /// Moves the wall clock forward by `ms` without tokio's clock moving (a suspend of that long).
    pub fn jump(&self, ms: u64) {
        self.offset.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> WallMs {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.origin_wall + self.offset.load(Ordering::SeqCst) + elapsed
    }

    fn sleep_until(&self, deadline: WallMs) -> Sleep<'_> {
        let wait = deadline.saturating_sub(self.now());
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(wait)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_system_clock_wakes_at_a_wall_deadline() {
        let clock = SystemClock::new();
        let start = std::time::Instant::now();
        clock.sleep_until(clock.now() + 150).await;
        let slept = start.elapsed().as_millis();
        assert!((140..1000).contains(&slept), "slept {slept} ms");
        // A deadline in the past returns at once.
        let start = std::time::Instant::now();
        clock.sleep_until(1).await;
        assert!(start.elapsed().as_millis() < 100);
    }

    #[tokio::test(start_paused = true)]
    async fn the_test_clock_follows_paused_time_and_jumps() {
        let clock = TestClock::starting_at(1_000_000);
        clock.sleep_until(1_060_000).await;
        assert_eq!(clock.now(), 1_060_000);
        clock.jump(3_600_000);
        assert_eq!(clock.now(), 4_660_000);
    }
}
