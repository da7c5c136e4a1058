//! Canonical JSON: the one byte representation of a JSON value that every hash and signature in
//! the chain is computed over.
//!
//! Rules: no insignificant whitespace, object keys sorted by their UTF-8 bytes, strings and
//! numbers exactly as `serde_json` writes them (minimal escaping, non-ASCII written raw, floats
//! via the shortest round-trip form). Without the `preserve_order` feature `serde_json::Map` is a
//! `BTreeMap`, so `serde_json::to_vec` already yields this; we nevertheless sort keys ourselves
//! because Cargo unifies features across the whole dependency graph and any crate enabling
//! `serde_json/preserve_order` would silently change every hash. The test
//! `canonical_keys_are_sorted_even_if_built_unsorted` pins this down.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// Append the canonical JSON of `value` to `out`.
pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(key.as_str(), out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        scalar => write_json(scalar, out),
    }
}

fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Serialising a string or scalar into a Vec cannot fail (no I/O, no non-string map keys).
    serde_json::to_writer(out, value).expect("serialising a JSON scalar into memory cannot fail");
}

/// The canonical JSON bytes of `value` (no trailing newline).
pub fn to_canonical_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// SHA-256 of the canonical JSON of `value`.
pub fn canonical_sha256(value: &Value) -> [u8; 32] {
    Sha256::digest(to_canonical_vec(value)).into()
}

/// Whether `bytes` are exactly the canonical JSON of the value they parse to.
pub fn is_canonical(bytes: &[u8]) -> bool {
    parse_canonical(bytes).is_ok()
}

/// Parse `bytes` as JSON and check they are canonical; the error says why not.
pub(crate) fn parse_canonical(bytes: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let mut again = Vec::with_capacity(bytes.len());
    write_canonical(&value, &mut again);
    if again == bytes {
        Ok(value)
    } else {
        Err("not canonical JSON (key order, whitespace, escaping or duplicate keys)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_nested_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": 1, "a": {"z": [ true, null ], "é": "x", "Z": 2.5} }"#).unwrap();
        assert_eq!(
            String::from_utf8(to_canonical_vec(&v)).unwrap(),
            r#"{"a":{"Z":2.5,"z":[true,null],"é":"x"},"b":1}"#
        );
    }

    #[test]
    fn non_canonical_forms_are_rejected() {
        assert!(is_canonical(br#"{"a":1,"b":"x"}"#));
        assert!(!is_canonical(br#"{"b":1,"a":2}"#));
        assert!(!is_canonical(br#"{"a": 1}"#));
        assert!(!is_canonical(br#"{"a":"\u00e9"}"#));
        assert!(!is_canonical(br#"{"a":1,"a":1}"#));
        assert!(!is_canonical(b"{\"a\":1}\n"));
    }

    #[test]
    fn matches_serde_json_default_map() {
        // Also proves the workspace does not enable `preserve_order`: serde_json's own output is
        // sorted too, so both encodings agree.
        let v = json!({"zeta": 1, "alpha": {"y": 1, "x": [3, {"d": 0, "c": 1}]}, "mid": "é\n\""});
        assert_eq!(serde_json::to_vec(&v).unwrap(), to_canonical_vec(&v));
    }
}
