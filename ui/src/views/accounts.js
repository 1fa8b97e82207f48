// The linked accounts: who, where, state, expiry, last refresh, Refresh now, and Disconnect with an
// inline confirmation.
import { h } from '../dom.js';
import { absolute, language, relative, t } from '../i18n.js';

function expiry(account) {
  if (account.expiresAt == null) return t('account.expiryUnknown');
  const key = account.expiresAt * 1000 > Date.now() ? 'account.expiresIn' : 'account.expired';
  return t(key, { when: relative(account.expiresAt) });
}

/** The badge's kind: connected, refreshing, error (refresh failing, retried) or needsReconnect. */
export function badgeKind(account, refreshing) {
  if (account.state.kind !== 'connected') return 'needsReconnect';
  if (refreshing) return 'refreshing';
  return account.lastError ? 'error' : 'connected';
}

function stateBadge(account, refreshing) {
  const kind = badgeKind(account, refreshing);
  const tone = { connected: 'ok', refreshing: 'info', error: 'warn', needsReconnect: 'warn' }[kind];
  return h('span', { class: `badge ${tone} account-state`, dataset: { state: kind } }, t(`account.state.${kind}`));
}

/** The line under the name that says why an account needs the user, if it does. */
function problem(account) {
  if (account.state.kind !== 'connected') return h('span', { class: 'account-problem warn-text' }, account.state.reason);
  if (account.lastError) return h('span', { class: 'account-problem muted' }, t('account.retrying', { message: account.lastError }));
  return null;
}

// What the list shows now. Drawing it again relayouts and repaints the whole window (about 33 ms of CPU in
// WebKit with software rendering), so a render that would show the same is skipped: the periodic update of
// relative times then costs nothing until a text really changes, and an open confirmation stays open.
let shown = null;

/**
 * Renders the account list. `refreshing` is the set of account ids being refreshed; `onRefresh(account)`,
 * `onDiagnose(account, name)` and `onDisconnect(account, name)` (after the user confirmed) are the actions.
 */
export function renderAccounts(accounts, { onDisconnect, onRefresh, onDiagnose, refreshing = new Set() }) {
  const view = JSON.stringify([language(), [...refreshing].sort(), accounts.map((a) => [a, expiry(a), a.refreshedAt && relative(a.refreshedAt)])]);
  if (view === shown) return;
  shown = view;
  const list = document.getElementById('accounts');
  document.getElementById('accounts-empty').hidden = accounts.length > 0;
  list.replaceChildren(
    ...accounts.map((a) => {
      const name = a.displayName || t('account.unnamed', { provider: a.providerName });
      const actions = h('div', { class: 'actions' });
      const ask = () => {
        actions.replaceChildren(
          h('span', { class: 'muted' }, t('account.confirmDisconnect')),
          h('button', { type: 'button', class: 'danger confirm-disconnect', onClick: () => onDisconnect(a, name) }, t('account.confirmYes')),
          h('button', { type: 'button', class: 'cancel-disconnect', onClick: idle }, t('account.cancel')),
        );
        actions.querySelector('.confirm-disconnect').focus();
      };
      const idle = () => {
        const canRefresh = a.hasRefreshToken && a.state.kind === 'connected';
        actions.replaceChildren(
          ...(canRefresh
            ? [h('button', { type: 'button', class: 'refresh', disabled: refreshing.has(a.id), onClick: () => onRefresh(a, name) }, t('account.refresh'))]
            : []),
          h('button', { type: 'button', class: 'diagnose', onClick: () => onDiagnose(a, name) }, t('account.diagnose')),
          h('button', { type: 'button', class: 'disconnect', onClick: ask }, t('account.disconnect')),
        );
      };
      idle();
      return h(
        'li',
        { class: 'card', dataset: { accountId: a.id, providerId: a.providerId } },
        h(
          'div',
          { class: 'card-main' },
          h('strong', { class: 'account-name' }, name),
          h('span', { class: 'muted' }, a.providerName, ' · ', stateBadge(a, refreshing.has(a.id))),
          problem(a),
          h('span', { class: 'muted account-expiry', title: a.expiresAt ? absolute(a.expiresAt) : undefined }, expiry(a)),
          a.refreshedAt
            ? h('span', { class: 'muted account-refreshed', title: absolute(a.refreshedAt) }, t('account.refreshed', { when: relative(a.refreshedAt) }))
            : null,
        ),
        actions,
      );
    }),
  );
}
