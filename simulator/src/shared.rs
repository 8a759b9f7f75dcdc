//! The state shared by every connection of one simulator.
//!
//! A std `Mutex` guards the [`Store`]: every operation on it is synchronous and short (no I/O,
//! no `.await` while the guard lives), so an async mutex would only add overhead. Handlers lock,
//! run one operation, render, and unlock before answering.

use std::sync::{Mutex, MutexGuard};

use crate::clock::Clock;
use crate::config::SimConfig;
use crate::seed::{SeedError, SeedFile};
use crate::store::Store;

#[derive(Debug)]
pub struct Shared {
    store: Mutex<Store>,
    pub clock: Clock,
    pub config: SimConfig,
    /// Applied at start and after every reset.
    pub seed: SeedFile,
}

impl Shared {
    /// A simulator's state with the seed file applied.
    pub fn new(config: SimConfig, clock: Clock, seed: SeedFile) -> Result<Self, SeedError> {
        let mut store = Store::new(config.clone());
        seed.apply(&mut store, clock.now())?;
        Ok(Shared {
            store: Mutex::new(store),
            clock,
            config,
            seed,
        })
    }

    /// Forgets every object, event and idempotency key, restarts the id generator from the
    /// seed and re-applies the seed file. The clock keeps its time.
    pub fn reset(&self) -> Result<(), SeedError> {
        let mut fresh = Store::new(self.config.clone());
        self.seed.apply(&mut fresh, self.clock.now())?;
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

    /// Runs `f` on the store at the current simulator time, after every job due by then.
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store, i64) -> R) -> R {
        let now = self.clock.now();
        let mut store = self.lock();
        store.run_due(now);
        f(&mut store, now)
    }

    /// Moves the clock forward and runs every job that fell due, in time order.
    pub fn advance_clock(&self, seconds: i64) -> i64 {
        self.clock.advance(seconds);
        self.with_store(|_, now| now)
    }
}
