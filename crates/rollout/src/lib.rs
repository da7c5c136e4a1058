//! Codex session rollout files (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`,
//! `archived_sessions/`; codex-facts §3).
//!
//! - [`line`]: one line → what it means, tolerant of every version's drift; unknown types are
//!   returned as such, and a needed field with the wrong type is a [`Problem`], never a zero.
//! - [`reader`]: a thread's lines in order → facts (thread, turns, per-response usage, prompts,
//!   answers, tool calls), with a serialisable state so a file can arrive in pieces.
//! - [`files`]: finding rollouts under Codex homes and reading them line by line.
//! - [`report`]: local reports per day/week/month/session (`steward report`).

pub mod files;
pub mod line;
pub mod problem;
pub mod reader;
pub mod report;

pub use files::{feed_line, ReadMode};
pub use line::{parse_line, Item, ParsedLine, SessionMeta};
pub use problem::{Problem, ProblemExample, ProblemKind, Tally};
pub use reader::{thread_id_from_file_name, Fact, ThreadState, ToolFact, UsageBasis, UsageFact};
