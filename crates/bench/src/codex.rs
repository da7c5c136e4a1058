//! Codex-shaped OTLP log requests, modelled on what Codex 0.169.0 (`codex exec`) really sends
//! (`../shared/samples/codex-0.169.0-otlp-logs.requests.jsonl`,
//! `crates/ingest/tests/fixtures/codex-0.169.0-exec-logs.json`): resource
//! `service.name=codex_exec`, scope `codex_otel.log_only`, `timeUnixNano` 0, the event name in the
//! `event.name` attribute, the time in `event.timestamp`, token counts partly as strings.
//!
//! Every record is distinct (its own `observedTimeUnixNano` and `event.timestamp`), so the
//! server's content-hash dedup keeps all of them.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// One pre-encoded request body of one sender (= one user token).
pub struct Body {
    pub sender: usize,
    pub bytes: Bytes,
    pub records: usize,
}

/// What the server must end up with after ingesting everything once.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Expected {
    pub records: u64,
    pub user_prompts: u64,
    pub completed_with_tokens: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

pub struct Generated {
    pub bodies: Vec<Body>,
    pub expected: Expected,
    pub attrs_per_record: f64,
    pub bytes_per_record: f64,
}

/// Records per turn in the generated stream; see [`record`] for the layout.
const TURN: u64 = 16;
/// Turns per conversation (thread).
const TURNS_PER_CONVERSATION: u64 = 8;

/// A string attribute.
pub(crate) fn s(k: &str, v: impl Into<String>) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}
/// An int attribute.
pub(crate) fn i(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}
fn b(k: &str, v: bool) -> KeyValue {
    KeyValue {
        key: k.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(v)),
        }),
        ..Default::default()
    }
}

pub fn email(sender: usize) -> String {
    format!("bench{sender:03}@bench.example")
}

fn conversation_id(sender: usize, conv: u64) -> String {
    // UUIDv7-looking, deterministic.
    let x = conv.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (sender as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    format!(
        "019a{:04x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (conv >> 16) & 0xffff,
        conv & 0xffff,
        sender & 0xfff,
        (x >> 52) & 0xfff,
        x & 0xffff_ffff_ffff
    )
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Record `k` of `sender` (`global`: position among all senders' records, which sets its time). Layout of each 16-record turn: user_prompt,
/// api_request, sse response.created, 9 × sse response.output_text.delta, tool_result,
/// sse response.output_item.done, sse response.completed (no usage: Codex emits one), and
/// sse response.completed with token counts.
fn record(
    k: u64,
    global: u64,
    sender: usize,
    base_ms: i64,
    base_ns: u64,
    expected: &mut Expected,
) -> LogRecord {
    let turn = k / TURN;
    let pos = k % TURN;
    let conv = conversation_id(sender, turn / TURNS_PER_CONVERSATION);
    let ts_ms = base_ms + global as i64;
    let observed = base_ns + global * 1_000_000 + (global * 7919) % 999_983;
    let mut attrs = Vec::with_capacity(20);
    let sse = |kind: &str, attrs: &mut Vec<KeyValue>| {
        attrs.push(s("event.name", "codex.sse_event"));
        attrs.push(s("event.kind", kind));
        attrs.push(s("duration_ms", (k % 40).to_string()));
    };
    let (site, model) = (
        "event otel/src/events/session_telemetry.rs",
        if sender % 3 == 2 {
            "gpt-5.1-codex-mini"
        } else {
            "gpt-5-codex"
        },
    );
    let line = match pos {
        0 => {
            attrs.push(s("event.name", "codex.user_prompt"));
            attrs.push(s("prompt_length", (20 + k % 300).to_string()));
            attrs.push(s("prompt", "[REDACTED]"));
            expected.user_prompts += 1;
            1200
        }
        1 => {
            attrs.push(s("event.name", "codex.api_request"));
            attrs.push(s("duration_ms", (200 + k % 900).to_string()));
            attrs.push(i("http.response.status_code", 200));
            attrs.push(i("attempt", 0));
            attrs.push(b("auth.header_attached", true));
            attrs.push(s("endpoint", "/responses"));
            803
        }
        2 => {
            sse("response.created", &mut attrs);
            1089
        }
        12 => {
            attrs.push(s("event.name", "codex.tool_result"));
            attrs.push(s("tool_name", "shell"));
            attrs.push(s(
                "call_id",
                format!("call_{:016x}", k.wrapping_mul(0x2545_F491_4F6C_DD1D)),
            ));
            attrs.push(s(
                "arguments",
                "{\"command\":[\"bash\",\"-lc\",\"cargo test -p steward-ingest\"]}",
            ));
            attrs.push(s("duration_ms", (k % 5000).to_string()));
            attrs.push(s("success", "true"));
            attrs.push(s("output", "[REDACTED]"));
            1322
        }
        13 => {
            sse("response.output_item.done", &mut attrs);
            1089
        }
        14 => {
            sse("response.completed", &mut attrs);
            1089
        }
        15 => {
            sse("response.completed", &mut attrs);
            let input = 4_000 + (k % 50_000) as i64;
            let cached = input * (40 + (k % 50) as i64) / 100;
            let output = 200 + (k % 3_000) as i64;
            let reasoning = output / 4;
            attrs.push(s("input_token_count", input.to_string()));
            attrs.push(s("output_token_count", output.to_string()));
            attrs.push(i("cached_token_count", cached));
            attrs.push(i("cache_write_token_count", 0));
            attrs.push(i("reasoning_token_count", reasoning));
            attrs.push(s("tool_token_count", (input + output).to_string()));
            expected.completed_with_tokens += 1;
            expected.input_tokens += input;
            expected.output_tokens += output;
            1153
        }
        _ => {
            sse("response.output_text.delta", &mut attrs);
            1089
        }
    };
    attrs.push(s("event.timestamp", rfc3339_ms(ts_ms)));
    attrs.push(s("conversation.id", conv));
    attrs.push(s("app.version", "0.169.0"));
    attrs.push(s("auth_mode", "Chatgpt"));
    attrs.push(s(
        "user.account_id",
        format!("acct_{:024x}", sender * 7_777_777 + 12_345),
    ));
    attrs.push(s("user.email", email(sender)));
    attrs.push(s("originator", "codex_exec"));
    attrs.push(s("terminal.type", "xterm-256color"));
    attrs.push(s("model", model));
    attrs.push(s("slug", model));
    expected.records += 1;
    LogRecord {
        time_unix_nano: 0,
        observed_time_unix_nano: observed,
        severity_number: 9,
        severity_text: "INFO".to_owned(),
        attributes: attrs,
        event_name: format!("event {site}:{line}"),
        ..Default::default()
    }
}

fn request(sender: usize, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    s("telemetry.sdk.version", "0.31.0"),
                    s("env", "dev"),
                    s("host.name", format!("devbox-{sender:03}")),
                    s("telemetry.sdk.name", "opentelemetry"),
                    s("telemetry.sdk.language", "rust"),
                    s("service.version", "0.169.0"),
                    s("service.name", "codex_exec"),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "codex_otel.log_only".to_owned(),
                    ..Default::default()
                }),
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// `total` records in bodies of `batch` records, round-robin over `senders` users. Record
/// times start at `base_ms` and advance 1 ms per record.
pub fn generate(total: usize, batch: usize, senders: usize, base_ms: i64) -> Generated {
    let senders = senders.max(1);
    let batch = batch.max(1);
    let base_ns = base_ms as u64 * 1_000_000;
    let mut expected = Expected::default();
    let mut bodies = Vec::with_capacity(total.div_ceil(batch));
    // Per-sender record counters, so each sender's stream is a sequence of whole turns.
    let mut next_k = vec![0u64; senders];
    let mut attrs = 0usize;
    let mut bytes = 0usize;
    let mut done = 0usize;
    let mut r = 0usize;
    while done < total {
        let sender = r % senders;
        let n = batch.min(total - done);
        let mut recs = Vec::with_capacity(n);
        for _ in 0..n {
            // Interleave senders in time: sender j's k-th record is at k*senders + j.
            let k = next_k[sender];
            next_k[sender] += 1;
            let global = k * senders as u64 + sender as u64;
            let rec = record(k, global, sender, base_ms, base_ns, &mut expected);
            attrs += rec.attributes.len();
            recs.push(rec);
        }
        let encoded = request(sender, recs).encode_to_vec();
        bytes += encoded.len();
        bodies.push(Body {
            sender,
            bytes: Bytes::from(encoded),
            records: n,
        });
        done += n;
        r += 1;
    }
    Generated {
        bodies,
        expected,
        attrs_per_record: attrs as f64 / total.max(1) as f64,
        bytes_per_record: bytes as f64 / total.max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_distinct_and_classified() {
        let g = generate(2048, 512, 3, 1_795_212_253_000);
        assert_eq!(g.bodies.len(), 4);
        assert_eq!(g.expected.records, 2048);
        assert_eq!(g.expected.user_prompts, 128);
        assert_eq!(g.expected.completed_with_tokens, 128);
        let mut raws = std::collections::HashSet::new();
        for body in &g.bodies {
            let req = ExportLogsServiceRequest::decode(body.bytes.clone()).unwrap();
            let (parsed, rejected) = steward_ingest::normalize::parse_logs(&req, 0);
            assert!(rejected.is_empty(), "{rejected:?}");
            for p in parsed {
                assert!(raws.insert(p.raw));
            }
        }
        assert_eq!(raws.len(), 2048);
    }
}
