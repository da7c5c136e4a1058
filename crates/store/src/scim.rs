//! SCIM 2.0 provisioning as stored: users and groups an identity provider manages through
//! `/scim/v2` (migration 0009's `user_name`, `external_id`, `active`, `scim_json`,
//! `updated_at_ms`, `deleted_at_ms` on `users`; `scim_json`, `updated_at_ms` on `user_groups`).
//!
//! The semantics (filters, PATCH, adoption rules, audit) live in `core::identity::scim`. A user
//! is *visible to SCIM* when it has a `user_name` and is not deleted; a group when its source is
//! `scim`. `active` is never written here: it changes through `IdentityStore::set_user_active`
//! only (core's `apply_user_active`, which also revokes credentials and sessions).

use async_trait::async_trait;
use steward_model::User;

use crate::{Group, StoreResult};

/// A user visible to SCIM, with the attributes Steward does not model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    pub user: User,
    /// The SCIM attributes as last written by the identity provider (a JSON object).
    pub scim_json: Option<String>,
    pub updated_at_ms: Option<i64>,
}

/// What SCIM writes on a user (create, adopt or replace). `active` is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserWrite {
    pub workspace_id: String,
    /// SCIM `userName`; unique per workspace, case-insensitively, among SCIM-visible users.
    pub user_name: String,
    pub external_id: Option<String>,
    /// The email Steward links telemetry and policies by. `None` keeps the stored one.
    pub email: Option<String>,
    /// Display name. `None` keeps the stored one.
    pub name: Option<String>,
    /// A JSON object.
    pub scim_json: String,
    pub at_ms: i64,
}

/// What `scim_create_user` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserCreated {
    /// The row as it was before, when an existing row was adopted (a user seen in telemetry,
    /// added by an admin, or deleted by SCIM earlier): its history and policies stay with it.
    pub adopted: Option<User>,
    pub user: ScimUser,
}

/// An index-backed pre-selection of SCIM users; the full filter is evaluated by core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimUserLookup {
    All,
    Id(String),
    /// Case-insensitive.
    UserName(String),
    ExternalId(String),
}

/// A group managed by SCIM (`source = scim`) with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroup {
    pub group: Group,
    pub scim_json: Option<String>,
    pub updated_at_ms: Option<i64>,
    /// User ids, sorted.
    pub members: Vec<String>,
}

/// What SCIM writes on a group (create or update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupWrite {
    pub workspace_id: String,
    /// SCIM `displayName`; group names are unique per workspace.
    pub name: String,
    pub external_id: Option<String>,
    /// A JSON object.
    pub scim_json: String,
    pub at_ms: i64,
}

/// How a write changes a group's members. Ids must be SCIM-visible users of the workspace
/// (core checks); `Delta` lets concurrent PATCHes of different members both take effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimMembers {
    Keep,
    Replace(Vec<String>),
    Delta { add: Vec<String>, remove: Vec<String> },
}

/// Pre-selection of SCIM groups, as [`ScimUserLookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimGroupLookup {
    All,
    Id(String),
    /// Exact name.
    DisplayName(String),
    ExternalId(String),
}

/// One page of a SCIM listing and the size of the whole listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimPage<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// SCIM users and groups. A supertrait of [`crate::Store`].
#[async_trait]
pub trait ScimStore: Send + Sync {
    /// Provisions a user in one transaction. When a row with principal key
    /// `email:<lowercased email>` exists and is not a live SCIM user, it is adopted (and
    /// undeleted); otherwise a new `person` row is created, keyed `email:<email>` when that key
    /// is free, else `scim:<id>`. New rows are active. `Conflict` when a SCIM-visible user has
    /// the same `user_name` (case-insensitively).
    async fn scim_create_user(&self, write: &ScimUserWrite) -> StoreResult<ScimUserCreated>;
    /// Replaces the SCIM attributes of a SCIM-visible user; `None` when there is none with that
    /// id, `Conflict` when another SCIM-visible user has the `user_name`.
    async fn scim_update_user(&self, user_id: &str, write: &ScimUserWrite) -> StoreResult<Option<ScimUser>>;
    async fn scim_get_user(&self, workspace_id: &str, user_id: &str) -> StoreResult<Option<ScimUser>>;
    /// SCIM-visible users matching `lookup`, oldest first (`created_at_ms`, then id).
    async fn scim_list_users(
        &self,
        workspace_id: &str,
        lookup: &ScimUserLookup,
    ) -> StoreResult<Vec<ScimUser>>;
    /// One page of every SCIM-visible user, in the order of `scim_list_users`: `offset` users
    /// skipped, at most `limit` returned, with how many there are in all (one snapshot). An
    /// unfiltered SCIM list costs its page, not the directory.
    async fn scim_page_users(
        &self,
        workspace_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<ScimPage<ScimUser>>;
    /// SCIM DELETE: marks the user deleted (the row stays) and removes its group memberships,
    /// in one transaction. False when no SCIM-visible user has that id.
    async fn scim_delete_user(&self, workspace_id: &str, user_id: &str, at_ms: i64) -> StoreResult<bool>;

    /// Creates a `scim` group with its members in one transaction; `Conflict` when the
    /// workspace has a group of that name.
    async fn scim_create_group(
        &self,
        group: &Group,
        write: &ScimGroupWrite,
        members: &[String],
    ) -> StoreResult<ScimGroup>;
    /// Updates a `scim` group and its members in one transaction; `None` when there is no
    /// such group, `Conflict` when another group has the name.
    async fn scim_update_group(
        &self,
        group_id: &str,
        write: &ScimGroupWrite,
        members: &ScimMembers,
    ) -> StoreResult<Option<ScimGroup>>;
    async fn scim_get_group(&self, workspace_id: &str, group_id: &str) -> StoreResult<Option<ScimGroup>>;
    /// `scim` groups matching `lookup`, by creation then id.
    async fn scim_list_groups(
        &self,
        workspace_id: &str,
        lookup: &ScimGroupLookup,
    ) -> StoreResult<Vec<ScimGroup>>;
    /// One page of every `scim` group, as [`ScimStore::scim_page_users`]; members are read for
    /// the page's groups only.
    async fn scim_page_groups(
        &self,
        workspace_id: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<ScimPage<ScimGroup>>;
}
