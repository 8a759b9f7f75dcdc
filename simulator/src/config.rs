//! Settings of one simulator instance.

use std::time::Duration;

use crate::clock::ClockMode;
use crate::retention::{Retention, DEFAULT_DISABLE_ENDPOINT_AFTER};
use crate::versions::ApiVersion;
use crate::webhooks::schedule::RetryPolicy;

/// The API version the official SDKs pin (stripe-node 23.x, stripe-python 16.x). Objects and
/// events are rendered for it unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2026-10-28.endive";

/// The default secret key: test mode, so it can never be mistaken for a live key.
pub const DEFAULT_API_KEY: &str = "sk_test_stripesim";

/// Everything that shapes how a simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The only key the API accepts (`sk_test_…`).
    pub api_key: String,
    /// The account's default API version: answers to requests without `Stripe-Version`, events
    /// (`api_version`) and deliveries to endpoints that pin none are rendered at it.
    pub api_version: String,
    /// Public base URL (`http://127.0.0.1:12111`): hosted pages and `url` fields point here.
    pub base_url: String,
    pub clock: ClockMode,
    /// Seed of every id and random choice.
    pub seed: u64,
    /// Seconds of simulator time before a delayed payment (SEPA, ACH) succeeds or fails.
    pub settlement_delay: i64,
    /// Seconds of simulator time before an asynchronous refund settles or fails.
    pub refund_settlement_delay: i64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// When failed webhook deliveries are retried (simulator time).
    pub retry_policy: RetryPolicy,
    /// How long an endpoint may take to answer before the attempt counts as failed.
    pub webhook_timeout: Duration,
    /// How many bytes of an endpoint's answer the delivery log keeps per attempt.
    pub webhook_answer_excerpt: usize,
    /// Deliveries in flight at once, across all endpoints.
    pub delivery_concurrency: usize,
    /// Timeouts and the cap under which client connections are served.
    pub connections: crate::http::listener::ConnectionLimits,
    /// How long events and delivery records are kept, and how many objects are stored.
    pub retention: Retention,
    /// Seconds of simulator time an endpoint may fail every delivery before it is disabled
    /// (`None`: never), as Stripe disables endpoints that fail for days.
    pub disable_endpoint_after: Option<i64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: DEFAULT_API_KEY.to_string(),
            api_version: DEFAULT_API_VERSION.to_string(),
            base_url: "http://127.0.0.1:12111".to_string(),
            clock: ClockMode::System,
            seed: 0,
            settlement_delay: 180,
            refund_settlement_delay: 60,
            max_body_bytes: 256 * 1024,
            retry_policy: RetryPolicy::test_mode(),
            webhook_timeout: Duration::from_secs(10),
            webhook_answer_excerpt: crate::webhooks::dispatcher::RESPONSE_EXCERPT,
            delivery_concurrency: 8,
            connections: Default::default(),
            retention: Retention::default(),
            disable_endpoint_after: Some(DEFAULT_DISABLE_ENDPOINT_AFTER),
        }
    }
}

impl SimConfig {
    /// The account's default API version (the newest when `api_version` is not a published
    /// one; [`crate::SimulatorBuilder::start`] refuses to start with such a value).
    pub fn default_version(&self) -> ApiVersion {
        ApiVersion::parse(&self.api_version).unwrap_or_else(ApiVersion::latest)
    }
}
