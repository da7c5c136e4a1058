// The Analytics API's usage rows (`GET /v1/analytics/codex/workspaces/{ws}/usage`) and the
// pivots the charts plot. Every figure is the API's; the dashboard only regroups rows (sums
// of additive figures across rows, never estimates).

import { request, withQuery } from "./api";
import type { Plot, PlotSeries } from "./charts/Chart";
import type { RangeState } from "./range";
import type { Session } from "./session";
import { sortSurfaces, surfaceLabel } from "./surfaces";

export interface Figures {
  credits: number;
  estimated_cost_usd?: number;
  uncached_text_input_tokens: number;
  cached_text_input_tokens: number;
  text_output_tokens: number;
  text_total_tokens: number;
}

export interface ClientFigures extends Figures {
  client_id: string;
  threads: number;
  turns: number;
}

export interface ModelFigures extends Figures {
  model: string;
}

export interface UsageRow {
  start_time: number;
  end_time: number;
  user_id?: string | null;
  actor?: { type?: string; user_id?: string; email?: string | null } | null;
  totals: Figures & { threads: number; turns: number };
  clients: ClientFigures[];
  models: ModelFigures[];
}

interface UsagePage {
  data: UsageRow[];
  has_more: boolean;
  next_page: string | null;
}

/** Every row of a usage query, following `next_page` while `has_more`. */
export async function fetchUsage(
  s: Session,
  range: RangeState,
  extra: Record<string, string>,
  signal?: AbortSignal,
  base?: string,
): Promise<UsageRow[]> {
  const rows: UsageRow[] = [];
  let page: string | null = null;
  // A hard stop: a server bug repeating a cursor must not spin the browser forever.
  for (let i = 0; i < 100; i++) {
    const url = withQuery(base ?? `${s.analytics}/usage`, {
      ...extra,
      group_by: range.groupBy,
      start_time: range.startTime,
      end_time: range.endTime,
      limit: 30000,
      page,
    });
    const p: UsagePage = await request<UsagePage>(url, { signal });
    rows.push(...p.data);
    if (!p.has_more || !p.next_page) break;
    page = p.next_page;
  }
  return rows.sort((a, b) => a.start_time - b.start_time);
}

export type TokenMetric = "uncached_text_input_tokens" | "cached_text_input_tokens" | "text_output_tokens";

export const TOKEN_METRICS: { key: TokenMetric; name: string }[] = [
  { key: "uncached_text_input_tokens", name: "Input (uncached)" },
  { key: "cached_text_input_tokens", name: "Input (cached)" },
  { key: "text_output_tokens", name: "Output" },
];

/** Sums of a range's rows: what the KPI tiles show. */
export function sumTotals(rows: UsageRow[]) {
  const t = { threads: 0, turns: 0, credits: 0, text_total_tokens: 0 };
  for (const r of rows) {
    t.threads += r.totals.threads;
    t.turns += r.totals.turns;
    t.credits += r.totals.credits;
    t.text_total_tokens += r.totals.text_total_tokens;
  }
  // Credits are micro-precise on the server; summing floats must not print 0.30000000000000004.
  t.credits = Math.round(t.credits * 1e6) / 1e6;
  return t;
}

/** One series per client (or model) over time, e.g. credits by surface per bucket. */
export function perBucket(rows: UsageRow[], dim: "clients" | "models", metric: keyof Figures | "threads" | "turns"): Plot {
  const keysOf = (r: UsageRow) => (dim === "clients" ? r.clients.map((c) => c.client_id) : r.models.map((m) => m.model));
  const all = rows.flatMap(keysOf);
  const keys = dim === "clients" ? sortSurfaces(all) : [...new Set(all)].sort();
  const series: PlotSeries[] = keys.map((key) => ({
    key,
    name: dim === "clients" ? surfaceLabel(key) : key,
    values: rows.map((r) => {
      const item =
        dim === "clients" ? r.clients.find((c) => c.client_id === key) : r.models.find((m) => m.model === key);
      const v = item ? (item as unknown as Record<string, number>)[metric] : 0;
      return round(v ?? 0);
    }),
  }));
  return { x: rows.map((r) => r.start_time), series };
}

/** Token types (stacked) per client or model, summed over the range's rows. */
export function tokensBy(rows: UsageRow[], dim: "clients" | "models"): Plot {
  const sums = new Map<string, Record<TokenMetric, number>>();
  for (const r of rows) {
    const items: (Figures & { key: string })[] =
      dim === "clients" ? r.clients.map((c) => ({ ...c, key: c.client_id })) : r.models.map((m) => ({ ...m, key: m.model }));
    for (const it of items) {
      const acc = sums.get(it.key) ?? { uncached_text_input_tokens: 0, cached_text_input_tokens: 0, text_output_tokens: 0 };
      for (const m of TOKEN_METRICS) acc[m.key] += it[m.key];
      sums.set(it.key, acc);
    }
  }
  const keys = dim === "clients" ? sortSurfaces(sums.keys()) : [...sums.keys()].sort();
  return {
    x: keys,
    series: TOKEN_METRICS.map((m) => ({ key: m.key, name: m.name, values: keys.map((k) => sums.get(k)![m.key]) })),
  };
}

/** Threads and turns per client, summed over the range's rows. */
export function threadsTurnsByClient(rows: UsageRow[]): Plot {
  const sums = new Map<string, { threads: number; turns: number }>();
  for (const r of rows) {
    for (const c of r.clients) {
      const acc = sums.get(c.client_id) ?? { threads: 0, turns: 0 };
      acc.threads += c.threads;
      acc.turns += c.turns;
      sums.set(c.client_id, acc);
    }
  }
  const keys = sortSurfaces(sums.keys());
  return {
    x: keys,
    series: [
      { key: "threads", name: "Threads", values: keys.map((k) => sums.get(k)!.threads) },
      { key: "turns", name: "Turns", values: keys.map((k) => sums.get(k)!.turns) },
    ],
  };
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
