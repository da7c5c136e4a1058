//! The ingest use case: decoded OTLP request in, durable events out, with an OTLP-shaped result.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use steward_model::RateCard;

use crate::error::IngestError;
use crate::identity::{IngestPrincipal, Resolver};
use crate::normalize::{finalize, parse_logs};
use crate::queue::WriteQueue;

/// What happened to a logs request: the OTLP partial-success figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsOutcome {
    pub accepted: u64,
    pub rejected: u64,
    /// Unknown event names among the accepted records (stored, not counted in usage).
    pub unknown: u64,
    /// Human-readable summary of rejections; empty on full success.
    pub message: String,
}

pub struct Ingestor {
    resolver: Resolver,
    queue: WriteQueue,
    rate_card: Arc<RateCard>,
}

/// At most this many rejection reasons are spelled out in one response.
const MAX_REASONS: usize = 5;

impl Ingestor {
    pub fn new(store: Arc<dyn steward_store::Store>, queue: WriteQueue, rate_card: Arc<RateCard>) -> Self {
        Ingestor {
            resolver: Resolver::new(store),
            queue,
            rate_card,
        }
    }

    pub fn queue(&self) -> &WriteQueue {
        &self.queue
    }

    pub async fn ingest_logs(
        &self,
        principal: &IngestPrincipal,
        request: &ExportLogsServiceRequest,
        received_ms: i64,
    ) -> Result<LogsOutcome, IngestError> {
        let (parsed, rejections) = parse_logs(request, received_ms);
        let workspace_id = principal.workspace_id();
        let mut events = Vec::with_capacity(parsed.len());
        let mut unknown = 0u64;
        for record in parsed {
            if record.kind == steward_model::EventKind::Unknown {
                unknown += 1;
            }
            let user_id = self.resolver.user_for(principal, &record.identity).await?;
            events.push(finalize(record, workspace_id, &user_id, &self.rate_card));
        }
        let accepted = events.len() as u64;
        self.queue.write(events).await?;
        metrics::counter!("steward_ingest_records_total", "signal" => "logs", "outcome" => "accepted")
            .increment(accepted);
        metrics::counter!("steward_ingest_records_total", "signal" => "logs", "outcome" => "rejected")
            .increment(rejections.len() as u64);
        metrics::counter!("steward_ingest_records_total", "signal" => "logs", "outcome" => "unknown_event")
            .increment(unknown);
        let mut message = String::new();
        if !rejections.is_empty() {
            let reasons: Vec<String> = rejections
                .iter()
                .take(MAX_REASONS)
                .map(|r| format!("record {}: {}", r.index, r.reason))
                .collect();
            message = format!("{} record(s) rejected: {}", rejections.len(), reasons.join("; "));
            if rejections.len() > MAX_REASONS {
                message.push_str("; ...");
            }
        }
        // Unknown event names are not reported back as a warning: Codex sends one such record
        // (its metrics-flush log line) in every export, and clients would log it each time.
        // They are visible in `steward_ingest_records_total{outcome="unknown_event"}`.
        Ok(LogsOutcome {
            accepted,
            rejected: rejections.len() as u64,
            unknown,
            message,
        })
    }
}

/// Traces are accepted and validated (decoding is the validation); Codex's spans duplicate
/// what its log events already say, so nothing is stored from them yet.
pub fn accept_traces(request: &ExportTraceServiceRequest) -> u64 {
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    metrics::counter!("steward_ingest_records_total", "signal" => "traces", "outcome" => "accepted")
        .increment(spans as u64);
    spans as u64
}

/// Metrics are accepted and validated; usage figures come from log events, which carry the
/// user and thread that Codex's metric points lack.
pub fn accept_metrics(request: &ExportMetricsServiceRequest) -> u64 {
    let points: usize = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .map(|s| s.metrics.len())
        .sum();
    metrics::counter!("steward_ingest_records_total", "signal" => "metrics", "outcome" => "accepted")
        .increment(points as u64);
    points as u64
}
