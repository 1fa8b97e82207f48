// The system-browser path: a sign-in started in the app continues in the default browser (a script that
// records the links it is asked to open; the test then plays the user's browser over HTTP), and the
// provider's redirect comes back the way the OS delivers it: the app binary started a second time with
// the URL, which the running app receives through the single-instance plugin. Also: a provider that
// refuses the login window (Google's disallowed_useragent, at the Zählerfreunde emulator) gets the
// hand-off offered by itself, and a redirect that belongs to no sign-in is refused with nothing stored.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { By, until } from 'selenium-webdriver';
import {
  APP, ARTIFACTS, TIMEOUT, accountIds, backToMain, clickConnect, openApp, screenshot, signInOverHttp, storedTokens,
  switchToLoginWindow, waitForMessage, session,
} from './harness.mjs';

/** The links the fake default browser was asked to open so far. */
function opened(ctx) {
  return existsSync(ctx.browserLog) ? readFileSync(ctx.browserLog, 'utf8').split('\n').filter(Boolean) : [];
}

/** Waits until the fake browser was asked to open one more link than `before`; returns it. */
async function nextOpened(driver, ctx, before) {
  await driver.wait(async () => opened(ctx).length > before, TIMEOUT, 'the browser was not opened');
  return opened(ctx).at(-1);
}

/** Starts the app binary with `url`, as the desktop does when the browser is sent to the app's scheme. */
function deliverAsTheOsDoes(ctx, url) {
  const started = Date.now();
  execFileSync(APP, [url], { env: { ...process.env, ACCOUNT_LINKER_HOME: ctx.home, ACCOUNT_LINKER_DEMO_URL: ctx.demoUrl }, timeout: 30_000 });
  return Date.now() - started;
}

/** The sign-in panel of the main window, once it shows `place` (window or browser). */
async function signInPanel(driver, place) {
  return driver.wait(until.elementLocated(By.css(`#signin:not([hidden])[data-place="${place}"]`)), TIMEOUT, `no sign-in panel (${place})`);
}

async function zfControl(ctx, how) {
  const res = await fetch(new URL('_control/refuse-embedded', ctx.zfUrl), { method: 'POST', body: JSON.stringify({ as: how }) });
  assert.equal(res.status, 204, `refuse-embedded ${how}`);
}

function appLog() {
  const file = join(ARTIFACTS, 'app.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

export const tests = [
  ['continues a sign-in in the browser and finishes it through the app\'s URI scheme (second instance)', async (ctx) => {
    const driver = await session(ctx);
    const before = await accountIds(driver);
    const openedBefore = opened(ctx).length;
    await clickConnect(driver, 'demo');
    await switchToLoginWindow(driver);
    await driver.wait(until.elementLocated(By.id('username')), TIMEOUT);
    await driver.switchTo().window(driver.mainHandle);
    const panel = await signInPanel(driver, 'window');
    assert.match(await panel.findElement(By.css('.signin-title')).getText(), /Signing in at Demo Provider \(127\.0\.0\.1\)/);
    const flowId = await panel.getAttribute('data-flow-id');

    // Copy sign-in link: the same link the browser gets (the clipboard may be unavailable under Xvfb; the
    // link is shown selected either way).
    await panel.findElement(By.css('button.copy-link')).click();
    const shown = await driver.wait(until.elementLocated(By.css('#signin input.signin-link')), TIMEOUT);
    const copied = await shown.getAttribute('value');
    assert.match(copied, /^http:\/\/127\.0\.0\.1:\d+\/authorize\?.*state=/);

    await driver.findElement(By.css('#signin button.continue-in-browser')).click();
    await backToMain(driver);
    const link = await nextOpened(driver, ctx, openedBefore);
    assert.equal(link, copied, 'the browser got the same flow: same state, same PKCE challenge');
    const browserPanel = await signInPanel(driver, 'browser');
    assert.equal(await browserPanel.getAttribute('data-flow-id'), flowId, 'closing the login window did not cancel the flow');
    assert.equal(await browserPanel.getAttribute('data-handed-off'), 'user');
    await screenshot(driver, 'signin-in-browser');

    const redirect = await signInOverHttp(link);
    // Checked without printing it: the redirect carries an authorization code.
    assert.ok(/^org\.accountlinker\.app:\/oauth2\/demo\?code=.*&state=/.test(redirect), 'a redirect to the demo path with code and state');
    const ms = deliverAsTheOsDoes(ctx, redirect);
    console.log(`  second instance with the redirect exited after ${ms} ms`);
    const msg = await waitForMessage(driver, 'success');
    assert.match(msg.text, /Demo Provider account is linked/);
    await driver.wait(async () => (await accountIds(driver)).length === before.length + 1, TIMEOUT);
    const id = (await accountIds(driver)).find((x) => !before.includes(x));
    assert.ok(storedTokens(ctx.home, id)?.refresh_token?.startsWith('demo_rt_'), 'the keyring holds the refresh token');
    assert.equal(await driver.findElement(By.id('signin')).isDisplayed(), false, 'the panel is gone');
    const code = new URL(redirect.replace('org.accountlinker.app:', 'http://x')).searchParams.get('code');
    assert.ok(!appLog().includes(code), 'the redirect\'s code is not in the app log');
  }],

  ['a redirect that starts the app (its sign-in ended with the app closed) is refused, and told once the window is up', async (ctx) => {
    const accountsFile = join(ctx.home, 'accounts.json');
    const fileBefore = existsSync(accountsFile) ? readFileSync(accountsFile, 'utf8') : null;
    const driver = await session(ctx, ['org.accountlinker.app:/oauth2/demo?code=EARLYCODE7&state=gone-state']);
    const msg = await waitForMessage(driver, 'error', 'no_pending_flow');
    assert.match(msg.text, /refused, and nothing was stored/);
    assert.equal(existsSync(accountsFile) ? readFileSync(accountsFile, 'utf8') : null, fileBefore, 'the account file is unchanged');
    assert.ok(!appLog().includes('EARLYCODE7'), 'the code is not in the app log');
  }],

  ['a redirect that belongs to no sign-in is refused in words, recorded, and nothing is stored', async (ctx) => {
    const driver = await session(ctx);
    const before = await accountIds(driver);
    const accountsFile = join(ctx.home, 'accounts.json');
    const fileBefore = existsSync(accountsFile) ? readFileSync(accountsFile, 'utf8') : null;
    deliverAsTheOsDoes(ctx, 'org.accountlinker.app:/oauth2/demo?code=STRAYCODE42&state=nobodys-state');
    const msg = await waitForMessage(driver, 'error', 'no_pending_flow');
    assert.match(msg.text, /refused, and nothing was stored/);
    assert.deepEqual(await accountIds(driver), before);
    assert.equal(existsSync(accountsFile) ? readFileSync(accountsFile, 'utf8') : null, fileBefore, 'the account file is unchanged');
    const env = { ...process.env, ACCOUNT_LINKER_HOME: ctx.home, ACCOUNT_LINKER_DEMO_URL: ctx.demoUrl };
    const log = JSON.parse(execFileSync(APP, ['log', 'app', '--json'], { env, encoding: 'utf8' }));
    const refused = log.entries.filter((e) => e.event?.kind === 'callbackRefused' || e.kind === 'callbackRefused');
    assert.ok(refused.length >= 1, `the app timeline records the refusal: ${JSON.stringify(log.entries.slice(-3))}`);
    const text = JSON.stringify(log) + appLog();
    assert.ok(!text.includes('STRAYCODE42') && !text.includes('nobodys-state'), 'the stray URL\'s code and state are not recorded');
    // The app registered its scheme with the desktop when it started: an entry with an unquoted Exec line.
    const handler = execFileSync('xdg-mime', ['query', 'default', 'x-scheme-handler/org.accountlinker.app'], { encoding: 'utf8' }).trim();
    assert.equal(handler, 'org.accountlinker.AccountLinker-handler.desktop');
    const entry = readFileSync(join(process.env.XDG_DATA_HOME, 'applications', handler), 'utf8');
    assert.ok(entry.includes(`\nExec=${APP} %u\n`), entry);
  }],

  ['the app offers the browser by itself when the provider refuses the login window (Google: disallowed_useragent)', async (ctx) => {
    const driver = await session(ctx);
    await zfControl(ctx, 'google');
    try {
      const before = await accountIds(driver);
      const openedBefore = opened(ctx).length;
      await clickConnect(driver, 'zaehlerfreunde');
      // The login window opens, meets Google's refusal, and closes without cancelling.
      const panel = await driver.wait(until.elementLocated(By.css('#signin[data-handed-off="embedded_refused"]')), TIMEOUT, 'no hand-off offer');
      await backToMain(driver);
      assert.match(await panel.getText(), /Zählerfreunde does not allow signing in inside apps/);
      assert.equal(opened(ctx).length, openedBefore, 'the browser is offered, not opened unasked');
      await screenshot(driver, 'signin-refused-embedded');
      await driver.findElement(By.css('#signin button.continue-in-browser')).click();
      const link = await nextOpened(driver, ctx, openedBefore);
      assert.ok(link.startsWith(ctx.zfUrl), link);
      const redirect = await signInOverHttp(link);
      assert.ok(/^org\.accountlinker\.app:\/oauth2\/zaehlerfreunde\?code=/.test(redirect), 'a redirect to the Zählerfreunde path with a code');
      deliverAsTheOsDoes(ctx, redirect);
      await waitForMessage(driver, 'success');
      await driver.wait(async () => (await accountIds(driver)).length === before.length + 1, TIMEOUT);
      const id = (await accountIds(driver)).find((x) => !before.includes(x));
      assert.ok(storedTokens(ctx.home, id)?.refresh_token?.startsWith('zf_rt_'));
    } finally {
      await zfControl(ctx, 'off');
    }
  }],

  ['Auth0 relaying the refusal as an error redirect is recognised too, and Cancel ends the offer', async (ctx) => {
    const driver = await session(ctx);
    await zfControl(ctx, 'auth0');
    try {
      const before = await accountIds(driver);
      await clickConnect(driver, 'zaehlerfreunde');
      await driver.wait(until.elementLocated(By.css('#signin[data-handed-off="embedded_refused"]')), TIMEOUT, 'no hand-off offer');
      await backToMain(driver);
      await driver.findElement(By.css('#signin button.cancel-sign-in')).click();
      await waitForMessage(driver, 'info', 'cancelled');
      assert.equal(await driver.findElement(By.id('signin')).isDisplayed(), false);
      assert.deepEqual(await accountIds(driver), before);
    } finally {
      await zfControl(ctx, 'off');
    }
  }],

  ['a provider set to login = "browser" skips the login window altogether', async (ctx) => {
    const file = join(ctx.home, 'providers.toml');
    const original = readFileSync(file, 'utf8');
    assert.match(original, /id = "zaehlerfreunde"\n/);
    writeFileSync(file, original.replace('id = "zaehlerfreunde"\n', 'id = "zaehlerfreunde"\nlogin = "browser"\n'));
    ctx.cleanup = async () => writeFileSync(file, original);
    const driver = await openApp();
    const quit = ctx.cleanup;
    ctx.cleanup = async () => {
      await driver.quit().catch(() => {});
      await quit();
    };
    const before = await accountIds(driver);
    const openedBefore = opened(ctx).length;
    await clickConnect(driver, 'zaehlerfreunde');
    const link = await nextOpened(driver, ctx, openedBefore);
    await signInPanel(driver, 'browser');
    assert.equal((await driver.getAllWindowHandles()).length, 1, 'no login window');
    deliverAsTheOsDoes(ctx, await signInOverHttp(link));
    await waitForMessage(driver, 'success');
    await driver.wait(async () => (await accountIds(driver)).length === before.length + 1, TIMEOUT);
  }],
];
