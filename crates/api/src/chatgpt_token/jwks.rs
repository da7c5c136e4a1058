//! The issuer's public keys: loaded from a file or URL, cached, reloaded when a token names an
//! unknown `kid` or the keys are older than [`MAX_AGE`], never more often than the minimum
//! refresh interval (an attacker sending random `kid`s must not make Steward hammer the issuer).

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::{printable, ChatgptTokenSetupError, JwksSource, TokenError, DEFAULT_MIN_REFRESH_INTERVAL};

/// Keys older than this are reloaded on the next verification (kept if the reload fails).
const MAX_AGE: Duration = Duration::from_secs(3600);
/// Upper bound of one JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// A JWKS larger than this is refused.
const MAX_JWKS_BYTES: usize = 1 << 20;

enum Source {
    File(PathBuf),
    Url { url: String, http: reqwest::Client },
}

pub(super) struct KeyStore {
    source: Source,
    current: RwLock<Arc<KeySet>>,
    refresh: tokio::sync::Mutex<RefreshState>,
    min_refresh_interval: Duration,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<VerifyKey>,
    /// `None`: never loaded successfully.
    loaded_at: Option<Instant>,
}

struct VerifyKey {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one.
    alg: Option<Algorithm>,
    family: AlgorithmFamily,
    key: DecodingKey,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<Instant>,
    last_error: Option<String>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::File(p) => format!("file {}", p.display()),
            Source::Url { url, .. } => format!("url {url}"),
        };
        let keys = self.snapshot().keys.len();
        f.debug_struct("KeyStore")
            .field("source", &source)
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl KeyStore {
    pub(super) fn new(source: JwksSource) -> Result<Self, ChatgptTokenSetupError> {
        let (source, initial) = match source {
            JwksSource::File(path) => {
                let bytes = std::fs::read(&path).map_err(|e| ChatgptTokenSetupError::JwksFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let keys = parse_jwks(&bytes).map_err(|reason| ChatgptTokenSetupError::JwksFile {
                    path: path.clone(),
                    reason,
                })?;
                let set = KeySet {
                    keys,
                    loaded_at: Some(Instant::now()),
                };
                (Source::File(path), set)
            }
            JwksSource::Url(url) => {
                let parsed = url::Url::parse(&url)
                    .map_err(|e| ChatgptTokenSetupError::JwksUrl(format!("{url}: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(ChatgptTokenSetupError::JwksUrl(format!(
                        "{url}: only http and https are supported"
                    )));
                }
                let http = reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .build()
                    .map_err(|e| ChatgptTokenSetupError::JwksUrl(format!("HTTP client: {e}")))?;
                (Source::Url { url, http }, KeySet::default())
            }
        };
        Ok(Self {
            source,
            current: RwLock::new(Arc::new(initial)),
            refresh: tokio::sync::Mutex::new(RefreshState::default()),
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
        })
    }

    pub(super) fn set_min_refresh_interval(&mut self, interval: Duration) {
        self.min_refresh_interval = interval;
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys that may have signed a token with this `kid` and `alg`: the one with that `kid`,
    /// or, without a `kid`, every key of the algorithm's family.
    pub(super) async fn keys_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<DecodingKey>, TokenError> {
        let set = self.snapshot();
        let found = set.select(kid, alg);
        let stale = set.loaded_at.is_none_or(|t| t.elapsed() >= MAX_AGE);
        if !found.is_empty() && !stale {
            return Ok(found);
        }
        let set = self.reload(&set).await?;
        let found = set.select(kid, alg);
        if found.is_empty() {
            return Err(TokenError::UnknownKey(match kid {
                Some(kid) => format!(
                    "no {alg:?} key with kid `{}` in the JWKS of the token issuer",
                    printable(kid)
                ),
                None => format!("token has no kid and the JWKS has no {alg:?} key"),
            }));
        }
        Ok(found)
    }

    /// Reloads the source unless another task just did or the last attempt was too recent.
    /// A failed reload keeps the keys already loaded.
    async fn reload(&self, seen: &Arc<KeySet>) -> Result<Arc<KeySet>, TokenError> {
        let mut state = self.refresh.lock().await;
        let current = self.snapshot();
        if !Arc::ptr_eq(&current, seen) {
            return Ok(current); // reloaded while we waited for the lock
        }
        let too_soon = state
            .last_attempt
            .is_some_and(|t| t.elapsed() < self.min_refresh_interval);
        if !too_soon {
            state.last_attempt = Some(Instant::now());
            match self.load().await {
                Ok(keys) => {
                    state.last_error = None;
                    let set = Arc::new(KeySet {
                        keys,
                        loaded_at: Some(Instant::now()),
                    });
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = set.clone();
                    tracing::info!(keys = set.keys.len(), source = %self.source_name(), "loaded the ChatGPT token JWKS");
                    return Ok(set);
                }
                Err(reason) => {
                    tracing::warn!(source = %self.source_name(), %reason, "could not load the ChatGPT token JWKS");
                    state.last_error = Some(reason);
                }
            }
        }
        if current.loaded_at.is_none() {
            let reason = state
                .last_error
                .clone()
                .unwrap_or_else(|| "not loaded yet".to_owned());
            return Err(TokenError::JwksUnavailable(reason));
        }
        Ok(current)
    }

    fn source_name(&self) -> String {
        match &self.source {
            Source::File(p) => p.display().to_string(),
            Source::Url { url, .. } => url.clone(),
        }
    }

    async fn load(&self) -> Result<Vec<VerifyKey>, String> {
        let bytes = match &self.source {
            Source::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("reading {}: {e}", path.display()))?,
            Source::Url { url, http } => fetch(http, url).await?,
        };
        parse_jwks(&bytes)
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    if resp.content_length().is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
        return Err(format!("GET {url}: JWKS larger than {MAX_JWKS_BYTES} bytes"));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: reading the body: {e}"))?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(format!("GET {url}: JWKS larger than {MAX_JWKS_BYTES} bytes"));
    }
    Ok(body.to_vec())
}

impl KeySet {
    fn select(&self, kid: Option<&str>, alg: Algorithm) -> Vec<DecodingKey> {
        self.keys
            .iter()
            .filter(|k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
            .filter(|k| k.family == alg.family() && k.alg.is_none_or(|a| a == alg))
            .map(|k| k.key.clone())
            .collect()
    }
}

/// Parses `{"keys": [...]}`, keeping the asymmetric signature keys. Entries that are not usable
/// (encryption keys, symmetric keys, unknown types) are skipped; no usable key is an error.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyKey>, String> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<Value>,
    }
    let raw: RawSet =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JWKS ({{\"keys\": [...]}}): {e}"))?;
    let total = raw.keys.len();
    let mut keys = Vec::with_capacity(total);
    for (i, v) in raw.keys.into_iter().enumerate() {
        match usable_key(v) {
            Ok(k) => keys.push(k),
            Err(why) => tracing::debug!(index = i, %why, "skipping a JWKS entry"),
        }
    }
    if keys.is_empty() {
        return Err(format!(
            "no usable signature key (RSA, EC P-256/P-384 or Ed25519) among {total} entries"
        ));
    }
    Ok(keys)
}

fn usable_key(v: Value) -> Result<VerifyKey, String> {
    let jwk: Jwk = serde_json::from_value(v).map_err(|e| e.to_string())?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key".to_owned());
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(a) => Some(Algorithm::try_from(a).map_err(|_| format!("algorithm {a} is not for signatures"))?),
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    let family = key.family();
    if family == AlgorithmFamily::Hmac {
        return Err("a symmetric key".to_owned());
    }
    if alg.is_some_and(|a| a.family() != family) {
        return Err("its alg does not match its key type".to_owned());
    }
    Ok(VerifyKey {
        kid: jwk.common.key_id,
        alg,
        family,
        key,
    })
}
