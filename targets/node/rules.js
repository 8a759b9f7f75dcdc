'use strict';
// The payment rules, pure: which event changes which order, and how.

const STRIPE = 'stripe';

function validateNewOrder(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'request body must be a JSON object';
  const strings = {};
  for (const field of ['productId', 'productName', 'currency', 'provider']) {
    const value = typeof body[field] === 'string' ? body[field].trim() : '';
    if (!value) return `${field} must be a non-empty string`;
    strings[field] = value;
  }
  if (!Number.isSafeInteger(body.amount) || body.amount <= 0) return 'amount must be a positive integer (minor units)';
  if (!/^[A-Za-z]{3}$/.test(strings.currency)) return 'currency must be a three-letter ISO code';
  return {
    productId: strings.productId,
    productName: strings.productName,
    amount: body.amount,
    currency: strings.currency.toUpperCase(),
    provider: strings.provider,
  };
}

/** Why a session does not pay this order, or null when it matches. */
function mismatch(order, session) {
  if (order.provider !== STRIPE) return `order provider is ${order.provider}, not stripe`;
  if (session.amount_total !== order.amount) return `amount mismatch: order ${order.amount}, session ${session.amount_total}`;
  if (typeof session.currency !== 'string' || session.currency.toUpperCase() !== order.currency.toUpperCase()) {
    return `currency mismatch: order ${order.currency}, session ${session.currency}`;
  }
  return null;
}

/** checkout.session.completed / async_payment_succeeded. */
function sessionSucceeded(order, session) {
  const why = mismatch(order, session);
  if (why) return { ignore: why };
  if (session.payment_status !== 'paid') return { ignore: `payment_status is ${session.payment_status}; waiting` };
  switch (order.status) {
    case 'pending':
    case 'failed':
      return { update: { status: 'paid', providerOrderId: session.id, providerCaptureId: session.payment_intent ?? null } };
    case 'paid':
      return { ignore: 'order already paid' };
    default:
      return { ignore: 'order is refunded, which is final' };
  }
}

/** checkout.session.async_payment_failed: only a pending order fails. */
function sessionAsyncFailed(order, session) {
  const why = mismatch(order, session);
  if (why) return { ignore: why };
  if (order.status !== 'pending') return { ignore: `order is ${order.status}, not pending` };
  return { update: { status: 'failed' } };
}

/** charge.refunded for the payment an order recorded: only a full refund refunds it. */
function chargeRefunded(order, charge) {
  if (charge.refunded !== true) return { ignore: `partial refund (${charge.amount_refunded} of ${charge.amount})` };
  if (order.status === 'refunded') return { ignore: 'order already refunded' };
  return { update: { status: 'refunded' } };
}

/** charge.refunded for a payment no order recorded: ours-but-early (retry) or not ours. */
function unknownRefund(session, order) {
  if (!session || !order) return { ignore: 'payment does not belong to one of our orders' };
  if (session.payment_status !== 'paid' || mismatch(order, session)) {
    return { ignore: 'payment does not belong to one of our orders' };
  }
  if (order.providerCaptureId) return { ignore: 'order was paid by another payment intent' };
  return { retry: true };
}

module.exports = { validateNewOrder, sessionSucceeded, sessionAsyncFailed, chargeRefunded, unknownRefund };
