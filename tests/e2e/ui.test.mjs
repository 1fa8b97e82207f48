// The desktop UI as a user meets it: the empty state, Add account's picker (search, organization
// field), linking with the keyboard alone, the list and an account's details, Refresh now, Reconnect in
// place (and refused for another user), Disconnect after a confirmation, German and English, and a
// sign-in page that does not load. Takes the README's screenshots of each view in both languages.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { By, Key, until } from 'selenium-webdriver';
import {
  ARTIFACTS, ROOT, TIMEOUT, accountIds, backToMain, chooseLanguage, clickConnect, closeWindowLikeUser, decide, dialogOpen, disconnectAccount,
  openDetails, openPicker, screenshot, signIn, storedTokens, switchToLoginWindow, waitForDialog, waitForMessage, windowTitles, session,
} from './harness.mjs';

/** A screenshot for the README: under .artifacts/screenshots, and copied to docs/ when
 * `UPDATE_SCREENSHOTS=1` asks for it (so that a test run leaves the checkout as it was). */
async function docShot(driver, name) {
  // Let the page draw what just changed (two animation frames), then the window show it.
  await driver.executeAsyncScript('const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));');
  await driver.sleep(700);
  await screenshot(driver, name);
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  copyFileSync(join(ARTIFACTS, 'screenshots', `${name}.png`), join(ROOT, 'docs', `${name}.png`));
}

/** Presses keys as the keyboard does, at whatever has the focus. */
async function press(driver, ...keys) {
  await driver.actions().sendKeys(...keys).perform();
}

/** The focused element's id, or its classes when it has none. */
async function focused(driver) {
  return driver.executeScript('const e = document.activeElement; return e.id || e.className;');
}

/** Presses Tab until the element with id `id` has the focus (at most `max` times). */
async function tabTo(driver, id, max = 12) {
  for (let i = 0; i < max; i++) {
    if ((await focused(driver)) === id) return;
    await press(driver, Key.TAB);
  }
  assert.fail(`Tab never reached #${id} (focus is on ${await focused(driver)})`);
}

function refreshToken(ctx, id) {
  return storedTokens(ctx.home, id)?.refresh_token ?? null;
}

/** The text of one fact in the open details dialog. */
async function fact(driver, cls) {
  // Read in one step: the details are drawn again whenever the account changes (a refresh, a
  // language switch), and an element found in one command may be gone by the next.
  let text = null;
  await driver.wait(async () => {
    text = await driver.executeScript('return document.querySelector(arguments[0])?.innerText ?? null', `#details .${cls}`);
    return text !== null;
  }, TIMEOUT, `#details .${cls} did not appear`);
  return text.trim();
}

/** Waits until a top-level window's title starts with `prefix`; returns that title. */
async function waitForTitle(driver, prefix) {
  let title;
  await driver.wait(async () => {
    title = windowTitles().find((t) => t.startsWith(prefix) && !t.includes('(')); // "(loading…)" gone
    return Boolean(title);
  }, TIMEOUT, `no window titled ${prefix}…: ${windowTitles().join(' | ')}`);
  return title;
}

export const tests = [
  ['ui: the empty state invites a first link; the picker searches and asks Workfront for the organization', async (ctx) => {
    const driver = await session(ctx);
    assert.deepEqual(await accountIds(driver), []);
    const empty = await driver.findElement(By.id('accounts-empty'));
    assert.equal(await empty.isDisplayed(), true);
    assert.match(await empty.getText(), /No accounts linked yet/);
    await docShot(driver, 'main-empty-en');
    await chooseLanguage(driver, 'de');
    assert.match(await empty.getText(), /Noch keine Konten verknüpft/);
    await docShot(driver, 'main-empty-de');
    await chooseLanguage(driver, 'en');

    await openPicker(driver);
    assert.equal(await focused(driver), 'picker-search', 'the search field has the focus');
    const visible = () => driver.executeScript("return [...document.querySelectorAll('#picker-list li:not([hidden])')].map((li) => li.dataset.providerId);");
    assert.ok((await visible()).includes('demo') && (await visible()).includes('workfront'));
    // Every provider shows an icon shipped with the app.
    const icons = await driver.executeScript("return [...document.querySelectorAll('#picker-list img.provider-icon')].map((i) => [i.dataset.icon, i.naturalWidth > 0]);");
    assert.ok(icons.length >= 5 && icons.every(([, loaded]) => loaded), JSON.stringify(icons));
    const iconOf = Object.fromEntries(await driver.executeScript("return [...document.querySelectorAll('#picker-list li')].map((li) => [li.dataset.providerId, li.querySelector('img').dataset.icon]);"));
    assert.deepEqual([iconOf.demo, iconOf.workfront, iconOf.zaehlerfreunde, iconOf['oidc-test'], iconOf['offline-test']], ['demo', 'workfront', 'zaehlerfreunde', 'openid', 'generic']);
    const search = await driver.findElement(By.id('picker-search'));
    await search.sendKeys('zähl');
    assert.deepEqual(await visible(), ['zaehlerfreunde']);
    await search.clear();
    await search.sendKeys('no such provider');
    assert.deepEqual(await visible(), []);
    assert.match(await driver.findElement(By.id('picker-none')).getText(), /No provider matches/);
    await driver.executeScript("const s = document.getElementById('picker-search'); s.value = ''; s.dispatchEvent(new Event('input'));");
    assert.equal(await driver.findElement(By.id('picker-tenant-row')).isDisplayed(), false);
    await driver.findElement(By.css('#picker-list li[data-provider-id="workfront"] label')).click();
    assert.equal(await driver.findElement(By.id('picker-tenant-row')).isDisplayed(), true, 'Workfront asks for the organization');
    assert.match(await driver.findElement(By.id('picker-tenant-label')).getText(), /organization/i);
    // Continue with an empty organization field stays here and points at the field.
    await driver.findElement(By.id('picker-connect')).click();
    assert.equal(await dialogOpen(driver, 'picker'), true);
    assert.equal(await driver.findElement(By.id('picker-tenant')).getAttribute('aria-invalid'), 'true');
    await driver.findElement(By.id('picker-tenant')).sendKeys('acme');
    await docShot(driver, 'picker-en');
    await chooseLanguage(driver, 'de');
    assert.equal(await driver.findElement(By.id('picker-title')).getText(), 'Konto hinzufügen');
    assert.equal(await driver.findElement(By.id('picker-connect')).getText(), 'Bei Adobe Workfront anmelden');
    await docShot(driver, 'picker-de');
    await chooseLanguage(driver, 'en');
    await press(driver, Key.ESCAPE);
    await waitForDialog(driver, 'picker', false);
    assert.equal(await driver.findElement(By.id('picker-tenant')).getAttribute('value'), 'acme', 'Escape linked nothing');
    assert.deepEqual(await accountIds(driver), []);
  }],

  ['ui: links an account with the keyboard alone', async (ctx) => {
    const driver = await session(ctx);
    await tabTo(driver, 'add-account');
    await press(driver, Key.ENTER);
    await waitForDialog(driver, 'picker');
    assert.equal(await focused(driver), 'picker-search');
    await press(driver, 'demo', Key.ENTER);
    // The only match is chosen and has the focus; Enter continues to the sign-in.
    assert.equal(await driver.executeScript('return document.activeElement.value'), 'demo');
    assert.equal(await driver.findElement(By.id('picker-connect')).getText(), 'Sign in to Demo Provider');
    await press(driver, Key.ENTER);
    await waitForDialog(driver, 'picker', false);
    await switchToLoginWindow(driver);
    await driver.wait(until.elementLocated(By.id('username')), TIMEOUT);
    // The window says whose sign-in it is and which host it shows.
    assert.match(await waitForTitle(driver, 'Sign in to Demo Provider'), /^Sign in to Demo Provider — 127\.0\.0\.1$/);
    await docShot(driver, 'login-window');
    await signIn(driver);
    await decide(driver, 'approve');
    await backToMain(driver);
    assert.match((await waitForMessage(driver, 'success')).text, /Demo Provider account is linked/);
    const ids = await accountIds(driver);
    assert.equal(ids.length, 1);
    ctx.uiAccountId = ids[0];
    // On to the new account's details and back, still by keyboard.
    await tabTo(driver, 'account-open');
    await press(driver, Key.ENTER);
    await waitForDialog(driver, 'details');
    assert.equal(await focused(driver), 'close-details');
    await press(driver, Key.ESCAPE);
    await waitForDialog(driver, 'details', false);
    assert.equal(await focused(driver), 'account-open', 'the focus went back to the row');
  }],

  ['ui: the list and the details, in English and German', async (ctx) => {
    const driver = await session(ctx);
    const row = await driver.findElement(By.css(`#accounts li[data-account-id="${ctx.uiAccountId}"]`));
    assert.equal(await row.findElement(By.css('.account-state')).getText(), 'Connected');
    assert.equal(await row.findElement(By.css('img.provider-icon')).getAttribute('data-icon'), 'demo');
    assert.match(await row.findElement(By.css('.account-expiry')).getText(), /Access expires in (59|60) min/);
    await docShot(driver, 'main-list-en');
    await openDetails(driver, ctx.uiAccountId);
    assert.equal(await driver.findElement(By.id('details-title')).getText(), 'demo@example.test');
    assert.match(await fact(driver, 'fact-scopes'), /profile/);
    assert.match(await fact(driver, 'fact-linked'), /min ago|just now/);
    assert.match(await fact(driver, 'fact-last-refresh'), /not yet/);
    // The refresher's plan: at 65–75 % of the one-hour lifetime, i.e. in 39 to 45 minutes.
    const next = await fact(driver, 'fact-next-refresh');
    const minutes = Number(next.match(/in (\d+) min/)?.[1]);
    assert.ok(minutes >= 38 && minutes <= 45, next);
    await docShot(driver, 'details-en');
    await chooseLanguage(driver, 'de');
    assert.equal(await dialogOpen(driver, 'details'), true, 'switching language keeps the details open');
    assert.equal(await driver.findElement(By.css('#details button.refresh')).getText(), 'Jetzt aktualisieren');
    assert.match(await fact(driver, 'fact-next-refresh'), /in \d+ Min\./);
    await docShot(driver, 'details-de');
    await press(driver, Key.ESCAPE);
    await waitForDialog(driver, 'details', false);
    // The language switch drew the list again: find the row anew.
    assert.equal(await driver.findElement(By.css(`#accounts li[data-account-id="${ctx.uiAccountId}"] .account-state`)).getText(), 'Verbunden');
    await docShot(driver, 'main-list-de');
    // The login window speaks the main window's language.
    await clickConnect(driver, 'demo');
    await switchToLoginWindow(driver);
    await driver.wait(until.elementLocated(By.id('username')), TIMEOUT);
    assert.equal(await waitForTitle(driver, 'Bei Demo Provider anmelden'), 'Bei Demo Provider anmelden — 127.0.0.1');
    // (The page is the provider's own, so its picture is the same in both languages; only the title differs.)
    await screenshot(driver, 'login-window-de');
    closeWindowLikeUser('Bei Demo Provider anmelden');
    await backToMain(driver);
    assert.match((await waitForMessage(driver, 'info', 'cancelled')).text, /Anmeldung abgebrochen/);
    await chooseLanguage(driver, 'en');
  }],

  ['ui: Refresh now in the details renews the tokens and shows the new times', async (ctx) => {
    const driver = await session(ctx);
    const before = refreshToken(ctx, ctx.uiAccountId);
    const details = await openDetails(driver, ctx.uiAccountId);
    await details.findElement(By.css('button.refresh')).click();
    assert.match((await waitForMessage(driver, 'success')).text, /demo@example\.test: tokens refreshed/);
    await driver.wait(async () => /just now/.test(await fact(driver, 'fact-last-refresh')), TIMEOUT);
    assert.notEqual(refreshToken(ctx, ctx.uiAccountId), before, 'the refresh token rotated');
    assert.match(await driver.findElement(By.css(`#accounts li[data-account-id="${ctx.uiAccountId}"] .account-refreshed`)).getText(), /Refreshed just now/);
  }],

  ['ui: Reconnect signs the same account in again, in place', async (ctx) => {
    const driver = await session(ctx);
    const before = refreshToken(ctx, ctx.uiAccountId);
    const details = await openDetails(driver, ctx.uiAccountId);
    await details.findElement(By.css('button.reconnect')).click();
    await switchToLoginWindow(driver);
    await signIn(driver);
    await decide(driver, 'approve');
    await backToMain(driver);
    assert.match((await waitForMessage(driver, 'success')).text, /Demo Provider account is connected again/);
    assert.deepEqual(await accountIds(driver), [ctx.uiAccountId], 'the same account, no second one');
    const after = refreshToken(ctx, ctx.uiAccountId);
    assert.ok(after && after !== before, 'new tokens in the keyring under the same account');
    assert.equal(await driver.findElement(By.css(`#accounts li[data-account-id="${ctx.uiAccountId}"] .account-state`)).getText(), 'Connected');
  }],

  ['ui: Reconnect as another user changes nothing and says so; Disconnect asks first', async (ctx) => {
    const driver = await session(ctx);
    await clickConnect(driver, 'oidc-test');
    await switchToLoginWindow(driver);
    await signIn(driver, 'alice', 'pw');
    await decide(driver, 'approve');
    await backToMain(driver);
    await waitForMessage(driver, 'success');
    const id = (await accountIds(driver)).find((x) => x !== ctx.uiAccountId);
    const token = refreshToken(ctx, id);
    const details = await openDetails(driver, id);
    assert.equal(await driver.findElement(By.id('details-title')).getText(), 'alice@oidc.test');
    assert.equal(await details.findElement(By.css('img.provider-icon')).getAttribute('data-icon'), 'openid');
    await details.findElement(By.css('button.reconnect')).click();
    await switchToLoginWindow(driver);
    await signIn(driver, 'bob', 'pw');
    await decide(driver, 'approve');
    await backToMain(driver);
    const msg = await waitForMessage(driver, 'error', 'different_account');
    assert.match(msg.text, /you signed in as bob@oidc\.test, but this account belongs to alice@oidc\.test; nothing was changed/);
    assert.equal(refreshToken(ctx, id), token, 'the tokens were left alone');
    assert.equal(await driver.findElement(By.id('details-title')).getText(), 'alice@oidc.test');
    // Disconnect: Cancel (the focused button) keeps it, the confirmation removes it.
    await details.findElement(By.css('button.disconnect')).click();
    await waitForDialog(driver, 'confirm');
    assert.equal(await focused(driver), 'confirm-no');
    assert.match(await driver.findElement(By.id('confirm-title')).getText(), /Disconnect alice@oidc\.test\?/);
    await press(driver, Key.ENTER);
    await waitForDialog(driver, 'confirm', false);
    assert.ok((await accountIds(driver)).includes(id), 'Cancel kept the account');
    await details.findElement(By.css('button.disconnect')).click();
    await waitForDialog(driver, 'confirm');
    await driver.findElement(By.css('#confirm button.confirm-yes')).click();
    assert.match((await waitForMessage(driver, 'success')).text, /alice@oidc\.test was disconnected/);
    await waitForDialog(driver, 'details', false);
    await driver.wait(async () => !(await accountIds(driver)).includes(id), TIMEOUT);
    assert.equal(refreshToken(ctx, id), null, 'its tokens left the keyring');
  }],

  ['ui: a sign-in page that does not load says why, in the login window and the main window', async (ctx) => {
    const driver = await session(ctx);
    await clickConnect(driver, 'offline-test');
    const msg = await waitForMessage(driver, 'error', 'load_failed');
    assert.match(msg.text, /Nothing answered at 127\.0\.0\.1/);
    await switchToLoginWindow(driver);
    const page = await driver.wait(until.elementLocated(By.css('#load-failed[data-kind="refused"]')), TIMEOUT);
    assert.match(await page.getText(), /127\.0\.0\.1 could not be reached/);
    assert.match(await page.getText(), /Try again/);
    assert.match(await waitForTitle(driver, 'Sign in to Offline Test'), /— 127\.0\.0\.1$/);
    await docShot(driver, 'login-failed-en');
    closeWindowLikeUser('Sign in to Offline Test');
    await backToMain(driver);
    await waitForMessage(driver, 'info', 'cancelled');
    // In German, the page says it in German.
    await chooseLanguage(driver, 'de');
    await clickConnect(driver, 'offline-test');
    await switchToLoginWindow(driver);
    const seite = await driver.wait(until.elementLocated(By.css('#load-failed[data-kind="refused"]')), TIMEOUT);
    assert.match(await seite.getText(), /127\.0\.0\.1 ist nicht erreichbar/);
    await docShot(driver, 'login-failed-de');
    closeWindowLikeUser('Bei Offline Test anmelden');
    await backToMain(driver);
    await waitForMessage(driver, 'info', 'cancelled');
    await chooseLanguage(driver, 'en');
    // Leave the home as the next tests expect it: the demo account gone.
    await disconnectAccount(driver, ctx.uiAccountId);
    await driver.wait(async () => (await accountIds(driver)).length === 0, TIMEOUT);
  }],
];
