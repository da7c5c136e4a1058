//! Runs the shared store conformance suite against a fresh schema per test on the PostgreSQL
//! server named by `STEWARD_TEST_POSTGRES_URL` (required; see tests/common/mod.rs).

mod common;

use std::sync::Arc;

use steward_store::conformance::Fixture;
use steward_store_postgres::PostgresStore;

async fn fresh() -> Fixture {
    let (url, scratch) = common::fresh_schema().await;
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect postgres store");
    (Arc::new(store), Box::new(scratch))
}

steward_store::store_conformance_suite!(fresh);
