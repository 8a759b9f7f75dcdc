//! The HTTP face of the simulator: the Stripe API at `/v1`, hosted pages at `/b` and `/c`,
//! receipts at `/receipts`, the control API at `/_sim` and the dashboard at `/_sim/dashboard`
//! (`crate::dashboard`).

mod checkout_page;
mod control;
mod envelope;
mod hosted;
pub mod listener;
pub(crate) mod page;
mod receipts;
pub(crate) mod request;
mod state;
mod v1;
mod webhook_control;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Router};

use crate::shared::Shared;

/// Every route of one simulator.
pub fn router(shared: Arc<Shared>) -> Router {
    // Every body is held to the API's limit, the control API's and hosted pages' too (axum's
    // default would be 2 MB), and every rejection speaks Stripe's envelope.
    let limit = shared.config.max_body_bytes;
    let router = Router::new()
        .merge(v1::router(shared.clone()))
        .merge(control::router(shared.clone()))
        .merge(hosted::router())
        .merge(receipts::router())
        // Beside the others, with its own guard: it adds no layer to `/v1`.
        .merge(crate::dashboard::router(shared.clone()))
        .fallback(request::unknown_route);
    // Only when asked for: without --state and --max-objects a request pays nothing for it.
    let router = if shared.persist.is_some() || shared.config.retention.max_objects.is_some() {
        router.layer(middleware::from_fn_with_state(
            shared.clone(),
            state::state_layer,
        ))
    } else {
        router
    };
    router
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::map_response(move |response| {
            envelope::plain_errors_as_envelopes(response, limit)
        }))
        .with_state(shared)
}
