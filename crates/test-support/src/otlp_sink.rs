//! A throwaway OTLP/HTTP logs receiver that records what a client sent, decoded and flattened.
//!
//! Not Steward: it exists to learn (and pin down in tests) what the real Codex CLI exports, so
//! Steward's expectations can be checked against the client rather than against our own reading
//! of the spec. Accepts protobuf and JSON bodies on any POST path.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use prost::Message;
use serde_json::Value;

use crate::bg_server::BackgroundServer;

/// One log record with its resource, all values rendered as strings (Codex sends numbers both
/// as strings and as ints, so comparing strings is the robust choice).
#[derive(Clone, Debug, Default)]
pub struct SinkRecord {
    pub resource: BTreeMap<String, String>,
    pub scope: String,
    pub attributes: BTreeMap<String, String>,
}

impl SinkRecord {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    pub fn event_name(&self) -> Option<&str> {
        self.attr("event.name")
    }
}

/// One POST received.
#[derive(Clone, Debug)]
pub struct SinkRequest {
    pub path: String,
    pub content_type: String,
    pub authorization: Option<String>,
    pub records: Vec<SinkRecord>,
}

type Shared = Arc<Mutex<Vec<SinkRequest>>>;

/// A running receiver; dropping it stops the server.
pub struct OtlpSink {
    server: BackgroundServer,
    requests: Shared,
}

impl OtlpSink {
    pub fn start() -> Result<Self> {
        let requests: Shared = Arc::default();
        let app = Router::new().fallback(post(receive)).with_state(requests.clone());
        let server = BackgroundServer::spawn("otlp-sink", app)?;
        Ok(Self { server, requests })
    }

    /// The logs endpoint to configure in a client (`http://127.0.0.1:PORT/v1/logs`).
    pub fn logs_endpoint(&self) -> String {
        format!("http://{}/v1/logs", self.server.addr())
    }

    pub fn requests(&self) -> Vec<SinkRequest> {
        lock(&self.requests).clone()
    }

    /// Every record received so far, in arrival order.
    pub fn records(&self) -> Vec<SinkRecord> {
        lock(&self.requests)
            .iter()
            .flat_map(|r| r.records.clone())
            .collect()
    }
}

fn lock(s: &Shared) -> MutexGuard<'_, Vec<SinkRequest>> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

async fn receive(State(requests): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let header_str = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header_str(header::CONTENT_TYPE).unwrap_or_default();
    let records = if content_type.contains("json") {
        decode_json(&body)
    } else {
        decode_protobuf(&body)
    };
    let records = match records {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e:#}")).into_response(),
    };
    lock(&requests).push(SinkRequest {
        path: uri.path().to_owned(),
        content_type: content_type.clone(),
        authorization: header_str(header::AUTHORIZATION),
        records,
    });
    // An empty ExportLogsServiceResponse in the request's own encoding.
    if content_type.contains("json") {
        ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::<u8>::new(),
        )
            .into_response()
    }
}

fn decode_protobuf(body: &[u8]) -> Result<Vec<SinkRecord>> {
    let req = ExportLogsServiceRequest::decode(body).context("decoding OTLP protobuf")?;
    let mut out = Vec::new();
    for rl in req.resource_logs {
        let resource = kv_map(rl.resource.map(|r| r.attributes).unwrap_or_default());
        for sl in rl.scope_logs {
            let scope = sl.scope.map(|s| s.name).unwrap_or_default();
            for lr in sl.log_records {
                out.push(SinkRecord {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    attributes: kv_map(lr.attributes),
                });
            }
        }
    }
    Ok(out)
}

fn kv_map(kvs: Vec<KeyValue>) -> BTreeMap<String, String> {
    kvs.into_iter()
        .map(|kv| (kv.key, any_to_string(kv.value)))
        .collect()
}

fn any_to_string(v: Option<AnyValue>) -> String {
    match v.and_then(|v| v.value) {
        Some(any_value::Value::StringValue(s)) => s,
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// OTLP/JSON: camelCase keys, int64 as strings; walked generically rather than through the
/// proto types so that an encoding quirk of the client shows up in the data, not as an error.
fn decode_json(body: &[u8]) -> Result<Vec<SinkRecord>> {
    let v: Value = serde_json::from_slice(body).context("decoding OTLP JSON")?;
    let Some(resource_logs) = v.get("resourceLogs").and_then(Value::as_array) else {
        bail!("OTLP JSON without resourceLogs");
    };
    let mut out = Vec::new();
    for rl in resource_logs {
        let resource = json_kv_map(&rl["resource"]["attributes"]);
        for sl in rl["scopeLogs"].as_array().into_iter().flatten() {
            let scope = sl["scope"]["name"].as_str().unwrap_or_default().to_owned();
            for lr in sl["logRecords"].as_array().into_iter().flatten() {
                out.push(SinkRecord {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    attributes: json_kv_map(&lr["attributes"]),
                });
            }
        }
    }
    Ok(out)
}

fn json_kv_map(attrs: &Value) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for kv in attrs.as_array().into_iter().flatten() {
        let key = kv["key"].as_str().unwrap_or_default().to_owned();
        let value = match kv["value"].as_object().and_then(|o| o.values().next()) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        m.insert(key, value);
    }
    m
}
