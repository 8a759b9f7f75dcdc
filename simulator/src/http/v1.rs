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

// The handlers: one line each, by kind. `create` runs an operation on the request's parameters,
// `update` the same on the object of the path's id, `list` a list operation (its `item`s listed
// under `list:`), `retrieve` a lookup that takes only `expand[]`.

macro_rules! create {
    ($handler:ident, $returns:literal, $op:ident) => {
        async fn $handler(State(s): S, req: ApiRequest) -> Answer {
            call(&s, req, $returns, |st, p, c| st.$op(p, c))
        }
    };
}

macro_rules! update {
    ($handler:ident, $returns:literal, $op:ident) => {
        async fn $handler(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
            call(&s, req, $returns, |st, p, c| st.$op(&id, p, c))
        }
    };
}

macro_rules! list {
    ($handler:ident, $item:literal, $op:ident) => {
        async fn $handler(State(s): S, req: ApiRequest) -> Answer {
            list(&s, req, $item, |st, q| st.$op(q))
        }
    };
    ($handler:ident, $item:literal, $op:ident, by id) => {
        async fn $handler(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
            list(&s, req, $item, |st, q| st.$op(&id, q))
        }
    };
}

macro_rules! retrieve {
    ($handler:ident, $returns:literal, $op:ident) => {
        async fn $handler(State(s): S, Path(id): Path<String>, req: ApiRequest) -> Answer {
            retrieve(&s, req, $returns, |st| st.$op(&id))
        }
    };
}

create!(create_customer, "customer", create_customer);
list!(list_customers, "customer", list_customers);
retrieve!(retrieve_customer, "customer", retrieve_customer);
update!(update_customer, "customer", update_customer);

create!(create_product, "product", create_product);
list!(list_products, "product", list_products);
retrieve!(retrieve_product, "product", retrieve_product);

create!(create_price, "price", create_price);
list!(list_prices, "price", list_prices);
retrieve!(retrieve_price, "price", retrieve_price);

create!(create_payment_link, "payment_link", create_payment_link);
list!(list_payment_links, "payment_link", list_payment_links);
retrieve!(retrieve_payment_link, "payment_link", retrieve_payment_link);
update!(update_payment_link, "payment_link", update_payment_link);
list!(payment_link_line_items, "item", payment_link_line_items, by id);

create!(create_session, "checkout.session", create_checkout_session);
list!(list_sessions, "checkout.session", list_checkout_sessions);
retrieve!(
    retrieve_session,
    "checkout.session",
    retrieve_checkout_session
);
update!(expire_session, "checkout.session", expire_checkout_session);
list!(session_line_items, "item", checkout_session_line_items, by id);

list!(list_payment_intents, "payment_intent", list_payment_intents);
retrieve!(
    retrieve_payment_intent,
    "payment_intent",
    retrieve_payment_intent
);
retrieve!(
    retrieve_payment_method,
    "payment_method",
    retrieve_payment_method
);

list!(list_charges, "charge", list_charges);
retrieve!(retrieve_charge, "charge", retrieve_charge);

create!(create_refund, "refund", create_refund);
list!(list_refunds, "refund", list_refunds);
retrieve!(retrieve_refund, "refund", retrieve_refund);

list!(list_events, "event", list_events);
retrieve!(retrieve_event, "event", retrieve_event);

create!(
    create_webhook_endpoint,
    "webhook_endpoint",
    create_webhook_endpoint
);
list!(
    list_webhook_endpoints,
    "webhook_endpoint",
    list_webhook_endpoints
);
retrieve!(
    retrieve_webhook_endpoint,
    "webhook_endpoint",
    retrieve_webhook_endpoint
);

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
