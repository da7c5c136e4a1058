//! `managed_config.toml` (codex-facts §5): a normal `config.toml` whose values sit above the
//! user's on every launch. It sets values but does not constrain them, so validation is the
//! config.toml schema: syntax, the types of well-known keys, the `[otel]` shape.

use std::collections::BTreeMap;

use serde::Serialize;

use super::config_toml::{parse_config_file, LayerSettings};
use super::diagnostics::Validation;
use super::enums::{ApprovalPolicy, ApprovalsReviewer, SandboxMode, WebSearchMode};
use super::schema::Requirements;
use super::spans::Sink;

/// The settings of one layer (top level or a profile) that requirements can constrain.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConfigSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<ApprovalPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals_reviewer: Option<ApprovalsReviewer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_mode: Option<SandboxMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_search: Option<WebSearchMode>,
    /// Boolean feature toggles.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, bool>,
}

/// One `[mcp_servers.<name>]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct McpServerConfig {
    /// Stdio servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Streamable-HTTP servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A validated `managed_config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ManagedConfig {
    #[serde(flatten)]
    pub settings: ConfigSettings,
    /// The profile it selects, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, ConfigSettings>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// The `[otel]` table as written (validated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otel: Option<serde_json::Value>,
    /// The whole document as JSON, unknown keys included.
    pub document: serde_json::Value,
}

impl ManagedConfig {
    /// The single-value requirements Codex derives from a managed config's top-level
    /// `approval_policy`, `approvals_reviewer` and `sandbox_mode` (the legacy path of
    /// codex-facts §4.1; `read-only` is always added to the sandbox modes).
    pub fn legacy_requirements(&self) -> Requirements {
        let settings = &self.settings;
        Requirements {
            allowed_approval_policies: settings.approval_policy.map(|p| vec![p]),
            allowed_approvals_reviewers: settings.approvals_reviewer.map(|r| vec![r]),
            allowed_sandbox_modes: settings.sandbox_mode.map(|mode| {
                let mut modes = vec![mode];
                if mode != SandboxMode::ReadOnly {
                    modes.push(SandboxMode::ReadOnly);
                }
                modes
            }),
            ..Requirements::default()
        }
    }
}

/// Validates a `managed_config.toml` document (or any config.toml).
pub fn parse_managed_config(text: &str) -> Validation<ManagedConfig> {
    let mut sink = Sink::new(text);
    let value = parse_config_file(&mut sink, text).map(|file| ManagedConfig {
        settings: settings(&file.top),
        profile: file.profile,
        profiles: file
            .profiles
            .iter()
            .map(|(name, layer)| (name.clone(), settings(layer)))
            .collect(),
        mcp_servers: file
            .mcp_servers
            .into_iter()
            .map(|server| {
                (
                    server.name,
                    McpServerConfig {
                        command: server.command,
                        url: server.url,
                        enabled: server.enabled,
                    },
                )
            })
            .collect(),
        otel: file.otel,
        document: file.raw,
    });
    Validation::from_parts(value, sink.into_diagnostics())
}

fn settings(layer: &LayerSettings) -> ConfigSettings {
    ConfigSettings {
        model: layer.model.as_ref().map(|m| m.value.clone()),
        approval_policy: layer.approval_policy.as_ref().map(|p| p.value),
        approvals_reviewer: layer.approvals_reviewer.as_ref().map(|r| r.value),
        sandbox_mode: layer.sandbox_mode.as_ref().map(|m| m.value),
        web_search: layer.web_search.as_ref().map(|m| m.value),
        features: layer
            .features
            .iter()
            .map(|(key, value)| (key.clone(), value.value))
            .collect(),
    }
}
