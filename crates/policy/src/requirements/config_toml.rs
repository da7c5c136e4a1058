//! A Codex `config.toml` (user file, profile, or `managed_config.toml`, which has the same
//! schema), read for the settings requirements constrain and type-checked for the keys whose
//! type is well known. Codex's `ConfigToml` ignores unknown keys, so they are fine here,
//! except top-level near-misses of a well-known key, which are almost surely typos.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::diagnostics::{Diagnostic, DiagnosticCode, Validation};
use super::enums::{ApprovalPolicy, ApprovalsReviewer, ConfigSandboxMode, SandboxMode, WebSearchMode};
use super::features;
use super::otel;
use super::spans::{join_key, Sink};
use super::walk::{self, Node};

/// A value with where it was written and how (for "you wrote X" messages).
#[derive(Clone, Debug)]
pub(crate) struct Located<T> {
    pub(crate) value: T,
    /// Byte span of the value.
    pub(crate) span: Range<usize>,
    /// The value as written.
    pub(crate) raw: serde_json::Value,
}

/// The constrained settings of one layer: the top level or one `[profiles.<name>]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerSettings {
    /// `""` for the top level, `profiles.<name>` for a profile.
    pub(crate) prefix: String,
    pub(crate) model: Option<Located<String>>,
    pub(crate) approval_policy: Option<Located<ApprovalPolicy>>,
    pub(crate) approvals_reviewer: Option<Located<ApprovalsReviewer>>,
    pub(crate) sandbox_mode: Option<Located<SandboxMode>>,
    pub(crate) web_search: Option<Located<WebSearchMode>>,
    /// Boolean `[features]` entries (a feature may also take a config table; those are
    /// enabled-by-configuration and not listed here).
    pub(crate) features: Vec<(String, Located<bool>)>,
}

/// One `[mcp_servers.<name>]` of a config.
#[derive(Clone, Debug)]
pub(crate) struct McpServerEntry {
    pub(crate) name: String,
    /// Span of the server's table (its header, or the inline table).
    pub(crate) span: Range<usize>,
    pub(crate) command: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) enabled: Option<bool>,
}

/// A parsed config file.
#[derive(Clone, Debug)]
pub(crate) struct ConfigFile {
    pub(crate) top: LayerSettings,
    /// The selected profile (`profile = "..."`).
    pub(crate) profile: Option<String>,
    pub(crate) profiles: Vec<(String, LayerSettings)>,
    pub(crate) mcp_servers: Vec<McpServerEntry>,
    pub(crate) otel: Option<serde_json::Value>,
    /// The whole document as JSON.
    pub(crate) raw: serde_json::Value,
}

/// String-valued keys valid both at the top level and in a profile.
const STRING_KEYS: &[&str] = &[
    "model",
    "review_model",
    "model_provider",
    "model_reasoning_effort",
    "plan_mode_reasoning_effort",
    "model_reasoning_summary",
    "model_verbosity",
    "service_tier",
    "personality",
    "chatgpt_base_url",
    "openai_base_url",
    "instructions",
    "developer_instructions",
    "compact_prompt",
    "default_permissions",
    "oss_provider",
    "experimental_compact_prompt_file",
    "model_instructions_file",
    "model_catalog_json",
    "sqlite_home",
    "log_dir",
    "cli_auth_credentials_store",
    "mcp_oauth_credentials_store",
    "forced_login_method",
];

const BOOL_KEYS: &[&str] = &[
    "hide_agent_reasoning",
    "show_raw_agent_reasoning",
    "model_supports_reasoning_summaries",
    "check_for_update_on_startup",
    "disable_paste_burst",
    "suppress_unstable_features_warning",
    "allow_login_shell",
    "include_permissions_instructions",
    "include_apps_instructions",
    "include_environment_context",
    "experimental_use_unified_exec_tool",
];

const INTEGER_KEYS: &[&str] = &[
    "model_context_window",
    "model_auto_compact_token_limit",
    "project_doc_max_bytes",
    "tool_output_token_limit",
    "background_terminal_max_timeout",
];

const TABLE_KEYS: &[&str] = &[
    "model_providers",
    "projects",
    "tools",
    "history",
    "tui",
    "shell_environment_policy",
    "windows",
    "permissions",
    "hooks",
    "plugins",
    "marketplaces",
    "apps",
    "agents",
    "memories",
    "skills",
    "notice",
    "auto_review",
    "tool_suggest",
    "sandbox_workspace_write",
    "analytics",
    "feedback",
];

/// Keys with special handling, besides the lists above.
const SPECIAL_KEYS: &[&str] = &[
    "approval_policy",
    "approvals_reviewer",
    "sandbox_mode",
    "web_search",
    "features",
    "notify",
    "profile",
    "profiles",
    "mcp_servers",
    "otel",
];

/// Parses a config.toml for callers that only need the settings: the errors if Codex would
/// not load it (warnings are dropped).
pub(crate) fn parse_config_checked(text: &str) -> Result<ConfigFile, Vec<Diagnostic>> {
    let mut sink = Sink::new(text);
    let file = parse_config_file(&mut sink, text);
    let errors: Vec<Diagnostic> = sink
        .into_diagnostics()
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    match file {
        Some(file) if errors.is_empty() => Ok(file),
        _ => Err(Validation::<()>::from_parts(None, errors).errors),
    }
}

/// Parses and checks a config.toml; `None` if it has errors (Codex would not load it).
pub(crate) fn parse_config_file(sink: &mut Sink<'_>, text: &str) -> Option<ConfigFile> {
    let root = walk::parse_document(sink, text)?;
    let root = root.get_ref();
    let before = sink.error_count();

    let top = read_layer(sink, "", root);
    warn_near_misses(sink, root);

    let profile = walk::get(root, "profile").and_then(|(_, p)| walk::string(sink, "profile", p));
    let mut profiles = Vec::new();
    if let Some((_, node)) = walk::get(root, "profiles") {
        if let Some(table) = walk::table(sink, "profiles", node) {
            for (name, value) in table.iter() {
                let prefix = join_key("profiles", name.get_ref());
                if let Some(layer) = walk::table(sink, &prefix, value) {
                    profiles.push((name.get_ref().to_string(), read_layer(sink, &prefix, layer)));
                }
            }
        }
    }
    let mcp_servers = walk::get(root, "mcp_servers")
        .map(|(_, node)| read_mcp_servers(sink, node))
        .unwrap_or_default();
    let otel = walk::get(root, "otel")
        .and_then(|(_, node)| otel::check_otel(sink, "otel", node).then(|| walk::to_json(node.get_ref())));

    (sink.error_count() == before).then(|| ConfigFile {
        top,
        profile,
        profiles,
        mcp_servers,
        otel,
        raw: walk::to_json(&DeValue::Table(root.clone())),
    })
}

fn located<T>(node: &Node<'_>, value: T) -> Located<T> {
    Located {
        value,
        span: node.span(),
        raw: walk::to_json(node.get_ref()),
    }
}

/// Reads and checks the keys a layer (top level or profile) may set.
fn read_layer(sink: &mut Sink<'_>, prefix: &str, table: &DeTable<'_>) -> LayerSettings {
    let mut layer = LayerSettings {
        prefix: prefix.to_owned(),
        ..LayerSettings::default()
    };
    for (key, node) in table.iter() {
        let name = key.get_ref().as_ref();
        let path = join_key(prefix, name);
        match name {
            "model" => {
                layer.model = walk::string(sink, &path, node).map(|m| located(node, m));
            }
            "approval_policy" => {
                layer.approval_policy = walk::approval_policy(sink, &path, node).map(|p| located(node, p));
            }
            "approvals_reviewer" => {
                layer.approvals_reviewer =
                    walk::enum_value::<ApprovalsReviewer>(sink, &path, node).map(|r| located(node, r));
            }
            "sandbox_mode" => {
                layer.sandbox_mode =
                    walk::enum_value::<ConfigSandboxMode>(sink, &path, node).map(|m| located(node, m.0));
            }
            "web_search" => {
                layer.web_search =
                    walk::enum_value::<WebSearchMode>(sink, &path, node).map(|m| located(node, m));
            }
            "features" => layer.features = read_features(sink, &path, node),
            "notify" => {
                walk::string_array(sink, &path, node);
            }
            _ if STRING_KEYS.contains(&name) => {
                walk::string(sink, &path, node);
            }
            _ if BOOL_KEYS.contains(&name) => {
                walk::boolean(sink, &path, node);
            }
            _ if INTEGER_KEYS.contains(&name) => {
                walk::integer_in(sink, &path, node, 0, i64::MAX);
            }
            _ if TABLE_KEYS.contains(&name) => check_known_table(sink, &path, name, node),
            _ => {}
        }
    }
    layer
}

/// `[features]`: each value is a boolean, or (newer features) a configuration table that
/// implies the feature is on. Unknown keys are ignored by Codex, with a warning.
fn read_features(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Vec<(String, Located<bool>)> {
    let Some(table) = walk::table(sink, path, node) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        if !features::is_known_feature(key.get_ref()) {
            sink.warn(
                DiagnosticCode::UnknownFeature,
                &key_path,
                &key.span(),
                format!(
                    "`{}` is not a Codex 0.169.0 feature; Codex ignores it",
                    key.get_ref()
                ),
            );
        }
        match value.get_ref() {
            DeValue::Boolean(b) => out.push((key.get_ref().to_string(), located(value, *b))),
            DeValue::Table(_) => {}
            _ => walk::wrong_type(
                sink,
                &key_path,
                value,
                "a boolean (or a feature's settings table)",
            ),
        }
    }
    out
}

fn check_known_table(sink: &mut Sink<'_>, path: &str, name: &str, node: &Node<'_>) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    match name {
        "analytics" | "feedback" => {
            if let Some((_, enabled)) = walk::get(table, "enabled") {
                walk::boolean(sink, &join_key(path, "enabled"), enabled);
            }
        }
        "sandbox_workspace_write" => {
            for (key, value) in table.iter() {
                let key_path = join_key(path, key.get_ref());
                match key.get_ref().as_ref() {
                    "writable_roots" => {
                        walk::string_array(sink, &key_path, value);
                    }
                    "network_access" | "exclude_tmpdir_env_var" | "exclude_slash_tmp" => {
                        walk::boolean(sink, &key_path, value);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn read_mcp_servers(sink: &mut Sink<'_>, node: &Node<'_>) -> Vec<McpServerEntry> {
    let Some(table) = walk::table(sink, "mcp_servers", node) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in table.iter() {
        let path = join_key("mcp_servers", name.get_ref());
        let Some(server) = walk::table(sink, &path, value) else {
            continue;
        };
        let field = |sink: &mut Sink<'_>, key: &str| {
            walk::get(server, key).and_then(|(_, v)| walk::string(sink, &join_key(&path, key), v))
        };
        let command = field(sink, "command");
        let url = field(sink, "url");
        if let Some((_, args)) = walk::get(server, "args") {
            walk::string_array(sink, &join_key(&path, "args"), args);
        }
        let enabled = walk::get(server, "enabled")
            .and_then(|(_, v)| walk::boolean(sink, &join_key(&path, "enabled"), v));
        let has_command = walk::get(server, "command").is_some();
        let has_url = walk::get(server, "url").is_some();
        if !has_command && !has_url {
            sink.error(
                DiagnosticCode::InvalidMcpServer,
                &path,
                &value.span(),
                format!("`{path}` needs `command` (a stdio server) or `url` (an HTTP server)"),
            );
        }
        out.push(McpServerEntry {
            name: name.get_ref().to_string(),
            span: value.span(),
            command,
            url,
            enabled,
        });
    }
    out
}

/// Well-known top-level keys a typo would most likely target.
const NEAR_MISS_TARGETS: &[&str] = &[
    "model",
    "approval_policy",
    "approvals_reviewer",
    "sandbox_mode",
    "web_search",
    "features",
    "profile",
    "profiles",
    "mcp_servers",
    "otel",
    "model_provider",
    "model_providers",
    "sandbox_workspace_write",
    "chatgpt_base_url",
];

/// Unknown top-level keys are ignored by Codex, which is harmless unless the key was meant
/// to be a well-known one: `aproval_policy = "never"` silently does nothing.
fn warn_near_misses(sink: &mut Sink<'_>, root: &DeTable<'_>) {
    for (key, _) in root.iter() {
        let name = key.get_ref().as_ref();
        let known = SPECIAL_KEYS.contains(&name)
            || STRING_KEYS.contains(&name)
            || BOOL_KEYS.contains(&name)
            || INTEGER_KEYS.contains(&name)
            || TABLE_KEYS.contains(&name);
        if known || name.len() < 4 {
            continue;
        }
        if let Some(target) = NEAR_MISS_TARGETS
            .iter()
            .find(|target| edit_distance(name, target) <= 2)
        {
            let path = join_key("", name);
            sink.warn(
                DiagnosticCode::UnknownKey,
                &path,
                &key.span(),
                format!("`{name}` is not a config.toml key and Codex ignores it; did you mean `{target}`?"),
            );
        }
    }
}

/// Levenshtein distance, for short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("aproval_policy", "approval_policy"), 1);
        assert_eq!(edit_distance("sandbox_mod", "sandbox_mode"), 1);
        assert_eq!(edit_distance("model", "model"), 0);
        assert_eq!(edit_distance("otel", "hotels"), 2);
    }
}
