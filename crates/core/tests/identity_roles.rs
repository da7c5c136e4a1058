//! Roles and effective permissions against a real SQLite store: the default role only for
//! users no assignment names, the union of roles from the user and their groups, custom roles,
//! deactivation, the explanation of each permission's source, and no escalation (nobody grants
//! what they do not hold). Every refused change leaves the store as it was.

use std::sync::Arc;

use steward_core::compliance::audit::Actor;
use steward_core::identity::{authorize, Caller, IdentityError, RoleSource, SubjectRef};
use steward_core::{IdentityService, Principals};
use steward_model::{ApiScope, BuiltinRole, Permission, PermissionSet, User};
use steward_store::{Group, GroupSource, Store};
use steward_store_sqlite::SqliteStore;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    identity: IdentityService,
    ws: String,
    operator: Caller,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("steward.db")).await.unwrap());
    let ws = store.ensure_default_workspace("Default").await.unwrap().id;
    Env {
        _dir: dir,
        identity: IdentityService::new(store.clone()),
        store,
        ws,
        operator: Caller::Operator(Actor::System {
            reason: "test".into(),
        }),
    }
}

impl Env {
    async fn user(&self, email: &str) -> User {
        Principals::new(self.store.clone())
            .add_user(&self.ws, email, None)
            .await
            .unwrap()
    }

    async fn group(&self, name: &str, members: &[&User]) {
        let g = Group {
            id: format!("grp_{name}"),
            workspace_id: self.ws.clone(),
            name: name.to_owned(),
            source: GroupSource::Manual,
            external_id: None,
            created_at_ms: 0,
        };
        self.store.create_group(&g).await.unwrap();
        for u in members {
            self.store
                .set_group_member(&self.ws, &g.id, &u.id, true)
                .await
                .unwrap();
        }
    }

    async fn assign(&self, role: &str, subject: SubjectRef) {
        let grant = authorize(&self.operator, &self.ws, Permission::UsersManage).unwrap();
        assert!(self
            .identity
            .assign_role(&grant, role, &subject, true)
            .await
            .unwrap());
    }

    async fn perms(&self, email: &str) -> PermissionSet {
        let u = self
            .store
            .find_user_by_email(&self.ws, email)
            .await
            .unwrap()
            .unwrap();
        self.identity.effective_permissions(&u).await.unwrap().set()
    }
}

fn set(ps: &[Permission]) -> PermissionSet {
    ps.iter().copied().collect()
}

#[tokio::test]
async fn the_default_role_applies_only_to_users_no_assignment_names() {
    let e = env().await;
    let dana = e.user("dana@example.com").await;
    let eve = e.user("eve@example.com").await;
    e.group("Codex Admin", &[&eve]).await;
    // Everyone is a member by default: no permission.
    assert!(e.perms("dana@example.com").await.is_empty());

    let admin = authorize(&e.operator, &e.ws, Permission::WorkspaceAdmin).unwrap();
    e.identity.set_default_role(&admin, "codex_admin").await.unwrap();
    assert_eq!(
        e.perms("dana@example.com").await,
        BuiltinRole::CodexAdmin.permissions()
    );

    // A user named by any assignment no longer gets the default, even a weaker role.
    e.assign("member", SubjectRef::Email("dana@example.com".into()))
        .await;
    assert!(e.perms("dana@example.com").await.is_empty());

    // Group roles and user roles add up: the most permissive union.
    e.assign("analytics_owner", SubjectRef::Group("Codex Admin".into()))
        .await;
    e.assign("security_owner", SubjectRef::Email("eve@example.com".into()))
        .await;
    let eve_perms = e.perms("eve@example.com").await;
    assert_eq!(
        eve_perms,
        BuiltinRole::AnalyticsOwner
            .permissions()
            .union(BuiltinRole::SecurityOwner.permissions())
    );
    let effective = e.identity.effective_permissions(&eve).await.unwrap();
    assert!(effective.roles.iter().any(|r| r.role == "analytics_owner"
        && r.source
            == RoleSource::Group {
                group: "Codex Admin".into()
            }));
    assert!(effective
        .roles
        .iter()
        .any(|r| r.role == "security_owner" && r.source == RoleSource::User));
    // compliance.read comes from both roles, and the explanation names both.
    assert_eq!(effective.granted_by["compliance.read"].len(), 2, "{effective:?}");
    assert!(
        effective.explanation.contains("via group Codex Admin"),
        "{}",
        effective.explanation
    );
    assert!(!effective.roles.iter().any(|r| r.source == RoleSource::Default));
    let _ = dana;
}

#[tokio::test]
async fn custom_roles_and_deactivation() {
    let e = env().await;
    let ann = e.user("ann@example.com").await;
    let admin = authorize(&e.operator, &e.ws, Permission::WorkspaceAdmin).unwrap();
    let view = e
        .identity
        .put_role(
            &admin,
            "auditor",
            "reads the log",
            set(&[Permission::ComplianceRead]),
        )
        .await
        .unwrap();
    assert_eq!(view.permissions, ["compliance.read"]);
    e.assign("auditor", SubjectRef::Email("ann@example.com".into()))
        .await;
    assert_eq!(
        e.perms("ann@example.com").await,
        set(&[Permission::ComplianceRead])
    );

    // Updating the role changes what its holders may do at once.
    e.identity
        .put_role(
            &admin,
            "auditor",
            "",
            set(&[Permission::ComplianceRead, Permission::AnalyticsExport]),
        )
        .await
        .unwrap();
    assert!(e
        .perms("ann@example.com")
        .await
        .contains(Permission::AnalyticsRead));

    // Built-in roles are fixed; names are checked.
    let err = e
        .identity
        .put_role(&admin, "member", "", PermissionSet::all())
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::BuiltinRole(_)), "{err}");
    let err = e
        .identity
        .put_role(&admin, "Bad Name", "", PermissionSet::EMPTY)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::InvalidRoleName(_)), "{err}");

    // Deactivation: no permissions, and the user's tokens stop at once.
    let token = Principals::new(e.store.clone())
        .create_user_token(&e.ws, "ann@example.com", None)
        .await
        .unwrap();
    let principals = Principals::new(e.store.clone());
    assert!(principals.authenticate(&token.secret).await.unwrap().is_some());
    let manage = authorize(&e.operator, &e.ws, Permission::UsersManage).unwrap();
    let (after, done) = e
        .identity
        .set_user_active(&manage, "ann@example.com", false)
        .await
        .unwrap();
    assert!(!after.active);
    assert_eq!(done.credentials_revoked, 1);
    assert!(principals.authenticate(&token.secret).await.unwrap().is_none());
    assert!(e.perms("ann@example.com").await.is_empty());
    let _ = ann;

    // Deleting the role removes its assignments.
    e.identity.delete_role(&admin, "auditor").await.unwrap();
    assert!(e.store.role_assignments(&e.ws).await.unwrap().is_empty());
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let e = env().await;
    e.user("bob@example.com").await;
    // A person whose custom role manages users and the workspace, but not keys or policies.
    let holder = e.user("lead@example.com").await;
    let custom = authorize(&e.operator, &e.ws, Permission::WorkspaceAdmin).unwrap();
    e.identity
        .put_role(
            &custom,
            "people-lead",
            "",
            set(&[
                Permission::UsersManage,
                Permission::WorkspaceAdmin,
                Permission::AnalyticsRead,
            ]),
        )
        .await
        .unwrap();
    e.assign("people-lead", SubjectRef::Email("lead@example.com".into()))
        .await;
    let lead = Caller::Person {
        permissions: e.identity.effective_permissions(&holder).await.unwrap().set(),
        user: holder,
        session: steward_store::SessionRow {
            id_hash: "x".into(),
            workspace_id: e.ws.clone(),
            user_id: None,
            admin_id: None,
            method: "test".into(),
            created_at_ms: 0,
            last_seen_at_ms: 0,
            expires_at_ms: i64::MAX,
            revoked_at_ms: None,
        },
    };
    let grant = authorize(&lead, &e.ws, Permission::UsersManage).unwrap();
    let before = e.store.role_assignments(&e.ws).await.unwrap();
    // workspace_owner holds keys.manage etc., which the lead does not.
    let err = e
        .identity
        .assign_role(
            &grant,
            "workspace_owner",
            &SubjectRef::Email("bob@example.com".into()),
            true,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::Escalation(_)), "{err}");
    // codex_admin needs policies.manage: refused too; member is fine.
    assert!(e
        .identity
        .assign_role(
            &grant,
            "codex_admin",
            &SubjectRef::Email("bob@example.com".into()),
            true
        )
        .await
        .is_err());
    assert_eq!(
        e.store.role_assignments(&e.ws).await.unwrap(),
        before,
        "refusals change nothing"
    );
    assert!(e
        .identity
        .assign_role(
            &grant,
            "member",
            &SubjectRef::Email("bob@example.com".into()),
            true
        )
        .await
        .unwrap());
    // A custom role with more than the lead holds cannot be created by the lead either.
    let admin_grant = authorize(&lead, &e.ws, Permission::WorkspaceAdmin).unwrap();
    let err = e
        .identity
        .put_role(&admin_grant, "sneaky", "", set(&[Permission::KeysManage]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::Escalation(Permission::KeysManage)),
        "{err}"
    );
    assert!(e.store.get_role(&e.ws, "sneaky").await.unwrap().is_none());
    // Keys: the lead has no keys.manage at all.
    assert!(authorize(&lead, &e.ws, Permission::KeysManage).is_err());

    // An analytics owner can issue an analytics key but not an admin or a scim key.
    let owner_user = e.user("owner@example.com").await;
    let analytics_owner = Caller::Person {
        permissions: BuiltinRole::AnalyticsOwner.permissions(),
        user: owner_user,
        session: match &lead {
            Caller::Person { session, .. } => session.clone(),
            _ => unreachable!(),
        },
    };
    let keys = authorize(&analytics_owner, &e.ws, Permission::KeysManage).unwrap();
    let issued = e
        .identity
        .issue_api_key(&keys, vec![ApiScope::AnalyticsRead], Some("bi"), None)
        .await
        .unwrap();
    assert_eq!(
        issued.credential.created_by.as_deref(),
        Some(&*format!(
            "user:{}",
            match &analytics_owner {
                Caller::Person { user, .. } => user.id.clone(),
                _ => unreachable!(),
            }
        ))
    );
    let count = e.store.list_credentials(&e.ws).await.unwrap().len();
    for scopes in [
        vec![ApiScope::Admin],
        vec![ApiScope::Scim],
        vec![ApiScope::PoliciesRead],
    ] {
        let err = e
            .identity
            .issue_api_key(&keys, scopes.clone(), None, None)
            .await
            .unwrap_err();
        assert!(matches!(err, IdentityError::Escalation(_)), "{scopes:?}: {err}");
    }
    assert_eq!(
        e.store.list_credentials(&e.ws).await.unwrap().len(),
        count,
        "refused keys are not stored"
    );
}
