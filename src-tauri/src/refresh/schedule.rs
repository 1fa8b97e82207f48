//! When to refresh: the pure arithmetic of the refresher, with no clock and no I/O.
//!
//! Times are wall-clock milliseconds since the Unix epoch ([`WallMs`]). Every function takes the jitter as
//! an argument in `[0, 1)`, so the caller picks the randomness and tests pick the extremes.
//!
//! The rules:
//! * **Known lifetime `L`**: refresh between 65 % and 75 % of `L` after the tokens were obtained (the
//!   margin scales with the lifetime; the jitter spreads accounts linked together), but never sooner than
//!   [`Policy::min_interval`] after the last refresh, so no lifetime, however short, makes a loop.
//! * **Unknown lifetime** (`expires_in` 0 or missing, e.g. Workfront's session ids): refresh every
//!   [`Policy::unknown_lifetime_interval`] (minus up to 10 % jitter); the token is never treated as expired.
//! * **Failures**: capped exponential backoff with jitter, and never sooner than a `Retry-After`.
//! * **No refresh grant** (Youthweb): a reminder ahead of expiry, then the account needs reconnecting.

use std::time::Duration;

/// Wall-clock time in milliseconds since the Unix epoch.
pub type WallMs = u64;

/// The refresher's tunables. [`Policy::default`] is what the app uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// No account is refreshed more often than this, whatever its lifetime.
    pub min_interval: Duration,
    /// How often tokens of unknown lifetime are refreshed.
    pub unknown_lifetime_interval: Duration,
    /// First retry delay after a transient failure.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_cap: Duration,
    /// The longest `Retry-After` honoured (a server asking for a day is asked again sooner).
    pub retry_after_cap: Duration,
    /// How long before expiry the user is told a reconnect is due (providers without refresh).
    pub reminder_lead: Duration,
    /// After this many failures in a row the user is told refreshing keeps failing.
    pub failures_before_notice: u32,
    /// How many refreshes run at once.
    pub concurrency: usize,
    /// "Online again" moves retries forward at most once per this long (a flapping network can't make
    /// the refresher loop).
    pub network_nudge_gap: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_secs(15),
            unknown_lifetime_interval: Duration::from_secs(20 * 60),
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(30 * 60),
            retry_after_cap: Duration::from_secs(6 * 60 * 60),
            reminder_lead: Duration::from_secs(10 * 60),
            failures_before_notice: 3,
            concurrency: 16,
            network_nudge_gap: Duration::from_secs(30),
        }
    }
}

/// The wall clock now.
pub fn wall_now() -> WallMs {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(ms).unwrap_or(0)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn fraction(value: u64, f: f64) -> u64 {
    // Lifetimes are far below 2^52 ms, so the conversion is exact enough.
    (value as f64 * f.clamp(0.0, 1.0)) as u64
}

impl Policy {
    /// When to refresh tokens obtained at `obtained_at` that expire at `expires_at` (`None`: unknown).
    /// `jitter` in `[0, 1)` moves the time earlier, by up to 10 % of the lifetime.
    pub fn refresh_at(&self, obtained_at: WallMs, expires_at: Option<WallMs>, jitter: f64) -> WallMs {
        let earliest = obtained_at.saturating_add(ms(self.min_interval));
        let at = match expires_at {
            Some(expires) if expires > obtained_at => {
                let lifetime = expires - obtained_at;
                obtained_at + fraction(lifetime, 0.75) - fraction(lifetime, 0.10 * jitter)
            }
            // Expired on arrival or a clock far off: still no sooner than the floor.
            Some(_) => earliest,
            None => {
                let interval = ms(self.unknown_lifetime_interval);
                obtained_at.saturating_add(interval - fraction(interval, 0.10 * jitter))
            }
        };
        at.max(earliest)
    }

    /// The delay before retry number `attempt` (1 for the first retry) after a transient failure:
    /// exponential from [`Policy::backoff_base`], capped at [`Policy::backoff_cap`], with "equal jitter"
    /// (between half and all of the step), and never shorter than the server's `Retry-After`.
    pub fn retry_delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let step = self.backoff_base.saturating_mul(1u32 << exponent).min(self.backoff_cap);
        let half = step / 2;
        let backoff = half + Duration::from_millis(fraction(ms(half), jitter));
        match retry_after {
            Some(asked) => backoff.max(asked.min(self.retry_after_cap)),
            None => backoff,
        }
    }

    /// When to remind the user that an account without refresh expires (`None` if already past).
    pub fn reminder_at(&self, obtained_at: WallMs, expires_at: WallMs, now: WallMs) -> Option<WallMs> {
        let lifetime = expires_at.saturating_sub(obtained_at);
        // A short-lived token gets its reminder at three quarters of its life, not before it was issued.
        let lead = ms(self.reminder_lead).min(lifetime / 4);
        let at = expires_at - lead;
        (at > now).then_some(at)
    }
}

/// Parses a `Retry-After` header value: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: WallMs) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate(value)?;
    Some(Duration::from_millis(at.saturating_sub(now)))
}

/// An HTTP date (IMF-fixdate, as in `Date` and `Retry-After`) as Unix seconds.
pub fn parse_http_date(value: &str) -> Option<u64> {
    httpdate(value.trim()).map(|ms| ms / 1000)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as [`WallMs`].
fn httpdate(value: &str) -> Option<WallMs> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m == month)? as u64
        + 1;
    let (day, year): (u64, u64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || year < 1970 || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + m * 60 + s) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: WallMs = 1_700_000_000_000;
    const SEC: u64 = 1000;

    #[test]
    fn a_known_lifetime_is_refreshed_between_65_and_75_percent() {
        let p = Policy::default();
        let hour = 3600 * SEC;
        assert_eq!(p.refresh_at(T0, Some(T0 + hour), 0.0), T0 + 2700 * SEC);
        let latest_jitter = p.refresh_at(T0, Some(T0 + hour), 0.999_999);
        assert!((T0 + 2340 * SEC..T0 + 2341 * SEC).contains(&latest_jitter), "{}", latest_jitter - T0);
        // A day-long Auth0 token: 6 to 8.4 hours of margin.
        let day = 86_400 * SEC;
        let at = p.refresh_at(T0, Some(T0 + day), 0.5);
        assert!(day - (at - T0) >= 6 * 3600 * SEC && day - (at - T0) <= 8 * 3600 * SEC + 1_440 * SEC);
    }

    #[test]
    fn no_lifetime_however_short_refreshes_sooner_than_the_floor() {
        let p = Policy::default();
        for lifetime_secs in [0_u64, 1, 5, 19, 20] {
            for jitter in [0.0, 0.5, 0.999] {
                let at = p.refresh_at(T0, Some(T0 + lifetime_secs * SEC), jitter);
                assert!(at >= T0 + 15 * SEC, "lifetime {lifetime_secs}s refreshed after {} ms", at - T0);
            }
        }
        // Already expired, or a server clock far behind: the floor, not "now".
        assert_eq!(p.refresh_at(T0, Some(T0 - 3600 * SEC), 0.3), T0 + 15 * SEC);
        // 20-second tokens: at most one refresh per 15 s (a peer daemon sent 35 per second).
        assert_eq!(p.refresh_at(T0, Some(T0 + 20 * SEC), 0.0), T0 + 15 * SEC);
    }

    #[test]
    fn an_unknown_lifetime_is_refreshed_on_the_interval_and_never_as_expired() {
        let p = Policy::default();
        assert_eq!(p.refresh_at(T0, None, 0.0), T0 + 1200 * SEC);
        let at = p.refresh_at(T0, None, 0.999);
        assert!(at > T0 + 1080 * SEC && at <= T0 + 1200 * SEC);
    }

    #[test]
    fn jitter_spreads_accounts_linked_in_the_same_second() {
        let p = Policy::default();
        let times: std::collections::BTreeSet<WallMs> =
            (0..100).map(|i| p.refresh_at(T0, Some(T0 + 3600 * SEC), f64::from(i) / 100.0)).collect();
        assert_eq!(times.len(), 100);
        let spread = times.last().copied().unwrap_or(0) - times.first().copied().unwrap_or(0);
        assert!(spread > 350 * SEC, "spread {spread} ms");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let p = Policy::default();
        assert_eq!(p.retry_delay(1, None, 0.0), Duration::from_secs(5));
        assert_eq!(p.retry_delay(1, None, 0.999_999).as_secs(), 9);
        assert_eq!(p.retry_delay(2, None, 0.0), Duration::from_secs(10));
        assert_eq!(p.retry_delay(3, None, 0.0), Duration::from_secs(20));
        assert_eq!(p.retry_delay(8, None, 0.0), Duration::from_secs(640));
        assert_eq!(p.retry_delay(9, None, 0.0), Duration::from_secs(15 * 60));
        assert_eq!(p.retry_delay(40, None, 0.0), Duration::from_secs(15 * 60));
        assert!(p.retry_delay(u32::MAX, None, 0.999) <= Duration::from_secs(30 * 60));
        for attempt in 1..12 {
            assert!(p.retry_delay(attempt + 1, None, 0.0) >= p.retry_delay(attempt, None, 0.0));
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = Policy::default();
        assert_eq!(p.retry_delay(1, Some(Duration::from_secs(120)), 0.5), Duration::from_secs(120));
        // A shorter Retry-After does not shorten the backoff.
        assert_eq!(p.retry_delay(4, Some(Duration::from_secs(1)), 0.0), Duration::from_secs(40));
        assert_eq!(p.retry_delay(1, Some(Duration::from_secs(86_400 * 7)), 0.0), Duration::from_secs(6 * 3600));
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 42 ", T0), Some(Duration::from_secs(42)));
        // 784111777 = Sun, 06 Nov 1994 08:49:37 GMT
        let now = 784_111_777_000 - 30_000;
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 60_000), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", 0), Some(Duration::from_secs(1_709_164_800)));
        for bad in ["", "soon", "-5", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT"] {
            assert_eq!(parse_retry_after(bad, T0), None, "{bad:?}");
        }
    }

    #[test]
    fn the_reminder_comes_ahead_of_expiry_and_not_in_the_past() {
        let p = Policy::default();
        let hour = 3600 * SEC;
        assert_eq!(p.reminder_at(T0, T0 + hour, T0), Some(T0 + 50 * 60 * SEC));
        // A two-minute token: reminded at 90 s, not 8 minutes before it was issued.
        assert_eq!(p.reminder_at(T0, T0 + 120 * SEC, T0), Some(T0 + 90 * SEC));
        assert_eq!(p.reminder_at(T0, T0 + hour, T0 + 55 * 60 * SEC), None);
    }
}
