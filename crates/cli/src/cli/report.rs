//! `steward report`: usage from local Codex rollout files, without a server.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// What one row of the report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportPeriod {
    Daily,
    Weekly,
    Monthly,
    Session,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Rows per day, per week (Monday to Sunday), per month, or per session (thread).
    #[arg(value_enum, default_value = "daily")]
    pub period: ReportPeriod,
    /// A Codex home (its sessions/ and archived_sessions/), or any folder of rollout-*.jsonl
    /// (or .jsonl.zst) files. Repeat for several homes (one person's machines). [default: $CODEX_HOME, else
    /// ~/.codex]
    #[arg(long = "codex-home", value_name = "DIR")]
    pub codex_home: Vec<PathBuf>,
    /// Only usage on or after this day (YYYY-MM-DD, in --timezone).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only usage on or before this day (YYYY-MM-DD, in --timezone).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// IANA time zone that cuts days (e.g. Europe/Paris, UTC) [default: this machine's zone].
    #[arg(long, short = 'z', value_name = "ZONE", env = "STEWARD_REPORT_TIMEZONE")]
    pub timezone: Option<String>,
    /// Also break each row down by model and by surface (CLI, exec, IDE, ...).
    #[arg(long)]
    pub breakdown: bool,
}
