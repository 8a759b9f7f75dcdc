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
//! ```no_run
//! use stripe_sim::{Buyer, ClockMode, PaymentMethodInput, Simulator};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // A simulator on a free loopback port, with the shipped seed (the Lifetime link, USD 199.00)
//! // and a clock that only moves when told to.
//! let sim = Simulator::builder().clock(ClockMode::Manual).seed(42).start().await?;
//! println!("point your SDK at {} with key {}", sim.base_url(), sim.api_key());
//!
//! // A buyer opens the link for order 42 and pays with a SEPA debit that will succeed.
//! let link = sim.seeded_link("lifetime").expect("seeded");
//! let session = sim.visit_link(&link.id, Some("order_42"))?;
//! let session_id = session["id"].as_str().unwrap_or_default();
//! let _ = session_id;
//! // (SEPA needs a EUR session; with the USD link use a card or ACH.)
//! sim.pay(session_id, &PaymentMethodInput::card("4242424242424242"), &Buyer::default())?;
//!
//! // Three simulated minutes pass in microseconds.
//! sim.advance(180);
//! for event in sim.events() {
//!     println!("{}", event["type"]);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Map
//!
//! * [`Simulator`] / [`SimulatorBuilder`]: start, configure and drive a simulator.
//! * [`store`] and [`resources`]: the state and one file per Stripe resource (pure, synchronous).
//! * [`payment`]: buyers paying sessions; [`test_cards`]: what every test number does.
//! * [`http`]: the routes (`/v1`, hosted pages, `/_sim` control API).
//! * [`clock`], [`ids`]: injected time and seeded ids: nothing reads the wall clock or a global RNG.

#![recursion_limit = "512"] // Stripe objects have many fields for `json!` to expand.

pub mod clock;
pub mod config;
pub mod error;
pub mod expand;
pub mod form;
pub mod http;
pub mod ids;
pub mod params;
pub mod payment;
pub mod resources;
pub mod seed;
pub mod server;
pub mod shared;
pub mod store;
pub mod table;
pub mod test_cards;
pub mod trigger;
pub mod webhooks;

pub use clock::{Clock, ClockMode};
pub use config::{SimConfig, DEFAULT_API_KEY, DEFAULT_API_VERSION};
pub use error::{ApiError, ErrorType};
pub use payment::{Buyer, CardInput, PaymentMethodInput};
pub use resources::event::EventType;
pub use seed::SeedFile;
pub use server::{serve, PaymentLinkInfo, Simulator, SimulatorBuilder, StartError};
