//! Compliance log tables: pending records, sealed files, the digest-chain head, turn spans.
//!
//! Same semantics as the SQLite backend. What differs is how sealers on several replicas are
//! kept apart: a sealing moves the workspace's chain head with a compare-and-set statement
//! (an `UPDATE ... WHERE sequence = expected`, or, for the first sealing, an
//! `INSERT ... ON CONFLICT DO NOTHING` on the primary key) before it writes anything else. A
//! concurrent sealer blocks on that row until the first commits, then finds the head moved and
//! fails with `Conflict`, with nothing of its sealing kept.
//!
//! Pending rows of Codex events are queued by the ingest transaction (`write.rs`).

use deadpool_postgres::{GenericClient, Object, Pool};
use steward_model::{LogType, TokenUsage};
use steward_store::{
    ChainHeadRow, ComplianceFile, FileQuery, NewAuditRecord, PendingEvent, PendingRecord, PendingSource,
    SealCommit, StoreError, StoreResult, TurnSpan,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::{self, is_retryable, map_err, TX_ATTEMPTS};

// Sorted rows inserted in array order: concurrent inserts of overlapping spans lock in one order.
const INSERT_TURN_SPANS: &str = "
INSERT INTO turn_spans (workspace_id, trace_id, turn_id, thread_id)
SELECT workspace_id, trace_id, turn_id, thread_id
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
    WITH ORDINALITY AS t(workspace_id, trace_id, turn_id, thread_id, ord)
ORDER BY ord
ON CONFLICT DO NOTHING";

const INSERT_AUDIT_RECORD: &str =
    "INSERT INTO compliance_pending (workspace_id, log_type, ts_ms, record) VALUES ($1, $2, $3, $4)";

const PENDING_WORKSPACES: &str =
    "SELECT workspace_id, MIN(queued_at_ms) FROM compliance_pending GROUP BY workspace_id ORDER BY workspace_id";

const PENDING_RECORDS: &str = "
SELECT p.id, p.log_type, p.ts_ms, p.record, e.dedup_key, e.user_id, u.email, e.event_name, e.thread_id,
    e.client_id, e.model, e.input_tokens, e.cached_input_tokens, e.output_tokens,
    e.reasoning_output_tokens, e.total_tokens, e.raw, t.turn_id, p.trace_id, p.queued_at_ms
FROM compliance_pending p
LEFT JOIN events e ON e.id = p.event_id
LEFT JOIN users u ON u.id = e.user_id
LEFT JOIN turn_spans t ON t.workspace_id = p.workspace_id AND t.trace_id = p.trace_id
WHERE p.workspace_id = $1
ORDER BY p.id
LIMIT $2";

const CHAIN_HEAD: &str =
    "SELECT sequence, digest_sha256, last_end_time FROM compliance_chain WHERE workspace_id = $1";

/// The first sealing of a workspace: inserts the head unless a concurrent first sealing did
/// (which this one then waits for: on its commit this is a no-op, on its rollback an insert).
const INSERT_FIRST_HEAD: &str = "
INSERT INTO compliance_chain (workspace_id, sequence, digest_sha256, last_end_time) VALUES ($1, $2, $3, $4)
ON CONFLICT (workspace_id) DO NOTHING";

/// Any later sealing: moves the head only from where the sealer saw it. A concurrent mover
/// makes this wait for its commit, after which the condition is checked again on the new row.
const MOVE_HEAD: &str = "
UPDATE compliance_chain SET sequence = $2, digest_sha256 = $3, last_end_time = $4
WHERE workspace_id = $1 AND sequence = $5";

const INSERT_FILES: &str = "
INSERT INTO compliance_files (id, workspace_id, log_type, end_time, path, file_name, sha256, records_root, size,
    record_count, first_ts, last_ts, digest_sequence, sealed_at_ms, content_erased_at_ms)
SELECT id, workspace_id, log_type, end_time, path, file_name, sha256, records_root, size,
    record_count, first_ts, last_ts, digest_sequence, sealed_at_ms, content_erased_at_ms
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::int8[], $10::int8[], $11::text[], $12::text[], $13::int8[], $14::int8[], $15::int8[])
    WITH ORDINALITY AS t(id, workspace_id, log_type, end_time, path, file_name, sha256, records_root, size,
        record_count, first_ts, last_ts, digest_sequence, sealed_at_ms, content_erased_at_ms, ord)
ORDER BY ord";

const CONSUME_PENDING: &str =
    "DELETE FROM compliance_pending WHERE workspace_id = $1 AND id = ANY($2::int8[])";

pub(crate) const FILE_COLUMNS: &str =
    "id, workspace_id, log_type, end_time, path, file_name, sha256, records_root, size,
    record_count, first_ts, last_ts, digest_sequence, sealed_at_ms, content_erased_at_ms, expired_at_ms";

pub async fn insert_turn_spans(pool: &Pool, spans: &[TurnSpan]) -> StoreResult<u64> {
    if spans.is_empty() {
        return Ok(0);
    }
    let mut sorted: Vec<&TurnSpan> = spans.iter().collect();
    // Stable: of two spans with one key, the first in the batch wins (as in SQLite).
    sorted.sort_by(|a, b| (&a.workspace_id, &a.trace_id).cmp(&(&b.workspace_id, &b.trace_id)));
    let workspace_id: Vec<&str> = sorted.iter().map(|s| s.workspace_id.as_str()).collect();
    let trace_id: Vec<&str> = sorted.iter().map(|s| s.trace_id.as_str()).collect();
    let turn_id: Vec<&str> = sorted.iter().map(|s| s.turn_id.as_str()).collect();
    let thread_id: Vec<Option<&str>> = sorted.iter().map(|s| s.thread_id.as_deref()).collect();
    let client = conn::get(pool).await?;
    let stmt = client.prepare_cached(INSERT_TURN_SPANS).await.map_err(map_err)?;
    let mut attempt = 1;
    loop {
        // One statement in its own transaction: running it again after a lost race is safe.
        match client
            .execute(&stmt, &[&workspace_id, &trace_id, &turn_id, &thread_id])
            .await
        {
            Ok(n) => return Ok(n),
            Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                tokio::time::sleep(conn::backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(map_err(e)),
        }
    }
}

pub async fn append_audit_record(c: &impl GenericClient, r: &NewAuditRecord) -> StoreResult<()> {
    let stmt = c.prepare_cached(INSERT_AUDIT_RECORD).await.map_err(map_err)?;
    c.execute(
        &stmt,
        &[&r.workspace_id, &r.log_type.as_str(), &r.timestamp_ms, &r.record],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

pub async fn pending_workspaces(c: &impl GenericClient) -> StoreResult<Vec<(String, i64)>> {
    let stmt = c.prepare_cached(PENDING_WORKSPACES).await.map_err(map_err)?;
    let rows = c.query(&stmt, &[]).await.map_err(map_err)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub async fn pending_records(
    c: &impl GenericClient,
    workspace_id: &str,
    limit: u32,
) -> StoreResult<Vec<PendingRecord>> {
    let stmt = c.prepare_cached(PENDING_RECORDS).await.map_err(map_err)?;
    let rows = c
        .query(&stmt, &[&workspace_id, &i64::from(limit)])
        .await
        .map_err(map_err)?;
    rows.iter().map(pending_from_row).collect()
}

fn pending_from_row(r: &Row) -> StoreResult<PendingRecord> {
    let log_type = parse_log_type(r.get(1), "compliance_pending row")?;
    let timestamp_ms: i64 = r.get(2);
    let source = match r.get::<_, Option<String>>(3) {
        Some(record) => PendingSource::Record(record),
        None => {
            let Some(dedup_key) = r.get::<_, Option<String>>(4) else {
                return Err(StoreError::Other(
                    "compliance_pending row whose event is missing".to_owned(),
                ));
            };
            let usage = r.get::<_, Option<i64>>(11).map(|input| {
                let token = |i| r.get::<_, Option<i64>>(i).unwrap_or(0);
                TokenUsage {
                    input,
                    cached_input: token(12),
                    output: token(13),
                    reasoning_output: token(14),
                    total: token(15),
                }
            });
            PendingSource::Event(Box::new(PendingEvent {
                dedup_key,
                user_id: r.get(5),
                user_email: r.get(6),
                event_name: r.get(7),
                thread_id: r.get(8),
                timestamp_ms,
                client_id: r.get(9),
                model: r.get(10),
                usage,
                raw: r.get(16),
                turn_id: r.get(17),
                trace_id: r.get(18),
            }))
        }
    };
    Ok(PendingRecord {
        pending_id: r.get(0),
        log_type,
        timestamp_ms,
        queued_at_ms: r.get(19),
        source,
    })
}

pub async fn chain_head(c: &impl GenericClient, workspace_id: &str) -> StoreResult<Option<ChainHeadRow>> {
    let stmt = c.prepare_cached(CHAIN_HEAD).await.map_err(map_err)?;
    let row = c.query_opt(&stmt, &[&workspace_id]).await.map_err(map_err)?;
    Ok(row.map(|r| ChainHeadRow {
        sequence: r.get::<_, i64>(0) as u64,
        digest_sha256: r.get(1),
        last_end_time: r.get(2),
    }))
}

pub async fn commit_seal(pool: &Pool, s: &SealCommit) -> StoreResult<()> {
    let files = FileColumns::of(&s.files);
    let mut client = conn::get(pool).await?;
    let mut attempt = 1;
    loop {
        match attempt_seal(&mut client, s, &files).await {
            // Including a lost compare-and-set: another sealer won, trying again cannot help.
            Ok(outcome) => return outcome,
            // A deadlock or serialisation failure rolled everything back; the whole sealing
            // runs again (and then finds the head moved, if that is why it lost).
            Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                tracing::debug!(attempt, error = %e, "retrying a compliance sealing after a serialisation conflict");
                tokio::time::sleep(conn::backoff(attempt)).await;
                attempt += 1;
            }
            // A duplicate file id (unique violation) maps to Conflict as well.
            Err(e) => return Err(map_err(e)),
        }
    }
}

/// One try of the sealing transaction. `Ok(Err(Conflict))` when another sealer won (the
/// transaction is rolled back); `Err` for database errors.
async fn attempt_seal(
    client: &mut Object,
    s: &SealCommit,
    files: &FileColumns<'_>,
) -> Result<StoreResult<()>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let head = &s.new_head;
    let sequence = head.sequence as i64;
    // The head first: it serialises sealers of one workspace before they touch anything else.
    let moved = match s.expected_head {
        None => {
            let stmt = tx.prepare_cached(INSERT_FIRST_HEAD).await?;
            tx.execute(
                &stmt,
                &[
                    &s.workspace_id,
                    &sequence,
                    &head.digest_sha256,
                    &head.last_end_time,
                ],
            )
            .await?
        }
        Some(expected) => {
            let stmt = tx.prepare_cached(MOVE_HEAD).await?;
            tx.execute(
                &stmt,
                &[
                    &s.workspace_id,
                    &sequence,
                    &head.digest_sha256,
                    &head.last_end_time,
                    &(expected as i64),
                ],
            )
            .await?
        }
    };
    if moved != 1 {
        let current = chain_head(&tx, &s.workspace_id)
            .await
            .ok()
            .flatten()
            .map(|h| h.sequence);
        tx.rollback().await?;
        return Ok(Err(StoreError::Conflict(format!(
            "compliance chain of workspace {} is at {current:?}, not {:?}: another sealer won",
            s.workspace_id, s.expected_head
        ))));
    }
    // Before the pending rows are consumed: stripping finds the events through them.
    if let Err(conflict) = crate::retention::seal_extras(&tx, s).await? {
        tx.rollback().await?;
        return Ok(Err(conflict));
    }
    let (insert, consume) = tokio::try_join!(
        tx.prepare_cached(INSERT_FILES),
        tx.prepare_cached(CONSUME_PENDING)
    )?;
    let file_params = files.params();
    let consume_params: [&(dyn ToSql + Sync); 2] = [&s.workspace_id, &s.consumed_pending_ids];
    // Both sent before the first reply (pipelined on the connection). `join!`, not `try_join!`:
    // when the first fails, the second fails too ("transaction is aborted"), and the first's
    // error is the one that says what happened (`try_join!` may see either first).
    let (inserted, consumed) = tokio::join!(
        async {
            if files.id.is_empty() {
                Ok(0)
            } else {
                tx.execute(&insert, &file_params).await
            }
        },
        tx.execute(&consume, &consume_params)
    );
    inserted?;
    let consumed = consumed?;
    // Fewer rows than ids: one was consumed by another sealing (or belongs to another
    // workspace, or is listed twice), as SQLite's row-by-row delete reports.
    if consumed != s.consumed_pending_ids.len() as u64 {
        tx.rollback().await?;
        return Ok(Err(StoreError::Conflict(format!(
            "{} of the {} pending compliance records to seal in workspace {} are already sealed",
            s.consumed_pending_ids.len() as u64 - consumed,
            s.consumed_pending_ids.len(),
            s.workspace_id
        ))));
    }
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn list_files(c: &impl GenericClient, q: &FileQuery) -> StoreResult<Vec<ComplianceFile>> {
    if q.log_types.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<&str> = q.log_types.iter().map(|t| t.as_str()).collect();
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM compliance_files
         WHERE workspace_id = $1 AND log_type = ANY($2::text[]) AND end_time >= $3
           AND expired_at_ms IS NULL
         ORDER BY end_time, id LIMIT $4"
    );
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let rows = c
        .query(
            &stmt,
            &[&q.workspace_id, &types, &q.after_end_time, &i64::from(q.limit)],
        )
        .await
        .map_err(map_err)?;
    rows.iter().map(file_from_row).collect()
}

pub async fn get_file(
    c: &impl GenericClient,
    workspace_id: &str,
    id: &str,
) -> StoreResult<Option<ComplianceFile>> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM compliance_files WHERE workspace_id = $1 AND id = $2");
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let row = c.query_opt(&stmt, &[&workspace_id, &id]).await.map_err(map_err)?;
    row.as_ref().map(file_from_row).transpose()
}

fn parse_log_type(s: &str, what: &str) -> StoreResult<LogType> {
    s.parse()
        .map_err(|_| StoreError::Other(format!("{what} with unknown log type {s:?}")))
}

pub(crate) fn file_from_row(r: &Row) -> StoreResult<ComplianceFile> {
    Ok(ComplianceFile {
        id: r.get(0),
        workspace_id: r.get(1),
        log_type: parse_log_type(r.get(2), "compliance file")?,
        end_time: r.get(3),
        path: r.get(4),
        file_name: r.get(5),
        sha256: r.get(6),
        records_root: r.get(7),
        size: r.get::<_, i64>(8) as u64,
        record_count: r.get::<_, i64>(9) as u64,
        first_timestamp: r.get(10),
        last_timestamp: r.get(11),
        digest_sequence: r.get::<_, i64>(12) as u64,
        sealed_at_ms: r.get(13),
        content_erased_at_ms: r.get(14),
        expired_at_ms: r.get(15),
    })
}

/// The files as one array per column, in `INSERT_FILES` parameter order.
struct FileColumns<'a> {
    id: Vec<&'a str>,
    workspace_id: Vec<&'a str>,
    log_type: Vec<&'a str>,
    end_time: Vec<i64>,
    path: Vec<&'a str>,
    file_name: Vec<&'a str>,
    sha256: Vec<&'a str>,
    records_root: Vec<&'a str>,
    size: Vec<i64>,
    record_count: Vec<i64>,
    first_ts: Vec<Option<&'a str>>,
    last_ts: Vec<Option<&'a str>>,
    digest_sequence: Vec<i64>,
    sealed_at_ms: Vec<i64>,
    content_erased_at_ms: Vec<Option<i64>>,
}

impl<'a> FileColumns<'a> {
    fn of(files: &'a [ComplianceFile]) -> Self {
        let text = |f: fn(&'a ComplianceFile) -> &'a str| files.iter().map(f).collect::<Vec<_>>();
        let int = |f: fn(&ComplianceFile) -> i64| files.iter().map(f).collect::<Vec<_>>();
        FileColumns {
            id: text(|f| &f.id),
            workspace_id: text(|f| &f.workspace_id),
            log_type: text(|f| f.log_type.as_str()),
            end_time: int(|f| f.end_time),
            path: text(|f| &f.path),
            file_name: text(|f| &f.file_name),
            sha256: text(|f| &f.sha256),
            records_root: text(|f| &f.records_root),
            size: int(|f| f.size as i64),
            record_count: int(|f| f.record_count as i64),
            first_ts: files.iter().map(|f| f.first_timestamp.as_deref()).collect(),
            last_ts: files.iter().map(|f| f.last_timestamp.as_deref()).collect(),
            digest_sequence: int(|f| f.digest_sequence as i64),
            sealed_at_ms: int(|f| f.sealed_at_ms),
            content_erased_at_ms: files.iter().map(|f| f.content_erased_at_ms).collect(),
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 15] {
        [
            &self.id,
            &self.workspace_id,
            &self.log_type,
            &self.end_time,
            &self.path,
            &self.file_name,
            &self.sha256,
            &self.records_root,
            &self.size,
            &self.record_count,
            &self.first_ts,
            &self.last_ts,
            &self.digest_sequence,
            &self.sealed_at_ms,
            &self.content_erased_at_ms,
        ]
    }
}
