//! Browser sessions: the `steward_session` cookie and its CSRF header.
//!
//! The cookie holds the session's random secret (HttpOnly, SameSite=Lax). Requests with an
//! unsafe method (anything but GET, HEAD, OPTIONS) must also send `X-CSRF-Token`, the token
//! `GET /v1/me` shows, derived from the secret (`core::identity::sessions::csrf_token`).

use axum::http::{header, HeaderMap, HeaderValue, Method};
use steward_core::identity::sessions;
use steward_core::identity::Caller;

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "steward_session";
/// The header carrying the CSRF token on unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The CSRF token of the request's session cookie (for `/v1/me`).
pub fn csrf_token_of(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE).map(sessions::csrf_token)
}

/// Whether requests with this method change things (and so need the CSRF header).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A `Set-Cookie` value. `max_age_secs` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let s = format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}");
    // Names and values are ours (base64url secrets), so this cannot fail; fall back to deleting.
    HeaderValue::from_str(&s)
        .unwrap_or_else(|_| HeaderValue::from_static("steward_session=; Path=/; Max-Age=0"))
}

/// The caller a session cookie names, if the request carries one. A cookie whose session
/// ended (signed out, expired, idle, person deactivated) is a 401; unsafe methods must also
/// carry the session's CSRF token in `X-CSRF-Token` (else 403 `csrf_failed`).
pub async fn caller_from_cookie(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Option<Caller>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let caller = state
        .sign_in
        .sessions
        .resolve(secret)
        .await
        .map_err(crate::sso::api_error)?;
    let Some(caller) = caller else {
        return Err(ApiError::Unauthenticated(
            "your session has ended (signed out, expired or revoked): sign in again at /auth/sign-in",
        ));
    };
    if is_unsafe(method) {
        let presented = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !sessions::csrf_matches(secret, presented) {
            return Err(ApiError::Forbidden {
                code: "csrf_failed",
                message:
                    "send the session's CSRF token (`csrf_token` of GET /v1/me) in the X-CSRF-Token header"
                        .to_owned(),
            });
        }
    }
    Ok(Some(caller))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; steward_session=abc ; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "steward"), None);
        let mut two = HeaderMap::new();
        two.append(header::COOKIE, HeaderValue::from_static("x=1"));
        two.append(header::COOKIE, HeaderValue::from_static("steward_session=zz"));
        assert_eq!(cookie(&two, SESSION_COOKIE), Some("zz"));
        assert_eq!(csrf_token_of(&two), Some(sessions::csrf_token("zz")));
    }

    #[test]
    fn unsafe_methods_need_the_header() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_unsafe(&m), "{m}");
        }
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_unsafe(&m), "{m}");
        }
    }

    #[test]
    fn cookies_are_http_only_and_lax() {
        let v = set_cookie(SESSION_COOKIE, "s3cr3t", "/", 60, true);
        let s = v.to_str().unwrap();
        assert!(
            s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.ends_with("; Secure"),
            "{s}"
        );
        let plain = set_cookie(SESSION_COOKIE, "", "/", 0, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }
}
