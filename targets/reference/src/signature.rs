//! Stripe webhook signatures, verified the way the official SDKs do it.
//!
//! A webhook URL is public, so the signature is the only thing that tells a genuine Stripe
//! delivery from a forged one. The rules are those of stripe-python / stripe-node:
//!
//! * header `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`;
//! * signed payload `"{t}.{raw body}"`, HMAC-SHA256 keyed with the whole secret string
//!   (including `whsec_`), lowercase hex;
//! * accepted if ANY `v1` matches (several appear while a secret is being rolled); every other
//!   scheme (`v0` in test mode) is ignored so an attacker cannot downgrade;
//! * rejected when `now - t > tolerance` (300 s); timestamps in the future are accepted.
//!
//! Verification takes `now` as a parameter so it can be tested against fixed vectors.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default tolerance, in seconds, between the signed timestamp and now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a `Stripe-Signature` header was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing Stripe-Signature header")]
    MissingHeader,
    #[error("malformed Stripe-Signature header: {0}")]
    MalformedHeader(&'static str),
    #[error("no v1 signature matches the payload")]
    NoMatchingSignature,
    #[error("timestamp {timestamp} is {age} s old, outside the {tolerance} s tolerance")]
    TimestampTooOld {
        timestamp: i64,
        age: i64,
        tolerance: i64,
    },
}

/// The parts of a `Stripe-Signature` header that matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    /// Every `v1` value, in header order.
    pub v1: Vec<String>,
}

impl SignatureHeader {
    /// Parses `t=…,v1=…`. Items are split on `,` and then on the first `=`, without trimming,
    /// like stripe-python; unknown schemes are skipped.
    pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for item in header.split(',') {
            let Some((key, value)) = item.split_once('=') else {
                continue;
            };
            match key {
                "t" => {
                    let t = value.parse::<i64>().map_err(|_| {
                        SignatureError::MalformedHeader("timestamp is not a number")
                    })?;
                    timestamp = Some(t);
                }
                "v1" => v1.push(value.to_owned()),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::MalformedHeader("no timestamp"))?;
        if v1.is_empty() {
            return Err(SignatureError::MalformedHeader("no v1 signature"));
        }
        Ok(SignatureHeader { timestamp, v1 })
    }
}

/// The lowercase hex HMAC-SHA256 of `"{timestamp}.{payload}"` keyed with `secret`.
pub fn compute_signature(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    // `new_from_slice` only fails for fixed-size keys; HMAC takes keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// A complete header value `t=…,v1=…` for `payload`, as Stripe would send it.
pub fn sign_header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        compute_signature(secret, timestamp, payload)
    )
}

/// Checks `header` against `payload` at time `now` (unix seconds).
///
/// `tolerance` is `Some(300)` in production; `None` skips the age check (only the `stale_ok`
/// defect does that). Returns the signed timestamp.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secret: &str,
    now: i64,
    tolerance: Option<i64>,
) -> Result<i64, SignatureError> {
    let header = SignatureHeader::parse(header.ok_or(SignatureError::MissingHeader)?)?;
    let expected = compute_signature(secret, header.timestamp, payload);
    // Every candidate is compared (no early exit) so timing reveals nothing about which matched.
    let matched = header.v1.iter().fold(false, |found, candidate| {
        constant_time_eq(expected.as_bytes(), candidate.as_bytes()) | found
    });
    if !matched {
        return Err(SignatureError::NoMatchingSignature);
    }
    if let Some(tolerance) = tolerance {
        let age = now.saturating_sub(header.timestamp);
        if age > tolerance {
            return Err(SignatureError::TimestampTooOld {
                timestamp: header.timestamp,
                age,
                tolerance,
            });
        }
    }
    Ok(header.timestamp)
}

/// Compares two byte strings in time that depends only on their lengths, so an attacker cannot
/// learn a valid signature one byte at a time.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_0123456789abcdef";
    const ROLLED: &str = "whsec_rolled_secret_fedcba9876543210";
    const T: i64 = 1_700_000_000;
    const BODY: &[u8] =
        br#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}"#;
    const V1: &str = "31f29de00c8d45913808e9d255e3e875d6eb7e0b59870602fc4b96dbcf0861b0";
    const V1_ROLLED: &str = "15952e5b028ce1c5eae105766d41a0e9d5300315d7e78872fc82a51bd8ad4fc3";

    #[test]
    fn signature_matches_the_published_test_vector() {
        assert_eq!(compute_signature(SECRET, T, BODY), V1);
        assert_eq!(sign_header(SECRET, T, BODY), format!("t={T},v1={V1}"));
    }

    #[test]
    fn the_whsec_prefix_is_part_of_the_key() {
        let stripped = compute_signature("test_secret_0123456789abcdef", T, BODY);
        assert_eq!(
            stripped,
            "a019bca4a7e111caf18bac3482d8e5a91f31ac14e44e18d843ee24f93f488967"
        );
        assert_ne!(stripped, V1);
    }

    #[test]
    fn a_fresh_header_verifies_and_returns_its_timestamp() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T + 10, Some(300)),
            Ok(T)
        );
    }

    #[test]
    fn a_header_exactly_at_the_tolerance_is_accepted_and_one_second_later_rejected() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T + 300, Some(300)),
            Ok(T)
        );
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T + 301, Some(300)),
            Err(SignatureError::TimestampTooOld {
                timestamp: T,
                age: 301,
                tolerance: 300
            })
        );
    }

    #[test]
    fn a_future_timestamp_is_accepted() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T - 3600, Some(300)),
            Ok(T)
        );
    }

    #[test]
    fn without_tolerance_an_old_header_is_accepted() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(verify(BODY, Some(&header), SECRET, T + 86_400, None), Ok(T));
    }

    #[test]
    fn a_rolled_secret_header_verifies_with_either_secret() {
        assert_eq!(compute_signature(ROLLED, T, BODY), V1_ROLLED);
        let header = format!("t={T},v1={V1},v1={V1_ROLLED}");
        assert_eq!(verify(BODY, Some(&header), SECRET, T, Some(300)), Ok(T));
        assert_eq!(verify(BODY, Some(&header), ROLLED, T, Some(300)), Ok(T));
    }

    #[test]
    fn the_v0_scheme_is_ignored() {
        let header = format!("t={T},v0={V1}");
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T, Some(300)),
            Err(SignatureError::MalformedHeader("no v1 signature"))
        );
        let header = format!("t={T},v1={V1},v0=6ffbb59b");
        assert_eq!(verify(BODY, Some(&header), SECRET, T, Some(300)), Ok(T));
    }

    #[test]
    fn a_tampered_body_is_rejected() {
        let header = format!("t={T},v1={V1}");
        let tampered = br#"{"id":"evt_test_1","object":"event","type":"checkout.session.expired"}"#;
        assert_eq!(
            verify(tampered, Some(&header), SECRET, T, Some(300)),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn a_changed_timestamp_is_rejected() {
        let header = format!("t={},v1={V1}", T + 1);
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T, Some(300)),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn the_wrong_secret_is_rejected() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(
            verify(BODY, Some(&header), ROLLED, T, Some(300)),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn uppercase_hex_is_rejected_like_the_string_comparing_sdks() {
        let header = format!("t={T},v1={}", V1.to_uppercase());
        assert_eq!(
            verify(BODY, Some(&header), SECRET, T, Some(300)),
            Err(SignatureError::NoMatchingSignature)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_rejected() {
        assert_eq!(
            verify(BODY, None, SECRET, T, Some(300)),
            Err(SignatureError::MissingHeader)
        );
        for header in [
            "",
            "garbage",
            &format!("v1={V1}"),
            "t=abc,v1=00",
            &format!("t={T}"),
        ] {
            assert!(
                matches!(
                    verify(BODY, Some(header), SECRET, T, Some(300)),
                    Err(SignatureError::MalformedHeader(_))
                ),
                "{header:?} should be malformed"
            );
        }
    }

    #[test]
    fn a_space_after_the_comma_hides_the_signature_like_in_stripe_python() {
        let header = format!("t={T}, v1={V1}");
        assert!(verify(BODY, Some(&header), SECRET, T, Some(300)).is_err());
    }
}
