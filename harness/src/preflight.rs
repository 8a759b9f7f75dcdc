//! Before the first scenario, a look at the target file's routes: can a plain order be created
//! and read back, and is there a webhook route where the file says? A mistake there would fail
//! every scenario the same way, each with the app's output; it stops the run instead, once,
//! naming the field to fix.

use serde_json::json;
use stripe_sim::{Delivery, DeliveryBody, DeliveryTarget, Simulator};

use crate::target::{Target, TargetError};

/// Statuses that say "no such route" rather than "I refuse this request".
const NO_ROUTE: [u16; 2] = [404, 405];

/// Checks the target file against the running app; a [`TargetError::Config`] names the field.
pub(crate) async fn check(
    sim: &Simulator,
    target: &Target,
    http: &reqwest::Client,
) -> Result<(), TargetError> {
    let config = |field: &str, message: String| TargetError::Config {
        target: target.name.clone(),
        field: field.to_string(),
        message,
    };
    let observe = &target.file.observe;
    let create_field = if observe.create_order.is_some() {
        "[observe].create_order"
    } else {
        "[routes].create_order"
    };
    // Only answers that say "no such route" (or a command that fails) are the file's fault:
    // an app that hangs, crashes or answers garbage is judged by the scenarios, as always.
    let id = match target.create_order(19900, "USD", "stripe").await {
        Ok(id) => id,
        Err(TargetError::Call { message, .. })
            if no_route(&message) || observe.create_order.is_some() =>
        {
            return Err(config(
                create_field,
                format!(
                    "a plain order (19900 USD, provider stripe) could not be created: {message}"
                ),
            ))
        }
        Err(TargetError::Call { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    match target.get_order(&id).await {
        Ok(_) => {}
        Err(TargetError::Call { message, .. }) => {
            let field = if message.starts_with("no status at")
                && !message.ends_with("JSON)")
                && !message.contains("cut")
            {
                "[fields].status"
            } else if observe.read_order.is_some() {
                "[observe].read_order"
            } else if no_route(&message) {
                "[routes].get_order"
            } else {
                return Ok(());
            };
            return Err(config(
                field,
                format!("the order just created ({id}) could not be read: {message}"),
            ));
        }
        Err(e) => return Err(e),
    }
    let url = target.webhook_url();
    let unsigned = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .timeout(target.file.call_timeout())
        .send()
        .await
        .map(|r| r.status().as_u16());
    let signed = sim
        .deliver(Delivery {
            to: DeliveryTarget::Url {
                url: url.clone(),
                secret: target.webhook_secret.clone(),
            },
            body: DeliveryBody::Json(probe_event(sim)),
            forgery: None,
        })
        .await
        .ok()
        .and_then(|a| a.status_code);
    if let (Ok(a), Some(b)) = (unsigned, signed) {
        if NO_ROUTE.contains(&a) && NO_ROUTE.contains(&b) {
            return Err(config(
                "[routes].webhook",
                format!(
                    "POST {url} answered {a} to an unsigned request and {b} to a genuinely signed event: no webhook route there; set [routes].webhook to the path the app receives Stripe's webhooks on"
                ),
            ));
        }
    }
    Ok(())
}

/// `answered 404: …` or `GET /x answered 405: …`.
fn no_route(message: &str) -> bool {
    NO_ROUTE
        .iter()
        .any(|status| message.contains(&format!("answered {status}:")))
}

/// A genuine event of a type the payment spec does not subscribe to: any app acknowledges it.
fn probe_event(sim: &Simulator) -> serde_json::Value {
    let id = format!("evt_harnessprobe{:016x}", stripe_sim::fresh_seed());
    json!({
        "id": id,
        "object": "event",
        "api_version": sim.api_version(),
        "created": sim.now(),
        "data": { "object": { "id": "cus_harnessprobe", "object": "customer" } },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": "customer.created",
    })
}
