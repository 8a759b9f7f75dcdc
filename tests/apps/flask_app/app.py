"""A Flask shop that sells through Stripe Payment Links.

Written the way Flask's tutorial and Stripe's Flask samples do it: the global ``stripe`` module
configured from the environment, SQLite opened per request on ``flask.g``, the database file
in the instance folder, routes of its own (``/orders``, ``/orders/<id>``, ``/webhook``, the
return page ``GET /checkout/success?session_id=…``) and its own JSON: ``{"order": {"state": …}}``.
"""

import os
import sqlite3

import stripe
from flask import Flask, abort, g, jsonify, request

app = Flask(__name__, instance_relative_config=True)
app.config["DATABASE"] = os.environ.get(
    "DATABASE_PATH", os.path.join(app.instance_path, "shop.sqlite")
)

stripe.api_key = os.environ["STRIPE_SECRET_KEY"]
stripe.api_base = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
endpoint_secret = os.environ["STRIPE_WEBHOOK_SECRET"]

AWAITING, PAID, FAILED, REFUNDED = "awaiting_payment", "paid", "payment_failed", "refunded"

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'awaiting_payment',
    checkout_session TEXT,
    payment_intent TEXT
);
CREATE TABLE IF NOT EXISTS stripe_events (id TEXT PRIMARY KEY);
"""


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(app.config["DATABASE"], timeout=10, isolation_level=None)
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close_db(exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()


with app.app_context():
    os.makedirs(app.instance_path, exist_ok=True)
    get_db().executescript(SCHEMA)


def serialize(order):
    return {
        "id": order["id"],
        "sku": order["sku"],
        "title": order["title"],
        "price": {"amount": order["amount"], "currency": order["currency"]},
        "provider": order["provider"],
        "state": order["state"],
        "stripe": {
            "checkout_session": order["checkout_session"],
            "payment_intent": order["payment_intent"],
        },
    }


def find_order(order_id):
    return get_db().execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()


@app.get("/")
def index():
    return "<h1>Shop</h1><p>Lifetime: $199</p>"


@app.post("/orders")
def create_order():
    data = request.get_json(force=True)
    price = data.get("price") or {}
    amount = price.get("amount")
    if not isinstance(amount, int) or amount <= 0 or not price.get("currency"):
        return jsonify(error="price.amount and price.currency are required"), 400
    db = get_db()
    cursor = db.execute(
        "INSERT INTO orders (sku, title, amount, currency, provider) VALUES (?, ?, ?, ?, ?)",
        (data.get("sku", "lifetime"), data.get("title", "Lifetime"), amount,
         price["currency"].upper(), data.get("provider", "stripe")),
    )
    return jsonify(order=serialize(find_order(cursor.lastrowid))), 201


@app.get("/orders/<int:order_id>")
def show_order(order_id):
    order = find_order(order_id)
    if order is None:
        abort(404)
    return jsonify(order=serialize(order))


@app.get("/checkout/success")
def checkout_success():
    """The page Stripe redirects to. It shows what Stripe says; the webhook does the work."""
    session_id = request.args.get("session_id")
    if not session_id:
        return jsonify(error="session_id missing"), 400
    try:
        session = stripe.checkout.Session.retrieve(session_id)
    except stripe.InvalidRequestError:
        return jsonify(error="unknown session"), 404
    return jsonify(paid=session.payment_status == "paid", order=session.client_reference_id)


def session_pays(order, session):
    return (
        order["provider"] == "stripe"
        and session.amount_total == order["amount"]
        and session.currency.upper() == order["currency"].upper()
    )


def order_for_session(session):
    ref = session.client_reference_id
    return find_order(ref) if ref and ref.isdigit() else None


@app.post("/webhook")
def webhook():
    payload = request.get_data()
    sig_header = request.headers.get("Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(payload, sig_header, endpoint_secret)
    except ValueError:
        return jsonify(error="invalid payload"), 400
    except stripe.SignatureVerificationError:
        return jsonify(error="invalid signature"), 400

    db = get_db()
    obj = event.data.object

    if event.type == "charge.refunded" and obj.refunded:
        # Ask Stripe outside the transaction whose payment this is, in case we have not seen it.
        known = db.execute(
            "SELECT 1 FROM orders WHERE payment_intent = ?", (obj.payment_intent,)
        ).fetchone()
        sessions = [] if known else stripe.checkout.Session.list(
            payment_intent=obj.payment_intent, limit=1
        ).data

    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("SELECT 1 FROM stripe_events WHERE id = ?", (event.id,)).fetchone():
            db.execute("ROLLBACK")
            return jsonify(received=True, duplicate=True)

        if event.type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            order = order_for_session(obj)
            if order and session_pays(order, obj) and obj.payment_status == "paid" \
                    and order["state"] in (AWAITING, FAILED):
                db.execute(
                    "UPDATE orders SET state = ?, checkout_session = ?, payment_intent = ? WHERE id = ?",
                    (PAID, obj.id, obj.payment_intent, order["id"]),
                )
        elif event.type == "checkout.session.async_payment_failed":
            order = order_for_session(obj)
            if order and session_pays(order, obj) and order["state"] == AWAITING:
                db.execute("UPDATE orders SET state = ? WHERE id = ?", (FAILED, order["id"]))
        elif event.type == "charge.refunded" and obj.refunded:
            order = db.execute(
                "SELECT * FROM orders WHERE payment_intent = ?", (obj.payment_intent,)
            ).fetchone()
            if order is not None:
                db.execute("UPDATE orders SET state = ? WHERE id = ?", (REFUNDED, order["id"]))
            elif sessions:
                mine = order_for_session(sessions[0])
                if mine and session_pays(mine, sessions[0]) and mine["payment_intent"] is None:
                    # The payment's own event is late: make Stripe send this refund again.
                    db.execute("ROLLBACK")
                    return jsonify(error="payment not recorded yet"), 409

        db.execute("INSERT INTO stripe_events (id) VALUES (?)", (event.id,))
        db.execute("COMMIT")
    except Exception:
        db.execute("ROLLBACK")
        raise
    return jsonify(received=True)
