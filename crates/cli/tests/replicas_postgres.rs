//! Two `steward serve` replicas on one PostgreSQL database both ingest and both answer queries
//! consistently; a batch delivered to both (an exporter retrying against another replica)
//! counts once. Needs STEWARD_TEST_POSTGRES_URL (scripts/test provides it); never skips.

mod common;

use common::*;
use steward_test_support::steward::StewardServer;
use steward_test_support::usage_api::UsageApi;

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_share_one_postgres_database() {
    let url = fresh_postgres_database().await;
    let bin = steward_bin();
    let dir_a = tempfile::tempdir().expect("dir");
    let dir_b = tempfile::tempdir().expect("dir");
    let args = ["--database-url", url.as_str()];
    // Both start at once: migrations and the default workspace must be created exactly once.
    let (a, b) = tokio::join!(
        StewardServer::spawn(&bin, dir_a.path(), &args, &[]),
        StewardServer::spawn(&bin, dir_b.path(), &args, &[])
    );
    let (a, b) = (a.expect("replica a starts"), b.expect("replica b starts"));
    assert_eq!(
        a.default_workspace_id().expect("ws"),
        b.default_workspace_id().expect("ws")
    );
    let ws = a.default_workspace_id().expect("ws");

    a.add_user("alice@example.com").expect("user");
    b.add_user("bob@example.com").expect("user");
    let alice = b
        .user_ingest_token("alice@example.com")
        .expect("token created on b, used on a");
    let bob = a.user_ingest_token("bob@example.com").expect("token");
    let key = a.analytics_key().expect("key");

    let mut expected_alice = 0;
    let mut expected_bob = 0;
    for n in 0..10i64 {
        let (replica, token, thread) = if n % 2 == 0 {
            (&a, &alice, "alice-thread")
        } else {
            (&b, &bob, "bob-thread")
        };
        let tokens = Tokens {
            input: 100 + n,
            cached: 10,
            output: 5,
        };
        if n % 2 == 0 {
            expected_alice += tokens.input - 10
        } else {
            expected_bob += tokens.input - 10
        }
        let body = protobuf(&request(
            codex_resource(),
            turn_records(thread, now_ms(), tokens, "gpt-5-codex"),
        ));
        let (status, _, resp) = post(
            &replica.logs_endpoint(),
            Some(token),
            "application/x-protobuf",
            None,
            body,
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    }
    // The same batch to both replicas concurrently: counted once.
    let shared = protobuf(&request(
        codex_resource(),
        turn_records(
            "alice-thread",
            now_ms(),
            Tokens {
                input: 1000,
                cached: 0,
                output: 1,
            },
            "gpt-5-codex",
        ),
    ));
    let (url_a, url_b) = (a.logs_endpoint(), b.logs_endpoint());
    let ((s1, _, _), (s2, _, _)) = tokio::join!(
        post(
            &url_a,
            Some(&alice),
            "application/x-protobuf",
            None,
            shared.clone()
        ),
        post(&url_b, Some(&alice), "application/x-protobuf", None, shared)
    );
    assert_eq!((s1, s2), (200, 200));
    expected_alice += 1000;

    let rows_a = UsageApi::new(a.base_url(), key.clone())
        .expect("client")
        .rows_around_now(&ws, &[])
        .await
        .expect("rows from a");
    let rows_b = UsageApi::new(b.base_url(), key)
        .expect("client")
        .rows_around_now(&ws, &[])
        .await
        .expect("rows from b");
    assert_eq!(rows_a, rows_b, "both replicas answer the same");
    let by_email = |email: &str| {
        rows_a
            .iter()
            .find(|r| r["actor"]["email"] == email)
            .unwrap_or_else(|| panic!("row for {email}: {rows_a:?}"))["totals"]
            .clone()
    };
    let (ta, tb) = (by_email("alice@example.com"), by_email("bob@example.com"));
    assert_eq!(
        (ta["turns"].as_i64(), ta["uncached_text_input_tokens"].as_i64()),
        (Some(6), Some(expected_alice))
    );
    assert_eq!(
        (tb["turns"].as_i64(), tb["uncached_text_input_tokens"].as_i64()),
        (Some(5), Some(expected_bob))
    );
    assert_eq!(
        (ta["threads"].as_i64(), tb["threads"].as_i64()),
        (Some(1), Some(1))
    );
}
