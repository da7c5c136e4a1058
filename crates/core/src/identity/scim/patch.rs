//! SCIM PATCH (RFC 7644 §3.5.2) in the shapes identity providers really send.
//!
//! - `add` / `replace` / `remove`, with op names in any case (Entra ID writes `"Replace"`);
//! - no `path` and an object `value` (`{"op":"replace","value":{"active":false}}`, Okta), whose
//!   keys may themselves be paths (`"name.givenName"`, URN-qualified names; Entra ID);
//! - paths `attr`, `attr.sub`, `urn:...:attr`, a bare extension URN, and value paths
//!   `emails[type eq "work"].value` / `members[value eq "id"]`; an `add` or `replace` through
//!   an `attr[sub eq "x"]` filter that matches nothing creates that value (what Entra ID
//!   expects when it first sets a work email);
//! - `remove` of `members` with a `value` list (Entra ID), `replace` of the whole `members`
//!   list (Okta), string booleans (`"False"`).
//!
//! Operations apply to a copy; the caller stores the result only if every operation succeeded.

use serde_json::{Map, Value};

use super::filter::{self, AttrPath, CompareOp, Filter};
use super::resource::attr_value;
use super::schema::{self, Attr, Kind};
use super::ScimError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidSyntax", detail)
}

fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidPath", detail)
}

fn invalid_value(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

fn no_target(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("noTarget", detail)
}

/// The operations of a `PatchOp` request body.
pub fn parse_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let Value::Object(m) = body else {
        return Err(syntax("a PATCH body is a PatchOp object"));
    };
    let ops = filter::get_ci(m, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a PATCH body needs an `Operations` array"))?;
    if ops.is_empty() {
        return Err(syntax("`Operations` is empty"));
    }
    ops.iter()
        .map(|o| {
            let o = o
                .as_object()
                .ok_or_else(|| syntax("each operation is an object"))?;
            let name = filter::get_ci(o, "op")
                .and_then(Value::as_str)
                .ok_or_else(|| syntax("an operation needs `op`"))?;
            let op = match name.to_ascii_lowercase().as_str() {
                "add" => Op::Add,
                "replace" => Op::Replace,
                "remove" => Op::Remove,
                other => {
                    return Err(syntax(format!(
                        "unknown operation `{other}` (add, replace or remove)"
                    )))
                }
            };
            let path = match filter::get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.trim().to_owned()),
                Some(_) => return Err(invalid_path("`path` must be a string")),
            };
            let value = filter::get_ci(o, "value").cloned();
            if op != Op::Remove && value.is_none() {
                return Err(invalid_value(format!("`{name}` needs a `value`")));
            }
            Ok(PatchOp { op, path, value })
        })
        .collect()
}

/// What a path designates.
enum Target {
    /// A whole extension object (`urn:...:enterprise:2.0:User`).
    Extension(&'static str),
    Attr {
        ext: Option<&'static str>,
        def: Attr,
        sub: Option<Attr>,
    },
    /// Values of a multi-valued attribute matching a filter, or one sub-attribute of them.
    Filtered {
        ext: Option<&'static str>,
        def: Attr,
        filter: Filter,
        sub: Option<Attr>,
    },
}

/// The `]` closing the `[` at `open`, skipping quoted strings.
fn closing_bracket(path: &str, open: usize) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in path[open + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(open + 1 + i),
            _ => {}
        }
    }
    None
}

fn target(kind: Kind, path: &str) -> Result<Target, ScimError> {
    if let Some(ext) = kind.extension(path) {
        return Ok(Target::Extension(ext));
    }
    let (head, filter_text, tail) = match path.find('[') {
        Some(open) => {
            let close =
                closing_bracket(path, open).ok_or_else(|| invalid_path(format!("`{path}`: unclosed `[`")))?;
            (&path[..open], Some(&path[open + 1..close]), &path[close + 1..])
        }
        None => (path, None, ""),
    };
    let p = AttrPath::parse(head)
        .ok_or_else(|| invalid_path(format!("`{path}` is not a valid attribute path")))?;
    let ext = p
        .extension(kind)
        .map_err(|_| invalid_path(format!("`{path}`: unknown schema for a {}", kind.name())))?;
    let def = schema::resource_attr(kind, ext, &p.attr).ok_or_else(|| {
        invalid_path(format!(
            "`{path}`: a {} has no attribute `{}`",
            kind.name(),
            p.attr
        ))
    })?;
    if def.read_only() {
        return Err(ScimError::bad_request(
            "mutability",
            format!("`{}` is read-only", def.name()),
        ));
    }
    let sub_name = match (filter_text, p.sub.as_deref(), tail) {
        (None, sub, _) => sub,
        (Some(_), Some(_), _) => {
            return Err(invalid_path(format!(
                "`{path}`: a value filter follows the attribute name"
            )))
        }
        (Some(_), None, "") => None,
        (Some(_), None, t) => Some(
            t.strip_prefix('.')
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid_path(format!("`{path}`: unexpected `{t}` after the filter")))?,
        ),
    };
    let sub =
        match sub_name {
            Some(s) => Some(def.sub_attr(s).ok_or_else(|| {
                invalid_path(format!("`{path}`: `{}` has no sub-attribute `{s}`", def.name()))
            })?),
            None => None,
        };
    match filter_text {
        Some(text) => {
            if !def.multi() {
                return Err(invalid_path(format!(
                    "`{path}`: `{}` is not multi-valued",
                    def.name()
                )));
            }
            let filter = filter::parse(text).map_err(|e| invalid_path(format!("`{path}`: {}", e.detail)))?;
            Ok(Target::Filtered {
                ext,
                def,
                filter,
                sub,
            })
        }
        None => Ok(Target::Attr { ext, def, sub }),
    }
}

fn container<'a>(
    doc: &'a mut Map<String, Value>,
    ext: Option<&str>,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    match ext {
        None => Ok(doc),
        Some(e) => match doc
            .entry(e.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(m) => Ok(m),
            _ => Err(invalid_value(format!("`{e}` is not an object"))),
        },
    }
}

/// Drops an extension object left empty.
fn tidy(doc: &mut Map<String, Value>, ext: Option<&str>) {
    if let Some(e) = ext {
        if doc.get(e).and_then(Value::as_object).is_some_and(Map::is_empty) {
            doc.remove(e);
        }
    }
}

/// `sub eq "literal"`: the value an add or replace creates when nothing matches.
fn creatable(filter: &Filter, def: Attr) -> Option<(String, Value)> {
    match filter {
        Filter::Compare(p, CompareOp::Eq, v @ Value::String(_)) if p.urn.is_none() && p.sub.is_none() => {
            let sub = def.sub_attr(&p.attr)?;
            Some((sub.name().to_owned(), v.clone()))
        }
        _ => None,
    }
}

/// Two values of a multi-valued attribute are the same member when their `value`s are
/// (members carry `$ref`/`type`/`display` that clients fill differently).
fn same_item(def: Attr, a: &Value, b: &Value) -> bool {
    if def.name() == "members" {
        if let (Some(x), Some(y)) = (a.get("value"), b.get("value")) {
            return x == y;
        }
    }
    a == b
}

fn merge_object(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        into.insert(k, v);
    }
}

fn set_attr(
    doc: &mut Map<String, Value>,
    ext: Option<&str>,
    def: Attr,
    value: &Value,
    op: Op,
) -> Result<(), ScimError> {
    let v = attr_value(def, value, def.name())?;
    let c = container(doc, ext)?;
    match v {
        None if op == Op::Replace => {
            c.remove(def.name());
        }
        None => return Err(invalid_value(format!("no value to add to `{}`", def.name()))),
        Some(Value::Array(items)) if op == Op::Add => {
            let existing = c
                .entry(def.name().to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !existing.is_array() {
                *existing = Value::Array(Vec::new());
            }
            if let Value::Array(arr) = existing {
                for item in items {
                    if !arr.iter().any(|e| same_item(def, e, &item)) {
                        arr.push(item);
                    }
                }
            }
        }
        Some(Value::Object(new)) if !def.multi() => match c.get_mut(def.name()) {
            // A complex attribute: sub-attributes not in the value are left as they are.
            Some(Value::Object(old)) => merge_object(old, new),
            _ => {
                c.insert(def.name().to_owned(), Value::Object(new));
            }
        },
        Some(v) => {
            c.insert(def.name().to_owned(), v);
        }
    }
    tidy(doc, ext);
    Ok(())
}

fn set_sub(
    doc: &mut Map<String, Value>,
    ext: Option<&str>,
    def: Attr,
    sub: Attr,
    value: &Value,
    op: Op,
) -> Result<(), ScimError> {
    if def.multi() {
        return Err(invalid_path(format!(
            "`{}.{}`: select values with a filter, e.g. `{}[type eq \"work\"].{}`",
            def.name(),
            sub.name(),
            def.name(),
            sub.name()
        )));
    }
    let v = attr_value(sub, value, &format!("{}.{}", def.name(), sub.name()))?;
    let c = container(doc, ext)?;
    let obj = c
        .entry(def.name().to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(obj) = obj else {
        return Err(invalid_value(format!("`{}` is not an object", def.name())));
    };
    match v {
        Some(v) => {
            obj.insert(sub.name().to_owned(), v);
        }
        None if op == Op::Replace => {
            obj.remove(sub.name());
        }
        None => {
            return Err(invalid_value(format!(
                "no value to add to `{}.{}`",
                def.name(),
                sub.name()
            )))
        }
    }
    if obj.is_empty() {
        c.remove(def.name());
    }
    tidy(doc, ext);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn set_filtered(
    kind: Kind,
    doc: &mut Map<String, Value>,
    ext: Option<&'static str>,
    def: Attr,
    filter: &Filter,
    sub: Option<Attr>,
    value: &Value,
    path: &str,
) -> Result<(), ScimError> {
    // The new content of each selected value, checked once.
    let sub_value = match sub {
        Some(s) => Some(
            attr_value(s, value, &format!("{}.{}", def.name(), s.name()))?
                .ok_or_else(|| invalid_value(format!("`{path}` needs a value")))?,
        ),
        None => None,
    };
    let item_value = match sub {
        None => match attr_value(def, value, def.name())? {
            Some(Value::Array(mut items)) if items.len() == 1 => match items.pop() {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            },
            _ => return Err(invalid_value(format!("`{path}` needs one object value"))),
        },
        Some(_) => None,
    };
    let c = container(doc, ext)?;
    let arr = c
        .entry(def.name().to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !arr.is_array() {
        *arr = Value::Array(Vec::new());
    }
    let Value::Array(items) = arr else { return Ok(()) };
    let mut matched = false;
    for item in items.iter_mut() {
        if !filter::matches_value(filter, item, kind, ext, def.name()) {
            continue;
        }
        matched = true;
        if let Value::Object(m) = item {
            match (&sub, &sub_value, &item_value) {
                (Some(s), Some(v), _) => {
                    m.insert(s.name().to_owned(), v.clone());
                }
                (None, _, Some(new)) => merge_object(m, new.clone()),
                _ => {}
            }
        }
    }
    if !matched {
        let (key, lit) =
            creatable(filter, def).ok_or_else(|| no_target(format!("`{path}` matches no value")))?;
        let mut m = Map::new();
        m.insert(key, lit);
        match (&sub, sub_value, item_value) {
            (Some(s), Some(v), _) => {
                m.insert(s.name().to_owned(), v);
            }
            (None, _, Some(new)) => merge_object(&mut m, new),
            _ => {}
        }
        items.push(Value::Object(m));
    }
    tidy(doc, ext);
    Ok(())
}

fn remove(
    kind: Kind,
    doc: &mut Map<String, Value>,
    target: Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match target {
        Target::Extension(e) => {
            doc.remove(e);
        }
        Target::Attr { ext, def, sub: None } => {
            let c = container(doc, ext)?;
            match value.filter(|v| !v.is_null() && def.multi()) {
                // `{"op":"remove","path":"members","value":[{"value":"id"}]}` (Entra ID).
                Some(v) => {
                    let gone = attr_value(def, v, def.name())?.unwrap_or(Value::Array(Vec::new()));
                    let gone = gone.as_array().cloned().unwrap_or_default();
                    if let Some(Value::Array(items)) = c.get_mut(def.name()) {
                        items.retain(|i| !gone.iter().any(|g| same_item(def, i, g)));
                        if items.is_empty() {
                            c.remove(def.name());
                        }
                    }
                }
                None => {
                    c.remove(def.name());
                }
            }
            tidy(doc, ext);
        }
        Target::Attr {
            ext,
            def,
            sub: Some(sub),
        } => {
            let c = container(doc, ext)?;
            match c.get_mut(def.name()) {
                Some(Value::Object(m)) => {
                    m.remove(sub.name());
                    if m.is_empty() {
                        c.remove(def.name());
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut() {
                        if let Value::Object(m) = i {
                            m.remove(sub.name());
                        }
                    }
                    items.retain(|i| i.as_object().is_none_or(|m| !m.is_empty()));
                }
                _ => {}
            }
            tidy(doc, ext);
        }
        Target::Filtered {
            ext,
            def,
            filter,
            sub,
        } => {
            let c = container(doc, ext)?;
            if let Some(Value::Array(items)) = c.get_mut(def.name()) {
                match sub {
                    None => items.retain(|i| !filter::matches_value(&filter, i, kind, ext, def.name())),
                    Some(s) => {
                        for i in items.iter_mut() {
                            if filter::matches_value(&filter, i, kind, ext, def.name()) {
                                if let Value::Object(m) = i {
                                    m.remove(s.name());
                                }
                            }
                        }
                    }
                }
                if items.is_empty() {
                    c.remove(def.name());
                }
            }
            tidy(doc, ext);
        }
    }
    Ok(())
}

fn add_or_replace(
    kind: Kind,
    doc: &mut Map<String, Value>,
    op: Op,
    target: Target,
    value: &Value,
    path: &str,
) -> Result<(), ScimError> {
    match target {
        Target::Extension(e) => {
            let Value::Object(m) = value else {
                return Err(invalid_value(format!("`{e}` takes an object")));
            };
            // Clients serialising an extension object may include its `schemas`.
            for (k, v) in m.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("schemas")) {
                let def = schema::attr(e, k)
                    .ok_or_else(|| invalid_path(format!("`{e}` has no attribute `{k}`")))?;
                set_attr(doc, Some(e), def, v, op)?;
            }
            Ok(())
        }
        Target::Attr { ext, def, sub: None } => set_attr(doc, ext, def, value, op),
        Target::Attr {
            ext,
            def,
            sub: Some(sub),
        } => set_sub(doc, ext, def, sub, value, op),
        Target::Filtered {
            ext,
            def,
            filter,
            sub,
        } => set_filtered(kind, doc, ext, def, &filter, sub, value, path),
    }
}

/// Applies `ops` in order to `doc` (a normalised resource without `id`/`meta`). `id` and
/// `schemas` keys inside a path-less value are ignored (Okta repeats the id there).
pub fn apply(kind: Kind, doc: &mut Map<String, Value>, ops: &[PatchOp]) -> Result<(), ScimError> {
    for op in ops {
        match (&op.path, op.op) {
            (None, Op::Remove) => return Err(no_target("`remove` needs a `path`")),
            (None, _) => {
                let Some(Value::Object(m)) = &op.value else {
                    return Err(invalid_value(
                        "an operation without `path` takes an object `value`",
                    ));
                };
                for (k, v) in m {
                    if ["id", "schemas", "meta"]
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(k))
                    {
                        continue;
                    }
                    let t = target(kind, k)?;
                    add_or_replace(kind, doc, op.op, t, v, k)?;
                }
            }
            (Some(path), Op::Remove) => remove(kind, doc, target(kind, path)?, op.value.as_ref())?,
            (Some(path), _) => {
                let t = target(kind, path)?;
                add_or_replace(
                    kind,
                    doc,
                    op.op,
                    t,
                    op.value.as_ref().unwrap_or(&Value::Null),
                    path,
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn patch(kind: Kind, start: Value, body: Value) -> Result<Value, ScimError> {
        let ops = parse_request(&body)?;
        let mut d = doc(start);
        apply(kind, &mut d, &ops)?;
        Ok(Value::Object(d))
    }

    fn ok(kind: Kind, start: Value, ops: Value) -> Value {
        patch(
            kind,
            start,
            json!({"schemas": [schema::PATCH_OP], "Operations": ops}),
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn err(kind: Kind, start: Value, ops: Value) -> &'static str {
        match patch(kind, start, json!({"Operations": ops})) {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => e.scim_type.unwrap_or("none"),
        }
    }

    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn okta_replace_without_path_and_group_member_changes() {
        let user = json!({"userName": "a@x.io", "active": true});
        assert_eq!(
            ok(
                Kind::User,
                user,
                json!([{"op": "replace", "value": {"active": false}}])
            ),
            json!({"userName": "a@x.io", "active": false})
        );
        // Okta renames a group with its id in the value, and replaces the member list.
        let group = json!({"displayName": "eng", "members": [{"value": "u1"}, {"value": "u2"}]});
        let out = ok(
            Kind::Group,
            group.clone(),
            json!([
                {"op": "replace", "value": {"id": "grp_1", "displayName": "engineering"}},
                {"op": "replace", "path": "members", "value": [{"value": "u3", "display": "c"}]}
            ]),
        );
        assert_eq!(
            out,
            json!({"displayName": "engineering", "members": [{"value": "u3"}]})
        );
        let out = ok(
            Kind::Group,
            group,
            json!([
                {"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u4", "display": "d"}]},
                {"op": "remove", "path": "members[value eq \"u1\"]"}
            ]),
        );
        assert_eq!(
            out,
            json!({"displayName": "eng", "members": [{"value": "u2"}, {"value": "u4"}]})
        );
    }

    #[test]
    fn entra_capitalised_ops_string_booleans_filters_and_extension_paths() {
        let user = json!({"userName": "a@x.io", "active": true, "emails": [{"value": "a@x.io", "type": "work", "primary": true}]});
        let out = ok(
            Kind::User,
            user,
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@x.io"},
                {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "h@x.io"},
                {"op": "Add", "path": "name.givenName", "value": "Ann"},
                {"op": "Replace", "path": "displayName", "value": "Ann A"},
                {"op": "Add", "path": format!("{EXT}:department"), "value": "R&D"},
                {"op": "Replace", "path": format!("{EXT}:manager"), "value": "user-9"},
                {"op": "Add", "value": {"name.familyName": "A", "title": "Dr"}}
            ]),
        );
        assert_eq!(
            out,
            json!({
                "userName": "a@x.io",
                "active": false,
                "emails": [{"value": "b@x.io", "type": "work", "primary": true}, {"type": "home", "value": "h@x.io"}],
                "name": {"givenName": "Ann", "familyName": "A"},
                "displayName": "Ann A",
                "title": "Dr",
                EXT: {"department": "R&D", "manager": {"value": "user-9"}}
            })
        );
        let group = json!({"displayName": "eng", "members": [{"value": "u1"}, {"value": "u2"}]});
        let out = ok(
            Kind::Group,
            group,
            json!([
                {"op": "Add", "path": "members", "value": [{"value": "u3"}]},
                {"op": "Remove", "path": "members", "value": [{"value": "u1"}]}
            ]),
        );
        assert_eq!(
            out,
            json!({"displayName": "eng", "members": [{"value": "u2"}, {"value": "u3"}]})
        );
    }

    #[test]
    fn removals_and_bare_extension_paths() {
        let user = json!({"userName": "u", "title": "t", "name": {"givenName": "g", "familyName": "f"},
                          EXT: {"department": "d"}});
        let out = ok(
            Kind::User,
            user.clone(),
            json!([{"op": "remove", "path": "title"}, {"op": "remove", "path": "name.givenName"}]),
        );
        assert_eq!(
            out,
            json!({"userName": "u", "name": {"familyName": "f"}, EXT: {"department": "d"}})
        );
        let out = ok(Kind::User, user.clone(), json!([{"op": "remove", "path": EXT}]));
        assert!(out.get(EXT).is_none());
        let out = ok(
            Kind::User,
            user,
            json!([{"op": "replace", "path": EXT, "value": {"costCenter": "c"}}]),
        );
        assert_eq!(out[EXT], json!({"department": "d", "costCenter": "c"}));
    }

    #[test]
    fn invalid_operations_have_the_right_scim_type() {
        let user = json!({"userName": "u", "emails": [{"value": "a@x.io", "type": "work"}]});
        assert_eq!(
            err(Kind::User, user.clone(), json!([{"op": "remove"}])),
            "noTarget"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "emails[type eq \"home\" or primary eq true].value", "value": "x"}])
            ),
            "noTarget"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "nosuch", "value": "x"}])
            ),
            "invalidPath"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "name.nosuch", "value": "x"}])
            ),
            "invalidPath"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])
            ),
            "invalidPath"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "emails[type eq ]", "value": "x"}])
            ),
            "invalidPath"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "urn:x:y:User:title", "value": "x"}])
            ),
            "invalidPath"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "active", "value": "sometimes"}])
            ),
            "invalidValue"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "name", "value": 3}])
            ),
            "invalidValue"
        );
        assert_eq!(
            err(Kind::User, user.clone(), json!([{"op": "add", "path": "title"}])),
            "invalidValue"
        );
        assert_eq!(
            err(Kind::User, user.clone(), json!([{"op": "replace", "value": "x"}])),
            "invalidValue"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "replace", "path": "id", "value": "x"}])
            ),
            "mutability"
        );
        assert_eq!(
            err(
                Kind::User,
                user.clone(),
                json!([{"op": "frobnicate", "path": "title", "value": "x"}])
            ),
            "invalidSyntax"
        );
        assert_eq!(err(Kind::User, user, json!([])), "invalidSyntax");
    }
}
