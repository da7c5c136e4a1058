//! SQLite implementation of [`steward_store::Store`]: Steward's embedded default.
//!
//! One writer connection (SQLite allows one writer at a time; a single connection avoids
//! `SQLITE_BUSY` churn) and a small pool of reader connections, all in WAL mode so that reads
//! never block the writer and admin commands in another process work while the server runs.
//! `synchronous=FULL`: a commit that returned is on disk, so an acknowledged batch survives a
//! crash or power loss. Blocking calls run on tokio's blocking pool.

mod checkpoint;
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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::Connection;
use steward_model::{Credential, NormalizedEvent, User, Workspace};
use steward_store::{
    ChainHeadRow, ComplianceFile, FileQuery, InsertOutcome, NewAuditRecord, NewCredential, NewUser,
    PendingRecord, SealCommit, Store, StoreError, StoreResult, TurnSpan, UsageQuery, UsageRowsPage,
};
use steward_store::{ErasureUpdate, FileSubject, LegalHold, RetentionQuery, SubjectKind};
use steward_store::{Group, NewPolicy, PolicyAssignment, PolicyRevision, PolicyRow, PolicySyncReport};

use checkpoint::Checkpointer;
use conn::Pool;

/// Number of reader connections.
const READERS: usize = 4;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Pool>,
    _checkpointer: Arc<Checkpointer>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let path: PathBuf = path.to_owned();
        let (pool, checkpointer) = tokio::task::spawn_blocking(move || -> StoreResult<_> {
            let mut writer = conn::open(&path)?;
            migrate::apply(&mut writer)?;
            // Refresh planner statistics where they are stale (cheap; SQLite decides what to do).
            // Checkpoints are the checkpointer thread's job, off the writer's critical path.
            writer
                .execute_batch("PRAGMA optimize; PRAGMA wal_autocheckpoint = 0;")
                .map_err(conn::map_err)?;
            let readers = (0..READERS)
                .map(|_| conn::open(&path))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok((Pool::new(writer, readers), Checkpointer::start(path)?))
        })
        .await
        .map_err(StoreError::other)??;
        Ok(SqliteStore {
            inner: Arc::new(pool),
            _checkpointer: Arc::new(checkpointer),
        })
    }

    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.inner.clone();
        pool.read(f).await
    }

    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.inner.clone();
        pool.write(f).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(conn::map_err))
            .await
    }

    async fn ensure_default_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let name = name.to_owned();
        self.write(move |c| principals::ensure_default_workspace(c, &name))
            .await
    }

    async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.read(principals::list_workspaces).await
    }

    async fn get_workspace(&self, id: &str) -> StoreResult<Option<Workspace>> {
        let id = id.to_owned();
        self.read(move |c| principals::get_workspace(c, &id)).await
    }

    async fn create_workspace(&self, name: &str) -> StoreResult<Workspace> {
        let name = name.to_owned();
        self.write(move |c| principals::create_workspace(c, &name, false))
            .await
    }

    async fn upsert_user(&self, new: &NewUser) -> StoreResult<User> {
        let new = new.clone();
        self.write(move |c| principals::upsert_user(c, &new)).await
    }

    async fn upsert_users(&self, new: &[NewUser]) -> StoreResult<Vec<User>> {
        let new = new.to_vec();
        self.write(move |c| {
            let tx = c.transaction().map_err(conn::map_err)?;
            let users = new
                .iter()
                .map(|n| principals::upsert_user(&tx, n))
                .collect::<StoreResult<Vec<_>>>()?;
            tx.commit().map_err(conn::map_err)?;
            Ok(users)
        })
        .await
    }

    async fn find_user_by_email(&self, workspace_id: &str, email: &str) -> StoreResult<Option<User>> {
        let (ws, email) = (workspace_id.to_owned(), email.to_owned());
        self.read(move |c| principals::find_user_by_email(c, &ws, &email))
            .await
    }

    async fn list_users(&self, workspace_id: &str) -> StoreResult<Vec<User>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| principals::list_users(c, &ws)).await
    }

    async fn create_credential(&self, new: &NewCredential) -> StoreResult<Credential> {
        let new = new.clone();
        self.write(move |c| principals::create_credential(c, &new)).await
    }

    async fn find_credential_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Credential>> {
        let hash = secret_hash.to_owned();
        self.read(move |c| principals::find_credential_by_hash(c, &hash))
            .await
    }

    async fn revoke_credential(
        &self,
        workspace_id: &str,
        id: &str,
        at_ms: i64,
    ) -> StoreResult<Option<Credential>> {
        let (ws, id) = (workspace_id.to_owned(), id.to_owned());
        self.write(move |c| principals::revoke_credential(c, &ws, &id, at_ms))
            .await
    }

    async fn list_credentials(&self, workspace_id: &str) -> StoreResult<Vec<Credential>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| principals::list_credentials(c, &ws)).await
    }

    async fn insert_events(&self, events: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome> {
        // The batch is handed back and dropped here, not inside the writer's critical section:
        // freeing thousands of events' strings is work the next transaction need not wait for.
        let (outcome, events) = self
            .write(move |c| write::insert_events(c, &events).map(|o| (o, events)))
            .await?;
        drop(events);
        Ok(outcome)
    }

    async fn event_raw(&self, workspace_id: &str, dedup_key: &str) -> StoreResult<Option<String>> {
        let (ws, key) = (workspace_id.to_owned(), dedup_key.to_owned());
        self.read(move |c| {
            use rusqlite::OptionalExtension as _;
            // No index on dedup_key (the key guard is event_keys): a scan, for support and tests.
            c.query_row(
                "SELECT raw FROM events WHERE workspace_id = ?1 AND dedup_key = ?2",
                [ws, key],
                |r| r.get(0),
            )
            .optional()
            .map_err(conn::map_err)
        })
        .await
    }

    async fn count_events(&self, workspace_id: &str) -> StoreResult<u64> {
        let ws = workspace_id.to_owned();
        self.read(move |c| {
            c.query_row("SELECT COUNT(*) FROM events WHERE workspace_id = ?1", [ws], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(conn::map_err)
        })
        .await
    }

    async fn usage_rows(&self, query: &UsageQuery) -> StoreResult<UsageRowsPage> {
        let query = query.clone();
        self.read(move |c| usage::usage_rows(c, &query)).await
    }

    // --- Codex tasks and environments ---

    async fn record_trace_cwds(&self, cwds: steward_store::TraceCwds) -> StoreResult<()> {
        self.write(move |c| tasks::record_trace_cwds(c, &cwds)).await
    }

    async fn list_codex_threads(
        &self,
        query: &steward_store::ThreadQuery,
    ) -> StoreResult<Vec<steward_store::CodexThread>> {
        let query = query.clone();
        self.read(move |c| tasks::list_threads(c, &query)).await
    }

    async fn get_codex_thread(
        &self,
        workspace_id: &str,
        thread_id: &str,
    ) -> StoreResult<Option<steward_store::CodexThread>> {
        let (ws, id) = (workspace_id.to_owned(), thread_id.to_owned());
        self.read(move |c| tasks::get_thread(c, &ws, &id)).await
    }

    async fn list_codex_environments(
        &self,
        query: &steward_store::EnvironmentQuery,
    ) -> StoreResult<Vec<steward_store::CodexEnvironment>> {
        let query = query.clone();
        self.read(move |c| tasks::list_environments(c, &query)).await
    }

    async fn get_codex_environment(
        &self,
        workspace_id: &str,
        environment_id: &str,
    ) -> StoreResult<Option<steward_store::CodexEnvironment>> {
        let (ws, id) = (workspace_id.to_owned(), environment_id.to_owned());
        self.read(move |c| tasks::get_environment(c, &ws, &id)).await
    }

    async fn insert_turn_spans(&self, spans: Vec<TurnSpan>) -> StoreResult<u64> {
        self.write(move |c| compliance::insert_turn_spans(c, &spans))
            .await
    }

    async fn append_audit_record(&self, record: NewAuditRecord) -> StoreResult<()> {
        self.write(move |c| compliance::append_audit_record(c, &record))
            .await
    }

    async fn pending_workspaces(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(compliance::pending_workspaces).await
    }

    async fn pending_records(&self, workspace_id: &str, limit: u32) -> StoreResult<Vec<PendingRecord>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| compliance::pending_records(c, &ws, limit))
            .await
    }

    async fn chain_head(&self, workspace_id: &str) -> StoreResult<Option<ChainHeadRow>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| compliance::chain_head(c, &ws)).await
    }

    async fn commit_seal(&self, commit: SealCommit) -> StoreResult<()> {
        self.write(move |c| compliance::commit_seal(c, &commit)).await
    }

    async fn list_compliance_files(&self, query: &FileQuery) -> StoreResult<Vec<ComplianceFile>> {
        let query = query.clone();
        self.read(move |c| compliance::list_files(c, &query)).await
    }

    async fn get_compliance_file(
        &self,
        workspace_id: &str,
        file_id: &str,
    ) -> StoreResult<Option<ComplianceFile>> {
        let (ws, id) = (workspace_id.to_owned(), file_id.to_owned());
        self.read(move |c| compliance::get_file(c, &ws, &id)).await
    }

    async fn compliance_workspaces(&self) -> StoreResult<Vec<String>> {
        self.read(retention::compliance_workspaces).await
    }

    async fn retention_candidates(&self, query: &RetentionQuery) -> StoreResult<Vec<ComplianceFile>> {
        let q = query.clone();
        self.read(move |c| retention::retention_candidates(c, &q)).await
    }

    async fn files_with_subject(
        &self,
        workspace_id: &str,
        kind: SubjectKind,
        value: &str,
    ) -> StoreResult<Vec<ComplianceFile>> {
        let (ws, v) = (workspace_id.to_owned(), value.to_owned());
        self.read(move |c| retention::files_with_subject(c, &ws, kind, &v))
            .await
    }

    async fn file_subjects(&self, workspace_id: &str, file_id: &str) -> StoreResult<Vec<FileSubject>> {
        let (ws, id) = (workspace_id.to_owned(), file_id.to_owned());
        self.read(move |c| retention::file_subjects(c, &ws, &id)).await
    }

    async fn record_erasure(&self, update: &ErasureUpdate) -> StoreResult<()> {
        let u = update.clone();
        self.write(move |c| retention::record_erasure(c, &u)).await
    }

    async fn add_legal_hold(&self, hold: &LegalHold) -> StoreResult<()> {
        let h = hold.clone();
        self.write(move |c| retention::add_legal_hold(c, &h)).await
    }

    async fn legal_holds(&self, workspace_id: Option<&str>) -> StoreResult<Vec<LegalHold>> {
        let ws = workspace_id.map(str::to_owned);
        self.read(move |c| retention::legal_holds(c, ws.as_deref())).await
    }

    async fn remove_legal_hold(&self, id: &str) -> StoreResult<Option<LegalHold>> {
        let id = id.to_owned();
        self.write(move |c| retention::remove_legal_hold(c, &id)).await
    }
    async fn create_group(&self, group: &Group) -> StoreResult<()> {
        let g = group.clone();
        self.write(move |c| policies::create_group(c, &g)).await
    }

    async fn list_groups(&self, workspace_id: &str) -> StoreResult<Vec<Group>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| policies::list_groups(c, &ws)).await
    }

    async fn get_group_by_name(&self, workspace_id: &str, name: &str) -> StoreResult<Option<Group>> {
        let (ws, name) = (workspace_id.to_owned(), name.to_owned());
        self.read(move |c| policies::get_group_by_name(c, &ws, &name))
            .await
    }

    async fn delete_group(&self, workspace_id: &str, group_id: &str) -> StoreResult<bool> {
        let (ws, id) = (workspace_id.to_owned(), group_id.to_owned());
        self.write(move |c| policies::delete_group(c, &ws, &id)).await
    }

    async fn set_group_member(
        &self,
        workspace_id: &str,
        group_id: &str,
        user_id: &str,
        member: bool,
    ) -> StoreResult<bool> {
        let (ws, g, u) = (workspace_id.to_owned(), group_id.to_owned(), user_id.to_owned());
        self.write(move |c| policies::set_group_member(c, &ws, &g, &u, member))
            .await
    }

    async fn group_members(&self, workspace_id: &str, group_id: &str) -> StoreResult<Vec<String>> {
        let (ws, g) = (workspace_id.to_owned(), group_id.to_owned());
        self.read(move |c| policies::group_members(c, &ws, &g)).await
    }

    async fn user_group_ids(&self, workspace_id: &str, user_id: &str) -> StoreResult<Vec<String>> {
        let (ws, u) = (workspace_id.to_owned(), user_id.to_owned());
        self.read(move |c| policies::user_group_ids(c, &ws, &u)).await
    }

    async fn group_memberships(&self, workspace_id: &str) -> StoreResult<Vec<(String, String)>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| policies::group_memberships(c, &ws)).await
    }

    async fn create_policy(&self, new: &NewPolicy) -> StoreResult<()> {
        let new = new.clone();
        self.write(move |c| policies::create_policy(c, &new)).await
    }

    async fn add_policy_revision(
        &self,
        revision: &PolicyRevision,
        description: Option<&str>,
    ) -> StoreResult<()> {
        let (r, d) = (revision.clone(), description.map(str::to_owned));
        self.write(move |c| policies::add_policy_revision(c, &r, d.as_deref()))
            .await
    }

    async fn list_policies(&self, workspace_id: &str) -> StoreResult<Vec<PolicyRow>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| policies::list_policies(c, &ws)).await
    }

    async fn get_policy_by_name(&self, workspace_id: &str, name: &str) -> StoreResult<Option<PolicyRow>> {
        let (ws, name) = (workspace_id.to_owned(), name.to_owned());
        self.read(move |c| policies::get_policy_by_name(c, &ws, &name))
            .await
    }

    async fn get_policy_by_id(&self, workspace_id: &str, id: &str) -> StoreResult<Option<PolicyRow>> {
        let (ws, id) = (workspace_id.to_owned(), id.to_owned());
        self.read(move |c| policies::get_policy_by_id(c, &ws, &id)).await
    }

    async fn policy_revisions(&self, policy_id: &str) -> StoreResult<Vec<PolicyRevision>> {
        let id = policy_id.to_owned();
        self.read(move |c| policies::policy_revisions(c, &id)).await
    }

    async fn policy_revision(&self, policy_id: &str, revision: i64) -> StoreResult<Option<PolicyRevision>> {
        let id = policy_id.to_owned();
        self.read(move |c| policies::policy_revision(c, &id, revision))
            .await
    }

    async fn delete_policy(&self, workspace_id: &str, policy_id: &str, at_ms: i64) -> StoreResult<bool> {
        let (ws, id) = (workspace_id.to_owned(), policy_id.to_owned());
        self.write(move |c| policies::delete_policy(c, &ws, &id, at_ms))
            .await
    }

    async fn policy_assignment(&self, workspace_id: &str) -> StoreResult<PolicyAssignment> {
        let ws = workspace_id.to_owned();
        self.read(move |c| policies::policy_assignment(c, &ws)).await
    }

    async fn replace_policy_assignment(&self, assignment: &PolicyAssignment) -> StoreResult<()> {
        let a = assignment.clone();
        self.write(move |c| policies::replace_policy_assignment(c, &a))
            .await
    }

    async fn record_policy_sync(&self, report: &PolicySyncReport) -> StoreResult<()> {
        let r = report.clone();
        self.write(move |c| policies::record_policy_sync(c, &r)).await
    }

    async fn policy_sync_reports(&self, workspace_id: &str) -> StoreResult<Vec<PolicySyncReport>> {
        let ws = workspace_id.to_owned();
        self.read(move |c| policies::policy_sync_reports(c, &ws)).await
    }
}
