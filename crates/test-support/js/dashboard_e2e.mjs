// Drives Debian's chromium (playwright-core) through Steward's dashboard for
// crates/cli/tests/dashboard_browser.rs, against a real `steward serve --demo`.
//
//   node dashboard_e2e.mjs BASE_URL SCREENSHOT_DIR
//   env: CHROMIUM (default /usr/bin/chromium), E2E_STEPS (comma-separated step names, for
//        debugging by hand; the Rust test runs them all)
//
// Every figure the dashboard shows is compared with what the public API answers for the same
// window, read with fetch() from the dashboard's own page (same session cookie). The script
// does not judge: it prints one JSON line per check on stdout,
//   {"type":"check","name":"...","ui":<what the page shows>,"expected":<what the API says>}
// and the Rust test asserts (ui == expected for most checks, named rules for the others).
// Other lines:
//   {"type":"ready","browser":"..."}            chromium started
//   {"type":"request","what":"ingest"}          the test must ingest one OTLP data point and
//                                               answer one JSON line on stdin:
//                                               {"turns":1,"text_tokens":N,"email":"..."}
//   {"type":"screenshot","name":"...","path":"..."}
//   {"type":"error","step":"...","message":"..."}   a step crashed (the test fails)
//   {"type":"done"}
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const [base, shotDir] = process.argv.slice(2);
if (!base || !shotDir) {
  process.stderr.write('usage: node dashboard_e2e.mjs BASE_URL SCREENSHOT_DIR\n');
  process.exit(2);
}
fs.mkdirSync(shotDir, { recursive: true });

const out = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
const log = (...a) => process.stderr.write(`dashboard_e2e: ${a.join(' ')}\n`);

const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(what, details = {}) {
  out({ type: 'request', what, ...details });
  const next = await stdinLines.next();
  if (next.done) throw new Error(`stdin closed while waiting for an answer to ${what}`);
  return JSON.parse(next.value);
}

const DAY = 86_400;
const isoDay = (secs) => new Date(secs * 1000).toISOString().slice(0, 10);
const todayStart = Math.floor(Date.now() / 1000 / DAY) * DAY;
const today = isoDay(todayStart);
const daysAgo = (n) => isoDay(todayStart - n * DAY);
/** The API window of an inclusive UI date range. */
const windowOf = (start, end) => ({
  start_time: Date.parse(`${start}T00:00:00Z`) / 1000,
  end_time: Date.parse(`${end}T00:00:00Z`) / 1000 + DAY,
});
const r6 = (v) => Math.round(Number(v) * 1e6) / 1e6;

// ------------------------------------------------------------------ browser

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--force-color-profile=srgb', '--hide-scrollbars'],
});
const context = await browser.newContext({
  viewport: { width: 1366, height: 768 },
  colorScheme: 'light',
  acceptDownloads: true,
  locale: 'en-US',
  timezoneId: 'UTC',
});
const page = await context.newPage();
page.setDefaultTimeout(30_000);
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
out({ type: 'ready', browser: browser.version() });

let me = null;
let ws = null;
let analytics = null;

/** GET an API path from the page (the dashboard's session cookie); the parsed JSON body. */
async function api(p) {
  const r = await page.evaluate(async (u) => {
    const res = await fetch(u, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    return { status: res.status, text: await res.text() };
  }, p);
  if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${r.text.slice(0, 300)}`);
  return JSON.parse(r.text);
}

/** Any request from the page with the CSRF token; `{status, body}`. */
async function apiSend(method, p, body) {
  return page.evaluate(async ([m, u, b, csrf]) => {
    const res = await fetch(u, {
      method: m,
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await res.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch { parsed = text; }
    return { status: res.status, body: parsed };
  }, [method, p, body, me.csrf_token]);
}

async function apiText(p) {
  return page.evaluate(async (u) => {
    const res = await fetch(u, { credentials: 'same-origin' });
    return { status: res.status, text: await res.text() };
  }, p);
}

const qs = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();

/** Every usage row of a window (following next_page). */
async function usageRows(params) {
  const rows = [];
  let pageCursor = null;
  for (let i = 0; i < 100; i += 1) {
    const body = await api(`${analytics}/usage?${qs({ ...params, limit: 30000, page: pageCursor })}`);
    rows.push(...body.data);
    if (!body.has_more || !body.next_page) break;
    pageCursor = body.next_page;
  }
  return rows.sort((a, b) => a.start_time - b.start_time);
}

async function waitReady(view, timeout = 30_000) {
  await page.waitForFunction((v) => document.body.dataset.ready === v, view, { timeout });
}

/** Goes to a hash route without reloading and waits for the view's data to be painted. */
async function go(hash, view) {
  await page.evaluate((h) => new Promise((resolve) => {
    delete document.body.dataset.ready;
    if (window.location.hash === h) { resolve(); return; }
    window.addEventListener('hashchange', () => resolve(), { once: true });
    window.location.hash = h;
  }), hash);
  await waitReady(view);
}

/** Does something in the page that changes the hash (a click, a date), then waits for `view`. */
async function act(view, fn) {
  const before = await page.evaluate(() => { delete document.body.dataset.ready; return window.location.hash; });
  await fn();
  await page.waitForFunction((b) => window.location.hash !== b, before);
  await waitReady(view);
  return page.evaluate(() => window.location.hash);
}

/** Same comparison as the Rust side: integers exactly, fractions within 2e-6. */
function same(a, b) {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isInteger(a) && Number.isInteger(b)) return a === b;
    return Math.abs(a - b) <= 2e-6 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return same(ka, kb) && ka.every((k) => same(a[k], b[k]));
  }
  return a === b;
}

/**
 * Reads the page until it shows `expected` (the page refreshes in the background, and an
 * earlier render may still be on screen for a moment) or `ms` passed; the last reading.
 */
async function settle(read, expected, ms = 8000) {
  const t0 = Date.now();
  let ui = await read();
  while (!same(ui, expected) && Date.now() - t0 < ms) {
    await page.waitForTimeout(250);
    ui = await read();
  }
  return { ui, waited_ms: Date.now() - t0 };
}

async function check(name, read, expected, extra = {}) {
  const { ui, waited_ms } = await settle(read, expected);
  out({ type: 'check', name, ui, expected, waited_ms, ...extra });
  return ui;
}

async function screenshot(name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  // Let ECharts finish a resize or a theme change.
  await page.waitForTimeout(400);
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  out({ type: 'screenshot', name, path: file });
}

// ------------------------------------------------------------------ page readers

const kpis = (ids) => () => page.evaluate((list) => {
  const o = {};
  for (const id of list) {
    const el = document.querySelector(`[data-testid="${id}"]`);
    o[id] = el ? (el.dataset.value === '' ? null : Number(el.dataset.value)) : 'missing';
  }
  return o;
}, ids);

const series = (testid) => () => page.evaluate((id) => {
  const el = document.querySelector(`[data-testid="${id}"]`);
  if (!el) return 'missing';
  try { return JSON.parse(el.dataset.series); } catch (e) { return `unparsable data-series: ${el.dataset.series}`; }
}, testid);

/** A time chart as `{x, series}` with values rounded to micro units (credits are micro-precise). */
const timeChart = (testid) => async () => {
  const s = await series(testid)();
  if (typeof s !== 'object') return s;
  const outS = {};
  for (const [k, v] of Object.entries(s.series)) outS[k] = v.map(r6);
  return { x: s.x, series: outS };
};

/** A category chart as `{category: {series: value}}` (the order of categories is the UI's). */
const categoryChart = (testid) => async () => {
  const s = await series(testid)();
  if (typeof s !== 'object') return s;
  const o = {};
  s.x.forEach((cat, i) => {
    o[cat] = {};
    for (const [k, v] of Object.entries(s.series)) o[cat][k] = r6(v[i]);
  });
  return o;
};

// ------------------------------------------------------------------ expectations from the API

/** KPI tiles of the overview: sums of the workspace rows; active users = distinct people. */
async function overviewExpected(w, groupBy) {
  const rows = await usageRows({ group: 'workspace', group_by: groupBy, ...w });
  const perUser = await usageRows({ group_by: 'day', ...w });
  const sum = (f) => rows.reduce((a, r) => a + f(r), 0);
  return {
    rows,
    kpis: {
      'kpi-active-users': new Set(perUser.map((r) => r.user_id)).size,
      'kpi-threads': sum((r) => r.totals.threads),
      'kpi-turns': sum((r) => r.totals.turns),
      'kpi-credits': r6(sum((r) => r.totals.credits)),
      'kpi-text-tokens': sum((r) => r.totals.text_total_tokens),
    },
  };
}

/** One series per client (or model) over the rows' buckets: what a stacked time chart plots. */
function perBucketExpected(rows, dim, metric) {
  const keyOf = (it) => (dim === 'clients' ? it.client_id : it.model);
  const keys = new Set(rows.flatMap((r) => r[dim].map(keyOf)));
  const s = {};
  for (const k of keys) s[k] = rows.map((r) => r6((r[dim].find((it) => keyOf(it) === k) || {})[metric] || 0));
  return { x: rows.map((r) => r.start_time), series: s };
}

const TOKEN_METRICS = ['uncached_text_input_tokens', 'cached_text_input_tokens', 'text_output_tokens'];

function tokensByExpected(rows, dim) {
  const o = {};
  for (const r of rows) {
    for (const it of r[dim]) {
      const k = dim === 'clients' ? it.client_id : it.model;
      o[k] = o[k] || Object.fromEntries(TOKEN_METRICS.map((m) => [m, 0]));
      for (const m of TOKEN_METRICS) o[k][m] += it[m];
    }
  }
  return o;
}

function threadsTurnsExpected(rows) {
  const o = {};
  for (const r of rows) {
    for (const c of r.clients) {
      o[c.client_id] = o[c.client_id] || { threads: 0, turns: 0 };
      o[c.client_id].threads += c.threads;
      o[c.client_id].turns += c.turns;
    }
  }
  return o;
}

async function activeUsersExpected(w, groupBy) {
  const body = await api(`${ws}/analytics/active_users?${qs({ ...w, group_by: groupBy })}`);
  const buckets = [...body.data].sort((a, b) => a.start_time - b.start_time);
  const ids = new Set(buckets.flatMap((b) => b.clients.map((c) => c.client_id)));
  const s = { all: buckets.map((b) => b.active_users) };
  for (const id of ids) s[id] = buckets.map((b) => (b.clients.find((c) => c.client_id === id) || {}).active_users || 0);
  return { x: buckets.map((b) => b.start_time), series: s };
}

const OVERVIEW_KPIS = ['kpi-active-users', 'kpi-threads', 'kpi-turns', 'kpi-credits', 'kpi-text-tokens'];

/** The overview's tiles and all five charts against the API, for the window on screen. */
async function checkOverview(prefix, start, end, groupBy) {
  const w = windowOf(start, end);
  const exp = await overviewExpected(w, groupBy);
  const ui = await check(`${prefix}.kpis`, kpis(OVERVIEW_KPIS), exp.kpis, { window: w, group_by: groupBy });
  await check(`${prefix}.chart-active-users`, timeChart('chart-active-users'), await activeUsersExpected(w, groupBy));
  await check(`${prefix}.chart-credits-by-surface`, timeChart('chart-credits-by-surface'), perBucketExpected(exp.rows, 'clients', 'credits'));
  await check(`${prefix}.chart-tokens-by-surface`, categoryChart('chart-tokens-by-surface'), tokensByExpected(exp.rows, 'clients'));
  await check(`${prefix}.chart-tokens-by-model`, categoryChart('chart-tokens-by-model'), tokensByExpected(exp.rows, 'models'));
  await check(`${prefix}.chart-threads-turns`, categoryChart('chart-threads-turns'), threadsTurnsExpected(exp.rows));
  return { ui, exp };
}

const rangeHash = (view, start, end, groupBy) => `#/${view}?${qs({ start, end, group_by: groupBy })}`;

// ------------------------------------------------------------------ steps

const START30 = daysAgo(29);
const START7 = daysAgo(6);
const steps = [];
const step = (name, fn) => steps.push({ name, fn });

step('boot', async () => {
  // Opening `/` in demo mode signs the browser in.
  await page.goto(`${base}/`);
  await page.waitForFunction(() => !!document.body.dataset.ready);
  me = await api('/v1/me');
  ws = `/v1/workspaces/${encodeURIComponent(me.workspace_id)}`;
  analytics = `/v1/analytics/codex/workspaces/${encodeURIComponent(me.workspace_id)}`;
  const landing = await page.evaluate(() => ({
    ready: document.body.dataset.ready,
    identity: document.querySelector('[data-testid="identity"]')?.textContent ?? null,
  }));
  out({
    type: 'check',
    name: 'boot.signed-in',
    ui: { kind: me.kind, sign_in_method: me.sign_in_method, landing: landing.ready, identity_shown: !!landing.identity && landing.identity.includes('demo') },
    expected: { kind: 'local_admin', sign_in_method: 'demo', landing: 'overview', identity_shown: true },
  });
});

// Overview over the last 30 days by day, then the same in the dark theme.
step('overview', async () => {
  await go(rangeHash('overview', START30, today, 'day'), 'overview');
  await checkOverview('overview.30d-day', START30, today, 'day');
  await screenshot('overview-light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark', null, { timeout: 5000 }).catch(() => {});
  const dark = await page.evaluate(() => ({
    theme: document.documentElement.dataset.theme ?? null,
    background: getComputedStyle(document.body).backgroundColor,
  }));
  const lum = (() => {
    const m = dark.background.match(/\d+(\.\d+)?/g) || ['255', '255', '255'];
    const [r, g, b] = m.map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  })();
  out({ type: 'check', name: 'overview.dark-theme', ui: { theme: dark.theme, dark_background: lum < 0.35 }, expected: { theme: 'dark', dark_background: true }, extra: dark });
  await screenshot('overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light', null, { timeout: 5000 }).catch(() => {});
});

// The date range and the day/week toggle change the figures, and match the API.
step('range', async () => {
  await go(rangeHash('overview', START30, today, 'day'), 'overview');
  const thirty = (await overviewExpected(windowOf(START30, today), 'day')).kpis;
  // The "Last 7 days" preset.
  let hash = await act('overview', () => page.click('[data-testid="range-preset-7"]'));
  const seven = await checkOverview('range.preset-7d', START7, today, 'day');
  out({
    type: 'check',
    name: 'range.7d-vs-30d',
    ui: { hash, turns_7d: seven.ui['kpi-turns'], turns_30d: thirty['kpi-turns'], text_tokens_7d: seven.ui['kpi-text-tokens'], text_tokens_30d: thirty['kpi-text-tokens'], credits_7d: seven.ui['kpi-credits'], credits_30d: thirty['kpi-credits'] },
    expected: { start: START7, end: today },
  });
  // Dates typed into the two inputs (a past fortnight).
  const s = daysAgo(20);
  const e = daysAgo(8);
  await act('overview', () => page.fill('[data-testid="range-start"]', s));
  hash = await act('overview', () => page.fill('[data-testid="range-end"]', e));
  const typed = await checkOverview('range.typed-dates', s, e, 'day');
  out({ type: 'check', name: 'range.typed-dates-hash', ui: { has_start: hash.includes(`start=${s}`), has_end: hash.includes(`end=${e}`), turns: typed.ui['kpi-turns'] !== thirty['kpi-turns'] }, expected: { has_start: true, has_end: true, turns: true }, extra: { hash } });
  // Back to 30 days, then the week toggle.
  await go(rangeHash('overview', START30, today, 'day'), 'overview');
  const dayChart = await series('chart-credits-by-surface')();
  hash = await act('overview', () => page.click('[data-testid="group-by-week"]'));
  const week = await checkOverview('range.week', START30, today, 'week');
  const weekChart = await series('chart-credits-by-surface')();
  const weekActive = await series('chart-active-users')();
  const pressed = await page.evaluate(() => document.querySelector('[data-testid="group-by-week"]')?.getAttribute('aria-pressed'));
  out({
    type: 'check',
    name: 'range.week-buckets',
    ui: {
      hash,
      pressed,
      day_buckets: dayChart.x.length,
      week_buckets: weekChart.x.length,
      week_x: weekChart.x,
      active_users_week_x: weekActive.x,
      threads_day: thirty['kpi-threads'],
      threads_week: week.ui['kpi-threads'],
    },
    expected: { start: START30, end: today },
  });
  await act('overview', () => page.click('[data-testid="group-by-day"]'));
});

// The ranking: first page as the API, sorted by each column both ways.
const SORT_COLUMNS = [
  // [the UI's column (data-col / sort-* test id), the API's documented sort value]
  ['credits', 'credits'],
  ['threads', 'threads'],
  ['turns', 'turns'],
  ['text_tokens', 'text_tokens'],
  ['current_streak', 'streak'],
];

const rankingRows = () => page.evaluate(() => {
  const table = document.querySelector('[data-testid="ranking-table"]');
  if (!table) return 'missing';
  const num = (td) => (td ? Number(td.textContent.replace(/[^0-9.-]/g, '')) : null);
  const rows = [...table.querySelectorAll('[data-testid="ranking-row"]')].map((tr) => ({
    user_id: tr.dataset.userId,
    threads: num(tr.querySelector('[data-col="threads"]')),
    turns: num(tr.querySelector('[data-col="turns"]')),
    text_tokens: num(tr.querySelector('[data-col="text_tokens"]')),
    current_streak: num(tr.querySelector('[data-col="current_streak"]')),
  }));
  const sorted = [...table.querySelectorAll('th[aria-sort]')].filter((th) => th.getAttribute('aria-sort') !== 'none');
  return {
    rows,
    aria_sort: sorted.map((th) => `${th.querySelector('button')?.dataset.testid}:${th.getAttribute('aria-sort')}`),
  };
});

async function rankingExpected(w, sort, order, uiCol, limit = 25) {
  const body = await api(`${ws}/analytics/users?${qs({ ...w, sort, order, limit, offset: 0 })}`);
  return {
    rows: body.data.map((r) => ({
      user_id: r.user_id,
      threads: r.threads,
      turns: r.turns,
      text_tokens: r.text_tokens,
      current_streak: r.current_streak,
    })),
    aria_sort: [`sort-${uiCol}:${order === 'asc' ? 'ascending' : 'descending'}`],
  };
}

step('users', async () => {
  const w = windowOf(START30, today);
  await go(rangeHash('users', START30, today, 'day'), 'users');
  await check('users.ranking.default', rankingRows, await rankingExpected(w, 'credits', 'desc', 'credits'));
  const total = (await api(`${ws}/analytics/users?${qs({ ...w, limit: 1 })}`)).total;
  await check('users.ranking.total', () => page.evaluate(() => document.querySelector('[data-testid="ranking-range"]')?.textContent ?? 'missing'), `Rows 1–${Math.min(25, total)} of ${total.toLocaleString('en-US')}`);
  await screenshot('users');
  let current = ['credits', 'desc'];
  for (const [col, apiSort] of SORT_COLUMNS) {
    for (const order of ['desc', 'asc']) {
      // A click on a column sorts by it, highest first; a second click flips the order.
      while (!(current[0] === col && current[1] === order)) {
        await act('users', () => page.click(`[data-testid="sort-${col}"]`));
        current = current[0] === col && current[1] === 'desc' ? [col, 'asc'] : [col, 'desc'];
      }
      const hash = await page.evaluate(() => window.location.hash);
      await check(`users.sort.${apiSort}.${order}`, rankingRows, await rankingExpected(w, apiSort, order, col), { hash });
    }
  }
});

// One person's page, reached from the ranking's first row.
step('user', async () => {
  const w = windowOf(START30, today);
  await go(rangeHash('users', START30, today, 'day'), 'users');
  const first = await page.evaluate(() => document.querySelector('[data-testid="ranking-row"]')?.dataset.userId);
  await act('user', () => page.click('[data-testid="ranking-row"] a'));
  const hash = await page.evaluate(() => window.location.hash);
  out({ type: 'check', name: 'user.link', ui: decodeURIComponent(hash.split('?')[0]), expected: `#/users/${first}` });
  const sum = await api(`${ws}/analytics/users/${encodeURIComponent(first)}?${qs(w)}`);
  await check('user.kpis', kpis(['kpi-credits', 'kpi-threads', 'kpi-turns', 'kpi-text-tokens', 'kpi-streak', 'kpi-active-days']), {
    'kpi-credits': r6(sum.credits),
    'kpi-threads': sum.threads,
    'kpi-turns': sum.turns,
    'kpi-text-tokens': sum.text_tokens,
    'kpi-streak': sum.current_streak,
    'kpi-active-days': sum.active_days,
  }, { user_id: first });
  const rows = await usageRows({ group_by: 'day', user_id: first, ...w });
  await check('user.chart-credits-by-surface', timeChart('chart-credits-by-surface'), perBucketExpected(rows, 'clients', 'credits'));
  await check('user.chart-credits-by-model', timeChart('chart-credits-by-model'), perBucketExpected(rows, 'models', 'credits'));
  await check('user.chart-tokens-by-surface', categoryChart('chart-tokens-by-surface'), tokensByExpected(rows, 'clients'));
  await check('user.chart-tokens-by-model', categoryChart('chart-tokens-by-model'), tokensByExpected(rows, 'models'));
  await screenshot('user');
});

step('me', async () => {
  await go(rangeHash('me', START30, today, 'day'), 'me');
  const ui = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="me-not-a-person"]');
    return { message: !!el, text: el ? el.textContent : null, charts: document.querySelectorAll('[data-series]').length };
  });
  out({
    type: 'check',
    name: 'me.local-admin-message',
    ui: { message: ui.message, explains_local_admin: !!ui.text && /local \(break-glass\) admin/.test(ui.text) && /no\s+usage of its own/.test(ui.text), charts: ui.charts },
    expected: { message: true, explains_local_admin: true, charts: 0 },
    extra: { text: ui.text },
  });
  await screenshot('me');
});

step('code-review', async () => {
  await go(rangeHash('code-review', START30, today, 'day'), 'code-review');
  const exported = await apiText(`${ws}/analytics/export?${qs({ dataset: 'code_review', format: 'csv', ...windowOf(START30, today) })}`);
  const ui = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="code-review-empty"]');
    return { empty_state: !!el, text: el ? el.textContent : '' };
  });
  out({
    type: 'check',
    name: 'code-review.empty-state',
    ui: { empty_state: ui.empty_state, says_no_data: ui.text.includes('No Code Review data yet'), explains_connection: /GitHub/.test(ui.text) },
    // The API has no Code Review rows either: its export is the header alone.
    expected: { empty_state: exported.text.trim().split('\n').length === 1, says_no_data: true, explains_connection: true },
  });
  await screenshot('code-review');
});

const POLICY = 'e2e-baseline';
const VALID_V1 = 'allowed_approval_policies = ["never", "on-request"]\nallowed_sandbox_modes = ["read-only", "workspace-write"]\n';
const INVALID = '# Edited in the browser test\nallowed_approval_policies = ["never", "on-request"]\n\nallowed_sandbox_modes = ["read-only", "yolo"]\n';
const VALID_V2 = `# Edited in the browser test at ${new Date().toISOString()}\n` + 'allowed_approval_policies = ["on-request"]\nallowed_sandbox_modes = ["read-only"]\n';

step('policies', async () => {
  const before = await api(`${ws}/policies`);
  if (!before.data.some((p) => p.name === POLICY)) {
    const created = await apiSend('POST', `${ws}/policies`, { name: POLICY, description: 'Created by the browser test', requirements_toml: VALID_V1, comment: 'e2e' });
    if (created.status !== 200 && created.status !== 201) throw new Error(`creating ${POLICY}: ${created.status} ${JSON.stringify(created.body)}`);
  }
  const list = await api(`${ws}/policies`);
  await go('#/policies', 'policies');
  await check('policies.list', () => page.evaluate(() => [...document.querySelectorAll('[data-testid="policy-row"]')].map((tr) => tr.dataset.policy)), list.data.map((p) => p.name));

  // "Which policy applies to": an unknown email shows the server's message inline.
  const unknown = 'nobody-at-all@unknown.example';
  const answer = await apiText(`${ws}/policy_lookup?${qs({ email: unknown })}`);
  let detail = null;
  try { detail = JSON.parse(answer.text).detail; } catch { detail = answer.text; }
  await page.fill('[data-testid="policy-lookup-email"]', unknown);
  await page.click('[data-testid="policy-lookup-submit"]');
  await page.waitForSelector('[data-testid="policy-lookup-error"], [data-testid="policy-lookup-result"]');
  const shown = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="policy-lookup-error"]');
    return { error: !!el, text: el ? el.textContent : null, main: document.querySelector('main')?.innerText.length ?? 0 };
  });
  out({
    type: 'check',
    name: 'policies.lookup-unknown-email',
    ui: { error_shown: shown.error, server_message_shown: !!shown.text && typeof detail === 'string' && shown.text.includes(detail), page_intact: shown.main > 200 },
    expected: { error_shown: answer.status === 404 || answer.status === 400, server_message_shown: true, page_intact: true },
    extra: { status: answer.status, detail, text: shown.text },
  });
  // A known person: the answer names what the API names.
  const someone = (await api(`${ws}/users`)).data.find((u) => u.email).email;
  const lookup = await api(`${ws}/policy_lookup?${qs({ email: someone })}`);
  await page.fill('[data-testid="policy-lookup-email"]', someone);
  await page.click('[data-testid="policy-lookup-submit"]');
  await page.waitForSelector('[data-testid="policy-lookup-result"], [data-testid="policy-lookup-error"]');
  const result = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="policy-lookup-result"]');
    return el ? { policy: el.dataset.policy, text: el.textContent } : { policy: 'no result shown', text: document.querySelector('[data-testid="policy-lookup-error"]')?.textContent };
  });
  out({
    type: 'check',
    name: 'policies.lookup-known-email',
    ui: { policy: result.policy, explanation_shown: !!result.text && result.text.includes(lookup.explanation) },
    expected: { policy: lookup.policy ? lookup.policy.name : '', explanation_shown: true },
    extra: { email: someone, text: result.text },
  });
  await screenshot('policies');
});

const problems = () => page.evaluate(() => {
  const list = document.querySelector('[data-testid="policy-problems"]');
  if (!list) return 'missing';
  return [...list.querySelectorAll('li')].map((li) => ({
    line: Number(li.dataset.line),
    severity: li.dataset.severity ?? null,
    code: li.dataset.code ?? null,
    text: li.textContent,
  }));
});

step('policy-editor', async () => {
  const base = `${ws}/policies/${encodeURIComponent(POLICY)}`;
  const revisionsBefore = (await api(`${base}/revisions`)).data.map((r) => r.revision).sort((a, b) => a - b);
  await go(`#/policies/${encodeURIComponent(POLICY)}`, 'policy');
  const editor = '[data-testid="policy-editor"]';

  // An invalid document: the problem with its line and message, and Save blocked.
  const validation = await apiSend('POST', `${ws}/policies/validate`, { requirements_toml: INVALID, managed_config_toml: '' });
  const diags = validation.body.diagnostics.requirements_toml;
  await page.fill(editor, INVALID);
  const expectedProblems = diags.map((d) => ({ line: d.line, severity: d.severity, code: d.code, message: d.message }));
  const read = async () => {
    const p = await problems();
    if (!Array.isArray(p)) return p;
    // Each item shows the line and the server's own message.
    return p.map((x, i) => {
      const d = expectedProblems[i];
      return { line: x.line, severity: x.severity, code: x.code, message: d && x.text.includes(`Line ${d.line}`) && x.text.includes(d.message) ? d.message : x.text };
    });
  };
  await check('policy.invalid.problems', read, expectedProblems, { validate_status: validation.status, valid: validation.body.valid });
  await check('policy.invalid.save-blocked', () => page.evaluate(() => {
    const save = document.querySelector('[data-testid="policy-save"]');
    const gutter = [...document.querySelectorAll('.gutter-line.has-error')].map((g) => g.textContent.replace(/[^0-9]/g, ''));
    return {
      save_disabled: save ? save.disabled : 'missing',
      says_fix_the_error: /^Fix the error (above|below) to save\.$/.test(document.querySelector('[data-testid="policy-save-status"]')?.textContent ?? ''),
      error_lines_marked: gutter.map(Number),
    };
  }), { save_disabled: true, says_fix_the_error: true, error_lines_marked: [...new Set(diags.filter((d) => d.severity === 'error').map((d) => d.line))] });
  // Pressing Enter in the form or clicking must not store anything.
  await page.click('[data-testid="policy-save"]', { force: true }).catch(() => {});
  await page.waitForTimeout(500);
  const afterInvalid = (await api(`${base}/revisions`)).data.map((r) => r.revision).sort((a, b) => a - b);
  out({ type: 'check', name: 'policy.invalid.nothing-stored', ui: afterInvalid, expected: revisionsBefore });
  await screenshot('policy-editor-invalid');

  // A valid document saves as a new revision.
  await page.fill(editor, VALID_V2);
  await page.waitForFunction(() => {
    const save = document.querySelector('[data-testid="policy-save"]');
    return save && !save.disabled;
  }, null, { timeout: 15_000 }).catch(() => {});
  const enabled = await page.evaluate(() => {
    const save = document.querySelector('[data-testid="policy-save"]');
    return save ? !save.disabled : false;
  });
  const latest = revisionsBefore[revisionsBefore.length - 1];
  let confirmed = false;
  let statusTexts = [];
  if (enabled) {
    // Every text the save status shows from the click on (it may change within milliseconds).
    await page.evaluate(() => {
      const seen = [];
      window.__stewardSaveStatus = seen;
      const note = () => {
        const t = document.querySelector('[data-testid="policy-save-status"]')?.textContent ?? null;
        if (seen.length === 0 || seen[seen.length - 1].text !== t) seen.push({ text: t, at: performance.now() });
      };
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
      note();
    });
    await page.click('[data-testid="policy-save"]');
    // The editor reloads the policy, now at the new revision.
    await page.waitForFunction((n) => (document.querySelector('.view-head')?.textContent ?? '').includes(`Revision ${n} of ${n}`), latest + 1, { timeout: 15_000 }).catch(() => {});
    await page.waitForTimeout(1500);
    statusTexts = await page.evaluate(() => {
      const seen = window.__stewardSaveStatus;
      return seen.map((s, i) => ({ text: s.text, ms: Math.round(((seen[i + 1] ? seen[i + 1].at : performance.now()) - s.at)) }));
    });
    // Shown long enough to be read (a second at least, or still there).
    confirmed = statusTexts.some((s) => (s.text ?? '').includes(`Saved as revision ${latest + 1}`) && s.ms >= 1000);
  }
  const revisions = (await api(`${base}/revisions`)).data.map((r) => r.revision).sort((a, b) => a - b);
  const stored = await api(base);
  const ui = await page.evaluate(() => ({
    head: document.querySelector('.view-head p')?.textContent ?? 'missing',
    editor: document.querySelector('[data-testid="policy-editor"]')?.value ?? 'missing',
    problems: document.querySelectorAll('[data-testid="policy-problems"] li.problem-error').length,
  }));
  out({
    type: 'check',
    name: 'policy.valid.saved',
    ui: {
      save_enabled: enabled,
      head: ui.head.split('·')[0].trim(),
      editor_shows_saved: ui.editor === VALID_V2,
      errors_shown: ui.problems,
      revisions,
      stored_requirements: stored.requirements_toml,
    },
    expected: {
      save_enabled: true,
      head: `Revision ${latest + 1} of ${latest + 1}`,
      editor_shows_saved: true,
      errors_shown: 0,
      revisions: [...revisionsBefore, latest + 1],
      stored_requirements: VALID_V2,
    },
  });
  // The person who saved is told so, long enough to read it.
  out({
    type: 'check',
    name: 'policy.valid.confirmation-visible',
    ui: { confirmation_shown_1s: confirmed },
    expected: { confirmation_shown_1s: true },
    status_texts: statusTexts,
  });
  await check('policy.valid.revisions-table', () => page.evaluate(() => [...document.querySelectorAll('[data-testid="policy-revisions"] tbody tr td:first-child')].map((td) => Number(td.textContent)).sort((a, b) => a - b)), revisions);
  await screenshot('policy-editor');
});

step('people', async () => {
  const users = (await api(`${ws}/users`)).data;
  await go('#/people', 'people');
  await check('people.users', () => page.evaluate(() => ({
    caption: document.querySelector('[data-testid="people-users"] caption')?.textContent ?? 'missing',
    first_page: [...document.querySelectorAll('[data-testid="people-user-row"]')].map((tr) => tr.dataset.userId),
  })), { caption: `${users.length.toLocaleString('en-US')} users`, first_page: users.slice(0, 100).map((u) => u.id) });
  await screenshot('people');
  const roles = (await api(`${ws}/roles`)).data;
  await act('people', () => page.click('[data-testid="tab-roles"]'));
  await check('people.roles', () => page.evaluate(() => [...document.querySelectorAll('[data-testid="people-roles"] tbody tr')].map((tr) => ({
    name: tr.querySelector('strong')?.textContent ?? '',
    permissions: [...tr.querySelectorAll('code')].map((c) => c.textContent),
  }))), roles.map((r) => ({ name: r.name, permissions: r.permissions })));
  const assignments = (await api(`${ws}/role_assignments`)).data;
  await act('people', () => page.click('[data-testid="tab-assignments"]'));
  await check('people.role-assignments', () => page.evaluate(() => ({
    rows: document.querySelectorAll('[data-testid="people-assignments"] tbody tr').length,
    empty_message: /No role is assigned/.test(document.querySelector('[role="tabpanel"]')?.textContent ?? ''),
  })), { rows: assignments.length, empty_message: assignments.length === 0 });
  const keys = (await api(`${ws}/keys`)).data;
  await act('people', () => page.click('[data-testid="tab-keys"]'));
  await check('people.keys', () => page.evaluate(() => [...document.querySelectorAll('[data-testid="key-row"]')].map((tr) => tr.dataset.keyId)), keys.map((k) => k.id));
  await screenshot('people-keys');
});

// ------------------------------------------------------------------ exports

function parseCsv(text) {
  const lines = text.trim().split('\n');
  const header = lines[0].split(',');
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
}

/** Clicks an export link, waits for the download; its text, href and file name. */
async function download(testid) {
  const link = await page.$(`[data-testid="${testid}"]`);
  if (!link) throw new Error(`no [data-testid="${testid}"] on ${await page.evaluate(() => window.location.hash)}`);
  const href = await link.getAttribute('href');
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), link.click()]);
  const failure = await dl.failure();
  if (failure) throw new Error(`download of ${testid} failed: ${failure}`);
  const file = await dl.path();
  return { text: fs.readFileSync(file, 'utf8'), href, filename: dl.suggestedFilename() };
}

const hrefParams = (href) => Object.fromEntries(new URL(href, base).searchParams.entries());

step('exports', async () => {
  const w = windowOf(START30, today);
  // Workspace usage, by week, from the overview.
  await go(rangeHash('overview', START30, today, 'week'), 'overview');
  const csv = await download('export-workspace_usage-csv');
  const api1 = await apiText(csv.href);
  const rows = await usageRows({ group: 'workspace', group_by: 'week', ...w });
  const active = (await api(`${ws}/analytics/active_users?${qs({ ...w, group_by: 'week' })}`)).data;
  const parsed = parseCsv(csv.text);
  const alls = parsed.filter((r) => r.surface === 'all');
  const p = hrefParams(csv.href);
  out({
    type: 'check',
    name: 'exports.workspace_usage.csv',
    ui: {
      window: { start_time: Number(p.start_time), end_time: Number(p.end_time), group_by: p.group_by },
      same_as_api: csv.text === api1.text,
      all_rows: alls.map((r) => ({ start_time: Number(r.start_time), turns: Number(r.turns), threads: Number(r.threads), text_total_tokens: Number(r.text_total_tokens), active_users: Number(r.active_users) })),
      surface_rows: parsed.length - alls.length,
    },
    expected: {
      window: { ...w, group_by: 'week' },
      same_as_api: api1.status === 200,
      all_rows: rows.map((r) => ({
        start_time: r.start_time,
        turns: r.totals.turns,
        threads: r.totals.threads,
        text_total_tokens: r.totals.text_total_tokens,
        active_users: (active.find((a) => a.start_time === r.start_time) || {}).active_users,
      })),
      surface_rows: rows.reduce((a, r) => a + r.clients.length, 0),
    },
    extra: { filename: csv.filename },
  });
  const json = await download('export-workspace_usage-json');
  const api2 = await apiText(json.href);
  const jrows = JSON.parse(json.text).data;
  out({
    type: 'check',
    name: 'exports.workspace_usage.json',
    ui: { same_as_api: json.text === api2.text, rows: jrows.map((r) => [Number(r.start_time), String(r.surface), Number(r.turns), Number(r.threads)]) },
    expected: { same_as_api: api2.status === 200, rows: parsed.map((r) => [Number(r.start_time), r.surface, Number(r.turns), Number(r.threads)]) },
    extra: { filename: json.filename },
  });

  // Usage per user, by day, from the ranking.
  await go(rangeHash('users', START30, today, 'day'), 'users');
  const ucsv = await download('export-user_usage-csv');
  const api3 = await apiText(ucsv.href);
  const perUser = await usageRows({ group_by: 'day', ...w });
  const uparsed = parseCsv(ucsv.text).filter((r) => r.surface === 'all');
  const key = (r) => `${r.start_time}|${r.user_id}`;
  const sortBy = (a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0);
  const up = hrefParams(ucsv.href);
  out({
    type: 'check',
    name: 'exports.user_usage.csv',
    ui: {
      window: { start_time: Number(up.start_time), end_time: Number(up.end_time), group_by: up.group_by },
      same_as_api: ucsv.text === api3.text,
      all_rows: uparsed.map((r) => ({ k: key(r), turns: Number(r.turns), text_total_tokens: Number(r.text_total_tokens) })).sort(sortBy),
    },
    expected: {
      window: { ...w, group_by: 'day' },
      same_as_api: api3.status === 200,
      all_rows: perUser.map((r) => ({ k: key(r), turns: r.totals.turns, text_total_tokens: r.totals.text_total_tokens })).sort(sortBy),
    },
    extra: { filename: ucsv.filename, rows: uparsed.length },
  });

  // Code Review: the header row (no data yet), as the API.
  await go(rangeHash('code-review', START30, today, 'day'), 'code-review');
  const cr = await download('export-code_review-csv');
  const api4 = await apiText(cr.href);
  out({
    type: 'check',
    name: 'exports.code_review.csv',
    ui: { same_as_api: cr.text === api4.text, lines: cr.text.trim().split('\n').length, header: cr.text.split('\n')[0].startsWith('start_time,end_time,date,prs_reviewed') },
    expected: { same_as_api: api4.status === 200, lines: 1, header: true },
    extra: { filename: cr.filename },
  });
});

step('compliance', async () => {
  // The demo seals its records in the background: wait for that to finish.
  // Sealed means: CODEX_LOG files exist and only a few records (the audit records of this
  // test's own sign-in and policy changes) wait for the next seal, and nothing moves.
  let status = null;
  let previous = null;
  const deadline = Date.now() + 180_000;
  for (;;) {
    status = await api(`${ws}/compliance/status`);
    const sealed = status.files.some((f) => f.event_type === 'CODEX_LOG') && status.pending_records < 100;
    if (sealed && previous === JSON.stringify(status)) break;
    if (Date.now() > deadline) throw new Error(`the demo's records were not sealed in time: ${JSON.stringify(status)}`);
    previous = JSON.stringify(status);
    await page.waitForTimeout(1000);
  }
  await go('#/compliance', 'compliance');
  const expected = { pending: status.pending_records };
  for (const f of status.files) expected[`files-${f.event_type}`] = f.files;
  await check('compliance.files', () => page.evaluate(() => {
    const o = {};
    for (const el of document.querySelectorAll('[data-testid^="compliance-files-"]')) {
      o[el.dataset.testid.replace('compliance-', '')] = el.dataset.value === '' ? null : Number(el.dataset.value);
    }
    const p = document.querySelector('[data-testid="compliance-pending"]');
    o.pending = p ? Number(p.dataset.value) : 'missing';
    return o;
  }), expected);
  await check('compliance.retention', () => page.evaluate(() => [...document.querySelectorAll('[data-testid="compliance-retention"] tbody tr td:first-child')].map((td) => td.textContent)), status.retention.map((r) => r.event_type));
  await page.click('[data-testid="verify-now"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="verify-result"]')?.dataset.ok !== undefined, null, { timeout: 120_000 });
  const ui = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="verify-result"]');
    return { ok: el.dataset.ok, text: el.textContent };
  });
  const v = await api(`${ws}/compliance/verification`);
  const nums = (ui.text.match(/([\d,]+) digests, ([\d,]+) files and ([\d,]+) records checked/) || []).slice(1).map((n) => Number(n.replace(/,/g, '')));
  out({
    type: 'check',
    name: 'compliance.verify-now',
    ui: { ok: ui.ok, verified: ui.text.includes('Verified'), digests_files_records: nums },
    expected: { ok: String(v.ok), verified: v.ok === true, digests_files_records: [v.digests_checked, v.files_checked, v.records_checked] },
    extra: { text: ui.text },
  });
  await screenshot('compliance');
});

// ------------------------------------------------------------------ bad input

step('bad-input', async () => {
  await go(rangeHash('overview', START30, today, 'day'), 'overview');
  // Reversed dates typed into the inputs: the start after the end.
  const before = await page.evaluate(() => window.location.hash);
  await page.fill('[data-testid="range-start"]', daysAgo(2));
  await page.fill('[data-testid="range-end"]', daysAgo(10));
  await page.waitForFunction((b) => window.location.hash !== b, before);
  await page.waitForSelector('[data-testid="range-error"]', { timeout: 10_000 }).catch(() => {});
  const ui = await page.evaluate(() => {
    const err = document.querySelector('[data-testid="range-error"]');
    const main = document.querySelector('main');
    return {
      error: err ? err.textContent.replace(/^\W+/, '').trim() : null,
      error_visible: !!err && err.getBoundingClientRect().height > 0,
      heading: main?.querySelector('h2')?.textContent ?? null,
      range_controls: !!document.querySelector('[data-testid="range-start"]') && !!document.querySelector('[data-testid="range-end"]'),
      crashed: !!document.querySelector('[data-testid="crash"]'),
      nav: document.querySelectorAll('nav a').length > 0,
      start_invalid: document.querySelector('[data-testid="range-start"]')?.getAttribute('aria-invalid') ?? null,
    };
  });
  out({
    type: 'check',
    name: 'bad-input.reversed-dates',
    ui,
    expected: { error: 'Start date must be on or before end date', error_visible: true, heading: 'Overview', range_controls: true, crashed: false, nav: true, start_invalid: 'true' },
  });
  await screenshot('overview-reversed-dates');
  // An unknown user's page shows the server's message, not a blank page.
  await page.evaluate(() => { delete document.body.dataset.ready; window.location.hash = '#/users/user-does-not-exist'; });
  await page.waitForFunction(() => document.body.dataset.ready === 'user', null, { timeout: 30_000 }).catch(() => {});
  const answer = await apiText(`${ws}/analytics/users/user-does-not-exist`);
  let detail = null;
  try { detail = JSON.parse(answer.text).detail; } catch { detail = answer.text; }
  const unknown = await page.evaluate(() => ({
    ready: document.body.dataset.ready ?? null,
    alert: [...document.querySelectorAll('[role="alert"]')].map((a) => a.textContent).join(' | '),
    crashed: !!document.querySelector('[data-testid="crash"]'),
  }));
  out({
    type: 'check',
    name: 'bad-input.unknown-user-page',
    ui: { ready: unknown.ready, server_message_shown: typeof detail === 'string' && unknown.alert.includes(detail), crashed: unknown.crashed },
    expected: { ready: 'user', server_message_shown: true, crashed: false },
    extra: { status: answer.status, detail, alert: unknown.alert },
  });
});

// ------------------------------------------------------------------ freshness

step('freshness', async () => {
  // The default overview (last 30 days, today included), left open.
  await go('#/overview', 'overview');
  const w = windowOf(START30, today);
  const base0 = (await overviewExpected(w, 'day')).kpis;
  const read = kpis(['kpi-turns', 'kpi-text-tokens']);
  const { ui: before } = await settle(read, { 'kpi-turns': base0['kpi-turns'], 'kpi-text-tokens': base0['kpi-text-tokens'] });
  out({ type: 'check', name: 'freshness.baseline', ui: before, expected: { 'kpi-turns': base0['kpi-turns'], 'kpi-text-tokens': base0['kpi-text-tokens'] } });
  await page.evaluate(() => { window.__stewardE2eNoReload = true; });
  const ingested = await ask('ingest');
  const t0 = Date.now();
  let after = before;
  while (Date.now() - t0 < 30_000) {
    after = await read();
    if (after['kpi-turns'] !== before['kpi-turns'] && after['kpi-text-tokens'] !== before['kpi-text-tokens']) break;
    await page.waitForTimeout(200);
  }
  const seconds = (Date.now() - t0) / 1000;
  const kept = await page.evaluate(() => window.__stewardE2eNoReload === true);
  const base1 = (await overviewExpected(w, 'day')).kpis;
  out({
    type: 'check',
    name: 'freshness.ingested-point-shown',
    ui: {
      turns_delta: after['kpi-turns'] - before['kpi-turns'],
      text_tokens_delta: after['kpi-text-tokens'] - before['kpi-text-tokens'],
      api_turns_delta: base1['kpi-turns'] - base0['kpi-turns'],
      api_text_tokens_delta: base1['kpi-text-tokens'] - base0['kpi-text-tokens'],
      no_reload: kept,
      within_20s: seconds <= 20,
    },
    expected: {
      turns_delta: ingested.turns,
      text_tokens_delta: ingested.text_tokens,
      api_turns_delta: ingested.turns,
      api_text_tokens_delta: ingested.text_tokens,
      no_reload: true,
      within_20s: true,
    },
    extra: { seconds },
  });
  await screenshot('overview-after-ingest');
});

step('console', async () => {
  // Nothing the dashboard did logged an error, besides the lookups and pages that were meant
  // to fail (the browser logs their 404 responses).
  const unexpected = consoleErrors.filter((e) => !/404|Not Found/i.test(e));
  out({ type: 'check', name: 'console.no-errors', ui: unexpected, expected: [] });
});

const only = (process.env.E2E_STEPS || '').split(',').filter(Boolean);
for (const s of steps) {
  if (only.length && s.name !== 'boot' && !only.includes(s.name)) continue;
  const t = Date.now();
  try {
    await s.fn();
    log(`step ${s.name}: ${Date.now() - t} ms`);
  } catch (e) {
    out({ type: 'error', step: s.name, message: String((e && e.stack) || e) });
    const file = path.join(shotDir, `failed-${s.name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    if (s.name === 'boot') break;
  }
}
out({ type: 'done' });
await browser.close();
process.exit(0);
