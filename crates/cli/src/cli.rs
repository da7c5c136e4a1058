//! Command-line interface definitions (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod admin_account;
pub use admin_account::{AdminCommand, AdminPasswordArgs};
mod agent;
pub use agent::{AgentCommand, AgentServerArgs, ShipArgs, SyncArgs};
mod identity;
pub use identity::RolesCommand;
mod policy;
pub use policy::{DocumentArgs, GroupsCommand, PolicyCommand, RulesSource};
mod report;
pub use report::{ReportArgs, ReportPeriod};

/// Steward: self-hosted governance for OpenAI Codex.
///
/// Ingests Codex telemetry (OTLP logs from the Codex CLI's own exporter) and serves
/// OpenAI-compatible analytics. Everything runs from this one binary, with an embedded SQLite
/// database by default or PostgreSQL for several replicas.
///
/// Quick start:
///   steward serve --demo            # run with demo data on http://127.0.0.1:8080
///   steward users add dana@example.com
///   steward tokens create --user dana@example.com      # put it in Codex's [otel] headers
///   steward keys create --scope codex.enterprise.analytics.read
///
/// Configuration: flags > STEWARD_* environment variables > config file (--config, or
/// ./steward.toml) > defaults. `steward config show` prints the effective configuration.
#[derive(Debug, Parser)]
#[command(name = "steward", version, verbatim_doc_comment, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (default: ./steward.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: ./steward-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite (postgres://user:pass@host/db).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format: text or json [default: text].
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Workspace id for admin commands [default: the default workspace].
    #[arg(long, global = true, value_name = "ID")]
    pub workspace_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: OTLP receiver, Analytics API, /healthz and /metrics.
    ///
    /// Point Codex at it in ~/.codex/config.toml:
    ///   [otel]
    ///   exporter = { otlp-http = { endpoint = "http://HOST:8080/v1/logs", protocol = "binary",
    ///                headers = { authorization = "Bearer <ingest token>" } } }
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Fill the store with generated demo usage (hundreds of users, two months).
    Demo(DemoArgs),
    /// Workspaces (a default one is created on first start).
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// People whose Codex usage Steward records.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Roles: what people may do (built-in owner roles, Codex admin, member; custom roles),
    /// assigned to users and groups; `steward users permissions EMAIL` explains the result.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Ingest tokens: what Codex sends in `Authorization: Bearer ...` with its telemetry.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// API keys for the Analytics API (and, later, other APIs), limited by scopes.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The compliance log: sealed, signed files of prompts, responses, tool calls and admin
    /// actions, served by the Compliance API (/v1/compliance/workspaces/{id}/logs).
    #[command(subcommand)]
    Compliance(ComplianceCommand),
    /// Managed policies: requirements.toml + managed_config.toml with revisions, assigned to
    /// groups (first matching rule wins), checked offline, delivered to Codex CLIs.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// User groups (policies are assigned to groups).
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// On a developer's machine: keep Codex's managed policy (/etc/codex) in sync with the
    /// server (`steward agent sync --help`).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Local break-glass administrators: sign in with a password at /auth/sign-in and hold
    /// every permission in every workspace (for first setup and identity-provider outages).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Usage from this machine's Codex session files (~/.codex/sessions), no server needed:
    /// tokens, credits and cost per day, week, month or session, by model and surface.
    ///
    /// Reads every rollout file (live and archived) of one or more Codex homes in parallel.
    /// Lines that cannot be read (truncated, garbage, an unknown future format) are counted
    /// and reported, never fatal and never read as zero usage.
    ///
    /// Examples:
    ///   steward report                              # per day, this machine's ~/.codex
    ///   steward report session --since 2026-11-01
    ///   steward report monthly --codex-home ~/.codex --codex-home /mnt/laptop/.codex
    ///   steward report daily --json -z UTC | jq '.rows[] | {period, total_tokens}'
    ///
    /// Tokens follow Codex: cached input is part of input, reasoning part of output.
    /// Credits and USD come from Steward's rate card ([rate_card] file in steward.toml).
    #[command(verbatim_doc_comment)]
    Report(ReportArgs),
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ComplianceCommand {
    /// Seal every pending record now (the server also seals on its schedule).
    Seal {
        /// Every workspace, not only the selected one.
        #[arg(long)]
        all_workspaces: bool,
    },
    /// List sealed files of the workspace, oldest first.
    Files {
        /// Only this log type (CODEX_LOG, CODEX_SECURITY_LOG, AUDIT_LOG); repeat for several.
        #[arg(long = "event-type", value_name = "TYPE")]
        event_types: Vec<String>,
        /// Most files to list.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
    /// Verify the signed digest chain: of the configured store (checked against the database's
    /// chain heads too), or of an exported folder. Names every file changed, removed, inserted
    /// or swapped and every digest edited or missing; exits with status 1 if anything is wrong.
    ///
    /// Examples:
    ///   steward compliance verify                       # the server's store
    ///   steward compliance verify ./export --public-key steward-public-key.json
    #[command(verbatim_doc_comment)]
    Verify {
        /// An exported folder (default: the configured compliance store).
        dir: Option<PathBuf>,
        /// Public key to trust: a key document (JSON) or its hex. Default: the server's key
        /// (for the store) or the folder's own steward-public-key.json (weaker: an attacker who
        /// rewrote the folder could have replaced it; compare its fingerprint out of band).
        #[arg(long, value_name = "FILE|HEX")]
        public_key: Option<String>,
    },
    /// Copy the workspace's files sealed in a time range, every digest and the public key to
    /// a folder an auditor can verify offline (`steward compliance verify DIR`).
    ///
    /// Examples:
    ///   steward compliance export --since 2026-10-01 --to ./audit-q4
    ///   steward compliance export --since 2026-10-01T00:00:00Z --until 2026-12-31 --to ./audit-q4
    #[command(verbatim_doc_comment)]
    Export {
        /// First day (YYYY-MM-DD, UTC) or instant (RFC 3339) whose sealed files to include.
        #[arg(long, value_name = "DATE")]
        since: String,
        /// Last day or instant to include (default: now).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Destination folder (created; must be empty or new).
        #[arg(long = "to", value_name = "DIR")]
        to: PathBuf,
    },
    /// Apply the configured retention now (the server also does so every
    /// `compliance.retention_poll_secs`): erase content and delete files past their windows,
    /// except what legal holds cover.
    Retention,
    /// Legal holds: while one exists, retention and deletion requests leave the workspace's
    /// (or the user's) records alone.
    #[command(subcommand)]
    Hold(HoldCommand),
    /// Erase the content (prompt, response, tool text) of one thread's or one user's sealed
    /// records, keeping their hashes so the chain still verifies. Audited; refused under a
    /// legal hold.
    ///
    /// Examples:
    ///   steward compliance erase --thread 019a7c2e-5b8d-7f10-9a41-3c2d1e0f9b87
    ///   steward compliance erase --user dana@example.com
    #[command(verbatim_doc_comment)]
    Erase {
        /// A Codex thread (conversation) id.
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        thread: Option<String>,
        /// A user's email.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HoldCommand {
    /// Place a hold on the workspace, or with --user on one user's records.
    Add {
        /// Hold only this user's records (email); default: the whole workspace.
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// What the hold is for (matter, ticket), kept with it and in the audit log.
        #[arg(long)]
        reason: String,
    },
    /// List holds of the workspace (or of all with --all-workspaces).
    List {
        #[arg(long)]
        all_workspaces: bool,
    },
    /// Release a hold by id.
    Release { id: String },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Fill an empty store with demo data first and print a ready-to-use API key.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of demo users.
    #[arg(long, default_value_t = 300)]
    pub users: usize,
    /// Days of history, ending today.
    #[arg(long, default_value_t = 60)]
    pub days: i64,
}

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// List workspaces.
    List,
    /// Create a workspace (its data, keys and people are separate from every other's).
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user (or show it, if the email is already known).
    Add {
        /// Email address; it links Codex telemetry (`user.email`) to this user.
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List users.
    List,
    /// A user's effective permissions: each role they hold, where it comes from (assigned,
    /// via a group, or the workspace default) and what it grants.
    Permissions { email: String },
    /// Deactivate a user: revokes their ingest tokens and browser sessions; they cannot sign in.
    Deactivate { email: String },
    /// Reactivate a user (revoked tokens stay revoked: issue new ones).
    Activate { email: String },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an ingest token; the secret is printed once.
    ///
    /// --user binds every record sent with the token to that user. --workspace takes the user
    /// from the telemetry's `user.email` / `user.account_id` attributes, else files it under an
    /// "unattributed" principal per host.
    #[command(group(clap::ArgGroup::new("target").required(true).args(["user", "workspace"])))]
    Create {
        /// Email of the user the token belongs to (see `steward users add`).
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// A token for the whole workspace.
        #[arg(long)]
        workspace: bool,
        /// A label for the token.
        #[arg(long)]
        name: Option<String>,
    },
    /// List ingest tokens (never their secrets).
    List,
    /// Revoke an ingest token by id (from `steward tokens list`); it stops working at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; the secret is printed once.
    ///
    /// Scopes: codex.enterprise.analytics.read, compliance.read, compliance.delete, policies.read,
    /// policies.manage, ingest, admin, scim (for the identity provider's SCIM client).
    Create {
        /// Scope to grant (repeat for several).
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
        /// A label for the key.
        #[arg(long)]
        name: Option<String>,
        /// Expire the key after this long (`90d`, `12h`, `30m`); default: never.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List API keys (never their secrets).
    List,
    /// Revoke an API key by id (from `steward keys list`); it stops working at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML (secrets redacted).
    Show,
    /// Print the built-in defaults as a commented starting point for steward.toml.
    Default,
}
