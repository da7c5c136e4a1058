// Steward's dashboard endpoints (not part of OpenAI's API): active users, the user ranking,
// one user's summary, compliance status and verification. Parsing is tolerant of optional or
// renamed fields so a missing field shows "–" instead of breaking a view.

import { request, seg, withQuery } from "./api";
import type { Plot, PlotSeries } from "./charts/Chart";
import type { RangeState } from "./range";
import type { Session } from "./session";
import { sortSurfaces, surfaceLabel } from "./surfaces";

type Obj = Record<string, unknown>;

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function obj(v: unknown): Obj {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

// ---------------------------------------------------------------- active users

export interface ActiveUsers {
  plot: Plot;
  /** Distinct active users over the whole range, when the server reports it. */
  total: number | null;
}

/**
 * `GET {ws}/analytics/active_users?start_time&end_time&group_by` →
 * `{data: [{start_time, end_time, active_users, clients: [{client_id, active_users}]}], total_active_users?}`.
 * The "All surfaces" line is the server's distinct count per bucket (a person on two surfaces
 * counts once), never the sum of the surface lines.
 */
export async function fetchActiveUsers(s: Session, r: RangeState, signal?: AbortSignal): Promise<ActiveUsers> {
  const body = obj(
    await request<unknown>(
      withQuery(`${s.ws}/analytics/active_users`, { start_time: r.startTime, end_time: r.endTime, group_by: r.groupBy }),
      { signal },
    ),
  );
  const rows = arr(body.data)
    .map(obj)
    .map((row) => ({
      start: num(row.start_time) ?? 0,
      all: num(row.active_users) ?? num(row.users) ?? num(obj(row.totals).active_users) ?? 0,
      clients: new Map(
        clientEntries(row.clients ?? row.by_client).map(([id, v]) => [id, v] as [string, number]),
      ),
    }))
    .sort((a, b) => a.start - b.start);
  const ids = sortSurfaces(rows.flatMap((row) => [...row.clients.keys()]));
  const series: PlotSeries[] = [
    { key: "all", name: "All surfaces", values: rows.map((row) => row.all), emphasis: true },
    ...ids.map((id) => ({ key: id, name: surfaceLabel(id), values: rows.map((row) => row.clients.get(id) ?? 0) })),
  ];
  const total =
    num(body.total_active_users) ?? num(obj(body.totals).active_users) ?? num(obj(body.summary).active_users) ?? num(body.total);
  return { plot: { x: rows.map((row) => row.start), series }, total };
}

/** Accepts `[{client_id, active_users|users}]` or `{client_id: n}`. */
function clientEntries(v: unknown): [string, number][] {
  if (Array.isArray(v)) {
    return v.map(obj).map((c) => [String(c.client_id ?? "?"), num(c.active_users) ?? num(c.users) ?? 0]);
  }
  return Object.entries(obj(v)).map(([k, n]) => [k, num(n) ?? 0]);
}

// ---------------------------------------------------------------- ranking

export interface RankingRow {
  /** Position under the requested order; null for a single person's summary (the API's 0). */
  rank: number | null;
  user_id: string;
  email: string | null;
  name: string | null;
  credits: number | null;
  threads: number | null;
  turns: number | null;
  text_tokens: number | null;
  current_streak_days: number | null;
  active_days: number | null;
  /** Unix ms, seconds or ISO: formatted by `fmtAnyTime`. */
  last_active: unknown;
}

export interface RankingPage {
  rows: RankingRow[];
  total: number | null;
}

export function parseRankingRow(v: unknown): RankingRow {
  const r = obj(v);
  const user = obj(r.user);
  return {
    rank: num(r.rank) || null,
    user_id: String(r.user_id ?? user.id ?? ""),
    email: (r.email ?? user.email ?? obj(r.actor).email ?? null) as string | null,
    name: (r.name ?? user.name ?? null) as string | null,
    credits: num(r.credits),
    threads: num(r.threads),
    turns: num(r.turns),
    text_tokens: num(r.text_tokens) ?? num(r.text_total_tokens),
    current_streak_days: num(r.current_streak) ?? num(r.current_streak_days) ?? num(r.streak),
    active_days: num(r.active_days),
    last_active: r.last_active ?? r.last_active_at_ms ?? null,
  };
}

export interface RankingQuery {
  client: string;
  q: string;
  sort: string;
  order: "asc" | "desc";
  limit: number;
  offset: number;
}

export async function fetchRanking(s: Session, r: RangeState, q: RankingQuery, signal?: AbortSignal): Promise<RankingPage> {
  const body = obj(
    await request<unknown>(
      withQuery(`${s.ws}/analytics/users`, {
        start_time: r.startTime,
        end_time: r.endTime,
        client: q.client,
        q: q.q,
        sort: q.sort,
        order: q.order,
        limit: q.limit,
        offset: q.offset,
      }),
      { signal },
    ),
  );
  return { rows: arr(body.data).map(parseRankingRow), total: num(body.total) ?? num(body.total_count) };
}

/** One person's figures; `mine` reads the caller's own (`/v1/me/usage/summary`, no role needed). */
export async function fetchUserSummary(s: Session, r: RangeState, userId: string, signal?: AbortSignal, mine = false): Promise<RankingRow> {
  const path = mine ? "/v1/me/usage/summary" : `${s.ws}/analytics/users/${seg(userId)}`;
  const body = await request<unknown>(
    withQuery(path, { start_time: r.startTime, end_time: r.endTime }),
    { signal },
  );
  // Either the row itself or `{data: row}`.
  const o = obj(body);
  return parseRankingRow(o.data && typeof o.data === "object" && !Array.isArray(o.data) ? o.data : o);
}

// ---------------------------------------------------------------- export

export type Dataset = "workspace_usage" | "user_usage" | "code_review";

export function exportHref(s: Session, dataset: Dataset, format: "csv" | "json", r: RangeState | null, extra: Record<string, string> = {}): string {
  return withQuery(`${s.ws}/analytics/export`, {
    dataset,
    format,
    start_time: r && !r.error ? r.startTime : undefined,
    end_time: r && !r.error ? r.endTime : undefined,
    group_by: r ? r.groupBy : undefined,
    ...extra,
  });
}

// ---------------------------------------------------------------- compliance

export interface FileTypeStats {
  event_type: string;
  files: number | null;
  records: number | null;
  bytes: number | null;
  content_erased: number | null;
  last_end_time: unknown;
}

export interface ComplianceStatus {
  files: FileTypeStats[];
  retention: { event_type: string; content_days: number | null; metadata_days: number | null }[];
  legalHolds: Obj[];
  sealIntervalSecs: number | null;
  pending: number | null;
}

/**
 * `GET {ws}/compliance/status` → `{files: [{event_type, files, records, bytes, content_erased,
 * last_end_time}], pending_records, seal_interval_secs, retention: [...], legal_holds: [...]}`.
 * An object `files: {by_event_type: {TYPE: n}}` is accepted too.
 */
export async function fetchComplianceStatus(s: Session, signal?: AbortSignal): Promise<ComplianceStatus> {
  const body = obj(await request<unknown>(`${s.ws}/compliance/status`, { signal }));
  const files: FileTypeStats[] = Array.isArray(body.files)
    ? body.files.map(obj).map((f) => ({
        event_type: String(f.event_type ?? f.log_type ?? "?"),
        files: num(f.files),
        records: num(f.records),
        bytes: num(f.bytes),
        content_erased: num(f.content_erased),
        last_end_time: f.last_end_time ?? null,
      }))
    : Object.entries(obj(obj(body.files).by_event_type)).map(([k, v]) => ({
        event_type: k,
        files: num(v),
        records: null,
        bytes: null,
        content_erased: null,
        last_end_time: null,
      }));
  return {
    files,
    retention: arr(body.retention)
      .map(obj)
      .map((e) => ({
        event_type: String(e.event_type ?? "?"),
        content_days: num(e.content_days),
        metadata_days: num(e.metadata_days),
      })),
    legalHolds: arr(body.legal_holds).map(obj),
    sealIntervalSecs: num(body.seal_interval_secs),
    pending: num(body.pending_records),
  };
}

export interface Verification {
  ok: boolean;
  filesChecked: number | null;
  recordsChecked: number | null;
  digestsChecked: number | null;
  filesExpired: number | null;
  checkedAt: string | null;
  problems: string[];
}

/** `GET {ws}/compliance/verification`: checks the digest chain and the files now. */
export async function verifyCompliance(s: Session): Promise<Verification> {
  const body = obj(await request<unknown>(`${s.ws}/compliance/verification`));
  return {
    ok: body.ok === true,
    filesChecked: num(body.files_checked),
    recordsChecked: num(body.records_checked),
    digestsChecked: num(body.digests_checked),
    filesExpired: num(body.files_expired),
    checkedAt: typeof body.checked_at === "string" ? body.checked_at : null,
    problems: arr(body.problems).map((p) => {
      if (typeof p === "string") return p;
      const o = obj(p);
      // `{kind, path, detail}`: the kind, the object concerned, what is wrong.
      return [o.kind, o.path, o.detail].filter((x) => typeof x === "string" && x).join(" · ") || JSON.stringify(p);
    }),
  };
}
