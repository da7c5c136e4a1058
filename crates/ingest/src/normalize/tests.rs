use super::*;
use crate::otlp::{decode_logs, Encoding};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

const CODEX_JSON: &str = include_str!("../../tests/fixtures/codex-0.169.0-exec-logs.json");

fn s(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(AnyKind::StringValue(v.into())),
        }),
        ..Default::default()
    }
}
fn i(key: &str, v: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(AnyKind::IntValue(v)),
        }),
        ..Default::default()
    }
}
fn b(key: &str, v: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(AnyKind::BoolValue(v)),
        }),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, records: Vec<Vec<KeyValue>>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records
                    .into_iter()
                    .map(|attributes| LogRecord {
                        attributes,
                        observed_time_unix_nano: 42,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn real_codex_export_yields_one_turn_and_one_usage() {
    let req = decode_logs(CODEX_JSON.as_bytes(), Encoding::Json).expect("decodes");
    let (parsed, rejected) = parse_logs(&req, 0);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(parsed.len(), 11);
    let turns = parsed.iter().filter(|p| p.kind == EventKind::UserPrompt).count();
    let usages: Vec<_> = parsed.iter().filter_map(|p| p.kind.usage()).collect();
    assert_eq!(turns, 1);
    assert_eq!(
        usages,
        vec![&TokenUsage {
            input: 1200,
            cached_input: 200,
            output: 30,
            reasoning_output: 10,
            total: 1230
        }]
    );
    let prompt = parsed
        .iter()
        .find(|p| p.kind == EventKind::UserPrompt)
        .expect("prompt");
    assert_eq!(prompt.client_id, "CODEX_SERVICE_EXEC");
    assert_eq!(
        prompt.thread_id.as_deref(),
        Some("01a1fafd-1ecf-7ba3-bf69-94e36b7099a6")
    );
    assert_eq!(prompt.model.as_deref(), Some("gpt-5-codex"));
    assert_eq!(prompt.timestamp_ms, 1_795_212_254_982);
    assert_eq!(prompt.identity.host.as_deref(), Some("vm"));
    // The metrics-flush record has no event.name: kept as unknown.
    assert_eq!(parsed.iter().filter(|p| p.kind == EventKind::Unknown).count(), 1);
}

#[test]
fn numbers_arrive_as_strings_or_ints() {
    let req = request(
        vec![s("service.name", "codex_cli_rs")],
        vec![vec![
            s("event.name", "codex.sse_event"),
            s("event.kind", "response.completed"),
            s("input_token_count", "100"),
            i("output_token_count", 20),
            i("cached_token_count", 40),
            s("reasoning_token_count", " 5 "),
            s("event.timestamp", "2026-11-20T22:04:13.616Z"),
        ]],
    );
    let (parsed, rejected) = parse_logs(&req, 0);
    assert!(rejected.is_empty());
    assert_eq!(
        parsed[0].kind,
        EventKind::ResponseCompleted(TokenUsage {
            input: 100,
            cached_input: 40,
            output: 20,
            reasoning_output: 5,
            total: 120
        })
    );
    assert_eq!(
        parsed[0].client_id, "CODEX_CLI",
        "service.name is the fallback originator"
    );
}

#[test]
fn unexpected_types_reject_only_that_record_naming_the_attribute() {
    let req = request(
        vec![],
        vec![
            vec![
                s("event.name", "codex.sse_event"),
                s("event.kind", "response.completed"),
                b("input_token_count", true),
            ],
            vec![s("event.name", "codex.user_prompt"), i("conversation.id", 7)],
            vec![
                s("event.name", "codex.user_prompt"),
                s("event.timestamp", "yesterday"),
            ],
            vec![
                s("event.name", "codex.sse_event"),
                s("event.kind", "response.completed"),
                s("output_token_count", "-3"),
            ],
            vec![s("event.name", "codex.user_prompt"), s("conversation.id", "t")],
        ],
    );
    let (parsed, rejected) = parse_logs(&req, 0);
    assert_eq!(parsed.len(), 1);
    let reasons: Vec<_> = rejected.iter().map(|r| (r.index, r.reason.as_str())).collect();
    assert_eq!(reasons.len(), 4);
    assert!(
        reasons[0].1.contains("`input_token_count`") && reasons[0].1.contains("boolean"),
        "{reasons:?}"
    );
    assert!(reasons[1].1.contains("`conversation.id`"), "{reasons:?}");
    assert!(reasons[2].1.contains("`event.timestamp`"), "{reasons:?}");
    assert!(reasons[3].1.contains("`output_token_count`"), "{reasons:?}");
    assert_eq!(reasons.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
}

#[test]
fn unknown_events_are_kept() {
    let req = request(
        vec![],
        vec![vec![s("event.name", "codex.brand_new_thing"), s("x", "y")]],
    );
    let (parsed, rejected) = parse_logs(&req, 5);
    assert!(rejected.is_empty());
    assert_eq!(parsed[0].kind, EventKind::Unknown);
    assert!(parsed[0].raw.contains("brand_new_thing"));
}

#[test]
fn completed_without_counts_is_not_usage() {
    let req = request(
        vec![],
        vec![vec![
            s("event.name", "codex.sse_event"),
            s("event.kind", "response.completed"),
            s("duration_ms", "0"),
        ]],
    );
    let (parsed, _) = parse_logs(&req, 0);
    assert_eq!(parsed[0].kind, EventKind::Other);
}

#[test]
fn identity_from_resource_or_log_attributes() {
    let req = request(
        vec![s("user.email", "dana@example.com"), s("host.name", "laptop")],
        vec![vec![
            s("event.name", "codex.user_prompt"),
            s("user.account_id", "acct-1"),
        ]],
    );
    let (parsed, _) = parse_logs(&req, 0);
    assert_eq!(
        parsed[0].identity,
        IdentityHints {
            email: Some("dana@example.com".into()),
            account_id: Some("acct-1".into()),
            host: Some("laptop".into())
        }
    );
}

#[test]
fn dedup_key_is_stable_per_workspace_and_content() {
    let card = RateCard::builtin().expect("card");
    let req = decode_logs(CODEX_JSON.as_bytes(), Encoding::Json).expect("decodes");
    let (a, _) = parse_logs(&req, 0);
    let (b, _) = parse_logs(&req, 999);
    let ka: Vec<_> = a
        .into_iter()
        .map(|p| finalize(p, "ws1", "u", &card).dedup_key)
        .collect();
    let kb: Vec<_> = b
        .clone()
        .into_iter()
        .map(|p| finalize(p, "ws1", "u", &card).dedup_key)
        .collect();
    let kc: Vec<_> = b
        .into_iter()
        .map(|p| finalize(p, "ws2", "u", &card).dedup_key)
        .collect();
    assert_eq!(ka, kb, "a re-sent batch has the same keys");
    assert_ne!(ka, kc, "another workspace has other keys");
    let mut unique = ka.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ka.len(), "distinct records have distinct keys");
}

#[test]
fn usage_events_are_priced_with_the_card_version() {
    let card = RateCard::builtin().expect("card");
    let req = decode_logs(CODEX_JSON.as_bytes(), Encoding::Json).expect("decodes");
    let (parsed, _) = parse_logs(&req, 0);
    let priced: Vec<_> = parsed
        .into_iter()
        .map(|p| finalize(p, "ws", "u", &card))
        .filter(|e| e.kind.usage().is_some())
        .collect();
    assert_eq!(priced.len(), 1);
    // gpt-5-codex: 1000 uncached * 1.25 + 200 cached * 0.125 + 30 output * 10.0 (USD per 1M) = 1575 micro-USD.
    assert_eq!(priced[0].usd_micro, 1575);
    assert_eq!(priced[0].rate_card_version, card.version);
}

/// Dedup keys hash the canonical raw record, so its bytes must not drift between releases: a
/// batch re-sent across an upgrade would otherwise count twice.
#[test]
fn canonical_raw_bytes_are_stable() {
    let mut req = request(
        vec![s("service.name", "codex_exec")],
        vec![vec![
            s("event.name", "codex.user_prompt"),
            i("prompt_length", 5),
            b("x", true),
        ]],
    );
    let rec = &mut req.resource_logs[0].scope_logs[0].log_records[0];
    rec.time_unix_nano = 1_700_000_000_000_000_000;
    rec.severity_text = "INFO \"q\"".into();
    rec.trace_id = vec![0xab; 16];
    rec.body = Some(AnyValue {
        value: Some(AnyKind::StringValue("hé".into())),
    });
    req.resource_logs[0].scope_logs[0].scope = Some(Default::default());
    let (parsed, _) = parse_logs(&req, 0);
    assert_eq!(
        parsed[0].raw,
        concat!(
            r#"{"attributes":{"event.name":"codex.user_prompt","prompt_length":5,"x":true},"#,
            r#""body":"hé","observed_time_unix_nano":42,"resource":{"service.name":"codex_exec"},"#,
            r#""scope":"","severity_text":"INFO \"q\"","time_unix_nano":1700000000000000000,"#,
            r#""trace_id":"abababababababababababababababab"}"#
        )
    );
}
