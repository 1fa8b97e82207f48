// The walking skeleton's user path: link the demo account through the embedded login window, restart,
// disconnect; and the ways a sign-in can end badly (window closed, consent denied, forged state).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { By } from 'selenium-webdriver';
import {
  APP, ARTIFACTS, accountIds, backToMain, chooseLanguage, clickConnect, closeWindowLikeUser, decide, demoControl, disconnectAccount,
  openDetails, screenshot, signIn, signInThroughWindow, storedTokens, switchToLoginWindow, waitForDialog, waitForMessage, session,
} from './harness.mjs';

export const tests = [
  ['lists the demo provider and invites a first link', async (ctx) => {
    const driver = await session(ctx);
    assert.equal(await driver.findElement(By.id('accounts-empty')).isDisplayed(), true);
    await driver.findElement(By.id('add-first')).click();
    await waitForDialog(driver, 'picker');
    const provider = await driver.findElement(By.css('#picker-list li[data-provider-id="demo"]'));
    assert.match(await provider.getText(), /Demo Provider/);
    await driver.findElement(By.id('picker-cancel')).click();
    await waitForDialog(driver, 'picker', false);
    assert.deepEqual(await accountIds(driver), []);
    const problems = await driver.findElement(By.id('config-problems'));
    assert.equal(await problems.isDisplayed(), true, 'a broken providers.toml entry is shown');
    // Folded to one line; the user opens it to read why.
    await problems.findElement(By.css('summary')).click();
    assert.match(await problems.getText(), /providers\.toml:\d+: provider 'broken', field 'authorize_url': .*not loopback/);
    await screenshot(driver, 'main-empty-en');
  }],

  ['links the demo account through the embedded login window', async (ctx) => {
    const driver = await session(ctx);
    await clickConnect(driver, 'demo');
    await switchToLoginWindow(driver);
    assert.match(await driver.getCurrentUrl(), /^http:\/\/127\.0\.0\.1:\d+\/authorize\?/);
    assert.match(await driver.findElement(By.id('demo-credentials')).getText(), /demo/);
    assert.match(await driver.getTitle(), /Sign in/);
    await screenshot(driver, 'login-window');
    await signIn(driver);
    await decide(driver, 'approve');
    await backToMain(driver);
    const msg = await waitForMessage(driver, 'success');
    assert.match(msg.text, /Demo Provider account is linked/);
    const ids = await accountIds(driver);
    assert.equal(ids.length, 1);
    const card = await driver.findElement(By.css(`#accounts li[data-account-id="${ids[0]}"]`));
    assert.equal(await card.findElement(By.css('.account-state')).getText(), 'Connected');
    assert.equal(await card.findElement(By.css('.account-name')).getText(), 'demo@example.test');
    assert.match(await card.findElement(By.css('.account-expiry')).getText(), /Access expires in (59|60) min/);
    const refresh = storedTokens(ctx.home, ids[0])?.refresh_token;
    assert.ok(refresh && refresh.startsWith('demo_rt_'), 'the keyring holds the refresh token');
    assert.ok(storedTokens(ctx.home, ids[0])?.access_token?.startsWith('demo_at_'));
    ctx.accountId = ids[0];
    await screenshot(driver, 'main-linked-en');
  }],

  ['keeps the account after a restart', async (ctx) => {
    const driver = await session(ctx);
    assert.deepEqual(await accountIds(driver), [ctx.accountId]);
    const state = await driver.findElement(By.css(`li[data-account-id="${ctx.accountId}"] .account-state`));
    assert.equal(await state.getText(), 'Connected');
  }],

  ["shows an account's details and diagnostics, never a secret", async (ctx) => {
    const driver = await session(ctx);
    const tokensNow = () => storedTokens(ctx.home, ctx.accountId);
    const linked = tokensNow();
    const secrets = ['access_token', 'refresh_token', 'id_token'].map((k) => linked?.[k]).filter(Boolean);
    assert.ok(secrets.length >= 2, 'the tokens are in the keyring');
    const details = await openDetails(driver, ctx.accountId);
    await details.findElement(By.css('button.diagnose')).click();
    await waitForDialog(driver, 'diagnose');
    const dialog = await driver.findElement(By.id('diagnose'));
    await driver.wait(async () => (await dialog.findElements(By.css('.timeline li'))).length >= 4, 20_000);
    const kinds = await Promise.all((await dialog.findElements(By.css('.timeline li'))).map((li) => li.getAttribute('data-kind')));
    for (const kind of ['flowStarted', 'redirectReceived', 'codeExchange', 'stateChanged']) assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
    const text = await dialog.getText();
    const fp = createHash('sha256').update(linked.refresh_token).digest('hex').slice(0, 8);
    assert.match(text, new RegExp(`fingerprint ${fp}`), 'the refresh token is shown by its fingerprint');
    assert.match(text, /Keyring\s*write, read and delete ok/);
    assert.match(text, /Code exchanged — HTTP 200/);
    await dialog.findElement(By.css('button.test-api')).click();
    await driver.wait(async () => /HTTP 200/.test(await dialog.findElement(By.css('.diagnose-status')).getText()), 20_000);
    await driver.wait(async () => (await dialog.findElements(By.css('.timeline li[data-kind="apiTest"]'))).length > 0, 20_000);
    await dialog.findElement(By.css('button.refresh-now')).click();
    await driver.wait(async () => (await dialog.findElements(By.css('.timeline li[data-kind="refresh"]'))).length > 0, 20_000);
    assert.match(await dialog.findElement(By.css('.diagnose-status')).getText(), /Refreshed/);
    // The refresh rotated the tokens: the new ones must not leak either, and the report shows the new fingerprint.
    const rotated = tokensNow();
    secrets.push(...['access_token', 'refresh_token', 'id_token'].map((k) => rotated?.[k]).filter(Boolean));
    const rotatedFp = createHash('sha256').update(rotated.refresh_token).digest('hex').slice(0, 8);
    assert.notEqual(rotatedFp, fp, 'the refresh token rotated');
    await driver.sleep(300); // let the page paint the redrawn report before the picture
    await screenshot(driver, 'diagnose-en');
    await dialog.findElement(By.css('button.save-report')).click();
    let saved;
    await driver.wait(async () => {
      saved = (await dialog.findElement(By.css('.diagnose-status')).getText()).match(/Report saved to (.+\.txt)$/)?.[1];
      return Boolean(saved);
    }, 20_000);
    const report = readFileSync(saved, 'utf8');
    assert.match(report, /support report/);
    assert.match(report, new RegExp(rotatedFp));
    const page = await driver.getPageSource();
    for (const secret of secrets) {
      assert.ok(!report.includes(secret), 'no token in the saved report');
      assert.ok(!page.includes(secret), 'no token in the window');
    }
    // The app's own log (debug level in the tests) holds no token either.
    const appLog = readFileSync(join(ARTIFACTS, 'app.log'), 'utf8');
    assert.ok(appLog.length > 0, 'the app log was written');
    for (const secret of secrets) assert.ok(!appLog.includes(secret), 'no token in the app log');
    await dialog.findElement(By.css('button.close-diagnose')).click();
    await driver.wait(async () => (await dialog.getAttribute('open')) === null, 5_000);
    // Back in the details, which stayed open underneath.
    assert.equal(await details.getAttribute('open'), 'true');
  }],

  ['speaks German when switched', async (ctx) => {
    const driver = await session(ctx);
    await chooseLanguage(driver, 'de');
    assert.equal(await driver.findElement(By.id('accounts-heading')).getText(), 'IHRE KONTEN');
    assert.equal(await driver.findElement(By.css('.account-state')).getText(), 'Verbunden');
    await screenshot(driver, 'main-linked-de');
    await chooseLanguage(driver, 'en');
  }],

  ['closing the login window cancels the sign-in', async (ctx) => {
    const driver = await session(ctx);
    await clickConnect(driver, 'demo');
    await switchToLoginWindow(driver);
    await driver.wait(async () => (await driver.findElements(By.id('username'))).length > 0, 20_000);
    assert.match(await driver.getTitle(), /Sign in/);
    closeWindowLikeUser('Sign in to Demo Provider');
    await backToMain(driver);
    const msg = await waitForMessage(driver, 'info', 'cancelled');
    assert.match(msg.text, /cancelled/i);
    assert.deepEqual(await accountIds(driver), [ctx.accountId]);
  }],

  ['denying consent links nothing and says so', async (ctx) => {
    const driver = await session(ctx);
    await signInThroughWindow(driver, 'demo', 'deny');
    const msg = await waitForMessage(driver, 'error', 'access_denied');
    assert.match(msg.text, /You declined access at Demo Provider/);
    assert.deepEqual(await accountIds(driver), [ctx.accountId]);
  }],

  ['a redirect with a forged state is rejected and nothing is stored', async (ctx) => {
    const driver = await session(ctx);
    await demoControl(ctx.demoUrl, 'tamper-next-state');
    await signInThroughWindow(driver, 'demo');
    const msg = await waitForMessage(driver, 'error', 'state_mismatch');
    assert.match(msg.text, /state/);
    assert.deepEqual(await accountIds(driver), [ctx.accountId]);
    const stats = await (await fetch(new URL('_control/stats', ctx.demoUrl))).json();
    assert.equal(stats.code_exchanges, 1, 'the forged redirect\'s code was never exchanged');
  }],

  ['disconnect removes the account and its keyring entries', async (ctx) => {
    const driver = await session(ctx);
    await disconnectAccount(driver, ctx.accountId);
    const msg = await waitForMessage(driver, 'success');
    assert.match(msg.text, /disconnected/);
    await driver.wait(async () => (await accountIds(driver)).length === 0, 10_000);
    assert.equal(await driver.findElement(By.id('accounts-empty')).isDisplayed(), true);
    assert.equal(storedTokens(ctx.home, ctx.accountId), null, 'the tokens left the keyring');
  }],

  ['changes made on the command line show in the open window at once', async (ctx) => {
    const driver = await session(ctx);
    await signInThroughWindow(driver, 'demo');
    await driver.wait(async () => (await accountIds(driver)).length === 1, 20_000);
    const [id] = await accountIds(driver);
    const env = { ...process.env, ACCOUNT_LINKER_HOME: ctx.home, ACCOUNT_LINKER_DEMO_URL: ctx.demoUrl };
    const out = execFileSync(APP, ['disconnect', id], { env, encoding: 'utf8' });
    assert.match(out, /disconnected/);
    // No reload, no click: the window follows the account file.
    await driver.wait(async () => (await accountIds(driver)).length === 0, 5_000);
    assert.equal(await driver.findElement(By.id('accounts-empty')).isDisplayed(), true);
  }],
];
