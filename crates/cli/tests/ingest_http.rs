//! OTLP receiver and usage API against a real `steward serve` (SQLite): bad input never changes
//! stored figures, retries count once, acknowledged data survives SIGKILL.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use steward_test_support::steward::StewardServer;
use steward_test_support::usage_api::{by_user, UsageApi};

/// A server with one user, its ingest token, an analytics key and a first turn already stored.
struct Fixture {
    server: StewardServer,
    _dir: tempfile::TempDir,
    ws: String,
    token: String,
    api: UsageApi,
}

async fn fixture(extra_env: &[(&str, &str)]) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = StewardServer::spawn(&steward_bin(), dir.path(), &[], extra_env)
        .await
        .expect("steward serve starts");
    server.add_user("dana@example.com").expect("add user");
    let token = server.user_ingest_token("dana@example.com").expect("token");
    let key = server.analytics_key().expect("key");
    let ws = server.default_workspace_id().expect("ws");
    let api = UsageApi::new(server.base_url(), key).expect("client");
    Fixture {
        server,
        _dir: dir,
        ws,
        token,
        api,
    }
}

fn logs_url(f: &Fixture) -> String {
    f.server.logs_endpoint()
}

/// Everything the usage API says, per user and per workspace, for comparison.
async fn snapshot(f: &Fixture) -> (Vec<Value>, Vec<Value>) {
    let users = f.api.rows_around_now(&f.ws, &[]).await.expect("per-user rows");
    let ws = f
        .api
        .rows_around_now(&f.ws, &[("group", "workspace".to_owned())])
        .await
        .expect("workspace rows");
    (users, ws)
}

fn one_turn(thread: &str, tokens: Tokens) -> Vec<u8> {
    protobuf(&request(
        codex_resource(),
        turn_records(thread, now_ms(), tokens, "gpt-5-codex"),
    ))
}

async fn ingest_ok(f: &Fixture, body: Vec<u8>) {
    let (status, _, resp) = post(&logs_url(f), Some(&f.token), "application/x-protobuf", None, body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_is_counted_with_exact_tokens() {
    let f = fixture(&[]).await;
    ingest_ok(
        &f,
        one_turn(
            "thread-a",
            Tokens {
                input: 1200,
                cached: 200,
                output: 30,
            },
        ),
    )
    .await;
    ingest_ok(
        &f,
        one_turn(
            "thread-a",
            Tokens {
                input: 800,
                cached: 0,
                output: 70,
            },
        ),
    )
    .await;
    let (rows, _) = snapshot(&f).await;
    let users = by_user(&rows);
    let dana = users
        .get("dana@example.com")
        .unwrap_or_else(|| panic!("dana has a row: {rows:?}"));
    assert_eq!(rows.len(), 1);
    let t = &rows[0]["totals"];
    assert_eq!(
        (t["threads"].as_i64(), t["turns"].as_i64()),
        (Some(1), Some(2)),
        "{t}"
    );
    assert_eq!(t["uncached_text_input_tokens"], 1800);
    assert_eq!(t["cached_text_input_tokens"], 200);
    assert_eq!(t["text_output_tokens"], 100);
    assert_eq!(t["text_total_tokens"], 2100);
    assert!(t["credits"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(rows[0]["clients"][0]["client_id"], "CODEX_SERVICE_EXEC");
    assert!(dana.clients.contains_key("CODEX_SERVICE_EXEC"));
}

#[tokio::test(flavor = "multi_thread")]
async fn resending_an_acknowledged_batch_changes_nothing() {
    let f = fixture(&[]).await;
    let req = request(
        codex_resource(),
        turn_records(
            "thread-r",
            now_ms(),
            Tokens {
                input: 500,
                cached: 100,
                output: 50,
            },
            "gpt-5-codex",
        ),
    );
    ingest_ok(&f, protobuf(&req)).await;
    let before = snapshot(&f).await;
    // The same batch again: as protobuf, gzipped, and as OTLP/JSON (an exporter switching protocol).
    ingest_ok(&f, protobuf(&req)).await;
    let (status, _, _) = post(
        &logs_url(&f),
        Some(&f.token),
        "application/x-protobuf",
        Some("gzip"),
        gzip(&protobuf(&req)),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = post(
        &logs_url(&f),
        Some(&f.token),
        "application/json",
        None,
        json(&req),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(snapshot(&f).await, before);
}

/// Each bad request gets its documented status and a message naming the problem, and leaves
/// every figure exactly as it was.
#[tokio::test(flavor = "multi_thread")]
async fn bad_otlp_input_is_refused_without_changing_figures() {
    let f = fixture(&[("STEWARD_INGEST__MAX_BODY_BYTES", "65536")]).await;
    ingest_ok(
        &f,
        one_turn(
            "thread-b",
            Tokens {
                input: 1000,
                cached: 0,
                output: 10,
            },
        ),
    )
    .await;
    let before = snapshot(&f).await;
    let good = one_turn(
        "thread-new",
        Tokens {
            input: 99,
            cached: 0,
            output: 9,
        },
    );
    let url = logs_url(&f);
    let tok = Some(f.token.as_str());
    type Case = (
        &'static str,
        (u16, reqwest::header::HeaderMap, Vec<u8>),
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed protobuf",
            post(
                &url,
                tok,
                "application/x-protobuf",
                None,
                vec![0x0a, 0xff, 0xff, 0x01, 0x02],
            )
            .await,
            400,
            "malformed protobuf",
        ),
        (
            "malformed JSON",
            post(
                &url,
                tok,
                "application/json",
                None,
                b"{\"resourceLogs\": [".to_vec(),
            )
            .await,
            400,
            "malformed JSON",
        ),
        (
            "wrong content type",
            post(&url, tok, "text/plain", None, good.clone()).await,
            415,
            "unsupported content type",
        ),
        (
            "oversize body",
            post(&url, tok, "application/x-protobuf", None, vec![0u8; 70_000]).await,
            413,
            "exceeds the limit",
        ),
        (
            "gzip bomb",
            post(
                &url,
                tok,
                "application/x-protobuf",
                Some("gzip"),
                gzip(&vec![0u8; 200_000]),
            )
            .await,
            413,
            "exceeds the limit",
        ),
        (
            "corrupt gzip",
            post(
                &url,
                tok,
                "application/x-protobuf",
                Some("gzip"),
                b"\x1f\x8b\x08garbage".to_vec(),
            )
            .await,
            400,
            "corrupt gzip",
        ),
        (
            "unknown encoding",
            post(&url, tok, "application/x-protobuf", Some("br"), good.clone()).await,
            415,
            "content encoding",
        ),
        (
            "missing token",
            post(&url, None, "application/x-protobuf", None, good.clone()).await,
            401,
            "missing bearer token",
        ),
        (
            "invalid token",
            post(
                &url,
                Some("stw_it_not-a-real-token"),
                "application/x-protobuf",
                None,
                good.clone(),
            )
            .await,
            401,
            "invalid authentication",
        ),
    ];
    for (name, (status, headers, body), want, needle) in cases {
        assert_eq!(status, want, "{name}: {}", String::from_utf8_lossy(&body));
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains(needle),
            "{name}: body {text:?} should mention {needle:?}"
        );
        if status == 401 {
            assert_eq!(
                headers.get("www-authenticate").map(|v| v.as_bytes()),
                Some(&b"Bearer"[..]),
                "{name}"
            );
        }
        assert_eq!(snapshot(&f).await, before, "{name} changed stored figures");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_with_bad_attributes_are_rejected_alone() {
    let f = fixture(&[]).await;
    let mut records = turn_records(
        "thread-c",
        now_ms(),
        Tokens {
            input: 300,
            cached: 0,
            output: 3,
        },
        "gpt-5-codex",
    );
    records.push(vec![
        s("event.name", "codex.sse_event"),
        s("event.kind", "response.completed"),
        b("input_token_count", true),
    ]);
    records.push(vec![
        s("event.name", "codex.user_prompt"),
        i("conversation.id", 42),
    ]);
    records.push(vec![
        s("event.name", "codex.from_the_future"),
        s("anything", "goes"),
    ]);
    let req = request(codex_resource(), records);
    let (status, _, body) = post(
        &logs_url(&f),
        Some(&f.token),
        "application/json",
        None,
        json(&req),
    )
    .await;
    assert_eq!(status, 200);
    let resp: Value = serde_json::from_slice(&body).expect("json response");
    let partial = &resp["partialSuccess"];
    assert_eq!(
        partial["rejectedLogRecords"]
            .as_i64()
            .or_else(|| partial["rejectedLogRecords"].as_str()?.parse().ok()),
        Some(2),
        "{resp}"
    );
    let msg = partial["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains("`input_token_count`") && msg.contains("`conversation.id`"),
        "{msg}"
    );
    // The valid turn counts; the unknown event is stored but counts toward nothing.
    let (rows, _) = snapshot(&f).await;
    assert_eq!(rows[0]["totals"]["turns"], 1);
    assert_eq!(rows[0]["totals"]["uncached_text_input_tokens"], 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_and_metrics_are_accepted_and_validated() {
    let f = fixture(&[]).await;
    let base = f.server.base_url();
    for path in ["/v1/traces", "/v1/metrics"] {
        let (status, _, _) = post(
            &format!("{base}{path}"),
            Some(&f.token),
            "application/json",
            None,
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, 200, "{path} accepts an empty export");
        let (status, _, body) = post(
            &format!("{base}{path}"),
            Some(&f.token),
            "application/x-protobuf",
            None,
            vec![0xff; 8],
        )
        .await;
        assert_eq!(status, 400, "{path}: {}", String::from_utf8_lossy(&body));
        let (status, _, _) = post(
            &format!("{base}{path}"),
            None,
            "application/json",
            None,
            b"{}".to_vec(),
        )
        .await;
        assert_eq!(status, 401, "{path} needs a token");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_api_rejects_bad_parameters_and_credentials() {
    let f = fixture(&[]).await;
    let url = format!(
        "{}/v1/analytics/codex/workspaces/{}/usage",
        f.server.base_url(),
        f.ws
    );
    let key = f.server.analytics_key().expect("key");
    let compliance_key = f
        .server
        .admin(&["keys", "create", "--scope", "compliance.read"])
        .expect("key")["key"]
        .as_str()
        .expect("key field")
        .to_owned();
    let now = now_ms() / 1000;
    let today = now - now % 86_400;
    let http = reqwest::Client::new();
    let get = |q: Vec<(&'static str, String)>, auth: Option<String>| {
        let mut rb = http.get(&url).query(&q);
        if let Some(a) = auth {
            rb = rb.bearer_auth(a);
        }
        async move {
            let r = rb.send().await.expect("reaches steward");
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
    };
    let k = || Some(key.clone());
    let cases = vec![
        (
            "reversed window",
            get(
                vec![
                    ("start_time", today.to_string()),
                    ("end_time", (today - 86_400).to_string()),
                ],
                k(),
            )
            .await,
            400,
            "end_time must be greater than start_time",
        ),
        (
            "limit 0",
            get(vec![("limit", "0".into())], k()).await,
            422,
            "\"limit\"",
        ),
        (
            "limit too big",
            get(vec![("limit", "30001".into())], k()).await,
            422,
            "less than or equal to 30000",
        ),
        (
            "limit not a number",
            get(vec![("limit", "ten".into())], k()).await,
            422,
            "valid integer",
        ),
        (
            "garbage cursor",
            get(vec![("page", "definitely-not-a-cursor".into())], k()).await,
            400,
            "Invalid page cursor",
        ),
        (
            "lookback beyond cap",
            get(vec![("start_time", (today - 200 * 86_400).to_string())], k()).await,
            400,
            "within the last 90 days",
        ),
        ("no key", get(vec![], None).await, 401, "missing bearer token"),
        (
            "wrong key",
            get(vec![], Some("stw_ak_nope".into())).await,
            401,
            "invalid authentication",
        ),
        (
            "ingest token is not an API key",
            get(vec![], Some(f.token.clone())).await,
            403,
            "insufficient_scope",
        ),
        (
            "key without the analytics scope",
            get(vec![], Some(compliance_key.clone())).await,
            403,
            "codex.enterprise.analytics.read",
        ),
    ];
    for (name, (status, body), want, needle) in cases {
        assert_eq!(status, want, "{name}: {body}");
        assert!(
            body.contains(needle),
            "{name}: {body:?} should mention {needle:?}"
        );
        let parsed: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {body}"));
        assert!(
            parsed.get("detail").is_some(),
            "{name}: FastAPI-style detail: {body}"
        );
    }
    let other_ws = format!(
        "{}/v1/analytics/codex/workspaces/00000000-0000-0000-0000-000000000000/usage",
        f.server.base_url()
    );
    let r = http
        .get(&other_ws)
        .bearer_auth(&key)
        .send()
        .await
        .expect("reaches");
    assert_eq!(r.status().as_u16(), 403, "a key only reads its own workspace");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_and_groupings_follow_the_wire_format() {
    let f = fixture(&[]).await;
    let ws_token = f.server.workspace_ingest_token().expect("workspace token");
    // Three users through a workspace token (identity from user.email), one unattributed host.
    for (n, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let mut resource = codex_resource();
        resource.push(s("user.email", email));
        let body = protobuf(&request(
            resource,
            turn_records(
                &format!("t-{n}"),
                now_ms(),
                Tokens {
                    input: 100,
                    cached: 0,
                    output: 1,
                },
                "gpt-5-codex",
            ),
        ));
        let (status, _, _) = post(
            &logs_url(&f),
            Some(&ws_token),
            "application/x-protobuf",
            None,
            body,
        )
        .await;
        assert_eq!(status, 200);
    }
    let body = protobuf(&request(
        codex_resource(),
        turn_records(
            "t-host",
            now_ms(),
            Tokens {
                input: 7,
                cached: 0,
                output: 1,
            },
            "gpt-5-codex",
        ),
    ));
    assert_eq!(
        post(
            &logs_url(&f),
            Some(&ws_token),
            "application/x-protobuf",
            None,
            body
        )
        .await
        .0,
        200
    );

    let (start, end) = steward_test_support::usage_api::window_around_now();
    let mut q = vec![
        ("start_time", start.to_string()),
        ("end_time", end.to_string()),
        ("limit", "1".to_owned()),
    ];
    let mut seen = Vec::new();
    loop {
        let page = f.api.page(&f.ws, &q).await.expect("page");
        assert_eq!(page["object"], "page");
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= 1);
        seen.extend(
            data.iter()
                .map(|r| r["user_id"].as_str().unwrap_or_default().to_owned()),
        );
        if page["has_more"] == false {
            assert_eq!(page["next_page"], Value::Null);
            break;
        }
        q.retain(|(k, _)| *k != "page");
        q.push(("page", page["next_page"].as_str().expect("cursor").to_owned()));
    }
    assert_eq!(seen.len(), 4, "three people and one unattributed host: {seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "rows ordered by user id within a day");

    let ws_rows = f
        .api
        .rows_around_now(&f.ws, &[("group", "workspace".to_owned())])
        .await
        .expect("workspace rows");
    assert_eq!(ws_rows.len(), 1);
    assert_eq!(ws_rows[0]["user_id"], Value::Null);
    assert_eq!(ws_rows[0]["actor"], Value::Null);
    assert_eq!(ws_rows[0]["totals"]["threads"], 4);
    assert_eq!(ws_rows[0]["totals"]["turns"], 4);
    assert_eq!(ws_rows[0]["totals"]["uncached_text_input_tokens"], 307);
    let week = f
        .api
        .rows_around_now(
            &f.ws,
            &[("group", "workspace".to_owned()), ("group_by", "week".to_owned())],
        )
        .await
        .expect("weeks");
    let w = &week[0];
    assert_eq!(
        w["end_time"].as_i64().unwrap_or(0) - w["start_time"].as_i64().unwrap_or(0),
        7 * 86_400
    );
    assert_eq!(w["totals"]["threads"], 4);
}

/// Data acknowledged with 200 is on disk: SIGKILL right after the response loses nothing.
#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_data_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = steward_bin();
    let mut server = StewardServer::spawn(&bin, dir.path(), &[], &[])
        .await
        .expect("starts");
    server.add_user("kill@example.com").expect("user");
    let token = server.user_ingest_token("kill@example.com").expect("token");
    let key = server.analytics_key().expect("key");
    let ws = server.default_workspace_id().expect("ws");
    let mut expected_input = 0;
    for n in 0..20 {
        let tokens = Tokens {
            input: 1000 + n,
            cached: 0,
            output: 1,
        };
        expected_input += tokens.input;
        let body = protobuf(&request(
            codex_resource(),
            turn_records(&format!("k-{n}"), now_ms(), tokens, "gpt-5-codex"),
        ));
        let (status, _, _) = post(
            &server.logs_endpoint(),
            Some(&token),
            "application/x-protobuf",
            None,
            body,
        )
        .await;
        assert_eq!(status, 200);
    }
    server.kill_hard().expect("SIGKILL");
    let restarted = StewardServer::spawn(&bin, dir.path(), &[], &[])
        .await
        .expect("restarts on the same data");
    let api = UsageApi::new(restarted.base_url(), key).expect("client");
    let rows = api.rows_around_now(&ws, &[]).await.expect("rows");
    assert_eq!(rows[0]["totals"]["turns"], 20);
    assert_eq!(rows[0]["totals"]["uncached_text_input_tokens"], expected_input);
    drop(restarted);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
