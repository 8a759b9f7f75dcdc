//! The judge's rules, each with a stable id, a name, and what it rests on.
//!
//! Every failure, JUnit entry and report names its rule by id (`paid-exact-amount`), so a rule can
//! be looked up (`stripe-harness rules`), counted (the report's rule matrix) and cited by an
//! auditor. The ids never change meaning; a new rule gets a new id.

use serde::Serialize;

/// One rule of the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    PaidExactAmount,
    RecordsPayingSession,
    RefundedFinal,
    PaidStaysPaid,
    RefundedAfterFullRefund,
    FailedAfterFailedPayment,
    UnpaidStaysPending,
    OtherProviderUntouched,
    ForgedRefused,
    ForgedChangesNothing,
    ReturnRouteNoServerError,
    ReturnRouteUxOnly,
    GenuineAccepted,
    ConvergesPaid,
    ConvergesRefunded,
    ConvergesFailed,
    ConvergesPending,
    ScenarioExpectation,
    SnapshotMatches,
    Playable,
}

/// When a rule is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// After every step, once its deliveries settled, for every order.
    EveryObservation,
    /// When a forged request reaches the target.
    Forgeries,
    /// When the buyer lands on the return route.
    ReturnRoute,
    /// At the end, once every held delivery, retry and resend is done.
    Convergence,
    /// At a scenario's own `expect` step.
    ScenarioSteps,
    /// Once per scenario that passed, with `run --snapshots DIR`.
    Snapshots,
    /// Whenever the harness drives the target.
    Always,
}

/// A rule's text.
#[derive(Debug, Clone, Copy)]
struct Text {
    id: &'static str,
    name: &'static str,
    scope: Scope,
    requires: &'static str,
    why: &'static str,
    violation: &'static str,
}

impl Rule {
    pub const ALL: [Rule; 20] = [
        Rule::PaidExactAmount,
        Rule::RecordsPayingSession,
        Rule::RefundedFinal,
        Rule::PaidStaysPaid,
        Rule::RefundedAfterFullRefund,
        Rule::FailedAfterFailedPayment,
        Rule::UnpaidStaysPending,
        Rule::OtherProviderUntouched,
        Rule::ForgedRefused,
        Rule::ForgedChangesNothing,
        Rule::ReturnRouteNoServerError,
        Rule::ReturnRouteUxOnly,
        Rule::GenuineAccepted,
        Rule::ConvergesPaid,
        Rule::ConvergesRefunded,
        Rule::ConvergesFailed,
        Rule::ConvergesPending,
        Rule::ScenarioExpectation,
        Rule::SnapshotMatches,
        Rule::Playable,
    ];

    fn text(self) -> Text {
        match self {
            Rule::PaidExactAmount => Text {
                id: "paid-exact-amount",
                name: "paid only for a real payment of exactly the order's amount and currency",
                scope: Scope::EveryObservation,
                requires: "An order is paid (or refunded) only when Stripe shows a Checkout Session that carries the order's id as client_reference_id, was paid (payment_status paid), and charged exactly the order's amount in its currency (Stripe writes currencies in lowercase), for an order whose provider is stripe.",
                why: "client_reference_id is a string anyone can put in a payment link's URL, and a buyer can open another link or a session for another price; only the session's amount_total, currency and payment_status say what money moved. checkout.session.completed is also sent for delayed methods that have not paid yet (payment_status unpaid).",
                violation: "Marking the order paid on any checkout.session.completed without comparing amount_total and currency, or without looking at payment_status; marking it paid from a forged or fabricated event.",
            },
            Rule::RecordsPayingSession => Text {
                id: "records-paying-session",
                name: "a paid order records the session and PaymentIntent that paid it",
                scope: Scope::EveryObservation,
                requires: "When an order is paid or refunded, providerOrderId names the Checkout Session that paid it and providerCaptureId that session's PaymentIntent.",
                why: "The payment spec stores them so that refunds, disputes and support can find the payment; a buyer who pays twice has two sessions, and only a paying one may be recorded.",
                violation: "Recording the session of the return route or of an unpaid attempt, or a PaymentIntent of another session.",
            },
            Rule::RefundedFinal => Text {
                id: "refunded-final",
                name: "refunded is final",
                scope: Scope::EveryObservation,
                requires: "Once an order was observed refunded, it stays refunded.",
                why: "Stripe never takes a full refund back, but delivers events at least once and in no guaranteed order: a late or duplicated checkout.session.completed can arrive after charge.refunded.",
                violation: "A late completed or async_payment_succeeded event turning a refunded order back to paid (last write wins).",
            },
            Rule::PaidStaysPaid => Text {
                id: "paid-stays-paid",
                name: "paid never goes back to pending or failed",
                scope: Scope::EveryObservation,
                requires: "Once an order was observed paid, it is paid or refunded at every later observation.",
                why: "A payment that succeeded stays succeeded; events of other sessions of the same order (a failed bank debit, an expiry) and redeliveries arrive in any order.",
                violation: "An async_payment_failed of an earlier attempt, or a duplicated unpaid completion, overwriting paid.",
            },
            Rule::RefundedAfterFullRefund => Text {
                id: "refunded-after-full-refund",
                name: "refunded only after a full refund (a partial one only with the policy)",
                scope: Scope::EveryObservation,
                requires: "An order is refunded only when Stripe's charge.refunded showed its payment fully refunded (refunded: true), or, with the policy partial_refund_marks_refunded, after any refund.",
                why: "Stripe sends charge.refunded for partial refunds too; amount_refunded is cumulative and refunded becomes true only when nothing is left.",
                violation: "Any charge.refunded marking the order refunded, whatever amount was refunded.",
            },
            Rule::FailedAfterFailedPayment => Text {
                id: "failed-after-failed-payment",
                name: "failed only after a delayed payment of the order failed",
                scope: Scope::EveryObservation,
                requires: "An order is failed only when a session for exactly its amount and currency completed with a delayed method (SEPA, ACH) whose payment then failed.",
                why: "checkout.session.async_payment_failed is Stripe's only failure signal for these flows; a declined card leaves the session open for another try and sends no checkout.session event.",
                violation: "Marking the order failed on a decline, on an unpaid completion, or on the failure of a session for another amount or order.",
            },
            Rule::UnpaidStaysPending => Text {
                id: "unpaid-stays-pending",
                name: "a completed but unpaid session leaves the order pending until the outcome",
                scope: Scope::EveryObservation,
                requires: "While a delayed payment is processing (session complete, payment_status unpaid), the order stays pending, unless the policy unpaid_may_fail allows failed.",
                why: "SEPA and ACH debits complete the session unpaid and settle days later (180 simulated seconds here) with async_payment_succeeded or async_payment_failed.",
                violation: "Treating payment_status unpaid as a failure, then missing the success that follows.",
            },
            Rule::OtherProviderUntouched => Text {
                id: "other-provider-untouched",
                name: "an order of another provider is never changed by Stripe events",
                scope: Scope::EveryObservation,
                requires: "An order whose provider is not stripe stays pending whatever Stripe sends.",
                why: "The payment spec loads the order by client_reference_id and requires provider stripe; another provider's order id can reach a Stripe session through a crafted link.",
                violation: "Loading the order by id alone and marking it paid.",
            },
            Rule::ForgedRefused => Text {
                id: "forged-refused",
                name: "a forged delivery is refused with 4xx",
                scope: Scope::Forgeries,
                requires: "A request to the webhook route that is tampered with, signed with a stale timestamp, signed with the wrong secret, unsigned, or carries a malformed Stripe-Signature header is answered with a 4xx.",
                why: "Stripe signs every delivery with HMAC-SHA256 of '<t>.<body>' under the endpoint's secret; the official SDKs refuse a signature that does not verify or a timestamp older than 300 seconds.",
                violation: "Not verifying the signature at all, verifying it but not its timestamp, or answering 200 to a request that failed verification.",
            },
            Rule::ForgedChangesNothing => Text {
                id: "forged-changes-nothing",
                name: "a forged delivery changes nothing",
                scope: Scope::Forgeries,
                requires: "No order changes state or recorded session after a forged request.",
                why: "Anyone who knows the webhook URL can post to it.",
                violation: "Applying the event before checking its signature, or catching the verification error and going on.",
            },
            Rule::ReturnRouteNoServerError => Text {
                id: "return-route-no-5xx",
                name: "the return route answers without a server error",
                scope: Scope::ReturnRoute,
                requires: "The return route answers 2xx or 4xx for any session id, including sessions that are unpaid, expired or belong to another order.",
                why: "Buyers arrive there with whatever session_id the redirect carries, and may reload it at any time.",
                violation: "An unhandled exception on an unpaid session or a missing field.",
            },
            Rule::ReturnRouteUxOnly => Text {
                id: "return-route-ux-only",
                name: "the return route is UX only: it never changes the order",
                scope: Scope::ReturnRoute,
                requires: "Calling the return route changes no order (unless the policy return_route_may_change says the app may confirm payments there).",
                why: "The payment spec makes webhooks the source of truth; the return route's session_id comes from the buyer's browser.",
                violation: "Marking the order paid because the retrieved session says status complete, without payment_status, amount or currency.",
            },
            Rule::GenuineAccepted => Text {
                id: "genuine-accepted",
                name: "every genuine delivery is eventually answered 2xx",
                scope: Scope::Convergence,
                requires: "Every genuine delivery is answered 2xx, at the latest by its last retry (or by an operator's resend after Stripe gave up); a non-2xx is fine only until the event can be applied.",
                why: "Stripe retries failed deliveries (for up to three days in live mode, three times in test mode) and disables endpoints that keep failing; an event that is never accepted is lost.",
                violation: "Answering 500 to an event type the app does not handle, or refusing a refund for a payment it never recorded.",
            },
            Rule::ConvergesPaid => Text {
                id: "converges-paid",
                name: "converges to paid when Stripe took the exact amount",
                scope: Scope::Convergence,
                requires: "Once every delivery is done, an order whose exact payment Stripe shows (and that was not fully refunded) is paid.",
                why: "Stripe's ground truth is its objects: the session paid, its PaymentIntent succeeded. Events are the app's only notice of them, delivered at least once, late or out of order.",
                violation: "Dropping checkout.session.completed when it arrives twice or before the order was committed; comparing USD with usd case-sensitively.",
            },
            Rule::ConvergesRefunded => Text {
                id: "converges-refunded",
                name: "converges to refunded when the payment was fully refunded",
                scope: Scope::Convergence,
                requires: "Once every delivery is done, an order whose payment was fully refunded is refunded (a partial refund only with the policy; paid twice and one payment refunded: paid or refunded).",
                why: "charge.refunded can arrive before the payment's own events; an app that acknowledges it and drops it loses the refund for good.",
                violation: "A refund that arrives first is answered 200 and ignored.",
            },
            Rule::ConvergesFailed => Text {
                id: "converges-failed",
                name: "converges to failed when its delayed payment failed",
                scope: Scope::Convergence,
                requires: "Once every delivery is done, an order whose matching delayed payment failed, with nothing else paying it, is failed.",
                why: "checkout.session.async_payment_failed is the spec's failure signal.",
                violation: "Ignoring async_payment_failed: the order stays pending for ever.",
            },
            Rule::ConvergesPending => Text {
                id: "converges-pending",
                name: "converges to pending without a matching payment",
                scope: Scope::Convergence,
                requires: "Once every delivery is done, an order with no matching payment (or of another provider) is pending (or failed, for a processing debit, with the policy unpaid_may_fail).",
                why: "Nothing in Stripe paid or failed it.",
                violation: "An order marked paid by a payment for another amount, or failed by a decline.",
            },
            Rule::ScenarioExpectation => Text {
                id: "scenario-expectation",
                name: "the scenario's own expectation",
                scope: Scope::ScenarioSteps,
                requires: "At an expect step, the order is in one of the states the scenario lists. Scripted expectations only narrow the judge where every correct design agrees.",
                why: "A scenario pins a state at a point where the payment spec leaves no choice.",
                violation: "See the scenario's opening comment.",
            },
            Rule::SnapshotMatches => Text {
                id: "snapshot-matches",
                name: "what the app did matches its accepted snapshot",
                scope: Scope::Snapshots,
                requires: "With run --snapshots DIR, a scenario that passed the judge did exactly what its accepted snapshot DIR/<scenario>.snap records: the state of every order after every step, the status the app answered to every webhook request, the labelled snapshot steps, and each order's final fields (ids as aliases, [snapshots] redactions applied). A scenario without an accepted snapshot fails too, until one is accepted.",
                why: "The judge allows every correct design, so it cannot see a change from one correct behaviour to another: a refund applied at once where it used to wait for its payment, a new status word, a reference that now names the charge. Reviewers sign off the snapshots once; any change is then a diff to review.",
                violation: "A refactor that answers an early refund 200 where it answered 503, or stores the charge in providerCaptureId, without the snapshots being reviewed and accepted.",
            },
            Rule::Playable => Text {
                id: "playable",
                name: "the scenario can be played",
                scope: Scope::Always,
                requires: "The target answers the harness's calls (create an order, read it, the return route) and its webhook route within the call timeout, and the scenario is well formed.",
                why: "Without answers nothing can be judged; this is reported as an error of the run, not as a broken payment rule.",
                violation: "The app crashed, hung, answered 404 to its own order route, or the scenario names an alias it never created.",
            },
        }
    }

    /// The stable id, as reports and `stripe-harness rules` show it.
    pub fn id(self) -> &'static str {
        self.text().id
    }

    /// One line.
    pub fn name(self) -> &'static str {
        self.text().name
    }

    pub fn scope(self) -> Scope {
        self.text().scope
    }

    /// What the rule requires.
    pub fn requires(self) -> &'static str {
        self.text().requires
    }

    /// The Stripe fact it rests on.
    pub fn why(self) -> &'static str {
        self.text().why
    }

    /// What a typical violation looks like.
    pub fn typical_violation(self) -> &'static str {
        self.text().violation
    }

    /// The rule with this id.
    pub fn parse(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// Whether breaking it is a verdict on the app (every rule but `playable`; a snapshot that
    /// differs is one: the app's behaviour changed).
    pub fn is_payment_rule(self) -> bool {
        self != Rule::Playable
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = String::deserialize(deserializer)?;
        Rule::parse(&id).ok_or_else(|| {
            let known: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
            serde::de::Error::custom(format!("unknown rule '{id}'; known: {}", known.join(", ")))
        })
    }
}

/// `stripe-harness rules`: every rule with its paragraphs.
pub fn catalogue_text() -> String {
    let mut out = String::new();
    for rule in Rule::ALL {
        out.push_str(&format!("{}  {}\n", rule.id(), rule.name()));
        out.push_str(&format!("  checked:   {}\n", scope_words(rule.scope())));
        out.push_str(&wrap("  requires:  ", rule.requires()));
        out.push_str(&wrap("  because:   ", rule.why()));
        out.push_str(&wrap("  violation: ", rule.typical_violation()));
        out.push('\n');
    }
    out
}

/// When a rule is checked, in words.
pub fn scope_words(scope: Scope) -> &'static str {
    match scope {
        Scope::EveryObservation => "after every step, for every order",
        Scope::Forgeries => "at every forged request",
        Scope::ReturnRoute => "at every return-route call",
        Scope::Convergence => "at the end, once every delivery and retry is done",
        Scope::ScenarioSteps => "at a scenario's expect steps",
        Scope::Snapshots => "once per passing scenario, with run --snapshots DIR",
        Scope::Always => "whenever the harness drives the target",
    }
}

/// `text` wrapped at 100 columns, the first line after `lead`, the rest indented to match.
fn wrap(lead: &str, text: &str) -> String {
    let indent = " ".repeat(lead.chars().count());
    let mut out = String::from(lead);
    let mut column = lead.chars().count();
    for word in text.split_whitespace() {
        if column + word.len() + 1 > 100 && column > indent.len() {
            out.push('\n');
            out.push_str(&indent);
            column = indent.len();
        } else if column > indent.len() {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.chars().count();
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_unique_kebab_case_id_and_its_paragraphs() {
        let mut ids = std::collections::HashSet::new();
        for rule in Rule::ALL {
            let id = rule.id();
            assert!(ids.insert(id), "{id} twice");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{id}"
            );
            assert_eq!(Rule::parse(id), Some(rule));
            assert!(rule.requires().len() > 40 && rule.why().len() > 20, "{id}");
        }
    }

    #[test]
    fn the_catalogue_lists_every_rule() {
        let text = catalogue_text();
        for rule in Rule::ALL {
            assert!(text.contains(rule.id()));
        }
    }
}
