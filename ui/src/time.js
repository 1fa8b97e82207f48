// Pure time arithmetic for the views: which words a relative time takes, and when the next minute
// starts. No DOM, no translations: tested with `npm test` (node --test).

/**
 * How far `unixSeconds` is from `nowMs`, as a translation key's unit and a count: `['now', 0]` under a
 * minute, minutes up to 90 min ("in 60 min" reads better than "in 1 h"), hours up to 36 h, then days;
 * `future` says which way.
 */
export function relativeParts(unixSeconds, nowMs) {
  const diff = Math.round(unixSeconds - nowMs / 1000);
  const abs = Math.abs(diff);
  if (abs < 60) return { unit: 'now', n: 0, future: diff > 0 };
  if (abs < 5400) return { unit: 'Minutes', n: Math.round(abs / 60), future: diff > 0 };
  if (abs < 129600) return { unit: 'Hours', n: Math.round(abs / 3600), future: diff > 0 };
  return { unit: 'Days', n: Math.round(abs / 86400), future: diff > 0 };
}

/** Milliseconds from `nowMs` to just after the next full minute: the ticker wakes once a minute, aligned. */
export const msToNextMinute = (nowMs) => 60_000 - (nowMs % 60_000) + 50;

/** Seconds before expiry from which a token that nobody will refresh counts as "expires soon". */
export const EXPIRES_SOON_SECS = 10 * 60;
