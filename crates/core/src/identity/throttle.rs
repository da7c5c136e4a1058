//! The brute-force throttle of password sign-in (local admins).
//!
//! Failures are counted per claimed username in the store, so every replica sees the same
//! count and a restart forgets nothing. The first [`ThrottlePolicy::free_failures`] failures
//! cost nothing; after that each failure locks the name for a delay that doubles, from
//! `first_delay_ms` up to `max_delay_ms`. While locked, an attempt is refused without checking
//! the password (so a guess made during the lock tells nothing, even when it is right). A
//! successful sign-in or a new password (`steward admin passwd`) clears the count; otherwise it
//! is forgotten `memory_ms` after the last failure.
//!
//! Unknown usernames are counted like known ones, so the throttled answer reveals nothing about
//! which usernames exist. On one replica, only one password check per name runs at a time: a
//! burst of parallel guesses would otherwise all be checked before the first failure counts.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use steward_store::SignInFailures;

/// How hard the throttle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures in a row before the first lock.
    pub free_failures: u32,
    /// The lock after the first failure past the free ones (milliseconds); each further failure
    /// doubles it.
    pub first_delay_ms: i64,
    /// The longest lock (milliseconds).
    pub max_delay_ms: i64,
    /// A count is forgotten this long after its last failure (milliseconds).
    pub memory_ms: i64,
}

impl Default for ThrottlePolicy {
    /// 5 free failures, then 30 s, 1 min, 2 min, ... up to 15 min per attempt, remembered for
    /// 12 h: a guesser gets about 60 tries per name in 12 hours; someone who mistyped five
    /// times waits half a minute.
    fn default() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            first_delay_ms: 30_000,
            max_delay_ms: 15 * 60_000,
            memory_ms: 12 * 3_600_000,
        }
    }
}

impl ThrottlePolicy {
    /// Until when `f` locks its name (`None`: not locked, whatever the time).
    pub fn locked_until(&self, f: &SignInFailures) -> Option<i64> {
        let past_free = f.failures.checked_sub(self.free_failures)?;
        // 2^20 × 30 s is years: the cap applies long before the shift could overflow.
        let delay = self
            .first_delay_ms
            .saturating_mul(1_i64 << past_free.min(20))
            .min(self.max_delay_ms);
        Some(f.last_failure_ms.saturating_add(delay))
    }

    /// Failures whose last one is before this are forgotten.
    pub fn remembered_since(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.memory_ms)
    }
}

/// The names whose password is being checked on this replica right now.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<String>>>);

impl InFlight {
    /// Claims `name` until the guard drops; `None` when a check of the name is already running.
    pub fn claim(&self, name: &str) -> Option<InFlightGuard> {
        let mut names = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        names.insert(name.to_owned()).then(|| InFlightGuard {
            set: self.0.clone(),
            name: name.to_owned(),
        })
    }
}

/// Releases its name when dropped (also when the request is cancelled mid-check).
#[derive(Debug)]
pub struct InFlightGuard {
    set: Arc<Mutex<HashSet<String>>>,
    name: String,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(n: u32, at: i64) -> SignInFailures {
        SignInFailures {
            failures: n,
            last_failure_ms: at,
        }
    }

    #[test]
    fn the_lock_starts_after_the_free_failures_and_doubles_to_the_cap() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.locked_until(&failures(0, 1_000)), None);
        assert_eq!(p.locked_until(&failures(4, 1_000)), None);
        assert_eq!(p.locked_until(&failures(5, 1_000)), Some(31_000));
        assert_eq!(p.locked_until(&failures(6, 1_000)), Some(61_000));
        assert_eq!(p.locked_until(&failures(7, 1_000)), Some(121_000));
        assert_eq!(
            p.locked_until(&failures(10, 1_000)),
            Some(901_000),
            "capped at 15 min"
        );
        assert_eq!(p.locked_until(&failures(u32::MAX, 1_000)), Some(901_000));
        assert_eq!(p.remembered_since(100_000_000), 100_000_000 - 43_200_000);
    }

    #[test]
    fn one_check_per_name_at_a_time() {
        let in_flight = InFlight::default();
        let first = in_flight.claim("ops").expect("free");
        assert!(in_flight.claim("ops").is_none(), "a second check waits");
        let other = in_flight.claim("root");
        assert!(other.is_some(), "other names are independent");
        drop(first);
        assert!(in_flight.claim("ops").is_some(), "released on drop");
    }
}
