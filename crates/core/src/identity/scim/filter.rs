//! SCIM filters (RFC 7644 §3.4.2.2): parsing and evaluation over a resource's JSON.
//!
//! Supported: `eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not (...)`, parentheses, value
//! paths (`emails[type eq "work" and primary eq true]`), sub-attributes (`name.givenName`,
//! `emails.value`, `meta.lastModified`) and URN-qualified names
//! (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`). Attribute names
//! match case-insensitively; string comparisons follow the attribute's `caseExact` (so
//! `userName` compares case-insensitively, `id` and `externalId` exactly).

use serde_json::{Map, Value};

use super::schema::{self, Kind};
use super::ScimError;

/// A path's URN names no schema of the resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownSchema;

/// `[urn:]attr[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// A schema URN prefix, when given (the core schema's or an extension's).
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Value),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`, whose paths are
    /// relative to that value.
    ValuePath(AttrPath, Box<Filter>),
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidFilter", detail)
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl AttrPath {
    /// Parses `[urn:]attr[.sub]`; `None` when malformed.
    pub fn parse(text: &str) -> Option<AttrPath> {
        let (urn, rest) = if text.len() > 4 && text[..4].eq_ignore_ascii_case("urn:") {
            let (urn, rest) = text.rsplit_once(':')?;
            (Some(urn.to_owned()), rest)
        } else {
            (None, text)
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        if !is_name(attr) || sub.is_some_and(|s| !is_name(s)) {
            return None;
        }
        Some(AttrPath {
            urn,
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// The extension this path is in, or `None` for the core schema (or no URN); `Err` for a
    /// URN the resource type does not have.
    pub fn extension(&self, kind: Kind) -> Result<Option<&'static str>, UnknownSchema> {
        match &self.urn {
            None => Ok(None),
            Some(u) if u.eq_ignore_ascii_case(kind.core_schema()) => Ok(None),
            Some(u) => kind.extension(u).map(Some).ok_or(UnknownSchema),
        }
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        write!(f, "{}", self.attr)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    '[' => Token::LBracket,
                    _ => Token::RBracket,
                });
            }
            '"' => {
                // A JSON string literal: find its end, honouring escapes, and decode it.
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid("unterminated string in filter"))?;
                let s: String = serde_json::from_str(&text[i..=end])
                    .map_err(|_| invalid("invalid string literal in filter"))?;
                out.push(Token::Str(s));
            }
            _ => {
                let start = i;
                let mut end = text.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '[' | ']' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Word(text[start..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, want: Token, what: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            _ => Err(invalid(format!("expected {what} in filter"))),
        }
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") && self.tokens.get(self.pos + 1) == Some(&Token::LParen) {
            self.pos += 2;
            let inner = self.or()?;
            self.expect(Token::RParen, "`)`")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::LParen) => {
                let inner = self.or()?;
                self.expect(Token::RParen, "`)`")?;
                Ok(inner)
            }
            Some(Token::Word(w)) => {
                let path =
                    AttrPath::parse(&w).ok_or_else(|| invalid(format!("invalid attribute path `{w}`")))?;
                if self.peek() == Some(&Token::LBracket) {
                    self.pos += 1;
                    if path.sub.is_some() {
                        return Err(invalid(format!(
                            "`{w}[...]`: a value filter applies to an attribute"
                        )));
                    }
                    let inner = self.or()?;
                    self.expect(Token::RBracket, "`]`")?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                self.comparison(path)
            }
            Some(t) => Err(invalid(format!("unexpected {t:?} in filter"))),
            None => Err(invalid("the filter ends too early")),
        }
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        let op = match self.next() {
            Some(Token::Word(op)) => op.to_ascii_lowercase(),
            _ => return Err(invalid(format!("expected an operator after `{path}`"))),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            other => return Err(invalid(format!("unknown operator `{other}`"))),
        };
        let value = match self.next() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                n => match serde_json::from_str::<serde_json::Number>(n) {
                    Ok(n) => Value::Number(n),
                    Err(_) => return Err(invalid(format!("invalid comparison value `{n}` (quote strings)"))),
                },
            },
            _ => return Err(invalid(format!("expected a value after `{path}`"))),
        };
        let ok = match op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => value.is_string(),
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                value.is_string() || value.is_number()
            }
            CompareOp::Eq | CompareOp::Ne => true,
        };
        if !ok {
            return Err(invalid(format!("operator {op:?} does not apply to {value}")));
        }
        Ok(Filter::Compare(path, op, value))
    }
}

/// Parses a filter expression.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    if text.trim().is_empty() {
        return Err(invalid("empty filter"));
    }
    let mut p = Parser {
        tokens: tokenize(text)?,
        pos: 0,
    };
    let f = p.or()?;
    if p.pos < p.tokens.len() {
        return Err(invalid(format!("unexpected {:?} in filter", p.tokens[p.pos])));
    }
    Ok(f)
}

/// Case-insensitive key lookup.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Where filter paths are resolved: the whole resource, or one value of a multi-valued
/// attribute inside a value path.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(Kind),
    Within(Kind, Option<&'static str>, &'a str),
}

fn case_exact(scope: Scope<'_>, path: &AttrPath, ext: Option<&str>) -> bool {
    let def = match scope {
        Scope::Resource(kind) => schema::resource_attr(kind, ext, &path.attr).and_then(|a| match &path.sub {
            Some(s) => a.sub_attr(s),
            None => a.sub_attr("value").filter(|_| a.multi()).or(Some(a)),
        }),
        Scope::Within(kind, ext, parent) => {
            schema::resource_attr(kind, ext, parent).and_then(|a| a.sub_attr(&path.attr))
        }
    };
    def.is_some_and(|a| a.case_exact())
}

/// The values `path` designates in `obj` (a multi-valued attribute contributes each value; a
/// complex value without a sub-attribute its `value`).
fn values<'a>(obj: &'a Map<String, Value>, scope: Scope<'_>, path: &AttrPath) -> Vec<&'a Value> {
    let container = match (scope, &path.urn) {
        (Scope::Resource(kind), Some(_)) => match path.extension(kind) {
            Ok(Some(ext)) => match get_ci(obj, ext) {
                Some(Value::Object(m)) => m,
                _ => return Vec::new(),
            },
            Ok(None) => obj,
            Err(UnknownSchema) => return Vec::new(),
        },
        _ => obj,
    };
    let Some(v) = get_ci(container, &path.attr) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(|item| match (&path.sub, item) {
            (Some(s), Value::Object(m)) => get_ci(m, s),
            (Some(_), _) => None,
            (None, Value::Object(m)) => get_ci(m, "value"),
            (None, other) => Some(other),
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn compare(actual: &Value, op: CompareOp, want: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let fold = |s: &str| if exact { s.to_owned() } else { s.to_lowercase() };
    let ordering = match (actual, want) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (fold(a), fold(b));
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Less),
            _ => return false,
        },
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => return a == b,
            CompareOp::Ne => return a != b,
            _ => return false,
        },
        // Entra ID writes booleans as strings ("True"); compare them as booleans.
        (Value::String(a), Value::Bool(b)) | (Value::Bool(b), Value::String(a)) => {
            let eq = a.eq_ignore_ascii_case(if *b { "true" } else { "false" });
            return match op {
                CompareOp::Eq => eq,
                CompareOp::Ne => !eq,
                _ => false,
            };
        }
        _ => return op == CompareOp::Ne,
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn eval(f: &Filter, obj: &Map<String, Value>, scope: Scope<'_>) -> bool {
    match f {
        Filter::And(a, b) => eval(a, obj, scope) && eval(b, obj, scope),
        Filter::Or(a, b) => eval(a, obj, scope) || eval(b, obj, scope),
        Filter::Not(a) => !eval(a, obj, scope),
        Filter::Present(p) => values(obj, scope, p)
            .iter()
            .any(|v| !matches!(v, Value::String(s) if s.is_empty())),
        Filter::Compare(p, op, want) => {
            let found = values(obj, scope, p);
            if want.is_null() {
                return match op {
                    CompareOp::Eq => found.is_empty(),
                    _ => !found.is_empty(),
                };
            }
            let ext = match scope {
                Scope::Resource(kind) => p.extension(kind).ok().flatten(),
                Scope::Within(_, ext, _) => ext,
            };
            let exact = case_exact(scope, p, ext);
            match op {
                CompareOp::Ne => !found.iter().any(|v| compare(v, CompareOp::Eq, want, exact)),
                _ => found.iter().any(|v| compare(v, *op, want, exact)),
            }
        }
        Filter::ValuePath(p, inner) => {
            let Scope::Resource(kind) = scope else {
                return false;
            };
            let Ok(ext) = p.extension(kind) else {
                return false;
            };
            let container = match ext {
                Some(e) => match get_ci(obj, e) {
                    Some(Value::Object(m)) => m,
                    _ => return false,
                },
                None => obj,
            };
            let within = Scope::Within(kind, ext, &p.attr);
            match get_ci(container, &p.attr) {
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|i| matches!(i, Value::Object(m) if eval(inner, m, within))),
                Some(Value::Object(m)) => eval(inner, m, within),
                _ => false,
            }
        }
    }
}

/// Whether the resource (its full JSON representation) matches `f`.
pub fn matches(f: &Filter, resource: &Value, kind: Kind) -> bool {
    match resource {
        Value::Object(m) => eval(f, m, Scope::Resource(kind)),
        _ => false,
    }
}

/// Whether `f`, evaluated on one value of a multi-valued attribute `parent`, matches `item`
/// (PATCH value paths like `emails[type eq "work"]`).
pub fn matches_value(f: &Filter, item: &Value, kind: Kind, ext: Option<&'static str>, parent: &str) -> bool {
    match item {
        Value::Object(m) => eval(f, m, Scope::Within(kind, ext, parent)),
        _ => false,
    }
}

/// An `attr eq "value"` term the whole filter requires (at the top or under `and`), for an
/// index lookup before the full evaluation.
pub fn required_eq(f: &Filter) -> Vec<(&AttrPath, &str)> {
    match f {
        Filter::Compare(p, CompareOp::Eq, Value::String(s)) => vec![(p, s.as_str())],
        Filter::And(a, b) => {
            let mut v = required_eq(a);
            v.extend(required_eq(b));
            v
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "id": "user-1",
            "userName": "Alice@Example.com",
            "externalId": "00u1",
            "active": true,
            "displayName": "Alice Liddell",
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "emails": [
                {"value": "alice@example.com", "type": "work", "primary": true},
                {"value": "alice@home.example", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Research"},
            "meta": {"lastModified": "2026-01-02T00:00:00.000Z"}
        })
    }

    fn check(filter: &str) -> bool {
        matches(
            &parse(filter).unwrap_or_else(|e| panic!("{filter}: {e:?}")),
            &user(),
            Kind::User,
        )
    }

    fn scim_type(filter: &str) -> Option<&'static str> {
        parse(filter).err().and_then(|e| e.scim_type)
    }

    #[test]
    fn eq_on_the_attributes_idps_filter_by() {
        assert!(
            check(r#"userName eq "alice@example.com""#),
            "userName is case-insensitive"
        );
        assert!(
            check(r#"USERNAME EQ "ALICE@EXAMPLE.COM""#),
            "attribute names and operators too"
        );
        assert!(!check(r#"userName eq "bob@example.com""#));
        assert!(check(r#"externalId eq "00u1""#));
        assert!(!check(r#"externalId eq "00U1""#), "externalId is case-exact");
        assert!(check(r#"id eq "user-1""#));
        assert!(check(r#"emails.value eq "ALICE@home.example""#));
        assert!(check(r#"displayName eq "alice liddell""#));
        assert!(check(r#"name.givenName eq "Alice""#));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "research""#
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com""#
        ));
        assert!(check("active eq true"));
        assert!(!check("active eq false"));
    }

    #[test]
    fn logic_string_operators_presence_and_value_paths() {
        assert!(check(r#"userName sw "alice" and externalId pr"#));
        assert!(check(r#"userName ew "COM" and not (active eq false)"#));
        assert!(check(r#"userName co "nope" or displayName co "liddell""#));
        assert!(!check(
            r#"userName co "nope" or (displayName co "x" and active eq true)"#
        ));
        assert!(!check("title pr"));
        assert!(check(r#"emails[type eq "work" and value co "example.com"]"#));
        assert!(!check(r#"emails[type eq "work" and value co "home"]"#));
        assert!(check(r#"meta.lastModified gt "2025-12-31T00:00:00Z""#));
        assert!(check(r#"userName ne "bob""#));
    }

    #[test]
    fn malformed_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName eq "unterminated"#,
            r#"userName xx "a""#,
            r#"userName eq alice"#,
            r#"(userName eq "a""#,
            r#"userName eq "a" and"#,
            r#"userName eq "a" extra"#,
            r#"emails[type eq "work""#,
            r#"active co true"#,
            r#"9bad eq "a""#,
        ] {
            assert_eq!(scim_type(bad), Some("invalidFilter"), "{bad:?}");
        }
    }

    #[test]
    fn required_eq_terms_feed_index_lookups() {
        let f = parse(r#"userName eq "a" and active eq true"#).unwrap_or_else(|e| panic!("{e:?}"));
        let terms = required_eq(&f);
        assert_eq!(terms.len(), 1);
        assert_eq!(terms[0].0.attr, "userName");
        assert_eq!(terms[0].1, "a");
        let f = parse(r#"userName eq "a" or userName eq "b""#).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(required_eq(&f).is_empty());
    }
}
