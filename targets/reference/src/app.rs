//! The shared application state every handler gets.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock::{rfc3339, Clock};
use crate::config::Config;
use crate::defect::Defect;
use crate::ids::OrderIds;
use crate::order::Order;
use crate::store::{Store, StoreError};
use crate::stripe_api::StripeApi;
use crate::variant::Design;

/// Why the target could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0} is not set")]
    MissingSetting(&'static str),
    #[error("cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
}

/// Cheap to clone: handlers share one [`Shared`].
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: Config,
    store: Store,
    stripe: StripeApi,
    clock: Clock,
    ids: OrderIds,
}

impl AppState {
    /// State on the wall clock, opening `config.database_path`.
    pub fn new(config: Config) -> Result<AppState, StartError> {
        AppState::with_clock(config, Clock::System)
    }

    /// State whose "now" (signature freshness, timestamps) comes from `clock`.
    pub fn with_clock(config: Config, clock: Clock) -> Result<AppState, StartError> {
        // An empty webhook secret would make every signature forgeable (HMAC with a known key),
        // so refuse to start rather than accept forged payments.
        if config.stripe_webhook_secret.is_empty() {
            return Err(StartError::MissingSetting("STRIPE_WEBHOOK_SECRET"));
        }
        if config.stripe_secret_key.is_empty() {
            return Err(StartError::MissingSetting("STRIPE_SECRET_KEY"));
        }
        let seed = config.order_id_seed.unwrap_or_else(entropy_seed);
        Ok(AppState {
            shared: Arc::new(Shared {
                store: Store::open_as(config.design.storage, &config.database_path)?,
                stripe: StripeApi::new(&config.stripe_api_base, &config.stripe_secret_key)?,
                clock,
                ids: OrderIds::seeded(seed),
                config,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn defect(&self) -> Option<Defect> {
        self.shared.config.defect
    }

    pub fn design(&self) -> Design {
        self.shared.config.design
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn stripe(&self) -> &StripeApi {
        &self.shared.stripe
    }

    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// A fresh order id.
    pub fn next_order_id(&self) -> String {
        self.shared.ids.next_id()
    }

    /// Now, as stored in `createdAt` / `updatedAt`.
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.shared.clock.now_millis())
    }

    /// The order with this id, as `GET /api/orders/{id}` would show it.
    pub fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.shared.store.order(id)
    }
}

/// A seed nobody can predict from outside the process: wall-clock nanoseconds mixed with the
/// process id. Only used when no seed is configured.
fn entropy_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}
