// The login window is locked down: a hostile provider page gets no IPC, can't leave the provider's
// hosts, can't open windows, and every sign-in starts with a fresh browsing session.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import {
  accountIds, ARTIFACTS, backToMain, chooseLanguage, clickConnect, closeWindowLikeUser, decide, openApp, screenshot, signIn, switchToLoginWindow,
  TIMEOUT, waitForMessage,
} from './harness.mjs';

const LOGIN_TITLE = 'Sign in to Demo Provider';
// The login window's title follows the main window's language.
const LOGIN_TITLE_DE = 'Bei Demo Provider anmelden';

/** Opens the app for one test and quits it afterwards (closing a login window left open). */
async function session(ctx) {
  const driver = await openApp();
  ctx.cleanup = async () => {
    for (const title of [LOGIN_TITLE, LOGIN_TITLE_DE]) {
      try {
        closeWindowLikeUser(title);
      } catch {
        // No login window left: nothing to close.
      }
    }
    await driver.quit().catch(() => {});
  };
  return driver;
}

/** Opens a login window at the demo provider and loads the hostile test page in it. */
async function hostilePageInLoginWindow(ctx, driver) {
  await clickConnect(driver, 'demo');
  await switchToLoginWindow(driver);
  await driver.wait(until.elementLocated(By.id('username')), TIMEOUT);
  const page = new URL('_control/hostile-page', ctx.demoUrl).href;
  await driver.get(page);
  await driver.wait(until.elementLocated(By.id('hostile')), TIMEOUT);
  return page;
}

/** The cookie `name` the current page's site has set, or `null`. */
async function cookieNamed(driver, name) {
  return (await driver.manage().getCookies()).find((c) => c.name === name) ?? null;
}

/** The app's log so far (the run writes it to .artifacts/app.log). */
function appLog() {
  return readFileSync(join(ARTIFACTS, 'app.log'), 'utf8');
}

/** Waits until the app's log has a line matching `pattern`. */
async function waitForLog(driver, pattern, what) {
  await driver.wait(async () => pattern.test(appLog()), TIMEOUT, `the app's log does not say: ${what}`);
}

export const tests = [
  ['a page in the login window gets no IPC: app and plugin commands are refused', async (ctx) => {
    const driver = await session(ctx);
    await hostilePageInLoginWindow(ctx, driver);
    const outcomes = {};
    for (const id of ['ipc-app', 'ipc-plugin', 'ipc-webview']) {
      const out = await driver.wait(until.elementLocated(By.css(`#${id}:not([data-outcome="pending"])`)), TIMEOUT, `${id} never answered`);
      outcomes[id] = { outcome: await out.getAttribute('data-outcome'), text: await out.getText() };
    }
    console.log(`  IPC from the login window: ${JSON.stringify(outcomes)}`);
    for (const [id, { outcome, text }] of Object.entries(outcomes)) {
      assert.equal(outcome, 'refused', `${id} was allowed: ${text}`);
      assert.doesNotMatch(text, /demo@example\.test|"id"/, `${id} leaked data: ${text}`);
    }
    assert.equal((await driver.getAllWindowHandles()).length, 2, 'no webview was created from the login window');
    await screenshot(driver, 'login-window-hostile-page');
  }],

  ['the login window stays on the provider: unknown hosts, data:, file:, javascript:, blob: and redirects are refused', async (ctx) => {
    const driver = await session(ctx);
    const page = await hostilePageInLoginWindow(ctx, driver);
    for (const id of ['to-foreign', 'to-http', 'to-data', 'to-file', 'to-javascript', 'to-redirect', 'to-blob']) {
      await driver.findElement(By.id(id)).click();
      // Give a navigation time to happen, if it were going to.
      await driver.sleep(600);
      assert.equal(await driver.getCurrentUrl(), page, `${id} left the provider`);
      assert.equal((await driver.findElements(By.id('hostile'))).length, 1, `${id} replaced the page`);
      assert.equal((await driver.findElements(By.id('pwned'))).length, 0, `${id} loaded foreign content`);
    }
    await waitForLog(driver, /navigation refused.*host 'foreign\.invalid' is not one of the provider's/, 'the foreign host was refused');
    await waitForLog(driver, /navigation refused.*scheme 'data:'/, 'the data: URL was refused');
    await waitForLog(driver, /navigation refused.*scheme 'blob:'/, 'the blob: URL was refused');
    // The flow is still alive: the user can still sign in from here.
    assert.equal((await driver.getAllWindowHandles()).length, 2);
  }],

  ['new windows from the login window are denied: target=_blank and window.open', async (ctx) => {
    const driver = await session(ctx);
    const page = await hostilePageInLoginWindow(ctx, driver);
    await driver.findElement(By.id('to-blank')).click();
    await driver.findElement(By.id('open-window')).click();
    await driver.wait(async () => (await driver.findElement(By.id('open-result')).getText()) !== 'not tried', TIMEOUT);
    await driver.sleep(600);
    assert.equal(await driver.findElement(By.id('open-result')).getText(), 'blocked', 'window.open returned a window');
    assert.equal((await driver.getAllWindowHandles()).length, 2, 'a new window appeared');
    assert.equal(await driver.getCurrentUrl(), page);
    await waitForLog(driver, /new window refused/, 'the new window was refused');
  }],

  ['a second sign-in at the same provider starts with a fresh session', async (ctx) => {
    const driver = await session(ctx);
    const before = await accountIds(driver);
    await clickConnect(driver, 'demo');
    await switchToLoginWindow(driver);
    await signIn(driver);
    await driver.wait(until.elementLocated(By.id('approve')), TIMEOUT);
    const cookie = await cookieNamed(driver, 'demo_session');
    assert.ok(cookie?.value, 'the provider remembered the sign-in with a session cookie');
    await decide(driver, 'approve');
    await backToMain(driver);
    await waitForMessage(driver, 'success');
    assert.equal((await accountIds(driver)).length, before.length + 1);

    const resumedBefore = (await (await fetch(new URL('_control/stats', ctx.demoUrl))).json()).sessions_resumed;
    await clickConnect(driver, 'demo');
    await switchToLoginWindow(driver);
    await driver.wait(until.elementLocated(By.id('username')), TIMEOUT, 'the second sign-in did not show the login form');
    assert.equal((await driver.findElements(By.id('approve'))).length, 0, 'the consent page came without a login');
    assert.equal(await cookieNamed(driver, 'demo_session'), null, 'the first sign-in\'s cookie is gone');
    const stats = await (await fetch(new URL('_control/stats', ctx.demoUrl))).json();
    assert.equal(stats.sessions_resumed, resumedBefore, 'the provider saw no session cookie');
    await screenshot(driver, 'login-window-second-sign-in');
    closeWindowLikeUser(LOGIN_TITLE);
    await backToMain(driver);
    await waitForMessage(driver, 'info', 'cancelled');
  }],

  ["nothing of a sign-in survives it, and the app's own settings do", async (ctx) => {
    let driver = await session(ctx);
    await chooseLanguage(driver, 'de');
    const remembered = async () => driver.findElement(By.id('remembered')).getText();
    await hostilePageInLoginWindow(ctx, driver);
    assert.equal(await remembered(), 'nothing');
    await driver.navigate().refresh();
    await driver.wait(until.elementLocated(By.id('hostile')), TIMEOUT);
    assert.equal(await remembered(), 'yes', 'local storage works during a sign-in');
    closeWindowLikeUser(LOGIN_TITLE_DE);
    await backToMain(driver);
    await waitForMessage(driver, 'info', 'cancelled');
    await hostilePageInLoginWindow(ctx, driver);
    assert.equal(await remembered(), 'nothing', 'the provider\'s local storage outlived its sign-in');
    closeWindowLikeUser(LOGIN_TITLE_DE);
    await backToMain(driver);
    await ctx.cleanup();
    driver = await session(ctx);
    assert.equal(await driver.findElement(By.id('accounts-heading')).getText(), 'IHRE KONTEN', 'the app kept its language');
    await chooseLanguage(driver, 'en');
  }],

  ['a new sign-in replaces the open one: one login window at a time', async (ctx) => {
    const driver = await session(ctx);
    await clickConnect(driver, 'demo');
    const first = await switchToLoginWindow(driver);
    await driver.wait(until.elementLocated(By.id('username')), TIMEOUT);
    await driver.switchTo().window(driver.mainHandle);
    await clickConnect(driver, 'demo');
    await waitForMessage(driver, 'info', 'cancelled');
    let handles = [];
    await driver.wait(async () => {
      handles = await driver.getAllWindowHandles();
      return handles.length === 2 && !handles.includes(first);
    }, TIMEOUT, 'the first login window is still open');
    await switchToLoginWindow(driver);
    await driver.wait(until.elementLocated(By.id('username')), TIMEOUT);
    closeWindowLikeUser(LOGIN_TITLE);
    await backToMain(driver);
  }],
];
