//! Backend-neutral rollup arithmetic: what a batch of newly inserted events adds to the usage
//! tables. Backends only persist these deltas (SQL upserts); the logic lives here once.

use std::collections::{BTreeMap, HashMap, HashSet};

use steward_model::time::{day_start, week_start};
use steward_model::NormalizedEvent;

use crate::query::UsageTotals;

/// The 16-byte dedup key stored in `event_keys`: SHA-256 of the workspace and the event's
/// dedup key, so equal keys in two workspaces never collide and the index stays small.
pub fn event_key_bytes(workspace_id: &str, dedup_key: &str) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(workspace_id.as_bytes());
    h.update([0u8]);
    h.update(dedup_key.as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The 16-byte key of a `thread_seen` row (stored beside its bucket): SHA-256 of the counter
/// and the thread, NUL-separated. A narrow, bucket-first key keeps that index small and its
/// inserts local to the current day and week; the table is only ever asked "is this new?".
/// Migration 0002 computes the same bytes in SQL, so both must change together (or not at all).
pub fn thread_seen_key(
    workspace_id: &str,
    grain: &str,
    user_id: &str,
    client_id: &str,
    thread_id: &str,
) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, part) in [workspace_id, grain, user_id, client_id, thread_id]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Primary key of a `usage_daily` row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageDailyKey {
    pub workspace_id: String,
    pub day: i64,
    pub week: i64,
    pub user_id: String,
    pub client_id: String,
    pub model: String,
    pub rate_card_version: String,
}

/// `user_id` of workspace-level rollup rows (sums over all users).
pub const ALL_USERS: &str = "";
/// `client_id` of thread counts over all clients.
pub const ALL_CLIENTS: &str = "";

/// Bucket grain of a thread count: `d` (UTC day) or `w` (ISO week) for per-user counters,
/// `D` / `W` for workspace counters. Separate grains make each kind a prefix of the primary
/// key `(workspace_id, grain, bucket, ...)`, so a workspace query never walks users' counters.
pub const GRAIN_DAY: &str = "d";
pub const GRAIN_WEEK: &str = "w";
pub const GRAIN_WORKSPACE_DAY: &str = "D";
pub const GRAIN_WORKSPACE_WEEK: &str = "W";

/// Active users: workspace counters (`user_id` = [`ALL_USERS`]) of distinct *users* with usage
/// in a day (`a`) or week (`b`), per client or all clients. They reuse the thread counters'
/// machinery with the user id in the place of the thread id, so the dashboard's "active users"
/// is a read of a few counters instead of a distinct count over every usage row.
pub const GRAIN_ACTIVE_USERS_DAY: &str = "a";
pub const GRAIN_ACTIVE_USERS_WEEK: &str = "b";

/// The grain of an active-users counter for a bucket kind.
pub fn active_users_grain(week: bool) -> &'static str {
    if week {
        GRAIN_ACTIVE_USERS_WEEK
    } else {
        GRAIN_ACTIVE_USERS_DAY
    }
}

/// The grain of a counter for a bucket kind (`week`) and a user or all users.
pub fn grain(week: bool, all_users: bool) -> &'static str {
    match (week, all_users) {
        (false, false) => GRAIN_DAY,
        (true, false) => GRAIN_WEEK,
        (false, true) => GRAIN_WORKSPACE_DAY,
        (true, true) => GRAIN_WORKSPACE_WEEK,
    }
}

/// Key of a distinct-thread counter: threads active in a bucket, for one user or all users
/// ([`ALL_USERS`]) and one client or all clients ([`ALL_CLIENTS`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadCountKey {
    pub workspace_id: String,
    pub grain: &'static str,
    pub bucket: i64,
    pub user_id: String,
    pub client_id: String,
}

/// "This thread was active in this counter's bucket": a `thread_seen` row. Inserting it for
/// the first time increments the counter; seeing it again does nothing, which makes the
/// counters distinct counts that never need a scan at query time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadSeen {
    pub counter: ThreadCountKey,
    pub thread_id: String,
}

impl ThreadSeen {
    /// The row's stored key ([`thread_seen_key`]).
    pub fn key(&self) -> [u8; 16] {
        let c = &self.counter;
        thread_seen_key(
            &c.workspace_id,
            c.grain,
            &c.user_id,
            &c.client_id,
            &self.thread_id,
        )
    }
}

/// [`UsageDailyKey`] borrowed from an event, for aggregating a batch without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct BorrowedUsageKey<'a> {
    workspace_id: &'a str,
    day: i64,
    week: i64,
    user_id: &'a str,
    client_id: &'a str,
    model: &'a str,
    rate_card_version: &'a str,
}

impl BorrowedUsageKey<'_> {
    fn to_owned(self) -> UsageDailyKey {
        UsageDailyKey {
            workspace_id: self.workspace_id.to_owned(),
            day: self.day,
            week: self.week,
            user_id: self.user_id.to_owned(),
            client_id: self.client_id.to_owned(),
            model: self.model.to_owned(),
            rate_card_version: self.rate_card_version.to_owned(),
        }
    }
}

/// "This user's thread was active on this client, day and week": the one fact behind the
/// eight `thread_seen` rows (day/week × user/all users × client/all clients).
#[derive(PartialEq, Eq, Hash)]
struct ThreadActivity<'a> {
    workspace_id: &'a str,
    user_id: &'a str,
    client_id: &'a str,
    thread_id: &'a str,
    day: i64,
    week: i64,
}

/// Everything a batch adds to the rollups, already merged by key. `usage` holds per-user rows
/// and workspace rows (`user_id` = [`ALL_USERS`]) so that both kinds of query read few rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RollupDelta {
    pub usage: BTreeMap<UsageDailyKey, UsageTotals>,
    /// Sorted and unique.
    pub thread_seen: Vec<ThreadSeen>,
}

impl RollupDelta {
    /// Builds the delta of the given (newly inserted) events. Events that count nothing
    /// (sse deltas, unknown events, ...) contribute nothing.
    ///
    /// This runs on the single writer thread for every batch, so it aggregates on keys
    /// borrowed from the events first and allocates owned rows once per distinct key: a batch
    /// of 512 records touches a handful of threads and usage rows, not 512 × 8.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a NormalizedEvent>) -> Self {
        let mut usage: HashMap<BorrowedUsageKey<'a>, UsageTotals> = HashMap::new();
        let mut active: HashSet<ThreadActivity<'a>> = HashSet::new();
        // (workspace, user, client, day, week) with usage: the active-user counters' facts.
        let mut users: HashSet<(&'a str, &'a str, &'a str, i64, i64)> = HashSet::new();
        for event in events {
            let tokens = event.kind.usage();
            let is_turn = event.kind.is_turn();
            if !is_turn && tokens.is_none() {
                continue;
            }
            let secs = event.timestamp_ms.div_euclid(1000);
            let (day, week) = (day_start(secs), week_start(secs));
            let mut sums = UsageTotals::default();
            if is_turn {
                sums.turns += 1;
            }
            if let Some(u) = tokens {
                sums.input_tokens += u.input;
                sums.cached_input_tokens += u.cached_input;
                sums.output_tokens += u.output;
                sums.reasoning_output_tokens += u.reasoning_output;
                sums.credits_micro += event.credits_micro;
                sums.usd_micro += event.usd_micro;
            }
            let key = BorrowedUsageKey {
                workspace_id: &event.workspace_id,
                day,
                week,
                user_id: &event.user_id,
                client_id: &event.client_id,
                model: event.model.as_deref().unwrap_or_default(),
                rate_card_version: &event.rate_card_version,
            };
            let workspace_key = BorrowedUsageKey {
                user_id: ALL_USERS,
                ..key
            };
            usage.entry(key).or_default().add(&sums);
            usage.entry(workspace_key).or_default().add(&sums);
            if event.user_id != ALL_USERS {
                users.insert((&event.workspace_id, &event.user_id, &event.client_id, day, week));
            }
            if let (Some(thread_id), true) = (&event.thread_id, event.kind.activates_thread()) {
                active.insert(ThreadActivity {
                    workspace_id: &event.workspace_id,
                    user_id: &event.user_id,
                    client_id: &event.client_id,
                    thread_id,
                    day,
                    week,
                });
            }
        }
        let mut delta = RollupDelta {
            usage: usage.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            thread_seen: Vec::with_capacity(active.len() * 8 + users.len() * 4),
        };
        for (workspace_id, user_id, client_id, day, week) in users {
            for (is_week, bucket) in [(false, day), (true, week)] {
                for client in [client_id, ALL_CLIENTS] {
                    delta.thread_seen.push(ThreadSeen {
                        counter: ThreadCountKey {
                            workspace_id: workspace_id.to_owned(),
                            grain: active_users_grain(is_week),
                            bucket,
                            user_id: ALL_USERS.to_owned(),
                            client_id: client.to_owned(),
                        },
                        thread_id: user_id.to_owned(),
                    });
                }
            }
        }
        for a in active {
            for (is_week, bucket) in [(false, a.day), (true, a.week)] {
                for user_id in [a.user_id, ALL_USERS] {
                    for client_id in [a.client_id, ALL_CLIENTS] {
                        delta.thread_seen.push(ThreadSeen {
                            counter: ThreadCountKey {
                                workspace_id: a.workspace_id.to_owned(),
                                grain: grain(is_week, user_id == ALL_USERS),
                                bucket,
                                user_id: user_id.to_owned(),
                                client_id: client_id.to_owned(),
                            },
                            thread_id: a.thread_id.to_owned(),
                        });
                    }
                }
            }
        }
        // Sorted so that every backend writes rows in one order (no lock-order surprises
        // between replicas) and unique because two activities can share a workspace counter.
        delta.thread_seen.sort_unstable();
        delta.thread_seen.dedup();
        delta
    }

    pub fn is_empty(&self) -> bool {
        self.usage.is_empty() && self.thread_seen.is_empty()
    }

    /// Counter increments for the `thread_seen` rows that turned out to be new.
    pub fn thread_count_increments<'a>(
        newly_seen: impl IntoIterator<Item = &'a ThreadSeen>,
    ) -> BTreeMap<ThreadCountKey, i64> {
        let mut out = BTreeMap::new();
        for seen in newly_seen {
            *out.entry(seen.counter.clone()).or_insert(0) += 1;
        }
        out
    }
}
