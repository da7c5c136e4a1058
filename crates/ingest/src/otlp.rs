//! OTLP/HTTP body decoding per the OTLP specification (protocol/otlp.md, "OTLP/HTTP"):
//! binary protobuf (`application/x-protobuf`) or JSON (`application/json`), optionally gzip.

use std::io::Read;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::de::DeserializeOwned;

use crate::error::IngestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// Reads the `Content-Type` header (parameters such as `charset` are ignored).
    pub fn from_content_type(value: Option<&str>) -> Result<Self, IngestError> {
        let raw = value.unwrap_or("");
        let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            _ => Err(IngestError::UnsupportedContentType(if raw.is_empty() {
                "(none)".to_owned()
            } else {
                raw.to_owned()
            })),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Undoes `Content-Encoding` (gzip or identity), refusing output above `limit` bytes so a
/// small compressed bomb cannot exhaust memory.
pub fn decompress(body: &[u8], content_encoding: Option<&str>, limit: usize) -> Result<Vec<u8>, IngestError> {
    let encoding = content_encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => {
            if body.len() > limit {
                return Err(IngestError::TooLarge { limit });
            }
            Ok(body.to_vec())
        }
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let mut reader = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|e| IngestError::CorruptGzip(e.to_string()))?;
            if out.len() > limit {
                return Err(IngestError::TooLarge { limit });
            }
            Ok(out)
        }
        other => Err(IngestError::UnsupportedEncoding(other.to_owned())),
    }
}

fn decode<T: Message + Default + DeserializeOwned>(
    bytes: &[u8],
    encoding: Encoding,
    message: &'static str,
) -> Result<T, IngestError> {
    match encoding {
        Encoding::Protobuf => T::decode(bytes).map_err(|e| IngestError::MalformedProtobuf {
            message,
            detail: e.to_string(),
        }),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| IngestError::MalformedJson {
            message,
            detail: e.to_string(),
        }),
    }
}

pub fn decode_logs(bytes: &[u8], encoding: Encoding) -> Result<ExportLogsServiceRequest, IngestError> {
    decode(bytes, encoding, "ExportLogsServiceRequest")
}

pub fn decode_traces(bytes: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, IngestError> {
    decode(bytes, encoding, "ExportTraceServiceRequest")
}

pub fn decode_metrics(bytes: &[u8], encoding: Encoding) -> Result<ExportMetricsServiceRequest, IngestError> {
    decode(bytes, encoding, "ExportMetricsServiceRequest")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const CODEX_JSON: &str = include_str!("../tests/fixtures/codex-0.169.0-exec-logs.json");

    #[test]
    fn decodes_real_codex_json_export() {
        let req = decode_logs(CODEX_JSON.as_bytes(), Encoding::Json).expect("codex json decodes");
        let records: usize = req
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum();
        assert_eq!(records, 11);
    }

    #[test]
    fn protobuf_round_trip_of_real_codex_export() {
        let req = decode_logs(CODEX_JSON.as_bytes(), Encoding::Json).expect("decodes");
        let bytes = req.encode_to_vec();
        assert_eq!(
            decode_logs(&bytes, Encoding::Protobuf).expect("protobuf decodes"),
            req
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Encoding::from_content_type(Some("application/json; charset=utf-8")).ok(),
            Some(Encoding::Json)
        );
        assert_eq!(
            Encoding::from_content_type(Some("application/x-protobuf")).ok(),
            Some(Encoding::Protobuf)
        );
        let err = Encoding::from_content_type(Some("text/plain")).unwrap_err();
        assert!(err.to_string().contains("text/plain"));
    }

    #[test]
    fn gzip_and_limits() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[7u8; 10_000]).expect("write");
        let body = gz.finish().expect("finish");
        assert_eq!(
            decompress(&body, Some("gzip"), 10_000).expect("fits").len(),
            10_000
        );
        assert!(matches!(
            decompress(&body, Some("gzip"), 9_999),
            Err(IngestError::TooLarge { .. })
        ));
        assert!(matches!(
            decompress(b"not gzip at all", Some("gzip"), 100),
            Err(IngestError::CorruptGzip(_))
        ));
        assert!(matches!(
            decompress(b"x", Some("br"), 100),
            Err(IngestError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn malformed_bodies_name_the_message() {
        let err = decode_logs(&[0xff, 0xff, 0xff], Encoding::Protobuf).unwrap_err();
        assert!(err.to_string().contains("ExportLogsServiceRequest"), "{err}");
        let err = decode_logs(b"{\"resourceLogs\": 5}", Encoding::Json).unwrap_err();
        assert!(err.to_string().contains("malformed JSON"), "{err}");
    }
}
