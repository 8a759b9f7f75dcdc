// Shared helpers of the stripe-node suite: the SDK pointed at the simulator the documented way,
// the /_sim control API, a buyer paying sessions, and a webhook receiver that verifies every
// delivery with the SDK's own constructEvent. Every answer the SDK receives and every event it
// verifies is checked against the SDK's own types (types.mjs); a test whose objects break them
// fails after it ends, naming the fields.
import http from 'node:http';
import assert from 'node:assert/strict';
import { afterEach } from 'node:test';
import Stripe from 'stripe';
import { typeProblems } from './types.mjs';

export const SIM_URL = process.env.SIM_URL ?? 'http://127.0.0.1:12111';
export const API_KEY = process.env.SIM_API_KEY ?? 'sk_test_stripesim';
const base = new URL(SIM_URL);

/** What broke the SDK's types in the current test: `["GET /v1/charges/ch_…: charge.x: …"]`. */
const typeErrors = [];
let typeChecked = 0;
process.on('exit', () => {
  console.log(`strict decoding: ${typeChecked} answers and events checked against stripe-node's types`);
});

/** Checks one object the SDK received; `label` says where it came from. */
export function checkTypes(label, value) {
  typeChecked += 1;
  for (const problem of typeProblems(value)) typeErrors.push(`${label}: ${problem}`);
}

// Strict decoding: each test fails if anything it received did not fit stripe-node's types.
afterEach(() => {
  const found = typeErrors.splice(0);
  assert.deepEqual(found, [], `objects that do not fit stripe-node ${Stripe.PACKAGE_VERSION ?? ''} types`);
});

/**
 * The SDK's own Node HTTP client, with every JSON answer checked against the SDK's types before
 * the SDK reads it (the SDK itself checks nothing at run time).
 */
function checkingHttpClient() {
  const inner = Stripe.createNodeHttpClient();
  return {
    getClientName: () => inner.getClientName(),
    async makeRequest(host, port, path, method, headers, requestData, protocol, timeout) {
      const response = await inner.makeRequest(host, port, path, method, headers, requestData, protocol, timeout);
      const toJSON = response.toJSON.bind(response);
      response.toJSON = async () => {
        const json = await toJSON();
        checkTypes(`${method} ${path}`, json);
        return json;
      };
      return response;
    },
  };
}

/** `new Stripe(key, {host, port, protocol})`, as stripe-node documents for another host. */
export function stripeClient(key = API_KEY, extra = {}, url = base) {
  return new Stripe(key, {
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol.replace(':', ''),
    maxNetworkRetries: 2,
    httpClient: checkingHttpClient(),
    ...extra,
  });
}

export const stripe = stripeClient();

/** A call to the /_sim control API (JSON in, JSON out). */
export async function sim(method, path, body) {
  const response = await fetch(new URL(path, SIM_URL), {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) {
    const error = new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(json)}`);
    error.status = response.status;
    error.body = json;
    throw error;
  }
  return json;
}

export const reset = () => sim('POST', '/_sim/reset', {});
export const advance = (seconds) => sim('POST', '/_sim/clock/advance', { seconds });
export const flush = () => sim('POST', '/_sim/webhooks/flush', {});

/** The buyer paying a session on the hosted page: the session, or the 402 card error thrown. */
export async function pay(sessionId, method) {
  const label = `pay ${sessionId}`;
  try {
    const session = await sim('POST', `/_sim/checkout/sessions/${sessionId}/pay`, method);
    checkTypes(label, session);
    return session;
  } catch (e) {
    if (e.body) checkTypes(`${label} (HTTP ${e.status})`, e.body);
    throw e;
  }
}
export const CARD_OK = { card: '4242424242424242' };
export const SEPA_OK = { sepa_debit: { iban: 'DE89370400440532013000' } };
export const SEPA_FAILS = { sepa_debit: { iban: 'DE62370400440532013001' } };
export const ACH_OK = { us_bank_account: { routing_number: '110000000', account_number: '000123456789' } };

let counter = 0;
/** A product, a one-time price and a Checkout Session for it, all through the SDK. */
export async function newSession({ amount = 2500, currency = 'usd', reference, client = stripe } = {}) {
  counter += 1;
  const product = await client.products.create({ name: `SDK test product ${counter}` });
  const price = await client.prices.create({ product: product.id, unit_amount: amount, currency });
  const session = await client.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: 'http://127.0.0.1:9/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://127.0.0.1:9/cancel',
    client_reference_id: reference ?? `order_${counter}`,
    metadata: { order: String(counter) },
  });
  return { product, price, session };
}

/** A session paid by card: the completed session, its payment intent and its charge. */
export async function paidSession(options = {}) {
  const { session } = await newSession(options);
  await pay(session.id, options.method ?? CARD_OK);
  const completed = await stripe.checkout.sessions.retrieve(session.id);
  const intent = await stripe.paymentIntents.retrieve(completed.payment_intent);
  return { session: completed, intent, chargeId: intent.latest_charge };
}

/**
 * A webhook receiver: verifies every request with `stripe.webhooks.constructEvent` (default
 * tolerance), answers 400 when the SDK refuses it and 200 otherwise, and records each outcome.
 */
export class Receiver {
  constructor(secret) {
    this.secret = secret;
    this.deliveries = [];
    this.failNext = new Map(); // event type → how many genuine attempts to answer 500
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}/webhooks`;
    return this;
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(resolve));
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const header = req.headers['stripe-signature'];
      const record = { raw, header, verified: false, event: null, error: null, status: 0 };
      try {
        record.event = stripe.webhooks.constructEvent(raw, header, this.secret);
        record.verified = true;
        checkTypes(`webhook ${record.event.type}`, JSON.parse(raw.toString('utf8')));
      } catch (e) {
        record.error = e;
      }
      if (!record.verified) {
        record.status = 400;
      } else if ((this.failNext.get(record.event.type) ?? 0) > 0) {
        this.failNext.set(record.event.type, this.failNext.get(record.event.type) - 1);
        record.status = 500;
      } else {
        record.status = 200;
      }
      this.deliveries.push(record);
      res.writeHead(record.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(record.verified ? { received: true } : { error: record.error.message }));
    });
  }

  verified() {
    return this.deliveries.filter((d) => d.verified);
  }

  rejected() {
    return this.deliveries.filter((d) => !d.verified);
  }

  typesReceived() {
    return new Set(this.verified().map((d) => d.event.type));
  }
}

/** Every attempt the simulator logged for one endpoint, flattened. */
export async function attemptsFor(endpointId) {
  const log = await sim('GET', `/_sim/deliveries?endpoint=${endpointId}&limit=100`);
  return log.data.flatMap((record) =>
    (record.attempts ?? []).map((attempt) => ({ ...attempt, event: record.event_id, type: record.event_type })),
  );
}

export { assert, Stripe };
