//! Events: the log of everything that happened, as `GET /v1/events` shows it and as webhooks
//! deliver it. `data.object` is a snapshot taken when the event is created and never changes.
//!
//! As on Stripe, `data.object` is rendered at the version that was the account's default when
//! the event happened (its `api_version`, whatever `Stripe-Version` asks to read it), and a
//! delivery at its endpoint's `api_version` when the endpoint pins one. The snapshot is kept in
//! the newest shape; the versions its consumers need that differ from it are rendered when the
//! event is created, so embedded lists show the refunds and charges of that moment.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::form::FormValue;
use crate::params::Params;
use crate::store::{ListQuery, Store};
use crate::table::Identified;
use crate::versions::{self, ApiVersion};

/// Every event type the simulator emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    CheckoutSessionCompleted,
    CheckoutSessionExpired,
    CheckoutSessionAsyncPaymentSucceeded,
    CheckoutSessionAsyncPaymentFailed,
    PaymentIntentCreated,
    PaymentIntentProcessing,
    PaymentIntentSucceeded,
    PaymentIntentPaymentFailed,
    PaymentIntentCanceled,
    ChargeSucceeded,
    ChargePending,
    ChargeFailed,
    ChargeRefunded,
    ChargeRefundUpdated,
    RefundCreated,
    RefundUpdated,
    RefundFailed,
    CustomerCreated,
    CustomerUpdated,
    ProductCreated,
    PriceCreated,
    PaymentLinkCreated,
    PaymentLinkUpdated,
}

impl EventType {
    pub const ALL: &'static [EventType] = &[
        EventType::CheckoutSessionCompleted,
        EventType::CheckoutSessionExpired,
        EventType::CheckoutSessionAsyncPaymentSucceeded,
        EventType::CheckoutSessionAsyncPaymentFailed,
        EventType::PaymentIntentCreated,
        EventType::PaymentIntentProcessing,
        EventType::PaymentIntentSucceeded,
        EventType::PaymentIntentPaymentFailed,
        EventType::PaymentIntentCanceled,
        EventType::ChargeSucceeded,
        EventType::ChargePending,
        EventType::ChargeFailed,
        EventType::ChargeRefunded,
        EventType::ChargeRefundUpdated,
        EventType::RefundCreated,
        EventType::RefundUpdated,
        EventType::RefundFailed,
        EventType::CustomerCreated,
        EventType::CustomerUpdated,
        EventType::ProductCreated,
        EventType::PriceCreated,
        EventType::PaymentLinkCreated,
        EventType::PaymentLinkUpdated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CheckoutSessionCompleted => "checkout.session.completed",
            EventType::CheckoutSessionExpired => "checkout.session.expired",
            EventType::CheckoutSessionAsyncPaymentSucceeded => {
                "checkout.session.async_payment_succeeded"
            }
            EventType::CheckoutSessionAsyncPaymentFailed => "checkout.session.async_payment_failed",
            EventType::PaymentIntentCreated => "payment_intent.created",
            EventType::PaymentIntentProcessing => "payment_intent.processing",
            EventType::PaymentIntentSucceeded => "payment_intent.succeeded",
            EventType::PaymentIntentPaymentFailed => "payment_intent.payment_failed",
            EventType::PaymentIntentCanceled => "payment_intent.canceled",
            EventType::ChargeSucceeded => "charge.succeeded",
            EventType::ChargePending => "charge.pending",
            EventType::ChargeFailed => "charge.failed",
            EventType::ChargeRefunded => "charge.refunded",
            EventType::ChargeRefundUpdated => "charge.refund.updated",
            EventType::RefundCreated => "refund.created",
            EventType::RefundUpdated => "refund.updated",
            EventType::RefundFailed => "refund.failed",
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerUpdated => "customer.updated",
            EventType::ProductCreated => "product.created",
            EventType::PriceCreated => "price.created",
            EventType::PaymentLinkCreated => "payment_link.created",
            EventType::PaymentLinkUpdated => "payment_link.updated",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.iter().copied().find(|t| t.as_str() == name)
    }

    /// The `object` of the events' `data.object`.
    pub fn object_type(self) -> &'static str {
        match self {
            EventType::CheckoutSessionCompleted
            | EventType::CheckoutSessionExpired
            | EventType::CheckoutSessionAsyncPaymentSucceeded
            | EventType::CheckoutSessionAsyncPaymentFailed => "checkout.session",
            EventType::PaymentIntentCreated
            | EventType::PaymentIntentProcessing
            | EventType::PaymentIntentSucceeded
            | EventType::PaymentIntentPaymentFailed
            | EventType::PaymentIntentCanceled => "payment_intent",
            EventType::ChargeSucceeded
            | EventType::ChargePending
            | EventType::ChargeFailed
            | EventType::ChargeRefunded => "charge",
            EventType::ChargeRefundUpdated
            | EventType::RefundCreated
            | EventType::RefundUpdated
            | EventType::RefundFailed => "refund",
            EventType::CustomerCreated | EventType::CustomerUpdated => "customer",
            EventType::ProductCreated => "product",
            EventType::PriceCreated => "price",
            EventType::PaymentLinkCreated | EventType::PaymentLinkUpdated => "payment_link",
        }
    }

    /// Stripe's filter syntax: an exact type, `*`, or a prefix wildcard (`checkout.session.*`).
    pub fn matches(self, pattern: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some("") => true,
            Some(prefix) => self.as_str().starts_with(prefix),
            None => self.as_str() == pattern,
        }
    }
}

impl crate::vocabulary::Vocabulary for EventType {
    const WHAT: &'static str = "event type";
    const ALL: &'static [Self] = EventType::ALL;

    fn as_str(&self) -> &'static str {
        EventType::as_str(*self)
    }
}

crate::vocabulary::serde_as_word!(EventType);

impl EventType {
    /// Checks a type filter (`*`, an exact type, or `prefix.*`): one that no event type matches
    /// is a typo, and a filter with a typo would silently never apply.
    pub fn check_pattern(pattern: &str) -> Result<(), String> {
        if EventType::ALL.iter().any(|t| t.matches(pattern)) {
            return Ok(());
        }
        let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        Err(format!(
            "No event type matches '{}'; known: {}",
            pattern.chars().take(60).collect::<String>(),
            known.join(", ")
        ))
    }
}

/// The API request that caused an event; both null for events the simulator caused itself (a
/// buyer on a hosted page, a settlement, an expiry).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestMeta {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub id: String,
    pub event_type: EventType,
    pub created: i64,
    /// The account's default version when the event happened: `data` is rendered at it.
    pub api_version: ApiVersion,
    /// `data.object` in the newest shape, kept as the compact JSON text it was rendered to: a
    /// snapshot never changes, and as text it takes a fifth of the memory of a parsed `Value`
    /// and goes into a webhook body without being rendered again.
    pub object: Box<RawValue>,
    /// `data.object` at the versions its consumers needed when it happened, where those differ
    /// from the newest shape (usually none).
    pub renderings: Vec<(ApiVersion, Box<RawValue>)>,
    /// `data.object.id`, for filters that look events up by object.
    pub object_id: Box<str>,
    pub previous_attributes: Option<Value>,
    pub request: RequestMeta,
    /// Endpoints this event has not yet been delivered to.
    pub pending_webhooks: u32,
}

/// The event as Stripe sends it, field for field, in Stripe's order.
#[derive(Serialize)]
struct Wire<'a> {
    id: &'a str,
    object: &'static str,
    api_version: &'static str,
    created: i64,
    data: WireData<'a>,
    livemode: bool,
    pending_webhooks: u32,
    request: WireRequest<'a>,
    #[serde(rename = "type")]
    event_type: &'static str,
}

#[derive(Serialize)]
struct WireData<'a> {
    object: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_attributes: Option<&'a Value>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    id: Option<&'a str>,
    idempotency_key: Option<&'a str>,
}

impl Identified for Event {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Event {
    /// The event as rendered at `version`, with `object` rendered at it.
    fn wire<'a>(&'a self, version: ApiVersion, object: &'a RawValue) -> Wire<'a> {
        Wire {
            id: &self.id,
            object: "event",
            api_version: version.as_str(),
            created: self.created,
            data: WireData {
                object,
                previous_attributes: self.previous_attributes.as_ref(),
            },
            livemode: false,
            pending_webhooks: self.pending_webhooks,
            request: WireRequest {
                id: self.request.id.as_deref(),
                idempotency_key: self.request.idempotency_key.as_deref(),
            },
            event_type: self.event_type.as_str(),
        }
    }

    /// The id of the object the event is about (`data.object.id`).
    pub fn object_id(&self) -> &str {
        &self.object_id
    }
}

/// `created` filters: `created=N` or `created[gt|gte|lt|lte]=N`.
#[derive(Debug, Clone, Default)]
pub struct CreatedFilter {
    gt: Option<i64>,
    gte: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
}

impl CreatedFilter {
    pub fn from_params(params: &mut Params) -> ApiResult<CreatedFilter> {
        let mut filter = CreatedFilter::default();
        if matches!(params.peek("created"), Some(FormValue::Text(_))) {
            let exact = params.integer("created")?;
            filter.gte = exact;
            filter.lte = exact;
        } else if let Some(mut range) = params.object("created")? {
            filter.gt = range.integer("gt")?;
            filter.gte = range.integer("gte")?;
            filter.lt = range.integer("lt")?;
            filter.lte = range.integer("lte")?;
            range.finish()?;
        }
        Ok(filter)
    }

    pub fn accepts(&self, created: i64) -> bool {
        self.gt.is_none_or(|v| created > v)
            && self.gte.is_none_or(|v| created >= v)
            && self.lt.is_none_or(|v| created < v)
            && self.lte.is_none_or(|v| created <= v)
    }
}

impl Store {
    /// `data.object` of `event` at `version`: the snapshot itself when the version does not
    /// change its shape, a rendering made when the event happened, or (for a version nobody
    /// needed then) the snapshot rendered now.
    fn event_object_at(&self, event: &Event, version: ApiVersion) -> Option<Box<RawValue>> {
        if !versions::touches(event.event_type.object_type(), version) {
            return None;
        }
        if let Some((_, rendered)) = event.renderings.iter().find(|(v, _)| *v == version) {
            return Some(rendered.clone());
        }
        let mut object: Value = serde_json::from_str(event.object.get()).ok()?;
        versions::render(&mut object, version, self);
        serde_json::value::to_raw_value(&object).ok()
    }

    /// An event at `version` (its own `api_version` when `None`), as JSON text: the body of a
    /// webhook delivery.
    pub fn event_json(&self, event: &Event, version: Option<ApiVersion>) -> Vec<u8> {
        let version = version.unwrap_or(event.api_version);
        let rendered = self.event_object_at(event, version);
        let object = rendered.as_deref().unwrap_or(&event.object);
        serde_json::to_vec(&event.wire(version, object)).unwrap_or_default()
    }

    /// An event as `GET /v1/events/{id}` shows it: at its own `api_version`.
    pub fn event_value(&self, event: &Event, version: Option<ApiVersion>) -> Value {
        let version = version.unwrap_or(event.api_version);
        let rendered = self.event_object_at(event, version);
        let object = rendered.as_deref().unwrap_or(&event.object);
        serde_json::to_value(event.wire(version, object)).unwrap_or(Value::Null)
    }

    /// The renderings of a new event's `data.object` that its consumers need: the account's
    /// default version and the versions of the endpoints it will be delivered to, where they
    /// change its shape.
    fn renderings_for(
        &self,
        event_type: EventType,
        object: &Value,
    ) -> Vec<(ApiVersion, Box<RawValue>)> {
        let default = self.config.default_version();
        let mut needed: Vec<ApiVersion> = self
            .webhook_endpoints
            .iter()
            .filter(|e| e.wants(event_type))
            .map(|e| e.api_version.unwrap_or(default))
            .chain(std::iter::once(default))
            .filter(|v| versions::touches(event_type.object_type(), *v))
            .collect();
        needed.sort();
        needed.dedup();
        needed
            .into_iter()
            .filter_map(|version| {
                let mut rendered = object.clone();
                versions::render(&mut rendered, version, self);
                serde_json::value::to_raw_value(&rendered)
                    .ok()
                    .map(|raw| (version, raw))
            })
            .collect()
    }

    /// Appends an event with a snapshot of `object` as it is now.
    pub fn emit(
        &mut self,
        event_type: EventType,
        object: Value,
        request: &RequestMeta,
        now: i64,
    ) -> String {
        self.emit_with_previous(event_type, object, None, request, now)
    }

    pub fn emit_with_previous(
        &mut self,
        event_type: EventType,
        object: Value,
        previous_attributes: Option<Value>,
        request: &RequestMeta,
        now: i64,
    ) -> String {
        let object_id = object["id"].as_str().unwrap_or_default().into();
        let renderings = self.renderings_for(event_type, &object);
        let object = serde_json::value::to_raw_value(&object)
            .unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap_or_default());
        self.push_event(
            event_type,
            object,
            renderings,
            object_id,
            previous_attributes,
            request,
            now,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn push_event(
        &mut self,
        event_type: EventType,
        object: Box<RawValue>,
        renderings: Vec<(ApiVersion, Box<RawValue>)>,
        object_id: Box<str>,
        previous_attributes: Option<Value>,
        request: &RequestMeta,
        now: i64,
    ) -> String {
        let id = self.ids.id(crate::ids::IdKind::Event);
        let pending_webhooks = self.enqueue_deliveries(&id, event_type, now);
        self.events.insert(Event {
            id: id.clone(),
            event_type,
            created: now,
            api_version: self.config.default_version(),
            object,
            renderings,
            object_id,
            previous_attributes,
            request: request.clone(),
            pending_webhooks,
        });
        id
    }

    /// A second Event object for the same change (new `evt_` id, same type and `data`), as Stripe
    /// sometimes generates: "two separate Event objects are generated and sent". Delivered like
    /// any new event.
    pub fn duplicate_event(&mut self, id: &str, now: i64) -> ApiResult<String> {
        let original = self
            .events
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::no_such("event", id, "id"))?;
        let new_id = self.push_event(
            original.event_type,
            original.object,
            original.renderings,
            original.object_id,
            original.previous_attributes,
            &original.request,
            now,
        );
        Ok(new_id)
    }

    pub fn retrieve_event(&self, id: &str) -> ApiResult<Value> {
        self.events
            .find(id, "event", "id")
            .map(|e| self.event_value(e, None))
    }

    pub fn list_events(&self, mut query: ListQuery) -> ApiResult<Value> {
        let single = query.params.string("type")?;
        let several = query.params.string_list("types")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        query.params.boolean("delivery_success")?;
        let patterns: Vec<String> = match (single, several) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "You may only specify one of these parameters: type, types.",
                    Some("type"),
                ))
            }
            (Some(t), None) => vec![t],
            (None, Some(ts)) => ts,
            (None, None) => Vec::new(),
        };
        query.list(
            &self.events,
            "event",
            "/v1/events",
            |e| {
                (patterns.is_empty() || patterns.iter().any(|p| e.event_type.matches(p)))
                    && created.accepts(e.created)
            },
            |e| Ok(self.event_value(e, None)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_accept_wildcards() {
        assert!(EventType::CheckoutSessionCompleted.matches("checkout.session.*"));
        assert!(EventType::CheckoutSessionCompleted.matches("*"));
        assert!(!EventType::ChargeRefunded.matches("checkout.session.*"));
        assert!(EventType::ChargeRefunded.matches("charge.refunded"));
        assert!(!EventType::ChargeRefundUpdated.matches("charge.refunded"));
    }

    #[test]
    fn every_event_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
    }
}
