//! A small client of Steward's Codex Analytics usage endpoint, and a per-user summary of its
//! rows that tests can compare with what a client really did.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::responses_standin::Usage;

/// Token and activity figures in the usage API's vocabulary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub threads: u64,
    pub turns: u64,
    pub uncached_text_input_tokens: u64,
    pub cached_text_input_tokens: u64,
    pub text_output_tokens: u64,
    pub text_total_tokens: u64,
}

impl Figures {
    /// What the usage API should report for `threads`/`turns` that consumed `usage`.
    pub fn expected(threads: u64, turns: u64, usage: Usage) -> Self {
        Self {
            threads,
            turns,
            uncached_text_input_tokens: usage.uncached_input_tokens(),
            cached_text_input_tokens: usage.cached_tokens,
            text_output_tokens: usage.output_tokens,
            text_total_tokens: usage.total_tokens(),
        }
    }

    /// Reads a `totals` / `clients[]` / `models[]` object; absent fields count as 0.
    fn from_json(v: &Value) -> Self {
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        Self {
            threads: n("threads"),
            turns: n("turns"),
            uncached_text_input_tokens: n("uncached_text_input_tokens"),
            cached_text_input_tokens: n("cached_text_input_tokens"),
            text_output_tokens: n("text_output_tokens"),
            text_total_tokens: n("text_total_tokens"),
        }
    }

    fn add(&mut self, o: Figures) {
        self.threads += o.threads;
        self.turns += o.turns;
        self.uncached_text_input_tokens += o.uncached_text_input_tokens;
        self.cached_text_input_tokens += o.cached_text_input_tokens;
        self.text_output_tokens += o.text_output_tokens;
        self.text_total_tokens += o.text_total_tokens;
    }
}

/// One user's rows summed over the queried window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserUsage {
    pub user_id: String,
    pub email: Option<String>,
    pub totals: Figures,
    pub clients: BTreeMap<String, Figures>,
    pub models: BTreeMap<String, Figures>,
    /// Number of daily rows summed (threads are summed across days, so >1 can over-count a
    /// thread active on both sides of midnight UTC).
    pub rows: usize,
}

/// Sums per-user rows by `actor.email` (falling back to `user_id` when the email is hidden).
pub fn by_user(rows: &[Value]) -> BTreeMap<String, UserUsage> {
    let mut out: BTreeMap<String, UserUsage> = BTreeMap::new();
    for row in rows {
        let user_id = row["user_id"].as_str().unwrap_or_default().to_owned();
        let email = row["actor"]["email"].as_str().map(str::to_owned);
        let key = email.clone().unwrap_or_else(|| user_id.clone());
        let u = out.entry(key).or_default();
        u.user_id = user_id;
        u.email = email;
        u.rows += 1;
        u.totals.add(Figures::from_json(&row["totals"]));
        for (list, field, map) in [
            ("clients", "client_id", &mut u.clients),
            ("models", "model", &mut u.models),
        ] {
            for entry in row[list].as_array().into_iter().flatten() {
                let name = entry[field].as_str().unwrap_or_default().to_owned();
                map.entry(name).or_default().add(Figures::from_json(entry));
            }
        }
    }
    out
}

/// Distinct client ids seen in a user's rows.
pub fn client_ids(u: &UserUsage) -> BTreeSet<String> {
    u.clients.keys().cloned().collect()
}

/// Client of `GET /v1/analytics/codex/workspaces/{id}/usage`.
pub struct UsageApi {
    http: reqwest::Client,
    base_url: String,
    key: String,
}

impl UsageApi {
    /// `base_url` is Steward's root (`http://127.0.0.1:PORT`); `key` an analytics API key.
    pub fn new(base_url: impl Into<String>, key: impl Into<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building an HTTP client")?;
        Ok(Self {
            http,
            base_url: base_url.into(),
            key: key.into(),
        })
    }

    /// One page: the raw response body. `query` holds extra parameters (`group`, `limit`, ...).
    pub async fn page(&self, workspace_id: &str, query: &[(&str, String)]) -> Result<Value> {
        let url = format!(
            "{}/v1/analytics/codex/workspaces/{workspace_id}/usage",
            self.base_url
        );
        let body = self.get_json(&url, query).await?;
        if body["object"] != "page" || !body["data"].is_array() {
            bail!("GET {url}: not a page envelope: {body}");
        }
        Ok(body)
    }

    /// `GET /v1/workspaces/{id}/analytics/coverage` around now (yesterday to tomorrow): which
    /// source reported what, per user and day, and where sources disagree.
    pub async fn coverage_around_now(&self, workspace_id: &str) -> Result<Value> {
        let (start, end) = window_around_now();
        let url = format!(
            "{}/v1/workspaces/{workspace_id}/analytics/coverage",
            self.base_url
        );
        let query = [("start_time", start.to_string()), ("end_time", end.to_string())];
        self.get_json(&url, &query).await
    }

    /// A successful GET's JSON body, or an error naming the URL, status and body.
    async fn get_json(&self, url: &str, query: &[(&str, String)]) -> Result<Value> {
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.key)
            .query(query)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let text = resp.text().await.with_context(|| format!("reading GET {url}"))?;
        if !status.is_success() {
            bail!("GET {url} {query:?} answered {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("GET {url}: body is not JSON: {text}"))
    }

    /// All rows of a window around now (yesterday 00:00 UTC to tomorrow 00:00 UTC), following
    /// `next_page` until `has_more` is false.
    pub async fn rows_around_now(&self, workspace_id: &str, extra: &[(&str, String)]) -> Result<Vec<Value>> {
        let (start, end) = window_around_now();
        self.rows(workspace_id, start, end, extra).await
    }

    /// All rows of `[start, end)` (Unix seconds), every page.
    pub async fn rows(
        &self,
        workspace_id: &str,
        start: u64,
        end: u64,
        extra: &[(&str, String)],
    ) -> Result<Vec<Value>> {
        let mut query: Vec<(&str, String)> =
            vec![("start_time", start.to_string()), ("end_time", end.to_string())];
        query.extend(extra.iter().cloned());
        let mut rows = Vec::new();
        for _ in 0..1000 {
            let body = self.page(workspace_id, &query).await?;
            rows.extend(body["data"].as_array().into_iter().flatten().cloned());
            if body["has_more"] != true {
                return Ok(rows);
            }
            let cursor = body["next_page"]
                .as_str()
                .with_context(|| format!("has_more is true but next_page is not a string: {body}"))?;
            query.retain(|(k, _)| *k != "page");
            query.push(("page", cursor.to_owned()));
        }
        bail!("more than 1000 pages: is the cursor advancing?")
    }
}

/// Unix seconds of yesterday 00:00 UTC and tomorrow 00:00 UTC.
pub fn window_around_now() -> (u64, u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let today = now - now % 86_400;
    (today - 86_400, today + 2 * 86_400)
}

/// Calls `fetch` every 250 ms until `done` holds for its result or `timeout` passes, and returns
/// the last result either way, so the caller's assertion shows what was seen. Telemetry is
/// exported asynchronously, so figures settle a moment after the client exits.
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut fetch: F, done: impl Fn(&T) -> bool) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let value = fetch().await?;
        if done(&value) || Instant::now() >= deadline {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
