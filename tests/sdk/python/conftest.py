"""Shared fixtures of the stripe-python suite: the SDK pointed at the simulator the documented
way, the /_sim control API, a buyer paying sessions, and a webhook receiver that verifies every
delivery with the SDK's own ``stripe.Webhook.construct_event``. Every answer the SDK receives and
every event it verifies is checked against stripe-python's own classes (``typecheck.py``); a test
whose objects break them fails after it ends, naming the fields."""

from __future__ import annotations

import itertools
import json
import os
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

import typecheck

SIM_URL = os.environ.get("SIM_URL", "http://127.0.0.1:12111")
API_KEY = os.environ.get("SIM_API_KEY", "sk_test_stripesim")

CARD_OK = {"card": "4242424242424242"}
SEPA_OK = {"sepa_debit": {"iban": "DE89370400440532013000"}}
SEPA_FAILS = {"sepa_debit": {"iban": "DE62370400440532013001"}}
ACH_OK = {"us_bank_account": {"routing_number": "110000000", "account_number": "000123456789"}}


# What broke stripe-python's classes in the current test, and how many objects were checked.
TYPE_ERRORS: list[str] = []
TYPE_CHECKED = [0]


def check_types(label: str, value: Any) -> None:
    """Checks one object the SDK received (JSON text or parsed); ``label`` says where from."""
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except ValueError:
            return
    TYPE_CHECKED[0] += 1
    TYPE_ERRORS.extend(f"{label}: {p}" for p in typecheck.problems(value))


def checking_http_client() -> Any:
    """stripe-python's default HTTP client, with every answer checked against the SDK's classes
    before the SDK reads it."""
    base = type(stripe.new_default_http_client())

    class Checking(base):  # type: ignore[misc, valid-type]
        def request_with_retries(self, method, url, headers, post_data=None,
                                 max_network_retries=None, *, _usage=None):
            content, status, rheaders = super().request_with_retries(
                method, url, headers, post_data, max_network_retries, _usage=_usage)
            check_types(f"{method.upper()} {urllib.parse.urlsplit(url).path}", content)
            return content, status, rheaders

    return Checking()


# The global client too (``stripe.api_base`` style calls).
stripe.default_http_client = checking_http_client()


@pytest.fixture(autouse=True)
def strict_types():
    """Strict decoding: each test fails if anything it received did not fit the SDK's classes."""
    TYPE_ERRORS.clear()
    yield
    found = list(TYPE_ERRORS)
    TYPE_ERRORS.clear()
    assert not found, "objects that do not fit stripe-python's classes:\n" + "\n".join(found)


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_line(
        f"strict decoding: {TYPE_CHECKED[0]} answers and events checked against stripe-python's classes")


class SimError(Exception):
    def __init__(self, status: int, body: Any):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def sim(method: str, path: str, body: Any = None) -> Any:
    """A call to the /_sim control API (JSON in, JSON out)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        SIM_URL + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        raise SimError(e.code, json.loads(e.read() or b"null")) from None


def advance(seconds: int) -> Any:
    return sim("POST", "/_sim/clock/advance", {"seconds": seconds})


def flush() -> Any:
    return sim("POST", "/_sim/webhooks/flush", {})


def pay(session_id: str, method: dict) -> Any:
    """The buyer paying a session on the hosted page: the session, or the 402 raised."""
    try:
        session = sim("POST", f"/_sim/checkout/sessions/{session_id}/pay", method)
    except SimError as e:
        check_types(f"pay {session_id} (HTTP {e.status})", e.body)
        raise
    check_types(f"pay {session_id}", session)
    return session


def make_client(api_key: str = API_KEY, base: str = SIM_URL, **kwargs: Any) -> stripe.StripeClient:
    """``StripeClient(key, base_addresses={"api": …})``, as stripe-python documents."""
    kwargs.setdefault("max_network_retries", 2)
    kwargs.setdefault("http_client", checking_http_client())
    return stripe.StripeClient(api_key, base_addresses={"api": base}, **kwargs)


_counter = itertools.count(1)


def new_session(client: stripe.StripeClient, amount: int = 2500, currency: str = "usd",
                reference: str | None = None):
    """A product, a one-time price and a Checkout Session for it, all through the SDK."""
    n = next(_counter)
    product = client.v1.products.create({"name": f"SDK test product {n}"})
    price = client.v1.prices.create({"product": product.id, "unit_amount": amount, "currency": currency})
    session = client.v1.checkout.sessions.create({
        "mode": "payment",
        "line_items": [{"price": price.id, "quantity": 1}],
        "success_url": "http://127.0.0.1:9/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:9/cancel",
        "client_reference_id": reference or f"py_order_{n}",
        "metadata": {"order": str(n)},
    })
    return product, price, session


def paid_session(client: stripe.StripeClient, method: dict | None = None, **kwargs: Any):
    """A session paid by card: the completed session, its payment intent and its charge id."""
    _, _, session = new_session(client, **kwargs)
    pay(session.id, method or CARD_OK)
    completed = client.v1.checkout.sessions.retrieve(session.id)
    intent = client.v1.payment_intents.retrieve(completed.payment_intent)
    return completed, intent, intent.latest_charge


class Delivery:
    def __init__(self, raw: bytes, header: str | None):
        self.raw = raw
        self.header = header
        self.event: stripe.Event | None = None
        self.error: Exception | None = None
        self.status = 0

    @property
    def verified(self) -> bool:
        return self.event is not None


class Receiver:
    """Verifies every request with ``stripe.Webhook.construct_event`` (default tolerance),
    answers 400 when the SDK refuses it and 200 otherwise, and records each outcome."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.deliveries: list[Delivery] = []
        self.fail_next: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status = receiver.handle(raw, self.headers.get("Stripe-Signature"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"received":true}' if status != 400 else b'{"error":"invalid signature"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, raw: bytes, header: str | None) -> int:
        delivery = Delivery(raw, header)
        try:
            delivery.event = stripe.Webhook.construct_event(raw, header, self.secret)
            check_types(f"webhook {delivery.event.type}", raw)
        except (stripe.SignatureVerificationError, ValueError) as e:
            delivery.error = e
        with self.lock:
            if not delivery.verified:
                delivery.status = 400
            elif self.fail_next.get(delivery.event.type, 0) > 0:
                self.fail_next[delivery.event.type] -= 1
                delivery.status = 500
            else:
                delivery.status = 200
            self.deliveries.append(delivery)
        return delivery.status

    def verified(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.verified]

    def rejected(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.verified]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def attempts_for(endpoint_id: str) -> list[dict]:
    log = sim("GET", f"/_sim/deliveries?endpoint={endpoint_id}&limit=100")
    return [
        {**attempt, "event": record["event_id"], "type": record["event_type"]}
        for record in log["data"]
        for attempt in record.get("attempts", [])
    ]


@pytest.fixture(scope="session", autouse=True)
def fresh_simulator():
    sim("POST", "/_sim/reset", {})
    yield


@pytest.fixture(scope="session")
def client() -> stripe.StripeClient:
    return make_client()
