//! One module per command family. Each returns `anyhow::Result` and prints its own output.

mod admin;
mod agent;
mod compliance;
mod compliance_admin;
mod demo;
mod local_admin;
mod policy;
mod report;
mod roles;
mod serve;

use anyhow::Result;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::Config;

pub async fn run(cli: Cli, config: Config) -> Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Serve(args) => serve::run(config, args).await,
        Command::Demo(args) => demo::run(&config, &global, args).await,
        Command::Workspaces(cmd) => admin::workspaces(&config, &global, cmd).await,
        Command::Users(cmd) => admin::users(&config, &global, cmd).await,
        Command::Roles(cmd) => roles::run(&config, &global, cmd).await,
        Command::Tokens(cmd) => admin::tokens(&config, &global, cmd).await,
        Command::Keys(cmd) => admin::keys(&config, &global, cmd).await,
        Command::Compliance(cmd) => compliance::run(&config, &global, cmd).await,
        Command::Policy(cmd) => policy::run(&config, &global, cmd).await,
        Command::Groups(cmd) => policy::groups(&config, &global, cmd).await,
        Command::Agent(cmd) => agent::run(&global, cmd).await,
        Command::Admin(cmd) => local_admin::run(&config, &global, cmd).await,
        Command::Report(args) => report::run(&config, &global, args),
        Command::Config(ConfigCommand::Show) => {
            print!("{}", config.to_redacted_toml()?);
            Ok(())
        }
        Command::Config(ConfigCommand::Default) => {
            print!("{}", crate::config::EXAMPLE_TOML);
            Ok(())
        }
    }
}
