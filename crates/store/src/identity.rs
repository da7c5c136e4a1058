//! Identity and access as stored: custom roles, role assignments, the workspace default role,
//! credential bookkeeping, browser sessions, local break-glass admins and pending OpenID
//! Connect sign-ins.
//!
//! The semantics (effective permissions, who may grant what, sign-in flows) live in
//! `core::identity`. Nothing secret is stored in clear: sessions and sign-in states are keyed by
//! the SHA-256 of what the browser holds, passwords are argon2 PHC strings.

use async_trait::async_trait;
use steward_model::{Credential, PermissionSet, User};

use crate::StoreResult;

/// A custom role of one workspace (built-in roles are code, see `steward_model::BuiltinRole`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Who a role assignment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleSubject {
    User,
    Group,
}

impl RoleSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleSubject::User => "user",
            RoleSubject::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(RoleSubject::User),
            "group" => Some(RoleSubject::Group),
            _ => None,
        }
    }
}

/// One role held by a user, or by every member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub workspace_id: String,
    pub role_name: String,
    pub subject_kind: RoleSubject,
    /// A user id or a group id.
    pub subject_id: String,
    pub created_at_ms: i64,
}

/// A browser session. `id_hash` is the SHA-256 (hex) of the cookie's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: String,
    pub workspace_id: String,
    /// The person signed in (SSO or demo), or `None` for a local admin.
    pub user_id: Option<String>,
    pub admin_id: Option<String>,
    /// `oidc`, `password` or `demo`.
    pub method: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub expires_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// A local break-glass administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAdmin {
    pub id: String,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
    pub last_sign_in_at_ms: Option<i64>,
}

/// Consecutive failed password sign-ins under one claimed username (the throttle's memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFailures {
    pub failures: u32,
    pub last_failure_ms: i64,
}

/// An OpenID Connect sign-in between the redirect to the provider and its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcPending {
    /// SHA-256 (hex) of the random state the browser holds.
    pub state_hash: String,
    pub workspace_id: String,
    /// Where to send the browser after signing in (a path on this server).
    pub return_to: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// Roles, assignments and credential bookkeeping. A supertrait of [`crate::Store`].
#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn get_user(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<User>>;

    /// Sets `active` (SCIM `active`, `steward users deactivate`); returns the user after, or
    /// `None` when there is no such user.
    async fn set_user_active(
        &self,
        workspace_id: &str,
        user_id: &str,
        active: bool,
        at_ms: i64,
    ) -> StoreResult<Option<User>>;

    /// Custom roles of a workspace, by name.
    async fn list_roles(&self, workspace_id: &str) -> StoreResult<Vec<RoleRow>>;
    async fn get_role(&self, workspace_id: &str, name: &str) -> StoreResult<Option<RoleRow>>;
    /// Creates the role, or updates description and permissions of the one with its name.
    async fn upsert_role(&self, role: &RoleRow) -> StoreResult<RoleRow>;
    /// Deletes a custom role and every assignment of it. False when there was none.
    async fn delete_role(&self, workspace_id: &str, name: &str) -> StoreResult<bool>;

    async fn role_assignments(&self, workspace_id: &str) -> StoreResult<Vec<RoleAssignment>>;
    /// The assignments naming `user_id` directly or one of `group_ids`.
    async fn assignments_for(
        &self,
        workspace_id: &str,
        user_id: &str,
        group_ids: &[String],
    ) -> StoreResult<Vec<RoleAssignment>>;
    /// Adds (`present`) or removes an assignment; true when that changed anything.
    async fn set_role_assignment(&self, assignment: &RoleAssignment, present: bool) -> StoreResult<bool>;
    /// Sets the role of users no assignment names.
    async fn set_default_role(&self, workspace_id: &str, role_name: &str) -> StoreResult<()>;

    /// Records a successful authentication (callers throttle: this is a write).
    async fn touch_credential(&self, credential_id: &str, at_ms: i64) -> StoreResult<()>;
    /// Revokes every live credential bound to the user (deactivation); returns them.
    async fn revoke_user_credentials(
        &self,
        workspace_id: &str,
        user_id: &str,
        at_ms: i64,
    ) -> StoreResult<Vec<Credential>>;
}

/// Browser sessions, local admins and pending OIDC sign-ins. A supertrait of [`crate::Store`].
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &SessionRow) -> StoreResult<()>;
    /// The session with this hash, live or not (callers check revocation and expiry).
    async fn find_session(&self, id_hash: &str) -> StoreResult<Option<SessionRow>>;
    async fn touch_session(&self, id_hash: &str, at_ms: i64) -> StoreResult<()>;
    /// True when a live session was revoked.
    async fn revoke_session(&self, id_hash: &str, at_ms: i64) -> StoreResult<bool>;
    /// Revokes every live session of the user; returns how many.
    async fn revoke_user_sessions(&self, workspace_id: &str, user_id: &str, at_ms: i64) -> StoreResult<u64>;

    /// Fails with `StoreError::Conflict` when the username is taken.
    async fn create_local_admin(&self, admin: &LocalAdmin) -> StoreResult<()>;
    async fn find_local_admin(&self, username: &str) -> StoreResult<Option<LocalAdmin>>;
    async fn get_local_admin(&self, id: &str) -> StoreResult<Option<LocalAdmin>>;
    async fn list_local_admins(&self) -> StoreResult<Vec<LocalAdmin>>;
    /// Sets a new password hash (and re-enables the admin) and, in the same transaction, ends
    /// every session of the admin still open at `at_ms` (whoever signed in with the old
    /// password is out) and forgets the failed sign-ins under its username (a lock is lifted).
    /// Returns how many sessions ended.
    async fn set_local_admin_password(&self, id: &str, password_hash: &str, at_ms: i64) -> StoreResult<u64>;
    async fn record_admin_sign_in(&self, id: &str, at_ms: i64) -> StoreResult<()>;

    /// The failures recorded for `username` whose last one is at or after `since_ms`.
    async fn sign_in_failures(&self, username: &str, since_ms: i64) -> StoreResult<Option<SignInFailures>>;
    /// Counts one more failure for `username` at `at_ms`, atomically (replicas may race): a
    /// count whose last failure is before `since_ms` starts again at 1. Rows of every name
    /// whose last failure is before `since_ms` are deleted on the way, best-effort (a failed
    /// clean-up is logged, never an error: the failure is already counted). Returns the count.
    async fn record_sign_in_failure(
        &self,
        username: &str,
        at_ms: i64,
        since_ms: i64,
    ) -> StoreResult<SignInFailures>;
    /// Forgets the failures of `username` (a successful sign-in, a new password).
    async fn clear_sign_in_failures(&self, username: &str) -> StoreResult<()>;

    async fn put_oidc_pending(&self, pending: &OidcPending) -> StoreResult<()>;
    /// Removes and returns the pending sign-in if it exists and has not expired at `now_ms`
    /// (a state is good for one callback only).
    async fn take_oidc_pending(&self, state_hash: &str, now_ms: i64) -> StoreResult<Option<OidcPending>>;
}
