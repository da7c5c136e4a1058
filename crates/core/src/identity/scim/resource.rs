//! Resources as JSON: normalising what a client sends (canonical attribute names, types,
//! Entra ID's string booleans), and answering with `attributes` / `excludedAttributes`.

use serde_json::{Map, Value};

use super::filter::AttrPath;
use super::schema::{self, Attr, Kind};
use super::ScimError;

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// Attributes a client never writes: they come from the server.
const SERVER_ATTRS: [&str; 3] = ["id", "meta", "schemas"];

/// A boolean, also from Entra ID's `"True"` / `"False"` strings.
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// One (single) value of an attribute, checked against its type.
fn single(def: Attr, v: &Value, at: &str) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    let ok = match def.kind() {
        "boolean" => {
            return boolean(v)
                .map(|b| Some(Value::Bool(b)))
                .ok_or_else(|| invalid_value(format!("`{at}` must be a boolean")))
        }
        "integer" => v.is_i64() || v.is_u64(),
        "decimal" => v.is_number(),
        "complex" => {
            // Entra ID sends a manager as its id alone: `"manager": "2819c223"`.
            let wrapped;
            let m = match v {
                Value::Object(m) => m,
                Value::String(_) if def.sub_attr("value").is_some() => {
                    wrapped = Map::from_iter([("value".to_owned(), v.clone())]);
                    &wrapped
                }
                _ => return Err(invalid_value(format!("`{at}` must be an object"))),
            };
            let mut out = Map::new();
            for (k, sv) in m {
                // Unknown sub-attributes are dropped (RFC 7644 §3.3: the server may ignore them).
                let Some(sd) = def.sub_attr(k) else { continue };
                if let Some(sv) = single(sd, sv, &format!("{at}.{}", sd.name()))? {
                    out.insert(sd.name().to_owned(), sv);
                }
            }
            return Ok((!out.is_empty()).then_some(Value::Object(out)));
        }
        _ => v.is_string(),
    };
    if !ok {
        return Err(invalid_value(format!("`{at}` must be of type {}", def.kind())));
    }
    Ok(Some(v.clone()))
}

/// A value of an attribute (an array for multi-valued ones, which also accept a single value),
/// checked and with canonical sub-attribute names; `None` when unassigned.
pub fn attr_value(def: Attr, v: &Value, at: &str) -> Result<Option<Value>, ScimError> {
    if !def.multi() {
        return single(def, v, at);
    }
    let items: Vec<&Value> = match v {
        Value::Null => return Ok(None),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(item) = single(def, item, at)? {
            if !out.contains(&item) {
                out.push(item);
            }
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Normalises a resource a client wrote (POST, PUT, or the result of a PATCH): canonical
/// attribute names, values checked against the schema, unknown attributes and server-set
/// ones (`id`, `meta`, `schemas`) dropped. Returns the object to store.
pub fn normalize(kind: Kind, doc: &Value) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(m) = doc else {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "the resource must be a JSON object",
        ));
    };
    let mut out = Map::new();
    for (k, v) in m {
        if SERVER_ATTRS.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            continue;
        }
        if let Some(ext) = kind.extension(k) {
            let Value::Object(em) = v else {
                if v.is_null() {
                    continue;
                }
                return Err(invalid_value(format!("`{ext}` must be an object")));
            };
            let mut eo = Map::new();
            for (ek, ev) in em {
                let Some(def) = schema::attr(ext, ek) else {
                    continue;
                };
                if let Some(ev) = attr_value(def, ev, def.name())? {
                    eo.insert(def.name().to_owned(), ev);
                }
            }
            if !eo.is_empty() {
                out.insert(ext.to_owned(), Value::Object(eo));
            }
            continue;
        }
        // `urn:...:User:userName` written as a key: the core schema's attribute.
        let name = match AttrPath::parse(k) {
            Some(p) if p.urn.is_some() && p.sub.is_none() && p.extension(kind) == Ok(None) => p.attr,
            _ => k.clone(),
        };
        let Some(def) = schema::resource_attr(kind, None, &name) else {
            continue;
        };
        if def.read_only() {
            continue;
        }
        if let Some(v) = attr_value(def, v, def.name())? {
            out.insert(def.name().to_owned(), v);
        }
    }
    Ok(out)
}

/// A non-empty string attribute of a normalised resource.
pub fn string<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The email Steward links a user by: the primary email, else the first one, else `userName`
/// when it looks like an address.
pub fn user_email(doc: &Map<String, Value>) -> Option<String> {
    let emails: Vec<&Map<String, Value>> = doc
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let value = |e: &&Map<String, Value>| e.get("value").and_then(Value::as_str).map(str::to_owned);
    emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .and_then(value)
        .or_else(|| emails.iter().find_map(value))
        .or_else(|| {
            string(doc, "userName")
                .filter(|u| looks_like_email(u))
                .map(str::to_owned)
        })
        .map(|e| e.trim().to_owned())
        .filter(|e| looks_like_email(e))
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// The user's display name: `displayName`, else `name.formatted`, else given + family name.
pub fn user_display_name(doc: &Map<String, Value>) -> Option<String> {
    if let Some(d) = string(doc, "displayName") {
        return Some(d.to_owned());
    }
    let name = doc.get("name").and_then(Value::as_object)?;
    if let Some(f) = string(name, "formatted") {
        return Some(f.to_owned());
    }
    let parts: Vec<&str> = ["givenName", "familyName"]
        .iter()
        .filter_map(|k| string(name, k))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The `attributes` / `excludedAttributes` of a request (comma-separated lists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Projection {
    pub fn new(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        let split = |s: Option<&str>| -> Vec<String> {
            s.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
        };
        Projection {
            attributes: split(attributes),
            excluded: split(excluded),
        }
    }

    /// Applies the projection to a full representation (`id` and `schemas` always stay).
    pub fn apply(&self, kind: Kind, resource: Value) -> Value {
        let Value::Object(full) = resource else {
            return resource;
        };
        if !self.attributes.is_empty() {
            let mut out = Map::new();
            for keep in ["schemas", "id"] {
                if let Some(v) = full.get(keep) {
                    out.insert(keep.to_owned(), v.clone());
                }
            }
            for a in &self.attributes {
                copy_path(kind, &full, &mut out, a);
            }
            return Value::Object(out);
        }
        let mut out = full;
        for e in &self.excluded {
            remove_path(kind, &mut out, e);
        }
        Value::Object(out)
    }
}

/// (extension, attribute, sub-attribute) of a projection path; `(Some(ext), None, None)` for a
/// whole extension.
fn projection_target(
    kind: Kind,
    path: &str,
) -> Option<(Option<&'static str>, Option<String>, Option<String>)> {
    if let Some(ext) = kind.extension(path) {
        return Some((Some(ext), None, None));
    }
    let p = AttrPath::parse(path)?;
    let ext = p.extension(kind).ok()?;
    Some((ext, Some(p.attr), p.sub))
}

fn copy_path(kind: Kind, full: &Map<String, Value>, out: &mut Map<String, Value>, path: &str) {
    let Some((ext, attr, sub)) = projection_target(kind, path) else {
        return;
    };
    let (src, dst) = match ext {
        Some(e) => {
            let Some(Value::Object(src)) = full.get(e) else {
                return;
            };
            let Some(attr) = attr else {
                out.insert(e.to_owned(), Value::Object(src.clone()));
                return;
            };
            let dst = out
                .entry(e.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(dst) = dst else { return };
            return copy_attr(src, dst, &attr, sub.as_deref());
        }
        None => (full, out),
    };
    if let Some(attr) = attr {
        copy_attr(src, dst, &attr, sub.as_deref());
    }
}

fn copy_attr(src: &Map<String, Value>, dst: &mut Map<String, Value>, attr: &str, sub: Option<&str>) {
    let Some((key, v)) = src.iter().find(|(k, _)| k.eq_ignore_ascii_case(attr)) else {
        return;
    };
    let Some(sub) = sub else {
        dst.insert(key.clone(), v.clone());
        return;
    };
    let only = |m: &Map<String, Value>| -> Option<(String, Value)> {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(sub))
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    match v {
        Value::Array(items) => {
            let picked: Vec<Value> = items
                .iter()
                .filter_map(|i| i.as_object().and_then(only))
                .map(|(k, v)| Value::Object(Map::from_iter([(k, v)])))
                .collect();
            if !picked.is_empty() {
                dst.insert(key.clone(), Value::Array(picked));
            }
        }
        Value::Object(m) => {
            if let Some((k, sv)) = only(m) {
                if let Value::Object(o) = dst
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    o.insert(k, sv);
                }
            }
        }
        _ => {}
    }
}

fn remove_path(kind: Kind, out: &mut Map<String, Value>, path: &str) {
    let Some((ext, attr, sub)) = projection_target(kind, path) else {
        return;
    };
    let container = match ext {
        Some(e) => {
            let Some(attr) = attr else {
                out.remove(e);
                return;
            };
            match out.get_mut(e) {
                Some(Value::Object(m)) => return remove_attr(m, &attr, sub.as_deref()),
                _ => return,
            }
        }
        None => out,
    };
    if let Some(attr) = attr {
        if ["id", "schemas"].iter().any(|k| k.eq_ignore_ascii_case(&attr)) {
            return;
        }
        remove_attr(container, &attr, sub.as_deref());
    }
}

fn remove_attr(m: &mut Map<String, Value>, attr: &str, sub: Option<&str>) {
    let Some(key) = m.keys().find(|k| k.eq_ignore_ascii_case(attr)).cloned() else {
        return;
    };
    let Some(sub) = sub else {
        m.remove(&key);
        return;
    };
    let strip = |v: &mut Value| {
        if let Value::Object(o) = v {
            if let Some(k) = o.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned() {
                o.remove(&k);
            }
        }
    };
    match m.get_mut(&key) {
        Some(Value::Array(items)) => items.iter_mut().for_each(strip),
        Some(v) => strip(v),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn normalize_canonicalises_names_types_and_drops_server_attributes() {
        let doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "ignored",
            "UserName": "a@example.com",
            "ACTIVE": "False",
            "emails": {"Value": "a@example.com", "primary": "true", "bogus": 1},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D"},
            "favouriteColour": "blue",
            "meta": {"created": "x"}
        });
        let out = normalize(Kind::User, &doc).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            Value::Object(out.clone()),
            json!({
                "userName": "a@example.com",
                "active": false,
                "emails": [{"value": "a@example.com", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
            })
        );
        assert_eq!(user_email(&out).as_deref(), Some("a@example.com"));
        let bad = normalize(Kind::User, &json!({"userName": "x", "active": "maybe"}));
        assert_eq!(bad.err().and_then(|e| e.scim_type), Some("invalidValue"));
        let bad = normalize(Kind::User, &json!({"userName": ["x"]}));
        assert_eq!(bad.err().and_then(|e| e.scim_type), Some("invalidValue"));
    }

    #[test]
    fn email_and_display_name_derivation() {
        let doc = |v: Value| v.as_object().cloned().unwrap_or_default();
        let d = doc(
            json!({"userName": "bob", "emails": [{"value": "b@x.io"}, {"value": "p@x.io", "primary": true}]}),
        );
        assert_eq!(user_email(&d).as_deref(), Some("p@x.io"));
        assert_eq!(
            user_email(&doc(json!({"userName": "Bob@X.io"}))).as_deref(),
            Some("Bob@X.io")
        );
        assert_eq!(user_email(&doc(json!({"userName": "bob"}))), None);
        assert_eq!(
            user_display_name(&doc(json!({"name": {"givenName": "Bob", "familyName": "Ross"}}))).as_deref(),
            Some("Bob Ross")
        );
    }

    #[test]
    fn projections_keep_id_and_schemas() {
        let full = json!({"schemas": ["s"], "id": "1", "userName": "u", "displayName": "d",
                          "name": {"givenName": "g", "familyName": "f"}, "members": [{"value": "a", "type": "User"}]});
        let p = Projection::new(Some("userName,name.givenName"), None);
        assert_eq!(
            p.apply(Kind::User, full.clone()),
            json!({"schemas": ["s"], "id": "1", "userName": "u", "name": {"givenName": "g"}})
        );
        let p = Projection::new(None, Some("displayName,id,name.familyName"));
        assert_eq!(
            p.apply(Kind::User, full.clone()),
            json!({"schemas": ["s"], "id": "1", "userName": "u", "name": {"givenName": "g"},
                   "members": [{"value": "a", "type": "User"}]})
        );
        let p = Projection::new(None, Some("members"));
        assert!(p.apply(Kind::Group, full).get("members").is_none());
    }
}
