//! check-command: `Policy::check` evaluations per second, and the per-process peers.

use super::*;

// ---------------------------------------------------------------------------------------------
// check-command

pub(super) struct Bucket {
    name: &'static str,
    cmds: Vec<Vec<String>>,
}

pub(super) fn check_bench(opts: &PolicyOpts, steward: Result<PathBuf>, work: &Path) -> Result<CheckResult> {
    eprintln!(
        "== policy check-command: {} rules over {} programs",
        opts.rules, opts.programs
    );
    let mut rng = Rng(0x5EED_0169_B0B0_0001);
    let programs = program_names(opts.programs);
    let rules = generate_rules(opts.rules, &programs, &mut rng);
    let policy = Policy::new(rules.clone());
    let mut rules_by_decision = [0usize; 3];
    let mut rules_by_len = [0usize; 4];
    let mut rules_with_alternatives = 0;
    let mut index_entries = 0;
    for r in &rules {
        rules_by_decision[r.decision as usize] += 1;
        rules_by_len[(r.pattern.len() - 1).min(3)] += 1;
        if r.pattern.iter().any(|t| matches!(t, PatternToken::AnyOf(_))) {
            rules_with_alternatives += 1;
        }
        index_entries += r.pattern[0].alternatives().len();
    }
    let candidates = |argv: &[String]| {
        rules
            .iter()
            .map(|r| {
                r.pattern[0]
                    .alternatives()
                    .iter()
                    .filter(|a| Some(*a) == argv.first())
                    .count()
            })
            .sum::<usize>()
    };

    // Commands, sorted into buckets by what they really match.
    let want = 2000;
    let mut one = Vec::new();
    let mut several = Vec::new();
    let mut none_known = Vec::new();
    let mut none_unknown = Vec::new();
    let mut long = Vec::new();
    let mut attempts = 0;
    while (one.len() < want || several.len() < want || none_known.len() < want) && attempts < 1_000_000 {
        attempts += 1;
        let argv = match rng.below(3) {
            0 | 1 => {
                let r = &rules[rng.below(rules.len())];
                let extra = rng.below(4);
                command_from(r, extra, &mut rng)
            }
            _ => {
                let mut argv = vec![programs[rng.below(programs.len())].clone()];
                argv.push(rng.pick(SUBCOMMANDS).to_owned());
                for _ in 0..rng.below(4) {
                    argv.push(rng.pick(ARGS).to_owned());
                }
                argv
            }
        };
        let n = policy.check(&argv).matched_rules.len();
        let bucket = match n {
            0 => &mut none_known,
            1 => &mut one,
            _ => &mut several,
        };
        if bucket.len() < want {
            bucket.push(argv);
        }
    }
    for i in 0..want {
        let mut argv = vec![format!("unlisted-program-{}", i % 500)];
        argv.push(rng.pick(SUBCOMMANDS).to_owned());
        for _ in 0..rng.below(4) {
            argv.push(rng.pick(ARGS).to_owned());
        }
        none_unknown.push(argv);
    }
    for _ in 0..want / 4 {
        let r = &rules[rng.below(rules.len())];
        let extra = 100 + rng.below(300);
        long.push(command_from(r, extra, &mut rng));
    }
    // The mix: 40% one match, 15% several, 25% none (known program), 15% unknown, 5% long.
    let mut mix = Vec::new();
    for i in 0..want {
        let c = match i % 20 {
            0..=7 => &one[i % one.len().max(1)],
            8..=10 => &several[i % several.len().max(1)],
            11..=15 => &none_known[i % none_known.len().max(1)],
            16..=18 => &none_unknown[i % none_unknown.len()],
            _ => &long[i % long.len()],
        };
        mix.push(c.clone());
    }
    let buckets = vec![
        Bucket {
            name: "mix (40% one match, 15% several, 25% none, 15% unknown program, 5% long)",
            cmds: mix,
        },
        Bucket {
            name: "exactly one rule matches",
            cmds: one,
        },
        Bucket {
            name: "several rules match",
            cmds: several,
        },
        Bucket {
            name: "no rule matches (program has rules)",
            cmds: none_known,
        },
        Bucket {
            name: "unknown program (no rules indexed)",
            cmds: none_unknown,
        },
        Bucket {
            name: "long argv (100-400 extra args)",
            cmds: long,
        },
    ];

    let mut workloads = Vec::new();
    for b in &buckets {
        if b.cmds.is_empty() {
            continue;
        }
        let n = b.cmds.len() as f64;
        let avg_tokens = b.cmds.iter().map(Vec::len).sum::<usize>() as f64 / n;
        let avg_matches = b
            .cmds
            .iter()
            .map(|c| policy.check(c).matched_rules.len())
            .sum::<usize>() as f64
            / n;
        let avg_candidates = b.cmds.iter().map(|c| candidates(c)).sum::<usize>() as f64 / n;
        let avg_json_bytes = b
            .cmds
            .iter()
            .map(|c| policy.check(c).to_json().len())
            .sum::<usize>() as f64
            / n;
        let check = throughput(&b.cmds, opts, |argv| {
            let e = policy.check(argv);
            e.matched_rules.len() + e.decision.map_or(0, |d| d as usize)
        });
        let check_json = throughput(&b.cmds, opts, |argv| policy.check(argv).to_json().len());
        eprintln!(
            "  {:<40} check {:>12.0}/s ({:>6.0} ns)   check+to_json {:>10.0}/s ({:>6.0} ns)",
            b.name.split(" (").next().unwrap_or(b.name),
            check.per_sec,
            1e9 / check.per_sec,
            check_json.per_sec,
            1e9 / check_json.per_sec
        );
        workloads.push(Workload {
            name: b.name.to_owned(),
            commands: b.cmds.len(),
            avg_tokens,
            avg_matches,
            avg_candidates,
            check,
            check_json,
            avg_json_bytes,
        });
    }

    // One-off costs and per-invocation peers.
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-policy-")
        .tempdir_in(work)?;
    let rules_text = write_rules(&rules)?;
    let rules_path = tmp.path().join("bench.rules");
    std::fs::write(&rules_path, &rules_text)?;
    let req_text = requirements_toml(&rules);
    let mut one_offs = Vec::new();
    let mut skipped = Vec::new();

    let reread =
        parse_rules(&rules_text).map_err(|e| anyhow::anyhow!("re-reading the written rules: {e}"))?;
    if reread.len() != rules.len() {
        bail!(
            "the written .rules file reads back as {} rules, not {}",
            reread.len(),
            rules.len()
        );
    }
    let sample: Vec<&Vec<String>> = buckets[0]
        .cmds
        .iter()
        .step_by((buckets[0].cmds.len() / opts.cli_invocations.max(1)).max(1))
        .take(opts.cli_invocations.max(1))
        .collect();
    let one_shot = timed(30, |i| {
        let parsed = parse_rules(&rules_text).map(Policy::new).ok()?;
        Some(parsed.check(sample[i % sample.len()]).to_json().len())
    });
    one_offs.push(OneOff {
        name: "in-process one shot: `parse_rules` of the .rules file + `Policy::new` + check + `to_json`"
            .into(),
        first_ms: one_shot.0,
        latency: one_shot.1,
        identical: None,
        note: format!("{} bytes of .rules", rules_text.len()),
    });
    let compiled = timed(30, |_| {
        let checked = parse_requirements(&req_text);
        let req = checked.value?;
        Some(Policy::new(req.prefix_rules()).len())
    });
    {
        let checked = parse_requirements(&req_text);
        let n = checked.value.as_ref().map(|r| r.prefix_rules().len());
        if n != Some(rules.len()) {
            bail!(
                "the generated requirements.toml does not load: {:?}",
                checked
                    .errors
                    .iter()
                    .take(3)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            );
        }
    }
    one_offs.push(OneOff {
        name: "`parse_requirements` + `prefix_rules()` + `Policy::new` of a requirements.toml with the same rules".into(),
        first_ms: compiled.0,
        latency: compiled.1,
        identical: None,
        note: format!("{} bytes of TOML, valid, {} rules", req_text.len(), rules.len()),
    });

    let expected: Vec<String> = sample.iter().map(|c| policy.check(c).to_json()).collect();
    let codex = opts
        .codex
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(DEFAULT_CODEX)))
        .filter(|p| p.is_file())
        .context("Codex CLI not found (--codex PATH or STEWARD_CODEX_BIN)");
    let codex_home = tmp.path().join("codex-home");
    std::fs::create_dir_all(&codex_home)?;
    let peers: [(&str, Result<PathBuf>); 2] = [
        (
            "Codex CLI 0.169.0 process: `codex execpolicy check --rules FILE -- argv`",
            codex,
        ),
        (
            "`steward policy check-command --rules FILE -- argv` process",
            steward,
        ),
    ];
    for (i, (name, bin)) in peers.into_iter().enumerate() {
        let r = bin.and_then(|bin| {
            let r = run_cli(&sample, &expected, |argv| {
                let mut c = Command::new(&bin);
                if i == 0 {
                    c.env("CODEX_HOME", &codex_home)
                        .args(["execpolicy", "check", "--rules"]);
                } else {
                    c.current_dir(tmp.path())
                        .args(["policy", "check-command", "--rules"]);
                }
                c.arg(&rules_path).arg("--").args(argv);
                c
            })?;
            Ok((r, bin))
        });
        match r {
            Ok(((first, latency, identical), bin)) => {
                eprintln!(
                    "  {name}: p50 {:.1} ms, p99 {:.1} ms; {identical}/{} outputs identical",
                    latency.p50_ms,
                    latency.p99_ms,
                    sample.len()
                );
                one_offs.push(OneOff {
                    name: name.to_owned(),
                    first_ms: first,
                    latency,
                    identical: Some(identical),
                    note: bin.display().to_string(),
                });
            }
            Err(e) => {
                eprintln!("  {name}: skipped: {e:#}");
                skipped.push(format!("{name}: {e:#}"));
            }
        }
    }

    Ok(CheckResult {
        rules: rules.len(),
        programs: programs.len(),
        index_entries,
        rules_by_decision,
        rules_by_len,
        rules_with_alternatives,
        rules_file_bytes: rules_text.len(),
        requirements_bytes: req_text.len(),
        workloads,
        one_offs,
        skipped,
        peak_rss_mib: rss_mib(),
    })
}

/// Evaluations per second of `f` cycling over `cmds`: a warm-up of half a run, then
/// `opts.runs` runs of `opts.run_secs`; the median run is reported.
pub(super) fn throughput(
    cmds: &[Vec<String>],
    opts: &PolicyOpts,
    f: impl Fn(&[String]) -> usize,
) -> Throughput {
    let one_run = |secs: f64| {
        let deadline = Duration::from_secs_f64(secs);
        let t = Instant::now();
        let mut n = 0u64;
        let mut i = 0usize;
        loop {
            for _ in 0..256 {
                black_box(f(black_box(&cmds[i])));
                i += 1;
                if i == cmds.len() {
                    i = 0;
                }
            }
            n += 256;
            let e = t.elapsed();
            if e >= deadline {
                return n as f64 / e.as_secs_f64();
            }
        }
    };
    one_run(opts.run_secs / 2.0);
    let mut rates: Vec<f64> = (0..opts.runs.max(1)).map(|_| one_run(opts.run_secs)).collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    Throughput {
        per_sec: rates[rates.len() / 2],
        min_per_sec: rates[0],
        max_per_sec: rates[rates.len() - 1],
        runs: rates.len(),
        secs_per_run: opts.run_secs,
    }
}

/// (first call ms, latency of the `n` calls after it) of `f(i)`.
pub(super) fn timed(n: usize, f: impl Fn(usize) -> Option<usize>) -> (f64, Latency) {
    let t = Instant::now();
    black_box(f(0));
    let first = t.elapsed().as_secs_f64() * 1000.0;
    let lat: Vec<Duration> = (1..=n)
        .map(|i| {
            let t = Instant::now();
            black_box(f(i));
            t.elapsed()
        })
        .collect();
    (first, Latency::of(&lat))
}

/// Runs one process per command; (first ms, latency of the rest, outputs equal to `expected`).
pub(super) fn run_cli(
    sample: &[&Vec<String>],
    expected: &[String],
    command: impl Fn(&[String]) -> Command,
) -> Result<(f64, Latency, usize)> {
    let mut lat = Vec::new();
    let mut first = 0.0;
    let mut identical = 0;
    for (i, argv) in sample.iter().enumerate() {
        let mut c = command(argv);
        let t = Instant::now();
        let out = c.output().context("spawning the CLI")?;
        let e = t.elapsed();
        if !out.status.success() {
            bail!(
                "{:?} failed ({}): {}",
                c.get_program(),
                out.status,
                String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
            );
        }
        if String::from_utf8_lossy(&out.stdout).trim_end() == expected[i] {
            identical += 1;
        } else if identical == i {
            eprintln!(
                "  note: {:?} printed {:?}, in-process {:?}",
                c.get_program(),
                String::from_utf8_lossy(&out.stdout).trim_end(),
                expected[i]
            );
        }
        if i == 0 {
            first = e.as_secs_f64() * 1000.0;
        } else {
            lat.push(e);
        }
    }
    Ok((first, Latency::of(&lat), identical))
}
