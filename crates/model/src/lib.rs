//! Steward's domain model: the types every other crate speaks.
//!
//! This crate is pure (no IO, no async, no SQL, no HTTP). It holds identifiers, the normalised
//! Codex event, token usage, the mapping from Codex originators to OpenAI's `client_id` values,
//! time bucketing, and the versioned rate card that prices token usage.

pub mod access;
pub mod client;
pub mod compliance;
pub mod event;
pub mod principal;
pub mod rate_card;
pub mod time;
pub mod usage;

pub use access::{BuiltinRole, Permission, PermissionSet};
pub use client::client_id_for;
pub use compliance::{LogType, AGENT_MESSAGE};
pub use event::{EventKind, NormalizedEvent, Source, TurnReport};
pub use principal::{ApiScope, Credential, CredentialKind, User, UserKind, Workspace};
pub use rate_card::{Price, RateCard, RateCardError};
pub use usage::TokenUsage;
