//! `steward report` against ground truth and against ccusage (pinned, native binary):
//! - a synthetic home in three Codex versions' shapes, whose generator kept the figures it wrote;
//! - real sessions of the pinned Codex CLI (a tool call, a plain thread, a resumed one) on two
//!   homes of the same person, whose tokens are exactly what the stand-in model served;
//! - damaged files: counted problems, the rest still read.
//!
//! ccusage reports `inputTokens` without the cached part (it is `cacheReadTokens`); Steward keeps
//! Codex's `input_tokens` (cached included) and adds `uncached_input_tokens`. Prices differ by
//! design (README: "steward report and ccusage").

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::steward_bin;
use serde_json::Value;
use steward_test_support::ccusage;
use steward_test_support::codex::CodexHome;
use steward_test_support::responses_standin::{Reply, ResponsesStandin, Usage};
use steward_test_support::synthetic_home::{generate, SyntheticSpec, Tokens};

/// Runs `steward report ... --json` and returns (JSON, stderr).
fn report(args: &[&str], homes: &[&Path]) -> (Value, String) {
    let mut cmd = Command::new(steward_bin());
    cmd.arg("report").args(args).args(["--json", "-z", "UTC"]);
    for h in homes {
        cmd.arg("--codex-home").arg(h);
    }
    let out = cmd.output().expect("steward report runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "steward report failed: {stderr}");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (json, stderr)
}

fn int(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Steward's figures of a row in ccusage's terms.
fn steward_as_ccusage(row: &Value) -> [u64; 5] {
    [
        int(&row["uncached_input_tokens"]),
        int(&row["cached_input_tokens"]),
        int(&row["output_tokens"]),
        int(&row["reasoning_output_tokens"]),
        int(&row["total_tokens"]),
    ]
}

fn ccusage_figures(row: &Value) -> [u64; 5] {
    [
        int(&row["inputTokens"]),
        int(&row["cacheReadTokens"]),
        int(&row["outputTokens"]),
        int(&row["reasoningOutputTokens"]),
        int(&row["totalTokens"]),
    ]
}

fn truth_figures(t: &Tokens) -> [u64; 5] {
    [t.input - t.cached, t.cached, t.output, t.reasoning, t.total()]
}

fn by_period(report: &Value) -> BTreeMap<String, [u64; 5]> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["period"].as_str().expect("period").to_owned(),
                steward_as_ccusage(r),
            )
        })
        .collect()
}

/// ccusage's daily rows of several homes, summed per day.
fn ccusage_daily(homes: &[&Path]) -> BTreeMap<String, [u64; 5]> {
    let mut days: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for home in homes {
        let json = ccusage::codex_report(home, "daily").expect("ccusage runs");
        for row in json["daily"].as_array().expect("daily rows") {
            let sum = days
                .entry(row["date"].as_str().expect("date").to_owned())
                .or_default();
            for (s, v) in sum.iter_mut().zip(ccusage_figures(row)) {
                *s += v;
            }
        }
    }
    days
}

#[test]
fn synthetic_home_matches_what_was_written_and_ccusage() {
    let dir = tempfile::tempdir().expect("dir");
    let truth = generate(dir.path(), &SyntheticSpec::default()).expect("generate");
    let (daily, stderr) = report(&["daily"], &[dir.path()]);
    assert!(
        daily["problems"].as_object().expect("problems").is_empty(),
        "{daily}\n{stderr}"
    );
    assert!(daily["unknown_line_types"]
        .as_object()
        .expect("unknown")
        .is_empty());
    assert_eq!(int(&daily["files"]), truth.files.len() as u64);
    assert_eq!(int(&daily["bytes"]), truth.bytes);

    let expected: BTreeMap<String, [u64; 5]> = truth
        .per_day
        .iter()
        .map(|(d, t)| (d.clone(), truth_figures(t)))
        .collect();
    assert_eq!(by_period(&daily), expected, "per day = what the generator wrote");
    assert_eq!(steward_as_ccusage(&daily["totals"]), truth_figures(&truth.total));
    assert_eq!(int(&daily["totals"]["responses"]), truth.responses);
    assert_eq!(int(&daily["totals"]["turns"]), truth.turns);

    // ccusage agrees on every day's tokens.
    assert_eq!(
        ccusage_daily(&[dir.path()]),
        by_period(&daily),
        "steward vs ccusage per day"
    );

    // The other periods re-cut the same figures.
    for period in ["weekly", "monthly", "session"] {
        let (r, _) = report(&[period], &[dir.path()]);
        assert_eq!(
            steward_as_ccusage(&r["totals"]),
            truth_figures(&truth.total),
            "{period}"
        );
    }
    let (sessions, _) = report(&["session"], &[dir.path()]);
    let rows = sessions["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), truth.files.len(), "one row per thread");
    assert!(rows.iter().all(|r| r["turns"] == 12), "12 turns in each thread");
    let surfaces: std::collections::BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| {
            r["surfaces"]
                .as_object()
                .expect("surfaces")
                .keys()
                .map(String::as_str)
        })
        .collect();
    assert_eq!(
        surfaces.into_iter().collect::<Vec<_>>(),
        vec!["CODEX_CLI", "CODEX_IDE_VSCODE", "CODEX_SERVICE_EXEC"]
    );
    // Credits are priced per model: the sum over models is the row's.
    let row = &rows[0];
    let by_model: f64 = row["models"]
        .as_object()
        .expect("models")
        .values()
        .map(|m| m["credits"].as_f64().expect("credits"))
        .sum();
    assert!((by_model - row["credits"].as_f64().expect("credits")).abs() < 1e-6);
    assert!(row["credits"].as_f64().expect("credits") > 0.0);
}

#[test]
fn damaged_files_are_counted_and_the_rest_is_read() {
    let dir = tempfile::tempdir().expect("dir");
    let spec = SyntheticSpec {
        files: 9,
        turns_per_file: 4,
        ..SyntheticSpec::default()
    };
    let truth = generate(dir.path(), &spec).expect("generate");
    // Garbage appended to one file, a cut-off line at the end of another, a file of pure binary
    // noise, and a line from an unknown future version.
    let append = |path: &Path, bytes: &[u8]| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open");
        f.write_all(bytes).expect("append");
    };
    append(&truth.files[0], b"\x00\xff\xfe garbage \x9c\n{not json}\n");
    append(
        &truth.files[1],
        br#"{"timestamp":"2026-10-02T10:00:00.000Z","type":"future_thing","payload":{"x":1}}
{"timestamp":"2026-10-02T10:00:00.000Z","type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":"many"}}}}
{"timestamp":"2026-10-02T10:00:01.000Z","type":"event_msg","payload":{"type":"token_count","info":{"last_tok"#,
    );
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let noise_path = dir
        .path()
        .join("sessions/2026/10/01/rollout-2026-10-01T00-00-00-00000000-0000-7000-8000-000000000000.jsonl");
    std::fs::create_dir_all(noise_path.parent().expect("parent")).expect("dir");
    std::fs::write(&noise_path, &noise).expect("noise");

    let (daily, stderr) = report(&["daily"], &[dir.path()]);
    assert_eq!(
        steward_as_ccusage(&daily["totals"]),
        truth_figures(&truth.total),
        "every good line still counts, and no bad one adds anything"
    );
    let problems = daily["problems"].as_object().expect("problems");
    assert!(int(&problems["not_utf8"]) >= 2, "{problems:?}");
    assert_eq!(int(&problems["malformed_json"]), 1, "{problems:?}");
    assert_eq!(
        int(&problems["bad_field"]),
        1,
        "the string token figure: {problems:?}"
    );
    assert_eq!(int(&problems["truncated"]), 1, "{problems:?}");
    assert_eq!(daily["unknown_line_types"]["future_thing"], 1);
    assert!(stderr.contains("could not be read and were skipped"), "{stderr}");
    assert!(
        stderr.contains("input_tokens"),
        "the bad field is named: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_codex_sessions_on_two_homes_match_the_stand_in_and_ccusage() {
    let standin = ResponsesStandin::start().expect("stand-in");
    let laptop = CodexHome::builder(standin.base_url()).build().expect("home A");
    let desktop = CodexHome::builder(standin.base_url()).build().expect("home B");

    standin.push([
        Reply::shell("call_rep_1", "echo steward-report", Usage::new(1200, 200, 30, 10)),
        Reply::message("ran it", Usage::new(1500, 1100, 45, 0)),
    ]);
    let tool = laptop.exec("run echo").await.expect("tool turn");
    standin.push([Reply::message("hello", Usage::new(900, 0, 20, 5))]);
    let plain = laptop.exec("say hello").await.expect("plain turn");
    standin.push([Reply::message("again", Usage::new(1000, 800, 25, 5))]);
    let resumed = laptop.resume_last("once more").await.expect("resumed turn");
    assert_eq!(resumed.thread_id, plain.thread_id);
    standin.push([Reply::message("from the desktop", Usage::new(3000, 1000, 60, 20))]);
    let other = desktop
        .exec("hello from the other machine")
        .await
        .expect("desktop turn");

    let served = standin.usage_total();
    let homes = [laptop.path(), desktop.path()];
    let (daily, stderr) = report(&["daily"], &homes);
    assert!(
        daily["problems"].as_object().expect("problems").is_empty(),
        "{stderr}"
    );
    let totals = &daily["totals"];
    assert_eq!(
        [
            int(&totals["input_tokens"]),
            int(&totals["cached_input_tokens"]),
            int(&totals["output_tokens"]),
            int(&totals["reasoning_output_tokens"]),
            int(&totals["total_tokens"]),
        ],
        [
            served.input_tokens,
            served.cached_tokens,
            served.output_tokens,
            served.reasoning_tokens,
            served.total_tokens(),
        ],
        "exactly what the stand-in served"
    );
    assert_eq!(int(&totals["responses"]), 5);
    assert_eq!(int(&totals["turns"]), 4);
    assert_eq!(
        ccusage_daily(&homes),
        by_period(&daily),
        "steward vs ccusage per day"
    );

    let (sessions, _) = report(&["session"], &homes);
    let rows = sessions["rows"].as_array().expect("rows");
    let turns: BTreeMap<&str, u64> = rows
        .iter()
        .map(|r| (r["period"].as_str().expect("id"), int(&r["turns"])))
        .collect();
    assert_eq!(
        turns,
        BTreeMap::from([
            (tool.thread_id.as_str(), 1),
            (plain.thread_id.as_str(), 2),
            (other.thread_id.as_str(), 1),
        ]),
        "three threads; the resumed one has both its turns"
    );
    assert!(rows.iter().all(|r| r["surfaces"]
        .as_object()
        .expect("s")
        .keys()
        .eq(["CODEX_SERVICE_EXEC"])));
    assert!(rows
        .iter()
        .all(|r| r["models"].as_object().expect("m").keys().eq(["gpt-5-codex"])));
}
