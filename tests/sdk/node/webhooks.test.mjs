// Webhooks from stripe-sim, verified by stripe-node's own `stripe.webhooks.constructEvent` with
// its default tolerance: every event type of the payment flows, after a rolled secret and after
// retries; forged deliveries must be refused by the SDK itself.
import { before, after, describe, test } from 'node:test';
import {
  assert, Stripe, stripe, sim, reset, advance, flush, pay, newSession, paidSession, attemptsFor,
  Receiver, CARD_OK, SEPA_OK, SEPA_FAILS, ACH_OK,
} from './lib.mjs';

/** Every event type the payment flows below produce. */
const FLOW_TYPES = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'payment_intent.created',
  'payment_intent.processing',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.pending',
  'charge.succeeded',
  'charge.failed',
  'charge.refunded',
  'charge.refund.updated',
  'refund.created',
  'refund.updated',
  'refund.failed',
];

let receiver;
let endpoint;

before(async () => {
  await reset();
  receiver = await new Receiver(null).start();
  endpoint = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
  receiver.secret = endpoint.secret;
});

after(async () => {
  await receiver.stop();
});

/** The SDK's class check: a verified event is a Stripe.Event whose data.object is typed. */
function assertTypedEvent(event) {
  assert.equal(event.object, 'event');
  assert.match(event.id, /^evt_/);
  assert.equal(typeof event.created, 'number');
  assert.equal(event.livemode, false);
  assert.equal(typeof event.api_version, 'string');
  const expectedObject = {
    checkout: 'checkout.session', payment_intent: 'payment_intent', charge: 'charge', refund: 'refund',
  }[event.type.split('.')[0]];
  if (expectedObject) {
    const object = event.type.startsWith('charge.refund.') ? 'refund' : expectedObject;
    assert.equal(event.data.object.object, object, event.type);
  }
}

describe('genuine deliveries', () => {
  test('every event type of the payment flows verifies with constructEvent', async () => {
    // Card: success after two declines.
    const { session: card } = await newSession({ amount: 1200 });
    await assert.rejects(pay(card.id, { card: '4000000000000002' }));
    await assert.rejects(pay(card.id, { card: '4000000000009995' }));
    await pay(card.id, CARD_OK);
    // SEPA success and failure (EUR), ACH success (USD): completed unpaid, then the outcome.
    const { session: sepa } = await newSession({ amount: 3000, currency: 'eur' });
    await pay(sepa.id, SEPA_OK);
    const { session: sepaFails } = await newSession({ amount: 3100, currency: 'eur' });
    await pay(sepaFails.id, SEPA_FAILS);
    const { session: ach } = await newSession({ amount: 3200 });
    await pay(ach.id, ACH_OK);
    // An expired session.
    const { session: expiring } = await newSession();
    await stripe.checkout.sessions.expire(expiring.id);
    // Refunds: partial then full; and one that fails later (card 4000000000005126).
    const { intent } = await paidSession({ amount: 8000 });
    await stripe.refunds.create({ payment_intent: intent.id, amount: 3000 });
    await stripe.refunds.create({ payment_intent: intent.id });
    const { intent: failing } = await paidSession({ amount: 900, method: { card: '4000000000005126' } });
    await stripe.refunds.create({ payment_intent: failing.id });
    await flush();
    await advance(200); // settlements (180 s) and the failing refund (60 s)
    await flush();

    const types = receiver.typesReceived();
    const missing = FLOW_TYPES.filter((t) => !types.has(t));
    assert.deepEqual(missing, [], `event types never delivered: ${missing}`);
    assert.deepEqual(receiver.rejected().map((d) => d.error.message), [], 'no genuine delivery was refused');
    for (const { event } of receiver.verified()) {
      assertTypedEvent(event);
    }
    // The simulator agrees: every logged attempt got the receiver's 200.
    const attempts = await attemptsFor(endpoint.id);
    assert.ok(attempts.length >= receiver.verified().length);
    assert.deepEqual(attempts.filter((a) => a.status_code !== 200), []);
    // The payloads carry what an app needs.
    const completed = receiver.verified().find((d) => d.event.type === 'checkout.session.completed'
      && d.event.data.object.id === card.id).event;
    assert.equal(completed.data.object.payment_status, 'paid');
    assert.equal(completed.data.object.amount_total, 1200);
    assert.equal(completed.data.object.client_reference_id, card.client_reference_id);
    const refunded = receiver.verified().filter((d) => d.event.type === 'charge.refunded'
      && d.event.data.object.payment_intent === intent.id).map((d) => d.event.data.object);
    assert.deepEqual(refunded.map((c) => c.refunded).sort(), [false, true]);
    const asyncOk = receiver.verified().find((d) => d.event.type === 'checkout.session.async_payment_succeeded'
      && d.event.data.object.id === sepa.id);
    assert.equal(asyncOk.event.data.object.payment_status, 'paid');
    // The events API returns the same events.
    const fromApi = await stripe.events.retrieve(completed.id);
    assert.deepEqual(fromApi.data.object.id, completed.data.object.id);
  });

  test('after a rolled secret, deliveries verify with the new secret (and the old one until it expires)', async () => {
    const oldSecret = receiver.secret;
    const rolled = await sim('POST', `/_sim/webhook_endpoints/${endpoint.id}/roll_secret`, { expires_in: 3600 });
    assert.match(rolled.secret, /^whsec_/);
    assert.notEqual(rolled.secret, oldSecret);
    receiver.secret = rolled.secret;
    const before = receiver.deliveries.length;
    const { session } = await paidSession();
    await flush();
    const during = receiver.deliveries.slice(before);
    assert.ok(during.length > 0);
    for (const d of during) {
      assert.ok(d.verified, d.error?.message);
      // Both secrets sign while the old one is still active.
      assert.equal(d.header.split(',').filter((p) => p.startsWith('v1=')).length, 2, d.header);
      stripe.webhooks.constructEvent(d.raw, d.header, oldSecret);
    }
    await advance(3601);
    await flush();
    const mark = receiver.deliveries.length;
    await stripe.refunds.create({ payment_intent: session.payment_intent });
    await flush();
    const after = receiver.deliveries.slice(mark);
    assert.ok(after.some((d) => d.event?.type === 'charge.refunded'));
    for (const d of after) {
      assert.ok(d.verified, d.error?.message);
      assert.throws(
        () => stripe.webhooks.constructEvent(d.raw, d.header, oldSecret),
        (e) => e instanceof Stripe.errors.StripeSignatureVerificationError && /No signatures found/.test(e.message),
      );
    }
  });

  test('a failed delivery is retried, freshly signed, and verifies', async () => {
    receiver.failNext.set('checkout.session.completed', 1);
    const mark = receiver.deliveries.length;
    const { session } = await paidSession();
    await flush();
    const first = receiver.deliveries.slice(mark).filter((d) => d.event?.data.object.id === session.id
      && d.event.type === 'checkout.session.completed');
    assert.equal(first.length, 1);
    assert.equal(first[0].status, 500);
    await advance(300);
    await flush();
    const all = receiver.deliveries.slice(mark).filter((d) => d.event?.data.object.id === session.id
      && d.event.type === 'checkout.session.completed');
    assert.equal(all.length, 2, 'retried once');
    assert.equal(all[1].status, 200);
    assert.ok(all[1].verified);
    assert.equal(all[1].event.id, all[0].event.id, 'the same event');
    // Each attempt is signed when it is sent, with the wall clock (so the SDK's tolerance check
    // holds even when the simulator's clock has been advanced).
    const t = (h) => Number(h.split(',')[0].slice(2));
    assert.ok(t(all[1].header) >= t(all[0].header));
    assert.ok(Math.abs(t(all[1].header) - Date.now() / 1000) < 60);
    const attempts = (await attemptsFor(endpoint.id)).filter((a) => a.event === all[0].event.id);
    assert.deepEqual(attempts.map((a) => a.status_code), [500, 200]);
  });
});

describe('forged deliveries are refused by the SDK', () => {
  const expectations = {
    stale: /Timestamp outside the tolerance zone/,
    tamper: /No signatures found matching the expected signature/,
    wrong_secret: /No signatures found matching the expected signature/,
    unsigned: /No stripe-signature header value was provided/,
    bad_header: /No signatures found with expected scheme/,
  };

  test('one forged request of each kind (control API deliver)', async () => {
    const { session } = await paidSession();
    const events = await stripe.events.list({ type: 'checkout.session.completed', limit: 100 });
    const event = events.data.find((e) => e.data.object.id === session.id);
    await flush();
    for (const [forgery, message] of Object.entries(expectations)) {
      const mark = receiver.deliveries.length;
      const { attempt } = await sim('POST', '/_sim/webhooks/deliver', { endpoint: endpoint.id, event_id: event.id, forgery });
      assert.equal(attempt.status_code, 400, forgery);
      const got = receiver.deliveries.slice(mark);
      assert.equal(got.length, 1);
      assert.equal(got[0].verified, false, forgery);
      assert.ok(got[0].error instanceof Stripe.errors.StripeSignatureVerificationError, forgery);
      assert.match(got[0].error.message, message, forgery);
    }
    // And a genuine one through the same route is accepted.
    const { attempt } = await sim('POST', '/_sim/webhooks/deliver', { endpoint: endpoint.id, event_id: event.id });
    assert.equal(attempt.status_code, 200);
  });

  test('fault injection: forged attempts are refused, then the genuine retry verifies', async () => {
    await sim('POST', '/_sim/webhooks/faults', {
      faults: Object.keys(expectations).map((fault) => ({ fault, count: 1, event_type: 'checkout.session.completed' })),
    });
    const mark = receiver.deliveries.length;
    const { session } = await paidSession();
    await flush();
    for (let i = 0; i < 6; i += 1) {
      await advance(2 * 3600);
      await flush();
    }
    const got = receiver.deliveries.slice(mark).filter((d) => d.event?.data.object.id === session.id
      || (!d.verified && d.raw.toString().includes(session.id)));
    const refused = got.filter((d) => !d.verified);
    assert.equal(refused.length, 4, 'the first attempt and its three retries were forged');
    for (const d of refused) {
      assert.ok(d.error instanceof Stripe.errors.StripeSignatureVerificationError);
    }
    // Four forgeries used up the test-mode schedule (1 + 3 retries); the fifth fault is still
    // waiting, so the genuine event is sent again by the resend control.
    await sim('DELETE', '/_sim/webhooks/faults');
    const event = (await stripe.events.list({ type: 'checkout.session.completed', limit: 100 }))
      .data.find((e) => e.data.object.id === session.id);
    const resent = await sim('POST', `/_sim/events/${event.id}/resend`, { endpoint: endpoint.id });
    assert.equal(resent.attempts[0].status_code, 200);
    assert.ok(receiver.deliveries.at(-1).verified);
    assert.equal(receiver.deliveries.at(-1).event.id, event.id);
  });

  test('drop and duplicate faults: the SDK verifies each genuine copy', async () => {
    await sim('POST', '/_sim/webhooks/faults', { fault: 'duplicate', count: 1, event_type: 'charge.succeeded' });
    await sim('POST', '/_sim/webhooks/faults', { fault: 'drop', count: 1, event_type: 'payment_intent.succeeded' });
    const mark = receiver.deliveries.length;
    const { intent } = await paidSession();
    await flush();
    await advance(300);
    await flush();
    const got = receiver.deliveries.slice(mark);
    assert.ok(got.every((d) => d.verified), 'all verified');
    const charges = got.filter((d) => d.event.type === 'charge.succeeded' && d.event.data.object.payment_intent === intent.id);
    assert.equal(charges.length, 2, 'duplicated');
    assert.equal(charges[0].event.id, charges[1].event.id);
    const intents = got.filter((d) => d.event.type === 'payment_intent.succeeded' && d.event.data.object.id === intent.id);
    assert.equal(intents.length, 1, 'the dropped attempt never arrived; its retry did');
  });
});
