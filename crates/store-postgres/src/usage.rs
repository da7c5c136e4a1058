//! Usage rows: keyset-paginated keys first, then the sums and distinct thread counts of exactly
//! those keys. All reads come from the rollup tables, never from raw events. Same three steps as
//! the SQLite backend; the second step's queries are pipelined on one connection.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use steward_store::assemble::{assemble_rows, SumRow, ThreadCount};
use steward_store::rollup::{grain, ALL_CLIENTS};
use steward_store::{Bucket, Grouping, StoreResult, UsageKey, UsageQuery, UsageRowsPage, UsageTotals};
use tokio_postgres::types::ToSql;

use crate::conn::map_err;

/// SQL pieces that differ by bucket and grouping. Workspace rows are the rollup rows with
/// `user_id = ''`; per-user rows are all others.
struct Shape {
    bucket: &'static str,
    grain: &'static str,
    users: &'static str,
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
        Shape { bucket, grain, users }
    }
}

pub async fn usage_rows(c: &impl GenericClient, q: &UsageQuery) -> StoreResult<UsageRowsPage> {
    let shape = Shape::of(q);
    let mut keys = page_keys(c, q, &shape).await?;
    let has_more = keys.len() > q.limit as usize;
    keys.truncate(q.limit as usize);
    let (Some(first), Some(last)) = (keys.first().cloned(), keys.last().cloned()) else {
        return Ok(UsageRowsPage {
            rows: Vec::new(),
            has_more: false,
        });
    };
    let range = KeyRange { first, last };
    let (sums, threads, emails) = tokio::try_join!(
        sums(c, q, &shape, &range),
        thread_counts(c, q, &shape, &range),
        async {
            match q.grouping {
                Grouping::User => emails(c, &keys).await,
                Grouping::Workspace => Ok(HashMap::new()),
            }
        }
    )?;
    Ok(UsageRowsPage {
        rows: assemble_rows(&keys, sums, threads, &emails),
        has_more,
    })
}

struct KeyRange {
    first: UsageKey,
    last: UsageKey,
}

async fn page_keys(c: &impl GenericClient, q: &UsageQuery, s: &Shape) -> StoreResult<Vec<UsageKey>> {
    let (after_bucket, after_user) = match &q.after {
        Some(a) => (a.bucket_start, a.user_id.as_str()),
        None => (i64::MIN, ""),
    };
    // `{b} >= $4` repeats the row comparison's leading column so the index range scan starts
    // at the cursor.
    let sql = format!(
        "SELECT {b}, user_id FROM usage_daily
         WHERE workspace_id = $1 AND day >= $2 AND day < $3 AND {users} AND {b} >= $4 AND ({b}, user_id) > ($4, $5)
         GROUP BY {b}, user_id ORDER BY {b}, user_id LIMIT $6",
        b = s.bucket,
        users = s.users
    );
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let limit = i64::from(q.limit) + 1;
    // The cursor is also the scan's lower bound on `day` (a bucket starts no later than its
    // days), so a deep page seeks to its position instead of walking the window from its start.
    let lower = q.start_day.max(after_bucket);
    let rows = c
        .query(
            &stmt,
            &[
                &q.workspace_id,
                &lower,
                &q.end_day,
                &after_bucket,
                &after_user,
                &limit,
            ],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| UsageKey {
            bucket_start: r.get(0),
            user_id: r.get(1),
        })
        .collect())
}

fn range_filter(s: &Shape) -> String {
    format!(
        "workspace_id = $1 AND day >= $2 AND day < $3 AND {users} AND {b} BETWEEN $4 AND $6
         AND ({b}, user_id) >= ($4, $5) AND ({b}, user_id) <= ($6, $7)",
        b = s.bucket,
        users = s.users
    )
}

fn range_params<'a>(q: &'a UsageQuery, r: &'a KeyRange) -> [&'a (dyn ToSql + Sync); 7] {
    [
        &q.workspace_id,
        &q.start_day,
        &q.end_day,
        &r.first.bucket_start,
        &r.first.user_id,
        &r.last.bucket_start,
        &r.last.user_id,
    ]
}

async fn sums(c: &impl GenericClient, q: &UsageQuery, s: &Shape, r: &KeyRange) -> StoreResult<Vec<SumRow>> {
    // SUM(bigint) is numeric in PostgreSQL; the casts bring it back to i64.
    let sql = format!(
        "SELECT {b}, user_id, client_id, model, SUM(turns)::BIGINT, SUM(input_tokens)::BIGINT,
                SUM(cached_input_tokens)::BIGINT, SUM(output_tokens)::BIGINT,
                SUM(reasoning_output_tokens)::BIGINT, SUM(credits_micro)::BIGINT, SUM(usd_micro)::BIGINT
         FROM usage_daily WHERE {filter}
         GROUP BY {b}, user_id, client_id, model",
        b = s.bucket,
        filter = range_filter(s)
    );
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let rows = c.query(&stmt, &range_params(q, r)).await.map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|row| SumRow {
            key: UsageKey {
                bucket_start: row.get(0),
                user_id: row.get(1),
            },
            client_id: row.get(2),
            model: row.get(3),
            sums: UsageTotals {
                turns: row.get(4),
                input_tokens: row.get(5),
                cached_input_tokens: row.get(6),
                output_tokens: row.get(7),
                reasoning_output_tokens: row.get(8),
                credits_micro: row.get(9),
                usd_micro: row.get(10),
            },
        })
        .collect())
}

/// Distinct-thread counters of the page's keys; `client_id = ''` is the count over all clients.
async fn thread_counts(
    c: &impl GenericClient,
    q: &UsageQuery,
    s: &Shape,
    r: &KeyRange,
) -> StoreResult<Vec<ThreadCount>> {
    let sql = format!(
        "SELECT bucket, user_id, client_id, threads FROM thread_counts
         WHERE workspace_id = $1 AND grain = $2 AND {users} AND bucket BETWEEN $3 AND $5
           AND (bucket, user_id) >= ($3, $4) AND (bucket, user_id) <= ($5, $6)",
        users = s.users
    );
    let stmt = c.prepare_cached(&sql).await.map_err(map_err)?;
    let grain = s.grain;
    let params: [&(dyn ToSql + Sync); 6] = [
        &q.workspace_id,
        &grain,
        &r.first.bucket_start,
        &r.first.user_id,
        &r.last.bucket_start,
        &r.last.user_id,
    ];
    let rows = c.query(&stmt, &params).await.map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|row| {
            let client: String = row.get(2);
            ThreadCount {
                key: UsageKey {
                    bucket_start: row.get(0),
                    user_id: row.get(1),
                },
                client_id: (client != ALL_CLIENTS).then_some(client),
                threads: row.get(3),
            }
        })
        .collect())
}

async fn emails(c: &impl GenericClient, keys: &[UsageKey]) -> StoreResult<HashMap<String, Option<String>>> {
    let mut ids: Vec<&str> = keys.iter().map(|k| k.user_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    // One array parameter, so no chunking (PostgreSQL has no small bound-parameter limit for it).
    let stmt = c
        .prepare_cached("SELECT id, email FROM users WHERE id = ANY($1)")
        .await
        .map_err(map_err)?;
    let rows = c.query(&stmt, &[&ids]).await.map_err(map_err)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
