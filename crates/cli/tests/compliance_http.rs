//! The compliance log against a real `steward serve` (SQLite) and the real `steward` CLI:
//! a collector written as OpenAI documents the Compliance API gets every record exactly once,
//! `steward compliance verify` names every tampered object, keys are scoped to their
//! workspace, bad parameters are 400s naming the parameter, the server seals on its own, and
//! real Codex 0.169.0 captures become records with their turn ids.

mod common;
mod compliance;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use compliance::collector::{download_bytes, split_jsonl, Collector, Cursor};
use compliance::folder::{self, abs, copy_store};
use compliance::harness::{run_steward, str_field, verify_folder, CliRun, Env, NO_AUTO_SEAL};
use compliance::otlp::{ingest_prompts, post_fixture, prompt_batch, prompts_in_logs, turn_ids_in_traces};
use compliance::sha256::sha256_hex;
use serde_json::Value;

const MAX_3_PER_FILE: (&str, &str) = ("STEWARD_COMPLIANCE__MAX_RECORDS_PER_FILE", "3");

/// Record counts of the CODEX_LOG files one `steward compliance seal` reports.
fn codex_file_counts(outcome: &Value) -> Vec<u64> {
    outcome["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["event_type"] == "CODEX_LOG")
        .map(|f| f["record_count"].as_u64().expect("record_count"))
        .collect()
}

/// Every expected prompt appears in exactly one record, nothing else appears, no `event_id`
/// repeats, and each record has the CODEX_LOG envelope of this workspace.
fn assert_exactly_once(env: &Env, records: &[Value], expected: &[String]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for r in records {
        let id = str_field(r, "event_id");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "event_id is a UUID: {r}");
        assert!(ids.insert(id.clone()), "event_id {id} delivered twice");
        assert_eq!(r["type"], "CODEX_LOG", "{r}");
        assert_eq!(r["workspace_id"], env.ws.as_str(), "{r}");
        assert_eq!(r["principal"]["id"], env.ws.as_str(), "{r}");
        assert_eq!(r["event_type"], "USER_PROMPT_SUBMITTED", "{r}");
        assert_eq!(r["event_details"]["detail_type"], "USER_PROMPT_SUBMITTED", "{r}");
        assert_eq!(r["actor"]["user_email"], compliance::harness::USER, "{r}");
        let ts = str_field(r, "timestamp");
        assert!(
            ts.len() == 27 && ts.ends_with('Z'),
            "timestamp with microseconds: {ts}"
        );
        let prompt = r["event_details"]["prompt_text"].as_str().expect("prompt_text");
        *counts.entry(prompt).or_default() += 1;
    }
    for p in expected {
        assert_eq!(
            counts.get(p.as_str()).copied(),
            Some(1),
            "prompt {p:?} delivered once"
        );
    }
    assert_eq!(
        records.len(),
        expected.len(),
        "no record beyond the prompts ingested"
    );
}

/// §2.2 and §2.3: page with `after=<last_end_time>` and small limits, de-duplicate by id,
/// download and check each file; files sealed while paging are collected too.
#[tokio::test(flavor = "multi_thread")]
async fn a_collector_gets_every_record_exactly_once_also_files_sealed_while_paging() {
    let env = Env::start(&[NO_AUTO_SEAL, MAX_3_PER_FILE]).await;
    let mut expected = Vec::new();
    for round in 0..4 {
        let (prompts, body) = prompt_batch(&format!("round {round}"), 7, common::now_ms());
        env.ingest("/v1/logs", "application/x-protobuf", body.clone())
            .await;
        expected.extend(prompts);
        let outcome = env.seal();
        assert_eq!(codex_file_counts(&outcome), vec![3, 3, 1], "{outcome}");
        assert_eq!(outcome["digests"].as_array().map(Vec::len), Some(1), "{outcome}");
        // The exporter retries the acknowledged batch: duplicates, so nothing new is sealed.
        env.ingest("/v1/logs", "application/x-protobuf", body).await;
        let again = env.seal();
        assert_eq!(
            (again["records"].clone(), again["digests"].clone()),
            (0.into(), serde_json::json!([])),
            "{again}"
        );
    }

    let by_2 = Collector::new(&env, "CODEX_LOG", 2);
    let mut cur = Cursor::default();
    assert!(
        by_2.page(&mut cur).await,
        "12 files, limit 2: the first page has more"
    );
    assert_eq!(cur.file_ids.len(), 2);
    // Sealed while the collector is between pages.
    expected.extend(ingest_prompts(&env, "while paging", 5).await);
    assert_eq!(codex_file_counts(&env.seal()), vec![3, 2]);
    by_2.drain(&mut cur).await;
    assert_exactly_once(&env, &cur.records, &expected);
    assert!(
        cur.repeats > 0,
        "after is inclusive: the boundary file is listed again"
    );
    assert_eq!(cur.file_ids.len(), 14);

    // The collector runs again later from its checkpoint (`after`).
    expected.extend(ingest_prompts(&env, "next run", 4).await);
    assert_eq!(codex_file_counts(&env.seal()), vec![3, 1]);
    let repeats_before = cur.repeats;
    by_2.drain(&mut cur).await;
    assert_eq!(cur.file_ids.len(), 16, "only the two new files are downloaded");
    assert!(
        cur.repeats > repeats_before,
        "the checkpoint file is listed again"
    );
    assert_exactly_once(&env, &cur.records, &expected);

    // Nothing new: the last page is the boundary file alone.
    assert!(!by_2.page(&mut cur).await);
    assert_eq!(cur.file_ids.len(), 16);

    // Another collector with limit 5, from the start, gets the same files and records.
    let by_5 = Collector::new(&env, "CODEX_LOG", 5);
    let mut cur5 = Cursor::default();
    by_5.drain(&mut cur5).await;
    assert_exactly_once(&env, &cur5.records, &expected);
    assert_eq!(cur5.file_ids, cur.file_ids, "same files in the same order");

    let cli = env.cli_json(&["compliance", "files", "--event-type", "CODEX_LOG"]);
    let cli_ids: Vec<String> = cli["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|f| str_field(f, "id"))
        .collect();
    assert_eq!(cli_ids, cur.file_ids, "the CLI lists the same files");
}

/// A tampered copy of `src`: `steward compliance verify DIR --json` must exit 1 and report
/// exactly `expected` (kind, path) problems, in any order.
fn assert_tampering_named(src: &Path, what: &str, tamper: impl FnOnce(&Path) -> Vec<(&'static str, String)>) {
    let (_tmp, root) = copy_store(src);
    let expected: BTreeSet<(String, String)> = tamper(&root)
        .into_iter()
        .map(|(k, p)| (k.to_owned(), p))
        .collect();
    let run = verify_folder(&root, None);
    let found = problems(&run);
    assert_eq!(run.code, Some(1), "{what}: {run}");
    assert_eq!(run.json()["ok"], false, "{what}: {run}");
    assert_eq!(found, expected, "{what}: {run}");
}

/// `(kind, path)` of every problem in a verify report.
fn problems(run: &CliRun) -> BTreeSet<(String, String)> {
    run.json()["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems array: {run}"))
        .iter()
        .map(|p| (str_field(p, "kind"), str_field(p, "path")))
        .collect()
}

/// Seals three times (three digests, several CODEX_LOG files each) and returns the env.
async fn sealed_store() -> Env {
    let env = Env::start(&[NO_AUTO_SEAL, MAX_3_PER_FILE]).await;
    for (label, n) in [("first", 5), ("second", 7), ("third", 2)] {
        ingest_prompts(&env, label, n).await;
        assert!(!codex_file_counts(&env.seal()).is_empty());
    }
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_an_untouched_store_and_names_every_tampered_object() {
    let env = sealed_store().await;
    let live = env.cli(&["compliance", "verify", "--json"]);
    assert_eq!(live.code, Some(0), "{live}");
    let report = live.json();
    assert_eq!(report["ok"], true, "{live}");
    assert_eq!(report["digests_checked"], 3, "{live}");
    assert_eq!(
        report["records_checked"].as_u64().map(|n| n >= 14),
        Some(true),
        "{live}"
    );

    let src = env.compliance_dir();
    let (_tmp, untouched) = copy_store(&src);
    let run = verify_folder(&untouched, None);
    assert_eq!(run.code, Some(0), "untouched copy: {run}");
    assert_eq!(run.json()["ok"], true, "{run}");
    assert_eq!(run.json()["digests_checked"], 3, "{run}");

    // The key the server publishes, given explicitly, verifies the copy too.
    let published = env.get("/v1/compliance/public_key", None).await.json();
    let hex = str_field(&published, "public_key_hex");
    let run = verify_folder(&untouched, Some(&hex));
    assert_eq!(
        (run.code, run.json()["ok"].clone()),
        (Some(0), Value::Bool(true)),
        "{run}"
    );
    // Another server's key does not: every digest fails its signature.
    let other = tempfile::tempdir().expect("other data dir");
    let other_dir = other.path().display().to_string();
    run_steward(&["compliance", "seal", "--data-dir", &other_dir, "--json"], &[]).ok_json();
    let other_key = other.path().join("compliance/steward-public-key.json");
    let run = verify_folder(&untouched, Some(&other_key.display().to_string()));
    assert_eq!(run.code, Some(1), "{run}");
    let kinds: BTreeSet<String> = problems(&run).into_iter().map(|(k, _)| k).collect();
    assert!(kinds.contains("digest_edited"), "{run}");

    let files = folder::log_files(&untouched, "CODEX_LOG");
    assert!(files.len() >= 4, "several CODEX_LOG files: {files:?}");
    let (first, second) = (files[0].clone(), files[1].clone());

    assert_tampering_named(&src, "one byte changed", |root| {
        folder::flip_one_byte(&abs(root, &first));
        vec![("file_changed", first.clone())]
    });
    assert_tampering_named(&src, "file deleted", |root| {
        std::fs::remove_file(abs(root, &first)).expect("delete");
        vec![("file_removed", first.clone())]
    });
    let extra = first.replace("/eclf_", "/eclf_0extra");
    assert_tampering_named(&src, "file inserted", |root| {
        std::fs::copy(abs(root, &first), abs(root, &extra)).expect("copy");
        vec![("file_inserted", extra.clone())]
    });
    assert_tampering_named(&src, "files swapped", |root| {
        folder::swap(&abs(root, &first), &abs(root, &second));
        vec![("file_swapped", first.clone()), ("file_swapped", second.clone())]
    });
    // An edited digest (the middle one) is named; the next digest's link to it breaks too.
    let digests = folder::digests(&untouched);
    assert_eq!(digests.len(), 3, "{digests:?}");
    assert_tampering_named(&src, "digest edited", |root| {
        folder::replace_once(&abs(root, &digests[1]), "\"sealed_at\":\"2", "\"sealed_at\":\"1");
        vec![
            ("digest_edited", digests[1].clone()),
            ("chain_broken", digests[2].clone()),
        ]
    });
}

/// Offline, a deleted newest digest is indistinguishable from a shorter chain; online, the head
/// the database recorded names it.
#[tokio::test(flavor = "multi_thread")]
async fn verify_of_the_live_store_names_a_deleted_newest_digest() {
    let env = Env::start(&[NO_AUTO_SEAL, MAX_3_PER_FILE]).await;
    ingest_prompts(&env, "first", 2).await;
    env.seal();
    ingest_prompts(&env, "second", 2).await;
    let last = env.seal();
    let newest = last["digests"][0].as_u64().expect("digest sequence");
    let ok = env.cli(&["compliance", "verify", "--json"]);
    assert_eq!(ok.code, Some(0), "{ok}");

    let rel = format!("{}/digests/{newest:012}.json", env.ws);
    std::fs::remove_file(env.compliance_dir().join(&rel)).expect("delete the newest digest");
    let run = env.cli(&["compliance", "verify", "--json"]);
    assert_eq!(run.code, Some(1), "{run}");
    let found = problems(&run);
    assert!(
        found.contains(&("digest_missing".to_owned(), rel.clone())),
        "{run}"
    );
    // The files only that digest listed are now unlisted; nothing else is reported.
    let sealed_ids: Vec<String> = last["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| str_field(f, "id"))
        .collect();
    for (kind, path) in &found {
        let ok = path == &rel
            || (kind == "file_inserted" && sealed_ids.iter().any(|id| path.contains(id.as_str())));
        assert!(ok, "unexpected problem {kind} {path}: {run}");
    }

    // A listed file gone from the object store: 410, as OpenAI answers for expired files.
    let gone = &last["files"][0];
    let listed = env.cli_json(&["compliance", "files"]);
    let entry = listed["data"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == gone["id"]))
        .cloned()
        .unwrap_or_else(|| panic!("{gone} is listed: {listed}"));
    std::fs::remove_file(env.compliance_dir().join(str_field(&entry, "path"))).expect("delete file");
    let path = format!(
        "/v1/compliance/workspaces/{}/logs/{}",
        env.ws,
        str_field(gone, "id")
    );
    let reply = env.get(&path, Some(&env.key)).await;
    assert_eq!(reply.status, 410, "{}", reply.text());
    assert!(reply.json()["detail"].is_string(), "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_need_the_compliance_scope_and_their_own_workspace() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    ingest_prompts(&env, "scoped", 1).await;
    let file_id = str_field(&env.seal()["files"][0], "id");
    let list = format!("/v1/compliance/workspaces/{}/logs?event_type=CODEX_LOG", env.ws);
    let download = format!("/v1/compliance/workspaces/{}/logs/{file_id}", env.ws);

    // The key works on its own workspace (so the refusals below are about the credential).
    assert_eq!(env.get(&list, Some(&env.key)).await.status, 200);
    assert_eq!(env.get(&download, Some(&env.key)).await.status, 200);

    let analytics = env.create_key("codex.enterprise.analytics.read");
    let other_ws = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(&str, String, Option<&str>, u16, &str)> = vec![
        ("no key, list", list.clone(), None, 401, "bearer"),
        ("no key, download", download.clone(), None, 401, "bearer"),
        (
            "unknown key",
            list.clone(),
            Some("stw_ak_not-a-real-key"),
            401,
            "invalid",
        ),
        (
            "analytics-only key, list",
            list.clone(),
            Some(analytics.as_str()),
            403,
            "compliance.read",
        ),
        (
            "analytics-only key, download",
            download.clone(),
            Some(analytics.as_str()),
            403,
            "compliance.read",
        ),
        // An ingest token authenticates (it is a credential) but has no compliance scope.
        (
            "ingest token as API key",
            list.clone(),
            Some(env.ingest_token.as_str()),
            403,
            "compliance.read",
        ),
        (
            "key of another workspace, list",
            format!("/v1/compliance/workspaces/{other_ws}/logs?event_type=CODEX_LOG"),
            Some(env.key.as_str()),
            403,
            "another workspace",
        ),
        (
            "key of another workspace, download",
            format!("/v1/compliance/workspaces/{other_ws}/logs/{file_id}"),
            Some(env.key.as_str()),
            403,
            "another workspace",
        ),
    ];
    for (what, path, bearer, status, says) in cases {
        let reply = env.get(&path, bearer).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        let body = reply.json();
        let detail = body
            .get("detail")
            .unwrap_or_else(|| panic!("{what}: no detail in {body}"));
        assert!(
            detail.to_string().contains(says),
            "{what}: {body} should mention {says:?}"
        );
        assert!(
            !reply.text().contains("USER_PROMPT_SUBMITTED"),
            "{what}: leaked records"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_are_400_naming_the_parameter() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    type Query<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(&str, Query, &str)> = vec![
        (
            "malformed after",
            vec![("event_type", "CODEX_LOG"), ("after", "yesterday")],
            "after",
        ),
        (
            "after without time zone",
            vec![("event_type", "CODEX_LOG"), ("after", "2026-03-01T00:00:00")],
            "after",
        ),
        ("unknown event_type", vec![("event_type", "CODEX")], "event_type"),
        (
            "missing event_type",
            vec![("after", "2026-03-01T00:00:00Z")],
            "event_type",
        ),
        (
            "limit 0",
            vec![("event_type", "CODEX_LOG"), ("limit", "0")],
            "limit",
        ),
        (
            "limit 1001",
            vec![("event_type", "CODEX_LOG"), ("limit", "1001")],
            "limit",
        ),
        (
            "limit abc",
            vec![("event_type", "CODEX_LOG"), ("limit", "abc")],
            "limit",
        ),
    ];
    for (what, query, param) in cases {
        let reply = env.list(&query, Some(&env.key)).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text());
        let detail = reply.json()["detail"].as_str().map(str::to_owned);
        let detail = detail.unwrap_or_else(|| panic!("{what}: detail is a string: {}", reply.text()));
        assert!(detail.contains(param), "{what}: {detail:?} names {param}");
    }
    let zone = env
        .list(
            &[("event_type", "CODEX_LOG"), ("after", "2026-03-01T00:00:00")],
            Some(&env.key),
        )
        .await;
    assert!(zone.text().contains("time zone"), "{}", zone.text());

    // Valid parameters on an empty log: an empty page with a null last_end_time (§2.2).
    let ok = env
        .list(
            &[
                ("event_type", "CODEX_LOG"),
                ("after", "2026-03-01T02:00:00+02:00"),
                ("limit", "1000"),
            ],
            Some(&env.key),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let page = ok.json();
    assert_eq!(page["data"], serde_json::json!([]), "{page}");
    assert_eq!(
        (page["has_more"].clone(), page["last_end_time"].clone()),
        (Value::Bool(false), Value::Null)
    );

    let path = format!("/v1/compliance/workspaces/{}/logs/eclf_doesnotexist", env.ws);
    let missing = env.get(&path, Some(&env.key)).await;
    assert_eq!(missing.status, 404, "{}", missing.text());
    let detail = missing.json()["detail"]
        .as_str()
        .map(str::to_owned)
        .expect("detail");
    assert!(detail.contains("eclf_doesnotexist"), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_key_endpoint_serves_the_key_of_the_store() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let reply = env.get("/v1/compliance/public_key", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let served = reply.json();
    assert_eq!(served["algorithm"], "Ed25519", "{served}");
    let doc_path = env.compliance_dir().join("steward-public-key.json");
    let text = std::fs::read_to_string(&doc_path).expect("steward-public-key.json in the store");
    let stored: Value = serde_json::from_str(&text).expect("key document is JSON");
    let fingerprint = str_field(&served, "fingerprint");
    assert!(!fingerprint.is_empty());
    assert_eq!(fingerprint, str_field(&stored, "fingerprint"));
    assert_eq!(
        served["public_key_hex"], stored["public_key_hex"],
        "{served} vs {stored}"
    );
    let hex = str_field(&served, "public_key_hex");
    assert!(
        hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{hex}"
    );
}

/// No CLI seal: with a 1 s interval and 1 s poll the server's own sealer lists the records.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_seals_pending_records_on_its_own() {
    let env = Env::start(&[
        ("STEWARD_COMPLIANCE__SEAL_INTERVAL_SECS", "1"),
        ("STEWARD_COMPLIANCE__SEALER_POLL_SECS", "1"),
    ])
    .await;
    let expected = ingest_prompts(&env, "auto", 3).await;
    let ingested = Instant::now();
    let collector = Collector::new(&env, "CODEX_LOG", 100);
    let mut cur = Cursor::default();
    let deadline = ingested + std::time::Duration::from_secs(20);
    while cur.records.len() < expected.len() {
        assert!(
            Instant::now() < deadline,
            "not sealed within 20 s: {:?}",
            cur.records
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        collector.drain(&mut cur).await;
    }
    assert_exactly_once(&env, &cur.records, &expected);
    eprintln!("sealed by the server {:?} after ingest", ingested.elapsed());
}

/// The schedule follows arrival, not the client's clock: a record whose `event.timestamp` is
/// ten minutes ahead (a skewed Codex host) is still sealed within the interval.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_from_a_client_clock_running_ahead_is_sealed_on_schedule() {
    let env = Env::start(&[
        ("STEWARD_COMPLIANCE__SEAL_INTERVAL_SECS", "1"),
        ("STEWARD_COMPLIANCE__SEALER_POLL_SECS", "1"),
    ])
    .await;
    // First let the server seal the audit records of the setup, so the skewed record is the
    // only pending one.
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while env
        .list(&[("event_type", "AUDIT_LOG")], Some(&env.key))
        .await
        .json()["data"]
        == serde_json::json!([])
    {
        assert!(
            Instant::now() < deadline,
            "the setup's audit records are never sealed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let ahead_ms = common::now_ms() + 10 * 60 * 1000;
    let (expected, body) = prompt_batch("clock ahead", 1, ahead_ms);
    env.ingest("/v1/logs", "application/x-protobuf", body).await;
    let ingested = Instant::now();
    let collector = Collector::new(&env, "CODEX_LOG", 100);
    let mut cur = Cursor::default();
    while cur.records.is_empty() {
        assert!(
            ingested.elapsed() < std::time::Duration::from_secs(20),
            "a record timestamped 10 min ahead is still unsealed 20 s after it arrived (interval 1 s)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        collector.drain(&mut cur).await;
    }
    assert_exactly_once(&env, &cur.records, &expected);
}

/// Administrative changes are AUDIT_LOG records naming credentials by id and prefix, never
/// by their secret.
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_records_admin_changes_without_secrets() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let analytics = env.create_key("codex.enterprise.analytics.read");
    env.seal();
    let audit = all_records(&env, "AUDIT_LOG").await;
    let actions: Vec<&str> = audit.iter().filter_map(|r| r["action"].as_str()).collect();
    for action in ["user.created", "ingest_token.created", "api_key.created"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "api_key.created").count(),
        2,
        "{actions:?}"
    );
    let text = serde_json::to_string(&audit).expect("serialise");
    for secret in [&env.ingest_token, &env.key, &analytics] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is in the audit log: {text}"
        );
    }
    // Each credential is named by its id and its public prefix, as `keys list` shows them.
    let mut creds = env
        .cli_json(&["keys", "list"])
        .as_array()
        .cloned()
        .unwrap_or_default();
    creds.extend(
        env.cli_json(&["tokens", "list"])
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    assert_eq!(creds.len(), 3, "{creds:?}");
    for c in &creds {
        let (id, prefix) = (str_field(c, "id"), str_field(c, "prefix"));
        let new = |r: &Value, k: &str, v: &str| r["action_data"]["new"][k] == v;
        let named = audit
            .iter()
            .any(|r| new(r, "id", &id) && new(r, "prefix", &prefix));
        assert!(named, "{id} ({prefix}) has an audit record: {text}");
    }
    assert!(audit
        .iter()
        .all(|r| r["type"] == "AUDIT_LOG" && r["workspace_id"] == env.ws.as_str()));
}

/// Fetches every record of one log type with a fresh collector.
async fn all_records(env: &Env, event_type: &'static str) -> Vec<Value> {
    let mut cur = Cursor::default();
    Collector::new(env, event_type, 100).drain(&mut cur).await;
    cur.records
}

fn by_session<'a>(records: &'a [Value], event_type: &str, session: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["event_type"] == event_type && r["event_details"]["session_id"] == session)
        .collect()
}

/// Real captures: prompts carry the `turn.id` of their `session_task.turn` span (joined by
/// trace id) and the prompt text, or null when Codex redacted it; the tool call is a
/// CODEX_SECURITY_LOG record with its arguments.
#[tokio::test(flavor = "multi_thread")]
async fn codex_captures_become_records_with_turn_ids_and_prompts() {
    // The redacted capture's traces were not recorded, so its records would wait for turn
    // spans that never come (`crates/core/tests/sealing.rs` covers the wait): no wait here.
    let env = Env::start(&[NO_AUTO_SEAL, ("STEWARD_COMPLIANCE__TURN_SPAN_WAIT_SECS", "0")]).await;
    post_fixture(&env, "/v1/traces", "traces.jsonl").await;
    post_fixture(&env, "/v1/logs", "logs-prompt-logged.jsonl").await;
    post_fixture(&env, "/v1/logs", "logs-prompt-redacted.jsonl").await;
    env.seal();
    let codex = all_records(&env, "CODEX_LOG").await;
    let security = all_records(&env, "CODEX_SECURITY_LOG").await;
    let ids: BTreeSet<&str> = codex
        .iter()
        .chain(&security)
        .filter_map(|r| r["event_id"].as_str())
        .collect();
    assert_eq!(ids.len(), codex.len() + security.len(), "event ids are unique");

    let turns = turn_ids_in_traces("traces.jsonl");
    let logged = prompts_in_logs("logs-prompt-logged.jsonl");
    assert_eq!(logged.len(), 3, "{logged:?}");
    let mut turn_ids_seen = BTreeSet::new();
    for (thread, prompt) in &logged {
        let records = by_session(&codex, "USER_PROMPT_SUBMITTED", thread);
        let mine: Vec<&&Value> = records
            .iter()
            .filter(|r| r["event_details"]["prompt_text"] == prompt.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "prompt {prompt:?} of {thread}: {records:?}");
        let d = &mine[0]["event_details"];
        assert_eq!(d["prompt_logged"], true, "{d}");
        let turn = d["turn_id"]
            .as_str()
            .unwrap_or_else(|| panic!("turn_id is set: {d}"));
        assert!(
            turns.contains(&(thread.clone(), turn.to_owned())),
            "{turn} is a turn of {thread} in traces"
        );
        assert!(
            turn_ids_seen.insert(turn.to_owned()),
            "each prompt has its own turn: {turn}"
        );
    }

    let redacted = prompts_in_logs("logs-prompt-redacted.jsonl");
    assert_eq!(redacted.len(), 3, "{redacted:?}");
    let threads: BTreeSet<&String> = redacted.iter().map(|(t, _)| t).collect();
    let mut redacted_records = 0;
    for thread in threads {
        for r in by_session(&codex, "USER_PROMPT_SUBMITTED", thread) {
            let d = &r["event_details"];
            assert_eq!(
                (d["prompt_text"].clone(), d["prompt_logged"].clone()),
                (Value::Null, Value::Bool(false)),
                "{r}"
            );
            redacted_records += 1;
        }
    }
    assert_eq!(redacted_records, 3);

    let first_thread = &logged[0].0;
    let tool_calls = by_session(&security, "TOOL_CALL_COMPLETED", first_thread);
    assert_eq!(tool_calls.len(), 1, "{security:?}");
    let d = &tool_calls[0]["event_details"];
    assert!(
        d["tool_input"].as_str().is_some_and(|s| s.contains("echo hello")),
        "{d}"
    );
    let turn = d["turn_id"]
        .as_str()
        .unwrap_or_else(|| panic!("tool call has a turn: {d}"));
    assert!(turns.contains(&(first_thread.clone(), turn.to_owned())), "{d}");
    assert_eq!(tool_calls[0]["type"], "CODEX_SECURITY_LOG");

    // One list call may ask for several event types (`event_type=A&event_type=B`, as XSOAR does).
    let both = env
        .list(
            &[("event_type", "CODEX_LOG"), ("event_type", "CODEX_SECURITY_LOG")],
            Some(&env.key),
        )
        .await
        .json();
    let types: BTreeSet<String> = both["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|f| str_field(f, "event_type"))
        .collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        vec!["CODEX_LOG", "CODEX_SECURITY_LOG"]
    );
    for f in both["data"].as_array().expect("data") {
        let bytes = download_bytes(&env, &env.key, &str_field(f, "id")).await;
        assert_eq!(sha256_hex(&bytes), str_field(f, "file_sha256"));
        assert!(
            split_jsonl(&bytes).iter().all(|r| r["type"] == f["event_type"]),
            "{f}"
        );
    }
}

/// The test's own SHA-256 against FIPS 180-4 vectors (else the download checks prove nothing).
#[test]
fn the_sha256_helper_matches_known_vectors() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(
        sha256_hex(&vec![b'a'; 1_000_000]),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}
