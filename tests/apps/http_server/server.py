#!/usr/bin/env python3
"""A shop backend with nothing but the standard library: http.server, sqlite3, hmac, urllib.

Written the way a hurried developer writes a small service with no framework: routes matched on
the raw request path, one SQLite connection behind a lock, the Stripe signature checked by hand,
Stripe's API called with urllib. Statuses: pending, complete, failed, refunded.
"""

import hashlib
import hmac
import json
import os
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8000"))
STRIPE_SECRET_KEY = os.environ["STRIPE_SECRET_KEY"]
STRIPE_WEBHOOK_SECRET = os.environ["STRIPE_WEBHOOK_SECRET"]
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
DATABASE_PATH = os.environ.get("DATABASE_PATH", ":memory:")
TOLERANCE = 300  # seconds, like Stripe's libraries

db = sqlite3.connect(DATABASE_PATH, check_same_thread=False)
db.row_factory = sqlite3.Row
lock = threading.Lock()
db.executescript(
    """
    CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY, product_id TEXT, product_name TEXT, amount INTEGER, currency TEXT,
        provider TEXT, status TEXT, provider_order_id TEXT, provider_capture_id TEXT,
        created_at REAL
    );
    CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY);
    -- full refunds whose payment we had not seen yet, by payment intent
    CREATE TABLE IF NOT EXISTS early_refunds (payment_intent TEXT PRIMARY KEY);
    """
)


def order_json(row):
    return {
        "id": row["id"],
        "productId": row["product_id"],
        "productName": row["product_name"],
        "amount": row["amount"],
        "currency": row["currency"],
        "provider": row["provider"],
        "status": row["status"],
        "providerOrderId": row["provider_order_id"],
        "providerCaptureId": row["provider_capture_id"],
    }


def get_order(order_id):
    return db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()


def verify_signature(payload, header):
    """Stripe's scheme: HMAC-SHA256 of "t.payload" with the whsec_ secret, any v1 matches."""
    if not header:
        return False
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        return False
    if time.time() - int(timestamp) > TOLERANCE:
        return False
    signed = timestamp.encode() + b"." + payload
    expected = hmac.new(STRIPE_WEBHOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


def stripe_get(path):
    request = urllib.request.Request(
        STRIPE_API_BASE + path, headers={"Authorization": "Bearer " + STRIPE_SECRET_KEY}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def session_matches(order, session):
    return (
        order["provider"] == "stripe"
        and session.get("amount_total") == order["amount"]
        and (session.get("currency") or "").lower() == order["currency"].lower()
    )


def handle_event(event):
    """Applies one verified event; returns the JSON answer. Caller holds the lock."""
    if db.execute("SELECT 1 FROM seen_events WHERE id = ?", (event["id"],)).fetchone():
        return {"received": True, "duplicate": True}
    db.execute("INSERT INTO seen_events (id) VALUES (?)", (event["id"],))
    obj = event["data"]["object"]
    kind = event["type"]

    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                "checkout.session.async_payment_failed"):
        order = get_order(obj.get("client_reference_id") or "")
        if order is None or not session_matches(order, obj):
            return {"received": True, "ignored": True}
        if kind == "checkout.session.async_payment_failed":
            if order["status"] == "pending":
                db.execute("UPDATE orders SET status = 'failed' WHERE id = ?", (order["id"],))
            return {"received": True}
        if obj.get("payment_status") != "paid":
            return {"received": True, "ignored": True}  # SEPA / ACH: wait for the outcome
        if order["status"] in ("pending", "failed"):
            refunded_already = db.execute(
                "SELECT 1 FROM early_refunds WHERE payment_intent = ?", (obj.get("payment_intent"),)
            ).fetchone()
            db.execute(
                "UPDATE orders SET status = ?, provider_order_id = ?, provider_capture_id = ? WHERE id = ?",
                ("refunded" if refunded_already else "complete", obj["id"], obj.get("payment_intent"), order["id"]),
            )
        return {"received": True}

    if kind == "charge.refunded":
        if not obj.get("refunded"):
            return {"received": True, "ignored": True}  # partial refund: the order stays paid
        pi = obj.get("payment_intent")
        order = db.execute("SELECT * FROM orders WHERE provider_capture_id = ?", (pi,)).fetchone()
        if order is None:
            # The payment's own event has not come yet: remember the refund for it.
            db.execute("INSERT OR IGNORE INTO early_refunds (payment_intent) VALUES (?)", (pi,))
        elif order["status"] == "complete":
            db.execute("UPDATE orders SET status = 'refunded' WHERE id = ?", (order["id"],))
        return {"received": True}

    return {"received": True, "ignored": True}


class Handler(BaseHTTPRequestHandler):
    server_version = "shop/1.0"

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/healthz":
            return self.send_json(200, {"ok": True})
        if self.path.startswith("/api/orders/"):
            with lock:
                order = get_order(self.path[len("/api/orders/"):])
            if order is None:
                return self.send_json(404, {"error": "not found"})
            return self.send_json(200, order_json(order))
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        if self.path == "/api/orders":
            try:
                body = json.loads(self.read_body())
                amount = body["amount"]
                if not isinstance(amount, int) or amount <= 0:
                    raise ValueError("amount")
                values = (str(uuid.uuid4()), body["productId"], body["productName"], amount,
                          body["currency"].upper(), body["provider"], "pending", time.time())
            except (ValueError, KeyError, TypeError, AttributeError):
                return self.send_json(400, {"error": "bad order"})
            with lock:
                db.execute(
                    "INSERT INTO orders (id, product_id, product_name, amount, currency, provider,"
                    " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
                db.commit()
                return self.send_json(201, order_json(get_order(values[0])))

        if self.path == "/api/webhooks/stripe":
            payload = self.read_body()
            if not verify_signature(payload, self.headers.get("Stripe-Signature")):
                return self.send_json(400, {"error": "bad signature"})
            try:
                event = json.loads(payload)
            except ValueError:
                return self.send_json(400, {"error": "bad json"})
            with lock:
                try:
                    answer = handle_event(event)
                    db.commit()
                except Exception:
                    db.rollback()
                    raise
            return self.send_json(200, answer)

        if self.path == "/api/orders/capture":
            # The return page: tell the buyer what Stripe says. The webhook decides.
            try:
                session_id = json.loads(self.read_body())["session_id"]
                session = stripe_get("/v1/checkout/sessions/" + urllib.parse.quote(session_id, safe=""))
            except urllib.error.HTTPError as e:
                return self.send_json(e.code if e.code < 500 else 502, {"error": "stripe said " + str(e.code)})
            except (ValueError, KeyError, TypeError):
                return self.send_json(400, {"error": "session_id required"})
            return self.send_json(200, {"session": session["id"], "payment_status": session["payment_status"]})

        self.send_json(404, {"error": "not found"})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    print(f"listening on http://127.0.0.1:{PORT}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
