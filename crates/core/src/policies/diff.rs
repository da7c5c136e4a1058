//! Field-by-field differences between two revisions of a policy.
//!
//! Both documents are flattened into `key.path → value` (tables by key, arrays of tables by
//! index, e.g. `rules.prefix_rules[1].decision`; arrays of plain values stay whole, since
//! `allowed_sandbox_modes` is one setting), then compared. Formatting and comments, which
//! Codex ignores, never show up as changes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{PolicyError, PolicyService};

/// One setting that differs; `old`/`new` is `None` where the setting is absent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// `requirements_toml` or `managed_config_toml`.
    pub document: &'static str,
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The differences from revision `from` to revision `to` of a policy.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionDiff {
    pub policy: String,
    pub from: i64,
    pub to: i64,
    pub changes: Vec<FieldChange>,
}

/// Flattens a TOML document; an unparsable one (never stored, but be safe) is one opaque value.
fn flatten(doc: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    match toml::from_str::<toml::Table>(doc) {
        Ok(table) => walk("", &serde_json::to_value(table).unwrap_or_default(), &mut out),
        Err(_) => {
            out.insert(String::new(), Value::String(doc.to_owned()));
        }
    }
    out
}

fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) if !map.is_empty() || prefix.is_empty() => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(&key, child, out);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            for (i, child) in items.iter().enumerate() {
                walk(&format!("{prefix}[{i}]"), child, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned(), v.clone());
        }
    }
}

/// Changes between two versions of one document.
pub fn document_changes(document: &'static str, old: &str, new: &str) -> Vec<FieldChange> {
    let (a, b) = (flatten(old), flatten(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| FieldChange {
            document,
            path: k.clone(),
            old: a.get(k).cloned(),
            new: b.get(k).cloned(),
        })
        .collect()
}

impl PolicyService {
    /// What changed from revision `from` to revision `to` (default: the latest).
    pub async fn diff(
        &self,
        workspace_id: &str,
        name: &str,
        from: i64,
        to: Option<i64>,
    ) -> Result<RevisionDiff, PolicyError> {
        let policy = self.policy_named(workspace_id, name).await?;
        let a = self.revision_of(&policy, Some(from)).await?;
        let b = self.revision_of(&policy, to).await?;
        let mut changes = document_changes("requirements_toml", &a.requirements_toml, &b.requirements_toml);
        changes.extend(document_changes(
            "managed_config_toml",
            &a.managed_config_toml,
            &b.managed_config_toml,
        ));
        Ok(RevisionDiff {
            policy: policy.name,
            from: a.revision,
            to: b.revision,
            changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_rules_and_tables_are_compared_by_path() {
        let old = r#"
allowed_sandbox_modes = ["read-only"]
[rules]
prefix_rules = [{ pattern = [{ token = "git" }], decision = "prompt" }]
"#;
        let new = r#"
# a comment and different spacing change nothing
allowed_sandbox_modes = ["read-only", "workspace-write"]
allowed_approval_policies = ["on-request"]
[rules]
prefix_rules = [ { pattern = [{ token = "git" }], decision = "forbidden" } ]
"#;
        let changes = document_changes("requirements_toml", old, new);
        let paths: Vec<_> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "allowed_approval_policies",
                "allowed_sandbox_modes",
                "rules.prefix_rules[0].decision"
            ]
        );
        assert_eq!(changes[0].old, None);
        assert_eq!(changes[0].new, Some(json!(["on-request"])));
        assert_eq!(changes[2].old, Some(json!("prompt")));
        assert_eq!(changes[2].new, Some(json!("forbidden")));
        assert!(document_changes("requirements_toml", old, old).is_empty());
    }
}
