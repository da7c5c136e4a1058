//! Properties the whole chain rests on: canonical key order, commitments that survive erasure,
//! and signatures bound to one key.

use chrono::Utc;
use serde_json::{json, Map, Value};
use steward_compliance::chain::{
    build_digest, build_file, commitment, erase_content, is_canonical, open_digest, read_records, scan_file,
    to_canonical_vec, FileMeta, PublicKey, SigningKeyFile, CONTENT_FIELDS,
};

fn meta(file_id: &str) -> FileMeta {
    FileMeta {
        workspace_id: "ws-1".into(),
        event_type: "CODEX_LOG".into(),
        file_id: file_id.into(),
        end_time: 1_750_000_000,
    }
}

#[test]
fn sealed_lines_have_sorted_keys_whatever_the_insertion_order() {
    // Insert keys in reverse order; with `preserve_order` enabled anywhere in the workspace,
    // serde_json would keep this order.
    let mut details = Map::new();
    details.insert("tool_output".into(), json!("out"));
    details.insert("prompt_text".into(), json!("hi"));
    let mut record = Map::new();
    record.insert("workspace_id".into(), json!("ws-1"));
    record.insert("type".into(), json!("CODEX_LOG"));
    record.insert("event_details".into(), Value::Object(details));
    record.insert("event_id".into(), json!("e1"));
    let record = Value::Object(record);

    let file = build_file(meta("f"), std::slice::from_ref(&record)).unwrap();
    let line = std::str::from_utf8(&file.bytes).unwrap();
    assert_eq!(
        line,
        "{\"event_details\":{\"prompt_text\":\"hi\",\"tool_output\":\"out\"},\"event_id\":\"e1\",\"type\":\"CODEX_LOG\",\"workspace_id\":\"ws-1\"}\n"
    );
    // serde_json's own Map iterates sorted too, i.e. `preserve_order` is not enabled.
    let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["event_details", "event_id", "type", "workspace_id"]);
    assert_eq!(serde_json::to_vec(&record).unwrap(), to_canonical_vec(&record));
    assert!(is_canonical(line.trim_end().as_bytes()));
    assert_eq!(read_records(&file.bytes).unwrap(), vec![record]);
}

#[test]
fn commitment_and_root_are_unchanged_by_erasure() {
    let mut details = Map::new();
    for (i, field) in CONTENT_FIELDS.iter().enumerate() {
        details.insert((*field).into(), json!({"value": format!("content {i}"), "n": i}));
    }
    details.insert("model".into(), json!("gpt-5-codex"));
    let records = vec![
        json!({"event_id": "a", "timestamp": "2025-06-15T00:00:00Z", "event_details": details}),
        json!({"event_id": "b", "timestamp": "2025-06-15T00:00:01Z", "event_details": {"prompt_text": "keep"}}),
    ];
    let file = build_file(meta("f"), &records).unwrap();
    let erased = erase_content(
        &file.bytes,
        |r| r["event_id"] == "a",
        "2025-07-01T00:00:00Z",
        "request",
    )
    .unwrap();
    assert_eq!(erased.fields_erased, CONTENT_FIELDS.len() as u64);
    assert_ne!(erased.bytes, file.bytes.to_vec());

    let after = read_records(&erased.bytes).unwrap();
    assert_eq!(commitment(&after[0]), commitment(&records[0]));
    assert_eq!(after[1], records[1], "unselected record untouched");
    assert_eq!(
        after[0]["event_details"]["model"], "gpt-5-codex",
        "non-content fields kept"
    );
    let scan = scan_file(&erased.bytes).unwrap();
    assert_eq!(scan.records_root, file.records_root);
    assert_eq!(scan.erased_fields, CONTENT_FIELDS.len() as u64);
    assert!(!String::from_utf8(erased.bytes).unwrap().contains("content 0"));

    // A content change, on the other hand, changes the commitment.
    let mut changed = records[0].clone();
    changed["event_details"]["prompt_text"] = json!("other");
    assert_ne!(commitment(&changed), commitment(&records[0]));
    // And so does a change outside content.
    let mut changed = records[0].clone();
    changed["timestamp"] = json!("2025-06-15T00:00:09Z");
    assert_ne!(commitment(&changed), commitment(&records[0]));
}

#[test]
fn digest_signature_is_bound_to_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKeyFile::load_or_create(dir.path().join("k.pem")).unwrap();
    let file = build_file(meta("f"), &[json!({"event_id": "a"})]).unwrap();
    let (bytes, head) = build_digest(None, "ws-1", Utc::now(), &[file], &[], &key).unwrap();
    assert_eq!(head.sequence, 1);

    let public = PublicKey::from_document(&key.public_key_document()).unwrap();
    let digest = open_digest(&bytes, &public).unwrap();
    assert_eq!(digest.key_fingerprint, key.fingerprint());
    assert_eq!(digest.files.len(), 1);

    let other = SigningKeyFile::load_or_create(dir.path().join("other.pem")).unwrap();
    assert_ne!(other.fingerprint(), key.fingerprint());
    assert!(open_digest(&bytes, &other.public_key()).is_err());

    // The same key reloaded from disk still verifies.
    let reloaded = SigningKeyFile::load_or_create(dir.path().join("k.pem")).unwrap();
    assert!(open_digest(&bytes, &reloaded.public_key()).is_ok());

    // Tampering with the signature itself is rejected too.
    let mut value: Value = serde_json::from_slice(&bytes).unwrap();
    let sig = value["signature"].as_str().unwrap().to_owned();
    let flipped = match sig.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", &sig[1..]),
    };
    value["signature"] = json!(flipped);
    assert!(open_digest(&serde_json::to_vec(&value).unwrap(), &public).is_err());
}
