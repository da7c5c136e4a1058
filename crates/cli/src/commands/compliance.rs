//! `steward compliance ...`: seal, list and verify the compliance log from the command line,
//! on the same store and object store as the server (also while it runs).

use anyhow::{bail, Context, Result};
use steward_compliance::chain::{verify_with, LogStore, PublicKey, VerifyOptions, VerifyReport};
use steward_core::compliance::{format_time, ExportManifest, FileListParams, EXPORT_MANIFEST_PATH};

use super::admin::ctx;
use super::compliance_admin;
use crate::cli::{ComplianceCommand, GlobalArgs};
use crate::config::Config;
use crate::output::{print_json, print_table};
use crate::runtime::compliance;

pub async fn run(config: &Config, global: &GlobalArgs, cmd: ComplianceCommand) -> Result<()> {
    match cmd {
        ComplianceCommand::Seal { all_workspaces } => seal(config, global, all_workspaces).await,
        ComplianceCommand::Files { event_types, limit } => files(config, global, event_types, limit).await,
        ComplianceCommand::Export { since, until, to } => {
            compliance_admin::export(config, global, &since, until.as_deref(), &to).await
        }
        ComplianceCommand::Retention => compliance_admin::retention(config, global).await,
        ComplianceCommand::Hold(cmd) => compliance_admin::hold(config, global, cmd).await,
        ComplianceCommand::Erase { thread, user } => {
            compliance_admin::erase(config, global, thread, user).await
        }
        ComplianceCommand::Verify { dir, public_key } => {
            let report = match dir {
                Some(dir) => verify_folder(&dir, public_key.as_deref()).await?,
                None => {
                    let c = ctx(config, global).await?;
                    let service = compliance(config, c.store.clone()).await?;
                    if public_key.is_some() {
                        bail!("--public-key applies to an exported folder; the store is checked with the server's key");
                    }
                    service.verify(global.workspace_id.as_deref()).await?
                }
            };
            print_report(&report, global.json)?;
            if !report.ok {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn seal(config: &Config, global: &GlobalArgs, all: bool) -> Result<()> {
    let c = ctx(config, global).await?;
    let service = compliance(config, c.store.clone()).await?;
    let outcomes = if all {
        service
            .seal_due(true)
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![service.seal_workspace(&c.workspace.id).await?]
    };
    if global.json {
        return print_json(&outcomes);
    }
    for o in &outcomes {
        println!(
            "workspace {}: sealed {} record(s) into {} file(s){}",
            o.workspace_id,
            o.records,
            o.files.len(),
            match o.digests.last() {
                Some(d) => format!(", digest #{d}"),
                None if o.waiting_for_turn > 0 => String::new(),
                None => " (nothing was pending)".to_owned(),
            }
        );
        if o.waiting_for_turn > 0 {
            println!(
                "  {} record(s) wait for their turn span (traces) for up to compliance.turn_span_wait_secs = {} s",
                o.waiting_for_turn, config.compliance.turn_span_wait_secs
            );
        }
        for f in &o.files {
            println!(
                "  {}  {:<18}  {:>6} records  {:>9} bytes",
                f.id, f.event_type, f.record_count, f.size
            );
        }
    }
    Ok(())
}

async fn files(config: &Config, global: &GlobalArgs, event_types: Vec<String>, limit: u32) -> Result<()> {
    let c = ctx(config, global).await?;
    let service = compliance(config, c.store.clone()).await?;
    let event_types = if event_types.is_empty() {
        steward_model::LogType::ALL
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect()
    } else {
        event_types
    };
    let params = FileListParams {
        event_types,
        after: None,
        limit: Some(limit.to_string()),
    };
    let page = service.list_files(&c.workspace.id, &params).await?;
    if global.json {
        let files: Vec<_> = page
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "id": f.id, "event_type": f.log_type.as_str(), "end_time": format_time(f.end_time),
                    "file_name": f.file_name, "file_size": f.size, "file_sha256": f.sha256,
                    "record_count": f.record_count, "path": f.path, "digest_sequence": f.digest_sequence,
                    "content_erased": f.content_erased_at_ms.is_some(),
                })
            })
            .collect();
        return print_json(&serde_json::json!({"data": files, "has_more": page.has_more}));
    }
    let rows: Vec<Vec<String>> = page
        .files
        .iter()
        .map(|f| {
            vec![
                f.id.clone(),
                f.log_type.as_str().to_owned(),
                format_time(f.end_time),
                f.record_count.to_string(),
                f.size.to_string(),
                format!("#{}", f.digest_sequence),
            ]
        })
        .collect();
    print_table(
        &["ID", "EVENT TYPE", "END TIME", "RECORDS", "BYTES", "DIGEST"],
        &rows,
    );
    if page.has_more {
        println!("(more files exist: raise --limit)");
    }
    Ok(())
}

async fn verify_folder(dir: &std::path::Path, public_key: Option<&str>) -> Result<VerifyReport> {
    let location = dir.display().to_string();
    let store = LogStore::open_existing(&location).with_context(|| format!("cannot open {location}"))?;
    let key = match public_key {
        Some(arg) => parse_key(arg)?,
        None => store
            .read_public_key()
            .await
            .context("the folder has no steward-public-key.json; pass --public-key")?,
    };
    // An export verifies within its range: files sealed outside it were not copied.
    let mut options = VerifyOptions::default();
    if let Ok(bytes) = store.get(EXPORT_MANIFEST_PATH).await {
        let manifest: ExportManifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("{location}/{EXPORT_MANIFEST_PATH} is not an export manifest"))?;
        eprintln!(
            "export of workspace {} with the files sealed {} to {}",
            manifest.workspace_id, manifest.since, manifest.until
        );
        options.exported_end_times = Some((manifest.end_time_from, manifest.end_time_to));
    }
    let report = verify_with(&store, &key, &options).await?;
    if report.workspaces.is_empty() {
        bail!("{location} holds no compliance digests: is it a Steward compliance store or export?");
    }
    Ok(report)
}

fn parse_key(arg: &str) -> Result<PublicKey> {
    if std::path::Path::new(arg).is_file() {
        let text = std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{arg} is not a key document"))?;
        return PublicKey::from_document(&doc).map_err(Into::into);
    }
    PublicKey::from_hex(arg.trim()).map_err(Into::into)
}

fn print_report(r: &VerifyReport, json: bool) -> Result<()> {
    if json {
        return print_json(r);
    }
    println!(
        "{}: {} workspace(s), {} digest(s), {} file(s), {} record(s), {} bytes checked{}",
        if r.ok { "OK" } else { "FAILED" },
        r.workspaces.len(),
        r.digests_checked,
        r.files_checked,
        r.records_checked,
        r.bytes_checked,
        if r.erased_fields > 0 {
            format!(
                "; {} content field(s) erased under retention (hashes kept)",
                r.erased_fields
            )
        } else {
            String::new()
        }
    );
    if r.files_expired > 0 {
        println!(
            "  {} file(s) deleted by retention (recorded in signed digests)",
            r.files_expired
        );
    }
    if r.files_not_exported > 0 {
        println!(
            "  {} file(s) outside the export's range (not exported)",
            r.files_not_exported
        );
    }
    for p in &r.problems {
        println!(
            "  {}: {}  ({})",
            serde_json::to_value(p.kind)?.as_str().unwrap_or("problem"),
            p.path,
            p.detail
        );
    }
    Ok(())
}
