//! Getting policies onto machines: the effective policy of a user (what `steward agent sync`
//! writes and what the Codex CLI's config-bundle fetch receives), the reports machines send
//! back, and "who runs which revision, and who is stale".

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use steward_store::PolicySyncReport;

use super::assignment::resolve;
use super::{MatchedBy, PolicyError, PolicyService};

/// The documents a user's machines must enforce now.
#[derive(Debug, Clone, Serialize)]
pub struct EffectivePolicy {
    pub user_id: String,
    /// `None`: no rule and no default applies; machines get empty documents.
    pub policy_id: Option<String>,
    pub policy: Option<String>,
    pub revision: Option<i64>,
    /// Content hash of the documents (also of the empty pair), used as the ETag.
    pub sha256: String,
    pub requirements_toml: String,
    pub managed_config_toml: String,
    pub matched_by: MatchedBy,
}

/// One machine's (or CLI's) last report, judged against what it should run.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatusRow {
    pub user_id: String,
    pub email: Option<String>,
    pub host: String,
    pub channel: String,
    pub reported_policy: Option<String>,
    pub reported_revision: Option<i64>,
    pub reported_sha256: Option<String>,
    pub reported_at_ms: i64,
    pub client_version: Option<String>,
    pub expected_policy: Option<String>,
    pub expected_revision: Option<i64>,
    /// The machine enforces something other than the user's effective policy now.
    pub stale: bool,
}

/// Every report of a workspace, plus users with a policy that no machine reported yet.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub machines: Vec<SyncStatusRow>,
    pub stale: usize,
    pub current: usize,
    /// Emails (or ids) of users with an effective policy and no report at all.
    pub never_synced: Vec<String>,
}

impl PolicyService {
    /// The policy (latest revision) that applies to a user, with its documents.
    pub async fn effective_for_user(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<EffectivePolicy, PolicyError> {
        let groups: HashSet<String> = self
            .store
            .user_group_ids(workspace_id, user_id)
            .await?
            .into_iter()
            .collect();
        let a = self.store.policy_assignment(workspace_id).await?;
        // Names only label a rule match: list the groups only then, and the policies never.
        let (policy_id, matched_by) = resolve(&a, &HashMap::new(), |g| groups.contains(g));
        let matched_by = match matched_by {
            MatchedBy::Rule { position, .. } => MatchedBy::Rule {
                position,
                group: self
                    .group_name(workspace_id, &a.rules[position - 1].group_id)
                    .await?,
            },
            other => other,
        };
        let policy_id = policy_id.map(str::to_owned);
        let empty = EffectivePolicy {
            user_id: user_id.to_owned(),
            policy_id: None,
            policy: None,
            revision: None,
            sha256: super::content_sha256("", ""),
            requirements_toml: String::new(),
            managed_config_toml: String::new(),
            matched_by: MatchedBy::None,
        };
        let Some(policy_id) = policy_id else {
            return Ok(empty);
        };
        let Some(row) = self.store.get_policy_by_id(workspace_id, &policy_id).await? else {
            return Ok(empty);
        };
        let rev = self.revision_of(&row, None).await?;
        Ok(EffectivePolicy {
            user_id: user_id.to_owned(),
            policy_id: Some(row.id),
            policy: Some(row.name),
            revision: Some(rev.revision),
            sha256: rev.sha256,
            requirements_toml: rev.requirements_toml,
            managed_config_toml: rev.managed_config_toml,
            matched_by,
        })
    }

    /// The effective policy of the user with `email`, creating that user (as telemetry with
    /// the email would) when Steward has not seen them yet, so a new hire's first Codex start
    /// already gets the default policy and shows up in the rollout status.
    pub async fn effective_for_email(
        &self,
        workspace_id: &str,
        email: &str,
        account_id: Option<&str>,
    ) -> Result<EffectivePolicy, PolicyError> {
        let user = match self.store.find_user_by_email(workspace_id, email).await? {
            Some(u) => u,
            None => {
                self.store
                    .upsert_user(&steward_store::NewUser {
                        workspace_id: workspace_id.to_owned(),
                        email: Some(email.to_owned()),
                        name: None,
                        account_id: account_id.map(str::to_owned),
                        kind: steward_model::UserKind::Person,
                        principal_key: format!("email:{}", email.to_lowercase()),
                    })
                    .await?
            }
        };
        self.effective_for_user(workspace_id, &user.id).await
    }

    /// Records what a machine (or a Codex CLI fetching its bundle) enforces, stamped with the
    /// server's clock (machines' clocks are not trusted for "who is stale").
    pub async fn record_sync(&self, mut report: PolicySyncReport) -> Result<(), PolicyError> {
        if report.host.trim().is_empty() || report.host.len() > 255 {
            return Err(PolicyError::BadRequest("host: must be 1-255 characters".into()));
        }
        report.reported_at_ms = super::now_ms();
        Ok(self.store.record_policy_sync(&report).await?)
    }

    /// Who runs which revision, and who is stale.
    pub async fn sync_status(&self, workspace_id: &str) -> Result<SyncStatus, PolicyError> {
        let reports = self.store.policy_sync_reports(workspace_id).await?;
        let users = self.store.list_users(workspace_id).await?;
        let a = self.store.policy_assignment(workspace_id).await?;
        let member_of = self.groups_by_user(workspace_id).await?;
        let mut latest: HashMap<String, (String, i64, String)> = HashMap::new();
        for p in self.store.list_policies(workspace_id).await? {
            let sha = self
                .store
                .policy_revision(&p.id, p.latest_revision)
                .await?
                .map(|r| r.sha256)
                .unwrap_or_default();
            latest.insert(p.id.clone(), (p.name, p.latest_revision, sha));
        }
        let names: HashMap<&str, &str> = latest
            .iter()
            .map(|(id, (n, _, _))| (id.as_str(), n.as_str()))
            .collect();
        let empty_sha = super::content_sha256("", "");
        let no_groups = HashSet::new();
        let no_names = HashMap::new();
        let expected = |user_id: &str| {
            let of = member_of.get(user_id).unwrap_or(&no_groups);
            let (policy_id, _) = resolve(&a, &no_names, |g| of.contains(g));
            policy_id.and_then(|id| latest.get(id).cloned())
        };
        let email_of: HashMap<&str, Option<&str>> = users
            .iter()
            .map(|u| (u.id.as_str(), u.email.as_deref()))
            .collect();
        let mut machines = Vec::with_capacity(reports.len());
        let mut reported_users = HashSet::new();
        for r in &reports {
            reported_users.insert(r.user_id.clone());
            let want = expected(&r.user_id);
            let want_sha = want
                .as_ref()
                .map(|w| w.2.clone())
                .unwrap_or_else(|| empty_sha.clone());
            machines.push(SyncStatusRow {
                user_id: r.user_id.clone(),
                email: email_of
                    .get(r.user_id.as_str())
                    .copied()
                    .flatten()
                    .map(str::to_owned),
                host: r.host.clone(),
                channel: r.channel.clone(),
                reported_policy: r.policy_id.as_deref().map(|id| {
                    names
                        .get(id)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| id.to_owned())
                }),
                reported_revision: r.revision,
                reported_sha256: r.sha256.clone(),
                reported_at_ms: r.reported_at_ms,
                client_version: r.client_version.clone(),
                expected_policy: want.as_ref().map(|w| w.0.clone()),
                expected_revision: want.as_ref().map(|w| w.1),
                stale: r.sha256.as_deref() != Some(want_sha.as_str()),
            });
        }
        let stale = machines.iter().filter(|m| m.stale).count();
        let mut never_synced: Vec<String> = users
            .iter()
            .filter(|u| !reported_users.contains(&u.id) && expected(&u.id).is_some())
            .map(|u| u.email.clone().unwrap_or_else(|| u.id.clone()))
            .collect();
        never_synced.sort();
        Ok(SyncStatus {
            current: machines.len() - stale,
            stale,
            machines,
            never_synced,
        })
    }
}
