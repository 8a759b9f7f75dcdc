//! What buyers do and what drivers read back: opening payment links, paying sessions, and the
//! objects, events and payment facts that result.

use serde_json::Value;

use crate::control::{CheckoutSessionView, Control, EventView, PaymentLinkInfo, SessionDetail};
use crate::error::{ApiError, ApiResult};
use crate::facts::{RefundHistory, SessionFacts};
use crate::form::FormValue;
use crate::params::Params;
use crate::payment::{Buyer, PaymentMethodInput};
use crate::resources::event::EventType;
use crate::store::Ctx;
use crate::typed_ids::{EventId, PaymentIntentId, PaymentLinkId, SessionId};
use crate::versions::{self, ApiVersion};

impl Control {
    /// A buyer opening a payment link with an optional `client_reference_id` (dropped silently
    /// when it is not 1–200 letters, digits, `_` or `-`, as Stripe does): the new session.
    pub fn visit_link(
        &self,
        link: &PaymentLinkId,
        client_reference_id: Option<&str>,
        prefilled_email: Option<&str>,
    ) -> ApiResult<CheckoutSessionView> {
        self.shared.with_store(|store, now| {
            store.admit_write()?;
            let id = store.visit_payment_link_by_id(
                link,
                client_reference_id,
                prefilled_email,
                &Ctx::automatic(now),
            )?;
            store.session_view(&id)
        })
    }

    /// A buyer paying a session as the hosted page would: the completed session, or the card
    /// error (a 402, the session left open for another try).
    pub fn pay(
        &self,
        session: &SessionId,
        method: &PaymentMethodInput,
        buyer: &Buyer,
    ) -> ApiResult<CheckoutSessionView> {
        self.shared.with_store(|store, now| {
            store.admit_write()?;
            store.pay_session(session, method, buyer, &Ctx::automatic(now))?;
            store.session_view(session)
        })
    }

    /// Expires an open session now, as `POST /v1/checkout/sessions/{id}/expire` does.
    pub fn expire_session(&self, session: &SessionId) -> ApiResult<CheckoutSessionView> {
        self.shared.with_store(|store, now| {
            store.expire_checkout_session(session, Params::default(), &Ctx::automatic(now))?;
            store.session_view(session)
        })
    }

    /// Refunds a PaymentIntent's charge, fully (`amount: None`) or partly, as `POST /v1/refunds`
    /// does: the refund, rendered.
    pub fn refund(
        &self,
        payment_intent: &PaymentIntentId,
        amount: Option<i64>,
    ) -> ApiResult<Value> {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "payment_intent".to_string(),
            FormValue::Text(payment_intent.to_string()),
        );
        if let Some(amount) = amount {
            fields.insert("amount".to_string(), FormValue::Text(amount.to_string()));
        }
        self.shared.with_store(|store, now| {
            store.admit_write()?;
            store.create_refund(Params::new(fields), &Ctx::automatic(now))
        })
    }

    /// Every payment link (not only the seeded ones), oldest first.
    pub fn payment_links(&self) -> Vec<PaymentLinkInfo> {
        self.shared.with_store(|store, _| {
            store
                .payment_links
                .iter()
                .map(|link| PaymentLinkInfo {
                    id: PaymentLinkId::trusted(link.id.as_str()),
                    url: link.url(&store.config),
                })
                .collect()
        })
    }

    /// A session with its PaymentIntent, charges, refunds and their events.
    pub fn session_detail(&self, id: &SessionId) -> Option<SessionDetail> {
        self.shared.with_store(|store, _| {
            let session = store.sessions.get(id)?;
            let intent = session.payment_intent.clone();
            let charges: Vec<&crate::resources::charge::Charge> = match &intent {
                Some(pi) => store
                    .charges
                    .iter()
                    .filter(|c| &c.payment_intent == pi)
                    .collect(),
                None => Vec::new(),
            };
            let refunds: Vec<&crate::resources::refund::Refund> = store
                .refunds
                .iter()
                .filter(|r| charges.iter().any(|c| c.id == r.charge))
                .collect();
            let mut ids: Vec<&str> = vec![session.id.as_str()];
            ids.extend(intent.as_deref());
            ids.extend(charges.iter().map(|c| c.id.as_str()));
            ids.extend(refunds.iter().map(|r| r.id.as_str()));
            let events = store
                .events
                .iter()
                .filter(|e| ids.contains(&e.object_id()))
                .map(EventView::of)
                .collect();
            Some(SessionDetail {
                session: session.render(&store.config),
                payment_intent: intent
                    .as_deref()
                    .and_then(|pi| store.payment_intents.get(pi))
                    .map(|pi| pi.render()),
                charges: charges.iter().map(|c| c.render()).collect(),
                refunds: refunds.iter().map(|r| r.render()).collect(),
                events,
            })
        })
    }

    /// The newest `limit` events, newest first, of one type (exact, or a prefix ending in `*`:
    /// `checkout.session.*`) and about one object (`data.object.id`), when given.
    pub fn recent_events(
        &self,
        event_type: Option<&str>,
        object_id: Option<&str>,
        limit: usize,
    ) -> Vec<EventView> {
        let type_matches = |t: EventType| match event_type {
            None => true,
            Some(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => t.as_str().starts_with(prefix),
                None => t.as_str() == pattern,
            },
        };
        self.shared.with_store(|store, _| {
            store
                .events
                .iter()
                .rev()
                .filter(|e| type_matches(e.event_type))
                .filter(|e| object_id.is_none_or(|o| e.object_id() == o))
                .take(limit)
                .map(EventView::of)
                .collect()
        })
    }

    /// A session as a driver sees it.
    pub fn session(&self, id: &SessionId) -> Option<CheckoutSessionView> {
        self.shared
            .with_store(|store, _| store.session_view(id).ok())
    }

    /// Every Checkout Session, oldest first.
    pub fn sessions(&self) -> Vec<CheckoutSessionView> {
        self.shared.with_store(|store, _| {
            store
                .sessions
                .iter()
                .map(|s| CheckoutSessionView::of(s, &store.config))
                .collect()
        })
    }

    /// Any object by id (`cs_…`, `pi_…`, `ch_…`, `evt_…`, …), as `GET /v1/…` renders it at the
    /// account's default API version.
    pub fn object(&self, id: &str) -> Option<Value> {
        self.object_at(id, self.shared.config.default_version())
    }

    /// Any object by id, as `GET /v1/…` renders it at `version`.
    pub fn object_at(&self, id: &str, version: ApiVersion) -> Option<Value> {
        self.shared.with_store(|store, _| {
            let mut value = store.render_by_id(id)?;
            versions::render(&mut value, version, store);
            Some(value)
        })
    }

    /// An error answer with the objects it carries (`payment_intent`, `payment_method`)
    /// rendered at `version`.
    pub(crate) fn error_at(&self, mut error: ApiError, version: ApiVersion) -> ApiError {
        self.shared.with_store(|store, _| {
            for value in error.extra.values_mut() {
                versions::render(value, version, store);
            }
        });
        error
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<EventView> {
        self.shared
            .with_store(|store, _| store.events.iter().map(EventView::of).collect())
    }

    /// Every event of one type, oldest first.
    pub fn events_of_type(&self, event_type: EventType) -> Vec<EventView> {
        self.shared.with_store(|store, _| {
            store
                .events
                .iter()
                .filter(|e| e.event_type == event_type)
                .map(EventView::of)
                .collect()
        })
    }

    /// The events of one type about these objects (`data.object.id`), oldest first.
    pub fn events_about(&self, event_type: EventType, object_ids: &[&str]) -> Vec<EventView> {
        self.shared.with_store(|store, _| {
            store
                .events
                .iter()
                .filter(|e| e.event_type == event_type && object_ids.contains(&e.object_id()))
                .map(EventView::of)
                .collect()
        })
    }

    /// An event's `data.object`, as it was when the event happened (at the event's version).
    pub fn event_object(&self, id: &EventId) -> Option<Value> {
        self.shared.with_store(|store, _| {
            let event = store.events.get(id)?;
            let mut value = store.event_value(event, None);
            Some(value["data"]["object"].take())
        })
    }

    /// The sessions of these `client_reference_id`s with their payment's state, and what the
    /// `charge.refunded` events of its charge said: what a judge checks after every step.
    pub fn payment_facts(&self, references: &[&str]) -> Vec<(SessionFacts, RefundHistory)> {
        self.shared.with_store(|store, _| {
            store
                .session_facts(references)
                .into_iter()
                .map(|s| {
                    let history = s
                        .charge
                        .as_deref()
                        .map(|c| store.refund_history(c))
                        .unwrap_or_default();
                    (s, history)
                })
                .collect()
        })
    }
}

impl crate::store::Store {
    /// The view of a session the store holds.
    pub(crate) fn session_view(&self, id: &str) -> ApiResult<CheckoutSessionView> {
        self.sessions
            .get(id)
            .map(|s| CheckoutSessionView::of(s, &self.config))
            .ok_or_else(|| ApiError::no_such("checkout.session", id, "session"))
    }
}
