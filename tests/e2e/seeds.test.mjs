// The three seed providers linked through the GUI, against the project's emulators (which wrote the
// app's providers.toml): Zählerfreunde (Auth0), Youthweb (login redirect, no refresh), Workfront
// (organization host typed by the user, sessionID tokens with an unknown lifetime).
import assert from 'node:assert/strict';
import { By } from 'selenium-webdriver';
import {
  accountIds, clickConnect, screenshot, signInThroughWindow, storedTokens, waitForMessage, session,
} from './harness.mjs';

/** Links through the login window; returns the new account's card. */
async function linkThroughWindow(driver, ctx, providerId, name, tenant = null) {
  const before = await accountIds(driver);
  await signInThroughWindow(driver, providerId, 'approve', tenant);
  const msg = await waitForMessage(driver, 'success');
  assert.match(msg.text, new RegExp(`${name} account is linked`));
  const ids = (await accountIds(driver)).filter((id) => !before.includes(id));
  assert.equal(ids.length, 1, 'one new account');
  const card = await driver.findElement(By.css(`#accounts li[data-account-id="${ids[0]}"]`));
  assert.equal(await card.findElement(By.css('.account-state')).getText(), 'Connected');
  return { id: ids[0], card };
}

export const tests = [
  ['links a Zählerfreunde account (Auth0: two hosts, audience, JSON, rotating refresh)', async (ctx) => {
    const driver = await session(ctx);
    const { id, card } = await linkThroughWindow(driver, ctx, 'zaehlerfreunde', 'Zählerfreunde');
    assert.match(await card.getText(), /Zählerfreunde/);
    assert.ok(storedTokens(ctx.home, id)?.refresh_token?.startsWith('zf_rt_'));
  }],

  ['links a Youthweb account (login redirect, one-hour token)', async (ctx) => {
    const driver = await session(ctx);
    const { card } = await linkThroughWindow(driver, ctx, 'youthweb', 'Youthweb');
    assert.match(await card.findElement(By.css('.account-expiry')).getText(), /Access expires in (59|60) min/);
  }],

  ['links a Workfront account for the organization the user types', async (ctx) => {
    const driver = await session(ctx);
    const { id, card } = await linkThroughWindow(driver, ctx, 'workfront', 'Adobe Workfront', 'acme');
    assert.match(await card.findElement(By.css('.account-expiry')).getText(), /did not say when access expires/);
    assert.ok(storedTokens(ctx.home, id)?.access_token?.startsWith('wf_at_'));
    await screenshot(driver, 'main-seed-accounts-en');
  }],

  ['links any OpenID Connect provider given by its issuer alone (oidc-provider)', async (ctx) => {
    const driver = await session(ctx);
    const { id, card } = await linkThroughWindow(driver, ctx, 'oidc-test', 'OIDC Test');
    assert.equal(await card.findElement(By.css('.account-name')).getText(), 'demo@oidc.test');
    assert.ok(storedTokens(ctx.home, id)?.refresh_token, 'offline_access gave a refresh token');
  }],

  ['refuses a look-alike Workfront host before anything is opened', async (ctx) => {
    const driver = await session(ctx);
    await clickConnect(driver, 'workfront', 'acme.my.workfront.com.evil.example');
    const msg = await waitForMessage(driver, 'error', 'bad_tenant');
    assert.match(msg.text, /is not a host of this provider/);
    assert.equal((await driver.getAllWindowHandles()).length, 1, 'no login window opened');
  }],
];
