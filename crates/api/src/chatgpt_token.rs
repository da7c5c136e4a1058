//! Verifies the bearer token a ChatGPT-signed-in Codex CLI sends when its `chatgpt_base_url`
//! points at Steward (`../shared/spec/chatgpt-backend-integration.md`), and resolves the caller
//! from the token's claims.
//!
//! The CLI sends `Authorization: Bearer <ChatGPT access token>` (a JWT) and `chatgpt-account-id`.
//! Claims used: `email` (top level, else `https://api.openai.com/profile` → `email`), and under
//! `https://api.openai.com/auth`: `chatgpt_account_id`, `chatgpt_user_id` (else `user_id`),
//! `chatgpt_plan_type`.
//!
//! Three modes, chosen by [`ChatgptTokenConfig`]:
//! - **JWKS** (`jwks = { file = ... }` or `{ url = ... }`): the signature must verify against a key
//!   of the set (RSA, EC or Ed25519 keys; RS*/PS*/ES256/ES384/EdDSA tokens), `exp` is required,
//!   `exp`/`nbf` are checked with [`LEEWAY_SECS`] of leeway, `iss`/`aud` when configured. Keys are
//!   cached; an unknown `kid` (or keys older than an hour) triggers a reload of the source, at most
//!   once per [`DEFAULT_MIN_REFRESH_INTERVAL`].
//! - **trust_unsigned** (tests only): any token whose payload decodes is accepted, signed or not,
//!   signature unchecked; `exp`/`nbf` are still checked when present, `iss`/`aud` when configured.
//! - **off** (neither): every token is rejected with [`TokenError::NotConfigured`].
//!
//! The token is never logged, stored or put in an error message.

mod jwks;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::jwks::KeyStore;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Minimum time between two reloads of the JWKS (unknown `kid`, stale keys, failed loads).
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// The `[chatgpt_backend]` section of Steward's configuration: how to trust the ChatGPT access
/// tokens Codex CLIs present.
///
/// ```toml
/// [chatgpt_backend]
/// jwks = { url = "https://issuer.example/.well-known/jwks.json" }   # or { file = "/etc/steward/jwks.json" }
/// issuer = "https://issuer.example"      # optional: required `iss`
/// audience = "https://api.openai.com/v1" # optional: required `aud`
/// trust_unsigned = false                 # true: TEST ONLY, signatures are not checked
/// ```
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ChatgptTokenConfig {
    /// Where the issuer's public keys are. `None` (and `trust_unsigned = false`): feature off.
    pub jwks: Option<JwksSource>,
    /// When set, tokens must carry exactly this `iss`.
    pub issuer: Option<String>,
    /// When set, tokens must carry this `aud` (a string or one of an array).
    pub audience: Option<String>,
    /// Accept tokens without checking any signature. Anyone can then claim any identity: tests only.
    pub trust_unsigned: bool,
}

/// Where a JWKS (`{"keys": [...]}`) is read from. In TOML: `{ file = "..." }` or `{ url = "..." }`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JwksSource {
    /// A local file, read at start-up and re-read when a token names an unknown `kid`.
    File(PathBuf),
    /// An `http`/`https` URL, fetched on first use, cached, refetched on an unknown `kid`.
    Url(String),
}

/// Who the caller is, from a verified token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatgptClaims {
    /// `email`, else `https://api.openai.com/profile` → `email`. Never empty.
    pub email: String,
    /// `https://api.openai.com/auth` → `chatgpt_account_id`.
    pub account_id: Option<String>,
    /// `https://api.openai.com/auth` → `chatgpt_user_id` (else `user_id`).
    pub user_id: Option<String>,
    /// `https://api.openai.com/auth` → `chatgpt_plan_type` (e.g. `enterprise`, `business`).
    pub plan_type: Option<String>,
}

/// Why a token was rejected. Messages never contain the token. Suggested HTTP mapping: 401 for
/// every variant except [`TokenError::JwksUnavailable`] (503) and [`TokenError::NotConfigured`]
/// (the feature is off: 401 or 404, the route's choice).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    MissingToken,
    #[error("malformed token: {0}")]
    MalformedToken(String),
    #[error(
        "token is unsigned (alg none); unsigned tokens are accepted only with \
         chatgpt_backend.trust_unsigned (test mode)"
    )]
    UnsignedToken,
    #[error("unsupported token signing algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("{0}")]
    UnknownKey(String),
    #[error("token issuer is not the configured chatgpt_backend.issuer")]
    WrongIssuer,
    #[error("token audience does not include the configured chatgpt_backend.audience")]
    WrongAudience,
    #[error("token has no email claim")]
    MissingEmail,
    #[error(
        "ChatGPT token verification is not configured: set chatgpt_backend.jwks \
         (or chatgpt_backend.trust_unsigned for tests)"
    )]
    NotConfigured,
    #[error("the JWKS of the ChatGPT token issuer is unavailable: {0}")]
    JwksUnavailable(String),
}

impl TokenError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::MissingToken => "missing_token",
            TokenError::MalformedToken(_) => "malformed_token",
            TokenError::UnsignedToken => "unsigned_token",
            TokenError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::UnknownKey(_) => "unknown_key",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::MissingEmail => "missing_email",
            TokenError::NotConfigured => "not_configured",
            TokenError::JwksUnavailable(_) => "jwks_unavailable",
        }
    }
}

/// A configuration that cannot work (bad JWKS file, bad URL).
#[derive(Debug, thiserror::Error)]
pub enum ChatgptTokenSetupError {
    #[error("chatgpt_backend.jwks file {path}: {reason}")]
    JwksFile { path: PathBuf, reason: String },
    #[error("chatgpt_backend.jwks url: {0}")]
    JwksUrl(String),
}

/// Verifies ChatGPT access tokens. Cheap to share (`Arc`); `verify` is safe to call concurrently.
#[derive(Debug)]
pub struct ChatgptTokenVerifier {
    mode: Mode,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Debug)]
enum Mode {
    Off,
    TrustUnsigned,
    Jwks(KeyStore),
}

impl ChatgptTokenVerifier {
    /// Checks the configuration and, for a JWKS file, loads the keys. A JWKS URL is fetched on
    /// first use (start-up does not depend on the issuer being reachable).
    pub fn new(config: ChatgptTokenConfig) -> Result<Self, ChatgptTokenSetupError> {
        let ChatgptTokenConfig {
            jwks,
            issuer,
            audience,
            trust_unsigned,
        } = config;
        let mode = if trust_unsigned {
            tracing::warn!(
                jwks_ignored = jwks.is_some(),
                "trusting unsigned ChatGPT tokens: test mode, anyone can claim any identity"
            );
            Mode::TrustUnsigned
        } else {
            match jwks {
                None => Mode::Off,
                Some(source) => {
                    // The process-wide provider of `jsonwebtoken`: pure-Rust RustCrypto. Set
                    // explicitly so that another crate enabling a second backend cannot make
                    // verification panic; an error only means a provider is already installed.
                    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
                    Mode::Jwks(KeyStore::new(source)?)
                }
            }
        };
        Ok(Self {
            mode,
            issuer,
            audience,
        })
    }

    /// Minimum time between two reloads of the JWKS (default [`DEFAULT_MIN_REFRESH_INTERVAL`]).
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        if let Mode::Jwks(store) = &mut self.mode {
            store.set_min_refresh_interval(interval);
        }
        self
    }

    /// Whether tokens can be accepted at all (JWKS or trust_unsigned configured).
    pub fn is_enabled(&self) -> bool {
        !matches!(self.mode, Mode::Off)
    }

    /// Verifies `bearer` (the token, with or without a leading `Bearer `) and returns the caller.
    pub async fn verify(&self, bearer: &str) -> Result<ChatgptClaims, TokenError> {
        if matches!(self.mode, Mode::Off) {
            return Err(TokenError::NotConfigured);
        }
        let token = strip_bearer(bearer);
        if token.is_empty() {
            return Err(TokenError::MissingToken);
        }
        let parts = TokenParts::split(token)?;
        let header: RawHeader = decode_part(parts.header, "header")?;
        let claims = match &self.mode {
            Mode::Off => return Err(TokenError::NotConfigured),
            Mode::TrustUnsigned => {
                let claims: RawClaims = decode_part(parts.payload, "payload")?;
                self.check_unverified(&claims)?;
                claims
            }
            Mode::Jwks(store) => {
                let alg = signing_algorithm(&header.alg)?;
                let kid = header.kid.as_deref();
                let keys = store.keys_for(kid, alg).await?;
                self.decode_verified(token, alg, &keys)?
            }
        };
        claims.into_chatgpt()
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        v.validate_exp = true;
        v.validate_nbf = true;
        let mut required: HashSet<String> = HashSet::from(["exp".to_owned()]);
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
            required.insert("iss".to_owned());
        }
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.insert("aud".to_owned());
            }
            None => v.validate_aud = false,
        }
        v.required_spec_claims = required;
        v
    }

    /// Tries each candidate key: the first that verifies wins; a failure other than a bad
    /// signature (expired, wrong issuer, ...) is final, since the signature was good.
    fn decode_verified(
        &self,
        token: &str,
        alg: Algorithm,
        keys: &[jsonwebtoken::DecodingKey],
    ) -> Result<RawClaims, TokenError> {
        let validation = self.validation(alg);
        for key in keys {
            match jsonwebtoken::decode::<RawClaims>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) => return Err(map_jwt_error(e.kind())),
            }
        }
        Err(TokenError::BadSignature)
    }

    /// trust_unsigned: the checks that do not need a signature.
    fn check_unverified(&self, claims: &RawClaims) -> Result<(), TokenError> {
        let now = now_secs();
        if let Some(exp) = &claims.exp {
            let exp = numeric_date(exp, "exp")?;
            if exp + (LEEWAY_SECS as f64) < now {
                return Err(TokenError::Expired);
            }
        }
        if let Some(nbf) = &claims.nbf {
            let nbf = numeric_date(nbf, "nbf")?;
            if nbf > now + LEEWAY_SECS as f64 {
                return Err(TokenError::NotYetValid);
            }
        }
        if let Some(want) = &self.issuer {
            if claims.iss.as_ref().and_then(Value::as_str) != Some(want.as_str()) {
                return Err(TokenError::WrongIssuer);
            }
        }
        if let Some(want) = &self.audience {
            let ok = match &claims.aud {
                Some(Value::String(a)) => a == want,
                Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(want)),
                _ => false,
            };
            if !ok {
                return Err(TokenError::WrongAudience);
            }
        }
        Ok(())
    }
}

fn strip_bearer(s: &str) -> &str {
    let s = s.trim();
    match (s.get(..6), s.get(6..)) {
        (Some(scheme), Some(rest))
            if scheme.eq_ignore_ascii_case("bearer")
                && (rest.is_empty() || rest.starts_with(char::is_whitespace)) =>
        {
            rest.trim()
        }
        _ => s,
    }
}

/// The three dot-separated parts of a compact JWS. The signature may be empty (alg `none`).
struct TokenParts<'a> {
    header: &'a str,
    payload: &'a str,
}

impl<'a> TokenParts<'a> {
    fn split(token: &'a str) -> Result<Self, TokenError> {
        let mut it = token.split('.');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(header), Some(payload), Some(_sig), None) if !header.is_empty() && !payload.is_empty() => {
                Ok(Self { header, payload })
            }
            _ => Err(TokenError::MalformedToken(
                "not a JWT (expected three dot-separated parts)".to_owned(),
            )),
        }
    }
}

/// Decodes one base64url JSON part. Errors name the part, never its content.
fn decode_part<T: DeserializeOwned>(part: &str, what: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| TokenError::MalformedToken(format!("{what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let why = match e.classify() {
            serde_json::error::Category::Data => "has claims of the wrong type",
            _ => "is not a JSON object",
        };
        TokenError::MalformedToken(format!("{what} {why}"))
    })
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The asymmetric algorithm a signed token claims. `none` and HMAC are refused.
fn signing_algorithm(alg: &str) -> Result<Algorithm, TokenError> {
    if alg.eq_ignore_ascii_case("none") {
        return Err(TokenError::UnsignedToken);
    }
    match alg.parse::<Algorithm>() {
        Ok(a) if a.family() != AlgorithmFamily::Hmac => Ok(a),
        _ => Err(TokenError::UnsupportedAlgorithm(printable(alg))),
    }
}

/// A header value (attacker-controlled) made safe to show: short, plain characters only.
fn printable(s: &str) -> String {
    let ok = s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        s.to_owned()
    } else {
        "<unprintable>".to_owned()
    }
}

fn map_jwt_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) if c == "iss" => TokenError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(c) if c == "aud" => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) => {
            TokenError::MalformedToken(format!("missing required claim `{}`", printable(c)))
        }
        ErrorKind::InvalidClaimFormat(c) => {
            TokenError::MalformedToken(format!("claim `{}` has the wrong type", printable(c)))
        }
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            TokenError::MalformedToken("undecodable token".to_owned())
        }
        // Key/algorithm mismatches and anything else: the token does not verify with this key.
        _ => TokenError::BadSignature,
    }
}

#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    email: Option<String>,
    #[serde(rename = "https://api.openai.com/profile", default)]
    profile: Option<ProfileClaims>,
    #[serde(rename = "https://api.openai.com/auth", default)]
    auth: Option<AuthClaims>,
    #[serde(default)]
    exp: Option<Value>,
    #[serde(default)]
    nbf: Option<Value>,
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    aud: Option<Value>,
}

#[derive(Deserialize)]
struct ProfileClaims {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct AuthClaims {
    #[serde(default)]
    chatgpt_account_id: Option<String>,
    #[serde(default)]
    chatgpt_user_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    chatgpt_plan_type: Option<String>,
}

impl RawClaims {
    fn into_chatgpt(self) -> Result<ChatgptClaims, TokenError> {
        let non_empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let email = non_empty(self.email)
            .or_else(|| non_empty(self.profile.and_then(|p| p.email)))
            .ok_or(TokenError::MissingEmail)?;
        let (account_id, user_id, plan_type) = match self.auth {
            Some(a) => (
                non_empty(a.chatgpt_account_id),
                non_empty(a.chatgpt_user_id).or_else(|| non_empty(a.user_id)),
                non_empty(a.chatgpt_plan_type),
            ),
            None => (None, None, None),
        };
        Ok(ChatgptClaims {
            email,
            account_id,
            user_id,
            plan_type,
        })
    }
}

/// A JWT NumericDate (seconds since the epoch, integer or fractional).
fn numeric_date(v: &Value, claim: &str) -> Result<f64, TokenError> {
    v.as_f64()
        .ok_or_else(|| TokenError::MalformedToken(format!("claim `{claim}` is not a number")))
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_bearer_scheme() {
        assert_eq!(strip_bearer("Bearer a.b.c"), "a.b.c");
        assert_eq!(strip_bearer("bearer   a.b.c "), "a.b.c");
        assert_eq!(strip_bearer("a.b.c"), "a.b.c");
        assert_eq!(strip_bearer("Bearer "), "");
        assert_eq!(strip_bearer("Bearer"), "");
        assert_eq!(strip_bearer("Bearerx.y.z"), "Bearerx.y.z");
        assert_eq!(strip_bearer("ééé"), "ééé");
    }

    #[test]
    fn printable_hides_odd_header_values() {
        assert_eq!(printable("RS256"), "RS256");
        assert_eq!(printable("key-2025_01.a:b"), "key-2025_01.a:b");
        assert_eq!(printable("a b"), "<unprintable>");
        assert_eq!(printable(&"x".repeat(65)), "<unprintable>");
    }

    #[test]
    fn hmac_and_none_are_refused() {
        assert_eq!(signing_algorithm("none"), Err(TokenError::UnsignedToken));
        assert_eq!(signing_algorithm("NONE"), Err(TokenError::UnsignedToken));
        assert_eq!(
            signing_algorithm("HS256").map_err(|e| e.code()),
            Err("unsupported_algorithm")
        );
        assert_eq!(signing_algorithm("ES256"), Ok(Algorithm::ES256));
        assert_eq!(signing_algorithm("RS256"), Ok(Algorithm::RS256));
    }
}
