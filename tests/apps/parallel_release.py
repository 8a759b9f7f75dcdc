#!/usr/bin/env python3
"""What the harness never does: deliver a backlog of *different* events for one order at once.

After an outage Stripe sends the held events concurrently and in no particular order. The
harness releases held deliveries one at a time (each awaited); its --concurrency runs separate
histories on separate orders. This probe, standard library only, drives a running stripe-sim
and a running app (default routes of the payment spec) through: create an order, pay it by
card and refund it in full while deliveries are held, then release the held events with
"parallel": true, charge.refunded first. It repeats that and counts the orders not refunded
once every delivery and retry is done.

  stripe-sim serve --port 12199 --clock manual --forward-to http://127.0.0.1:3931/api/webhooks/stripe \
      --webhook-secret whsec_probe &
  (cd tests/apps/express_app && PORT=3931 STRIPE_SECRET_KEY=sk_test_stripesim \
      STRIPE_WEBHOOK_SECRET=whsec_probe STRIPE_API_BASE=http://127.0.0.1:12199 node index.js) &
  tests/apps/parallel_release.py --sim http://127.0.0.1:12199 --app http://127.0.0.1:3931 \
      --status-field paymentStatus --rounds 50
"""

import argparse
import base64
import json
import urllib.parse
import urllib.request


def call(method, url, *, key=None, json_body=None, form=None):
    headers = {}
    data = None
    if key:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sim", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--key", default="sk_test_stripesim")
    parser.add_argument("--status-field", default="status")
    parser.add_argument("--refunded-word", default="refunded")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    sim = lambda method, path, **kw: call(method, args.sim + path, key=args.key, **kw)  # noqa: E731

    link = next(iter(sim("GET", "/_sim/info")["payment_links"].values()))["id"]
    wrong = []
    for round_ in range(args.rounds):
        order = call("POST", args.app + "/api/orders", json_body={
            "productId": "lifetime", "productName": "Lifetime", "amount": 19900,
            "currency": "USD", "provider": "stripe"})
        session = sim("POST", f"/_sim/payment_links/{link}/visit",
                      json_body={"client_reference_id": order["id"]})
        sim("POST", "/_sim/webhooks/hold", json_body={})
        paid = sim("POST", f"/_sim/checkout/sessions/{session['id']}/pay",
                   json_body={"card": "4242424242424242"})
        sim("POST", "/v1/refunds", form={"payment_intent": paid["payment_intent"]})
        held = sim("GET", "/_sim/deliveries?outcome=held&limit=100")["data"]
        first = [d["event_id"] for d in held if d["event_type"] == "charge.refunded"]
        rest = [d["event_id"] for d in held if d["event_type"] != "charge.refunded"]
        sim("POST", "/_sim/webhooks/release", json_body={"order": first + rest, "parallel": True})
        sim("POST", "/_sim/webhooks/auto", json_body={})
        for _ in range(4):  # every retry of the test schedule
            sim("POST", "/_sim/clock/advance", json_body={"seconds": 3 * 3600})
            sim("POST", "/_sim/webhooks/flush", json_body={"timeout_ms": 5000})
        state = call("GET", args.app + "/api/orders/" + order["id"])
        if state.get(args.status_field) != args.refunded_word:
            wrong.append((order["id"], state.get(args.status_field)))
    print(f"{args.rounds} rounds: {len(wrong)} orders not {args.refunded_word} at the end")
    for order_id, status in wrong:
        print(f"  {order_id}: {status}")


if __name__ == "__main__":
    main()
