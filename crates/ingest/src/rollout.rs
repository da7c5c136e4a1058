//! Shipped rollout files (`POST /v1/rollouts`, sent by `steward agent ship`): a piece of one
//! file, from a byte offset, continues that file's parser state on the server and becomes
//! events keyed by their facts (`fact_keys`), so a piece sent twice, a file re-shipped from the
//! start after the shipper lost its state, or the same turn also exported over OTLP, counts once.
//!
//! Order of effects: events are committed first (durably, through the write queue), then the
//! file's new offset and parser state. A crash between the two re-reads that piece next time
//! from the old state, which yields the same keys: nothing is counted twice.

use std::collections::BTreeMap;

use serde_json::json;
use steward_model::{client_id_for, EventKind, Source, AGENT_MESSAGE};
use steward_rollout::{feed_line, Fact, ProblemExample, ProblemKind, ReadMode, Tally, ThreadState};
use steward_store::RolloutFileRow;

use crate::error::IngestError;
use crate::fact_keys::{message_key, response_key, thread_key, tool_key, turn_key};
use crate::identity::IngestPrincipal;
use crate::normalize::{finalize_keyed, IdentityHints, ParsedRecord};
use crate::pipeline::Ingestor;

/// One piece of one rollout file, as the shipper sends it.
#[derive(Debug, Clone)]
pub struct RolloutPiece<'a> {
    pub file_key: String,
    /// Path under the Codex home (`sessions/2026/11/20/rollout-...jsonl`).
    pub path: String,
    pub machine: String,
    /// Byte offset in the file where `bytes` starts.
    pub offset: i64,
    /// Whole lines (a trailing partial line is not read and not acknowledged).
    pub bytes: &'a [u8],
    /// Whose sessions these are, when the token is a machine's (workspace) token.
    pub email: Option<String>,
}

/// Who and where a piece's facts are from.
#[derive(Clone, Copy)]
struct FactContext<'a> {
    ws: &'a str,
    user_id: &'a str,
    thread: &'a str,
    machine: &'a str,
    originator: Option<&'a str>,
}

/// What a piece did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PieceOutcome {
    /// Where the server now stands in the file: send the next piece from here.
    pub acked_offset: i64,
    pub lines: u64,
    /// Events written (new or already known; duplicates are not counted twice).
    pub events: u64,
    pub problems: BTreeMap<ProblemKind, u64>,
    pub problem_examples: Vec<ProblemExample>,
    pub unknown_line_types: BTreeMap<String, u64>,
    pub thread_id: Option<String>,
}

/// Why a piece was not read.
#[derive(Debug, thiserror::Error)]
pub enum PieceError {
    /// The piece does not start where the server stands (a gap, or not at a line boundary of
    /// what was read): resend from `acked_offset`.
    #[error(
        "this file is read up to byte {acked_offset}; send it from there (the piece starts at {offset})"
    )]
    Misaligned { acked_offset: i64, offset: i64 },
    #[error("bad piece: {0}")]
    Invalid(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl From<steward_store::StoreError> for PieceError {
    fn from(e: steward_store::StoreError) -> Self {
        PieceError::Ingest(IngestError::Store(e))
    }
}

impl Ingestor {
    pub async fn ingest_rollout(
        &self,
        principal: &IngestPrincipal,
        piece: RolloutPiece<'_>,
        received_ms: i64,
    ) -> Result<PieceOutcome, PieceError> {
        if piece.file_key.is_empty() || piece.file_key.len() > 128 {
            return Err(PieceError::Invalid("file_key must be 1 to 128 characters".into()));
        }
        if piece.offset < 0 {
            return Err(PieceError::Invalid("offset must not be negative".into()));
        }
        let ws = principal.workspace_id().to_owned();
        let stored = self.store().rollout_file(&ws, &piece.file_key).await?;
        let acked = stored.as_ref().map_or(0, |r| r.acked_offset);
        let mut state: ThreadState = match &stored {
            Some(r) => serde_json::from_str(&r.state_json)
                .map_err(|e| PieceError::Invalid(format!("stored parser state unreadable: {e}")))?,
            None => ThreadState::for_file(&piece.path),
        };
        if piece.offset > acked {
            return Err(PieceError::Misaligned {
                acked_offset: acked,
                offset: piece.offset,
            });
        }
        // Skip what was already read (all of it: answer where the server stands, which is also
        // the answer to an empty probe); the cut must fall on a line boundary of this piece.
        let skip = (acked - piece.offset) as usize;
        if skip >= piece.bytes.len() {
            return Ok(PieceOutcome {
                acked_offset: acked,
                thread_id: state.thread_id().map(str::to_owned),
                ..PieceOutcome::default()
            });
        }
        if skip > 0 && piece.bytes[skip - 1] != b'\n' {
            return Err(PieceError::Misaligned {
                acked_offset: acked,
                offset: piece.offset,
            });
        }
        let body = &piece.bytes[skip..];
        // Whole lines only: a trailing partial line is neither read nor acknowledged.
        let whole = &body[..body.iter().rposition(|b| *b == b'\n').map_or(0, |end| end + 1)];
        let mut tally = Tally::default();
        let mut facts = Vec::new();
        let mut line_no = stored.as_ref().map_or(0, |r| r.lines as u64);
        for line in whole.split_inclusive(|b| *b == b'\n') {
            line_no += 1;
            feed_line(
                &mut state,
                &mut tally,
                (&piece.path, line_no),
                line,
                ReadMode::Everything,
                &mut facts,
            );
        }
        let hints = IdentityHints {
            email: piece.email.clone(),
            account_id: None,
            host: Some(piece.machine.clone()),
        };
        let user_id = self.resolver().user_for(principal, &hints).await?;
        let thread = state.thread_id().map(str::to_owned);
        let originator = state.meta.as_ref().and_then(|m| m.originator.as_deref());
        let events: Vec<_> = match &thread {
            Some(thread) => facts
                .into_iter()
                .map(|fact| {
                    let ctx = FactContext {
                        ws: &ws,
                        user_id: &user_id,
                        thread,
                        machine: &piece.machine,
                        originator,
                    };
                    self.fact_event(&ctx, fact)
                })
                .collect(),
            None => Vec::new(),
        };
        let written = events.len() as u64;
        self.queue().write(events).await?;
        let new_offset = acked + whole.len() as i64;
        let problems = tally.problem_count() as i64;
        let unknown: u64 = tally.unknown_types.values().sum();
        let row = RolloutFileRow {
            workspace_id: ws.clone(),
            file_key: piece.file_key.clone(),
            machine: piece.machine.clone(),
            path: piece.path.clone(),
            thread_id: thread.clone(),
            acked_offset: new_offset,
            state_json: serde_json::to_string(&state)
                .map_err(|e| PieceError::Invalid(format!("parser state: {e}")))?,
            lines: line_no as i64,
            problems: stored.as_ref().map_or(0, |r| r.problems) + problems,
            unknown: stored.as_ref().map_or(0, |r| r.unknown) + unknown as i64,
            updated_at_ms: received_ms,
        };
        let acked_offset = self.store().save_rollout_file(&row).await?;
        metrics::counter!("steward_ingest_records_total", "signal" => "rollout", "outcome" => "accepted")
            .increment(tally.lines);
        metrics::counter!("steward_ingest_records_total", "signal" => "rollout", "outcome" => "rejected")
            .increment(problems as u64);
        Ok(PieceOutcome {
            acked_offset,
            lines: tally.lines,
            events: written,
            problems: tally.problems,
            problem_examples: tally.examples,
            unknown_line_types: tally.unknown_types,
            thread_id: thread,
        })
    }

    /// One fact as the event OTLP would have produced for it (same event names and attributes,
    /// so usage rollups and compliance records treat both sources alike), keyed by the fact.
    /// The turn carries its prompt; answers (which OTLP does not export) are events of their
    /// own, `codex.agent_message`; a tool call with its output is a `codex.tool_result` keyed by
    /// its call id, as OTLP's is. Content is captured per the workspace's profile first.
    fn fact_event(&self, ctx: &FactContext<'_>, fact: Fact) -> steward_model::NormalizedEvent {
        let FactContext {
            ws,
            user_id,
            thread,
            machine,
            originator,
        } = *ctx;
        let (event_name, kind, at_ms, model, turn, key, attrs) = match fact {
            Fact::Thread(meta) => (
                "codex.conversation_starts",
                EventKind::ConversationStart,
                // No time anywhere in the file's head (never seen from Codex): 0, as the claim
                // of a thread start includes its time and must be the same on every re-ship.
                meta.started_ms.unwrap_or(0),
                None,
                None,
                thread_key(ws, thread),
                json!({"cli_version": meta.cli_version, "cwd": meta.cwd, "source": meta.source, "model_provider": meta.model_provider}),
            ),
            Fact::Turn {
                turn_id,
                at_ms,
                model,
                prompt,
            } => (
                "codex.user_prompt",
                EventKind::UserPrompt,
                at_ms,
                model,
                Some(turn_id.clone()),
                turn_key(ws, thread, &turn_id),
                json!({
                    "turn.id": turn_id,
                    "prompt_length": prompt.as_ref().map(|p| p.chars().count()),
                    "prompt": prompt,
                }),
            ),
            Fact::Usage(u) => (
                "codex.sse_event",
                EventKind::ResponseCompleted(u.usage),
                u.at_ms,
                u.model,
                u.turn_id.clone(),
                response_key(ws, thread, &u.usage),
                json!({
                    "event.kind": "response.completed",
                    "turn.id": u.turn_id,
                    "response.key": u.response_key,
                    "input_token_count": u.usage.input,
                    "cached_token_count": u.usage.cached_input,
                    "output_token_count": u.usage.output,
                    "reasoning_token_count": u.usage.reasoning_output,
                }),
            ),
            Fact::AgentMessage {
                turn_id,
                at_ms,
                text,
                seq,
            } => (
                AGENT_MESSAGE,
                EventKind::Other,
                at_ms,
                None,
                turn_id.clone(),
                message_key(ws, thread, seq),
                json!({"turn.id": turn_id, "message": text}),
            ),
            Fact::Tool(t) => {
                // A call without any id only rollouts report: its time, name and input stand in.
                let call = t.call_id.clone().unwrap_or_else(|| {
                    format!("@{}/{}/{}", t.called_ms, t.name, t.input.as_deref().unwrap_or(""))
                });
                let key = tool_key(ws, thread, &call);
                (
                    "codex.tool_result",
                    EventKind::Other,
                    t.done_ms.unwrap_or(t.called_ms),
                    None,
                    t.turn_id.clone(),
                    key,
                    json!({
                        "turn.id": t.turn_id,
                        "call_id": t.call_id,
                        "tool_name": t.name,
                        "arguments": t.input,
                        "output": t.output,
                        "success": t.success.map(|s| s.to_string()),
                        "duration_ms": t.done_ms.map(|d| (d - t.called_ms).max(0)),
                    }),
                )
            }
        };
        let mut attributes = attrs;
        if let Some(obj) = attributes.as_object_mut() {
            // Absent, not null, as OTLP omits what it does not have (and capture skips it).
            obj.retain(|_, v| !v.is_null());
            obj.insert("event.name".into(), json!(event_name));
            obj.insert("conversation.id".into(), json!(thread));
            obj.insert("originator".into(), json!(originator));
            if let Some(m) = &model {
                obj.insert("model".into(), json!(m));
            }
        }
        let raw = json!({
            "source": "rollout",
            "attributes": attributes,
            "resource": {"service.name": originator, "host.name": machine},
        });
        let mut record = ParsedRecord {
            event_name: event_name.to_owned(),
            kind,
            thread_id: Some(thread.to_owned()),
            trace_id: None,
            turn_id: turn,
            timestamp_ms: at_ms,
            client_id: client_id_for(originator),
            model,
            identity: IdentityHints {
                host: Some(machine.to_owned()),
                ..IdentityHints::default()
            },
            call_id: None,
            raw: raw.to_string(),
        };
        self.capture().apply(ws, &mut record);
        finalize_keyed(record, ws, user_id, self.rate_card(), key, Source::Rollout)
    }
}
