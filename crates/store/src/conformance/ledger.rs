//! Conformance of the turn ledger (`crate::ledger`): a turn reported whole (analytics) and the
//! same turn reported per response (OTLP logs, rollouts) count once in either order.

use std::sync::Arc;

use steward_model::{EventKind, NormalizedEvent, Source, TurnReport};

use super::{event, query, tokens, user, Fixture, DAY, MONDAY};
use crate::{Bucket, Grouping, Store, UsageTotals};

/// A turn of thread `t1` reported whole: started at `MONDAY + start` seconds, 30 s long.
fn report(ws: &str, user: &str, turn: &str, start: i64, input: i64) -> NormalizedEvent {
    let mut e = event(
        ws,
        user,
        "t1",
        MONDAY + start,
        tokens(input, 100, 40),
        "CODEX_SERVICE_EXEC",
        "gpt-5-codex",
        9,
    );
    let EventKind::ResponseCompleted(usage) = e.kind else {
        unreachable!("tokens() is a response");
    };
    e.source = Source::Analytics;
    e.dedup_key = format!("analytics-{turn}");
    e.kind = EventKind::TurnUsage(TurnReport {
        usage,
        turn_key: format!("turn-{turn}"),
        ended_ms: e.timestamp_ms + 30_000,
    });
    e
}

/// A response of thread `t1` at `MONDAY + at` seconds (OTLP, no turn id).
fn response(ws: &str, user: &str, at: i64, input: i64) -> NormalizedEvent {
    let mut e = event(
        ws,
        user,
        "t1",
        MONDAY + at,
        tokens(input, 100, 40),
        "CODEX_SERVICE_EXEC",
        "gpt-5-codex",
        1,
    );
    e.source = Source::OtlpLogs;
    e
}

async fn day_totals(store: &Arc<dyn Store>, ws: &str) -> UsageTotals {
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
    page.rows.first().map(|r| r.totals).unwrap_or_default()
}

async fn user_totals(store: &Arc<dyn Store>, ws: &str, user_id: &str) -> UsageTotals {
    let page = store
        .usage_rows(&query(ws, MONDAY, MONDAY + DAY, Bucket::Day, Grouping::User, 10))
        .await
        .expect("rows");
    page.rows
        .iter()
        .find(|r| r.key.user_id == user_id)
        .map(|r| r.totals)
        .unwrap_or_default()
}

fn figures(t: &UsageTotals) -> (i64, i64, i64, i64) {
    (t.turns, t.input_tokens, t.cached_input_tokens, t.output_tokens)
}

pub async fn a_turn_reported_whole_and_per_response_counts_once(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;

    // 1. Alone, a turn report counts: one turn and its tokens, per user and workspace-wide.
    let first = report(&ws, &u, "1", 100, 2_700);
    assert_eq!(
        store
            .insert_events(vec![first.clone()])
            .await
            .expect("report")
            .inserted,
        1
    );
    assert_eq!(figures(&day_totals(&store, &ws).await), (1, 2_700, 100, 40));
    assert_eq!(figures(&user_totals(&store, &ws, &u).await), (1, 2_700, 100, 40));
    let credits = day_totals(&store, &ws).await.credits_micro;
    assert!(credits > 0, "the report is priced");
    // Re-sent: a duplicate, nothing changes.
    assert_eq!(store.insert_events(vec![first]).await.expect("again").inserted, 0);
    assert_eq!(figures(&day_totals(&store, &ws).await), (1, 2_700, 100, 40));

    // 2. The same turn's responses arrive (inside its window, no turn id): the report is taken
    //    back, the responses count, the turn is still one (the prompt's).
    let per_response = vec![
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 100,
            EventKind::UserPrompt,
            "CODEX_SERVICE_EXEC",
            "gpt-5-codex",
            2,
        ),
        response(&ws, &u, 105, 1_200),
        response(&ws, &u, 120, 1_500),
    ];
    assert_eq!(
        store
            .insert_events(per_response)
            .await
            .expect("responses")
            .inserted,
        3
    );
    assert_eq!(figures(&day_totals(&store, &ws).await), (1, 2_700, 200, 80));
    assert_eq!(figures(&user_totals(&store, &ws, &u).await), (1, 2_700, 200, 80));
    let threads = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + DAY,
            Bucket::Day,
            Grouping::Workspace,
            10,
        ))
        .await
        .expect("rows")
        .rows[0]
        .threads;
    assert_eq!(threads, 1);

    // 3. A report of a turn already covered (responses first) is stored, never counted.
    let later = vec![response(&ws, &u, 300, 3_000)];
    store.insert_events(later).await.expect("later response");
    assert_eq!(figures(&day_totals(&store, &ws).await), (1, 5_700, 300, 120));
    assert_eq!(
        store
            .insert_events(vec![report(&ws, &u, "2", 299, 3_000)])
            .await
            .expect("late report")
            .inserted,
        1
    );
    assert_eq!(figures(&day_totals(&store, &ws).await), (1, 5_700, 300, 120));

    // 4. The shared turn key covers a turn whatever its time (a rollout's turn, stamped by
    //    another clock); responses of another thread, or outside the window, do not.
    store
        .insert_events(vec![
            report(&ws, &u, "3", 1_000, 500),
            report(&ws, &u, "4", 2_000, 600),
        ])
        .await
        .expect("two reports");
    assert_eq!(figures(&day_totals(&store, &ws).await), (3, 6_800, 500, 200));
    let mut rollout_turn = event(
        &ws,
        &u,
        "t1",
        MONDAY + 5_000,
        EventKind::UserPrompt,
        "CODEX_SERVICE_EXEC",
        "gpt-5-codex",
        3,
    );
    rollout_turn.source = Source::Rollout;
    rollout_turn.dedup_key = "turn-3".into();
    let mut elsewhere = response(&ws, &u, 2_010, 77);
    elsewhere.thread_id = Some("t2".into());
    let outside = response(&ws, &u, 2_040, 88);
    store
        .insert_events(vec![rollout_turn, elsewhere, outside])
        .await
        .expect("covering and not");
    // Turn 3's report is out (its rollout turn counts the turn instead); turn 4's stays.
    assert_eq!(
        figures(&day_totals(&store, &ws).await),
        (3, 6_800 - 500 + 77 + 88, 500 - 100 + 200, 200 - 40 + 80)
    );
}

pub async fn a_batch_with_both_reports_of_a_turn_counts_it_once(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "b@example.com").await;
    // Report first in the batch, responses after it, and the other way round: same figures.
    let batch = vec![
        report(&ws, &u, "1", 100, 2_700),
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 100,
            EventKind::UserPrompt,
            "CODEX_SERVICE_EXEC",
            "gpt-5-codex",
            2,
        ),
        response(&ws, &u, 105, 1_200),
        response(&ws, &u, 120, 1_500),
        response(&ws, &u, 1_000, 900),
        report(&ws, &u, "2", 1_000, 900),
    ];
    assert_eq!(store.insert_events(batch).await.expect("batch").inserted, 6);
    assert_eq!(figures(&day_totals(&store, &ws).await), (1, 3_600, 300, 120));
}
