//! The connection pool, error mapping and the retry rule for transactions that lost a
//! serialisation race.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use steward_store::{StoreError, StoreResult};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// Upper bound on pooled connections per process; several replicas share one server, whose
/// `max_connections` (100 by default) must cover all of them.
const MAX_CONNECTIONS: usize = 16;
/// Attempts of a transaction that failed with a serialisation failure or a deadlock.
pub const TX_ATTEMPTS: u32 = 5;

pub fn pool(url: &str) -> StoreResult<Pool> {
    let mut config = tokio_postgres::Config::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
    // Without a limit an unreachable host hangs the first request for the OS TCP timeout.
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    // Fast recycling only checks that the socket is still open: a connection killed by a
    // server restart is noticed by its connection task and dropped, without a probe query on
    // every checkout.
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(MAX_CONNECTIONS)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(15)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .post_create(Hook::async_fn(|client, _| {
            Box::pin(async move {
                // The Store contract promises that an acknowledged batch survives a crash; a
                // server or role configured with synchronous_commit=off would silently break
                // that, so such sessions are switched back on. Stronger settings (remote_apply
                // for a synchronous standby) are left alone.
                let row = client
                    .query_one("SELECT current_setting('synchronous_commit')", &[])
                    .await
                    .map_err(HookError::Backend)?;
                if row.get::<_, String>(0) == "off" {
                    tracing::warn!(
                        "synchronous_commit is off on the server; enabling it for Steward's sessions"
                    );
                    client
                        .batch_execute("SET synchronous_commit = on")
                        .await
                        .map_err(HookError::Backend)?;
                }
                Ok(())
            })
        }))
        .build()
        .map_err(StoreError::other)
}

pub async fn get(pool: &Pool) -> StoreResult<deadpool_postgres::Object> {
    pool.get().await.map_err(pool_err)
}

pub fn pool_err(err: PoolError) -> StoreError {
    match err {
        PoolError::Backend(e) => map_err(e),
        PoolError::PostCreateHook(HookError::Backend(e)) => map_err(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

pub fn map_err(err: tokio_postgres::Error) -> StoreError {
    let text = display(&err);
    let Some(code) = err.code() else {
        return if lost_connection(&err) {
            StoreError::Unavailable(text)
        } else {
            StoreError::Other(text)
        };
    };
    if *code == SqlState::UNIQUE_VIOLATION {
        return StoreError::Conflict(text);
    }
    // Class 08: connection exceptions; 53: out of resources (too many connections, disk
    // full); 57P0x: the server is shutting down or starting; 40001/40P01 only reach here
    // after `TX_ATTEMPTS` lost races, so they are load, not bugs. All are worth a retry later.
    let c = code.code();
    if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") || is_retryable(&err) {
        return StoreError::Unavailable(text);
    }
    StoreError::Other(text)
}

/// Errors without a SQLSTATE are either about the connection (closed, socket error, connect
/// timeout) or about our own code (a type or row-count mismatch); only the former may heal.
fn lost_connection(err: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    err.is_closed()
        || err.source().is_some_and(|s| s.is::<std::io::Error>())
        // The connect timeout has neither a source nor a public kind, only this text.
        || err.to_string() == "timeout waiting for server"
}

/// Whether a transaction failed only because it lost a race with a concurrent one and can be
/// run again as a whole.
pub fn is_retryable(err: &tokio_postgres::Error) -> bool {
    matches!(err.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

/// `tokio_postgres::Error`'s Display says only "db error"; the server's message is in the
/// `DbError`, and an IO error's detail in the source.
fn display(err: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match (err.as_db_error(), err.source()) {
        (Some(db), _) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        (None, Some(source)) => format!("{err}: {source}"),
        (None, None) => err.to_string(),
    }
}

/// Pause before retry `attempt` (1-based): a few milliseconds, growing, with jitter so that
/// two replicas that collided do not collide again in lockstep.
pub fn backoff(attempt: u32) -> Duration {
    let base = 5u64 << attempt.min(6);
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) % base)
        .unwrap_or(0);
    Duration::from_millis(base + jitter)
}
