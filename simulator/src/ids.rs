//! Object ids and every other random choice of the simulator.
//!
//! One seeded generator produces every id (`cs_test_…`, `pi_…`, `whsec_…`), so the same seed and
//! the same requests give the same ids: a run can be replayed byte for byte. The generator is a
//! SplitMix64 stream: small, fast, and stable across versions of any crate.

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Deterministic source of ids and random numbers.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    pub fn new(seed: u64) -> Self {
        IdGenerator { state: seed }
    }

    /// Where the stream stands: `IdGenerator::new(state)` continues it exactly (a state file
    /// keeps it, so a restarted simulator never hands out an id twice).
    pub fn state(&self) -> u64 {
        self.state
    }

    /// The next 64 random bits (SplitMix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `len` random characters from `[0-9A-Za-z]`.
    pub fn alphanumeric(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| ALPHABET[(self.next_u64() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    /// A new id with Stripe's prefix and length for that kind of object.
    pub fn id(&mut self, kind: IdKind) -> String {
        let (prefix, len) = kind.shape();
        format!("{prefix}{}", self.alphanumeric(len))
    }
}

/// A seed from the operating system, for runs that did not ask for one. It is printed so the run
/// can be replayed.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// The kinds of ids the simulator hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Customer,
    Product,
    Price,
    PaymentLink,
    PaymentLinkToken,
    CheckoutSession,
    LineItem,
    PaymentIntent,
    PaymentMethod,
    Charge,
    Refund,
    Event,
    Request,
    WebhookEndpoint,
    WebhookSecret,
    ClientSecret,
}

impl IdKind {
    /// Prefix and number of random characters, as seen on real test-mode objects.
    fn shape(self) -> (&'static str, usize) {
        match self {
            IdKind::Customer => ("cus_", 14),
            IdKind::Product => ("prod_", 14),
            IdKind::Price => ("price_", 24),
            IdKind::PaymentLink => ("plink_", 24),
            IdKind::PaymentLinkToken => ("test_", 14),
            IdKind::CheckoutSession => ("cs_test_", 58),
            IdKind::LineItem => ("li_", 24),
            IdKind::PaymentIntent => ("pi_", 24),
            IdKind::PaymentMethod => ("pm_", 24),
            IdKind::Charge => ("ch_", 24),
            IdKind::Refund => ("re_", 24),
            IdKind::Event => ("evt_", 24),
            IdKind::Request => ("req_", 14),
            IdKind::WebhookEndpoint => ("we_", 24),
            IdKind::WebhookSecret => ("whsec_", 32),
            IdKind::ClientSecret => ("_secret_", 25),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_stripe_prefixes_and_lengths() {
        let mut ids = IdGenerator::new(7);
        let session = ids.id(IdKind::CheckoutSession);
        assert!(session.starts_with("cs_test_"));
        assert_eq!(session.len(), 66);
        let intent = ids.id(IdKind::PaymentIntent);
        assert!(intent.starts_with("pi_"));
        assert_eq!(intent.len(), 27);
        assert!(ids.id(IdKind::Event).starts_with("evt_"));
        assert!(ids.id(IdKind::WebhookSecret).starts_with("whsec_"));
        assert!(intent[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn same_seed_gives_same_ids() {
        let mut a = IdGenerator::new(42);
        let mut b = IdGenerator::new(42);
        for _ in 0..100 {
            assert_eq!(a.id(IdKind::Charge), b.id(IdKind::Charge));
        }
        let mut c = IdGenerator::new(43);
        assert_ne!(a.id(IdKind::Charge), c.id(IdKind::Charge));
    }
}
