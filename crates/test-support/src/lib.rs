//! Test helpers shared by Steward's integration tests: real clients (the pinned Codex CLI, the
//! OpenTelemetry Python SDK), a stand-in for OpenAI's Responses API for Codex to talk to, a
//! spawned `steward serve`, a client of the usage API, and a throwaway OTLP receiver.
//!
//! Missing external clients are errors with a hint to run `scripts/install-test-deps`: a test
//! that cannot run must fail, never pass silently.

mod bg_server;
pub mod ccusage;
pub mod codex;
pub mod codex_chatgpt;
pub mod compliance_api;
pub mod otlp_sink;
pub mod python_otel;
pub mod responses_standin;
pub mod steward;
pub mod synthetic_home;
pub mod time_fmt;
pub mod usage_api;

#[cfg(test)]
mod selftest;

// Integration tests of other crates get `anyhow` through here, without a dev-dependency of
// their own.
pub use anyhow;
