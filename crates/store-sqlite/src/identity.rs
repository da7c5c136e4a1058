//! Roles, role assignments, credential bookkeeping, sessions, local admins and pending OIDC
//! sign-ins (migration 0009).

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use steward_model::{Credential, Permission, PermissionSet, User};
use steward_store::{
    IdentityStore, LocalAdmin, OidcPending, RoleAssignment, RoleRow, RoleSubject, SessionRow, SessionStore,
    SignInFailures, StoreResult,
};

use crate::conn::map_err;
use crate::principals::{credential, user, CRED_COLS, USER_COLS};
use crate::SqliteStore;

const ROLE_COLS: &str = "id, workspace_id, name, description, permissions, created_at_ms, updated_at_ms";
const SESSION_COLS: &str =
    "id_hash, workspace_id, user_id, admin_id, method, created_at_ms, last_seen_at_ms, expires_at_ms, revoked_at_ms";
const ADMIN_COLS: &str = "id, username, password_hash, created_at_ms, disabled_at_ms, last_sign_in_at_ms";

fn sign_in_failures(r: &Row) -> rusqlite::Result<SignInFailures> {
    Ok(SignInFailures {
        failures: r.get(0)?,
        last_failure_ms: r.get(1)?,
    })
}

fn permissions_text(set: PermissionSet) -> String {
    set.to_names().join(" ")
}

fn role(r: &Row<'_>) -> rusqlite::Result<RoleRow> {
    let perms: String = r.get(4)?;
    Ok(RoleRow {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        permissions: perms.split_whitespace().filter_map(Permission::parse).collect(),
        created_at_ms: r.get(5)?,
        updated_at_ms: r.get(6)?,
    })
}

fn assignment(r: &Row<'_>) -> rusqlite::Result<RoleAssignment> {
    let kind: String = r.get(2)?;
    Ok(RoleAssignment {
        workspace_id: r.get(0)?,
        role_name: r.get(1)?,
        subject_kind: RoleSubject::parse(&kind).unwrap_or(RoleSubject::User),
        subject_id: r.get(3)?,
        created_at_ms: r.get(4)?,
    })
}

fn session(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id_hash: r.get(0)?,
        workspace_id: r.get(1)?,
        user_id: r.get(2)?,
        admin_id: r.get(3)?,
        method: r.get(4)?,
        created_at_ms: r.get(5)?,
        last_seen_at_ms: r.get(6)?,
        expires_at_ms: r.get(7)?,
        revoked_at_ms: r.get(8)?,
    })
}

fn admin(r: &Row<'_>) -> rusqlite::Result<LocalAdmin> {
    Ok(LocalAdmin {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        created_at_ms: r.get(3)?,
        disabled_at_ms: r.get(4)?,
        last_sign_in_at_ms: r.get(5)?,
    })
}

fn collect<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(map_err)?;
    let rows = stmt.query_map(params, map).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

fn upsert_role(c: &mut Connection, role_row: &RoleRow) -> StoreResult<RoleRow> {
    c.execute(
        "INSERT INTO roles (id, workspace_id, name, description, permissions, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (workspace_id, name) DO UPDATE SET
            description = excluded.description, permissions = excluded.permissions,
            updated_at_ms = excluded.updated_at_ms",
        params![
            role_row.id,
            role_row.workspace_id,
            role_row.name,
            role_row.description,
            permissions_text(role_row.permissions),
            role_row.created_at_ms,
            role_row.updated_at_ms
        ],
    )
    .map_err(map_err)?;
    c.query_row(
        &format!("SELECT {ROLE_COLS} FROM roles WHERE workspace_id = ?1 AND name = ?2"),
        params![role_row.workspace_id, role_row.name],
        role,
    )
    .map_err(map_err)
}

fn delete_role(c: &mut Connection, ws: &str, name: &str) -> StoreResult<bool> {
    let tx = c.transaction().map_err(map_err)?;
    let deleted = tx
        .execute(
            "DELETE FROM roles WHERE workspace_id = ?1 AND name = ?2",
            params![ws, name],
        )
        .map_err(map_err)?;
    if deleted > 0 {
        tx.execute(
            "DELETE FROM role_assignments WHERE workspace_id = ?1 AND role_name = ?2",
            params![ws, name],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    Ok(deleted > 0)
}

fn assignments_for(
    c: &Connection,
    ws: &str,
    user_id: &str,
    groups: &[String],
) -> StoreResult<Vec<RoleAssignment>> {
    let marks: Vec<String> = (0..groups.len()).map(|i| format!("?{}", i + 3)).collect();
    let group_clause = if groups.is_empty() {
        String::new()
    } else {
        format!(
            " OR (subject_kind = 'group' AND subject_id IN ({}))",
            marks.join(", ")
        )
    };
    let sql = format!(
        "SELECT workspace_id, role_name, subject_kind, subject_id, created_at_ms FROM role_assignments
         WHERE workspace_id = ?1 AND ((subject_kind = 'user' AND subject_id = ?2){group_clause})
         ORDER BY role_name, subject_kind, subject_id"
    );
    let values = [ws, user_id]
        .into_iter()
        .map(str::to_owned)
        .chain(groups.iter().cloned());
    let mut stmt = c.prepare(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(values), assignment)
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

fn set_role_assignment(c: &Connection, a: &RoleAssignment, present: bool) -> StoreResult<bool> {
    let changed = if present {
        c.execute(
            "INSERT INTO role_assignments (workspace_id, role_name, subject_kind, subject_id, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                a.workspace_id,
                a.role_name,
                a.subject_kind.as_str(),
                a.subject_id,
                a.created_at_ms
            ],
        )
    } else {
        c.execute(
            "DELETE FROM role_assignments
             WHERE workspace_id = ?1 AND role_name = ?2 AND subject_kind = ?3 AND subject_id = ?4",
            params![a.workspace_id, a.role_name, a.subject_kind.as_str(), a.subject_id],
        )
    };
    changed.map(|n| n > 0).map_err(map_err)
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn get_user(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let (ws, id) = (workspace_id.to_owned(), user_id.to_owned());
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 AND id = ?2"),
                params![ws, id],
                user,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn set_user_active(
        &self,
        workspace_id: &str,
        user_id: &str,
        active: bool,
        at_ms: i64,
    ) -> StoreResult<Option<User>> {
        let (ws, id) = (workspace_id.to_owned(), user_id.to_owned());
        self.write(move |c| {
            c.query_row(
                &format!(
                    "UPDATE users SET active = ?3, updated_at_ms = ?4 WHERE workspace_id = ?1 AND id = ?2
                     RETURNING {USER_COLS}"
                ),
                params![ws, id, active as i64, at_ms],
                user,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn list_roles(&self, workspace_id: &str) -> StoreResult<Vec<RoleRow>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| {
            collect(
                c,
                &format!("SELECT {ROLE_COLS} FROM roles WHERE workspace_id = ?1 ORDER BY name"),
                [ws],
                role,
            )
        })
        .await
    }

    async fn get_role(&self, workspace_id: &str, name: &str) -> StoreResult<Option<RoleRow>> {
        let (ws, name) = (workspace_id.to_owned(), name.to_owned());
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {ROLE_COLS} FROM roles WHERE workspace_id = ?1 AND name = ?2"),
                params![ws, name],
                role,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn upsert_role(&self, role_row: &RoleRow) -> StoreResult<RoleRow> {
        let role_row = role_row.clone();
        self.write(move |c| upsert_role(c, &role_row)).await
    }

    async fn delete_role(&self, workspace_id: &str, name: &str) -> StoreResult<bool> {
        let (ws, name) = (workspace_id.to_owned(), name.to_owned());
        self.write(move |c| delete_role(c, &ws, &name)).await
    }

    async fn role_assignments(&self, workspace_id: &str) -> StoreResult<Vec<RoleAssignment>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| {
            collect(
                c,
                "SELECT workspace_id, role_name, subject_kind, subject_id, created_at_ms FROM role_assignments
                 WHERE workspace_id = ?1 ORDER BY role_name, subject_kind, subject_id",
                [ws],
                assignment,
            )
        })
        .await
    }

    async fn assignments_for(
        &self,
        workspace_id: &str,
        user_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<RoleAssignment>> {
        let (ws, uid, groups) = (workspace_id.to_owned(), user_id.to_owned(), group_ids.to_vec());
        self.read(move |c| assignments_for(c, &ws, &uid, &groups)).await
    }

    async fn set_role_assignment(&self, a: &RoleAssignment, present: bool) -> StoreResult<bool> {
        let a = a.clone();
        self.write(move |c| set_role_assignment(c, &a, present)).await
    }

    async fn set_default_role(&self, workspace_id: &str, role_name: &str) -> StoreResult<()> {
        let (ws, name) = (workspace_id.to_owned(), role_name.to_owned());
        self.write(move |c| {
            c.execute(
                "UPDATE workspaces SET default_role = ?2 WHERE id = ?1",
                params![ws, name],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn touch_credential(&self, credential_id: &str, at_ms: i64) -> StoreResult<()> {
        let id = credential_id.to_owned();
        self.write(move |c| {
            c.execute(
                "UPDATE credentials SET last_used_at_ms = ?2
                 WHERE id = ?1 AND (last_used_at_ms IS NULL OR last_used_at_ms < ?2)",
                params![id, at_ms],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn revoke_user_credentials(
        &self,
        workspace_id: &str,
        user_id: &str,
        at_ms: i64,
    ) -> StoreResult<Vec<Credential>> {
        let (ws, uid) = (workspace_id.to_owned(), user_id.to_owned());
        self.write(move |c| {
            collect(
                c,
                &format!(
                    "UPDATE credentials SET revoked_at_ms = ?3
                     WHERE workspace_id = ?1 AND user_id = ?2 AND revoked_at_ms IS NULL RETURNING {CRED_COLS}"
                ),
                params![ws, uid, at_ms],
                credential,
            )
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: &SessionRow) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            c.execute(
                &format!("INSERT INTO sessions ({SESSION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    s.id_hash,
                    s.workspace_id,
                    s.user_id,
                    s.admin_id,
                    s.method,
                    s.created_at_ms,
                    s.last_seen_at_ms,
                    s.expires_at_ms,
                    s.revoked_at_ms
                ],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<SessionRow>> {
        let id = id_hash.to_owned();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE id_hash = ?1"),
                [id],
                session,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn touch_session(&self, id_hash: &str, at_ms: i64) -> StoreResult<()> {
        let id = id_hash.to_owned();
        self.write(move |c| {
            c.execute(
                "UPDATE sessions SET last_seen_at_ms = ?2 WHERE id_hash = ?1 AND last_seen_at_ms < ?2",
                params![id, at_ms],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn revoke_session(&self, id_hash: &str, at_ms: i64) -> StoreResult<bool> {
        let id = id_hash.to_owned();
        self.write(move |c| {
            c.execute(
                "UPDATE sessions SET revoked_at_ms = ?2 WHERE id_hash = ?1 AND revoked_at_ms IS NULL",
                params![id, at_ms],
            )
            .map(|n| n > 0)
            .map_err(map_err)
        })
        .await
    }

    async fn revoke_user_sessions(&self, workspace_id: &str, user_id: &str, at_ms: i64) -> StoreResult<u64> {
        let (ws, uid) = (workspace_id.to_owned(), user_id.to_owned());
        self.write(move |c| {
            c.execute(
                "UPDATE sessions SET revoked_at_ms = ?3
                 WHERE workspace_id = ?1 AND user_id = ?2 AND revoked_at_ms IS NULL",
                params![ws, uid, at_ms],
            )
            .map(|n| n as u64)
            .map_err(map_err)
        })
        .await
    }

    async fn create_local_admin(&self, a: &LocalAdmin) -> StoreResult<()> {
        let a = a.clone();
        self.write(move |c| {
            c.execute(
                &format!("INSERT INTO local_admins ({ADMIN_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    a.id,
                    a.username,
                    a.password_hash,
                    a.created_at_ms,
                    a.disabled_at_ms,
                    a.last_sign_in_at_ms
                ],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn sign_in_failures(&self, username: &str, since_ms: i64) -> StoreResult<Option<SignInFailures>> {
        let name = username.to_owned();
        self.read(move |c| {
            c.query_row(
                "SELECT failures, last_failure_ms FROM sign_in_failures
                 WHERE username = ?1 AND last_failure_ms >= ?2",
                params![name, since_ms],
                sign_in_failures,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn record_sign_in_failure(
        &self,
        username: &str,
        at_ms: i64,
        since_ms: i64,
    ) -> StoreResult<SignInFailures> {
        let name = username.to_owned();
        self.write(move |c| {
            let counted = c
                .query_row(
                    "INSERT INTO sign_in_failures (username, failures, last_failure_ms) VALUES (?1, 1, ?2)
                     ON CONFLICT (username) DO UPDATE SET
                         failures = CASE WHEN last_failure_ms < ?3 THEN 1 ELSE failures + 1 END,
                         last_failure_ms = CASE WHEN last_failure_ms < ?3 THEN excluded.last_failure_ms
                             ELSE MAX(last_failure_ms, excluded.last_failure_ms) END
                     RETURNING failures, last_failure_ms",
                    params![name, at_ms, since_ms],
                    sign_in_failures,
                )
                .map_err(map_err)?;
            if let Err(e) = c.execute(
                "DELETE FROM sign_in_failures WHERE last_failure_ms < ?1",
                [since_ms],
            ) {
                tracing::warn!(error = %e, "forgetting old sign-in failures failed (retried at the next failure)");
            }
            Ok(counted)
        })
        .await
    }

    async fn clear_sign_in_failures(&self, username: &str) -> StoreResult<()> {
        let name = username.to_owned();
        self.write(move |c| {
            c.execute("DELETE FROM sign_in_failures WHERE username = ?1", [name])
                .map(|_| ())
                .map_err(map_err)
        })
        .await
    }

    async fn find_local_admin(&self, username: &str) -> StoreResult<Option<LocalAdmin>> {
        let name = username.to_owned();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {ADMIN_COLS} FROM local_admins WHERE username = ?1"),
                [name],
                admin,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn get_local_admin(&self, id: &str) -> StoreResult<Option<LocalAdmin>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.query_row(
                &format!("SELECT {ADMIN_COLS} FROM local_admins WHERE id = ?1"),
                [id],
                admin,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn list_local_admins(&self) -> StoreResult<Vec<LocalAdmin>> {
        self.read(move |c| {
            collect(
                c,
                &format!("SELECT {ADMIN_COLS} FROM local_admins ORDER BY username"),
                [],
                admin,
            )
        })
        .await
    }

    async fn set_local_admin_password(&self, id: &str, password_hash: &str, at_ms: i64) -> StoreResult<u64> {
        let (id, hash) = (id.to_owned(), password_hash.to_owned());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            tx.execute(
                "UPDATE local_admins SET password_hash = ?2, disabled_at_ms = NULL WHERE id = ?1",
                params![id, hash],
            )
            .map_err(map_err)?;
            let ended = tx
                .execute(
                    "UPDATE sessions SET revoked_at_ms = ?2
                     WHERE admin_id = ?1 AND revoked_at_ms IS NULL AND expires_at_ms > ?2",
                    params![id, at_ms],
                )
                .map_err(map_err)?;
            tx.execute(
                "DELETE FROM sign_in_failures
                 WHERE username = (SELECT username FROM local_admins WHERE id = ?1)",
                [&id],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            Ok(ended as u64)
        })
        .await
    }

    async fn record_admin_sign_in(&self, id: &str, at_ms: i64) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            c.execute(
                "UPDATE local_admins SET last_sign_in_at_ms = ?2 WHERE id = ?1",
                params![id, at_ms],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn put_oidc_pending(&self, p: &OidcPending) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |c| {
            // Expired sign-ins are swept here: the table stays as small as the sign-ins in flight.
            c.execute(
                "DELETE FROM oidc_pending WHERE expires_at_ms <= ?1",
                [p.created_at_ms],
            )
            .map_err(map_err)?;
            c.execute(
                "INSERT INTO oidc_pending (state_hash, workspace_id, return_to, created_at_ms, expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.state_hash,
                    p.workspace_id,
                    p.return_to,
                    p.created_at_ms,
                    p.expires_at_ms
                ],
            )
            .map(|_| ())
            .map_err(map_err)
        })
        .await
    }

    async fn take_oidc_pending(&self, state_hash: &str, now_ms: i64) -> StoreResult<Option<OidcPending>> {
        let hash = state_hash.to_owned();
        self.write(move |c| {
            c.query_row(
                "DELETE FROM oidc_pending WHERE state_hash = ?1
                 RETURNING state_hash, workspace_id, return_to, created_at_ms, expires_at_ms",
                [hash],
                |r| {
                    Ok(OidcPending {
                        state_hash: r.get(0)?,
                        workspace_id: r.get(1)?,
                        return_to: r.get(2)?,
                        created_at_ms: r.get(3)?,
                        expires_at_ms: r.get(4)?,
                    })
                },
            )
            .optional()
            .map(|p| p.filter(|p| now_ms < p.expires_at_ms))
            .map_err(map_err)
        })
        .await
    }
}
