//! Codex threads as the Compliance API's Codex tasks, and the places they ran as Codex
//! environments (wire-formats §2.5): storage types and the backend-neutral arithmetic of how
//! ingest maintains them.
//!
//! A thread's row (`codex_threads`) is upserted once per thread per ingested batch, in the
//! batch's transaction, with the sums of that batch ([`ThreadDelta`]). Its environment is the
//! pair (`host.name` of the logs resource, working directory of its turns when traces told
//! it), named by [`environment_id`]. Both halves arrive separately, in either order (Codex
//! exports traces before logs), so after each change the backend reports where the thread now
//! stands ([`ThreadPlace`]) and [`EnvironmentDelta`] says which environment rows to move.

use std::collections::BTreeMap;

use steward_model::NormalizedEvent;

/// A Codex thread as Steward knows it: a Codex task of the Compliance API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexThread {
    pub workspace_id: String,
    /// `conversation.id` as Codex reports it.
    pub thread_id: String,
    /// The Steward user of the thread's first stored event.
    pub user_id: String,
    /// OpenAI `client_id` of the surface (of the first stored event).
    pub client_id: String,
    /// The model named by the latest event that named one.
    pub model: Option<String>,
    /// First and last event time, Unix ms.
    pub created_ms: i64,
    pub updated_ms: i64,
    /// `codex.user_prompt` events.
    pub turns: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
    /// `host.name` of the first event that had one.
    pub host_name: Option<String>,
    /// Working directory of its turns (`run_sampling_request` spans), when traces told it.
    pub cwd: Option<String>,
    /// Its environment ([`environment_id`]), when the host is known.
    pub environment_id: Option<String>,
}

/// Where a threads listing continues: after this `(updated_ms, thread_id)`, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCursor {
    pub updated_ms: i64,
    pub thread_id: String,
}

/// Threads of a workspace, newest `updated_ms` first (ties by descending thread id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadQuery {
    pub workspace_id: String,
    pub limit: u32,
    pub after: Option<ThreadCursor>,
}

/// A place Codex threads ran: one host and working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexEnvironment {
    pub workspace_id: String,
    pub id: String,
    pub host_name: String,
    pub cwd: Option<String>,
    /// When its first thread started, Unix ms.
    pub created_ms: i64,
    /// The user of its first thread.
    pub creator_id: Option<String>,
    /// Threads in it now (0 when its threads moved on, e.g. from "host, directory unknown" to
    /// "host, directory"; such an environment is not listed).
    pub task_count: i64,
}

/// Where an environments listing continues: after this environment, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentCursor {
    pub created_ms: i64,
    pub id: String,
}

/// Environments of a workspace that hold threads, newest `created_ms` first (ties by
/// descending id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentQuery {
    pub workspace_id: String,
    pub limit: u32,
    pub after: Option<EnvironmentCursor>,
}

/// What one traces request says about where turns ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceCwds {
    pub workspace_id: String,
    /// `(trace id, cwd)` of `run_sampling_request` spans: the working directory of the turn
    /// whose trace it is.
    pub cwds: Vec<(String, String)>,
    /// Trace ids of the request's turn spans (stored with `insert_turn_spans` first): a cwd
    /// that arrived before its turn span is linked to its thread when the span comes.
    pub turn_trace_ids: Vec<String>,
}

impl TraceCwds {
    pub fn is_empty(&self) -> bool {
        self.cwds.is_empty() && self.turn_trace_ids.is_empty()
    }
}

/// The id of the environment of `host_name` and `cwd` in a workspace: `env_` and the first
/// 24 hex digits of SHA-256(workspace, NUL, host, NUL, cwd or ""). Stable, so an environment
/// keeps its id whichever replica or batch first saw it. Migration 0006 computes the same id
/// in SQL, so both must change together (or not at all).
pub fn environment_id(workspace_id: &str, host_name: &str, cwd: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(workspace_id.as_bytes());
    h.update([0u8]);
    h.update(host_name.as_bytes());
    h.update([0u8]);
    h.update(cwd.unwrap_or("").as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(28);
    out.push_str("env_");
    for b in &digest[..12] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What one batch of newly inserted events adds to one thread's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadDelta {
    pub workspace_id: String,
    pub thread_id: String,
    /// Of the batch's earliest event of the thread.
    pub user_id: String,
    pub client_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The model of the batch's latest event that named one, and that event's time.
    pub model: Option<String>,
    pub model_ms: i64,
    pub turns: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
    /// Of the batch's earliest event that had one.
    pub host_name: Option<String>,
    host_ms: i64,
}

impl ThreadDelta {
    /// One delta per `(workspace, thread)` of the (newly inserted) events, sorted by that key
    /// (so concurrent writers lock thread rows in one order). Events without a thread add
    /// nothing.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a NormalizedEvent>) -> Vec<ThreadDelta> {
        let mut by_thread: BTreeMap<(&'a str, &'a str), ThreadDelta> = BTreeMap::new();
        for e in events {
            let Some(thread_id) = e.thread_id.as_deref() else {
                continue;
            };
            let ts = e.timestamp_ms;
            let d = by_thread
                .entry((e.workspace_id.as_str(), thread_id))
                .or_insert_with(|| ThreadDelta {
                    workspace_id: e.workspace_id.clone(),
                    thread_id: thread_id.to_owned(),
                    user_id: e.user_id.clone(),
                    client_id: e.client_id.clone(),
                    created_ms: ts,
                    updated_ms: ts,
                    model: None,
                    model_ms: i64::MIN,
                    turns: 0,
                    input_tokens: 0,
                    cached_input_tokens: 0,
                    output_tokens: 0,
                    reasoning_output_tokens: 0,
                    host_name: None,
                    host_ms: i64::MAX,
                });
            if ts < d.created_ms {
                d.created_ms = ts;
                d.user_id.clone_from(&e.user_id);
                d.client_id.clone_from(&e.client_id);
            }
            d.updated_ms = d.updated_ms.max(ts);
            if let Some(model) = &e.model {
                if ts >= d.model_ms {
                    d.model = Some(model.clone());
                    d.model_ms = ts;
                }
            }
            if let Some(host) = &e.host_name {
                if ts < d.host_ms {
                    d.host_name = Some(host.clone());
                    d.host_ms = ts;
                }
            }
            if matches!(e.kind, steward_model::EventKind::UserPrompt) {
                d.turns += 1;
            }
            // Per-response figures only: a turn-level report (analytics) may be taken back by
            // the turn ledger, which does not reach this table.
            if let steward_model::EventKind::ResponseCompleted(u) = &e.kind {
                d.input_tokens += u.input;
                d.cached_input_tokens += u.cached_input;
                d.output_tokens += u.output;
                d.reasoning_output_tokens += u.reasoning_output;
            }
        }
        by_thread.into_values().collect()
    }
}

/// A thread's row right after a write changed it, as the backend read it back (`RETURNING`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadPlace {
    pub host_name: Option<String>,
    pub cwd: Option<String>,
    /// The environment the row names now (before this write's [`EnvironmentDelta`]).
    pub environment_id: Option<String>,
    pub created_ms: Option<i64>,
    pub user_id: Option<String>,
}

/// An environment row to insert, or to update by adding `add_tasks` threads and moving
/// `created_ms` earlier (with its creator) when this one is earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentUpsert {
    pub host_name: String,
    pub cwd: Option<String>,
    pub created_ms: i64,
    pub creator_id: Option<String>,
    pub add_tasks: i64,
}

/// The environment rows a write must change after its thread rows, keyed (and sorted, so
/// concurrent writers lock them in one order) by `(workspace, environment id)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentDelta {
    /// Threads whose `environment_id` changes: `(workspace, thread) -> new environment`.
    pub threads: BTreeMap<(String, String), Option<String>>,
    pub upserts: BTreeMap<(String, String), EnvironmentUpsert>,
    /// Environments that lose threads, and how many.
    pub departures: BTreeMap<(String, String), i64>,
}

impl EnvironmentDelta {
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty() && self.upserts.is_empty() && self.departures.is_empty()
    }

    /// Notes where a thread stands after a write. `batch_created_ms` is the earliest event
    /// time the write added (logs), so an environment can start earlier when its thread does.
    pub fn observe(
        &mut self,
        workspace_id: &str,
        thread_id: &str,
        place: &ThreadPlace,
        batch_created_ms: Option<i64>,
    ) {
        let Some(host) = place.host_name.as_deref() else {
            return;
        };
        let target = environment_id(workspace_id, host, place.cwd.as_deref());
        let moved = place.environment_id.as_deref() != Some(target.as_str());
        let earlier = batch_created_ms.is_some() && batch_created_ms == place.created_ms;
        if !moved && !earlier {
            return;
        }
        if moved {
            self.threads.insert(
                (workspace_id.to_owned(), thread_id.to_owned()),
                Some(target.clone()),
            );
            if let Some(old) = &place.environment_id {
                *self
                    .departures
                    .entry((workspace_id.to_owned(), old.clone()))
                    .or_insert(0) += 1;
            }
        }
        let created_ms = place.created_ms.unwrap_or_default();
        let upsert = self
            .upserts
            .entry((workspace_id.to_owned(), target))
            .or_insert_with(|| EnvironmentUpsert {
                host_name: host.to_owned(),
                cwd: place.cwd.clone(),
                created_ms,
                creator_id: place.user_id.clone(),
                add_tasks: 0,
            });
        if created_ms < upsert.created_ms {
            upsert.created_ms = created_ms;
            upsert.creator_id.clone_from(&place.user_id);
        }
        if moved {
            upsert.add_tasks += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_model::{EventKind, Source, TokenUsage};

    fn ev(
        thread: Option<&str>,
        ts: i64,
        kind: EventKind,
        model: Option<&str>,
        host: Option<&str>,
    ) -> NormalizedEvent {
        NormalizedEvent {
            dedup_key: format!("{ts}"),
            workspace_id: "ws".into(),
            user_id: format!("user-{ts}"),
            source: Source::OtlpLogs,
            event_name: "codex.test".into(),
            kind,
            thread_id: thread.map(str::to_owned),
            trace_id: None,
            turn_id: None,
            timestamp_ms: ts,
            client_id: "CODEX_CLI".into(),
            model: model.map(str::to_owned),
            credits_micro: 0,
            usd_micro: 0,
            rate_card_version: String::new(),
            raw: "{}".into(),
            host_name: host.map(str::to_owned),
        }
    }

    #[test]
    fn environment_ids_are_stable_and_distinguish_every_part() {
        let a = environment_id("ws", "host", Some("/src"));
        assert_eq!(a.len(), 28);
        assert!(a.starts_with("env_"));
        assert_eq!(a, environment_id("ws", "host", Some("/src")));
        for other in [
            environment_id("ws2", "host", Some("/src")),
            environment_id("ws", "host2", Some("/src")),
            environment_id("ws", "host", None),
            environment_id("ws", "hos", Some("t/src")),
        ] {
            assert_ne!(a, other);
        }
        // Known value: the SQL of migration 0006 must compute the same.
        assert_eq!(environment_id("ws", "host", None), "env_bbbf75308d7bc7e338c8198c");
        assert_eq!(a, "env_c88e4fbe3d119d060ac95be6");
    }

    #[test]
    fn one_delta_per_thread_with_first_user_latest_model_and_sums() {
        let usage = TokenUsage {
            input: 100,
            cached_input: 40,
            output: 10,
            reasoning_output: 3,
            total: 110,
        };
        let events = [
            ev(Some("t1"), 20, EventKind::UserPrompt, Some("m-old"), None),
            ev(
                Some("t1"),
                30,
                EventKind::ResponseCompleted(usage),
                Some("m-new"),
                Some("h2"),
            ),
            ev(Some("t1"), 10, EventKind::ConversationStart, None, Some("h1")),
            ev(Some("t0"), 5, EventKind::UserPrompt, None, None),
            ev(None, 1, EventKind::UserPrompt, None, Some("h")),
        ];
        let d = ThreadDelta::from_events(&events);
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].thread_id.as_str(), d[0].turns, d[0].model.as_deref()),
            ("t0", 1, None)
        );
        let t1 = &d[1];
        assert_eq!((t1.created_ms, t1.updated_ms), (10, 30));
        assert_eq!(t1.user_id, "user-10");
        assert_eq!((t1.model.as_deref(), t1.model_ms), (Some("m-new"), 30));
        assert_eq!(t1.host_name.as_deref(), Some("h1"));
        assert_eq!(t1.turns, 1);
        assert_eq!(
            (
                t1.input_tokens,
                t1.cached_input_tokens,
                t1.output_tokens,
                t1.reasoning_output_tokens
            ),
            (100, 40, 10, 3)
        );
    }

    #[test]
    fn a_thread_moves_between_environments_once() {
        let mut delta = EnvironmentDelta::default();
        let unknown_dir = environment_id("ws", "h", None);
        // Logs first: host known, no directory yet.
        let place = ThreadPlace {
            host_name: Some("h".into()),
            created_ms: Some(10),
            user_id: Some("u".into()),
            ..Default::default()
        };
        delta.observe("ws", "t", &place, Some(10));
        assert_eq!(
            delta.threads[&("ws".into(), "t".into())],
            Some(unknown_dir.clone())
        );
        assert_eq!(delta.upserts[&("ws".into(), unknown_dir.clone())].add_tasks, 1);
        // Then traces: the directory; the thread leaves the host-only environment.
        let mut moved = EnvironmentDelta::default();
        let place = ThreadPlace {
            cwd: Some("/src".into()),
            environment_id: Some(unknown_dir.clone()),
            ..place
        };
        moved.observe("ws", "t", &place, None);
        let with_dir = environment_id("ws", "h", Some("/src"));
        assert_eq!(moved.departures[&("ws".into(), unknown_dir)], 1);
        assert_eq!(moved.upserts[&("ws".into(), with_dir.clone())].add_tasks, 1);
        // A later batch of the same thread changes nothing.
        let mut later = EnvironmentDelta::default();
        let place = ThreadPlace {
            environment_id: Some(with_dir),
            ..place
        };
        later.observe("ws", "t", &place, Some(50));
        assert!(later.is_empty());
        // Without a host there is no environment.
        let mut none = EnvironmentDelta::default();
        none.observe("ws", "t", &ThreadPlace::default(), Some(1));
        assert!(none.is_empty());
    }
}
