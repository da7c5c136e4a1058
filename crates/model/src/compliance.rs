//! Which stored events become compliance records, and under which log type.
//!
//! The log types are OpenAI's Compliance API `event_type` values (wire-formats §2.2), so a
//! collector written for OpenAI asks for them by the same names.

use std::fmt;
use std::str::FromStr;

use crate::event::{EventKind, NormalizedEvent};

/// A compliance log type: one stream of sealed files per workspace and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogType {
    /// Prompts and model responses with their token usage.
    CodexLog,
    /// Tool approval decisions, tool executions, sandbox outcomes.
    CodexSecurityLog,
    /// Administrative actions in Steward itself (keys, tokens, users, policies).
    AuditLog,
}

impl LogType {
    pub const ALL: [LogType; 3] = [LogType::CodexLog, LogType::CodexSecurityLog, LogType::AuditLog];

    pub fn as_str(self) -> &'static str {
        match self {
            LogType::CodexLog => "CODEX_LOG",
            LogType::CodexSecurityLog => "CODEX_SECURITY_LOG",
            LogType::AuditLog => "AUDIT_LOG",
        }
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LogType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = LogType::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown event_type {s:?}; known: {}", known.join(", "))
        })
    }
}

/// Codex events that are security-relevant: approval decisions, tool executions, sandbox
/// denials (codex-facts §1.5; docs/research/codex-0.169-otel-signals.md §3.3).
const SECURITY_EVENTS: &[&str] = &[
    "codex.tool_decision",
    "codex.tool_result",
    "codex.sandbox_outcome",
];

/// An agent's answer as read from a shipped rollout (OTLP does not export answers): Steward's
/// event name, in the style of Codex's own.
pub const AGENT_MESSAGE: &str = "codex.agent_message";

impl NormalizedEvent {
    /// The compliance log this event is recorded in, if any. A prompt and a counted model
    /// response go to `CODEX_LOG`; the uncounted duplicate `response.completed` and the
    /// streaming deltas do not (they would only repeat what the counted one says).
    pub fn log_type(&self) -> Option<LogType> {
        match &self.kind {
            // Only the turns and responses of sources that carry content: a turn-level report
            // (analytics) has no prompt or answer to keep.
            _ if self.source == crate::Source::Analytics => None,
            EventKind::UserPrompt | EventKind::ResponseCompleted(_) => Some(LogType::CodexLog),
            _ if self.event_name == AGENT_MESSAGE => Some(LogType::CodexLog),
            _ if SECURITY_EVENTS.contains(&self.event_name.as_str()) => Some(LogType::CodexSecurityLog),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_types_round_trip_and_unknown_names_are_errors() {
        for t in LogType::ALL {
            assert_eq!(t.as_str().parse::<LogType>(), Ok(t));
        }
        let err = "CODEX".parse::<LogType>().unwrap_err();
        assert!(
            err.contains("\"CODEX\"") && err.contains("CODEX_SECURITY_LOG"),
            "{err}"
        );
    }
}
