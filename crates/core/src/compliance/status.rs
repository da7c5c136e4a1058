//! The compliance log at a glance (the dashboard's compliance view): sealed files per log
//! type, what waits to be sealed, legal holds; retention and sealing come from the config.

use steward_store::{FileStats, LegalHold};

use super::{ComplianceError, ComplianceService};

#[derive(Debug, Clone)]
pub struct ComplianceStatus {
    /// Sealed, unexpired files per log type.
    pub files: Vec<FileStats>,
    /// Records queued and not sealed yet.
    pub pending_records: u64,
    pub legal_holds: Vec<LegalHold>,
}

impl ComplianceService {
    pub async fn status(&self, workspace_id: &str) -> Result<ComplianceStatus, ComplianceError> {
        let (files, pending_records) = self.store.compliance_file_stats(workspace_id).await?;
        let legal_holds = self.store.legal_holds(Some(workspace_id)).await?;
        Ok(ComplianceStatus {
            files,
            pending_records,
            legal_holds,
        })
    }
}
