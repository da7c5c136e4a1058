//! Runs the shared store conformance suite against a fresh SQLite file per test.

use std::sync::Arc;

use steward_store::conformance::Fixture;
use steward_store_sqlite::SqliteStore;

async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("steward.db"))
        .await
        .expect("open sqlite store");
    (Arc::new(store), Box::new(dir))
}

steward_store::store_conformance_suite!(fresh);
