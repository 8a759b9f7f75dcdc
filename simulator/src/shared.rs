//! The state shared by every connection of one simulator.
//!
//! A std `Mutex` guards the [`Store`]: every operation on it is synchronous and short (no I/O,
//! no `.await` while the guard lives), so an async mutex would only add overhead. Handlers lock,
//! run one operation, render, and unlock before answering; webhook attempts are built under the
//! lock and sent after it is released.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::clock::Clock;
use crate::config::SimConfig;
use crate::params::Metadata;
use crate::resources::webhook_endpoint::EndpointSpec;
use crate::seed::{SeedError, SeedFile};
use crate::store::Store;

#[derive(Debug)]
pub struct Shared {
    store: Mutex<Store>,
    pub clock: Clock,
    pub config: SimConfig,
    /// Applied at start and after every reset.
    pub seed: SeedFile,
    /// Endpoints given at start (`--forward-to`), re-created with the same secret on reset.
    pub initial_endpoints: Vec<EndpointSpec>,
    /// The client that delivers webhooks: no redirects followed, as Stripe counts 3xx as failure.
    pub http: reqwest::Client,
    /// Wakes the delivery loop when work became due.
    pub wake: Notify,
    /// Signalled after every delivery attempt, for callers waiting until deliveries settle.
    pub settled: Notify,
    /// Bounds deliveries in flight.
    pub delivery_permits: Semaphore,
}

impl Shared {
    /// A simulator's state with the seed file applied and the initial endpoints created.
    pub fn new(
        config: SimConfig,
        clock: Clock,
        seed: SeedFile,
        initial_endpoints: Vec<EndpointSpec>,
    ) -> Result<Self, SeedError> {
        let store = Self::fresh_store(&config, &clock, &seed, &initial_endpoints)?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Ok(Shared {
            store: Mutex::new(store),
            delivery_permits: Semaphore::new(config.delivery_concurrency.max(1)),
            clock,
            config,
            seed,
            initial_endpoints,
            http,
            wake: Notify::new(),
            settled: Notify::new(),
        })
    }

    fn fresh_store(
        config: &SimConfig,
        clock: &Clock,
        seed: &SeedFile,
        endpoints: &[EndpointSpec],
    ) -> Result<Store, SeedError> {
        let mut store = Store::new(config.clone());
        seed.apply(&mut store, clock.now())?;
        for spec in endpoints {
            store
                .add_webhook_endpoint(spec.clone(), None, Metadata::new(), clock.now())
                .map_err(|e| SeedError::Entry {
                    entry: format!("webhook endpoint {}", spec.url),
                    message: e.message,
                })?;
        }
        Ok(store)
    }

    /// Forgets every object, event, delivery and idempotency key, restarts the id generator from
    /// `seed` and re-applies the seed file and initial endpoints. The clock keeps its time. A test
    /// driver gives each scenario its own seed so that ids are replayable per scenario and never
    /// repeat across them.
    pub fn reset_with_seed(&self, seed: u64) -> Result<(), SeedError> {
        let config = SimConfig {
            seed,
            ..self.config.clone()
        };
        let fresh = Self::fresh_store(&config, &self.clock, &self.seed, &self.initial_endpoints)?;
        *self.lock() = fresh;
        Ok(())
    }

    /// Locks the store. A panic elsewhere must not wedge the simulator, so a poisoned lock is
    /// taken over: every operation leaves the store consistent before it can fail.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the store at the current simulator time, after every job due by then, and
    /// wakes the delivery loop if deliveries became due.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store, i64) -> R) -> R {
        let now = self.clock.now();
        let (result, wake) = {
            let mut store = self.lock();
            store.run_due(now);
            let result = f(&mut store, now);
            (result, std::mem::take(&mut store.deliveries.wake))
        };
        if wake {
            self.wake.notify_one();
        }
        result
    }

    /// Moves the clock forward and runs every job that fell due, in time order; due webhook
    /// retries are sent at once.
    pub fn advance_clock(&self, seconds: i64) -> i64 {
        self.clock.advance(seconds);
        let now = self.with_store(|_, now| now);
        self.wake.notify_one();
        now
    }

    /// Waits until no delivery is in flight or due (held ones excepted), at most `timeout`.
    /// Returns whether that point was reached.
    pub async fn wait_for_deliveries(&self, timeout: Duration) -> bool {
        self.wait_for_deliveries_through(usize::MAX, timeout).await
    }

    /// Waits until every delivery that exists now has settled, ignoring ones created meanwhile
    /// (other drivers sharing the simulator keep creating events).
    pub async fn wait_for_deliveries_so_far(&self, timeout: Duration) -> bool {
        let mark = self.with_store(|store, _| store.deliveries.records().len());
        self.wait_for_deliveries_through(mark, timeout).await
    }

    async fn wait_for_deliveries_through(&self, mark: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.with_store(|store, now| store.deliveries.idle_through(mark, now)) {
                return true;
            }
            self.wake.notify_one();
            // Re-check now and then even without a signal: a due attempt may be waiting for the
            // loop to pick it up.
            let step = tokio::time::Instant::now() + Duration::from_millis(50);
            if tokio::time::timeout_at(step.min(deadline), settled)
                .await
                .is_err()
                && tokio::time::Instant::now() >= deadline
            {
                return self.with_store(|store, now| store.deliveries.idle_through(mark, now));
            }
        }
    }
}
