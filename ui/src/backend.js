// The one module that talks to the Rust side: commands and events. Views import from here only.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';

/** Event names, as defined in src-tauri/src/ipc/mod.rs. */
export const EVENTS = Object.freeze({
  accountsChanged: 'accounts-changed',
  accountRefreshing: 'account-refreshing',
  linkFinished: 'link-finished',
  loginLoadFailed: 'login-load-failed',
  signInPending: 'sign-in-pending',
});

export const listProviders = () => invoke('list_providers');
export const listAccounts = () => invoke('list_accounts');
/** Opens the login window; `language` is the UI's, for the login window's title and error page. */
export const connect = (providerId, tenant, language) => invoke('connect', { providerId, tenant: tenant || null, language });
export const reconnect = (accountId, language) => invoke('reconnect', { accountId, language });
export const continueInBrowser = (flowId) => invoke('continue_in_browser', { flowId });
export const signInLink = (flowId) => invoke('sign_in_link', { flowId });
export const cancelSignIn = (flowId) => invoke('cancel_sign_in', { flowId });
/** How sign-ins ended before the window listened (e.g. a browser's redirect that started the app). */
export const startupOutcomes = () => invoke('startup_outcomes');
export const disconnect = (accountId) => invoke('disconnect', { accountId });
export const refreshAccount = (accountId) => invoke('refresh_account', { accountId });
export const onEvent = (name, handler) => listen(name, (e) => handler(e.payload));
export const accountReport = (accountId) => invoke('account_report', { accountId });
export const testApiCall = (accountId) => invoke('test_api_call', { accountId });
export const saveReport = (accountId, text) => invoke('save_report', { accountId, text });
