//! Managed policies over HTTP against a real `steward serve` (SQLite): creating a policy
//! stores revision 1 with its content hash and Codex's warnings; documents Codex would refuse
//! are 422s with every diagnostic's exact line, column and code, and store nothing (the
//! previous revision stays in force); revisions, `based_on_revision`, show at a revision and
//! field diffs; validation without storing; deletion refused while assigned; scopes and
//! workspaces of keys; AUDIT_LOG records with old and new values; malformed bodies.

mod common;
mod compliance;
#[path = "common/policy.rs"]
mod policy;

use std::collections::BTreeMap;

use compliance::collector::{Collector, Cursor};
use compliance::harness::str_field;
use policy::{data, detail, expect_error, expect_forbidden, key_in, ws_path, Body, PolicyEnv};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A valid requirements.toml with one key Codex does not know (a warning on line 3).
const REQ_V1: &str = r#"allowed_approval_policies = ["on-request", "never"]
allowed_sandbox_modes = ["read-only", "workspace-write"]
favourite_colour = "blue"

[rules]
prefix_rules = [
  { pattern = [{ token = "git" }, { token = "push" }], decision = "prompt", justification = "review pushes" },
]
"#;

const MC_V1: &str = "model = \"gpt-5-codex\"\napproval_policy = \"on-request\"\n";

/// Revision 2: one approval policy fewer, the unknown key gone, pushes forbidden.
const REQ_V2: &str = r#"# tightened after the incident review
allowed_approval_policies = ["on-request"]
allowed_sandbox_modes = ["read-only", "workspace-write"]

[rules]
prefix_rules = [
  { pattern = [{ token = "git" }, { token = "push" }], decision = "forbidden", justification = "review pushes" },
]
"#;

const MC_V2: &str = "model = \"gpt-5\"\napproval_policy = \"on-request\"\n";

/// The documented content hash: SHA-256 over each document prefixed by its length (u64 BE).
fn content_sha256(requirements: &str, managed_config: &str) -> String {
    let mut h = Sha256::new();
    for doc in [requirements, managed_config] {
        h.update((doc.len() as u64).to_be_bytes());
        h.update(doc.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One expected diagnostic: line, column, code, path, and words its message must contain.
struct Expected {
    line: u64,
    column: u64,
    code: &'static str,
    path: &'static str,
    mentions: &'static [&'static str],
}

/// A requirements.toml Codex refuses, and the errors it must produce (in position order).
struct Refused {
    what: &'static str,
    document: &'static str,
    text: &'static str,
    errors: Vec<Expected>,
}

fn refused_documents() -> Vec<Refused> {
    let e = |line, column, code, path, mentions| Expected {
        line,
        column,
        code,
        path,
        mentions,
    };
    vec![
        Refused {
            what: "invalid TOML syntax (unclosed array)",
            document: "requirements_toml",
            text: "allowed_sandbox_modes = [\"read-only\"\nfoo = 1\n",
            errors: vec![e(2, 1, "toml_syntax", "", &["TOML"])],
        },
        Refused {
            what: "allowed_sandbox_modes without read-only",
            document: "requirements_toml",
            text: "# strict\nallowed_sandbox_modes = [\"workspace-write\"]\n",
            errors: vec![e(
                2,
                25,
                "sandbox_modes_missing_read_only",
                "allowed_sandbox_modes",
                &["allowed_sandbox_modes", "read-only"],
            )],
        },
        Refused {
            what: "decision = \"allow\" in prefix_rules",
            document: "requirements_toml",
            text:
                "[rules]\nprefix_rules = [\n  { pattern = [{ token = \"rm\" }], decision = \"allow\" },\n]\n",
            errors: vec![e(
                3,
                46,
                "allow_in_prefix_rules",
                "rules.prefix_rules[0].decision",
                &["rules.prefix_rules[0].decision", "allow"],
            )],
        },
        Refused {
            // The column counts characters: "café" is 4 characters but 5 bytes.
            what: "decision = \"allow\" after a non-ASCII token",
            document: "requirements_toml",
            text: "[rules]\nprefix_rules = [{ pattern = [{ token = \"café\" }], decision = \"allow\" }]\n",
            errors: vec![e(
                2,
                62,
                "allow_in_prefix_rules",
                "rules.prefix_rules[0].decision",
                &["decision"],
            )],
        },
        Refused {
            what: "unknown enum value",
            document: "requirements_toml",
            text: "allowed_approval_policies = [\"on-request\", \"sometimes\"]\n",
            errors: vec![e(
                1,
                44,
                "unknown_enum_value",
                "allowed_approval_policies[1]",
                &["allowed_approval_policies", "sometimes", "on-request"],
            )],
        },
        Refused {
            what: "wrong type (a string for an array)",
            document: "requirements_toml",
            text: "allowed_sandbox_modes = \"read-only\"\n",
            errors: vec![e(
                1,
                25,
                "wrong_type",
                "allowed_sandbox_modes",
                &["allowed_sandbox_modes", "array"],
            )],
        },
        Refused {
            what: "two errors in one document, both reported in order",
            document: "requirements_toml",
            text:
                "allowed_approval_policies = [\"sometimes\"]\nallowed_sandbox_modes = [\"workspace-write\"]\n",
            errors: vec![
                e(
                    1,
                    30,
                    "unknown_enum_value",
                    "allowed_approval_policies[0]",
                    &["sometimes"],
                ),
                e(
                    2,
                    25,
                    "sandbox_modes_missing_read_only",
                    "allowed_sandbox_modes",
                    &["read-only"],
                ),
            ],
        },
        Refused {
            what: "managed_config.toml with a wrong type",
            document: "managed_config_toml",
            text: "model = 5\n",
            errors: vec![e(1, 9, "wrong_type", "model", &["model", "string"])],
        },
    ]
}

impl Refused {
    fn docs(&self) -> (String, String) {
        match self.document {
            "requirements_toml" => (self.text.to_owned(), MC_V1.to_owned()),
            _ => (REQ_V1.to_owned(), self.text.to_owned()),
        }
    }

    /// Checks a `diagnostics` object: exactly these errors in this document, none elsewhere.
    fn check(&self, diagnostics: &Value) {
        let what = self.what;
        let other = if self.document == "requirements_toml" {
            "managed_config_toml"
        } else {
            "requirements_toml"
        };
        let errors_of = |doc: &str| -> Vec<Value> {
            diagnostics[doc]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: no {doc} list in {diagnostics}"))
                .iter()
                .filter(|d| d["severity"] == "error")
                .cloned()
                .collect()
        };
        assert!(errors_of(other).is_empty(), "{what}: {diagnostics}");
        let got = errors_of(self.document);
        assert_eq!(got.len(), self.errors.len(), "{what}: {diagnostics}");
        for (d, want) in got.iter().zip(&self.errors) {
            assert_eq!(
                (&d["line"], &d["column"], &d["code"], &d["path"]),
                (
                    &json!(want.line),
                    &json!(want.column),
                    &json!(want.code),
                    &json!(want.path)
                ),
                "{what}: {d}"
            );
            let message = d["message"].as_str().unwrap_or_default();
            for word in want.mentions {
                assert!(message.contains(word), "{what}: message lacks {word:?}: {d}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_policy_stores_revision_1_with_its_hash_and_codex_warnings() {
    let p = PolicyEnv::start().await;
    assert!(p.policy_names().await.is_empty());

    let created = p.create_policy("standard", REQ_V1, MC_V1).await;
    assert_eq!(created["name"], "standard", "{created}");
    assert_eq!(created["revision"], 1, "{created}");
    assert_eq!(created["latest_revision"], 1, "{created}");
    assert_eq!(created["requirements_toml"], REQ_V1);
    assert_eq!(created["managed_config_toml"], MC_V1);
    assert_eq!(created["sha256"], content_sha256(REQ_V1, MC_V1).as_str());
    assert!(str_field(&created, "id").starts_with("pol_"), "{created}");
    // Who: the API key, by id and name, never its secret.
    let keys = p.env.cli_json(&["keys", "list"]);
    let admin = keys
        .as_array()
        .and_then(|a| a.iter().find(|k| k["name"] == "policy-admin"))
        .cloned()
        .expect("the manage key is listed");
    let by = str_field(&created, "revision_created_by");
    assert!(by.contains(&str_field(&admin, "id")), "{by}");
    assert!(!by.contains(&p.manage), "{by}");
    // The unknown key is a warning (Codex ignores it), located where it is written.
    let warnings = created["warnings"].as_array().expect("warnings").clone();
    assert_eq!(warnings.len(), 1, "{created}");
    let w = &warnings[0];
    assert_eq!(
        (&w["severity"], &w["code"], &w["path"], &w["line"], &w["column"]),
        (
            &json!("warning"),
            &json!("unknown_key"),
            &json!("favourite_colour"),
            &json!(3),
            &json!(1)
        ),
        "{w}"
    );
    assert!(w["message"]
        .as_str()
        .unwrap_or_default()
        .contains("favourite_colour"));

    // Stored: listed and shown with the same content.
    let list = data(&p.get_ok("policies").await);
    assert_eq!(list.len(), 1);
    assert_eq!(
        (&list[0]["name"], &list[0]["latest_revision"], &list[0]["id"]),
        (&json!("standard"), &json!(1), &created["id"])
    );
    let shown = p.get_ok("policies/standard").await;
    for field in [
        "id",
        "revision",
        "requirements_toml",
        "managed_config_toml",
        "sha256",
        "warnings",
    ] {
        assert_eq!(shown[field], created[field], "{field}");
    }

    // A name in use is a conflict; a name that cannot be a URL segment is a 400 naming it.
    let again = p
        .call(
            Method::POST,
            "policies",
            json!({ "name": "standard", "requirements_toml": "" }),
        )
        .await;
    let d = expect_error(&again, 409, "conflict", "duplicate name");
    assert!(d.contains("standard"), "{d}");
    let bad = p
        .call(Method::POST, "policies", json!({ "name": "no spaces/here" }))
        .await;
    let d = expect_error(&bad, 400, "bad_request", "bad name");
    assert!(d.starts_with("name"), "{d}");
    assert_eq!(p.policy_names().await, ["standard"]);
    // Unknown policies are 404s naming them.
    let r = p.get("policies/nope").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains("nope"), "{}", r.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_codex_would_refuse_are_422_with_exact_positions_and_store_nothing() {
    let p = PolicyEnv::start().await;
    let original = p.create_policy("standard", REQ_V1, MC_V1).await;

    for case in refused_documents() {
        let what = case.what;
        let (req, mc) = case.docs();

        // Creating: refused, nothing stored.
        let r = p
            .call(
                Method::POST,
                "policies",
                json!({ "name": "bad", "requirements_toml": req, "managed_config_toml": mc }),
            )
            .await;
        let d = expect_error(&r, 422, "invalid_policy", what);
        let first = &case.errors[0];
        assert!(
            d.contains(&format!("{}:{}:{}", case.document, first.line, first.column)),
            "{what}: {d}"
        );
        case.check(&r.json()["diagnostics"]);
        assert_eq!(p.policy_names().await, ["standard"], "{what}");
        assert_eq!(p.get("policies/bad").await.status, 404, "{what}");

        // Updating: refused, the previous revision stays in force, unchanged.
        let r = p
            .call(
                Method::PUT,
                "policies/standard",
                json!({ "requirements_toml": req, "managed_config_toml": mc, "based_on_revision": 1 }),
            )
            .await;
        expect_error(&r, 422, "invalid_policy", what);
        case.check(&r.json()["diagnostics"]);
        let shown = p.get_ok("policies/standard").await;
        assert_eq!(
            (
                &shown["revision"],
                &shown["latest_revision"],
                &shown["requirements_toml"],
                &shown["managed_config_toml"],
                &shown["sha256"]
            ),
            (
                &json!(1),
                &json!(1),
                &json!(REQ_V1),
                &json!(MC_V1),
                &original["sha256"]
            ),
            "{what}"
        );
        let revisions = data(&p.get_ok("policies/standard/revisions").await);
        assert_eq!(revisions.len(), 1, "{what}");

        // The validate endpoint reports the same diagnostics, with 200 and valid: false.
        let r = p
            .call(
                Method::POST,
                "policies/validate",
                json!({ "requirements_toml": req, "managed_config_toml": mc }),
            )
            .await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        assert_eq!(r.json()["valid"], false, "{what}");
        case.check(&r.json()["diagnostics"]);
    }
    // An update naming a policy that does not exist is a 404, even with valid documents.
    let r = p
        .call(
            Method::PUT,
            "policies/ghost",
            json!({ "requirements_toml": REQ_V1 }),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains("ghost"));
    assert_eq!(p.policy_names().await, ["standard"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_are_revisions_that_can_be_shown_listed_and_diffed() {
    let p = PolicyEnv::start().await;
    let v1 = p.create_policy("standard", REQ_V1, MC_V1).await;

    let r = p
        .call(
            Method::PUT,
            "policies/standard",
            json!({ "requirements_toml": REQ_V2, "managed_config_toml": MC_V2,
                    "based_on_revision": 1, "comment": "incident 42", "description": "most engineers" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = r.json();
    assert_eq!((&v2["revision"], &v2["latest_revision"]), (&json!(2), &json!(2)));
    assert_eq!(v2["id"], v1["id"], "same policy");
    assert_eq!(v2["sha256"], content_sha256(REQ_V2, MC_V2).as_str());
    assert_ne!(v2["sha256"], v1["sha256"]);
    assert_eq!(v2["comment"], "incident 42");
    assert_eq!(v2["description"], "most engineers");
    assert_eq!(v2["warnings"], json!([]), "the unknown key is gone");

    // An edit based on revision 1 is now stale: 409, and nothing changes.
    let r = p
        .call(
            Method::PUT,
            "policies/standard",
            json!({ "requirements_toml": REQ_V1, "managed_config_toml": MC_V1, "based_on_revision": 1 }),
        )
        .await;
    expect_error(&r, 409, "conflict", "stale based_on_revision");
    let latest = p.get_ok("policies/standard").await;
    assert_eq!(
        (
            &latest["revision"],
            &latest["sha256"],
            &latest["requirements_toml"]
        ),
        (&json!(2), &v2["sha256"], &json!(REQ_V2))
    );

    // Old revisions stay readable.
    let old = p.get_ok("policies/standard?revision=1").await;
    assert_eq!(
        (
            &old["revision"],
            &old["latest_revision"],
            &old["requirements_toml"],
            &old["managed_config_toml"],
            &old["sha256"]
        ),
        (&json!(1), &json!(2), &json!(REQ_V1), &json!(MC_V1), &v1["sha256"])
    );
    assert_eq!(old["warnings"].as_array().map(Vec::len), Some(1), "{old}");
    let r = p.get("policies/standard?revision=3").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains('3'), "{}", r.text());

    let revisions = data(&p.get_ok("policies/standard/revisions").await);
    let summary: Vec<(Value, Value, Value, Value)> = revisions
        .iter()
        .map(|r| {
            (
                r["revision"].clone(),
                r["sha256"].clone(),
                r["comment"].clone(),
                r["requirements_toml"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(1), v1["sha256"].clone(), json!(""), json!(REQ_V1)),
            (
                json!(2),
                v2["sha256"].clone(),
                json!("incident 42"),
                json!(REQ_V2)
            ),
        ]
    );

    // The diff lists settings, not lines: the comment and reformatting do not show.
    let expected = json!([
        { "document": "requirements_toml", "path": "allowed_approval_policies",
          "old": ["on-request", "never"], "new": ["on-request"] },
        { "document": "requirements_toml", "path": "favourite_colour", "old": "blue", "new": null },
        { "document": "requirements_toml", "path": "rules.prefix_rules[0].decision",
          "old": "prompt", "new": "forbidden" },
        { "document": "managed_config_toml", "path": "model", "old": "gpt-5-codex", "new": "gpt-5" },
    ]);
    for query in ["diff?from=1&to=2", "diff?from=1"] {
        let diff = p.get_ok(&format!("policies/standard/{query}")).await;
        assert_eq!((&diff["from"], &diff["to"]), (&json!(1), &json!(2)), "{query}");
        assert_eq!(diff["policy"], "standard");
        assert_eq!(diff["changes"], expected, "{query}");
    }
    let back = p.get_ok("policies/standard/diff?from=2&to=1").await;
    let reversed: Vec<(Value, Value, Value)> = back["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["path"].clone(), c["old"].clone(), c["new"].clone()))
        .collect();
    assert_eq!(
        reversed[2],
        (
            json!("rules.prefix_rules[0].decision"),
            json!("forbidden"),
            json!("prompt")
        )
    );
    let same = p.get_ok("policies/standard/diff?from=2&to=2").await;
    assert_eq!(same["changes"], json!([]));

    // Bad parameters: 400 JSON naming the parameter.
    for (query, names) in [
        ("policies/standard?revision=abc", "revision"),
        ("policies/standard/diff?from=abc", "from"),
        ("policies/standard/diff?from=1&to=x", "to"),
        ("policies/standard/diff", "from"),
        // A misspelt parameter is refused, not ignored (which would show the latest).
        ("policies/standard?revison=1", "revison"),
        ("policies/standard/diff?from=1&too=1", "too"),
    ] {
        let r = p.get(query).await;
        let d = expect_error(&r, 400, "bad_request", query);
        assert!(d.contains(names), "{query}: {d}");
    }
    // An update without based_on_revision goes on top of the latest.
    let r = p
        .call(
            Method::PUT,
            "policies/standard",
            json!({ "requirements_toml": REQ_V1 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["revision"], 3);
    assert_eq!(
        r.json()["managed_config_toml"],
        "",
        "a PUT replaces both documents"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_answers_valid_and_diagnostics_without_storing() {
    let p = PolicyEnv::start().await;
    for bearer in [&p.manage, &p.read] {
        let r = p
            .send(
                Method::POST,
                &p.path("policies/validate"),
                Some(bearer),
                Some(Body::Json(
                    json!({ "requirements_toml": REQ_V1, "managed_config_toml": MC_V1 }),
                )),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["valid"], true, "{v}");
        let warnings = v["diagnostics"]["requirements_toml"]
            .as_array()
            .expect("list")
            .clone();
        assert_eq!(warnings.len(), 1, "{v}");
        assert_eq!(
            (&warnings[0]["code"], &warnings[0]["line"]),
            (&json!("unknown_key"), &json!(3))
        );
        assert_eq!(v["diagnostics"]["managed_config_toml"], json!([]));
    }
    let r = p
        .call(
            Method::POST,
            "policies/validate",
            json!({ "requirements_toml": "" }),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({ "valid": true, "diagnostics": {
        "requirements_toml": [], "managed_config_toml": [] } })
    );
    assert!(p.policy_names().await.is_empty(), "validation stores nothing");
    assert_eq!(data(&p.get_ok("policies").await), Vec::<Value>::new());
    // ... and audits nothing.
    p.env.seal();
    let mut cur = Cursor::default();
    Collector::new(&p.env, "AUDIT_LOG", 100).drain(&mut cur).await;
    assert!(!cur.records.is_empty(), "the setup's key creations are audited");
    let policy_actions: Vec<&Value> = cur
        .records
        .iter()
        .filter(|r| r["action"].as_str().is_some_and(|a| a.starts_with("policy.")))
        .collect();
    assert!(policy_actions.is_empty(), "{policy_actions:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_in_use_cannot_be_deleted_and_its_name_is_reusable_after() {
    let p = PolicyEnv::start().await;
    let first = p.create_policy("strict", REQ_V1, "").await;
    p.create_policy("baseline", REQ_V2, "").await;
    p.create_group("sec").await;
    p.assign_ok(&[("sec", "strict")], Some("baseline"), Some(0), false)
        .await;

    for (name, why) in [("strict", "a rule"), ("baseline", "the default")] {
        let r = p
            .send(
                Method::DELETE,
                &p.path(&format!("policies/{name}")),
                Some(&p.manage),
                None,
            )
            .await;
        let d = expect_error(&r, 409, "conflict", why);
        assert!(d.contains("assignment"), "{why}: {d}");
    }
    assert_eq!(p.policy_names().await, ["baseline", "strict"]);
    assert_eq!(p.get_ok("policies/strict").await["id"], first["id"]);

    // Once unassigned: 204, then gone (404 to show, list, delete again).
    p.assign_ok(&[], None, Some(1), false).await;
    for name in ["strict", "baseline"] {
        let path = p.path(&format!("policies/{name}"));
        let r = p.send(Method::DELETE, &path, Some(&p.manage), None).await;
        assert_eq!(r.status, 204, "{name}: {}", r.text());
        assert!(r.body.is_empty());
        assert_eq!(p.get(&format!("policies/{name}")).await.status, 404);
        assert_eq!(p.get(&format!("policies/{name}/revisions")).await.status, 404);
        let r = p.send(Method::DELETE, &path, Some(&p.manage), None).await;
        assert_eq!(r.status, 404, "{name} again: {}", r.text());
    }
    assert!(p.policy_names().await.is_empty());
    // A deleted policy cannot be assigned.
    let r = p.assign(&[("sec", "strict")], None, None, false).await;
    assert_eq!(r.status, 404, "{}", r.text());

    // The name is free again: a new policy, starting at revision 1 with its own history.
    let again = p.create_policy("strict", REQ_V2, MC_V2).await;
    assert_eq!(again["revision"], 1);
    assert_ne!(again["id"], first["id"]);
    let revisions = data(&p.get_ok("policies/strict/revisions").await);
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0]["requirements_toml"], REQ_V2);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_need_the_policy_scopes_and_their_own_workspace() {
    let p = PolicyEnv::start().await;
    p.create_policy("standard", REQ_V1, MC_V1).await;
    p.create_group("eng").await;
    let ws = p.ws().to_owned();
    let reads = [
        "policies",
        "policies/standard",
        "policies/standard?revision=1",
        "policies/standard/revisions",
        "policies/standard/diff?from=1",
        "policy_assignment",
        "policy_lookup?group=eng",
        "policy_status",
        "groups",
        "groups/eng/members",
    ];
    let create = json!({ "name": "other", "requirements_toml": "" });
    let update = json!({ "requirements_toml": REQ_V2 });
    let assign = policy::assignment_body(&[("eng", "standard")], None, None);
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, "policies".into(), Some(create)),
        (Method::PUT, "policies/standard".into(), Some(update)),
        (Method::DELETE, "policies/standard".into(), None),
        (Method::PUT, "policy_assignment".into(), Some(assign)),
        (Method::POST, "groups".into(), Some(json!({ "name": "ops" }))),
        (Method::DELETE, "groups/eng".into(), None),
        (
            Method::PUT,
            format!("groups/eng/members/{}", compliance::harness::USER),
            None,
        ),
    ];
    let send = |method: Method, tail: &str, bearer: Option<String>, body: Option<Value>, ws: &str| {
        let path = ws_path(ws, tail);
        let env = &p.env;
        async move { policy::send(env, method, &path, bearer.as_deref(), body.map(Body::Json)).await }
    };

    // policies.read: every read, no write.
    for tail in reads {
        let r = send(Method::GET, tail, Some(p.read.clone()), None, &ws).await;
        assert_eq!(r.status, 200, "read key GET {tail}: {}", r.text());
    }
    for (method, tail, body) in &writes {
        let r = send(method.clone(), tail, Some(p.read.clone()), body.clone(), &ws).await;
        expect_forbidden(&r, "insufficient_scope", &format!("read key {method} {tail}"));
        let message = r.json()["detail"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("policies.manage"), "{message}");
    }

    // Keys of other APIs, and no key or a wrong one.
    let analytics = p.env.create_key("codex.enterprise.analytics.read");
    let compliance_key = p.env.key.clone();
    for other in [&analytics, &compliance_key, &p.env.ingest_token] {
        for tail in ["policies", "policy_lookup?group=eng"] {
            let r = send(Method::GET, tail, Some(other.clone()), None, &ws).await;
            expect_forbidden(&r, "insufficient_scope", &format!("GET {tail}"));
            let message = r.json()["detail"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(message.contains("policies.read"), "GET {tail}: {message}");
        }
        let (method, tail, body) = &writes[0];
        let r = send(method.clone(), tail, Some(other.clone()), body.clone(), &ws).await;
        expect_forbidden(&r, "insufficient_scope", "POST policies");
    }
    for bearer in [None, Some("stw_ak_not-a-real-key".to_owned())] {
        for tail in reads {
            let r = send(Method::GET, tail, bearer.clone(), None, &ws).await;
            assert_eq!(r.status, 401, "GET {tail} with {bearer:?}: {}", r.text());
            assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
        }
        for (method, tail, body) in &writes {
            let r = send(method.clone(), tail, bearer.clone(), body.clone(), &ws).await;
            assert_eq!(r.status, 401, "{method} {tail} with {bearer:?}: {}", r.text());
        }
    }

    // A second workspace: its keys are refused here, and ours there.
    let ws2 = {
        let store = steward_store_sqlite::SqliteStore::open(&p.env.data_dir().join("steward.db"))
            .await
            .expect("open the server's database");
        steward_store::Store::create_workspace(&store, "Second")
            .await
            .expect("second workspace")
            .id
    };
    let manage2 = key_in(
        &p.env,
        &["policies.manage"],
        "ws2-admin",
        &["--workspace-id", &ws2],
    );
    let read2 = key_in(
        &p.env,
        &["policies.read"],
        "ws2-reader",
        &["--workspace-id", &ws2],
    );
    for (bearer, on) in [(&manage2, &ws), (&read2, &ws), (&p.manage, &ws2), (&p.read, &ws2)] {
        for tail in reads {
            let r = send(Method::GET, tail, Some(bearer.clone()), None, on).await;
            expect_forbidden(&r, "workspace_mismatch", &format!("GET {tail} on {on}"));
        }
    }
    for (bearer, on) in [(&manage2, &ws), (&p.manage, &ws2)] {
        for (method, tail, body) in &writes {
            let r = send(method.clone(), tail, Some(bearer.clone()), body.clone(), on).await;
            expect_forbidden(&r, "workspace_mismatch", &format!("{method} {tail} on {on}"));
        }
    }
    // The second workspace's own key works there and sees only its own (empty) policies.
    let r = send(Method::GET, "policies", Some(manage2.clone()), None, &ws2).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(data(&r.json()), Vec::<Value>::new());
    let r = send(
        Method::POST,
        "policies",
        Some(manage2.clone()),
        Some(json!({ "name": "standard", "requirements_toml": REQ_V2 })),
        &ws2,
    )
    .await;
    assert_eq!(r.status, 201, "the same name in another workspace: {}", r.text());

    // None of the refused writes changed anything here.
    assert_eq!(p.policy_names().await, ["standard"]);
    let shown = p.get_ok("policies/standard").await;
    assert_eq!(
        (&shown["revision"], &shown["requirements_toml"]),
        (&json!(1), &json!(REQ_V1))
    );
    assert_eq!(p.assignment().await["version"], 0);
    let groups: Vec<String> = data(&p.get_ok("groups").await)
        .iter()
        .map(|g| str_field(g, "name"))
        .collect();
    assert_eq!(groups, ["eng"]);
    assert_eq!(data(&p.get_ok("groups/eng/members").await), Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_an_audit_log_record_with_old_and_new_values() {
    let p = PolicyEnv::start().await;
    let user = compliance::harness::USER;
    p.create_group("eng").await;
    p.add_member("eng", user).await;
    let v1 = p.create_policy("standard", REQ_V1, MC_V1).await;
    // Refused changes leave no record.
    let r = p
        .call(
            Method::POST,
            "policies",
            json!({ "name": "bad", "requirements_toml": "x = [" }),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = p
        .call(
            Method::PUT,
            "policies/standard",
            json!({ "requirements_toml": "x = [" }),
        )
        .await;
    assert_eq!(r.status, 422);
    let r = p
        .call(
            Method::PUT,
            "policies/standard",
            json!({ "requirements_toml": REQ_V2, "managed_config_toml": MC_V2, "comment": "tighten" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = r.json();
    let assigned = p.assign_ok(&[("eng", "standard")], None, Some(0), false).await;
    assert_eq!(assigned["assignment"]["version"], 1);
    // A dry run is not a change.
    p.assign_ok(&[], Some("standard"), Some(1), true).await;
    p.assign_ok(&[], None, Some(1), false).await;
    let r = p
        .send(
            Method::DELETE,
            &p.path("policies/standard"),
            Some(&p.manage),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());

    p.env.seal();
    let mut cur = Cursor::default();
    Collector::new(&p.env, "AUDIT_LOG", 100).drain(&mut cur).await;
    let mut by_action: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in cur.records {
        by_action.entry(str_field(&r, "action")).or_default().push(r);
    }
    let one = |action: &str| -> Value {
        let records = by_action.get(action).cloned().unwrap_or_default();
        assert_eq!(
            records.len(),
            1,
            "{action}: {records:?} of {:?}",
            by_action.keys()
        );
        records[0].clone()
    };
    let keys = p.env.cli_json(&["keys", "list"]);
    let admin_id = keys
        .as_array()
        .and_then(|a| a.iter().find(|k| k["name"] == "policy-admin"))
        .map(|k| str_field(k, "id"))
        .expect("the manage key is listed");
    let actor = json!({ "type": "API_KEY", "credential_id": admin_id, "name": "policy-admin" });

    let group = one("group.created");
    assert_eq!(group["action_data"]["old"], Value::Null);
    assert_eq!(group["action_data"]["new"]["name"], "eng");
    let member = one("group.member_added");
    assert_eq!(member["action_data"]["old"], Value::Null);
    assert_eq!(
        (
            &member["action_data"]["new"]["group"],
            &member["action_data"]["new"]["email"]
        ),
        (&json!("eng"), &json!(user))
    );

    let created = one("policy.created");
    let new = &created["action_data"]["new"];
    assert_eq!(created["action_data"]["old"], Value::Null);
    assert_eq!(
        (
            &new["name"],
            &new["revision"],
            &new["sha256"],
            &new["requirements_toml"],
            &new["managed_config_toml"]
        ),
        (
            &json!("standard"),
            &json!(1),
            &v1["sha256"],
            &json!(REQ_V1),
            &json!(MC_V1)
        )
    );

    let updated = one("policy.updated");
    let (old, new) = (&updated["action_data"]["old"], &updated["action_data"]["new"]);
    assert_eq!(
        (
            &old["revision"],
            &old["sha256"],
            &old["requirements_toml"],
            &old["managed_config_toml"]
        ),
        (&json!(1), &v1["sha256"], &json!(REQ_V1), &json!(MC_V1))
    );
    assert_eq!(
        (
            &new["revision"],
            &new["sha256"],
            &new["requirements_toml"],
            &new["managed_config_toml"],
            &new["comment"]
        ),
        (
            &json!(2),
            &v2["sha256"],
            &json!(REQ_V2),
            &json!(MC_V2),
            &json!("tighten")
        )
    );

    let changes = by_action
        .get("policy.assignment_changed")
        .cloned()
        .unwrap_or_default();
    assert_eq!(changes.len(), 2, "the dry run is not recorded: {changes:?}");
    let (first, second) = (&changes[0]["action_data"], &changes[1]["action_data"]);
    assert_eq!(first["old"]["version"], 0);
    assert_eq!(first["old"]["rules"], json!([]));
    assert_eq!(first["new"]["version"], 1);
    let rule = &first["new"]["rules"][0];
    assert_eq!(
        (&rule["position"], &rule["group"], &rule["policy"]),
        (&json!(1), &json!("eng"), &json!("standard"))
    );
    assert_eq!(
        (&second["old"]["version"], &second["new"]["version"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(second["old"]["rules"], first["new"]["rules"]);
    assert_eq!(second["new"]["rules"], json!([]));

    let deleted = one("policy.deleted");
    assert_eq!(deleted["action_data"]["new"], Value::Null);
    assert_eq!(
        (
            &deleted["action_data"]["old"]["name"],
            &deleted["action_data"]["old"]["revision"]
        ),
        (&json!("standard"), &json!(2))
    );

    for action in [
        "group.created",
        "group.member_added",
        "policy.created",
        "policy.updated",
        "policy.deleted",
    ] {
        assert_eq!(one(action)["actor"], actor, "{action}");
    }
    for r in &changes {
        assert_eq!(r["actor"], actor);
    }
    let text = serde_json::to_string(&by_action).expect("serialise");
    assert!(!text.contains(&p.manage), "no secret in the audit log");
    assert!(
        !text.contains("\"bad\""),
        "a refused policy left a record: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_400_naming_the_problem_and_store_nothing() {
    let p = PolicyEnv::start().await;
    p.create_policy("standard", REQ_V1, MC_V1).await;
    p.create_group("eng").await;
    let raw = |s: &str| Body::Raw {
        content_type: Some("application/json"),
        bytes: s.as_bytes().to_vec(),
    };
    let cases: Vec<(Method, &str, Body, &[&str])> = vec![
        (
            Method::POST,
            "policies",
            raw("{\"name\": \"x\","),
            &["request body"],
        ),
        (Method::POST, "policies", raw("[]"), &["request body"]),
        (
            Method::POST,
            "policies",
            raw("{\"requirements_toml\": \"\"}"),
            &["name"],
        ),
        (Method::POST, "policies", raw("{\"name\": 5}"), &["name"]),
        (
            Method::POST,
            "policies",
            raw("{\"name\": \"x\", \"requirement_toml\": \"\"}"),
            &["requirement_toml"],
        ),
        (
            Method::POST,
            "policies",
            Body::Raw {
                content_type: Some("text/plain"),
                bytes: b"{\"name\": \"x\"}".to_vec(),
            },
            &["Content-Type"],
        ),
        (
            Method::POST,
            "policies",
            Body::Raw {
                content_type: None,
                bytes: Vec::new(),
            },
            &["Content-Type"],
        ),
        (
            Method::PUT,
            "policies/standard",
            raw("{\"requirements_toml\": \"\", \"based_on\": 1}"),
            &["based_on"],
        ),
        (
            Method::PUT,
            "policies/standard",
            raw("{\"based_on_revision\": \"one\"}"),
            &["based_on_revision"],
        ),
        (
            Method::POST,
            "policies/validate",
            raw("{\"requirements\": \"allowed_sandbox_modes = 1\"}"),
            &["requirements"],
        ),
        (
            Method::PUT,
            "policy_assignment",
            raw("{\"rules\": [], \"default\": \"standard\"}"),
            &["default"],
        ),
        (
            Method::PUT,
            "policy_assignment",
            raw("{\"rules\": [{\"group\": \"eng\", \"policy\": \"standard\", \"priority\": 1}]}"),
            &["priority"],
        ),
        (
            Method::PUT,
            "policy_assignment",
            raw("{\"rules\": [{\"group\": \"eng\"}]}"),
            &["policy"],
        ),
        (
            Method::PUT,
            "policy_assignment",
            raw("{\"rules\": 1}"),
            &["rules"],
        ),
        (
            Method::PUT,
            "policy_assignment?dry_run=maybe",
            raw("{\"rules\": []}"),
            &["dry_run"],
        ),
        // A misspelt dry_run must not apply the change.
        (
            Method::PUT,
            "policy_assignment?dryrun=true",
            raw("{\"rules\": [{\"group\": \"eng\", \"policy\": \"standard\"}]}"),
            &["dryrun"],
        ),
        (
            Method::POST,
            "groups",
            raw("{\"name\": \"ops\", \"members\": []}"),
            &["members"],
        ),
    ];
    for (method, tail, body, mentions) in cases {
        let what = format!("{method} {tail}");
        let r = p.send(method, &p.path(tail), Some(&p.manage), Some(body)).await;
        let d = expect_error(&r, 400, "bad_request", &what);
        for word in mentions {
            assert!(d.contains(word), "{what}: {d:?} lacks {word:?}");
        }
    }
    // Nothing was stored or changed.
    assert_eq!(p.policy_names().await, ["standard"]);
    let shown = p.get_ok("policies/standard").await;
    assert_eq!(
        (&shown["revision"], &shown["requirements_toml"]),
        (&json!(1), &json!(REQ_V1))
    );
    let a = p.assignment().await;
    assert_eq!(
        (&a["version"], &a["rules"], &a["default_policy"]),
        (&json!(0), &json!([]), &Value::Null)
    );
    let groups: Vec<String> = data(&p.get_ok("groups").await)
        .iter()
        .map(|g| str_field(g, "name"))
        .collect();
    assert_eq!(groups, ["eng"]);
}
