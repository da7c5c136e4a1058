//! Conformance checks of identity storage: custom roles and their assignments, the default
//! role, credential expiry and last use, deactivation's revocations, sessions, local admins
//! and one-use OIDC sign-in states.

use steward_model::{ApiScope, CredentialKind, Permission, PermissionSet, UserKind};

use super::Fixture;
use crate::{
    LocalAdmin, NewCredential, NewUser, OidcPending, RoleAssignment, RoleRow, RoleSubject, SessionRow,
    SignInFailures, StoreError,
};

fn role(ws: &str, name: &str, perms: &[Permission]) -> RoleRow {
    RoleRow {
        id: format!("role_{name}"),
        workspace_id: ws.to_owned(),
        name: name.to_owned(),
        description: format!("{name} role"),
        permissions: perms.iter().copied().collect(),
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
    }
}

fn assignment(ws: &str, role: &str, kind: RoleSubject, id: &str) -> RoleAssignment {
    RoleAssignment {
        workspace_id: ws.to_owned(),
        role_name: role.to_owned(),
        subject_kind: kind,
        subject_id: id.to_owned(),
        created_at_ms: 2_000,
    }
}

pub async fn roles_and_assignments_round_trip_per_workspace(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let other = store.create_workspace("Other").await.expect("other").id;
    assert_eq!(
        store.get_workspace(&ws).await.unwrap().unwrap().default_role,
        "member"
    );

    let saved = store
        .upsert_role(&role(&ws, "auditor", &[Permission::ComplianceRead]))
        .await
        .expect("create");
    assert_eq!(
        saved.permissions,
        [Permission::ComplianceRead]
            .into_iter()
            .collect::<PermissionSet>()
    );
    // An upsert of the same name keeps the id and creation time, changes the rest.
    let mut changed = role(&ws, "auditor", &[Permission::PoliciesManage]);
    changed.id = "role_other_id".into();
    changed.created_at_ms = 9_999;
    changed.updated_at_ms = 5_000;
    let updated = store.upsert_role(&changed).await.expect("update");
    assert_eq!(updated.id, "role_auditor");
    assert_eq!(updated.created_at_ms, 1_000);
    assert_eq!(updated.updated_at_ms, 5_000);
    assert!(
        updated.permissions.contains(Permission::PoliciesRead),
        "implied permissions survive"
    );
    let elsewhere = RoleRow {
        id: "role_auditor_2".into(),
        ..role(&other, "auditor", &[])
    };
    store.upsert_role(&elsewhere).await.expect("same name elsewhere");
    assert_eq!(store.list_roles(&ws).await.unwrap().len(), 1);

    assert!(store
        .set_role_assignment(&assignment(&ws, "auditor", RoleSubject::User, "user_a"), true)
        .await
        .unwrap());
    assert!(
        !store
            .set_role_assignment(&assignment(&ws, "auditor", RoleSubject::User, "user_a"), true)
            .await
            .unwrap(),
        "assigning twice changes nothing"
    );
    store
        .set_role_assignment(&assignment(&ws, "codex_admin", RoleSubject::Group, "grp_1"), true)
        .await
        .unwrap();
    store
        .set_role_assignment(&assignment(&ws, "member", RoleSubject::Group, "grp_2"), true)
        .await
        .unwrap();
    store
        .set_role_assignment(&assignment(&other, "auditor", RoleSubject::User, "user_a"), true)
        .await
        .unwrap();
    let mine = store
        .assignments_for(&ws, "user_a", &["grp_1".to_owned(), "grp_9".to_owned()])
        .await
        .unwrap();
    let names: Vec<&str> = mine.iter().map(|a| a.role_name.as_str()).collect();
    assert_eq!(names, ["auditor", "codex_admin"], "{mine:?}");
    assert_eq!(store.assignments_for(&ws, "user_b", &[]).await.unwrap(), vec![]);

    // Deleting a role deletes its assignments, in this workspace only.
    assert!(store.delete_role(&ws, "auditor").await.unwrap());
    assert!(!store.delete_role(&ws, "auditor").await.unwrap());
    let left: Vec<String> = store
        .role_assignments(&ws)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.role_name)
        .collect();
    assert_eq!(left, ["codex_admin", "member"]);
    assert_eq!(store.role_assignments(&other).await.unwrap().len(), 1);
    assert!(store
        .set_role_assignment(&assignment(&ws, "member", RoleSubject::Group, "grp_2"), false)
        .await
        .unwrap());

    store.set_default_role(&ws, "codex_admin").await.unwrap();
    assert_eq!(
        store.get_workspace(&ws).await.unwrap().unwrap().default_role,
        "codex_admin"
    );
    assert_eq!(
        store.get_workspace(&other).await.unwrap().unwrap().default_role,
        "member"
    );
}

pub async fn deactivation_revokes_the_users_credentials_and_sessions(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let user = store
        .upsert_user(&NewUser {
            workspace_id: ws.clone(),
            email: Some("zoe@example.com".into()),
            name: None,
            account_id: None,
            kind: UserKind::Person,
            principal_key: "email:zoe@example.com".into(),
        })
        .await
        .unwrap();
    assert!(user.active && user.deleted_at_ms.is_none() && user.user_name.is_none());
    let cred = |hash: char, kind: CredentialKind, expires: Option<i64>| NewCredential {
        workspace_id: ws.clone(),
        name: format!("c{hash}"),
        kind,
        prefix: "stw_it_abcd".into(),
        secret_hash: hash.to_string().repeat(64),
        expires_at_ms: expires,
        created_by: Some("local:test".into()),
    };
    let token = store
        .create_credential(&cred(
            '1',
            CredentialKind::UserIngest {
                user_id: user.id.clone(),
            },
            None,
        ))
        .await
        .unwrap();
    let key = store
        .create_credential(&cred(
            '2',
            CredentialKind::ApiKey {
                scopes: vec![ApiScope::Admin],
            },
            Some(10_000),
        ))
        .await
        .unwrap();
    assert_eq!(key.expires_at_ms, Some(10_000));
    assert_eq!(key.created_by.as_deref(), Some("local:test"));
    assert!(key.is_live(9_999) && !key.is_live(10_000));

    store.touch_credential(&token.id, 50_000).await.unwrap();
    store.touch_credential(&token.id, 40_000).await.unwrap();
    let found = store
        .find_credential_by_hash(&"1".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_used_at_ms, Some(50_000), "last use never moves back");

    let session = |n: u8| SessionRow {
        id_hash: format!("{n:064}"),
        workspace_id: ws.clone(),
        user_id: Some(user.id.clone()),
        admin_id: None,
        method: "oidc".into(),
        created_at_ms: 1_000,
        last_seen_at_ms: 1_000,
        expires_at_ms: 100_000,
        revoked_at_ms: None,
    };
    store.create_session(&session(1)).await.unwrap();
    store.create_session(&session(2)).await.unwrap();
    store.touch_session(&session(1).id_hash, 2_000).await.unwrap();
    assert_eq!(
        store
            .find_session(&session(1).id_hash)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at_ms,
        2_000
    );
    assert!(store.revoke_session(&session(2).id_hash, 3_000).await.unwrap());
    assert!(!store.revoke_session(&session(2).id_hash, 3_000).await.unwrap());

    let after = store
        .set_user_active(&ws, &user.id, false, 4_000)
        .await
        .unwrap()
        .unwrap();
    assert!(!after.active && !after.is_enabled());
    let revoked = store.revoke_user_credentials(&ws, &user.id, 4_000).await.unwrap();
    assert_eq!(revoked.len(), 1, "only the user's own token");
    assert_eq!(revoked[0].revoked_at_ms, Some(4_000));
    assert!(store
        .find_credential_by_hash(&"1".repeat(64))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .find_credential_by_hash(&"2".repeat(64))
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.revoke_user_sessions(&ws, &user.id, 4_000).await.unwrap(), 1);
    assert_eq!(
        store
            .find_session(&session(1).id_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked_at_ms,
        Some(4_000)
    );
    assert_eq!(store.get_user(&ws, &user.id).await.unwrap().unwrap(), after);
    assert!(store
        .set_user_active(&ws, "user_none", false, 1)
        .await
        .unwrap()
        .is_none());
}

pub async fn local_admins_and_oidc_states(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let admin = LocalAdmin {
        id: "adm_1".into(),
        username: "breakglass".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at_ms: 1_000,
        disabled_at_ms: None,
        last_sign_in_at_ms: None,
    };
    store.create_local_admin(&admin).await.unwrap();
    let dup = LocalAdmin {
        id: "adm_2".into(),
        ..admin.clone()
    };
    assert!(matches!(
        store.create_local_admin(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.find_local_admin("breakglass").await.unwrap(),
        Some(admin.clone())
    );
    // Sessions of this admin (two open, one signed out, one past its end) and of another admin.
    let admin_session = |n: u8, admin_id: &str, revoked: Option<i64>| SessionRow {
        id_hash: format!("{n:064}"),
        workspace_id: ws.clone(),
        user_id: None,
        admin_id: Some(admin_id.to_owned()),
        method: "password".into(),
        created_at_ms: 1_000,
        last_seen_at_ms: 1_000,
        expires_at_ms: 100_000,
        revoked_at_ms: revoked,
    };
    for s in [
        admin_session(1, "adm_1", None),
        admin_session(2, "adm_1", None),
        admin_session(3, "adm_1", Some(2_000)),
        admin_session(4, "adm_other", None),
        SessionRow {
            expires_at_ms: 4_000,
            ..admin_session(5, "adm_1", None)
        },
    ] {
        store.create_session(&s).await.unwrap();
    }
    // A lock on the admin's name (and one on another name).
    for name in ["breakglass", "breakglass2"] {
        store.record_sign_in_failure(name, 4_000, 0).await.unwrap();
    }
    let ended = store
        .set_local_admin_password("adm_1", "$argon2id$new", 5_000)
        .await
        .unwrap();
    assert_eq!(ended, 2, "a password change ends the admin's open sessions");
    let revoked_at = |n: u8| {
        let store = store.clone();
        async move {
            store
                .find_session(&format!("{n:064}"))
                .await
                .unwrap()
                .unwrap()
                .revoked_at_ms
        }
    };
    assert_eq!(revoked_at(1).await, Some(5_000));
    assert_eq!(revoked_at(2).await, Some(5_000));
    assert_eq!(revoked_at(3).await, Some(2_000), "an ended session keeps its end");
    assert_eq!(revoked_at(4).await, None, "another admin's session lives on");
    assert_eq!(
        revoked_at(5).await,
        None,
        "a session past its end is not counted as ended"
    );
    assert_eq!(
        store.sign_in_failures("breakglass", 0).await.unwrap(),
        None,
        "a new password lifts the lock"
    );
    assert!(store.sign_in_failures("breakglass2", 0).await.unwrap().is_some());
    store.record_admin_sign_in("adm_1", 7_000).await.unwrap();
    let got = store.get_local_admin("adm_1").await.unwrap().unwrap();
    assert_eq!(
        (got.password_hash.as_str(), got.last_sign_in_at_ms),
        ("$argon2id$new", Some(7_000))
    );
    assert_eq!(store.list_local_admins().await.unwrap().len(), 1);

    let pending = |hash: &str, at: i64| OidcPending {
        state_hash: hash.to_owned(),
        workspace_id: ws.clone(),
        return_to: "/".into(),
        created_at_ms: at,
        expires_at_ms: at + 600_000,
    };
    store.put_oidc_pending(&pending("s1", 1_000)).await.unwrap();
    store.put_oidc_pending(&pending("s2", 1_000)).await.unwrap();
    assert_eq!(
        store.take_oidc_pending("s1", 2_000).await.unwrap(),
        Some(pending("s1", 1_000))
    );
    assert_eq!(
        store.take_oidc_pending("s1", 2_000).await.unwrap(),
        None,
        "a state is used once"
    );
    assert_eq!(
        store.take_oidc_pending("s2", 601_000).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_oidc_pending("s2", 2_000).await.unwrap(),
        None,
        "and gone"
    );
}

pub async fn sign_in_failures_count_expire_and_clear(fixture: Fixture) {
    let store = fixture.0;
    assert_eq!(store.sign_in_failures("ops", 0).await.unwrap(), None);
    for (n, at) in [(1, 1_000), (2, 2_000), (3, 3_000)] {
        let got = store.record_sign_in_failure("ops", at, 0).await.unwrap();
        assert_eq!((got.failures, got.last_failure_ms), (n, at));
    }
    // A late writer (another replica's older clock) never moves the last failure back.
    let late = store.record_sign_in_failure("ops", 2_500, 0).await.unwrap();
    assert_eq!((late.failures, late.last_failure_ms), (4, 3_000));
    // Names are counted apart, exactly as typed.
    let other = store.record_sign_in_failure("Ops", 3_000, 0).await.unwrap();
    assert_eq!(other.failures, 1);
    assert_eq!(
        store.sign_in_failures("ops", 0).await.unwrap(),
        Some(SignInFailures {
            failures: 4,
            last_failure_ms: 3_000
        })
    );
    // Failures older than `since` are not reported, and the next failure starts again at 1.
    assert_eq!(store.sign_in_failures("ops", 3_001).await.unwrap(), None);
    let fresh = store.record_sign_in_failure("ops", 10_000, 5_000).await.unwrap();
    assert_eq!((fresh.failures, fresh.last_failure_ms), (1, 10_000));
    // ... and stale rows of other names were deleted on the way.
    assert_eq!(store.sign_in_failures("Ops", 0).await.unwrap(), None);

    store.record_sign_in_failure("ops", 11_000, 5_000).await.unwrap();
    store.clear_sign_in_failures("ops").await.unwrap();
    assert_eq!(store.sign_in_failures("ops", 0).await.unwrap(), None);
    store.clear_sign_in_failures("nobody").await.unwrap();

    // Concurrent failures (several replicas) are all counted.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.record_sign_in_failure("ops", 20_000 + i, 5_000).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("record");
    }
    assert_eq!(
        store
            .sign_in_failures("ops", 0)
            .await
            .unwrap()
            .map(|f| f.failures),
        Some(8)
    );
}
