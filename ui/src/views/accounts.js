// The main window's list of linked accounts: for each, the provider's icon, who (display name), where
// (provider), the state badge and a live line "access expires in …" / "refreshed … ago". A row opens the
// account's details; an account that needs the user gets its Reconnect button right in the row.
import { h } from '../dom.js';
import { absolute, relative, t } from '../i18n.js';
import { providerIcon } from '../icons.js';
import { badgeKind, TONES } from '../status.js';

/** The name the user knows an account by. */
export const accountName = (a) => a.displayName || t('account.unnamed', { provider: a.providerName });

/** The "access expires …" line of an account. */
export function expiryText(account, nowMs = Date.now()) {
  if (account.expiresAt == null) return t('account.expiryUnknown');
  const key = account.expiresAt * 1000 > nowMs ? 'account.expiresIn' : 'account.expired';
  return t(key, { when: relative(account.expiresAt, nowMs) });
}

/** The state badge of an account. */
export function stateBadge(account, refreshing, nowMs = Date.now()) {
  const kind = badgeKind(account, refreshing, nowMs);
  return h('span', { class: `badge ${TONES[kind]} account-state`, dataset: { state: kind } }, t(`account.state.${kind}`));
}

/** The line under the name that says why an account needs the user, if it does. */
export function problem(account) {
  if (account.state.kind !== 'connected') return h('span', { class: 'account-problem warn-text' }, account.state.reason);
  if (account.lastError) return h('span', { class: 'account-problem muted' }, t('account.retrying', { message: account.lastError }));
  return null;
}

function row(a, { providers, refreshing, onOpen, onReconnect, now }) {
  const name = accountName(a);
  const provider = providers.find((p) => p.id === a.providerId) ?? { icon: 'generic' };
  const busy = refreshing.has(a.id);
  const time = [
    h('span', { class: 'account-expiry', title: a.expiresAt ? absolute(a.expiresAt) : undefined }, expiryText(a, now)),
    a.refreshedAt ? h('span', { class: 'account-refreshed', title: absolute(a.refreshedAt) }, t('account.refreshed', { when: relative(a.refreshedAt, now) })) : null,
  ];
  const needsUser = a.state.kind !== 'connected';
  return h(
    'li',
    { class: 'account', dataset: { accountId: a.id, providerId: a.providerId } },
    providerIcon(provider, 40),
    h(
      'div',
      { class: 'account-main' },
      h('strong', { class: 'account-name' }, name),
      h('span', { class: 'account-meta muted' }, h('span', { class: 'account-provider' }, a.providerName), a.tenant ? ` · ${a.tenant}` : '', ' ', stateBadge(a, busy, now)),
      problem(a),
      h('span', { class: 'account-times muted' }, ...time.filter(Boolean).flatMap((el, i) => (i ? [' · ', el] : [el]))),
    ),
    h(
      'div',
      { class: 'actions' },
      needsUser ? h('button', { type: 'button', class: 'primary reconnect', onClick: () => onReconnect(a) }, t('account.reconnect')) : null,
      h('button', { type: 'button', class: 'account-open', 'aria-label': t('account.detailsOf', { name }), onClick: () => onOpen(a) }, t('account.details')),
    ),
  );
}

/**
 * Draws the list (or the empty state inviting a first link). `ctx`: `providers` (for icons), `refreshing`
 * (ids being refreshed), `onOpen(account)` (details), `onReconnect(account)`.
 */
export function renderAccounts(accounts, ctx) {
  const list = document.getElementById('accounts');
  document.getElementById('accounts-empty').hidden = accounts.length > 0;
  list.hidden = accounts.length === 0;
  const now = Date.now();
  const focused = document.activeElement?.closest?.('#accounts li[data-account-id]');
  const focusKey = focused && [focused.dataset.accountId, [...document.activeElement.classList].join('.')];
  list.replaceChildren(...accounts.map((a) => row(a, { ...ctx, now })));
  // Redrawing must not lose the keyboard user's place.
  if (focusKey) list.querySelector(`li[data-account-id="${focusKey[0]}"] ${focusKey[1] ? `.${focusKey[1]}` : 'button'}`)?.focus();
}

/** Updates only the times and badges (the minute ticker): nothing focusable is replaced. */
export function retimeAccounts(accounts, refreshing) {
  const now = Date.now();
  for (const a of accounts) {
    const li = document.querySelector(`#accounts li[data-account-id="${a.id}"]`);
    if (!li) continue;
    setText(li.querySelector('.account-expiry'), expiryText(a, now));
    const refreshed = li.querySelector('.account-refreshed');
    if (refreshed && a.refreshedAt) setText(refreshed, t('account.refreshed', { when: relative(a.refreshedAt, now) }));
    const badge = stateBadge(a, refreshing.has(a.id), now);
    const shown = li.querySelector('.account-state');
    if (shown.outerHTML !== badge.outerHTML) shown.replaceWith(badge);
  }
}

// Only what changed is touched: an unchanged label costs no layout or repaint, and a screen reader
// hears nothing new.
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
