//! Webhooks from stripe-sim, verified by async-stripe's own `Webhook::construct_event` (its fixed
//! 300 s tolerance) in a small local receiver registered as a webhook endpoint: every event type
//! of the payment flows must verify and decode into the SDK's typed event, after a rolled secret
//! and after a retry too; forged deliveries must be refused by the SDK itself.
//!
//! The tests share one receiver and one endpoint (`*`); run them one at a time
//! (`--test-threads=1`, as run.sh does). Each finds its own deliveries by position or by object.

use std::str::FromStr;

use serde_json::{json, Value};
use stripe_checkout::checkout_session::ExpireCheckoutSession;
use stripe_core::event::ListEvent;
use stripe_core::refund::CreateRefund;
use stripe_misc::webhook_endpoint::{CreateWebhookEndpoint, CreateWebhookEndpointEnabledEvents};
use stripe_sim_sdk_rust::*;
use stripe_webhook::{EventObject, Webhook};

const FLOW_TYPES: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.pending",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
];

struct Hook {
    receiver: Receiver,
    endpoint: String,
}

static HOOK: tokio::sync::OnceCell<Hook> = tokio::sync::OnceCell::const_new();

/// The shared receiver and endpoint, created by the first test that asks.
async fn hook(t: &Suite) -> &'static Hook {
    HOOK.get_or_init(|| make_hook(t)).await
}

/// The endpoint pins the SDK's own API version, as an async-stripe app's should: its deliveries
/// are rendered at it, whatever the account's default.
async fn make_hook(t: &Suite) -> Hook {
    let receiver = Receiver::start();
    let created = t
        .call(
            &CreateWebhookEndpoint::new(
                vec![CreateWebhookEndpointEnabledEvents::from_str("*").unwrap()],
                receiver.url.clone(),
            )
            .api_version(stripe_shared::version::VERSION),
        )
        .await
        .expect("create the endpoint");
    receiver.set_secret(&created.s("/secret"));
    Hook { receiver, endpoint: created.id() }
}

async fn attempts_for(t: &Suite, endpoint: &str) -> Vec<Value> {
    let log = t.sim_ok("GET", &format!("/_sim/deliveries?endpoint={endpoint}&limit=100"), json!({})).await;
    let mut out = Vec::new();
    for record in log["data"].as_array().cloned().unwrap_or_default() {
        for attempt in record["attempts"].as_array().cloned().unwrap_or_default() {
            let mut a = attempt.clone();
            a["event"] = record["event_id"].clone();
            a["type"] = record["event_type"].clone();
            out.push(a);
        }
    }
    out
}

/// The id of the typed object inside a verified event (checks the SDK's typed variant matches
/// the event type).
fn typed_object_id(event: &stripe_webhook::Event) -> Option<String> {
    Some(match &event.data.object {
        EventObject::CheckoutSessionCompleted(s)
        | EventObject::CheckoutSessionAsyncPaymentSucceeded(s)
        | EventObject::CheckoutSessionAsyncPaymentFailed(s)
        | EventObject::CheckoutSessionExpired(s) => s.id.as_str().to_string(),
        EventObject::PaymentIntentCreated(p)
        | EventObject::PaymentIntentProcessing(p)
        | EventObject::PaymentIntentSucceeded(p)
        | EventObject::PaymentIntentPaymentFailed(p) => p.id.as_str().to_string(),
        EventObject::ChargePending(c)
        | EventObject::ChargeSucceeded(c)
        | EventObject::ChargeFailed(c)
        | EventObject::ChargeRefunded(c) => c.id.as_str().to_string(),
        EventObject::ChargeRefundUpdated(r)
        | EventObject::RefundCreated(r)
        | EventObject::RefundUpdated(r)
        | EventObject::RefundFailed(r) => r.id.as_str().to_string(),
        _ => return None,
    })
}

/// Ends a webhook test: the receiver's decode results join the test's ledger.
fn finish(t: &Suite, h: &Hook) {
    h.receiver.drain_records(t);
    let all = h.receiver.deliveries();
    println!(
        "receiver so far: {} deliveries, {} verified by Webhook::construct_event, {} decoded into stripe_webhook::Event",
        all.len(),
        all.iter().filter(|d| d.verified()).count(),
        all.iter().filter(|d| d.event.is_ok()).count()
    );
    t.finish();
}

macro_rules! webhook_test {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let t = Suite::start(stringify!($name)).await;
            let h = hook(&t).await;
            h.receiver.begin(&t);
            flows::$name(&t, h).await;
            t.flush().await;
            finish(&t, h);
        }
    };
}

webhook_test!(every_flow_event_type_verifies);
webhook_test!(rolled_secret);
webhook_test!(failed_delivery_is_retried_and_verifies);
webhook_test!(forged_requests_are_refused_by_the_sdk);
webhook_test!(fault_injection_then_genuine_resend);
webhook_test!(drop_and_duplicate);

mod flows {
use super::*;

pub async fn every_flow_event_type_verifies(t: &Suite, h: &Hook) {
    let mark = h.receiver.count();
    let card_session = t.new_session(1200, "usd", None).await;
    for declined in ["4000000000000002", "4000000000009995"] {
        t.pay(&card_session.session.id(), card(declined)).await.expect_err("declined");
    }
    t.pay(&card_session.session.id(), card(CARD_OK)).await.expect("pay");
    let sepa_ok = t.new_session(3000, "eur", None).await;
    t.pay(&sepa_ok.session.id(), sepa("DE89370400440532013000")).await.expect("sepa");
    let sepa_fails = t.new_session(3100, "eur", None).await;
    t.pay(&sepa_fails.session.id(), sepa("DE62370400440532013001")).await.expect("sepa");
    let ach_ok = t.new_session(3200, "usd", None).await;
    t.pay(&ach_ok.session.id(), ach("000123456789")).await.expect("ach");
    let expiring = t.new_session(2500, "usd", None).await;
    t.call(&ExpireCheckoutSession::new(expiring.session.id())).await.expect("expire");
    let (_, intent) = t.paid_session(card(CARD_OK), 8000, "usd").await;
    t.call(&CreateRefund::new().payment_intent(intent.id()).amount(3000)).await.expect("refund");
    t.call(&CreateRefund::new().payment_intent(intent.id())).await.expect("refund");
    let (_, failing) = t.paid_session(card("4000000000005126"), 900, "usd").await;
    t.call(&CreateRefund::new().payment_intent(failing.id())).await.expect("refund");
    let (_, pending) = t.paid_session(card("4000000000007726"), 700, "usd").await;
    t.call(&CreateRefund::new().payment_intent(pending.id())).await.expect("refund");
    t.flush().await;
    t.advance(200).await;
    t.flush().await;

    let got = h.receiver.since(mark);
    let rejected: Vec<String> =
        got.iter().filter(|d| !d.verified()).map(|d| format!("{}: {:?}", d.event_type, d.event.as_ref().err())).collect();
    assert_eq!(rejected, Vec::<String>::new(), "genuine deliveries refused by Webhook::construct_event");
    let types: std::collections::BTreeSet<&str> = got.iter().map(|d| d.event_type.as_str()).collect();
    let missing: Vec<&str> = FLOW_TYPES.iter().copied().filter(|ty| !types.contains(ty)).collect();
    assert_eq!(missing, Vec::<&str>::new(), "event types that never arrived");
    for d in got.iter().filter(|d| d.event.is_ok()) {
        let event = d.event.as_ref().unwrap();
        assert!(event.id.as_str().starts_with("evt_"));
        assert!(!event.livemode);
        assert_eq!(
            d.raw_json()["api_version"],
            stripe_shared::version::VERSION.as_str(),
            "{}: rendered at the endpoint's api_version",
            d.event_type
        );
        assert_eq!(event.type_.as_str(), d.event_type);
        assert!(!matches!(event.data.object, EventObject::Unknown(_)), "{}: no typed object", d.event_type);
        if FLOW_TYPES.contains(&d.event_type.as_str()) {
            let id = typed_object_id(event);
            assert!(id.is_some(), "{}: the SDK gave another typed object: {:?}", d.event_type, event.data.object);
            assert_eq!(id.unwrap(), d.object_id);
        }
    }
    let mine: std::collections::HashSet<String> = got.iter().map(Delivery::event_id).collect();
    let attempts = attempts_for(t, &h.endpoint).await;
    let not_200: Vec<&Value> = attempts
        .iter()
        .filter(|a| mine.contains(a["event"].as_str().unwrap_or("")) && a["status_code"] != 200)
        .collect();
    assert!(not_200.is_empty(), "{not_200:?}");

    // Typed contents, where the SDK decoded them.
    for d in &got {
        if let Ok(event) = &d.event {
            match &event.data.object {
                EventObject::CheckoutSessionCompleted(s) if s.id.as_str() == card_session.session.id() => {
                    assert_eq!(s.payment_status, stripe_shared::CheckoutSessionPaymentStatus::Paid);
                    assert_eq!(s.amount_total, Some(1200));
                    assert_eq!(s.client_reference_id.as_deref(), Some(card_session.session.s("/client_reference_id").as_str()));
                }
                EventObject::CheckoutSessionAsyncPaymentFailed(s) => {
                    assert_eq!(s.id.as_str(), sepa_fails.session.id());
                }
                _ => {}
            }
        }
    }
    let mut refunded: Vec<bool> = got
        .iter()
        .filter(|d| d.event_type == "charge.refunded")
        .map(|d| d.raw_json())
        .filter(|e| e["data"]["object"]["payment_intent"] == intent.id())
        .map(|e| e["data"]["object"]["refunded"].as_bool().unwrap())
        .collect();
    refunded.sort();
    assert_eq!(refunded, vec![false, true]);
}

pub async fn rolled_secret(t: &Suite, h: &Hook) {
    let old = h.receiver.secret();
    let rolled = t
        .sim_ok("POST", &format!("/_sim/webhook_endpoints/{}/roll_secret", h.endpoint), json!({"expires_in": 3600}))
        .await;
    let new = str_at(&rolled, "/secret");
    assert!(new.starts_with("whsec_") && new != old);
    h.receiver.set_secret(&new);
    let mark = h.receiver.count();
    let (session, _) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    t.flush().await;
    let during = h.receiver.since(mark);
    assert!(!during.is_empty());
    for d in &during {
        assert!(d.verified(), "{:?}", d.event);
        let header = d.header.clone().unwrap_or_default();
        assert_eq!(header.split(',').filter(|p| p.starts_with("v1=")).count(), 2, "{header}");
        // The old secret still signs: the SDK accepts it too (rc.10 checks every v1).
        let with_old = Webhook::construct_event(&d.raw, &header, &old);
        assert!(
            !matches!(with_old, Err(stripe_webhook::WebhookError::BadSignature)),
            "the old secret's signature: {with_old:?}"
        );
    }
    t.advance(3601).await;
    t.flush().await;
    let mark = h.receiver.count();
    t.call(&CreateRefund::new().payment_intent(session.s("/payment_intent"))).await.expect("refund");
    t.flush().await;
    let after = h.receiver.since(mark);
    assert!(after.iter().any(|d| d.verified() && d.event_type == "charge.refunded"));
    for d in &after {
        assert!(d.verified(), "{:?}", d.event);
        let with_old = Webhook::construct_event(&d.raw, d.header.as_deref().unwrap_or(""), &old);
        assert!(matches!(with_old, Err(stripe_webhook::WebhookError::BadSignature)), "{with_old:?}");
    }
}

pub async fn failed_delivery_is_retried_and_verifies(t: &Suite, h: &Hook) {
    h.receiver.fail_next("checkout.session.completed", 1);
    let mark = h.receiver.count();
    let (session, _) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    t.flush().await;
    let mine = |all: Vec<Delivery>| -> Vec<Delivery> {
        all.into_iter()
            .filter(|d| d.verified() && d.event_type == "checkout.session.completed" && d.object_id == session.id())
            .collect()
    };
    assert_eq!(mine(h.receiver.since(mark)).iter().map(|d| d.status).collect::<Vec<_>>(), vec![500]);
    t.advance(300).await;
    t.flush().await;
    let both = mine(h.receiver.since(mark));
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].status, 200);
    assert_eq!(both[0].event_id(), both[1].event_id());
    let header = both[1].header.clone().unwrap_or_default();
    let ts: i64 = header.split(',').next().unwrap().trim_start_matches("t=").parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((ts - now).abs() < 60, "each attempt is signed when it is sent");
    let attempts: Vec<i64> = attempts_for(t, &h.endpoint)
        .await
        .into_iter()
        .filter(|a| a["event"] == both[0].event_id().as_str())
        .map(|a| a["status_code"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(attempts, vec![500, 200]);
}

/// What async-stripe's verifier answers to each forgery.
const FORGERIES: &[(&str, &[&str])] = &[
    ("stale", &["BadTimestamp"]),
    ("tamper", &["BadSignature"]),
    ("wrong_secret", &["BadSignature"]),
    ("unsigned", &["BadSignature"]),
    ("bad_header", &["BadSignature", "BadHeader"]),
];

async fn completed_event_of(t: &Suite, session: &str) -> String {
    let events = t
        .call(&ListEvent::new().type_("checkout.session.completed").limit(100))
        .await
        .expect("list events");
    events.raw["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["object"]["id"] == session)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .expect("the session's completed event")
}

pub async fn forged_requests_are_refused_by_the_sdk(t: &Suite, h: &Hook) {
    let (session, _) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    t.flush().await;
    let event = completed_event_of(t, &session.id()).await;
    for (forgery, refusals) in FORGERIES {
        let mark = h.receiver.count();
        let answer = t
            .sim_ok(
                "POST",
                "/_sim/webhooks/deliver",
                json!({"endpoint": h.endpoint, "event_id": event, "forgery": forgery}),
            )
            .await;
        assert_eq!(answer["attempt"]["status_code"], 400, "{forgery}: {answer}");
        let got = h.receiver.since(mark);
        assert_eq!(got.len(), 1, "{forgery}");
        let refusal = got[0].refusal.clone().unwrap_or_default();
        assert!(refusals.contains(&refusal.as_str()), "{forgery}: refused with {refusal}, expected {refusals:?}");
    }
    let genuine = t
        .sim_ok("POST", "/_sim/webhooks/deliver", json!({"endpoint": h.endpoint, "event_id": event}))
        .await;
    assert_eq!(genuine["attempt"]["status_code"], 200, "{genuine}");
}

pub async fn fault_injection_then_genuine_resend(t: &Suite, h: &Hook) {
    let faults: Vec<Value> = FORGERIES
        .iter()
        .map(|(f, _)| json!({"fault": f, "count": 1, "event_type": "checkout.session.completed"}))
        .collect();
    t.sim_ok("POST", "/_sim/webhooks/faults", json!({ "faults": faults })).await;
    let mark = h.receiver.count();
    let (session, _) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    t.flush().await;
    for _ in 0..6 {
        t.advance(2 * 3600).await;
        t.flush().await;
    }
    let refused: Vec<Delivery> = h.receiver.since(mark).into_iter().filter(|d| !d.verified()).collect();
    assert_eq!(refused.len(), 4, "the first attempt and its three retries were forged");
    t.sim_ok("DELETE", "/_sim/webhooks/faults", json!({})).await;
    let event = completed_event_of(t, &session.id()).await;
    let resent = t
        .sim_ok("POST", &format!("/_sim/events/{event}/resend"), json!({"endpoint": h.endpoint}))
        .await;
    assert_eq!(resent["attempts"][0]["status_code"], 200, "{resent}");
    let last = h.receiver.deliveries().pop().unwrap();
    assert!(last.verified());
    assert_eq!(last.event_id(), event);
}

pub async fn drop_and_duplicate(t: &Suite, h: &Hook) {
    t.sim_ok("POST", "/_sim/webhooks/faults", json!({"fault": "duplicate", "count": 1, "event_type": "charge.succeeded"}))
        .await;
    t.sim_ok("POST", "/_sim/webhooks/faults", json!({"fault": "drop", "count": 1, "event_type": "payment_intent.succeeded"}))
        .await;
    let mark = h.receiver.count();
    let (_, intent) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    t.flush().await;
    t.advance(300).await;
    t.flush().await;
    let got = h.receiver.since(mark);
    assert!(got.iter().all(Delivery::verified));
    let charges: Vec<&Delivery> = got
        .iter()
        .filter(|d| d.event_type == "charge.succeeded" && d.raw_json()["data"]["object"]["payment_intent"] == intent.id())
        .collect();
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[0].event_id(), charges[1].event_id());
    let intents = got.iter().filter(|d| d.event_type == "payment_intent.succeeded" && d.object_id == intent.id()).count();
    assert_eq!(intents, 1);
}
}
