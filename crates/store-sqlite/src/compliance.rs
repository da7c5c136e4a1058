//! Compliance log tables: pending records, sealed files, the digest-chain head, turn spans.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use steward_model::{LogType, TokenUsage};
use steward_store::{
    ChainHeadRow, ComplianceFile, FileQuery, NewAuditRecord, PendingEvent, PendingRecord, PendingSource,
    SealCommit, StoreError, StoreResult, TurnSpan,
};

use crate::conn::map_err;
use crate::migrate::now_ms;

/// Queues the compliance record of an event just inserted (inside the ingest transaction).
pub fn queue_event(
    tx: &rusqlite::Transaction<'_>,
    workspace_id: &str,
    log_type: LogType,
    ts_ms: i64,
    event_id: i64,
    trace_id: Option<&str>,
    queued_at_ms: i64,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO compliance_pending (workspace_id, log_type, ts_ms, event_id, trace_id, queued_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(map_err)?
    .execute(params![
        workspace_id,
        log_type.as_str(),
        ts_ms,
        event_id,
        trace_id,
        queued_at_ms
    ])
    .map_err(map_err)?;
    Ok(())
}

pub fn insert_turn_spans(c: &mut Connection, spans: &[TurnSpan]) -> StoreResult<u64> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let mut n = 0;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO turn_spans (workspace_id, trace_id, turn_id, thread_id) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )
            .map_err(map_err)?;
        for s in spans {
            n += stmt
                .execute(params![s.workspace_id, s.trace_id, s.turn_id, s.thread_id])
                .map_err(map_err)? as u64;
        }
    }
    tx.commit().map_err(map_err)?;
    Ok(n)
}

pub fn append_audit_record(c: &mut Connection, r: &NewAuditRecord) -> StoreResult<()> {
    c.execute(
        "INSERT INTO compliance_pending (workspace_id, log_type, ts_ms, record, queued_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![r.workspace_id, r.log_type.as_str(), r.timestamp_ms, r.record, now_ms()],
    )
    .map_err(map_err)?;
    Ok(())
}

pub fn pending_workspaces(c: &Connection) -> StoreResult<Vec<(String, i64)>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT workspace_id, MIN(queued_at_ms) FROM compliance_pending GROUP BY workspace_id",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub fn pending_records(c: &Connection, workspace_id: &str, limit: u32) -> StoreResult<Vec<PendingRecord>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT p.id, p.log_type, p.ts_ms, p.record, e.dedup_key, e.user_id, u.email, e.event_name, e.thread_id,
                    e.client_id, e.model, e.input_tokens, e.cached_input_tokens, e.output_tokens,
                    e.reasoning_output_tokens, e.total_tokens, e.raw, t.turn_id, p.trace_id, p.queued_at_ms
             FROM compliance_pending p
             LEFT JOIN events e ON e.id = p.event_id
             LEFT JOIN users u ON u.id = e.user_id
             LEFT JOIN turn_spans t ON t.workspace_id = p.workspace_id AND t.trace_id = p.trace_id
             WHERE p.workspace_id = ?1
             ORDER BY p.id
             LIMIT ?2",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![workspace_id, limit], pending_from_row)
        .map_err(map_err)?;
    let rows: Vec<Result<PendingRecord, String>> = rows.collect::<Result<_, _>>().map_err(map_err)?;
    rows.into_iter().map(|r| r.map_err(StoreError::Other)).collect()
}

fn pending_from_row(r: &Row<'_>) -> rusqlite::Result<Result<PendingRecord, String>> {
    let log_type: String = r.get(1)?;
    let Ok(log_type) = log_type.parse::<LogType>() else {
        return Ok(Err(format!(
            "compliance_pending row with unknown log type {log_type:?}"
        )));
    };
    let record: Option<String> = r.get(3)?;
    let source = match record {
        Some(record) => PendingSource::Record(record),
        None => {
            let Some(dedup_key) = r.get::<_, Option<String>>(4)? else {
                return Ok(Err("compliance_pending row whose event is missing".to_owned()));
            };
            let input: Option<i64> = r.get(11)?;
            let usage = input.map(|input| -> rusqlite::Result<TokenUsage> {
                Ok(TokenUsage {
                    input,
                    cached_input: r.get::<_, Option<i64>>(12)?.unwrap_or(0),
                    output: r.get::<_, Option<i64>>(13)?.unwrap_or(0),
                    reasoning_output: r.get::<_, Option<i64>>(14)?.unwrap_or(0),
                    total: r.get::<_, Option<i64>>(15)?.unwrap_or(0),
                })
            });
            PendingSource::Event(Box::new(PendingEvent {
                dedup_key,
                user_id: r.get(5)?,
                user_email: r.get(6)?,
                event_name: r.get(7)?,
                thread_id: r.get(8)?,
                timestamp_ms: r.get(2)?,
                client_id: r.get(9)?,
                model: r.get(10)?,
                usage: usage.transpose()?,
                raw: r.get(16)?,
                turn_id: r.get(17)?,
                trace_id: r.get(18)?,
            }))
        }
    };
    Ok(Ok(PendingRecord {
        pending_id: r.get(0)?,
        log_type,
        timestamp_ms: r.get(2)?,
        queued_at_ms: r.get(19)?,
        source,
    }))
}

pub fn chain_head(c: &Connection, workspace_id: &str) -> StoreResult<Option<ChainHeadRow>> {
    c.query_row(
        "SELECT sequence, digest_sha256, last_end_time FROM compliance_chain WHERE workspace_id = ?1",
        [workspace_id],
        |r| {
            Ok(ChainHeadRow {
                sequence: r.get::<_, i64>(0)? as u64,
                digest_sha256: r.get(1)?,
                last_end_time: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(map_err)
}

pub fn commit_seal(c: &mut Connection, s: &SealCommit) -> StoreResult<()> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let current = chain_head(&tx, &s.workspace_id)?.map(|h| h.sequence);
    if current != s.expected_head {
        return Err(StoreError::Conflict(format!(
            "compliance chain of workspace {} is at {current:?}, not {:?}: another sealer won",
            s.workspace_id, s.expected_head
        )));
    }
    tx.execute(
        "INSERT INTO compliance_chain (workspace_id, sequence, digest_sha256, last_end_time) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (workspace_id) DO UPDATE SET sequence = excluded.sequence,
            digest_sha256 = excluded.digest_sha256, last_end_time = excluded.last_end_time",
        params![
            s.workspace_id,
            s.new_head.sequence as i64,
            s.new_head.digest_sha256,
            s.new_head.last_end_time
        ],
    )
    .map_err(map_err)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO compliance_files (id, workspace_id, log_type, end_time, path, file_name, sha256,
                    records_root, size, record_count, first_ts, last_ts, digest_sequence, sealed_at_ms,
                    content_erased_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(map_err)?;
        for f in &s.files {
            insert
                .execute(params![
                    f.id,
                    f.workspace_id,
                    f.log_type.as_str(),
                    f.end_time,
                    f.path,
                    f.file_name,
                    f.sha256,
                    f.records_root,
                    f.size as i64,
                    f.record_count as i64,
                    f.first_timestamp,
                    f.last_timestamp,
                    f.digest_sequence as i64,
                    f.sealed_at_ms,
                    f.content_erased_at_ms
                ])
                .map_err(map_err)?;
        }
        strip_event_content(&tx, s)?;
        crate::retention::insert_subjects(&tx, &s.workspace_id, &s.subjects)?;
        crate::retention::mark_expired(&tx, &s.workspace_id, &s.expired_file_ids)?;
        let mut consume = tx
            .prepare_cached("DELETE FROM compliance_pending WHERE id = ?1 AND workspace_id = ?2")
            .map_err(map_err)?;
        for id in &s.consumed_pending_ids {
            if consume.execute(params![id, s.workspace_id]).map_err(map_err)? != 1 {
                return Err(StoreError::Conflict(format!(
                    "pending compliance record {id} is already sealed"
                )));
            }
        }
    }
    tx.commit().map_err(map_err)
}

/// Removes the sealed content attributes from the raw JSON of the events behind the consumed
/// records (before those are deleted), in the sealing's transaction.
fn strip_event_content(tx: &rusqlite::Transaction<'_>, s: &SealCommit) -> StoreResult<()> {
    if s.strip_event_attributes.is_empty() || s.consumed_pending_ids.is_empty() {
        return Ok(());
    }
    // JSON paths with quoted keys: attribute names may contain dots.
    let paths: Vec<String> = s
        .strip_event_attributes
        .iter()
        .map(|a| format!("$.attributes.\"{}\"", a.replace('"', "")))
        .collect();
    let placeholders: Vec<String> = (0..paths.len()).map(|i| format!("?{}", i + 3)).collect();
    let sql = format!(
        "UPDATE events SET raw = json_remove(raw, {})
         WHERE id = (SELECT event_id FROM compliance_pending WHERE id = ?1 AND workspace_id = ?2)
           AND json_valid(raw)",
        placeholders.join(", ")
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(map_err)?;
    for id in &s.consumed_pending_ids {
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![id, &s.workspace_id];
        values.extend(paths.iter().map(|p| p as &dyn rusqlite::ToSql));
        stmt.execute(values.as_slice()).map_err(map_err)?;
    }
    Ok(())
}

pub(crate) const FILE_COLUMNS: &str =
    "id, workspace_id, log_type, end_time, path, file_name, sha256, records_root, size,
    record_count, first_ts, last_ts, digest_sequence, sealed_at_ms, content_erased_at_ms, expired_at_ms";

pub(crate) fn file_from_row(r: &Row<'_>) -> rusqlite::Result<Result<ComplianceFile, String>> {
    let log_type: String = r.get(2)?;
    let Ok(log_type) = log_type.parse::<LogType>() else {
        return Ok(Err(format!("compliance file with unknown log type {log_type:?}")));
    };
    Ok(Ok(ComplianceFile {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        log_type,
        end_time: r.get(3)?,
        path: r.get(4)?,
        file_name: r.get(5)?,
        sha256: r.get(6)?,
        records_root: r.get(7)?,
        size: r.get::<_, i64>(8)? as u64,
        record_count: r.get::<_, i64>(9)? as u64,
        first_timestamp: r.get(10)?,
        last_timestamp: r.get(11)?,
        digest_sequence: r.get::<_, i64>(12)? as u64,
        sealed_at_ms: r.get(13)?,
        content_erased_at_ms: r.get(14)?,
        expired_at_ms: r.get(15)?,
    }))
}

pub fn list_files(c: &Connection, q: &FileQuery) -> StoreResult<Vec<ComplianceFile>> {
    if q.log_types.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<&str> = q.log_types.iter().map(|t| t.as_str()).collect();
    let placeholders = (0..types.len())
        .map(|i| format!("?{}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM compliance_files
         WHERE workspace_id = ?1 AND end_time >= ?2 AND log_type IN ({placeholders})
           AND expired_at_ms IS NULL
         ORDER BY end_time, id LIMIT ?3"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&q.workspace_id, &q.after_end_time, &q.limit];
    for t in &types {
        values.push(t);
    }
    let rows = stmt
        .query_map(values.as_slice(), file_from_row)
        .map_err(map_err)?;
    let rows: Vec<Result<ComplianceFile, String>> = rows.collect::<Result<_, _>>().map_err(map_err)?;
    rows.into_iter().map(|r| r.map_err(StoreError::Other)).collect()
}

pub fn get_file(c: &Connection, workspace_id: &str, id: &str) -> StoreResult<Option<ComplianceFile>> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM compliance_files WHERE workspace_id = ?1 AND id = ?2");
    let row = c
        .query_row(&sql, [workspace_id, id], file_from_row)
        .optional()
        .map_err(map_err)?;
    row.transpose().map_err(StoreError::Other)
}
