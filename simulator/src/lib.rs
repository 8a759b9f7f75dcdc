//! # stripe-sim: an offline Stripe for Payment Links and Checkout
//!
//! stripe-sim speaks the Stripe API subset that Payment Link integrations use (`/v1` products,
//! prices, payment links, Checkout Sessions, PaymentIntents, charges, refunds, events, customers),
//! serves hosted payment-link and checkout pages, knows Stripe's test cards and delayed payment
//! methods, and runs on a clock you control. The official SDKs, pointed at it, cannot tell it
//! from Stripe for these flows.
//!
//! ## Quick start
//!
//! ```
//! use stripe_sim::resources::webhook_endpoint::EndpointSpec;
//! use stripe_sim::{Buyer, ClockMode, PaymentMethodInput, Simulator};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A simulator on a free loopback port, with the shipped seed (the Lifetime link, USD 199.00)
//! // and a clock that only moves when told to.
//! let sim = Simulator::builder().clock(ClockMode::Manual).seed(42).start().await?;
//! println!("point your SDK at {} with key {}", sim.base_url(), sim.api_key());
//!
//! // Your app's webhook endpoint: deliveries are signed with this secret.
//! let endpoint = sim.add_webhook_endpoint(EndpointSpec::all_events("http://127.0.0.1:3000/api/webhooks/stripe"))?;
//! assert!(endpoint.secret.starts_with("whsec_"));
//!
//! // A buyer opens the link for order 42 and pays by ACH Direct Debit (a USD link): the
//! // session completes unpaid, and the payment settles three simulated minutes later.
//! let link = sim.seeded_link("lifetime").expect("the shipped seed has it");
//! let session = sim.visit_link(&link.id, Some("order_42"))?;
//! let session_id = session["id"].as_str().unwrap_or_default();
//! let completed = sim.pay(session_id, &PaymentMethodInput::us_bank_account("000123456789"), &Buyer::default())?;
//! assert_eq!(completed["payment_status"], "unpaid");
//! sim.advance(180); // microseconds of real time
//! let types: Vec<_> = sim.events().iter().map(|e| e["type"].as_str().unwrap_or_default().to_string()).collect();
//! assert!(types.contains(&"checkout.session.async_payment_succeeded".to_string()));
//! # Ok(())
//! # }
//! ```
//!
//! ## Map
//!
//! * [`Simulator`] / [`SimulatorBuilder`]: start, configure and drive a simulator.
//! * [`store`] and [`resources`]: the state and one file per Stripe resource (pure, synchronous).
//! * [`payment`]: buyers paying sessions; [`test_cards`]: what every test number does.
//! * [`http`]: the routes (`/v1`, hosted pages, `/_sim` control API).
//! * [`webhooks`]: signed delivery, retries, the delivery log, hold/release and faults.
//! * [`trigger`]: the flows behind `stripe-sim trigger <event>`.
//! * [`clock`], [`ids`]: injected time and seeded ids: nothing reads the wall clock or a global RNG.

#![recursion_limit = "512"] // Stripe objects have many fields for `json!` to expand.

pub mod clock;
pub mod config;
pub mod error;
pub mod expand;
pub mod facts;
pub mod form;
pub mod http;
pub mod ids;
pub mod params;
pub mod payment;
pub mod resources;
pub mod seed;
pub mod server;
pub mod shared;
pub mod startup;
pub mod store;
pub mod table;
pub mod test_cards;
pub mod trigger;
pub mod url_check;
pub mod webhooks;

pub use clock::{Clock, ClockMode};
pub use config::{SimConfig, DEFAULT_API_KEY, DEFAULT_API_VERSION};
pub use error::{ApiError, ErrorType};
pub use payment::{Buyer, CardInput, PaymentMethodInput};
pub use resources::event::EventType;
pub use seed::SeedFile;
pub use server::{serve, PaymentLinkInfo, Simulator, SimulatorBuilder, StartError};
