//! Deletion requests, legal holds and exports against a real `steward serve` (SQLite) and the
//! real `steward` CLI: `DELETE .../codex_tasks/{id}` needs `compliance.delete`, erases only that
//! thread's content, keeps the chain verifiable, is refused under a legal hold and is audited;
//! `steward compliance export` produces a folder that verifies offline and names a file removed
//! from it.

mod common;
mod compliance;

use compliance::collector::{Collector, Cursor};
use compliance::harness::{str_field, verify_folder, Env, NO_AUTO_SEAL, USER};
use compliance::otlp::ingest_prompts;
use serde_json::Value;

async fn codex_records(env: &Env) -> Vec<Value> {
    let mut cur = Cursor::default();
    Collector::new(env, "CODEX_LOG", 100).drain(&mut cur).await;
    cur.records
}

fn thread_of(records: &[Value], prompt: &str) -> String {
    let r = records
        .iter()
        .find(|r| r["event_details"]["prompt_text"] == prompt)
        .unwrap_or_else(|| panic!("no record with prompt {prompt:?}"));
    str_field(&r["event_details"], "session_id")
}

fn task_path(env: &Env, task: &str) -> String {
    format!("/v1/compliance/workspaces/{}/codex_tasks/{task}", env.ws)
}

#[tokio::test]
async fn deleting_a_codex_task_erases_its_content_needs_the_scope_and_respects_holds() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let prompts = ingest_prompts(&env, "delete", 2).await;
    env.seal();
    let records = codex_records(&env).await;
    let (gone, held) = (thread_of(&records, &prompts[0]), thread_of(&records, &prompts[1]));

    // Scopes: none, read only, then delete.
    let unauth = env.delete(&task_path(&env, &gone), None).await;
    assert_eq!(unauth.status, 401, "{}", unauth.text());
    let read_only = env.delete(&task_path(&env, &gone), Some(&env.key)).await;
    assert_eq!(read_only.status, 403, "{}", read_only.text());
    assert!(
        read_only.text().contains("compliance.delete"),
        "{}",
        read_only.text()
    );
    let deleter = env.create_key("compliance.delete");
    let ok = env.delete(&task_path(&env, &gone), Some(&deleter)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let body = ok.json();
    assert_eq!(body["object"], "compliance.workspace.codex_task");
    assert_eq!(body["id"], gone.as_str());
    assert_eq!(body["deleted"], true);
    assert_eq!(body["steward_erasure"]["fields_erased"], 1, "{body}");

    // The collector (which checks every listed sha256 and size) sees a tombstone for one prompt.
    let after = codex_records(&env).await;
    assert_eq!(after.len(), records.len(), "records stay, only content goes");
    let text = serde_json::to_string(&after).unwrap();
    assert!(!text.contains(&prompts[0]), "deleted prompt still served");
    assert!(text.contains(&prompts[1]));
    let erased = after
        .iter()
        .find(|r| r["event_details"]["session_id"] == gone.as_str())
        .unwrap();
    assert!(
        erased["event_details"]["prompt_text"]["$erased"]["sha256"].is_string(),
        "{erased}"
    );
    let report = env.cli(&["compliance", "verify", "--json"]).ok_json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["erased_fields"], 1);

    let unknown = env
        .delete(&task_path(&env, "no-such-thread"), Some(&deleter))
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text());

    // A hold on the user refuses deletion, with a 409 naming the hold; releasing allows it.
    let hold = env.cli_json(&[
        "compliance",
        "hold",
        "add",
        "--user",
        USER,
        "--reason",
        "matter 42",
    ]);
    let hold_id = str_field(&hold, "id");
    let refused = env.delete(&task_path(&env, &held), Some(&deleter)).await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert!(refused.text().contains("legal hold"), "{}", refused.text());
    let listed = env.cli_json(&["compliance", "hold", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    env.cli_json(&["compliance", "hold", "release", &hold_id]);
    let ok = env.delete(&task_path(&env, &held), Some(&deleter)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    // Every step is in the audit log, the deletion naming the key that asked.
    env.seal();
    let mut cur = Cursor::default();
    Collector::new(&env, "AUDIT_LOG", 100).drain(&mut cur).await;
    let actions: Vec<&str> = cur.records.iter().filter_map(|r| r["action"].as_str()).collect();
    for expected in [
        "compliance.content_deleted",
        "compliance.legal_hold_placed",
        "compliance.legal_hold_released",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let deletion = cur
        .records
        .iter()
        .find(|r| r["action"] == "compliance.content_deleted")
        .unwrap();
    assert_eq!(deletion["actor"]["type"], "API_KEY", "{deletion}");
    assert_eq!(deletion["action_data"]["new"]["id"], gone.as_str(), "{deletion}");
}

#[tokio::test]
async fn an_export_verifies_offline_and_names_a_removed_file() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    ingest_prompts(&env, "export", 3).await;
    env.seal();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("audit");
    let dest_s = dest.display().to_string();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let manifest = env.cli_json(&["compliance", "export", "--since", &today, "--to", &dest_s]);
    assert!(manifest["files"].as_u64().unwrap() >= 1, "{manifest}");
    assert!(dest.join("steward-export.json").is_file());

    let report = verify_folder(&dest, None).ok_json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["files_checked"], manifest["files"]);

    // Into an existing, non-empty folder: refused, naming the flag.
    let again = env.cli(&["compliance", "export", "--since", &today, "--to", &dest_s]);
    assert_eq!(again.code, Some(1), "{again}");
    assert!(again.stderr.contains("--to"), "{again}");
    // A bad date names the flag.
    let bad = env.cli(&["compliance", "export", "--since", "yesterday", "--to", "x"]);
    assert!(bad.stderr.contains("--since"), "{bad}");

    let victim = compliance::folder::log_files(&dest, "CODEX_LOG")
        .into_iter()
        .next()
        .expect("an exported CODEX_LOG file");
    std::fs::remove_file(compliance::folder::abs(&dest, &victim)).unwrap();
    let failed = verify_folder(&dest, None);
    assert_eq!(failed.code, Some(1), "{failed}");
    let report = failed.json();
    let removed: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "file_removed")
        .filter_map(|p| p["path"].as_str())
        .collect();
    assert_eq!(removed, [victim.as_str()], "{report}");
}
