//! The payment rules: what each Stripe event does to an order.
//!
//! Pure functions of (current order, Stripe object, defect) → [`Decision`]. Stripe delivers at
//! least once and in no particular order, so every transition is guarded by the order's current
//! state rather than by "have I seen this event": a duplicate, or a late event, then cannot undo
//! a later truth. The rules:
//!
//! * a session pays an order only if the order is a `stripe` order and `amount_total`/`currency`
//!   match it (currency case-insensitively: Stripe sends `usd`, the order says `USD`);
//! * `payment_status: paid` marks `pending`/`failed` orders paid; `unpaid` (delayed methods)
//!   leaves them as they are; `refunded` is final and `paid` is never undone by a session event;
//! * `async_payment_failed` fails only a `pending` order;
//! * `charge.refunded` refunds only when the charge says `refunded: true` (fully refunded).

use std::fmt;

use crate::defect::{Defect, DefectExt};
use crate::order::{Order, OrderStatus};
use crate::stripe_objects::{Charge, CheckoutSession, PaymentStatus};
use crate::variant::SecondPayment;

/// A change to write to an order. `None` ids keep the stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub status: OrderStatus,
    pub provider_order_id: Option<String>,
    pub provider_capture_id: Option<String>,
}

impl Update {
    fn status(status: OrderStatus) -> Update {
        Update {
            status,
            provider_order_id: None,
            provider_capture_id: None,
        }
    }

    fn paid_by(session: &CheckoutSession) -> Update {
        Update {
            status: OrderStatus::Paid,
            provider_order_id: Some(session.id.clone()),
            provider_capture_id: session.payment_intent.clone(),
        }
    }
}

/// Why an event leaves an order alone; logged, never sent to Stripe (it only needs a 2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    NoClientReference,
    UnknownOrder(String),
    OtherProvider(String),
    AmountMismatch {
        order: i64,
        paid: Option<i64>,
    },
    CurrencyMismatch {
        order: String,
        paid: Option<String>,
    },
    NotPaidYet(PaymentStatus),
    AlreadyPaid,
    RefundedIsFinal,
    NotPending(OrderStatus),
    PartialRefund {
        amount: i64,
        amount_refunded: i64,
    },
    AlreadyRefunded,
    NoPaymentIntent,
    /// The refunded payment is not one of ours (or not a genuine payment for our order).
    NotOurPayment,
    /// The order was paid by a different PaymentIntent; this refund is of a payment we never
    /// recorded, so waiting cannot help.
    PaidByAnotherPayment,
    UnhandledEventType(String),
    /// A defect switched the handling off.
    Defect(Defect),
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::NoClientReference => write!(f, "session has no client_reference_id"),
            Ignored::UnknownOrder(id) => write!(f, "no order {id:?}"),
            Ignored::OtherProvider(p) => write!(f, "order provider is {p:?}, not stripe"),
            Ignored::AmountMismatch { order, paid } => {
                write!(f, "amount mismatch: order {order}, session {paid:?}")
            }
            Ignored::CurrencyMismatch { order, paid } => {
                write!(f, "currency mismatch: order {order}, session {paid:?}")
            }
            Ignored::NotPaidYet(status) => {
                write!(f, "payment_status is {}; waiting", status.as_str())
            }
            Ignored::AlreadyPaid => write!(f, "order already paid"),
            Ignored::RefundedIsFinal => write!(f, "order is refunded, which is final"),
            Ignored::NotPending(status) => write!(f, "order is {status}, not pending"),
            Ignored::PartialRefund {
                amount,
                amount_refunded,
            } => write!(f, "partial refund ({amount_refunded} of {amount})"),
            Ignored::AlreadyRefunded => write!(f, "order already refunded"),
            Ignored::NoPaymentIntent => write!(f, "charge has no payment_intent"),
            Ignored::NotOurPayment => write!(f, "payment does not belong to one of our orders"),
            Ignored::PaidByAnotherPayment => {
                write!(f, "order was paid by another payment intent")
            }
            Ignored::UnhandledEventType(t) => write!(f, "event type {t} is not handled"),
            Ignored::Defect(defect) => write!(f, "ignored (defect {defect})"),
        }
    }
}

/// What to do with an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Update(Update),
    Ignore(Ignored),
}

/// What to answer for a refund of a payment no order knows yet (see [`unknown_refund`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownRefund {
    /// The payment is genuine and ours but its completed event has not arrived: answer 503 so
    /// Stripe delivers the refund again later, after the payment.
    RetryLater,
    Ignore(Ignored),
}

/// Does this session pay for this order at all? Provider, amount and currency.
pub fn session_matches(
    order: &Order,
    session: &CheckoutSession,
    defect: Option<Defect>,
) -> Result<(), Ignored> {
    // DEFECT(provider_ignored): the handler forgets that orders can belong to other providers,
    // as code written for a single provider does, so a Stripe event pays a PayPal order.
    if !order.is_stripe() && !defect.is(Defect::ProviderIgnored) {
        return Err(Ignored::OtherProvider(order.provider.clone()));
    }
    // DEFECT(noamount): "Stripe already charged the right price" — but the buyer can edit a
    // Payment Link's line items or pay a cheaper link with our order id in client_reference_id.
    if defect.is(Defect::NoAmount) {
        return Ok(());
    }
    if session.amount_total != Some(order.amount) {
        return Err(Ignored::AmountMismatch {
            order: order.amount,
            paid: session.amount_total,
        });
    }
    let currency_matches = match &session.currency {
        // DEFECT(currency_case): a plain `==` between Stripe's lowercase `usd` and the order's
        // `USD` never matches, so every genuine payment is rejected as a mismatch.
        Some(paid) if defect.is(Defect::CurrencyCase) => *paid == order.currency,
        Some(paid) => paid.eq_ignore_ascii_case(&order.currency),
        None => false,
    };
    if !currency_matches {
        return Err(Ignored::CurrencyMismatch {
            order: order.currency.clone(),
            paid: session.currency.clone(),
        });
    }
    Ok(())
}

/// `checkout.session.completed` and `checkout.session.async_payment_succeeded`.
pub fn session_succeeded(
    order: &Order,
    session: &CheckoutSession,
    defect: Option<Defect>,
) -> Decision {
    if let Err(ignored) = session_matches(order, session, defect) {
        return Decision::Ignore(ignored);
    }
    // DEFECT(unpaid_fails): "completed but not paid means it failed" plus status writes that
    // never look at the current status; a delayed SEPA payment is marked failed, and any
    // late event overwrites whatever the order had become.
    if defect.is(Defect::UnpaidFails) {
        return match session.payment_status {
            PaymentStatus::Paid => Decision::Update(Update::paid_by(session)),
            PaymentStatus::Unpaid => Decision::Update(Update::status(OrderStatus::Failed)),
            ref other => Decision::Ignore(Ignored::NotPaidYet(other.clone())),
        };
    }
    if session.payment_status != PaymentStatus::Paid {
        // Delayed methods complete the session unpaid; the async_* event settles it later.
        return Decision::Ignore(Ignored::NotPaidYet(session.payment_status.clone()));
    }
    match order.status {
        OrderStatus::Pending | OrderStatus::Failed => Decision::Update(Update::paid_by(session)),
        OrderStatus::Paid => Decision::Ignore(Ignored::AlreadyPaid),
        // DEFECT(resurrect): the handler only guards against re-paying a paid order, so a late
        // or redelivered completed event revives a refunded order and re-grants access.
        OrderStatus::Refunded if defect.is(Defect::Resurrect) => {
            Decision::Update(Update::paid_by(session))
        }
        OrderStatus::Refunded => Decision::Ignore(Ignored::RefundedIsFinal),
    }
}

/// [`session_succeeded`] in a design: with [`SecondPayment::RecordLatest`], a paying session
/// later than the one a paid order recorded (`recorded`, read from Stripe) replaces it.
pub fn session_succeeded_in(
    order: &Order,
    session: &CheckoutSession,
    defect: Option<Defect>,
    second: SecondPayment,
    recorded: Option<&CheckoutSession>,
) -> Decision {
    let decision = session_succeeded(order, session, defect);
    // VARIANT(latest_session): the order names the payment the buyer made last; both are
    // genuine, and the spec asks only that the order name a session that paid it. "Last" is by
    // Stripe's clock, not by arrival: deliveries come in any order, and a refund of the earlier
    // payment must still find the order it was waiting for (see `refund_of_newer_payment`).
    if second == SecondPayment::RecordLatest
        && decision == Decision::Ignore(Ignored::AlreadyPaid)
        && order.provider_order_id.as_deref() != Some(session.id.as_str())
        && recorded.is_some_and(|r| later(session, r))
    {
        return Decision::Update(Update::paid_by(session));
    }
    decision
}

/// Whether `a` was created after `b` (at the same second: the greater id), on Stripe's clock.
pub fn later(a: &CheckoutSession, b: &CheckoutSession) -> bool {
    (a.created.unwrap_or(0), a.id.as_str()) > (b.created.unwrap_or(0), b.id.as_str())
}

/// VARIANT(latest_session): a full refund of a genuine payment of a paid order that records
/// an earlier payment: the refunded payment's completion will make the order record it, so the
/// refund waits for that (503) instead of being dropped as another payment's.
pub fn refund_of_newer_payment(
    order: &Order,
    session: &CheckoutSession,
    recorded: &CheckoutSession,
) -> bool {
    order.status == OrderStatus::Paid
        && order.provider_order_id.as_deref() == Some(recorded.id.as_str())
        && later(session, recorded)
}

/// A full refund of a genuine payment of ours whose own event has not been applied yet (what
/// [`unknown_refund`] answers [`UnknownRefund::RetryLater`] for), in the design that applies it
/// at once: the order was paid by that session and is refunded now. A partial refund changes
/// nothing: the payment's event, when it comes, marks the order paid.
pub fn refund_at_once(session: &CheckoutSession, charge: &Charge) -> Decision {
    if !charge.refunded {
        return Decision::Ignore(Ignored::PartialRefund {
            amount: charge.amount,
            amount_refunded: charge.amount_refunded,
        });
    }
    Decision::Update(Update {
        status: OrderStatus::Refunded,
        provider_order_id: Some(session.id.clone()),
        provider_capture_id: charge
            .payment_intent
            .clone()
            .or_else(|| session.payment_intent.clone()),
    })
}

/// `checkout.session.async_payment_failed`.
pub fn session_async_failed(
    order: &Order,
    session: &CheckoutSession,
    defect: Option<Defect>,
) -> Decision {
    // DEFECT(async_fail_ignored): only `completed` was wired up, as in most quick-start code;
    // a failed bank debit leaves the order pending forever.
    if defect.is(Defect::AsyncFailIgnored) {
        return Decision::Ignore(Ignored::Defect(Defect::AsyncFailIgnored));
    }
    if let Err(ignored) = session_matches(order, session, defect) {
        return Decision::Ignore(ignored);
    }
    // DEFECT(unpaid_fails): last write wins, so a stale failure overwrites a paid order.
    if defect.is(Defect::UnpaidFails) {
        return Decision::Update(Update::status(OrderStatus::Failed));
    }
    match order.status {
        OrderStatus::Pending => Decision::Update(Update::status(OrderStatus::Failed)),
        other => Decision::Ignore(Ignored::NotPending(other)),
    }
}

/// `charge.refunded` for the order whose `providerCaptureId` is the charge's PaymentIntent.
pub fn charge_refunded(order: &Order, charge: &Charge, defect: Option<Defect>) -> Decision {
    // DEFECT(partial_refund_full): the event's name is taken as the fact; `refunded` (true only
    // once fully refunded) is never read, so a $1 goodwill refund revokes the purchase.
    if !charge.refunded && !defect.is(Defect::PartialRefundFull) {
        return Decision::Ignore(Ignored::PartialRefund {
            amount: charge.amount,
            amount_refunded: charge.amount_refunded,
        });
    }
    match order.status {
        OrderStatus::Refunded => Decision::Ignore(Ignored::AlreadyRefunded),
        _ => Decision::Update(Update::status(OrderStatus::Refunded)),
    }
}

/// A refund for a PaymentIntent no order has recorded. `session` is the Checkout Session Stripe
/// returned for that PaymentIntent (if any) and `order` the order it names (if any).
pub fn unknown_refund(
    session: Option<&CheckoutSession>,
    order: Option<&Order>,
    defect: Option<Defect>,
) -> UnknownRefund {
    let (Some(session), Some(order)) = (session, order) else {
        return UnknownRefund::Ignore(Ignored::NotOurPayment);
    };
    if session.payment_status != PaymentStatus::Paid
        || session_matches(order, session, defect).is_err()
    {
        return UnknownRefund::Ignore(Ignored::NotOurPayment);
    }
    if order.provider_capture_id.is_some() {
        return UnknownRefund::Ignore(Ignored::PaidByAnotherPayment);
    }
    UnknownRefund::RetryLater
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: OrderStatus) -> Order {
        Order {
            id: "ord_1".into(),
            product_id: "lifetime".into(),
            product_name: "Lifetime".into(),
            amount: 19900,
            currency: "USD".into(),
            provider: "stripe".into(),
            status,
            provider_order_id: None,
            provider_capture_id: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn session(payment_status: PaymentStatus) -> CheckoutSession {
        CheckoutSession {
            id: "cs_test_1".into(),
            client_reference_id: Some("ord_1".into()),
            amount_total: Some(19900),
            currency: Some("usd".into()),
            payment_status,
            status: crate::stripe_objects::SessionStatus::Complete,
            payment_intent: Some("pi_1".into()),
            created: Some(1),
        }
    }

    fn charge(refunded: bool) -> Charge {
        Charge {
            id: "ch_1".into(),
            payment_intent: Some("pi_1".into()),
            amount: 19900,
            amount_refunded: if refunded { 19900 } else { 500 },
            refunded,
            currency: Some("usd".into()),
        }
    }

    fn paid_update() -> Decision {
        Decision::Update(Update {
            status: OrderStatus::Paid,
            provider_order_id: Some("cs_test_1".into()),
            provider_capture_id: Some("pi_1".into()),
        })
    }

    #[test]
    fn a_paid_matching_session_pays_a_pending_order_and_records_its_ids() {
        let decision = session_succeeded(
            &order(OrderStatus::Pending),
            &session(PaymentStatus::Paid),
            None,
        );
        assert_eq!(decision, paid_update());
    }

    #[test]
    fn a_paid_session_pays_a_failed_order_because_the_buyer_may_retry() {
        let decision = session_succeeded(
            &order(OrderStatus::Failed),
            &session(PaymentStatus::Paid),
            None,
        );
        assert_eq!(decision, paid_update());
    }

    #[test]
    fn an_unpaid_completion_leaves_the_order_alone() {
        let decision = session_succeeded(
            &order(OrderStatus::Pending),
            &session(PaymentStatus::Unpaid),
            None,
        );
        assert_eq!(
            decision,
            Decision::Ignore(Ignored::NotPaidYet(PaymentStatus::Unpaid))
        );
    }

    #[test]
    fn a_refunded_order_is_never_paid_again() {
        let decision = session_succeeded(
            &order(OrderStatus::Refunded),
            &session(PaymentStatus::Paid),
            None,
        );
        assert_eq!(decision, Decision::Ignore(Ignored::RefundedIsFinal));
    }

    #[test]
    fn amount_currency_and_provider_must_match() {
        let mut cheap = session(PaymentStatus::Paid);
        cheap.amount_total = Some(100);
        assert!(matches!(
            session_succeeded(&order(OrderStatus::Pending), &cheap, None),
            Decision::Ignore(Ignored::AmountMismatch { .. })
        ));
        let mut euros = session(PaymentStatus::Paid);
        euros.currency = Some("eur".into());
        assert!(matches!(
            session_succeeded(&order(OrderStatus::Pending), &euros, None),
            Decision::Ignore(Ignored::CurrencyMismatch { .. })
        ));
        let mut paypal = order(OrderStatus::Pending);
        paypal.provider = "paypal".into();
        assert!(matches!(
            session_succeeded(&paypal, &session(PaymentStatus::Paid), None),
            Decision::Ignore(Ignored::OtherProvider(_))
        ));
    }

    #[test]
    fn async_failure_fails_only_pending_orders() {
        let failed = session(PaymentStatus::Unpaid);
        assert_eq!(
            session_async_failed(&order(OrderStatus::Pending), &failed, None),
            Decision::Update(Update::status(OrderStatus::Failed))
        );
        for status in [
            OrderStatus::Paid,
            OrderStatus::Refunded,
            OrderStatus::Failed,
        ] {
            assert_eq!(
                session_async_failed(&order(status), &failed, None),
                Decision::Ignore(Ignored::NotPending(status))
            );
        }
    }

    #[test]
    fn only_a_full_refund_refunds_the_order() {
        assert_eq!(
            charge_refunded(&order(OrderStatus::Paid), &charge(true), None),
            Decision::Update(Update::status(OrderStatus::Refunded))
        );
        assert!(matches!(
            charge_refunded(&order(OrderStatus::Paid), &charge(false), None),
            Decision::Ignore(Ignored::PartialRefund { .. })
        ));
    }

    #[test]
    fn a_refund_of_a_genuine_unrecorded_payment_asks_for_a_retry() {
        let paid = session(PaymentStatus::Paid);
        let pending = order(OrderStatus::Pending);
        assert_eq!(
            unknown_refund(Some(&paid), Some(&pending), None),
            UnknownRefund::RetryLater
        );
        assert_eq!(
            unknown_refund(None, None, None),
            UnknownRefund::Ignore(Ignored::NotOurPayment)
        );
        let mut other = order(OrderStatus::Paid);
        other.provider_capture_id = Some("pi_other".into());
        assert_eq!(
            unknown_refund(Some(&paid), Some(&other), None),
            UnknownRefund::Ignore(Ignored::PaidByAnotherPayment)
        );
    }

    #[test]
    fn each_rule_defect_changes_the_decision() {
        let pending = order(OrderStatus::Pending);
        let mut cheap = session(PaymentStatus::Paid);
        cheap.amount_total = Some(1);
        assert!(matches!(
            session_succeeded(&pending, &cheap, Some(Defect::NoAmount)),
            Decision::Update(_)
        ));
        assert!(matches!(
            session_succeeded(
                &pending,
                &session(PaymentStatus::Paid),
                Some(Defect::CurrencyCase)
            ),
            Decision::Ignore(Ignored::CurrencyMismatch { .. })
        ));
        assert_eq!(
            session_succeeded(
                &pending,
                &session(PaymentStatus::Unpaid),
                Some(Defect::UnpaidFails)
            ),
            Decision::Update(Update::status(OrderStatus::Failed))
        );
        assert_eq!(
            session_succeeded(
                &order(OrderStatus::Refunded),
                &session(PaymentStatus::Paid),
                Some(Defect::Resurrect)
            ),
            paid_update()
        );
        let mut paypal = order(OrderStatus::Pending);
        paypal.provider = "paypal".into();
        assert_eq!(
            session_succeeded(
                &paypal,
                &session(PaymentStatus::Paid),
                Some(Defect::ProviderIgnored)
            ),
            paid_update()
        );
        assert_eq!(
            session_async_failed(
                &pending,
                &session(PaymentStatus::Unpaid),
                Some(Defect::AsyncFailIgnored)
            ),
            Decision::Ignore(Ignored::Defect(Defect::AsyncFailIgnored))
        );
        assert_eq!(
            charge_refunded(
                &order(OrderStatus::Paid),
                &charge(false),
                Some(Defect::PartialRefundFull)
            ),
            Decision::Update(Update::status(OrderStatus::Refunded))
        );
    }
}
