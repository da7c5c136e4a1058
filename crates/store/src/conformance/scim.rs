//! Conformance checks of SCIM storage (`ScimStore`): provisioning new users and adopting the
//! rows Steward already knows, userName uniqueness among live SCIM users, updates, lookups,
//! deletion that keeps the row, and SCIM groups with their members; all per workspace.

use std::sync::Arc;

use steward_model::UserKind;

use super::Fixture;
use crate::{
    Group, GroupSource, NewUser, ScimGroupLookup, ScimGroupWrite, ScimMembers, ScimUserLookup, ScimUserWrite,
    Store, StoreError,
};

async fn workspaces(store: &Arc<dyn Store>) -> (String, String) {
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    (ws, ws2)
}

fn write(ws: &str, user_name: &str, email: Option<&str>, at: i64) -> ScimUserWrite {
    ScimUserWrite {
        workspace_id: ws.to_owned(),
        user_name: user_name.to_owned(),
        external_id: Some(format!("ext-{user_name}")),
        email: email.map(str::to_owned),
        name: Some(format!("Name of {user_name}")),
        scim_json: format!(r#"{{"title":"t-{user_name}"}}"#),
        at_ms: at,
    }
}

fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

pub async fn scim_users_are_created_adopted_and_unique(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    // A user seen in telemetry (no userName): SCIM adopts the row.
    let seen = store
        .upsert_user(&NewUser {
            workspace_id: ws.clone(),
            email: Some("dana@example.com".into()),
            name: None,
            account_id: None,
            kind: UserKind::Person,
            principal_key: "email:dana@example.com".into(),
        })
        .await
        .expect("telemetry user");
    assert!(
        store.scim_get_user(&ws, &seen.id).await.expect("get").is_none(),
        "not provisioned yet"
    );
    let adopted = store
        .scim_create_user(&write(&ws, "Dana@Example.com", Some("Dana@Example.com"), 5_000))
        .await
        .expect("adopt");
    assert_eq!(
        adopted.adopted.as_ref().map(|u| u.id.as_str()),
        Some(seen.id.as_str())
    );
    assert_eq!(adopted.user.user.id, seen.id, "same row: history stays");
    assert_eq!(adopted.user.user.user_name.as_deref(), Some("Dana@Example.com"));
    assert_eq!(adopted.user.user.principal_key, "email:dana@example.com");
    assert_eq!(adopted.user.user.created_at_ms, seen.created_at_ms);
    assert_eq!(adopted.user.updated_at_ms, Some(5_000));
    assert_eq!(
        adopted.user.scim_json.as_deref(),
        Some(r#"{"title":"t-Dana@Example.com"}"#)
    );
    assert!(adopted.user.user.active);

    // A new person: a new row keyed by email.
    let eve = store
        .scim_create_user(&write(&ws, "eve", Some("eve@example.com"), 6_000))
        .await
        .expect("create");
    assert!(eve.adopted.is_none());
    assert_eq!(eve.user.user.principal_key, "email:eve@example.com");
    assert_eq!(eve.user.user.email.as_deref(), Some("eve@example.com"));
    assert_eq!(eve.user.user.created_at_ms, 6_000);
    // No email: keyed by its id.
    let noemail = store
        .scim_create_user(&write(&ws, "svc-build", None, 7_000))
        .await
        .expect("create without email");
    assert_eq!(
        noemail.user.user.principal_key,
        format!("scim:{}", noemail.user.user.id)
    );

    // userName is unique among live SCIM users, case-insensitively, per workspace.
    assert!(is_conflict(
        &store
            .scim_create_user(&write(&ws, "EVE", Some("other@example.com"), 8_000))
            .await
    ));
    assert!(is_conflict(
        &store
            .scim_create_user(&write(&ws, "dana@example.com", None, 8_000))
            .await
    ));
    // An email already provisioned under another userName: a second row, not a takeover.
    let eve2 = store
        .scim_create_user(&write(&ws, "eve.two", Some("EVE@example.com"), 8_000))
        .await
        .expect("second user with that email");
    assert!(eve2.adopted.is_none());
    assert_ne!(eve2.user.user.id, eve.user.user.id);
    assert_eq!(
        eve2.user.user.principal_key,
        format!("scim:{}", eve2.user.user.id)
    );
    let other = store
        .scim_create_user(&write(&ws2, "eve", Some("eve@example.com"), 8_000))
        .await
        .expect("same userName in another workspace");
    assert_ne!(other.user.user.id, eve.user.user.id);

    // Lookups, oldest first, per workspace.
    let all = store
        .scim_list_users(&ws, &ScimUserLookup::All)
        .await
        .expect("list");
    let ids: Vec<&str> = all.iter().map(|u| u.user.id.as_str()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(&seen.id.as_str()));
    let by_name = store
        .scim_list_users(&ws, &ScimUserLookup::UserName("DANA@example.COM".into()))
        .await
        .expect("by userName");
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].user.id, seen.id);
    let by_ext = store
        .scim_list_users(&ws, &ScimUserLookup::ExternalId("ext-eve".into()))
        .await
        .expect("by externalId");
    assert_eq!(by_ext.len(), 1);
    assert_eq!(by_ext[0].user.id, eve.user.user.id);
    let by_id = store
        .scim_list_users(&ws, &ScimUserLookup::Id(other.user.user.id.clone()))
        .await
        .expect("by id, other workspace");
    assert!(by_id.is_empty(), "workspaces are isolated");
    assert!(store
        .scim_get_user(&ws2, &eve.user.user.id)
        .await
        .expect("get")
        .is_none());
}

pub async fn scim_users_are_updated_and_deleted_keeping_the_row(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    let a = store
        .scim_create_user(&write(&ws, "a@example.com", Some("a@example.com"), 1_000))
        .await
        .expect("a")
        .user;
    let b = store
        .scim_create_user(&write(&ws, "b@example.com", Some("b@example.com"), 1_000))
        .await
        .expect("b")
        .user;
    let mut w = write(&ws, "A.Renamed@example.com", None, 2_000);
    w.name = None;
    w.scim_json = r#"{"title":"boss"}"#.into();
    let after = store
        .scim_update_user(&a.user.id, &w)
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(after.user.user_name.as_deref(), Some("A.Renamed@example.com"));
    assert_eq!(
        after.user.email.as_deref(),
        Some("a@example.com"),
        "no email: the stored one stays"
    );
    assert_eq!(
        after.user.name.as_deref(),
        Some("Name of a@example.com"),
        "no name: the stored one stays"
    );
    assert_eq!(after.scim_json.as_deref(), Some(r#"{"title":"boss"}"#));
    assert_eq!(after.updated_at_ms, Some(2_000));
    // Taking b's userName (any case) is a conflict; the same user may change its case.
    assert!(is_conflict(
        &store
            .scim_update_user(&a.user.id, &write(&ws, "B@EXAMPLE.COM", None, 3_000))
            .await
    ));
    store
        .scim_update_user(&a.user.id, &write(&ws, "a.renamed@EXAMPLE.com", None, 3_000))
        .await
        .expect("own name, other case")
        .expect("exists");
    // Another workspace's id: nothing.
    assert!(store
        .scim_update_user(&a.user.id, &write(&ws2, "x", None, 3_000))
        .await
        .expect("update")
        .is_none());

    // Delete: the row stays, SCIM no longer sees it, memberships go, the name is free again.
    let g = Group {
        id: "grp-scim".into(),
        workspace_id: ws.clone(),
        name: "Engineering".into(),
        source: GroupSource::Scim,
        external_id: None,
        created_at_ms: 1_000,
    };
    let gw = ScimGroupWrite {
        workspace_id: ws.clone(),
        name: "Engineering".into(),
        external_id: None,
        scim_json: "{}".into(),
        at_ms: 1_000,
    };
    store
        .scim_create_group(&g, &gw, &[b.user.id.clone(), a.user.id.clone()])
        .await
        .expect("group");
    assert!(!store
        .scim_delete_user(&ws2, &b.user.id, 4_000)
        .await
        .expect("other ws"));
    assert!(store
        .scim_delete_user(&ws, &b.user.id, 4_000)
        .await
        .expect("delete"));
    assert!(!store
        .scim_delete_user(&ws, &b.user.id, 4_001)
        .await
        .expect("again"));
    assert!(store.scim_get_user(&ws, &b.user.id).await.expect("get").is_none());
    let row = store
        .get_user(&ws, &b.user.id)
        .await
        .expect("row")
        .expect("row stays");
    assert_eq!(row.deleted_at_ms, Some(4_000));
    assert_eq!(
        store.group_members(&ws, "grp-scim").await.expect("members"),
        vec![a.user.id.clone()]
    );
    // Provisioned again with the same email: the deleted row is adopted (history reconnects).
    let again = store
        .scim_create_user(&write(&ws, "b@example.com", Some("b@example.com"), 5_000))
        .await
        .expect("re-provision");
    assert_eq!(again.user.user.id, b.user.id);
    assert_eq!(again.adopted.and_then(|u| u.deleted_at_ms), Some(4_000));
    assert_eq!(again.user.user.deleted_at_ms, None);
}

pub async fn scim_groups_keep_members_per_workspace(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    let group = |id: &str, ws: &str, name: &str| Group {
        id: id.into(),
        workspace_id: ws.into(),
        name: name.into(),
        source: GroupSource::Scim,
        external_id: Some(format!("ext-{id}")),
        created_at_ms: 1_000,
    };
    let gw = |ws: &str, name: &str, at: i64| ScimGroupWrite {
        workspace_id: ws.into(),
        name: name.into(),
        external_id: Some(format!("ext-{name}")),
        scim_json: format!(r#"{{"n":"{name}"}}"#),
        at_ms: at,
    };
    let members = ["u1".to_owned(), "u2".to_owned()];
    let eng = store
        .scim_create_group(&group("g1", &ws, "eng"), &gw(&ws, "eng", 1_000), &members)
        .await
        .expect("create");
    assert_eq!(eng.members, members.to_vec());
    assert_eq!(eng.group.source, GroupSource::Scim);
    assert_eq!(eng.scim_json.as_deref(), Some(r#"{"n":"eng"}"#));
    assert_eq!(eng.updated_at_ms, Some(1_000));
    // Names are unique per workspace, also against manual groups.
    store
        .create_group(&Group {
            source: GroupSource::Manual,
            ..group("m1", &ws, "manual")
        })
        .await
        .expect("manual group");
    assert!(is_conflict(
        &store
            .scim_create_group(&group("g2", &ws, "eng"), &gw(&ws, "eng", 1_000), &[])
            .await
    ));
    assert!(is_conflict(
        &store
            .scim_create_group(&group("g2", &ws, "manual"), &gw(&ws, "manual", 1_000), &[])
            .await
    ));
    store
        .scim_create_group(&group("g3", &ws2, "eng"), &gw(&ws2, "eng", 1_000), &["u9".into()])
        .await
        .expect("same name in another workspace");
    let ops = store
        .scim_create_group(&group("g4", &ws, "ops"), &gw(&ws, "ops", 2_000), &[])
        .await
        .expect("ops");
    assert!(ops.members.is_empty());

    // SCIM sees its own groups only, per workspace.
    let names = |gs: Vec<crate::ScimGroup>| gs.into_iter().map(|g| g.group.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .scim_list_groups(&ws, &ScimGroupLookup::All)
                .await
                .expect("list")
        ),
        vec!["eng", "ops"]
    );
    assert!(store.scim_get_group(&ws, "m1").await.expect("get").is_none());
    assert!(store.scim_get_group(&ws2, "g1").await.expect("get").is_none());
    assert_eq!(
        names(
            store
                .scim_list_groups(&ws, &ScimGroupLookup::ExternalId("ext-ops".into()))
                .await
                .expect("by externalId")
        ),
        vec!["ops"]
    );
    assert_eq!(
        names(
            store
                .scim_list_groups(&ws, &ScimGroupLookup::DisplayName("eng".into()))
                .await
                .expect("by name")
        ),
        vec!["eng"]
    );
    let listed = store
        .scim_list_groups(&ws, &ScimGroupLookup::Id("g1".into()))
        .await
        .expect("by id");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].members, members.to_vec());

    // Member deltas and replacement, name changes; conflicts change nothing.
    let after = store
        .scim_update_group(
            "g1",
            &gw(&ws, "engineering", 3_000),
            &ScimMembers::Delta {
                add: vec!["u3".into(), "u1".into()],
                remove: vec!["u2".into(), "nobody".into()],
            },
        )
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(after.group.name, "engineering");
    assert_eq!(after.members, vec!["u1".to_owned(), "u3".to_owned()]);
    assert_eq!(after.updated_at_ms, Some(3_000));
    assert!(is_conflict(
        &store
            .scim_update_group("g1", &gw(&ws, "ops", 4_000), &ScimMembers::Replace(vec![]))
            .await
    ));
    let same = store
        .scim_get_group(&ws, "g1")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(same, after, "a refused update changes nothing");
    let replaced = store
        .scim_update_group(
            "g1",
            &gw(&ws, "engineering", 5_000),
            &ScimMembers::Replace(vec!["u4".into()]),
        )
        .await
        .expect("replace")
        .expect("exists");
    assert_eq!(replaced.members, vec!["u4".to_owned()]);
    let kept = store
        .scim_update_group("g1", &gw(&ws, "engineering", 6_000), &ScimMembers::Keep)
        .await
        .expect("keep")
        .expect("exists");
    assert_eq!(kept.members, vec!["u4".to_owned()]);
    // A manual group or another workspace's group is not SCIM's to change.
    assert!(store
        .scim_update_group("m1", &gw(&ws, "manual", 7_000), &ScimMembers::Keep)
        .await
        .expect("manual")
        .is_none());
    assert!(store
        .scim_update_group("g3", &gw(&ws, "eng2", 7_000), &ScimMembers::Keep)
        .await
        .expect("other workspace")
        .is_none());
    assert_eq!(
        store.group_members(&ws2, "g3").await.expect("members"),
        vec!["u9".to_owned()]
    );
}

/// `scim_page_*` is exactly a slice of `scim_list_*(All)` (same order, ties by id), with the
/// listing's size: deleted users, non-SCIM rows, manual groups and other workspaces left out.
pub async fn scim_pages_are_slices_of_the_full_listing(fixture: Fixture) {
    let store = fixture.0;
    let (ws, ws2) = workspaces(&store).await;
    // Several users share a creation time, so the order falls back to the id.
    for (i, at) in [
        (0, 3_000),
        (1, 1_000),
        (2, 3_000),
        (3, 2_000),
        (4, 3_000),
        (5, 1_000),
        (6, 4_000),
    ] {
        store
            .scim_create_user(&write(
                &ws,
                &format!("user{i}"),
                Some(&format!("u{i}@example.com")),
                at,
            ))
            .await
            .expect("create");
    }
    let gone = store
        .scim_create_user(&write(&ws, "gone", Some("gone@example.com"), 1_500))
        .await
        .expect("create");
    assert!(store
        .scim_delete_user(&ws, &gone.user.user.id, 9_000)
        .await
        .unwrap());
    store
        .upsert_user(&NewUser {
            workspace_id: ws.clone(),
            email: Some("telemetry@example.com".into()),
            name: None,
            account_id: None,
            kind: UserKind::Person,
            principal_key: "email:telemetry@example.com".into(),
        })
        .await
        .expect("telemetry user");
    store
        .scim_create_user(&write(&ws2, "elsewhere", Some("x@example.com"), 1_000))
        .await
        .expect("other workspace");

    let full = store.scim_list_users(&ws, &ScimUserLookup::All).await.unwrap();
    assert_eq!(full.len(), 7);
    for (offset, limit) in [(0, 3), (3, 3), (6, 3), (0, 100), (10, 5), (0, 0), (2, u64::MAX)] {
        let page = store.scim_page_users(&ws, offset, limit).await.unwrap();
        let from = (offset as usize).min(full.len());
        let to = from.saturating_add(limit.min(100) as usize).min(full.len());
        assert_eq!(page.total, 7, "offset {offset} limit {limit}");
        assert_eq!(
            page.items,
            full[from..to].to_vec(),
            "offset {offset} limit {limit}"
        );
    }
    assert_eq!(store.scim_page_users(&ws2, 0, 10).await.unwrap().total, 1);

    let group = |id: &str, ws: &str, name: &str, at: i64, source: GroupSource| Group {
        id: id.into(),
        workspace_id: ws.into(),
        name: name.into(),
        source,
        external_id: None,
        created_at_ms: at,
    };
    let gw = |ws: &str, name: &str, at: i64| ScimGroupWrite {
        workspace_id: ws.into(),
        name: name.into(),
        external_id: None,
        scim_json: "{}".into(),
        at_ms: at,
    };
    let ids: Vec<String> = full.iter().map(|u| u.user.id.clone()).collect();
    for (id, at, members) in [
        ("g3", 2_000, &ids[..2]),
        ("g1", 2_000, &ids[1..5]),
        ("g2", 1_000, &ids[..0]),
        ("g5", 3_000, &ids[..]),
        ("g4", 2_000, &ids[6..]),
    ] {
        store
            .scim_create_group(
                &group(id, &ws, &format!("team-{id}"), at, GroupSource::Scim),
                &gw(&ws, &format!("team-{id}"), at),
                members,
            )
            .await
            .expect("group");
    }
    store
        .create_group(&group("m1", &ws, "manual", 1_000, GroupSource::Manual))
        .await
        .expect("manual");
    store
        .scim_create_group(
            &group("o1", &ws2, "other", 1_000, GroupSource::Scim),
            &gw(&ws2, "other", 1_000),
            &[],
        )
        .await
        .expect("other workspace");
    let all = store.scim_list_groups(&ws, &ScimGroupLookup::All).await.unwrap();
    assert_eq!(
        all.iter().map(|g| g.group.id.as_str()).collect::<Vec<_>>(),
        ["g2", "g1", "g3", "g4", "g5"]
    );
    for (offset, limit) in [(0, 2), (2, 2), (4, 2), (0, 10), (5, 1), (1, 0)] {
        let page = store.scim_page_groups(&ws, offset, limit).await.unwrap();
        let from = (offset as usize).min(all.len());
        let to = (from + limit as usize).min(all.len());
        assert_eq!(page.total, 5, "offset {offset} limit {limit}");
        assert_eq!(
            page.items,
            all[from..to].to_vec(),
            "offset {offset} limit {limit}"
        );
    }
}
