//! Checks the helpers against the real Codex CLI, with the throwaway OTLP sink in place of
//! Steward. This pins down what Codex 0.169.0 actually exports, which Steward's own end-to-end
//! tests (crates/cli/tests/codex_e2e.rs) rely on.

use std::time::Duration;

use crate::codex::{CodexHome, OtelExporter, OtlpProtocol};
use crate::otlp_sink::{OtlpSink, SinkRecord};
use crate::responses_standin::{Reply, ResponsesStandin, Usage, SHELL_TOOL_NAME};

fn count(records: &[SinkRecord], event: &str) -> usize {
    records.iter().filter(|r| r.event_name() == Some(event)).count()
}

/// `codex.sse_event` records of kind `response.completed` that carry token counts. Codex 0.169.0
/// emits *two* records per `response.completed`: one generic (no counts) and one with usage.
fn usage_records(records: &[SinkRecord]) -> Vec<&SinkRecord> {
    records
        .iter()
        .filter(|r| r.event_name() == Some("codex.sse_event"))
        .filter(|r| r.attr("event.kind") == Some("response.completed"))
        .filter(|r| r.attr("input_token_count").is_some())
        .collect()
}

async fn scenario(protocol: OtlpProtocol) {
    let standin = ResponsesStandin::start().expect("stand-in");
    let sink = OtlpSink::start().expect("sink");
    let codex = CodexHome::builder(standin.base_url())
        .otel(OtelExporter {
            endpoint: sink.logs_endpoint(),
            protocol,
            bearer_token: "sink-token".into(),
        })
        .env("OTEL_RESOURCE_ATTRIBUTES", "user.email=selftest@example.com")
        .build()
        .expect("codex home");

    // Turn 1: plain message.
    standin.push([Reply::message("first answer", Usage::new(1000, 100, 50, 5))]);
    let first = codex.exec("say hello").await.expect("codex exec");
    assert_eq!(first.agent_messages, ["first answer"]);

    // Turn 2: a new thread whose turn runs a shell command, then answers.
    standin.push([
        Reply::shell("call_echo", "echo steward-tool-ran", Usage::new(2000, 300, 60, 6)),
        Reply::message("tool done", Usage::new(2500, 2000, 70, 7)),
    ]);
    let tool = codex
        .exec("run a command")
        .await
        .expect("codex exec with a tool call");
    assert_eq!(tool.agent_messages, ["tool done"]);
    let served = standin.served();
    assert!(
        served[0].tool_names().iter().any(|n| n == SHELL_TOOL_NAME),
        "tools: {:?}",
        served[0].tool_names()
    );
    let outputs = served[2].function_call_outputs();
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert_eq!(outputs[0].0, "call_echo");
    assert!(
        outputs[0].1.contains("steward-tool-ran"),
        "tool output: {}",
        outputs[0].1
    );

    // Turn 3: resume the most recent thread (the tool-call one).
    standin.push([Reply::message("resumed", Usage::new(3000, 2500, 80, 8))]);
    let resumed = codex
        .resume_last("and again")
        .await
        .expect("codex exec resume --last");
    assert_eq!(
        resumed.thread_id, tool.thread_id,
        "resume --last continues the latest thread"
    );
    assert_ne!(first.thread_id, tool.thread_id);
    assert_eq!(standin.request_count(), 4);
    assert_eq!(standin.pending(), 0);

    // The exporter flushes at exit, so everything is there once the processes are gone; allow
    // a short grace period anyway.
    let mut records = sink.records();
    for _ in 0..20 {
        if usage_records(&records).len() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        records = sink.records();
    }

    let requests = sink.requests();
    assert!(
        requests.iter().all(|r| r.path == "/v1/logs"),
        "endpoint used as is"
    );
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Bearer sink-token")));
    let want_ct = match protocol {
        OtlpProtocol::Json => "application/json",
        OtlpProtocol::Binary => "application/x-protobuf",
    };
    assert!(
        requests.iter().all(|r| r.content_type == want_ct),
        "{:?}",
        requests.iter().map(|r| &r.content_type).collect::<Vec<_>>()
    );

    assert_eq!(
        count(&records, "codex.user_prompt"),
        3,
        "one codex.user_prompt per turn"
    );
    assert_eq!(
        count(&records, "codex.conversation_starts"),
        3,
        "resume starts the thread again"
    );
    let prompts: Vec<_> = records
        .iter()
        .filter(|r| r.event_name() == Some("codex.user_prompt"))
        .map(|r| {
            (
                r.attr("conversation.id").unwrap_or_default(),
                r.attr("prompt").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        prompts,
        [
            (first.thread_id.as_str(), "say hello"),
            (tool.thread_id.as_str(), "run a command"),
            (tool.thread_id.as_str(), "and again"),
        ]
    );

    let usage = usage_records(&records);
    let sum: u64 = usage
        .iter()
        .map(|r| r.attr("input_token_count").unwrap_or("0").parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, standin.usage_total().input_tokens);
    let tool_results: Vec<_> = records
        .iter()
        .filter(|r| r.event_name() == Some("codex.tool_result"))
        .collect();
    assert_eq!(tool_results.len(), 1);
    assert_eq!(tool_results[0].attr("tool_name"), Some(SHELL_TOOL_NAME));

    for r in &records {
        assert_eq!(
            r.resource.get("service.name").map(String::as_str),
            Some("codex_exec")
        );
        assert_eq!(
            r.resource.get("user.email").map(String::as_str),
            Some("selftest@example.com")
        );
    }
    let originators: std::collections::BTreeSet<_> =
        records.iter().filter_map(|r| r.attr("originator")).collect();
    assert_eq!(originators.into_iter().collect::<Vec<_>>(), ["codex_exec"]);

    if std::env::var_os("STEWARD_SELFTEST_DUMP").is_some() {
        let sizes: Vec<usize> = requests.iter().map(|r| r.records.len()).collect();
        eprintln!("{} OTLP requests, records per request: {sizes:?}", requests.len());
        for r in &records {
            eprintln!("{:?} {:?} {:?}", r.scope, r.resource, r.attributes);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_exports_to_the_sink_over_otlp_json() {
    scenario(OtlpProtocol::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_exports_to_the_sink_over_otlp_protobuf() {
    scenario(OtlpProtocol::Binary).await;
}

/// The Python SDK sender used by crates/cli/tests/otel_python_sdk.rs, against the sink: the
/// records arrive as protobuf with the bearer token, the resource and string attributes intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_sender_reaches_the_sink() {
    let sink = OtlpSink::start().expect("sink");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/fixtures/otel_sdk_send.py");
    let spec = serde_json::json!({
        "endpoint": sink.logs_endpoint(),
        "token": "py-token",
        "resource": { "service.name": "codex_cli_rs", "user.email": "py@example.com" },
        "records": [
            { "event.name": "codex.user_prompt", "conversation.id": "c-1", "prompt_length": "2" },
            { "event.name": "codex.sse_event", "event.kind": "response.completed", "input_token_count": "12" },
        ],
    });
    crate::python_otel::run_script(&script, &spec)
        .await
        .expect("python sender");
    let requests = sink.requests();
    assert!(!requests.is_empty());
    assert!(requests
        .iter()
        .all(|r| r.content_type == "application/x-protobuf" && r.path == "/v1/logs"));
    assert!(requests
        .iter()
        .all(|r| r.authorization.as_deref() == Some("Bearer py-token")));
    let records = sink.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].scope, "codex_otel.log_only");
    assert_eq!(
        records[0].resource.get("user.email").map(String::as_str),
        Some("py@example.com")
    );
    assert_eq!(records[1].attr("input_token_count"), Some("12"));
}
