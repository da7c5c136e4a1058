//! `steward agent ship` into a real `steward serve`, the usage API checked against what Codex
//! really did:
//! - sessions of the pinned Codex CLI (a tool call, a plain thread resumed later, a second home
//!   of the same person), shipped with no OTLP at all: exactly the stand-in's tokens, turns and
//!   threads; shipping again, or after the shipper's state is deleted or emptied, changes
//!   nothing and sends nothing;
//! - the compliance log holds each prompt, answer and tool call (with its input and output)
//!   read from the rollouts, once, however often they were shipped;
//! - the same sessions also exported over OTLP (logs and traces): still counted once, and
//!   still recorded once;
//! - a synthetic multi-file history, the shipper killed mid-backfill and restarted: nothing is
//!   lost, nothing is counted twice; a session appended to after shipping ships its new lines.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::steward_bin;
use serde_json::Value;
use steward_test_support::codex::{CodexHome, OtelExporter, OtlpProtocol};
use steward_test_support::compliance_api::{ComplianceApi, Log};
use steward_test_support::responses_standin::{Reply, ResponsesStandin, Usage};
use steward_test_support::steward::StewardServer;
use steward_test_support::synthetic_home::{generate, SyntheticSpec};
use steward_test_support::usage_api::{by_user, poll_until, Figures, UsageApi, UserUsage};

const EMAIL: &str = "dana@example.com";

/// `steward agent ship ... --json`: its summary.
fn ship(server: &StewardServer, token: &str, homes: &[&Path], state: &Path, extra: &[&str]) -> Value {
    let mut cmd = Command::new(steward_bin());
    cmd.args(["agent", "ship", "--json", "--server"])
        .arg(server.base_url())
        .args(["--token", token, "--host", "laptop-1", "--state"])
        .arg(state)
        .args(extra);
    for h in homes {
        cmd.arg("--codex-home").arg(h);
    }
    let out = cmd.output().expect("steward agent ship runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ship failed: {stderr}\n--- server ---\n{}",
        server.logs()
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("summary ({e}): {stderr}"))
}

/// Replaces every rollout under `home` by its `.jsonl.zst`, as Codex's compression does;
/// returns how many.
fn compress_sessions(home: &Path) -> usize {
    let files = steward_rollout::files::find_rollouts(home).expect("rollouts");
    for f in &files {
        let plain = std::fs::read(&f.path).expect("read");
        let zst = f.path.with_extension("jsonl.zst");
        std::fs::write(&zst, zstd::encode_all(&plain[..], 3).expect("compress")).expect("write");
        std::fs::remove_file(&f.path).expect("remove plain");
    }
    files.len()
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"))
}

/// The person's usage over `[start, end)` (per-user rows of every page, summed).
async fn usage_of(api: &UsageApi, ws: &str, start: u64, end: u64) -> UserUsage {
    let rows = api
        .rows(ws, start, end, &[("limit", "1000".to_owned())])
        .await
        .expect("usage rows");
    by_user(&rows).remove(EMAIL).unwrap_or_default()
}

fn today_window() -> (u64, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let today = now - now % 86_400;
    (today - 86_400, today + 86_400)
}

struct Setup {
    server: StewardServer,
    ws: String,
    api: UsageApi,
    token: String,
    compliance: ComplianceApi,
}

async fn setup() -> Setup {
    let server = match std::env::var("DEBUG_SHIP_DIR") {
        Ok(d) => StewardServer::spawn(&steward_bin(), Path::new(&d), &[], &[])
            .await
            .expect("serve"),
        Err(_) => StewardServer::spawn_fresh(&steward_bin()).await.expect("serve"),
    };
    let ws = server.default_workspace_id().expect("ws");
    server.add_user(EMAIL).expect("user");
    let token = server.user_ingest_token(EMAIL).expect("token");
    let api = UsageApi::new(server.base_url(), server.analytics_key().expect("key")).expect("api");
    let key = server
        .admin(&[
            "keys",
            "create",
            "--scope",
            "compliance.read",
            "--name",
            "ship-test",
        ])
        .expect("compliance key");
    let key = key["key"].as_str().expect("key").to_owned();
    let compliance = ComplianceApi::new(server.base_url(), key, ws.clone());
    Setup {
        server,
        ws,
        api,
        token,
        compliance,
    }
}

/// `steward compliance seal`, then everything sealed so far: (CODEX_LOG, CODEX_SECURITY_LOG).
async fn sealed_log(s: &Setup) -> (Log, Log) {
    s.server.admin(&["compliance", "seal"]).expect("seal");
    let codex = s.compliance.log("CODEX_LOG").await.expect("CODEX_LOG");
    let security = s
        .compliance
        .log("CODEX_SECURITY_LOG")
        .await
        .expect("CODEX_SECURITY_LOG");
    (codex, security)
}

fn sorted_texts(log: &Log, event_type: &str, field: &str) -> Vec<String> {
    let mut texts: Vec<String> = log
        .of_type(event_type)
        .iter()
        .map(|r| {
            r["event_details"][field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field}: {r}"))
                .to_owned()
        })
        .collect();
    texts.sort();
    texts
}

/// What `codex_sessions` did, in the compliance log, each once: the four prompts and answers,
/// the five responses, the one tool call with its command and real output; every record with
/// its thread and turn (but OTLP's responses, which carry no trace and so no turn, when
/// `otlp_first`), no event id twice.
fn assert_sessions_recorded_once(codex: &Log, security: &Log, otlp_first: bool) {
    assert_eq!(
        sorted_texts(codex, "USER_PROMPT_SUBMITTED", "prompt_text"),
        ["from the other machine", "once more", "run echo", "say hello"],
        "{:?}",
        codex.records
    );
    assert_eq!(
        sorted_texts(codex, "AGENT_MESSAGE", "response_text"),
        ["again", "desktop", "hello", "ran it"]
    );
    assert_eq!(
        codex.of_type("PROMPT_RESPONSE_RECEIVED").len(),
        5,
        "{:?}",
        codex.records
    );
    let tools = security.of_type("TOOL_CALL_COMPLETED");
    assert_eq!(tools.len(), 1, "{tools:?}");
    let tool = &tools[0]["event_details"];
    assert_eq!(tool["call_id"], "call_ship_1", "{tool}");
    assert!(
        tool["tool_input"]
            .as_str()
            .is_some_and(|i| i.contains("echo shipped")),
        "{tool}"
    );
    // The command really ran: its output is what `echo` printed, not the command line.
    assert!(
        tool["tool_output"]
            .as_str()
            .is_some_and(|o| o.contains("shipped")),
        "{tool}"
    );
    for log in [codex, security] {
        let mut ids = std::collections::BTreeSet::new();
        for r in &log.records {
            assert!(ids.insert(r["event_id"].to_string()), "event_id twice: {r}");
            let d = &r["event_details"];
            assert!(d["session_id"].is_string(), "no thread: {r}");
            let turnless = match r["event_type"].as_str() {
                Some("TOOL_APPROVAL_DECISION") => true,
                Some("PROMPT_RESPONSE_RECEIVED") => otlp_first,
                _ => false,
            };
            if !turnless {
                assert!(d["turn_id"].is_string(), "no turn: {r}");
            }
        }
    }
}

/// Codex sessions on two homes: a tool turn; a plain thread, resumed; a turn on the other home.
/// Returns (homes, stand-in's total usage, threads, turns).
async fn codex_sessions(otel: Option<(&StewardServer, &str)>) -> (Vec<CodexHome>, Usage, u64, u64) {
    let standin = ResponsesStandin::start().expect("stand-in");
    let build = || {
        let mut b = CodexHome::builder(standin.base_url());
        if let Some((server, token)) = otel {
            let base = server.base_url();
            b = b
                .otel(OtelExporter {
                    endpoint: format!("{base}/v1/logs"),
                    protocol: OtlpProtocol::Binary,
                    bearer_token: token.to_owned(),
                })
                .trace_exporter(OtelExporter {
                    endpoint: format!("{base}/v1/traces"),
                    protocol: OtlpProtocol::Binary,
                    bearer_token: token.to_owned(),
                });
        }
        b.build().expect("home")
    };
    let (laptop, desktop) = (build(), build());
    standin.push([
        Reply::shell("call_ship_1", "echo shipped", Usage::new(1200, 200, 30, 10)),
        Reply::message("ran it", Usage::new(1500, 1100, 45, 0)),
    ]);
    laptop.exec("run echo").await.expect("tool turn");
    standin.push([Reply::message("hello", Usage::new(900, 0, 20, 5))]);
    let plain = laptop.exec("say hello").await.expect("plain");
    standin.push([Reply::message("again", Usage::new(1000, 800, 25, 5))]);
    let resumed = laptop.resume_last("once more").await.expect("resumed");
    assert_eq!(resumed.thread_id, plain.thread_id);
    standin.push([Reply::message("desktop", Usage::new(3000, 1000, 60, 20))]);
    desktop.exec("from the other machine").await.expect("desktop");
    (vec![laptop, desktop], standin.usage_total(), 3, 4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_sessions_shipped_count_exactly_once_whatever_happens_to_the_state() {
    let s = setup().await;
    let (homes, served, threads, turns) = codex_sessions(None).await;
    let paths: Vec<&Path> = homes.iter().map(|h| h.path()).collect();
    let state_dir = tempfile::tempdir().expect("dir");
    let state = state_dir.path().join("ship.json");
    let expected = Figures::expected(threads, turns, served);
    let (start, end) = today_window();

    let first = ship(&s.server, &s.token, &paths, &state, &[]);
    assert_eq!(n(&first, "files_shipped"), 3, "{first}");
    assert_eq!(n(&first, "problems"), 0, "{first}");
    assert!(n(&first, "events") > 0);
    let usage = usage_of(&s.api, &s.ws, start, end).await;
    assert_eq!(usage.totals, expected, "the usage API = what the stand-in served");
    assert_eq!(
        usage.clients.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["CODEX_SERVICE_EXEC"]
    );
    assert_eq!(
        usage.models.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["gpt-5-codex"]
    );

    // Again: nothing new to send.
    let again = ship(&s.server, &s.token, &paths, &state, &[]);
    assert_eq!(
        (n(&again, "files_shipped"), n(&again, "bytes_sent")),
        (0, 0),
        "{again}"
    );
    // State deleted, then emptied: the shipper asks the server and sends nothing twice.
    std::fs::remove_file(&state).expect("delete state");
    let lost = ship(&s.server, &s.token, &paths, &state, &[]);
    assert_eq!(
        n(&lost, "bytes_sent"),
        0,
        "acknowledged lines are not resent: {lost}"
    );
    std::fs::write(&state, "{}").expect("truncate state");
    let emptied = ship(&s.server, &s.token, &paths, &state, &[]);
    assert_eq!(n(&emptied, "bytes_sent"), 0, "{emptied}");
    assert_eq!(
        usage_of(&s.api, &s.ws, start, end).await.totals,
        expected,
        "unchanged"
    );
    let (codex, security) = sealed_log(&s).await;
    assert_sessions_recorded_once(&codex, &security, false);

    // Codex compresses the sessions (`.jsonl.zst`, newest versions): the same sessions, which
    // the server has whole already, so nothing is sent; and then nothing is decompressed again.
    let compressed = compress_sessions(homes[0].path());
    assert!(compressed >= 2, "{compressed} files compressed");
    let after = ship(&s.server, &s.token, &paths, &state, &[]);
    assert_eq!(
        (n(&after, "bytes_sent"), n(&after, "files_shipped")),
        (0, 0),
        "{after}"
    );
    let state_json = std::fs::read_to_string(&state).expect("state");
    assert_eq!(
        state_json.matches("compressed_len").count(),
        compressed,
        "{state_json}"
    );

    // A different machine name is a different shipper: it sends everything again, and the
    // server still counts every turn and response once (the keys are the facts').
    let other_state = state_dir.path().join("other.json");
    let mut cmd = Command::new(steward_bin());
    cmd.args(["agent", "ship", "--json", "--server"])
        .arg(s.server.base_url())
        .args(["--token", &s.token, "--host", "laptop-2", "--state"])
        .arg(&other_state);
    for p in &paths {
        cmd.arg("--codex-home").arg(p);
    }
    let out = cmd.output().expect("ship as another machine");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let resent: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(n(&resent, "bytes_sent") > 0, "{resent}");
    assert_eq!(
        usage_of(&s.api, &s.ws, start, end).await.totals,
        expected,
        "still once"
    );
    let (codex, security) = sealed_log(&s).await;
    assert_sessions_recorded_once(&codex, &security, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_and_shipping_of_the_same_sessions_count_once() {
    let s = setup().await;
    let (homes, served, threads, turns) = codex_sessions(Some((&s.server, &s.token))).await;
    let expected = Figures::expected(threads, turns, served);
    let (start, end) = today_window();
    // OTLP first (Codex flushed at exit)...
    let otlp = poll_until(
        Duration::from_secs(15),
        || async { Ok(usage_of(&s.api, &s.ws, start, end).await) },
        |u: &UserUsage| u.totals == expected,
    )
    .await
    .expect("poll");
    assert_eq!(otlp.totals, expected, "OTLP alone");
    // ...then the same sessions shipped.
    let paths: Vec<&Path> = homes.iter().map(|h| h.path()).collect();
    let state = tempfile::NamedTempFile::new().expect("state");
    let shipped = ship(&s.server, &s.token, &paths, state.path(), &[]);
    assert!(n(&shipped, "events") > 0, "{shipped}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        usage_of(&s.api, &s.ws, start, end).await.totals,
        expected,
        "OTLP + rollouts: every turn and response once"
    );
    // Prompts, responses and the tool call came both ways too: recorded once each (answers
    // only rollouts have).
    let (codex, security) = sealed_log(&s).await;
    assert_sessions_recorded_once(&codex, &security, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_backfill_loses_and_duplicates_nothing() {
    let s = setup().await;
    let home = tempfile::tempdir().expect("home");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let spec = SyntheticSpec {
        files: 90,
        turns_per_file: 10,
        tool_bytes_per_turn: 12_000,
        days: 10,
        first_day: now - 12 * 86_400,
        seed: 5,
    };
    let truth = generate(home.path(), &spec).expect("generate");
    let state = home.path().join("ship-state.json");
    let (start, end) = ((now - 14 * 86_400) as u64, (now + 86_400) as u64);

    // Start a backfill in small pieces and kill it hard once it has made some progress.
    let mut child = Command::new(steward_bin())
        .args(["agent", "ship", "--json", "--server"])
        .arg(s.server.base_url())
        .args([
            "--token",
            &s.token,
            "--host",
            "laptop-1",
            "--piece-bytes",
            "65536",
            "--state",
        ])
        .arg(&state)
        .arg("--codex-home")
        .arg(home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ship");
    let started = std::time::Instant::now();
    // Killed as soon as its state shows progress: a fixed delay after that could outlast the
    // whole backfill on a fast machine.
    while !state.exists() && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the backfill was still running when killed");
    let partial = usage_of(&s.api, &s.ws, start, end).await;
    assert!(
        partial.totals.text_total_tokens < truth.total.total(),
        "killed before the end: {partial:?}"
    );

    // Restart: it completes, and every figure equals what was written.
    let rest = ship(&s.server, &s.token, &[home.path()], &state, &[]);
    assert_eq!(n(&rest, "problems"), 0, "{rest}");
    let usage = usage_of(&s.api, &s.ws, start, end).await;
    let t = truth.total;
    assert_eq!(
        (
            usage.totals.cached_text_input_tokens,
            usage.totals.uncached_text_input_tokens,
            usage.totals.text_output_tokens,
            usage.totals.text_total_tokens,
            usage.totals.turns,
        ),
        (t.cached, t.input - t.cached, t.output, t.total(), truth.turns),
        "nothing lost, nothing twice"
    );

    // Codex appends to a resumed session: only the new lines are shipped and counted.
    let resumed = &truth.files[0];
    let thread = resumed
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".jsonl"))
        .map(|n| n[n.len() - 36..].to_owned())
        .expect("thread id");
    let at = chrono::DateTime::from_timestamp(now - 3600, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let appended = format!(
        "{{\"timestamp\":\"{at}\",\"type\":\"turn_context\",\"payload\":{{\"model\":\"gpt-5-codex\"}}}}\n\
         {{\"timestamp\":\"{at}\",\"type\":\"event_msg\",\"payload\":{{\"type\":\"user_message\",\"message\":\"resumed {thread}\"}}}}\n\
         {{\"timestamp\":\"{at}\",\"type\":\"event_msg\",\"payload\":{{\"type\":\"token_count\",\"info\":{{\"last_token_usage\":{{\"input_tokens\":777777,\"cached_input_tokens\":7,\"output_tokens\":77,\"reasoning_output_tokens\":0,\"total_tokens\":777854}}}}}}}}\n"
    );
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(resumed)
            .expect("open");
        f.write_all(appended.as_bytes()).expect("append");
    }
    let more = ship(&s.server, &s.token, &[home.path()], &state, &[]);
    assert_eq!(n(&more, "files_shipped"), 1, "{more}");
    assert_eq!(
        n(&more, "bytes_sent"),
        appended.len() as u64,
        "only the new lines: {more}"
    );
    let after = usage_of(&s.api, &s.ws, start, end).await;
    assert_eq!(after.totals.text_total_tokens, t.total() + 777_854);
    assert_eq!(after.totals.turns, truth.turns + 1);
}
