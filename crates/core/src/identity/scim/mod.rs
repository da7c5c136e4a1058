//! SCIM 2.0 provisioning (RFC 7643 / RFC 7644) for identity providers (Okta, Entra ID):
//! Users and Groups over the store, with filters (`filter`), PATCH (`patch`), the published
//! schemas (`schema`) and JSON handling (`resource`). HTTP lives in `api::scim`.
//!
//! Semantics (docs/scim.md):
//! - SCIM sees users that were provisioned (`user_name` set) and not deleted, and groups of
//!   source `scim`. A POST whose email matches a user Steward already knows (from telemetry, an
//!   admin, or an earlier SCIM DELETE) adopts that row, so usage history and policies stay
//!   with the person; a userName already provisioned is `409 uniqueness`.
//! - `active` changes only through `IdentityService::apply_user_active`: `active=false`
//!   revokes the user's ingest tokens and browser sessions at once. DELETE deactivates, marks
//!   the user deleted (the row stays: events point at it) and removes its memberships.
//! - Every change is audited (`user.created`, `user.updated`, `user.deleted`,
//!   `group.created`, `group.updated`, `group.members_changed`, `group.deleted`, and
//!   `user.activated` / `user.deactivated` from `apply_user_active`).
//! - A request is validated entirely before anything is written: a PATCH with one bad
//!   operation applies none.

pub mod filter;
pub mod patch;
pub mod resource;
pub mod schema;
mod service;

use serde_json::{json, Value};
use steward_store::StoreError;

use super::IdentityError;
pub use resource::Projection;
pub use schema::Kind;
pub use service::{ListQuery, ScimContext, ScimService};

/// A SCIM error (RFC 7644 §3.12): HTTP status, `scimType` and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.unwrap_or("error"))]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType` (`invalidFilter`, `invalidPath`, `invalidValue`, `noTarget`,
    /// `invalidSyntax`, `mutability`, ...).
    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, None, detail)
    }

    /// The error body: `{"schemas": [Error], "status": "400", "scimType": ..., "detail": ...}`.
    pub fn body(&self) -> Value {
        let mut v = json!({
            "schemas": [schema::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = json!(t);
        }
        v
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ScimError::new(409, Some("uniqueness"), m),
            StoreError::NotFound(m) => ScimError::not_found(m),
            StoreError::Unavailable(_) => {
                ScimError::new(503, None, "the database is unavailable; retry later")
            }
            other => {
                tracing::error!(error = %other, "SCIM request failed in the store");
                ScimError::new(500, None, "internal error")
            }
        }
    }
}

impl From<IdentityError> for ScimError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Store(s) => s.into(),
            IdentityError::UnknownUser(m) => ScimError::not_found(format!("no user {m}")),
            other => ScimError::new(400, None, other.to_string()),
        }
    }
}

impl super::IdentityService {
    /// The SCIM service over the same store.
    pub fn scim(&self) -> ScimService {
        ScimService::new(self.clone())
    }
}
