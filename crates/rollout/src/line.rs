//! One rollout line: the envelope `{"timestamp", "type", "payload"}` (codex-facts §3.2) and the
//! payloads Steward reads. Every Codex version adds fields and line types, so nothing here is
//! strict about what it does not use: unknown fields are ignored, unknown line and event types
//! are returned as such (kept and counted by the caller), and only a field Steward *needs* with
//! the wrong type is an error, named by its path. A token figure that cannot be read is an
//! error, never a zero.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use steward_model::time::parse_rfc3339_ms;
use steward_model::TokenUsage;

use crate::problem::{Problem, ProblemKind};

/// A line that parsed, with what Steward needs from it.
#[derive(Debug)]
pub struct ParsedLine<'a> {
    /// The envelope's `timestamp` in Unix ms (`None` when absent; a bad one is a problem).
    pub timestamp_ms: Option<i64>,
    /// The envelope's `type`.
    pub line_type: Cow<'a, str>,
    pub item: Item,
    /// The payload as written (for compliance capture of prompts, responses and tool calls).
    pub payload: Option<&'a RawValue>,
}

/// What a line means to Steward.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    SessionMeta(SessionMeta),
    /// `turn_context`: the model (and, in newer versions, the turn id) of the coming turn.
    TurnContext {
        turn_id: Option<String>,
        model: Option<String>,
    },
    /// `event_msg` `task_started` / `turn_started`.
    TurnStarted {
        turn_id: Option<String>,
    },
    /// `event_msg` `task_complete` / `turn_complete` / `turn_aborted`.
    TurnEnded {
        turn_id: Option<String>,
    },
    /// `event_msg` `token_count` (`info` may be null: only rate limits changed).
    TokenCount {
        total: Option<TokenUsage>,
        last: Option<TokenUsage>,
    },
    /// `token_usage_record` (Codex 0.169.0+): one model response's usage with its ids.
    UsageRecord {
        turn_id: Option<String>,
        response_id: Option<String>,
        usage: Option<TokenUsage>,
        thread_total: Option<TokenUsage>,
    },
    /// A person's prompt: `event_msg` `user_message`, or `item_completed` of a `UserMessage`.
    Prompt {
        turn_id: Option<String>,
        text: String,
    },
    /// The agent's answer: `event_msg` `agent_message`, or `item_completed` of an `AgentMessage`.
    AgentMessage {
        turn_id: Option<String>,
        text: String,
    },
    /// A tool call the model made (`response_item` `function_call`, `custom_tool_call`,
    /// `local_shell_call`, ...), and a tool's output.
    ToolCall {
        call_id: Option<String>,
        name: String,
        /// What the model asked the tool to do: `arguments` (JSON text) of a function call,
        /// `input` of a freeform tool, the `action` object (as JSON) of shell and web search.
        input: Option<String>,
        /// Whether an output item follows (a web search, run by the provider, has none).
        awaits_output: bool,
    },
    ToolOutput {
        call_id: Option<String>,
        /// The output as text (structured content's text parts joined).
        output: Option<String>,
        /// Only structured outputs of some versions say whether the tool succeeded.
        success: Option<bool>,
    },
    /// A known line or event Steward does not account for (history, reasoning, world state).
    Other,
    /// A line `type` (or `event_msg` type) this version of Steward has never seen: kept and
    /// counted, never read as usage.
    Unknown(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionMeta {
    pub id: String,
    pub started_ms: Option<i64>,
    pub originator: Option<String>,
    pub cli_version: Option<String>,
    /// `source` as text: `"cli"`, `"exec"`, or the JSON of an object source (sub-agents).
    pub source: Option<String>,
    pub cwd: Option<String>,
    pub model_provider: Option<String>,
    pub forked_from_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", default, borrow)]
    line_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    payload: Option<&'a RawValue>,
}

/// Line types of Codex rollouts that carry nothing Steward counts (codex-facts §3.2, §3.7).
const OTHER_LINE_TYPES: &[&str] = &[
    "compacted",
    "world_state",
    "inter_agent_communication",
    "inter_agent_communication_metadata",
];

/// `event_msg` types that are known but not accounted (codex-facts §3.8, and 0.169.0's own).
const OTHER_EVENTS: &[&str] = &[
    "agent_reasoning",
    "agent_reasoning_raw_content",
    "agent_reasoning_section_break",
    "patch_apply_end",
    "mcp_tool_call_end",
    "web_search_end",
    "image_generation_end",
    "context_compacted",
    "thread_rolled_back",
    "entered_review_mode",
    "exited_review_mode",
    "thread_goal_updated",
    "thread_name_updated",
    "sub_agent_activity",
    "item_completed",
    "item_started",
    "thread_settings_applied",
    "exec_command_begin",
    "exec_command_end",
    "exec_command_output_delta",
    "mcp_tool_call_begin",
    "patch_apply_begin",
    "web_search_begin",
    "turn_diff",
    "plan_update",
    "error",
    "stream_error",
    "warning",
    "background_event",
    "shutdown_complete",
    "undo_started",
    "undo_completed",
    "view_image_tool_call",
    "rate_limits",
];

/// Line types that hold history (most of a rollout's bytes) and no usage.
const HISTORY_LINE_TYPES: &[&str] = &[
    "response_item",
    "compacted",
    "world_state",
    "inter_agent_communication",
    "inter_agent_communication_metadata",
];

/// Whether `bytes` is, by its framing, a history line that usage accounting can skip without
/// parsing: `{` … `}` with an envelope `type` among [`HISTORY_LINE_TYPES`] before any `payload`.
/// Codex writes the envelope keys in the order timestamp, (ordinal,) type, payload, so the type
/// is within the first bytes. Anything else (garbage, a cut-off line, another key order) is
/// not skippable and gets the full parse, so it is still checked and counted.
pub fn is_history_line(bytes: &[u8]) -> bool {
    if bytes.first() != Some(&b'{') || bytes.last() != Some(&b'}') {
        return false;
    }
    let head = &bytes[..bytes.len().min(160)];
    let Some(at) = memchr::memmem::find(head, b"\"type\":\"") else {
        return false;
    };
    if memchr::memmem::find(&head[..at], b"\"payload\"").is_some() {
        return false;
    }
    let value = &head[at + 8..];
    let Some(end) = memchr::memchr(b'"', value) else {
        return false;
    };
    HISTORY_LINE_TYPES.iter().any(|t| t.as_bytes() == &value[..end])
}

/// Parses one line (without its newline).
pub fn parse_line(bytes: &[u8]) -> Result<ParsedLine<'_>, Problem> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Problem::new(
            ProblemKind::NotUtf8,
            format!("not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
        )
    })?;
    let env: Envelope<'_> = serde_json::from_str(text).map_err(|e| {
        let kind = if e.is_eof() {
            ProblemKind::Truncated
        } else if e.is_data() {
            ProblemKind::NotAnObject
        } else {
            ProblemKind::MalformedJson
        };
        Problem::new(kind, e.to_string())
    })?;
    let line_type = env
        .line_type
        .ok_or_else(|| Problem::new(ProblemKind::MissingField, "no \"type\" in the line"))?;
    let timestamp_ms = match env.timestamp.as_deref() {
        None => None,
        Some(ts) => Some(parse_rfc3339_ms(ts).ok_or_else(|| {
            Problem::new(ProblemKind::BadField, format!("timestamp: not RFC 3339: {ts:?}"))
        })?),
    };
    let item = match line_type.as_ref() {
        "session_meta" => Item::SessionMeta(session_meta(object(env.payload, "session_meta")?)?),
        "turn_context" => {
            let p = object(env.payload, "turn_context")?;
            Item::TurnContext {
                turn_id: opt_str(&p, "turn_context.turn_id")?,
                model: opt_str(&p, "turn_context.model")?,
            }
        }
        "event_msg" => event(object(env.payload, "event_msg")?)?,
        "token_usage_record" => {
            let p = object(env.payload, "token_usage_record")?;
            Item::UsageRecord {
                turn_id: opt_str(&p, "token_usage_record.turn_id")?,
                response_id: opt_str(&p, "token_usage_record.response_id")?,
                usage: opt_usage(&p, "usage", "token_usage_record")?,
                thread_total: opt_usage(&p, "thread_token_usage", "token_usage_record")?,
            }
        }
        "response_item" => response_item(env.payload),
        t if OTHER_LINE_TYPES.contains(&t) => Item::Other,
        t => Item::Unknown(t.to_owned()),
    };
    Ok(ParsedLine {
        timestamp_ms,
        line_type,
        item,
        payload: env.payload,
    })
}

fn object(payload: Option<&RawValue>, what: &str) -> Result<Map<String, Value>, Problem> {
    let raw =
        payload.ok_or_else(|| Problem::new(ProblemKind::MissingField, format!("{what}: no payload")))?;
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Problem::new(
            ProblemKind::BadField,
            format!("{what}.payload: expected an object, got {}", kind_of(&other)),
        )),
        Err(e) => Err(Problem::new(ProblemKind::MalformedJson, e.to_string())),
    }
}

fn session_meta(p: Map<String, Value>) -> Result<SessionMeta, Problem> {
    // `id` is the thread; 0.169.0 also writes `session_id` (equal for a root thread).
    let id = opt_str(&p, "session_meta.id")?
        .or(opt_str(&p, "session_meta.session_id")?)
        .ok_or_else(|| Problem::new(ProblemKind::MissingField, "session_meta.id: missing"))?;
    let started_ms = opt_str(&p, "session_meta.timestamp")?.and_then(|t| parse_rfc3339_ms(&t));
    let source = match p.get("source") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    Ok(SessionMeta {
        id,
        started_ms,
        originator: opt_str(&p, "session_meta.originator")?,
        cli_version: opt_str(&p, "session_meta.cli_version")?,
        source,
        cwd: opt_str(&p, "session_meta.cwd")?,
        model_provider: opt_str(&p, "session_meta.model_provider")?,
        forked_from_id: opt_str(&p, "session_meta.forked_from_id")?,
    })
}

fn event(p: Map<String, Value>) -> Result<Item, Problem> {
    let kind = opt_str(&p, "event_msg.type")?
        .ok_or_else(|| Problem::new(ProblemKind::MissingField, "event_msg.type: missing"))?;
    let turn_id = || opt_str(&p, &format!("event_msg.{kind}.turn_id"));
    Ok(match kind.as_str() {
        "task_started" | "turn_started" => Item::TurnStarted { turn_id: turn_id()? },
        "task_complete" | "turn_complete" | "turn_aborted" => Item::TurnEnded { turn_id: turn_id()? },
        "token_count" => match p.get("info") {
            None | Some(Value::Null) => Item::TokenCount {
                total: None,
                last: None,
            },
            Some(Value::Object(info)) => Item::TokenCount {
                total: opt_usage(info, "total_token_usage", "token_count.info")?,
                last: opt_usage(info, "last_token_usage", "token_count.info")?,
            },
            Some(other) => {
                return Err(Problem::new(
                    ProblemKind::BadField,
                    format!("token_count.info: expected an object, got {}", kind_of(other)),
                ))
            }
        },
        "user_message" => Item::Prompt {
            turn_id: turn_id()?,
            text: opt_str(&p, "event_msg.user_message.message")?.unwrap_or_default(),
        },
        "agent_message" => Item::AgentMessage {
            turn_id: turn_id()?,
            text: opt_str(&p, "event_msg.agent_message.message")?.unwrap_or_default(),
        },
        "item_completed" => completed_item(&p, turn_id()?),
        k if OTHER_EVENTS.contains(&k) => Item::Other,
        k => Item::Unknown(format!("event_msg.{k}")),
    })
}

/// 0.169.0 records the person's message and the agent's answer as completed items.
fn completed_item(p: &Map<String, Value>, turn_id: Option<String>) -> Item {
    let Some(item) = p.get("item").and_then(Value::as_object) else {
        return Item::Other;
    };
    let text = || {
        item.get("content")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|c| c.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    };
    match item.get("type").and_then(Value::as_str) {
        Some("UserMessage") => Item::Prompt {
            turn_id,
            text: text(),
        },
        Some("AgentMessage") => Item::AgentMessage {
            turn_id,
            text: text(),
        },
        _ => Item::Other,
    }
}

/// Tool calls and outputs from the model-visible history; only the few fields Steward names are
/// read, with a partial parse (history lines are most of a rollout's bytes, and this runs only
/// when everything is read, never for usage accounting).
fn response_item(payload: Option<&RawValue>) -> Item {
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        call_id: Option<Cow<'a, str>>,
        /// The item's own id (a web search has no call id).
        #[serde(borrow, default)]
        id: Option<Cow<'a, str>>,
        // Text for function calls, an object for tool search: taken as either.
        #[serde(borrow, default)]
        arguments: Option<&'a RawValue>,
        #[serde(borrow, default)]
        input: Option<&'a RawValue>,
        #[serde(borrow, default)]
        action: Option<&'a RawValue>,
        #[serde(borrow, default)]
        output: Option<&'a RawValue>,
    }
    let Some(head) = payload.and_then(|raw| serde_json::from_str::<Head<'_>>(raw.get()).ok()) else {
        return Item::Other;
    };
    let call_id = head.call_id.map(Cow::into_owned);
    let action = || head.action.map(text_or_json);
    match head.kind.as_deref() {
        Some("function_call" | "custom_tool_call" | "tool_search_call") => Item::ToolCall {
            call_id,
            name: head.name.map(Cow::into_owned).unwrap_or_default(),
            input: head.arguments.or(head.input).map(text_or_json),
            awaits_output: true,
        },
        Some("local_shell_call") => Item::ToolCall {
            call_id,
            name: "local_shell".to_owned(),
            input: action(),
            awaits_output: true,
        },
        // Run by the model's provider: no output item follows.
        Some("web_search_call") => Item::ToolCall {
            call_id: call_id.or(head.id.map(Cow::into_owned)),
            name: "web_search".to_owned(),
            input: action(),
            awaits_output: false,
        },
        Some("function_call_output" | "custom_tool_call_output" | "tool_search_output") => {
            let (output, success) = head.output.map_or((None, None), tool_output);
            Item::ToolOutput {
                call_id,
                output,
                success,
            }
        }
        _ => Item::Other,
    }
}

/// A JSON string's text, or any other value's JSON text.
fn text_or_json(raw: &RawValue) -> String {
    match serde_json::from_str::<Cow<'_, str>>(raw.get()) {
        Ok(text) => text.into_owned(),
        Err(_) => raw.get().to_owned(),
    }
}

/// A tool output as Codex writes it: a string; content items (`[{"type":"input_text","text"}]`,
/// their texts joined); or `{"content", "success"}` (some versions). Anything else is kept as
/// its JSON text rather than dropped.
fn tool_output(raw: &RawValue) -> (Option<String>, Option<bool>) {
    let Ok(value) = serde_json::from_str::<Value>(raw.get()) else {
        return (None, None);
    };
    let texts = |items: &[Value]| {
        items
            .iter()
            .filter_map(|c| c.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match value {
        Value::Null => (None, None),
        Value::String(s) => (Some(s), None),
        Value::Array(items) => (Some(texts(&items)), None),
        Value::Object(o) => {
            let success = o.get("success").and_then(Value::as_bool);
            let content = match o.get("content") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Array(items)) => Some(texts(items)),
                _ => o.get("body").and_then(Value::as_str).map(str::to_owned),
            };
            (content.or_else(|| Some(raw.get().to_owned())), success)
        }
        other => (Some(other.to_string()), None),
    }
}

fn opt_str(p: &Map<String, Value>, path: &str) -> Result<Option<String>, Problem> {
    let key = path.rsplit('.').next().unwrap_or(path);
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Problem::new(
            ProblemKind::BadField,
            format!("{path}: expected a string, got {}", kind_of(other)),
        )),
    }
}

/// A `TokenUsage` object at `p[key]`: absent or null → `None`; present → every figure must be
/// a non-negative integer (missing figures are 0, as Codex omits zero fields in some versions).
fn opt_usage(p: &Map<String, Value>, key: &str, parent: &str) -> Result<Option<TokenUsage>, Problem> {
    let obj = match p.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(Problem::new(
                ProblemKind::BadField,
                format!("{parent}.{key}: expected an object, got {}", kind_of(other)),
            ))
        }
    };
    let figure = |name: &str| -> Result<i64, Problem> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .filter(|v| *v >= 0)
                .ok_or_else(|| {
                    Problem::new(
                        ProblemKind::BadField,
                        format!("{parent}.{key}.{name}: expected a non-negative integer, got {n}"),
                    )
                }),
            Some(other) => Err(Problem::new(
                ProblemKind::BadField,
                format!("{parent}.{key}.{name}: expected a number, got {}", kind_of(other)),
            )),
        }
    };
    let input = figure("input_tokens")?;
    let output = figure("output_tokens")?;
    let total = match figure("total_tokens")? {
        0 => input + output,
        t => t,
    };
    Ok(Some(TokenUsage {
        input,
        cached_input: figure("cached_input_tokens")?,
        output,
        reasoning_output: figure("reasoning_output_tokens")?,
        total,
    }))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_lines_are_recognised_by_their_framing_only_when_well_formed() {
        let ok = br#"{"timestamp":"2026-11-20T22:04:08.614Z","ordinal":10,"type":"response_item","payload":{"type":"message"}}"#;
        assert!(is_history_line(ok));
        assert!(is_history_line(
            br#"{"timestamp":"x","type":"compacted","payload":{}}"#
        ));
        // Usage lines, other key orders, cut-off lines and garbage get the full parse.
        assert!(!is_history_line(
            br#"{"timestamp":"x","type":"event_msg","payload":{"type":"response_item"}}"#
        ));
        assert!(!is_history_line(
            br#"{"payload":{"type":"response_item"},"type":"event_msg"}"#
        ));
        assert!(!is_history_line(
            br#"{"timestamp":"x","type":"response_item","payload":{"type":"mess"#
        ));
        assert!(!is_history_line(b"\xff\xfe{}"));
        assert!(!is_history_line(
            br#"{"timestamp":"x","type":"response_item_v2","payload":{}}"#
        ));
    }
}
