//! Renders prefix rules as a `.rules` file Codex 0.169.0 loads back to the same rules.

use std::fmt::Write as _;

use super::error::WriteError;
use crate::execpolicy::rule::{PatternToken, PrefixRule};

/// One `prefix_rule(pattern=[...], decision="...", justification="...")` line per rule, in
/// order (order decides how Codex lists matches). `decision` is always written, because
/// Codex's default when it is omitted is `allow`.
///
/// Rules Codex would refuse to load (empty pattern or alternatives, blank justification) or
/// cannot express (a reviewer) are errors instead of a file that fails at load time.
pub fn write_rules(rules: &[PrefixRule]) -> Result<String, WriteError> {
    let mut out = String::new();
    for (index, rule) in rules.iter().enumerate() {
        write_rule(index, rule, &mut out)?;
    }
    Ok(out)
}

fn write_rule(index: usize, rule: &PrefixRule, out: &mut String) -> Result<(), WriteError> {
    if rule.pattern.is_empty() {
        return Err(WriteError::EmptyPattern { rule: index });
    }
    if rule.reviewer.is_some() {
        return Err(WriteError::Reviewer { rule: index });
    }
    out.push_str("prefix_rule(pattern=[");
    for (position, token) in rule.pattern.iter().enumerate() {
        if position > 0 {
            out.push_str(", ");
        }
        match token {
            PatternToken::Exact(token) => write_string(token, out),
            PatternToken::AnyOf(alternatives) if alternatives.is_empty() => {
                return Err(WriteError::EmptyAlternatives {
                    rule: index,
                    position,
                })
            }
            PatternToken::AnyOf(alternatives) => {
                out.push('[');
                for (i, alternative) in alternatives.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(alternative, out);
                }
                out.push(']');
            }
        }
    }
    out.push_str("], decision=");
    write_string(rule.decision.as_str(), out);
    if let Some(justification) = &rule.justification {
        if justification.trim().is_empty() {
            return Err(WriteError::BlankJustification { rule: index });
        }
        out.push_str(", justification=");
        write_string(justification, out);
    }
    out.push_str(")\n");
    Ok(())
}

/// Writes a double-quoted Starlark string literal that decodes to exactly `value`.
///
/// Control characters are escaped because Starlark drops raw carriage returns inside strings
/// and rejects raw newlines in single-line strings; everything else, including non-ASCII, is
/// written as is.
pub fn write_string(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
