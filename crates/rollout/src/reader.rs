//! The per-thread state machine: rollout lines in file order → facts (thread, turns with their
//! prompts, per-response token usage, answers, tool calls).
//!
//! Usage rules (codex-facts §3.9, and Codex 0.169.0's rollouts):
//! - `token_usage_record` lines (0.169.0+) are per response, with turn and response ids; when a
//!   file has them, they are the usage and `token_count` events only keep the running total.
//! - Otherwise each `token_count` with `info` is one response: `last_token_usage` when present,
//!   else the difference of the cumulative `total_token_usage` from the previous one. A
//!   `token_count` whose cumulative total equals the previous one repeats it (Codex re-emits
//!   totals when only rate limits change) and is not counted again.
//! - Cached input is inside input and reasoning inside output: figures are never added on top.
//!
//! The state is serialisable so that a server receiving a file in pieces can carry it between
//! pieces.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use steward_model::TokenUsage;

use crate::line::{Item, ParsedLine, SessionMeta};

/// Where a usage figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageBasis {
    /// A `token_usage_record` line.
    Record,
    /// `token_count.info.last_token_usage`.
    LastTokenUsage,
    /// Derived: this `total_token_usage` minus the previous one.
    TotalDelta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageFact {
    pub at_ms: i64,
    pub turn_id: Option<String>,
    /// Stable within the thread: the response id, else derived from the cumulative total.
    pub response_key: String,
    pub model: Option<String>,
    pub usage: TokenUsage,
    pub basis: UsageBasis,
}

/// What a thread's lines say, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fact {
    Thread(SessionMeta),
    /// A turn, emitted once its model is known (its `turn_context`, first usage or end).
    Turn {
        turn_id: String,
        at_ms: i64,
        model: Option<String>,
        /// The person's prompt that started the turn, when the file has it by then.
        prompt: Option<String>,
    },
    Usage(UsageFact),
    AgentMessage {
        turn_id: Option<String>,
        at_ms: i64,
        text: String,
        /// Its place among the thread's answers (1, 2, ...): what tells two identical answers
        /// apart, and the same answer read twice (a re-shipped file) alike.
        seq: u64,
    },
    /// A tool call with its output, once the output is read (a call without a call id, or
    /// one pushed out of [`MAX_OPEN_CALLS`], without).
    Tool(ToolFact),
}

/// At most this many tool calls wait for their output per thread; beyond, the oldest is
/// reported without one (a file whose outputs never come must not grow the state for ever).
pub const MAX_OPEN_CALLS: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolFact {
    pub turn_id: Option<String>,
    pub call_id: Option<String>,
    pub name: String,
    pub input: Option<String>,
    pub output: Option<String>,
    pub success: Option<bool>,
    /// When the model made the call.
    pub called_ms: i64,
    /// When the output was written (`None` without an output).
    pub done_ms: Option<i64>,
}

/// A tool call waiting for its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct OpenCall {
    turn_id: Option<String>,
    name: String,
    input: Option<String>,
    called_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct OpenTurn {
    id: String,
    started_ms: i64,
    /// Emitted as a `Fact::Turn` already.
    announced: bool,
    /// Named by an explicit turn line (`task_started`, a turn id), or seen doing something
    /// (a prompt, usage). A bare `turn_context` (also written at resume) is neither until then.
    real: bool,
    /// Ended (`task_complete` / `turn_aborted`): a later prompt starts a new turn.
    ended: bool,
    /// Has had its prompt / some usage (versions without turn ids cut turns on these).
    #[serde(default)]
    prompted: bool,
    #[serde(default)]
    used: bool,
    /// Its `turn_context` was read (so its model is known).
    #[serde(default)]
    contexted: bool,
    /// Its first prompt's text, reported with the turn.
    #[serde(default)]
    prompt: Option<String>,
}

/// Everything needed to continue reading a thread where the last piece ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadState {
    pub meta: Option<SessionMeta>,
    /// Thread id from the file name, used until (or if never) a `session_meta` names it.
    pub fallback_id: Option<String>,
    pub model: Option<String>,
    turn: Option<OpenTurn>,
    /// Turns seen in this thread (numbers turns of versions that write no turn ids).
    pub turns: u64,
    prev_total: Option<TokenUsage>,
    /// The file has `token_usage_record` lines (they win over `token_count`).
    usage_records: bool,
    pub last_ms: Option<i64>,
    /// Usage before any `session_meta` was reported once already (`files::feed_line`).
    #[serde(default)]
    pub(crate) flagged_no_meta: bool,
    /// Tool calls waiting for their output, by call id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    calls: BTreeMap<String, OpenCall>,
    /// Answers reported so far, and the last one's turn, text and time (to recognise an answer
    /// written twice in a row, as an event and as a completed item).
    #[serde(default)]
    answers: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_answer: Option<(Option<String>, String, i64)>,
}

/// An answer equal to the one before it, in the same turn, within this time is the same answer
/// written twice; a real repeat is at least a model call later.
const SAME_ANSWER_MS: i64 = 1_000;

impl ThreadState {
    /// A reader for the rollout file `name` (its trailing UUID is the thread id by convention).
    pub fn for_file(name: &str) -> Self {
        ThreadState {
            fallback_id: thread_id_from_file_name(name),
            ..Self::default()
        }
    }

    pub fn thread_id(&self) -> Option<&str> {
        self.meta
            .as_ref()
            .map(|m| m.id.as_str())
            .or(self.fallback_id.as_deref())
    }

    /// Folds one parsed line into the state, pushing what it means onto `out`.
    pub fn apply(&mut self, line: &ParsedLine<'_>, out: &mut Vec<Fact>) {
        let at_ms = line.timestamp_ms.or(self.last_ms).unwrap_or(0);
        if line.timestamp_ms.is_some() {
            self.last_ms = line.timestamp_ms;
        }
        match &line.item {
            Item::SessionMeta(meta) => {
                // A resumed or forked file can repeat history; the first meta names the thread.
                if self.meta.is_none() {
                    let mut meta = meta.clone();
                    // Some versions write no `timestamp` in the payload: the line's own time.
                    meta.started_ms = meta.started_ms.or(line.timestamp_ms);
                    self.meta = Some(meta.clone());
                    out.push(Fact::Thread(meta));
                }
            }
            Item::TurnContext { turn_id, model } => {
                match turn_id {
                    Some(id) => self.begin_turn(Some(id), at_ms, true, out),
                    // Versions without turn ids write one per turn (before or after its prompt)
                    // and one at resume: it opens a turn unless the open one has had no usage.
                    None if self.turn_is_open() && !self.turn.as_ref().is_some_and(|t| t.used) => {}
                    None => self.begin_turn(None, at_ms, false, out),
                }
                if model.is_some() {
                    self.model = model.clone();
                }
                // The turn is reported once both its model and its prompt are known (in either
                // order, as versions differ), or at its first usage or end.
                if let Some(t) = self.turn.as_mut().filter(|t| !t.ended) {
                    t.contexted = true;
                    if t.prompted {
                        self.announce(out);
                    }
                }
            }
            Item::TurnStarted { turn_id } => match turn_id {
                Some(id) => self.begin_turn(Some(id), at_ms, true, out),
                None if self.turn_is_open() => self.mark_real(),
                None => self.begin_turn(None, at_ms, true, out),
            },
            Item::TurnEnded { .. } => {
                if self.turn_is_open() {
                    self.mark_real();
                }
                self.announce(out);
                // An interrupted turn's calls get no output any more.
                self.close_calls(out);
                if let Some(t) = self.turn.as_mut() {
                    t.ended = true;
                }
            }
            Item::Prompt { turn_id, text } => {
                // Versions without turn ids: a prompt joins an open turn that has neither a
                // prompt nor usage yet (opened by its turn_context), else it starts one.
                let joins = self.turn_is_open() && self.turn.as_ref().is_some_and(|t| !t.prompted && !t.used);
                match turn_id {
                    Some(id) => self.begin_turn(Some(id), at_ms, true, out),
                    None if joins => self.mark_real(),
                    None => self.begin_turn(None, at_ms, true, out),
                }
                if let Some(t) = self.turn.as_mut() {
                    t.prompted = true;
                    // Only the turn's first prompt is reported, and only until it is.
                    if t.prompt.is_none() && !t.announced {
                        t.prompt = Some(text.clone());
                    }
                    if t.contexted {
                        self.announce(out);
                    }
                }
            }
            Item::AgentMessage { text, .. } => {
                let turn_id = self.turn_id();
                let repeat = self.last_answer.as_ref().is_some_and(|(turn, last, last_ms)| {
                    *turn == turn_id && last == text && (at_ms - last_ms).abs() <= SAME_ANSWER_MS
                });
                if !repeat {
                    self.answers += 1;
                    out.push(Fact::AgentMessage {
                        turn_id: turn_id.clone(),
                        at_ms,
                        text: text.clone(),
                        seq: self.answers,
                    });
                }
                self.last_answer = Some((turn_id, text.clone(), at_ms));
            }
            Item::ToolCall {
                call_id,
                name,
                input,
                awaits_output,
            } => {
                let call = OpenCall {
                    turn_id: self.turn_id(),
                    name: name.clone(),
                    input: input.clone(),
                    called_ms: at_ms,
                };
                match call_id {
                    Some(id) if *awaits_output => self.open_call(id, call, out),
                    _ => out.push(Fact::Tool(call.into_fact(call_id.clone(), None))),
                }
            }
            Item::ToolOutput {
                call_id,
                output,
                success,
            } => {
                // An output whose call is not in this file (history before a fork) is not
                // reported: there is no call to report it with.
                if let Some(call) = call_id.as_ref().and_then(|id| self.calls.remove(id)) {
                    let mut fact = call.into_fact(call_id.clone(), Some(at_ms));
                    fact.output = output.clone();
                    fact.success = *success;
                    out.push(Fact::Tool(fact));
                }
            }
            Item::UsageRecord {
                turn_id,
                response_id,
                usage,
                thread_total,
            } => {
                self.usage_records = true;
                if let Some(id) = turn_id {
                    self.begin_turn(Some(id), at_ms, true, out);
                }
                let derived = match (usage, thread_total) {
                    (Some(u), _) => Some(*u),
                    (None, Some(total)) => Some(delta(total, self.prev_total.as_ref())),
                    (None, None) => None,
                };
                if let Some(total) = thread_total {
                    self.prev_total = Some(*total);
                }
                if let Some(usage) = derived {
                    let key = response_id
                        .clone()
                        .unwrap_or_else(|| total_key(thread_total.as_ref(), &usage));
                    self.usage(at_ms, key, usage, UsageBasis::Record, out);
                }
            }
            Item::TokenCount { total, last } => {
                if total.is_none() && last.is_none() {
                    return;
                }
                if let (Some(t), Some(prev)) = (total, self.prev_total.as_ref()) {
                    if t == prev {
                        return; // the same cumulative total again: nothing new was spent
                    }
                }
                let usage = match (last, total) {
                    (Some(l), _) => (*l, UsageBasis::LastTokenUsage),
                    (None, Some(t)) => (delta(t, self.prev_total.as_ref()), UsageBasis::TotalDelta),
                    (None, None) => return,
                };
                let key = total_key(total.as_ref(), &usage.0);
                self.prev_total = match (total, self.prev_total) {
                    (Some(t), _) => Some(*t),
                    (None, Some(mut p)) => {
                        p.add(&usage.0);
                        Some(p)
                    }
                    (None, None) => Some(usage.0),
                };
                if !self.usage_records {
                    self.usage(at_ms, key, usage.0, usage.1, out);
                }
            }
            Item::Other | Item::Unknown(_) => {}
        }
    }

    /// Announces a turn still waiting for its model (end of the file or of the input).
    pub fn finish(&mut self, out: &mut Vec<Fact>) {
        self.announce(out);
        self.close_calls(out);
    }

    /// Reports every call still waiting, without an output (oldest first).
    fn close_calls(&mut self, out: &mut Vec<Fact>) {
        let mut open: Vec<_> = std::mem::take(&mut self.calls).into_iter().collect();
        open.sort_by_key(|(_, c)| c.called_ms);
        out.extend(
            open.into_iter()
                .map(|(id, c)| Fact::Tool(c.into_fact(Some(id), None))),
        );
    }

    fn open_call(&mut self, id: &str, call: OpenCall, out: &mut Vec<Fact>) {
        if self.calls.len() >= MAX_OPEN_CALLS && !self.calls.contains_key(id) {
            let oldest = self
                .calls
                .iter()
                .min_by_key(|(_, c)| c.called_ms)
                .map(|(k, _)| k.clone());
            if let Some((k, c)) = oldest.and_then(|k| self.calls.remove_entry(&k)) {
                out.push(Fact::Tool(c.into_fact(Some(k), None)));
            }
        }
        self.calls.insert(id.to_owned(), call);
    }

    fn turn_id(&self) -> Option<String> {
        self.turn.as_ref().map(|t| t.id.clone())
    }

    fn turn_is_open(&self) -> bool {
        self.turn.as_ref().is_some_and(|t| !t.ended)
    }

    fn mark_real(&mut self) {
        if let Some(t) = self.turn.as_mut() {
            t.real = true;
        }
    }

    fn begin_turn(&mut self, id: Option<&String>, at_ms: i64, real: bool, out: &mut Vec<Fact>) {
        if let (Some(id), Some(open)) = (id, self.turn.as_ref()) {
            if &open.id == id {
                return; // the same turn, named again by another line
            }
        }
        self.announce(out);
        if self.turn.as_ref().is_some_and(|t| !t.real) {
            self.turns -= 1; // a bare turn_context that nothing followed: not a turn
        }
        self.turns += 1;
        let id = match id {
            Some(id) => id.clone(),
            None => format!("{}#{}", self.thread_id().unwrap_or("thread"), self.turns),
        };
        self.turn = Some(OpenTurn {
            id,
            started_ms: at_ms,
            announced: false,
            real,
            ended: false,
            prompted: false,
            used: false,
            contexted: false,
            prompt: None,
        });
    }

    fn announce(&mut self, out: &mut Vec<Fact>) {
        if let Some(t) = self.turn.as_mut() {
            if !t.announced && t.real {
                t.announced = true;
                out.push(Fact::Turn {
                    turn_id: t.id.clone(),
                    at_ms: t.started_ms,
                    model: self.model.clone(),
                    prompt: t.prompt.take(),
                });
            }
        }
    }

    fn usage(&mut self, at_ms: i64, key: String, usage: TokenUsage, basis: UsageBasis, out: &mut Vec<Fact>) {
        if self.turn_is_open() {
            self.mark_real();
            self.announce(out);
            if let Some(t) = self.turn.as_mut() {
                t.used = true;
            }
        }
        out.push(Fact::Usage(UsageFact {
            at_ms,
            turn_id: self.turn_id(),
            response_key: key,
            model: self.model.clone(),
            usage,
            basis,
        }));
    }
}

impl OpenCall {
    fn into_fact(self, call_id: Option<String>, done_ms: Option<i64>) -> ToolFact {
        ToolFact {
            turn_id: self.turn_id,
            call_id,
            name: self.name,
            input: self.input,
            output: None,
            success: None,
            called_ms: self.called_ms,
            done_ms,
        }
    }
}

/// `total - prev`, figure by figure; a total below the previous one means the counter restarted
/// (a resume in some versions), so the total itself is the new usage.
fn delta(total: &TokenUsage, prev: Option<&TokenUsage>) -> TokenUsage {
    let Some(prev) = prev else { return *total };
    if total.total < prev.total || total.input < prev.input || total.output < prev.output {
        return *total;
    }
    TokenUsage {
        input: total.input - prev.input,
        cached_input: (total.cached_input - prev.cached_input).max(0),
        output: total.output - prev.output,
        reasoning_output: (total.reasoning_output - prev.reasoning_output).max(0),
        total: total.total - prev.total,
    }
}

fn total_key(total: Option<&TokenUsage>, usage: &TokenUsage) -> String {
    match total {
        Some(t) => format!("total:{}:{}:{}", t.total, t.input, t.output),
        None => format!("last:{}:{}:{}", usage.total, usage.input, usage.output),
    }
}

/// `rollout-2025-10-01T14-03-22-0199a1b2-....jsonl` → the trailing UUID (36 characters).
pub fn thread_id_from_file_name(name: &str) -> Option<String> {
    let stem = name.rsplit('/').next().unwrap_or(name);
    let stem = stem
        .strip_suffix(".jsonl.zst")
        .or_else(|| stem.strip_suffix(".jsonl"))
        .unwrap_or(stem);
    let id = stem.get(stem.len().checked_sub(36)?..)?;
    let dashes = id.char_indices().filter(|(_, c)| *c == '-').map(|(i, _)| i);
    let ok = dashes.eq([8, 13, 18, 23]) && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
    ok.then(|| id.to_ascii_lowercase())
}
