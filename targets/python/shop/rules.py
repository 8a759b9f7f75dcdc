"""The payment rules, pure: which Stripe object changes which order, and how.

Nothing here talks to Stripe or the database; the webhook handler feeds plain facts in and
applies the returned decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .db import Order

PENDING, PAID, FAILED, REFUNDED = "pending", "paid", "failed", "refunded"
STRIPE = "stripe"


@dataclass(frozen=True)
class SessionFacts:
    """The fields of a Checkout Session the rules read."""

    id: str
    client_reference_id: str | None
    amount_total: int | None
    currency: str | None
    payment_status: str | None
    payment_intent: str | None

    @classmethod
    def from_stripe(cls, session: Any) -> SessionFacts:
        intent = getattr(session, "payment_intent", None)
        if intent is not None and not isinstance(intent, str):  # expanded
            intent = intent.id
        return cls(
            id=session.id,
            client_reference_id=getattr(session, "client_reference_id", None),
            amount_total=getattr(session, "amount_total", None),
            currency=getattr(session, "currency", None),
            payment_status=getattr(session, "payment_status", None),
            payment_intent=intent,
        )


@dataclass(frozen=True)
class ChargeFacts:
    """The fields of a Charge the rules read."""

    id: str
    payment_intent: str | None
    refunded: bool
    amount: int | None
    amount_refunded: int | None

    @classmethod
    def from_stripe(cls, charge: Any) -> ChargeFacts:
        intent = getattr(charge, "payment_intent", None)
        if intent is not None and not isinstance(intent, str):
            intent = intent.id
        return cls(
            id=charge.id,
            payment_intent=intent,
            refunded=getattr(charge, "refunded", False) is True,
            amount=getattr(charge, "amount", None),
            amount_refunded=getattr(charge, "amount_refunded", None),
        )


@dataclass(frozen=True)
class Decision:
    """Either a new status (with the Stripe ids to store) or the reason nothing changes."""

    status: str | None = None
    provider_order_id: str | None = None
    provider_capture_id: str | None = None
    reason: str = ""

    @classmethod
    def ignore(cls, reason: str) -> Decision:
        return cls(reason=reason)


def mismatch(order: Order, session: SessionFacts) -> str | None:
    """Why this session cannot pay this order, or None when it can."""
    if order.provider != STRIPE:
        return f"order provider is {order.provider}, not stripe"
    if session.amount_total != order.amount:
        return f"amount mismatch: order {order.amount}, session {session.amount_total}"
    if (session.currency or "").casefold() != order.currency.casefold():
        return f"currency mismatch: order {order.currency}, session {session.currency}"
    return None


def session_succeeded(order: Order, session: SessionFacts) -> Decision:
    """checkout.session.completed and checkout.session.async_payment_succeeded."""
    if why := mismatch(order, session):
        return Decision.ignore(why)
    if session.payment_status != "paid":
        # A delayed method (SEPA, ACH): completed but unpaid. The outcome comes later.
        return Decision.ignore(f"payment_status is {session.payment_status}; waiting for the outcome")
    if order.status in (PENDING, FAILED):
        return Decision(PAID, session.id, session.payment_intent)
    if order.status == PAID:
        return Decision.ignore("order already paid")
    return Decision.ignore("order is refunded, which is final")


def session_async_failed(order: Order, session: SessionFacts) -> Decision:
    """checkout.session.async_payment_failed: only a pending order fails."""
    if why := mismatch(order, session):
        return Decision.ignore(why)
    if order.status != PENDING:
        return Decision.ignore(f"order is {order.status}, not pending")
    return Decision(FAILED)


def charge_refunded(order: Order, charge: ChargeFacts) -> Decision:
    """charge.refunded for the payment this order recorded: only a full refund refunds it."""
    if not charge.refunded:
        return Decision.ignore(f"partial refund ({charge.amount_refunded} of {charge.amount})")
    if order.status == REFUNDED:
        return Decision.ignore("order already refunded")
    return Decision(REFUNDED)


def early_refund(order: Order | None, session: SessionFacts | None, charge: ChargeFacts) -> Decision:
    """charge.refunded for a payment no order has recorded yet (its event is late or lost).

    Stripe told us which Checkout Session the payment belongs to. If that session paid one of
    our orders, the order was paid and is now refunded: record both at once.
    """
    if not charge.refunded:
        return Decision.ignore(f"partial refund ({charge.amount_refunded} of {charge.amount})")
    if session is None or order is None:
        return Decision.ignore("payment does not belong to one of our orders")
    if why := mismatch(order, session):
        return Decision.ignore(why)
    if session.payment_status != "paid":
        return Decision.ignore(f"session payment_status is {session.payment_status}")
    if order.status == REFUNDED:
        return Decision.ignore("order already refunded")
    if order.provider_capture_id and order.provider_capture_id != charge.payment_intent:
        return Decision.ignore("order was paid by another payment, which is not refunded")
    return Decision(REFUNDED, session.id, charge.payment_intent)
