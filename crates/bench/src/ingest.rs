//! `steward-bench ingest`: OTLP/HTTP ingest end to end through the real `steward serve`, checked
//! for correctness, against ceilings measured in the same run on the same database kind.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use prost::Message;
use serde::Serialize;
use steward_model::{NormalizedEvent, RateCard};
use steward_store::Store;

use crate::codex::{self, Expected};
use crate::pg::{self, FreshDb};
use crate::server::Steward;
use crate::stats::{self, Latency};
use crate::{Backend, Common, IngestOpts};

const SQLITE_SCHEMA: &str = include_str!("../../store-sqlite/migrations/0001_init.sql");
const POSTGRES_SCHEMA: &str = include_str!("../../store-postgres/migrations/0001_init.sql");

/// The server's event INSERT (crates/store-sqlite/src/write.rs); `conflict` is the
/// `ON CONFLICT ...` clause when the dedup guard is a unique index on `events` itself.
fn sqlite_insert_sql(conflict: &str) -> String {
    format!(
        "INSERT INTO events (workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
            client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
            total_tokens, credits_micro, usd_micro, rate_card_version, received_at_ms, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) {conflict}"
    )
}

/// How a schema makes event inserts idempotent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// A separate `event_keys (ts_ms, key)` table claimed before each insert
    /// (`steward_store::rollup::event_key_bytes`).
    EventKeys,
    /// A unique index on `events`, used as the `ON CONFLICT` target (e.g. `(workspace_id, dedup_key)`).
    EventsUnique(&'static str),
    /// Nothing (for comparison only).
    None,
}

impl Dedup {
    pub fn describe(self) -> String {
        match self {
            Dedup::EventKeys => "event_keys claim + INSERT".to_owned(),
            Dedup::EventsUnique(target) => format!("INSERT ON CONFLICT {target}"),
            Dedup::None => "plain INSERT".to_owned(),
        }
    }
}

/// The dedup guard of the schema just applied to `c`.
pub fn sqlite_dedup(c: &rusqlite::Connection) -> Result<Dedup> {
    let has = |sql: &str| -> Result<bool> { Ok(c.query_row(sql, [], |r| r.get::<_, i64>(0))? > 0) };
    if has("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'event_keys'")? {
        return Ok(Dedup::EventKeys);
    }
    if has("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_dedup'")? {
        return Ok(Dedup::EventsUnique("(workspace_id, dedup_key)"));
    }
    Ok(Dedup::None)
}

/// Inserts `events` with prepared statements, `batch` rows per IMMEDIATE transaction, the way
/// the server's write path does for the events table (no rollups). Returns the elapsed time
/// after each transaction.
pub fn sqlite_raw_insert(
    c: &mut rusqlite::Connection,
    events: &[NormalizedEvent],
    batch: usize,
    dedup: Dedup,
    empty_raw: bool,
) -> Result<Vec<Duration>> {
    let conflict = match dedup {
        Dedup::EventsUnique(target) => format!("ON CONFLICT {target} DO NOTHING"),
        _ => String::new(),
    };
    let sql = sqlite_insert_sql(&conflict);
    let received = stats::now_ms();
    let mut marks = Vec::with_capacity(events.len() / batch.max(1) + 1);
    let t = Instant::now();
    for chunk in events.chunks(batch.max(1)) {
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut claim = tx
                .prepare_cached("INSERT INTO event_keys (ts_ms, key) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
                .ok()
                .filter(|_| dedup == Dedup::EventKeys);
            let mut stmt = tx.prepare_cached(&sql)?;
            for e in chunk {
                if let Some(claim) = claim.as_mut() {
                    let key = steward_store::rollup::event_key_bytes(&e.workspace_id, &e.dedup_key);
                    if claim.execute(rusqlite::params![e.dedup_claim_ms(), &key[..]])? == 0 {
                        continue;
                    }
                }
                let u = e.kind.usage();
                stmt.execute(rusqlite::params![
                    e.workspace_id,
                    e.dedup_key,
                    e.user_id,
                    e.source.as_str(),
                    e.event_name,
                    e.kind.as_str(),
                    e.thread_id,
                    e.timestamp_ms,
                    e.client_id,
                    e.model,
                    u.map(|u| u.input),
                    u.map(|u| u.cached_input),
                    u.map(|u| u.output),
                    u.map(|u| u.reasoning_output),
                    u.map(|u| u.total),
                    e.credits_micro,
                    e.usd_micro,
                    e.rate_card_version,
                    received,
                    if empty_raw { "" } else { e.raw.as_str() },
                ])?;
            }
        }
        tx.commit()?;
        marks.push(t.elapsed());
    }
    Ok(marks)
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestResult {
    pub backend: &'static str,
    pub records: u64,
    pub requests: u64,
    pub batch: usize,
    pub concurrency: usize,
    pub senders: usize,
    pub attrs_per_record: f64,
    pub body_bytes_per_record: f64,
    pub wall_secs: f64,
    pub records_per_sec: f64,
    pub requests_per_sec: f64,
    pub request_latency: Latency,
    pub retries_503: u64,
    /// Database transactions the server's write queue committed (from its /metrics).
    pub server_commits: Option<u64>,
    pub events_per_commit: Option<f64>,
    pub stored_events: u64,
    pub expected: Expected,
    pub stored_turns: i64,
    pub stored_input_tokens: i64,
    pub correct: bool,
    pub server_peak_rss_mib: f64,
    pub server_cpu_secs: f64,
    /// Server CPU per record, microseconds (CPU time, all threads).
    pub server_cpu_us_per_record: f64,
    pub client_cpu_secs: f64,
    /// CPU used on the machine during the load by anything but the server and this client
    /// (PostgreSQL backends, concurrent compiles, ...), seconds.
    pub other_cpu_secs: f64,
    pub machine_idle_secs: f64,
    pub concurrent_builds: Vec<String>,
    pub breakdown: Option<Breakdown>,
    pub ceiling: Option<Ceiling>,
}

/// Single-threaded CPU cost of the stages before the database (in this process, server stopped).
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub decode_records_per_sec: f64,
    pub parse_records_per_sec: f64,
    pub finalize_records_per_sec: f64,
    /// decode + parse + finalize together.
    pub cpu_path_records_per_sec: f64,
    /// Server dedup keys found among a sample of the locally computed ones (must be all).
    pub dedup_keys_matched: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ceiling {
    /// What the raw ceiling is (statement kind and transaction size).
    pub raw_method: String,
    pub raw_rows_per_sec: f64,
    pub raw_secs: f64,
    /// `Store::insert_events` (events + rollups, the server's write path minus HTTP/decode),
    /// one call per `batch` events.
    pub store_rows_per_sec: f64,
    /// The same with `group` events per call: what the server's group commit merges at most
    /// with `concurrency` requests waiting.
    pub store_group_rows_per_sec: f64,
    pub store_group: usize,
    /// Server records/s divided by the raw ceiling.
    pub ratio_server_vs_raw: f64,
    pub ratio_server_vs_store: f64,
}

pub async fn run(backend: Backend, opts: &IngestOpts, common: &Common) -> Result<IngestResult> {
    let bin = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-ingest-")
        .tempdir_in(&work)?;
    eprintln!(
        "== ingest [{}]: {} records in batches of {}, {} concurrent clients, {} senders",
        backend.name(),
        opts.records,
        opts.batch,
        opts.concurrency,
        opts.senders
    );
    let mut dbs: Vec<FreshDb> = Vec::new();
    let result = run_inner(backend, opts, common, &bin, tmp.path(), &mut dbs).await;
    for db in dbs {
        if let Err(e) = db.drop_db().await {
            eprintln!("  note: {e:#}");
        }
    }
    if common.keep {
        let kept = tmp.keep();
        eprintln!("  kept {}", kept.display());
    }
    result
}

async fn run_inner(
    backend: Backend,
    opts: &IngestOpts,
    common: &Common,
    bin: &Path,
    tmp: &Path,
    dbs: &mut Vec<FreshDb>,
) -> Result<IngestResult> {
    let admin_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(common.postgres_url()?),
    };
    let database_url = match &admin_url {
        Some(u) => {
            let db = FreshDb::create(u, "ingest").await?;
            let url = db.url.clone();
            eprintln!("  fresh database {}", db.name);
            dbs.push(db);
            Some(url)
        }
        None => None,
    };
    let steward = Steward {
        bin: bin.to_owned(),
        data_dir: tmp.join("data"),
        database_url: database_url.clone(),
        cwd: tmp.to_owned(),
    };

    // Users and their ingest tokens, through the CLI as an operator would.
    let mut users = Vec::with_capacity(opts.senders);
    let mut tokens = Vec::with_capacity(opts.senders);
    for s in 0..opts.senders {
        let (id, token) = steward.user_with_token(&codex::email(s))?;
        users.push(id);
        tokens.push(format!("Bearer {token}"));
    }
    let workspace_id = steward.default_workspace_id()?;

    let t = Instant::now();
    let base_ms = stats::now_ms() - opts.records as i64 - 60_000;
    let gen = codex::generate(opts.records, opts.batch, opts.senders, base_ms);
    eprintln!(
        "  generated {} bodies in {:.1} s ({:.1} attributes, {:.0} protobuf bytes per record)",
        gen.bodies.len(),
        t.elapsed().as_secs_f64(),
        gen.attrs_per_record,
        gen.bytes_per_record
    );

    let server = steward.serve(&tmp.join("serve.log")).await?;
    eprintln!("  steward serve pid {} on {}", server.pid, server.base_url);
    common.wait_quiet().await;
    let builds_before = stats::concurrent_builds();
    let server_before = server.stats();
    let client_before = stats::proc_stats("self");
    let machine_before = stats::machine_cpu();

    // The load: C clients take the next body, POST it, and wait for 200 (durable commit).
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency)
        .build()?;
    let url = format!("{}/v1/logs", server.base_url);
    let bodies = Arc::new(gen.bodies);
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.concurrency.max(1) {
        let (http, url, bodies, tokens, next, retries) = (
            http.clone(),
            url.clone(),
            bodies.clone(),
            tokens.clone(),
            next.clone(),
            retries.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let mut attempts = 0;
                loop {
                    if post_logs_once(&http, &url, &tokens[body.sender], body.bytes.clone()).await? {
                        break;
                    }
                    if attempts >= 200 {
                        bail!("POST /v1/logs: still 503 after 200 attempts");
                    }
                    attempts += 1;
                    retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                lat.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let wall = started.elapsed().as_secs_f64();
    let machine_after = stats::machine_cpu();
    let client_after = stats::proc_stats("self");
    let mut builds = stats::concurrent_builds();
    builds.extend(builds_before);
    builds.sort();
    builds.dedup();
    // The server's own count of group commits (Prometheus /metrics), for the mean group size.
    let commits = match http.get(format!("{}/metrics", server.base_url)).send().await {
        Ok(r) => r.text().await.ok().and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("steward_ingest_commits_total"))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|v| v.parse::<f64>().ok())
                .map(|v| v as u64)
        }),
        Err(_) => None,
    };
    let server_after = server.stop()?;

    let records = gen.expected.records;
    let requests = bodies.len() as u64;
    let server_cpu = server_after.cpu_secs - server_before.cpu_secs;
    let client_cpu = client_after.cpu_secs - client_before.cpu_secs;
    let machine_busy = machine_after.0 - machine_before.0;
    let rps = records as f64 / wall;
    eprintln!(
        "  server: {:.0} records/s, {:.0} requests/s ({:.2} s wall); request p50 {:.1} ms p99 {:.1} ms",
        rps,
        requests as f64 / wall,
        wall,
        Latency::of(&latencies).p50_ms,
        Latency::of(&latencies).p99_ms
    );
    eprintln!(
        "  CPU during load: server {:.2} s, bench client {:.2} s, other {:.2} s, idle {:.2} s (of {:.2} s × {} cores); peak RSS {:.1} MiB",
        server_cpu,
        client_cpu,
        (machine_busy - server_cpu - client_cpu).max(0.0),
        machine_after.1 - machine_before.1,
        wall,
        stats::machine().nproc,
        server_after.vm_hwm_kib as f64 / 1024.0
    );
    if let Some(c) = commits.filter(|c| *c > 0) {
        eprintln!(
            "  server group commits: {c} transactions, {:.0} events each on average",
            records as f64 / c as f64
        );
    }
    if !builds.is_empty() {
        eprintln!(
            "  WARNING: concurrent build processes seen during the load: {}",
            builds.join(" ")
        );
    }

    // Correctness: what the server stored.
    let (stored, turns, input_tokens) = match &database_url {
        None => sqlite_counts(&tmp.join("data/steward.db"), &workspace_id)?,
        Some(url) => pg_counts(url, &workspace_id).await?,
    };
    let correct = stored == records
        && turns == gen.expected.user_prompts as i64
        && input_tokens == gen.expected.input_tokens;
    eprintln!(
        "  stored events {stored} of {records} sent; turns {turns} (expected {}); input tokens {input_tokens} (expected {}) → {}",
        gen.expected.user_prompts,
        gen.expected.input_tokens,
        if correct { "OK" } else { "MISMATCH" }
    );

    let mut result = IngestResult {
        backend: backend.name(),
        records,
        requests,
        batch: opts.batch,
        concurrency: opts.concurrency,
        senders: opts.senders,
        attrs_per_record: gen.attrs_per_record,
        body_bytes_per_record: gen.bytes_per_record,
        wall_secs: wall,
        records_per_sec: rps,
        requests_per_sec: requests as f64 / wall,
        request_latency: Latency::of(&latencies),
        retries_503: retries.load(Ordering::Relaxed),
        server_commits: commits,
        events_per_commit: commits.filter(|c| *c > 0).map(|c| records as f64 / c as f64),
        stored_events: stored,
        expected: gen.expected,
        stored_turns: turns,
        stored_input_tokens: input_tokens,
        correct,
        server_peak_rss_mib: server_after.vm_hwm_kib as f64 / 1024.0,
        server_cpu_secs: server_cpu,
        server_cpu_us_per_record: server_cpu * 1e6 / records.max(1) as f64,
        client_cpu_secs: client_cpu,
        other_cpu_secs: (machine_busy - server_cpu - client_cpu).max(0.0),
        machine_idle_secs: machine_after.1 - machine_before.1,
        concurrent_builds: builds,
        breakdown: None,
        ceiling: None,
    };
    if opts.no_ceiling {
        return Ok(result);
    }

    // Breakdown of the CPU path, single-threaded, with the server stopped.
    common.wait_quiet().await;
    let (events, mut breakdown) = cpu_path(&bodies, &workspace_id, &users)?;
    breakdown.dedup_keys_matched = match &database_url {
        None => sqlite_dedup_match(&tmp.join("data/steward.db"), &events)?,
        Some(url) => pg_dedup_match(url, &events).await?,
    };
    eprintln!(
        "  CPU path, 1 thread: decode {:.0}/s, parse {:.0}/s, finalize {:.0}/s → {:.0} records/s; dedup keys equal to the server's: {}",
        breakdown.decode_records_per_sec,
        breakdown.parse_records_per_sec,
        breakdown.finalize_records_per_sec,
        breakdown.cpu_path_records_per_sec,
        breakdown.dedup_keys_matched
    );
    result.breakdown = Some(breakdown);
    drop(bodies);

    let group = (opts.concurrency.max(1) * opts.batch).min(16_384);
    common.wait_quiet().await;
    let ceiling = match &admin_url {
        None => sqlite_ceiling(tmp, &events, opts.batch, group).await?,
        Some(admin) => pg_ceiling(admin, &events, opts.batch, group, dbs).await?,
    };
    let mut ceiling = ceiling;
    ceiling.ratio_server_vs_raw = rps / ceiling.raw_rows_per_sec;
    ceiling.ratio_server_vs_store = rps / ceiling.store_rows_per_sec;
    eprintln!(
        "  ceiling: raw {} {:.0} rows/s; Store::insert_events ×{} {:.0} rows/s, ×{} {:.0} rows/s; server/raw = {:.2}, server/store = {:.2}",
        ceiling.raw_method,
        ceiling.raw_rows_per_sec,
        opts.batch,
        ceiling.store_rows_per_sec,
        group,
        ceiling.store_group_rows_per_sec,
        ceiling.ratio_server_vs_raw,
        ceiling.ratio_server_vs_store
    );
    result.ceiling = Some(ceiling);
    Ok(result)
}

/// Decodes, parses and finalises every body exactly as the server does, timing each stage.
fn cpu_path(
    bodies: &[codex::Body],
    workspace_id: &str,
    users: &[String],
) -> Result<(Vec<NormalizedEvent>, Breakdown)> {
    let card = RateCard::builtin()?;
    let n: usize = bodies.iter().map(|b| b.records).sum();
    let t = Instant::now();
    let decoded: Vec<ExportLogsServiceRequest> = bodies
        .iter()
        .map(|b| steward_ingest::otlp::decode_logs(&b.bytes, steward_ingest::otlp::Encoding::Protobuf))
        .collect::<Result<_, _>>()?;
    let decode = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let received = stats::now_ms();
    let parsed: Vec<_> = decoded
        .iter()
        .map(|r| steward_ingest::normalize::parse_logs(r, received))
        .collect();
    let parse = t.elapsed().as_secs_f64();
    drop(decoded);
    let t = Instant::now();
    let mut events = Vec::with_capacity(n);
    for (body, (records, rejected)) in bodies.iter().zip(parsed) {
        if !rejected.is_empty() {
            bail!("local parse rejected records: {rejected:?}");
        }
        for p in records {
            events.push(steward_ingest::normalize::finalize(
                p,
                workspace_id,
                &users[body.sender],
                &card,
            ));
        }
    }
    let finalize = t.elapsed().as_secs_f64();
    let per = |secs: f64| n as f64 / secs.max(1e-9);
    Ok((
        events,
        Breakdown {
            decode_records_per_sec: per(decode),
            parse_records_per_sec: per(parse),
            finalize_records_per_sec: per(finalize),
            cpu_path_records_per_sec: per(decode + parse + finalize),
            dedup_keys_matched: String::new(),
        },
    ))
}

/// Every 997th event: enough to catch a mismatch in how the ceiling rows are built.
fn sample(events: &[NormalizedEvent]) -> Vec<&NormalizedEvent> {
    events.iter().step_by(997).collect()
}

fn sqlite_counts(path: &Path, workspace_id: &str) -> Result<(u64, i64, i64)> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let n: i64 = c.query_row(
        "SELECT COUNT(*) FROM events WHERE workspace_id = ?1",
        [workspace_id],
        |r| r.get(0),
    )?;
    let (turns, input): (i64, i64) = c.query_row(
        "SELECT COALESCE(SUM(turns), 0), COALESCE(SUM(input_tokens), 0) FROM usage_daily
         WHERE workspace_id = ?1 AND user_id <> ''",
        [workspace_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n as u64, turns, input))
}

async fn pg_counts(url: &str, workspace_id: &str) -> Result<(u64, i64, i64)> {
    let c = pg::connect(url).await?;
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM events WHERE workspace_id = $1",
            &[&workspace_id],
        )
        .await?
        .get(0);
    let row = c
        .query_one(
            "SELECT COALESCE(SUM(turns), 0)::BIGINT, COALESCE(SUM(input_tokens), 0)::BIGINT FROM usage_daily
             WHERE workspace_id = $1 AND user_id <> ''",
            &[&workspace_id],
        )
        .await?;
    Ok((n as u64, row.get(0), row.get(1)))
}

/// Compares the server's rows with the locally built ones for a sample of dedup keys, in one
/// pass (the current schema has no index on `events.dedup_key`).
fn sqlite_dedup_match(path: &Path, events: &[NormalizedEvent]) -> Result<String> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let s = sample(events);
    let marks = vec!["?"; s.len()].join(",");
    let mut stmt = c.prepare(&format!(
        "SELECT workspace_id, dedup_key, raw FROM events WHERE dedup_key IN ({marks})"
    ))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(s.iter().map(|e| &e.dedup_key)), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let stored: std::collections::HashSet<(String, String, String)> =
        rows.collect::<rusqlite::Result<_>>()?;
    Ok(matches(&s, &stored))
}

async fn pg_dedup_match(url: &str, events: &[NormalizedEvent]) -> Result<String> {
    let c = pg::connect(url).await?;
    let s = sample(events);
    let keys: Vec<&str> = s.iter().map(|e| e.dedup_key.as_str()).collect();
    let rows = c
        .query(
            "SELECT workspace_id, dedup_key, raw FROM events WHERE dedup_key = ANY($1)",
            &[&keys],
        )
        .await?;
    let stored = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    Ok(matches(&s, &stored))
}

fn matches(
    sample: &[&NormalizedEvent],
    stored: &std::collections::HashSet<(String, String, String)>,
) -> String {
    let hit = sample
        .iter()
        .filter(|e| stored.contains(&(e.workspace_id.clone(), e.dedup_key.clone(), e.raw.clone())))
        .count();
    format!("{hit}/{}", sample.len())
}

/// Same pragmas as crates/store-sqlite/src/conn.rs.
fn sqlite_open(path: &Path) -> Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(c)
}

async fn sqlite_ceiling(
    tmp: &Path,
    events: &[NormalizedEvent],
    batch: usize,
    group: usize,
) -> Result<Ceiling> {
    // Raw: the events table and its dedup guard only (no rollups), the server's own statements,
    // `batch` rows per transaction.
    let path = tmp.join("ceiling-raw.db");
    let mut c = sqlite_open(&path)?;
    c.execute_batch(SQLITE_SCHEMA)?;
    let dedup = sqlite_dedup(&c)?;
    let t = Instant::now();
    sqlite_raw_insert(&mut c, events, batch, dedup, false)?;
    let raw_secs = t.elapsed().as_secs_f64();
    let n: i64 = c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    if n as usize != events.len() {
        bail!("raw ceiling stored {n} rows of {}", events.len());
    }
    drop(c);

    let store_rps = sqlite_store_rate(&tmp.join("ceiling-store.db"), events, batch).await?;
    let group_rps = sqlite_store_rate(&tmp.join("ceiling-group.db"), events, group).await?;
    Ok(Ceiling {
        raw_method: format!(
            "rusqlite prepared statements ({}), {batch} rows/tx, WAL+FULL",
            dedup.describe()
        ),
        raw_rows_per_sec: events.len() as f64 / raw_secs,
        raw_secs,
        store_rows_per_sec: store_rps,
        store_group_rows_per_sec: group_rps,
        store_group: group,
        ratio_server_vs_raw: 0.0,
        ratio_server_vs_store: 0.0,
    })
}

async fn sqlite_store_rate(path: &Path, events: &[NormalizedEvent], batch: usize) -> Result<f64> {
    let store = steward_store_sqlite::SqliteStore::open(path).await?;
    store_rate(&store, events, batch).await
}

async fn store_rate(store: &dyn Store, events: &[NormalizedEvent], batch: usize) -> Result<f64> {
    let t = Instant::now();
    let mut inserted = 0;
    for chunk in events.chunks(batch) {
        inserted += store.insert_events(chunk.to_vec()).await?.inserted;
    }
    let secs = t.elapsed().as_secs_f64();
    if inserted as usize != events.len() {
        bail!("Store::insert_events stored {inserted} of {}", events.len());
    }
    Ok(events.len() as f64 / secs)
}

async fn pg_ceiling(
    admin: &str,
    events: &[NormalizedEvent],
    batch: usize,
    group: usize,
    dbs: &mut Vec<FreshDb>,
) -> Result<Ceiling> {
    use tokio_postgres::binary_copy::BinaryCopyInWriter;
    use tokio_postgres::types::{ToSql, Type};

    let db = FreshDb::create(admin, "ceiling").await?;
    let url = db.url.clone();
    dbs.push(db);
    let mut c = pg::connect(&url).await?;
    c.batch_execute(POSTGRES_SCHEMA).await?;
    // The server forces synchronous_commit on for its sessions; so does the ceiling.
    c.batch_execute("SET synchronous_commit = on").await?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::INT8,
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
    ];
    let copy = "COPY events (workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
        client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
        total_tokens, credits_micro, usd_micro, rate_card_version, received_at_ms, raw) FROM STDIN BINARY";
    let event_keys: bool = c
        .query_one("SELECT to_regclass('event_keys') IS NOT NULL", &[])
        .await?
        .get(0);
    let received = stats::now_ms();
    let t = Instant::now();
    for chunk in events.chunks(batch) {
        let tx = c.transaction().await?;
        if event_keys {
            // The dedup guard: the rows' 16-byte keys, in the same transaction.
            let sink = tx
                .copy_in("COPY event_keys (ts_ms, key) FROM STDIN BINARY")
                .await?;
            let writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA]);
            let mut writer = std::pin::pin!(writer);
            for e in chunk {
                let key = steward_store::rollup::event_key_bytes(&e.workspace_id, &e.dedup_key);
                writer.as_mut().write(&[&e.dedup_claim_ms(), &&key[..]]).await?;
            }
            writer.finish().await?;
        }
        let sink = tx.copy_in(copy).await?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        let mut writer = std::pin::pin!(writer);
        for e in chunk {
            let u = e.kind.usage();
            let (source, kind) = (e.source.as_str(), e.kind.as_str());
            let tok = |f: fn(&steward_model::TokenUsage) -> i64| u.map(f);
            let (i, ci, o, r, tt) = (
                tok(|u| u.input),
                tok(|u| u.cached_input),
                tok(|u| u.output),
                tok(|u| u.reasoning_output),
                tok(|u| u.total),
            );
            let row: [&(dyn ToSql + Sync); 20] = [
                &e.workspace_id,
                &e.dedup_key,
                &e.user_id,
                &source,
                &e.event_name,
                &kind,
                &e.thread_id,
                &e.timestamp_ms,
                &e.client_id,
                &e.model,
                &i,
                &ci,
                &o,
                &r,
                &tt,
                &e.credits_micro,
                &e.usd_micro,
                &e.rate_card_version,
                &received,
                &e.raw,
            ];
            writer.as_mut().write(&row).await?;
        }
        writer.finish().await?;
        tx.commit().await?;
    }
    let raw_secs = t.elapsed().as_secs_f64();
    let n: i64 = c.query_one("SELECT COUNT(*) FROM events", &[]).await?.get(0);
    if n as usize != events.len() {
        bail!("raw ceiling stored {n} rows of {}", events.len());
    }
    drop(c);

    let mut rates = Vec::new();
    for (tag, size) in [("store", batch), ("group", group)] {
        let db = FreshDb::create(admin, tag).await?;
        let url = db.url.clone();
        dbs.push(db);
        let store = steward_store_postgres::PostgresStore::connect(&url).await?;
        rates.push(store_rate(&store, events, size).await?);
    }
    Ok(Ceiling {
        raw_method: format!(
            "tokio-postgres COPY BINARY{}, {batch} rows/tx, synchronous_commit=on",
            if event_keys { " (event_keys + events)" } else { "" }
        ),
        raw_rows_per_sec: events.len() as f64 / raw_secs,
        raw_secs,
        store_rows_per_sec: rates[0],
        store_group_rows_per_sec: rates[1],
        store_group: group,
        ratio_server_vs_raw: 0.0,
        ratio_server_vs_store: 0.0,
    })
}

/// One OTLP/HTTP logs export: `Ok(true)` when accepted, `Ok(false)` on 503 (the server's queue
/// is full: retry later), an error for any other answer, including a partial success that
/// rejected records.
pub(crate) async fn post_logs_once(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: bytes::Bytes,
) -> Result<bool> {
    let resp = http
        .post(url)
        .header("content-type", "application/x-protobuf")
        .header("authorization", token)
        .body(body)
        .send()
        .await
        .context("POST /v1/logs")?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    if status.as_u16() == 503 {
        return Ok(false);
    }
    if !status.is_success() {
        bail!(
            "POST /v1/logs answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let r = ExportLogsServiceResponse::decode(bytes).context("decoding the OTLP response")?;
    if let Some(p) = r.partial_success.filter(|p| p.rejected_log_records > 0) {
        bail!(
            "server rejected {} records: {}",
            p.rejected_log_records,
            p.error_message
        );
    }
    Ok(true)
}
