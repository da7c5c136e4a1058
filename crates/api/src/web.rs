//! The dashboard's files (`steward-web`, embedded at build time) at `/` and `/ui/{file}`, and
//! the demo's automatic sign-in: with `steward serve --demo`, opening `/` without a session
//! signs in the demo admin, so a newcomer sees a populated dashboard in one step. Only in demo
//! mode, and logged loudly each time.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use steward_web::Asset;

use crate::session::{cookie, SESSION_COOKIE};
use crate::state::AppState;

/// What the dashboard may load: its own files and API, nothing inline but styles (the charts
/// set element styles), no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| enc.split(';').next().map(str::trim) == Some("gzip"))
}

/// The file, gzipped when the client takes it; 304 when its ETag is current. `no-cache`: the
/// names carry no hash, so browsers revalidate (cheap, with the ETag) and never run stale code.
fn serve(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let gzip = accepts_gzip(headers);
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        asset.gzip.into_response()
    } else {
        asset.bytes.into_response()
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip && !fresh {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /`: the dashboard (signing the demo admin in first, in demo mode).
pub async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut demo_cookie = None;
    if let Some(admin) = &state.sign_in.demo_admin {
        let live = match cookie(&headers, SESSION_COOKIE) {
            Some(secret) => matches!(state.sign_in.sessions.resolve(secret).await, Ok(Some(_))),
            None => false,
        };
        if !live {
            match state
                .sign_in
                .sessions
                .start_demo(&state.sign_in.default_workspace_id, admin)
                .await
            {
                Ok(started) => {
                    tracing::warn!(
                        admin = %admin,
                        "DEMO MODE: signed a browser in as the demo admin without credentials (steward serve --demo); never expose a demo server"
                    );
                    demo_cookie = Some(crate::sso::session_cookie(&state, &started));
                }
                Err(e) => tracing::error!(error = %e, "demo sign-in failed"),
            }
        }
    }
    let mut r = serve(steward_web::index(), &headers);
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if let Some(c) = demo_cookie {
        // A fresh session: the cached page must not be revalidated into a 304 without it.
        h.append(header::SET_COOKIE, c);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// `GET /ui/{file}`: the bundle's scripts and styles.
pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match steward_web::asset(&name).filter(|a| a.name != "index.html") {
        Some(asset) => serve(asset, &headers),
        None => (StatusCode::NOT_FOUND, "no such dashboard file").into_response(),
    }
}
