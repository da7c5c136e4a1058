//! From byte spans (what the TOML parser gives) to the line, column and key path a human
//! reads, and the sink that collects diagnostics while a document is walked.

use std::ops::Range;

use super::diagnostics::{Diagnostic, DiagnosticCode, Severity};

/// Byte offset → 1-based line and character column.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    /// Line and column of `offset`, clamped to the text. Columns count characters so that a
    /// non-ASCII key earlier on the line does not shift the caret.
    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line.max(1), column + 1)
    }
}

/// `parent.key`, quoting keys that are not bare TOML keys so the path can be pasted back.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare { key.to_owned() } else { format!("{key:?}") };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub(crate) fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Collects diagnostics for one document.
pub(crate) struct Sink<'a> {
    index: LineIndex<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            index: LineIndex::new(text),
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        code: DiagnosticCode,
        path: &str,
        span: &Range<usize>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Error, code, path, span, message.into());
    }

    pub(crate) fn warn(
        &mut self,
        code: DiagnosticCode,
        path: &str,
        span: &Range<usize>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, code, path, span, message.into());
    }

    fn push(
        &mut self,
        severity: Severity,
        code: DiagnosticCode,
        path: &str,
        span: &Range<usize>,
        message: String,
    ) {
        let (line, column) = self.index.locate(span.start);
        self.diagnostics.push(Diagnostic {
            severity,
            code,
            path: path.to_owned(),
            line,
            column,
            message,
        });
    }

    pub(crate) fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_character_columns() {
        let index = LineIndex::new("a = 1\nné = \"x\"\r\nlast");
        assert_eq!(index.locate(0), (1, 1));
        assert_eq!(index.locate(4), (1, 5));
        assert_eq!(index.locate(6), (2, 1));
        // "né = " is 6 bytes but 5 characters.
        assert_eq!(index.locate(12), (2, 6));
        assert_eq!(index.locate(17), (3, 1));
        assert_eq!(index.locate(1000), (3, 5));
    }

    #[test]
    fn quotes_keys_that_are_not_bare() {
        assert_eq!(join_key("", "rules"), "rules");
        assert_eq!(join_key("mcp_servers", "my.server"), "mcp_servers.\"my.server\"");
        assert_eq!(join_index("rules.prefix_rules", 2), "rules.prefix_rules[2]");
    }
}
