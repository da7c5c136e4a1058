//! Conformance checks of managed-policy storage: user groups and memberships, policies with
//! immutable revisions, the versioned group → policy assignment, sync reports, and the
//! optimistic concurrency that keeps two replicas from interleaving their writes.

use std::sync::Arc;

use super::Fixture;
use crate::{
    AssignmentRule, Group, GroupSource, NewPolicy, PolicyAssignment, PolicyRevision, PolicyRow,
    PolicySyncReport, Store, StoreError, StoreResult,
};

fn group(id: &str, ws: &str, name: &str) -> Group {
    Group {
        id: id.to_owned(),
        workspace_id: ws.to_owned(),
        name: name.to_owned(),
        source: GroupSource::Manual,
        external_id: None,
        created_at_ms: 1_000,
    }
}

fn revision(policy_id: &str, n: i64, at: i64) -> PolicyRevision {
    PolicyRevision {
        policy_id: policy_id.to_owned(),
        revision: n,
        requirements_toml: format!("# {policy_id} r{n}\nallowed_sandbox_modes = [\"read-only\"]\n"),
        managed_config_toml: format!("# {policy_id} r{n}\nmodel = \"gpt-5\"\n"),
        sha256: format!("{n:064x}"),
        comment: format!("revision {n}"),
        created_at_ms: at,
        created_by: "admin@example.com".to_owned(),
    }
}

fn new_policy(id: &str, ws: &str, name: &str, at: i64) -> NewPolicy {
    NewPolicy {
        policy: PolicyRow {
            id: id.to_owned(),
            workspace_id: ws.to_owned(),
            name: name.to_owned(),
            description: format!("about {name}"),
            latest_revision: 1,
            created_at_ms: at,
            updated_at_ms: at,
        },
        revision: revision(id, 1, at),
    }
}

fn assignment(ws: &str, version: i64, rules: &[(&str, &str)], default: Option<&str>) -> PolicyAssignment {
    PolicyAssignment {
        workspace_id: ws.to_owned(),
        rules: rules
            .iter()
            .map(|(g, p)| AssignmentRule {
                group_id: (*g).to_owned(),
                policy_id: (*p).to_owned(),
            })
            .collect(),
        default_policy_id: default.map(str::to_owned),
        version,
        updated_at_ms: 10_000 + version,
        updated_by: "admin@example.com".to_owned(),
    }
}

fn report(
    ws: &str,
    user: &str,
    host: &str,
    channel: &str,
    revision: Option<i64>,
    at: i64,
) -> PolicySyncReport {
    PolicySyncReport {
        workspace_id: ws.to_owned(),
        user_id: user.to_owned(),
        host: host.to_owned(),
        channel: channel.to_owned(),
        policy_id: revision.map(|_| "pol-a".to_owned()),
        revision,
        sha256: revision.map(|n| format!("{n:064x}")),
        client_version: Some("0.50.0".to_owned()),
        reported_at_ms: at,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: &StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

fn is_not_found<T: std::fmt::Debug>(r: &StoreResult<T>) -> bool {
    matches!(r, Err(StoreError::NotFound(_)))
}

async fn workspaces(store: &Arc<dyn Store>) -> (String, String) {
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    (ws, ws2)
}

pub async fn groups_are_created_listed_and_found_per_workspace(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    let eng = group("grp-eng", &ws, "engineering");
    let scim = Group {
        source: GroupSource::Scim,
        external_id: Some("okta-123".to_owned()),
        created_at_ms: 2_000,
        ..group("grp-b", &ws, "Contractors")
    };
    let ops = group("grp-ops", &ws, "ops");
    for g in [&eng, &scim, &ops] {
        store.create_group(g).await.expect("create group");
    }
    // Same name in the workspace: refused, whatever the id; in another workspace: fine.
    assert!(is_conflict(
        &store.create_group(&group("grp-other", &ws, "engineering")).await
    ));
    let eng2 = group("grp-eng2", &ws2, "engineering");
    store
        .create_group(&eng2)
        .await
        .expect("same name, other workspace");

    // By name, byte order (upper case first).
    assert_eq!(
        store.list_groups(&ws).await.expect("list"),
        vec![scim.clone(), eng.clone(), ops.clone()]
    );
    assert_eq!(
        store.list_groups(&ws2).await.expect("list ws2"),
        vec![eng2.clone()]
    );
    assert_eq!(
        store.get_group_by_name(&ws, "Contractors").await.expect("get"),
        Some(scim.clone())
    );
    assert_eq!(
        store
            .get_group_by_name(&ws2, "engineering")
            .await
            .expect("get ws2"),
        Some(eng2)
    );
    assert_eq!(
        store.get_group_by_name(&ws, "contractors").await.expect("get"),
        None
    );
    assert_eq!(store.get_group_by_name(&ws2, "ops").await.expect("get"), None);
}

pub async fn group_memberships_are_idempotent_and_sorted(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    store.create_group(&group("grp-a", &ws, "a")).await.expect("a");
    store.create_group(&group("grp-b", &ws, "b")).await.expect("b");
    store.create_group(&group("grp-x", &ws2, "x")).await.expect("x");

    let set = |g: &'static str, u: &'static str, member: bool| {
        let (store, ws) = (store.clone(), ws.clone());
        async move {
            store
                .set_group_member(&ws, g, u, member)
                .await
                .expect("set member")
        }
    };
    assert!(set("grp-a", "user-2", true).await);
    assert!(!set("grp-a", "user-2", true).await, "already a member");
    assert!(set("grp-a", "user-1", true).await);
    assert!(set("grp-a", "user-3", true).await);
    assert!(set("grp-b", "user-1", true).await);
    assert!(!set("grp-a", "user-9", false).await, "not a member");
    assert!(set("grp-a", "user-3", false).await);
    assert!(!set("grp-a", "user-3", false).await, "already removed");
    // Unknown group, or a group of another workspace: nothing to change.
    assert!(!set("grp-nope", "user-1", true).await);
    assert!(!set("grp-x", "user-1", true).await);
    assert!(store
        .set_group_member(&ws2, "grp-x", "user-7", true)
        .await
        .expect("ws2 member"));

    assert_eq!(
        store.group_members(&ws, "grp-a").await.expect("members"),
        vec!["user-1", "user-2"]
    );
    assert_eq!(
        store.group_members(&ws, "grp-x").await.expect("other ws"),
        Vec::<String>::new()
    );
    assert_eq!(
        store.user_group_ids(&ws, "user-1").await.expect("groups"),
        vec!["grp-a", "grp-b"]
    );
    assert_eq!(
        store.user_group_ids(&ws, "user-7").await.expect("groups"),
        Vec::<String>::new()
    );
    assert_eq!(
        store.user_group_ids(&ws2, "user-7").await.expect("groups"),
        vec!["grp-x"]
    );
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(g, u)| ((*g).to_owned(), (*u).to_owned()))
            .collect()
    };
    assert_eq!(
        store.group_memberships(&ws).await.expect("memberships"),
        pairs(&[("grp-a", "user-1"), ("grp-a", "user-2"), ("grp-b", "user-1")])
    );
    assert_eq!(
        store.group_memberships(&ws2).await.expect("memberships ws2"),
        pairs(&[("grp-x", "user-7")])
    );
}

pub async fn deleting_a_group_removes_memberships_unless_assigned(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    store.create_group(&group("grp-a", &ws, "a")).await.expect("a");
    store.create_group(&group("grp-b", &ws, "b")).await.expect("b");
    for (g, u) in [("grp-a", "user-1"), ("grp-a", "user-2"), ("grp-b", "user-1")] {
        store.set_group_member(&ws, g, u, true).await.expect("member");
    }
    store
        .create_policy(&new_policy("pol-a", &ws, "strict", 1_000))
        .await
        .expect("policy");
    store
        .replace_policy_assignment(&assignment(&ws, 1, &[("grp-b", "pol-a")], None))
        .await
        .expect("assign");

    // Another workspace's group of that id is not this one.
    assert!(!store.delete_group(&ws2, "grp-a").await.expect("other ws"));
    assert!(store.delete_group(&ws, "grp-a").await.expect("delete"));
    assert!(!store.delete_group(&ws, "grp-a").await.expect("again"));
    assert!(!store.delete_group(&ws, "grp-nope").await.expect("unknown"));
    assert_eq!(
        store.group_members(&ws, "grp-a").await.expect("members"),
        Vec::<String>::new()
    );
    assert_eq!(
        store.user_group_ids(&ws, "user-1").await.expect("groups"),
        vec!["grp-b"]
    );
    assert_eq!(store.get_group_by_name(&ws, "a").await.expect("get"), None);

    // A group named by a rule stays, members and all, until the rule goes.
    assert!(is_conflict(&store.delete_group(&ws, "grp-b").await));
    assert_eq!(
        store.group_members(&ws, "grp-b").await.expect("members"),
        vec!["user-1"]
    );
    store
        .replace_policy_assignment(&assignment(&ws, 2, &[], Some("pol-a")))
        .await
        .expect("unassign");
    assert!(store.delete_group(&ws, "grp-b").await.expect("delete b"));
    assert_eq!(
        store.group_memberships(&ws).await.expect("memberships"),
        Vec::new()
    );
    assert_eq!(store.list_groups(&ws).await.expect("list"), Vec::new());

    // The name is free again; the new group starts empty.
    store
        .create_group(&group("grp-b2", &ws, "b"))
        .await
        .expect("recreate");
    assert_eq!(
        store.group_members(&ws, "grp-b2").await.expect("members"),
        Vec::<String>::new()
    );
}

pub async fn policies_are_created_with_their_first_revision(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    // The revision's policy id and number come from the policy.
    let mut strict = new_policy("pol-s", &ws, "strict", 1_000);
    strict.revision.policy_id = String::new();
    strict.revision.revision = 0;
    store.create_policy(&strict).await.expect("create strict");
    let open = new_policy("pol-o", &ws, "Open", 2_000);
    store.create_policy(&open).await.expect("create open");

    assert!(is_conflict(
        &store
            .create_policy(&new_policy("pol-s2", &ws, "strict", 3_000))
            .await
    ));
    assert_eq!(store.get_policy_by_id(&ws, "pol-s2").await.expect("get"), None);
    assert_eq!(
        store.policy_revisions("pol-s2").await.expect("revisions"),
        Vec::new()
    );
    let other = new_policy("pol-x", &ws2, "strict", 3_000);
    store
        .create_policy(&other)
        .await
        .expect("same name, other workspace");

    assert_eq!(
        store.list_policies(&ws).await.expect("list"),
        vec![open.policy.clone(), strict.policy.clone()]
    );
    assert_eq!(
        store.list_policies(&ws2).await.expect("list ws2"),
        vec![other.policy.clone()]
    );
    assert_eq!(
        store.get_policy_by_name(&ws, "strict").await.expect("by name"),
        Some(strict.policy.clone())
    );
    assert_eq!(
        store
            .get_policy_by_name(&ws2, "strict")
            .await
            .expect("by name ws2"),
        Some(other.policy.clone())
    );
    assert_eq!(
        store.get_policy_by_id(&ws, "pol-s").await.expect("by id"),
        Some(strict.policy.clone())
    );
    assert_eq!(
        store.get_policy_by_id(&ws2, "pol-s").await.expect("other ws"),
        None
    );
    assert_eq!(store.get_policy_by_name(&ws, "Strict").await.expect("case"), None);

    let first = revision("pol-s", 1, 1_000);
    assert_eq!(
        store.policy_revisions("pol-s").await.expect("revisions"),
        vec![first.clone()]
    );
    assert_eq!(store.policy_revision("pol-s", 1).await.expect("r1"), Some(first));
    assert_eq!(store.policy_revision("pol-s", 2).await.expect("r2"), None);
}

pub async fn policy_revisions_advance_one_at_a_time(fixture: Fixture) {
    let store = fixture.0;
    let (ws, _) = workspaces(&store).await;
    let created = new_policy("pol-a", &ws, "strict", 1_000);
    store.create_policy(&created).await.expect("create");

    let r2 = revision("pol-a", 2, 2_000);
    store.add_policy_revision(&r2, None).await.expect("r2");
    let p = store
        .get_policy_by_id(&ws, "pol-a")
        .await
        .expect("get")
        .expect("policy");
    assert_eq!(
        p,
        PolicyRow {
            latest_revision: 2,
            updated_at_ms: 2_000,
            ..created.policy.clone()
        },
        "no description given: the old one stays"
    );

    // Based on revision 1 again, or skipping one: someone else's revision would be lost.
    let stale = PolicyRevision {
        comment: "lost update".to_owned(),
        ..revision("pol-a", 2, 2_500)
    };
    assert!(is_conflict(
        &store.add_policy_revision(&stale, Some("lost")).await
    ));
    assert!(is_conflict(
        &store
            .add_policy_revision(&revision("pol-a", 4, 2_500), None)
            .await
    ));
    assert!(is_conflict(
        &store
            .add_policy_revision(&revision("pol-a", 1, 2_500), None)
            .await
    ));
    assert_eq!(
        store.policy_revision("pol-a", 2).await.expect("r2"),
        Some(r2.clone())
    );

    let r3 = revision("pol-a", 3, 3_000);
    store
        .add_policy_revision(&r3, Some("tightened"))
        .await
        .expect("r3");
    let p = store
        .get_policy_by_id(&ws, "pol-a")
        .await
        .expect("get")
        .expect("policy");
    assert_eq!(
        p,
        PolicyRow {
            description: "tightened".to_owned(),
            latest_revision: 3,
            updated_at_ms: 3_000,
            ..created.policy.clone()
        }
    );
    assert_eq!(
        store.policy_revisions("pol-a").await.expect("revisions"),
        vec![revision("pol-a", 1, 1_000), r2, r3]
    );

    assert!(is_not_found(
        &store
            .add_policy_revision(&revision("pol-nope", 2, 4_000), None)
            .await
    ));
    assert_eq!(
        store.policy_revisions("pol-nope").await.expect("none"),
        Vec::new()
    );
}

pub async fn deleted_policies_free_their_name_and_keep_revisions(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    store
        .create_policy(&new_policy("pol-a", &ws, "strict", 1_000))
        .await
        .expect("a");
    store
        .add_policy_revision(&revision("pol-a", 2, 2_000), None)
        .await
        .expect("a r2");
    let keep = new_policy("pol-k", &ws, "keep", 1_000);
    store.create_policy(&keep).await.expect("keep");

    assert!(!store.delete_policy(&ws2, "pol-a", 5_000).await.expect("other ws"));
    assert!(store.delete_policy(&ws, "pol-a", 5_000).await.expect("delete"));
    assert!(!store.delete_policy(&ws, "pol-a", 6_000).await.expect("again"));
    assert!(!store
        .delete_policy(&ws, "pol-nope", 6_000)
        .await
        .expect("unknown"));
    assert_eq!(store.get_policy_by_id(&ws, "pol-a").await.expect("by id"), None);
    assert_eq!(
        store.get_policy_by_name(&ws, "strict").await.expect("by name"),
        None
    );
    assert_eq!(
        store.list_policies(&ws).await.expect("list"),
        vec![keep.policy.clone()]
    );
    assert!(is_not_found(
        &store
            .add_policy_revision(&revision("pol-a", 3, 6_000), None)
            .await
    ));
    // Its revisions stay for the record.
    assert_eq!(
        store.policy_revisions("pol-a").await.expect("revisions"),
        vec![revision("pol-a", 1, 1_000), revision("pol-a", 2, 2_000)]
    );
    assert_eq!(
        store.policy_revision("pol-a", 2).await.expect("r2"),
        Some(revision("pol-a", 2, 2_000))
    );

    // The name is free for a new policy, with its own revisions.
    let again = new_policy("pol-b", &ws, "strict", 7_000);
    store.create_policy(&again).await.expect("reuse name");
    assert_eq!(
        store.get_policy_by_name(&ws, "strict").await.expect("by name"),
        Some(again.policy.clone())
    );
    assert_eq!(
        store.policy_revisions("pol-b").await.expect("revisions"),
        vec![revision("pol-b", 1, 7_000)]
    );
    assert_eq!(store.policy_revisions("pol-a").await.expect("old").len(), 2);

    // A policy the assignment uses (by a rule or as the default) cannot go.
    store
        .create_group(&group("grp-a", &ws, "a"))
        .await
        .expect("group");
    store
        .replace_policy_assignment(&assignment(&ws, 1, &[("grp-a", "pol-b")], Some("pol-k")))
        .await
        .expect("assign");
    assert!(is_conflict(&store.delete_policy(&ws, "pol-b", 8_000).await));
    assert!(is_conflict(&store.delete_policy(&ws, "pol-k", 8_000).await));
    assert_eq!(
        store.list_policies(&ws).await.expect("list"),
        vec![keep.policy.clone(), again.policy.clone()]
    );
    store
        .replace_policy_assignment(&assignment(&ws, 2, &[("grp-a", "pol-k")], None))
        .await
        .expect("reassign");
    assert!(store.delete_policy(&ws, "pol-b", 8_000).await.expect("delete b"));
    assert!(is_conflict(&store.delete_policy(&ws, "pol-k", 8_000).await));
}

pub async fn policy_assignment_is_replaced_by_version(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    assert_eq!(
        store.policy_assignment(&ws).await.expect("never written"),
        PolicyAssignment {
            workspace_id: ws.clone(),
            ..PolicyAssignment::default()
        }
    );
    for (g, name) in [("grp-c", "c"), ("grp-a", "a"), ("grp-b", "b")] {
        store.create_group(&group(g, &ws, name)).await.expect("group");
    }
    store
        .create_group(&group("grp-x", &ws2, "x"))
        .await
        .expect("group ws2");
    for (p, name) in [("pol-1", "one"), ("pol-2", "two"), ("pol-3", "three")] {
        store
            .create_policy(&new_policy(p, &ws, name, 1_000))
            .await
            .expect("policy");
    }
    store
        .create_policy(&new_policy("pol-x", &ws2, "x", 1_000))
        .await
        .expect("policy ws2");
    store
        .create_policy(&new_policy("pol-gone", &ws, "gone", 1_000))
        .await
        .expect("policy gone");
    assert!(store.delete_policy(&ws, "pol-gone", 2_000).await.expect("delete"));

    // Stored as given: the order is the rules' precedence, not sorted; a group may repeat.
    let v1 = assignment(
        &ws,
        1,
        &[
            ("grp-c", "pol-2"),
            ("grp-a", "pol-1"),
            ("grp-b", "pol-2"),
            ("grp-a", "pol-3"),
        ],
        Some("pol-3"),
    );
    assert!(is_conflict(
        &store
            .replace_policy_assignment(&assignment(&ws, 2, &[], None))
            .await
    ));
    assert!(is_conflict(
        &store
            .replace_policy_assignment(&assignment(&ws, 0, &[], None))
            .await
    ));
    store.replace_policy_assignment(&v1).await.expect("v1");
    assert_eq!(store.policy_assignment(&ws).await.expect("v1"), v1);
    assert_eq!(
        store.policy_assignment(&ws2).await.expect("ws2 untouched"),
        PolicyAssignment {
            workspace_id: ws2.clone(),
            ..PolicyAssignment::default()
        }
    );

    // Based on an old version (or skipping one): refused, nothing changes.
    assert!(is_conflict(
        &store
            .replace_policy_assignment(&assignment(&ws, 1, &[("grp-a", "pol-1")], None))
            .await
    ));
    assert!(is_conflict(
        &store
            .replace_policy_assignment(&assignment(&ws, 3, &[], None))
            .await
    ));
    // Unknown, foreign or deleted groups and policies: NotFound, nothing changes.
    for bad in [
        assignment(&ws, 2, &[("grp-a", "pol-1"), ("grp-nope", "pol-1")], None),
        assignment(&ws, 2, &[("grp-x", "pol-1")], None),
        assignment(&ws, 2, &[("grp-a", "pol-nope")], None),
        assignment(&ws, 2, &[("grp-a", "pol-x")], None),
        assignment(&ws, 2, &[("grp-a", "pol-gone")], None),
        assignment(&ws, 2, &[("grp-a", "pol-1")], Some("pol-nope")),
        assignment(&ws, 2, &[], Some("pol-gone")),
        assignment(&ws, 2, &[], Some("pol-x")),
    ] {
        let result = store.replace_policy_assignment(&bad).await;
        assert!(is_not_found(&result), "{bad:?} gave {result:?}");
    }
    assert_eq!(store.policy_assignment(&ws).await.expect("still v1"), v1);

    // Fewer rules, a new default; then none at all.
    let v2 = assignment(&ws, 2, &[("grp-b", "pol-1")], Some("pol-2"));
    store.replace_policy_assignment(&v2).await.expect("v2");
    assert_eq!(store.policy_assignment(&ws).await.expect("v2"), v2);
    let v3 = assignment(&ws, 3, &[], None);
    store.replace_policy_assignment(&v3).await.expect("v3");
    assert_eq!(store.policy_assignment(&ws).await.expect("v3"), v3);

    // The other workspace's versions are its own.
    let x1 = assignment(&ws2, 1, &[("grp-x", "pol-x")], Some("pol-x"));
    store.replace_policy_assignment(&x1).await.expect("ws2 v1");
    assert_eq!(store.policy_assignment(&ws2).await.expect("ws2"), x1);
    assert_eq!(store.policy_assignment(&ws).await.expect("ws v3"), v3);
}

pub async fn policy_sync_reports_keep_the_newest_per_machine(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    let first = report(&ws, "user-2", "laptop", "agent", Some(1), 1_000);
    store.record_policy_sync(&first).await.expect("first");
    let newer = report(&ws, "user-2", "laptop", "agent", Some(2), 2_000);
    store.record_policy_sync(&newer).await.expect("newer");
    // Delivered late: older than what is stored, so ignored.
    store
        .record_policy_sync(&report(&ws, "user-2", "laptop", "agent", Some(1), 1_500))
        .await
        .expect("late");
    let bundle = report(&ws, "user-2", "laptop", "bundle", None, 1_200);
    let desktop = report(&ws, "user-2", "desktop", "agent", Some(2), 1_100);
    let other_user = PolicySyncReport {
        client_version: None,
        ..report(&ws, "user-1", "laptop", "bundle", Some(1), 900)
    };
    let foreign = report(&ws2, "user-2", "laptop", "agent", Some(9), 500);
    for r in [&bundle, &desktop, &other_user, &foreign] {
        store.record_policy_sync(r).await.expect("record");
    }
    assert_eq!(
        store.policy_sync_reports(&ws).await.expect("reports"),
        vec![other_user.clone(), desktop.clone(), newer.clone(), bundle.clone()]
    );
    assert_eq!(store.policy_sync_reports(&ws2).await.expect("ws2"), vec![foreign]);

    // A newer report may say that no policy applies any more.
    let cleared = report(&ws, "user-2", "laptop", "agent", None, 3_000);
    store.record_policy_sync(&cleared).await.expect("cleared");
    assert_eq!(
        store.policy_sync_reports(&ws).await.expect("reports"),
        vec![other_user, desktop, cleared, bundle]
    );
}

pub async fn concurrent_policy_writers_one_wins(fixture: Fixture) {
    let store = fixture.0;
    let (ws, _) = workspaces(&store).await;
    store
        .create_policy(&new_policy("pol-a", &ws, "strict", 1_000))
        .await
        .expect("policy");

    // Two admins edit the same revision at once, several times over.
    for n in 2..=6 {
        let (a, b) = (
            revision("pol-a", n, 1_000 * n),
            revision("pol-a", n, 1_000 * n + 1),
        );
        let (ra, rb) = tokio::join!(
            store.add_policy_revision(&a, Some("from a")),
            store.add_policy_revision(&b, Some("from b"))
        );
        let winner = match (&ra, &rb) {
            (Ok(()), r) if is_conflict(r) => a,
            (r, Ok(())) if is_conflict(r) => b,
            _ => panic!("revision {n}: expected one Ok and one Conflict, got {ra:?} and {rb:?}"),
        };
        assert_eq!(
            store.policy_revision("pol-a", n).await.expect("read"),
            Some(winner)
        );
    }
    let p = store
        .get_policy_by_id(&ws, "pol-a")
        .await
        .expect("get")
        .expect("policy");
    assert_eq!(p.latest_revision, 6);
    assert_eq!(store.policy_revisions("pol-a").await.expect("revisions").len(), 6);

    // Two first assignments of fresh workspaces (no row to lock yet), then later versions.
    for round in 0..4 {
        let w = store
            .create_workspace(&format!("race {round}"))
            .await
            .expect("ws")
            .id;
        let g = format!("grp-{round}");
        let p = format!("pol-{round}");
        store.create_group(&group(&g, &w, "g")).await.expect("group");
        store
            .create_policy(&new_policy(&p, &w, "p", 1_000))
            .await
            .expect("policy");
        for version in 1..=3 {
            let a = assignment(&w, version, &[(&g, &p)], None);
            let b = assignment(&w, version, &[], Some(&p));
            let (ra, rb) = tokio::join!(
                store.replace_policy_assignment(&a),
                store.replace_policy_assignment(&b)
            );
            let winner = match (&ra, &rb) {
                (Ok(()), r) if is_conflict(r) => a,
                (r, Ok(())) if is_conflict(r) => b,
                _ => panic!("version {version}: expected one Ok and one Conflict, got {ra:?} and {rb:?}"),
            };
            assert_eq!(store.policy_assignment(&w).await.expect("read"), winner);
        }
    }
}

pub async fn deletions_and_assignments_do_not_interleave(fixture: Fixture) {
    let store = fixture.0;
    let (ws, _) = workspaces(&store).await;
    for round in 1..=6i64 {
        let g = format!("grp-{round}");
        let p = format!("pol-{round}");
        store.create_group(&group(&g, &ws, &g)).await.expect("group");
        store
            .create_policy(&new_policy(&p, &ws, &p, 1_000))
            .await
            .expect("policy");
        // Round r writes version 2r - 1 (its rule) and 2r (no rules), so the next round's
        // group and policy are free again.
        let uses = assignment(&ws, 2 * round - 1, &[(&g, &p)], None);
        // Alternate between deleting the group and the policy the new assignment names.
        let (assigned, deleted) = if round % 2 == 0 {
            tokio::join!(
                store.replace_policy_assignment(&uses),
                store.delete_group(&ws, &g)
            )
        } else {
            tokio::join!(
                store.replace_policy_assignment(&uses),
                store.delete_policy(&ws, &p, 2_000)
            )
        };
        match (&assigned, &deleted) {
            // The assignment came first: the deletion must see it.
            (Ok(()), r) if is_conflict(r) => {
                assert_eq!(store.policy_assignment(&ws).await.expect("read"), uses);
            }
            // The deletion came first: the assignment must not name what is gone.
            (r, Ok(true)) if is_not_found(r) => {
                let current = store.policy_assignment(&ws).await.expect("read");
                assert_eq!(current.version, 2 * round - 2);
                let filler = assignment(&ws, 2 * round - 1, &[], None);
                store.replace_policy_assignment(&filler).await.expect("filler");
            }
            _ => panic!("round {round}: got {assigned:?} and {deleted:?}"),
        }
        store
            .replace_policy_assignment(&assignment(&ws, 2 * round, &[], None))
            .await
            .expect("clear");
    }
}
