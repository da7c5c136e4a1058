//! The dashboard's read models (`steward_store::DashboardStore`), from the rollup tables.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use steward_model::LogType;
use steward_store::assemble::{SumRow, ThreadCount};
use steward_store::rollup::{active_users_grain, grain, ALL_CLIENTS};
use steward_store::{
    fold_user_days, ActiveUsers, Bucket, DashboardStore, DayWindow, FileStats, StoreError, StoreResult,
    UsageKey, UsageTotals, UserActivity, UserUsage,
};

use crate::conn::map_err;
use crate::SqliteStore;

fn bucket_column(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Day => "day",
        Bucket::Week => "week",
    }
}

const SUMS: &str = "SUM(turns), SUM(input_tokens), SUM(cached_input_tokens), SUM(output_tokens),
    SUM(reasoning_output_tokens), SUM(credits_micro), SUM(usd_micro)";

fn sums_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<UsageTotals> {
    Ok(UsageTotals {
        turns: r.get(first)?,
        input_tokens: r.get(first + 1)?,
        cached_input_tokens: r.get(first + 2)?,
        output_tokens: r.get(first + 3)?,
        reasoning_output_tokens: r.get(first + 4)?,
        credits_micro: r.get(first + 5)?,
        usd_micro: r.get(first + 6)?,
    })
}

fn window_params(w: &DayWindow) -> Vec<Value> {
    vec![
        Value::Text(w.workspace_id.clone()),
        Value::Integer(w.start_day),
        Value::Integer(w.end_day),
    ]
}

fn active_users(c: &Connection, w: &DayWindow, bucket: Bucket) -> StoreResult<Vec<ActiveUsers>> {
    // The active-user counters ingest keeps (`rollup::GRAIN_ACTIVE_USERS_*`): a seek on the
    // counters' primary key, whatever the number of users.
    let mut stmt = c
        .prepare_cached(
            "SELECT bucket, client_id, threads FROM thread_counts
             WHERE workspace_id = ?1 AND grain = ?2 AND bucket >= ?3 AND bucket < ?4 AND user_id = ''",
        )
        .map_err(map_err)?;
    let grain = active_users_grain(bucket == Bucket::Week);
    let rows = stmt
        .query_map(
            rusqlite::params![w.workspace_id, grain, w.start_day, w.end_day],
            |r| {
                let client: String = r.get(1)?;
                Ok(ActiveUsers {
                    bucket_start: r.get(0)?,
                    client_id: (client != ALL_CLIENTS).then_some(client),
                    users: r.get(2)?,
                })
            },
        )
        .map_err(map_err)?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)?;
    out.sort_by(|a, b| (a.bucket_start, &a.client_id).cmp(&(b.bucket_start, &b.client_id)));
    Ok(out)
}

fn distinct_active_users(c: &Connection, w: &DayWindow) -> StoreResult<i64> {
    // One seek per person on (workspace_id, user_id, day): people, not usage rows, set the cost.
    c.query_row(
        "SELECT COUNT(*) FROM users u WHERE u.workspace_id = ?1 AND EXISTS (
             SELECT 1 FROM usage_daily d INDEXED BY usage_daily_by_user
             WHERE d.workspace_id = ?1 AND d.user_id = u.id AND d.day >= ?2 AND d.day < ?3)",
        rusqlite::params![w.workspace_id, w.start_day, w.end_day],
        |r| r.get(0),
    )
    .map_err(map_err)
}

fn user_activity(c: &Connection, w: &DayWindow, client_id: Option<&str>) -> StoreResult<Vec<UserActivity>> {
    let client = if client_id.is_some() {
        "AND client_id = ?4"
    } else {
        ""
    };
    let sql = format!(
        "SELECT user_id, day, {SUMS} FROM usage_daily
         WHERE workspace_id = ?1 AND day >= ?2 AND day < ?3 AND user_id <> '' {client}
         GROUP BY day, user_id"
    );
    let mut params = window_params(w);
    if let Some(client_id) = client_id {
        params.push(Value::Text(client_id.to_owned()));
    }
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            Ok((r.get(0)?, r.get(1)?, sums_at(r, 2)?))
        })
        .map_err(map_err)?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)?;
    Ok(fold_user_days(rows))
}

fn user_thread_counts(
    c: &Connection,
    w: &DayWindow,
    client_id: Option<&str>,
) -> StoreResult<Vec<(String, i64)>> {
    let client = if client_id.is_some() {
        "AND client_id = ?4"
    } else {
        ""
    };
    // `updated_ms >= start` first: it seeks on codex_threads_by_updated.
    let sql = format!(
        "SELECT user_id, COUNT(*) FROM codex_threads
         WHERE workspace_id = ?1 AND updated_ms >= ?2 AND created_ms < ?3 AND user_id IS NOT NULL {client}
         GROUP BY user_id"
    );
    let mut params = vec![
        Value::Text(w.workspace_id.clone()),
        Value::Integer(w.start_day * 1000),
        Value::Integer(w.end_day * 1000),
    ];
    if let Some(client_id) = client_id {
        params.push(Value::Text(client_id.to_owned()));
    }
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

fn user_usage(c: &Connection, w: &DayWindow, user_id: &str, bucket: Bucket) -> StoreResult<UserUsage> {
    let b = bucket_column(bucket);
    let sql = format!(
        "SELECT {b}, client_id, model, {SUMS} FROM usage_daily INDEXED BY usage_daily_by_user
         WHERE workspace_id = ?1 AND day >= ?2 AND day < ?3 AND user_id = ?4
         GROUP BY {b}, client_id, model"
    );
    let mut params = window_params(w);
    params.push(Value::Text(user_id.to_owned()));
    let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(params), |r| {
            Ok(SumRow {
                key: UsageKey {
                    bucket_start: r.get(0)?,
                    user_id: user_id.to_owned(),
                },
                client_id: r.get(1)?,
                model: r.get(2)?,
                sums: sums_at(r, 3)?,
            })
        })
        .map_err(map_err)?;
    let sums = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)?;
    // The counters' primary key is bucket-first: one seek per bucket with usage, instead of a
    // walk over every user's counters in the window.
    let buckets: BTreeMap<i64, ()> = sums.iter().map(|s| (s.key.bucket_start, ())).collect();
    let mut threads = Vec::new();
    if !buckets.is_empty() {
        let marks = vec!["?"; buckets.len()].join(",");
        let sql = format!(
            "SELECT bucket, client_id, threads FROM thread_counts
             WHERE workspace_id = ?1 AND grain = ?2 AND bucket IN ({marks}) AND user_id = ?{n}",
            n = buckets.len() + 3
        );
        let mut params = vec![
            Value::Text(w.workspace_id.clone()),
            Value::Text(grain(bucket == Bucket::Week, false).to_owned()),
        ];
        params.extend(buckets.keys().map(|b| Value::Integer(*b)));
        params.push(Value::Text(user_id.to_owned()));
        let mut stmt = c.prepare(&sql).map_err(map_err)?;
        let rows = stmt
            .query_map(params_from_iter(params), |r| {
                let client: String = r.get(1)?;
                Ok(ThreadCount {
                    key: UsageKey {
                        bucket_start: r.get(0)?,
                        user_id: user_id.to_owned(),
                    },
                    client_id: (client != ALL_CLIENTS).then_some(client),
                    threads: r.get(2)?,
                })
            })
            .map_err(map_err)?;
        threads = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)?;
    }
    Ok(UserUsage { sums, threads })
}

fn compliance_file_stats(c: &Connection, workspace_id: &str) -> StoreResult<(Vec<FileStats>, u64)> {
    let mut stmt = c
        .prepare_cached(
            "SELECT log_type, COUNT(*), COALESCE(SUM(record_count), 0), COALESCE(SUM(size), 0),
                    COUNT(content_erased_at_ms), MAX(end_time)
             FROM compliance_files WHERE workspace_id = ?1 AND expired_at_ms IS NULL
             GROUP BY log_type ORDER BY log_type",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map([workspace_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .map_err(map_err)?;
    let mut stats = Vec::new();
    for row in rows {
        let (log_type, files, records, bytes, erased, last) = row.map_err(map_err)?;
        let log_type = log_type
            .parse::<LogType>()
            .map_err(|_| StoreError::Other(format!("compliance_files.log_type {log_type:?}")))?;
        stats.push(FileStats {
            log_type,
            files: files as u64,
            records: records as u64,
            bytes: bytes as u64,
            content_erased: erased as u64,
            last_end_time: last,
        });
    }
    let pending: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM compliance_pending WHERE workspace_id = ?1",
            [workspace_id],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    Ok((stats, pending as u64))
}

#[async_trait]
impl DashboardStore for SqliteStore {
    async fn active_users(&self, window: &DayWindow, bucket: Bucket) -> StoreResult<Vec<ActiveUsers>> {
        let window = window.clone();
        self.read(move |c| active_users(c, &window, bucket)).await
    }

    async fn distinct_active_users(&self, window: &DayWindow) -> StoreResult<i64> {
        let window = window.clone();
        self.read(move |c| distinct_active_users(c, &window)).await
    }

    async fn user_activity(
        &self,
        window: &DayWindow,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<UserActivity>> {
        let window = window.clone();
        let client_id = client_id.map(str::to_owned);
        self.read(move |c| user_activity(c, &window, client_id.as_deref()))
            .await
    }

    async fn user_thread_counts(
        &self,
        window: &DayWindow,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<(String, i64)>> {
        let window = window.clone();
        let client_id = client_id.map(str::to_owned);
        self.read(move |c| user_thread_counts(c, &window, client_id.as_deref()))
            .await
    }

    async fn user_usage(&self, window: &DayWindow, user_id: &str, bucket: Bucket) -> StoreResult<UserUsage> {
        let window = window.clone();
        let user_id = user_id.to_owned();
        self.read(move |c| user_usage(c, &window, &user_id, bucket)).await
    }

    async fn compliance_file_stats(&self, workspace_id: &str) -> StoreResult<(Vec<FileStats>, u64)> {
        let workspace_id = workspace_id.to_owned();
        self.read(move |c| compliance_file_stats(c, &workspace_id)).await
    }
}
