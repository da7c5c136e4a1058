// Drives Debian's chromium (playwright-core) through Steward's SSO sign-in for
// crates/cli/tests/sso_oidc_browser.rs. Reads one command per line on stdin and answers each
// with one JSON line on stdout:
//   login <context> <idp login name> <return_to>   open /auth/login, sign in at the provider,
//                                                   consent, and report where the browser landed
//   fetch <context> <method> <path>                 fetch() from a Steward page of that context
//   quit
// A context is a separate browser profile (cookies), created on first use.
// Env: STEWARD_URL (http://127.0.0.1:PORT), CHROMIUM (default /usr/bin/chromium).
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const steward = process.env.STEWARD_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const contexts = new Map();

async function pageOf(name) {
  if (!contexts.has(name)) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    const state = { context, page, last: null };
    // The status of the last document Steward served (the callback's page is a 403 when refused).
    page.on('response', (r) => {
      if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && r.url().startsWith(steward)) {
        state.last = { url: r.url(), status: r.status() };
      }
    });
    contexts.set(name, state);
  }
  return contexts.get(name);
}

const onSteward = (u) => u.startsWith(steward) && !u.includes('/auth/login');

async function login(name, account, returnTo) {
  const s = await pageOf(name);
  const { page } = s;
  const visited = [];
  await page.goto(`${steward}/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  for (let step = 0; step < 6 && !onSteward(page.url()); step += 1) {
    visited.push(new URL(page.url()).pathname);
    if (await page.$('input[name=login]')) {
      await page.fill('input[name=login]', account);
      await page.fill('input[name=password]', 'any password');
    }
    const submit = await page.$('button[type=submit]');
    if (!submit) break;
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), submit.click()]);
  }
  await page.waitForURL((u) => onSteward(u.href));
  await page.waitForLoadState('load');
  const text = await page.evaluate(() => document.body.innerText);
  const cookies = (await s.context.cookies(steward)).map((c) => ({
    name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, secure: c.secure, path: c.path,
  }));
  return { url: page.url(), status: s.last && s.last.status, text, visited, cookies };
}

async function fetchIn(name, method, path) {
  const { page } = await pageOf(name);
  // Steward's sign-in pages forbid scripts from connecting anywhere (CSP), so fetch from a
  // plain page of the same origin.
  if (!page.url().startsWith(steward) || page.url().includes('/auth/')) await page.goto(`${steward}/healthz`);
  return page.evaluate(async ([m, p]) => {
    const r = await fetch(p, { method: m, credentials: 'same-origin', headers: { accept: 'application/json' } });
    return { status: r.status, text: await r.text() };
  }, [method, path]);
}

const rl = readline.createInterface({ input: process.stdin });
const reply = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
reply({ ready: true, browser: browser.version() });
for await (const line of rl) {
  const [cmd, ...args] = line.trim().split(/\s+/);
  try {
    if (cmd === 'login') reply(await login(args[0], args[1], args[2] || '/v1/me'));
    else if (cmd === 'fetch') reply(await fetchIn(args[0], args[1], args[2]));
    else if (cmd === 'quit') break;
    else reply({ error: `unknown command ${cmd}` });
  } catch (e) {
    reply({ error: String(e && e.stack || e) });
  }
}
await browser.close();
