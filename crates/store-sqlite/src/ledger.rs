//! The turn ledger's persistence (`turn_reports`, migration 0012); the decisions are in
//! `steward_store::ledger`. Runs inside the event batch's transaction, after its events are
//! inserted, so the checks below also see this batch.

use rusqlite::{params, OptionalExtension, Transaction};
use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};
use steward_store::ledger::{coverers, Settled, TurnReportRow, COVERING_KINDS};
use steward_store::rollup::event_key_bytes;
use steward_store::StoreResult;

use crate::conn::map_err;

pub fn settle<'a>(tx: &Transaction<'_>, inserted: &[&'a NormalizedEvent]) -> StoreResult<Settled<'a>> {
    let (coverers, threads) = coverers(inserted);
    let mut settled = Settled::default();
    // Counted reports of these threads that this batch covers: taken back.
    if !threads.is_empty() {
        let mut counted = tx
            .prepare_cached(
                "SELECT turn_key, thread_id, started_ms, ended_ms, user_id, client_id, model, rate_card_version,
                        input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
                        credits_micro, usd_micro, workspace_id
                 FROM turn_reports WHERE workspace_id = ?1 AND thread_id = ?2 AND counted = 1",
            )
            .map_err(map_err)?;
        let mut uncount = tx
            .prepare_cached("UPDATE turn_reports SET counted = 0 WHERE workspace_id = ?1 AND turn_key = ?2")
            .map_err(map_err)?;
        for (ws, thread) in threads {
            let rows = counted
                .query_map(params![ws, thread], row)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            for r in rows {
                if coverers.iter().any(|c| r.covered_by(c)) {
                    uncount
                        .execute(params![r.workspace_id, r.turn_key])
                        .map_err(map_err)?;
                    settled.retracted.push(r);
                }
            }
        }
    }
    // This batch's reports: counted unless their turn is covered already.
    if !inserted.iter().any(|e| matches!(e.kind, EventKind::TurnUsage(_))) {
        return Ok(settled);
    }
    let mut claimed = tx
        .prepare_cached("SELECT 1 FROM event_keys WHERE ts_ms = 0 AND key = ?1")
        .map_err(map_err)?;
    let mut in_window = tx
        .prepare_cached(&format!(
            "SELECT 1 FROM events WHERE workspace_id = ?1 AND thread_id = ?2
                 AND kind IN ('{}', '{}') AND source <> '{}' AND ts_ms BETWEEN ?3 AND ?4 LIMIT 1",
            COVERING_KINDS[0],
            COVERING_KINDS[1],
            Source::Analytics.as_str()
        ))
        .map_err(map_err)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO turn_reports (workspace_id, turn_key, thread_id, started_ms, ended_ms, user_id, client_id,
                 model, rate_card_version, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
                 credits_micro, usd_micro, counted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT DO NOTHING",
        )
        .map_err(map_err)?;
    for e in inserted {
        let Some(mut r) = TurnReportRow::of(e) else {
            continue;
        };
        let (from, to) = r.window();
        let key = event_key_bytes(&r.workspace_id, &r.turn_key);
        let covered = claimed
            .query_row(params![&key[..]], |_| Ok(()))
            .optional()
            .map_err(map_err)?
            .is_some()
            || in_window
                .query_row(params![r.workspace_id, r.thread_id, from, to], |_| Ok(()))
                .optional()
                .map_err(map_err)?
                .is_some();
        r.counted = !covered;
        let u = &r.usage;
        let added = insert
            .execute(params![
                r.workspace_id,
                r.turn_key,
                r.thread_id,
                r.started_ms,
                r.ended_ms,
                r.user_id,
                r.client_id,
                r.model,
                r.rate_card_version,
                u.input,
                u.cached_input,
                u.output,
                u.reasoning_output,
                r.credits_micro,
                r.usd_micro,
                r.counted,
            ])
            .map_err(map_err)?;
        // A second report of a turn the ledger already has (under another event key) adds nothing.
        if !r.counted || added == 0 {
            settled.uncounted.push(&e.dedup_key);
        }
    }
    Ok(settled)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TurnReportRow> {
    let (input, cached_input, output, reasoning_output): (i64, i64, i64, i64) =
        (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?);
    Ok(TurnReportRow {
        turn_key: r.get(0)?,
        thread_id: r.get(1)?,
        started_ms: r.get(2)?,
        ended_ms: r.get(3)?,
        user_id: r.get(4)?,
        client_id: r.get(5)?,
        model: r.get(6)?,
        rate_card_version: r.get(7)?,
        usage: TokenUsage {
            input,
            cached_input,
            output,
            reasoning_output,
            total: input + output,
        },
        credits_micro: r.get(12)?,
        usd_micro: r.get(13)?,
        workspace_id: r.get(14)?,
        counted: true,
    })
}
