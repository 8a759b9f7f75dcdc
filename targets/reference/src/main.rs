//! `reference-target`: parse the environment / flags, listen, print one line, serve until Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use reference_target::{banner, serve, AppState, Config, Defect};

#[derive(Parser)]
#[command(
    name = "reference-target",
    version,
    about = "A correct Stripe Payment Links integration with switchable defects"
)]
struct Cli {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Stripe secret key (sk_test_…).
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    stripe_secret_key: String,
    /// Webhook signing secret (whsec_…).
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    stripe_webhook_secret: String,
    /// Stripe's origin without /v1 (a simulator URL such as http://127.0.0.1:12111).
    #[arg(long, env = "STRIPE_API_BASE", default_value = reference_target::config::DEFAULT_STRIPE_API_BASE)]
    stripe_api_base: String,
    /// The app's public origin.
    #[arg(
        long,
        env = "NEXT_PUBLIC_APP_URL",
        default_value = "http://localhost:3000"
    )]
    app_url: String,
    /// SQLite database file; :memory: keeps orders in this process only.
    #[arg(long, env = "DATABASE_PATH", default_value = ":memory:")]
    database_path: String,
    /// The bug to switch on (empty for none).
    #[arg(long, env = "DEFECT", default_value = "", help = defect_help())]
    defect: String,
    /// Correct designs to use where the spec leaves room, separated by commas (empty for the
    /// default design).
    #[arg(long, env = "VARIANT", default_value = "", help = variant_help())]
    variant: String,
    /// Seed of the order-id sequence (random when unset).
    #[arg(long, env = "ORDER_ID_SEED")]
    order_id_seed: Option<u64>,
    /// Match request paths without percent-decoding them (404 for `/api/orders/a%2Db`), as
    /// Python's http.server does.
    #[arg(long, env = "LITERAL_PATHS")]
    literal_paths: bool,
}

fn variant_help() -> String {
    format!(
        "Correct designs to use where the spec leaves room, separated by commas (empty for the default): {}",
        reference_target::Variant::names()
    )
}

fn defect_help() -> String {
    format!("The bug to switch on (empty for none): {}", Defect::names())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match start(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reference-target: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn start(cli: Cli) -> Result<(), String> {
    let defect = Defect::parse_optional(&cli.defect).map_err(|e| e.to_string())?;
    let design = reference_target::Design::parse(&cli.variant).map_err(|e| e.to_string())?;
    if cli.stripe_api_base.starts_with("https://") {
        eprintln!(
            "reference-target: warning: this build has no TLS backend, so {} cannot be reached; point STRIPE_API_BASE at an http:// simulator",
            cli.stripe_api_base
        );
    }
    let config = Config {
        port: cli.port,
        stripe_secret_key: cli.stripe_secret_key,
        stripe_webhook_secret: cli.stripe_webhook_secret,
        stripe_api_base: cli.stripe_api_base,
        app_url: cli.app_url,
        database_path: cli.database_path,
        defect,
        design,
        order_id_seed: cli.order_id_seed,
        literal_paths: cli.literal_paths,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState::new(config).map_err(|e| e.to_string())?;
    println!("{}", banner(addr, defect, design));
    serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Ctrl-C, or SIGTERM from a harness or process manager: both finish in-flight requests first.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
