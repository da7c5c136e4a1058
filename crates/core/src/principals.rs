//! Users, ingest tokens and API keys. Secrets are random, shown once, stored as SHA-256.
//!
//! SHA-256 (not a slow password hash) is right here: the secrets are 190+ bits of randomness,
//! so there is nothing to brute-force, and lookups stay one indexed equality per request.

use std::sync::Arc;

use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use steward_model::{ApiScope, Credential, CredentialKind, User, UserKind, Workspace};
use steward_store::{NewCredential, NewUser, Store, StoreError};

use crate::compliance::audit::{self, Actor};

#[derive(Debug, thiserror::Error)]
pub enum PrincipalsError {
    #[error("invalid email `{0}`: expected an address like name@example.com")]
    InvalidEmail(String),
    #[error("no user with email `{0}` in this workspace (add it with `steward users add`)")]
    UnknownUser(String),
    #[error("an API key needs at least one scope")]
    NoScope,
    #[error("no live credential with id `{0}` in this workspace (see `steward tokens list` / `steward keys list`)")]
    UnknownCredential(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A credential just created, with its secret (never retrievable again).
#[derive(Debug, Clone)]
pub struct IssuedSecret {
    pub credential: Credential,
    pub secret: String,
}

/// Optional properties of a new credential.
#[derive(Debug, Clone, Default)]
pub struct IssueOptions {
    /// After this instant the credential stops authenticating.
    pub expires_at_ms: Option<i64>,
    /// Who created it (`Caller::label`).
    pub created_by: Option<String>,
}

/// How often a credential's `last_used_at_ms` is written at most (it is a write per request
/// otherwise).
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

pub const INGEST_TOKEN_PREFIX: &str = "stw_it_";
pub const API_KEY_PREFIX: &str = "stw_ak_";

#[derive(Clone)]
pub struct Principals {
    store: Arc<dyn Store>,
    /// Who the changes made through this value are audited as.
    actor: Actor,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret(prefix: &str) -> String {
    format!("{prefix}{}", Alphanumeric.sample_string(&mut rand::rng(), 40))
}

impl Principals {
    /// Principals whose changes are audited as done by `Actor::System` ("server"); admin
    /// commands use [`Principals::acting_as`].
    pub fn new(store: Arc<dyn Store>) -> Self {
        Principals {
            store,
            actor: Actor::System {
                reason: "server".to_owned(),
            },
        }
    }

    /// The same principals, with changes audited as done by `actor`.
    pub fn acting_as(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    /// Queues an `AUDIT_LOG` record of a change. It is a second write after the change itself:
    /// a crash between the two loses the record (noted in docs/compliance.md).
    async fn audit(
        &self,
        workspace_id: &str,
        action: &str,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Result<(), PrincipalsError> {
        let now = crate::now_ms();
        let record = audit::record(workspace_id, &self.actor, action, old, new, now);
        Ok(self.store.append_audit_record(record).await?)
    }

    pub async fn default_workspace(&self) -> Result<Workspace, PrincipalsError> {
        Ok(self.store.ensure_default_workspace("Default").await?)
    }

    pub async fn add_user(
        &self,
        workspace_id: &str,
        email: &str,
        name: Option<&str>,
    ) -> Result<User, PrincipalsError> {
        let email = email.trim();
        let valid = email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !valid || email.contains(char::is_whitespace) {
            return Err(PrincipalsError::InvalidEmail(email.to_owned()));
        }
        let new = NewUser {
            workspace_id: workspace_id.to_owned(),
            email: Some(email.to_owned()),
            name: name.map(str::to_owned),
            account_id: None,
            kind: UserKind::Person,
            principal_key: format!("email:{}", email.to_lowercase()),
        };
        let old = self.store.find_user_by_email(workspace_id, email).await?;
        let user = self.store.upsert_user(&new).await?;
        if old.as_ref() != Some(&user) {
            let action = if old.is_some() {
                "user.updated"
            } else {
                "user.created"
            };
            self.audit(workspace_id, action, old.map(|u| json!(u)), Some(json!(user)))
                .await?;
        }
        Ok(user)
    }

    async fn issue(
        &self,
        workspace_id: &str,
        name: &str,
        kind: CredentialKind,
        prefix: &str,
    ) -> Result<IssuedSecret, PrincipalsError> {
        self.issue_with(workspace_id, name, kind, prefix, &IssueOptions::default())
            .await
    }

    /// Issues a credential with an expiry and its creator recorded.
    pub async fn issue_with(
        &self,
        workspace_id: &str,
        name: &str,
        kind: CredentialKind,
        prefix: &str,
        options: &IssueOptions,
    ) -> Result<IssuedSecret, PrincipalsError> {
        let secret = new_secret(prefix);
        let new = NewCredential {
            workspace_id: workspace_id.to_owned(),
            name: name.to_owned(),
            kind,
            prefix: secret.chars().take(prefix.len() + 4).collect(),
            secret_hash: hash_secret(&secret),
            expires_at_ms: options.expires_at_ms,
            created_by: options.created_by.clone(),
        };
        let credential = self.store.create_credential(&new).await?;
        let action = match credential.kind {
            CredentialKind::ApiKey { .. } => "api_key.created",
            _ => "ingest_token.created",
        };
        // The credential without its secret (only the hash is stored, and not recorded here).
        let described = json!({
            "id": credential.id, "name": credential.name, "kind": credential.kind,
            "prefix": credential.prefix, "created_at_ms": credential.created_at_ms,
            "expires_at_ms": credential.expires_at_ms, "created_by": credential.created_by,
        });
        self.audit(workspace_id, action, None, Some(described)).await?;
        Ok(IssuedSecret { credential, secret })
    }

    /// An ingest token bound to the user with `email` (which must exist).
    pub async fn create_user_token(
        &self,
        workspace_id: &str,
        email: &str,
        name: Option<&str>,
    ) -> Result<IssuedSecret, PrincipalsError> {
        let user = self
            .store
            .find_user_by_email(workspace_id, email)
            .await?
            .ok_or_else(|| PrincipalsError::UnknownUser(email.to_owned()))?;
        let name = name
            .map(str::to_owned)
            .unwrap_or_else(|| format!("ingest token for {email}"));
        self.issue(
            workspace_id,
            &name,
            CredentialKind::UserIngest { user_id: user.id },
            INGEST_TOKEN_PREFIX,
        )
        .await
    }

    /// An ingest token for the whole workspace: identity comes from the telemetry.
    pub async fn create_workspace_token(
        &self,
        workspace_id: &str,
        name: Option<&str>,
    ) -> Result<IssuedSecret, PrincipalsError> {
        let name = name.unwrap_or("workspace ingest token");
        self.issue(
            workspace_id,
            name,
            CredentialKind::WorkspaceIngest,
            INGEST_TOKEN_PREFIX,
        )
        .await
    }

    pub async fn create_api_key(
        &self,
        workspace_id: &str,
        scopes: Vec<ApiScope>,
        name: Option<&str>,
    ) -> Result<IssuedSecret, PrincipalsError> {
        if scopes.is_empty() {
            return Err(PrincipalsError::NoScope);
        }
        let mut scopes = scopes;
        scopes.sort_by_key(|s| s.as_str());
        scopes.dedup();
        let name = name.unwrap_or("api key");
        self.issue(
            workspace_id,
            name,
            CredentialKind::ApiKey { scopes },
            API_KEY_PREFIX,
        )
        .await
    }

    /// Revokes a token or key: it stops authenticating at once (every replica looks credentials
    /// up per request). Audited with the credential before and after.
    pub async fn revoke(&self, workspace_id: &str, id: &str) -> Result<Credential, PrincipalsError> {
        let now = crate::now_ms();
        let Some(c) = self.store.revoke_credential(workspace_id, id, now).await? else {
            return Err(PrincipalsError::UnknownCredential(id.to_owned()));
        };
        let action = match c.kind {
            CredentialKind::ApiKey { .. } => "api_key.revoked",
            _ => "ingest_token.revoked",
        };
        let describe = |revoked: Option<i64>| {
            json!({
                "id": c.id, "name": c.name, "kind": c.kind, "prefix": c.prefix,
                "created_at_ms": c.created_at_ms, "revoked_at_ms": revoked,
            })
        };
        self.audit(
            workspace_id,
            action,
            Some(describe(None)),
            Some(describe(c.revoked_at_ms)),
        )
        .await?;
        Ok(c)
    }

    /// The live credential whose secret is `presented`, if any.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Credential>, PrincipalsError> {
        let presented = presented.trim();
        if presented.is_empty() || presented.len() > 256 {
            return Ok(None);
        }
        let hash = hash_secret(presented);
        // Looking up by the SHA-256 of the presented secret means any timing difference in the
        // index search is about hash prefixes, which reveal nothing about any stored secret.
        let Some(credential) = self.store.find_credential_by_hash(&hash).await? else {
            return Ok(None);
        };
        let now = crate::now_ms();
        if !credential.is_live(now) {
            return Ok(None);
        }
        if credential
            .last_used_at_ms
            .is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS)
        {
            // Off the request's path: a failed bookkeeping write must not fail the request.
            let (store, id) = (self.store.clone(), credential.id.clone());
            tokio::spawn(async move {
                if let Err(e) = store.touch_credential(&id, now).await {
                    tracing::warn!(error = %e, credential = %id, "cannot record a credential's last use");
                }
            });
        }
        Ok(Some(credential))
    }
}
