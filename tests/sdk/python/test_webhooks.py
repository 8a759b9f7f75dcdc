"""Webhooks from stripe-sim, verified by stripe-python's own ``stripe.Webhook.construct_event``
with its default tolerance: every event type of the payment flows, after a rolled secret and after
retries; forged deliveries must be refused by the SDK itself."""

from __future__ import annotations

import re
import time

import pytest
import stripe

from conftest import (
    ACH_OK, CARD_OK, SEPA_FAILS, SEPA_OK, Receiver, SimError, advance, attempts_for, flush,
    new_session, paid_session, pay, sim,
)

FLOW_TYPES = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.pending",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.refund.updated",
    "refund.created",
    "refund.updated",
    "refund.failed",
]

OBJECT_CLASSES = {
    "checkout.session": stripe.checkout.Session,
    "payment_intent": stripe.PaymentIntent,
    "charge": stripe.Charge,
    "refund": stripe.Refund,
    "product": stripe.Product,
    "price": stripe.Price,
    "payment_link": stripe.PaymentLink,
    "customer": stripe.Customer,
}


@pytest.fixture(scope="module")
def hook(client):
    receiver = Receiver()
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["*"]})
    receiver.secret = endpoint.secret
    yield receiver, endpoint
    receiver.close()


def assert_typed_event(event: stripe.Event) -> None:
    assert isinstance(event, stripe.Event)
    assert event.id.startswith("evt_")
    assert event.livemode is False
    obj = event.data.object
    expected = OBJECT_CLASSES.get(obj.object)
    assert expected is not None, f"{event.type}: unexpected object {obj.object}"
    assert isinstance(obj, expected), f"{event.type}: {type(obj)}"


def test_every_flow_event_type_verifies(client, hook):
    receiver, endpoint = hook
    _, _, card = new_session(client, amount=1200)
    for declined in ("4000000000000002", "4000000000009995"):
        with pytest.raises(SimError):
            pay(card.id, {"card": declined})
    pay(card.id, CARD_OK)
    _, _, sepa = new_session(client, amount=3000, currency="eur")
    pay(sepa.id, SEPA_OK)
    _, _, sepa_fails = new_session(client, amount=3100, currency="eur")
    pay(sepa_fails.id, SEPA_FAILS)
    _, _, ach = new_session(client, amount=3200)
    pay(ach.id, ACH_OK)
    _, _, expiring = new_session(client)
    client.v1.checkout.sessions.expire(expiring.id)
    _, intent, _ = paid_session(client, amount=8000)
    client.v1.refunds.create({"payment_intent": intent.id, "amount": 3000})
    client.v1.refunds.create({"payment_intent": intent.id})
    _, failing, _ = paid_session(client, {"card": "4000000000005126"}, amount=900)
    client.v1.refunds.create({"payment_intent": failing.id})
    flush()
    advance(200)
    flush()

    types = {d.event.type for d in receiver.verified()}
    assert [t for t in FLOW_TYPES if t not in types] == []
    assert [str(d.error) for d in receiver.rejected()] == []
    for d in receiver.verified():
        assert_typed_event(d.event)
    attempts = attempts_for(endpoint.id)
    assert [a for a in attempts if a["status_code"] != 200] == []

    completed = next(d.event for d in receiver.verified()
                     if d.event.type == "checkout.session.completed" and d.event.data.object.id == card.id)
    assert completed.data.object.payment_status == "paid"
    assert completed.data.object.amount_total == 1200
    assert completed.data.object.client_reference_id == card.client_reference_id
    refunded = sorted(d.event.data.object.refunded for d in receiver.verified()
                      if d.event.type == "charge.refunded" and d.event.data.object.payment_intent == intent.id)
    assert refunded == [False, True]
    failed = next(d.event for d in receiver.verified()
                  if d.event.type == "checkout.session.async_payment_failed")
    assert failed.data.object.id == sepa_fails.id
    assert client.v1.events.retrieve(completed.id).data.object.id == card.id


def test_rolled_secret(client, hook):
    receiver, endpoint = hook
    old = receiver.secret
    rolled = sim("POST", f"/_sim/webhook_endpoints/{endpoint.id}/roll_secret", {"expires_in": 3600})
    assert rolled["secret"].startswith("whsec_") and rolled["secret"] != old
    receiver.secret = rolled["secret"]
    mark = len(receiver.deliveries)
    session, _, _ = paid_session(client)
    flush()
    during = receiver.deliveries[mark:]
    assert during
    for d in during:
        assert d.verified, d.error
        assert len(re.findall(r"(?:^|,)v1=", d.header)) == 2
        stripe.Webhook.construct_event(d.raw, d.header, old)  # the old secret still signs
    advance(3601)
    flush()
    mark = len(receiver.deliveries)
    client.v1.refunds.create({"payment_intent": session.payment_intent})
    flush()
    after = receiver.deliveries[mark:]
    assert any(d.verified and d.event.type == "charge.refunded" for d in after)
    for d in after:
        assert d.verified, d.error
        with pytest.raises(stripe.SignatureVerificationError, match="No signatures found"):
            stripe.Webhook.construct_event(d.raw, d.header, old)


def test_failed_delivery_is_retried_and_verifies(client, hook):
    receiver, endpoint = hook
    receiver.fail_next["checkout.session.completed"] = 1
    mark = len(receiver.deliveries)
    session, _, _ = paid_session(client)
    flush()

    def mine():
        return [d for d in receiver.deliveries[mark:]
                if d.verified and d.event.type == "checkout.session.completed" and d.event.data.object.id == session.id]

    assert [d.status for d in mine()] == [500]
    advance(300)
    flush()
    first, retry = mine()
    assert retry.status == 200
    assert retry.event.id == first.event.id
    t = int(retry.header.split(",")[0][2:])
    assert abs(t - time.time()) < 60, "each attempt is signed when it is sent"
    attempts = [a for a in attempts_for(endpoint.id) if a["event"] == first.event.id]
    assert [a["status_code"] for a in attempts] == [500, 200]


FORGERIES = {
    "stale": "Timestamp outside the tolerance zone",
    "tamper": "No signatures found matching the expected signature",
    "wrong_secret": "No signatures found matching the expected signature",
    "unsigned": "No Stripe-Signature header value was provided",
    "bad_header": "Unable to extract timestamp and signatures from header",
}


def test_forged_requests_are_refused_by_the_sdk(client, hook):
    receiver, endpoint = hook
    session, _, _ = paid_session(client)
    flush()
    event = next(e for e in client.v1.events.list({"type": "checkout.session.completed", "limit": 100}).data
                 if e.data.object.id == session.id)
    for forgery, message in FORGERIES.items():
        mark = len(receiver.deliveries)
        attempt = sim("POST", "/_sim/webhooks/deliver",
                      {"endpoint": endpoint.id, "event_id": event.id, "forgery": forgery})["attempt"]
        assert attempt["status_code"] == 400, forgery
        got = receiver.deliveries[mark:]
        assert len(got) == 1 and not got[0].verified, forgery
        assert isinstance(got[0].error, stripe.SignatureVerificationError), f"{forgery}: {got[0].error!r}"
        assert message in str(got[0].error), f"{forgery}: {got[0].error}"
    genuine = sim("POST", "/_sim/webhooks/deliver", {"endpoint": endpoint.id, "event_id": event.id})["attempt"]
    assert genuine["status_code"] == 200


def test_fault_injection_forgeries_then_genuine_resend(client, hook):
    receiver, endpoint = hook
    sim("POST", "/_sim/webhooks/faults", {"faults": [
        {"fault": f, "count": 1, "event_type": "checkout.session.completed"} for f in FORGERIES
    ]})
    mark = len(receiver.deliveries)
    session, _, _ = paid_session(client)
    flush()
    for _ in range(6):
        advance(2 * 3600)
        flush()
    refused = [d for d in receiver.deliveries[mark:] if not d.verified]
    assert len(refused) == 4, "the first attempt and its three retries were forged"
    assert all(isinstance(d.error, stripe.SignatureVerificationError) for d in refused)
    sim("DELETE", "/_sim/webhooks/faults")
    event = next(e for e in client.v1.events.list({"type": "checkout.session.completed", "limit": 100}).data
                 if e.data.object.id == session.id)
    resent = sim("POST", f"/_sim/events/{event.id}/resend", {"endpoint": endpoint.id})
    assert resent["attempts"][0]["status_code"] == 200
    assert receiver.deliveries[-1].verified and receiver.deliveries[-1].event.id == event.id


def test_drop_and_duplicate(client, hook):
    receiver, _ = hook
    sim("POST", "/_sim/webhooks/faults", {"fault": "duplicate", "count": 1, "event_type": "charge.succeeded"})
    sim("POST", "/_sim/webhooks/faults", {"fault": "drop", "count": 1, "event_type": "payment_intent.succeeded"})
    mark = len(receiver.deliveries)
    _, intent, _ = paid_session(client)
    flush()
    advance(300)
    flush()
    got = receiver.deliveries[mark:]
    assert all(d.verified for d in got)
    charges = [d for d in got if d.event.type == "charge.succeeded" and d.event.data.object.payment_intent == intent.id]
    assert len(charges) == 2 and charges[0].event.id == charges[1].event.id
    intents = [d for d in got if d.event.type == "payment_intent.succeeded" and d.event.data.object.id == intent.id]
    assert len(intents) == 1
