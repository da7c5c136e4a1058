//! Sightings' persistence (`fact_sightings`, migration 0013); the decisions are in
//! `steward_store::sightings`. A translation of `steward-store-sqlite`'s `sightings.rs`: runs
//! inside the event batch's transaction, before its keys are claimed. Also the coverage
//! report's read.
//!
//! Concurrency between replicas is handled by the caller: a pairable prompt covers turns, so
//! its batch first takes its thread's bucket lock (`ledger::lock_threads`), as does a batch
//! with the other source's prompts of that thread; two batches pairing prompts of one thread
//! run one after the other and each sees the other's committed sightings.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use steward_model::NormalizedEvent;
use steward_store::sightings::{pairable, pick_pair, PairCandidate, Sighting, SightingKind};
use steward_store::{CoverageRow, CoverageStore, DayWindow, StoreResult};
use tokio_postgres::types::ToSql;

use crate::conn::map_err;
use crate::PostgresStore;

// What a prompt's own report was attributed to before (a re-send), and whether its own key is
// claimed already (the same turn, keyed alike by another source).
const KNOWN: &str = "
SELECT (SELECT fact_key FROM fact_sightings
        WHERE workspace_id = $1 AND ts_ms = $6 AND source = $2 AND own_key = $3),
    EXISTS (SELECT 1 FROM event_keys WHERE ts_ms = $4 AND key = $5)";

// Another source's turns of the thread near the prompt that have no report from its source yet.
const CANDIDATES: &str = "
SELECT s.fact_key, s.ts_ms, s.turn_id FROM fact_sightings s
WHERE s.workspace_id = $1 AND s.thread_id = $2 AND s.kind = 'turn' AND s.source <> $3
    AND s.ts_ms BETWEEN $4 AND $5
    AND NOT EXISTS (SELECT 1 FROM fact_sightings p WHERE p.workspace_id = s.workspace_id
                    AND p.kind = 'turn' AND p.fact_key = s.fact_key AND p.source = $3)";

// A re-sent report is the same sighting: nothing changes. Rows come sorted by primary key, so
// concurrent transactions take their row locks in one order.
const RECORD: &str = "
INSERT INTO fact_sightings (workspace_id, source, own_key, fact_key, kind, thread_id, user_id, ts_ms,
    turn_id, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens)
SELECT workspace_id, source, own_key, fact_key, kind, thread_id, user_id, ts_ms,
    turn_id, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::int8[], $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::int8[])
    WITH ORDINALITY AS t(workspace_id, source, own_key, fact_key, kind, thread_id, user_id, ts_ms,
        turn_id, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, ord)
ORDER BY ord
ON CONFLICT DO NOTHING";

// Byte order (`COLLATE "C"`), as SQLite sorts: the table's columns use the database's collation.
const COVERAGE: &str = "
SELECT user_id, (ts_ms / 86400000) * 86400 AS day, thread_id, source, kind, COUNT(*),
    SUM(input_tokens)::BIGINT, SUM(cached_input_tokens)::BIGINT, SUM(output_tokens)::BIGINT,
    SUM(reasoning_output_tokens)::BIGINT
FROM fact_sightings
WHERE workspace_id = $1 AND ts_ms >= $2 AND ts_ms < $3
GROUP BY user_id, day, thread_id, source, kind
ORDER BY user_id COLLATE \"C\", day, thread_id COLLATE \"C\", source COLLATE \"C\", kind COLLATE \"C\"";

/// Records the sightings of the batch (`events`, as received) and returns the keys (of
/// `unique`, the batch the caller claims) of the prompts that paired with another source's
/// report of their turn: those are duplicates, never claimed nor inserted.
///
/// The batch's pairable prompts are decided one by one in time order, each recorded before the
/// next is decided, so a batch holding two sources' reports of one turn pairs the later with
/// the earlier. Every other sighting is recorded as reported, in one statement.
pub async fn record_batch(
    tx: &Transaction<'_>,
    unique: &[([u8; 16], &NormalizedEvent)],
    events: &[NormalizedEvent],
) -> Result<HashSet<[u8; 16]>, tokio_postgres::Error> {
    let mut prompts: Vec<&([u8; 16], &NormalizedEvent)> =
        unique.iter().filter(|(_, e)| pairable(e)).collect();
    prompts.sort_by_key(|(_, e)| e.timestamp_ms);
    let mut decided = HashSet::new();
    let mut paired = HashSet::new();
    for (key, e) in prompts {
        let Some(s) = decide(tx, key, e).await? else {
            continue;
        };
        record(tx, [&s]).await?;
        if s.paired() {
            paired.insert(*key);
        }
        decided.insert((s.workspace_id, s.ts_ms, s.source.as_str(), s.own_key));
    }
    // By primary key: a repeat within the batch is the same sighting (the first one is kept, as
    // `ON CONFLICT DO NOTHING` would), and rows are sorted. Also the repeats of a dedup key that
    // the caller left out of `unique`: another source's report of one fact is its own sighting.
    let mut rest = BTreeMap::new();
    for s in events.iter().filter_map(Sighting::of) {
        let pk = (s.workspace_id, s.ts_ms, s.source.as_str(), s.own_key);
        if !decided.contains(&pk) {
            rest.entry(pk).or_insert(s);
        }
    }
    record(tx, rest.values()).await?;
    Ok(paired)
}

/// The sighting of a pairable prompt with the fact it reports decided: the fact a re-send of
/// it was attributed to before, its own key, or the turn it pairs with.
async fn decide<'a>(
    tx: &Transaction<'_>,
    key: &[u8; 16],
    e: &'a NormalizedEvent,
) -> Result<Option<Sighting<'a>>, tokio_postgres::Error> {
    let Some(mut s) = Sighting::of(e) else {
        return Ok(None);
    };
    let (known, candidates) = tokio::try_join!(tx.prepare_cached(KNOWN), tx.prepare_cached(CANDIDATES))?;
    let (from, to) = s.pair_window();
    let (source, claim_ms, key) = (s.source.as_str(), e.dedup_claim_ms(), &key[..]);
    let known_params: [&(dyn ToSql + Sync); 6] =
        [&s.workspace_id, &source, &s.own_key, &claim_ms, &key, &s.ts_ms];
    let candidates_params: [&(dyn ToSql + Sync); 5] = [&s.workspace_id, &s.thread_id, &source, &from, &to];
    // Both sent at once (pipelined); the candidates are only used when the first has no answer.
    // `join!`, not `try_join!`: after a failure the other fails only with "transaction is
    // aborted", so the first statement's error is the one to report.
    let (known, candidates) = tokio::join!(
        tx.query_one(&known, &known_params),
        tx.query(&candidates, &candidates_params)
    );
    let known = known?;
    let candidates = candidates?;
    if let Some(fact) = known.get::<_, Option<String>>(0) {
        s.fact_key = fact;
        return Ok(Some(s));
    }
    if known.get::<_, bool>(1) {
        return Ok(Some(s));
    }
    let candidates: Vec<PairCandidate> = candidates
        .iter()
        .map(|r| PairCandidate {
            fact_key: r.get(0),
            ts_ms: r.get(1),
            turn_id: r.get(2),
        })
        .collect();
    if let Some(fact) = pick_pair(&s, &candidates) {
        s.fact_key = fact.to_owned();
    }
    Ok(Some(s))
}

/// Stores sightings ([`RECORD`]), in the order given.
async fn record<'r, 'e: 'r>(
    tx: &Transaction<'_>,
    sightings: impl IntoIterator<Item = &'r Sighting<'e>>,
) -> Result<(), tokio_postgres::Error> {
    let c = RecordColumns::of(sightings);
    if c.own_key.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare_cached(RECORD).await?;
    tx.execute(&stmt, &c.params()).await?;
    Ok(())
}

/// Sightings as one array per column, in `RECORD` parameter order.
#[derive(Default)]
struct RecordColumns<'r> {
    workspace_id: Vec<&'r str>,
    source: Vec<&'r str>,
    own_key: Vec<&'r str>,
    fact_key: Vec<&'r str>,
    kind: Vec<&'r str>,
    thread_id: Vec<&'r str>,
    user_id: Vec<&'r str>,
    ts_ms: Vec<i64>,
    turn_id: Vec<Option<&'r str>>,
    tokens: [Vec<i64>; 4],
}

impl<'r> RecordColumns<'r> {
    fn of<'e: 'r>(sightings: impl IntoIterator<Item = &'r Sighting<'e>>) -> Self {
        let mut c = RecordColumns::default();
        for s in sightings {
            c.workspace_id.push(s.workspace_id);
            c.source.push(s.source.as_str());
            c.own_key.push(s.own_key);
            c.fact_key.push(&s.fact_key);
            c.kind.push(s.kind.as_str());
            c.thread_id.push(s.thread_id);
            c.user_id.push(s.user_id);
            c.ts_ms.push(s.ts_ms);
            c.turn_id.push(s.turn_id);
            crate::ledger::push_tokens(&mut c.tokens, &s.usage);
        }
        c
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 13] {
        let [input, cached, output, reasoning] = &self.tokens;
        [
            &self.workspace_id,
            &self.source,
            &self.own_key,
            &self.fact_key,
            &self.kind,
            &self.thread_id,
            &self.user_id,
            &self.ts_ms,
            &self.turn_id,
            input,
            cached,
            output,
            reasoning,
        ]
    }
}

#[async_trait]
impl CoverageStore for PostgresStore {
    async fn coverage_rows(&self, w: &DayWindow) -> StoreResult<Vec<CoverageRow>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(COVERAGE).await.map_err(map_err)?;
        let rows = client
            .query(
                &stmt,
                &[&w.workspace_id, &(w.start_day * 1000), &(w.end_day * 1000)],
            )
            .await
            .map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| CoverageRow {
                user_id: r.get(0),
                day: r.get(1),
                thread_id: r.get(2),
                source: r.get(3),
                kind: SightingKind::parse(r.get(4)).unwrap_or(SightingKind::Turn),
                reports: r.get(5),
                input_tokens: r.get(6),
                cached_input_tokens: r.get(7),
                output_tokens: r.get(8),
                reasoning_output_tokens: r.get(9),
            })
            .collect())
    }
}
