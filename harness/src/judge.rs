//! The judge: what Stripe's ground truth says each order must be, and the rules every
//! observation must keep.
//!
//! Expected states come from what really happened in the simulator (sessions, PaymentIntents,
//! charges, refunds), never from the order webhooks arrived in. Where the spec allows more than
//! one state, the judge accepts the set and names the rule. Every rule it evaluates is counted in
//! a [`RuleTally`], passed or failed, so a report can say which rules were checked and how often.
//! Messages name sessions by their alias (`s1`) beside the raw id.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stripe_sim::{PaymentIntentStatus, PaymentStatus, SessionId, SessionStatus, Simulator};

use crate::rules::Rule;
use crate::state::{ObservedOrder, OrderState};
use crate::target_file::Policy;

/// An order as the harness created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// The scenario's name for it (`s1`), when the scenario made it.
    pub alias: Option<String>,
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

impl SessionFact {
    /// `s1 (cs_test_…)`, or the raw id alone.
    pub fn named(&self) -> String {
        match &self.alias {
            Some(alias) => format!("{alias} ({})", self.id),
            None => self.id.clone(),
        }
    }

    /// `20000 usd`.
    fn price(&self) -> String {
        format!("{} {}", self.amount_total, self.currency)
    }

    /// A delayed payment that completed the session unpaid, then failed.
    fn delayed_failed(&self) -> bool {
        self.status == SessionStatus::Complete
            && self.payment_status == PaymentStatus::Unpaid
            && self.intent_status == Some(PaymentIntentStatus::RequiresPaymentMethod)
    }

    /// A delayed payment still settling.
    fn delayed_processing(&self) -> bool {
        self.status == SessionStatus::Complete
            && self.payment_status == PaymentStatus::Unpaid
            && self.intent_status == Some(PaymentIntentStatus::Processing)
    }
}

/// Everything the judge knows about the simulator at one moment.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub sessions: Vec<SessionFact>,
}

impl Facts {
    /// Reads what the simulator knows about these orders, through its public handle; sessions
    /// the scenario named get their alias.
    pub fn gather(
        sim: &Simulator,
        orders: &[OrderInfo],
        aliases: &BTreeMap<String, SessionId>,
    ) -> Facts {
        let references: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
        let sessions = sim
            .payment_facts(&references)
            .into_iter()
            .map(|(s, refunds)| SessionFact {
                alias: aliases
                    .iter()
                    .find(|(_, id)| **id == s.id)
                    .map(|(alias, _)| alias.clone()),
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

    /// Sessions carrying the order's id, whatever their price.
    fn of_order<'a>(&'a self, order: &'a OrderInfo) -> impl Iterator<Item = &'a SessionFact> + 'a {
        self.sessions
            .iter()
            .filter(move |s| s.client_reference_id.as_deref() == Some(order.id.as_str()))
    }

    /// Sessions carrying the order's id whose price is exactly the order's amount and currency.
    fn matching<'a>(&'a self, order: &'a OrderInfo) -> impl Iterator<Item = &'a SessionFact> + 'a {
        self.of_order(order).filter(move |s| {
            s.amount_total == order.amount && s.currency.eq_ignore_ascii_case(&order.currency)
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
            .filter(|s| s.delayed_failed())
            .collect()
    }

    /// Matching delayed payments still processing.
    fn processing<'a>(&'a self, order: &'a OrderInfo) -> Vec<&'a SessionFact> {
        self.matching(order)
            .filter(|s| s.delayed_processing())
            .collect()
    }
}

fn is_stripe(order: &OrderInfo) -> bool {
    order.provider == "stripe"
}

/// `19900 USD`.
fn order_price(order: &OrderInfo) -> String {
    format!("{} {}", order.amount, order.currency)
}

/// The states an order may end in, and the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub allowed: BTreeSet<OrderState>,
    pub rule: Rule,
    /// Why, in this case: the facts behind it.
    pub basis: String,
}

impl Expectation {
    fn only(state: OrderState, rule: Rule, basis: impl Into<String>) -> Self {
        Expectation {
            allowed: [state].into(),
            rule,
            basis: basis.into(),
        }
    }

    pub fn describe(&self) -> String {
        let states: Vec<&str> = self.allowed.iter().map(|s| s.as_str()).collect();
        states.join(" or ")
    }
}

fn names(sessions: &[&SessionFact]) -> String {
    sessions
        .iter()
        .map(|s| s.named())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What Stripe's ground truth says the order must be once every delivery is done.
pub fn expected(order: &OrderInfo, facts: &Facts, policy: &Policy) -> Expectation {
    if !is_stripe(order) {
        return Expectation::only(
            OrderState::Pending,
            Rule::ConvergesPending,
            format!("its provider is {}, not stripe", order.provider),
        );
    }
    let payments = facts.payments(order);
    if !payments.is_empty() {
        let fully: Vec<&SessionFact> = payments
            .iter()
            .copied()
            .filter(|p| p.ever_fully_refunded)
            .collect();
        let partially = payments.iter().any(|p| p.any_refund);
        if fully.len() == payments.len() {
            return Expectation::only(
                OrderState::Refunded,
                Rule::ConvergesRefunded,
                format!(
                    "{} paid {} and was fully refunded",
                    names(&fully),
                    order_price(order)
                ),
            );
        }
        if !fully.is_empty() {
            return Expectation {
                allowed: [OrderState::Paid, OrderState::Refunded].into(),
                rule: Rule::ConvergesRefunded,
                basis: format!(
                    "paid twice ({}) and {} fully refunded: refunded or still paid",
                    names(&payments),
                    names(&fully)
                ),
            };
        }
        if partially && policy.partial_refund_marks_refunded {
            return Expectation::only(
                OrderState::Refunded,
                Rule::ConvergesRefunded,
                format!(
                    "{} was partly refunded, and the policy says a partial refund marks it refunded",
                    names(&payments)
                ),
            );
        }
        return Expectation::only(
            OrderState::Paid,
            Rule::ConvergesPaid,
            format!("{} paid exactly {}", names(&payments), order_price(order)),
        );
    }
    let failed = facts.failed_delayed(order);
    if !failed.is_empty() {
        return Expectation::only(
            OrderState::Failed,
            Rule::ConvergesFailed,
            format!(
                "the delayed payment of {} ({}) failed and nothing else paid it",
                names(&failed),
                order_price(order)
            ),
        );
    }
    let processing = facts.processing(order);
    if policy.unpaid_may_fail && !processing.is_empty() {
        return Expectation {
            allowed: [OrderState::Pending, OrderState::Failed].into(),
            rule: Rule::ConvergesPending,
            basis: format!(
                "{} is still processing; the policy lets an unpaid completion mark it failed",
                names(&processing)
            ),
        };
    }
    Expectation::only(
        OrderState::Pending,
        Rule::ConvergesPending,
        no_payment_basis(order, facts),
    )
}

/// Why no session pays the order, naming the sessions that came closest.
fn no_payment_basis(order: &OrderInfo, facts: &Facts) -> String {
    let paid_elsewhere: Vec<String> = facts
        .of_order(order)
        .filter(|s| s.payment_status == PaymentStatus::Paid)
        .map(|s| format!("{} paid {}", s.named(), s.price()))
        .collect();
    if paid_elsewhere.is_empty() {
        "Stripe shows no paid session carrying the order's id".to_string()
    } else {
        format!(
            "no payment of exactly {}: {}",
            order_price(order),
            paid_elsewhere.join("; ")
        )
    }
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: Rule,
    /// What happened in this case, with the facts behind it.
    pub detail: String,
    pub expected: String,
    pub observed: String,
}

impl Violation {
    pub fn new(
        rule: Rule,
        detail: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Violation {
            rule,
            detail: detail.into(),
            expected: expected.into(),
            observed: observed.into(),
        }
    }
}

/// How often each rule was checked, and how often it held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTally {
    pub counts: BTreeMap<Rule, Counts>,
}

/// Checks of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl RuleTally {
    pub fn pass(&mut self, rule: Rule) {
        self.counts.entry(rule).or_default().passed += 1;
    }

    pub fn fail(&mut self, rule: Rule) {
        self.counts.entry(rule).or_default().failed += 1;
    }

    /// Records one check: passed when `violation` is `None`.
    pub fn check(&mut self, rule: Rule, violation: Option<Violation>) -> Option<Violation> {
        match &violation {
            None => self.pass(rule),
            Some(_) => self.fail(rule),
        }
        violation
    }

    pub fn merge(&mut self, other: &RuleTally) {
        for (rule, counts) in &other.counts {
            let mine = self.counts.entry(*rule).or_default();
            mine.passed += counts.passed;
            mine.failed += counts.failed;
        }
    }

    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for counts in self.counts.values() {
            total.passed += counts.passed;
            total.failed += counts.failed;
        }
        total
    }
}

/// The rules every observation keeps, whatever has or has not been delivered yet. Each rule that
/// applies is counted in `tally`; the first broken one is returned.
pub fn check_observation(
    order: &OrderInfo,
    previous: Option<OrderState>,
    observed: &ObservedOrder,
    facts: &Facts,
    policy: &Policy,
    tally: &mut RuleTally,
) -> Option<Violation> {
    let state = observed.state;
    if !is_stripe(order) {
        let broken = (state != OrderState::Pending).then(|| {
            Violation::new(
                Rule::OtherProviderUntouched,
                format!(
                    "the order's provider is {}, yet it became {state}",
                    order.provider
                ),
                "pending",
                state.as_str(),
            )
        });
        return tally.check(Rule::OtherProviderUntouched, broken);
    }
    if previous == Some(OrderState::Refunded) {
        let broken = (state != OrderState::Refunded).then(|| {
            Violation::new(
                Rule::RefundedFinal,
                format!("the order was refunded at the previous observation and is now {state}"),
                "refunded",
                state.as_str(),
            )
        });
        if let Some(v) = tally.check(Rule::RefundedFinal, broken) {
            return Some(v);
        }
    }
    if previous == Some(OrderState::Paid) {
        let broken = matches!(state, OrderState::Pending | OrderState::Failed).then(|| {
            Violation::new(
                Rule::PaidStaysPaid,
                format!("the order was paid at the previous observation and is now {state}"),
                "paid or refunded",
                state.as_str(),
            )
        });
        if let Some(v) = tally.check(Rule::PaidStaysPaid, broken) {
            return Some(v);
        }
    }
    let payments = facts.payments(order);
    match state {
        OrderState::Paid | OrderState::Refunded => {
            let broken = payments.is_empty().then(|| {
                Violation::new(
                    Rule::PaidExactAmount,
                    no_payment_basis(order, facts),
                    "pending (Stripe shows no such payment)",
                    state.as_str(),
                )
            });
            if let Some(v) = tally.check(Rule::PaidExactAmount, broken) {
                return Some(v);
            }
            if state == OrderState::Refunded {
                if let Some(v) = tally.check(
                    Rule::RefundedAfterFullRefund,
                    check_refunded(order, &payments, policy),
                ) {
                    return Some(v);
                }
            }
            if let Some(v) = tally.check(
                Rule::RecordsPayingSession,
                check_references(observed, &payments),
            ) {
                return Some(v);
            }
        }
        OrderState::Failed => {
            if !facts.processing(order).is_empty() && facts.failed_delayed(order).is_empty() {
                let broken = (!policy.unpaid_may_fail).then(|| {
                    Violation::new(
                        Rule::UnpaidStaysPending,
                        format!(
                            "{} completed unpaid and is still processing: its outcome is not known yet",
                            names(&facts.processing(order))
                        ),
                        "pending",
                        "failed",
                    )
                });
                if let Some(v) = tally.check(Rule::UnpaidStaysPending, broken) {
                    return Some(v);
                }
            } else {
                let broken = facts.failed_delayed(order).is_empty().then(|| {
                    Violation::new(
                        Rule::FailedAfterFailedPayment,
                        failure_basis(order, facts),
                        "pending",
                        "failed",
                    )
                });
                if let Some(v) = tally.check(Rule::FailedAfterFailedPayment, broken) {
                    return Some(v);
                }
            }
        }
        OrderState::Pending => {}
    }
    None
}

/// `refunded-after-full-refund` for an order observed refunded.
fn check_refunded(
    order: &OrderInfo,
    payments: &[&SessionFact],
    policy: &Policy,
) -> Option<Violation> {
    let refunded = if policy.partial_refund_marks_refunded {
        payments.iter().any(|p| p.any_refund)
    } else {
        payments.iter().any(|p| p.ever_fully_refunded)
    };
    if refunded {
        return None;
    }
    let detail = if payments.iter().any(|p| p.any_refund) {
        format!(
            "{} was only partly refunded, and the policy says only a full refund marks the order refunded",
            names(payments)
        )
    } else {
        format!(
            "{} paid {} and nothing was refunded",
            names(payments),
            order_price(order)
        )
    };
    Some(Violation::new(
        Rule::RefundedAfterFullRefund,
        detail,
        "paid",
        "refunded",
    ))
}

/// Why a failed order is wrong: the delayed payments that failed were not the order's.
fn failure_basis(order: &OrderInfo, facts: &Facts) -> String {
    let failed: Vec<&SessionFact> = facts
        .of_order(order)
        .filter(|s| s.delayed_failed())
        .collect();
    match failed.as_slice() {
        [] => format!(
            "no delayed payment of a session for this order ({}) failed",
            order_price(order)
        ),
        [only] => format!(
            "the only delayed payment that failed ({}) was {}, not the order's {}",
            only.named(),
            only.price(),
            order_price(order)
        ),
        several => format!(
            "the delayed payments that failed ({}) were not for the order's {}",
            several
                .iter()
                .map(|s| format!("{}: {}", s.named(), s.price()))
                .collect::<Vec<_>>()
                .join(", "),
            order_price(order)
        ),
    }
}

/// `providerOrderId` must name the session that paid and `providerCaptureId` its PaymentIntent.
fn check_references(observed: &ObservedOrder, payments: &[&SessionFact]) -> Option<Violation> {
    let session = observed.provider_order_id.as_deref();
    let intent = observed.provider_capture_id.as_deref();
    let ok = payments
        .iter()
        .any(|p| Some(p.id.as_str()) == session && p.payment_intent.as_deref() == intent);
    if ok || payments.is_empty() {
        return None;
    }
    let name_of = |id: Option<&str>| -> String {
        match id {
            None => "null".to_string(),
            Some(id) => payments
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.named())
                .unwrap_or_else(|| id.to_string()),
        }
    };
    let intent_name = |id: Option<&str>| -> String {
        match id {
            None => "null".to_string(),
            Some(id) => payments
                .iter()
                .find(|p| p.payment_intent.as_deref() == Some(id))
                .and_then(|p| p.alias.as_ref())
                .map(|alias| format!("{alias}.payment_intent ({id})"))
                .unwrap_or_else(|| id.to_string()),
        }
    };
    let expected: Vec<String> = payments
        .iter()
        .map(|p| {
            format!(
                "providerOrderId={} providerCaptureId={}",
                p.named(),
                intent_name(p.payment_intent.as_deref())
            )
        })
        .collect();
    Some(Violation::new(
        Rule::RecordsPayingSession,
        "the order does not name a session that paid it and that session's PaymentIntent",
        expected.join(" or "),
        format!(
            "providerOrderId={} providerCaptureId={}",
            name_of(session),
            intent_name(intent)
        ),
    ))
}

/// The final check, once every delivery and retry is done.
pub fn check_final(
    order: &OrderInfo,
    observed: &ObservedOrder,
    facts: &Facts,
    policy: &Policy,
    tally: &mut RuleTally,
) -> Option<Violation> {
    let expectation = expected(order, facts, policy);
    let broken = (!expectation.allowed.contains(&observed.state)).then(|| {
        Violation::new(
            expectation.rule,
            expectation.basis.clone(),
            expectation.describe(),
            observed.state.as_str(),
        )
    });
    tally.check(expectation.rule, broken)
}

/// Whether a state may be observed now, and the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    pub state: OrderState,
    pub allowed: bool,
    /// The ground-truth rule when the state is where the order must end; the rule that forbids
    /// it when it is not allowed; `None` for a state allowed only while deliveries are in transit.
    pub rule: Option<Rule>,
}

/// Which states the judge allows for `order` at this observation: the states a correct app may
/// show now, and the rule behind each verdict.
pub fn allowances(
    order: &OrderInfo,
    previous: Option<OrderState>,
    facts: &Facts,
    policy: &Policy,
) -> Vec<Allowance> {
    let truth = expected(order, facts, policy);
    OrderState::ALL
        .into_iter()
        .map(|state| {
            // Judge a hypothetical observation that records the right session.
            let payment = facts.payments(order).first().map(|p| (*p).clone());
            let hypothetical = ObservedOrder {
                state,
                provider_order_id: payment.as_ref().map(|p| p.id.clone()),
                provider_capture_id: payment.and_then(|p| p.payment_intent),
                raw: serde_json::Value::Null,
            };
            let mut scratch = RuleTally::default();
            match check_observation(order, previous, &hypothetical, facts, policy, &mut scratch) {
                Some(v) => Allowance {
                    state,
                    allowed: false,
                    rule: Some(v.rule),
                },
                None => Allowance {
                    state,
                    allowed: true,
                    rule: truth.allowed.contains(&state).then_some(truth.rule),
                },
            }
        })
        .collect()
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
            alias: Some("s1".into()),
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

    fn check(previous: Option<OrderState>, state: OrderState, facts: &Facts) -> Option<Violation> {
        check_observation(
            &order(),
            previous,
            &observed(state),
            facts,
            &Policy::default(),
            &mut RuleTally::default(),
        )
    }

    #[test]
    fn a_matching_paid_session_means_paid_whatever_the_currency_case() {
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        let expectation = expected(&order(), &facts, &Policy::default());
        assert_eq!(expectation.allowed, [OrderState::Paid].into());
        assert_eq!(expectation.rule, Rule::ConvergesPaid);
    }

    #[test]
    fn an_amount_mismatch_is_not_a_payment_and_the_message_says_what_was_paid() {
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
        let v = check(None, OrderState::Paid, &facts).unwrap();
        assert_eq!(v.rule, Rule::PaidExactAmount);
        assert!(v.detail.contains("s1 (cs_1) paid 100 usd"), "{}", v.detail);
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
        let v = check(None, OrderState::Refunded, &facts).unwrap();
        assert_eq!(v.rule, Rule::RefundedAfterFullRefund);
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
        let v = check(Some(OrderState::Refunded), OrderState::Paid, &facts).unwrap();
        assert_eq!(v.rule, Rule::RefundedFinal);
        let v = check(Some(OrderState::Paid), OrderState::Pending, &facts).unwrap();
        assert_eq!(v.rule, Rule::PaidStaysPaid);
    }

    #[test]
    fn a_paid_order_must_name_the_paying_session_by_alias() {
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        let mut wrong = observed(OrderState::Paid);
        wrong.provider_capture_id = Some("pi_other".into());
        let v = check_observation(
            &order(),
            None,
            &wrong,
            &facts,
            &Policy::default(),
            &mut RuleTally::default(),
        )
        .unwrap();
        assert_eq!(v.rule, Rule::RecordsPayingSession);
        assert!(
            v.expected.contains("providerOrderId=s1 (cs_1)"),
            "{}",
            v.expected
        );
        assert!(
            v.expected.contains("s1.payment_intent (pi_1)"),
            "{}",
            v.expected
        );
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
        let v = check_observation(
            &other,
            None,
            &observed(OrderState::Paid),
            &facts,
            &Policy::default(),
            &mut RuleTally::default(),
        )
        .unwrap();
        assert_eq!(v.rule, Rule::OtherProviderUntouched);
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
        let v = check(None, OrderState::Failed, &facts).unwrap();
        assert_eq!(v.rule, Rule::UnpaidStaysPending);
    }

    #[test]
    fn a_failure_of_another_amount_is_named_with_its_price() {
        let other_amount = SessionFact {
            amount_total: 20000,
            payment_status: PaymentStatus::Unpaid,
            intent_status: Some(PaymentIntentStatus::RequiresPaymentMethod),
            ..paid_session()
        };
        let facts = Facts {
            sessions: vec![other_amount],
        };
        let v = check(None, OrderState::Failed, &facts).unwrap();
        assert_eq!(v.rule, Rule::FailedAfterFailedPayment);
        assert_eq!(
            v.detail,
            "the only delayed payment that failed (s1 (cs_1)) was 20000 usd, not the order's 19900 USD"
        );
    }

    #[test]
    fn every_rule_checked_is_counted_passed_or_failed() {
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        let mut tally = RuleTally::default();
        check_observation(
            &order(),
            Some(OrderState::Pending),
            &observed(OrderState::Paid),
            &facts,
            &Policy::default(),
            &mut tally,
        );
        assert_eq!(tally.counts[&Rule::PaidExactAmount].passed, 1);
        assert_eq!(tally.counts[&Rule::RecordsPayingSession].passed, 1);
        check_final(
            &order(),
            &observed(OrderState::Pending),
            &facts,
            &Policy::default(),
            &mut tally,
        );
        assert_eq!(tally.counts[&Rule::ConvergesPaid].failed, 1);
    }

    #[test]
    fn allowances_name_the_rule_behind_each_state() {
        let facts = Facts {
            sessions: vec![paid_session()],
        };
        let allowed = allowances(&order(), None, &facts, &Policy::default());
        let paid = allowed
            .iter()
            .find(|a| a.state == OrderState::Paid)
            .unwrap();
        assert!(paid.allowed);
        assert_eq!(paid.rule, Some(Rule::ConvergesPaid));
        let failed = allowed
            .iter()
            .find(|a| a.state == OrderState::Failed)
            .unwrap();
        assert!(!failed.allowed);
        assert_eq!(failed.rule, Some(Rule::FailedAfterFailedPayment));
        let pending = allowed
            .iter()
            .find(|a| a.state == OrderState::Pending)
            .unwrap();
        assert!(
            pending.allowed && pending.rule.is_none(),
            "pending: deliveries may be in transit"
        );
    }
}
