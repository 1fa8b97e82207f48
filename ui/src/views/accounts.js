// The linked accounts: who, where, state, expiry, and Disconnect with an inline confirmation.
import { h } from '../dom.js';
import { absolute, relative, t } from '../i18n.js';

function expiry(account) {
  if (account.expiresAt == null) return t('account.expiryUnknown');
  const key = account.expiresAt * 1000 > Date.now() ? 'account.expiresIn' : 'account.expired';
  return t(key, { when: relative(account.expiresAt) });
}

function stateBadge(state) {
  const connected = state.kind === 'connected';
  return h(
    'span',
    { class: `badge ${connected ? 'ok' : 'warn'} account-state`, dataset: { state: state.kind }, title: state.reason },
    t(connected ? 'account.state.connected' : 'account.state.needsReconnect'),
  );
}

/** Renders the account list; `onDisconnect(account)` is called once the user confirmed. */
export function renderAccounts(accounts, onDisconnect) {
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
        actions.replaceChildren(h('button', { type: 'button', class: 'disconnect', onClick: ask }, t('account.disconnect')));
      };
      idle();
      return h(
        'li',
        { class: 'card', dataset: { accountId: a.id, providerId: a.providerId } },
        h(
          'div',
          { class: 'card-main' },
          h('strong', { class: 'account-name' }, name),
          h('span', { class: 'muted' }, a.providerName, ' · ', stateBadge(a.state)),
          h('span', { class: 'muted account-expiry', title: a.expiresAt ? absolute(a.expiresAt) : undefined }, expiry(a)),
        ),
        actions,
      );
    }),
  );
}
