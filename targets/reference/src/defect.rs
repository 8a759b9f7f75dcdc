//! The switchable defects.
//!
//! The harness is only worth something if it notices a target that gets payments wrong. Each
//! variant here is a bug that real integrations ship (they are all over public Stripe examples),
//! and switching one on must make the harness fail. The code that each defect changes is marked
//! at its branch with `// DEFECT(<name>)` and a comment saying why the bug is plausible.

use std::fmt;
use std::str::FromStr;

/// One realistic payment-handling bug, selected with `DEFECT=name` or `--defect name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Defect {
    /// The webhook is not verified at all: anyone who can reach the URL can mark orders paid.
    NoSig,
    /// The paid amount and currency are not compared with the order.
    NoAmount,
    /// Stripe's lowercase `usd` is compared with the order's `USD` case-sensitively, so genuine
    /// payments never mark the order paid.
    CurrencyCase,
    /// A completed session with `payment_status: unpaid` marks the order failed, and every
    /// paid/failed event overwrites the status regardless of the current one (last write wins).
    UnpaidFails,
    /// A late `completed` / `async_payment_succeeded` turns a refunded order back to paid.
    Resurrect,
    /// A `charge.refunded` for a payment the app does not know yet is acknowledged and dropped,
    /// so the refund is never applied.
    RefundLost,
    /// The signature is checked but its timestamp is not, so old signed requests can be replayed.
    StaleOk,
    /// Orders whose provider is not `stripe` are paid by Stripe events.
    ProviderIgnored,
    /// The return route marks the order paid from the retrieved session's `status: complete`,
    /// without looking at `payment_status`, amount or currency.
    CaptureTrusts,
    /// `checkout.session.async_payment_failed` is ignored: the order stays pending forever.
    AsyncFailIgnored,
    /// Any `charge.refunded`, even a partial refund, marks the order refunded.
    PartialRefundFull,
}

impl Defect {
    /// Every defect, in the order the README's table lists them.
    pub const ALL: [Defect; 11] = [
        Defect::NoSig,
        Defect::NoAmount,
        Defect::CurrencyCase,
        Defect::UnpaidFails,
        Defect::Resurrect,
        Defect::RefundLost,
        Defect::StaleOk,
        Defect::ProviderIgnored,
        Defect::CaptureTrusts,
        Defect::AsyncFailIgnored,
        Defect::PartialRefundFull,
    ];

    /// The name used on the command line and in `DEFECT`.
    pub fn name(self) -> &'static str {
        match self {
            Defect::NoSig => "nosig",
            Defect::NoAmount => "noamount",
            Defect::CurrencyCase => "currency_case",
            Defect::UnpaidFails => "unpaid_fails",
            Defect::Resurrect => "resurrect",
            Defect::RefundLost => "refund_lost",
            Defect::StaleOk => "stale_ok",
            Defect::ProviderIgnored => "provider_ignored",
            Defect::CaptureTrusts => "capture_trusts",
            Defect::AsyncFailIgnored => "async_fail_ignored",
            Defect::PartialRefundFull => "partial_refund_full",
        }
    }

    /// Parses the value of `DEFECT` / `--defect`: empty (or `none`) means the correct target.
    pub fn parse_optional(value: &str) -> Result<Option<Defect>, UnknownDefect> {
        let value = value.trim();
        if value.is_empty() || value == "none" {
            return Ok(None);
        }
        value.parse().map(Some)
    }

    /// All names joined for error messages and `--help`.
    pub fn names() -> String {
        Defect::ALL.map(Defect::name).join(", ")
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A defect name that is not one of [`Defect::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown defect {name:?}; valid names: {valid}", valid = Defect::names())]
pub struct UnknownDefect {
    pub name: String,
}

impl FromStr for Defect {
    type Err = UnknownDefect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Defect::ALL
            .into_iter()
            .find(|defect| defect.name() == s)
            .ok_or_else(|| UnknownDefect { name: s.to_owned() })
    }
}

/// Tells whether a given defect is the one switched on; `None` is the correct target.
pub trait DefectExt {
    fn is(self, defect: Defect) -> bool;
}

impl DefectExt for Option<Defect> {
    fn is(self, defect: Defect) -> bool {
        self == Some(defect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_defect() {
        for defect in Defect::ALL {
            assert_eq!(defect.name().parse::<Defect>(), Ok(defect));
        }
    }

    #[test]
    fn empty_and_none_mean_no_defect() {
        assert_eq!(Defect::parse_optional(""), Ok(None));
        assert_eq!(Defect::parse_optional("  "), Ok(None));
        assert_eq!(Defect::parse_optional("none"), Ok(None));
    }

    #[test]
    fn an_unknown_name_is_rejected_with_the_list_of_valid_names() {
        let err = Defect::parse_optional("nosignature").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("\"nosignature\""), "{message}");
        for defect in Defect::ALL {
            assert!(message.contains(defect.name()), "{message}");
        }
    }
}
