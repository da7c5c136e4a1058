//! The enumerated values Codex accepts, spelled as in its TOML files, plus the Rust `Debug`
//! names Codex prints in its "falling back to required value" warnings (so Steward's messages
//! read like the ones users see in the TUI).

use serde::{Deserialize, Serialize};

use crate::execpolicy::{Decision, Reviewer};

/// A string-valued setting: how it is spelled in TOML and which spellings exist.
pub trait CodexEnum: Sized + Copy {
    /// Canonical spellings, in Codex's declaration order; shown in error messages.
    const ALLOWED: &'static [&'static str];
    /// Parses any accepted spelling, including deprecated aliases.
    fn parse(s: &str) -> Option<Self>;
    /// For a deprecated alias, the canonical spelling it maps to.
    fn deprecated_alias_of(_s: &str) -> Option<&'static str> {
        None
    }
}

/// `approval_policy` / `allowed_approval_policies` (Codex's `AskForApproval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApprovalPolicy {
    #[serde(rename = "untrusted")]
    Untrusted,
    /// Also what the deprecated `on-failure` means.
    #[serde(rename = "on-request")]
    OnRequest,
    #[serde(rename = "never")]
    Never,
    /// Fine-grained approvals (newer Codex). Compared by kind only: the per-flow booleans of
    /// `{ granular = { ... } }` are not part of the comparison.
    #[serde(rename = "granular")]
    Granular,
}

impl CodexEnum for ApprovalPolicy {
    const ALLOWED: &'static [&'static str] = &["untrusted", "on-request", "on-failure", "never", "granular"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "untrusted" => Self::Untrusted,
            "on-request" | "on-failure" => Self::OnRequest,
            "never" => Self::Never,
            "granular" => Self::Granular,
            _ => return None,
        })
    }
    fn deprecated_alias_of(s: &str) -> Option<&'static str> {
        (s == "on-failure").then_some("on-request")
    }
}

impl ApprovalPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Untrusted => "untrusted",
            Self::OnRequest => "on-request",
            Self::Never => "never",
            Self::Granular => "granular",
        }
    }
    /// The name Codex prints in constraint warnings.
    pub fn codex_name(self) -> &'static str {
        match self {
            Self::Untrusted => "UnlessTrusted",
            Self::OnRequest => "OnRequest",
            Self::Never => "Never",
            Self::Granular => "Granular",
        }
    }
}

/// `approvals_reviewer` / `allowed_approvals_reviewers` (newer Codex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalsReviewer {
    User,
    /// Also what the legacy `guardian_subagent` means.
    AutoReview,
}

impl CodexEnum for ApprovalsReviewer {
    const ALLOWED: &'static [&'static str] = &["user", "auto_review", "guardian_subagent"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "auto_review" | "guardian_subagent" => Self::AutoReview,
            _ => return None,
        })
    }
    fn deprecated_alias_of(s: &str) -> Option<&'static str> {
        (s == "guardian_subagent").then_some("auto_review")
    }
}

impl ApprovalsReviewer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::AutoReview => "auto_review",
        }
    }
    pub fn codex_name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::AutoReview => "AutoReview",
        }
    }
}

/// `allowed_sandbox_modes` values (Codex's `SandboxModeRequirement`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
    /// Only programmatic use; config.toml's `sandbox_mode` cannot select it.
    ExternalSandbox,
}

impl CodexEnum for SandboxMode {
    const ALLOWED: &'static [&'static str] = &[
        "read-only",
        "workspace-write",
        "danger-full-access",
        "external-sandbox",
    ];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "read-only" => Self::ReadOnly,
            "workspace-write" => Self::WorkspaceWrite,
            "danger-full-access" => Self::DangerFullAccess,
            "external-sandbox" => Self::ExternalSandbox,
            _ => return None,
        })
    }
}

impl SandboxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WorkspaceWrite => "workspace-write",
            Self::DangerFullAccess => "danger-full-access",
            Self::ExternalSandbox => "external-sandbox",
        }
    }
    pub fn codex_name(self) -> &'static str {
        match self {
            Self::ReadOnly => "ReadOnly",
            Self::WorkspaceWrite => "WorkspaceWrite",
            Self::DangerFullAccess => "DangerFullAccess",
            Self::ExternalSandbox => "ExternalSandbox",
        }
    }
}

/// config.toml's `sandbox_mode`, which (unlike requirements) has no `external-sandbox`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConfigSandboxMode(pub(crate) SandboxMode);

impl CodexEnum for ConfigSandboxMode {
    const ALLOWED: &'static [&'static str] = &["read-only", "workspace-write", "danger-full-access"];
    fn parse(s: &str) -> Option<Self> {
        match SandboxMode::parse(s)? {
            SandboxMode::ExternalSandbox => None,
            mode => Some(Self(mode)),
        }
    }
}

/// `web_search` (config.toml) and `allowed_web_search_modes` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebSearchMode {
    Disabled,
    Cached,
    Live,
    /// Newest Codex.
    Indexed,
}

impl CodexEnum for WebSearchMode {
    const ALLOWED: &'static [&'static str] = &["disabled", "cached", "live", "indexed"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disabled" => Self::Disabled,
            "cached" => Self::Cached,
            "live" => Self::Live,
            "indexed" => Self::Indexed,
            _ => return None,
        })
    }
}

impl WebSearchMode {
    /// Codex's preference when the configured mode is not allowed (codex-facts §4.4).
    pub const FALLBACK_ORDER: [WebSearchMode; 4] = [Self::Cached, Self::Indexed, Self::Live, Self::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Cached => "cached",
            Self::Live => "live",
            Self::Indexed => "indexed",
        }
    }
    pub fn codex_name(self) -> &'static str {
        match self {
            Self::Disabled => "Disabled",
            Self::Cached => "Cached",
            Self::Live => "Live",
            Self::Indexed => "Indexed",
        }
    }
}

/// `enforce_residency`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Residency {
    Us,
}

impl CodexEnum for Residency {
    const ALLOWED: &'static [&'static str] = &["us"];
    fn parse(s: &str) -> Option<Self> {
        (s == "us").then_some(Self::Us)
    }
}

/// A prefix rule's `decision`. `allow` parses (Codex's serde accepts it) so that the rule
/// check can reject it with its own code; the message lists only what requirements permit.
impl CodexEnum for Decision {
    const ALLOWED: &'static [&'static str] = &["prompt", "forbidden"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "allow" => Self::Allow,
            "prompt" => Self::Prompt,
            "forbidden" => Self::Forbidden,
            _ => return None,
        })
    }
}

/// A prefix rule's `reviewer`.
impl CodexEnum for Reviewer {
    const ALLOWED: &'static [&'static str] = &["user", "auto_review"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "auto_review" | "guardian_subagent" => Self::AutoReview,
            _ => return None,
        })
    }
    fn deprecated_alias_of(s: &str) -> Option<&'static str> {
        (s == "guardian_subagent").then_some("auto_review")
    }
}

/// `apps.<id>.tools.<tool>.approval_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AppToolApproval;

impl CodexEnum for AppToolApproval {
    const ALLOWED: &'static [&'static str] = &["auto", "prompt", "writes", "approve"];
    fn parse(s: &str) -> Option<Self> {
        Self::ALLOWED.contains(&s).then_some(Self)
    }
}

/// `experimental_network.domains` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainPermission {
    Allow,
    Deny,
}

impl CodexEnum for DomainPermission {
    const ALLOWED: &'static [&'static str] = &["allow", "deny"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "allow" => Self::Allow,
            "deny" => Self::Deny,
            _ => return None,
        })
    }
}

/// `experimental_network.unix_sockets` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnixSocketPermission {
    Allow,
    None,
}

impl CodexEnum for UnixSocketPermission {
    const ALLOWED: &'static [&'static str] = &["allow", "none"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "allow" => Self::Allow,
            "none" => Self::None,
            _ => return None,
        })
    }
}

/// `[otel]` OTLP/HTTP `protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OtlpProtocol;

impl CodexEnum for OtlpProtocol {
    const ALLOWED: &'static [&'static str] = &["binary", "json"];
    fn parse(s: &str) -> Option<Self> {
        Self::ALLOWED.contains(&s).then_some(Self)
    }
}
