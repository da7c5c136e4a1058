//! Codex's own product analytics (`POST /codex/analytics-events/events`, sent by a
//! ChatGPT-signed-in CLI whose `chatgpt_base_url` is Steward;
//! `../shared/spec/chatgpt-backend-integration.md`): `{"events": [{"event_type", "event_params"}]}`.
//!
//! - `codex_thread_initialized` → the thread's start (`ConversationStart`).
//! - `codex_turn_event` → one turn with its summed tokens ([`EventKind::TurnUsage`]): counted
//!   only while no per-response source reports that turn (the store's turn ledger), so a turn
//!   also exported over OTLP or shipped in a rollout counts once.
//! - Every other event type (tool executions, plugins, ...) is stored as it came, unknown
//!   types counted as such: never dropped, never read as usage.
//!
//! Events are keyed by their facts (thread; thread + turn), so the CLI re-sending one changes
//! nothing. A malformed event is refused alone, naming the field; the others are kept.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use steward_model::{client_id_for, EventKind, Source, TokenUsage, TurnReport};

use crate::error::IngestError;
use crate::fact_keys::{analytics_key, turn_key};
use crate::identity::IngestPrincipal;
use crate::normalize::{finalize_keyed, IdentityHints, ParsedRecord};
use crate::pipeline::Ingestor;

/// Events per request at most (the CLI sends a handful).
pub const MAX_EVENTS: usize = 10_000;

/// Event types read as facts; the rest are stored and counted under their name.
const THREAD_INITIALIZED: &str = "codex_thread_initialized";
const TURN_EVENT: &str = "codex_turn_event";
const KNOWN_OTHER: &[&str] = &[
    "codex_command_execution_event",
    "codex_app_mentioned",
    "codex_app_used",
    "codex_plugin_used",
    "codex_plugin_installed",
    "codex_plugin_uninstalled",
    "codex_plugin_enabled",
    "codex_plugin_disabled",
];

/// What one request did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AnalyticsOutcome {
    /// Events stored (new or already known).
    pub accepted: u64,
    pub turns: u64,
    pub threads: u64,
    /// Event types Steward does not read, by name (stored all the same).
    pub unknown_event_types: BTreeMap<String, u64>,
    /// Refused events: `events[i]: reason`.
    pub rejected: Vec<String>,
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl Ingestor {
    /// Stores one analytics request of the user `hints` names (from their verified token).
    pub async fn ingest_analytics(
        &self,
        principal: &IngestPrincipal,
        hints: &IdentityHints,
        body: &Value,
        received_ms: i64,
    ) -> Result<AnalyticsOutcome, AnalyticsError> {
        let events = body
            .get("events")
            .and_then(Value::as_array)
            .ok_or_else(|| AnalyticsError::Invalid("`events` must be an array".into()))?;
        if events.len() > MAX_EVENTS {
            return Err(AnalyticsError::Invalid(format!(
                "`events` holds {} events; at most {MAX_EVENTS} per request",
                events.len()
            )));
        }
        let ws = principal.workspace_id().to_owned();
        let user_id = self
            .resolver()
            .user_for(principal, hints)
            .await
            .map_err(IngestError::from)?;
        let mut outcome = AnalyticsOutcome::default();
        let mut stored = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            match parse(&ws, event, received_ms) {
                Ok((record, key)) => {
                    match &record.kind {
                        EventKind::TurnUsage(_) => outcome.turns += 1,
                        EventKind::ConversationStart => outcome.threads += 1,
                        EventKind::Unknown => {
                            *outcome
                                .unknown_event_types
                                .entry(record.event_name.clone())
                                .or_default() += 1
                        }
                        _ => {}
                    }
                    stored.push(finalize_keyed(
                        record,
                        &ws,
                        &user_id,
                        self.rate_card(),
                        key,
                        Source::Analytics,
                    ));
                }
                Err(reason) => outcome.rejected.push(format!("events[{i}]: {reason}")),
            }
        }
        outcome.accepted = stored.len() as u64;
        self.queue().write(stored).await?;
        metrics::counter!("steward_ingest_records_total", "signal" => "analytics", "outcome" => "accepted")
            .increment(outcome.accepted);
        metrics::counter!("steward_ingest_records_total", "signal" => "analytics", "outcome" => "rejected")
            .increment(outcome.rejected.len() as u64);
        Ok(outcome)
    }
}

/// One event as a record and its dedup key, or why it is refused.
fn parse(ws: &str, event: &Value, received_ms: i64) -> Result<(ParsedRecord, String), String> {
    let event = event.as_object().ok_or("an event must be an object")?;
    let event_type = match event.get("event_type") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => return Err("`event_type` must be a non-empty string".into()),
    };
    let params = match event.get("event_params") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => &Map::new(),
        Some(_) => return Err("`event_params` must be an object".into()),
    };
    let thread = opt_str(params, "thread_id")?;
    let model = opt_str(params, "model")?.or(opt_str(params, "model_slug")?);
    let client = params
        .get("app_server_client")
        .and_then(|c| c.get("product_client_id"))
        .and_then(Value::as_str);
    let raw = serde_json::json!({
        "source": "analytics_events",
        "event_type": event_type,
        "event_params": params,
    })
    .to_string();
    let (kind, timestamp_ms, key) = match event_type.as_str() {
        THREAD_INITIALIZED => {
            let thread = thread.as_deref().ok_or("`event_params.thread_id` is required")?;
            let at = opt_secs(params, "created_at")?.unwrap_or(received_ms);
            let mode = opt_str(params, "initialization_mode")?.unwrap_or_default();
            // A resumed thread is initialised again: one event per initialisation.
            let key = analytics_key(
                ws,
                &[
                    b"thread",
                    thread.as_bytes(),
                    mode.as_bytes(),
                    at.to_string().as_bytes(),
                ],
            );
            (EventKind::ConversationStart, at, key)
        }
        TURN_EVENT => {
            let thread = thread.as_deref().ok_or("`event_params.thread_id` is required")?;
            let turn = opt_str(params, "turn_id")?.ok_or("`event_params.turn_id` is required")?;
            let started = opt_secs(params, "started_at")?;
            let completed = opt_secs(params, "completed_at")?;
            let at = started.or(completed).unwrap_or(received_ms);
            let usage = TokenUsage {
                input: tokens(params, "input_tokens")?,
                cached_input: tokens(params, "cached_input_tokens")?,
                output: tokens(params, "output_tokens")?,
                reasoning_output: tokens(params, "reasoning_output_tokens")?,
                total: tokens(params, "total_tokens")?,
            };
            let report = TurnReport {
                usage,
                turn_key: turn_key(ws, thread, &turn),
                ended_ms: completed.unwrap_or(at).max(at),
            };
            let key = analytics_key(ws, &[b"turn", thread.as_bytes(), turn.as_bytes()]);
            (EventKind::TurnUsage(report), at, key)
        }
        other => {
            let kind = if KNOWN_OTHER.contains(&other) {
                EventKind::Other
            } else {
                EventKind::Unknown
            };
            let at = opt_int(params, "completed_at_ms")?
                .or(opt_int(params, "started_at_ms")?)
                .or(opt_secs(params, "created_at")?)
                .unwrap_or(received_ms);
            let key = analytics_key(ws, &[b"event", raw.as_bytes()]);
            (kind, at, key)
        }
    };
    let record = ParsedRecord {
        event_name: event_type,
        kind,
        thread_id: thread,
        trace_id: None,
        turn_id: params.get("turn_id").and_then(Value::as_str).map(str::to_owned),
        timestamp_ms,
        client_id: client_id_for(client),
        model,
        identity: IdentityHints::default(),
        call_id: None,
        raw,
    };
    Ok((record, key))
}

fn opt_str(params: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(format!("`event_params.{key}` must be a string")),
    }
}

/// A non-negative integer field; absent or null is `None`, anything else is an error (never
/// a silent zero).
fn opt_int(params: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) if i >= 0 => Ok(Some(i)),
            _ => Err(format!(
                "`event_params.{key}` must be a non-negative integer, got {n}"
            )),
        },
        Some(other) => Err(format!(
            "`event_params.{key}` must be a non-negative integer, got {other}"
        )),
    }
}

fn tokens(params: &Map<String, Value>, key: &str) -> Result<i64, String> {
    Ok(opt_int(params, key)?.unwrap_or(0))
}

/// Unix seconds → ms.
fn opt_secs(params: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    Ok(opt_int(params, key)?.map(|s| s.saturating_mul(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn turn(params: Value) -> Value {
        json!({"event_type": "codex_turn_event", "event_params": params})
    }

    #[test]
    fn a_turn_event_is_a_turn_report_keyed_by_thread_and_turn() {
        let event = turn(json!({
            "thread_id": "th-1", "turn_id": "tu-1", "model": "gpt-5-codex",
            "app_server_client": {"product_client_id": "codex_exec"},
            "input_tokens": 2700, "cached_input_tokens": 1300, "output_tokens": 75,
            "reasoning_output_tokens": 10, "total_tokens": 2775,
            "started_at": 1795243020, "completed_at": 1795243021
        }));
        let (record, key) = parse("ws", &event, 5).expect("parses");
        assert_eq!(record.client_id, "CODEX_SERVICE_EXEC");
        assert_eq!(record.timestamp_ms, 1_795_243_020_000);
        let EventKind::TurnUsage(report) = &record.kind else {
            panic!("{:?}", record.kind)
        };
        assert_eq!(
            (
                report.usage.input,
                report.usage.cached_input,
                report.usage.output,
                report.usage.reasoning_output
            ),
            (2700, 1300, 75, 10)
        );
        assert_eq!(report.ended_ms, 1_795_243_021_000);
        assert_eq!(report.turn_key, turn_key("ws", "th-1", "tu-1"));
        // Re-sent with other timings: the same key.
        let mut again = event;
        again["event_params"]["duration_ms"] = json!(99);
        assert_eq!(parse("ws", &again, 6).unwrap().1, key);
    }

    #[test]
    fn bad_fields_are_named_and_never_zero() {
        let cases = [
            (
                turn(json!({"turn_id": "t"})),
                "`event_params.thread_id` is required",
            ),
            (
                turn(json!({"thread_id": "th"})),
                "`event_params.turn_id` is required",
            ),
            (
                turn(json!({"thread_id": "th", "turn_id": "t", "input_tokens": "12"})),
                "`event_params.input_tokens` must be a non-negative integer",
            ),
            (
                turn(json!({"thread_id": "th", "turn_id": "t", "output_tokens": -1})),
                "`event_params.output_tokens` must be a non-negative integer",
            ),
            (
                json!({"event_params": {}}),
                "`event_type` must be a non-empty string",
            ),
            (
                json!({"event_type": "x", "event_params": []}),
                "`event_params` must be an object",
            ),
            (json!([1]), "an event must be an object"),
        ];
        for (event, want) in cases {
            let err = parse("ws", &event, 0).unwrap_err();
            assert!(err.contains(want), "{event}: {err}");
        }
    }

    #[test]
    fn other_and_unknown_event_types_are_kept() {
        let (known, _) = parse(
            "ws",
            &json!({"event_type": "codex_command_execution_event", "event_params": {"thread_id": "th", "completed_at_ms": 7}}),
            0,
        )
        .unwrap();
        assert_eq!((known.kind, known.timestamp_ms), (EventKind::Other, 7));
        let (unknown, _) = parse("ws", &json!({"event_type": "codex_from_the_future"}), 3).unwrap();
        assert_eq!((unknown.kind, unknown.timestamp_ms), (EventKind::Unknown, 3));
    }
}
