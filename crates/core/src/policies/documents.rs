//! The two documents of a policy revision, validated together.

use serde::{Deserialize, Serialize};
use steward_policy::requirements::{parse_managed_config, parse_requirements, Diagnostic};

use super::PolicyError;

/// What a policy revision consists of: the `requirements.toml` Codex enforces and the
/// `managed_config.toml` defaults it applies (either may be empty).
/// Unknown fields are refused: a misspelt `requirements` would otherwise validate as an empty
/// document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocuments {
    #[serde(default)]
    pub requirements_toml: String,
    #[serde(default)]
    pub managed_config_toml: String,
}

/// Diagnostics of both documents, each list sorted by position.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DocumentDiagnostics {
    pub requirements_toml: Vec<Diagnostic>,
    pub managed_config_toml: Vec<Diagnostic>,
}

impl PolicyDocuments {
    pub fn validate(&self) -> DocumentDiagnostics {
        DocumentDiagnostics {
            requirements_toml: parse_requirements(&self.requirements_toml)
                .diagnostics()
                .into_iter()
                .cloned()
                .collect(),
            managed_config_toml: parse_managed_config(&self.managed_config_toml)
                .diagnostics()
                .into_iter()
                .cloned()
                .collect(),
        }
    }
}

impl DocumentDiagnostics {
    pub fn has_errors(&self) -> bool {
        self.all().any(|(_, d)| d.is_error())
    }

    /// `(document, diagnostic)` pairs, requirements first.
    pub fn all(&self) -> impl Iterator<Item = (&'static str, &Diagnostic)> {
        let r = self.requirements_toml.iter().map(|d| ("requirements_toml", d));
        let m = self
            .managed_config_toml
            .iter()
            .map(|d| ("managed_config_toml", d));
        r.chain(m)
    }

    /// Only the warnings (what Codex would silently ignore).
    pub fn warnings(self) -> Vec<Diagnostic> {
        self.requirements_toml
            .into_iter()
            .chain(self.managed_config_toml)
            .filter(|d| !d.is_error())
            .collect()
    }

    /// `Err(Invalid)` when any document has an error.
    pub fn into_result(self) -> Result<Self, PolicyError> {
        if self.has_errors() {
            Err(PolicyError::Invalid(self))
        } else {
            Ok(self)
        }
    }

    /// One line per error: `requirements_toml:3:5: message`, for error messages and logs.
    pub fn summary(&self) -> String {
        self.all()
            .filter(|(_, d)| d.is_error())
            .map(|(doc, d)| format!("{doc}:{}:{}: {}", d.line, d.column, d.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
