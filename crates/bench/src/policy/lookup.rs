//! Lookup latency with 100k users in 1,000 groups, and populating that dataset.

use super::*;

// ---------------------------------------------------------------------------------------------
// lookup

pub(super) struct Dataset {
    workspace_id: String,
    user_ids: Vec<String>,
    /// Group indices of each user.
    member_of: Vec<Vec<usize>>,
    group_ids: Vec<String>,
    group_names: Vec<String>,
}

pub(super) fn email(u: usize) -> String {
    format!("dev{u:06}@bench.example")
}

pub(super) async fn lookup_bench(
    backend: Backend,
    opts: &PolicyOpts,
    common: &Common,
) -> Result<LookupResult> {
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-policy-")
        .tempdir_in(&work)?;
    eprintln!(
        "== policy lookup [{}]: {} users in {} groups, {} rules + default",
        backend.name(),
        opts.users,
        opts.groups,
        opts.assignment_rules
    );
    let mut db = None;
    let result = async {
        let (store, raw): (Arc<dyn Store>, Raw) = match backend {
            Backend::Sqlite => {
                let path = tmp.path().join("steward.db");
                (
                    Arc::new(steward_store_sqlite::SqliteStore::open(&path).await?),
                    Raw::Sqlite(path),
                )
            }
            Backend::Postgres => {
                let fresh = FreshDb::create(&common.postgres_url()?, "policy").await?;
                eprintln!("  fresh database {}", fresh.name);
                let url = fresh.url.clone();
                db = Some(fresh);
                (
                    Arc::new(steward_store_postgres::PostgresStore::connect(&url).await?),
                    Raw::Postgres(url),
                )
            }
        };
        lookup_inner(backend, opts, common, store, raw).await
    }
    .await;
    if let Some(db) = db {
        if let Err(e) = db.drop_db().await {
            eprintln!("  note: {e:#}");
        }
    }
    if common.keep {
        eprintln!("  kept {}", tmp.keep().display());
    }
    result
}

pub(super) enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

pub(super) async fn lookup_inner(
    backend: Backend,
    opts: &PolicyOpts,
    common: &Common,
    store: Arc<dyn Store>,
    raw: Raw,
) -> Result<LookupResult> {
    let mut rng = Rng(0x5EED_0169_0100_0002 ^ opts.users as u64);
    let (ds, populate) = populate(store.as_ref(), &raw, opts, &mut rng).await?;
    let ws = ds.workspace_id.clone();
    let service = PolicyService::new(store.clone());
    let actor = Actor::local_admin();

    // Policies: each a requirements.toml of ~30 prefix rules and a managed config.
    let programs = program_names(60);
    let mut req_bytes = 0;
    let mut policy_names = Vec::new();
    for p in 0..opts.policies.max(1) {
        let name = if p == 0 {
            "baseline".to_owned()
        } else {
            format!("profile-{p:02}")
        };
        let mut prng = Rng(0xB0B0 + p as u64);
        let rules = generate_rules(30, &programs[..10 + p % 40], &mut prng);
        let docs = PolicyDocuments {
            requirements_toml: requirements_toml(&rules),
            managed_config_toml: format!(
                "model = \"gpt-5-codex\"\napproval_policy = \"{}\"\nsandbox_mode = \"workspace-write\"\n",
                if p % 2 == 0 { "on-request" } else { "untrusted" }
            ),
        };
        req_bytes += docs.requirements_toml.len();
        service
            .create(&ws, &name, "steward-bench", docs, "bench", &actor)
            .await
            .with_context(|| format!("creating policy {name}"))?;
        policy_names.push(name);
    }
    // Rules: groups spread over the list (the "department" groups half of the memberships go to).
    let rule_groups = rule_groups(opts);
    let rule_policy = |k: usize| policy_names[1 + k % (policy_names.len() - 1).max(1)].clone();
    let input = AssignmentInput {
        rules: rule_groups
            .iter()
            .enumerate()
            .map(|(k, &g)| RuleInput {
                group: ds.group_names[g].clone(),
                policy: if policy_names.len() > 1 {
                    rule_policy(k)
                } else {
                    policy_names[0].clone()
                },
            })
            .collect(),
        default_policy: Some(policy_names[0].clone()),
        based_on_version: None,
    };
    common.wait_quiet().await;
    let t = Instant::now();
    service.set_assignment(&ws, &input, false, &actor).await?;
    let set_assignment_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut reversed = input.clone();
    reversed.rules.reverse();
    let t = Instant::now();
    let dry = service.set_assignment(&ws, &reversed, true, &actor).await?;
    let set_assignment_dry_run_ms = t.elapsed().as_secs_f64() * 1000.0;
    eprintln!(
        "  set_assignment {:.0} ms; dry run of the reversed order {:.0} ms ({} users would change)",
        set_assignment_ms,
        set_assignment_dry_run_ms,
        dry.changes.len()
    );

    // The expected outcome, in memory.
    let position_of: std::collections::HashMap<usize, usize> =
        rule_groups.iter().enumerate().map(|(k, &g)| (g, k)).collect();
    let expected = |u: usize| -> (Option<usize>, String) {
        let pos = ds.member_of[u]
            .iter()
            .filter_map(|g| position_of.get(g))
            .min()
            .copied();
        match pos {
            Some(k) => (Some(k + 1), input.rules[k].policy.clone()),
            None => (None, policy_names[0].clone()),
        }
    };

    let mut checks = Vec::new();
    let mut ok = true;
    let users: Vec<usize> = (0..opts.lookups + 100)
        .map(|_| rng.below(ds.user_ids.len()))
        .collect();

    // lookup
    common.wait_quiet().await;
    let mut lat = Vec::with_capacity(opts.lookups);
    let (mut agree, mut by_rule, mut evaluated) = (0usize, 0usize, 0usize);
    for (i, &u) in users.iter().enumerate() {
        let t = Instant::now();
        let l = service.lookup(&ws, &LookupSubject::Email(email(u))).await?;
        let e = t.elapsed();
        if i < 100 {
            continue;
        }
        lat.push(e);
        let (pos, policy) = expected(u);
        let got_pos = match &l.matched_by {
            MatchedBy::Rule { position, .. } => Some(*position),
            _ => None,
        };
        by_rule += usize::from(got_pos.is_some());
        evaluated += l.evaluated.len();
        if got_pos == pos && l.policy.as_ref().map(|p| p.name.as_str()) == Some(policy.as_str()) {
            agree += 1;
        }
    }
    let lookup = Latency::of(&lat);
    let n = lat.len().max(1);
    ok &= agree == lat.len();
    checks.push(format!(
        "lookup agrees with the in-memory first-match resolution: {agree}/{}",
        lat.len()
    ));
    eprintln!(
        "  lookup(Email)        p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} lookups, {:.0}% matched by a rule)",
        lookup.p50_ms,
        lookup.p99_ms,
        lookup.max_ms,
        lookup.n,
        100.0 * by_rule as f64 / n as f64
    );

    // effective_for_user
    common.wait_quiet().await;
    let mut lat = Vec::with_capacity(opts.lookups);
    let mut agree = 0;
    for (i, &u) in users.iter().enumerate() {
        let t = Instant::now();
        let eff = service.effective_for_user(&ws, &ds.user_ids[u]).await?;
        let e = t.elapsed();
        if i < 100 {
            continue;
        }
        lat.push(e);
        if eff.policy.as_deref() == Some(expected(u).1.as_str()) && !eff.requirements_toml.is_empty() {
            agree += 1;
        }
    }
    let effective = Latency::of(&lat);
    ok &= agree == lat.len();
    checks.push(format!(
        "effective_for_user names the expected policy: {agree}/{}",
        lat.len()
    ));
    eprintln!(
        "  effective_for_user   p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        effective.p50_ms, effective.p99_ms, effective.max_ms
    );

    // The store calls of a lookup, one by one.
    common.wait_quiet().await;
    let a = store.policy_assignment(&ws).await?;
    let policy_id = a.rules.first().map(|r| r.policy_id.clone()).unwrap_or_default();
    let policy_row = store
        .get_policy_by_id(&ws, &policy_id)
        .await?
        .context("policy of rule 1")?;
    let calls_n = 500.min(users.len());
    let mut calls = Vec::new();
    macro_rules! time_call {
        ($name:expr, $per:expr, |$u:ident| $call:expr) => {{
            let mut lat = Vec::with_capacity(calls_n);
            for (i, &$u) in users.iter().take(calls_n + 20).enumerate() {
                let t = Instant::now();
                black_box($call.await?);
                if i >= 20 {
                    lat.push(t.elapsed());
                }
            }
            calls.push(Call {
                name: $name.to_owned(),
                per_lookup: $per.to_owned(),
                latency: Latency::of(&lat),
            });
        }};
    }
    let (lk, ef) = CALLS_PER;
    time_call!("find_user_by_email", lk[0], |u| store
        .find_user_by_email(&ws, &email(u)));
    time_call!("user_group_ids", format!("{} / {}", lk[1], ef[1]), |u| store
        .user_group_ids(&ws, &ds.user_ids[u]));
    time_call!("policy_assignment", format!("{} / {}", lk[2], ef[2]), |_u| store
        .policy_assignment(&ws));
    time_call!(
        format!("list_groups ({} rows)", ds.group_ids.len()),
        format!("{} / {}", lk[3], ef[3]),
        |_u| store.list_groups(&ws)
    );
    time_call!(
        format!("list_policies ({} rows)", policy_names.len()),
        format!("{} / {}", lk[4], ef[4]),
        |_u| store.list_policies(&ws)
    );
    time_call!("get_policy_by_id", format!("{} / {}", lk[5], ef[5]), |_u| store
        .get_policy_by_id(&ws, &policy_id));
    time_call!("policy_revision", format!("{} / {}", lk[6], ef[6]), |_u| store
        .policy_revision(&policy_row.id, policy_row.latest_revision));
    for c in &calls {
        eprintln!(
            "  {:<28} p50 {:>7.3} ms  p99 {:>7.3} ms   (calls per lookup / effective: {})",
            c.name, c.latency.p50_ms, c.latency.p99_ms, c.per_lookup
        );
    }

    Ok(LookupResult {
        backend: backend.name(),
        populate,
        policies: policy_names.len(),
        assignment_rules: rule_groups.len(),
        requirements_bytes_avg: req_bytes / policy_names.len().max(1),
        set_assignment_ms,
        set_assignment_dry_run_ms,
        lookup,
        effective,
        calls,
        matched_by_rule: by_rule as f64 / n as f64,
        avg_rules_evaluated: evaluated as f64 / n as f64,
        checks_ok: ok,
        checks,
        peak_rss_mib: rss_mib(),
    })
}

/// How many times `PolicyService::lookup` / `effective_for_user` call each store method
/// (find_user_by_email, user_group_ids, policy_assignment, list_groups, list_policies,
/// get_policy_by_id, policy_revision), read from crates/core/src/policies.
pub(super) const CALLS_PER: ([&str; 7], [&str; 7]) = (
    ["1", "1", "1", "1", "1", "1", "1"],
    ["–", "1", "1", "1 if a rule matched", "0", "1", "1"],
);

/// Group indices of the assignment's rules, in rule order: every `groups / rules`-th group,
/// shuffled.
pub(super) fn rule_groups(opts: &PolicyOpts) -> Vec<usize> {
    let n = opts.assignment_rules.min(opts.groups);
    let step = (opts.groups / n.max(1)).max(1);
    let mut v: Vec<usize> = (0..n).map(|k| k * step).collect();
    let mut rng = Rng(0x0005_EED0_0DE0_0003);
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
    v
}

pub(super) const DEPARTMENTS: &[&str] = &[
    "eng",
    "platform",
    "data",
    "ml",
    "infra",
    "security",
    "sre",
    "mobile",
    "web",
    "qa",
    "design",
    "support",
    "finance",
    "sales",
    "contractors",
    "interns",
];

/// Groups (all through `Store::create_group`), then users and memberships through
/// `upsert_user` / `set_group_member` one call at a time: the first `--populate-probe` users
/// measure the rates, and when the whole dataset would exceed `--populate-budget` at those rates
/// the rest is inserted with SQL.
pub(super) async fn populate(
    store: &dyn Store,
    raw: &Raw,
    opts: &PolicyOpts,
    rng: &mut Rng,
) -> Result<(Dataset, Populate)> {
    let start = Instant::now();
    let ws = store.ensure_default_workspace("Default").await?;
    let rule_groups = rule_groups(opts);
    let groups = opts.groups.max(1);
    let mut member_of: Vec<Vec<usize>> = Vec::with_capacity(opts.users);
    for _ in 0..opts.users {
        let mut of = Vec::new();
        if !rng.chance(0.05) {
            let k = 1 + rng.below(3);
            while of.len() < k {
                // Half of the memberships are in the (large) groups the assignment names.
                let g = if rng.chance(0.5) {
                    rule_groups[rng.below(rule_groups.len())]
                } else {
                    rng.below(groups)
                };
                if !of.contains(&g) {
                    of.push(g);
                }
            }
        }
        member_of.push(of);
    }
    let memberships: usize = member_of.iter().map(Vec::len).sum();
    let users_without_group = member_of.iter().filter(|m| m.is_empty()).count();
    let group_names: Vec<String> = (0..groups)
        .map(|i| format!("{}-{i:04}", DEPARTMENTS[i % DEPARTMENTS.len()]))
        .collect();
    let group_ids: Vec<String> = (0..groups)
        .map(|_| format!("grp_{:016x}{:016x}", rng.next(), rng.next()))
        .collect();
    let now = stats::now_ms();

    let t = Instant::now();
    for (id, name) in group_ids.iter().zip(&group_names) {
        store
            .create_group(&Group {
                id: id.clone(),
                workspace_id: ws.id.clone(),
                name: name.clone(),
                source: GroupSource::Manual,
                external_id: None,
                created_at_ms: now,
            })
            .await?;
    }
    let group_secs = t.elapsed().as_secs_f64();

    let mut user_ids: Vec<String> = Vec::with_capacity(opts.users);
    let (user_secs, member_secs, mut store_memberships);
    let add = AddUsers {
        store,
        ws: &ws.id,
        member_of: &member_of,
        group_ids: &group_ids,
    };
    let probe = opts.populate_probe.clamp(1, opts.users.max(1)).min(opts.users);
    let (us, ms, n) = add.run(0, probe, &mut user_ids).await?;
    (user_secs, member_secs, store_memberships) = (us, ms, n);
    let probe_memberships: usize = member_of[..probe].iter().map(Vec::len).sum();
    let rate = |n: usize, secs: f64| n as f64 / secs.max(1e-9);
    let (rate_g, rate_u, rate_m) = (
        rate(groups, group_secs),
        rate(probe, user_secs),
        rate(probe_memberships, member_secs),
    );
    let projected = groups as f64 / rate_g + opts.users as f64 / rate_u + memberships as f64 / rate_m;
    eprintln!(
        "  Store trait, one call at a time: create_group {rate_g:.0}/s, upsert_user {rate_u:.0}/s, set_group_member {rate_m:.0}/s \
         → {} users + {memberships} memberships would take {projected:.0} s",
        opts.users
    );
    let (mut sql_users, mut sql_memberships, mut sql_secs) = (0, 0, 0.0);
    if opts.populate_budget == 0 || projected <= opts.populate_budget as f64 {
        let (_, _, n) = add.run(probe, opts.users, &mut user_ids).await?;
        store_memberships += n;
    } else {
        eprintln!(
            "  more than --populate-budget {} s: inserting the other {} users and {} memberships with SQL",
            opts.populate_budget,
            opts.users - probe,
            memberships - probe_memberships
        );
        let t = Instant::now();
        let new_ids: Vec<String> = (probe..opts.users)
            .map(|_| format!("user-{:016x}{:016x}", rng.next(), rng.next()))
            .collect();
        user_ids.extend(new_ids);
        let mut rows: Vec<(String, String)> = Vec::with_capacity(memberships);
        for u in probe..opts.users {
            for &g in &member_of[u] {
                rows.push((group_ids[g].clone(), user_ids[u].clone()));
            }
        }
        let users: Vec<(String, String)> = (probe..opts.users)
            .map(|u| (user_ids[u].clone(), email(u)))
            .collect();
        sql_users = users.len();
        sql_memberships = rows.len();
        sql_insert(raw, &ws.id, now, users, rows).await?;
        sql_secs = t.elapsed().as_secs_f64();
        eprintln!("  SQL insert took {sql_secs:.1} s");
    }
    let populate = Populate {
        groups,
        users: opts.users,
        memberships,
        users_without_group,
        create_group_per_sec: rate_g,
        upsert_user_per_sec: rate_u,
        set_group_member_per_sec: rate_m,
        store_users: opts.users - sql_users,
        store_memberships,
        projected_store_secs: projected,
        sql_users,
        sql_memberships,
        sql_secs,
        total_secs: start.elapsed().as_secs_f64(),
    };
    Ok((
        Dataset {
            workspace_id: ws.id,
            user_ids,
            member_of,
            group_ids,
            group_names,
        },
        populate,
    ))
}

pub(super) struct AddUsers<'a> {
    store: &'a dyn Store,
    ws: &'a str,
    member_of: &'a [Vec<usize>],
    group_ids: &'a [String],
}

impl AddUsers<'_> {
    /// Users `from..to` through `upsert_user`, then their memberships through
    /// `set_group_member`, one call at a time: (user seconds, membership seconds, memberships).
    async fn run(&self, from: usize, to: usize, user_ids: &mut Vec<String>) -> Result<(f64, f64, usize)> {
        let t = Instant::now();
        for u in from..to {
            let e = email(u);
            let user = self
                .store
                .upsert_user(&NewUser {
                    workspace_id: self.ws.to_owned(),
                    email: Some(e.clone()),
                    name: None,
                    account_id: None,
                    kind: UserKind::Person,
                    principal_key: format!("email:{e}"),
                })
                .await?;
            user_ids.push(user.id);
        }
        let user_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut n = 0;
        for (u, of) in self.member_of.iter().enumerate().take(to).skip(from) {
            for &g in of {
                if !self
                    .store
                    .set_group_member(self.ws, &self.group_ids[g], &user_ids[u], true)
                    .await?
                {
                    bail!("set_group_member added nothing for user {u}");
                }
                n += 1;
            }
        }
        Ok((user_secs, t.elapsed().as_secs_f64(), n))
    }
}

/// The rows `upsert_user` and `set_group_member` would write, in one transaction.
pub(super) async fn sql_insert(
    raw: &Raw,
    ws: &str,
    now: i64,
    users: Vec<(String, String)>,
    members: Vec<(String, String)>,
) -> Result<()> {
    match raw {
        Raw::Sqlite(path) => {
            let (path, ws) = (path.clone(), ws.to_owned());
            tokio::task::spawn_blocking(move || -> Result<()> {
                let mut c = rusqlite::Connection::open(&path)?;
                c.busy_timeout(Duration::from_secs(60))?;
                let tx = c.transaction()?;
                {
                    let mut st = tx.prepare(
                        "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms)
                         VALUES (?1, ?2, ?3, NULL, NULL, 'person', ?4, ?5)",
                    )?;
                    for (id, e) in &users {
                        st.execute(rusqlite::params![id, ws, e, format!("email:{e}"), now])?;
                    }
                    let mut st =
                        tx.prepare("INSERT INTO group_members (workspace_id, group_id, user_id) VALUES (?1, ?2, ?3)")?;
                    for (g, u) in &members {
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
            for chunk in users.chunks(10_000) {
                let ids: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
                let emails: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
                tx.execute(
                    "INSERT INTO users (id, workspace_id, email, name, account_id, kind, principal_key, created_at_ms)
                     SELECT id, $1, email, NULL, NULL, 'person', 'email:' || email, $2
                     FROM UNNEST($3::text[], $4::text[]) AS t(id, email)",
                    &[&ws, &now, &ids, &emails],
                )
                .await?;
            }
            for chunk in members.chunks(10_000) {
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
        }
    }
    Ok(())
}
