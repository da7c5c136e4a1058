//! The compliance log end to end with the real Codex CLI (pinned 0.169.0): Codex talks to a
//! stand-in Responses API and exports its OTel log events **and traces** to a real
//! `steward serve`; `steward compliance seal` seals what was queued, and the Compliance API
//! (`GET /v1/compliance/workspaces/{ws}/logs[/{file_id}]`) must deliver records that say exactly
//! what Codex did: the prompts (or, with `log_user_prompt = false`, no trace of them), the
//! tokens the stand-in served, the approval decision and the tool call with its real output,
//! each attributed to the token's user, the thread, and the turn (whose id only traces carry).
//!
//! Needs the Codex binary: run `scripts/install-test-deps` first (a missing binary fails the
//! test with that hint).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use steward_test_support::anyhow::{ensure, Result};
use steward_test_support::codex::{CodexHome, CodexRun, OtelExporter, OtlpProtocol};
use steward_test_support::compliance_api::{ComplianceApi, Log};
use steward_test_support::responses_standin::{Reply, ResponsesStandin, Usage, SHELL_TOOL_NAME};
use steward_test_support::steward::StewardServer;
use steward_test_support::usage_api::poll_until;

const STEWARD: &str = env!("CARGO_BIN_EXE_steward");
const EXEC_CLIENT: &str = "CODEX_SERVICE_EXEC";
const CODEX_LOG: &str = "CODEX_LOG";
const CODEX_SECURITY_LOG: &str = "CODEX_SECURITY_LOG";
/// Codex flushes its exporters at exit, but give ingestion time before calling records missing.
const SETTLE: Duration = Duration::from_secs(20);

/// The shell command the model asks for. Its output (`steward-42-ok`) is not in its text, so
/// finding it in `tool_output` proves the command really ran.
const TOOL_COMMAND: &str = "echo steward-$((6*7))-ok";
const TOOL_OUTPUT: &str = "steward-42-ok";
const TOOL_CALL_ID: &str = "call_compliance_1";

fn steward_bin() -> &'static Path {
    Path::new(STEWARD)
}

/// A server with one user who exports with a per-user ingest token, and a Compliance API key.
struct Fixture {
    server: StewardServer,
    workspace_id: String,
    email: String,
    user_id: String,
    token: String,
    api: ComplianceApi,
}

impl Fixture {
    async fn start(email: &str) -> Self {
        let server = StewardServer::spawn_fresh(steward_bin())
            .await
            .expect("steward serve");
        let workspace_id = server.default_workspace_id().expect("default workspace");
        let user_id = server.add_user(email).expect("users add");
        let token = server.user_ingest_token(email).expect("tokens create --user");
        let key = server
            .admin(&[
                "keys",
                "create",
                "--scope",
                "compliance.read",
                "--name",
                "compliance-e2e",
            ])
            .expect("keys create --scope compliance.read");
        let key = key["key"]
            .as_str()
            .unwrap_or_else(|| panic!("no `key` in {key}"))
            .to_owned();
        let api = ComplianceApi::new(server.base_url(), key, workspace_id.clone());
        Self {
            server,
            workspace_id,
            email: email.to_owned(),
            user_id,
            token,
            api,
        }
    }

    /// A Codex home exporting logs to `/v1/logs` and traces to `/v1/traces` of this server.
    fn codex(&self, standin: &ResponsesStandin, protocol: OtlpProtocol, log_user_prompt: bool) -> CodexHome {
        let exporter = |path: &str| OtelExporter {
            endpoint: format!("{}{path}", self.server.base_url()),
            protocol,
            bearer_token: self.token.clone(),
        };
        CodexHome::builder(standin.base_url())
            .otel(exporter("/v1/logs"))
            .trace_exporter(exporter("/v1/traces"))
            .log_user_prompt(log_user_prompt)
            .build()
            .expect("codex home")
    }

    /// Panics with the server log on a failed step.
    fn check<T>(&self, what: &str, r: Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{what}: {e:#}\n--- steward log ---\n{}", self.server.logs()))
    }

    /// `steward compliance seal`, then every sealed file of both Codex log types.
    async fn seal_and_download(&self) -> Result<Sealed> {
        let outcome = self.server.admin(&["compliance", "seal"])?;
        ensure!(
            outcome.is_array() || outcome.is_object(),
            "unexpected `compliance seal --json` output: {outcome}"
        );
        Ok(Sealed {
            codex: self.api.log(CODEX_LOG).await?,
            security: self.api.log(CODEX_SECURITY_LOG).await?,
        })
    }

    /// Seals and downloads until `complete` holds (or the settle time is over), then once more
    /// a moment later, so records that arrive late (duplicates, say) are in what is asserted.
    async fn settled(&self, complete: impl Fn(&Sealed) -> bool) -> Sealed {
        let first = poll_until(SETTLE, || self.seal_and_download(), complete).await;
        self.check("sealing and downloading the compliance log", first);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let sealed = self.seal_and_download().await;
        self.check("sealing and downloading the compliance log", sealed)
    }

    /// The envelope every Codex record must have, whatever its event type.
    fn assert_envelope(&self, log: &Log, log_type: &str) {
        let mut ids = BTreeSet::new();
        for r in &log.records {
            let event_type = r["event_type"].as_str().unwrap_or_default();
            assert_eq!(r["type"], log_type, "{r}");
            assert_eq!(r["workspace_id"], self.workspace_id.as_str(), "{r}");
            assert_eq!(r["principal"]["id"], self.workspace_id.as_str(), "{r}");
            assert_eq!(r["actor"]["user_email"], self.email.as_str(), "actor: {r}");
            assert_eq!(r["actor"]["user_id"], self.user_id.as_str(), "actor: {r}");
            assert_eq!(r["client_id"], EXEC_CLIENT, "{r}");
            assert_eq!(r["event_details"]["detail_type"], event_type, "{r}");
            assert!(
                r["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
                "timestamp: {r}"
            );
            let id = r["event_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no event_id: {r}"));
            assert!(
                ids.insert(id.to_owned()),
                "event_id {id} appears twice in {log_type}"
            );
        }
    }
}

/// What the Compliance API delivered after a seal.
#[derive(Debug)]
struct Sealed {
    codex: Log,
    security: Log,
}

/// The `token_usage` of a `PROMPT_RESPONSE_RECEIVED` record, in the stand-in's terms.
fn record_usage(r: &Value) -> Usage {
    let u = &r["event_details"]["token_usage"];
    let n = |k: &str| {
        u[k].as_u64()
            .unwrap_or_else(|| panic!("token_usage.{k} is not a count: {r}"))
    };
    assert_eq!(
        n("total_tokens"),
        n("input_tokens") + n("output_tokens"),
        "total = input + output: {r}"
    );
    Usage::new(
        n("input_tokens"),
        n("cached_input_tokens"),
        n("output_tokens"),
        n("reasoning_output_tokens"),
    )
}

/// Asserts the `PROMPT_RESPONSE_RECEIVED` records carry exactly the usages served, one record
/// per response (compared as sorted lists, and as sums), and returns them by session id.
fn assert_responses(log: &Log, served: &[Usage]) -> BTreeMap<String, usize> {
    let responses = log.of_type("PROMPT_RESPONSE_RECEIVED");
    let key = |u: &Usage| {
        (
            u.input_tokens,
            u.cached_tokens,
            u.output_tokens,
            u.reasoning_tokens,
        )
    };
    let mut got: Vec<Usage> = responses.iter().map(|r| record_usage(r)).collect();
    let mut want = served.to_vec();
    got.sort_by_key(key);
    want.sort_by_key(key);
    let got_sum: Usage = got.iter().copied().sum();
    let want_sum: Usage = want.iter().copied().sum();
    assert_eq!(
        got_sum, want_sum,
        "token usage summed over PROMPT_RESPONSE_RECEIVED"
    );
    assert_eq!(got, want, "one PROMPT_RESPONSE_RECEIVED per response served");
    let mut per_session = BTreeMap::new();
    for r in responses {
        let session = r["event_details"]["session_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no session_id: {r}"));
        *per_session.entry(session.to_owned()).or_insert(0) += 1;
    }
    per_session
}

/// The one `USER_PROMPT_SUBMITTED` record of `run`'s thread; asserts its session and turn id.
fn prompt_record<'a>(log: &'a Log, run: &CodexRun) -> &'a Value {
    let prompts = log.of_type("USER_PROMPT_SUBMITTED");
    let mine: Vec<&Value> = prompts
        .into_iter()
        .filter(|r| r["event_details"]["session_id"] == run.thread_id.as_str())
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one USER_PROMPT_SUBMITTED with session_id = thread {}: {mine:#?}\nall records: {:#?}",
        run.thread_id,
        log.records
    );
    let r = mine[0];
    let turn_id = &r["event_details"]["turn_id"];
    assert!(
        turn_id.as_str().is_some_and(|t| !t.is_empty()),
        "USER_PROMPT_SUBMITTED without turn_id (it comes from the exported traces): {r}"
    );
    r
}

/// Prompt text and tool call in the log; the tokens of all three responses; the decision and
/// the tool's real input and output in the security log. Logs and traces over protobuf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_log_of_codex_exec_with_prompts_over_protobuf() {
    let fx = Fixture::start("compliance-prompts@example.com").await;
    let standin = ResponsesStandin::start().expect("stand-in");
    let codex = fx.codex(&standin, OtlpProtocol::Binary, true);
    let tool_prompt = "compliance e2e: please run the echo command for me";
    let plain_prompt = "compliance e2e: now just say hello, with \"quotes\" and ünïcödé";

    standin.push([
        Reply::shell(TOOL_CALL_ID, TOOL_COMMAND, Usage::new(1200, 200, 30, 10)),
        Reply::message("it printed steward-42-ok", Usage::new(1500, 1100, 45, 0)),
    ]);
    let tool_turn = fx.check("codex exec (tool turn)", codex.exec(tool_prompt).await);
    let outputs = standin.served()[1].function_call_outputs();
    assert!(
        outputs
            .iter()
            .any(|(id, out)| id == TOOL_CALL_ID && out.contains(TOOL_OUTPUT)),
        "the tool call did not run as expected: {outputs:?}"
    );
    standin.push([Reply::message("hello", Usage::new(900, 0, 20, 5))]);
    let plain = fx.check("codex exec (plain turn)", codex.exec(plain_prompt).await);
    assert_ne!(
        tool_turn.thread_id, plain.thread_id,
        "two `codex exec` runs are two threads"
    );
    assert_eq!(standin.pending(), 0, "unconsumed replies");
    let served = standin.served_usages();
    assert_eq!(served.len(), 3, "unexpected model traffic");

    let sealed = fx
        .settled(|s| {
            s.codex.of_type("USER_PROMPT_SUBMITTED").len() >= 2
                && s.codex.of_type("PROMPT_RESPONSE_RECEIVED").len() >= served.len()
                && !s.security.of_type("TOOL_APPROVAL_DECISION").is_empty()
                && !s.security.of_type("TOOL_CALL_COMPLETED").is_empty()
        })
        .await;
    let (log, security) = (&sealed.codex, &sealed.security);
    fx.assert_envelope(log, CODEX_LOG);
    fx.assert_envelope(security, CODEX_SECURITY_LOG);
    assert_eq!(
        log.event_types(),
        BTreeSet::from([
            "USER_PROMPT_SUBMITTED".to_owned(),
            "PROMPT_RESPONSE_RECEIVED".to_owned()
        ]),
        "event types of {CODEX_LOG}"
    );

    // The prompts, verbatim, each on its own thread and turn.
    let text = String::from_utf8(log.bytes.clone()).expect("UTF-8");
    assert_eq!(
        log.of_type("USER_PROMPT_SUBMITTED").len(),
        2,
        "{:#?}",
        log.records
    );
    let mut turn_ids = BTreeSet::new();
    for (run, prompt) in [(&tool_turn, tool_prompt), (&plain, plain_prompt)] {
        let r = prompt_record(log, run);
        let d = &r["event_details"];
        assert_eq!(d["prompt_text"], prompt, "{r}");
        assert_eq!(d["prompt_logged"], true, "{r}");
        assert_eq!(d["prompt_length"], prompt.chars().count(), "{r}");
        assert!(
            turn_ids.insert(d["turn_id"].to_string()),
            "two prompts share a turn id: {r}"
        );
        // The file holds the text as JSON writes it (quotes escaped); find that.
        let as_json = Value::String(prompt.to_owned()).to_string();
        assert!(
            text.contains(as_json.trim_matches('"')),
            "{prompt:?} not in the file"
        );
    }

    // Tokens: exactly what the stand-in served, two responses in the tool thread, one in the
    // plain one.
    let per_session = assert_responses(log, &served);
    assert_eq!(
        per_session,
        BTreeMap::from([(tool_turn.thread_id.clone(), 2), (plain.thread_id.clone(), 1)]),
        "PROMPT_RESPONSE_RECEIVED per session"
    );

    // The security log: the automatic approval and the tool call, both in the tool turn.
    let tool_turn_id = &prompt_record(log, &tool_turn)["event_details"]["turn_id"];
    let decisions = security.of_type("TOOL_APPROVAL_DECISION");
    assert_eq!(decisions.len(), 1, "{:#?}", security.records);
    let d = &decisions[0]["event_details"];
    assert_eq!(d["decision"], "approved", "{d}");
    assert_eq!(d["decision_source"], "Config", "{d}");
    assert_eq!(d["call_id"], TOOL_CALL_ID, "{d}");
    assert_eq!(d["tool_name"], SHELL_TOOL_NAME, "{d}");
    assert_eq!(d["session_id"], tool_turn.thread_id.as_str(), "{d}");
    assert_eq!(&d["turn_id"], tool_turn_id, "the decision's turn: {d}");

    let calls = security.of_type("TOOL_CALL_COMPLETED");
    assert_eq!(calls.len(), 1, "{:#?}", security.records);
    let c = &calls[0]["event_details"];
    assert_eq!(c["call_id"], TOOL_CALL_ID, "{c}");
    assert_eq!(c["tool_name"], SHELL_TOOL_NAME, "{c}");
    assert_eq!(c["status"], "success", "{c}");
    let input = c["tool_input"]
        .as_str()
        .unwrap_or_else(|| panic!("no tool_input: {c}"));
    let args: Value = serde_json::from_str(input).unwrap_or_else(|e| panic!("tool_input {input:?}: {e}"));
    assert_eq!(args["cmd"], TOOL_COMMAND, "tool_input: {input}");
    let output = c["tool_output"]
        .as_str()
        .unwrap_or_else(|| panic!("no tool_output: {c}"));
    assert!(output.contains(TOOL_OUTPUT), "tool_output: {output:?}");
    assert_eq!(c["session_id"], tool_turn.thread_id.as_str(), "{c}");
    assert_eq!(&c["turn_id"], tool_turn_id, "the tool call's turn: {c}");
}

/// `log_user_prompt = false`: the prompt is nowhere in the sealed file (Codex sends
/// "[REDACTED]"), the record says it was not logged, and the tokens are still there. Logs and
/// traces over OTLP/JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_log_of_codex_exec_without_prompts_over_json() {
    let fx = Fixture::start("compliance-redacted@example.com").await;
    let standin = ResponsesStandin::start().expect("stand-in");
    let codex = fx.codex(&standin, OtlpProtocol::Json, false);
    let secret = "zebra-papaya-4711";
    let prompt = format!("compliance e2e: the secret word is {secret}, keep it");

    standin.push([Reply::message("noted", Usage::new(1300, 700, 35, 12))]);
    let run = fx.check("codex exec", codex.exec(&prompt).await);
    assert_eq!(standin.pending(), 0, "unconsumed replies");
    let served = standin.served_usages();
    assert_eq!(served.len(), 1, "unexpected model traffic");

    let sealed = fx
        .settled(|s| {
            !s.codex.of_type("USER_PROMPT_SUBMITTED").is_empty()
                && !s.codex.of_type("PROMPT_RESPONSE_RECEIVED").is_empty()
        })
        .await;
    let log = &sealed.codex;
    fx.assert_envelope(log, CODEX_LOG);

    for needle in [prompt.as_str(), secret] {
        let found = log.bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(
            !found,
            "{needle:?} is in the CODEX_LOG file although log_user_prompt = false:\n{}",
            String::from_utf8_lossy(&log.bytes)
        );
    }
    assert_eq!(
        log.of_type("USER_PROMPT_SUBMITTED").len(),
        1,
        "{:#?}",
        log.records
    );
    let r = prompt_record(log, &run);
    let d = &r["event_details"];
    assert_eq!(d["prompt_logged"], false, "{r}");
    assert!(d["prompt_text"].is_null(), "prompt_text must be null: {r}");
    // Codex keeps the length when it redacts the text.
    assert_eq!(d["prompt_length"], prompt.chars().count(), "{r}");

    let per_session = assert_responses(log, &served);
    assert_eq!(
        per_session,
        BTreeMap::from([(run.thread_id.clone(), 1)]),
        "PROMPT_RESPONSE_RECEIVED per session"
    );
    assert!(
        sealed.security.records.is_empty(),
        "a turn without tools has no security records: {:#?}",
        sealed.security.records
    );
}
