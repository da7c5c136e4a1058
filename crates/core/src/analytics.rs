//! The usage query with the Analytics API's semantics (`../shared/spec/wire-formats.md` §1.3):
//! `start_time` inclusive / `end_time` exclusive Unix seconds, default window the last 30 days
//! ending today (UTC), `limit` 1..=30000 (default 1000), `group=workspace` or per-user rows,
//! `group_by=day|week` (anything else ignored), an opaque cursor bound to the query, and a
//! lookback cap (default 90 days).

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use steward_model::time::{day_start, week_start, DAY_SECS};
use steward_store::{Bucket, Grouping, Store, StoreError, UsageCursor, UsageQuery, UsageRow};

#[derive(Debug, Clone, Copy)]
pub struct AnalyticsConfig {
    /// How far back `start_time` may reach, in days.
    pub lookback_days: u32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig { lookback_days: 90 }
    }
}

/// Query parameters exactly as received (strings), so every type error is reported here.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawUsageParams {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub group: Option<String>,
    pub group_by: Option<String>,
    pub limit: Option<String>,
    pub page: Option<String>,
    /// Some clients send the cursor as `next_page`.
    pub next_page: Option<String>,
    /// Steward extension: per-user rows of this user only (OpenAI's API has no such filter).
    pub user_id: Option<String>,
}

/// One FastAPI-style validation problem (rendered as a 422 `detail` item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub msg: String,
    pub kind: &'static str,
    pub input: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// Type or range errors of parameters (HTTP 422).
    #[error("invalid query parameters")]
    Validation(Vec<FieldProblem>),
    /// Semantically invalid request: reversed window, lookback, bad cursor (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    #[error("workspace not found")]
    WorkspaceNotFound,
    #[error("no user {0:?} in this workspace")]
    UserNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A page of usage rows with the cursor of the next page.
#[derive(Debug, Clone)]
pub struct UsagePage {
    pub rows: Vec<UsageRow>,
    /// Seconds covered by each row's bucket (86400 or 604800).
    pub bucket_secs: i64,
    pub has_more: bool,
    pub next_page: Option<String>,
    /// Whether rows may carry emails (workspace setting).
    pub emails_allowed: bool,
}

#[derive(Clone)]
pub struct UsageService {
    store: Arc<dyn Store>,
    config: AnalyticsConfig,
}

#[derive(Serialize, Deserialize)]
struct CursorToken {
    v: u8,
    b: i64,
    u: String,
    q: String,
}

impl UsageService {
    pub fn new(store: Arc<dyn Store>, config: AnalyticsConfig) -> Self {
        UsageService { store, config }
    }

    pub async fn usage(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<UsagePage, AnalyticsError> {
        let workspace = self
            .store
            .get_workspace(workspace_id)
            .await?
            .ok_or(AnalyticsError::WorkspaceNotFound)?;
        let mut query = self.config.validate(workspace_id, raw, now_secs)?;
        let user = raw.user_id.as_deref().map(str::trim).filter(|u| !u.is_empty());
        if user.is_some() && query.grouping == Grouping::Workspace {
            return Err(AnalyticsError::BadRequest(
                "user_id selects per-user rows; leave out group=workspace".into(),
            ));
        }
        let fingerprint = fingerprint(&query, user);
        if let Some(token) = raw
            .page
            .as_deref()
            .or(raw.next_page.as_deref())
            .filter(|p| !p.is_empty())
        {
            query.after = Some(decode_cursor(token, &fingerprint)?);
        }
        let page = match user {
            None => self.store.usage_rows(&query).await?,
            Some(user) => self.one_user_page(&query, user).await?,
        };
        let next_page = match (page.has_more, page.rows.last()) {
            (true, Some(last)) => Some(encode_cursor(
                last.key.bucket_start,
                &last.key.user_id,
                &fingerprint,
            )),
            _ => None,
        };
        Ok(UsagePage {
            bucket_secs: match query.bucket {
                Bucket::Day => DAY_SECS,
                Bucket::Week => 7 * DAY_SECS,
            },
            has_more: next_page.is_some(),
            rows: page.rows,
            next_page,
            emails_allowed: workspace.analytics_emails,
        })
    }
}

impl AnalyticsConfig {
    /// Validates parameters into a store query (without the cursor position).
    pub fn validate(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<UsageQuery, AnalyticsError> {
        let mut problems = Vec::new();
        let start = parse_time("start_time", raw.start_time.as_deref(), &mut problems);
        let end = parse_time("end_time", raw.end_time.as_deref(), &mut problems);
        let limit = match raw.limit.as_deref() {
            None => Some(1000),
            Some(s) => match s.trim().parse::<i64>() {
                Ok(n) if n < 1 => {
                    problems.push(problem(
                        "limit",
                        "Input should be greater than or equal to 1",
                        "greater_than_equal",
                        s,
                    ));
                    None
                }
                Ok(n) if n > 30_000 => {
                    problems.push(problem(
                        "limit",
                        "Input should be less than or equal to 30000",
                        "less_than_equal",
                        s,
                    ));
                    None
                }
                Ok(n) => Some(n as u32),
                Err(_) => {
                    problems.push(problem(
                        "limit",
                        "Input should be a valid integer",
                        "int_parsing",
                        s,
                    ));
                    None
                }
            },
        };
        let grouping = match raw.group.as_deref().map(str::trim) {
            None | Some("") | Some("user") | Some("users") => Some(Grouping::User),
            Some("workspace") => Some(Grouping::Workspace),
            Some(other) => {
                problems.push(problem(
                    "group",
                    "Input should be 'workspace' (or omitted for per-user rows)",
                    "enum",
                    other,
                ));
                None
            }
        };
        // Unknown `group_by` values are ignored, never an error (wire-formats §1.3).
        let bucket = match raw.group_by.as_deref().map(str::trim) {
            Some("week") | Some("weekly") => Bucket::Week,
            _ => Bucket::Day,
        };
        let (Some(limit), Some(grouping), true) = (limit, grouping, problems.is_empty()) else {
            return Err(AnalyticsError::Validation(problems));
        };
        let today = day_start(now_secs);
        let end_time = end.flatten().unwrap_or(today + DAY_SECS);
        let start_time = start.flatten().unwrap_or(end_time - 30 * DAY_SECS);
        if end_time <= start_time {
            return Err(AnalyticsError::BadRequest(
                "end_time must be greater than start_time".into(),
            ));
        }
        let earliest = today - i64::from(self.lookback_days) * DAY_SECS;
        if start_time < earliest {
            return Err(AnalyticsError::BadRequest(format!(
                "start_time must be within the last {} days (on or after {earliest})",
                self.lookback_days
            )));
        }
        // Rows are whole UTC days: a day is in the window when it starts before end_time. Week
        // rows are whole ISO weeks, so a week touched by the window is reported entirely (its
        // distinct-thread count is for the whole week too).
        let (start_day, end_day) = match bucket {
            Bucket::Day => (day_start(start_time), day_start(end_time - 1) + DAY_SECS),
            Bucket::Week => (week_start(start_time), week_start(end_time - 1) + 7 * DAY_SECS),
        };
        Ok(UsageQuery {
            workspace_id: workspace_id.to_owned(),
            start_day,
            end_day,
            bucket,
            grouping,
            limit,
            after: None,
        })
    }
}

fn problem(field: &'static str, msg: &str, kind: &'static str, input: &str) -> FieldProblem {
    FieldProblem {
        field,
        msg: msg.to_owned(),
        kind,
        input: input.to_owned(),
    }
}

/// Unix seconds, or (leniency for real clients) an RFC 3339 time. `Some(None)` = absent.
fn parse_time(
    field: &'static str,
    value: Option<&str>,
    problems: &mut Vec<FieldProblem>,
) -> Option<Option<i64>> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Some(None);
    };
    if let Ok(n) = raw.parse::<i64>() {
        if n < 0 {
            problems.push(problem(
                field,
                "Input should be greater than or equal to 0",
                "greater_than_equal",
                raw,
            ));
            return None;
        }
        return Some(Some(n));
    }
    match steward_model::time::parse_rfc3339_ms(raw) {
        Some(ms) => Some(Some(ms.div_euclid(1000))),
        None => {
            problems.push(problem(
                field,
                "Input should be a valid integer (Unix seconds)",
                "int_parsing",
                raw,
            ));
            None
        }
    }
}

fn fingerprint(q: &UsageQuery, user: Option<&str>) -> String {
    let mut text = format!(
        "{}|{}|{}|{:?}|{:?}",
        q.workspace_id, q.start_day, q.end_day, q.bucket, q.grouping
    );
    // Absent for unfiltered queries, so cursors issued before the filter existed stay valid.
    if let Some(user) = user {
        text.push_str("|user=");
        text.push_str(user);
    }
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

fn encode_cursor(bucket: i64, user: &str, fingerprint: &str) -> String {
    let token = CursorToken {
        v: 1,
        b: bucket,
        u: user.to_owned(),
        q: fingerprint.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_cursor(token: &str, fingerprint: &str) -> Result<UsageCursor, AnalyticsError> {
    let invalid = || AnalyticsError::BadRequest("Invalid page cursor".into());
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| invalid())?;
    let t: CursorToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if t.v != 1 {
        return Err(invalid());
    }
    if t.q != fingerprint {
        return Err(AnalyticsError::BadRequest(
            "Invalid page cursor: it belongs to a query with other parameters; keep every parameter but `page` the same".into(),
        ));
    }
    Ok(UsageCursor {
        bucket_start: t.b,
        user_id: t.u,
    })
}

mod coverage;
mod dashboard;
mod export;

pub use coverage::{CoverageDayRow, CoverageReport, DisagreementRow};

pub use dashboard::{
    current_streak, ActiveUsersBucket, ActiveUsersPage, RankingPage, RankingParams, RankingRow,
};
pub use export::{Cell, Dataset, Table, DATASETS};

#[cfg(test)]
mod tests;
