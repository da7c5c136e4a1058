//! `steward compliance export | retention | hold | erase`: the retention side of the
//! compliance log, on the same store and object store as the server (also while it runs).

use std::io::IsTerminal as _;

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use steward_compliance::chain::LogStore;
use steward_core::compliance::audit::Actor;
use steward_core::compliance::records::timestamp;

use super::admin::ctx;
use crate::cli::{GlobalArgs, HoldCommand};
use crate::config::Config;
use crate::output::{print_json, print_table};
use crate::runtime::compliance;

/// `2026-10-01` (start of that day, UTC; with `end_of_day` its last microsecond) or RFC 3339.
fn parse_instant(arg: &str, flag: &str, end_of_day: bool) -> Result<i64> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(arg, "%Y-%m-%d") {
        let start = day
            .and_hms_opt(0, 0, 0)
            .ok_or_else(|| anyhow!("{flag}: invalid date {arg}"))?
            .and_utc()
            .timestamp_micros();
        return Ok(if end_of_day {
            start + 86_400_000_000 - 1
        } else {
            start
        });
    }
    chrono::DateTime::parse_from_rfc3339(arg)
        .map(|t| t.timestamp_micros())
        .map_err(|_| {
            anyhow!("{flag}: expected YYYY-MM-DD or an RFC 3339 time like 2026-10-01T00:00:00Z, got {arg:?}")
        })
}

pub async fn export(
    config: &Config,
    global: &GlobalArgs,
    since: &str,
    until: Option<&str>,
    to: &std::path::Path,
) -> Result<()> {
    let since_us = parse_instant(since, "--since", false)?;
    let until_us = match until {
        Some(u) => parse_instant(u, "--until", true)?,
        None => chrono::Utc::now().timestamp_micros(),
    };
    if to.exists()
        && std::fs::read_dir(to)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "--to {}: the folder exists and is not empty; choose a new one",
            to.display()
        );
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let dest = LogStore::open(&to.display().to_string())?;
    let c = ctx(config, global).await?;
    let service = compliance(config, c.store.clone()).await?;
    let bar = if std::io::stderr().is_terminal() && !global.json {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("exporting {bar:40} {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let outcome = service
        .export(&c.workspace.id, since_us, until_us, &dest, &progress)
        .await?;
    bar.finish_and_clear();
    if global.json {
        return print_json(&outcome.manifest);
    }
    let m = &outcome.manifest;
    println!(
        "exported {} file(s), {} bytes, and {} digest(s) of workspace {} sealed {} to {} into {}",
        m.files,
        m.bytes,
        m.digests,
        m.workspace_id,
        m.since,
        m.until,
        to.display()
    );
    println!(
        "verify it with: steward compliance verify {} --public-key <the key's fingerprint or document, obtained out of band>",
        to.display()
    );
    Ok(())
}

pub async fn retention(config: &Config, global: &GlobalArgs) -> Result<()> {
    let c = ctx(config, global).await?;
    let service = compliance(config, c.store.clone()).await?;
    if service.config().retention.is_empty() {
        bail!("no retention is configured ([compliance.retention.<EVENT_TYPE>] in the configuration): everything is kept");
    }
    let outcomes = service
        .apply_retention()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    if global.json {
        return print_json(&outcomes);
    }
    for o in &outcomes {
        if o.workspace_held {
            println!(
                "workspace {}: under a workspace legal hold, nothing changed",
                o.workspace_id
            );
            continue;
        }
        println!(
            "workspace {}: content erased in {} file(s) ({} field(s)), {} file(s) expired{}, {} file(s) kept for legal holds",
            o.workspace_id,
            o.content_erased_files.len(),
            o.fields_erased,
            o.expired_files.len(),
            o.expiry_digest.map(|d| format!(" (digest #{d})")).unwrap_or_default(),
            o.held_files.len()
        );
    }
    Ok(())
}

pub async fn hold(config: &Config, global: &GlobalArgs, cmd: HoldCommand) -> Result<()> {
    let c = ctx(config, global).await?;
    let service = compliance(config, c.store.clone()).await?;
    let actor = Actor::local_admin();
    match cmd {
        HoldCommand::Add { user, reason } => {
            let user_id = match &user {
                Some(email) => Some(
                    c.store
                        .find_user_by_email(&c.workspace.id, email)
                        .await?
                        .ok_or_else(|| anyhow!("--user: no user {email} in workspace {}", c.workspace.id))?
                        .id,
                ),
                None => None,
            };
            let h = service
                .place_legal_hold(&c.workspace.id, user_id.as_deref(), &reason, &actor)
                .await?;
            if global.json {
                return print_json(&h);
            }
            println!(
                "placed legal hold {} on {}",
                h.id,
                user.map_or_else(
                    || format!("workspace {}", h.workspace_id),
                    |e| format!("user {e}")
                )
            );
        }
        HoldCommand::List { all_workspaces } => {
            let ws = (!all_workspaces).then_some(c.workspace.id.as_str());
            let holds = service.legal_holds(ws).await?;
            if global.json {
                return print_json(&holds);
            }
            let rows: Vec<Vec<String>> = holds
                .iter()
                .map(|h| {
                    vec![
                        h.id.clone(),
                        h.workspace_id.clone(),
                        h.user_id.clone().unwrap_or_else(|| "(whole workspace)".into()),
                        timestamp(h.created_at_ms),
                        h.created_by.clone(),
                        h.reason.clone(),
                    ]
                })
                .collect();
            print_table(&["ID", "WORKSPACE", "USER", "PLACED", "BY", "REASON"], &rows);
        }
        HoldCommand::Release { id } => {
            let h = service.release_legal_hold(&id, &actor).await?;
            if global.json {
                return print_json(&h);
            }
            println!("released legal hold {} ({})", h.id, h.reason);
        }
    }
    Ok(())
}

pub async fn erase(
    config: &Config,
    global: &GlobalArgs,
    thread: Option<String>,
    user: Option<String>,
) -> Result<()> {
    let c = ctx(config, global).await?;
    let service = compliance(config, c.store.clone()).await?;
    let actor = Actor::local_admin();
    let outcome = match (thread, user) {
        (Some(thread), _) => service.erase_thread(&c.workspace.id, &thread, &actor).await?,
        (None, Some(email)) => {
            let user = c
                .store
                .find_user_by_email(&c.workspace.id, &email)
                .await?
                .ok_or_else(|| anyhow!("--user: no user {email} in workspace {}", c.workspace.id))?;
            service.erase_user(&c.workspace.id, &user.id, &actor).await?
        }
        (None, None) => bail!("name what to erase: --thread ID or --user EMAIL"),
    };
    if global.json {
        return print_json(&outcome);
    }
    println!(
        "erased the content of {} record(s) ({} field(s)) in {} file(s){}",
        outcome.records_erased,
        outcome.fields_erased,
        outcome.files.len(),
        if outcome.held_records_kept > 0 {
            format!(
                "; kept {} record(s) of users under legal hold",
                outcome.held_records_kept
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
