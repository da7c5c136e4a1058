//! Sealing against a real SQLite store and a local object store: what a crash between writing
//! a digest and committing it leaves behind, and that sealing recovers from it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use steward_compliance::chain::{digest_path, LogStore, SigningKeyFile};
use steward_core::compliance::audit::{self, Actor};
use steward_core::{ComplianceConfig, ComplianceError, ComplianceService};
use steward_store::Store;
use steward_store_sqlite::SqliteStore;

async fn service(dir: &std::path::Path) -> (ComplianceService, Arc<dyn Store>, String) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("steward.db")).await.unwrap());
    let ws = store.ensure_default_workspace("Default").await.unwrap().id;
    let logs = LogStore::open(&dir.join("compliance").display().to_string()).unwrap();
    let key = SigningKeyFile::load_or_create(dir.join("key.pem")).unwrap();
    let svc = ComplianceService::new(
        store.clone(),
        Arc::new(logs),
        Arc::new(key),
        ComplianceConfig::default(),
    );
    (svc, store, ws)
}

async fn pend(store: &Arc<dyn Store>, ws: &str, n: i64) {
    let actor = Actor::System {
        reason: "test".into(),
    };
    let r = audit::record(
        ws,
        &actor,
        "test.action",
        None,
        Some(serde_json::json!({ "n": n })),
        1_000 + n,
    );
    store.append_audit_record(r).await.unwrap();
}

#[tokio::test]
async fn an_orphan_digest_from_an_interrupted_sealing_is_cleared_and_sealing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, store, ws) = service(dir.path()).await;
    pend(&store, &ws, 1).await;
    assert_eq!(svc.seal_workspace(&ws).await.unwrap().digests, vec![1]);

    // A crash after the objects of sealing #2 were written, before its commit: digest #2
    // exists in the object store, the database head is still #1.
    let orphan = dir.path().join("compliance").join(digest_path(&ws, 2));
    std::fs::write(&orphan, b"{\"not\":\"a digest this database knows\"}").unwrap();
    pend(&store, &ws, 2).await;

    // Fresh orphan: could be another sealer about to commit, so it is left alone.
    assert!(matches!(
        svc.seal_workspace(&ws).await,
        Err(ComplianceError::Conflict(_))
    ));
    assert!(orphan.exists());

    // Old enough to be an orphan: cleared, and the next round seals the still-pending record.
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert!(matches!(
        svc.seal_workspace(&ws).await,
        Err(ComplianceError::Conflict(_))
    ));
    assert!(!orphan.exists(), "the orphan digest was removed");
    let outcome = svc.seal_workspace(&ws).await.unwrap();
    assert_eq!((outcome.digests, outcome.records), (vec![2], 1));
    let report = svc.verify(Some(&ws)).await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.digests_checked, 2);
}

#[tokio::test]
async fn nothing_pending_seals_nothing_and_records_seal_once() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, store, ws) = service(dir.path()).await;
    let none = svc.seal_workspace(&ws).await.unwrap();
    assert!(none.files.is_empty() && none.digests.is_empty());
    for n in 0..5 {
        pend(&store, &ws, n).await;
    }
    let first = svc.seal_workspace(&ws).await.unwrap();
    assert_eq!((first.records, first.files.len()), (5, 1));
    assert!(
        svc.seal_workspace(&ws).await.unwrap().digests.is_empty(),
        "consumed records are not sealed again"
    );
}
