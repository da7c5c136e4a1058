// One person's usage: `#/users/{id}` for admins and `#/me` for the signed-in person. Summary
// from the ranking endpoint, charts from the usage API filtered by `user_id`.

import { useMemo } from "preact/hooks";
import { ApiError } from "../api";
import { Chart } from "../charts/Chart";
import { ExportLinks } from "../components/ExportLinks";
import { Kpi } from "../components/Kpi";
import { RangeControls } from "../components/RangeControls";
import { ErrorNotice, StatusLine } from "../components/status";
import { fetchUserSummary } from "../dashboard_api";
import { fmtDayOrTime, fmtCompact, fmtCredits, fmtInt } from "../format";
import { useLoader } from "../poll";
import { rangeQuery, type RangeState } from "../range";
import { useReady } from "../ready";
import { hrefFor } from "../router";
import { useSession } from "../session";
import type { Theme } from "../theme";
import { fetchUsage, perBucket, tokensBy } from "../usage";
import { surfaceLabel } from "../surfaces";
import { REFRESH_MS } from "./Overview";

export function UserUsage({ userId, range, theme, mine }: { userId: string; range: RangeState; theme: Theme; mine: boolean }) {
  const s = useSession();
  const view = mine ? "me" : "user";
  const key = range.error ? null : `${userId}:${range.startTime}:${range.endTime}:${range.groupBy}`;
  // One's own usage comes from /v1/me/usage, which needs no analytics role (members see theirs).
  const summary = useLoader(key, (signal) => fetchUserSummary(s, range, userId, signal, mine), REFRESH_MS);
  const usage = useLoader(
    key,
    (signal) => (mine ? fetchUsage(s, range, {}, signal, "/v1/me/usage") : fetchUsage(s, range, { user_id: userId }, signal)),
    REFRESH_MS,
  );
  useReady(view, !!(usage.data || usage.error) && !!(summary.data || summary.error), usage.data);

  const rows = usage.data;
  const creditsSurface = useMemo(() => perBucket(rows ?? [], "clients", "credits"), [rows]);
  const creditsModel = useMemo(() => perBucket(rows ?? [], "models", "credits"), [rows]);
  const tokensSurface = useMemo(() => tokensBy(rows ?? [], "clients"), [rows]);
  const tokensModel = useMemo(() => tokensBy(rows ?? [], "models"), [rows]);

  const sum = summary.data;
  const email = sum?.email ?? rows?.find((r) => r.actor?.email)?.actor?.email ?? null;
  const who = sum?.name || email || userId;
  const week = range.groupBy === "week";
  const per = week ? "week" : "day";
  const unknownUser = summary.error instanceof ApiError && summary.error.status === 404;
  const exports = <ExportLinks dataset="user_usage" range={range} extra={{ user_id: userId }} primary={false} label="usage per user" />;

  return (
    <div class="view">
      <div class="view-head">
        <div>
          {!mine && (
            <p class="crumb">
              <a href={hrefFor(["users"], rangeQuery(range))}>← Users</a>
            </p>
          )}
          <h2>{mine ? "My usage" : who}</h2>
          {(mine || who !== email) && email && <p class="muted">{email}</p>}
          <p class="muted small">User id {userId}</p>
        </div>
        <ExportLinks dataset="user_usage" range={range} extra={{ user_id: userId }} label="usage per user" />
      </div>
      <RangeControls range={range} />
      {!range.error && (
        <>
          <StatusLine loading={usage.loading || summary.loading} updatedAt={usage.updatedAt} />
          {unknownUser ? (
            <ErrorNotice error={summary.error!} what="this user" />
          ) : (
            summary.error && <ErrorNotice error={summary.error} what="the summary" />
          )}
          {usage.error && <ErrorNotice error={usage.error} what="usage" />}
          <div class="kpis" role="group" aria-label="Totals for the range">
            <Kpi testId="kpi-credits" label="Credits" value={sum?.credits ?? null} format={fmtCredits} />
            <Kpi testId="kpi-threads" label="Threads" value={sum?.threads ?? null} format={fmtInt} />
            <Kpi testId="kpi-turns" label="Turns" value={sum?.turns ?? null} format={fmtInt} />
            <Kpi testId="kpi-text-tokens" label="Text tokens" value={sum?.text_tokens ?? null} format={fmtInt} />
            <Kpi testId="kpi-streak" label="Current streak" value={sum?.current_streak_days ?? null} format={(n) => `${fmtInt(n)} days`} />
            <Kpi testId="kpi-active-days" label="Active days" value={sum?.active_days ?? null} format={fmtInt} note={sum ? `last active ${fmtDayOrTime(sum.last_active)}` : undefined} />
          </div>
          <div class="chart-grid">
            <Chart testId="chart-credits-by-surface" title="Credits by surface" description={`Credits per ${per}, stacked by surface`} plot={creditsSurface} xKind="time" kind="stack" week={week} theme={theme} format={fmtCredits} actions={exports} />
            <Chart testId="chart-credits-by-model" title="Credits by model" description={`Credits per ${per}, stacked by model`} plot={creditsModel} xKind="time" kind="stack" week={week} theme={theme} format={fmtCredits} actions={exports} />
            <Chart testId="chart-tokens-by-surface" title="Token usage by surface" description="Uncached input, cached input and output tokens per surface over the range" plot={tokensSurface} xKind="category" xLabel={surfaceLabel} kind="stack" theme={theme} format={fmtCompact} actions={exports} />
            <Chart testId="chart-tokens-by-model" title="Token usage by model" description="Uncached input, cached input and output tokens per model over the range" plot={tokensModel} xKind="category" kind="stack" theme={theme} format={fmtCompact} actions={exports} />
          </div>
        </>
      )}
    </div>
  );
}

/** `#/me`: the signed-in person's usage; local admins and API keys have none. */
export function MyUsage({ range, theme }: { range: RangeState; theme: Theme }) {
  const s = useSession();
  const id = s.me.kind === "user" ? s.me.user_id : null;
  useReady("me", !id);
  if (!id) {
    return (
      <div class="view">
        <h2>My usage</h2>
        <div class="notice notice-info" data-testid="me-not-a-person">
          <span class="notice-icon" aria-hidden="true">
            ℹ
          </span>
          <div>
            <strong>"My usage" is for people signed in with SSO</strong>
            <p>
              You are signed in as {s.me.kind === "local_admin" ? "a local (break-glass) admin" : "an API key"}, which does not run Codex and has no
              usage of its own. People who sign in through your identity provider see their own credits, tokens and streak here. Workspace-wide
              figures are on the <a href="#/overview">Overview</a> and per person on <a href="#/users">Users</a>.
            </p>
          </div>
        </div>
      </div>
    );
  }
  return <UserUsage userId={id} range={range} theme={theme} mine />;
}
