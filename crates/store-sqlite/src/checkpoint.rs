//! WAL checkpoints on a thread of their own.
//!
//! With SQLite's default auto-checkpoint, the commit that crosses the WAL size threshold copies
//! the WAL back into the database file itself, inside the single writer's critical path (a tenth
//! of the ingest writer's time in a profile). Here the writer connection has auto-checkpoint
//! off, and this thread runs PASSIVE checkpoints (which never block the writer or readers) on
//! its own connection, so the copy overlaps with the next transactions. Durability is unchanged:
//! a commit is durable once its WAL frames are synced (`synchronous=FULL`), checkpoint or not.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use steward_store::StoreResult;

use crate::conn;

/// How often the checkpointer looks at the WAL.
const INTERVAL: Duration = Duration::from_millis(200);

/// Stops and joins the checkpointer thread when dropped (with the store).
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: PathBuf) -> StoreResult<Self> {
        let conn = conn::open(&path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(INTERVAL);
                    // PASSIVE: copy what can be copied without waiting for anyone. A failure
                    // (e.g. the file vanished in a test) is not the writer's problem; log it.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(steward_store::StoreError::other)?;
        Ok(Checkpointer {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
