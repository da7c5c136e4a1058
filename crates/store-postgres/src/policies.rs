//! Managed policies: groups, policies and revisions, the assignment, sync reports.
//!
//! Same semantics as the SQLite backend. Where SQLite has one writer, replicas sharing this
//! database are kept apart by locks, all taken in READ COMMITTED transactions:
//!
//! - a new revision locks its policy row (`FOR NO KEY UPDATE`) before comparing revision
//!   numbers, so of two writers based on one revision the second waits, then sees the first's
//!   revision and gets `Conflict` (the `(policy_id, revision)` key backs this up); a deleted
//!   policy is re-checked after the wait, so a revision never lands on one (`NotFound`).
//! - the assignment and what it references (`replace_policy_assignment`, `delete_group`,
//!   `delete_policy`) serialise per workspace on a transaction-scoped advisory lock, so the
//!   never-written assignment (no row to lock) has one first writer, and a group or policy is
//!   never deleted while a concurrent assignment starts using it. The assignment row itself is
//!   moved by compare-and-set on its version as well.
//! - membership changes need no lock: the foreign key makes a concurrent group deletion either
//!   wait for the new member (and cascade over it) or fail the insert, reported as "no change".

use deadpool_postgres::{GenericClient, Object, Pool, Transaction};
use steward_store::{
    AssignmentRule, Group, GroupSource, NewPolicy, PolicyAssignment, PolicyRevision, PolicyRow,
    PolicySyncReport, StoreError, StoreResult,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::{self, is_retryable, map_err, TX_ATTEMPTS};

const GROUP_COLUMNS: &str = "id, workspace_id, name, source, external_id, created_at_ms";
const POLICY_COLUMNS: &str =
    "id, workspace_id, name, description, latest_revision, created_at_ms, updated_at_ms";
const REVISION_COLUMNS: &str =
    "policy_id, revision, requirements_toml, managed_config_toml, sha256, comment, created_at_ms, created_by";
const REPORT_COLUMNS: &str =
    "workspace_id, user_id, host, channel, policy_id, revision, sha256, client_version, reported_at_ms";

/// First key of the per-workspace advisory lock on the policy assignment (ASCII "stwp"); the
/// second is the hash of the workspace id. Two-key advisory locks never collide with the
/// migrations' one-key lock; two workspaces whose ids hash alike merely wait for each other.
const ASSIGNMENT_LOCK_CLASS: i32 = 0x7374_7770;
const LOCK_ASSIGNMENT: &str = "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))";

type Attempt<T> = Result<StoreResult<T>, tokio_postgres::Error>;

/// Runs `$attempt` (a transaction on `$client`, a fresh pooled connection) until it neither
/// deadlocks nor fails to serialise, at most `TX_ATTEMPTS` times.
macro_rules! retried {
    ($pool:expr, $what:literal, |$client:ident| $attempt:expr) => {{
        let mut $client = conn::get($pool).await?;
        let mut attempt = 1;
        loop {
            match $attempt.await {
                Ok(outcome) => break outcome,
                Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, concat!("retrying ", $what, " after a lost race"));
                    tokio::time::sleep(conn::backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => break Err(map_err(e)),
            }
        }
    }};
}

fn group_from_row(r: &Row) -> Group {
    let source: &str = r.get(3);
    Group {
        id: r.get(0),
        workspace_id: r.get(1),
        name: r.get(2),
        source: GroupSource::parse(source).unwrap_or(GroupSource::Manual),
        external_id: r.get(4),
        created_at_ms: r.get(5),
    }
}

fn policy_from_row(r: &Row) -> PolicyRow {
    PolicyRow {
        id: r.get(0),
        workspace_id: r.get(1),
        name: r.get(2),
        description: r.get(3),
        latest_revision: r.get(4),
        created_at_ms: r.get(5),
        updated_at_ms: r.get(6),
    }
}

fn revision_from_row(r: &Row) -> PolicyRevision {
    PolicyRevision {
        policy_id: r.get(0),
        revision: r.get(1),
        requirements_toml: r.get(2),
        managed_config_toml: r.get(3),
        sha256: r.get(4),
        comment: r.get(5),
        created_at_ms: r.get(6),
        created_by: r.get(7),
    }
}

fn report_from_row(r: &Row) -> PolicySyncReport {
    PolicySyncReport {
        workspace_id: r.get(0),
        user_id: r.get(1),
        host: r.get(2),
        channel: r.get(3),
        policy_id: r.get(4),
        revision: r.get(5),
        sha256: r.get(6),
        client_version: r.get(7),
        reported_at_ms: r.get(8),
    }
}

async fn all<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: fn(&Row) -> T,
) -> StoreResult<Vec<T>> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    let rows = c.query(&stmt, params).await.map_err(map_err)?;
    Ok(rows.iter().map(map).collect())
}

async fn one<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    map: fn(&Row) -> T,
) -> StoreResult<Option<T>> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    let row = c.query_opt(&stmt, params).await.map_err(map_err)?;
    Ok(row.as_ref().map(map))
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Ends a transaction that found a reason to refuse, with that reason.
async fn refuse<T>(tx: Transaction<'_>, err: StoreError) -> Attempt<T> {
    tx.rollback().await?;
    Ok(Err(err))
}

async fn lock_assignment(tx: &Transaction<'_>, ws: &str) -> Result<(), tokio_postgres::Error> {
    tx.execute(LOCK_ASSIGNMENT, &[&ASSIGNMENT_LOCK_CLASS, &ws])
        .await?;
    Ok(())
}

// --- Groups ---

pub async fn create_group(c: &impl GenericClient, g: &Group) -> StoreResult<()> {
    let sql = format!("INSERT INTO user_groups ({GROUP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
    match c
        .execute(
            &sql,
            &[
                &g.id,
                &g.workspace_id,
                &g.name,
                &g.source.as_str(),
                &g.external_id,
                &g.created_at_ms,
            ],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::Conflict(format!("group {:?} already exists", g.name)))
        }
        Err(e) => Err(map_err(e)),
    }
}

pub async fn list_groups(c: &impl GenericClient, ws: &str) -> StoreResult<Vec<Group>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE workspace_id = $1 ORDER BY name");
    all(c, &sql, &[&ws], group_from_row).await
}

pub async fn get_group_by_name(c: &impl GenericClient, ws: &str, name: &str) -> StoreResult<Option<Group>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE workspace_id = $1 AND name = $2");
    one(c, &sql, &[&ws, &name], group_from_row).await
}

pub async fn delete_group(pool: &Pool, ws: &str, group_id: &str) -> StoreResult<bool> {
    retried!(pool, "a group deletion", |client| attempt_delete_group(
        &mut client,
        ws,
        group_id
    ))
}

async fn attempt_delete_group(client: &mut Object, ws: &str, group_id: &str) -> Attempt<bool> {
    let tx = client.transaction().await?;
    lock_assignment(&tx, ws).await?;
    let used: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM policy_assignment_rules WHERE workspace_id = $1 AND group_id = $2)",
            &[&ws, &group_id],
        )
        .await?
        .get(0);
    if used {
        return refuse(
            tx,
            StoreError::Conflict("the group is used by the policy assignment; remove its rule first".into()),
        )
        .await;
    }
    tx.execute(
        "DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2",
        &[&ws, &group_id],
    )
    .await?;
    let n = tx
        .execute(
            "DELETE FROM user_groups WHERE workspace_id = $1 AND id = $2",
            &[&ws, &group_id],
        )
        .await?;
    tx.commit().await?;
    Ok(Ok(n == 1))
}

pub async fn set_group_member(
    c: &impl GenericClient,
    ws: &str,
    group_id: &str,
    user_id: &str,
    member: bool,
) -> StoreResult<bool> {
    let n = if member {
        let inserted = c
            .execute(
                "INSERT INTO group_members (workspace_id, group_id, user_id)
                 SELECT workspace_id, id, $3 FROM user_groups WHERE workspace_id = $1 AND id = $2
                 ON CONFLICT DO NOTHING",
                &[&ws, &group_id, &user_id],
            )
            .await;
        match inserted {
            // The group was deleted while this insert waited for it: as if it never existed.
            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => 0,
            other => other.map_err(map_err)?,
        }
    } else {
        c.execute(
            "DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2 AND user_id = $3",
            &[&ws, &group_id, &user_id],
        )
        .await
        .map_err(map_err)?
    };
    Ok(n == 1)
}

async fn strings(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<String>> {
    all(c, sql, params, |r| r.get(0)).await
}

pub async fn group_members(c: &impl GenericClient, ws: &str, group_id: &str) -> StoreResult<Vec<String>> {
    strings(
        c,
        "SELECT user_id FROM group_members WHERE workspace_id = $1 AND group_id = $2 ORDER BY user_id",
        &[&ws, &group_id],
    )
    .await
}

pub async fn user_group_ids(c: &impl GenericClient, ws: &str, user_id: &str) -> StoreResult<Vec<String>> {
    strings(
        c,
        "SELECT group_id FROM group_members WHERE workspace_id = $1 AND user_id = $2 ORDER BY group_id",
        &[&ws, &user_id],
    )
    .await
}

pub async fn group_memberships(c: &impl GenericClient, ws: &str) -> StoreResult<Vec<(String, String)>> {
    all(
        c,
        "SELECT group_id, user_id FROM group_members WHERE workspace_id = $1 ORDER BY group_id, user_id",
        &[&ws],
        |r| (r.get(0), r.get(1)),
    )
    .await
}

// --- Policies and revisions ---

async fn insert_revision(tx: &Transaction<'_>, r: &PolicyRevision) -> Result<u64, tokio_postgres::Error> {
    let sql =
        format!("INSERT INTO policy_revisions ({REVISION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    tx.execute(
        &sql,
        &[
            &r.policy_id,
            &r.revision,
            &r.requirements_toml,
            &r.managed_config_toml,
            &r.sha256,
            &r.comment,
            &r.created_at_ms,
            &r.created_by,
        ],
    )
    .await
}

pub async fn create_policy(pool: &Pool, new: &NewPolicy) -> StoreResult<()> {
    retried!(pool, "a policy creation", |client| attempt_create_policy(
        &mut client,
        new
    ))
}

async fn attempt_create_policy(client: &mut Object, new: &NewPolicy) -> Attempt<()> {
    let p = &new.policy;
    let tx = client.transaction().await?;
    let sql = format!("INSERT INTO policies ({POLICY_COLUMNS}) VALUES ($1, $2, $3, $4, 1, $5, $6)");
    let inserted = tx
        .execute(
            &sql,
            &[
                &p.id,
                &p.workspace_id,
                &p.name,
                &p.description,
                &p.created_at_ms,
                &p.updated_at_ms,
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return refuse(
                tx,
                StoreError::Conflict(format!("a policy named {:?} already exists", p.name)),
            )
            .await
        }
        Err(e) => return Err(e),
    }
    let revision = PolicyRevision {
        policy_id: p.id.clone(),
        revision: 1,
        ..new.revision.clone()
    };
    insert_revision(&tx, &revision).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn add_policy_revision(
    pool: &Pool,
    r: &PolicyRevision,
    description: Option<&str>,
) -> StoreResult<()> {
    retried!(pool, "a policy revision", |client| attempt_add_revision(
        &mut client,
        r,
        description
    ))
}

async fn attempt_add_revision(
    client: &mut Object,
    r: &PolicyRevision,
    description: Option<&str>,
) -> Attempt<()> {
    let tx = client.transaction().await?;
    // NO KEY UPDATE: excludes other revision writers and deleters of this policy, but not an
    // assignment that references it (its foreign-key check takes KEY SHARE).
    let latest: Option<i64> = tx
        .query_opt(
            "SELECT latest_revision FROM policies WHERE id = $1 AND deleted_at_ms IS NULL FOR NO KEY UPDATE",
            &[&r.policy_id],
        )
        .await?
        .map(|row| row.get(0));
    let Some(latest) = latest else {
        return refuse(tx, StoreError::NotFound(format!("policy {}", r.policy_id))).await;
    };
    let stale = || {
        StoreError::Conflict(format!(
            "policy {} is at revision {latest}; revision {} was based on an older one",
            r.policy_id, r.revision
        ))
    };
    if r.revision != latest + 1 {
        return refuse(tx, stale()).await;
    }
    match insert_revision(&tx, r).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return refuse(tx, stale()).await,
        Err(e) => return Err(e),
    }
    tx.execute(
        "UPDATE policies SET latest_revision = $2, updated_at_ms = $3, description = COALESCE($4, description)
         WHERE id = $1",
        &[&r.policy_id, &r.revision, &r.created_at_ms, &description],
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn list_policies(c: &impl GenericClient, ws: &str) -> StoreResult<Vec<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE workspace_id = $1 AND deleted_at_ms IS NULL ORDER BY name"
    );
    all(c, &sql, &[&ws], policy_from_row).await
}

pub async fn get_policy_by_name(
    c: &impl GenericClient,
    ws: &str,
    name: &str,
) -> StoreResult<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE workspace_id = $1 AND name = $2 AND deleted_at_ms IS NULL"
    );
    one(c, &sql, &[&ws, &name], policy_from_row).await
}

pub async fn get_policy_by_id(c: &impl GenericClient, ws: &str, id: &str) -> StoreResult<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE workspace_id = $1 AND id = $2 AND deleted_at_ms IS NULL"
    );
    one(c, &sql, &[&ws, &id], policy_from_row).await
}

pub async fn policy_revisions(c: &impl GenericClient, policy_id: &str) -> StoreResult<Vec<PolicyRevision>> {
    let sql =
        format!("SELECT {REVISION_COLUMNS} FROM policy_revisions WHERE policy_id = $1 ORDER BY revision");
    all(c, &sql, &[&policy_id], revision_from_row).await
}

pub async fn policy_revision(
    c: &impl GenericClient,
    policy_id: &str,
    revision: i64,
) -> StoreResult<Option<PolicyRevision>> {
    let sql =
        format!("SELECT {REVISION_COLUMNS} FROM policy_revisions WHERE policy_id = $1 AND revision = $2");
    one(c, &sql, &[&policy_id, &revision], revision_from_row).await
}

pub async fn delete_policy(pool: &Pool, ws: &str, policy_id: &str, at_ms: i64) -> StoreResult<bool> {
    retried!(pool, "a policy deletion", |client| attempt_delete_policy(
        &mut client,
        ws,
        policy_id,
        at_ms
    ))
}

async fn attempt_delete_policy(client: &mut Object, ws: &str, policy_id: &str, at_ms: i64) -> Attempt<bool> {
    let tx = client.transaction().await?;
    lock_assignment(&tx, ws).await?;
    let used: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM policy_assignment_rules WHERE workspace_id = $1 AND policy_id = $2)
                 OR EXISTS (SELECT 1 FROM policy_assignments WHERE workspace_id = $1 AND default_policy_id = $2)",
            &[&ws, &policy_id],
        )
        .await?
        .get(0);
    if used {
        return refuse(
            tx,
            StoreError::Conflict(
                "the policy is used by the policy assignment; reassign its groups (and the default) first"
                    .into(),
            ),
        )
        .await;
    }
    let n = tx
        .execute(
            "UPDATE policies SET deleted_at_ms = $3 WHERE workspace_id = $1 AND id = $2 AND deleted_at_ms IS NULL",
            &[&ws, &policy_id, &at_ms],
        )
        .await?;
    tx.commit().await?;
    Ok(Ok(n == 1))
}

// --- The assignment ---

/// The head and its rules in one statement, so in one snapshot: never the rules of another
/// version than the one reported.
const ASSIGNMENT: &str = "
SELECT a.version, a.default_policy_id, a.updated_at_ms, a.updated_by, r.group_id, r.policy_id
FROM policy_assignments a
LEFT JOIN policy_assignment_rules r ON r.workspace_id = a.workspace_id
WHERE a.workspace_id = $1
ORDER BY r.position";

pub async fn policy_assignment(c: &impl GenericClient, ws: &str) -> StoreResult<PolicyAssignment> {
    let stmt = c.prepare_cached(ASSIGNMENT).await.map_err(map_err)?;
    let rows = c.query(&stmt, &[&ws]).await.map_err(map_err)?;
    let Some(head) = rows.first() else {
        return Ok(PolicyAssignment {
            workspace_id: ws.to_owned(),
            ..PolicyAssignment::default()
        });
    };
    let rules = rows
        .iter()
        .filter_map(|r| {
            Some(AssignmentRule {
                group_id: r.get::<_, Option<String>>(4)?,
                policy_id: r.get::<_, Option<String>>(5)?,
            })
        })
        .collect();
    Ok(PolicyAssignment {
        workspace_id: ws.to_owned(),
        rules,
        default_policy_id: head.get(1),
        version: head.get(0),
        updated_at_ms: head.get(2),
        updated_by: head.get(3),
    })
}

/// Writes the first head (version 1); should another writer have written one, it is moved
/// only from the version before.
const FIRST_ASSIGNMENT: &str = "
INSERT INTO policy_assignments AS a (workspace_id, version, default_policy_id, updated_at_ms, updated_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (workspace_id) DO UPDATE SET version = EXCLUDED.version,
    default_policy_id = EXCLUDED.default_policy_id, updated_at_ms = EXCLUDED.updated_at_ms,
    updated_by = EXCLUDED.updated_by
WHERE a.version = EXCLUDED.version - 1";

const UPDATE_ASSIGNMENT: &str = "
UPDATE policy_assignments SET version = $2, default_policy_id = $3, updated_at_ms = $4, updated_by = $5
WHERE workspace_id = $1 AND version = $2::int8 - 1";

const INSERT_RULES: &str = "
INSERT INTO policy_assignment_rules (workspace_id, position, group_id, policy_id)
SELECT $1::text, ord - 1, group_id, policy_id
FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS d(group_id, policy_id, ord)
ORDER BY ord";

pub async fn replace_policy_assignment(pool: &Pool, a: &PolicyAssignment) -> StoreResult<()> {
    retried!(pool, "a policy assignment", |client| attempt_replace_assignment(
        &mut client,
        a
    ))
}

async fn attempt_replace_assignment(client: &mut Object, a: &PolicyAssignment) -> Attempt<()> {
    let ws = &a.workspace_id;
    let tx = client.transaction().await?;
    // Serialises with other assignment writers and with group and policy deletions of this
    // workspace; every statement below sees what they committed before.
    lock_assignment(&tx, ws).await?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE((SELECT version FROM policy_assignments WHERE workspace_id = $1), 0)::int8",
            &[ws],
        )
        .await?
        .get(0);
    let stale = |current: i64| {
        StoreError::Conflict(format!(
            "the policy assignment is at version {current}; this change was based on version {}",
            a.version - 1
        ))
    };
    if a.version != current + 1 {
        return refuse(tx, stale(current)).await;
    }
    let group_ids: Vec<&str> = a.rules.iter().map(|r| r.group_id.as_str()).collect();
    let mut policy_ids: Vec<&str> = a.rules.iter().map(|r| r.policy_id.as_str()).collect();
    policy_ids.extend(a.default_policy_id.as_deref());
    let groups: Vec<String> = tx
        .query(
            "SELECT id FROM user_groups WHERE workspace_id = $1 AND id = ANY($2::text[])",
            &[ws, &group_ids],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let policies: Vec<String> = tx
        .query(
            "SELECT id FROM policies WHERE workspace_id = $1 AND id = ANY($2::text[]) AND deleted_at_ms IS NULL",
            &[ws, &policy_ids],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (i, rule) in a.rules.iter().enumerate() {
        if !groups.contains(&rule.group_id) {
            return refuse(
                tx,
                StoreError::NotFound(format!("rule {}: group {}", i + 1, rule.group_id)),
            )
            .await;
        }
        if !policies.contains(&rule.policy_id) {
            return refuse(
                tx,
                StoreError::NotFound(format!("rule {}: policy {}", i + 1, rule.policy_id)),
            )
            .await;
        }
    }
    if let Some(id) = &a.default_policy_id {
        if !policies.contains(id) {
            return refuse(tx, StoreError::NotFound(format!("default policy {id}"))).await;
        }
    }
    let head: [&(dyn ToSql + Sync); 5] = [
        ws,
        &a.version,
        &a.default_policy_id,
        &a.updated_at_ms,
        &a.updated_by,
    ];
    let moved = if current == 0 {
        tx.execute(FIRST_ASSIGNMENT, &head).await?
    } else {
        tx.execute(UPDATE_ASSIGNMENT, &head).await?
    };
    if moved != 1 {
        // Not reachable while every writer takes the lock; kept as the last word on versions.
        return refuse(tx, stale(current)).await;
    }
    tx.execute(
        "DELETE FROM policy_assignment_rules WHERE workspace_id = $1",
        &[ws],
    )
    .await?;
    if !a.rules.is_empty() {
        let rule_policies: Vec<&str> = a.rules.iter().map(|r| r.policy_id.as_str()).collect();
        tx.execute(INSERT_RULES, &[ws, &group_ids, &rule_policies])
            .await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

// --- Sync reports ---

pub async fn record_policy_sync(c: &impl GenericClient, r: &PolicySyncReport) -> StoreResult<()> {
    // An older report (delivered late, or by a slower replica) never replaces a newer one.
    let sql = format!(
        "INSERT INTO policy_sync_reports AS s ({REPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (workspace_id, user_id, host, channel) DO UPDATE SET policy_id = EXCLUDED.policy_id,
            revision = EXCLUDED.revision, sha256 = EXCLUDED.sha256, client_version = EXCLUDED.client_version,
            reported_at_ms = EXCLUDED.reported_at_ms
         WHERE EXCLUDED.reported_at_ms >= s.reported_at_ms"
    );
    c.execute(
        &sql,
        &[
            &r.workspace_id,
            &r.user_id,
            &r.host,
            &r.channel,
            &r.policy_id,
            &r.revision,
            &r.sha256,
            &r.client_version,
            &r.reported_at_ms,
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

pub async fn policy_sync_reports(c: &impl GenericClient, ws: &str) -> StoreResult<Vec<PolicySyncReport>> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM policy_sync_reports WHERE workspace_id = $1 ORDER BY user_id, host, channel"
    );
    all(c, &sql, &[&ws], report_from_row).await
}
