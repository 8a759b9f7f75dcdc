//! `stripe-sim`: run an offline Stripe. All the logic lives in the library; this file parses
//! arguments, prints where things are, and serves until Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use stripe_sim::{
    ClockMode, EndpointSpec, Retention, RetryPolicy, SeedFile, SimClient, Simulator,
    SimulatorBuilder, TRIGGERS,
};

#[derive(Parser)]
#[command(
    name = "stripe-sim",
    version,
    about = "An offline Stripe for Payment Links, Checkout, test cards, refunds and webhooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start; boxing would buy nothing
enum Command {
    /// Serve the Stripe API, hosted pages and the /_sim control API (the default).
    Serve(ServeArgs),
    /// Run the flow that produces an event against a running simulator.
    Trigger(TriggerArgs),
}

#[derive(Args)]
struct TriggerArgs {
    /// Event type to produce (see --list).
    #[arg(required_unless_present = "list")]
    event: Option<String>,
    /// List the event types trigger can produce.
    #[arg(long)]
    list: bool,
    /// Base URL of the running simulator.
    #[arg(
        long,
        env = "STRIPE_API_BASE",
        default_value = "http://127.0.0.1:12111"
    )]
    api_base: String,
    /// The simulator's API key.
    #[arg(long, env = "STRIPE_SECRET_KEY", default_value = stripe_sim::DEFAULT_API_KEY)]
    api_key: String,
    /// Also deliver the resulting events to this URL (a temporary endpoint, removed afterwards;
    /// its generated signing secret is printed).
    #[arg(long)]
    forward_to: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Port to listen on.
    #[arg(long, env = "STRIPE_SIM_PORT", default_value_t = 12111)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "STRIPE_SIM_BIND", default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The secret key clients must present (sk_test_…).
    #[arg(long, env = "STRIPE_SECRET_KEY", default_value = stripe_sim::DEFAULT_API_KEY)]
    api_key: String,
    /// system: real time (advanceable); manual: frozen until POST /_sim/clock/advance.
    #[arg(long, env = "STRIPE_SIM_CLOCK", default_value = "system")]
    clock: ClockMode,
    /// TOML file of products, prices and payment links to create (default: the shipped seed).
    #[arg(long, env = "STRIPE_SIM_SEED_FILE")]
    seed_file: Option<PathBuf>,
    /// The account's default API version: requests without Stripe-Version, events, endpoints
    /// without their own.
    #[arg(long, env = "STRIPE_API_VERSION", default_value = stripe_sim::DEFAULT_API_VERSION)]
    api_version: String,
    /// Seed of every id and random choice (printed when drawn at random).
    #[arg(long, env = "STRIPE_SIM_SEED")]
    seed: Option<u64>,
    /// Seconds of simulator time before SEPA / ACH payments settle.
    #[arg(long, env = "STRIPE_SIM_SETTLEMENT_DELAY", default_value_t = 180)]
    settlement_delay: i64,
    /// Base URL for links and pages when clients reach the simulator by another address.
    #[arg(long, env = "STRIPE_SIM_PUBLIC_URL")]
    public_url: Option<String>,
    /// Deliver events to this URL from the start, like `stripe listen --forward-to`.
    #[arg(long, env = "STRIPE_SIM_FORWARD_TO")]
    forward_to: Option<String>,
    /// Signing secret of the --forward-to endpoint (generated and printed when not given).
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
    /// Event types the --forward-to endpoint receives, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    events: Vec<String>,
    /// Retry schedule of failed deliveries: test (3 retries over 2.6 h), live (~3 days), or
    /// seconds like 60,300,3600.
    #[arg(long, env = "STRIPE_SIM_RETRY_SCHEDULE", default_value = "test")]
    retry_schedule: String,
    /// Milliseconds an endpoint may take to answer.
    #[arg(long, env = "STRIPE_SIM_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    webhook_timeout_ms: u64,
    /// Threads serving requests and deliveries. Every API call goes through one store lock, so
    /// a second thread mostly adds cross-thread wake-ups: one was faster on 2 cores for 2 to 16
    /// connections and for webhook deliveries (see the README's performance section).
    #[arg(long, env = "STRIPE_SIM_THREADS", default_value_t = 1)]
    threads: usize,
    /// Milliseconds a request's head may take after its first byte (or after the connection
    /// opened); the connection is closed after that.
    #[arg(long, env = "STRIPE_SIM_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// Milliseconds a request's body may take after its head; later, 408.
    #[arg(long, env = "STRIPE_SIM_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    body_timeout_ms: u64,
    /// Milliseconds a keep-alive connection may stay idle between requests.
    #[arg(long, env = "STRIPE_SIM_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    idle_timeout_ms: u64,
    /// Connections served at once; further ones wait to be accepted until one closes.
    #[arg(long, env = "STRIPE_SIM_MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    #[command(flatten)]
    state: StateArgs,
}

/// Where the state lives and how much of it is kept.
#[derive(Args)]
struct StateArgs {
    /// Keep the state in this SQLite file: a restart on it brings back every object, event,
    /// delivery (pending, held or failed), endpoint, the clock and the id stream. Created when
    /// missing; one simulator per file.
    #[arg(long = "state", env = "STRIPE_SIM_STATE")]
    file: Option<PathBuf>,
    /// fsync every commit of the state file: an answered request survives a power cut too (by
    /// default it survives the simulator crashing or being killed).
    #[arg(long = "state-fsync", env = "STRIPE_SIM_STATE_FSYNC")]
    fsync: bool,
    /// Days of simulator time events and delivery records are kept (Stripe lists events for 30
    /// days); 0 keeps them for ever.
    #[arg(long, env = "STRIPE_SIM_RETENTION_DAYS", default_value_t = stripe_sim::DEFAULT_RETENTION_DAYS)]
    retention_days: u32,
    /// Events kept at most, and delivery records kept at most (oldest dropped first); 0: no limit.
    #[arg(long, env = "STRIPE_SIM_MAX_RECORDS", default_value_t = stripe_sim::DEFAULT_MAX_RECORDS)]
    max_records: usize,
    /// Past this many stored objects (customers, sessions, payments, …), new writes are
    /// refused with a 400; 0: no limit.
    #[arg(long, env = "STRIPE_SIM_MAX_OBJECTS", default_value_t = 0)]
    max_objects: usize,
    /// Disable a webhook endpoint that failed every delivery for this many hours of simulator
    /// time, as Stripe does after days (re-enable it with POST /v1/webhook_endpoints/{id}
    /// disabled=false); 0: never.
    #[arg(
        long,
        env = "STRIPE_SIM_DISABLE_ENDPOINT_AFTER_HOURS",
        default_value_t = 72
    )]
    disable_endpoint_after_hours: u32,
}

impl StateArgs {
    fn apply(&self, mut builder: SimulatorBuilder) -> SimulatorBuilder {
        let nonzero = |n: usize| (n > 0).then_some(n);
        builder = builder
            .retention(Retention {
                days: (self.retention_days > 0).then_some(self.retention_days),
                max_records: nonzero(self.max_records),
                max_objects: nonzero(self.max_objects),
            })
            .disable_endpoint_after(
                (self.disable_endpoint_after_hours > 0)
                    .then_some(i64::from(self.disable_endpoint_after_hours) * 3600),
            );
        if let Some(file) = &self.file {
            builder = builder.state_file(file).state_fsync(self.fsync);
        }
        builder
    }
}

fn main() {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::parse_from(["serve"])));
    let threads = match &command {
        Command::Serve(args) => args.threads.max(1),
        Command::Trigger(_) => 1,
    };
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let result = match runtime {
        Err(e) => Err(format!("cannot start the runtime: {e}")),
        Ok(runtime) => runtime.block_on(async {
            match command {
                Command::Serve(args) => serve(args).await,
                Command::Trigger(args) => trigger(args).await,
            }
        }),
    };
    if let Err(message) = result {
        eprintln!("stripe-sim: {message}");
        std::process::exit(1);
    }
}

impl ServeArgs {
    fn parse_from<I: IntoIterator<Item = &'static str>>(args: I) -> ServeArgs {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: ServeArgs,
        }
        Wrapper::parse_from(args).args
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    stripe_sim::check_api_key(&args.api_key)?;
    if let Some(url) = &args.public_url {
        stripe_sim::url_check::parse(url).map_err(|e| format!("--public-url: {e}"))?;
    }
    if let Some(warning) = stripe_sim::exposure_warning(args.bind) {
        eprintln!("{warning}");
    }
    // A secret the user chose is theirs: the banner does not echo it into terminals and CI logs.
    let supplied = Supplied {
        api_key: args.api_key != stripe_sim::DEFAULT_API_KEY,
        webhook_secret: args.webhook_secret.is_some(),
    };
    let mut builder = SimulatorBuilder::default()
        .api_key(args.api_key)
        .api_version(args.api_version)
        .clock(args.clock)
        .settlement_delay(args.settlement_delay);
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    if let Some(path) = &args.seed_file {
        builder = builder.seed_file(SeedFile::load(path).map_err(|e| e.to_string())?);
    }
    if let Some(url) = args.public_url {
        builder = builder.public_url(url);
    }
    let policy =
        RetryPolicy::parse(&args.retry_schedule).map_err(|e| format!("--retry-schedule: {e}"))?;
    builder = builder
        .retry_policy(policy)
        .webhook_timeout(std::time::Duration::from_millis(args.webhook_timeout_ms))
        .header_timeout(std::time::Duration::from_millis(args.header_timeout_ms))
        .body_timeout(std::time::Duration::from_millis(args.body_timeout_ms))
        .idle_timeout(std::time::Duration::from_millis(args.idle_timeout_ms))
        .max_connections(args.max_connections);
    if let Some(url) = args.forward_to {
        builder = builder.webhook_endpoint(EndpointSpec {
            url,
            enabled_events: args.events,
            secret: args.webhook_secret,
            api_version: None,
        });
    }
    builder = args.state.apply(builder);
    let sim = builder
        .bind(SocketAddr::new(args.bind, args.port))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    print_banner(&sim, supplied);
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    Ok(())
}

/// Which secrets the user gave rather than let the simulator make.
struct Supplied {
    api_key: bool,
    webhook_secret: bool,
}

fn print_banner(sim: &Simulator, supplied: Supplied) {
    let info = sim.info();
    let local = sim.local_addr();
    println!("stripe-sim listening on {}", info.base_url);
    if info.base_url != format!("http://{local}") {
        println!("  bound to:     {local}");
    }
    if supplied.api_key {
        println!(
            "  API key:      the one given ({})",
            stripe_sim::redact_key(sim.api_key())
        );
    } else {
        println!("  API key:      {}", sim.api_key());
    }
    println!(
        "  dashboard:    {} (log in with the API key)",
        sim.dashboard_url()
    );
    println!("  API version:  {}", info.api_version);
    println!("  clock:        {:?}", info.clock);
    println!("  seed:         {}", info.seed);
    for (key, link) in &info.payment_links {
        println!("  payment link {key}: {} ({})", link.url, link.id);
    }
    let endpoints = sim.webhook_endpoints();
    for endpoint in &endpoints {
        println!(
            "  forwarding events {} to {}",
            endpoint.enabled_events.join(","),
            endpoint.url
        );
        if supplied.webhook_secret {
            println!(
                "  webhook signing secret: the one given by --webhook-secret / STRIPE_WEBHOOK_SECRET ({})",
                endpoint.id
            );
        } else {
            println!(
                "  webhook signing secret: {} ({})",
                endpoint.secret, endpoint.id
            );
        }
    }
    if endpoints.is_empty() {
        println!("  webhooks:     no endpoint yet; for one and its signing secret, start with --forward-to URL or POST /v1/webhook_endpoints (the answer holds the secret)");
    }
    print_state(sim);
    println!(
        "Point an SDK at it: stripe.api_base = \"{}\"",
        info.base_url
    );
}

/// Where the state is kept, and what a restart brought back.
fn print_state(sim: &Simulator) {
    match sim.state_file() {
        None => println!("  state:        in memory only (--state FILE to keep it)"),
        Some((path, restored)) if restored.existing => println!(
            "  state:        {} (restored {} objects, {} events, {} delivery records, {} deliveries to make)",
            path.display(),
            restored.objects,
            restored.events,
            restored.delivery_records,
            restored.waiting_deliveries
        ),
        Some((path, _)) => println!("  state:        {} (new)", path.display()),
    }
}

async fn trigger(args: TriggerArgs) -> Result<(), String> {
    if args.list {
        for (event, flow) in TRIGGERS {
            println!("{event:45} {flow}");
        }
        return Ok(());
    }
    let event = args.event.unwrap_or_default();
    if !TRIGGERS.iter().any(|(name, _)| *name == event) {
        return Err(stripe_sim::TriggerError::Unknown(event).to_string());
    }
    let client = SimClient::new(&args.api_base, &args.api_key);
    let mut endpoint_id = None;
    if let Some(url) = &args.forward_to {
        let form = [("url", url.clone()), ("enabled_events[0]", "*".to_string())];
        let created = client
            .post_form("/v1/webhook_endpoints", &form)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "forwarding to {url} with signing secret {}",
            created["secret"].as_str().unwrap_or_default()
        );
        endpoint_id = created["id"].as_str().map(str::to_string);
    }
    let outcome = stripe_sim::trigger(&client, &event).await;
    if let Some(id) = endpoint_id {
        // Let the deliveries finish before the temporary endpoint goes away.
        let _ = client
            .post_json(
                "/_sim/webhooks/flush",
                serde_json::json!({ "timeout_ms": 15_000 }),
            )
            .await;
        let _ = client.delete(&format!("/v1/webhook_endpoints/{id}")).await;
    }
    outcome.map_err(|e| e.to_string())?;
    println!("Trigger succeeded: {event} (see GET /v1/events)");
    Ok(())
}
