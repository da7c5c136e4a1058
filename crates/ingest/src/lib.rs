//! Telemetry ingest: from OTLP/HTTP request bodies to durable, attributed, classified events.
//!
//! The stages are pure where they can be: [`otlp`] decodes bodies (protobuf or JSON, gzip or
//! identity) into OTLP messages; [`normalize`] turns log records into Codex events (thread, turn,
//! tokens, surface, model, time) or a per-record rejection naming the bad attribute;
//! [`identity`] attributes each record to a user through the store; [`queue`] batches events
//! from many requests into durable group commits with a bounded depth; [`capture`] applies the
//! workspace's content capture profile (full, redacted, hashed, dropped) before anything is stored.
//!
//! This crate knows no HTTP framework and no SQL.

pub mod analytics;
pub mod capture;
pub mod error;
pub mod fact_keys;
pub mod identity;
pub mod normalize;
pub mod otlp;
pub mod pipeline;
pub mod queue;
pub mod rollout;

pub use error::IngestError;
