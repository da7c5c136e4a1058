//! Workspaces, users and credentials.

use deadpool_postgres::GenericClient;
use steward_model::{ApiScope, Credential, CredentialKind, User, UserKind, Workspace};
use steward_store::{ids, NewCredential, NewUser, StoreError, StoreResult};
use tokio_postgres::Row;

use crate::conn::map_err;
use crate::migrate::now_ms;

const WORKSPACE_COLS: &str = "id, name, is_default, analytics_emails, created_at_ms, default_role";
pub(crate) const USER_COLS: &str =
    "id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms, user_name, external_id, active, deleted_at_ms";
pub(crate) const CRED_COLS: &str = "id, workspace_id, name, kind, user_id, scopes, prefix, created_at_ms, revoked_at_ms, expires_at_ms, last_used_at_ms, created_by";

fn workspace(r: &Row) -> Workspace {
    Workspace {
        id: r.get(0),
        name: r.get(1),
        is_default: r.get::<_, i64>(2) != 0,
        analytics_emails: r.get::<_, i64>(3) != 0,
        created_at_ms: r.get(4),
        default_role: r.get(5),
    }
}

pub(crate) fn user(r: &Row) -> User {
    let kind: &str = r.get(5);
    User {
        id: r.get(0),
        workspace_id: r.get(1),
        email: r.get(2),
        name: r.get(3),
        account_id: r.get(4),
        kind: UserKind::parse(kind).unwrap_or(UserKind::Person),
        principal_key: r.get(6),
        created_at_ms: r.get(7),
        user_name: r.get(8),
        external_id: r.get(9),
        active: r.get::<_, i64>(10) != 0,
        deleted_at_ms: r.get(11),
    }
}

pub(crate) fn credential(r: &Row) -> Credential {
    let kind: &str = r.get(3);
    let user_id: Option<String> = r.get(4);
    let scopes: &str = r.get(5);
    let kind = match kind {
        "user_ingest" => CredentialKind::UserIngest {
            user_id: user_id.unwrap_or_default(),
        },
        "workspace_ingest" => CredentialKind::WorkspaceIngest,
        _ => CredentialKind::ApiKey {
            scopes: scopes.split_whitespace().filter_map(ApiScope::parse).collect(),
        },
    };
    Credential {
        id: r.get(0),
        workspace_id: r.get(1),
        name: r.get(2),
        kind,
        prefix: r.get(6),
        created_at_ms: r.get(7),
        revoked_at_ms: r.get(8),
        expires_at_ms: r.get(9),
        last_used_at_ms: r.get(10),
        created_by: r.get(11),
    }
}

pub async fn ensure_default_workspace(c: &impl GenericClient, name: &str) -> StoreResult<Workspace> {
    let select = format!("SELECT {WORKSPACE_COLS} FROM workspaces WHERE is_default = 1");
    if let Some(row) = c.query_opt(&select, &[]).await.map_err(map_err)? {
        return Ok(workspace(&row));
    }
    // Another process may insert between our read and write: the partial unique index turns
    // the loser's insert into a no-op (it waits for the winner's commit first), and the next
    // statement's snapshot sees the winner's row.
    c.execute(
        "INSERT INTO workspaces (id, name, is_default, analytics_emails, created_at_ms) VALUES ($1, $2, 1, 1, $3)
         ON CONFLICT DO NOTHING",
        &[&ids::workspace_id(), &name, &now_ms()],
    )
    .await
    .map_err(map_err)?;
    c.query_one(&select, &[])
        .await
        .map(|r| workspace(&r))
        .map_err(map_err)
}

pub async fn create_workspace(c: &impl GenericClient, name: &str) -> StoreResult<Workspace> {
    let sql = format!(
        "INSERT INTO workspaces (id, name, is_default, analytics_emails, created_at_ms) VALUES ($1, $2, 0, 1, $3)
         RETURNING {WORKSPACE_COLS}"
    );
    let row = c
        .query_one(&sql, &[&ids::workspace_id(), &name, &now_ms()])
        .await
        .map_err(map_err)?;
    Ok(workspace(&row))
}

pub async fn list_workspaces(c: &impl GenericClient) -> StoreResult<Vec<Workspace>> {
    let sql = format!("SELECT {WORKSPACE_COLS} FROM workspaces ORDER BY created_at_ms, id");
    let rows = c
        .query(&c.prepare_cached(&sql).await.map_err(map_err)?, &[])
        .await
        .map_err(map_err)?;
    Ok(rows.iter().map(workspace).collect())
}

pub async fn get_workspace(c: &impl GenericClient, id: &str) -> StoreResult<Option<Workspace>> {
    let sql = format!("SELECT {WORKSPACE_COLS} FROM workspaces WHERE id = $1");
    let row = c
        .query_opt(&c.prepare_cached(&sql).await.map_err(map_err)?, &[&id])
        .await
        .map_err(map_err)?;
    Ok(row.as_ref().map(workspace))
}

pub async fn upsert_user(c: &impl GenericClient, new: &NewUser) -> StoreResult<User> {
    // Read first: the user nearly always exists and has nothing to fill in, and a plain read
    // writes no WAL, whereas even a no-op ON CONFLICT DO UPDATE writes a new row version.
    let select = format!("SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND principal_key = $2");
    let stmt = c.prepare_cached(&select).await.map_err(map_err)?;
    if let Some(row) = c
        .query_opt(&stmt, &[&new.workspace_id, &new.principal_key])
        .await
        .map_err(map_err)?
    {
        let existing = user(&row);
        let fills = |old: &Option<String>, new: &Option<String>| old.is_none() && new.is_some();
        if !fills(&existing.name, &new.name)
            && !fills(&existing.email, &new.email)
            && !fills(&existing.account_id, &new.account_id)
        {
            return Ok(existing);
        }
    }
    // Same rule as SQLite: known fields are never overwritten, missing ones are filled in.
    // Concurrent callers with one key serialise on the unique index and get the same row.
    let sql = format!(
        "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (workspace_id, principal_key) DO UPDATE SET
            name = COALESCE(users.name, EXCLUDED.name),
            email = COALESCE(users.email, EXCLUDED.email),
            account_id = COALESCE(users.account_id, EXCLUDED.account_id)
         RETURNING {USER_COLS}"
    );
    let row = c
        .query_one(
            &sql,
            &[
                &ids::user_id(),
                &new.workspace_id,
                &new.email,
                &new.name,
                &new.account_id,
                &new.kind.as_str(),
                &new.principal_key,
                &now_ms(),
            ],
        )
        .await
        .map_err(map_err)?;
    Ok(user(&row))
}

pub async fn find_user_by_email(c: &impl GenericClient, ws: &str, email: &str) -> StoreResult<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND lower(email) = lower($2)
         ORDER BY created_at_ms LIMIT 1"
    );
    let row = c
        .query_opt(&c.prepare_cached(&sql).await.map_err(map_err)?, &[&ws, &email])
        .await
        .map_err(map_err)?;
    Ok(row.as_ref().map(user))
}

pub async fn list_users(c: &impl GenericClient, ws: &str) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE workspace_id = $1 ORDER BY created_at_ms, id");
    let rows = c
        .query(&c.prepare_cached(&sql).await.map_err(map_err)?, &[&ws])
        .await
        .map_err(map_err)?;
    Ok(rows.iter().map(user).collect())
}

pub async fn create_credential(c: &impl GenericClient, new: &NewCredential) -> StoreResult<Credential> {
    let (kind, user_id, scopes) = match &new.kind {
        CredentialKind::UserIngest { user_id } => ("user_ingest", Some(user_id.clone()), String::new()),
        CredentialKind::WorkspaceIngest => ("workspace_ingest", None, String::new()),
        CredentialKind::ApiKey { scopes } => (
            "api_key",
            None,
            scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        ),
    };
    let sql = format!(
        "INSERT INTO credentials (id, workspace_id, name, kind, user_id, scopes, prefix, secret_hash, created_at_ms,
                                  expires_at_ms, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING {CRED_COLS}"
    );
    let row = c
        .query_one(
            &sql,
            &[
                &ids::credential_id(),
                &new.workspace_id,
                &new.name,
                &kind,
                &user_id,
                &scopes,
                &new.prefix,
                &new.secret_hash,
                &now_ms(),
                &new.expires_at_ms,
                &new.created_by,
            ],
        )
        .await
        .map_err(map_err)?;
    Ok(credential(&row))
}

pub async fn find_credential_by_hash(c: &impl GenericClient, hash: &str) -> StoreResult<Option<Credential>> {
    let sql = format!("SELECT {CRED_COLS} FROM credentials WHERE secret_hash = $1 AND revoked_at_ms IS NULL");
    let row = c
        .query_opt(&c.prepare_cached(&sql).await.map_err(map_err)?, &[&hash])
        .await
        .map_err(map_err)?;
    Ok(row.as_ref().map(credential))
}

pub async fn revoke_credential(
    c: &impl GenericClient,
    ws: &str,
    id: &str,
    at_ms: i64,
) -> StoreResult<Option<Credential>> {
    let sql = format!(
        "UPDATE credentials SET revoked_at_ms = $3
         WHERE workspace_id = $1 AND id = $2 AND revoked_at_ms IS NULL RETURNING {CRED_COLS}"
    );
    let row = c
        .query_opt(
            &c.prepare_cached(&sql).await.map_err(map_err)?,
            &[&ws, &id, &at_ms],
        )
        .await
        .map_err(map_err)?;
    Ok(row.as_ref().map(credential))
}

pub async fn list_credentials(c: &impl GenericClient, ws: &str) -> StoreResult<Vec<Credential>> {
    let sql =
        format!("SELECT {CRED_COLS} FROM credentials WHERE workspace_id = $1 ORDER BY created_at_ms, id");
    let rows = c
        .query(&c.prepare_cached(&sql).await.map_err(map_err)?, &[&ws])
        .await
        .map_err(map_err)?;
    Ok(rows.iter().map(credential).collect())
}

pub async fn count_events(c: &impl GenericClient, ws: &str) -> StoreResult<u64> {
    let stmt = c
        .prepare_cached("SELECT COUNT(*) FROM events WHERE workspace_id = $1")
        .await
        .map_err(map_err)?;
    let n: i64 = c.query_one(&stmt, &[&ws]).await.map_err(map_err)?.get(0);
    u64::try_from(n).map_err(StoreError::other)
}
