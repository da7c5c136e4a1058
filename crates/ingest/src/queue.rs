//! The bounded write queue: requests hand over event batches and wait for their durable
//! commit; one writer task merges whatever is pending into a single transaction (group commit),
//! which amortises fsync across concurrent exporters.
//!
//! Memory is bounded: at most `capacity` batches wait, each at most one request body's worth.
//! When the queue is full, [`WriteQueue::submit`] fails at once with [`IngestError::QueueFull`]
//! and the HTTP layer answers 503 with `Retry-After` (OTLP exporters retry).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use steward_model::NormalizedEvent;
use steward_store::{InsertOutcome, Store, StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::IngestError;

#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Batches that may wait for the writer.
    pub capacity: usize,
    /// Upper bound of events merged into one transaction.
    pub max_group_events: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 256,
            max_group_events: 16_384,
        }
    }
}

struct Job {
    events: Vec<NormalizedEvent>,
    done: oneshot::Sender<Result<(), String>>,
}

/// What the writer needs of a store: one durable batch insert. Every `Store` is one (through
/// [`StoreSink`]); the queue's tests gate commits without implementing the whole `Store`.
#[async_trait::async_trait]
pub(crate) trait BatchSink: Send + Sync + 'static {
    async fn insert_batch(&self, events: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome>;
}

struct StoreSink(Arc<dyn Store>);

#[async_trait::async_trait]
impl BatchSink for StoreSink {
    async fn insert_batch(&self, events: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome> {
        self.0.insert_events(events).await
    }
}

#[derive(Clone)]
pub struct WriteQueue {
    tx: mpsc::Sender<Job>,
    depth: Arc<AtomicI64>,
}

impl WriteQueue {
    /// Starts the writer task. It ends when every `WriteQueue` clone is dropped and the queue
    /// has drained, so a graceful shutdown commits everything that was accepted.
    pub fn start(store: Arc<dyn Store>, config: QueueConfig) -> (WriteQueue, JoinHandle<()>) {
        Self::start_with(Arc::new(StoreSink(store)), config)
    }

    pub(crate) fn start_with(sink: Arc<dyn BatchSink>, config: QueueConfig) -> (WriteQueue, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let depth = Arc::new(AtomicI64::new(0));
        let handle = tokio::spawn(writer(sink, rx, depth.clone(), config.max_group_events));
        (WriteQueue { tx, depth }, handle)
    }

    /// Batches waiting for the writer right now.
    pub fn depth(&self) -> i64 {
        self.depth.load(Ordering::Relaxed)
    }

    /// Enqueues a batch and waits until it is durably committed.
    pub async fn write(&self, events: Vec<NormalizedEvent>) -> Result<(), IngestError> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx.try_send(Job { events, done }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IngestError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => {
                IngestError::Store(StoreError::Unavailable("writer stopped".into()))
            }
        })?;
        let depth = self.depth.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("steward_ingest_queue_depth").set(depth as f64);
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(IngestError::Store(StoreError::Unavailable(message))),
            Err(_) => Err(IngestError::Store(StoreError::Unavailable(
                "writer stopped".into(),
            ))),
        }
    }
}

async fn writer(
    sink: Arc<dyn BatchSink>,
    mut rx: mpsc::Receiver<Job>,
    depth: Arc<AtomicI64>,
    max_group: usize,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut total = jobs[0].events.len();
        while total < max_group {
            match rx.try_recv() {
                Ok(job) => {
                    total += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let taken = jobs.len() as i64;
        let left = depth.fetch_sub(taken, Ordering::Relaxed) - taken;
        metrics::gauge!("steward_ingest_queue_depth").set(left.max(0) as f64);
        let result = commit_group(sink.as_ref(), &mut jobs).await;
        if let Err(err) = &result {
            tracing::error!(error = %err, batches = jobs.len(), "ingest commit failed");
        }
        for job in jobs {
            let _ = job.done.send(result.clone());
        }
    }
}

/// Commits a whole group in one transaction and tells every job the same result. Duplicate
/// events across jobs are harmless: the store skips them by dedup key inside the transaction.
async fn commit_group(sink: &dyn BatchSink, jobs: &mut [Job]) -> Result<(), String> {
    let mut merged: Vec<NormalizedEvent> = Vec::with_capacity(jobs.iter().map(|j| j.events.len()).sum());
    for job in jobs.iter_mut() {
        merged.append(&mut job.events);
    }
    let outcome = sink.insert_batch(merged).await.map_err(|e| e.to_string())?;
    metrics::counter!("steward_ingest_events_total", "outcome" => "inserted").increment(outcome.inserted);
    metrics::counter!("steward_ingest_events_total", "outcome" => "duplicate").increment(outcome.duplicates);
    metrics::counter!("steward_ingest_commits_total").increment(1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use steward_model::{NormalizedEvent, Source};
    use tokio::sync::Semaphore;

    use super::*;

    /// A sink whose inserts wait for a permit, so the test controls when commits finish.
    struct GatedStore {
        gate: Semaphore,
        committed: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl BatchSink for GatedStore {
        async fn insert_batch(&self, events: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome> {
            let permit = self.gate.acquire().await.map_err(StoreError::other)?;
            permit.forget();
            self.committed
                .lock()
                .map_err(StoreError::other)?
                .push(events.len());
            Ok(InsertOutcome {
                inserted: events.len() as u64,
                duplicates: 0,
            })
        }
    }

    fn events(n: usize) -> Vec<NormalizedEvent> {
        (0..n)
            .map(|i| NormalizedEvent {
                dedup_key: format!("k{i}"),
                workspace_id: "ws".into(),
                user_id: "u".into(),
                source: Source::OtlpLogs,
                event_name: "codex.user_prompt".into(),
                kind: steward_model::EventKind::UserPrompt,
                thread_id: None,
                trace_id: None,
                turn_id: None,
                timestamp_ms: 0,
                client_id: "CODEX_CLI".into(),
                model: None,
                credits_micro: 0,
                usd_micro: 0,
                rate_card_version: String::new(),
                raw: "{}".into(),
                host_name: None,
            })
            .collect()
    }

    #[tokio::test]
    async fn full_queue_refuses_at_once_and_accepted_batches_commit_before_returning() {
        let store = Arc::new(GatedStore {
            gate: Semaphore::new(0),
            committed: Mutex::new(Vec::new()),
        });
        let (queue, writer) = WriteQueue::start_with(
            store.clone(),
            QueueConfig {
                capacity: 1,
                max_group_events: 1000,
            },
        );
        // First batch: taken by the writer, which blocks in insert_events.
        let q1 = queue.clone();
        let first = tokio::spawn(async move { q1.write(events(2)).await });
        // Give the writer time to take it off the channel (it then waits on the gate).
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(queue.depth(), 0, "the writer holds the first batch");
        // Second batch: waits in the channel (capacity 1).
        let q2 = queue.clone();
        let second = tokio::spawn(async move { q2.write(events(3)).await });
        while queue.depth() != 1 {
            tokio::task::yield_now().await;
        }
        // Third batch: the queue is full, refused immediately.
        assert!(matches!(
            queue.write(events(1)).await,
            Err(IngestError::QueueFull)
        ));
        assert!(!first.is_finished(), "nothing is acknowledged before its commit");
        store.gate.add_permits(2);
        first.await.expect("join").expect("first committed");
        second.await.expect("join").expect("second committed");
        assert_eq!(
            store.committed.lock().map(|c| c.clone()).unwrap_or_default(),
            vec![2, 3]
        );
        drop(queue);
        writer
            .await
            .expect("writer drains and stops when every handle is gone");
    }
}
