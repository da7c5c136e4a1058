//! Managed policies as stored: user groups, policies with immutable revisions, the ordered
//! group → policy assignment of a workspace, and what each machine reported it enforces.
//!
//! The semantics (first matching rule wins, validation, diffs) live in `core::policies`; the
//! store keeps rows and guards concurrent writers: a revision or an assignment is written only
//! if the caller saw the latest one (optimistic concurrency, so two replicas never interleave).

/// Where a group comes from. SCIM-managed groups are changed by the identity provider only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupSource {
    Manual,
    Scim,
}

impl GroupSource {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupSource::Manual => "manual",
            GroupSource::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(GroupSource::Manual),
            "scim" => Some(GroupSource::Scim),
            _ => None,
        }
    }
}

/// A group of users of one workspace; names are unique per workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub source: GroupSource,
    /// The identity provider's id (SCIM `externalId`).
    pub external_id: Option<String>,
    pub created_at_ms: i64,
}

/// A policy (not deleted). Its content is in its revisions; `latest_revision` is the one in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub description: String,
    pub latest_revision: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One immutable revision of a policy: the two documents Codex reads, as written by an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRevision {
    pub policy_id: String,
    /// 1, 2, ... per policy.
    pub revision: i64,
    pub requirements_toml: String,
    pub managed_config_toml: String,
    /// Hex SHA-256 over both documents (`core::policies::content_sha256`): what machines
    /// report back, so "who runs which revision" compares one value.
    pub sha256: String,
    pub comment: String,
    pub created_at_ms: i64,
    pub created_by: String,
}

/// A new policy with its first revision (`revision.policy_id` and `revision.revision` are
/// taken from `policy`; revision 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    pub policy: PolicyRow,
    pub revision: PolicyRevision,
}

/// One rule of a workspace's assignment: members of `group_id` get `policy_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRule {
    pub group_id: String,
    pub policy_id: String,
}

/// The ordered rules of a workspace (first matching rule wins) and its default policy.
/// `version` 0 is the never-written, empty assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyAssignment {
    pub workspace_id: String,
    pub rules: Vec<AssignmentRule>,
    pub default_policy_id: Option<String>,
    pub version: i64,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

/// What a machine (or a Codex CLI fetching its bundle) last reported it enforces. One row per
/// (workspace, user, host, channel); a newer report replaces the older one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySyncReport {
    pub workspace_id: String,
    pub user_id: String,
    pub host: String,
    /// `agent` (`steward agent sync`) or `bundle` (the Codex CLI's own config-bundle fetch).
    pub channel: String,
    /// `None` when no policy applied (the user got an empty, unconstrained bundle).
    pub policy_id: Option<String>,
    pub revision: Option<i64>,
    pub sha256: Option<String>,
    pub client_version: Option<String>,
    pub reported_at_ms: i64,
}
