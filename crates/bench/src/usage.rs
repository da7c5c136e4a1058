//! `steward-bench usage`: latency of the Analytics usage endpoint on a large dataset
//! (default 10k users × 90 days, ending today), through the real `steward serve`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use steward_model::time::{day_start, DAY_SECS};
use steward_model::{EventKind, NormalizedEvent, RateCard, Source, TokenUsage, UserKind};
use steward_store::{Bucket, Grouping, NewUser, Store, UsageCursor, UsageQuery};

use crate::pg::FreshDb;
use crate::server::Steward;
use crate::stats::{self, Latency};
use crate::{Backend, Common, UsageOpts};

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub query: String,
    pub requests: usize,
    /// Distinct pages visited (a walk restarts at page 1 after `walk` pages or the last page).
    pub distinct_pages: usize,
    pub rows_per_page: f64,
    pub bytes_per_page: f64,
    pub latency: Latency,
    /// Pages 1..=N/10 and the last tenth of pages of each walk (when walks are ≥ 10 pages):
    /// whether a page costs more the deeper the cursor is.
    pub early_pages: Option<Latency>,
    pub late_pages: Option<Latency>,
    /// The same query shape through `Store::usage_rows` directly (no HTTP, auth or JSON), in
    /// this process after the server stopped: the database's share of the latency.
    pub store_latency: Option<Latency>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsageResult {
    pub backend: &'static str,
    pub users: usize,
    pub days: i64,
    pub events: u64,
    pub usage_daily_rows: u64,
    pub build_secs: f64,
    pub build_events_per_sec: f64,
    pub start_time: i64,
    pub scenarios: Vec<Scenario>,
    pub server_peak_rss_mib: f64,
    pub checks: Vec<String>,
    pub checks_ok: bool,
    pub concurrent_builds: Vec<String>,
    pub analyzed: bool,
}

const CLIENTS: &[&str] = &["CODEX_CLI", "CODEX_IDE_VSCODE"];
const MODELS: &[&str] = &["gpt-5-codex", "gpt-5.1-codex-mini"];

pub async fn run(backend: Backend, opts: &UsageOpts, common: &Common) -> Result<UsageResult> {
    let bin = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-usage-")
        .tempdir_in(&work)?;
    eprintln!(
        "== usage [{}]: {} users × {} days",
        backend.name(),
        opts.users,
        opts.days
    );
    let mut db = None;
    let result = async {
        let database_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let fresh = FreshDb::create(&common.postgres_url()?, "usage").await?;
                eprintln!("  fresh database {}", fresh.name);
                let url = fresh.url.clone();
                db = Some(fresh);
                Some(url)
            }
        };
        run_inner(backend, opts, common, &bin, tmp.path(), database_url).await
    }
    .await;
    if let Some(db) = db {
        if let Err(e) = db.drop_db().await {
            eprintln!("  note: {e:#}");
        }
    }
    if common.keep {
        eprintln!("  kept {}", tmp.keep().display());
    }
    result
}

async fn run_inner(
    backend: Backend,
    opts: &UsageOpts,
    common: &Common,
    bin: &Path,
    tmp: &Path,
    database_url: Option<String>,
) -> Result<UsageResult> {
    let data_dir = tmp.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let today = day_start(stats::now_ms() / 1000);

    // 1. The dataset, straight through the store API.
    let store: Box<dyn Store> = match &database_url {
        None => Box::new(steward_store_sqlite::SqliteStore::open(&data_dir.join("steward.db")).await?),
        Some(url) => Box::new(steward_store_postgres::PostgresStore::connect(url).await?),
    };
    let t = Instant::now();
    let (events, usage_rows) = build_dataset(store.as_ref(), opts.users, opts.days, today).await?;
    let build_secs = t.elapsed().as_secs_f64();
    drop(store);
    if opts.analyze {
        let t = Instant::now();
        match &database_url {
            None => rusqlite::Connection::open(data_dir.join("steward.db"))?.execute_batch("ANALYZE")?,
            Some(url) => crate::pg::connect(url).await?.batch_execute("ANALYZE").await?,
        }
        eprintln!("  ANALYZE took {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!(
        "  dataset: {} users, {events} events, {usage_rows} usage_daily rows in {build_secs:.1} s ({:.0} events/s via Store::insert_events)",
        opts.users,
        events as f64 / build_secs
    );

    // 2. The server on it, with an analytics key made by the CLI.
    let steward = Steward {
        bin: bin.to_owned(),
        data_dir,
        database_url,
        cwd: tmp.to_owned(),
    };
    let workspace = steward.default_workspace_id()?;
    let key = format!("Bearer {}", steward.analytics_key()?);
    let server = steward.serve(&tmp.join("serve.log")).await?;
    eprintln!("  steward serve pid {} on {}", server.pid, server.base_url);
    common.wait_quiet().await;
    let builds_before = stats::concurrent_builds();

    // 90 days back from today's UTC day start: the API's lookback cap.
    let start_time = today - opts.days.min(90) * DAY_SECS;
    let base = format!(
        "{}/v1/analytics/codex/workspaces/{workspace}/usage?start_time={start_time}&limit={}",
        server.base_url, opts.limit
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut scenarios = Vec::new();
    let mut checks = Vec::new();
    let mut ok = true;
    let plan: [(&str, &str, usize); 4] = [
        ("per-user, day", "", opts.requests),
        ("per-user, week", "&group_by=week", opts.requests),
        ("workspace, day", "&group=workspace", opts.workspace_requests),
        (
            "workspace, week",
            "&group=workspace&group_by=week",
            opts.workspace_requests,
        ),
    ];
    for (name, extra, requests) in plan {
        let url = format!("{base}{extra}");
        common.wait_quiet().await;
        let (sc, first) = measure(&http, &key, name, &url, requests, opts.walk).await?;
        eprintln!(
            "  {name:<16} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} requests, {} distinct pages, {:.0} rows/page, {:.0} KiB/page)",
            sc.latency.p50_ms,
            sc.latency.p99_ms,
            sc.latency.max_ms,
            sc.requests,
            sc.distinct_pages,
            sc.rows_per_page,
            sc.bytes_per_page / 1024.0
        );
        if let (Some(e), Some(l)) = (sc.early_pages, sc.late_pages) {
            eprintln!(
                "  {:<16} first tenth of pages p50 {:.1} ms p99 {:.1} ms; last tenth p50 {:.1} ms p99 {:.1} ms",
                "", e.p50_ms, e.p99_ms, l.p50_ms, l.p99_ms
            );
        }
        let (good, what) = check(name, &first, opts);
        ok &= good;
        checks.push(format!("{name}: {what}"));
        scenarios.push(sc);
    }
    if today != day_start(stats::now_ms() / 1000) {
        checks.push("the UTC day changed during the run; rerun".to_owned());
        ok = false;
    }
    let mut builds = stats::concurrent_builds();
    builds.extend(builds_before);
    builds.sort();
    builds.dedup();
    if !builds.is_empty() {
        eprintln!(
            "  WARNING: concurrent build processes seen during the measurement: {}",
            builds.join(" ")
        );
    }
    let ps = server.stop()?;

    // The database's share: the same shapes through Store::usage_rows, no HTTP/JSON.
    let store: Box<dyn Store> = match &steward.database_url {
        None => {
            Box::new(steward_store_sqlite::SqliteStore::open(&steward.data_dir.join("steward.db")).await?)
        }
        Some(url) => Box::new(steward_store_postgres::PostgresStore::connect(url).await?),
    };
    let shapes = [
        (Bucket::Day, Grouping::User, opts.requests),
        (Bucket::Week, Grouping::User, opts.requests),
        (Bucket::Day, Grouping::Workspace, opts.workspace_requests.min(5)),
        (Bucket::Week, Grouping::Workspace, opts.workspace_requests.min(5)),
    ];
    for (sc, (bucket, grouping, n)) in scenarios.iter_mut().zip(shapes) {
        let q = UsageQuery {
            workspace_id: workspace.clone(),
            start_day: day_start(start_time),
            end_day: today + DAY_SECS,
            bucket,
            grouping,
            limit: opts.limit,
            after: None,
        };
        common.wait_quiet().await;
        let lat = store_walk(store.as_ref(), q, n, opts.walk).await?;
        eprintln!(
            "  {:<16} Store::usage_rows alone: p50 {:>7.1} ms  p99 {:>7.1} ms  ({} calls)",
            sc.name, lat.p50_ms, lat.p99_ms, lat.n
        );
        sc.store_latency = Some(lat);
    }
    drop(store);
    for c in &checks {
        eprintln!("  check {c}");
    }
    Ok(UsageResult {
        backend: backend.name(),
        users: opts.users,
        days: opts.days,
        events,
        usage_daily_rows: usage_rows,
        build_secs,
        build_events_per_sec: events as f64 / build_secs,
        start_time,
        scenarios,
        server_peak_rss_mib: ps.vm_hwm_kib as f64 / 1024.0,
        checks,
        checks_ok: ok,
        concurrent_builds: builds,
        analyzed: opts.analyze,
    })
}

/// Per user-day: one `UserPrompt` and one `ResponseCompleted` on one thread; two clients and
/// two models spread over users and days. Returns (events, usage_daily rows).
pub async fn build_dataset(store: &dyn Store, users: usize, days: i64, today: i64) -> Result<(u64, u64)> {
    let card = RateCard::builtin()?;
    let ws = store.ensure_default_workspace("Default").await?;
    let mut ids = Vec::with_capacity(users);
    let t = Instant::now();
    for u in 0..users {
        let email = format!("user{u:05}@bench.example");
        let user = store
            .upsert_user(&NewUser {
                workspace_id: ws.id.clone(),
                email: Some(email.clone()),
                name: None,
                account_id: None,
                kind: UserKind::Person,
                principal_key: format!("email:{email}"),
            })
            .await?;
        ids.push(user.id);
    }
    eprintln!("  {users} users created in {:.1} s", t.elapsed().as_secs_f64());
    let mut events = 0u64;
    for d in 0..days {
        let day = today - (days - 1 - d) * DAY_SECS;
        let mut batch = Vec::with_capacity(users * 2);
        for (u, user_id) in ids.iter().enumerate() {
            let client = CLIENTS[u % CLIENTS.len()];
            let model = MODELS[(u + d as usize) % MODELS.len()];
            let ts = (day + 8 * 3600 + (u as i64 * 37) % (10 * 3600)) * 1000;
            let thread = format!("thr-{u:05}-{d:03}");
            let input = 5_000 + ((u as i64 * 131 + d * 17) % 40_000);
            let output = 300 + ((u as i64 * 7 + d * 3) % 3_000);
            let usage = TokenUsage {
                input,
                cached_input: input / 2,
                output,
                reasoning_output: output / 5,
                total: input + output,
            };
            let price = card.price(Some(model), &usage);
            let mk = |kind: EventKind, n: u8, ts: i64| NormalizedEvent {
                dedup_key: format!("bench-{u}-{d}-{n}"),
                workspace_id: ws.id.clone(),
                user_id: user_id.clone(),
                source: Source::Demo,
                event_name: if n == 0 {
                    "codex.user_prompt"
                } else {
                    "codex.sse_event"
                }
                .to_owned(),
                rate_card_version: if n == 0 {
                    String::new()
                } else {
                    card.version.clone()
                },
                credits_micro: if n == 0 { 0 } else { price.credits_micro },
                usd_micro: if n == 0 { 0 } else { price.usd_micro },
                kind,
                thread_id: Some(thread.clone()),
                trace_id: None,
                turn_id: None,
                timestamp_ms: ts,
                client_id: client.to_owned(),
                model: Some(model.to_owned()),
                raw: "{\"bench\":true}".to_owned(),
                host_name: None,
            };
            batch.push(mk(EventKind::UserPrompt, 0, ts));
            batch.push(mk(EventKind::ResponseCompleted(usage), 1, ts + 4_000));
        }
        events += store.insert_events(batch).await?.inserted;
        if (d + 1) % 10 == 0 {
            eprintln!("  … {} of {days} days loaded", d + 1);
        }
    }
    // Prompts (no rate card version) and completions (priced) land in two usage_daily rows.
    Ok((events, 2 * users as u64 * days as u64))
}

/// Sequential GETs: walks `next_page` from page 1 for up to `walk` pages, then starts over,
/// until `requests` were measured (after 3 unmeasured warm-up requests).
async fn measure(
    http: &reqwest::Client,
    key: &str,
    name: &str,
    url: &str,
    requests: usize,
    walk: usize,
) -> Result<(Scenario, Value)> {
    let mut cursor: Option<String> = None;
    let mut in_walk = 0usize;
    let mut lat = Vec::with_capacity(requests);
    let mut by_page: Vec<(usize, Duration)> = Vec::with_capacity(requests);
    let (mut rows, mut bytes) = (0usize, 0usize);
    let mut first = Value::Null;
    let mut distinct = std::collections::HashSet::new();
    for i in 0..requests + 3 {
        let full = match &cursor {
            Some(c) => format!("{url}&page={c}"),
            None => url.to_owned(),
        };
        let t = Instant::now();
        let resp = http
            .get(&full)
            .header("authorization", key)
            .send()
            .await
            .with_context(|| format!("GET {full}"))?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let elapsed = t.elapsed();
        if !status.is_success() {
            bail!(
                "{name}: GET {full} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let page: Value = serde_json::from_slice(&body)?;
        if i >= 3 {
            lat.push(elapsed);
            by_page.push((in_walk, elapsed));
            rows += page["data"].as_array().map_or(0, |a| a.len());
            bytes += body.len();
            distinct.insert(cursor.clone());
        }
        if first.is_null() {
            first = page.clone();
        }
        in_walk += 1;
        cursor = match page["next_page"].as_str() {
            Some(next) if page["has_more"] == true && in_walk < walk.max(1) => Some(next.to_owned()),
            _ => {
                in_walk = 0;
                None
            }
        };
    }
    let n = lat.len().max(1) as f64;
    // Latency by depth: pages in the first and the last tenth of the walk.
    let deepest = by_page.iter().map(|p| p.0).max().unwrap_or(0);
    let pick = |keep: &dyn Fn(usize) -> bool| {
        Latency::of(
            &by_page
                .iter()
                .filter(|p| keep(p.0))
                .map(|p| p.1)
                .collect::<Vec<_>>(),
        )
    };
    let tenth = (deepest + 1).div_ceil(10);
    let (early, late) = (pick(&|i| i < tenth), pick(&|i| i + tenth > deepest));
    Ok((
        Scenario {
            early_pages: (deepest >= 9).then_some(early),
            late_pages: (deepest >= 9).then_some(late),
            name: name.to_owned(),
            query: url
                .split_once("/usage")
                .map(|(_, q)| format!("/usage{q}"))
                .unwrap_or_default(),
            requests: lat.len(),
            distinct_pages: distinct.len(),
            rows_per_page: rows as f64 / n,
            bytes_per_page: bytes as f64 / n,
            latency: Latency::of(&lat),
            store_latency: None,
        },
        first,
    ))
}

/// Sanity of page 1: row counts and figures that the dataset fixes.
fn check(name: &str, page: &Value, opts: &UsageOpts) -> (bool, String) {
    let data = page["data"].as_array().cloned().unwrap_or_default();
    let turns = |r: &Value| r["totals"]["turns"].as_i64().unwrap_or(-1);
    match name {
        "per-user, day" => {
            let want = (opts.limit as usize).min(opts.users * opts.days as usize);
            let good = data.len() == want && data.iter().all(|r| turns(r) == 1 && r["user_id"].is_string());
            (
                good,
                format!(
                    "{} rows (want {want}), each 1 turn: {}",
                    data.len(),
                    if good { "OK" } else { "FAIL" }
                ),
            )
        }
        "workspace, day" => {
            let good =
                data.len() as i64 == opts.days.min(90) && data.iter().all(|r| turns(r) == opts.users as i64);
            (
                good,
                format!(
                    "{} day rows, each {} turns: {}",
                    data.len(),
                    opts.users,
                    if good { "OK" } else { "FAIL" }
                ),
            )
        }
        "workspace, week" => {
            let total: i64 = data.iter().map(turns).sum();
            let want = opts.users as i64 * opts.days.min(90);
            (
                total == want,
                format!(
                    "turns over all weeks {total} (want {want}): {}",
                    if total == want { "OK" } else { "FAIL" }
                ),
            )
        }
        _ => {
            let good = !data.is_empty() && data.iter().all(|r| turns(r) >= 1);
            (
                good,
                format!("{} rows: {}", data.len(), if good { "OK" } else { "FAIL" }),
            )
        }
    }
}

/// Like [`measure`], through the store: walks pages by the last row's key (what the API's
/// cursor encodes), 1 unmeasured warm-up call.
async fn store_walk(store: &dyn Store, q: UsageQuery, calls: usize, walk: usize) -> Result<Latency> {
    let mut lat = Vec::with_capacity(calls);
    let mut after: Option<UsageCursor> = None;
    let mut in_walk = 0usize;
    for i in 0..calls + 1 {
        let query = UsageQuery {
            after: after.clone(),
            ..q.clone()
        };
        let t = Instant::now();
        let page = store.usage_rows(&query).await?;
        if i >= 1 {
            lat.push(t.elapsed());
        }
        in_walk += 1;
        after = match (page.has_more, page.rows.last()) {
            (true, Some(last)) if in_walk < walk.max(1) => Some(UsageCursor {
                bucket_start: last.key.bucket_start,
                user_id: last.key.user_id.clone(),
            }),
            _ => {
                in_walk = 0;
                None
            }
        };
    }
    Ok(Latency::of(&lat))
}
