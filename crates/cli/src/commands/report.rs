//! `steward report`: a person's Codex usage from rollout files, like ccusage, with Steward's
//! rate card and surfaces.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use steward_rollout::report::{self, Figures, Period, Report, ReportOptions};

use crate::cli::{GlobalArgs, ReportArgs, ReportPeriod};
use crate::config::Config;
use crate::output::{print_json, print_table};
use crate::runtime::rate_card;

pub fn run(config: &Config, global: &GlobalArgs, args: ReportArgs) -> Result<()> {
    let card = rate_card(config)?;
    let homes = codex_homes(&args.codex_home)?;
    let timezone = match &args.timezone {
        Some(name) => {
            TimeZone::get(name).with_context(|| format!("--timezone: unknown time zone {name:?}"))?
        }
        None => TimeZone::system(),
    };
    let opts = ReportOptions {
        period: match args.period {
            ReportPeriod::Daily => Period::Daily,
            ReportPeriod::Weekly => Period::Weekly,
            ReportPeriod::Monthly => Period::Monthly,
            ReportPeriod::Session => Period::Session,
        },
        timezone,
        since: date_arg("--since", args.since.as_deref())?,
        until: date_arg("--until", args.until.as_deref())?,
        rate_card: &card,
    };
    if let (Some(s), Some(u)) = (opts.since, opts.until) {
        if s > u {
            bail!("--since {s} is after --until {u}");
        }
    }
    let files = report::collect_files(&homes)?;
    let bytes: u64 = files.iter().map(|f| f.len).sum();
    let bar = ProgressBar::new(bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "reading {msg} {bar:40} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(format!("{} session files", files.len()));
    let report = report::build(&files, &opts, &|n| bar.inc(n));
    bar.finish_and_clear();
    if global.json {
        print_json(&report)?;
    } else {
        print_text(&report, args.breakdown);
    }
    print_problems(&report);
    Ok(())
}

/// `--codex-home` values, else `$CODEX_HOME`, else `~/.codex`; each must exist. Shared by
/// `steward report` and `steward agent ship`.
pub(super) fn codex_homes(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let homes = if given.is_empty() {
        let default = std::env::var_os("CODEX_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".codex")))
            .context("no --codex-home given, and neither CODEX_HOME nor HOME is set")?;
        vec![default]
    } else {
        given.to_vec()
    };
    for home in &homes {
        if !home.is_dir() {
            bail!(
                "{}: no such directory (a Codex home holds sessions/; pass --codex-home DIR)",
                home.display()
            );
        }
    }
    Ok(homes)
}

fn date_arg(flag: &str, value: Option<&str>) -> Result<Option<Date>> {
    value
        .map(|v| {
            Date::from_str(v)
                .or_else(|_| Date::strptime("%Y%m%d", v))
                .with_context(|| format!("{flag}: expected a date like 2026-11-20, got {v:?}"))
        })
        .transpose()
}

fn print_text(report: &Report, breakdown: bool) {
    let session = report.report == "session";
    let mut headers = vec![match report.report {
        "daily" => "day",
        "weekly" => "week of",
        "monthly" => "month",
        _ => "session",
    }];
    if session {
        headers.extend(["surface", "last activity"]);
    }
    headers.extend([
        "turns",
        "input",
        "cached",
        "output",
        "reasoning",
        "total",
        "credits",
        "USD",
    ]);
    let mut rows = Vec::new();
    for row in &report.rows {
        let mut cells = vec![row.period.clone()];
        if session {
            let info = row.session.as_ref();
            cells.push(row.surfaces.keys().cloned().collect::<Vec<_>>().join(","));
            cells.push(info.and_then(|s| s.last_activity.clone()).unwrap_or_default());
        }
        cells.extend(figures(&row.figures));
        rows.push(cells);
        if breakdown {
            for (name, f) in row.models.iter().chain(&row.surfaces) {
                let mut cells = vec![format!("  {name}")];
                if session {
                    cells.extend([String::new(), String::new()]);
                }
                cells.extend(figures(f));
                rows.push(cells);
            }
        }
    }
    let mut total = vec!["TOTAL".to_owned()];
    if session {
        total.extend([String::new(), String::new()]);
    }
    total.extend(figures(&report.totals));
    rows.push(total);
    print_table(&headers, &rows);
    eprintln!(
        "{} session files, {} lines, {}; days in {}; prices from rate card {}",
        report.files,
        report.lines,
        human_bytes(report.bytes),
        report.timezone,
        report.rate_card
    );
}

fn figures(f: &Figures) -> Vec<String> {
    vec![
        thousands(f.turns as i64),
        thousands(f.input_tokens),
        thousands(f.cached_input_tokens),
        thousands(f.output_tokens),
        thousands(f.reasoning_output_tokens),
        thousands(f.total_tokens),
        format!("{:.2}", f.credits),
        format!("{:.2}", f.cost_usd),
    ]
}

/// Problems go to stderr in both modes, so `--json` stays parseable and nobody misses them.
fn print_problems(report: &Report) {
    let problems: u64 = report.problems.values().sum();
    if problems > 0 {
        let kinds: Vec<String> = report
            .problems
            .iter()
            .map(|(k, n)| format!("{n} {}", k.as_str()))
            .collect();
        eprintln!(
            "warning: {problems} line(s) could not be read and were skipped ({}):",
            kinds.join(", ")
        );
        // One example of each kind (the JSON output has up to three of each).
        let mut shown = std::collections::BTreeSet::new();
        for ex in &report.problem_examples {
            if shown.insert(ex.kind) {
                eprintln!("  {}:{}: {}: {}", ex.file, ex.line, ex.kind.as_str(), ex.detail);
            }
        }
    }
    if !report.unknown_line_types.is_empty() {
        let kinds: Vec<String> = report
            .unknown_line_types
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        eprintln!(
            "note: line types this Steward does not know were kept out of usage: {}",
            kinds.join(", ")
        );
    }
    for f in &report.unreadable_files {
        eprintln!("warning: could not read {f}");
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
