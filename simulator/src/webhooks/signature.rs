//! Stripe's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, where each
//! `v1` is HMAC-SHA256 over `"<t>.<raw body>"`, keyed by the whole `whsec_…` string, in
//! lowercase hex. During a secret roll every active secret signs, the current one last (some
//! SDKs check only the last `v1`).
//!
//! The timestamp is a parameter: deliveries pass the wall-clock time of each attempt, tests pass
//! fixed values.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The `v1` signature of `body` at time `t` with `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The full header value: one `v1` per secret, in the order given (put the current secret last).
pub fn header(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut value = format!("t={t}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&sign(secret, t, body));
    }
    value
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no Stripe-Signature header value")]
    Missing,
    #[error("unable to extract timestamp and signatures from header")]
    Malformed,
    #[error("no signatures found matching the expected signature for payload")]
    NoMatch,
    #[error("timestamp outside the tolerance zone ({0})")]
    TooOld(i64),
}

/// Verifies a header the way the official SDKs do: any `v1` may match, only `v1` counts, and
/// `now - t > tolerance` is refused (a tolerance of 0 disables the check).
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), VerifyError> {
    if header.is_empty() {
        return Err(VerifyError::Missing);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let t = timestamp.ok_or(VerifyError::Malformed)?;
    if signatures.is_empty() {
        return Err(VerifyError::NoMatch);
    }
    let expected = sign(secret, t, body);
    if !signatures
        .iter()
        .any(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
    {
        return Err(VerifyError::NoMatch);
    }
    // Saturating: a signed `t` far from `now` (i64::MIN) must be "too old", not an overflow
    // (found by fuzzing).
    if tolerance > 0 && now.saturating_sub(t) > tolerance {
        return Err(VerifyError::TooOld(t));
    }
    Ok(())
}

/// Equality whose time depends on the lengths only (also the dashboard's key and login checks).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_0123456789abcdef";
    const ROLLED: &str = "whsec_rolled_secret_fedcba9876543210";
    const BODY: &[u8] =
        br#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}"#;

    #[test]
    fn signature_matches_the_fact_sheet_vector() {
        assert_eq!(
            sign(SECRET, 1_700_000_000, BODY),
            "31f29de00c8d45913808e9d255e3e875d6eb7e0b59870602fc4b96dbcf0861b0"
        );
        assert_eq!(
            header(&[SECRET], 1_700_000_000, BODY),
            "t=1700000000,v1=31f29de00c8d45913808e9d255e3e875d6eb7e0b59870602fc4b96dbcf0861b0"
        );
    }

    #[test]
    fn the_whsec_prefix_is_part_of_the_key() {
        assert_eq!(
            sign("test_secret_0123456789abcdef", 1_700_000_000, BODY),
            "a019bca4a7e111caf18bac3482d8e5a91f31ac14e44e18d843ee24f93f488967"
        );
    }

    #[test]
    fn a_rolled_secret_adds_a_second_v1_with_the_current_secret_last() {
        assert_eq!(
            header(&[SECRET, ROLLED], 1_700_000_000, BODY),
            "t=1700000000,v1=31f29de00c8d45913808e9d255e3e875d6eb7e0b59870602fc4b96dbcf0861b0,v1=15952e5b028ce1c5eae105766d41a0e9d5300315d7e78872fc82a51bd8ad4fc3"
        );
    }

    #[test]
    fn verification_accepts_any_v1_and_rejects_old_timestamps() {
        let header_value = header(&[ROLLED, SECRET], 1_700_000_000, BODY);
        assert_eq!(
            verify(&header_value, BODY, SECRET, 1_700_000_100, 300),
            Ok(())
        );
        assert_eq!(
            verify(&header_value, BODY, ROLLED, 1_700_000_100, 300),
            Ok(())
        );
        assert_eq!(
            verify(&header_value, BODY, SECRET, 1_700_000_301, 300),
            Err(VerifyError::TooOld(1_700_000_000))
        );
        assert_eq!(
            verify(&header_value, b"{}", SECRET, 1_700_000_000, 300),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify("v1=abc", BODY, SECRET, 0, 300),
            Err(VerifyError::Malformed)
        );
        assert_eq!(verify("", BODY, SECRET, 0, 300), Err(VerifyError::Missing));
    }

    #[test]
    fn a_genuine_signature_at_the_far_end_of_time_is_too_old_not_an_overflow() {
        let header_value = header(&[SECRET], i64::MIN, BODY);
        assert_eq!(
            verify(&header_value, BODY, SECRET, 1_700_000_000, 300),
            Err(VerifyError::TooOld(i64::MIN))
        );
    }
}
