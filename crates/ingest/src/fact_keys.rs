//! Dedup keys shared by every source of the same fact, so that a turn or a model response
//! reported by OTLP logs and by a shipped rollout (and later by Codex's analytics events) is
//! counted once: whichever source delivers it first claims the key, the others are duplicates.
//!
//! - A model response is its thread plus its four token figures. Codex's input grows with every
//!   response of a thread (the context accumulates), so two responses of one thread with the
//!   same four figures do not occur in practice; if they did, every source would merge them the
//!   same way.
//! - A turn is its thread plus its turn id (rollouts and analytics events carry it; OTLP log
//!   records get it from their trace's `session_task.turn` span when traces are exported).

use sha2::{Digest, Sha256};
use steward_model::TokenUsage;

fn key(workspace_id: &str, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(workspace_id.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p);
    }
    hex::encode(&h.finalize()[..16])
}

pub fn response_key(workspace_id: &str, thread_id: &str, u: &TokenUsage) -> String {
    let figures = format!(
        "{}/{}/{}/{}",
        u.input, u.cached_input, u.output, u.reasoning_output
    );
    key(
        workspace_id,
        &[b"response", thread_id.as_bytes(), figures.as_bytes()],
    )
}

pub fn turn_key(workspace_id: &str, thread_id: &str, turn_id: &str) -> String {
    key(workspace_id, &[b"turn", thread_id.as_bytes(), turn_id.as_bytes()])
}

/// A Codex analytics event's own key (a source's report, not a shared fact: the ledger
/// relates it to the turn's shared key).
pub fn analytics_key(workspace_id: &str, parts: &[&[u8]]) -> String {
    let mut all: Vec<&[u8]> = vec![b"analytics"];
    all.extend_from_slice(parts);
    key(workspace_id, &all)
}

/// A tool call is its thread plus the model's call id (OTLP's `codex.tool_result` and the
/// rollout's `function_call` / `*_output` carry the same one).
pub fn tool_key(workspace_id: &str, thread_id: &str, call_id: &str) -> String {
    key(workspace_id, &[b"tool", thread_id.as_bytes(), call_id.as_bytes()])
}

/// An agent message (rollouts only) is its thread and its place among the thread's answers,
/// which every reading of the same file agrees on.
pub fn message_key(workspace_id: &str, thread_id: &str, seq: u64) -> String {
    key(
        workspace_id,
        &[b"agent_message", thread_id.as_bytes(), &seq.to_be_bytes()],
    )
}

pub fn thread_key(workspace_id: &str, thread_id: &str) -> String {
    key(workspace_id, &[b"thread", thread_id.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_every_part() {
        let u = TokenUsage {
            input: 10,
            cached_input: 2,
            output: 3,
            reasoning_output: 1,
            total: 13,
        };
        let base = response_key("ws", "t", &u);
        assert_eq!(base.len(), 32);
        assert_eq!(base, response_key("ws", "t", &u));
        assert_ne!(base, response_key("ws2", "t", &u));
        assert_ne!(base, response_key("ws", "t2", &u));
        assert_ne!(base, response_key("ws", "t", &TokenUsage { output: 4, ..u }));
        assert_ne!(turn_key("ws", "t", "a"), turn_key("ws", "t", "b"));
        assert_ne!(turn_key("ws", "t", "a"), thread_key("ws", "t"));
        assert_ne!(tool_key("ws", "t", "a"), turn_key("ws", "t", "a"));
        assert_ne!(tool_key("ws", "t", "a"), tool_key("ws", "t2", "a"));
        assert_ne!(message_key("ws", "t", 1), message_key("ws", "t", 2));
        assert_ne!(message_key("ws", "t", 1), message_key("ws", "t2", 1));
    }
}
