//! Managed policies: `requirements.toml` + `managed_config.toml` documents with immutable
//! revisions, assigned to user groups by ordered rules (the first rule whose group contains the
//! user wins; each policy is a complete profile, never merged with later rules), a default
//! fallback, "which policy applies to whom and why", dry runs of assignment changes, and what
//! machines report they enforce.
//!
//! Every change is validated with Codex 0.169.0's own rules (`steward_policy`) before it is
//! stored, and audited (`AUDIT_LOG`) with the old and new values.

mod assignment;
mod diff;
mod distribution;
mod documents;
mod groups;

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use steward_policy::requirements::Diagnostic;
use steward_store::{PolicyRevision, PolicyRow, Store, StoreError};

use crate::compliance::audit::{self, Actor};

pub use assignment::{
    AssignmentChange, AssignmentInput, AssignmentOutcome, AssignmentView, Lookup, LookupSubject, MatchedBy,
    PolicyRef, RuleInput, RuleOutcome, RuleView,
};
pub use diff::{FieldChange, RevisionDiff};
pub use distribution::{EffectivePolicy, SyncStatus, SyncStatusRow};
pub use documents::{DocumentDiagnostics, PolicyDocuments};
pub use groups::GroupView;

/// Errors of the policy service; the API maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Bad parameters (400), naming the parameter.
    #[error("{0}")]
    BadRequest(String),
    /// A document Codex would refuse to load (422), with every diagnostic.
    #[error("the policy does not validate: {}", .0.summary())]
    Invalid(DocumentDiagnostics),
    #[error("{0}")]
    NotFound(String),
    /// A name already taken, a concurrent change, or something still in use (409).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for PolicyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => PolicyError::Conflict(m),
            StoreError::NotFound(m) => PolicyError::NotFound(m),
            other => PolicyError::Store(other),
        }
    }
}

/// The policy service. Cheap to clone.
#[derive(Clone)]
pub struct PolicyService {
    store: Arc<dyn Store>,
}

/// A policy with the revision in force, as the API and CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub revision: i64,
    pub latest_revision: i64,
    pub requirements_toml: String,
    pub managed_config_toml: String,
    pub sha256: String,
    pub comment: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub revision_created_at_ms: i64,
    pub revision_created_by: String,
    /// Warnings of the shown revision (what Codex would ignore); errors cannot be stored.
    pub warnings: Vec<Diagnostic>,
}

impl PolicyView {
    /// `warnings`: the revision's, from the validation its caller already ran.
    fn new(p: &PolicyRow, r: &PolicyRevision, warnings: Vec<Diagnostic>) -> Self {
        PolicyView {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            revision: r.revision,
            latest_revision: p.latest_revision,
            requirements_toml: r.requirements_toml.clone(),
            managed_config_toml: r.managed_config_toml.clone(),
            sha256: r.sha256.clone(),
            comment: r.comment.clone(),
            created_at_ms: p.created_at_ms,
            updated_at_ms: p.updated_at_ms,
            revision_created_at_ms: r.created_at_ms,
            revision_created_by: r.created_by.clone(),
            warnings,
        }
    }
}

/// What the audit log keeps of a policy at a revision (no derived warnings, so no parsing).
fn audit_value(p: &PolicyRow, r: &PolicyRevision) -> serde_json::Value {
    serde_json::json!({
        "id": p.id, "name": p.name, "description": p.description,
        "revision": r.revision, "sha256": r.sha256, "comment": r.comment,
        "requirements_toml": r.requirements_toml,
        "managed_config_toml": r.managed_config_toml,
    })
}

/// Hex SHA-256 identifying a revision's content (both documents, length-prefixed so that text
/// cannot move from one document to the other without changing the hash).
pub fn content_sha256(requirements_toml: &str, managed_config_toml: &str) -> String {
    let mut h = Sha256::new();
    for doc in [requirements_toml, managed_config_toml] {
        h.update((doc.len() as u64).to_be_bytes());
        h.update(doc.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Policy and group names appear in URLs, CLI arguments and rule listings.
fn check_name(field: &str, name: &str) -> Result<(), PolicyError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(PolicyError::BadRequest(format!(
            "{field}: {name:?} is not a valid name (1-64 characters: letters, digits, '-', '_', '.')"
        )))
    }
}

pub(crate) use crate::now_ms;

impl PolicyService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        PolicyService { store }
    }

    async fn audit(
        &self,
        workspace_id: &str,
        actor: &Actor,
        action: &str,
        old: Option<serde_json::Value>,
        new: Option<serde_json::Value>,
    ) -> Result<(), PolicyError> {
        let record = audit::record(workspace_id, actor, action, old, new, now_ms());
        Ok(self.store.append_audit_record(record).await?)
    }

    async fn policy_named(&self, workspace_id: &str, name: &str) -> Result<PolicyRow, PolicyError> {
        self.store
            .get_policy_by_name(workspace_id, name)
            .await?
            .ok_or_else(|| PolicyError::NotFound(format!("policy {name:?} does not exist")))
    }

    async fn revision_of(
        &self,
        policy: &PolicyRow,
        revision: Option<i64>,
    ) -> Result<PolicyRevision, PolicyError> {
        let n = revision.unwrap_or(policy.latest_revision);
        self.store.policy_revision(&policy.id, n).await?.ok_or_else(|| {
            PolicyError::NotFound(format!(
                "policy {:?} has no revision {n} (latest is {})",
                policy.name, policy.latest_revision
            ))
        })
    }

    /// Validates documents without storing them (the editor's inline check).
    pub fn validate(&self, docs: &PolicyDocuments) -> DocumentDiagnostics {
        docs.validate()
    }

    /// Creates a policy (revision 1). `Invalid` when Codex would refuse the documents.
    pub async fn create(
        &self,
        workspace_id: &str,
        name: &str,
        description: &str,
        docs: PolicyDocuments,
        comment: &str,
        actor: &Actor,
    ) -> Result<PolicyView, PolicyError> {
        check_name("name", name)?;
        let checked = docs.validate().into_result()?;
        let now = now_ms();
        let id = format!("pol_{}", uuid::Uuid::now_v7().simple());
        let policy = PolicyRow {
            id: id.clone(),
            workspace_id: workspace_id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            latest_revision: 1,
            created_at_ms: now,
            updated_at_ms: now,
        };
        let revision = PolicyRevision {
            policy_id: id,
            revision: 1,
            sha256: content_sha256(&docs.requirements_toml, &docs.managed_config_toml),
            requirements_toml: docs.requirements_toml,
            managed_config_toml: docs.managed_config_toml,
            comment: comment.to_owned(),
            created_at_ms: now,
            created_by: actor.describe(),
        };
        self.store
            .create_policy(&steward_store::NewPolicy {
                policy: policy.clone(),
                revision: revision.clone(),
            })
            .await?;
        let new = audit_value(&policy, &revision);
        self.audit(workspace_id, actor, "policy.created", None, Some(new))
            .await?;
        Ok(PolicyView::new(&policy, &revision, checked.warnings()))
    }

    /// Stores a new revision of a policy. `based_on` (the revision the editor started from)
    /// turns a concurrent edit into `Conflict` instead of silently overwriting it.
    #[allow(clippy::too_many_arguments)]
    pub async fn update(
        &self,
        workspace_id: &str,
        name: &str,
        docs: PolicyDocuments,
        description: Option<&str>,
        comment: &str,
        based_on: Option<i64>,
        actor: &Actor,
    ) -> Result<PolicyView, PolicyError> {
        let policy = self.policy_named(workspace_id, name).await?;
        let checked = docs.validate().into_result()?;
        let base = based_on.unwrap_or(policy.latest_revision);
        let old = self.revision_of(&policy, Some(policy.latest_revision)).await?;
        let revision = PolicyRevision {
            policy_id: policy.id.clone(),
            revision: base + 1,
            sha256: content_sha256(&docs.requirements_toml, &docs.managed_config_toml),
            requirements_toml: docs.requirements_toml,
            managed_config_toml: docs.managed_config_toml,
            comment: comment.to_owned(),
            created_at_ms: now_ms(),
            created_by: actor.describe(),
        };
        self.store.add_policy_revision(&revision, description).await?;
        let updated = PolicyRow {
            latest_revision: revision.revision,
            updated_at_ms: revision.created_at_ms,
            description: description
                .map(str::to_owned)
                .unwrap_or(policy.description.clone()),
            ..policy.clone()
        };
        let (before, after) = (audit_value(&policy, &old), audit_value(&updated, &revision));
        self.audit(workspace_id, actor, "policy.updated", Some(before), Some(after))
            .await?;
        Ok(PolicyView::new(&updated, &revision, checked.warnings()))
    }

    pub async fn list(&self, workspace_id: &str) -> Result<Vec<PolicyRow>, PolicyError> {
        Ok(self.store.list_policies(workspace_id).await?)
    }

    /// A policy at its latest revision, or at `revision`.
    pub async fn show(
        &self,
        workspace_id: &str,
        name: &str,
        revision: Option<i64>,
    ) -> Result<PolicyView, PolicyError> {
        let policy = self.policy_named(workspace_id, name).await?;
        let r = self.revision_of(&policy, revision).await?;
        let warnings = PolicyDocuments {
            requirements_toml: r.requirements_toml.clone(),
            managed_config_toml: r.managed_config_toml.clone(),
        }
        .validate()
        .warnings();
        Ok(PolicyView::new(&policy, &r, warnings))
    }

    /// Every revision of a policy, oldest first.
    pub async fn revisions(
        &self,
        workspace_id: &str,
        name: &str,
    ) -> Result<Vec<PolicyRevision>, PolicyError> {
        let policy = self.policy_named(workspace_id, name).await?;
        Ok(self.store.policy_revisions(&policy.id).await?)
    }

    /// Deletes a policy. `Conflict` while the assignment (a rule or the default) uses it.
    pub async fn delete(&self, workspace_id: &str, name: &str, actor: &Actor) -> Result<(), PolicyError> {
        let policy = self.policy_named(workspace_id, name).await?;
        let latest = self.revision_of(&policy, None).await?;
        if !self
            .store
            .delete_policy(workspace_id, &policy.id, now_ms())
            .await?
        {
            return Err(PolicyError::NotFound(format!("policy {name:?} does not exist")));
        }
        let old = audit_value(&policy, &latest);
        self.audit(workspace_id, actor, "policy.deleted", Some(old), None)
            .await
    }
}
