//! Steward's domain services over the store: analytics (usage queries with Analytics API
//! semantics), principals (users, ingest tokens, API keys), demo data.
//!
//! Services take an `Arc<dyn Store>` and explicit configuration; they know no HTTP and no SQL.

pub mod analytics;
pub mod compliance;
pub mod demo;
pub mod identity;
pub mod policies;
pub mod principals;

/// The wall clock in Unix milliseconds: every service's "now".
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub use analytics::{AnalyticsConfig, AnalyticsError, RawUsageParams, UsagePage, UsageService};
pub use compliance::{ComplianceConfig, ComplianceError, ComplianceService};
pub use identity::{IdentityError, IdentityService};
pub use policies::{PolicyError, PolicyService};
pub use principals::{IssueOptions, IssuedSecret, Principals, PrincipalsError};
