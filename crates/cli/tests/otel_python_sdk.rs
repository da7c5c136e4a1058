//! The official OpenTelemetry Python SDK as a second, independent OTLP client: it sends
//! Codex-shaped log records (protobuf over HTTP, encoded by the SDK's OTLPLogExporter) to a real
//! `steward serve`, and the usage API must report exactly what was sent.
//!
//! Needs the SDK venv: run `scripts/install-test-deps` first (or set STEWARD_TEST_PYTHON).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use steward_test_support::python_otel::run_script;
use steward_test_support::responses_standin::Usage;
use steward_test_support::steward::StewardServer;
use steward_test_support::time_fmt::rfc3339_millis;
use steward_test_support::usage_api::{by_user, poll_until, Figures, UsageApi};

const STEWARD: &str = env!("CARGO_BIN_EXE_steward");
/// `service.name` / `originator` of the interactive Codex CLI.
const ORIGINATOR: &str = "codex_cli_rs";
const CLI_CLIENT: &str = "CODEX_CLI";

fn sender_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otel_sdk_send.py")
}

/// A conversation id shaped like Codex's UUIDv7s, unique per call.
fn conversation_id(n: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (nanos >> 32) as u32,
        n & 0xffff,
        n & 0xfff,
        (nanos >> 20) & 0xfff,
        nanos & 0xffff_ffff_ffff
    )
}

/// Builds log records the way Codex 0.169.0 emits them: the event name in attribute
/// `event.name`, `event.timestamp` as RFC 3339 with ms, numbers as strings.
struct CodexLikeLog {
    records: Vec<Value>,
    threads: u64,
    turns: u64,
    usage: Usage,
}

impl CodexLikeLog {
    fn new() -> Self {
        Self {
            records: Vec::new(),
            threads: 0,
            turns: 0,
            usage: Usage::default(),
        }
    }

    fn event(&mut self, conversation: &str, name: &str, extra: Value) {
        let mut attrs = Map::new();
        attrs.insert("event.name".into(), name.into());
        attrs.insert("event.timestamp".into(), rfc3339_millis(SystemTime::now()).into());
        attrs.insert("conversation.id".into(), conversation.into());
        attrs.insert("app.version".into(), "0.169.0".into());
        attrs.insert("originator".into(), ORIGINATOR.into());
        attrs.insert("terminal.type".into(), "xterm".into());
        attrs.insert("model".into(), "gpt-5-codex".into());
        attrs.insert("slug".into(), "gpt-5-codex".into());
        if let Value::Object(extra) = extra {
            attrs.extend(extra);
        }
        self.records.push(Value::Object(attrs));
    }

    /// A new thread: `codex.conversation_starts`.
    fn thread(&mut self, conversation: &str) {
        self.threads += 1;
        self.event(
            conversation,
            "codex.conversation_starts",
            json!({ "provider_name": "OpenAI", "approval_policy": "on-request" }),
        );
    }

    /// One turn: the prompt, then the model's stream. Codex logs `response.completed` twice, once
    /// without and once with token counts; both are reproduced so double counting would show.
    fn turn(&mut self, conversation: &str, prompt: &str, usage: Usage) {
        self.turns += 1;
        self.usage = self.usage + usage;
        self.event(
            conversation,
            "codex.user_prompt",
            json!({ "prompt": prompt, "prompt_length": prompt.len().to_string() }),
        );
        for kind in [
            "response.created",
            "response.output_item.done",
            "response.completed",
        ] {
            self.event(
                conversation,
                "codex.sse_event",
                json!({ "event.kind": kind, "duration_ms": "0" }),
            );
        }
        self.event(
            conversation,
            "codex.sse_event",
            json!({
                "event.kind": "response.completed",
                "input_token_count": usage.input_tokens.to_string(),
                "cached_token_count": usage.cached_tokens.to_string(),
                "output_token_count": usage.output_tokens.to_string(),
                "reasoning_token_count": usage.reasoning_tokens.to_string(),
                "tool_token_count": usage.total_tokens().to_string(),
            }),
        );
    }

    /// Two threads, three turns; `scale` keeps users' numbers apart.
    fn scenario(scale: u64) -> Self {
        let mut log = Self::new();
        let (a, b) = (conversation_id(scale * 10 + 1), conversation_id(scale * 10 + 2));
        log.thread(&a);
        log.turn(
            &a,
            "first question",
            Usage::new(700 * scale, 100 * scale, 40 * scale, 8),
        );
        log.turn(
            &a,
            "follow-up",
            Usage::new(1800 * scale, 650 * scale, 90 * scale, 12),
        );
        log.thread(&b);
        log.turn(&b, "another thread", Usage::new(500 * scale, 0, 25 * scale, 0));
        log
    }

    fn expected(&self) -> Figures {
        Figures::expected(self.threads, self.turns, self.usage)
    }
}

async fn send(server: &StewardServer, token: &str, email: &str, log: &CodexLikeLog) {
    let spec = json!({
        "endpoint": server.logs_endpoint(),
        "token": token,
        "resource": { "service.name": ORIGINATOR, "service.version": "0.169.0", "env": "dev", "user.email": email },
        "records": log.records,
    });
    run_script(&sender_script(), &spec).await.unwrap_or_else(|e| {
        panic!(
            "OTel Python SDK sender for {email}: {e:#}\n--- steward log ---\n{}",
            server.logs()
        )
    });
}

/// One user with a per-user ingest token, one attributed through a workspace token and the
/// resource's `user.email`; both sent by the Python SDK, both reported exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_logs_become_exact_usage() {
    let server = StewardServer::spawn_fresh(Path::new(STEWARD))
        .await
        .expect("steward serve");
    let workspace_id = server.default_workspace_id().expect("default workspace");
    let api = UsageApi::new(server.base_url(), server.analytics_key().expect("key")).expect("client");

    let per_user = "sdk-user@example.com";
    server.add_user(per_user).expect("users add");
    let user_token = server.user_ingest_token(per_user).expect("tokens create --user");
    let per_user_log = CodexLikeLog::scenario(1);
    send(&server, &user_token, per_user, &per_user_log).await;

    let via_workspace = "sdk-resource-email@example.com";
    server.add_user(via_workspace).expect("users add");
    let ws_token = server
        .workspace_ingest_token()
        .expect("tokens create --workspace");
    let ws_log = CodexLikeLog::scenario(4);
    send(&server, &ws_token, via_workspace, &ws_log).await;

    let expected = [
        (per_user, per_user_log.expected()),
        (via_workspace, ws_log.expected()),
    ];
    let fetch = || async { Ok(by_user(&api.rows_around_now(&workspace_id, &[]).await?)) };
    let users = poll_until(Duration::from_secs(15), fetch, |users| {
        expected
            .iter()
            .all(|(email, want)| users.get(*email).is_some_and(|u| u.totals == *want))
    })
    .await
    .expect("usage API");

    let emails: BTreeSet<&str> = users.keys().map(String::as_str).collect();
    assert_eq!(
        emails,
        BTreeSet::from([per_user, via_workspace]),
        "no other user got figures"
    );
    for (email, want) in expected {
        let u = &users[email];
        assert_eq!(u.totals, want, "{email}: totals");
        let clients: BTreeSet<&str> = u.clients.keys().map(String::as_str).collect();
        assert_eq!(clients, BTreeSet::from([CLI_CLIENT]), "{email}: clients");
        assert_eq!(u.clients[CLI_CLIENT], want, "{email}: clients[{CLI_CLIENT}]");
    }
}
