// Entry point: loads state from the backend, draws the views, follows the backend's events (no
// polling), and wires the actions. Each view lives in one file under views/.
import * as backend from './backend.js';
import { everyMinute } from './clock.js';
import { h } from './dom.js';
import { language, onLanguageChange, setLanguage, t, translateStatic } from './i18n.js';
import { renderAccounts, retimeAccounts } from './views/accounts.js';
import { confirmDialog } from './views/confirm.js';
import { detailsAccountId, openDetails, renderDetails, setUpDetails } from './views/details.js';
import { openDiagnostics } from './views/diagnose.js';
import { clear, show } from './views/message.js';
import { openPicker, renderPicker, setUpPicker } from './views/picker.js';
import { renderSignIn } from './views/signin.js';

const state = { providers: { providers: [], problems: [] }, accounts: [], refreshing: new Set(), loaded: false, finished: new Set(), signIn: null, link: null, copied: false };
const getAccount = (id) => state.accounts.find((a) => a.id === id);

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

function renderAccountViews() {
  const providers = state.providers.providers;
  renderAccounts(state.accounts, { providers, refreshing: state.refreshing, onOpen: showDetails, onReconnect: doReconnect });
  renderDetails(state.accounts, providers, state.refreshing);
}

function renderProblems() {
  const { problems } = state.providers;
  const box = document.getElementById('config-problems');
  box.hidden = problems.length === 0;
  // Folded: the lines are for whoever edits providers.toml; opening stays open across redraws.
  const open = box.querySelector('details')?.open;
  box.replaceChildren(
    h('details', { open }, h('summary', {}, t('providers.problems', { n: problems.length })), h('ul', {}, ...problems.map((line) => h('li', {}, line)))),
  );
}

function render() {
  translateStatic();
  document.getElementById('language').value = language();
  renderProblems();
  renderPicker(state.providers.providers);
  renderAccountViews();
  renderPending();
}

/** Reads the account list (or takes one already asked for) and draws what changed. */
async function reloadAccounts(asked = backend.listAccounts()) {
  try {
    const accounts = await asked;
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
  renderAccountViews();
}

function showDetails(account) {
  openDetails(account, getAccount, { reconnect: doReconnect, refresh: doRefresh, diagnose: openDiagnostics, disconnect: doDisconnect });
  renderDetails(state.accounts, state.providers.providers, state.refreshing);
}

/** Starts a sign-in (`begin` asks the backend) at the provider called `name`, and follows it. */
async function beginSignIn(name, waitingKey, begin) {
  show('info', t(waitingKey, { name }));
  try {
    const pending = await begin();
    // The sign-in may have ended already (a window closed at once): only a pending one is shown.
    if (!state.finished.has(pending.flowId)) setPending(pending);
    if (pending.login === 'browser') show('info', t('link.waitingBrowser', { name }));
  } catch (e) {
    show('error', t('link.failed', { message: e.message }), e.code);
  }
}

const startConnect = (provider, tenant) =>
  beginSignIn(provider.name, 'link.waiting', () => backend.connect(provider.id, tenant, language()));

const doReconnect = (account) =>
  beginSignIn(account.providerName, 'link.waitingReconnect', () => backend.reconnect(account.id, language()));

async function doDisconnect(account, name) {
  const yes = await confirmDialog({
    title: t('confirm.disconnectTitle', { name }),
    text: t('confirm.disconnectText', { name, provider: account.providerName }),
    yes: t('account.confirmYes'),
    no: t('account.cancel'),
  });
  if (!yes) return;
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
  renderAccountViews();
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
  renderAccountViews();
}

function providerName(id) {
  return state.providers.providers.find((p) => p.id === id)?.name ?? id;
}

function onLinkFinished(result) {
  if (result.flowId) state.finished.add(result.flowId);
  if (result.flowId && state.signIn?.flowId === result.flowId) setPending(null);
  const name = providerName(result.providerId);
  if (!result.error) return show('success', t(result.reconnect ? 'link.reconnected' : 'link.done', { name }));
  const { code, message } = result.error;
  if (code === 'cancelled') return show('info', t('link.cancelled'), code);
  if (code === 'access_denied') return show('error', t('link.denied', { name }), code);
  if (code === 'different_account') return show('error', t('link.differentAccount', { message }), code);
  if (!result.flowId) return show('error', t('link.stray', { message }), code);
  show('error', t('link.failed', { message }), code);
}

function onLoginLoadFailed({ providerId, host, kind }) {
  show('error', `${t(`login.failed.${kind}`, { host, name: providerName(providerId) })} ${t('login.failedHint')}`, 'load_failed');
}

// The script runs as soon as it has loaded (`async` in index.html), while the page may still be parsed
// and styled: what the first render needs is asked for at once, and drawing waits for the page. Events
// that arrive before the first drawing are handled, in order, after it (so an older list never
// replaces a newer one).
const pageReady = document.readyState === 'loading'
  ? new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }))
  : Promise.resolve();
let firstDrawn;
const drawn = new Promise((resolve) => { firstDrawn = resolve; });
const whenReady = (handler) => (payload) => drawn.then(() => handler(payload));

async function start() {
  // The listeners, the provider list and the accounts together: one IPC round trip's wait, not seven.
  const listening = Promise.all([
    backend.onEvent(backend.EVENTS.accountsChanged, whenReady(() => reloadAccounts())),
    backend.onEvent(backend.EVENTS.linkFinished, whenReady(onLinkFinished)),
    backend.onEvent(backend.EVENTS.accountRefreshing, whenReady(onRefreshing)),
    backend.onEvent(backend.EVENTS.loginLoadFailed, whenReady(onLoginLoadFailed)),
    backend.onEvent(backend.EVENTS.signInPending, whenReady((pending) => {
      // The panel says what happened (e.g. the provider refused the login window) and what to do.
      clear();
      setPending(pending);
    })),
  ]);
  const [providers, accounts] = [backend.listProviders(), backend.listAccounts()];
  // Failures are handled where they are awaited, after the page is ready; until then they are expected.
  for (const asked of [listening, providers, accounts]) asked.catch(() => {});
  await pageReady;
  const select = document.getElementById('language');
  document.documentElement.lang = language();
  select.addEventListener('change', () => setLanguage(select.value));
  onLanguageChange(render);
  setUpPicker(startConnect);
  setUpDetails();
  for (const id of ['add-account', 'add-first']) document.getElementById(id).addEventListener('click', openPicker);
  [state.providers] = await Promise.all([providers, listening]);
  render();
  await reloadAccounts(accounts);
  firstDrawn();
  for (const outcome of await backend.startupOutcomes()) onLinkFinished(outcome);
  // Relative times age while the window is open: once a minute, aligned, asleep while hidden.
  everyMinute(() => {
    retimeAccounts(state.accounts, state.refreshing);
    if (detailsAccountId()) renderDetails(state.accounts, state.providers.providers, state.refreshing);
  });
  document.body.dataset.ready = 'true';
}

start()
  .catch((e) => show('error', String(e?.message ?? e)))
  .finally(firstDrawn);
export { clear };
