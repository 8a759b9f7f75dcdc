//! The Stripe webhook receiver: verify, parse, apply the rules once.
//!
//! Stripe retries anything that is not a 2xx, delivers at least once and in any order. So:
//! a forged or unparseable request is a 400 that changes nothing; a genuine event whose effect
//! is already in place (or does not apply) is acknowledged with 200; a refund that arrives
//! before the payment it refunds is answered 503 so Stripe delivers it again later (or, in the
//! `refund_at_once` [variant](crate::variant), looked up at Stripe and applied at once). Each event
//! is applied inside one `BEGIN IMMEDIATE` transaction that also records it in
//! `processed_events`, and every transition is guarded by the order's current state, so neither
//! duplicates nor concurrent deliveries can apply twice.

use serde::Serialize;
use serde_json::Value;

use crate::app::AppState;
use crate::defect::{Defect, DefectExt};
use crate::error::{ApiError, RETRY_REFUND};

/// The body of a 503 for a second payment's event that raced another one of the same order.
const RETRY_RECORDED: &str = "the order's payment changed meanwhile; retry";
use crate::order::Order;
use crate::rules::{self, Decision, Ignored, UnknownRefund};
use crate::signature::{self, DEFAULT_TOLERANCE_SECS};
use crate::store::{OrderTx, StoreError};
use crate::stripe_objects::{Charge, CheckoutSession, Event, EventType};
use crate::variant::{EarlyRefund, SecondPayment};

/// The 200 answer to a genuine event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ack {
    /// Always true: Stripe only needs the 2xx.
    pub received: bool,
    /// The event was valid but changed nothing (unknown order, mismatch, already applied…).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    /// This event id was processed before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

impl Ack {
    const APPLIED: Ack = Ack {
        received: true,
        ignored: false,
        duplicate: false,
    };
    const IGNORED: Ack = Ack {
        received: true,
        ignored: true,
        duplicate: false,
    };
    const DUPLICATE: Ack = Ack {
        received: true,
        ignored: false,
        duplicate: true,
    };
}

/// Handles one delivery: `signature` is the `Stripe-Signature` header, `body` the raw bytes.
pub async fn receive(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Ack, ApiError> {
    verify(state, signature, body)?;
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid event JSON: {e}")))?;
    match EventType::parse(&event.event_type) {
        EventType::CheckoutSessionCompleted | EventType::CheckoutSessionAsyncPaymentSucceeded => {
            let session = parse_object(&event)?;
            let second = state.config().design.second_payment;
            let recorded = match second {
                SecondPayment::KeepFirst => None,
                SecondPayment::RecordLatest => recorded_session(state, &session).await?,
            };
            checkout(state, &event, &session, |order, session, defect| {
                // VARIANT(latest_session): decided against the session looked up above; if the
                // order recorded another one meanwhile, Stripe delivers this again.
                let paid_by_other = order.status == crate::order::OrderStatus::Paid
                    && order.provider_order_id.as_deref() != Some(session.id.as_str());
                if second == SecondPayment::RecordLatest
                    && paid_by_other
                    && order.provider_order_id.as_deref()
                        != recorded.as_ref().map(|r| r.id.as_str())
                {
                    return Err(ApiError::RetryLater(RETRY_RECORDED));
                }
                Ok(rules::session_succeeded_in(
                    order,
                    session,
                    defect,
                    second,
                    recorded.as_ref(),
                ))
            })
        }
        EventType::CheckoutSessionAsyncPaymentFailed => {
            let session = parse_object(&event)?;
            checkout(state, &event, &session, |order, session, defect| {
                Ok(rules::session_async_failed(order, session, defect))
            })
        }
        EventType::ChargeRefunded => {
            let charge = parse_object(&event)?;
            refund(state, &event, &charge).await
        }
        EventType::Other(name) => record_ignored(state, &event, Ignored::UnhandledEventType(name)),
    }
}

fn verify(state: &AppState, header: Option<&str>, body: &[u8]) -> Result<(), ApiError> {
    let defect = state.defect();
    // DEFECT(nosig): the handler parses the body straight away ("signatures are a hassle in
    // development") so anyone who can POST to the URL can mark orders paid.
    if defect.is(Defect::NoSig) {
        return Ok(());
    }
    // DEFECT(stale_ok): a hand-rolled verifier that checks the HMAC but never the timestamp, so
    // a captured delivery can be replayed days later.
    let tolerance = (!defect.is(Defect::StaleOk)).then_some(DEFAULT_TOLERANCE_SECS);
    signature::verify(
        body,
        header,
        &state.config().stripe_webhook_secret,
        state.clock().now_secs(),
        tolerance,
    )
    .map(drop)
    .map_err(ApiError::InvalidSignature)
}

fn parse_object<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, ApiError> {
    T::deserialize(&event.data.object).map_err(|e| {
        ApiError::BadRequest(format!(
            "event {} has a malformed {} object: {e}",
            event.id, event.event_type
        ))
    })
}

/// The three checkout.session events: find the order by `client_reference_id`, then `rule`.
fn checkout(
    state: &AppState,
    event: &Event,
    session: &CheckoutSession,
    rule: impl Fn(&Order, &CheckoutSession, Option<Defect>) -> Result<Decision, ApiError>,
) -> Result<Ack, ApiError> {
    let now = state.now_rfc3339();
    let ack = state.store().write(|tx| -> Result<Ack, ApiError> {
        if tx.is_processed(&event.id)? {
            return Ok(Ack::DUPLICATE);
        }
        let decision = match &session.client_reference_id {
            None => Decision::Ignore(Ignored::NoClientReference),
            Some(id) => match tx.order(id)? {
                None => Decision::Ignore(Ignored::UnknownOrder(id.clone())),
                Some(order) => rule(&order, session, state.defect())?,
            },
        };
        let order_id = session.client_reference_id.as_deref().unwrap_or_default();
        Ok(finish(tx, event, order_id, decision, &now)?)
    })?;
    Ok(ack)
}

/// VARIANT(latest_session): the session a paid order recorded, read from Stripe (outside any
/// lock), when it is not `session`: which of the two is the later decides what the order names.
async fn recorded_session(
    state: &AppState,
    session: &CheckoutSession,
) -> Result<Option<CheckoutSession>, ApiError> {
    let Some(order_id) = session.client_reference_id.as_deref() else {
        return Ok(None);
    };
    let recorded = match state.order(order_id)? {
        Some(order) if order.provider_order_id.as_deref() != Some(session.id.as_str()) => {
            order.provider_order_id
        }
        _ => None,
    };
    let Some(recorded) = recorded else {
        return Ok(None);
    };
    state
        .stripe()
        .retrieve_session(&recorded)
        .await
        .map(Some)
        .map_err(|err| {
            crate::log::line(format_args!("lookup of session {recorded} failed: {err}"));
            ApiError::RetryLater("could not look the recorded payment up at Stripe; retry")
        })
}

/// `charge.refunded`: find the order by PaymentIntent; if none has it yet, ask Stripe whose
/// payment it is before deciding between "ignore" and "retry later".
async fn refund(state: &AppState, event: &Event, charge: &Charge) -> Result<Ack, ApiError> {
    let Some(payment_intent) = charge.payment_intent.as_deref() else {
        return record_ignored(state, event, Ignored::NoPaymentIntent);
    };
    if let Some(ack) = refund_known_payment(state, event, charge, payment_intent)? {
        return Ok(ack);
    }
    // DEFECT(refund_lost): "no order has this payment, so it isn't ours" — but the refund can
    // overtake the completed event; acknowledging it drops the refund for good.
    if state.defect().is(Defect::RefundLost) {
        return record_ignored(state, event, Ignored::NotOurPayment);
    }
    // The lookup happens with no database lock held; the state is re-read afterwards.
    let session = state
        .stripe()
        .session_for_payment_intent(payment_intent)
        .await
        .map_err(|err| {
            crate::log::line(format_args!(
                "refund lookup for {payment_intent} failed: {err}"
            ));
            ApiError::RetryLater("could not look the payment up at Stripe; retry")
        })?;
    let latest = state.design().second_payment == SecondPayment::RecordLatest;
    let recorded = match (&session, latest) {
        (Some(session), true) => recorded_session(state, session).await?,
        _ => None,
    };
    let now = state.now_rfc3339();
    let ack = state.store().write(|tx| {
        // Re-read under the write lock: the completed event may have been processed while we
        // were asking Stripe, and then the refund simply applies.
        if let Some(ack) = refund_recorded_payment(tx, state, event, charge, payment_intent, &now)?
        {
            return Ok(ack);
        }
        let order = match session
            .as_ref()
            .and_then(|s| s.client_reference_id.as_deref())
        {
            Some(id) => tx.order(id)?,
            None => None,
        };
        // VARIANT(latest_session): a refund of a later payment than the one the order names
        // waits for that payment's completion, which will make the order name it.
        if let (Some(order), Some(session), Some(recorded)) =
            (order.as_ref(), session.as_ref(), recorded.as_ref())
        {
            if rules::refund_of_newer_payment(order, session, recorded)
                && matches!(
                    rules::unknown_refund(Some(session), Some(order), state.defect()),
                    UnknownRefund::Ignore(Ignored::PaidByAnotherPayment)
                )
                && charge.refunded
            {
                return Err(ApiError::RetryLater(RETRY_REFUND));
            }
        }
        match rules::unknown_refund(session.as_ref(), order.as_ref(), state.defect()) {
            // VARIANT(refund_at_once): Stripe said whose payment it is, so the order can be
            // marked refunded now instead of waiting for the payment's event.
            UnknownRefund::RetryLater
                if state.config().design.early_refund == EarlyRefund::AtOnce =>
            {
                let (Some(session), Some(order)) = (session.as_ref(), order.as_ref()) else {
                    return Err(ApiError::RetryLater(RETRY_REFUND));
                };
                let decision = rules::refund_at_once(session, charge);
                Ok(finish(tx, event, &order.id, decision, &now)?)
            }
            UnknownRefund::RetryLater => {
                crate::log::line(format_args!(
                    "event {} refunds {payment_intent} before its payment \
                     was recorded; asking Stripe to retry",
                    event.id
                ));
                Err(ApiError::RetryLater(RETRY_REFUND))
            }
            UnknownRefund::Ignore(reason) => {
                Ok(finish(tx, event, "", Decision::Ignore(reason), &now)?)
            }
        }
    })?;
    Ok(ack)
}

/// Applies a refund to the order that recorded `payment_intent`, in its own transaction;
/// `None` if no order has recorded it.
fn refund_known_payment(
    state: &AppState,
    event: &Event,
    charge: &Charge,
    payment_intent: &str,
) -> Result<Option<Ack>, ApiError> {
    let now = state.now_rfc3339();
    let ack = state
        .store()
        .write(|tx| refund_recorded_payment(tx, state, event, charge, payment_intent, &now))?;
    Ok(ack)
}

/// The refund step shared by both transactions: a duplicate, or the order with this payment.
fn refund_recorded_payment(
    tx: &OrderTx<'_>,
    state: &AppState,
    event: &Event,
    charge: &Charge,
    payment_intent: &str,
    now: &str,
) -> Result<Option<Ack>, StoreError> {
    if tx.is_processed(&event.id)? {
        return Ok(Some(Ack::DUPLICATE));
    }
    let Some(order) = tx.order_by_capture_id(payment_intent)? else {
        return Ok(None);
    };
    let decision = rules::charge_refunded(&order, charge, state.defect());
    finish(tx, event, &order.id, decision, now).map(Some)
}

/// Writes the decision and records the event, in the caller's transaction.
fn finish(
    tx: &OrderTx<'_>,
    event: &Event,
    order_id: &str,
    decision: Decision,
    now: &str,
) -> Result<Ack, StoreError> {
    let ack = match decision {
        Decision::Update(update) => {
            tx.apply(order_id, &update, now)?;
            crate::log::line(format_args!(
                "event {} ({}) set order {order_id} to {}",
                event.id, event.event_type, update.status
            ));
            Ack::APPLIED
        }
        Decision::Ignore(reason) => {
            crate::log::line(format_args!(
                "event {} ({}) ignored: {reason}",
                event.id, event.event_type
            ));
            Ack::IGNORED
        }
    };
    tx.mark_processed(&event.id, &event.event_type, now)?;
    Ok(ack)
}

fn record_ignored(state: &AppState, event: &Event, reason: Ignored) -> Result<Ack, ApiError> {
    let now = state.now_rfc3339();
    let ack = state.store().write(|tx| {
        if tx.is_processed(&event.id)? {
            return Ok(Ack::DUPLICATE);
        }
        finish(tx, event, "", Decision::Ignore(reason), &now)
    })?;
    Ok(ack)
}

/// The JSON body of an [`Ack`].
pub fn ack_json(ack: Ack) -> Value {
    serde_json::to_value(ack).unwrap_or_else(|_| serde_json::json!({ "received": true }))
}
