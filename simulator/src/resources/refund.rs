//! Refunds: full or partial, by PaymentIntent or charge. Every refund emits `refund.created` and
//! `charge.refunded` (partial ones too); cards 4000000000007726 and 4000000000005126 make refunds
//! that settle later (`refund.updated`) or fail later (`refund.failed`).

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::{Metadata, Params};
use crate::resources::charge::ChargeStatus;
use crate::resources::display_amount;
use crate::resources::event::{CreatedFilter, EventType};
use crate::store::{Ctx, Job, ListQuery, Store};
use crate::table::Identified;
use crate::test_cards::RefundBehaviour;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub failure_reason: Option<String>,
    /// The balance transaction that takes a failed refund back.
    pub failure_balance_transaction: Option<String>,
    pub metadata: Metadata,
    pub method_type: String,
    /// The charge's payment method (`pm_…`) and customer, as Stripe copies them onto refunds.
    pub payment_method: String,
    pub customer: Option<String>,
    pub balance_transaction: String,
    /// What happens when the refund's settlement job runs.
    pub behaviour: RefundBehaviour,
}

impl Identified for Refund {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Refund {
    pub fn render(&self) -> Value {
        // Card refunds say how they reach the cardholder (the network's reference comes later);
        // the types have no hash for bank debits, so theirs is the type alone.
        let destination = if self.method_type == "card" {
            json!({ "type": self.method_type, "card": { "reference_status": "pending", "type": "refund" } })
        } else {
            json!({ "type": self.method_type })
        };
        let mut v = json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": self.balance_transaction,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "customer_account": null,
            "destination_details": destination,
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "reason": self.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": self.status.as_str(),
            "transfer_reversal": null,
        });
        if self.status == RefundStatus::Pending {
            v["pending_reason"] = json!("processing");
        }
        if self.status == RefundStatus::Failed {
            v["failure_reason"] = json!(self.failure_reason);
            v["failure_balance_transaction"] = json!(self.failure_balance_transaction);
        }
        v
    }
}

impl Store {
    pub fn create_refund(&mut self, mut params: Params, ctx: &Ctx) -> ApiResult<Value> {
        let charge_param = params.string("charge")?;
        let intent_param = params.string("payment_intent")?;
        let amount = params.positive_integer("amount")?;
        let reason = params.one_of(
            "reason",
            &["duplicate", "fraudulent", "requested_by_customer"],
        )?;
        let metadata = params.metadata("metadata")?;
        params.finish()?;

        let charge_id = match (&charge_param, &intent_param) {
            (None, None) => {
                return Err(ApiError::invalid(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    None,
                ))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "You may only specify one of these parameters: charge, payment_intent.",
                    Some("payment_intent"),
                ))
            }
            (Some(ch), None) => {
                self.charges
                    .get(ch)
                    .ok_or_else(|| ApiError::no_such("charge", ch, "charge"))?;
                ch.clone()
            }
            (None, Some(pi_id)) => {
                let pi = self
                    .payment_intents
                    .get(pi_id)
                    .ok_or_else(|| ApiError::no_such("payment_intent", pi_id, "payment_intent"))?;
                let succeeded = pi
                    .latest_charge
                    .as_ref()
                    .and_then(|c| self.charges.get(c))
                    .filter(|c| c.status == ChargeStatus::Succeeded);
                match succeeded {
                    Some(c) => c.id.clone(),
                    None => {
                        return Err(ApiError::invalid(
                            format!("This PaymentIntent ({pi_id}) does not have a successful charge to refund."),
                            Some("payment_intent"),
                        ))
                    }
                }
            }
        };
        let charge = self
            .charges
            .get(&charge_id)
            .ok_or_else(|| ApiError::no_such("charge", &charge_id, "charge"))?;
        if charge.status != ChargeStatus::Succeeded {
            return Err(ApiError::invalid(
                format!(
                    "Charge {} cannot be refunded because its status is {}.",
                    charge.id,
                    charge.status.as_str()
                ),
                Some("charge"),
            ));
        }
        let remaining = charge.amount - charge.amount_refunded;
        if remaining <= 0 {
            return Err(ApiError::invalid(
                format!("Charge {} has already been refunded.", charge.id),
                Some("charge"),
            )
            .with_code("charge_already_refunded"));
        }
        let amount = amount.unwrap_or(remaining);
        if amount > remaining {
            // Stripe's words differ: the charge's amount while nothing was refunded yet, what is
            // left of it after earlier refunds.
            let message = if charge.amount_refunded == 0 {
                format!(
                    "Refund amount ({}) is greater than charge amount ({})",
                    display_amount(amount, &charge.currency),
                    display_amount(charge.amount, &charge.currency)
                )
            } else {
                format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    display_amount(amount, &charge.currency),
                    display_amount(remaining, &charge.currency)
                )
            };
            return Err(ApiError::invalid(message, Some("amount")).with_code("amount_too_large"));
        }
        let behaviour = charge.refund_behaviour;
        let refund = Refund {
            id: self.ids.id(IdKind::Refund),
            created: ctx.now,
            amount,
            currency: charge.currency.clone(),
            charge: charge.id.clone(),
            payment_intent: charge.payment_intent.clone(),
            status: if behaviour == RefundBehaviour::PendingThenSucceeds {
                RefundStatus::Pending
            } else {
                RefundStatus::Succeeded
            },
            reason,
            failure_reason: None,
            failure_balance_transaction: None,
            metadata,
            method_type: charge.method.type_name().to_string(),
            payment_method: charge.payment_method.clone(),
            customer: charge.customer.clone(),
            balance_transaction: format!("txn_{}", self.ids.alphanumeric(24)),
            behaviour,
        };
        let refund_id = refund.id.clone();
        let rendered_refund = refund.render();
        self.refunds.insert(refund);
        if behaviour != RefundBehaviour::Immediate {
            self.schedule(
                ctx.now + self.config.refund_settlement_delay,
                Job::SettleRefund(refund_id.clone()),
            );
        }
        let charge = self
            .charges
            .get_mut(&charge_id)
            .ok_or_else(|| ApiError::internal("charge vanished"))?;
        charge.amount_refunded += amount;
        let rendered_charge = charge.render();
        self.emit(
            EventType::RefundCreated,
            rendered_refund.clone(),
            &ctx.request,
            ctx.now,
        );
        self.emit(
            EventType::ChargeRefunded,
            rendered_charge,
            &ctx.request,
            ctx.now,
        );
        Ok(rendered_refund)
    }

    /// The refund settlement job: a pending refund succeeds; a refund of card
    /// 4000000000005126 fails, giving the amount back to the charge.
    pub fn settle_refund(&mut self, id: &str, due: i64) {
        let ctx = Ctx::automatic(due);
        let Some(refund) = self.refunds.get_mut(id) else {
            return;
        };
        let previous = json!({ "status": refund.status.as_str() });
        match refund.behaviour {
            RefundBehaviour::Immediate => {}
            RefundBehaviour::PendingThenSucceeds => {
                if refund.status != RefundStatus::Pending {
                    return;
                }
                refund.status = RefundStatus::Succeeded;
                let rendered = refund.render();
                self.emit_refund_updated(rendered, previous, &ctx, due);
            }
            RefundBehaviour::SucceedsThenFails => {
                if refund.status != RefundStatus::Succeeded {
                    return;
                }
                refund.status = RefundStatus::Failed;
                refund.failure_reason = Some("expired_or_canceled_card".to_string());
                refund.failure_balance_transaction =
                    Some(format!("txn_{}", self.ids.alphanumeric(24)));
                let amount = refund.amount;
                let charge_id = refund.charge.clone();
                let rendered = refund.render();
                if let Some(charge) = self.charges.get_mut(&charge_id) {
                    charge.amount_refunded = (charge.amount_refunded - amount).max(0);
                }
                self.emit_refund_updated(rendered.clone(), previous, &ctx, due);
                self.emit(EventType::RefundFailed, rendered, &ctx.request, due);
            }
        }
    }

    /// A refund's status change is announced twice, as Stripe does: once as
    /// `refund.updated` and once as the older `charge.refund.updated`.
    fn emit_refund_updated(&mut self, rendered: Value, previous: Value, ctx: &Ctx, due: i64) {
        for event_type in [EventType::RefundUpdated, EventType::ChargeRefundUpdated] {
            self.emit_with_previous(
                event_type,
                rendered.clone(),
                Some(previous.clone()),
                &ctx.request,
                due,
            );
        }
    }

    pub fn retrieve_refund(&self, id: &str) -> ApiResult<Value> {
        self.refunds
            .find(id, "refund", "refund")
            .map(Refund::render)
    }

    pub fn list_refunds(&self, mut query: ListQuery) -> ApiResult<Value> {
        let charge = query.params.string("charge")?;
        let payment_intent = query.params.string("payment_intent")?;
        let created = CreatedFilter::from_params(&mut query.params)?;
        query.list(
            &self.refunds,
            "refund",
            "/v1/refunds",
            |r| {
                charge.as_ref().is_none_or(|c| &r.charge == c)
                    && payment_intent
                        .as_ref()
                        .is_none_or(|p| &r.payment_intent == p)
                    && created.accepts(r.created)
            },
            |r| Ok(r.render()),
        )
    }
}
