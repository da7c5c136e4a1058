//! The ingest write path: events plus rollups in one transaction.

use rusqlite::{params, Connection, TransactionBehavior};
use steward_model::NormalizedEvent;
use steward_store::rollup::{event_key_bytes, RollupDelta};
use steward_store::{InsertOutcome, StoreResult};

use crate::conn::map_err;
use crate::migrate::now_ms;

pub fn insert_events(c: &mut Connection, events: &[NormalizedEvent]) -> StoreResult<InsertOutcome> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let received = now_ms();
    let mut inserted = Vec::with_capacity(events.len());
    {
        let mut claim = tx
            .prepare_cached("INSERT INTO event_keys (ts_ms, key) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
            .map_err(map_err)?;
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO events (workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
                    client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
                    total_tokens, credits_micro, usd_micro, rate_card_version, received_at_ms, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            )
            .map_err(map_err)?;
        for e in events {
            // A turn or response: which fact it reports (a prompt may pair with another
            // source's report of its turn), remembered whether or not the fact is new.
            let sighting = crate::sightings::decide(&tx, e)?;
            // Claiming the key first decides "new or duplicate" with one small-index insert
            // (a paired prompt's under the turn it reports, so it is a duplicate).
            let claimed_key = match &sighting {
                Some(s) if s.paired() => s.fact_key.as_str(),
                _ => e.dedup_key.as_str(),
            };
            let key = event_key_bytes(&e.workspace_id, claimed_key);
            let new = claim
                .execute(params![e.dedup_claim_ms(), &key[..]])
                .map_err(map_err)?
                == 1;
            if let Some(s) = &sighting {
                crate::sightings::record(&tx, s)?;
            }
            if !new {
                continue;
            }
            let u = e.kind.usage();
            stmt.execute(params![
                e.workspace_id,
                e.dedup_key,
                e.user_id,
                e.source.as_str(),
                e.event_name,
                e.kind.as_str(),
                e.thread_id,
                e.timestamp_ms,
                e.client_id,
                e.model,
                u.map(|u| u.input),
                u.map(|u| u.cached_input),
                u.map(|u| u.output),
                u.map(|u| u.reasoning_output),
                u.map(|u| u.total),
                e.credits_micro,
                e.usd_micro,
                e.rate_card_version,
                received,
                e.raw,
            ])
            .map_err(map_err)?;
            if let Some(log_type) = e.log_type() {
                let id = tx.last_insert_rowid();
                crate::compliance::queue_event(
                    &tx,
                    &e.workspace_id,
                    log_type,
                    e.timestamp_ms,
                    id,
                    e.trace_id.as_deref(),
                    received,
                )?;
            }
            inserted.push(e);
        }
    }
    let settled = crate::ledger::settle(&tx, &inserted)?;
    let mut delta = RollupDelta::from_events(
        inserted
            .iter()
            .copied()
            .filter(|e| steward_store::ledger::counts(e, &settled.uncounted)),
    );
    delta.retract(&settled.retracted);
    apply_rollups(&tx, &delta)?;
    crate::tasks::apply_threads(&tx, &inserted)?;
    tx.commit().map_err(map_err)?;
    let n = inserted.len() as u64;
    Ok(InsertOutcome {
        inserted: n,
        duplicates: events.len() as u64 - n,
    })
}

fn apply_rollups(tx: &rusqlite::Transaction<'_>, delta: &RollupDelta) -> StoreResult<()> {
    if delta.is_empty() {
        return Ok(());
    }
    let mut usage = tx
        .prepare_cached(
            "INSERT INTO usage_daily (workspace_id, day, week, user_id, client_id, model, rate_card_version,
                turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, credits_micro, usd_micro)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (workspace_id, day, user_id, client_id, model, rate_card_version) DO UPDATE SET
                turns = turns + excluded.turns,
                input_tokens = input_tokens + excluded.input_tokens,
                cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
                output_tokens = output_tokens + excluded.output_tokens,
                reasoning_output_tokens = reasoning_output_tokens + excluded.reasoning_output_tokens,
                credits_micro = credits_micro + excluded.credits_micro,
                usd_micro = usd_micro + excluded.usd_micro",
        )
        .map_err(map_err)?;
    for (k, s) in &delta.usage {
        usage
            .execute(params![
                k.workspace_id,
                k.day,
                k.week,
                k.user_id,
                k.client_id,
                k.model,
                k.rate_card_version,
                s.turns,
                s.input_tokens,
                s.cached_input_tokens,
                s.output_tokens,
                s.reasoning_output_tokens,
                s.credits_micro,
                s.usd_micro
            ])
            .map_err(map_err)?;
    }
    let mut seen = tx
        .prepare_cached("INSERT INTO thread_seen (bucket, key) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
        .map_err(map_err)?;
    let mut newly_seen = Vec::new();
    for t in &delta.thread_seen {
        if seen
            .execute(params![t.counter.bucket, &t.key()[..]])
            .map_err(map_err)?
            == 1
        {
            newly_seen.push(t);
        }
    }
    let mut count = tx
        .prepare_cached(
            "INSERT INTO thread_counts (workspace_id, grain, bucket, user_id, client_id, threads)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (workspace_id, grain, bucket, user_id, client_id) DO UPDATE SET threads = threads + excluded.threads",
        )
        .map_err(map_err)?;
    for (c, n) in RollupDelta::thread_count_increments(newly_seen) {
        count
            .execute(params![
                c.workspace_id,
                c.grain,
                c.bucket,
                c.user_id,
                c.client_id,
                n
            ])
            .map_err(map_err)?;
    }
    Ok(())
}
