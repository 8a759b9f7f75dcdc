//! # stripe-sim: an offline Stripe for Payment Links and Checkout
//!
//! stripe-sim speaks the Stripe API subset that Payment Link integrations use (`/v1` products,
//! prices, payment links, Checkout Sessions, PaymentIntents, PaymentMethods, charges, refunds,
//! events, customers), serves hosted payment-link and checkout pages, knows Stripe's test cards
//! and delayed payment methods, and runs on a clock you control. The official SDKs, pointed at
//! it, cannot tell it from Stripe for these flows.
//!
//! ## Quick start
//!
//! ```
//! use stripe_sim::{ClockMode, EndpointSpec, EventType, PaymentMethodInput, Simulator};
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
//! let session = sim.visit_link(&link.id, Some("order_42"), None)?;
//! let completed = sim.pay(&session.id, &PaymentMethodInput::us_bank_account("000123456789"), &Default::default())?;
//! assert_eq!(completed.payment_status.as_str(), "unpaid");
//! sim.advance(180)?; // microseconds of real time
//! assert_eq!(sim.events_of_type(EventType::CheckoutSessionAsyncPaymentSucceeded).len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! ## The public surface
//!
//! * [`Simulator`] / [`SimulatorBuilder`]: start, configure and stop a simulator. The handle
//!   dereferences to [`Control`], the typed control layer: every operation a test driver can do
//!   (pay, visit, advance, hold and release, faults, deliver, resend, reissue, roll a secret,
//!   reset, the delivery log, clock queries, [`Control::subscribe`] for live [`Notice`]s). The
//!   `/_sim` routes are a thin JSON adapter over the same layer, and the dashboard at
//!   `/_sim/dashboard` an HTML one.
//! * The shared vocabulary ([`FaultKind`], [`Forgery`], [`DuplicateMode`], [`ReleaseOrder`],
//!   [`DeliveryMode`], [`EventType`], statuses): enums that read and write themselves as
//!   snake_case words, so the control API's JSON, scenario files and the harness's property
//!   model use one set of words; an unknown word is an error listing the known ones.
//! * Typed ids ([`SessionId`], [`EventId`], …) with Stripe's prefixes, and typed views
//!   ([`CheckoutSessionView`], [`EventView`], [`DeliveryRecord`]).
//! * [`test_cards`]: what every test card, IBAN and ACH account does.
//!
//! ## Inside
//!
//! The layers, and what may call what:
//!
//! * wire (`http/`: `/v1`, hosted pages, `/_sim`; `dashboard/`: `/_sim/dashboard`): parses
//!   requests, calls the store (`/v1`, hosted pages) or the control layer (`/_sim`, the
//!   dashboard), renders answers. Nothing below calls it. `live.rs` carries notices of what
//!   happened up to the dashboard, built only while someone watches.
//! * control layer (`control/`): typed operations, validated once; calls the store and the
//!   dispatcher.
//! * store and domain (`store.rs`, `resources/`, `payment.rs`, `test_cards.rs`, `ids.rs`,
//!   `clock.rs`): pure, synchronous state transitions; no I/O, no clock reads, no global RNG.
//!   `versions.rs` renders every answer at the API version it is for.
//! * webhooks (`webhooks/`): the delivery log (pure) and the dispatcher, the only part that
//!   waits on the network, never under the store lock.
//! * bounded state (`retention.rs`, `idempotency.rs`): what is forgotten when, pure like the
//!   store; and persistence (`persist/`): with `--state`, every operation's changes are captured
//!   under the lock and committed to SQLite by one writer thread, the only disk I/O.

#![recursion_limit = "512"] // Stripe objects have many fields for `json!` to expand.

mod clock;
mod config;
mod control;
mod dashboard;
mod error;
mod expand;
mod facts;
pub mod form;
mod http;
mod idempotency;
mod ids;
mod live;
mod memory;
mod params;
mod payment;
mod persist;
mod resources;
mod retention;
mod seed;
mod server;
mod shared;
mod startup;
mod store;
mod table;
pub mod test_cards;
mod trigger;
mod typed_ids;
pub mod url_check;
mod versions;
mod vocabulary;
mod webhooks;

/// The calendar date of simulator (unix) time, for drivers that print dates (the harness's
/// reports).
pub use clock::civil_date;
pub use clock::ClockMode;
pub use config::{SimConfig, DEFAULT_API_KEY, DEFAULT_API_VERSION};
pub use control::{
    CheckoutSessionView, ClockState, Control, Delivery, DeliveryBody, DeliveryFilter, DeliveryPage,
    DeliveryStatus, DeliveryTarget, EventView, PaymentLinkInfo, Release, RolledSecret,
    SessionDetail, SimInfo, StorageInfo, WebhookEndpointInfo, MAX_ADVANCE, MAX_DELIVERY_PAGE,
    MAX_ROLL_OVERLAP,
};
pub use error::{ApiError, ErrorType};
pub use facts::{RefundHistory, SessionFacts};
pub use ids::fresh_seed;
pub use live::{Notice, Subscription};
pub use payment::{Buyer, CardInput, PaymentMethodInput};
pub use persist::{Restored, StateError};
pub use resources::checkout_session::{PaymentStatus, SessionStatus, DEFAULT_LIFETIME};
pub use resources::event::EventType;
pub use resources::payment_intent::PaymentIntentStatus;
pub use resources::webhook_endpoint::EndpointSpec;
pub use retention::{
    Retention, DEFAULT_DISABLE_ENDPOINT_AFTER, DEFAULT_MAX_RECORDS, DEFAULT_RETENTION_DAYS,
};
pub use seed::{SeedError, SeedFile};
pub use server::{Simulator, SimulatorBuilder, StartError};
pub use startup::{check_api_key, exposure_warning, redact_key};
pub use table::PageRequest;
pub use trigger::{trigger, SimClient, TriggerError, TRIGGERS};
pub use typed_ids::{
    ChargeId, DeliveryId, EndpointId, EventId, InvalidId, PaymentIntentId, PaymentLinkId, RefundId,
    SessionId,
};
pub use versions::ApiVersion;
pub use vocabulary::{UnknownWord, Vocabulary};
pub use webhooks::faults::{DuplicateMode, Fault, FaultKind, Forgery};
pub use webhooks::log::{
    Attempt, DeliveryMode, DeliveryRecord, RecordStatus, ReleaseOrder, ReleaseOrderWord,
};
pub use webhooks::schedule::RetryPolicy;
pub use webhooks::signature;
