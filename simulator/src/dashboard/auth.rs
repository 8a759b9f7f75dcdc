//! Who may see the dashboard: whoever has the API key, as for `/v1` and `/_sim`. A browser logs
//! in once through a form and gets a cookie (`HttpOnly`, `SameSite=Strict`, scoped to the
//! dashboard); `curl -u sk_test_…:` (HTTP Basic with the key as user name) and a Bearer token work
//! on every request without one. Keys and login ids are compared in constant time.
//!
//! The guard also reads every POST's form and checks its CSRF token ([`super::csrf`]) before the
//! handler runs, so no button can skip the check.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;

use super::{csrf, html, layout, see_other, Dash, Form, BASE};
use crate::form;
use crate::http::request::presented_key;

/// The login cookie.
const COOKIE: &str = "stripe_sim_dashboard";

/// Logins remembered at once; past it the oldest is forgotten (that browser logs in again).
const MAX_LOGINS: usize = 256;

/// Who is looking, and the CSRF token of their login.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The login's id: a cookie login's random id, or `basic` for a key sent on every request.
    login: String,
    pub csrf: String,
    /// Logged in with the form (and can log out); otherwise the key comes with each request.
    pub cookie: bool,
}

/// The cookie logins, newest last. In memory only: a restart logs everyone out.
#[derive(Debug, Default)]
pub struct Logins(Mutex<VecDeque<String>>);

impl Logins {
    fn add(&self) -> String {
        let mut bytes = [0u8; 16];
        // Without the system's randomness no login can be made safely: then none is valid.
        if getrandom::fill(&mut bytes).is_err() {
            return String::new();
        }
        let id = hex::encode(bytes);
        let mut logins = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if logins.len() >= MAX_LOGINS {
            logins.pop_front();
        }
        logins.push_back(id.clone());
        id
    }

    fn contains(&self, id: &str) -> bool {
        let logins = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Every entry is compared, in constant time each, so timing says nothing about ids.
        logins
            .iter()
            .fold(false, |found, known| found | constant_time_eq(known, id))
    }

    fn remove(&self, id: &str) {
        let mut logins = self.0.lock().unwrap_or_else(|p| p.into_inner());
        logins.retain(|known| known != id);
    }
}

/// Equality whose time depends on the lengths only; an empty credential matches nothing.
fn constant_time_eq(a: &str, b: &str) -> bool {
    !a.is_empty() && crate::webhooks::signature::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// The login id in the request's cookie.
fn cookie_login(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

impl super::Dashboard {
    /// Who is looking, when they showed the key (a login cookie, or the key itself).
    fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        let key = self.control.api_key();
        if let Some(login) = cookie_login(headers).filter(|id| self.logins.contains(id)) {
            return Some(Viewer {
                csrf: csrf::token(key, login),
                login: login.to_string(),
                cookie: true,
            });
        }
        let presented = presented_key(headers)?;
        constant_time_eq(&presented, key).then(|| Viewer {
            csrf: csrf::token(key, "basic"),
            login: "basic".to_string(),
            cookie: false,
        })
    }
}

/// Lets in whoever has the key; reads and checks a POST's form (CSRF token first).
pub async fn guard(State(dash): State<Dash>, req: Request, next: Next) -> Response {
    let Some(viewer) = dash.viewer(req.headers()) else {
        let wanted = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| BASE.to_string());
        let back = if req.method() == Method::GET {
            wanted
        } else {
            BASE.to_string()
        };
        return login_form(StatusCode::UNAUTHORIZED, &back, None);
    };
    let (mut parts, body) = req.into_parts();
    if parts.method == Method::POST {
        let Ok(bytes) = to_bytes(body, dash.body_limit).await else {
            return crate::error::ApiError::body_too_large(dash.body_limit).into_response();
        };
        let fields = match read_form(&bytes) {
            Ok(fields) => fields,
            Err(message) => return refused(StatusCode::BAD_REQUEST, "Bad form", &message),
        };
        if !csrf::check(
            dash.control.api_key(),
            &viewer.login,
            fields.text(csrf::FIELD),
        ) {
            return refused(
                StatusCode::FORBIDDEN,
                "Refused: CSRF token missing or wrong",
                "This form did not carry this dashboard's CSRF token, so nothing was done. Reload the dashboard page and press the button again.",
            );
        }
        parts.extensions.insert(fields);
    }
    parts.extensions.insert(viewer);
    next.run(Request::from_parts(parts, Body::empty())).await
}

/// A form body's fields.
fn read_form(bytes: &Bytes) -> Result<Form, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "The form is not UTF-8.".to_string())?;
    form::parse(text)
        .map(Form)
        .map_err(|e| format!("The form could not be read: {e}"))
}

/// A page saying why a request was refused.
fn refused(status: StatusCode, title: &str, message: &str) -> Response {
    html(
        status,
        layout::bare(
            title,
            html! {
                h1 { (title) }
                p { (message) }
                p { a href=(BASE) { "Back to the dashboard" } }
            },
        ),
    )
}

/// The login page, with `message` (a failed attempt) and where to go after.
fn login_form(status: StatusCode, next: &str, message: Option<&str>) -> Response {
    html(
        status,
        layout::bare(
            "Log in",
            html! {
                h1 { "stripe-sim dashboard" }
                p { "Enter the simulator's API key (printed at start, " code { "sk_test_…" } ")." }
                @if let Some(message) = message {
                    p.error role="alert" { (message) }
                }
                form method="post" action={ (BASE) "/login" } {
                    input type="hidden" name="next" value=(next);
                    label { "API key " input type="password" name="key" autocomplete="current-password" autofocus required; }
                    " "
                    button type="submit" { "Log in" }
                }
                p.muted { "From a terminal: " code { "curl -u sk_test_…: " (BASE) } }
            },
        ),
    )
}

/// `GET /_sim/dashboard/login`.
pub async fn login_page(axum::extract::RawQuery(query): axum::extract::RawQuery) -> Response {
    let next = query
        .as_deref()
        .and_then(|q| form::parse(q).ok())
        .and_then(|f| Form(f).text("next").map(str::to_string));
    login_form(StatusCode::OK, &safe_next(next.as_deref()), None)
}

/// Only a dashboard page may be where a login leads (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with(BASE)
                && !path.contains("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => BASE.to_string(),
    }
}

/// `POST /_sim/dashboard/login` with `key` (and `next`): a cookie, or the form again.
pub async fn login(State(dash): State<Dash>, body: Bytes) -> Response {
    let fields = read_form(&body).unwrap_or_default();
    let next = safe_next(fields.text("next"));
    let given = fields.text("key").unwrap_or_default();
    if !constant_time_eq(given, dash.control.api_key()) {
        return login_form(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That is not this simulator's API key."),
        );
    }
    let id = dash.logins.add();
    let mut response = see_other(&next);
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path={BASE}; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /_sim/dashboard/logout`: forgets the login and its cookie.
pub async fn logout(State(dash): State<Dash>, Extension(viewer): Extension<Viewer>) -> Response {
    if viewer.cookie {
        dash.logins.remove(&viewer.login);
    }
    let mut response = see_other(&format!("{BASE}/login"));
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "stripe_sim_dashboard=; Path=/_sim/dashboard; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_pages_are_where_a_login_leads() {
        assert_eq!(
            safe_next(Some("/_sim/dashboard/events?type=x")),
            "/_sim/dashboard/events?type=x"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/v1/charges",
            "/_sim/dashboard//evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), BASE, "{bad}");
        }
    }

    #[test]
    fn the_login_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; stripe_sim_dashboard=abc; b=2"),
        );
        assert_eq!(cookie_login(&headers), Some("abc"));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq("sk_test_a", "sk_test_a"));
        assert!(!constant_time_eq("sk_test_a", "sk_test_b"));
        assert!(!constant_time_eq("sk_test_a", "sk_test_ab"));
        assert!(!constant_time_eq("", ""));
    }
}
