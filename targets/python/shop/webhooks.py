"""Applying verified Stripe events to orders.

Each event is applied in one transaction that also records its id, so a redelivered or
duplicated event never applies twice; every transition is also guarded by the order's current
state, so events may arrive in any order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from . import rules
from .db import Store, Tx

log = logging.getLogger("shop.webhooks")

# Finds the Checkout Session that created a PaymentIntent (a Stripe API call).
SessionLookup = Callable[[str], "rules.SessionFacts | None"]


class RetryLater(Exception):
    """Answer non-2xx so that Stripe delivers the event again later."""


def _apply(tx: Tx, event: Any, order_id: str | None, decision: rules.Decision) -> dict[str, bool]:
    tx.mark_processed(event.id, event.type)
    if decision.status is None or order_id is None:
        log.info("event %s (%s) ignored: %s", event.id, event.type, decision.reason)
        return {"received": True, "ignored": True}
    tx.update_order(
        order_id, decision.status, decision.provider_order_id, decision.provider_capture_id
    )
    log.info("event %s (%s) set order %s to %s", event.id, event.type, order_id, decision.status)
    return {"received": True}


DUPLICATE = {"received": True, "duplicate": True}


class WebhookHandler:
    def __init__(self, store: Store, find_session: SessionLookup) -> None:
        self.store = store
        self.find_session = find_session

    def handle(self, event: Any) -> dict[str, bool]:
        if event.type in (
            "checkout.session.completed",
            "checkout.session.async_payment_succeeded",
        ):
            return self._checkout(event, rules.session_succeeded)
        if event.type == "checkout.session.async_payment_failed":
            return self._checkout(event, rules.session_async_failed)
        if event.type == "charge.refunded":
            return self._refund(event)
        with self.store.transaction() as tx:
            if tx.is_processed(event.id):
                return DUPLICATE
            return _apply(tx, event, None, rules.Decision.ignore(f"{event.type} is not handled"))

    def _checkout(
        self, event: Any, rule: Callable[[Any, rules.SessionFacts], rules.Decision]
    ) -> dict[str, bool]:
        session = rules.SessionFacts.from_stripe(event.data.object)
        with self.store.transaction() as tx:
            if tx.is_processed(event.id):
                return DUPLICATE
            order_id = session.client_reference_id
            order = tx.order(order_id) if order_id else None
            if not order_id:
                decision = rules.Decision.ignore("session has no client_reference_id")
            elif order is None:
                decision = rules.Decision.ignore(f"no order {order_id}")
            else:
                decision = rule(order, session)
            return _apply(tx, event, order_id, decision)

    def _refund_known(self, tx: Tx, event: Any, charge: rules.ChargeFacts) -> dict[str, bool] | None:
        """The refund of a payment an order recorded; None when no order recorded it."""
        if tx.is_processed(event.id):
            return DUPLICATE
        if charge.payment_intent is None:
            return _apply(tx, event, None, rules.Decision.ignore("charge has no payment_intent"))
        order = tx.order_by_capture_id(charge.payment_intent)
        if order is None:
            return None
        return _apply(tx, event, order.id, rules.charge_refunded(order, charge))

    def _refund(self, event: Any) -> dict[str, bool]:
        charge = rules.ChargeFacts.from_stripe(event.data.object)
        with self.store.transaction() as tx:
            if (answer := self._refund_known(tx, event, charge)) is not None:
                return answer
            if not charge.refunded:
                return _apply(tx, event, None, rules.early_refund(None, None, charge))
        # The refund came before its payment's event. Ask Stripe whose payment it is, outside
        # the transaction (a network call must not hold the write lock), then look again.
        assert charge.payment_intent is not None
        session = self.find_session(charge.payment_intent)
        with self.store.transaction() as tx:
            if (answer := self._refund_known(tx, event, charge)) is not None:
                return answer
            order_id = session.client_reference_id if session else None
            order = tx.order(order_id) if order_id else None
            return _apply(tx, event, order_id, rules.early_refund(order, session, charge))
