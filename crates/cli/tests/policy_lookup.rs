//! "Which policy applies to whom, and why" against a real `steward serve` (SQLite), over HTTP
//! and the CLI: the first rule whose group contains the user wins (a policy applies whole),
//! else the default, else none; for users in several groups, in one, in none, and after the
//! rules are reordered; dry runs list exactly who would change and store nothing; unknown
//! users, groups and policies are 404s naming them; concurrent changes are 409s.

mod common;
mod compliance;
#[path = "common/policy.rs"]
mod policy;

use compliance::harness::{str_field, USER};
use policy::{data, detail, expect_error, PolicyEnv};
use reqwest::Method;
use serde_json::{json, Value};

const ALICE: &str = "alice@example.com"; // sec + eng
const BOB: &str = "bob@example.com"; // eng + contractors
const CAROL: &str = "carol@example.com"; // contractors
const DAVE: &str = "dave@example.com"; // no group (like USER, created by the harness)

const STRICT: &str = "allowed_approval_policies = [\"untrusted\"]\nallowed_sandbox_modes = [\"read-only\"]\n";
const STANDARD: &str =
    "allowed_approval_policies = [\"on-request\"]\nallowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n";
const BASELINE: &str = "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n";

struct Setup {
    p: PolicyEnv,
    /// user id by email.
    ids: std::collections::BTreeMap<String, String>,
    /// The policies as created (id, sha256, revision).
    strict: Value,
    standard: Value,
    baseline: Value,
}

/// Groups sec, eng (over HTTP) and contractors (with the CLI); four users besides the
/// harness's; policies strict, standard, baseline; no assignment yet.
async fn setup() -> Setup {
    let p = PolicyEnv::start().await;
    let mut ids = std::collections::BTreeMap::new();
    for email in [ALICE, BOB, CAROL, DAVE] {
        ids.insert(email.to_owned(), p.env.server.add_user(email).expect("users add"));
    }
    let users = p.env.cli_json(&["users", "list"]);
    let harness_user = users
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == USER))
        .map(|u| str_field(u, "id"))
        .expect("the harness's user");
    ids.insert(USER.to_owned(), harness_user);

    p.create_group("sec").await;
    p.create_group("eng").await;
    let g = p.env.cli_json(&["groups", "create", "contractors"]);
    assert_eq!(g["name"], "contractors", "{g}");
    p.add_member("sec", ALICE).await;
    p.add_member("eng", ALICE).await;
    p.add_member("eng", BOB).await;
    let added = p.env.cli_json(&["groups", "add", "contractors", BOB, CAROL]);
    assert_eq!(
        added,
        json!({ "group": "contractors", "member": true, "changed": [BOB, CAROL] })
    );
    let groups: Vec<(String, Value)> = data(&p.get_ok("groups").await)
        .iter()
        .map(|g| (str_field(g, "name"), g["members"].clone()))
        .collect();
    assert_eq!(
        groups,
        vec![
            ("contractors".to_owned(), json!(2)),
            ("eng".to_owned(), json!(2)),
            ("sec".to_owned(), json!(1)),
        ]
    );
    let members = data(&p.get_ok("groups/eng/members").await);
    assert_eq!(members, vec![json!(ALICE), json!(BOB)]);

    let strict = p.create_policy("strict", STRICT, "").await;
    let standard = p.create_policy("standard", STANDARD, "").await;
    let baseline = p.create_policy("baseline", BASELINE, "").await;
    Setup {
        p,
        ids,
        strict,
        standard,
        baseline,
    }
}

impl Setup {
    fn id(&self, email: &str) -> String {
        self.ids[email].clone()
    }

    /// `{id, name, revision, sha256}` of a policy as the lookup shows it.
    fn policy_ref(&self, name: &str) -> Value {
        let p = match name {
            "strict" => &self.strict,
            "standard" => &self.standard,
            "baseline" => &self.baseline,
            other => panic!("no policy {other}"),
        };
        json!({ "id": p["id"], "name": name, "revision": p["revision"], "sha256": p["sha256"] })
    }

    async fn lookup(&self, query: &str) -> Value {
        self.p.get_ok(&format!("policy_lookup?{query}")).await
    }

    async fn lookup_email(&self, email: &str) -> Value {
        self.lookup(&format!("email={email}")).await
    }

    /// One change of a (dry-run) assignment.
    fn change(&self, email: &str, from: Option<&str>, to: Option<&str>, matched_by: Value) -> Value {
        json!({ "user_id": self.id(email), "email": email, "from": from, "to": to, "matched_by": matched_by })
    }
}

/// `(group, policy)` pairs of an assignment, in order.
type Rules<'a> = &'a [(&'a str, &'a str)];

fn rule(position: usize, group: &str) -> Value {
    json!({ "kind": "rule", "position": position, "group": group })
}

fn outcome(position: usize, group: &str, policy: &str, matched: bool) -> Value {
    json!({ "position": position, "group": group, "policy": policy, "matched": matched })
}

/// `(position, group, policy)` of the assignment's rules.
fn rules_of(assignment: &Value) -> Vec<(Value, Value, Value)> {
    assignment["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules: {assignment}"))
        .iter()
        .map(|r| (r["position"].clone(), r["group"].clone(), r["policy"].clone()))
        .collect()
}

fn explanation(lookup: &Value) -> String {
    str_field(lookup, "explanation")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_matching_rule_wins_then_the_default_and_reordering_changes_who_gets_what() {
    let s = setup().await;
    let p = &s.p;
    // Before any assignment: version 0, nobody managed.
    let a0 = p.assignment().await;
    assert_eq!(
        (&a0["version"], &a0["rules"], &a0["default_policy"]),
        (&json!(0), &json!([]), &Value::Null)
    );

    let out = p
        .assign_ok(
            &[("sec", "strict"), ("eng", "standard")],
            Some("baseline"),
            Some(0),
            false,
        )
        .await;
    assert_eq!(out["dry_run"], false);
    assert_eq!(out["assignment"]["version"], 1);
    assert_eq!(
        out["changes"],
        json!([
            s.change(ALICE, None, Some("strict"), rule(1, "sec")),
            s.change(BOB, None, Some("standard"), rule(2, "eng")),
            s.change(CAROL, None, Some("baseline"), json!({ "kind": "default" })),
            s.change(DAVE, None, Some("baseline"), json!({ "kind": "default" })),
            s.change(USER, None, Some("baseline"), json!({ "kind": "default" })),
        ])
    );
    let a1 = p.assignment().await;
    assert_eq!(a1["version"], 1);
    assert_eq!(a1["default_policy"], "baseline");
    assert_eq!(
        rules_of(&a1),
        vec![
            (json!(1), json!("sec"), json!("strict")),
            (json!(2), json!("eng"), json!("standard")),
        ]
    );

    // In sec and eng: rule 1 wins; rule 2 is never looked at.
    let alice = s.lookup_email(ALICE).await;
    assert_eq!(alice["email"], ALICE);
    assert_eq!(alice["user_id"], s.id(ALICE).as_str());
    assert_eq!(alice["groups"], json!(["eng", "sec"]));
    assert_eq!(alice["policy"], s.policy_ref("strict"));
    assert_eq!(alice["matched_by"], rule(1, "sec"));
    assert_eq!(alice["evaluated"], json!([outcome(1, "sec", "strict", true)]));
    assert_eq!(alice["assignment_version"], 1);
    let e = explanation(&alice);
    for part in [ALICE, "\"strict\" revision 1", "rule 1", "\"sec\""] {
        assert!(e.contains(part), "{part:?} in {e:?}");
    }

    // In eng (and contractors, which no rule names): rule 2, after rule 1 did not match.
    let bob = s.lookup_email(BOB).await;
    assert_eq!(bob["groups"], json!(["contractors", "eng"]));
    assert_eq!(bob["policy"], s.policy_ref("standard"));
    assert_eq!(bob["matched_by"], rule(2, "eng"));
    assert_eq!(
        bob["evaluated"],
        json!([
            outcome(1, "sec", "strict", false),
            outcome(2, "eng", "standard", true)
        ])
    );
    let e = explanation(&bob);
    for part in [
        BOB,
        "\"standard\" revision 1",
        "rule 2",
        "\"eng\"",
        "rule 1 did not match",
    ] {
        assert!(e.contains(part), "{part:?} in {e:?}");
    }

    // In a group no rule names, and in none: the default, after every rule.
    for (email, groups) in [(CAROL, json!(["contractors"])), (DAVE, json!([]))] {
        let l = s.lookup_email(email).await;
        assert_eq!(l["groups"], groups, "{email}");
        assert_eq!(l["policy"], s.policy_ref("baseline"), "{email}");
        assert_eq!(l["matched_by"], json!({ "kind": "default" }), "{email}");
        assert_eq!(
            l["evaluated"],
            json!([
                outcome(1, "sec", "strict", false),
                outcome(2, "eng", "standard", false)
            ]),
            "{email}"
        );
        let e = explanation(&l);
        assert!(e.contains("default") && e.contains("\"baseline\""), "{e}");
    }
    // Emails match case-insensitively, as everywhere else.
    let upper = s.lookup_email("ALICE@Example.com").await;
    assert_eq!(upper["user_id"], s.id(ALICE).as_str());
    assert_eq!(upper["email"], ALICE, "the email on record");
    assert_eq!(upper["policy"], s.policy_ref("strict"));

    // By group: a member of exactly that group.
    for (group, policy, matched_by) in [
        ("sec", "strict", rule(1, "sec")),
        ("eng", "standard", rule(2, "eng")),
        ("contractors", "baseline", json!({ "kind": "default" })),
    ] {
        let l = s.lookup(&format!("group={group}")).await;
        assert_eq!(l["policy"], s.policy_ref(policy), "{group}: {l}");
        assert_eq!(l["matched_by"], matched_by, "{group}");
        assert_eq!(
            (&l["email"], &l["user_id"]),
            (&Value::Null, &Value::Null),
            "{group}"
        );
        assert_eq!(l["groups"], json!([group]));
        assert!(
            explanation(&l).contains(&format!("a member of group \"{group}\"")),
            "{l}"
        );
    }

    // A new revision of the winning policy is what the lookup names.
    let r = p
        .call(
            Method::PUT,
            "policies/strict",
            json!({ "requirements_toml": format!("{STRICT}allowed_web_search_modes = [\"cached\"]\n") }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let strict2 = r.json();
    let alice = s.lookup_email(ALICE).await;
    assert_eq!(alice["policy"]["revision"], 2);
    assert_eq!(alice["policy"]["sha256"], strict2["sha256"]);
    assert_ne!(alice["policy"]["sha256"], s.strict["sha256"]);
    assert_eq!(
        alice["assignment_version"], 1,
        "a policy revision is not an assignment change"
    );

    // Dry run of the reordering: only alice (in both) changes, nothing is stored.
    let reordered = [("eng", "standard"), ("sec", "strict")];
    let dry = p.assign_ok(&reordered, Some("baseline"), Some(1), true).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["changes"],
        json!([s.change(ALICE, Some("strict"), Some("standard"), rule(1, "eng"))])
    );
    assert_eq!(
        rules_of(&dry["assignment"]),
        vec![
            (json!(1), json!("eng"), json!("standard")),
            (json!(2), json!("sec"), json!("strict")),
        ]
    );
    let still = p.assignment().await;
    assert_eq!(still["version"], 1);
    assert_eq!(rules_of(&still), rules_of(&a1));
    assert_eq!(s.lookup_email(ALICE).await["policy"]["name"], "strict");
    // A dry run twice is the same answer (it stored nothing).
    let again = p.assign_ok(&reordered, Some("baseline"), Some(1), true).await;
    assert_eq!(again["changes"], dry["changes"]);

    // Applied: the same changes, version 2, and lookups follow the new order.
    let applied = p.assign_ok(&reordered, Some("baseline"), Some(1), false).await;
    assert_eq!(applied["changes"], dry["changes"]);
    assert_eq!(applied["assignment"]["version"], 2);
    let alice = s.lookup_email(ALICE).await;
    assert_eq!(alice["policy"], s.policy_ref("standard"));
    assert_eq!(alice["matched_by"], rule(1, "eng"));
    assert_eq!(alice["evaluated"], json!([outcome(1, "eng", "standard", true)]));
    assert_eq!(alice["assignment_version"], 2);
    let bob = s.lookup_email(BOB).await;
    assert_eq!(
        (&bob["policy"]["name"], &bob["matched_by"]),
        (&json!("standard"), &rule(1, "eng"))
    );
    let sec = s.lookup("group=sec").await;
    assert_eq!(
        (&sec["policy"]["name"], &sec["matched_by"]),
        (&json!("strict"), &rule(2, "sec"))
    );
    assert_eq!(s.lookup_email(DAVE).await["policy"]["name"], "baseline");

    // Based on version 1, which is no longer current: 409, for a dry run too; nothing changes.
    for dry_run in [false, true] {
        let r = p.assign(&[("sec", "strict")], None, Some(1), dry_run).await;
        let d = expect_error(&r, 409, "conflict", "stale based_on_version");
        assert!(d.contains('1') && d.contains('2'), "{d}");
    }
    let a2 = p.assignment().await;
    assert_eq!(
        (&a2["version"], &a2["default_policy"]),
        (&json!(2), &json!("baseline"))
    );
    assert_eq!(rules_of(&a2), rules_of(&applied["assignment"]));

    // Membership changes move users between rules without an assignment change.
    let r = p
        .send(
            Method::DELETE,
            &p.path(&format!("groups/eng/members/{ALICE}")),
            Some(&p.manage),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["changed"], true);
    let alice = s.lookup_email(ALICE).await;
    assert_eq!(alice["groups"], json!(["sec"]));
    assert_eq!(
        (&alice["policy"]["name"], &alice["matched_by"]),
        (&json!("strict"), &rule(2, "sec"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_default_users_in_no_matching_group_get_no_policy() {
    let s = setup().await;
    let p = &s.p;
    p.assign_ok(
        &[("sec", "strict"), ("eng", "standard")],
        Some("baseline"),
        Some(0),
        false,
    )
    .await;
    let dry = p
        .assign_ok(&[("sec", "strict"), ("eng", "standard")], None, Some(1), true)
        .await;
    let none = json!({ "kind": "none" });
    assert_eq!(
        dry["changes"],
        json!([
            s.change(CAROL, Some("baseline"), None, none.clone()),
            s.change(DAVE, Some("baseline"), None, none.clone()),
            s.change(USER, Some("baseline"), None, none.clone()),
        ])
    );
    assert_eq!(
        s.lookup_email(DAVE).await["policy"]["name"],
        "baseline",
        "dry run stored nothing"
    );
    let out = p
        .assign_ok(&[("sec", "strict"), ("eng", "standard")], None, Some(1), false)
        .await;
    assert_eq!(out["assignment"]["default_policy"], Value::Null);

    for email in [DAVE, CAROL] {
        let l = s.lookup_email(email).await;
        assert_eq!(l["policy"], Value::Null, "{email}: {l}");
        assert_eq!(l["matched_by"], none, "{email}");
        assert_eq!(l["evaluated"].as_array().map(Vec::len), Some(2), "{email}");
        assert!(explanation(&l).contains("no managed policy"), "{l}");
        assert_eq!(l["assignment_version"], 2);
    }
    let l = s.lookup("group=contractors").await;
    assert_eq!((&l["policy"], &l["matched_by"]), (&Value::Null, &none));
    // Users in a rule's group are unaffected.
    assert_eq!(s.lookup_email(ALICE).await["policy"], s.policy_ref("strict"));
    assert_eq!(s.lookup_email(BOB).await["policy"], s.policy_ref("standard"));

    // No rules and no default: nobody is managed.
    p.assign_ok(&[], None, Some(2), false).await;
    let alice = s.lookup_email(ALICE).await;
    assert_eq!(
        (&alice["policy"], &alice["matched_by"], &alice["evaluated"]),
        (&Value::Null, &none, &json!([]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_users_groups_and_policies_are_404s_naming_them_and_change_nothing() {
    let s = setup().await;
    let p = &s.p;
    p.assign_ok(
        &[("sec", "strict"), ("eng", "standard")],
        Some("baseline"),
        Some(0),
        false,
    )
    .await;

    let r = p.get("policy_lookup?email=nobody@example.com").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains("nobody@example.com"), "{}", r.text());
    let r = p.get("policy_lookup?group=ops").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains("\"ops\""), "{}", r.text());
    for query in ["", "?email=a@example.com&group=eng", "?mail=a@example.com"] {
        let r = p.get(&format!("policy_lookup{query}")).await;
        let d = expect_error(&r, 400, "bad_request", query);
        assert!(d.contains("email") && d.contains("group"), "{query}: {d}");
    }

    // An assignment naming an unknown group or policy: 404 naming the field, nothing stored,
    // also when it is only a dry run.
    let cases: [(Rules, Option<&str>, &str, &str); 4] = [
        (
            &[("sec", "strict"), ("ops", "standard")],
            Some("baseline"),
            "rules[1].group",
            "ops",
        ),
        (
            &[("sec", "lenient"), ("eng", "standard")],
            Some("baseline"),
            "rules[0].policy",
            "lenient",
        ),
        (&[("sec", "strict")], Some("nothing"), "default_policy", "nothing"),
        (
            &[("eng", "standard"), ("sec", "strict"), ("x", "y")],
            None,
            "rules[2].group",
            "\"x\"",
        ),
    ];
    for (rules, default, field, name) in cases {
        for dry_run in [true, false] {
            let r = p.assign(rules, default, Some(1), dry_run).await;
            assert_eq!(r.status, 404, "{rules:?}: {}", r.text());
            let d = detail(&r);
            assert!(d.starts_with(field) && d.contains(name), "{rules:?}: {d}");
        }
    }
    let a = p.assignment().await;
    assert_eq!(
        (&a["version"], &a["default_policy"]),
        (&json!(1), &json!("baseline"))
    );
    assert_eq!(
        rules_of(&a),
        vec![
            (json!(1), json!("sec"), json!("strict")),
            (json!(2), json!("eng"), json!("standard")),
        ]
    );
    assert_eq!(s.lookup_email(ALICE).await["policy"]["name"], "strict");

    // A group a rule names cannot be deleted; a group no rule names can.
    let del = |group: &str| {
        let path = p.path(&format!("groups/{group}"));
        async move { p.send(Method::DELETE, &path, Some(&p.manage), None).await }
    };
    let r = del("eng").await;
    let d = expect_error(&r, 409, "conflict", "delete a group in use");
    assert!(d.contains("assignment"), "{d}");
    assert_eq!(
        data(&p.get_ok("groups/eng/members").await).len(),
        2,
        "members kept"
    );
    assert_eq!(s.lookup_email(BOB).await["policy"]["name"], "standard");
    let r = del("contractors").await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(s.lookup_email(CAROL).await["groups"], json!([]));
    assert_eq!(del("contractors").await.status, 404);
    // After its rule is gone, the group can go too.
    p.assign_ok(&[("sec", "strict")], Some("baseline"), Some(1), false)
        .await;
    assert_eq!(del("eng").await.status, 204);
    let bob = s.lookup_email(BOB).await;
    assert_eq!(
        (&bob["groups"], &bob["policy"]["name"]),
        (&json!([]), &json!("baseline"))
    );

    // Membership of unknown users or groups.
    let r = p
        .send(
            Method::PUT,
            &p.path("groups/sec/members/nobody@example.com"),
            Some(&p.manage),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains("nobody@example.com"));
    let r = p
        .send(
            Method::PUT,
            &p.path(&format!("groups/ops/members/{DAVE}")),
            Some(&p.manage),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(detail(&r).contains("ops"));
    assert_eq!(s.lookup_email(DAVE).await["groups"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_answers_lookups_and_dry_runs_like_the_api() {
    let s = setup().await;
    let p = &s.p;
    p.assign_ok(
        &[("sec", "strict"), ("eng", "standard")],
        Some("baseline"),
        Some(0),
        false,
    )
    .await;

    for email in [ALICE, BOB, CAROL, DAVE, USER] {
        let cli = p.env.cli_json(&["policy", "lookup", "--email", email]);
        assert_eq!(cli, s.lookup_email(email).await, "{email}");
    }
    for group in ["sec", "eng", "contractors"] {
        let cli = p.env.cli_json(&["policy", "lookup", "--group", group]);
        assert_eq!(cli, s.lookup(&format!("group={group}")).await, "{group}");
    }
    let assignment = p.env.cli_json(&["policy", "assignment"]);
    let http = p.assignment().await;
    assert_eq!(assignment, http);

    // Dry run of the reordering with the CLI: the same changes as over HTTP, nothing stored.
    let http_dry = p
        .assign_ok(
            &[("eng", "standard"), ("sec", "strict")],
            Some("baseline"),
            Some(1),
            true,
        )
        .await;
    let cli_dry = p.env.cli_json(&[
        "policy",
        "assign",
        "--rule",
        "eng=standard",
        "--rule",
        "sec=strict",
        "--default",
        "baseline",
        "--dry-run",
    ]);
    assert_eq!(cli_dry["dry_run"], true);
    assert_eq!(
        cli_dry["changes"],
        json!([s.change(ALICE, Some("strict"), Some("standard"), rule(1, "eng"))])
    );
    assert_eq!(cli_dry["changes"], http_dry["changes"]);
    assert_eq!(
        rules_of(&cli_dry["assignment"]),
        rules_of(&http_dry["assignment"])
    );
    assert_eq!(p.assignment().await["version"], 1);
    assert_eq!(
        p.env.cli_json(&["policy", "lookup", "--email", ALICE])["policy"]["name"],
        "strict"
    );

    // Applied with the CLI: the API sees it.
    let applied = p.env.cli_json(&[
        "policy",
        "assign",
        "--rule",
        "eng=standard",
        "--rule",
        "sec=strict",
        "--default",
        "baseline",
    ]);
    assert_eq!(applied["dry_run"], false);
    assert_eq!(applied["changes"], cli_dry["changes"]);
    let a = p.assignment().await;
    assert_eq!(a["version"], 2);
    assert_eq!(rules_of(&a), rules_of(&cli_dry["assignment"]));
    let alice = s.lookup_email(ALICE).await;
    assert_eq!(
        (&alice["policy"]["name"], &alice["matched_by"]),
        (&json!("standard"), &rule(1, "eng"))
    );
    assert_eq!(p.env.cli_json(&["policy", "lookup", "--email", ALICE]), alice);

    // Errors name what is unknown, exit non-zero and change nothing.
    let run = p
        .env
        .cli(&["policy", "lookup", "--email", "nobody@example.com", "--json"]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("nobody@example.com"), "{run}");
    let run = p.env.cli(&["policy", "lookup", "--group", "ops", "--json"]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("ops"), "{run}");
    let run = p.env.cli(&[
        "policy",
        "assign",
        "--rule",
        "ops=strict",
        "--default",
        "baseline",
        "--dry-run",
        "--json",
    ]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("rules[0].group"), "{run}");
    let run = p
        .env
        .cli(&["policy", "assign", "--rule", "eng=lenient", "--json"]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(
        run.stderr.contains("rules[0].policy") && run.stderr.contains("lenient"),
        "{run}"
    );
    let run = p.env.cli(&["groups", "delete", "eng", "--json"]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("assignment"), "{run}");
    let a = p.assignment().await;
    assert_eq!(a["version"], 2);
    assert_eq!(rules_of(&a), rules_of(&cli_dry["assignment"]));
    assert_eq!(data(&p.get_ok("groups").await).len(), 3);
}
