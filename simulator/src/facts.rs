//! What a test driver needs to know about payments, read straight from the store: the judge of
//! stripe-harness asks after every step of every history, so this skips rendering whole API
//! objects just to read five fields of them.

use serde::Deserialize;

use crate::resources::checkout_session::{PaymentStatus, SessionStatus};
use crate::resources::event::EventType;
use crate::resources::payment_intent::PaymentIntentStatus;
use crate::store::Store;
use crate::typed_ids::{ChargeId, PaymentIntentId, SessionId};

/// One Checkout Session and the state of its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub id: SessionId,
    pub client_reference_id: Option<String>,
    pub amount_total: i64,
    /// Lowercase, as Stripe writes it.
    pub currency: String,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub payment_intent: Option<PaymentIntentId>,
    pub intent_status: Option<PaymentIntentStatus>,
    /// The PaymentIntent's latest charge.
    pub charge: Option<ChargeId>,
}

/// What the `charge.refunded` events about one charge said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefundHistory {
    /// At least one `charge.refunded` event.
    pub any_refund: bool,
    /// One of them showed the charge fully refunded (`refunded: true`).
    pub ever_fully_refunded: bool,
}

impl Store {
    /// The sessions whose `client_reference_id` is one of `references`, oldest first.
    pub fn session_facts(&self, references: &[&str]) -> Vec<SessionFacts> {
        self.sessions
            .iter()
            .filter(|s| {
                s.client_reference_id
                    .as_deref()
                    .is_some_and(|r| references.contains(&r))
            })
            .map(|s| {
                let intent = s
                    .payment_intent
                    .as_deref()
                    .and_then(|id| self.payment_intents.get(id));
                SessionFacts {
                    id: SessionId::trusted(s.id.as_str()),
                    client_reference_id: s.client_reference_id.clone(),
                    amount_total: s.amount_total(),
                    currency: s.currency(),
                    status: s.status,
                    payment_status: s.payment_status,
                    payment_intent: s.payment_intent.as_deref().map(PaymentIntentId::trusted),
                    intent_status: intent.map(|pi| pi.status),
                    charge: intent
                        .and_then(|pi| pi.latest_charge.as_deref())
                        .map(ChargeId::trusted),
                }
            })
            .collect()
    }

    /// The refund history of `charge` as its `charge.refunded` events tell it.
    pub fn refund_history(&self, charge: &str) -> RefundHistory {
        #[derive(Deserialize)]
        struct Refunded {
            refunded: bool,
        }
        let mut history = RefundHistory::default();
        for event in self
            .events
            .iter()
            .filter(|e| e.event_type == EventType::ChargeRefunded && e.object_id() == charge)
        {
            history.any_refund = true;
            history.ever_fully_refunded |=
                serde_json::from_str::<Refunded>(event.object.get()).is_ok_and(|r| r.refunded);
        }
        history
    }
}
