//! Running a simulator: the [`SimulatorBuilder`] and the [`Simulator`] handle, for tests,
//! embedding and the `stripe-sim` binary alike.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::{wall_clock_now, Clock, ClockMode};
use crate::config::SimConfig;
use crate::control::Control;
use crate::ids::fresh_seed;
use crate::persist::StateError;
use crate::resources::webhook_endpoint::EndpointSpec;
use crate::retention::Retention;
use crate::seed::{SeedError, SeedFile};
use crate::shared::Shared;
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
    #[error(transparent)]
    State(#[from] StateError),
    #[error("--api-version {0} is not an API version Stripe published (for example {latest})", latest = crate::versions::ApiVersion::latest())]
    ApiVersion(String),
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
    state: Option<PathBuf>,
    state_fsync: bool,
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
            state: None,
            state_fsync: false,
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

    /// How many bytes of an endpoint's answer the delivery log keeps per attempt (512 by
    /// default; a test driver that shows answers as evidence may want more, up to 64 KiB).
    pub fn webhook_answer_excerpt(mut self, bytes: usize) -> Self {
        self.config.webhook_answer_excerpt =
            bytes.min(crate::webhooks::dispatcher::MAX_RESPONSE_READ);
        self
    }

    /// How many deliveries may be in flight at once (8 by default).
    pub fn delivery_concurrency(mut self, permits: usize) -> Self {
        self.config.delivery_concurrency = permits.max(1);
        self
    }

    /// Keep the state in this file (SQLite, created when missing): a restart on the same file
    /// brings everything back. Without it, everything lives in memory only.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// fsync every commit of the state file, so an answered change survives a power cut too
    /// (by default it survives the simulator crashing or being killed).
    pub fn state_fsync(mut self, fsync: bool) -> Self {
        self.state_fsync = fsync;
        self
    }

    /// How long events and delivery records are kept and how many objects are stored
    /// ([`Retention::default`]: 30 days, 100,000 records, no object limit).
    pub fn retention(mut self, retention: Retention) -> Self {
        self.config.retention = retention;
        self
    }

    /// Disable an endpoint that has failed every delivery for this many seconds of simulator
    /// time (3 days by default; `None`: never).
    pub fn disable_endpoint_after(mut self, seconds: Option<i64>) -> Self {
        self.config.disable_endpoint_after = seconds;
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
        if crate::versions::ApiVersion::parse(&self.config.api_version).is_none() {
            return Err(StartError::ApiVersion(self.config.api_version));
        }
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
        let server = tokio::spawn(async move {
            let stop = async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            };
            serve(listener, task_shared, stop).await;
        });
        Ok(Simulator {
            control: Control::new(shared),
            shutdown: shutdown_tx,
            server: Some(server),
            local,
        })
    }

    /// The shared state for a simulator listening on `local`.
    fn into_shared(mut self, local: SocketAddr) -> Result<Shared, StartError> {
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
        let manual_start = self.manual_start.unwrap_or_else(wall_clock_now);
        let Some(path) = &self.state else {
            let clock = match self.config.clock {
                ClockMode::System => Clock::system(),
                ClockMode::Manual => Clock::manual(manual_start),
            };
            return Ok(Shared::new(
                self.config,
                clock,
                self.seed_file,
                self.endpoints,
            )?);
        };
        let opened = crate::persist::open(
            crate::persist::OpenOptions {
                path,
                fsync: self.state_fsync,
                config: &self.config,
                clock_mode: self.config.clock,
                manual_start,
                endpoints: &self.endpoints,
            },
            |clock| {
                Shared::fresh_store(&self.config, clock, &self.seed_file, &self.endpoints)
                    .map_err(|e| StateError::Seed(e.to_string()))
            },
        )?;
        // The file's seed goes on: ids continue its stream.
        let config = crate::config::SimConfig {
            seed: opened.store.config.seed,
            ..self.config
        };
        Ok(Shared::assemble(
            config,
            opened.clock,
            self.seed_file,
            self.endpoints,
            opened.store,
            Some(opened.persister),
        ))
    }
}

/// Serves one simulator until `shutdown` completes: the HTTP API and, with the system clock, a
/// ticker that runs jobs as they fall due.
async fn serve(
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
    let app = crate::http::router(shared.clone());
    let graceful = async move {
        shutdown.await;
        // Live streams (the dashboard's) never end on their own: end them, so the shutdown does
        // not wait for open pages.
        shared.live.close();
        let _ = stop_tx.send(true);
    };
    crate::http::listener::serve_connections(listener, app, limits, graceful).await;
    let _ = stop_rx.changed().await;
}

/// A running simulator. Every operation is a method of [`Control`], reached through this handle
/// (`sim.pay(…)`, `sim.advance(…)`); dropping the handle, or [`Simulator::shutdown`], stops the
/// server.
///
/// ```
/// use stripe_sim::{ClockMode, PaymentMethodInput, Simulator};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sim = Simulator::builder().clock(ClockMode::Manual).seed(7).start().await?;
/// let link = sim.seeded_link("lifetime").expect("the shipped seed has it");
/// let session = sim.visit_link(&link.id, Some("order_7"), None)?;
/// let paid = sim.pay(&session.id, &PaymentMethodInput::card("4242424242424242"), &Default::default())?;
/// assert_eq!(paid.payment_status.as_str(), "paid");
/// sim.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Simulator {
    control: Control,
    shutdown: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    local: SocketAddr,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl std::ops::Deref for Simulator {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
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

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops the server and waits until it has stopped: open connections are finished, the
    /// delivery loop and the clock ticker end, and with a state file every change is committed
    /// and the file released.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.control.close_state().await;
    }
}
