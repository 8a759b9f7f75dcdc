//! What the control layer answers with: typed views of the objects a test driver looks at, so
//! that callers read fields instead of indexing JSON by string. The whole API object is one
//! [`crate::Control::object`] call away when a driver needs more.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clock::ClockMode;
use crate::resources::checkout_session::{CheckoutSession, PaymentStatus, SessionStatus};
use crate::resources::event::{Event, EventType};
use crate::typed_ids::{EndpointId, EventId, PaymentIntentId, PaymentLinkId, SessionId};
use crate::webhooks::faults::Fault;
use crate::webhooks::log::DeliveryMode;

/// A Checkout Session as a driver sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutSessionView {
    pub id: SessionId,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub client_reference_id: Option<String>,
    /// The buyer's email: the one they gave when paying, else the one the session was made
    /// with.
    pub customer_email: Option<String>,
    /// Simulator time the session was made.
    pub created: i64,
    pub amount_total: i64,
    /// Lowercase, as Stripe writes it.
    pub currency: String,
    pub payment_intent: Option<PaymentIntentId>,
    pub payment_link: Option<PaymentLinkId>,
    /// The hosted page, while the session is open.
    pub url: Option<String>,
    pub expires_at: i64,
}

impl CheckoutSessionView {
    pub(crate) fn of(session: &CheckoutSession, config: &crate::SimConfig) -> Self {
        CheckoutSessionView {
            id: SessionId::trusted(session.id.as_str()),
            status: session.status,
            payment_status: session.payment_status,
            client_reference_id: session.client_reference_id.clone(),
            customer_email: session
                .customer_details
                .as_ref()
                .and_then(|d| d.email.clone())
                .or_else(|| session.customer_email.clone()),
            created: session.created,
            amount_total: session.amount_total(),
            currency: session.currency(),
            payment_intent: session
                .payment_intent
                .as_deref()
                .map(PaymentIntentId::trusted),
            payment_link: session.payment_link.as_deref().map(PaymentLinkId::trusted),
            url: session.url(config),
            expires_at: session.expires_at,
        }
    }
}

/// An event's envelope: what it is about, without rendering its object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Simulator time of the change.
    pub created: i64,
    /// `data.object.id`: the object the event is about.
    pub object_id: String,
    /// Endpoints it has not reached yet.
    pub pending_webhooks: u32,
}

impl EventView {
    pub(crate) fn of(event: &Event) -> Self {
        EventView {
            id: EventId::trusted(event.id.as_str()),
            event_type: event.event_type,
            created: event.created,
            object_id: event.object_id().to_string(),
            pending_webhooks: event.pending_webhooks,
        }
    }
}

/// Where to find a payment link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentLinkInfo {
    pub id: PaymentLinkId,
    pub url: String,
}

/// A webhook endpoint, its current signing secret, and whether it is enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookEndpointInfo {
    pub id: EndpointId,
    pub url: String,
    /// Its event type filters (`*`, `checkout.session.*`).
    pub enabled_events: Vec<String>,
    pub secret: String,
    /// `enabled` or `disabled`, as the endpoint object's `status`.
    pub status: &'static str,
    /// Why the simulator disabled it (it failed every delivery for too long).
    pub disabled_reason: Option<String>,
    /// Since when (simulator time) every delivery to it has failed.
    pub failing_since: Option<i64>,
}

/// A webhook endpoint's new secret after a roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolledSecret {
    pub id: EndpointId,
    pub secret: String,
    /// When the previous secret stops signing (simulator time).
    pub previous_secret_expires_at: i64,
}

/// The simulator clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockState {
    /// Unix seconds.
    pub now: i64,
    pub mode: ClockMode,
    /// When the next settlement, expiry or refund job falls due.
    pub next_job_at: Option<i64>,
}

/// Settings and the seeded payment links, so a driver can find its way around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimInfo {
    pub base_url: String,
    pub api_version: String,
    pub clock: ClockMode,
    pub seed: u64,
    /// Seconds before SEPA / ACH payments settle.
    pub settlement_delay: i64,
    /// Seconds before asynchronous refunds settle or fail.
    pub refund_settlement_delay: i64,
    /// Seed-file key (`lifetime`) → link.
    pub payment_links: BTreeMap<String, PaymentLinkInfo>,
    /// What is stored, what retention dropped, and the limits.
    pub storage: StorageInfo,
}

/// What the simulator holds against its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageInfo {
    /// Objects counted against `max_objects` (everything but events and delivery records).
    pub objects: usize,
    pub max_objects: Option<usize>,
    pub events: usize,
    pub delivery_records: usize,
    /// Events and delivery records are each kept at most this many.
    pub max_records: Option<usize>,
    /// Events and delivery records older than this many days of simulator time are dropped.
    pub retention_days: Option<u32>,
    pub events_dropped: u64,
    pub delivery_records_dropped: u64,
    pub idempotency_keys: usize,
    /// The state file, with `--state`.
    pub state_file: Option<String>,
}

/// The delivery machinery at a glance: mode, how many records are in each state, what is
/// scheduled and which faults wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryStatus {
    pub mode: DeliveryMode,
    pub held: usize,
    pub pending: usize,
    pub in_flight: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub canceled: usize,
    /// Records dropped by retention (oldest first) since the start or the last reset.
    pub dropped: u64,
    /// Nothing in flight and nothing due now (held deliveries excepted).
    pub idle: bool,
    pub next_attempt_at: Option<i64>,
    pub faults: Vec<Fault>,
    /// Seconds between the retries of a failed delivery.
    pub retry_schedule: Vec<i64>,
}

/// A Checkout Session with everything its payment made, as the API renders each object: what a
/// driver (or the dashboard's session page) shows about one purchase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionDetail {
    pub session: serde_json::Value,
    pub payment_intent: Option<serde_json::Value>,
    /// Every charge of the PaymentIntent (declined attempts too), oldest first.
    pub charges: Vec<serde_json::Value>,
    /// Every refund of those charges, oldest first.
    pub refunds: Vec<serde_json::Value>,
    /// The events about any of these objects, oldest first.
    pub events: Vec<EventView>,
}
