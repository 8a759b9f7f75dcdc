//! A buyer paying a Checkout Session, as the hosted page and `/_sim/…/pay` do it, and the later
//! settlement of bank debits.
//!
//! * A card that succeeds completes the session `paid` at once.
//! * A declined card leaves the session `open` for another attempt: the PaymentIntent goes back
//!   to `requires_payment_method` with `last_payment_error`, and a failed charge is recorded. No
//!   checkout.session event, as on Stripe.
//! * A bank debit (SEPA, ACH) completes the session `unpaid` (PaymentIntent `processing`); after
//!   the settlement delay it succeeds (`checkout.session.async_payment_succeeded`) or fails
//!   (`checkout.session.async_payment_failed`).

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdKind;
use crate::params::Metadata;
use crate::resources::charge::{receipt_url, Charge, ChargeStatus, MethodDetails, Outcome};
use crate::resources::checkout_session::{
    method_currency, CustomerDetails, PaymentStatus, SessionStatus,
};
use crate::resources::event::EventType;
use crate::resources::payment_intent::{PaymentIntent, PaymentIntentStatus};
use crate::resources::payment_method::{fingerprint, BillingDetails, PaymentMethod};
use crate::store::{Ctx, Job, Store};
use crate::test_cards::{
    find_bank_account, find_card, find_iban, luhn_valid, CardBehaviour, Decline, DelayedOutcome,
    RefundBehaviour, INCORRECT_NUMBER, LIVE_CARD_IN_TEST_MODE,
};

/// `last_payment_error` of a PaymentIntent whose bank debit failed: Stripe's error code for a
/// failed payment attempt, with the bank's reason left on the charge (a failed SEPA test debit,
/// captured from Stripe's test mode, reads exactly so).
pub const BANK_DEBIT_FAILED: Decline = Decline {
    code: "payment_intent_payment_attempt_failed",
    decline_code: None,
    message: "The payment failed.",
};

/// Card details as a buyer types them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct CardInput {
    pub number: String,
    #[serde(default = "default_exp_month")]
    pub exp_month: u32,
    #[serde(default = "default_exp_year")]
    pub exp_year: u32,
    #[serde(default = "default_cvc")]
    pub cvc: String,
}

fn default_exp_month() -> u32 {
    12
}
fn default_exp_year() -> u32 {
    2034
}
fn default_cvc() -> String {
    "123".to_string()
}

impl CardInput {
    /// A test card with a future expiry and any CVC.
    pub fn number(number: &str) -> CardInput {
        CardInput {
            number: number.chars().filter(|c| !c.is_whitespace()).collect(),
            exp_month: default_exp_month(),
            exp_year: default_exp_year(),
            cvc: default_cvc(),
        }
    }
}

/// How the buyer pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethodInput {
    Card(CardInput),
    SepaDebit {
        iban: String,
    },
    UsBankAccount {
        routing_number: String,
        account_number: String,
    },
}

impl PaymentMethodInput {
    pub fn type_name(&self) -> &'static str {
        match self {
            PaymentMethodInput::Card(_) => "card",
            PaymentMethodInput::SepaDebit { .. } => "sepa_debit",
            PaymentMethodInput::UsBankAccount { .. } => "us_bank_account",
        }
    }

    /// What identifies the card or account, for its fingerprint: the same number, the same
    /// fingerprint.
    fn identity(&self) -> String {
        match self {
            PaymentMethodInput::Card(card) => card.number.clone(),
            PaymentMethodInput::SepaDebit { iban } => iban
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase(),
            PaymentMethodInput::UsBankAccount {
                routing_number,
                account_number,
            } => format!("{routing_number}/{account_number}"),
        }
    }

    /// The billing country the form collects: an IBAN names its own; the simulator's buyers
    /// are otherwise in the US.
    fn billing_country(&self) -> String {
        match self {
            PaymentMethodInput::SepaDebit { iban } if iban.len() >= 2 => {
                iban[..2].to_ascii_uppercase()
            }
            _ => "US".to_string(),
        }
    }
}

/// Who pays: what the checkout form collects besides the payment method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buyer {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// What a payment method will do, decided before anything is stored.
enum Plan {
    Charge {
        details: MethodDetails,
        behaviour: RefundBehaviour,
    },
    Decline {
        details: MethodDetails,
        decline: Decline,
        blocked: bool,
    },
    Delayed {
        details: MethodDetails,
        outcome: DelayedOutcome,
    },
}

/// The year and month of `now`, for expiry checks.
fn year_now(now: i64) -> (u32, u32) {
    let (year, month, _) = crate::clock::civil_date(now);
    (year.max(0) as u32, month)
}

fn plan_card(card: &CardInput, now: i64) -> ApiResult<Plan> {
    let number = &card.number;
    let (year, month) = year_now(now);
    let exp_year = if card.exp_year < 100 {
        card.exp_year + 2000
    } else {
        card.exp_year
    };
    if !(1..=12).contains(&card.exp_month) {
        return Err(ApiError::card(
            "invalid_expiry_month",
            None,
            "Your card's expiration month is invalid.",
        )
        .with_param("exp_month"));
    }
    if exp_year < year {
        return Err(ApiError::card(
            "invalid_expiry_year",
            None,
            "Your card's expiration year is invalid.",
        )
        .with_param("exp_year"));
    }
    if exp_year == year && card.exp_month < month {
        return Err(ApiError::card(
            "invalid_expiry_month",
            None,
            "Your card's expiration month is invalid.",
        )
        .with_param("exp_month"));
    }
    let cvc_ok =
        card.cvc.len() >= 3 && card.cvc.len() <= 4 && card.cvc.bytes().all(|b| b.is_ascii_digit());
    if !cvc_ok {
        return Err(
            ApiError::card("invalid_cvc", None, "Your card's security code is invalid.")
                .with_param("cvc"),
        );
    }
    if !luhn_valid(number) {
        return Err(
            ApiError::card(INCORRECT_NUMBER.code, None, INCORRECT_NUMBER.message)
                .with_param("number"),
        );
    }
    let known = find_card(number);
    let details = MethodDetails::Card {
        brand: known.map(|c| c.brand).unwrap_or("visa").to_string(),
        last4: number[number.len() - 4..].to_string(),
        exp_month: card.exp_month,
        exp_year,
        funding: known.map(|c| c.funding).unwrap_or("credit").to_string(),
        country: known.map(|c| c.country).unwrap_or("US").to_string(),
    };
    Ok(match known.map(|c| c.behaviour) {
        Some(CardBehaviour::Succeeds(behaviour)) => Plan::Charge { details, behaviour },
        Some(CardBehaviour::Declines(decline)) => Plan::Decline {
            blocked: decline.decline_code == Some("fraudulent"),
            details,
            decline,
        },
        None => Plan::Decline {
            details,
            decline: LIVE_CARD_IN_TEST_MODE,
            blocked: false,
        },
    })
}

fn plan(method: &PaymentMethodInput, now: i64) -> ApiResult<Plan> {
    match method {
        PaymentMethodInput::Card(card) => plan_card(card, now),
        PaymentMethodInput::SepaDebit { iban } => {
            let test = find_iban(iban).ok_or_else(|| {
                ApiError::invalid(
                    format!("The IBAN {iban} is not one of Stripe's SEPA Direct Debit test IBANs (for example DE89370400440532013000 succeeds and DE62370400440532013001 fails)."),
                    Some("sepa_debit[iban]"),
                )
            })?;
            Ok(Plan::Delayed {
                details: MethodDetails::SepaDebit {
                    last4: test.iban[test.iban.len() - 4..].to_string(),
                    country: test.iban[..2].to_string(),
                    bank_code: test.iban[4..12.min(test.iban.len())].to_string(),
                },
                outcome: test.outcome,
            })
        }
        PaymentMethodInput::UsBankAccount {
            routing_number,
            account_number,
        } => {
            let test = find_bank_account(routing_number, account_number).ok_or_else(|| {
                ApiError::invalid(
                    format!("Routing number {routing_number} with account {account_number} is not one of Stripe's ACH test accounts (routing 110000000 with 000123456789 succeeds, 000111111113 fails)."),
                    Some("us_bank_account[account_number]"),
                )
            })?;
            Ok(Plan::Delayed {
                details: MethodDetails::UsBankAccount {
                    last4: test.account_number[test.account_number.len() - 4..].to_string(),
                    routing_number: routing_number.clone(),
                },
                outcome: test.outcome,
            })
        }
    }
}

/// A payment that passed validation: everything the later steps need, read once.
struct PaymentAttempt {
    session_id: String,
    plan: Plan,
    amount: i64,
    currency: String,
    email: String,
    name: Option<String>,
    /// The billing country the form collected.
    country: String,
    /// The card number or account, for the PaymentMethod's fingerprint.
    identity: String,
    /// The session asks for a Customer to be created with the payment.
    create_customer: bool,
}

/// The charge a payment attempt recorded.
struct RecordedCharge {
    id: String,
    rendered: Value,
    payment_method: String,
    /// The PaymentMethod as the attempt left it, for `last_payment_error`.
    rendered_payment_method: Value,
    customer: Option<String>,
    /// The decline, when the card was refused.
    decline: Option<Decline>,
}

impl Store {
    /// A payment attempt on an open session, in named steps: validate, create or reuse the
    /// PaymentIntent, charge, settle (or decline), emit the events. A decline answers the 402
    /// card error and leaves the session open. A refused attempt (unknown, completed or expired
    /// session, a method the session does not take) leaves the ids as they were.
    pub fn pay_session(
        &mut self,
        session_id: &str,
        method: &PaymentMethodInput,
        buyer: &Buyer,
        ctx: &Ctx,
    ) -> ApiResult<()> {
        self.undo_ids_on_failure(|store| {
            let attempt = store.validate_payment(session_id, method, buyer, ctx.now)?;
            let intent_id = store.intent_for(&attempt, ctx);
            let charge = store.record_charge(&attempt, &intent_id, ctx);
            if let Some(decline) = charge.decline {
                return Err(store.decline(&intent_id, &charge, decline, ctx));
            }
            store.settle_attempt(&attempt, &intent_id, charge, ctx)
        })
    }

    /// Checks that the session is open and takes this payment method in its currency, and plans
    /// what the method will do (succeed, decline, settle later) before anything is stored.
    fn validate_payment(
        &self,
        session_id: &str,
        method: &PaymentMethodInput,
        buyer: &Buyer,
        now: i64,
    ) -> ApiResult<PaymentAttempt> {
        let session = self
            .sessions
            .get(session_id)
            .ok_or_else(|| ApiError::no_such("checkout.session", session_id, "session"))?;
        match session.status {
            SessionStatus::Open => {}
            SessionStatus::Complete => {
                return Err(ApiError::invalid(
                    "This Checkout Session is already complete: it cannot be paid again.",
                    None,
                )
                .with_code("checkout_session_complete"))
            }
            SessionStatus::Expired => {
                return Err(ApiError::invalid(
                    "This Checkout Session has expired: it can no longer be paid.",
                    None,
                )
                .with_code("checkout_session_expired"))
            }
        }
        let type_name = method.type_name();
        if !session.payment_method_types.iter().any(|t| t == type_name) {
            return Err(ApiError::invalid(
                format!(
                    "The payment method type \"{type_name}\" is not enabled for this Checkout Session (it accepts: {}).",
                    session.payment_method_types.join(", ")
                ),
                Some("payment_method_types"),
            ));
        }
        let currency = session.currency();
        if let Some(required) = method_currency(type_name) {
            if required != currency {
                return Err(ApiError::invalid(
                    format!("The payment method type \"{type_name}\" only supports {required}; this session is in {currency}."),
                    Some("payment_method_types"),
                ));
            }
        }
        let plan = plan(method, now)?;
        let email = buyer
            .email
            .clone()
            .or_else(|| session.customer_email.clone())
            .or_else(|| {
                session
                    .customer
                    .as_ref()
                    .and_then(|c| self.customers.get(c))
                    .and_then(|c| c.email.clone())
            })
            .unwrap_or_else(|| "buyer@example.com".to_string());
        Ok(PaymentAttempt {
            session_id: session_id.to_string(),
            plan,
            amount: session.amount_total(),
            currency,
            email,
            name: buyer.name.clone(),
            country: method.billing_country(),
            identity: method.identity(),
            create_customer: session.customer_creation.as_deref() == Some("always")
                && session.customer.is_none(),
        })
    }

    /// The session's PaymentIntent: created (with `payment_intent.created`) at the first attempt,
    /// reused by the later ones.
    fn intent_for(&mut self, attempt: &PaymentAttempt, ctx: &Ctx) -> String {
        let Some(session) = self.sessions.get(&attempt.session_id) else {
            return String::new();
        };
        if let Some(existing) = &session.payment_intent {
            return existing.clone();
        }
        let customer = session.customer.clone();
        let payment_method_types = session.payment_method_types.clone();
        let id = self.ids.id(IdKind::PaymentIntent);
        let secret = format!("{id}{}", self.ids.id(IdKind::ClientSecret));
        let intent = PaymentIntent {
            id: id.clone(),
            created: ctx.now,
            amount: attempt.amount,
            currency: attempt.currency.clone(),
            status: PaymentIntentStatus::RequiresPaymentMethod,
            amount_received: 0,
            customer,
            metadata: Metadata::new(),
            latest_charge: None,
            payment_method: None,
            payment_method_types,
            last_payment_error: None,
            canceled_at: None,
            cancellation_reason: None,
            client_secret: secret,
            receipt_email: None,
        };
        let rendered = intent.render();
        self.payment_intents.insert(intent);
        if let Some(s) = self.sessions.get_mut(&attempt.session_id) {
            s.payment_intent = Some(id.clone());
        }
        self.emit(
            EventType::PaymentIntentCreated,
            rendered,
            &ctx.request,
            ctx.now,
        );
        id
    }

    /// Records the charge of this attempt (succeeded, pending or failed), and the Customer the
    /// session asked for when the payment goes through.
    fn record_charge(
        &mut self,
        attempt: &PaymentAttempt,
        intent_id: &str,
        ctx: &Ctx,
    ) -> RecordedCharge {
        let payment_method = self.ids.id(IdKind::PaymentMethod);
        let charge_id = self.ids.id(IdKind::Charge);
        let fingerprint = fingerprint(self.config.seed, &attempt.identity);
        let (details, status, outcome, decline) = match &attempt.plan {
            Plan::Charge { details, .. } => (
                details.clone(),
                ChargeStatus::Succeeded,
                Some(Outcome::Authorized),
                None,
            ),
            Plan::Delayed { details, .. } => (details.clone(), ChargeStatus::Pending, None, None),
            Plan::Decline {
                details,
                decline,
                blocked,
            } => (
                details.clone(),
                ChargeStatus::Failed,
                Some(if *blocked {
                    Outcome::Blocked
                } else {
                    Outcome::IssuerDeclined {
                        reason: decline.decline_code.unwrap_or(decline.code).to_string(),
                    }
                }),
                Some(*decline),
            ),
        };
        let succeeded = status == ChargeStatus::Succeeded;
        let method = PaymentMethod {
            id: payment_method.clone(),
            created: ctx.now,
            billing: BillingDetails {
                email: Some(attempt.email.clone()),
                name: attempt.name.clone(),
                country: Some(attempt.country.clone()),
            },
            details: details.clone(),
            fingerprint: fingerprint.clone(),
            cvc_check: if decline.is_some_and(|d| d.code == "incorrect_cvc") {
                "fail".into()
            } else {
                "pass".into()
            },
            metadata: Metadata::new(),
        };
        let rendered_payment_method = method.render();
        self.payment_methods.insert(method);
        let existing_customer = self
            .sessions
            .get(&attempt.session_id)
            .and_then(|s| s.customer.clone());
        // A customer is made only when the session asks for one and the payment goes through.
        let customer = if decline.is_none() && attempt.create_customer {
            let customer = crate::resources::customer::Customer {
                email: Some(attempt.email.clone()),
                name: attempt.name.clone(),
                ..self.blank_customer(ctx.now)
            };
            let id = customer.id.clone();
            self.add_customer(customer, ctx);
            Some(id)
        } else {
            existing_customer
        };
        let charge = Charge {
            id: charge_id.clone(),
            created: ctx.now,
            amount: attempt.amount,
            currency: attempt.currency.clone(),
            status,
            amount_refunded: 0,
            payment_intent: intent_id.to_string(),
            payment_method: payment_method.clone(),
            method: details,
            fingerprint,
            outcome,
            failure_code: decline.map(|d| d.code.to_string()),
            failure_message: decline.map(|d| d.message.to_string()),
            customer: customer.clone(),
            billing_email: Some(attempt.email.clone()),
            billing_name: attempt.name.clone(),
            billing_country: Some(attempt.country.clone()),
            balance_transaction: succeeded.then(|| format!("txn_{}", self.ids.alphanumeric(24))),
            receipt_url: succeeded.then(|| receipt_url(&self.config.base_url, &charge_id)),
            metadata: Metadata::new(),
            refund_behaviour: match &attempt.plan {
                Plan::Charge { behaviour, .. } => *behaviour,
                _ => RefundBehaviour::Immediate,
            },
            pending_outcome: match &attempt.plan {
                Plan::Delayed { outcome, .. } => Some(*outcome),
                _ => None,
            },
        };
        let rendered = charge.render();
        self.charges.insert(charge);
        if let Some(intent) = self.payment_intents.get_mut(intent_id) {
            intent.latest_charge = Some(charge_id.clone());
            intent.customer = customer.clone();
        }
        RecordedCharge {
            id: charge_id,
            rendered,
            payment_method,
            rendered_payment_method,
            customer,
            decline,
        }
    }

    /// A declined card: the PaymentIntent goes back to `requires_payment_method` with
    /// `last_payment_error`, `charge.failed` and `payment_intent.payment_failed` are emitted (no
    /// checkout.session event, as on Stripe), and the 402 card error is returned.
    fn decline(
        &mut self,
        intent_id: &str,
        charge: &RecordedCharge,
        decline: Decline,
        ctx: &Ctx,
    ) -> ApiError {
        let rendered_intent = match self.payment_intents.get_mut(intent_id) {
            Some(intent) => {
                intent.status = PaymentIntentStatus::RequiresPaymentMethod;
                intent.payment_method = None;
                intent.last_payment_error = Some(json!({
                    "charge": charge.id,
                    "code": decline.code,
                    "decline_code": decline.decline_code,
                    "doc_url": format!("https://stripe.com/docs/error-codes/{}", decline.code.replace('_', "-")),
                    "message": decline.message,
                    "payment_method": charge.rendered_payment_method,
                    "type": "card_error",
                }));
                intent.render()
            }
            None => Value::Null,
        };
        self.emit(
            EventType::ChargeFailed,
            charge.rendered.clone(),
            &ctx.request,
            ctx.now,
        );
        self.emit(
            EventType::PaymentIntentPaymentFailed,
            rendered_intent.clone(),
            &ctx.request,
            ctx.now,
        );
        let mut error = ApiError::card(decline.code, decline.decline_code, decline.message)
            .with_extra("charge", json!(charge.id))
            .with_extra("payment_intent", rendered_intent)
            .with_extra("payment_method", charge.rendered_payment_method.clone());
        if decline.code == "incorrect_cvc" {
            error = error.with_param("cvc");
        } else if decline.code == "expired_card" {
            error = error.with_param("exp_month");
        }
        error
    }

    /// A payment that went through: the PaymentIntent succeeds (card) or starts processing (bank
    /// debit, settled by a job after the settlement delay), the session completes, and the
    /// events are emitted in Stripe's order.
    fn settle_attempt(
        &mut self,
        attempt: &PaymentAttempt,
        intent_id: &str,
        charge: RecordedCharge,
        ctx: &Ctx,
    ) -> ApiResult<()> {
        let succeeded = matches!(attempt.plan, Plan::Charge { .. });
        let intent = self
            .payment_intents
            .get_mut(intent_id)
            .ok_or_else(|| ApiError::internal("payment intent vanished"))?;
        intent.payment_method = Some(charge.payment_method);
        intent.last_payment_error = None;
        intent.receipt_email = None;
        if succeeded {
            intent.status = PaymentIntentStatus::Succeeded;
            intent.amount_received = attempt.amount;
        } else {
            intent.status = PaymentIntentStatus::Processing;
        }
        let rendered_intent = intent.render();

        let session = self
            .sessions
            .get_mut(&attempt.session_id)
            .ok_or_else(|| ApiError::internal("session vanished"))?;
        session.status = SessionStatus::Complete;
        session.payment_status = if succeeded {
            PaymentStatus::Paid
        } else {
            PaymentStatus::Unpaid
        };
        session.customer = charge.customer;
        session.customer_details = Some(CustomerDetails {
            email: Some(attempt.email.clone()),
            name: attempt.name.clone(),
            country: Some(attempt.country.clone()),
        });
        let rendered_session = session.render(&self.config);

        if succeeded {
            self.emit(
                EventType::ChargeSucceeded,
                charge.rendered,
                &ctx.request,
                ctx.now,
            );
            self.emit(
                EventType::PaymentIntentSucceeded,
                rendered_intent,
                &ctx.request,
                ctx.now,
            );
        } else {
            self.emit(
                EventType::PaymentIntentProcessing,
                rendered_intent,
                &ctx.request,
                ctx.now,
            );
            self.emit(
                EventType::ChargePending,
                charge.rendered,
                &ctx.request,
                ctx.now,
            );
            let settles = !matches!(
                attempt.plan,
                Plan::Delayed {
                    outcome: DelayedOutcome::NeverSettles,
                    ..
                }
            );
            if settles {
                self.schedule(
                    ctx.now + self.config.settlement_delay,
                    Job::SettlePayment(intent_id.to_string()),
                );
            }
        }
        self.emit(
            EventType::CheckoutSessionCompleted,
            rendered_session,
            &ctx.request,
            ctx.now,
        );
        Ok(())
    }

    /// The settlement job of a bank debit: the charge, PaymentIntent and session move to their
    /// final state and the async_payment event is emitted.
    pub fn settle_payment(&mut self, intent_id: &str, due: i64) {
        let ctx = Ctx::automatic(due);
        let Some(intent) = self.payment_intents.get(intent_id) else {
            return;
        };
        if intent.status != PaymentIntentStatus::Processing {
            return;
        }
        let Some(charge_id) = intent.latest_charge.clone() else {
            return;
        };
        let Some(charge) = self.charges.get_mut(&charge_id) else {
            return;
        };
        let Some(outcome) = charge.pending_outcome.take() else {
            return;
        };
        let failure = match outcome {
            DelayedOutcome::NeverSettles => return,
            DelayedOutcome::Succeeds => {
                charge.status = ChargeStatus::Succeeded;
                charge.outcome = Some(Outcome::Authorized);
                charge.balance_transaction = Some(format!("txn_{}", self.ids.alphanumeric(24)));
                charge.receipt_url = Some(receipt_url(&self.config.base_url, &charge.id));
                None
            }
            DelayedOutcome::Fails { code, message } => {
                charge.status = ChargeStatus::Failed;
                charge.failure_code = Some(code.to_string());
                charge.failure_message = Some(message.to_string());
                charge.outcome = Some(Outcome::IssuerDeclined {
                    reason: code.to_string(),
                });
                Some((code, message))
            }
        };
        let rendered_charge = charge.render();
        let rendered_payment_method = self
            .payment_methods
            .get(&charge.payment_method)
            .map(PaymentMethod::render);
        let Some(intent) = self.payment_intents.get_mut(intent_id) else {
            return;
        };
        match failure {
            None => {
                intent.status = PaymentIntentStatus::Succeeded;
                intent.amount_received = intent.amount;
            }
            Some(_) => {
                // The charge carries the bank's reason (`failure_code`); the PaymentIntent says
                // the attempt failed, as Stripe does for bank debits.
                intent.status = PaymentIntentStatus::RequiresPaymentMethod;
                intent.payment_method = None;
                intent.last_payment_error = Some(json!({
                    "code": BANK_DEBIT_FAILED.code,
                    "doc_url": format!("https://stripe.com/docs/error-codes/{}", BANK_DEBIT_FAILED.code.replace('_', "-")),
                    "message": BANK_DEBIT_FAILED.message,
                    "payment_method": rendered_payment_method,
                    "type": "invalid_request_error",
                }));
            }
        }
        let rendered_intent = intent.render();
        let session_id = self
            .sessions
            .iter()
            .find(|s| s.payment_intent.as_deref() == Some(intent_id))
            .map(|s| s.id.clone());
        if failure.is_none() {
            self.emit(
                EventType::ChargeSucceeded,
                rendered_charge,
                &ctx.request,
                due,
            );
            self.emit(
                EventType::PaymentIntentSucceeded,
                rendered_intent,
                &ctx.request,
                due,
            );
        } else {
            self.emit(EventType::ChargeFailed, rendered_charge, &ctx.request, due);
            self.emit(
                EventType::PaymentIntentPaymentFailed,
                rendered_intent,
                &ctx.request,
                due,
            );
        }
        if let Some(session) = session_id.and_then(|id| self.sessions.get_mut(&id)) {
            if failure.is_none() {
                session.payment_status = PaymentStatus::Paid;
            }
            let rendered = session.render(&self.config);
            let event = if failure.is_none() {
                EventType::CheckoutSessionAsyncPaymentSucceeded
            } else {
                EventType::CheckoutSessionAsyncPaymentFailed
            };
            self.emit(event, rendered, &ctx.request, due);
        }
    }
}

impl PaymentMethodInput {
    /// A test card number with a future expiry and any CVC.
    pub fn card(number: &str) -> PaymentMethodInput {
        PaymentMethodInput::Card(CardInput::number(number))
    }

    /// A SEPA Direct Debit IBAN (EUR sessions).
    pub fn sepa_debit(iban: &str) -> PaymentMethodInput {
        PaymentMethodInput::SepaDebit {
            iban: iban.to_string(),
        }
    }

    /// An ACH Direct Debit account with the test routing number (USD sessions).
    pub fn us_bank_account(account_number: &str) -> PaymentMethodInput {
        PaymentMethodInput::UsBankAccount {
            routing_number: crate::test_cards::TEST_ROUTING_NUMBER.to_string(),
            account_number: account_number.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_come_out_of_unix_time() {
        assert_eq!(year_now(1_700_000_000), (2023, 11));
        assert_eq!(year_now(0), (1970, 1));
        assert_eq!(year_now(951_782_400), (2000, 2)); // 2000-02-29
    }

    #[test]
    fn expiry_in_the_past_is_an_invalid_expiry_year() {
        let mut card = CardInput::number("4242424242424242");
        card.exp_year = 2020;
        let Err(err) = plan_card(&card, 1_700_000_000) else {
            panic!("a past expiry must be refused")
        };
        assert_eq!(err.code, Some("invalid_expiry_year"));
        assert_eq!(err.status, 402);
    }

    #[test]
    fn a_number_failing_luhn_is_an_incorrect_number() {
        let Err(err) = plan_card(&CardInput::number("4242424242424241"), 1_700_000_000) else {
            panic!("must be refused")
        };
        assert_eq!(err.code, Some("incorrect_number"));
    }

    #[test]
    fn a_real_looking_card_is_refused_in_test_mode() {
        let Ok(Plan::Decline { decline, .. }) =
            plan_card(&CardInput::number("4111111111111111"), 1_700_000_000)
        else {
            panic!("must decline")
        };
        assert_eq!(decline.decline_code, Some("test_mode_live_card"));
    }
}
