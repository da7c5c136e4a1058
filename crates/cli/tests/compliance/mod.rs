//! Helpers for `compliance_http.rs`: a server with credentials and a CLI runner (`harness`),
//! an OpenAI-style log collector (`collector`), OTLP bodies (`otlp`), copies and edits of the
//! compliance folder (`folder`), and an independent SHA-256 (`sha256`).

#![allow(dead_code)]

pub mod collector;
pub mod folder;
pub mod harness;
pub mod otlp;
pub mod sha256;
