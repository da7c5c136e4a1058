//! Managed policies reach the real Codex CLI 0.169.0: signed in with ChatGPT (an unsigned test
//! token claiming an enterprise plan; Steward runs with `trust_unsigned_tokens`) and with
//! `chatgpt_base_url` pointing at Steward, the CLI fetches its workspace-managed configuration
//! bundle from Steward and enforces the policy of its user's group. `codex exec -s
//! danger-full-access` runs read-only with approval on-request under the locked-down policy,
//! and with full access once the user is moved to another group (bundle caches cleared between
//! runs, as the CLI caches the bundle for about an hour). The locked-down policy also pushes an
//! `[otel]` table in its managed config, and the CLI's events then arrive at Steward.

use std::path::Path;
use std::time::Duration;

use steward_test_support::codex_chatgpt::{ChatgptCodexHome, ChatgptIdentity};
use steward_test_support::responses_standin::ResponsesStandin;
use steward_test_support::steward::StewardServer;
use steward_test_support::usage_api::{by_user, poll_until, UsageApi};

const STEWARD: &str = env!("CARGO_BIN_EXE_steward");
const EMAIL: &str = "dev@example.com";

const LOCKED: &str = "allowed_approval_policies = [\"on-request\"]\n\
                      allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n";
const OPEN: &str = "allowed_approval_policies = [\"on-request\", \"never\"]\n\
                    allowed_sandbox_modes = [\"read-only\", \"workspace-write\", \"danger-full-access\"]\n";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_cli_enforces_the_policy_of_its_users_group() {
    let data = tempfile::tempdir().expect("data dir");
    let server = StewardServer::spawn(
        Path::new(STEWARD),
        data.path(),
        &[],
        &[("STEWARD_CHATGPT_BACKEND__TRUST_UNSIGNED_TOKENS", "true")],
    )
    .await
    .expect("steward serve");
    let ws = server.default_workspace_id().expect("workspace");
    server.add_user(EMAIL).expect("user");
    let token = server.workspace_ingest_token().expect("workspace token");

    // The locked-down policy also rolls telemetry out: an [otel] table in its managed config.
    let files = tempfile::tempdir().expect("policy files");
    let managed = format!(
        "[otel]\nenvironment = \"steward-test\"\nlog_user_prompt = false\n\
         exporter = {{ otlp-http = {{ endpoint = \"{}\", protocol = \"json\", \
         headers = {{ authorization = \"Bearer {token}\" }} }} }}\n",
        server.logs_endpoint()
    );
    let locked = write(files.path(), "locked.toml", LOCKED);
    let managed = write(files.path(), "managed.toml", &managed);
    let open = write(files.path(), "open.toml", OPEN);
    for args in [
        vec![
            "policy",
            "create",
            "locked",
            "--requirements",
            &locked,
            "--managed-config",
            &managed,
        ],
        vec!["policy", "create", "open", "--requirements", &open],
        vec!["groups", "create", "contractors"],
        vec!["groups", "create", "platform"],
        vec!["groups", "add", "contractors", EMAIL],
        vec![
            "policy",
            "assign",
            "--rule",
            "contractors=locked",
            "--rule",
            "platform=open",
        ],
    ] {
        server
            .admin(&args)
            .unwrap_or_else(|e| panic!("steward {args:?}: {e:#}"));
    }

    let provider = ResponsesStandin::start().expect("stand-in model API");
    let home = ChatgptCodexHome::builder(provider.base_url(), server.base_url())
        .identity(ChatgptIdentity::new(EMAIL))
        .build()
        .expect("codex home");

    // 1. In `contractors`: the CLI asks for danger-full-access and never, gets read-only and
    //    on-request, and says why (the policy's layer name is in the warning).
    let run = home
        .exec(
            &["-s", "danger-full-access", "-c", "approval_policy=\"never\""],
            "hi",
        )
        .await
        .expect("codex exec");
    run.ensure_success().expect("locked run");
    assert_eq!(run.sandbox.as_deref(), Some("read-only"), "{}", run.stderr);
    assert_eq!(run.approval.as_deref(), Some("on-request"), "{}", run.stderr);
    let warnings = run.requirement_warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("approval_policy") && w.contains("locked")),
        "no warning naming the policy: {warnings:?}"
    );

    // The pushed [otel] table made this CLI export its events to Steward, as this user.
    let api = UsageApi::new(server.base_url(), server.analytics_key().expect("key")).expect("api");
    let users = poll_until(
        Duration::from_secs(20),
        || async { Ok(by_user(&api.rows_around_now(&ws, &[]).await?)) },
        |u| u.get(EMAIL).is_some_and(|x| x.totals.turns >= 1),
    )
    .await
    .expect("usage");
    let mine = users
        .get(EMAIL)
        .unwrap_or_else(|| panic!("no usage for {EMAIL}: {users:?}"));
    assert!(mine.totals.turns >= 1, "{mine:?}");

    // Steward saw the bundle fetch: the user runs `locked` revision 1.
    let status = server.admin(&["policy", "status"]).expect("status");
    let fetched = status["machines"]
        .as_array()
        .and_then(|m| m.iter().find(|r| r["channel"] == "bundle" && r["email"] == EMAIL))
        .unwrap_or_else(|| panic!("no bundle report: {status}"));
    assert_eq!(fetched["reported_policy"], "locked");
    assert_eq!(fetched["stale"], false);

    // 2. Moved to `platform`: the next start (caches cleared) runs with full access.
    server
        .admin(&["groups", "remove", "contractors", EMAIL])
        .expect("remove");
    server.admin(&["groups", "add", "platform", EMAIL]).expect("add");
    home.clear_cloud_caches().expect("clear caches");
    let run = home
        .exec(
            &["-s", "danger-full-access", "-c", "approval_policy=\"never\""],
            "hi",
        )
        .await
        .expect("codex exec");
    run.ensure_success().expect("open run");
    assert_eq!(
        run.sandbox.as_deref(),
        Some("danger-full-access"),
        "{}",
        run.stderr
    );
    assert_eq!(run.approval.as_deref(), Some("never"), "{}", run.stderr);
    assert!(run.requirement_warnings().is_empty(), "{:?}", run.warnings);

    // 3. A user no rule matches, with no default: an empty bundle, Codex unmanaged.
    let stranger = ChatgptCodexHome::builder(provider.base_url(), server.base_url())
        .identity(ChatgptIdentity::new("new-hire@example.com"))
        .build()
        .expect("codex home");
    let run = stranger
        .exec(&["-s", "danger-full-access"], "hi")
        .await
        .expect("exec");
    run.ensure_success().expect("unmanaged run");
    assert_eq!(
        run.sandbox.as_deref(),
        Some("danger-full-access"),
        "{}",
        run.stderr
    );
    // ... and Steward now knows the new hire (created on first fetch), in no group.
    let lookup = server
        .admin(&["policy", "lookup", "--email", "new-hire@example.com"])
        .expect("lookup");
    assert_eq!(lookup["matched_by"]["kind"], "none", "{lookup}");
}

/// Without a way to check tokens, the bundle endpoint refuses every caller (401), and the CLI
/// refuses to start rather than run unmanaged (it fails closed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_token_checks_the_bundle_is_refused_and_codex_fails_closed() {
    let server = StewardServer::spawn_fresh(Path::new(STEWARD))
        .await
        .expect("serve");
    let reply = reqwest::Client::new()
        .get(format!("{}/api/codex/config/bundle", server.base_url()))
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .expect("request");
    assert_eq!(reply.status(), 401);
    let body: serde_json::Value = reply.json().await.expect("json");
    assert_eq!(body["code"], "not_configured", "{body}");

    let provider = ResponsesStandin::start().expect("stand-in");
    let home = ChatgptCodexHome::builder(provider.base_url(), server.base_url())
        .identity(ChatgptIdentity::new(EMAIL))
        .build()
        .expect("codex home");
    let run = home
        .exec(&["-s", "danger-full-access"], "hi")
        .await
        .expect("exec");
    assert!(
        !run.success(),
        "Codex started without its managed configuration: {}",
        run.stderr
    );
    assert!(run.sandbox.is_none());
}
