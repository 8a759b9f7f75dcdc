//! Typed ids for the public surface: a `SessionId` can only hold a `cs_…` id, so a driver can
//! not hand a PaymentIntent id to an operation that wants a session (async-stripe's `ids.rs` does
//! the same for the whole API).
//!
//! Inside the store, objects keep their ids as plain strings (they are parsed once, at the edge);
//! these types are for values that cross the library boundary: the [`crate::Simulator`] handle,
//! its views and the delivery log.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string that is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a {kind} id (they start with {prefix})")]
pub struct InvalidId {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Checks the prefix and that the rest is a non-empty run of `[A-Za-z0-9_]`.
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                let valid = value
                    .strip_prefix($prefix)
                    .is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    });
                if valid {
                    Ok($name(value.to_string()))
                } else {
                    Err(InvalidId {
                        kind: $kind,
                        prefix: $prefix,
                        value: value.chars().take(80).collect(),
                    })
                }
            }

            /// An id the store made itself, so it is known to be well-formed.
            #[allow(dead_code)] // not every kind is handed out by the store yet
            pub(crate) fn trusted(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, InvalidId> {
                $name::parse(value)
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// A Checkout Session (`cs_test_…`).
    SessionId,
    "Checkout Session",
    "cs_"
);
typed_id!(
    /// A PaymentIntent (`pi_…`).
    PaymentIntentId,
    "PaymentIntent",
    "pi_"
);
typed_id!(
    /// A charge (`ch_…`).
    ChargeId,
    "charge",
    "ch_"
);
typed_id!(
    /// A refund (`re_…`).
    RefundId,
    "refund",
    "re_"
);
typed_id!(
    /// An event (`evt_…`).
    EventId,
    "event",
    "evt_"
);
typed_id!(
    /// A payment link (`plink_…`).
    PaymentLinkId,
    "payment link",
    "plink_"
);
typed_id!(
    /// A webhook endpoint (`we_…`).
    EndpointId,
    "webhook endpoint",
    "we_"
);
typed_id!(
    /// A record of the delivery log (`wd_…`): one event to one endpoint, with its attempts.
    DeliveryId,
    "delivery record",
    "wd_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_with_their_own_prefix() {
        assert!(SessionId::parse("cs_test_a1B2").is_ok());
        assert!(EventId::parse("evt_123").is_ok());
        let err = SessionId::parse("pi_123").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'pi_123' is not a Checkout Session id (they start with cs_)"
        );
        assert!(EndpointId::parse("we_").is_err());
        assert!(ChargeId::parse("ch_1 OR 1=1").is_err());
    }

    #[test]
    fn ids_serialize_as_plain_strings_and_check_on_the_way_in() {
        let id = EventId::parse("evt_1").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"evt_1\"");
        assert!(serde_json::from_str::<EventId>("\"cs_1\"").is_err());
        assert_eq!(serde_json::from_str::<EventId>("\"evt_1\"").unwrap(), id);
    }
}
