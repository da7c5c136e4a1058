use serde_json::json;
use steward_model::{LogType, TokenUsage};
use steward_store::{PendingEvent, PendingRecord, PendingSource};

use super::*;

fn pending(event_name: &str, attrs: Value, usage: Option<TokenUsage>, log_type: LogType) -> PendingRecord {
    let raw = json!({
        "attributes": attrs,
        "resource": {"service.name": "codex_exec", "host.name": "dev-7"},
        "trace_id": null,
    });
    PendingRecord {
        pending_id: 1,
        log_type,
        timestamp_ms: 1_794_787_200_123,
        queued_at_ms: 1_794_787_200_500,
        source: PendingSource::Event(Box::new(PendingEvent {
            dedup_key: "00112233445566778899aabbccddeeff".into(),
            user_id: "u-1".into(),
            user_email: Some("dana@example.com".into()),
            event_name: event_name.into(),
            thread_id: Some("thread-1".into()),
            timestamp_ms: 1_794_787_200_123,
            client_id: "CODEX_SERVICE_EXEC".into(),
            model: Some("gpt-5-codex".into()),
            usage,
            raw: raw.to_string(),
            turn_id: Some("turn-9".into()),
            trace_id: Some("0af7651916cd43dd8448eb211c80319c".into()),
        })),
    }
}

#[test]
fn a_logged_prompt_keeps_its_text_and_the_envelope_matches_openai() {
    let attrs = json!({"prompt": "Add retries", "prompt_length": "11", "originator": "codex_exec", "app.version": "0.169.0"});
    let r = build(
        "ws-1",
        &pending("codex.user_prompt", attrs, None, LogType::CodexLog),
    )
    .unwrap()
    .unwrap();
    assert_eq!(r["event_id"], "00112233-4455-6677-8899-aabbccddeeff");
    assert_eq!(r["type"], "CODEX_LOG");
    assert_eq!(r["timestamp"], "2026-11-16T00:00:00.123000Z");
    assert_eq!(r["principal"], json!({"id": "ws-1", "type": "CHATGPT_WORKSPACE"}));
    assert_eq!(r["actor"]["user_email"], "dana@example.com");
    assert_eq!(r["event_type"], "USER_PROMPT_SUBMITTED");
    assert_eq!(r["client_id"], "CODEX_SERVICE_EXEC");
    assert_eq!(r["request_metadata"]["client_user_agent"], "codex_exec/0.169.0");
    assert_eq!(r["request_metadata"]["host_name"], "dev-7");
    let d = &r["event_details"];
    assert_eq!(d["detail_type"], "USER_PROMPT_SUBMITTED");
    assert_eq!(d["prompt_text"], "Add retries");
    assert_eq!(d["prompt_logged"], true);
    assert_eq!(d["prompt_length"], 11);
    assert_eq!(d["session_id"], "thread-1");
    assert_eq!(d["turn_id"], "turn-9");
}

#[test]
fn a_prompt_codex_redacted_has_no_text() {
    let attrs = json!({"prompt": "[REDACTED]", "prompt_length": "11"});
    let r = build(
        "ws",
        &pending("codex.user_prompt", attrs, None, LogType::CodexLog),
    )
    .unwrap()
    .unwrap();
    assert_eq!(r["event_details"]["prompt_text"], Value::Null);
    assert_eq!(r["event_details"]["prompt_logged"], false);
    assert!(!r.to_string().contains("REDACTED"));
}

#[test]
fn a_counted_response_carries_token_usage_and_an_uncounted_one_no_record() {
    let usage = TokenUsage {
        input: 1200,
        cached_input: 200,
        output: 75,
        reasoning_output: 10,
        total: 1275,
    };
    let r = build(
        "ws",
        &pending("codex.sse_event", json!({}), Some(usage), LogType::CodexLog),
    )
    .unwrap()
    .unwrap();
    assert_eq!(r["event_type"], "PROMPT_RESPONSE_RECEIVED");
    assert_eq!(
        r["event_details"]["token_usage"],
        json!({"input_tokens": 1200, "cached_input_tokens": 200, "output_tokens": 75, "reasoning_output_tokens": 10, "total_tokens": 1275})
    );
    assert_eq!(
        build(
            "ws",
            &pending("codex.sse_event", json!({}), None, LogType::CodexLog)
        )
        .unwrap(),
        None
    );
}

#[test]
fn tool_decisions_and_results_are_security_records_with_their_payloads() {
    let decision = json!({"call_id": "call_1", "tool_name": "exec_command", "decision": "denied", "source": "AutomatedReviewer"});
    let r = build(
        "ws",
        &pending("codex.tool_decision", decision, None, LogType::CodexSecurityLog),
    )
    .unwrap()
    .unwrap();
    assert_eq!(r["type"], "CODEX_SECURITY_LOG");
    assert_eq!(r["event_details"]["decision"], "denied");
    assert_eq!(r["event_details"]["decision_source"], "AutomatedReviewer");
    let result = json!({"call_id": "call_1", "tool_name": "exec_command", "arguments": "{\"cmd\":\"echo hi\"}",
        "output": "hi\n", "success": "false", "duration_ms": "53"});
    let r = build(
        "ws",
        &pending("codex.tool_result", result, None, LogType::CodexSecurityLog),
    )
    .unwrap()
    .unwrap();
    let d = &r["event_details"];
    assert_eq!(d["tool_input"], "{\"cmd\":\"echo hi\"}");
    assert_eq!(d["tool_output"], "hi\n");
    assert_eq!(d["status"], "error");
    assert_eq!(d["duration_ms"], 53);
}

#[test]
fn audit_records_pass_through_and_bad_ones_are_errors() {
    let ok = PendingRecord {
        pending_id: 7,
        log_type: LogType::AuditLog,
        timestamp_ms: 0,
        queued_at_ms: 0,
        source: PendingSource::Record(r#"{"event_id":"x","type":"AUDIT_LOG"}"#.into()),
    };
    assert_eq!(build("ws", &ok).unwrap().unwrap()["type"], "AUDIT_LOG");
    let bad = PendingRecord {
        source: PendingSource::Record("{".into()),
        ..ok
    };
    assert!(build("ws", &bad).unwrap_err().contains("7"));
}

/// What shipped rollouts add: an answer is its own record; records without a trace take the
/// turn the rollout names.
#[test]
fn an_answer_from_a_rollout_is_a_record_with_the_rollouts_turn() {
    let attrs = json!({"message": "Added backoff.", "turn.id": "turn-from-rollout"});
    let mut p = pending(steward_model::AGENT_MESSAGE, attrs, None, LogType::CodexLog);
    if let PendingSource::Event(e) = &mut p.source {
        e.turn_id = None;
        e.trace_id = None;
    }
    let r = build("ws-1", &p).unwrap().unwrap();
    assert_eq!(r["event_type"], "AGENT_MESSAGE");
    let d = &r["event_details"];
    assert_eq!(d["detail_type"], "AGENT_MESSAGE");
    assert_eq!(d["response_text"], "Added backoff.");
    assert_eq!(d["turn_id"], "turn-from-rollout");
    assert_eq!(d["session_id"], "thread-1");
    // A trace's turn span, when there is one, wins over what a record says.
    let attrs = json!({"message": "x", "turn.id": "turn-from-rollout"});
    let r = build(
        "ws-1",
        &pending(steward_model::AGENT_MESSAGE, attrs, None, LogType::CodexLog),
    )
    .unwrap()
    .unwrap();
    assert_eq!(r["event_details"]["turn_id"], "turn-9");
}
