//! Usage rows: keyset-paginated keys first, then the sums and distinct thread counts of exactly
//! those keys. All reads come from the rollup tables, never from raw events.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use steward_store::assemble::{assemble_rows, SumRow, ThreadCount};
use steward_store::rollup::{grain, ALL_CLIENTS};
use steward_store::{Bucket, Grouping, StoreResult, UsageKey, UsageQuery, UsageRowsPage, UsageTotals};

use crate::conn::map_err;

/// SQL pieces that differ by bucket and grouping. Workspace rows are the rollup rows with
/// `user_id = ''`; per-user rows are all others.
struct Shape {
    bucket: &'static str,
    grain: &'static str,
    users: &'static str,
    /// Per-user week pages must walk `(week, user_id)` in index order, and workspace rows seek
    /// on `user_id = ''`; without statistics SQLite may otherwise pick the day-first primary
    /// key and sort or scan the whole window (seen: 0.8 s and 0.26 s pages).
    index: &'static str,
}

impl Shape {
    fn of(q: &UsageQuery) -> Self {
        let bucket = match q.bucket {
            Bucket::Day => "day",
            Bucket::Week => "week",
        };
        let grain = grain(q.bucket == Bucket::Week, q.grouping == Grouping::Workspace);
        let users = match q.grouping {
            Grouping::User => "user_id <> ''",
            Grouping::Workspace => "user_id = ''",
        };
        let index = match (q.grouping, q.bucket) {
            (Grouping::User, Bucket::Day) => "",
            (Grouping::User, Bucket::Week) => "INDEXED BY usage_daily_by_week",
            // Workspace rows are `user_id = ''`: a seek on (workspace_id, user_id, day).
            (Grouping::Workspace, _) => "INDEXED BY usage_daily_by_user",
        };
        Shape {
            bucket,
            grain,
            users,
            index,
        }
    }
}

pub fn usage_rows(c: &Connection, q: &UsageQuery) -> StoreResult<UsageRowsPage> {
    let shape = Shape::of(q);
    let mut keys = page_keys(c, q, &shape)?;
    let has_more = keys.len() > q.limit as usize;
    keys.truncate(q.limit as usize);
    let (Some(first), Some(last)) = (keys.first().cloned(), keys.last().cloned()) else {
        return Ok(UsageRowsPage {
            rows: Vec::new(),
            has_more: false,
        });
    };
    let range = KeyRange { first, last };
    let sums = sums(c, q, &shape, &range)?;
    let threads = thread_counts(c, q, &shape, &range)?;
    let emails = match q.grouping {
        Grouping::User => emails(c, &keys)?,
        Grouping::Workspace => HashMap::new(),
    };
    Ok(UsageRowsPage {
        rows: assemble_rows(&keys, sums, threads, &emails),
        has_more,
    })
}

struct KeyRange {
    first: UsageKey,
    last: UsageKey,
}

fn page_keys(c: &Connection, q: &UsageQuery, s: &Shape) -> StoreResult<Vec<UsageKey>> {
    let (after_bucket, after_user) = match &q.after {
        Some(a) => (a.bucket_start, a.user_id.clone()),
        None => (i64::MIN, String::new()),
    };
    // The cursor is also the scan's lower bound on `day` (a bucket starts no later than its
    // days), so a deep page seeks to its position instead of walking the window from its start.
    let lower = q.start_day.max(after_bucket);
    let sql = format!(
        "SELECT {b}, user_id FROM usage_daily {index}
         WHERE workspace_id = ?1 AND day >= ?2 AND day < ?3 AND {users} AND {b} >= ?4 AND ({b}, user_id) > (?4, ?5)
         GROUP BY {b}, user_id ORDER BY {b}, user_id LIMIT ?6",
        b = s.bucket,
        users = s.users,
        index = s.index
    );
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(
            rusqlite::params![
                q.workspace_id,
                lower,
                q.end_day,
                after_bucket,
                after_user,
                q.limit as i64 + 1
            ],
            |r| {
                Ok(UsageKey {
                    bucket_start: r.get(0)?,
                    user_id: r.get(1)?,
                })
            },
        )
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

fn range_filter(s: &Shape) -> String {
    format!(
        "workspace_id = ?1 AND day >= ?2 AND day < ?3 AND {users} AND {b} BETWEEN ?4 AND ?6
         AND ({b}, user_id) >= (?4, ?5) AND ({b}, user_id) <= (?6, ?7)",
        b = s.bucket,
        users = s.users
    )
}

fn range_params(q: &UsageQuery, r: &KeyRange) -> Vec<Value> {
    vec![
        Value::Text(q.workspace_id.clone()),
        Value::Integer(q.start_day),
        Value::Integer(q.end_day),
        Value::Integer(r.first.bucket_start),
        Value::Text(r.first.user_id.clone()),
        Value::Integer(r.last.bucket_start),
        Value::Text(r.last.user_id.clone()),
    ]
}

fn sums(c: &Connection, q: &UsageQuery, s: &Shape, r: &KeyRange) -> StoreResult<Vec<SumRow>> {
    let sql = format!(
        "SELECT {b}, user_id, client_id, model, SUM(turns), SUM(input_tokens), SUM(cached_input_tokens),
                SUM(output_tokens), SUM(reasoning_output_tokens), SUM(credits_micro), SUM(usd_micro)
         FROM usage_daily {index} WHERE {filter}
         GROUP BY {b}, user_id, client_id, model",
        b = s.bucket,
        index = s.index,
        filter = range_filter(s)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(range_params(q, r)), |row| {
            Ok(SumRow {
                key: UsageKey {
                    bucket_start: row.get(0)?,
                    user_id: row.get(1)?,
                },
                client_id: row.get(2)?,
                model: row.get(3)?,
                sums: UsageTotals {
                    turns: row.get(4)?,
                    input_tokens: row.get(5)?,
                    cached_input_tokens: row.get(6)?,
                    output_tokens: row.get(7)?,
                    reasoning_output_tokens: row.get(8)?,
                    credits_micro: row.get(9)?,
                    usd_micro: row.get(10)?,
                },
            })
        })
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

/// Distinct-thread counters of the page's keys; `client_id = ''` is the count over all clients.
fn thread_counts(c: &Connection, q: &UsageQuery, s: &Shape, r: &KeyRange) -> StoreResult<Vec<ThreadCount>> {
    let sql = format!(
        "SELECT bucket, user_id, client_id, threads FROM thread_counts
         WHERE workspace_id = ?1 AND grain = ?2 AND {users} AND bucket BETWEEN ?3 AND ?5
           AND (bucket, user_id) >= (?3, ?4) AND (bucket, user_id) <= (?5, ?6)",
        users = s.users
    );
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(
            rusqlite::params![
                q.workspace_id,
                s.grain,
                r.first.bucket_start,
                r.first.user_id,
                r.last.bucket_start,
                r.last.user_id
            ],
            |row| {
                let client: String = row.get(2)?;
                Ok(ThreadCount {
                    key: UsageKey {
                        bucket_start: row.get(0)?,
                        user_id: row.get(1)?,
                    },
                    client_id: (client != ALL_CLIENTS).then_some(client),
                    threads: row.get(3)?,
                })
            },
        )
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

fn emails(c: &Connection, keys: &[UsageKey]) -> StoreResult<HashMap<String, Option<String>>> {
    let mut ids: Vec<&str> = keys.iter().map(|k| k.user_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    // Chunked to stay far below SQLite's bound-parameter limit.
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!("SELECT id, email FROM users WHERE id IN ({marks})");
        let mut stmt = c.prepare(&sql).map_err(map_err)?;
        let rows = stmt
            .query_map(params_from_iter(chunk.iter()), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(map_err)?;
        for row in rows {
            let (id, email) = row.map_err(map_err)?;
            out.insert(id, email);
        }
    }
    Ok(out)
}
