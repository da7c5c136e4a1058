//! The sign-in pages: plain HTML with labelled inputs, no scripts.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// `s` with HTML's special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page response; framing is refused (clickjacking) and nothing is cached.
pub fn html(status: StatusCode, body: &str) -> Response {
    let mut r = (status, body.to_owned()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    // `same-origin`, not `no-referrer`: with no referrer a browser posts the sign-in form with
    // `Origin: null`, which the login-CSRF check (rightly) refuses.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

fn layout(title: &str, main: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Steward</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 26rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5; }}
label {{ display: block; margin-top: 0.75rem; }}
input {{ display: block; width: 100%; padding: 0.4rem; box-sizing: border-box; }}
button, .button {{ margin-top: 1rem; padding: 0.5rem 1rem; display: inline-block; }}
.error {{ color: #a00; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{main}
</main>
</body>
</html>
"#,
        title = escape(title),
    )
}

/// The sign-in page: SSO when configured, and the local administrators' password form.
pub fn sign_in_page(sso: bool, return_to: &str, error: Option<&str>) -> String {
    let rt = escape(return_to);
    let mut main = String::new();
    if let Some(e) = error {
        main.push_str(&format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)));
    }
    if sso {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", return_to)
            .finish();
        main.push_str(&format!(
            r#"<p><a class="button" id="sso" href="/auth/login?{}">Sign in with SSO</a></p>"#,
            escape(&query)
        ));
        main.push_str(
            "<h2>Local administrator</h2>\n<p>For first setup and identity-provider outages.</p>\n",
        );
    }
    main.push_str(&format!(
        r#"<form method="post" action="/auth/password">
<input type="hidden" name="return_to" value="{rt}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>"#
    ));
    layout("Sign in to Steward", &main)
}

/// A page with one message (sign-in refused, provider down, ...).
pub fn message_page(title: &str, message: &str) -> String {
    let main = format!(
        r#"<p id="message" role="alert">{}</p>
<p><a href="/auth/sign-in">Back to sign-in</a></p>"#,
        escape(message)
    );
    layout(title, &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let p = sign_in_page(true, "/x?a=1&b=\"<script>", Some("<b>no</b>"));
        assert!(!p.contains("<script>") && !p.contains("<b>no</b>"), "{p}");
        assert!(p.contains(r#"<label for="username">"#) && p.contains(r#"<label for="password">"#));
        assert!(p.contains("Sign in with SSO"));
        assert!(!sign_in_page(false, "/", None).contains("Sign in with SSO"));
        assert!(message_page("t", "a<b").contains("a&lt;b"));
    }
}
