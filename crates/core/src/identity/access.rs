//! The one authorization decision: may this caller do that in this workspace?
//!
//! A [`Grant`] can only be made by [`authorize`]; operations that need a permission take one, so
//! they are reachable only through a check that passed. HTTP routes get their caller from
//! `api::access` (bearer key or session cookie), the admin CLI is [`Caller::Operator`].

use steward_model::{Credential, Permission, PermissionSet, User};
use steward_store::{LocalAdmin, SessionRow};

use crate::compliance::audit::Actor;

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An API key: its scopes' permissions, in its own workspace only.
    Key(Credential),
    /// A person signed in through the browser; `permissions` are their roles' union in the
    /// session's workspace (resolved when the request came in).
    Person {
        user: User,
        session: SessionRow,
        permissions: PermissionSet,
    },
    /// A local break-glass administrator: every permission in every workspace.
    Admin { admin: LocalAdmin, session: SessionRow },
    /// The `steward` command line run where the database is: whoever can open the database
    /// file (or holds the PostgreSQL credentials) already holds everything.
    Operator(Actor),
}

/// Why a caller may not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("lacks the `{0}` permission")]
    Missing(Permission),
    #[error("belongs to another workspace")]
    OtherWorkspace,
}

/// Proof that `caller` holds `permission` in `workspace_id`. Only [`authorize`] makes one.
#[derive(Debug, Clone)]
pub struct Grant {
    caller: Caller,
    workspace_id: String,
    permission: Permission,
}

impl Grant {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    pub fn permission(&self) -> Permission {
        self.permission
    }

    /// Whether the grant's caller also holds `permission` in the grant's workspace: a service
    /// reached with a grant for one permission that needs another checks it here.
    pub fn require(&self, permission: Permission) -> Result<(), super::IdentityError> {
        if self
            .caller
            .permissions_in(&self.workspace_id)
            .contains(permission)
        {
            Ok(())
        } else {
            Err(super::IdentityError::Forbidden(permission))
        }
    }

    /// Who changes made under this grant are audited as.
    pub fn actor(&self) -> Actor {
        self.caller.actor()
    }
}

impl Caller {
    /// The workspace the caller is bound to (`None`: any workspace).
    pub fn workspace_id(&self) -> Option<&str> {
        match self {
            Caller::Key(key) => Some(&key.workspace_id),
            Caller::Person { session, .. } => Some(&session.workspace_id),
            Caller::Admin { .. } | Caller::Operator(_) => None,
        }
    }

    /// What the caller may do in `workspace_id`.
    pub fn permissions_in(&self, workspace_id: &str) -> PermissionSet {
        if self.workspace_id().is_some_and(|own| own != workspace_id) {
            return PermissionSet::EMPTY;
        }
        match self {
            Caller::Key(key) => match &key.kind {
                steward_model::CredentialKind::ApiKey { scopes } => scopes
                    .iter()
                    .fold(PermissionSet::EMPTY, |set, s| set.union(s.permissions())),
                _ => PermissionSet::EMPTY,
            },
            Caller::Person { permissions, .. } => *permissions,
            Caller::Admin { .. } | Caller::Operator(_) => PermissionSet::all(),
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Caller::Key(key) => Actor::ApiKey {
                credential_id: key.id.clone(),
                name: Some(key.name.clone()),
            },
            Caller::Person { user, .. } => Actor::User {
                user_id: user.id.clone(),
                email: user.email.clone(),
            },
            Caller::Admin { admin, .. } => Actor::Admin {
                admin_id: admin.id.clone(),
                username: admin.username.clone(),
            },
            Caller::Operator(actor) => actor.clone(),
        }
    }

    /// `user:<id>`, `admin:<name>`, `key:<id>` or `local`: recorded as a credential's creator.
    pub fn label(&self) -> String {
        match self {
            Caller::Key(key) => format!("key:{}", key.id),
            Caller::Person { user, .. } => format!("user:{}", user.id),
            Caller::Admin { admin, .. } => format!("admin:{}", admin.username),
            Caller::Operator(actor) => format!("local:{}", actor.describe()),
        }
    }
}

/// The check every route and admin command goes through.
pub fn authorize(caller: &Caller, workspace_id: &str, permission: Permission) -> Result<Grant, Denied> {
    if caller.workspace_id().is_some_and(|own| own != workspace_id) {
        return Err(Denied::OtherWorkspace);
    }
    if !caller.permissions_in(workspace_id).contains(permission) {
        return Err(Denied::Missing(permission));
    }
    Ok(Grant {
        caller: caller.clone(),
        workspace_id: workspace_id.to_owned(),
        permission,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_model::{ApiScope, CredentialKind};

    fn key(ws: &str, scopes: Vec<ApiScope>) -> Caller {
        Caller::Key(Credential {
            id: "cred_1".into(),
            workspace_id: ws.into(),
            name: "k".into(),
            kind: CredentialKind::ApiKey { scopes },
            prefix: "stw_ak_abcd".into(),
            created_at_ms: 0,
            revoked_at_ms: None,
            expires_at_ms: None,
            last_used_at_ms: None,
            created_by: None,
        })
    }

    #[test]
    fn keys_hold_their_scopes_in_their_workspace_only() {
        let k = key("ws_a", vec![ApiScope::PoliciesManage]);
        assert!(authorize(&k, "ws_a", Permission::PoliciesRead).is_ok());
        assert_eq!(
            authorize(&k, "ws_a", Permission::AnalyticsRead).unwrap_err(),
            Denied::Missing(Permission::AnalyticsRead)
        );
        assert_eq!(
            authorize(&k, "ws_b", Permission::PoliciesRead).unwrap_err(),
            Denied::OtherWorkspace
        );
        let ingest = key("ws_a", vec![ApiScope::Ingest, ApiScope::Scim]);
        for p in Permission::ALL {
            assert!(authorize(&ingest, "ws_a", p).is_err(), "{p}");
        }
    }

    #[test]
    fn the_operator_may_do_anything_anywhere() {
        let op = Caller::Operator(Actor::System {
            reason: "test".into(),
        });
        for p in Permission::ALL {
            let grant = authorize(&op, "ws_x", p).expect("granted");
            assert_eq!(grant.workspace_id(), "ws_x");
        }
    }
}
