//! Offline verification of a store or an exported folder.
//!
//! Why a report and not an error: an auditor needs the complete list of what is wrong, each item
//! naming the object, so verification never stops at the first finding. Errors are returned only
//! when the store itself cannot be read.
//!
//! Per workspace:
//! 1. Digests must be contiguous from sequence 1; each gap is named ([`ProblemKind::DigestMissing`]).
//! 2. Each digest's signature must verify over its stored JSON ([`ProblemKind::DigestEdited`]),
//!    its body must name the workspace and sequence of its path
//!    ([`ProblemKind::DigestMisplaced`]), and its `previous_digest_sha256` must be the SHA-256 of
//!    the stored previous digest ([`ProblemKind::ChainBroken`]).
//! 3. Every listed file must exist ([`ProblemKind::FileRemoved`]) and hash to its listed SHA-256,
//!    hashed while streaming. If it does not, the file is read again line by line: a valid
//!    erasure rewrite (canonical lines, same records root and count, at least one tombstone) is
//!    accepted and its tombstones counted. Otherwise, if its content is what another listed file
//!    should contain and that file is also altered, both are [`ProblemKind::FileSwapped`];
//!    anything else is [`ProblemKind::FileChanged`].
//! 4. Every `.jsonl` below `{ws}/logs/` that no digest lists is [`ProblemKind::FileInserted`];
//!    a path listed more than once is [`ProblemKind::FileListedTwice`].
//!
//! A listed file may be absent without a problem in two cases: a *later*, validly signed digest
//! lists it under `expired` (retention deleted it), or the caller verifies an export and the
//! file's `end_time` is outside the exported range ([`VerifyOptions::exported_end_times`]).
//!
//! Limits: removing the newest digest(s) together with their files leaves a valid shorter chain
//! (as with CloudTrail). The online check passes the head the database recorded in
//! [`VerifyOptions::expected_heads`], which turns that into [`ProblemKind::DigestMissing`] and a
//! replaced head into [`ProblemKind::HeadMismatch`]. Verifying a live store while a sealing is
//! being written may report that sealing's files as inserted (files are written before their
//! digest); run it again to tell.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::stream::{self, StreamExt as _};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::digest::{digest_path, open_digest, parse_digest_path, ChainHead, Digest, DigestFileEntry};
use super::error::{ChainError, Result};
use super::file::{validate_segment, FileScan, FileScanner};
use super::key::PublicKey;
use super::store::{LogStore, ObjectInfo};

/// Gaps longer than this are reported as one problem instead of one per digest.
const MAX_NAMED_GAP: u64 = 100;
const DEFAULT_CONCURRENCY: usize = 8;

/// What kind of discrepancy a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A listed file's bytes differ and it is not a valid erasure rewrite.
    FileChanged,
    /// A listed file does not exist.
    FileRemoved,
    /// A `.jsonl` log file no digest lists.
    FileInserted,
    /// The file holds the content listed for another altered file (swapped or reordered).
    FileSwapped,
    /// The same path is listed more than once across digests.
    FileListedTwice,
    /// A digest's signature does not verify (edited, or signed by another key), or it is not
    /// a digest at all.
    DigestEdited,
    /// A digest is missing from the sequence (or after it, per the expected head).
    DigestMissing,
    /// A correctly signed digest stored under another workspace or sequence number.
    DigestMisplaced,
    /// `previous_digest_sha256` does not match the stored previous digest.
    ChainBroken,
    /// The stored chain disagrees with the head recorded in the database.
    HeadMismatch,
    /// An object under `{ws}/digests/` whose name is not a digest name.
    UnexpectedObject,
}

/// One discrepancy, naming the object concerned (relative to the store root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: String,
    pub detail: String,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// True when `problems` is empty.
    pub ok: bool,
    /// Workspaces examined.
    pub workspaces: Vec<String>,
    /// The newest digest found per workspace (compare with the database).
    pub heads: BTreeMap<String, ChainHead>,
    pub digests_checked: u64,
    /// Listed files that were found and hashed.
    pub files_checked: u64,
    pub bytes_checked: u64,
    pub records_checked: u64,
    /// Tombstones found in accepted erasure rewrites.
    pub erased_fields: u64,
    /// Listed files absent because a later digest records their expiry by retention.
    pub files_expired: u64,
    /// Listed files absent from an export because their `end_time` is outside its range.
    pub files_not_exported: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// The problems of one kind.
    pub fn problems_of(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(move |p| p.kind == kind)
    }
}

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only this workspace (default: every workspace found, plus those in `expected_heads`).
    pub workspace: Option<String>,
    /// The chain head the database recorded per workspace (online check).
    pub expected_heads: BTreeMap<String, ChainHead>,
    /// Files hashed at once (default 8).
    pub concurrency: usize,
    /// An export's range of file `end_time`s (Unix seconds, inclusive): listed files outside
    /// it may be absent (not exported) without being reported as removed.
    pub exported_end_times: Option<(i64, i64)>,
}

/// Verify every workspace in `store` (or only `workspace`) with `key`.
pub async fn verify(store: &LogStore, key: &PublicKey, workspace: Option<&str>) -> Result<VerifyReport> {
    let options = VerifyOptions {
        workspace: workspace.map(str::to_owned),
        ..VerifyOptions::default()
    };
    verify_with(store, key, &options).await
}

#[derive(Default)]
struct WorkspaceObjects {
    digests: BTreeMap<u64, String>,
    logs: Vec<ObjectInfo>,
    unexpected: Vec<String>,
}

/// [`verify`] with options (expected heads from the database, concurrency).
pub async fn verify_with(store: &LogStore, key: &PublicKey, options: &VerifyOptions) -> Result<VerifyReport> {
    if let Some(ws) = &options.workspace {
        validate_segment("workspace_id", ws)?;
    }
    let objects = store.list(options.workspace.as_deref().unwrap_or("")).await?;
    let mut workspaces: BTreeMap<String, WorkspaceObjects> = BTreeMap::new();
    for object in objects {
        let Some((ws, rest)) = object.path.split_once('/') else {
            continue; // root files such as the public key
        };
        if rest.starts_with("digests/") {
            let entry = workspaces.entry(ws.to_owned()).or_default();
            match parse_digest_path(&object.path) {
                Some((_, seq)) if seq > 0 => {
                    entry.digests.insert(seq, object.path);
                }
                _ => entry.unexpected.push(object.path),
            }
        } else if rest.starts_with("logs/") && object.path.ends_with(".jsonl") {
            workspaces.entry(ws.to_owned()).or_default().logs.push(object);
        }
    }
    for ws in options.expected_heads.keys() {
        if options.workspace.as_ref().is_none_or(|only| only == ws) {
            workspaces.entry(ws.clone()).or_default();
        }
    }
    let concurrency = if options.concurrency == 0 {
        DEFAULT_CONCURRENCY
    } else {
        options.concurrency
    };
    let mut report = VerifyReport::default();
    for (ws, objects) in workspaces {
        let expected = options.expected_heads.get(&ws);
        verify_workspace(
            store,
            key,
            &ws,
            objects,
            expected,
            (concurrency, options.exported_end_times),
            &mut report,
        )
        .await?;
        report.workspaces.push(ws);
    }
    report
        .problems
        .sort_by(|a, b| (&a.path, a.kind, &a.detail).cmp(&(&b.path, b.kind, &b.detail)));
    report.ok = report.problems.is_empty();
    Ok(report)
}

fn problem(kind: ProblemKind, path: impl Into<String>, detail: impl Into<String>) -> Problem {
    Problem {
        kind,
        path: path.into(),
        detail: detail.into(),
    }
}

/// Name the missing digests `from..=to` (one problem per digest, or one for a long range).
fn missing_range(ws: &str, from: u64, to: u64, why: &str, out: &mut Vec<Problem>) {
    if to - from < MAX_NAMED_GAP {
        for seq in from..=to {
            out.push(problem(ProblemKind::DigestMissing, digest_path(ws, seq), why));
        }
    } else {
        out.push(problem(
            ProblemKind::DigestMissing,
            digest_path(ws, from),
            format!("{why} (digests {from} to {to} are all missing)"),
        ));
    }
}

/// Per-file result of the concurrent check.
enum Outcome {
    Missing(String),
    Intact {
        size: u64,
    },
    Erased {
        size: u64,
        scan: FileScan,
    },
    Mismatch {
        sha256: String,
        size: u64,
        scan: std::result::Result<FileScan, String>,
    },
}

async fn check_file(store: &LogStore, entry: &DigestFileEntry) -> Result<Outcome> {
    let (sha256, size) = match store.sha256(&entry.path).await {
        Ok(found) => found,
        Err(ChainError::NotFound { .. }) => return Ok(Outcome::Missing("not in the store".into())),
        Err(ChainError::InvalidPath { reason, .. }) => {
            return Ok(Outcome::Missing(format!("listed path is invalid: {reason}")))
        }
        Err(e) => return Err(e),
    };
    if sha256 == entry.sha256 && size == entry.size {
        return Ok(Outcome::Intact { size });
    }
    // Changed bytes: an erasure rewrite keeps the records root. Re-read line by line.
    let mut object = store.get_stream(&entry.path).await?;
    let mut scanner = FileScanner::new();
    let mut scan_error = None;
    while let Some(chunk) = object.stream.next().await {
        if let Err(e) = scanner.feed(&chunk?) {
            scan_error = Some(e.to_string());
            break;
        }
    }
    let scan = match scan_error {
        Some(e) => Err(e),
        None => scanner.finish().map_err(|e| e.to_string()),
    };
    Ok(match scan {
        Ok(scan)
            if scan.records_root == entry.records_root
                && scan.record_count == entry.record_count
                && scan.erased_fields > 0 =>
        {
            Outcome::Erased { size, scan }
        }
        scan => Outcome::Mismatch { sha256, size, scan },
    })
}

async fn verify_workspace(
    store: &LogStore,
    key: &PublicKey,
    ws: &str,
    objects: WorkspaceObjects,
    expected: Option<&ChainHead>,
    (concurrency, exported): (usize, Option<(i64, i64)>),
    report: &mut VerifyReport,
) -> Result<()> {
    let mut problems = Vec::new();
    for path in &objects.unexpected {
        problems.push(problem(
            ProblemKind::UnexpectedObject,
            path,
            "not a digest name (expected 12-digit sequence >= 1)",
        ));
    }

    // 1. Gaps.
    let mut previous = 0;
    for &seq in objects.digests.keys() {
        if seq > previous + 1 {
            missing_range(
                ws,
                previous + 1,
                seq - 1,
                "gap in the digest chain: digest removed",
                &mut problems,
            );
        }
        previous = seq;
    }
    let newest = previous;

    // 2. Digests, fetched concurrently but processed in sequence order.
    let mut fetched = stream::iter(objects.digests.iter())
        .map(|(&seq, path)| async move { (seq, path, store.get(path).await) })
        .buffered(concurrency);
    let mut stored_sha: BTreeMap<u64, String> = BTreeMap::new();
    let mut listings: BTreeMap<String, Vec<(String, DigestFileEntry)>> = BTreeMap::new();
    // Expiries recorded by authentic digests: path -> (sequence, digest path).
    let mut expiries: BTreeMap<String, (u64, String)> = BTreeMap::new();
    // The sequence of the digest that first listed each path.
    let mut listed_in: BTreeMap<String, u64> = BTreeMap::new();
    while let Some((seq, path, bytes)) = fetched.next().await {
        let bytes = bytes?;
        report.digests_checked += 1;
        let sha = hex::encode(Sha256::digest(&bytes));
        let digest = match open_digest(&bytes, key) {
            Ok(digest) => {
                for e in &digest.expired {
                    expiries.entry(e.path.clone()).or_insert((seq, path.clone()));
                }
                if digest.workspace_id != ws || digest.sequence != seq {
                    problems.push(problem(
                        ProblemKind::DigestMisplaced,
                        path,
                        format!(
                            "validly signed digest {} of workspace {} stored in the wrong place (moved or reordered)",
                            digest.sequence, digest.workspace_id
                        ),
                    ));
                }
                Some(digest)
            }
            Err(reason) => {
                problems.push(problem(ProblemKind::DigestEdited, path, reason));
                // Still use its (unauthenticated) listing, so its files are checked, not "inserted".
                serde_json::from_slice::<Digest>(&bytes).ok()
            }
        };
        if let Some(digest) = digest {
            let link = digest.previous_digest_sha256.as_deref();
            if seq == 1 && link.is_some() {
                problems.push(problem(
                    ProblemKind::ChainBroken,
                    path,
                    "first digest names a previous digest",
                ));
            } else if let Some(prev) = stored_sha.get(&(seq - 1)) {
                if link != Some(prev.as_str()) {
                    problems.push(problem(
                        ProblemKind::ChainBroken,
                        path,
                        format!(
                            "previous_digest_sha256 {} does not match {} (sha256 {prev})",
                            link.unwrap_or("null"),
                            digest_path(ws, seq - 1)
                        ),
                    ));
                }
            }
            for entry in digest.files {
                listed_in.entry(entry.path.clone()).or_insert(seq);
                listings
                    .entry(entry.path.clone())
                    .or_default()
                    .push((path.clone(), entry));
            }
        }
        stored_sha.insert(seq, sha);
    }
    drop(fetched);
    if let Some((&seq, sha)) = stored_sha.last_key_value() {
        report.heads.insert(
            ws.to_owned(),
            ChainHead {
                sequence: seq,
                digest_sha256: sha.clone(),
            },
        );
    }

    // Against the head the database recorded.
    if let Some(head) = expected {
        if newest < head.sequence {
            missing_range(
                ws,
                newest + 1,
                head.sequence,
                &format!(
                    "newest digest(s) removed: the database records head {}",
                    head.sequence
                ),
                &mut problems,
            );
        } else if let Some(sha) = stored_sha.get(&head.sequence) {
            if *sha != head.digest_sha256 {
                problems.push(problem(
                    ProblemKind::HeadMismatch,
                    digest_path(ws, head.sequence),
                    format!("sha256 {sha}, but the database records {}", head.digest_sha256),
                ));
            }
        }
        if newest > head.sequence {
            problems.push(problem(
                ProblemKind::HeadMismatch,
                digest_path(ws, head.sequence + 1),
                format!(
                    "digests {} to {newest} are beyond the head the database records ({})",
                    head.sequence + 1,
                    head.sequence
                ),
            ));
        }
    }

    // 3. Listed files.
    for (path, listed) in &listings {
        if listed.len() > 1 {
            let digests: Vec<&str> = listed.iter().map(|(d, _)| d.as_str()).collect();
            problems.push(problem(
                ProblemKind::FileListedTwice,
                path,
                format!("listed {} times, in {}", listed.len(), digests.join(", ")),
            ));
        }
    }
    let entries: Vec<(&String, &DigestFileEntry)> = listings
        .values()
        .map(|listed| (&listed[0].0, &listed[0].1))
        .collect();
    let outcomes: Vec<(&String, &DigestFileEntry, Result<Outcome>)> = stream::iter(entries)
        .map(|(digest, entry)| async move { (digest, entry, check_file(store, entry).await) })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut mismatched: BTreeMap<&str, (&DigestFileEntry, String, std::result::Result<FileScan, String>)> =
        BTreeMap::new();
    for (digest, entry, outcome) in outcomes {
        match outcome? {
            Outcome::Missing(why) => {
                let listed_seq = listed_in.get(&entry.path).copied().unwrap_or(0);
                let expired = expiries
                    .get(&entry.path)
                    .is_some_and(|(seq, _)| *seq > listed_seq);
                let outside_export =
                    exported.is_some_and(|(from, to)| entry.end_time < from || entry.end_time > to);
                if expired {
                    report.files_expired += 1;
                } else if outside_export {
                    report.files_not_exported += 1;
                } else {
                    problems.push(problem(
                        ProblemKind::FileRemoved,
                        &entry.path,
                        format!("listed in {digest}, {why}"),
                    ));
                }
            }
            Outcome::Intact { size } => {
                report.files_checked += 1;
                report.bytes_checked += size;
                report.records_checked += entry.record_count;
            }
            Outcome::Erased { size, scan } => {
                report.files_checked += 1;
                report.bytes_checked += size;
                report.records_checked += scan.record_count;
                report.erased_fields += scan.erased_fields;
            }
            Outcome::Mismatch { sha256, size, scan } => {
                report.files_checked += 1;
                report.bytes_checked += size;
                mismatched.insert(&entry.path, (entry, sha256, scan));
            }
        }
    }

    // Swapped or copied content: match altered files against what others should contain.
    let mut by_sha: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut by_root: HashMap<&str, Vec<&str>> = HashMap::new();
    for listed in listings.values() {
        let entry = &listed[0].1;
        by_sha.entry(&entry.sha256).or_default().push(&entry.path);
        by_root.entry(&entry.records_root).or_default().push(&entry.path);
    }
    for (&path, (entry, sha256, scan)) in &mismatched {
        let mut sources: BTreeSet<&str> = by_sha
            .get(sha256.as_str())
            .into_iter()
            .flatten()
            .copied()
            .collect();
        if let Ok(scan) = scan {
            sources.extend(
                by_root
                    .get(scan.records_root.as_str())
                    .into_iter()
                    .flatten()
                    .copied(),
            );
        }
        sources.remove(path);
        let swapped: Vec<&str> = sources
            .iter()
            .copied()
            .filter(|s| mismatched.contains_key(s))
            .collect();
        let (kind, detail) = if !swapped.is_empty() {
            (
                ProblemKind::FileSwapped,
                format!(
                    "holds the content listed for {} (files swapped or reordered)",
                    swapped.join(", ")
                ),
            )
        } else if !sources.is_empty() {
            (
                ProblemKind::FileChanged,
                format!(
                    "replaced by a copy of {}",
                    sources.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            )
        } else {
            let why = match scan {
                Err(reason) => format!("; content invalid: {reason}"),
                Ok(s) if s.records_root != entry.records_root => "; records differ".to_owned(),
                Ok(s) if s.record_count != entry.record_count => "; record count differs".to_owned(),
                Ok(_) => "; records root matches but the file has no tombstone".to_owned(),
            };
            (
                ProblemKind::FileChanged,
                format!("sha256 {sha256}, digest lists {}{why}", entry.sha256),
            )
        };
        problems.push(problem(kind, path, detail));
    }

    // 4. Unlisted log files.
    for object in &objects.logs {
        if !listings.contains_key(&object.path) {
            problems.push(problem(
                ProblemKind::FileInserted,
                &object.path,
                format!(
                    "not listed in any digest ({} bytes, modified {})",
                    object.size,
                    object.last_modified.to_rfc3339()
                ),
            ));
        }
    }
    report.problems.extend(problems);
    Ok(())
}
