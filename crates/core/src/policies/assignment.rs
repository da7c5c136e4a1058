//! Which policy applies to whom: the ordered group rules of a workspace, the first rule whose
//! group contains the user wins, else the default policy, else none (Codex unconstrained).
//! The winning policy applies whole: later rules never fill in what it leaves unset, as with
//! OpenAI's cloud-managed requirement groups.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use steward_store::{AssignmentRule, PolicyAssignment};

use super::{now_ms, PolicyError, PolicyService};
use crate::compliance::audit::Actor;

/// An assignment as an admin writes it: group and policy names, in order. Unknown fields are
/// refused: a misspelt `default` would otherwise silently remove the default policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    pub rules: Vec<RuleInput>,
    #[serde(default)]
    pub default_policy: Option<String>,
    /// The version this change was based on; a concurrent change makes it a `Conflict`.
    #[serde(default)]
    pub based_on_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub group: String,
    pub policy: String,
}

/// One rule as shown: 1-based position, names and ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleView {
    pub position: usize,
    pub group: String,
    pub group_id: String,
    pub policy: String,
    pub policy_id: String,
}

/// A workspace's assignment as shown.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentView {
    pub rules: Vec<RuleView>,
    pub default_policy: Option<String>,
    pub version: i64,
    pub updated_at_ms: i64,
    pub updated_by: String,
}

/// Why a policy applies (or none does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatchedBy {
    /// Rule `position` (1-based) matched: the subject is in `group`.
    Rule { position: usize, group: String },
    /// No rule matched; the workspace's default policy applies.
    Default,
    /// No rule matched and there is no default: Codex runs without managed policy.
    None,
}

/// Who a lookup is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupSubject {
    Email(String),
    /// A (hypothetical) user who is a member of exactly this group.
    Group(String),
}

/// The policy that applies, at which revision, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Lookup {
    pub email: Option<String>,
    pub user_id: Option<String>,
    /// The subject's groups, by name.
    pub groups: Vec<String>,
    pub policy: Option<PolicyRef>,
    pub matched_by: MatchedBy,
    /// The rules looked at, in order, up to the one that matched.
    pub evaluated: Vec<RuleOutcome>,
    /// One sentence a person can read.
    pub explanation: String,
    pub assignment_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    pub id: String,
    pub name: String,
    pub revision: i64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOutcome {
    pub position: usize,
    pub group: String,
    pub policy: String,
    pub matched: bool,
}

/// A user whose policy a proposed assignment would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentChange {
    pub user_id: String,
    pub email: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub matched_by: MatchedBy,
}

/// The result of setting (or dry-running) an assignment.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentOutcome {
    pub assignment: AssignmentView,
    pub dry_run: bool,
    /// Users whose policy changes, by email.
    pub changes: Vec<AssignmentChange>,
}

/// First matching rule wins; then the default. Returns the policy id and why.
pub(super) fn resolve<'a>(
    a: &'a PolicyAssignment,
    group_names: &HashMap<String, String>,
    is_member: impl Fn(&str) -> bool,
) -> (Option<&'a str>, MatchedBy) {
    for (i, rule) in a.rules.iter().enumerate() {
        if is_member(&rule.group_id) {
            let group = group_names.get(&rule.group_id).cloned().unwrap_or_default();
            return (
                Some(&rule.policy_id),
                MatchedBy::Rule {
                    position: i + 1,
                    group,
                },
            );
        }
    }
    match &a.default_policy_id {
        Some(id) => (Some(id), MatchedBy::Default),
        None => (None, MatchedBy::None),
    }
}

impl PolicyService {
    pub(super) async fn names(
        &self,
        workspace_id: &str,
    ) -> Result<(HashMap<String, String>, HashMap<String, String>), PolicyError> {
        let groups = self.store.list_groups(workspace_id).await?;
        let policies = self.store.list_policies(workspace_id).await?;
        Ok((
            groups.into_iter().map(|g| (g.id, g.name)).collect(),
            policies.into_iter().map(|p| (p.id, p.name)).collect(),
        ))
    }

    /// The name of group `id`, or "" when it is gone (as [`resolve`] names it).
    pub(super) async fn group_name(&self, workspace_id: &str, id: &str) -> Result<String, PolicyError> {
        Ok(self
            .store
            .list_groups(workspace_id)
            .await?
            .into_iter()
            .find(|g| g.id == id)
            .map(|g| g.name)
            .unwrap_or_default())
    }

    fn view(
        a: &PolicyAssignment,
        groups: &HashMap<String, String>,
        policies: &HashMap<String, String>,
    ) -> AssignmentView {
        let name =
            |m: &HashMap<String, String>, id: &str| m.get(id).cloned().unwrap_or_else(|| id.to_owned());
        AssignmentView {
            rules: a
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| RuleView {
                    position: i + 1,
                    group: name(groups, &r.group_id),
                    group_id: r.group_id.clone(),
                    policy: name(policies, &r.policy_id),
                    policy_id: r.policy_id.clone(),
                })
                .collect(),
            default_policy: a.default_policy_id.as_deref().map(|id| name(policies, id)),
            version: a.version,
            updated_at_ms: a.updated_at_ms,
            updated_by: a.updated_by.clone(),
        }
    }

    pub async fn assignment(&self, workspace_id: &str) -> Result<AssignmentView, PolicyError> {
        let a = self.store.policy_assignment(workspace_id).await?;
        let (groups, policies) = self.names(workspace_id).await?;
        Ok(Self::view(&a, &groups, &policies))
    }

    /// Replaces the workspace's assignment, or with `dry_run` only reports who would change
    /// policy. Names are checked first: an unknown group or policy is `NotFound` naming it.
    pub async fn set_assignment(
        &self,
        workspace_id: &str,
        input: &AssignmentInput,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<AssignmentOutcome, PolicyError> {
        let current = self.store.policy_assignment(workspace_id).await?;
        let (groups, policies) = self.names(workspace_id).await?;
        let id_of = |m: &HashMap<String, String>, what: &str, field: String, name: &str| {
            m.iter()
                .find(|(_, n)| n.as_str() == name)
                .map(|(id, _)| id.clone())
                .ok_or_else(|| PolicyError::NotFound(format!("{field}: {what} {name:?} does not exist")))
        };
        let mut rules = Vec::with_capacity(input.rules.len());
        for (i, r) in input.rules.iter().enumerate() {
            rules.push(AssignmentRule {
                group_id: id_of(&groups, "group", format!("rules[{i}].group"), &r.group)?,
                policy_id: id_of(&policies, "policy", format!("rules[{i}].policy"), &r.policy)?,
            });
        }
        let default_policy_id = match &input.default_policy {
            Some(name) => Some(id_of(&policies, "policy", "default_policy".into(), name)?),
            None => None,
        };
        if let Some(v) = input.based_on_version {
            if v != current.version {
                return Err(PolicyError::Conflict(format!(
                    "the assignment changed since version {v} (now {}); reload and retry",
                    current.version
                )));
            }
        }
        let proposed = PolicyAssignment {
            workspace_id: workspace_id.to_owned(),
            rules,
            default_policy_id,
            version: current.version + 1,
            updated_at_ms: now_ms(),
            updated_by: actor.describe(),
        };
        let changes = self
            .changes(workspace_id, &current, &proposed, &groups, &policies)
            .await?;
        if !dry_run {
            self.store.replace_policy_assignment(&proposed).await?;
            let old = serde_json::json!(Self::view(&current, &groups, &policies));
            let new = serde_json::json!(Self::view(&proposed, &groups, &policies));
            self.audit(
                workspace_id,
                actor,
                "policy.assignment_changed",
                Some(old),
                Some(new),
            )
            .await?;
        }
        // A dry run shows the assignment as it would be, beside who would change policy.
        Ok(AssignmentOutcome {
            assignment: Self::view(&proposed, &groups, &policies),
            dry_run,
            changes,
        })
    }

    /// Each user's groups (user id → group ids), from one read of the workspace's memberships:
    /// what evaluating the assignment for every user needs.
    pub(super) async fn groups_by_user(
        &self,
        workspace_id: &str,
    ) -> Result<HashMap<String, HashSet<String>>, PolicyError> {
        let mut member_of: HashMap<String, HashSet<String>> = HashMap::new();
        for (group_id, user_id) in self.store.group_memberships(workspace_id).await? {
            member_of.entry(user_id).or_default().insert(group_id);
        }
        Ok(member_of)
    }

    /// Users whose policy differs between two assignments.
    async fn changes(
        &self,
        workspace_id: &str,
        old: &PolicyAssignment,
        new: &PolicyAssignment,
        groups: &HashMap<String, String>,
        policies: &HashMap<String, String>,
    ) -> Result<Vec<AssignmentChange>, PolicyError> {
        let member_of = self.groups_by_user(workspace_id).await?;
        let empty = HashSet::new();
        let mut out = Vec::new();
        for user in self.store.list_users(workspace_id).await? {
            let of = member_of.get(&user.id).unwrap_or(&empty);
            let (before, _) = resolve(old, groups, |g| of.contains(g));
            let (after, why) = resolve(new, groups, |g| of.contains(g));
            if before != after {
                let name = |id: Option<&str>| {
                    id.map(|id| policies.get(id).cloned().unwrap_or_else(|| id.to_owned()))
                };
                out.push(AssignmentChange {
                    user_id: user.id.clone(),
                    email: user.email.clone(),
                    from: name(before),
                    to: name(after),
                    matched_by: why,
                });
            }
        }
        out.sort_by(|a, b| (&a.email, &a.user_id).cmp(&(&b.email, &b.user_id)));
        Ok(out)
    }

    /// Which policy applies to a user (by email) or to a member of a group, and why.
    pub async fn lookup(&self, workspace_id: &str, subject: &LookupSubject) -> Result<Lookup, PolicyError> {
        let (email, user_id, group_ids) = match subject {
            LookupSubject::Email(email) => {
                let user = self
                    .store
                    .find_user_by_email(workspace_id, email)
                    .await?
                    .ok_or_else(|| PolicyError::NotFound(format!("email: no user with email {email:?}")))?;
                let ids = self.store.user_group_ids(workspace_id, &user.id).await?;
                // Emails match case-insensitively; answer with the one on record.
                (
                    Some(user.email.unwrap_or_else(|| email.clone())),
                    Some(user.id),
                    ids,
                )
            }
            LookupSubject::Group(name) => (None, None, vec![self.group_named(workspace_id, name).await?.id]),
        };
        let a = self.store.policy_assignment(workspace_id).await?;
        // One listing of groups and policies names everything below (it costs ~0.4 ms with
        // 1,000 groups on SQLite, `steward-bench policy`).
        let (groups, policy_names) = self.names(workspace_id).await?;
        let member_of: HashSet<&str> = group_ids.iter().map(String::as_str).collect();
        let (policy_id, matched_by) = resolve(&a, &groups, |g| member_of.contains(g));
        let policy = match policy_id {
            Some(id) => {
                let row = self
                    .store
                    .get_policy_by_id(workspace_id, id)
                    .await?
                    .ok_or_else(|| PolicyError::NotFound(format!("policy {id} of the assignment is gone")))?;
                let rev = self.revision_of(&row, None).await?;
                Some(PolicyRef {
                    id: row.id,
                    name: row.name,
                    revision: rev.revision,
                    sha256: rev.sha256,
                })
            }
            None => None,
        };
        let view = Self::view(&a, &groups, &policy_names);
        let stop = match &matched_by {
            MatchedBy::Rule { position, .. } => *position,
            _ => view.rules.len(),
        };
        let evaluated: Vec<RuleOutcome> = view.rules[..stop]
            .iter()
            .map(|r| RuleOutcome {
                position: r.position,
                group: r.group.clone(),
                policy: r.policy.clone(),
                matched: member_of.contains(r.group_id.as_str()),
            })
            .collect();
        let who = email.clone().unwrap_or_else(|| match subject {
            LookupSubject::Group(g) => format!("a member of group {g:?}"),
            LookupSubject::Email(e) => e.clone(),
        });
        let policy_text = |p: &Option<PolicyRef>| match p {
            Some(p) => format!("policy {:?} revision {}", p.name, p.revision),
            None => "no policy".to_owned(),
        };
        let explanation = match &matched_by {
            MatchedBy::Rule { position, group } => format!(
                "{who} gets {} because rule {position} (group {group:?}) is the first rule whose group they are in{}",
                policy_text(&policy),
                match position {
                    1 => String::new(),
                    2 => "; rule 1 did not match".to_owned(),
                    n => format!("; rules 1-{} did not match", n - 1),
                }
            ),
            MatchedBy::Default => format!(
                "{who} gets {}: no rule's group contains them ({} rules), so the default policy applies",
                policy_text(&policy),
                a.rules.len()
            ),
            MatchedBy::None => format!(
                "{who} gets no managed policy: no rule's group contains them and the workspace has no default"
            ),
        };
        let mut group_names: Vec<String> = group_ids
            .iter()
            .filter_map(|id| groups.get(id).cloned())
            .collect();
        group_names.sort();
        Ok(Lookup {
            email,
            user_id,
            groups: group_names,
            policy,
            matched_by,
            evaluated,
            explanation,
            assignment_version: a.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(rules: &[(&str, &str)], default: Option<&str>) -> PolicyAssignment {
        PolicyAssignment {
            rules: rules
                .iter()
                .map(|(g, p)| AssignmentRule {
                    group_id: g.to_string(),
                    policy_id: p.to_string(),
                })
                .collect(),
            default_policy_id: default.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn first_matching_rule_wins_then_default_then_none() {
        let names: HashMap<String, String> = [("g1", "sec"), ("g2", "eng")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let a = assignment(&[("g1", "strict"), ("g2", "relaxed")], Some("base"));
        let both: HashSet<&str> = ["g2", "g1"].into();
        assert_eq!(
            resolve(&a, &names, |g| both.contains(g)),
            (
                Some("strict"),
                MatchedBy::Rule {
                    position: 1,
                    group: "sec".into()
                }
            )
        );
        let eng: HashSet<&str> = ["g2"].into();
        assert_eq!(
            resolve(&a, &names, |g| eng.contains(g)),
            (
                Some("relaxed"),
                MatchedBy::Rule {
                    position: 2,
                    group: "eng".into()
                }
            )
        );
        assert_eq!(resolve(&a, &names, |_| false), (Some("base"), MatchedBy::Default));
        let no_default = assignment(&[("g1", "strict")], None);
        assert_eq!(
            resolve(&no_default, &names, |g| eng.contains(g)),
            (None, MatchedBy::None)
        );
        let reordered = assignment(&[("g2", "relaxed"), ("g1", "strict")], Some("base"));
        assert_eq!(
            resolve(&reordered, &names, |g| both.contains(g)).0,
            Some("relaxed")
        );
    }
}
