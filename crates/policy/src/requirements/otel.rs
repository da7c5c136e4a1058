//! `[otel]` (codex-facts §1.1): where Codex sends the telemetry Steward ingests. A wrong
//! exporter shape is a config load error in Codex; an unknown key inside `[otel]` is ignored,
//! which for Steward means telemetry silently going nowhere, so it warns.

use super::diagnostics::DiagnosticCode;
use super::enums::OtlpProtocol;
use super::spans::{join_key, Sink};
use super::walk::{self, Node};
use toml::de::DeValue;

const OTEL_KEYS: &[&str] = &[
    "environment",
    "log_user_prompt",
    "exporter",
    "trace_exporter",
    "metrics_exporter",
    "span_attributes",
    "tracestate",
];
const EXPORTERS: &[&str] = &["none", "statsig", "otlp-http", "otlp-grpc"];
const TLS_KEYS: &[&str] = &["ca-certificate", "client-certificate", "client-private-key"];

/// Checks an `[otel]` table; `true` if Codex would accept it.
pub(crate) fn check_otel(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> bool {
    let before = sink.error_count();
    let Some(table) = walk::table(sink, path, node) else {
        return false;
    };
    walk::warn_unknown_keys(sink, path, table, OTEL_KEYS);
    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        match key.get_ref().as_ref() {
            "environment" => {
                walk::string(sink, &key_path, value);
            }
            "log_user_prompt" => {
                walk::boolean(sink, &key_path, value);
            }
            "exporter" | "trace_exporter" | "metrics_exporter" => {
                check_exporter(sink, &key_path, value);
            }
            "span_attributes" => {
                walk::string_table(sink, &key_path, value);
            }
            "tracestate" => {
                if let Some(members) = walk::table(sink, &key_path, value) {
                    for (member, entries) in members.iter() {
                        walk::string_table(sink, &join_key(&key_path, member.get_ref()), entries);
                    }
                }
            }
            _ => {}
        }
    }
    sink.error_count() == before
}

/// An exporter: `"none"`, `"statsig"`, or a single-key table `{ otlp-http = {...} }` /
/// `{ otlp-grpc = {...} }` (serde's externally tagged, kebab-case enum).
fn check_exporter(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) {
    let allowed = EXPORTERS.join(", ");
    match node.get_ref() {
        DeValue::String(s) => {
            match s.as_ref() {
                "none" | "statsig" => {}
                "otlp-http" | "otlp-grpc" => {
                    sink.error(
                        DiagnosticCode::InvalidOtelExporter,
                        path,
                        &node.span(),
                        format!(
                    "`{path}` = \"{s}\" needs its settings: write {{ {s} = {{ endpoint = \"...\"{} }} }}",
                    if s == "otlp-http" { ", protocol = \"binary\"" } else { "" }
                ),
                    )
                }
                other => sink.error(
                    DiagnosticCode::UnknownEnumValue,
                    path,
                    &node.span(),
                    format!("unknown exporter `{other}` for `{path}`; expected one of: {allowed}"),
                ),
            }
        }
        DeValue::Table(table) => {
            let mut entries = table.iter();
            let (Some((kind, settings)), None) = (entries.next(), entries.next()) else {
                sink.error(
                    DiagnosticCode::InvalidOtelExporter,
                    path,
                    &node.span(),
                    format!("`{path}` must have exactly one key, the exporter kind (otlp-http or otlp-grpc)"),
                );
                return;
            };
            let kind_name = kind.get_ref().as_ref();
            let settings_path = join_key(path, kind_name);
            match kind_name {
                "otlp-http" => check_otlp(sink, &settings_path, settings, true),
                "otlp-grpc" => check_otlp(sink, &settings_path, settings, false),
                other => sink.error(
                    DiagnosticCode::UnknownEnumValue,
                    &settings_path,
                    &kind.span(),
                    format!("unknown exporter `{other}` for `{path}`; expected one of: {allowed}"),
                ),
            }
        }
        _ => walk::wrong_type(
            sink,
            path,
            node,
            "a string (\"none\", \"statsig\") or a table ({ otlp-http = {...} } or { otlp-grpc = {...} })",
        ),
    }
}

/// OTLP settings: `endpoint` (required), `protocol` (required for HTTP), `headers`, `tls`.
fn check_otlp(sink: &mut Sink<'_>, path: &str, node: &Node<'_>, http: bool) {
    let Some(table) = walk::table(sink, path, node) else {
        return;
    };
    let known: &[&str] = if http {
        &["endpoint", "protocol", "headers", "tls"]
    } else {
        &["endpoint", "headers", "tls"]
    };
    walk::warn_unknown_keys(sink, path, table, known);
    let required: &[&str] = if http {
        &["endpoint", "protocol"]
    } else {
        &["endpoint"]
    };
    for key in required {
        if walk::get(table, key).is_none() {
            let key_path = join_key(path, key);
            sink.error(
                DiagnosticCode::MissingField,
                &key_path,
                &node.span(),
                format!("`{key_path}` is required"),
            );
        }
    }
    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        match key.get_ref().as_ref() {
            "endpoint" => {
                walk::string(sink, &key_path, value);
            }
            "protocol" if http => {
                walk::enum_value::<OtlpProtocol>(sink, &key_path, value);
            }
            "headers" => {
                walk::string_table(sink, &key_path, value);
            }
            "tls" => {
                if let Some(tls) = walk::table(sink, &key_path, value) {
                    walk::warn_unknown_keys(sink, &key_path, tls, TLS_KEYS);
                    for (tls_key, path_value) in tls.iter() {
                        if TLS_KEYS.contains(&tls_key.get_ref().as_ref()) {
                            walk::string(sink, &join_key(&key_path, tls_key.get_ref()), path_value);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
