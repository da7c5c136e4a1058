//! Writing one sealing to a [`LogStore`], in the order that keeps the store verifiable.
//!
//! Files first, digest last and create-only: if the process dies in between, the files are
//! merely unlisted (verification names them, the next sealing can re-list or remove them) and no
//! digest ever points at a file that was not written. The digest's create-only write means two
//! writers racing for the same sequence cannot overwrite each other; the loser gets
//! [`ChainError::AlreadyExists`] and must reload the head. The caller persists the returned
//! [`ChainHead`] in its database only after this returns.

use chrono::{DateTime, Utc};
use futures::future::try_join_all;

use super::digest::{build_digest, digest_path, ChainHead, ExpiredEntry};
use super::error::{ChainError, Result};
use super::file::SealedFile;
use super::key::{PublicKey, SigningKeyFile};
use super::store::{LogStore, PUBLIC_KEY_PATH};

/// Files written at once by [`LogStore::write_sealing`].
const PUT_CONCURRENCY: usize = 8;

impl LogStore {
    /// Write `files`, then the next digest of `workspace_id`'s chain after `head`, recording
    /// `expired` (files retention is about to delete: the caller deletes them only after it has
    /// persisted the new head). Returns the new head for the caller to persist.
    pub async fn write_sealing(
        &self,
        head: Option<&ChainHead>,
        workspace_id: &str,
        sealed_at: DateTime<Utc>,
        files: &[SealedFile],
        expired: &[ExpiredEntry],
        key: &SigningKeyFile,
    ) -> Result<ChainHead> {
        let (digest, new_head) = build_digest(head, workspace_id, sealed_at, files, expired, key)?;
        // In chunks with `try_join_all` rather than a `buffer_unordered` stream of borrowing
        // closures: the latter makes this future not `Send` for every lifetime (rustc #102211),
        // which callers that `tokio::spawn` a sealer cannot accept.
        for chunk in files.chunks(PUT_CONCURRENCY) {
            try_join_all(chunk.iter().map(|file| self.put(&file.path, file.bytes.clone()))).await?;
        }
        self.put_new(&digest_path(workspace_id, new_head.sequence), digest.into())
            .await?;
        Ok(new_head)
    }

    /// Write the public key document to [`PUBLIC_KEY_PATH`] (so an export is self-contained).
    pub async fn publish_public_key(&self, key: &PublicKey) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&key.document())?;
        bytes.push(b'\n');
        self.put(PUBLIC_KEY_PATH, bytes.into()).await
    }

    /// Read the public key document at [`PUBLIC_KEY_PATH`]. Trusting it proves only that the
    /// store is self-consistent; compare its fingerprint with one obtained out of band.
    pub async fn read_public_key(&self) -> Result<PublicKey> {
        let bytes = self.get(PUBLIC_KEY_PATH).await?;
        let doc = serde_json::from_slice(&bytes).map_err(ChainError::Json)?;
        PublicKey::from_document(&doc)
    }
}
