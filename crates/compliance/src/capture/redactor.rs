//! The redaction engine: a list of rules in priority order, applied in one combined pass.
//!
//! A [`RegexSet`] scan tells which rules occur at all (for most content: none, and that scan is
//! the only work done). Only those rules then locate their matches, in priority order; a match
//! overlapping one already accepted is skipped, so a GitHub token inside `GITHUB_TOKEN=...` is
//! reported as `github_token`, not as a generic assignment. Markers are written in one final pass.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use regex::{Regex, RegexSet};

/// Replacement counts per kind; kinds borrow from the rules.
pub(crate) type Counts<'r> = BTreeMap<&'r str, u32>;

/// Returns true to skip a candidate span (`haystack[span]` is the text that would be redacted).
pub(crate) type RejectFn = fn(haystack: &str, span: Range<usize>) -> bool;

pub(crate) fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

pub(crate) fn bump<'r>(counts: &mut Counts<'r>, kind: &'r str) {
    let count = counts.entry(kind).or_default();
    *count = count.saturating_add(1);
}

#[derive(Clone)]
pub(crate) struct Rule {
    pub kind: String,
    regex: Regex,
    reject: Option<RejectFn>,
    /// Indices of capture groups named `secret*`; empty means the whole match is redacted.
    secret_groups: Vec<usize>,
}

impl Rule {
    pub fn new(kind: String, regex: Regex, reject: Option<RejectFn>) -> Self {
        let secret_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
            .map(|(i, _)| i)
            .collect();
        Self {
            kind,
            regex,
            reject,
            secret_groups,
        }
    }

    /// Calls `f` with every candidate span (non-empty, not rejected), left to right.
    fn spans(&self, text: &str, mut f: impl FnMut(Range<usize>)) {
        let keep = |span: &Range<usize>| {
            !span.is_empty() && !self.reject.is_some_and(|reject| reject(text, span.clone()))
        };
        if self.secret_groups.is_empty() {
            self.regex
                .find_iter(text)
                .map(|m| m.range())
                .filter(keep)
                .for_each(&mut f);
        } else {
            for caps in self.regex.captures_iter(text) {
                let group = self.secret_groups.iter().find_map(|&i| caps.get(i));
                if let Some(span) = group.map(|m| m.range()).filter(keep) {
                    f(span);
                }
            }
        }
    }
}

#[derive(Clone)]
pub(crate) struct Redactor {
    set: RegexSet,
    rules: Vec<Rule>,
}

impl Redactor {
    pub fn new(rules: Vec<Rule>) -> Result<Self, regex::Error> {
        let set = RegexSet::new(rules.iter().map(|r| r.regex.as_str()))?;
        Ok(Self { set, rules })
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.kind.as_str())
    }

    /// Redacts `text`, adding to `counts`; borrows `text` when nothing matched.
    pub fn redact<'a, 'r>(&'r self, text: &'a str, counts: &mut Counts<'r>) -> Cow<'a, str> {
        if self.rules.is_empty() {
            return Cow::Borrowed(text);
        }
        // Accepted spans by start: start -> (end, rule index). Never overlapping.
        let mut accepted: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        for idx in self.set.matches(text).iter() {
            self.rules[idx].spans(text, |span| {
                // Spans are disjoint, so only the last one starting before `span.end` can overlap.
                let overlaps = accepted
                    .range(..span.end)
                    .next_back()
                    .is_some_and(|(_, &(end, _))| end > span.start);
                if !overlaps {
                    accepted.insert(span.start, (span.end, idx));
                }
            });
        }
        if accepted.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, (end, idx)) in accepted {
            let kind = self.rules[idx].kind.as_str();
            out.push_str(&text[last..start]);
            out.push_str(&marker(kind));
            bump(counts, kind);
            last = end;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }
}
