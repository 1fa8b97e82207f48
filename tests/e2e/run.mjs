// A small sequential test runner: the tests share one app home, so they run in order, each in a fresh
// app session. Prints one line per test and the closing line "N passed, N failed".
// `node run.mjs TEXT` runs only the tests whose name contains TEXT (those that need no earlier test).
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, freePort, startDemoProvider, startDriver, startEmulators, startOidcProvider, stopAll } from './harness.mjs';
import { tests as browserTests } from './browser.test.mjs';
import { tests as linkTests } from './link.test.mjs';
import { tests as lockdownTests } from './lockdown.test.mjs';
import { tests as seedTests } from './seeds.test.mjs';
import { tests as trayTests } from './tray.test.mjs';
import { tests as uiTests } from './ui.test.mjs';

const only = process.argv[2];
const tests = [...linkTests, ...uiTests, ...seedTests, ...lockdownTests, ...browserTests, ...trayTests].filter(([name]) => !only || name.includes(only));
export const BROKEN_ENTRY = '\n[[provider]]\nid = "broken"\nname = "Broken"\nauthorize_url = "http://evil.example/authorize"\ntoken_url = "https://evil.example/token"\nclient_id = "x"\n';

const home = mkdtempSync(join(tmpdir(), 'account-linker-e2e-'));
let passed = 0;
let failed = 0;
try {
  const demoUrl = await startDemoProvider();
  const emulators = await startEmulators(home);
  const zfUrl = emulators.match(/zaehlerfreunde=(\S+)/)[1];
  // The "default browser" of the app under test: a script that records the links it is asked to open
  // (the app honours $BROWSER, as xdg-open and most programs do).
  const browserLog = join(home, 'browser-opened.txt');
  const fakeBrowser = join(home, 'fake-browser.sh');
  writeFileSync(fakeBrowser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${browserLog}'\n`);
  chmodSync(fakeBrowser, 0o755);
  // A broken entry the user might write: the app must start anyway, show it, and keep the others.
  appendFileSync(join(home, 'providers.toml'), BROKEN_ENTRY);
  // Any OpenID Connect provider, given by its issuer alone.
  const issuer = await startOidcProvider();
  appendFileSync(
    join(home, 'providers.toml'),
    `\n[[provider]]\nid = "oidc-test"\nname = "OIDC Test"\nissuer = "${issuer}"\nclient_id = "account-linker"\n` +
      'scopes = ["openid", "email", "profile", "offline_access"]\nauthorize_params = { prompt = "consent" }\n',
  );
  // A provider whose sign-in server is down: a loopback port nothing listens on.
  appendFileSync(
    join(home, 'providers.toml'),
    `\n[[provider]]\nid = "offline-test"\nname = "Offline Test"\nauthorize_url = "http://127.0.0.1:${await freePort()}/authorize"\n` +
      'token_url = "http://127.0.0.1:9/token"\nclient_id = "x"\n',
  );
  const ctx = { home, demoUrl, zfUrl, browserLog };
  const driver = await startDriver({
    ACCOUNT_LINKER_HOME: home,
    ACCOUNT_LINKER_DEMO_URL: demoUrl,
    BROWSER: fakeBrowser,
    ACCOUNT_LINKER_LOG_FILE: join(ARTIFACTS, 'app.log'),
    // Debug level, so that the redaction checks read the most the app ever logs.
    ACCOUNT_LINKER_LOG: 'debug',
  });
  ctx.driverLog = driver.log;
  for (const [name, fn] of tests) {
    const t0 = Date.now();
    console.log(`# ${name}`);
    try {
      await fn(ctx);
      passed++;
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name} (${Date.now() - t0} ms)\n  ${String(e?.stack ?? e).replaceAll('\n', '\n  ')}`);
    } finally {
      await ctx.cleanup?.();
      ctx.cleanup = undefined;
    }
  }
} catch (e) {
  failed++;
  console.log(`not ok - e2e setup\n  ${e?.stack ?? e}`);
} finally {
  stopAll();
}
// The shared app home goes with a passing run; a failing one leaves it for inspection.
if (failed) console.log(`# the tests' app home is kept: ${home}`);
else rmSync(home, { recursive: true, force: true });
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
