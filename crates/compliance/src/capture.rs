//! Capture profiles: what a workspace keeps of Codex content (prompt text, response text, tool
//! arguments, tool output) before anything reaches the compliance log.
//!
//! Why this shape:
//!
//! * The decision is made **once, at ingest**: content that should not be kept is never stored,
//!   so there is nothing to purge later. A profile is compiled once per workspace
//!   ([`CaptureProfile::compile`]) and applied to every piece of content.
//! * Four modes ([`CaptureMode`]): `full` keeps the text, `redacted` replaces matches of the
//!   selected pattern sets with `[REDACTED:<kind>]`, `hashed` keeps only a keyed hash, `dropped`
//!   keeps nothing.
//! * `hashed` uses **HMAC-SHA256 with a per-workspace secret** and produces
//!   `"hmac-sha256:<hex>"`. A plain SHA-256 of a short prompt ("yes", "run the tests") can be
//!   reversed by hashing a dictionary of likely prompts; without the key that is impossible,
//!   while equal content in one workspace still has equal hashes (deduplication, "was this exact
//!   text sent?" checks by someone who holds the key). Hashes from different workspaces (keys)
//!   cannot be correlated. The key must be at least [`MIN_HASH_KEY_LEN`] bytes.
//! * Every application returns a [`CaptureReport`] (mode, per-kind redaction counts, original
//!   length) so the compliance record can say what was done. The report never contains matched
//!   text.
//! * Redaction runs one [`regex::RegexSet`] pass to find which patterns occur at all, then only
//!   those patterns locate their matches; patterns earlier in the list win overlaps (specific
//!   token formats before generic `key=value` rules, secrets before emails, built-ins before
//!   custom patterns). The `regex` crate matches in linear time, so no input can make it hang.
//!
//! The built-in pattern kinds are listed in `capture/patterns.rs`.

mod json;
mod keyed_hash;
mod patterns;
mod redactor;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::keyed_hash::KeyedHasher;
use self::patterns::SecretKeys;
use self::redactor::{Counts, Redactor, Rule};

/// Content-bearing attributes of Codex's OTLP log events (docs/research/codex-0.169-otel-signals.md
/// §3.3): what capture profiles apply to at ingest, and what sealing moves out of the stored
/// raw event into the compliance log (where retention and deletion requests can erase it).
pub fn content_attributes(event_name: &str) -> &'static [&'static str] {
    match event_name {
        "codex.user_prompt" => &["prompt"],
        "codex.tool_result" => &["arguments", "output"],
        // Answers read from shipped rollouts (`steward_model::AGENT_MESSAGE`).
        "codex.agent_message" => &["message"],
        _ => &[],
    }
}

/// Every attribute [`content_attributes`] names, for any event.
pub const ALL_CONTENT_ATTRIBUTES: &[&str] = &["prompt", "arguments", "output", "message"];

/// The shortest per-workspace hash key accepted for [`CaptureMode::Hashed`].
pub const MIN_HASH_KEY_LEN: usize = 16;

/// What is kept of each piece of content.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// Kept as is.
    #[default]
    Full,
    /// Kept, with matches of the selected patterns replaced by `[REDACTED:<kind>]`.
    Redacted,
    /// Only `"hmac-sha256:<hex>"` of the content, keyed per workspace.
    Hashed,
    /// Nothing kept.
    Dropped,
}

/// A group of built-in patterns that can be selected for redaction.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PatternSet {
    /// API keys, tokens, private keys, passwords and credentials in URLs.
    Secrets,
    /// Email addresses.
    Emails,
}

/// An admin-defined pattern. The whole match is redacted, unless the regex has capture groups
/// whose names start with `secret` (e.g. `employee=(?P<secret>\d+)`): then only the first of those
/// that participated is, and the rest of the match is kept as context. Prefer bounded patterns:
/// a leading `.*` or an unclosed `"[^"]*"` that can run to the end of the text makes every search
/// rescan the rest of it.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// The kind in markers and reports: 1 to 64 of `a-z`, `0-9`, `_`, starting with a letter.
    pub name: String,
    /// A `regex` crate pattern.
    pub regex: String,
}

/// A workspace's capture configuration, as stored in settings.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    pub mode: CaptureMode,
    /// Built-in pattern sets used in `redacted` mode.
    pub redact: Vec<PatternSet>,
    /// Extra patterns used in `redacted` mode, after the built-in ones.
    pub custom_patterns: Vec<CustomPattern>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            mode: CaptureMode::Full,
            redact: vec![PatternSet::Secrets, PatternSet::Emails],
            custom_patterns: Vec::new(),
        }
    }
}

/// Why a [`CaptureConfig`] cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("custom pattern `{name}` has an invalid regex `{regex}`: {error}")]
    InvalidRegex {
        name: String,
        regex: String,
        error: regex::Error,
    },
    #[error(
        "custom pattern name `{name}` is invalid: use 1 to 64 of a-z, 0-9 and _, starting with a letter"
    )]
    InvalidName { name: String },
    #[error("custom pattern name `{name}` is used twice or is the kind of a built-in pattern")]
    DuplicateName { name: String },
    #[error("hashed capture needs a hash key of at least {MIN_HASH_KEY_LEN} bytes, got {len}")]
    HashKeyTooShort { len: usize },
    #[error("the patterns are too large to compile together: {0}")]
    TooLarge(regex::Error),
}

/// Number of replacements of one pattern kind.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RedactionCount {
    pub kind: String,
    pub count: u32,
}

/// What was done to one piece of content; safe to store next to it (never holds content).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CaptureReport {
    pub mode: CaptureMode,
    /// Per kind, sorted by kind; empty unless the mode is `redacted`.
    pub redactions: Vec<RedactionCount>,
    /// Length in bytes of the content before capture (for JSON: of its canonical serialization).
    pub original_length: usize,
}

/// The kept value (None when dropped) and what was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    pub value: Option<String>,
    pub report: CaptureReport,
}

/// A compiled [`CaptureConfig`]; compile once per workspace, apply to every piece of content.
#[derive(Clone)]
pub struct CaptureProfile {
    mode: CaptureMode,
    redactor: Redactor,
    secret_keys: Option<SecretKeys>,
    hasher: Option<KeyedHasher>,
}

impl std::fmt::Debug for CaptureProfile {
    // Hand-written so the hash key can never end up in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureProfile")
            .field("mode", &self.mode)
            .field("kinds", &self.redactor.kinds().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl CaptureProfile {
    /// Compiles `cfg`. Custom patterns are validated in every mode, so switching a workspace to
    /// `redacted` later cannot fail. `hash_key` (the workspace secret) is only used, and only
    /// required to be at least [`MIN_HASH_KEY_LEN`] bytes, in `hashed` mode.
    pub fn compile(cfg: &CaptureConfig, hash_key: &[u8]) -> Result<Self, CaptureError> {
        let builtins = patterns::built_ins();
        let mut rules = Vec::new();
        for builtin in builtins.iter().filter(|b| cfg.redact.contains(&b.set)) {
            let regex = regex::Regex::new(&builtin.regex)
                .unwrap_or_else(|e| panic!("built-in pattern {} must compile: {e}", builtin.kind));
            rules.push(Rule::new(builtin.kind.to_owned(), regex, builtin.reject));
        }
        for custom in &cfg.custom_patterns {
            if !valid_name(&custom.name) {
                return Err(CaptureError::InvalidName {
                    name: custom.name.clone(),
                });
            }
            let builtin_kind = builtins.iter().any(|b| b.kind == custom.name);
            if builtin_kind || rules.iter().any(|r| r.kind == custom.name) {
                return Err(CaptureError::DuplicateName {
                    name: custom.name.clone(),
                });
            }
            let regex = regex::Regex::new(&custom.regex).map_err(|error| CaptureError::InvalidRegex {
                name: custom.name.clone(),
                regex: custom.regex.clone(),
                error,
            })?;
            rules.push(Rule::new(custom.name.clone(), regex, None));
        }
        let hasher = match cfg.mode {
            CaptureMode::Hashed if hash_key.len() < MIN_HASH_KEY_LEN => {
                return Err(CaptureError::HashKeyTooShort { len: hash_key.len() });
            }
            CaptureMode::Hashed => Some(KeyedHasher::new(hash_key)),
            _ => None,
        };
        Ok(Self {
            mode: cfg.mode,
            redactor: Redactor::new(rules).map_err(CaptureError::TooLarge)?,
            secret_keys: cfg.redact.contains(&PatternSet::Secrets).then(SecretKeys::new),
            hasher,
        })
    }

    pub fn mode(&self) -> CaptureMode {
        self.mode
    }

    /// Applies the profile to text content.
    pub fn apply(&self, text: &str) -> Captured {
        let mut counts = Counts::new();
        let value = match self.mode {
            CaptureMode::Full => Some(text.to_owned()),
            CaptureMode::Redacted => Some(self.redactor.redact(text, &mut counts).into_owned()),
            CaptureMode::Hashed => Some(self.hash(text.as_bytes())),
            CaptureMode::Dropped => None,
        };
        Captured {
            value,
            report: self.report(counts, text.len()),
        }
    }

    /// Applies the profile to JSON content (tool arguments): in `redacted` mode every string leaf
    /// is redacted (and a string under a key such as `password` or `api_key` is redacted whole,
    /// object keys themselves are kept); in `hashed` mode the canonical JSON (sorted keys, no
    /// whitespace) is hashed, so key order does not change the hash.
    pub fn apply_json(&self, v: &Value) -> (Option<Value>, CaptureReport) {
        let canonical = json::canonical(v);
        let mut counts = Counts::new();
        let value = match self.mode {
            CaptureMode::Full => Some(v.clone()),
            CaptureMode::Redacted => Some(json::redact_value(
                v,
                &self.redactor,
                self.secret_keys.as_ref(),
                &mut counts,
            )),
            CaptureMode::Hashed => Some(Value::String(self.hash(canonical.as_bytes()))),
            CaptureMode::Dropped => None,
        };
        (value, self.report(counts, canonical.len()))
    }

    fn hash(&self, bytes: &[u8]) -> String {
        self.hasher
            .as_ref()
            .expect("compile() sets a hasher in hashed mode")
            .digest(bytes)
    }

    fn report(&self, counts: Counts<'_>, original_length: usize) -> CaptureReport {
        let redactions = counts
            .into_iter()
            .map(|(kind, count)| RedactionCount {
                kind: kind.to_owned(),
                count,
            })
            .collect();
        CaptureReport {
            mode: self.mode,
            redactions,
            original_length,
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
