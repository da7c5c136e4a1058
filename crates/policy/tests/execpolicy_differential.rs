//! Differential test: Steward's exec-policy evaluation and `.rules` reader against the real
//! `codex execpolicy check` (Codex 0.169.0).
//!
//! Seeded pseudo-random rule sets (alternatives, also in first position; overlapping prefixes;
//! duplicate rules; all decisions; odd tokens) are written with Steward's writer, and every
//! command's JSON from the CLI must equal Steward's byte for byte. Hand-written files check that
//! the reader accepts and rejects what the CLI does. The CLI must be installed
//! (`scripts/install-test-deps`); a missing binary fails the test rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use steward_policy::execpolicy::{
    parse_rules, write_rules, Decision, PatternToken, Policy, PrefixRule, ReadErrorKind,
};
use steward_test_support::codex::codex_bin;
use tempfile::TempDir;

/// Rule sets generated; each is checked against [`COMMANDS_PER_SET`] commands.
const RULE_SETS: usize = 48;
const COMMANDS_PER_SET: usize = 14;
/// Every this-many commands is also compared with `--pretty`.
const PRETTY_EVERY: usize = 5;

/// xorshift64*: deterministic, dependency-free, good enough to spread cases around.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Few programs so rules collide on the first token.
const PROGRAMS: &[&str] = &["git", "npm", "rm", "ls", "/usr/bin/git", ""];
/// Argument tokens, deliberately including the awkward ones: empty, spaces, quotes, escapes,
/// control characters, non-ASCII, shell metacharacters.
const ARGS: &[&str] = &[
    "push",
    "status",
    "origin",
    "-f",
    "--force",
    "",
    "a b",
    "quo\"te",
    "it's",
    "back\\slash",
    "\\d",
    "ünï",
    "日本",
    "😀",
    "tab\there",
    "new\nline",
    "cr\rx",
    "ctl\u{1}",
    "del\u{7f}",
    "#hash",
    "$HOME",
    "\u{2028}",
    "x",
];
const JUSTIFICATIONS: &[&str] = &[
    "needs review",
    "no force pushes",
    " padded ",
    "quote \" and backslash \\",
    "multi\nline",
    "ünïcödé 😀",
    "tab\tand\rcr",
];

fn pattern_token(rng: &mut Rng, pool: &[&str]) -> PatternToken {
    if rng.chance(30) {
        // Two or three alternatives, sometimes with a duplicate, rarely just one.
        let count = 1 + rng.below(3);
        let mut alternatives: Vec<String> = (0..count).map(|_| rng.pick(pool).to_string()).collect();
        if rng.chance(15) {
            alternatives.push(alternatives[0].clone());
        }
        PatternToken::AnyOf(alternatives)
    } else {
        PatternToken::Exact(rng.pick(pool).to_string())
    }
}

fn rule_set(rng: &mut Rng) -> Vec<PrefixRule> {
    let count = 1 + rng.below(10);
    let mut rules: Vec<PrefixRule> = Vec::with_capacity(count);
    for _ in 0..count {
        if !rules.is_empty() && rng.chance(12) {
            let duplicate = rules[rng.below(rules.len())].clone();
            rules.push(duplicate);
            continue;
        }
        let len = 1 + rng.below(4);
        let mut pattern = vec![pattern_token(rng, PROGRAMS)];
        pattern.extend((1..len).map(|_| pattern_token(rng, ARGS)));
        let decision = match rng.below(3) {
            0 => Decision::Allow,
            1 => Decision::Prompt,
            _ => Decision::Forbidden,
        };
        let justification = rng.chance(50).then(|| rng.pick(JUSTIFICATIONS).to_string());
        rules.push(PrefixRule {
            pattern,
            decision,
            justification,
            reviewer: None,
        });
    }
    rules
}

/// Commands that mostly hit some rule, then get truncated, extended or perturbed.
fn command(rng: &mut Rng, rules: &[PrefixRule]) -> Vec<String> {
    let mut argv: Vec<String> = if rng.chance(80) {
        let rule = &rules[rng.below(rules.len())];
        rule.pattern
            .iter()
            .map(|token| {
                let alternatives = token.alternatives();
                alternatives[rng.below(alternatives.len())].clone()
            })
            .collect()
    } else {
        (0..1 + rng.below(4))
            .map(|i| rng.pick(if i == 0 { PROGRAMS } else { ARGS }).to_string())
            .collect()
    };
    match rng.below(6) {
        0 if argv.len() > 1 => argv.truncate(1 + rng.below(argv.len() - 1)),
        1 | 2 => argv.extend((0..1 + rng.below(3)).map(|_| rng.pick(ARGS).to_string())),
        3 => {
            let at = rng.below(argv.len());
            argv[at] = rng.pick(ARGS).to_string();
        }
        _ => {}
    }
    argv
}

/// The CLI, run with a private `CODEX_HOME` so it touches nothing of the user's.
struct Cli {
    bin: PathBuf,
    home: TempDir,
}

impl Cli {
    fn new() -> Result<Self> {
        Ok(Cli {
            bin: codex_bin()?,
            home: TempDir::new()?,
        })
    }

    fn check(&self, rules: &Path, argv: &[String], pretty: bool) -> Result<Output> {
        let mut command = Command::new(&self.bin);
        command
            .env("CODEX_HOME", self.home.path())
            .args(["execpolicy", "check", "--rules"])
            .arg(rules);
        if pretty {
            command.arg("--pretty");
        }
        command
            .arg("--")
            .args(argv)
            .output()
            .with_context(|| format!("running {}", self.bin.display()))
    }
}

struct Case {
    rules_path: PathBuf,
    rules_text: String,
    policy: Policy,
    commands: Vec<Vec<String>>,
}

#[test]
fn check_output_matches_codex_byte_for_byte() -> Result<()> {
    let cli = Cli::new()?;
    let dir = TempDir::new()?;
    let mut rng = Rng(0x5EED_0169_0000_0001);
    let mut cases = Vec::new();
    for set in 0..RULE_SETS {
        let rules = rule_set(&mut rng);
        let rules_text = write_rules(&rules)?;
        let rules_path = dir.path().join(format!("set{set}.rules"));
        std::fs::write(&rules_path, &rules_text)?;

        // The reader must give back what the writer wrote (modulo Codex's normalisation of
        // one-element alternatives).
        let reread =
            parse_rules(&rules_text).with_context(|| format!("re-reading written rules:\n{rules_text}"))?;
        assert_eq!(reread, normalised(&rules), "round trip of\n{rules_text}");

        let commands = (0..COMMANDS_PER_SET).map(|_| command(&mut rng, &rules)).collect();
        cases.push(Case {
            rules_path,
            rules_text,
            policy: Policy::new(rules),
            commands,
        });
    }

    let jobs: Vec<(usize, usize)> = (0..cases.len())
        .flat_map(|set| (0..COMMANDS_PER_SET).map(move |cmd| (set, cmd)))
        .collect();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let matched = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get() * 2);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(set, cmd)) = jobs.get(job) else {
                    break;
                };
                let case = &cases[set];
                let argv = &case.commands[cmd];
                let evaluation = case.policy.check(argv);
                if evaluation.is_match() {
                    matched.fetch_add(1, Ordering::Relaxed);
                }
                let mut outputs = vec![(false, evaluation.to_json())];
                if job.is_multiple_of(PRETTY_EVERY) {
                    outputs.push((true, evaluation.to_json_pretty()));
                }
                for (pretty, ours) in outputs {
                    if let Err(failure) = compare(&cli, case, argv, pretty, &ours) {
                        failures.lock().unwrap().push(failure);
                    }
                }
            });
        }
    });

    let failures = failures.into_inner().unwrap();
    let total = jobs.len();
    let matched = matched.into_inner();
    eprintln!("{total} commands over {RULE_SETS} rule sets; {matched} matched at least one rule");
    assert!(
        failures.is_empty(),
        "{} of {total} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guard against a generator that only produces trivial cases.
    assert!(
        matched > total / 3 && matched < total,
        "matched {matched} of {total}"
    );
    Ok(())
}

fn compare(cli: &Cli, case: &Case, argv: &[String], pretty: bool, ours: &str) -> Result<(), String> {
    let describe = |problem: String| {
        format!(
            "--- {problem}\nrules file {}:\n{}argv: {argv:?} (pretty: {pretty})\nsteward: {ours}",
            case.rules_path.display(),
            case.rules_text
        )
    };
    let output = cli
        .check(&case.rules_path, argv, pretty)
        .map_err(|e| describe(format!("{e:#}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(describe(format!(
            "codex exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    if stdout != format!("{ours}\n") {
        return Err(describe(format!("codex printed: {stdout}")));
    }
    Ok(())
}

/// What Codex (and Steward's reader) make of a rule: one-element alternatives become exact.
fn normalised(rules: &[PrefixRule]) -> Vec<PrefixRule> {
    rules
        .iter()
        .map(|rule| PrefixRule {
            pattern: rule
                .pattern
                .iter()
                .map(|token| match token {
                    PatternToken::AnyOf(alternatives) if alternatives.len() == 1 => {
                        PatternToken::Exact(alternatives[0].clone())
                    }
                    other => other.clone(),
                })
                .collect(),
            ..rule.clone()
        })
        .collect()
}

/// Hand-written files the CLI loads; Steward must load them too and agree on every command.
const ACCEPTED: &[(&str, &str, &[&[&str]])] = &[
    (
        "comments, layout, trailing commas",
        r#"# Steward test policy
prefix_rule(
    pattern = [
        "git",   # the program
        ["push", "fetch",],
    ],
    decision = "prompt" ,
    justification = "talks to remotes",
)  # trailing comment

   # indented comment line

prefix_rule(pattern=["git", "push", "--force"], decision="forbidden")
prefix_rule(pattern=[["rm", "rmdir"]], decision="forbidden", justification='deletes')
prefix_rule(["ls"]); prefix_rule(pattern=["ls"], decision="allow",);
"#,
        &[
            &["git", "push", "--force"],
            &["git", "fetch"],
            &["rmdir", "x"],
            &["ls", "-l"],
            &["git"],
        ],
    ),
    (
        "string forms and escapes",
        "prefix_rule(pattern=['a', \"b\", r'\\x', r\"r\\\"q\", \"\"\"tri\"ple\"\"\", '''t2'''])\n\
         prefix_rule(pattern=[\"e\", \"\\x41\\101\\u00e9\\U0001F600\", \"\\d\\q\", \"\\\"\\'\\\\\", \"\\a\\b\\f\\v\\t\\n\\r\"])\n\
         prefix_rule(pattern=[\"c\", \"con\\\ntinued\", \"\\377\"], justification=\"j\")\n\
         prefix_rule(pattern=[\"crlf\"], decision=\"prompt\")\r\n\
         prefix_rule(pattern=[\"u\", \"ü 日本 😀\"])\n",
        &[
            &["a", "b", "\\x", "r\"q", "tri\"ple", "t2"],
            &["e", "AAé😀", "\\d\\q", "\"'\\", "\u{7}\u{8}\u{c}\u{b}\t\n\r"],
            &["c", "continued", "ÿ"],
            &["crlf"],
            &["u", "ü 日本 😀", "tail"],
        ],
    ),
    (
        "positional arguments",
        r#"prefix_rule(["git", "push"], "prompt", ["git push"], ["git pull"], "why")
prefix_rule(["npm"], "forbidden")
"#,
        &[&["git", "push"], &["npm", "i"], &["git", "pull"]],
    ),
    (
        "match and not_match examples",
        r#"prefix_rule(
    pattern=["git", ["push", "fetch"]],
    decision="prompt",
    match=["git push origin", ["git", "fetch"], "/usr/bin/git push", "git 'push' x", "git push # comment"],
    not_match=["git pull", "gitx push", "git", ["git", "Push"], "git \"push x\""],
)
prefix_rule(pattern=["echo", "a b"], match=["echo 'a b'", "echo a\\ b", "echo \"a b\" c"], not_match=["echo a b"])
"#,
        &[&["git", "push"], &["/usr/bin/git", "push"], &["echo", "a b"]],
    ),
    ("empty file", "", &[&["git"]]),
    ("only comments", "# nothing here\n\n  # still nothing", &[&["git"]]),
];

/// Hand-written files the CLI refuses to load; Steward must refuse them too.
const REJECTED: &[(&str, &str)] = &[
    (
        "match example not matching",
        "prefix_rule(pattern=[\"git\", \"x\"], match=[\"git\"])",
    ),
    (
        "match example of another rule",
        "prefix_rule(pattern=[\"git\"])\nprefix_rule(pattern=[\"hg\"], match=[\"git\"])",
    ),
    (
        "not_match example matching",
        "prefix_rule(pattern=[\"git\"], not_match=[\"git x\"])",
    ),
    (
        "not_match via basename",
        "prefix_rule(pattern=[\"git\"], not_match=[\"/bin/git\"])",
    ),
    (
        "unbalanced quote in example",
        "prefix_rule(pattern=[\"git\"], match=[\"git \\\"x\"])",
    ),
    ("empty example", "prefix_rule(pattern=[\"git\"], match=[\"\"])"),
    (
        "comment-only example",
        "prefix_rule(pattern=[\"git\"], match=[\"#git\"])",
    ),
    (
        "empty list example",
        "prefix_rule(pattern=[\"git\"], not_match=[[]])",
    ),
    (
        "example as string",
        "prefix_rule(pattern=[\"git\"], match=\"git\")",
    ),
    (
        "invalid decision",
        "prefix_rule(pattern=[\"git\"], decision=\"deny\")",
    ),
    (
        "capitalised decision",
        "prefix_rule(pattern=[\"git\"], decision=\"Allow\")",
    ),
    (
        "blank justification",
        "prefix_rule(pattern=[\"git\"], justification=\"  \")",
    ),
    ("empty pattern", "prefix_rule(pattern=[])"),
    ("empty alternatives", "prefix_rule(pattern=[\"git\", []])"),
    ("nested alternatives", "prefix_rule(pattern=[\"git\", [[\"a\"]]])"),
    ("pattern as string", "prefix_rule(pattern=\"git\")"),
    ("missing pattern", "prefix_rule(decision=\"allow\")"),
    (
        "reviewer",
        "prefix_rule(pattern=[\"git\"], decision=\"prompt\", reviewer=\"user\")",
    ),
    ("unknown argument", "prefix_rule(pattern=[\"git\"], foo=\"x\")"),
    (
        "repeated argument",
        "prefix_rule(pattern=[\"a\"], pattern=[\"b\"])",
    ),
    ("positional and keyword", "prefix_rule([\"a\"], pattern=[\"b\"])"),
    (
        "positional after keyword",
        "prefix_rule(pattern=[\"a\"], \"prompt\")",
    ),
    (
        "too many positional",
        "prefix_rule([\"a\"], \"allow\", [], [], \"j\", \"x\")",
    ),
    ("tab", "prefix_rule(pattern=[\"a\"],\tdecision=\"allow\")"),
    ("indented statement", "  prefix_rule(pattern=[\"a\"])"),
    ("unfinished string", "prefix_rule(pattern=[\"a])"),
    ("newline in string", "prefix_rule(pattern=[\"a\nb\"])"),
    ("short hex escape", "prefix_rule(pattern=[\"\\x4\"])"),
    ("surrogate escape", "prefix_rule(pattern=[\"\\ud800\"])"),
    ("tuple pattern", "prefix_rule(pattern=(\"a\",))"),
    ("integer token", "prefix_rule(pattern=[\"a\", 1])"),
    (
        "None justification",
        "prefix_rule(pattern=[\"a\"], justification=None)",
    ),
    ("lone semicolon", ";"),
    ("double semicolon", "prefix_rule(pattern=[\"a\"]);;"),
    (
        "two calls on one line",
        "prefix_rule(pattern=[\"a\"]) prefix_rule(pattern=[\"b\"])",
    ),
    ("unclosed call", "prefix_rule(pattern=[\"a\"]"),
    ("unknown function", "prefx_rule(pattern=[\"a\"])"),
];

/// Valid Starlark the CLI accepts but Steward's subset reader deliberately does not.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("variable", "GIT = \"git\"\nprefix_rule(pattern=[GIT])"),
    ("concatenation", "prefix_rule(pattern=[\"g\" + \"it\"])"),
    (
        "network_rule",
        "network_rule(host=\"example.com\", protocol=\"https\", decision=\"allow\")",
    ),
    (
        "host_executable",
        "host_executable(name=\"git\", paths=[\"/usr/bin/git\"])",
    ),
];

fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{}.rules", name.replace([' ', ','], "_")));
    std::fs::write(&path, text)?;
    Ok(path)
}

#[test]
fn hand_written_files_load_and_evaluate_like_codex() -> Result<()> {
    let cli = Cli::new()?;
    let dir = TempDir::new()?;
    for (name, text, commands) in ACCEPTED {
        let path = write_file(dir.path(), name, text)?;
        let rules = parse_rules(text).with_context(|| format!("{name}: steward rejected"))?;
        let policy = Policy::new(rules);
        for argv in *commands {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            let output = cli.check(&path, &argv, false)?;
            if !output.status.success() {
                bail!(
                    "{name}: codex rejected: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let ours = policy.check(&argv).to_json();
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                format!("{ours}\n"),
                "{name}: argv {argv:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn files_codex_rejects_are_rejected() -> Result<()> {
    let cli = Cli::new()?;
    let dir = TempDir::new()?;
    let argv = ["a".to_string()];
    for (name, text) in REJECTED {
        let path = write_file(dir.path(), name, text)?;
        let output = cli.check(&path, &argv, false)?;
        assert!(
            !output.status.success(),
            "{name}: codex accepted it, the test is wrong"
        );
        assert_eq!(output.status.code(), Some(1), "{name}: codex exit code");
        assert!(output.stdout.is_empty(), "{name}: codex printed to stdout");
        if let Ok(rules) = parse_rules(text) {
            panic!("{name}: steward accepted {rules:?}");
        }
    }
    for (name, text) in UNSUPPORTED {
        let path = write_file(dir.path(), name, text)?;
        let output = cli.check(&path, &argv, false)?;
        assert!(output.status.success(), "{name}: codex rejected it");
        match parse_rules(text) {
            Err(e) if matches!(e.kind, ReadErrorKind::Unsupported(_)) => {}
            other => panic!("{name}: expected Unsupported, got {other:?}"),
        }
    }
    Ok(())
}

/// `codex execpolicy check` needs at least one command token; Steward's empty argv simply
/// matches nothing.
#[test]
fn empty_argv_matches_nothing() -> Result<()> {
    let cli = Cli::new()?;
    let dir = TempDir::new()?;
    let path = write_file(dir.path(), "empty_argv", "prefix_rule(pattern=[\"\"])\n")?;
    let output = cli.check(&path, &[], false)?;
    assert_eq!(output.status.code(), Some(2), "clap usage error");
    let policy = Policy::new(parse_rules("prefix_rule(pattern=[\"\"])\n")?);
    assert_eq!(policy.check(&[]).to_json(), r#"{"matchedRules":[]}"#);
    Ok(())
}
