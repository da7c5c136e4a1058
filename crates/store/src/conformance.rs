//! The conformance suite every `Store` backend must pass, written once.
//!
//! A backend invokes [`store_conformance_suite!`](crate::store_conformance_suite) with an async
//! factory returning a fresh, empty store (plus a guard that keeps its resources alive). The
//! macro expands into one `#[tokio::test]` per check, so one failure never hides the others.

use std::any::Any;
use std::sync::Arc;

use steward_model::{
    ApiScope, CredentialKind, EventKind, LogType, NormalizedEvent, Source, TokenUsage, UserKind,
};

use crate::{
    Bucket, ChainHeadRow, ComplianceFile, FileQuery, Grouping, NewAuditRecord, NewCredential, NewUser,
    PendingEvent, PendingRecord, PendingSource, SealCommit, Store, StoreError, TurnSpan, UsageCursor,
    UsageQuery,
};

/// A fresh store and whatever must live as long as it (temp dir, scratch database).
pub type Fixture = (Arc<dyn Store>, Box<dyn Any + Send>);

const DAY: i64 = 86_400;
/// Monday 2026-11-16T00:00:00Z.
const MONDAY: i64 = 1_794_787_200;

pub mod backfill;
mod retention;
pub use retention::*;

// Codex tasks and environments.
mod tasks;
pub use tasks::*;

// User groups and managed policies.
mod policies;
pub use policies::*;

// Roles, sessions, local admins.
mod identity;
pub use identity::*;

// SCIM provisioning.
mod scim;
pub use scim::*;

// The dashboard's read models.
mod dashboard;
pub use dashboard::*;

// Where shipped rollout files stand.
mod rollout;
pub use rollout::*;

mod ledger;
pub use ledger::*;

// Sightings: turns two sources key differently, and the coverage report's rows.
mod sightings;
pub use sightings::*;

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
            inserting_events_queues_compliance_records,
            turn_spans_give_pending_events_their_turn,
            audit_records_are_pending_and_workspaces_report_oldest,
            sealing_commits_files_and_conflicts_change_nothing,
            concurrent_first_sealings_one_wins,
            compliance_files_list_in_order_per_workspace,
            legal_holds_are_added_listed_and_removed,
            sealing_strips_content_and_records_subjects,
            erasure_and_expiry_update_files,
            // Codex tasks and environments
            codex_threads_sum_batches_once_and_list_newest_first,
            codex_environments_follow_hosts_and_trace_directories,
            codex_thread_pages_hold_every_thread_once,
            // User groups and managed policies
            groups_are_created_listed_and_found_per_workspace,
            group_memberships_are_idempotent_and_sorted,
            deleting_a_group_removes_memberships_unless_assigned,
            policies_are_created_with_their_first_revision,
            policy_revisions_advance_one_at_a_time,
            deleted_policies_free_their_name_and_keep_revisions,
            policy_assignment_is_replaced_by_version,
            policy_sync_reports_keep_the_newest_per_machine,
            concurrent_policy_writers_one_wins,
            deletions_and_assignments_do_not_interleave,
            // Identity
            roles_and_assignments_round_trip_per_workspace,
            deactivation_revokes_the_users_credentials_and_sessions,
            local_admins_and_oidc_states,
            sign_in_failures_count_expire_and_clear,
            // SCIM provisioning
            scim_users_are_created_adopted_and_unique,
            scim_users_are_updated_and_deleted_keeping_the_row,
            scim_groups_keep_members_per_workspace,
            scim_pages_are_slices_of_the_full_listing,
            // The dashboard's read models
            dashboard_reads_active_users_rankings_and_one_users_usage,
            compliance_file_stats_count_unexpired_files_per_type,
            // Rollout files
            rollout_files_round_trip_and_never_move_back,
            turn_for_trace_reads_turn_spans,
            // The turn ledger
            a_turn_reported_whole_and_per_response_counts_once,
            a_batch_with_both_reports_of_a_turn_counts_it_once,
            // Sightings
            a_turn_two_sources_key_differently_counts_once,
            coverage_rows_hold_every_sources_reports,
            tool_calls_and_answers_reported_twice_are_recorded_once,
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
        trace_id: None,
        turn_id: None,
        timestamp_ms: ts_secs * 1000 + 123,
        client_id: client.to_owned(),
        model: Some(model.to_owned()),
        credits_micro,
        usd_micro,
        rate_card_version: version,
        raw: "{}".to_owned(),
        host_name: None,
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

    // In bulk: input order, existing people found (not duplicated), missing fields filled in.
    let person = |email: &str, name: Option<&str>| NewUser {
        workspace_id: ws.clone(),
        email: Some(email.to_owned()),
        name: name.map(str::to_owned),
        account_id: None,
        kind: UserKind::Person,
        principal_key: format!("email:{email}"),
    };
    let batch = store
        .upsert_users(&[
            person("erin@example.com", None),
            person("dana@example.com", Some("Dana")),
            person("erin@example.com", Some("Erin")),
        ])
        .await
        .expect("bulk upsert");
    assert_eq!(batch.len(), 3);
    assert_eq!(batch[1].id, first, "an existing person is found, not duplicated");
    assert_eq!(
        batch[1].name.as_deref(),
        Some("Dana"),
        "a missing name is filled in"
    );
    assert_eq!(batch[0].id, batch[2].id, "one key, one user, within a batch too");
    assert_eq!(batch[2].name.as_deref(), Some("Erin"));
    assert_eq!(store.list_users(&ws).await.expect("list").len(), 3);
    assert!(store.upsert_users(&[]).await.expect("empty batch").is_empty());
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
        expires_at_ms: None,
        created_by: None,
    };
    let token = NewCredential {
        workspace_id: ws.clone(),
        name: "laptop".to_owned(),
        kind: CredentialKind::UserIngest { user_id: uid.clone() },
        prefix: "stw_it_abcd".to_owned(),
        secret_hash: "b".repeat(64),
        expires_at_ms: None,
        created_by: None,
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

// --- Compliance log ---

/// `e` as Codex names it (`event.name`), with a raw record of its own and a trace id.
fn named(mut e: NormalizedEvent, name: &str, trace: Option<&str>) -> NormalizedEvent {
    e.event_name = name.to_owned();
    e.raw = format!(r#"{{"event.name":"{name}","key":"{}"}}"#, e.dedup_key);
    e.trace_id = trace.map(str::to_owned);
    e
}

/// The record a pending Codex event must come back as.
fn expected_pending(e: &NormalizedEvent, email: Option<&str>, turn: Option<&str>) -> PendingEvent {
    PendingEvent {
        dedup_key: e.dedup_key.clone(),
        user_id: e.user_id.clone(),
        user_email: email.map(str::to_owned),
        event_name: e.event_name.clone(),
        thread_id: e.thread_id.clone(),
        timestamp_ms: e.timestamp_ms,
        client_id: e.client_id.clone(),
        model: e.model.clone(),
        usage: e.kind.usage().cloned(),
        raw: e.raw.clone(),
        turn_id: turn.map(str::to_owned),
        trace_id: e.trace_id.clone(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The pending records as `(log type, timestamp, event)`, checking that queue positions ascend.
fn pending_events(records: &[PendingRecord]) -> Vec<(LogType, i64, PendingEvent)> {
    assert!(
        records.windows(2).all(|w| w[0].pending_id < w[1].pending_id),
        "pending records come oldest queue position first: {records:?}"
    );
    records
        .iter()
        .map(|r| match &r.source {
            PendingSource::Event(e) => {
                assert_eq!(r.timestamp_ms, e.timestamp_ms, "a pending event keeps its time");
                let now = now_ms();
                assert!(
                    (now - 600_000..=now + 1000).contains(&r.queued_at_ms),
                    "queued at {} by the server's clock, not the event's (now {now})",
                    r.queued_at_ms
                );
                (r.log_type, r.timestamp_ms, (**e).clone())
            }
            PendingSource::Record(json) => panic!("expected a pending event, got the record {json}"),
        })
        .collect()
}

fn audit(ws: &str, timestamp_ms: i64, n: u32) -> NewAuditRecord {
    NewAuditRecord {
        workspace_id: ws.to_owned(),
        log_type: LogType::AuditLog,
        timestamp_ms,
        record: format!(r#"{{"type":"api_key.created","n":{n}}}"#),
    }
}

fn file(ws: &str, id: &str, log_type: LogType, end_time: i64, sequence: u64) -> ComplianceFile {
    ComplianceFile {
        id: id.to_owned(),
        workspace_id: ws.to_owned(),
        log_type,
        end_time,
        path: format!("compliance/{ws}/{log_type}/{id}.jsonl"),
        file_name: format!("{id}.jsonl"),
        sha256: format!("{end_time:064x}"),
        records_root: format!("{sequence:064x}"),
        size: 4096 + end_time as u64,
        record_count: 3,
        first_timestamp: Some("2026-11-16T00:00:01Z".to_owned()),
        last_timestamp: None,
        digest_sequence: sequence,
        sealed_at_ms: end_time * 1000 + 7,
        content_erased_at_ms: (end_time % 2 == 1).then_some(end_time * 1000 + 9),
        expired_at_ms: None,
    }
}

fn head(sequence: u64, last_end_time: i64) -> ChainHeadRow {
    ChainHeadRow {
        sequence,
        digest_sha256: format!("{:064x}", sequence * 31),
        last_end_time,
    }
}

fn seal(
    ws: &str,
    expected_head: Option<u64>,
    new_head: ChainHeadRow,
    files: Vec<ComplianceFile>,
    consumed_pending_ids: Vec<i64>,
) -> SealCommit {
    SealCommit {
        workspace_id: ws.to_owned(),
        expected_head,
        new_head,
        files,
        consumed_pending_ids,
        subjects: Vec::new(),
        expired_file_ids: Vec::new(),
        strip_event_attributes: Vec::new(),
    }
}

fn files_query(ws: &str, log_types: &[LogType], after_end_time: i64, limit: u32) -> FileQuery {
    FileQuery {
        workspace_id: ws.to_owned(),
        log_types: log_types.to_vec(),
        after_end_time,
        limit,
    }
}

fn ids(files: &[ComplianceFile]) -> Vec<&str> {
    files.iter().map(|f| f.id.as_str()).collect()
}

fn pending_ids(records: &[PendingRecord]) -> Vec<i64> {
    records.iter().map(|r| r.pending_id).collect()
}

pub async fn inserting_events_queues_compliance_records(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let a = user(&store, &ws, "a@example.com").await;
    let host = store
        .upsert_user(&NewUser {
            workspace_id: ws.clone(),
            email: None,
            name: None,
            account_id: None,
            kind: UserKind::Unattributed,
            principal_key: "host:build-01".to_owned(),
        })
        .await
        .expect("unattributed user")
        .id;
    let (cli, model) = ("CODEX_CLI", "gpt-5-codex");
    // In time order, so that every backend's queue order is the batch order.
    let start = named(
        event(
            &ws,
            &a,
            "t1",
            MONDAY + 99,
            EventKind::ConversationStart,
            cli,
            model,
            0,
        ),
        "codex.conversation_starts",
        None,
    );
    let prompt = named(
        event(&ws, &a, "t1", MONDAY + 100, EventKind::UserPrompt, cli, model, 0),
        "codex.user_prompt",
        Some("trace-1"),
    );
    let response = named(
        event(&ws, &a, "t1", MONDAY + 101, tokens(1000, 200, 50), cli, model, 0),
        "codex.sse_event",
        Some("trace-1"),
    );
    let delta = named(
        event(&ws, &a, "t1", MONDAY + 102, EventKind::Other, cli, model, 0),
        "codex.sse_event",
        Some("trace-1"),
    );
    let tool = named(
        event(&ws, &host, "t1", MONDAY + 103, EventKind::Other, cli, model, 1),
        "codex.tool_result",
        None,
    );
    let unknown = named(
        event(&ws, &a, "t1", MONDAY + 104, EventKind::Unknown, cli, model, 0),
        "codex.something_new",
        None,
    );
    let batch = vec![
        start,
        prompt.clone(),
        response.clone(),
        delta,
        tool.clone(),
        unknown,
    ];
    let out = store.insert_events(batch.clone()).await.expect("insert");
    assert_eq!(out.inserted, 6);
    let queued = store.pending_records(&ws, 100).await.expect("pending");
    let expected = vec![
        (
            LogType::CodexLog,
            prompt.timestamp_ms,
            expected_pending(&prompt, Some("a@example.com"), None),
        ),
        (
            LogType::CodexLog,
            response.timestamp_ms,
            expected_pending(&response, Some("a@example.com"), None),
        ),
        (
            LogType::CodexSecurityLog,
            tool.timestamp_ms,
            expected_pending(&tool, None, None),
        ),
    ];
    assert_eq!(
        pending_events(&queued),
        expected,
        "the prompt, the counted response and the tool result, not the start, delta or unknown"
    );
    assert_eq!(
        expected[1].2.usage,
        Some(TokenUsage {
            input: 1000,
            cached_input: 200,
            output: 50,
            reasoning_output: 25,
            total: 1050
        })
    );
    let pending: Vec<String> = store
        .pending_workspaces()
        .await
        .expect("workspaces")
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    assert_eq!(pending, vec![ws.clone()]);

    // Re-sent: nothing more is queued.
    let again = store.insert_events(batch.clone()).await.expect("re-insert");
    assert_eq!(again.inserted, 0);
    assert_eq!(store.pending_records(&ws, 100).await.expect("pending"), queued);
    // With one new security event among the old ones: only that one is added.
    let decision = named(
        event(&ws, &a, "t1", MONDAY + 105, EventKind::Other, cli, model, 2),
        "codex.tool_decision",
        None,
    );
    let mut mixed = batch;
    mixed.push(decision.clone());
    assert_eq!(store.insert_events(mixed).await.expect("mixed").inserted, 1);
    let after = store.pending_records(&ws, 100).await.expect("pending");
    assert_eq!(after[..3], queued[..]);
    assert_eq!(
        pending_events(&after[3..]),
        vec![(
            LogType::CodexSecurityLog,
            decision.timestamp_ms,
            expected_pending(&decision, Some("a@example.com"), None)
        )]
    );
    // `limit` caps the page, oldest first.
    assert_eq!(store.pending_records(&ws, 2).await.expect("pending"), queued[..2]);
}

pub async fn turn_spans_give_pending_events_their_turn(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let a = user(&store, &ws, "a@example.com").await;
    let (cli, model) = ("CODEX_CLI", "m");
    let in_turn = named(
        event(&ws, &a, "t1", MONDAY + 1, EventKind::UserPrompt, cli, model, 0),
        "codex.user_prompt",
        Some("trace-1"),
    );
    let other_trace = named(
        event(&ws, &a, "t1", MONDAY + 2, EventKind::UserPrompt, cli, model, 1),
        "codex.user_prompt",
        Some("trace-2"),
    );
    let no_trace = named(
        event(&ws, &a, "t1", MONDAY + 3, EventKind::UserPrompt, cli, model, 2),
        "codex.user_prompt",
        None,
    );
    store
        .insert_events(vec![in_turn.clone(), other_trace.clone(), no_trace.clone()])
        .await
        .expect("insert");
    let span = |ws: &str, trace: &str, turn: &str| TurnSpan {
        workspace_id: ws.to_owned(),
        trace_id: trace.to_owned(),
        turn_id: turn.to_owned(),
        thread_id: Some("t1".to_owned()),
    };
    // trace-2's span is in another workspace: it names no turn of this one.
    let spans = vec![span(&ws, "trace-1", "turn-1"), span(&ws2, "trace-2", "turn-x")];
    assert_eq!(store.insert_turn_spans(spans.clone()).await.expect("spans"), 2);
    assert_eq!(
        store.insert_turn_spans(spans).await.expect("spans again"),
        0,
        "spans are idempotent"
    );
    // A different turn for a trace already known changes nothing.
    assert_eq!(
        store
            .insert_turn_spans(vec![span(&ws, "trace-1", "turn-other")])
            .await
            .expect("conflicting span"),
        0
    );
    let email = Some("a@example.com");
    assert_eq!(
        pending_events(&store.pending_records(&ws, 10).await.expect("pending")),
        vec![
            (
                LogType::CodexLog,
                in_turn.timestamp_ms,
                expected_pending(&in_turn, email, Some("turn-1"))
            ),
            (
                LogType::CodexLog,
                other_trace.timestamp_ms,
                expected_pending(&other_trace, email, None)
            ),
            (
                LogType::CodexLog,
                no_trace.timestamp_ms,
                expected_pending(&no_trace, email, None)
            ),
        ]
    );
    // Within one batch, the first span of a trace wins.
    assert_eq!(
        store
            .insert_turn_spans(vec![
                span(&ws, "trace-2", "turn-2"),
                span(&ws, "trace-2", "turn-2b")
            ])
            .await
            .expect("repeated span in one batch"),
        1
    );
    let pending = pending_events(&store.pending_records(&ws, 10).await.expect("pending"));
    assert_eq!(pending[1].2.turn_id.as_deref(), Some("turn-2"));
    // A span that arrives with its trace's events, or before them, works as well.
    let later = named(
        event(&ws, &a, "t2", MONDAY + 4, EventKind::UserPrompt, cli, model, 3),
        "codex.user_prompt",
        Some("trace-3"),
    );
    assert_eq!(
        store
            .insert_turn_spans(vec![span(&ws, "trace-3", "turn-3")])
            .await
            .expect("span first"),
        1
    );
    store
        .insert_events(vec![later.clone()])
        .await
        .expect("insert later");
    let pending = pending_events(&store.pending_records(&ws, 10).await.expect("pending"));
    assert_eq!(
        pending[3],
        (
            LogType::CodexLog,
            later.timestamp_ms,
            expected_pending(&later, email, Some("turn-3"))
        )
    );
}

pub async fn audit_records_are_pending_and_workspaces_report_oldest(fixture: Fixture) {
    let store = fixture.0;
    assert!(store.pending_workspaces().await.expect("none").is_empty());
    let wall_ms = now_ms;
    let before = wall_ms();
    let ws1 = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let a2 = user(&store, &ws2, "a@example.com").await;
    store
        .append_audit_record(audit(&ws1, 5_000, 1))
        .await
        .expect("audit 1");
    store
        .append_audit_record(audit(&ws1, 3_000, 2))
        .await
        .expect("audit 2");
    store
        .append_audit_record(audit(&ws2, MONDAY * 1000 + 9_000, 3))
        .await
        .expect("audit 3");
    // An event whose own time lies far ahead (a client clock running fast): what counts for
    // scheduling is when it was queued, not the time the client wrote into it.
    let prompt = named(
        event(
            &ws2,
            &a2,
            "t",
            MONDAY + 10 * 365 * 86_400,
            EventKind::UserPrompt,
            "CODEX_CLI",
            "m",
            0,
        ),
        "codex.user_prompt",
        None,
    );
    store.insert_events(vec![prompt.clone()]).await.expect("insert");
    let after = wall_ms();
    let mut workspaces = store.pending_workspaces().await.expect("workspaces");
    workspaces.sort();
    let mut names: Vec<&str> = workspaces.iter().map(|(w, _)| w.as_str()).collect();
    let mut expected = vec![ws1.as_str(), ws2.as_str()];
    expected.sort();
    names.sort();
    assert_eq!(names, expected);
    // Queued "now" by the store's clock (the database's, for PostgreSQL; same machine here,
    // so a few seconds of slack cover clock reads on either side).
    for (ws, queued) in &workspaces {
        assert!(
            (before - 5_000..=after + 5_000).contains(queued),
            "{ws} queued at {queued}, outside [{before}, {after}]"
        );
    }

    let records = store.pending_records(&ws1, 10).await.expect("pending");
    let got: Vec<_> = records
        .iter()
        .map(|r| (r.log_type, r.timestamp_ms, r.source.clone()))
        .collect();
    // Queue order, not time order.
    assert_eq!(
        got,
        vec![
            (
                LogType::AuditLog,
                5_000,
                PendingSource::Record(audit(&ws1, 5_000, 1).record)
            ),
            (
                LogType::AuditLog,
                3_000,
                PendingSource::Record(audit(&ws1, 3_000, 2).record)
            ),
        ]
    );
    assert!(records[0].pending_id < records[1].pending_id);
    assert_eq!(store.pending_records(&ws1, 1).await.expect("limit").len(), 1);
    let ws2_records = store.pending_records(&ws2, 10).await.expect("pending ws2");
    assert_eq!(ws2_records.len(), 2, "each workspace sees only its own records");
    assert!(matches!(&ws2_records[0].source, PendingSource::Record(_)));
    assert!(matches!(&ws2_records[1].source, PendingSource::Event(e) if e.dedup_key == prompt.dedup_key));
}

pub async fn sealing_commits_files_and_conflicts_change_nothing(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    for n in 0..3 {
        store
            .append_audit_record(audit(&ws, 1_000 + i64::from(n), n))
            .await
            .expect("audit");
    }
    store
        .append_audit_record(audit(&ws2, 1_000, 9))
        .await
        .expect("audit ws2");
    let pending = pending_ids(&store.pending_records(&ws, 10).await.expect("pending"));
    let other_ws_pending = pending_ids(&store.pending_records(&ws2, 10).await.expect("pending ws2"));
    assert_eq!(store.chain_head(&ws).await.expect("head"), None);

    let f1 = file(&ws, "file-1", LogType::AuditLog, 100, 1);
    store
        .commit_seal(seal(
            &ws,
            None,
            head(1, 100),
            vec![f1.clone()],
            pending[..2].to_vec(),
        ))
        .await
        .expect("first sealing");
    assert_eq!(store.chain_head(&ws).await.expect("head"), Some(head(1, 100)));
    assert_eq!(
        pending_ids(&store.pending_records(&ws, 10).await.expect("pending")),
        pending[2..]
    );
    let all = files_query(&ws, &LogType::ALL, 0, 100);
    assert_eq!(
        store.list_compliance_files(&all).await.expect("list"),
        vec![f1.clone()]
    );
    assert_eq!(
        store.get_compliance_file(&ws, "file-1").await.expect("get"),
        Some(f1.clone())
    );

    // Each of these lost to the first sealing and must leave everything as it was.
    let f2 = file(&ws, "file-2", LogType::AuditLog, 200, 2);
    let losers = [
        (
            "stale head (none)",
            seal(&ws, None, head(1, 200), vec![f2.clone()], pending[2..].to_vec()),
        ),
        (
            "head ahead of the chain",
            seal(
                &ws,
                Some(5),
                head(6, 200),
                vec![f2.clone()],
                pending[2..].to_vec(),
            ),
        ),
        (
            "already consumed record",
            seal(&ws, Some(1), head(2, 200), vec![f2.clone()], pending.clone()),
        ),
        (
            "another workspace's record",
            seal(
                &ws,
                Some(1),
                head(2, 200),
                vec![f2.clone()],
                vec![pending[2], other_ws_pending[0]],
            ),
        ),
        (
            "the same record twice",
            seal(
                &ws,
                Some(1),
                head(2, 200),
                vec![f2.clone()],
                vec![pending[2], pending[2]],
            ),
        ),
        (
            "a file id already sealed",
            seal(
                &ws,
                Some(1),
                head(2, 200),
                vec![f2.clone(), f1.clone()],
                pending[2..].to_vec(),
            ),
        ),
    ];
    for (what, commit) in losers {
        match store.commit_seal(commit).await {
            Err(StoreError::Conflict(_)) => {}
            other => panic!("{what}: expected Conflict, got {other:?}"),
        }
        assert_eq!(
            store.chain_head(&ws).await.expect("head"),
            Some(head(1, 100)),
            "{what}: head unchanged"
        );
        assert_eq!(
            store.list_compliance_files(&all).await.expect("list"),
            vec![f1.clone()],
            "{what}: no file recorded"
        );
        assert_eq!(
            store.get_compliance_file(&ws, "file-2").await.expect("get"),
            None,
            "{what}"
        );
        assert_eq!(
            pending_ids(&store.pending_records(&ws, 10).await.expect("pending")),
            pending[2..],
            "{what}: nothing consumed"
        );
        assert_eq!(
            pending_ids(&store.pending_records(&ws2, 10).await.expect("pending ws2")),
            other_ws_pending,
            "{what}: other workspace untouched"
        );
    }

    // The sealing that continues from the real head goes through.
    store
        .commit_seal(seal(
            &ws,
            Some(1),
            head(2, 200),
            vec![f2.clone()],
            pending[2..].to_vec(),
        ))
        .await
        .expect("second sealing");
    assert_eq!(store.chain_head(&ws).await.expect("head"), Some(head(2, 200)));
    assert!(store.pending_records(&ws, 10).await.expect("pending").is_empty());
    assert_eq!(
        store.list_compliance_files(&all).await.expect("list"),
        vec![f1, f2]
    );
    let workspaces: Vec<String> = store
        .pending_workspaces()
        .await
        .expect("workspaces")
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    assert_eq!(workspaces, vec![ws2.clone()], "only ws2 has pending records left");
    assert_eq!(store.chain_head(&ws2).await.expect("head ws2"), None);
}

pub async fn concurrent_first_sealings_one_wins(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    for n in 0..4 {
        store
            .append_audit_record(audit(&ws, 1_000 + i64::from(n), n))
            .await
            .expect("audit");
    }
    let pending = pending_ids(&store.pending_records(&ws, 10).await.expect("pending"));
    // Two sealers read the same (absent) head and the same pending records.
    let a = seal(
        &ws,
        None,
        head(1, 100),
        vec![file(&ws, "file-a", LogType::AuditLog, 100, 1)],
        pending.clone(),
    );
    let b = seal(
        &ws,
        None,
        head(1, 101),
        vec![file(&ws, "file-b", LogType::AuditLog, 101, 1)],
        pending.clone(),
    );
    let (ra, rb) = tokio::join!(store.commit_seal(a), store.commit_seal(b));
    let winner = match (ra, rb) {
        (Ok(()), Err(StoreError::Conflict(_))) => "file-a",
        (Err(StoreError::Conflict(_)), Ok(())) => "file-b",
        other => panic!("exactly one sealing must win, the other conflict: {other:?}"),
    };
    let files = store
        .list_compliance_files(&files_query(&ws, &LogType::ALL, 0, 10))
        .await
        .expect("list");
    assert_eq!(ids(&files), vec![winner]);
    let expected_head = if winner == "file-a" {
        head(1, 100)
    } else {
        head(1, 101)
    };
    assert_eq!(store.chain_head(&ws).await.expect("head"), Some(expected_head));
    assert!(store.pending_records(&ws, 10).await.expect("pending").is_empty());
}

pub async fn compliance_files_list_in_order_per_workspace(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let (codex, security, audit_log) = (LogType::CodexLog, LogType::CodexSecurityLog, LogType::AuditLog);
    // Sealed out of order, in two sealings; "file-B" sorts before "file-a" in byte order.
    let first = vec![
        file(&ws, "file-e", codex, 300, 1),
        file(&ws, "file-a", codex, 100, 1),
        file(&ws, "file-c", security, 200, 1),
    ];
    let second = vec![
        file(&ws, "file-d", audit_log, 150, 2),
        file(&ws, "file-B", codex, 100, 2),
    ];
    store
        .commit_seal(seal(&ws, None, head(1, 300), first, Vec::new()))
        .await
        .expect("seal 1");
    store
        .commit_seal(seal(&ws, Some(1), head(2, 300), second, Vec::new()))
        .await
        .expect("seal 2");
    let other = file(&ws2, "other-ws-file", codex, 100, 1);
    store
        .commit_seal(seal(&ws2, None, head(1, 100), vec![other.clone()], Vec::new()))
        .await
        .expect("seal ws2");

    let list = |types: &[LogType], after: i64, limit: u32| {
        let q = files_query(&ws, types, after, limit);
        let store = store.clone();
        async move { store.list_compliance_files(&q).await.expect("list") }
    };
    assert_eq!(
        ids(&list(&[codex], 0, 10).await),
        vec!["file-B", "file-a", "file-e"]
    );
    assert_eq!(
        ids(&list(&[codex], 100, 10).await),
        vec!["file-B", "file-a", "file-e"],
        "after_end_time is inclusive"
    );
    assert_eq!(ids(&list(&[codex], 101, 10).await), vec!["file-e"]);
    assert_eq!(ids(&list(&[codex], 301, 10).await), Vec::<&str>::new());
    assert_eq!(
        ids(&list(&[codex, security], 0, 10).await),
        vec!["file-B", "file-a", "file-c", "file-e"]
    );
    assert_eq!(
        ids(&list(&[security, audit_log], 150, 10).await),
        vec!["file-d", "file-c"]
    );
    assert_eq!(
        ids(&list(&LogType::ALL, 0, 10).await),
        vec!["file-B", "file-a", "file-d", "file-c", "file-e"]
    );
    assert_eq!(ids(&list(&LogType::ALL, 0, 2).await), vec!["file-B", "file-a"]);
    assert_eq!(
        ids(&list(&LogType::ALL, 100, 3).await),
        vec!["file-B", "file-a", "file-d"]
    );
    assert!(list(&[], 0, 10).await.is_empty(), "no log type, no file");
    // Every field round-trips.
    assert_eq!(
        list(&[security], 0, 10).await,
        vec![file(&ws, "file-c", security, 200, 1)]
    );

    // Workspace isolation.
    assert!(list(&LogType::ALL, 0, 100)
        .await
        .iter()
        .all(|f| f.workspace_id == ws));
    assert_eq!(
        store
            .list_compliance_files(&files_query(&ws2, &LogType::ALL, 0, 100))
            .await
            .expect("list ws2"),
        vec![other.clone()]
    );
    assert_eq!(
        store
            .get_compliance_file(&ws, "other-ws-file")
            .await
            .expect("get"),
        None,
        "another workspace's file is not found"
    );
    assert_eq!(
        store.get_compliance_file(&ws2, "file-a").await.expect("get"),
        None
    );
    assert_eq!(
        store
            .get_compliance_file(&ws2, "other-ws-file")
            .await
            .expect("get"),
        Some(other)
    );
    assert_eq!(
        store.get_compliance_file(&ws, "file-c").await.expect("get"),
        Some(file(&ws, "file-c", security, 200, 1))
    );
    assert_eq!(
        store.get_compliance_file(&ws, "missing").await.expect("get"),
        None
    );
}
