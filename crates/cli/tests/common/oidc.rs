//! A real OpenID provider for the sign-in tests: `oidc-provider` (npm, pinned, installed by
//! scripts/install-test-deps) with its development login screens, a `steward serve` configured
//! with `[sso]` for it, and a sign-in driven over HTTP without a browser (for tests that need
//! many signed-in people; `sso_oidc_browser.rs` drives the same flow in Chromium).
//! Included with `#[path = "common/oidc.rs"]`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Where scripts/install-test-deps puts oidc-provider 9.13.3 and playwright-core 1.65.1.
pub const JS_DIR: &str = "oidc-js-9.13.3-1.65.1";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CLIENT_ID: &str = "steward-sso-test";
pub const CLIENT_SECRET: &str = "steward-sso-test-client-secret";

pub fn node_modules() -> PathBuf {
    let cache = std::env::var_os("STEWARD_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/steward-test")
        });
    let dir = cache.join(JS_DIR).join("node_modules");
    assert!(
        dir.join("oidc-provider/package.json").is_file()
            && dir.join("playwright-core/package.json").is_file(),
        "{} lacks oidc-provider / playwright-core: run scripts/install-test-deps",
        dir.display()
    );
    dir
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's scripts copied next to a `node_modules` link (ESM imports resolve from the
/// script's directory).
pub fn script_dir(modules: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-support/js");
    for name in ["oidc_provider.mjs", "sso_browser.mjs"] {
        std::fs::copy(src.join(name), dir.path().join(name)).expect("copy script");
    }
    std::os::unix::fs::symlink(modules, dir.path().join("node_modules")).expect("link node_modules");
    dir
}

/// Reads stdout lines until one satisfies `done` (or the process ends / time runs out).
pub fn read_until(out: &mut BufReader<ChildStdout>, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap_or(0);
        assert!(n > 0, "{what} ended before answering");
        if done(line.trim()) {
            return line.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no answer in time (last line: {line})"
        );
    }
}

pub fn start_provider(scripts: &Path, port: u16, redirect_uri: &str) -> Proc {
    let mut child = Command::new("node")
        .arg(scripts.join("oidc_provider.mjs"))
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_REDIRECT_URI", redirect_uri)
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn node oidc_provider.mjs");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    read_until(&mut out, "the OpenID provider", |l| l.starts_with("READY "));
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    Proc { child }
}

/// `steward serve` on `port` with `[sso]` from the environment; waits for /healthz.
pub async fn start_steward(
    data_dir: &Path,
    port: u16,
    issuer: &str,
    redirect_url: &str,
    extra_env: &[(&str, &str)],
) -> (Proc, tempfile::NamedTempFile) {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let out = log.reopen().expect("log");
    let err = out.try_clone().expect("log");
    let child = Command::new(crate::common::steward_bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .env("STEWARD_SSO__ISSUER", issuer)
        .env("STEWARD_SSO__CLIENT_ID", CLIENT_ID)
        .env("STEWARD_SSO__CLIENT_SECRET", CLIENT_SECRET)
        .env("STEWARD_SSO__REDIRECT_URL", redirect_url)
        .env("STEWARD_COMPLIANCE__SEAL_INTERVAL_SECS", "31536000")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn steward serve");
    let proc = Proc { child };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("http://127.0.0.1:{port}/healthz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "steward serve did not start:\n{}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (proc, log)
}

/// A signed-in person: the session cookie and the CSRF token unsafe requests must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// A cookie jar for one host (browsers ignore ports, and so does this).
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn take(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || v.to_ascii_lowercase().contains("max-age=0") {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `name="value"` attributes of the first `<form>` of a provider page, and its hidden inputs.
fn form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].replace("&amp;", "&"))
    };
    let form_tag = html.split("<form").nth(1).expect("a form on the provider's page");
    let action = attr(form_tag.split('>').next().unwrap_or(""), "action").expect("form action");
    let mut fields = Vec::new();
    for input in html.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap_or("");
        if attr(tag, "type").as_deref() == Some("hidden") {
            if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
                fields.push((n, v));
            }
        }
    }
    (action, fields)
}

/// Signs `login` in through Steward's `/auth/login` and the provider's login and consent
/// screens over plain HTTP; panics unless Steward ends the flow with a session.
pub async fn sign_in(steward: &str, login: &str) -> Session {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut jar = Jar::default();
    let mut url = format!("{steward}/auth/login?return_to=/v1/me");
    let mut post: Option<Vec<(String, String)>> = None;
    for _ in 0..20 {
        let req = match post.take() {
            Some(fields) => http.post(&url).form(&fields),
            None => http.get(&url),
        };
        let resp = req
            .header("cookie", jar.header())
            .send()
            .await
            .expect("sign-in step");
        jar.take(&resp);
        let status = resp.status().as_u16();
        if let Some(loc) = resp.headers().get("location").and_then(|l| l.to_str().ok()) {
            let next = reqwest::Url::parse(&url)
                .expect("url")
                .join(loc)
                .expect("location")
                .to_string();
            if next.starts_with(&format!("{steward}/v1/me")) {
                let cookie = jar.0.get("steward_session").expect("a session cookie").clone();
                let me: serde_json::Value = http
                    .get(&next)
                    .header("cookie", format!("steward_session={cookie}"))
                    .send()
                    .await
                    .expect("/v1/me")
                    .json()
                    .await
                    .expect("JSON");
                let csrf = me["csrf_token"]
                    .as_str()
                    .expect("csrf_token in /v1/me")
                    .to_owned();
                return Session {
                    cookie: format!("steward_session={cookie}"),
                    csrf,
                };
            }
            url = next;
            continue;
        }
        let html = resp.text().await.expect("page");
        assert_eq!(status, 200, "{login} at {url}: {html}");
        let (action, mut fields) = form(&html);
        if html.contains("name=\"login\"") {
            fields.push(("login".into(), login.into()));
            fields.push(("password".into(), "any".into()));
        }
        url = reqwest::Url::parse(&url)
            .expect("url")
            .join(&action)
            .expect("action")
            .to_string();
        post = Some(fields);
    }
    panic!("{login}: the sign-in did not finish in 20 steps (at {url})");
}
