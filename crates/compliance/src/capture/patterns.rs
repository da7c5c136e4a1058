//! The built-in redaction patterns, in priority order (earlier wins an overlap).
//!
//! Kinds are stable names: they end up in stored markers (`[REDACTED:<kind>]`) and reports.
//!
//! | kind | set | what |
//! |---|---|---|
//! | `pem_private_key` | secrets | `-----BEGIN ... PRIVATE KEY-----` to the matching END line (or, if cut off, to the end of the base64 body) |
//! | `jwt` | secrets | `eyJ...` header, payload, signature |
//! | `aws_access_key` | secrets | `AKIA`/`ASIA` + 16 |
//! | `github_token` | secrets | `ghp_ gho_ ghu_ ghs_ ghr_ github_pat_` |
//! | `gitlab_token` | secrets | `glpat-` |
//! | `anthropic_api_key` | secrets | `sk-ant-` |
//! | `openai_api_key` | secrets | `sk-`, `sk-proj-`, `sk-svcacct-`, `sk-admin-` + 32 or more |
//! | `stripe_key` | secrets | `sk_live_`, `rk_live_` |
//! | `slack_token` | secrets | `xoxb- xoxa- xoxp- xoxr- xoxs-` |
//! | `google_api_key` | secrets | `AIza` + 35 |
//! | `huggingface_token` | secrets | `hf_` + 30 or more |
//! | `npm_token` | secrets | `npm_` + 36 |
//! | `aws_secret_key` | secrets | value of `aws_secret_access_key = ...` / `SecretAccessKey: ...` |
//! | `bearer_token` | secrets | token of `Authorization: Bearer ...` |
//! | `basic_auth` | secrets | credentials of `Authorization: Basic ...` |
//! | `connection_string_password` | secrets | password of `scheme://user:password@host` |
//! | `password_assignment` | secrets | value of `password=`, `passwd:`, `passphrase =>`, `DB_PASSWORD=` ... |
//! | `secret_assignment` | secrets | value of `secret=`, `token:`, `api_key=`, `client_secret`, `SECRET_KEY` ... |
//! | `email` | emails | email addresses |
//!
//! False positives on ordinary code are avoided on purpose: there is no "any long hex or base64
//! string" rule (git SHAs, UUIDs and digests are everywhere in Codex prompts), and assignment
//! rules keep the key and only redact a value that looks like data rather than code: a quoted
//! literal not starting with `<`, `[`, `{` or `${` (so `eos_token="</s>"` and templated
//! `"${DB_PASSWORD}"` stay), or an unquoted value with a digit or symbol (so
//! `password = get_password()` and `token: String` stay). For `secret_assignment` the value must
//! also be 8+ characters without spaces (so a lexer's `token = "while"` stays). `git@host`
//! (SSH remotes), `name@2x.png` and URL user names are not emails.

use std::ops::Range;

use regex::Regex;

use super::redactor::RejectFn;
use super::PatternSet;

pub(crate) const PASSWORD_ASSIGNMENT: &str = "password_assignment";
pub(crate) const SECRET_ASSIGNMENT: &str = "secret_assignment";

/// Key names (a key must end with one of these, so `max_tokens = 512` is not a secret).
const PASSWORD_KEYS: &str = "password|passwd|passphrase";
const SECRET_KEYS: &str = r"secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key";

pub(crate) struct BuiltIn {
    pub kind: &'static str,
    pub set: PatternSet,
    pub regex: String,
    pub reject: Option<RejectFn>,
}

pub(crate) fn built_ins() -> Vec<BuiltIn> {
    use PatternSet::{Emails, Secrets};
    // The body (base64 and `Proc-Type:`/`DEK-Info:` headers) cannot contain `-----`, so a search
    // stops at the next BEGIN/END line: an unbounded `.*?` would rescan to the end of the text
    // for every unterminated BEGIN, which is quadratic.
    let pem = r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:(?:[A-Za-z0-9+/=\s:,]|-{1,4}[A-Za-z0-9+/=\s:,])*-----END[A-Z0-9 ]*PRIVATE KEY-----|[A-Za-z0-9+/=\r\n]*)";
    let separator = r#"["']?[ \t]*(?:=>|:=|[:=])[ \t]*["']?"#;
    let table: Vec<(&'static str, PatternSet, String, Option<RejectFn>)> = vec![
        ("pem_private_key", Secrets, pem.into(), None),
        (
            "jwt",
            Secrets,
            r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*".into(),
            None,
        ),
        (
            "aws_access_key",
            Secrets,
            r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b".into(),
            None,
        ),
        (
            "github_token",
            Secrets,
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b".into(),
            None,
        ),
        (
            "gitlab_token",
            Secrets,
            r"\bglpat-[A-Za-z0-9_-]{20,}".into(),
            None,
        ),
        (
            "anthropic_api_key",
            Secrets,
            r"\bsk-ant-[A-Za-z0-9_-]{20,}".into(),
            None,
        ),
        (
            "openai_api_key",
            Secrets,
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}".into(),
            None,
        ),
        (
            "stripe_key",
            Secrets,
            r"\b[rs]k_live_[A-Za-z0-9]{16,}".into(),
            None,
        ),
        (
            "slack_token",
            Secrets,
            r"\bxox[baprs]-[A-Za-z0-9-]{10,}".into(),
            None,
        ),
        ("google_api_key", Secrets, r"\bAIza[A-Za-z0-9_-]{35}".into(), None),
        (
            "huggingface_token",
            Secrets,
            r"\bhf_[A-Za-z0-9]{30,}\b".into(),
            None,
        ),
        ("npm_token", Secrets, r"\bnpm_[A-Za-z0-9]{36}\b".into(), None),
        (
            "aws_secret_key",
            Secrets,
            format!(r"(?i)\b(?:aws_?)?secret_?access_?key{separator}(?P<secret>[A-Za-z0-9/+=]{{16,}})"),
            None,
        ),
        (
            "bearer_token",
            Secrets,
            format!(r"(?i)\bauthorization{separator}bearer[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)"),
            None,
        ),
        (
            "basic_auth",
            Secrets,
            format!(r"(?i)\bauthorization{separator}basic[ \t]+(?P<secret>[A-Za-z0-9+/]+=*)"),
            None,
        ),
        (
            "connection_string_password",
            Secrets,
            r#"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@"'<>]*:(?P<secret>[^\s/?#"'<>]+)@"#.into(),
            None,
        ),
        (
            PASSWORD_ASSIGNMENT,
            Secrets,
            assignment(PASSWORD_KEYS, true),
            None,
        ),
        (
            SECRET_ASSIGNMENT,
            Secrets,
            assignment(SECRET_KEYS, false),
            Some(shorter_than_8),
        ),
        (
            "email",
            Emails,
            r"(?i)\b[A-Z0-9._%+-]+@[A-Z0-9-]+(?:\.[A-Z0-9-]+)*\.[A-Z]{2,}\b".into(),
            Some(not_an_email),
        ),
    ];
    table
        .into_iter()
        // ASCII word boundaries: equivalent for these ASCII patterns, and they keep the fast
        // DFA engines usable on non-ASCII content (Unicode `\b` would fall back to a slower one).
        .map(|(kind, set, regex, reject)| BuiltIn {
            kind,
            set,
            regex: regex.replace(r"\b", r"(?-u:\b)"),
            reject,
        })
        .collect()
}

/// `<key><sep><value>` where the key ends with one of `keys`; the value is the `secret*` group.
fn assignment(keys: &str, spaces_in_quotes: bool) -> String {
    let ws = if spaces_in_quotes { r"\r\n" } else { r"\s" };
    // A quoted literal: not empty, not starting with `<`, `[`, `{` or `${`; JSON-style escapes.
    let quoted = |q: &str, name: &str| {
        r#"{Q}(?P<{NAME}>(?:\\.|\$[^{{Q}\\\s]|[^{Q}\\\s<\[{$])(?:\\.|[^{Q}\\{WS}])*){Q}"#
            .replace("{Q}", q)
            .replace("{NAME}", name)
            .replace("{WS}", ws)
    };
    // Unquoted: must contain a digit or symbol early, so identifiers and calls are not values.
    let bare =
        r#"(?P<secret_bare>(?:[A-Za-z_.:]*[0-9+/~-]|[A-Za-z_.:]+[@!#$%^*=])[^\s"'`,;(){}\[\]<>&|\\]*)"#;
    format!(
        r#"(?i)\b[A-Za-z0-9_.-]*(?:{keys})["']?[ \t]*(?:=>|:=|[:=])[ \t]*(?:{}|{}|{bare})"#,
        quoted("\"", "secret"),
        quoted("'", "secret_sq"),
    )
}

fn shorter_than_8(_: &str, span: Range<usize>) -> bool {
    span.len() < 8
}

/// SSH remotes (`git@github.com`), retina assets (`icon@2x.png`) and URL user names.
fn not_an_email(haystack: &str, span: Range<usize>) -> bool {
    const FILE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "avif"];
    let text = &haystack[span.clone()];
    let local = text.split('@').next().unwrap_or_default();
    let tld = text.rsplit('.').next().unwrap_or_default();
    local.eq_ignore_ascii_case("git")
        || FILE_EXTENSIONS.iter().any(|ext| tld.eq_ignore_ascii_case(ext))
        || haystack[..span.start].ends_with("://")
}

/// The key-name rules for parsed JSON, where `"password": "..."` is a key and a string leaf.
#[derive(Clone)]
pub(crate) struct SecretKeys {
    password: Regex,
    secret: Regex,
}

impl SecretKeys {
    pub fn new() -> Self {
        let key =
            |keys: &str| Regex::new(&format!(r"(?i)^[A-Za-z0-9_.-]*(?:{keys})$")).expect("valid key regex");
        Self {
            password: key(PASSWORD_KEYS),
            secret: key(SECRET_KEYS),
        }
    }

    /// The kind to redact `value` as, when stored under `key`; same value rules as the text form.
    pub fn classify(&self, key: &str, value: &str) -> Option<&'static str> {
        let literal = !value.is_empty() && !value.starts_with(['<', '[', '{']) && !value.starts_with("${");
        if !literal {
            None
        } else if self.password.is_match(key) {
            Some(PASSWORD_ASSIGNMENT)
        } else if self.secret.is_match(key) && value.len() >= 8 && !value.contains(char::is_whitespace) {
            Some(SECRET_ASSIGNMENT)
        } else {
            None
        }
    }
}
