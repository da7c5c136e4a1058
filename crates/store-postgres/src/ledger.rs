//! The turn ledger's persistence (`turn_reports`, migration 0012); the decisions are in
//! `steward_store::ledger`. A translation of `steward-store-sqlite`'s `ledger.rs`: runs inside
//! the event batch's transaction, after its events are inserted, so the checks below also see
//! this batch. Each step is one multi-row statement (parallel arrays, as in `write.rs`).
//!
//! Concurrency between replicas is handled by the caller: a batch with turn reports or
//! covering events first takes the advisory locks of its threads' buckets ([`lock_threads`]),
//! so two batches touching the ledger of one thread run one after the other and each sees
//! the other's committed rows.

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use deadpool_postgres::Transaction;
use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};
use steward_store::ledger::{coverers, covers_turns, Settled, TurnReportRow, COVERING_KINDS};
use steward_store::rollup::event_key_bytes;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// First key of the advisory locks on the ledger's thread buckets (ASCII "stwl"); the second is
/// the bucket. Two-key advisory locks never collide with the migrations' one-key lock, and this
/// class differs from the policy assignment's ("stwp").
const LEDGER_LOCK_CLASS: i32 = 0x7374_776c;
/// Threads are spread over this many locks: a batch takes at most this many, whatever the
/// number of threads it carries; two threads in one bucket merely wait for each other.
const LOCK_BUCKETS: u32 = 64;

// One statement, buckets in ascending order (sorted in Rust as well, and UNNEST keeps array
// order), so two transactions never wait for each other's locks in opposite orders.
const LOCK_BUCKETS_SQL: &str = "
SELECT pg_advisory_xact_lock($1::int4, b) FROM UNNEST($2::int4[]) AS b ORDER BY b";

const COLUMNS: &str =
    "turn_key, thread_id, started_ms, ended_ms, user_id, client_id, model, rate_card_version,
    input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, credits_micro, usd_micro,
    workspace_id";

// `FOR UPDATE`: a concurrent writer covering the same reports waits for this transaction and
// then finds them no longer counted (the bucket locks already serialise such writers; the row
// locks keep this correct on their own for rows that exist).
static COUNTED_OF_THREADS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS} FROM turn_reports
WHERE (workspace_id, thread_id) IN (SELECT * FROM UNNEST($1::text[], $2::text[])) AND counted
ORDER BY workspace_id, turn_key
FOR UPDATE"
    )
});

const UNCOUNT: &str = "
UPDATE turn_reports t SET counted = false
FROM UNNEST($1::text[], $2::text[]) AS u(workspace_id, turn_key)
WHERE t.workspace_id = u.workspace_id AND t.turn_key = u.turn_key";

// The batch's reports, each counted unless its turn is covered already: its shared turn key was
// claimed by a timeless (shared-fact) event, or another source reported a turn or response of
// its thread inside its window. The kinds are literals so that the partial index
// `events_turn_facts` applies. RETURNING names the rows really inserted.
static INSERT_REPORTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO turn_reports (workspace_id, turn_key, thread_id, started_ms, ended_ms, user_id, client_id,
    model, rate_card_version, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
    credits_micro, usd_micro, counted)
SELECT r.workspace_id, r.turn_key, r.thread_id, r.started_ms, r.ended_ms, r.user_id, r.client_id,
    r.model, r.rate_card_version, r.input_tokens, r.cached_input_tokens, r.output_tokens,
    r.reasoning_output_tokens, r.credits_micro, r.usd_micro,
    NOT (
        EXISTS (SELECT 1 FROM event_keys k WHERE k.ts_ms = 0 AND k.key = r.claim)
        OR EXISTS (
            SELECT 1 FROM events e
            WHERE e.workspace_id = r.workspace_id AND e.thread_id = r.thread_id
                AND e.kind IN ('{}', '{}') AND e.source <> '{}'
                AND e.ts_ms BETWEEN r.window_from AND r.window_to
        )
    )
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[],
    $15::int8[], $16::bytea[], $17::int8[], $18::int8[])
    WITH ORDINALITY AS r(workspace_id, turn_key, thread_id, started_ms, ended_ms, user_id, client_id,
        model, rate_card_version, input_tokens, cached_input_tokens, output_tokens,
        reasoning_output_tokens, credits_micro, usd_micro, claim, window_from, window_to, ord)
ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING workspace_id, turn_key, counted",
        COVERING_KINDS[0],
        COVERING_KINDS[1],
        Source::Analytics.as_str()
    )
});

/// Whether an event takes part in the ledger (a turn report, or a report that covers turns),
/// so that its batch must take its thread's lock.
pub fn touches_ledger(e: &NormalizedEvent) -> bool {
    // Checked by kind, not by building the row: this runs for every event of every batch.
    covers_turns(e) || (matches!(e.kind, EventKind::TurnUsage(_)) && e.thread_id.is_some())
}

/// Takes the transaction-scoped advisory locks of the buckets of the threads of the batch's
/// ledger events ([`touches_ledger`]); must run before the batch writes anything.
///
/// Why: a replica inserting a turn report and another inserting the responses that cover it,
/// at the same time, would each not see the other's uncommitted rows: the report would be
/// counted (no covering event visible yet) and the responses would find no counted report to
/// take back, so the turn would count twice. Row locks cannot prevent this, as the rows the
/// other transaction looks for do not exist yet. Locking the thread serialises the two: the
/// second waits for the first's commit, and (READ COMMITTED) its statements then see it.
///
/// Why buckets: one lock per thread would take an unbounded number of locks per transaction
/// (each held in the shared lock table until commit); a hash of the thread modulo
/// [`LOCK_BUCKETS`] bounds them, at the price of unrelated threads sometimes waiting for each
/// other. The hash is SHA-256 (stable on every replica and release), computed here.
pub async fn lock_threads<'e>(
    tx: &Transaction<'_>,
    events: impl IntoIterator<Item = &'e NormalizedEvent>,
) -> Result<(), tokio_postgres::Error> {
    let buckets: BTreeSet<i32> = events
        .into_iter()
        .filter(|e| touches_ledger(e))
        .filter_map(|e| Some(bucket(&e.workspace_id, e.thread_id.as_deref()?)))
        .collect();
    if buckets.is_empty() {
        return Ok(());
    }
    let buckets: Vec<i32> = buckets.into_iter().collect();
    let stmt = tx.prepare_cached(LOCK_BUCKETS_SQL).await?;
    tx.query(&stmt, &[&LEDGER_LOCK_CLASS, &buckets]).await?;
    Ok(())
}

/// The lock bucket of a thread: the first 4 bytes of SHA-256(workspace, NUL, thread), modulo
/// [`LOCK_BUCKETS`].
fn bucket(workspace_id: &str, thread_id: &str) -> i32 {
    // `event_key_bytes` is exactly SHA-256 of the two strings NUL-separated (its first 16 bytes).
    let digest = event_key_bytes(workspace_id, thread_id);
    let head = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (head % LOCK_BUCKETS) as i32
}

pub async fn settle<'a>(
    tx: &Transaction<'_>,
    inserted: &[&'a NormalizedEvent],
) -> Result<Settled<'a>, tokio_postgres::Error> {
    let mut settled = Settled::default();
    retract_covered(tx, inserted, &mut settled.retracted).await?;
    record_reports(tx, inserted, &mut settled.uncounted).await?;
    Ok(settled)
}

/// Counted reports of the threads this batch covers, that it covers: marked uncounted, and
/// returned to be taken back out of the rollups.
async fn retract_covered(
    tx: &Transaction<'_>,
    inserted: &[&NormalizedEvent],
    retracted: &mut Vec<TurnReportRow>,
) -> Result<(), tokio_postgres::Error> {
    let (coverers, threads) = coverers(inserted);
    if threads.is_empty() {
        return Ok(());
    }
    let (workspaces, thread_ids): (Vec<&str>, Vec<&str>) = threads.into_iter().unzip();
    let select = tx.prepare_cached(&COUNTED_OF_THREADS).await?;
    let rows = tx.query(&select, &[&workspaces, &thread_ids]).await?;
    for r in rows.iter().map(row) {
        if coverers.iter().any(|c| r.covered_by(c)) {
            retracted.push(r);
        }
    }
    if retracted.is_empty() {
        return Ok(());
    }
    let uncount = tx.prepare_cached(UNCOUNT).await?;
    let workspaces: Vec<&str> = retracted.iter().map(|r| r.workspace_id.as_str()).collect();
    let turn_keys: Vec<&str> = retracted.iter().map(|r| r.turn_key.as_str()).collect();
    tx.execute(&uncount, &[&workspaces, &turn_keys]).await?;
    Ok(())
}

/// Stores this batch's reports, counted unless their turn is covered already; pushes the event
/// keys of those not counted, or not stored because the ledger already has their turn (under
/// another event key), to `uncounted`.
async fn record_reports<'a>(
    tx: &Transaction<'_>,
    inserted: &[&'a NormalizedEvent],
    uncounted: &mut Vec<&'a str>,
) -> Result<(), tokio_postgres::Error> {
    let mut cols = ReportColumns::default();
    // (workspace, turn key) of the rows sent, in order.
    let mut sent: Vec<((&'a str, &'a str), &'a str)> = Vec::new();
    let mut in_batch: HashSet<(&'a str, &'a str)> = HashSet::new();
    for e in inserted {
        let (Some(r), EventKind::TurnUsage(t)) = (TurnReportRow::of(e), &e.kind) else {
            continue;
        };
        let id = (e.workspace_id.as_str(), t.turn_key.as_str());
        // A second report of one turn in this batch: in a row-by-row insert (SQLite) it would
        // conflict with the first, so it is not counted. Only the first is sent, which keeps
        // the statement's RETURNING unambiguous.
        if !in_batch.insert(id) {
            uncounted.push(&e.dedup_key);
            continue;
        }
        sent.push((id, &e.dedup_key));
        cols.push(r);
    }
    if sent.is_empty() {
        return Ok(());
    }
    let insert = tx.prepare_cached(&INSERT_REPORTS).await?;
    let rows = tx.query(&insert, &cols.params()).await?;
    let counted: HashSet<(&str, &str)> = rows
        .iter()
        .filter(|r| r.get::<_, bool>(2))
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (id, event_key) in sent {
        if !counted.contains(&id) {
            uncounted.push(event_key);
        }
    }
    Ok(())
}

/// The reports as one array per column, in `INSERT_REPORTS` parameter order.
#[derive(Default)]
struct ReportColumns {
    workspace_id: Vec<String>,
    turn_key: Vec<String>,
    thread_id: Vec<String>,
    started_ms: Vec<i64>,
    ended_ms: Vec<i64>,
    user_id: Vec<String>,
    client_id: Vec<String>,
    model: Vec<String>,
    rate_card_version: Vec<String>,
    tokens: [Vec<i64>; 4],
    credits_micro: Vec<i64>,
    usd_micro: Vec<i64>,
    claim: Vec<Vec<u8>>,
    window_from: Vec<i64>,
    window_to: Vec<i64>,
}

impl ReportColumns {
    fn push(&mut self, r: TurnReportRow) {
        let (from, to) = r.window();
        self.claim
            .push(event_key_bytes(&r.workspace_id, &r.turn_key).to_vec());
        self.window_from.push(from);
        self.window_to.push(to);
        push_tokens(&mut self.tokens, &r.usage);
        self.started_ms.push(r.started_ms);
        self.ended_ms.push(r.ended_ms);
        self.credits_micro.push(r.credits_micro);
        self.usd_micro.push(r.usd_micro);
        self.workspace_id.push(r.workspace_id);
        self.turn_key.push(r.turn_key);
        self.thread_id.push(r.thread_id);
        self.user_id.push(r.user_id);
        self.client_id.push(r.client_id);
        self.model.push(r.model);
        self.rate_card_version.push(r.rate_card_version);
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 18] {
        let [input, cached, output, reasoning] = &self.tokens;
        [
            &self.workspace_id,
            &self.turn_key,
            &self.thread_id,
            &self.started_ms,
            &self.ended_ms,
            &self.user_id,
            &self.client_id,
            &self.model,
            &self.rate_card_version,
            input,
            cached,
            output,
            reasoning,
            &self.credits_micro,
            &self.usd_micro,
            &self.claim,
            &self.window_from,
            &self.window_to,
        ]
    }
}

/// A counted `turn_reports` row, in `COLUMNS` order.
fn row(r: &Row) -> TurnReportRow {
    let (input, cached_input, output, reasoning_output): (i64, i64, i64, i64) =
        (r.get(8), r.get(9), r.get(10), r.get(11));
    TurnReportRow {
        turn_key: r.get(0),
        thread_id: r.get(1),
        started_ms: r.get(2),
        ended_ms: r.get(3),
        user_id: r.get(4),
        client_id: r.get(5),
        model: r.get(6),
        rate_card_version: r.get(7),
        usage: TokenUsage {
            input,
            cached_input,
            output,
            reasoning_output,
            total: input + output,
        },
        credits_micro: r.get(12),
        usd_micro: r.get(13),
        workspace_id: r.get(14),
        counted: true,
    }
}

/// Appends a usage's four token figures (input, cached input, output, reasoning output) to
/// their column arrays, the parameter order of every token-carrying `UNNEST`.
pub(crate) fn push_tokens(columns: &mut [Vec<i64>; 4], u: &TokenUsage) {
    for (col, v) in columns
        .iter_mut()
        .zip([u.input, u.cached_input, u.output, u.reasoning_output])
    {
        col.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_bounded() {
        // Replicas must agree: the bucket is a pure function of the thread.
        assert_eq!(bucket("ws", "t1"), bucket("ws", "t1"));
        let all: BTreeSet<i32> = (0..1_000).map(|i| bucket("ws", &format!("t{i}"))).collect();
        assert!(all.iter().all(|b| (0..LOCK_BUCKETS as i32).contains(b)));
        assert!(all.len() > 32, "threads spread over the buckets");
    }
}
