//! `steward-bench identity`: what authorization costs per request, and SCIM list latency with
//! 100k users in 10k groups.
//!
//! * **authorize in-process**: `steward_core::identity::authorize(&caller, ws, permission)`
//!   alone, a tight loop of `--authorize-calls` calls (median of 5 runs), granted and denied.
//! * **authorization over HTTP**, against the real `steward serve` (release build), on the same
//!   dataset: `GET /healthz` (no caller, one store round trip: `SELECT 1`), `GET /v1/me` with
//!   an API key (the layer: SHA-256 of the bearer, credential lookup, caller), `GET
//!   /v1/workspaces/{ws}/roles` with an `admin` key (lookup + `authorize` + the handler) and
//!   with a key lacking the scope (lookup + a denied `authorize`: 403). The four are requested
//!   in turn, request by request, `--requests` times each; the overhead is `/v1/me` minus
//!   `/healthz` at p50 and p99. With `--concurrency C`, again with C clients.
//! * **SCIM** (`/scim/v2`, an API key with scope `scim` made by `steward keys create`): user
//!   and group pages at the first, middle and last offsets, `userName eq` and `displayName eq`
//!   filters, and `GET /Groups/{id}` of the biggest group; every answer checked against the
//!   dataset.
//!
//! The dataset (see `dataset.rs`) is inserted with SQL after the store has migrated the schema.
//! SQLite always; PostgreSQL too when a URL is given.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use steward_store::Store;

use crate::pg::FreshDb;
use crate::server::Steward;
use crate::stats;
use crate::{Backend, Common};

mod dataset;
mod http;
mod inprocess;
mod report;
mod scim;

use dataset::{Raw, Shape};
pub use http::AuthzRun;
pub use inprocess::AuthorizeBench;
pub use report::markdown;
pub use scim::ScimResult;

#[derive(Debug, Clone, Args)]
pub struct IdentityOpts {
    /// Users provisioned by SCIM, each in 3 groups (a department, a team, a project).
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// SCIM groups: 6 departments (30/20/15/15/10/10% of the users), a tenth of the others
    /// teams, the rest projects.
    #[arg(long, default_value_t = 10_000)]
    groups: usize,
    /// Measured requests per endpoint in the authorization comparison.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Also run the authorization comparison with this many concurrent clients, each on its
    /// own connection (0: sequential only).
    #[arg(long, default_value_t = 0)]
    concurrency: usize,
    /// Calls per run of the in-process `authorize` loop (5 runs; the median is reported).
    #[arg(long, default_value_t = 1_000_000)]
    authorize_calls: usize,
    /// Measured requests per SCIM scenario.
    #[arg(long, default_value_t = 200)]
    scim_requests: usize,
    /// Seconds one SCIM scenario may take: past it, it stops (after at least 10 requests) and
    /// the report says how many were made.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    scim_budget: u64,
    /// ANALYZE the SQLite database after the load (PostgreSQL is always analyzed, as
    /// autovacuum would be shortly after such a load; SQLite has no statistics in production).
    #[arg(long)]
    analyze: bool,
    /// Skip the authorization part (in-process and HTTP).
    #[arg(long)]
    no_authz: bool,
    /// Skip the SCIM part.
    #[arg(long)]
    no_scim: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendResult {
    pub backend: &'static str,
    pub dataset: Shape,
    pub analyzed: bool,
    pub authz: Vec<AuthzRun>,
    pub scim: Vec<ScimResult>,
    /// Why the SCIM part did not run, when it did not.
    pub scim_error: Option<String>,
    pub checks_ok: bool,
    pub checks: Vec<String>,
    pub server_peak_rss_mib: f64,
    pub server_cpu_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityResult {
    pub authorize: Option<AuthorizeBench>,
    pub backends: Vec<BackendResult>,
    pub concurrent_builds: Vec<String>,
}

pub async fn run(opts: &IdentityOpts, common: &Common) -> Result<IdentityResult> {
    anyhow::ensure!(
        opts.users >= 1 && opts.groups >= 1,
        "--users and --groups must be at least 1"
    );
    let bin = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let mut builds = stats::concurrent_builds();
    let authorize = if opts.no_authz {
        None
    } else {
        common.wait_quiet().await;
        let calls = opts.authorize_calls.max(1);
        Some(tokio::task::spawn_blocking(move || inprocess::authorize_bench(calls)).await??)
    };
    let mut backends = vec![Backend::Sqlite];
    if common.postgres_url.is_some() {
        backends.push(Backend::Postgres);
    } else {
        eprintln!("(no --postgres-url / STEWARD_TEST_POSTGRES_URL: PostgreSQL skipped)");
    }
    let mut results = Vec::new();
    for b in backends {
        builds.extend(stats::concurrent_builds());
        results.push(run_backend(b, opts, common, &bin).await?);
        builds.extend(stats::concurrent_builds());
    }
    builds.sort();
    builds.dedup();
    if !builds.is_empty() {
        eprintln!("  WARNING: concurrent build processes seen: {}", builds.join(" "));
    }
    Ok(IdentityResult {
        authorize,
        backends: results,
        concurrent_builds: builds,
    })
}

// ---------------------------------------------------------------------------------------------
// one backend

async fn run_backend(
    backend: Backend,
    opts: &IdentityOpts,
    common: &Common,
    bin: &Path,
) -> Result<BackendResult> {
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-identity-")
        .tempdir_in(&work)?;
    eprintln!(
        "== identity [{}]: {} users in {} groups",
        backend.name(),
        opts.users,
        opts.groups
    );
    let mut db = None;
    let result = async {
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let fresh = FreshDb::create(&common.postgres_url()?, "identity").await?;
                eprintln!("  fresh database {}", fresh.name);
                let url = fresh.url.clone();
                db = Some(fresh);
                Some(url)
            }
        };
        backend_inner(backend, opts, common, bin, tmp.path(), url).await
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

async fn backend_inner(
    backend: Backend,
    opts: &IdentityOpts,
    common: &Common,
    bin: &Path,
    tmp: &Path,
    database_url: Option<String>,
) -> Result<BackendResult> {
    let data_dir = tmp.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let mut checks = Vec::new();
    let mut ok = true;

    // 1. Schema (the store migrates on open), workspace, then the rows with SQL.
    let (ws, raw) = match &database_url {
        None => {
            let path = data_dir.join("steward.db");
            let store = steward_store_sqlite::SqliteStore::open(&path).await?;
            (
                store.ensure_default_workspace("Default").await?.id,
                Raw::Sqlite(path),
            )
        }
        Some(url) => {
            let store = steward_store_postgres::PostgresStore::connect(url).await?;
            (
                store.ensure_default_workspace("Default").await?.id,
                Raw::Postgres(url.clone()),
            )
        }
    };
    let (mut ds, rows) = dataset::generate(opts.users, opts.groups, 0x5C1D_0009 ^ opts.users as u64);
    ds.shape.insert_secs = dataset::insert(&raw, &ws, rows).await?;
    let analyzed = match &raw {
        Raw::Sqlite(path) if opts.analyze => {
            rusqlite::Connection::open(path)?.execute_batch("ANALYZE")?;
            true
        }
        Raw::Sqlite(_) => false,
        Raw::Postgres(_) => true,
    };
    let s = &ds.shape;
    eprintln!(
        "  inserted {} users, {} groups, {} memberships in {:.1} s; departments {:?}, {} teams of {:.0}, {} projects of {:.1} on average",
        s.users, s.groups, s.memberships, s.insert_secs, s.department_sizes, s.team_groups, s.team_avg_members,
        s.project_groups, s.project_avg_members
    );

    // 2. Keys through the CLI, then the server.
    let steward = Steward {
        bin: bin.to_owned(),
        data_dir,
        database_url,
        cwd: tmp.to_owned(),
    };
    let cli_ws = steward.default_workspace_id()?;
    ok &= cli_ws == ws;
    checks.push(format!(
        "the CLI's default workspace is the dataset's: {}",
        cli_ws == ws
    ));
    let key = |scope: &str| -> Result<String> {
        let v = steward.admin(&[
            "keys",
            "create",
            "--scope",
            scope,
            "--name",
            &format!("steward-bench {scope}"),
        ])?;
        v["key"]
            .as_str()
            .map(|k| format!("Bearer {k}"))
            .with_context(|| format!("no `key` in {v}"))
    };
    let (admin_key, analytics_key, scim_key) = (
        key("admin")?,
        key("codex.enterprise.analytics.read")?,
        key("scim")?,
    );
    let server = steward.serve(&tmp.join("serve.log")).await?;
    let base = server.base_url.clone();
    eprintln!("  steward serve pid {} on {base}", server.pid);

    // 3. Authorization.
    let mut authz = Vec::new();
    if !opts.no_authz {
        let eps = Arc::new(http::endpoints(&ws, &admin_key, &analytics_key));
        let problems = http::probe(&base, &eps).await?;
        ok &= problems.is_empty();
        checks.push(if problems.is_empty() {
            "authorization endpoints answer 200/200/200/403".to_owned()
        } else {
            format!("authorization endpoints: {}", problems.join("; "))
        });
        let mut levels = vec![1];
        if opts.concurrency > 1 {
            levels.push(opts.concurrency);
        }
        for clients in levels {
            common.wait_quiet().await;
            let r = http::authz_run(&base, eps.clone(), opts.requests.max(1), clients).await?;
            for e in &r.endpoints {
                eprintln!(
                    "  {clients} client(s) {:<40} p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs{}",
                    e.name,
                    e.latency.p50_ms * 1000.0,
                    e.latency.p99_ms * 1000.0,
                    e.latency.max_ms * 1000.0,
                    if e.unexpected > 0 {
                        format!("  ({} unexpected statuses)", e.unexpected)
                    } else {
                        String::new()
                    }
                );
                ok &= e.unexpected == 0;
            }
            eprintln!(
                "  {clients} client(s): /v1/me − /healthz p50 {:+.1} µs p99 {:+.1} µs (paired median {:+.1} µs); \
                 403 − /healthz p50 {:+.1} µs p99 {:+.1} µs (paired median {:+.1} µs); {:.0} requests/s",
                r.me_overhead_p50_us,
                r.me_overhead_p99_us,
                r.me_paired_median_us,
                r.denied_overhead_p50_us,
                r.denied_overhead_p99_us,
                r.denied_paired_median_us,
                r.requests_per_sec
            );
            authz.push(r);
        }
    }

    // 4. SCIM.
    let mut scim = Vec::new();
    let mut scim_error = None;
    if !opts.no_scim {
        match scim::scim_probe(&base, &scim_key, "/scim/v2/Users?count=1").await? {
            Err(e) => {
                eprintln!("  SCIM does not answer: {e}");
                ok = false;
                checks.push(format!("SCIM: {e}"));
                scim_error = Some(e);
            }
            Ok(()) => {
                let budget = Duration::from_secs(opts.scim_budget);
                for sc in scim::scenarios(&ds, opts.scim_requests.max(1)) {
                    common.wait_quiet().await;
                    let r =
                        scim::scim_scenario(&base, &scim_key, &sc, opts.scim_requests.max(1), budget).await?;
                    eprintln!(
                        "  {:<44} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  ({} requests{}, {:.0} KiB/response){}",
                        r.name,
                        r.latency.p50_ms,
                        r.latency.p99_ms,
                        r.latency.max_ms,
                        r.latency.n,
                        if r.stopped_by_budget { ", stopped by --scim-budget" } else { "" },
                        r.avg_response_kib,
                        r.first_failure.as_deref().map(|f| format!("  FAILED {}×: {f}", r.failures)).unwrap_or_default()
                    );
                    ok &= r.failures == 0;
                    checks.push(format!(
                        "{}: {} answers match the dataset{}",
                        r.name,
                        if r.failures == 0 { "all" } else { "NOT all" },
                        r.first_failure
                            .as_deref()
                            .map(|f| format!(" ({} failed; first: {f})", r.failures))
                            .unwrap_or_default()
                    ));
                    scim.push(r);
                }
            }
        }
    }
    let stats = server.stop()?;
    Ok(BackendResult {
        backend: backend.name(),
        dataset: ds.shape,
        analyzed,
        authz,
        scim,
        scim_error,
        checks_ok: ok,
        checks,
        server_peak_rss_mib: stats.vm_hwm_kib as f64 / 1024.0,
        server_cpu_secs: stats.cpu_secs,
    })
}
