// An app's view of the flows the suites drive, written against stripe-node's own types in strict
// mode and checked with `tsc --noEmit` (tests/sdk/run.sh): what the simulator sends must be what
// these types promise, and the suites check at run time that it is (types.mjs). If stripe-node's
// types change under this code (a field renamed, made nullable, an enum value dropped), this file
// stops compiling.
import Stripe from 'stripe';

const stripe = new Stripe('sk_test_stripesim', { host: '127.0.0.1', port: 12111, protocol: 'http' });

/** Opens a Checkout Session for an order: the URL to send the buyer to. */
export async function checkout(orderId: string, price: string): Promise<string | null> {
  const session: Stripe.Checkout.Session = await stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price, quantity: 1 }],
    success_url: 'https://example.com/thanks?session_id={CHECKOUT_SESSION_ID}',
    client_reference_id: orderId,
  });
  const hosted: boolean = session.ui_mode === 'hosted_page';
  const total: number | null = session.amount_total;
  void hosted;
  void total;
  return session.url;
}

/** What the webhook route does with each event it verifies: the order it settles, if any. */
export function settle(event: Stripe.Event): { order: string; state: 'paid' | 'failed' | 'refunded' } | null {
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      const session: Stripe.Checkout.Session = event.data.object;
      const order = session.client_reference_id;
      return order && session.payment_status === 'paid' ? { order, state: 'paid' } : null;
    }
    case 'checkout.session.async_payment_failed': {
      const order = event.data.object.client_reference_id;
      return order ? { order, state: 'failed' } : null;
    }
    case 'charge.refunded': {
      const charge: Stripe.Charge = event.data.object;
      const intent: string | null =
        typeof charge.payment_intent === 'string' ? charge.payment_intent : (charge.payment_intent?.id ?? null);
      return charge.refunded && intent ? { order: intent, state: 'refunded' } : null;
    }
    default:
      return null;
  }
}

/** What a decline tells the app: the card's last digits and the reason. */
export function declineReason(intent: Stripe.PaymentIntent): string | null {
  const error: Stripe.PaymentIntent.LastPaymentError | null = intent.last_payment_error;
  if (!error) return null;
  const method: Stripe.PaymentMethod | undefined = error.payment_method;
  const last4: string | undefined = method?.card?.last4 ?? method?.sepa_debit?.last4 ?? undefined;
  return `${error.code ?? error.type} (${error.decline_code ?? 'no decline code'}) on …${last4 ?? '????'}`;
}

/** A receipt link for the buyer, once the payment went through. */
export async function receipt(chargeId: string): Promise<string | null> {
  const charge: Stripe.Charge = await stripe.charges.retrieve(chargeId, { expand: ['refunds'] });
  const refunds: Stripe.Refund[] = charge.refunds?.data ?? [];
  void refunds;
  return charge.receipt_url;
}

/** The PaymentMethod a PaymentIntent was paid with. */
export async function paidWith(intentId: string): Promise<Stripe.PaymentMethod.Type | null> {
  const intent = await stripe.paymentIntents.retrieve(intentId, { expand: ['payment_method'] });
  const method = intent.payment_method;
  return method && typeof method !== 'string' ? method.type : null;
}
