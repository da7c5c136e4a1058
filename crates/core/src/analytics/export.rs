//! Analytics exports (the seeds' "Data export"): workspace usage, usage per user and Code
//! Review details, as tables the API layer writes as CSV or JSON.
//!
//! Long format, one row per period and surface (`surface = "all"` for the totals over every
//! surface), because that is what spreadsheets and BI tools pivot best, and because a new
//! surface then adds rows, not columns that break a saved import.

use std::str::FromStr;

use steward_model::time::format_date;
use steward_store::{UsageRow, UsageTotals};

use super::{AnalyticsError, RawUsageParams, UsageService};

/// The datasets that can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    WorkspaceUsage,
    UserUsage,
    CodeReview,
}

pub const DATASETS: &str = "workspace_usage, user_usage, code_review";

impl FromStr for Dataset {
    type Err = AnalyticsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "workspace_usage" => Dataset::WorkspaceUsage,
            "user_usage" => Dataset::UserUsage,
            "code_review" => Dataset::CodeReview,
            other => {
                return Err(AnalyticsError::BadRequest(format!(
                    "dataset must be one of {DATASETS}; got {other:?}"
                )))
            }
        })
    }
}

impl Dataset {
    pub fn name(self) -> &'static str {
        match self {
            Dataset::WorkspaceUsage => "workspace_usage",
            Dataset::UserUsage => "user_usage",
            Dataset::CodeReview => "code_review",
        }
    }
}

/// One exported value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(i64),
    Num(f64),
    Text(String),
    Null,
}

/// An export: column names and rows of cells in that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

const PERIOD: [&str; 3] = ["start_time", "end_time", "date"];
const FIGURES: [&str; 8] = [
    "threads",
    "turns",
    "credits",
    "estimated_cost_usd",
    "uncached_text_input_tokens",
    "cached_text_input_tokens",
    "text_output_tokens",
    "text_total_tokens",
];
const CODE_REVIEW: [&str; 11] = [
    "prs_reviewed",
    "reviews",
    "comments",
    "replies",
    "reactions_positive",
    "reactions_negative",
    "findings_p0",
    "findings_p1",
    "findings_p2",
    "findings_p3",
    "users",
];

fn period(start: i64, secs: i64) -> [Cell; 3] {
    [
        Cell::Int(start),
        Cell::Int(start + secs),
        Cell::Text(format_date(start)),
    ]
}

/// The figure columns ([`FIGURES`]), as the usage API writes them.
fn figures(threads: i64, s: &UsageTotals) -> [Cell; 8] {
    [
        Cell::Int(threads),
        Cell::Int(s.turns),
        Cell::Num(s.credits()),
        Cell::Num(s.estimated_cost_usd()),
        Cell::Int(s.uncached_input_tokens()),
        Cell::Int(s.cached_input_tokens),
        Cell::Int(s.output_tokens),
        Cell::Int(s.text_total_tokens()),
    ]
}

/// Rows of a usage row: the totals (`all`) then each client.
fn per_surface(row: &UsageRow) -> impl Iterator<Item = (String, i64, UsageTotals)> + '_ {
    std::iter::once(("all".to_owned(), row.threads, row.totals)).chain(
        row.clients
            .iter()
            .map(|c| (c.client_id.clone(), c.threads, c.sums)),
    )
}

impl UsageService {
    /// Every row of a dataset over the window (all pages).
    pub async fn export(
        &self,
        workspace_id: &str,
        dataset: Dataset,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<Table, AnalyticsError> {
        let mut window = raw.clone();
        // The export is all rows; paging parameters do not apply. `user_id` narrows usage per
        // user to one person (their page's export); the workspace's totals ignore it.
        window.limit = None;
        window.page = None;
        window.next_page = None;
        if dataset != Dataset::UserUsage {
            window.user_id = None;
        }
        match dataset {
            Dataset::WorkspaceUsage => self.export_workspace(workspace_id, &window, now_secs).await,
            Dataset::UserUsage => self.export_users(workspace_id, &window, now_secs).await,
            Dataset::CodeReview => {
                let mut columns = PERIOD.to_vec();
                columns.extend(CODE_REVIEW);
                // Steward does not collect Code Review activity yet: the header alone, so a
                // scheduled import keeps its shape and fills in once the data exists.
                Ok(Table {
                    columns,
                    rows: Vec::new(),
                })
            }
        }
    }

    pub(super) async fn all_rows(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        grouping: &str,
        now_secs: i64,
    ) -> Result<(Vec<UsageRow>, i64, bool), AnalyticsError> {
        let mut raw = raw.clone();
        raw.group = Some(grouping.to_owned());
        raw.limit = Some("30000".to_owned());
        let mut rows = Vec::new();
        loop {
            let page = self.usage(workspace_id, &raw, now_secs).await?;
            rows.extend(page.rows);
            match page.next_page {
                Some(next) => raw.page = Some(next),
                None => return Ok((rows, page.bucket_secs, page.emails_allowed)),
            }
        }
    }

    async fn export_workspace(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<Table, AnalyticsError> {
        let (rows, secs, _) = self.all_rows(workspace_id, raw, "workspace", now_secs).await?;
        let active = self.active_users(workspace_id, raw, now_secs).await?;
        let mut columns = PERIOD.to_vec();
        columns.push("surface");
        columns.push("active_users");
        columns.extend(FIGURES);
        let mut out = Vec::new();
        for row in &rows {
            let bucket = active.buckets.iter().find(|b| b.start == row.key.bucket_start);
            for (surface, threads, sums) in per_surface(row) {
                let users = bucket.map_or(0, |b| match surface.as_str() {
                    "all" => b.users,
                    client => b.clients.iter().find(|(c, _)| c == client).map_or(0, |(_, n)| *n),
                });
                let mut cells = period(row.key.bucket_start, secs).to_vec();
                cells.push(Cell::Text(surface));
                cells.push(Cell::Int(users));
                cells.extend(figures(threads, &sums));
                out.push(cells);
            }
        }
        Ok(Table { columns, rows: out })
    }

    async fn export_users(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<Table, AnalyticsError> {
        let (rows, secs, emails_allowed) = self.all_rows(workspace_id, raw, "user", now_secs).await?;
        let mut columns = PERIOD.to_vec();
        columns.extend(["user_id", "email", "surface"]);
        columns.extend(FIGURES);
        let mut out = Vec::new();
        for row in &rows {
            let email = match (&row.user_email, emails_allowed) {
                (Some(e), true) => Cell::Text(e.clone()),
                _ => Cell::Null,
            };
            for (surface, threads, sums) in per_surface(row) {
                let mut cells = period(row.key.bucket_start, secs).to_vec();
                cells.push(Cell::Text(row.key.user_id.clone()));
                cells.push(email.clone());
                cells.push(Cell::Text(surface));
                cells.extend(figures(threads, &sums));
                out.push(cells);
            }
        }
        Ok(Table { columns, rows: out })
    }
}
