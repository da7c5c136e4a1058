//! `[rules] prefix_rules`: exec-policy rules an admin imposes. Codex compiles them into a
//! policy overlaid on the user's `.rules` files where the strictest decision wins, which is
//! why `allow` is refused here: an admin rule can only tighten (codex-facts §4.2, §4.5).

use serde::Serialize;
use toml::de::DeValue;

use super::diagnostics::DiagnosticCode;
use super::spans::{join_index, join_key, Sink};
use super::walk::{self, Node};
use crate::execpolicy::{Decision, PatternToken, PrefixRule, Reviewer};

/// One `prefix_rules` entry as written, after validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequirementsRule {
    pub pattern: Vec<RuleToken>,
    /// `prompt` or `forbidden`.
    pub decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<Reviewer>,
}

/// A pattern position: `{ token = "git" }` or `{ any_of = ["push", "fetch"] }`; serialises
/// in the same shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleToken {
    Token(String),
    AnyOf(Vec<String>),
}

impl RequirementsRule {
    /// The rule in the exec-policy evaluator's terms.
    pub fn to_prefix_rule(&self) -> PrefixRule {
        PrefixRule {
            pattern: self
                .pattern
                .iter()
                .map(|token| match token {
                    RuleToken::Token(t) => PatternToken::Exact(t.clone()),
                    RuleToken::AnyOf(alts) => PatternToken::AnyOf(alts.clone()),
                })
                .collect(),
            decision: self.decision,
            justification: self.justification.clone(),
            reviewer: self.reviewer,
        }
    }
}

const RULES_KEYS: &[&str] = &["prefix_rules"];
const RULE_KEYS: &[&str] = &["pattern", "decision", "justification", "reviewer"];
const TOKEN_KEYS: &[&str] = &["token", "any_of"];

/// Validates the `[rules]` table. Returns the rules only if all of them are valid.
pub(crate) fn parse_rules(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<Vec<RequirementsRule>> {
    let table = walk::table(sink, path, node)?;
    walk::warn_unknown_keys(sink, path, table, RULES_KEYS);
    let list_path = join_key(path, "prefix_rules");
    let Some((_, list_node)) = walk::get(table, "prefix_rules") else {
        sink.error(
            DiagnosticCode::MissingField,
            &list_path,
            &node.span(),
            format!("`{list_path}` is required when `[{path}]` is present"),
        );
        return None;
    };
    let list = walk::array(sink, &list_path, list_node, "an array of tables")?;
    if list.is_empty() {
        sink.error(
            DiagnosticCode::EmptyPrefixRules,
            &list_path,
            &list_node.span(),
            format!("`{list_path}` cannot be empty; remove `[{path}]` or add a rule"),
        );
        return None;
    }
    let mut rules = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, rule_node) in list.iter().enumerate() {
        match parse_rule(sink, &join_index(&list_path, i), rule_node) {
            Some(rule) => rules.push(rule),
            None => ok = false,
        }
    }
    ok.then_some(rules)
}

fn parse_rule(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<RequirementsRule> {
    let table = walk::table(sink, path, node)?;
    walk::warn_unknown_keys(sink, path, table, RULE_KEYS);
    let errors_before = sink.error_count();

    let pattern_path = join_key(path, "pattern");
    let pattern = match walk::get(table, "pattern") {
        Some((_, pattern_node)) => parse_pattern(sink, &pattern_path, pattern_node),
        None => {
            sink.error(
                DiagnosticCode::MissingField,
                &pattern_path,
                &node.span(),
                format!("`{pattern_path}` is required: a non-empty array of {{ token = ... }} or {{ any_of = [...] }}"),
            );
            None
        }
    };

    let decision_path = join_key(path, "decision");
    let decision = match walk::get(table, "decision") {
        Some((_, decision_node)) => match walk::enum_value::<Decision>(sink, &decision_path, decision_node) {
            Some(Decision::Allow) => {
                sink.error(
                    DiagnosticCode::AllowInPrefixRules,
                    &decision_path,
                    &decision_node.span(),
                    format!(
                        "`{decision_path}` is \"allow\", which requirements.toml does not permit: \
                             Codex merges these rules with the user's and the strictest decision wins, \
                             so admins can only tighten (use \"prompt\" or \"forbidden\")"
                    ),
                );
                None
            }
            other => other,
        },
        None => {
            sink.error(
                DiagnosticCode::MissingDecision,
                &decision_path,
                &node.span(),
                format!("`{decision_path}` is required; expected one of: prompt, forbidden"),
            );
            None
        }
    };

    let justification_path = join_key(path, "justification");
    let justification = walk::get(table, "justification").and_then(|(_, j)| {
        let text = walk::string(sink, &justification_path, j)?;
        if text.trim().is_empty() {
            sink.error(
                DiagnosticCode::EmptyJustification,
                &justification_path,
                &j.span(),
                format!("`{justification_path}` cannot be empty; omit it or explain the rule"),
            );
            return None;
        }
        Some(text)
    });

    let reviewer_path = join_key(path, "reviewer");
    let reviewer = walk::get(table, "reviewer").and_then(|(_, r)| {
        let reviewer = walk::enum_value::<Reviewer>(sink, &reviewer_path, r)?;
        if decision == Some(Decision::Forbidden) {
            sink.error(
                DiagnosticCode::ReviewerOnForbidden,
                &reviewer_path,
                &r.span(),
                format!(
                    "`{reviewer_path}` is only valid with decision \"prompt\"; \
                     this rule's decision is \"forbidden\""
                ),
            );
            return None;
        }
        Some(reviewer)
    });

    if sink.error_count() > errors_before {
        return None;
    }
    Some(RequirementsRule {
        pattern: pattern?,
        decision: decision?,
        justification,
        reviewer,
    })
}

fn parse_pattern(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<Vec<RuleToken>> {
    let items = walk::array(sink, path, node, "an array of tables")?;
    if items.is_empty() {
        sink.error(
            DiagnosticCode::EmptyPattern,
            path,
            &node.span(),
            format!("`{path}` cannot be empty"),
        );
        return None;
    }
    let mut tokens = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match parse_token(sink, &join_index(path, i), item) {
            Some(token) => tokens.push(token),
            None => ok = false,
        }
    }
    ok.then_some(tokens)
}

fn parse_token(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<RuleToken> {
    let table = walk::table(sink, path, node)?;
    walk::warn_unknown_keys(sink, path, table, TOKEN_KEYS);
    let invalid = |sink: &mut Sink<'_>, span, reason: &str| {
        sink.error(
            DiagnosticCode::InvalidPatternToken,
            path,
            span,
            format!("invalid pattern token `{path}`: {reason}"),
        );
    };
    match (walk::get(table, "token"), walk::get(table, "any_of")) {
        (Some((_, token)), None) => {
            let text = walk::string(sink, &join_key(path, "token"), token)?;
            if text.trim().is_empty() {
                invalid(sink, &token.span(), "token cannot be empty");
                return None;
            }
            Some(RuleToken::Token(text))
        }
        (None, Some((_, any_of))) => {
            let alternatives = walk::string_array(sink, &join_key(path, "any_of"), any_of)?;
            if alternatives.is_empty() {
                invalid(sink, &any_of.span(), "any_of cannot be empty");
                return None;
            }
            if alternatives.iter().any(|alt| alt.trim().is_empty()) {
                invalid(sink, &any_of.span(), "any_of cannot include empty tokens");
                return None;
            }
            Some(RuleToken::AnyOf(alternatives))
        }
        (Some(_), Some(_)) => {
            invalid(sink, &node.span(), "set either `token` or `any_of`, not both");
            None
        }
        (None, None) => {
            let reason = if matches!(node.get_ref(), DeValue::Table(t) if t.is_empty()) {
                "set either `token` or `any_of` (the table is empty)"
            } else {
                "set either `token` or `any_of`"
            };
            invalid(sink, &node.span(), reason);
            None
        }
    }
}
