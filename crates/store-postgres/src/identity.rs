//! Roles, role assignments, credential bookkeeping, sessions, local admins and pending OIDC
//! sign-ins (migration 0009).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use steward_model::{Credential, Permission, PermissionSet, User};
use steward_store::{
    IdentityStore, LocalAdmin, OidcPending, RoleAssignment, RoleRow, RoleSubject, SessionRow, SessionStore,
    SignInFailures, StoreError, StoreResult,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::map_err;
use crate::principals::{credential, user, CRED_COLS, USER_COLS};
use crate::PostgresStore;

const ROLE_COLS: &str = "id, workspace_id, name, description, permissions, created_at_ms, updated_at_ms";
const ASSIGNMENT_COLS: &str = "workspace_id, role_name, subject_kind, subject_id, created_at_ms";
const SESSION_COLS: &str =
    "id_hash, workspace_id, user_id, admin_id, method, created_at_ms, last_seen_at_ms, expires_at_ms, revoked_at_ms";
const ADMIN_COLS: &str = "id, username, password_hash, created_at_ms, disabled_at_ms, last_sign_in_at_ms";

fn sign_in_failures(r: &Row) -> SignInFailures {
    let failures: i32 = r.get(0);
    SignInFailures {
        failures: failures.max(0) as u32,
        last_failure_ms: r.get(1),
    }
}

fn role(r: &Row) -> RoleRow {
    let perms: &str = r.get(4);
    RoleRow {
        id: r.get(0),
        workspace_id: r.get(1),
        name: r.get(2),
        description: r.get(3),
        permissions: perms.split_whitespace().filter_map(Permission::parse).collect(),
        created_at_ms: r.get(5),
        updated_at_ms: r.get(6),
    }
}

fn assignment(r: &Row) -> RoleAssignment {
    let kind: &str = r.get(2);
    RoleAssignment {
        workspace_id: r.get(0),
        role_name: r.get(1),
        subject_kind: RoleSubject::parse(kind).unwrap_or(RoleSubject::User),
        subject_id: r.get(3),
        created_at_ms: r.get(4),
    }
}

fn session(r: &Row) -> SessionRow {
    SessionRow {
        id_hash: r.get(0),
        workspace_id: r.get(1),
        user_id: r.get(2),
        admin_id: r.get(3),
        method: r.get(4),
        created_at_ms: r.get(5),
        last_seen_at_ms: r.get(6),
        expires_at_ms: r.get(7),
        revoked_at_ms: r.get(8),
    }
}

fn admin(r: &Row) -> LocalAdmin {
    LocalAdmin {
        id: r.get(0),
        username: r.get(1),
        password_hash: r.get(2),
        created_at_ms: r.get(3),
        disabled_at_ms: r.get(4),
        last_sign_in_at_ms: r.get(5),
    }
}

fn pending(r: &Row) -> OidcPending {
    OidcPending {
        state_hash: r.get(0),
        workspace_id: r.get(1),
        return_to: r.get(2),
        created_at_ms: r.get(3),
        expires_at_ms: r.get(4),
    }
}

fn permissions_text(set: PermissionSet) -> String {
    set.to_names().join(" ")
}

impl PostgresStore {
    async fn rows<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        map: fn(&Row) -> T,
    ) -> StoreResult<Vec<T>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
        let rows = c.query(&stmt, params).await.map_err(map_err)?;
        Ok(rows.iter().map(map).collect())
    }

    async fn opt<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        map: fn(&Row) -> T,
    ) -> StoreResult<Option<T>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
        let row = c.query_opt(&stmt, params).await.map_err(map_err)?;
        Ok(row.as_ref().map(map))
    }

    async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
        c.execute(&stmt, params).await.map_err(map_err)
    }
}

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn get_user(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND id = $2");
        self.opt(&sql, &[&workspace_id, &user_id], user).await
    }

    async fn set_user_active(
        &self,
        workspace_id: &str,
        user_id: &str,
        active: bool,
        at_ms: i64,
    ) -> StoreResult<Option<User>> {
        let sql = format!(
            "UPDATE users SET active = $3, updated_at_ms = $4 WHERE workspace_id = $1 AND id = $2
             RETURNING {USER_COLS}"
        );
        self.opt(&sql, &[&workspace_id, &user_id, &(active as i64), &at_ms], user)
            .await
    }

    async fn list_roles(&self, workspace_id: &str) -> StoreResult<Vec<RoleRow>> {
        let sql = format!("SELECT {ROLE_COLS} FROM roles WHERE workspace_id = $1 ORDER BY name");
        self.rows(&sql, &[&workspace_id], role).await
    }

    async fn get_role(&self, workspace_id: &str, name: &str) -> StoreResult<Option<RoleRow>> {
        let sql = format!("SELECT {ROLE_COLS} FROM roles WHERE workspace_id = $1 AND name = $2");
        self.opt(&sql, &[&workspace_id, &name], role).await
    }

    async fn upsert_role(&self, r: &RoleRow) -> StoreResult<RoleRow> {
        let sql = format!(
            "INSERT INTO roles ({ROLE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (workspace_id, name) DO UPDATE SET
                description = excluded.description, permissions = excluded.permissions,
                updated_at_ms = excluded.updated_at_ms
             RETURNING {ROLE_COLS}"
        );
        let perms = permissions_text(r.permissions);
        self.opt(
            &sql,
            &[
                &r.id,
                &r.workspace_id,
                &r.name,
                &r.description,
                &perms,
                &r.created_at_ms,
                &r.updated_at_ms,
            ],
            role,
        )
        .await?
        .ok_or_else(|| StoreError::Other("upsert of a role returned no row".to_owned()))
    }

    async fn delete_role(&self, workspace_id: &str, name: &str) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let deleted = tx
            .execute(
                "DELETE FROM roles WHERE workspace_id = $1 AND name = $2",
                &[&workspace_id, &name],
            )
            .await
            .map_err(map_err)?;
        if deleted > 0 {
            tx.execute(
                "DELETE FROM role_assignments WHERE workspace_id = $1 AND role_name = $2",
                &[&workspace_id, &name],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(deleted > 0)
    }

    async fn role_assignments(&self, workspace_id: &str) -> StoreResult<Vec<RoleAssignment>> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLS} FROM role_assignments WHERE workspace_id = $1
             ORDER BY role_name, subject_kind, subject_id"
        );
        self.rows(&sql, &[&workspace_id], assignment).await
    }

    async fn assignments_for(
        &self,
        workspace_id: &str,
        user_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<RoleAssignment>> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLS} FROM role_assignments
             WHERE workspace_id = $1 AND ((subject_kind = 'user' AND subject_id = $2)
                OR (subject_kind = 'group' AND subject_id = ANY($3)))
             ORDER BY role_name, subject_kind, subject_id"
        );
        self.rows(&sql, &[&workspace_id, &user_id, &group_ids], assignment)
            .await
    }

    async fn set_role_assignment(&self, a: &RoleAssignment, present: bool) -> StoreResult<bool> {
        let kind = a.subject_kind.as_str();
        let n = if present {
            self.exec(
                &format!("INSERT INTO role_assignments ({ASSIGNMENT_COLS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"),
                &[&a.workspace_id, &a.role_name, &kind, &a.subject_id, &a.created_at_ms],
            )
            .await?
        } else {
            self.exec(
                "DELETE FROM role_assignments
                 WHERE workspace_id = $1 AND role_name = $2 AND subject_kind = $3 AND subject_id = $4",
                &[&a.workspace_id, &a.role_name, &kind, &a.subject_id],
            )
            .await?
        };
        Ok(n > 0)
    }

    async fn set_default_role(&self, workspace_id: &str, role_name: &str) -> StoreResult<()> {
        self.exec(
            "UPDATE workspaces SET default_role = $2 WHERE id = $1",
            &[&workspace_id, &role_name],
        )
        .await
        .map(|_| ())
    }

    async fn touch_credential(&self, credential_id: &str, at_ms: i64) -> StoreResult<()> {
        self.exec(
            "UPDATE credentials SET last_used_at_ms = $2
             WHERE id = $1 AND (last_used_at_ms IS NULL OR last_used_at_ms < $2)",
            &[&credential_id, &at_ms],
        )
        .await
        .map(|_| ())
    }

    async fn revoke_user_credentials(
        &self,
        workspace_id: &str,
        user_id: &str,
        at_ms: i64,
    ) -> StoreResult<Vec<Credential>> {
        let sql = format!(
            "UPDATE credentials SET revoked_at_ms = $3
             WHERE workspace_id = $1 AND user_id = $2 AND revoked_at_ms IS NULL RETURNING {CRED_COLS}"
        );
        self.rows(&sql, &[&workspace_id, &user_id, &at_ms], credential)
            .await
    }
}

#[async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(&self, s: &SessionRow) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO sessions ({SESSION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
            &[
                &s.id_hash,
                &s.workspace_id,
                &s.user_id,
                &s.admin_id,
                &s.method,
                &s.created_at_ms,
                &s.last_seen_at_ms,
                &s.expires_at_ms,
                &s.revoked_at_ms,
            ],
        )
        .await
        .map(|_| ())
    }

    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE id_hash = $1");
        self.opt(&sql, &[&id_hash], session).await
    }

    async fn touch_session(&self, id_hash: &str, at_ms: i64) -> StoreResult<()> {
        self.exec(
            "UPDATE sessions SET last_seen_at_ms = $2 WHERE id_hash = $1 AND last_seen_at_ms < $2",
            &[&id_hash, &at_ms],
        )
        .await
        .map(|_| ())
    }

    async fn revoke_session(&self, id_hash: &str, at_ms: i64) -> StoreResult<bool> {
        self.exec(
            "UPDATE sessions SET revoked_at_ms = $2 WHERE id_hash = $1 AND revoked_at_ms IS NULL",
            &[&id_hash, &at_ms],
        )
        .await
        .map(|n| n > 0)
    }

    async fn revoke_user_sessions(&self, workspace_id: &str, user_id: &str, at_ms: i64) -> StoreResult<u64> {
        self.exec(
            "UPDATE sessions SET revoked_at_ms = $3
             WHERE workspace_id = $1 AND user_id = $2 AND revoked_at_ms IS NULL",
            &[&workspace_id, &user_id, &at_ms],
        )
        .await
    }

    async fn create_local_admin(&self, a: &LocalAdmin) -> StoreResult<()> {
        self.exec(
            &format!("INSERT INTO local_admins ({ADMIN_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                &a.id,
                &a.username,
                &a.password_hash,
                &a.created_at_ms,
                &a.disabled_at_ms,
                &a.last_sign_in_at_ms,
            ],
        )
        .await
        .map(|_| ())
    }

    async fn sign_in_failures(&self, username: &str, since_ms: i64) -> StoreResult<Option<SignInFailures>> {
        self.opt(
            "SELECT failures, last_failure_ms FROM sign_in_failures
             WHERE username = $1 AND last_failure_ms >= $2",
            &[&username, &since_ms],
            sign_in_failures,
        )
        .await
    }

    async fn record_sign_in_failure(
        &self,
        username: &str,
        at_ms: i64,
        since_ms: i64,
    ) -> StoreResult<SignInFailures> {
        // One statement: the upsert's row lock serialises replicas counting the same name. The
        // clean-up is a statement of its own, so it never holds locks an upsert waits behind.
        let c = self.client().await?;
        let row = c
            .query_one(
                "INSERT INTO sign_in_failures AS f (username, failures, last_failure_ms) VALUES ($1, 1, $2)
                 ON CONFLICT (username) DO UPDATE SET
                     failures = CASE WHEN f.last_failure_ms < $3 THEN 1 ELSE f.failures + 1 END,
                     last_failure_ms = CASE WHEN f.last_failure_ms < $3 THEN excluded.last_failure_ms
                         ELSE GREATEST(f.last_failure_ms, excluded.last_failure_ms) END
                 RETURNING failures, last_failure_ms",
                &[&username, &at_ms, &since_ms],
            )
            .await
            .map_err(map_err)?;
        if let Err(e) = c
            .execute(
                "DELETE FROM sign_in_failures WHERE last_failure_ms < $1",
                &[&since_ms],
            )
            .await
        {
            tracing::warn!(error = %e, "forgetting old sign-in failures failed (retried at the next failure)");
        }
        Ok(sign_in_failures(&row))
    }

    async fn clear_sign_in_failures(&self, username: &str) -> StoreResult<()> {
        self.exec("DELETE FROM sign_in_failures WHERE username = $1", &[&username])
            .await
            .map(|_| ())
    }

    async fn find_local_admin(&self, username: &str) -> StoreResult<Option<LocalAdmin>> {
        let sql = format!("SELECT {ADMIN_COLS} FROM local_admins WHERE username = $1");
        self.opt(&sql, &[&username], admin).await
    }

    async fn get_local_admin(&self, id: &str) -> StoreResult<Option<LocalAdmin>> {
        let sql = format!("SELECT {ADMIN_COLS} FROM local_admins WHERE id = $1");
        self.opt(&sql, &[&id], admin).await
    }

    async fn list_local_admins(&self) -> StoreResult<Vec<LocalAdmin>> {
        let sql = format!("SELECT {ADMIN_COLS} FROM local_admins ORDER BY username");
        self.rows(&sql, &[], admin).await
    }

    async fn set_local_admin_password(&self, id: &str, password_hash: &str, at_ms: i64) -> StoreResult<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        tx.execute(
            "UPDATE local_admins SET password_hash = $2, disabled_at_ms = NULL WHERE id = $1",
            &[&id, &password_hash],
        )
        .await
        .map_err(map_err)?;
        let ended = tx
            .execute(
                "UPDATE sessions SET revoked_at_ms = $2
                 WHERE admin_id = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2",
                &[&id, &at_ms],
            )
            .await
            .map_err(map_err)?;
        tx.execute(
            "DELETE FROM sign_in_failures
             WHERE username = (SELECT username FROM local_admins WHERE id = $1)",
            &[&id],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(ended)
    }

    async fn record_admin_sign_in(&self, id: &str, at_ms: i64) -> StoreResult<()> {
        self.exec(
            "UPDATE local_admins SET last_sign_in_at_ms = $2 WHERE id = $1",
            &[&id, &at_ms],
        )
        .await
        .map(|_| ())
    }

    async fn put_oidc_pending(&self, p: &OidcPending) -> StoreResult<()> {
        // Expired sign-ins are swept here: the table stays as small as the sign-ins in flight.
        self.exec(
            "DELETE FROM oidc_pending WHERE expires_at_ms <= $1",
            &[&p.created_at_ms],
        )
        .await?;
        self.exec(
            "INSERT INTO oidc_pending (state_hash, workspace_id, return_to, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &p.state_hash,
                &p.workspace_id,
                &p.return_to,
                &p.created_at_ms,
                &p.expires_at_ms,
            ],
        )
        .await
        .map(|_| ())
    }

    async fn take_oidc_pending(&self, state_hash: &str, now_ms: i64) -> StoreResult<Option<OidcPending>> {
        let taken = self
            .opt(
                "DELETE FROM oidc_pending WHERE state_hash = $1
                 RETURNING state_hash, workspace_id, return_to, created_at_ms, expires_at_ms",
                &[&state_hash],
                pending,
            )
            .await?;
        Ok(taken.filter(|p| now_ms < p.expires_at_ms))
    }
}
