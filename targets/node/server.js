'use strict';
// A small Node app that takes payments through Stripe Payment Links the way the payment spec says
// a careful production app should, with the official `stripe` SDK and SQLite (better-sqlite3).
//
// Routes: GET /health, POST /api/orders, GET /api/orders/:id, POST /api/webhooks/stripe,
// POST /api/orders/capture. Webhooks are the source of truth; the return route only reads.

const http = require('node:http');
const crypto = require('node:crypto');
const Stripe = require('stripe');
const { openStore } = require('./store');
const rules = require('./rules');

function config(env = process.env) {
  const required = (name) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  return {
    port: Number(env.PORT ?? 3000),
    secretKey: required('STRIPE_SECRET_KEY'),
    webhookSecret: required('STRIPE_WEBHOOK_SECRET'),
    apiBase: env.STRIPE_API_BASE || 'https://api.stripe.com',
    appUrl: env.NEXT_PUBLIC_APP_URL || 'http://localhost:3000',
    databasePath: env.DATABASE_PATH || ':memory:',
  };
}

/** `new Stripe(key, {host, port, protocol})` from an origin such as http://127.0.0.1:12111. */
function stripeClient(secretKey, apiBase) {
  const url = new URL(apiBase);
  const protocol = url.protocol.replace(':', '');
  return new Stripe(secretKey, {
    host: url.hostname,
    port: Number(url.port || (protocol === 'https' ? 443 : 80)),
    protocol,
    maxNetworkRetries: 2,
    timeout: 10_000,
  });
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req, limit = 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw) {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body must be JSON');
  }
}

function createApp(cfg, { stripe = stripeClient(cfg.secretKey, cfg.apiBase), store = openStore(cfg.databasePath) } = {}) {
  const log = (...args) => console.log(new Date().toISOString(), ...args);

  // ----- orders -----
  function createOrder(body) {
    const order = rules.validateNewOrder(body);
    if (typeof order === 'string') throw new HttpError(400, order);
    return store.insertOrder({ id: crypto.randomUUID(), ...order });
  }

  // ----- webhooks -----
  function applyDecision(event, orderId, decision) {
    if (decision.update) {
      store.applyUpdate(orderId, decision.update);
      log(`event ${event.id} (${event.type}) set order ${orderId} to ${decision.update.status}`);
      store.markProcessed(event.id, event.type);
      return { received: true };
    }
    log(`event ${event.id} (${event.type}) ignored: ${decision.ignore}`);
    store.markProcessed(event.id, event.type);
    return { received: true, ignored: true };
  }

  function checkoutEvent(event, rule) {
    const session = event.data.object;
    return store.transaction(() => {
      if (store.isProcessed(event.id)) return { received: true, duplicate: true };
      const orderId = session.client_reference_id;
      const order = orderId ? store.order(orderId) : null;
      const decision = !orderId
        ? { ignore: 'session has no client_reference_id' }
        : !order
          ? { ignore: `no order ${orderId}` }
          : rule(order, session);
      return applyDecision(event, orderId, decision);
    });
  }

  /** charge.refunded for a payment an order recorded; null when no order has recorded it. */
  function refundKnownPayment(event, charge) {
    if (store.isProcessed(event.id)) return { received: true, duplicate: true };
    const order = store.orderByCaptureId(charge.payment_intent);
    if (!order) return null;
    return applyDecision(event, order.id, rules.chargeRefunded(order, charge));
  }

  async function refundEvent(event) {
    const charge = event.data.object;
    if (!charge.payment_intent) {
      return store.transaction(() => (store.isProcessed(event.id)
        ? { received: true, duplicate: true }
        : applyDecision(event, null, { ignore: 'charge has no payment_intent' })));
    }
    const known = store.transaction(() => refundKnownPayment(event, charge));
    if (known) return known;
    // A refund can arrive before its payment: ask Stripe whose payment it is (outside any
    // transaction), then look again.
    let session;
    try {
      const found = await stripe.checkout.sessions.list({ payment_intent: charge.payment_intent, limit: 1 });
      session = found.data[0] ?? null;
    } catch (e) {
      log(`refund lookup for ${charge.payment_intent} failed: ${e.message}`);
      throw new HttpError(503, 'could not look the payment up at Stripe; retry');
    }
    return store.transaction(() => {
      const again = refundKnownPayment(event, charge);
      if (again) return again;
      const order = session?.client_reference_id ? store.order(session.client_reference_id) : null;
      const verdict = rules.unknownRefund(session, order);
      if (verdict.retry) {
        log(`event ${event.id} refunds ${charge.payment_intent} before its payment was recorded; asking Stripe to retry`);
        throw new HttpError(503, 'payment not known yet; retry');
      }
      return applyDecision(event, null, verdict);
    });
  }

  async function webhook(req) {
    const raw = await readBody(req);
    let event;
    try {
      // The SDK checks the signature (HMAC-SHA256 of "t.body", any v1, 300 s tolerance).
      event = stripe.webhooks.constructEvent(raw, req.headers['stripe-signature'], cfg.webhookSecret);
    } catch (e) {
      if (e instanceof Stripe.errors.StripeSignatureVerificationError) {
        log(`webhook refused: ${e.message}`);
        throw new HttpError(400, 'invalid signature');
      }
      throw new HttpError(400, 'body must be JSON');
    }
    switch (event.type) {
      case 'checkout.session.completed':
      case 'checkout.session.async_payment_succeeded':
        return checkoutEvent(event, rules.sessionSucceeded);
      case 'checkout.session.async_payment_failed':
        return checkoutEvent(event, rules.sessionAsyncFailed);
      case 'charge.refunded':
        return refundEvent(event);
      default:
        return store.transaction(() => (store.isProcessed(event.id)
          ? { received: true, duplicate: true }
          : applyDecision(event, null, { ignore: `event type ${event.type} is not handled` })));
    }
  }

  // ----- the return route: reads the session, never changes the order -----
  async function capture(body) {
    const sessionId = body && typeof body.session_id === 'string' ? body.session_id : '';
    if (!sessionId) throw new HttpError(400, 'session_id is required');
    if (!/^[A-Za-z0-9_]+$/.test(sessionId)) throw new HttpError(400, 'session_id is not a Stripe id');
    let session;
    try {
      session = await stripe.checkout.sessions.retrieve(sessionId);
    } catch (e) {
      if (e instanceof Stripe.errors.StripeInvalidRequestError && e.statusCode === 404) {
        throw new HttpError(404, 'checkout session not found');
      }
      throw new HttpError(502, `Stripe: ${e.message}`);
    }
    const orderId = session.client_reference_id ?? null;
    const order = orderId ? store.order(orderId) : null;
    return {
      orderId,
      sessionStatus: session.status,
      paymentStatus: session.payment_status,
      orderStatus: order ? order.status : null,
    };
  }

  async function route(req) {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/health') return [200, { status: 'ok' }];
    if (req.method === 'POST' && path === '/api/orders') {
      return [201, createOrder(parseJson(await readBody(req)))];
    }
    const match = path.match(/^\/api\/orders\/([^/]+)$/);
    if (req.method === 'GET' && match && match[1] !== 'capture') {
      const order = store.order(decodeURIComponent(match[1]));
      if (!order) throw new HttpError(404, 'order not found');
      return [200, order];
    }
    if (req.method === 'POST' && path === '/api/webhooks/stripe') return [200, await webhook(req)];
    if (req.method === 'POST' && path === '/api/orders/capture') {
      return [200, await capture(parseJson(await readBody(req)))];
    }
    throw new HttpError(404, 'not found');
  }

  const server = http.createServer((req, res) => {
    route(req)
      .then(([status, body]) => send(res, status, body))
      .catch((e) => {
        if (e instanceof HttpError) return send(res, e.status, { error: e.message });
        log('internal error:', e);
        return send(res, 500, { error: 'internal error' });
      });
  });
  server.store = store;
  return server;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

if (require.main === module) {
  let cfg;
  try {
    cfg = config();
  } catch (e) {
    console.error(`node-target: ${e.message}`);
    process.exit(2);
  }
  const server = createApp(cfg);
  server.listen(cfg.port, '127.0.0.1', () => {
    console.log(`node-target listening on http://127.0.0.1:${server.address().port} (Stripe at ${cfg.apiBase})`);
  });
  const stop = () => server.close(() => { server.store.close(); process.exit(0); });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { createApp, config, stripeClient };
