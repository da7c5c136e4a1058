//! `steward agent ship`: Codex session rollouts → `POST /v1/rollouts`, piece by piece.
//!
//! Per file the shipper knows an identity (`file_key`: hash of the machine and the file's first
//! line, so archiving a file keeps it and a replaced file is new) and the offset the server
//! acknowledged. The state file is only a cache of those offsets: for a file it has no offset
//! for, the shipper first asks the server (an empty piece at offset 0), so acknowledged lines
//! are not sent again after the state is lost. Only whole lines are sent; a line Codex is
//! still writing waits for its newline.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use steward_rollout::files::{is_compressed, open_lines};
use steward_rollout::report::collect_files;

use super::{read_token, Server};
use crate::cli::{GlobalArgs, ShipArgs};
use crate::output::print_json;

/// What the shipper remembers between runs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ShipState {
    /// The server these offsets are for: another server starts from scratch.
    server: String,
    /// Absolute path → what was acknowledged for the file found there.
    files: BTreeMap<String, FileState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileState {
    file_key: String,
    /// In the plain lines (of a `.jsonl.zst`, decompressed).
    acked_offset: u64,
    /// A compressed file shipped to its end: its size then (it is not decompressed again
    /// while the size stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compressed_len: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    files_seen: u64,
    files_shipped: u64,
    bytes_sent: u64,
    lines: u64,
    events: u64,
    problems: u64,
    unknown_lines: u64,
    seconds: f64,
    mb_per_sec: f64,
    errors: Vec<String>,
}

struct Shipper {
    server: Server,
    auth: String,
    machine: String,
    email: Option<String>,
    homes: Vec<PathBuf>,
    since: Option<String>,
    piece_bytes: usize,
    state_path: PathBuf,
    state: ShipState,
    last_saved: Instant,
}

pub async fn run(global: &GlobalArgs, args: ShipArgs) -> Result<()> {
    let (server, machine) = super::server_and_host(&args.to)?;
    let auth = format!(
        "Bearer {}",
        read_token(args.to.token.as_deref(), args.to.token_file.as_deref())?
    );
    let homes = crate::commands::report::codex_homes(&args.codex_home)?;
    let since = args
        .since
        .as_deref()
        .map(|d| {
            let ok = d.len() == 10 && d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-';
            if ok && d.replace('-', "").bytes().all(|b| b.is_ascii_digit()) {
                Ok(d.to_owned())
            } else {
                Err(anyhow::anyhow!(
                    "--since: expected a date like 2026-11-20, got {d:?}"
                ))
            }
        })
        .transpose()?;
    let state_path = args.state.clone().map_or_else(default_state_path, Ok)?;
    let mut state: ShipState = match std::fs::read(&state_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            eprintln!(
                "warning: {} is unreadable ({e}); asking the server where each file stands",
                state_path.display()
            );
            ShipState::default()
        }),
        Err(_) => ShipState::default(),
    };
    if state.server != server.url {
        state = ShipState {
            server: server.url.clone(),
            files: BTreeMap::new(),
        };
    }
    let mut shipper = Shipper {
        server,
        auth,
        machine,
        email: args.to.email.clone(),
        homes,
        since,
        piece_bytes: args.piece_bytes.max(64 * 1024),
        state_path,
        state,
        last_saved: Instant::now(),
    };
    if !args.follow {
        let summary = shipper.ship_all(!global.json).await?;
        shipper.save_state()?;
        print_summary(global.json, &summary)?;
        if !summary.errors.is_empty() {
            bail!("{} file(s) could not be shipped", summary.errors.len());
        }
        return Ok(());
    }
    let mut first = true;
    loop {
        match shipper.ship_all(first && !global.json).await {
            Ok(s) if s.files_shipped > 0 || !s.errors.is_empty() || first => {
                tracing::info!(
                    files = s.files_shipped,
                    bytes = s.bytes_sent,
                    lines = s.lines,
                    errors = s.errors.len(),
                    "shipped"
                );
                for e in &s.errors {
                    tracing::warn!(error = %e, "shipping failed; retrying at the next scan");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scan failed; retrying"),
        }
        first = false;
        if let Err(e) = shipper.save_state() {
            tracing::warn!(error = %e, "cannot save the ship state");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(args.interval)) => {}
            _ = tokio::signal::ctrl_c() => {
                shipper.save_state()?;
                return Ok(());
            }
        }
    }
}

fn print_summary(json: bool, s: &Summary) -> Result<()> {
    if json {
        return print_json(s);
    }
    println!(
        "shipped {} of {} session files: {:.1} MB, {} lines ({} problems, {} of unknown types) in {:.1} s ({:.1} MB/s)",
        s.files_shipped,
        s.files_seen,
        s.bytes_sent as f64 / 1e6,
        s.lines,
        s.problems,
        s.unknown_lines,
        s.seconds,
        s.mb_per_sec
    );
    for e in &s.errors {
        eprintln!("error: {e}");
    }
    Ok(())
}

fn default_state_path() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .context("cannot tell where to keep the ship state; give --state FILE")?;
    Ok(base.join("steward/ship-state.json"))
}

/// `rollout-2026-11-20T22-04-08-<uuid>.jsonl` → `2026-11-20`.
fn session_date(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let date = name.strip_prefix("rollout-")?.get(..10)?;
    Some(date.to_owned())
}

impl Shipper {
    async fn ship_all(&mut self, progress: bool) -> Result<Summary> {
        let started = Instant::now();
        let mut files = collect_files(&self.homes)?;
        if let Some(since) = &self.since {
            files.retain(|f| session_date(&f.path).is_none_or(|d| d.as_str() >= since.as_str()));
        }
        let pending: u64 = files
            .iter()
            .map(|f| {
                let done = self
                    .state
                    .files
                    .get(&key_of(&f.path))
                    .map_or(0, |s| s.acked_offset);
                f.len.saturating_sub(done)
            })
            .sum();
        let bar = if progress {
            let bar = ProgressBar::new(pending);
            bar.set_style(
                ProgressStyle::with_template(
                    "shipping {msg} {bar:40} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(format!("{} session files", files.len()));
            bar
        } else {
            ProgressBar::hidden()
        };
        let mut summary = Summary {
            files_seen: files.len() as u64,
            ..Summary::default()
        };
        for f in &files {
            match self.ship_file(&f.path, f.len, &bar, &mut summary).await {
                Ok(true) => summary.files_shipped += 1,
                Ok(false) => {}
                Err(e) => summary.errors.push(format!("{}: {e:#}", f.path.display())),
            }
            if self.last_saved.elapsed() > Duration::from_secs(1) {
                self.save_state()?;
            }
        }
        bar.finish_and_clear();
        summary.seconds = started.elapsed().as_secs_f64();
        summary.mb_per_sec = summary.bytes_sent as f64 / 1e6 / summary.seconds.max(1e-9);
        Ok(summary)
    }

    /// Ships what is new in one file; `Ok(true)` if anything was sent.
    async fn ship_file(
        &mut self,
        path: &Path,
        len: u64,
        bar: &ProgressBar,
        summary: &mut Summary,
    ) -> Result<bool> {
        let key = key_of(path);
        let known = self.state.files.get(&key).cloned();
        if is_compressed(path) {
            if known.as_ref().is_some_and(|k| k.compressed_len == Some(len)) {
                return Ok(false);
            }
            // Codex compresses a finished session whole. Its lines are shipped from a
            // decompressed copy, at the offsets of the plain file it was: the file key is its
            // first line's, so a session shipped before it was compressed goes on where it
            // stood, and nothing is sent twice.
            let mut plain = tempfile::tempfile().context("a temporary file to decompress into")?;
            let mut lines = open_lines(path).with_context(|| format!("opening {}", path.display()))?;
            std::io::copy(&mut lines, &mut plain)
                .with_context(|| format!("decompressing {}", path.display()))?;
            let plain_len = plain.metadata()?.len();
            let sent = self
                .ship_open(plain, path, plain_len, known, bar, summary)
                .await?;
            if let Some(k) = self
                .state
                .files
                .get_mut(&key)
                .filter(|k| k.acked_offset == plain_len)
            {
                k.compressed_len = Some(len);
            }
            return Ok(sent);
        }
        if known.as_ref().is_some_and(|k| k.acked_offset == len) {
            return Ok(false); // nothing new (the common case in --follow: no open, no read)
        }
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        self.ship_open(file, path, len, known, bar, summary).await
    }

    /// Ships `file` (the lines of `path`, `len` bytes) from where the server stands.
    async fn ship_open(
        &mut self,
        mut file: File,
        path: &Path,
        len: u64,
        known: Option<FileState>,
        bar: &ProgressBar,
        summary: &mut Summary,
    ) -> Result<bool> {
        let key = key_of(path);
        let Some(first_line) = first_line(&mut file)? else {
            return Ok(false); // empty, or a first line still being written
        };
        let file_key = file_key(&self.machine, &first_line);
        let rel = relative(path, &self.homes);
        let mut offset = match known {
            Some(k) if k.file_key == file_key && k.acked_offset <= len => k.acked_offset,
            // Unknown here, replaced or shrunk: ask the server where it stands.
            _ => self.send(&file_key, &rel, 0, Vec::new()).await?.0,
        };
        bar.inc(offset.saturating_sub(self.state.files.get(&key).map_or(0, |s| s.acked_offset)));
        self.remember(&key, &file_key, offset);
        let mut sent = false;
        while offset < len {
            let piece = read_piece(&mut file, offset, len, self.piece_bytes)?;
            if piece.is_empty() {
                break; // only a line still being written is left
            }
            let size = piece.len() as u64;
            let (acked, reply) = self.send(&file_key, &rel, offset, piece).await?;
            let count = |k: &str| reply[k].as_u64().unwrap_or(0);
            summary.lines += count("lines");
            summary.events += count("events");
            summary.problems += reply["problems"]
                .as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            summary.unknown_lines += reply["unknown_line_types"]
                .as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            if acked <= offset {
                bail!("the server did not move past byte {offset}");
            }
            summary.bytes_sent += size;
            bar.inc(acked - offset);
            offset = acked;
            self.remember(&key, &file_key, offset);
            sent = true;
        }
        Ok(sent)
    }

    fn remember(&mut self, key: &str, file_key: &str, acked_offset: u64) {
        self.state.files.insert(
            key.to_owned(),
            FileState {
                file_key: file_key.to_owned(),
                acked_offset,
                compressed_len: None,
            },
        );
    }

    /// One piece (gzip), retried on overload and network errors. Returns the server's offset
    /// and its answer. A 409 (the server stands elsewhere) returns the server's offset.
    async fn send(&self, file_key: &str, rel: &str, offset: u64, piece: Vec<u8>) -> Result<(u64, Value)> {
        let mut gz =
            flate2::write::GzEncoder::new(Vec::with_capacity(piece.len() / 4), flate2::Compression::fast());
        gz.write_all(&piece)?;
        let body = gz.finish()?;
        let mut query = vec![
            ("file_key", file_key.to_owned()),
            ("path", rel.to_owned()),
            ("machine", self.machine.clone()),
            ("offset", offset.to_string()),
        ];
        if let Some(e) = &self.email {
            query.push(("email", e.clone()));
        }
        let mut delay = Duration::from_millis(500);
        for attempt in 0.. {
            let request = self
                .server
                .http
                .post(self.server.endpoint("/v1/rollouts"))
                .query(&query)
                .header("authorization", &self.auth)
                .header("content-type", "application/x-ndjson")
                .header("content-encoding", "gzip")
                .body(body.clone());
            let retry = match self.server.exchange(request).await {
                Ok(reply) if reply.status == 200 || reply.status == 409 => {
                    let v: Value =
                        serde_json::from_slice(&reply.body).context("the server's answer is not JSON")?;
                    let acked = v["acked_offset"]
                        .as_u64()
                        .context("the server's answer has no acked_offset")?;
                    return Ok((acked, v));
                }
                Ok(reply) if matches!(reply.status, 429 | 502 | 503 | 504) => {
                    format!("HTTP {}", reply.status)
                }
                Ok(reply) => bail!("{}", super::http_error(&reply, self.email.as_deref())),
                Err(e) => format!("{e:#}"),
            };
            if attempt >= 6 {
                bail!("giving up after {} attempts: {retry}", attempt + 1);
            }
            tracing::debug!(%retry, "retrying a piece");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(15));
        }
        unreachable!("the loop returns or bails")
    }

    fn save_state(&mut self) -> Result<()> {
        self.last_saved = Instant::now();
        if let Some(dir) = self.state_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = self.state_path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&self.state)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.state_path)
            .with_context(|| format!("replacing {}", self.state_path.display()))
    }
}

fn key_of(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The path under its Codex home (what the server shows), else the whole path.
fn relative(path: &Path, homes: &[PathBuf]) -> String {
    homes
        .iter()
        .find_map(|h| path.strip_prefix(h).ok())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The file's first whole line (its `session_meta`), or `None` while it has no newline yet.
fn first_line(file: &mut File) -> Result<Option<Vec<u8>>> {
    file.seek(SeekFrom::Start(0))?;
    let mut line = Vec::new();
    BufReader::new(Read::by_ref(file)).read_until(b'\n', &mut line)?;
    Ok(line.ends_with(b"\n").then_some(line))
}

fn file_key(machine: &str, first_line: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(machine.as_bytes());
    h.update([0u8]);
    h.update(first_line);
    hex::encode(&h.finalize()[..16])
}

/// Whole lines from `offset`: up to `max` bytes, or one longer line whole; empty when only a
/// line without its newline (still being written) is left.
fn read_piece(file: &mut File, offset: u64, len: u64, max: usize) -> Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let want = (len - offset).min(max as u64) as usize;
    let mut buf = vec![0u8; want];
    file.read_exact(&mut buf)?;
    if let Some(end) = buf.iter().rposition(|b| *b == b'\n') {
        buf.truncate(end + 1);
        return Ok(buf);
    }
    // No newline within `max`: one long line (a compaction); read on to its end.
    let mut reader = BufReader::new(Read::by_ref(file));
    let mut rest = Vec::new();
    reader.read_until(b'\n', &mut rest)?;
    if !rest.ends_with(b"\n") {
        return Ok(Vec::new());
    }
    buf.extend_from_slice(&rest);
    Ok(buf)
}
