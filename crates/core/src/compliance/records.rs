//! From stored Codex events to compliance records in OpenAI's Compliance API shape
//! (wire-formats §2.4): the common envelope (`event_id`, `type`, `timestamp`, `principal`,
//! `actor`, `event_type`, `client_id`, `workspace_id`, `request_metadata`) plus
//! `event_details` with `detail_type` equal to `event_type`.
//!
//! OpenAI publishes the detail fields of `PROMPT_RESPONSE_RECEIVED` and `TOOL_CALL_COMPLETED`;
//! Steward keeps those names. For what OpenAI names no event type (prompts alone, approval
//! decisions, sandbox outcomes) the names are Steward's, listed in docs/compliance.md.
//! Content fields (`prompt_text`, `tool_input`, `tool_output`, ...) are the ones
//! `steward_compliance::chain::CONTENT_FIELDS` commits to by hash, so they can be erased later.

use chrono::{TimeZone, Utc};
use serde_json::{json, Map, Value};
use steward_store::{FileSubject, PendingEvent, PendingRecord, PendingSource, SubjectKind};

/// What Codex logs instead of the prompt when `log_user_prompt = false`.
const REDACTED_BY_CODEX: &str = "[REDACTED]";

/// The record of a pending item, or `None` for an event that maps to no record (cannot
/// happen for what the store queues, but a newer binary may queue more than an older one knows).
pub fn build(workspace_id: &str, pending: &PendingRecord) -> Result<Option<Value>, String> {
    match &pending.source {
        PendingSource::Record(json) => serde_json::from_str(json)
            .map(Some)
            .map_err(|e| format!("stored audit record {} is not JSON: {e}", pending.pending_id)),
        PendingSource::Event(event) => Ok(event_record(workspace_id, pending.log_type.as_str(), event)),
    }
}

/// The threads (`event_details.session_id`) and users (`actor.user_id`) `records` of file
/// `file_id` are about, each once: recorded at sealing for legal holds and deletion requests.
pub fn subjects(records: &[Value], file_id: &str) -> Vec<FileSubject> {
    let mut seen = std::collections::BTreeSet::new();
    for r in records {
        if let Some(thread) = record_thread(r) {
            seen.insert((SubjectKind::Thread, thread));
        }
        if let Some(user) = record_user(r) {
            seen.insert((SubjectKind::User, user));
        }
    }
    seen.into_iter()
        .map(|(kind, value)| FileSubject {
            file_id: file_id.to_owned(),
            kind,
            value: value.to_owned(),
        })
        .collect()
}

/// The user a record is about (`actor.user_id`), if any: what a per-user legal hold matches.
pub fn record_user(record: &Value) -> Option<&str> {
    record.pointer("/actor/user_id").and_then(Value::as_str)
}

/// The thread a record belongs to (`event_details.session_id`), if any.
pub fn record_thread(record: &Value) -> Option<&str> {
    record
        .pointer("/event_details/session_id")
        .and_then(Value::as_str)
}

/// RFC 3339 with microseconds, as OpenAI's records carry (`2026-07-09T10:08:44.000000Z`).
pub fn timestamp(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// The record id: the event's 128-bit dedup key written as a UUID, so a re-sent event, a
/// re-sealed record and a consumer's de-duplication all agree on it.
pub fn event_uuid(dedup_key: &str) -> String {
    match hex::decode(dedup_key) {
        Ok(bytes) if bytes.len() == 16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&bytes);
            uuid::Uuid::from_bytes(b).to_string()
        }
        // Not a 128-bit hex key (older or foreign rows): a name-based UUID of it, still stable.
        _ => uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, dedup_key.as_bytes()).to_string(),
    }
}

fn event_record(workspace_id: &str, log_type: &str, e: &PendingEvent) -> Option<Value> {
    let raw: Value = serde_json::from_str(&e.raw).unwrap_or(Value::Null);
    let attrs = raw
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let resource = raw
        .get("resource")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_owned);
    let (event_type, mut details) = match e.event_name.as_str() {
        "codex.user_prompt" => {
            let prompt = text("prompt");
            let logged = prompt.as_deref().is_some_and(|p| p != REDACTED_BY_CODEX);
            (
                "USER_PROMPT_SUBMITTED",
                json!({
                    "prompt_text": if logged { prompt.map(Value::String).unwrap_or(Value::Null) } else { Value::Null },
                    "prompt_logged": logged,
                    "prompt_length": number(attrs.get("prompt_length")),
                }),
            )
        }
        "codex.sse_event" => {
            let usage = e.usage.as_ref()?;
            (
                "PROMPT_RESPONSE_RECEIVED",
                json!({
                    "call_id": null,
                    "prompt_text": null,
                    "response_text": null,
                    "status": "success",
                    "service_tier": null,
                    "reasoning_effort": null,
                    "token_usage": {
                        "input_tokens": usage.input,
                        "cached_input_tokens": usage.cached_input,
                        "output_tokens": usage.output,
                        "reasoning_output_tokens": usage.reasoning_output,
                        "total_tokens": usage.total,
                    },
                    "error_code": null,
                    "error_message": null,
                }),
            )
        }
        steward_model::AGENT_MESSAGE => ("AGENT_MESSAGE", json!({ "response_text": text("message") })),
        "codex.tool_decision" => (
            "TOOL_APPROVAL_DECISION",
            json!({
                "call_id": text("call_id"),
                "tool_name": text("tool_name"),
                "tool_type": text("tool_namespace"),
                "decision": text("decision"),
                "decision_source": text("source"),
            }),
        ),
        "codex.tool_result" => {
            let success = match attrs.get("success") {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) => s.parse::<bool>().ok(),
                _ => None,
            };
            (
                "TOOL_CALL_COMPLETED",
                json!({
                    "call_id": text("call_id"),
                    "tool_call_id": text("call_id"),
                    "tool_name": text("tool_name"),
                    "tool_type": text("tool_namespace"),
                    "tool_input": text("arguments"),
                    "tool_output": text("output"),
                    "status": match success { Some(true) => "success", Some(false) => "error", None => "unknown" },
                    "duration_ms": number(attrs.get("duration_ms")),
                    "output_truncated": attrs.get("output_truncated").cloned().unwrap_or(Value::Null),
                    "mcp_server": text("mcp_server").filter(|s| !s.is_empty()),
                }),
            )
        }
        "codex.sandbox_outcome" => (
            "SANDBOX_OUTCOME",
            json!({
                "call_id": text("call_id"),
                "tool_name": text("tool_name"),
                "outcome": text("outcome"),
                "duration_ms": number(attrs.get("initial_duration_ms")),
            }),
        ),
        _ => return None,
    };
    let d = details.as_object_mut()?;
    d.insert("detail_type".into(), json!(event_type));
    d.insert("session_id".into(), json!(e.thread_id));
    // From the trace's turn span (OTLP), else as the record names it (rollouts).
    let turn_id = e.turn_id.clone().or_else(|| text("turn.id"));
    d.insert("turn_id".into(), json!(turn_id));
    d.insert("model".into(), json!(e.model));
    d.insert("environment_id".into(), Value::Null);
    if let Some(capture) = attrs.get("steward.capture") {
        d.insert("content_capture".into(), capture.clone());
    }
    Some(json!({
        "event_id": event_uuid(&e.dedup_key),
        "type": log_type,
        "timestamp": timestamp(e.timestamp_ms),
        "principal": { "id": workspace_id, "type": "CHATGPT_WORKSPACE" },
        "actor": {
            "type": "ACCOUNT_USER",
            "user_id": e.user_id,
            "user_email": e.user_email,
        },
        "event_type": event_type,
        "client_id": e.client_id,
        "workspace_id": workspace_id,
        "request_metadata": request_metadata(&attrs, &resource),
        "event_details": details,
    }))
}

/// What Codex says about the client: `originator/app.version` as the user agent (the shape
/// of OpenAI's `codex_cli_rs/0.150.0`), the host and terminal when exported.
fn request_metadata(attrs: &Map<String, Value>, resource: &Map<String, Value>) -> Value {
    let get = |k: &str| {
        attrs
            .get(k)
            .or_else(|| resource.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let agent = match (
        get("originator").or_else(|| get("service.name")),
        get("app.version").or_else(|| get("service.version")),
    ) {
        (Some(o), Some(v)) => Some(format!("{o}/{v}")),
        (Some(o), None) => Some(o),
        _ => None,
    };
    json!({
        "client_ip": null,
        "client_user_agent": agent,
        "host_name": get("host.name"),
        "terminal_type": get("terminal.type"),
    })
}

/// A count that Codex sends as a string or an int, as a JSON number (or null).
fn number(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Number(n)) => Value::Number(n.clone()),
        Some(Value::String(s)) => s.trim().parse::<i64>().map(Value::from).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests;
