//! The result of checking one command, shaped exactly like `codex execpolicy check`'s JSON.
//!
//! Codex 0.169.0 prints `{"matchedRules":[...],"decision":"..."}` with serde_json, so the
//! field order, the renames and the omitted keys below are part of the wire format: a byte-level
//! difference would make Steward's dry-run disagree with what the CLI shows an admin.

use serde::Serialize;

use super::rule::{Decision, Reviewer};

/// All rules matching one command, in the order Codex reports them, plus the strictest
/// decision among them.
///
/// Borrows the matched prefix from the checked argv and the justification from the policy, so
/// a check allocates nothing beyond the match list (and nothing at all when no rule matches).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evaluation<'a> {
    /// Matches in rule-file order among the rules for the command's first token.
    #[serde(rename = "matchedRules")]
    pub matched_rules: Vec<RuleMatch<'a>>,
    /// Strictest decision of `matched_rules`; `None` (key omitted) when nothing matched, in which
    /// case Codex falls back to its heuristics and approval policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

impl<'a> Evaluation<'a> {
    pub(crate) fn from_matches(matched_rules: Vec<RuleMatch<'a>>) -> Self {
        let decision = matched_rules.iter().map(RuleMatch::decision).max();
        Evaluation {
            matched_rules,
            decision,
        }
    }

    /// Whether any rule matched.
    pub fn is_match(&self) -> bool {
        !self.matched_rules.is_empty()
    }

    /// The single-line JSON `codex execpolicy check` prints (without its trailing newline).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, enums and vectors cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JSON `codex execpolicy check --pretty` prints (without its trailing newline).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// One matching rule. Externally tagged so it serialises as `{"prefixRuleMatch":{...}}`, the
/// variant name Codex uses (it also has heuristics matches, which `check` never reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum RuleMatch<'a> {
    #[serde(rename = "prefixRuleMatch")]
    PrefixRuleMatch {
        /// The concrete argv tokens the pattern covered (not the pattern's alternatives).
        #[serde(rename = "matchedPrefix")]
        matched_prefix: &'a [String],
        decision: Decision,
        /// Omitted when the rule has none, as Codex does.
        #[serde(skip_serializing_if = "Option::is_none")]
        justification: Option<&'a str>,
        /// Newer Codex only; a 0.169.0 `.rules` file cannot set it, so it never appears there.
        #[serde(skip_serializing_if = "Option::is_none")]
        reviewer: Option<Reviewer>,
    },
}

impl RuleMatch<'_> {
    pub fn decision(&self) -> Decision {
        match self {
            RuleMatch::PrefixRuleMatch { decision, .. } => *decision,
        }
    }

    pub fn matched_prefix(&self) -> &[String] {
        match self {
            RuleMatch::PrefixRuleMatch { matched_prefix, .. } => matched_prefix,
        }
    }

    pub fn justification(&self) -> Option<&str> {
        match self {
            RuleMatch::PrefixRuleMatch { justification, .. } => *justification,
        }
    }
}
