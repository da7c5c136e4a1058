//! The SCIM scenarios: what is requested, what each answer must say, and the measurement.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::dataset::{self, Dataset};
use super::http::{client, get};
use crate::stats::Latency;

/// What a SCIM answer must say.
pub(super) enum Expect {
    /// A `ListResponse` with these `totalResults` and `itemsPerPage`, whose first resource has
    /// `first.0 = first.1` and (groups) `members` members.
    List {
        total: usize,
        items: usize,
        first: Option<(&'static str, String)>,
        members: Option<usize>,
    },
    /// A Group with this `displayName` and this many members.
    Group { name: String, members: usize },
}

fn members(v: &Value) -> usize {
    v["members"].as_array().map(Vec::len).unwrap_or(0)
}

fn verify(body: &[u8], expect: &Expect) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    match expect {
        Expect::List {
            total,
            items,
            first,
            members: m,
        } => {
            let (t, i) = (v["totalResults"].as_u64(), v["itemsPerPage"].as_u64());
            if t != Some(*total as u64) || i != Some(*items as u64) {
                return Err(format!(
                    "totalResults {t:?} itemsPerPage {i:?}, expected {total} and {items}"
                ));
            }
            let r0 = &v["Resources"][0];
            if let Some((field, want)) = first {
                if r0[*field].as_str() != Some(want.as_str()) {
                    return Err(format!(
                        "first resource has {field} {}, expected {want:?}",
                        r0[*field]
                    ));
                }
            }
            if let Some(m) = m {
                if members(r0) != *m {
                    return Err(format!(
                        "first resource has {} members, expected {m}",
                        members(r0)
                    ));
                }
            }
        }
        Expect::Group { name, members: m } => {
            if v["displayName"].as_str() != Some(name.as_str()) || members(&v) != *m {
                return Err(format!(
                    "group {} with {} members, expected {name:?} with {m}",
                    v["displayName"],
                    members(&v)
                ));
            }
        }
    }
    Ok(())
}

pub(super) struct Scenario {
    pub name: String,
    /// Requests (path and query, with what each must answer), cycled through.
    pub requests: Vec<(String, Expect)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScimResult {
    pub name: String,
    pub example: String,
    pub latency: Latency,
    pub avg_response_kib: f64,
    /// The `totalResults` of the first answer (lists).
    pub total_results: Option<u64>,
    /// Answers that were not 200 or did not say what the dataset holds.
    pub failures: usize,
    pub first_failure: Option<String>,
    /// Stopped at --scim-budget before the asked number of requests.
    pub stopped_by_budget: bool,
}

/// `n` measured requests (after 2 unmeasured ones), fewer when `budget` runs out (but at
/// least 10); every answer checked outside the timed window.
pub(super) async fn scim_scenario(
    base: &str,
    bearer: &str,
    sc: &Scenario,
    n: usize,
    budget: Duration,
) -> Result<ScimResult> {
    let http = client()?;
    let warm = 2;
    let mut lat = Vec::with_capacity(n);
    let (mut bytes, mut failures, mut first_failure, mut total_results) = (0usize, 0usize, None, None);
    let start = Instant::now();
    let mut stopped_by_budget = false;
    for i in 0..warm + n {
        if i >= warm + 10 && start.elapsed() > budget {
            stopped_by_budget = true;
            break;
        }
        let (path, expect) = &sc.requests[i % sc.requests.len()];
        let (d, status, body) = get(&http, &format!("{base}{path}"), Some(bearer)).await?;
        let problem = if status != 200 {
            Some(format!("{status}: {:.300}", String::from_utf8_lossy(&body)))
        } else {
            verify(&body, expect).err()
        };
        if i == 0 {
            total_results = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["totalResults"].as_u64());
        }
        if let Some(p) = problem {
            failures += 1;
            first_failure.get_or_insert_with(|| format!("{path}: {p}"));
        }
        if i >= warm {
            lat.push(d);
            bytes += body.len();
        }
    }
    Ok(ScimResult {
        name: sc.name.clone(),
        example: sc.requests[0].0.clone(),
        avg_response_kib: bytes as f64 / lat.len().max(1) as f64 / 1024.0,
        latency: Latency::of(&lat),
        total_results,
        failures,
        first_failure,
        stopped_by_budget,
    })
}

/// One SCIM request; `Err` describes what the server answered when it was not a 200.
pub(super) async fn scim_probe(base: &str, bearer: &str, path: &str) -> Result<Result<(), String>> {
    let (_, status, body) = get(&client()?, &format!("{base}{path}"), Some(bearer)).await?;
    Ok(if status == 200 {
        Ok(())
    } else {
        Err(format!(
            "GET {path} answered {status}: {:.300}",
            String::from_utf8_lossy(&body)
        ))
    })
}

/// A query value, percent-encoded (everything but RFC 3986 unreserved characters).
pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pages at the first, middle and last offsets; filters on random users and groups; the
/// biggest group.
pub(super) fn scenarios(ds: &Dataset, n: usize) -> Vec<Scenario> {
    let (users, groups) = (ds.shape.users, ds.shape.groups);
    let offsets = |total: usize| {
        let mut v = vec![1, (total / 2).max(1), total.saturating_sub(99).max(1)];
        v.dedup();
        v
    };
    let mut out = Vec::new();
    for s in offsets(users) {
        out.push(Scenario {
            name: format!("Users?startIndex={s}&count=100"),
            requests: vec![(
                format!("/scim/v2/Users?startIndex={s}&count=100"),
                Expect::List {
                    total: users,
                    items: 100.min(users + 1 - s),
                    first: Some(("userName", dataset::user_name(s - 1))),
                    members: None,
                },
            )],
        });
    }
    let mut rng = dataset::Rng(0x00F1_17E4);
    let picks = n.min(1000);
    out.push(Scenario {
        name: "Users?filter=userName eq \"…\"".into(),
        requests: (0..picks)
            .map(|_| {
                let u = rng.below(users);
                let name = dataset::user_name(u);
                (
                    format!(
                        "/scim/v2/Users?filter={}",
                        encode(&format!("userName eq \"{name}\""))
                    ),
                    Expect::List {
                        total: 1,
                        items: 1,
                        first: Some(("userName", name)),
                        members: None,
                    },
                )
            })
            .collect(),
    });
    for s in offsets(groups) {
        let g = ds.created_order[s - 1];
        out.push(Scenario {
            name: format!("Groups?startIndex={s}&count=100"),
            requests: vec![(
                format!("/scim/v2/Groups?startIndex={s}&count=100"),
                Expect::List {
                    total: groups,
                    items: 100.min(groups + 1 - s),
                    first: Some(("displayName", ds.group_names[g].clone())),
                    members: Some(ds.sizes[g]),
                },
            )],
        });
    }
    out.push(Scenario {
        name: "Groups?filter=displayName eq \"…\"".into(),
        requests: (0..picks)
            .map(|_| {
                let g = rng.below(groups);
                let name = ds.group_names[g].clone();
                (
                    format!(
                        "/scim/v2/Groups?filter={}",
                        encode(&format!("displayName eq \"{name}\""))
                    ),
                    Expect::List {
                        total: 1,
                        items: 1,
                        first: Some(("displayName", name)),
                        members: Some(ds.sizes[g]),
                    },
                )
            })
            .collect(),
    });
    let biggest = (0..groups).max_by_key(|&g| ds.sizes[g]).unwrap_or(0);
    out.push(Scenario {
        name: format!("Groups/{{id}} (biggest: {} members)", ds.sizes[biggest]),
        requests: vec![(
            format!("/scim/v2/Groups/{}", ds.group_ids[biggest]),
            Expect::Group {
                name: ds.group_names[biggest].clone(),
                members: ds.sizes[biggest],
            },
        )],
    });
    out
}
