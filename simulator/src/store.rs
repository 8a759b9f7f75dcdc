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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Expire the session if it is still open.
    ExpireSession(String),
    /// Settle a delayed (bank debit) payment: succeed or fail it as its test account says.
    SettlePayment(String),
    /// Settle an asynchronous refund (pending → succeeded, or succeeded → failed).
    SettleRefund(String),
}

/// What an idempotency key remembers: the request it was first used with and its answer.
#[derive(Debug, Clone)]
pub enum IdempotencyRecord {
    InFlight {
        fingerprint: String,
    },
    Done {
        fingerprint: String,
        status: u16,
        body: Vec<u8>,
    },
}

#[derive(Debug)]
pub struct Store {
    pub config: SimConfig,
    pub ids: IdGenerator,
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
    pub idempotency: HashMap<String, IdempotencyRecord>,
    /// Scheduled jobs by (due time, sequence number): the sequence keeps same-second jobs in the
    /// order they were scheduled, so replays are deterministic.
    timeline: BTreeMap<(i64, u64), Job>,
    timeline_seq: u64,
    /// Seed-file keys (`lifetime`) → payment link ids, for helpers and the start-up banner.
    pub seeded_links: BTreeMap<String, String>,
}

impl Store {
    pub fn new(config: SimConfig) -> Self {
        Store {
            ids: IdGenerator::new(config.seed),
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
            idempotency: HashMap::new(),
            timeline: BTreeMap::new(),
            timeline_seq: 0,
            seeded_links: BTreeMap::new(),
            config,
        }
    }

    pub fn schedule(&mut self, due: i64, job: Job) {
        self.timeline_seq += 1;
        self.timeline.insert((due, self.timeline_seq), job);
    }

    /// The time of the next scheduled job, if any.
    pub fn next_due(&self) -> Option<i64> {
        self.timeline.keys().next().map(|(due, _)| *due)
    }

    /// Runs every job due at or before `now`, in time order, each at its own due time so that
    /// the objects and events it creates carry the time it really happened.
    pub fn run_due(&mut self, now: i64) {
        while let Some(entry) = self.timeline.first_entry() {
            let (due, _) = *entry.key();
            if due > now {
                break;
            }
            let job = entry.remove();
            match job {
                Job::ExpireSession(id) => self.expire_session_if_open(&id, due),
                Job::SettlePayment(id) => self.settle_payment(&id, due),
                Job::SettleRefund(id) => self.settle_refund(&id, due),
            }
        }
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
