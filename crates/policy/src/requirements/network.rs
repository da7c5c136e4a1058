//! `[experimental_network]`: the managed network proxy's constraints. Codex accepts domains
//! either as the `domains` map or as the legacy `allowed_domains`/`denied_domains` lists, but
//! not both; Steward normalises the legacy lists into the map the way Codex does, so the API
//! shows one shape.

use std::collections::BTreeMap;

use serde::Serialize;

use super::diagnostics::DiagnosticCode;
use super::enums::{CodexEnum, DomainPermission, UnixSocketPermission};
use super::spans::{join_key, Sink};
use super::walk::{self, Node};

/// The validated `[experimental_network]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NetworkRequirements {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socks_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_upstream_proxy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerously_allow_non_loopback_proxy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerously_allow_all_unix_sockets: Option<bool>,
    /// Domain pattern → allow/deny, from `domains` or the legacy lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domains: Option<BTreeMap<String, DomainPermission>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_allowed_domains_only: Option<bool>,
    /// Socket path → allow/none, from `unix_sockets` or the legacy `allow_unix_sockets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unix_sockets: Option<BTreeMap<String, UnixSocketPermission>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_local_binding: Option<bool>,
    /// Newest keys whose schema Steward does not check (`header_injections`), verbatim.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, serde_json::Value>,
}

const BOOL_KEYS: &[&str] = &[
    "enabled",
    "allow_upstream_proxy",
    "dangerously_allow_non_loopback_proxy",
    "dangerously_allow_all_unix_sockets",
    "managed_allowed_domains_only",
    "allow_local_binding",
];
const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "http_port",
    "socks_port",
    "allow_upstream_proxy",
    "dangerously_allow_non_loopback_proxy",
    "dangerously_allow_all_unix_sockets",
    "domains",
    "allowed_domains",
    "denied_domains",
    "managed_allowed_domains_only",
    "unix_sockets",
    "allow_unix_sockets",
    "allow_local_binding",
    "header_injections",
];

pub(crate) fn parse_network(sink: &mut Sink<'_>, path: &str, node: &Node<'_>) -> Option<NetworkRequirements> {
    let table = walk::table(sink, path, node)?;
    walk::warn_unknown_keys(sink, path, table, KNOWN_KEYS);
    let errors_before = sink.error_count();
    let mut out = NetworkRequirements::default();

    for (key, value) in table.iter() {
        let key_path = join_key(path, key.get_ref());
        let name = key.get_ref().as_ref();
        if BOOL_KEYS.contains(&name) {
            let b = walk::boolean(sink, &key_path, value);
            match name {
                "enabled" => out.enabled = b,
                "allow_upstream_proxy" => out.allow_upstream_proxy = b,
                "dangerously_allow_non_loopback_proxy" => out.dangerously_allow_non_loopback_proxy = b,
                "dangerously_allow_all_unix_sockets" => out.dangerously_allow_all_unix_sockets = b,
                "managed_allowed_domains_only" => out.managed_allowed_domains_only = b,
                _ => out.allow_local_binding = b,
            }
        } else if name == "http_port" || name == "socks_port" {
            let port = walk::integer_in(sink, &key_path, value, 0, i64::from(u16::MAX))
                .and_then(|p| u16::try_from(p).ok());
            if name == "http_port" {
                out.http_port = port;
            } else {
                out.socks_port = port;
            }
        } else if name == "header_injections" {
            out.other.insert(name.to_owned(), walk::to_json(value.get_ref()));
        }
    }

    // Domains: the map, or the legacy lists, never both.
    let domains = walk::get(table, "domains");
    let allowed = walk::get(table, "allowed_domains");
    let denied = walk::get(table, "denied_domains");
    if let (Some(_), Some((legacy_key, _))) = (domains, allowed.or(denied)) {
        let legacy_path = join_key(path, legacy_key.get_ref());
        sink.error(
            DiagnosticCode::NetworkDomainsConflict,
            &legacy_path,
            &legacy_key.span(),
            format!(
                "`{path}.domains` cannot be combined with legacy `allowed_domains` or `denied_domains`; \
                 move `{legacy_path}` into `{path}.domains`"
            ),
        );
    }
    if let Some((_, map)) = domains {
        out.domains = permission_map::<DomainPermission>(sink, &join_key(path, "domains"), map);
    } else {
        let mut entries = BTreeMap::new();
        for (key, permission) in [
            ("allowed_domains", DomainPermission::Allow),
            ("denied_domains", DomainPermission::Deny),
        ] {
            if let Some((_, list)) = walk::get(table, key) {
                for pattern in walk::string_array(sink, &join_key(path, key), list).unwrap_or_default() {
                    entries.insert(pattern, permission);
                }
            }
        }
        // Codex treats explicitly empty legacy lists as unset.
        out.domains = (!entries.is_empty()).then_some(entries);
    }

    // Unix sockets: the map, or the legacy list, never both.
    let sockets = walk::get(table, "unix_sockets");
    let legacy_sockets = walk::get(table, "allow_unix_sockets");
    if let (Some(_), Some((legacy_key, _))) = (sockets, legacy_sockets) {
        let legacy_path = join_key(path, legacy_key.get_ref());
        sink.error(
            DiagnosticCode::NetworkUnixSocketsConflict,
            &legacy_path,
            &legacy_key.span(),
            format!(
                "`{path}.unix_sockets` cannot be combined with legacy `allow_unix_sockets`; \
                 move `{legacy_path}` into `{path}.unix_sockets`"
            ),
        );
    }
    if let Some((_, map)) = sockets {
        out.unix_sockets = permission_map::<UnixSocketPermission>(sink, &join_key(path, "unix_sockets"), map);
    } else if let Some((_, list)) = legacy_sockets {
        let entries: BTreeMap<_, _> = walk::string_array(sink, &join_key(path, "allow_unix_sockets"), list)
            .unwrap_or_default()
            .into_iter()
            .map(|socket| (socket, UnixSocketPermission::Allow))
            .collect();
        out.unix_sockets = (!entries.is_empty()).then_some(entries);
    }

    (sink.error_count() == errors_before).then_some(out)
}

fn permission_map<T: CodexEnum>(
    sink: &mut Sink<'_>,
    path: &str,
    node: &Node<'_>,
) -> Option<BTreeMap<String, T>> {
    let table = walk::table(sink, path, node)?;
    let mut out = BTreeMap::new();
    for (key, value) in table.iter() {
        let entry_path = join_key(path, key.get_ref());
        if let Some(permission) = walk::enum_value::<T>(sink, &entry_path, value) {
            out.insert(key.get_ref().to_string(), permission);
        }
    }
    Some(out)
}
