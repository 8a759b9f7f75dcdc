//! The simulator's whole state: every object, the event log, the idempotency records and the
//! timeline of scheduled jobs.
//!
//! `Store` is plain synchronous data. Operations on it (one file per resource, as `impl Store`
//! blocks) take the current simulator time as an argument and never read a clock, sleep or do
//! I/O, so the server can hold its lock for the few microseconds an operation takes and never
//! across an `.await`.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::config::SimConfig;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::IdempotencyKeys;
pub use crate::idempotency::IdempotencyRecord;
use crate::ids::IdGenerator;
use crate::params::Params;
use crate::resources::{
    charge::Charge, checkout_session::CheckoutSession, customer::Customer, event::Event,
    payment_intent::PaymentIntent, payment_link::PaymentLink, payment_method::PaymentMethod,
    price::Price, product::Product, refund::Refund, webhook_endpoint::WebhookEndpoint,
};
use crate::table::{Identified, PageRequest, Table};
use crate::webhooks::log::DeliveryLog;

/// Work the simulator does later, at a given simulator time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Job {
    /// Expire the session if it is still open.
    ExpireSession(String),
    /// Settle a delayed (bank debit) payment: succeed or fail it as its test account says.
    SettlePayment(String),
    /// Settle an asynchronous refund (pending → succeeded, or succeeded → failed).
    SettleRefund(String),
}

#[derive(Debug)]
pub struct Store {
    pub config: SimConfig,
    /// Every object id and random choice. Only operations that succeed (or end in a card
    /// decline, a real outcome) move it: see [`Store::undo_ids_on_failure`].
    pub ids: IdGenerator,
    /// `Request-Id`s, from their own stream: every request gets one, failed ones too, and they
    /// must not shift the ids of the objects that later requests create.
    pub request_ids: IdGenerator,
    pub customers: Table<Customer>,
    pub products: Table<Product>,
    pub prices: Table<Price>,
    pub payment_links: Table<PaymentLink>,
    /// Hosted link token (`test_…` in `/b/test_…`) → payment link id.
    pub link_tokens: HashMap<String, String>,
    pub sessions: Table<CheckoutSession>,
    pub payment_intents: Table<PaymentIntent>,
    pub payment_methods: Table<PaymentMethod>,
    pub charges: Table<Charge>,
    pub refunds: Table<Refund>,
    pub events: Table<Event>,
    pub webhook_endpoints: Table<WebhookEndpoint>,
    pub deliveries: DeliveryLog,
    pub idempotency: IdempotencyKeys,
    /// Scheduled jobs by (due time, sequence number): the sequence keeps same-second jobs in the
    /// order they were scheduled, so replays are deterministic.
    pub(crate) timeline: BTreeMap<(i64, u64), Job>,
    pub(crate) timeline_seq: u64,
    /// Timeline keys scheduled or run since the state file was last told; `None` without one.
    pub(crate) timeline_changes: Option<Vec<(i64, u64)>>,
    /// Seed-file keys (`lifetime`) → payment link ids, for helpers and the start-up banner.
    pub seeded_links: BTreeMap<String, String>,
    /// Events dropped by retention since the start (or the last reset).
    pub events_dropped: u64,
}

/// Sets the request id stream apart from the object stream of the same seed.
const REQUEST_STREAM: u64 = 0x7265_7175_6573_7473; // "requests"

impl Store {
    pub fn new(config: SimConfig) -> Self {
        Store {
            ids: IdGenerator::new(config.seed),
            request_ids: IdGenerator::new(config.seed ^ REQUEST_STREAM),
            customers: Table::default(),
            products: Table::default(),
            prices: Table::default(),
            payment_links: Table::default(),
            link_tokens: HashMap::new(),
            sessions: Table::default(),
            payment_intents: Table::default(),
            payment_methods: Table::default(),
            charges: Table::default(),
            refunds: Table::default(),
            events: Table::default(),
            webhook_endpoints: Table::default(),
            deliveries: DeliveryLog::new(config.retry_policy.clone()),
            idempotency: IdempotencyKeys::default(),
            timeline: BTreeMap::new(),
            timeline_seq: 0,
            timeline_changes: None,
            seeded_links: BTreeMap::new(),
            events_dropped: 0,
            config,
        }
    }

    /// Runs one operation so that a failure leaves the id generator as it was: the same seed and
    /// the same successful requests give the same ids, whatever failed requests came between
    /// them. A card decline (402) is a real outcome with objects of its own and keeps its ids.
    /// Operations check before they store, so a failure has stored nothing; should one ever have
    /// stored something, its ids stay drawn rather than be handed out twice.
    pub fn undo_ids_on_failure<R>(
        &mut self,
        op: impl FnOnce(&mut Store) -> ApiResult<R>,
    ) -> ApiResult<R> {
        let ids = self.ids.clone();
        let stored = self.stored_count();
        let result = op(self);
        if let Err(e) = &result {
            if e.status != 402 && self.stored_count() == stored {
                self.ids = ids;
            }
        }
        result
    }

    /// How many things with ids the store holds: a cheap witness that an operation stored one.
    fn stored_count(&self) -> usize {
        self.customers.len()
            + self.products.len()
            + self.prices.len()
            + self.payment_links.len()
            + self.sessions.len()
            + self.payment_intents.len()
            + self.charges.len()
            + self.refunds.len()
            + self.payment_methods.len()
            + self.events.len()
            + self.webhook_endpoints.len()
            + self.deliveries.len()
            + self.timeline.len()
    }

    pub fn schedule(&mut self, due: i64, job: Job) {
        self.timeline_seq += 1;
        self.timeline.insert((due, self.timeline_seq), job);
        if let Some(changes) = &mut self.timeline_changes {
            changes.push((due, self.timeline_seq));
        }
    }

    /// The time of the next scheduled job, if any.
    pub fn next_due(&self) -> Option<i64> {
        self.timeline.keys().next().map(|(due, _)| *due)
    }

    /// Runs every job due at or before `now`, in time order, each at its own due time so that
    /// the objects and events it creates carry the time it really happened; then drops what
    /// retention says is past its time.
    pub fn run_due(&mut self, now: i64) {
        self.idempotency.now = now;
        while let Some(entry) = self.timeline.first_entry() {
            let key = *entry.key();
            let (due, _) = key;
            if due > now {
                break;
            }
            let job = entry.remove();
            if let Some(changes) = &mut self.timeline_changes {
                changes.push(key);
            }
            match job {
                Job::ExpireSession(id) => self.expire_session_if_open(&id, due),
                Job::SettlePayment(id) => self.settle_payment(&id, due),
                Job::SettleRefund(id) => self.settle_refund(&id, due),
            }
        }
        self.enforce_retention(now);
    }

    /// Renders any object by its id, for `expand[]`.
    pub fn render_by_id(&self, id: &str) -> Option<Value> {
        let prefix = id.split('_').next().unwrap_or_default();
        match prefix {
            "cus" => self.customers.get(id).map(|o| o.render()),
            "prod" => self.products.get(id).map(|o| o.render()),
            "price" => self.prices.get(id).map(|o| o.render()),
            "plink" => self.payment_links.get(id).map(|o| o.render(&self.config)),
            "cs" => self.sessions.get(id).map(|o| o.render(&self.config)),
            "pi" => self.payment_intents.get(id).map(|o| o.render()),
            "pm" => self.payment_methods.get(id).map(|o| o.render()),
            "ch" => self.charges.get(id).map(|o| o.render()),
            "re" => self.refunds.get(id).map(|o| o.render()),
            "evt" => self.events.get(id).map(|e| self.event_value(e, None)),
            "we" => self.webhook_endpoints.get(id).map(|o| o.render()),
            _ => None,
        }
    }
}

/// The lists API versions before 2022-11-15 embed, from the objects as they are now.
impl crate::versions::Embedded for Store {
    fn charge_refunds(&self, charge: &str) -> Value {
        let data = self
            .refunds
            .iter()
            .rev()
            .filter(|r| r.charge == charge)
            .map(Refund::render)
            .collect();
        crate::versions::embedded_list(&format!("/v1/charges/{charge}/refunds"), data)
    }

    fn intent_charges(&self, intent: &str) -> Value {
        let data = self
            .charges
            .iter()
            .rev()
            .filter(|c| c.payment_intent == intent)
            .map(Charge::render)
            .collect();
        crate::versions::embedded_list(&format!("/v1/charges?payment_intent={intent}"), data)
    }
}

/// The common parameters of every list endpoint, plus the endpoint's own filters in `params`.
#[derive(Debug)]
pub struct ListQuery {
    pub params: Params,
    pub page: PageRequest,
}

impl ListQuery {
    /// Reads `limit` (1 to 100, default 10), `starting_after` and `ending_before`.
    pub fn from_params(mut params: Params) -> ApiResult<ListQuery> {
        let limit = match params.integer("limit")? {
            None => 10,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(
                    format!("Invalid limit: must be between 1 and 100 (got {n})"),
                    Some("limit"),
                ))
            }
        };
        let starting_after = params.string("starting_after")?;
        let ending_before = params.string("ending_before")?;
        if starting_after.is_some() && ending_before.is_some() {
            return Err(ApiError::invalid(
                "You may only specify one of these parameters: ending_before, starting_after.",
                Some("ending_before"),
            ));
        }
        Ok(ListQuery {
            params,
            page: PageRequest {
                limit,
                starting_after,
                ending_before,
            },
        })
    }

    /// Checks that no unknown parameter is left, then renders one page as a list object.
    pub fn list<T: Identified>(
        self,
        table: &Table<T>,
        object_name: &str,
        url: &str,
        keep: impl Fn(&T) -> bool,
        render: impl Fn(&T) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        self.params.finish()?;
        let (items, has_more) = table.page(&self.page, object_name, keep)?;
        let data = items
            .into_iter()
            .map(render)
            .collect::<ApiResult<Vec<Value>>>()?;
        Ok(list_object(url, data, has_more))
    }
}

/// `{"object": "list", "url", "has_more", "data"}`.
pub fn list_object(url: &str, data: Vec<Value>, has_more: bool) -> Value {
    json!({
        "object": "list",
        "data": data,
        "has_more": has_more,
        "url": url,
    })
}

/// When and why an operation runs: the simulator time and the API request behind it.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub now: i64,
    pub request: crate::resources::event::RequestMeta,
}

impl Ctx {
    /// An operation the simulator does on its own (a buyer's payment, a settlement, an expiry).
    pub fn automatic(now: i64) -> Ctx {
        Ctx {
            now,
            request: Default::default(),
        }
    }
}
