//! Playing one scenario: each step against the simulator and the target, every order observed
//! after every step, then convergence and the final verdict.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stripe_sim::webhooks::log::{DeliveryMode, RecordStatus, ReleaseOrder};

use crate::harness::{scenario_seed, Harness};
use crate::judge::{check_final, check_observation, Facts, OrderInfo, Violation};
use crate::scenario::{Scenario, Step};
use crate::state::{ObservedOrder, OrderState};
use crate::steps::run_step;

/// How long deliveries may take to settle after a step before the target counts as hung.
const SETTLE: Duration = Duration::from_secs(20);

/// The rule a scenario fails when it cannot be played: a mistake in it, or a target error.
pub const UNPLAYABLE: &str = "the scenario can be played (set-up or target error)";

/// Where in the scenario something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based step number; 0 for set-up, steps+1 for convergence.
    pub step: usize,
    pub step_description: String,
    pub order: Option<String>,
    pub violation: Violation,
}

/// What happened when a scenario ran.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub name: String,
    pub path: Option<String>,
    pub rule: String,
    pub seed: u64,
    pub duration: Duration,
    pub failure: Option<Failure>,
    /// Per order alias: every distinct state observed, in order.
    pub history: BTreeMap<String, Vec<OrderState>>,
    /// Per order alias: the final observation, ids mapped to aliases.
    pub finals: BTreeMap<String, Value>,
    /// `snapshot` steps: label → per alias state.
    pub labelled: Vec<(String, BTreeMap<String, OrderState>)>,
}

impl ScenarioResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The snapshot of what the target did, with ids replaced by their aliases.
    pub fn snapshot(&self) -> Value {
        json!({
            "scenario": self.name,
            "verdict": if self.passed() { "pass".to_string() } else { format!("fail: {}", self.failure.as_ref().map(|f| f.violation.rule.clone()).unwrap_or_default()) },
            "observed": self.history,
            "final": self.finals,
            "snapshots": self.labelled.iter().map(|(l, s)| json!({ "label": l, "orders": s })).collect::<Vec<_>>(),
        })
    }
}

/// The scenario's world: aliases and what has been seen so far.
pub(crate) struct World {
    pub(crate) endpoint_id: String,
    pub(crate) orders: Vec<OrderInfo>,
    pub(crate) sessions: HashMap<String, String>,
    pub(crate) links: HashMap<(i64, String), String>,
    pub(crate) last: HashMap<String, OrderState>,
    pub(crate) history: BTreeMap<String, Vec<OrderState>>,
    pub(crate) labelled: Vec<(String, BTreeMap<String, OrderState>)>,
    pub(crate) endpoint_down: bool,
    /// Other histories share the simulator: their clock advances can expire this one's sessions.
    pub(crate) shared: bool,
    /// The delivery log's length when the scenario started: its checks look at what came after.
    pub(crate) deliveries_mark: usize,
}

impl World {
    pub(crate) fn order(&self, alias: &str) -> Result<&OrderInfo, String> {
        self.orders
            .iter()
            .find(|o| o.alias == alias)
            .ok_or_else(|| format!("no order named '{alias}' (create_order it first)"))
    }

    pub(crate) fn session(&self, alias: &str) -> Result<&String, String> {
        self.sessions.get(alias).ok_or_else(|| {
            format!("no session named '{alias}' (open_link or create_session it first)")
        })
    }

    fn alias_of(&self, id: &str) -> Option<String> {
        self.sessions
            .iter()
            .find(|(_, v)| *v == id)
            .map(|(k, _)| k.clone())
    }
}

/// A step outcome: `Err(Err)` is a mistake in the scenario or an unreachable target, reported as
/// such; `Err(Ok(v))` is a broken rule.
pub(crate) type StepResult = Result<(), Result<Violation, String>>;

pub(crate) fn setup(message: impl Into<String>) -> Result<Violation, String> {
    Err(message.into())
}

/// Plays `scenario` on a fresh simulator state.
pub async fn run_scenario(h: &Harness, scenario: &Scenario) -> ScenarioResult {
    let seed = scenario
        .seed
        .unwrap_or_else(|| scenario_seed(h.seed, &scenario.name));
    match h.reset(seed) {
        Ok(endpoint_id) => play_with(h, scenario, endpoint_id, seed, false).await,
        Err(message) => ScenarioResult {
            name: scenario.name.clone(),
            path: scenario.path.as_ref().map(|p| p.display().to_string()),
            rule: scenario.rule.clone(),
            seed,
            duration: Duration::ZERO,
            failure: Some(Failure {
                step: 0,
                step_description: "set-up".into(),
                order: None,
                violation: Violation::new(
                    "the harness can set up the scenario",
                    "a clean simulator",
                    message,
                ),
            }),
            history: BTreeMap::new(),
            finals: BTreeMap::new(),
            labelled: Vec::new(),
        },
    }
}

/// Plays `scenario` on the simulator as it is (no reset), delivering to `endpoint_id`: several
/// scenarios can share one simulator and one target this way, each on its own orders.
pub async fn play(
    h: &Harness,
    scenario: &Scenario,
    endpoint_id: String,
    seed: u64,
) -> ScenarioResult {
    play_with(h, scenario, endpoint_id, seed, true).await
}

async fn play_with(
    h: &Harness,
    scenario: &Scenario,
    endpoint_id: String,
    seed: u64,
    shared: bool,
) -> ScenarioResult {
    let started = Instant::now();
    let mut result = ScenarioResult {
        name: scenario.name.clone(),
        path: scenario.path.as_ref().map(|p| p.display().to_string()),
        rule: scenario.rule.clone(),
        seed,
        duration: Duration::ZERO,
        failure: None,
        history: BTreeMap::new(),
        finals: BTreeMap::new(),
        labelled: Vec::new(),
    };
    let mut world = World {
        endpoint_id,
        orders: Vec::new(),
        sessions: HashMap::new(),
        links: HashMap::new(),
        last: HashMap::new(),
        history: BTreeMap::new(),
        labelled: Vec::new(),
        endpoint_down: false,
        shared,
        deliveries_mark: h.sim.delivery_count(),
    };
    let mut failure = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        let outcome = match run_step(h, &mut world, step).await {
            Ok(()) => observe_all(h, &mut world).await,
            // In a shared simulator other histories move the clock: a step the model thought
            // possible (paying a session that has since expired, refunding a payment that never
            // happened because of it) is skipped. Broken rules are still failures.
            Err(Err(_))
                if world.shared
                    && !matches!(
                        step,
                        Step::CreateOrder(_) | Step::OpenLink(_) | Step::CreateSession(_)
                    ) =>
            {
                observe_all(h, &mut world).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            failure = Some(to_failure(index + 1, step.describe(), e));
            break;
        }
    }
    if failure.is_none() {
        if let Err(e) = converge(h, &mut world).await {
            failure = Some(to_failure(
                scenario.steps.len() + 1,
                "convergence: every delivery and retry done".into(),
                e,
            ));
        }
    }
    result.failure = failure;
    result.history = world.history.clone();
    result.labelled = world.labelled.clone();
    for order in &world.orders {
        if let Ok(observed) = h.target.get_order(&order.id).await {
            let alias = |id: &Option<String>| {
                id.as_ref()
                    .map(|i| world.alias_of(i).unwrap_or_else(|| "[unnamed]".to_string()))
            };
            result.finals.insert(
                order.alias.clone(),
                json!({
                    "status": observed.state,
                    "providerOrderId": alias(&observed.provider_order_id),
                    "providerCaptureId": observed.provider_capture_id.as_ref().map(|pi| {
                        world
                            .sessions
                            .iter()
                            .find(|(_, cs)| h.sim.object(cs).and_then(|s| s["payment_intent"].as_str().map(|p| p == pi)).unwrap_or(false))
                            .map(|(a, _)| format!("{a}.payment_intent"))
                            .unwrap_or_else(|| "[unnamed]".to_string())
                    }),
                }),
            );
        }
    }
    result.duration = started.elapsed();
    result
}

fn to_failure(step: usize, description: String, error: Result<Violation, String>) -> Failure {
    let (order, violation) = match error {
        Ok(v) => {
            let order = v
                .observed
                .split_once(": ")
                .map(|(o, _)| o.to_string())
                .filter(|o| o.starts_with("order "));
            (order, v)
        }
        Err(message) => (None, Violation::new(UNPLAYABLE, "no error", message)),
    };
    Failure {
        step,
        step_description: description,
        order,
        violation,
    }
}

pub(crate) async fn settle(h: &Harness) -> StepResult {
    if h.sim.wait_for_deliveries_so_far(SETTLE).await {
        Ok(())
    } else {
        Err(setup(format!(
            "webhook deliveries did not settle within {} s: the target does not answer",
            SETTLE.as_secs()
        )))
    }
}

/// Reads every order and checks the rules that hold at every observation.
async fn observe_all(h: &Harness, world: &mut World) -> StepResult {
    settle(h).await?;
    let facts = Facts::gather(&h.sim, &world.orders);
    for order in world.orders.clone() {
        let observed = h
            .target
            .get_order(&order.id)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let previous = world.last.get(&order.alias).copied();
        if let Some(v) = check_observation(&order, previous, &observed, &facts, &h.policy) {
            // The target may already show an event that happened after the facts were read
            // (another history moved the shared clock): read them again before judging.
            let fresh = Facts::gather(&h.sim, &world.orders);
            if check_observation(&order, previous, &observed, &fresh, &h.policy).is_some() {
                return Err(Ok(with_order(&order, v)));
            }
        }
        record(world, &order.alias, observed.state);
    }
    Ok(())
}

fn with_order(order: &OrderInfo, v: Violation) -> Violation {
    Violation {
        observed: format!("order {}: {}", order.alias, v.observed),
        ..v
    }
}

fn record(world: &mut World, alias: &str, state: OrderState) {
    world.last.insert(alias.to_string(), state);
    let history = world.history.entry(alias.to_string()).or_default();
    if history.last() != Some(&state) {
        history.push(state);
    }
}

pub(crate) async fn states(
    h: &Harness,
    world: &World,
) -> Result<BTreeMap<String, ObservedOrder>, Result<Violation, String>> {
    let mut out = BTreeMap::new();
    for order in &world.orders {
        out.insert(
            order.alias.clone(),
            h.target
                .get_order(&order.id)
                .await
                .map_err(|e| setup(e.to_string()))?,
        );
    }
    Ok(out)
}

/// `rule` is broken if any order changed between `before` and now.
pub(crate) async fn unchanged(
    h: &Harness,
    world: &World,
    before: &BTreeMap<String, ObservedOrder>,
    rule: &str,
) -> StepResult {
    settle(h).await?;
    if world.shared {
        // Other histories move the shared clock, so this order may legitimately settle or
        // expire meanwhile; the rules checked at every observation still hold.
        return Ok(());
    }
    let after = states(h, world).await?;
    for (alias, old) in before {
        if let Some(new) = after.get(alias) {
            if new.state != old.state || new.provider_order_id != old.provider_order_id {
                return Err(Ok(Violation::new(
                    rule,
                    format!("order {alias} stays {}", old.state),
                    format!("order {alias}: {}", new.state),
                )));
            }
        }
    }
    Ok(())
}

/// Lets every held delivery and retry finish, then checks the final states and the delivery log.
async fn converge(h: &Harness, world: &mut World) -> StepResult {
    h.sim.clear_faults();
    if world.endpoint_down {
        run_step(h, world, &Step::EndpointUp {}).await?;
    }
    h.sim
        .release(ReleaseOrder::AsIs, None)
        .await
        .map_err(|e| setup(e.message))?;
    h.sim.set_delivery_mode(DeliveryMode::Auto);
    for _ in 0..50 {
        settle(h).await?;
        let next = h.sim.next_delivery_due();
        let Some(next) = next else { break };
        h.sim.advance((next - h.sim.now()).max(1));
    }
    // What Stripe gave up on (the endpoint was down through every retry, or the target refused
    // an event it could not apply yet because an earlier one was lost) is resent, oldest first,
    // as an operator watching the delivery log would: the target must accept it now.
    let given_up: Vec<String> = h
        .sim
        .deliveries_since(world.deliveries_mark)
        .into_iter()
        .filter(|d| d.status == RecordStatus::Failed && d.endpoint_id == world.endpoint_id)
        .map(|d| d.event_id)
        .collect();
    for event_id in given_up {
        h.sim
            .resend(&event_id, Some(&world.endpoint_id))
            .await
            .map_err(|e| setup(e.message))?;
    }
    observe_all(h, world).await?;
    // In a shared simulator, facts can move just after the last delivery settled (another
    // history's clock advance): a mismatch is judged only if it survives a few fresh looks.
    let attempts = if world.shared { 4 } else { 1 };
    for order in world.orders.clone() {
        let mut verdict = None;
        for _ in 0..attempts {
            settle(h).await?;
            let facts = Facts::gather(&h.sim, &world.orders);
            let observed = h
                .target
                .get_order(&order.id)
                .await
                .map_err(|e| setup(e.to_string()))?;
            verdict = check_final(&order, &observed, &facts, &h.policy);
            if verdict.is_none() {
                break;
            }
        }
        if let Some(v) = verdict {
            return Err(Ok(with_order(&order, v)));
        }
    }
    for record in h.sim.deliveries_since(world.deliveries_mark) {
        for attempt in &record.attempts {
            // Only attempts that reached the target count: an unreachable endpoint answers nothing.
            if attempt.fault.is_some_and(|f| f.is_forgery())
                && attempt
                    .status_code
                    .is_some_and(|s| !(400..500).contains(&s))
            {
                return Err(Ok(Violation::new(
                    format!(
                        "a forged delivery ({}) is refused with 4xx",
                        attempt.fault.map(|f| f.as_str()).unwrap_or_default()
                    ),
                    format!("4xx for {}", record.event_type),
                    format!("{:?} {}", attempt.status_code, attempt.response),
                )));
            }
        }
        // Stripe gave up on it and the harness's resend was refused too.
        let accepted_at_last = record.attempts.last().is_some_and(|a| a.delivered());
        if record.status == RecordStatus::Failed && !accepted_at_last {
            let last = record.attempts.last();
            return Err(Ok(Violation::new(
                "genuine deliveries are answered 2xx (a non-2xx only until the event can be applied)",
                format!("{} {} accepted after retries", record.event_type, record.event_id),
                format!(
                    "still refused after {} attempts; last answer {} {}",
                    record.attempts.len(),
                    last.and_then(|a| a.status_code).map(|s| s.to_string()).unwrap_or_else(|| last.and_then(|a| a.error.clone()).unwrap_or_default()),
                    last.map(|a| a.response.clone()).unwrap_or_default()
                ),
            )));
        }
    }
    Ok(())
}
