//! Exec-policy prefix rules, evaluated as Codex does (`codex execpolicy check`).
//!
//! - [`rule`]: the rule types, shared with requirements' `[rules] prefix_rules`.
//! - [`Policy`]: rules indexed by program; [`Policy::check`] gives the same [`Evaluation`]
//!   (and, serialised, the same JSON) as `codex execpolicy check --rules FILE -- argv...`.
//! - [`rules_file`]: writing and reading `.rules` files.

mod evaluation;
mod policy;
pub mod rule;
pub mod rules_file;
pub mod shlex;

pub use evaluation::{Evaluation, RuleMatch};
pub use policy::Policy;
pub use rule::{Decision, PatternToken, PrefixRule, Reviewer};
pub use rules_file::{parse_rules, write_rules, Position, ReadError, ReadErrorKind, WriteError};
