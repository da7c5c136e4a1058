//! What a valid `requirements.toml` turns into: typed constraints, exec-policy rules, the
//! JSON the API shows, and the fallbacks Codex would use.

use std::collections::BTreeMap;

use serde_json::json;
use steward_policy::execpolicy::{Decision, PatternToken, Reviewer};
use steward_policy::requirements::{
    parse_requirements, ApprovalPolicy, DomainPermission, McpServerIdentity, Requirements, SandboxMode,
    WebSearchMode,
};

fn parse(text: &str) -> Requirements {
    match parse_requirements(text).into_result() {
        Ok(requirements) => requirements,
        Err(errors) => panic!("unexpected errors: {errors:#?}"),
    }
}

const POLICY: &str = r#"allowed_approval_policies = ["untrusted", "on-request"]
allowed_sandbox_modes = ["read-only", "workspace-write"]
allowed_web_search_modes = ["live", "indexed"]

[mcp_servers.docs]
identity = { command = "npx" }

[plugins."linear@openai".mcp_servers.linear.identity]
url = "https://mcp.linear.app/mcp"

[rules]
prefix_rules = [
  { pattern = [{ token = "git" }, { any_of = ["push", "reset"] }], decision = "prompt", justification = "needs review", reviewer = "auto_review" },
  { pattern = [{ token = "rm" }], decision = "forbidden" },
]

[features]
memories = false

[experimental_network]
allowed_domains = ["pypi.org"]
denied_domains = []

[permissions.filesystem]
deny_read = ["/etc/secrets/**"]

[[remote_sandbox_config]]
hostname_patterns = ["build-*"]
allowed_sandbox_modes = ["read-only", "danger-full-access"]
"#;

#[test]
fn typed_constraints() {
    let req = parse(POLICY);
    assert_eq!(
        req.allowed_approval_policies,
        Some(vec![ApprovalPolicy::Untrusted, ApprovalPolicy::OnRequest])
    );
    assert_eq!(
        req.mcp_servers,
        Some(BTreeMap::from([(
            "docs".to_owned(),
            McpServerIdentity::Command("npx".to_owned())
        )]))
    );
    assert_eq!(
        req.plugins.as_ref().map(|p| p["linear@openai"]["linear"].clone()),
        Some(McpServerIdentity::Url("https://mcp.linear.app/mcp".to_owned()))
    );
    assert_eq!(req.feature_pin("memories"), Some(false));
    assert_eq!(req.feature_pin("apps"), None);
    // Legacy lists normalised into the domain map; the empty one counts as unset.
    let network = req.experimental_network.as_ref().expect("network");
    assert_eq!(
        network.domains,
        Some(BTreeMap::from([("pypi.org".to_owned(), DomainPermission::Allow)]))
    );
    let remote = req.remote_sandbox_config.as_ref().expect("remote sandbox");
    assert_eq!(remote[0].hostname_patterns, vec!["build-*".to_owned()]);
    assert_eq!(
        req.other["permissions"]["filesystem"]["deny_read"][0],
        "/etc/secrets/**"
    );
}

#[test]
fn prefix_rules_convert_to_exec_policy_rules() {
    let rules = parse(POLICY).prefix_rules();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0].pattern,
        vec![
            PatternToken::Exact("git".to_owned()),
            PatternToken::AnyOf(vec!["push".to_owned(), "reset".to_owned()]),
        ]
    );
    assert_eq!(rules[0].decision, Decision::Prompt);
    assert_eq!(rules[0].justification.as_deref(), Some("needs review"));
    assert_eq!(rules[0].reviewer, Some(Reviewer::AutoReview));
    assert_eq!(rules[1].decision, Decision::Forbidden);
    assert_eq!(rules[1].reviewer, None);
    assert!(Requirements::default().prefix_rules().is_empty());
}

#[test]
fn fallbacks_follow_codex() {
    let req = parse(POLICY);
    assert!(!req.approval_policy_allowed(ApprovalPolicy::Never));
    assert_eq!(req.approval_policy_fallback(), Some(ApprovalPolicy::Untrusted));
    assert!(!req.sandbox_mode_allowed(SandboxMode::DangerFullAccess));
    // `disabled` is always allowed; cached is preferred but not allowed, indexed is next.
    assert!(req.web_search_mode_allowed(WebSearchMode::Disabled));
    assert!(!req.web_search_mode_allowed(WebSearchMode::Cached));
    assert_eq!(req.web_search_fallback(), Some(WebSearchMode::Indexed));

    let only_disabled = parse("allowed_web_search_modes = []\n");
    assert_eq!(only_disabled.web_search_fallback(), Some(WebSearchMode::Disabled));
    let unconstrained = Requirements::default();
    assert!(unconstrained.approval_policy_allowed(ApprovalPolicy::Never));
    assert_eq!(unconstrained.web_search_fallback(), None);
}

#[test]
fn serialises_to_the_toml_shapes() {
    let req = parse(
        "allowed_approval_policies = [\"on-failure\"]\n[mcp_servers.docs]\nidentity = { url = \"https://d.example\" }\n[[rules.prefix_rules]]\npattern = [{ token = \"git\" }, { any_of = [\"push\"] }]\ndecision = \"prompt\"\n",
    );
    assert_eq!(
        serde_json::to_value(&req).expect("serialise"),
        json!({
            "allowed_approval_policies": ["on-request"],
            "mcp_servers": { "docs": { "url": "https://d.example" } },
            "rules": [{
                "pattern": [{ "token": "git" }, { "any_of": ["push"] }],
                "decision": "prompt"
            }]
        })
    );
}

#[test]
fn validation_serialises_with_diagnostics() {
    let checked = parse_requirements("allowed_sandbox_modes = [\"workspace-write\"]\nfoo = 1\n");
    assert_eq!(
        serde_json::to_value(&checked).expect("serialise"),
        json!({
            "value": null,
            "errors": [{
                "severity": "error",
                "code": "sandbox_modes_missing_read_only",
                "path": "allowed_sandbox_modes",
                "line": 1,
                "column": 25,
                "message": "`allowed_sandbox_modes` must include \"read-only\" (Codex's fallback sandbox mode); Codex fails to start without it"
            }],
            "warnings": [{
                "severity": "warning",
                "code": "unknown_key",
                "path": "foo",
                "line": 2,
                "column": 1,
                "message": "`foo` is not a requirements.toml key; Codex ignores it"
            }]
        })
    );
    assert_eq!(
        checked.errors[0].to_string(),
        "1:25: error[sandbox_modes_missing_read_only] allowed_sandbox_modes: `allowed_sandbox_modes` must include \"read-only\" (Codex's fallback sandbox mode); Codex fails to start without it"
    );
}
