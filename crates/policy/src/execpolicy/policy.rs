//! A set of prefix rules indexed by program, checked as Codex 0.169.0 checks a command.

use std::collections::HashMap;
use std::path::Path;

use super::evaluation::{Evaluation, RuleMatch};
use super::rule::PrefixRule;

/// Prefix rules, indexed by first token.
///
/// Codex keeps rules in a multimap keyed by the program name, expanding a rule whose first
/// position has alternatives into one entry per alternative (duplicates included). A check only
/// looks at the entries for `argv[0]`, in insertion order, which is what fixes the order of
/// `matchedRules` in `codex execpolicy check`: file order among the rules for that program.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    rules: Vec<PrefixRule>,
    /// First token -> indices into `rules`. A rule listed twice under one token (e.g. pattern
    /// `[["git", "git"]]`) is reported twice, as Codex does.
    by_program: HashMap<String, Vec<usize>>,
}

impl Policy {
    /// Builds a policy from rules in priority-free order (the order only affects how matches are
    /// listed). A rule with an empty pattern can never match: Codex refuses to load one, and
    /// Steward's readers reject it before it gets here.
    pub fn new(rules: impl IntoIterator<Item = PrefixRule>) -> Self {
        let mut policy = Policy::default();
        policy.extend(rules);
        policy
    }

    /// Appends one rule after all existing ones, like a later `prefix_rule(...)` call or a
    /// requirements overlay (`merge_overlay` appends per program).
    pub fn push(&mut self, rule: PrefixRule) {
        let index = self.rules.len();
        if let Some(first) = rule.pattern.first() {
            for program in first.alternatives() {
                self.by_program.entry(program.clone()).or_default().push(index);
            }
        }
        self.rules.push(rule);
    }

    /// The rules, in the order they were added (unexpanded).
    pub fn rules(&self) -> &[PrefixRule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Evaluates `argv` as `codex execpolicy check --rules ... -- argv` does: every rule indexed
    /// under `argv[0]` whose remaining positions match, then the strictest decision.
    ///
    /// Cost: one hash lookup plus a token comparison per candidate rule; the only allocation is
    /// the match list, and only when something matches.
    pub fn check<'a>(&'a self, argv: &'a [String]) -> Evaluation<'a> {
        let Some(program) = argv.first() else {
            return Evaluation::from_matches(Vec::new());
        };
        Evaluation::from_matches(self.matches_for(program, argv))
    }

    /// Matches of the rules indexed under `program`, comparing positions 1.. with `argv[1..]`.
    /// `program` stands in for `argv[0]`, so a resolved basename can be checked without
    /// rebuilding argv.
    fn matches_for<'a>(&'a self, program: &str, argv: &'a [String]) -> Vec<RuleMatch<'a>> {
        let Some(indices) = self.by_program.get(program) else {
            return Vec::new();
        };
        indices
            .iter()
            .filter_map(|&index| {
                let rule = &self.rules[index];
                let len = rule.pattern.len();
                let rest_matches = argv.len() >= len
                    && rule.pattern[1..]
                        .iter()
                        .zip(&argv[1..len])
                        .all(|(token, arg)| token.matches(arg));
                rest_matches.then(|| RuleMatch::PrefixRuleMatch {
                    matched_prefix: &argv[..len],
                    decision: rule.decision,
                    justification: rule.justification.as_deref(),
                    reviewer: rule.reviewer,
                })
            })
            .collect()
    }

    /// Whether any rule matches `argv`, also trying the basename of a path-like `argv[0]` when
    /// nothing matches exactly.
    ///
    /// Codex validates `match` / `not_match` examples with host-executable resolution on, so
    /// the example `"/usr/bin/git status"` satisfies `pattern=["git"]`. Steward's reader does
    /// not support `host_executable()`, so no path allowlist restricts the resolution.
    pub(crate) fn matches_resolving_basename(&self, argv: &[String]) -> bool {
        let Some(program) = argv.first() else {
            return false;
        };
        if !self.matches_for(program, argv).is_empty() {
            return true;
        }
        Path::new(program)
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|basename| !self.matches_for(basename, argv).is_empty())
    }
}

impl Extend<PrefixRule> for Policy {
    fn extend<I: IntoIterator<Item = PrefixRule>>(&mut self, rules: I) {
        for rule in rules {
            self.push(rule);
        }
    }
}

impl FromIterator<PrefixRule> for Policy {
    fn from_iter<I: IntoIterator<Item = PrefixRule>>(rules: I) -> Self {
        Policy::new(rules)
    }
}
