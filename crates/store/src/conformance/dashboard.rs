//! Conformance of the dashboard's read models (`DashboardStore`).

use steward_model::{EventKind, LogType};

use super::{event, file, head, seal, tokens, user, Fixture, DAY, MONDAY};
use crate::{ActiveUsers, Bucket, DayWindow};

fn window(ws: &str, start: i64, end: i64) -> DayWindow {
    DayWindow {
        workspace_id: ws.to_owned(),
        start_day: start,
        end_day: end,
    }
}

pub async fn dashboard_reads_active_users_rankings_and_one_users_usage(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let ada = user(&store, &ws, "ada@example.com").await;
    let bob = user(&store, &ws, "bob@example.com").await;
    let eve = user(&store, &ws2, "eve@example.com").await;
    let (mon, tue, wed) = (MONDAY, MONDAY + DAY, MONDAY + 2 * DAY);
    let prompt = || EventKind::UserPrompt;
    let events = vec![
        // ada: Monday on the CLI (thread t1) and the IDE (t2); Tuesday t1 again on the CLI.
        event(&ws, &ada, "t1", mon + 10, prompt(), "CODEX_CLI", "gpt-5", 0),
        event(
            &ws,
            &ada,
            "t1",
            mon + 11,
            tokens(100, 40, 10),
            "CODEX_CLI",
            "gpt-5",
            0,
        ),
        event(
            &ws,
            &ada,
            "t2",
            mon + 20,
            prompt(),
            "CODEX_IDE_VSCODE",
            "gpt-5",
            0,
        ),
        event(
            &ws,
            &ada,
            "t2",
            mon + 21,
            tokens(50, 0, 5),
            "CODEX_IDE_VSCODE",
            "o3",
            0,
        ),
        event(&ws, &ada, "t1", tue + 10, prompt(), "CODEX_CLI", "gpt-5", 0),
        event(
            &ws,
            &ada,
            "t1",
            tue + 11,
            tokens(200, 100, 20),
            "CODEX_CLI",
            "gpt-5",
            0,
        ),
        // bob: Wednesday on the CLI.
        event(&ws, &bob, "t3", wed + 10, prompt(), "CODEX_CLI", "gpt-5", 0),
        event(
            &ws,
            &bob,
            "t3",
            wed + 11,
            tokens(1000, 0, 100),
            "CODEX_CLI",
            "gpt-5",
            0,
        ),
        // Another workspace, same days: never counted here.
        event(&ws2, &eve, "t9", mon + 10, prompt(), "CODEX_CLI", "gpt-5", 0),
        event(
            &ws2,
            &eve,
            "t9",
            mon + 11,
            tokens(5, 0, 5),
            "CODEX_CLI",
            "gpt-5",
            0,
        ),
    ];
    store.insert_events(events).await.expect("insert");
    let week = window(&ws, MONDAY, MONDAY + 7 * DAY);

    let active = store
        .active_users(&week, Bucket::Day)
        .await
        .expect("active users");
    let au = |bucket_start: i64, client: Option<&str>, users: i64| ActiveUsers {
        bucket_start,
        client_id: client.map(str::to_owned),
        users,
    };
    assert_eq!(
        active,
        vec![
            au(mon, None, 1),
            au(mon, Some("CODEX_CLI"), 1),
            au(mon, Some("CODEX_IDE_VSCODE"), 1),
            au(tue, None, 1),
            au(tue, Some("CODEX_CLI"), 1),
            au(wed, None, 1),
            au(wed, Some("CODEX_CLI"), 1),
        ],
        "one user on two clients counts once over all clients"
    );
    let weekly = store.active_users(&week, Bucket::Week).await.expect("weekly");
    assert_eq!(
        weekly,
        vec![
            au(mon, None, 2),
            au(mon, Some("CODEX_CLI"), 2),
            au(mon, Some("CODEX_IDE_VSCODE"), 1)
        ]
    );

    assert_eq!(store.distinct_active_users(&week).await.expect("distinct"), 2);
    assert_eq!(
        store
            .distinct_active_users(&window(&ws, tue, wed + DAY))
            .await
            .expect("tue-wed"),
        2
    );
    assert_eq!(
        store
            .distinct_active_users(&window(&ws, wed, wed + DAY))
            .await
            .expect("wed"),
        1
    );
    let mut activity = store.user_activity(&week, None).await.expect("activity");
    activity.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    let of = |id: &str| activity.iter().find(|a| a.user_id == id).expect("listed").clone();
    let a = of(&ada);
    assert_eq!(a.active_days, vec![mon, tue]);
    assert_eq!(
        (
            a.sums.turns,
            a.sums.input_tokens,
            a.sums.cached_input_tokens,
            a.sums.output_tokens
        ),
        (3, 350, 140, 35)
    );
    assert_eq!(of(&bob).active_days, vec![wed]);
    assert_eq!(activity.len(), 2, "only this workspace's users with usage");
    let cli_only = store
        .user_activity(&week, Some("CODEX_IDE_VSCODE"))
        .await
        .expect("ide");
    assert_eq!(cli_only.len(), 1);
    assert_eq!((cli_only[0].sums.turns, cli_only[0].sums.input_tokens), (1, 50));
    let monday_only = store
        .user_activity(&window(&ws, mon, tue), None)
        .await
        .expect("monday");
    assert_eq!(monday_only.len(), 1, "the window's end is exclusive");

    let mut threads = store.user_thread_counts(&week, None).await.expect("threads");
    threads.sort();
    let mut expected = vec![(ada.clone(), 2), (bob.clone(), 1)];
    expected.sort();
    assert_eq!(threads, expected, "a thread active on two days counts once");
    assert_eq!(
        store
            .user_thread_counts(&week, Some("CODEX_CLI"))
            .await
            .expect("cli threads")
            .len(),
        2
    );
    assert!(
        store
            .user_thread_counts(&window(&ws, wed + DAY, wed + 2 * DAY), None)
            .await
            .expect("later")
            .is_empty(),
        "threads last active before the window are not in it"
    );

    let usage = store
        .user_usage(&week, &ada, Bucket::Day)
        .await
        .expect("ada's usage");
    let mut sums: Vec<(i64, String, String, i64, i64)> = usage
        .sums
        .iter()
        .map(|s| {
            (
                s.key.bucket_start,
                s.client_id.clone(),
                s.model.clone(),
                s.sums.turns,
                s.sums.input_tokens,
            )
        })
        .collect();
    sums.sort();
    assert!(usage.sums.iter().all(|s| s.key.user_id == ada));
    let day_totals: i64 = sums.iter().filter(|s| s.0 == mon).map(|s| s.4).sum();
    assert_eq!(day_totals, 150, "Monday's input over both clients and models");
    assert_eq!(sums.iter().filter(|s| s.0 == tue).map(|s| s.4).sum::<i64>(), 200);
    let monday_threads = usage
        .threads
        .iter()
        .find(|t| t.key.bucket_start == mon && t.client_id.is_none())
        .expect("Monday's thread counter");
    assert_eq!(monday_threads.threads, 2);
    let weekly_usage = store.user_usage(&week, &ada, Bucket::Week).await.expect("weekly");
    let week_threads = weekly_usage
        .threads
        .iter()
        .find(|t| t.key.bucket_start == mon && t.client_id.is_none())
        .expect("the week's counter");
    assert_eq!(week_threads.threads, 2, "distinct over the week");
    assert!(
        store
            .user_usage(&week, &eve, Bucket::Day)
            .await
            .expect("eve")
            .sums
            .is_empty(),
        "other workspace"
    );
}

pub async fn compliance_file_stats_count_unexpired_files_per_type(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let (codex, audit) = (LogType::CodexLog, LogType::AuditLog);
    let files = vec![
        file(&ws, "f1", codex, 100, 1),
        file(&ws, "f2", codex, 201, 1),
        file(&ws, "f3", codex, 300, 1),
        file(&ws, "f4", audit, 150, 1),
    ];
    store
        .commit_seal(seal(&ws, None, head(1, 300), files, Vec::new()))
        .await
        .expect("seal");
    // A later digest records f3's expiry by retention.
    let mut expiry = seal(&ws, Some(1), head(2, 300), Vec::new(), Vec::new());
    expiry.expired_file_ids = vec!["f3".to_owned()];
    store.commit_seal(expiry).await.expect("expiry");
    store
        .commit_seal(seal(
            &ws2,
            None,
            head(1, 100),
            vec![file(&ws2, "o1", codex, 100, 1)],
            Vec::new(),
        ))
        .await
        .expect("seal ws2");
    let (stats, pending) = store.compliance_file_stats(&ws).await.expect("stats");
    assert_eq!(pending, 0);
    assert_eq!(stats.len(), 2);
    let c = stats.iter().find(|s| s.log_type == codex).expect("codex");
    assert_eq!((c.files, c.records, c.bytes), (2, 6, 4096 * 2 + 301));
    assert_eq!(c.content_erased, 1, "f2 (odd end_time) had its content erased");
    assert_eq!(c.last_end_time, Some(201), "expired files are not counted");
    let a = stats.iter().find(|s| s.log_type == audit).expect("audit");
    assert_eq!((a.files, a.last_end_time), (1, Some(150)));
    let (empty, _) = store
        .compliance_file_stats("no-such-workspace")
        .await
        .expect("none");
    assert!(empty.is_empty());
}
