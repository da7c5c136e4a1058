//! Steward's own analytics reads, beside the OpenAI-compatible usage rows: active users per
//! bucket, the user ranking, one person's rows and summary. The dashboard reads these through
//! the public HTTP API like any script would.
//!
//! Every read takes the usage API's window parameters (`start_time`, `end_time`, `group_by`)
//! with the same validation and lookback, so a chart and the usage rows it sits next to always
//! cover the same days.

use std::collections::HashMap;

use steward_model::time::DAY_SECS;
use steward_store::assemble::assemble_rows;
use steward_store::{DayWindow, UsageKey, UsageQuery, UsageRowsPage, UsageTotals, UserActivity};

use super::{AnalyticsError, RawUsageParams, UsageService};

/// Distinct active users per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveUsersPage {
    pub bucket_secs: i64,
    /// Distinct users over the whole window.
    pub total: i64,
    pub buckets: Vec<ActiveUsersBucket>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveUsersBucket {
    pub start: i64,
    pub users: i64,
    /// `(client_id, users)`, sorted by client id.
    pub clients: Vec<(String, i64)>,
}

/// The ranking's query string as received.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RankingParams {
    #[serde(flatten)]
    pub window: RawUsageParams,
    pub client: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub offset: Option<String>,
}

/// One person's figures over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct RankingRow {
    /// 1-based position under the requested order (before paging); 0 for a single summary.
    pub rank: usize,
    pub user_id: String,
    /// `None` unless the workspace allows emails in analytics.
    pub email: Option<String>,
    pub name: Option<String>,
    pub threads: i64,
    pub sums: UsageTotals,
    pub current_streak: i64,
    pub active_days: i64,
    /// Start of the last active day (Unix seconds).
    pub last_active: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RankingPage {
    pub rows: Vec<RankingRow>,
    /// Users matching the filters, over all pages.
    pub total: usize,
    pub offset: usize,
    pub has_more: bool,
}

/// What the ranking can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Credits,
    Threads,
    Turns,
    TextTokens,
    Streak,
    User,
}

pub const SORT_KEYS: &str = "credits, threads, turns, text_tokens, streak, user";

impl SortKey {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "credits" => SortKey::Credits,
            "threads" => SortKey::Threads,
            "turns" => SortKey::Turns,
            "text_tokens" => SortKey::TextTokens,
            "streak" | "current_streak" => SortKey::Streak,
            "user" | "email" | "name" => SortKey::User,
            _ => return None,
        })
    }
}

/// Consecutive active days ending on the window's last day, or on the day before it when the
/// last day has no activity (yet: a window ending today should not reset everyone's streak).
pub fn current_streak(active_days: &[i64], end_day: i64) -> i64 {
    let last_day = end_day - DAY_SECS;
    let mut expected = match active_days.last() {
        Some(&d) if d == last_day || d == last_day - DAY_SECS => d,
        _ => return 0,
    };
    let mut streak = 0;
    for &d in active_days.iter().rev() {
        if d != expected {
            break;
        }
        streak += 1;
        expected -= DAY_SECS;
    }
    streak
}

impl UsageService {
    /// Validated window of a dashboard read (the usage API's rules), as whole days.
    pub(super) async fn window(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<(UsageQuery, bool), AnalyticsError> {
        let workspace = self
            .store
            .get_workspace(workspace_id)
            .await?
            .ok_or(AnalyticsError::WorkspaceNotFound)?;
        let query = self.config.validate(workspace_id, raw, now_secs)?;
        Ok((query, workspace.analytics_emails))
    }

    /// Per-user rows of one user (the usage API's `user_id` extension), after the cursor.
    pub(super) async fn one_user_page(
        &self,
        query: &UsageQuery,
        user_id: &str,
    ) -> Result<UsageRowsPage, AnalyticsError> {
        let window = day_window(query);
        let usage = self.store.user_usage(&window, user_id, query.bucket).await?;
        let mut keys: Vec<UsageKey> = usage.sums.iter().map(|s| s.key.clone()).collect();
        keys.sort();
        keys.dedup();
        if let Some(after) = &query.after {
            keys.retain(|k| {
                (k.bucket_start, k.user_id.as_str()) > (after.bucket_start, after.user_id.as_str())
            });
        }
        let has_more = keys.len() > query.limit as usize;
        keys.truncate(query.limit as usize);
        let email = match keys.is_empty() {
            true => None,
            false => self
                .store
                .get_user(&query.workspace_id, user_id)
                .await?
                .and_then(|u| u.email),
        };
        let emails = HashMap::from([(user_id.to_owned(), email)]);
        Ok(UsageRowsPage {
            rows: assemble_rows(&keys, usage.sums, usage.threads, &emails),
            has_more,
        })
    }

    /// Distinct active users per bucket of the window, over all clients and per client.
    pub async fn active_users(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<ActiveUsersPage, AnalyticsError> {
        let (query, _) = self.window(workspace_id, raw, now_secs).await?;
        let window = day_window(&query);
        let rows = self.store.active_users(&window, query.bucket).await?;
        let total = self.store.distinct_active_users(&window).await?;
        let mut buckets: Vec<ActiveUsersBucket> = Vec::new();
        for row in rows {
            if buckets.last().map(|b| b.start) != Some(row.bucket_start) {
                buckets.push(ActiveUsersBucket {
                    start: row.bucket_start,
                    users: 0,
                    clients: Vec::new(),
                });
            }
            let bucket = buckets.last_mut().expect("pushed above");
            match row.client_id {
                None => bucket.users = row.users,
                Some(client) => bucket.clients.push((client, row.users)),
            }
        }
        Ok(ActiveUsersPage {
            bucket_secs: bucket_secs(&query),
            total,
            buckets,
        })
    }

    /// Everyone with usage in the window, filtered, sorted and paged.
    pub async fn ranking(
        &self,
        workspace_id: &str,
        raw: &RankingParams,
        now_secs: i64,
    ) -> Result<RankingPage, AnalyticsError> {
        let (query, emails_allowed) = self.window(workspace_id, &raw.window, now_secs).await?;
        let sort = match raw.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => SortKey::Credits,
            Some(s) => SortKey::parse(s).ok_or_else(|| {
                AnalyticsError::BadRequest(format!("sort must be one of {SORT_KEYS}; got {s:?}"))
            })?,
        };
        let descending = match raw.order.as_deref().map(str::trim) {
            None | Some("") => sort != SortKey::User,
            Some("desc") => true,
            Some("asc") => false,
            Some(o) => {
                return Err(AnalyticsError::BadRequest(format!(
                    "order must be asc or desc; got {o:?}"
                )))
            }
        };
        let limit = query.limit as usize;
        let offset = match raw.offset.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => 0,
            Some(s) => s.parse::<usize>().map_err(|_| {
                AnalyticsError::BadRequest(format!("offset must be a non-negative integer; got {s:?}"))
            })?,
        };
        let client = raw.client.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let needle = raw
            .q
            .as_deref()
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        let mut rows = self.rows_of(&query, client, emails_allowed).await?;
        if let Some(needle) = &needle {
            // Only what the caller can see is searchable: no probing hidden emails.
            rows.retain(|r| {
                r.user_id.to_lowercase().contains(needle)
                    || r.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(needle))
                    || r.name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(needle))
            });
        }
        sort_rows(&mut rows, sort, descending);
        for (i, row) in rows.iter_mut().enumerate() {
            row.rank = i + 1;
        }
        let total = rows.len();
        let rows: Vec<RankingRow> = rows.into_iter().skip(offset).take(limit).collect();
        Ok(RankingPage {
            has_more: offset + rows.len() < total,
            rows,
            total,
            offset,
        })
    }

    /// One person's figures over the window (rank 0), even with no usage in it.
    pub async fn user_summary(
        &self,
        workspace_id: &str,
        user_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<RankingRow, AnalyticsError> {
        let (query, emails_allowed) = self.window(workspace_id, raw, now_secs).await?;
        let user = self
            .store
            .get_user(workspace_id, user_id)
            .await?
            .ok_or_else(|| AnalyticsError::UserNotFound(user_id.to_owned()))?;
        let rows = self.rows_of(&query, None, emails_allowed).await?;
        Ok(rows
            .into_iter()
            .find(|r| r.user_id == user.id)
            .unwrap_or(RankingRow {
                rank: 0,
                user_id: user.id,
                email: user.email.filter(|_| emails_allowed),
                name: user.name,
                threads: 0,
                sums: UsageTotals::default(),
                current_streak: 0,
                active_days: 0,
                last_active: None,
            }))
    }

    /// Unsorted ranking rows of everyone with usage in the window.
    async fn rows_of(
        &self,
        query: &UsageQuery,
        client: Option<&str>,
        emails_allowed: bool,
    ) -> Result<Vec<RankingRow>, AnalyticsError> {
        let window = day_window(query);
        let activity = self.store.user_activity(&window, client).await?;
        let threads: HashMap<String, i64> = self
            .store
            .user_thread_counts(&window, client)
            .await?
            .into_iter()
            .collect();
        let people: HashMap<String, (Option<String>, Option<String>)> = self
            .store
            .list_users(&query.workspace_id)
            .await?
            .into_iter()
            .map(|u| (u.id, (u.email, u.name)))
            .collect();
        Ok(activity
            .into_iter()
            .map(|a: UserActivity| {
                let (email, name) = people.get(&a.user_id).cloned().unwrap_or_default();
                RankingRow {
                    rank: 0,
                    threads: threads.get(&a.user_id).copied().unwrap_or(0),
                    email: email.filter(|_| emails_allowed),
                    name,
                    current_streak: current_streak(&a.active_days, window.end_day),
                    active_days: a.active_days.len() as i64,
                    last_active: a.active_days.last().copied(),
                    sums: a.sums,
                    user_id: a.user_id,
                }
            })
            .collect())
    }
}

fn sort_rows(rows: &mut [RankingRow], sort: SortKey, descending: bool) {
    let label = |r: &RankingRow| {
        r.email
            .clone()
            .or_else(|| r.name.clone())
            .unwrap_or_else(|| r.user_id.clone())
            .to_lowercase()
    };
    rows.sort_by(|a, b| {
        let primary = match sort {
            SortKey::Credits => a.sums.credits_micro.cmp(&b.sums.credits_micro),
            SortKey::Threads => a.threads.cmp(&b.threads),
            SortKey::Turns => a.sums.turns.cmp(&b.sums.turns),
            SortKey::TextTokens => a.sums.text_total_tokens().cmp(&b.sums.text_total_tokens()),
            SortKey::Streak => a.current_streak.cmp(&b.current_streak),
            SortKey::User => label(a).cmp(&label(b)),
        };
        let primary = if descending { primary.reverse() } else { primary };
        // Ties in a stable, documented order: by user id.
        primary.then_with(|| a.user_id.cmp(&b.user_id))
    });
}

pub(super) fn day_window(query: &UsageQuery) -> DayWindow {
    DayWindow {
        workspace_id: query.workspace_id.clone(),
        start_day: query.start_day,
        end_day: query.end_day,
    }
}

pub(super) fn bucket_secs(query: &UsageQuery) -> i64 {
    match query.bucket {
        steward_store::Bucket::Day => DAY_SECS,
        steward_store::Bucket::Week => 7 * DAY_SECS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = DAY_SECS;

    #[test]
    fn streak_counts_back_from_the_last_day_or_the_day_before() {
        let end = 100 * D;
        assert_eq!(current_streak(&[97 * D, 98 * D, 99 * D], end), 3);
        // Nothing yet on the last day: yesterday's streak still counts.
        assert_eq!(current_streak(&[96 * D, 97 * D, 98 * D], end), 3);
        // A gap ends it.
        assert_eq!(current_streak(&[95 * D, 97 * D, 98 * D, 99 * D], end), 3);
        assert_eq!(current_streak(&[90 * D, 97 * D], end), 0);
        assert_eq!(current_streak(&[], end), 0);
    }
}
