//! The smaller requirements tables: MCP allowlists, plugins, per-host sandbox modes, apps,
//! marketplaces, permissions, hooks, model defaults. Each checks what codex-facts §4.2 (and
//! Codex's serde structs) state clearly and leaves the rest alone: a false "Codex will fail
//! to start" is as costly to an admin as a missed one.

use std::collections::BTreeMap;

use toml::de::DeValue;

use super::diagnostics::DiagnosticCode;
use super::enums::{AppToolApproval, SandboxMode};
use super::schema::{McpServerIdentity, RemoteSandboxConfig};
use super::spans::{join_index, join_key, Sink};
use super::walk::{self, Node};

/// `[mcp_servers]` (or a plugin's `mcp_servers`): name → `identity`.
pub(crate) fn parse_mcp_allowlist(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
) -> Option<BTreeMap<String, McpServerIdentity>> {
    let table = walk::table(sink, path, node)?;
    let before = sink.error_count();
    let mut out = BTreeMap::new();
    for (name, entry) in table.iter() {
        let entry_path = join_key(path, name.get_ref());
        let Some(entry_table) = walk::table(sink, &entry_path, entry) else {
            continue;
        };
        walk::warn_unknown_keys(sink, &entry_path, entry_table, &["identity"]);
        let identity_path = join_key(&entry_path, "identity");
        match walk::get(entry_table, "identity") {
            Some((_, identity)) => {
                if let Some(identity) = parse_identity(sink, &identity_path, identity) {
                    out.insert(name.get_ref().to_string(), identity);
                }
            }
            None => sink.error(
                DiagnosticCode::MissingField,
                &identity_path,
                &entry.span(),
                format!(
                    "`{identity_path}` is required: {{ command = \"...\" }} for a stdio server \
                     or {{ url = \"...\" }} for an HTTP server"
                ),
            ),
        }
    }
    (sink.error_count() == before).then_some(out)
}

/// Codex's `McpServerIdentity` is an untagged enum tried in order: `{ command }`, then
/// `{ url }`; extra keys are ignored.
fn parse_identity(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<McpServerIdentity> {
    let table = walk::table(sink, path, node)?;
    walk::warn_unknown_keys(sink, path, table, &["command", "url"]);
    let command = walk::get(table, "command");
    let url = walk::get(table, "url");
    if let Some((_, c)) = command {
        if let DeValue::String(c) = c.get_ref() {
            if let Some((url_key, _)) = url {
                let url_path = join_key(path, "url");
                sink.warn(
                    DiagnosticCode::IgnoredValue,
                    &url_path,
                    &url_key.span(),
                    format!("`{url_path}` is ignored: Codex matches this server by `command`"),
                );
            }
            return Some(McpServerIdentity::Command(c.to_string()));
        }
    }
    if let Some((_, u)) = url {
        if let DeValue::String(u) = u.get_ref() {
            return Some(McpServerIdentity::Url(u.to_string()));
        }
    }
    let (span, detail) = match (command, url) {
        (Some((_, c)), _) => (c.span(), "`command` must be a string"),
        (None, Some((_, u))) => (u.span(), "`url` must be a string"),
        (None, None) => (node.span(), "neither `command` nor `url` is set"),
    };
    sink.error(
        DiagnosticCode::InvalidMcpIdentity,
        path,
        &span,
        format!("`{path}` must be {{ command = \"...\" }} (stdio) or {{ url = \"...\" }} (HTTP): {detail}"),
    );
    None
}

/// `[plugins."<plugin>@<marketplace>".mcp_servers.<server>.identity]`.
pub(crate) fn parse_plugins(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
) -> Option<BTreeMap<String, BTreeMap<String, McpServerIdentity>>> {
    let table = walk::table(sink, path, node)?;
    let before = sink.error_count();
    let mut out = BTreeMap::new();
    for (plugin, entry) in table.iter() {
        let plugin_path = join_key(path, plugin.get_ref());
        let Some(plugin_table) = walk::table(sink, &plugin_path, entry) else {
            continue;
        };
        walk::warn_unknown_keys(sink, &plugin_path, plugin_table, &["mcp_servers"]);
        let servers = match walk::get(plugin_table, "mcp_servers") {
            Some((_, servers)) => parse_mcp_allowlist(sink, &join_key(&plugin_path, "mcp_servers"), servers),
            None => Some(BTreeMap::new()),
        };
        if let Some(servers) = servers {
            out.insert(plugin.get_ref().to_string(), servers);
        }
    }
    (sink.error_count() == before).then_some(out)
}

/// `[[remote_sandbox_config]]`. An entry without `read-only` makes Codex fail to start on
/// every host it matches (the entry replaces `allowed_sandbox_modes` there), so it is an error.
pub(crate) fn parse_remote_sandbox(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
) -> Option<Vec<RemoteSandboxConfig>> {
    let items = walk::array(sink, path, node, "an array of tables")?;
    let before = sink.error_count();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = join_index(path, i);
        let Some(table) = walk::table(sink, &item_path, item) else {
            continue;
        };
        walk::warn_unknown_keys(
            sink,
            &item_path,
            table,
            &["hostname_patterns", "allowed_sandbox_modes"],
        );
        let required = |sink: &mut Sink<'_>, key: &str| {
            let found = walk::get(table, key).map(|(_, v)| v);
            if found.is_none() {
                let key_path = join_key(&item_path, key);
                sink.error(
                    DiagnosticCode::MissingField,
                    &key_path,
                    &item.span(),
                    format!("`{key_path}` is required"),
                );
            }
            found
        };
        let patterns = required(sink, "hostname_patterns")
            .and_then(|p| walk::string_array(sink, &join_key(&item_path, "hostname_patterns"), p));
        let modes_path = join_key(&item_path, "allowed_sandbox_modes");
        let modes = required(sink, "allowed_sandbox_modes").and_then(|m| {
            let modes = walk::enum_array::<SandboxMode>(sink, &modes_path, m)?;
            if !modes.contains(&SandboxMode::ReadOnly) {
                sink.error(
                    DiagnosticCode::SandboxModesMissingReadOnly,
                    &modes_path,
                    &m.span(),
                    format!(
                        "`{modes_path}` must include \"read-only\"; otherwise Codex fails to start \
                         on hosts this entry matches"
                    ),
                );
                return None;
            }
            Some(modes)
        });
        if let (Some(hostname_patterns), Some(allowed_sandbox_modes)) = (patterns, modes) {
            out.push(RemoteSandboxConfig {
                hostname_patterns,
                allowed_sandbox_modes,
            });
        }
    }
    (sink.error_count() == before).then_some(out)
}

/// `[apps.<app_id>] enabled`, `tools.<tool>.approval_mode`.
pub(crate) fn check_apps(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let Some(apps) = walk::table(sink, path, node) else {
        return;
    };
    for (app, entry) in apps.iter() {
        let app_path = join_key(path, app.get_ref());
        let Some(app_table) = walk::table(sink, &app_path, entry) else {
            continue;
        };
        walk::warn_unknown_keys(sink, &app_path, app_table, &["enabled", "tools"]);
        if let Some((_, enabled)) = walk::get(app_table, "enabled") {
            walk::boolean(sink, &join_key(&app_path, "enabled"), enabled);
        }
        let tools_path = join_key(&app_path, "tools");
        let Some(tools) =
            walk::get(app_table, "tools").and_then(|(_, tools)| walk::table(sink, &tools_path, tools))
        else {
            continue;
        };
        for (tool, tool_entry) in tools.iter() {
            let tool_path = join_key(&tools_path, tool.get_ref());
            let Some(tool_table) = walk::table(sink, &tool_path, tool_entry) else {
                continue;
            };
            walk::warn_unknown_keys(sink, &tool_path, tool_table, &["approval_mode"]);
            if let Some((_, mode)) = walk::get(tool_table, "approval_mode") {
                walk::enum_value::<AppToolApproval>(sink, &join_key(&tool_path, "approval_mode"), mode);
            }
        }
    }
}

/// `[marketplaces]`: Codex's struct rejects unknown fields, so a typo is fatal here.
pub(crate) fn check_marketplaces(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        match key.get_ref().as_ref() {
            "restrict_to_allowed_sources" => {
                walk::boolean(sink, &key_path, value);
            }
            "allowed_sources" => {
                walk::array(sink, &key_path, value, "an array");
            }
            other => sink.error(
                DiagnosticCode::UnknownField,
                &key_path,
                &key.span(),
                format!(
                    "unknown field `{other}` in `[{path}]`, which rejects unknown fields; \
                     expected one of: restrict_to_allowed_sources, allowed_sources"
                ),
            ),
        }
    }
}

/// `[permissions]`: `filesystem.deny_read` paths, and named profile tables.
pub(crate) fn check_permissions(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        let Some(profile) = walk::table(sink, &key_path, value) else {
            continue;
        };
        if key.get_ref() == "filesystem" {
            walk::warn_unknown_keys(sink, &key_path, profile, &["deny_read"]);
            if let Some((_, deny_read)) = walk::get(profile, "deny_read") {
                walk::string_array(sink, &join_key(&key_path, "deny_read"), deny_read);
            }
        }
    }
}

/// `[hooks]`: `managed_dir`, `windows_managed_dir`, and hook event arrays of tables.
pub(crate) fn check_hooks(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        match key.get_ref().as_ref() {
            "managed_dir" | "windows_managed_dir" => {
                walk::string(sink, &key_path, value);
            }
            _ => {
                if let Some(groups) = walk::array(sink, &key_path, value, "an array of tables") {
                    for (i, group) in groups.iter().enumerate() {
                        walk::table(sink, &join_index(&key_path, i), group);
                    }
                }
            }
        }
    }
}

/// `[models.new_thread]`: defaults for new threads. Users can still pick another model, so
/// Steward says so rather than let an admin believe the model is enforced.
pub(crate) fn check_models(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    walk::warn_unknown_keys(sink, path, table, &["new_thread"]);
    let Some((key, new_thread)) = walk::get(table, "new_thread") else {
        return;
    };
    let new_thread_path = join_key(path, "new_thread");
    let Some(defaults) = walk::table(sink, &new_thread_path, new_thread) else {
        return;
    };
    walk::warn_unknown_keys(
        sink,
        &new_thread_path,
        defaults,
        &["model", "model_reasoning_effort", "service_tier"],
    );
    for (field, value) in defaults.iter() {
        if ["model", "model_reasoning_effort", "service_tier"].contains(&field.get_ref().as_ref()) {
            walk::string(sink, &join_key(&new_thread_path, field.get_ref()), value);
        }
    }
    sink.warn(
        DiagnosticCode::DefaultsNotEnforced,
        &new_thread_path,
        &key.span(),
        format!(
            "`{new_thread_path}` sets defaults for new threads, not constraints: users can still \
             choose another model (requirements.toml has no model allowlist)"
        ),
    );
}

/// `[computer_use] allow_locked_computer_use`.
pub(crate) fn check_computer_use(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    if let Some((_, value)) = walk::get(table, "allow_locked_computer_use") {
        walk::boolean(sink, &join_key(path, "allow_locked_computer_use"), value);
    }
}
