//! The dashboard end to end in a real browser (issue 6's acceptance): Debian's chromium driven
//! by `playwright-core` (crates/test-support/js/dashboard_e2e.mjs) against a real
//! `steward serve --demo`.
//!
//! The script opens `/` (the demo signs the browser in), goes through every view, and for each
//! figure on screen prints what the page shows next to what the public API answers for the same
//! window (read with fetch() from the same page, so with the same session). This test asserts on
//! those results:
//!
//! - every view renders with the API's figures: the overview's KPI tiles (sums over the usage
//!   rows of the window) and the `data-series` of its five charts, the ranking's first page, a
//!   person's page (tiles and four charts), "My usage" for a local admin (the explanation), the
//!   Code Review empty state, the compliance files and "Verify now", the policies, and people,
//!   roles, role assignments and keys;
//! - the 7-day preset, typed dates and the week toggle change the figures, and still match;
//! - sorting the ranking by each column, both ways, gives the API's order;
//! - the policy editor shows an invalid `requirements.toml`'s problem with the validator's line
//!   and message and blocks Save; a valid one is saved as a new revision;
//! - each export link downloads exactly what the export endpoint serves, and its rows agree
//!   with the usage API;
//! - a data point ingested through OTLP (`POST /v1/logs`) shows on the open overview, without
//!   a reload, within 20 seconds, by exactly its turns and tokens;
//! - reversed dates and an unknown email show clear messages, never a blank page.
//!
//! Screenshots of each view go to `target/dashboard-screenshots/`; with
//! `STEWARD_UPDATE_DOCS_SCREENSHOTS=1` the key ones are also copied into `docs/screenshots/`.
//!
//! Needs `node`, `scripts/install-test-deps` (playwright-core, in `$STEWARD_TEST_CACHE` or
//! `~/.cache/steward-test`) and `/usr/bin/chromium` (`scripts/test` installs them). Never skips.

mod common;
#[path = "common/oidc.rs"]
mod oidc;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{codex_resource, now_ms, post, protobuf, request, steward_bin, turn_records, Tokens};
use oidc::{node_modules, Proc, CHROMIUM};
use serde_json::{json, Value};
use steward_test_support::steward::StewardServer;

/// Every check the script must report (a step that dies cannot pass by saying nothing).
const REQUIRED_CHECKS: &[&str] = &[
    "boot.signed-in",
    "overview.30d-day.kpis",
    "overview.30d-day.chart-active-users",
    "overview.30d-day.chart-credits-by-surface",
    "overview.30d-day.chart-tokens-by-surface",
    "overview.30d-day.chart-tokens-by-model",
    "overview.30d-day.chart-threads-turns",
    "overview.dark-theme",
    "range.preset-7d.kpis",
    "range.preset-7d.chart-active-users",
    "range.preset-7d.chart-credits-by-surface",
    "range.preset-7d.chart-tokens-by-surface",
    "range.preset-7d.chart-tokens-by-model",
    "range.preset-7d.chart-threads-turns",
    "range.7d-vs-30d",
    "range.typed-dates.kpis",
    "range.typed-dates.chart-active-users",
    "range.typed-dates.chart-credits-by-surface",
    "range.typed-dates.chart-tokens-by-surface",
    "range.typed-dates.chart-tokens-by-model",
    "range.typed-dates.chart-threads-turns",
    "range.typed-dates-hash",
    "range.week.kpis",
    "range.week.chart-active-users",
    "range.week.chart-credits-by-surface",
    "range.week.chart-tokens-by-surface",
    "range.week.chart-tokens-by-model",
    "range.week.chart-threads-turns",
    "range.week-buckets",
    "users.ranking.default",
    "users.ranking.total",
    "users.sort.credits.desc",
    "users.sort.credits.asc",
    "users.sort.threads.desc",
    "users.sort.threads.asc",
    "users.sort.turns.desc",
    "users.sort.turns.asc",
    "users.sort.text_tokens.desc",
    "users.sort.text_tokens.asc",
    "users.sort.streak.desc",
    "users.sort.streak.asc",
    "user.link",
    "user.kpis",
    "user.chart-credits-by-surface",
    "user.chart-credits-by-model",
    "user.chart-tokens-by-surface",
    "user.chart-tokens-by-model",
    "me.local-admin-message",
    "code-review.empty-state",
    "policies.list",
    "policies.lookup-unknown-email",
    "policies.lookup-known-email",
    "policy.invalid.problems",
    "policy.invalid.save-blocked",
    "policy.invalid.nothing-stored",
    "policy.valid.saved",
    "policy.valid.confirmation-visible",
    "policy.valid.revisions-table",
    "people.users",
    "people.roles",
    "people.role-assignments",
    "people.keys",
    "exports.workspace_usage.csv",
    "exports.workspace_usage.json",
    "exports.user_usage.csv",
    "exports.code_review.csv",
    "compliance.files",
    "compliance.retention",
    "compliance.verify-now",
    "bad-input.reversed-dates",
    "bad-input.unknown-user-page",
    "freshness.baseline",
    "freshness.ingested-point-shown",
    "console.no-errors",
];

/// Screenshots every run must leave, and the ones README and docs/dashboard.md show.
const SCREENSHOTS: &[&str] = &[
    "overview-light",
    "overview-dark",
    "users",
    "user",
    "me",
    "code-review",
    "compliance",
    "policies",
    "policy-editor",
    "people",
];
const DOCS_SCREENSHOTS: &[&str] = &[
    "overview-light",
    "overview-dark",
    "users",
    "policies",
    "compliance",
];

/// The data point ingested while the overview is open: one turn with distinctive counts.
const FRESH_TOKENS: Tokens = Tokens {
    input: 123_457,
    cached: 23_456,
    output: 7_891,
};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The JSON comparison the script uses too: integers exactly, fractions within 2e-6 (credits
/// are micro-precise; summing them in floating point may differ in the last micro).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => {
                let (f, g) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                (f - g).abs() <= 2e-6 * 1f64.max(f.abs()).max(g.abs())
            }
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(i64::MIN)
}

/// Named rules for the checks that are not "the page equals the API".
fn judge(check: &Value) -> Result<(), String> {
    let (name, ui, expected) = (
        check["name"].as_str().unwrap_or(""),
        &check["ui"],
        &check["expected"],
    );
    match name {
        // The 7-day preset: the hash holds the new range and every figure is smaller.
        "range.7d-vs-30d" => {
            let hash = ui["hash"].as_str().unwrap_or("");
            let mut problems = Vec::new();
            for (what, want) in [("start", &expected["start"]), ("end", &expected["end"])] {
                let want = format!("{what}={}", want.as_str().unwrap_or("?"));
                if !hash.contains(&want) {
                    problems.push(format!("the hash {hash} lacks {want}"));
                }
            }
            for figure in ["turns", "text_tokens", "credits"] {
                let (seven, thirty) = (
                    ui[format!("{figure}_7d")].as_f64().unwrap_or(f64::NAN),
                    ui[format!("{figure}_30d")].as_f64().unwrap_or(f64::NAN),
                );
                if !(seven > 0.0 && seven < thirty) {
                    problems.push(format!(
                        "{figure}: 7 days {seven} should be > 0 and < 30 days {thirty}"
                    ));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
        // The week toggle: fewer buckets, each a whole week starting on a Monday (UTC), the
        // first one holding the range's start; weekly threads are distinct per week, so the
        // threads tile changes.
        "range.week-buckets" => {
            let xs: Vec<i64> = ui["week_x"]
                .as_array()
                .map(|a| a.iter().map(int).collect())
                .unwrap_or_default();
            let start =
                chrono::NaiveDate::parse_from_str(expected["start"].as_str().unwrap_or(""), "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp())
                    .unwrap_or(i64::MIN);
            let mut problems = Vec::new();
            if ui["pressed"] != "true" {
                problems.push(format!("the Week button is not pressed: {}", ui["pressed"]));
            }
            if !ui["hash"].as_str().unwrap_or("").contains("group_by=week") {
                problems.push(format!("the hash has no group_by=week: {}", ui["hash"]));
            }
            let (days, weeks) = (int(&ui["day_buckets"]), int(&ui["week_buckets"]));
            if !(weeks >= 4 && weeks < days && weeks as usize == xs.len()) {
                problems.push(format!("{weeks} week buckets for {days} day buckets"));
            }
            if xs.windows(2).any(|w| w[1] - w[0] != 7 * 86_400) {
                problems.push(format!("buckets are not 7 days apart: {xs:?}"));
            }
            // 1970-01-05 (345,600 s) was a Monday.
            if xs.iter().any(|x| (x - 345_600).rem_euclid(7 * 86_400) != 0) {
                problems.push(format!("buckets do not start on Mondays: {xs:?}"));
            }
            if !xs.first().is_some_and(|&x| x <= start && start < x + 7 * 86_400) {
                problems.push(format!(
                    "the first bucket {:?} does not hold the start {start}",
                    xs.first()
                ));
            }
            if ui["active_users_week_x"] != ui["week_x"] {
                problems.push(format!(
                    "active users by week {} vs credits by week {}",
                    ui["active_users_week_x"], ui["week_x"]
                ));
            }
            if ui["threads_week"] == ui["threads_day"] {
                problems.push(format!("the threads tile did not change: {}", ui["threads_week"]));
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
        _ => {
            if same(ui, expected) {
                Ok(())
            } else {
                Err(format!(
                    "the page shows\n      {ui}\n    expected\n      {expected}"
                ))
            }
        }
    }
}

/// One turn of a person new to the workspace, stamped now, through `POST /v1/logs`.
async fn ingest_one_turn(server: &StewardServer) -> Value {
    let email = "fresh-e2e@example.com";
    server.add_user(email).expect("steward users add");
    let token = server.user_ingest_token(email).expect("steward tokens create");
    let body = protobuf(&request(
        codex_resource(),
        turn_records("e2e-fresh-thread", now_ms(), FRESH_TOKENS, "gpt-5-codex"),
    ));
    let (status, _, resp) = post(
        &server.logs_endpoint(),
        Some(&token),
        "application/x-protobuf",
        None,
        body,
    )
    .await;
    assert_eq!(status, 200, "POST /v1/logs: {}", String::from_utf8_lossy(&resp));
    json!({"turns": 1, "text_tokens": FRESH_TOKENS.input + FRESH_TOKENS.output, "email": email})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_apis_figures_in_a_real_browser() {
    let started = Instant::now();
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`; scripts/test does)"
    );
    let modules = node_modules();
    let scripts = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        workspace_root().join("crates/test-support/js/dashboard_e2e.mjs"),
        scripts.path().join("dashboard_e2e.mjs"),
    )
    .expect("copy dashboard_e2e.mjs");
    std::os::unix::fs::symlink(&modules, scripts.path().join("node_modules")).expect("link node_modules");
    let shots = workspace_root().join("target/dashboard-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    for name in SCREENSHOTS {
        let _ = std::fs::remove_file(shots.join(format!("{name}.png")));
    }

    let data = tempfile::tempdir().expect("data dir");
    let server = StewardServer::spawn(&steward_bin(), data.path(), &["--demo"], &[])
        .await
        .expect("steward serve --demo starts");
    eprintln!(
        "steward serve --demo ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut child = Command::new("node")
        .arg(scripts.path().join("dashboard_e2e.mjs"))
        .arg(server.base_url())
        .arg(&shots)
        .env("CHROMIUM", CHROMIUM)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` ({e}): install Node.js (scripts/test needs it too)"));
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let driver = Proc { child };
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut checks: Vec<Value> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut screenshots: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut done = false;
    while !done {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match tokio::task::block_in_place(|| rx.recv_timeout(left)) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                errors.push("the browser script did not finish within 15 minutes".into());
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                errors.push("the browser script ended without saying done (see its stderr above)".into());
                break;
            }
        };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            eprintln!("script: {line}");
            continue;
        };
        match msg["type"].as_str() {
            Some("ready") => eprintln!("browser: chromium {}", msg["browser"]),
            Some("check") => checks.push(msg),
            Some("screenshot") => screenshots.push(msg["name"].as_str().unwrap_or("").to_owned()),
            Some("error") => errors.push(format!("step {} crashed: {}", msg["step"], msg["message"])),
            Some("request") if msg["what"] == "ingest" => {
                let answer = ingest_one_turn(&server).await;
                eprintln!("ingested one turn through POST /v1/logs: {answer}");
                writeln!(stdin, "{answer}").expect("answer the script");
                stdin.flush().expect("flush");
            }
            Some("done") => done = true,
            _ => eprintln!("script: {line}"),
        }
    }
    drop(stdin);
    drop(driver);

    // --- the verdicts ---
    let mut failures = errors;
    let mut seen = BTreeSet::new();
    eprintln!("\n--- dashboard checks ---");
    for c in &checks {
        let name = c["name"].as_str().unwrap_or("?").to_owned();
        match judge(c) {
            Ok(()) => {
                // How long the page took to show it, where that says something.
                let mut note = String::new();
                if let Some(ms) = c["waited_ms"].as_i64().filter(|&ms| ms >= 1000) {
                    note = format!(" (shown after {ms} ms)");
                }
                if let Some(s) = c["extra"]["seconds"].as_f64() {
                    note = format!(" (on screen {s:.1} s after the ingest)");
                }
                eprintln!("PASS {name}{note}");
            }
            Err(why) => {
                eprintln!("FAIL {name}\n    {why}\n    (full result: {c})");
                failures.push(format!("{name}: {why}"));
            }
        }
        if !seen.insert(name.clone()) {
            failures.push(format!("{name} reported twice"));
        }
    }
    for name in REQUIRED_CHECKS {
        if !seen.contains(*name) {
            failures.push(format!("{name}: never reported (its step did not get that far)"));
        }
    }
    for name in SCREENSHOTS {
        let file = shots.join(format!("{name}.png"));
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        if size < 10_000 {
            failures.push(format!(
                "screenshot {} missing or empty ({size} bytes)",
                file.display()
            ));
        }
    }
    if std::env::var("STEWARD_UPDATE_DOCS_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = workspace_root().join("docs/screenshots");
        std::fs::create_dir_all(&docs).expect("docs/screenshots");
        for name in DOCS_SCREENSHOTS {
            let from = shots.join(format!("{name}.png"));
            if from.is_file() {
                std::fs::copy(&from, docs.join(format!("{name}.png"))).expect("copy a screenshot into docs/");
                eprintln!("updated docs/screenshots/{name}.png");
            }
        }
    }
    eprintln!(
        "--- {} checks, {} failures, {} screenshots in {}; {:.1} s ---",
        checks.len(),
        failures.len(),
        screenshots.len(),
        shots.display(),
        started.elapsed().as_secs_f64()
    );
    drop(server);
    assert!(
        failures.is_empty(),
        "{} dashboard check(s) failed:\n- {}",
        failures.len(),
        failures.join("\n- ")
    );
}
