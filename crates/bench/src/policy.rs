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
use steward_policy::requirements::parse_requirements;
use steward_store::{Group, GroupSource, NewUser, Store};

use crate::pg::FreshDb;
use crate::stats::{self, Latency};
use crate::{Backend, Common};

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

// ---------------------------------------------------------------------------------------------
// Deterministic generator

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `p` (0..=1).
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// Real program names, most common first (the first ones get the most rules).
const PROGRAMS: &[&str] = &[
    "git",
    "npm",
    "cargo",
    "docker",
    "kubectl",
    "python3",
    "pip",
    "rm",
    "curl",
    "gh",
    "terraform",
    "make",
    "go",
    "yarn",
    "pnpm",
    "node",
    "npx",
    "aws",
    "gcloud",
    "helm",
    "sed",
    "find",
    "ssh",
    "scp",
    "rsync",
    "psql",
    "mysql",
    "chmod",
    "chown",
    "sudo",
    "mv",
    "cp",
    "tar",
    "wget",
    "pytest",
    "uv",
    "poetry",
    "rustup",
    "rustc",
    "deno",
    "bun",
    "ruby",
    "gem",
    "bundle",
    "rake",
    "rails",
    "java",
    "mvn",
    "gradle",
    "dotnet",
    "swift",
    "xcodebuild",
    "cmake",
    "ninja",
    "bazel",
    "gcc",
    "clang",
    "podman",
    "kustomize",
    "terragrunt",
    "pulumi",
    "ansible",
    "ansible-playbook",
    "vagrant",
    "az",
    "doctl",
    "flyctl",
    "heroku",
    "vercel",
    "netlify",
    "firebase",
    "sqlite3",
    "redis-cli",
    "mongosh",
    "rmdir",
    "ln",
    "mkdir",
    "touch",
    "cat",
    "head",
    "tail",
    "grep",
    "rg",
    "fd",
    "awk",
    "xargs",
    "sort",
    "diff",
    "patch",
    "zip",
    "unzip",
    "gzip",
    "xz",
    "nc",
    "dig",
    "openssl",
    "gpg",
    "ssh-keygen",
    "systemctl",
    "journalctl",
    "service",
    "launchctl",
    "brew",
    "apt",
    "apt-get",
    "dpkg",
    "yum",
    "dnf",
    "rpm",
    "pacman",
    "snap",
    "flatpak",
    "su",
    "env",
    "kill",
    "pkill",
    "killall",
    "ps",
    "lsof",
    "du",
    "df",
    "mount",
    "umount",
    "dd",
    "mkfs",
    "fdisk",
    "crontab",
    "nohup",
    "tmux",
    "screen",
    "jq",
    "yq",
    "black",
    "ruff",
    "flake8",
    "mypy",
    "pylint",
    "isort",
    "eslint",
    "prettier",
    "tsc",
    "webpack",
    "vite",
    "jest",
    "mocha",
    "vitest",
    "playwright",
    "cypress",
    "just",
    "protoc",
    "buf",
    "grpcurl",
    "http",
    "wrk",
    "k6",
    "nmap",
    "tcpdump",
    "iptables",
    "ufw",
    "docker-compose",
    "minikube",
    "kind",
    "k9s",
    "skaffold",
    "tilt",
    "argocd",
    "flux",
    "istioctl",
    "linkerd",
    "vault",
    "consul",
    "nomad",
    "packer",
    "eksctl",
    "sam",
    "cdk",
    "serverless",
    "wrangler",
    "supabase",
    "prisma",
    "alembic",
    "django-admin",
    "flask",
    "uvicorn",
    "gunicorn",
    "celery",
    "ipython",
    "jupyter",
    "conda",
    "mamba",
    "pipx",
    "tox",
    "nox",
    "coverage",
    "hatch",
    "twine",
    "maturin",
    "wasm-pack",
    "trunk",
    "cross",
    "sccache",
    "hyperfine",
    "perf",
    "strace",
    "gdb",
    "lldb",
    "valgrind",
    "objdump",
    "nm",
    "strip",
    "ldd",
    "file",
    "xxd",
    "base64",
    "shasum",
    "sha256sum",
    "md5sum",
    "chattr",
    "setfacl",
];

const SUBCOMMANDS: &[&str] = &[
    "install", "run", "test", "build", "push", "pull", "deploy", "delete", "apply", "exec", "publish",
    "status", "log", "diff", "commit", "checkout", "reset", "rebase", "merge", "clean", "update", "upgrade",
    "remove", "add", "init", "login", "logout", "config", "get", "set", "create", "destroy", "start", "stop",
    "restart", "rollout", "scale", "describe", "logs", "release", "fetch", "clone", "tag", "branch", "stash",
    "format", "lint", "check", "audit", "migrate", "seed", "dump", "restore",
];

const ARGS: &[&str] = &[
    "--force",
    "-f",
    "-rf",
    "--all",
    "origin",
    "main",
    "master",
    "production",
    "staging",
    "/",
    "-y",
    "--yes",
    "--hard",
    "--prune",
    "--global",
    "-g",
    "--dry-run",
    "--no-verify",
    "-it",
    "--rm",
    "default",
    "kube-system",
    "--recursive",
    "-R",
    "--save-dev",
    "--release",
    "--locked",
    "HEAD~1",
    "--tags",
    "upstream",
    "dev",
    "--privileged",
    "--net=host",
    "0.0.0.0",
    "--approve",
    "-auto-approve",
    "--debug",
    "-v",
    "--verbose",
    "./...",
    "src",
    ".",
    "..",
    "~",
    "--watch",
    "--fix",
    "--yes-i-really-mean-it",
];

const JUSTIFICATIONS: &[&str] = &[
    "destructive: ask first",
    "touches shared infrastructure; use the deploy pipeline instead",
    "rewrites published history",
    "network access outside the sandbox",
    "installs software on the host",
    "reads secrets",
    "safe and frequent",
];

/// `n` distinct program names: the real ones, then `internal-tool-NNN`.
fn program_names(n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(n);
    for p in PROGRAMS {
        if out.len() == n {
            break;
        }
        if !out.iter().any(|q| q == p) {
            out.push((*p).to_owned());
        }
    }
    let mut i = 0;
    while out.len() < n {
        out.push(format!("internal-tool-{i:03}"));
        i += 1;
    }
    out
}

fn token(rng: &mut Rng, words: &[&str], alt_p: f64) -> PatternToken {
    if rng.chance(alt_p) {
        let k = 2 + rng.below(2);
        let mut alts: Vec<String> = Vec::with_capacity(k);
        while alts.len() < k {
            let w = rng.pick(words).to_owned();
            if !alts.contains(&w) {
                alts.push(w);
            }
        }
        PatternToken::AnyOf(alts)
    } else {
        PatternToken::Exact(rng.pick(words).to_owned())
    }
}

/// `total` rules over `programs`: every program gets a share, the most common tenth of the
/// programs gets the rest; 2-4 token patterns, a quarter with alternatives somewhere, a few
/// with an alias as first token, and overlapping prefixes (several rules match one command).
fn generate_rules(total: usize, programs: &[String], rng: &mut Rng) -> Vec<PrefixRule> {
    let p = programs.len().max(1);
    let base = (total * 3 / 5 / p).max(1);
    let mut counts = vec![base.min(total / p.max(1)).max(1); p];
    let top = (p / 10).max(1);
    let mut assigned: usize = counts.iter().sum();
    let mut i = 0;
    while assigned < total {
        counts[i % top] += 1;
        assigned += 1;
        i += 1;
    }
    while assigned > total {
        // More programs than rules: drop from the tail.
        if let Some(c) = counts.iter_mut().rev().find(|c| **c > 0) {
            *c -= 1;
        }
        assigned -= 1;
    }
    let mut rules = Vec::with_capacity(total);
    for (pi, program) in programs.iter().enumerate() {
        let mut first_sub: Option<String> = None;
        for j in 0..counts[pi] {
            let len = 2 + rng.below(3);
            let first = if rng.chance(0.03) {
                let alias = &programs[rng.below(p)];
                if alias == program {
                    PatternToken::Exact(program.clone())
                } else {
                    PatternToken::AnyOf(vec![program.clone(), alias.clone()])
                }
            } else {
                PatternToken::Exact(program.clone())
            };
            let mut pattern = vec![first];
            // Overlap: many rules of a program extend its first rule's subcommand.
            let sub = match &first_sub {
                Some(s) if j > 0 && rng.chance(0.35) => PatternToken::Exact(s.clone()),
                _ => token(rng, SUBCOMMANDS, 0.2),
            };
            if first_sub.is_none() {
                first_sub = sub.alternatives().first().cloned();
            }
            pattern.push(sub);
            while pattern.len() < len {
                pattern.push(token(rng, ARGS, 0.2));
            }
            let decision = match rng.below(20) {
                0..=9 => Decision::Allow,
                10..=16 => Decision::Prompt,
                _ => Decision::Forbidden,
            };
            let justification = rng
                .chance(0.5)
                .then(|| format!("{} ({program} rule {j})", rng.pick(JUSTIFICATIONS)));
            rules.push(PrefixRule {
                pattern,
                decision,
                justification,
                reviewer: None,
            });
        }
    }
    rules
}

/// A command built from `rule` (one alternative per position), plus `extra` arguments.
fn command_from(rule: &PrefixRule, extra: usize, rng: &mut Rng) -> Vec<String> {
    let mut argv: Vec<String> = rule
        .pattern
        .iter()
        .map(|t| {
            let alts = t.alternatives();
            alts[rng.below(alts.len())].clone()
        })
        .collect();
    for _ in 0..extra {
        argv.push(rng.pick(ARGS).to_owned());
    }
    argv
}

/// The `requirements.toml` of the same rules (`allow` is refused there, so it becomes `prompt`).
fn requirements_toml(rules: &[PrefixRule]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut s = String::from(
        "allowed_approval_policies = [\"untrusted\", \"on-request\"]\nallowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n\n[rules]\nprefix_rules = [\n",
    );
    for r in rules {
        s.push_str("  { pattern = [");
        for (i, t) in r.pattern.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            match t {
                PatternToken::Exact(x) => {
                    let _ = write!(s, "{{ token = {} }}", q(x));
                }
                PatternToken::AnyOf(alts) => {
                    let list: Vec<String> = alts.iter().map(|a| q(a)).collect();
                    let _ = write!(s, "{{ any_of = [{}] }}", list.join(", "));
                }
            }
        }
        let decision = match r.decision {
            Decision::Forbidden => "forbidden",
            _ => "prompt",
        };
        let _ = write!(s, "], decision = \"{decision}\"");
        if let Some(j) = &r.justification {
            let _ = write!(s, ", justification = {}", q(j));
        }
        s.push_str(" },\n");
    }
    s.push_str("]\n");
    s
}

// ---------------------------------------------------------------------------------------------
// check-command

struct Bucket {
    name: &'static str,
    cmds: Vec<Vec<String>>,
}

fn check_bench(opts: &PolicyOpts, steward: Result<PathBuf>, work: &Path) -> Result<CheckResult> {
    eprintln!(
        "== policy check-command: {} rules over {} programs",
        opts.rules, opts.programs
    );
    let mut rng = Rng(0x5EED_0169_B0B0_0001);
    let programs = program_names(opts.programs);
    let rules = generate_rules(opts.rules, &programs, &mut rng);
    let policy = Policy::new(rules.clone());
    let mut rules_by_decision = [0usize; 3];
    let mut rules_by_len = [0usize; 4];
    let mut rules_with_alternatives = 0;
    let mut index_entries = 0;
    for r in &rules {
        rules_by_decision[r.decision as usize] += 1;
        rules_by_len[(r.pattern.len() - 1).min(3)] += 1;
        if r.pattern.iter().any(|t| matches!(t, PatternToken::AnyOf(_))) {
            rules_with_alternatives += 1;
        }
        index_entries += r.pattern[0].alternatives().len();
    }
    let candidates = |argv: &[String]| {
        rules
            .iter()
            .map(|r| {
                r.pattern[0]
                    .alternatives()
                    .iter()
                    .filter(|a| Some(*a) == argv.first())
                    .count()
            })
            .sum::<usize>()
    };

    // Commands, sorted into buckets by what they really match.
    let want = 2000;
    let mut one = Vec::new();
    let mut several = Vec::new();
    let mut none_known = Vec::new();
    let mut none_unknown = Vec::new();
    let mut long = Vec::new();
    let mut attempts = 0;
    while (one.len() < want || several.len() < want || none_known.len() < want) && attempts < 1_000_000 {
        attempts += 1;
        let argv = match rng.below(3) {
            0 | 1 => {
                let r = &rules[rng.below(rules.len())];
                let extra = rng.below(4);
                command_from(r, extra, &mut rng)
            }
            _ => {
                let mut argv = vec![programs[rng.below(programs.len())].clone()];
                argv.push(rng.pick(SUBCOMMANDS).to_owned());
                for _ in 0..rng.below(4) {
                    argv.push(rng.pick(ARGS).to_owned());
                }
                argv
            }
        };
        let n = policy.check(&argv).matched_rules.len();
        let bucket = match n {
            0 => &mut none_known,
            1 => &mut one,
            _ => &mut several,
        };
        if bucket.len() < want {
            bucket.push(argv);
        }
    }
    for i in 0..want {
        let mut argv = vec![format!("unlisted-program-{}", i % 500)];
        argv.push(rng.pick(SUBCOMMANDS).to_owned());
        for _ in 0..rng.below(4) {
            argv.push(rng.pick(ARGS).to_owned());
        }
        none_unknown.push(argv);
    }
    for _ in 0..want / 4 {
        let r = &rules[rng.below(rules.len())];
        let extra = 100 + rng.below(300);
        long.push(command_from(r, extra, &mut rng));
    }
    // The mix: 40% one match, 15% several, 25% none (known program), 15% unknown, 5% long.
    let mut mix = Vec::new();
    for i in 0..want {
        let c = match i % 20 {
            0..=7 => &one[i % one.len().max(1)],
            8..=10 => &several[i % several.len().max(1)],
            11..=15 => &none_known[i % none_known.len().max(1)],
            16..=18 => &none_unknown[i % none_unknown.len()],
            _ => &long[i % long.len()],
        };
        mix.push(c.clone());
    }
    let buckets = vec![
        Bucket {
            name: "mix (40% one match, 15% several, 25% none, 15% unknown program, 5% long)",
            cmds: mix,
        },
        Bucket {
            name: "exactly one rule matches",
            cmds: one,
        },
        Bucket {
            name: "several rules match",
            cmds: several,
        },
        Bucket {
            name: "no rule matches (program has rules)",
            cmds: none_known,
        },
        Bucket {
            name: "unknown program (no rules indexed)",
            cmds: none_unknown,
        },
        Bucket {
            name: "long argv (100-400 extra args)",
            cmds: long,
        },
    ];

    let mut workloads = Vec::new();
    for b in &buckets {
        if b.cmds.is_empty() {
            continue;
        }
        let n = b.cmds.len() as f64;
        let avg_tokens = b.cmds.iter().map(Vec::len).sum::<usize>() as f64 / n;
        let avg_matches = b
            .cmds
            .iter()
            .map(|c| policy.check(c).matched_rules.len())
            .sum::<usize>() as f64
            / n;
        let avg_candidates = b.cmds.iter().map(|c| candidates(c)).sum::<usize>() as f64 / n;
        let avg_json_bytes = b
            .cmds
            .iter()
            .map(|c| policy.check(c).to_json().len())
            .sum::<usize>() as f64
            / n;
        let check = throughput(&b.cmds, opts, |argv| {
            let e = policy.check(argv);
            e.matched_rules.len() + e.decision.map_or(0, |d| d as usize)
        });
        let check_json = throughput(&b.cmds, opts, |argv| policy.check(argv).to_json().len());
        eprintln!(
            "  {:<40} check {:>12.0}/s ({:>6.0} ns)   check+to_json {:>10.0}/s ({:>6.0} ns)",
            b.name.split(" (").next().unwrap_or(b.name),
            check.per_sec,
            1e9 / check.per_sec,
            check_json.per_sec,
            1e9 / check_json.per_sec
        );
        workloads.push(Workload {
            name: b.name.to_owned(),
            commands: b.cmds.len(),
            avg_tokens,
            avg_matches,
            avg_candidates,
            check,
            check_json,
            avg_json_bytes,
        });
    }

    // One-off costs and per-invocation peers.
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-policy-")
        .tempdir_in(work)?;
    let rules_text = write_rules(&rules)?;
    let rules_path = tmp.path().join("bench.rules");
    std::fs::write(&rules_path, &rules_text)?;
    let req_text = requirements_toml(&rules);
    let mut one_offs = Vec::new();
    let mut skipped = Vec::new();

    let reread =
        parse_rules(&rules_text).map_err(|e| anyhow::anyhow!("re-reading the written rules: {e}"))?;
    if reread.len() != rules.len() {
        bail!(
            "the written .rules file reads back as {} rules, not {}",
            reread.len(),
            rules.len()
        );
    }
    let sample: Vec<&Vec<String>> = buckets[0]
        .cmds
        .iter()
        .step_by((buckets[0].cmds.len() / opts.cli_invocations.max(1)).max(1))
        .take(opts.cli_invocations.max(1))
        .collect();
    let one_shot = timed(30, |i| {
        let parsed = parse_rules(&rules_text).map(Policy::new).ok()?;
        Some(parsed.check(sample[i % sample.len()]).to_json().len())
    });
    one_offs.push(OneOff {
        name: "in-process one shot: `parse_rules` of the .rules file + `Policy::new` + check + `to_json`"
            .into(),
        first_ms: one_shot.0,
        latency: one_shot.1,
        identical: None,
        note: format!("{} bytes of .rules", rules_text.len()),
    });
    let compiled = timed(30, |_| {
        let checked = parse_requirements(&req_text);
        let req = checked.value?;
        Some(Policy::new(req.prefix_rules()).len())
    });
    {
        let checked = parse_requirements(&req_text);
        let n = checked.value.as_ref().map(|r| r.prefix_rules().len());
        if n != Some(rules.len()) {
            bail!(
                "the generated requirements.toml does not load: {:?}",
                checked
                    .errors
                    .iter()
                    .take(3)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            );
        }
    }
    one_offs.push(OneOff {
        name: "`parse_requirements` + `prefix_rules()` + `Policy::new` of a requirements.toml with the same rules".into(),
        first_ms: compiled.0,
        latency: compiled.1,
        identical: None,
        note: format!("{} bytes of TOML, valid, {} rules", req_text.len(), rules.len()),
    });

    let expected: Vec<String> = sample.iter().map(|c| policy.check(c).to_json()).collect();
    let codex = opts
        .codex
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(DEFAULT_CODEX)))
        .filter(|p| p.is_file())
        .context("Codex CLI not found (--codex PATH or STEWARD_CODEX_BIN)");
    let codex_home = tmp.path().join("codex-home");
    std::fs::create_dir_all(&codex_home)?;
    let peers: [(&str, Result<PathBuf>); 2] = [
        (
            "Codex CLI 0.169.0 process: `codex execpolicy check --rules FILE -- argv`",
            codex,
        ),
        (
            "`steward policy check-command --rules FILE -- argv` process",
            steward,
        ),
    ];
    for (i, (name, bin)) in peers.into_iter().enumerate() {
        let r = bin.and_then(|bin| {
            let r = run_cli(&sample, &expected, |argv| {
                let mut c = Command::new(&bin);
                if i == 0 {
                    c.env("CODEX_HOME", &codex_home)
                        .args(["execpolicy", "check", "--rules"]);
                } else {
                    c.current_dir(tmp.path())
                        .args(["policy", "check-command", "--rules"]);
                }
                c.arg(&rules_path).arg("--").args(argv);
                c
            })?;
            Ok((r, bin))
        });
        match r {
            Ok(((first, latency, identical), bin)) => {
                eprintln!(
                    "  {name}: p50 {:.1} ms, p99 {:.1} ms; {identical}/{} outputs identical",
                    latency.p50_ms,
                    latency.p99_ms,
                    sample.len()
                );
                one_offs.push(OneOff {
                    name: name.to_owned(),
                    first_ms: first,
                    latency,
                    identical: Some(identical),
                    note: bin.display().to_string(),
                });
            }
            Err(e) => {
                eprintln!("  {name}: skipped: {e:#}");
                skipped.push(format!("{name}: {e:#}"));
            }
        }
    }

    Ok(CheckResult {
        rules: rules.len(),
        programs: programs.len(),
        index_entries,
        rules_by_decision,
        rules_by_len,
        rules_with_alternatives,
        rules_file_bytes: rules_text.len(),
        requirements_bytes: req_text.len(),
        workloads,
        one_offs,
        skipped,
        peak_rss_mib: rss_mib(),
    })
}

/// Evaluations per second of `f` cycling over `cmds`: a warm-up of half a run, then
/// `opts.runs` runs of `opts.run_secs`; the median run is reported.
fn throughput(cmds: &[Vec<String>], opts: &PolicyOpts, f: impl Fn(&[String]) -> usize) -> Throughput {
    let one_run = |secs: f64| {
        let deadline = Duration::from_secs_f64(secs);
        let t = Instant::now();
        let mut n = 0u64;
        let mut i = 0usize;
        loop {
            for _ in 0..256 {
                black_box(f(black_box(&cmds[i])));
                i += 1;
                if i == cmds.len() {
                    i = 0;
                }
            }
            n += 256;
            let e = t.elapsed();
            if e >= deadline {
                return n as f64 / e.as_secs_f64();
            }
        }
    };
    one_run(opts.run_secs / 2.0);
    let mut rates: Vec<f64> = (0..opts.runs.max(1)).map(|_| one_run(opts.run_secs)).collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    Throughput {
        per_sec: rates[rates.len() / 2],
        min_per_sec: rates[0],
        max_per_sec: rates[rates.len() - 1],
        runs: rates.len(),
        secs_per_run: opts.run_secs,
    }
}

/// (first call ms, latency of the `n` calls after it) of `f(i)`.
fn timed(n: usize, f: impl Fn(usize) -> Option<usize>) -> (f64, Latency) {
    let t = Instant::now();
    black_box(f(0));
    let first = t.elapsed().as_secs_f64() * 1000.0;
    let lat: Vec<Duration> = (1..=n)
        .map(|i| {
            let t = Instant::now();
            black_box(f(i));
            t.elapsed()
        })
        .collect();
    (first, Latency::of(&lat))
}

/// Runs one process per command; (first ms, latency of the rest, outputs equal to `expected`).
fn run_cli(
    sample: &[&Vec<String>],
    expected: &[String],
    command: impl Fn(&[String]) -> Command,
) -> Result<(f64, Latency, usize)> {
    let mut lat = Vec::new();
    let mut first = 0.0;
    let mut identical = 0;
    for (i, argv) in sample.iter().enumerate() {
        let mut c = command(argv);
        let t = Instant::now();
        let out = c.output().context("spawning the CLI")?;
        let e = t.elapsed();
        if !out.status.success() {
            bail!(
                "{:?} failed ({}): {}",
                c.get_program(),
                out.status,
                String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
            );
        }
        if String::from_utf8_lossy(&out.stdout).trim_end() == expected[i] {
            identical += 1;
        } else if identical == i {
            eprintln!(
                "  note: {:?} printed {:?}, in-process {:?}",
                c.get_program(),
                String::from_utf8_lossy(&out.stdout).trim_end(),
                expected[i]
            );
        }
        if i == 0 {
            first = e.as_secs_f64() * 1000.0;
        } else {
            lat.push(e);
        }
    }
    Ok((first, Latency::of(&lat), identical))
}

// ---------------------------------------------------------------------------------------------
// lookup

struct Dataset {
    workspace_id: String,
    user_ids: Vec<String>,
    /// Group indices of each user.
    member_of: Vec<Vec<usize>>,
    group_ids: Vec<String>,
    group_names: Vec<String>,
}

fn email(u: usize) -> String {
    format!("dev{u:06}@bench.example")
}

async fn lookup_bench(backend: Backend, opts: &PolicyOpts, common: &Common) -> Result<LookupResult> {
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-policy-")
        .tempdir_in(&work)?;
    eprintln!(
        "== policy lookup [{}]: {} users in {} groups, {} rules + default",
        backend.name(),
        opts.users,
        opts.groups,
        opts.assignment_rules
    );
    let mut db = None;
    let result = async {
        let (store, raw): (Arc<dyn Store>, Raw) = match backend {
            Backend::Sqlite => {
                let path = tmp.path().join("steward.db");
                (
                    Arc::new(steward_store_sqlite::SqliteStore::open(&path).await?),
                    Raw::Sqlite(path),
                )
            }
            Backend::Postgres => {
                let fresh = FreshDb::create(&common.postgres_url()?, "policy").await?;
                eprintln!("  fresh database {}", fresh.name);
                let url = fresh.url.clone();
                db = Some(fresh);
                (
                    Arc::new(steward_store_postgres::PostgresStore::connect(&url).await?),
                    Raw::Postgres(url),
                )
            }
        };
        lookup_inner(backend, opts, common, store, raw).await
    }
    .await;
    if let Some(db) = db {
        if let Err(e) = db.drop_db().await {
            eprintln!("  note: {e:#}");
        }
    }
    if common.keep {
        eprintln!("  kept {}", tmp.keep().display());
    }
    result
}

enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

async fn lookup_inner(
    backend: Backend,
    opts: &PolicyOpts,
    common: &Common,
    store: Arc<dyn Store>,
    raw: Raw,
) -> Result<LookupResult> {
    let mut rng = Rng(0x5EED_0169_0100_0002 ^ opts.users as u64);
    let (ds, populate) = populate(store.as_ref(), &raw, opts, &mut rng).await?;
    let ws = ds.workspace_id.clone();
    let service = PolicyService::new(store.clone());
    let actor = Actor::local_admin();

    // Policies: each a requirements.toml of ~30 prefix rules and a managed config.
    let programs = program_names(60);
    let mut req_bytes = 0;
    let mut policy_names = Vec::new();
    for p in 0..opts.policies.max(1) {
        let name = if p == 0 {
            "baseline".to_owned()
        } else {
            format!("profile-{p:02}")
        };
        let mut prng = Rng(0xB0B0 + p as u64);
        let rules = generate_rules(30, &programs[..10 + p % 40], &mut prng);
        let docs = PolicyDocuments {
            requirements_toml: requirements_toml(&rules),
            managed_config_toml: format!(
                "model = \"gpt-5-codex\"\napproval_policy = \"{}\"\nsandbox_mode = \"workspace-write\"\n",
                if p % 2 == 0 { "on-request" } else { "untrusted" }
            ),
        };
        req_bytes += docs.requirements_toml.len();
        service
            .create(&ws, &name, "steward-bench", docs, "bench", &actor)
            .await
            .with_context(|| format!("creating policy {name}"))?;
        policy_names.push(name);
    }
    // Rules: groups spread over the list (the "department" groups half of the memberships go to).
    let rule_groups = rule_groups(opts);
    let rule_policy = |k: usize| policy_names[1 + k % (policy_names.len() - 1).max(1)].clone();
    let input = AssignmentInput {
        rules: rule_groups
            .iter()
            .enumerate()
            .map(|(k, &g)| RuleInput {
                group: ds.group_names[g].clone(),
                policy: if policy_names.len() > 1 {
                    rule_policy(k)
                } else {
                    policy_names[0].clone()
                },
            })
            .collect(),
        default_policy: Some(policy_names[0].clone()),
        based_on_version: None,
    };
    common.wait_quiet().await;
    let t = Instant::now();
    service.set_assignment(&ws, &input, false, &actor).await?;
    let set_assignment_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut reversed = input.clone();
    reversed.rules.reverse();
    let t = Instant::now();
    let dry = service.set_assignment(&ws, &reversed, true, &actor).await?;
    let set_assignment_dry_run_ms = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "  set_assignment {:.0} ms; dry run of the reversed order {:.0} ms ({} users would change)",
        set_assignment_ms,
        set_assignment_dry_run_ms,
        dry.changes.len()
    );

    // The expected outcome, in memory.
    let position_of: std::collections::HashMap<usize, usize> =
        rule_groups.iter().enumerate().map(|(k, &g)| (g, k)).collect();
    let expected = |u: usize| -> (Option<usize>, String) {
        let pos = ds.member_of[u]
            .iter()
            .filter_map(|g| position_of.get(g))
            .min()
            .copied();
        match pos {
            Some(k) => (Some(k + 1), input.rules[k].policy.clone()),
            None => (None, policy_names[0].clone()),
        }
    };

    let mut checks = Vec::new();
    let mut ok = true;
    let users: Vec<usize> = (0..opts.lookups + 100)
        .map(|_| rng.below(ds.user_ids.len()))
        .collect();

    // lookup
    common.wait_quiet().await;
    let mut lat = Vec::with_capacity(opts.lookups);
    let (mut agree, mut by_rule, mut evaluated) = (0usize, 0usize, 0usize);
    for (i, &u) in users.iter().enumerate() {
        let t = Instant::now();
        let l = service.lookup(&ws, &LookupSubject::Email(email(u))).await?;
        let e = t.elapsed();
        if i < 100 {
            continue;
        }
        lat.push(e);
        let (pos, policy) = expected(u);
        let got_pos = match &l.matched_by {
            MatchedBy::Rule { position, .. } => Some(*position),
            _ => None,
        };
        by_rule += usize::from(got_pos.is_some());
        evaluated += l.evaluated.len();
        if got_pos == pos && l.policy.as_ref().map(|p| p.name.as_str()) == Some(policy.as_str()) {
            agree += 1;
        }
    }
    let lookup = Latency::of(&lat);
    let n = lat.len().max(1);
    ok &= agree == lat.len();
    checks.push(format!(
        "lookup agrees with the in-memory first-match resolution: {agree}/{}",
        lat.len()
    ));
    eprintln!(
        "  lookup(Email)        p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} lookups, {:.0}% matched by a rule)",
        lookup.p50_ms,
        lookup.p99_ms,
        lookup.max_ms,
        lookup.n,
        100.0 * by_rule as f64 / n as f64
    );

    // effective_for_user
    common.wait_quiet().await;
    let mut lat = Vec::with_capacity(opts.lookups);
    let mut agree = 0;
    for (i, &u) in users.iter().enumerate() {
        let t = Instant::now();
        let eff = service.effective_for_user(&ws, &ds.user_ids[u]).await?;
        let e = t.elapsed();
        if i < 100 {
            continue;
        }
        lat.push(e);
        if eff.policy.as_deref() == Some(expected(u).1.as_str()) && !eff.requirements_toml.is_empty() {
            agree += 1;
        }
    }
    let effective = Latency::of(&lat);
    ok &= agree == lat.len();
    checks.push(format!(
        "effective_for_user names the expected policy: {agree}/{}",
        lat.len()
    ));
    eprintln!(
        "  effective_for_user   p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        effective.p50_ms, effective.p99_ms, effective.max_ms
    );

    // The store calls of a lookup, one by one.
    common.wait_quiet().await;
    let a = store.policy_assignment(&ws).await?;
    let policy_id = a.rules.first().map(|r| r.policy_id.clone()).unwrap_or_default();
    let policy_row = store
        .get_policy_by_id(&ws, &policy_id)
        .await?
        .context("policy of rule 1")?;
    let calls_n = 500.min(users.len());
    let mut calls = Vec::new();
    macro_rules! time_call {
        ($name:expr, $per:expr, |$u:ident| $call:expr) => {{
            let mut lat = Vec::with_capacity(calls_n);
            for (i, &$u) in users.iter().take(calls_n + 20).enumerate() {
                let t = Instant::now();
                black_box($call.await?);
                if i >= 20 {
                    lat.push(t.elapsed());
                }
            }
            calls.push(Call {
                name: $name.to_owned(),
                per_lookup: $per.to_owned(),
                latency: Latency::of(&lat),
            });
        }};
    }
    let (lk, ef) = CALLS_PER;
    time_call!("find_user_by_email", lk[0], |u| store
        .find_user_by_email(&ws, &email(u)));
    time_call!("user_group_ids", format!("{} / {}", lk[1], ef[1]), |u| store
        .user_group_ids(&ws, &ds.user_ids[u]));
    time_call!("policy_assignment", format!("{} / {}", lk[2], ef[2]), |_u| store
        .policy_assignment(&ws));
    time_call!(
        format!("list_groups ({} rows)", ds.group_ids.len()),
        format!("{} / {}", lk[3], ef[3]),
        |_u| store.list_groups(&ws)
    );
    time_call!(
        format!("list_policies ({} rows)", policy_names.len()),
        format!("{} / {}", lk[4], ef[4]),
        |_u| store.list_policies(&ws)
    );
    time_call!("get_policy_by_id", format!("{} / {}", lk[5], ef[5]), |_u| store
        .get_policy_by_id(&ws, &policy_id));
    time_call!("policy_revision", format!("{} / {}", lk[6], ef[6]), |_u| store
        .policy_revision(&policy_row.id, policy_row.latest_revision));
    for c in &calls {
        eprintln!(
            "  {:<28} p50 {:>7.3} ms  p99 {:>7.3} ms   (calls per lookup / effective: {})",
            c.name, c.latency.p50_ms, c.latency.p99_ms, c.per_lookup
        );
    }

    Ok(LookupResult {
        backend: backend.name(),
        populate,
        policies: policy_names.len(),
        assignment_rules: rule_groups.len(),
        requirements_bytes_avg: req_bytes / policy_names.len().max(1),
        set_assignment_ms,
        set_assignment_dry_run_ms,
        lookup,
        effective,
        calls,
        matched_by_rule: by_rule as f64 / n as f64,
        avg_rules_evaluated: evaluated as f64 / n as f64,
        checks_ok: ok,
        checks,
        peak_rss_mib: rss_mib(),
    })
}

/// How many times `PolicyService::lookup` / `effective_for_user` call each store method
/// (find_user_by_email, user_group_ids, policy_assignment, list_groups, list_policies,
/// get_policy_by_id, policy_revision), read from crates/core/src/policies.
const CALLS_PER: ([&str; 7], [&str; 7]) = (
    ["1", "1", "1", "1", "1", "1", "1"],
    ["–", "1", "1", "1 if a rule matched", "0", "1", "1"],
);

/// Group indices of the assignment's rules, in rule order: every `groups / rules`-th group,
/// shuffled.
fn rule_groups(opts: &PolicyOpts) -> Vec<usize> {
    let n = opts.assignment_rules.min(opts.groups);
    let step = (opts.groups / n.max(1)).max(1);
    let mut v: Vec<usize> = (0..n).map(|k| k * step).collect();
    let mut rng = Rng(0x0005_EED0_0DE0_0003);
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
    v
}

const DEPARTMENTS: &[&str] = &[
    "eng",
    "platform",
    "data",
    "ml",
    "infra",
    "security",
    "sre",
    "mobile",
    "web",
    "qa",
    "design",
    "support",
    "finance",
    "sales",
    "contractors",
    "interns",
];

/// Groups (all through `Store::create_group`), then users and memberships through
/// `upsert_user` / `set_group_member` one call at a time: the first `--populate-probe` users
/// measure the rates, and when the whole dataset would exceed `--populate-budget` at those rates
/// the rest is inserted with SQL.
async fn populate(
    store: &dyn Store,
    raw: &Raw,
    opts: &PolicyOpts,
    rng: &mut Rng,
) -> Result<(Dataset, Populate)> {
    let start = Instant::now();
    let ws = store.ensure_default_workspace("Default").await?;
    let rule_groups = rule_groups(opts);
    let groups = opts.groups.max(1);
    let mut member_of: Vec<Vec<usize>> = Vec::with_capacity(opts.users);
    for _ in 0..opts.users {
        let mut of = Vec::new();
        if !rng.chance(0.05) {
            let k = 1 + rng.below(3);
            while of.len() < k {
                // Half of the memberships are in the (large) groups the assignment names.
                let g = if rng.chance(0.5) {
                    rule_groups[rng.below(rule_groups.len())]
                } else {
                    rng.below(groups)
                };
                if !of.contains(&g) {
                    of.push(g);
                }
            }
        }
        member_of.push(of);
    }
    let memberships: usize = member_of.iter().map(Vec::len).sum();
    let users_without_group = member_of.iter().filter(|m| m.is_empty()).count();
    let group_names: Vec<String> = (0..groups)
        .map(|i| format!("{}-{i:04}", DEPARTMENTS[i % DEPARTMENTS.len()]))
        .collect();
    let group_ids: Vec<String> = (0..groups)
        .map(|_| format!("grp_{:016x}{:016x}", rng.next(), rng.next()))
        .collect();
    let now = stats::now_ms();

    let t = Instant::now();
    for (id, name) in group_ids.iter().zip(&group_names) {
        store
            .create_group(&Group {
                id: id.clone(),
                workspace_id: ws.id.clone(),
                name: name.clone(),
                source: GroupSource::Manual,
                external_id: None,
                created_at_ms: now,
            })
            .await?;
    }
    let group_secs = t.elapsed().as_secs_f64();

    let mut user_ids: Vec<String> = Vec::with_capacity(opts.users);
    let (user_secs, member_secs, mut store_memberships);
    let add = AddUsers {
        store,
        ws: &ws.id,
        member_of: &member_of,
        group_ids: &group_ids,
    };
    let probe = opts.populate_probe.clamp(1, opts.users.max(1)).min(opts.users);
    let (us, ms, n) = add.run(0, probe, &mut user_ids).await?;
    (user_secs, member_secs, store_memberships) = (us, ms, n);
    let probe_memberships: usize = member_of[..probe].iter().map(Vec::len).sum();
    let rate = |n: usize, secs: f64| n as f64 / secs.max(1e-9);
    let (rate_g, rate_u, rate_m) = (
        rate(groups, group_secs),
        rate(probe, user_secs),
        rate(probe_memberships, member_secs),
    );
    let projected = groups as f64 / rate_g + opts.users as f64 / rate_u + memberships as f64 / rate_m;
    eprintln!(
        "  Store trait, one call at a time: create_group {rate_g:.0}/s, upsert_user {rate_u:.0}/s, set_group_member {rate_m:.0}/s \
         → {} users + {memberships} memberships would take {projected:.0} s",
        opts.users
    );
    let (mut sql_users, mut sql_memberships, mut sql_secs) = (0, 0, 0.0);
    if opts.populate_budget == 0 || projected <= opts.populate_budget as f64 {
        let (_, _, n) = add.run(probe, opts.users, &mut user_ids).await?;
        store_memberships += n;
    } else {
        eprintln!(
            "  more than --populate-budget {} s: inserting the other {} users and {} memberships with SQL",
            opts.populate_budget,
            opts.users - probe,
            memberships - probe_memberships
        );
        let t = Instant::now();
        let new_ids: Vec<String> = (probe..opts.users)
            .map(|_| format!("user-{:016x}{:016x}", rng.next(), rng.next()))
            .collect();
        user_ids.extend(new_ids);
        let mut rows: Vec<(String, String)> = Vec::with_capacity(memberships);
        for u in probe..opts.users {
            for &g in &member_of[u] {
                rows.push((group_ids[g].clone(), user_ids[u].clone()));
            }
        }
        let users: Vec<(String, String)> = (probe..opts.users)
            .map(|u| (user_ids[u].clone(), email(u)))
            .collect();
        sql_users = users.len();
        sql_memberships = rows.len();
        sql_insert(raw, &ws.id, now, users, rows).await?;
        sql_secs = t.elapsed().as_secs_f64();
        eprintln!("  SQL insert took {sql_secs:.1} s");
    }
    let populate = Populate {
        groups,
        users: opts.users,
        memberships,
        users_without_group,
        create_group_per_sec: rate_g,
        upsert_user_per_sec: rate_u,
        set_group_member_per_sec: rate_m,
        store_users: opts.users - sql_users,
        store_memberships,
        projected_store_secs: projected,
        sql_users,
        sql_memberships,
        sql_secs,
        total_secs: start.elapsed().as_secs_f64(),
    };
    Ok((
        Dataset {
            workspace_id: ws.id,
            user_ids,
            member_of,
            group_ids,
            group_names,
        },
        populate,
    ))
}

struct AddUsers<'a> {
    store: &'a dyn Store,
    ws: &'a str,
    member_of: &'a [Vec<usize>],
    group_ids: &'a [String],
}

impl AddUsers<'_> {
    /// Users `from..to` through `upsert_user`, then their memberships through
    /// `set_group_member`, one call at a time: (user seconds, membership seconds, memberships).
    async fn run(&self, from: usize, to: usize, user_ids: &mut Vec<String>) -> Result<(f64, f64, usize)> {
        let t = Instant::now();
        for u in from..to {
            let e = email(u);
            let user = self
                .store
                .upsert_user(&NewUser {
                    workspace_id: self.ws.to_owned(),
                    email: Some(e.clone()),
                    name: None,
                    account_id: None,
                    kind: UserKind::Person,
                    principal_key: format!("email:{e}"),
                })
                .await?;
            user_ids.push(user.id);
        }
        let user_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut n = 0;
        for (u, of) in self.member_of.iter().enumerate().take(to).skip(from) {
            for &g in of {
                if !self
                    .store
                    .set_group_member(self.ws, &self.group_ids[g], &user_ids[u], true)
                    .await?
                {
                    bail!("set_group_member added nothing for user {u}");
                }
                n += 1;
            }
        }
        Ok((user_secs, t.elapsed().as_secs_f64(), n))
    }
}

/// The rows `upsert_user` and `set_group_member` would write, in one transaction.
async fn sql_insert(
    raw: &Raw,
    ws: &str,
    now: i64,
    users: Vec<(String, String)>,
    members: Vec<(String, String)>,
) -> Result<()> {
    match raw {
        Raw::Sqlite(path) => {
            let (path, ws) = (path.clone(), ws.to_owned());
            tokio::task::spawn_blocking(move || -> Result<()> {
                let mut c = rusqlite::Connection::open(&path)?;
                c.busy_timeout(Duration::from_secs(60))?;
                let tx = c.transaction()?;
                {
                    let mut st = tx.prepare(
                        "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms)
                         VALUES (?1, ?2, ?3, NULL, NULL, 'person', ?4, ?5)",
                    )?;
                    for (id, e) in &users {
                        st.execute(rusqlite::params![id, ws, e, format!("email:{e}"), now])?;
                    }
                    let mut st =
                        tx.prepare("INSERT INTO group_members (workspace_id, group_id, user_id) VALUES (?1, ?2, ?3)")?;
                    for (g, u) in &members {
                        st.execute(rusqlite::params![ws, g, u])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await??;
        }
        Raw::Postgres(url) => {
            let mut client = crate::pg::connect(url).await?;
            let tx = client.transaction().await?;
            for chunk in users.chunks(10_000) {
                let ids: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
                let emails: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
                tx.execute(
                    "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms)
                     SELECT id, $1, email, NULL, NULL, 'person', 'email:' || email, $2
                     FROM UNNEST($3::text[], $4::text[]) AS t(id, email)",
                    &[&ws, &now, &ids, &emails],
                )
                .await?;
            }
            for chunk in members.chunks(10_000) {
                let g: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
                let u: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
                tx.execute(
                    "INSERT INTO group_members (workspace_id, group_id, user_id)
                     SELECT $1, g, u FROM UNNEST($2::text[], $3::text[]) AS t(g, u)",
                    &[&ws, &g, &u],
                )
                .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Output

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

pub fn markdown(r: &PolicyResult) -> String {
    let mut s = String::new();
    if let Some(c) = &r.check {
        let _ = writeln!(
            s,
            "### Exec-policy check-command: {} prefix rules over {} programs (single thread)\n",
            c.rules, c.programs
        );
        let _ = writeln!(
            s,
            "Rules: {} allow / {} prompt / {} forbidden; patterns of 1/2/3/4 tokens: {}/{}/{}/{}; {} with alternatives; {} index entries (first-token alternatives expanded). \
             Evaluations/s are the median of {} runs of {:.1} s after a warm-up (min–max in brackets).\n",
            c.rules_by_decision[0],
            c.rules_by_decision[1],
            c.rules_by_decision[2],
            c.rules_by_len[0],
            c.rules_by_len[1],
            c.rules_by_len[2],
            c.rules_by_len[3],
            c.rules_with_alternatives,
            c.index_entries,
            c.workloads.first().map_or(0, |w| w.check.runs),
            c.workloads.first().map_or(0.0, |w| w.check.secs_per_run),
        );
        let _ = writeln!(
            s,
            "| commands | n | argv tokens | matches | rules compared | `Policy::check` evals/s | ns/eval | check + `to_json` evals/s | ns/eval | JSON bytes |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for w in &c.workloads {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {:.2} | {:.1} | **{}** ({}–{}) | {:.0} | **{}** ({}–{}) | {:.0} | {:.0} |",
                w.name,
                w.commands,
                w.avg_tokens,
                w.avg_matches,
                w.avg_candidates,
                fmt_rate(w.check.per_sec),
                fmt_rate(w.check.min_per_sec),
                fmt_rate(w.check.max_per_sec),
                1e9 / w.check.per_sec,
                fmt_rate(w.check_json.per_sec),
                fmt_rate(w.check_json.min_per_sec),
                fmt_rate(w.check_json.max_per_sec),
                1e9 / w.check_json.per_sec,
                w.avg_json_bytes
            );
        }
        let _ = writeln!(
            s,
            "\n| one-off / per invocation (same rules) | n | first ms | p50 ms | p99 ms | max ms | output = in-process JSON | note |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|---|");
        for o in &c.one_offs {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | **{:.2}** | {:.2} | {:.2} | {} | {} |",
                o.name,
                o.latency.n + 1,
                o.first_ms,
                o.latency.p50_ms,
                o.latency.p99_ms,
                o.latency.max_ms,
                o.identical
                    .map(|i| format!("{i}/{}", o.latency.n + 1))
                    .unwrap_or_else(|| "–".into()),
                o.note
            );
        }
        for k in &c.skipped {
            let _ = writeln!(s, "\nSkipped: {k}");
        }
        let _ = writeln!(
            s,
            "\n.rules file {} bytes, requirements.toml {} bytes. Peak RSS of steward-bench after this part: {:.1} MiB.\n",
            c.rules_file_bytes, c.requirements_bytes, c.peak_rss_mib
        );
    }
    if !r.lookups.is_empty() {
        let _ = writeln!(
            s,
            "### Policy lookup latency (sequential calls, random users, warm)\n"
        );
        let _ = writeln!(s, "| backend | dataset | call | n | p50 ms | p99 ms | max ms |");
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|");
        for l in &r.lookups {
            let p = &l.populate;
            let dataset = format!(
                "{} users ({} in no group), {} groups, {} memberships; {} rules + default, {} policies",
                p.users, p.users_without_group, p.groups, p.memberships, l.assignment_rules, l.policies
            );
            for (name, lat) in [
                ("`PolicyService::lookup(Email)`", &l.lookup),
                ("`PolicyService::effective_for_user`", &l.effective),
            ] {
                let _ = writeln!(
                    s,
                    "| {} | {dataset} | {name} | {} | **{:.2}** | **{:.2}** | {:.2} |",
                    l.backend, lat.n, lat.p50_ms, lat.p99_ms, lat.max_ms
                );
            }
            for c in &l.calls {
                let _ = writeln!(
                    s,
                    "| {} | | `Store::{}` (calls per lookup / effective: {}) | {} | {:.3} | {:.3} | {:.3} |",
                    l.backend,
                    c.name,
                    c.per_lookup,
                    c.latency.n,
                    c.latency.p50_ms,
                    c.latency.p99_ms,
                    c.latency.max_ms
                );
            }
        }
        for l in &r.lookups {
            let p = &l.populate;
            let _ = writeln!(
                s,
                "\n{}: {:.0}% of lookups matched by a rule (the rest: the default), {:.1} rules evaluated per lookup on average; \
                 `set_assignment` {:.0} ms, dry run of the reversed rule order {:.0} ms (both list every user and membership). \
                 Population through the Store trait, one call at a time: create_group {:.0}/s, upsert_user {:.0}/s, set_group_member {:.0}/s, \
                 so the whole dataset would take {:.0} s; {}. Checks {}: {}. Peak RSS of steward-bench {:.1} MiB.",
                l.backend,
                100.0 * l.matched_by_rule,
                l.avg_rules_evaluated,
                l.set_assignment_ms,
                l.set_assignment_dry_run_ms,
                p.create_group_per_sec,
                p.upsert_user_per_sec,
                p.set_group_member_per_sec,
                p.projected_store_secs,
                if p.sql_users > 0 {
                    format!(
                        "{} users and {} memberships went through the Store trait, the other {} users and {} memberships were inserted with SQL in one transaction ({:.1} s)",
                        p.store_users, p.store_memberships, p.sql_users, p.sql_memberships, p.sql_secs
                    )
                } else {
                    format!("all of it went through the Store trait ({:.0} s)", p.total_secs)
                },
                if l.checks_ok { "OK" } else { "FAILED" },
                l.checks.join("; "),
                l.peak_rss_mib
            );
        }
        let _ = writeln!(s);
    }
    if !r.concurrent_builds.is_empty() {
        let _ = writeln!(s, "Concurrent builds seen: {}.\n", r.concurrent_builds.join(" "));
    }
    s
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
