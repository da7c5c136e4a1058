//! Compliance retention tables: file subjects, expiry marks, erasure updates, legal holds.
//! Same semantics as the SQLite backend.

use deadpool_postgres::{GenericClient, Transaction};
use steward_store::{
    ComplianceFile, ErasureUpdate, FileSubject, LegalHold, RetentionQuery, RetentionStage, SealCommit,
    StoreError, StoreResult, SubjectKind,
};
use tokio_postgres::Row;

use crate::compliance::{file_from_row, FILE_COLUMNS};
use crate::conn::map_err;

/// Removes the listed attributes from `attributes` of the raw JSON of the events behind the
/// consumed pending records. `raw` is text: cast, edit, cast back (only objects are edited).
const STRIP_EVENT_CONTENT: &str = "
UPDATE events e SET raw = jsonb_set(e.raw::jsonb, '{attributes}', (e.raw::jsonb -> 'attributes') - $3::text[])::text
FROM compliance_pending p
WHERE p.workspace_id = $1 AND p.id = ANY($2::int8[]) AND e.id = p.event_id
  AND jsonb_typeof(e.raw::jsonb -> 'attributes') = 'object'";

const INSERT_SUBJECTS: &str = "
INSERT INTO compliance_file_subjects (workspace_id, kind, value, file_id)
SELECT $1, kind, value, file_id FROM UNNEST($2::text[], $3::text[], $4::text[]) AS t(kind, value, file_id)
ORDER BY kind, value, file_id
ON CONFLICT DO NOTHING";

const MARK_EXPIRED: &str = "
UPDATE compliance_files SET expired_at_ms = (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::int8
WHERE workspace_id = $1 AND id = ANY($2::text[]) AND expired_at_ms IS NULL";

/// The retention parts of a sealing, inside its transaction. `Ok(Err(Conflict))` when a file
/// to expire is unknown or already expired (another retention pass won).
pub(crate) async fn seal_extras(
    tx: &Transaction<'_>,
    s: &SealCommit,
) -> Result<StoreResult<()>, tokio_postgres::Error> {
    if !s.strip_event_attributes.is_empty() && !s.consumed_pending_ids.is_empty() {
        tx.execute(
            STRIP_EVENT_CONTENT,
            &[
                &s.workspace_id,
                &s.consumed_pending_ids,
                &s.strip_event_attributes,
            ],
        )
        .await?;
    }
    if !s.subjects.is_empty() {
        let kind: Vec<&str> = s.subjects.iter().map(|x| x.kind.as_str()).collect();
        let value: Vec<&str> = s.subjects.iter().map(|x| x.value.as_str()).collect();
        let file: Vec<&str> = s.subjects.iter().map(|x| x.file_id.as_str()).collect();
        tx.execute(INSERT_SUBJECTS, &[&s.workspace_id, &kind, &value, &file])
            .await?;
    }
    if !s.expired_file_ids.is_empty() {
        let n = tx
            .execute(MARK_EXPIRED, &[&s.workspace_id, &s.expired_file_ids])
            .await?;
        if n != s.expired_file_ids.len() as u64 {
            return Ok(Err(StoreError::Conflict(format!(
                "{} of the {} compliance files to expire are unknown or already expired",
                s.expired_file_ids.len() as u64 - n,
                s.expired_file_ids.len()
            ))));
        }
    }
    Ok(Ok(()))
}

async fn files(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> StoreResult<Vec<ComplianceFile>> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    let rows = c.query(&stmt, params).await.map_err(map_err)?;
    rows.iter().map(file_from_row).collect()
}

pub async fn compliance_workspaces(c: &impl GenericClient) -> StoreResult<Vec<String>> {
    let rows = c
        .query(
            "SELECT workspace_id FROM compliance_chain ORDER BY workspace_id",
            &[],
        )
        .await
        .map_err(map_err)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn retention_candidates(
    c: &impl GenericClient,
    q: &RetentionQuery,
) -> StoreResult<Vec<ComplianceFile>> {
    let stage = match q.stage {
        RetentionStage::Content => "AND content_erased_at_ms IS NULL",
        RetentionStage::Metadata => "",
    };
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM compliance_files
         WHERE workspace_id = $1 AND log_type = $2 AND end_time < $3 AND expired_at_ms IS NULL {stage}
         ORDER BY end_time, id LIMIT $4"
    );
    files(
        c,
        &sql,
        &[
            &q.workspace_id,
            &q.log_type.as_str(),
            &q.before_end_time,
            &i64::from(q.limit),
        ],
    )
    .await
}

pub async fn files_with_subject(
    c: &impl GenericClient,
    workspace_id: &str,
    kind: SubjectKind,
    value: &str,
) -> StoreResult<Vec<ComplianceFile>> {
    let columns = FILE_COLUMNS
        .split(',')
        .map(|col| format!("f.{}", col.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM compliance_file_subjects s
         JOIN compliance_files f ON f.workspace_id = s.workspace_id AND f.id = s.file_id
         WHERE s.workspace_id = $1 AND s.kind = $2 AND s.value = $3 AND f.expired_at_ms IS NULL
         ORDER BY f.end_time, f.id"
    );
    files(c, &sql, &[&workspace_id, &kind.as_str(), &value]).await
}

pub async fn file_subjects(
    c: &impl GenericClient,
    workspace_id: &str,
    file_id: &str,
) -> StoreResult<Vec<FileSubject>> {
    let rows = c
        .query(
            "SELECT kind, value FROM compliance_file_subjects WHERE workspace_id = $1 AND file_id = $2
             ORDER BY kind, value",
            &[&workspace_id, &file_id],
        )
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let kind: String = r.get(0);
            Ok(FileSubject {
                file_id: file_id.to_owned(),
                kind: SubjectKind::parse(&kind)
                    .ok_or_else(|| StoreError::Other(format!("file subject with unknown kind {kind:?}")))?,
                value: r.get(1),
            })
        })
        .collect()
}

pub async fn record_erasure(c: &impl GenericClient, u: &ErasureUpdate) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE compliance_files SET sha256 = $3, size = $4,
                content_erased_at_ms = COALESCE($5, content_erased_at_ms)
             WHERE workspace_id = $1 AND id = $2 AND expired_at_ms IS NULL",
            &[
                &u.workspace_id,
                &u.file_id,
                &u.sha256,
                &(u.size as i64),
                &u.content_erased_at_ms,
            ],
        )
        .await
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound(format!(
            "compliance file {} of workspace {}",
            u.file_id, u.workspace_id
        )));
    }
    Ok(())
}

const HOLD_COLUMNS: &str = "id, workspace_id, user_id, reason, created_at_ms, created_by";

fn hold_from_row(r: &Row) -> LegalHold {
    LegalHold {
        id: r.get(0),
        workspace_id: r.get(1),
        user_id: r.get(2),
        reason: r.get(3),
        created_at_ms: r.get(4),
        created_by: r.get(5),
    }
}

pub async fn add_legal_hold(c: &impl GenericClient, h: &LegalHold) -> StoreResult<()> {
    let n = c
        .execute(
            "INSERT INTO legal_holds (id, workspace_id, user_id, reason, created_at_ms, created_by)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &h.id,
                &h.workspace_id,
                &h.user_id,
                &h.reason,
                &h.created_at_ms,
                &h.created_by,
            ],
        )
        .await
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "legal hold {} already exists",
            h.id
        )));
    }
    Ok(())
}

pub async fn legal_holds(c: &impl GenericClient, workspace_id: Option<&str>) -> StoreResult<Vec<LegalHold>> {
    let sql = format!(
        "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE $1::text IS NULL OR workspace_id = $1
         ORDER BY created_at_ms, id"
    );
    let rows = c.query(&sql, &[&workspace_id]).await.map_err(map_err)?;
    Ok(rows.iter().map(hold_from_row).collect())
}

pub async fn remove_legal_hold(c: &impl GenericClient, id: &str) -> StoreResult<Option<LegalHold>> {
    let sql = format!("DELETE FROM legal_holds WHERE id = $1 RETURNING {HOLD_COLUMNS}");
    let row = c.query_opt(&sql, &[&id]).await.map_err(map_err)?;
    Ok(row.as_ref().map(hold_from_row))
}
