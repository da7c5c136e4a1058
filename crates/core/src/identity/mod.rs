//! Identity and access: who may do what (`access`), roles and effective permissions (`roles`),
//! people, keys and tokens as seen by admins.
//!
//! The model is in docs/identity.md. Every HTTP route authorizes through [`access::authorize`]
//! (driven by the route table in `api::access`); admin commands call it as
//! [`access::Caller::Operator`].

pub mod access;
pub mod keys;
pub mod oidc;
pub mod roles;
pub mod scim;
pub mod sessions;
pub mod throttle;

use std::sync::Arc;

use serde_json::Value;
use steward_model::{Permission, Workspace};
use steward_store::{Store, StoreError};

use crate::compliance::audit;
pub use access::{authorize, Caller, Denied, Grant};
pub use roles::{EffectivePermissions, HeldRole, RoleSource, RoleView, SubjectRef};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no role named `{0}` in this workspace (see `steward roles list`)")]
    UnknownRole(String),
    #[error("no user with email `{0}` in this workspace")]
    UnknownUser(String),
    #[error("no group named `{0}` in this workspace")]
    UnknownGroup(String),
    #[error("no workspace `{0}`")]
    UnknownWorkspace(String),
    #[error("`{0}` is a built-in role: it cannot be changed or deleted (create a custom role instead)")]
    BuiltinRole(String),
    #[error("invalid role name `{0}`: use 1-64 lowercase letters, digits, `_`, `-` or `.`, starting with a letter")]
    InvalidRoleName(String),
    #[error("unknown permission `{0}` (known: {known})", known = Permission::ALL.map(|p| p.as_str()).join(", "))]
    UnknownPermission(String),
    #[error("role `{0}` is the workspace default role: choose another default first")]
    RoleIsDefault(String),
    #[error("this needs the `{0}` permission")]
    Forbidden(Permission),
    #[error("you cannot grant `{0}`, which you do not hold yourself")]
    Escalation(Permission),
    #[error("no live credential with id `{0}` in this workspace")]
    UnknownCredential(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) use crate::now_ms;

/// Roles, assignments and effective permissions over the store.
#[derive(Clone)]
pub struct IdentityService {
    store: Arc<dyn Store>,
}

impl IdentityService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        IdentityService { store }
    }

    async fn workspace(&self, workspace_id: &str) -> Result<Workspace, IdentityError> {
        self.store
            .get_workspace(workspace_id)
            .await?
            .ok_or_else(|| IdentityError::UnknownWorkspace(workspace_id.to_owned()))
    }

    /// Queues an `AUDIT_LOG` record of a change made under `grant`.
    async fn audit(
        &self,
        grant: &Grant,
        action: &str,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Result<(), IdentityError> {
        let record = audit::record(grant.workspace_id(), &grant.actor(), action, old, new, now_ms());
        Ok(self.store.append_audit_record(record).await?)
    }
}

/// What deactivating a user revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Deactivation {
    pub credentials_revoked: usize,
    pub sessions_revoked: u64,
}

impl IdentityService {
    /// Activates or deactivates a user (`users.manage`). Deactivation revokes the user's
    /// ingest tokens and browser sessions at once; reactivation restores neither.
    pub async fn set_user_active(
        &self,
        grant: &Grant,
        email: &str,
        active: bool,
    ) -> Result<(steward_model::User, Deactivation), IdentityError> {
        grant.require(Permission::UsersManage)?;
        let user = self
            .store
            .find_user_by_email(grant.workspace_id(), email)
            .await?
            .filter(|u| u.deleted_at_ms.is_none())
            .ok_or_else(|| IdentityError::UnknownUser(email.to_owned()))?;
        self.apply_user_active(&grant.actor(), &user, active).await
    }

    /// The one place a user's `active` changes (admin command, API, SCIM): the change, the
    /// revocations it implies, and their audit records.
    pub(crate) async fn apply_user_active(
        &self,
        actor: &audit::Actor,
        user: &steward_model::User,
        active: bool,
    ) -> Result<(steward_model::User, Deactivation), IdentityError> {
        let ws = &user.workspace_id;
        let now = now_ms();
        let after = self
            .store
            .set_user_active(ws, &user.id, active, now)
            .await?
            .ok_or_else(|| IdentityError::UnknownUser(user.id.clone()))?;
        let mut done = Deactivation::default();
        if !active {
            let revoked = self.store.revoke_user_credentials(ws, &user.id, now).await?;
            done.credentials_revoked = revoked.len();
            done.sessions_revoked = self.store.revoke_user_sessions(ws, &user.id, now).await?;
            for c in revoked {
                let v = |at: Option<i64>| serde_json::json!({"id": c.id, "name": c.name, "kind": c.kind, "prefix": c.prefix, "revoked_at_ms": at});
                let record = audit::record(
                    ws,
                    actor,
                    "ingest_token.revoked",
                    Some(v(None)),
                    Some(v(Some(now))),
                    now,
                );
                self.store.append_audit_record(record).await?;
            }
        }
        if user.active != active {
            let v = |u: &steward_model::User| serde_json::json!({"id": u.id, "email": u.email, "active": u.active});
            let action = if active {
                "user.activated"
            } else {
                "user.deactivated"
            };
            let record = audit::record(ws, actor, action, Some(v(user)), Some(v(&after)), now);
            self.store.append_audit_record(record).await?;
        }
        Ok((after, done))
    }
}
