//! SSO with a real OpenID provider and a real browser: `oidc-provider` (npm, pinned) as the
//! identity provider and Debian's chromium driven by `playwright-core`, against a real
//! `steward serve` (SQLite) configured with `[sso]` through `STEWARD_SSO__*` variables.
//!
//! alice (provisioned through SCIM) opens `/auth/login`, signs in at the provider,
//! consents, and lands on `/v1/me` as herself; her browser's unsafe requests need the CSRF
//! header. Deactivating her through SCIM ends her session (401) and a new sign-in ends on
//! the "not allowed" page (403); mallory, whom the provider knows but Steward does not, is
//! refused too. The refusals are in the AUDIT_LOG.
//!
//! Needs `scripts/install-test-deps` (the npm packages, in `$STEWARD_TEST_CACHE` or
//! `~/.cache/steward-test`) and `/usr/bin/chromium` (`scripts/test` installs it). Never skips.

mod common;
#[path = "common/oidc.rs"]
mod oidc;

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use oidc::{
    node_modules, read_until, script_dir, start_provider, start_steward, Proc, CHROMIUM, CLIENT_SECRET,
};

use serde_json::{json, Value};
use steward_test_support::steward::{free_port, run_admin};

/// The browser driver: one command per line, one JSON answer per line.
struct Browser {
    _proc: Proc,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Browser {
    fn start(scripts: &Path, steward: &str) -> Browser {
        let mut child = Command::new("node")
            .arg(scripts.join("sso_browser.mjs"))
            .env("STEWARD_URL", steward)
            .env("CHROMIUM", CHROMIUM)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node sso_browser.mjs");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let ready = read_until(&mut stdout, "the browser driver", |l| l.starts_with('{'));
        let ready: Value = serde_json::from_str(&ready).expect("JSON");
        assert_eq!(ready["ready"], true, "{ready}");
        eprintln!("browser: chromium {}", ready["browser"]);
        Browser {
            _proc: Proc { child },
            stdin,
            stdout,
        }
    }

    fn ask(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").expect("send command");
        self.stdin.flush().expect("flush");
        let line = read_until(&mut self.stdout, command, |l| l.starts_with('{'));
        let v: Value = serde_json::from_str(&line).expect("JSON answer");
        assert!(v.get("error").is_none(), "{command}: {}", v["error"]);
        v
    }

    /// Signs in through the provider in browser profile `profile`; where the browser landed.
    fn login(&mut self, profile: &str, account: &str) -> Value {
        self.ask(&format!("login {profile} {account} /v1/me"))
    }

    fn fetch(&mut self, profile: &str, method: &str, path: &str) -> (u64, String) {
        let v = self.ask(&format!("fetch {profile} {method} {path}"));
        (
            v["status"].as_u64().unwrap_or(0),
            v["text"].as_str().unwrap_or("").to_owned(),
        )
    }
}

/// Every AUDIT_LOG record of the workspace (after `steward compliance seal`).
async fn audit_records(base: &str, ws: &str, key: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let list: Value = http
        .get(format!("{base}/v1/compliance/workspaces/{ws}/logs"))
        .query(&[
            ("event_type", "AUDIT_LOG"),
            ("after", "1970-01-01T00:00:00Z"),
            ("limit", "100"),
        ])
        .bearer_auth(key)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    let mut records = Vec::new();
    for file in list["data"].as_array().expect("data") {
        let id = file["id"].as_str().expect("id");
        let text = http
            .get(format!("{base}/v1/compliance/workspaces/{ws}/logs/{id}"))
            .bearer_auth(key)
            .send()
            .await
            .expect("download")
            .text()
            .await
            .expect("body");
        records.extend(text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()));
    }
    records
}

#[tokio::test]
async fn people_sign_in_through_a_real_provider_in_a_real_browser() {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: install Debian's chromium (scripts/test does)"
    );
    let scripts = script_dir(&node_modules());
    let (idp_port, steward_port) = (free_port().expect("port"), free_port().expect("port"));
    let steward = format!("http://127.0.0.1:{steward_port}");
    let issuer = format!("http://127.0.0.1:{idp_port}");
    let redirect = format!("{steward}/auth/callback");
    let provider = start_provider(scripts.path(), idp_port, &redirect);
    let data = tempfile::tempdir().expect("data dir");
    let (server, server_log) = start_steward(data.path(), steward_port, &issuer, &redirect, &[]).await;
    let dir = data.path().display().to_string();
    let admin = |args: &[&str]| {
        run_admin(&common::steward_bin(), &["--data-dir", &dir], args).expect("steward admin command")
    };

    let ws = admin(&["workspaces", "list"])[0]["id"]
        .as_str()
        .expect("ws")
        .to_owned();
    // alice is provisioned by the identity provider, through SCIM, as Okta does it.
    let scim_key = admin(&["keys", "create", "--scope", "scim", "--name", "okta"])["key"]
        .as_str()
        .expect("scim key")
        .to_owned();
    let scim = reqwest::Client::new();
    let created: Value = scim
        .post(format!("{steward}/scim/v2/Users"))
        .bearer_auth(&scim_key)
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@example.com", "externalId": "00u-alice",
                "name": {"givenName": "Alice", "familyName": "Liddell"},
                "emails": [{"primary": true, "value": "alice@example.com", "type": "work"}],
                "active": true,
            })
            .to_string(),
        )
        .send()
        .await
        .expect("SCIM create")
        .json()
        .await
        .expect("SCIM JSON");
    let alice_scim_id = created["id"].as_str().expect("SCIM id").to_owned();

    let page = reqwest::get(format!("{steward}/auth/sign-in"))
        .await
        .expect("sign-in page");
    assert!(page.text().await.expect("html").contains("Sign in with SSO"));

    let mut browser = Browser::start(scripts.path(), &steward);

    // --- alice signs in ---
    let landed = browser.login("alice", "alice");
    let visited = landed["visited"].to_string();
    assert!(
        visited.contains("/interaction/"),
        "the provider's login and consent screens: {landed}"
    );
    assert!(
        landed["url"].as_str().unwrap_or("").ends_with("/v1/me"),
        "{landed}"
    );
    assert_eq!(landed["status"], 200, "{landed}");
    let me: Value = serde_json::from_str(landed["text"].as_str().unwrap_or("")).expect("/v1/me JSON");
    assert_eq!(me["kind"], "user", "{me}");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["sign_in_method"], "oidc");
    assert_eq!(me["workspace_id"], ws.as_str());
    assert!(me["csrf_token"].as_str().is_some_and(|t| t.len() == 64), "{me}");
    let cookies = landed["cookies"].as_array().expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c["name"] == "steward_session")
        .expect("session cookie");
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Lax", "{session}");
    assert_eq!(session["path"], "/");

    let (status, body) = browser.fetch("alice", "GET", "/v1/me");
    assert_eq!(status, 200, "{body}");
    // The browser's cookie alone does not make an unsafe request (no X-CSRF-Token).
    let (status, body) = browser.fetch("alice", "POST", &format!("/v1/workspaces/{ws}/groups"));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("csrf_failed"), "{body}");

    // --- alice is deactivated: her session ends, and she cannot sign in again ---
    // The identity provider deactivates her through SCIM (Okta's PATCH shape).
    let r = scim
        .patch(format!("{steward}/scim/v2/Users/{alice_scim_id}"))
        .bearer_auth(&scim_key)
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}],
            })
            .to_string(),
        )
        .send()
        .await
        .expect("SCIM deactivate");
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap_or_default());
    let (status, body) = browser.fetch("alice", "GET", "/v1/me");
    assert_eq!(status, 401, "the old session is revoked: {body}");

    // A fresh browser (new provider login) and the same one (provider session reused).
    for profile in ["alice-again", "alice"] {
        let refused = browser.login(profile, "alice");
        assert_eq!(refused["status"], 403, "{refused}");
        assert!(
            refused["url"].as_str().unwrap_or("").contains("/auth/callback"),
            "{refused}"
        );
        let text = refused["text"].as_str().unwrap_or("");
        assert!(
            text.contains("Not allowed") && text.contains("alice@example.com"),
            "{text}"
        );
        let (status, _) = browser.fetch(profile, "GET", "/v1/me");
        assert_eq!(status, 401, "no session was made");
    }

    // --- mallory: known to the provider, not to Steward ---
    let refused = browser.login("mallory", "mallory");
    assert_eq!(refused["status"], 403, "{refused}");
    let text = refused["text"].as_str().unwrap_or("");
    assert!(
        text.contains("mallory@example.com") && text.contains("not allowed"),
        "{text}"
    );
    let (status, _) = browser.fetch("mallory", "GET", "/v1/me");
    assert_eq!(status, 401);

    // --- a forged callback (no sign-in started in this browser) is refused ---
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{steward}/auth/callback?code=abc&state=def"))
        .header("accept", "application/json")
        .send()
        .await
        .expect("callback");
    assert_eq!(forged.status().as_u16(), 400);
    let forged: Value = forged.json().await.expect("JSON");
    assert_eq!(forged["detail"]["code"], "invalid_sign_in", "{forged}");

    // --- the audit log ---
    admin(&["compliance", "seal"]);
    let key = admin(&["keys", "create", "--scope", "compliance.read"])["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let records = audit_records(&steward, &ws, &key).await;
    let has = |action: &str, reason: Option<&str>, email: &str| {
        records.iter().any(|r| {
            r["action"] == action
                && reason.is_none_or(|x| r["action_data"]["new"]["reason"] == x)
                && r.to_string().contains(email)
        })
    };
    assert!(
        has("auth.sign_in", None, "alice@example.com"),
        "{}",
        json!(records)
    );
    assert!(has(
        "auth.sign_in_failed",
        Some("deactivated"),
        "alice@example.com"
    ));
    assert!(has(
        "auth.sign_in_failed",
        Some("not_provisioned"),
        "mallory@example.com"
    ));

    let logs = std::fs::read_to_string(server_log.path()).unwrap_or_default();
    assert!(!logs.contains(CLIENT_SECRET), "the client secret is not logged");
    drop(browser);
    drop(server);
    drop(provider);
}
