//! `steward-bench compliance`: the compliance log's throughputs, each beside the rate of the
//! disk it runs on, measured in the same run on the same directory.
//!
//! * **Sealing** (records/s, MB/s of JSONL written): Codex-shaped records with content (prompts
//!   with text, responses with token usage, tool calls with arguments and output) are sent to
//!   the real `steward serve` OTLP endpoint, which queues them as `compliance_pending` rows in
//!   the same transaction as the events. The server is then stopped and this process seals them
//!   with `ComplianceService::seal_workspace` on the same data directory: the code the server's
//!   scheduled sealer runs, with the server's default limits, object store and signing key.
//! * **Download** (MB/s): `GET /v1/compliance/workspaces/{id}/logs` (paged) and then every
//!   `GET .../logs/{file_id}`, streamed, through `steward serve` with a `compliance.read` key.
//! * **Verify** (MB/s, files/s): `steward_compliance::chain::verify_with` over the object store.
//! * **Disk**: one file written sequentially (fsync at the end) and read back after it was
//!   evicted from the page cache.
//!
//! Download and verify run twice: "cold" after the sealed files were evicted from the page cache
//! (`posix_fadvise(DONTNEED)` per file, checked with `fincore`), comparable with the disk's read
//! rate, and "warm" right after, from the page cache, which shows the CPU-bound rate. Eviction
//! is per file, not `drop_caches`: the machine is shared and other people's caches stay.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde::Serialize;
use steward_compliance::chain::{verify_with, LogStore, SigningKeyFile, VerifyOptions};
use steward_core::{ComplianceConfig, ComplianceService};
use steward_store::Store;

use crate::codex::{i as int, s};
use crate::server::{Server, Steward};
use crate::stats;
use crate::Common;

const MIB: u64 = 1 << 20;
/// Reported rates are decimal: MB/s = 10^6 bytes per second.
const MB: f64 = 1e6;
/// Records per generated turn; see [`turn_record`].
const TURN: u64 = 7;
/// Turns per conversation (thread).
const TURNS_PER_CONVERSATION: u64 = 8;
/// First guess of sealed bytes per turn; corrected after the first sealing round.
const GUESSED_BYTES_PER_TURN: f64 = 12_000.0;
/// Read and write size of the disk measurement (as the object store's 1 MiB chunks).
const IO_CHUNK: usize = 1 << 20;

#[derive(Debug, Clone, Args)]
pub struct ComplianceOpts {
    /// Sealed JSONL to produce, MiB; sealing, download and verify all run over it.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    log_mib: u64,
    /// Size of the file of the disk's sequential write and read rates, MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    disk_mib: u64,
    /// Records per OTLP request when queueing records (whole turns of 7 records).
    #[arg(long, default_value_t = 252)]
    batch: usize,
    /// Concurrent OTLP clients when queueing records (not a measured figure here).
    #[arg(long, default_value_t = 4)]
    ingest_clients: usize,
    /// Distinct users (one ingest token each) the records are spread over.
    #[arg(long, default_value_t = 4)]
    senders: usize,
    /// Files downloaded at once (a SIEM collector typically fetches one at a time).
    #[arg(long, default_value_t = 1)]
    download_clients: usize,
    /// Files hashed at once by verify (`steward compliance verify` uses 8).
    #[arg(long, default_value_t = 8)]
    verify_concurrency: usize,
}

/// A throughput over some bytes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Rate {
    pub bytes: u64,
    pub secs: f64,
    pub mb_per_sec: f64,
}

impl Rate {
    fn of(bytes: u64, secs: f64) -> Self {
        Rate {
            bytes,
            secs,
            mb_per_sec: bytes as f64 / MB / secs.max(1e-9),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskResult {
    pub file_bytes: u64,
    /// Sequential 1 MiB writes, then one fsync; the time includes the fsync.
    pub write: Rate,
    /// Sequential 1 MiB reads of the same file.
    pub read: Rate,
    /// How the read avoided the page cache (or that it did not), for the label.
    pub read_method: String,
    /// Whether `read` is a disk rate (false: page-cache rate).
    pub read_cold: bool,
    /// CPU used by other processes during the measurement, seconds.
    pub other_cpu_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SealResult {
    /// Sealing rounds (`seal_workspace` calls, each after a batch of records was queued).
    pub rounds: usize,
    pub records: u64,
    pub files: u64,
    pub digests: u64,
    /// JSONL bytes written (sum of the sealed files' sizes).
    pub bytes: u64,
    pub secs: f64,
    pub records_per_sec: f64,
    pub mb_per_sec: f64,
    pub bytes_per_record: f64,
    /// CPU time of this process (the sealer, SQLite reads and commit) during sealing.
    pub cpu_secs: f64,
    /// CPU used by other processes during sealing, seconds.
    pub other_cpu_secs: f64,
    /// Sealed records per log type.
    pub records_by_type: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueResult {
    pub records: u64,
    pub turns: u64,
    /// Record mix sent: prompts, responses with usage, tool decisions, tool results.
    pub mix: String,
    pub otlp_bytes: u64,
    pub secs: f64,
    pub records_per_sec: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DownloadResult {
    pub clients: usize,
    pub files: u64,
    /// Time to list every file (paged, `limit=1000`).
    pub list_secs: f64,
    /// Bytes resident in the page cache (per `fincore`) before the cold pass; `None` unknown.
    pub resident_before_cold: Option<u64>,
    pub cold: Rate,
    pub warm: Rate,
    pub cold_files_per_sec: f64,
    /// CPU of the server during the cold pass, and of processes other than it and this one.
    pub cold_server_cpu_secs: f64,
    pub cold_other_cpu_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyResult {
    pub concurrency: usize,
    pub ok: bool,
    pub problems: usize,
    pub digests_checked: u64,
    pub files_checked: u64,
    pub records_checked: u64,
    pub bytes_checked: u64,
    pub resident_before_cold: Option<u64>,
    pub cold: Rate,
    pub warm: Rate,
    pub cold_files_per_sec: f64,
    pub warm_files_per_sec: f64,
    /// CPU time of this process during the cold pass, and of the other processes.
    pub cold_cpu_secs: f64,
    pub cold_other_cpu_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComplianceResult {
    pub work_dir: String,
    pub disk: DiskResult,
    pub queue: QueueResult,
    pub seal: SealResult,
    pub download: DownloadResult,
    pub verify: VerifyResult,
    /// Build processes seen at the start or end of a measured phase.
    pub concurrent_builds: Vec<String>,
}

/// What else used the machine during a measured phase, so that a disturbed figure can be told
/// apart on a shared machine: CPU of every process but this one (and the server, when it is
/// part of the measurement), and build processes seen at the start and at the end.
struct Watch {
    machine_busy: f64,
    own_cpu: f64,
}

impl Watch {
    fn start(builds: &mut Vec<String>) -> Self {
        builds.extend(stats::concurrent_builds());
        Watch {
            machine_busy: stats::machine_cpu().0,
            own_cpu: stats::proc_stats("self").cpu_secs,
        }
    }

    /// (CPU of this process, CPU of the others except `server_cpu`) since `start`, in seconds.
    fn stop(&self, server_cpu: f64, builds: &mut Vec<String>) -> (f64, f64) {
        let own = stats::proc_stats("self").cpu_secs - self.own_cpu;
        let busy = stats::machine_cpu().0 - self.machine_busy;
        builds.extend(stats::concurrent_builds());
        (own, (busy - own - server_cpu).max(0.0))
    }
}

pub async fn run(opts: &ComplianceOpts, common: &Common) -> Result<ComplianceResult> {
    let bin = crate::server::resolve_binary(common.steward.as_deref(), common.allow_stale_binary)?;
    let work = common.work_dir()?;
    let tmp = tempfile::Builder::new()
        .prefix("steward-bench-compliance-")
        .tempdir_in(&work)?;
    eprintln!(
        "== compliance: {} MiB of sealed logs, disk file {} MiB, in {}",
        opts.log_mib,
        opts.disk_mib,
        tmp.path().display()
    );
    let result = run_inner(opts, common, &bin, tmp.path()).await;
    if common.keep {
        let kept = tmp.keep();
        eprintln!("  kept {}", kept.display());
    }
    result
}

async fn run_inner(
    opts: &ComplianceOpts,
    common: &Common,
    bin: &Path,
    tmp: &Path,
) -> Result<ComplianceResult> {
    let mut builds = Vec::new();

    // The disk first, before the data directory fills the page cache.
    common.wait_quiet().await;
    let disk_file = tmp.join("disk-rate.bin");
    let disk_bytes = opts.disk_mib.max(1) * MIB;
    let watch = Watch::start(&mut builds);
    let mut disk = tokio::task::spawn_blocking(move || disk_rates(&disk_file, disk_bytes)).await??;
    disk.other_cpu_secs = watch.stop(0.0, &mut builds).1;
    eprintln!(
        "  disk: sequential write {:.0} MB/s (fsync included), read {:.0} MB/s ({})",
        disk.write.mb_per_sec, disk.read.mb_per_sec, disk.read_method
    );

    let steward = Steward {
        bin: bin.to_owned(),
        data_dir: tmp.join("data"),
        database_url: None,
        cwd: tmp.to_owned(),
    };
    let mut tokens = Vec::with_capacity(opts.senders);
    for s in 0..opts.senders.max(1) {
        let (_, token) = steward.user_with_token(&crate::codex::email(s))?;
        tokens.push(format!("Bearer {token}"));
    }
    let workspace_id = steward.default_workspace_id()?;
    let key = steward.admin(&[
        "keys",
        "create",
        "--scope",
        "compliance.read",
        "--name",
        "steward-bench",
    ])?;
    let api_key = key["key"]
        .as_str()
        .context("`keys create --json` printed no key")?
        .to_owned();

    let (queue, seal) = queue_and_seal(opts, common, &steward, &tokens, &workspace_id, &mut builds).await?;

    let compliance_dir = steward.data_dir.join("compliance");
    let download = download(
        opts,
        common,
        &steward,
        (&workspace_id, &api_key),
        &compliance_dir,
        &mut builds,
    )
    .await?;
    eprintln!(
        "  download ({} client(s)): {} files, cold {:.0} MB/s, warm {:.0} MB/s (list {:.2} s)",
        download.clients,
        download.files,
        download.cold.mb_per_sec,
        download.warm.mb_per_sec,
        download.list_secs
    );

    let verify = verify(opts, common, &steward.data_dir, &workspace_id, &mut builds).await?;
    eprintln!(
        "  verify (concurrency {}): {} — {} files, {:.1} MB; cold {:.0} MB/s ({:.1} files/s), warm {:.0} MB/s",
        verify.concurrency,
        if verify.ok { "OK" } else { "PROBLEMS" },
        verify.files_checked,
        verify.bytes_checked as f64 / MB,
        verify.cold.mb_per_sec,
        verify.cold_files_per_sec,
        verify.warm.mb_per_sec
    );
    builds.sort();
    builds.dedup();
    if !builds.is_empty() {
        eprintln!("  WARNING: concurrent build processes seen: {}", builds.join(" "));
    }
    // Every queued record sealed once (the rest are the admin commands' AUDIT_LOG records), and
    // verify saw every one of them.
    let codex_sealed: u64 = seal
        .records_by_type
        .iter()
        .filter(|(t, _)| t.starts_with("CODEX_"))
        .map(|(_, n)| n)
        .sum();
    if !verify.ok || codex_sealed != queue.records || verify.records_checked != seal.records {
        bail!(
            "verify reported {} problem(s); {} Codex records sealed of {} queued; verify checked {} of {} sealed records",
            verify.problems,
            codex_sealed,
            queue.records,
            verify.records_checked,
            seal.records
        );
    }
    Ok(ComplianceResult {
        work_dir: tmp.display().to_string(),
        disk,
        queue,
        seal,
        download,
        verify,
        concurrent_builds: builds,
    })
}

// ---------------------------------------------------------------------------------------------
// Disk

/// Sequential write (1 MiB writes, one fsync at the end, as each sealed file is written and
/// fsynced) and read of `bytes` at `path`; the file is removed afterwards.
fn disk_rates(path: &Path, bytes: u64) -> Result<DiskResult> {
    let mut buf = vec![0u8; IO_CHUNK];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in buf.iter_mut() {
        x = splitmix(x);
        *b = x as u8;
    }
    let t = Instant::now();
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(IO_CHUNK as u64) as usize;
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    let write = Rate::of(bytes, t.elapsed().as_secs_f64());
    drop(f);

    let evicted = evict(path).is_ok();
    let resident = resident_bytes(&[path.to_owned()]);
    let (read, read_method, read_cold) = if evicted && resident == Some(0) {
        let t = Instant::now();
        let n = read_all(path)?;
        (
            Rate::of(n, t.elapsed().as_secs_f64()),
            "cold in this VM: evicted with posix_fadvise(DONTNEED), fincore 0 B resident; a host-side cache of the virtual disk cannot be excluded".to_owned(),
            true,
        )
    } else {
        // Eviction failed or could not be checked: O_DIRECT bypasses the page cache.
        match read_direct(path) {
            Ok((n, secs)) => (
                Rate::of(n, secs),
                format!(
                    "O_DIRECT (page-cache eviction {}; resident {:?} B)",
                    if evicted { "unconfirmed" } else { "failed" },
                    resident
                ),
                true,
            ),
            Err(e) => {
                let t = Instant::now();
                let n = read_all(path)?;
                (
                    Rate::of(n, t.elapsed().as_secs_f64()),
                    format!("PAGE CACHE, not the disk (no eviction, O_DIRECT failed: {e})"),
                    false,
                )
            }
        }
    };
    std::fs::remove_file(path)?;
    Ok(DiskResult {
        file_bytes: bytes,
        write,
        read,
        read_method,
        read_cold,
        other_cpu_secs: 0.0,
    })
}

fn read_all(path: &Path) -> Result<u64> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; IO_CHUNK];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// Reads with O_DIRECT into a 4 KiB-aligned slice of a larger buffer (alignment found by
/// address arithmetic, so no unsafe allocation is needed).
fn read_direct(path: &Path) -> Result<(u64, f64)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    const ALIGN: usize = 4096;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)?;
    let mut backing = vec![0u8; IO_CHUNK + ALIGN];
    let skip = (ALIGN - backing.as_ptr() as usize % ALIGN) % ALIGN;
    let buf = &mut backing[skip..skip + IO_CHUNK];
    let t = Instant::now();
    let mut total = 0u64;
    loop {
        let n = f.read(buf)?;
        if n == 0 {
            return Ok((total, t.elapsed().as_secs_f64()));
        }
        total += n as u64;
    }
}

/// Drops a file's (clean) pages from the page cache. Only this file: `drop_caches` would also
/// empty other people's caches on a shared machine.
fn evict(path: &Path) -> Result<()> {
    let f = File::open(path)?;
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed)?;
    Ok(())
}

/// Bytes of `paths` in the page cache, per util-linux `fincore`; `None` if it cannot tell.
fn resident_bytes(paths: &[PathBuf]) -> Option<u64> {
    let mut total = 0u64;
    // In slices, to stay far below the argument-length limit.
    for chunk in paths.chunks(500) {
        let out = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .args(chunk)
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            total += line.trim().parse::<u64>().ok()?;
        }
    }
    Some(total)
}

/// Every file below `dir`.
fn files_below(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    Ok(out)
}

/// Evicts every file below `dir` and returns what `fincore` still finds resident.
fn evict_tree(dir: &Path) -> Result<Option<u64>> {
    let files = files_below(dir)?;
    for f in &files {
        evict(f).with_context(|| format!("evicting {}", f.display()))?;
    }
    Ok(resident_bytes(&files))
}

// ---------------------------------------------------------------------------------------------
// Queueing records and sealing them

/// Queues records through the server and seals them in this process, in rounds until about
/// `--log-mib` of JSONL is sealed: the first round (⅛ of the target) measures the sealed bytes
/// per turn, the next ones queue what is still missing.
async fn queue_and_seal(
    opts: &ComplianceOpts,
    common: &Common,
    steward: &Steward,
    tokens: &[String],
    workspace_id: &str,
    builds: &mut Vec<String>,
) -> Result<(QueueResult, SealResult)> {
    let target = opts.log_mib.max(1) * MIB;
    let base_ms = stats::now_ms() - 86_400_000;
    let mut queue = QueueResult {
        records: 0,
        turns: 0,
        mix: String::new(),
        otlp_bytes: 0,
        secs: 0.0,
        records_per_sec: 0.0,
    };
    let mut seal = SealResult {
        rounds: 0,
        records: 0,
        files: 0,
        digests: 0,
        bytes: 0,
        secs: 0.0,
        records_per_sec: 0.0,
        mb_per_sec: 0.0,
        bytes_per_record: 0.0,
        cpu_secs: 0.0,
        other_cpu_secs: 0.0,
        records_by_type: Default::default(),
    };
    let mut bytes_per_turn = GUESSED_BYTES_PER_TURN;
    // Stop when within 1% of the target (or after a few rounds, whatever the estimate says).
    // Later rounds aim 1% over, so sizes varying around the estimate rarely need a tiny round.
    while seal.bytes + target / 100 < target && seal.rounds < 4 {
        let want = if seal.rounds == 0 {
            target / 8
        } else {
            target + target / 100 - seal.bytes
        };
        let turns = ((want as f64 / bytes_per_turn).ceil() as u64).max(1);
        let first_turn = queue.turns;
        let server = steward.serve(&steward.cwd.join("serve.log")).await?;
        let (sent, secs) = send_turns(opts, &server, tokens, first_turn, turns, base_ms).await;
        // Stopped before sealing (SIGTERM drains the write queue), also when sending failed.
        server.stop()?;
        let otlp_bytes = sent?;
        queue.turns += turns;
        queue.records += turns * TURN;
        queue.otlp_bytes += otlp_bytes;
        queue.secs += secs;
        eprintln!(
            "  round {}: queued {} records ({} turns) through POST /v1/logs in {:.1} s",
            seal.rounds + 1,
            turns * TURN,
            turns,
            secs
        );

        common.wait_quiet().await;
        seal_round(steward, workspace_id, &mut seal, builds).await?;
        bytes_per_turn = seal.bytes as f64 / queue.turns as f64;
    }
    queue.records_per_sec = queue.records as f64 / queue.secs.max(1e-9);
    queue.mix = format!(
        "per turn: 1 prompt, 3 responses with token usage, 1 tool decision, 2 tool results (shell, apply_patch); {} turns over {} users",
        queue.turns,
        opts.senders.max(1)
    );
    seal.records_per_sec = seal.records as f64 / seal.secs.max(1e-9);
    seal.mb_per_sec = seal.bytes as f64 / MB / seal.secs.max(1e-9);
    seal.bytes_per_record = seal.bytes as f64 / seal.records.max(1) as f64;
    Ok((queue, seal))
}

/// One `seal_workspace` call on the data directory, as the server's sealer would make it (its
/// default `[compliance]` limits, its object store and key locations).
async fn seal_round(
    steward: &Steward,
    workspace_id: &str,
    seal: &mut SealResult,
    builds: &mut Vec<String>,
) -> Result<()> {
    let data = &steward.data_dir;
    let store: Arc<dyn Store> =
        Arc::new(steward_store_sqlite::SqliteStore::open(&data.join("steward.db")).await?);
    let logs = LogStore::open(&data.join("compliance").display().to_string())?;
    let key = SigningKeyFile::load_or_create(data.join("compliance-signing-key.pem"))?;
    let service = ComplianceService::new(store, Arc::new(logs), Arc::new(key), ComplianceConfig::default());

    let watch = Watch::start(builds);
    let t = Instant::now();
    let outcome = service.seal_workspace(workspace_id).await?;
    let secs = t.elapsed().as_secs_f64();
    let (cpu, other) = watch.stop(0.0, builds);
    drop(service); // closes the database before the server opens it again

    let bytes: u64 = outcome.files.iter().map(|f| f.size).sum();
    seal.rounds += 1;
    seal.records += outcome.records;
    seal.files += outcome.files.len() as u64;
    seal.digests += outcome.digests.len() as u64;
    seal.bytes += bytes;
    seal.secs += secs;
    seal.cpu_secs += cpu;
    seal.other_cpu_secs += other;
    for f in &outcome.files {
        *seal.records_by_type.entry(f.event_type.clone()).or_default() += f.record_count;
    }
    eprintln!(
        "  round {}: sealed {} records into {} files ({:.1} MB, {} digests) in {:.2} s: {:.0} records/s, {:.1} MB/s, CPU {:.2} s (other processes {:.2} s)",
        seal.rounds,
        outcome.records,
        outcome.files.len(),
        bytes as f64 / MB,
        outcome.digests.len(),
        secs,
        outcome.records as f64 / secs.max(1e-9),
        bytes as f64 / MB / secs.max(1e-9),
        cpu,
        other
    );
    Ok(())
}

/// POSTs turns `first..first + turns` to `/v1/logs` from `--ingest-clients` clients, each
/// generating its next body itself (so nothing large is held in memory) and waiting for the
/// durable 200. Returns the OTLP bytes sent and the wall time.
async fn send_turns(
    opts: &ComplianceOpts,
    server: &Server,
    tokens: &[String],
    first: u64,
    turns: u64,
    base_ms: i64,
) -> (Result<u64>, f64) {
    let turns_per_body = (opts.batch as u64 / TURN).max(1);
    let bodies = turns.div_ceil(turns_per_body);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/logs", server.base_url);
    let tokens = Arc::new(tokens.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..opts.ingest_clients.max(1) {
        let (http, url, tokens, next) = (http.clone(), url.clone(), tokens.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                if i >= bodies {
                    return Ok::<_, anyhow::Error>(sent);
                }
                let start = first + i * turns_per_body;
                let end = (start + turns_per_body).min(first + turns);
                let sender = (i as usize) % tokens.len();
                let body = body(start..end, sender, base_ms);
                sent += body.len() as u64;
                post_logs(&http, &url, &tokens[sender], body).await?;
            }
        }));
    }
    let mut total = Ok(0u64);
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => total = total.map(|t| t + n),
            Ok(Err(e)) => total = Err(e),
            Err(e) => total = Err(e.into()),
        }
    }
    (total, t.elapsed().as_secs_f64())
}

async fn post_logs(http: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> Result<()> {
    let body = bytes::Bytes::from(body);
    for _ in 0..200 {
        if crate::ingest::post_logs_once(http, url, token, body.clone()).await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("POST /v1/logs: still 503 after 200 attempts")
}

// ---------------------------------------------------------------------------------------------
// Download

#[derive(Debug, Clone)]
struct Listed {
    id: String,
    size: u64,
}

async fn download(
    opts: &ComplianceOpts,
    common: &Common,
    steward: &Steward,
    (workspace_id, api_key): (&str, &str),
    compliance_dir: &Path,
    builds: &mut Vec<String>,
) -> Result<DownloadResult> {
    let server = steward.serve(&steward.cwd.join("serve-download.log")).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.download_clients.max(1))
        .build()?;
    let auth = format!("Bearer {api_key}");
    let base = format!("{}/v1/compliance/workspaces/{workspace_id}/logs", server.base_url);

    let t = Instant::now();
    let files = list_files(&http, &base, &auth).await?;
    let list_secs = t.elapsed().as_secs_f64();
    let dir = compliance_dir.to_owned();
    let resident = tokio::task::spawn_blocking(move || evict_tree(&dir)).await??;
    common.wait_quiet().await;
    let files = Arc::new(files);
    let server_before = server.stats().cpu_secs;
    let watch = Watch::start(builds);
    let cold = fetch_all(&http, &base, &auth, &files, opts.download_clients).await?;
    let server_cpu = server.stats().cpu_secs - server_before;
    let (_, other) = watch.stop(server_cpu, builds);
    let warm = fetch_all(&http, &base, &auth, &files, opts.download_clients).await?;
    server.stop()?;
    let expected: u64 = files.iter().map(|f| f.size).sum();
    if cold.bytes != expected || warm.bytes != expected {
        bail!(
            "downloaded {} / {} bytes, the listing says {expected}",
            cold.bytes,
            warm.bytes
        );
    }
    Ok(DownloadResult {
        clients: opts.download_clients.max(1),
        files: files.len() as u64,
        list_secs,
        resident_before_cold: resident,
        cold_files_per_sec: files.len() as f64 / cold.secs.max(1e-9),
        cold,
        warm,
        cold_server_cpu_secs: server_cpu,
        cold_other_cpu_secs: other,
    })
}

/// Every file of every log type, paging with `after=last_end_time` (inclusive: the boundary
/// file comes again and is de-duplicated by id, as the API documents for clients).
async fn list_files(http: &reqwest::Client, base: &str, auth: &str) -> Result<Vec<Listed>> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut req = http.get(base).header("authorization", auth).query(&[
            ("event_type", "CODEX_LOG"),
            ("event_type", "CODEX_SECURITY_LOG"),
            ("event_type", "AUDIT_LOG"),
            ("limit", "1000"),
        ]);
        if let Some(a) = &after {
            req = req.query(&[("after", a.as_str())]);
        }
        let resp = req.send().await.context("GET .../logs")?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("GET {base} answered {status}: {text}");
        }
        let page: serde_json::Value = serde_json::from_str(&text)?;
        let mut new = 0;
        for f in page["data"].as_array().context("no data array")? {
            let id = f["id"].as_str().context("file without id")?.to_owned();
            if seen.insert(id.clone()) {
                new += 1;
                files.push(Listed {
                    id,
                    size: f["file_size"].as_u64().context("file without file_size")?,
                });
            }
        }
        if page["has_more"] != true || new == 0 {
            return Ok(files);
        }
        after = page["last_end_time"].as_str().map(str::to_owned);
    }
}

/// GETs every file with `clients` concurrent clients, reading each body chunk by chunk as it
/// arrives (nothing is buffered whole); checks each length against the listing.
async fn fetch_all(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    files: &Arc<Vec<Listed>>,
    clients: usize,
) -> Result<Rate> {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (http, base, auth, files, next) = (
            http.clone(),
            base.to_owned(),
            auth.to_owned(),
            files.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut total = 0u64;
            loop {
                let Some(f) = files.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return Ok::<_, anyhow::Error>(total);
                };
                let mut resp = http
                    .get(format!("{base}/{}", f.id))
                    .header("authorization", &auth)
                    .send()
                    .await
                    .with_context(|| format!("GET .../logs/{}", f.id))?;
                if !resp.status().is_success() {
                    bail!("GET .../logs/{} answered {}", f.id, resp.status());
                }
                let mut n = 0u64;
                while let Some(chunk) = resp.chunk().await? {
                    n += chunk.len() as u64;
                }
                if n != f.size {
                    bail!("file {}: {n} bytes downloaded, {} listed", f.id, f.size);
                }
                total += n;
            }
        }));
    }
    let mut bytes = 0u64;
    for task in tasks {
        bytes += task.await??;
    }
    Ok(Rate::of(bytes, t.elapsed().as_secs_f64()))
}

// ---------------------------------------------------------------------------------------------
// Verify

async fn verify(
    opts: &ComplianceOpts,
    common: &Common,
    data: &Path,
    workspace_id: &str,
    builds: &mut Vec<String>,
) -> Result<VerifyResult> {
    let compliance_dir = data.join("compliance");
    let logs = LogStore::open_existing(&compliance_dir.display().to_string())?;
    let key = SigningKeyFile::load_or_create(data.join("compliance-signing-key.pem"))?.public_key();
    let options = VerifyOptions {
        workspace: Some(workspace_id.to_owned()),
        concurrency: opts.verify_concurrency.max(1),
        ..VerifyOptions::default()
    };
    let dir = compliance_dir.clone();
    let resident = tokio::task::spawn_blocking(move || evict_tree(&dir)).await??;
    common.wait_quiet().await;
    let watch = Watch::start(builds);
    let t = Instant::now();
    let cold = verify_with(&logs, &key, &options).await?;
    let cold_secs = t.elapsed().as_secs_f64();
    let (cold_cpu, cold_other) = watch.stop(0.0, builds);
    let t = Instant::now();
    let warm = verify_with(&logs, &key, &options).await?;
    let warm_secs = t.elapsed().as_secs_f64();
    for p in cold.problems.iter().take(5) {
        eprintln!("  verify problem: {p:?}");
    }
    Ok(VerifyResult {
        concurrency: options.concurrency,
        ok: cold.ok && warm.ok,
        problems: cold.problems.len(),
        digests_checked: cold.digests_checked,
        files_checked: cold.files_checked,
        records_checked: cold.records_checked,
        bytes_checked: cold.bytes_checked,
        resident_before_cold: resident,
        cold: Rate::of(cold.bytes_checked, cold_secs),
        warm: Rate::of(warm.bytes_checked, warm_secs),
        cold_files_per_sec: cold.files_checked as f64 / cold_secs.max(1e-9),
        warm_files_per_sec: warm.files_checked as f64 / warm_secs.max(1e-9),
        cold_cpu_secs: cold_cpu,
        cold_other_cpu_secs: cold_other,
    })
}

// ---------------------------------------------------------------------------------------------
// Records: Codex 0.169-shaped (see codex.rs), with content, as a workspace that logs prompts
// (`log_user_prompt = true`) and tool output sends them.

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const WORDS: &[&str] = &[
    "the",
    "test",
    "fails",
    "in",
    "crates/ingest/src/normalize.rs",
    "because",
    "fn",
    "parse_logs",
    "returns",
    "an",
    "error",
    "when",
    "the",
    "attribute",
    "is",
    "missing;",
    "please",
    "fix",
    "it",
    "and",
    "add",
    "a",
    "regression",
    "test",
    "for",
    "conversation.id",
    "Result<Vec<Event>>",
    "let",
    "mut",
    "events",
    "=",
    "Vec::new();",
    "warning:",
    "unused",
    "variable",
    "`x`",
    "-->",
    "src/lib.rs:42:9",
    "running",
    "12",
    "tests",
    "ok",
    "FAILED",
    "assert_eq!(left,",
    "right)",
    "thread",
    "'main'",
    "panicked",
    "at",
    "refactor",
    "the",
    "store",
    "so",
    "that",
    "rollups",
    "commit",
    "together",
];

/// Deterministic text of `len` bytes from `seed` (words, spaces, some newlines).
fn text(seed: u64, len: usize) -> String {
    let mut out = String::with_capacity(len + 40);
    let mut x = seed;
    while out.len() < len {
        x = splitmix(x);
        out.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        out.push(if (x >> 59) == 0 { '\n' } else { ' ' });
    }
    out.truncate(len);
    out
}

/// A length with a long tail: `base + r % spread`, and one time in `tail_every` more by up to
/// `tail` (real prompts and tool output are mostly short, sometimes very long).
fn length(seed: u64, base: u64, spread: u64, tail_every: u64, tail: u64) -> usize {
    let r = splitmix(seed);
    let extra = if (r >> 40).is_multiple_of(tail_every) {
        splitmix(r) % tail
    } else {
        0
    };
    (base + r % spread + extra) as usize
}

fn conversation_id(sender: usize, conv: u64) -> String {
    let x = splitmix(conv ^ ((sender as u64) << 48));
    format!(
        "019b{:04x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (conv >> 16) & 0xffff,
        conv & 0xffff,
        sender & 0xfff,
        (x >> 52) & 0xfff,
        x & 0xffff_ffff_ffff
    )
}

/// Record `pos` of global turn `turn`. A turn: user_prompt (text), response.completed (usage),
/// tool_decision, tool_result (shell: command, output), response.completed, tool_result
/// (apply_patch: the patch), response.completed: every one a compliance record.
fn turn_record(turn: u64, pos: u64, sender: usize, base_ms: i64) -> LogRecord {
    let k = turn * TURN + pos;
    let seed = splitmix(k);
    let ts_ms = base_ms + k as i64;
    let call = |n: u64| format!("call_{:016x}", splitmix(turn * 4 + n));
    let mut attrs = Vec::with_capacity(24);
    match pos {
        0 => {
            let prompt = text(seed, length(seed, 40, 600, 8, 4000));
            attrs.push(s("event.name", "codex.user_prompt"));
            attrs.push(s("prompt_length", prompt.len().to_string()));
            attrs.push(s("prompt", prompt));
        }
        2 => {
            attrs.push(s("event.name", "codex.tool_decision"));
            attrs.push(s("tool_name", "shell"));
            attrs.push(s("call_id", call(1)));
            attrs.push(s(
                "decision",
                if k.is_multiple_of(3) {
                    "approved_for_session"
                } else {
                    "approved"
                },
            ));
            attrs.push(s("source", if k.is_multiple_of(2) { "config" } else { "user" }));
        }
        3 => {
            attrs.push(s("event.name", "codex.tool_result"));
            attrs.push(s("tool_name", "shell"));
            attrs.push(s("call_id", call(1)));
            attrs.push(s(
                "arguments",
                format!(
                    "{{\"command\":[\"bash\",\"-lc\",\"cargo test -p steward-ingest -- {}\"],\"workdir\":\"/home/dev/steward\",\"timeout_ms\":120000}}",
                    text(seed, 24).replace(['\n', '"'], " ")
                ),
            ));
            attrs.push(s("duration_ms", (k % 9000).to_string()));
            attrs.push(s("success", if k.is_multiple_of(11) { "false" } else { "true" }));
            attrs.push(s("output", text(seed ^ 1, length(seed, 100, 3000, 5, 16_000))));
        }
        5 => {
            let patch = text(seed, length(seed, 300, 3000, 6, 6000));
            attrs.push(s("event.name", "codex.tool_result"));
            attrs.push(s("tool_name", "apply_patch"));
            attrs.push(s("call_id", call(2)));
            attrs.push(s(
                "arguments",
                format!(
                    "*** Begin Patch\n*** Update File: crates/ingest/src/normalize.rs\n@@\n{patch}\n*** End Patch\n"
                ),
            ));
            attrs.push(s("duration_ms", (k % 400).to_string()));
            attrs.push(s("success", "true"));
            attrs.push(s(
                "output",
                "Success. Updated the following files:\nM crates/ingest/src/normalize.rs\n",
            ));
        }
        _ => {
            attrs.push(s("event.name", "codex.sse_event"));
            attrs.push(s("event.kind", "response.completed"));
            attrs.push(s("duration_ms", (k % 40).to_string()));
            let input = 4_000 + (seed % 50_000) as i64;
            let output = 200 + (seed % 3_000) as i64;
            attrs.push(s("input_token_count", input.to_string()));
            attrs.push(s("output_token_count", output.to_string()));
            attrs.push(int("cached_token_count", input * (40 + (k % 50) as i64) / 100));
            attrs.push(int("cache_write_token_count", 0));
            attrs.push(int("reasoning_token_count", output / 4));
            attrs.push(s("tool_token_count", (input + output).to_string()));
        }
    }
    let model = if sender % 3 == 2 {
        "gpt-5.1-codex-mini"
    } else {
        "gpt-5-codex"
    };
    let ts = chrono::DateTime::from_timestamp_millis(ts_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    attrs.push(s("event.timestamp", ts));
    attrs.push(s(
        "conversation.id",
        conversation_id(sender, turn / TURNS_PER_CONVERSATION),
    ));
    attrs.push(s("app.version", "0.169.0"));
    attrs.push(s("auth_mode", "Chatgpt"));
    attrs.push(s(
        "user.account_id",
        format!("acct_{:024x}", sender * 7_777_777 + 12_345),
    ));
    attrs.push(s("user.email", crate::codex::email(sender)));
    attrs.push(s("originator", "codex_exec"));
    attrs.push(s("terminal.type", "xterm-256color"));
    attrs.push(s("model", model));
    attrs.push(s("slug", model));
    LogRecord {
        time_unix_nano: 0,
        observed_time_unix_nano: ts_ms as u64 * 1_000_000 + k % 999_983,
        severity_number: 9,
        severity_text: "INFO".to_owned(),
        attributes: attrs,
        event_name: "event otel/src/events/session_telemetry.rs:1200".to_owned(),
        ..Default::default()
    }
}

/// The encoded OTLP body of `turns`, all from `sender`.
fn body(turns: std::ops::Range<u64>, sender: usize, base_ms: i64) -> Vec<u8> {
    let records = turns
        .flat_map(|t| (0..TURN).map(move |p| (t, p)))
        .map(|(t, p)| turn_record(t, p, sender, base_ms))
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    s("telemetry.sdk.name", "opentelemetry"),
                    s("telemetry.sdk.language", "rust"),
                    s("telemetry.sdk.version", "0.31.0"),
                    s("host.name", format!("devbox-{sender:03}")),
                    s("service.name", "codex_exec"),
                    s("service.version", "0.169.0"),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "codex_otel.log_only".to_owned(),
                    ..Default::default()
                }),
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
    .encode_to_vec()
}

// ---------------------------------------------------------------------------------------------
// Output

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "–".into()
    }
}

fn resident(r: Option<u64>) -> String {
    match r {
        Some(b) => format!("{:.1} MB resident per fincore", b as f64 / MB),
        None => "residency unknown (no fincore)".into(),
    }
}

pub fn markdown(c: &ComplianceResult) -> String {
    let mut s = String::new();
    let d = &c.disk;
    let read_label = if d.read_cold {
        format!("disk read {:.0} MB/s", d.read.mb_per_sec)
    } else {
        format!("page-cache read {:.0} MB/s (NOT the disk)", d.read.mb_per_sec)
    };
    let _ = writeln!(s, "### Compliance log throughput (MB = 10^6 bytes)\n");
    let _ = writeln!(
        s,
        "| figure | throughput | disk ceiling, same run, same directory | ratio |"
    );
    let _ = writeln!(s, "|---|---:|---|---:|");
    let _ = writeln!(
        s,
        "| sealing (`seal_workspace`) | **{:.0} records/s**, **{:.1} MB/s** JSONL | write {:.0} MB/s | {} |",
        c.seal.records_per_sec,
        c.seal.mb_per_sec,
        d.write.mb_per_sec,
        ratio(c.seal.mb_per_sec, d.write.mb_per_sec)
    );
    for (name, rate, files) in [
        (
            "download, cold",
            &c.download.cold,
            Some(c.download.cold_files_per_sec),
        ),
        ("download, warm (page cache)", &c.download.warm, None),
        ("verify, cold", &c.verify.cold, Some(c.verify.cold_files_per_sec)),
        (
            "verify, warm (page cache)",
            &c.verify.warm,
            Some(c.verify.warm_files_per_sec),
        ),
    ] {
        let _ = writeln!(
            s,
            "| {name} | **{:.0} MB/s**{} | {read_label} | {} |",
            rate.mb_per_sec,
            files.map(|f| format!(", {f:.1} files/s")).unwrap_or_default(),
            ratio(rate.mb_per_sec, d.read.mb_per_sec)
        );
    }
    let _ = writeln!(
        s,
        "\nDisk: {} MiB written in 1 MiB writes + one fsync: {:.0} MB/s ({:.2} s); read back: {:.0} MB/s ({:.2} s), {}; other processes' CPU {:.2} s.",
        d.file_bytes / MIB,
        d.write.mb_per_sec,
        d.write.secs,
        d.read.mb_per_sec,
        d.read.secs,
        d.read_method,
        d.other_cpu_secs
    );
    let q = &c.queue;
    let _ = writeln!(
        s,
        "Queued: {} records ({}) through `POST /v1/logs`, {:.0} OTLP bytes per record, {:.0} records/s (not a measured figure: the server also stores the events).",
        q.records,
        q.mix,
        q.otlp_bytes as f64 / q.records.max(1) as f64,
        q.records_per_sec
    );
    let se = &c.seal;
    let by_type: Vec<String> = se
        .records_by_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "Sealed: {} records ({}) into {} files and {} digests, {:.1} MB, {:.0} bytes per record, in {} round(s), {:.2} s; CPU of the sealing process {:.2} s ({:.2} cores), of other processes {:.2} s.",
        se.records,
        by_type.join(", "),
        se.files,
        se.digests,
        se.bytes as f64 / MB,
        se.bytes_per_record,
        se.rounds,
        se.secs,
        se.cpu_secs,
        se.cpu_secs / se.secs.max(1e-9),
        se.other_cpu_secs
    );
    let dl = &c.download;
    let _ = writeln!(
        s,
        "Download: {} files, {} client(s), listing {:.2} s; cold pass {:.1} MB in {:.2} s after eviction ({}), server CPU {:.2} s, other processes {:.2} s; warm pass {:.2} s.",
        dl.files,
        dl.clients,
        dl.list_secs,
        dl.cold.bytes as f64 / MB,
        dl.cold.secs,
        resident(dl.resident_before_cold),
        dl.cold_server_cpu_secs,
        dl.cold_other_cpu_secs,
        dl.warm.secs
    );
    let v = &c.verify;
    let _ = writeln!(
        s,
        "Verify (`steward_compliance::chain::verify_with`, concurrency {}): {}, {} digests, {} files, {} records, {} bytes checked; cold {:.2} s after eviction ({}), CPU {:.2} s, other processes {:.2} s; warm {:.2} s.",
        v.concurrency,
        if v.ok { "OK" } else { "PROBLEMS" },
        v.digests_checked,
        v.files_checked,
        v.records_checked,
        v.bytes_checked,
        v.cold.secs,
        resident(v.resident_before_cold),
        v.cold_cpu_secs,
        v.cold_other_cpu_secs,
        v.warm.secs
    );
    if !c.concurrent_builds.is_empty() {
        let _ = writeln!(s, "Concurrent builds seen: {}.", c.concurrent_builds.join(" "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_hold_whole_turns_of_distinct_parseable_records() {
        let req = ExportLogsServiceRequest::decode(&body(3..5, 1, 1_795_212_253_000)[..]).unwrap();
        let (parsed, rejected) = steward_ingest::normalize::parse_logs(&req, 0);
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(parsed.len(), 2 * TURN as usize);
        let raws: std::collections::HashSet<_> = parsed.iter().map(|p| p.raw.clone()).collect();
        assert_eq!(raws.len(), parsed.len());
        // Every record becomes a compliance record (none is only a usage event).
        let card = steward_model::RateCard::builtin().unwrap();
        for p in parsed.clone() {
            let e = steward_ingest::normalize::finalize(p, "ws", "user", &card);
            assert!(e.log_type().is_some(), "{} is not queued", e.event_name);
        }
        let names: Vec<&str> = parsed[..TURN as usize]
            .iter()
            .map(|p| p.event_name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "codex.user_prompt",
                "codex.sse_event",
                "codex.tool_decision",
                "codex.tool_result",
                "codex.sse_event",
                "codex.tool_result",
                "codex.sse_event"
            ]
        );
    }
}
