//! Codex tasks and environments of the Compliance API (wire-formats §2.5) against a real
//! `steward serve` (SQLite): real Codex 0.169.0 captures become tasks with their user, times,
//! turns and tokens, and environments with their host and (from traces) working directory;
//! pages hold every task and environment once; keys need `compliance.read` and their own
//! workspace; bad parameters are 400s naming the parameter; unknown ids are 404s.

mod common;
mod compliance;

use std::collections::{BTreeMap, BTreeSet};

use compliance::harness::{str_field, Env, Reply, NO_AUTO_SEAL, USER};
use compliance::otlp::{fixture_bodies, log_records, post_fixture, prompt_batch, string_attr};
use serde_json::Value;

const HOST: &str = "<hostname>";
const CWD: &str = "/home/<user>/project";

/// What a capture says about each thread: first and last event time (ms) and prompts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Seen {
    first_ms: i64,
    last_ms: i64,
    prompts: i64,
}

fn threads_in_logs(name: &str) -> BTreeMap<String, Seen> {
    let mut out: BTreeMap<String, Seen> = BTreeMap::new();
    for r in log_records(name) {
        let attr = |k: &str| string_attr(&r, k);
        let (Some(thread), Some(ts)) = (attr("conversation.id"), attr("event.timestamp")) else {
            continue;
        };
        let ms = chrono::DateTime::parse_from_rfc3339(&ts)
            .expect("event.timestamp")
            .timestamp_millis();
        let seen = out.entry(thread).or_insert(Seen {
            first_ms: ms,
            last_ms: ms,
            prompts: 0,
        });
        seen.first_ms = seen.first_ms.min(ms);
        seen.last_ms = seen.last_ms.max(ms);
        if attr("event.name").as_deref() == Some("codex.user_prompt") {
            seen.prompts += 1;
        }
    }
    out
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

async fn get_in(env: &Env, ws: &str, path_and_query: &str, key: &str) -> Reply {
    env.get(
        &format!("/v1/compliance/workspaces/{ws}/{path_and_query}"),
        Some(key),
    )
    .await
}

/// A 200 JSON answer.
async fn ok_in(env: &Env, ws: &str, path_and_query: &str, key: &str) -> Value {
    let reply = get_in(env, ws, path_and_query, key).await;
    assert_eq!(reply.status, 200, "GET {path_and_query}: {}", reply.text());
    reply.json()
}

async fn ok(env: &Env, path_and_query: &str) -> Value {
    ok_in(env, &env.ws, path_and_query, &env.key).await
}

fn data(page: &Value) -> &Vec<Value> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {page}"))
}

fn user_id(env: &Env, extra: &[&str], email: &str) -> String {
    let mut args = vec!["users", "add", email];
    args.extend_from_slice(extra);
    str_field(&env.cli_json(&args), "id")
}

/// Every task of a workspace, following `cursor` with `limit`; asserts the envelope.
async fn all_tasks(env: &Env, limit: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut q = format!("codex_tasks?limit={limit}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let page = ok(env, &q).await;
        assert_eq!(page["object"], "list", "{page}");
        let items = data(&page);
        assert!(items.len() <= limit as usize, "{page}");
        out.extend(items.iter().cloned());
        if page["has_more"] == false {
            assert_eq!(page["cursor"], Value::Null, "{page}");
            return out;
        }
        assert_eq!(items.len(), limit as usize, "a page with more is full: {page}");
        cursor = Some(str_field(&page, "cursor"));
    }
    panic!("paging never ended");
}

/// Real captures: two threads (one resumed), with traces telling their working directory.
#[tokio::test(flavor = "multi_thread")]
async fn codex_captures_become_tasks_and_environments_with_real_figures() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let user = user_id(&env, &[], USER);
    post_fixture(&env, "/v1/traces", "traces.jsonl").await;
    post_fixture(&env, "/v1/logs", "logs-prompt-logged.jsonl").await;
    // Codex's exporter retries: duplicates change no figure.
    post_fixture(&env, "/v1/logs", "logs-prompt-logged.jsonl").await;

    let seen = threads_in_logs("logs-prompt-logged.jsonl");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let env_id = steward_store::environment_id(&env.ws, HOST, Some(CWD));
    // From the capture's README: the tool turn (2 responses), then a plain turn resumed once.
    let tokens: BTreeMap<&str, (i64, i64, i64, i64)> = [
        ("01a1fb8b-036e-7782-bb8e-2c3153e430bf", (2700, 1300, 75, 10)),
        ("01a1fb8b-11ab-7351-abba-d6816c005029", (1900, 800, 45, 10)),
    ]
    .into();

    let page = ok(&env, "codex_tasks").await;
    assert_eq!(
        (
            page["object"].clone(),
            page["has_more"].clone(),
            page["cursor"].clone()
        ),
        ("list".into(), false.into(), Value::Null),
        "{page}"
    );
    let tasks = data(&page);
    assert_eq!(tasks.len(), 2, "{page}");
    // Newest updated_at first: the resumed thread.
    assert_eq!(tasks[0]["id"], "01a1fb8b-11ab-7351-abba-d6816c005029", "{page}");
    for t in tasks {
        let id = str_field(t, "id");
        let s = seen[&id];
        let (input, cached, output, reasoning) = tokens[id.as_str()];
        assert_eq!(t["object"], "compliance.workspace.codex_task", "{t}");
        assert_eq!(f(&t["created_at"]), secs(s.first_ms), "{t}");
        assert_eq!(f(&t["updated_at"]), secs(s.last_ms), "{t}");
        assert_eq!(t["created_by_id"], user.as_str(), "{t}");
        assert_eq!(t["title"], Value::Null, "no prompt text in the title: {t}");
        let m = &t["denormalized_metadata"];
        assert_eq!(m["turns"], s.prompts, "{t}");
        assert_eq!(
            m["token_usage"],
            serde_json::json!({
                "input_tokens": input, "cached_input_tokens": cached, "output_tokens": output,
                "reasoning_output_tokens": reasoning, "total_tokens": input + output,
            }),
            "{t}"
        );
        assert_eq!(m["model"], "gpt-5-codex", "{t}");
        assert_eq!(m["client_id"], "CODEX_SERVICE_EXEC", "{t}");
        assert_eq!(m["host_name"], HOST, "{t}");
        assert_eq!(m["workspace_dir"], CWD, "{t}");
        assert_eq!(m["environment_id"], env_id.as_str(), "{t}");
        let one = ok(&env, &format!("codex_tasks/{id}")).await;
        assert_eq!(&one, t, "GET one task equals its list entry");
    }
    assert_eq!(
        tasks
            .iter()
            .map(|t| t["denormalized_metadata"]["turns"].as_i64().unwrap())
            .sum::<i64>(),
        3
    );

    let envs = ok(&env, "codex_environments").await;
    assert_eq!(
        (
            envs["object"].clone(),
            envs["has_more"].clone(),
            envs["last_id"].clone()
        ),
        ("list".into(), false.into(), env_id.as_str().into()),
        "{envs}"
    );
    let e = &data(&envs)[0];
    assert_eq!(data(&envs).len(), 1, "{envs}");
    let first_ms = seen.values().map(|s| s.first_ms).min().unwrap();
    assert_eq!(e["object"], "compliance.workspace.codex_environment");
    assert_eq!(e["id"], env_id.as_str());
    assert_eq!(f(&e["created_at"]), secs(first_ms), "{e}");
    assert_eq!(e["machine_id"], HOST);
    assert_eq!(e["label"], "<hostname>:project");
    assert_eq!(e["workspace_dir"], CWD);
    assert_eq!(e["task_count"], 2);
    assert_eq!(e["creator_id"], user.as_str());
    assert_eq!(e["repos"], serde_json::json!([]));
    assert_eq!(e["is_pinned"], false);
    assert_eq!(&ok(&env, &format!("codex_environments/{env_id}")).await, e);

    // The same run without traces: the directory is unknown, so its threads are in the
    // host's "directory unknown" environment.
    post_fixture(&env, "/v1/logs", "logs-prompt-redacted.jsonl").await;
    let redacted = threads_in_logs("logs-prompt-redacted.jsonl");
    let tasks = all_tasks(&env, 50).await;
    assert_eq!(tasks.len(), 4);
    let host_only = steward_store::environment_id(&env.ws, HOST, None);
    for t in tasks
        .iter()
        .filter(|t| redacted.contains_key(&str_field(t, "id")))
    {
        let m = &t["denormalized_metadata"];
        assert_eq!(
            (m["workspace_dir"].clone(), m["environment_id"].clone()),
            (Value::Null, host_only.as_str().into()),
            "{t}"
        );
    }
    let envs = ok(&env, "codex_environments").await;
    let by_id: BTreeMap<String, &Value> = data(&envs).iter().map(|e| (str_field(e, "id"), e)).collect();
    assert_eq!(by_id.len(), 2, "{envs}");
    let h = by_id[&host_only];
    assert_eq!(
        (
            h["label"].clone(),
            h["workspace_dir"].clone(),
            h["task_count"].clone()
        ),
        (HOST.into(), Value::Null, 2.into()),
        "{h}"
    );
    // Newest first: the redacted run came later.
    assert_eq!(data(&envs)[0]["id"], host_only.as_str(), "{envs}");
}

/// Tasks page newest `updated_at` first with an opaque cursor; environments with
/// `after=<last_id>`. Every item comes exactly once, ties included.
#[tokio::test(flavor = "multi_thread")]
async fn pages_hold_every_task_and_environment_once() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let at = common::now_ms() - 60_000;
    // Two batches at the same times: 23 pairs of threads with equal updated_at.
    for label in ["one", "two"] {
        let (_, body) = prompt_batch(label, 23, at);
        env.ingest("/v1/logs", "application/x-protobuf", body).await;
    }
    let default = ok(&env, "codex_tasks").await;
    assert_eq!(data(&default).len(), 30, "default limit is 30");
    assert_eq!(default["has_more"], true);
    let fifty = ok(&env, "codex_tasks?limit=50").await;
    assert_eq!(
        (data(&fifty).len(), fifty["has_more"].clone()),
        (46, false.into())
    );

    let by_7 = all_tasks(&env, 7).await;
    let ids: Vec<String> = by_7.iter().map(|t| str_field(t, "id")).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (46, 46), "{ids:?}");
    let whole: Vec<String> = data(&fifty).iter().map(|t| str_field(t, "id")).collect();
    assert_eq!(ids, whole, "pages are the same order as one big page");
    let times: Vec<f64> = by_7.iter().map(|t| f(&t["updated_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // Five hosts, one thread each, a second apart.
    for n in 0..5 {
        let thread = format!("env-thread-{n}-{}", uuid::Uuid::new_v4().simple());
        let records = common::turn_records(&thread, at + 10_000 + n * 1000, common::Tokens::default(), "m");
        let mut resource = common::codex_resource();
        resource.retain(|kv| kv.key != "host.name");
        resource.push(common::s("host.name", &format!("host-{n}")));
        let body = common::protobuf(&common::request(resource, records));
        env.ingest("/v1/logs", "application/x-protobuf", body).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("codex_environments?limit=2&after={a}"),
            None => "codex_environments?limit=2".to_owned(),
        };
        let page = ok(&env, &q).await;
        let items = data(&page);
        seen.extend(items.iter().map(|e| str_field(e, "machine_id")));
        assert_eq!(
            page["last_id"],
            items.last().map_or(Value::Null, |e| e["id"].clone()),
            "{page}"
        );
        if page["has_more"] == false {
            break;
        }
        after = Some(str_field(&page, "last_id"));
    }
    // Newest first; the 46 prompt threads ran on the harness's host, the oldest environment.
    assert_eq!(
        seen,
        vec!["host-4", "host-3", "host-2", "host-1", "host-0", "test-host"],
        "{seen:?}"
    );
}

/// Scope, workspace, unknown ids and bad parameters; a second workspace sees only its own.
#[tokio::test(flavor = "multi_thread")]
async fn keys_ids_and_parameters_are_checked_and_workspaces_are_isolated() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    post_fixture(&env, "/v1/traces", "traces.jsonl").await;
    post_fixture(&env, "/v1/logs", "logs-prompt-logged.jsonl").await;
    let task_id = "01a1fb8b-036e-7782-bb8e-2c3153e430bf";
    let env_id = steward_store::environment_id(&env.ws, HOST, Some(CWD));
    let routes = [
        "codex_tasks".to_owned(),
        format!("codex_tasks/{task_id}"),
        "codex_environments".to_owned(),
        format!("codex_environments/{env_id}"),
    ];

    let analytics = env.create_key("codex.enterprise.analytics.read");
    for route in &routes {
        assert_eq!(
            get_in(&env, &env.ws, route, &env.key).await.status,
            200,
            "{route}"
        );
        let reply = get_in(&env, &env.ws, route, &analytics).await;
        assert_eq!(reply.status, 403, "{route}: {}", reply.text());
        assert!(reply.text().contains("compliance.read"), "{}", reply.text());
        let reply = get_in(&env, &env.ws, route, &env.ingest_token).await;
        assert_eq!(reply.status, 403, "ingest token on {route}");
        let path = format!("/v1/compliance/workspaces/{}/{route}", env.ws);
        assert_eq!(env.get(&path, None).await.status, 401, "{route}");
    }

    for (route, what) in [
        ("codex_tasks/no-such-thread", "Codex task"),
        (
            "codex_environments/env_000000000000000000000000",
            "Codex environment",
        ),
    ] {
        let reply = get_in(&env, &env.ws, route, &env.key).await;
        assert_eq!(reply.status, 404, "{route}: {}", reply.text());
        assert!(
            reply.json()["detail"].as_str().is_some_and(|d| d.contains(what)),
            "{}",
            reply.text()
        );
    }

    for (query, names) in [
        ("codex_tasks?limit=0", "limit"),
        ("codex_tasks?limit=51", "limit"),
        ("codex_tasks?limit=ten", "limit"),
        ("codex_tasks?cursor=not-a-cursor", "cursor"),
        ("codex_tasks?cursor=eyJ1Ijp0cnVlfQ", "cursor"),
        ("codex_environments?limit=0", "limit"),
        ("codex_environments?limit=100", "limit"),
        ("codex_environments?after=env_unknown", "after"),
    ] {
        let reply = get_in(&env, &env.ws, query, &env.key).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
        let detail = reply.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.starts_with(names), "{query}: {detail}");
    }

    // A second workspace, with its own user, token and key, gets the same capture.
    let ws2 = {
        let store = steward_store_sqlite::SqliteStore::open(&env.data_dir().join("steward.db"))
            .await
            .expect("open the server's database");
        steward_store::Store::create_workspace(&store, "Second")
            .await
            .expect("second workspace")
            .id
    };
    let in_ws2 = ["--workspace-id", ws2.as_str()];
    let user2 = user_id(&env, &in_ws2, "second@example.com");
    let mut args = vec!["tokens", "create", "--user", "second@example.com"];
    args.extend_from_slice(&in_ws2);
    let token2 = str_field(&env.cli_json(&args), "token");
    let mut args = vec!["keys", "create", "--scope", "compliance.read"];
    args.extend_from_slice(&in_ws2);
    let key2 = str_field(&env.cli_json(&args), "key");
    for body in fixture_bodies("logs-prompt-logged.jsonl") {
        let url = format!("{}/v1/logs", env.server.base_url());
        let (status, _, resp) = common::post(
            &url,
            Some(&token2),
            "application/json",
            None,
            serde_json::to_vec(&body).expect("json"),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    }

    let page2 = ok_in(&env, &ws2, "codex_tasks", &key2).await;
    assert_eq!(data(&page2).len(), 2, "{page2}");
    assert!(
        data(&page2).iter().all(|t| t["created_by_id"] == user2.as_str()),
        "{page2}"
    );
    let page1 = ok(&env, "codex_tasks").await;
    assert!(
        data(&page1).iter().all(|t| t["created_by_id"] != user2.as_str()),
        "{page1}"
    );
    // The same thread id is a task of each workspace, with each one's user.
    let t2 = ok_in(&env, &ws2, &format!("codex_tasks/{task_id}"), &key2).await;
    assert_eq!(t2["created_by_id"], user2.as_str());
    // No traces were sent for ws2: its environment is the host's, directory unknown.
    let envs2 = ok_in(&env, &ws2, "codex_environments", &key2).await;
    assert_eq!(data(&envs2).len(), 1, "{envs2}");
    assert_eq!(
        data(&envs2)[0]["id"],
        steward_store::environment_id(&ws2, HOST, None).as_str()
    );
    let reply = get_in(&env, &ws2, &format!("codex_environments/{env_id}"), &key2).await;
    assert_eq!(
        reply.status,
        404,
        "another workspace's environment: {}",
        reply.text()
    );
    // Each key is refused on the other workspace.
    for route in &routes {
        let reply = get_in(&env, &ws2, route, &env.key).await;
        assert_eq!(reply.status, 403, "{route}: {}", reply.text());
        assert!(reply.text().contains("another workspace"), "{}", reply.text());
        assert_eq!(get_in(&env, &env.ws, route, &key2).await.status, 403, "{route}");
    }
}
