/// Why a whole request body was refused. Per-record problems are not errors: they become
/// OTLP partial-success rejections (see [`crate::normalize::RecordRejection`]).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unsupported content type `{0}`: send application/x-protobuf or application/json")]
    UnsupportedContentType(String),
    #[error("unsupported content encoding `{0}`: send gzip or identity")]
    UnsupportedEncoding(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("corrupt gzip body: {0}")]
    CorruptGzip(String),
    #[error("malformed protobuf {message}: {detail}")]
    MalformedProtobuf { message: &'static str, detail: String },
    #[error("malformed JSON {message}: {detail}")]
    MalformedJson { message: &'static str, detail: String },
    #[error("write queue is full")]
    QueueFull,
    #[error("storage failed: {0}")]
    Store(#[from] steward_store::StoreError),
}
