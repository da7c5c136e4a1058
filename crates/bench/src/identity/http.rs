//! The authorization comparison against the running `steward serve`: endpoints interleaved
//! request by request, so machine noise hits them alike.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::header::AUTHORIZATION;
use serde::Serialize;

use crate::stats::Latency;

/// One endpoint of the authorization comparison.
pub(super) struct Endpoint {
    pub name: &'static str,
    pub what: &'static str,
    /// Path and query.
    pub path: String,
    /// `Bearer <key>`.
    pub bearer: Option<String>,
    pub expect: u16,
}

/// `/healthz`, `/v1/me` and the roles list with an admin key and with a key lacking the scope.
pub(super) fn endpoints(ws: &str, admin_key: &str, analytics_key: &str) -> Vec<Endpoint> {
    let roles = format!("/v1/workspaces/{ws}/roles");
    vec![
        Endpoint {
            name: HEALTHZ,
            what: "no caller; store ping (SELECT 1)",
            path: "/healthz".into(),
            bearer: None,
            expect: 200,
        },
        Endpoint {
            name: ME,
            what: "bearer SHA-256 + credential lookup; caller as JSON",
            path: "/v1/me".into(),
            bearer: Some(admin_key.to_owned()),
            expect: 200,
        },
        Endpoint {
            name: "GET /v1/workspaces/{ws}/roles",
            what: "lookup + authorize(users.read) + list_roles",
            path: roles.clone(),
            bearer: Some(admin_key.to_owned()),
            expect: 200,
        },
        Endpoint {
            name: DENIED,
            what: "lookup + authorize denied (analytics key): 403",
            path: roles,
            bearer: Some(analytics_key.to_owned()),
            expect: 403,
        },
    ]
}

#[derive(Debug, Clone, Serialize)]
pub struct EndpointLatency {
    pub name: String,
    pub what: String,
    pub expected_status: u16,
    /// Responses with another status (among the measured ones).
    pub unexpected: usize,
    pub latency: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthzRun {
    pub clients: usize,
    /// Measured requests per endpoint (all clients together), after a warm-up.
    pub requests_per_endpoint: usize,
    pub wall_secs: f64,
    /// All endpoints' requests together, per second.
    pub requests_per_sec: f64,
    pub endpoints: Vec<EndpointLatency>,
    /// `/v1/me` minus `/healthz`, µs: what the bearer lookup and the caller add.
    pub me_overhead_p50_us: f64,
    pub me_overhead_p99_us: f64,
    /// The 403 path minus `/healthz`, µs: lookup + a denied `authorize`, no handler.
    pub denied_overhead_p50_us: f64,
    pub denied_overhead_p99_us: f64,
    /// Median over rounds of (`/v1/me` − `/healthz`) within the same round, µs: less
    /// sensitive to noise than a difference of percentiles.
    pub me_paired_median_us: f64,
    /// The same for the 403 path.
    pub denied_paired_median_us: f64,
}

pub(super) async fn get(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<(Duration, u16, bytes::Bytes)> {
    let mut rb = http.get(url);
    if let Some(b) = bearer {
        rb = rb.header(AUTHORIZATION, b);
    }
    let t = Instant::now();
    let r = rb.send().await.with_context(|| format!("GET {url}"))?;
    let status = r.status().as_u16();
    let body = r.bytes().await.with_context(|| format!("GET {url}: body"))?;
    Ok((t.elapsed(), status, body))
}

pub(super) fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?)
}

/// One request to each endpoint: a description of every unexpected answer.
pub(super) async fn probe(base: &str, eps: &[Endpoint]) -> Result<Vec<String>> {
    let http = client()?;
    let mut problems = Vec::new();
    for e in eps {
        let (_, status, body) = get(&http, &format!("{base}{}", e.path), e.bearer.as_deref()).await?;
        let text = String::from_utf8_lossy(&body);
        if status != e.expect {
            problems.push(format!(
                "{} answered {status}, not {}: {:.300}",
                e.name, e.expect, text
            ));
        }
    }
    Ok(problems)
}

/// `clients` tasks, each with its own connection, each requesting every endpoint in turn
/// (rotating which goes first) `warm + n / clients` times; the first `warm` rounds are not
/// measured.
pub(super) async fn authz_run(
    base: &str,
    eps: Arc<Vec<Endpoint>>,
    n: usize,
    clients: usize,
) -> Result<AuthzRun> {
    let clients = clients.max(1);
    let per = n.div_ceil(clients);
    let warm = (per / 10).clamp(1, 500);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (base, eps) = (base.to_owned(), eps.clone());
        tasks.push(tokio::spawn(async move {
            let http = client()?;
            let urls: Vec<String> = eps.iter().map(|e| format!("{base}{}", e.path)).collect();
            let mut lat = vec![Vec::with_capacity(per); eps.len()];
            let mut bad = vec![0usize; eps.len()];
            for i in 0..warm + per {
                for k in 0..eps.len() {
                    let j = (i + k + c) % eps.len();
                    let (d, status, _) = get(&http, &urls[j], eps[j].bearer.as_deref()).await?;
                    if i >= warm {
                        lat[j].push(d);
                        if status != eps[j].expect {
                            bad[j] += 1;
                        }
                    }
                }
            }
            anyhow::Ok((lat, bad))
        }));
    }
    let mut lat: Vec<Vec<Duration>> = vec![Vec::new(); eps.len()];
    let mut bad = vec![0usize; eps.len()];
    let index = |name: &str| eps.iter().position(|e| e.name == name);
    let (hi, mi, di) = (index(HEALTHZ), index(ME), index(DENIED));
    let (mut me_diffs, mut denied_diffs) = (Vec::new(), Vec::new());
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for task in tasks {
        let (l, b) = task.await??;
        if let (Some(h), Some(m), Some(d)) = (hi, mi, di) {
            for ((hd, md), dd) in l[h].iter().zip(&l[m]).zip(&l[d]) {
                me_diffs.push(us(*md) - us(*hd));
                denied_diffs.push(us(*dd) - us(*hd));
            }
        }
        for j in 0..eps.len() {
            lat[j].extend(&l[j]);
            bad[j] += b[j];
        }
    }
    let wall_secs = t.elapsed().as_secs_f64();
    let endpoints: Vec<EndpointLatency> = eps
        .iter()
        .zip(lat.iter().zip(&bad))
        .map(|(e, (l, b))| EndpointLatency {
            name: e.name.to_owned(),
            what: e.what.to_owned(),
            expected_status: e.expect,
            unexpected: *b,
            latency: Latency::of(l),
        })
        .collect();
    let by = |name: &str| {
        endpoints
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.latency)
            .unwrap_or_default()
    };
    let (health, me, denied) = (by(HEALTHZ), by(ME), by(DENIED));
    let us = |a: f64, b: f64| (a - b) * 1000.0;
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let total = (warm + per) * clients * eps.len();
    Ok(AuthzRun {
        clients,
        requests_per_endpoint: per * clients,
        wall_secs,
        requests_per_sec: total as f64 / wall_secs.max(1e-9),
        me_overhead_p50_us: us(me.p50_ms, health.p50_ms),
        me_overhead_p99_us: us(me.p99_ms, health.p99_ms),
        denied_overhead_p50_us: us(denied.p50_ms, health.p50_ms),
        denied_overhead_p99_us: us(denied.p99_ms, health.p99_ms),
        me_paired_median_us: median(me_diffs),
        denied_paired_median_us: median(denied_diffs),
        endpoints,
    })
}

pub(super) const HEALTHZ: &str = "GET /healthz";
pub(super) const ME: &str = "GET /v1/me";
pub(super) const DENIED: &str = "GET /v1/workspaces/{ws}/roles (403)";
