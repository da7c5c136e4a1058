//! PostgreSQL implementation of [`steward_store::Store`], for deployments where several Steward
//! replicas share one database.
//!
//! It is a translation of `steward-store-sqlite` with the same schema and the same semantics,
//! checked by the same conformance suite; what differs is how concurrency between processes is
//! made safe: migrations serialise on an advisory lock, every idempotent write is a single
//! `INSERT ... ON CONFLICT`, event batches take row locks in a global order and are retried
//! whole when PostgreSQL still reports a deadlock or serialisation failure, and a compliance
//! sealing moves its workspace's chain head by compare-and-set, so of two concurrent sealers
//! one commits and the other gets `Conflict`.
//!
//! It is not a general PostgreSQL toolkit: it owns its tables (created by its embedded
//! migrations), connects without TLS (put it behind a local socket, a private network or a TLS
//! proxy), and assumes the server keeps `fsync` on; it turns `synchronous_commit` back on for its
//! own sessions when the server disabled it, so an acknowledged batch survives a crash.

mod compliance;
mod conn;
mod dashboard;
mod identity;
mod ledger;
mod migrate;
mod policies;
mod principals;
mod retention;
mod rollout;
mod scim;
mod sightings;
mod tasks;
mod usage;
mod write;

use async_trait::async_trait;
use deadpool_postgres::Pool;
use steward_model::{Credential, NormalizedEvent, User, Workspace};
use steward_store::{
    ChainHeadRow, ComplianceFile, FileQuery, InsertOutcome, NewAuditRecord, NewCredential, NewUser,
    PendingRecord, SealCommit, Store, StoreResult, TurnSpan, UsageQuery, UsageRowsPage,
};
use steward_store::{ErasureUpdate, FileSubject, LegalHold, RetentionQuery, SubjectKind};
use steward_store::{Group, NewPolicy, PolicyAssignment, PolicyRevision, PolicyRow, PolicySyncReport};

pub use migrate::MIGRATIONS;

/// A pool of connections to one PostgreSQL database. Cloning shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db?options=...`, or the `key=value`
    /// form) and applies pending migrations. Replicas starting at once are safe: one migrates,
    /// the others wait for it and find nothing left to do.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = conn::pool(url)?;
        let mut client = conn::get(&pool).await?;
        migrate::apply(&mut client).await?;
        drop(client);
        Ok(PostgresStore { pool })
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        conn::get(&self.pool).await
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client()
            .await?
            .batch_execute("SELECT 1")
            .await
            .map_err(conn::map_err)
    }

    async fn ensure_default_workspace(&self, name: &str) -> StoreResult<Workspace> {
        principals::ensure_default_workspace(&self.client().await?, name).await
    }

    async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        principals::list_workspaces(&self.client().await?).await
    }

    async fn get_workspace(&self, id: &str) -> StoreResult<Option<Workspace>> {
        principals::get_workspace(&self.client().await?, id).await
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        principals::create_workspace(&self.client().await?, name).await
    }

    async fn upsert_user(&self, new: &NewUser) -> StoreResult<User> {
        principals::upsert_user(&self.client().await?, new).await
    }

    async fn upsert_users(&self, new: &[NewUser]) -> StoreResult<Vec<User>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(conn::map_err)?;
        let mut users = Vec::with_capacity(new.len());
        for n in new {
            users.push(principals::upsert_user(&tx, n).await?);
        }
        tx.commit().await.map_err(conn::map_err)?;
        Ok(users)
    }

    async fn find_user_by_email(&self, workspace_id: &str, email: &str) -> StoreResult<Option<User>> {
        principals::find_user_by_email(&self.client().await?, workspace_id, email).await
    }

    async fn list_users(&self, workspace_id: &str) -> StoreResult<Vec<User>> {
        principals::list_users(&self.client().await?, workspace_id).await
    }

    async fn create_credential(&self, new: &NewCredential) -> StoreResult<Credential> {
        principals::create_credential(&self.client().await?, new).await
    }

    async fn find_credential_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Credential>> {
        principals::find_credential_by_hash(&self.client().await?, secret_hash).await
    }

    async fn revoke_credential(
        &self,
        workspace_id: &str,
        id: &str,
        at_ms: i64,
    ) -> StoreResult<Option<Credential>> {
        principals::revoke_credential(&self.client().await?, workspace_id, id, at_ms).await
    }

    async fn list_credentials(&self, workspace_id: &str) -> StoreResult<Vec<Credential>> {
        principals::list_credentials(&self.client().await?, workspace_id).await
    }

    async fn insert_events(&self, events: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome> {
        write::insert_events(&self.pool, &events).await
    }

    async fn event_raw(&self, workspace_id: &str, dedup_key: &str) -> StoreResult<Option<String>> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT raw FROM events WHERE workspace_id = $1 AND dedup_key = $2",
                &[&workspace_id, &dedup_key],
            )
            .await
            .map_err(conn::map_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn count_events(&self, workspace_id: &str) -> StoreResult<u64> {
        principals::count_events(&self.client().await?, workspace_id).await
    }

    async fn usage_rows(&self, query: &UsageQuery) -> StoreResult<UsageRowsPage> {
        usage::usage_rows(&self.client().await?, query).await
    }

    // --- Codex tasks and environments ---

    async fn record_trace_cwds(&self, cwds: steward_store::TraceCwds) -> StoreResult<()> {
        tasks::record_trace_cwds(&self.pool, &cwds).await
    }

    async fn list_codex_threads(
        &self,
        query: &steward_store::ThreadQuery,
    ) -> StoreResult<Vec<steward_store::CodexThread>> {
        tasks::list_threads(&self.client().await?, query).await
    }

    async fn get_codex_thread(
        &self,
        workspace_id: &str,
        thread_id: &str,
    ) -> StoreResult<Option<steward_store::CodexThread>> {
        tasks::get_thread(&self.client().await?, workspace_id, thread_id).await
    }

    async fn list_codex_environments(
        &self,
        query: &steward_store::EnvironmentQuery,
    ) -> StoreResult<Vec<steward_store::CodexEnvironment>> {
        tasks::list_environments(&self.client().await?, query).await
    }

    async fn get_codex_environment(
        &self,
        workspace_id: &str,
        environment_id: &str,
    ) -> StoreResult<Option<steward_store::CodexEnvironment>> {
        tasks::get_environment(&self.client().await?, workspace_id, environment_id).await
    }

    async fn insert_turn_spans(&self, spans: Vec<TurnSpan>) -> StoreResult<u64> {
        compliance::insert_turn_spans(&self.pool, &spans).await
    }

    async fn append_audit_record(&self, record: NewAuditRecord) -> StoreResult<()> {
        compliance::append_audit_record(&self.client().await?, &record).await
    }

    async fn pending_workspaces(&self) -> StoreResult<Vec<(String, i64)>> {
        compliance::pending_workspaces(&self.client().await?).await
    }

    async fn pending_records(&self, workspace_id: &str, limit: u32) -> StoreResult<Vec<PendingRecord>> {
        compliance::pending_records(&self.client().await?, workspace_id, limit).await
    }

    async fn chain_head(&self, workspace_id: &str) -> StoreResult<Option<ChainHeadRow>> {
        compliance::chain_head(&self.client().await?, workspace_id).await
    }

    async fn commit_seal(&self, commit: SealCommit) -> StoreResult<()> {
        compliance::commit_seal(&self.pool, &commit).await
    }

    async fn list_compliance_files(&self, query: &FileQuery) -> StoreResult<Vec<ComplianceFile>> {
        compliance::list_files(&self.client().await?, query).await
    }

    async fn get_compliance_file(
        &self,
        workspace_id: &str,
        file_id: &str,
    ) -> StoreResult<Option<ComplianceFile>> {
        compliance::get_file(&self.client().await?, workspace_id, file_id).await
    }

    async fn compliance_workspaces(&self) -> StoreResult<Vec<String>> {
        retention::compliance_workspaces(&self.client().await?).await
    }

    async fn retention_candidates(&self, query: &RetentionQuery) -> StoreResult<Vec<ComplianceFile>> {
        retention::retention_candidates(&self.client().await?, query).await
    }

    async fn files_with_subject(
        &self,
        workspace_id: &str,
        kind: SubjectKind,
        value: &str,
    ) -> StoreResult<Vec<ComplianceFile>> {
        retention::files_with_subject(&self.client().await?, workspace_id, kind, value).await
    }

    async fn file_subjects(&self, workspace_id: &str, file_id: &str) -> StoreResult<Vec<FileSubject>> {
        retention::file_subjects(&self.client().await?, workspace_id, file_id).await
    }

    async fn record_erasure(&self, update: &ErasureUpdate) -> StoreResult<()> {
        retention::record_erasure(&self.client().await?, update).await
    }

    async fn add_legal_hold(&self, hold: &LegalHold) -> StoreResult<()> {
        retention::add_legal_hold(&self.client().await?, hold).await
    }

    async fn legal_holds(&self, workspace_id: Option<&str>) -> StoreResult<Vec<LegalHold>> {
        retention::legal_holds(&self.client().await?, workspace_id).await
    }

    async fn remove_legal_hold(&self, id: &str) -> StoreResult<Option<LegalHold>> {
        retention::remove_legal_hold(&self.client().await?, id).await
    }

    // --- User groups and managed policies ---

    async fn create_group(&self, group: &Group) -> StoreResult<()> {
        policies::create_group(&self.client().await?, group).await
    }

    async fn list_groups(&self, workspace_id: &str) -> StoreResult<Vec<Group>> {
        policies::list_groups(&self.client().await?, workspace_id).await
    }

    async fn get_group_by_name(&self, workspace_id: &str, name: &str) -> StoreResult<Option<Group>> {
        policies::get_group_by_name(&self.client().await?, workspace_id, name).await
    }

    async fn delete_group(&self, workspace_id: &str, group_id: &str) -> StoreResult<bool> {
        policies::delete_group(&self.pool, workspace_id, group_id).await
    }

    async fn set_group_member(
        &self,
        workspace_id: &str,
        group_id: &str,
        user_id: &str,
        member: bool,
    ) -> StoreResult<bool> {
        policies::set_group_member(&self.client().await?, workspace_id, group_id, user_id, member).await
    }

    async fn group_members(&self, workspace_id: &str, group_id: &str) -> StoreResult<Vec<String>> {
        policies::group_members(&self.client().await?, workspace_id, group_id).await
    }

    async fn user_group_ids(&self, workspace_id: &str, user_id: &str) -> StoreResult<Vec<String>> {
        policies::user_group_ids(&self.client().await?, workspace_id, user_id).await
    }

    async fn group_memberships(&self, workspace_id: &str) -> StoreResult<Vec<(String, String)>> {
        policies::group_memberships(&self.client().await?, workspace_id).await
    }

    async fn create_policy(&self, new: &NewPolicy) -> StoreResult<()> {
        policies::create_policy(&self.pool, new).await
    }

    async fn add_policy_revision(
        &self,
        revision: &PolicyRevision,
        description: Option<&str>,
    ) -> StoreResult<()> {
        policies::add_policy_revision(&self.pool, revision, description).await
    }

    async fn list_policies(&self, workspace_id: &str) -> StoreResult<Vec<PolicyRow>> {
        policies::list_policies(&self.client().await?, workspace_id).await
    }

    async fn get_policy_by_name(&self, workspace_id: &str, name: &str) -> StoreResult<Option<PolicyRow>> {
        policies::get_policy_by_name(&self.client().await?, workspace_id, name).await
    }

    async fn get_policy_by_id(&self, workspace_id: &str, id: &str) -> StoreResult<Option<PolicyRow>> {
        policies::get_policy_by_id(&self.client().await?, workspace_id, id).await
    }

    async fn policy_revisions(&self, policy_id: &str) -> StoreResult<Vec<PolicyRevision>> {
        policies::policy_revisions(&self.client().await?, policy_id).await
    }

    async fn policy_revision(&self, policy_id: &str, revision: i64) -> StoreResult<Option<PolicyRevision>> {
        policies::policy_revision(&self.client().await?, policy_id, revision).await
    }

    async fn delete_policy(&self, workspace_id: &str, policy_id: &str, at_ms: i64) -> StoreResult<bool> {
        policies::delete_policy(&self.pool, workspace_id, policy_id, at_ms).await
    }

    async fn policy_assignment(&self, workspace_id: &str) -> StoreResult<PolicyAssignment> {
        policies::policy_assignment(&self.client().await?, workspace_id).await
    }

    async fn replace_policy_assignment(&self, assignment: &PolicyAssignment) -> StoreResult<()> {
        policies::replace_policy_assignment(&self.pool, assignment).await
    }

    async fn record_policy_sync(&self, report: &PolicySyncReport) -> StoreResult<()> {
        policies::record_policy_sync(&self.client().await?, report).await
    }

    async fn policy_sync_reports(&self, workspace_id: &str) -> StoreResult<Vec<PolicySyncReport>> {
        policies::policy_sync_reports(&self.client().await?, workspace_id).await
    }
}
