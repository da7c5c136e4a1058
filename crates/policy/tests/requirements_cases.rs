//! Table-driven checks of `requirements.toml` validation: for each document, whether Codex
//! would load it, and every diagnostic exactly (severity, code, key path, line, column, and a
//! message fragment).

#[path = "requirements_cases/harness.rs"]
mod harness;

use harness::{err, run, warn, Case};
use steward_policy::requirements::parse_requirements;

const CASES: &[Case] = &[
    // ---- valid documents -------------------------------------------------------------
    Case {
        name: "empty document is unconstrained",
        toml: "",
        valid: true,
        expect: &[],
    },
    Case {
        name: "typical enterprise policy",
        toml: r#"allowed_approval_policies = ["untrusted", "on-request"]
allowed_approvals_reviewers = ["user", "auto_review"]
allowed_sandbox_modes = ["read-only", "workspace-write"]
allowed_web_search_modes = ["cached", "indexed"]
enforce_residency = "us"

[mcp_servers.docs]
identity = { command = "npx" }

[mcp_servers.search.identity]
url = "https://mcp.example.com/mcp"

[rules]
prefix_rules = [
  { pattern = [{ token = "git" }, { any_of = ["push", "reset"] }], decision = "prompt", justification = "needs review", reviewer = "auto_review" },
  { pattern = [{ token = "rm" }, { token = "-rf" }], decision = "forbidden" },
]

[features]
memories = false
computer_use = false

[experimental_network]
enabled = true
http_port = 3128
domains = { "example.com" = "allow", "bad.example" = "deny" }
"#,
        valid: true,
        expect: &[],
    },
    Case {
        name: "array-of-tables form of prefix_rules",
        toml: r#"[rules]
[[rules.prefix_rules]]
pattern = [{ token = "curl" }]
decision = "prompt"
"#,
        valid: true,
        expect: &[],
    },
    Case {
        name: "granular approval policy as a table",
        toml: r#"allowed_approval_policies = ["untrusted", { granular = { sandbox_approval = true, rules = false, mcp_elicitations = true } }]
"#,
        valid: true,
        expect: &[],
    },
    Case {
        name: "feature_requirements alias",
        toml: "[feature_requirements]\nmemories = true\n",
        valid: true,
        expect: &[],
    },
    Case {
        name: "empty web search list means only disabled",
        toml: "allowed_web_search_modes = []\n",
        valid: true,
        expect: &[],
    },
    Case {
        name: "legacy domain lists",
        toml: "[experimental_network]\nallowed_domains = [\"a.example\"]\ndenied_domains = [\"b.example\"]\n",
        valid: true,
        expect: &[],
    },
    // ---- hard errors ----------------------------------------------------------------
    Case {
        name: "TOML syntax error",
        toml: "allowed_sandbox_modes = [\"read-only\"\nenforce_residency = \"us\"\n",
        valid: false,
        expect: &[err("toml_syntax", "", 2, 1, "invalid TOML")],
    },
    Case {
        name: "duplicate key is a TOML error",
        toml: "enforce_residency = \"us\"\nenforce_residency = \"us\"\n",
        valid: false,
        expect: &[err("toml_syntax", "", 2, 1, "duplicate key")],
    },
    Case {
        name: "string where an array is expected",
        toml: "allowed_approval_policies = \"never\"\n",
        valid: false,
        expect: &[err(
            "wrong_type",
            "allowed_approval_policies",
            1,
            29,
            "must be an array of approval policies, found a string",
        )],
    },
    Case {
        name: "unknown sandbox mode",
        toml: "allowed_sandbox_modes = [\"read-only\", \"yolo\"]\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "allowed_sandbox_modes[1]",
            1,
            39,
            "unknown value `yolo` for `allowed_sandbox_modes[1]`; expected one of: read-only, workspace-write, danger-full-access, external-sandbox",
        )],
    },
    Case {
        name: "column counts characters, not bytes",
        toml: "allowed_sandbox_modes = [\"réad-only\", \"yolo\"]\n",
        valid: false,
        expect: &[
            err("unknown_enum_value", "allowed_sandbox_modes[0]", 1, 26, "`réad-only`"),
            err("unknown_enum_value", "allowed_sandbox_modes[1]", 1, 39, "`yolo`"),
        ],
    },
    Case {
        name: "number in the sandbox mode list",
        toml: "allowed_sandbox_modes = [1]\n",
        valid: false,
        expect: &[err(
            "wrong_type",
            "allowed_sandbox_modes[0]",
            1,
            26,
            "must be a string (one of: read-only, workspace-write",
        )],
    },
    Case {
        name: "empty allowed_approval_policies",
        toml: "allowed_approval_policies = []\n",
        valid: false,
        expect: &[err(
            "empty_allowed_approval_policies",
            "allowed_approval_policies",
            1,
            29,
            "cannot be empty",
        )],
    },
    Case {
        name: "unknown approval policy",
        toml: "# policy\nallowed_approval_policies = [\"never\", \"sometimes\"]\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "allowed_approval_policies[1]",
            2,
            39,
            "expected one of: untrusted, on-request, on-failure, never, granular",
        )],
    },
    Case {
        name: "empty allowed_approvals_reviewers",
        toml: "allowed_approvals_reviewers = []\n",
        valid: false,
        expect: &[err(
            "empty_allowed_approvals_reviewers",
            "allowed_approvals_reviewers",
            1,
            31,
            "`allowed_approvals_reviewers` cannot be empty",
        )],
    },
    Case {
        name: "unknown reviewer",
        toml: "allowed_approvals_reviewers = [\"admin\"]\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "allowed_approvals_reviewers[0]",
            1,
            32,
            "expected one of: user, auto_review, guardian_subagent",
        )],
    },
    Case {
        name: "sandbox modes without read-only",
        toml: "allowed_sandbox_modes = [\"workspace-write\", \"danger-full-access\"]\n",
        valid: false,
        expect: &[err(
            "sandbox_modes_missing_read_only",
            "allowed_sandbox_modes",
            1,
            25,
            "must include \"read-only\"",
        )],
    },
    Case {
        name: "remote sandbox entry without read-only",
        toml: "[[remote_sandbox_config]]\nhostname_patterns = [\"ci-*\"]\nallowed_sandbox_modes = [\"danger-full-access\"]\n",
        valid: false,
        expect: &[err(
            "sandbox_modes_missing_read_only",
            "remote_sandbox_config[0].allowed_sandbox_modes",
            3,
            25,
            "on hosts this entry matches",
        )],
    },
    Case {
        name: "unknown web search mode",
        toml: "allowed_web_search_modes = [\"cached\", \"always\"]\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "allowed_web_search_modes[1]",
            1,
            39,
            "expected one of: disabled, cached, live, indexed",
        )],
    },
    Case {
        name: "unknown residency",
        toml: "enforce_residency = \"eu\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "enforce_residency",
            1,
            21,
            "unknown value `eu` for `enforce_residency`; expected one of: us",
        )],
    },
    Case {
        name: "MCP server without identity",
        toml: "[mcp_servers.docs]\ncommand = \"npx\"\n",
        valid: false,
        expect: &[
            err("missing_field", "mcp_servers.docs.identity", 1, 1, "is required"),
            warn("unknown_key", "mcp_servers.docs.command", 2, 1, "Codex ignores it"),
        ],
    },
    Case {
        name: "MCP identity with neither command nor url",
        toml: "[mcp_servers.docs]\nidentity = { executable = \"npx\" }\n",
        valid: false,
        expect: &[
            err(
                "invalid_mcp_identity",
                "mcp_servers.docs.identity",
                2,
                12,
                "neither `command` nor `url` is set",
            ),
            warn("unknown_key", "mcp_servers.docs.identity.executable", 2, 14, "Codex ignores it"),
        ],
    },
    Case {
        name: "MCP identity command is not a string",
        toml: "[mcp_servers.\"my.server\"]\nidentity = { command = [\"npx\"] }\n",
        valid: false,
        expect: &[err(
            "invalid_mcp_identity",
            "mcp_servers.\"my.server\".identity",
            2,
            24,
            "`command` must be a string",
        )],
    },
    Case {
        name: "prefix rule with decision allow",
        toml: "[rules]\nprefix_rules = [{ pattern = [{ token = \"ls\" }], decision = \"allow\" }]\n",
        valid: false,
        expect: &[err(
            "allow_in_prefix_rules",
            "rules.prefix_rules[0].decision",
            2,
            60,
            "use \"prompt\" or \"forbidden\"",
        )],
    },
    Case {
        name: "third prefix rule has an unknown decision",
        toml: r#"[rules]
prefix_rules = [
  { pattern = [{ token = "git" }], decision = "prompt" },
  { pattern = [{ token = "rm" }], decision = "forbidden" },
  { pattern = [{ token = "curl" }], decision = "deny" },
]
"#,
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "rules.prefix_rules[2].decision",
            5,
            48,
            "unknown value `deny` for `rules.prefix_rules[2].decision`; expected one of: prompt, forbidden",
        )],
    },
    Case {
        name: "prefix rule without decision",
        toml: "[rules]\nprefix_rules = [\n  { pattern = [{ token = \"ls\" }] },\n]\n",
        valid: false,
        expect: &[err(
            "missing_decision",
            "rules.prefix_rules[0].decision",
            3,
            3,
            "is required; expected one of: prompt, forbidden",
        )],
    },
    Case {
        name: "prefix rule with empty pattern",
        toml: "[[rules.prefix_rules]]\npattern = []\ndecision = \"prompt\"\n",
        valid: false,
        expect: &[err(
            "empty_pattern",
            "rules.prefix_rules[0].pattern",
            2,
            11,
            "cannot be empty",
        )],
    },
    Case {
        name: "prefix rule with blank justification",
        toml: "[[rules.prefix_rules]]\npattern = [{ token = \"ls\" }]\ndecision = \"prompt\"\njustification = \"   \"\n",
        valid: false,
        expect: &[err(
            "empty_justification",
            "rules.prefix_rules[0].justification",
            4,
            17,
            "cannot be empty",
        )],
    },
    Case {
        name: "reviewer on a forbidden rule",
        toml: "[[rules.prefix_rules]]\npattern = [{ token = \"rm\" }]\ndecision = \"forbidden\"\nreviewer = \"user\"\n",
        valid: false,
        expect: &[err(
            "reviewer_on_forbidden",
            "rules.prefix_rules[0].reviewer",
            4,
            12,
            "only valid with decision \"prompt\"",
        )],
    },
    Case {
        name: "pattern token with both token and any_of",
        toml: "[[rules.prefix_rules]]\npattern = [{ token = \"git\", any_of = [\"push\"] }]\ndecision = \"prompt\"\n",
        valid: false,
        expect: &[err(
            "invalid_pattern_token",
            "rules.prefix_rules[0].pattern[0]",
            2,
            12,
            "set either `token` or `any_of`, not both",
        )],
    },
    Case {
        name: "pattern token with empty any_of",
        toml: "[[rules.prefix_rules]]\npattern = [{ token = \"git\" }, { any_of = [] }]\ndecision = \"prompt\"\n",
        valid: false,
        expect: &[err(
            "invalid_pattern_token",
            "rules.prefix_rules[0].pattern[1]",
            2,
            42,
            "any_of cannot be empty",
        )],
    },
    Case {
        name: "empty prefix_rules",
        toml: "[rules]\nprefix_rules = []\n",
        valid: false,
        expect: &[err(
            "empty_prefix_rules",
            "rules.prefix_rules",
            2,
            16,
            "cannot be empty",
        )],
    },
    Case {
        name: "rules table without prefix_rules",
        toml: "[rules]\nprefix_rule = []\n",
        valid: false,
        expect: &[
            err("missing_field", "rules.prefix_rules", 1, 1, "is required"),
            warn("unknown_key", "rules.prefix_rule", 2, 1, "known keys: prefix_rules"),
        ],
    },
    Case {
        name: "feature pin that is not a boolean",
        toml: "[features]\nmemories = \"yes\"\n",
        valid: false,
        expect: &[err(
            "wrong_type",
            "features.memories",
            2,
            12,
            "must be a boolean (true or false), found a string",
        )],
    },
    Case {
        name: "features and feature_requirements together",
        toml: "[features]\nmemories = true\n\n[feature_requirements]\napps = false\n",
        valid: false,
        expect: &[err(
            "duplicate_field",
            "feature_requirements",
            4,
            2,
            "two spellings of the same table",
        )],
    },
    Case {
        name: "network domains with legacy lists",
        toml: "[experimental_network]\ndomains = { \"a.example\" = \"allow\" }\ndenied_domains = [\"b.example\"]\n",
        valid: false,
        expect: &[err(
            "network_domains_conflict",
            "experimental_network.denied_domains",
            3,
            1,
            "cannot be combined with legacy `allowed_domains` or `denied_domains`",
        )],
    },
    Case {
        name: "network unix sockets with legacy list",
        toml: "[experimental_network]\nunix_sockets = { \"/run/docker.sock\" = \"allow\" }\nallow_unix_sockets = [\"/tmp/x.sock\"]\n",
        valid: false,
        expect: &[err(
            "network_unix_sockets_conflict",
            "experimental_network.allow_unix_sockets",
            3,
            1,
            "cannot be combined with legacy `allow_unix_sockets`",
        )],
    },
    Case {
        name: "network port out of range",
        toml: "[experimental_network]\nhttp_port = 70000\n",
        valid: false,
        expect: &[err(
            "value_out_of_range",
            "experimental_network.http_port",
            2,
            13,
            "must be between 0 and 65535",
        )],
    },
    Case {
        name: "network domain permission unknown",
        toml: "[experimental_network.domains]\n\"a.example\" = \"block\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "experimental_network.domains.\"a.example\"",
            2,
            15,
            "expected one of: allow, deny",
        )],
    },
    Case {
        name: "unknown field in marketplaces",
        toml: "[marketplaces]\nrestrict_to_allowed_sources = true\nallowed_source = []\n",
        valid: false,
        expect: &[err(
            "unknown_field",
            "marketplaces.allowed_source",
            3,
            1,
            "rejects unknown fields; expected one of: restrict_to_allowed_sources, allowed_sources",
        )],
    },
    Case {
        name: "unknown app tool approval mode",
        toml: "[apps.github.tools.create_issue]\napproval_mode = \"sometimes\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "apps.github.tools.create_issue.approval_mode",
            2,
            17,
            "expected one of: auto, prompt, writes, approve",
        )],
    },
    Case {
        name: "every error of a document is reported",
        toml: "allowed_approval_policies = []\nallowed_sandbox_modes = [\"workspace-write\"]\nenforce_residency = 1\n",
        valid: false,
        expect: &[
            err("empty_allowed_approval_policies", "allowed_approval_policies", 1, 29, "cannot be empty"),
            err("sandbox_modes_missing_read_only", "allowed_sandbox_modes", 2, 25, "read-only"),
            err("wrong_type", "enforce_residency", 3, 21, "must be a string (one of: us), found an integer"),
        ],
    },
    // ---- warnings only --------------------------------------------------------------
    Case {
        name: "unknown top-level key is ignored by Codex",
        toml: "allowed_models = [\"gpt-5\"]\n",
        valid: true,
        expect: &[warn(
            "unknown_key",
            "allowed_models",
            1,
            1,
            "is not a requirements.toml key; Codex ignores it",
        )],
    },
    Case {
        name: "unknown feature key",
        toml: "[features]\nmemories = true\nmemorys = false\n",
        valid: true,
        expect: &[warn(
            "unknown_feature",
            "features.memorys",
            3,
            1,
            "not a Codex 0.169.0 feature",
        )],
    },
    Case {
        name: "on-failure is a deprecated alias",
        toml: "allowed_approval_policies = [\"on-failure\", \"never\"]\n",
        valid: true,
        expect: &[warn(
            "deprecated_value",
            "allowed_approval_policies[0]",
            1,
            30,
            "Codex treats it as `on-request`",
        )],
    },
    Case {
        name: "guardian_subagent is the legacy reviewer spelling",
        toml: "allowed_approvals_reviewers = [\"guardian_subagent\"]\n",
        valid: true,
        expect: &[warn(
            "deprecated_value",
            "allowed_approvals_reviewers[0]",
            1,
            32,
            "Codex treats it as `auto_review`",
        )],
    },
    Case {
        name: "chatgpt_base_url is stripped from cloud requirements",
        toml: "chatgpt_base_url = \"https://steward.example/backend-api\"\n",
        valid: true,
        expect: &[warn(
            "stripped_from_cloud",
            "chatgpt_base_url",
            1,
            1,
            "strips it from cloud-delivered requirements",
        )],
    },
    Case {
        name: "models.new_thread sets defaults only",
        toml: "[models.new_thread]\nmodel = \"gpt-5-codex\"\n",
        valid: true,
        expect: &[warn(
            "defaults_not_enforced",
            "models.new_thread",
            1,
            9,
            "defaults for new threads, not constraints",
        )],
    },
    Case {
        name: "empty MCP allowlist disables every server",
        toml: "[mcp_servers]\n",
        valid: true,
        expect: &[warn(
            "empty_mcp_allowlist",
            "mcp_servers",
            1,
            2,
            "disables every MCP server",
        )],
    },
    Case {
        name: "identity with both command and url matches by command",
        toml: "[mcp_servers.docs]\nidentity = { command = \"npx\", url = \"https://x.example\" }\n",
        valid: true,
        expect: &[warn(
            "ignored_value",
            "mcp_servers.docs.identity.url",
            2,
            31,
            "Codex matches this server by `command`",
        )],
    },
    Case {
        name: "match examples are a .rules feature, ignored here",
        toml: "[[rules.prefix_rules]]\npattern = [{ token = \"ls\" }]\ndecision = \"prompt\"\nmatch = [\"ls -la\"]\n",
        valid: true,
        expect: &[warn(
            "unknown_key",
            "rules.prefix_rules[0].match",
            4,
            1,
            "Codex ignores it",
        )],
    },
];

#[test]
fn requirements_cases() {
    run(CASES, parse_requirements);
}

#[test]
fn suite_covers_enough_cases() {
    assert!(CASES.len() >= 30, "{} cases", CASES.len());
}
