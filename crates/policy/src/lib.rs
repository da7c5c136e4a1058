//! Codex policies, without IO.
//!
//! - [`requirements`]: `requirements.toml` (admin-enforced constraints) and `managed_config.toml`
//!   (managed defaults) parsed and validated the way Codex 0.169.0 loads them: hard errors with
//!   line and column, warnings for what Codex silently ignores.
//! - [`execpolicy`]: prefix rules evaluated with Codex's semantics, producing the same JSON as
//!   `codex execpolicy check`.
//! - [`config_check`]: which settings of a user's `config.toml` Codex would override under a
//!   policy, and the value it falls back to.

pub mod config_check;
pub mod execpolicy;
pub mod requirements;
