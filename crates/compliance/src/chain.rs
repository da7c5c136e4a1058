//! The tamper-evident compliance log, independent of any database (modelled on AWS CloudTrail's
//! log file integrity validation).
//!
//! Why this shape:
//!
//! * Records are **sealed** into immutable JSONL files ([`build_file`]), one canonical JSON record
//!   per line, so a file's SHA-256 is reproducible and any byte change is visible.
//! * Every sealing writes one **digest** per workspace ([`build_digest`]): the list of files sealed
//!   (path, SHA-256, records root, size, count), the SHA-256 of the previous digest, and an Ed25519
//!   signature. Digests form a hash chain, so a removed, inserted or edited digest breaks the chain
//!   and an edited or removed file no longer matches a signed entry.
//! * Privacy law requires deleting content while an auditor still needs to prove the log was not
//!   tampered with. Each record therefore has a **commitment** ([`commitment`]) in which content
//!   fields are replaced by their hash; [`erase_content`] replaces content by a tombstone that keeps
//!   that hash, so the file's SHA-256 changes but its `records_root` does not, and verification
//!   accepts the rewrite as an erasure rather than a change.
//! * [`LogStore::write_sealing`] writes a sealing's files first and its digest last, create-only,
//!   so a crash leaves at worst unlisted files and two writers cannot claim one sequence number.
//! * [`verify`] works on any [`LogStore`] (the live object store or an exported folder) with only
//!   the public key, and names every changed, removed, inserted, swapped file and every edited or
//!   missing digest. Deleting the *latest* digest cannot be detected offline (as with CloudTrail);
//!   pass the head the database recorded ([`VerifyOptions::expected_heads`]) to detect it online.
//!
//! Object layout below the store root (see [`log_path`], [`digest_path`], [`PUBLIC_KEY_PATH`]):
//!
//! ```text
//! {workspace_id}/logs/{EVENT_TYPE}/{YYYY-MM-DD of end_time}/{file_id}.jsonl
//! {workspace_id}/digests/{sequence, 12 digits}.json
//! steward-public-key.json
//! ```

mod canonical;
mod digest;
mod erase;
mod error;
mod file;
mod key;
mod seal;
mod store;
mod verify;

pub use canonical::{canonical_sha256, is_canonical, to_canonical_vec};
pub use digest::{
    build_digest, digest_path, open_digest, parse_digest_path, ChainHead, Digest, DigestFileEntry,
    ExpiredEntry, DIGEST_VERSION,
};
pub use erase::{erase_content, tombstone_sha256, Erased, ERASED_KEY};
pub use error::{ChainError, Result};
pub use file::{
    build_file, commitment, content_sha256, log_path, read_records, records_root, scan_file, FileMeta,
    FileScan, FileScanner, SealedFile, CONTENT_FIELDS,
};
pub use key::{PublicKey, SigningKeyFile};
pub use store::{LogStore, ObjectInfo, ObjectStream, PUBLIC_KEY_PATH};
pub use verify::{verify, verify_with, Problem, ProblemKind, VerifyOptions, VerifyReport};
