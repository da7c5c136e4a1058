//! The coverage report: per user and day, what each source (OTLP logs, shipped rollouts,
//! Codex's analytics events) reported, next to what the usage API counts (each turn and
//! response once, whoever reported it), and the threads whose sources disagree.
//!
//! Takes the usage API's window parameters (`start_time`, `end_time`) with the same validation,
//! so the report covers exactly the days of the usage rows it explains.

use std::collections::HashMap;

use steward_store::coverage::{days, disagreements, CoverageDay, Disagreement};
use steward_store::UsageTotals;

use super::dashboard::day_window;
use super::{AnalyticsError, RawUsageParams, UsageService};

/// One user's day in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageDayRow {
    pub day: CoverageDay,
    pub email: Option<String>,
    /// What the usage API counts for this user and day.
    pub counted: UsageTotals,
}

/// A disagreement with the user's email (where the workspace allows emails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisagreementRow {
    pub disagreement: Disagreement,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageReport {
    pub start_day: i64,
    pub end_day: i64,
    pub days: Vec<CoverageDayRow>,
    pub disagreements: Vec<DisagreementRow>,
}

impl UsageService {
    pub async fn coverage(
        &self,
        workspace_id: &str,
        raw: &RawUsageParams,
        now_secs: i64,
    ) -> Result<CoverageReport, AnalyticsError> {
        let (query, emails_allowed) = self.window(workspace_id, raw, now_secs).await?;
        let window = day_window(&query);
        let rows = self.store.coverage_rows(&window).await?;
        // What is counted: the usage API's per-user daily rows of the same window.
        let per_user_day = RawUsageParams {
            group_by: Some("day".into()),
            user_id: None,
            page: None,
            next_page: None,
            ..raw.clone()
        };
        let (rows_counted, _, _) = self
            .all_rows(workspace_id, &per_user_day, "user", now_secs)
            .await?;
        let counted: HashMap<(String, i64), UsageTotals> = rows_counted
            .into_iter()
            .map(|r| ((r.key.user_id, r.key.bucket_start), r.totals))
            .collect();
        let emails: HashMap<String, String> = match emails_allowed {
            true => self
                .store
                .list_users(workspace_id)
                .await?
                .into_iter()
                .filter_map(|u| Some((u.id, u.email?)))
                .collect(),
            false => HashMap::new(),
        };
        let email = |user: &str| emails.get(user).cloned();
        Ok(CoverageReport {
            start_day: window.start_day,
            end_day: window.end_day,
            days: days(&rows)
                .into_iter()
                .map(|day| CoverageDayRow {
                    email: email(&day.user_id),
                    counted: counted
                        .get(&(day.user_id.clone(), day.day))
                        .copied()
                        .unwrap_or_default(),
                    day,
                })
                .collect(),
            disagreements: disagreements(&rows)
                .into_iter()
                .map(|d| DisagreementRow {
                    email: email(&d.user_id),
                    disagreement: d,
                })
                .collect(),
        })
    }
}
