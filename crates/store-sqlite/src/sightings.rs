//! Sightings' persistence (`fact_sightings`, migration 0013); the decisions are in
//! `steward_store::sightings`. Runs inside the event batch's transaction, event by event, so a
//! batch's own earlier reports are seen too. Also the coverage report's read.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Transaction};
use steward_model::NormalizedEvent;
use steward_store::rollup::event_key_bytes;
use steward_store::sightings::{pairable, pick_pair, PairCandidate, Sighting, SightingKind, REPORT_SLACK_MS};
use steward_store::{CoverageRow, CoverageStore, DayWindow, StoreResult};

use crate::conn::map_err;
use crate::SqliteStore;

/// The sighting of `e` with the fact it reports decided: its own key, the fact a re-send of
/// it was attributed to before, or the prompt it pairs with.
pub fn decide<'a>(tx: &Transaction<'_>, e: &'a NormalizedEvent) -> StoreResult<Option<Sighting<'a>>> {
    let Some(mut s) = Sighting::of(e) else {
        return Ok(None);
    };
    if !pairable(e) {
        return Ok(Some(s));
    }
    let before: Option<String> = tx
        .prepare_cached(
            "SELECT fact_key FROM fact_sightings
             WHERE workspace_id = ?1 AND ts_ms = ?2 AND source = ?3 AND own_key = ?4",
        )
        .map_err(map_err)?
        .query_row(
            params![s.workspace_id, s.ts_ms, s.source.as_str(), s.own_key],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    if let Some(fact) = before {
        s.fact_key = fact;
        return Ok(Some(s));
    }
    // Claimed already under its own key: the same turn, keyed alike by another source.
    let key = event_key_bytes(&e.workspace_id, &e.dedup_key);
    let claimed = tx
        .prepare_cached("SELECT 1 FROM event_keys WHERE ts_ms = ?1 AND key = ?2")
        .map_err(map_err)?
        .query_row(params![e.dedup_claim_ms(), &key[..]], |_| Ok(()))
        .optional()
        .map_err(map_err)?
        .is_some();
    if claimed {
        return Ok(Some(s));
    }
    let (from, to) = s.pair_window();
    // Every turn's first report is an event, so another source's turns of the thread are read
    // from `events` (through events_turn_facts, which every write maintains anyway), with the
    // turn id their sighting holds. Whether this source reported one already is asked of the
    // sightings near it in time (the primary key's prefix): no index of its own to maintain.
    let candidates = tx
        .prepare_cached(
            "SELECT e.dedup_key, e.ts_ms, s.turn_id FROM events e INDEXED BY events_turn_facts
             LEFT JOIN fact_sightings s ON s.workspace_id = e.workspace_id AND s.ts_ms = e.ts_ms
                 AND s.source = e.source AND s.own_key = e.dedup_key
             WHERE e.workspace_id = ?1 AND e.thread_id = ?2
               AND e.kind IN ('user_prompt', 'response_completed') AND e.kind = 'user_prompt'
               AND e.source NOT IN (?3, 'demo') AND e.ts_ms BETWEEN ?4 AND ?5
               AND NOT EXISTS (SELECT 1 FROM fact_sightings p
                               WHERE p.workspace_id = e.workspace_id
                               AND p.ts_ms BETWEEN e.ts_ms - ?6 AND e.ts_ms + ?6
                               AND p.source = ?3 AND p.kind = 'turn' AND p.fact_key = e.dedup_key)",
        )
        .map_err(map_err)?
        .query_map(
            params![
                s.workspace_id,
                s.thread_id,
                s.source.as_str(),
                from,
                to,
                REPORT_SLACK_MS
            ],
            |r| {
                Ok(PairCandidate {
                    fact_key: r.get(0)?,
                    ts_ms: r.get(1)?,
                    turn_id: r.get(2)?,
                })
            },
        )
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    if let Some(fact) = pick_pair(&s, &candidates) {
        s.fact_key = fact.to_owned();
    }
    Ok(Some(s))
}

/// Stores a sighting (a re-sent report is the same sighting: nothing changes).
pub fn record(tx: &Transaction<'_>, s: &Sighting<'_>) -> StoreResult<()> {
    let u = &s.usage;
    tx.prepare_cached(
        "INSERT INTO fact_sightings (workspace_id, source, own_key, fact_key, kind, thread_id, user_id, ts_ms,
             turn_id, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT DO NOTHING",
    )
    .map_err(map_err)?
    .execute(params![
        s.workspace_id,
        s.source.as_str(),
        s.own_key,
        s.fact_key,
        s.kind.as_str(),
        s.thread_id,
        s.user_id,
        s.ts_ms,
        s.turn_id,
        u.input,
        u.cached_input,
        u.output,
        u.reasoning_output,
    ])
    .map_err(map_err)?;
    Ok(())
}

fn coverage_rows(c: &rusqlite::Connection, w: &DayWindow) -> StoreResult<Vec<CoverageRow>> {
    c.prepare_cached(
        "SELECT user_id, (ts_ms / 86400000) * 86400 AS day, thread_id, source, kind, COUNT(*),
                SUM(input_tokens), SUM(cached_input_tokens), SUM(output_tokens), SUM(reasoning_output_tokens)
         FROM fact_sightings
         WHERE workspace_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3
         GROUP BY user_id, day, thread_id, source, kind
         ORDER BY user_id, day, thread_id, source, kind",
    )
    .map_err(map_err)?
    .query_map(
        params![w.workspace_id, w.start_day * 1000, w.end_day * 1000],
        |r| {
            let kind: String = r.get(4)?;
            Ok(CoverageRow {
                user_id: r.get(0)?,
                day: r.get(1)?,
                thread_id: r.get(2)?,
                source: r.get(3)?,
                kind: SightingKind::parse(&kind).unwrap_or(SightingKind::Turn),
                reports: r.get(5)?,
                input_tokens: r.get(6)?,
                cached_input_tokens: r.get(7)?,
                output_tokens: r.get(8)?,
                reasoning_output_tokens: r.get(9)?,
            })
        },
    )
    .map_err(map_err)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(map_err)
}

#[async_trait]
impl CoverageStore for SqliteStore {
    async fn coverage_rows(&self, window: &DayWindow) -> StoreResult<Vec<CoverageRow>> {
        let window = window.clone();
        self.read(move |c| coverage_rows(c, &window)).await
    }
}
