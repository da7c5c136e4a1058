//! Capture of JSON content (tool arguments): canonical serialization for hashing, and redaction
//! of string leaves.
//!
//! Canonical form (keys sorted by their UTF-8 bytes, no whitespace) is written here rather than
//! relying on `serde_json`'s map order, which changes with its `preserve_order` feature and could
//! make the same arguments hash differently depending on what else is linked in.

use serde_json::{Map, Value};

use super::patterns::SecretKeys;
use super::redactor::{bump, marker, Counts, Redactor};

pub(crate) fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        // Scalars: serde_json's compact form is already canonical.
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Redacts every string leaf. A string under a secret-looking key (`password`, `api_key`, ...)
/// is replaced whole, since the key/value context of the text rules is gone once JSON is
/// parsed; if the string is itself exactly one specific secret, that kind is reported instead.
pub(crate) fn redact_value<'r>(
    v: &Value,
    redactor: &'r Redactor,
    keys: Option<&SecretKeys>,
    counts: &mut Counts<'r>,
) -> Value {
    match v {
        Value::String(s) => Value::String(redactor.redact(s, counts).into_owned()),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| redact_value(item, redactor, keys, counts))
                .collect(),
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                let kind = match (item, keys) {
                    (Value::String(s), Some(keys)) => keys.classify(key, s),
                    _ => None,
                };
                let redacted = match (kind, item) {
                    (Some(kind), Value::String(s)) => Value::String(redact_whole(s, kind, redactor, counts)),
                    _ => redact_value(item, redactor, keys, counts),
                };
                out.insert(key.clone(), redacted);
            }
            Value::Object(out)
        }
        scalar => scalar.clone(),
    }
}

fn redact_whole<'r>(s: &str, kind: &'static str, redactor: &'r Redactor, counts: &mut Counts<'r>) -> String {
    let mut inner = Counts::new();
    let redacted = redactor.redact(s, &mut inner);
    if let Some((&inner_kind, &1)) = inner.iter().next().filter(|_| inner.len() == 1) {
        if redacted == marker(inner_kind) {
            bump(counts, inner_kind);
            return redacted.into_owned();
        }
    }
    bump(counts, kind);
    marker(kind)
}
