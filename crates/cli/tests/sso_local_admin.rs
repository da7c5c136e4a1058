//! The local break-glass admin against a real `steward serve` (SQLite): `steward admin create`
//! with the password on stdin, `POST /auth/password` (JSON and HTML form), the session cookie
//! on `/v1/me` and on workspace routes, CSRF on unsafe methods, wrong passwords (401, audited),
//! sign-out (the old cookie is then a 401), `steward admin passwd` (which ends the admin's
//! sessions), the AUDIT_LOG records, and that neither the password nor the session secret is in
//! the server's output, the database files or the compliance log.

mod common;
mod compliance;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use compliance::collector::{Collector, Cursor};
use compliance::harness::{Env, NO_AUTO_SEAL};
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "Tr0ub4dor&3-correct-horse";
const NEW_PASSWORD: &str = "battery staple 2, the sequel";

/// `steward admin <args> --password-stdin --json` with `password` on stdin.
fn admin_with_password(env: &Env, args: &[&str], password: &str) -> (Option<i32>, String, String) {
    let dir = env.data_dir().display().to_string();
    let mut child = Command::new(common::steward_bin())
        .arg("admin")
        .args(args)
        .args(["--password-stdin", "--json", "--data-dir", &dir])
        .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn steward admin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("steward admin finishes");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("HTTP {}: not JSON ({e}): {}", self.status, self.text))
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value `steward_session` is set to (empty when cleared).
    fn session_cookie(&self) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            c.strip_prefix("steward_session=")
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
    }
}

async fn call(
    env: &Env,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let mut rb = env
        .http
        .request(method, format!("{}{path}", env.server.base_url()));
    if let Some(c) = cookie {
        rb = rb.header("cookie", format!("other=1; steward_session={c}"));
    }
    if let Some(t) = csrf {
        rb = rb.header("x-csrf-token", t);
    }
    if let Some((content_type, bytes)) = body {
        rb = rb.header("content-type", content_type).body(bytes);
    }
    let resp = rb.send().await.expect("request reaches steward");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Answer {
        status,
        headers,
        text,
    }
}

fn json_body(v: Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", v.to_string().into_bytes()))
}

async fn sign_in(env: &Env, username: &str, password: &str) -> Answer {
    call(
        env,
        Method::POST,
        "/auth/password",
        None,
        None,
        json_body(json!({"username": username, "password": password})),
    )
    .await
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn break_glass_admin_signs_in_with_a_cookie_and_csrf() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let ws = env.ws.clone();

    // --- steward admin create / list ---
    let (code, out, err) = admin_with_password(&env, &["create", "--username", "ops"], "too-short");
    assert_ne!(code, Some(0), "a short password is refused: {out}");
    assert!(err.contains("12"), "names the minimum length: {err}");
    let (code, out, err) = admin_with_password(&env, &["create", "--username", "ops"], PASSWORD);
    assert_eq!(code, Some(0), "admin create: {out}\n{err}");
    let created: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(created["username"], "ops");
    assert!(created.get("password_hash").is_none(), "{created}");
    let (code, _, err) = admin_with_password(&env, &["create", "--username", "ops"], PASSWORD);
    assert_ne!(code, Some(0), "duplicate username refused");
    assert!(err.contains("already exists"), "{err}");
    let list = env.cli_json(&["admin", "list"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["username"], "ops");
    assert!(!list.to_string().contains("argon2"), "no hashes listed: {list}");

    // --- pages ---
    let page = call(&env, Method::GET, "/auth/sign-in?return_to=/x", None, None, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains(r#"<form method="post" action="/auth/password">"#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"<label for="password">"#));
    assert!(!page.text.contains("Sign in with SSO"), "SSO is not configured");
    let login = call(&env, Method::GET, "/auth/login", None, None, None).await;
    assert_eq!(login.status, 404, "no provider configured: {}", login.text);

    // --- wrong password, unknown user: the same 401 ---
    let wrong = sign_in(&env, "ops", "not the password at all").await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(wrong.json()["detail"]["code"], "bad_credentials");
    assert!(wrong.session_cookie().is_none());
    let unknown = sign_in(&env, "nobody", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.json()["detail"],
        wrong.json()["detail"],
        "no hint which usernames exist"
    );

    // --- sign in (JSON) ---
    let ok = sign_in(&env, "ops", PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let set = ok.set_cookies().join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    assert!(
        !set.contains("Secure"),
        "plain http without SSO: auto is not Secure: {set}"
    );
    let secret = ok.session_cookie().expect("session cookie");
    let csrf = ok.json()["csrf_token"].as_str().expect("csrf_token").to_owned();
    assert_eq!(ok.json()["workspace_id"], ws.as_str());

    let me = call(&env, Method::GET, "/v1/me", Some(&secret), None, None).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let me = me.json();
    assert_eq!(me["kind"], "local_admin");
    assert_eq!(me["username"], "ops");
    assert_eq!(me["sign_in_method"], "password");
    assert_eq!(
        me["csrf_token"],
        csrf.as_str(),
        "a browser app reads the token here"
    );

    let roles_path = format!("/v1/workspaces/{ws}/roles");
    let roles = call(&env, Method::GET, &roles_path, Some(&secret), None, None).await;
    assert_eq!(roles.status, 200, "{}", roles.text);

    // --- CSRF on unsafe methods ---
    let groups = format!("/v1/workspaces/{ws}/groups");
    let body = || json_body(json!({"name": "break-glass"}));
    let no_csrf = call(&env, Method::POST, &groups, Some(&secret), None, body()).await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.text);
    assert_eq!(no_csrf.json()["detail"]["code"], "csrf_failed");
    let bad_csrf = call(
        &env,
        Method::POST,
        &groups,
        Some(&secret),
        Some(&"0".repeat(64)),
        body(),
    )
    .await;
    assert_eq!(bad_csrf.status, 403);
    assert_eq!(bad_csrf.json()["detail"]["code"], "csrf_failed");
    let created = call(&env, Method::POST, &groups, Some(&secret), Some(&csrf), body()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let listed = call(&env, Method::GET, &groups, Some(&secret), None, None).await;
    assert!(listed.text.contains("break-glass"), "{}", listed.text);

    // A forged cookie is a 401, not an anonymous request.
    let forged = call(&env, Method::GET, "/v1/me", Some(&"A".repeat(43)), None, None).await;
    assert_eq!(forged.status, 401, "{}", forged.text);

    // --- the HTML form: a redirect to a local return_to only ---
    let form = |rt: &str| {
        let body: String = url_form(&[("username", "ops"), ("password", PASSWORD), ("return_to", rt)]);
        Some(("application/x-www-form-urlencoded", body.into_bytes()))
    };
    let to_roles = call(
        &env,
        Method::POST,
        "/auth/password",
        None,
        None,
        form(&roles_path),
    )
    .await;
    assert!(matches!(to_roles.status, 302 | 303), "{}", to_roles.status);
    assert_eq!(to_roles.headers["location"], roles_path.as_str());
    let form_secret = to_roles.session_cookie().expect("form sign-in sets the cookie");
    let evil = call(
        &env,
        Method::POST,
        "/auth/password",
        None,
        None,
        form("https://evil.example/"),
    )
    .await;
    assert_eq!(evil.headers["location"], "/v1/me", "foreign return_to falls back");
    let evil_secret = evil.session_cookie().expect("cookie");
    let bad_form = call(
        &env,
        Method::POST,
        "/auth/password",
        None,
        None,
        Some((
            "application/x-www-form-urlencoded",
            url_form(&[("username", "ops"), ("password", "nope nope nope")]).into_bytes(),
        )),
    )
    .await;
    assert_eq!(bad_form.status, 401);
    assert!(
        bad_form.text.contains("Wrong username or password"),
        "{}",
        bad_form.text
    );

    // --- sign-out ---
    let no_csrf = call(&env, Method::POST, "/auth/logout", Some(&secret), None, None).await;
    assert_eq!(no_csrf.status, 403, "sign-out needs the CSRF token too");
    let out = call(
        &env,
        Method::POST,
        "/auth/logout",
        Some(&secret),
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.json()["signed_out"], true);
    assert_eq!(out.session_cookie().as_deref(), Some(""), "cookie cleared");
    assert!(out.set_cookies().join("").contains("Max-Age=0"));
    let after = call(&env, Method::GET, "/v1/me", Some(&secret), None, None).await;
    assert_eq!(after.status, 401, "the old cookie is dead: {}", after.text);
    let after = call(&env, Method::GET, &roles_path, Some(&secret), None, None).await;
    assert_eq!(after.status, 401);
    // Other sessions live on.
    let other = call(&env, Method::GET, "/v1/me", Some(&form_secret), None, None).await;
    assert_eq!(other.status, 200);

    // --- steward admin passwd: the new password works, the old one and its sessions end ---
    let (code, out, err) = admin_with_password(&env, &["passwd", "--username", "ops"], NEW_PASSWORD);
    assert_eq!(code, Some(0), "passwd: {out}\n{err}");
    let changed: Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(
        changed["sessions_ended"], 2,
        "the form's two sessions were live (the JSON one had signed out): {changed}"
    );
    for ended in [&form_secret, &evil_secret] {
        let me = call(&env, Method::GET, "/v1/me", Some(ended), None, None).await;
        assert_eq!(me.status, 401, "a session of the old password ends: {}", me.text);
    }
    assert_eq!(
        sign_in(&env, "ops", PASSWORD).await.status,
        401,
        "old password gone"
    );
    let again = sign_in(&env, "ops", NEW_PASSWORD).await;
    assert_eq!(again.status, 200, "{}", again.text);
    let fresh = again.session_cookie().expect("cookie");
    let me = call(&env, Method::GET, "/v1/me", Some(&fresh), None, None).await;
    assert_eq!(me.status, 200, "{}", me.text);

    // --- the audit log ---
    env.seal();
    let mut cur = Cursor::default();
    Collector::new(&env, "AUDIT_LOG", 100).drain(&mut cur).await;
    let actions: Vec<(String, Value)> = cur
        .records
        .iter()
        .map(|r| (r["action"].as_str().unwrap_or("").to_owned(), r.clone()))
        .collect();
    let find =
        |action: &str, pred: &dyn Fn(&Value) -> bool| actions.iter().any(|(a, r)| a == action && pred(r));
    assert!(
        find("local_admin.created", &|r| r["action_data"]["new"]["username"]
            == "ops"),
        "{actions:#?}"
    );
    assert!(find("local_admin.password_changed", &|r| r["action_data"]["new"]
        ["sessions_ended"]
        == 2));
    assert!(find("auth.sign_in", &|r| r["actor"]["username"] == "ops"
        && r["action_data"]["new"]["method"] == "password"));
    assert!(find("auth.sign_in_failed", &|r| r["action_data"]["new"]
        ["reason"]
        == "bad_password"));
    assert!(find("auth.sign_in_failed", &|r| r["action_data"]["new"]
        ["reason"]
        == "unknown_username"
        && r["action_data"]["new"]["username"] == "nobody"));
    assert!(find("auth.sign_out", &|r| r["actor"]["username"] == "ops"));

    // --- no password or session secret anywhere ---
    let logs = env.server.logs();
    let secrets = [
        PASSWORD,
        NEW_PASSWORD,
        secret.as_str(),
        form_secret.as_str(),
        evil_secret.as_str(),
        fresh.as_str(),
    ];
    for s in secrets {
        assert!(!logs.contains(s), "the server log holds a secret");
    }
    for file in files_under(env.data_dir()) {
        let bytes = std::fs::read(&file).expect("read");
        for s in secrets {
            assert!(!contains(&bytes, s), "{} holds a secret", file.display());
        }
    }
    let hashed_somewhere = files_under(env.data_dir())
        .iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("steward.db"))
        })
        .any(|f| contains(&std::fs::read(f).unwrap_or_default(), "$argon2id$"));
    assert!(
        hashed_somewhere,
        "the password is stored as an argon2id PHC string"
    );
}

fn url_form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The brute-force throttle: after 5 failures the name is locked (429 with `Retry-After`, and
/// not even the right password gets in), unknown names behave the same, the lock is audited,
/// and `steward admin passwd` lifts it.
#[tokio::test]
async fn repeated_failures_lock_the_name_until_a_new_password() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let (code, out, err) = admin_with_password(&env, &["create", "--username", "ops"], PASSWORD);
    assert_eq!(code, Some(0), "admin create: {out}\n{err}");

    // Four failures, then the right password: the count starts again (else the next loop
    // would be locked after its first failure).
    for _ in 0..4 {
        assert_eq!(sign_in(&env, "ops", "not the password at all").await.status, 401);
    }
    assert_eq!(sign_in(&env, "ops", PASSWORD).await.status, 200);

    for name in ["ops", "ghost"] {
        for attempt in 1..=5 {
            let wrong = sign_in(&env, name, "not the password at all").await;
            assert_eq!(wrong.status, 401, "{name} attempt {attempt}: {}", wrong.text);
            assert_eq!(wrong.json()["detail"]["code"], "bad_credentials");
        }
        // Locked now: even the right password is refused, without a cookie.
        let locked = sign_in(&env, name, PASSWORD).await;
        assert_eq!(locked.status, 429, "{name}: {}", locked.text);
        assert_eq!(locked.json()["detail"]["code"], "too_many_attempts");
        let retry: u64 = locked.headers["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=30).contains(&retry), "the first lock is 30 s: {retry}");
        assert!(locked.session_cookie().is_none());
    }
    // The known and the unknown name answer alike: the lock tells nothing about who exists.
    let (known, unknown) = (
        sign_in(&env, "ops", "x y z w v u").await,
        sign_in(&env, "ghost", "x y z w v u").await,
    );
    assert_eq!((known.status, unknown.status), (429, 429));
    assert_eq!(known.json()["detail"]["code"], unknown.json()["detail"]["code"]);
    // Other names are not affected.
    let other = sign_in(&env, "someone-else", "not the password at all").await;
    assert_eq!(other.status, 401);

    // The browser form shows the sign-in page again, with the wait.
    let form = call(
        &env,
        Method::POST,
        "/auth/password",
        None,
        None,
        Some((
            "application/x-www-form-urlencoded",
            url_form(&[("username", "ops"), ("password", PASSWORD)]).into_bytes(),
        )),
    )
    .await;
    assert_eq!(form.status, 429);
    assert!(form.headers.contains_key("retry-after"));
    assert!(
        form.text.contains("Too many failed sign-ins")
            && form
                .text
                .contains(r#"<form method="post" action="/auth/password">"#),
        "{}",
        form.text
    );

    // Operators see the attack in /metrics.
    let metrics = call(&env, Method::GET, "/metrics", None, None, None).await;
    let throttled = metrics
        .text
        .lines()
        .find(|l| l.starts_with(r#"steward_password_sign_ins_total{outcome="too_many_attempts"}"#))
        .unwrap_or_else(|| panic!("no throttled counter: {}", metrics.text));
    let count: f64 = throttled
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert_eq!(
        count, 5.0,
        "two locked tries, the two alike, and the form: {throttled}"
    );

    // A new password lifts the lock of that name (and only that one).
    let (code, out, err) = admin_with_password(&env, &["passwd", "--username", "ops"], NEW_PASSWORD);
    assert_eq!(code, Some(0), "passwd: {out}\n{err}");
    let back = sign_in(&env, "ops", NEW_PASSWORD).await;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(sign_in(&env, "ghost", PASSWORD).await.status, 429);

    // The failure that set the lock is audited with the count and the lock's end; the
    // refusals during the lock are not (a flood of them must not flood the audit log).
    env.seal();
    let mut cur = Cursor::default();
    Collector::new(&env, "AUDIT_LOG", 100).drain(&mut cur).await;
    let failed: Vec<&Value> = cur
        .records
        .iter()
        .filter(|r| r["action"] == "auth.sign_in_failed" && r["action_data"]["new"]["username"] == "ops")
        .collect();
    assert_eq!(
        failed.len(),
        9,
        "one record per checked failure (4 before the success, 5 after): {failed:#?}"
    );
    let last = &failed
        .iter()
        .find(|r| r["action_data"]["new"]["failures"] == 5)
        .expect("the fifth failure")["action_data"]["new"];
    assert!(last["locked_until_ms"].as_i64().is_some(), "{last}");
    assert!(failed
        .iter()
        .all(|r| r["action_data"]["new"]["failures"].as_u64() <= Some(5)));
}
