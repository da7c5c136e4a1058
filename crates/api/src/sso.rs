//! Signing people in: OpenID Connect (authorization code + PKCE) and the local break-glass
//! admin's password, sessions in cookies, sign-out.
//!
//! `GET /auth/sign-in` is a plain HTML page; `GET /auth/login` redirects to the identity
//! provider, which sends the browser back to `GET /auth/callback`; `POST /auth/password` signs
//! a local admin in (JSON or an HTML form); `POST /auth/logout` ends the session. The protocol
//! and the session rules are in `core::identity::{oidc, sessions}`; this module only speaks
//! HTTP: cookies, redirects, pages.

mod pages;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use steward_core::identity::oidc::{Callback, OidcService};
use steward_core::identity::sessions::{SessionService, SignInError, StartedSession};
use steward_core::identity::Caller;

use crate::access::{Access, SignedIn};
use crate::error::ApiError;
use crate::routes::Route;
use crate::session::{cookie, set_cookie, SESSION_COOKIE};
use crate::state::AppState;

/// The short-lived cookie binding an OIDC sign-in to the browser that started it.
const OIDC_COOKIE: &str = "steward_oidc";
/// Where the browser goes after signing in when it did not ask for a page.
pub const DEFAULT_RETURN_TO: &str = "/v1/me";

/// Everything signing in needs, built by `steward serve` from the `[sso]` section.
pub struct SignIn {
    pub sessions: SessionService,
    /// `None` when no identity provider is configured (local admins can still sign in).
    pub oidc: Option<OidcService>,
    /// The workspace local admins' sessions are opened in.
    pub default_workspace_id: String,
    /// Whether cookies get `Secure` (HTTPS only).
    pub cookie_secure: bool,
    /// `steward serve --demo`: the local admin that opening `/` signs in without credentials.
    /// `None` outside demo mode.
    pub demo_admin: Option<String>,
}

/// The sign-in routes.
pub fn table() -> Vec<Route> {
    let r = |method: Method, path: &'static str, access, handler| Route {
        method,
        path,
        access,
        handler,
    };
    vec![
        r(Method::GET, "/auth/sign-in", Access::Public, get(sign_in_page)),
        r(Method::GET, "/auth/login", Access::Public, get(login)),
        r(Method::GET, "/auth/callback", Access::Public, get(callback)),
        r(Method::POST, "/auth/password", Access::Public, post(password)),
        r(Method::POST, "/auth/logout", Access::SignedIn, post(logout)),
    ]
}

/// A local path to return to after signing in, or [`DEFAULT_RETURN_TO`]: only same-origin
/// relative paths (`/...`, not `//host` or `/\host`), no control characters, not the sign-in
/// endpoints themselves.
pub fn sanitize_return_to(raw: Option<&str>) -> String {
    let Some(p) = raw.map(str::trim).filter(|p| !p.is_empty()) else {
        return DEFAULT_RETURN_TO.to_owned();
    };
    let local = p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && p.len() <= 2048
        && !p.chars().any(|c| c.is_control() || c.is_whitespace());
    let path = p.split(['?', '#']).next().unwrap_or("");
    let loops = matches!(
        path,
        "/auth/login" | "/auth/callback" | "/auth/logout" | "/auth/password"
    );
    if local && !loops {
        p.to_owned()
    } else {
        DEFAULT_RETURN_TO.to_owned()
    }
}

/// The HTTP status of a sign-in failure.
fn status_of(e: &SignInError) -> StatusCode {
    match e {
        SignInError::BadCredentials | SignInError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        SignInError::NotAllowed(_) => StatusCode::FORBIDDEN,
        SignInError::InvalidRequest(_)
        | SignInError::WeakPassword(_)
        | SignInError::InvalidUsername(_)
        | SignInError::UnknownAdmin(_) => StatusCode::BAD_REQUEST,
        SignInError::AdminExists(_) => StatusCode::CONFLICT,
        SignInError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        SignInError::NotConfigured => StatusCode::NOT_FOUND,
        SignInError::Provider(_) => StatusCode::BAD_GATEWAY,
        SignInError::Identity(_) | SignInError::Store(_) | SignInError::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

fn code_of(e: &SignInError) -> &'static str {
    match e {
        SignInError::BadCredentials => "bad_credentials",
        SignInError::InvalidToken(_) => "invalid_id_token",
        SignInError::NotAllowed(_) => "sign_in_not_allowed",
        SignInError::InvalidRequest(_) => "invalid_sign_in",
        SignInError::NotConfigured => "sso_not_configured",
        SignInError::Provider(_) => "identity_provider_unavailable",
        SignInError::WeakPassword(_) | SignInError::InvalidUsername(_) => "bad_request",
        SignInError::UnknownAdmin(_) => "not_found",
        SignInError::AdminExists(_) => "conflict",
        SignInError::Throttled { .. } => "too_many_attempts",
        SignInError::Identity(_) | SignInError::Store(_) | SignInError::Internal(_) => "internal_error",
    }
}

/// The one mapping of unexpected sign-in errors (store, internal) to [`ApiError`].
pub fn api_error(e: SignInError) -> ApiError {
    match e {
        SignInError::Store(s) => s.into(),
        SignInError::Identity(i) => i.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Whether the client wants JSON rather than a page.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// A failure as a JSON body or an HTML page, with its status.
fn failure(e: SignInError, json_body: bool) -> Response {
    let retry_after_s = match e {
        SignInError::Throttled { retry_after_s } => Some(retry_after_s),
        _ => None,
    };
    with_retry_after(failure_body(e, json_body), retry_after_s)
}

/// `Retry-After` (seconds) on a throttled answer.
fn with_retry_after(mut r: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

fn failure_body(e: SignInError, json_body: bool) -> Response {
    let status = status_of(&e);
    if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
        return api_error(e).into_response();
    }
    if status == StatusCode::BAD_GATEWAY {
        tracing::warn!(error = %e, "sign-in failed at the identity provider");
    }
    let message = e.to_string();
    if json_body {
        return (
            status,
            Json(json!({"detail": {"code": code_of(&e), "message": message}})),
        )
            .into_response();
    }
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed to sign in",
        StatusCode::UNAUTHORIZED => "Sign-in failed",
        StatusCode::BAD_GATEWAY => "Identity provider unavailable",
        _ => "Cannot sign in",
    };
    pages::html(status, &pages::message_page(title, &message))
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    no_store(r)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn session_cookie(state: &AppState, started: &StartedSession) -> HeaderValue {
    let secs = (started.row.expires_at_ms - started.row.created_at_ms) / 1000;
    set_cookie(
        SESSION_COOKIE,
        &started.secret,
        "/",
        secs,
        state.sign_in.cookie_secure,
    )
}

#[derive(Deserialize, Default)]
struct ReturnTo {
    return_to: Option<String>,
}

async fn sign_in_page(State(state): State<AppState>, Query(q): Query<ReturnTo>) -> Response {
    let return_to = sanitize_return_to(q.return_to.as_deref());
    no_store(pages::html(
        StatusCode::OK,
        &pages::sign_in_page(state.sign_in.oidc.is_some(), &return_to, None),
    ))
}

/// `GET /auth/login?return_to=/path`: to the identity provider.
async fn login(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<ReturnTo>) -> Response {
    let json_body = wants_json(&headers);
    let Some(oidc) = state.sign_in.oidc.as_ref() else {
        return failure(SignInError::NotConfigured, json_body);
    };
    let return_to = sanitize_return_to(q.return_to.as_deref());
    match oidc.begin(&return_to).await {
        Ok(begun) => {
            let mut r = redirect(&begun.authorization_url);
            let ttl = steward_core::identity::oidc::PENDING_TTL_MS / 1000;
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    OIDC_COOKIE,
                    &begun.browser_secret,
                    "/auth",
                    ttl,
                    state.sign_in.cookie_secure,
                ),
            );
            r
        }
        Err(e) => failure(e, json_body),
    }
}

#[derive(Deserialize, Default)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: the provider's answer; a session cookie and on to `return_to`.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let json_body = wants_json(&headers);
    let Some(oidc) = state.sign_in.oidc.as_ref() else {
        return failure(SignInError::NotConfigured, json_body);
    };
    let cb = Callback {
        code: q.code,
        state: q.state,
        error: q.error,
        error_description: q.error_description,
    };
    let clear = set_cookie(OIDC_COOKIE, "", "/auth", 0, state.sign_in.cookie_secure);
    let mut response = match oidc.complete(&cb, cookie(&headers, OIDC_COOKIE)).await {
        Ok(done) => {
            let mut r = redirect(&sanitize_return_to(Some(&done.return_to)));
            r.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&state, &done.session));
            r
        }
        Err(e) => failure(e, json_body),
    };
    response.headers_mut().append(header::SET_COOKIE, clear);
    response
}

#[derive(Deserialize)]
struct PasswordForm {
    username: String,
    password: String,
    #[serde(default)]
    return_to: Option<String>,
}

// Never print the password.
impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordForm")
            .field("username", &self.username)
            .finish()
    }
}

/// Whether a browser's `Origin` (when sent) is this server, so other sites cannot post the
/// sign-in form (login CSRF).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    origin != "null" && !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// `POST /auth/password`: a local admin signs in with `username` and `password` (JSON, or an
/// HTML form, which is then redirected to `return_to`).
async fn password(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let json_body = !is_form;
    let parsed: Option<PasswordForm> = if is_form {
        serde_urlencoded_form(&body)
    } else {
        serde_json::from_slice(&body).ok()
    };
    let Some(form) = parsed else {
        return failure(
            SignInError::InvalidRequest(
                "send `username` and `password` as JSON or as an HTML form (application/x-www-form-urlencoded)"
                    .to_owned(),
            ),
            json_body,
        );
    };
    if !same_origin(&headers) {
        return failure(
            SignInError::InvalidRequest("sign-in form posted from another site".to_owned()),
            json_body,
        );
    }
    let s = &state.sign_in;
    let outcome = s
        .sessions
        .sign_in_with_password(&s.default_workspace_id, form.username.trim(), &form.password)
        .await;
    let label = outcome.as_ref().map_or_else(code_of, |_| "ok");
    metrics::counter!("steward_password_sign_ins_total", "outcome" => label).increment(1);
    match outcome {
        Ok(started) => {
            let cookie = session_cookie(&state, &started);
            let mut r = if is_form {
                redirect(&sanitize_return_to(form.return_to.as_deref()))
            } else {
                no_store(
                    Json(json!({
                        "kind": "local_admin", "username": form.username.trim(),
                        "workspace_id": started.row.workspace_id,
                        "csrf_token": started.csrf_token,
                        "session_expires_at_ms": started.row.expires_at_ms,
                    }))
                    .into_response(),
                )
            };
            r.headers_mut().append(header::SET_COOKIE, cookie);
            r
        }
        Err(SignInError::BadCredentials) if is_form => {
            let return_to = sanitize_return_to(form.return_to.as_deref());
            pages::html(
                StatusCode::UNAUTHORIZED,
                &pages::sign_in_page(s.oidc.is_some(), &return_to, Some("Wrong username or password.")),
            )
        }
        Err(e @ SignInError::Throttled { retry_after_s }) if is_form => {
            let return_to = sanitize_return_to(form.return_to.as_deref());
            let message = format!("Too many failed sign-ins. Try again in {retry_after_s} seconds.");
            let page = pages::sign_in_page(s.oidc.is_some(), &return_to, Some(&message));
            with_retry_after(pages::html(status_of(&e), &page), Some(retry_after_s))
        }
        Err(e) => failure(e, json_body),
    }
}

fn serde_urlencoded_form(body: &[u8]) -> Option<PasswordForm> {
    let mut username = None;
    let mut password = None;
    let mut return_to = None;
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "username" => username = Some(v.into_owned()),
            "password" => password = Some(v.into_owned()),
            "return_to" => return_to = Some(v.into_owned()),
            _ => {}
        }
    }
    Some(PasswordForm {
        username: username?,
        password: password?,
        return_to,
    })
}

/// `POST /auth/logout`: ends the caller's session and clears the cookie.
async fn logout(State(state): State<AppState>, SignedIn(caller): SignedIn) -> Result<Response, ApiError> {
    let ended = match &caller {
        Caller::Person { .. } | Caller::Admin { .. } => state
            .sign_in
            .sessions
            .sign_out(&caller)
            .await
            .map_err(api_error)?,
        _ => false,
    };
    let body: Value = json!({"signed_out": ended});
    let mut r = no_store(Json(body).into_response());
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", "/", 0, state.sign_in.cookie_secure),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_this_server() {
        let ok = |p: &str| assert_eq!(sanitize_return_to(Some(p)), p, "{p}");
        let refused = |p: &str| assert_eq!(sanitize_return_to(Some(p)), DEFAULT_RETURN_TO, "{p}");
        ok("/");
        ok("/v1/workspaces/ws_1/roles");
        ok("/dashboard?tab=usage#top");
        ok("/path?next=https://example.com");
        refused("");
        refused("   ");
        refused("https://evil.example/");
        refused("//evil.example/x");
        refused("/\\evil.example");
        refused("\\\\evil.example");
        refused("javascript:alert(1)");
        refused("evil.example");
        refused("/ok\r\nSet-Cookie: x=1");
        refused("/a b");
        refused("/auth/login?return_to=/x");
        refused("/auth/callback");
        refused(&format!("/{}", "a".repeat(3000)));
        assert_eq!(sanitize_return_to(None), DEFAULT_RETURN_TO);
    }

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h), "no Origin: not a cross-site browser post");
        h.insert(header::HOST, HeaderValue::from_static("steward.corp:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://steward.corp:8080"),
        );
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn form_bodies_parse() {
        let f = serde_urlencoded_form(b"username=ops&password=a%20b%26c&return_to=%2Fx").expect("form");
        assert_eq!((f.username.as_str(), f.password.as_str()), ("ops", "a b&c"));
        assert_eq!(f.return_to.as_deref(), Some("/x"));
        assert!(serde_urlencoded_form(b"username=ops").is_none());
        assert!(!format!("{f:?}").contains("a b&c"), "Debug hides the password");
    }
}
