//! Administrative actions in Steward itself as `AUDIT_LOG` records (OpenAI's audit shape:
//! `action`, `action_result`, `action_data`), with the old and new values of what changed.
//! Secrets never appear: credentials are described by id, name, kind, prefix and scopes.

use serde::Serialize;
use serde_json::{json, Value};
use steward_model::LogType;
use steward_store::NewAuditRecord;

use super::records::timestamp;

/// Who performed an administrative action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Actor {
    /// The `steward` admin CLI, run by an operating-system user on a host.
    LocalAdmin { os_user: String, host: String },
    /// Steward itself (first start, demo mode, retention).
    System { reason: String },
    /// A caller of the HTTP API authenticated by an API key (id and name; never the secret).
    ApiKey {
        credential_id: String,
        name: Option<String>,
    },
    /// A person signed in through the browser (SSO or demo mode).
    User { user_id: String, email: Option<String> },
    /// A local break-glass administrator signed in with a password.
    Admin { admin_id: String, username: String },
    /// The identity provider, through SCIM with an API key of scope `scim`.
    Scim { credential_id: String },
}

impl Actor {
    /// The admin CLI's actor: `$USER` (or `$LOGNAME`) on `$HOSTNAME` / the kernel host name.
    pub fn local_admin() -> Self {
        let os_user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned());
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        Actor::LocalAdmin { os_user, host }
    }

    /// Who, in a few words: `ops@admin-1`, `API key cred_1 (dpo)`, `system (retention)`.
    pub fn describe(&self) -> String {
        match self {
            Actor::LocalAdmin { os_user, host } => format!("{os_user}@{host}"),
            Actor::System { reason } => format!("system ({reason})"),
            Actor::ApiKey { credential_id, name } => match name {
                Some(n) => format!("API key {credential_id} ({n})"),
                None => format!("API key {credential_id}"),
            },
            Actor::User { user_id, email } => match email {
                Some(e) => format!("{e} ({user_id})"),
                None => user_id.clone(),
            },
            Actor::Admin { username, .. } => format!("local admin {username}"),
            Actor::Scim { credential_id } => format!("SCIM client {credential_id}"),
        }
    }
}

/// One audit record, ready to queue for sealing.
pub fn record(
    workspace_id: &str,
    actor: &Actor,
    action: &str,
    old: Option<Value>,
    new: Option<Value>,
    now_ms: i64,
) -> NewAuditRecord {
    let body = json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "type": LogType::AuditLog.as_str(),
        "timestamp": timestamp(now_ms),
        "principal": { "id": workspace_id, "type": "CHATGPT_WORKSPACE" },
        "actor": actor,
        "workspace_id": workspace_id,
        "action": action,
        "action_result": "success",
        "action_data": { "old": old, "new": new },
    });
    NewAuditRecord {
        workspace_id: workspace_id.to_owned(),
        log_type: LogType::AuditLog,
        timestamp_ms: now_ms,
        record: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_record_has_the_envelope_action_and_both_values() {
        let actor = Actor::LocalAdmin {
            os_user: "ops".into(),
            host: "admin-1".into(),
        };
        let r = record(
            "ws",
            &actor,
            "user.updated",
            Some(json!({"name": "A"})),
            Some(json!({"name": "B"})),
            1_000,
        );
        assert_eq!(r.log_type, LogType::AuditLog);
        let v: Value = serde_json::from_str(&r.record).unwrap();
        assert_eq!(v["type"], "AUDIT_LOG");
        assert_eq!(
            v["actor"],
            json!({"type": "LOCAL_ADMIN", "os_user": "ops", "host": "admin-1"})
        );
        assert_eq!(v["action"], "user.updated");
        assert_eq!(v["action_data"]["old"]["name"], "A");
        assert_eq!(v["action_data"]["new"]["name"], "B");
        assert_eq!(v["timestamp"], "1970-01-01T00:00:01.000000Z");
        assert!(uuid::Uuid::parse_str(v["event_id"].as_str().unwrap()).is_ok());
    }
}
