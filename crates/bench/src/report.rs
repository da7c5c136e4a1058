//! `steward report` beside ccusage on the same multi-GB synthetic Codex home, in the same run:
//! wall time, throughput and peak RSS of each (warm page cache for both: each tool reads the
//! files once untimed, then the runs alternate), and a check that both found the same tokens.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use steward_test_support::ccusage;
use steward_test_support::synthetic_home::{generate, SyntheticSpec};

use crate::stats::proc_stats;
use crate::Common;

#[derive(Debug, Clone, Args)]
pub struct ReportOpts {
    /// Size of the synthetic Codex home, in GB (10^9 bytes).
    #[arg(long, default_value_t = 3.0)]
    gb: f64,
    /// Timed runs of each tool (after one untimed warm-up run each).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Reuse (or keep) the synthetic home in this folder instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolRun {
    pub tool: String,
    pub median_secs: f64,
    pub runs_secs: Vec<f64>,
    pub mb_per_sec: f64,
    pub peak_rss_mib: f64,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportResult {
    pub files: usize,
    pub bytes: u64,
    pub generate_secs: f64,
    pub expected_total_tokens: u64,
    pub steward: ToolRun,
    pub ccusage: ToolRun,
    pub ccusage_version: String,
}

pub async fn run(opts: &ReportOpts, common: &Common) -> Result<ReportResult> {
    let steward = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let ccusage = ccusage::ccusage_bin()?;
    let scratch = tempfile::Builder::new()
        .prefix("steward-bench-report-")
        .tempdir_in(common.work_dir()?)?;
    let home = opts
        .home
        .clone()
        .unwrap_or_else(|| scratch.path().join("codex-home"));
    // ~2.1 MB per file: 40 turns of 1-3 responses, each with 3 tool outputs of 8 KB.
    let spec = SyntheticSpec {
        files: ((opts.gb * 1e9) / 2.08e6).ceil().max(1.0) as usize,
        turns_per_file: 40,
        tool_bytes_per_turn: 24_000,
        days: 60,
        seed: 11,
        ..SyntheticSpec::default()
    };
    eprintln!(
        "generating {} rollout files (~{:.1} GB) in {}",
        spec.files,
        opts.gb,
        home.display()
    );
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&home);
    let truth = generate(&home, &spec)?;
    let generate_secs = started.elapsed().as_secs_f64();
    let expected = truth.total.total();
    eprintln!(
        "  {} files, {:.2} GB in {generate_secs:.1} s; {} responses, {expected} tokens",
        truth.files.len(),
        truth.bytes as f64 / 1e9,
        truth.responses
    );
    let steward_cmd = |c: &mut Command| {
        c.arg("report")
            .args(["daily", "--json", "-z", "UTC", "--codex-home"])
            .arg(&home);
    };
    let ccusage_cmd = |c: &mut Command| {
        c.args([
            "codex",
            "daily",
            "--json",
            "--offline",
            "--timezone",
            "UTC",
            "--no-color",
        ])
        .env("CODEX_HOME", &home);
    };
    let steward_total = |v: &Value| v["totals"]["total_tokens"].as_u64();
    let ccusage_total = |v: &Value| v["totals"]["totalTokens"].as_u64();
    let mut s_runs = Vec::new();
    let mut c_runs = Vec::new();
    let (mut s_rss, mut c_rss) = (0u64, 0u64);
    let (mut s_tokens, mut c_tokens) = (0u64, 0u64);
    for i in 0..=opts.runs {
        common.wait_quiet().await;
        let (d, rss, out) = timed(&steward, steward_cmd)?;
        s_tokens = steward_total(&out).context("steward report printed no totals")?;
        let (cd, crss, cout) = timed(&ccusage, ccusage_cmd)?;
        c_tokens = ccusage_total(&cout).context("ccusage printed no totals")?;
        eprintln!(
            "  run {i}{}: steward {:.2} s ({} MiB), ccusage {:.2} s ({} MiB)",
            if i == 0 { " (warm-up, not counted)" } else { "" },
            d.as_secs_f64(),
            rss / 1024,
            cd.as_secs_f64(),
            crss / 1024
        );
        if i > 0 {
            s_runs.push(d.as_secs_f64());
            c_runs.push(cd.as_secs_f64());
            s_rss = s_rss.max(rss);
            c_rss = c_rss.max(crss);
        }
    }
    if s_tokens != expected {
        bail!("steward report counted {s_tokens} tokens, the generator wrote {expected}");
    }
    let tool = |name: &str, runs: Vec<f64>, rss: u64, tokens: u64| {
        let median = median(&runs);
        ToolRun {
            tool: name.to_owned(),
            median_secs: median,
            runs_secs: runs,
            mb_per_sec: truth.bytes as f64 / 1e6 / median,
            peak_rss_mib: rss as f64 / 1024.0,
            total_tokens: tokens,
        }
    };
    let version = Command::new(&ccusage)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Ok(ReportResult {
        files: truth.files.len(),
        bytes: truth.bytes,
        generate_secs,
        expected_total_tokens: expected,
        steward: tool("steward report", s_runs, s_rss, s_tokens),
        ccusage: tool("ccusage codex", c_runs, c_rss, c_tokens),
        ccusage_version: version,
    })
}

/// Runs a command to completion: wall time, peak RSS (VmHWM polled every 2 ms: it only grows,
/// so at most the last 2 ms of growth can be missed) and its stdout as JSON.
fn timed(bin: &Path, setup: impl Fn(&mut Command)) -> Result<(Duration, u64, Value)> {
    let mut cmd = Command::new(bin);
    setup(&mut cmd);
    let out_file = tempfile::NamedTempFile::new()?;
    cmd.stdout(out_file.reopen()?).stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))?;
    let pid = child.id().to_string();
    let mut hwm = 0;
    let status = loop {
        hwm = hwm.max(proc_stats(&pid).vm_hwm_kib);
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("{} exited with {status}", bin.display());
    }
    let text = std::fs::read(out_file.path())?;
    let json = serde_json::from_slice(&text).with_context(|| format!("{} printed no JSON", bin.display()))?;
    Ok((elapsed, hwm, json))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn markdown(s: &mut String, results: &[ReportResult]) {
    use std::fmt::Write as _;
    for r in results {
        let _ = writeln!(
            s,
            "\n### steward report vs ccusage ({}), same synthetic home, same run\n\n{} files, {:.2} GB, {} tokens written (generated in {:.1} s); warm page cache, median of {} runs each.\n",
            r.ccusage_version,
            r.files,
            r.bytes as f64 / 1e9,
            r.expected_total_tokens,
            r.generate_secs,
            r.steward.runs_secs.len()
        );
        let _ = writeln!(
            s,
            "| tool | median s | MB/s | peak RSS MiB | total tokens found |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        for t in [&r.steward, &r.ccusage] {
            let _ = writeln!(
                s,
                "| {} | {:.2} | {:.0} | {:.1} | {} |",
                t.tool, t.median_secs, t.mb_per_sec, t.peak_rss_mib, t.total_tokens
            );
        }
        let _ = writeln!(
            s,
            "\nsteward report is {:.2}× ccusage's throughput.",
            r.ccusage.median_secs / r.steward.median_secs
        );
    }
}

#[derive(Debug, Clone, Args)]
pub struct ShipOpts {
    /// Size of the synthetic Codex home to backfill, in GB (10^9 bytes).
    #[arg(long, default_value_t = 1.0)]
    gb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShipResult {
    pub files: usize,
    pub bytes: u64,
    pub secs: f64,
    pub mb_per_sec: f64,
    pub lines: u64,
    pub events: u64,
    pub shipper_peak_rss_mib: f64,
    pub server_peak_rss_mib: f64,
    pub expected_total_tokens: u64,
    pub stored_total_tokens: u64,
    /// The same home read by `steward report` in the same run: the local parse ceiling.
    pub report_mb_per_sec: f64,
}

/// `steward agent ship` backfilling a synthetic home into a local `steward serve` (SQLite):
/// MB/s, both processes' peak RSS, and the usage API's token total checked against the
/// generator's.
pub async fn run_ship(opts: &ShipOpts, common: &Common) -> Result<ShipResult> {
    let bin = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let scratch = tempfile::Builder::new()
        .prefix("steward-bench-ship-")
        .tempdir_in(common.work_dir()?)?;
    let home = scratch.path().join("codex-home");
    let now = crate::stats::now_ms() / 1000;
    let spec = SyntheticSpec {
        files: ((opts.gb * 1e9) / 2.08e6).ceil().max(1.0) as usize,
        turns_per_file: 40,
        tool_bytes_per_turn: 24_000,
        days: 30,
        first_day: now - 31 * 86_400,
        seed: 13,
    };
    let truth = generate(&home, &spec)?;
    eprintln!(
        "generated {} files, {:.2} GB, {} tokens",
        truth.files.len(),
        truth.bytes as f64 / 1e9,
        truth.total.total()
    );
    let data_dir = scratch.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let steward = crate::server::Steward {
        bin: bin.clone(),
        data_dir,
        database_url: None,
        cwd: scratch.path().to_owned(),
    };
    let workspace = steward.default_workspace_id()?;
    let (_, token) = steward.user_with_token("shipper@example.com")?;
    let key = steward.analytics_key()?;
    let server = steward.serve(&scratch.path().join("serve.log")).await?;
    common.wait_quiet().await;
    let state = scratch.path().join("ship-state.json");
    let base = server.base_url.clone();
    let (d, rss, summary) = timed(&bin, |c| {
        c.args([
            "agent", "ship", "--json", "--server", &base, "--token", &token, "--host", "bench",
        ])
        .arg("--state")
        .arg(&state)
        .arg("--codex-home")
        .arg(&home);
    })?;
    let server_stats = server.stats();
    // The usage API's total over the window (per-user rows, every page).
    let (start, end) = ((now - 32 * 86_400) as u64, (now + 86_400) as u64);
    let stored: u64 = steward_test_support::usage_api::UsageApi::new(base.clone(), key)?
        .rows(&workspace, start, end, &[("limit", "1000".to_owned())])
        .await?
        .iter()
        .map(|row| row["totals"]["text_total_tokens"].as_u64().unwrap_or(0))
        .sum();
    server.stop()?;
    let (rd, _, _) = timed(&bin, |c| {
        c.args(["report", "daily", "--json", "-z", "UTC", "--codex-home"])
            .arg(&home);
    })?;
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    Ok(ShipResult {
        files: truth.files.len(),
        bytes: truth.bytes,
        secs: d.as_secs_f64(),
        mb_per_sec: truth.bytes as f64 / 1e6 / d.as_secs_f64(),
        lines: n("lines"),
        events: n("events"),
        shipper_peak_rss_mib: rss as f64 / 1024.0,
        server_peak_rss_mib: server_stats.vm_hwm_kib as f64 / 1024.0,
        expected_total_tokens: truth.total.total(),
        stored_total_tokens: stored,
        report_mb_per_sec: truth.bytes as f64 / 1e6 / rd.as_secs_f64(),
    })
}

pub fn ship_markdown(s: &mut String, results: &[ShipResult]) {
    use std::fmt::Write as _;
    for r in results {
        let _ = writeln!(
            s,
            "\n### steward agent ship: backfill into a local steward serve (SQLite)\n\n{} files, {:.2} GB: **{:.1} s, {:.0} MB/s**; {} lines, {} events; peak RSS shipper {:.1} MiB, server {:.1} MiB. Usage API total {} tokens, written {} ({}). `steward report` on the same files: {:.0} MB/s.",
            r.files,
            r.bytes as f64 / 1e9,
            r.secs,
            r.mb_per_sec,
            r.lines,
            r.events,
            r.shipper_peak_rss_mib,
            r.server_peak_rss_mib,
            r.stored_total_tokens,
            r.expected_total_tokens,
            if r.stored_total_tokens == r.expected_total_tokens { "equal" } else { "DIFFERENT" },
            r.report_mb_per_sec
        );
    }
}
