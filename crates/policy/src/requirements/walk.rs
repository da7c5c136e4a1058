//! Typed reads from the spanned TOML tree. Each accessor reports a `wrong_type` (or
//! `unknown_enum_value`, `value_out_of_range`) diagnostic at the value's position and returns
//! `None`, so callers keep walking and one pass finds every problem.

use std::ops::Range;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::diagnostics::DiagnosticCode;
use super::enums::CodexEnum;
use super::spans::{join_index, join_key, Sink};

pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

/// An article and a type name for messages: "a string", "an array".
fn described(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

pub(crate) fn wrong_type(sink: &mut Sink<'_>, path: &str, node: &Node<'_>, expected: &str) {
    sink.error(
        DiagnosticCode::WrongType,
        path,
        &node.span(),
        format!("`{path}` must be {expected}, found {}", described(node.get_ref())),
    );
}

pub(crate) fn table<'a, 'i>(sink: &mut Sink<'_>, path: &str, node: &'a Node<'i>) -> Option<&'a DeTable<'i>> {
    match node.get_ref() {
        DeValue::Table(table) => Some(table),
        _ => {
            wrong_type(sink, path, node, "a table");
            None
        }
    }
}

pub(crate) fn array<'a, 'i>(
    sink: &mut Sink<'_>,
    path: &str,
    node: &'a Node<'i>,
    expected: &str,
) -> Option<&'a DeArray<'i>> {
    match node.get_ref() {
        DeValue::Array(array) => Some(array),
        _ => {
            wrong_type(sink, path, node, expected);
            None
        }
    }
}

pub(crate) fn string(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<String> {
    match node.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        _ => {
            wrong_type(sink, path, node, "a string");
            None
        }
    }
}

pub(crate) fn boolean(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<bool> {
    match node.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        _ => {
            wrong_type(sink, path, node, "a boolean (true or false)");
            None
        }
    }
}

/// An integer in `min..=max`.
pub(crate) fn integer_in(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
    min: i64,
    max: i64,
) -> Option<i64> {
    let DeValue::Integer(int) = node.get_ref() else {
        wrong_type(sink, path, node, "an integer");
        return None;
    };
    match i64::from_str_radix(int.as_str(), int.radix()) {
        Ok(value) if (min..=max).contains(&value) => Some(value),
        _ => {
            sink.error(
                DiagnosticCode::ValueOutOfRange,
                path,
                &node.span(),
                format!("`{path}` must be between {min} and {max}, found {int}"),
            );
            None
        }
    }
}

/// An array of strings; every bad element is reported.
pub(crate) fn string_array(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<Vec<String>> {
    let items = array(sink, path, node, "an array of strings")?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match string(sink, &join_index(path, i), item) {
            Some(s) => out.push(s),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A string naming one of `T`'s values. Deprecated spellings are accepted with a warning,
/// as Codex accepts them.
pub(crate) fn enum_value<T: CodexEnum>(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<T> {
    let DeValue::String(s) = node.get_ref() else {
        wrong_type(
            sink,
            path,
            node,
            &format!("a string (one of: {})", T::ALLOWED.join(", ")),
        );
        return None;
    };
    parse_enum_str(sink, path, &node.span(), s)
}

pub(crate) fn parse_enum_str<T: CodexEnum>(
    sink: &mut Sink<'_>,
    path: &str,
    span: &Range<usize>,
    s: &str,
) -> Option<T> {
    match T::parse(s) {
        Some(value) => {
            if let Some(canonical) = T::deprecated_alias_of(s) {
                sink.warn(
                    DiagnosticCode::DeprecatedValue,
                    path,
                    span,
                    format!("`{s}` in `{path}` is deprecated; Codex treats it as `{canonical}`"),
                );
            }
            Some(value)
        }
        None => {
            sink.error(
                DiagnosticCode::UnknownEnumValue,
                path,
                span,
                format!(
                    "unknown value `{s}` for `{path}`; expected one of: {}",
                    T::ALLOWED.join(", ")
                ),
            );
            None
        }
    }
}

/// An array of `T` values; every bad element is reported.
pub(crate) fn enum_array<T: CodexEnum>(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<Vec<T>> {
    let expected = format!("an array of strings (each one of: {})", T::ALLOWED.join(", "));
    let items = array(sink, path, node, &expected)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match enum_value::<T>(sink, &join_index(path, i), item) {
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A table of booleans (`[features]`, `allowed_permission_profiles`).
pub(crate) fn bool_table(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
) -> Option<Vec<(String, bool, Range<usize>)>> {
    let entries = table(sink, path, node)?;
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (key, value) in entries.iter() {
        match boolean(sink, &join_key(path, key.get_ref()), value) {
            Some(b) => out.push((key.get_ref().to_string(), b, key.span())),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A table of strings (`headers`, `span_attributes`).
pub(crate) fn string_table(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> bool {
    let Some(entries) = table(sink, path, node) else {
        return false;
    };
    let mut ok = true;
    for (key, value) in entries.iter() {
        ok &= string(sink, &join_key(path, key.get_ref()), value).is_some();
    }
    ok
}

/// Looks a key up in a table, returning the key's span too (for "unknown key" and
/// "duplicate" diagnostics, which point at the key rather than the value).
pub(crate) fn get<'a, 'i>(
    table: &'a DeTable<'i>,
    key: &str,
) -> Option<(&'a Spanned<std::borrow::Cow<'i, str>>, &'a Node<'i>)> {
    table.iter().find(|(k, _)| k.get_ref() == key)
}

/// Warns about every key of `table` not in `known`: Codex's serde structs here are not
/// `deny_unknown_fields`, so such keys are silently ignored, which is usually a typo.
pub(crate) fn warn_unknown_keys(sink: &mut Sink<'_>, path: &str, table: &DeTable<'_>, known: &[&str]) {
    for (key, _) in table.iter() {
        if !known.contains(&key.get_ref().as_ref()) {
            let key_path = join_key(path, key.get_ref());
            sink.warn(
                DiagnosticCode::UnknownKey,
                &key_path,
                &key.span(),
                format!(
                    "`{key_path}` is not a known key; Codex ignores it (known keys: {})",
                    known.join(", ")
                ),
            );
        }
    }
}

/// The TOML value as JSON, for tables Steward keeps verbatim. Datetimes become their RFC 3339
/// text; integers too large for JSON numbers become strings.
pub(crate) fn to_json(node: &DeValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match node {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(int) => i64::from_str_radix(int.as_str(), int.radix())
            .map_or_else(|_| Value::String(int.to_string()), Value::from),
        DeValue::Float(f) => f
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(dt) => Value::String(dt.to_string()),
        DeValue::Array(items) => Value::Array(items.iter().map(|i| to_json(i.get_ref())).collect()),
        DeValue::Table(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), to_json(v.get_ref())))
                .collect(),
        ),
    }
}

/// An `approval_policy` value: one of the strings, or the newer `{ granular = { ... } }`
/// table (its per-flow flags must be booleans).
pub(crate) fn approval_policy(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
) -> Option<super::enums::ApprovalPolicy> {
    use super::enums::ApprovalPolicy;
    if let DeValue::Table(table) = node.get_ref() {
        if let (1, Some((_, flags))) = (table.len(), get(table, "granular")) {
            bool_table(sink, &join_key(path, "granular"), flags)?;
            return Some(ApprovalPolicy::Granular);
        }
        wrong_type(
            sink,
            path,
            node,
            &format!(
                "a string (one of: {}) or {{ granular = {{ ... }} }}",
                ApprovalPolicy::ALLOWED.join(", ")
            ),
        );
        return None;
    }
    enum_value::<ApprovalPolicy>(sink, path, node)
}

/// An array whose elements are read by `read`; every bad element is reported.
pub(crate) fn array_of<T>(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
    expected: &str,
    mut read: impl FnMut(&mut Sink<'_>, &str, &Node<'_>) -> Option<T>,
) -> Option<Vec<T>> {
    let items = array(sink, path, node, expected)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match read(sink, &join_index(path, i), item) {
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Parses the document, reporting a syntax error (with the parser's position) on failure.
pub(crate) fn parse_document<'i>(sink: &mut Sink<'_>, text: &'i str) -> Option<toml::Spanned<DeTable<'i>>> {
    match DeTable::parse(text) {
        Ok(root) => Some(root),
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            sink.error(
                DiagnosticCode::TomlSyntax,
                "",
                &span,
                format!("invalid TOML: {}", err.message()),
            );
            None
        }
    }
}
