// The workspace overview: KPI tiles and the usage charts for the selected range, refreshed
// every 10 seconds.

import { useMemo } from "preact/hooks";
import { Chart } from "../charts/Chart";
import { ExportLinks } from "../components/ExportLinks";
import { Kpi } from "../components/Kpi";
import { RangeControls } from "../components/RangeControls";
import { ErrorNotice, StatusLine } from "../components/status";
import { fetchActiveUsers } from "../dashboard_api";
import { fmtCompact, fmtCredits, fmtInt } from "../format";
import { useLoader } from "../poll";
import type { RangeState } from "../range";
import { useReady } from "../ready";
import { useSession } from "../session";
import { surfaceLabel } from "../surfaces";
import type { Theme } from "../theme";
import { fetchUsage, perBucket, sumTotals, threadsTurnsByClient, tokensBy } from "../usage";

export const REFRESH_MS = 10_000;

export function Overview({ range, theme }: { range: RangeState; theme: Theme }) {
  const s = useSession();
  const key = range.error ? null : `${range.startTime}:${range.endTime}:${range.groupBy}`;

  const usage = useLoader(key, (signal) => fetchUsage(s, range, { group: "workspace" }, signal), REFRESH_MS);
  // Per bucket and per surface, plus `total_active_users`: distinct people over the whole range.
  const active = useLoader(key, (signal) => fetchActiveUsers(s, range, signal), REFRESH_MS);

  const rows = usage.data;
  const totals = useMemo(() => (rows ? sumTotals(rows) : null), [rows]);
  const credits = useMemo(() => perBucket(rows ?? [], "clients", "credits"), [rows]);
  const tokensSurface = useMemo(() => tokensBy(rows ?? [], "clients"), [rows]);
  const tokensModel = useMemo(() => tokensBy(rows ?? [], "models"), [rows]);
  const threadsTurns = useMemo(() => threadsTurnsByClient(rows ?? []), [rows]);
  const activePlot = active.data?.plot ?? { x: [], series: [] };

  // Ready once both reads answered (data painted, or their error shown).
  // A range error is a rendered state too (the message is the view's content).
  useReady("overview", !!range.error || (!!(usage.data || usage.error) && !!(active.data || active.error)), usage.data);

  const week = range.groupBy === "week";
  const per = week ? "week" : "day";
  const emptyText = usage.error ? "No data: see the error above." : undefined;
  const exports = <ExportLinks dataset="workspace_usage" range={range} primary={false} label="workspace usage" />;

  return (
    <div class="view">
      <div class="view-head">
        <h2>Overview</h2>
        <ExportLinks dataset="workspace_usage" range={range} label="workspace usage" />
      </div>
      <RangeControls range={range} />
      {!range.error && (
        <>
          <StatusLine loading={usage.loading || active.loading} updatedAt={usage.updatedAt} />
          {usage.error && <ErrorNotice error={usage.error} what="usage" />}
          {/* Both reads share the window's validation: one message is enough when they agree. */}
          {active.error && active.error.message !== usage.error?.message && <ErrorNotice error={active.error} what="active users" />}
          <div class="kpis" aria-label="Totals for the range" role="group">
            <Kpi testId="kpi-active-users" label="Active users" value={active.data?.total ?? null} format={fmtInt} note="distinct, whole range" />
            <Kpi testId="kpi-threads" label="Threads" value={totals?.threads ?? null} format={fmtInt} note={`summed per ${per}`} />
            <Kpi testId="kpi-turns" label="Turns" value={totals?.turns ?? null} format={fmtInt} />
            <Kpi testId="kpi-credits" label="Credits" value={totals?.credits ?? null} format={fmtCredits} />
            <Kpi testId="kpi-text-tokens" label="Text tokens" value={totals?.text_total_tokens ?? null} format={fmtInt} note="input + output" />
          </div>
          <div class="chart-grid">
            <Chart
              testId="chart-active-users"
              title="Active users by surface"
              description={`Distinct people with usage per ${per}; "All surfaces" counts a person once`}
              plot={activePlot}
              xKind="time"
              kind="lines"
              week={week}
              theme={theme}
              format={fmtInt}
              actions={exports}
              emptyText={emptyText}
            />
            <Chart
              testId="chart-credits-by-surface"
              title="Credits by surface"
              description={`Credits spent per ${per}, stacked by surface`}
              plot={credits}
              xKind="time"
              kind="stack"
              week={week}
              theme={theme}
              format={fmtCredits}
              actions={exports}
              emptyText={emptyText}
            />
            <Chart
              testId="chart-tokens-by-surface"
              title="Token usage by surface"
              description="Uncached input, cached input and output tokens per surface over the range"
              plot={tokensSurface}
              xKind="category"
              xLabel={surfaceLabel}
              kind="stack"
              theme={theme}
              format={fmtCompact}
              actions={exports}
              emptyText={emptyText}
            />
            <Chart
              testId="chart-tokens-by-model"
              title="Token usage by model"
              description="Uncached input, cached input and output tokens per model over the range"
              plot={tokensModel}
              xKind="category"
              kind="stack"
              theme={theme}
              format={fmtCompact}
              actions={exports}
              emptyText={emptyText}
            />
            <Chart
              testId="chart-threads-turns"
              title="Threads and turns by client"
              description={`Threads (distinct per ${per}, summed) and turns per surface over the range`}
              plot={threadsTurns}
              xKind="category"
              xLabel={surfaceLabel}
              kind="bars"
              theme={theme}
              format={fmtInt}
              actions={exports}
              emptyText={emptyText}
            />
          </div>
        </>
      )}
    </div>
  );
}
