//! The markdown of `steward-bench identity`.

use std::fmt::Write as _;

use super::IdentityResult;

pub fn markdown(r: &IdentityResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### Identity: authorization cost per request, SCIM lists\n");
    if let Some(a) = &r.authorize {
        let _ = writeln!(
            s,
            "`steward_core::identity::authorize(&caller, ws, permission)` in-process, one thread, {} calls per run, median of {} runs:\n",
            a.calls_per_run, a.runs
        );
        let _ = writeln!(s, "| case | ns/call | min / max of the runs |");
        let _ = writeln!(s, "|---|---:|---:|");
        for c in &a.cases {
            let _ = writeln!(
                s,
                "| {} | **{:.1}** | {:.1} / {:.1} |",
                c.name, c.ns_per_call, c.min_ns, c.max_ns
            );
        }
        let _ = writeln!(s);
    }
    for b in &r.backends {
        if b.authz.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "{}: HTTP against `steward serve`, the endpoints interleaved request by request (keep-alive, one connection per client); µs from sending to the whole body:\n",
            b.backend
        );
        let _ = writeln!(
            s,
            "| clients | endpoint | what the server does | requests | p50 µs | p99 µs | max µs | unexpected status |"
        );
        let _ = writeln!(s, "|---:|---|---|---:|---:|---:|---:|---:|");
        for run in &b.authz {
            for e in &run.endpoints {
                let _ = writeln!(
                    s,
                    "| {} | `{}` | {} | {} | {:.1} | {:.1} | {:.1} | {} |",
                    run.clients,
                    e.name,
                    e.what,
                    e.latency.n,
                    e.latency.p50_ms * 1000.0,
                    e.latency.p99_ms * 1000.0,
                    e.latency.max_ms * 1000.0,
                    e.unexpected
                );
            }
        }
        let _ = writeln!(s);
        for run in &b.authz {
            let _ = writeln!(
                s,
                "{} client(s): authorization overhead (`/v1/me` − `/healthz`) **p50 {:+.1} µs, p99 {:+.1} µs** \
                 (median of the per-round differences {:+.1} µs); \
                 the 403 path (lookup + denied `authorize`, no handler) − `/healthz`: p50 {:+.1} µs, p99 {:+.1} µs \
                 (per-round median {:+.1} µs); {:.0} requests/s over {:.1} s.  ",
                run.clients,
                run.me_overhead_p50_us,
                run.me_overhead_p99_us,
                run.me_paired_median_us,
                run.denied_overhead_p50_us,
                run.denied_overhead_p99_us,
                run.denied_paired_median_us,
                run.requests_per_sec,
                run.wall_secs
            );
        }
        let _ = writeln!(s);
    }
    let scim: Vec<_> = r.backends.iter().filter(|b| !b.scim.is_empty()).collect();
    if !scim.is_empty() {
        let _ = writeln!(
            s,
            "SCIM (`/scim/v2`, API key with scope `scim`), sequential requests:\n"
        );
        let _ = writeln!(
            s,
            "| backend | dataset | request | requests | p50 ms | p99 ms | max ms | KiB/response | totalResults | answers as expected |"
        );
        let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---|");
        for b in scim {
            for sc in &b.scim {
                let _ = writeln!(
                    s,
                    "| {} | {} users, {} groups, {} memberships{} | `{}` | {}{} | {:.2} | **{:.2}** | {:.2} | {:.1} | {} | {} |",
                    b.backend,
                    b.dataset.users,
                    b.dataset.groups,
                    b.dataset.memberships,
                    if b.analyzed { ", ANALYZEd" } else { "" },
                    sc.name,
                    sc.latency.n,
                    if sc.stopped_by_budget { " (budget)" } else { "" },
                    sc.latency.p50_ms,
                    sc.latency.p99_ms,
                    sc.latency.max_ms,
                    sc.avg_response_kib,
                    sc.total_results.map(|t| t.to_string()).unwrap_or_else(|| "–".into()),
                    if sc.failures == 0 { "yes".to_owned() } else { format!("NO ({} failed)", sc.failures) }
                );
            }
        }
        let _ = writeln!(s);
    }
    for b in &r.backends {
        let d = &b.dataset;
        let _ = writeln!(
            s,
            "{}: {} users, {} groups, {} memberships inserted with SQL in {:.1} s (departments of {:?} members, {} teams of {:.0} on average, {} projects of {:.1}); \
             server peak RSS {:.1} MiB, CPU {:.1} s; checks {}: {}.{}",
            b.backend,
            d.users,
            d.groups,
            d.memberships,
            d.insert_secs,
            d.department_sizes,
            d.team_groups,
            d.team_avg_members,
            d.project_groups,
            d.project_avg_members,
            b.server_peak_rss_mib,
            b.server_cpu_secs,
            if b.checks_ok { "OK" } else { "FAILED" },
            b.checks.join("; "),
            b.scim_error.as_deref().map(|e| format!(" SCIM not measured: {e}.")).unwrap_or_default()
        );
    }
    if !r.concurrent_builds.is_empty() {
        let _ = writeln!(s, "\nConcurrent builds seen: {}.", r.concurrent_builds.join(" "));
    }
    let _ = writeln!(s);
    s
}
