//! SCIM users and groups (`steward_store::ScimStore`) on the columns of migration 0009.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use steward_model::User;
use steward_store::{
    ids, Group, GroupSource, ScimGroup, ScimGroupLookup, ScimGroupWrite, ScimMembers, ScimPage, ScimStore,
    ScimUser, ScimUserCreated, ScimUserLookup, ScimUserWrite, StoreError, StoreResult,
};

use crate::conn::map_err;
use crate::principals::{user, USER_COLS};
use crate::SqliteStore;

/// Users SCIM sees: provisioned and not deleted.
const VISIBLE: &str = "user_name IS NOT NULL AND deleted_at_ms IS NULL";
const GROUP_COLS: &str =
    "id, workspace_id, name, source, external_id, created_at_ms, scim_json, updated_at_ms";

fn scim_user(r: &Row<'_>) -> rusqlite::Result<ScimUser> {
    Ok(ScimUser {
        user: user(r)?,
        scim_json: r.get(12)?,
        updated_at_ms: r.get(13)?,
    })
}

/// A SCIM user's columns (what [`scim_user`] reads).
fn user_columns() -> String {
    format!("{USER_COLS}, scim_json, updated_at_ms")
}

fn user_select() -> String {
    format!("SELECT {} FROM users", user_columns())
}

fn group_row(r: &Row<'_>) -> rusqlite::Result<(Group, Option<String>, Option<i64>)> {
    let source: String = r.get(3)?;
    Ok((
        Group {
            id: r.get(0)?,
            workspace_id: r.get(1)?,
            name: r.get(2)?,
            source: GroupSource::parse(&source).unwrap_or(GroupSource::Manual),
            external_id: r.get(4)?,
            created_at_ms: r.get(5)?,
        },
        r.get(6)?,
        r.get(7)?,
    ))
}

fn get_user(c: &Connection, ws: &str, id: &str) -> StoreResult<Option<ScimUser>> {
    c.query_row(
        &format!(
            "{} WHERE workspace_id = ?1 AND id = ?2 AND {VISIBLE}",
            user_select()
        ),
        params![ws, id],
        scim_user,
    )
    .optional()
    .map_err(map_err)
}

/// Another SCIM-visible user of the workspace with this user name (case-insensitively).
fn user_name_taken(c: &Connection, ws: &str, user_name: &str, except: Option<&str>) -> StoreResult<bool> {
    let found: Option<String> = c
        .query_row(
            &format!(
                "SELECT id FROM users WHERE workspace_id = ?1 AND lower(user_name) = lower(?2) AND {VISIBLE}"
            ),
            params![ws, user_name],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    Ok(found.is_some_and(|id| Some(id.as_str()) != except))
}

fn user_name_conflict(user_name: &str) -> StoreError {
    StoreError::Conflict(format!("userName {user_name:?} is already provisioned"))
}

fn create_user(c: &mut Connection, w: &ScimUserWrite) -> StoreResult<ScimUserCreated> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    if user_name_taken(&tx, &w.workspace_id, &w.user_name, None)? {
        return Err(user_name_conflict(&w.user_name));
    }
    let email_key = w.email.as_ref().map(|e| format!("email:{}", e.to_lowercase()));
    let existing: Option<User> = match &email_key {
        Some(key) => tx
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 AND principal_key = ?2"),
                params![w.workspace_id, key],
                user,
            )
            .optional()
            .map_err(map_err)?,
        None => None,
    };
    let adoptable = existing
        .as_ref()
        .filter(|u| u.user_name.is_none() || u.deleted_at_ms.is_some());
    let (id, adopted) = match adoptable {
        Some(old) => {
            tx.execute(
                "UPDATE users SET user_name = ?3, external_id = ?4, email = COALESCE(?5, email),
                    name = COALESCE(?6, name), scim_json = ?7, updated_at_ms = ?8, deleted_at_ms = NULL,
                    kind = 'person'
                 WHERE workspace_id = ?1 AND id = ?2",
                params![
                    w.workspace_id,
                    old.id,
                    w.user_name,
                    w.external_id,
                    w.email,
                    w.name,
                    w.scim_json,
                    w.at_ms
                ],
            )
            .map_err(map_err)?;
            (old.id.clone(), Some(old.clone()))
        }
        None => {
            let id = ids::user_id();
            let key = match (&email_key, &existing) {
                (Some(k), None) => k.clone(),
                _ => format!("scim:{id}"),
            };
            tx.execute(
                "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms,
                                    user_name, external_id, active, scim_json, updated_at_ms)
                 VALUES (?1, ?2, ?3, ?4, NULL, 'person', ?5, ?6, ?7, ?8, 1, ?9, ?6)",
                params![
                    id,
                    w.workspace_id,
                    w.email,
                    w.name,
                    key,
                    w.at_ms,
                    w.user_name,
                    w.external_id,
                    w.scim_json
                ],
            )
            .map_err(map_err)?;
            (id, None)
        }
    };
    let user = get_user(&tx, &w.workspace_id, &id)?
        .ok_or_else(|| StoreError::Other("a provisioned user vanished".into()))?;
    tx.commit().map_err(map_err)?;
    Ok(ScimUserCreated { adopted, user })
}

fn update_user(c: &mut Connection, id: &str, w: &ScimUserWrite) -> StoreResult<Option<ScimUser>> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    if get_user(&tx, &w.workspace_id, id)?.is_none() {
        return Ok(None);
    }
    if user_name_taken(&tx, &w.workspace_id, &w.user_name, Some(id))? {
        return Err(user_name_conflict(&w.user_name));
    }
    tx.execute(
        "UPDATE users SET user_name = ?3, external_id = ?4, email = COALESCE(?5, email),
            name = COALESCE(?6, name), scim_json = ?7, updated_at_ms = ?8
         WHERE workspace_id = ?1 AND id = ?2",
        params![
            w.workspace_id,
            id,
            w.user_name,
            w.external_id,
            w.email,
            w.name,
            w.scim_json,
            w.at_ms
        ],
    )
    .map_err(map_err)?;
    let after = get_user(&tx, &w.workspace_id, id)?;
    tx.commit().map_err(map_err)?;
    Ok(after)
}

fn list_users(c: &Connection, ws: &str, lookup: &ScimUserLookup) -> StoreResult<Vec<ScimUser>> {
    let (clause, value) = match lookup {
        ScimUserLookup::All => ("", None),
        ScimUserLookup::Id(v) => (" AND id = ?2", Some(v)),
        ScimUserLookup::UserName(v) => (" AND lower(user_name) = lower(?2)", Some(v)),
        ScimUserLookup::ExternalId(v) => (" AND external_id = ?2", Some(v)),
    };
    let sql = format!(
        "{} WHERE workspace_id = ?1 AND {VISIBLE}{clause} ORDER BY created_at_ms, id",
        user_select()
    );
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = match value {
        Some(v) => stmt.query_map(params![ws, v], scim_user),
        None => stmt.query_map(params![ws], scim_user),
    }
    .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

/// How many rows `listing` (`table INDEXED BY ... WHERE ...`, `?1` the workspace) has and one
/// page of them in SCIM's order: `LIMIT ... OFFSET` through the partial indexes of migration
/// 0016 (an index walk of `offset` entries, not a sort of the directory). Read inside the
/// caller's transaction, so count and page agree.
fn counted_page<T>(
    tx: &Transaction<'_>,
    listing: &str,
    columns: &str,
    ws: &str,
    offset: u64,
    limit: u64,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<(u64, Vec<T>)> {
    let total: i64 = tx
        .prepare_cached(&format!("SELECT count(*) FROM {listing}"))
        .and_then(|mut s| s.query_row(params![ws], |r| r.get(0)))
        .map_err(map_err)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {columns} FROM {listing} ORDER BY created_at_ms, id LIMIT ?2 OFFSET ?3"
        ))
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![ws, clamp(limit), clamp(offset)], map)
        .map_err(map_err)?;
    let items = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)?;
    Ok((total.max(0) as u64, items))
}

fn page_users(c: &Connection, ws: &str, offset: u64, limit: u64) -> StoreResult<ScimPage<ScimUser>> {
    let tx = c.unchecked_transaction().map_err(map_err)?;
    let listing = format!("users INDEXED BY users_scim_order WHERE workspace_id = ?1 AND {VISIBLE}");
    let (total, items) = counted_page(&tx, &listing, &user_columns(), ws, offset, limit, scim_user)?;
    tx.finish().map_err(map_err)?;
    Ok(ScimPage { items, total })
}

/// SQLite integers are signed: a page bound past `i64::MAX` means "all".
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn delete_user(c: &mut Connection, ws: &str, id: &str, at_ms: i64) -> StoreResult<bool> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let n = tx
        .execute(
            &format!(
                "UPDATE users SET deleted_at_ms = ?3, updated_at_ms = ?3 WHERE workspace_id = ?1 AND id = ?2 AND {VISIBLE}"
            ),
            params![ws, id, at_ms],
        )
        .map_err(map_err)?;
    if n == 1 {
        tx.execute(
            "DELETE FROM group_members WHERE workspace_id = ?1 AND user_id = ?2",
            params![ws, id],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(n == 1)
}

fn members_of(c: &Connection, ws: &str, group_id: &str) -> StoreResult<Vec<String>> {
    let mut stmt = c
        .prepare_cached(
            "SELECT user_id FROM group_members WHERE workspace_id = ?1 AND group_id = ?2 ORDER BY user_id",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![ws, group_id], |r| r.get(0))
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<String>>>().map_err(map_err)
}

fn get_group(c: &Connection, ws: &str, id: &str) -> StoreResult<Option<ScimGroup>> {
    let row = c
        .query_row(
            &format!("SELECT {GROUP_COLS} FROM user_groups WHERE workspace_id = ?1 AND id = ?2 AND source = 'scim'"),
            params![ws, id],
            group_row,
        )
        .optional()
        .map_err(map_err)?;
    row.map(|(group, scim_json, updated_at_ms)| {
        Ok(ScimGroup {
            members: members_of(c, ws, &group.id)?,
            group,
            scim_json,
            updated_at_ms,
        })
    })
    .transpose()
}

fn name_conflict(name: &str) -> StoreError {
    StoreError::Conflict(format!("group {name:?} already exists"))
}

fn set_members(tx: &Transaction<'_>, ws: &str, group_id: &str, members: &ScimMembers) -> StoreResult<()> {
    let (clear, add, remove): (bool, &[String], &[String]) = match members {
        ScimMembers::Keep => return Ok(()),
        ScimMembers::Replace(ids) => (true, ids, &[]),
        ScimMembers::Delta { add, remove } => (false, add, remove),
    };
    if clear {
        tx.execute(
            "DELETE FROM group_members WHERE workspace_id = ?1 AND group_id = ?2",
            params![ws, group_id],
        )
        .map_err(map_err)?;
    }
    for user_id in remove {
        tx.execute(
            "DELETE FROM group_members WHERE workspace_id = ?1 AND group_id = ?2 AND user_id = ?3",
            params![ws, group_id, user_id],
        )
        .map_err(map_err)?;
    }
    for user_id in add {
        tx.execute(
            "INSERT INTO group_members (workspace_id, group_id, user_id) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![ws, group_id, user_id],
        )
        .map_err(map_err)?;
    }
    Ok(())
}

fn create_group(
    c: &mut Connection,
    g: &Group,
    w: &ScimGroupWrite,
    members: &[String],
) -> StoreResult<ScimGroup> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    tx.execute(
        &format!("INSERT INTO user_groups ({GROUP_COLS}) VALUES (?1, ?2, ?3, 'scim', ?4, ?5, ?6, ?5)"),
        params![g.id, w.workspace_id, w.name, w.external_id, w.at_ms, w.scim_json],
    )
    .map_err(|e| match map_err(e) {
        StoreError::Conflict(_) => name_conflict(&w.name),
        other => other,
    })?;
    set_members(
        &tx,
        &w.workspace_id,
        &g.id,
        &ScimMembers::Replace(members.to_vec()),
    )?;
    let group = get_group(&tx, &w.workspace_id, &g.id)?
        .ok_or_else(|| StoreError::Other("a created group vanished".into()))?;
    tx.commit().map_err(map_err)?;
    Ok(group)
}

fn update_group(
    c: &mut Connection,
    id: &str,
    w: &ScimGroupWrite,
    members: &ScimMembers,
) -> StoreResult<Option<ScimGroup>> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let n = tx
        .execute(
            "UPDATE user_groups SET name = ?3, external_id = ?4, scim_json = ?5, updated_at_ms = ?6
             WHERE workspace_id = ?1 AND id = ?2 AND source = 'scim'",
            params![w.workspace_id, id, w.name, w.external_id, w.scim_json, w.at_ms],
        )
        .map_err(|e| match map_err(e) {
            StoreError::Conflict(_) => name_conflict(&w.name),
            other => other,
        })?;
    if n == 0 {
        return Ok(None);
    }
    set_members(&tx, &w.workspace_id, id, members)?;
    let group = get_group(&tx, &w.workspace_id, id)?;
    tx.commit().map_err(map_err)?;
    Ok(group)
}

fn page_groups(c: &Connection, ws: &str, offset: u64, limit: u64) -> StoreResult<ScimPage<ScimGroup>> {
    let tx = c.unchecked_transaction().map_err(map_err)?;
    let listing = "user_groups INDEXED BY user_groups_scim_order WHERE workspace_id = ?1 AND source = 'scim'";
    let (total, groups) = counted_page(&tx, listing, GROUP_COLS, ws, offset, limit, group_row)?;
    let items = groups
        .into_iter()
        .map(|(group, scim_json, updated_at_ms)| {
            Ok(ScimGroup {
                members: members_of(&tx, ws, &group.id)?,
                group,
                scim_json,
                updated_at_ms,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    tx.finish().map_err(map_err)?;
    Ok(ScimPage { items, total })
}

fn list_groups(c: &Connection, ws: &str, lookup: &ScimGroupLookup) -> StoreResult<Vec<ScimGroup>> {
    let (clause, value) = match lookup {
        ScimGroupLookup::All => ("", None),
        ScimGroupLookup::Id(v) => (" AND id = ?2", Some(v)),
        ScimGroupLookup::DisplayName(v) => (" AND name = ?2", Some(v)),
        ScimGroupLookup::ExternalId(v) => (" AND external_id = ?2", Some(v)),
    };
    let sql = format!(
        "SELECT {GROUP_COLS} FROM user_groups WHERE workspace_id = ?1 AND source = 'scim'{clause}
         ORDER BY created_at_ms, id"
    );
    let groups = {
        let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
        let rows = match value {
            Some(v) => stmt.query_map(params![ws, v], group_row),
            None => stmt.query_map(params![ws], group_row),
        }
        .map_err(map_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)?
    };
    // Members of every listed group in one query.
    let mut members: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    {
        let mut stmt = c
            .prepare_cached(
                "SELECT m.group_id, m.user_id FROM group_members m
                 JOIN user_groups g ON g.id = m.group_id AND g.workspace_id = m.workspace_id
                 WHERE m.workspace_id = ?1 AND g.source = 'scim' ORDER BY m.group_id, m.user_id",
            )
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params![ws], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(map_err)?;
        for row in rows {
            let (g, u) = row.map_err(map_err)?;
            members.entry(g).or_default().push(u);
        }
    }
    Ok(groups
        .into_iter()
        .map(|(group, scim_json, updated_at_ms)| ScimGroup {
            members: members.remove(&group.id).unwrap_or_default(),
            group,
            scim_json,
            updated_at_ms,
        })
        .collect())
}

#[async_trait]
impl ScimStore for SqliteStore {
    async fn scim_create_user(&self, write: &ScimUserWrite) -> StoreResult<ScimUserCreated> {
        let w = write.clone();
        self.write(move |c| create_user(c, &w)).await
    }

    async fn scim_update_user(&self, user_id: &str, write: &ScimUserWrite) -> StoreResult<Option<ScimUser>> {
        let (id, w) = (user_id.to_owned(), write.clone());
        self.write(move |c| update_user(c, &id, &w)).await
    }

    async fn scim_get_user(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<ScimUser>> {
        let (ws, id) = (workspace_id.to_owned(), user_id.to_owned());
        self.read(move |c| get_user(c, &ws, &id)).await
    }

    async fn scim_list_users(
        &self,
        workspace_id: &str,
        lookup: &ScimUserLookup,
    ) -> StoreResult<Vec<ScimUser>> {
        let (ws, lookup) = (workspace_id.to_owned(), lookup.clone());
        self.read(move |c| list_users(c, &ws, &lookup)).await
    }

    async fn scim_page_users(
        &self,
        workspace_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<ScimPage<ScimUser>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| page_users(c, &ws, offset, limit)).await
    }

    async fn scim_delete_user(&self, workspace_id: &str, user_id: &str, at_ms: i64) -> StoreResult<bool> {
        let (ws, id) = (workspace_id.to_owned(), user_id.to_owned());
        self.write(move |c| delete_user(c, &ws, &id, at_ms)).await
    }

    async fn scim_create_group(
        &self,
        group: &Group,
        write: &ScimGroupWrite,
        members: &[String],
    ) -> StoreResult<ScimGroup> {
        let (g, w, m) = (group.clone(), write.clone(), members.to_vec());
        self.write(move |c| create_group(c, &g, &w, &m)).await
    }

    async fn scim_update_group(
        &self,
        group_id: &str,
        write: &ScimGroupWrite,
        members: &ScimMembers,
    ) -> StoreResult<Option<ScimGroup>> {
        let (id, w, m) = (group_id.to_owned(), write.clone(), members.clone());
        self.write(move |c| update_group(c, &id, &w, &m)).await
    }

    async fn scim_get_group(&self, workspace_id: &str, group_id: &str) -> StoreResult<Option<ScimGroup>> {
        let (ws, id) = (workspace_id.to_owned(), group_id.to_owned());
        self.read(move |c| get_group(c, &ws, &id)).await
    }

    async fn scim_list_groups(
        &self,
        workspace_id: &str,
        lookup: &ScimGroupLookup,
    ) -> StoreResult<Vec<ScimGroup>> {
        let (ws, lookup) = (workspace_id.to_owned(), lookup.clone());
        self.read(move |c| list_groups(c, &ws, &lookup)).await
    }

    async fn scim_page_groups(
        &self,
        workspace_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<ScimPage<ScimGroup>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| page_groups(c, &ws, offset, limit)).await
    }
}
