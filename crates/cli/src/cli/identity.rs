//! `steward roles ...`: built-in and custom roles, who holds them, the default role.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List roles (built-in and custom) with their permissions and how many hold them.
    List,
    /// Create or update a custom role.
    ///
    /// Permissions: analytics.read, analytics.export, compliance.read, compliance.delete,
    /// policies.read, policies.manage, users.read, users.manage, keys.manage, budgets.manage,
    /// workspace.admin. Managing implies reading.
    ///
    ///   steward roles put codex-auditor --permission compliance.read --permission analytics.read
    #[command(verbatim_doc_comment)]
    Put {
        /// Role name: lowercase letters, digits, `_`, `-`, `.`.
        name: String,
        /// Permission to grant (repeat for several).
        #[arg(long = "permission", value_name = "PERMISSION", required = true)]
        permissions: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete a custom role and its assignments.
    Delete { name: String },
    /// Assign a role to a user (by email) or a group (by name).
    #[command(group(clap::ArgGroup::new("subject").required(true).args(["user", "group"])))]
    Assign {
        role: String,
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        #[arg(long, value_name = "NAME")]
        group: Option<String>,
    },
    /// Remove a role from a user or a group.
    #[command(group(clap::ArgGroup::new("subject").required(true).args(["user", "group"])))]
    Unassign {
        role: String,
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        #[arg(long, value_name = "NAME")]
        group: Option<String>,
    },
    /// List every role assignment.
    Assignments,
    /// Set the role of users no assignment names (built-in: member).
    Default { role: String },
}
