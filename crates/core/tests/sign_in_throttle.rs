//! The password sign-in throttle against a real SQLite store, with a policy short enough to
//! watch a lock end: the lock's length and its end, the count cleared by a success, the count
//! forgotten after its memory, and parallel guesses of one name checked one at a time.

use std::sync::Arc;
use std::time::Duration;

use steward_core::compliance::audit::Actor;
use steward_core::identity::sessions::{SessionConfig, SessionService, SignInError};
use steward_core::identity::throttle::ThrottlePolicy;
use steward_store::Store;
use steward_store_sqlite::SqliteStore;

const PASSWORD: &str = "correct horse battery";

async fn service(policy: ThrottlePolicy) -> (tempfile::TempDir, SessionService, String) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("steward.db")).await.unwrap());
    let ws = store.ensure_default_workspace("Default").await.unwrap();
    let sessions = SessionService::new(
        store,
        SessionConfig {
            throttle: policy,
            ..SessionConfig::default()
        },
    );
    let actor = Actor::System {
        reason: "test".into(),
    };
    sessions
        .create_local_admin(&actor, &ws, "ops", PASSWORD)
        .await
        .unwrap();
    (dir, sessions, ws.id)
}

fn short(first_delay_ms: i64, memory_ms: i64) -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures: 2,
        first_delay_ms,
        max_delay_ms: first_delay_ms * 4,
        memory_ms,
    }
}

async fn attempt(s: &SessionService, ws: &str, password: &str) -> Result<(), SignInError> {
    s.sign_in_with_password(ws, "ops", password).await.map(|_| ())
}

#[tokio::test]
async fn a_lock_ends_after_its_delay_and_a_success_clears_the_count() {
    let (_dir, s, ws) = service(short(1_500, 3_600_000)).await;
    assert!(matches!(
        attempt(&s, &ws, "wrong one").await,
        Err(SignInError::BadCredentials)
    ));
    // One failure, then a success: the count starts again.
    attempt(&s, &ws, PASSWORD).await.expect("right password");
    assert!(matches!(
        attempt(&s, &ws, "wrong one").await,
        Err(SignInError::BadCredentials)
    ));
    assert!(
        matches!(
            attempt(&s, &ws, "wrong two").await,
            Err(SignInError::BadCredentials)
        ),
        "had the success not cleared the count, this would be the third failure"
    );
    // Two failures since the success: locked, even for the right password.
    match attempt(&s, &ws, PASSWORD).await {
        Err(SignInError::Throttled { retry_after_s }) => assert!((1..=2).contains(&retry_after_s)),
        other => panic!("expected a lock, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    attempt(&s, &ws, PASSWORD).await.expect("the lock has ended");
}

#[tokio::test]
async fn each_failure_past_the_free_ones_doubles_the_lock() {
    let (_dir, s, ws) = service(short(1_000, 3_600_000)).await;
    for _ in 0..2 {
        assert!(matches!(
            attempt(&s, &ws, "nope").await,
            Err(SignInError::BadCredentials)
        ));
    }
    assert!(matches!(
        attempt(&s, &ws, "nope").await,
        Err(SignInError::Throttled { .. })
    ));
    // Sleeps are lower bounds, so "the lock is over" never races; "still locked" has ~1 s slack.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    // The first lock (1 s) is over; this failure (the third) locks for 2 s.
    assert!(matches!(
        attempt(&s, &ws, "nope").await,
        Err(SignInError::BadCredentials)
    ));
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert!(
        matches!(
            attempt(&s, &ws, PASSWORD).await,
            Err(SignInError::Throttled { .. })
        ),
        "still locked 1 s into a 2 s lock"
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    attempt(&s, &ws, PASSWORD)
        .await
        .expect("the doubled lock has ended");
}

#[tokio::test]
async fn failures_are_forgotten_after_the_memory() {
    let (_dir, s, ws) = service(short(60_000, 400)).await;
    assert!(matches!(
        attempt(&s, &ws, "nope").await,
        Err(SignInError::BadCredentials)
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(matches!(
        attempt(&s, &ws, "nope").await,
        Err(SignInError::BadCredentials)
    ));
    // Two failures, but the first one was forgotten: not locked.
    attempt(&s, &ws, PASSWORD)
        .await
        .expect("one remembered failure is free");
}

#[tokio::test]
async fn parallel_guesses_of_one_name_are_checked_one_at_a_time() {
    let (_dir, s, ws) = service(short(60_000, 3_600_000)).await;
    let guesses: Vec<_> = (0..8)
        .map(|i| {
            let (s, ws) = (s.clone(), ws.clone());
            tokio::spawn(async move { attempt(&s, &ws, &format!("guess number {i}")).await })
        })
        .collect();
    let mut checked = 0;
    for g in guesses {
        match g.await.expect("task") {
            Err(SignInError::BadCredentials) => checked += 1,
            Err(SignInError::Throttled { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Without the one-at-a-time rule all 8 would be checked before the first failure counts.
    assert!(
        (1..=2).contains(&checked),
        "at most the free failures are checked: {checked}"
    );
}
