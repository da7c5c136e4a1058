//! The ingest write path: events plus rollups in one transaction, one statement per table.
//!
//! Each table gets a single multi-row statement whose rows arrive as parallel arrays
//! (`UNNEST($1::text[], ...)`), so a batch costs the same few round trips whatever its size.
//! `ON CONFLICT` makes the counting exactly-once even when two replicas insert the same event
//! at the same moment: the second waits for the first's commit, then skips the row, and
//! `RETURNING` tells each which rows it really inserted. Inserted events that are compliance
//! records are queued in `compliance_pending` by the events statement itself (a second variant,
//! used only for batches that have some).

use std::collections::{BTreeMap, HashMap, HashSet};

use deadpool_postgres::{Object, Pool};
use steward_model::NormalizedEvent;
use steward_store::rollup::{event_key_bytes, RollupDelta, ThreadCountKey, ThreadSeen};
use steward_store::{InsertOutcome, StoreResult};
use tokio_postgres::types::ToSql;

use crate::conn::{self, is_retryable, map_err, TX_ATTEMPTS};
use crate::migrate::now_ms;

// Rows are inserted in array order (`ORDER BY ord`), and the arrays are sorted, so concurrent
// transactions take their row locks in one global order and cannot deadlock each other.
// Claiming the dedup key decides "new or duplicate"; only new events are then inserted.
const CLAIM_KEYS: &str = "
INSERT INTO event_keys (ts_ms, key)
SELECT ts_ms, key FROM UNNEST($1::int8[], $2::bytea[]) WITH ORDINALITY AS t(ts_ms, key, ord)
ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING key";

/// The events insert, shared by the two statements below.
macro_rules! insert_events_sql {
    () => {
        "INSERT INTO events (workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
    client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
    total_tokens, credits_micro, usd_micro, rate_card_version, raw, received_at_ms)
SELECT workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
    client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
    total_tokens, credits_micro, usd_micro, rate_card_version, raw, $20
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::int8[], $9::text[], $10::text[], $11::int8[], $12::int8[], $13::int8[], $14::int8[],
    $15::int8[], $16::int8[], $17::int8[], $18::text[], $19::text[])
    WITH ORDINALITY AS t(workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
        client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
        total_tokens, credits_micro, usd_micro, rate_card_version, raw, ord)
ORDER BY ord"
    };
}

const INSERT_EVENTS: &str = insert_events_sql!();

// For batches with compliance events: the same insert, whose RETURNING rows are matched
// server-side with the compliance events ($21..$24, by workspace and dedup key) to queue their
// pending records with the new `events.id`, in the same statement (no ids travel back and forth).
const INSERT_EVENTS_QUEUEING: &str = concat!(
    "WITH inserted AS (\n",
    insert_events_sql!(),
    "\nRETURNING id, workspace_id, dedup_key, ts_ms)
INSERT INTO compliance_pending (workspace_id, log_type, ts_ms, event_id, trace_id)
SELECT inserted.workspace_id, c.log_type, inserted.ts_ms, inserted.id, c.trace_id
FROM inserted
JOIN UNNEST($21::text[], $22::text[], $23::text[], $24::text[]) AS c(workspace_id, dedup_key, log_type, trace_id)
    ON c.workspace_id = inserted.workspace_id AND c.dedup_key = inserted.dedup_key
ORDER BY inserted.id"
);

const UPSERT_USAGE: &str = "
INSERT INTO usage_daily (workspace_id, day, week, user_id, client_id, model, rate_card_version,
    turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, credits_micro, usd_micro)
SELECT workspace_id, day, week, user_id, client_id, model, rate_card_version,
    turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, credits_micro, usd_micro
FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[])
    WITH ORDINALITY AS t(workspace_id, day, week, user_id, client_id, model, rate_card_version,
        turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, credits_micro,
        usd_micro, ord)
ORDER BY ord
ON CONFLICT (workspace_id, day, user_id, client_id, model, rate_card_version) DO UPDATE SET
    turns = usage_daily.turns + EXCLUDED.turns,
    input_tokens = usage_daily.input_tokens + EXCLUDED.input_tokens,
    cached_input_tokens = usage_daily.cached_input_tokens + EXCLUDED.cached_input_tokens,
    output_tokens = usage_daily.output_tokens + EXCLUDED.output_tokens,
    reasoning_output_tokens = usage_daily.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens,
    credits_micro = usage_daily.credits_micro + EXCLUDED.credits_micro,
    usd_micro = usage_daily.usd_micro + EXCLUDED.usd_micro";

const INSERT_THREAD_SEEN: &str = "
INSERT INTO thread_seen (bucket, key)
SELECT bucket, key
FROM UNNEST($1::int8[], $2::bytea[]) WITH ORDINALITY AS t(bucket, key, ord)
ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING bucket, key";

const UPSERT_THREAD_COUNTS: &str = "
INSERT INTO thread_counts (workspace_id, grain, bucket, user_id, client_id, threads)
SELECT workspace_id, grain, bucket, user_id, client_id, threads
FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::int8[])
    WITH ORDINALITY AS t(workspace_id, grain, bucket, user_id, client_id, threads, ord)
ORDER BY ord
ON CONFLICT (workspace_id, grain, bucket, user_id, client_id) DO UPDATE SET
    threads = thread_counts.threads + EXCLUDED.threads";

pub async fn insert_events(pool: &Pool, events: &[NormalizedEvent]) -> StoreResult<InsertOutcome> {
    if events.is_empty() {
        return Ok(InsertOutcome::default());
    }
    let unique = unique_sorted(events);
    let mut client = conn::get(pool).await?;
    let mut attempt = 1;
    loop {
        match attempt_insert(&mut client, &unique, events).await {
            Ok(inserted) => {
                return Ok(InsertOutcome {
                    inserted,
                    duplicates: events.len() as u64 - inserted,
                });
            }
            // A lost race rolled everything back; running the whole transaction again is safe
            // because nothing of it was kept.
            Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                tracing::debug!(attempt, error = %e, "retrying event batch after a serialisation conflict");
                tokio::time::sleep(conn::backoff(attempt)).await;
                attempt += 1;
            }
            // Also when COMMIT itself failed and the outcome is unknown: the caller retries the
            // batch, and idempotency makes that safe either way.
            Err(e) => return Err(map_err(e)),
        }
    }
}

/// The batch without repeats of a dedup key (the first occurrence wins, as in the SQLite
/// backend, which inserts row by row), with its `event_keys` bytes, sorted by those bytes.
fn unique_sorted(events: &[NormalizedEvent]) -> Vec<([u8; 16], &NormalizedEvent)> {
    let mut seen = HashSet::with_capacity(events.len());
    let mut unique: Vec<([u8; 16], &NormalizedEvent)> = events
        .iter()
        .map(|e| (event_key_bytes(&e.workspace_id, &e.dedup_key), e))
        .filter(|(k, _)| seen.insert(*k))
        .collect();
    // Sorted like the event_keys primary key, so concurrent transactions lock in one order.
    unique.sort_by_key(|(key, e)| (e.dedup_claim_ms(), *key));
    unique
}

/// One try of the whole transaction (`events` is `batch` without repeated keys, see
/// [`unique_sorted`]); returns how many events were new.
async fn attempt_insert(
    client: &mut Object,
    events: &[([u8; 16], &NormalizedEvent)],
    batch: &[NormalizedEvent],
) -> Result<u64, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    // Before anything else (so before any row lock): the ledger's thread locks, when the batch
    // has turn reports or events covering them (see `ledger::lock_threads`). Pairing prompts
    // needs them too (a pairable prompt covers turns, so its thread is locked).
    crate::ledger::lock_threads(&tx, events.iter().map(|(_, e)| *e)).await?;
    // Every source's report of a turn or response is remembered, new or not; a prompt that
    // paired with another source's report of its turn is a duplicate of that fact, so it is
    // neither claimed nor inserted.
    let paired = crate::sightings::record_batch(&tx, events, batch).await?;
    let events: Vec<&([u8; 16], &NormalizedEvent)> =
        events.iter().filter(|(k, _)| !paired.contains(k)).collect();
    // Cached per connection: after the first batch, preparing is free.
    let (claim, insert, insert_queueing) = tokio::try_join!(
        tx.prepare_cached(CLAIM_KEYS),
        tx.prepare_cached(INSERT_EVENTS),
        tx.prepare_cached(INSERT_EVENTS_QUEUEING)
    )?;
    // The workspace is part of the key bytes: equal dedup keys in two workspaces are two events.
    let times: Vec<i64> = events.iter().map(|(_, e)| e.dedup_claim_ms()).collect();
    let keys: Vec<&[u8]> = events.iter().map(|(k, _)| &k[..]).collect();
    let claimed: HashSet<Vec<u8>> = tx
        .query(&claim, &[&times, &keys])
        .await?
        .iter()
        .map(|r| r.get::<_, Vec<u8>>(0))
        .collect();
    let mut inserted: Vec<&NormalizedEvent> = events
        .iter()
        .filter(|(k, _)| claimed.contains(&k[..]))
        .map(|(_, e)| *e)
        .collect();
    // Claims were taken in key order (timeless for shared facts); rows are stored in time order,
    // so event ids, and the compliance records queued from them, follow the events' times.
    inserted.sort_by_key(|e| e.timestamp_ms);
    if !inserted.is_empty() {
        let cols = EventColumns::of(&inserted);
        let received = now_ms();
        let params = cols.params(&received);
        let pending = PendingColumns::of(&inserted);
        if pending.log_type.is_empty() {
            tx.execute(&insert, &params).await?;
        } else {
            let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
            all.extend(pending.params());
            tx.execute(&insert_queueing, &all).await?;
        }
    }
    // The turn ledger: reports whose turn is covered already do not count, and counted
    // reports that this batch covers are taken back out of the same rollup rows.
    let settled = crate::ledger::settle(&tx, &inserted).await?;
    let mut delta = RollupDelta::from_events(
        inserted
            .iter()
            .copied()
            .filter(|e| steward_store::ledger::counts(e, &settled.uncounted)),
    );
    delta.retract(&settled.retracted);
    apply_rollups(&tx, &delta).await?;
    crate::tasks::apply_threads(&tx, &inserted).await?;
    tx.commit().await?;
    Ok(inserted.len() as u64)
}

async fn apply_rollups(
    tx: &deadpool_postgres::Transaction<'_>,
    delta: &RollupDelta,
) -> Result<(), tokio_postgres::Error> {
    if delta.is_empty() {
        return Ok(());
    }
    let (usage_stmt, seen_stmt, counts_stmt) = tokio::try_join!(
        tx.prepare_cached(UPSERT_USAGE),
        tx.prepare_cached(INSERT_THREAD_SEEN),
        tx.prepare_cached(UPSERT_THREAD_COUNTS)
    )?;
    let (usage, seen) = (UsageColumns::of(delta), SeenColumns::of(delta));
    let (usage_params, seen_params) = (usage.params(), seen.params());
    // Both statements are sent before the first reply arrives (tokio-postgres pipelines
    // requests on one connection); the server still runs them one after the other. `join!`,
    // not `try_join!` (which may report either error first): when the first fails (say, a
    // retryable deadlock) the second fails only with "transaction is aborted", which is not.
    let (upserted, newly_seen) = tokio::join!(
        tx.execute(&usage_stmt, &usage_params),
        tx.query(&seen_stmt, &seen_params)
    );
    upserted?;
    let newly_seen = newly_seen?;
    // RETURNING names the new rows by key; map them back to their counters.
    let by_key: HashMap<(i64, &[u8]), &ThreadSeen> = seen
        .bucket
        .iter()
        .zip(&seen.key)
        .zip(&delta.thread_seen)
        .map(|((b, k), t)| ((*b, k.as_slice()), t))
        .collect();
    let newly_seen: Vec<&ThreadSeen> = newly_seen
        .iter()
        .filter_map(|r| by_key.get(&(r.get::<_, i64>(0), r.get::<_, &[u8]>(1))).copied())
        .collect();
    let increments = RollupDelta::thread_count_increments(newly_seen);
    if !increments.is_empty() {
        let counts = CountColumns::of(&increments);
        tx.execute(&counts_stmt, &counts.params()).await?;
    }
    Ok(())
}

/// The events as one array per column, in `INSERT_EVENTS` parameter order.
struct EventColumns<'a> {
    workspace_id: Vec<&'a str>,
    dedup_key: Vec<&'a str>,
    user_id: Vec<&'a str>,
    source: Vec<&'a str>,
    event_name: Vec<&'a str>,
    kind: Vec<&'a str>,
    thread_id: Vec<Option<&'a str>>,
    ts_ms: Vec<i64>,
    client_id: Vec<&'a str>,
    model: Vec<Option<&'a str>>,
    tokens: [Vec<Option<i64>>; 5],
    credits_micro: Vec<i64>,
    usd_micro: Vec<i64>,
    rate_card_version: Vec<&'a str>,
    raw: Vec<&'a str>,
}

impl<'a> EventColumns<'a> {
    fn of(events: &[&'a NormalizedEvent]) -> Self {
        let col = |f: fn(&'a NormalizedEvent) -> &'a str| events.iter().map(|e| f(e)).collect::<Vec<_>>();
        let token = |f: fn(&steward_model::TokenUsage) -> i64| {
            events.iter().map(|e| e.kind.usage().map(f)).collect::<Vec<_>>()
        };
        EventColumns {
            workspace_id: col(|e| &e.workspace_id),
            dedup_key: col(|e| &e.dedup_key),
            user_id: col(|e| &e.user_id),
            source: col(|e| e.source.as_str()),
            event_name: col(|e| &e.event_name),
            kind: col(|e| e.kind.as_str()),
            thread_id: events.iter().map(|e| e.thread_id.as_deref()).collect(),
            ts_ms: events.iter().map(|e| e.timestamp_ms).collect(),
            client_id: col(|e| &e.client_id),
            model: events.iter().map(|e| e.model.as_deref()).collect(),
            tokens: [
                token(|u| u.input),
                token(|u| u.cached_input),
                token(|u| u.output),
                token(|u| u.reasoning_output),
                token(|u| u.total),
            ],
            credits_micro: events.iter().map(|e| e.credits_micro).collect(),
            usd_micro: events.iter().map(|e| e.usd_micro).collect(),
            rate_card_version: col(|e| &e.rate_card_version),
            raw: col(|e| &e.raw),
        }
    }

    fn params<'p>(&'p self, received_at_ms: &'p i64) -> [&'p (dyn ToSql + Sync); 20] {
        let [input, cached, output, reasoning, total] = &self.tokens;
        [
            &self.workspace_id,
            &self.dedup_key,
            &self.user_id,
            &self.source,
            &self.event_name,
            &self.kind,
            &self.thread_id,
            &self.ts_ms,
            &self.client_id,
            &self.model,
            input,
            cached,
            output,
            reasoning,
            total,
            &self.credits_micro,
            &self.usd_micro,
            &self.rate_card_version,
            &self.raw,
            received_at_ms,
        ]
    }
}

/// The inserted events that are compliance records (`NormalizedEvent::log_type`), as one array
/// per column, in `INSERT_EVENTS_QUEUEING` parameter order ($21..$24).
struct PendingColumns<'a> {
    workspace_id: Vec<&'a str>,
    dedup_key: Vec<&'a str>,
    log_type: Vec<&'a str>,
    trace_id: Vec<Option<&'a str>>,
}

impl<'a> PendingColumns<'a> {
    fn of(events: &[&'a NormalizedEvent]) -> Self {
        let mut c = PendingColumns {
            workspace_id: Vec::new(),
            dedup_key: Vec::new(),
            log_type: Vec::new(),
            trace_id: Vec::new(),
        };
        for e in events {
            if let Some(log_type) = e.log_type() {
                c.workspace_id.push(&e.workspace_id);
                c.dedup_key.push(&e.dedup_key);
                c.log_type.push(log_type.as_str());
                c.trace_id.push(e.trace_id.as_deref());
            }
        }
        c
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 4] {
        [
            &self.workspace_id,
            &self.dedup_key,
            &self.log_type,
            &self.trace_id,
        ]
    }
}

/// The usage deltas as one array per column, in `UPSERT_USAGE` parameter order and in the
/// delta's (BTreeMap, hence global) key order.
struct UsageColumns<'a> {
    keys: [Vec<&'a str>; 5],
    day: Vec<i64>,
    week: Vec<i64>,
    sums: [Vec<i64>; 7],
}

impl<'a> UsageColumns<'a> {
    fn of(delta: &'a RollupDelta) -> Self {
        let mut c = UsageColumns {
            keys: Default::default(),
            day: Vec::new(),
            week: Vec::new(),
            sums: Default::default(),
        };
        for (k, s) in &delta.usage {
            for (col, v) in c.keys.iter_mut().zip([
                &k.workspace_id,
                &k.user_id,
                &k.client_id,
                &k.model,
                &k.rate_card_version,
            ]) {
                col.push(v.as_str());
            }
            c.day.push(k.day);
            c.week.push(k.week);
            let sums = [
                s.turns,
                s.input_tokens,
                s.cached_input_tokens,
                s.output_tokens,
                s.reasoning_output_tokens,
                s.credits_micro,
                s.usd_micro,
            ];
            for (col, v) in c.sums.iter_mut().zip(sums) {
                col.push(v);
            }
        }
        c
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 14] {
        let [ws, user, client, model, version] = &self.keys;
        let [turns, input, cached, output, reasoning, credits, usd] = &self.sums;
        [
            ws, &self.day, &self.week, user, client, model, version, turns, input, cached, output, reasoning,
            credits, usd,
        ]
    }
}

/// The thread-seen rows as one array per column, in `INSERT_THREAD_SEEN` parameter order.
struct SeenColumns {
    bucket: Vec<i64>,
    key: Vec<Vec<u8>>,
}

impl SeenColumns {
    fn of(delta: &RollupDelta) -> Self {
        let t = &delta.thread_seen;
        SeenColumns {
            bucket: t.iter().map(|t| t.counter.bucket).collect(),
            key: t.iter().map(|t| t.key().to_vec()).collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 2] {
        [&self.bucket, &self.key]
    }
}

/// Counter increments as one array per column, in `UPSERT_THREAD_COUNTS` order (key-sorted).
struct CountColumns<'a> {
    workspace_id: Vec<&'a str>,
    grain: Vec<&'a str>,
    bucket: Vec<i64>,
    user_id: Vec<&'a str>,
    client_id: Vec<&'a str>,
    threads: Vec<i64>,
}

impl<'a> CountColumns<'a> {
    fn of(increments: &'a BTreeMap<ThreadCountKey, i64>) -> Self {
        CountColumns {
            workspace_id: increments.keys().map(|k| k.workspace_id.as_str()).collect(),
            grain: increments.keys().map(|k| k.grain).collect(),
            bucket: increments.keys().map(|k| k.bucket).collect(),
            user_id: increments.keys().map(|k| k.user_id.as_str()).collect(),
            client_id: increments.keys().map(|k| k.client_id.as_str()).collect(),
            threads: increments.values().copied().collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 6] {
        [
            &self.workspace_id,
            &self.grain,
            &self.bucket,
            &self.user_id,
            &self.client_id,
            &self.threads,
        ]
    }
}
