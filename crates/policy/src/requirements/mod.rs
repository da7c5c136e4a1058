//! `requirements.toml` and `managed_config.toml`, parsed and validated as Codex 0.169.0 does.
//!
//! Codex refuses to start on a bad `requirements.toml` (TOML errors, wrong types, unknown enum
//! values and a few semantic rules, codex-facts §4.3) but silently ignores unknown keys. An
//! admin editing the file in Steward should learn both before rolling it out, so validation
//! returns every error (what Codex rejects) and every warning (what Codex would ignore or
//! reinterpret), each with a line, a column, a key path and a stable code.
//!
//! ```
//! use steward_policy::requirements::parse_requirements;
//!
//! let checked = parse_requirements("allowed_sandbox_modes = [\"workspace-write\"]\n");
//! assert!(!checked.is_valid());
//! assert_eq!(checked.errors[0].code.as_str(), "sandbox_modes_missing_read_only");
//! assert_eq!((checked.errors[0].line, checked.errors[0].column), (1, 25));
//! ```

mod config_toml;
mod diagnostics;
mod enums;
mod features;
mod managed_config;
mod network;
mod otel;
mod rules;
mod schema;
mod spans;
mod tables;
mod walk;
mod writer;

pub use diagnostics::{Diagnostic, DiagnosticCode, Severity, Validation};
pub use enums::{
    ApprovalPolicy, ApprovalsReviewer, CodexEnum, DomainPermission, Residency, SandboxMode,
    UnixSocketPermission, WebSearchMode,
};
pub use features::{is_known_feature, KNOWN_FEATURE_KEYS};
pub use managed_config::{parse_managed_config, ConfigSettings, ManagedConfig, McpServerConfig};
pub use network::NetworkRequirements;
pub use rules::{RequirementsRule, RuleToken};
pub use schema::{McpServerIdentity, RemoteSandboxConfig, Requirements};
pub use writer::{write_prefix_rules, AllowInRequirements};

pub(crate) use config_toml::{parse_config_checked, ConfigFile, Located};
pub(crate) use spans::{join_key, LineIndex};

use toml::de::DeTable;

use spans::Sink;
use walk::Node;

/// Validates a `requirements.toml` document. `value` is `Some` exactly when Codex would
/// load it.
pub fn parse_requirements(text: &str) -> Validation<Requirements> {
    let mut sink = Sink::new(text);
    let value = walk::parse_document(&mut sink, text)
        .and_then(|root| requirements_from_table(&mut sink, root.get_ref()));
    Validation::from_parts(value, sink.into_diagnostics())
}

/// The value shape of keys Steward keeps verbatim but whose type codex-facts states.
#[derive(Clone, Copy)]
enum Shape {
    Bool,
    Str,
    Table,
    Array,
    StrArray,
}

/// Recognised top-level keys kept verbatim in [`Requirements::other`], with their type.
const RAW_KEYS: &[(&str, Shape)] = &[
    ("default_permissions", Shape::Str),
    ("allowed_permissions", Shape::StrArray),
    ("allow_managed_hooks_only", Shape::Bool),
    ("browser_use", Shape::Table),
    ("in_app_browser", Shape::Table),
    ("allow_browser_and_computer_use", Shape::Bool),
    ("guardian_policy_config", Shape::Str),
    ("auto_review", Shape::Table),
    ("allowed_login_methods", Shape::Array),
    ("allowed_chatgpt_workspaces", Shape::Array),
    ("cli_auth_credentials_store", Shape::Str),
    ("chatgpt_base_url", Shape::Str),
    ("sqlite_home", Shape::Str),
    ("log_dir", Shape::Str),
    ("model_catalog_json", Shape::Str),
    ("check_for_update_on_startup", Shape::Bool),
    ("allow_login_shell", Shape::Bool),
    ("feedback", Shape::Table),
    ("allow_appshots", Shape::Bool),
    ("allow_remote_control", Shape::Bool),
    ("windows", Shape::Table),
    ("additional_developer_instructions", Shape::Str),
    ("application", Shape::Table),
    ("model_providers", Shape::Table),
];

fn requirements_from_table(sink: &mut Sink<'_>, root: &DeTable<'_>) -> Option<Requirements> {
    let mut req = Requirements::default();
    for (key, node) in root.iter() {
        let name = key.get_ref().as_ref();
        let path = join_key("", name);
        match name {
            "allowed_approval_policies" => {
                req.allowed_approval_policies = walk::array_of(
                    sink,
                    &path,
                    node,
                    "an array of approval policies",
                    walk::approval_policy,
                )
                .filter(|list| {
                    non_empty(
                        sink,
                        &path,
                        node,
                        list.is_empty(),
                        DiagnosticCode::EmptyAllowedApprovalPolicies,
                    )
                });
            }
            "allowed_approvals_reviewers" => {
                req.allowed_approvals_reviewers = walk::enum_array::<ApprovalsReviewer>(sink, &path, node)
                    .filter(|list| {
                        non_empty(
                            sink,
                            &path,
                            node,
                            list.is_empty(),
                            DiagnosticCode::EmptyAllowedApprovalsReviewers,
                        )
                    });
            }
            "allowed_sandbox_modes" => {
                req.allowed_sandbox_modes = walk::enum_array::<SandboxMode>(sink, &path, node)
                    .filter(|modes| sandbox_modes_include_read_only(sink, &path, node, modes));
            }
            "allowed_web_search_modes" => {
                req.allowed_web_search_modes = walk::enum_array::<WebSearchMode>(sink, &path, node);
            }
            "enforce_residency" => {
                req.enforce_residency = walk::enum_value::<Residency>(sink, &path, node);
            }
            "mcp_servers" => {
                req.mcp_servers = tables::parse_mcp_allowlist(sink, &path, node);
                if req.mcp_servers.as_ref().is_some_and(|m| m.is_empty()) {
                    sink.warn(
                        DiagnosticCode::EmptyMcpAllowlist,
                        &path,
                        &key.span(),
                        "an empty `mcp_servers` allowlist disables every MCP server",
                    );
                }
            }
            "plugins" => req.plugins = tables::parse_plugins(sink, &path, node),
            "rules" => req.rules = rules::parse_rules(sink, &path, node),
            "features" | "feature_requirements" => {} // below: the two spellings interact
            "experimental_network" => {
                req.experimental_network = network::parse_network(sink, &path, node);
            }
            "remote_sandbox_config" => {
                req.remote_sandbox_config = tables::parse_remote_sandbox(sink, &path, node);
            }
            "permissions" => keep(&mut req, sink, name, node, tables::check_permissions),
            "allowed_permission_profiles" => keep(&mut req, sink, name, node, |s, p, n| {
                walk::bool_table(s, p, n);
            }),
            "hooks" => keep(&mut req, sink, name, node, tables::check_hooks),
            "computer_use" => keep(&mut req, sink, name, node, tables::check_computer_use),
            "apps" => keep(&mut req, sink, name, node, tables::check_apps),
            "marketplaces" => keep(&mut req, sink, name, node, tables::check_marketplaces),
            "models" => keep(&mut req, sink, name, node, tables::check_models),
            _ => {
                if let Some((_, shape)) = RAW_KEYS.iter().find(|(k, _)| *k == name) {
                    let shape = *shape;
                    keep(&mut req, sink, name, node, move |s, p, n| {
                        check_shape(s, p, n, shape)
                    });
                    if name == "chatgpt_base_url" {
                        sink.warn(
                            DiagnosticCode::StrippedFromCloud,
                            &path,
                            &key.span(),
                            "`chatgpt_base_url` is honoured only from local requirements \
                             (system file, MDM); Codex strips it from cloud-delivered requirements",
                        );
                    }
                } else {
                    sink.warn(
                        DiagnosticCode::UnknownKey,
                        &path,
                        &key.span(),
                        format!("`{path}` is not a requirements.toml key; Codex ignores it"),
                    );
                }
            }
        }
    }
    req.features = feature_pins(sink, root);
    (sink.error_count() == 0).then_some(req)
}

/// Reports `code` at the array when it is empty; for `Option::filter`.
fn non_empty(sink: &mut Sink<'_>, path: &str, node: &Node<'_>, is_empty: bool, code: DiagnosticCode) -> bool {
    if is_empty {
        sink.error(
            code,
            path,
            &node.span(),
            format!("`{path}` cannot be empty; list at least one value or remove the key"),
        );
    }
    !is_empty
}

fn sandbox_modes_include_read_only(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
    modes: &[SandboxMode],
) -> bool {
    let ok = modes.contains(&SandboxMode::ReadOnly);
    if !ok {
        sink.error(
            DiagnosticCode::SandboxModesMissingReadOnly,
            path,
            &node.span(),
            format!("`{path}` must include \"read-only\" (Codex's fallback sandbox mode); Codex fails to start without it"),
        );
    }
    ok
}

/// Runs `check` and, if it found no error, keeps the value verbatim in `other`.
fn keep(
    req: &mut Requirements,
    sink: &mut Sink<'_>,
    name: &str,
    node: &Node<'_>,
    check: impl FnOnce(&mut Sink<'_>, &str, &Node<'_>),
) {
    let before = sink.error_count();
    check(sink, &join_key("", name), node);
    if sink.error_count() == before {
        req.other.insert(name.to_owned(), walk::to_json(node.get_ref()));
    }
}

fn check_shape(sink: &mut Sink<'_>, path: &str, node: &Node<'_>, shape: Shape) {
    match shape {
        Shape::Bool => {
            walk::boolean(sink, path, node);
        }
        Shape::Str => {
            walk::string(sink, path, node);
        }
        Shape::Table => {
            walk::table(sink, path, node);
        }
        Shape::Array => {
            walk::array(sink, path, node, "an array");
        }
        Shape::StrArray => {
            walk::string_array(sink, path, node);
        }
    }
}

/// `[features]`, alias `[feature_requirements]`: giving both is a serde "duplicate field"
/// error in Codex. Unknown keys are pinned to nothing, so they warn.
fn feature_pins(sink: &mut Sink<'_>, root: &DeTable<'_>) -> Option<std::collections::BTreeMap<String, bool>> {
    let mut spellings: Vec<_> = ["features", "feature_requirements"]
        .into_iter()
        .filter_map(|name| walk::get(root, name))
        .collect();
    spellings.sort_by_key(|(key, _)| key.span().start);
    let (first_key, node) = *spellings.first()?;
    if let Some((dup_key, _)) = spellings.get(1) {
        let dup = dup_key.get_ref();
        sink.error(
            DiagnosticCode::DuplicateField,
            dup,
            &dup_key.span(),
            format!(
                "`{dup}` repeats `{}`: they are two spellings of the same table; keep one",
                first_key.get_ref()
            ),
        );
    }
    let path = first_key.get_ref().to_string();
    let entries = walk::bool_table(sink, &path, node)?;
    for (key, _, span) in &entries {
        if !features::is_known_feature(key) {
            let key_path = join_key(&path, key);
            sink.warn(
                DiagnosticCode::UnknownFeature,
                &key_path,
                span,
                format!("`{key}` is not a Codex 0.169.0 feature; the pin has no effect"),
            );
        }
    }
    Some(entries.into_iter().map(|(k, v, _)| (k, v)).collect())
}
