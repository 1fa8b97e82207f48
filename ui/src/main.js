// Entry point: loads state from the backend, renders the views, and follows backend events.
import * as backend from './backend.js';
import { language, onLanguageChange, setLanguage, t, translateStatic } from './i18n.js';
import { renderAccounts } from './views/accounts.js';
import { openDiagnostics } from './views/diagnose.js';
import { clear, show } from './views/message.js';
import { renderProviders } from './views/providers.js';

const state = { providers: { providers: [], problems: [] }, accounts: [], refreshing: new Set(), loaded: false };

function renderAccountList() {
  renderAccounts(state.accounts, { onDisconnect: doDisconnect, onRefresh: doRefresh, onDiagnose: openDiagnostics, refreshing: state.refreshing });
}

function render() {
  translateStatic();
  renderProviders(state.providers, startConnect);
  renderAccountList();
}

async function reloadAccounts() {
  try {
    const accounts = await backend.listAccounts();
    // The same change can be announced twice (by the action and by the account file): an unchanged list
    // is not drawn again, so nothing flickers and no element the user is on is replaced.
    const unchanged = state.loaded && state.refreshing.size === 0 && JSON.stringify(accounts) === JSON.stringify(state.accounts);
    state.accounts = accounts;
    state.refreshing.clear();
    state.loaded = true;
    if (unchanged) return;
  } catch (e) {
    show('error', t('accounts.loadFailed', { message: e.message }), e.code);
  }
  render();
}

async function startConnect(provider, tenant) {
  show('info', t('link.waiting', { name: provider.name }));
  try {
    await backend.connect(provider.id, tenant);
  } catch (e) {
    show('error', t('link.failed', { message: e.message }), e.code);
  }
}

async function doDisconnect(account, name) {
  try {
    await backend.disconnect(account.id);
    show('success', t('account.disconnected', { name }));
  } catch (e) {
    show('error', e.message, e.code);
  }
  await reloadAccounts();
}

async function doRefresh(account, name) {
  state.refreshing.add(account.id);
  renderAccountList();
  try {
    await backend.refreshAccount(account.id);
    show('success', t('account.refreshDone', { name }));
  } catch (e) {
    show('error', t('account.refreshFailed', { name, message: e.message }), e.code);
  }
  await reloadAccounts();
}

function onRefreshing(accountId) {
  state.refreshing.add(accountId);
  renderAccountList();
}

function onLinkFinished(result) {
  const provider = state.providers.providers.find((p) => p.id === result.providerId);
  const name = provider ? provider.name : result.providerId;
  if (!result.error) return show('success', t('link.done', { name }));
  const { code, message } = result.error;
  if (code === 'cancelled') return show('info', t('link.cancelled'), code);
  if (code === 'access_denied') return show('error', t('link.denied', { name }), code);
  show('error', t('link.failed', { message }), code);
}

async function start() {
  const select = document.getElementById('language');
  select.value = language();
  document.documentElement.lang = language();
  select.addEventListener('change', () => setLanguage(select.value));
  onLanguageChange(render);
  await backend.onEvent(backend.EVENTS.accountsChanged, reloadAccounts);
  await backend.onEvent(backend.EVENTS.linkFinished, onLinkFinished);
  await backend.onEvent(backend.EVENTS.accountRefreshing, onRefreshing);
  state.providers = await backend.listProviders();
  await reloadAccounts();
  // Relative times ("in 59 min") age while the window is open; this re-renders text, it asks nothing.
  setInterval(renderAccountList, 30_000);
  document.body.dataset.ready = 'true';
}

start().catch((e) => show('error', String(e?.message ?? e)));
export { clear };
