//! A stand-in for OpenAI's Responses API, good enough to drive the real Codex CLI offline.
//!
//! `POST /v1/responses` answers a scripted [`Reply`] as Server-Sent Events in the exact wire
//! format Codex parses (`event: <type>\ndata: <json>\n\n`): `response.created`, one
//! `response.output_item.done`, then `response.completed` carrying `usage`. Every usage served is
//! recorded, so a test can compare what Steward reports with the tokens that were really
//! "spent". The server runs on its own thread and runtime so it works from sync and async tests
//! alike and keeps answering while a test blocks on a child process.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{anyhow, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::bg_server::BackgroundServer;

/// Name of the shell tool Codex 0.169.0 offers to the model (unified exec is on by default on
/// Linux; its `tools` array has `exec_command` with a `cmd` string, not `shell`).
pub const SHELL_TOOL_NAME: &str = "exec_command";

/// Token usage of one model response, as put in `response.completed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// All input tokens, cached ones included (`usage.input_tokens`).
    pub input_tokens: u64,
    /// `usage.input_tokens_details.cached_tokens`.
    pub cached_tokens: u64,
    /// All output tokens, reasoning included (`usage.output_tokens`).
    pub output_tokens: u64,
    /// `usage.output_tokens_details.reasoning_tokens`.
    pub reasoning_tokens: u64,
}

impl Usage {
    pub const fn new(input: u64, cached: u64, output: u64, reasoning: u64) -> Self {
        Self {
            input_tokens: input,
            cached_tokens: cached,
            output_tokens: output,
            reasoning_tokens: reasoning,
        }
    }

    /// `usage.total_tokens` as OpenAI computes it: input + output.
    pub const fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub const fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens - self.cached_tokens
    }

    fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": { "cached_tokens": self.cached_tokens },
            "output_tokens": self.output_tokens,
            "output_tokens_details": { "reasoning_tokens": self.reasoning_tokens },
            "total_tokens": self.total_tokens(),
        })
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(self, o: Usage) -> Usage {
        Usage::new(
            self.input_tokens + o.input_tokens,
            self.cached_tokens + o.cached_tokens,
            self.output_tokens + o.output_tokens,
            self.reasoning_tokens + o.reasoning_tokens,
        )
    }
}

impl std::iter::Sum for Usage {
    fn sum<I: Iterator<Item = Usage>>(iter: I) -> Usage {
        iter.fold(Usage::default(), |a, b| a + b)
    }
}

/// One scripted answer to `POST /v1/responses`.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A final assistant message: ends the turn.
    Message { text: String, usage: Usage },
    /// A function call: Codex runs the tool and POSTs again with its `function_call_output`.
    ToolCall {
        call_id: String,
        name: String,
        arguments_json: String,
        usage: Usage,
    },
}

impl Reply {
    pub fn message(text: impl Into<String>, usage: Usage) -> Self {
        Reply::Message {
            text: text.into(),
            usage,
        }
    }

    /// A call of Codex's shell tool ([`SHELL_TOOL_NAME`]) running `command` through the shell.
    pub fn shell(call_id: impl Into<String>, command: &str, usage: Usage) -> Self {
        Reply::ToolCall {
            call_id: call_id.into(),
            name: SHELL_TOOL_NAME.to_owned(),
            arguments_json: json!({ "cmd": command, "login": false }).to_string(),
            usage,
        }
    }

    fn usage(&self) -> Usage {
        match self {
            Reply::Message { usage, .. } | Reply::ToolCall { usage, .. } => *usage,
        }
    }
}

/// What the stand-in answers once its queue is empty.
pub const DEFAULT_TEXT: &str = "Done.";
/// Usage of the default answer.
pub const DEFAULT_USAGE: Usage = Usage::new(1000, 200, 40, 10);

/// One `POST /v1/responses` the stand-in answered.
#[derive(Clone, Debug)]
pub struct ServedRequest {
    /// The request body Codex sent (JSON; `Value::Null` if it was not JSON).
    pub body: Value,
    /// The usage put in this answer's `response.completed`.
    pub usage: Usage,
}

impl ServedRequest {
    /// The `function_call_output` items of this request's `input`, as (call_id, output text).
    pub fn function_call_outputs(&self) -> Vec<(String, String)> {
        let items = self.body.get("input").and_then(Value::as_array);
        items
            .into_iter()
            .flatten()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("function_call_output"))
            .map(|i| {
                let id = i
                    .get("call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                // `output` is a string in current Codex; older builds sent an object.
                let out = match i.get("output") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                (id, out)
            })
            .collect()
    }

    /// Names of the tools Codex offered in this request (`tools[].name`).
    pub fn tool_names(&self) -> Vec<String> {
        let tools = self.body.get("tools").and_then(Value::as_array);
        tools
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Reply>,
    served: Vec<ServedRequest>,
    gets: Vec<String>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running stand-in. Dropping it stops the server.
pub struct ResponsesStandin {
    server: BackgroundServer,
    inner: Shared,
}

impl ResponsesStandin {
    /// Starts the server on 127.0.0.1 with a free port.
    pub fn start() -> Result<Self> {
        let inner: Shared = Arc::default();
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .route("/v1/models", get(models))
            .fallback(get(other_get))
            .with_state(inner.clone());
        let server = BackgroundServer::spawn("responses-standin", app)?;
        Ok(Self { server, inner })
    }

    /// The base URL to configure as a Codex model provider (`.../v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// Appends scripted replies; they are served in order, one per `POST /v1/responses`.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.inner).queue.extend(replies);
    }

    /// Scripted replies not consumed yet.
    pub fn pending(&self) -> usize {
        lock(&self.inner).queue.len()
    }

    /// Every `POST /v1/responses` answered so far, in order.
    pub fn served(&self) -> Vec<ServedRequest> {
        lock(&self.inner).served.clone()
    }

    /// The usages of every answer served so far, in order.
    pub fn served_usages(&self) -> Vec<Usage> {
        lock(&self.inner).served.iter().map(|s| s.usage).collect()
    }

    /// Sum of every usage served so far.
    pub fn usage_total(&self) -> Usage {
        self.served_usages().into_iter().sum()
    }

    /// Number of `POST /v1/responses` answered so far.
    pub fn request_count(&self) -> usize {
        lock(&self.inner).served.len()
    }

    /// Paths of the GET requests received (e.g. `/v1/models`).
    pub fn get_paths(&self) -> Vec<String> {
        lock(&self.inner).gets.clone()
    }
}

/// A poisoned lock only means another test thread panicked; the data is still usable.
fn lock(inner: &Shared) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

async fn responses(State(inner): State<Shared>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (reply, n) = {
        let mut g = lock(&inner);
        let reply = g
            .queue
            .pop_front()
            .unwrap_or_else(|| Reply::message(DEFAULT_TEXT, DEFAULT_USAGE));
        g.served.push(ServedRequest {
            body,
            usage: reply.usage(),
        });
        (reply, g.served.len())
    };
    match sse_body(&reply, n) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/event-stream")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Renders one reply as the SSE frames Codex expects.
fn sse_body(reply: &Reply, n: usize) -> Result<String> {
    let resp_id = format!("resp_standin_{n}");
    let item = match reply {
        Reply::Message { text, .. } => json!({
            "type": "message",
            "role": "assistant",
            "id": format!("msg_standin_{n}"),
            "content": [{ "type": "output_text", "text": text }],
        }),
        Reply::ToolCall {
            call_id,
            name,
            arguments_json,
            ..
        } => json!({
            "type": "function_call",
            "id": format!("fc_standin_{n}"),
            "call_id": call_id,
            "name": name,
            "arguments": arguments_json,
            "status": "completed",
        }),
    };
    let events = [
        json!({ "type": "response.created", "response": { "id": resp_id } }),
        json!({ "type": "response.output_item.done", "output_index": 0, "item": item }),
        json!({
            "type": "response.completed",
            "response": { "id": resp_id, "usage": reply.usage().to_json() },
        }),
    ];
    let mut out = String::new();
    for ev in events {
        let kind = ev
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("SSE event without a type"))?;
        out.push_str(&format!("event: {kind}\ndata: {ev}\n\n"));
    }
    Ok(out)
}

async fn models(State(inner): State<Shared>) -> Json<Value> {
    lock(&inner).gets.push("/v1/models".to_owned());
    Json(json!({ "models": [] }))
}

async fn other_get(State(inner): State<Shared>, uri: Uri) -> Json<Value> {
    lock(&inner).gets.push(uri.path().to_owned());
    Json(json!({ "object": "list", "data": [] }))
}
