//! The judge: what Stripe's ground truth says each order must be, and the rules every
//! observation must keep.
//!
//! Expected states come from what really happened in the simulator (sessions, PaymentIntents,
//! charges, refunds), never from the order webhooks arrived in. Where the spec allows more than
//! one state, the judge accepts the set and names the rule.

use std::collections::BTreeSet;

use stripe_sim::{PaymentIntentStatus, PaymentStatus, SessionStatus, Simulator};

use crate::state::{ObservedOrder, OrderState};
use crate::target_file::Policy;

/// An order as the harness created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderInfo {
    pub alias: String,
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub provider: String,
}

/// One Checkout Session and the money behind it.
#[derive(Debug, Clone)]
pub struct SessionFact {
    pub id: String,
    pub client_reference_id: Option<String>,
    pub amount_total: i64,
    pub currency: String,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub payment_intent: Option<String>,
    pub intent_status: Option<PaymentIntentStatus>,
    pub charge: Option<String>,
    /// Some `charge.refunded` event showed the charge fully refunded.
    pub ever_fully_refunded: bool,
    /// Some refund of the charge exists (or existed and failed).
    pub any_refund: bool,
}

/// Everything the judge knows about the simulator at one moment.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub sessions: Vec<SessionFact>,
}

impl Facts {
    /// Reads what the simulator knows about these orders, through its public handle.
    pub fn gather(sim: &Simulator, orders: &[OrderInfo]) -> Facts {
        let references: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
        let sessions = sim
            .payment_facts(&references)
            .into_iter()
            .map(|(s, refunds)| SessionFact {
                id: s.id.to_string(),
                client_reference_id: s.client_reference_id,
                amount_total: s.amount_total,
                currency: s.currency,
                status: s.status,
                payment_status: s.payment_status,
                payment_intent: s.payment_intent.map(|pi| pi.to_string()),
                intent_status: s.intent_status,
                charge: s.charge.map(|c| c.to_string()),
                // What charge.refunded said: was the charge ever fully refunded?
                ever_fully_refunded: refunds.ever_fully_refunded,
                any_refund: refunds.any_refund,
            })
            .collect();
        Facts { sessions }
    }

    /// Sessions carrying the order's id whose price is exactly the order's amount and currency.
    fn matching<'a>(&'a self, order: &'a OrderInfo) -> impl Iterator<Item = &'a SessionFact> + 'a {
        self.sessions.iter().filter(move |s| {
            s.client_reference_id.as_deref() == Some(order.id.as_str())
                && s.amount_total == order.amount
                && s.currency.eq_ignore_ascii_case(&order.currency)
        })
    }

    /// Genuine payments of the order: matching sessions that Stripe says are paid.
    pub fn payments<'a>(&'a self, order: &'a OrderInfo) -> Vec<&'a SessionFact> {
        if !is_stripe(order) {
            return Vec::new();
        }
        self.matching(order)
            .filter(|s| s.payment_status == PaymentStatus::Paid)
            .collect()
    }

    /// Matching delayed payments that failed.
    fn failed_delayed<'a>(&'a self, order: &'a OrderInfo) -> Vec<&'a SessionFact> {
        self.matching(order)
            .filter(|s| {
                s.status == SessionStatus::Complete
                    && s.payment_status == PaymentStatus::Unpaid
                    && s.intent_status == Some(PaymentIntentStatus::RequiresPaymentMethod)
            })
            .collect()
    }

    /// Matching delayed payments still processing.
    fn processing<'a>(&'a self, order: &'a OrderInfo) -> Vec<&'a SessionFact> {
        self.matching(order)
            .filter(|s| {
                s.status == SessionStatus::Complete
                    && s.payment_status == PaymentStatus::Unpaid
                    && s.intent_status == Some(PaymentIntentStatus::Processing)
            })
            .collect()
    }
}

fn is_stripe(order: &OrderInfo) -> bool {
    order.provider == "stripe"
}

/// The states an order may end in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub allowed: BTreeSet<OrderState>,
    pub rule: &'static str,
}

impl Expectation {
    fn only(state: OrderState, rule: &'static str) -> Self {
        Expectation {
            allowed: [state].into(),
            rule,
        }
    }

    pub fn describe(&self) -> String {
        let states: Vec<&str> = self.allowed.iter().map(|s| s.as_str()).collect();
        states.join(" or ")
    }
}

/// What Stripe's ground truth says the order must be once every delivery is done.
pub fn expected(order: &OrderInfo, facts: &Facts, policy: &Policy) -> Expectation {
    if !is_stripe(order) {
        return Expectation::only(
            OrderState::Pending,
            "an order of another provider is never changed by Stripe events",
        );
    }
    let payments = facts.payments(order);
    if !payments.is_empty() {
        let fully = payments.iter().filter(|p| p.ever_fully_refunded).count();
        let partially = payments.iter().filter(|p| p.any_refund).count();
        if fully == payments.len() {
            return Expectation::only(
                OrderState::Refunded,
                "a fully refunded payment marks the order refunded (refunded is final)",
            );
        }
        if fully > 0 {
            return Expectation {
                allowed: [OrderState::Paid, OrderState::Refunded].into(),
                rule: "paid twice and one payment fully refunded: refunded or still paid",
            };
        }
        if partially > 0 && policy.partial_refund_marks_refunded {
            return Expectation::only(
                OrderState::Refunded,
                "policy: a partial refund marks the order refunded",
            );
        }
        return Expectation::only(
            OrderState::Paid,
            "a payment of exactly the order's amount and currency marks it paid",
        );
    }
    if !facts.failed_delayed(order).is_empty() {
        return Expectation::only(
            OrderState::Failed,
            "a failed delayed payment, with nothing else paying, marks the order failed",
        );
    }
    if policy.unpaid_may_fail && !facts.processing(order).is_empty() {
        return Expectation {
            allowed: [OrderState::Pending, OrderState::Failed].into(),
            rule: "policy: a completed-but-unpaid session may mark the order failed",
        };
    }
    Expectation::only(
        OrderState::Pending,
        "without a matching payment the order stays pending",
    )
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: String,
    pub expected: String,
    pub observed: String,
}

impl Violation {
    pub fn new(
        rule: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Violation {
            rule: rule.into(),
            expected: expected.into(),
            observed: observed.into(),
        }
    }
}

/// The rules every observation keeps, whatever has or has not been delivered yet.
pub fn check_observation(
    order: &OrderInfo,
    previous: Option<OrderState>,
    observed: &ObservedOrder,
    facts: &Facts,
    policy: &Policy,
) -> Option<Violation> {
    let state = observed.state;
    if !is_stripe(order) && state != OrderState::Pending {
        return Some(Violation::new(
            "an order of another provider is never changed by Stripe events",
            "pending",
            state.as_str(),
        ));
    }
    if let Some(prev) = previous {
        if prev == OrderState::Refunded && state != OrderState::Refunded {
            return Some(Violation::new(
                "refunded is final",
                "refunded",
                state.as_str(),
            ));
        }
        if prev == OrderState::Paid && matches!(state, OrderState::Pending | OrderState::Failed) {
            return Some(Violation::new(
                "paid never goes back to pending or failed",
                "paid or refunded",
                state.as_str(),
            ));
        }
    }
    let payments = facts.payments(order);
    match state {
        OrderState::Paid | OrderState::Refunded if payments.is_empty() => {
            return Some(Violation::new(
                "never paid without a real payment of exactly the order's amount and currency",
                "pending (Stripe shows no such payment)",
                state.as_str(),
            ));
        }
        OrderState::Refunded => {
            let refunded = if policy.partial_refund_marks_refunded {
                payments.iter().any(|p| p.any_refund)
            } else {
                payments.iter().any(|p| p.ever_fully_refunded)
            };
            if !refunded {
                let rule = if payments.iter().any(|p| p.any_refund) {
                    "a partial refund leaves the order paid (policy: only a full refund marks it refunded)"
                } else {
                    "refunded only after a refund"
                };
                return Some(Violation::new(rule, "paid", "refunded"));
            }
        }
        OrderState::Failed => {
            let allowed = !facts.failed_delayed(order).is_empty()
                || (policy.unpaid_may_fail && !facts.processing(order).is_empty());
            if !allowed {
                let rule = if !facts.processing(order).is_empty() {
                    "a completed-but-unpaid session leaves the order pending until the outcome"
                } else {
                    "failed only after a delayed payment failed"
                };
                return Some(Violation::new(rule, "pending", "failed"));
            }
        }
        _ => {}
    }
    if matches!(state, OrderState::Paid | OrderState::Refunded) {
        if let Some(v) = check_references(observed, &payments) {
            return Some(v);
        }
    }
    None
}

/// `providerOrderId` must name the session that paid and `providerCaptureId` its PaymentIntent.
fn check_references(observed: &ObservedOrder, payments: &[&SessionFact]) -> Option<Violation> {
    let session = observed.provider_order_id.as_deref();
    let intent = observed.provider_capture_id.as_deref();
    let ok = payments
        .iter()
        .any(|p| Some(p.id.as_str()) == session && p.payment_intent.as_deref() == intent);
    if ok {
        return None;
    }
    let expected: Vec<String> = payments
        .iter()
        .map(|p| {
            format!(
                "providerOrderId={} providerCaptureId={}",
                p.id,
                p.payment_intent.as_deref().unwrap_or("null")
            )
        })
        .collect();
    Some(Violation::new(
        "a paid order records the paying session (providerOrderId) and its PaymentIntent (providerCaptureId)",
        expected.join(" or "),
        format!("providerOrderId={} providerCaptureId={}", session.unwrap_or("null"), intent.unwrap_or("null")),
    ))
}

/// The final check, once every delivery and retry is done.
pub fn check_final(
    order: &OrderInfo,
    observed: &ObservedOrder,
    facts: &Facts,
    policy: &Policy,
) -> Option<Violation> {
    let expectation = expected(order, facts, policy);
    if !expectation.allowed.contains(&observed.state) {
        return Some(Violation::new(
            format!("converges to Stripe's ground truth: {}", expectation.rule),
            expectation.describe(),
            observed.state.as_str(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn order() -> OrderInfo {
        OrderInfo {
            alias: "a".into(),
            id: "ord_1".into(),
            amount: 19900,
            currency: "USD".into(),
            provider: "stripe".into(),
        }
    }

    fn paid_session() -> SessionFact {
        SessionFact {
            id: "cs_1".into(),
            client_reference_id: Some("ord_1".into()),
            amount_total: 19900,
            currency: "usd".into(),
            status: SessionStatus::Complete,
            payment_status: PaymentStatus::Paid,
            payment_intent: Some("pi_1".into()),
            intent_status: Some(PaymentIntentStatus::Succeeded),
            charge: Some("ch_1".into()),
            ever_fully_refunded: false,
            any_refund: false,
        }
    }

    fn observed(state: OrderState) -> ObservedOrder {
        ObservedOrder {
            state,
            provider_order_id: Some("cs_1".into()),
            provider_capture_id: Some("pi_1".into()),
            raw: Value::Null,
        }
    }

    #[test]
    fn a_matching_paid_session_means_paid_whatever_the_currency_case() {
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        assert_eq!(
            expected(&order(), &facts, &Policy::default()).allowed,
            [OrderState::Paid].into()
        );
    }

    #[test]
    fn an_amount_mismatch_is_not_a_payment() {
        let facts = Facts {
            sessions: vec![SessionFact {
                amount_total: 100,
                ..paid_session()
            }],
        };
        assert_eq!(
            expected(&order(), &facts, &Policy::default()).allowed,
            [OrderState::Pending].into()
        );
        let v = check_observation(
            &order(),
            None,
            &observed(OrderState::Paid),
            &facts,
            &Policy::default(),
        )
        .unwrap();
        assert!(v.rule.starts_with("never paid without a real payment"));
    }

    #[test]
    fn partial_refunds_follow_the_policy() {
        let facts = Facts {
            sessions: vec![SessionFact {
                any_refund: true,
                ..paid_session()
            }],
        };
        assert_eq!(
            expected(&order(), &facts, &Policy::default()).allowed,
            [OrderState::Paid].into()
        );
        let lenient = Policy {
            partial_refund_marks_refunded: true,
            ..Policy::default()
        };
        assert_eq!(
            expected(&order(), &facts, &lenient).allowed,
            [OrderState::Refunded].into()
        );
        assert!(check_observation(
            &order(),
            None,
            &observed(OrderState::Refunded),
            &facts,
            &Policy::default()
        )
        .is_some());
    }

    #[test]
    fn refunded_is_final_and_paid_never_goes_back() {
        let facts = Facts {
            sessions: vec![SessionFact {
                any_refund: true,
                ever_fully_refunded: true,
                ..paid_session()
            }],
        };
        let v = check_observation(
            &order(),
            Some(OrderState::Refunded),
            &observed(OrderState::Paid),
            &facts,
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(v.rule, "refunded is final");
        let v = check_observation(
            &order(),
            Some(OrderState::Paid),
            &observed(OrderState::Pending),
            &facts,
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(v.rule, "paid never goes back to pending or failed");
    }

    #[test]
    fn a_paid_order_must_name_the_paying_session() {
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        let mut wrong = observed(OrderState::Paid);
        wrong.provider_capture_id = Some("pi_other".into());
        let v = check_observation(&order(), None, &wrong, &facts, &Policy::default()).unwrap();
        assert!(v.rule.contains("providerCaptureId"));
    }

    #[test]
    fn other_providers_stay_pending() {
        let other = OrderInfo {
            provider: "paypal".into(),
            ..order()
        };
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        assert_eq!(
            expected(&other, &facts, &Policy::default()).allowed,
            [OrderState::Pending].into()
        );
        assert!(check_observation(
            &other,
            None,
            &observed(OrderState::Paid),
            &facts,
            &Policy::default()
        )
        .is_some());
    }

    #[test]
    fn a_failed_delayed_payment_means_failed_and_processing_means_pending() {
        let failed = SessionFact {
            payment_status: PaymentStatus::Unpaid,
            intent_status: Some(PaymentIntentStatus::RequiresPaymentMethod),
            ..paid_session()
        };
        let facts = Facts {
            sessions: vec![failed],
        };
        assert_eq!(
            expected(&order(), &facts, &Policy::default()).allowed,
            [OrderState::Failed].into()
        );
        let processing = SessionFact {
            payment_status: PaymentStatus::Unpaid,
            intent_status: Some(PaymentIntentStatus::Processing),
            ..paid_session()
        };
        let facts = Facts {
            sessions: vec![processing],
        };
        let v = check_observation(
            &order(),
            None,
            &observed(OrderState::Failed),
            &facts,
            &Policy::default(),
        )
        .unwrap();
        assert!(v.rule.contains("until the outcome"));
    }
}
