// What the end-to-end tests stand on: the demo provider, tauri-driver, app sessions, and the keyring.
// Nothing here is a mock: the app is the real debug binary in a real WebKitGTK window under Xvfb.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Builder, By, until } from 'selenium-webdriver';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
// Cargo's target folder: CARGO_TARGET_DIR when set (as cargo itself does), else target/ in the checkout.
export const TARGET = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
export const APP = join(TARGET, 'debug/account-linker');
export const ARTIFACTS = process.env.ARTIFACTS || join(ROOT, '.artifacts');
export const TIMEOUT = 20_000;
const children = [];

/** Starts a child process, remembered so that `stopAll` ends it. */
function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.push(child);
  return child;
}

/** Stops every child process started here. */
export function stopAll() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}

/** Starts the demo provider with test controls; resolves to its base URL. */
export function startDemoProvider() {
  const child = start(join(TARGET, 'debug/demo-provider'), ['--test-controls']);
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) ok(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`demo provider exited with ${code}: ${out}`)));
  });
}

/** Starts the standards-grade OpenID Provider (npm oidc-provider); resolves to its issuer URL. */
export function startOidcProvider() {
  const child = start('node', [join(ROOT, 'tests/e2e/oidc-server.mjs')]);
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) ok(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`oidc-provider exited with ${code}: ${out}`)));
  });
}

/** Starts the seed-provider emulators, which write `providers.toml` into the app's home. */
export function startEmulators(home) {
  const child = start(join(TARGET, 'debug/emulators'), ['--providers-toml', join(home, 'providers.toml')]);
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('emulators ready:')) ok(out.trim());
    });
    child.on('exit', (code) => fail(new Error(`emulators exited with ${code}: ${out}`)));
  });
}

function waitForPort(port, ms) {
  const deadline = Date.now() + ms;
  return new Promise((ok, fail) => {
    const attempt = () => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.end();
        ok();
      });
      s.on('error', () => (Date.now() > deadline ? fail(new Error(`nothing listens on ${port}`)) : setTimeout(attempt, 100)));
    };
    attempt();
  });
}

/** A TCP port that is free right now (the OS picks it): also a loopback port nothing listens on. */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

// tauri-driver's port: free ones, so that two test runs on one machine never drive each other's app.
let driverPort;
// The app's ACCOUNT_LINKER_HOME, which also names its single instance on the bus.
let appHome;
// The running tauri-driver, its environment and its output (restarted after a session that never began).
let driverProcess;
let driverEnv;
const driverLog = [];

/** Starts tauri-driver (which starts WebKitWebDriver, which starts the app) with the app's environment. */
export async function startDriver(env) {
  appHome = env.ACCOUNT_LINKER_HOME;
  driverEnv = env;
  driverPort = await freePort();
  const nativePort = await freePort();
  driverProcess = start('tauri-driver', ['--port', String(driverPort), '--native-port', String(nativePort)], { env: { ...process.env, ...env } });
  driverProcess.stderr.on('data', (d) => driverLog.push(String(d)));
  driverProcess.stdout.on('data', (d) => driverLog.push(String(d)));
  await waitForPort(driverPort, 15_000);
  return { log: driverLog };
}

/** How long an app may take to show its main window before the session counts as failed. */
const SESSION_TIMEOUT = 45_000;

/**
 * Ends the app under test and tauri-driver, and starts a new driver: WebKitWebDriver keeps waiting for a
 * window that never came and refuses new sessions, so the next test would fail for this one's reason.
 */
async function restartDriver() {
  // Only this run's processes: tauri-driver's descendants (WebKitWebDriver and the app it started).
  const old = driverProcess;
  for (const pid of descendants(old.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const exited = new Promise((r) => (old.exitCode !== null ? r() : old.once('exit', r)));
  old.kill('SIGTERM');
  await exited;
  await startDriver(driverEnv);
}

/** The process ids below `root`, children first. */
function descendants(root) {
  const parents = new Map();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // The parent is the second field after the command name, which may itself hold spaces or ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found = [];
  for (let i = -1; i < found.length; i++) {
    const parent = i < 0 ? root : found[i];
    for (const [pid, ppid] of parents) if (ppid === parent) found.push(pid);
  }
  return found;
}

/** Whether a process of the app under test is still running (e.g. the last session's, still exiting). */
function appRunning() {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === APP) return true;
    } catch {
      // Gone, a zombie, or not ours to read.
    }
  }
  return false;
}

/** Whether the app's single-instance name (see `AppPaths::instance_id`) still has an owner on the session bus. */
function instanceNameOwned() {
  if (!appHome) return false;
  const tag = keyringService(appHome).split(':')[1];
  const out = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
    'org.freedesktop.DBus.NameHasOwner', `string:org.accountlinker.AccountLinker.home_${tag}.SingleInstance`], { encoding: 'utf8' });
  return /boolean true/.test(out);
}

/**
 * A new WebDriver session: the app starts fresh; resolves once its UI is ready. The app is a single
 * instance (a second start hands its arguments to the first and exits), so the last session's app must
 * be gone first, process and bus name (an exiting process loses its /proc exe link before its sockets
 * close), or the new one would hand over to it and WebDriver would wait for a window forever.
 */
/** Opens the app (with `args`, as the OS would pass them) for one test; the test's cleanup quits it. */
export async function session(ctx, args = []) {
  const driver = await openApp(args);
  ctx.cleanup = () => driver.quit().catch(() => {});
  return driver;
}

export async function openApp(args = []) {
  const deadline = Date.now() + TIMEOUT;
  while (appRunning() || instanceNameOwned()) {
    if (Date.now() > deadline) throw new Error('the previous session\'s app did not exit');
    await new Promise((r) => setTimeout(r, 100));
  }
  // An app that quits before it shows its window (or never shows one) fails the test instead of
  // hanging the run.
  let timer;
  const built = new Builder()
    .usingServer(`http://127.0.0.1:${driverPort}/`)
    .withCapabilities({ browserName: 'wry', 'tauri:options': { application: APP, args } })
    .build();
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`the app showed no window within ${SESSION_TIMEOUT / 1000} s (did it quit? see .artifacts/app.log)`)), SESSION_TIMEOUT);
  });
  let driver;
  try {
    driver = await Promise.race([built, late]);
  } catch (e) {
    built.catch(() => {});
    await restartDriver();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  await driver.wait(until.elementLocated(By.css('body[data-ready="true"]')), TIMEOUT);
  driver.mainHandle = await driver.getWindowHandle();
  return driver;
}

/** Switches to the login window that the app opened; returns its handle. */
export async function switchToLoginWindow(driver) {
  let handle;
  await driver.wait(async () => {
    const handles = await driver.getAllWindowHandles();
    handle = handles.find((h) => h !== driver.mainHandle);
    return Boolean(handle);
  }, TIMEOUT, 'the login window did not open');
  await driver.switchTo().window(handle);
  return handle;
}

/** Waits until only the main window is left, and switches back to it. */
export async function backToMain(driver) {
  await driver.wait(async () => (await driver.getAllWindowHandles()).length === 1, TIMEOUT, 'the login window did not close');
  await driver.switchTo().window(driver.mainHandle);
}

/** Closes windows by title through X11, as the user clicking the window's close button does. */
export function closeWindowLikeUser(titlePrefix) {
  execFileSync('/usr/bin/python3', [join(ROOT, 'tests/e2e/close-window.py'), titlePrefix], { stdio: 'inherit' });
}

/** The titles of the top-level X11 windows (what the window manager shows in title bars). */
export function windowTitles() {
  return execFileSync('/usr/bin/python3', [join(ROOT, 'tests/e2e/close-window.py'), '--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** Runs `step` again while the page is still navigating (redirect chains replace the document). */
async function acrossNavigation(step) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    try {
      return await step();
    } catch (e) {
      const navigating = ['NoSuchFrameError', 'StaleElementReferenceError', 'JavascriptError'].includes(e?.name);
      if (!navigating || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Types into the provider's login form and submits it. */
export async function signIn(driver, user = 'demo', password = 'demo') {
  await acrossNavigation(async () => {
    // The project's servers name the field "username"; oidc-provider's login form names it "login".
    const username = await driver.wait(until.elementLocated(By.css('#username, input[name="login"]')), TIMEOUT);
    await username.sendKeys(user);
    await driver.findElement(By.css('input[name="password"]')).sendKeys(password);
    await driver.findElement(By.css('#login, button[type="submit"]')).click();
  });
}

/** Clicks Allow or Deny on the provider's consent page. */
export async function decide(driver, decision) {
  await acrossNavigation(async () => {
    // Consent pages with only a "Continue" button (oidc-provider) approve with it.
    const css = decision === 'approve' ? '#approve, form:has(input[name="prompt"][value="consent"]) button[type="submit"]' : `#${decision}`;
    const button = await driver.wait(until.elementLocated(By.css(css)), TIMEOUT);
    // A WebDriver click waits for the navigation it starts. When that navigation ends the sign-in, the app
    // closes the window during the wait, and WebKitWebDriver then hangs until its 300 s timeout. A click
    // from a page task starts the same navigation without a command waiting on it.
    await driver.executeScript('const b = arguments[0]; setTimeout(() => b.click(), 0);', button);
  });
}

/** The whole sign-in: Connect, log in in the login window, `decision` on the consent page, back to the main window. */
export async function signInThroughWindow(driver, providerId, decision = 'approve', tenant = null) {
  await clickConnect(driver, providerId, tenant);
  await switchToLoginWindow(driver);
  await signIn(driver);
  await decide(driver, decision);
  await backToMain(driver);
}

/** Whether the dialog with this id is open. */
export async function dialogOpen(driver, id) {
  return (await driver.findElement(By.id(id)).getAttribute('open')) !== null;
}

/** Waits until the dialog with this id is open (`true`) or closed (`false`). */
export async function waitForDialog(driver, id, open = true) {
  await driver.wait(async () => (await dialogOpen(driver, id)) === open, TIMEOUT, `dialog ${id} did not ${open ? 'open' : 'close'}`);
}

/** Opens the provider picker with the header's "Add account". */
export async function openPicker(driver) {
  await driver.findElement(By.id('add-account')).click();
  await waitForDialog(driver, 'picker');
}

/** Add account → picks the provider (typing `tenant` into its organization field, if given) → Continue. */
export async function clickConnect(driver, providerId, tenant = null) {
  await openPicker(driver);
  const option = await driver.wait(until.elementLocated(By.css(`#picker-list li[data-provider-id="${providerId}"] label`)), TIMEOUT);
  await option.click();
  if (tenant !== null) await driver.findElement(By.id('picker-tenant')).sendKeys(tenant);
  await driver.findElement(By.id('picker-connect')).click();
}

/** Opens an account's details from its row. */
export async function openDetails(driver, accountId) {
  await driver.findElement(By.css(`#accounts li[data-account-id="${accountId}"] button.account-open`)).click();
  await waitForDialog(driver, 'details');
  return driver.findElement(By.id('details'));
}

/** Disconnect from the account's details, confirmed in the dialog that asks. */
export async function disconnectAccount(driver, accountId) {
  const details = await openDetails(driver, accountId);
  await details.findElement(By.css('button.disconnect')).click();
  await waitForDialog(driver, 'confirm');
  await driver.findElement(By.css('#confirm button.confirm-disconnect')).click();
}

/** The ids of the accounts the main window lists. */
export async function accountIds(driver) {
  // Read in one step: the list may be redrawn between finding the items and reading them.
  return driver.executeScript("return [...document.querySelectorAll('#accounts li[data-account-id]')].map((li) => li.dataset.accountId);");
}

/** Waits for the status banner to show `kind` (and `code`, if given); returns its code and text. */
export async function waitForMessage(driver, kind, code) {
  const css = `#message[data-kind="${kind}"]${code ? `[data-code="${code}"]` : ''}`;
  const el = await driver.wait(until.elementLocated(By.css(css)), TIMEOUT, `no ${kind} message ${code ?? ''}`);
  return { code: await el.getAttribute('data-code'), text: await el.findElement(By.css('.message-text')).getText() };
}

/** Picks a language in the main window's language menu, as the user's keyboard would. */
export async function chooseLanguage(driver, code) {
  await driver.executeScript(
    'const s = document.getElementById("language"); s.focus(); s.value = arguments[0]; s.dispatchEvent(new Event("change"));',
    code,
  );
}

/**
 * Saves a screenshot of the current window under .artifacts/screenshots.
 *
 * WebKitGTK's WebDriver answers a screenshot after the page's next paint, and the main window paints
 * without GPU compositing (see `windows::open_main`), where a page that doesn't change never paints
 * again: the command would wait forever. So the page is given something to paint for two seconds: a
 * one-pixel dot in the top-left corner, at 1–2 % opacity, that is gone again afterwards.
 */
export async function screenshot(driver, name) {
  const dir = join(ARTIFACTS, 'screenshots');
  mkdirSync(dir, { recursive: true });
  await driver.executeScript(`
    const dot = document.createElement('div');
    dot.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;z-index:2147483647';
    document.documentElement.append(dot);
    let frame = 0;
    const paint = () => {
      dot.style.background = frame % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)';
      if (++frame < 120) requestAnimationFrame(paint); else dot.remove();
    };
    requestAnimationFrame(paint);`);
  writeFileSync(join(dir, `${name}.png`), await driver.takeScreenshot(), 'base64');
}

/** The keyring service name the app uses for an isolated `ACCOUNT_LINKER_HOME` (see src-tauri/src/paths.rs). */
export function keyringService(home) {
  return `account-linker:${createHash('sha256').update(resolve(home)).digest('hex').slice(0, 8)}`;
}

/** Looks a secret up in the real Secret Service; `null` when there is none. */
function keyringLookup(service, user) {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', service, 'username', user], { encoding: 'utf8' });
  } catch {
    return null;
  }
}

/**
 * An account's tokens as the app keeps them: one keyring item, user `<account-id>`, whose secret is the
 * JSON bundle `{"v":1,"access_token":…,"refresh_token":…,"id_token":…}` (see src-tauri/src/vault/mod.rs).
 * The parsed bundle, or `null` when the account has no item. Never prints the secret.
 */
export function storedTokens(home, accountId) {
  const text = keyringLookup(keyringService(home), accountId);
  if (text === null) return null;
  let bundle;
  try {
    bundle = JSON.parse(text);
  } catch {
    throw new Error(`the keyring item of account ${accountId} is not JSON`);
  }
  if (bundle?.v !== 1) throw new Error(`the keyring item of account ${accountId} is not a version 1 bundle`);
  return bundle;
}

/** POSTs to one of the demo provider's test controls. */
export async function demoControl(base, name) {
  const res = await fetch(new URL(`_control/${name}`, base), { method: 'POST' });
  if (!res.ok) throw new Error(`control ${name} answered ${res.status}`);
}

/** The first form of a page: its action and fields (hidden inputs), decoded from the HTML. */
function firstForm(html) {
  const unescape = (s) => s.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&#x27;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
  const attr = (tag, name) => {
    const m = tag.match(new RegExp(`${name}="([^"]*)"`));
    return m ? unescape(m[1]) : null;
  };
  const form = html.match(/<form[^>]*>[\s\S]*?<\/form>/);
  if (!form) throw new Error(`the page has no form: ${html.slice(0, 400)}`);
  const action = attr(form[0].match(/<form[^>]*>/)[0], 'action');
  const fields = [...form[0].matchAll(/<input[^>]*>/g)]
    .map((m) => m[0])
    .filter((tag) => tag.includes('type="hidden"'))
    .map((tag) => [attr(tag, 'name'), attr(tag, 'value') ?? '']);
  return { action, fields };
}

/**
 * Plays the user's own browser over HTTP: opens the sign-in link, keeps cookies, fills the provider's
 * login form (`demo`/`demo`), answers the consent page with `decision`, and returns the address the
 * provider finally sent the browser to (the app's URI scheme), as a browser would hand it to the OS.
 */
export async function signInOverHttp(link, decision = 'approve') {
  const cookies = new Map();
  let url = new URL(link);
  let init = { method: 'GET' };
  for (let step = 0; step < 20; step++) {
    const headers = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, headers: { ...headers, ...init.headers }, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair.indexOf('=');
      if (at > 0) cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return location;
      url = next;
      init = { method: 'GET' };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`the provider answered ${res.status}: ${html.slice(0, 400)}`);
    const { action, fields } = firstForm(html);
    if (html.includes('id="username"')) fields.push(['username', 'demo'], ['password', 'demo']);
    else if (html.includes('id="approve"')) fields.push(['decision', decision]);
    url = new URL(action, url);
    init = { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
  }
  throw new Error('no redirect to the app after 20 steps');
}
