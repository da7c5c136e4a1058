//! `steward-bench sqlite-variants`: where the SQLite ingest ceiling goes. Inserts the same
//! Codex-shaped rows (generated, then decoded and normalised by the server's own code) into fresh
//! files under schema and setting variants, one change at a time, and prints rows/s of each.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;
use steward_model::{NormalizedEvent, RateCard};

use crate::ingest::{sqlite_dedup, sqlite_raw_insert, Dedup};
use crate::{codex, stats, Common};

const SCHEMA: &str = include_str!("../../store-sqlite/migrations/0001_init.sql");

#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub name: String,
    pub rows_per_sec: f64,
    pub secs: f64,
    pub db_bytes: u64,
    /// Rows/s over the first and the last tenth of the run: shows slow-down as tables grow.
    pub first_tenth_rows_per_sec: f64,
    pub last_tenth_rows_per_sec: f64,
}

struct Spec {
    name: &'static str,
    sync: &'static str,
    /// Transaction size as a multiple of `--batch`.
    batch_factor: usize,
    /// SQL run after the shipped schema (dedup structure changes).
    alter: &'static str,
    /// `None`: whatever the shipped schema uses.
    dedup: Option<Dedup>,
    empty_raw: bool,
}

const NO_GUARD: &str = "DROP TABLE IF EXISTS event_keys; DROP INDEX IF EXISTS events_dedup;";

pub async fn run(records: usize, batch: usize, common: &Common) -> Result<Vec<Variant>> {
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-variants-")
        .tempdir_in(&work)?;
    eprintln!("== sqlite-variants: {records} Codex-shaped rows, {batch} rows per transaction unless noted");
    let events = rows(records, batch)?;
    let avg_raw = events.iter().map(|e| e.raw.len()).sum::<usize>() as f64 / events.len().max(1) as f64;
    eprintln!(
        "  {} rows, raw JSON {:.0} bytes per row on average",
        events.len(),
        avg_raw
    );
    let base = Spec {
        name: "",
        sync: "FULL",
        batch_factor: 1,
        alter: "",
        dedup: None,
        empty_raw: false,
    };
    let specs = [
        Spec {
            name: "as shipped (schema of crates/store-sqlite/migrations, WAL, FULL)",
            ..base
        },
        Spec {
            name: "synchronous=NORMAL",
            sync: "NORMAL",
            ..base
        },
        Spec {
            name: "8× larger transactions",
            batch_factor: 8,
            ..base
        },
        Spec {
            name: "no dedup guard at all (plain INSERT)",
            alter: NO_GUARD,
            dedup: Some(Dedup::None),
            ..base
        },
        Spec {
            name: "unique index events (workspace_id, dedup_key) [design of 30c9fb3]",
            alter: "DROP TABLE IF EXISTS event_keys; DROP INDEX IF EXISTS events_dedup;
                    CREATE UNIQUE INDEX events_dedup ON events (workspace_id, dedup_key);",
            dedup: Some(Dedup::EventsUnique("(workspace_id, dedup_key)")),
            ..base
        },
        Spec {
            name: "unique index events (workspace_id, ts_ms, dedup_key): time-first",
            alter: "DROP TABLE IF EXISTS event_keys; DROP INDEX IF EXISTS events_dedup;
                    CREATE UNIQUE INDEX events_dedup ON events (workspace_id, ts_ms, dedup_key);",
            dedup: Some(Dedup::EventsUnique("(workspace_id, ts_ms, dedup_key)")),
            ..base
        },
        Spec {
            name: "raw column empty (as shipped otherwise)",
            empty_raw: true,
            ..base
        },
    ];
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        common.wait_quiet().await;
        let v = insert(&tmp.path().join(format!("v{i}.db")), &events, spec, batch)?;
        eprintln!(
            "  {:<70} {:>8.0} rows/s  (first tenth {:>7.0}/s, last tenth {:>7.0}/s; {:.0} MB file)",
            v.name,
            v.rows_per_sec,
            v.first_tenth_rows_per_sec,
            v.last_tenth_rows_per_sec,
            v.db_bytes as f64 / 1e6
        );
        out.push(v);
    }
    if common.keep {
        eprintln!("  kept {}", tmp.keep().display());
    }
    Ok(out)
}

/// The generator's rows through the server's decode → parse → finalize, for 8 users.
fn rows(records: usize, batch: usize) -> Result<Vec<NormalizedEvent>> {
    let card = RateCard::builtin()?;
    let gen = codex::generate(records, batch, 8, stats::now_ms() - records as i64 - 60_000);
    let ws = "0f6b3c1e-7a52-4d1e-9c47-3b8e2f6a9d10";
    let mut events = Vec::with_capacity(records);
    for body in &gen.bodies {
        let req = steward_ingest::otlp::decode_logs(&body.bytes, steward_ingest::otlp::Encoding::Protobuf)?;
        let (parsed, rejected) = steward_ingest::normalize::parse_logs(&req, stats::now_ms());
        if !rejected.is_empty() {
            bail!("rejected: {rejected:?}");
        }
        let user = format!("user-{:032x}", body.sender as u128 * 0x9E37_79B9_7F4A_7C15);
        events.extend(
            parsed
                .into_iter()
                .map(|p| steward_ingest::normalize::finalize(p, ws, &user, &card)),
        );
    }
    Ok(events)
}

fn insert(path: &Path, events: &[NormalizedEvent], spec: &Spec, batch: usize) -> Result<Variant> {
    let mut c = rusqlite::Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        spec.sync
    ))?;
    c.execute_batch(SCHEMA)?;
    c.execute_batch(spec.alter)?;
    let dedup = match spec.dedup {
        Some(d) => d,
        None => sqlite_dedup(&c)?,
    };
    let size = batch * spec.batch_factor;
    let marks = sqlite_raw_insert(&mut c, events, size, dedup, spec.empty_raw)?;
    let n: i64 = c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    if n as usize != events.len() {
        bail!("{}: stored {n} of {}", spec.name, events.len());
    }
    drop(c);
    let secs = marks.last().map_or(0.0, |d| d.as_secs_f64());
    // Rows/s over the first and the last tenth of the transactions.
    let k = (marks.len() / 10).max(1);
    let rows_in = |txs: usize| (txs * size).min(events.len()) as f64;
    let first = rows_in(k) / marks[k - 1].as_secs_f64().max(1e-9);
    let before_last = marks.len().saturating_sub(k + 1);
    let last_rows = events.len() as f64 - rows_in(before_last + 1);
    let last = last_rows / (secs - marks[before_last].as_secs_f64()).max(1e-9);
    let db_bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    Ok(Variant {
        name: format!("{} [{}, {size} rows/tx]", spec.name, dedup.describe()),
        rows_per_sec: events.len() as f64 / secs.max(1e-9),
        secs,
        db_bytes,
        first_tenth_rows_per_sec: first,
        last_tenth_rows_per_sec: last,
    })
}

/// `steward-bench sqlite-sql`: runs each statement of `sql` (separated by lines ending in `;`)
/// on a read-only connection with the server's pragmas and SQLite build, printing the query
/// plan, the row count and the best and worst of `repeat` timings.
pub fn sql_timer(db: &Path, sql: &str, repeat: usize) -> Result<()> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    c.execute_batch("PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")?;
    eprintln!("SQLite {}", rusqlite::version());
    for chunk in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        // Optional `-- bind: v1 | v2 | ...` lines bind ?1, ?2, ... (integers when they parse).
        let mut binds: Vec<rusqlite::types::Value> = Vec::new();
        let mut text = String::new();
        for line in chunk.lines() {
            match line.trim().strip_prefix("-- bind:") {
                Some(vals) => binds.extend(vals.split('|').map(|v| {
                    let v = v.trim();
                    v.parse::<i64>()
                        .map(rusqlite::types::Value::Integer)
                        .unwrap_or_else(|_| rusqlite::types::Value::Text(v.to_owned()))
                })),
                None => {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        let stmt_text = text.trim().trim_end_matches(';');
        println!(
            "-- {}",
            stmt_text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        let mut plan = c.prepare(&format!("EXPLAIN QUERY PLAN {stmt_text}"))?;
        let rows = plan.query_map(rusqlite::params_from_iter(binds.iter()), |r| {
            r.get::<_, String>(3)
        })?;
        for r in rows {
            println!("   plan: {}", r?);
        }
        let mut stmt = c.prepare(stmt_text)?;
        let cols = stmt.column_count();
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            let mut rows = stmt.query(rusqlite::params_from_iter(binds.iter()))?;
            n = 0;
            while let Some(row) = rows.next()? {
                for i in 0..cols {
                    let _ = row.get_ref(i)?;
                }
                n += 1;
            }
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "   {n} rows; best {:.2} ms, worst {:.2} ms over {} runs",
            times[0],
            times[times.len() - 1],
            times.len()
        );
    }
    Ok(())
}
