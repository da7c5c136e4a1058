//! Parse problems: counted by kind, a few kept as examples with their file and line, and never
//! a reason to stop reading the rest of a file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Bytes that are not UTF-8 (binary garbage).
    NotUtf8,
    /// Not JSON at all.
    MalformedJson,
    /// JSON that ends early: a line cut off (a crash mid-write, or a partial copy).
    Truncated,
    /// JSON, but not an object with a string `type` (an array, a number, ...).
    NotAnObject,
    /// A field Steward needs is absent (`type`, `session_meta.id`, ...).
    MissingField,
    /// A field Steward needs has the wrong type or value (named in the detail).
    BadField,
    /// Usage before any `session_meta`: counted, attributed to the file's name.
    NoSessionMeta,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::NotUtf8 => "not_utf8",
            ProblemKind::MalformedJson => "malformed_json",
            ProblemKind::Truncated => "truncated",
            ProblemKind::NotAnObject => "not_an_object",
            ProblemKind::MissingField => "missing_field",
            ProblemKind::BadField => "bad_field",
            ProblemKind::NoSessionMeta => "no_session_meta",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        let mut detail = detail.into();
        if detail.len() > 300 {
            let mut cut = 300;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
            detail.push('…');
        }
        Problem { kind, detail }
    }
}

/// One example problem with where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemExample {
    pub file: String,
    /// 1-based line number in the file.
    pub line: u64,
    pub kind: ProblemKind,
    pub detail: String,
}

/// How many examples a report keeps (the counts are always complete), and of one kind: a file
/// of binary noise must not crowd out the one line with a bad token figure.
pub const MAX_EXAMPLES: usize = 20;
pub const MAX_EXAMPLES_PER_KIND: usize = 3;

/// Problems and unknown line types of a scan, mergeable across files and threads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub lines: u64,
    pub problems: BTreeMap<ProblemKind, u64>,
    /// Line types (and `event_msg.*` types) never seen before: kept, counted, not usage.
    pub unknown_types: BTreeMap<String, u64>,
    pub examples: Vec<ProblemExample>,
}

impl Tally {
    pub fn problem(&mut self, file: &str, line: u64, p: Problem) {
        *self.problems.entry(p.kind).or_default() += 1;
        if self.examples.len() < MAX_EXAMPLES && self.examples_of(p.kind) < MAX_EXAMPLES_PER_KIND {
            self.examples.push(ProblemExample {
                file: file.to_owned(),
                line,
                kind: p.kind,
                detail: p.detail,
            });
        }
    }

    fn examples_of(&self, kind: ProblemKind) -> usize {
        self.examples.iter().filter(|e| e.kind == kind).count()
    }

    pub fn unknown(&mut self, line_type: &str) {
        *self.unknown_types.entry(line_type.to_owned()).or_default() += 1;
    }

    pub fn problem_count(&self) -> u64 {
        self.problems.values().sum()
    }

    pub fn merge(&mut self, other: Tally) {
        self.lines += other.lines;
        for (k, v) in other.problems {
            *self.problems.entry(k).or_default() += v;
        }
        for (k, v) in other.unknown_types {
            *self.unknown_types.entry(k).or_default() += v;
        }
        for ex in other.examples {
            if self.examples.len() < MAX_EXAMPLES && self.examples_of(ex.kind) < MAX_EXAMPLES_PER_KIND {
                self.examples.push(ex);
            }
        }
    }
}
