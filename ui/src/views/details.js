// One account in detail: who and where, scopes granted, tenant, when it was linked, last and next
// refresh, access expiry; actions Reconnect, Refresh now, Diagnostics (the support staff's dialog) and
// Disconnect (after a confirmation). It follows live changes while open.
import { h } from '../dom.js';
import { openDialog, closeDialog } from '../dialogs.js';
import { absolute, relative, t } from '../i18n.js';
import { providerIcon } from '../icons.js';
import { canRefresh } from '../status.js';
import { accountName, expiryText, problem, stateBadge } from './accounts.js';

const dialog = () => document.getElementById('details');
/** The action buttons' words, by action (drawn again when the language changes). */
const LABELS = Object.freeze({ reconnect: 'account.reconnect', refresh: 'account.refresh', diagnose: 'account.diagnose', disconnect: 'account.disconnect' });
let shown = null; // { id, actions }

function when(unixSeconds, now) {
  return h('time', { datetime: new Date(unixSeconds * 1000).toISOString(), title: absolute(unixSeconds) }, `${absolute(unixSeconds)} (${relative(unixSeconds, now)})`);
}

function nextRefresh(a, refreshing, now) {
  if (refreshing) return t('details.refreshingNow');
  if (a.nextRefreshAt != null) return when(a.nextRefreshAt, now);
  if (a.state.kind !== 'connected') return t('details.noRefreshReconnect');
  if (!a.hasRefreshToken) return t('details.noRefreshGrant');
  return t('details.noRefreshPlanned');
}

function facts(a, refreshing, now) {
  const rows = [
    ['details.provider', a.providerName, 'fact-provider'],
    a.tenant ? ['details.tenant', a.tenant, 'fact-tenant'] : null,
    ['details.scopes', a.scopes.length ? h('span', {}, ...a.scopes.map((s) => h('code', { class: 'scope' }, s))) : t('details.noScopes'), 'fact-scopes'],
    ['details.linked', when(a.linkedAt, now), 'fact-linked'],
    ['details.lastRefresh', a.refreshedAt ? when(a.refreshedAt, now) : t('details.never'), 'fact-last-refresh'],
    ['details.nextRefresh', nextRefresh(a, refreshing, now), 'fact-next-refresh'],
    ['details.expires', expiryText(a, now), 'fact-expires'],
  ];
  return h('dl', { class: 'facts' }, ...rows.filter(Boolean).flatMap(([k, v, cls]) => [h('dt', {}, t(k)), h('dd', { class: cls }, v)]));
}

/** Draws the open dialog's content for `account` (or closes it when the account is gone). */
export function renderDetails(accounts, providers, refreshing) {
  if (!shown || !dialog().open) return;
  const a = accounts.find((x) => x.id === shown.id);
  if (!a) return closeDialog(dialog());
  const now = Date.now();
  const d = dialog();
  const busy = refreshing.has(a.id);
  d.dataset.accountId = a.id;
  const provider = providers.find((p) => p.id === a.providerId) ?? { icon: 'generic' };
  d.querySelector('.details-icon').replaceChildren(providerIcon(provider, 48));
  d.querySelector('#details-title').textContent = accountName(a);
  d.querySelector('.details-state').replaceChildren(stateBadge(a, busy, now));
  d.querySelector('.details-problem').replaceChildren(problem(a) ?? '');
  d.querySelector('.details-facts').replaceChildren(facts(a, busy, now));
  for (const [action, key] of Object.entries(LABELS)) shown.actions[action].textContent = t(key);
  const { refresh, reconnect } = shown.actions;
  refresh.hidden = !canRefresh(a);
  refresh.disabled = busy;
  reconnect.classList.toggle('primary', a.state.kind !== 'connected');
}

/**
 * Opens the details of `account`. `actions` are `{ reconnect, refresh, diagnose, disconnect }`, each
 * called with the account (as it is when clicked) and its name.
 */
export function openDetails(account, getAccount, actions) {
  const d = dialog();
  const call = (fn) => () => {
    const a = getAccount(account.id);
    if (a) fn(a, accountName(a));
  };
  const classes = { reconnect: 'reconnect', refresh: 'refresh', diagnose: 'diagnose', disconnect: 'danger disconnect' };
  const buttons = Object.fromEntries(
    Object.entries(LABELS).map(([action, key]) => [action, h('button', { type: 'button', class: classes[action], onClick: call(actions[action]) }, t(key))]),
  );
  const { disconnect, ...others } = buttons;
  d.querySelector('.details-actions').replaceChildren(...Object.values(others));
  d.querySelector('.details-danger').replaceChildren(disconnect);
  shown = { id: account.id, actions: buttons };
  openDialog(d, '.close-details');
}

/** Wires the close button once. */
export function setUpDetails() {
  const d = dialog();
  d.querySelector('.close-details').addEventListener('click', () => closeDialog(d));
  d.addEventListener('close', () => {
    shown = null;
  });
}

/** The id of the account whose details are open, if any. */
export const detailsAccountId = () => (dialog().open ? shown?.id : null);
