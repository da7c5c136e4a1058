//! Installing policy files so Codex never reads a half-written one: temp file in the same
//! directory, fsync, rename, fsync of the directory; the replaced version kept as `.previous`.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::{AgentPolicy, OnDisk, MANAGED_CONFIG, REQUIREMENTS};

/// Writes the policy's documents into `dir` (created if missing) unless they are already there
/// byte for byte. Each file is replaced by an atomic rename (temp file in `dir`, fsync, rename,
/// fsync of `dir`); a file that existed with other content is kept as `NAME.previous`. Returns
/// the names rewritten. On error before the first rename nothing changed; a failure between
/// the renames restores the first file.
pub(super) fn install(dir: &Path, disk: &OnDisk, policy: &AgentPolicy) -> Result<Vec<&'static str>> {
    let docs = [
        (
            REQUIREMENTS,
            &disk.requirements,
            policy.requirements_toml.as_bytes(),
        ),
        (
            MANAGED_CONFIG,
            &disk.managed_config,
            policy.managed_config_toml.as_bytes(),
        ),
    ];
    let changed: Vec<_> = docs
        .into_iter()
        .filter(|(_, old, new)| old.as_deref() != Some(*new))
        .collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Stage everything first: a failure here leaves DIR as it was.
    let mut staged: Vec<Staged> = Vec::new();
    let stage_all = |staged: &mut Vec<Staged>| -> Result<()> {
        for (name, old, new) in &changed {
            if let Some(old) = old {
                let previous = format!("{name}.previous");
                let tmp = stage(dir, &previous, old)?;
                staged.push(Staged {
                    tmp,
                    target: dir.join(previous),
                    old: None,
                    doc: None,
                });
            }
            let tmp = stage(dir, name, new)?;
            staged.push(Staged {
                tmp,
                target: dir.join(name),
                old: Some((**old).clone()),
                doc: Some(*name),
            });
        }
        Ok(())
    };
    if let Err(err) = stage_all(&mut staged) {
        for s in &staged {
            let _ = fs::remove_file(&s.tmp);
        }
        return Err(err);
    }
    // `.previous` copies first, then the documents.
    let mut done: Vec<&Staged> = Vec::new();
    for (i, s) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(&s.tmp, &s.target) {
            for rest in &staged[i..] {
                let _ = fs::remove_file(&rest.tmp);
            }
            for d in done.iter().filter(|d| d.doc.is_some()) {
                restore(dir, d);
            }
            let _ = sync_dir(dir);
            return Err(e).with_context(|| format!("cannot replace {}", s.target.display()));
        }
        done.push(s);
    }
    sync_dir(dir)?;
    Ok(staged.iter().filter_map(|s| s.doc).collect())
}

/// A temp file ready to be renamed onto `target`.
struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    /// For a document: its content before (`None`: it did not exist), to undo a half install.
    old: Option<Option<Vec<u8>>>,
    doc: Option<&'static str>,
}

/// Best effort: puts a document back as it was before this install.
fn restore(dir: &Path, s: &Staged) {
    let (Some(name), Some(old)) = (s.doc, &s.old) else {
        return;
    };
    let undone = match old {
        Some(bytes) => write_atomically(dir, name, bytes),
        None => fs::remove_file(&s.target).map_err(Into::into),
    };
    if let Err(e) = undone {
        eprintln!("warning: could not restore {}: {e:#}", s.target.display());
    }
}

pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = stage(dir, name, bytes)?;
    let target = dir.join(name);
    if let Err(e) = fs::rename(&tmp, &target) {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot replace {}", target.display()));
    }
    sync_dir(dir)
}

/// Writes `bytes` to a new temp file next to `DIR/name` (mode 0644) and fsyncs it.
fn stage(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o644);
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        // The umask may have taken bits away; Codex (any user) must be able to read it.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    Ok(tmp)
}

/// Makes renames in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot fsync {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
