//! The dashboard at `/_sim/dashboard`: what Stripe's Dashboard and `stripe listen` show a
//! developer, for this simulator. Server-rendered HTML (maud escapes every value), no JavaScript
//! build chain: every page works without JavaScript, and a small inline script keeps open pages
//! live through a server-sent-events stream.
//!
//! It is one more adapter over the typed control layer, like `/_sim`: every button calls one
//! [`Control`] operation, so the dashboard can do nothing a driver cannot. Pages:
//!
//! * overview (`overview.rs`): clock with advance buttons, seed, API version, counts, payment
//!   links, webhook endpoints and their secrets (hidden until revealed);
//! * checkout sessions (`sessions.rs`): the list, and a page per session with its payment and
//!   buttons to pay, expire and refund;
//! * events (`events.rs`): filtered by type and object, each with its JSON and delivery
//!   attempts, resend and "send a duplicate";
//! * webhooks (`webhooks.rs`): hold and release, faults, endpoints (enable, disable, roll);
//! * tail (`tail.rs`): `stripe listen` in a page;
//! * the live stream (`live.rs`).
//!
//! Access needs the API key (`auth.rs`: a login form setting a cookie, or HTTP Basic as
//! `curl -u` sends it); every POST carries a CSRF token (`csrf.rs`). The routes add no layer to
//! `/v1`: they are merged beside it with their own guard.

mod auth;
mod csrf;
mod events;
mod format;
mod layout;
mod live;
mod overview;
mod sessions;
mod tail;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use maud::Markup;

use crate::control::Control;
use crate::form::FormValue;
use crate::shared::Shared;

pub use auth::Viewer;

/// Where the dashboard lives.
pub const BASE: &str = "/_sim/dashboard";

/// The dashboard's own state: the control layer and the login sessions.
#[derive(Debug)]
pub struct Dashboard {
    control: Control,
    logins: auth::Logins,
    /// The body limit every route holds to; the guard reads POST forms itself.
    body_limit: usize,
}

type Dash = Arc<Dashboard>;

/// Every dashboard route, under [`BASE`].
pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let dash: Dash = Arc::new(Dashboard {
        body_limit: shared.config.max_body_bytes,
        control: Control::new(shared),
        logins: auth::Logins::default(),
    });
    let guarded = Router::new()
        .route(BASE, get(overview::page))
        .route(&format!("{BASE}/"), get(overview::page))
        .route(&format!("{BASE}/clock/advance"), post(overview::advance))
        .route(&format!("{BASE}/sessions"), get(sessions::list))
        .route(&format!("{BASE}/sessions/{{id}}"), get(sessions::detail))
        .route(&format!("{BASE}/sessions/{{id}}/pay"), post(sessions::pay))
        .route(
            &format!("{BASE}/sessions/{{id}}/expire"),
            post(sessions::expire),
        )
        .route(
            &format!("{BASE}/sessions/{{id}}/refund"),
            post(sessions::refund),
        )
        .route(&format!("{BASE}/events"), get(events::list))
        .route(
            &format!("{BASE}/events/{{id}}/resend"),
            post(events::resend),
        )
        .route(
            &format!("{BASE}/events/{{id}}/duplicate"),
            post(events::duplicate),
        )
        .route(&format!("{BASE}/webhooks"), get(webhooks::page))
        .route(&format!("{BASE}/webhooks/mode"), post(webhooks::mode))
        .route(&format!("{BASE}/webhooks/release"), post(webhooks::release))
        .route(
            &format!("{BASE}/webhooks/faults"),
            post(webhooks::add_fault),
        )
        .route(
            &format!("{BASE}/webhooks/faults/clear"),
            post(webhooks::clear_faults),
        )
        .route(
            &format!("{BASE}/webhooks/endpoints/{{id}}/enabled"),
            post(webhooks::set_enabled),
        )
        .route(
            &format!("{BASE}/webhooks/endpoints/{{id}}/roll"),
            post(webhooks::roll),
        )
        .route(&format!("{BASE}/tail"), get(tail::page))
        .route(&format!("{BASE}/live"), get(live::stream))
        .route(&format!("{BASE}/logout"), post(auth::logout))
        .route_layer(middleware::from_fn_with_state(dash.clone(), auth::guard));
    Router::new()
        .route(
            &format!("{BASE}/login"),
            get(auth::login_page).post(auth::login),
        )
        .merge(guarded)
        .with_state(dash)
}

/// The fields of a POSTed form (`application/x-www-form-urlencoded`), read by the guard after it
/// checked the CSRF token.
#[derive(Debug, Clone, Default)]
pub struct Form(BTreeMap<String, FormValue>);

impl Form {
    /// A text field, trimmed; empty counts as absent.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(FormValue::Text(value)) => Some(value.trim()).filter(|v| !v.is_empty()),
            _ => None,
        }
    }
}

/// An HTML answer.
/// A logged-in page, answered 200: the shell around `body`, with the notice of the action
/// that led here (when the dashboard signed it).
fn page_ok(
    dash: &Dashboard,
    query: &Query,
    title: &str,
    nav: layout::Nav,
    viewer: &Viewer,
    body: Markup,
) -> Response {
    html(
        StatusCode::OK,
        layout::page(title, nav, viewer, query.notice(dash).as_deref(), body),
    )
}

fn html(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The pages show secrets and take actions: never cached, never framed.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(layout::content_security_policy()),
    );
    response
}

/// After an action: back to `to` (a dashboard path), with a notice saying what happened.
/// The notice is signed so that a link cannot make the dashboard show words of its own.
fn done(dash: &Dashboard, to: &str, notice: &str) -> Response {
    let location = format!(
        "{to}{}notice={}&sig={}",
        if to.contains('?') { '&' } else { '?' },
        percent_encoding::utf8_percent_encode(notice, percent_encoding::NON_ALPHANUMERIC),
        csrf::sign_notice(dash.control.api_key(), notice)
    );
    see_other(&location)
}

/// A 303 to `location`.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A page's query string: its filters and the notice an action left.
#[derive(Debug, Default)]
pub struct Query(Form);

impl Query {
    fn read(raw: Option<&str>) -> Query {
        Query(Form(
            raw.and_then(|q| crate::form::parse(q).ok())
                .unwrap_or_default(),
        ))
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.0.text(key)
    }

    /// The notice of the action that led here, when the dashboard signed it.
    fn notice(&self, dash: &Dashboard) -> Option<String> {
        let notice = self.text("notice")?;
        let signature = self.text("sig")?;
        csrf::notice_is_genuine(dash.control.api_key(), notice, signature)
            .then(|| notice.to_string())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Query::read(parts.uri.query()))
    }
}

/// The form the guard read (an empty one if the handler is reached without it).
fn form_of(form: Option<axum::Extension<Form>>) -> Form {
    form.map(|f| f.0).unwrap_or_default()
}

/// A page answering why an action could not be done, with the way back.
fn failed(dash: &Dashboard, back: &str, error: &crate::error::ApiError) -> Response {
    done(dash, back, &format!("Not done: {}", error.message))
}
