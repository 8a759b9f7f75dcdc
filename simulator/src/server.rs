//! Running a simulator: the [`Simulator`] handle for tests and embedding, and [`serve`] for the
//! binary.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::{wall_clock_now, Clock, ClockMode};
use crate::config::SimConfig;
use crate::error::ApiError;
use crate::ids::fresh_seed;
use crate::payment::{Buyer, PaymentMethodInput};
use crate::resources::webhook_endpoint::EndpointSpec;
use crate::seed::{SeedError, SeedFile};
use crate::shared::Shared;
use crate::store::Ctx;
use crate::webhooks::faults::FaultRule;
use crate::webhooks::log::{DeliveryMode, DeliveryRecord, ReleaseOrder};
use crate::webhooks::schedule::RetryPolicy;

/// How often the system clock's background ticker runs due jobs (settlements, expiries).
const TICK: Duration = Duration::from_millis(250);

mod connection_settings;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Seed(#[from] SeedError),
}

/// Settings for a new simulator; [`SimulatorBuilder::start`] binds it.
#[derive(Debug, Clone)]
pub struct SimulatorBuilder {
    config: SimConfig,
    seed_given: bool,
    bind: SocketAddr,
    public_url: Option<String>,
    seed_file: SeedFile,
    manual_start: Option<i64>,
    endpoints: Vec<EndpointSpec>,
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        SimulatorBuilder {
            config: SimConfig::default(),
            seed_given: false,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            public_url: None,
            seed_file: SeedFile::builtin(),
            manual_start: None,
            endpoints: Vec::new(),
        }
    }
}

impl SimulatorBuilder {
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.config.api_key = key.into();
        self
    }

    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.config.api_version = version.into();
        self
    }

    /// The clock: `System` (default) or `Manual` (frozen until advanced).
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.config.clock = mode;
        self
    }

    /// Where a manual clock starts (unix seconds); the wall clock's time by default.
    pub fn clock_start(mut self, unix_seconds: i64) -> Self {
        self.manual_start = Some(unix_seconds);
        self
    }

    /// Seed for ids and every other random choice; a fresh one is drawn (and reported by
    /// [`Simulator::seed`]) when not given.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self.seed_given = true;
        self
    }

    pub fn seed_file(mut self, seed_file: SeedFile) -> Self {
        self.seed_file = seed_file;
        self
    }

    /// Seconds of simulator time before SEPA / ACH payments settle (default 180).
    pub fn settlement_delay(mut self, seconds: i64) -> Self {
        self.config.settlement_delay = seconds;
        self
    }

    /// Seconds of simulator time before asynchronous refunds settle or fail (default 60).
    pub fn refund_settlement_delay(mut self, seconds: i64) -> Self {
        self.config.refund_settlement_delay = seconds;
        self
    }

    /// A webhook endpoint that exists from the start (and again after every reset), like
    /// `stripe listen --forward-to`.
    pub fn webhook_endpoint(mut self, spec: EndpointSpec) -> Self {
        self.endpoints.push(spec);
        self
    }

    /// When failed deliveries are retried: [`RetryPolicy::test_mode`] by default.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.config.retry_policy = policy;
        self
    }

    /// How long an endpoint may take to answer (10 s by default).
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.config.webhook_timeout = timeout;
        self
    }

    /// How many deliveries may be in flight at once (8 by default).
    pub fn delivery_concurrency(mut self, permits: usize) -> Self {
        self.config.delivery_concurrency = permits.max(1);
        self
    }

    /// Address to listen on; a free loopback port by default.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The base URL put in `url` fields when it differs from the listening address.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// Binds the port, builds the state and starts serving in the background.
    pub async fn start(self) -> Result<Simulator, StartError> {
        let listener = TcpListener::bind(self.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.bind,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.bind,
            source,
        })?;
        let shared = Arc::new(self.into_shared(local)?);
        let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
        let task_shared = shared.clone();
        tokio::spawn(async move {
            let stop = async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            };
            serve(listener, task_shared, stop).await;
        });
        Ok(Simulator {
            shared,
            shutdown: shutdown_tx,
        })
    }

    /// The shared state for a simulator listening on `local`.
    pub fn into_shared(mut self, local: SocketAddr) -> Result<Shared, SeedError> {
        if !self.seed_given {
            self.config.seed = fresh_seed();
        }
        let host = if local.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            local.ip()
        };
        self.config.base_url = self
            .public_url
            .unwrap_or_else(|| format!("http://{}", SocketAddr::new(host, local.port())));
        let clock = match self.config.clock {
            ClockMode::System => Clock::system(),
            ClockMode::Manual => Clock::manual(self.manual_start.unwrap_or_else(wall_clock_now)),
        };
        Shared::new(self.config, clock, self.seed_file, self.endpoints)
    }
}

/// Serves one simulator until `shutdown` completes: the HTTP API and, with the system clock, a
/// ticker that runs jobs as they fall due.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    if shared.clock.mode() == ClockMode::System {
        let ticker_shared = shared.clone();
        let mut ticker_stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    _ = interval.tick() => ticker_shared.with_store(|_, _| ()),
                    _ = ticker_stop.changed() => break,
                }
            }
        });
    }
    tokio::spawn(crate::webhooks::dispatcher::run(
        shared.clone(),
        stop_rx.clone(),
    ));
    let limits = shared.config.connections;
    let app = crate::http::router(shared);
    let graceful = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    crate::http::listener::serve_connections(listener, app, limits, graceful).await;
    let _ = stop_rx.changed().await;
}

/// A running simulator. Dropping it shuts the server down.
#[derive(Debug)]
pub struct Simulator {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl Simulator {
    /// A simulator on a free loopback port with default settings and the shipped seed file.
    pub async fn start() -> Result<Simulator, StartError> {
        SimulatorBuilder::default().start().await
    }

    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: give this to an SDK as its API base.
    pub fn base_url(&self) -> &str {
        &self.shared.config.base_url
    }

    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    pub fn api_version(&self) -> &str {
        &self.shared.config.api_version
    }

    pub fn seed(&self) -> u64 {
        self.shared.config.seed
    }

    /// Simulator time, unix seconds.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// Moves simulator time forward and runs everything that fell due. Returns the new time.
    pub fn advance(&self, seconds: i64) -> i64 {
        self.shared.advance_clock(seconds.max(0))
    }

    /// Forgets all state and re-applies the seed file.
    pub fn reset(&self) -> Result<(), SeedError> {
        self.shared.reset()
    }

    /// Forgets all state and restarts ids from `seed`.
    pub fn reset_with_seed(&self, seed: u64) -> Result<(), SeedError> {
        self.shared.reset_with_seed(seed)
    }

    /// The sessions of these `client_reference_id`s with their payment's state and what the
    /// `charge.refunded` events of its charge said: what a judge checks after every step.
    pub fn payment_facts(
        &self,
        references: &[&str],
    ) -> Vec<(crate::facts::SessionFacts, crate::facts::RefundHistory)> {
        self.shared.with_store(|store, _| {
            store
                .session_facts(references)
                .into_iter()
                .map(|s| {
                    let history = s
                        .charge
                        .as_deref()
                        .map(|c| store.refund_history(c))
                        .unwrap_or_default();
                    (s, history)
                })
                .collect()
        })
    }

    /// The events of one type about these objects (`data.object.id`), oldest first.
    pub fn events_about(&self, event_type: &str, object_ids: &[&str]) -> Vec<Value> {
        self.shared.with_store(|store, _| {
            store
                .events
                .iter()
                .filter(|e| {
                    e.event_type.as_str() == event_type && object_ids.contains(&e.object_id())
                })
                .map(|e| e.render())
                .collect()
        })
    }

    /// When the next delivery attempt is due (simulator time), if any is scheduled.
    pub fn next_delivery_due(&self) -> Option<i64> {
        self.shared
            .with_store(|store, _| store.deliveries.next_due())
    }

    /// Every event of one type (`charge.refunded`), oldest first.
    pub fn events_of_type(&self, event_type: &str) -> Vec<Value> {
        self.shared.with_store(|store, _| {
            store
                .events
                .iter()
                .filter(|e| e.event_type.as_str() == event_type)
                .map(|e| e.render())
                .collect()
        })
    }

    /// Every Checkout Session, oldest first, as the API renders them.
    pub fn checkout_sessions(&self) -> Vec<Value> {
        self.shared.with_store(|store, _| {
            store
                .sessions
                .iter()
                .map(|s| s.render(&store.config))
                .collect()
        })
    }

    /// The id and URL of a payment link from the seed file, by its key (`"lifetime"`).
    pub fn seeded_link(&self, key: &str) -> Option<PaymentLinkInfo> {
        self.shared.with_store(|store, _| {
            let id = store.seeded_links.get(key)?;
            let link = store.payment_links.get(id)?;
            Some(PaymentLinkInfo {
                id: id.clone(),
                url: link.url(&store.config),
            })
        })
    }

    /// A buyer opening a payment link with an optional `client_reference_id`: the new session.
    pub fn visit_link(
        &self,
        link_id: &str,
        client_reference_id: Option<&str>,
    ) -> Result<Value, ApiError> {
        self.shared.with_store(|store, now| {
            store.visit_payment_link_by_id(link_id, client_reference_id, None, &Ctx::automatic(now))
        })
    }

    /// A buyer paying a session: the completed session, or the card error (session left open).
    pub fn pay(
        &self,
        session_id: &str,
        method: &PaymentMethodInput,
        buyer: &Buyer,
    ) -> Result<Value, ApiError> {
        self.shared.with_store(|store, now| {
            store.pay_session(session_id, method, buyer, &Ctx::automatic(now))
        })
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.shared
            .with_store(|store, _| store.events.iter().map(|e| e.render()).collect())
    }

    /// Any object by id (`cs_…`, `pi_…`, `ch_…`, …), as the API would render it.
    pub fn object(&self, id: &str) -> Option<Value> {
        self.shared.with_store(|store, _| store.render_by_id(id))
    }
}

/// A webhook endpoint and its current signing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointInfo {
    pub id: String,
    pub secret: String,
}

impl Simulator {
    /// Adds a webhook endpoint now; with `spec.secret` unset a `whsec_…` secret is generated.
    pub fn add_webhook_endpoint(
        &self,
        spec: EndpointSpec,
    ) -> Result<WebhookEndpointInfo, ApiError> {
        let created = self.shared.with_store(|store, now| {
            store.add_webhook_endpoint(spec, None, Default::default(), now)
        })?;
        Ok(WebhookEndpointInfo {
            id: created["id"].as_str().unwrap_or_default().to_string(),
            secret: created["secret"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// Every webhook endpoint with its current secret.
    pub fn webhook_endpoints(&self) -> Vec<WebhookEndpointInfo> {
        self.shared.with_store(|store, _| {
            store
                .webhook_endpoints
                .iter()
                .map(|e| WebhookEndpointInfo {
                    id: e.id.clone(),
                    secret: e.secret().to_string(),
                })
                .collect()
        })
    }

    /// Rolls an endpoint's secret; the old one keeps signing for `overlap_seconds`.
    pub fn roll_webhook_secret(
        &self,
        endpoint_id: &str,
        overlap_seconds: i64,
    ) -> Result<String, ApiError> {
        let rolled = self.shared.with_store(|store, now| {
            store.roll_webhook_secret(endpoint_id, overlap_seconds, now)
        })?;
        Ok(rolled["secret"].as_str().unwrap_or_default().to_string())
    }

    /// `Auto` delivers at once; `Hold` queues deliveries until [`Simulator::release`].
    pub fn set_delivery_mode(&self, mode: DeliveryMode) {
        self.shared
            .with_store(|store, _| store.deliveries.mode = mode);
    }

    /// Sends the held deliveries one after the other in `order` (each twice with `duplicate`),
    /// waiting for each answer. Returns the records released.
    pub async fn release(
        &self,
        order: ReleaseOrder,
        duplicate: Option<crate::webhooks::faults::DuplicateMode>,
    ) -> Result<Vec<DeliveryRecord>, ApiError> {
        crate::http::release_held(&self.shared, order, duplicate, false).await
    }

    /// Applies a fault to the next matching delivery attempts.
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared
            .with_store(|store, _| store.deliveries.faults.push(rule));
    }

    pub fn clear_faults(&self) {
        self.shared
            .with_store(|store, _| store.deliveries.faults.clear());
    }

    /// The delivery log: every (event, endpoint) record with its attempts.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared
            .with_store(|store, _| store.deliveries.records().to_vec())
    }

    /// How many delivery records exist: a mark for [`Simulator::deliveries_since`].
    pub fn delivery_count(&self) -> usize {
        self.shared
            .with_store(|store, _| store.deliveries.records().len())
    }

    /// The delivery records created since `mark` (an earlier [`Simulator::delivery_count`]).
    pub fn deliveries_since(&self, mark: usize) -> Vec<DeliveryRecord> {
        self.shared
            .with_store(|store, _| store.deliveries.records_since(mark).to_vec())
    }

    /// Waits until no delivery is in flight or due now (held ones excepted), up to `timeout`.
    pub async fn wait_for_deliveries(&self, timeout: Duration) -> bool {
        self.shared.wait_for_deliveries(timeout).await
    }

    /// Waits until the deliveries that exist now have settled, whatever is created meanwhile:
    /// for drivers that share one simulator.
    pub async fn wait_for_deliveries_so_far(&self, timeout: Duration) -> bool {
        self.shared.wait_for_deliveries_so_far(timeout).await
    }

    /// Emits a second Event object (new id) for the same change as `event_id`, as Stripe
    /// sometimes does; it is delivered like any new event. Returns the new event.
    pub fn duplicate_event(&self, event_id: &str) -> Result<Value, ApiError> {
        self.shared
            .with_store(|store, now| store.duplicate_event(event_id, now))
    }

    /// Resends an event to one endpoint (or all), like `stripe events resend`.
    pub async fn resend(
        &self,
        event_id: &str,
        endpoint_id: Option<&str>,
    ) -> Result<Vec<crate::webhooks::log::Attempt>, ApiError> {
        crate::http::resend_event(&self.shared, event_id, endpoint_id).await
    }
}

/// Where to find a payment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLinkInfo {
    pub id: String,
    pub url: String,
}
