//! What a validation reports: errors (Codex refuses the file) and warnings (Codex silently
//! ignores or reinterprets something), each pinned to a line, a column and a key path so an
//! admin can fix the file without guessing.

use std::fmt;

use serde::Serialize;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Codex fails to load the file (and, for requirements, fails to start).
    Error,
    /// Codex loads the file but ignores or reinterprets part of it.
    Warning,
}

/// Stable machine codes. The API and CLI expose them verbatim (snake_case), so a code, once
/// published, keeps its meaning; add new codes rather than repurposing old ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticCode {
    // Errors: Codex fails to load the file.
    /// The text is not TOML.
    TomlSyntax,
    /// A value has the wrong TOML type (e.g. a string where an array is expected).
    WrongType,
    /// A string is not one of the values Codex knows for that field.
    UnknownEnumValue,
    /// A required field is absent.
    MissingField,
    /// The same field is given twice under two spellings (`features` and `feature_requirements`).
    DuplicateField,
    /// A field of a table that rejects unknown fields (e.g. `[marketplaces]`).
    UnknownField,
    /// An integer outside the field's range (e.g. a port above 65535).
    ValueOutOfRange,
    /// `allowed_approval_policies = []`.
    EmptyAllowedApprovalPolicies,
    /// `allowed_approvals_reviewers = []`.
    EmptyAllowedApprovalsReviewers,
    /// `allowed_sandbox_modes` (or a `remote_sandbox_config` entry) without `read-only`.
    SandboxModesMissingReadOnly,
    /// `[rules]` with `prefix_rules = []`.
    EmptyPrefixRules,
    /// A prefix rule without `decision`.
    MissingDecision,
    /// `decision = "allow"` in requirements: admins can only tighten.
    AllowInPrefixRules,
    /// A prefix rule with `pattern = []`.
    EmptyPattern,
    /// A pattern token that is not exactly one of a non-empty `token` or a non-empty `any_of`.
    InvalidPatternToken,
    /// `justification = ""` (or only whitespace).
    EmptyJustification,
    /// `reviewer` on a rule whose decision is not `prompt`.
    ReviewerOnForbidden,
    /// An MCP `identity` that is neither `{ command = ... }` nor `{ url = ... }`.
    InvalidMcpIdentity,
    /// A config.toml MCP server without `command` or `url`.
    InvalidMcpServer,
    /// `experimental_network.domains` together with `allowed_domains`/`denied_domains`.
    NetworkDomainsConflict,
    /// `experimental_network.unix_sockets` together with `allow_unix_sockets`.
    NetworkUnixSocketsConflict,
    /// An `[otel]` exporter that is not `none`, `statsig`, `otlp-http` or `otlp-grpc`, or not
    /// shaped as Codex expects.
    InvalidOtelExporter,

    // Warnings: Codex loads the file but does not do what the text suggests.
    /// A key Codex does not read here; it is ignored.
    UnknownKey,
    /// A `[features]` key that is not a known Codex feature.
    UnknownFeature,
    /// A deprecated spelling Codex maps to another value (`on-failure`, `guardian_subagent`).
    DeprecatedValue,
    /// `chatgpt_base_url` in requirements: honoured only from local files, stripped from cloud
    /// requirements.
    StrippedFromCloud,
    /// A setting that only provides a default (e.g. `models.new_thread`); users can change it.
    DefaultsNotEnforced,
    /// An empty `[mcp_servers]` allowlist: every MCP server is disabled.
    EmptyMcpAllowlist,
    /// A value Codex accepts but ignores because another one takes precedence.
    IgnoredValue,
}

impl DiagnosticCode {
    /// The code as it appears in JSON (`"sandbox_modes_missing_read_only"`).
    pub fn as_str(self) -> &'static str {
        use DiagnosticCode::*;
        match self {
            TomlSyntax => "toml_syntax",
            WrongType => "wrong_type",
            UnknownEnumValue => "unknown_enum_value",
            MissingField => "missing_field",
            DuplicateField => "duplicate_field",
            UnknownField => "unknown_field",
            ValueOutOfRange => "value_out_of_range",
            EmptyAllowedApprovalPolicies => "empty_allowed_approval_policies",
            EmptyAllowedApprovalsReviewers => "empty_allowed_approvals_reviewers",
            SandboxModesMissingReadOnly => "sandbox_modes_missing_read_only",
            EmptyPrefixRules => "empty_prefix_rules",
            MissingDecision => "missing_decision",
            AllowInPrefixRules => "allow_in_prefix_rules",
            EmptyPattern => "empty_pattern",
            InvalidPatternToken => "invalid_pattern_token",
            EmptyJustification => "empty_justification",
            ReviewerOnForbidden => "reviewer_on_forbidden",
            InvalidMcpIdentity => "invalid_mcp_identity",
            InvalidMcpServer => "invalid_mcp_server",
            NetworkDomainsConflict => "network_domains_conflict",
            NetworkUnixSocketsConflict => "network_unix_sockets_conflict",
            InvalidOtelExporter => "invalid_otel_exporter",
            UnknownKey => "unknown_key",
            UnknownFeature => "unknown_feature",
            DeprecatedValue => "deprecated_value",
            StrippedFromCloud => "stripped_from_cloud",
            DefaultsNotEnforced => "defaults_not_enforced",
            EmptyMcpAllowlist => "empty_mcp_allowlist",
            IgnoredValue => "ignored_value",
        }
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding, located in the source text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: DiagnosticCode,
    /// Dotted key path, e.g. `rules.prefix_rules[2].decision`; empty for the whole document.
    pub path: String,
    /// 1-based line of the offending key or value.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes), as TOML parsers and editors do.
    pub column: usize,
    /// Human message naming the field and, for enums, the accepted values.
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `3:5: error[sandbox_modes_missing_read_only] allowed_sandbox_modes: ...`, the form the
    /// CLI prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {severity}[{}]", self.line, self.column, self.code)?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of validating one file: the parsed value when Codex would accept the file, and
/// every error and warning found (all of them, not just the first, so one round of edits
/// suffices).
#[derive(Clone, Debug, Serialize)]
pub struct Validation<T> {
    /// `Some` exactly when `errors` is empty.
    pub value: Option<T>,
    /// Sorted by position.
    pub errors: Vec<Diagnostic>,
    /// Sorted by position.
    pub warnings: Vec<Diagnostic>,
}

impl<T> Validation<T> {
    /// Whether Codex would load the file.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// Errors and warnings together, sorted by position.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        let mut all: Vec<&Diagnostic> = self.errors.iter().chain(&self.warnings).collect();
        all.sort_by_key(|d| (d.line, d.column));
        all
    }

    /// The value, or the errors; warnings are dropped.
    pub fn into_result(self) -> Result<T, Vec<Diagnostic>> {
        match self.value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self.errors),
        }
    }

    pub(crate) fn from_parts(value: Option<T>, diagnostics: Vec<Diagnostic>) -> Self {
        let (mut errors, mut warnings): (Vec<_>, Vec<_>) =
            diagnostics.into_iter().partition(Diagnostic::is_error);
        errors.sort_by_key(|d| (d.line, d.column));
        warnings.sort_by_key(|d| (d.line, d.column));
        let value = if errors.is_empty() { value } else { None };
        Self {
            value,
            errors,
            warnings,
        }
    }
}
