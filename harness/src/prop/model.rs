//! The reference state machine of property-based histories.
//!
//! proptest generates a list of [`Intent`]s: raw, shrinkable choices ("pay session #3 with a
//! declining card"). The [`Model`] interprets them in order into valid scenario [`Step`]s: each
//! transition has preconditions over the model's state (only an open session can be paid, only a
//! paid charge refunded, SEPA only in EUR…), prerequisites are created when missing, and an
//! intent whose preconditions cannot hold is skipped. Shrinking removes and simplifies intents;
//! the interpretation of whatever remains is valid by construction, so every shrunk history is
//! still a history Stripe could produce.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use stripe_sim::test_cards::{
    CardBehaviour, DelayedOutcome, RefundBehaviour, TEST_BANK_ACCOUNTS, TEST_CARDS, TEST_IBANS,
};
use stripe_sim::{
    DuplicateMode, EventType, FaultKind, Forgery, ReleaseOrderWord, RetryPolicy, SimConfig,
    Vocabulary, DEFAULT_LIFETIME,
};

use crate::scenario::{
    CreateOrder, Fault, Forge, OpenSession, Pay, PaymentOutcome, Refund, Release, Step,
};

const AMOUNTS: [i64; 3] = [19900, 9900, 4900];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "usd"];
const MAX_ORDERS: usize = 4;
const MAX_SESSIONS: usize = 8;

/// Event types a fault may target (or every type: `None`).
const FAULT_EVENTS: [Option<EventType>; 5] = [
    Some(EventType::CheckoutSessionCompleted),
    Some(EventType::ChargeRefunded),
    Some(EventType::CheckoutSessionAsyncPaymentSucceeded),
    Some(EventType::CheckoutSessionAsyncPaymentFailed),
    None,
];

/// What the model knows about the simulator, read from stripe-sim itself (its test-card tables
/// and its defaults), so the two cannot drift apart.
struct Catalogue {
    /// Cards whose payments succeed, and whether their refunds fail later.
    cards_ok: Vec<(&'static str, bool)>,
    cards_declined: Vec<&'static str>,
    /// SEPA IBANs that settle, and whether they succeed.
    sepa: Vec<(&'static str, bool)>,
    /// ACH accounts (routing 110000000) that settle, and whether they succeed.
    ach: Vec<(&'static str, bool)>,
    /// Seconds before a bank debit settles.
    settlement_delay: i64,
    /// Seconds before a refund that fails later fails.
    refund_settlement_delay: i64,
    /// Seconds a session stays open.
    session_lifetime: i64,
    /// Clock advances worth making: the settlement, the refund settlement, each retry delay of
    /// the test schedule, and a session's lifetime.
    advances: Vec<i64>,
}

fn settles(outcome: DelayedOutcome) -> Option<bool> {
    match outcome {
        DelayedOutcome::Succeeds => Some(true),
        DelayedOutcome::Fails { .. } => Some(false),
        DelayedOutcome::NeverSettles => None,
    }
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let config = SimConfig::default();
        let retries = RetryPolicy::test_mode().delays;
        let mut advances = vec![config.settlement_delay];
        advances.extend(retries.first());
        advances.push(config.refund_settlement_delay);
        advances.extend(retries.iter().skip(1));
        advances.push(DEFAULT_LIFETIME);
        Catalogue {
            cards_ok: TEST_CARDS
                .iter()
                .filter_map(|c| match c.behaviour {
                    CardBehaviour::Succeeds(refunds) => {
                        Some((c.number, refunds == RefundBehaviour::SucceedsThenFails))
                    }
                    CardBehaviour::Declines(_) => None,
                })
                .collect(),
            cards_declined: TEST_CARDS
                .iter()
                .filter(|c| matches!(c.behaviour, CardBehaviour::Declines(_)))
                .map(|c| c.number)
                .collect(),
            sepa: TEST_IBANS
                .iter()
                .filter_map(|i| settles(i.outcome).map(|ok| (i.iban, ok)))
                .collect(),
            ach: TEST_BANK_ACCOUNTS
                .iter()
                .filter_map(|a| settles(a.outcome).map(|ok| (a.account_number, ok)))
                .collect(),
            settlement_delay: config.settlement_delay,
            refund_settlement_delay: config.refund_settlement_delay,
            session_lifetime: DEFAULT_LIFETIME,
            advances,
        }
    })
}

/// One raw choice of a history. Every number is an index, taken modulo what is available, so
/// any value is meaningful and shrinking toward 0 means "the first, simplest option".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Intent {
    CreateOrder {
        amount: u8,
        currency: u8,
        other_provider: bool,
    },
    OpenLink {
        order: u8,
        reference: u8,
        mismatch: u8,
        via_api: bool,
    },
    Pay {
        session: u8,
        kind: u8,
        pick: u8,
    },
    Advance {
        pick: u8,
    },
    Refund {
        session: u8,
        kind: u8,
    },
    Expire {
        session: u8,
    },
    Hold,
    Release {
        order: u8,
        duplicate: u8,
    },
    Fault {
        kind: u8,
        event: u8,
    },
    Forge {
        kind: u8,
        target: u8,
    },
    Capture {
        session: u8,
    },
    EndpointDown,
    EndpointUp,
    Resend {
        session: u8,
        new_event: bool,
    },
    /// A hazard in one move: hold deliveries, pay, refund in full, release in reverse, so the
    /// refund reaches the target before the payment.
    RefundRace {
        session: u8,
        card: u8,
    },
    /// A hazard in one move: hold deliveries, pay by bank debit, let it settle, release in
    /// reverse, so the outcome reaches the target before the unpaid completion.
    AsyncRace {
        session: u8,
        pick: u8,
    },
}

/// Intents weighted toward the hazards: reordering, duplicates, async outcomes, refunds racing
/// payments.
pub fn intent_strategy(concurrent: bool) -> BoxedStrategy<Intent> {
    let any8 = || any::<u8>();
    let mut options: Vec<(u32, BoxedStrategy<Intent>)> = vec![
        (
            4,
            (any8(), any8(), prop::bool::weighted(0.1))
                .prop_map(|(amount, currency, other_provider)| Intent::CreateOrder {
                    amount,
                    currency,
                    other_provider,
                })
                .boxed(),
        ),
        (
            5,
            (any8(), any8(), any8(), prop::bool::weighted(0.2))
                .prop_map(|(order, reference, mismatch, via_api)| Intent::OpenLink {
                    order,
                    reference,
                    mismatch,
                    via_api,
                })
                .boxed(),
        ),
        (
            8,
            (any8(), any8(), any8())
                .prop_map(|(session, kind, pick)| Intent::Pay {
                    session,
                    kind,
                    pick,
                })
                .boxed(),
        ),
        (4, any8().prop_map(|pick| Intent::Advance { pick }).boxed()),
        (
            5,
            (any8(), any8())
                .prop_map(|(session, kind)| Intent::Refund { session, kind })
                .boxed(),
        ),
        (
            1,
            any8()
                .prop_map(|session| Intent::Expire { session })
                .boxed(),
        ),
        (
            2,
            (any8(), any8())
                .prop_map(|(kind, target)| Intent::Forge { kind, target })
                .boxed(),
        ),
        (
            2,
            any8()
                .prop_map(|session| Intent::Capture { session })
                .boxed(),
        ),
        (
            2,
            (any8(), any::<bool>())
                .prop_map(|(session, new_event)| Intent::Resend { session, new_event })
                .boxed(),
        ),
    ];
    if !concurrent {
        // Delivery controls act on the whole simulator, so they are left out when several
        // histories share it.
        options.extend([
            (
                3,
                (any8(), any8())
                    .prop_map(|(session, card)| Intent::RefundRace { session, card })
                    .boxed(),
            ),
            (
                2,
                (any8(), any8())
                    .prop_map(|(session, pick)| Intent::AsyncRace { session, pick })
                    .boxed(),
            ),
            (4, Just(Intent::Hold).boxed()),
            (
                4,
                (any8(), any8())
                    .prop_map(|(order, duplicate)| Intent::Release { order, duplicate })
                    .boxed(),
            ),
            (
                4,
                (any8(), any8())
                    .prop_map(|(kind, event)| Intent::Fault { kind, event })
                    .boxed(),
            ),
            (1, Just(Intent::EndpointDown).boxed()),
            (1, Just(Intent::EndpointUp).boxed()),
        ]);
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

/// A history: the intents proptest generates and shrinks.
pub fn history_strategy(
    min_steps: usize,
    max_steps: usize,
    concurrent: bool,
) -> impl Strategy<Value = Vec<Intent>> {
    let max = max_steps.max(1);
    prop::collection::vec(intent_strategy(concurrent), min_steps.clamp(1, max)..=max)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionState {
    Open,
    Paid,
    Processing { settles_at: i64, succeeds: bool },
    Failed,
    Expired,
}

#[derive(Debug, Clone)]
struct OrderModel {
    alias: String,
    amount: i64,
    currency: String,
}

#[derive(Debug, Clone)]
struct SessionModel {
    alias: String,
    amount: i64,
    currency: String,
    state: SessionState,
    opened_at: i64,
    /// Refunded so far (succeeded or pending refunds).
    refunded: i64,
    /// Refunds of this charge fail later (card 4000000000005126).
    refunds_fail: bool,
    /// Refunds that will fail: (when, amount).
    failing_refunds: Vec<(i64, i64)>,
    completed: bool,
}

/// The model: what exists, for the preconditions.
#[derive(Debug, Clone, Default)]
pub struct Model {
    orders: Vec<OrderModel>,
    sessions: Vec<SessionModel>,
    now: i64,
    holding: bool,
    endpoint_down: bool,
    /// Other histories share the simulator and its clock: nothing here may depend on time not
    /// moving behind this history's back.
    concurrent: bool,
    /// The target has a return route (else `capture` steps are left out).
    return_route: bool,
}

fn pick<T: Copy>(items: &[T], index: u8) -> T {
    items[index as usize % items.len()]
}

impl Model {
    /// Interprets intents into the steps of a valid history.
    pub fn interpret(intents: &[Intent], concurrent: bool) -> Vec<Step> {
        Model::interpret_for(intents, concurrent, true)
    }

    /// [`Model::interpret`] for a target with or without a return route.
    pub fn interpret_for(intents: &[Intent], concurrent: bool, return_route: bool) -> Vec<Step> {
        let mut model = Model {
            concurrent,
            return_route,
            ..Model::default()
        };
        let mut steps = Vec::new();
        for intent in intents {
            model.apply(intent, &mut steps);
        }
        if steps.is_empty() {
            // Every intent's preconditions failed (a refund with nothing paid…): a history still
            // has at least an order, so that every generated case plays something.
            model.create_order(0, 0, false, &mut steps);
        }
        steps
    }

    fn create_order(
        &mut self,
        amount: u8,
        currency: u8,
        other_provider: bool,
        steps: &mut Vec<Step>,
    ) -> Option<usize> {
        if self.orders.len() >= MAX_ORDERS {
            return None;
        }
        let alias = format!("o{}", self.orders.len() + 1);
        let order = OrderModel {
            alias: alias.clone(),
            amount: pick(&AMOUNTS, amount),
            currency: pick(&CURRENCIES, currency).to_string(),
        };
        steps.push(Step::CreateOrder(CreateOrder {
            alias,
            amount: order.amount,
            currency: order.currency.clone(),
            provider: if other_provider {
                "paypal".into()
            } else {
                "stripe".into()
            },
        }));
        self.orders.push(order);
        Some(self.orders.len() - 1)
    }

    fn open(
        &mut self,
        order: u8,
        reference: u8,
        mismatch: u8,
        via_api: bool,
        steps: &mut Vec<Step>,
    ) -> Option<usize> {
        if self.sessions.len() >= MAX_SESSIONS {
            return None;
        }
        if self.orders.is_empty() {
            self.create_order(0, 0, false, steps)?;
        }
        let target = self.orders[order as usize % self.orders.len()].clone();
        // Mostly the order's own id; sometimes missing, invalid (dropped by the link) or unknown.
        let (order_ref, literal) = match reference % 8 {
            5 => (None, None),
            6 => (None, Some("bad ref!".to_string())),
            7 => (None, Some("order_unknown_42".to_string())),
            _ => (Some(target.alias.clone()), None),
        };
        let (amount, currency) = match mismatch % 6 {
            4 => (target.amount + 100, target.currency.clone()),
            5 => (
                target.amount,
                if target.currency.eq_ignore_ascii_case("usd") {
                    "EUR".into()
                } else {
                    "USD".into()
                },
            ),
            _ => (target.amount, target.currency.clone()),
        };
        let alias = format!("s{}", self.sessions.len() + 1);
        let spec = OpenSession {
            alias: alias.clone(),
            order: order_ref.clone(),
            client_reference_id: literal,
            // Without the order's id the session does not know the order's price: say it.
            amount: (amount != target.amount || order_ref.is_none()).then_some(amount),
            currency: (currency != target.currency || order_ref.is_none())
                .then_some(currency.clone()),
        };
        steps.push(if via_api {
            Step::CreateSession(spec)
        } else {
            Step::OpenLink(spec)
        });
        self.sessions.push(SessionModel {
            alias,
            amount,
            currency: currency.to_lowercase(),
            state: SessionState::Open,
            opened_at: self.now,
            refunded: 0,
            refunds_fail: false,
            failing_refunds: Vec::new(),
            completed: false,
        });
        Some(self.sessions.len() - 1)
    }

    /// An index among the sessions matching `keep`, chosen by `index`.
    fn choose(&self, index: u8, keep: impl Fn(&SessionModel) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.sessions.len())
            .filter(|&i| keep(&self.sessions[i]))
            .collect();
        (!candidates.is_empty()).then(|| candidates[index as usize % candidates.len()])
    }

    fn advance(&mut self, seconds: i64) {
        self.now += seconds;
        let now = self.now;
        for s in &mut self.sessions {
            match s.state {
                SessionState::Processing {
                    settles_at,
                    succeeds,
                } if settles_at <= now => {
                    s.state = if succeeds {
                        SessionState::Paid
                    } else {
                        SessionState::Failed
                    };
                }
                SessionState::Open if s.opened_at + catalogue().session_lifetime <= now => {
                    s.state = SessionState::Expired
                }
                _ => {}
            }
            let failed: i64 = s
                .failing_refunds
                .iter()
                .filter(|(at, _)| *at <= now)
                .map(|(_, a)| a)
                .sum();
            s.failing_refunds.retain(|(at, _)| *at > now);
            s.refunded -= failed;
        }
    }

    fn apply(&mut self, intent: &Intent, steps: &mut Vec<Step>) {
        match *intent {
            Intent::CreateOrder {
                amount,
                currency,
                other_provider,
            } => {
                self.create_order(amount, currency, other_provider, steps);
            }
            Intent::OpenLink {
                order,
                reference,
                mismatch,
                via_api,
            } => {
                self.open(order, reference, mismatch, via_api, steps);
            }
            Intent::Pay {
                session,
                kind,
                pick: which,
            } => {
                let index = match self.choose(session, |s| s.state == SessionState::Open) {
                    Some(i) => i,
                    None => match self.open(0, 0, 0, false, steps) {
                        Some(i) => i,
                        None => return,
                    },
                };
                let cat = catalogue();
                let s = &mut self.sessions[index];
                let mut pay = Pay {
                    session: s.alias.clone(),
                    card: None,
                    sepa_debit: None,
                    us_bank_account: None,
                    expect: None,
                };
                match (kind % 4, s.currency.as_str()) {
                    (3, "eur") => {
                        let (iban, ok) = pick(&cat.sepa, which);
                        pay.sepa_debit = Some(iban.into());
                        pay.expect = Some(PaymentOutcome::Processing);
                        s.state = SessionState::Processing {
                            settles_at: self.now + cat.settlement_delay,
                            succeeds: ok,
                        };
                        s.completed = true;
                    }
                    (3, "usd") => {
                        let (account, ok) = pick(&cat.ach, which);
                        pay.us_bank_account = Some(account.into());
                        pay.expect = Some(PaymentOutcome::Processing);
                        s.state = SessionState::Processing {
                            settles_at: self.now + cat.settlement_delay,
                            succeeds: ok,
                        };
                        s.completed = true;
                    }
                    (2, _) => {
                        pay.card = Some(pick(&cat.cards_declined, which).into());
                        pay.expect = Some(PaymentOutcome::Declined);
                    }
                    _ => {
                        let (mut card, mut refunds_fail) = pick(&cat.cards_ok, which);
                        if self.concurrent && refunds_fail {
                            // Its refunds fail after a delay, which another history's clock
                            // advance can trigger at any moment: not predictable in a shared
                            // simulator.
                            (card, refunds_fail) = cat.cards_ok[0];
                        }
                        pay.card = Some(card.into());
                        pay.expect = Some(PaymentOutcome::Succeeded);
                        s.state = SessionState::Paid;
                        s.completed = true;
                        s.refunds_fail = refunds_fail;
                    }
                }
                steps.push(Step::Pay(pay));
            }
            Intent::Advance { pick: which } => {
                let seconds = pick(&catalogue().advances, which);
                self.advance(seconds);
                steps.push(Step::Advance { seconds });
            }
            Intent::Refund { session, kind } => {
                let Some(index) = self.choose(session, |s| s.state == SessionState::Paid) else {
                    return;
                };
                let fails_at = self.now + catalogue().refund_settlement_delay;
                let s = &mut self.sessions[index];
                let remaining = s.amount - s.refunded;
                let mut refund = Refund {
                    session: s.alias.clone(),
                    amount: None,
                    expect_error: None,
                };
                if remaining <= 0 {
                    refund.amount = Some(100);
                    refund.expect_error = Some("charge_already_refunded".into());
                } else {
                    match kind % 5 {
                        // A refund larger than what is left: testing the API's refusal.
                        4 => {
                            refund.amount = Some(remaining + 100);
                            refund.expect_error = Some("amount_too_large".into());
                        }
                        2 | 3 if remaining >= 2 => {
                            let amount = remaining / 2;
                            refund.amount = Some(amount);
                            s.refunded += amount;
                            if s.refunds_fail {
                                s.failing_refunds.push((fails_at, amount));
                            }
                        }
                        _ => {
                            s.refunded += remaining;
                            if s.refunds_fail {
                                s.failing_refunds.push((fails_at, remaining));
                            }
                        }
                    }
                }
                steps.push(Step::Refund(refund));
            }
            Intent::Expire { session } => {
                let Some(index) = self.choose(session, |s| s.state == SessionState::Open) else {
                    return;
                };
                self.sessions[index].state = SessionState::Expired;
                steps.push(Step::Expire {
                    session: self.sessions[index].alias.clone(),
                });
            }
            Intent::Hold => {
                if !self.holding {
                    self.holding = true;
                    steps.push(Step::Hold {});
                }
            }
            Intent::Release { order, duplicate } => {
                if !self.holding {
                    return;
                }
                self.holding = false;
                let (order_word, seed) = match order % 3 {
                    0 => (None, None),
                    1 => (Some(ReleaseOrderWord::Reverse), None),
                    _ => (Some(ReleaseOrderWord::Shuffle), Some(order as u64)),
                };
                let duplicate = match duplicate % 4 {
                    2 => Some(DuplicateMode::Concurrent),
                    3 => Some(DuplicateMode::Sequential),
                    _ => None,
                };
                // A quarter of the releases send everything at once, as after an outage.
                let parallel = (order / 3) % 4 == 3;
                steps.push(Step::Release(Release {
                    order: order_word,
                    events: None,
                    seed,
                    duplicate,
                    keep_holding: false,
                    parallel,
                }));
            }
            Intent::Fault { kind, event } => {
                let kind = pick(FaultKind::ALL, kind);
                steps.push(Step::Fault(Fault {
                    kind,
                    count: 1,
                    event: pick(&FAULT_EVENTS, event).map(|t| t.as_str().to_string()),
                    delay_seconds: (kind == FaultKind::Delay).then_some(600),
                    mode: None,
                }));
            }
            Intent::Forge { kind, target } => {
                let kind = pick(Forgery::ALL, kind);
                let completed = self.choose(target, |s| s.completed);
                let forge = match (target % 2, completed) {
                    (1, Some(index)) => Forge {
                        kind,
                        event: Some(EventType::CheckoutSessionCompleted),
                        session: Some(self.sessions[index].alias.clone()),
                        paid_for: None,
                    },
                    _ => {
                        if self.orders.is_empty() && self.create_order(0, 0, false, steps).is_none()
                        {
                            return;
                        }
                        let order = &self.orders[target as usize % self.orders.len()];
                        Forge {
                            kind,
                            event: None,
                            session: None,
                            paid_for: Some(order.alias.clone()),
                        }
                    }
                };
                steps.push(Step::Forge(forge));
            }
            Intent::Capture { session } => {
                if !self.return_route {
                    return;
                }
                let Some(index) = self.choose(session, |_| true) else {
                    return;
                };
                steps.push(Step::Capture(crate::scenario::Capture {
                    session: self.sessions[index].alias.clone(),
                }));
            }
            Intent::EndpointDown => {
                if !self.endpoint_down {
                    self.endpoint_down = true;
                    steps.push(Step::EndpointDown {});
                }
            }
            Intent::EndpointUp => {
                if self.endpoint_down {
                    self.endpoint_down = false;
                    steps.push(Step::EndpointUp {});
                }
            }
            Intent::RefundRace { session, card } => {
                if self.holding {
                    return;
                }
                self.apply(&Intent::Hold, steps);
                self.apply(
                    &Intent::Pay {
                        session,
                        kind: 0,
                        pick: card % 4,
                    },
                    steps,
                );
                let paid = self.choose(session, |s| {
                    s.state == SessionState::Paid && s.refunded == 0
                });
                if paid.is_some() {
                    self.apply(&Intent::Refund { session, kind: 0 }, steps);
                }
                // Released in reverse, one at a time or (for half the cards' picks) all at once:
                // the refund's handler then races the payment's.
                self.apply(
                    &Intent::Release {
                        order: if (card / 4) % 2 == 1 { 10 } else { 1 },
                        duplicate: 0,
                    },
                    steps,
                );
            }
            Intent::AsyncRace { session, pick } => {
                if self.holding {
                    return;
                }
                self.apply(&Intent::Hold, steps);
                self.apply(
                    &Intent::Pay {
                        session,
                        kind: 3,
                        pick,
                    },
                    steps,
                );
                self.apply(&Intent::Advance { pick: 0 }, steps);
                self.apply(
                    &Intent::Release {
                        order: 1,
                        duplicate: 0,
                    },
                    steps,
                );
            }
            Intent::Resend { session, new_event } => {
                let Some(index) = self.choose(session, |s| s.completed) else {
                    return;
                };
                let s = &self.sessions[index];
                let event = if s.refunded > 0 && session % 2 == 1 {
                    EventType::ChargeRefunded
                } else {
                    EventType::CheckoutSessionCompleted
                };
                steps.push(Step::Resend {
                    event,
                    session: Some(s.alias.clone()),
                    new_event,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn every_interpreted_history_is_valid_for_stripe() {
        let mut runner = TestRunner::deterministic();
        for _ in 0..500 {
            let intents = history_strategy(1, 30, false)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let steps = Model::interpret(&intents, false);
            let mut opened = std::collections::HashSet::new();
            let mut orders = std::collections::HashSet::new();
            for step in &steps {
                match step {
                    Step::CreateOrder(o) => assert!(orders.insert(o.alias.clone())),
                    Step::OpenLink(s) | Step::CreateSession(s) => {
                        if let Some(o) = &s.order {
                            assert!(
                                orders.contains(o),
                                "session for an order not created: {steps:?}"
                            );
                        }
                        opened.insert(s.alias.clone());
                    }
                    Step::Pay(p) => {
                        assert!(opened.contains(&p.session));
                        assert_eq!(
                            [
                                p.card.is_some(),
                                p.sepa_debit.is_some(),
                                p.us_bank_account.is_some()
                            ]
                            .iter()
                            .filter(|x| **x)
                            .count(),
                            1
                        );
                    }
                    Step::Refund(r) => assert!(opened.contains(&r.session)),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn sepa_is_only_used_for_euro_sessions() {
        let intents = vec![
            Intent::CreateOrder {
                amount: 0,
                currency: 0,
                other_provider: false,
            },
            Intent::OpenLink {
                order: 0,
                reference: 0,
                mismatch: 0,
                via_api: false,
            },
            Intent::Pay {
                session: 0,
                kind: 3,
                pick: 0,
            },
        ];
        let steps = Model::interpret(&intents, false);
        let Step::Pay(pay) = &steps[2] else {
            panic!("{steps:?}")
        };
        assert!(pay.sepa_debit.is_none());
        assert_eq!(pay.us_bank_account.as_deref(), Some("000123456789"));
    }
}
