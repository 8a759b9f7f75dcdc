//! The control layer: every operation a test driver can do to a simulator, in one place, taking
//! and returning typed values and validating them once.
//!
//! Two thin adapters sit on top of it: the [`crate::Simulator`] handle (Rust drivers such as
//! stripe-harness, through `Deref`) and the `/_sim` routes (drivers in any language, JSON in and
//! out). Neither adds behaviour of its own, so the two can never disagree about what a fault or a
//! release means. Below it are the store (pure, synchronous domain logic) and the webhook
//! dispatcher (the only part that waits on the network).
//!
//! Operations that only touch the store are synchronous: they take the store lock for the few
//! microseconds the operation lasts. Those that send webhooks (`release`, `resend`, `deliver`,
//! `flush`) are `async` and never hold the lock while they wait.

mod deliveries;
mod payments;
mod views;

use std::sync::Arc;

use crate::clock::ClockMode;
use crate::error::{ApiError, ApiResult};
use crate::shared::Shared;
use crate::typed_ids::{InvalidId, PaymentLinkId};

pub use deliveries::{
    Delivery, DeliveryBody, DeliveryFilter, DeliveryPage, DeliveryTarget, Release,
    MAX_DELIVERY_PAGE, MAX_ROLL_OVERLAP,
};
pub use views::{
    CheckoutSessionView, ClockState, DeliveryStatus, EventView, PaymentLinkInfo, RolledSecret,
    SessionDetail, SimInfo, StorageInfo, WebhookEndpointInfo,
};

/// Ten years: far enough for any retry schedule, near enough to keep timestamps sane.
pub const MAX_ADVANCE: i64 = 10 * 365 * 24 * 3600;

/// Every operation on one simulator. Cheap to clone; reached through the [`crate::Simulator`]
/// handle.
#[derive(Debug, Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl Control {
    pub(crate) fn new(shared: Arc<Shared>) -> Control {
        Control { shared }
    }

    /// `http://127.0.0.1:PORT`: give this to an SDK as its API base.
    pub fn base_url(&self) -> &str {
        &self.shared.config.base_url
    }

    /// The dashboard's address: `http://127.0.0.1:PORT/_sim/dashboard`.
    pub fn dashboard_url(&self) -> String {
        format!("{}{}", self.shared.config.base_url, crate::dashboard::BASE)
    }

    /// The only API key the simulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The API version objects and events are rendered at by default.
    pub fn api_version(&self) -> &str {
        &self.shared.config.api_version
    }

    /// The seed every id and random choice flows from.
    pub fn seed(&self) -> u64 {
        self.shared.config.seed
    }

    /// Settings and the seeded payment links.
    pub fn info(&self) -> SimInfo {
        let config = &self.shared.config;
        SimInfo {
            base_url: config.base_url.clone(),
            api_version: config.api_version.clone(),
            clock: self.shared.clock.mode(),
            seed: config.seed,
            settlement_delay: config.settlement_delay,
            refund_settlement_delay: config.refund_settlement_delay,
            storage: self.shared.with_store(|store, _| StorageInfo {
                objects: store.object_count(),
                max_objects: config.retention.max_objects,
                events: store.events.len(),
                delivery_records: store.deliveries.len(),
                max_records: config.retention.max_records,
                retention_days: config.retention.days,
                events_dropped: store.events_dropped,
                delivery_records_dropped: store.deliveries.dropped,
                idempotency_keys: store.idempotency.len(),
                state_file: self
                    .shared
                    .persist
                    .as_ref()
                    .map(|p| p.path().display().to_string()),
            }),
            payment_links: self.shared.with_store(|store, _| {
                store
                    .seeded_links
                    .iter()
                    .filter_map(|(key, id)| {
                        let link = store.payment_links.get(id)?;
                        Some((
                            key.clone(),
                            PaymentLinkInfo {
                                id: PaymentLinkId::trusted(id.as_str()),
                                url: link.url(&store.config),
                            },
                        ))
                    })
                    .collect()
            }),
        }
    }

    /// The id and URL of a payment link from the seed file, by its key (`"lifetime"`).
    pub fn seeded_link(&self, key: &str) -> Option<PaymentLinkInfo> {
        self.info().payment_links.remove(key)
    }

    /// A feed of what happens from now on: each event as it is created and each delivery
    /// attempt as it comes back (what the dashboard's live pages and tail show). While no
    /// subscription exists, no notice is built.
    pub fn subscribe(&self) -> crate::live::Subscription {
        self.shared.live.subscribe()
    }

    /// Simulator time, unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// The clock: now, its mode, and when the next scheduled job falls due.
    pub fn clock(&self) -> ClockState {
        self.shared.with_store(|store, now| ClockState {
            now,
            mode: self.shared.clock.mode(),
            next_job_at: store.next_due(),
        })
    }

    /// Moves simulator time forward by `seconds` (0 to ten years: the clock never goes back) and
    /// runs everything that fell due, in time order: settlements, expiries, webhook retries.
    /// Returns the new time.
    pub fn advance(&self, seconds: i64) -> ApiResult<i64> {
        if !(0..=MAX_ADVANCE).contains(&seconds) {
            return Err(ApiError::invalid(
                format!("seconds must be between 0 and {MAX_ADVANCE}: the clock never goes back."),
                Some("seconds"),
            ));
        }
        Ok(self.shared.advance_clock(seconds))
    }

    /// Whether the clock moves on its own or only when advanced.
    pub fn clock_mode(&self) -> ClockMode {
        self.shared.clock.mode()
    }

    /// The state file (`--state`), and what it held when the simulator started.
    pub fn state_file(&self) -> Option<(&std::path::Path, crate::persist::Restored)> {
        let persist = self.shared.persist.as_ref()?;
        Some((persist.path(), persist.restored))
    }

    /// Waits until every change so far is in the state file (at once without one). HTTP
    /// requests wait for their own changes; a Rust driver that wants the same calls this.
    pub async fn sync_state(&self) -> ApiResult<()> {
        self.shared
            .flush_state()
            .await
            .map_err(ApiError::state_not_saved)
    }

    /// Commits what is queued and releases the state file (after the server stopped).
    pub(crate) async fn close_state(&self) {
        if let Some(persist) = &self.shared.persist {
            // The id stream moves on every request; write where it stands, so a restart goes on
            // from exactly here.
            self.shared.with_store(|store, _| {
                persist.capture_meta(store, &self.shared.clock);
            });
            let _ = persist.flush().await;
            persist.close();
        }
    }

    /// Forgets every object, event, delivery and idempotency key and re-applies the seed file
    /// and the start-up webhook endpoints; ids restart from `seed` (the simulator's own when
    /// `None`). The clock keeps its time. With a state file, the file is emptied too.
    pub fn reset(&self, seed: Option<u64>) -> ApiResult<u64> {
        let seed = seed.unwrap_or(self.shared.config.seed);
        self.shared
            .reset_with_seed(seed)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(seed)
    }
}

/// Reads an id given by a driver; one of the wrong kind is as unknown as a missing object.
pub(crate) fn parse_id<T>(
    value: &str,
    parse: impl Fn(&str) -> Result<T, InvalidId>,
    resource: &str,
    param: &str,
) -> ApiResult<T> {
    parse(value).map_err(|_| ApiError::no_such(resource, value, param))
}
