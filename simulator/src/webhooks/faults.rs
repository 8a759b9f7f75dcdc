//! Fault injection: what can go wrong with a delivery, applied to the next N attempts (or the
//! next N attempts for an event type or endpoint).
//!
//! Forgeries (`tamper`, `stale`, `wrong_secret`, `unsigned`, `bad_header`) replace the genuine
//! attempt: a correct receiver refuses them, the attempt counts as failed, and the genuine event
//! arrives later by retry, as it would after a real attacker's replay.

use serde::{Deserialize, Serialize};

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Deliver twice: at the same moment, or one after the other.
    Duplicate,
    /// The first attempt is lost on the way: it counts as failed and is retried.
    Drop,
    /// Hold the attempt back: by simulator seconds (it becomes due later) or wall milliseconds.
    Delay,
    /// Change the body after signing it.
    Tamper,
    /// Sign with a timestamp older than the 300 s tolerance (a replayed request).
    Stale,
    /// Sign with a secret the endpoint does not have.
    WrongSecret,
    /// Send no `Stripe-Signature` header.
    Unsigned,
    /// Send a malformed `Stripe-Signature` header.
    BadHeader,
}

impl FaultKind {
    /// Faults that make the request itself illegitimate.
    pub fn is_forgery(self) -> bool {
        matches!(
            self,
            FaultKind::Tamper
                | FaultKind::Stale
                | FaultKind::WrongSecret
                | FaultKind::Unsigned
                | FaultKind::BadHeader
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Duplicate => "duplicate",
            FaultKind::Drop => "drop",
            FaultKind::Delay => "delay",
            FaultKind::Tamper => "tamper",
            FaultKind::Stale => "stale",
            FaultKind::WrongSecret => "wrong_secret",
            FaultKind::Unsigned => "unsigned",
            FaultKind::BadHeader => "bad_header",
        }
    }
}

/// How duplicates are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateMode {
    #[default]
    Concurrent,
    Sequential,
}

/// A fault waiting to be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub fault: FaultKind,
    /// How many more attempts it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Only attempts delivering this event type (`*` wildcards allowed).
    #[serde(default)]
    pub event_type: Option<String>,
    /// Only attempts to this endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub duplicate_mode: DuplicateMode,
    /// For `delay`: simulator seconds.
    #[serde(default)]
    pub delay_seconds: Option<i64>,
    /// For `delay`: wall-clock milliseconds.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    pub fn new(fault: FaultKind) -> Self {
        FaultRule {
            fault,
            count: 1,
            event_type: None,
            endpoint: None,
            duplicate_mode: DuplicateMode::default(),
            delay_seconds: None,
            delay_ms: None,
        }
    }

    pub fn matches(&self, event_type: crate::resources::event::EventType, endpoint: &str) -> bool {
        self.count > 0
            && self
                .event_type
                .as_deref()
                .is_none_or(|p| event_type.matches(p))
            && self.endpoint.as_deref().is_none_or(|e| e == endpoint)
    }
}

/// Takes the first rule matching an attempt, using up one of its count.
pub fn take_matching(
    rules: &mut Vec<FaultRule>,
    event_type: crate::resources::event::EventType,
    endpoint: &str,
) -> Option<FaultRule> {
    let index = rules.iter().position(|r| r.matches(event_type, endpoint))?;
    let rule = &mut rules[index];
    rule.count -= 1;
    let taken = FaultRule {
        count: 1,
        ..rule.clone()
    };
    if rule.count == 0 {
        rules.remove(index);
    }
    Some(taken)
}

/// The body as a tampering attacker would send it: an unpaid session claims to be paid, or, if
/// there is nothing so tempting, the body gains a byte.
pub fn tamper(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    if text.contains("\"payment_status\":\"unpaid\"") {
        return text
            .replacen(
                "\"payment_status\":\"unpaid\"",
                "\"payment_status\":\"paid\"",
                1,
            )
            .into_bytes();
    }
    if text.contains("\"refunded\":false") {
        return text
            .replacen("\"refunded\":false", "\"refunded\":true", 1)
            .into_bytes();
    }
    let mut changed = body.to_vec();
    changed.push(b' ');
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::event::EventType;

    #[test]
    fn rules_apply_to_as_many_attempts_as_counted() {
        let mut rules = vec![FaultRule {
            count: 2,
            ..FaultRule::new(FaultKind::Drop)
        }];
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_1").is_some());
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_1").is_some());
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_1").is_none());
    }

    #[test]
    fn rules_filter_by_event_type_and_endpoint() {
        let mut rules = vec![FaultRule {
            event_type: Some("checkout.session.*".into()),
            endpoint: Some("we_2".into()),
            ..FaultRule::new(FaultKind::Stale)
        }];
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_2").is_none());
        assert!(take_matching(&mut rules, EventType::CheckoutSessionCompleted, "we_1").is_none());
        assert!(take_matching(&mut rules, EventType::CheckoutSessionCompleted, "we_2").is_some());
    }

    #[test]
    fn tampering_turns_unpaid_into_paid() {
        let body = br#"{"payment_status":"unpaid"}"#;
        assert_eq!(tamper(body), br#"{"payment_status":"paid"}"#.to_vec());
        assert_ne!(tamper(b"{}"), b"{}".to_vec());
    }
}
