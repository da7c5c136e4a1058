//! End-to-end tests of sealing and offline verification on a local directory store: a clean
//! store verifies, and every kind of tampering is detected and named.

use std::path::{Path, PathBuf};

use chrono::{TimeZone as _, Utc};
use serde_json::{json, Value};
use steward_compliance::chain::{
    build_file, digest_path, erase_content, verify, verify_with, ChainHead, ExpiredEntry, FileMeta, LogStore,
    ProblemKind, SealedFile, SigningKeyFile, VerifyOptions, VerifyReport, PUBLIC_KEY_PATH,
};
use tempfile::TempDir;

const WORKSPACES: [&str; 2] = ["ws-a", "ws-b"];
const SEALINGS: usize = 3;
const FILES_PER_SEALING: usize = 3;
const RECORDS_PER_FILE: usize = 4;

struct Fixture {
    _dir: TempDir,
    root: PathBuf,
    store: LogStore,
    key: SigningKeyFile,
    /// Every sealed file, in sealing order.
    files: Vec<SealedFile>,
    heads: Vec<(String, ChainHead)>,
}

fn record(ws: &str, sealing: usize, file: usize, n: usize) -> Value {
    json!({
        "event_id": format!("{ws}-{sealing}-{file}-{n}"),
        "type": "CODEX_LOG",
        "timestamp": format!("2025-03-0{}T10:{file:02}:{n:02}Z", sealing + 1),
        "principal": {"type": "user", "id": format!("user-{n}")},
        "actor": {"type": "user", "id": format!("user-{n}")},
        "event_type": if file.is_multiple_of(2) { "codex.user_prompt" } else { "codex.tool_result" },
        "workspace_id": ws,
        "event_details": {
            "prompt_text": format!("secret prompt {ws} {sealing} {file} {n}"),
            "response_text": if n.is_multiple_of(2) { Value::Null } else { json!(format!("answer {n}")) },
            "tool_input": {"command": ["ls", "-la"], "n": n},
            "model": "gpt-5-codex",
        },
    })
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = LogStore::open(root.to_str().unwrap()).unwrap();
    let key = SigningKeyFile::load_or_create(dir.path().join("signing.pem")).unwrap();
    store.publish_public_key(&key.public_key()).await.unwrap();
    let mut files = Vec::new();
    let mut heads = Vec::new();
    for ws in WORKSPACES {
        let mut head: Option<ChainHead> = None;
        for sealing in 0..SEALINGS {
            let end_time = 1_740_000_000 + sealing as i64 * 86_400;
            let sealed: Vec<SealedFile> = (0..FILES_PER_SEALING)
                .map(|file| {
                    let event_type = if file == 2 { "CODEX_AUDIT" } else { "CODEX_LOG" };
                    let records: Vec<Value> = (0..RECORDS_PER_FILE)
                        .map(|n| record(ws, sealing, file, n))
                        .collect();
                    let meta = FileMeta {
                        workspace_id: ws.into(),
                        event_type: event_type.into(),
                        file_id: format!("s{sealing}-f{file}"),
                        end_time,
                    };
                    build_file(meta, &records).unwrap()
                })
                .collect();
            let sealed_at = Utc.timestamp_opt(end_time + 60, 0).unwrap();
            let new_head = store
                .write_sealing(head.as_ref(), ws, sealed_at, &sealed, &[], &key)
                .await
                .unwrap();
            files.extend(sealed);
            head = Some(new_head);
        }
        heads.push((ws.to_owned(), head.unwrap()));
    }
    Fixture {
        _dir: dir,
        root,
        store,
        key,
        files,
        heads,
    }
}

impl Fixture {
    fn fs(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }

    async fn verify(&self) -> VerifyReport {
        verify(&self.store, &self.key.public_key(), None).await.unwrap()
    }

    fn file(&self, ws: &str, index: usize) -> &SealedFile {
        self.files
            .iter()
            .filter(|f| f.path.starts_with(&format!("{ws}/")))
            .nth(index)
            .unwrap()
    }
}

/// The (kind, path) pairs of a report, for exact assertions.
fn found(report: &VerifyReport) -> Vec<(ProblemKind, String)> {
    report.problems.iter().map(|p| (p.kind, p.path.clone())).collect()
}

fn has(report: &VerifyReport, kind: ProblemKind, path: &str) -> bool {
    report.problems.iter().any(|p| p.kind == kind && p.path == path)
}

fn flip_byte(path: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in file");
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn sealed_store_verifies() {
    let fx = fixture().await;
    let report = fx.verify().await;
    assert!(report.ok, "{:#?}", report.problems);
    let files = (WORKSPACES.len() * SEALINGS * FILES_PER_SEALING) as u64;
    assert_eq!(report.workspaces, WORKSPACES.to_vec());
    assert_eq!(report.digests_checked, (WORKSPACES.len() * SEALINGS) as u64);
    assert_eq!(report.files_checked, files);
    assert_eq!(report.records_checked, files * RECORDS_PER_FILE as u64);
    assert_eq!(report.bytes_checked, fx.files.iter().map(|f| f.size).sum::<u64>());
    assert_eq!(report.erased_fields, 0);
    for (ws, head) in &fx.heads {
        assert_eq!(report.heads.get(ws), Some(head));
    }
    // Layout on disk.
    let f = fx.file("ws-a", 0);
    assert_eq!(f.path, "ws-a/logs/CODEX_LOG/2025-02-19/s0-f0.jsonl");
    assert_eq!(std::fs::read(fx.fs(&f.path)).unwrap(), f.bytes);
    assert!(fx.fs("ws-b/digests/000000000003.json").is_file());
    assert_eq!(fx.store.read_public_key().await.unwrap(), fx.key.public_key());
    assert!(fx.fs(PUBLIC_KEY_PATH).is_file());

    // One workspace only, and the online check with the database heads.
    let one = verify(&fx.store, &fx.key.public_key(), Some("ws-b"))
        .await
        .unwrap();
    assert!(one.ok);
    assert_eq!(one.workspaces, vec!["ws-b".to_owned()]);
    assert_eq!(one.files_checked, files / 2);
    let options = VerifyOptions {
        expected_heads: fx.heads.iter().cloned().collect(),
        ..VerifyOptions::default()
    };
    assert!(
        verify_with(&fx.store, &fx.key.public_key(), &options)
            .await
            .unwrap()
            .ok
    );

    // An exported folder verifies the same, with the key read from the export.
    let export = LogStore::open_existing(fx.root.to_str().unwrap()).unwrap();
    let key = export.read_public_key().await.unwrap();
    assert!(verify(&export, &key, None).await.unwrap().ok);

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["problems"], json!([]));
}

#[tokio::test]
async fn changed_byte_is_named() {
    let fx = fixture().await;
    let path = fx.file("ws-a", 4).path.clone();
    flip_byte(&fx.fs(&path), b"secret prompt");
    let report = fx.verify().await;
    assert_eq!(found(&report), vec![(ProblemKind::FileChanged, path)]);
    assert!(!report.ok);
}

#[tokio::test]
async fn removed_file_is_named() {
    let fx = fixture().await;
    let path = fx.file("ws-b", 7).path.clone();
    std::fs::remove_file(fx.fs(&path)).unwrap();
    let report = fx.verify().await;
    assert_eq!(found(&report), vec![(ProblemKind::FileRemoved, path)]);
}

#[tokio::test]
async fn unlisted_file_is_named() {
    let fx = fixture().await;
    // A perfectly well-formed file that no digest lists.
    let extra = build_file(
        FileMeta {
            workspace_id: "ws-a".into(),
            event_type: "CODEX_LOG".into(),
            file_id: "forged".into(),
            end_time: 1_740_000_000,
        },
        &[record("ws-a", 0, 0, 0)],
    )
    .unwrap();
    fx.store.put(&extra.path, extra.bytes.clone()).await.unwrap();
    let report = fx.verify().await;
    assert_eq!(found(&report), vec![(ProblemKind::FileInserted, extra.path)]);
}

#[tokio::test]
async fn swapped_files_are_named_as_swapped() {
    let fx = fixture().await;
    let a = fx.file("ws-a", 1).path.clone();
    let b = fx.file("ws-a", 6).path.clone();
    let (bytes_a, bytes_b) = (
        std::fs::read(fx.fs(&a)).unwrap(),
        std::fs::read(fx.fs(&b)).unwrap(),
    );
    std::fs::write(fx.fs(&a), bytes_b).unwrap();
    std::fs::write(fx.fs(&b), bytes_a).unwrap();
    let report = fx.verify().await;
    let mut expected = vec![
        (ProblemKind::FileSwapped, a.clone()),
        (ProblemKind::FileSwapped, b.clone()),
    ];
    expected.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(found(&report), expected);
    // Each names the other.
    assert!(report
        .problems
        .iter()
        .any(|p| p.path == a && p.detail.contains(&b)));
    assert!(report
        .problems
        .iter()
        .any(|p| p.path == b && p.detail.contains(&a)));
}

#[tokio::test]
async fn rotated_files_are_named_as_reordered() {
    let fx = fixture().await;
    let paths: Vec<String> = (0..3).map(|i| fx.file("ws-b", i).path.clone()).collect();
    let contents: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(fx.fs(p)).unwrap()).collect();
    for (i, p) in paths.iter().enumerate() {
        std::fs::write(fx.fs(p), &contents[(i + 1) % 3]).unwrap();
    }
    let report = fx.verify().await;
    assert_eq!(report.problems.len(), 3, "{:#?}", report.problems);
    for p in &paths {
        assert!(
            has(&report, ProblemKind::FileSwapped, p),
            "{p}: {:#?}",
            report.problems
        );
    }
}

#[tokio::test]
async fn copied_file_is_changed_not_swapped() {
    let fx = fixture().await;
    let a = fx.file("ws-a", 0).path.clone();
    let b = fx.file("ws-a", 1).path.clone();
    std::fs::copy(fx.fs(&b), fx.fs(&a)).unwrap();
    let report = fx.verify().await;
    assert_eq!(found(&report), vec![(ProblemKind::FileChanged, a)]);
    assert!(report.problems[0].detail.contains(&b));
}

#[tokio::test]
async fn edited_digest_is_named() {
    let fx = fixture().await;
    let digest = digest_path("ws-a", 2);
    let mut value: Value = serde_json::from_slice(&std::fs::read(fx.fs(&digest)).unwrap()).unwrap();
    let listed = value["files"][0]["path"].as_str().unwrap().to_owned();
    value["files"][0]["sha256"] = json!("0".repeat(64));
    std::fs::write(fx.fs(&digest), serde_json::to_vec(&value).unwrap()).unwrap();
    let report = fx.verify().await;
    assert!(
        has(&report, ProblemKind::DigestEdited, &digest),
        "{:#?}",
        report.problems
    );
    // The next digest's link no longer matches the stored bytes.
    assert!(has(&report, ProblemKind::ChainBroken, &digest_path("ws-a", 3)));
    // The file no longer matches what the (edited) digest claims.
    assert!(has(&report, ProblemKind::FileChanged, &listed));
    assert_eq!(report.problems.len(), 3, "{:#?}", report.problems);
}

#[tokio::test]
async fn deleted_middle_digest_is_a_named_gap() {
    let fx = fixture().await;
    let digest = digest_path("ws-b", 2);
    std::fs::remove_file(fx.fs(&digest)).unwrap();
    let report = fx.verify().await;
    assert!(
        has(&report, ProblemKind::DigestMissing, &digest),
        "{:#?}",
        report.problems
    );
    assert_eq!(report.problems_of(ProblemKind::DigestMissing).count(), 1);
    // Its files are now unlisted, and named as such.
    assert_eq!(
        report.problems_of(ProblemKind::FileInserted).count(),
        FILES_PER_SEALING
    );
    assert_eq!(report.problems.len(), 1 + FILES_PER_SEALING);
}

#[tokio::test]
async fn deleted_newest_digest_needs_the_expected_head() {
    let fx = fixture().await;
    let digest = digest_path("ws-a", 3);
    std::fs::remove_file(fx.fs(&digest)).unwrap();
    for f in fx
        .files
        .iter()
        .filter(|f| f.path.starts_with("ws-a/") && f.id.starts_with("s2-"))
    {
        std::fs::remove_file(fx.fs(&f.path)).unwrap();
    }
    // Offline this is undetectable (as with CloudTrail)...
    assert!(fx.verify().await.ok);
    // ...but not against the head the database recorded.
    let options = VerifyOptions {
        expected_heads: fx.heads.iter().cloned().collect(),
        ..VerifyOptions::default()
    };
    let report = verify_with(&fx.store, &fx.key.public_key(), &options)
        .await
        .unwrap();
    assert_eq!(found(&report), vec![(ProblemKind::DigestMissing, digest)]);
}

#[tokio::test]
async fn replaced_head_digest_is_detected_online() {
    let fx = fixture().await;
    let digest = digest_path("ws-b", 3);
    // Re-sign a different sealing 3 with the same key (as an insider with the key could).
    std::fs::remove_file(fx.fs(&digest)).unwrap();
    let head2 = ChainHead {
        sequence: 2,
        digest_sha256: hex_sha256(&std::fs::read(fx.fs(&digest_path("ws-b", 2))).unwrap()),
    };
    let sealed_at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    fx.store
        .write_sealing(Some(&head2), "ws-b", sealed_at, &[], &[], &fx.key)
        .await
        .unwrap();
    let options = VerifyOptions {
        expected_heads: fx.heads.iter().cloned().collect(),
        ..VerifyOptions::default()
    };
    let report = verify_with(&fx.store, &fx.key.public_key(), &options)
        .await
        .unwrap();
    assert!(
        has(&report, ProblemKind::HeadMismatch, &digest),
        "{:#?}",
        report.problems
    );
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn swapped_digests_are_misplaced() {
    let fx = fixture().await;
    let (d1, d2) = (digest_path("ws-a", 1), digest_path("ws-a", 2));
    let (b1, b2) = (
        std::fs::read(fx.fs(&d1)).unwrap(),
        std::fs::read(fx.fs(&d2)).unwrap(),
    );
    std::fs::write(fx.fs(&d1), b2).unwrap();
    std::fs::write(fx.fs(&d2), b1).unwrap();
    let report = fx.verify().await;
    assert!(
        has(&report, ProblemKind::DigestMisplaced, &d1),
        "{:#?}",
        report.problems
    );
    assert!(has(&report, ProblemKind::DigestMisplaced, &d2));
    assert!(has(&report, ProblemKind::ChainBroken, &d1));
}

#[tokio::test]
async fn file_listed_twice_is_named() {
    let fx = fixture().await;
    let (ws, head) = &fx.heads[0];
    let again = fx.file(ws, 0).clone();
    let sealed_at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    fx.store
        .write_sealing(
            Some(head),
            ws,
            sealed_at,
            std::slice::from_ref(&again),
            &[],
            &fx.key,
        )
        .await
        .unwrap();
    let report = fx.verify().await;
    assert_eq!(found(&report), vec![(ProblemKind::FileListedTwice, again.path)]);
}

#[tokio::test]
async fn a_different_key_rejects_every_digest() {
    let fx = fixture().await;
    let other = SigningKeyFile::generate().unwrap();
    let report = verify(&fx.store, &other.public_key(), None).await.unwrap();
    assert_eq!(
        report.problems_of(ProblemKind::DigestEdited).count(),
        WORKSPACES.len() * SEALINGS
    );
    assert!(report
        .problems
        .iter()
        .all(|p| p.kind == ProblemKind::DigestEdited));
}

#[tokio::test]
async fn erasure_keeps_the_chain_valid_until_the_file_is_touched() {
    let fx = fixture().await;
    let target = fx.file("ws-b", 5).clone();
    let original = String::from_utf8(target.bytes.to_vec()).unwrap();
    let erased_record = "ws-b-1-2-1";
    assert!(original.contains("secret prompt ws-b 1 2 1"));
    let erased = erase_content(
        &target.bytes,
        |r| r["event_id"] == erased_record || r["event_id"] == "ws-b-1-2-2",
        "2025-04-01T00:00:00Z",
        "gdpr-request-17",
    )
    .unwrap();
    // Record 1 has prompt, response and tool input; record 2 has no response (null).
    assert_eq!((erased.records_erased, erased.fields_erased), (2, 5));
    fx.store
        .put(&target.path, erased.bytes.clone().into())
        .await
        .unwrap();

    let on_disk = std::fs::read_to_string(fx.fs(&target.path)).unwrap();
    assert!(!on_disk.contains("secret prompt ws-b 1 2 1"));
    assert!(!on_disk.contains("secret prompt ws-b 1 2 2"));
    assert!(!on_disk.contains("answer 1\""));
    assert!(
        on_disk.contains("secret prompt ws-b 1 2 3"),
        "unselected records are kept"
    );
    assert!(on_disk.contains("gdpr-request-17"));

    let report = fx.verify().await;
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.erased_fields, 5);
    assert_eq!(
        report.records_checked,
        (WORKSPACES.len() * SEALINGS * FILES_PER_SEALING * RECORDS_PER_FILE) as u64
    );

    // Tampering with the erased file is still detected.
    flip_byte(&fx.fs(&target.path), b"secret prompt ws-b 1 2 3");
    let report = fx.verify().await;
    assert_eq!(
        found(&report),
        vec![(ProblemKind::FileChanged, target.path.clone())]
    );

    // Even a forged tombstone with a wrong hash fails.
    fx.store
        .put(&target.path, erased.bytes.clone().into())
        .await
        .unwrap();
    assert!(fx.verify().await.ok);
    let forged = String::from_utf8(erased.bytes).unwrap();
    let at = forged.find("\"sha256\":\"").unwrap() + 10;
    let mut forged = forged.into_bytes();
    forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
    fx.store.put(&target.path, forged.into()).await.unwrap();
    let report = fx.verify().await;
    assert_eq!(found(&report), vec![(ProblemKind::FileChanged, target.path)]);
}

fn head_of<'a>(fx: &'a Fixture, ws: &str) -> &'a ChainHead {
    &fx.heads.iter().find(|(w, _)| w == ws).unwrap().1
}

fn expired_entry(f: &SealedFile) -> ExpiredEntry {
    ExpiredEntry {
        id: f.id.clone(),
        path: f.path.clone(),
        sha256: f.sha256.clone(),
        reason: "retention: CODEX_LOG metadata 365 days".into(),
    }
}

#[tokio::test]
async fn a_file_expired_by_a_later_digest_may_be_absent_but_only_that_one() {
    let fx = fixture().await;
    let expired = fx.file("ws-a", 0).clone();
    let deleted = fx.file("ws-a", 1).clone();
    fx.store
        .write_sealing(
            Some(head_of(&fx, "ws-a")),
            "ws-a",
            Utc::now(),
            &[],
            &[expired_entry(&expired)],
            &fx.key,
        )
        .await
        .unwrap();
    std::fs::remove_file(fx.fs(&expired.path)).unwrap();
    let report = fx.verify().await;
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.files_expired, 1);

    // Deleting a file no digest expired is still named.
    std::fs::remove_file(fx.fs(&deleted.path)).unwrap();
    let report = fx.verify().await;
    assert!(!report.ok);
    let removed: Vec<&str> = report
        .problems_of(ProblemKind::FileRemoved)
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(removed, [deleted.path.as_str()]);
}

#[tokio::test]
async fn an_expiry_needs_a_valid_signature() {
    let fx = fixture().await;
    let target = fx.file("ws-b", 0).clone();
    // A forger appends an expiry for the file to the newest digest and deletes the file.
    let head = head_of(&fx, "ws-b");
    let path = digest_path("ws-b", head.sequence);
    let mut digest: Value = serde_json::from_slice(&std::fs::read(fx.fs(&path)).unwrap()).unwrap();
    digest["expired"] = json!([expired_entry(&target)]);
    std::fs::write(fx.fs(&path), serde_json::to_vec(&digest).unwrap()).unwrap();
    std::fs::remove_file(fx.fs(&target.path)).unwrap();
    let report = fx.verify().await;
    assert!(report
        .problems_of(ProblemKind::DigestEdited)
        .any(|p| p.path == path));
    assert!(report
        .problems_of(ProblemKind::FileRemoved)
        .any(|p| p.path == target.path));
    assert_eq!(report.files_expired, 0);
}

#[tokio::test]
async fn an_export_range_excuses_only_files_outside_it() {
    let fx = fixture().await;
    // Sealings end at 1_740_000_000 + k days; export only the last one.
    let last = 1_740_000_000 + (SEALINGS as i64 - 1) * 86_400;
    let outside = fx.file("ws-a", 0).clone();
    std::fs::remove_file(fx.fs(&outside.path)).unwrap();
    let options = VerifyOptions {
        exported_end_times: Some((last, last)),
        ..VerifyOptions::default()
    };
    let report = verify_with(&fx.store, &fx.key.public_key(), &options)
        .await
        .unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.files_not_exported, 1);

    let inside = fx.file("ws-a", FILES_PER_SEALING * (SEALINGS - 1)).clone();
    std::fs::remove_file(fx.fs(&inside.path)).unwrap();
    let report = verify_with(&fx.store, &fx.key.public_key(), &options)
        .await
        .unwrap();
    let removed: Vec<&str> = report
        .problems_of(ProblemKind::FileRemoved)
        .map(|p| p.path.as_str())
        .collect();
    assert_eq!(removed, [inside.path.as_str()]);
}
