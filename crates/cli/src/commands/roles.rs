//! `steward roles ...` (see `cli::identity`): every change goes through the one
//! authorization check as the operator, and is audited by the identity service.

use anyhow::{anyhow, Result};
use serde_json::json;
use steward_core::identity::SubjectRef;
use steward_model::{Permission, PermissionSet};

use super::admin::ctx;
use crate::cli::{GlobalArgs, RolesCommand};
use crate::config::Config;
use crate::output::{print_json, print_table};

fn subject(user: Option<String>, group: Option<String>) -> Result<SubjectRef> {
    match (user, group) {
        (Some(email), None) => Ok(SubjectRef::Email(email)),
        (None, Some(name)) => Ok(SubjectRef::Group(name)),
        _ => Err(anyhow!("give exactly one of --user EMAIL or --group NAME")),
    }
}

pub async fn run(config: &Config, global: &GlobalArgs, cmd: RolesCommand) -> Result<()> {
    let c = ctx(config, global).await?;
    let identity = c.identity();
    let ws = c.workspace.id.clone();
    match cmd {
        RolesCommand::List => {
            let roles = identity.list_roles(&ws).await?;
            if global.json {
                return print_json(&roles);
            }
            let rows = roles
                .iter()
                .map(|r| {
                    vec![
                        format!("{}{}", r.name, if r.is_default { " (default)" } else { "" }),
                        if r.builtin { "built-in" } else { "custom" }.to_owned(),
                        r.assignments.to_string(),
                        r.permissions.join(" "),
                    ]
                })
                .collect::<Vec<_>>();
            print_table(&["ROLE", "KIND", "ASSIGNED", "PERMISSIONS"], &rows);
            Ok(())
        }
        RolesCommand::Put {
            name,
            permissions,
            description,
        } => {
            let mut set = PermissionSet::EMPTY;
            for p in &permissions {
                set.insert(Permission::parse(p).ok_or_else(|| {
                    anyhow!(
                        "unknown permission `{p}` (known: {})",
                        PermissionSet::all().to_names().join(", ")
                    )
                })?);
            }
            let view = identity
                .put_role(&c.grant(Permission::WorkspaceAdmin)?, &name, &description, set)
                .await?;
            if global.json {
                return print_json(&view);
            }
            println!("role {}: {}", view.name, view.permissions.join(" "));
            Ok(())
        }
        RolesCommand::Delete { name } => {
            identity
                .delete_role(&c.grant(Permission::WorkspaceAdmin)?, &name)
                .await?;
            if global.json {
                return print_json(&json!({"deleted": name}));
            }
            println!("role {name} deleted (and its assignments)");
            Ok(())
        }
        RolesCommand::Assign { role, user, group } => {
            assign(&c, global, &role, subject(user, group)?, true).await
        }
        RolesCommand::Unassign { role, user, group } => {
            assign(&c, global, &role, subject(user, group)?, false).await
        }
        RolesCommand::Assignments => {
            let all = identity.role_assignments(&ws).await?;
            if global.json {
                return print_json(&all);
            }
            let rows = all
                .iter()
                .map(|a| {
                    vec![
                        a["role"].as_str().unwrap_or_default().to_owned(),
                        a["subject_kind"].as_str().unwrap_or_default().to_owned(),
                        a["subject"].as_str().unwrap_or_default().to_owned(),
                    ]
                })
                .collect::<Vec<_>>();
            print_table(&["ROLE", "TO", "WHO"], &rows);
            Ok(())
        }
        RolesCommand::Default { role } => {
            identity
                .set_default_role(&c.grant(Permission::WorkspaceAdmin)?, &role)
                .await?;
            if global.json {
                return print_json(&json!({"default_role": role}));
            }
            println!("default role: {role} (for users no assignment names)");
            Ok(())
        }
    }
}

async fn assign(
    c: &super::admin::Ctx,
    global: &GlobalArgs,
    role: &str,
    subject: SubjectRef,
    present: bool,
) -> Result<()> {
    let changed = c
        .identity()
        .assign_role(&c.grant(Permission::UsersManage)?, role, &subject, present)
        .await?;
    let who = match &subject {
        SubjectRef::Email(e) => format!("user {e}"),
        SubjectRef::Group(g) => format!("group {g}"),
    };
    if global.json {
        return print_json(&json!({"role": role, "subject": who, "assigned": present, "changed": changed}));
    }
    let verb = if present { "assigned to" } else { "removed from" };
    let note = if changed { "" } else { " (no change)" };
    println!("role {role} {verb} {who}{note}");
    Ok(())
}
