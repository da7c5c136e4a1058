//! The turn ledger: how a turn reported whole by a turn-level source (Codex's analytics
//! `codex_turn_event`, [`EventKind::TurnUsage`]) and the same turn reported response by
//! response (OTLP logs, shipped rollouts) count once, whichever arrives first.
//!
//! Per-response sources win: they are exact per model call and carry the compliance content.
//! A turn report is counted (one turn and its tokens in the rollups) only while nothing else
//! covers its turn; when a per-response report of that turn arrives later, the ledger takes
//! the report's contribution back out of the same rollup rows. A report that arrives after
//! the turn is covered is stored and never counted. Both directions run inside the event
//! batch's transaction, so the rollups never hold a turn twice.
//!
//! "Covers" means: an event of the same thread that is a turn (`UserPrompt`) or a response
//! (`ResponseCompleted`) from another source, and either keyed by the turn's shared key (an
//! OTLP prompt with its trace's turn id, a rollout's turn) or timed inside the turn's window.
//! The window is what recognises OTLP logs exported without traces; Codex's analytics clock
//! is in whole seconds, hence [`WINDOW_SLACK_MS`].
//!
//! Backends persist `turn_reports` rows and answer two questions (is this report's turn
//! already covered; which counted reports of these threads are there); the decisions are here.

use std::collections::BTreeSet;

use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};

use crate::query::UsageTotals;
use crate::rollup::{RollupDelta, UsageDailyKey, ALL_USERS};

/// Slack on both ends of a turn's window: Codex's analytics times are whole seconds, and
/// per-response sources stamp their records a little before and after the turn's bounds.
pub const WINDOW_SLACK_MS: i64 = 2_000;

/// One turn-level report as the ledger keeps it: what it contributes to the rollups when it is
/// counted, so that it can be taken back exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnReportRow {
    pub workspace_id: String,
    /// The turn's key shared by every source ([`steward_model::TurnReport::turn_key`]).
    pub turn_key: String,
    pub thread_id: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub user_id: String,
    pub client_id: String,
    pub model: String,
    pub rate_card_version: String,
    pub usage: TokenUsage,
    pub credits_micro: i64,
    pub usd_micro: i64,
    /// Whether its turn and tokens are in the rollups now.
    pub counted: bool,
}

impl TurnReportRow {
    /// The ledger row of a turn-level report (not yet decided: `counted` is false).
    pub fn of(e: &NormalizedEvent) -> Option<Self> {
        let (EventKind::TurnUsage(report), Some(thread)) = (&e.kind, &e.thread_id) else {
            return None;
        };
        Some(TurnReportRow {
            workspace_id: e.workspace_id.clone(),
            turn_key: report.turn_key.clone(),
            thread_id: thread.clone(),
            started_ms: e.timestamp_ms,
            ended_ms: report.ended_ms.max(e.timestamp_ms),
            user_id: e.user_id.clone(),
            client_id: e.client_id.clone(),
            model: e.model.clone().unwrap_or_default(),
            rate_card_version: e.rate_card_version.clone(),
            usage: report.usage,
            credits_micro: e.credits_micro,
            usd_micro: e.usd_micro,
            counted: false,
        })
    }

    /// The times (inclusive, Unix ms) in which another source's report of the thread covers
    /// this turn.
    pub fn window(&self) -> (i64, i64) {
        (self.started_ms - WINDOW_SLACK_MS, self.ended_ms + WINDOW_SLACK_MS)
    }

    /// Whether `e` (already known to be a [`covers_turns`] event) covers this turn.
    pub fn covered_by(&self, e: &NormalizedEvent) -> bool {
        let (from, to) = self.window();
        e.workspace_id == self.workspace_id
            && e.thread_id.as_deref() == Some(self.thread_id.as_str())
            && (e.dedup_key == self.turn_key || (from..=to).contains(&e.timestamp_ms))
    }
}

/// Whether an event is a per-response source's report of part of a turn, which covers (and
/// takes precedence over) a turn-level report of the same turn.
pub fn covers_turns(e: &NormalizedEvent) -> bool {
    e.source != Source::Analytics
        && e.thread_id.is_some()
        && matches!(e.kind, EventKind::UserPrompt | EventKind::ResponseCompleted(_))
}

/// The batch's [`covers_turns`] events and the (workspace, thread) pairs they touch, whose
/// counted reports a backend must load to take back the covered ones.
pub fn coverers<'a>(
    inserted: &[&'a NormalizedEvent],
) -> (Vec<&'a NormalizedEvent>, BTreeSet<(&'a str, &'a str)>) {
    let coverers: Vec<&NormalizedEvent> = inserted.iter().copied().filter(|e| covers_turns(e)).collect();
    let threads = coverers
        .iter()
        .filter_map(|e| Some((e.workspace_id.as_str(), e.thread_id.as_deref()?)))
        .collect();
    (coverers, threads)
}

/// What a batch changes in the ledger, as a backend's `settle` found it.
#[derive(Debug, Default)]
pub struct Settled<'a> {
    /// Event keys of the batch's reports that are not counted (their turn was covered already,
    /// or the ledger holds it from another report): see [`counts`].
    pub uncounted: Vec<&'a str>,
    /// Counted reports the batch covers, now uncounted: see [`RollupDelta::retract`].
    pub retracted: Vec<TurnReportRow>,
}

/// The `kind` values of [`covers_turns`] events, as stored (for backends' queries).
pub const COVERING_KINDS: [&str; 2] = ["user_prompt", "response_completed"];

/// Whether an inserted event counts in the rollups: everything except the turn-level reports
/// the ledger decided not to count (by event key: their turn was covered already, or the
/// ledger holds it from another report).
pub fn counts(e: &NormalizedEvent, uncounted_event_keys: &[&str]) -> bool {
    match &e.kind {
        EventKind::TurnUsage(_) => !uncounted_event_keys.contains(&e.dedup_key.as_str()),
        _ => true,
    }
}

impl RollupDelta {
    /// Takes counted turn reports back out: one turn and their tokens off the same usage rows
    /// (per user and workspace-wide) they were added to. Thread and active-user counters stay:
    /// the covering source's events keep the thread and the user active.
    pub fn retract(&mut self, rows: &[TurnReportRow]) {
        use steward_model::time::{day_start, week_start};
        for r in rows {
            let secs = r.started_ms.div_euclid(1000);
            let key = UsageDailyKey {
                workspace_id: r.workspace_id.clone(),
                day: day_start(secs),
                week: week_start(secs),
                user_id: r.user_id.clone(),
                client_id: r.client_id.clone(),
                model: r.model.clone(),
                rate_card_version: r.rate_card_version.clone(),
            };
            let minus = UsageTotals {
                turns: -1,
                input_tokens: -r.usage.input,
                cached_input_tokens: -r.usage.cached_input,
                output_tokens: -r.usage.output,
                reasoning_output_tokens: -r.usage.reasoning_output,
                credits_micro: -r.credits_micro,
                usd_micro: -r.usd_micro,
            };
            let workspace_key = UsageDailyKey {
                user_id: ALL_USERS.to_owned(),
                ..key.clone()
            };
            self.usage.entry(key).or_default().add(&minus);
            self.usage.entry(workspace_key).or_default().add(&minus);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_model::TurnReport;

    fn event(source: Source, kind: EventKind, ts: i64, key: &str) -> NormalizedEvent {
        NormalizedEvent {
            dedup_key: key.to_owned(),
            workspace_id: "ws".into(),
            user_id: "u".into(),
            source,
            event_name: "e".into(),
            kind,
            thread_id: Some("t".into()),
            trace_id: None,
            turn_id: None,
            timestamp_ms: ts,
            client_id: "CODEX_SERVICE_EXEC".into(),
            model: Some("gpt-5-codex".into()),
            credits_micro: 70,
            usd_micro: 7,
            rate_card_version: "v1".into(),
            raw: "{}".into(),
            host_name: None,
        }
    }

    fn usage(input: i64) -> TokenUsage {
        TokenUsage {
            input,
            cached_input: 1,
            output: 2,
            reasoning_output: 1,
            total: input + 2,
        }
    }

    #[test]
    fn windows_keys_and_sources_decide_coverage() {
        let report = event(
            Source::Analytics,
            EventKind::TurnUsage(TurnReport {
                usage: usage(100),
                turn_key: "turn-key".into(),
                ended_ms: 20_000,
            }),
            10_000,
            "analytics-key",
        );
        let row = TurnReportRow::of(&report).expect("a row");
        assert_eq!(row.window(), (8_000, 22_000));
        let response = |ts| event(Source::OtlpLogs, EventKind::ResponseCompleted(usage(5)), ts, "r");
        assert!(row.covered_by(&response(15_000)));
        assert!(row.covered_by(&response(8_000)) && row.covered_by(&response(22_000)));
        assert!(!row.covered_by(&response(7_999)) && !row.covered_by(&response(22_001)));
        // The shared turn key covers whenever it was stamped.
        assert!(row.covered_by(&event(Source::Rollout, EventKind::UserPrompt, 99_000, "turn-key")));
        let mut other_thread = response(15_000);
        other_thread.thread_id = Some("t2".into());
        assert!(!row.covered_by(&other_thread));
        assert!(covers_turns(&response(1)));
        assert!(!covers_turns(&report), "a turn report covers no other");
        assert!(!covers_turns(&event(Source::OtlpLogs, EventKind::Other, 1, "o")));
        assert!(!counts(&report, &["analytics-key"]) && counts(&report, &["turn-key"]));
    }

    #[test]
    fn a_retraction_is_the_exact_negative_of_the_count() {
        let report = event(
            Source::Analytics,
            EventKind::TurnUsage(TurnReport {
                usage: usage(100),
                turn_key: "k".into(),
                ended_ms: 86_400_000 + 5,
            }),
            86_400_000 + 1,
            "a",
        );
        let mut delta = RollupDelta::from_events([&report]);
        delta.retract(&[TurnReportRow::of(&report).unwrap()]);
        assert_eq!(delta.usage.len(), 2, "the user's row and the workspace row");
        for (k, sums) in &delta.usage {
            assert_eq!(sums, &UsageTotals::default(), "{k:?} nets to zero");
        }
    }
}
