//! The state shared by every connection of one simulator.
//!
//! A std `Mutex` guards the [`Store`]: every operation on it is synchronous and short (no I/O,
//! no `.await` while the guard lives), so an async mutex would only add overhead. Handlers lock,
//! run one operation, render, and unlock before answering; webhook attempts are built under the
//! lock and sent after it is released.
//!
//! With a state file, [`Shared::with_store`] also captures what each operation changed and
//! hands it to the state file's writer (see [`crate::persist`]); the HTTP request that caused it
//! waits for the commit after the lock is released (see [`Shared::written_by_this_request`]).

use std::cell::Cell;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::clock::Clock;
use crate::config::SimConfig;
use crate::live::Live;
use crate::params::Metadata;
use crate::persist::Persister;
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
    /// The state file, with `--state`.
    pub persist: Option<Persister>,
    /// Notices for live watchers (the dashboard): built only while someone watches.
    pub live: Live,
}

tokio::task_local! {
    /// The last change set an HTTP request's operations handed to the state file's writer.
    static WRITTEN: Cell<u64>;
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
        Ok(Self::assemble(
            config,
            clock,
            seed,
            initial_endpoints,
            store,
            None,
        ))
    }

    /// A simulator's state around `store`, written to `persist` when there is one.
    pub fn assemble(
        config: SimConfig,
        clock: Clock,
        seed: SeedFile,
        initial_endpoints: Vec<EndpointSpec>,
        store: Store,
        persist: Option<Persister>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Shared {
            store: Mutex::new(store),
            delivery_permits: Semaphore::new(config.delivery_concurrency.max(1)),
            clock,
            config,
            seed,
            initial_endpoints,
            http,
            wake: Notify::new(),
            settled: Notify::new(),
            persist,
            live: Live::default(),
        }
    }

    pub(crate) fn fresh_store(
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
    ///
    /// The old store is dropped before the new one is built, so the new one does not sit on top
    /// of the freed memory, and the freed memory is then handed back to the operating system
    /// ([`crate::memory`]); with a state file, the file and its log are emptied and the fresh
    /// state written.
    pub fn reset_with_seed(&self, seed: u64) -> Result<(), SeedError> {
        let config = SimConfig {
            seed,
            ..self.config.clone()
        };
        let mut store = self.lock();
        let old = std::mem::replace(&mut *store, Store::new(config.clone()));
        drop(old);
        let built = Self::fresh_store(&config, &self.clock, &self.seed, &self.initial_endpoints);
        let result = match built {
            Ok(fresh) => {
                *store = fresh;
                Ok(())
            }
            // The seed applied at start, so this cannot happen; the store is left empty.
            Err(e) => Err(e),
        };
        if let Some(persist) = &self.persist {
            crate::persist::track(&mut store, true);
            let written = persist.capture(&mut store, &self.clock, true);
            note_written(written);
        }
        drop(store);
        // The old store is freed, but the allocator keeps what it freed: hand it back.
        crate::memory::give_back();
        result
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
        // One atomic load when nobody watches: no notice is built then.
        let watched = self.live.watched();
        let (result, wake, written, notices) = {
            let mut store = self.lock();
            let mark = watched.then(|| store.events.end());
            store.run_due(now);
            let result = f(&mut store, now);
            let written = self
                .persist
                .as_ref()
                .and_then(|p| p.capture(&mut store, &self.clock, false));
            let notices = mark.map(|mark| Live::events_since(&store, mark));
            (
                result,
                std::mem::take(&mut store.deliveries.wake),
                written,
                notices,
            )
        };
        note_written(written);
        if let Some(notices) = notices {
            self.live.send(notices);
        }
        if wake {
            self.wake.notify_one();
        }
        result
    }

    /// Runs `request` (an HTTP request's handling) and, when it changed anything and the
    /// simulator has a state file, waits until that change is committed: an answer is sent only
    /// once what it reports is on disk. `Err` says why the file could not be written.
    pub async fn written_by_this_request<R>(
        &self,
        request: impl Future<Output = R>,
    ) -> (R, Result<(), String>) {
        let Some(persist) = &self.persist else {
            return (request.await, Ok(()));
        };
        let (answer, written) = WRITTEN
            .scope(Cell::new(0), async {
                let answer = request.await;
                (answer, WRITTEN.with(Cell::get))
            })
            .await;
        if written == 0 {
            return (answer, Ok(()));
        }
        (answer, persist.wait(written).await)
    }

    /// Waits until every change so far is in the state file (nothing to wait for without one).
    pub async fn flush_state(&self) -> Result<(), String> {
        match &self.persist {
            Some(persist) => persist.flush().await,
            None => Ok(()),
        }
    }

    /// Moves the clock forward and runs every job that fell due, in time order; due webhook
    /// retries are sent at once.
    pub fn advance_clock(&self, seconds: i64) -> i64 {
        self.clock.advance(seconds);
        let now = self.with_store(|_, now| now);
        self.wake.notify_one();
        self.tell(|| crate::live::Notice::Clock { now });
        now
    }

    /// Tells whoever watches what just happened; nothing is built when nobody watches.
    pub fn tell(&self, notice: impl FnOnce() -> crate::live::Notice) {
        if self.live.watched() {
            self.live.send(vec![notice()]);
        }
    }

    /// Tells whoever watches that a driver changed how webhooks are delivered.
    pub fn tell_webhooks_changed(&self, change: impl FnOnce() -> String) {
        self.tell(|| crate::live::Notice::Webhooks {
            at: self.clock.now(),
            change: change(),
        });
    }

    /// Waits until no delivery is in flight or due (held ones excepted), at most `timeout`.
    /// Returns whether that point was reached.
    pub async fn wait_for_deliveries(&self, timeout: Duration) -> bool {
        self.wait_for_deliveries_through(usize::MAX, timeout).await
    }

    /// Waits until every delivery that exists now has settled, ignoring ones created meanwhile
    /// (other drivers sharing the simulator keep creating events).
    pub async fn wait_for_deliveries_so_far(&self, timeout: Duration) -> bool {
        let mark = self.with_store(|store, _| store.deliveries.mark());
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

/// Remembers, for the HTTP request running on this task (if any), the change set to wait for.
fn note_written(written: Option<u64>) {
    if let Some(seq) = written {
        let _ = WRITTEN.try_with(|w| w.set(w.get().max(seq)));
    }
}
