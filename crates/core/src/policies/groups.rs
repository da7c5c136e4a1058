//! User groups as the policy assignment sees them (manual groups; SCIM will add its own).

use serde::Serialize;
use steward_store::{Group, GroupSource};

use super::{check_name, now_ms, PolicyError, PolicyService};
use crate::compliance::audit::Actor;

/// A group with its member count.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub source: &'static str,
    pub external_id: Option<String>,
    pub members: usize,
    pub created_at_ms: i64,
}

impl PolicyService {
    pub(super) async fn group_named(&self, workspace_id: &str, name: &str) -> Result<Group, PolicyError> {
        self.store
            .get_group_by_name(workspace_id, name)
            .await?
            .ok_or_else(|| PolicyError::NotFound(format!("group {name:?} does not exist")))
    }

    async fn user_id_of(&self, workspace_id: &str, email: &str) -> Result<String, PolicyError> {
        self.store
            .find_user_by_email(workspace_id, email)
            .await?
            .map(|u| u.id)
            .ok_or_else(|| PolicyError::NotFound(format!("no user with email {email:?}")))
    }

    pub async fn create_group(
        &self,
        workspace_id: &str,
        name: &str,
        actor: &Actor,
    ) -> Result<GroupView, PolicyError> {
        check_name("name", name)?;
        let group = Group {
            id: format!("grp_{}", uuid::Uuid::now_v7().simple()),
            workspace_id: workspace_id.to_owned(),
            name: name.to_owned(),
            source: GroupSource::Manual,
            external_id: None,
            created_at_ms: now_ms(),
        };
        self.store.create_group(&group).await?;
        let view = view(&group, 0);
        self.audit(
            workspace_id,
            actor,
            "group.created",
            None,
            Some(serde_json::json!(view)),
        )
        .await?;
        Ok(view)
    }

    pub async fn list_groups(&self, workspace_id: &str) -> Result<Vec<GroupView>, PolicyError> {
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for (group_id, _) in self.store.group_memberships(workspace_id).await? {
            *counts.entry(group_id).or_default() += 1;
        }
        let groups = self.store.list_groups(workspace_id).await?;
        Ok(groups
            .iter()
            .map(|g| view(g, counts.get(&g.id).copied().unwrap_or(0)))
            .collect())
    }

    /// Members' emails (or user ids for users without one), sorted.
    pub async fn group_members(&self, workspace_id: &str, name: &str) -> Result<Vec<String>, PolicyError> {
        let group = self.group_named(workspace_id, name).await?;
        let ids = self.store.group_members(workspace_id, &group.id).await?;
        let emails: std::collections::HashMap<String, Option<String>> = self
            .store
            .list_users(workspace_id)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
        let mut out: Vec<String> = ids
            .into_iter()
            .map(|id| emails.get(&id).cloned().flatten().unwrap_or(id))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Deletes a group; `Conflict` while an assignment rule names it.
    pub async fn delete_group(
        &self,
        workspace_id: &str,
        name: &str,
        actor: &Actor,
    ) -> Result<(), PolicyError> {
        let group = self.group_named(workspace_id, name).await?;
        let members = self.store.group_members(workspace_id, &group.id).await?.len();
        if !self.store.delete_group(workspace_id, &group.id).await? {
            return Err(PolicyError::NotFound(format!("group {name:?} does not exist")));
        }
        let old = serde_json::json!(view(&group, members));
        self.audit(workspace_id, actor, "group.deleted", Some(old), None)
            .await
    }

    /// Adds (`member = true`) or removes a user by email; returns whether anything changed.
    pub async fn set_membership(
        &self,
        workspace_id: &str,
        group: &str,
        email: &str,
        member: bool,
        actor: &Actor,
    ) -> Result<bool, PolicyError> {
        let group = self.group_named(workspace_id, group).await?;
        if group.source == GroupSource::Scim {
            return Err(PolicyError::Conflict(format!(
                "group {:?} is managed by SCIM; change its members in the identity provider",
                group.name
            )));
        }
        let user_id = self.user_id_of(workspace_id, email).await?;
        let changed = self
            .store
            .set_group_member(workspace_id, &group.id, &user_id, member)
            .await?;
        if changed {
            let value = serde_json::json!({ "group": group.name, "user_id": user_id, "email": email });
            let (action, old, new) = if member {
                ("group.member_added", None, Some(value))
            } else {
                ("group.member_removed", Some(value), None)
            };
            self.audit(workspace_id, actor, action, old, new).await?;
        }
        Ok(changed)
    }
}

fn view(g: &Group, members: usize) -> GroupView {
    GroupView {
        id: g.id.clone(),
        name: g.name.clone(),
        source: g.source.as_str(),
        external_id: g.external_id.clone(),
        members,
        created_at_ms: g.created_at_ms,
    }
}
