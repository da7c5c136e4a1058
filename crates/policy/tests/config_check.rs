//! What Codex would override in a user's config.toml under a requirements file.

use serde_json::json;
use steward_policy::config_check::{check_config, check_config_from, Override};
use steward_policy::requirements::{parse_requirements, Requirements};

fn requirements(text: &str) -> Requirements {
    match parse_requirements(text).into_result() {
        Ok(requirements) => requirements,
        Err(errors) => panic!("requirements invalid: {errors:#?}"),
    }
}

fn overrides(requirements_toml: &str, config_toml: &str) -> Vec<Override> {
    match check_config(&requirements(requirements_toml), config_toml) {
        Ok(overrides) => overrides,
        Err(errors) => panic!("config invalid: {errors:#?}"),
    }
}

/// (path, line, column, user value, fallback value) of each override.
fn summary(overrides: &[Override]) -> Vec<(String, usize, usize, serde_json::Value, serde_json::Value)> {
    overrides
        .iter()
        .map(|o| {
            (
                o.path.clone(),
                o.line,
                o.column,
                o.user_value.clone(),
                o.fallback_value.clone(),
            )
        })
        .collect()
}

const APPROVALS: &str = "allowed_approval_policies = [\"untrusted\", \"on-request\"]\n";

#[test]
fn disallowed_approval_policy_falls_back_to_the_first_allowed() {
    let found = overrides(APPROVALS, "model = \"gpt-5\"\napproval_policy = \"never\"\n");
    assert_eq!(
        summary(&found),
        vec![(
            "approval_policy".to_owned(),
            2,
            19,
            json!("never"),
            json!("untrusted")
        )]
    );
    assert_eq!(
        found[0].reason,
        "Configured value for `approval_policy` is disallowed by requirements; falling back to required value UnlessTrusted. \
         Details: invalid value for `approval_policy`: `Never` is not in the allowed set [UnlessTrusted, OnRequest] \
         (set by /etc/codex/requirements.toml)"
    );
}

#[test]
fn allowed_and_unset_values_are_not_overrides() {
    assert!(overrides(APPROVALS, "approval_policy = \"on-request\"\n").is_empty());
    // `on-failure` is a deprecated alias of `on-request`.
    assert!(overrides(APPROVALS, "approval_policy = \"on-failure\"\n").is_empty());
    // Unset: Codex starts from the requirement's default; nothing is overridden.
    assert!(overrides(APPROVALS, "model = \"gpt-5\"\n").is_empty());
    // No requirements: nothing is constrained.
    assert!(check_config(
        &Requirements::default(),
        "approval_policy = \"never\"\nsandbox_mode = \"danger-full-access\"\n"
    )
    .expect("valid")
    .is_empty());
}

#[test]
fn disallowed_sandbox_mode_falls_back_to_read_only() {
    let found = overrides(
        "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n",
        "sandbox_mode = \"danger-full-access\"\n",
    );
    assert_eq!(
        summary(&found),
        vec![(
            "sandbox_mode".to_owned(),
            1,
            16,
            json!("danger-full-access"),
            json!("read-only")
        )]
    );
    assert!(found[0].reason.contains(
        "falling back to required value ReadOnly. Details: invalid value for `sandbox_mode`: `DangerFullAccess` is not in the allowed set [ReadOnly, WorkspaceWrite]"
    ));
}

#[test]
fn web_search_prefers_cached_then_indexed_then_live_then_disabled() {
    let found = overrides(
        "allowed_web_search_modes = [\"cached\", \"indexed\"]\n",
        "web_search = \"live\"\n",
    );
    assert_eq!(
        summary(&found),
        vec![("web_search".to_owned(), 1, 14, json!("live"), json!("cached"))]
    );
    assert!(found[0].reason.contains(
        "Configured value for `web_search_mode` is disallowed by requirements; falling back to required value Cached. \
         Details: invalid value for `web_search_mode`: `Live` is not in the allowed set [Disabled, Cached, Indexed]"
    ));

    let found = overrides(
        "allowed_web_search_modes = [\"live\"]\n",
        "web_search = \"cached\"\n",
    );
    assert_eq!(found[0].fallback_value, json!("live"));

    let found = overrides("allowed_web_search_modes = []\n", "web_search = \"cached\"\n");
    assert_eq!(found[0].fallback_value, json!("disabled"));

    // `disabled` is always allowed.
    assert!(overrides("allowed_web_search_modes = []\n", "web_search = \"disabled\"\n").is_empty());
}

#[test]
fn disallowed_reviewer_falls_back_to_the_first_allowed() {
    let found = overrides(
        "allowed_approvals_reviewers = [\"auto_review\"]\n",
        "approvals_reviewer = \"user\"\n",
    );
    assert_eq!(
        summary(&found),
        vec![(
            "approvals_reviewer".to_owned(),
            1,
            22,
            json!("user"),
            json!("auto_review")
        )]
    );
    assert!(found[0]
        .reason
        .contains("`User` is not in the allowed set [AutoReview]"));
    // The legacy spelling of the allowed reviewer is allowed.
    assert!(overrides(
        "allowed_approvals_reviewers = [\"auto_review\"]\n",
        "approvals_reviewer = \"guardian_subagent\"\n"
    )
    .is_empty());
}

#[test]
fn profiles_are_reported_with_their_path() {
    let found = overrides(
        "allowed_approval_policies = [\"on-request\"]\nallowed_sandbox_modes = [\"read-only\"]\n",
        r#"approval_policy = "on-request"

[profiles.ci]
approval_policy = "never"
sandbox_mode = "workspace-write"

[profiles."fast lane"]
approval_policy = "untrusted"
"#,
    );
    assert_eq!(
        summary(&found),
        vec![
            (
                "profiles.ci.approval_policy".to_owned(),
                4,
                19,
                json!("never"),
                json!("on-request")
            ),
            (
                "profiles.ci.sandbox_mode".to_owned(),
                5,
                16,
                json!("workspace-write"),
                json!("read-only")
            ),
            (
                "profiles.\"fast lane\".approval_policy".to_owned(),
                8,
                19,
                json!("untrusted"),
                json!("on-request")
            ),
        ]
    );
}

#[test]
fn pinned_features_override_the_users_value() {
    let found = overrides(
        "[features]\nmemories = false\napps = true\n",
        "[features]\nmemories = true\napps = true\n\n[profiles.dev.features]\nmemories = true\n",
    );
    assert_eq!(
        summary(&found),
        vec![
            ("features.memories".to_owned(), 2, 12, json!(true), json!(false)),
            (
                "profiles.dev.features.memories".to_owned(),
                6,
                12,
                json!(true),
                json!(false)
            ),
        ]
    );
    assert!(found[0]
        .reason
        .contains("Feature `memories` is pinned to false by requirements"));
}

#[test]
fn mcp_servers_outside_the_allowlist_are_disabled() {
    let found = overrides(
        r#"[mcp_servers.docs]
identity = { command = "npx" }
[mcp_servers.search]
identity = { url = "https://mcp.example.com/mcp" }
"#,
        r#"[mcp_servers.docs]
command = "npx"
args = ["-y", "@example/docs"]

[mcp_servers.search]
url = "https://evil.example/mcp"

[mcp_servers.shell]
command = "bash"

[mcp_servers.off]
command = "bash"
enabled = false
"#,
    );
    assert_eq!(
        summary(&found),
        vec![
            (
                "mcp_servers.search.enabled".to_owned(),
                5,
                1,
                json!(true),
                json!(false)
            ),
            (
                "mcp_servers.shell.enabled".to_owned(),
                8,
                1,
                json!(true),
                json!(false)
            ),
        ]
    );
    assert!(found[0]
        .reason
        .contains("its url `https://evil.example/mcp` is not the required `https://mcp.example.com/mcp`"));
    assert!(found[1]
        .reason
        .contains("`shell` is not in the requirements' `mcp_servers` allowlist"));
}

#[test]
fn an_empty_mcp_allowlist_disables_every_server() {
    let found = overrides("[mcp_servers]\n", "mcp_servers.docs = { command = \"npx\" }\n");
    assert_eq!(
        summary(&found),
        vec![(
            "mcp_servers.docs.enabled".to_owned(),
            1,
            20,
            json!(true),
            json!(false)
        )]
    );
    assert!(found[0].reason.contains("allowlist is empty"));
}

#[test]
fn transport_mismatch_disables_the_server() {
    let found = overrides(
        "[mcp_servers.docs]\nidentity = { command = \"npx\" }\n",
        "[mcp_servers.docs]\nurl = \"https://docs.example/mcp\"\n",
    );
    assert!(found[0].reason.contains("it is not a stdio server"));
}

#[test]
fn reasons_name_the_requirement_source() {
    let found = check_config_from(
        &requirements(APPROVALS),
        "approval_policy = \"never\"\n",
        "MDM com.openai.codex:requirements_toml_base64",
    )
    .expect("valid config");
    assert!(found[0]
        .reason
        .ends_with("(set by MDM com.openai.codex:requirements_toml_base64)"));
}

#[test]
fn an_invalid_user_config_is_reported_not_checked() {
    let errors = check_config(&requirements(APPROVALS), "sandbox_mode = \"yolo\"\n")
        .expect_err("Codex would not load this config");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code.as_str(), "unknown_enum_value");
    assert_eq!((errors[0].line, errors[0].column), (1, 16));

    let errors = check_config(&requirements(APPROVALS), "approval_policy = \n").expect_err("not TOML");
    assert_eq!(errors[0].code.as_str(), "toml_syntax");
}

#[test]
fn overrides_serialise_for_the_api() {
    let found = overrides(APPROVALS, "approval_policy = \"never\"\n");
    let value = serde_json::to_value(&found[0]).expect("serialise");
    assert_eq!(value["path"], "approval_policy");
    assert_eq!(value["user_value"], "never");
    assert_eq!(value["fallback_value"], "untrusted");
    assert_eq!(value["line"], 1);
}
