//! Shared by the table-driven validation suites: a case is a document, whether Codex would
//! load it, and every diagnostic expected (exact position, code and path; a message fragment).

use steward_policy::requirements::{Diagnostic, Severity, Validation};

pub struct Expect {
    pub severity: Severity,
    pub code: &'static str,
    pub path: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: &'static str,
}

pub const fn err(
    code: &'static str,
    path: &'static str,
    line: usize,
    column: usize,
    message: &'static str,
) -> Expect {
    Expect {
        severity: Severity::Error,
        code,
        path,
        line,
        column,
        message,
    }
}

pub const fn warn(
    code: &'static str,
    path: &'static str,
    line: usize,
    column: usize,
    message: &'static str,
) -> Expect {
    Expect {
        severity: Severity::Warning,
        code,
        path,
        line,
        column,
        message,
    }
}

pub struct Case {
    pub name: &'static str,
    pub toml: &'static str,
    /// Whether Codex loads the document.
    pub valid: bool,
    /// Every diagnostic, in any order.
    pub expect: &'static [Expect],
}

fn matches(expect: &Expect, d: &Diagnostic) -> bool {
    d.severity == expect.severity
        && d.code.as_str() == expect.code
        && d.path == expect.path
        && d.line == expect.line
        && d.column == expect.column
        && d.message.contains(expect.message)
}

/// Runs every case through `validate` and fails with all mismatches at once.
pub fn run<T>(cases: &[Case], validate: impl Fn(&str) -> Validation<T>) {
    let mut failures = Vec::new();
    for case in cases {
        let checked = validate(case.toml);
        let actual = checked.diagnostics();
        let mut problems = Vec::new();
        if checked.is_valid() != case.valid {
            problems.push(format!("expected valid = {}", case.valid));
        }
        if checked.value.is_some() != case.valid {
            problems.push("value presence does not match validity".to_owned());
        }
        for expect in case.expect {
            if !actual.iter().any(|d| matches(expect, d)) {
                problems.push(format!(
                    "missing {:?} {} at {}:{} `{}` ~ {:?}",
                    expect.severity, expect.code, expect.line, expect.column, expect.path, expect.message
                ));
            }
        }
        for d in &actual {
            if !case.expect.iter().any(|expect| matches(expect, d)) {
                problems.push(format!("unexpected {d}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.name, problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
