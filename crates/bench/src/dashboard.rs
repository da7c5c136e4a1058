//! `steward-bench dashboard`: the dashboard's main view on 10k users × 90 days (every user
//! active every day: the densest case), through the real `steward serve --demo` (whose root
//! page signs the browser in) and Debian's chromium driven by playwright-core.
//!
//! Figures: the latency of each API read the overview and the ranking make (sequential, warm),
//! time to first contentful paint, to data on the charts and to interactive (cold browser
//! cache each run), the day/week toggle's response, and the bundle's size. The comparison in
//! the same run is the server's own share: the page's API time, which no front end can beat.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use steward_model::time::{day_start, DAY_SECS};

use crate::server::Steward;
use crate::stats::{self, Latency};
use crate::Common;

#[derive(Debug, Clone, Args)]
pub struct DashboardOpts {
    /// People in the dataset (each active every day).
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Days of history, ending today.
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    /// Requests per API read.
    #[arg(long, default_value_t = 20)]
    pub requests: usize,
    /// Page loads in the browser (each with an empty cache).
    #[arg(long, default_value_t = 7)]
    pub loads: usize,
    /// node_modules holding playwright-core [default: ~/.cache/steward-test/oidc-js-*/node_modules].
    #[arg(long, value_name = "DIR")]
    pub node_modules: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiRead {
    pub name: String,
    pub query: String,
    pub bytes: usize,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Render {
    pub fcp_ms: f64,
    pub ready_ms: f64,
    pub interactive_ms: f64,
    pub api_ms: f64,
    pub api_requests: f64,
    pub toggle_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DashboardResult {
    pub users: usize,
    pub days: i64,
    pub events: u64,
    pub build_secs: f64,
    pub api: Vec<ApiRead>,
    /// Median over the loads, and the slowest load.
    pub render_median: Render,
    pub render_max: Render,
    pub loads: usize,
    pub bundle_raw_bytes: usize,
    pub bundle_gzip_bytes: usize,
    pub server_peak_rss_mib: f64,
    pub chromium: String,
}

fn playwright_dir(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.join("playwright-core"));
    }
    let cache = PathBuf::from(std::env::var_os("HOME").context("HOME")?).join(".cache/steward-test");
    for entry in std::fs::read_dir(&cache).with_context(|| format!("reading {}", cache.display()))? {
        let dir = entry?.path().join("node_modules/playwright-core");
        if dir.join("package.json").is_file() {
            return Ok(dir);
        }
    }
    bail!(
        "no playwright-core under {}: run scripts/install-test-deps",
        cache.display()
    )
}

pub async fn run(opts: &DashboardOpts, common: &Common) -> Result<DashboardResult> {
    let bin = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let pw = playwright_dir(opts.node_modules.as_deref())?;
    if !Path::new("/usr/bin/chromium").exists() {
        bail!("/usr/bin/chromium is missing: apt-get install chromium (scripts/test does)");
    }
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-dashboard-")
        .tempdir_in(common.work_dir()?)?;
    eprintln!("== dashboard: {} users × {} days", opts.users, opts.days);
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir)?;
    let today = day_start(stats::now_ms() / 1000);
    let store = steward_store_sqlite::SqliteStore::open(&data_dir.join("steward.db")).await?;
    let t = Instant::now();
    let (events, _) = crate::usage::build_dataset(&store, opts.users, opts.days, today).await?;
    let build_secs = t.elapsed().as_secs_f64();
    drop(store);
    eprintln!("  dataset: {events} events in {build_secs:.1} s");

    let steward = Steward {
        bin,
        data_dir,
        database_url: None,
        cwd: tmp.path().to_owned(),
    };
    let workspace = steward.default_workspace_id()?;
    // `--demo` on a store that has data adds none; it only signs the browser in at `/`.
    let server = steward
        .serve_with(&tmp.path().join("serve.log"), &["--demo"])
        .await?;
    let base = server.base_url.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let root = http.get(format!("{base}/")).send().await?;
    let cookie = root
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("the demo root page set no session cookie")?
        .to_owned();

    // The window the overview shows for "last 90 days".
    let start = today - (opts.days.min(90) - 1) * DAY_SECS;
    let end = today + DAY_SECS;
    let w = format!("start_time={start}&end_time={end}");
    let reads = [
        ("active users, day", format!("/v1/workspaces/{workspace}/analytics/active_users?{w}&group_by=day")),
        ("workspace usage, day", format!("/v1/analytics/codex/workspaces/{workspace}/usage?group=workspace&{w}&group_by=day&limit=30000")),
        ("active users, week", format!("/v1/workspaces/{workspace}/analytics/active_users?{w}&group_by=week")),
        ("ranking, credits, page 1", format!("/v1/workspaces/{workspace}/analytics/users?{w}&sort=credits&limit=25")),
        ("ranking, streak, page 1", format!("/v1/workspaces/{workspace}/analytics/users?{w}&sort=streak&limit=25")),
        ("one person's rows, day", format!("/v1/analytics/codex/workspaces/{workspace}/usage?user_id=__USER__&{w}&group_by=day")),
        ("export workspace_usage csv", format!("/v1/workspaces/{workspace}/analytics/export?dataset=workspace_usage&{w}")),
    ];
    let top: Value = http
        .get(format!(
            "{base}/v1/workspaces/{workspace}/analytics/users?{w}&limit=1"
        ))
        .header("cookie", &cookie)
        .send()
        .await?
        .json()
        .await?;
    let top_user = top["data"][0]["user_id"]
        .as_str()
        .context("the ranking is empty")?
        .to_owned();
    let mut api = Vec::new();
    for (name, path) in reads {
        let path = path.replace("__USER__", &top_user);
        common.wait_quiet().await;
        let mut samples = Vec::with_capacity(opts.requests);
        let mut bytes = 0;
        for _ in 0..opts.requests {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            samples.push(t.elapsed());
            if !status.is_success() {
                bail!("{name}: {status}: {}", String::from_utf8_lossy(&body));
            }
            bytes = body.len();
        }
        let latency = Latency::of(&samples);
        eprintln!(
            "  {name:<28} p50 {:>7.1} ms  p99 {:>7.1} ms  ({} KiB)",
            latency.p50_ms,
            latency.p99_ms,
            bytes / 1024
        );
        api.push(ApiRead {
            name: name.to_owned(),
            query: path,
            bytes,
            latency,
        });
    }

    // The bundle as a browser receives it.
    let mut bundle_raw_bytes = 0;
    let mut bundle_gzip_bytes = 0;
    for file in ["/", "/ui/app.js", "/ui/app.css"] {
        let raw = http
            .get(format!("{base}{file}"))
            .header("cookie", &cookie)
            .send()
            .await?
            .bytes()
            .await?;
        let gz = http
            .get(format!("{base}{file}"))
            .header("cookie", &cookie)
            .header("accept-encoding", "gzip")
            .send()
            .await?
            .bytes()
            .await?;
        bundle_raw_bytes += raw.len();
        bundle_gzip_bytes += gz.len();
    }

    common.wait_quiet().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js/dashboard_render.mjs");
    let hash = format!(
        "#/overview?start={}&end={}&group_by=day",
        steward_model::time::format_date(start),
        steward_model::time::format_date(today)
    );
    let out = Command::new("node")
        .arg(&script)
        .arg(&pw)
        .arg(&base)
        .arg(&hash)
        .arg(opts.loads.to_string())
        .output()
        .context("running node (the browser driver)")?;
    if !out.status.success() {
        bail!(
            "the browser run failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let loads: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if loads.len() != opts.loads {
        bail!(
            "expected {} loads, got {}: {}",
            opts.loads,
            loads.len(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let pick = |field: &str, q: fn(&mut Vec<f64>) -> f64| {
        let mut v: Vec<f64> = loads
            .iter()
            .map(|l| l[field].as_f64().unwrap_or(f64::NAN))
            .collect();
        v.sort_by(|a, b| a.total_cmp(b));
        q(&mut v)
    };
    let summary = |q: fn(&mut Vec<f64>) -> f64| Render {
        fcp_ms: pick("fcp", q),
        ready_ms: pick("ready", q),
        interactive_ms: pick("interactive", q),
        api_ms: pick("api_ms", q),
        api_requests: pick("api_requests", q),
        toggle_ms: pick("toggle_ms", q),
    };
    let render_median = summary(|v| v[v.len() / 2]);
    let render_max = summary(|v| *v.last().unwrap_or(&f64::NAN));
    eprintln!(
        "  browser ({} cold loads): FCP {:.0} ms, data on charts {:.0} ms, interactive {:.0} ms (median; slowest {:.0} ms); API share {:.0} ms; week toggle {:.0} ms",
        opts.loads,
        render_median.fcp_ms,
        render_median.ready_ms,
        render_median.interactive_ms,
        render_max.interactive_ms,
        render_median.api_ms,
        render_median.toggle_ms
    );
    let chromium = Command::new("/usr/bin/chromium")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let proc = server.stop()?;
    Ok(DashboardResult {
        users: opts.users,
        days: opts.days,
        events,
        build_secs,
        api,
        render_median,
        render_max,
        loads: opts.loads,
        bundle_raw_bytes,
        bundle_gzip_bytes,
        server_peak_rss_mib: proc.vm_hwm_kib as f64 / 1024.0,
        chromium,
    })
}

pub fn markdown(s: &mut String, results: &[DashboardResult]) {
    use std::fmt::Write as _;
    for r in results {
        let _ = writeln!(
            s,
            "### Dashboard, {} users × {} days (every user active every day; {} events)\n",
            r.users, r.days, r.events
        );
        let _ = writeln!(s, "| API read | p50 ms | p99 ms | KiB |");
        let _ = writeln!(s, "|---|---:|---:|---:|");
        for a in &r.api {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.1} | {} |",
                a.name,
                a.latency.p50_ms,
                a.latency.p99_ms,
                a.bytes / 1024
            );
        }
        let m = &r.render_median;
        let x = &r.render_max;
        let _ = writeln!(
            s,
            "\n| overview in {} ({} cold loads) | median ms | slowest ms |\n|---|---:|---:|",
            r.chromium, r.loads
        );
        for (name, a, b) in [
            ("first contentful paint", m.fcp_ms, x.fcp_ms),
            ("data on the charts (first render)", m.ready_ms, x.ready_ms),
            ("interactive", m.interactive_ms, x.interactive_ms),
            ("of which API requests (server share, summed)", m.api_ms, x.api_ms),
            ("day → week toggle, re-rendered", m.toggle_ms, x.toggle_ms),
        ] {
            let _ = writeln!(s, "| {name} | {a:.0} | {b:.0} |");
        }
        let _ = writeln!(
            s,
            "\nBundle: {:.0} KiB raw, {:.0} KiB gzip (index.html + app.js + app.css). Server peak RSS {:.0} MiB.\n",
            r.bundle_raw_bytes as f64 / 1024.0,
            r.bundle_gzip_bytes as f64 / 1024.0,
            r.server_peak_rss_mib
        );
    }
}
