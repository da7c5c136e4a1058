//! Signing people in: OpenID Connect (authorization code + PKCE) and the local break-glass
//! admin's password, sessions in cookies, sign-out.

use crate::routes::Route;

/// The sign-in routes.
pub fn table() -> Vec<Route> {
    Vec::new()
}
