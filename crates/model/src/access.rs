//! Who may do what: permissions, the built-in roles, and what each API-key scope grants.
//!
//! People get permissions from roles (assigned to them or to their groups; the workspace's
//! default role when no assignment names them), keys from their scopes. Both end as a
//! [`PermissionSet`], and every route checks one permission against it (`api::access`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::principal::ApiScope;

/// One thing a person or key may do in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    /// Read usage figures: the Analytics API, the dashboard's charts.
    #[serde(rename = "analytics.read")]
    AnalyticsRead,
    /// Download usage as CSV/JSON, including per-user rows.
    #[serde(rename = "analytics.export")]
    AnalyticsExport,
    /// Read the compliance log: files, tasks, environments.
    #[serde(rename = "compliance.read")]
    ComplianceRead,
    /// Delete compliance content (erasure of a task).
    #[serde(rename = "compliance.delete")]
    ComplianceDelete,
    /// Read managed policies, groups' assignment, lookups and rollout status.
    #[serde(rename = "policies.read")]
    PoliciesRead,
    /// Change managed policies and their assignment to groups.
    #[serde(rename = "policies.manage")]
    PoliciesManage,
    /// See users, groups, roles and who holds what.
    #[serde(rename = "users.read")]
    UsersRead,
    /// Add and change users and manual groups, assign roles.
    #[serde(rename = "users.manage")]
    UsersManage,
    /// Create, list and revoke API keys and ingest tokens (never with more than one holds).
    #[serde(rename = "keys.manage")]
    KeysManage,
    /// Set and change budgets.
    #[serde(rename = "budgets.manage")]
    BudgetsManage,
    /// Workspace settings: custom roles, the default role, retention.
    #[serde(rename = "workspace.admin")]
    WorkspaceAdmin,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Permission::AnalyticsRead,
        Permission::AnalyticsExport,
        Permission::ComplianceRead,
        Permission::ComplianceDelete,
        Permission::PoliciesRead,
        Permission::PoliciesManage,
        Permission::UsersRead,
        Permission::UsersManage,
        Permission::KeysManage,
        Permission::BudgetsManage,
        Permission::WorkspaceAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::AnalyticsRead => "analytics.read",
            Permission::AnalyticsExport => "analytics.export",
            Permission::ComplianceRead => "compliance.read",
            Permission::ComplianceDelete => "compliance.delete",
            Permission::PoliciesRead => "policies.read",
            Permission::PoliciesManage => "policies.manage",
            Permission::UsersRead => "users.read",
            Permission::UsersManage => "users.manage",
            Permission::KeysManage => "keys.manage",
            Permission::BudgetsManage => "budgets.manage",
            Permission::WorkspaceAdmin => "workspace.admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// What holding this permission also grants: managing implies reading.
    pub fn implied(self) -> &'static [Permission] {
        match self {
            Permission::AnalyticsExport => &[Permission::AnalyticsRead],
            Permission::PoliciesManage => &[Permission::PoliciesRead],
            Permission::UsersManage => &[Permission::UsersRead],
            _ => &[],
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions, closed under [`Permission::implied`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn all() -> Self {
        Self::from_iter(Permission::ALL)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
        for implied in p.implied() {
            self.0 |= implied.bit();
        }
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub fn is_subset(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// In declaration order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// Space-separated names, as stored.
    pub fn to_names(self) -> Vec<&'static str> {
        self.iter().map(Permission::as_str).collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// The roles every workspace has. Their names are reserved for custom roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinRole {
    /// Everything, including roles and workspace settings (the seeds' "Workspace Owner").
    WorkspaceOwner,
    /// Approval policies, managed requirements.toml, the compliance log ("Security Owner").
    SecurityOwner,
    /// Analytics and compliance pipelines, and the keys they use ("Analytics Owner").
    AnalyticsOwner,
    /// The seeds' "Codex Admin": analytics, and managed policies with their assignment.
    CodexAdmin,
    /// Signs in and sees their own usage; no workspace-wide data.
    Member,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::WorkspaceOwner,
        BuiltinRole::SecurityOwner,
        BuiltinRole::AnalyticsOwner,
        BuiltinRole::CodexAdmin,
        BuiltinRole::Member,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::WorkspaceOwner => "workspace_owner",
            BuiltinRole::SecurityOwner => "security_owner",
            BuiltinRole::AnalyticsOwner => "analytics_owner",
            BuiltinRole::CodexAdmin => "codex_admin",
            BuiltinRole::Member => "member",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::WorkspaceOwner => "Everything: people, roles, keys, workspace settings, all data.",
            BuiltinRole::SecurityOwner => {
                "Managed policies and their assignment, the compliance log (read and delete), who is who."
            }
            BuiltinRole::AnalyticsOwner => {
                "Analytics (read and export), the compliance log (read), and the keys their pipelines use."
            }
            BuiltinRole::CodexAdmin => {
                "Workspace analytics, managed policies and their assignment to groups."
            }
            BuiltinRole::Member => "Signs in and sees their own usage only.",
        }
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            BuiltinRole::WorkspaceOwner => PermissionSet::all(),
            BuiltinRole::SecurityOwner => [
                PoliciesManage,
                ComplianceRead,
                ComplianceDelete,
                UsersRead,
                AnalyticsRead,
            ]
            .into_iter()
            .collect(),
            BuiltinRole::AnalyticsOwner => [AnalyticsExport, ComplianceRead, KeysManage]
                .into_iter()
                .collect(),
            BuiltinRole::CodexAdmin => [AnalyticsRead, PoliciesManage].into_iter().collect(),
            BuiltinRole::Member => PermissionSet::EMPTY,
        }
    }
}

impl ApiScope {
    /// The permissions a key with this scope holds in its workspace. `ingest` and `scim` open
    /// their own endpoints (telemetry, `/scim/v2`) and grant no permission besides.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            ApiScope::AnalyticsRead => [AnalyticsExport].into_iter().collect(),
            ApiScope::ComplianceRead => [ComplianceRead].into_iter().collect(),
            ApiScope::ComplianceDelete => [ComplianceDelete].into_iter().collect(),
            ApiScope::PoliciesRead => [PoliciesRead].into_iter().collect(),
            ApiScope::PoliciesManage => [PoliciesManage].into_iter().collect(),
            ApiScope::Admin => PermissionSet::all(),
            ApiScope::Ingest | ApiScope::Scim => PermissionSet::EMPTY,
        }
    }

    /// The scope a key needs to hold `permission` without `admin` (None: only `admin` grants it).
    pub fn for_permission(permission: Permission) -> Option<ApiScope> {
        ApiScope::ALL
            .into_iter()
            .filter(|s| *s != ApiScope::Admin)
            .find(|s| s.permissions().contains(permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managing_implies_reading() {
        let set: PermissionSet = [Permission::PoliciesManage].into_iter().collect();
        assert!(set.contains(Permission::PoliciesRead));
        assert!(!set.contains(Permission::UsersRead));
        assert_eq!(set.to_names(), ["policies.read", "policies.manage"]);
    }

    #[test]
    fn owner_holds_everything_and_member_nothing() {
        for p in Permission::ALL {
            assert!(BuiltinRole::WorkspaceOwner.permissions().contains(p), "{p}");
            assert!(!BuiltinRole::Member.permissions().contains(p), "{p}");
        }
        assert!(BuiltinRole::CodexAdmin
            .permissions()
            .is_subset(BuiltinRole::WorkspaceOwner.permissions()));
        assert!(!BuiltinRole::CodexAdmin
            .permissions()
            .contains(Permission::ComplianceRead));
    }

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        for r in BuiltinRole::ALL {
            assert_eq!(BuiltinRole::parse(r.name()), Some(r));
        }
        assert_eq!(
            ApiScope::for_permission(Permission::AnalyticsRead),
            Some(ApiScope::AnalyticsRead)
        );
        assert_eq!(ApiScope::for_permission(Permission::WorkspaceAdmin), None);
    }
}
