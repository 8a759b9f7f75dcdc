//! Live notices: small "something happened" messages (an event was created, a delivery attempt
//! came back) for whoever watches, such as the dashboard's open pages and its `stripe listen`-like
//! tail.
//!
//! Watching must cost the API nothing when nobody watches. The count of subscribers is kept in
//! an atomic next to the channel, so the request path checks one atomic load ([`Live::watched`])
//! before it builds a notice: with no subscriber, no notice is built, nothing is allocated and the
//! channel's own lock is never touched. Notices are collected under the store lock and sent after
//! it is released.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::resources::event::EventType;
use crate::store::Store;
use crate::typed_ids::{EndpointId, EventId};
use crate::webhooks::log::{Attempt, DeliveryRecord, RecordStatus};

/// How many notices a slow subscriber may fall behind before it skips some (it is told how
/// many, and goes on).
const BACKLOG: usize = 1024;

/// Something that just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An event was created.
    Event {
        id: EventId,
        event_type: EventType,
        /// `data.object.id`.
        object_id: String,
        /// Simulator time.
        created: i64,
    },
    /// A delivery attempt of the log came back (or failed to connect).
    Attempt {
        event_id: EventId,
        event_type: EventType,
        endpoint_id: EndpointId,
        /// Simulator time of the attempt.
        at: i64,
        status_code: Option<u16>,
        latency_ms: u64,
        error: Option<String>,
        /// A resend asked for by a driver.
        manual: bool,
        /// Where the record stands after it.
        record_status: RecordStatus,
    },
    /// The clock was advanced (what fell due has run): simulator time is now `now`.
    Clock { now: i64 },
    /// A driver changed how webhooks are delivered (mode, faults, an endpoint, a secret): what,
    /// in a few words, at simulator time `at`.
    Webhooks { at: i64, change: String },
}

/// The broadcast of notices of one simulator.
#[derive(Debug)]
pub struct Live {
    sender: broadcast::Sender<Notice>,
    /// Subscribers now: the one number the request path reads.
    watchers: Arc<AtomicUsize>,
    /// Set when the server stops, so open streams end instead of holding the shutdown.
    closed: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            sender: broadcast::channel(BACKLOG).0,
            watchers: Arc::new(AtomicUsize::new(0)),
            closed: watch::channel(false).0,
        }
    }
}

impl Live {
    /// Whether anyone watches: one atomic load.
    #[inline]
    pub fn watched(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    pub fn subscribe(&self) -> Subscription {
        self.watchers.fetch_add(1, Ordering::Relaxed);
        Subscription {
            receiver: self.sender.subscribe(),
            watchers: self.watchers.clone(),
            closed: self.closed.subscribe(),
        }
    }

    /// Sends notices to every subscriber (none: they are dropped).
    pub fn send(&self, notices: Vec<Notice>) {
        for notice in notices {
            let _ = self.sender.send(notice);
        }
    }

    /// Ends every subscription: the server is stopping.
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }

    /// The notices of the events created since `mark` (a position in the events table).
    pub(crate) fn events_since(store: &Store, mark: usize) -> Vec<Notice> {
        store
            .events
            .iter_from(mark)
            .map(|(_, e)| Notice::Event {
                id: EventId::trusted(e.id.as_str()),
                event_type: e.event_type,
                object_id: e.object_id().to_string(),
                created: e.created,
            })
            .collect()
    }

    /// The notices of the attempts just made for `record`.
    pub(crate) fn attempts(record: &DeliveryRecord, attempts: &[Attempt]) -> Vec<Notice> {
        attempts
            .iter()
            .map(|a| Notice::Attempt {
                event_id: record.event_id.clone(),
                event_type: record.event_type,
                endpoint_id: record.endpoint_id.clone(),
                at: a.at,
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                error: a.error.clone(),
                manual: a.manual,
                record_status: record.status,
            })
            .collect()
    }
}

/// One watcher's feed of notices; dropping it stops the notices being built for it.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Notice>,
    watchers: Arc<AtomicUsize>,
    closed: watch::Receiver<bool>,
}

impl Subscription {
    /// The next notice; `None` once the simulator stops. A watcher that fell more than the
    /// backlog behind skips what it missed and goes on (a page reloads what it shows anyway).
    pub async fn next(&mut self) -> Option<Notice> {
        loop {
            if *self.closed.borrow() {
                return None;
            }
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(notice) => return Some(notice),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                changed = self.closed.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

/// What [`Subscription::drain`] found waiting.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// The latest notices, oldest first.
    pub notices: Vec<Notice>,
    /// How many came before them and were left out (lagged behind or over the limit).
    pub skipped: u64,
}

impl Subscription {
    /// Takes every notice already waiting, without waiting for more: the latest `keep` of them,
    /// and how many were left out. A watcher that can show only so many (a page) pays nothing
    /// for the rest: the channel skips what a lagging receiver missed without cloning it.
    pub fn drain(&mut self, keep: usize) -> Drained {
        let mut latest = std::collections::VecDeque::with_capacity(keep.min(BACKLOG));
        let mut skipped = 0;
        loop {
            match self.receiver.try_recv() {
                Ok(notice) => {
                    if latest.len() == keep {
                        latest.pop_front();
                        skipped += 1;
                    }
                    if keep > 0 {
                        latest.push_back(notice);
                    } else {
                        skipped += 1;
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(missed)) => skipped += missed,
                Err(_) => break,
            }
        }
        Drained {
            notices: latest.into(),
            skipped,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(n: u64) -> Notice {
        Notice::Event {
            id: EventId::trusted(format!("evt_{n}")),
            event_type: EventType::CheckoutSessionCompleted,
            object_id: "cs_1".into(),
            created: n as i64,
        }
    }

    #[test]
    fn nobody_watches_until_someone_subscribes_and_after_they_leave() {
        let live = Live::default();
        assert!(!live.watched());
        let subscription = live.subscribe();
        assert!(live.watched());
        drop(subscription);
        assert!(!live.watched());
    }

    #[tokio::test]
    async fn a_lagging_watcher_skips_what_it_missed_and_goes_on() {
        let live = Live::default();
        let mut subscription = live.subscribe();
        live.send((0..BACKLOG as u64 + 10).map(notice).collect());
        let first = subscription.next().await.expect("a notice");
        assert_eq!(first, notice(10), "the oldest ten were skipped");
    }

    #[test]
    fn a_drain_keeps_the_latest_and_counts_the_rest_lagged_ones_too() {
        let live = Live::default();
        let mut subscription = live.subscribe();
        assert_eq!(subscription.drain(50), Drained::default());
        live.send((0..120).map(notice).collect());
        let drained = subscription.drain(50);
        assert_eq!(drained.notices, (70..120).map(notice).collect::<Vec<_>>());
        assert_eq!(drained.skipped, 70);
        live.send((0..BACKLOG as u64 + 500).map(notice).collect());
        let drained = subscription.drain(50);
        assert_eq!(drained.notices.len(), 50);
        assert_eq!(drained.notices.last(), Some(&notice(BACKLOG as u64 + 499)));
        assert_eq!(
            drained.skipped,
            BACKLOG as u64 + 450,
            "lagged ones are counted"
        );
    }

    #[tokio::test]
    async fn closing_ends_every_subscription() {
        let live = Live::default();
        let mut subscription = live.subscribe();
        live.close();
        assert_eq!(subscription.next().await, None);
    }
}
