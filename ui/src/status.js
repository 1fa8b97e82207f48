// An account's state badge, from what the backend says and what is happening now. Pure: `npm test`.
import { EXPIRES_SOON_SECS } from './time.js';

/**
 * The badge's kind: `needsReconnect` (the user must sign in again), `refreshing` (a refresh is running),
 * `error` (refreshing fails and is retried), `expiresSoon` (access ends within 10 minutes and no refresh
 * is planned: a provider without refresh, such as Youthweb) or `connected`.
 */
export function badgeKind(account, refreshing, nowMs) {
  if (account.state.kind !== 'connected') return 'needsReconnect';
  if (refreshing) return 'refreshing';
  if (account.lastError) return 'error';
  const noRefreshPlanned = account.nextRefreshAt == null;
  if (noRefreshPlanned && account.expiresAt != null && account.expiresAt - nowMs / 1000 < EXPIRES_SOON_SECS) return 'expiresSoon';
  return 'connected';
}

/** The badge's colour tone for a kind. */
export const TONES = Object.freeze({ connected: 'ok', refreshing: 'info', error: 'warn', expiresSoon: 'warn', needsReconnect: 'bad' });

/** Whether "Refresh now" can work for this account. */
export const canRefresh = (account) => account.hasRefreshToken && account.state.kind === 'connected';

/** Providers whose name or sign-in host contains every word of `query` (case- and accent-blind). */
export function matchProviders(providers, query) {
  const fold = (s) => s.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
  const words = fold(query).split(/\s+/).filter(Boolean);
  return providers.filter((p) => {
    const hay = fold(`${p.name} ${p.id} ${p.authorizeHost}`);
    return words.every((w) => hay.includes(w));
  });
}
