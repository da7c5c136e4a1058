//! The ingest use case: decoded OTLP request in, durable events out, with an OTLP-shaped result.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use steward_model::RateCard;

use crate::capture::CaptureProfiles;
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
    store: Arc<dyn steward_store::Store>,
    resolver: Resolver,
    capture: CaptureProfiles,
    queue: WriteQueue,
    rate_card: Arc<RateCard>,
}

/// At most this many rejection reasons are spelled out in one response.
const MAX_REASONS: usize = 5;

impl Ingestor {
    pub fn new(store: Arc<dyn steward_store::Store>, queue: WriteQueue, rate_card: Arc<RateCard>) -> Self {
        Ingestor {
            resolver: Resolver::new(store.clone()),
            store,
            capture: CaptureProfiles::default(),
            queue,
            rate_card,
        }
    }

    /// Content capture per workspace (default: everything kept as Codex sent it).
    pub fn with_capture(mut self, capture: CaptureProfiles) -> Self {
        self.capture = capture;
        self
    }

    pub fn queue(&self) -> &WriteQueue {
        &self.queue
    }

    pub(crate) fn store(&self) -> &Arc<dyn steward_store::Store> {
        &self.store
    }

    pub(crate) fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    pub(crate) fn capture(&self) -> &CaptureProfiles {
        &self.capture
    }

    pub(crate) fn rate_card(&self) -> &RateCard {
        &self.rate_card
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
        for mut record in parsed {
            self.capture.apply(workspace_id, &mut record);
            if record.kind == steward_model::EventKind::Unknown {
                unknown += 1;
            }
            let user_id = self.resolver.user_for(principal, &record.identity).await?;
            let turn = self.turn_of_prompt(workspace_id, &record).await?;
            let mut event = finalize(record, workspace_id, &user_id, &self.rate_card);
            if let (Some(turn), Some(thread)) = (turn, event.thread_id.as_deref()) {
                // The turn's own key, shared with rollouts: a turn shipped both ways counts once.
                event.dedup_key = crate::fact_keys::turn_key(workspace_id, thread, &turn);
                event.turn_id = Some(turn);
            }
            events.push(event);
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

impl Ingestor {
    /// The turn id of a `codex.user_prompt` record, from its trace's turn span (stored when
    /// traces are exported; Codex flushes traces before logs).
    async fn turn_of_prompt(
        &self,
        workspace_id: &str,
        record: &crate::normalize::ParsedRecord,
    ) -> Result<Option<String>, IngestError> {
        match (&record.kind, &record.trace_id, &record.thread_id) {
            (steward_model::EventKind::UserPrompt, Some(trace), Some(_)) => {
                Ok(self.store.turn_for_trace(workspace_id, trace).await?)
            }
            _ => Ok(None),
        }
    }

    /// Traces: validated (decoding is the validation) and counted. Their token figures repeat
    /// the log events' (counting both would double-count), but one fact is only in traces: the
    /// turn id (`turn.id` on `session_task.turn`, whose trace id the turn's log records carry;
    /// docs/research/codex-0.169-otel-signals.md §4.3). Those spans are stored, so compliance
    /// records get their `turn_id`.
    pub async fn ingest_traces(
        &self,
        principal: &IngestPrincipal,
        request: &ExportTraceServiceRequest,
    ) -> Result<u64, IngestError> {
        let workspace_id = principal.workspace_id();
        let mut total = 0u64;
        let mut turns = Vec::new();
        let mut cwds = Vec::new();
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            total += 1;
            if let Some(turn) = turn_span(workspace_id, span) {
                turns.push(turn);
            } else if let Some(cwd) = sampling_cwd(span) {
                cwds.push(cwd);
            }
        }
        // Where the turns ran (Codex tasks and environments): after the turn spans, so that a
        // working directory finds its thread whichever of the two came first.
        let trace_cwds = steward_store::TraceCwds {
            workspace_id: workspace_id.to_owned(),
            cwds,
            turn_trace_ids: turns.iter().map(|t| t.trace_id.clone()).collect(),
        };
        if !turns.is_empty() {
            self.store.insert_turn_spans(turns).await?;
        }
        if !trace_cwds.is_empty() {
            self.store.record_trace_cwds(trace_cwds).await?;
        }
        metrics::counter!("steward_ingest_records_total", "signal" => "traces", "outcome" => "accepted")
            .increment(total);
        Ok(total)
    }
}

/// The turn span of Codex (`session_task.turn`) as a trace → turn mapping.
fn turn_span(
    workspace_id: &str,
    span: &opentelemetry_proto::tonic::trace::v1::Span,
) -> Option<steward_store::TurnSpan> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    if span.name != "session_task.turn" {
        return None;
    }
    let trace_id = crate::normalize::trace_hex(&span.trace_id)?;
    // `thread.id` appears twice on this span: an int (the OS thread) and a string (the
    // conversation id); only the string one is wanted.
    let string_attr = |key: &str| {
        span.attributes
            .iter()
            .find_map(|kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(V::StringValue(s)) if kv.key == key && !s.is_empty() => Some(s.clone()),
                _ => None,
            })
    };
    Some(steward_store::TurnSpan {
        workspace_id: workspace_id.to_owned(),
        trace_id,
        turn_id: string_attr("turn.id")?,
        thread_id: string_attr("thread.id").or_else(|| string_attr("conversation.id")),
    })
}

/// `(trace id, cwd)` of a `run_sampling_request` span: the working directory of its turn
/// (docs/research/codex-0.169-otel-signals.md §4.1).
fn sampling_cwd(span: &opentelemetry_proto::tonic::trace::v1::Span) -> Option<(String, String)> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    if span.name != "run_sampling_request" {
        return None;
    }
    let cwd =
        span.attributes
            .iter()
            .find_map(|kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(V::StringValue(s)) if kv.key == "cwd" && !s.trim().is_empty() => Some(s.clone()),
                _ => None,
            })?;
    Some((crate::normalize::trace_hex(&span.trace_id)?, cwd))
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
