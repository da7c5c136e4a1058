//! Users and Groups CRUD, lists and searches over the store.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use steward_store::{
    Group, GroupSource, ScimGroup, ScimGroupLookup, ScimGroupWrite, ScimMembers, ScimUser, ScimUserLookup,
    ScimUserWrite, StoreError,
};

use super::filter::{self, Filter};
use super::resource::{self, Projection};
use super::schema::{self, Kind};
use super::{patch, ScimError};
use crate::compliance::audit::{self, Actor};
use crate::identity::{now_ms, IdentityService};

/// Who is calling and where: the SCIM client's workspace (its API key's), the audit actor,
/// and the base URL of `/scim/v2` for `meta.location` and `$ref`s.
#[derive(Debug, Clone)]
pub struct ScimContext {
    pub workspace_id: String,
    pub actor: Actor,
    /// E.g. `https://steward.example.com/scim/v2` (no trailing slash).
    pub base_url: String,
}

/// A list or search request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    /// 1-based.
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub projection: Projection,
}

impl ListQuery {
    /// From a `SearchRequest` body (`POST .../.search`).
    pub fn from_search(body: &Value) -> Result<ListQuery, ScimError> {
        let Value::Object(m) = body else {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                "a search body is a SearchRequest object",
            ));
        };
        let list = |key: &str| -> Result<Option<String>, ScimError> {
            match filter::get_ci(m, key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| Some(v.join(",")))
                    .ok_or_else(|| ScimError::bad_request("invalidSyntax", format!("`{key}` lists strings"))),
                Some(_) => Err(ScimError::bad_request(
                    "invalidSyntax",
                    format!("`{key}` lists strings"),
                )),
            }
        };
        let int = |key: &str| -> Result<Option<i64>, ScimError> {
            match filter::get_ci(m, key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::bad_request("invalidValue", format!("`{key}` is an integer"))),
            }
        };
        let filter = match filter::get_ci(m, "filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ScimError::bad_request("invalidFilter", "`filter` is a string")),
        };
        let (attributes, excluded) = (list("attributes")?, list("excludedAttributes")?);
        Ok(ListQuery {
            filter,
            start_index: int("startIndex")?,
            count: int("count")?,
            projection: Projection::new(attributes.as_deref(), excluded.as_deref()),
        })
    }
}

fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn stored_object(json: Option<&str>) -> Map<String, Value> {
    json.and_then(|j| serde_json::from_str::<Value>(j).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default()
}

fn meta(kind: Kind, id: &str, created: i64, updated: Option<i64>, base: &str) -> Value {
    let last = updated.unwrap_or(created);
    json!({
        "resourceType": kind.name(),
        "created": timestamp(created),
        "lastModified": timestamp(last),
        "location": format!("{base}{}/{id}", kind.endpoint()),
        "version": format!("W/\"{last}\""),
    })
}

/// The full SCIM representation of a user.
pub fn user_json(u: &ScimUser, base: &str) -> Value {
    let doc = stored_object(u.scim_json.as_deref());
    let user = &u.user;
    let mut schemas = vec![Value::from(schema::USER_SCHEMA)];
    if doc.contains_key(schema::ENTERPRISE_USER) {
        schemas.push(Value::from(schema::ENTERPRISE_USER));
    }
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(user.id));
    if let Some(e) = &user.external_id {
        out.insert("externalId".into(), json!(e));
    }
    out.insert(
        "userName".into(),
        json!(user.user_name.clone().unwrap_or_default()),
    );
    let show_active = doc.contains_key("active") || !user.active;
    for (k, v) in doc {
        if !matches!(k.as_str(), "userName" | "externalId" | "active") {
            out.insert(k, v);
        }
    }
    if show_active {
        out.insert("active".into(), json!(user.active));
    }
    out.insert(
        "meta".into(),
        meta(Kind::User, &user.id, user.created_at_ms, u.updated_at_ms, base),
    );
    Value::Object(out)
}

/// The full SCIM representation of a group.
pub fn group_json(g: &ScimGroup, base: &str) -> Value {
    let doc = stored_object(g.scim_json.as_deref());
    let mut out = Map::new();
    out.insert("schemas".into(), json!([schema::GROUP_SCHEMA]));
    out.insert("id".into(), json!(g.group.id));
    if let Some(e) = &g.group.external_id {
        out.insert("externalId".into(), json!(e));
    }
    out.insert("displayName".into(), json!(g.group.name));
    for (k, v) in doc {
        if !matches!(k.as_str(), "displayName" | "externalId" | "members") {
            out.insert(k, v);
        }
    }
    if !g.members.is_empty() {
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|id| json!({"value": id, "$ref": format!("{base}/Users/{id}"), "type": "User"}))
            .collect();
        out.insert("members".into(), Value::Array(members));
    }
    out.insert(
        "meta".into(),
        meta(
            Kind::Group,
            &g.group.id,
            g.group.created_at_ms,
            g.updated_at_ms,
            base,
        ),
    );
    Value::Object(out)
}

/// What a client may write: the representation without `id`, `meta` and `schemas`.
fn writable(full: Value) -> Map<String, Value> {
    let mut m = match full {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for k in ["id", "meta", "schemas"] {
        m.remove(k);
    }
    m
}

fn user_write(ctx: &ScimContext, doc: &Map<String, Value>) -> Result<(ScimUserWrite, bool), ScimError> {
    let user_name = resource::string(doc, "userName")
        .ok_or_else(|| ScimError::bad_request("invalidValue", "`userName` is required"))?
        .trim()
        .to_owned();
    if user_name.len() > 512 {
        return Err(ScimError::bad_request(
            "invalidValue",
            "`userName` is longer than 512 bytes",
        ));
    }
    let active = doc.get("active").and_then(Value::as_bool).unwrap_or(true);
    let mut stored = doc.clone();
    stored.remove("userName");
    stored.remove("externalId");
    Ok((
        ScimUserWrite {
            workspace_id: ctx.workspace_id.clone(),
            user_name,
            external_id: resource::string(doc, "externalId").map(str::to_owned),
            email: resource::user_email(doc),
            name: resource::user_display_name(doc),
            scim_json: Value::Object(stored).to_string(),
            at_ms: now_ms(),
        },
        active,
    ))
}

fn group_write(
    ctx: &ScimContext,
    doc: &Map<String, Value>,
) -> Result<(ScimGroupWrite, Vec<String>), ScimError> {
    let name = resource::string(doc, "displayName")
        .ok_or_else(|| ScimError::bad_request("invalidValue", "`displayName` is required"))?
        .trim()
        .to_owned();
    if name.len() > 256 {
        return Err(ScimError::bad_request(
            "invalidValue",
            "`displayName` is longer than 256 bytes",
        ));
    }
    let mut members = BTreeSet::new();
    for m in doc.get("members").and_then(Value::as_array).into_iter().flatten() {
        if m.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.eq_ignore_ascii_case("user"))
        {
            return Err(ScimError::bad_request(
                "invalidValue",
                "members are users (nested groups are not supported)",
            ));
        }
        let id = m
            .get("value")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ScimError::bad_request("invalidValue", "each member needs a `value` (a user id)")
            })?;
        members.insert(id.to_owned());
    }
    let mut stored = doc.clone();
    for k in ["displayName", "externalId", "members"] {
        stored.remove(k);
    }
    Ok((
        ScimGroupWrite {
            workspace_id: ctx.workspace_id.clone(),
            name,
            external_id: resource::string(doc, "externalId").map(str::to_owned),
            scim_json: Value::Object(stored).to_string(),
            at_ms: now_ms(),
        },
        members.into_iter().collect(),
    ))
}

fn user_audit(u: &ScimUser) -> Value {
    json!({
        "id": u.user.id,
        "userName": u.user.user_name,
        "externalId": u.user.external_id,
        "email": u.user.email,
        "name": u.user.name,
        "active": u.user.active,
        "attributes": Value::Object(stored_object(u.scim_json.as_deref())),
    })
}

fn group_audit(g: &ScimGroup) -> Value {
    json!({
        "id": g.group.id,
        "displayName": g.group.name,
        "externalId": g.group.external_id,
        "attributes": Value::Object(stored_object(g.scim_json.as_deref())),
    })
}

/// SCIM Users and Groups of one workspace.
#[derive(Clone)]
pub struct ScimService {
    identity: IdentityService,
}

impl ScimService {
    pub fn new(identity: IdentityService) -> Self {
        ScimService { identity }
    }

    fn store(&self) -> &dyn steward_store::Store {
        self.identity.store.as_ref()
    }

    async fn audit(
        &self,
        ctx: &ScimContext,
        action: &str,
        old: Option<Value>,
        new: Option<Value>,
    ) -> Result<(), ScimError> {
        let record = audit::record(&ctx.workspace_id, &ctx.actor, action, old, new, now_ms());
        Ok(self.store().append_audit_record(record).await?)
    }

    // --- Users ---

    async fn user(&self, ctx: &ScimContext, id: &str) -> Result<ScimUser, ScimError> {
        self.store()
            .scim_get_user(&ctx.workspace_id, id)
            .await?
            .ok_or_else(|| ScimError::not_found(format!("User {id} not found")))
    }

    pub async fn get_user(
        &self,
        ctx: &ScimContext,
        id: &str,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        let u = self.user(ctx, id).await?;
        Ok(projection.apply(Kind::User, user_json(&u, &ctx.base_url)))
    }

    /// Sets `active` through the one place it changes; returns the user after.
    async fn set_active(
        &self,
        ctx: &ScimContext,
        mut u: ScimUser,
        active: bool,
    ) -> Result<ScimUser, ScimError> {
        if u.user.active != active {
            let (after, _) = self
                .identity
                .apply_user_active(&ctx.actor, &u.user, active)
                .await?;
            u.user = after;
        }
        Ok(u)
    }

    pub async fn create_user(&self, ctx: &ScimContext, body: &Value) -> Result<Value, ScimError> {
        let doc = resource::normalize(Kind::User, body)?;
        let (write, active) = user_write(ctx, &doc)?;
        let created = self.store().scim_create_user(&write).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                ScimError::uniqueness(format!("userName {:?} is already provisioned", write.user_name))
            }
            other => other.into(),
        })?;
        let old = created.adopted.as_ref().map(|u| {
            json!({"id": u.id, "email": u.email, "name": u.name, "active": u.active, "principal_key": u.principal_key,
                   "deleted_at_ms": u.deleted_at_ms})
        });
        self.audit(ctx, "user.created", old, Some(user_audit(&created.user)))
            .await?;
        let u = self.set_active(ctx, created.user, active).await?;
        Ok(user_json(&u, &ctx.base_url))
    }

    async fn write_user(
        &self,
        ctx: &ScimContext,
        before: ScimUser,
        doc: Map<String, Value>,
    ) -> Result<Value, ScimError> {
        let doc = resource::normalize(Kind::User, &Value::Object(doc))?;
        let (write, active) = user_write(ctx, &doc)?;
        let after = self
            .store()
            .scim_update_user(&before.user.id, &write)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    ScimError::uniqueness(format!("userName {:?} is already provisioned", write.user_name))
                }
                other => other.into(),
            })?
            .ok_or_else(|| ScimError::not_found(format!("User {} not found", before.user.id)))?;
        let (old, new) = (user_audit(&before), user_audit(&after));
        if old != new {
            self.audit(ctx, "user.updated", Some(old), Some(new)).await?;
        }
        let u = self.set_active(ctx, after, active).await?;
        Ok(user_json(&u, &ctx.base_url))
    }

    pub async fn replace_user(&self, ctx: &ScimContext, id: &str, body: &Value) -> Result<Value, ScimError> {
        let before = self.user(ctx, id).await?;
        let Value::Object(doc) = body else {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                "the resource must be a JSON object",
            ));
        };
        self.write_user(ctx, before, doc.clone()).await
    }

    pub async fn patch_user(&self, ctx: &ScimContext, id: &str, body: &Value) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let before = self.user(ctx, id).await?;
        let mut doc = writable(user_json(&before, &ctx.base_url));
        patch::apply(Kind::User, &mut doc, &ops)?;
        self.write_user(ctx, before, doc).await
    }

    pub async fn delete_user(&self, ctx: &ScimContext, id: &str) -> Result<(), ScimError> {
        let before = self.user(ctx, id).await?;
        let old = user_audit(&before);
        let after = self.set_active(ctx, before, false).await?;
        if !self
            .store()
            .scim_delete_user(&ctx.workspace_id, id, now_ms())
            .await?
        {
            return Err(ScimError::not_found(format!("User {id} not found")));
        }
        let mut new = user_audit(&after);
        new["deleted"] = json!(true);
        self.audit(ctx, "user.deleted", Some(old), Some(new)).await
    }

    // --- Groups ---

    async fn group(&self, ctx: &ScimContext, id: &str) -> Result<ScimGroup, ScimError> {
        self.store()
            .scim_get_group(&ctx.workspace_id, id)
            .await?
            .ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))
    }

    pub async fn get_group(
        &self,
        ctx: &ScimContext,
        id: &str,
        projection: &Projection,
    ) -> Result<Value, ScimError> {
        let g = self.group(ctx, id).await?;
        Ok(projection.apply(Kind::Group, group_json(&g, &ctx.base_url)))
    }

    /// Members must be users SCIM sees in this workspace.
    async fn check_members(&self, ctx: &ScimContext, ids: &[String]) -> Result<(), ScimError> {
        for id in ids {
            if self.store().scim_get_user(&ctx.workspace_id, id).await?.is_none() {
                return Err(ScimError::bad_request(
                    "invalidValue",
                    format!("member {id:?} is not a provisioned user of this workspace"),
                ));
            }
        }
        Ok(())
    }

    fn name_conflict(write: &ScimGroupWrite) -> impl FnOnce(StoreError) -> ScimError + '_ {
        move |e| match e {
            StoreError::Conflict(_) => {
                ScimError::uniqueness(format!("a group named {:?} already exists", write.name))
            }
            other => other.into(),
        }
    }

    pub async fn create_group(&self, ctx: &ScimContext, body: &Value) -> Result<Value, ScimError> {
        let doc = resource::normalize(Kind::Group, body)?;
        let (write, members) = group_write(ctx, &doc)?;
        self.check_members(ctx, &members).await?;
        let group = Group {
            id: format!("grp_{}", uuid::Uuid::now_v7().simple()),
            workspace_id: ctx.workspace_id.clone(),
            name: write.name.clone(),
            source: GroupSource::Scim,
            external_id: write.external_id.clone(),
            created_at_ms: write.at_ms,
        };
        let created = self
            .store()
            .scim_create_group(&group, &write, &members)
            .await
            .map_err(Self::name_conflict(&write))?;
        let mut new = group_audit(&created);
        new["members"] = json!(created.members);
        self.audit(ctx, "group.created", None, Some(new)).await?;
        Ok(group_json(&created, &ctx.base_url))
    }

    async fn write_group(
        &self,
        ctx: &ScimContext,
        before: ScimGroup,
        doc: Map<String, Value>,
        delta: bool,
    ) -> Result<Value, ScimError> {
        let doc = resource::normalize(Kind::Group, &Value::Object(doc))?;
        let (write, members) = group_write(ctx, &doc)?;
        let old_set: BTreeSet<&String> = before.members.iter().collect();
        let new_set: BTreeSet<&String> = members.iter().collect();
        let add: Vec<String> = new_set.difference(&old_set).map(|s| (*s).clone()).collect();
        let remove: Vec<String> = old_set.difference(&new_set).map(|s| (*s).clone()).collect();
        self.check_members(ctx, &add).await?;
        let change = if delta {
            ScimMembers::Delta { add, remove }
        } else {
            ScimMembers::Replace(members)
        };
        let after = self
            .store()
            .scim_update_group(&before.group.id, &write, &change)
            .await
            .map_err(Self::name_conflict(&write))?
            .ok_or_else(|| ScimError::not_found(format!("Group {} not found", before.group.id)))?;
        let (old, new) = (group_audit(&before), group_audit(&after));
        if old != new {
            self.audit(ctx, "group.updated", Some(old), Some(new)).await?;
        }
        if before.members != after.members {
            let v =
                |g: &ScimGroup| json!({"id": g.group.id, "displayName": g.group.name, "members": g.members});
            self.audit(ctx, "group.members_changed", Some(v(&before)), Some(v(&after)))
                .await?;
        }
        Ok(group_json(&after, &ctx.base_url))
    }

    pub async fn replace_group(&self, ctx: &ScimContext, id: &str, body: &Value) -> Result<Value, ScimError> {
        let before = self.group(ctx, id).await?;
        let Value::Object(doc) = body else {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                "the resource must be a JSON object",
            ));
        };
        self.write_group(ctx, before, doc.clone(), false).await
    }

    pub async fn patch_group(&self, ctx: &ScimContext, id: &str, body: &Value) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let before = self.group(ctx, id).await?;
        let mut doc = writable(group_json(&before, &ctx.base_url));
        patch::apply(Kind::Group, &mut doc, &ops)?;
        self.write_group(ctx, before, doc, true).await
    }

    pub async fn delete_group(&self, ctx: &ScimContext, id: &str) -> Result<(), ScimError> {
        let before = self.group(ctx, id).await?;
        let deleted = self
            .store()
            .delete_group(&ctx.workspace_id, id)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => ScimError::new(409, None, m),
                other => other.into(),
            })?;
        if !deleted {
            return Err(ScimError::not_found(format!("Group {id} not found")));
        }
        let mut old = group_audit(&before);
        old["members"] = json!(before.members);
        self.audit(ctx, "group.deleted", Some(old), None).await
    }

    // --- Lists and searches ---

    async fn user_candidates(
        &self,
        ctx: &ScimContext,
        f: Option<&Filter>,
    ) -> Result<Vec<ScimUser>, ScimError> {
        let mut lookup = ScimUserLookup::All;
        for (p, v) in f.map(filter::required_eq).unwrap_or_default() {
            if p.sub.is_some() || p.extension(Kind::User) != Ok(None) {
                continue;
            }
            let attr = p.attr.to_ascii_lowercase();
            lookup = match attr.as_str() {
                "username" => ScimUserLookup::UserName(v.to_owned()),
                "externalid" => ScimUserLookup::ExternalId(v.to_owned()),
                "id" => ScimUserLookup::Id(v.to_owned()),
                _ => continue,
            };
            break;
        }
        Ok(self.store().scim_list_users(&ctx.workspace_id, &lookup).await?)
    }

    async fn group_candidates(
        &self,
        ctx: &ScimContext,
        f: Option<&Filter>,
    ) -> Result<Vec<ScimGroup>, ScimError> {
        let mut lookup = ScimGroupLookup::All;
        for (p, v) in f.map(filter::required_eq).unwrap_or_default() {
            if p.sub.is_some() || p.extension(Kind::Group) != Ok(None) {
                continue;
            }
            lookup = match p.attr.to_ascii_lowercase().as_str() {
                "externalid" => ScimGroupLookup::ExternalId(v.to_owned()),
                "id" => ScimGroupLookup::Id(v.to_owned()),
                _ => continue,
            };
            break;
        }
        Ok(self.store().scim_list_groups(&ctx.workspace_id, &lookup).await?)
    }

    /// A `ListResponse` of the resources of `kinds` matching the query.
    pub async fn list(&self, ctx: &ScimContext, kinds: &[Kind], q: &ListQuery) -> Result<Value, ScimError> {
        let f = q.filter.as_deref().map(filter::parse).transpose()?;
        let start = q.start_index.unwrap_or(1).max(1) as usize;
        let count = q
            .count
            .map(|c| c.max(0) as usize)
            .unwrap_or(schema::DEFAULT_COUNT)
            .min(schema::MAX_RESULTS);
        let (total, found) = match (&f, kinds) {
            // Without a filter, one kind pages in the store: the page costs its own rows, not
            // the directory (identity providers walk every page of `/Users` on import).
            (None, [kind]) => self.stored_page(ctx, *kind, start - 1, count).await?,
            _ => {
                self.filtered_page(ctx, kinds, f.as_ref(), start - 1, count)
                    .await?
            }
        };
        let page: Vec<Value> = found
            .into_iter()
            .map(|(kind, r)| q.projection.apply(kind, r))
            .collect();
        Ok(list_response(total, start, page))
    }

    /// `count` resources of `kind` from `offset`, paged by the store, and how many there are.
    async fn stored_page(
        &self,
        ctx: &ScimContext,
        kind: Kind,
        offset: usize,
        count: usize,
    ) -> Result<(usize, Vec<(Kind, Value)>), ScimError> {
        let (offset, limit) = (offset as u64, count as u64);
        let (total, resources): (u64, Vec<Value>) = match kind {
            Kind::User => {
                let p = self
                    .store()
                    .scim_page_users(&ctx.workspace_id, offset, limit)
                    .await?;
                let json = p.items.iter().map(|u| user_json(u, &ctx.base_url));
                (p.total, json.collect())
            }
            Kind::Group => {
                let p = self
                    .store()
                    .scim_page_groups(&ctx.workspace_id, offset, limit)
                    .await?;
                let json = p.items.iter().map(|g| group_json(g, &ctx.base_url));
                (p.total, json.collect())
            }
        };
        Ok((total as usize, resources.into_iter().map(|r| (kind, r)).collect()))
    }

    /// Every resource of `kinds` matching `f` (pre-selected by the store where an index
    /// allows), then `count` of them from `offset`, and how many matched.
    async fn filtered_page(
        &self,
        ctx: &ScimContext,
        kinds: &[Kind],
        f: Option<&Filter>,
        offset: usize,
        count: usize,
    ) -> Result<(usize, Vec<(Kind, Value)>), ScimError> {
        let mut found: Vec<(Kind, Value)> = Vec::new();
        for kind in kinds {
            let all: Vec<Value> = match kind {
                Kind::User => self
                    .user_candidates(ctx, f)
                    .await?
                    .iter()
                    .map(|u| user_json(u, &ctx.base_url))
                    .collect(),
                Kind::Group => self
                    .group_candidates(ctx, f)
                    .await?
                    .iter()
                    .map(|g| group_json(g, &ctx.base_url))
                    .collect(),
            };
            found.extend(
                all.into_iter()
                    .filter(|r| f.is_none_or(|f| filter::matches(f, r, *kind)))
                    .map(|r| (*kind, r)),
            );
        }
        let total = found.len();
        Ok((total, found.into_iter().skip(offset).take(count).collect()))
    }
}

fn list_response(total: usize, start: usize, page: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    })
}
