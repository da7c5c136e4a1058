//! Where sealed files and digests live: a thin wrapper over `object_store`.
//!
//! Why `object_store`: one API for a local directory (the default, also how an exported folder is
//! read), S3, GCS and Azure, with atomic single-object writes everywhere. Cloud backends sit
//! behind the crate features `aws`, `gcp` and `azure` because each pulls in an HTTP/TLS stack.
//!
//! Durability on local disk: `LocalFileSystem` writes to a temporary file in the target directory
//! and renames it into place (atomic), but does **not** fsync by default. We enable its
//! `with_fsync(true)` (object_store >= 0.14.2), which fsyncs the file, the directory it was
//! renamed into, and every directory it had to create, before `put` returns. So a digest that a
//! caller records in its database after `put` returned survives a power loss.
//!
//! Paths given to [`LogStore`] are relative to the configured root (a directory, or the
//! bucket/container plus the URL's path prefix) and use `/` separators.

use std::fmt;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt as _, TryStreamExt as _};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    GetResultPayload, ObjectStore, ObjectStoreExt as _, ObjectStoreScheme, PutMode, PutOptions, PutPayload,
};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::error::{ChainError, Result};

/// The public key document at the store root.
pub const PUBLIC_KEY_PATH: &str = "steward-public-key.json";

/// Read size for hashing and streaming local files.
const LOCAL_CHUNK: usize = 1 << 20;

/// Pre-signs a GET for a full object path. A closure rather than `Arc<dyn Signer>` because
/// `object_store::signer` only exists when a cloud feature is compiled in.
type UrlSigner = Arc<dyn Fn(Path, Duration) -> BoxFuture<'static, object_store::Result<Url>> + Send + Sync>;

type Backend = (Arc<dyn ObjectStore>, Option<UrlSigner>);

/// The compliance log's object store plus its root prefix.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<dyn ObjectStore>,
    signer: Option<UrlSigner>,
    prefix: Path,
    description: String,
}

impl fmt::Debug for LogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStore")
            .field("store", &self.description)
            .field("prefix", &self.prefix.as_ref())
            .finish()
    }
}

/// One object found by [`LogStore::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Relative to the store root.
    pub path: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// An object's bytes as a stream (for HTTP downloads and streaming hashes).
pub struct ObjectStream {
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes>>,
}

impl fmt::Debug for ObjectStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

fn config_error(config: &str, reason: impl fmt::Display) -> ChainError {
    ChainError::StoreConfig {
        config: config.to_owned(),
        reason: reason.to_string(),
    }
}

#[allow(dead_code)] // unused when every cloud feature is enabled
fn missing_feature(config: &str, scheme: &str, feature: &str) -> ChainError {
    config_error(
        config,
        format!("{scheme} storage needs steward-compliance built with the `{feature}` feature"),
    )
}

/// Build a cloud backend from its builder: `from_env`, the URL, then explicit options.
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
macro_rules! cloud_backend {
    ($config:expr, $url:expr, $options:expr, $builder:ty, $key:ty) => {{
        let mut builder = <$builder>::from_env().with_url($url.as_str());
        for (k, v) in $options {
            let key: $key = k.parse().map_err(|e| config_error($config, e))?;
            builder = builder.with_config(key, v);
        }
        let store = Arc::new(builder.build().map_err(|e| config_error($config, e))?);
        let signing = store.clone();
        let signer: UrlSigner = Arc::new(move |path: Path, expires: Duration| {
            let signing = signing.clone();
            Box::pin(async move {
                use object_store::signer::{Method, Signer as _};
                signing.signed_url(Method::GET, &path, expires).await
            })
        });
        let backend: Backend = (store, Some(signer));
        Ok::<Backend, ChainError>(backend)
    }};
}

#[allow(unused_variables)]
fn cloud(
    config: &str,
    url: &Url,
    scheme: ObjectStoreScheme,
    options: Vec<(String, String)>,
) -> Result<Backend> {
    match scheme {
        #[cfg(feature = "aws")]
        ObjectStoreScheme::AmazonS3 => cloud_backend!(
            config,
            url,
            options,
            object_store::aws::AmazonS3Builder,
            object_store::aws::AmazonS3ConfigKey
        ),
        #[cfg(not(feature = "aws"))]
        ObjectStoreScheme::AmazonS3 => Err(missing_feature(config, "S3", "aws")),
        #[cfg(feature = "gcp")]
        ObjectStoreScheme::GoogleCloudStorage => cloud_backend!(
            config,
            url,
            options,
            object_store::gcp::GoogleCloudStorageBuilder,
            object_store::gcp::GoogleConfigKey
        ),
        #[cfg(not(feature = "gcp"))]
        ObjectStoreScheme::GoogleCloudStorage => Err(missing_feature(config, "GCS", "gcp")),
        #[cfg(feature = "azure")]
        ObjectStoreScheme::MicrosoftAzure => cloud_backend!(
            config,
            url,
            options,
            object_store::azure::MicrosoftAzureBuilder,
            object_store::azure::AzureConfigKey
        ),
        #[cfg(not(feature = "azure"))]
        ObjectStoreScheme::MicrosoftAzure => Err(missing_feature(config, "Azure", "azure")),
        other => Err(config_error(config, format!("unsupported scheme {other:?}"))),
    }
}

impl LogStore {
    /// Open from a configuration string: a local directory (created if missing), `file:///dir`,
    /// `memory://` (tests), or `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` (credentials from the usual environment variables).
    pub fn open(config: &str) -> Result<Self> {
        Self::open_inner(config, Vec::new(), true)
    }

    /// Like [`open`](Self::open) but a local directory must already exist (for verifying an
    /// exported folder, where a typo must not yield an empty, "valid" store).
    pub fn open_existing(config: &str) -> Result<Self> {
        Self::open_inner(config, Vec::new(), false)
    }

    /// Like [`open`](Self::open) with backend options (e.g. `("aws_region", "eu-west-1")`),
    /// named as `object_store`'s config keys.
    pub fn open_with_options<I, K, V>(config: &str, options: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let options = options.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self::open_inner(config, options, true)
    }

    fn open_inner(config: &str, options: Vec<(String, String)>, create: bool) -> Result<Self> {
        let trimmed = config.trim();
        if trimmed.is_empty() {
            return Err(config_error(config, "empty"));
        }
        if !trimmed.contains("://") {
            return Self::local(config, PathBuf::from(trimmed), create);
        }
        let url = Url::parse(trimmed).map_err(|e| config_error(config, e))?;
        let (scheme, prefix) = ObjectStoreScheme::parse(&url).map_err(|e| config_error(config, e))?;
        let (inner, signer) = match scheme {
            ObjectStoreScheme::Local => {
                let dir = url
                    .to_file_path()
                    .map_err(|()| config_error(config, "not a local file URL"))?;
                return Self::local(config, dir, create);
            }
            ObjectStoreScheme::Memory => (Arc::new(InMemory::new()) as Arc<dyn ObjectStore>, None),
            scheme => cloud(config, &url, scheme, options)?,
        };
        Ok(Self {
            inner,
            signer,
            prefix,
            description: trimmed.to_owned(),
        })
    }

    fn local(config: &str, dir: PathBuf, create: bool) -> Result<Self> {
        if create {
            std::fs::create_dir_all(&dir).map_err(|e| config_error(config, e))?;
        } else if !dir.is_dir() {
            return Err(config_error(config, "no such directory"));
        }
        let fs = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| config_error(config, e))?
            .with_fsync(true);
        Ok(Self {
            inner: Arc::new(fs),
            signer: None,
            prefix: Path::default(),
            description: dir.display().to_string(),
        })
    }

    /// Wrap an existing store (e.g. `InMemory` in tests) with a root prefix (`""` for none).
    pub fn from_object_store(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self> {
        let prefix = Path::parse(prefix).map_err(|e| ChainError::InvalidPath {
            path: prefix.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            description: store.to_string(),
            inner: store,
            signer: None,
            prefix,
        })
    }

    /// Human-readable location (directory or URL) for logs and messages.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The underlying store (paths on it include the prefix).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    fn location(&self, path: &str) -> Result<Path> {
        let relative = Path::parse(path).map_err(|e| ChainError::InvalidPath {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if relative.as_ref().is_empty() {
            return Err(ChainError::InvalidPath {
                path: path.to_owned(),
                reason: "empty".into(),
            });
        }
        Ok(self.prefix.parts().chain(relative.parts()).collect())
    }

    fn relative(&self, location: &Path) -> Option<String> {
        let rest: Path = location.prefix_match(&self.prefix)?.collect();
        Some(rest.as_ref().to_owned())
    }

    async fn put_mode(&self, path: &str, bytes: Bytes, mode: PutMode) -> Result<()> {
        let location = self.location(path)?;
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.inner
            .put_opts(&location, PutPayload::from_bytes(bytes), options)
            .await
            .map_err(|e| ChainError::from_store(path, e))?;
        Ok(())
    }

    /// Write (or replace) an object atomically and durably.
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<()> {
        self.put_mode(path, bytes, PutMode::Overwrite).await
    }

    /// Write an object only if it does not exist yet ([`ChainError::AlreadyExists`] otherwise).
    /// Used for digests, so two writers can never both claim one sequence number.
    pub async fn put_new(&self, path: &str, bytes: Bytes) -> Result<()> {
        self.put_mode(path, bytes, PutMode::Create).await
    }

    /// Read a whole object into memory (digests, small files).
    pub async fn get(&self, path: &str) -> Result<Bytes> {
        let location = self.location(path)?;
        let result = self
            .inner
            .get(&location)
            .await
            .map_err(|e| ChainError::from_store(path, e))?;
        result.bytes().await.map_err(|e| ChainError::from_store(path, e))
    }

    /// Stream an object (for HTTP downloads); local files are read in 1 MiB chunks.
    pub async fn get_stream(&self, path: &str) -> Result<ObjectStream> {
        let location = self.location(path)?;
        let result = self
            .inner
            .get(&location)
            .await
            .map_err(|e| ChainError::from_store(path, e))?;
        let size = result.range.end - result.range.start;
        let stream = match result.payload {
            GetResultPayload::File(file, local) => local_stream(file, local, result.range.start, size),
            GetResultPayload::Stream(stream) => {
                let path = path.to_owned();
                stream.map_err(move |e| ChainError::from_store(&path, e)).boxed()
            }
        };
        Ok(ObjectStream { size, stream })
    }

    /// Hex SHA-256 and size of an object, computed while streaming (never whole in memory).
    pub async fn sha256(&self, path: &str) -> Result<(String, u64)> {
        let location = self.location(path)?;
        let result = self
            .inner
            .get(&location)
            .await
            .map_err(|e| ChainError::from_store(path, e))?;
        match result.payload {
            GetResultPayload::File(mut file, local) => {
                let start = result.range.start;
                let len = result.range.end - start;
                let hashed = tokio::task::spawn_blocking(move || -> std::io::Result<(String, u64)> {
                    file.seek(SeekFrom::Start(start))?;
                    let mut reader = file.take(len);
                    let mut hasher = Sha256::new();
                    let mut buf = vec![0u8; LOCAL_CHUNK];
                    let mut total = 0u64;
                    loop {
                        let n = reader.read(&mut buf)?;
                        if n == 0 {
                            break;
                        }
                        hasher.update(&buf[..n]);
                        total += n as u64;
                    }
                    Ok((hex::encode(hasher.finalize()), total))
                })
                .await
                .map_err(|e| ChainError::Task(e.to_string()))?;
                hashed.map_err(|source| ChainError::Io { path: local, source })
            }
            GetResultPayload::Stream(mut stream) => {
                let mut hasher = Sha256::new();
                let mut total = 0u64;
                while let Some(chunk) = stream
                    .try_next()
                    .await
                    .map_err(|e| ChainError::from_store(path, e))?
                {
                    hasher.update(&chunk);
                    total += chunk.len() as u64;
                }
                Ok((hex::encode(hasher.finalize()), total))
            }
        }
    }

    /// A pre-signed GET URL valid for `expires`, when the backend can sign (S3, GCS, Azure);
    /// `None` for local and in-memory stores, which the caller then streams itself.
    pub async fn signed_url(&self, path: &str, expires: Duration) -> Result<Option<Url>> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let location = self.location(path)?;
        let url = signer(location, expires)
            .await
            .map_err(|e| ChainError::from_store(path, e))?;
        Ok(Some(url))
    }

    /// All objects under `prefix` (a path relative to the root, matched by whole segments;
    /// `""` lists everything), sorted by path.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let location = if prefix.trim_matches('/').is_empty() {
            self.prefix.clone()
        } else {
            self.location(prefix)?
        };
        let scope = (!location.as_ref().is_empty()).then_some(&location);
        let metas: Vec<_> = self
            .inner
            .list(scope)
            .try_collect()
            .await
            .map_err(|e| ChainError::from_store(prefix, e))?;
        let mut out: Vec<ObjectInfo> = metas
            .into_iter()
            .filter_map(|m| {
                Some(ObjectInfo {
                    path: self.relative(&m.location)?,
                    size: m.size,
                    last_modified: m.last_modified,
                })
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Delete an object ([`ChainError::NotFound`] if it is not there).
    pub async fn delete(&self, path: &str) -> Result<()> {
        let location = self.location(path)?;
        // Some backends (S3) treat deleting a missing object as success; make it uniform.
        self.inner
            .head(&location)
            .await
            .map_err(|e| ChainError::from_store(path, e))?;
        self.inner
            .delete(&location)
            .await
            .map_err(|e| ChainError::from_store(path, e))
    }
}

/// Stream a local file in [`LOCAL_CHUNK`] reads, each on the blocking pool.
fn local_stream(
    file: std::fs::File,
    path: PathBuf,
    start: u64,
    len: u64,
) -> BoxStream<'static, Result<Bytes>> {
    let state = (file, path, start, len, true);
    futures::stream::try_unfold(state, |(mut file, path, start, remaining, first)| async move {
        if remaining == 0 {
            return Ok(None);
        }
        let joined = tokio::task::spawn_blocking(move || {
            let read = (|| -> std::io::Result<Vec<u8>> {
                if first {
                    file.seek(SeekFrom::Start(start))?;
                }
                let want = remaining.min(LOCAL_CHUNK as u64);
                let mut buf = Vec::with_capacity(want as usize);
                (&mut file).take(want).read_to_end(&mut buf)?;
                Ok(buf)
            })();
            (file, path, read)
        })
        .await
        .map_err(|e| ChainError::Task(e.to_string()))?;
        let (file, path, read) = joined;
        let buf = read.map_err(|source| ChainError::Io {
            path: path.clone(),
            source,
        })?;
        if buf.is_empty() {
            return Err(ChainError::Io {
                path,
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        let remaining = remaining - buf.len() as u64;
        Ok(Some((Bytes::from(buf), (file, path, start, remaining, false))))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        assert!(LogStore::open_existing(root.to_str().unwrap()).is_err());
        let store = LogStore::open(root.to_str().unwrap()).unwrap();
        store
            .put("w/logs/A/x.jsonl", Bytes::from_static(b"abc\n"))
            .await
            .unwrap();
        assert_eq!(&store.get("w/logs/A/x.jsonl").await.unwrap()[..], b"abc\n");
        assert!(matches!(
            store.put_new("w/logs/A/x.jsonl", Bytes::new()).await,
            Err(ChainError::AlreadyExists { .. })
        ));
        let (sha, size) = store.sha256("w/logs/A/x.jsonl").await.unwrap();
        assert_eq!(
            (sha.as_str(), size),
            (hex::encode(Sha256::digest(b"abc\n")).as_str(), 4)
        );
        let s = store.get_stream("w/logs/A/x.jsonl").await.unwrap();
        let chunks: Vec<Bytes> = s.stream.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"abc\n");
        let listed = store.list("w").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, "w/logs/A/x.jsonl");
        assert!(store.list("nothing").await.unwrap().is_empty());
        assert_eq!(
            store
                .signed_url("w/logs/A/x.jsonl", Duration::from_secs(60))
                .await
                .unwrap(),
            None
        );
        assert!(store.get("../etc/passwd").await.is_err());
        store.delete("w/logs/A/x.jsonl").await.unwrap();
        assert!(matches!(
            store.get("w/logs/A/x.jsonl").await,
            Err(ChainError::NotFound { .. })
        ));
        assert!(matches!(
            store.delete("w/logs/A/x.jsonl").await,
            Err(ChainError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn prefixed_memory_store_and_missing_features() {
        let mem: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let store = LogStore::from_object_store(mem.clone(), "root/sub").unwrap();
        store.put("a/b.json", Bytes::from_static(b"{}")).await.unwrap();
        assert!(mem.head(&Path::from("root/sub/a/b.json")).await.is_ok());
        assert_eq!(store.list("").await.unwrap()[0].path, "a/b.json");
        #[cfg(not(feature = "aws"))]
        assert!(LogStore::open("s3://bucket/prefix")
            .unwrap_err()
            .to_string()
            .contains("`aws` feature"));
        #[cfg(not(feature = "gcp"))]
        assert!(LogStore::open("gs://bucket")
            .unwrap_err()
            .to_string()
            .contains("`gcp` feature"));
        #[cfg(not(feature = "azure"))]
        assert!(LogStore::open("az://container/p")
            .unwrap_err()
            .to_string()
            .contains("`azure` feature"));
        assert!(LogStore::open("memory://").is_ok());
    }

    #[cfg(feature = "aws")]
    #[tokio::test]
    async fn s3_urls_are_presigned_offline() {
        let store = LogStore::open_with_options(
            "s3://audit-bucket/steward/prod",
            [
                ("aws_region", "eu-west-1"),
                ("aws_access_key_id", "AKIDEXAMPLE"),
                ("aws_secret_access_key", "secret"),
            ],
        )
        .unwrap();
        let url = store
            .signed_url("ws/logs/CODEX_LOG/2025-01-01/f.jsonl", Duration::from_secs(300))
            .await
            .unwrap()
            .expect("S3 can presign");
        let url = url.as_str();
        assert!(url.contains("audit-bucket"), "{url}");
        assert!(
            url.contains("steward/prod/ws/logs/CODEX_LOG/2025-01-01/f.jsonl"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
    }
}
