//! API keys and ingest tokens, issued and revoked under a grant: `keys.manage`, and never a
//! key that could do more than its creator (a `scim` key also needs `users.manage`).

use serde::Serialize;
use steward_model::{ApiScope, Credential, CredentialKind, Permission, PermissionSet};

use super::access::Grant;
use super::roles::no_escalation;
use super::{IdentityError, IdentityService};
use crate::principals::{IssueOptions, IssuedSecret, Principals, API_KEY_PREFIX, INGEST_TOKEN_PREFIX};
use crate::PrincipalsError;

/// What a key's scopes let it do, as permissions its creator must hold.
pub fn scopes_need(scopes: &[ApiScope]) -> PermissionSet {
    scopes.iter().fold(PermissionSet::EMPTY, |set, s| {
        let extra: PermissionSet = match s {
            ApiScope::Scim => [Permission::UsersManage].into_iter().collect(),
            _ => PermissionSet::EMPTY,
        };
        set.union(s.permissions()).union(extra)
    })
}

/// A credential as listed (never its secret or hash).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialView {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<&'static str>>,
    pub prefix: String,
    pub created_at_ms: i64,
    pub created_by: Option<String>,
    pub expires_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    /// `active`, `revoked` or `expired`.
    pub status: &'static str,
}

impl CredentialView {
    pub fn of(c: &Credential, now_ms: i64) -> Self {
        let (user_id, scopes) = match &c.kind {
            CredentialKind::UserIngest { user_id } => (Some(user_id.clone()), None),
            CredentialKind::WorkspaceIngest => (None, None),
            CredentialKind::ApiKey { scopes } => (None, Some(scopes.iter().map(|s| s.as_str()).collect())),
        };
        let status = if c.revoked_at_ms.is_some() {
            "revoked"
        } else if !c.is_live(now_ms) {
            "expired"
        } else {
            "active"
        };
        CredentialView {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.label(),
            user_id,
            scopes,
            prefix: c.prefix.clone(),
            created_at_ms: c.created_at_ms,
            created_by: c.created_by.clone(),
            expires_at_ms: c.expires_at_ms,
            last_used_at_ms: c.last_used_at_ms,
            revoked_at_ms: c.revoked_at_ms,
            status,
        }
    }
}

fn principals_error(e: PrincipalsError) -> IdentityError {
    match e {
        PrincipalsError::Store(s) => IdentityError::Store(s),
        PrincipalsError::UnknownUser(email) => IdentityError::UnknownUser(email),
        other => IdentityError::BadRequest(other.to_string()),
    }
}

impl IdentityService {
    fn principals(&self, grant: &Grant) -> Result<Principals, IdentityError> {
        grant.require(Permission::KeysManage)?;
        Ok(Principals::new(self.store.clone()).acting_as(grant.actor()))
    }

    pub async fn list_credentials(&self, grant: &Grant) -> Result<Vec<CredentialView>, IdentityError> {
        self.principals(grant)?;
        let now = super::now_ms();
        Ok(self
            .store
            .list_credentials(grant.workspace_id())
            .await?
            .iter()
            .map(|c| CredentialView::of(c, now))
            .collect())
    }

    pub async fn issue_api_key(
        &self,
        grant: &Grant,
        scopes: Vec<ApiScope>,
        name: Option<&str>,
        expires_at_ms: Option<i64>,
    ) -> Result<IssuedSecret, IdentityError> {
        let principals = self.principals(grant)?;
        if scopes.is_empty() {
            return Err(IdentityError::BadRequest(
                "an API key needs at least one scope".to_owned(),
            ));
        }
        no_escalation(grant, scopes_need(&scopes))?;
        check_expiry(expires_at_ms)?;
        let mut scopes = scopes;
        scopes.sort_by_key(|s| s.as_str());
        scopes.dedup();
        let options = IssueOptions {
            expires_at_ms,
            created_by: Some(grant.caller().label()),
        };
        principals
            .issue_with(
                grant.workspace_id(),
                name.unwrap_or("api key"),
                CredentialKind::ApiKey { scopes },
                API_KEY_PREFIX,
                &options,
            )
            .await
            .map_err(principals_error)
    }

    /// An ingest token for the user with `email`, or for the whole workspace without one.
    pub async fn issue_ingest_token(
        &self,
        grant: &Grant,
        email: Option<&str>,
        name: Option<&str>,
        expires_at_ms: Option<i64>,
    ) -> Result<IssuedSecret, IdentityError> {
        let principals = self.principals(grant)?;
        check_expiry(expires_at_ms)?;
        let ws = grant.workspace_id();
        let kind = match email {
            Some(email) => {
                let user = self
                    .store
                    .find_user_by_email(ws, email)
                    .await?
                    .filter(|u| u.is_enabled())
                    .ok_or_else(|| IdentityError::UnknownUser(email.to_owned()))?;
                CredentialKind::UserIngest { user_id: user.id }
            }
            None => CredentialKind::WorkspaceIngest,
        };
        let default_name = match email {
            Some(e) => format!("ingest token for {e}"),
            None => "workspace ingest token".to_owned(),
        };
        let options = IssueOptions {
            expires_at_ms,
            created_by: Some(grant.caller().label()),
        };
        principals
            .issue_with(
                ws,
                name.unwrap_or(&default_name),
                kind,
                INGEST_TOKEN_PREFIX,
                &options,
            )
            .await
            .map_err(principals_error)
    }

    pub async fn revoke_credential(&self, grant: &Grant, id: &str) -> Result<CredentialView, IdentityError> {
        let principals = self.principals(grant)?;
        let revoked = principals
            .revoke(grant.workspace_id(), id)
            .await
            .map_err(|e| match e {
                PrincipalsError::UnknownCredential(id) => IdentityError::UnknownCredential(id),
                other => principals_error(other),
            })?;
        Ok(CredentialView::of(&revoked, super::now_ms()))
    }
}

fn check_expiry(expires_at_ms: Option<i64>) -> Result<(), IdentityError> {
    match expires_at_ms {
        Some(at) if at <= super::now_ms() => Err(IdentityError::BadRequest(
            "expires_at is in the past: a credential must expire in the future".to_owned(),
        )),
        _ => Ok(()),
    }
}
