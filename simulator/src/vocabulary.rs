//! The words that the control API's JSON, the scenario files of stripe-harness and its property
//! model share: fault kinds, forgeries, duplicate modes, release orders, delivery modes, event
//! types. Each is an enum that reads and writes itself as one snake_case word, and an unknown
//! word is an error that lists the known ones, in every entry point (JSON, TOML, the Rust API).

/// An enum spelled as a closed set of words.
pub trait Vocabulary: Sized + Copy + 'static {
    /// What the word names, for messages ("fault", "release order").
    const WHAT: &'static str;
    /// Every value, in the order messages list them.
    const ALL: &'static [Self];

    fn as_str(&self) -> &'static str;

    /// The value spelled `word`, or an error that lists every known word.
    fn parse_word(word: &str) -> Result<Self, UnknownWord> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == word)
            .ok_or_else(|| unknown_value(Self::WHAT, word, Self::ALL.iter().map(|v| v.as_str())))
    }
}

/// A word that is not in the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{word}'; known: {known}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
    pub known: String,
}

/// The error for `word`, listing `known`.
pub fn unknown_value<'a>(
    what: &'static str,
    word: &str,
    known: impl Iterator<Item = &'a str>,
) -> UnknownWord {
    UnknownWord {
        what,
        word: word.chars().take(60).collect(),
        known: known.collect::<Vec<_>>().join(", "),
    }
}

/// `Serialize`, `Deserialize` and `Display` as the value's word.
macro_rules! serde_as_word {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($crate::vocabulary::Vocabulary::as_str(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let word = String::deserialize(deserializer)?;
                <$ty as $crate::vocabulary::Vocabulary>::parse_word(&word)
                    .map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::vocabulary::Vocabulary::as_str(self))
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::vocabulary::UnknownWord;
            fn from_str(word: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::vocabulary::Vocabulary>::parse_word(word)
            }
        }
    };
}

pub(crate) use serde_as_word;
