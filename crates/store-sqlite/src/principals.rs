//! Workspaces, users and credentials.

use rusqlite::{params, Connection, OptionalExtension, Row};
use steward_model::{ApiScope, Credential, CredentialKind, User, UserKind, Workspace};
use steward_store::{ids, NewCredential, NewUser, StoreError, StoreResult};

use crate::conn::map_err;
use crate::migrate::now_ms;

const WORKSPACE_COLS: &str = "id, name, is_default, analytics_emails, created_at_ms, default_role";
pub(crate) const USER_COLS: &str =
    "id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms, user_name, external_id, active, deleted_at_ms";
pub(crate) const CRED_COLS: &str = "id, workspace_id, name, kind, user_id, scopes, prefix, created_at_ms, revoked_at_ms, expires_at_ms, last_used_at_ms, created_by";

fn workspace(r: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: r.get(0)?,
        name: r.get(1)?,
        is_default: r.get::<_, i64>(2)? != 0,
        analytics_emails: r.get::<_, i64>(3)? != 0,
        created_at_ms: r.get(4)?,
        default_role: r.get(5)?,
    })
}

pub(crate) fn user(r: &Row<'_>) -> rusqlite::Result<User> {
    let kind: String = r.get(5)?;
    Ok(User {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        account_id: r.get(4)?,
        kind: UserKind::parse(&kind).unwrap_or(UserKind::Person),
        principal_key: r.get(6)?,
        created_at_ms: r.get(7)?,
        user_name: r.get(8)?,
        external_id: r.get(9)?,
        active: r.get::<_, i64>(10)? != 0,
        deleted_at_ms: r.get(11)?,
    })
}

pub(crate) fn credential(r: &Row<'_>) -> rusqlite::Result<Credential> {
    let kind: String = r.get(3)?;
    let user_id: Option<String> = r.get(4)?;
    let scopes: String = r.get(5)?;
    let kind = match kind.as_str() {
        "user_ingest" => CredentialKind::UserIngest {
            user_id: user_id.unwrap_or_default(),
        },
        "workspace_ingest" => CredentialKind::WorkspaceIngest,
        _ => CredentialKind::ApiKey {
            scopes: scopes.split_whitespace().filter_map(ApiScope::parse).collect(),
        },
    };
    Ok(Credential {
        id: r.get(0)?,
        workspace_id: r.get(1)?,
        name: r.get(2)?,
        kind,
        prefix: r.get(6)?,
        created_at_ms: r.get(7)?,
        revoked_at_ms: r.get(8)?,
        expires_at_ms: r.get(9)?,
        last_used_at_ms: r.get(10)?,
        created_by: r.get(11)?,
    })
}

pub fn ensure_default_workspace(c: &mut Connection, name: &str) -> StoreResult<Workspace> {
    let existing = c
        .query_row(
            &format!("SELECT {WORKSPACE_COLS} FROM workspaces WHERE is_default = 1"),
            [],
            workspace,
        )
        .optional()
        .map_err(map_err)?;
    if let Some(ws) = existing {
        return Ok(ws);
    }
    // Another process may create it between our read and write: the partial unique index makes
    // the loser's insert a no-op, and both read the winner's row.
    c.execute(
        "INSERT INTO workspaces (id, name, is_default, analytics_emails, created_at_ms) VALUES (?1, ?2, 1, 1, ?3)
         ON CONFLICT DO NOTHING",
        params![ids::workspace_id(), name, now_ms()],
    )
    .map_err(map_err)?;
    c.query_row(
        &format!("SELECT {WORKSPACE_COLS} FROM workspaces WHERE is_default = 1"),
        [],
        workspace,
    )
    .map_err(map_err)
}

pub fn create_workspace(c: &mut Connection, name: &str, is_default: bool) -> StoreResult<Workspace> {
    let id = ids::workspace_id();
    c.execute(
        "INSERT INTO workspaces (id, name, is_default, analytics_emails, created_at_ms) VALUES (?1, ?2, ?3, 1, ?4)",
        params![id, name, is_default as i64, now_ms()],
    )
    .map_err(map_err)?;
    get_workspace(c, &id)?.ok_or_else(|| StoreError::NotFound(format!("workspace {id}")))
}

pub fn list_workspaces(c: &Connection) -> StoreResult<Vec<Workspace>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {WORKSPACE_COLS} FROM workspaces ORDER BY created_at_ms, id"
        ))
        .map_err(map_err)?;
    let rows = stmt.query_map([], workspace).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

pub fn get_workspace(c: &Connection, id: &str) -> StoreResult<Option<Workspace>> {
    c.query_row(
        &format!("SELECT {WORKSPACE_COLS} FROM workspaces WHERE id = ?1"),
        [id],
        workspace,
    )
    .optional()
    .map_err(map_err)
}

pub fn upsert_user(c: &Connection, new: &NewUser) -> StoreResult<User> {
    c.execute(
        "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (workspace_id, principal_key) DO UPDATE SET
            name = COALESCE(users.name, excluded.name),
            email = COALESCE(users.email, excluded.email),
            account_id = COALESCE(users.account_id, excluded.account_id)",
        params![
            ids::user_id(),
            new.workspace_id,
            new.email,
            new.name,
            new.account_id,
            new.kind.as_str(),
            new.principal_key,
            now_ms()
        ],
    )
    .map_err(map_err)?;
    c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 AND principal_key = ?2"),
        params![new.workspace_id, new.principal_key],
        user,
    )
    .map_err(map_err)
}

pub fn find_user_by_email(c: &Connection, ws: &str, email: &str) -> StoreResult<Option<User>> {
    c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 AND lower(email) = lower(?2) ORDER BY created_at_ms LIMIT 1"),
        params![ws, email],
        user,
    )
    .optional()
    .map_err(map_err)
}

pub fn list_users(c: &Connection, ws: &str) -> StoreResult<Vec<User>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 ORDER BY created_at_ms, id"
        ))
        .map_err(map_err)?;
    let rows = stmt.query_map([ws], user).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

pub fn create_credential(c: &mut Connection, new: &NewCredential) -> StoreResult<Credential> {
    let (kind, user_id, scopes) = match &new.kind {
        CredentialKind::UserIngest { user_id } => ("user_ingest", Some(user_id.clone()), String::new()),
        CredentialKind::WorkspaceIngest => ("workspace_ingest", None, String::new()),
        CredentialKind::ApiKey { scopes } => (
            "api_key",
            None,
            scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        ),
    };
    let id = ids::credential_id();
    c.execute(
        "INSERT INTO credentials (id, workspace_id, name, kind, user_id, scopes, prefix, secret_hash, created_at_ms,
                                  expires_at_ms, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            id,
            new.workspace_id,
            new.name,
            kind,
            user_id,
            scopes,
            new.prefix,
            new.secret_hash,
            now_ms(),
            new.expires_at_ms,
            new.created_by
        ],
    )
    .map_err(map_err)?;
    c.query_row(
        &format!("SELECT {CRED_COLS} FROM credentials WHERE id = ?1"),
        [&id],
        credential,
    )
    .map_err(map_err)
}

pub fn find_credential_by_hash(c: &Connection, hash: &str) -> StoreResult<Option<Credential>> {
    c.query_row(
        &format!("SELECT {CRED_COLS} FROM credentials WHERE secret_hash = ?1 AND revoked_at_ms IS NULL"),
        [hash],
        credential,
    )
    .optional()
    .map_err(map_err)
}

pub fn revoke_credential(c: &Connection, ws: &str, id: &str, at_ms: i64) -> StoreResult<Option<Credential>> {
    c.query_row(
        &format!(
            "UPDATE credentials SET revoked_at_ms = ?3
             WHERE workspace_id = ?1 AND id = ?2 AND revoked_at_ms IS NULL RETURNING {CRED_COLS}"
        ),
        rusqlite::params![ws, id, at_ms],
        credential,
    )
    .optional()
    .map_err(map_err)
}

pub fn list_credentials(c: &Connection, ws: &str) -> StoreResult<Vec<Credential>> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {CRED_COLS} FROM credentials WHERE workspace_id = ?1 ORDER BY created_at_ms, id"
        ))
        .map_err(map_err)?;
    let rows = stmt.query_map([ws], credential).map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}
