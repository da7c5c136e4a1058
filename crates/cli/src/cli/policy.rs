//! `steward policy ...` and `steward groups ...`: managed policies and the groups they are
//! assigned to.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Policies of the workspace with their latest revision.
    List,
    /// A policy's documents (latest revision, or --revision N) and its warnings.
    Show {
        name: String,
        #[arg(long, value_name = "N")]
        revision: Option<i64>,
    },
    /// Create a policy from a requirements.toml (and optionally a managed_config.toml).
    /// Refused, with every error's line and column, when Codex would not load it.
    ///
    /// Example:
    ///   steward policy create baseline --requirements requirements.toml \
    ///       --managed-config managed_config.toml --description "everyone"
    #[command(verbatim_doc_comment)]
    Create {
        name: String,
        #[command(flatten)]
        docs: DocumentArgs,
        #[arg(long, default_value = "")]
        description: String,
        /// Why (kept with the revision and in the audit log).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Store a new revision. A document not given is kept from the current revision.
    Update {
        name: String,
        #[command(flatten)]
        docs: DocumentArgs,
        #[arg(long)]
        description: Option<String>,
        #[arg(long, default_value = "")]
        comment: String,
        /// Fail if the latest revision is no longer N (someone else changed it).
        #[arg(long, value_name = "N")]
        based_on: Option<i64>,
    },
    /// Delete a policy (refused while the assignment uses it). Its revisions stay on record.
    Delete { name: String },
    /// Revisions of a policy, oldest first.
    Revisions { name: String },
    /// Field-by-field differences between two revisions (default --to: the latest).
    Diff {
        name: String,
        #[arg(long, value_name = "N")]
        from: i64,
        #[arg(long, value_name = "N")]
        to: Option<i64>,
    },
    /// Validate documents offline, as Codex 0.169.0 would load them (no server or database).
    /// Exits with status 1 when there are errors.
    Validate {
        #[command(flatten)]
        docs: DocumentArgs,
    },
    /// Show the ordered group rules and the default policy.
    Assignment,
    /// Replace the assignment: rules in order (first matching group wins), and a default.
    /// With --dry-run, only list who would change policy.
    ///
    /// Example:
    ///   steward policy assign --rule security=strict --rule eng=standard --default baseline --dry-run
    #[command(verbatim_doc_comment)]
    Assign {
        /// GROUP=POLICY, in order; repeat.
        #[arg(long = "rule", value_name = "GROUP=POLICY")]
        rules: Vec<String>,
        /// Policy of users no rule matches (none: Codex runs unmanaged for them).
        #[arg(long, value_name = "POLICY")]
        default: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Which policy and revision applies to a user (or to a member of a group), and why.
    Lookup {
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        email: Option<String>,
        #[arg(long)]
        group: Option<String>,
    },
    /// Who runs which revision (reports of `steward agent sync` and Codex bundle fetches), and
    /// who is stale.
    Status,
    /// Evaluate a command against prefix rules as Codex does, printing the JSON of
    /// `codex execpolicy check`. Rules come from a stored policy (--policy), a requirements.toml
    /// (--file, offline) or Codex .rules files (--rules, offline).
    ///
    /// Example:
    ///   steward policy check-command --file requirements.toml -- git push origin main
    #[command(verbatim_doc_comment)]
    CheckCommand {
        #[command(flatten)]
        source: RulesSource,
        /// Additional Codex .rules files (strictest decision over all rules wins).
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Indented JSON.
        #[arg(long)]
        pretty: bool,
        /// The command, after `--`.
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// List each setting of a user's config.toml that Codex would override under the policy,
    /// and the value it falls back to.
    CheckConfig {
        #[command(flatten)]
        source: RulesSource,
        /// The user's config.toml (e.g. ~/.codex/config.toml).
        #[arg(value_name = "CONFIG_TOML")]
        user_config: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct DocumentArgs {
    /// requirements.toml to store.
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// managed_config.toml to store.
    #[arg(long, value_name = "FILE")]
    pub managed_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct RulesSource {
    /// A stored policy (its latest revision).
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// A requirements.toml file (offline).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Groups with their member counts.
    List,
    /// Create a (manually managed) group.
    Create { name: String },
    /// Delete a group (refused while a policy rule names it).
    Delete { name: String },
    /// Members of a group.
    Members { name: String },
    /// Add users (by email) to a group.
    Add {
        name: String,
        #[arg(required = true, value_name = "EMAIL")]
        emails: Vec<String>,
    },
    /// Remove users (by email) from a group.
    Remove {
        name: String,
        #[arg(required = true, value_name = "EMAIL")]
        emails: Vec<String>,
    },
}
