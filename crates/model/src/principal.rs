//! Workspaces, users and credentials (ingest tokens and API keys).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    /// Whether analytics rows may carry users' emails (`actor.email`).
    pub analytics_emails: bool,
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
}

impl ApiScope {
    pub const ALL: [ApiScope; 7] = [
        ApiScope::AnalyticsRead,
        ApiScope::ComplianceRead,
        ApiScope::ComplianceDelete,
        ApiScope::PoliciesRead,
        ApiScope::PoliciesManage,
        ApiScope::Ingest,
        ApiScope::Admin,
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
}

impl Credential {
    pub fn has_scope(&self, scope: ApiScope) -> bool {
        match &self.kind {
            CredentialKind::ApiKey { scopes } => scopes.contains(&scope),
            CredentialKind::UserIngest { .. } | CredentialKind::WorkspaceIngest => scope == ApiScope::Ingest,
        }
    }
}
