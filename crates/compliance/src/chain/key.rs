//! The Ed25519 key that signs digests, and the public key that verifies them.
//!
//! The private key lives in one PKCS#8 PEM file (mode 0600 on Unix) so that operators can back it
//! up, mount it as a secret, or inspect it with `openssl pkey`. It is created on first use: the
//! PEM is written to a temporary file, fsynced and then hard-linked into place, which fails if a
//! concurrent process created the key first (we then load theirs) and never leaves a truncated
//! key behind after a crash. The public key is published as a small JSON document
//! (`steward-public-key.json`) so an exported folder can be verified with nothing else; a
//! verifier should compare its fingerprint with one obtained out of band.
//!
//! Key rotation is not modelled yet: every digest records the fingerprint of the key that signed
//! it, so a later version can accept a set of keys.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::error::{ChainError, Result};

/// The algorithm name written into public key documents.
const ALGORITHM: &str = "Ed25519";

/// The signing key, loaded from (or created at) a PEM file.
pub struct SigningKeyFile {
    key: SigningKey,
    path: Option<PathBuf>,
}

impl fmt::Debug for SigningKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyFile")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

fn key_error(path: Option<&Path>, reason: impl fmt::Display) -> ChainError {
    ChainError::Key {
        path: path.map(Path::to_path_buf),
        reason: reason.to_string(),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ChainError {
    ChainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn random_key() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| key_error(None, format!("no OS randomness: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Create `path` exclusively with mode 0600 and write `bytes` durably.
fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl SigningKeyFile {
    /// Load the key at `path`, or create a new one there if the file does not exist.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(pem) => return Self::from_pem(&pem, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(path, e)),
        }
        let key = random_key()?;
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| key_error(Some(path), e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| key_error(Some(path), "not a file path"))?
            .to_string_lossy();
        let nonce = hex::encode(&Sha256::digest(key.verifying_key().as_bytes())[..4]);
        let tmp = path.with_file_name(format!(".{file_name}.{}.{nonce}.tmp", std::process::id()));
        write_private_file(&tmp, pem.as_bytes()).map_err(|e| io_error(&tmp, e))?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            // Someone else created the key first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Self::load(path),
            // File systems without hard links: exclusive create directly.
            Err(_) => match write_private_file(path, pem.as_bytes()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Self::load(path),
                Err(e) => return Err(io_error(path, e)),
            },
        }
        sync_parent(path).map_err(|e| io_error(path, e))?;
        Ok(Self {
            key,
            path: Some(path.to_path_buf()),
        })
    }

    /// Load an existing key file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        Self::from_pem(&pem, path)
    }

    fn from_pem(pem: &str, path: &Path) -> Result<Self> {
        let key = SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| key_error(Some(path), format!("not an Ed25519 PKCS#8 PEM key: {e}")))?;
        Ok(Self {
            key,
            path: Some(path.to_path_buf()),
        })
    }

    /// A fresh key that exists only in memory (tests, benchmarks, dry runs).
    pub fn generate() -> Result<Self> {
        Ok(Self {
            key: random_key()?,
            path: None,
        })
    }

    /// Where the key is stored, if it is stored.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    pub fn public_key_hex(&self) -> String {
        self.public_key().to_hex()
    }

    pub fn fingerprint(&self) -> String {
        self.public_key().fingerprint()
    }

    /// `{"algorithm": "Ed25519", "public_key_hex": ..., "fingerprint": ...}`
    pub fn public_key_document(&self) -> Value {
        self.public_key().document()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// An Ed25519 public key that verifies digests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

impl FromStr for PublicKey {
    type Err = ChainError;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_hex(s)
    }
}

impl PublicKey {
    /// Parse 64 hex digits (the raw 32-byte key).
    pub fn from_hex(s: &str) -> Result<Self> {
        let bytes: [u8; 32] = hex::decode(s.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| key_error(None, "public key must be 64 hex digits"))?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|e| key_error(None, format!("invalid Ed25519 public key: {e}")))
    }

    /// Parse a public key document; a `fingerprint`, if present, must match the key.
    pub fn from_document(doc: &Value) -> Result<Self> {
        match doc.get("algorithm").and_then(Value::as_str) {
            Some(ALGORITHM) => {}
            other => return Err(key_error(None, format!("unsupported algorithm {other:?}"))),
        }
        let hex = doc
            .get("public_key_hex")
            .and_then(Value::as_str)
            .ok_or_else(|| key_error(None, "public_key_hex missing"))?;
        let key = Self::from_hex(hex)?;
        if let Some(fp) = doc.get("fingerprint").and_then(Value::as_str) {
            if fp != key.fingerprint() {
                return Err(key_error(None, "fingerprint does not match public_key_hex"));
            }
        }
        Ok(key)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// First 16 hex digits of SHA-256 of the raw public key.
    pub fn fingerprint(&self) -> String {
        hex::encode(&Sha256::digest(self.0.as_bytes())[..8])
    }

    pub fn document(&self) -> Value {
        json!({"algorithm": ALGORITHM, "public_key_hex": self.to_hex(), "fingerprint": self.fingerprint()})
    }

    /// Strict Ed25519 verification (rejects malleable and small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|sig| self.0.verify_strict(message, &sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_load_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/signing.pem");
        let a = SigningKeyFile::load_or_create(&path).unwrap();
        let b = SigningKeyFile::load_or_create(&path).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.fingerprint().len(), 16);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        let doc = a.public_key_document();
        assert_eq!(PublicKey::from_document(&doc).unwrap(), a.public_key());
        assert_eq!(a.public_key_hex().parse::<PublicKey>().unwrap(), a.public_key());
        let sig = a.sign(b"msg");
        assert!(a.public_key().verify(b"msg", &sig));
        assert!(!a.public_key().verify(b"msh", &sig));
        let other = SigningKeyFile::generate().unwrap();
        assert!(!other.public_key().verify(b"msg", &sig));
        // Only the key file is left in the directory (no temp files).
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn rejects_bad_documents() {
        let key = SigningKeyFile::generate().unwrap();
        let mut doc = key.public_key_document();
        doc["fingerprint"] = "0000000000000000".into();
        assert!(PublicKey::from_document(&doc).is_err());
        doc["algorithm"] = "RSA".into();
        assert!(PublicKey::from_document(&doc).is_err());
        assert!(PublicKey::from_hex("abcd").is_err());
        assert!(SigningKeyFile::load("/nonexistent/key.pem").is_err());
    }
}
