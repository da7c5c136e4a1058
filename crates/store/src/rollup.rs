//! Backend-neutral rollup arithmetic: what a batch of newly inserted events adds to the usage
//! tables. Backends only persist these deltas (SQL upserts); the logic lives here once.

use std::collections::BTreeMap;

use steward_model::time::{day_start, week_start};
use steward_model::NormalizedEvent;

use crate::query::UsageTotals;

/// Primary key of a `usage_daily` row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageDailyKey {
    pub workspace_id: String,
    pub day: i64,
    pub week: i64,
    pub user_id: String,
    pub client_id: String,
    pub model: String,
    pub rate_card_version: String,
}

/// A `thread_days` row: the thread was active for that user, client and day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ThreadDay {
    pub workspace_id: String,
    pub day: i64,
    pub week: i64,
    pub user_id: String,
    pub client_id: String,
    pub thread_id: String,
}

/// Everything a batch adds to the rollups, already merged by key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RollupDelta {
    pub usage: BTreeMap<UsageDailyKey, UsageTotals>,
    pub thread_days: Vec<ThreadDay>,
}

impl RollupDelta {
    /// Builds the delta of the given (newly inserted) events. Events that count nothing
    /// (sse deltas, unknown events, ...) contribute nothing.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a NormalizedEvent>) -> Self {
        let mut delta = RollupDelta::default();
        for event in events {
            let usage = event.kind.usage();
            let is_turn = matches!(event.kind, steward_model::EventKind::UserPrompt);
            if !is_turn && usage.is_none() {
                continue;
            }
            let secs = event.timestamp_ms.div_euclid(1000);
            let (day, week) = (day_start(secs), week_start(secs));
            let key = UsageDailyKey {
                workspace_id: event.workspace_id.clone(),
                day,
                week,
                user_id: event.user_id.clone(),
                client_id: event.client_id.clone(),
                model: event.model.clone().unwrap_or_default(),
                rate_card_version: event.rate_card_version.clone(),
            };
            let sums = delta.usage.entry(key).or_default();
            if is_turn {
                sums.turns += 1;
            }
            if let Some(u) = usage {
                sums.input_tokens += u.input;
                sums.cached_input_tokens += u.cached_input;
                sums.output_tokens += u.output;
                sums.reasoning_output_tokens += u.reasoning_output;
                sums.credits_micro += event.credits_micro;
                sums.usd_micro += event.usd_micro;
            }
            if let (Some(thread_id), true) = (&event.thread_id, event.kind.activates_thread()) {
                delta.thread_days.push(ThreadDay {
                    workspace_id: event.workspace_id.clone(),
                    day,
                    week,
                    user_id: event.user_id.clone(),
                    client_id: event.client_id.clone(),
                    thread_id: thread_id.clone(),
                });
            }
        }
        delta.thread_days.sort();
        delta.thread_days.dedup();
        delta
    }

    pub fn is_empty(&self) -> bool {
        self.usage.is_empty() && self.thread_days.is_empty()
    }
}
