//! Sightings: every report of a turn or a model response by every source, kept even when the
//! fact itself was a duplicate (another source had reported it first and counted it). They
//! are what the coverage report reads (which source saw what), and what relates a turn two
//! per-response sources key differently.
//!
//! Most facts need no relating: a response is keyed by its thread and figures and a turn by
//! its thread and turn id, whichever source reports it ([`NormalizedEvent::dedup_key`]). The
//! one exception is an OTLP `codex.user_prompt` whose trace's turn span never arrived (traces
//! not exported, or lost): it is keyed by its content, so the rollout's report of the same
//! turn would count a second turn. Such a prompt *pairs* with the nearest prompt of another
//! per-response source in the same thread within [`PAIR_SLACK_MS`] that has no report from
//! its own source yet (and does not name a different turn id); it then takes that fact's key
//! and is a duplicate like any other. Sightings remember each source's own key, so re-sending
//! a paired report finds the same fact again instead of pairing anew.
//!
//! Backends persist sightings in the event batch's transaction and answer "which unpaired
//! prompts of this thread are near this time"; the decisions are here.

use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};

/// How far apart two sources' times of one turn may be. Both are written by the same Codex
/// process at the turn's start (a rollout's `turn_context`, OTLP's `codex.user_prompt`): tens
/// of milliseconds apart in practice. Consecutive turns of one thread are at least a model
/// call apart, and a pair is the *nearest* unpaired candidate, so a generous slack is safe.
pub const PAIR_SLACK_MS: i64 = 2_000;

/// How far in time one source's report of a fact can be from another source's (the bound of
/// "has this source reported this fact yet", which reads reports by time): reports of one
/// turn are tens of milliseconds apart, and a pair at most [`PAIR_SLACK_MS`].
pub const REPORT_SLACK_MS: i64 = 5 * PAIR_SLACK_MS;

/// What a sighting reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SightingKind {
    /// A turn reported by its prompt (OTLP `codex.user_prompt`, a rollout's turn).
    Turn,
    /// One model response and its tokens.
    Response,
    /// A whole turn and its summed tokens (Codex's analytics `codex_turn_event`).
    TurnReport,
}

impl SightingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SightingKind::Turn => "turn",
            SightingKind::Response => "response",
            SightingKind::TurnReport => "turn_report",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "turn" => Some(SightingKind::Turn),
            "response" => Some(SightingKind::Response),
            "turn_report" => Some(SightingKind::TurnReport),
            _ => None,
        }
    }
}

/// One source's report of one fact, as backends store it (`fact_sightings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting<'a> {
    pub workspace_id: &'a str,
    pub source: Source,
    /// The event's own key: what makes a re-sent report the same sighting.
    pub own_key: &'a str,
    /// The fact it reports: the key it was counted (or found a duplicate) under. A turn
    /// report's fact is its turn's shared key.
    pub fact_key: String,
    pub kind: SightingKind,
    pub thread_id: &'a str,
    pub user_id: &'a str,
    pub ts_ms: i64,
    pub turn_id: Option<&'a str>,
    /// Tokens reported (zero for a turn).
    pub usage: TokenUsage,
}

impl<'a> Sighting<'a> {
    /// The sighting of an event that reports a turn or a response of a thread, under its own
    /// key (a backend replaces `fact_key` when [`pairable`] events pair).
    pub fn of(e: &'a NormalizedEvent) -> Option<Self> {
        let thread_id = e.thread_id.as_deref()?;
        let (kind, usage, fact_key) = match (&e.kind, e.source) {
            (_, Source::Demo) => return None,
            (EventKind::UserPrompt, _) => (SightingKind::Turn, TokenUsage::default(), e.dedup_key.clone()),
            (EventKind::ResponseCompleted(u), _) => (SightingKind::Response, *u, e.dedup_key.clone()),
            (EventKind::TurnUsage(r), _) => (SightingKind::TurnReport, r.usage, r.turn_key.clone()),
            _ => return None,
        };
        Some(Sighting {
            workspace_id: &e.workspace_id,
            source: e.source,
            own_key: &e.dedup_key,
            fact_key,
            kind,
            thread_id,
            user_id: &e.user_id,
            ts_ms: e.timestamp_ms,
            turn_id: e.turn_id.as_deref(),
            usage,
        })
    }

    /// Whether this is a prompt that paired with another source's report of its turn: a
    /// duplicate of that fact (claimed under its key, never inserted). A turn report's fact is
    /// its turn's key, yet the report itself is its own event.
    pub fn paired(&self) -> bool {
        self.kind == SightingKind::Turn && self.fact_key != self.own_key
    }

    /// The times (inclusive, Unix ms) in which a prompt of another source may pair with this one.
    pub fn pair_window(&self) -> (i64, i64) {
        (self.ts_ms - PAIR_SLACK_MS, self.ts_ms + PAIR_SLACK_MS)
    }
}

/// Whether an event is a per-response source's turn that may pair with another source's
/// report of the same turn (see the module documentation).
pub fn pairable(e: &NormalizedEvent) -> bool {
    matches!(e.kind, EventKind::UserPrompt)
        && matches!(e.source, Source::OtlpLogs | Source::Rollout)
        && e.thread_id.is_some()
}

/// Another source's turn of the same thread inside a [`Sighting::pair_window`] that has no
/// report from the pairing source yet, as a backend found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairCandidate {
    pub fact_key: String,
    pub ts_ms: i64,
    pub turn_id: Option<String>,
}

/// The fact a turn sighting pairs with: the nearest candidate in time, unless both name their
/// turn ids (then they are different turns: the same turn would have had the same key).
pub fn pick_pair<'c>(s: &Sighting<'_>, candidates: &'c [PairCandidate]) -> Option<&'c str> {
    candidates
        .iter()
        .filter(|c| s.turn_id.is_none() || c.turn_id.is_none())
        .min_by_key(|c| ((c.ts_ms - s.ts_ms).abs(), c.ts_ms))
        .map(|c| c.fact_key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(turn_id: Option<&str>) -> Sighting<'_> {
        Sighting {
            workspace_id: "ws",
            source: Source::OtlpLogs,
            own_key: "own",
            fact_key: "own".into(),
            kind: SightingKind::Turn,
            thread_id: "t",
            user_id: "u",
            ts_ms: 10_000,
            turn_id,
            usage: TokenUsage::default(),
        }
    }

    fn candidate(key: &str, ts_ms: i64, turn: Option<&str>) -> PairCandidate {
        PairCandidate {
            fact_key: key.into(),
            ts_ms,
            turn_id: turn.map(str::to_owned),
        }
    }

    #[test]
    fn the_nearest_candidate_wins_and_two_turn_ids_never_pair() {
        // Two turns 350 ms apart (as with a fast model): each prompt finds its own.
        let near = [
            candidate("a", 9_940, Some("t-a")),
            candidate("b", 10_290, Some("t-b")),
        ];
        assert_eq!(pick_pair(&sighting(None), &near), Some("a"));
        let later = Sighting {
            ts_ms: 10_330,
            ..sighting(None)
        };
        assert_eq!(pick_pair(&later, &near), Some("b"));
        // A prompt sure of its turn does not pair with another source's different turn...
        assert_eq!(pick_pair(&sighting(Some("t-c")), &near), None);
        // ...but does with one that was not sure of its own.
        let unsure = [candidate("c", 10_050, None)];
        assert_eq!(pick_pair(&sighting(Some("t-c")), &unsure), Some("c"));
        assert_eq!(pick_pair(&sighting(None), &[]), None);
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            SightingKind::Turn,
            SightingKind::Response,
            SightingKind::TurnReport,
        ] {
            assert_eq!(SightingKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(SightingKind::parse("other"), None);
    }
}
