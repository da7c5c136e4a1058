//! Admin commands. They open the same store as the server (SQLite in WAL mode or PostgreSQL),
//! so they work while the server runs.

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use serde_json::json;
use steward_core::identity::keys::CredentialView;
use steward_core::identity::{authorize, Caller, Grant};
use steward_core::{IdentityService, IssuedSecret, Principals};
use steward_model::{ApiScope, Credential, CredentialKind, Permission, Workspace};
use steward_store::Store;

use crate::cli::{GlobalArgs, KeysCommand, TokensCommand, UsersCommand, WorkspacesCommand};
use crate::config::Config;
use crate::output::{print_json, print_table};
use crate::runtime::open_store;

/// The store and the workspace an admin command acts on.
pub(super) struct Ctx {
    pub store: Arc<dyn Store>,
    pub principals: Principals,
    pub workspace: Workspace,
}

pub(super) async fn ctx(config: &Config, global: &GlobalArgs) -> Result<Ctx> {
    let store = open_store(config).await?;
    let principals =
        Principals::new(store.clone()).acting_as(steward_core::compliance::audit::Actor::local_admin());
    let default = principals.default_workspace().await?;
    let workspace = match &global.workspace_id {
        None => default,
        Some(id) => store
            .get_workspace(id)
            .await?
            .ok_or_else(|| anyhow!("no workspace with id `{id}` (see `steward workspaces list`)"))?,
    };
    Ok(Ctx {
        store,
        principals,
        workspace,
    })
}

impl Ctx {
    /// Admin commands act as the operator (whoever can open the store holds everything), but
    /// still through the one authorization check, so a grant names what each command does.
    pub fn grant(&self, permission: Permission) -> Result<Grant> {
        let operator = Caller::Operator(steward_core::compliance::audit::Actor::local_admin());
        authorize(&operator, &self.workspace.id, permission).map_err(|d| anyhow!("not allowed: {d}"))
    }

    pub fn identity(&self) -> IdentityService {
        IdentityService::new(self.store.clone())
    }
}

/// `90d`, `12h`, `30m`, `45s` → milliseconds.
pub(super) fn parse_duration_ms(text: &str) -> Result<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = number
        .parse()
        .map_err(|_| anyhow!("--expires-in `{text}`: expected a number and a unit, like 90d, 12h or 30m"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("--expires-in `{text}`: unknown unit `{unit}` (use s, m, h or d)"),
    };
    if n <= 0 {
        bail!("--expires-in `{text}`: must be positive");
    }
    Ok(n.saturating_mul(unit_ms))
}

pub(super) fn ms_to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub async fn workspaces(config: &Config, global: &GlobalArgs, cmd: WorkspacesCommand) -> Result<()> {
    let c = ctx(config, global).await?;
    match cmd {
        WorkspacesCommand::List => {
            let all = c.store.list_workspaces().await?;
            if global.json {
                return print_json(&all);
            }
            let rows = all
                .iter()
                .map(|w| {
                    vec![
                        w.id.clone(),
                        w.name.clone(),
                        if w.is_default { "yes".into() } else { String::new() },
                        ms_to_rfc3339(w.created_at_ms),
                    ]
                })
                .collect::<Vec<_>>();
            print_table(&["ID", "NAME", "DEFAULT", "CREATED"], &rows);
            Ok(())
        }
        WorkspacesCommand::Create { name } => {
            let name = name.trim();
            if name.is_empty() {
                bail!("a workspace needs a name");
            }
            let ws = c.store.create_workspace(name).await?;
            if global.json {
                return print_json(&ws);
            }
            println!("workspace {} ({})", ws.id, ws.name);
            println!("next: steward keys create --workspace-id {} --scope admin", ws.id);
            Ok(())
        }
    }
}

pub async fn users(config: &Config, global: &GlobalArgs, cmd: UsersCommand) -> Result<()> {
    let c = ctx(config, global).await?;
    match cmd {
        UsersCommand::Add { email, name } => {
            let user = c
                .principals
                .add_user(&c.workspace.id, &email, name.as_deref())
                .await?;
            if global.json {
                return print_json(&user);
            }
            println!("user {} <{}> in workspace {}", user.id, email, c.workspace.id);
            println!("next: steward tokens create --user {email}");
            Ok(())
        }
        UsersCommand::List => {
            let users = c.store.list_users(&c.workspace.id).await?;
            if global.json {
                return print_json(&users);
            }
            let rows = users
                .iter()
                .map(|u| {
                    vec![
                        u.id.clone(),
                        u.email.clone().unwrap_or_default(),
                        u.name.clone().unwrap_or_default(),
                        u.kind.as_str().to_owned(),
                        if u.is_enabled() { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect::<Vec<_>>();
            print_table(&["ID", "EMAIL", "NAME", "KIND", "ACTIVE"], &rows);
            Ok(())
        }
        UsersCommand::Permissions { email } => {
            let user = c
                .store
                .find_user_by_email(&c.workspace.id, &email)
                .await?
                .filter(|u| u.deleted_at_ms.is_none())
                .ok_or_else(|| anyhow!("no user with email `{email}` in this workspace"))?;
            let effective = c.identity().effective_permissions(&user).await?;
            if global.json {
                return print_json(&effective);
            }
            println!("{}", effective.explanation);
            let rows = effective
                .granted_by
                .iter()
                .map(|(p, by)| vec![(*p).to_owned(), by.join("; ")])
                .collect::<Vec<_>>();
            if !rows.is_empty() {
                print_table(&["PERMISSION", "GRANTED BY"], &rows);
            }
            Ok(())
        }
        UsersCommand::Deactivate { email } => set_active(&c, global, &email, false).await,
        UsersCommand::Activate { email } => set_active(&c, global, &email, true).await,
    }
}

async fn set_active(c: &Ctx, global: &GlobalArgs, email: &str, active: bool) -> Result<()> {
    let grant = c.grant(Permission::UsersManage)?;
    let (user, done) = c.identity().set_user_active(&grant, email, active).await?;
    if global.json {
        return print_json(&json!({
            "id": user.id, "email": user.email, "active": user.active,
            "credentials_revoked": done.credentials_revoked, "sessions_revoked": done.sessions_revoked,
        }));
    }
    if active {
        println!("{email} is active again (issue new tokens: revoked ones stay revoked)");
    } else {
        println!(
            "{email} deactivated: {} ingest token(s) and {} session(s) revoked",
            done.credentials_revoked, done.sessions_revoked
        );
    }
    Ok(())
}

fn credential_json(issued: &IssuedSecret, field: &str) -> serde_json::Value {
    let mut v = json!({
        "id": issued.credential.id,
        "workspace_id": issued.credential.workspace_id,
        "name": issued.credential.name,
        "kind": issued.credential.kind,
        "prefix": issued.credential.prefix,
        "created_at_ms": issued.credential.created_at_ms,
        "expires_at_ms": issued.credential.expires_at_ms,
    });
    v[field] = json!(issued.secret);
    v
}

fn list_credentials(global: &GlobalArgs, creds: Vec<Credential>) -> Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    if global.json {
        let views: Vec<CredentialView> = creds.iter().map(|c| CredentialView::of(c, now)).collect();
        return print_json(&views);
    }
    let rows = creds
        .iter()
        .map(|c| {
            let detail = match &c.kind {
                CredentialKind::UserIngest { user_id } => format!("user {user_id}"),
                CredentialKind::WorkspaceIngest => "whole workspace".to_owned(),
                CredentialKind::ApiKey { scopes } => {
                    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
                }
            };
            let view = CredentialView::of(c, now);
            vec![
                c.id.clone(),
                c.name.clone(),
                format!("{}...", c.prefix),
                detail,
                view.status.to_owned(),
                c.expires_at_ms
                    .map(ms_to_rfc3339)
                    .unwrap_or_else(|| "never".to_owned()),
                c.last_used_at_ms
                    .map(ms_to_rfc3339)
                    .unwrap_or_else(|| "never".to_owned()),
            ]
        })
        .collect::<Vec<_>>();
    print_table(
        &["ID", "NAME", "PREFIX", "GRANTS", "STATE", "EXPIRES", "LAST USED"],
        &rows,
    );
    Ok(())
}

pub async fn tokens(config: &Config, global: &GlobalArgs, cmd: TokensCommand) -> Result<()> {
    let c = ctx(config, global).await?;
    match cmd {
        TokensCommand::Create {
            user,
            workspace,
            name,
        } => {
            let issued = match (user, workspace) {
                (Some(email), false) => {
                    c.principals
                        .create_user_token(&c.workspace.id, &email, name.as_deref())
                        .await?
                }
                (None, true) => {
                    c.principals
                        .create_workspace_token(&c.workspace.id, name.as_deref())
                        .await?
                }
                _ => bail!("give exactly one of --user EMAIL or --workspace"),
            };
            if global.json {
                return print_json(&credential_json(&issued, "token"));
            }
            println!("{}", issued.secret);
            eprintln!(
                "ingest token {} created; the secret above is shown only once.",
                issued.credential.id
            );
            eprintln!("use it in Codex's config.toml: [otel] exporter = {{ otlp-http = {{ endpoint = \"http://<steward>/v1/logs\", protocol = \"binary\", headers = {{ authorization = \"Bearer {}\" }} }} }}", issued.secret);
            Ok(())
        }
        TokensCommand::List => {
            let creds = c.store.list_credentials(&c.workspace.id).await?;
            list_credentials(
                global,
                creds
                    .into_iter()
                    .filter(|c| !matches!(c.kind, CredentialKind::ApiKey { .. }))
                    .collect(),
            )
        }
        TokensCommand::Revoke { id } => revoke(&c, global, &id, false).await,
    }
}

/// Revokes a token (`key` false) or an API key (`key` true), refusing the other kind so a
/// typo in one listing's id cannot revoke something from the other.
async fn revoke(c: &Ctx, global: &GlobalArgs, id: &str, key: bool) -> Result<()> {
    let live = c.store.list_credentials(&c.workspace.id).await?;
    let Some(found) = live.iter().find(|x| x.id == id && x.revoked_at_ms.is_none()) else {
        bail!("no live credential with id `{id}` in this workspace");
    };
    if matches!(found.kind, CredentialKind::ApiKey { .. }) != key {
        let (is, use_) = if key {
            ("an ingest token", "tokens")
        } else {
            ("an API key", "keys")
        };
        bail!("`{id}` is {is}; revoke it with `steward {use_} revoke`");
    }
    let revoked = c.principals.revoke(&c.workspace.id, id).await?;
    if global.json {
        return print_json(&serde_json::json!({ "id": revoked.id, "revoked_at_ms": revoked.revoked_at_ms }));
    }
    println!("revoked {} ({})", revoked.id, revoked.name);
    Ok(())
}

pub async fn keys(config: &Config, global: &GlobalArgs, cmd: KeysCommand) -> Result<()> {
    let c = ctx(config, global).await?;
    match cmd {
        KeysCommand::Create {
            scopes,
            name,
            expires_in,
        } => {
            let parsed = scopes
                .iter()
                .map(|s| {
                    ApiScope::parse(s).ok_or_else(|| {
                        let known = ApiScope::ALL
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        anyhow!("unknown scope `{s}`; known scopes: {known}")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let expires_at_ms = expires_in
                .as_deref()
                .map(|d| parse_duration_ms(d).map(|ms| chrono::Utc::now().timestamp_millis() + ms))
                .transpose()?;
            let grant = c.grant(Permission::KeysManage)?;
            let issued = c
                .identity()
                .issue_api_key(&grant, parsed, name.as_deref(), expires_at_ms)
                .await?;
            if global.json {
                return print_json(&credential_json(&issued, "key"));
            }
            println!("{}", issued.secret);
            eprintln!(
                "API key {} created; the secret above is shown only once.",
                issued.credential.id
            );
            eprintln!(
                "try: curl -H 'Authorization: Bearer {}' http://{}/v1/analytics/codex/workspaces/{}/usage",
                issued.secret, config.server.listen, c.workspace.id
            );
            Ok(())
        }
        KeysCommand::List => {
            let creds = c.store.list_credentials(&c.workspace.id).await?;
            list_credentials(
                global,
                creds
                    .into_iter()
                    .filter(|c| matches!(c.kind, CredentialKind::ApiKey { .. }))
                    .collect(),
            )
        }
        KeysCommand::Revoke { id } => revoke(&c, global, &id, true).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_times() {
        assert_eq!(super::ms_to_rfc3339(1_795_212_253_522), "2026-11-20T22:04:13Z");
    }
}
