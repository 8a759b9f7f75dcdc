//! Fault injection: what can go wrong with a delivery, applied to the next N attempts (or the
//! next N attempts for an event type or endpoint).
//!
//! Forgeries (`tamper`, `stale`, `wrong_secret`, `unsigned`, `bad_header`) replace the genuine
//! attempt: a correct receiver refuses them, the attempt counts as failed, and the genuine event
//! arrives later by retry, as it would after a real attacker's replay.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::resources::event::EventType;
use crate::typed_ids::EndpointId;
use crate::vocabulary::Vocabulary;

/// A request that did not come from Stripe, or was changed on the way: a correct receiver
/// refuses it with a 4xx and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Forgery {
    /// The body changed after it was signed.
    Tamper,
    /// Signed with a timestamp older than the 300 s tolerance (a replayed request).
    Stale,
    /// Signed with a secret the endpoint does not have.
    WrongSecret,
    /// No `Stripe-Signature` header.
    Unsigned,
    /// A malformed `Stripe-Signature` header.
    BadHeader,
}

impl Vocabulary for Forgery {
    const WHAT: &'static str = "forgery";
    const ALL: &'static [Self] = &[
        Forgery::Tamper,
        Forgery::Stale,
        Forgery::WrongSecret,
        Forgery::Unsigned,
        Forgery::BadHeader,
    ];

    fn as_str(&self) -> &'static str {
        match self {
            Forgery::Tamper => "tamper",
            Forgery::Stale => "stale",
            Forgery::WrongSecret => "wrong_secret",
            Forgery::Unsigned => "unsigned",
            Forgery::BadHeader => "bad_header",
        }
    }
}

/// What can go wrong with a delivery: a transport fault, or a forgery in place of the genuine
/// request. On the wire (control API, scenario files) both are one flat word: `"drop"`,
/// `"tamper"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// The same delivery sent twice: at the same moment, or one after the other.
    Duplicate,
    /// The attempt is lost on the way: it counts as failed and is retried.
    Drop,
    /// The attempt is held back: by simulator seconds (it becomes due later) or wall milliseconds.
    Delay,
    /// A forged request replaces the genuine attempt, which arrives later by retry.
    Forge(Forgery),
}

impl Vocabulary for FaultKind {
    const WHAT: &'static str = "fault";
    const ALL: &'static [Self] = &[
        FaultKind::Duplicate,
        FaultKind::Drop,
        FaultKind::Delay,
        FaultKind::Forge(Forgery::Tamper),
        FaultKind::Forge(Forgery::Stale),
        FaultKind::Forge(Forgery::WrongSecret),
        FaultKind::Forge(Forgery::Unsigned),
        FaultKind::Forge(Forgery::BadHeader),
    ];

    fn as_str(&self) -> &'static str {
        match self {
            FaultKind::Duplicate => "duplicate",
            FaultKind::Drop => "drop",
            FaultKind::Delay => "delay",
            FaultKind::Forge(forgery) => forgery.as_str(),
        }
    }
}

impl FaultKind {
    /// The forgery, for faults that make the request itself illegitimate.
    pub fn forgery(self) -> Option<Forgery> {
        match self {
            FaultKind::Forge(forgery) => Some(forgery),
            _ => None,
        }
    }

    pub fn is_forgery(self) -> bool {
        self.forgery().is_some()
    }
}

impl From<Forgery> for FaultKind {
    fn from(forgery: Forgery) -> Self {
        FaultKind::Forge(forgery)
    }
}

/// How a duplicated delivery is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DuplicateMode {
    /// Both copies at the same moment: the receiver's handlers race.
    #[default]
    Concurrent,
    /// The second copy once the first was answered.
    Sequential,
}

impl Vocabulary for DuplicateMode {
    const WHAT: &'static str = "duplicate mode";
    const ALL: &'static [Self] = &[DuplicateMode::Concurrent, DuplicateMode::Sequential];

    fn as_str(&self) -> &'static str {
        match self {
            DuplicateMode::Concurrent => "concurrent",
            DuplicateMode::Sequential => "sequential",
        }
    }
}

crate::vocabulary::serde_as_word!(Forgery);
crate::vocabulary::serde_as_word!(FaultKind);
crate::vocabulary::serde_as_word!(DuplicateMode);

/// A fault waiting to be applied to the next matching delivery attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub fault: FaultKind,
    /// How many more attempts it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Only attempts delivering this event type (`*` and `prefix.*` wildcards allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Only attempts to this endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointId>,
    /// For `duplicate`: how the two copies are sent (concurrent by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_mode: Option<DuplicateMode>,
    /// For `delay`: simulator seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i64>,
    /// For `delay`: wall-clock milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

/// The longest wall-clock delay a fault may hold an attempt back (it occupies a delivery slot).
pub const MAX_DELAY_MS: u64 = 60_000;

impl Fault {
    pub fn new(fault: impl Into<FaultKind>) -> Self {
        Fault {
            fault: fault.into(),
            count: 1,
            event_type: None,
            endpoint: None,
            duplicate_mode: None,
            delay_seconds: None,
            delay_ms: None,
        }
    }

    /// Checks that the fault means something: every driver (control API, Rust handle, scenario
    /// files) goes through here, so a typo is an error and never a silent no-op.
    pub fn validate(&self) -> ApiResult<()> {
        if self.count == 0 {
            return Err(ApiError::invalid(
                "count must be at least 1.",
                Some("count"),
            ));
        }
        if let Some(pattern) = &self.event_type {
            EventType::check_pattern(pattern)
                .map_err(|m| ApiError::invalid(m, Some("event_type")))?;
        }
        let is_delay = self.fault == FaultKind::Delay;
        if is_delay && self.delay_seconds.is_none() && self.delay_ms.is_none() {
            return Err(ApiError::invalid(
                "A delay fault needs delay_seconds (simulator time) or delay_ms (wall time).",
                Some("delay_seconds"),
            ));
        }
        if !is_delay && (self.delay_seconds.is_some() || self.delay_ms.is_some()) {
            return Err(ApiError::invalid(
                format!(
                    "delay_seconds and delay_ms apply to delay faults only, not to {}.",
                    self.fault.as_str()
                ),
                Some("delay_seconds"),
            ));
        }
        if self
            .delay_seconds
            .is_some_and(|s| !(1..=10 * 365 * 24 * 3600).contains(&s))
        {
            return Err(ApiError::invalid(
                "delay_seconds must be between 1 and ten years.",
                Some("delay_seconds"),
            ));
        }
        if self.delay_ms.is_some_and(|ms| ms > MAX_DELAY_MS) {
            return Err(ApiError::invalid(
                format!("delay_ms must be at most {MAX_DELAY_MS}."),
                Some("delay_ms"),
            ));
        }
        if self.duplicate_mode.is_some() && self.fault != FaultKind::Duplicate {
            return Err(ApiError::invalid(
                format!(
                    "duplicate_mode applies to duplicate faults only, not to {}.",
                    self.fault.as_str()
                ),
                Some("duplicate_mode"),
            ));
        }
        Ok(())
    }

    pub fn matches(&self, event_type: EventType, endpoint: &str) -> bool {
        self.count > 0
            && self
                .event_type
                .as_deref()
                .is_none_or(|p| event_type.matches(p))
            && self
                .endpoint
                .as_ref()
                .is_none_or(|e| e.as_str() == endpoint)
    }
}

/// Takes the first rule matching an attempt, using up one of its count.
pub fn take_matching(
    rules: &mut Vec<Fault>,
    event_type: EventType,
    endpoint: &str,
) -> Option<Fault> {
    let index = rules.iter().position(|r| r.matches(event_type, endpoint))?;
    let rule = &mut rules[index];
    rule.count -= 1;
    let taken = Fault {
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

    #[test]
    fn rules_apply_to_as_many_attempts_as_counted() {
        let mut rules = vec![Fault {
            count: 2,
            ..Fault::new(FaultKind::Drop)
        }];
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_1").is_some());
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_1").is_some());
        assert!(take_matching(&mut rules, EventType::ChargeRefunded, "we_1").is_none());
    }

    #[test]
    fn rules_filter_by_event_type_and_endpoint() {
        let mut rules = vec![Fault {
            event_type: Some("checkout.session.*".into()),
            endpoint: Some(EndpointId::parse("we_2").unwrap()),
            ..Fault::new(Forgery::Stale)
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

    #[test]
    fn fault_words_parse_flat_and_unknown_words_list_the_known_ones() {
        let tamper: FaultKind = serde_json::from_str("\"tamper\"").unwrap();
        assert_eq!(tamper, FaultKind::Forge(Forgery::Tamper));
        assert_eq!(serde_json::to_string(&tamper).unwrap(), "\"tamper\"");
        let err = serde_json::from_str::<FaultKind>("\"tampr\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown fault 'tampr'"), "{err}");
        assert!(err.contains("duplicate, drop, delay, tamper"), "{err}");
        let err = serde_json::from_str::<DuplicateMode>("\"sequental\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("concurrent, sequential"), "{err}");
    }

    #[test]
    fn faults_that_would_do_nothing_are_refused() {
        assert!(Fault::new(FaultKind::Delay).validate().is_err());
        assert!(Fault {
            count: 0,
            ..Fault::new(FaultKind::Drop)
        }
        .validate()
        .is_err());
        let typo = Fault {
            event_type: Some("checkout.sesion.completed".into()),
            ..Fault::new(FaultKind::Drop)
        };
        assert!(typo.validate().is_err());
        let mode_on_drop = Fault {
            duplicate_mode: Some(DuplicateMode::Sequential),
            ..Fault::new(FaultKind::Drop)
        };
        assert!(mode_on_drop.validate().is_err());
        let fine = Fault {
            event_type: Some("checkout.session.*".into()),
            delay_seconds: Some(600),
            ..Fault::new(FaultKind::Delay)
        };
        assert!(fine.validate().is_ok());
    }
}
