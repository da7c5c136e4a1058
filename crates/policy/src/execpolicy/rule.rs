//! The rule types shared by requirements' `[rules] prefix_rules` and `.rules` files.

use serde::{Deserialize, Serialize};

/// A rule's verdict. Ordered by strictness: the strictest decision of all matching rules wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Prompt,
    Forbidden,
}

impl Decision {
    /// The spelling used by `.rules` files and by `codex execpolicy check`'s JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Prompt => "prompt",
            Decision::Forbidden => "forbidden",
        }
    }

    /// Parses a `.rules` `decision=` value. Case-sensitive, like Codex (`"Allow"` is rejected).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "allow" => Some(Decision::Allow),
            "prompt" => Some(Decision::Prompt),
            "forbidden" => Some(Decision::Forbidden),
            _ => None,
        }
    }
}

/// Who reviews a `prompt` decision (newer Codex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reviewer {
    User,
    AutoReview,
}

/// One position of a pattern: an exact token or a set of alternatives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PatternToken {
    Exact(String),
    AnyOf(Vec<String>),
}

impl PatternToken {
    /// Whether an argv token satisfies this position (exact string equality, no globbing).
    pub fn matches(&self, token: &str) -> bool {
        match self {
            PatternToken::Exact(expected) => expected == token,
            PatternToken::AnyOf(alternatives) => alternatives.iter().any(|alt| alt == token),
        }
    }

    /// The accepted tokens, as a slice, so the first position can be expanded uniformly.
    pub fn alternatives(&self) -> &[String] {
        match self {
            PatternToken::Exact(expected) => std::slice::from_ref(expected),
            PatternToken::AnyOf(alternatives) => alternatives,
        }
    }
}

/// A prefix rule: argv matches when it is at least as long as `pattern` and every position
/// matches token by token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixRule {
    pub pattern: Vec<PatternToken>,
    pub decision: Decision,
    pub justification: Option<String>,
    pub reviewer: Option<Reviewer>,
}

impl PrefixRule {
    /// Whether `argv` starts with this rule's pattern. The first position is checked too, so
    /// this works on an unexpanded rule; [`crate::execpolicy::Policy`] skips it via its index.
    pub fn matches(&self, argv: &[String]) -> bool {
        !self.pattern.is_empty()
            && argv.len() >= self.pattern.len()
            && self
                .pattern
                .iter()
                .zip(argv)
                .all(|(token, arg)| token.matches(arg))
    }
}
