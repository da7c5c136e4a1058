//! The conformance suite every `Store` backend must pass, written once.
//!
//! A backend invokes [`store_conformance_suite!`](crate::store_conformance_suite) with an async
//! factory returning a fresh, empty store (plus a guard that keeps its resources alive). The
//! macro expands into one `#[tokio::test]` per check, so one failure never hides the others.

use std::any::Any;
use std::sync::Arc;

use steward_model::{ApiScope, CredentialKind, EventKind, NormalizedEvent, Source, TokenUsage, UserKind};

use crate::{Bucket, Grouping, NewCredential, NewUser, Store, UsageCursor, UsageQuery};

/// A fresh store and whatever must live as long as it (temp dir, scratch database).
pub type Fixture = (Arc<dyn Store>, Box<dyn Any + Send>);

const DAY: i64 = 86_400;
/// Monday 2026-11-16T00:00:00Z.
const MONDAY: i64 = 1_794_787_200;

/// Expands into one test per conformance check, each on a fresh store from `$factory`.
#[macro_export]
macro_rules! store_conformance_suite {
    ($factory:path) => {
        $crate::store_conformance_suite!(@tests $factory;
            default_workspace_is_created_once,
            users_are_upserted_by_principal_key,
            credentials_are_found_by_hash_only,
            inserting_events_is_idempotent,
            per_user_daily_rows_sum_tokens_turns_and_threads,
            week_buckets_count_distinct_threads,
            workspace_grouping_sums_users,
            pages_are_keyset_paginated_without_gaps,
            window_excludes_outside_days,
            workspaces_are_isolated,
            events_without_usage_are_stored_but_not_counted,
            distinct_threads_hold_across_batches_and_grains,
        );
    };
    (@tests $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = $factory().await;
                $crate::conformance::$name(fixture).await;
            }
        )*
    };
}

// Positional on purpose: test tables read best one event per line.
#[allow(clippy::too_many_arguments)]
fn event(
    ws: &str,
    user: &str,
    thread: &str,
    ts_secs: i64,
    kind: EventKind,
    client: &str,
    model: &str,
    n: u32,
) -> NormalizedEvent {
    let (credits_micro, usd_micro, version) = match &kind {
        EventKind::ResponseCompleted(u) => (u.input * 10, u.output * 100, "test-1".to_owned()),
        _ => (0, 0, String::new()),
    };
    NormalizedEvent {
        dedup_key: format!("{ws}-{user}-{thread}-{ts_secs}-{}-{n}", kind.as_str()),
        workspace_id: ws.to_owned(),
        user_id: user.to_owned(),
        source: Source::OtlpLogs,
        event_name: "codex.test".to_owned(),
        kind,
        thread_id: Some(thread.to_owned()),
        timestamp_ms: ts_secs * 1000 + 123,
        client_id: client.to_owned(),
        model: Some(model.to_owned()),
        credits_micro,
        usd_micro,
        rate_card_version: version,
        raw: "{}".to_owned(),
    }
}

fn tokens(input: i64, cached: i64, output: i64) -> EventKind {
    EventKind::ResponseCompleted(TokenUsage {
        input,
        cached_input: cached,
        output,
        reasoning_output: output / 2,
        total: input + output,
    })
}

async fn user(store: &Arc<dyn Store>, ws: &str, email: &str) -> String {
    let new = NewUser {
        workspace_id: ws.to_owned(),
        email: Some(email.to_owned()),
        name: None,
        account_id: None,
        kind: UserKind::Person,
        principal_key: format!("email:{email}"),
    };
    store.upsert_user(&new).await.expect("upsert user").id
}

fn query(ws: &str, start: i64, end: i64, bucket: Bucket, grouping: Grouping, limit: u32) -> UsageQuery {
    UsageQuery {
        workspace_id: ws.to_owned(),
        start_day: start,
        end_day: end,
        bucket,
        grouping,
        limit,
        after: None,
    }
}

pub async fn default_workspace_is_created_once(fixture: Fixture) {
    let store = fixture.0;
    let (a, b) = tokio::join!(
        store.ensure_default_workspace("Default"),
        store.ensure_default_workspace("Other")
    );
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(
        a.id, b.id,
        "concurrent first starts must agree on one default workspace"
    );
    assert!(a.is_default);
    let again = store.ensure_default_workspace("Default").await.expect("third");
    assert_eq!(again.id, a.id);
    let all = store.list_workspaces().await.expect("list");
    assert_eq!(all.iter().filter(|w| w.is_default).count(), 1);
    assert_eq!(
        store.get_workspace(&a.id).await.expect("get").map(|w| w.id),
        Some(a.id.clone())
    );
    assert_eq!(
        store.get_workspace("no-such-id").await.expect("get missing"),
        None
    );
}

pub async fn users_are_upserted_by_principal_key(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let first = user(&store, &ws, "dana@example.com").await;
    let second = user(&store, &ws, "dana@example.com").await;
    assert_eq!(first, second);
    assert!(first.starts_with("user-"), "user ids look like OpenAI's: {first}");
    let found = store
        .find_user_by_email(&ws, "dana@example.com")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found.id, first);
    assert_eq!(found.kind, UserKind::Person);
    assert_eq!(
        store
            .find_user_by_email(&ws, "nobody@example.com")
            .await
            .expect("find"),
        None
    );
    let host = NewUser {
        workspace_id: ws.clone(),
        email: None,
        name: Some("unattributed (build-7)".to_owned()),
        account_id: None,
        kind: UserKind::Unattributed,
        principal_key: "host:build-7".to_owned(),
    };
    let h = store.upsert_user(&host).await.expect("host user");
    assert_eq!(h.kind, UserKind::Unattributed);
    assert_eq!(store.list_users(&ws).await.expect("list").len(), 2);
}

pub async fn credentials_are_found_by_hash_only(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let uid = user(&store, &ws, "eve@example.com").await;
    let key = NewCredential {
        workspace_id: ws.clone(),
        name: "bi".to_owned(),
        kind: CredentialKind::ApiKey {
            scopes: vec![ApiScope::AnalyticsRead],
        },
        prefix: "stw_ak_abcd".to_owned(),
        secret_hash: "a".repeat(64),
    };
    let token = NewCredential {
        workspace_id: ws.clone(),
        name: "laptop".to_owned(),
        kind: CredentialKind::UserIngest { user_id: uid.clone() },
        prefix: "stw_it_abcd".to_owned(),
        secret_hash: "b".repeat(64),
    };
    let k = store.create_credential(&key).await.expect("key");
    let t = store.create_credential(&token).await.expect("token");
    let found = store
        .find_credential_by_hash(&"a".repeat(64))
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found.id, k.id);
    assert!(found.has_scope(ApiScope::AnalyticsRead));
    assert!(!found.has_scope(ApiScope::ComplianceRead));
    let found_t = store
        .find_credential_by_hash(&"b".repeat(64))
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(found_t.id, t.id);
    assert_eq!(found_t.kind, CredentialKind::UserIngest { user_id: uid });
    assert_eq!(
        store
            .find_credential_by_hash(&"c".repeat(64))
            .await
            .expect("find"),
        None
    );
    assert_eq!(store.list_credentials(&ws).await.expect("list").len(), 2);
}

pub async fn inserting_events_is_idempotent(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;
    let batch = vec![
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 100,
            EventKind::UserPrompt,
            "CODEX_CLI",
            "gpt-5-codex",
            0,
        ),
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 101,
            tokens(1000, 200, 50),
            "CODEX_CLI",
            "gpt-5-codex",
            0,
        ),
    ];
    let first = store.insert_events(batch.clone()).await.expect("insert");
    assert_eq!((first.inserted, first.duplicates), (2, 0));
    let q = query(&ws, MONDAY, MONDAY + DAY, Bucket::Day, Grouping::User, 100);
    let before = store.usage_rows(&q).await.expect("rows");
    let again = store.insert_events(batch.clone()).await.expect("re-insert");
    assert_eq!((again.inserted, again.duplicates), (0, 2));
    // A batch mixing one old and one new event inserts only the new one.
    let mut mixed = batch.clone();
    mixed.push(event(
        &ws,
        &u,
        "t1",
        MONDAY + 102,
        EventKind::UserPrompt,
        "CODEX_CLI",
        "gpt-5-codex",
        1,
    ));
    let third = store.insert_events(mixed.clone()).await.expect("mixed");
    assert_eq!((third.inserted, third.duplicates), (1, 2));
    let after = store.usage_rows(&q).await.expect("rows");
    assert_eq!(
        before.rows[0].totals.input_tokens,
        after.rows[0].totals.input_tokens
    );
    assert_eq!(after.rows[0].totals.turns, 2);
    assert_eq!(store.count_events(&ws).await.expect("count"), 3);
}

pub async fn per_user_daily_rows_sum_tokens_turns_and_threads(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;
    let batch = vec![
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 10,
            EventKind::UserPrompt,
            "CODEX_CLI",
            "gpt-5-codex",
            0,
        ),
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 11,
            tokens(1000, 200, 50),
            "CODEX_CLI",
            "gpt-5-codex",
            0,
        ),
        event(
            &ws,
            &u,
            "t1",
            MONDAY + 12,
            tokens(500, 100, 10),
            "CODEX_CLI",
            "gpt-5-codex",
            1,
        ),
        event(
            &ws,
            &u,
            "t2",
            MONDAY + 20,
            EventKind::UserPrompt,
            "CODEX_SERVICE_EXEC",
            "o4-mini",
            0,
        ),
        event(
            &ws,
            &u,
            "t2",
            MONDAY + 21,
            tokens(300, 0, 30),
            "CODEX_SERVICE_EXEC",
            "o4-mini",
            0,
        ),
        event(
            &ws,
            &u,
            "t3",
            MONDAY + 30,
            EventKind::ConversationStart,
            "CODEX_CLI",
            "gpt-5-codex",
            0,
        ),
    ];
    store.insert_events(batch.clone()).await.expect("insert");
    let page = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + DAY,
            Bucket::Day,
            Grouping::User,
            100,
        ))
        .await
        .expect("rows");
    assert_eq!(page.rows.len(), 1);
    assert!(!page.has_more);
    let row = &page.rows[0];
    assert_eq!(row.key.bucket_start, MONDAY);
    assert_eq!(row.key.user_id, u);
    assert_eq!(row.user_email.as_deref(), Some("a@example.com"));
    assert_eq!(row.threads, 2, "t3 only started, it had no turn");
    assert_eq!(row.totals.turns, 2);
    assert_eq!(row.totals.input_tokens, 1800);
    assert_eq!(row.totals.cached_input_tokens, 300);
    assert_eq!(row.totals.output_tokens, 90);
    assert_eq!(row.totals.credits_micro, 18_000);
    assert_eq!(row.totals.usd_micro, 9_000);
    let clients: Vec<_> = row
        .clients
        .iter()
        .map(|c| (c.client_id.as_str(), c.threads, c.sums.turns, c.sums.input_tokens))
        .collect();
    assert_eq!(
        clients,
        vec![("CODEX_CLI", 1, 1, 1500), ("CODEX_SERVICE_EXEC", 1, 1, 300)]
    );
    let models: Vec<_> = row
        .models
        .iter()
        .map(|m| (m.model.as_str(), m.sums.output_tokens))
        .collect();
    assert_eq!(models, vec![("gpt-5-codex", 60), ("o4-mini", 30)]);
}

pub async fn week_buckets_count_distinct_threads(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;
    let mut batch = Vec::new();
    // One thread resumed on three days of the same week, plus one thread on Tuesday.
    for (i, day) in [0, 2, 4].iter().enumerate() {
        batch.push(event(
            &ws,
            &u,
            "long",
            MONDAY + day * DAY + 60,
            EventKind::UserPrompt,
            "CODEX_CLI",
            "m",
            i as u32,
        ));
    }
    batch.push(event(
        &ws,
        &u,
        "short",
        MONDAY + DAY + 60,
        EventKind::UserPrompt,
        "CODEX_CLI",
        "m",
        9,
    ));
    store.insert_events(batch.clone()).await.expect("insert");
    let days = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + 7 * DAY,
            Bucket::Day,
            Grouping::User,
            100,
        ))
        .await
        .expect("days");
    assert_eq!(
        days.rows.iter().map(|r| r.threads).sum::<i64>(),
        4,
        "per day: 1+1+1+1"
    );
    let weeks = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + 7 * DAY,
            Bucket::Week,
            Grouping::User,
            100,
        ))
        .await
        .expect("weeks");
    assert_eq!(weeks.rows.len(), 1);
    assert_eq!(weeks.rows[0].key.bucket_start, MONDAY);
    assert_eq!(
        weeks.rows[0].threads, 2,
        "a week counts distinct threads, not a sum of days"
    );
    assert_eq!(weeks.rows[0].totals.turns, 4);
    assert_eq!(weeks.rows[0].clients[0].threads, 2);
}

pub async fn workspace_grouping_sums_users(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let a = user(&store, &ws, "a@example.com").await;
    let b = user(&store, &ws, "b@example.com").await;
    store
        .insert_events(vec![
            event(
                &ws,
                &a,
                "ta",
                MONDAY + 1,
                EventKind::UserPrompt,
                "CODEX_CLI",
                "m",
                0,
            ),
            event(&ws, &a, "ta", MONDAY + 2, tokens(100, 0, 10), "CODEX_CLI", "m", 0),
            event(
                &ws,
                &b,
                "tb",
                MONDAY + 3,
                EventKind::UserPrompt,
                "CODEX_CLI",
                "m",
                0,
            ),
            event(
                &ws,
                &b,
                "tb",
                MONDAY + 4,
                tokens(200, 50, 20),
                "CODEX_CLI",
                "m",
                0,
            ),
            event(
                &ws,
                &b,
                "tb",
                MONDAY + DAY + 4,
                tokens(7, 0, 1),
                "CODEX_CLI",
                "m",
                1,
            ),
        ])
        .await
        .expect("insert");
    let page = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + 2 * DAY,
            Bucket::Day,
            Grouping::Workspace,
            100,
        ))
        .await
        .expect("rows");
    assert_eq!(page.rows.len(), 2);
    let first = &page.rows[0];
    assert_eq!(first.key.user_id, "");
    assert_eq!(first.user_email, None);
    assert_eq!(
        (first.threads, first.totals.turns, first.totals.input_tokens),
        (2, 2, 300)
    );
    assert_eq!(page.rows[1].totals.input_tokens, 7);
    assert_eq!(page.rows[1].threads, 1);
}

pub async fn pages_are_keyset_paginated_without_gaps(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(user(&store, &ws, &format!("u{i}@example.com")).await);
    }
    let mut batch = Vec::new();
    for day in 0..3 {
        for (i, u) in users.iter().enumerate() {
            batch.push(event(
                &ws,
                u,
                &format!("t{i}"),
                MONDAY + day * DAY + 5,
                tokens(1, 0, 1),
                "CODEX_CLI",
                "m",
                day as u32,
            ));
        }
    }
    store.insert_events(batch.clone()).await.expect("insert");
    let full = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + 3 * DAY,
            Bucket::Day,
            Grouping::User,
            100,
        ))
        .await
        .expect("full");
    assert_eq!(full.rows.len(), 15);
    let keys: Vec<_> = full.rows.iter().map(|r| r.key.clone()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "rows are ordered by bucket, then user id");
    let mut paged = Vec::new();
    let mut q = query(&ws, MONDAY, MONDAY + 3 * DAY, Bucket::Day, Grouping::User, 4);
    loop {
        let page = store.usage_rows(&q).await.expect("page");
        assert!(page.rows.len() <= 4);
        paged.extend(page.rows.iter().map(|r| r.key.clone()));
        if !page.has_more {
            break;
        }
        let last = page.rows.last().expect("a page with more has rows").key.clone();
        q.after = Some(UsageCursor {
            bucket_start: last.bucket_start,
            user_id: last.user_id,
        });
    }
    assert_eq!(paged, keys);
}

pub async fn window_excludes_outside_days(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;
    store
        .insert_events(vec![
            event(&ws, &u, "t", MONDAY - 1, tokens(1, 0, 0), "CODEX_CLI", "m", 0),
            event(&ws, &u, "t", MONDAY, tokens(10, 0, 0), "CODEX_CLI", "m", 0),
            event(
                &ws,
                &u,
                "t",
                MONDAY + DAY - 1,
                tokens(100, 0, 0),
                "CODEX_CLI",
                "m",
                0,
            ),
            event(
                &ws,
                &u,
                "t",
                MONDAY + DAY,
                tokens(1000, 0, 0),
                "CODEX_CLI",
                "m",
                0,
            ),
        ])
        .await
        .expect("insert");
    let page = store
        .usage_rows(&query(
            &ws,
            MONDAY,
            MONDAY + DAY,
            Bucket::Day,
            Grouping::User,
            100,
        ))
        .await
        .expect("rows");
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].totals.input_tokens, 110);
}

pub async fn workspaces_are_isolated(fixture: Fixture) {
    let store = fixture.0;
    let ws1 = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let u1 = user(&store, &ws1, "same@example.com").await;
    let u2 = user(&store, &ws2, "same@example.com").await;
    assert_ne!(u1, u2, "the same email in two workspaces is two users");
    // Identical dedup material in two workspaces must not collide.
    let mut e1 = event(&ws1, &u1, "t", MONDAY, tokens(5, 0, 0), "CODEX_CLI", "m", 0);
    let mut e2 = event(&ws2, &u2, "t", MONDAY, tokens(7, 0, 0), "CODEX_CLI", "m", 0);
    e1.dedup_key = "same-key".to_owned();
    e2.dedup_key = "same-key".to_owned();
    store.insert_events(vec![e1]).await.expect("insert 1");
    let out = store.insert_events(vec![e2]).await.expect("insert 2");
    assert_eq!(out.inserted, 1);
    let r1 = store
        .usage_rows(&query(
            &ws1,
            MONDAY,
            MONDAY + DAY,
            Bucket::Day,
            Grouping::Workspace,
            10,
        ))
        .await
        .expect("r1");
    let r2 = store
        .usage_rows(&query(
            &ws2,
            MONDAY,
            MONDAY + DAY,
            Bucket::Day,
            Grouping::Workspace,
            10,
        ))
        .await
        .expect("r2");
    assert_eq!(r1.rows[0].totals.input_tokens, 5);
    assert_eq!(r2.rows[0].totals.input_tokens, 7);
    assert!(store
        .list_users(&ws2)
        .await
        .expect("users")
        .iter()
        .all(|u| u.workspace_id == ws2));
}

pub async fn events_without_usage_are_stored_but_not_counted(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let u = user(&store, &ws, "a@example.com").await;
    let out = store
        .insert_events(vec![
            event(&ws, &u, "t", MONDAY, EventKind::Unknown, "CODEX_CLI", "m", 0),
            event(&ws, &u, "t", MONDAY, EventKind::Other, "CODEX_CLI", "m", 0),
        ])
        .await
        .expect("insert");
    assert_eq!(out.inserted, 2);
    assert_eq!(store.count_events(&ws).await.expect("count"), 2);
    let page = store
        .usage_rows(&query(&ws, MONDAY, MONDAY + DAY, Bucket::Day, Grouping::User, 10))
        .await
        .expect("rows");
    assert!(
        page.rows.is_empty(),
        "unknown and non-usage events add no usage row"
    );
}

pub async fn distinct_threads_hold_across_batches_and_grains(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let a = user(&store, &ws, "a@example.com").await;
    let b = user(&store, &ws, "b@example.com").await;
    // The same threads keep coming back in separate batches, on two clients and two days.
    for (n, (u, thread, day, client)) in [
        (&a, "ta", 0, "CODEX_CLI"),
        (&a, "ta", 0, "CODEX_CLI"),
        (&a, "ta", 1, "CODEX_IDE_VSCODE"),
        (&b, "tb", 1, "CODEX_CLI"),
        (&b, "tb2", 1, "CODEX_CLI"),
        (&b, "tb", 2, "CODEX_CLI"),
    ]
    .into_iter()
    .enumerate()
    {
        let e = event(
            &ws,
            u,
            thread,
            MONDAY + day * DAY + 60,
            EventKind::UserPrompt,
            client,
            "m",
            n as u32,
        );
        store.insert_events(vec![e]).await.expect("insert");
    }
    let q = |bucket, grouping| query(&ws, MONDAY, MONDAY + 7 * DAY, bucket, grouping, 100);
    let ws_days = store
        .usage_rows(&q(Bucket::Day, Grouping::Workspace))
        .await
        .expect("ws days");
    assert_eq!(
        ws_days.rows.iter().map(|r| r.threads).collect::<Vec<_>>(),
        vec![1, 3, 1]
    );
    let tuesday_clients: Vec<_> = ws_days.rows[1]
        .clients
        .iter()
        .map(|c| (c.client_id.as_str(), c.threads))
        .collect();
    assert_eq!(tuesday_clients, vec![("CODEX_CLI", 2), ("CODEX_IDE_VSCODE", 1)]);
    let ws_week = store
        .usage_rows(&q(Bucket::Week, Grouping::Workspace))
        .await
        .expect("ws week");
    assert_eq!(ws_week.rows[0].threads, 3, "ta, tb, tb2 over the week");
    assert_eq!(ws_week.rows[0].totals.turns, 6);
    let user_week = store
        .usage_rows(&q(Bucket::Week, Grouping::User))
        .await
        .expect("user week");
    let by_user: Vec<_> = user_week
        .rows
        .iter()
        .map(|r| (r.key.user_id == a, r.threads, r.clients.len()))
        .collect();
    assert!(
        by_user.contains(&(true, 1, 2)),
        "a: one thread on two clients: {by_user:?}"
    );
    assert!(by_user.contains(&(false, 2, 1)), "b: two threads: {by_user:?}");
}
