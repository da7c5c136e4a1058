//! Compliance retention tables: file subjects, expiry marks, erasure updates, legal holds.

use rusqlite::{params, Connection, OptionalExtension, Row};
use steward_store::{
    ComplianceFile, ErasureUpdate, FileSubject, LegalHold, RetentionQuery, RetentionStage, StoreError,
    StoreResult, SubjectKind,
};

use crate::compliance::{file_from_row, FILE_COLUMNS};
use crate::conn::map_err;
use crate::migrate::now_ms;

pub fn insert_subjects(
    tx: &rusqlite::Transaction<'_>,
    workspace_id: &str,
    subjects: &[FileSubject],
) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO compliance_file_subjects (workspace_id, kind, value, file_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
        )
        .map_err(map_err)?;
    for s in subjects {
        stmt.execute(params![workspace_id, s.kind.as_str(), s.value, s.file_id])
            .map_err(map_err)?;
    }
    Ok(())
}

/// Marks files expired; `Conflict` if one is unknown or already expired (another retention
/// pass won), which rolls the whole sealing back.
pub fn mark_expired(tx: &rusqlite::Transaction<'_>, workspace_id: &str, ids: &[String]) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "UPDATE compliance_files SET expired_at_ms = ?3
             WHERE workspace_id = ?1 AND id = ?2 AND expired_at_ms IS NULL",
        )
        .map_err(map_err)?;
    let now = now_ms();
    for id in ids {
        if stmt.execute(params![workspace_id, id, now]).map_err(map_err)? != 1 {
            return Err(StoreError::Conflict(format!(
                "compliance file {id} is unknown or already expired"
            )));
        }
    }
    Ok(())
}

fn files(c: &Connection, sql: &str, values: &[&dyn rusqlite::ToSql]) -> StoreResult<Vec<ComplianceFile>> {
    let mut stmt = c.prepare_cached(sql).map_err(map_err)?;
    let rows = stmt.query_map(values, file_from_row).map_err(map_err)?;
    let rows: Vec<Result<ComplianceFile, String>> = rows.collect::<Result<_, _>>().map_err(map_err)?;
    rows.into_iter().map(|r| r.map_err(StoreError::Other)).collect()
}

pub fn compliance_workspaces(c: &Connection) -> StoreResult<Vec<String>> {
    let mut stmt = c
        .prepare_cached("SELECT workspace_id FROM compliance_chain ORDER BY workspace_id")
        .map_err(map_err)?;
    let rows = stmt.query_map([], |r| r.get(0)).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub fn retention_candidates(c: &Connection, q: &RetentionQuery) -> StoreResult<Vec<ComplianceFile>> {
    let stage = match q.stage {
        RetentionStage::Content => "AND content_erased_at_ms IS NULL",
        RetentionStage::Metadata => "",
    };
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM compliance_files
         WHERE workspace_id = ?1 AND log_type = ?2 AND end_time < ?3 AND expired_at_ms IS NULL {stage}
         ORDER BY end_time, id LIMIT ?4"
    );
    files(
        c,
        &sql,
        params![q.workspace_id, q.log_type.as_str(), q.before_end_time, q.limit],
    )
}

pub fn files_with_subject(
    c: &Connection,
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
         WHERE s.workspace_id = ?1 AND s.kind = ?2 AND s.value = ?3 AND f.expired_at_ms IS NULL
         ORDER BY f.end_time, f.id"
    );
    files(c, &sql, params![workspace_id, kind.as_str(), value])
}

pub fn file_subjects(c: &Connection, workspace_id: &str, file_id: &str) -> StoreResult<Vec<FileSubject>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT kind, value FROM compliance_file_subjects WHERE workspace_id = ?1 AND file_id = ?2
             ORDER BY kind, value",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map([workspace_id, file_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(map_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, value) = row.map_err(map_err)?;
        let kind = SubjectKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("file subject with unknown kind {kind:?}")))?;
        out.push(FileSubject {
            file_id: file_id.to_owned(),
            kind,
            value,
        });
    }
    Ok(out)
}

pub fn record_erasure(c: &Connection, u: &ErasureUpdate) -> StoreResult<()> {
    let n = c
        .execute(
            "UPDATE compliance_files SET sha256 = ?3, size = ?4,
                content_erased_at_ms = COALESCE(?5, content_erased_at_ms)
             WHERE workspace_id = ?1 AND id = ?2 AND expired_at_ms IS NULL",
            params![
                u.workspace_id,
                u.file_id,
                u.sha256,
                u.size as i64,
                u.content_erased_at_ms
            ],
        )
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

fn hold_from_row(r: &Row<'_>) -> rusqlite::Result<LegalHold> {
    Ok(LegalHold {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        user_id: r.get(2)?,
        reason: r.get(3)?,
        created_at_ms: r.get(4)?,
        created_by: r.get(5)?,
    })
}

pub fn add_legal_hold(c: &Connection, h: &LegalHold) -> StoreResult<()> {
    let n = c
        .execute(
            "INSERT INTO legal_holds (id, workspace_id, user_id, reason, created_at_ms, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![
                h.id,
                h.workspace_id,
                h.user_id,
                h.reason,
                h.created_at_ms,
                h.created_by
            ],
        )
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "legal hold {} already exists",
            h.id
        )));
    }
    Ok(())
}

pub fn legal_holds(c: &Connection, workspace_id: Option<&str>) -> StoreResult<Vec<LegalHold>> {
    let sql = format!(
        "SELECT {HOLD_COLUMNS} FROM legal_holds WHERE ?1 IS NULL OR workspace_id = ?1
         ORDER BY created_at_ms, id"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt.query_map([workspace_id], hold_from_row).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub fn remove_legal_hold(c: &mut Connection, id: &str) -> StoreResult<Option<LegalHold>> {
    let tx = c.transaction().map_err(map_err)?;
    let hold = tx
        .query_row(
            &format!("SELECT {HOLD_COLUMNS} FROM legal_holds WHERE id = ?1"),
            [id],
            hold_from_row,
        )
        .optional()
        .map_err(map_err)?;
    if hold.is_some() {
        tx.execute("DELETE FROM legal_holds WHERE id = ?1", [id])
            .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(hold)
}
