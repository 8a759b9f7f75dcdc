"""stripe-python against stripe-sim: every /v1 endpoint the SDK exposes for Payment Links and
Checkout, the SDK's typed errors, and its automatic idempotency keys."""

from __future__ import annotations

import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from conftest import (
    API_KEY, CARD_OK, SIM_URL, make_client, new_session, paid_session, pay, sim,
)


def test_global_api_base_configuration_reaches_the_simulator():
    # The other documented way: the module-level api_base.
    saved = (stripe.api_key, stripe.api_base)
    stripe.api_key, stripe.api_base = API_KEY, SIM_URL
    try:
        product = stripe.Product.create(name="Global config")
        assert isinstance(product, stripe.Product)
        assert stripe.Product.retrieve(product.id).name == "Global config"
    finally:
        stripe.api_key, stripe.api_base = saved


def test_products_prices_and_payment_links(client):
    product = client.v1.products.create({"name": "Lifetime access", "metadata": {"sku": "L1"}})
    assert isinstance(product, stripe.Product)
    assert product.id.startswith("prod_")
    assert product.metadata.to_dict() == {"sku": "L1"}
    price = client.v1.prices.create({"product": product.id, "unit_amount": 19900, "currency": "usd"})
    assert isinstance(price, stripe.Price)
    assert price.type == "one_time" and price.unit_amount == 19900
    link = client.v1.payment_links.create({"line_items": [{"price": price.id, "quantity": 1}]})
    assert isinstance(link, stripe.PaymentLink)
    assert link.url.startswith(SIM_URL)
    assert client.v1.products.retrieve(product.id).name == "Lifetime access"
    expanded = client.v1.prices.retrieve(price.id, {"expand": ["product"]})
    assert isinstance(expanded.product, stripe.Product) and expanded.product.id == product.id
    assert client.v1.payment_links.retrieve(link.id).url == link.url
    items = client.v1.payment_links.line_items.list(link.id)
    assert [i.price.id for i in items.data] == [price.id]


def test_session_create_retrieve_and_expand(client):
    _, price, session = new_session(client, amount=4200, reference="py_expand")
    assert isinstance(session, stripe.checkout.Session)
    assert (session.status, session.payment_status, session.amount_total) == ("open", "unpaid", 4200)
    assert session.client_reference_id == "py_expand"
    pay(session.id, CARD_OK)
    expanded = client.v1.checkout.sessions.retrieve(
        session.id, {"expand": ["line_items", "payment_intent", "payment_intent.latest_charge"]}
    )
    assert (expanded.status, expanded.payment_status) == ("complete", "paid")
    assert expanded.line_items.data[0].price.id == price.id
    assert isinstance(expanded.payment_intent, stripe.PaymentIntent)
    assert expanded.payment_intent.status == "succeeded"
    assert isinstance(expanded.payment_intent.latest_charge, stripe.Charge)
    assert expanded.payment_intent.latest_charge.paid is True
    assert client.v1.checkout.sessions.line_items.list(session.id).data[0].quantity == 1


def test_session_list_filters_and_auto_pagination(client):
    product = client.v1.products.create({"name": "Paged"})
    price = client.v1.prices.create({"product": product.id, "unit_amount": 700, "currency": "usd"})
    link = client.v1.payment_links.create({"line_items": [{"price": price.id, "quantity": 1}]})
    visited = [
        sim("POST", f"/_sim/payment_links/{link.id}/visit", {"client_reference_id": f"page_{i}"})["id"]
        for i in range(7)
    ]
    first = client.v1.checkout.sessions.list({"payment_link": link.id, "limit": 3})
    assert len(first.data) == 3 and first.has_more is True
    walked = [s.id for s in client.v1.checkout.sessions.list({"payment_link": link.id, "limit": 3}).auto_paging_iter()]
    assert walked == list(reversed(visited))
    older = client.v1.checkout.sessions.list({"payment_link": link.id, "limit": 2, "starting_after": walked[2]})
    assert [s.id for s in older.data] == walked[3:5]
    newer = client.v1.checkout.sessions.list({"payment_link": link.id, "limit": 2, "ending_before": walked[3]})
    assert [s.id for s in newer.data] == walked[1:3]
    # Auto-pagination backwards (ending_before) walks towards the newest.
    backwards = [
        s.id for s in client.v1.checkout.sessions.list(
            {"payment_link": link.id, "limit": 2, "ending_before": walked[6]}
        ).auto_paging_iter()
    ]
    assert sorted(backwards) == sorted(walked[:6])
    pay(visited[0], CARD_OK)
    complete = client.v1.checkout.sessions.list({"payment_link": link.id, "status": "complete"})
    assert [s.id for s in complete.data] == [visited[0]]
    by_intent = client.v1.checkout.sessions.list({"payment_intent": complete.data[0].payment_intent, "limit": 1})
    assert [s.id for s in by_intent.data] == [visited[0]]
    still_open = list(client.v1.checkout.sessions.list({"payment_link": link.id, "status": "open"}).auto_paging_iter())
    assert len(still_open) == 6


def test_expire_session(client):
    _, _, session = new_session(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    done, _, _ = paid_session(client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.expire(done.id)
    assert info.value.http_status == 400


def test_payment_intent_and_charge(client):
    session, intent, charge_id = paid_session(client, amount=3100)
    assert isinstance(intent, stripe.PaymentIntent)
    assert (intent.amount, intent.status) == (3100, "succeeded")
    charge = client.v1.charges.retrieve(charge_id)
    assert isinstance(charge, stripe.Charge)
    assert (charge.payment_intent, charge.amount, charge.refunded) == (intent.id, 3100, False)
    assert [c.id for c in client.v1.charges.list({"payment_intent": intent.id}).data] == [charge_id]
    intents = [pi.id for pi in client.v1.payment_intents.list({"limit": 100}).auto_paging_iter()]
    assert session.payment_intent in intents


def test_partial_full_and_too_large_refunds(client):
    _, intent, charge_id = paid_session(client, amount=5000)
    partial = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1500})
    assert isinstance(partial, stripe.Refund)
    assert (partial.amount, partial.status) == (1500, "succeeded")
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (1500, False)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create({"charge": charge_id, "amount": 3501})
    assert info.value.http_status == 400
    assert info.value.param == "amount"
    assert "greater than" in info.value.user_message
    rest = client.v1.refunds.create({"charge": charge_id})
    assert rest.amount == 3500
    charge = client.v1.charges.retrieve(charge_id)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    assert client.v1.refunds.retrieve(partial.id).amount == 1500
    listed = client.v1.refunds.list({"payment_intent": intent.id})
    assert sorted(r.id for r in listed.data) == sorted([partial.id, rest.id])
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create({"charge": charge_id, "amount": 1})
    assert info.value.code == "charge_already_refunded"


def test_events_list_and_retrieve(client):
    session, _, _ = paid_session(client)
    completed = client.v1.events.list({"type": "checkout.session.completed", "limit": 100})
    mine = next(e for e in completed.data if e.data.object.id == session.id)
    assert isinstance(mine, stripe.Event)
    assert isinstance(mine.data.object, stripe.checkout.Session)
    again = client.v1.events.retrieve(mine.id)
    assert (again.id, again.type) == (mine.id, "checkout.session.completed")
    every = [e.id for e in client.v1.events.list({"limit": 5}).auto_paging_iter()]
    assert len(every) > 5 and len(set(every)) == len(every) and mine.id in every
    several = client.v1.events.list({"types": ["charge.succeeded", "payment_intent.succeeded"], "limit": 100})
    assert several.data and all(e.type in ("charge.succeeded", "payment_intent.succeeded") for e in several.data)


def test_webhook_endpoints(client):
    created = client.v1.webhook_endpoints.create({
        "url": "http://127.0.0.1:9/hooks",
        "enabled_events": ["checkout.session.completed", "charge.refunded"],
    })
    assert isinstance(created, stripe.WebhookEndpoint)
    assert created.secret.startswith("whsec_")
    fetched = client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched
    assert fetched.url == "http://127.0.0.1:9/hooks"
    assert client.v1.webhook_endpoints.update(created.id, {"disabled": True}).status == "disabled"
    assert created.id in [e.id for e in client.v1.webhook_endpoints.list().auto_paging_iter()]
    deleted = client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.webhook_endpoints.retrieve(created.id)
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")


def test_invalid_request_errors_carry_the_param(client):
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    assert info.value.param
    assert info.value.request_id.startswith("req_")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.prices.create({"currency": "usd", "unit_amount": 100})
    assert (info.value.code, info.value.param) == ("parameter_missing", "product")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.products.create({"name": "x", "colour": "blue"})  # type: ignore[typeddict-unknown-key]
    assert (info.value.code, info.value.param) == ("parameter_unknown", "colour")
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.list({"limit": 500})
    assert info.value.param == "limit"


def test_bad_key_is_authentication_error():
    with pytest.raises(stripe.AuthenticationError) as info:
        make_client("sk_test_wrong_key_0000").v1.products.list()
    assert info.value.http_status == 401
    assert "Invalid API Key" in info.value.user_message


def test_declined_card_is_card_error_with_decline_code(client):
    # Paying is the buyer's side (no SDK method), so the SDK's own request machinery sends the
    # hosted page's pay call through raw_request and parses the 402 itself.
    _, _, session = new_session(client)
    path = f"/_sim/checkout/sessions/{session.id}/pay"
    with pytest.raises(stripe.CardError) as info:
        client.raw_request("post", path, card="4000000000009995")
    e = info.value
    assert e.http_status == 402
    assert e.code == "card_declined"
    assert e.error.decline_code == "insufficient_funds"
    assert e.user_message == "Your card has insufficient funds."
    assert e.error.payment_intent is not None
    with pytest.raises(stripe.CardError) as info:
        client.raw_request("post", path, card="4000000000000069")
    assert (info.value.code, info.value.error.decline_code) == ("expired_card", "expired_card")
    paid = client.deserialize(client.raw_request("post", path, **CARD_OK), api_mode="V1")
    assert paid.payment_status == "paid"
    assert client.v1.payment_intents.retrieve(paid.payment_intent).status == "succeeded"


def test_explicit_idempotency_key(client):
    _, intent, _ = paid_session(client, amount=9000)
    key = f"py-refund-{intent.id}"
    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000}, {"idempotency_key": key})
    second = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000}, {"idempotency_key": key})
    assert second.id == first.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 2000}, {"idempotency_key": key})
    assert "same parameters" in info.value.user_message
    assert len(client.v1.refunds.list({"payment_intent": intent.id}).data) == 1


class LossyProxy:
    """A proxy in front of the simulator that loses the answer of the first POST to a path."""

    def __init__(self, lose_path: str):
        self.seen: list[tuple[str, str, str | None]] = []
        self.dropped = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append((self.command, self.path, self.headers.get("Idempotency-Key")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                request = urllib.request.Request(SIM_URL + self.path, data=body, method=self.command, headers=headers)
                try:
                    upstream = urllib.request.urlopen(request, timeout=30)
                except urllib.error.HTTPError as e:
                    upstream = e
                payload = upstream.read()
                if self.command == "POST" and self.path == lose_path and not proxy.dropped:
                    proxy.dropped = True
                    self.close_connection = True
                    self.connection.close()  # the request was applied; its answer is lost
                    return
                self.send_response(upstream.status)
                for k, v in upstream.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = forward
            do_POST = forward
            do_DELETE = forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_retried_post_after_a_lost_answer_is_applied_once(client):
    proxy = LossyProxy("/v1/refunds")
    try:
        via_proxy = make_client(base=proxy.url, max_network_retries=2)
        _, intent, _ = paid_session(client, amount=4000)
        refund = via_proxy.v1.refunds.create({"payment_intent": intent.id, "amount": 400})
        posts = [s for s in proxy.seen if s[0] == "POST" and s[1] == "/v1/refunds"]
        assert len(posts) == 2, "the SDK retried the POST"
        assert posts[0][2], "an automatic Idempotency-Key was sent"
        assert posts[1][2] == posts[0][2], "the retry reuses the automatic key"
        assert refund.last_response.headers.get("Idempotent-Replayed") == "true"
        assert [r.id for r in client.v1.refunds.list({"payment_intent": intent.id}).data] == [refund.id]
    finally:
        proxy.close()
