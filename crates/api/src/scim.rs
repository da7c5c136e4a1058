//! SCIM 2.0 at `/scim/v2` (RFC 7644) for identity providers: Users, Groups, discovery
//! (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`) and `/.search`.
//!
//! HTTP only: authentication (an API key with scope `scim`; its workspace is the SCIM tenant),
//! bodies in and out (`application/scim+json`, `application/json` accepted), SCIM error
//! bodies. What the operations mean is `steward_core::identity::scim`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Extension;
use serde::Deserialize;
use serde_json::Value;
use steward_core::compliance::audit::Actor;
use steward_core::identity::scim::{schema, Kind, ListQuery, Projection, ScimContext, ScimError};
use steward_model::ApiScope;

use crate::access::Access;
use crate::auth::bearer;
use crate::routes::Mount;
use crate::state::AppState;

const SCIM_JSON: &str = "application/scim+json";
const PREFIX: &str = "/scim/v2";

/// The authenticated SCIM client of a request (inserted by the router's middleware).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimClient {
    /// The workspace of the client's API key: the SCIM tenant.
    pub workspace_id: String,
    pub credential_id: String,
}

/// A SCIM answer: a JSON body with `application/scim+json`, or an error body.
struct Scim(StatusCode, Value);

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let mut r = (self.0, self.1.to_string()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        r
    }
}

struct Failure(ScimError);

impl From<ScimError> for Failure {
    fn from(e: ScimError) -> Self {
        Failure(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = Scim(status, self.0.body()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

type Answer = Result<Scim, Failure>;

/// The SCIM client presenting the request's bearer token: 401 without a live key, 403 for a
/// key without the `scim` scope.
pub async fn authenticate_scim(state: &AppState, headers: &HeaderMap) -> Result<ScimClient, ScimError> {
    let Some(token) = bearer(headers) else {
        return Err(ScimError::unauthorized(
            "missing bearer token: send `Authorization: Bearer <API key with scope scim>`",
        ));
    };
    let key = match state.principals.authenticate(token).await {
        Ok(Some(key)) => key,
        Ok(None) => return Err(ScimError::unauthorized("invalid authentication credentials")),
        Err(e) => {
            tracing::error!(error = %e, "SCIM authentication failed");
            return Err(ScimError::new(
                503,
                None,
                "authentication is unavailable; retry later",
            ));
        }
    };
    if !key.has_scope(ApiScope::Scim) {
        return Err(ScimError::forbidden("this API key lacks the `scim` scope"));
    }
    Ok(ScimClient {
        workspace_id: key.workspace_id,
        credential_id: key.id,
    })
}

/// `https://host/scim/v2`, from the request (`X-Forwarded-Proto` / `X-Forwarded-Host` when a
/// proxy sets them).
fn base_url(headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let scheme = header("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{host}{PREFIX}")
}

fn context(client: &ScimClient, headers: &HeaderMap) -> ScimContext {
    ScimContext {
        workspace_id: client.workspace_id.clone(),
        actor: Actor::Scim {
            credential_id: client.credential_id.clone(),
        },
        base_url: base_url(headers),
    }
}

/// The JSON body of a write (`application/scim+json` or `application/json`, or no type).
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ScimError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if mime != SCIM_JSON && mime != "application/json" {
            return Err(ScimError::new(
                415,
                None,
                format!("send `{SCIM_JSON}` or `application/json`, not `{mime}`"),
            ));
        }
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::bad_request("invalidSyntax", format!("the body is not valid JSON: {e}")))
}

/// `filter`, `startIndex`, `count`, `attributes`, `excludedAttributes` (names matched
/// case-insensitively, as some clients lower-case them).
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
struct RawQuery(std::collections::HashMap<String, String>);

impl RawQuery {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ScimError> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ScimError::bad_request("invalidValue", format!("`{name}` must be an integer"))
                })
            })
            .transpose()
    }

    fn projection(&self) -> Projection {
        Projection::new(self.get("attributes"), self.get("excludedAttributes"))
    }

    fn list(&self) -> Result<ListQuery, ScimError> {
        Ok(ListQuery {
            filter: self.get("filter").map(str::to_owned),
            start_index: self.int("startIndex")?,
            count: self.int("count")?,
            projection: self.projection(),
        })
    }
}

/// `Users` or `Groups` (the `{resource}` of `/scim/v2/{resource}/{id}`), else 404.
fn kind_of(resource: &str) -> Result<Kind, Failure> {
    match resource {
        "Users" => Ok(Kind::User),
        "Groups" => Ok(Kind::Group),
        _ => Err(Failure(ScimError::not_found("no such SCIM endpoint"))),
    }
}

async fn list(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    Query(q): Query<RawQuery>,
    kind: Kind,
) -> Answer {
    let ctx = context(&client, &headers);
    let body = state.identity.scim().list(&ctx, &[kind], &q.list()?).await?;
    Ok(Scim(StatusCode::OK, body))
}

async fn search(
    state: AppState,
    client: ScimClient,
    headers: HeaderMap,
    body: Bytes,
    kinds: &[Kind],
) -> Answer {
    let ctx = context(&client, &headers);
    let q = ListQuery::from_search(&json_body(&headers, &body)?)?;
    let body = state.identity.scim().list(&ctx, kinds, &q).await?;
    Ok(Scim(StatusCode::OK, body))
}

async fn create(state: AppState, client: ScimClient, headers: HeaderMap, body: Bytes, kind: Kind) -> Answer {
    let ctx = context(&client, &headers);
    let body = json_body(&headers, &body)?;
    let scim = state.identity.scim();
    let created = match kind {
        Kind::User => scim.create_user(&ctx, &body).await?,
        Kind::Group => scim.create_group(&ctx, &body).await?,
    };
    Ok(Scim(StatusCode::CREATED, created))
}

fn collection(kind: Kind) -> MethodRouter<AppState> {
    get(move |s, c, h, q| list(s, c, h, q, kind))
        .post(
            move |State(s): State<AppState>, Extension(c): Extension<ScimClient>, h: HeaderMap, b: Bytes| {
                create(s, c, h, b, kind)
            },
        )
        .fallback(method_not_allowed)
}

async fn get_one(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
    Query(q): Query<RawQuery>,
) -> Answer {
    let ctx = context(&client, &headers);
    let scim = state.identity.scim();
    let body = match kind_of(&resource)? {
        Kind::User => scim.get_user(&ctx, &id, &q.projection()).await?,
        Kind::Group => scim.get_group(&ctx, &id, &q.projection()).await?,
    };
    Ok(Scim(StatusCode::OK, body))
}

async fn put_one(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
    Query(q): Query<RawQuery>,
    body: Bytes,
) -> Answer {
    let ctx = context(&client, &headers);
    let body = json_body(&headers, &body)?;
    let scim = state.identity.scim();
    let kind = kind_of(&resource)?;
    let out = match kind {
        Kind::User => scim.replace_user(&ctx, &id, &body).await?,
        Kind::Group => scim.replace_group(&ctx, &id, &body).await?,
    };
    Ok(Scim(StatusCode::OK, q.projection().apply(kind, out)))
}

async fn patch_one(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
    Query(q): Query<RawQuery>,
    body: Bytes,
) -> Answer {
    let ctx = context(&client, &headers);
    let body = json_body(&headers, &body)?;
    let scim = state.identity.scim();
    let kind = kind_of(&resource)?;
    let out = match kind {
        Kind::User => scim.patch_user(&ctx, &id, &body).await?,
        Kind::Group => scim.patch_group(&ctx, &id, &body).await?,
    };
    Ok(Scim(StatusCode::OK, q.projection().apply(kind, out)))
}

async fn delete_one(
    State(state): State<AppState>,
    Extension(client): Extension<ScimClient>,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
) -> Result<StatusCode, Failure> {
    let ctx = context(&client, &headers);
    let scim = state.identity.scim();
    match kind_of(&resource)? {
        Kind::User => scim.delete_user(&ctx, &id).await?,
        Kind::Group => scim.delete_group(&ctx, &id).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `/Users/{id}` and `/Groups/{id}`; also `/Users/.search` and `/Groups/.search` (POST).
fn item() -> MethodRouter<AppState> {
    get(get_one)
        .put(put_one)
        .patch(patch_one)
        .delete(delete_one)
        .post(
            |State(s): State<AppState>,
             Extension(c): Extension<ScimClient>,
             h: HeaderMap,
             Path((resource, id)): Path<(String, String)>,
             b: Bytes| async move {
                if id != ".search" {
                    return Err(Failure(ScimError::new(
                        405,
                        None,
                        "POST creates resources at the collection",
                    )));
                }
                search(s, c, h, b, &[kind_of(&resource)?]).await
            },
        )
        .fallback(method_not_allowed)
}

async fn method_not_allowed() -> Failure {
    Failure(ScimError::new(405, None, "method not allowed on this endpoint"))
}

async fn not_found() -> Failure {
    Failure(ScimError::not_found("no such SCIM endpoint"))
}

fn discovery(body: impl Fn(&str) -> Value + Clone + Send + Sync + 'static) -> MethodRouter<AppState> {
    get(move |headers: HeaderMap| {
        let body = body.clone();
        async move { Scim(StatusCode::OK, body(&base_url(&headers))) }
    })
    .fallback(method_not_allowed)
}

fn list_response(resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn one_of(headers: HeaderMap, id: String, all: fn(&str) -> Vec<Value>, what: &str) -> Answer {
    all(&base_url(&headers))
        .into_iter()
        .find(|v| v["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(&id)))
        .map(|v| Scim(StatusCode::OK, v))
        .ok_or_else(|| Failure(ScimError::not_found(format!("no {what} {id:?}"))))
}

/// Every SCIM route, each behind [`authenticate_scim`].
/// Every SCIM path, each with the methods its handler answers (unsupported ones get a SCIM
/// 405 from the handler). The access layer authenticates the `scim` key for all of them
/// ([`authenticate_scim`]) before any handler runs.
pub fn mounts() -> Vec<Mount> {
    const ALL: &[Method] = &[
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let m = |path: &'static str, handler: MethodRouter<AppState>| Mount {
        path,
        methods: ALL,
        access: Access::Scim,
        handler,
    };
    vec![
        m("/scim/v2/Users", collection(Kind::User)),
        m("/scim/v2/Groups", collection(Kind::Group)),
        m("/scim/v2/{resource}/{id}", item()),
        m(
            "/scim/v2/ServiceProviderConfig",
            discovery(schema::service_provider_config),
        ),
        m(
            "/scim/v2/ResourceTypes",
            discovery(|b| list_response(schema::resource_types(b))),
        ),
        m(
            "/scim/v2/ResourceTypes/{id}",
            get(|h: HeaderMap, Path(id): Path<String>| one_of(h, id, schema::resource_types, "resource type"))
                .fallback(method_not_allowed),
        ),
        m("/scim/v2/Schemas", discovery(|b| list_response(schema::schemas(b)))),
        m(
            "/scim/v2/Schemas/{id}",
            get(|h: HeaderMap, Path(id): Path<String>| one_of(h, id, schema::schemas, "schema"))
                .fallback(method_not_allowed),
        ),
        m(
            "/scim/v2/.search",
            post(
                |State(s): State<AppState>, Extension(c): Extension<ScimClient>, h: HeaderMap, b: Bytes| async move {
                    search(s, c, h, b, &[Kind::User, Kind::Group]).await
                },
            )
            .fallback(method_not_allowed),
        ),
        m("/scim/v2", axum::routing::any(not_found)),
        m("/scim/v2/{unknown}", axum::routing::any(not_found)),
    ]
}

/// The SCIM error response of a failed [`authenticate_scim`].
pub fn scim_error_response(e: ScimError) -> Response {
    Failure(e).into_response()
}
