//! The normalised Codex event: one telemetry record, attributed and classified.

use serde::{Deserialize, Serialize};

use crate::usage::TokenUsage;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    OtlpLogs,
    /// A line of a Codex session rollout file, shipped by `steward agent ship`.
    Rollout,
    /// Codex's own product analytics (`POST /codex/analytics-events/events`, ChatGPT sign-in).
    Analytics,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::OtlpLogs => "otlp_logs",
            Source::Rollout => "rollout",
            Source::Analytics => "analytics_events",
            Source::Demo => "demo",
        }
    }
}

/// What an event means for accounting (codex-facts §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// `codex.conversation_starts`: a thread was configured (also on resume, same thread id).
    ConversationStart,
    /// `codex.user_prompt`: one turn.
    UserPrompt,
    /// `codex.sse_event` with `event.kind=response.completed` and usage: tokens spent.
    ResponseCompleted(TokenUsage),
    /// A whole turn as a turn-level source reported it (Codex's analytics `codex_turn_event`):
    /// one turn and its summed tokens. Counted only while no per-response source (OTLP logs, a
    /// shipped rollout) has reported that turn, and taken back out of the rollups when one does
    /// (the store's turn ledger), so each turn counts once whichever source comes first.
    TurnUsage(TurnReport),
    /// Any other known Codex event (sse deltas, api requests, tool decisions, ...).
    Other,
    /// An `event.name` Steward does not know: stored, counted, never fatal.
    Unknown,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::ConversationStart => "conversation_start",
            EventKind::UserPrompt => "user_prompt",
            EventKind::ResponseCompleted(_) => "response_completed",
            EventKind::TurnUsage(_) => "turn_usage",
            EventKind::Other => "other",
            EventKind::Unknown => "unknown",
        }
    }

    pub fn usage(&self) -> Option<&TokenUsage> {
        match self {
            EventKind::ResponseCompleted(u) => Some(u),
            EventKind::TurnUsage(t) => Some(&t.usage),
            _ => None,
        }
    }

    /// Whether the event makes its thread "active" on its day (counted in `threads`).
    pub fn activates_thread(&self) -> bool {
        matches!(
            self,
            EventKind::UserPrompt | EventKind::ResponseCompleted(_) | EventKind::TurnUsage(_)
        )
    }

    /// Whether the event counts one turn when it is counted.
    pub fn is_turn(&self) -> bool {
        matches!(self, EventKind::UserPrompt | EventKind::TurnUsage(_))
    }
}

/// What a turn-level source says about one turn (see [`EventKind::TurnUsage`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnReport {
    pub usage: TokenUsage,
    /// The turn's key shared by every source (`fact_keys::turn_key`): an OTLP prompt with its
    /// turn id or a shipped rollout's turn under this key covers the turn exactly.
    pub turn_key: String,
    /// When the turn ended (Unix ms; it started at the event's `timestamp_ms`). Per-response
    /// reports of the thread inside this window (with a little slack for whole-second clocks)
    /// cover the turn too, which is how OTLP logs without traces are recognised.
    pub ended_ms: i64,
}

/// One Codex telemetry record after decoding, attribution and classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedEvent {
    /// Content hash (hex) of the record within its workspace; a re-sent record has the same
    /// key, which is what makes counting exactly-once under at-least-once delivery.
    pub dedup_key: String,
    pub workspace_id: String,
    pub user_id: String,
    pub source: Source,
    /// The raw `event.name` (e.g. `codex.user_prompt`).
    pub event_name: String,
    pub kind: EventKind,
    /// `conversation.id`: the thread. A resumed session keeps its id.
    pub thread_id: Option<String>,
    /// OTLP trace id (hex) of the span active when the record was emitted: in Codex 0.169.0 the
    /// turn's trace, whose `session_task.turn` span names the turn id (logs carry none).
    #[serde(default)]
    pub trace_id: Option<String>,
    /// The Codex turn id, when the source names it (rollouts and analytics events always; OTLP
    /// prompts when their trace's turn span had arrived). Relating reports of one turn from
    /// sources that key it differently needs to know which reports are sure of their turn.
    #[serde(default)]
    pub turn_id: Option<String>,
    /// Event time in Unix milliseconds (from `event.timestamp`; OTLP record times are 0).
    pub timestamp_ms: i64,
    /// OpenAI `client_id` of the surface that produced it.
    pub client_id: String,
    pub model: Option<String>,
    /// Credits and USD in millionths, priced at ingest for token-bearing events.
    pub credits_micro: i64,
    pub usd_micro: i64,
    /// Rate-card version that priced this event (empty when nothing was priced).
    pub rate_card_version: String,
    /// The raw record (resource and log attributes) as JSON, kept for compliance and reprocessing.
    pub raw: String,
    /// `host.name` of the machine that ran Codex (the OTLP logs resource): with the working
    /// directory from traces, it names the thread's Codex environment.
    #[serde(default)]
    pub host_name: Option<String>,
}

impl NormalizedEvent {
    /// The time half of this event's dedup claim (`event_keys` is keyed (time, key) so that new
    /// keys land at the end of its index, which works because a re-sent record has the same
    /// time). Turns and model responses are keyed by the fact itself, shared by every source
    /// that reports it (OTLP logs, shipped rollouts), and those sources' clocks differ: their
    /// claims are timeless (0), so the fact is claimed once whoever reports it first. So are
    /// tool results (keyed by call id) and agent messages (one answer may be written twice by a
    /// rollout, a few milliseconds apart).
    pub fn dedup_claim_ms(&self) -> i64 {
        let shared_fact = matches!(self.source, Source::OtlpLogs | Source::Rollout)
            && (matches!(self.kind, EventKind::UserPrompt | EventKind::ResponseCompleted(_))
                || matches!(
                    self.event_name.as_str(),
                    "codex.tool_result" | crate::AGENT_MESSAGE
                ));
        if shared_fact {
            0
        } else {
            self.timestamp_ms
        }
    }
}
