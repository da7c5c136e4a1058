//! The generated workload: 1,000 prefix rules over ~200 programs, commands that hit them, and
//! the same rules as a requirements.toml.

use super::*;

// ---------------------------------------------------------------------------------------------
// Deterministic generator

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `p` (0..=1).
    pub(super) fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub(super) fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

/// Real program names, most common first (the first ones get the most rules).
pub(super) const PROGRAMS: &[&str] = &[
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

pub(super) const SUBCOMMANDS: &[&str] = &[
    "install", "run", "test", "build", "push", "pull", "deploy", "delete", "apply", "exec", "publish",
    "status", "log", "diff", "commit", "checkout", "reset", "rebase", "merge", "clean", "update", "upgrade",
    "remove", "add", "init", "login", "logout", "config", "get", "set", "create", "destroy", "start", "stop",
    "restart", "rollout", "scale", "describe", "logs", "release", "fetch", "clone", "tag", "branch", "stash",
    "format", "lint", "check", "audit", "migrate", "seed", "dump", "restore",
];

pub(super) const ARGS: &[&str] = &[
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

pub(super) const JUSTIFICATIONS: &[&str] = &[
    "destructive: ask first",
    "touches shared infrastructure; use the deploy pipeline instead",
    "rewrites published history",
    "network access outside the sandbox",
    "installs software on the host",
    "reads secrets",
    "safe and frequent",
];

/// `n` distinct program names: the real ones, then `internal-tool-NNN`.
pub(super) fn program_names(n: usize) -> Vec<String> {
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

pub(super) fn token(rng: &mut Rng, words: &[&str], alt_p: f64) -> PatternToken {
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
pub(super) fn generate_rules(total: usize, programs: &[String], rng: &mut Rng) -> Vec<PrefixRule> {
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
pub(super) fn command_from(rule: &PrefixRule, extra: usize, rng: &mut Rng) -> Vec<String> {
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
pub(super) fn requirements_toml(rules: &[PrefixRule]) -> String {
    let tightened: Vec<PrefixRule> = rules
        .iter()
        .map(|r| PrefixRule {
            decision: r.decision.max(Decision::Prompt),
            ..r.clone()
        })
        .collect();
    let table = write_prefix_rules(&tightened).unwrap_or_default();
    format!(
        "allowed_approval_policies = [\"untrusted\", \"on-request\"]\n\
         allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n\n{table}"
    )
}
