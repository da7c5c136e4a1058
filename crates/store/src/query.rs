//! Query and result types of the usage analytics read path.

use serde::{Deserialize, Serialize};

/// Time bucket of a usage row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    /// ISO weeks starting Monday 00:00 UTC; `threads` counts distinct threads in the week.
    Week,
}

/// Whether rows are per user (the API default) or one per workspace and bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    User,
    Workspace,
}

/// Position after which the next page starts: the last row's bucket start and user id
/// (empty for workspace rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCursor {
    pub bucket_start: i64,
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    pub workspace_id: String,
    /// Inclusive, aligned to a UTC day start (Unix seconds).
    pub start_day: i64,
    /// Exclusive, aligned to a UTC day start (Unix seconds).
    pub end_day: i64,
    pub bucket: Bucket,
    pub grouping: Grouping,
    /// Rows per page (1..=30000).
    pub limit: u32,
    pub after: Option<UsageCursor>,
}

/// Identifies a row: its bucket and, for per-user rows, its user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageKey {
    pub bucket_start: i64,
    pub user_id: String,
}

/// Sums shared by totals, clients and models. Money is in millionths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageTotals {
    pub turns: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
    pub credits_micro: i64,
    pub usd_micro: i64,
}

impl UsageTotals {
    /// Credits in units (stored in millionths), as the API writes them.
    pub fn credits(&self) -> f64 {
        self.credits_micro as f64 / 1_000_000.0
    }

    /// Estimated USD in units (stored in millionths).
    pub fn estimated_cost_usd(&self) -> f64 {
        self.usd_micro as f64 / 1_000_000.0
    }

    /// Input tokens not served from the cache (cached input is inside input).
    pub fn uncached_input_tokens(&self) -> i64 {
        (self.input_tokens - self.cached_input_tokens).max(0)
    }

    /// Input plus output (reasoning is inside output), as the API's `text_total_tokens`.
    pub fn text_total_tokens(&self) -> i64 {
        self.input_tokens + self.output_tokens
    }

    pub fn add(&mut self, o: &UsageTotals) {
        self.turns += o.turns;
        self.input_tokens += o.input_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.output_tokens += o.output_tokens;
        self.reasoning_output_tokens += o.reasoning_output_tokens;
        self.credits_micro += o.credits_micro;
        self.usd_micro += o.usd_micro;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUsage {
    pub client_id: String,
    pub threads: i64,
    pub sums: UsageTotals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelUsage {
    /// Model slug; empty when the telemetry named none.
    pub model: String,
    pub sums: UsageTotals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub key: UsageKey,
    pub user_email: Option<String>,
    /// Distinct threads active in the bucket (not a sum of days for weeks).
    pub threads: i64,
    pub totals: UsageTotals,
    /// Sorted by client id.
    pub clients: Vec<ClientUsage>,
    /// Sorted by model.
    pub models: Vec<ModelUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRowsPage {
    /// Ordered by bucket start, then user id.
    pub rows: Vec<UsageRow>,
    pub has_more: bool,
}
