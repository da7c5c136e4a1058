//! The markdown tables of `steward-bench policy`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Output

pub(super) fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

pub fn markdown(r: &PolicyResult) -> String {
    let mut s = String::new();
    if let Some(c) = &r.check {
        let _ = writeln!(
            s,
            "### Exec-policy check-command: {} prefix rules over {} programs (single thread)\n",
            c.rules, c.programs
        );
        let _ = writeln!(
            s,
            "Rules: {} allow / {} prompt / {} forbidden; patterns of 1/2/3/4 tokens: {}/{}/{}/{}; {} with alternatives; {} index entries (first-token alternatives expanded). \
             Evaluations/s are the median of {} runs of {:.1} s after a warm-up (min–max in brackets).\n",
            c.rules_by_decision[0],
            c.rules_by_decision[1],
            c.rules_by_decision[2],
            c.rules_by_len[0],
            c.rules_by_len[1],
            c.rules_by_len[2],
            c.rules_by_len[3],
            c.rules_with_alternatives,
            c.index_entries,
            c.workloads.first().map_or(0, |w| w.check.runs),
            c.workloads.first().map_or(0.0, |w| w.check.secs_per_run),
        );
        let _ = writeln!(
            s,
            "| commands | n | argv tokens | matches | rules compared | `Policy::check` evals/s | ns/eval | check + `to_json` evals/s | ns/eval | JSON bytes |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for w in &c.workloads {
            let _ = writeln!(
                s,
                "| {} | {} | {:.1} | {:.2} | {:.1} | **{}** ({}–{}) | {:.0} | **{}** ({}–{}) | {:.0} | {:.0} |",
                w.name,
                w.commands,
                w.avg_tokens,
                w.avg_matches,
                w.avg_candidates,
                fmt_rate(w.check.per_sec),
                fmt_rate(w.check.min_per_sec),
                fmt_rate(w.check.max_per_sec),
                1e9 / w.check.per_sec,
                fmt_rate(w.check_json.per_sec),
                fmt_rate(w.check_json.min_per_sec),
                fmt_rate(w.check_json.max_per_sec),
                1e9 / w.check_json.per_sec,
                w.avg_json_bytes
            );
        }
        let _ = writeln!(
            s,
            "\n| one-off / per invocation (same rules) | n | first ms | p50 ms | p99 ms | max ms | output = in-process JSON | note |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|---|");
        for o in &c.one_offs {
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | **{:.2}** | {:.2} | {:.2} | {} | {} |",
                o.name,
                o.latency.n + 1,
                o.first_ms,
                o.latency.p50_ms,
                o.latency.p99_ms,
                o.latency.max_ms,
                o.identical
                    .map(|i| format!("{i}/{}", o.latency.n + 1))
                    .unwrap_or_else(|| "–".into()),
                o.note
            );
        }
        for k in &c.skipped {
            let _ = writeln!(s, "\nSkipped: {k}");
        }
        let _ = writeln!(
            s,
            "\n.rules file {} bytes, requirements.toml {} bytes. Peak RSS of steward-bench after this part: {:.1} MiB.\n",
            c.rules_file_bytes, c.requirements_bytes, c.peak_rss_mib
        );
    }
    if !r.lookups.is_empty() {
        let _ = writeln!(
            s,
            "### Policy lookup latency (sequential calls, random users, warm)\n"
        );
        let _ = writeln!(s, "| backend | dataset | call | n | p50 ms | p99 ms | max ms |");
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|");
        for l in &r.lookups {
            let p = &l.populate;
            let dataset = format!(
                "{} users ({} in no group), {} groups, {} memberships; {} rules + default, {} policies",
                p.users, p.users_without_group, p.groups, p.memberships, l.assignment_rules, l.policies
            );
            for (name, lat) in [
                ("`PolicyService::lookup(Email)`", &l.lookup),
                ("`PolicyService::effective_for_user`", &l.effective),
            ] {
                let _ = writeln!(
                    s,
                    "| {} | {dataset} | {name} | {} | **{:.2}** | **{:.2}** | {:.2} |",
                    l.backend, lat.n, lat.p50_ms, lat.p99_ms, lat.max_ms
                );
            }
            for c in &l.calls {
                let _ = writeln!(
                    s,
                    "| {} | | `Store::{}` (calls per lookup / effective: {}) | {} | {:.3} | {:.3} | {:.3} |",
                    l.backend,
                    c.name,
                    c.per_lookup,
                    c.latency.n,
                    c.latency.p50_ms,
                    c.latency.p99_ms,
                    c.latency.max_ms
                );
            }
        }
        for l in &r.lookups {
            let p = &l.populate;
            let _ = writeln!(
                s,
                "\n{}: {:.0}% of lookups matched by a rule (the rest: the default), {:.1} rules evaluated per lookup on average; \
                 `set_assignment` {:.0} ms, dry run of the reversed rule order {:.0} ms (both list every user and membership). \
                 Population through the Store trait, one call at a time: create_group {:.0}/s, upsert_user {:.0}/s, set_group_member {:.0}/s, \
                 so the whole dataset would take {:.0} s; {}. Checks {}: {}. Peak RSS of steward-bench {:.1} MiB.",
                l.backend,
                100.0 * l.matched_by_rule,
                l.avg_rules_evaluated,
                l.set_assignment_ms,
                l.set_assignment_dry_run_ms,
                p.create_group_per_sec,
                p.upsert_user_per_sec,
                p.set_group_member_per_sec,
                p.projected_store_secs,
                if p.sql_users > 0 {
                    format!(
                        "{} users and {} memberships went through the Store trait, the other {} users and {} memberships were inserted with SQL in one transaction ({:.1} s)",
                        p.store_users, p.store_memberships, p.sql_users, p.sql_memberships, p.sql_secs
                    )
                } else {
                    format!("all of it went through the Store trait ({:.0} s)", p.total_secs)
                },
                if l.checks_ok { "OK" } else { "FAILED" },
                l.checks.join("; "),
                l.peak_rss_mib
            );
        }
        let _ = writeln!(s);
    }
    if !r.concurrent_builds.is_empty() {
        let _ = writeln!(s, "Concurrent builds seen: {}.\n", r.concurrent_builds.join(" "));
    }
    s
}
