//! Configuration: one typed `Config`, loaded once from (lowest to highest precedence) built-in
//! defaults, a TOML file (`--config FILE`, else `./steward.toml` when present), `STEWARD_*`
//! environment variables, and command-line flags; validated once, then passed explicitly.
//!
//! Environment variables: `STEWARD_LISTEN`, `STEWARD_DATA_DIR`, `STEWARD_DATABASE_URL` are
//! shorthands; any key can be set as `STEWARD_<SECTION>__<KEY>` (e.g. `STEWARD_INGEST__QUEUE_CAPACITY`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub ingest: IngestConfig,
    pub analytics: AnalyticsSection,
    pub rate_card: RateCardSection,
    pub compliance: ComplianceSection,
    pub chatgpt_backend: ChatgptBackendSection,
    pub sso: SsoSection,
    pub log: LogConfig,
}

/// Signing people in (docs/sso.md): an OpenID Connect provider (Okta, Entra ID, Keycloak, ...)
/// for people, and the sessions of people and local admins (`steward admin create`). SSO is
/// off while `issuer` is empty; local admins can sign in either way.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoSection {
    /// The provider's issuer URL (discovery: `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// The client secret (or `client_secret_file`, or `STEWARD_SSO__CLIENT_SECRET`).
    pub client_secret: String,
    /// A file holding the client secret (trailing whitespace ignored).
    pub client_secret_file: String,
    /// The public URL of Steward's `/auth/callback`, registered with the provider.
    pub redirect_url: String,
    /// Space-separated scopes to ask for.
    pub scopes: String,
    /// The workspace people sign in to (empty: the default workspace).
    pub workspace_id: String,
    /// The ID-token claim holding the user's email.
    pub email_claim: String,
    /// Refuse ID tokens whose `email_verified` is not true (for `email_claim = "email"`).
    pub require_email_verified: bool,
    /// A session ends this many hours after sign-in.
    pub session_hours: u64,
    /// ... or after this many minutes without a request.
    pub idle_minutes: u64,
    /// `Secure` cookies: `"auto"` (when redirect_url is https), `true` or `false`.
    pub cookie_secure: CookieSecure,
}

/// `cookie_secure`: `"auto"` or a boolean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CookieSecure {
    Flag(bool),
    Mode(String),
}

impl Default for SsoSection {
    fn default() -> Self {
        SsoSection {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            client_secret_file: String::new(),
            redirect_url: String::new(),
            scopes: "openid email profile".to_owned(),
            workspace_id: String::new(),
            email_claim: "email".to_owned(),
            require_email_verified: true,
            session_hours: 12,
            idle_minutes: 120,
            cookie_secure: CookieSecure::Mode("auto".to_owned()),
        }
    }
}

// Never print the client secret.
impl std::fmt::Debug for SsoSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSection")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact_secret(&self.client_secret))
            .field("client_secret_file", &self.client_secret_file)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("workspace_id", &self.workspace_id)
            .field("email_claim", &self.email_claim)
            .field("require_email_verified", &self.require_email_verified)
            .field("session_hours", &self.session_hours)
            .field("idle_minutes", &self.idle_minutes)
            .field("cookie_secure", &self.cookie_secure)
            .finish()
    }
}

fn redact_secret(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        "***".to_owned()
    }
}

impl SsoSection {
    /// Whether an identity provider is configured.
    pub fn enabled(&self) -> bool {
        !self.issuer.trim().is_empty()
    }

    pub fn session_config(&self) -> steward_core::identity::sessions::SessionConfig {
        steward_core::identity::sessions::SessionConfig {
            lifetime_ms: self.session_hours as i64 * 3_600_000,
            idle_ms: self.idle_minutes as i64 * 60_000,
            throttle: Default::default(),
        }
    }

    /// Whether session cookies get `Secure`.
    pub fn cookie_secure(&self) -> bool {
        match &self.cookie_secure {
            CookieSecure::Flag(b) => *b,
            CookieSecure::Mode(_) => self.redirect_url.trim().starts_with("https://"),
        }
    }

    /// The OIDC settings for `steward serve`, the secret read from its file if need be; `None`
    /// when SSO is off.
    pub fn oidc_config(
        &self,
        default_workspace_id: &str,
    ) -> Result<Option<steward_core::identity::oidc::OidcConfig>> {
        if !self.enabled() {
            return Ok(None);
        }
        let client_secret = match self.client_secret_file.trim() {
            "" => self.client_secret.clone(),
            file => std::fs::read_to_string(file)
                .with_context(|| format!("sso.client_secret_file: cannot read {file}"))?
                .trim_end()
                .to_owned(),
        };
        let workspace_id = match self.workspace_id.trim() {
            "" => default_workspace_id.to_owned(),
            ws => ws.to_owned(),
        };
        Ok(Some(steward_core::identity::oidc::OidcConfig {
            issuer: self.issuer.trim().to_owned(),
            client_id: self.client_id.trim().to_owned(),
            client_secret,
            redirect_url: self.redirect_url.trim().to_owned(),
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            workspace_id,
            email_claim: self.email_claim.trim().to_owned(),
            require_email_verified: self.require_email_verified,
        }))
    }

    fn validate(&self) -> Result<()> {
        if self.session_hours == 0 || self.session_hours > 24 * 30 {
            bail!("sso.session_hours must be between 1 and 720");
        }
        if self.idle_minutes == 0 {
            bail!("sso.idle_minutes must be at least 1");
        }
        if let CookieSecure::Mode(m) = &self.cookie_secure {
            if m != "auto" {
                bail!("sso.cookie_secure must be \"auto\", true or false, got `{m}`");
            }
        }
        if !self.client_secret.is_empty() && !self.client_secret_file.trim().is_empty() {
            bail!("sso: set client_secret or client_secret_file, not both");
        }
        if !self.enabled() {
            return Ok(());
        }
        let url = |what: &str, v: &str| -> Result<()> {
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                bail!("sso.{what} must be an http(s) URL, got `{v}`");
            }
            Ok(())
        };
        url("issuer", self.issuer.trim())?;
        if self.client_id.trim().is_empty() {
            bail!("sso.client_id is required when sso.issuer is set");
        }
        if self.redirect_url.trim().is_empty() {
            bail!("sso.redirect_url is required when sso.issuer is set: the public URL of /auth/callback");
        }
        url("redirect_url", self.redirect_url.trim())?;
        if !self.redirect_url.trim().ends_with("/auth/callback") {
            bail!(
                "sso.redirect_url must be the public URL of Steward's /auth/callback, got `{}`",
                self.redirect_url
            );
        }
        if self.email_claim.trim().is_empty() {
            bail!("sso.email_claim must name an ID-token claim (e.g. \"email\")");
        }
        Ok(())
    }
}

/// Steward as the ChatGPT backend of Codex CLIs whose `chatgpt_base_url` points at it: the
/// managed-configuration bundle (`GET /api/codex/config/bundle`) is answered with the caller's
/// policy. Off until a token check is configured: a JWKS (file or URL) that signs the ChatGPT
/// access tokens, or, for tests only, `trust_unsigned_tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatgptBackendSection {
    /// Workspace whose policies the CLIs get. Empty: the default workspace.
    pub workspace_id: String,
    /// JSON Web Key Set verifying the bearer tokens, from a file ...
    pub jwks_file: String,
    /// ... or fetched from a URL (cached; refetched for an unknown key id).
    pub jwks_url: String,
    /// Required `iss` / `aud` of the tokens, when set.
    pub issuer: String,
    pub audience: String,
    /// TESTS ONLY: accept unsigned tokens, so anyone can claim any identity. Logged loudly.
    pub trust_unsigned_tokens: bool,
}

impl ChatgptBackendSection {
    pub fn token_config(&self) -> steward_api::chatgpt_token::ChatgptTokenConfig {
        use steward_api::chatgpt_token::{ChatgptTokenConfig, JwksSource};
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        ChatgptTokenConfig {
            jwks: match (some(&self.jwks_file), some(&self.jwks_url)) {
                (Some(f), _) => Some(JwksSource::File(f.into())),
                (None, Some(u)) => Some(JwksSource::Url(u)),
                (None, None) => None,
            },
            issuer: some(&self.issuer),
            audience: some(&self.audience),
            trust_unsigned: self.trust_unsigned_tokens,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceSection {
    /// Where sealed log files and digests go: a directory, or s3:// gs:// az:// (builds with
    /// those features). Empty: `<data_dir>/compliance`. Replicas must share one.
    pub store: String,
    /// Ed25519 signing key of the digest chain (PKCS#8 PEM), created on first use. Empty:
    /// `<data_dir>/compliance-signing-key.pem`. Replicas must share one.
    pub signing_key_file: String,
    /// Pending records are sealed once the oldest is this many seconds old.
    pub seal_interval_secs: u64,
    /// How often the server looks for records due for sealing, in seconds.
    pub sealer_poll_secs: u64,
    /// How long a Codex record waits for its turn span (traces) before it is sealed without a
    /// turn id, in seconds. 0: never wait.
    pub turn_span_wait_secs: u64,
    /// Records per sealed file at most.
    pub max_records_per_file: usize,
    /// Size of a sealed file at most, in MiB.
    pub max_file_mib: usize,
    /// What content (prompts, tool arguments and output) is kept, applied at ingest to every
    /// workspace without an entry in `workspace_capture`.
    pub capture: steward_compliance::capture::CaptureConfig,
    /// Capture profiles of particular workspaces, by workspace id.
    pub workspace_capture: std::collections::BTreeMap<String, steward_compliance::capture::CaptureConfig>,
    /// How often the server applies retention, in seconds.
    pub retention_poll_secs: u64,
    /// Retention per event type (`CODEX_LOG`, `CODEX_SECURITY_LOG`, `AUDIT_LOG`); event types
    /// not listed are kept forever.
    pub retention: std::collections::BTreeMap<String, RetentionDays>,
}

/// Days to keep one event type's content and files (`None`: forever).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionDays {
    pub content_days: Option<u64>,
    pub metadata_days: Option<u64>,
}

impl ComplianceSection {
    /// The retention policy, validated: known event types, windows of at least a day, content
    /// not kept longer than its file.
    pub fn retention_policy(&self) -> Result<steward_core::compliance::RetentionPolicy> {
        use std::time::Duration;
        let mut policy = steward_core::compliance::RetentionPolicy::default();
        for (name, days) in &self.retention {
            let log_type: steward_model::LogType = name
                .parse()
                .map_err(|e: String| anyhow::anyhow!("compliance.retention.{name}: {e}"))?;
            let window = |d: Option<u64>, what: &str| -> Result<Option<Duration>> {
                match d {
                    Some(0) => bail!("compliance.retention.{name}.{what} must be at least 1 (leave it out to keep forever)"),
                    Some(d) => Ok(Some(Duration::from_secs(d * 86_400))),
                    None => Ok(None),
                }
            };
            policy.by_log_type.insert(
                log_type,
                steward_core::compliance::RetentionWindow {
                    content: window(days.content_days, "content_days")?,
                    metadata: window(days.metadata_days, "metadata_days")?,
                },
            );
        }
        policy.validate().map_err(|e| anyhow::anyhow!("compliance.{e}"))?;
        Ok(policy)
    }
}

impl Default for ComplianceSection {
    fn default() -> Self {
        ComplianceSection {
            store: String::new(),
            signing_key_file: String::new(),
            seal_interval_secs: 3600,
            sealer_poll_secs: 10,
            turn_span_wait_secs: 30,
            max_records_per_file: 10_000,
            max_file_mib: 64,
            capture: Default::default(),
            workspace_capture: Default::default(),
            retention_poll_secs: 3600,
            retention: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of the HTTP listener (OTLP, APIs, health, metrics).
    pub listen: String,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the embedded SQLite database (`steward.db`).
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL instead of the embedded SQLite.
    pub database_url: String,
}

// Never print a database password in logs or `config show`.
impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest accepted OTLP body in bytes, before and after decompression.
    pub max_body_bytes: usize,
    /// Batches that may wait for the database writer before requests get 503 + Retry-After.
    pub queue_capacity: usize,
    /// Most events merged into one database transaction.
    pub max_group_events: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsSection {
    /// How far back (days) the usage API lets `start_time` reach.
    pub lookback_days: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateCardSection {
    /// A rate-card TOML file replacing the built-in one (same format as `crates/model/rate-card.toml`).
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `steward=debug,info`.
    pub level: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".to_owned(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./steward-data"),
            database_url: String::new(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_body_bytes: 16 * 1024 * 1024,
            queue_capacity: 256,
            max_group_events: 16_384,
        }
    }
}

impl Default for AnalyticsSection {
    fn default() -> Self {
        AnalyticsSection { lookback_days: 90 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".to_owned(),
            level: "info".to_owned(),
        }
    }
}

/// The commented example configuration (`steward config default`), kept equal to the defaults
/// by a test.
pub const EXAMPLE_TOML: &str = include_str!("../../../steward.example.toml");

/// Top-level sections of the configuration file (and of `STEWARD_<SECTION>__<KEY>` variables).
const SECTIONS: &[&str] = &[
    "server",
    "storage",
    "ingest",
    "analytics",
    "rate_card",
    "compliance",
    "chatgpt_backend",
    "sso",
    "log",
];

/// Values given as command-line flags; `None` means "not given".
#[derive(Debug, Default, Clone, Serialize)]
pub struct FlagOverrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<String>,
}

/// Which database a configuration selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Config {
    /// Loads and validates the configuration. `file` is `--config`.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new("steward.toml").is_file() => {
                figment = figment.merge(Toml::file("steward.toml"))
            }
            None => {}
        }
        // Only configuration keys: other STEWARD_* variables (STEWARD_LOG, test settings) are
        // not configuration and must not be rejected as unknown fields.
        let is_config_key = |key: &str| {
            let key = key.to_ascii_lowercase();
            matches!(key.as_str(), "listen" | "data_dir" | "database_url")
                || key
                    .split_once("__")
                    .is_some_and(|(section, _)| SECTIONS.contains(&section))
        };
        figment = figment.merge(
            Env::prefixed("STEWARD_")
                .filter(move |k| is_config_key(k.as_str()))
                .map(|key| match key.as_str().to_ascii_lowercase().as_str() {
                    "listen" => "server.listen".into(),
                    "data_dir" => "storage.data_dir".into(),
                    "database_url" => "storage.database_url".into(),
                    other => other.replace("__", ".").into(),
                }),
        );
        let mut config: Config = figment.extract().context("invalid configuration")?;
        if let Some(v) = &flags.listen {
            config.server.listen = v.clone();
        }
        if let Some(v) = &flags.data_dir {
            config.storage.data_dir = v.clone();
        }
        if let Some(v) = &flags.database_url {
            config.storage.database_url = v.clone();
        }
        if let Some(v) = &flags.log_format {
            config.log.format = v.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        self.listen_addr()?;
        let url = self.storage.database_url.trim();
        if !url.is_empty() && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            bail!("storage.database_url must start with postgres:// or postgresql:// (leave it empty for the embedded SQLite), got `{}`", redact_url(url));
        }
        if self.ingest.max_body_bytes < 1024 {
            bail!("ingest.max_body_bytes must be at least 1024");
        }
        if self.ingest.queue_capacity == 0 {
            bail!("ingest.queue_capacity must be at least 1");
        }
        if self.analytics.lookback_days == 0 {
            bail!("analytics.lookback_days must be at least 1");
        }
        if self.compliance.seal_interval_secs == 0 || self.compliance.sealer_poll_secs == 0 {
            bail!("compliance.seal_interval_secs and compliance.sealer_poll_secs must be at least 1");
        }
        if self.compliance.max_records_per_file == 0 || self.compliance.max_file_mib == 0 {
            bail!("compliance.max_records_per_file and compliance.max_file_mib must be at least 1");
        }
        if self.compliance.retention_poll_secs == 0 {
            bail!("compliance.retention_poll_secs must be at least 1");
        }
        self.compliance.retention_policy()?;
        let cb = &self.chatgpt_backend;
        if !cb.jwks_file.trim().is_empty() && !cb.jwks_url.trim().is_empty() {
            bail!("chatgpt_backend: set jwks_file or jwks_url, not both");
        }
        if !cb.jwks_url.trim().is_empty()
            && !cb.jwks_url.starts_with("https://")
            && !cb.jwks_url.starts_with("http://")
        {
            bail!(
                "chatgpt_backend.jwks_url must be an http(s) URL, got `{}`",
                cb.jwks_url
            );
        }
        self.sso.validate()?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!("log.format must be `text` or `json`, got `{}`", self.log.format);
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr> {
        self.server.listen.parse().with_context(|| {
            format!(
                "server.listen `{}` is not an address like 127.0.0.1:8080",
                self.server.listen
            )
        })
    }

    pub fn backend(&self) -> Backend {
        let url = self.storage.database_url.trim();
        if url.is_empty() {
            Backend::Sqlite(self.storage.data_dir.join("steward.db"))
        } else {
            Backend::Postgres(url.to_owned())
        }
    }

    /// The compliance object store: the configured one, else `<data_dir>/compliance`.
    pub fn compliance_store(&self) -> String {
        match self.compliance.store.trim() {
            "" => self.storage.data_dir.join("compliance").display().to_string(),
            s => s.to_owned(),
        }
    }

    /// The compliance signing key file: the configured one, else in the data directory.
    pub fn compliance_key_file(&self) -> PathBuf {
        match self.compliance.signing_key_file.trim() {
            "" => self.storage.data_dir.join("compliance-signing-key.pem"),
            s => PathBuf::from(s),
        }
    }

    /// The configuration as TOML, with secrets redacted.
    pub fn to_redacted_toml(&self) -> Result<String> {
        let mut copy = self.clone();
        copy.storage.database_url = redact_url(&copy.storage.database_url);
        copy.sso.client_secret = redact_secret(&copy.sso.client_secret);
        Ok(toml::to_string_pretty(&copy)?)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;

    #[test]
    fn example_file_states_the_defaults() {
        let example: Config = toml::from_str(EXAMPLE_TOML).expect("example parses");
        assert_eq!(example, Config::default());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://steward:hunter2@db:5432/steward"),
            "postgres://steward:***@db:5432/steward"
        );
        assert_eq!(redact_url("postgres://db/steward"), "postgres://db/steward");
    }

    #[test]
    fn defaults_are_valid_and_embedded() {
        let c = Config::default();
        c.validate().expect("defaults validate");
        assert_eq!(
            c.backend(),
            Backend::Sqlite(PathBuf::from("./steward-data/steward.db"))
        );
        assert_eq!(c.listen_addr().expect("addr").to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn file_env_and_flags_layer_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "[server]\nlisten = \"127.0.0.1:9000\"\n[ingest]\nqueue_capacity = 7\n",
            )?;
            jail.set_env("STEWARD_INGEST__QUEUE_CAPACITY", "9");
            jail.set_env("STEWARD_DATA_DIR", "/tmp/from-env");
            jail.set_env("STEWARD_TEST_POSTGRES_URL", "not configuration, ignored");
            let flags = FlagOverrides {
                data_dir: Some(PathBuf::from("/tmp/from-flag")),
                ..Default::default()
            };
            let c = Config::load(Some(Path::new("custom.toml")), &flags).expect("loads");
            assert_eq!(c.server.listen, "127.0.0.1:9000", "file beats defaults");
            assert_eq!(c.ingest.queue_capacity, 9, "env beats file");
            assert_eq!(
                c.storage.data_dir,
                PathBuf::from("/tmp/from-flag"),
                "flags beat env"
            );
            Ok(())
        });
    }

    #[test]
    fn sso_section_layers_validates_and_hides_the_secret() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sso.toml",
                "[sso]\nissuer = \"https://idp.example/\"\nclient_id = \"steward\"\nredirect_url = \"https://steward.example/auth/callback\"\n",
            )?;
            jail.set_env("STEWARD_SSO__CLIENT_SECRET", "s3cret-from-env");
            let c = Config::load(Some(Path::new("sso.toml")), &FlagOverrides::default()).expect("loads");
            assert!(c.sso.enabled());
            assert!(c.sso.cookie_secure(), "auto: https redirect URL");
            let oidc = c.sso.oidc_config("ws_default").expect("config").expect("enabled");
            assert_eq!(oidc.client_secret, "s3cret-from-env");
            assert_eq!(oidc.workspace_id, "ws_default");
            assert_eq!(oidc.scopes, ["openid", "email", "profile"]);
            assert_eq!(oidc.email_claim, "email");
            assert!(!format!("{c:?}").contains("s3cret"), "Debug hides the secret");
            assert!(!c.to_redacted_toml().expect("toml").contains("s3cret"));
            assert_eq!(c.sso.session_config().lifetime_ms, 12 * 3_600_000);

            jail.create_file("secret.txt", "from-file\n")?;
            jail.create_file(
                "sso2.toml",
                "[sso]\nissuer = \"http://127.0.0.1:9/\"\nclient_id = \"s\"\nclient_secret_file = \"secret.txt\"\nredirect_url = \"http://127.0.0.1:8/auth/callback\"\ncookie_secure = true\n",
            )?;
            jail.set_env("STEWARD_SSO__CLIENT_SECRET", "");
            let c = Config::load(Some(Path::new("sso2.toml")), &FlagOverrides::default()).expect("loads");
            assert!(c.sso.cookie_secure(), "forced");
            assert_eq!(
                c.sso.oidc_config("ws").unwrap().unwrap().client_secret,
                "from-file"
            );

            jail.create_file(
                "bad.toml",
                "[sso]\nissuer = \"https://idp.example\"\nclient_id = \"x\"\n",
            )?;
            let err = Config::load(Some(Path::new("bad.toml")), &FlagOverrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("redirect_url"), "{err:#}");
            jail.create_file("bad2.toml", "[sso]\ncookie_secure = \"sometimes\"\n")?;
            let err = Config::load(Some(Path::new("bad2.toml")), &FlagOverrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("cookie_secure"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_field() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "bad.toml",
                "[server]\nlisten = \"127.0.0.1:9000\"\nlsiten = \"x\"\n",
            )?;
            let err = Config::load(Some(Path::new("bad.toml")), &FlagOverrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("lsiten"), "{err:#}");
            jail.create_file("bad2.toml", "[storage]\ndatabase_url = \"mysql://x\"\n")?;
            let err = Config::load(Some(Path::new("bad2.toml")), &FlagOverrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("database_url"), "{err:#}");
            Ok(())
        });
    }
}
