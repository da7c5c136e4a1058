//! The authorization layer every route goes through.
//!
//! Each route of [`crate::routes::table`] declares its [`Access`]. [`enforce`] runs before the
//! handler: for workspace routes it finds the caller (a bearer API key, or a browser session
//! cookie with its CSRF header on unsafe methods), asks `core::identity::authorize` for the
//! permission in the path's `{workspace_id}`, and hands the handler the resulting [`Grant`]
//! through the [`Authorized`] extractor. A handler that takes `Authorized` is unreachable
//! without a passed check: the extractor fails closed (500) if the layer did not run.
//!
//! Protocol endpoints (OTLP, SCIM, the ChatGPT backend) authenticate in their own protocol's
//! error format; the table says which, and the authorization matrix test checks them too.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use steward_core::identity::{authorize, Caller, Denied, Grant};
use steward_model::{ApiScope, CredentialKind, Permission};

use crate::auth::bearer;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, the compliance public key, sign-in pages.
    Public,
    /// An ingest token (or key with `ingest`), checked by the handler, which answers in its
    /// protocol's format (OTLP `google.rpc.Status`, the agent's JSON).
    IngestToken,
    /// An API key with scope `scim`, checked here through `scim::authenticate_scim` (SCIM
    /// error bodies); handlers receive the `ScimClient`.
    Scim,
    /// A ChatGPT access token (Codex CLIs signed in with ChatGPT), checked by `chatgpt_token`.
    ChatgptToken,
    /// Any signed-in caller (person, local admin, API key), for things about themselves.
    SignedIn,
    /// Any one of these permissions in the workspace named by the path's `{workspace_id}`.
    Workspace(&'static [Permission]),
}

impl Access {
    /// Whether [`enforce`] (rather than the handler) authenticates the caller.
    pub fn checked_by_layer(self) -> bool {
        matches!(self, Access::SignedIn | Access::Workspace(_))
    }
}

/// The access rules by (method, route pattern), built once from the route table.
#[derive(Debug, Default)]
pub struct AccessRules(HashMap<(Method, &'static str), Access>);

impl AccessRules {
    pub fn new(entries: impl IntoIterator<Item = (Method, &'static str, Access)>) -> Self {
        AccessRules(entries.into_iter().map(|(m, p, a)| ((m, p), a)).collect())
    }

    fn get(&self, method: &Method, path: &str) -> Option<Access> {
        // HEAD is served by GET handlers.
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0.get(&(method.clone(), path)).copied()
    }
}

/// The caller of a [`Access::SignedIn`] route.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Caller);

/// The grant of a [`Access::Workspace`] route: proof the caller holds the route's permission.
#[derive(Debug, Clone)]
pub struct Authorized(pub Grant);

impl<S: Send + Sync> FromRequestParts<S> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authorized>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("route reached without an authorization check".to_owned()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("route reached without an authentication check".to_owned()))
    }
}

/// The middleware: looks up the matched route's rule and enforces it.
pub async fn enforce(
    State((state, rules)): State<(AppState, Arc<AccessRules>)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let matched = parts.extensions.get::<MatchedPath>().cloned();
    let params = RawPathParams::from_request_parts(&mut parts, &()).await.ok();
    let mut request = Request::from_parts(parts, body);
    let Some(path) = matched else {
        return next.run(request).await;
    };
    let Some(access) = rules.get(request.method(), path.as_str()) else {
        // A path of the table with a method it does not list (OPTIONS on a catch-all): refused
        // before any handler, as nothing grants it.
        return axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response();
    };
    if access == Access::Scim {
        return match crate::scim::authenticate_scim(&state, request.headers()).await {
            Ok(client) => {
                request.extensions_mut().insert(client);
                next.run(request).await
            }
            Err(e) => crate::scim::scim_error_response(e),
        };
    }
    if !access.checked_by_layer() {
        return next.run(request).await;
    }
    let caller = match caller(&state, request.headers(), request.method()).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match access {
        Access::SignedIn => {
            if let Caller::Key(key) = &caller {
                if !matches!(key.kind, CredentialKind::ApiKey { .. }) {
                    return ApiError::Forbidden {
                        code: "insufficient_scope",
                        message: "an ingest token can only send telemetry; use an API key or sign in"
                            .to_owned(),
                    }
                    .into_response();
                }
            }
            request.extensions_mut().insert(SignedIn(caller));
        }
        Access::Workspace(permissions) => {
            let workspace_id = params.as_ref().and_then(|p| {
                p.iter()
                    .find(|(k, _)| *k == "workspace_id")
                    .map(|(_, v)| v.to_owned())
            });
            let Some(workspace_id) = workspace_id else {
                return ApiError::Internal(format!("route {} has no {{workspace_id}}", path.as_str()))
                    .into_response();
            };
            match grant(&caller, &workspace_id, permissions) {
                Ok(g) => {
                    request.extensions_mut().insert(Authorized(g));
                }
                Err(e) => return e.into_response(),
            }
        }
        _ => {}
    }
    next.run(request).await
}

/// The first of `permissions` the caller holds in the workspace, as a grant; or the error
/// naming the first one (as the scope a key would need).
pub fn grant(caller: &Caller, workspace_id: &str, permissions: &[Permission]) -> Result<Grant, ApiError> {
    let mut first_denial = None;
    for p in permissions {
        match authorize(caller, workspace_id, *p) {
            Ok(g) => return Ok(g),
            Err(Denied::OtherWorkspace) => {
                return Err(ApiError::Forbidden {
                    code: "workspace_mismatch",
                    message: match caller {
                        Caller::Key(_) => "this API key belongs to another workspace".to_owned(),
                        _ => "you are signed in to another workspace".to_owned(),
                    },
                })
            }
            Err(d) => {
                first_denial.get_or_insert(d);
            }
        }
    }
    let names: Vec<String> = permissions
        .iter()
        .map(|p| match caller {
            Caller::Key(_) => ApiScope::for_permission(*p)
                .map(|s| s.as_str())
                .unwrap_or("admin")
                .to_owned(),
            _ => p.as_str().to_owned(),
        })
        .collect();
    let list = match names.split_first() {
        Some((first, [])) => first.clone(),
        Some((first, rest)) => format!("{first} (or {})", rest.join(", or ")),
        None => "a permission".to_owned(),
    };
    Err(match caller {
        Caller::Key(key) if matches!(key.kind, CredentialKind::ApiKey { .. }) => ApiError::Forbidden {
            code: "insufficient_scope",
            message: format!("API key lacks {list}"),
        },
        Caller::Key(_) => ApiError::Forbidden {
            code: "insufficient_scope",
            message: format!("an ingest token only sends telemetry: this needs an API key with {list}"),
        },
        _ => ApiError::Forbidden {
            code: "permission_denied",
            message: format!("you lack the {list} permission"),
        },
    })
}

/// The caller of a request: a bearer API key, else a session cookie; 401 without either.
pub async fn caller(state: &AppState, headers: &HeaderMap, method: &Method) -> Result<Caller, ApiError> {
    if let Some(token) = bearer(headers) {
        let Some(key) = state.principals.authenticate(token).await? else {
            return Err(ApiError::Unauthenticated("invalid authentication credentials"));
        };
        // Ingest tokens are callers too, holding no permission: they are turned away with a
        // 403 naming what the route needs.
        return Ok(Caller::Key(key));
    }
    if let Some(caller) = crate::session::caller_from_cookie(state, headers, method).await? {
        return Ok(caller);
    }
    Err(ApiError::Unauthenticated(
        "missing bearer token: send `Authorization: Bearer <API key>`, or sign in",
    ))
}
