//! Throughput figures for sealing and verification (ignored by default; run with
//! `cargo test -p steward-compliance --release --test chain_perf -- --ignored --nocapture`,
//! size via `STEWARD_CHAIN_PERF_MB`, default 256).

use std::time::Instant;

use chrono::Utc;
use serde_json::json;
use steward_compliance::chain::{build_file, verify, FileMeta, LogStore, SigningKeyFile};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run explicitly in release mode"]
async fn seal_and_verify_throughput() {
    let total_mb: usize = std::env::var("STEWARD_CHAIN_PERF_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path().join("store").to_str().unwrap()).unwrap();
    let key = SigningKeyFile::generate().unwrap();
    let filler = "x".repeat(1500);
    let records_per_file = 8_000; // ~16 MB per file
    let files = (total_mb / 16).max(1);

    let mut build = std::time::Duration::ZERO;
    let mut sealed = Vec::new();
    for f in 0..files {
        let records: Vec<_> = (0..records_per_file)
            .map(|n| {
                json!({
                    "event_id": format!("e-{f}-{n}"), "type": "CODEX_LOG",
                    "timestamp": "2025-01-01T00:00:00Z", "workspace_id": "ws",
                    "event_details": {"prompt_text": format!("{filler} {n}"), "model": "m"},
                })
            })
            .collect();
        let meta = FileMeta {
            workspace_id: "ws".into(),
            event_type: "CODEX_LOG".into(),
            file_id: format!("f{f}"),
            end_time: 1_735_689_600,
        };
        let started = Instant::now();
        sealed.push(build_file(meta, &records).unwrap());
        build += started.elapsed();
    }
    let bytes: u64 = sealed.iter().map(|f| f.size).sum();
    let started = Instant::now();
    store
        .write_sealing(None, "ws", Utc::now(), &sealed, &key)
        .await
        .unwrap();
    let write = started.elapsed();
    drop(sealed);

    let started = Instant::now();
    let report = verify(&store, &key.public_key(), None).await.unwrap();
    let check = started.elapsed();
    assert!(report.ok);
    assert_eq!(report.bytes_checked, bytes);
    let mb = bytes as f64 / 1e6;
    println!(
        "{mb:.0} MB in {files} files: build {:.0} MB/s, write {:.0} MB/s, verify {:.0} MB/s ({:.2}s)",
        mb / build.as_secs_f64(),
        mb / write.as_secs_f64(),
        mb / check.as_secs_f64(),
        check.as_secs_f64()
    );
}
