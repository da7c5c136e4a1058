//! Finding rollout files under Codex homes and reading them line by line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::line::{is_history_line, parse_line, Item};
use crate::problem::{Problem, ProblemKind, Tally};
use crate::reader::{Fact, ThreadState};

/// One rollout file found under a home.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RolloutFile {
    pub path: PathBuf,
    pub len: u64,
    /// Found under `archived_sessions/` rather than `sessions/`.
    pub archived: bool,
}

/// Rollout files of `dir`: a `CODEX_HOME`-style root (its `sessions/` tree and
/// `archived_sessions/`), or, when it has neither, any directory holding `rollout-*.jsonl`
/// files at any depth. Sorted by path; unreadable subdirectories are skipped, a missing `dir`
/// is an error.
pub fn find_rollouts(dir: &Path) -> std::io::Result<Vec<RolloutFile>> {
    std::fs::metadata(dir)?;
    let mut found = Vec::new();
    let sessions = dir.join("sessions");
    let archived = dir.join("archived_sessions");
    if sessions.is_dir() || archived.is_dir() {
        walk(&sessions, false, &mut found);
        walk(&archived, true, &mut found);
    } else {
        walk(dir, false, &mut found);
    }
    // A compressed copy beside its plain file is the same session: Codex's readers prefer the
    // plain one (codex-facts §3.1), and so does Steward.
    let plain: std::collections::HashSet<PathBuf> = found
        .iter()
        .filter(|f| !is_compressed(&f.path))
        .map(|f| f.path.clone())
        .collect();
    found.retain(|f| !is_compressed(&f.path) || !plain.contains(&f.path.with_extension("")));
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, archived: bool, out: &mut Vec<RolloutFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, archived, out);
        } else if kind.is_file() && is_rollout_name(&entry.file_name().to_string_lossy()) {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(RolloutFile { path, len, archived });
        }
    }
}

/// `rollout-*.jsonl`, or `rollout-*.jsonl.zst` (zstd-compressed, written by the newest Codex
/// versions with the `local_thread_store_compression` feature).
pub fn is_rollout_name(name: &str) -> bool {
    name.starts_with("rollout-") && (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst"))
}

/// Whether a rollout file is zstd-compressed (by its name, as Codex tells them apart).
pub fn is_compressed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zst")
}

/// The rollout's lines as Codex wrote them: a plain file as it is, a `.jsonl.zst` decompressed
/// while it is read.
pub fn open_lines(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let file = File::open(path)?;
    Ok(if is_compressed(path) {
        Box::new(BufReader::with_capacity(256 * 1024, zstd::Decoder::new(file)?))
    } else {
        Box::new(BufReader::with_capacity(256 * 1024, file))
    })
}

/// How much of a file to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Every line parsed: prompts, answers and tool calls too (compliance, shipping).
    Everything,
    /// Usage accounting only: well-framed history lines (`response_item`, `compacted`, ...,
    /// most of the bytes) are counted but not parsed; see [`is_history_line`].
    UsageOnly,
}

/// Reads one raw line (with or without its newline) into the thread: counts it, skips it when
/// `mode` allows, parses it, counts an unknown type or a problem (with `file` and `line_no`;
/// a line without its newline that does not parse is `Truncated`), and pushes the facts it
/// means onto `out`. Blank lines are not counted. Shared by [`read_file`] and the server's
/// ingest of shipped pieces, so both read a file the same way.
pub fn feed_line(
    state: &mut ThreadState,
    tally: &mut Tally,
    (file, line_no): (&str, u64),
    raw: &[u8],
    mode: ReadMode,
    out: &mut Vec<Fact>,
) {
    let complete = raw.last() == Some(&b'\n');
    let mut bytes = raw;
    while let Some((b'\n' | b'\r', rest)) = bytes.split_last() {
        bytes = rest;
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    tally.lines += 1;
    if mode == ReadMode::UsageOnly && is_history_line(bytes) {
        return;
    }
    match parse_line(bytes) {
        Ok(parsed) => {
            if let Item::Unknown(t) = &parsed.item {
                tally.unknown(t);
            }
            let is_usage = matches!(parsed.item, Item::UsageRecord { .. } | Item::TokenCount { .. });
            if is_usage && state.meta.is_none() && !state.flagged_no_meta {
                state.flagged_no_meta = true;
                tally.problem(
                    file,
                    line_no,
                    Problem::new(
                        ProblemKind::NoSessionMeta,
                        "usage before any session_meta line: the thread id is taken from the file name",
                    ),
                );
            }
            state.apply(&parsed, out);
        }
        Err(mut p) => {
            if !complete && p.kind != ProblemKind::NotUtf8 {
                p = Problem::new(
                    ProblemKind::Truncated,
                    format!("last line has no end: {}", p.detail),
                );
            }
            tally.problem(file, line_no, p);
        }
    }
}

/// Reads a whole rollout file, calling `on_fact` with the thread's state and each fact, and
/// counting lines, problems and unknown types in `tally`. A bad line is counted and skipped;
/// it never stops the rest of the file. Returns the final state (after `finish`).
pub fn read_file(
    path: &Path,
    mode: ReadMode,
    tally: &mut Tally,
    mut on_fact: impl FnMut(&ThreadState, Fact),
) -> std::io::Result<ThreadState> {
    let name = path.to_string_lossy().into_owned();
    let mut state = ThreadState::for_file(&name);
    let mut reader = open_lines(path)?;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut facts = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        feed_line(&mut state, tally, (&name, line_no), &buf, mode, &mut facts);
        for f in facts.drain(..) {
            on_fact(&state, f);
        }
    }
    state.finish(&mut facts);
    for f in facts.drain(..) {
        on_fact(&state, f);
    }
    Ok(state)
}
