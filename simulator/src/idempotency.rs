//! Idempotency keys: what each remembers, and when it is forgotten.
//!
//! Stripe keeps a key for 24 hours after its first use; so does the simulator, in simulator
//! time, so a simulator left running for days does not keep every POST's answer for ever. Keys
//! are expired oldest first from a queue in order of first use, which costs nothing while no key
//! is due.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How long a key is remembered after its first use (simulator seconds), as on Stripe.
pub const IDEMPOTENCY_TTL: i64 = 24 * 3600;

/// What an idempotency key remembers: the request it was first used with and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdempotencyRecord {
    InFlight {
        fingerprint: String,
    },
    Done {
        fingerprint: String,
        status: u16,
        #[serde(with = "base64_bytes")]
        body: Vec<u8>,
    },
}

/// A key's record and the simulator time of its first use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub first_used: i64,
    pub record: IdempotencyRecord,
}

/// Every idempotency key in use, expiring 24 hours after first use.
#[derive(Debug, Default)]
pub struct IdempotencyKeys {
    keys: HashMap<String, Kept>,
    /// Keys in order of first use, for expiry from the front. A key removed and used again is
    /// queued again; the stale entry is skipped when it comes up.
    order: VecDeque<(i64, String)>,
    /// The simulator time of the operation running now: the store sets it before each one, so
    /// callers insert without passing a time.
    pub(crate) now: i64,
    /// Keys written or removed since the state file was last told; `None` without one.
    changes: Option<Vec<String>>,
}

impl IdempotencyKeys {
    pub fn get(&self, key: &str) -> Option<&IdempotencyRecord> {
        self.keys.get(key).map(|kept| &kept.record)
    }

    /// Records `key`'s answer (or that it is in flight); the time of first use is kept.
    pub fn insert(&mut self, key: String, record: IdempotencyRecord) {
        if let Some(changes) = &mut self.changes {
            changes.push(key.clone());
        }
        match self.keys.get_mut(&key) {
            Some(kept) => kept.record = record,
            None => {
                self.order.push_back((self.now, key.clone()));
                self.keys.insert(
                    key,
                    Kept {
                        first_used: self.now,
                        record,
                    },
                );
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<IdempotencyRecord> {
        let kept = self.keys.remove(key)?;
        if let Some(changes) = &mut self.changes {
            changes.push(key.to_string());
        }
        Some(kept.record)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets every key first used at or before `now - IDEMPOTENCY_TTL`.
    pub fn expire(&mut self, now: i64) {
        let cutoff = now - IDEMPOTENCY_TTL;
        while let Some((first_used, _)) = self.order.front() {
            if *first_used > cutoff {
                break;
            }
            let Some((first_used, key)) = self.order.pop_front() else {
                break;
            };
            if self
                .keys
                .get(&key)
                .is_some_and(|k| k.first_used == first_used)
            {
                self.remove(&key);
            }
        }
        if self.order.is_empty() {
            self.order.shrink_to_fit();
        }
    }

    /// Starts remembering changes; with `everything`, every key held now counts as changed.
    pub(crate) fn track_changes(&mut self, everything: bool) {
        self.changes = Some(if everything {
            self.keys.keys().cloned().collect()
        } else {
            Vec::new()
        });
    }

    /// Keys changed since the last call, each with its record or `None` if it is gone.
    pub(crate) fn take_changes(&mut self) -> Vec<(String, Option<Kept>)> {
        let Some(changes) = &mut self.changes else {
            return Vec::new();
        };
        let mut keys = std::mem::take(changes);
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|key| {
                let kept = self.keys.get(&key).cloned();
                (key, kept)
            })
            .collect()
    }

    /// Keys read back from a state file. A key still in flight when the simulator stopped never
    /// got its answer, so it is forgotten: a retry with it runs the request again.
    pub(crate) fn restore(&mut self, mut rows: Vec<(String, Kept)>) {
        rows.retain(|(_, kept)| matches!(kept.record, IdempotencyRecord::Done { .. }));
        rows.sort_by_key(|(_, kept)| kept.first_used);
        for (key, kept) in rows {
            self.order.push_back((kept.first_used, key.clone()));
            self.keys.insert(key, kept);
        }
    }
}

/// Response bodies as base64 in the state file (a JSON array of numbers would be four times
/// the size).
mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(body: &str) -> IdempotencyRecord {
        IdempotencyRecord::Done {
            fingerprint: "POST /v1/customers".into(),
            status: 200,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_key_is_forgotten_a_day_after_its_first_use() {
        let mut keys = IdempotencyKeys {
            now: 1_000,
            ..Default::default()
        };
        keys.insert("k".into(), done("{}"));
        keys.now = 1_000 + 3600;
        keys.insert("k".into(), done("{\"again\":1}"));
        keys.expire(1_000 + IDEMPOTENCY_TTL - 1);
        assert!(keys.get("k").is_some());
        keys.expire(1_000 + IDEMPOTENCY_TTL);
        assert!(keys.get("k").is_none());
        assert!(keys.is_empty());
    }

    #[test]
    fn a_key_removed_and_used_again_keeps_its_new_time() {
        let mut keys = IdempotencyKeys::default();
        keys.insert("k".into(), done("{}"));
        keys.remove("k");
        keys.now = 500;
        keys.insert("k".into(), done("{}"));
        keys.expire(IDEMPOTENCY_TTL + 1);
        assert!(
            keys.get("k").is_some(),
            "the stale queue entry must not expire it"
        );
    }

    #[test]
    fn keys_in_flight_are_not_restored() {
        let mut keys = IdempotencyKeys::default();
        let in_flight = Kept {
            first_used: 0,
            record: IdempotencyRecord::InFlight {
                fingerprint: "f".into(),
            },
        };
        let answered = Kept {
            first_used: 0,
            record: done("{}"),
        };
        keys.restore(vec![("a".into(), in_flight), ("b".into(), answered)]);
        assert!(keys.get("a").is_none());
        assert!(keys.get("b").is_some());
    }
}
