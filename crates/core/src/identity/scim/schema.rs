//! What Steward publishes at `/Schemas`, `/ResourceTypes` and `/ServiceProviderConfig`, and
//! the attribute definitions the rest of the module consults (names are matched
//! case-insensitively, RFC 7643 §2.1; `caseExact`, types, multi-valuedness).
//!
//! `schemas.json` holds RFC 7643's User (without `password`, which Steward never stores, and
//! the read-only `groups`), the enterprise extension, and Group (members are users only).

use std::sync::LazyLock;

use serde_json::{json, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// Largest page a list answers (`count` above it is lowered).
pub const MAX_RESULTS: usize = 1000;
/// Page size when the client gives no `count`.
pub const DEFAULT_COUNT: usize = 100;

static SCHEMAS: LazyLock<Vec<Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("schemas.json")).unwrap_or_default());

/// The two resource types Steward serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    pub fn core_schema(self) -> &'static str {
        match self {
            Kind::User => USER_SCHEMA,
            Kind::Group => GROUP_SCHEMA,
        }
    }

    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::User => &[ENTERPRISE_USER],
            Kind::Group => &[],
        }
    }

    /// `/Users` or `/Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "/Users",
            Kind::Group => "/Groups",
        }
    }

    /// The extension URN `urn` names (case-insensitively), in its canonical spelling.
    pub fn extension(self, urn: &str) -> Option<&'static str> {
        self.extensions()
            .iter()
            .copied()
            .find(|e| e.eq_ignore_ascii_case(urn))
    }
}

/// One attribute definition of a published schema.
#[derive(Debug, Clone, Copy)]
pub struct Attr(&'static Value);

impl Attr {
    pub fn name(self) -> &'static str {
        self.0["name"].as_str().unwrap_or_default()
    }

    pub fn kind(self) -> &'static str {
        self.0["type"].as_str().unwrap_or("string")
    }

    pub fn multi(self) -> bool {
        self.0["multiValued"].as_bool().unwrap_or(false)
    }

    pub fn case_exact(self) -> bool {
        self.0["caseExact"].as_bool().unwrap_or(false)
    }

    pub fn read_only(self) -> bool {
        self.0["mutability"].as_str() == Some("readOnly")
    }

    pub fn sub_attr(self, name: &str) -> Option<Attr> {
        find(self.0["subAttributes"].as_array()?, name)
    }
}

fn find(attrs: &'static [Value], name: &str) -> Option<Attr> {
    attrs
        .iter()
        .find(|a| a["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .map(Attr)
}

/// The published schema with this id (case-insensitively).
pub fn schema(id: &str) -> Option<&'static Value> {
    SCHEMAS
        .iter()
        .find(|s| s["id"].as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)))
}

/// An attribute of schema `schema_id`.
pub fn attr(schema_id: &str, name: &str) -> Option<Attr> {
    find(schema(schema_id)?["attributes"].as_array()?, name)
}

static COMMON: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        json!({"name": "id", "type": "string", "caseExact": true, "mutability": "readOnly"}),
        json!({"name": "externalId", "type": "string", "caseExact": true, "mutability": "readWrite"}),
        json!({"name": "meta", "type": "complex", "mutability": "readOnly", "subAttributes": [
            {"name": "resourceType", "type": "string", "caseExact": true},
            {"name": "created", "type": "dateTime"},
            {"name": "lastModified", "type": "dateTime"},
            {"name": "location", "type": "reference", "caseExact": true},
            {"name": "version", "type": "string", "caseExact": true}
        ]}),
    ]
});

/// An attribute of a resource of `kind`: in `ext` (an extension URN) when given, else a common
/// attribute (`id`, `externalId`, `meta`) or one of the core schema.
pub fn resource_attr(kind: Kind, ext: Option<&str>, name: &str) -> Option<Attr> {
    match ext {
        Some(urn) => attr(urn, name),
        None => find(&COMMON, name).or_else(|| attr(kind.core_schema(), name)),
    }
}

/// `/Schemas`: the published schemas with their `meta`.
pub fn schemas(base: &str) -> Vec<Value> {
    SCHEMAS
        .iter()
        .map(|s| {
            let mut s = s.clone();
            let id = s["id"].as_str().unwrap_or_default().to_owned();
            s["meta"] = json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")});
            s
        })
        .collect()
}

/// `/ResourceTypes`.
pub fn resource_types(base: &str) -> Vec<Value> {
    [Kind::User, Kind::Group]
        .into_iter()
        .map(|k| {
            let extensions: Vec<Value> = k
                .extensions()
                .iter()
                .map(|e| json!({"schema": e, "required": false}))
                .collect();
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": k.name(),
                "name": k.name(),
                "description": match k { Kind::User => "People who use Codex", Kind::Group => "Groups of users; policies are assigned to groups" },
                "endpoint": k.endpoint(),
                "schema": k.core_schema(),
                "schemaExtensions": extensions,
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", k.name())},
            })
        })
        .collect()
}

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/steward/steward/blob/main/docs/scim.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A Steward API key with the `scim` scope (`steward keys create --scope scim`), sent as `Authorization: Bearer <key>`.",
            "primary": true
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_load_and_attributes_resolve_case_insensitively() {
        assert_eq!(SCHEMAS.len(), 3);
        let user_name = attr(USER_SCHEMA, "USERNAME").expect("userName");
        assert_eq!(user_name.name(), "userName");
        assert!(!user_name.case_exact());
        let emails = attr(USER_SCHEMA, "emails").expect("emails");
        assert!(emails.multi());
        assert_eq!(emails.sub_attr("VALUE").map(Attr::name), Some("value"));
        assert!(attr(USER_SCHEMA, "password").is_none());
        assert!(resource_attr(Kind::User, None, "externalid").is_some_and(Attr::case_exact));
        assert!(attr(ENTERPRISE_USER, "department").is_some());
        let members = attr(GROUP_SCHEMA, "members").expect("members");
        assert!(members.sub_attr("display").is_none());
    }
}
