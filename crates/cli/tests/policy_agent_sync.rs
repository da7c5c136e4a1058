//! `steward agent sync` against a real `steward serve` (SQLite): a policy assigned to a group
//! lands in the agent's directory byte for byte; an unchanged policy is a 304 that rewrites
//! nothing; a new revision replaces both files and keeps the old ones as `.previous`; the
//! server's status then shows the host at the new revision; a workspace token names the user
//! with `--email`; a user no rule matches gets empty files. Every failure (unknown email, a
//! made-up token, a revoked token, an unreachable server) exits with status 1, says why, and
//! leaves the directory exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use steward_core::policies::content_sha256;
use steward_test_support::steward::{free_port, StewardServer};
use tempfile::TempDir;

const DANA: &str = "dana@example.com";
const FRANK: &str = "frank@example.com";
const ERIN: &str = "erin@example.com";

/// Revision 1: CRLF line ends, non-ASCII text and trailing blanks, to prove byte fidelity.
const REQ_1: &str = "# Politique « stricte » — équipe eng 🚀\r\nallowed_approval_policies = [\"untrusted\", \"on-request\"]   \r\nallowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\r\n";
/// No final newline.
const CFG_1: &str = "approval_policy = \"on-request\"\nsandbox_mode = \"workspace-write\"";
const REQ_2: &str = "# revision 2: read-only only\nallowed_approval_policies = [\"untrusted\"]\nallowed_sandbox_modes = [\"read-only\"]\n";
const CFG_2: &str = "approval_policy = \"untrusted\"\nsandbox_mode = \"read-only\"\n";

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_steward"))
}

/// A finished `steward agent sync`.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr ---\n{}",
                self.stdout, self.stderr
            )
        })
    }

    fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "agent sync failed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn failed(self) -> Self {
        assert_eq!(
            self.code,
            Some(1),
            "agent sync should fail with status 1\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// `steward agent sync --server URL --dir DIR --host HOST <args>`, with no STEWARD_* variable
/// inherited and from an empty working directory (no steward.toml).
fn agent(server: &str, dir: &Path, host: &str, args: &[&str]) -> Run {
    let cwd = TempDir::with_prefix("steward-agent-cwd-").expect("cwd");
    let mut cmd = Command::new(bin());
    cmd.args(["agent", "sync", "--server", server, "--host", host])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .current_dir(cwd.path())
        .stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("STEWARD_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.output().expect("running steward agent sync");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file of a directory with its bytes (and mode), to prove a failed sync changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.expect("dir entry");
        let meta = e.metadata().expect("metadata");
        out.insert(
            e.file_name().to_string_lossy().into_owned(),
            (std::fs::read(e.path()).expect("read"), mode(&meta)),
        );
    }
    out
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode(_: &std::fs::Metadata) -> u32 {
    0
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writing a document");
    path.display().to_string()
}

fn str_field(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{field}` in {v}"))
        .to_owned()
}

fn status_row<'a>(status: &'a Value, host: &str) -> &'a Value {
    status["machines"]
        .as_array()
        .and_then(|m| m.iter().find(|r| r["host"] == host))
        .unwrap_or_else(|| panic!("no machine {host} in policy status: {status:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_sync_installs_updates_reports_and_keeps_last_good_policy_on_failure() {
    let server = StewardServer::spawn_fresh(&bin()).await.expect("steward serve");
    let url = server.base_url();
    let admin = |args: &[&str]| server.admin(args).unwrap_or_else(|e| panic!("{e:#}"));

    for email in [DANA, FRANK, ERIN] {
        server.add_user(email).expect("users add");
    }
    admin(&["groups", "create", "eng"]);
    admin(&["groups", "add", "eng", DANA, FRANK]);
    let docs = TempDir::with_prefix("steward-policy-docs-").expect("docs dir");
    let (r1, c1) = (
        write(docs.path(), "r1.toml", REQ_1),
        write(docs.path(), "c1.toml", CFG_1),
    );
    let (r2, c2) = (
        write(docs.path(), "r2.toml", REQ_2),
        write(docs.path(), "c2.toml", CFG_2),
    );
    let created = admin(&[
        "policy",
        "create",
        "strict",
        "--requirements",
        &r1,
        "--managed-config",
        &c1,
    ]);
    let sha_1 = content_sha256(REQ_1, CFG_1);
    assert_eq!(created["sha256"], sha_1.as_str(), "{created:#}");
    admin(&["policy", "assign", "--rule", "eng=strict"]);

    let dana_token = admin(&["tokens", "create", "--user", DANA]);
    let dana = str_field(&dana_token, "token");
    let machines = TempDir::with_prefix("steward-agent-").expect("agent dirs");
    // A directory that does not exist yet, as /etc/codex on a fresh machine.
    let dir = machines.path().join("laptop").join("etc-codex");

    // First sync: both documents, byte for byte, mode 0644, nothing to keep as .previous.
    let first = agent(&url, &dir, "dana-laptop", &["--token", &dana, "--json"])
        .ok()
        .json();
    assert_eq!(first["status"], "updated", "{first:#}");
    assert_eq!(first["policy"], "strict");
    assert_eq!(first["revision"], 1);
    assert_eq!(first["sha256"], sha_1.as_str());
    assert_eq!(first["dir"], dir.display().to_string());
    assert_eq!(first["reported"], true, "{first:#}");
    assert_eq!(read(&dir, "requirements.toml"), REQ_1.as_bytes());
    assert_eq!(read(&dir, "managed_config.toml"), CFG_1.as_bytes());
    assert!(!dir.join("requirements.toml.previous").exists());
    assert!(!dir.join("managed_config.toml.previous").exists());
    let snap = snapshot(&dir);
    for name in ["requirements.toml", "managed_config.toml"] {
        assert_eq!(snap[name].1, 0o644, "{name}");
    }
    assert!(
        snap.keys().all(|n| !n.starts_with('.')),
        "temp files left behind: {:?}",
        snap.keys()
    );

    // Second sync: the server answers 304; nothing is rewritten (same inode and mtime).
    let before = std::fs::metadata(dir.join("requirements.toml")).expect("metadata");
    let again = agent(&url, &dir, "dana-laptop", &["--token", &dana, "--json"])
        .ok()
        .json();
    assert_eq!(again["status"], "unchanged", "{again:#}");
    assert_eq!(
        (again["policy"].clone(), again["revision"].clone()),
        ("strict".into(), 1.into())
    );
    assert_eq!(again["reported"], true);
    let after = std::fs::metadata(dir.join("requirements.toml")).expect("metadata");
    assert_eq!(before.modified().ok(), after.modified().ok());
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&before),
        std::os::unix::fs::MetadataExt::ino(&after)
    );
    assert_eq!(snapshot(&dir), snap);
    let text = agent(&url, &dir, "dana-laptop", &["--token", &dana]).ok();
    assert_eq!(text.stdout.trim(), "up to date (policy \"strict\" revision 1)");

    // A new revision: both files replaced, the old bytes kept as .previous.
    let updated = admin(&[
        "policy",
        "update",
        "strict",
        "--requirements",
        &r2,
        "--managed-config",
        &c2,
    ]);
    assert_eq!(updated["revision"], 2, "{updated:#}");
    let sha_2 = content_sha256(REQ_2, CFG_2);
    let text = agent(&url, &dir, "dana-laptop", &["--token", &dana]).ok();
    assert!(
        text.stdout
            .starts_with("requirements.toml and managed_config.toml in ")
            && text
                .stdout
                .contains("updated to policy \"strict\" revision 2 (sha256 "),
        "{}",
        text.stdout
    );
    assert_eq!(read(&dir, "requirements.toml"), REQ_2.as_bytes());
    assert_eq!(read(&dir, "managed_config.toml"), CFG_2.as_bytes());
    assert_eq!(read(&dir, "requirements.toml.previous"), REQ_1.as_bytes());
    assert_eq!(read(&dir, "managed_config.toml.previous"), CFG_1.as_bytes());

    // The server knows this host enforces revision 2 now, and it is not stale.
    let status = admin(&["policy", "status"]);
    let row = status_row(&status, "dana-laptop");
    assert_eq!(row["email"], DANA, "{row:#}");
    assert_eq!(row["channel"], "agent");
    assert_eq!(row["reported_policy"], "strict");
    assert_eq!(row["reported_revision"], 2);
    assert_eq!(row["reported_sha256"], sha_2.as_str());
    assert_eq!(row["expected_revision"], 2);
    assert_eq!(row["stale"], false, "{status:#}");
    assert!(
        row["client_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("steward-agent/")),
        "{row:#}"
    );

    // A hand-edited file is put back (the edit kept as .previous).
    let edited = format!("{REQ_2}allowed_sandbox_modes = [\"danger-full-access\"]\n");
    std::fs::write(dir.join("requirements.toml"), &edited).expect("editing");
    let healed = agent(&url, &dir, "dana-laptop", &["--token", &dana, "--json"])
        .ok()
        .json();
    assert_eq!(healed["status"], "updated", "{healed:#}");
    assert_eq!(healed["written"], serde_json::json!(["requirements.toml"]));
    assert_eq!(read(&dir, "requirements.toml"), REQ_2.as_bytes());
    assert_eq!(read(&dir, "requirements.toml.previous"), edited.as_bytes());
    assert_eq!(read(&dir, "managed_config.toml.previous"), CFG_1.as_bytes());

    // A workspace (machine) token names the user with --email.
    let fleet = str_field(&admin(&["tokens", "create", "--workspace"]), "token");
    let frank_dir = machines.path().join("frank");
    let frank = agent(
        &url,
        &frank_dir,
        "frank-desktop",
        &["--token", &fleet, "--email", FRANK, "--json"],
    )
    .ok()
    .json();
    assert_eq!(frank["status"], "updated", "{frank:#}");
    assert_eq!(
        (frank["policy"].clone(), frank["revision"].clone()),
        ("strict".into(), 2.into())
    );
    assert_eq!(read(&frank_dir, "requirements.toml"), REQ_2.as_bytes());
    assert_eq!(read(&frank_dir, "managed_config.toml"), CFG_2.as_bytes());
    let status = admin(&["policy", "status"]);
    let row = status_row(&status, "frank-desktop");
    assert_eq!(
        (row["email"].clone(), row["stale"].clone()),
        (FRANK.into(), false.into()),
        "{row:#}"
    );
    // ... read from a token file, too.
    let token_file = machines.path().join("agent-token");
    std::fs::write(&token_file, format!("{fleet}\n")).expect("token file");
    let token_file = token_file.display().to_string();
    let from_file = agent(
        &url,
        &frank_dir,
        "frank-desktop",
        &["--token-file", &token_file, "--email", FRANK, "--json"],
    )
    .ok()
    .json();
    assert_eq!(from_file["status"], "unchanged", "{from_file:#}");

    // Failures leave every file as it was and exit with status 1.
    let kept_dana = snapshot(&dir);
    let kept_frank = snapshot(&frank_dir);

    let unknown = agent(
        &url,
        &frank_dir,
        "frank-desktop",
        &["--token", &fleet, "--email", "nobody@example.com"],
    )
    .failed();
    assert!(
        unknown
            .stderr
            .contains("no user with email \"nobody@example.com\" (404)")
            && unknown.stderr.contains("keeping the policy in force")
            && unknown.stderr.contains("policy \"strict\" revision 2"),
        "{}",
        unknown.stderr
    );
    assert_eq!(snapshot(&frank_dir), kept_frank);

    let no_email = agent(&url, &frank_dir, "frank-desktop", &["--token", &fleet]).failed();
    assert!(
        no_email.stderr.contains("(400)") && no_email.stderr.contains("email"),
        "{}",
        no_email.stderr
    );
    assert_eq!(snapshot(&frank_dir), kept_frank);

    let made_up = agent(
        &url,
        &dir,
        "dana-laptop",
        &["--token", "stw_it_made-up-token", "--json"],
    )
    .failed();
    assert!(
        made_up
            .stderr
            .contains("the server rejected the token (401): it may have been revoked")
            && made_up.stderr.contains("keeping the policy in force")
            && made_up.stderr.contains("policy \"strict\" revision 2"),
        "{}",
        made_up.stderr
    );
    let err = made_up.json();
    assert_eq!(err["status"], "error", "{err:#}");
    assert!(
        err["error"].as_str().is_some_and(|e| e.contains("401")),
        "{err:#}"
    );
    assert_eq!(snapshot(&dir), kept_dana);

    // A revoked token, after a policy change the machine therefore cannot get: it keeps rev 2.
    admin(&["policy", "update", "strict", "--requirements", &r1]);
    admin(&["tokens", "revoke", &str_field(&dana_token, "id")]);
    let revoked = agent(&url, &dir, "dana-laptop", &["--token", &dana]).failed();
    assert!(
        revoked.stderr.contains("the server rejected the token (401)")
            && revoked.stderr.contains("policy \"strict\" revision 2"),
        "{}",
        revoked.stderr
    );
    assert_eq!(snapshot(&dir), kept_dana);
    // ... and the server now lists it as stale (it runs 2, should run 3).
    let status = admin(&["policy", "status"]);
    let row = status_row(&status, "dana-laptop");
    assert_eq!(
        (row["reported_revision"].clone(), row["expected_revision"].clone()),
        (2.into(), 3.into())
    );
    assert_eq!(row["stale"], true, "{row:#}");

    let nowhere = format!("http://127.0.0.1:{}", free_port().expect("port"));
    let unreachable = agent(
        &nowhere,
        &frank_dir,
        "frank-desktop",
        &["--token", &fleet, "--email", FRANK],
    )
    .failed();
    assert!(
        unreachable
            .stderr
            .contains("cannot reach the Steward server at http://127.0.0.1:")
            && unreachable.stderr.contains("keeping the policy in force"),
        "{}",
        unreachable.stderr
    );
    assert_eq!(snapshot(&frank_dir), kept_frank);

    // A user no rule matches, with no default policy: empty files (Codex unconstrained).
    let erin = str_field(&admin(&["tokens", "create", "--user", ERIN]), "token");
    let erin_dir = machines.path().join("erin");
    let empty = agent(&url, &erin_dir, "erin-laptop", &["--token", &erin, "--json"])
        .ok()
        .json();
    assert_eq!(empty["status"], "updated", "{empty:#}");
    assert_eq!(empty["policy"], Value::Null);
    assert_eq!(empty["policy_id"], Value::Null);
    assert_eq!(empty["revision"], Value::Null);
    assert_eq!(empty["sha256"], content_sha256("", "").as_str());
    assert_eq!(empty["matched_by"]["kind"], "none", "{empty:#}");
    assert_eq!(read(&erin_dir, "requirements.toml"), b"");
    assert_eq!(read(&erin_dir, "managed_config.toml"), b"");
    let again = agent(&url, &erin_dir, "erin-laptop", &["--token", &erin]).ok();
    assert_eq!(again.stdout.trim(), "up to date (no policy applies: empty files)");
    let status = admin(&["policy", "status"]);
    let row = status_row(&status, "erin-laptop");
    assert_eq!(row["expected_policy"], Value::Null, "{row:#}");
    assert_eq!(row["stale"], false, "{row:#}");
}
