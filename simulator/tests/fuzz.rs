//! Fuzzing on stable Rust: property tests over arbitrary bytes and structure-aware generators for
//! the three parsers that read what clients send: the form parser (`form::parse`), the URL checks
//! (`url_check::parse`) and the `Stripe-Signature` verifier (`webhooks::signature`).
//!
//! Each property runs `FUZZ_CASES` cases (2,000 by default: a few seconds in a debug build);
//! `.ci/run` runs 10,000 in release. The `#[ignore]`d `*_million` tests run 1,000,000 cases of
//! every property (`cargo test --release -p stripe-sim --test fuzz -- --ignored`, a few minutes).
//! `FUZZ_SEED` fixes the generator's seed to replay a run; a failure prints the smallest input
//! found.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use stripe_sim::form::{self, FormError, FormLimits, FormValue};
use stripe_sim::signature;
use stripe_sim::url_check::{self, SESSION_ID_PLACEHOLDER};

// ----- running -----

/// Cases per property: `FUZZ_CASES`, or `default`.
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
        max_shrink_iters: 10_000,
        ..Config::default()
    };
    if let Some(seed) = std::env::var("FUZZ_SEED").ok().and_then(|v| v.parse().ok()) {
        config.rng_seed = RngSeed::Fixed(seed);
    }
    let tried = AtomicU64::new(0);
    let started = std::time::Instant::now();
    let outcome = TestRunner::new(config).run(&strategy, |value| {
        tried.fetch_add(1, Ordering::Relaxed);
        property(value)
    });
    println!(
        "fuzz {name}: {} inputs in {:.1?}, {}",
        tried.load(Ordering::Relaxed),
        started.elapsed(),
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

// ----- the form parser -----

/// Characters that matter to the parser, often; anything else, sometimes.
fn form_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::sample::select(vec!['a', 'b', 'x', '0', '1', '9', '[', ']', '=', '&', '%', '+', ' ']),
        1 => any::<char>(),
    ]
}

/// A percent escape: valid hex (bytes that may not be UTF-8) or not.
fn escape() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u8>().prop_map(|b| format!("%{b:02X}")),
        Just("%".to_string()),
        Just("%G1".to_string()),
        Just("%5B".to_string()),
        Just("%5D".to_string()),
        Just("%E2%82%AC".to_string()),
    ]
}

/// Unstructured text made of the parser's own characters and escapes.
fn form_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![4 => form_char().prop_map(String::from), 1 => escape()],
        0..120,
    )
    .prop_map(|parts| parts.concat())
}

/// A bracket segment: a name, an index (small or huge), empty (`[]`), or junk.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z_]{1,6}",
        3 => (0u64..12).prop_map(|i| i.to_string()),
        1 => (9_990u64..10_010).prop_map(|i| i.to_string()),
        1 => Just("99999999999999999999999".to_string()),
        2 => Just(String::new()),
        1 => form_text(),
    ]
}

/// `name[seg][seg]…=value` pairs: what SDKs send, and the ways it goes wrong.
fn form_pairs() -> impl Strategy<Value = String> {
    let key = (
        prop_oneof![4 => "[a-z_]{1,8}", 1 => form_text()],
        prop_oneof![
            6 => proptest::collection::vec(segment(), 0..5),
            1 => proptest::collection::vec(segment(), 0..22),
        ],
        any::<bool>(),
    )
        .prop_map(|(head, segments, encode_brackets)| {
            let mut key = head;
            for s in segments {
                if encode_brackets {
                    key.push_str(&format!("%5B{s}%5D"));
                } else {
                    key.push_str(&format!("[{s}]"));
                }
            }
            key
        });
    let pair = (
        key,
        prop_oneof![3 => "[a-zA-Z0-9 ._-]{0,12}", 1 => form_text()],
        any::<bool>(),
    )
        .prop_map(|(k, v, with_value)| if with_value { format!("{k}={v}") } else { k });
    prop_oneof![
        6 => proptest::collection::vec(pair.clone(), 0..12),
        1 => proptest::collection::vec(pair, 0..40),
    ]
    .prop_map(|pairs| pairs.join("&"))
}

/// Any input at all: raw bytes read as a lossy string, unstructured text, or structured pairs.
fn form_input() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..256)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        2 => form_text(),
        4 => form_pairs(),
    ]
}

/// Encodes a parsed tree back the way the SDKs do (`a[0][k]=v`), percent-encoding every name
/// and value.
fn encode(params: &BTreeMap<String, FormValue>) -> String {
    fn push(pairs: &mut Vec<String>, prefix: String, value: &FormValue) {
        match value {
            FormValue::Text(s) => pairs.push(format!(
                "{prefix}={}",
                utf8_percent_encode(s, NON_ALPHANUMERIC)
            )),
            FormValue::Map(map) => {
                for (k, v) in map {
                    let k = utf8_percent_encode(k, NON_ALPHANUMERIC);
                    push(pairs, format!("{prefix}[{k}]"), v);
                }
            }
            FormValue::List(items) => {
                for (i, v) in items.iter().enumerate() {
                    push(pairs, format!("{prefix}[{i}]"), v);
                }
            }
        }
    }
    let mut pairs = Vec::new();
    for (k, v) in params {
        push(
            &mut pairs,
            utf8_percent_encode(k, NON_ALPHANUMERIC).to_string(),
            v,
        );
    }
    pairs.join("&")
}

/// Levels of a value (a text is 0) and its number of leaves.
fn shape(value: &FormValue) -> (usize, usize) {
    match value {
        FormValue::Text(_) => (0, 1),
        FormValue::Map(map) => map
            .values()
            .map(shape)
            .fold((1, 0), |(d, n), (cd, cn)| (d.max(cd + 1), n + cn)),
        FormValue::List(items) => items
            .iter()
            .map(shape)
            .fold((1, 0), |(d, n), (cd, cn)| (d.max(cd + 1), n + cn)),
    }
}

fn form_never_panics_and_round_trips(cases: u32) {
    fuzz("form::parse round trip", cases, form_input(), |input| {
        // Never panics; what it accepts, it reads again the same after a re-encoding.
        let Ok(parsed) = form::parse(&input) else {
            return Ok(());
        };
        let encoded = encode(&parsed);
        let again = form::parse(&encoded);
        prop_assert_eq!(again.as_ref(), Ok(&parsed), "re-encoded as {:?}", encoded);
        Ok(())
    });
}

fn form_limits_hold(cases: u32) {
    let limits = FormLimits {
        max_depth: 4,
        max_params: 24,
        max_key_len: 48,
        max_index: 50,
    };
    fuzz("form::parse limits", cases, form_input(), move |input| {
        let pairs = input.split('&').filter(|p| !p.is_empty()).count();
        match form::parse_with(&input, &limits) {
            Ok(parsed) => {
                prop_assert!(pairs <= limits.max_params, "{} pairs accepted", pairs);
                for (name, value) in &parsed {
                    let (depth, _) = shape(value);
                    prop_assert!(depth <= limits.max_depth, "{} is {} deep", name, depth);
                }
            }
            Err(e) => {
                // Every refusal but undecodable text names its parameter, shortly.
                if e != FormError::NotUtf8 {
                    let param = e.param().unwrap_or_default();
                    prop_assert!(param.chars().count() <= 81, "param {:?}", param);
                }
            }
        }
        Ok(())
    });
}

#[test]
fn form_parse_never_panics_and_what_it_accepts_round_trips() {
    form_never_panics_and_round_trips(cases(2_000));
}

#[test]
fn form_parse_keeps_to_its_limits_and_names_the_parameter_it_refuses() {
    form_limits_hold(cases(2_000));
}

#[test]
#[ignore = "a million cases: run with --release -- --ignored"]
fn form_parse_million() {
    form_never_panics_and_round_trips(cases(1_000_000));
    form_limits_hold(cases(1_000_000));
}

// ----- the URL checks -----

/// URLs built from parts that matter: schemes, hosts, user info, paths with placeholders,
/// escapes and control characters.
fn url_input() -> impl Strategy<Value = String> {
    let scheme = proptest::sample::select(vec![
        "http",
        "https",
        "HTTPS",
        "ftp",
        "javascript",
        "data",
        "file",
        "mailto",
        "",
        "h ttp",
    ]);
    let userinfo = prop_oneof![
        4 => Just(String::new()),
        1 => Just("user:pw@".to_string()),
        1 => Just("us%0Aer@".to_string()),
        1 => Just("u:p%00w@".to_string()),
        1 => form_text().prop_map(|t| format!("{t}@")),
    ];
    let host = prop_oneof![
        4 => proptest::sample::select(vec![
            "example.com", "localhost:3000", "127.0.0.1:8080", "[::1]", "xn--nxasmq6b.com",
            "exa%0Dmple.com", "", "exa mple.com", "{CHECKOUT_SESSION_ID}.example.com", "a..b",
            "999.999.999.999", "[::1", "example.com:99999",
        ])
        .prop_map(String::from),
        1 => form_text(),
    ];
    let piece = prop_oneof![
        4 => proptest::sample::select(vec![
            "/", "/thanks", "?", "&", "=", "#", "{CHECKOUT_SESSION_ID}", "%0A", "%", "%E2%82%AC",
            "session_id=", "..", "\\", " ",
        ])
        .prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
        1 => (0u8..0x20).prop_map(|b| char::from(b).to_string()),
        1 => escape(),
    ];
    let structured = (
        scheme,
        proptest::sample::select(vec!["://", ":", ":/", "//", ""]),
        userinfo,
        host,
        proptest::collection::vec(piece, 0..12),
    )
        .prop_map(|(s, sep, u, h, path)| format!("{s}{sep}{u}{h}{}", path.concat()));
    prop_oneof![
        1 => any::<String>(),
        1 => proptest::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        6 => structured,
    ]
}

fn urls_are_safe_once_accepted(cases: u32) {
    fuzz("url_check::parse", cases, url_input(), |raw| {
        let accepted = url_check::parse(&raw);
        let redirect = url_check::check_redirect_url(&raw, "success_url");
        let endpoint = url_check::check_endpoint_url(&raw, "url");
        // The three agree.
        prop_assert_eq!(accepted.is_ok(), redirect.is_ok());
        prop_assert_eq!(accepted.is_ok(), endpoint.is_ok());
        match accepted {
            Ok(url) => {
                // Accepted: an absolute http(s) URL with a host, that can go in a Location header
                // once the session id replaces the placeholder.
                prop_assert!(url.scheme() == "http" || url.scheme() == "https");
                prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()));
                prop_assert!(!raw.chars().any(char::is_control));
                let location = raw.replace(SESSION_ID_PLACEHOLDER, "cs_test_a1B2c3");
                prop_assert!(
                    reqwest::header::HeaderValue::from_str(&location).is_ok(),
                    "{:?} cannot be a header",
                    location
                );
                prop_assert!(reqwest::Url::parse(&location).is_ok());
            }
            Err(_) => {
                for e in [redirect.unwrap_err(), endpoint.unwrap_err()] {
                    prop_assert_eq!(e.status, 400);
                    prop_assert_eq!(e.code, Some("url_invalid"));
                    prop_assert!(e.param.is_some());
                }
            }
        }
        Ok(())
    });
}

#[test]
fn url_checks_never_panic_and_accepted_urls_are_header_safe() {
    urls_are_safe_once_accepted(cases(2_000));
}

#[test]
#[ignore = "a million cases: run with --release -- --ignored"]
fn url_checks_million() {
    urls_are_safe_once_accepted(cases(1_000_000));
}

// ----- Stripe-Signature -----

fn hex64() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 32).prop_map(hex::encode)
}

/// Timestamps near now, and the extremes of i64.
fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 1_700_000_000i64..1_800_000_000,
        1 => any::<i64>(),
        1 => proptest::sample::select(vec![i64::MIN, i64::MAX, 0, -1]),
    ]
}

/// Header items, well-formed or not, joined by commas (and sometimes something else).
fn signature_header() -> impl Strategy<Value = String> {
    let item = prop_oneof![
        3 => timestamp().prop_map(|t| format!("t={t}")),
        3 => hex64().prop_map(|h| format!("v1={h}")),
        1 => hex64().prop_map(|h| format!("v0={h}")),
        1 => form_text().prop_map(|t| format!("v1={t}")),
        1 => form_text().prop_map(|t| format!("t={t}")),
        1 => form_text(),
        1 => Just("t=".to_string()),
        1 => Just("=".to_string()),
        1 => Just(" v1=00".to_string()),
    ];
    (
        proptest::collection::vec(item, 0..8),
        proptest::sample::select(vec![",", ",", ",", ", ", ";", ""]),
    )
        .prop_map(|(items, sep)| items.join(sep))
}

fn signature_input() -> impl Strategy<Value = (String, Vec<u8>, String, i64, i64)> {
    (
        prop_oneof![3 => signature_header(), 1 => any::<String>()],
        proptest::collection::vec(any::<u8>(), 0..64),
        prop_oneof![3 => "whsec_[a-zA-Z0-9]{8,32}", 1 => any::<String>()],
        timestamp(),
        prop_oneof![3 => Just(300i64), 1 => any::<i64>(), 1 => Just(0i64)],
    )
}

fn signatures_verify_only_when_genuine(cases: u32) {
    fuzz(
        "signature::verify (arbitrary headers)",
        cases,
        signature_input(),
        |(header, body, secret, now, tolerance)| {
            // Never panics; a header nobody signed with this secret never verifies (a forged
            // v1 matching by chance would need the HMAC).
            let result = signature::verify(&header, &body, &secret, now, tolerance);
            if result.is_ok() {
                let t = header
                    .split(',')
                    .rev()
                    .find_map(|i| i.strip_prefix("t="))
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap();
                let expected = signature::sign(&secret, t, &body);
                let genuine = format!("v1={expected}");
                prop_assert!(header.split(',').any(|i| i == genuine));
            }
            Ok(())
        },
    );
    let genuine = (
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec("whsec_[a-zA-Z0-9]{8,32}", 1..4),
        timestamp(),
        0i64..300,
        timestamp(),
    );
    fuzz(
        "signature::header round trip",
        cases,
        genuine,
        |(body, secrets, t, age, other_now)| {
            // What the dispatcher signs verifies with every active secret within the tolerance,
            // and not with a tampered body or another secret.
            let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let header = signature::header(&refs, t, &body);
            let now = t.saturating_add(age);
            for secret in &refs {
                prop_assert_eq!(signature::verify(&header, &body, secret, now, 300), Ok(()));
            }
            // At any other time: never a panic (extreme clocks included), accepted exactly
            // while the age is within the tolerance.
            let verdict = signature::verify(&header, &body, refs[0], other_now, 300);
            prop_assert_eq!(verdict.is_ok(), other_now.saturating_sub(t) <= 300);
            let mut tampered = body.clone();
            tampered.push(b' ');
            prop_assert!(signature::verify(&header, &tampered, refs[0], now, 300).is_err());
            prop_assert!(signature::verify(&header, &body, "whsec_other", now, 300).is_err());
            Ok(())
        },
    );
}

#[test]
fn stripe_signature_headers_never_panic_the_verifier_and_verify_only_when_genuine() {
    signatures_verify_only_when_genuine(cases(2_000));
}

#[test]
#[ignore = "a million cases: run with --release -- --ignored"]
fn stripe_signature_million() {
    signatures_verify_only_when_genuine(cases(1_000_000));
}
