// The analytics date range: whole UTC days, start and end inclusive in the UI, sent to the API
// as `start_time` (start day 00:00 UTC) and `end_time` (the day after `end`, 00:00 UTC,
// exclusive), both Unix seconds. Kept in the hash query so views are linkable.

export type GroupBy = "day" | "week";

export const DAY_SECS = 86_400;
export const PRESETS = [7, 30, 90] as const;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export interface Range {
  start: string;
  end: string;
  groupBy: GroupBy;
}

export interface RangeState extends Range {
  /** Set when the range cannot be queried; the view shows it instead of querying. */
  error: string | null;
  /** Unix seconds, only meaningful when `error` is null. */
  startTime: number;
  endTime: number;
}

/** `YYYY-MM-DD` of a UTC day. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function todayUtc(): string {
  return isoDay(Date.now());
}

/** Unix seconds of a `YYYY-MM-DD` day's start (UTC), or NaN. */
export function dayStart(day: string): number {
  if (!DATE_RE.test(day)) return NaN;
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  const ms = Date.UTC(y, m - 1, d);
  // Rejects 2026-02-31 and friends (Date.UTC would roll over silently).
  return isoDay(ms) === day ? ms / 1000 : NaN;
}

export function addDays(day: string, n: number): string {
  return isoDay((dayStart(day) + n * DAY_SECS) * 1000);
}

/** The last `days` days ending today (inclusive). */
export function presetRange(days: number): { start: string; end: string } {
  const end = todayUtc();
  return { start: addDays(end, -(days - 1)), end };
}

export function rangeFromQuery(q: URLSearchParams): RangeState {
  const fallback = presetRange(30);
  const start = q.get("start") ?? fallback.start;
  const end = q.get("end") ?? fallback.end;
  const groupBy: GroupBy = q.get("group_by") === "week" ? "week" : "day";
  const startTime = dayStart(start);
  const endDay = dayStart(end);
  let error: string | null = null;
  if (Number.isNaN(startTime)) error = "Start date is not a valid date (YYYY-MM-DD)";
  else if (Number.isNaN(endDay)) error = "End date is not a valid date (YYYY-MM-DD)";
  else if (startTime > endDay) error = "Start date must be on or before end date";
  return { start, end, groupBy, error, startTime, endTime: endDay + DAY_SECS };
}

/** The API parameters of a valid range. */
export function rangeParams(r: RangeState): { start_time: number; end_time: number; group_by: GroupBy } {
  return { start_time: r.startTime, end_time: r.endTime, group_by: r.groupBy };
}

/** The hash-query form of a range (to carry it across views). */
export function rangeQuery(r: Range): Record<string, string> {
  return { start: r.start, end: r.end, group_by: r.groupBy };
}
