//! Webhook delivery, as Stripe does it.
//!
//! Every event is queued for each enabled endpoint whose `enabled_events` match
//! ([`log`]). The [`dispatcher`] sends due attempts on their own tasks, signed with the wall
//! clock of each attempt ([`signature`]); failures are retried on a [`schedule`] in simulator
//! time, so advancing a manual clock fires due retries at once. Test drivers can hold and
//! release deliveries in any order and inject [`faults`].

pub(crate) mod dispatcher;
pub(crate) mod faults;
pub(crate) mod log;
pub(crate) mod schedule;
pub mod signature;
