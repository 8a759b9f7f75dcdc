//! Stripe's test cards and delayed (bank debit) test accounts: the one table of what each number
//! does. The README's test-card table is copied from here.

/// What a card does when a payment is attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBehaviour {
    /// The payment succeeds; refunds then behave as given.
    Succeeds(RefundBehaviour),
    /// The payment is declined with Stripe's `code`, `decline_code` and message.
    Declines(Decline),
}

/// How refunds of a charge made with a card settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum RefundBehaviour {
    /// `succeeded` at once ("With all other test cards, refunds succeed immediately").
    #[default]
    Immediate,
    /// `pending`, then `succeeded` after the refund settlement delay (4000000000007726).
    PendingThenSucceeds,
    /// `succeeded`, then `failed` with `expired_or_canceled_card` (4000000000005126).
    SucceedsThenFails,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decline {
    pub code: &'static str,
    pub decline_code: Option<&'static str>,
    pub message: &'static str,
}

/// One test card.
#[derive(Debug, Clone, Copy)]
pub struct TestCard {
    pub number: &'static str,
    pub brand: &'static str,
    pub funding: &'static str,
    pub country: &'static str,
    pub behaviour: CardBehaviour,
    pub note: &'static str,
}

const fn ok(
    number: &'static str,
    brand: &'static str,
    funding: &'static str,
    note: &'static str,
) -> TestCard {
    TestCard {
        number,
        brand,
        funding,
        country: "US",
        behaviour: CardBehaviour::Succeeds(RefundBehaviour::Immediate),
        note,
    }
}

const fn declined(
    number: &'static str,
    code: &'static str,
    decline_code: Option<&'static str>,
    message: &'static str,
    note: &'static str,
) -> TestCard {
    TestCard {
        number,
        brand: "visa",
        funding: "credit",
        country: "US",
        behaviour: CardBehaviour::Declines(Decline {
            code,
            decline_code,
            message,
        }),
        note,
    }
}

const DECLINED: &str = "Your card was declined.";

/// Every card the simulator knows. Any other number is refused as Stripe's test mode refuses
/// real cards.
pub const TEST_CARDS: &[TestCard] = &[
    ok("4242424242424242", "visa", "credit", "succeeds"),
    ok("4000056655665556", "visa", "debit", "succeeds (Visa debit)"),
    ok("5555555555554444", "mastercard", "credit", "succeeds"),
    ok(
        "2223003122003222",
        "mastercard",
        "credit",
        "succeeds (2-series)",
    ),
    ok(
        "5200828282828210",
        "mastercard",
        "debit",
        "succeeds (debit)",
    ),
    ok("378282246310005", "amex", "credit", "succeeds"),
    ok("371449635398431", "amex", "credit", "succeeds"),
    ok("6011111111111117", "discover", "credit", "succeeds"),
    ok("3566002020360505", "jcb", "credit", "succeeds"),
    TestCard {
        behaviour: CardBehaviour::Succeeds(RefundBehaviour::PendingThenSucceeds),
        ..ok(
            "4000000000007726",
            "visa",
            "credit",
            "succeeds; refunds are pending, then succeed",
        )
    },
    TestCard {
        behaviour: CardBehaviour::Succeeds(RefundBehaviour::SucceedsThenFails),
        ..ok(
            "4000000000005126",
            "visa",
            "credit",
            "succeeds; refunds later fail (refund.failed)",
        )
    },
    declined(
        "4000000000000002",
        "card_declined",
        Some("generic_decline"),
        DECLINED,
        "declined: generic_decline",
    ),
    declined(
        "4000000000009995",
        "card_declined",
        Some("insufficient_funds"),
        "Your card has insufficient funds.",
        "declined: insufficient_funds",
    ),
    declined(
        "4000000000009987",
        "card_declined",
        Some("lost_card"),
        DECLINED,
        "declined: lost_card",
    ),
    declined(
        "4000000000009979",
        "card_declined",
        Some("stolen_card"),
        DECLINED,
        "declined: stolen_card",
    ),
    declined(
        "4000000000000069",
        "expired_card",
        Some("expired_card"),
        "Your card has expired.",
        "declined: expired_card",
    ),
    declined(
        "4000000000000127",
        "incorrect_cvc",
        Some("incorrect_cvc"),
        "Your card's security code is incorrect.",
        "declined: incorrect_cvc",
    ),
    declined(
        "4000000000000119",
        "processing_error",
        Some("processing_error"),
        "An error occurred while processing your card. Try again in a little bit.",
        "declined: processing_error",
    ),
    declined(
        "4000000000006975",
        "card_declined",
        Some("card_velocity_exceeded"),
        DECLINED,
        "declined: card_velocity_exceeded",
    ),
    declined(
        "4100000000000019",
        "card_declined",
        Some("fraudulent"),
        DECLINED,
        "blocked as fraud (outcome type blocked)",
    ),
];

/// A card number that fails the Luhn check gets this, before any PaymentIntent exists.
pub const INCORRECT_NUMBER: Decline = Decline {
    code: "incorrect_number",
    decline_code: None,
    message: "Your card number is incorrect.",
};

/// A valid-looking number that is not a test card: Stripe's test mode refuses real cards.
pub const LIVE_CARD_IN_TEST_MODE: Decline = Decline {
    code: "card_declined",
    decline_code: Some("test_mode_live_card"),
    message: "Your card was declined. Your request was in test mode, but used a non test (live) card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
};

pub fn find_card(number: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|c| c.number == number)
}

/// The Luhn checksum every real card number passes.
pub fn luhn_valid(number: &str) -> bool {
    if number.len() < 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// How a delayed (bank debit) payment ends, after the settlement delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayedOutcome {
    Succeeds,
    Fails {
        code: &'static str,
        message: &'static str,
    },
    /// Stays `processing` for ever (ACH `000000000009`).
    NeverSettles,
}

/// In a state file, a delayed outcome is its words: `succeeds`, `never_settles`, or the
/// `code` and `message` of a failure. Read back, a failure must be one of this table's, so a file
/// from another version never turns into an outcome no test account has.
impl serde::Serialize for DelayedOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            DelayedOutcome::Succeeds => serializer.serialize_str("succeeds"),
            DelayedOutcome::NeverSettles => serializer.serialize_str("never_settles"),
            DelayedOutcome::Fails { code, message } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("code", code)?;
                map.serialize_entry("message", message)?;
                map.end()
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for DelayedOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Word(String),
            Fails { code: String, message: String },
        }
        let known = || {
            TEST_IBANS
                .iter()
                .map(|t| t.outcome)
                .chain(TEST_BANK_ACCOUNTS.iter().map(|t| t.outcome))
        };
        match Stored::deserialize(deserializer)? {
            Stored::Word(word) if word == "succeeds" => Ok(DelayedOutcome::Succeeds),
            Stored::Word(word) if word == "never_settles" => Ok(DelayedOutcome::NeverSettles),
            Stored::Word(word) => Err(serde::de::Error::custom(format!(
                "unknown delayed outcome '{word}'"
            ))),
            Stored::Fails { code, message } => known()
                .find(|o| {
                    matches!(o, DelayedOutcome::Fails { code: c, message: m } if *c == code && *m == message)
                })
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("no test account fails with '{code}'"))
                }),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct TestIban {
    pub iban: &'static str,
    pub outcome: DelayedOutcome,
}

/// A failing test IBAN: Stripe's SEPA failure code for a failure with no particular reason, in
/// the words its failure table gives it.
const SEPA_FAILED: DelayedOutcome = DelayedOutcome::Fails {
    code: "generic_could_not_process",
    message: "This payment could not be processed.",
};

/// SEPA Direct Debit test IBANs (EUR only).
pub const TEST_IBANS: &[TestIban] = &[
    TestIban {
        iban: "DE89370400440532013000",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "DE08370400440532013003",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "DE62370400440532013001",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "DE78370400440532013004",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "DE65370400440002222227",
        outcome: DelayedOutcome::Fails {
            code: "insufficient_funds",
            message: "The customer's account has insufficient funds to cover this payment.",
        },
    },
    TestIban {
        iban: "AT611904300234573201",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "AT321904300235473204",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "AT861904300235473202",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "AT051904300235473205",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "FR1420041010050500013M02606",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "FR3020041010050500013M02609",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "FR8420041010050500013M02607",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "FR7920041010050500013M02600",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "NL39RABO0300065264",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "NL55RABO0300065267",
        outcome: DelayedOutcome::Succeeds,
    },
    TestIban {
        iban: "NL91ABNA0417164300",
        outcome: SEPA_FAILED,
    },
    TestIban {
        iban: "NL28RABO0300065268",
        outcome: SEPA_FAILED,
    },
];

pub fn find_iban(iban: &str) -> Option<&'static TestIban> {
    let normalized: String = iban
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    TEST_IBANS.iter().find(|t| t.iban == normalized)
}

/// The only test routing number for ACH Direct Debit.
pub const TEST_ROUTING_NUMBER: &str = "110000000";

#[derive(Debug, Clone, Copy)]
pub struct TestBankAccount {
    pub account_number: &'static str,
    pub outcome: DelayedOutcome,
}

/// ACH Direct Debit (us_bank_account) test accounts, with routing number 110000000 (USD only).
pub const TEST_BANK_ACCOUNTS: &[TestBankAccount] = &[
    TestBankAccount {
        account_number: "000123456789",
        outcome: DelayedOutcome::Succeeds,
    },
    TestBankAccount {
        account_number: "000111111113",
        outcome: DelayedOutcome::Fails {
            code: "account_closed",
            message: "The customer's bank account has been closed.",
        },
    },
    TestBankAccount {
        account_number: "000111111116",
        outcome: DelayedOutcome::Fails {
            code: "no_account",
            message: "The customer's bank account could not be located.",
        },
    },
    TestBankAccount {
        account_number: "000222222227",
        outcome: DelayedOutcome::Fails {
            code: "insufficient_funds",
            message: "The customer's account has insufficient funds to cover this payment.",
        },
    },
    TestBankAccount {
        account_number: "000333333335",
        outcome: DelayedOutcome::Fails {
            code: "debit_not_authorized",
            message: "The customer has notified their bank that this payment was unauthorized.",
        },
    },
    TestBankAccount {
        account_number: "000000000009",
        outcome: DelayedOutcome::NeverSettles,
    },
];

pub fn find_bank_account(routing: &str, account: &str) -> Option<&'static TestBankAccount> {
    if routing != TEST_ROUTING_NUMBER {
        return None;
    }
    TEST_BANK_ACCOUNTS
        .iter()
        .find(|a| a.account_number == account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_card_passes_luhn_except_the_incorrect_number_card() {
        for card in TEST_CARDS {
            assert!(luhn_valid(card.number), "{} should pass Luhn", card.number);
        }
        assert!(!luhn_valid("4242424242424241"));
    }

    #[test]
    fn insufficient_funds_card_declines_with_stripes_codes() {
        let card = find_card("4000000000009995").unwrap();
        let CardBehaviour::Declines(d) = card.behaviour else {
            panic!("should decline")
        };
        assert_eq!(d.code, "card_declined");
        assert_eq!(d.decline_code, Some("insufficient_funds"));
        assert_eq!(d.message, "Your card has insufficient funds.");
    }

    #[test]
    fn refund_failure_card_succeeds_but_its_refunds_fail() {
        let card = find_card("4000000000005126").unwrap();
        assert_eq!(
            card.behaviour,
            CardBehaviour::Succeeds(RefundBehaviour::SucceedsThenFails)
        );
    }

    #[test]
    fn delayed_methods_know_their_outcomes() {
        assert_eq!(
            find_iban("DE89 3704 0044 0532 0130 00").unwrap().outcome,
            DelayedOutcome::Succeeds
        );
        assert!(matches!(
            find_iban("AT861904300235473202").unwrap().outcome,
            DelayedOutcome::Fails { .. }
        ));
        assert!(matches!(
            find_bank_account("110000000", "000111111113")
                .unwrap()
                .outcome,
            DelayedOutcome::Fails {
                code: "account_closed",
                ..
            }
        ));
        assert!(find_bank_account("021000021", "000123456789").is_none());
    }
}
