//! Workspaces, users and credentials (ingest tokens and API keys).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    /// Whether analytics rows may carry users' emails (`actor.email`).
    pub analytics_emails: bool,
    /// The role of users no role assignment names (see `access::BuiltinRole`, or a custom role).
    pub default_role: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// A person, known by email or ChatGPT account id.
    Person,
    /// Telemetry from a workspace token that named no user: one principal per host.
    Unattributed,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Person => "person",
            UserKind::Unattributed => "unattributed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "person" => Some(UserKind::Person),
            "unattributed" => Some(UserKind::Unattributed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// `user-<...>`, the Analytics API's `user_id`.
    pub id: String,
    pub workspace_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub account_id: Option<String>,
    pub kind: UserKind,
    /// Unique per workspace: `email:<lowercased>`, `account:<id>` or `host:<host.name>`.
    pub principal_key: String,
    pub created_at_ms: i64,
    /// SCIM `userName` (the identity provider's login name), for provisioned users.
    pub user_name: Option<String>,
    /// SCIM `externalId`: the identity provider's id for this user.
    pub external_id: Option<String>,
    /// False once deactivated (SCIM `active=false`): no sign-in, tokens and sessions revoked.
    pub active: bool,
    /// Set when SCIM deleted the user: the row stays (events point at it), the person is gone.
    pub deleted_at_ms: Option<i64>,
}

impl User {
    /// Whether this person may sign in and use credentials.
    pub fn is_enabled(&self) -> bool {
        self.active && self.deleted_at_ms.is_none()
    }
}

/// The scopes an API key can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiScope {
    #[serde(rename = "codex.enterprise.analytics.read")]
    AnalyticsRead,
    #[serde(rename = "compliance.read")]
    ComplianceRead,
    #[serde(rename = "compliance.delete")]
    ComplianceDelete,
    #[serde(rename = "policies.read")]
    PoliciesRead,
    #[serde(rename = "policies.manage")]
    PoliciesManage,
    #[serde(rename = "ingest")]
    Ingest,
    #[serde(rename = "admin")]
    Admin,
    /// SCIM 2.0 provisioning at `/scim/v2`, for the identity provider.
    #[serde(rename = "scim")]
    Scim,
}

impl ApiScope {
    pub const ALL: [ApiScope; 8] = [
        ApiScope::AnalyticsRead,
        ApiScope::ComplianceRead,
        ApiScope::ComplianceDelete,
        ApiScope::PoliciesRead,
        ApiScope::PoliciesManage,
        ApiScope::Ingest,
        ApiScope::Admin,
        ApiScope::Scim,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::AnalyticsRead => "codex.enterprise.analytics.read",
            ApiScope::ComplianceRead => "compliance.read",
            ApiScope::ComplianceDelete => "compliance.delete",
            ApiScope::PoliciesRead => "policies.read",
            ApiScope::PoliciesManage => "policies.manage",
            ApiScope::Ingest => "ingest",
            ApiScope::Admin => "admin",
            ApiScope::Scim => "scim",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CredentialKind {
    /// Ingest token bound to one user: every record is that user's.
    UserIngest { user_id: String },
    /// Ingest token for a whole workspace: the user comes from the telemetry's attributes.
    WorkspaceIngest,
    /// API key for the HTTP APIs, limited to its scopes.
    ApiKey { scopes: Vec<ApiScope> },
}

impl CredentialKind {
    pub fn label(&self) -> &'static str {
        match self {
            CredentialKind::UserIngest { .. } => "user_ingest_token",
            CredentialKind::WorkspaceIngest => "workspace_ingest_token",
            CredentialKind::ApiKey { .. } => "api_key",
        }
    }
}

/// A stored credential. The secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub kind: CredentialKind,
    /// First characters of the secret, to recognise it in listings.
    pub prefix: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    /// After this instant the credential no longer authenticates.
    pub expires_at_ms: Option<i64>,
    /// Last successful authentication, recorded at most once a minute.
    pub last_used_at_ms: Option<i64>,
    /// Who created it (`admin:<name>`, `user:<id>`, `key:<id>`, `local`), when known.
    pub created_by: Option<String>,
}

impl Credential {
    /// Not revoked and not expired at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|at| now_ms < at)
    }

    pub fn has_scope(&self, scope: ApiScope) -> bool {
        match &self.kind {
            CredentialKind::ApiKey { scopes } => scopes.contains(&scope),
            CredentialKind::UserIngest { .. } | CredentialKind::WorkspaceIngest => scope == ApiScope::Ingest,
        }
    }
}
