//! Design variants: different but correct ways to implement the payment spec.
//!
//! Where the spec leaves room, two careful teams build different apps, and the harness must
//! accept both: a scenario whose expectations hold for only one design is a false alarm waiting
//! for the other. Each [`Variant`] switches one such choice; a [`Design`] is one choice per axis
//! (`VARIANT=refund_at_once,latest_session`). `harness/tests/variants.rs` plays every scenario
//! and property histories under every variant, so a scenario that encodes one design cannot
//! land. The code each variant changes is marked with `// VARIANT(<name>)`.

use std::fmt;
use std::str::FromStr;

/// A refund delivered before the payment it refunds (the payment's own event is late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EarlyRefund {
    /// Answer 503 until the payment's event has been applied; Stripe retries the refund later.
    #[default]
    RetryLater,
    /// Ask Stripe whose payment it is and mark the order refunded at once.
    AtOnce,
}

/// A buyer who pays one order twice (two sessions): which payment the order names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SecondPayment {
    /// The first paying session stays recorded; the second payment is acknowledged.
    #[default]
    KeepFirst,
    /// The latest paying session (by Stripe's `created`, whatever order the events arrive
    /// in) replaces it; a full refund of a later payment waits (503) until the order records it.
    RecordLatest,
}

/// Where orders and processed event ids live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Storage {
    /// SQLite (a file, or `:memory:`), every event applied in one `BEGIN IMMEDIATE` transaction.
    #[default]
    Sqlite,
    /// Maps in the process behind one lock, as many small apps keep them.
    Memory,
}

/// One named switch, selected with `VARIANT=name` or `--variant name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// [`EarlyRefund::RetryLater`] (the default).
    RefundRetry,
    /// [`EarlyRefund::AtOnce`].
    RefundAtOnce,
    /// [`SecondPayment::KeepFirst`] (the default).
    FirstSession,
    /// [`SecondPayment::RecordLatest`].
    LatestSession,
    /// [`Storage::Sqlite`] (the default).
    Sqlite,
    /// [`Storage::Memory`].
    Memory,
}

impl Variant {
    /// Every variant, in the order the README lists them.
    pub const ALL: [Variant; 6] = [
        Variant::RefundRetry,
        Variant::RefundAtOnce,
        Variant::FirstSession,
        Variant::LatestSession,
        Variant::Sqlite,
        Variant::Memory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::RefundRetry => "refund_retry",
            Variant::RefundAtOnce => "refund_at_once",
            Variant::FirstSession => "first_session",
            Variant::LatestSession => "latest_session",
            Variant::Sqlite => "sqlite",
            Variant::Memory => "memory",
        }
    }

    /// What the variant does, for `--help` and the README.
    pub fn describe(self) -> &'static str {
        match self {
            Variant::RefundRetry => "a refund delivered before its payment is answered 503 until the payment's event is applied (the default)",
            Variant::RefundAtOnce => "a refund delivered before its payment is looked up at Stripe and marks the order refunded at once",
            Variant::FirstSession => "an order paid twice keeps the first paying session (the default)",
            Variant::LatestSession => "an order paid twice records the latest paying session",
            Variant::Sqlite => "orders and processed events in SQLite (the default)",
            Variant::Memory => "orders and processed events in maps in memory, no SQLite",
        }
    }

    /// All names joined for error messages and `--help`.
    pub fn names() -> String {
        Variant::ALL.map(Variant::name).join(", ")
    }

    /// Sets this variant's axis in `design`.
    fn apply(self, design: &mut Design) {
        match self {
            Variant::RefundRetry => design.early_refund = EarlyRefund::RetryLater,
            Variant::RefundAtOnce => design.early_refund = EarlyRefund::AtOnce,
            Variant::FirstSession => design.second_payment = SecondPayment::KeepFirst,
            Variant::LatestSession => design.second_payment = SecondPayment::RecordLatest,
            Variant::Sqlite => design.storage = Storage::Sqlite,
            Variant::Memory => design.storage = Storage::Memory,
        }
    }

    /// Which axis the variant sets (two variants of one axis cannot be combined).
    fn axis(self) -> usize {
        match self {
            Variant::RefundRetry | Variant::RefundAtOnce => 0,
            Variant::FirstSession | Variant::LatestSession => 1,
            Variant::Sqlite | Variant::Memory => 2,
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownVariant {
                message: format!("unknown variant {s:?}; valid names: {}", Variant::names()),
            })
    }
}

/// A variant name that is not one of [`Variant::ALL`], or two of one axis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UnknownVariant {
    pub message: String,
}

/// One choice per axis: the design the target implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Design {
    pub early_refund: EarlyRefund,
    pub second_payment: SecondPayment,
    pub storage: Storage,
}

impl Design {
    /// Parses `VARIANT` / `--variant`: names separated by commas; empty (or `default`) is the
    /// default design.
    pub fn parse(value: &str) -> Result<Design, UnknownVariant> {
        let mut design = Design::default();
        let mut seen: Vec<Variant> = Vec::new();
        for name in value.split(',').map(str::trim) {
            if name.is_empty() || name == "default" {
                continue;
            }
            let variant: Variant = name.parse()?;
            if let Some(other) = seen.iter().find(|v| v.axis() == variant.axis()) {
                if *other != variant {
                    return Err(UnknownVariant {
                        message: format!("variants {other} and {variant} are two answers to the same question: give one"),
                    });
                }
            }
            seen.push(variant);
            variant.apply(&mut design);
        }
        Ok(design)
    }

    /// The variants that differ from the default design, in [`Variant::ALL`] order.
    pub fn variants(self) -> Vec<Variant> {
        let default = Design::default();
        Variant::ALL
            .into_iter()
            .filter(|v| {
                let mut changed = default;
                v.apply(&mut changed);
                changed != default && {
                    let mut mine = self;
                    v.apply(&mut mine);
                    mine == self
                }
            })
            .collect()
    }

    /// Whether this is the default design.
    pub fn is_default(self) -> bool {
        self == Design::default()
    }

    /// Every distinct design a single variant gives, and the one with every non-default variant
    /// at once: what a test must play to cover every variant.
    pub fn each() -> Vec<Design> {
        let mut designs: Vec<Design> = Vec::new();
        for variant in Variant::ALL {
            let mut design = Design::default();
            variant.apply(&mut design);
            if !designs.contains(&design) {
                designs.push(design);
            }
        }
        let mut all = Design::default();
        for d in &designs {
            for v in d.variants() {
                v.apply(&mut all);
            }
        }
        if !designs.contains(&all) {
            designs.push(all);
        }
        designs
    }
}

/// `refund_at_once,latest_session`, or `default`.
impl fmt::Display for Design {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.variants().into_iter().map(Variant::name).collect();
        if names.is_empty() {
            f.write_str("default")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_and_a_design_prints_as_it_parses() {
        for variant in Variant::ALL {
            let design = Design::parse(variant.name()).unwrap();
            assert_eq!(Design::parse(&design.to_string()).unwrap(), design);
        }
        let design = Design::parse("refund_at_once, latest_session,memory").unwrap();
        assert_eq!(design.to_string(), "refund_at_once,latest_session,memory");
        assert_eq!(Design::parse("").unwrap(), Design::default());
        assert_eq!(
            Design::parse("refund_retry").unwrap().to_string(),
            "default"
        );
    }

    #[test]
    fn unknown_names_and_two_answers_to_one_question_are_refused() {
        let err = Design::parse("refund_later").unwrap_err().to_string();
        assert!(err.contains("refund_at_once"), "{err}");
        let err = Design::parse("memory,sqlite").unwrap_err().to_string();
        assert!(err.contains("same question"), "{err}");
    }

    #[test]
    fn each_design_covers_every_variant_and_their_combination() {
        let designs = Design::each();
        for variant in Variant::ALL {
            assert!(designs.iter().any(|d| {
                d.variants().contains(&variant)
                    || (d.is_default() && Design::parse(variant.name()).unwrap().is_default())
            }));
        }
        assert!(designs.iter().any(|d| d.variants().len() == 3));
    }
}
