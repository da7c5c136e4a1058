//! The keyed hash of the `hashed` capture mode: HMAC-SHA256 with the workspace's secret.
//!
//! Keyed rather than a plain SHA-256 so that short, guessable content (most prompts are a few
//! words) cannot be recovered by hashing a dictionary of candidates. The `hmac-sha256:` prefix
//! says which construction produced the value, so a later change of algorithm stays readable.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// An HMAC already keyed with the workspace secret; cloned for every digest.
#[derive(Clone)]
pub(crate) struct KeyedHasher(HmacSha256);

impl KeyedHasher {
    pub fn new(key: &[u8]) -> Self {
        Self(HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length"))
    }

    /// `"hmac-sha256:<64 lowercase hex>"` of `bytes`.
    pub fn digest(&self, bytes: &[u8]) -> String {
        let mut mac = self.0.clone();
        mac.update(bytes);
        format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231_test_case_2() {
        let hasher = KeyedHasher::new(b"Jefe");
        assert_eq!(
            hasher.digest(b"what do ya want for nothing?"),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
