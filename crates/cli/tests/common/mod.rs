//! Helpers for this crate's HTTP integration tests: Codex-shaped OTLP requests and raw posts.

#![allow(dead_code)]

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Kind;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

pub fn s(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Kind::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

pub fn i(key: &str, v: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Kind::IntValue(v)),
        }),
        ..Default::default()
    }
}

pub fn b(key: &str, v: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Kind::BoolValue(v)),
        }),
        ..Default::default()
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Token usage of one model response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: i64,
    pub cached: i64,
    pub output: i64,
}

/// One Codex turn as the CLI logs it: `codex.user_prompt`, a few SSE events, and the
/// `response.completed` pair (one without counts, one with string counts), as 0.169.0 does.
pub fn turn_records(thread: &str, at_ms: i64, tokens: Tokens, model: &str) -> Vec<Vec<KeyValue>> {
    let common = |name: &str, offset: i64| {
        vec![
            s("event.name", name),
            s("event.timestamp", &rfc3339(at_ms + offset)),
            s("conversation.id", thread),
            s("app.version", "0.169.0"),
            s("originator", "codex_exec"),
            s("model", model),
        ]
    };
    let mut prompt = common("codex.user_prompt", 0);
    prompt.extend([s("prompt_length", "5"), s("prompt", "[REDACTED]")]);
    let mut delta = common("codex.sse_event", 10);
    delta.extend([
        s("event.kind", "response.output_text.delta"),
        s("duration_ms", "0"),
    ]);
    let mut done_no_counts = common("codex.sse_event", 20);
    done_no_counts.extend([s("event.kind", "response.completed"), s("duration_ms", "0")]);
    let mut done = common("codex.sse_event", 20);
    done.extend([
        s("event.kind", "response.completed"),
        s("input_token_count", &tokens.input.to_string()),
        s("output_token_count", &tokens.output.to_string()),
        i("cached_token_count", tokens.cached),
        i("reasoning_token_count", tokens.output / 3),
        s("tool_token_count", &(tokens.input + tokens.output).to_string()),
    ]);
    vec![prompt, delta, done_no_counts, done]
}

/// A logs request with the given records under one Codex resource.
pub fn request(resource: Vec<KeyValue>, records: Vec<Vec<KeyValue>>) -> ExportLogsServiceRequest {
    let base = now_ms() as u64 * 1_000_000;
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records
                    .into_iter()
                    .enumerate()
                    .map(|(n, attributes)| LogRecord {
                        observed_time_unix_nano: base + n as u64,
                        severity_text: "INFO".into(),
                        attributes,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn codex_resource() -> Vec<KeyValue> {
    vec![
        s("service.name", "codex_exec"),
        s("service.version", "0.169.0"),
        s("host.name", "test-host"),
    ]
}

pub fn protobuf(req: &ExportLogsServiceRequest) -> Vec<u8> {
    req.encode_to_vec()
}

pub fn json(req: &ExportLogsServiceRequest) -> Vec<u8> {
    serde_json::to_vec(req).unwrap_or_default()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

/// Raw POST to an OTLP endpoint; returns status, headers and body bytes.
pub async fn post(
    url: &str,
    token: Option<&str>,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(e) = encoding {
        rb = rb.header("content-encoding", e);
    }
    let resp = rb.send().await.expect("request reaches steward");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body").to_vec();
    (status, headers, bytes)
}

pub fn steward_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_steward"))
}

/// The PostgreSQL URL of the test server. Never skips: without it the test fails, loudly.
pub fn postgres_url() -> String {
    match std::env::var("STEWARD_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "STEWARD_TEST_POSTGRES_URL is not set: run the suite with scripts/test (it starts a throwaway \
             PostgreSQL), or point the variable at a server where the user may CREATE DATABASE"
        ),
    }
}

/// Creates a fresh database on the test server and returns its URL.
pub async fn fresh_postgres_database() -> String {
    let admin = postgres_url();
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .expect("connect to test PostgreSQL");
    tokio::spawn(conn);
    let name = format!("steward_it_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    // Replace the database path of the admin URL (postgres://user@host:port/db?params).
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => base[..scheme_end + slash].to_owned(),
        None => base.clone(),
    };
    format!("{root}/{name}{query}")
}
