//! `steward agent ...`: what runs on developers' machines (not on the server).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Fetch the policy that applies to this machine's user and write it where Codex reads it:
    /// DIR/requirements.toml and DIR/managed_config.toml (default DIR: /etc/codex), then report
    /// the revision now enforced (`steward policy status` on the server shows it).
    ///
    /// Sends the content hash of the files on disk; an unchanged policy costs a 304 and no
    /// write. A new policy is checked against its hash, written atomically (mode 0644) and the
    /// replaced files are kept as *.previous. A user no rule matches (and no default) gets empty
    /// files: Codex then runs unconstrained. On any failure (server unreachable, token rejected,
    /// unknown user, bad answer) the files on disk stay exactly as they are and the command
    /// exits with status 1; with --follow it logs and retries at the next interval.
    /// The token file is read again on every sync, so a rotated token is picked up.
    ///
    /// Settings come from flags or the environment variables named below (not from steward.toml,
    /// which is the server's configuration). Writing /etc/codex needs root.
    ///
    /// Examples:
    ///   # a person's own ingest token (steward tokens create --user dana@example.com)
    ///   sudo steward agent sync --server http://steward.internal:8080 --token stw_it_...
    ///
    ///   # a machine (workspace) token shared by a fleet: name the machine's user
    ///   sudo steward agent sync --server http://steward.internal:8080 \
    ///       --token-file /etc/steward/agent-token --email dana@example.com
    ///
    ///   # try it without root: write into a scratch folder, print JSON
    ///   steward agent sync --server http://127.0.0.1:8080 --token stw_it_... --dir /tmp/codex --json
    ///
    ///   # systemd: /etc/systemd/system/steward-agent.service
    ///   [Unit]
    ///   Description=Steward: keep Codex's managed policy in /etc/codex current
    ///   Wants=network-online.target
    ///   After=network-online.target
    ///   [Service]
    ///   Environment=STEWARD_SERVER=http://steward.internal:8080
    ///   Environment=STEWARD_AGENT_TOKEN_FILE=/etc/steward/agent-token
    ///   Environment=STEWARD_AGENT_EMAIL=dana@example.com
    ///   ExecStart=/usr/local/bin/steward agent sync --follow --interval 300
    ///   Restart=always
    ///   [Install]
    ///   WantedBy=multi-user.target
    ///
    ///   # or one-shot from an MDM/cron job: exit status 0 = in sync, 1 = failed (files kept)
    ///   steward agent sync --json
    #[command(verbatim_doc_comment)]
    Sync(SyncArgs),
    /// Ship this machine's Codex session files (rollouts) to the server: history first, then
    /// (with --follow) new lines as Codex writes them. Works without any OTLP configuration.
    ///
    /// Reads every rollout of each Codex home (sessions/ and archived_sessions/), sends new,
    /// whole lines in pieces, and remembers per file (its identity and offset) what the server
    /// acknowledged, in --state. Restarts, sessions resumed days later (Codex appends to the
    /// same file), archiving, and a lost or deleted state file are all handled: before sending
    /// a file it knows nothing about, the shipper asks the server where it stands, so a line
    /// the server acknowledged is never sent again, and the server counts each turn and model
    /// response once even if it were. Killing it at any moment loses nothing.
    ///
    /// Examples:
    ///   # backfill this machine's history, with a progress bar
    ///   steward agent ship --server http://steward.internal:8080 --token stw_it_...
    ///
    ///   # only sessions since a date, from two homes
    ///   steward agent ship --since 2026-11-01 --codex-home ~/.codex --codex-home /data/codex
    ///
    ///   # as a service: ship new lines every 5 seconds
    ///   STEWARD_SERVER=http://steward.internal:8080 STEWARD_AGENT_TOKEN_FILE=/etc/steward/token \
    ///     steward agent ship --follow
    ///
    /// A workspace (machine) token needs --email to say whose sessions these are.
    #[command(verbatim_doc_comment)]
    Ship(ShipArgs),
}

/// Where an agent command reaches Steward, as whom, and from which machine (`sync`, `ship`).
#[derive(Debug, Args)]
pub struct AgentServerArgs {
    /// Base URL of the Steward server (http://HOST:PORT).
    #[arg(long, env = "STEWARD_SERVER", value_name = "URL")]
    pub server: String,
    /// Ingest token: a user's own, or a workspace token (then give --email).
    #[arg(
        long,
        env = "STEWARD_AGENT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Read the token from this file instead (surrounding whitespace ignored); keeps it out of
    /// the process list and the unit file.
    #[arg(long, env = "STEWARD_AGENT_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The machine's user, for a workspace token (a user's token is always its own user).
    #[arg(long, env = "STEWARD_AGENT_EMAIL", value_name = "EMAIL")]
    pub email: Option<String>,
    /// Name of this machine, as the server shows it [default: the hostname].
    #[arg(long, env = "STEWARD_AGENT_HOST", value_name = "NAME")]
    pub host: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShipArgs {
    #[command(flatten)]
    pub to: AgentServerArgs,
    /// Codex home(s) to ship [default: $CODEX_HOME, else ~/.codex].
    #[arg(long = "codex-home", value_name = "DIR")]
    pub codex_home: Vec<PathBuf>,
    /// Where to remember what the server acknowledged [default: $XDG_STATE_HOME/steward/ship-state.json,
    /// else ~/.local/state/steward/ship-state.json].
    #[arg(long, env = "STEWARD_SHIP_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Only sessions started on or after this day (YYYY-MM-DD, from the file name).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Keep running: ship new lines every --interval seconds (errors are logged and retried).
    #[arg(long)]
    pub follow: bool,
    /// Seconds between scans with --follow.
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: u64,
    /// Largest piece of a file sent in one request (a single longer line is sent whole).
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub piece_bytes: usize,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub to: AgentServerArgs,
    /// Where Codex reads requirements.toml and managed_config.toml (created if missing).
    #[arg(
        long,
        env = "STEWARD_AGENT_DIR",
        value_name = "DIR",
        default_value = "/etc/codex"
    )]
    pub dir: PathBuf,
    /// Keep running: sync now and then every --interval seconds (for systemd or launchd);
    /// failures are logged and retried, never fatal.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between syncs with --follow.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        requires = "follow",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub interval: u64,
}
