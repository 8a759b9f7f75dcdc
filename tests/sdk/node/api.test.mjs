// stripe-node against stripe-sim: every /v1 endpoint the SDK exposes for Payment Links and
// Checkout, the SDK's typed errors, and its automatic idempotency keys.
import { before, after, describe, test } from 'node:test';
import http from 'node:http';
import {
  assert, Stripe, stripe, stripeClient, sim, reset, advance, pay, newSession, paidSession,
  CARD_OK, API_KEY, SIM_URL,
} from './lib.mjs';

before(async () => {
  await reset();
});

describe('products, prices and payment links', () => {
  test('create and retrieve through the SDK', async () => {
    const product = await stripe.products.create({ name: 'Lifetime access', metadata: { sku: 'L1' } });
    assert.equal(product.object, 'product');
    assert.match(product.id, /^prod_/);
    assert.deepEqual(product.metadata, { sku: 'L1' });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 19900, currency: 'usd' });
    assert.equal(price.object, 'price');
    assert.equal(price.type, 'one_time');
    assert.equal(price.unit_amount, 19900);
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 1 }] });
    assert.equal(link.object, 'payment_link');
    assert.ok(link.url.startsWith(SIM_URL), link.url);
    assert.equal((await stripe.products.retrieve(product.id)).name, 'Lifetime access');
    assert.equal((await stripe.prices.retrieve(price.id, { expand: ['product'] })).product.id, product.id);
    const again = await stripe.paymentLinks.retrieve(link.id);
    assert.equal(again.url, link.url);
    const items = await stripe.paymentLinks.listLineItems(link.id);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0].price.id, price.id);
    assert.equal(items.data[0].amount_total, 19900);
  });
});

describe('checkout sessions', () => {
  test('create, retrieve, expand line items and payment intent', async () => {
    const { session, price } = await newSession({ amount: 4200, reference: 'order_expand' });
    assert.equal(session.object, 'checkout.session');
    assert.equal(session.status, 'open');
    assert.equal(session.payment_status, 'unpaid');
    assert.equal(session.amount_total, 4200);
    assert.equal(session.client_reference_id, 'order_expand');
    assert.ok(session.url.startsWith(SIM_URL));
    await pay(session.id, CARD_OK);
    const expanded = await stripe.checkout.sessions.retrieve(session.id, {
      expand: ['line_items', 'payment_intent', 'payment_intent.latest_charge'],
    });
    assert.equal(expanded.status, 'complete');
    assert.equal(expanded.payment_status, 'paid');
    assert.equal(expanded.line_items.object, 'list');
    assert.equal(expanded.line_items.data[0].price.id, price.id);
    assert.equal(expanded.payment_intent.object, 'payment_intent');
    assert.equal(expanded.payment_intent.status, 'succeeded');
    assert.equal(expanded.payment_intent.latest_charge.object, 'charge');
    assert.equal(expanded.payment_intent.latest_charge.paid, true);
    const lineItems = await stripe.checkout.sessions.listLineItems(session.id);
    assert.equal(lineItems.data[0].quantity, 1);
  });

  test('list with filters and auto-pagination', async () => {
    const product = await stripe.products.create({ name: 'Paged' });
    const price = await stripe.prices.create({ product: product.id, unit_amount: 700, currency: 'usd' });
    const link = await stripe.paymentLinks.create({ line_items: [{ price: price.id, quantity: 1 }] });
    const visited = [];
    for (let i = 0; i < 7; i += 1) {
      const session = await sim('POST', `/_sim/payment_links/${link.id}/visit`, { client_reference_id: `page_${i}` });
      visited.push(session.id);
    }
    const first = await stripe.checkout.sessions.list({ payment_link: link.id, limit: 3 });
    assert.equal(first.data.length, 3);
    assert.equal(first.has_more, true);
    // Newest first, and auto-pagination walks every page with starting_after.
    const all = await stripe.checkout.sessions.list({ payment_link: link.id, limit: 3 }).autoPagingToArray({ limit: 100 });
    assert.deepEqual(all.map((s) => s.id), [...visited].reverse());
    const seen = [];
    for await (const s of stripe.checkout.sessions.list({ payment_link: link.id, limit: 2 })) {
      seen.push(s.id);
    }
    assert.deepEqual(seen, [...visited].reverse());
    // Backwards with ending_before.
    const older = await stripe.checkout.sessions.list({ payment_link: link.id, limit: 2, starting_after: all[2].id });
    assert.deepEqual(older.data.map((s) => s.id), [all[3].id, all[4].id]);
    const newer = await stripe.checkout.sessions.list({ payment_link: link.id, limit: 2, ending_before: all[3].id });
    assert.deepEqual(newer.data.map((s) => s.id), [all[1].id, all[2].id]);
    // Filters: status and payment_intent.
    await pay(visited[0], CARD_OK);
    const complete = await stripe.checkout.sessions.list({ payment_link: link.id, status: 'complete' });
    assert.deepEqual(complete.data.map((s) => s.id), [visited[0]]);
    const byIntent = await stripe.checkout.sessions.list({ payment_intent: complete.data[0].payment_intent, limit: 1 });
    assert.deepEqual(byIntent.data.map((s) => s.id), [visited[0]]);
    const open = await stripe.checkout.sessions.list({ payment_link: link.id, status: 'open' }).autoPagingToArray({ limit: 100 });
    assert.equal(open.length, 6);
  });

  test('expire an open session; a completed one cannot be expired', async () => {
    const { session } = await newSession();
    const expired = await stripe.checkout.sessions.expire(session.id);
    assert.equal(expired.status, 'expired');
    assert.equal((await stripe.checkout.sessions.retrieve(session.id)).status, 'expired');
    const { session: done } = await paidSession();
    await assert.rejects(stripe.checkout.sessions.expire(done.id), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError, e.constructor.name);
      assert.equal(e.statusCode, 400);
      return true;
    });
  });
});

describe('payment intents, charges and refunds', () => {
  test('retrieve the payment intent and charge of a paid session', async () => {
    const { session, intent, chargeId } = await paidSession({ amount: 3100 });
    assert.equal(intent.object, 'payment_intent');
    assert.equal(intent.amount, 3100);
    assert.equal(intent.status, 'succeeded');
    const charge = await stripe.charges.retrieve(chargeId);
    assert.equal(charge.object, 'charge');
    assert.equal(charge.payment_intent, intent.id);
    assert.equal(charge.amount, 3100);
    assert.equal(charge.refunded, false);
    const listed = await stripe.charges.list({ payment_intent: intent.id });
    assert.deepEqual(listed.data.map((c) => c.id), [chargeId]);
    const intents = await stripe.paymentIntents.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });
    assert.ok(intents.some((pi) => pi.id === session.payment_intent));
  });

  test('partial then full refund; a too-large refund is refused', async () => {
    const { intent, chargeId } = await paidSession({ amount: 5000 });
    const partial = await stripe.refunds.create({ payment_intent: intent.id, amount: 1500 });
    assert.equal(partial.object, 'refund');
    assert.equal(partial.amount, 1500);
    assert.equal(partial.status, 'succeeded');
    let charge = await stripe.charges.retrieve(chargeId);
    assert.equal(charge.amount_refunded, 1500);
    assert.equal(charge.refunded, false);
    await assert.rejects(stripe.refunds.create({ charge: chargeId, amount: 3501 }), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError, e.constructor.name);
      assert.equal(e.type, 'StripeInvalidRequestError');
      assert.equal(e.statusCode, 400);
      assert.equal(e.param, 'amount');
      assert.match(e.message, /greater than/i);
      return true;
    });
    const rest = await stripe.refunds.create({ charge: chargeId });
    assert.equal(rest.amount, 3500);
    charge = await stripe.charges.retrieve(chargeId);
    assert.equal(charge.refunded, true);
    assert.equal(charge.amount_refunded, 5000);
    assert.equal((await stripe.refunds.retrieve(partial.id)).amount, 1500);
    const refunds = await stripe.refunds.list({ payment_intent: intent.id });
    assert.deepEqual(refunds.data.map((r) => r.id).sort(), [partial.id, rest.id].sort());
    await assert.rejects(stripe.refunds.create({ charge: chargeId, amount: 1 }), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.code, 'charge_already_refunded');
      return true;
    });
  });
});

describe('events', () => {
  test('list (with a type filter and auto-pagination) and retrieve', async () => {
    const { session } = await paidSession();
    const completed = await stripe.events.list({ type: 'checkout.session.completed', limit: 100 });
    const mine = completed.data.find((e) => e.data.object.id === session.id);
    assert.ok(mine, 'the completed event of the session is listed');
    assert.equal(mine.object, 'event');
    assert.equal(mine.data.object.object, 'checkout.session');
    const again = await stripe.events.retrieve(mine.id);
    assert.equal(again.id, mine.id);
    assert.equal(again.type, 'checkout.session.completed');
    const all = await stripe.events.list({ limit: 5 }).autoPagingToArray({ limit: 10000 });
    assert.ok(all.length > 5);
    assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'pages never repeat an event');
    assert.ok(all.some((e) => e.id === mine.id));
    const several = await stripe.events.list({ types: ['charge.succeeded', 'payment_intent.succeeded'], limit: 100 });
    assert.ok(several.data.length >= 2);
    assert.ok(several.data.every((e) => ['charge.succeeded', 'payment_intent.succeeded'].includes(e.type)));
  });
});

describe('webhook endpoints', () => {
  test('create (secret only at creation), retrieve, list and delete', async () => {
    const created = await stripe.webhookEndpoints.create({
      url: 'http://127.0.0.1:9/hooks',
      enabled_events: ['checkout.session.completed', 'charge.refunded'],
      description: 'sdk suite',
    });
    assert.equal(created.object, 'webhook_endpoint');
    assert.match(created.secret, /^whsec_/);
    assert.deepEqual(created.enabled_events, ['checkout.session.completed', 'charge.refunded']);
    const fetched = await stripe.webhookEndpoints.retrieve(created.id);
    assert.equal(fetched.secret, undefined);
    assert.equal(fetched.url, 'http://127.0.0.1:9/hooks');
    const updated = await stripe.webhookEndpoints.update(created.id, { disabled: true });
    assert.equal(updated.status, 'disabled');
    const listed = await stripe.webhookEndpoints.list().autoPagingToArray({ limit: 100 });
    assert.ok(listed.some((e) => e.id === created.id));
    const deleted = await stripe.webhookEndpoints.del(created.id);
    assert.equal(deleted.deleted, true);
    assert.equal(deleted.id, created.id);
    await assert.rejects(stripe.webhookEndpoints.retrieve(created.id), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, 'resource_missing');
      return true;
    });
  });
});

describe('typed errors', () => {
  test('missing and unknown resources and parameters are StripeInvalidRequestError with param', async () => {
    await assert.rejects(stripe.checkout.sessions.retrieve('cs_test_nope'), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError, e.constructor.name);
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, 'resource_missing');
      assert.ok(e.param, 'a param names what was missing');
      assert.ok(e.requestId?.startsWith('req_'), e.requestId);
      return true;
    });
    await assert.rejects(stripe.prices.create({ currency: 'usd', unit_amount: 100 }), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.code, 'parameter_missing');
      assert.equal(e.param, 'product');
      return true;
    });
    await assert.rejects(stripe.products.create({ name: 'x', colour: 'blue' }), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.code, 'parameter_unknown');
      assert.equal(e.param, 'colour');
      return true;
    });
    await assert.rejects(stripe.checkout.sessions.list({ limit: 500 }), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.param, 'limit');
      return true;
    });
  });

  test('a bad key is StripeAuthenticationError', async () => {
    const wrong = stripeClient('sk_test_wrong_key_0000');
    await assert.rejects(wrong.products.list(), (e) => {
      assert.ok(e instanceof Stripe.errors.StripeAuthenticationError, e.constructor.name);
      assert.equal(e.statusCode, 401);
      assert.match(e.message, /Invalid API Key/);
      return true;
    });
  });

  test('a declined card is StripeCardError with its decline_code', async () => {
    // Paying is the buyer's side (no SDK method), so the SDK's own request machinery sends the
    // hosted page's pay call through rawRequest and parses the 402 itself.
    const { session } = await newSession();
    await assert.rejects(
      stripe.rawRequest('POST', `/_sim/checkout/sessions/${session.id}/pay`, { card: '4000000000009995' }),
      (e) => {
        assert.ok(e instanceof Stripe.errors.StripeCardError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.type, 'StripeCardError');
        assert.equal(e.statusCode, 402);
        assert.equal(e.code, 'card_declined');
        assert.equal(e.decline_code, 'insufficient_funds');
        assert.equal(e.message, 'Your card has insufficient funds.');
        assert.ok(e.payment_intent?.id?.startsWith('pi_') || e.raw.payment_intent, 'the error names the payment intent');
        return true;
      },
    );
    await assert.rejects(
      stripe.rawRequest('POST', `/_sim/checkout/sessions/${session.id}/pay`, { card: '4000000000000069' }),
      (e) => e instanceof Stripe.errors.StripeCardError && e.decline_code === 'expired_card' && e.code === 'expired_card',
    );
    // The session stays open and a good card still pays it.
    const paid = await stripe.rawRequest('POST', `/_sim/checkout/sessions/${session.id}/pay`, CARD_OK);
    assert.equal(paid.payment_status, 'paid');
    const intent = await stripe.paymentIntents.retrieve(paid.payment_intent);
    assert.equal(intent.status, 'succeeded');
  });
});

describe('idempotency', () => {
  test('the SDK sends an automatic Idempotency-Key on every POST', async () => {
    const keys = [];
    const listener = (event) => keys.push(event.idempotency_key);
    stripe.on('request', listener);
    try {
      await stripe.products.create({ name: 'keyed' });
    } finally {
      stripe.off('request', listener);
    }
    assert.ok(keys.at(-1)?.startsWith('stripe-node-retry-'), String(keys.at(-1)));
  });

  test('an explicit key replays the first answer; other parameters are an idempotency error', async () => {
    const { intent } = await paidSession({ amount: 9000 });
    const key = `refund-${intent.id}`;
    const first = await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 }, { idempotencyKey: key });
    const second = await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 }, { idempotencyKey: key });
    assert.equal(second.id, first.id);
    assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
    await assert.rejects(
      stripe.refunds.create({ payment_intent: intent.id, amount: 2000 }, { idempotencyKey: key }),
      (e) => {
        assert.ok(e instanceof Stripe.errors.StripeIdempotencyError, e.constructor.name);
        assert.match(e.message, /same parameters/);
        return true;
      },
    );
    const refunds = await stripe.refunds.list({ payment_intent: intent.id });
    assert.equal(refunds.data.length, 1);
  });

  test('a POST retried after a lost answer is applied once (automatic key)', async () => {
    // A proxy in front of the simulator that loses the answer of the first refund POST: the SDK
    // retries with the same automatic Idempotency-Key and gets the replayed refund.
    const target = new URL(SIM_URL);
    const seen = [];
    let dropped = false;
    const proxy = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        const headers = { ...req.headers, host: target.host };
        seen.push({ method: req.method, path: req.url, key: req.headers['idempotency-key'] });
        const upstream = await fetch(new URL(req.url, SIM_URL), {
          method: req.method,
          headers,
          body: chunks.length ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        if (req.method === 'POST' && req.url === '/v1/refunds' && !dropped) {
          dropped = true;
          req.socket.destroy(); // the refund was made, but its answer never arrives
          return;
        }
        const out = {};
        upstream.headers.forEach((v, k) => { if (k !== 'content-length' && k !== 'transfer-encoding') out[k] = v; });
        res.writeHead(upstream.status, out);
        res.end(body);
      });
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const viaProxy = stripeClient(API_KEY, { maxNetworkRetries: 2 }, new URL(`http://127.0.0.1:${proxy.address().port}`));
      const { intent } = await paidSession({ amount: 4000 });
      const refund = await viaProxy.refunds.create({ payment_intent: intent.id, amount: 400 });
      const posts = seen.filter((s) => s.method === 'POST' && s.path === '/v1/refunds');
      assert.equal(posts.length, 2, 'the SDK retried the POST');
      assert.ok(posts[0].key?.startsWith('stripe-node-retry-'));
      assert.equal(posts[1].key, posts[0].key, 'the retry reuses the automatic key');
      assert.equal(refund.lastResponse.headers['idempotent-replayed'], 'true');
      const refunds = await stripe.refunds.list({ payment_intent: intent.id });
      assert.deepEqual(refunds.data.map((r) => r.id), [refund.id], 'exactly one refund was made');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

after(async () => {
  await advance(0);
});
