//! From OTLP log records to Codex events (codex-facts §1.4–1.5).
//!
//! Rules: the event name is the `event.name` attribute (the body is unused); the time is the
//! `event.timestamp` attribute (the record's own time is 0 in Codex exports); numbers arrive as
//! strings or ints; tokens come only from `codex.sse_event` records with
//! `event.kind=response.completed` that carry token counts (Codex 0.169.0 also emits one without
//! them per response); unknown event names are kept, never fatal. A record whose attributes have
//! unexpected types is rejected alone, with a reason naming the attribute.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyKind;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use steward_model::time::parse_rfc3339_ms;
use steward_model::{client_id_for, EventKind, NormalizedEvent, RateCard, Source, TokenUsage};

/// Codex log event names Steward knows (codex-facts §1.5). Others are stored as `Unknown`.
const KNOWN_EVENTS: &[&str] = &[
    "codex.conversation_starts",
    "codex.api_request",
    "codex.websocket_connect",
    "codex.websocket_request",
    "codex.websocket_event",
    "codex.auth_recovery",
    "codex.sse_event",
    "codex.user_prompt",
    "codex.tool_decision",
    "codex.tool_result",
    "codex.sandbox_outcome",
    "codex.startup_phase",
    "codex.turn_ttft",
    "codex.plugin_install_elicitation_sent",
    "codex.plugin_install_suggestion",
];

/// Who the telemetry says the user is (resource or log attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityHints {
    pub email: Option<String>,
    pub account_id: Option<String>,
    pub host: Option<String>,
}

/// A record that parsed, before attribution to a user.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRecord {
    pub event_name: String,
    pub kind: EventKind,
    pub thread_id: Option<String>,
    /// Hex trace id of the record, when it has one (joins it to its turn's span).
    pub trace_id: Option<String>,
    /// The Codex turn id, when the record names it (see `NormalizedEvent::turn_id`).
    pub turn_id: Option<String>,
    pub timestamp_ms: i64,
    pub client_id: &'static str,
    pub model: Option<String>,
    pub identity: IdentityHints,
    /// The model's call id of a tool result (`codex.tool_result`): the tool call's fact key.
    pub call_id: Option<String>,
    /// Canonical JSON of the whole record (sorted keys): stored raw and hashed for dedup.
    pub raw: String,
}

/// A record refused on its own (OTLP partial success), with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRejection {
    pub index: usize,
    pub reason: String,
}

/// Flattens an OTLP `AnyValue` into JSON (bytes as hex, kvlists as objects).
pub fn any_to_json(v: Option<&AnyValue>) -> Value {
    let Some(kind) = v.and_then(|v| v.value.as_ref()) else {
        return Value::Null;
    };
    match kind {
        AnyKind::StringValue(s) => Value::String(s.clone()),
        AnyKind::BoolValue(b) => Value::Bool(*b),
        AnyKind::IntValue(i) => Value::from(*i),
        AnyKind::DoubleValue(d) => serde_json::Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        AnyKind::ArrayValue(a) => Value::Array(a.values.iter().map(|v| any_to_json(Some(v))).collect()),
        AnyKind::KvlistValue(kv) => Value::Object(attrs_to_map(&kv.values)),
        AnyKind::BytesValue(b) => Value::String(hex::encode(b)),
        // Dictionary-encoded strings belong to the profiles signal, never to logs.
        AnyKind::StringValueStrindex(i) => Value::from(*i),
    }
}

fn attrs_to_map(attrs: &[KeyValue]) -> Map<String, Value> {
    // serde_json's Map is a BTreeMap here (no preserve_order): serialisation is key-sorted.
    attrs
        .iter()
        .map(|kv| (kv.key.clone(), any_to_json(kv.value.as_ref())))
        .collect()
}

/// Parses every log record of a request. `received_ms` is the fallback time.
pub fn parse_logs(
    req: &ExportLogsServiceRequest,
    received_ms: i64,
) -> (Vec<ParsedRecord>, Vec<RecordRejection>) {
    // Sized up front: a 512-record batch would otherwise regrow (and copy) this vector ten
    // times, on fresh pages the kernel has to zero.
    let records = req
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum();
    let mut parsed = Vec::with_capacity(records);
    let mut rejected = Vec::new();
    let mut index = 0usize;
    for rl in &req.resource_logs {
        let resource = rl
            .resource
            .as_ref()
            .map(|r| attrs_to_map(&r.attributes))
            .unwrap_or_default();
        // Serialised once per resource and scope, not once per record.
        let resource_json = serde_json::to_string(&resource).unwrap_or_default();
        for sl in &rl.scope_logs {
            let scope = sl.scope.as_ref().map(|s| s.name.as_str()).unwrap_or("");
            let scope_json = Value::String(scope.to_owned()).to_string();
            for record in &sl.log_records {
                let attrs = attrs_to_map(&record.attributes);
                let raw = canonical_raw(&resource_json, &scope_json, &attrs, record);
                match parse_record(
                    &resource,
                    &attrs,
                    record.time_unix_nano,
                    record.observed_time_unix_nano,
                    received_ms,
                    raw,
                ) {
                    Ok(mut p) => {
                        p.trace_id = trace_hex(&record.trace_id);
                        parsed.push(p)
                    }
                    Err(reason) => rejected.push(RecordRejection { index, reason }),
                }
                index += 1;
            }
        }
    }
    (parsed, rejected)
}

/// The record as one JSON object with keys in sorted order (the same text whether the request
/// came as protobuf or JSON), built by concatenation so the resource is not re-serialised.
fn canonical_raw(
    resource_json: &str,
    scope_json: &str,
    attrs: &Map<String, Value>,
    record: &opentelemetry_proto::tonic::logs::v1::LogRecord,
) -> String {
    use std::io::Write as _;
    // One buffer, written in place: this runs for every record on the ingest path, and the
    // intermediate strings of a `format!` over serialised parts showed up in profiles.
    let mut out = Vec::with_capacity(256 + resource_json.len() + 64 * attrs.len());
    let body = any_to_json(record.body.as_ref());
    // Writing JSON into a Vec cannot fail (no IO error, string keys only).
    let _ = (|| -> std::io::Result<()> {
        out.extend_from_slice(b"{\"attributes\":");
        serde_json::to_writer(&mut out, attrs)?;
        out.extend_from_slice(b",\"body\":");
        serde_json::to_writer(&mut out, &body)?;
        write!(
            out,
            ",\"observed_time_unix_nano\":{}",
            record.observed_time_unix_nano
        )?;
        out.extend_from_slice(b",\"resource\":");
        out.extend_from_slice(resource_json.as_bytes());
        out.extend_from_slice(b",\"scope\":");
        out.extend_from_slice(scope_json.as_bytes());
        out.extend_from_slice(b",\"severity_text\":");
        serde_json::to_writer(&mut out, &record.severity_text)?;
        write!(out, ",\"time_unix_nano\":{}", record.time_unix_nano)?;
        out.extend_from_slice(b",\"trace_id\":");
        match trace_hex(&record.trace_id) {
            Some(t) => serde_json::to_writer(&mut out, &t)?,
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        Ok(())
    })();
    // Only serde_json output and valid UTF-8 strings were written.
    String::from_utf8(out).unwrap_or_default()
}

/// A trace id as lowercase hex, or `None` when absent (empty or all zero, as Codex sends on
/// records emitted outside a span).
pub fn trace_hex(id: &[u8]) -> Option<String> {
    (!id.is_empty() && id.iter().any(|b| *b != 0)).then(|| hex::encode(id))
}

fn parse_record(
    resource: &Map<String, Value>,
    attrs: &Map<String, Value>,
    time_unix_nano: u64,
    observed_unix_nano: u64,
    received_ms: i64,
    raw: String,
) -> Result<ParsedRecord, String> {
    let event_name = opt_string(attrs, "event.name")?.unwrap_or_default();
    let thread_id = opt_string(attrs, "conversation.id")?.filter(|s| !s.is_empty());
    let model = opt_string(attrs, "model")?.filter(|s| !s.is_empty());
    let originator = match opt_string(attrs, "originator")? {
        Some(o) => Some(o),
        None => opt_string(resource, "service.name")?,
    };
    let timestamp_ms = match opt_string(attrs, "event.timestamp")? {
        Some(ts) => parse_rfc3339_ms(&ts)
            .ok_or_else(|| format!("attribute `event.timestamp` must be an RFC 3339 time, got {ts:?}"))?,
        None if time_unix_nano > 0 => (time_unix_nano / 1_000_000) as i64,
        None if observed_unix_nano > 0 => (observed_unix_nano / 1_000_000) as i64,
        None => received_ms,
    };
    let kind = classify(&event_name, attrs)?;
    let call_id = match event_name.as_str() {
        // Not a string: keyed by content, as before, rather than refusing the record.
        "codex.tool_result" => opt_string(attrs, "call_id")
            .ok()
            .flatten()
            .filter(|s| !s.is_empty()),
        _ => None,
    };
    let identity = IdentityHints {
        email: first_string(attrs, resource, "user.email")?,
        account_id: first_string(attrs, resource, "user.account_id")?,
        host: first_string(attrs, resource, "host.name")?,
    };
    Ok(ParsedRecord {
        event_name,
        kind,
        thread_id,
        trace_id: None,
        turn_id: None,
        timestamp_ms,
        client_id: client_id_for(originator.as_deref()),
        model,
        identity,
        call_id,
        raw,
    })
}

fn classify(event_name: &str, attrs: &Map<String, Value>) -> Result<EventKind, String> {
    Ok(match event_name {
        "codex.conversation_starts" => EventKind::ConversationStart,
        "codex.user_prompt" => EventKind::UserPrompt,
        "codex.sse_event" => {
            let is_completed = opt_string(attrs, "event.kind")?.as_deref() == Some("response.completed");
            match (is_completed, token_usage(attrs)?) {
                (true, Some(usage)) => EventKind::ResponseCompleted(usage),
                _ => EventKind::Other,
            }
        }
        name if KNOWN_EVENTS.contains(&name) => EventKind::Other,
        _ => EventKind::Unknown,
    })
}

/// Usage of a `response.completed` record, or `None` when it carries no token counts.
fn token_usage(attrs: &Map<String, Value>) -> Result<Option<TokenUsage>, String> {
    let input = opt_count(attrs, "input_token_count")?;
    let output = opt_count(attrs, "output_token_count")?;
    let cached = opt_count(attrs, "cached_token_count")?;
    let reasoning = opt_count(attrs, "reasoning_token_count")?;
    // `tool_token_count` is usage.total_tokens, despite its name (codex-facts §1.5).
    let total = opt_count(attrs, "tool_token_count")?;
    if input.is_none() && output.is_none() {
        return Ok(None);
    }
    let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
    Ok(Some(TokenUsage {
        input,
        cached_input: cached.unwrap_or(0),
        output,
        reasoning_output: reasoning.unwrap_or(0),
        total: total.unwrap_or(input + output),
    }))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a key-value list",
    }
}

fn opt_string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "attribute `{key}` must be a string, got {}",
            type_name(other)
        )),
    }
}

fn first_string(
    attrs: &Map<String, Value>,
    resource: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, String> {
    let value = match opt_string(attrs, key)? {
        Some(v) => Some(v),
        None => opt_string(resource, key)?,
    };
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// A non-negative count that may arrive as an int, a double with no fraction, or a string.
fn opt_count(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    let bad = |what: String| {
        format!("attribute `{key}` must be a non-negative integer (int or numeric string), got {what}")
    };
    let n = match m.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9e15 => f as i64,
            _ => return Err(bad(n.to_string())),
        },
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| bad(format!("{s:?}")))?,
        Some(other) => return Err(bad(type_name(other).to_owned())),
    };
    if n < 0 {
        return Err(bad(n.to_string()));
    }
    Ok(Some(n))
}

/// Finishes a parsed record for one workspace and user: dedup key and price.
pub fn finalize(p: ParsedRecord, workspace_id: &str, user_id: &str, rate_card: &RateCard) -> NormalizedEvent {
    // A counted response's key is the fact's (thread + figures) and a tool result's the call's
    // (thread + call id), shared with rollouts, so the same response or tool call shipped both
    // ways is recorded once; other records are keyed by their content.
    let dedup_key = match (&p.kind, &p.thread_id, &p.call_id) {
        (EventKind::ResponseCompleted(u), Some(thread), _) => {
            crate::fact_keys::response_key(workspace_id, thread, u)
        }
        (_, Some(thread), Some(call)) => crate::fact_keys::tool_key(workspace_id, thread, call),
        _ => {
            let mut hasher = Sha256::new();
            hasher.update(workspace_id.as_bytes());
            hasher.update([0u8]);
            hasher.update(p.raw.as_bytes());
            // 128 bits are plenty against accidental collisions and halve the index size.
            hex::encode(&hasher.finalize()[..16])
        }
    };
    finalize_keyed(p, workspace_id, user_id, rate_card, dedup_key, Source::OtlpLogs)
}

/// [`finalize`] with the dedup key and source already decided (shipped rollouts key by fact).
pub fn finalize_keyed(
    p: ParsedRecord,
    workspace_id: &str,
    user_id: &str,
    rate_card: &RateCard,
    dedup_key: String,
    source: Source,
) -> NormalizedEvent {
    let (price, version) = match p.kind.usage() {
        Some(u) => (rate_card.price(p.model.as_deref(), u), rate_card.version.clone()),
        None => (Default::default(), String::new()),
    };
    NormalizedEvent {
        dedup_key,
        workspace_id: workspace_id.to_owned(),
        user_id: user_id.to_owned(),
        source,
        event_name: p.event_name,
        kind: p.kind,
        thread_id: p.thread_id,
        trace_id: p.trace_id,
        turn_id: p.turn_id,
        timestamp_ms: p.timestamp_ms,
        client_id: p.client_id.to_owned(),
        model: p.model,
        credits_micro: price.credits_micro,
        usd_micro: price.usd_micro,
        rate_card_version: version,
        raw: p.raw,
        host_name: p.identity.host,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod raw_tests {
    use super::*;

    #[test]
    fn raw_is_valid_json_with_everything() {
        let req: ExportLogsServiceRequest =
            serde_json::from_str(include_str!("../tests/fixtures/codex-0.169.0-exec-logs.json"))
                .expect("fixture");
        let (parsed, _) = parse_logs(&req, 0);
        for p in parsed {
            let v: Value = serde_json::from_str(&p.raw).expect("raw is JSON");
            for key in [
                "attributes",
                "body",
                "observed_time_unix_nano",
                "resource",
                "scope",
                "severity_text",
                "time_unix_nano",
                "trace_id",
            ] {
                assert!(v.get(key).is_some(), "{key} in {}", p.raw);
            }
            assert_eq!(v["resource"]["service.name"], "codex_exec");
        }
    }
}
