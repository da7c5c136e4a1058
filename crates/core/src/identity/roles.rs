//! Roles: the built-in ones, a workspace's custom roles, who holds them, and a user's
//! effective permissions with where each comes from.
//!
//! Semantics (the seeds, 004 Step 2): a user holds the roles assigned to them and to their
//! groups, and then the workspace default role only if no assignment names them ("users in any
//! custom role group do not use the workspace default permissions"). Permissions are the union
//! (the most permissive). Nobody can hand out more than they hold: assigning a role, or
//! creating a custom role, needs every permission in it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use steward_model::{BuiltinRole, Permission, PermissionSet, User};
use steward_store::{RoleAssignment, RoleRow, RoleSubject};

use super::access::{Caller, Grant};
use super::{now_ms, IdentityError, IdentityService};

/// A role as shown to admins: built-in or custom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleView {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<&'static str>,
    /// How many users and groups hold it directly.
    pub assignments: usize,
    pub is_default: bool,
}

/// Why a user holds a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum RoleSource {
    /// Assigned to the user.
    User,
    /// Assigned to a group the user is in.
    Group { group: String },
    /// The workspace default: no assignment names the user.
    Default,
}

/// One role a user holds, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldRole {
    pub role: String,
    #[serde(flatten)]
    pub source: RoleSource,
    pub permissions: Vec<&'static str>,
}

/// A user's effective permissions, each with the roles that grant it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePermissions {
    pub user_id: String,
    pub email: Option<String>,
    pub active: bool,
    pub permissions: Vec<&'static str>,
    pub roles: Vec<HeldRole>,
    /// permission → the roles (with their source) that grant it.
    pub granted_by: BTreeMap<&'static str, Vec<String>>,
    /// One sentence for people.
    pub explanation: String,
}

impl EffectivePermissions {
    pub fn set(&self) -> PermissionSet {
        self.permissions
            .iter()
            .filter_map(|p| Permission::parse(p))
            .collect()
    }
}

/// Who a role is assigned to, as an admin names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectRef {
    Email(String),
    Group(String),
}

/// Role names: lowercase letters, digits, `_`, `-`, `.`; 1–64 characters, starting with a
/// letter (they appear in URLs, CLI arguments and audit records).
pub fn valid_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

fn describe(set: PermissionSet) -> Vec<&'static str> {
    set.to_names()
}

fn source_label(role: &str, source: &RoleSource) -> String {
    match source {
        RoleSource::User => format!("{role} (assigned to the user)"),
        RoleSource::Group { group } => format!("{role} (via group {group})"),
        RoleSource::Default => format!("{role} (workspace default role)"),
    }
}

impl IdentityService {
    /// The permissions of a role name in a workspace: built-in, custom, or `None` (unknown).
    pub(crate) async fn role_permissions(
        &self,
        workspace_id: &str,
        name: &str,
    ) -> Result<Option<PermissionSet>, IdentityError> {
        if let Some(builtin) = BuiltinRole::parse(name) {
            return Ok(Some(builtin.permissions()));
        }
        Ok(self
            .store
            .get_role(workspace_id, name)
            .await?
            .map(|r| r.permissions))
    }

    pub async fn list_roles(&self, workspace_id: &str) -> Result<Vec<RoleView>, IdentityError> {
        let ws = self.workspace(workspace_id).await?;
        let assignments = self.store.role_assignments(workspace_id).await?;
        let count = |name: &str| assignments.iter().filter(|a| a.role_name == name).count();
        let mut views: Vec<RoleView> = BuiltinRole::ALL
            .into_iter()
            .map(|r| RoleView {
                name: r.name().to_owned(),
                description: r.description().to_owned(),
                builtin: true,
                permissions: describe(r.permissions()),
                assignments: count(r.name()),
                is_default: ws.default_role == r.name(),
            })
            .collect();
        for r in self.store.list_roles(workspace_id).await? {
            views.push(RoleView {
                assignments: count(&r.name),
                is_default: ws.default_role == r.name,
                permissions: describe(r.permissions),
                builtin: false,
                name: r.name,
                description: r.description,
            });
        }
        Ok(views)
    }

    /// Creates or replaces a custom role (needs `workspace.admin`, and every permission in it).
    pub async fn put_role(
        &self,
        grant: &Grant,
        name: &str,
        description: &str,
        permissions: PermissionSet,
    ) -> Result<RoleView, IdentityError> {
        grant.require(Permission::WorkspaceAdmin)?;
        let ws = grant.workspace_id();
        if BuiltinRole::parse(name).is_some() {
            return Err(IdentityError::BuiltinRole(name.to_owned()));
        }
        if !valid_role_name(name) {
            return Err(IdentityError::InvalidRoleName(name.to_owned()));
        }
        no_escalation(grant, permissions)?;
        let old = self.store.get_role(ws, name).await?;
        let now = now_ms();
        let row = RoleRow {
            id: old
                .as_ref()
                .map(|r| r.id.clone())
                .unwrap_or_else(|| format!("role_{}", uuid::Uuid::new_v4().simple())),
            workspace_id: ws.to_owned(),
            name: name.to_owned(),
            description: description.trim().to_owned(),
            permissions,
            created_at_ms: old.as_ref().map_or(now, |r| r.created_at_ms),
            updated_at_ms: now,
        };
        let saved = self.store.upsert_role(&row).await?;
        let value = |r: &RoleRow| json!({"name": r.name, "description": r.description, "permissions": describe(r.permissions)});
        let action = if old.is_some() {
            "role.updated"
        } else {
            "role.created"
        };
        self.audit(grant, action, old.as_ref().map(value), Some(value(&saved)))
            .await?;
        self.list_roles(ws)
            .await?
            .into_iter()
            .find(|v| v.name == name)
            .ok_or_else(|| IdentityError::UnknownRole(name.to_owned()))
    }

    /// Deletes a custom role and its assignments (not the default role).
    pub async fn delete_role(&self, grant: &Grant, name: &str) -> Result<(), IdentityError> {
        grant.require(Permission::WorkspaceAdmin)?;
        let ws = grant.workspace_id();
        if BuiltinRole::parse(name).is_some() {
            return Err(IdentityError::BuiltinRole(name.to_owned()));
        }
        if self.workspace(ws).await?.default_role == name {
            return Err(IdentityError::RoleIsDefault(name.to_owned()));
        }
        let Some(old) = self.store.get_role(ws, name).await? else {
            return Err(IdentityError::UnknownRole(name.to_owned()));
        };
        let holders: Vec<String> = self
            .store
            .role_assignments(ws)
            .await?
            .into_iter()
            .filter(|a| a.role_name == name)
            .map(|a| format!("{}:{}", a.subject_kind.as_str(), a.subject_id))
            .collect();
        self.store.delete_role(ws, name).await?;
        self.audit(
            grant,
            "role.deleted",
            Some(json!({"name": old.name, "permissions": describe(old.permissions), "assigned_to": holders})),
            None,
        )
        .await
    }

    /// Sets the role of users no assignment names (needs `workspace.admin`).
    pub async fn set_default_role(&self, grant: &Grant, name: &str) -> Result<(), IdentityError> {
        grant.require(Permission::WorkspaceAdmin)?;
        let ws = grant.workspace_id();
        let perms = self
            .role_permissions(ws, name)
            .await?
            .ok_or_else(|| IdentityError::UnknownRole(name.to_owned()))?;
        no_escalation(grant, perms)?;
        let old = self.workspace(ws).await?.default_role;
        if old == name {
            return Ok(());
        }
        self.store.set_default_role(ws, name).await?;
        self.audit(
            grant,
            "workspace.default_role_changed",
            Some(json!({"default_role": old})),
            Some(json!({"default_role": name})),
        )
        .await
    }

    async fn resolve_subject(
        &self,
        workspace_id: &str,
        subject: &SubjectRef,
    ) -> Result<(RoleSubject, String, String), IdentityError> {
        match subject {
            SubjectRef::Email(email) => {
                let user = self
                    .store
                    .find_user_by_email(workspace_id, email)
                    .await?
                    .filter(|u| u.deleted_at_ms.is_none())
                    .ok_or_else(|| IdentityError::UnknownUser(email.clone()))?;
                Ok((RoleSubject::User, user.id, email.clone()))
            }
            SubjectRef::Group(name) => {
                let group = self
                    .store
                    .get_group_by_name(workspace_id, name)
                    .await?
                    .ok_or_else(|| IdentityError::UnknownGroup(name.clone()))?;
                Ok((RoleSubject::Group, group.id, name.clone()))
            }
        }
    }

    /// Assigns (`present`) or removes a role for a user or group (needs `users.manage`, and
    /// every permission of the role). Returns whether anything changed.
    pub async fn assign_role(
        &self,
        grant: &Grant,
        role: &str,
        subject: &SubjectRef,
        present: bool,
    ) -> Result<bool, IdentityError> {
        grant.require(Permission::UsersManage)?;
        let ws = grant.workspace_id();
        let perms = self
            .role_permissions(ws, role)
            .await?
            .ok_or_else(|| IdentityError::UnknownRole(role.to_owned()))?;
        no_escalation(grant, perms)?;
        let (kind, id, label) = self.resolve_subject(ws, subject).await?;
        let assignment = RoleAssignment {
            workspace_id: ws.to_owned(),
            role_name: role.to_owned(),
            subject_kind: kind,
            subject_id: id.clone(),
            created_at_ms: now_ms(),
        };
        let changed = self.store.set_role_assignment(&assignment, present).await?;
        if changed {
            let value =
                json!({"role": role, "subject_kind": kind.as_str(), "subject_id": id, "subject": label});
            let (action, old, new) = if present {
                ("role.assigned", None, Some(value))
            } else {
                ("role.unassigned", Some(value), None)
            };
            self.audit(grant, action, old, new).await?;
        }
        Ok(changed)
    }

    /// Every assignment of a workspace, with subjects named (emails, group names).
    pub async fn role_assignments(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<serde_json::Value>, IdentityError> {
        let assignments = self.store.role_assignments(workspace_id).await?;
        let groups: BTreeMap<String, String> = self
            .store
            .list_groups(workspace_id)
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect();
        let mut out = Vec::with_capacity(assignments.len());
        for a in assignments {
            let subject = match a.subject_kind {
                RoleSubject::Group => groups.get(&a.subject_id).cloned(),
                RoleSubject::User => self
                    .store
                    .get_user(workspace_id, &a.subject_id)
                    .await?
                    .and_then(|u| u.email),
            };
            out.push(json!({
                "role": a.role_name, "subject_kind": a.subject_kind.as_str(),
                "subject_id": a.subject_id, "subject": subject, "created_at_ms": a.created_at_ms,
            }));
        }
        Ok(out)
    }

    /// What `user` may do in their workspace, and why.
    pub async fn effective_permissions(&self, user: &User) -> Result<EffectivePermissions, IdentityError> {
        let ws = &user.workspace_id;
        let group_ids = self.store.user_group_ids(ws, &user.id).await?;
        let assignments = self.store.assignments_for(ws, &user.id, &group_ids).await?;
        let group_names: BTreeMap<String, String> =
            if assignments.iter().any(|a| a.subject_kind == RoleSubject::Group) {
                self.store
                    .list_groups(ws)
                    .await?
                    .into_iter()
                    .map(|g| (g.id, g.name))
                    .collect()
            } else {
                BTreeMap::new()
            };
        let mut held: Vec<(String, RoleSource)> = assignments
            .iter()
            .map(|a| {
                let source = match a.subject_kind {
                    RoleSubject::User => RoleSource::User,
                    RoleSubject::Group => RoleSource::Group {
                        group: group_names
                            .get(&a.subject_id)
                            .cloned()
                            .unwrap_or_else(|| a.subject_id.clone()),
                    },
                };
                (a.role_name.clone(), source)
            })
            .collect();
        if held.is_empty() {
            held.push((self.workspace(ws).await?.default_role, RoleSource::Default));
        }
        let mut roles = Vec::with_capacity(held.len());
        let mut total = PermissionSet::EMPTY;
        let mut granted_by: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for (role, source) in held {
            // A custom role deleted after its assignment was read grants nothing.
            let perms = self.role_permissions(ws, &role).await?.unwrap_or_default();
            let perms = if user.is_enabled() {
                perms
            } else {
                PermissionSet::EMPTY
            };
            for p in perms.iter() {
                granted_by
                    .entry(p.as_str())
                    .or_default()
                    .push(source_label(&role, &source));
            }
            total = total.union(perms);
            roles.push(HeldRole {
                role,
                source,
                permissions: describe(perms),
            });
        }
        let who = user.email.clone().unwrap_or_else(|| user.id.clone());
        let explanation = if !user.is_enabled() {
            format!("{who} is deactivated: no permissions.")
        } else {
            let list: Vec<String> = roles.iter().map(|r| source_label(&r.role, &r.source)).collect();
            if total.is_empty() {
                format!(
                    "{who} holds {}, which grants no workspace permission.",
                    list.join(", ")
                )
            } else {
                format!("{who} holds {}: {}.", list.join(", "), describe(total).join(", "))
            }
        };
        Ok(EffectivePermissions {
            user_id: user.id.clone(),
            email: user.email.clone(),
            active: user.is_enabled(),
            permissions: describe(total),
            roles,
            granted_by,
            explanation,
        })
    }
}

/// Nobody hands out more than they hold.
pub(crate) fn no_escalation(grant: &Grant, wanted: PermissionSet) -> Result<(), IdentityError> {
    let held = grant.caller().permissions_in(grant.workspace_id());
    match wanted.iter().find(|p| !held.contains(*p)) {
        None => Ok(()),
        Some(p) => Err(IdentityError::Escalation(p)),
    }
}

/// The operator (admin CLI) caller, for code paths outside HTTP.
pub fn operator() -> Caller {
    Caller::Operator(crate::compliance::audit::Actor::local_admin())
}
