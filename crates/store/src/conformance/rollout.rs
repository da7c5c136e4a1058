//! Conformance of where shipped rollout files stand (`RolloutStore`).

use super::Fixture;
use crate::{RolloutFileRow, TurnSpan};

fn file_row(ws: &str, file_key: &str, acked_offset: i64, state_json: &str) -> RolloutFileRow {
    RolloutFileRow {
        workspace_id: ws.to_owned(),
        file_key: file_key.to_owned(),
        machine: "laptop-1".to_owned(),
        path: "sessions/2026/11/16/rollout-a.jsonl".to_owned(),
        thread_id: Some("thread-1".to_owned()),
        acked_offset,
        state_json: state_json.to_owned(),
        lines: acked_offset / 10,
        problems: 1,
        unknown: 2,
        updated_at_ms: 1_794_787_200_000 + acked_offset,
    }
}

pub async fn rollout_files_round_trip_and_never_move_back(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    assert_eq!(store.rollout_file(&ws, "key-1").await.expect("missing"), None);

    let first = file_row(&ws, "key-1", 100, r#"{"at":100}"#);
    assert_eq!(store.save_rollout_file(&first).await.expect("save 100"), 100);
    assert_eq!(
        store.rollout_file(&ws, "key-1").await.expect("read 100"),
        Some(first.clone()),
        "every field round-trips"
    );

    // Moving forward replaces every field, even those that may change (path after archiving,
    // a thread id learnt later).
    let further = RolloutFileRow {
        path: "archived_sessions/rollout-a.jsonl".to_owned(),
        thread_id: None,
        ..file_row(&ws, "key-1", 250, r#"{"at":250}"#)
    };
    assert_eq!(store.save_rollout_file(&further).await.expect("save 250"), 250);
    assert_eq!(
        store.rollout_file(&ws, "key-1").await.expect("read 250"),
        Some(further.clone())
    );

    // A stale writer changes nothing and learns the stored offset.
    let stale = file_row(&ws, "key-1", 120, r#"{"at":120}"#);
    assert_eq!(store.save_rollout_file(&stale).await.expect("save stale"), 250);
    assert_eq!(
        store.rollout_file(&ws, "key-1").await.expect("read after stale"),
        Some(further.clone()),
        "a stale save leaves the stored row alone"
    );

    // The same offset again is accepted (a retried request).
    assert_eq!(
        store.save_rollout_file(&further).await.expect("save 250 again"),
        250
    );

    // The same file key in another workspace is another file.
    assert_eq!(store.rollout_file(&ws2, "key-1").await.expect("other ws"), None);
    let other = file_row(&ws2, "key-1", 40, r#"{"at":40}"#);
    assert_eq!(store.save_rollout_file(&other).await.expect("save other ws"), 40);
    assert_eq!(
        store.rollout_file(&ws2, "key-1").await.expect("read other ws"),
        Some(other)
    );
    assert_eq!(
        store
            .rollout_file(&ws, "key-1")
            .await
            .expect("first ws untouched"),
        Some(further)
    );
    assert_eq!(store.rollout_file(&ws, "key-2").await.expect("other key"), None);
}

pub async fn turn_for_trace_reads_turn_spans(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let span = |ws: &str, trace: &str, turn: &str, thread: Option<&str>| TurnSpan {
        workspace_id: ws.to_owned(),
        trace_id: trace.to_owned(),
        turn_id: turn.to_owned(),
        thread_id: thread.map(str::to_owned),
    };
    let spans = vec![
        span(&ws, "trace-1", "turn-1", Some("t1")),
        span(&ws, "trace-2", "turn-2", None),
        span(&ws2, "trace-3", "turn-3", Some("t3")),
    ];
    assert_eq!(store.insert_turn_spans(spans).await.expect("spans"), 3);

    assert_eq!(
        store
            .turn_for_trace(&ws, "trace-1")
            .await
            .expect("trace-1")
            .as_deref(),
        Some("turn-1")
    );
    assert_eq!(
        store
            .turn_for_trace(&ws, "trace-2")
            .await
            .expect("trace-2")
            .as_deref(),
        Some("turn-2")
    );
    assert_eq!(
        store.turn_for_trace(&ws, "trace-unknown").await.expect("unknown"),
        None
    );
    // trace-3's span is in the other workspace; trace-1's is not in that one.
    assert_eq!(
        store.turn_for_trace(&ws, "trace-3").await.expect("other ws span"),
        None
    );
    assert_eq!(
        store.turn_for_trace(&ws2, "trace-1").await.expect("ws2 trace-1"),
        None
    );
    assert_eq!(
        store
            .turn_for_trace(&ws2, "trace-3")
            .await
            .expect("ws2 trace-3")
            .as_deref(),
        Some("turn-3")
    );
}
