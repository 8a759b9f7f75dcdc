//! Fuzzing the reference target's `Stripe-Signature` verifier on stable Rust: arbitrary and
//! structure-aware headers never panic it, it accepts exactly the genuine ones, and what Stripe
//! signs verifies within the tolerance and not after.
//!
//! `FUZZ_CASES` cases per property (2,000 by default); `.ci/run` runs 10,000 in release and the
//! `#[ignore]`d `*_million` test 1,000,000 (`cargo test --release -p reference-target --test
//! signature_fuzz -- --ignored`). `FUZZ_SEED` replays a run.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use reference_target::signature::{
    compute_signature, sign_header, verify, SignatureError, SignatureHeader,
};

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `property` over `cases` values of `strategy` and prints how many it tried.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if let Some(seed) = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()) {
        config.rng_seed = RngSeed::Fixed(seed);
    }
    let tried = AtomicU64::new(0);
    let outcome = TestRunner::new(config).run(&strategy, |value| {
        tried.fetch_add(1, Ordering::Relaxed);
        property(value)
    });
    println!(
        "fuzz {name}: {} inputs, {}",
        tried.load(Ordering::Relaxed),
        if outcome.is_ok() {
            "0 failures"
        } else {
            "FAILED"
        }
    );
    if let Err(e) = outcome {
        panic!("{name}: {e}");
    }
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 1_700_000_000i64..1_800_000_000,
        1 => any::<i64>(),
        1 => proptest::sample::select(vec![i64::MIN, i64::MAX, 0, -1]),
    ]
}

fn hex64() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 32).prop_map(hex::encode)
}

fn junk() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(vec!['t', 'v', '1', '0', '=', ',', ' ', 'a', '-', '+']),
            1 => any::<char>(),
        ],
        0..24,
    )
    .prop_map(|c| c.into_iter().collect())
}

fn header() -> impl Strategy<Value = String> {
    let item = prop_oneof![
        3 => timestamp().prop_map(|t| format!("t={t}")),
        3 => hex64().prop_map(|h| format!("v1={h}")),
        1 => hex64().prop_map(|h| format!("v0={h}")),
        1 => junk().prop_map(|j| format!("t={j}")),
        1 => junk().prop_map(|j| format!("v1={j}")),
        1 => junk(),
    ];
    prop_oneof![
        4 => (
            proptest::collection::vec(item, 0..8),
            proptest::sample::select(vec![",", ",", ", ", ";"]),
        )
            .prop_map(|(items, sep)| items.join(sep)),
        1 => any::<String>(),
    ]
}

fn arbitrary_headers_verify_only_when_genuine(cases: u32) {
    let input = (
        proptest::option::of(header()),
        proptest::collection::vec(any::<u8>(), 0..64),
        prop_oneof![3 => "whsec_[a-zA-Z0-9]{8,32}", 1 => any::<String>()],
        timestamp(),
        proptest::option::of(prop_oneof![3 => Just(300i64), 1 => any::<i64>()]),
    );
    fuzz(
        "reference verify (arbitrary headers)",
        cases,
        input,
        |(header, body, secret, now, tolerance)| {
            let parsed = header.as_deref().map(SignatureHeader::parse);
            if let Some(Ok(parsed)) = &parsed {
                let h = header.as_deref().unwrap_or_default();
                prop_assert!(!parsed.v1.is_empty());
                let stated = |i: &str| {
                    i.strip_prefix("t=")
                        .is_some_and(|t| t.parse::<i64>() == Ok(parsed.timestamp))
                };
                prop_assert!(h.split(',').any(stated));
                for v1 in &parsed.v1 {
                    let item = format!("v1={v1}");
                    prop_assert!(h.split(',').any(|i| i == item));
                }
            }
            match verify(&body, header.as_deref(), &secret, now, tolerance) {
                Ok(t) => {
                    let genuine = format!("v1={}", compute_signature(&secret, t, &body));
                    let h = header.unwrap_or_default();
                    prop_assert!(h.split(',').any(|i| i == genuine));
                }
                Err(SignatureError::MissingHeader) => prop_assert!(header.is_none()),
                Err(_) => {}
            }
            Ok(())
        },
    );
}

fn signed_headers_verify_within_the_tolerance(cases: u32) {
    let input = (
        proptest::collection::vec(any::<u8>(), 0..256),
        "whsec_[a-zA-Z0-9]{8,32}",
        timestamp(),
        timestamp(),
    );
    fuzz(
        "reference verify (signed headers)",
        cases,
        input,
        |(body, secret, t, now)| {
            let header = sign_header(&secret, t, &body);
            let verdict = verify(&body, Some(&header), &secret, now, Some(300));
            if now.saturating_sub(t) <= 300 {
                prop_assert_eq!(verdict, Ok(t));
            } else {
                let too_old = matches!(verdict, Err(SignatureError::TimestampTooOld { .. }));
                prop_assert!(too_old);
            }
            prop_assert_eq!(verify(&body, Some(&header), &secret, now, None), Ok(t));
            let mut tampered = body.clone();
            tampered.push(b'x');
            prop_assert_eq!(
                verify(&tampered, Some(&header), &secret, t, Some(300)),
                Err(SignatureError::NoMatchingSignature)
            );
            Ok(())
        },
    );
}

#[test]
fn arbitrary_stripe_signature_headers_never_panic_and_verify_only_when_genuine() {
    arbitrary_headers_verify_only_when_genuine(cases(2_000));
}

#[test]
fn signed_headers_verify_within_the_tolerance_and_never_after() {
    signed_headers_verify_within_the_tolerance(cases(2_000));
}

#[test]
#[ignore = "a million cases: run with --release -- --ignored"]
fn reference_signature_million() {
    arbitrary_headers_verify_only_when_genuine(cases(1_000_000));
    signed_headers_verify_within_the_tolerance(cases(1_000_000));
}
