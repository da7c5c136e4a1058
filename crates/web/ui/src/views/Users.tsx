// The user ranking: server-side filtering by client, search, sorting and pagination; each row
// links to the person's page. All state is in the hash query.

import { useEffect, useState } from "preact/hooks";
import { ExportLinks } from "../components/ExportLinks";
import { RangeControls } from "../components/RangeControls";
import { ErrorNotice, StatusLine } from "../components/status";
import { fetchRanking, type RankingQuery, type RankingRow } from "../dashboard_api";
import { fmtDayOrTime, fmtCredits, fmtInt } from "../format";
import { useDebounced, useLoader } from "../poll";
import { rangeQuery, type RangeState } from "../range";
import { useReady } from "../ready";
import { hrefFor, updateQuery } from "../router";
import { useSession } from "../session";
import { KNOWN_SURFACES, surfaceLabel } from "../surfaces";
import { REFRESH_MS } from "./Overview";

const PAGE_SIZES = [25, 50, 100];

/** Sortable columns: the `sort` value the API takes, and the header. */
const SORTS: { key: string; label: string }[] = [
  { key: "credits", label: "Credits" },
  { key: "threads", label: "Threads" },
  { key: "turns", label: "Turns" },
  { key: "text_tokens", label: "Text tokens" },
  { key: "current_streak", label: "Current streak" },
];

export function rankingQueryOf(q: URLSearchParams): RankingQuery {
  const limit = Number(q.get("limit"));
  const offset = Number(q.get("offset"));
  const sort = q.get("sort") ?? "credits";
  return {
    client: q.get("client") ?? "",
    q: q.get("q") ?? "",
    sort: SORTS.some((s) => s.key === sort) ? sort : "credits",
    order: q.get("order") === "asc" ? "asc" : "desc",
    limit: PAGE_SIZES.includes(limit) ? limit : 25,
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

export function Users({ range, query }: { range: RangeState; query: URLSearchParams }) {
  const s = useSession();
  const rq = rankingQueryOf(query);
  const key = range.error ? null : JSON.stringify([range.startTime, range.endTime, rq]);
  const ranking = useLoader(key, (signal) => fetchRanking(s, range, rq, signal), REFRESH_MS);
  useReady("users", !!(ranking.data || ranking.error), ranking.data);

  // The search box commits (debounced) into the hash; replace so typing is not 12 history entries.
  const [search, setSearch] = useState(rq.q);
  const debounced = useDebounced(search, 300);
  useEffect(() => {
    if (debounced !== rq.q) updateQuery({ q: debounced, offset: null }, true);
  }, [debounced]);
  useEffect(() => setSearch((cur) => (cur === rq.q ? cur : rq.q)), [rq.q]);

  const sortBy = (col: string) => {
    const order = rq.sort === col && rq.order === "desc" ? "asc" : "desc";
    updateQuery({ sort: col, order, offset: null });
  };

  const data = ranking.data;
  const total = data?.total ?? null;
  const from = data && data.rows.length > 0 ? rq.offset + 1 : 0;
  const to = data ? rq.offset + data.rows.length : 0;
  const hasNext = data ? (total !== null ? to < total : data.rows.length === rq.limit) : false;

  return (
    <div class="view">
      <div class="view-head">
        <h2>Users</h2>
        <ExportLinks dataset="user_usage" range={range} label="usage per user" />
      </div>
      <RangeControls range={range} />
      {!range.error && (
        <>
          <div class="filters" role="search" aria-label="Filter the ranking">
            <div class="field">
              <label for="ranking-client">Client</label>
              <select id="ranking-client" data-testid="ranking-client" value={rq.client} onChange={(e) => updateQuery({ client: e.currentTarget.value, offset: null })}>
                <option value="">All surfaces</option>
                {KNOWN_SURFACES.map((id) => (
                  <option key={id} value={id}>
                    {surfaceLabel(id)}
                  </option>
                ))}
              </select>
            </div>
            <div class="field grow">
              <label for="ranking-search">Search by name or email</label>
              <input id="ranking-search" type="search" data-testid="ranking-search" value={search} autocomplete="off" onInput={(e) => setSearch(e.currentTarget.value)} />
            </div>
            <div class="field">
              <label for="ranking-limit">Rows per page</label>
              <select id="ranking-limit" data-testid="ranking-limit" value={String(rq.limit)} onChange={(e) => updateQuery({ limit: e.currentTarget.value, offset: null })}>
                {PAGE_SIZES.map((n) => (
                  <option key={n} value={String(n)}>
                    {n}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <StatusLine loading={ranking.loading} updatedAt={ranking.updatedAt} />
          {ranking.error && <ErrorNotice error={ranking.error} what="the user ranking" />}
          <div class="table-wrap">
            <table class="data" data-testid="ranking-table">
              <caption>
                Users ranked by {SORTS.find((c) => c.key === rq.sort)?.label.toLowerCase()} ({rq.order === "desc" ? "highest" : "lowest"} first)
                {rq.client ? `, on ${surfaceLabel(rq.client)}` : ""}, {range.start} to {range.end}
              </caption>
              <thead>
                <tr>
                  <th scope="col" class="num">
                    Rank
                  </th>
                  <th scope="col">User</th>
                  {SORTS.map((c) => (
                    <th key={c.key} scope="col" class="num" aria-sort={rq.sort === c.key ? (rq.order === "asc" ? "ascending" : "descending") : "none"}>
                      <button type="button" class="sort" data-testid={`sort-${c.key}`} onClick={() => sortBy(c.key)}>
                        {c.label}
                        <span class="sort-mark" aria-hidden="true">
                          {rq.sort === c.key ? (rq.order === "asc" ? " ▲" : " ▼") : " ↕"}
                        </span>
                      </button>
                    </th>
                  ))}
                  <th scope="col">Last active</th>
                </tr>
              </thead>
              <tbody>
                {data?.rows.map((row, i) => (
                  <RankingTr key={row.user_id} row={row} rank={row.rank ?? rq.offset + i + 1} range={range} />
                ))}
                {data && data.rows.length === 0 && (
                  <tr>
                    <td colSpan={8} class="empty">
                      No user has usage matching these filters in this range.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Ranking pages">
            <button type="button" data-testid="ranking-prev" disabled={rq.offset === 0} onClick={() => updateQuery({ offset: String(Math.max(0, rq.offset - rq.limit)) })}>
              ← Previous
            </button>
            <span data-testid="ranking-range" aria-live="polite">
              {data ? (total !== null ? `Rows ${fmtInt(from)}–${fmtInt(to)} of ${fmtInt(total)}` : `Rows ${fmtInt(from)}–${fmtInt(to)}`) : ""}
            </span>
            <button type="button" data-testid="ranking-next" disabled={!hasNext} onClick={() => updateQuery({ offset: String(rq.offset + rq.limit) })}>
              Next →
            </button>
          </nav>
        </>
      )}
    </div>
  );
}

function RankingTr({ row, rank, range }: { row: RankingRow; rank: number; range: RangeState }) {
  const href = hrefFor(["users", row.user_id], rangeQuery(range));
  const who = row.name || row.email || row.user_id;
  return (
    <tr data-testid="ranking-row" data-user-id={row.user_id}>
      <td class="num">{rank}</td>
      <td>
        <a href={href}>{who}</a>
        {row.name && row.email && <div class="muted small">{row.email}</div>}
      </td>
      <td class="num" data-col="credits">{fmtCredits(row.credits)}</td>
      <td class="num" data-col="threads">{fmtInt(row.threads)}</td>
      <td class="num" data-col="turns">{fmtInt(row.turns)}</td>
      <td class="num" data-col="text_tokens">{fmtInt(row.text_tokens)}</td>
      <td class="num" data-col="current_streak">
        {row.current_streak_days === null ? "–" : `${fmtInt(row.current_streak_days)} d`}
      </td>
      <td>{fmtDayOrTime(row.last_active)}</td>
    </tr>
  );
}
