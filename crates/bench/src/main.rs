//! `steward-bench`: figures a person can rerun.
//!
//! * `ingest`: OTLP/HTTP ingest end to end through the real `steward serve` (release build),
//!   Codex-shaped protobuf bodies, C concurrent clients each waiting for the durable 200; then
//!   correctness (stored rows = records sent), peak RSS, and in the same run the ceilings: a raw
//!   bulk insert of the very same rows into the same schema, and `Store::insert_events` alone.
//! * `usage`: Analytics usage endpoint latency (p50/p99/max) on 10k users × 90 days.
//! * `all`: both, on SQLite and (when a URL is known) PostgreSQL, then a markdown table.
//! * `compliance`: sealing, download and verify throughput of the compliance log beside the
//!   disk's sequential write and read rates, on SQLite.
//!
//! Progress goes to stderr; the final table (or `--json`) to stdout.

mod codex;
mod compliance;
mod dashboard;
mod explore;
mod identity;
mod ingest;
mod pg;
mod policy;
mod report;
mod server;
mod stats;
mod usage;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "steward-bench",
    about = "Steward benchmarks: OTLP ingest vs bulk-insert ceiling, usage API latency"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The steward binary [default: next to steward-bench, else target/release/steward].
    #[arg(long, global = true, value_name = "PATH")]
    steward: Option<PathBuf>,
    /// PostgreSQL server to create throwaway databases on (any database of it; the bench
    /// creates `steward_bench_*` databases and drops them afterwards).
    #[arg(long, global = true, env = "STEWARD_TEST_POSTGRES_URL", value_name = "URL")]
    postgres_url: Option<String>,
    /// Where temporary data directories go (must be a real disk, not tmpfs) [default: $TMPDIR].
    #[arg(long, global = true, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Keep the temporary data directories.
    #[arg(long, global = true)]
    keep: bool,
    /// Run even when a source file is newer than the steward or steward-bench binary.
    #[arg(long, global = true)]
    allow_stale_binary: bool,
    /// Print the results as JSON on stdout instead of the markdown table.
    #[arg(long, global = true)]
    json: bool,
    /// Before each measurement, wait up to this many seconds for concurrent builds (rustc,
    /// cargo, cc, ld) to finish, since they take the CPU the figures depend on.
    #[arg(long, global = true, default_value_t = 0, value_name = "SECS")]
    wait_quiet: u64,
}

impl Common {
    fn work_dir(&self) -> Result<PathBuf> {
        let dir = self.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// Waits (up to `--wait-quiet` seconds) until no build process has been seen for 3 s.
    pub async fn wait_quiet(&self) {
        use std::time::{Duration, Instant};
        if self.wait_quiet == 0 {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(self.wait_quiet);
        let mut quiet_since = Instant::now();
        let mut announced = false;
        let mut last = stats::machine_cpu();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = stats::machine_cpu();
            let (busy, idle) = (now.0 - last.0, now.1 - last.1);
            last = now;
            let busy_frac = if busy + idle > 0.0 {
                busy / (busy + idle)
            } else {
                0.0
            };
            let builds = stats::concurrent_builds();
            // This process idles while waiting, so any load seen is someone else's.
            if !builds.is_empty() || busy_frac > 0.15 {
                if !announced {
                    eprintln!(
                        "  waiting for the machine to be quiet (CPU {:.0}% busy; builds: {})",
                        busy_frac * 100.0,
                        if builds.is_empty() {
                            "none".to_owned()
                        } else {
                            builds.join(" ")
                        }
                    );
                    announced = true;
                }
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_secs(3) {
                return;
            }
        }
        eprintln!(
            "  still busy after --wait-quiet {} s; measuring anyway",
            self.wait_quiet
        );
    }

    fn postgres_url(&self) -> Result<String> {
        self.postgres_url
            .clone()
            .context("PostgreSQL needs --postgres-url URL or STEWARD_TEST_POSTGRES_URL (e.g. from `scripts/pg-throwaway start /tmp/pg 55432`)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct IngestOpts {
    /// Log records to send in total.
    #[arg(long, default_value_t = 262_144)]
    records: usize,
    /// Records per OTLP request (the OTel SDKs' default batch is 512).
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Concurrent HTTP clients, each waiting for its 200 before sending the next body.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Distinct users (one ingest token each) the requests rotate over.
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Skip the timing breakdown and the ceiling measurements.
    #[arg(long)]
    no_ceiling: bool,
}

#[derive(Debug, Clone, Args)]
pub struct UsageOpts {
    /// Users in the dataset.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Days of history, ending today (UTC).
    #[arg(long, default_value_t = 90)]
    days: i64,
    /// Measured requests per per-user scenario (day and week buckets).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Measured requests per `group=workspace` scenario.
    #[arg(long, default_value_t = 10)]
    workspace_requests: usize,
    /// Pages walked through `next_page` before starting again at page 1.
    #[arg(long, default_value_t = 100)]
    walk: usize,
    /// `limit` of each page.
    #[arg(long, default_value_t = 1000)]
    limit: u32,
    /// Run ANALYZE after loading the dataset (otherwise PostgreSQL's autovacuum does it
    /// whenever it gets to it, and SQLite has no statistics at all, as in production).
    #[arg(long)]
    analyze: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// OTLP/HTTP ingest end to end vs the raw bulk-insert ceiling.
    Ingest {
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        #[command(flatten)]
        opts: IngestOpts,
    },
    /// Analytics usage endpoint latency on a large dataset.
    Usage {
        #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
        backend: Backend,
        #[command(flatten)]
        opts: UsageOpts,
    },
    /// Where the SQLite ingest ceiling goes: the same rows under schema/setting variants.
    SqliteVariants {
        #[arg(long, default_value_t = 262_144)]
        records: usize,
        #[arg(long, default_value_t = 512)]
        batch: usize,
    },
    /// Times SQL statements (file or `-` for stdin) on a SQLite file with the server's SQLite
    /// build and pragmas, printing query plans: for digging into a usage query.
    SqliteSql {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        file: String,
    },
    /// Compliance log: sealing, download and verify throughput beside the disk's own rates.
    Compliance {
        #[command(flatten)]
        opts: compliance::ComplianceOpts,
    },
    /// Policies: `check-command` evaluations/s with 1,000 rules; lookup latency with 100k users
    /// in 1,000 groups (SQLite, and PostgreSQL when a URL is given).
    Policy {
        #[command(flatten)]
        opts: policy::PolicyOpts,
    },
    /// Identity: authorization overhead per request (`/v1/me` vs `/healthz`, 403 path,
    /// `authorize` in-process); SCIM list latency with 100k users in 10k groups.
    Identity {
        #[command(flatten)]
        opts: identity::IdentityOpts,
    },
    /// Dashboard: API reads of the main views, time to first render and to interactive in
    /// chromium, and the bundle size, on 10k users × 90 days.
    Dashboard {
        #[command(flatten)]
        opts: dashboard::DashboardOpts,
    },
    /// `steward report` beside ccusage on the same multi-GB synthetic Codex home: throughput
    /// and peak RSS of each, in the same run.
    Report {
        #[command(flatten)]
        opts: report::ReportOpts,
    },
    /// `steward agent ship` backfilling a synthetic Codex home into a local server: MB/s.
    Ship {
        #[command(flatten)]
        opts: report::ShipOpts,
    },
    /// Both benchmarks on SQLite, and on PostgreSQL when a URL is given.
    All {
        #[command(flatten)]
        ingest: IngestOpts,
        #[command(flatten)]
        usage: UsageOpts,
    },
}

#[derive(Debug, Serialize)]
struct Report {
    machine: stats::Machine,
    command: String,
    ingest: Vec<ingest::IngestResult>,
    usage: Vec<usage::UsageResult>,
    sqlite_variants: Vec<explore::Variant>,
    compliance: Vec<compliance::ComplianceResult>,
    policy: Vec<policy::PolicyResult>,
    identity: Vec<identity::IdentityResult>,
    dashboard: Vec<dashboard::DashboardResult>,
    report: Vec<report::ReportResult>,
    ship: Vec<report::ShipResult>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Cmd::SqliteSql { db, repeat, file } = &cli.command {
        let sql = if file == "-" {
            std::io::read_to_string(std::io::stdin())?
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
        };
        return explore::sql_timer(db, &sql, *repeat);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    let machine = stats::machine();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    eprintln!(
        "steward-bench on {} × {} ({:.1} GiB RAM, kernel {}), {}",
        machine.nproc, machine.cpu_model, machine.mem_total_gib, machine.kernel, machine.date_utc
    );
    let builds = stats::concurrent_builds();
    if !builds.is_empty() {
        eprintln!(
            "WARNING: build processes are running ({}); figures will be disturbed",
            builds.join(" ")
        );
    }
    let mut report = Report {
        machine,
        command,
        ingest: Vec::new(),
        usage: Vec::new(),
        sqlite_variants: Vec::new(),
        compliance: Vec::new(),
        policy: Vec::new(),
        identity: Vec::new(),
        dashboard: Vec::new(),
        report: Vec::new(),
        ship: Vec::new(),
    };
    let common = &cli.common;
    match &cli.command {
        Cmd::Ingest { backend, opts } => report.ingest.push(ingest::run(*backend, opts, common).await?),
        Cmd::Usage { backend, opts } => report.usage.push(usage::run(*backend, opts, common).await?),
        Cmd::SqliteSql { .. } => unreachable!("handled in main"),
        Cmd::Compliance { opts } => report.compliance.push(compliance::run(opts, common).await?),
        Cmd::Policy { opts } => report.policy.push(policy::run(opts, common).await?),
        Cmd::Identity { opts } => report.identity.push(identity::run(opts, common).await?),
        Cmd::Dashboard { opts } => report.dashboard.push(dashboard::run(opts, common).await?),
        Cmd::Report { opts } => report.report.push(report::run(opts, common).await?),
        Cmd::Ship { opts } => report.ship.push(report::run_ship(opts, common).await?),
        Cmd::SqliteVariants { records, batch } => {
            report.sqlite_variants = explore::run(*records, *batch, common).await?
        }
        Cmd::All { ingest: i, usage: u } => {
            let mut backends = vec![Backend::Sqlite];
            if common.postgres_url.is_some() {
                backends.push(Backend::Postgres);
            } else {
                eprintln!("(no --postgres-url / STEWARD_TEST_POSTGRES_URL: PostgreSQL skipped)");
            }
            for b in backends {
                report.ingest.push(ingest::run(b, i, common).await?);
                report.usage.push(usage::run(b, u, common).await?);
            }
        }
    }
    if common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", markdown(&report));
    }
    Ok(())
}

fn markdown(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "\n## steward-bench results\n");
    let _ = writeln!(
        s,
        "Machine: {} vCPU {}, {:.1} GiB RAM, kernel {}; {}  ",
        m.nproc, m.cpu_model, m.mem_total_gib, m.kernel, m.date_utc
    );
    let _ = writeln!(s, "Command: `{}`\n", r.command);
    if !r.ingest.is_empty() {
        let _ = writeln!(s, "### OTLP ingest (end to end, durable 200 per request)\n");
        let _ = writeln!(
            s,
            "| backend | records | batch | clients | server records/s | requests/s | req p50 / p99 ms | raw ceiling rows/s | server / raw | Store::insert_events ×batch / ×group rows/s | server CPU µs/record | peak RSS MiB | stored = sent |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for i in &r.ingest {
            let (raw, ratio, store) = match &i.ceiling {
                Some(c) => (
                    format!("{:.0}", c.raw_rows_per_sec),
                    format!("{:.2}", c.ratio_server_vs_raw),
                    format!(
                        "{:.0} / {:.0} (×{})",
                        c.store_rows_per_sec, c.store_group_rows_per_sec, c.store_group
                    ),
                ),
                None => ("–".into(), "–".into(), "–".into()),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | **{:.0}** | {:.0} | {:.1} / {:.1} | {} | {} | {} | {:.1} | {:.1} | {} ({}) |",
                i.backend,
                i.records,
                i.batch,
                i.concurrency,
                i.records_per_sec,
                i.requests_per_sec,
                i.request_latency.p50_ms,
                i.request_latency.p99_ms,
                raw,
                ratio,
                store,
                i.server_cpu_us_per_record,
                i.server_peak_rss_mib,
                if i.correct { "yes" } else { "NO" },
                i.stored_events
            );
        }
        for i in &r.ingest {
            if let Some(b) = &i.breakdown {
                let _ = writeln!(
                    s,
                    "\n{}: CPU path on 1 thread: prost decode {:.0} records/s, parse/normalise {:.0}/s, finalize (dedup hash, price) {:.0}/s, all three {:.0}/s. \
                     CPU during the load: server {:.1} s, bench client {:.1} s, other {:.1} s, idle {:.1} s over {:.1} s wall; \
                     {} events per server transaction (group commit). \
                     {:.1} attributes and {:.0} protobuf bytes per record. Dedup keys equal to the server's: {}.{}",
                    i.backend,
                    b.decode_records_per_sec,
                    b.parse_records_per_sec,
                    b.finalize_records_per_sec,
                    b.cpu_path_records_per_sec,
                    i.server_cpu_secs,
                    i.client_cpu_secs,
                    i.other_cpu_secs,
                    i.machine_idle_secs,
                    i.wall_secs,
                    i.events_per_commit.map(|e| format!("{e:.0}")).unwrap_or_else(|| "?".into()),
                    i.attrs_per_record,
                    i.body_bytes_per_record,
                    b.dedup_keys_matched,
                    if i.concurrent_builds.is_empty() { String::new() } else { format!(" Concurrent builds seen: {}.", i.concurrent_builds.join(" ")) }
                );
            }
        }
        let _ = writeln!(s);
    }
    if !r.usage.is_empty() {
        let _ = writeln!(s, "### Usage API latency (sequential requests, warm)\n");
        let _ = writeln!(
            s,
            "| backend | dataset | query | requests | rows/page | p50 ms | p99 ms | max ms | Store::usage_rows alone p50 / p99 ms |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|");
        for u in &r.usage {
            for sc in &u.scenarios {
                let _ = writeln!(
                    s,
                    "| {} | {} users × {} days ({} events){} | {} | {} | {:.0} | {:.1} | **{:.1}** | {:.1} | {} |",
                    u.backend,
                    u.users,
                    u.days,
                    u.events,
                    if u.analyzed { ", ANALYZEd" } else { "" },
                    sc.name,
                    sc.requests,
                    sc.rows_per_page,
                    sc.latency.p50_ms,
                    sc.latency.p99_ms,
                    sc.latency.max_ms,
                    sc.store_latency.map(|l| format!("{:.1} / {:.1}", l.p50_ms, l.p99_ms)).unwrap_or_else(|| "–".into())
                );
            }
        }
        for u in &r.usage {
            let _ = writeln!(
                s,
                "\n{}: dataset built in {:.1} s ({:.0} events/s through Store::insert_events, one call per day); server peak RSS {:.1} MiB; checks {}: {}.{}",
                u.backend,
                u.build_secs,
                u.build_events_per_sec,
                u.server_peak_rss_mib,
                if u.checks_ok { "OK" } else { "FAILED" },
                u.checks.join("; "),
                if u.concurrent_builds.is_empty() { String::new() } else { format!(" Concurrent builds seen: {}.", u.concurrent_builds.join(" ")) }
            );
        }
    }
    for c in &r.compliance {
        s.push_str(&compliance::markdown(c));
    }
    for p in &r.policy {
        s.push_str(&policy::markdown(p));
    }
    for i in &r.identity {
        s.push_str(&identity::markdown(i));
    }
    if !r.sqlite_variants.is_empty() {
        let _ = writeln!(
            s,
            "### SQLite raw insert of the same rows, one change at a time\n"
        );
        let _ = writeln!(
            s,
            "| variant | rows/s | first 10% rows/s | last 10% rows/s | file MB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|");
        for v in &r.sqlite_variants {
            let _ = writeln!(
                s,
                "| {} | **{:.0}** | {:.0} | {:.0} | {:.0} |",
                v.name,
                v.rows_per_sec,
                v.first_tenth_rows_per_sec,
                v.last_tenth_rows_per_sec,
                v.db_bytes as f64 / 1e6
            );
        }
    }
    dashboard::markdown(&mut s, &r.dashboard);
    report::markdown(&mut s, &r.report);
    report::ship_markdown(&mut s, &r.ship);
    s
}
