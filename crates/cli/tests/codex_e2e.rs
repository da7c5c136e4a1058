//! End to end with the real Codex CLI (pinned 0.169.0): Codex talks to a stand-in Responses API
//! and exports its OTel events to a real `steward serve`; the figures the usage API reports must
//! match exactly what Codex did and what the stand-in served.
//!
//! Needs the Codex binary: run `scripts/install-test-deps` first (a missing binary fails the
//! test with that hint).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use steward_test_support::anyhow::{ensure, Result};
use steward_test_support::codex::{CodexHome, OtelExporter, OtlpProtocol};
use steward_test_support::responses_standin::{Reply, ResponsesStandin, Usage};
use steward_test_support::steward::StewardServer;
use steward_test_support::usage_api::{by_user, poll_until, Figures, UsageApi, UserUsage};

const STEWARD: &str = env!("CARGO_BIN_EXE_steward");
const EXEC_CLIENT: &str = "CODEX_SERVICE_EXEC";
/// Codex's batch exporter flushes at exit, but ingestion may be asynchronous on Steward's side.
const SETTLE: Duration = Duration::from_secs(15);

/// What one Codex user did, and so what Steward must report for them.
struct Activity {
    email: String,
    expected: Figures,
}

/// Runs the scenario every user of these tests goes through, in a fresh CODEX_HOME:
/// 1. `codex exec` whose turn calls the shell tool (a real `echo`), then answers: thread A;
/// 2. `codex exec` with a plain answer: thread B;
/// 3. `codex exec resume --last`: one more turn on thread B.
///
/// => 2 threads, 3 turns, and the tokens of the 4 model responses the stand-in served.
async fn codex_session(
    email: &str,
    exporter: OtelExporter,
    extra_env: &[(&str, &str)],
    // Distinct per user so a mix-up between users shows in the numbers.
    scale: u64,
) -> Result<Activity> {
    let standin = ResponsesStandin::start()?;
    let mut builder = CodexHome::builder(standin.base_url()).otel(exporter);
    for (k, v) in extra_env {
        builder = builder.env(*k, *v);
    }
    let codex = builder.build()?;

    standin.push([
        Reply::shell(
            "call_e2e_1",
            "echo steward-e2e",
            Usage::new(1200 * scale, 200 * scale, 30 * scale, 10),
        ),
        Reply::message("listed it", Usage::new(1500 * scale, 1100 * scale, 45 * scale, 0)),
    ]);
    let tool_turn = codex.exec("run echo for me").await?;
    let outputs = standin.served()[1].function_call_outputs();
    ensure!(
        outputs
            .iter()
            .any(|(id, out)| id == "call_e2e_1" && out.contains("steward-e2e")),
        "the tool call did not run: {outputs:?}"
    );

    standin.push([Reply::message("hello", Usage::new(900 * scale, 0, 20 * scale, 5))]);
    let plain = codex.exec("say hello").await?;

    standin.push([Reply::message(
        "hello again",
        Usage::new(1000 * scale, 800 * scale, 25 * scale, 5),
    )]);
    let resumed = codex.resume_last("once more").await?;
    ensure!(
        resumed.thread_id == plain.thread_id,
        "resume --last must continue the plain thread"
    );
    ensure!(
        tool_turn.thread_id != plain.thread_id,
        "two `codex exec` runs are two threads"
    );
    ensure!(
        standin.pending() == 0 && standin.request_count() == 4,
        "unexpected model traffic"
    );

    Ok(Activity {
        email: email.to_owned(),
        expected: Figures::expected(2, 3, standin.usage_total()),
    })
}

/// Fetches per-user usage until every user in `activities` shows the expected totals (or the
/// settle time is over), then once more a moment later to catch late double counting. Returns
/// each activity's usage, in order; panics listing who was reported if a user is missing.
async fn settled_usage(
    api: &UsageApi,
    workspace_id: &str,
    activities: &[&Activity],
) -> Result<Vec<UserUsage>> {
    let fetch = || async { Ok(by_user(&api.rows_around_now(workspace_id, &[]).await?)) };
    let matches = |users: &BTreeMap<String, UserUsage>| {
        activities
            .iter()
            .all(|a| users.get(&a.email).is_some_and(|u| u.totals == a.expected))
    };
    poll_until(SETTLE, fetch, matches).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let users = fetch().await?;
    let pick = |a: &&Activity| match users.get(&a.email) {
        Some(u) => u.clone(),
        None => panic!(
            "no usage rows for {}; the usage API reported: {users:#?}",
            a.email
        ),
    };
    Ok(activities.iter().map(pick).collect())
}

/// Per-user assertions: exact totals, everything attributed to the `codex exec` client, and
/// the per-model breakdown carrying the same tokens.
fn assert_user(usage: &UserUsage, activity: &Activity) {
    let who = &activity.email;
    assert_eq!(usage.email.as_deref(), Some(who.as_str()), "{usage:?}");
    assert!(
        usage.user_id.starts_with("user-"),
        "{who}: user_id {:?}",
        usage.user_id
    );
    assert_eq!(
        usage.rows, 1,
        "{who}: one daily row expected (did the test cross midnight UTC?)"
    );
    assert_eq!(usage.totals, activity.expected, "{who}: totals");
    let clients: BTreeSet<&str> = usage.clients.keys().map(String::as_str).collect();
    assert_eq!(clients, BTreeSet::from([EXEC_CLIENT]), "{who}: clients");
    assert_eq!(
        usage.clients[EXEC_CLIENT], activity.expected,
        "{who}: clients[{EXEC_CLIENT}]"
    );
    let model_tokens: u64 = usage.models.values().map(|m| m.text_total_tokens).sum();
    assert_eq!(
        model_tokens, activity.expected.text_total_tokens,
        "{who}: models {:?}",
        usage.models
    );
}

fn steward_bin() -> &'static Path {
    Path::new(STEWARD)
}

/// Two users on one server, each with a per-user ingest token: one Codex exports OTLP/JSON, the
/// other OTLP/protobuf. Each user's figures must be exactly their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_exec_usage_per_user_over_otlp_json_and_protobuf() {
    let server = StewardServer::spawn_fresh(steward_bin())
        .await
        .expect("steward serve");
    let workspace_id = server.default_workspace_id().expect("default workspace");
    let api = UsageApi::new(server.base_url(), server.analytics_key().expect("key")).expect("client");

    let mut activities = Vec::new();
    for (email, protocol, scale) in [
        ("json-user@example.com", OtlpProtocol::Json, 1),
        ("protobuf-user@example.com", OtlpProtocol::Binary, 3),
    ] {
        server.add_user(email).expect("users add");
        let exporter = OtelExporter {
            endpoint: server.logs_endpoint(),
            protocol,
            bearer_token: server.user_ingest_token(email).expect("tokens create --user"),
        };
        let activity = codex_session(email, exporter, &[], scale)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "codex session of {email}: {e:#}\n--- steward log ---\n{}",
                    server.logs()
                )
            });
        activities.push(activity);
    }

    let refs: Vec<&Activity> = activities.iter().collect();
    let users = settled_usage(&api, &workspace_id, &refs)
        .await
        .expect("usage API");
    for (usage, activity) in users.iter().zip(&activities) {
        assert_user(usage, activity);
    }

    // The workspace aggregate is the sum of both users (threads are distinct, so they add up).
    let rows = api
        .rows_around_now(&workspace_id, &[("group", "workspace".to_owned())])
        .await
        .expect("usage API, group=workspace");
    assert_eq!(rows.len(), 1, "one workspace row for today: {rows:?}");
    assert!(
        rows[0]["user_id"].is_null(),
        "workspace rows have no user: {}",
        rows[0]
    );
    let ws = &rows[0]["totals"];
    let e = [activities[0].expected, activities[1].expected];
    assert_eq!(ws["threads"], e[0].threads + e[1].threads);
    assert_eq!(ws["turns"], e[0].turns + e[1].turns);
    assert_eq!(
        ws["text_total_tokens"],
        e[0].text_total_tokens + e[1].text_total_tokens
    );
    assert_eq!(
        ws["cached_text_input_tokens"],
        e[0].cached_text_input_tokens + e[1].cached_text_input_tokens
    );
}

/// A workspace-wide ingest token: the user comes from the resource attribute `user.email`
/// (set through the standard `OTEL_RESOURCE_ATTRIBUTES`, which Codex's SDK honours).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_exec_with_workspace_token_lands_on_resource_email() {
    let server = StewardServer::spawn_fresh(steward_bin())
        .await
        .expect("steward serve");
    let workspace_id = server.default_workspace_id().expect("default workspace");
    let api = UsageApi::new(server.base_url(), server.analytics_key().expect("key")).expect("client");
    let email = "someone@example.com";
    server.add_user(email).expect("users add");

    let exporter = OtelExporter {
        endpoint: server.logs_endpoint(),
        protocol: OtlpProtocol::Binary,
        bearer_token: server
            .workspace_ingest_token()
            .expect("tokens create --workspace"),
    };
    let attrs = format!("user.email={email}");
    let activity = codex_session(email, exporter, &[("OTEL_RESOURCE_ATTRIBUTES", &attrs)], 2)
        .await
        .unwrap_or_else(|e| panic!("codex session: {e:#}\n--- steward log ---\n{}", server.logs()));

    let users = settled_usage(&api, &workspace_id, &[&activity])
        .await
        .expect("usage API");
    assert_user(&users[0], &activity);
}
