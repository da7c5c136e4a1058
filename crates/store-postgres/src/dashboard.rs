//! The dashboard's read models (`steward_store::DashboardStore`), from the rollup tables.
//! Same semantics as the SQLite backend.

use async_trait::async_trait;
use steward_model::LogType;
use steward_store::assemble::{SumRow, ThreadCount};
use steward_store::rollup::{active_users_grain, grain, ALL_CLIENTS};
use steward_store::{
    fold_user_days, ActiveUsers, Bucket, DashboardStore, DayWindow, FileStats, StoreError, StoreResult,
    UsageKey, UsageTotals, UserActivity, UserUsage,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::map_err;
use crate::PostgresStore;

fn bucket_column(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Day => "day",
        Bucket::Week => "week",
    }
}

// SUM(bigint) is numeric in PostgreSQL; the casts bring it back to i64.
const SUMS: &str = "SUM(turns)::BIGINT, SUM(input_tokens)::BIGINT, SUM(cached_input_tokens)::BIGINT,
    SUM(output_tokens)::BIGINT, SUM(reasoning_output_tokens)::BIGINT, SUM(credits_micro)::BIGINT,
    SUM(usd_micro)::BIGINT";

fn sums_at(r: &Row, first: usize) -> UsageTotals {
    UsageTotals {
        turns: r.get(first),
        input_tokens: r.get(first + 1),
        cached_input_tokens: r.get(first + 2),
        output_tokens: r.get(first + 3),
        reasoning_output_tokens: r.get(first + 4),
        credits_micro: r.get(first + 5),
        usd_micro: r.get(first + 6),
    }
}

/// `AND client_id = $4` when filtering on a client.
fn client_filter(client_id: Option<&str>) -> &'static str {
    if client_id.is_some() {
        "AND client_id = $4"
    } else {
        ""
    }
}

#[async_trait]
impl DashboardStore for PostgresStore {
    async fn active_users(&self, w: &DayWindow, bucket: Bucket) -> StoreResult<Vec<ActiveUsers>> {
        // The active-user counters ingest keeps (`rollup::GRAIN_ACTIVE_USERS_*`).
        let grain = active_users_grain(bucket == Bucket::Week);
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT bucket, client_id, threads FROM thread_counts
                 WHERE workspace_id = $1 AND grain = $2 AND bucket >= $3 AND bucket < $4 AND user_id = ''",
                &[&w.workspace_id, &grain, &w.start_day, &w.end_day],
            )
            .await
            .map_err(map_err)?;
        let mut out: Vec<ActiveUsers> = rows
            .iter()
            .map(|r| {
                let client: String = r.get(1);
                ActiveUsers {
                    bucket_start: r.get(0),
                    client_id: (client != ALL_CLIENTS).then_some(client),
                    users: r.get(2),
                }
            })
            .collect();
        out.sort_by(|a, b| (a.bucket_start, &a.client_id).cmp(&(b.bucket_start, &b.client_id)));
        Ok(out)
    }

    async fn distinct_active_users(&self, w: &DayWindow) -> StoreResult<i64> {
        // One probe per person on (workspace_id, user_id, day).
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT COUNT(*) FROM users u WHERE u.workspace_id = $1 AND EXISTS (
                     SELECT 1 FROM usage_daily d
                     WHERE d.workspace_id = $1 AND d.user_id = u.id AND d.day >= $2 AND d.day < $3)",
                &[&w.workspace_id, &w.start_day, &w.end_day],
            )
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }

    async fn user_activity(&self, w: &DayWindow, client_id: Option<&str>) -> StoreResult<Vec<UserActivity>> {
        let sql = format!(
            "SELECT user_id, day, {SUMS} FROM usage_daily
             WHERE workspace_id = $1 AND day >= $2 AND day < $3 AND user_id <> '' {client}
             GROUP BY day, user_id",
            client = client_filter(client_id)
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&w.workspace_id, &w.start_day, &w.end_day];
        if let Some(client_id) = &client_id {
            params.push(client_id);
        }
        let c = self.client().await?;
        let rows = c.query(&sql, &params).await.map_err(map_err)?;
        Ok(fold_user_days(rows.iter().map(|r| {
            (r.get::<_, String>(0), r.get::<_, i64>(1), sums_at(r, 2))
        })))
    }

    async fn user_thread_counts(
        &self,
        w: &DayWindow,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<(String, i64)>> {
        let sql = format!(
            "SELECT user_id, COUNT(*) FROM codex_threads
             WHERE workspace_id = $1 AND updated_ms >= $2 AND created_ms < $3 AND user_id IS NOT NULL {client}
             GROUP BY user_id",
            client = client_filter(client_id)
        );
        let (start_ms, end_ms) = (w.start_day * 1000, w.end_day * 1000);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&w.workspace_id, &start_ms, &end_ms];
        if let Some(client_id) = &client_id {
            params.push(client_id);
        }
        let c = self.client().await?;
        let rows = c.query(&sql, &params).await.map_err(map_err)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn user_usage(&self, w: &DayWindow, user_id: &str, bucket: Bucket) -> StoreResult<UserUsage> {
        let b = bucket_column(bucket);
        let sql = format!(
            "SELECT {b}, client_id, model, {SUMS} FROM usage_daily
             WHERE workspace_id = $1 AND day >= $2 AND day < $3 AND user_id = $4
             GROUP BY {b}, client_id, model"
        );
        let c = self.client().await?;
        let rows = c
            .query(&sql, &[&w.workspace_id, &w.start_day, &w.end_day, &user_id])
            .await
            .map_err(map_err)?;
        let sums: Vec<SumRow> = rows
            .iter()
            .map(|r| SumRow {
                key: UsageKey {
                    bucket_start: r.get(0),
                    user_id: user_id.to_owned(),
                },
                client_id: r.get(1),
                model: r.get(2),
                sums: sums_at(r, 3),
            })
            .collect();
        let mut buckets: Vec<i64> = sums.iter().map(|s| s.key.bucket_start).collect();
        buckets.sort_unstable();
        buckets.dedup();
        // The counters' primary key is bucket-first: one probe per bucket with usage.
        let grain = grain(bucket == Bucket::Week, false);
        let rows = c
            .query(
                "SELECT bucket, client_id, threads FROM thread_counts
                 WHERE workspace_id = $1 AND grain = $2 AND bucket = ANY($3) AND user_id = $4",
                &[&w.workspace_id, &grain, &buckets, &user_id],
            )
            .await
            .map_err(map_err)?;
        let threads = rows
            .iter()
            .map(|r| {
                let client: String = r.get(1);
                ThreadCount {
                    key: UsageKey {
                        bucket_start: r.get(0),
                        user_id: user_id.to_owned(),
                    },
                    client_id: (client != ALL_CLIENTS).then_some(client),
                    threads: r.get(2),
                }
            })
            .collect();
        Ok(UserUsage { sums, threads })
    }

    async fn compliance_file_stats(&self, workspace_id: &str) -> StoreResult<(Vec<FileStats>, u64)> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT log_type, COUNT(*), COALESCE(SUM(record_count), 0)::BIGINT,
                        COALESCE(SUM(size), 0)::BIGINT, COUNT(content_erased_at_ms), MAX(end_time)
                 FROM compliance_files WHERE workspace_id = $1 AND expired_at_ms IS NULL
                 GROUP BY log_type ORDER BY log_type",
                &[&workspace_id],
            )
            .await
            .map_err(map_err)?;
        let mut stats = Vec::new();
        for r in &rows {
            let log_type: String = r.get(0);
            let log_type = log_type
                .parse::<LogType>()
                .map_err(|_| StoreError::Other(format!("compliance_files.log_type {log_type:?}")))?;
            stats.push(FileStats {
                log_type,
                files: r.get::<_, i64>(1) as u64,
                records: r.get::<_, i64>(2) as u64,
                bytes: r.get::<_, i64>(3) as u64,
                content_erased: r.get::<_, i64>(4) as u64,
                last_end_time: r.get(5),
            });
        }
        let pending: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM compliance_pending WHERE workspace_id = $1",
                &[&workspace_id],
            )
            .await
            .map_err(map_err)?
            .get(0);
        Ok((stats, pending as u64))
    }
}
