//! The coverage report's reads: what each source (OTLP logs, shipped rollouts, Codex's
//! analytics events) reported per user, day and thread, from the sightings
//! ([`crate::sightings`]), and where sources that reported the same thread disagree.
//!
//! Counting takes each turn and response once whoever reported it; this report is the other
//! view, every source's own figures side by side, so an admin can see that, say, a machine's
//! OTLP export lost turns its rollouts still have.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::sightings::SightingKind;
use crate::{DayWindow, StoreResult};

/// One source's sightings of one kind for one user, day (UTC) and thread, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageRow {
    pub user_id: String,
    /// Start of the UTC day (Unix seconds).
    pub day: i64,
    pub thread_id: String,
    /// The source as stored (`steward_model::Source::as_str`).
    pub source: String,
    pub kind: SightingKind,
    pub reports: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
}

#[async_trait]
pub trait CoverageStore: Send + Sync {
    /// Sightings in the window's days, summed per user, day, thread, source and kind, sorted
    /// by those.
    async fn coverage_rows(&self, window: &DayWindow) -> StoreResult<Vec<CoverageRow>>;
}

/// What one source reported: turns (prompts, or whole-turn reports) and tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceFigures {
    pub turns: i64,
    /// Model responses reported one by one (per-response sources only).
    pub responses: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
}

impl SourceFigures {
    fn add(&mut self, r: &CoverageRow) {
        match r.kind {
            SightingKind::Turn => self.turns += r.reports,
            SightingKind::Response => self.responses += r.reports,
            SightingKind::TurnReport => self.turns += r.reports,
        }
        self.input_tokens += r.input_tokens;
        self.cached_input_tokens += r.cached_input_tokens;
        self.output_tokens += r.output_tokens;
        self.reasoning_output_tokens += r.reasoning_output_tokens;
    }

    fn tokens(&self) -> (i64, i64, i64, i64) {
        (
            self.input_tokens,
            self.cached_input_tokens,
            self.output_tokens,
            self.reasoning_output_tokens,
        )
    }

    fn has_tokens(&self) -> bool {
        self.tokens() != (0, 0, 0, 0)
    }
}

/// One user's day: every source's figures and how many threads they touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageDay {
    pub user_id: String,
    pub day: i64,
    pub threads: i64,
    /// By source name, sorted.
    pub sources: BTreeMap<String, SourceFigures>,
}

/// How sources that reported the same thread disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DisagreementKind {
    /// They count a different number of turns.
    TurnsDiffer,
    /// One reported tokens for the thread and another none at all.
    TokensMissing,
    /// Both reported tokens, and the totals differ.
    TokensDiffer,
}

impl DisagreementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DisagreementKind::TurnsDiffer => "turns_differ",
            DisagreementKind::TokensMissing => "tokens_missing",
            DisagreementKind::TokensDiffer => "tokens_differ",
        }
    }
}

/// A thread (of one user, over the whole window) that two or more sources reported differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub user_id: String,
    pub thread_id: String,
    /// The first day any source reported the thread in the window.
    pub first_day: i64,
    pub kinds: Vec<DisagreementKind>,
    pub sources: BTreeMap<String, SourceFigures>,
}

/// Figures by source name.
type BySource = BTreeMap<String, SourceFigures>;

/// Per user and day, every source's figures (sorted by user, then day).
pub fn days(rows: &[CoverageRow]) -> Vec<CoverageDay> {
    let mut by_day: BTreeMap<(&str, i64), (BySource, Vec<&str>)> = BTreeMap::new();
    for r in rows {
        let (sources, threads) = by_day.entry((&r.user_id, r.day)).or_default();
        sources.entry(r.source.clone()).or_default().add(r);
        threads.push(&r.thread_id);
    }
    by_day
        .into_iter()
        .map(|((user, day), (sources, mut threads))| {
            threads.sort_unstable();
            threads.dedup();
            CoverageDay {
                user_id: user.to_owned(),
                day,
                threads: threads.len() as i64,
                sources,
            }
        })
        .collect()
}

/// The threads whose sources disagree over the whole window (a thread may run past midnight,
/// and sources may stamp one turn on either side of it), sorted by user, then thread.
pub fn disagreements(rows: &[CoverageRow]) -> Vec<Disagreement> {
    let mut by_thread: BTreeMap<(&str, &str), (i64, BySource)> = BTreeMap::new();
    for r in rows {
        let (first_day, sources) = by_thread
            .entry((&r.user_id, &r.thread_id))
            .or_insert((r.day, BTreeMap::new()));
        *first_day = (*first_day).min(r.day);
        sources.entry(r.source.clone()).or_default().add(r);
    }
    by_thread
        .into_iter()
        .filter_map(|((user, thread), (first_day, sources))| {
            let kinds = kinds_of(&sources);
            (!kinds.is_empty()).then(|| Disagreement {
                user_id: user.to_owned(),
                thread_id: thread.to_owned(),
                first_day,
                kinds,
                sources,
            })
        })
        .collect()
}

fn kinds_of(sources: &BTreeMap<String, SourceFigures>) -> Vec<DisagreementKind> {
    let figures: Vec<&SourceFigures> = sources.values().collect();
    let mut kinds = Vec::new();
    if figures.windows(2).any(|w| w[0].turns != w[1].turns) {
        kinds.push(DisagreementKind::TurnsDiffer);
    }
    let with_tokens = figures.iter().filter(|f| f.has_tokens()).count();
    if with_tokens > 0 && with_tokens < figures.len() {
        kinds.push(DisagreementKind::TokensMissing);
    } else if figures.windows(2).any(|w| w[0].tokens() != w[1].tokens()) {
        kinds.push(DisagreementKind::TokensDiffer);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        user: &str,
        day: i64,
        thread: &str,
        source: &str,
        kind: SightingKind,
        n: i64,
        input: i64,
    ) -> CoverageRow {
        CoverageRow {
            user_id: user.into(),
            day,
            thread_id: thread.into(),
            source: source.into(),
            kind,
            reports: n,
            input_tokens: input,
            cached_input_tokens: input / 2,
            output_tokens: input / 10,
            reasoning_output_tokens: 0,
        }
    }

    const D: i64 = 86_400;

    #[test]
    fn agreeing_sources_sum_per_day_and_raise_nothing() {
        use SightingKind::*;
        let rows = [
            row("u", D, "t1", "analytics_events", TurnReport, 2, 3_000),
            row("u", D, "t1", "otlp_logs", Response, 3, 3_000),
            row("u", D, "t1", "otlp_logs", Turn, 2, 0),
            row("u", D, "t1", "rollout", Response, 3, 3_000),
            row("u", D, "t1", "rollout", Turn, 2, 0),
            row("u", D, "t2", "rollout", Turn, 1, 0),
            row("u", D, "t2", "rollout", Response, 1, 500),
            row("v", 2 * D, "t3", "otlp_logs", Turn, 1, 0),
        ];
        let days = days(&rows);
        assert_eq!(days.len(), 2);
        assert_eq!(
            (days[0].user_id.as_str(), days[0].day, days[0].threads),
            ("u", D, 2)
        );
        let rollout = days[0].sources["rollout"];
        assert_eq!(
            (rollout.turns, rollout.responses, rollout.input_tokens),
            (3, 4, 3_500)
        );
        assert_eq!(days[0].sources["analytics_events"].turns, 2);
        assert_eq!(days[1].sources.keys().collect::<Vec<_>>(), ["otlp_logs"]);
        assert!(disagreements(&rows).is_empty(), "t2 and t3 have one source each");
    }

    #[test]
    fn differences_are_named_over_the_whole_window() {
        use SightingKind::*;
        let rows = [
            // t1: OTLP lost the second turn (and its tokens) that the rollout has.
            row("u", D, "t1", "otlp_logs", Turn, 1, 0),
            row("u", D, "t1", "otlp_logs", Response, 1, 1_000),
            row("u", D, "t1", "rollout", Turn, 2, 0),
            row("u", D, "t1", "rollout", Response, 2, 1_800),
            // t2: a turn with tokens in the rollout and none in OTLP.
            row("u", D, "t2", "otlp_logs", Turn, 1, 0),
            row("u", D, "t2", "rollout", Turn, 1, 0),
            row("u", D, "t2", "rollout", Response, 1, 700),
            // t3 runs past midnight: the analytics turn on day 1, the responses on day 2.
            row("u", D, "t3", "analytics_events", TurnReport, 1, 900),
            row("u", 2 * D, "t3", "otlp_logs", Turn, 1, 0),
            row("u", 2 * D, "t3", "otlp_logs", Response, 1, 900),
        ];
        let found = disagreements(&rows);
        let summary: Vec<(&str, Vec<DisagreementKind>, i64)> = found
            .iter()
            .map(|d| (d.thread_id.as_str(), d.kinds.clone(), d.first_day))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "t1",
                    vec![DisagreementKind::TurnsDiffer, DisagreementKind::TokensDiffer],
                    D
                ),
                ("t2", vec![DisagreementKind::TokensMissing], D),
            ]
        );
        assert_eq!(found[0].sources["rollout"].input_tokens, 1_800);
    }
}
