//! # reference-target: a correct Stripe Payment Links integration, with switchable bugs
//!
//! This crate implements the payment guide the harness judges targets against (orders created
//! before the redirect, signed webhooks as the source of truth, amount/currency/provider checks,
//! refunds, a read-only return route) the way a careful production app would. Eleven
//! [`Defect`]s switch in realistic bugs, one at a time, so the harness can prove it catches them.
//!
//! ## Quick start
//!
//! ```
//! use reference_target::{Config, Defect, RunningTarget};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A correct target on a free loopback port, talking to a Stripe simulator.
//! let target = RunningTarget::start(Config {
//!     port: 0,
//!     stripe_secret_key: "sk_test_123".into(),
//!     stripe_webhook_secret: "whsec_test_secret_0123456789abcdef".into(),
//!     stripe_api_base: "http://127.0.0.1:12111".into(),
//!     defect: None, // or Some(Defect::NoSig) to check that the harness notices
//!     ..Config::default()
//! })
//! .await?;
//! println!("orders at {}/api/orders, webhooks at {}", target.base_url(), target.webhook_url());
//!
//! // Orders can also be read in-process.
//! let order = target.state().order("some-order-id")?;
//! assert!(order.is_none());
//! # let _ = Defect::ALL;
//! target.stop().await?;
//! # Ok(()) }
//! ```
//!
//! From the command line: `cargo run -p reference-target -- --port 3000` with
//! `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` and `STRIPE_API_BASE` set (see the README).
//!
//! ## Map
//!
//! * [`http::router`]: the routes; [`run`] / [`serve`] / [`RunningTarget`]: serving them.
//! * [`webhook`]: the webhook receiver; [`rules`]: what each event does to an order (pure).
//! * [`signature`]: Stripe-Signature verification (and a signer for tests).
//! * [`capture`]: the read-only return route; [`stripe_api`]: the Stripe reads it and refunds use.
//! * [`store`]: SQLite, or [`memory_store`]; [`order`]: the order record and request validation.
//! * [`variant`]: switches between correct designs (early refunds, a second payment, storage);
//! * [`defect`]: the bug switch; [`config`], [`clock`], [`ids`]: injected settings, time, ids.

pub mod app;
pub mod capture;
pub mod clock;
pub mod config;
pub mod defect;
pub mod error;
pub mod http;
pub mod ids;
pub mod log;
pub mod memory_store;
pub mod order;
pub mod rules;
pub mod server;
pub mod signature;
pub mod store;
pub mod stripe_api;
pub mod stripe_objects;
pub mod variant;
pub mod webhook;

pub use app::{AppState, StartError};
pub use clock::Clock;
pub use config::Config;
pub use defect::{Defect, UnknownDefect};
pub use error::ApiError;
pub use http::router;
pub use order::{Order, OrderStatus};
pub use server::{banner, run, serve, RunningTarget};
pub use signature::{compute_signature, sign_header, SignatureError};
pub use variant::{Design, Variant};
