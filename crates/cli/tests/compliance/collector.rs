//! A log collector written the way OpenAI documents it (wire-formats §2.2–2.3): page with
//! `event_type`, `after=<last_end_time>` and `limit` while `has_more`; de-duplicate files by
//! `id` (`after` is inclusive, so the boundary file comes again); download each new file,
//! following a 307 without the bearer header; split the JSONL body into records.

use std::collections::BTreeSet;

use serde_json::Value;

use super::harness::{str_field, Env};
use super::sha256::sha256_hex;

pub const EPOCH: &str = "1970-01-01T00:00:00Z";

/// What a collector keeps between pages (and between runs: its checkpoint is `after`).
#[derive(Debug, Clone)]
pub struct Cursor {
    pub after: String,
    /// Ids of files downloaded so far, in the order listed.
    pub file_ids: Vec<String>,
    pub seen: BTreeSet<String>,
    /// Every record downloaded, in file order.
    pub records: Vec<Value>,
    /// Listed files whose id had been seen already (boundary files repeated by `after`).
    pub repeats: usize,
    pub pages: usize,
    /// `end_time` of the last file listed, to check the order across pages.
    last_end_time: Option<String>,
}

impl Default for Cursor {
    fn default() -> Self {
        Cursor {
            after: EPOCH.to_owned(),
            file_ids: Vec::new(),
            seen: BTreeSet::new(),
            records: Vec::new(),
            repeats: 0,
            pages: 0,
            last_end_time: None,
        }
    }
}

pub struct Collector<'a> {
    pub env: &'a Env,
    pub key: String,
    pub event_type: &'static str,
    pub limit: u32,
}

impl<'a> Collector<'a> {
    pub fn new(env: &'a Env, event_type: &'static str, limit: u32) -> Self {
        Collector {
            env,
            key: env.key.clone(),
            event_type,
            limit,
        }
    }

    /// Lists one page after `cur.after`, downloads its new files and moves the cursor.
    /// Returns `has_more`.
    pub async fn page(&self, cur: &mut Cursor) -> bool {
        let limit = self.limit.to_string();
        let query = [
            ("event_type", self.event_type),
            ("after", cur.after.as_str()),
            ("limit", limit.as_str()),
        ];
        let reply = self.env.list(&query, Some(&self.key)).await;
        assert_eq!(reply.status, 200, "list {query:?}: {}", reply.text());
        let page = reply.json();
        let files = page["data"].as_array().expect("data is an array").clone();
        assert!(
            files.len() <= self.limit as usize,
            "page exceeds limit {}: {page}",
            self.limit
        );
        cur.pages += 1;
        for file in &files {
            self.check_order(cur, file);
            let id = str_field(file, "id");
            if !cur.seen.insert(id.clone()) {
                cur.repeats += 1;
                continue;
            }
            cur.file_ids.push(id);
            cur.records.extend(self.download(file).await);
        }
        match page["last_end_time"].as_str() {
            Some(t) => {
                let last = files.last().map(|f| str_field(f, "end_time"));
                assert_eq!(
                    last.as_deref(),
                    Some(t),
                    "last_end_time is the last file's end_time: {page}"
                );
                cur.after = t.to_owned();
            }
            None => assert!(
                files.is_empty(),
                "last_end_time is null only on an empty page: {page}"
            ),
        }
        page["has_more"].as_bool().expect("has_more is a boolean")
    }

    /// Pages until `has_more` is false.
    pub async fn drain(&self, cur: &mut Cursor) {
        let mut guard = 0;
        while self.page(cur).await {
            guard += 1;
            assert!(guard < 10_000, "has_more never became false");
        }
    }

    /// Files come in ascending `end_time` (the boundary file may repeat its time).
    fn check_order(&self, cur: &mut Cursor, file: &Value) {
        let end = str_field(file, "end_time");
        let t = parse_time(&end);
        if let Some(prev) = cur.last_end_time.as_deref() {
            assert!(parse_time(prev) <= t, "end_time goes back: {prev} then {end}");
        }
        assert!(
            t >= parse_time(&cur.after),
            "file {file} is before after={}",
            cur.after
        );
        assert_eq!(file["event_type"], self.event_type, "{file}");
        cur.last_end_time = Some(end);
    }

    /// Downloads a listed file, checks it against the listing and returns its records.
    pub async fn download(&self, file: &Value) -> Vec<Value> {
        let id = str_field(file, "id");
        let bytes = download_bytes(self.env, &self.key, &id).await;
        assert_eq!(
            Some(bytes.len() as u64),
            file["file_size"].as_u64(),
            "size of {file}"
        );
        assert_eq!(
            sha256_hex(&bytes),
            str_field(file, "file_sha256"),
            "sha256 of {file}"
        );
        let records = split_jsonl(&bytes);
        assert_eq!(
            Some(records.len() as u64),
            file["record_count"].as_u64(),
            "records in {file}"
        );
        records
    }
}

/// GET the file; a 307 is followed to its `Location` without the bearer header (as curl and
/// requests drop it on a cross-host redirect); else it must be 200 `application/x-ndjson`.
pub async fn download_bytes(env: &Env, key: &str, file_id: &str) -> Vec<u8> {
    let path = format!("/v1/compliance/workspaces/{}/logs/{file_id}", env.ws);
    let first = env.get(&path, Some(key)).await;
    match first.status {
        307 => {
            let location = first.header("location").expect("307 has a Location");
            let url = if location.starts_with('/') {
                format!("{}{location}", env.server.base_url())
            } else {
                location
            };
            let second = env.get_url(&url, None).await;
            assert_eq!(second.status, 200, "GET {url} (redirected): {}", second.text());
            second.body
        }
        200 => {
            let ct = first.header("content-type").unwrap_or_default();
            assert!(
                ct.starts_with("application/x-ndjson"),
                "content-type {ct:?} of {path}"
            );
            first.body
        }
        other => panic!("GET {path}: HTTP {other}: {}", first.text()),
    }
}

/// One JSON object per `\n`-terminated line.
pub fn split_jsonl(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("JSONL is UTF-8");
    text.split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line is not JSON ({e}): {l}")))
        .collect()
}

pub fn parse_time(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
}
