// Entry point: loads state from the backend, renders the views, and follows backend events.
import * as backend from './backend.js';
import { language, onLanguageChange, setLanguage, t, translateStatic } from './i18n.js';
import { renderAccounts } from './views/accounts.js';
import { openDiagnostics } from './views/diagnose.js';
import { clear, show } from './views/message.js';
import { renderProviders } from './views/providers.js';
import { renderSignIn } from './views/signin.js';

const state = { providers: { providers: [], problems: [] }, accounts: [], refreshing: new Set(), loaded: false, finished: new Set(), signIn: null, link: null, copied: false };

const signInActions = { onBrowser: continueInBrowser, onCopy: copySignInLink, onCancel: cancelSignIn };

function renderPending() {
  renderSignIn(state.signIn, signInActions, state.link, state.copied);
}

/** A pending sign-in changed (started, handed to the browser, offered the browser). */
function setPending(pending) {
  if (state.signIn?.flowId !== pending?.flowId) {
    state.link = null;
    state.copied = false;
  }
  state.signIn = pending;
  renderPending();
}

async function continueInBrowser() {
  if (!state.signIn) return;
  try {
    setPending(await backend.continueInBrowser(state.signIn.flowId));
  } catch (e) {
    show('error', t('link.failed', { message: e.message }), e.code);
  }
}

async function copySignInLink() {
  if (!state.signIn) return;
  try {
    state.link = await backend.signInLink(state.signIn.flowId);
  } catch (e) {
    return show('error', t('link.failed', { message: e.message }), e.code);
  }
  try {
    await navigator.clipboard.writeText(state.link);
    state.copied = true;
  } catch {
    // No clipboard here (or no permission): the link is shown selected, to copy by hand.
    state.copied = false;
  }
  renderPending();
}

async function cancelSignIn() {
  if (!state.signIn) return;
  try {
    await backend.cancelSignIn(state.signIn.flowId);
  } catch (e) {
    show('error', e.message, e.code);
  }
}

function renderAccountList() {
  renderAccounts(state.accounts, { onDisconnect: doDisconnect, onRefresh: doRefresh, onDiagnose: openDiagnostics, refreshing: state.refreshing });
}

function render() {
  translateStatic();
  renderProviders(state.providers, startConnect);
  renderAccountList();
  renderPending();
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
    const pending = await backend.connect(provider.id, tenant);
    // The sign-in may have ended already (a window closed at once): only a pending one is shown.
    if (!state.finished.has(pending.flowId)) setPending(pending);
    if (pending.login === 'browser') show('info', t('link.waitingBrowser', { name: provider.name }));
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
  if (result.flowId) state.finished.add(result.flowId);
  if (result.flowId && state.signIn?.flowId === result.flowId) setPending(null);
  const provider = state.providers.providers.find((p) => p.id === result.providerId);
  const name = provider ? provider.name : result.providerId;
  if (!result.error) return show('success', t('link.done', { name }));
  const { code, message } = result.error;
  if (code === 'cancelled') return show('info', t('link.cancelled'), code);
  if (code === 'access_denied') return show('error', t('link.denied', { name }), code);
  if (!result.flowId) return show('error', t('link.stray', { message }), code);
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
  await backend.onEvent(backend.EVENTS.signInPending, (pending) => {
    // The panel says what happened (e.g. the provider refused the login window) and what to do.
    clear();
    setPending(pending);
  });
  state.providers = await backend.listProviders();
  await reloadAccounts();
  // Relative times ("in 59 min") age while the window is open; this re-renders text, it asks nothing.
  setInterval(renderAccountList, 30_000);
  document.body.dataset.ready = 'true';
}

start().catch((e) => show('error', String(e?.message ?? e)));
export { clear };
