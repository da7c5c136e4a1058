use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use steward_core::{ComplianceService, IdentityService, PolicyService, Principals, UsageService};
use steward_ingest::pipeline::Ingestor;
use steward_store::Store;

/// Request limits of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    /// Largest accepted request body, before and after decompression.
    pub max_body_bytes: usize,
}

/// Shared state of every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingestor: Arc<Ingestor>,
    pub usage: UsageService,
    pub principals: Principals,
    pub compliance: ComplianceService,
    pub policies: PolicyService,
    /// Roles, effective permissions, users' activation.
    pub identity: IdentityService,
    /// Steward as the ChatGPT backend of Codex CLIs (managed-configuration bundles).
    pub chatgpt: crate::chatgpt_backend::SharedChatgptBackend,
    /// Signing people in: sessions, local admins, the OpenID provider (`crate::sso`).
    pub sign_in: Arc<crate::sso::SignIn>,
    pub metrics: Option<PrometheusHandle>,
    pub limits: ApiLimits,
}
