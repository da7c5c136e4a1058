//! Attribution: which user a record belongs to.
//!
//! A per-user ingest token binds identity: every record is that user's, whatever the record
//! says. A workspace token takes the user from `user.email` (preferred) or `user.account_id` in
//! the resource or log attributes, and otherwise files the record under one "unattributed"
//! principal per host, so nothing is dropped and nothing is mixed up with a real person.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use steward_model::UserKind;
use steward_store::{NewUser, Store, StoreResult};

use crate::normalize::IdentityHints;

/// The authenticated sender of a telemetry request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestPrincipal {
    User { workspace_id: String, user_id: String },
    Workspace { workspace_id: String },
}

impl IngestPrincipal {
    pub fn workspace_id(&self) -> &str {
        match self {
            IngestPrincipal::User { workspace_id, .. } | IngestPrincipal::Workspace { workspace_id } => {
                workspace_id
            }
        }
    }
}

/// Cache entries kept before the cache is reset (bounds memory; misses only cost a lookup).
const CACHE_LIMIT: usize = 100_000;

/// Resolves identity hints to user ids, creating users on first sight. Cached per workspace
/// and principal key.
pub struct Resolver {
    store: Arc<dyn Store>,
    cache: Mutex<HashMap<(String, String), String>>,
}

impl Resolver {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Resolver {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn user_for(&self, principal: &IngestPrincipal, hints: &IdentityHints) -> StoreResult<String> {
        let workspace_id = match principal {
            IngestPrincipal::User { user_id, .. } => return Ok(user_id.clone()),
            IngestPrincipal::Workspace { workspace_id } => workspace_id,
        };
        let new = new_user(workspace_id, hints);
        let cache_key = (workspace_id.clone(), new.principal_key.clone());
        if let Some(id) = self.cache.lock().ok().and_then(|c| c.get(&cache_key).cloned()) {
            return Ok(id);
        }
        let user = self.store.upsert_user(&new).await?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(cache_key, user.id.clone());
        }
        Ok(user.id)
    }
}

/// The user a workspace-token record maps to.
pub fn new_user(workspace_id: &str, hints: &IdentityHints) -> NewUser {
    let (kind, principal_key, name) = match (&hints.email, &hints.account_id) {
        (Some(email), _) => (UserKind::Person, format!("email:{}", email.to_lowercase()), None),
        (None, Some(account)) => (UserKind::Person, format!("account:{account}"), None),
        (None, None) => {
            let host = hints.host.clone().unwrap_or_else(|| "unknown-host".to_owned());
            (
                UserKind::Unattributed,
                format!("host:{host}"),
                Some(format!("unattributed ({host})")),
            )
        }
    };
    NewUser {
        workspace_id: workspace_id.to_owned(),
        email: hints.email.clone(),
        name,
        account_id: hints.account_id.clone(),
        kind,
        principal_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_wins_and_is_case_insensitive() {
        let h = IdentityHints {
            email: Some("Dana@Example.com".into()),
            account_id: Some("a1".into()),
            host: None,
        };
        let u = new_user("ws", &h);
        assert_eq!(u.principal_key, "email:dana@example.com");
        assert_eq!(u.account_id.as_deref(), Some("a1"));
        assert_eq!(u.kind, UserKind::Person);
    }

    #[test]
    fn account_id_when_no_email() {
        let h = IdentityHints {
            email: None,
            account_id: Some("acct-9".into()),
            host: Some("h".into()),
        };
        assert_eq!(new_user("ws", &h).principal_key, "account:acct-9");
    }

    #[test]
    fn unattributed_per_host() {
        let h = IdentityHints {
            email: None,
            account_id: None,
            host: Some("ci-runner-3".into()),
        };
        let u = new_user("ws", &h);
        assert_eq!(u.principal_key, "host:ci-runner-3");
        assert_eq!(u.kind, UserKind::Unattributed);
    }
}
