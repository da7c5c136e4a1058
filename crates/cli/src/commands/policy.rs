//! `steward policy ...` and `steward groups ...`. Validation, `check-command --file/--rules` and
//! `check-config --file` run offline (no database); the rest works on the same store as the
//! server, also while it runs, and every change is audited as the local admin.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use steward_core::compliance::audit::Actor;
use steward_core::policies::{
    AssignmentInput, DocumentDiagnostics, LookupSubject, PolicyDocuments, PolicyError, PolicyService,
    RuleInput,
};
use steward_policy::config_check::check_config_from;
use steward_policy::execpolicy::{parse_rules, Policy, PrefixRule};
use steward_policy::requirements::{parse_requirements, Requirements};

use super::admin::ctx;
use crate::cli::{DocumentArgs, GlobalArgs, GroupsCommand, PolicyCommand, RulesSource};
use crate::config::Config;
use crate::output::{print_json, print_table};

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Diagnostics as `file:line:col: error[code] path: message`, one per line, on stderr.
fn print_diagnostics(d: &DocumentDiagnostics, names: (&str, &str)) {
    for (doc, diag) in d.all() {
        let file = if doc == "requirements_toml" {
            names.0
        } else {
            names.1
        };
        eprintln!("{file}:{diag}");
    }
}

/// Policy errors, with diagnostics spelled out, as CLI errors.
fn explain(err: PolicyError, names: (&str, &str)) -> anyhow::Error {
    match err {
        PolicyError::Invalid(d) => {
            print_diagnostics(&d, names);
            anyhow!("the policy does not validate (see the errors above); nothing was stored")
        }
        other => other.into(),
    }
}

fn file_names(docs: &DocumentArgs) -> (String, String) {
    let name = |p: &Option<std::path::PathBuf>, default: &str| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| default.to_owned())
    };
    (
        name(&docs.requirements, "requirements.toml"),
        name(&docs.managed_config, "managed_config.toml"),
    )
}

pub async fn run(config: &Config, global: &GlobalArgs, cmd: PolicyCommand) -> Result<()> {
    // Offline commands first: they must work on a laptop with no Steward database.
    let cmd = match cmd {
        PolicyCommand::Validate { docs } => return validate(global, &docs),
        PolicyCommand::CheckCommand {
            source,
            rules,
            pretty,
            command,
        } if source.policy.is_none() => {
            return check_command(offline_rules(&source, &rules)?, pretty, &command)
        }
        PolicyCommand::CheckConfig {
            source,
            user_config: cfg,
        } if source.policy.is_none() => {
            let Some(file) = &source.file else {
                bail!("give --policy NAME or --file requirements.toml");
            };
            return check_config(global, &read(file)?, &file.display().to_string(), &cfg);
        }
        other => other,
    };
    let ctx = ctx(config, global).await?;
    let ws = ctx.workspace.id.clone();
    let service = PolicyService::new(ctx.store.clone());
    let actor = Actor::local_admin();
    match cmd {
        PolicyCommand::List => {
            let list = service.list(&ws).await?;
            if global.json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|p| {
                        serde_json::json!({"id": p.id, "name": p.name, "description": p.description,
                        "latest_revision": p.latest_revision, "updated_at_ms": p.updated_at_ms})
                    })
                    .collect();
                return print_json(&rows);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.latest_revision.to_string(),
                        ms(p.updated_at_ms),
                        p.description.clone(),
                    ]
                })
                .collect();
            print_table(&["NAME", "REVISION", "UPDATED", "DESCRIPTION"], &rows);
        }
        PolicyCommand::Show { name, revision } => {
            let v = service.show(&ws, &name, revision).await?;
            if global.json {
                return print_json(&v);
            }
            println!(
                "policy {} revision {} of {} ({})",
                v.name, v.revision, v.latest_revision, v.sha256
            );
            println!(
                "by {} at {}; {}",
                v.revision_created_by,
                ms(v.revision_created_at_ms),
                v.comment
            );
            println!("\n# requirements.toml\n{}", v.requirements_toml);
            println!("# managed_config.toml\n{}", v.managed_config_toml);
            for w in &v.warnings {
                eprintln!("{w}");
            }
        }
        PolicyCommand::Create {
            name,
            docs,
            description,
            comment,
        } => {
            let names = file_names(&docs);
            let documents = PolicyDocuments {
                requirements_toml: docs
                    .requirements
                    .as_deref()
                    .map(read)
                    .transpose()?
                    .unwrap_or_default(),
                managed_config_toml: docs
                    .managed_config
                    .as_deref()
                    .map(read)
                    .transpose()?
                    .unwrap_or_default(),
            };
            let v = service
                .create(&ws, &name, &description, documents, &comment, &actor)
                .await
                .map_err(|e| explain(e, (&names.0, &names.1)))?;
            if global.json {
                return print_json(&v);
            }
            println!("created policy {} (revision 1, {})", v.name, v.sha256);
            for w in &v.warnings {
                eprintln!("{w}");
            }
        }
        PolicyCommand::Update {
            name,
            docs,
            description,
            comment,
            based_on,
        } => {
            let names = file_names(&docs);
            let current = service.show(&ws, &name, None).await?;
            let documents = PolicyDocuments {
                requirements_toml: match &docs.requirements {
                    Some(p) => read(p)?,
                    None => current.requirements_toml,
                },
                managed_config_toml: match &docs.managed_config {
                    Some(p) => read(p)?,
                    None => current.managed_config_toml,
                },
            };
            let v = service
                .update(
                    &ws,
                    &name,
                    documents,
                    description.as_deref(),
                    &comment,
                    based_on,
                    &actor,
                )
                .await
                .map_err(|e| explain(e, (&names.0, &names.1)))?;
            if global.json {
                return print_json(&v);
            }
            println!(
                "policy {} is now at revision {} ({})",
                v.name, v.revision, v.sha256
            );
        }
        PolicyCommand::Delete { name } => {
            service.delete(&ws, &name, &actor).await?;
            if global.json {
                return print_json(&serde_json::json!({ "deleted": name }));
            }
            println!("deleted policy {name}");
        }
        PolicyCommand::Revisions { name } => {
            let revs = service.revisions(&ws, &name).await?;
            if global.json {
                let rows: Vec<_> = revs
                    .iter()
                    .map(|r| {
                        serde_json::json!({"revision": r.revision, "sha256": r.sha256, "comment": r.comment,
                        "created_at_ms": r.created_at_ms, "created_by": r.created_by})
                    })
                    .collect();
                return print_json(&rows);
            }
            let rows: Vec<Vec<String>> = revs
                .iter()
                .map(|r| {
                    vec![
                        r.revision.to_string(),
                        ms(r.created_at_ms),
                        r.created_by.clone(),
                        r.comment.clone(),
                    ]
                })
                .collect();
            print_table(&["REVISION", "CREATED", "BY", "COMMENT"], &rows);
        }
        PolicyCommand::Diff { name, from, to } => {
            let d = service.diff(&ws, &name, from, to).await?;
            if global.json {
                return print_json(&d);
            }
            println!("policy {}: revision {} → {}", d.policy, d.from, d.to);
            let show =
                |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or("(unset)".into());
            for c in &d.changes {
                println!("  {} {}: {} → {}", c.document, c.path, show(&c.old), show(&c.new));
            }
            if d.changes.is_empty() {
                println!("  (no setting differs)");
            }
        }
        PolicyCommand::Assignment => {
            let a = service.assignment(&ws).await?;
            if global.json {
                return print_json(&a);
            }
            let rows: Vec<Vec<String>> = a
                .rules
                .iter()
                .map(|r| vec![r.position.to_string(), r.group.clone(), r.policy.clone()])
                .collect();
            print_table(&["#", "GROUP", "POLICY"], &rows);
            println!(
                "default: {}",
                a.default_policy.as_deref().unwrap_or("(none: unmanaged)")
            );
            println!(
                "version {} by {} at {}",
                a.version,
                a.updated_by,
                ms(a.updated_at_ms)
            );
        }
        PolicyCommand::Assign {
            rules,
            default,
            dry_run,
        } => {
            let rules = rules
                .iter()
                .map(|r| {
                    let (g, p) = r
                        .split_once('=')
                        .ok_or_else(|| anyhow!("--rule {r:?}: expected GROUP=POLICY"))?;
                    Ok(RuleInput {
                        group: g.trim().to_owned(),
                        policy: p.trim().to_owned(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let input = AssignmentInput {
                rules,
                default_policy: default,
                based_on_version: None,
            };
            let out = service.set_assignment(&ws, &input, dry_run, &actor).await?;
            if global.json {
                return print_json(&out);
            }
            let verb = if dry_run { "would change" } else { "changed" };
            println!("{} user(s) {verb} policy", out.changes.len());
            for c in &out.changes {
                println!(
                    "  {}: {} → {}",
                    c.email.as_deref().unwrap_or(&c.user_id),
                    c.from.as_deref().unwrap_or("(none)"),
                    c.to.as_deref().unwrap_or("(none)")
                );
            }
            if !dry_run {
                println!("assignment is now version {}", out.assignment.version);
            }
        }
        PolicyCommand::Lookup { email, group } => {
            let subject = match (email, group) {
                (Some(e), _) => LookupSubject::Email(e),
                (None, Some(g)) => LookupSubject::Group(g),
                (None, None) => bail!("give --email or --group"),
            };
            let l = service.lookup(&ws, &subject).await?;
            if global.json {
                return print_json(&l);
            }
            println!("{}", l.explanation);
        }
        PolicyCommand::Status => {
            let s = service.sync_status(&ws).await?;
            if global.json {
                return print_json(&s);
            }
            let rows: Vec<Vec<String>> = s
                .machines
                .iter()
                .map(|m| {
                    let rev = |p: &Option<String>, r: Option<i64>| match (p, r) {
                        (Some(p), Some(r)) => format!("{p}@{r}"),
                        _ => "(none)".to_owned(),
                    };
                    vec![
                        m.email.clone().unwrap_or_else(|| m.user_id.clone()),
                        m.host.clone(),
                        m.channel.clone(),
                        rev(&m.reported_policy, m.reported_revision),
                        rev(&m.expected_policy, m.expected_revision),
                        if m.stale { "STALE".into() } else { "ok".into() },
                        ms(m.reported_at_ms),
                    ]
                })
                .collect();
            print_table(
                &[
                    "USER",
                    "HOST",
                    "CHANNEL",
                    "RUNS",
                    "SHOULD RUN",
                    "STATE",
                    "REPORTED",
                ],
                &rows,
            );
            println!("{} current, {} stale", s.current, s.stale);
            if !s.never_synced.is_empty() {
                println!("never synced: {}", s.never_synced.join(", "));
            }
        }
        PolicyCommand::CheckCommand {
            source,
            rules,
            pretty,
            command,
        } => {
            let name = source.policy.unwrap_or_default();
            let v = service.show(&ws, &name, None).await?;
            let mut all = requirement_rules(&v.requirements_toml, &format!("policy {name}"))?;
            all.extend(rules_files(&rules)?);
            check_command(all, pretty, &command)?;
        }
        PolicyCommand::CheckConfig {
            source,
            user_config: cfg,
        } => {
            let name = source.policy.unwrap_or_default();
            let v = service.show(&ws, &name, None).await?;
            check_config(
                global,
                &v.requirements_toml,
                &format!("policy {name} revision {}", v.revision),
                &cfg,
            )?;
        }
        PolicyCommand::Validate { .. } => unreachable!("handled offline above"),
    }
    Ok(())
}

fn validate(global: &GlobalArgs, docs: &DocumentArgs) -> Result<()> {
    if docs.requirements.is_none() && docs.managed_config.is_none() {
        bail!("give --requirements FILE and/or --managed-config FILE");
    }
    let names = file_names(docs);
    let documents = PolicyDocuments {
        requirements_toml: docs
            .requirements
            .as_deref()
            .map(read)
            .transpose()?
            .unwrap_or_default(),
        managed_config_toml: docs
            .managed_config
            .as_deref()
            .map(read)
            .transpose()?
            .unwrap_or_default(),
    };
    let d = documents.validate();
    if global.json {
        print_json(&serde_json::json!({ "valid": !d.has_errors(), "diagnostics": d }))?;
    } else {
        print_diagnostics(&d, (&names.0, &names.1));
        if !d.has_errors() {
            println!("valid: Codex 0.169.0 would load it");
        }
    }
    if d.has_errors() {
        std::process::exit(1);
    }
    Ok(())
}

/// The prefix rules of a requirements.toml, or its errors.
fn requirement_rules(text: &str, source: &str) -> Result<Vec<PrefixRule>> {
    Ok(valid_requirements(text, source)?.prefix_rules())
}

/// A requirements.toml Codex would load, or its errors on stderr (`source:line:col: ...`).
fn valid_requirements(text: &str, source: &str) -> Result<Requirements> {
    let checked = parse_requirements(text);
    checked.value.ok_or_else(|| {
        for e in &checked.errors {
            eprintln!("{source}:{e}");
        }
        anyhow!("{source} does not validate")
    })
}

fn rules_files(paths: &[std::path::PathBuf]) -> Result<Vec<PrefixRule>> {
    let mut out = Vec::new();
    for p in paths {
        let rules = parse_rules(&read(p)?).map_err(|e| anyhow!("{}:{e}", p.display()))?;
        out.extend(rules);
    }
    Ok(out)
}

fn offline_rules(source: &RulesSource, rules: &[std::path::PathBuf]) -> Result<Vec<PrefixRule>> {
    let mut all = match &source.file {
        Some(f) => requirement_rules(&read(f)?, &f.display().to_string())?,
        None if rules.is_empty() => bail!("give --policy NAME, --file requirements.toml or --rules FILE"),
        None => Vec::new(),
    };
    all.extend(rules_files(rules)?);
    Ok(all)
}

/// Prints the evaluation exactly as `codex execpolicy check` does (one JSON line, or pretty).
fn check_command(rules: Vec<PrefixRule>, pretty: bool, command: &[String]) -> Result<()> {
    let policy = Policy::new(rules);
    let evaluation = policy.check(command);
    if pretty {
        println!("{}", evaluation.to_json_pretty());
    } else {
        println!("{}", evaluation.to_json());
    }
    Ok(())
}

fn check_config(global: &GlobalArgs, requirements: &str, source: &str, config_path: &Path) -> Result<()> {
    let req = valid_requirements(requirements, source)?;
    let user = read(config_path)?;
    let overrides = check_config_from(&req, &user, source).map_err(|errs| {
        for e in &errs {
            eprintln!("{}:{e}", config_path.display());
        }
        anyhow!("{} does not load in Codex itself", config_path.display())
    })?;
    if global.json {
        return print_json(&overrides);
    }
    if overrides.is_empty() {
        println!("nothing in {} is overridden by {source}", config_path.display());
    }
    for o in &overrides {
        println!(
            "{}:{}:{}: {} = {} → {}",
            config_path.display(),
            o.line,
            o.column,
            o.path,
            o.user_value,
            o.fallback_value
        );
        println!("    {}", o.reason);
    }
    Ok(())
}

pub async fn groups(config: &Config, global: &GlobalArgs, cmd: GroupsCommand) -> Result<()> {
    let ctx = ctx(config, global).await?;
    let ws = ctx.workspace.id.clone();
    let service = PolicyService::new(ctx.store.clone());
    let actor = Actor::local_admin();
    match cmd {
        GroupsCommand::List => {
            let groups = service.list_groups(&ws).await?;
            if global.json {
                return print_json(&groups);
            }
            let rows: Vec<Vec<String>> = groups
                .iter()
                .map(|g| vec![g.name.clone(), g.members.to_string(), g.source.to_owned()])
                .collect();
            print_table(&["NAME", "MEMBERS", "SOURCE"], &rows);
        }
        GroupsCommand::Create { name } => {
            let g = service.create_group(&ws, &name, &actor).await?;
            if global.json {
                return print_json(&g);
            }
            println!("created group {}", g.name);
        }
        GroupsCommand::Delete { name } => {
            service.delete_group(&ws, &name, &actor).await?;
            if global.json {
                return print_json(&serde_json::json!({ "deleted": name }));
            }
            println!("deleted group {name}");
        }
        GroupsCommand::Members { name } => {
            let members = service.group_members(&ws, &name).await?;
            if global.json {
                return print_json(&members);
            }
            for m in &members {
                println!("{m}");
            }
        }
        GroupsCommand::Add { name, emails } => {
            membership(&service, global, &ws, &name, &emails, true, &actor).await?
        }
        GroupsCommand::Remove { name, emails } => {
            membership(&service, global, &ws, &name, &emails, false, &actor).await?
        }
    }
    Ok(())
}

async fn membership(
    service: &PolicyService,
    global: &GlobalArgs,
    ws: &str,
    group: &str,
    emails: &[String],
    member: bool,
    actor: &Actor,
) -> Result<()> {
    let mut changed = Vec::new();
    for email in emails {
        if service.set_membership(ws, group, email, member, actor).await? {
            changed.push(email.clone());
        }
    }
    if global.json {
        return print_json(&serde_json::json!({ "group": group, "member": member, "changed": changed }));
    }
    let verb = if member { "added to" } else { "removed from" };
    println!("{} user(s) {verb} {group}", changed.len());
    Ok(())
}
