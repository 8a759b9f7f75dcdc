//! Order ids.
//!
//! The order id travels to Stripe as `client_reference_id`, which accepts only letters, digits,
//! `_` and `-` (max 200), so ids are UUID-v4-shaped strings. They come from a seeded SplitMix64
//! counter rather than a global RNG: a harness can pin the seed to make a run repeatable, and the
//! binary seeds it from the time and process id so ids are unguessable enough for a demo target.

use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64's increment (the golden ratio): consecutive counter values map to well-mixed outputs.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A thread-safe source of order ids.
#[derive(Debug)]
pub struct OrderIds {
    counter: AtomicU64,
}

impl OrderIds {
    /// A source whose sequence is fully determined by `seed`.
    pub fn seeded(seed: u64) -> OrderIds {
        OrderIds {
            counter: AtomicU64::new(seed),
        }
    }

    /// The next id, formatted like a random (version 4, RFC 4122 variant) UUID.
    pub fn next_id(&self) -> String {
        let hi = mix(self
            .counter
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA));
        let lo = mix(self
            .counter
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA));
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// True when `id` is acceptable as a Stripe `client_reference_id`.
pub fn is_valid_client_reference_id(id: &str) -> bool {
    (1..=200).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_version_4_uuids() {
        let ids = OrderIds::seeded(7);
        for _ in 0..100 {
            let id = ids.next_id();
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(
                matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
                "{id}"
            );
            assert!(is_valid_client_reference_id(&id));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_ids_and_ids_do_not_repeat() {
        let a = OrderIds::seeded(42);
        let b = OrderIds::seeded(42);
        let first: Vec<String> = (0..50).map(|_| a.next_id()).collect();
        let second: Vec<String> = (0..50).map(|_| b.next_id()).collect();
        assert_eq!(first, second);
        let unique: std::collections::HashSet<_> = first.iter().collect();
        assert_eq!(unique.len(), first.len());
    }

    #[test]
    fn client_reference_ids_reject_characters_stripe_drops() {
        assert!(is_valid_client_reference_id("order_42-a"));
        assert!(!is_valid_client_reference_id(""));
        assert!(!is_valid_client_reference_id("order 42"));
        assert!(!is_valid_client_reference_id("../v1/charges"));
        assert!(!is_valid_client_reference_id(&"a".repeat(201)));
    }
}
