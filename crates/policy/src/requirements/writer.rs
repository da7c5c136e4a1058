//! Prefix rules rendered as requirements.toml's `[rules]` table: the admin-side twin of the
//! `.rules` writer, e.g. to move rules tried out with `codex execpolicy` into a managed policy.

use std::fmt::{self, Write as _};

use crate::execpolicy::{Decision, PatternToken, PrefixRule, Reviewer};

/// Rule `index` decides `allow`, which requirements cannot express (admins can only tighten).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowInRequirements {
    pub index: usize,
}

impl fmt::Display for AllowInRequirements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "prefix rule {} decides `allow`, which requirements.toml cannot express (only prompt or forbidden)",
            self.index
        )
    }
}

impl std::error::Error for AllowInRequirements {}

/// `[rules]\nprefix_rules = [...]`, one rule per line, that [`super::parse_requirements`]
/// reads back as the same rules.
pub fn write_prefix_rules(rules: &[PrefixRule]) -> Result<String, AllowInRequirements> {
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut out = String::from("[rules]\nprefix_rules = [\n");
    for (index, r) in rules.iter().enumerate() {
        let decision = match r.decision {
            Decision::Allow => return Err(AllowInRequirements { index }),
            Decision::Prompt => "prompt",
            Decision::Forbidden => "forbidden",
        };
        let tokens: Vec<String> = r
            .pattern
            .iter()
            .map(|t| match t {
                PatternToken::Exact(s) => format!("{{ token = {} }}", q(s)),
                PatternToken::AnyOf(alts) => {
                    let alts: Vec<String> = alts.iter().map(|a| q(a)).collect();
                    format!("{{ any_of = [{}] }}", alts.join(", "))
                }
            })
            .collect();
        let _ = write!(
            out,
            "  {{ pattern = [{}], decision = \"{decision}\"",
            tokens.join(", ")
        );
        if let Some(j) = &r.justification {
            let _ = write!(out, ", justification = {}", q(j));
        }
        if let Some(reviewer) = r.reviewer {
            let name = match reviewer {
                Reviewer::User => "user",
                Reviewer::AutoReview => "auto_review",
            };
            let _ = write!(out, ", reviewer = \"{name}\"");
        }
        out.push_str(" },\n");
    }
    out.push_str("]\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirements::parse_requirements;

    #[test]
    fn written_rules_read_back_the_same_and_allow_is_refused() {
        let rules = vec![
            PrefixRule {
                pattern: vec![
                    PatternToken::Exact("git".into()),
                    PatternToken::AnyOf(vec!["push".into(), "reset \"hard\"".into()]),
                ],
                decision: Decision::Prompt,
                justification: Some("needs review: ünïcode".into()),
                reviewer: None,
            },
            PrefixRule {
                pattern: vec![PatternToken::Exact("rm".into())],
                decision: Decision::Forbidden,
                justification: None,
                reviewer: None,
            },
        ];
        let text = write_prefix_rules(&rules).unwrap();
        let parsed = parse_requirements(&text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.value.unwrap().prefix_rules(), rules);
        let mut allow = rules;
        allow[1].decision = Decision::Allow;
        assert_eq!(write_prefix_rules(&allow), Err(AllowInRequirements { index: 1 }));
    }
}
