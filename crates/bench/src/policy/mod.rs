//! `steward-bench policy`: the two figures the policies issue asks for.
//!
//! * **check-command**: `Policy::check` evaluations per second with 1,000 prefix rules over
//!   ~200 programs (several rules each, alternatives, 2-4 token patterns), single-threaded, per
//!   kind of command (one matching rule, several, none, unknown program, long argv) and for a
//!   mix; the same with the JSON `codex execpolicy check` prints (`Evaluation::to_json`). In the
//!   same run, per-invocation peers: the real Codex CLI (`codex execpolicy check --rules FILE`)
//!   and `steward policy check-command --rules FILE`, one process per command, on the same
//!   rules file (written with `write_rules`), their output compared with the in-process JSON;
//!   and the one-off costs: parsing the `.rules` file, and `parse_requirements` + compiling a
//!   `requirements.toml` holding the same 1,000 rules.
//! * **lookup**: `PolicyService::lookup(ws, LookupSubject::Email)` and `effective_for_user`
//!   (what the agent/bundle endpoints use) latency with 100k users in 1,000 groups and an
//!   assignment of 50 ordered rules + a default, on SQLite (and PostgreSQL when a URL is given),
//!   with the store calls a lookup makes timed one by one.
//!
//! The dataset goes through the `Store` trait (`create_group`, `upsert_user`,
//! `set_group_member`), one call at a time. When that path, measured on the first users, would
//! take longer than `--populate-budget` for the whole dataset, the rest is inserted with plain
//! SQL in one transaction (same rows the store writes), and the report says so.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use steward_core::compliance::audit::Actor;
use steward_core::policies::{
    AssignmentInput, LookupSubject, MatchedBy, PolicyDocuments, PolicyService, RuleInput,
};
use steward_model::UserKind;
use steward_policy::execpolicy::{parse_rules, write_rules, Decision, PatternToken, Policy, PrefixRule};
use steward_policy::requirements::{parse_requirements, write_prefix_rules};
use steward_store::{Group, GroupSource, NewUser, Store};

use crate::pg::FreshDb;
use crate::stats::{self, Latency};
use crate::{Backend, Common};

mod check;
mod lookup;
mod report;
mod rules;

use check::*;
use lookup::*;
pub use report::markdown;
use rules::*;

const DEFAULT_CODEX: &str = ".cache/steward-test/codex-0.169.0/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";

#[derive(Debug, Clone, Args)]
pub struct PolicyOpts {
    /// Prefix rules in the policy.
    #[arg(long, default_value_t = 1000)]
    rules: usize,
    /// Distinct programs (first tokens) the rules are spread over.
    #[arg(long, default_value_t = 200)]
    programs: usize,
    /// Seconds of each of the 5 measured runs per workload (after a warm-up of half that).
    #[arg(long, default_value_t = 1.0)]
    run_secs: f64,
    /// Measured runs per workload; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// The Codex CLI 0.169.0 [default: $STEWARD_CODEX_BIN, else the copy of
    /// scripts/install-test-deps under ~/.cache/steward-test].
    #[arg(long, env = "STEWARD_CODEX_BIN", value_name = "PATH")]
    codex: Option<PathBuf>,
    /// Commands run through each CLI (one process per command).
    #[arg(long, default_value_t = 40)]
    cli_invocations: usize,
    /// Users in the lookup dataset.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Groups in the lookup dataset.
    #[arg(long, default_value_t = 1000)]
    groups: usize,
    /// Ordered rules of the assignment (plus a default policy).
    #[arg(long, default_value_t = 50)]
    assignment_rules: usize,
    /// Policies the rules point at (the first is the default).
    #[arg(long, default_value_t = 10)]
    policies: usize,
    /// Measured lookups (and `effective_for_user` calls), random users.
    #[arg(long, default_value_t = 2000)]
    lookups: usize,
    /// Users populated through the Store trait before deciding whether the rest would fit
    /// in --populate-budget.
    #[arg(long, default_value_t = 5000)]
    populate_probe: usize,
    /// Seconds the Store-trait population may take in total; beyond that, the rest is
    /// inserted with SQL (0: always the Store trait, however long it takes).
    #[arg(long, default_value_t = 120)]
    populate_budget: u64,
    /// Skip the check-command part.
    #[arg(long)]
    no_check: bool,
    /// Skip the lookup part.
    #[arg(long)]
    no_lookup: bool,
}

// ---------------------------------------------------------------------------------------------
// Results

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Median of the runs, evaluations per second.
    pub per_sec: f64,
    pub min_per_sec: f64,
    pub max_per_sec: f64,
    pub runs: usize,
    pub secs_per_run: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub name: String,
    /// Distinct commands cycled through.
    pub commands: usize,
    pub avg_tokens: f64,
    pub avg_matches: f64,
    /// Rules indexed under the commands' programs (compared token by token), on average.
    pub avg_candidates: f64,
    pub check: Throughput,
    pub check_json: Throughput,
    pub avg_json_bytes: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OneOff {
    pub name: String,
    pub latency: Latency,
    /// First (cold) run, ms.
    pub first_ms: f64,
    /// How many outputs equal the in-process JSON (CLIs only).
    pub identical: Option<usize>,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub rules: usize,
    pub programs: usize,
    pub index_entries: usize,
    pub rules_by_decision: [usize; 3],
    pub rules_by_len: [usize; 4],
    pub rules_with_alternatives: usize,
    pub rules_file_bytes: usize,
    pub requirements_bytes: usize,
    pub workloads: Vec<Workload>,
    pub one_offs: Vec<OneOff>,
    pub skipped: Vec<String>,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Populate {
    pub groups: usize,
    pub users: usize,
    pub memberships: usize,
    pub users_without_group: usize,
    pub create_group_per_sec: f64,
    pub upsert_user_per_sec: f64,
    pub set_group_member_per_sec: f64,
    /// Users and memberships that went through the Store trait.
    pub store_users: usize,
    pub store_memberships: usize,
    /// What the whole dataset would take through the Store trait at the measured rates, s.
    pub projected_store_secs: f64,
    /// Rows inserted with plain SQL instead (when the projection exceeded the budget).
    pub sql_users: usize,
    pub sql_memberships: usize,
    pub sql_secs: f64,
    pub total_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub name: String,
    pub per_lookup: String,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct LookupResult {
    pub backend: &'static str,
    pub populate: Populate,
    pub policies: usize,
    pub assignment_rules: usize,
    pub requirements_bytes_avg: usize,
    /// `set_assignment` (it computes who changes policy over every user and membership).
    pub set_assignment_ms: f64,
    pub set_assignment_dry_run_ms: f64,
    pub lookup: Latency,
    pub effective: Latency,
    pub calls: Vec<Call>,
    /// Share of lookups matched by a rule (the rest: the default).
    pub matched_by_rule: f64,
    pub avg_rules_evaluated: f64,
    pub checks_ok: bool,
    pub checks: Vec<String>,
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyResult {
    pub check: Option<CheckResult>,
    pub lookups: Vec<LookupResult>,
    pub concurrent_builds: Vec<String>,
    pub peak_rss_mib: f64,
}

pub async fn run(opts: &PolicyOpts, common: &Common) -> Result<PolicyResult> {
    let mut builds = stats::concurrent_builds();
    let check = if opts.no_check {
        None
    } else {
        common.wait_quiet().await;
        let o = opts.clone();
        let steward = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary);
        let work = common.work_dir()?;
        Some(tokio::task::spawn_blocking(move || check_bench(&o, steward, &work)).await??)
    };
    builds.extend(stats::concurrent_builds());
    let mut lookups = Vec::new();
    if !opts.no_lookup {
        let mut backends = vec![Backend::Sqlite];
        if common.postgres_url.is_some() {
            backends.push(Backend::Postgres);
        } else {
            eprintln!("(no --postgres-url / STEWARD_TEST_POSTGRES_URL: PostgreSQL skipped)");
        }
        for b in backends {
            lookups.push(lookup_bench(b, opts, common).await?);
            builds.extend(stats::concurrent_builds());
        }
    }
    builds.sort();
    builds.dedup();
    if !builds.is_empty() {
        eprintln!("  WARNING: concurrent build processes seen: {}", builds.join(" "));
    }
    Ok(PolicyResult {
        check,
        lookups,
        concurrent_builds: builds,
        peak_rss_mib: rss_mib(),
    })
}

fn rss_mib() -> f64 {
    stats::proc_stats("self").vm_hwm_kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rules_have_the_asked_shape_and_load_as_both_documents() {
        let mut rng = Rng(1);
        let programs = program_names(200);
        assert_eq!(programs.len(), 200);
        let rules = generate_rules(1000, &programs, &mut rng);
        assert_eq!(rules.len(), 1000);
        assert!(rules.iter().all(|r| (2..=4).contains(&r.pattern.len())));
        let firsts: std::collections::HashSet<&str> = rules
            .iter()
            .map(|r| r.pattern[0].alternatives()[0].as_str())
            .collect();
        assert_eq!(firsts.len(), 200);
        assert_eq!(parse_rules(&write_rules(&rules).unwrap()).unwrap().len(), 1000);
        let checked = parse_requirements(&requirements_toml(&rules));
        assert!(checked.errors.is_empty(), "{:?}", checked.errors.first());
        assert_eq!(checked.value.unwrap().prefix_rules().len(), 1000);
    }
}
