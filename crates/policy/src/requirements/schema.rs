//! The validated `requirements.toml`: typed where Codex's schema is known, verbatim JSON
//! where it is not (so nothing an admin wrote disappears from the API's view).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::enums::{ApprovalPolicy, ApprovalsReviewer, Residency, SandboxMode, WebSearchMode};
use super::network::NetworkRequirements;
use super::rules::RequirementsRule;
use crate::execpolicy::PrefixRule;

/// Constraints from one `requirements.toml`. Every field is optional: absent means
/// unconstrained, exactly as in Codex. Serialises to the JSON the API shows as "effective
/// constraints" (absent fields are omitted).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Requirements {
    /// Allowed `approval_policy` values; the first is the fallback. Never empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_approval_policies: Option<Vec<ApprovalPolicy>>,
    /// Allowed `approvals_reviewer` values; the first is the fallback. Never empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_approvals_reviewers: Option<Vec<ApprovalsReviewer>>,
    /// Allowed `sandbox_mode` values; always contains `read-only`, the fallback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_sandbox_modes: Option<Vec<SandboxMode>>,
    /// Allowed `web_search` values as written; `disabled` is always allowed in addition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_web_search_modes: Option<Vec<WebSearchMode>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_residency: Option<Residency>,
    /// MCP allowlist: server name → required identity. An empty map disables every server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<BTreeMap<String, McpServerIdentity>>,
    /// Plugin-bundled MCP allowlists: `"<plugin>@<marketplace>"` → server name → identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugins: Option<BTreeMap<String, BTreeMap<String, McpServerIdentity>>>,
    /// `[rules] prefix_rules`, in file order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RequirementsRule>>,
    /// Feature pins (`[features]`, alias `[feature_requirements]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<BTreeMap<String, bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experimental_network: Option<NetworkRequirements>,
    /// Per-host overrides of `allowed_sandbox_modes`; the first matching entry wins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_sandbox_config: Option<Vec<RemoteSandboxConfig>>,
    /// Other recognised keys (`permissions`, `hooks`, `apps`, `marketplaces`, `models`, ...)
    /// whose exact schema is unconfirmed: type-checked where codex-facts is clear, kept as
    /// written.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// How an allowlisted MCP server is recognised; serialises as `{"command": ...}` or
/// `{"url": ...}`, the TOML shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum McpServerIdentity {
    /// A stdio server launched with exactly this `command`.
    Command(String),
    /// A streamable-HTTP server at exactly this `url`.
    Url(String),
}

/// One `[[remote_sandbox_config]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemoteSandboxConfig {
    /// Case-insensitive wildcard patterns (`*`, `?`) matched against the hostname.
    pub hostname_patterns: Vec<String>,
    pub allowed_sandbox_modes: Vec<SandboxMode>,
}

impl Requirements {
    /// The prefix rules in the exec-policy evaluator's terms (empty without `[rules]`).
    pub fn prefix_rules(&self) -> Vec<PrefixRule> {
        self.rules
            .iter()
            .flatten()
            .map(RequirementsRule::to_prefix_rule)
            .collect()
    }

    pub fn approval_policy_allowed(&self, policy: ApprovalPolicy) -> bool {
        self.allowed_approval_policies
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&policy))
    }

    /// What Codex uses instead of a disallowed approval policy: the first allowed one.
    pub fn approval_policy_fallback(&self) -> Option<ApprovalPolicy> {
        self.allowed_approval_policies
            .as_ref()
            .and_then(|allowed| allowed.first().copied())
    }

    pub fn approvals_reviewer_allowed(&self, reviewer: ApprovalsReviewer) -> bool {
        self.allowed_approvals_reviewers
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&reviewer))
    }

    /// What Codex uses instead of a disallowed reviewer: the first allowed one.
    pub fn approvals_reviewer_fallback(&self) -> Option<ApprovalsReviewer> {
        self.allowed_approvals_reviewers
            .as_ref()
            .and_then(|allowed| allowed.first().copied())
    }

    /// Ignores `remote_sandbox_config`, which depends on the machine's hostname.
    pub fn sandbox_mode_allowed(&self, mode: SandboxMode) -> bool {
        self.allowed_sandbox_modes
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&mode))
    }

    /// The web search modes Codex accepts: the listed ones plus `disabled`; `None` when
    /// unconstrained.
    pub fn effective_web_search_modes(&self) -> Option<BTreeSet<WebSearchMode>> {
        self.allowed_web_search_modes.as_ref().map(|modes| {
            let mut accepted: BTreeSet<_> = modes.iter().copied().collect();
            accepted.insert(WebSearchMode::Disabled);
            accepted
        })
    }

    pub fn web_search_mode_allowed(&self, mode: WebSearchMode) -> bool {
        self.effective_web_search_modes()
            .is_none_or(|accepted| accepted.contains(&mode))
    }

    /// What Codex uses instead of a disallowed web search mode: the first allowed of
    /// cached, indexed, live, disabled.
    pub fn web_search_fallback(&self) -> Option<WebSearchMode> {
        let accepted = self.effective_web_search_modes()?;
        WebSearchMode::FALLBACK_ORDER
            .into_iter()
            .find(|mode| accepted.contains(mode))
    }

    /// The value a feature is pinned to, if any.
    pub fn feature_pin(&self, key: &str) -> Option<bool> {
        self.features.as_ref()?.get(key).copied()
    }
}
