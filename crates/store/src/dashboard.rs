//! Read models of the dashboard's Steward-specific API (active users, the user ranking, one
//! person's usage, compliance file statistics). All of them read the rollup tables that ingest
//! maintains, never raw events, so they stay fast as history grows.

use std::collections::HashMap;

use async_trait::async_trait;
use steward_model::LogType;

use crate::assemble::{SumRow, ThreadCount};
use crate::query::{Bucket, UsageTotals};
use crate::StoreResult;

/// A window of UTC days, `[start_day, end_day)` (Unix seconds aligned to day starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayWindow {
    pub workspace_id: String,
    pub start_day: i64,
    pub end_day: i64,
}

/// Distinct users with recorded usage in one bucket: over all clients (`client_id` `None`) or
/// on one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveUsers {
    pub bucket_start: i64,
    pub client_id: Option<String>,
    pub users: i64,
}

/// One person's activity in a window, for the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserActivity {
    pub user_id: String,
    pub sums: UsageTotals,
    /// Days with recorded usage, ascending (Unix seconds of the day start).
    pub active_days: Vec<i64>,
}

/// Folds `(user_id, day, sums)` rows, in ascending day order, into one [`UserActivity`] per
/// user (sorted by user id). Backends select in day order because that is their index order:
/// the aggregation streams instead of sorting every row of the window.
pub fn fold_user_days(rows: impl IntoIterator<Item = (String, i64, UsageTotals)>) -> Vec<UserActivity> {
    let mut by_user: HashMap<String, UserActivity> = HashMap::new();
    for (user_id, day, sums) in rows {
        let a = by_user.entry(user_id).or_insert_with_key(|id| UserActivity {
            user_id: id.clone(),
            sums: UsageTotals::default(),
            active_days: Vec::new(),
        });
        a.sums.add(&sums);
        if a.active_days.last() != Some(&day) {
            a.active_days.push(day);
        }
    }
    let mut out: Vec<UserActivity> = by_user.into_values().collect();
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    out
}

/// One person's usage in a window, ungrouped: what `assemble::assemble_rows` turns into usage
/// rows (keys are `(bucket, user_id)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUsage {
    pub sums: Vec<SumRow>,
    pub threads: Vec<ThreadCount>,
}

/// Sealed files of one log type (expired files not counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStats {
    pub log_type: LogType,
    pub files: u64,
    pub records: u64,
    pub bytes: u64,
    /// Files whose content was erased (retention or a deletion request).
    pub content_erased: u64,
    /// `end_time` (µs) of the newest file.
    pub last_end_time: Option<i64>,
}

#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// Active users per bucket, per client and over all clients, for buckets with any usage.
    async fn active_users(&self, window: &DayWindow, bucket: Bucket) -> StoreResult<Vec<ActiveUsers>>;

    /// Distinct users with usage anywhere in the window (not a sum over buckets).
    async fn distinct_active_users(&self, window: &DayWindow) -> StoreResult<i64>;

    /// Each user with usage in the window (on `client_id` only, when given): sums and active
    /// days. Users without usage in the window are absent.
    async fn user_activity(
        &self,
        window: &DayWindow,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<UserActivity>>;

    /// Threads per user active in the window (first seen before its end, last seen at or after
    /// its start), on `client_id` only when given.
    async fn user_thread_counts(
        &self,
        window: &DayWindow,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<(String, i64)>>;

    /// One user's grouped sums and distinct-thread counters per bucket.
    async fn user_usage(&self, window: &DayWindow, user_id: &str, bucket: Bucket) -> StoreResult<UserUsage>;

    /// Sealed, unexpired files per log type, and the number of records waiting to be sealed.
    async fn compliance_file_stats(&self, workspace_id: &str) -> StoreResult<(Vec<FileStats>, u64)>;
}
