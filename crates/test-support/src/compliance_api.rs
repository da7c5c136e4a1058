//! A client of the Compliance API (`GET /v1/compliance/workspaces/{ws}/logs[/{file_id}]`) for
//! tests: every sealed file of a log type, downloaded and checked against its listing.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::Value;

/// A client of the Compliance API for one workspace.
pub struct ComplianceApi {
    http: reqwest::Client,
    base_url: String,
    key: String,
    workspace_id: String,
}

/// Every sealed file of one log type, concatenated in listing order.
#[derive(Debug, Default)]
pub struct Log {
    /// The files' bytes, as downloaded.
    pub bytes: Vec<u8>,
    /// One JSON record per line.
    pub records: Vec<Value>,
}

impl Log {
    pub fn of_type(&self, event_type: &str) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["event_type"] == event_type)
            .collect()
    }

    pub fn event_types(&self) -> BTreeSet<String> {
        let types = self.records.iter().map(|r| r["event_type"].as_str());
        types.map(|t| t.unwrap_or("(none)").to_owned()).collect()
    }
}

impl ComplianceApi {
    pub fn new(base_url: String, key: String, workspace_id: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        Self {
            http,
            base_url,
            key,
            workspace_id,
        }
    }

    async fn get(&self, path_and_query: &str) -> Result<reqwest::Response> {
        let url = format!("{}{path_and_query}", self.base_url);
        self.http
            .get(&url)
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("GET {url}"))
    }

    /// `GET .../logs?event_type=T` (one page: these tests seal a handful of files), then each
    /// file with `GET .../logs/{id}`, checked against what the listing said about it.
    pub async fn log(&self, event_type: &str) -> Result<Log> {
        let list_path = format!(
            "/v1/compliance/workspaces/{}/logs?event_type={event_type}&limit=1000",
            self.workspace_id
        );
        let resp = self.get(&list_path).await?;
        let status = resp.status();
        let body = resp.text().await.context("reading the file list")?;
        ensure!(status.as_u16() == 200, "GET {list_path}: HTTP {status}: {body}");
        let list: Value = serde_json::from_str(&body).with_context(|| format!("file list {body}"))?;
        ensure!(list["has_more"] == false, "more than one page of files: {list}");
        let files = list["data"]
            .as_array()
            .with_context(|| format!("no `data` array in {list}"))?;
        let mut log = Log::default();
        for file in files {
            ensure!(
                file["event_type"] == event_type,
                "listed for {event_type}: {file}"
            );
            let id = file["id"]
                .as_str()
                .with_context(|| format!("file without id: {file}"))?;
            let path = format!("/v1/compliance/workspaces/{}/logs/{id}", self.workspace_id);
            let resp = self.get(&path).await?;
            let status = resp.status();
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let bytes = resp.bytes().await.context("reading a log file")?;
            ensure!(
                status.as_u16() == 200,
                "GET {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            ensure!(
                content_type.starts_with("application/x-ndjson"),
                "GET {path}: content-type {content_type:?}"
            );
            ensure!(
                file["file_size"] == bytes.len() as u64,
                "GET {path}: {} bytes, listed as {file}",
                bytes.len()
            );
            let text = std::str::from_utf8(&bytes).with_context(|| format!("{path} is not UTF-8"))?;
            let mut count = 0u64;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let record: Value =
                    serde_json::from_str(line).with_context(|| format!("{path}: not a JSON line: {line}"))?;
                log.records.push(record);
                count += 1;
            }
            ensure!(
                file["record_count"] == count,
                "{path}: {count} records, listed as {file}"
            );
            log.bytes.extend_from_slice(&bytes);
        }
        Ok(log)
    }
}
