//! The SCIM dataset: users provisioned by an identity provider and its groups, inserted with
//! plain SQL (one transaction) as the rows `ScimStore::scim_create_user` / `scim_create_group`
//! write: `users` with `user_name`, `external_id`, `active`, `scim_json`, `updated_at_ms`;
//! `user_groups` with `source = 'scim'`, `external_id`, `scim_json`; `group_members`.
//!
//! Group sizes: every user is in 3 groups, one of each tier:
//! * a department (the first 6 groups), weighted 30/20/15/15/10/10%: with 100k users, groups of
//!   30k, 20k, 15k, 15k, 10k and 10k members;
//! * a team: a tenth of the other groups (≈100 members each with 100k users in 10k groups);
//! * a project: the rest (≈11 members each).
//!
//! Groups are created (`created_at_ms`, the SCIM list order) in a shuffled order, so the big
//! ones are spread over the pages.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

pub(super) const DEPARTMENTS: [(&str, f64); 6] = [
    ("Engineering", 0.30),
    ("Sales", 0.20),
    ("Operations", 0.15),
    ("Customer Success", 0.15),
    ("Marketing", 0.10),
    ("Finance", 0.10),
];

/// Splitmix64: the same dataset for the same sizes.
pub(super) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub(super) fn user_name(u: usize) -> String {
    format!("user-{u:05}@example.com")
}

/// What was inserted, and what the SCIM answers must then say.
pub(super) struct Dataset {
    pub group_ids: Vec<String>,
    pub group_names: Vec<String>,
    /// Members of each group.
    pub sizes: Vec<usize>,
    /// Group indices by creation order (the SCIM list order).
    pub created_order: Vec<usize>,
    pub shape: Shape,
}

/// The dataset's figures, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Shape {
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub department_groups: usize,
    pub department_sizes: Vec<usize>,
    pub team_groups: usize,
    pub team_avg_members: f64,
    pub project_groups: usize,
    pub project_avg_members: f64,
    pub insert_secs: f64,
}

pub(super) struct Rows {
    /// (id, user index)
    users: Vec<(String, usize)>,
    /// (id, name, external id, created_at_ms)
    groups: Vec<(String, String, String, i64)>,
    /// (group id, user id)
    members: Vec<(String, String)>,
}

/// Builds the dataset (ids, memberships) without touching a database.
pub(super) fn generate(users: usize, groups: usize, seed: u64) -> (Dataset, Rows) {
    let mut rng = Rng(seed);
    let groups = groups.max(1);
    let big = DEPARTMENTS.len().min(groups);
    let rest = groups - big;
    let medium = if rest >= 2 { (rest / 10).max(1) } else { 0 };
    let small = rest - medium;
    let weights: Vec<f64> = DEPARTMENTS[..big].iter().map(|d| d.1).collect();
    let total_w: f64 = weights.iter().sum();

    let user_ids: Vec<String> = (0..users)
        .map(|_| format!("usr_{:016x}{:016x}", rng.next(), rng.next()))
        .collect();
    let group_ids: Vec<String> = (0..groups)
        .map(|_| format!("grp_{:016x}{:016x}", rng.next(), rng.next()))
        .collect();
    let group_names: Vec<String> = (0..groups)
        .map(|g| {
            if g < big {
                DEPARTMENTS[g].0.to_owned()
            } else if g < big + medium {
                format!("Team {:04}", g - big)
            } else {
                format!("Project {:05}", g - big - medium)
            }
        })
        .collect();
    let mut sizes = vec![0usize; groups];
    let mut members = Vec::with_capacity(users * 3);
    for uid in &user_ids {
        let mut x = rng.unit() * total_w;
        let mut dept = big - 1;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                dept = i;
                break;
            }
            x -= w;
        }
        let mut of = vec![dept];
        if medium > 0 {
            of.push(big + rng.below(medium));
        }
        if small > 0 {
            of.push(big + medium + rng.below(small));
        }
        for g in of {
            sizes[g] += 1;
            members.push((group_ids[g].clone(), uid.clone()));
        }
    }
    // Creation order: a shuffle, so the departments land on different pages.
    let mut created_order: Vec<usize> = (0..groups).collect();
    for i in (1..groups).rev() {
        let j = rng.below(i + 1);
        created_order.swap(i, j);
    }
    let base = crate::stats::now_ms() - 86_400_000;
    let mut created_at = vec![0i64; groups];
    for (pos, &g) in created_order.iter().enumerate() {
        created_at[g] = base + pos as i64;
    }
    let avg = |r: std::ops::Range<usize>| {
        let n = r.len();
        if n == 0 {
            0.0
        } else {
            sizes[r].iter().sum::<usize>() as f64 / n as f64
        }
    };
    let shape = Shape {
        users,
        groups,
        memberships: members.len(),
        department_groups: big,
        department_sizes: sizes[..big].to_vec(),
        team_groups: medium,
        team_avg_members: avg(big..big + medium),
        project_groups: small,
        project_avg_members: avg(big + medium..groups),
        insert_secs: 0.0,
    };
    let rows = Rows {
        users: user_ids
            .iter()
            .cloned()
            .enumerate()
            .map(|(u, id)| (id, u))
            .collect(),
        groups: (0..groups)
            .map(|g| {
                (
                    group_ids[g].clone(),
                    group_names[g].clone(),
                    format!("00g{g:07}"),
                    created_at[g],
                )
            })
            .collect(),
        members,
    };
    (
        Dataset {
            group_ids,
            group_names,
            sizes,
            created_order,
            shape,
        },
        rows,
    )
}

/// The SCIM attributes an identity provider (Okta-like) sends for user `u`, as stored.
fn user_scim_json(u: usize) -> String {
    let dept = DEPARTMENTS[u % DEPARTMENTS.len()].0;
    serde_json::json!({
        "name": {"formatted": format!("Dev {u:05}"), "familyName": format!("{u:05}"), "givenName": "Dev"},
        "displayName": format!("Dev {u:05}"),
        "emails": [{"value": user_name(u), "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": dept, "employeeNumber": format!("{u:05}")
        },
    })
    .to_string()
}

pub(super) enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Inserts the rows in one transaction; returns the seconds it took.
pub(super) async fn insert(raw: &Raw, ws: &str, rows: Rows) -> Result<f64> {
    let t = Instant::now();
    let now = crate::stats::now_ms();
    let user_base = now - 2 * 86_400_000;
    match raw {
        Raw::Sqlite(path) => {
            let (path, ws) = (path.clone(), ws.to_owned());
            tokio::task::spawn_blocking(move || -> Result<()> {
                let mut c = rusqlite::Connection::open(&path)?;
                c.busy_timeout(Duration::from_secs(60))?;
                let tx = c.transaction()?;
                {
                    let mut st = tx.prepare(
                        "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms,
                                            user_name, external_id, active, scim_json, updated_at_ms)
                         VALUES (?1, ?2, ?3, ?4, NULL, 'person', ?5, ?6, ?3, ?7, 1, ?8, ?6)",
                    )?;
                    for (id, u) in &rows.users {
                        let e = user_name(*u);
                        st.execute(rusqlite::params![
                            id,
                            ws,
                            e,
                            format!("Dev {u:05}"),
                            format!("email:{e}"),
                            user_base + *u as i64,
                            format!("00u{u:07}"),
                            user_scim_json(*u)
                        ])?;
                    }
                    let mut st = tx.prepare(
                        "INSERT INTO user_groups (id, workspace_id, name, source, external_id, created_at_ms, scim_json, updated_at_ms)
                         VALUES (?1, ?2, ?3, 'scim', ?4, ?5, '{}', ?5)",
                    )?;
                    for (id, name, ext, at) in &rows.groups {
                        st.execute(rusqlite::params![id, ws, name, ext, at])?;
                    }
                    let mut st =
                        tx.prepare("INSERT INTO group_members (workspace_id, group_id, user_id) VALUES (?1, ?2, ?3)")?;
                    for (g, u) in &rows.members {
                        st.execute(rusqlite::params![ws, g, u])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await??;
        }
        Raw::Postgres(url) => {
            let mut client = crate::pg::connect(url).await?;
            let tx = client.transaction().await?;
            for chunk in rows.users.chunks(10_000) {
                let ids: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
                let emails: Vec<String> = chunk.iter().map(|r| user_name(r.1)).collect();
                let names: Vec<String> = chunk.iter().map(|r| format!("Dev {:05}", r.1)).collect();
                let created: Vec<i64> = chunk.iter().map(|r| user_base + r.1 as i64).collect();
                let ext: Vec<String> = chunk.iter().map(|r| format!("00u{:07}", r.1)).collect();
                let json: Vec<String> = chunk.iter().map(|r| user_scim_json(r.1)).collect();
                tx.execute(
                    "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms,
                                        user_name, external_id, active, scim_json, updated_at_ms)
                     SELECT id, $1, email, name, NULL, 'person', 'email:' || email, created, email, ext, 1, js, created
                     FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[])
                          AS t(id, email, name, created, ext, js)",
                    &[&ws, &ids, &emails, &names, &created, &ext, &json],
                )
                .await?;
            }
            let ids: Vec<&str> = rows.groups.iter().map(|r| r.0.as_str()).collect();
            let names: Vec<&str> = rows.groups.iter().map(|r| r.1.as_str()).collect();
            let ext: Vec<&str> = rows.groups.iter().map(|r| r.2.as_str()).collect();
            let created: Vec<i64> = rows.groups.iter().map(|r| r.3).collect();
            tx.execute(
                "INSERT INTO user_groups (id, workspace_id, name, source, external_id, created_at_ms, scim_json, updated_at_ms)
                 SELECT id, $1, name, 'scim', ext, created, '{}', created
                 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(id, name, ext, created)",
                &[&ws, &ids, &names, &ext, &created],
            )
            .await?;
            for chunk in rows.members.chunks(20_000) {
                let g: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
                let u: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
                tx.execute(
                    "INSERT INTO group_members (workspace_id, group_id, user_id)
                     SELECT $1, g, u FROM UNNEST($2::text[], $3::text[]) AS t(g, u)",
                    &[&ws, &g, &u],
                )
                .await?;
            }
            tx.commit().await?;
            // What autovacuum does shortly after a load this size; without it the first
            // minutes would run on plans made for empty tables.
            client
                .batch_execute("ANALYZE users; ANALYZE user_groups; ANALYZE group_members")
                .await?;
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_is_in_three_groups_and_departments_are_big() {
        let (ds, rows) = generate(10_000, 1000, 7);
        assert_eq!(rows.members.len(), 30_000);
        assert_eq!(ds.sizes.iter().sum::<usize>(), 30_000);
        assert!(
            ds.shape.department_sizes[0] > 2500,
            "{:?}",
            ds.shape.department_sizes
        );
        assert_eq!(ds.shape.team_groups, 99);
        let mut seen = std::collections::HashSet::new();
        assert!(
            rows.members.iter().all(|m| seen.insert(m.clone())),
            "duplicate membership"
        );
        let (small, _) = generate(10, 3, 1);
        assert_eq!(small.sizes.iter().sum::<usize>(), 10);
    }
}
