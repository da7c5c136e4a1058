//! Legal holds: placed on a workspace or one user, they stop retention and deletion requests
//! for what they cover until released. Placing and releasing are audited.

use serde_json::json;
use steward_store::LegalHold;

use super::audit::{self, Actor};
use super::sealer::now_micros;
use super::{ComplianceError, ComplianceService};

impl ComplianceService {
    /// Places a hold on the workspace (`user_id` = `None`) or one of its users.
    pub async fn place_legal_hold(
        &self,
        workspace_id: &str,
        user_id: Option<&str>,
        reason: &str,
        actor: &Actor,
    ) -> Result<LegalHold, ComplianceError> {
        if reason.trim().is_empty() {
            return Err(ComplianceError::BadRequest(
                "reason: a legal hold needs a reason (e.g. the matter or ticket it is for)".into(),
            ));
        }
        let now_ms = now_micros() / 1000;
        let hold = LegalHold {
            id: format!("hold_{}", uuid::Uuid::now_v7().simple()),
            workspace_id: workspace_id.to_owned(),
            user_id: user_id.map(str::to_owned),
            reason: reason.trim().to_owned(),
            created_at_ms: now_ms,
            created_by: actor.describe(),
        };
        self.store.add_legal_hold(&hold).await?;
        let record = audit::record(
            workspace_id,
            actor,
            "compliance.legal_hold_placed",
            None,
            Some(json!(hold)),
            now_ms,
        );
        self.store.append_audit_record(record).await?;
        Ok(hold)
    }

    pub async fn legal_holds(&self, workspace_id: Option<&str>) -> Result<Vec<LegalHold>, ComplianceError> {
        Ok(self.store.legal_holds(workspace_id).await?)
    }

    /// Releases a hold; `NotFound` for an unknown id.
    pub async fn release_legal_hold(&self, id: &str, actor: &Actor) -> Result<LegalHold, ComplianceError> {
        let Some(hold) = self.store.remove_legal_hold(id).await? else {
            return Err(ComplianceError::NotFound(format!("no legal hold {id}")));
        };
        let record = audit::record(
            &hold.workspace_id,
            actor,
            "compliance.legal_hold_released",
            Some(json!(hold)),
            None,
            now_micros() / 1000,
        );
        self.store.append_audit_record(record).await?;
        Ok(hold)
    }
}
