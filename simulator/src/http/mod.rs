//! The HTTP face of the simulator: the Stripe API at `/v1`, hosted pages at `/b` and `/c`, and
//! the control API at `/_sim`.

mod control;
mod hosted;
pub mod listener;
mod request;
mod v1;
mod webhook_control;

use std::sync::Arc;

use axum::Router;

use crate::shared::Shared;

pub use request::{ApiRequest, API_KEY_HEADER_HELP};
pub use webhook_control::{release_held, resend_event};

/// Every route of one simulator.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(v1::router(shared.clone()))
        .merge(control::router(shared.clone()))
        .merge(hosted::router())
        .fallback(request::unknown_route)
        .with_state(shared)
}
