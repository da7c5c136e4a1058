//! Errors reading and writing `.rules` files.

use std::fmt;

use thiserror::Error;

/// A 1-based line and column (in characters) in a `.rules` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a `.rules` file was rejected, and where.
///
/// Everything Codex 0.169.0 rejects is rejected here too (so Steward never accepts a file the
/// CLI would refuse to load); a few things Codex accepts are rejected as [`Unsupported`]
/// because the reader covers only the `prefix_rule(...)` subset, not general Starlark.
///
/// [`Unsupported`]: ReadErrorKind::Unsupported
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {}, column {}: {kind}", .position.line, .position.column)]
pub struct ReadError {
    pub position: Position,
    pub kind: ReadErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ReadErrorKind {
    /// Valid (or invalid) Starlark outside the supported subset: variables, `def`, `load`,
    /// operators, numbers, `network_rule()`, `host_executable()`, f-strings, ...
    #[error("unsupported: {0} (only prefix_rule(...) calls with string and list literals are supported)")]
    Unsupported(String),
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("tabs are not allowed")]
    Tab,
    #[error("unexpected indentation")]
    Indentation,
    #[error("unfinished string literal")]
    UnfinishedString,
    #[error("invalid string escape sequence")]
    InvalidEscape,
    #[error("prefix_rule() got an unexpected argument `{0}`")]
    UnknownArgument(String),
    #[error("prefix_rule() has no `reviewer` argument in Codex 0.169.0")]
    ReviewerUnsupported,
    #[error("argument `{0}` given more than once")]
    RepeatedArgument(String),
    #[error("positional argument after a keyword argument")]
    PositionalAfterKeyword,
    #[error("prefix_rule() takes at most 5 positional arguments (pattern, decision, match, not_match, justification)")]
    TooManyPositional,
    #[error("prefix_rule() is missing the required `pattern` argument")]
    MissingPattern,
    #[error("`{argument}` must be a {expected}")]
    WrongType {
        argument: &'static str,
        expected: &'static str,
    },
    #[error("invalid decision `{0}` (expected allow, prompt or forbidden)")]
    InvalidDecision(String),
    #[error("justification cannot be empty")]
    EmptyJustification,
    #[error("pattern cannot be empty")]
    EmptyPattern,
    #[error("pattern alternatives cannot be empty")]
    EmptyAlternatives,
    #[error("pattern element must be a string or list of strings")]
    InvalidPatternElement,
    #[error("invalid example: {0}")]
    InvalidExample(&'static str),
    #[error("expected every `match` example to match the rule; unmatched: {}", render_examples(.0))]
    ExampleDidNotMatch(Vec<Vec<String>>),
    #[error("`not_match` example matches the rule: {}", render_examples(std::slice::from_ref(.0)))]
    ExampleDidMatch(Vec<String>),
}

fn render_examples(examples: &[Vec<String>]) -> String {
    serde_json::to_string(examples).unwrap_or_default()
}

/// Why rules cannot be written as a `.rules` file Codex 0.169.0 would load identically.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WriteError {
    #[error("rule {rule}: pattern cannot be empty")]
    EmptyPattern { rule: usize },
    #[error("rule {rule}: pattern position {position} has no alternatives")]
    EmptyAlternatives { rule: usize, position: usize },
    #[error("rule {rule}: justification cannot be empty or blank")]
    BlankJustification { rule: usize },
    /// Codex 0.169.0's `prefix_rule()` rejects a `reviewer` argument, and dropping it silently
    /// would change what the rule means.
    #[error("rule {rule}: Codex 0.169.0 .rules files cannot express a reviewer")]
    Reviewer { rule: usize },
}
