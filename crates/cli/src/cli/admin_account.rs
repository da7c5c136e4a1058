//! `steward admin ...`: local break-glass administrators, who sign in with a password at
//! `/auth/sign-in` and hold every permission in every workspace (docs/sso.md).

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a local admin. The password (at least 12 characters) is prompted twice, or read
    /// from standard input with --password-stdin; it is never a command-line argument.
    ///
    /// Example:
    ///   steward admin create --username ops
    ///   printf '%s' "$PASSWORD" | steward admin create --username ops --password-stdin
    #[command(verbatim_doc_comment)]
    Create(AdminPasswordArgs),
    /// List local admins (never their password hashes).
    List,
    /// Set a local admin's password (this also re-enables a disabled admin).
    Passwd(AdminPasswordArgs),
}

#[derive(Debug, Args)]
pub struct AdminPasswordArgs {
    /// The admin's username (letters, digits, `.`, `_`, `-`, `@`).
    #[arg(long)]
    pub username: String,
    /// Read the password from standard input (one line; a trailing newline is dropped)
    /// instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}
