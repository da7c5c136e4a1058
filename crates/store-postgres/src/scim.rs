//! SCIM users and groups (`steward_store::ScimStore`) on the columns of migration 0009.
//!
//! Same semantics as the SQLite backend. Replicas are kept apart by the database: the unique
//! index `users_by_user_name` decides between two concurrent provisionings of one userName
//! (the loser gets `Conflict`), an adoption only updates a row that is still adoptable, and
//! group names are unique per workspace.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use steward_model::User;
use steward_store::{
    ids, Group, GroupSource, ScimGroup, ScimGroupLookup, ScimGroupWrite, ScimMembers, ScimPage, ScimStore,
    ScimUser, ScimUserCreated, ScimUserLookup, ScimUserWrite, StoreError, StoreResult,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::Row;

use crate::conn::map_err;
use crate::principals::{user, USER_COLS};
use crate::PostgresStore;

/// A page bound as PostgreSQL's `bigint` (past `i64::MAX` means "all").
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Users SCIM sees: provisioned and not deleted.
const VISIBLE: &str = "user_name IS NOT NULL AND deleted_at_ms IS NULL";
const GROUP_COLS: &str =
    "id, workspace_id, name, source, external_id, created_at_ms, scim_json, updated_at_ms";

fn scim_user(r: &Row) -> ScimUser {
    ScimUser {
        user: user(r),
        scim_json: r.get(12),
        updated_at_ms: r.get(13),
    }
}

/// How many rows `listing` (`table WHERE ...`, `$1` the workspace) has and one page of them in
/// SCIM's order, read in one snapshot so the two agree. The snapshot stays open for reads that
/// belong to the page (a group's members); the caller commits it.
async fn counted_page<'c>(
    c: &'c mut deadpool_postgres::Object,
    listing: &str,
    columns: &str,
    workspace_id: &str,
    offset: u64,
    limit: u64,
) -> StoreResult<(deadpool_postgres::Transaction<'c>, u64, Vec<Row>)> {
    let tx = c
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(map_err)?;
    let total: i64 = tx
        .query_one(&format!("SELECT count(*) FROM {listing}"), &[&workspace_id])
        .await
        .map_err(map_err)?
        .get(0);
    let rows = tx
        .query(
            &format!("SELECT {columns} FROM {listing} ORDER BY created_at_ms, id LIMIT $2 OFFSET $3"),
            &[&workspace_id, &clamp(limit), &clamp(offset)],
        )
        .await
        .map_err(map_err)?;
    Ok((tx, total.max(0) as u64, rows))
}

/// Groups (rows of [`GROUP_COLS`]) with their members from `(group_id, user_id)` rows sorted
/// by user.
fn with_members(groups: &[Row], member_rows: &[Row]) -> Vec<ScimGroup> {
    let mut members: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for r in member_rows {
        members.entry(r.get(0)).or_default().push(r.get(1));
    }
    groups
        .iter()
        .map(|r| {
            let (group, scim_json, updated_at_ms) = group_row(r);
            ScimGroup {
                members: members.remove(&group.id).unwrap_or_default(),
                group,
                scim_json,
                updated_at_ms,
            }
        })
        .collect()
}

/// A SCIM user's columns (what [`scim_user`] reads).
fn user_columns() -> String {
    format!("{USER_COLS}, scim_json, updated_at_ms")
}

fn user_select() -> String {
    format!("SELECT {} FROM users", user_columns())
}

fn group_row(r: &Row) -> (Group, Option<String>, Option<i64>) {
    let source: &str = r.get(3);
    (
        Group {
            id: r.get(0),
            workspace_id: r.get(1),
            name: r.get(2),
            source: GroupSource::parse(source).unwrap_or(GroupSource::Manual),
            external_id: r.get(4),
            created_at_ms: r.get(5),
        },
        r.get(6),
        r.get(7),
    )
}

fn user_name_conflict(user_name: &str) -> StoreError {
    StoreError::Conflict(format!("userName {user_name:?} is already provisioned"))
}

fn name_conflict(name: &str) -> StoreError {
    StoreError::Conflict(format!("group {name:?} already exists"))
}

/// A unique violation becomes `conflict`; anything else is mapped as usual.
fn unique_as(conflict: StoreError) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            conflict
        } else {
            map_err(e)
        }
    }
}

async fn get_user(c: &impl GenericClient, ws: &str, id: &str) -> StoreResult<Option<ScimUser>> {
    let sql = format!(
        "{} WHERE workspace_id = $1 AND id = $2 AND {VISIBLE}",
        user_select()
    );
    let row = c.query_opt(&sql, &[&ws, &id]).await.map_err(map_err)?;
    Ok(row.as_ref().map(scim_user))
}

async fn user_name_taken(
    c: &impl GenericClient,
    ws: &str,
    user_name: &str,
    except: Option<&str>,
) -> StoreResult<bool> {
    let sql = format!(
        "SELECT id FROM users WHERE workspace_id = $1 AND lower(user_name) = lower($2) AND {VISIBLE}"
    );
    let row = c.query_opt(&sql, &[&ws, &user_name]).await.map_err(map_err)?;
    Ok(row.is_some_and(|r| Some(r.get::<_, &str>(0)) != except))
}

async fn members_of(c: &impl GenericClient, ws: &str, group_id: &str) -> StoreResult<Vec<String>> {
    let rows = c
        .query(
            "SELECT user_id FROM group_members WHERE workspace_id = $1 AND group_id = $2 ORDER BY user_id",
            &[&ws, &group_id],
        )
        .await
        .map_err(map_err)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn get_group(c: &impl GenericClient, ws: &str, id: &str) -> StoreResult<Option<ScimGroup>> {
    let sql = format!(
        "SELECT {GROUP_COLS} FROM user_groups WHERE workspace_id = $1 AND id = $2 AND source = 'scim'"
    );
    let Some(row) = c.query_opt(&sql, &[&ws, &id]).await.map_err(map_err)? else {
        return Ok(None);
    };
    let (group, scim_json, updated_at_ms) = group_row(&row);
    Ok(Some(ScimGroup {
        members: members_of(c, ws, &group.id).await?,
        group,
        scim_json,
        updated_at_ms,
    }))
}

async fn set_members(
    c: &impl GenericClient,
    ws: &str,
    group_id: &str,
    members: &ScimMembers,
) -> StoreResult<()> {
    let (clear, add, remove): (bool, &[String], &[String]) = match members {
        ScimMembers::Keep => return Ok(()),
        ScimMembers::Replace(ids) => (true, ids, &[]),
        ScimMembers::Delta { add, remove } => (false, add, remove),
    };
    if clear {
        c.execute(
            "DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2",
            &[&ws, &group_id],
        )
        .await
        .map_err(map_err)?;
    }
    if !remove.is_empty() {
        c.execute(
            "DELETE FROM group_members WHERE workspace_id = $1 AND group_id = $2 AND user_id = ANY($3)",
            &[&ws, &group_id, &remove],
        )
        .await
        .map_err(map_err)?;
    }
    if !add.is_empty() {
        c.execute(
            "INSERT INTO group_members (workspace_id, group_id, user_id)
             SELECT $1, $2, u FROM UNNEST($3::text[]) AS u ON CONFLICT DO NOTHING",
            &[&ws, &group_id, &add],
        )
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl ScimStore for PostgresStore {
    async fn scim_create_user(&self, w: &ScimUserWrite) -> StoreResult<ScimUserCreated> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        if user_name_taken(&tx, &w.workspace_id, &w.user_name, None).await? {
            return Err(user_name_conflict(&w.user_name));
        }
        let email_key = w.email.as_ref().map(|e| format!("email:{}", e.to_lowercase()));
        let existing: Option<User> = match &email_key {
            Some(key) => {
                let sql = format!(
                    "SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND principal_key = $2 FOR UPDATE"
                );
                tx.query_opt(&sql, &[&w.workspace_id, key])
                    .await
                    .map_err(map_err)?
                    .as_ref()
                    .map(user)
            }
            None => None,
        };
        let adoptable = existing
            .as_ref()
            .filter(|u| u.user_name.is_none() || u.deleted_at_ms.is_some());
        let (id, adopted) = match adoptable {
            Some(old) => {
                let n = tx
                    .execute(
                        "UPDATE users SET user_name = $3, external_id = $4, email = COALESCE($5, email),
                            name = COALESCE($6, name), scim_json = $7, updated_at_ms = $8, deleted_at_ms = NULL,
                            kind = 'person'
                         WHERE workspace_id = $1 AND id = $2 AND (user_name IS NULL OR deleted_at_ms IS NOT NULL)",
                        &[
                            &w.workspace_id,
                            &old.id,
                            &w.user_name,
                            &w.external_id,
                            &w.email,
                            &w.name,
                            &w.scim_json,
                            &w.at_ms,
                        ],
                    )
                    .await
                    .map_err(unique_as(user_name_conflict(&w.user_name)))?;
                if n != 1 {
                    return Err(user_name_conflict(&w.user_name));
                }
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
                     VALUES ($1, $2, $3, $4, NULL, 'person', $5, $6, $7, $8, 1, $9, $6)",
                    &[
                        &id,
                        &w.workspace_id,
                        &w.email,
                        &w.name,
                        &key,
                        &w.at_ms,
                        &w.user_name,
                        &w.external_id,
                        &w.scim_json,
                    ],
                )
                .await
                .map_err(unique_as(user_name_conflict(&w.user_name)))?;
                (id, None)
            }
        };
        let user = get_user(&tx, &w.workspace_id, &id)
            .await?
            .ok_or_else(|| StoreError::Other("a provisioned user vanished".into()))?;
        tx.commit().await.map_err(map_err)?;
        Ok(ScimUserCreated { adopted, user })
    }

    async fn scim_update_user(&self, user_id: &str, w: &ScimUserWrite) -> StoreResult<Option<ScimUser>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        if user_name_taken(&tx, &w.workspace_id, &w.user_name, Some(user_id)).await? {
            return Err(user_name_conflict(&w.user_name));
        }
        let sql = format!(
            "UPDATE users SET user_name = $3, external_id = $4, email = COALESCE($5, email),
                name = COALESCE($6, name), scim_json = $7, updated_at_ms = $8
             WHERE workspace_id = $1 AND id = $2 AND {VISIBLE}"
        );
        let n = tx
            .execute(
                &sql,
                &[
                    &w.workspace_id,
                    &user_id,
                    &w.user_name,
                    &w.external_id,
                    &w.email,
                    &w.name,
                    &w.scim_json,
                    &w.at_ms,
                ],
            )
            .await
            .map_err(unique_as(user_name_conflict(&w.user_name)))?;
        if n == 0 {
            return Ok(None);
        }
        let after = get_user(&tx, &w.workspace_id, user_id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(after)
    }

    async fn scim_get_user(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<ScimUser>> {
        let c = self.client().await?;
        get_user(&c, workspace_id, user_id).await
    }

    async fn scim_list_users(
        &self,
        workspace_id: &str,
        lookup: &ScimUserLookup,
    ) -> StoreResult<Vec<ScimUser>> {
        let (clause, value) = match lookup {
            ScimUserLookup::All => ("", None),
            ScimUserLookup::Id(v) => (" AND id = $2", Some(v)),
            ScimUserLookup::UserName(v) => (" AND lower(user_name) = lower($2)", Some(v)),
            ScimUserLookup::ExternalId(v) => (" AND external_id = $2", Some(v)),
        };
        let sql = format!(
            "{} WHERE workspace_id = $1 AND {VISIBLE}{clause} ORDER BY created_at_ms, id",
            user_select()
        );
        let c = self.client().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
        let rows = match value {
            Some(v) => c.query(&stmt, &[&workspace_id, v]).await,
            None => c.query(&stmt, &[&workspace_id]).await,
        }
        .map_err(map_err)?;
        Ok(rows.iter().map(scim_user).collect())
    }

    async fn scim_page_users(
        &self,
        workspace_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<ScimPage<ScimUser>> {
        let mut c = self.client().await?;
        let listing = format!("users WHERE workspace_id = $1 AND {VISIBLE}");
        let (tx, total, rows) =
            counted_page(&mut c, &listing, &user_columns(), workspace_id, offset, limit).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(ScimPage {
            items: rows.iter().map(scim_user).collect(),
            total,
        })
    }

    async fn scim_delete_user(&self, workspace_id: &str, user_id: &str, at_ms: i64) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let sql = format!(
            "UPDATE users SET deleted_at_ms = $3, updated_at_ms = $3 WHERE workspace_id = $1 AND id = $2 AND {VISIBLE}"
        );
        let n = tx
            .execute(&sql, &[&workspace_id, &user_id, &at_ms])
            .await
            .map_err(map_err)?;
        if n == 1 {
            tx.execute(
                "DELETE FROM group_members WHERE workspace_id = $1 AND user_id = $2",
                &[&workspace_id, &user_id],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n == 1)
    }

    async fn scim_create_group(
        &self,
        g: &Group,
        w: &ScimGroupWrite,
        members: &[String],
    ) -> StoreResult<ScimGroup> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let sql =
            format!("INSERT INTO user_groups ({GROUP_COLS}) VALUES ($1, $2, $3, 'scim', $4, $5, $6, $5)");
        tx.execute(
            &sql,
            &[
                &g.id,
                &w.workspace_id,
                &w.name,
                &w.external_id,
                &w.at_ms,
                &w.scim_json,
            ],
        )
        .await
        .map_err(unique_as(name_conflict(&w.name)))?;
        set_members(
            &tx,
            &w.workspace_id,
            &g.id,
            &ScimMembers::Replace(members.to_vec()),
        )
        .await?;
        let group = get_group(&tx, &w.workspace_id, &g.id)
            .await?
            .ok_or_else(|| StoreError::Other("a created group vanished".into()))?;
        tx.commit().await.map_err(map_err)?;
        Ok(group)
    }

    async fn scim_update_group(
        &self,
        group_id: &str,
        w: &ScimGroupWrite,
        members: &ScimMembers,
    ) -> StoreResult<Option<ScimGroup>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute(
                "UPDATE user_groups SET name = $3, external_id = $4, scim_json = $5, updated_at_ms = $6
                 WHERE workspace_id = $1 AND id = $2 AND source = 'scim'",
                &[
                    &w.workspace_id,
                    &group_id,
                    &w.name,
                    &w.external_id,
                    &w.scim_json,
                    &w.at_ms,
                ],
            )
            .await
            .map_err(unique_as(name_conflict(&w.name)))?;
        if n == 0 {
            return Ok(None);
        }
        set_members(&tx, &w.workspace_id, group_id, members).await?;
        let group = get_group(&tx, &w.workspace_id, group_id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(group)
    }

    async fn scim_get_group(&self, workspace_id: &str, group_id: &str) -> StoreResult<Option<ScimGroup>> {
        let c = self.client().await?;
        get_group(&c, workspace_id, group_id).await
    }

    async fn scim_page_groups(
        &self,
        workspace_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<ScimPage<ScimGroup>> {
        let mut c = self.client().await?;
        let listing = "user_groups WHERE workspace_id = $1 AND source = 'scim'";
        let (tx, total, rows) =
            counted_page(&mut c, listing, GROUP_COLS, workspace_id, offset, limit).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let member_rows = tx
            .query(
                "SELECT group_id, user_id FROM group_members
                 WHERE workspace_id = $1 AND group_id = ANY($2) ORDER BY group_id, user_id",
                &[&workspace_id, &ids],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(ScimPage {
            items: with_members(&rows, &member_rows),
            total,
        })
    }

    async fn scim_list_groups(
        &self,
        workspace_id: &str,
        lookup: &ScimGroupLookup,
    ) -> StoreResult<Vec<ScimGroup>> {
        let (clause, value) = match lookup {
            ScimGroupLookup::All => ("", None),
            ScimGroupLookup::Id(v) => (" AND id = $2", Some(v)),
            ScimGroupLookup::DisplayName(v) => (" AND name = $2", Some(v)),
            ScimGroupLookup::ExternalId(v) => (" AND external_id = $2", Some(v)),
        };
        let sql = format!(
            "SELECT {GROUP_COLS} FROM user_groups WHERE workspace_id = $1 AND source = 'scim'{clause}
             ORDER BY created_at_ms, id"
        );
        let c = self.client().await?;
        let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
        let rows = match value {
            Some(v) => c.query(&stmt, &[&workspace_id, v]).await,
            None => c.query(&stmt, &[&workspace_id]).await,
        }
        .map_err(map_err)?;
        let member_rows = c
            .query(
                "SELECT m.group_id, m.user_id FROM group_members m
                 JOIN user_groups g ON g.id = m.group_id
                 WHERE m.workspace_id = $1 AND g.source = 'scim' ORDER BY m.group_id, m.user_id",
                &[&workspace_id],
            )
            .await
            .map_err(map_err)?;
        Ok(with_members(&rows, &member_rows))
    }
}
