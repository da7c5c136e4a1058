//! `steward admin create|list|passwd`: local break-glass administrators.

use std::io::Read;

use anyhow::{anyhow, bail, Context, Result};
use steward_core::compliance::audit::Actor;
use steward_core::identity::sessions::{admin_view, check_password_policy, SessionService};

use crate::cli::{AdminCommand, AdminPasswordArgs, GlobalArgs};
use crate::config::Config;
use crate::output::{print_json, print_table};

pub async fn run(config: &Config, global: &GlobalArgs, cmd: AdminCommand) -> Result<()> {
    let c = super::admin::ctx(config, global).await?;
    let sessions = SessionService::new(c.store.clone(), config.sso.session_config());
    let actor = Actor::local_admin();
    match cmd {
        AdminCommand::Create(args) => {
            let password = read_password(&args)?;
            let admin = sessions
                .create_local_admin(&actor, &c.workspace, &args.username, &password)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if global.json {
                return print_json(&admin_view(&admin));
            }
            println!("created local admin `{}` ({})", admin.username, admin.id);
            println!("sign in at /auth/sign-in; the admin holds every permission in every workspace");
            Ok(())
        }
        AdminCommand::Passwd(args) => {
            let password = read_password(&args)?;
            let (admin, sessions_ended) = sessions
                .set_local_admin_password(&actor, &c.workspace, &args.username, &password)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if global.json {
                let mut view = admin_view(&admin);
                view["sessions_ended"] = sessions_ended.into();
                return print_json(&view);
            }
            println!(
                "password of local admin `{}` changed; {sessions_ended} signed-in session(s) ended",
                admin.username
            );
            Ok(())
        }
        AdminCommand::List => {
            let admins = sessions.list_local_admins().await.map_err(|e| anyhow!("{e}"))?;
            if global.json {
                return print_json(&admins.iter().map(admin_view).collect::<Vec<_>>());
            }
            let rows = admins
                .iter()
                .map(|a| {
                    vec![
                        a.username.clone(),
                        a.id.clone(),
                        rfc3339(Some(a.created_at_ms)),
                        rfc3339(a.last_sign_in_at_ms),
                        if a.disabled_at_ms.is_some() {
                            "yes".into()
                        } else {
                            String::new()
                        },
                    ]
                })
                .collect::<Vec<_>>();
            print_table(&["USERNAME", "ID", "CREATED", "LAST SIGN-IN", "DISABLED"], &rows);
            Ok(())
        }
    }
}

fn rfc3339(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The new password: one line of standard input, or typed twice at the terminal (not echoed).
fn read_password(args: &AdminPasswordArgs) -> Result<String> {
    if args.password_stdin {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("reading the password from standard input")?;
        let password = strip_newline(&buf).to_owned();
        if password.contains('\n') {
            bail!("--password-stdin: expected one line");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password(format!("Password for {}: ", args.username))
        .context("reading the password from the terminal (or use --password-stdin)")?;
    check_password_policy(&first).map_err(|e| anyhow!("{e}"))?;
    let second = rpassword::prompt_password("Repeat the password: ").context("reading the password")?;
    if first != second {
        bail!("the passwords differ; nothing changed");
    }
    Ok(first)
}

fn strip_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped() {
        assert_eq!(strip_newline("pw\n"), "pw");
        assert_eq!(strip_newline("pw\r\n"), "pw");
        assert_eq!(strip_newline("pw"), "pw");
        assert_eq!(strip_newline("pw \n\n"), "pw \n");
    }
}
