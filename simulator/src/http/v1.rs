//! `/v1`: the Stripe API as the official SDKs call it. Each handler is one line: parse, run one
//! store operation under the lock, expand, answer.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::Value;

use crate::error::ApiResult;
use crate::expand;
use crate::http::request::{api_layer, ApiRequest};
use crate::params::Params;
use crate::shared::Shared;
use crate::store::{Ctx, ListQuery, Store};
use crate::versions;

type S = State<Arc<Shared>>;
type Answer = ApiResult<Json<Value>>;

/// Runs one operation returning an object of type `returns` (`list:<type>` for lists).
fn call(
    shared: &Shared,
    req: ApiRequest,
    returns: &str,
    op: impl FnOnce(&mut Store, Params, &Ctx) -> ApiResult<Value>,
) -> Answer {
    expand::validate(returns, &req.expand)?;
    shared.with_store(|store, now| {
        let ctx = Ctx {
            now,
            request: req.meta,
        };
        store.undo_ids_on_failure(|store| {
            let mut value = op(store, req.params, &ctx)?;
            expand::apply(store, &mut value, &req.expand)?;
            versions::render(&mut value, req.version, store);
            Ok(Json(value))
        })
    })
}

/// A list operation.
fn list(
    shared: &Shared,
    req: ApiRequest,
    item: &str,
    op: impl FnOnce(&Store, ListQuery) -> ApiResult<Value>,
) -> Answer {
    call(shared, req, &format!("list:{item}"), |store, params, _| {
        op(store, ListQuery::from_params(params)?)
    })
}

/// A retrieve operation: only `expand[]` is accepted as a parameter.
fn retrieve(
    shared: &Shared,
    req: ApiRequest,
    returns: &str,
    op: impl FnOnce(&Store) -> ApiResult<Value>,
) -> Answer {
    call(shared, req, returns, |store, params, _| {
        params.finish()?;
        op(store)
    })
}

pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/customers", post(create_customer).get(list_customers))
        .route(
            "/v1/customers/{id}",
            get(retrieve_customer).post(update_customer),
        )
        .route("/v1/products", post(create_product).get(list_products))
        .route("/v1/products/{id}", get(retrieve_product))
        .route("/v1/prices", post(create_price).get(list_prices))
        .route("/v1/prices/{id}", get(retrieve_price))
        .route(
            "/v1/payment_links",
            post(create_payment_link).get(list_payment_links),
        )
        .route(
            "/v1/payment_links/{id}",
            get(retrieve_payment_link).post(update_payment_link),
        )
        .route(
            "/v1/payment_links/{id}/line_items",
            get(payment_link_line_items),
        )
        .route(
            "/v1/checkout/sessions",
            post(create_session).get(list_sessions),
        )
        .route("/v1/checkout/sessions/{id}", get(retrieve_session))
        .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            get(session_line_items),
        )
        .route("/v1/payment_intents", get(list_payment_intents))
        .route("/v1/payment_intents/{id}", get(retrieve_payment_intent))
        .route("/v1/payment_methods/{id}", get(retrieve_payment_method))
        .route("/v1/charges", get(list_charges))
        .route("/v1/charges/{id}", get(retrieve_charge))
        .route("/v1/refunds", post(create_refund).get(list_refunds))
        .route("/v1/refunds/{id}", get(retrieve_refund))
        .route("/v1/events", get(list_events))
        .route("/v1/events/{id}", get(retrieve_event))
        .route(
            "/v1/webhook_endpoints",
            post(create_webhook_endpoint).get(list_webhook_endpoints),
        )
        .route(
            "/v1/webhook_endpoints/{id}",
            get(retrieve_webhook_endpoint)
                .post(update_webhook_endpoint)
                .delete(delete_webhook_endpoint),
        )
        .method_not_allowed_fallback(crate::http::request::unknown_route)
        .route_layer(middleware::from_fn_with_state(shared, api_layer))
}

async fn create_customer(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "customer", |st, p, c| st.create_customer(p, c))
}
async fn list_customers(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "customer", |st, q| st.list_customers(q))
}
async fn retrieve_customer(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "customer", |st| st.retrieve_customer(&id))
}
async fn update_customer(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    call(&s, req, "customer", |st, p, c| {
        st.update_customer(&id, p, c)
    })
}

async fn create_product(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "product", |st, p, c| st.create_product(p, c))
}
async fn list_products(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "product", |st, q| st.list_products(q))
}
async fn retrieve_product(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "product", |st| st.retrieve_product(&id))
}

async fn create_price(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "price", |st, p, c| st.create_price(p, c))
}
async fn list_prices(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "price", |st, q| st.list_prices(q))
}
async fn retrieve_price(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "price", |st| st.retrieve_price(&id))
}

async fn create_payment_link(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "payment_link", |st, p, c| {
        st.create_payment_link(p, c)
    })
}
async fn list_payment_links(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "payment_link", |st, q| st.list_payment_links(q))
}
async fn retrieve_payment_link(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "payment_link", |st| st.retrieve_payment_link(&id))
}
async fn update_payment_link(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    call(&s, req, "payment_link", |st, p, c| {
        st.update_payment_link(&id, p, c)
    })
}
async fn payment_link_line_items(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    list(&s, req, "item", |st, q| st.payment_link_line_items(&id, q))
}

async fn create_session(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "checkout.session", |st, p, c| {
        st.create_checkout_session(p, c)
    })
}
async fn list_sessions(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "checkout.session", |st, q| {
        st.list_checkout_sessions(q)
    })
}
async fn retrieve_session(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "checkout.session", |st| {
        st.retrieve_checkout_session(&id)
    })
}
async fn expire_session(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    call(&s, req, "checkout.session", |st, p, c| {
        st.expire_checkout_session(&id, p, c)
    })
}
async fn session_line_items(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    list(&s, req, "item", |st, q| {
        st.checkout_session_line_items(&id, q)
    })
}

async fn list_payment_intents(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "payment_intent", |st, q| {
        st.list_payment_intents(q)
    })
}
async fn retrieve_payment_intent(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "payment_intent", |st| {
        st.retrieve_payment_intent(&id)
    })
}

async fn retrieve_payment_method(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "payment_method", |st| {
        st.retrieve_payment_method(&id)
    })
}

async fn list_charges(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "charge", |st, q| st.list_charges(q))
}
async fn retrieve_charge(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "charge", |st| st.retrieve_charge(&id))
}

async fn create_refund(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "refund", |st, p, c| st.create_refund(p, c))
}
async fn list_refunds(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "refund", |st, q| st.list_refunds(q))
}
async fn retrieve_refund(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "refund", |st| st.retrieve_refund(&id))
}

async fn list_events(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "event", |st, q| st.list_events(q))
}
async fn retrieve_event(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "event", |st| st.retrieve_event(&id))
}

async fn create_webhook_endpoint(State(s): S, req: ApiRequest) -> Answer {
    call(&s, req, "webhook_endpoint", |st, p, c| {
        st.create_webhook_endpoint(p, c)
    })
}
async fn list_webhook_endpoints(State(s): S, req: ApiRequest) -> Answer {
    list(&s, req, "webhook_endpoint", |st, q| {
        st.list_webhook_endpoints(q)
    })
}
async fn retrieve_webhook_endpoint(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    retrieve(&s, req, "webhook_endpoint", |st| {
        st.retrieve_webhook_endpoint(&id)
    })
}
async fn update_webhook_endpoint(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    call(&s, req, "webhook_endpoint", |st, p, _| {
        st.update_webhook_endpoint(&id, p)
    })
}
async fn delete_webhook_endpoint(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
    call(&s, req, "webhook_endpoint", |st, p, _| {
        st.delete_webhook_endpoint(&id, p)
    })
}
