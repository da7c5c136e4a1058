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
