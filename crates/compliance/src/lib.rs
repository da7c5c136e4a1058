//! Compliance log files, independent of any database: how records are sealed into immutable
//! JSONL files, how each sealing is recorded in a signed digest chained to the previous one,
//! how a store or an exported folder is verified offline, and how content is captured
//! (full, redacted, hashed or dropped) before it is ever stored.

pub mod capture;
pub mod chain;
