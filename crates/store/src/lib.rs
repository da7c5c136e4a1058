//! The storage interface of Steward: one trait, [`Store`], implemented by `steward-store-sqlite`
//! (the embedded default) and `steward-store-postgres` (shared by several replicas).
//!
//! This crate holds no SQL and does no IO. Every backend must pass the conformance suite in
//! [`conformance`] (feature `testsuite`), run through [`store_conformance_suite!`].

pub mod assemble;
mod compliance;
pub mod coverage;
mod dashboard;
mod error;
mod identity;
pub mod ids;
pub mod ledger;
mod policies;
mod query;
mod retention;
mod rollout;
pub mod rollup;
mod scim;
pub mod sightings;
mod tasks;

#[cfg(feature = "testsuite")]
pub mod conformance;

use async_trait::async_trait;
use steward_model::{Credential, CredentialKind, NormalizedEvent, User, UserKind, Workspace};

pub use compliance::{
    ChainHeadRow, ComplianceFile, FileQuery, NewAuditRecord, PendingEvent, PendingRecord, PendingSource,
    SealCommit, TurnSpan,
};
pub use coverage::{CoverageRow, CoverageStore};
pub use dashboard::{
    fold_user_days, ActiveUsers, DashboardStore, DayWindow, FileStats, UserActivity, UserUsage,
};
pub use error::{StoreError, StoreResult};
pub use identity::{
    IdentityStore, LocalAdmin, OidcPending, RoleAssignment, RoleRow, RoleSubject, SessionRow, SessionStore,
    SignInFailures,
};
pub use policies::{
    AssignmentRule, Group, GroupSource, NewPolicy, PolicyAssignment, PolicyRevision, PolicyRow,
    PolicySyncReport,
};
pub use query::{
    Bucket, ClientUsage, Grouping, ModelUsage, UsageCursor, UsageKey, UsageQuery, UsageRow, UsageRowsPage,
    UsageTotals,
};
pub use retention::{ErasureUpdate, FileSubject, LegalHold, RetentionQuery, RetentionStage, SubjectKind};
pub use rollout::{RolloutFileRow, RolloutStore};
pub use scim::{
    ScimGroup, ScimGroupLookup, ScimGroupWrite, ScimMembers, ScimPage, ScimStore, ScimUser, ScimUserCreated,
    ScimUserLookup, ScimUserWrite,
};
pub use tasks::{
    environment_id, CodexEnvironment, CodexThread, EnvironmentCursor, EnvironmentDelta, EnvironmentQuery,
    EnvironmentUpsert, ThreadCursor, ThreadDelta, ThreadPlace, ThreadQuery, TraceCwds,
};

/// A new user to create (or find, when its `principal_key` already exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub workspace_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub account_id: Option<String>,
    pub kind: UserKind,
    pub principal_key: String,
}

/// A new credential; `secret_hash` is the hex SHA-256 of the secret shown once to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub workspace_id: String,
    pub name: String,
    pub kind: CredentialKind,
    pub prefix: String,
    pub secret_hash: String,
    pub expires_at_ms: Option<i64>,
    /// Who created it, for listings and the audit trail (`admin:<name>`, `user:<id>`, ...).
    pub created_by: Option<String>,
}

/// What a batch insert did. `inserted + duplicates` equals the batch length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub inserted: u64,
    pub duplicates: u64,
}

/// Steward's storage. Implementations are cheap to clone behind an `Arc` and safe to share.
///
/// Contract highlights (checked by the conformance suite):
/// * `insert_events` commits durably (the data survives a crash once it returns `Ok`) and is
///   idempotent on `(workspace_id, dedup_key)`: a re-sent event changes no figure.
/// * Rollups used by `usage_rows` are updated in the same transaction as the events.
/// * Workspaces are isolated: no query returns another workspace's data.
#[async_trait]
pub trait Store:
    IdentityStore
    + SessionStore
    + ScimStore
    + DashboardStore
    + RolloutStore
    + CoverageStore
    + Send
    + Sync
    + 'static
{
    /// Short backend name for logs and `/healthz` (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Cheap liveness check of the database connection.
    async fn ping(&self) -> StoreResult<()>;

    /// Returns the default workspace, creating it (named `name`) on first call. Safe to call
    /// concurrently from several processes.
    async fn ensure_default_workspace(&self, name: &str) -> StoreResult<Workspace>;
    async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn get_workspace(&self, id: &str) -> StoreResult<Option<Workspace>>;
    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace>;

    /// Finds the user with `new.principal_key` in its workspace, or creates it. Concurrent calls
    /// with the same key return the same user.
    async fn upsert_user(&self, new: &NewUser) -> StoreResult<User>;
    /// [`Store::upsert_user`] for many users in one transaction (one durable commit instead of
    /// one per user: demo data and bulk imports), results in input order.
    async fn upsert_users(&self, new: &[NewUser]) -> StoreResult<Vec<User>>;
    async fn find_user_by_email(&self, workspace_id: &str, email: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, workspace_id: &str) -> StoreResult<Vec<User>>;

    async fn create_credential(&self, new: &NewCredential) -> StoreResult<Credential>;
    /// Looks up a live (not revoked) credential by the hash of its secret.
    async fn find_credential_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Credential>>;
    async fn list_credentials(&self, workspace_id: &str) -> StoreResult<Vec<Credential>>;
    /// Revokes a live credential of the workspace; it stops authenticating at once. Returns it
    /// (with `revoked_at_ms` set), or `None` when no live credential has that id there.
    async fn revoke_credential(
        &self,
        workspace_id: &str,
        id: &str,
        at_ms: i64,
    ) -> StoreResult<Option<Credential>>;

    /// Inserts a batch of events in one durable transaction, skipping events whose
    /// `(workspace_id, dedup_key)` is already stored, and updates the usage rollups for the
    /// events actually inserted. Inserted events with a compliance log type
    /// ([`NormalizedEvent::log_type`]) are queued for sealing in the same transaction.
    /// Takes the batch by value: the SQLite backend moves it to its writer thread without a copy.
    async fn insert_events(&self, events: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome>;

    /// The stored raw JSON of one event (support tools and tests).
    async fn event_raw(&self, workspace_id: &str, dedup_key: &str) -> StoreResult<Option<String>>;

    /// Number of stored events of a workspace (all kinds, raw).
    async fn count_events(&self, workspace_id: &str) -> StoreResult<u64>;

    /// One page of usage rows (per user or per workspace, per day or week), keyset-paginated.
    async fn usage_rows(&self, query: &UsageQuery) -> StoreResult<UsageRowsPage>;

    // --- Codex tasks and environments ---
    // Threads (`codex_threads`) are maintained by `insert_events`, one upsert per thread per
    // batch in the same transaction; see [`ThreadDelta`] and [`EnvironmentDelta`].

    /// Remembers the working directories of turns (from traces) and gives the threads of those
    /// turns their directory and environment; idempotent. Call it after `insert_turn_spans`
    /// with the same request's turn spans, so a directory that came first finds its thread.
    async fn record_trace_cwds(&self, cwds: TraceCwds) -> StoreResult<()>;
    /// One page of a workspace's threads, newest `updated_ms` first.
    async fn list_codex_threads(&self, query: &ThreadQuery) -> StoreResult<Vec<CodexThread>>;
    /// One thread of a workspace, if a stored event named it.
    async fn get_codex_thread(&self, workspace_id: &str, thread_id: &str)
        -> StoreResult<Option<CodexThread>>;
    /// One page of a workspace's environments that hold threads, newest `created_ms` first.
    async fn list_codex_environments(&self, query: &EnvironmentQuery) -> StoreResult<Vec<CodexEnvironment>>;
    /// One environment of a workspace, also one whose threads all moved on (`task_count` 0).
    async fn get_codex_environment(
        &self,
        workspace_id: &str,
        environment_id: &str,
    ) -> StoreResult<Option<CodexEnvironment>>;

    // --- Compliance log ---

    /// Stores turn spans (idempotent on `(workspace_id, trace_id)`).
    async fn insert_turn_spans(&self, spans: Vec<TurnSpan>) -> StoreResult<u64>;
    /// Queues a complete record (an administrative action) for sealing, durably.
    async fn append_audit_record(&self, record: NewAuditRecord) -> StoreResult<()>;
    /// Workspaces that have pending records, with when (ms, by the server's or database's
    /// clock) the longest-waiting one was queued: sealing is scheduled by arrival, whatever
    /// time the client's clock wrote into its events.
    async fn pending_workspaces(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Up to `limit` pending records of a workspace, oldest queue position first.
    async fn pending_records(&self, workspace_id: &str, limit: u32) -> StoreResult<Vec<PendingRecord>>;
    async fn chain_head(&self, workspace_id: &str) -> StoreResult<Option<ChainHeadRow>>;
    /// Records a sealing atomically; `Conflict` when the chain head is no longer
    /// `expected_head` or a consumed record is already gone (another sealer won).
    async fn commit_seal(&self, commit: SealCommit) -> StoreResult<()>;
    async fn list_compliance_files(&self, query: &FileQuery) -> StoreResult<Vec<ComplianceFile>>;
    async fn get_compliance_file(
        &self,
        workspace_id: &str,
        file_id: &str,
    ) -> StoreResult<Option<ComplianceFile>>;

    // --- Compliance retention, legal holds and erasure ---

    /// Workspaces that have a digest chain (anything sealed).
    async fn compliance_workspaces(&self) -> StoreResult<Vec<String>>;
    /// Files a retention step may touch, oldest first (see [`RetentionQuery`]).
    async fn retention_candidates(&self, query: &RetentionQuery) -> StoreResult<Vec<ComplianceFile>>;
    /// Files (not expired) holding records of a subject, oldest first.
    async fn files_with_subject(
        &self,
        workspace_id: &str,
        kind: SubjectKind,
        value: &str,
    ) -> StoreResult<Vec<ComplianceFile>>;
    /// The subjects recorded for one file at sealing.
    async fn file_subjects(&self, workspace_id: &str, file_id: &str) -> StoreResult<Vec<FileSubject>>;
    /// Records that a file's bytes were rewritten by an erasure; `NotFound` for an unknown or
    /// expired file.
    async fn record_erasure(&self, update: &ErasureUpdate) -> StoreResult<()>;
    /// `Conflict` when the id exists.
    async fn add_legal_hold(&self, hold: &LegalHold) -> StoreResult<()>;
    /// Holds of one workspace, or of all when `None`, oldest first.
    async fn legal_holds(&self, workspace_id: Option<&str>) -> StoreResult<Vec<LegalHold>>;
    /// Removes a hold, returning it (`None` when there was none with that id).
    async fn remove_legal_hold(&self, id: &str) -> StoreResult<Option<LegalHold>>;
    // --- User groups (policies are assigned to them; SCIM will manage some) ---

    /// `Conflict` when the workspace already has a group of that name.
    async fn create_group(&self, group: &Group) -> StoreResult<()>;
    /// Groups of a workspace by name.
    async fn list_groups(&self, workspace_id: &str) -> StoreResult<Vec<Group>>;
    async fn get_group_by_name(&self, workspace_id: &str, name: &str) -> StoreResult<Option<Group>>;
    /// Deletes a group and its memberships; `false` if it did not exist, `Conflict` while a
    /// policy assignment rule names it.
    async fn delete_group(&self, workspace_id: &str, group_id: &str) -> StoreResult<bool>;
    /// Adds (`member`) or removes a user; returns whether anything changed.
    async fn set_group_member(
        &self,
        workspace_id: &str,
        group_id: &str,
        user_id: &str,
        member: bool,
    ) -> StoreResult<bool>;
    /// User ids of a group's members, sorted.
    async fn group_members(&self, workspace_id: &str, group_id: &str) -> StoreResult<Vec<String>>;
    /// Ids of the groups a user belongs to, sorted.
    async fn user_group_ids(&self, workspace_id: &str, user_id: &str) -> StoreResult<Vec<String>>;
    /// Every `(group_id, user_id)` membership of a workspace (dry runs over all users).
    async fn group_memberships(&self, workspace_id: &str) -> StoreResult<Vec<(String, String)>>;

    // --- Policies and their revisions ---

    /// Creates a policy with its revision 1. `Conflict` when a live policy has that name.
    async fn create_policy(&self, new: &NewPolicy) -> StoreResult<()>;
    /// Adds the next revision. `Conflict` unless `revision.revision` is the latest + 1 (another
    /// writer got there first), `NotFound` when the policy is unknown or deleted.
    /// `description`, when given, replaces the policy's description in the same transaction.
    async fn add_policy_revision(
        &self,
        revision: &PolicyRevision,
        description: Option<&str>,
    ) -> StoreResult<()>;
    /// Live policies of a workspace by name.
    async fn list_policies(&self, workspace_id: &str) -> StoreResult<Vec<PolicyRow>>;
    async fn get_policy_by_name(&self, workspace_id: &str, name: &str) -> StoreResult<Option<PolicyRow>>;
    async fn get_policy_by_id(&self, workspace_id: &str, id: &str) -> StoreResult<Option<PolicyRow>>;
    /// Revisions of a policy, oldest first.
    async fn policy_revisions(&self, policy_id: &str) -> StoreResult<Vec<PolicyRevision>>;
    async fn policy_revision(&self, policy_id: &str, revision: i64) -> StoreResult<Option<PolicyRevision>>;
    /// Deletes a policy (its revisions stay for the record, its name is free again); `false`
    /// if it was unknown or already deleted, `Conflict` while the assignment uses it.
    async fn delete_policy(&self, workspace_id: &str, policy_id: &str, at_ms: i64) -> StoreResult<bool>;
    /// The workspace's assignment; version 0 with no rules when never written.
    async fn policy_assignment(&self, workspace_id: &str) -> StoreResult<PolicyAssignment>;
    /// Replaces the assignment. `assignment.version` must be the stored version + 1
    /// (`Conflict` otherwise); `NotFound` when a rule names an unknown group or policy.
    async fn replace_policy_assignment(&self, assignment: &PolicyAssignment) -> StoreResult<()>;
    /// Records (replaces) what a machine or CLI reported it enforces.
    async fn record_policy_sync(&self, report: &PolicySyncReport) -> StoreResult<()>;
    /// Every report of a workspace, by user, host and channel.
    async fn policy_sync_reports(&self, workspace_id: &str) -> StoreResult<Vec<PolicySyncReport>>;
}
