// An Express shop that sells through Stripe Payment Links, written the quick way: orders in a
// Map (lost on restart), stripe-node pointed at STRIPE_API_BASE, the webhook on its own raw-body
// route. No return route: the billing page polls GET /api/orders/:id instead.
const express = require('express');
const crypto = require('crypto');
const Stripe = require('stripe');

const apiBase = new URL(process.env.STRIPE_API_BASE || 'https://api.stripe.com');
const stripe = new Stripe(process.env.STRIPE_SECRET_KEY, {
  host: apiBase.hostname,
  port: apiBase.port || (apiBase.protocol === 'https:' ? 443 : 80),
  protocol: apiBase.protocol.replace(':', ''),
});
const endpointSecret = process.env.STRIPE_WEBHOOK_SECRET;

const orders = new Map(); // id -> order
const seenEvents = new Set();

const app = express();

async function handleEvent(event) {
  if (seenEvents.has(event.id)) return;
  const object = event.data.object;
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const order = orders.get(object.client_reference_id);
      if (order && sessionPaysOrder(order, object) && object.payment_status === 'paid'
        && (order.paymentStatus === 'unpaid' || order.paymentStatus === 'failed')) {
        order.paymentStatus = 'paid';
        order.stripeSessionId = object.id;
        order.stripePaymentIntentId = object.payment_intent;
      }
      break;
    }
    case 'checkout.session.async_payment_failed': {
      const order = orders.get(object.client_reference_id);
      if (order && sessionPaysOrder(order, object) && order.paymentStatus === 'unpaid') {
        order.paymentStatus = 'failed';
      }
      break;
    }
    case 'charge.refunded': {
      if (!object.refunded) break; // partial refund
      const order = findByPaymentIntent(object.payment_intent);
      if (order) {
        order.paymentStatus = 'refunded';
        break;
      }
      // A refund for a payment we have not recorded: is it one of ours, still unpaid here?
      const { data } = await stripe.checkout.sessions.list({ payment_intent: object.payment_intent, limit: 1 });
      // Other deliveries ran while we waited for Stripe: the payment may be recorded by now.
      const paidMeanwhile = findByPaymentIntent(object.payment_intent);
      if (paidMeanwhile) {
        paidMeanwhile.paymentStatus = 'refunded';
        break;
      }
      const session = data[0];
      const mine = session && orders.get(session.client_reference_id);
      if (mine && sessionPaysOrder(mine, session) && !mine.stripePaymentIntentId) {
        throw new Error(`payment ${object.payment_intent} not recorded yet, retry later`);
      }
      break;
    }
    default:
      console.log(`Unhandled event type ${event.type}`);
  }
  seenEvents.add(event.id);
}

// WEBHOOK_QUEUE_MS set: acknowledge at once and apply the event that many ms later, retrying
// in the background until it applies (Stripe's advice: return 2xx before any complex logic; a
// job queue does this in production). Unset: apply it before answering (500 makes Stripe retry).
const queueDelay = process.env.WEBHOOK_QUEUE_MS ? Number(process.env.WEBHOOK_QUEUE_MS) : null;

function enqueue(event) {
  setTimeout(() => handleEvent(event).catch((err) => {
    console.log(`job ${event.id} failed (${err.message}); retrying`);
    enqueue(event);
  }), queueDelay);
}

// The webhook needs the raw body for the signature: register it before express.json().
app.post('/api/webhooks/stripe', express.raw({ type: 'application/json' }), async (req, res) => {
  let event;
  try {
    event = stripe.webhooks.constructEvent(req.body, req.headers['stripe-signature'], endpointSecret);
  } catch (err) {
    console.log(`Webhook signature verification failed: ${err.message}`);
    return res.status(400).send(`Webhook Error: ${err.message}`);
  }
  if (queueDelay !== null) {
    enqueue(event);
    return res.json({ received: true });
  }
  await handleEvent(event);
  res.json({ received: true });
});

app.use(express.json());


app.get('/', (req, res) => {
  res.send('<h1>Shop</h1><a href="/pricing">Pricing</a>');
});

app.post('/api/orders', (req, res) => {
  const { productId, productName, amount, currency, provider } = req.body;
  if (!Number.isInteger(amount) || amount <= 0 || typeof currency !== 'string') {
    return res.status(400).json({ error: 'amount and currency are required' });
  }
  const order = {
    id: 'ord_' + crypto.randomBytes(8).toString('hex'),
    productId,
    productName,
    amount,
    currency: currency.toUpperCase(),
    provider,
    paymentStatus: 'unpaid',
    stripeSessionId: null,
    stripePaymentIntentId: null,
    createdAt: new Date().toISOString(),
  };
  orders.set(order.id, order);
  res.status(201).json(order);
});

app.get('/api/orders/:id', (req, res) => {
  const order = orders.get(req.params.id);
  if (!order) return res.status(404).json({ error: 'Order not found' });
  res.json(order);
});

function sessionPaysOrder(order, session) {
  return order.provider === 'stripe'
    && session.amount_total === order.amount
    && session.currency.toUpperCase() === order.currency.toUpperCase();
}

function findByPaymentIntent(paymentIntent) {
  for (const order of orders.values()) {
    if (order.stripePaymentIntentId === paymentIntent) return order;
  }
  return null;
}

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`Shop listening on port ${port}`));
