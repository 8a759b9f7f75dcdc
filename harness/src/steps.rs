//! Each kind of scenario step, played against the simulator (its `/v1` API, its control API
//! and its Rust handle) and the target.

use serde_json::{json, Value};
use stripe_sim::webhooks::faults::{DuplicateMode, FaultKind, FaultRule};
use stripe_sim::webhooks::log::{DeliveryMode, RecordStatus, ReleaseOrder};
use stripe_sim::{Buyer, CardInput, PaymentMethodInput};

use crate::harness::Harness;
use crate::judge::{OrderInfo, Violation};
use crate::runner::{settle, setup, states, unchanged, StepResult, World};
use crate::scenario::Step;

/// An unreachable URL (the discard port) for `endpoint_down`.
const UNREACHABLE: &str = "http://127.0.0.1:9/unreachable";

async fn api(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, String)],
) -> Result<(u16, Value), String> {
    let mut request = h
        .http
        .request(method, format!("{}{path}", h.sim.base_url()))
        .bearer_auth(h.sim.api_key());
    if !form.is_empty() {
        request = request.form(form);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("simulator call {path} failed: {e}"))?;
    let status = response.status().as_u16();
    let value = response.json().await.unwrap_or(Value::Null);
    Ok((status, value))
}

async fn api_ok(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, String)],
) -> Result<Value, String> {
    let (status, value) = api(h, method, path, form).await?;
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        Err(format!("simulator answered {status} to {path}: {value}"))
    }
}

/// A payment link for an amount and currency, created once per scenario.
async fn link_for(
    h: &Harness,
    world: &mut World,
    amount: i64,
    currency: &str,
) -> Result<String, String> {
    let key = (amount, currency.to_lowercase());
    if let Some(id) = world.links.get(&key) {
        return Ok(id.clone());
    }
    let post = reqwest::Method::POST;
    let product = api_ok(
        h,
        post.clone(),
        "/v1/products",
        &[("name", "Lifetime".into())],
    )
    .await?;
    let price = api_ok(
        h,
        post.clone(),
        "/v1/prices",
        &[
            ("product", product["id"].as_str().unwrap_or_default().into()),
            ("unit_amount", amount.to_string()),
            ("currency", key.1.clone()),
        ],
    )
    .await?;
    let redirect = format!(
        "{}/dashboard/billing?provider=stripe&session_id={{CHECKOUT_SESSION_ID}}",
        h.target.base_url
    );
    let link = api_ok(
        h,
        post,
        "/v1/payment_links",
        &[
            (
                "line_items[0][price]",
                price["id"].as_str().unwrap_or_default().into(),
            ),
            ("line_items[0][quantity]", "1".into()),
            ("after_completion[type]", "redirect".into()),
            ("after_completion[redirect][url]", redirect),
        ],
    )
    .await?;
    let id = link["id"].as_str().unwrap_or_default().to_string();
    world.links.insert(key, id.clone());
    Ok(id)
}

/// The `client_reference_id` and price of a new session.
fn session_terms(
    world: &World,
    step: &crate::scenario::OpenSession,
) -> Result<(Option<String>, i64, String), String> {
    let order = step.order.as_deref().map(|a| world.order(a)).transpose()?;
    let reference = match (&step.client_reference_id, order) {
        (Some(literal), _) => Some(literal.clone()),
        (None, Some(o)) => Some(o.id.clone()),
        (None, None) => None,
    };
    let amount = step.amount.or(order.map(|o| o.amount)).unwrap_or(19900);
    let currency = step
        .currency
        .clone()
        .or(order.map(|o| o.currency.clone()))
        .unwrap_or_else(|| "USD".into());
    Ok((reference, amount, currency))
}

/// Events of a type, about a session's objects when one is given (its own id, its PaymentIntent,
/// its charge), oldest first: only those are rendered, however long the simulator has run.
fn events_for(h: &Harness, event_type: &str, session: Option<&Value>) -> Vec<Value> {
    let Some(session) = session else {
        return h.sim.events_of_type(event_type);
    };
    let intent = session["payment_intent"].as_str().unwrap_or_default();
    let charge = h
        .sim
        .object(intent)
        .and_then(|pi| pi["latest_charge"].as_str().map(str::to_string))
        .unwrap_or_default();
    let ids: Vec<&str> = [
        session["id"].as_str().unwrap_or_default(),
        intent,
        charge.as_str(),
    ]
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect();
    let about = h.sim.events_about(event_type, &ids);
    if about.is_empty() {
        // Events about other objects of the payment (a refund's own id): filter them all.
        return h
            .sim
            .events_of_type(event_type)
            .into_iter()
            .filter(|e| event_matches_session(e, Some(session)))
            .collect();
    }
    about
}

fn event_matches_session(event: &Value, session: Option<&Value>) -> bool {
    let Some(session) = session else { return true };
    let object = &event["data"]["object"];
    object["id"] == session["id"]
        || (!session["payment_intent"].is_null()
            && (object["payment_intent"] == session["payment_intent"]
                || object["id"] == session["payment_intent"]))
}

pub(crate) async fn run_step(h: &Harness, world: &mut World, step: &Step) -> StepResult {
    let post = reqwest::Method::POST;
    match step {
        Step::CreateOrder(o) => {
            if world.orders.iter().any(|x| x.alias == o.alias) {
                return Err(setup(format!("order '{}' already exists", o.alias)));
            }
            let id = h
                .target
                .create_order(o.amount, &o.currency, &o.provider)
                .await
                .map_err(|e| setup(e.to_string()))?;
            world.orders.push(OrderInfo {
                alias: o.alias.clone(),
                id,
                amount: o.amount,
                currency: o.currency.clone(),
                provider: o.provider.clone(),
            });
        }
        Step::OpenLink(s) => {
            let (reference, amount, currency) = session_terms(world, s).map_err(setup)?;
            let link = link_for(h, world, amount, &currency).await.map_err(setup)?;
            let url = h
                .sim
                .object(&link)
                .and_then(|l| l["url"].as_str().map(str::to_string))
                .unwrap_or_default();
            let url = match &reference {
                Some(r) => format!(
                    "{url}?client_reference_id={}",
                    crate::uri::encode_component(r)
                ),
                None => url,
            };
            let response = h
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| setup(format!("opening {url}: {e}")))?;
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let session = location
                .rsplit('/')
                .next()
                .filter(|s| s.starts_with("cs_"))
                .ok_or_else(|| {
                    setup(format!(
                        "opening the link answered {} without a checkout redirect",
                        response.status()
                    ))
                })?;
            world.sessions.insert(s.alias.clone(), session.to_string());
        }
        Step::CreateSession(s) => {
            let (reference, amount, currency) = session_terms(world, s).map_err(setup)?;
            let mut form = vec![
                ("mode", "payment".to_string()),
                (
                    "success_url",
                    format!(
                        "{}/dashboard/billing?provider=stripe&session_id={{CHECKOUT_SESSION_ID}}",
                        h.target.base_url
                    ),
                ),
                ("line_items[0][quantity]", "1".into()),
                (
                    "line_items[0][price_data][currency]",
                    currency.to_lowercase(),
                ),
                ("line_items[0][price_data][unit_amount]", amount.to_string()),
                (
                    "line_items[0][price_data][product_data][name]",
                    "Lifetime".into(),
                ),
            ];
            if let Some(r) = reference {
                form.push(("client_reference_id", r));
            }
            let session = api_ok(h, post, "/v1/checkout/sessions", &form)
                .await
                .map_err(setup)?;
            world.sessions.insert(
                s.alias.clone(),
                session["id"].as_str().unwrap_or_default().to_string(),
            );
        }
        Step::Pay(p) => {
            let session = world.session(&p.session).map_err(setup)?.clone();
            let method = match (&p.card, &p.sepa_debit, &p.us_bank_account) {
                (Some(card), None, None) => PaymentMethodInput::Card(CardInput::number(card)),
                (None, Some(iban), None) => PaymentMethodInput::sepa_debit(iban),
                (None, None, Some(account)) => PaymentMethodInput::us_bank_account(account),
                _ => {
                    return Err(setup(
                        "pay needs exactly one of card, sepa_debit or us_bank_account",
                    ))
                }
            };
            let outcome = h.sim.pay(&session, &method, &Buyer::default());
            let actual = match &outcome {
                Ok(s) if s["payment_status"] == "paid" => "succeeded",
                Ok(_) => "processing",
                Err(e) if e.status == 402 => "declined",
                Err(e) => {
                    return Err(setup(format!(
                        "paying {} was refused: {}",
                        p.session, e.message
                    )))
                }
            };
            if let Some(expect) = &p.expect {
                if expect != actual {
                    return Err(setup(format!(
                        "the payment was expected to be {expect} but was {actual}"
                    )));
                }
            }
        }
        Step::Advance { seconds } => {
            h.sim.advance(*seconds);
        }
        Step::Refund(r) => {
            let session = world.session(&r.session).map_err(setup)?.clone();
            let intent = h
                .sim
                .object(&session)
                .and_then(|s| s["payment_intent"].as_str().map(str::to_string))
                .unwrap_or_default();
            let mut form = vec![("payment_intent", intent)];
            if let Some(amount) = r.amount {
                form.push(("amount", amount.to_string()));
            }
            let (status, answer) = api(h, post, "/v1/refunds", &form).await.map_err(setup)?;
            match (&r.expect_error, (200..300).contains(&status)) {
                (None, true) => {}
                (None, false) => return Err(setup(format!("the refund was refused: {answer}"))),
                (Some(code), false) if answer["error"]["code"] == code.as_str() => {}
                (Some(code), _) => {
                    return Err(setup(format!(
                        "the refund should fail with {code}; the API answered {status}: {answer}"
                    )))
                }
            }
        }
        Step::Expire { session } => {
            let id = world.session(session).map_err(setup)?.clone();
            api_ok(h, post, &format!("/v1/checkout/sessions/{id}/expire"), &[])
                .await
                .map_err(setup)?;
        }
        Step::Hold {} => h.sim.set_delivery_mode(DeliveryMode::Hold),
        Step::Release(r) => {
            let duplicate = match r.duplicate.as_deref() {
                None => None,
                Some("sequential") => Some(DuplicateMode::Sequential),
                Some("concurrent") => Some(DuplicateMode::Concurrent),
                Some(other) => {
                    return Err(setup(format!(
                        "duplicate must be concurrent or sequential, not {other}"
                    )))
                }
            };
            if let Some(types) = &r.events {
                let held: Vec<(String, String)> = h
                    .sim
                    .deliveries_since(world.deliveries_mark)
                    .into_iter()
                    .filter(|d| d.status == RecordStatus::Held)
                    .map(|d| (d.event_type, d.event_id))
                    .collect();
                let mut ids = Vec::new();
                for t in types {
                    let found: Vec<String> = held
                        .iter()
                        .filter(|(et, id)| et == t && !ids.contains(id))
                        .map(|(_, id)| id.clone())
                        .collect();
                    if found.is_empty() {
                        return Err(setup(format!("no held delivery of a {t} event to release")));
                    }
                    ids.extend(found);
                }
                h.sim
                    .release(ReleaseOrder::Events(ids), duplicate)
                    .await
                    .map_err(|e| setup(e.message))?;
            }
            let order = match r.order.as_deref() {
                None | Some("as_is") => ReleaseOrder::AsIs,
                Some("reverse") => ReleaseOrder::Reverse,
                Some("shuffle") => ReleaseOrder::Shuffle(r.seed.unwrap_or(0)),
                Some(other) => {
                    return Err(setup(format!(
                        "release order must be as_is, reverse or shuffle, not {other}"
                    )))
                }
            };
            if !r.keep_holding {
                h.sim
                    .release(order, duplicate)
                    .await
                    .map_err(|e| setup(e.message))?;
                h.sim.set_delivery_mode(DeliveryMode::Auto);
            } else if r.events.is_none() {
                h.sim
                    .release(order, duplicate)
                    .await
                    .map_err(|e| setup(e.message))?;
            }
        }
        Step::Fault(f) => {
            let duplicate_mode = match f.mode.as_deref() {
                Some("sequential") => DuplicateMode::Sequential,
                _ => DuplicateMode::Concurrent,
            };
            if f.kind == FaultKind::Delay && f.delay_seconds.is_none() {
                return Err(setup("a delay fault needs delay_seconds"));
            }
            h.sim.add_fault(FaultRule {
                count: f.count,
                event_type: f.event.clone(),
                delay_seconds: f.delay_seconds,
                duplicate_mode,
                ..FaultRule::new(f.kind)
            });
        }
        Step::Forge(f) => {
            if !f.kind.is_forgery() {
                return Err(setup(
                    "forge kind must be tamper, stale, wrong_secret, unsigned or bad_header",
                ));
            }
            let before = states(h, world).await?;
            // Straight to the target's webhook URL, signed (or not) as the target's own secret would: the
            // endpoint may be down or rolled, the forgery must still reach the target.
            let mut body = json!({
                "url": h.target.webhook_url(),
                "secret": h.target.webhook_secret,
                "forgery": f.kind,
            });
            if let Some(alias) = &f.paid_for {
                let order = world.order(alias).map_err(setup)?;
                body["event"] = fabricated_payment(h, order);
            } else {
                let event_type = f
                    .event
                    .clone()
                    .unwrap_or_else(|| "checkout.session.completed".to_string());
                let session = f
                    .session
                    .as_deref()
                    .map(|a| world.session(a).cloned())
                    .transpose()
                    .map_err(setup)?;
                let session_object = session.as_deref().and_then(|id| h.sim.object(id));
                let event = events_for(h, &event_type, session_object.as_ref())
                    .into_iter()
                    .next_back()
                    .ok_or_else(|| setup(format!("no {event_type} event to forge yet")))?;
                body["event_id"] = event["id"].clone();
            }
            let response = h
                .http
                .post(format!("{}/_sim/webhooks/deliver", h.sim.base_url()))
                .bearer_auth(h.sim.api_key())
                .json(&body)
                .send()
                .await
                .map_err(|e| setup(e.to_string()))?;
            let answer: Value = response.json().await.map_err(|e| setup(e.to_string()))?;
            let status = answer["attempt"]["status_code"].as_u64();
            if !status.is_some_and(|s| (400..500).contains(&s)) {
                return Err(Ok(Violation::new(
                    format!(
                        "a forged delivery ({}) is refused with 4xx",
                        f.kind.as_str()
                    ),
                    "4xx",
                    format!(
                        "{} {}",
                        status
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "no answer".into()),
                        answer["attempt"]["response"].as_str().unwrap_or_default()
                    ),
                )));
            }
            unchanged(
                h,
                world,
                &before,
                &format!("a forged delivery ({}) changes nothing", f.kind.as_str()),
            )
            .await?;
        }
        Step::RollSecret { overlap_seconds } => {
            h.sim
                .roll_webhook_secret(&world.endpoint_id, overlap_seconds.unwrap_or(24 * 3600))
                .map_err(|e| setup(e.message))?;
        }
        Step::EndpointDown {} => {
            api_ok(
                h,
                post,
                &format!("/v1/webhook_endpoints/{}", world.endpoint_id),
                &[("url", UNREACHABLE.into())],
            )
            .await
            .map_err(setup)?;
            world.endpoint_down = true;
        }
        Step::EndpointUp {} => {
            api_ok(
                h,
                post,
                &format!("/v1/webhook_endpoints/{}", world.endpoint_id),
                &[("url", h.target.webhook_url())],
            )
            .await
            .map_err(setup)?;
            world.endpoint_down = false;
        }
        Step::Capture(c) => {
            let session = world.session(&c.session).map_err(setup)?.clone();
            let before = states(h, world).await?;
            let answer = h
                .target
                .capture(&session)
                .await
                .map_err(|e| setup(e.to_string()))?;
            if answer.status >= 500 {
                return Err(Ok(Violation::new(
                    "the return route answers without a server error",
                    "a 2xx or 4xx answer",
                    answer.describe(),
                )));
            }
            if !h.policy.return_route_may_change {
                unchanged(
                    h,
                    world,
                    &before,
                    "the return route is UX only: it never changes the order",
                )
                .await?;
            }
        }
        Step::Resend {
            event,
            session,
            new_event,
        } => {
            let session = session
                .as_deref()
                .map(|a| world.session(a).cloned())
                .transpose()
                .map_err(setup)?;
            let session_object = session.as_deref().and_then(|id| h.sim.object(id));
            let found = events_for(h, event, session_object.as_ref())
                .into_iter()
                .next_back()
                .ok_or_else(|| setup(format!("no {event} event to resend yet")))?;
            let id = found["id"].as_str().unwrap_or_default().to_string();
            if *new_event {
                h.sim.duplicate_event(&id).map_err(|e| setup(e.message))?;
            } else {
                h.sim
                    .resend(&id, Some(&world.endpoint_id))
                    .await
                    .map_err(|e| setup(e.message))?;
            }
        }
        Step::Trigger { event } => {
            let client = stripe_sim::trigger::SimClient::new(h.sim.base_url(), h.sim.api_key());
            stripe_sim::trigger::trigger(&client, event)
                .await
                .map_err(|e| setup(e.to_string()))?;
        }
        Step::Expect(e) => {
            let order = world.order(&e.order).map_err(setup)?.clone();
            settle(h).await?;
            let observed = h
                .target
                .get_order(&order.id)
                .await
                .map_err(|x| setup(x.to_string()))?;
            let mut allowed: Vec<String> = e.status_in.clone().unwrap_or_default();
            allowed.extend(e.status.clone());
            if !allowed.iter().any(|s| s == observed.state.as_str()) {
                return Err(Ok(Violation::new(
                    "the scenario's expectation",
                    format!("order {} {}", e.order, allowed.join(" or ")),
                    format!("order {}: {}", e.order, observed.state),
                )));
            }
        }
        Step::Snapshot { label } => {
            settle(h).await?;
            let now = states(h, world).await?;
            world.labelled.push((
                label.clone(),
                now.into_iter().map(|(a, o)| (a, o.state)).collect(),
            ));
        }
    }
    Ok(())
}

/// A `checkout.session.completed` no one paid for: what an attacker posts to the webhook URL.
fn fabricated_payment(h: &Harness, order: &OrderInfo) -> Value {
    let template = h
        .sim
        .checkout_sessions()
        .into_iter()
        .next()
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
        "id": "evt_forged000000000000000000",
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
