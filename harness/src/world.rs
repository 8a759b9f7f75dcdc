//! A scenario's world: what its aliases name, and what has been observed of the target so far.

use std::collections::{BTreeMap, HashMap};

use stripe_sim::{EndpointId, SessionId};

use crate::judge::{OrderInfo, RuleTally};
use crate::state::OrderState;
use crate::trace::Recorder;

/// Everything a scenario has made and seen, by alias.
pub(crate) struct World {
    /// The target's webhook endpoint in the simulator.
    pub(crate) endpoint_id: EndpointId,
    pub(crate) orders: Vec<OrderInfo>,
    /// Session alias (`s1`) → its Checkout Session.
    pub(crate) sessions: BTreeMap<String, SessionId>,
    /// Payment links made for (amount, lowercase currency), reused within the scenario.
    pub(crate) links: HashMap<(i64, String), stripe_sim::PaymentLinkId>,
    /// Per order alias: its state at the last observation.
    pub(crate) last: HashMap<String, OrderState>,
    /// Per order alias: every distinct state observed, in order.
    pub(crate) history: BTreeMap<String, Vec<OrderState>>,
    /// `snapshot` steps: label → per alias state.
    pub(crate) labelled: Vec<(String, BTreeMap<String, OrderState>)>,
    pub(crate) endpoint_down: bool,
    /// Stripe disabled the endpoint during an outage at some point: events made meanwhile were
    /// sent nowhere, and convergence resends them.
    pub(crate) endpoint_was_disabled: bool,
    /// Simulator time when the scenario started: convergence resends no older event.
    pub(crate) started_at: i64,
    /// Other histories share the simulator: their clock advances can expire this one's sessions.
    pub(crate) shared: bool,
    /// The delivery log's length when the scenario started: its checks look at what came after.
    pub(crate) deliveries_mark: usize,
    /// Every rule checked so far, passed or failed.
    pub(crate) tally: RuleTally,
    /// The trace of the steps so far.
    pub(crate) recorder: Recorder,
}

impl World {
    pub(crate) fn new(
        endpoint_id: EndpointId,
        shared: bool,
        deliveries_mark: usize,
        started_at: i64,
        recorder: Recorder,
    ) -> World {
        World {
            endpoint_id,
            orders: Vec::new(),
            sessions: BTreeMap::new(),
            links: HashMap::new(),
            last: HashMap::new(),
            history: BTreeMap::new(),
            labelled: Vec::new(),
            endpoint_down: false,
            endpoint_was_disabled: false,
            started_at,
            shared,
            deliveries_mark,
            tally: RuleTally::default(),
            recorder,
        }
    }

    pub(crate) fn order(&self, alias: &str) -> Result<&OrderInfo, String> {
        self.orders
            .iter()
            .find(|o| o.alias == alias)
            .ok_or_else(|| format!("no order named '{alias}' (create_order it first)"))
    }

    pub(crate) fn session(&self, alias: &str) -> Result<&SessionId, String> {
        self.sessions.get(alias).ok_or_else(|| {
            format!("no session named '{alias}' (open_link or create_session it first)")
        })
    }

    /// The alias of a session id, if the scenario made it.
    pub(crate) fn alias_of(&self, id: &str) -> Option<&str> {
        self.sessions
            .iter()
            .find(|(_, v)| v.as_str() == id)
            .map(|(k, _)| k.as_str())
    }

    /// Records an observed state.
    pub(crate) fn record(&mut self, alias: &str, state: OrderState) {
        self.last.insert(alias.to_string(), state);
        let history = self.history.entry(alias.to_string()).or_default();
        if history.last() != Some(&state) {
            history.push(state);
        }
    }
}
