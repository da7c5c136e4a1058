// Number and time formatting shared by tiles, tables, tooltips and axes (en-US, UTC: the API's
// buckets are UTC days, so labels must not shift with the viewer's time zone).

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? "–" : integer.format(n);
}

/** Credits keep two decimals (they are fractional); big values stay readable. */
export function fmtCredits(n: number | null | undefined): string {
  return n === null || n === undefined || Number.isNaN(n) ? "–" : decimal.format(n);
}

export function fmtCompact(n: number): string {
  return compact.format(n);
}

/** `2026-11-20` (UTC) of Unix seconds. */
export function fmtDay(secs: number): string {
  return new Date(secs * 1000).toISOString().slice(0, 10);
}

/** Axis label of a bucket: `Nov 20` (day) or `Wk of Nov 16` (week). */
export function fmtBucket(secs: number, week: boolean): string {
  const d = new Date(secs * 1000);
  const label = d.toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  return week ? `Wk of ${label}` : label;
}

/** `2026-11-20 14:03 UTC` of Unix milliseconds. */
export function fmtDateTimeMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/** Local wall-clock `hh:mm:ss` (for "Updated ..."). */
export function fmtClock(d: Date): string {
  return d.toLocaleTimeString("en-GB", { hour12: false });
}

/** Any time the API may send: Unix seconds, Unix ms, or an ISO string. */
export function fmtAnyTime(v: unknown): string {
  let ms: number | null = null;
  if (typeof v === "number") ms = v > 1e11 ? v : v * 1000;
  else if (typeof v === "string" && v) {
    const t = Date.parse(v);
    if (Number.isNaN(t)) return v;
    ms = t;
  }
  return ms === null ? "–" : fmtDateTimeMs(ms);
}

/** Like `fmtAnyTime`, but a day start (midnight UTC, how day-level APIs report days) is a date. */
export function fmtDayOrTime(v: unknown): string {
  const s = fmtAnyTime(v);
  return s.endsWith(" 00:00 UTC") ? s.slice(0, 10) : s;
}
