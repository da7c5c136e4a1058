//! OTLP bodies: synthetic `codex.user_prompt` batches with distinct prompts, threads and times,
//! and the real Codex 0.169.0 captures in `crates/test-support/fixtures/codex-0.169.0/`.

use std::path::PathBuf;

use serde_json::Value;

use super::harness::Env;
use crate::common::{codex_resource, now_ms, protobuf, request, s};

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("valid time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The attributes of one prompt record as Codex 0.169.0 logs it with `log_user_prompt = true`.
fn prompt_record(
    prompt: &str,
    thread: &str,
    at_ms: i64,
) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    vec![
        s("event.name", "codex.user_prompt"),
        s("event.timestamp", &rfc3339_ms(at_ms)),
        s("conversation.id", thread),
        s("app.version", "0.169.0"),
        s("originator", "codex_exec"),
        s("model", "gpt-5-codex"),
        s("prompt_length", &prompt.len().to_string()),
        s("prompt", prompt),
    ]
}

/// An OTLP request (protobuf) with `n` prompts, each in its own thread, 1 ms apart from
/// `at_ms`; returns the prompt texts, which are unique across calls, and the body.
pub fn prompt_batch(label: &str, n: usize, at_ms: i64) -> (Vec<String>, Vec<u8>) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let prompts: Vec<String> = (0..n).map(|i| format!("{label} prompt {i} ({run})")).collect();
    let records = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| prompt_record(p, &format!("thread-{run}-{i}"), at_ms + i as i64))
        .collect();
    (prompts, protobuf(&request(codex_resource(), records)))
}

/// Ingests `n` prompts timestamped now (one request) and returns their texts.
pub async fn ingest_prompts(env: &Env, label: &str, n: usize) -> Vec<String> {
    let (prompts, body) = prompt_batch(label, n, now_ms());
    env.ingest("/v1/logs", "application/x-protobuf", body).await;
    prompts
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../test-support/fixtures/codex-0.169.0")
        .join(name)
}

/// The OTLP/JSON request bodies of a capture file, one per line (unwrapping `{"body": ...}`
/// should a line carry its body that way).
pub fn fixture_bodies(name: &str) -> Vec<Value> {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: line is not JSON: {e}"));
            match v.get("body") {
                Some(body) => body.clone(),
                None => v,
            }
        })
        .collect()
}

/// POSTs every request of a capture file as OTLP/JSON to `path` (`/v1/logs`, `/v1/traces`).
pub async fn post_fixture(env: &Env, path: &str, name: &str) {
    for body in fixture_bodies(name) {
        let bytes = serde_json::to_vec(&body).expect("serialise");
        env.ingest(path, "application/json", bytes).await;
    }
}

/// `(thread.id, turn.id)` of every `session_task.turn` span in a traces capture.
pub fn turn_ids_in_traces(name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for body in fixture_bodies(name) {
        let spans = body["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
            .flat_map(|ss| ss["spans"].as_array().into_iter().flatten());
        for span in spans.filter(|sp| sp["name"] == "session_task.turn") {
            let attr = |k: &str| string_attr(span, k);
            // `thread.id` also appears as the tokio worker's number (an int): take the string.
            if let (Some(thread), Some(turn)) = (attr("thread.id"), attr("turn.id")) {
                out.push((thread, turn));
            }
        }
    }
    out
}

/// Every log record of a logs capture, in file order.
pub fn log_records(name: &str) -> Vec<Value> {
    fixture_bodies(name)
        .iter()
        .flat_map(|body| {
            body["resourceLogs"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|rl| rl["scopeLogs"].as_array().into_iter().flatten())
                .flat_map(|sl| sl["logRecords"].as_array().into_iter().flatten())
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The string value of attribute `key` of an OTLP/JSON record or span (not an int of that name).
pub fn string_attr(item: &Value, key: &str) -> Option<String> {
    item["attributes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["key"] == key)
        .find_map(|a| a["value"]["stringValue"].as_str())
        .map(str::to_owned)
}

/// `(conversation.id, prompt)` of every `codex.user_prompt` record in a logs capture.
pub fn prompts_in_logs(name: &str) -> Vec<(String, String)> {
    log_records(name)
        .iter()
        .filter(|r| string_attr(r, "event.name").as_deref() == Some("codex.user_prompt"))
        .filter_map(|r| Some((string_attr(r, "conversation.id")?, string_attr(r, "prompt")?)))
        .collect()
}
