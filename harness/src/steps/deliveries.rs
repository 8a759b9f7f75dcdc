//! Webhook delivery: holding and releasing, faults, forgeries, resends, secret rolls, the
//! endpoint going down, and simulator flows that emit events the target may not handle.

use serde_json::{json, Value};
use stripe_sim::{
    Delivery, DeliveryBody, DeliveryTarget, EventId, EventType, EventView, Fault, RecordStatus,
    Release as SimRelease, ReleaseOrder, SessionId,
};

use crate::harness::Harness;
use crate::judge::{OrderInfo, Violation};
use crate::rules::Rule;
use crate::scenario::{Fault as FaultStep, Forge, Release};
use crate::steps::{api_ok, states, unchanged, StepResult, Stop};
use crate::world::World;

/// The id of the fabricated event a `forge = { paid_for = … }` step posts.
const FABRICATED_EVENT: &str = "evt_forged000000000000000000";

/// An unreachable URL (the discard port) for `endpoint_down`.
const UNREACHABLE: &str = "http://127.0.0.1:9/unreachable";

/// `release`: sends held deliveries, the listed event types first, then the rest in `order`
/// (all at once with `parallel`).
pub(super) async fn release(h: &Harness, world: &mut World, r: &Release) -> StepResult {
    if r.parallel && !world.endpoint_down && !world.shared {
        return release_parallel(h, world, r).await;
    }
    if let Some(types) = &r.events {
        let held: Vec<(EventType, EventId)> = h
            .sim
            .deliveries_since(world.deliveries_mark)
            .into_iter()
            .filter(|d| d.status == RecordStatus::Held)
            .map(|d| (d.event_type, d.event_id))
            .collect();
        let mut ids: Vec<EventId> = Vec::new();
        for t in types {
            let found: Vec<EventId> = held
                .iter()
                .filter(|(et, id)| et == t && !ids.contains(id))
                .map(|(_, id)| id.clone())
                .collect();
            if found.is_empty() {
                return Err(format!("no held delivery of a {t} event to release").into());
            }
            ids.extend(found);
        }
        h.sim
            .release(SimRelease {
                order: ReleaseOrder::Events(ids),
                duplicate: r.duplicate,
                ..SimRelease::default()
            })
            .await?;
    }
    let order = ReleaseOrder::from_word(r.order.unwrap_or_default(), r.seed);
    if !r.keep_holding || r.events.is_none() {
        h.sim
            .release(SimRelease {
                order,
                duplicate: r.duplicate,
                resume: !r.keep_holding,
                ..SimRelease::default()
            })
            .await?;
    }
    Ok(())
}

/// `release = { parallel = true }`: every held delivery (or those of the listed event types)
/// reaches the target at once, each on its own connection, genuinely signed for its endpoint,
/// as when Stripe's retries arrive together after an outage.
///
/// The simulator's delivery log sends one at a time in this harness (arrival order must be
/// reproducible everywhere else), so the burst is sent as one-off deliveries, and the log's
/// records follow what the target answered: those it accepted are delivered to a local sink
/// (each event reaches the target once, as from Stripe), those it refused fail once against an
/// unreachable address, so Stripe's retry schedule brings them back to the target.
async fn release_parallel(h: &Harness, world: &mut World, r: &Release) -> StepResult {
    let held: Vec<(EventType, EventId)> = h
        .sim
        .deliveries_since(world.deliveries_mark)
        .into_iter()
        .filter(|d| d.status == RecordStatus::Held && d.endpoint_id == world.endpoint_id)
        .map(|d| (d.event_type, d.event_id))
        .collect();
    let mut burst: Vec<(EventType, EventId)> = match &r.events {
        Some(types) => {
            let mut chosen = Vec::new();
            for t in types {
                let found: Vec<_> = held.iter().filter(|(et, _)| et == t).cloned().collect();
                if found.is_empty() {
                    return Err(format!("no held delivery of a {t} event to release").into());
                }
                chosen.extend(found);
            }
            chosen
        }
        None => held.clone(),
    };
    if r.order == Some(stripe_sim::ReleaseOrderWord::Reverse) && r.events.is_none() {
        burst.reverse();
    }
    let copies = if r.duplicate.is_some() { 2 } else { 1 };
    let sends = burst
        .iter()
        .flat_map(|(_, id)| std::iter::repeat_n(id.clone(), copies))
        .map(|id| {
            h.sim.deliver(Delivery {
                to: DeliveryTarget::Endpoint(world.endpoint_id.clone()),
                body: DeliveryBody::Event(id),
                forgery: None,
            })
        })
        .collect::<Vec<_>>();
    let answers = join_all(sends).await;
    let mut accepted: Vec<EventId> = Vec::new();
    let mut refused: Vec<EventId> = Vec::new();
    for ((event_type, id), answers) in burst.iter().zip(answers.chunks(copies)) {
        let mut ok = false;
        for answer in answers {
            let attempt = answer.as_ref().map_err(|e| e.message.clone())?;
            world
                .recorder
                .released(id.as_str(), event_type.as_str(), attempt);
            ok |= attempt.delivered();
        }
        if ok {
            accepted.push(id.clone());
        } else {
            refused.push(id.clone());
        }
    }
    let sink = crate::sink::Sink::start()
        .await
        .map_err(|e| format!("no local sink for the delivery log: {e}"))?;
    // Faults wait for deliveries that reach the target, not for the log's copies.
    let faults = h.sim.faults();
    h.sim.clear_faults();
    for (ids, url) in [
        (accepted, sink.url.clone()),
        (refused, UNREACHABLE.to_string()),
    ] {
        if ids.is_empty() {
            continue;
        }
        point_endpoint(h, world, url).await?;
        h.sim
            .release(SimRelease {
                order: ReleaseOrder::Events(ids),
                resume: false,
                ..SimRelease::default()
            })
            .await?;
    }
    point_endpoint(h, world, h.target.webhook_url()).await?;
    h.sim.add_faults(faults)?;
    // The log's copies never reached the target: not part of the trace.
    world
        .recorder
        .skip_attempts(h, world.deliveries_mark, &world.endpoint_id);
    if !r.keep_holding {
        h.sim
            .release(SimRelease {
                order: ReleaseOrder::from_word(r.order.unwrap_or_default(), r.seed),
                duplicate: r.duplicate,
                resume: true,
                ..SimRelease::default()
            })
            .await?;
    }
    Ok(())
}

/// Polls every future until all are done, on the caller's task: the requests of a burst run
/// at once without spawning (the simulator handle is borrowed).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// `fault`: the next matching deliveries go wrong.
pub(super) fn fault(h: &Harness, f: &FaultStep) -> StepResult {
    h.sim.add_fault(Fault {
        count: f.count,
        event_type: f.event.clone(),
        delay_seconds: f.delay_seconds,
        duplicate_mode: f.mode,
        ..Fault::new(f.kind)
    })?;
    Ok(())
}

/// `forge`: a forged request straight to the target's webhook URL, signed (or not) as the
/// target's own secret would sign it, whatever the endpoint's state: it must answer 4xx and
/// change nothing.
pub(super) async fn forge(h: &Harness, world: &mut World, f: &Forge) -> StepResult {
    let before = states(h, world).await?;
    let mut forged_id = FABRICATED_EVENT.to_string();
    let mut forged_type = EventType::CheckoutSessionCompleted.to_string();
    let (body, what) = if let Some(alias) = &f.paid_for {
        (
            DeliveryBody::Json(fabricated_payment(h, world.order(alias)?)),
            format!("a fabricated checkout.session.completed paying order {alias}"),
        )
    } else {
        let event_type = f.event.unwrap_or(EventType::CheckoutSessionCompleted);
        let session = f.session.as_deref().map(|a| world.session(a)).transpose()?;
        let event = events_for(h, event_type, session)
            .into_iter()
            .next_back()
            .ok_or_else(|| format!("no {event_type} event to forge yet"))?;
        let what = format!("{event_type} {}", event.id);
        forged_id = event.id.to_string();
        forged_type = event_type.to_string();
        (DeliveryBody::Event(event.id), what)
    };
    let what = format!("a forged ({}) delivery of {what}", f.kind);
    let attempt = h
        .sim
        .deliver(Delivery {
            to: DeliveryTarget::Url {
                url: h.target.webhook_url(),
                secret: h.target.webhook_secret.clone(),
            },
            body,
            forgery: Some(f.kind),
        })
        .await?;
    world.recorder.forged(&forged_id, &forged_type, &attempt);
    let answered = attempt
        .status_code
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("nothing ({})", attempt.error.clone().unwrap_or_default()));
    let broken = (!attempt.status_code.is_some_and(|s| (400..500).contains(&s))).then(|| {
        Violation::new(
            Rule::ForgedRefused,
            format!("{what} was answered {answered}"),
            "4xx",
            format!("{answered} {}", attempt.response),
        )
    });
    if let Some(v) = world.tally.check(Rule::ForgedRefused, broken) {
        return Err(Stop::Broken(v));
    }
    unchanged(h, world, &before, Rule::ForgedChangesNothing, &what).await
}

/// `roll_secret`: a new signing secret; the old one keeps signing for the overlap.
pub(super) fn roll_secret(h: &Harness, world: &World, overlap_seconds: Option<i64>) -> StepResult {
    h.sim
        .roll_webhook_secret(&world.endpoint_id, overlap_seconds.unwrap_or(24 * 3600))?;
    Ok(())
}

/// `endpoint_down`: the endpoint's URL becomes unreachable, so deliveries fail and are retried.
pub(super) async fn endpoint_down(h: &Harness, world: &mut World) -> StepResult {
    point_endpoint(h, world, UNREACHABLE.to_string()).await?;
    world.endpoint_down = true;
    Ok(())
}

/// `endpoint_up`: the endpoint reaches the target again. If the outage lasted long enough for
/// Stripe to disable the endpoint, it is re-enabled too, as the team fixing the outage does in
/// the dashboard (the events Stripe sent nowhere meanwhile are resent at convergence).
pub(super) async fn endpoint_up(h: &Harness, world: &mut World) -> StepResult {
    let mut params = vec![("url", h.target.webhook_url())];
    if endpoint_disabled(h, world) {
        params.push(("disabled", "false".to_string()));
        world.endpoint_was_disabled = true;
    }
    update_endpoint(h, world, &params).await?;
    world.endpoint_down = false;
    Ok(())
}

/// Whether Stripe disabled the scenario's endpoint (it failed every delivery for too long).
pub(crate) fn endpoint_disabled(h: &Harness, world: &World) -> bool {
    h.sim
        .webhook_endpoints()
        .into_iter()
        .any(|e| e.id == world.endpoint_id && e.status == "disabled")
}

async fn point_endpoint(h: &Harness, world: &World, url: String) -> StepResult {
    update_endpoint(h, world, &[("url", url)]).await
}

async fn update_endpoint(h: &Harness, world: &World, params: &[(&str, String)]) -> StepResult {
    api_ok(
        h,
        reqwest::Method::POST,
        &format!("/v1/webhook_endpoints/{}", world.endpoint_id),
        params,
    )
    .await?;
    Ok(())
}

/// `resend`: Stripe sends the latest event of a type (for a session) again; with `new_event`, it
/// issues a second Event object for the same change instead.
pub(super) async fn resend(
    h: &Harness,
    world: &World,
    event: EventType,
    session: Option<&str>,
    new_event: bool,
) -> StepResult {
    let session = session.map(|a| world.session(a)).transpose()?;
    let found = events_for(h, event, session)
        .into_iter()
        .next_back()
        .ok_or_else(|| format!("no {event} event to resend yet"))?;
    if new_event {
        h.sim.reissue_event(&found.id)?;
    } else {
        h.sim.resend(&found.id, Some(&world.endpoint_id)).await?;
    }
    Ok(())
}

/// `trigger`: a simulator flow (like `stripe trigger`) that emits an event the target may not
/// handle.
pub(super) async fn trigger(h: &Harness, event: EventType) -> StepResult {
    let client = stripe_sim::SimClient::new(h.sim.base_url(), h.sim.api_key());
    stripe_sim::trigger(&client, event.as_str())
        .await
        .map_err(|e| Stop::CannotPlay(e.to_string()))
}

/// Events of a type, about a session's objects when one is given (its own id, its PaymentIntent,
/// its charge), oldest first.
fn events_for(h: &Harness, event_type: EventType, session: Option<&SessionId>) -> Vec<EventView> {
    let Some(session) = session.and_then(|s| h.sim.session(s)) else {
        return h.sim.events_of_type(event_type);
    };
    let intent = session.payment_intent.as_ref().map(|pi| pi.to_string());
    let charge = intent
        .as_deref()
        .and_then(|pi| h.sim.object(pi))
        .and_then(|pi| pi["latest_charge"].as_str().map(str::to_string));
    let ids: Vec<&str> = [
        Some(session.id.as_str()),
        intent.as_deref(),
        charge.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let about = h.sim.events_about(event_type, &ids);
    if !about.is_empty() {
        return about;
    }
    // Events about other objects of the payment (a refund's own id): look into each object.
    h.sim
        .events_of_type(event_type)
        .into_iter()
        .filter(|e| {
            let object = h.sim.event_object(&e.id).unwrap_or(Value::Null);
            intent
                .as_deref()
                .is_some_and(|pi| object["payment_intent"] == pi || object["id"] == pi)
        })
        .collect()
}

/// A `checkout.session.completed` no one paid for: what an attacker posts to the webhook URL.
fn fabricated_payment(h: &Harness, order: &OrderInfo) -> Value {
    let template = h
        .sim
        .sessions()
        .into_iter()
        .next()
        .and_then(|s| h.sim.object(&s.id))
        .unwrap_or_else(|| json!({}));
    let mut session = template;
    session["id"] = json!("cs_test_forged0000000000000000000000000000000000000000000000000000");
    session["client_reference_id"] = json!(order.id);
    session["amount_total"] = json!(order.amount);
    session["amount_subtotal"] = json!(order.amount);
    session["currency"] = json!(order.currency.to_lowercase());
    session["status"] = json!("complete");
    session["payment_status"] = json!("paid");
    session["payment_intent"] = json!("pi_forged000000000000000000");
    session["url"] = Value::Null;
    json!({
        "id": FABRICATED_EVENT,
        "object": "event",
        "api_version": h.sim.api_version(),
        "created": h.sim.now(),
        "data": { "object": session },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": "checkout.session.completed",
    })
}
