//! Codex `.rules` files (Starlark `prefix_rule(...)` calls): a writer for rules Steward
//! distributes and a reader for the subset Steward writes and people commonly hand-write.

mod error;
mod lexer;
mod reader;
mod writer;

pub use error::{Position, ReadError, ReadErrorKind, WriteError};
pub use reader::parse_rules;
pub use writer::{write_rules, write_string};
