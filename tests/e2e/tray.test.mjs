// The tray, seen the way a desktop panel sees it: the project's test tray (`tray-host`, a StatusNotifier
// host on the session bus) reads the app's menu over D-Bus and clicks it. Xvfb has no tray of its own.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { By } from 'selenium-webdriver';
import { APP, TARGET, accountIds, closeWindowLikeUser, demoControl, openApp, signInThroughWindow } from './harness.mjs';

/** Starts the test tray; `ask(line)` sends a command and resolves with its one-line answer. */
function startTray() {
  const child = spawn(join(TARGET, 'debug/tray-host'), [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const ask = (command) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the test tray did not answer ${command}`)), 30_000);
      waiting.push((line) => {
        clearTimeout(timer);
        if (line.startsWith('error')) reject(new Error(`tray: ${command}: ${line}`));
        else resolve(line);
      });
      child.stdin.write(`${command}\n`);
    });
  return { ask, menu: async () => JSON.parse(await ask('menu')), stop: () => child.kill('SIGTERM') };
}

async function until(what, check, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The app process of this test run: the one started for `home` (other runs may be going on). */
function appPid(home) {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const exe = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (exe === APP && env.includes(`ACCOUNT_LINKER_HOME=${home}`)) return Number(entry);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  throw new Error('the app process was not found');
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const tests = [
  ['the tray lists accounts needing attention, starts at login, and keeps the app when the window closes', async (ctx) => {
    const tray = startTray();
    const driver = await openApp();
    ctx.cleanup = async () => {
      await driver.quit().catch(() => {});
      tray.stop();
    };
    await tray.ask('wait-item');
    const labels = (menu) => menu.map((e) => e.label);
    let menu = await tray.menu();
    assert.equal(menu[0].label, 'Open Account Linker');
    assert.deepEqual(labels(menu).slice(-2), ['Start at login', 'Quit']);
    assert.equal(menu.at(-2).checked, false);

    // An account whose refresh token the provider revoked shows in the tray, refreshed by the command line.
    const before = await accountIds(driver);
    await signInThroughWindow(driver, 'demo');
    const id = await until('the new account', async () => (await accountIds(driver)).find((a) => !before.includes(a)));
    await until('the tray to see the linked account', async () => labels(await tray.menu()).includes('All accounts connected'));
    await demoControl(ctx.demoUrl, 'revoke-refresh-tokens');
    const env = { ...process.env, ACCOUNT_LINKER_HOME: ctx.home, ACCOUNT_LINKER_DEMO_URL: ctx.demoUrl };
    assert.throws(() => execFileSync(APP, ['refresh', id], { env, encoding: 'utf8', stdio: 'pipe' }), /reconnect/i);
    menu = await until('the tray to list the account', async () => {
      const m = await tray.menu();
      return m.some((e) => e.label.includes('reconnect needed')) && m;
    });
    assert.ok(menu.some((e) => e.label === '⚠ demo@example.test (Demo Provider): reconnect needed'), JSON.stringify(menu));

    // Start at login: an XDG autostart entry that starts the app in the background.
    await tray.ask('click Start at login');
    const config = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
    const autostart = join(config, 'autostart', 'org.accountlinker.AccountLinker.desktop');
    await until('the autostart entry', () => existsSync(autostart));
    assert.match(readFileSync(autostart, 'utf8'), /^Exec=.*account-linker.* --background$/m);
    assert.equal((await until('the tick', async () => (await tray.menu()).find((e) => e.label === 'Start at login' && e.checked))).checked, true);

    // Closing the window leaves the app running in the tray; "Open" brings the window back.
    const pid = appPid(ctx.home);
    closeWindowLikeUser('Account Linker');
    await until('the window to close', async () => (await driver.getAllWindowHandles().catch(() => [])).length === 0);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(alive(pid), 'the app still runs with its window closed');
    assert.ok(labels(await tray.menu()).includes('Quit'), 'and its tray still answers');
    await tray.ask('click Open Account Linker');
    const handles = await until('the window to come back', async () => {
      const h = await driver.getAllWindowHandles().catch(() => []);
      return h.length > 0 && h;
    });
    await driver.switchTo().window(handles[0]);
    await until('the account list', async () => (await driver.findElements(By.css(`#accounts li[data-account-id="${id}"]`))).length === 1);

    // Leave things as they were: start at login off, the account gone; then Quit ends the app.
    await tray.ask('click Start at login');
    await until('the autostart entry to go', () => !existsSync(autostart));
    execFileSync(APP, ['disconnect', id], { env, encoding: 'utf8' });
    await tray.ask('click Quit');
    await until('the app to exit', () => !alive(pid));
  }],
];
