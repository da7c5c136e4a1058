//! `steward policy check-command` (the binary, not just the library) prints exactly what the
//! real `codex execpolicy check` 0.169.0 prints, for generated rule sets written as `.rules`
//! files and for the same rules given as a requirements.toml (`--file`), compact and `--pretty`.
//! The library-level differential test (crates/policy/tests/execpolicy_differential.rs) covers
//! hundreds more cases; this one pins the CLI's own output path.

use std::path::Path;
use std::process::Command;

use steward_policy::execpolicy::{write_rules, Decision, PatternToken, PrefixRule};
use steward_policy::requirements::write_prefix_rules;
use steward_test_support::codex::codex_bin;

const STEWARD: &str = env!("CARGO_BIN_EXE_steward");

/// Deterministic xorshift, so a failure names a reproducible case.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const PROGRAMS: &[&str] = &["git", "npm", "rm", "curl"];
const ARGS: &[&str] = &[
    "push", "pull", "-rf", "install", "origin", "main", "--force", "x y",
];

/// Rules that requirements.toml can also express: prompt or forbidden (admins can only tighten).
fn rule_set(rng: &mut Rng) -> Vec<PrefixRule> {
    (0..(3 + rng.next() % 5))
        .map(|_| {
            let mut pattern = vec![PatternToken::Exact(rng.pick(PROGRAMS).to_owned())];
            for _ in 0..(rng.next() % 3) {
                pattern.push(if rng.next().is_multiple_of(3) {
                    PatternToken::AnyOf(vec![rng.pick(ARGS).to_owned(), rng.pick(ARGS).to_owned()])
                } else {
                    PatternToken::Exact(rng.pick(ARGS).to_owned())
                });
            }
            let decision = if rng.next().is_multiple_of(2) {
                Decision::Prompt
            } else {
                Decision::Forbidden
            };
            let justification =
                (rng.next().is_multiple_of(2)).then(|| format!("reason {}", rng.next() % 100));
            PrefixRule {
                pattern,
                decision,
                justification,
                reviewer: None,
            }
        })
        .collect()
}

fn run(program: &Path, args: &[&str], home: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(program)
        .env("CODEX_HOME", home)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn steward_check_command_prints_what_codex_execpolicy_check_prints() {
    let codex = codex_bin().expect("the pinned Codex CLI (scripts/install-test-deps)");
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("codex-home");
    std::fs::create_dir_all(&home).expect("codex home");
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut compared = 0;
    for set in 0..12 {
        let rules = rule_set(&mut rng);
        let rules_file = dir.path().join(format!("set{set}.rules"));
        std::fs::write(&rules_file, write_rules(&rules).expect("writable rules")).expect("write");
        let req_file = dir.path().join(format!("set{set}.toml"));
        std::fs::write(&req_file, write_prefix_rules(&rules).expect("no allow rules")).expect("write");
        for _ in 0..5 {
            let mut argv = vec![rng.pick(PROGRAMS)];
            for _ in 0..(rng.next() % 4) {
                argv.push(rng.pick(ARGS));
            }
            let pretty = rng.next().is_multiple_of(3);
            let flag: &[&str] = if pretty { &["--pretty"] } else { &[] };
            let rules_path = rules_file.to_str().expect("utf-8 path");
            let mut codex_args = vec!["execpolicy", "check", "--rules", rules_path];
            codex_args.extend(flag);
            codex_args.push("--");
            codex_args.extend(&argv);
            let want = run(&codex, &codex_args, &home);
            assert_eq!(want.0, Some(0), "codex failed on {rules_path}: {}", want.2);
            for source in [
                ["--rules", rules_path],
                ["--file", req_file.to_str().expect("utf-8")],
            ] {
                let mut args = vec!["policy", "check-command", source[0], source[1]];
                args.extend(flag);
                args.push("--");
                args.extend(&argv);
                let got = run(Path::new(STEWARD), &args, &home);
                assert_eq!(
                    (got.0, &got.1),
                    (want.0, &want.1),
                    "steward {args:?} differs from codex {codex_args:?}\nrules:\n{}\nsteward stderr: {}",
                    std::fs::read_to_string(&rules_file).unwrap_or_default(),
                    got.2
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 120);
}
