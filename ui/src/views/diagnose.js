// Diagnostics for one account, in a dialog: likely causes, the token inspector, environment probes and
// the timeline, with Test API call, Copy report and Save report. No secret ever reaches this view: the
// backend sends fingerprints, decoded claims and event records only.
import * as backend from '../backend.js';
import { h } from '../dom.js';
import { openDialog } from '../dialogs.js';
import { absolute, t } from '../i18n.js';

const dialog = () => document.getElementById('diagnose');

function section(titleKey, ...content) {
  return h('section', { class: 'diag-section' }, h('h3', {}, t(titleKey)), ...content);
}

function facts(rows) {
  return h('dl', { class: 'facts' }, ...rows.filter(Boolean).flatMap(([k, v, cls]) => [h('dt', {}, t(k)), h('dd', { class: cls }, v)]));
}

function tokenRow(key, view) {
  if (!view) return [key, t('diag.none')];
  return [key, `${t('diag.fingerprint')} ${view.fingerprint} · ${t('diag.chars', { n: view.length })}${view.jwt ? ' · JWT' : ''}`, 'token-fp'];
}

function expiry(i) {
  if (i.expiresAt == null) return t('diag.expiryUnknown');
  const when = absolute(i.expiresAt);
  return i.secondsLeft >= 0 ? t('diag.expiresAt', { when, n: Math.round(i.secondsLeft / 60) }) : t('diag.expiredAt', { when });
}

/** One timeline event in words: a translated label and the event's facts (hosts, statuses, codes). */
export function eventText(e) {
  const x = (ex) => {
    const status = ex.status != null ? `HTTP ${ex.status}` : t('diag.noAnswer');
    if (ex.ok) return `${status}, ${ex.ms} ms${ex.newRefreshToken ? `, ${t('diag.newRefreshToken')}` : ''}`;
    return `${status}, ${ex.ms} ms: ${ex.error ?? ''}${ex.errorDescription ? ` (${ex.errorDescription})` : ''}`;
  };
  const detail = {
    flowStarted: () => `${e.provider}${e.tenant ? ` (${e.tenant})` : ''} · ${e.authorizeHost} · ${e.scopes.join(' ')}`,
    redirectReceived: () => e.params.join(', '),
    flowFailed: () => `${e.code}: ${e.message}`,
    callbackRefused: () => `${e.target} (${e.params.join(', ')}): ${e.reason}`,
    handedToBrowser: () => t(`signin.why.${e.why}`),
    codeExchange: () => x(e),
    refresh: () => x(e),
    apiTest: () => (e.status != null ? `${e.host}: HTTP ${e.status}, ${e.ms} ms` : `${e.host}: ${e.error}`),
    stateChanged: () => `${t(`account.state.${e.state}`)}: ${e.reason}`,
    keyringError: () => `${e.step}: ${e.message}`,
    tokenHandedOut: () => e.program,
    disconnected: () => e.revocation,
  }[e.kind];
  return `${t(`diag.event.${e.kind}`)}${detail ? ` — ${detail()}` : ''}`;
}

/** A likely cause in the user's language; the backend's English words if this UI has none for it. */
export function causeText(c) {
  if (c.code === 'clock_skew') return t(c.skewSecs > 0 ? 'cause.clockAhead' : 'cause.clockBehind', { n: Math.abs(c.skewSecs) });
  const key = `cause.${c.code}`;
  const text = t(key);
  return text === key ? c.text : text;
}

function render(view) {
  const { report } = view;
  const i = report.inspection;
  const body = dialog().querySelector('.diagnose-body');
  const causes = report.explanations.length
    ? h('ul', { class: 'causes' }, ...report.explanations.map((c) => h('li', { dataset: { cause: c.code } }, causeText(c))))
    : h('p', { class: 'muted' }, t('diag.noCauses'));
  const claims = i.accessToken?.jwt ? h('pre', { class: 'claims' }, JSON.stringify(i.accessToken.jwt.claims, null, 2)) : null;
  const p = report.probes;
  body.replaceChildren(
    section('diag.causes', causes),
    section(
      'diag.tokens',
      facts([
        ['diag.tokenType', `${i.tokenType} · ${i.presentedAs}`],
        ['diag.scopes', i.scopesGranted.join(' ') || '—'],
        i.scopesMissing.length ? ['diag.scopesMissing', i.scopesMissing.join(' '), 'warn-text'] : null,
        ['diag.issued', absolute(i.issuedAt)],
        ['diag.expires', expiry(i)],
        ['diag.refreshes', String(i.refreshes)],
        tokenRow('diag.accessToken', i.accessToken),
        tokenRow('diag.refreshToken', i.refreshToken),
        tokenRow('diag.idToken', i.idToken),
      ]),
      claims,
    ),
    section(
      'diag.environment',
      facts([
        ['diag.keyring', p.keyring],
        ['diag.scheme', p.schemeHandler],
        ['diag.webkit', p.webkitgtk],
        ['diag.proxies', p.proxies.length ? p.proxies.join(', ') : t('diag.none')],
        ['diag.clock', p.clock, p.clockSkewSecs != null && Math.abs(p.clockSkewSecs) > 60 ? 'warn-text' : undefined],
      ]),
    ),
    section(
      'diag.timeline',
      report.timeline.entries.length
        ? h('ol', { class: 'timeline' }, ...[...report.timeline.entries].reverse().map((e) =>
            h('li', { dataset: { kind: e.kind } }, h('time', { datetime: new Date(e.atMs).toISOString(), title: new Date(e.atMs).toUTCString() }, absolute(e.atMs / 1000)), ' ', eventText(e))))
        : h('p', { class: 'muted' }, t('diag.noEvents')),
    ),
  );
}

function status(text, kind = 'info') {
  const line = dialog().querySelector('.diagnose-status');
  line.textContent = text;
  line.dataset.kind = kind;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // WebKitGTK may refuse the async clipboard outside a user gesture: copy from a selected text area.
    const area = h('textarea', { class: 'visually-hidden', readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand('copy');
    area.remove();
    return done;
  }
}

/** Opens the diagnostics of `account` (shown as `name`); `onChanged` runs after an action changed it. */
export async function openDiagnostics(account, name) {
  const d = dialog();
  d.querySelector('.diagnose-title').textContent = t('diag.title', { name });
  d.querySelector('.diagnose-body').replaceChildren(h('p', { class: 'muted' }, t('diag.loading')));
  status('');
  let current = null;
  const load = async () => {
    try {
      current = await backend.accountReport(account.id);
      render(current);
    } catch (e) {
      status(e.message, 'error');
    }
  };
  const actions = d.querySelector('.diagnose-actions');
  const canRefresh = account.hasRefreshToken && account.state.kind === 'connected';
  const buttons = [
    canRefresh
      ? h('button', { type: 'button', class: 'refresh-now', onClick: async () => {
          status(t('diag.refreshing'));
          try {
            await backend.refreshAccount(account.id);
            status(t('diag.refreshed'), 'success');
          } catch (e) {
            status(e.message, 'error');
          }
          await load();
        } }, t('account.refresh'))
      : null,
    h('button', { type: 'button', class: 'test-api', onClick: async () => {
      status(t('diag.testing'));
      try {
        const a = await backend.testApiCall(account.id);
        status(t('diag.testResult', { status: a.status, ms: a.millis, header: a.presentedAs }), a.status < 400 ? 'success' : 'error');
        const excerpt = d.querySelector('.api-excerpt');
        excerpt.textContent = a.excerpt;
        excerpt.hidden = !a.excerpt;
      } catch (e) {
        status(e.message, 'error');
      }
      await load();
    } }, t('diag.testApi')),
    h('button', { type: 'button', class: 'copy-report', onClick: async () => {
      if (!current) return;
      status((await copy(current.text)) ? t('diag.copied') : t('diag.copyFailed'), 'success');
    } }, t('diag.copy')),
    h('button', { type: 'button', class: 'save-report', onClick: async () => {
      if (!current) return;
      try {
        status(t('diag.saved', { path: await backend.saveReport(account.id, current.text) }), 'success');
      } catch (e) {
        status(e.message, 'error');
      }
    } }, t('diag.save')),
    h('button', { type: 'button', class: 'close-diagnose primary', onClick: () => d.close() }, t('diag.close')),
  ];
  actions.replaceChildren(...buttons.filter(Boolean));
  d.querySelector('.api-excerpt').hidden = true;
  openDialog(d, '.close-diagnose');
  await load();
}
