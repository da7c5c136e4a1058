//! Conformance of sightings (`crate::sightings`, `crate::coverage`): a turn that OTLP reports
//! without a turn id and a rollout reports with one counts once in either order, and every
//! source's reports stay visible to the coverage report.

use std::sync::Arc;

use steward_model::{EventKind, NormalizedEvent, Source, TurnReport};

use super::{event, query, tokens, user, Fixture, DAY, MONDAY};
use crate::sightings::SightingKind;
use crate::{Bucket, CoverageRow, DayWindow, Grouping, Store};

const CLIENT: &str = "CODEX_SERVICE_EXEC";
const MODEL: &str = "gpt-5-codex";
/// Milliseconds into the test day.
const T: i64 = MONDAY * 1000 + 3_600_000;

/// A rollout's turn of `thread`, sure of its turn id, at `T + at_ms`.
fn rollout_turn(ws: &str, user: &str, thread: &str, turn: &str, at_ms: i64) -> NormalizedEvent {
    let mut e = event(ws, user, thread, MONDAY, EventKind::UserPrompt, CLIENT, MODEL, 0);
    e.source = Source::Rollout;
    e.dedup_key = format!("turn-{thread}-{turn}");
    e.turn_id = Some(turn.to_owned());
    e.timestamp_ms = T + at_ms;
    e
}

/// OTLP's `codex.user_prompt` of `thread` at `T + at_ms`: keyed by its content, no turn id
/// unless `turn` is given (then keyed by it, as when its trace's turn span had arrived).
fn otlp_prompt(ws: &str, user: &str, thread: &str, at_ms: i64, turn: Option<&str>) -> NormalizedEvent {
    let mut e = event(ws, user, thread, MONDAY, EventKind::UserPrompt, CLIENT, MODEL, 0);
    e.dedup_key = match turn {
        Some(t) => format!("turn-{thread}-{t}"),
        None => format!("otlp-prompt-{thread}-{at_ms}"),
    };
    e.turn_id = turn.map(str::to_owned);
    e.timestamp_ms = T + at_ms;
    e
}

/// A response of `thread` at `T + at_ms`, keyed by its figures like every source keys it.
fn response(ws: &str, user: &str, thread: &str, at_ms: i64, input: i64, source: Source) -> NormalizedEvent {
    let mut e = event(ws, user, thread, MONDAY, tokens(input, 100, 40), CLIENT, MODEL, 0);
    e.source = source;
    e.dedup_key = format!("response-{thread}-{input}");
    e.timestamp_ms = T + at_ms;
    e
}

/// Codex's analytics report of a whole turn of `thread` at `T + at_ms`.
fn turn_report(ws: &str, user: &str, thread: &str, turn: &str, at_ms: i64, input: i64) -> NormalizedEvent {
    let mut e = response(ws, user, thread, at_ms, input, Source::Analytics);
    let EventKind::ResponseCompleted(usage) = e.kind else {
        unreachable!("a response");
    };
    e.dedup_key = format!("analytics-{thread}-{turn}");
    e.turn_id = Some(turn.to_owned());
    e.kind = EventKind::TurnUsage(TurnReport {
        usage,
        turn_key: format!("turn-{thread}-{turn}"),
        ended_ms: e.timestamp_ms + 1_000,
    });
    e
}

async fn turns(store: &Arc<dyn Store>, ws: &str) -> i64 {
    let page = store
        .usage_rows(&query(
            ws,
            MONDAY,
            MONDAY + DAY,
            Bucket::Day,
            Grouping::Workspace,
            10,
        ))
        .await
        .expect("rows");
    page.rows.first().map_or(0, |r| r.totals.turns)
}

async fn insert(store: &Arc<dyn Store>, events: Vec<NormalizedEvent>) -> u64 {
    store.insert_events(events).await.expect("insert").inserted
}

pub async fn a_turn_two_sources_key_differently_counts_once(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;

    // Two turns 350 ms apart (a fast model), shipped from the rollout first.
    let r1 = rollout_turn(&ws, &u, "t1", "turn-1", 0);
    let r2 = rollout_turn(&ws, &u, "t1", "turn-2", 350);
    assert_eq!(insert(&store, vec![r1, r2]).await, 2);
    assert_eq!(turns(&store, &ws).await, 2);

    // OTLP's prompts of those turns arrive later, out of order and without turn ids: each pairs
    // with its nearest turn, and nothing new counts.
    assert_eq!(
        insert(&store, vec![otlp_prompt(&ws, &u, "t1", 400, None)]).await,
        0
    );
    let first = otlp_prompt(&ws, &u, "t1", 60, None);
    assert_eq!(insert(&store, vec![first.clone()]).await, 0);
    assert_eq!(turns(&store, &ws).await, 2);
    // Re-sent: still the same turn, not paired anew with another.
    assert_eq!(insert(&store, vec![first]).await, 0);
    assert_eq!(turns(&store, &ws).await, 2);

    // The other order: OTLP first (a turn the rollout has not shipped yet), then the rollout.
    // The earlier turns have their OTLP report already, so this one is new...
    assert_eq!(
        insert(&store, vec![otlp_prompt(&ws, &u, "t1", 760, None)]).await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 3);
    // ...and the rollout's report of it pairs with it.
    assert_eq!(
        insert(&store, vec![rollout_turn(&ws, &u, "t1", "turn-3", 700)]).await,
        0
    );
    assert_eq!(turns(&store, &ws).await, 3);

    // Both sure of their turn ids, and different: two turns, however close.
    assert_eq!(
        insert(&store, vec![rollout_turn(&ws, &u, "t1", "turn-4", 5_000)]).await,
        1
    );
    assert_eq!(
        insert(&store, vec![otlp_prompt(&ws, &u, "t1", 5_050, Some("turn-5"))]).await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 5);
    // The same turn id from both: one turn (the shared key), in one batch too.
    assert_eq!(
        insert(
            &store,
            vec![
                rollout_turn(&ws, &u, "t1", "turn-6", 9_000),
                otlp_prompt(&ws, &u, "t1", 9_040, Some("turn-6")),
            ]
        )
        .await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 6);

    // Both reports in one batch, without a shared key: the second pairs with the first.
    assert_eq!(
        insert(
            &store,
            vec![
                rollout_turn(&ws, &u, "t1", "turn-7", 20_000),
                otlp_prompt(&ws, &u, "t1", 20_030, None),
            ]
        )
        .await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 7);

    // Another thread, or too far apart in time: no pairing.
    assert_eq!(insert(&store, vec![otlp_prompt(&ws, &u, "t2", 0, None)]).await, 1);
    assert_eq!(
        insert(&store, vec![otlp_prompt(&ws, &u, "t1", 30_000, None)]).await,
        1
    );
    assert_eq!(
        insert(&store, vec![rollout_turn(&ws, &u, "t1", "turn-8", 32_500)]).await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 10);

    // A whole-turn report names the turn's key without taking it: the rollout's report of that
    // turn, arriving later, is new and replaces it (one turn either way).
    assert_eq!(
        insert(&store, vec![turn_report(&ws, &u, "t3", "turn-1", 0, 900)]).await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 11);
    assert_eq!(
        insert(&store, vec![rollout_turn(&ws, &u, "t3", "turn-1", 10)]).await,
        1
    );
    assert_eq!(turns(&store, &ws).await, 11);
}

fn window(ws: &str) -> DayWindow {
    DayWindow {
        workspace_id: ws.to_owned(),
        start_day: MONDAY,
        end_day: MONDAY + DAY,
    }
}

fn figures(rows: &[CoverageRow], thread: &str, source: Source, kind: SightingKind) -> (i64, i64) {
    rows.iter()
        .find(|r| r.thread_id == thread && r.source == source.as_str() && r.kind == kind)
        .map_or((0, 0), |r| (r.reports, r.input_tokens))
}

pub async fn coverage_rows_hold_every_sources_reports(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let other_ws = store.create_workspace("Other").await.expect("other ws").id;
    let u = user(&store, &ws, "a@example.com").await;

    // One turn of two responses, reported by all three sources (OTLP first).
    let mut otlp = vec![otlp_prompt(&ws, &u, "t1", 0, None)];
    otlp.push(response(&ws, &u, "t1", 500, 1_200, Source::OtlpLogs));
    otlp.push(response(&ws, &u, "t1", 900, 1_500, Source::OtlpLogs));
    assert_eq!(insert(&store, otlp.clone()).await, 3);
    let mut rollout = vec![rollout_turn(&ws, &u, "t1", "turn-1", -40)];
    rollout.push(response(&ws, &u, "t1", 480, 1_200, Source::Rollout));
    rollout.push(response(&ws, &u, "t1", 880, 1_500, Source::Rollout));
    assert_eq!(
        insert(&store, rollout.clone()).await,
        0,
        "all duplicates of OTLP's facts"
    );
    let report = turn_report(&ws, &u, "t1", "turn-1", 0, 2_700);
    insert(&store, vec![report.clone()]).await;
    // Re-sending any of them adds no sighting.
    insert(&store, otlp).await;
    insert(&store, rollout).await;
    insert(&store, vec![report]).await;
    // A thread only the rollout reported, and a sighting in another workspace.
    insert(&store, vec![rollout_turn(&ws, &u, "t2", "turn-9", 0)]).await;
    insert(&store, vec![rollout_turn(&other_ws, &u, "t1", "turn-1", 0)]).await;

    let rows = store.coverage_rows(&window(&ws)).await.expect("coverage");
    assert!(rows.iter().all(|r| r.user_id == u && r.day == MONDAY), "{rows:?}");
    assert_eq!(figures(&rows, "t1", Source::OtlpLogs, SightingKind::Turn), (1, 0));
    assert_eq!(
        figures(&rows, "t1", Source::OtlpLogs, SightingKind::Response),
        (2, 2_700)
    );
    assert_eq!(figures(&rows, "t1", Source::Rollout, SightingKind::Turn), (1, 0));
    assert_eq!(
        figures(&rows, "t1", Source::Rollout, SightingKind::Response),
        (2, 2_700)
    );
    assert_eq!(
        figures(&rows, "t1", Source::Analytics, SightingKind::TurnReport),
        (1, 2_700)
    );
    assert_eq!(figures(&rows, "t2", Source::Rollout, SightingKind::Turn), (1, 0));
    assert_eq!(rows.len(), 6, "{rows:?}");
    let rollout_responses = rows
        .iter()
        .find(|r| r.thread_id == "t1" && r.source == "rollout" && r.kind == SightingKind::Response)
        .expect("row");
    assert_eq!(
        (
            rollout_responses.cached_input_tokens,
            rollout_responses.output_tokens,
            rollout_responses.reasoning_output_tokens
        ),
        (200, 80, 40)
    );
    // Days outside the window hold nothing.
    let before = DayWindow {
        start_day: MONDAY - DAY,
        end_day: MONDAY,
        ..window(&ws)
    };
    assert!(store.coverage_rows(&before).await.expect("coverage").is_empty());
}

/// A tool call and an answer are facts too: OTLP's `codex.tool_result` and the rollout's call
/// share the call's key, and a rollout may write one answer twice, milliseconds apart. Each is
/// stored, and queued for the compliance log, once, whatever the times say.
pub async fn tool_calls_and_answers_reported_twice_are_recorded_once(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;
    let fact = |name: &str, key: &str, source: Source, at_ms: i64| {
        let mut e = event(&ws, &u, "t1", MONDAY, EventKind::Other, CLIENT, MODEL, 0);
        e.event_name = name.to_owned();
        e.dedup_key = key.to_owned();
        e.source = source;
        e.timestamp_ms = T + at_ms;
        e
    };
    let otlp_tool = fact("codex.tool_result", "tool-t1-call_1", Source::OtlpLogs, 0);
    let rollout_tool = fact("codex.tool_result", "tool-t1-call_1", Source::Rollout, 37);
    let answer = fact(steward_model::AGENT_MESSAGE, "answer-t1-1", Source::Rollout, 50);
    let answer_again = fact(steward_model::AGENT_MESSAGE, "answer-t1-1", Source::Rollout, 52);
    assert_eq!(insert(&store, vec![otlp_tool, answer]).await, 2);
    assert_eq!(insert(&store, vec![rollout_tool, answer_again]).await, 0);
    let pending = store.pending_records(&ws, 100).await.expect("pending");
    assert_eq!(pending.len(), 2, "{pending:?}");
}
