//! Probes the real Codex CLI 0.169.0 in ChatGPT mode against a stand-in ChatGPT backend:
//! managed requirements served by `GET /api/codex/config/bundle` are enforced, cached, refetched
//! after the caches are cleared, and a failing bundle endpoint stops the CLI (fail closed).
//!
//! Every request the CLI makes to the backend is printed (`--nocapture` to see them).

use std::collections::BTreeSet;

use steward_test_support::anyhow::{ensure, Result};
use steward_test_support::codex_chatgpt::{
    BackendRequest, ChatgptBackendStandin, ChatgptCodexHome, ChatgptRun, BUNDLE_PATH, REQUIREMENTS_PATH,
    TOKEN_REFRESH_PATH,
};
use steward_test_support::responses_standin::ResponsesStandin;

const RESTRICTIVE: &str = "allowed_approval_policies = [\"on-request\"]\n\
                           allowed_sandbox_modes = [\"read-only\",\"workspace-write\"]\n";
const PERMISSIVE: &str = "allowed_approval_policies = [\"on-request\",\"never\"]\n\
                          allowed_sandbox_modes = [\"read-only\",\"workspace-write\",\"danger-full-access\"]\n";

fn log_run(label: &str, run: &ChatgptRun, requests: &[BackendRequest]) {
    println!(
        "=== {label}: exit {:?}, sandbox {:?}, approval {:?}, error {:?}",
        run.exit_code, run.sandbox, run.approval, run.error
    );
    for w in &run.warnings {
        println!("    warning: {w}");
    }
    for r in requests {
        println!(
            "    {} (authorization: {}, chatgpt-account-id: {:?})",
            r.line(),
            if r.authorization.is_some() { "yes" } else { "no" },
            r.account_id
        );
        if let Some(serde_json::Value::Object(body)) = &r.body {
            let keys: Vec<&String> = body.keys().collect();
            println!("        JSON body keys: {keys:?}");
        }
    }
}

fn distinct_lines(requests: &[BackendRequest]) -> BTreeSet<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect()
}

#[tokio::test]
async fn bundle_requirements_are_enforced_cached_and_refetched() -> Result<()> {
    let provider = ResponsesStandin::start()?;
    let backend = ChatgptBackendStandin::start()?;
    backend.set_requirements("pol-1", "baseline", RESTRICTIVE);
    let home = ChatgptCodexHome::builder(provider.base_url(), backend.base_url())
        .analytics(true)
        .build()?;
    let bearer = format!("Bearer {}", home.access_token()?);

    // 1. Restrictive bundle: the CLI asked for danger-full-access and gets read-only.
    let run = home.exec(&["-s", "danger-full-access"], "hi").await?;
    let requests = backend.requests();
    log_run("restrictive bundle", &run, &requests);
    run.ensure_success()?;
    ensure!(
        run.sandbox.as_deref() == Some("read-only"),
        "sandbox {:?}",
        run.sandbox
    );
    ensure!(
        run.approval.as_deref() == Some("on-request"),
        "approval {:?}",
        run.approval
    );
    let warned = run.requirement_warnings();
    ensure!(
        warned
            .iter()
            .any(|w| w.contains("approval_policy") && w.contains("pol-1")),
        "no approval_policy warning: {warned:?}"
    );
    ensure!(
        warned
            .iter()
            .any(|w| w.contains("sandbox_mode") && w.contains("DangerFullAccess")),
        "no sandbox_mode warning: {warned:?}"
    );
    let bundle_calls = backend.requests_to(BUNDLE_PATH);
    ensure!(
        bundle_calls.len() == 1,
        "bundle fetched {} times",
        bundle_calls.len()
    );
    let call = &bundle_calls[0];
    ensure!(call.method == "GET");
    ensure!(
        call.authorization.as_deref() == Some(bearer.as_str()),
        "bearer token not sent"
    );
    ensure!(
        call.account_id.as_deref() == Some(home.identity().account_id.as_str()),
        "chatgpt-account-id {:?}",
        call.account_id
    );
    ensure!(
        call.user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("codex_exec/0.169.0")),
        "user-agent {:?}",
        call.user_agent
    );
    ensure!(
        backend.requests_to(REQUIREMENTS_PATH).is_empty(),
        "0.169.0 was not expected to call {REQUIREMENTS_PATH}"
    );
    ensure!(home.has_bundle_cache(), "no bundle cache written");
    println!("distinct requests: {:#?}", distinct_lines(&requests));

    // 2. The served bundle changes, but the cached one (about an hour) still applies.
    backend.set_requirements("pol-2", "open", PERMISSIVE);
    backend.clear_requests();
    let run = home.exec(&["-s", "danger-full-access"], "hi").await?;
    log_run("permissive bundle, cache kept", &run, &backend.requests());
    run.ensure_success()?;
    ensure!(
        run.sandbox.as_deref() == Some("read-only"),
        "sandbox {:?}",
        run.sandbox
    );
    ensure!(
        backend.requests_to(BUNDLE_PATH).is_empty(),
        "bundle refetched despite a valid cache"
    );

    // 3. Caches cleared: the new bundle is fetched and allows danger-full-access.
    home.clear_cloud_caches()?;
    ensure!(!home.has_bundle_cache());
    backend.clear_requests();
    let run = home.exec(&["-s", "danger-full-access"], "hi").await?;
    log_run("permissive bundle, caches cleared", &run, &backend.requests());
    run.ensure_success()?;
    ensure!(
        run.sandbox.as_deref() == Some("danger-full-access"),
        "sandbox {:?}",
        run.sandbox
    );
    ensure!(
        run.approval.as_deref() == Some("never"),
        "approval {:?}",
        run.approval
    );
    ensure!(run.requirement_warnings().is_empty(), "{:?}", run.warnings);
    ensure!(backend.requests_to(BUNDLE_PATH).len() == 1);

    // 4. An empty bundle `{}`: no managed requirements at all.
    backend.set_bundle(serde_json::json!({}));
    home.clear_cloud_caches()?;
    let run = home.exec(&["-s", "danger-full-access"], "hi").await?;
    log_run("empty bundle", &run, &[]);
    run.ensure_success()?;
    ensure!(run.sandbox.as_deref() == Some("danger-full-access"));
    Ok(())
}

/// A failing bundle endpoint without a cache: the CLI does not start.
async fn failing_bundle(status: u16) -> Result<(ChatgptRun, Vec<BackendRequest>)> {
    let provider = ResponsesStandin::start()?;
    let backend = ChatgptBackendStandin::start()?;
    backend.fail_bundle(status);
    let home = ChatgptCodexHome::builder(provider.base_url(), backend.base_url()).build()?;
    let run = home.exec(&["-s", "danger-full-access"], "hi").await?;
    let requests = backend.requests();
    log_run(&format!("bundle endpoint answers {status}"), &run, &requests);
    ensure!(
        !run.success(),
        "the CLI ran although the bundle failed with {status}"
    );
    ensure!(
        run.sandbox.is_none(),
        "the CLI printed its header: {}",
        run.stderr
    );
    ensure!(
        provider.request_count() == 0,
        "the model was called although the bundle failed"
    );
    ensure!(!home.has_bundle_cache());
    Ok((run, requests))
}

#[tokio::test]
async fn bundle_endpoint_500_fails_closed() -> Result<()> {
    let (run, requests) = failing_bundle(500).await?;
    ensure!(
        run.error.as_deref() == Some("Failed to load cloud config bundle (workspace-managed policies)."),
        "error {:?}\n{}",
        run.error,
        run.stderr
    );
    let bundle_calls = requests.iter().filter(|r| r.path() == BUNDLE_PATH).count();
    ensure!(bundle_calls > 1, "no retry: {bundle_calls} call(s)");
    println!("500: {bundle_calls} bundle attempts");
    Ok(())
}

#[tokio::test]
async fn bundle_endpoint_401_fails_closed_after_a_refresh_attempt() -> Result<()> {
    let (run, requests) = failing_bundle(401).await?;
    let refreshes = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path() == TOKEN_REFRESH_PATH)
        .count();
    let bundle_calls = requests.iter().filter(|r| r.path() == BUNDLE_PATH).count();
    println!("401: {bundle_calls} bundle attempts, {refreshes} token refresh attempt(s)");
    ensure!(refreshes >= 1, "no token refresh attempted after a 401");
    ensure!(run.error.is_some(), "no error line: {}", run.stderr);
    Ok(())
}
