//! Process plumbing shared by commands: logging, opening the store, the rate card.

use std::sync::Arc;

use anyhow::{Context, Result};
use steward_model::RateCard;
use steward_store::Store;
use tracing_subscriber::EnvFilter;

use crate::config::{Backend, Config, LogConfig};

/// Structured logs to stderr. `STEWARD_LOG` (or `RUST_LOG`) overrides the configured level.
/// Admin commands log only warnings unless asked, so their stdout stays clean for scripts.
pub fn init_logging(log: &LogConfig, serving: bool) {
    let default = if serving {
        log.level.clone()
    } else {
        "warn".to_owned()
    };
    let filter = std::env::var("STEWARD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Opens the configured database (creating the SQLite data directory if needed).
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    match config.backend() {
        Backend::Sqlite(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create data directory {}", dir.display()))?;
            }
            let store = steward_store_sqlite::SqliteStore::open(&path)
                .await
                .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
            Ok(Arc::new(store))
        }
        Backend::Postgres(url) => {
            let store = steward_store_postgres::PostgresStore::connect(&url)
                .await
                .with_context(|| {
                    format!(
                        "cannot open PostgreSQL database {}",
                        crate::config::redact_url(&url)
                    )
                })?;
            Ok(Arc::new(store))
        }
    }
}

pub fn rate_card(config: &Config) -> Result<RateCard> {
    match &config.rate_card.file {
        None => Ok(RateCard::builtin()?),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read rate card {}", path.display()))?;
            RateCard::from_toml(&text).with_context(|| format!("invalid rate card {}", path.display()))
        }
    }
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The compliance service over the configured object store and signing key (created on first
/// use; the public key is published next to the files so exports can be verified offline).
pub async fn compliance(config: &Config, store: Arc<dyn Store>) -> Result<steward_core::ComplianceService> {
    use std::time::Duration;
    use steward_compliance::chain::{LogStore, SigningKeyFile};
    let location = config.compliance_store();
    let logs =
        LogStore::open(&location).with_context(|| format!("cannot open compliance store {location}"))?;
    let key_file = config.compliance_key_file();
    if let Some(dir) = key_file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let key = SigningKeyFile::load_or_create(&key_file)
        .with_context(|| format!("cannot load or create the signing key {}", key_file.display()))?;
    logs.publish_public_key(&key.public_key())
        .await
        .context("cannot publish the compliance public key")?;
    let c = &config.compliance;
    Ok(steward_core::ComplianceService::new(
        store,
        Arc::new(logs),
        Arc::new(key),
        steward_core::ComplianceConfig {
            seal_interval: Duration::from_secs(c.seal_interval_secs),
            turn_span_wait: Duration::from_secs(c.turn_span_wait_secs),
            max_records_per_file: c.max_records_per_file,
            max_file_bytes: c.max_file_mib << 20,
            signed_url_ttl: Duration::from_secs(3600),
            retention: c.retention_policy()?,
        },
    ))
}

/// The capture profiles of the configuration. The key of `hashed` mode is derived from the
/// compliance signing key file, which replicas share, so equal content hashes equally on every
/// replica and nobody without that file can test guesses against the hashes.
pub fn capture_profiles(config: &Config) -> Result<steward_ingest::capture::CaptureProfiles> {
    use sha2::{Digest, Sha256};
    use steward_compliance::capture::CaptureProfile;
    let key_file = config.compliance_key_file();
    let key_bytes =
        std::fs::read(&key_file).with_context(|| format!("cannot read {}", key_file.display()))?;
    let hash_key = Sha256::new()
        .chain_update(b"steward capture hash key\0")
        .chain_update(&key_bytes)
        .finalize();
    let default = CaptureProfile::compile(&config.compliance.capture, &hash_key)
        .context("invalid [compliance.capture]")?;
    let mut by_workspace = std::collections::HashMap::new();
    for (ws, cfg) in &config.compliance.workspace_capture {
        let profile = CaptureProfile::compile(cfg, &hash_key)
            .with_context(|| format!("invalid [compliance.workspace_capture.\"{ws}\"]"))?;
        by_workspace.insert(ws.clone(), profile);
    }
    Ok(steward_ingest::capture::CaptureProfiles::new(
        default,
        by_workspace,
    ))
}
