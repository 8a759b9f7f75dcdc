//! The HTTP face of the simulator: the Stripe API at `/v1`, hosted pages at `/b` and `/c`, and
//! the control API at `/_sim`.

mod control;
mod hosted;
mod request;
mod state;
mod v1;
mod webhook_control;

use std::sync::Arc;

use axum::{middleware, Router};

use crate::shared::Shared;

/// Every route of one simulator.
pub fn router(shared: Arc<Shared>) -> Router {
    let router = Router::new()
        .merge(v1::router(shared.clone()))
        .merge(control::router(shared.clone()))
        .merge(hosted::router())
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
    router.with_state(shared)
}
