//! `stripe-sim`: run an offline Stripe. All the logic lives in the library; this file parses
//! arguments, prints where things are, and serves until Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use stripe_sim::{ClockMode, SeedFile, SimulatorBuilder};

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
enum Command {
    /// Serve the Stripe API, hosted pages and the /_sim control API (the default).
    Serve(ServeArgs),
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
    /// API version stamped on events and objects.
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
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => ServeArgs::parse_from(["serve"]),
    };
    if let Err(message) = serve(args).await {
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
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(builder.into_shared(local).map_err(|e| e.to_string())?);
    print_banner(&shared);
    stripe_sim::serve(listener, shared, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

fn print_banner(shared: &stripe_sim::shared::Shared) {
    let config = &shared.config;
    println!("stripe-sim listening on {}", config.base_url);
    println!("  API key:      {}", config.api_key);
    println!("  API version:  {}", config.api_version);
    println!("  clock:        {:?}", shared.clock.mode());
    println!("  seed:         {}", config.seed);
    shared.with_store(|store, _| {
        for (key, id) in &store.seeded_links {
            if let Some(link) = store.payment_links.get(id) {
                println!("  payment link {key}: {} ({id})", link.url(config));
            }
        }
    });
    println!(
        "Point an SDK at it: stripe.api_base = \"{}\"",
        config.base_url
    );
}
