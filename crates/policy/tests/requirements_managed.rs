//! Table-driven checks of `managed_config.toml` validation (a normal config.toml: syntax,
//! types of well-known keys, the `[otel]` shape), plus what the parsed file exposes.

#[path = "requirements_cases/harness.rs"]
mod harness;

use harness::{err, run, warn, Case};
use steward_policy::requirements::{
    parse_managed_config, ApprovalPolicy, ApprovalsReviewer, SandboxMode, WebSearchMode,
};

const STEWARD_OTEL: &str = r#"model = "gpt-5-codex"
approval_policy = "on-request"
sandbox_mode = "workspace-write"
web_search = "cached"
profile = "ci"
some_future_key = { anything = 1 }

[otel]
environment = "prod"
log_user_prompt = false
exporter = { otlp-http = { endpoint = "https://steward.example/v1/logs", protocol = "binary", headers = { "authorization" = "Bearer t" } } }
trace_exporter = { otlp-grpc = { endpoint = "https://steward.example:4317" } }
metrics_exporter = "none"

[otel.span_attributes]
team = "payments"

[features]
memories = true
multi_agent_v2 = { max_threads = 4 }

[profiles.ci]
approval_policy = "never"
sandbox_mode = "read-only"

[mcp_servers.docs]
command = "npx"
args = ["-y", "@example/docs"]
"#;

const CASES: &[Case] = &[
    Case {
        name: "managed config pushing telemetry to Steward",
        toml: STEWARD_OTEL,
        valid: true,
        expect: &[],
    },
    Case {
        name: "docs-style exporter table",
        toml: "[otel.exporter.\"otlp-http\"]\nendpoint = \"https://c.example/v1/logs\"\nprotocol = \"json\"\n\n[otel.exporter.\"otlp-http\".headers]\nx-api-key = \"abc\"\n",
        valid: true,
        expect: &[],
    },
    Case {
        name: "syntax error",
        toml: "model = gpt-5\n",
        valid: false,
        expect: &[err("toml_syntax", "", 1, 9, "invalid TOML")],
    },
    Case {
        name: "model must be a string",
        toml: "model = 5\n",
        valid: false,
        expect: &[err("wrong_type", "model", 1, 9, "must be a string, found an integer")],
    },
    Case {
        name: "unknown approval policy",
        toml: "approval_policy = \"yolo\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "approval_policy",
            1,
            19,
            "expected one of: untrusted, on-request, on-failure, never, granular",
        )],
    },
    Case {
        name: "external-sandbox is not a config.toml sandbox mode",
        toml: "sandbox_mode = \"external-sandbox\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "sandbox_mode",
            1,
            16,
            "expected one of: read-only, workspace-write, danger-full-access",
        )],
    },
    Case {
        name: "profile values are checked too",
        toml: "[profiles.ci]\nweb_search = \"sometimes\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "profiles.ci.web_search",
            2,
            14,
            "expected one of: disabled, cached, live, indexed",
        )],
    },
    Case {
        name: "feature value neither boolean nor table",
        toml: "[features]\nmemories = \"on\"\n",
        valid: false,
        expect: &[err("wrong_type", "features.memories", 2, 12, "must be a boolean")],
    },
    Case {
        name: "otlp-http as a bare string",
        toml: "[otel]\nexporter = \"otlp-http\"\n",
        valid: false,
        expect: &[err(
            "invalid_otel_exporter",
            "otel.exporter",
            2,
            12,
            "needs its settings",
        )],
    },
    Case {
        name: "otlp-http without protocol",
        toml: "[otel]\nexporter = { otlp-http = { endpoint = \"https://c.example/v1/logs\" } }\n",
        valid: false,
        expect: &[err(
            "missing_field",
            "otel.exporter.otlp-http.protocol",
            2,
            26,
            "is required",
        )],
    },
    Case {
        name: "unknown OTLP protocol",
        toml: "[otel.exporter.otlp-http]\nendpoint = \"https://c.example/v1/logs\"\nprotocol = \"grpc\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "otel.exporter.otlp-http.protocol",
            3,
            12,
            "expected one of: binary, json",
        )],
    },
    Case {
        name: "unknown exporter kind",
        toml: "[otel]\nmetrics_exporter = \"prometheus\"\n",
        valid: false,
        expect: &[err(
            "unknown_enum_value",
            "otel.metrics_exporter",
            2,
            20,
            "expected one of: none, statsig, otlp-http, otlp-grpc",
        )],
    },
    Case {
        name: "MCP server without command or url",
        toml: "[mcp_servers.docs]\nenabled = true\n",
        valid: false,
        expect: &[err(
            "invalid_mcp_server",
            "mcp_servers.docs",
            1,
            1,
            "needs `command`",
        )],
    },
    Case {
        name: "misspelled otel key",
        toml: "[otel]\nexporterr = \"none\"\n",
        valid: true,
        expect: &[warn("unknown_key", "otel.exporterr", 2, 1, "Codex ignores it")],
    },
    Case {
        name: "near-miss of a well-known key",
        toml: "aproval_policy = \"never\"\n",
        valid: true,
        expect: &[warn(
            "unknown_key",
            "aproval_policy",
            1,
            1,
            "did you mean `approval_policy`?",
        )],
    },
    Case {
        name: "unknown feature",
        toml: "[features]\nsuper_mode = true\n",
        valid: true,
        expect: &[warn("unknown_feature", "features.super_mode", 2, 1, "Codex ignores it")],
    },
    Case {
        name: "deprecated on-failure",
        toml: "approval_policy = \"on-failure\"\n",
        valid: true,
        expect: &[warn("deprecated_value", "approval_policy", 1, 19, "`on-request`")],
    },
];

#[test]
fn managed_config_cases() {
    run(CASES, parse_managed_config);
}

#[test]
fn managed_config_exposes_settings_profiles_and_otel() {
    let config = parse_managed_config(STEWARD_OTEL)
        .into_result()
        .expect("valid managed config");
    assert_eq!(config.settings.model.as_deref(), Some("gpt-5-codex"));
    assert_eq!(config.settings.approval_policy, Some(ApprovalPolicy::OnRequest));
    assert_eq!(config.settings.sandbox_mode, Some(SandboxMode::WorkspaceWrite));
    assert_eq!(config.settings.web_search, Some(WebSearchMode::Cached));
    // A feature given a settings table is not a boolean toggle.
    assert_eq!(
        config.settings.features.into_iter().collect::<Vec<_>>(),
        vec![("memories".to_owned(), true)]
    );
    assert_eq!(config.profile.as_deref(), Some("ci"));
    assert_eq!(config.profiles["ci"].approval_policy, Some(ApprovalPolicy::Never));
    assert_eq!(config.mcp_servers["docs"].command.as_deref(), Some("npx"));
    let otel = config.otel.expect("otel kept");
    assert_eq!(
        otel["exporter"]["otlp-http"]["endpoint"],
        "https://steward.example/v1/logs"
    );
    assert_eq!(config.document["some_future_key"]["anything"], 1);
}

#[test]
fn legacy_managed_values_become_single_value_requirements() {
    let config = parse_managed_config(
        "approval_policy = \"never\"\nsandbox_mode = \"workspace-write\"\napprovals_reviewer = \"user\"\n",
    )
    .into_result()
    .expect("valid");
    let legacy = config.legacy_requirements();
    assert_eq!(
        legacy.allowed_approval_policies,
        Some(vec![ApprovalPolicy::Never])
    );
    assert_eq!(
        legacy.allowed_sandbox_modes,
        Some(vec![SandboxMode::WorkspaceWrite, SandboxMode::ReadOnly])
    );
    assert_eq!(
        legacy.allowed_approvals_reviewers,
        Some(vec![ApprovalsReviewer::User])
    );
}
