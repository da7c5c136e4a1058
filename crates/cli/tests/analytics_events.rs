//! Codex's own product analytics as a source: the pinned Codex CLI signed in with ChatGPT (an
//! unsigned test token; Steward runs with `trust_unsigned_tokens`), `chatgpt_base_url` at
//! Steward and `[analytics] enabled`, posts `codex_thread_initialized` and `codex_turn_event`
//! to `POST /codex/analytics-events/events`. The usage API then reports exactly the stand-in
//! model's tokens and the turns that ran:
//! - from the analytics events alone;
//! - with OTLP logs and traces exported too, and the session files shipped afterwards: every
//!   turn and token once (the turn ledger takes a turn report back when per-response reports
//!   of the same turn arrive, and never counts one that comes after them);
//! - with OTLP logs but no traces (no turn ids in OTLP): the turn's time window relates them.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::steward_bin;
use serde_json::{json, Value};
use steward_test_support::codex::{OtelExporter, OtlpProtocol};
use steward_test_support::codex_chatgpt::{ChatgptCodexHome, ChatgptIdentity};
use steward_test_support::responses_standin::{Reply, ResponsesStandin, Usage};
use steward_test_support::steward::StewardServer;
use steward_test_support::usage_api::{by_user, poll_until, Figures, UsageApi, UserUsage};

const EMAIL: &str = "ana@example.com";
const BYPASS: &str = "--dangerously-bypass-approvals-and-sandbox";

struct Setup {
    server: StewardServer,
    _data: tempfile::TempDir,
    ws: String,
    api: UsageApi,
    token: String,
}

async fn setup() -> Setup {
    let data = tempfile::tempdir().expect("data dir");
    let server = StewardServer::spawn(
        &steward_bin(),
        data.path(),
        &[],
        &[("STEWARD_CHATGPT_BACKEND__TRUST_UNSIGNED_TOKENS", "true")],
    )
    .await
    .expect("steward serve");
    let ws = server.default_workspace_id().expect("ws");
    server.add_user(EMAIL).expect("user");
    let token = server.user_ingest_token(EMAIL).expect("token");
    let api = UsageApi::new(server.base_url(), server.analytics_key().expect("key")).expect("api");
    Setup {
        server,
        _data: data,
        ws,
        api,
        token,
    }
}

/// Which OTLP signals the CLI also exports to Steward.
#[derive(Clone, Copy, PartialEq)]
enum Otlp {
    Off,
    Logs,
    LogsAndTraces,
}

/// A tool turn (two model calls) in one thread, a plain turn in another, that thread resumed:
/// returns the home, the expected figures (2 threads, 3 turns, the stand-in's tokens) and the
/// resumed thread's id.
async fn sessions(s: &Setup, otlp: Otlp) -> (ChatgptCodexHome, Figures, String) {
    let standin = ResponsesStandin::start().expect("stand-in");
    let exporter = |path: &str| OtelExporter {
        endpoint: format!("{}{path}", s.server.base_url()),
        protocol: OtlpProtocol::Binary,
        bearer_token: s.token.clone(),
    };
    let mut builder = ChatgptCodexHome::builder(standin.base_url(), s.server.base_url())
        .identity(ChatgptIdentity::new(EMAIL))
        .analytics(true);
    if otlp != Otlp::Off {
        builder = builder.otel(exporter("/v1/logs"));
    }
    if otlp == Otlp::LogsAndTraces {
        builder = builder.trace_exporter(exporter("/v1/traces"));
    }
    let home = builder.build().expect("codex home");
    standin.push([
        Reply::shell("call_analytics_1", "echo counted", Usage::new(1200, 200, 30, 10)),
        Reply::message("ran it", Usage::new(1500, 1100, 45, 0)),
    ]);
    let tool = home.exec(&[BYPASS], "run echo").await.expect("tool turn");
    tool.ensure_success().expect("tool turn ran");
    standin.push([Reply::message("hello", Usage::new(900, 0, 20, 5))]);
    let plain = home.exec(&[BYPASS], "say hello").await.expect("plain turn");
    plain.ensure_success().expect("plain turn ran");
    let thread = plain.session_id().expect("session id").to_owned();
    assert_ne!(tool.session_id(), Some(thread.as_str()), "two threads");
    standin.push([Reply::message("again", Usage::new(1000, 800, 25, 5))]);
    let resumed = home
        .exec(&[BYPASS, "resume", &thread], "once more")
        .await
        .expect("resumed turn");
    resumed.ensure_success().expect("resumed turn ran");
    assert_eq!(resumed.session_id(), Some(thread.as_str()), "same thread");
    assert_eq!(standin.pending(), 0, "every reply was used");
    (home, Figures::expected(2, 3, standin.usage_total()), thread)
}

async fn usage(s: &Setup) -> UserUsage {
    let rows = s.api.rows_around_now(&s.ws, &[]).await.expect("usage rows");
    by_user(&rows).remove(EMAIL).unwrap_or_default()
}

async fn settled(s: &Setup, expected: &Figures) -> UserUsage {
    poll_until(
        Duration::from_secs(20),
        || async { Ok(usage(s).await) },
        |u: &UserUsage| &u.totals == expected,
    )
    .await
    .expect("usage")
}

/// `steward_ingest_records_total{signal="analytics",outcome="accepted"}` from `/metrics`.
async fn analytics_accepted(s: &Setup) -> u64 {
    let text = reqwest::get(format!("{}/metrics", s.server.base_url()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find(|l| {
            l.starts_with("steward_ingest_records_total")
                && l.contains("signal=\"analytics\"")
                && l.contains("outcome=\"accepted\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

/// Per source, summed over the report's days: (turns, input, cached input, output tokens).
type SourceFigures = BTreeMap<String, (u64, u64, u64, u64)>;

/// The coverage report of the test's user: each source's figures and the disagreements.
async fn coverage(s: &Setup) -> (SourceFigures, Vec<Value>) {
    let report = s.api.coverage_around_now(&s.ws).await.expect("coverage report");
    let mut sources = SourceFigures::new();
    for day in report["data"].as_array().expect("data") {
        assert_eq!(day["email"], EMAIL, "{report}");
        for (name, f) in day["sources"].as_object().expect("sources") {
            let n = |k: &str| f[k].as_u64().expect("figure");
            let e = sources.entry(name.clone()).or_default();
            e.0 += n("turns");
            e.1 += n("input_tokens");
            e.2 += n("cached_input_tokens");
            e.3 += n("output_tokens");
        }
    }
    let disagreements = report["disagreements"].as_array().expect("disagreements").clone();
    (sources, disagreements)
}

/// What a source that saw every turn and token reports.
fn whole(expected: &Figures) -> (u64, u64, u64, u64) {
    (
        expected.turns,
        expected.uncached_text_input_tokens + expected.cached_text_input_tokens,
        expected.cached_text_input_tokens,
        expected.text_output_tokens,
    )
}

/// Asserts that exactly `names` reported, each every turn and token, and that none disagree.
async fn assert_full_coverage(s: &Setup, expected: &Figures, names: &[&str]) {
    let (sources, disagreements) = coverage(s).await;
    let want: SourceFigures = names.iter().map(|n| (n.to_string(), whole(expected))).collect();
    assert_eq!(sources, want, "each source's own figures");
    assert!(disagreements.is_empty(), "{disagreements:?}");
}

fn ship(s: &Setup, home: &Path) {
    let state = tempfile::NamedTempFile::new().expect("state");
    let out = Command::new(steward_bin())
        .args(["agent", "ship", "--json", "--server"])
        .arg(s.server.base_url())
        .args(["--token", &s.token, "--host", "laptop-1", "--state"])
        .arg(state.path())
        .arg("--codex-home")
        .arg(home)
        .output()
        .expect("steward agent ship runs");
    assert!(
        out.status.success(),
        "ship failed: {}\n--- server ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.server.logs()
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert!(summary["events"].as_u64().unwrap_or(0) > 0, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_events_alone_give_the_exact_usage() {
    let s = setup().await;
    let (home, expected, home_thread) = sessions(&s, Otlp::Off).await;
    let got = settled(&s, &expected).await;
    assert_eq!(got.totals, expected, "{}", s.server.logs());
    assert_eq!(
        got.clients.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["CODEX_SERVICE_EXEC"]
    );
    assert_eq!(
        got.models.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["gpt-5-codex"]
    );
    // Two thread initialisations, one per run (the resume initialises again), and three turns.
    assert!(analytics_accepted(&s).await >= 5);
    assert_full_coverage(&s, &expected, &["analytics_events"]).await;

    // The rollouts shipped later: the turns count once, both sources show every turn.
    ship(&s, home.path());
    assert_eq!(usage(&s).await.totals, expected, "analytics + rollouts");
    assert_full_coverage(&s, &expected, &["analytics_events", "rollout"]).await;

    // A turn only the analytics events report (say, the rollout of it never shipped): the
    // report names its thread, with each source's figures.
    let turn_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let body = json!({"events": [{"event_type": "codex_turn_event", "event_params": {
        "thread_id": home_thread, "turn_id": "turn-only-in-analytics", "model": "gpt-5-codex",
        "app_server_client": {"product_client_id": "codex_exec"},
        "input_tokens": 700, "cached_input_tokens": 0, "output_tokens": 9,
        "reasoning_output_tokens": 0, "total_tokens": 709,
        "started_at": turn_time + 3_600, "completed_at": turn_time + 3_601}}]});
    let answer = reqwest::Client::new()
        .post(format!("{}/codex/analytics-events/events", s.server.base_url()))
        .bearer_auth(home.access_token().expect("token"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    let (_, disagreements) = coverage(&s).await;
    assert_eq!(disagreements.len(), 1, "{disagreements:?}");
    let d = &disagreements[0];
    assert_eq!(d["thread_id"], home_thread.as_str());
    assert_eq!(d["kinds"], json!(["turns_differ", "tokens_differ"]));
    let turns_of = |source: &str| d["sources"][source]["turns"].as_u64();
    assert_eq!(turns_of("analytics_events"), turns_of("rollout").map(|n| n + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_otlp_and_shipping_of_the_same_sessions_count_once() {
    let s = setup().await;
    let (home, expected, _) = sessions(&s, Otlp::LogsAndTraces).await;
    let got = settled(&s, &expected).await;
    assert_eq!(got.totals, expected, "analytics + OTLP");
    assert!(analytics_accepted(&s).await >= 5, "the analytics events arrived");
    ship(&s, home.path());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        usage(&s).await.totals,
        expected,
        "analytics + OTLP + rollouts: every turn and token once"
    );
    assert_full_coverage(&s, &expected, &["analytics_events", "otlp_logs", "rollout"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analytics_and_otlp_logs_without_traces_count_once() {
    let s = setup().await;
    let (home, expected, _) = sessions(&s, Otlp::Logs).await;
    let got = settled(&s, &expected).await;
    assert_eq!(got.totals, expected, "analytics + OTLP logs without turn ids");
    assert!(analytics_accepted(&s).await >= 5);
    // Settled, not passing through: still the same a moment later.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(usage(&s).await.totals, expected);
    // The rollouts' turns carry turn ids the OTLP prompts lack: related by time instead.
    ship(&s, home.path());
    assert_eq!(
        usage(&s).await.totals,
        expected,
        "analytics + OTLP logs without traces + rollouts: every turn and token once"
    );
    assert_full_coverage(&s, &expected, &["analytics_events", "otlp_logs", "rollout"]).await;
}
