//! Backend-neutral assembly of usage rows from the grouped sums a backend selects.

use std::collections::{BTreeMap, HashMap};

use crate::query::{ClientUsage, ModelUsage, UsageKey, UsageRow, UsageTotals};

/// One grouped sum as selected from `usage_daily`: bucket, user (empty for workspace rows),
/// client, model and sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumRow {
    pub key: UsageKey,
    pub client_id: String,
    pub model: String,
    pub sums: UsageTotals,
}

/// A distinct-thread count as selected from `thread_days`; `client_id` is `None` for the
/// per-row count (distinct over all clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCount {
    pub key: UsageKey,
    pub client_id: Option<String>,
    pub threads: i64,
}

/// Builds the rows for `keys` (already ordered and limited) from their sums and thread counts.
pub fn assemble_rows(
    keys: &[UsageKey],
    sums: Vec<SumRow>,
    threads: Vec<ThreadCount>,
    emails: &HashMap<String, Option<String>>,
) -> Vec<UsageRow> {
    let mut by_key: BTreeMap<UsageKey, UsageRow> = keys
        .iter()
        .map(|k| {
            let row = UsageRow {
                key: k.clone(),
                user_email: emails.get(&k.user_id).cloned().flatten(),
                threads: 0,
                totals: UsageTotals::default(),
                clients: Vec::new(),
                models: Vec::new(),
            };
            (k.clone(), row)
        })
        .collect();
    let mut clients: BTreeMap<(UsageKey, String), ClientUsage> = BTreeMap::new();
    let mut models: BTreeMap<(UsageKey, String), ModelUsage> = BTreeMap::new();
    for s in sums {
        let Some(row) = by_key.get_mut(&s.key) else {
            continue;
        };
        row.totals.add(&s.sums);
        clients
            .entry((s.key.clone(), s.client_id.clone()))
            .or_insert_with(|| ClientUsage {
                client_id: s.client_id.clone(),
                threads: 0,
                sums: UsageTotals::default(),
            })
            .sums
            .add(&s.sums);
        models
            .entry((s.key.clone(), s.model.clone()))
            .or_insert_with(|| ModelUsage {
                model: s.model.clone(),
                sums: UsageTotals::default(),
            })
            .sums
            .add(&s.sums);
    }
    for t in threads {
        match t.client_id {
            None => {
                if let Some(row) = by_key.get_mut(&t.key) {
                    row.threads = t.threads;
                }
            }
            Some(client_id) => {
                if let Some(c) = clients.get_mut(&(t.key.clone(), client_id)) {
                    c.threads = t.threads;
                }
            }
        }
    }
    for ((key, _), c) in clients {
        if let Some(row) = by_key.get_mut(&key) {
            row.clients.push(c);
        }
    }
    for ((key, _), m) in models {
        if let Some(row) = by_key.get_mut(&key) {
            // Turns-only rows without a model carry no tokens; keep them out of `models`.
            if m.model.is_empty() && m.sums.input_tokens == 0 && m.sums.output_tokens == 0 {
                continue;
            }
            row.models.push(m);
        }
    }
    by_key.into_values().collect()
}
