// Unit tests of the UI's pure logic: relative times, the state badge, the provider search.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { badgeKind, matchProviders } from '../src/status.js';
import { msToNextMinute, relativeParts } from '../src/time.js';

const NOW = 1_800_000_000_000;
const at = (secs) => NOW / 1000 + secs;

test('relative times pick minutes up to 90 min, then hours up to 36 h, then days', () => {
  assert.deepEqual(relativeParts(at(30), NOW), { unit: 'now', n: 0, future: true });
  assert.deepEqual(relativeParts(at(-59), NOW), { unit: 'now', n: 0, future: false });
  assert.deepEqual(relativeParts(at(3599), NOW), { unit: 'Minutes', n: 60, future: true });
  assert.deepEqual(relativeParts(at(-5399), NOW), { unit: 'Minutes', n: 90, future: false });
  assert.deepEqual(relativeParts(at(5400), NOW), { unit: 'Hours', n: 2, future: true });
  assert.deepEqual(relativeParts(at(-129_599), NOW), { unit: 'Hours', n: 36, future: false });
  assert.deepEqual(relativeParts(at(3 * 86400), NOW), { unit: 'Days', n: 3, future: true });
});

test('the ticker wakes just after the next full minute', () => {
  assert.equal(msToNextMinute(60_000 * 5), 60_050);
  assert.equal(msToNextMinute(60_000 * 5 + 59_990), 60);
});

test('the badge says what the user needs to know first', () => {
  const base = { state: { kind: 'connected' }, lastError: null, expiresAt: at(3600), nextRefreshAt: at(2400), hasRefreshToken: true };
  assert.equal(badgeKind(base, false, NOW), 'connected');
  assert.equal(badgeKind(base, true, NOW), 'refreshing');
  assert.equal(badgeKind({ ...base, lastError: 'HTTP 503' }, false, NOW), 'error');
  assert.equal(badgeKind({ ...base, state: { kind: 'needsReconnect', reason: 'x' } }, true, NOW), 'needsReconnect');
  // No refresh planned (Youthweb): expires soon in its last 10 minutes, not before.
  const noRefresh = { ...base, nextRefreshAt: null, hasRefreshToken: false };
  assert.equal(badgeKind({ ...noRefresh, expiresAt: at(601) }, false, NOW), 'connected');
  assert.equal(badgeKind({ ...noRefresh, expiresAt: at(599) }, false, NOW), 'expiresSoon');
  // A refresh is planned: the refresher takes care of it.
  assert.equal(badgeKind({ ...base, expiresAt: at(30) }, false, NOW), 'connected');
  // Unknown lifetime (Workfront) never expires soon.
  assert.equal(badgeKind({ ...noRefresh, expiresAt: null }, false, NOW), 'connected');
});

test('the provider search matches every word, ignoring case and accents', () => {
  const ps = [
    { id: 'zaehlerfreunde', name: 'Zählerfreunde', authorizeHost: 'auth.prod.zaehlerfreunde.com' },
    { id: 'workfront', name: 'Adobe Workfront', authorizeHost: '—' },
    { id: 'demo', name: 'Demo Provider', authorizeHost: '127.0.0.1' },
  ];
  assert.deepEqual(matchProviders(ps, 'zahler').map((p) => p.id), ['zaehlerfreunde']);
  assert.deepEqual(matchProviders(ps, 'ADOBE work').map((p) => p.id), ['workfront']);
  assert.deepEqual(matchProviders(ps, '  ').length, 3);
  assert.deepEqual(matchProviders(ps, 'nothing'), []);
});
