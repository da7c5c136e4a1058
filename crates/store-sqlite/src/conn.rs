//! Connections: opening with the right pragmas, the writer/reader pool, error mapping.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use steward_store::{StoreError, StoreResult};
use tokio::sync::Semaphore;

pub fn open(path: &Path) -> StoreResult<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
    // busy_timeout: admin commands in another process may hold the write lock briefly.
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(map_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

pub fn map_err(err: rusqlite::Error) -> StoreError {
    match &err {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound(err.to_string()),
        rusqlite::Error::SqliteFailure(e, _) => match e.code {
            ErrorCode::ConstraintViolation => StoreError::Conflict(err.to_string()),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Unavailable(err.to_string()),
            _ => StoreError::Other(err.to_string()),
        },
        _ => StoreError::Other(err.to_string()),
    }
}

/// One writer and a few readers. Each connection is used by one blocking task at a time.
pub struct Pool {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
}

impl Pool {
    pub fn new(writer: Connection, readers: Vec<Connection>) -> Self {
        let n = readers.len();
        Pool {
            writer: Mutex::new(writer),
            readers: Mutex::new(readers),
            reader_permits: Semaphore::new(n),
        }
    }

    pub async fn read<T, F>(self: std::sync::Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self.reader_permits.acquire().await.map_err(StoreError::other)?;
        let pool = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let conn = pool.readers.lock().map_err(StoreError::other)?.pop();
            let Some(conn) = conn else {
                return Err(StoreError::other("reader pool exhausted"));
            };
            let result = f(&conn);
            pool.readers.lock().map_err(StoreError::other)?.push(conn);
            result
        })
        .await
        .map_err(StoreError::other)?;
        drop(permit);
        result
    }

    pub async fn write<T, F>(self: std::sync::Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.writer.lock().map_err(StoreError::other)?;
            f(&mut conn)
        })
        .await
        .map_err(StoreError::other)?
    }
}
