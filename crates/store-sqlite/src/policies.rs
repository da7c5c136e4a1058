//! Managed policies: groups, policies and revisions, the assignment, sync reports.

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use steward_store::{
    AssignmentRule, Group, GroupSource, NewPolicy, PolicyAssignment, PolicyRevision, PolicyRow,
    PolicySyncReport, StoreError, StoreResult,
};

use crate::conn::map_err;

const GROUP_COLUMNS: &str = "id, workspace_id, name, source, external_id, created_at_ms";
const POLICY_COLUMNS: &str =
    "id, workspace_id, name, description, latest_revision, created_at_ms, updated_at_ms";
const REVISION_COLUMNS: &str =
    "policy_id, revision, requirements_toml, managed_config_toml, sha256, comment, created_at_ms, created_by";
const REPORT_COLUMNS: &str =
    "workspace_id, user_id, host, channel, policy_id, revision, sha256, client_version, reported_at_ms";

fn group_from_row(r: &Row<'_>) -> rusqlite::Result<Group> {
    let source: String = r.get(3)?;
    Ok(Group {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        name: r.get(2)?,
        source: GroupSource::parse(&source).unwrap_or(GroupSource::Manual),
        external_id: r.get(4)?,
        created_at_ms: r.get(5)?,
    })
}

fn policy_from_row(r: &Row<'_>) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        latest_revision: r.get(4)?,
        created_at_ms: r.get(5)?,
        updated_at_ms: r.get(6)?,
    })
}

fn revision_from_row(r: &Row<'_>) -> rusqlite::Result<PolicyRevision> {
    Ok(PolicyRevision {
        policy_id: r.get(0)?,
        revision: r.get(1)?,
        requirements_toml: r.get(2)?,
        managed_config_toml: r.get(3)?,
        sha256: r.get(4)?,
        comment: r.get(5)?,
        created_at_ms: r.get(6)?,
        created_by: r.get(7)?,
    })
}

fn report_from_row(r: &Row<'_>) -> rusqlite::Result<PolicySyncReport> {
    Ok(PolicySyncReport {
        workspace_id: r.get(0)?,
        user_id: r.get(1)?,
        host: r.get(2)?,
        channel: r.get(3)?,
        policy_id: r.get(4)?,
        revision: r.get(5)?,
        sha256: r.get(6)?,
        client_version: r.get(7)?,
        reported_at_ms: r.get(8)?,
    })
}

fn all<T>(
    c: &Connection,
    sql: &str,
    values: &[&dyn rusqlite::ToSql],
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(map_err)?;
    let rows = stmt.query_map(values, map).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

fn one<T>(
    c: &Connection,
    sql: &str,
    values: &[&dyn rusqlite::ToSql],
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    c.prepare_cached(sql)
        .map_err(map_err)?
        .query_row(values, map)
        .optional()
        .map_err(map_err)
}

pub fn create_group(c: &Connection, g: &Group) -> StoreResult<()> {
    c.execute(
        &format!("INSERT INTO user_groups ({GROUP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![
            g.id,
            g.workspace_id,
            g.name,
            g.source.as_str(),
            g.external_id,
            g.created_at_ms
        ],
    )
    .map_err(|e| match map_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("group {:?} already exists", g.name)),
        other => other,
    })?;
    Ok(())
}

pub fn list_groups(c: &Connection, ws: &str) -> StoreResult<Vec<Group>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE workspace_id = ?1 ORDER BY name");
    all(c, &sql, &[&ws], group_from_row)
}

pub fn get_group_by_name(c: &Connection, ws: &str, name: &str) -> StoreResult<Option<Group>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE workspace_id = ?1 AND name = ?2");
    one(c, &sql, &[&ws, &name], group_from_row)
}

pub fn delete_group(c: &mut Connection, ws: &str, group_id: &str) -> StoreResult<bool> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let used: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM policy_assignment_rules WHERE workspace_id = ?1 AND group_id = ?2",
            params![ws, group_id],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if used > 0 {
        return Err(StoreError::Conflict(
            "the group is used by the policy assignment; remove its rule first".into(),
        ));
    }
    tx.execute(
        "DELETE FROM group_members WHERE workspace_id = ?1 AND group_id = ?2",
        params![ws, group_id],
    )
    .map_err(map_err)?;
    let n = tx
        .execute(
            "DELETE FROM user_groups WHERE workspace_id = ?1 AND id = ?2",
            params![ws, group_id],
        )
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(n == 1)
}

pub fn set_group_member(
    c: &Connection,
    ws: &str,
    group_id: &str,
    user_id: &str,
    member: bool,
) -> StoreResult<bool> {
    let n = if member {
        c.execute(
            "INSERT INTO group_members (workspace_id, group_id, user_id)
             SELECT workspace_id, id, ?3 FROM user_groups WHERE workspace_id = ?1 AND id = ?2
             ON CONFLICT DO NOTHING",
            params![ws, group_id, user_id],
        )
    } else {
        c.execute(
            "DELETE FROM group_members WHERE workspace_id = ?1 AND group_id = ?2 AND user_id = ?3",
            params![ws, group_id, user_id],
        )
    }
    .map_err(map_err)?;
    Ok(n == 1)
}

fn strings(c: &Connection, sql: &str, values: &[&dyn rusqlite::ToSql]) -> StoreResult<Vec<String>> {
    all(c, sql, values, |r| r.get(0))
}

pub fn group_members(c: &Connection, ws: &str, group_id: &str) -> StoreResult<Vec<String>> {
    strings(
        c,
        "SELECT user_id FROM group_members WHERE workspace_id = ?1 AND group_id = ?2 ORDER BY user_id",
        &[&ws, &group_id],
    )
}

pub fn user_group_ids(c: &Connection, ws: &str, user_id: &str) -> StoreResult<Vec<String>> {
    strings(
        c,
        "SELECT group_id FROM group_members WHERE workspace_id = ?1 AND user_id = ?2 ORDER BY group_id",
        &[&ws, &user_id],
    )
}

pub fn group_memberships(c: &Connection, ws: &str) -> StoreResult<Vec<(String, String)>> {
    all(
        c,
        "SELECT group_id, user_id FROM group_members WHERE workspace_id = ?1 ORDER BY group_id, user_id",
        &[&ws],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn insert_revision(tx: &Connection, r: &PolicyRevision) -> StoreResult<()> {
    tx.execute(
        &format!("INSERT INTO policy_revisions ({REVISION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![
            r.policy_id,
            r.revision,
            r.requirements_toml,
            r.managed_config_toml,
            r.sha256,
            r.comment,
            r.created_at_ms,
            r.created_by
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

pub fn create_policy(c: &mut Connection, new: &NewPolicy) -> StoreResult<()> {
    let p = &new.policy;
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    tx.execute(
        &format!("INSERT INTO policies ({POLICY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)"),
        params![
            p.id,
            p.workspace_id,
            p.name,
            p.description,
            p.created_at_ms,
            p.updated_at_ms
        ],
    )
    .map_err(|e| match map_err(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a policy named {:?} already exists", p.name))
        }
        other => other,
    })?;
    let revision = PolicyRevision {
        policy_id: p.id.clone(),
        revision: 1,
        ..new.revision.clone()
    };
    insert_revision(&tx, &revision)?;
    tx.commit().map_err(map_err)
}

pub fn add_policy_revision(
    c: &mut Connection,
    r: &PolicyRevision,
    description: Option<&str>,
) -> StoreResult<()> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let latest: Option<i64> = tx
        .query_row(
            "SELECT latest_revision FROM policies WHERE id = ?1 AND deleted_at_ms IS NULL",
            params![r.policy_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(map_err)?;
    let Some(latest) = latest else {
        return Err(StoreError::NotFound(format!("policy {}", r.policy_id)));
    };
    if r.revision != latest + 1 {
        return Err(StoreError::Conflict(format!(
            "policy {} is at revision {latest}; revision {} was based on an older one",
            r.policy_id, r.revision
        )));
    }
    insert_revision(&tx, r)?;
    tx.execute(
        "UPDATE policies SET latest_revision = ?2, updated_at_ms = ?3, description = COALESCE(?4, description)
         WHERE id = ?1",
        params![r.policy_id, r.revision, r.created_at_ms, description],
    )
    .map_err(map_err)?;
    tx.commit().map_err(map_err)
}

pub fn list_policies(c: &Connection, ws: &str) -> StoreResult<Vec<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE workspace_id = ?1 AND deleted_at_ms IS NULL ORDER BY name"
    );
    all(c, &sql, &[&ws], policy_from_row)
}

pub fn get_policy_by_name(c: &Connection, ws: &str, name: &str) -> StoreResult<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE workspace_id = ?1 AND name = ?2 AND deleted_at_ms IS NULL"
    );
    one(c, &sql, &[&ws, &name], policy_from_row)
}

pub fn get_policy_by_id(c: &Connection, ws: &str, id: &str) -> StoreResult<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE workspace_id = ?1 AND id = ?2 AND deleted_at_ms IS NULL"
    );
    one(c, &sql, &[&ws, &id], policy_from_row)
}

pub fn policy_revisions(c: &Connection, policy_id: &str) -> StoreResult<Vec<PolicyRevision>> {
    let sql =
        format!("SELECT {REVISION_COLUMNS} FROM policy_revisions WHERE policy_id = ?1 ORDER BY revision");
    all(c, &sql, &[&policy_id], revision_from_row)
}

pub fn policy_revision(
    c: &Connection,
    policy_id: &str,
    revision: i64,
) -> StoreResult<Option<PolicyRevision>> {
    let sql =
        format!("SELECT {REVISION_COLUMNS} FROM policy_revisions WHERE policy_id = ?1 AND revision = ?2");
    one(c, &sql, &[&policy_id, &revision], revision_from_row)
}

pub fn delete_policy(c: &mut Connection, ws: &str, policy_id: &str, at_ms: i64) -> StoreResult<bool> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let used: i64 = tx
        .query_row(
            "SELECT (SELECT COUNT(*) FROM policy_assignment_rules WHERE workspace_id = ?1 AND policy_id = ?2)
                  + (SELECT COUNT(*) FROM policy_assignments WHERE workspace_id = ?1 AND default_policy_id = ?2)",
            params![ws, policy_id],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if used > 0 {
        return Err(StoreError::Conflict(
            "the policy is used by the policy assignment; reassign its groups (and the default) first".into(),
        ));
    }
    let n = tx
        .execute(
            "UPDATE policies SET deleted_at_ms = ?3 WHERE workspace_id = ?1 AND id = ?2 AND deleted_at_ms IS NULL",
            params![ws, policy_id, at_ms],
        )
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(n == 1)
}

pub fn policy_assignment(c: &Connection, ws: &str) -> StoreResult<PolicyAssignment> {
    // One read transaction for the head and its rules: two autocommit reads could see a
    // replacement committed in between (one version's default with another's rules).
    let tx = c.unchecked_transaction().map_err(map_err)?;
    let c = &*tx;
    let head = one(
        c,
        "SELECT version, default_policy_id, updated_at_ms, updated_by FROM policy_assignments WHERE workspace_id = ?1",
        &[&ws],
        |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let Some((version, default_policy_id, updated_at_ms, updated_by)) = head else {
        return Ok(PolicyAssignment {
            workspace_id: ws.to_owned(),
            ..PolicyAssignment::default()
        });
    };
    let rules = all(
        c,
        "SELECT group_id, policy_id FROM policy_assignment_rules WHERE workspace_id = ?1 ORDER BY position",
        &[&ws],
        |r| {
            Ok(AssignmentRule {
                group_id: r.get(0)?,
                policy_id: r.get(1)?,
            })
        },
    )?;
    Ok(PolicyAssignment {
        workspace_id: ws.to_owned(),
        rules,
        default_policy_id,
        version,
        updated_at_ms,
        updated_by,
    })
}

pub fn replace_policy_assignment(c: &mut Connection, a: &PolicyAssignment) -> StoreResult<()> {
    let ws = &a.workspace_id;
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE((SELECT version FROM policy_assignments WHERE workspace_id = ?1), 0)",
            params![ws],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if a.version != current + 1 {
        return Err(StoreError::Conflict(format!(
            "the policy assignment is at version {current}; this change was based on version {}",
            a.version - 1
        )));
    }
    let live_policy = |id: &str| -> StoreResult<bool> {
        tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM policies WHERE workspace_id = ?1 AND id = ?2 AND deleted_at_ms IS NULL)",
            params![ws, id],
            |r| r.get(0),
        )
        .map_err(map_err)
    };
    for (i, rule) in a.rules.iter().enumerate() {
        let group: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM user_groups WHERE workspace_id = ?1 AND id = ?2)",
                params![ws, rule.group_id],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        if !group {
            return Err(StoreError::NotFound(format!(
                "rule {}: group {}",
                i + 1,
                rule.group_id
            )));
        }
        if !live_policy(&rule.policy_id)? {
            return Err(StoreError::NotFound(format!(
                "rule {}: policy {}",
                i + 1,
                rule.policy_id
            )));
        }
    }
    if let Some(id) = &a.default_policy_id {
        if !live_policy(id)? {
            return Err(StoreError::NotFound(format!("default policy {id}")));
        }
    }
    tx.execute(
        "INSERT INTO policy_assignments (workspace_id, version, default_policy_id, updated_at_ms, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (workspace_id) DO UPDATE SET version = excluded.version,
            default_policy_id = excluded.default_policy_id, updated_at_ms = excluded.updated_at_ms,
            updated_by = excluded.updated_by",
        params![ws, a.version, a.default_policy_id, a.updated_at_ms, a.updated_by],
    )
    .map_err(map_err)?;
    tx.execute(
        "DELETE FROM policy_assignment_rules WHERE workspace_id = ?1",
        params![ws],
    )
    .map_err(map_err)?;
    for (i, rule) in a.rules.iter().enumerate() {
        tx.execute(
            "INSERT INTO policy_assignment_rules (workspace_id, position, group_id, policy_id) VALUES (?1, ?2, ?3, ?4)",
            params![ws, i as i64, rule.group_id, rule.policy_id],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)
}

pub fn record_policy_sync(c: &Connection, r: &PolicySyncReport) -> StoreResult<()> {
    c.execute(
        &format!(
            "INSERT INTO policy_sync_reports ({REPORT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (workspace_id, user_id, host, channel) DO UPDATE SET policy_id = excluded.policy_id,
                revision = excluded.revision, sha256 = excluded.sha256, client_version = excluded.client_version,
                reported_at_ms = excluded.reported_at_ms
             WHERE excluded.reported_at_ms >= policy_sync_reports.reported_at_ms"
        ),
        params![
            r.workspace_id,
            r.user_id,
            r.host,
            r.channel,
            r.policy_id,
            r.revision,
            r.sha256,
            r.client_version,
            r.reported_at_ms
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

pub fn policy_sync_reports(c: &Connection, ws: &str) -> StoreResult<Vec<PolicySyncReport>> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM policy_sync_reports WHERE workspace_id = ?1 ORDER BY user_id, host, channel"
    );
    all(c, &sql, &[&ws], report_from_row)
}
