"""The rules and the webhook handler, without HTTP or Stripe: `.venv/bin/python -m unittest`."""

from __future__ import annotations

import os
import tempfile
import unittest

import stripe

from shop.db import Store
from shop.rules import SessionFacts
from shop.webhooks import WebhookHandler


def event(event_id: str, type_: str, obj: dict) -> stripe.Event:
    return stripe.Event.construct_from(
        {"id": event_id, "object": "event", "type": type_, "data": {"object": obj}}, "sk_test"
    )


def session(order_id: str, **over) -> dict:
    return {
        "object": "checkout.session",
        "id": "cs_1",
        "client_reference_id": order_id,
        "amount_total": 19900,
        "currency": "usd",
        "payment_status": "paid",
        "payment_intent": "pi_1",
        **over,
    }


def charge(refunded: bool = True) -> dict:
    return {
        "object": "charge",
        "id": "ch_1",
        "payment_intent": "pi_1",
        "refunded": refunded,
        "amount": 19900,
        "amount_refunded": 19900 if refunded else 100,
    }


class WebhookTest(unittest.TestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.store = Store(os.path.join(folder.name, "test.sqlite3"))
        with self.store.transaction() as tx:
            self.order = tx.insert_order(
                product_id="lifetime", product_name="Lifetime", amount=19900, currency="USD",
                provider="stripe",
            )
        self.lookups: list[str] = []
        self.session_at_stripe: SessionFacts | None = None

        def find(payment_intent: str) -> SessionFacts | None:
            self.lookups.append(payment_intent)
            return self.session_at_stripe

        self.handler = WebhookHandler(self.store, find)

    def status(self) -> str:
        with self.store.read() as tx:
            return tx.order(self.order.id).status

    def test_paid_then_refunded_and_final(self) -> None:
        self.handler.handle(event("evt_1", "checkout.session.completed", session(self.order.id)))
        self.assertEqual(self.status(), "paid")
        self.handler.handle(event("evt_2", "charge.refunded", charge()))
        self.assertEqual(self.status(), "refunded")
        self.handler.handle(event("evt_3", "checkout.session.async_payment_succeeded", session(self.order.id)))
        self.assertEqual(self.status(), "refunded")
        self.assertEqual(self.lookups, [])

    def test_unpaid_completion_waits_and_mismatches_are_ignored(self) -> None:
        self.handler.handle(event("evt_1", "checkout.session.completed", session(self.order.id, payment_status="unpaid")))
        self.assertEqual(self.status(), "pending")
        self.handler.handle(event("evt_2", "checkout.session.completed", session(self.order.id, amount_total=100)))
        self.assertEqual(self.status(), "pending")
        self.handler.handle(event("evt_3", "checkout.session.completed", session(self.order.id, currency="eur")))
        self.assertEqual(self.status(), "pending")

    def test_a_duplicate_is_acknowledged_without_effect(self) -> None:
        first = self.handler.handle(event("evt_1", "checkout.session.completed", session(self.order.id)))
        again = self.handler.handle(event("evt_1", "checkout.session.completed", session(self.order.id)))
        self.assertEqual(first, {"received": True})
        self.assertEqual(again, {"received": True, "duplicate": True})

    def test_a_refund_before_its_payment_refunds_the_order_at_once(self) -> None:
        self.session_at_stripe = SessionFacts.from_stripe(
            stripe.checkout.Session.construct_from(session(self.order.id), "sk_test")
        )
        self.handler.handle(event("evt_2", "charge.refunded", charge()))
        self.assertEqual(self.lookups, ["pi_1"])
        with self.store.read() as tx:
            order = tx.order(self.order.id)
        self.assertEqual((order.status, order.provider_order_id, order.provider_capture_id), ("refunded", "cs_1", "pi_1"))
        self.handler.handle(event("evt_1", "checkout.session.completed", session(self.order.id)))
        self.assertEqual(self.status(), "refunded")

    def test_a_refund_of_someone_elses_payment_changes_nothing(self) -> None:
        self.handler.handle(event("evt_2", "charge.refunded", charge()))
        self.assertEqual(self.status(), "pending")

    def test_a_partial_refund_leaves_the_order_paid(self) -> None:
        self.handler.handle(event("evt_1", "checkout.session.completed", session(self.order.id)))
        self.handler.handle(event("evt_2", "charge.refunded", charge(refunded=False)))
        self.assertEqual(self.status(), "paid")


if __name__ == "__main__":
    unittest.main()
