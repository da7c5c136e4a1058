//! Which settings of a user's `config.toml` Codex would override under a policy (codex-facts
//! §4.4), and the value it falls back to.
//!
//! Codex does not refuse a config that conflicts with requirements: each disallowed value is
//! replaced by a compliant one and a warning is shown. Steward lists those replacements so an
//! admin can see, before rolling out a policy, whose setup it changes and how.
//!
//! Only values the config sets explicitly are reported. When a setting is absent, Codex
//! starts from the requirement's own default (the first allowed approval policy and
//! reviewer, `read-only`, the preferred allowed web search mode), so nothing is overridden;
//! the one exception, a trusted project's implicit `workspace-write` sandbox being pulled
//! back to `read-only`, depends on the machine's project trust and is not visible in the
//! config text. `-c` flags and `remote_sandbox_config` (hostname-dependent) are out of scope.

use serde::Serialize;

use crate::requirements::{
    join_key, parse_config_checked, ApprovalPolicy, ApprovalsReviewer, ConfigFile, Diagnostic, LineIndex,
    Located, McpServerIdentity, Requirements, SandboxMode, WebSearchMode,
};

/// Where Codex's warnings say a requirement came from when the caller does not say.
pub const DEFAULT_REQUIREMENT_SOURCE: &str = "/etc/codex/requirements.toml";

/// One setting Codex would replace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Override {
    /// Key path in the user's config, e.g. `profiles.ci.sandbox_mode` or
    /// `mcp_servers.docs.enabled`.
    pub path: String,
    /// 1-based position of the configured value (for MCP servers, of the server's table).
    pub line: usize,
    pub column: usize,
    /// The value as the user wrote it (`true` for an MCP server that is enabled by default).
    pub user_value: serde_json::Value,
    /// What Codex uses instead.
    pub fallback_value: serde_json::Value,
    /// Why, worded like Codex's own warning.
    pub reason: String,
}

/// Lists what Codex would override in `user_config_toml` under `requirements`. Errors are
/// the config's own problems (Codex would not load it at all).
pub fn check_config(
    requirements: &Requirements,
    user_config_toml: &str,
) -> Result<Vec<Override>, Vec<Diagnostic>> {
    check_config_from(requirements, user_config_toml, DEFAULT_REQUIREMENT_SOURCE)
}

/// [`check_config`], naming the requirements' source in the reasons as Codex does
/// (`/etc/codex/requirements.toml`, `cloud requirements`, `MDM com.openai.codex:requirements_toml_base64`).
pub fn check_config_from(
    requirements: &Requirements,
    user_config_toml: &str,
    source: &str,
) -> Result<Vec<Override>, Vec<Diagnostic>> {
    let file = parse_config_checked(user_config_toml)?;
    let checker = Checker {
        requirements,
        source,
        index: LineIndex::new(user_config_toml),
        out: Vec::new(),
    };
    Ok(checker.run(&file))
}

struct Checker<'a> {
    requirements: &'a Requirements,
    source: &'a str,
    index: LineIndex<'a>,
    out: Vec<Override>,
}

impl Checker<'_> {
    fn run(mut self, file: &ConfigFile) -> Vec<Override> {
        for layer in std::iter::once(&file.top).chain(file.profiles.iter().map(|(_, l)| l)) {
            let path = |key: &str| {
                if layer.prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{}.{key}", layer.prefix)
                }
            };
            if let Some(policy) = &layer.approval_policy {
                self.approval_policy(path("approval_policy"), policy);
            }
            if let Some(reviewer) = &layer.approvals_reviewer {
                self.approvals_reviewer(path("approvals_reviewer"), reviewer);
            }
            if let Some(mode) = &layer.sandbox_mode {
                self.sandbox_mode(path("sandbox_mode"), mode);
            }
            if let Some(mode) = &layer.web_search {
                self.web_search(path("web_search"), mode);
            }
            for (key, value) in &layer.features {
                self.feature(path(&format!("features.{key}")), key, value);
            }
        }
        self.mcp_servers(file);
        self.out.sort_by_key(|o| (o.line, o.column));
        self.out
    }

    fn push<T>(&mut self, path: String, at: &Located<T>, fallback: &str, reason: String) {
        self.push_raw(path, at.span.start, at.raw.clone(), fallback.into(), reason);
    }

    fn push_raw(
        &mut self,
        path: String,
        offset: usize,
        user_value: serde_json::Value,
        fallback_value: serde_json::Value,
        reason: String,
    ) {
        let (line, column) = self.index.locate(offset);
        self.out.push(Override {
            path,
            line,
            column,
            user_value,
            fallback_value,
            reason,
        });
    }

    /// Codex's wording (`ConstraintError::InvalidValue` inside the fallback warning).
    fn reason(&self, field: &str, fallback: &str, candidate: &str, allowed: &[&str]) -> String {
        format!(
            "Configured value for `{field}` is disallowed by requirements; falling back to required value {fallback}. \
             Details: invalid value for `{field}`: `{candidate}` is not in the allowed set [{}] (set by {})",
            allowed.join(", "),
            self.source
        )
    }

    fn approval_policy(&mut self, path: String, at: &Located<ApprovalPolicy>) {
        let (Some(allowed), Some(fallback)) = (
            &self.requirements.allowed_approval_policies,
            self.requirements.approval_policy_fallback(),
        ) else {
            return;
        };
        if self.requirements.approval_policy_allowed(at.value) {
            return;
        }
        let names: Vec<_> = allowed.iter().map(|p| p.codex_name()).collect();
        let reason = self.reason(
            "approval_policy",
            fallback.codex_name(),
            at.value.codex_name(),
            &names,
        );
        self.push(path, at, fallback.as_str(), reason);
    }

    fn approvals_reviewer(&mut self, path: String, at: &Located<ApprovalsReviewer>) {
        let (Some(allowed), Some(fallback)) = (
            &self.requirements.allowed_approvals_reviewers,
            self.requirements.approvals_reviewer_fallback(),
        ) else {
            return;
        };
        if self.requirements.approvals_reviewer_allowed(at.value) {
            return;
        }
        let names: Vec<_> = allowed.iter().map(|r| r.codex_name()).collect();
        let reason = self.reason(
            "approvals_reviewer",
            fallback.codex_name(),
            at.value.codex_name(),
            &names,
        );
        self.push(path, at, fallback.as_str(), reason);
    }

    fn sandbox_mode(&mut self, path: String, at: &Located<SandboxMode>) {
        let Some(allowed) = &self.requirements.allowed_sandbox_modes else {
            return;
        };
        if self.requirements.sandbox_mode_allowed(at.value) {
            return;
        }
        let names: Vec<_> = allowed.iter().map(|m| m.codex_name()).collect();
        let fallback = SandboxMode::ReadOnly;
        let reason = self.reason(
            "sandbox_mode",
            fallback.codex_name(),
            at.value.codex_name(),
            &names,
        );
        self.push(path, at, fallback.as_str(), reason);
    }

    fn web_search(&mut self, path: String, at: &Located<WebSearchMode>) {
        let (Some(accepted), Some(fallback)) = (
            self.requirements.effective_web_search_modes(),
            self.requirements.web_search_fallback(),
        ) else {
            return;
        };
        if accepted.contains(&at.value) {
            return;
        }
        let names: Vec<_> = accepted.iter().map(|m| m.codex_name()).collect();
        let reason = self.reason(
            "web_search_mode",
            fallback.codex_name(),
            at.value.codex_name(),
            &names,
        );
        self.push(path, at, fallback.as_str(), reason);
    }

    fn feature(&mut self, path: String, key: &str, at: &Located<bool>) {
        let Some(pin) = self.requirements.feature_pin(key) else {
            return;
        };
        if pin == at.value {
            return;
        }
        let reason = format!(
            "Feature `{key}` is pinned to {pin} by requirements (set by {}); the configured value {} is ignored",
            self.source, at.value
        );
        self.push_raw(path, at.span.start, at.raw.clone(), pin.into(), reason);
    }

    /// Servers not in the allowlist, or whose identity differs, are disabled.
    fn mcp_servers(&mut self, file: &ConfigFile) {
        let Some(allowlist) = &self.requirements.mcp_servers else {
            return;
        };
        for server in &file.mcp_servers {
            if server.enabled == Some(false) {
                continue;
            }
            let problem = match allowlist.get(&server.name) {
                None if allowlist.is_empty() => {
                    "the requirements' `mcp_servers` allowlist is empty, which disables every MCP server"
                        .to_owned()
                }
                None => format!(
                    "`{}` is not in the requirements' `mcp_servers` allowlist",
                    server.name
                ),
                Some(McpServerIdentity::Command(want)) => match &server.command {
                    Some(got) if got == want => continue,
                    Some(got) => format!("its command `{got}` is not the required `{want}`"),
                    None => format!("it is not a stdio server; the requirements allow only command `{want}`"),
                },
                Some(McpServerIdentity::Url(want)) => match &server.url {
                    Some(got) if got == want => continue,
                    Some(got) => format!("its url `{got}` is not the required `{want}`"),
                    None => format!("it is not an HTTP server; the requirements allow only url `{want}`"),
                },
            };
            let reason = format!(
                "MCP server `{}` is disabled by requirements (set by {}): {problem}",
                server.name, self.source
            );
            let path = join_key(&join_key("mcp_servers", &server.name), "enabled");
            self.push_raw(path, server.span.start, true.into(), false.into(), reason);
        }
    }
}
