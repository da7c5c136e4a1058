// Time to first render and to interactive of the dashboard's overview, in Debian's chromium
// driven by playwright-core. Usage:
//   node dashboard_render.mjs PLAYWRIGHT_CORE_DIR BASE_URL HASH RUNS
// Each run is a fresh browser context (empty cache, no cookies): GET / signs the demo admin in,
// then the overview loads its data. Prints one JSON line per run, then exits.
//
// Figures per run (ms from navigation start, the page's own clock):
//   fcp         first contentful paint
//   ready       the overview's charts hold their data (the app's `steward:ready` mark)
//   interactive the end of the last long task (>50 ms) before 2 s of quiet after `ready`,
//               or `ready` when there was none: the classic "time to interactive" estimate
//   api_ms      summed duration of the page's API requests (the server's share)
//   toggle_ms   after interactive, from clicking "Week" to the re-rendered charts
import { createRequire } from "node:module";

const [pwDir, base, hash, runsArg] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { chromium } = require(pwDir);
const runs = Number(runsArg || 5);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.__longtasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
      }).observe({ type: "longtask", buffered: true });
    });
    await page.goto(base + "/" + hash, { waitUntil: "commit" });
    await page.waitForFunction(() => document.body && document.body.dataset.ready === "overview", null, { timeout: 60000 });
    await page.waitForTimeout(2000);
    const m = await page.evaluate(() => {
      const mark = performance.getEntriesByName("steward:ready")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      const ready = mark ? mark.startTime : NaN;
      let interactive = ready;
      for (const [start, dur] of window.__longtasks) {
        if (start + dur > interactive && start < ready + 2000) interactive = start + dur;
      }
      const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/v1/"));
      return {
        fcp: fcp ? fcp.startTime : NaN,
        ready,
        interactive,
        api_ms: api.reduce((s, r) => s + r.duration, 0),
        api_requests: api.length,
        longtasks: window.__longtasks.length,
      };
    });
    // Interaction: the day/week toggle re-renders the charts with weekly buckets.
    const before = await page.getAttribute('[data-testid="chart-active-users"]', "data-series");
    const t0 = Date.now();
    await page.click('[data-testid="group-by-week"]');
    await page.waitForFunction(
      (prev) => {
        const el = document.querySelector('[data-testid="chart-active-users"]');
        return el && el.getAttribute("data-series") !== prev && document.body.dataset.ready === "overview";
      },
      before,
      { timeout: 60000 },
    );
    m.toggle_ms = Date.now() - t0;
    console.log(JSON.stringify(m));
    await context.close();
  }
} finally {
  await browser.close();
}
