//! The HTTP face of the simulator: the Stripe API at `/v1`, hosted pages at `/b` and `/c`,
//! receipts at `/receipts`, and the control API at `/_sim`.

mod control;
mod hosted;
mod receipts;
mod request;
mod v1;
mod webhook_control;

use std::sync::Arc;

use axum::Router;

use crate::shared::Shared;

/// Every route of one simulator.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(v1::router(shared.clone()))
        .merge(control::router(shared.clone()))
        .merge(hosted::router())
        .merge(receipts::router())
        .fallback(request::unknown_route)
        .with_state(shared)
}
