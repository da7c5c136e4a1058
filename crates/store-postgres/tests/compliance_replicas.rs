//! Compliance sealing with several replicas: two `PostgresStore`s (two pools, as two Steward
//! processes would have) on one database race to seal the same pending records.

mod common;

use std::sync::Arc;

use steward_model::LogType;
use steward_store::{ChainHeadRow, ComplianceFile, FileQuery, NewAuditRecord, SealCommit, Store, StoreError};
use steward_store_postgres::PostgresStore;
use tokio::sync::Barrier;

fn head(sequence: u64, last_end_time: i64) -> ChainHeadRow {
    ChainHeadRow {
        sequence,
        digest_sha256: format!("{sequence:064x}"),
        last_end_time,
    }
}

fn file(ws: &str, id: &str, end_time: i64, sequence: u64) -> ComplianceFile {
    ComplianceFile {
        id: id.to_owned(),
        workspace_id: ws.to_owned(),
        log_type: LogType::AuditLog,
        end_time,
        path: format!("compliance/{ws}/AUDIT_LOG/{id}.jsonl"),
        file_name: format!("{id}.jsonl"),
        sha256: "0".repeat(64),
        records_root: "1".repeat(64),
        size: 10,
        record_count: 4,
        first_timestamp: None,
        last_timestamp: None,
        digest_sequence: sequence,
        sealed_at_ms: end_time * 1000,
        content_erased_at_ms: None,
        expired_at_ms: None,
    }
}

/// Both replicas seal with the same expected head at once; returns which one won.
async fn race(
    replicas: [&Arc<PostgresStore>; 2],
    ws: &str,
    expected: Option<u64>,
    round: u64,
    consumed: &[i64],
) -> usize {
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for (n, store) in replicas.into_iter().enumerate() {
        let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
        let commit = SealCommit {
            workspace_id: ws.to_owned(),
            expected_head: expected,
            new_head: head(round, round as i64 * 100 + n as i64),
            files: vec![file(
                ws,
                &format!("round-{round}-replica-{n}"),
                round as i64 * 100,
                round,
            )],
            consumed_pending_ids: consumed.to_vec(),
            subjects: Vec::new(),
            expired_file_ids: Vec::new(),
            strip_event_attributes: Vec::new(),
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.commit_seal(commit).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("sealer task"));
    }
    match results.as_slice() {
        [Ok(()), Err(StoreError::Conflict(_))] => 0,
        [Err(StoreError::Conflict(_)), Ok(())] => 1,
        other => panic!("round {round}: exactly one replica must win, the other conflict: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sealings_on_two_replicas_commit_once() {
    let (url, _scratch) = common::fresh_schema().await;
    let a = Arc::new(PostgresStore::connect(&url).await.expect("replica a"));
    let b = Arc::new(PostgresStore::connect(&url).await.expect("replica b"));
    let ws = a.ensure_default_workspace("Default").await.expect("ws").id;
    assert_eq!(b.ensure_default_workspace("Default").await.expect("ws").id, ws);

    // Several rounds, so that both the first sealing (no chain row yet: the primary key decides)
    // and later ones (compare-and-set on the head) are raced.
    let mut expected = None;
    for round in 1..=5u64 {
        for n in 0..4 {
            a.append_audit_record(NewAuditRecord {
                workspace_id: ws.clone(),
                log_type: LogType::AuditLog,
                timestamp_ms: round as i64 * 1000 + n,
                record: format!(r#"{{"round":{round},"n":{n}}}"#),
            })
            .await
            .expect("audit record");
        }
        let pending: Vec<i64> = b
            .pending_records(&ws, 100)
            .await
            .expect("pending")
            .iter()
            .map(|r| r.pending_id)
            .collect();
        assert_eq!(pending.len(), 4, "round {round}: earlier records consumed once");
        let winner = race([&a, &b], &ws, expected, round, &pending).await;

        assert_eq!(
            a.chain_head(&ws).await.expect("head"),
            Some(head(round, round as i64 * 100 + winner as i64)),
            "round {round}: the winner's head"
        );
        assert!(a.pending_records(&ws, 100).await.expect("pending").is_empty());
        let files = b
            .list_compliance_files(&FileQuery {
                workspace_id: ws.clone(),
                log_types: vec![LogType::AuditLog],
                after_end_time: round as i64 * 100,
                limit: 10,
            })
            .await
            .expect("files");
        let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![format!("round-{round}-replica-{winner}")],
            "round {round}"
        );
        expected = Some(round);
    }
    let all = a
        .list_compliance_files(&FileQuery {
            workspace_id: ws.clone(),
            log_types: LogType::ALL.to_vec(),
            after_end_time: 0,
            limit: 100,
        })
        .await
        .expect("all files");
    assert_eq!(all.len(), 5, "one file per round");
    assert!(b
        .pending_workspaces()
        .await
        .expect("pending workspaces")
        .is_empty());
}
