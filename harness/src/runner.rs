//! Playing one scenario: each step against the simulator and the target, every order observed
//! after every step, then convergence and the final verdict.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stripe_sim::{DeliveryMode, EndpointId, EventId, RecordStatus, Release};

use crate::harness::{scenario_seed, Harness};
use crate::judge::{
    allowances, check_final, check_observation, Facts, OrderInfo, RuleTally, Violation,
};
use crate::rules::Rule;
use crate::scenario::{Scenario, Step};
use crate::state::OrderState;
use crate::steps::{endpoint_disabled, run_step, settle, StepOutcome, StepResult, Stop};
use crate::trace::{Recorder, StepTrace, TraceLevel, TraceOptions};
use crate::world::World;

/// Where in the scenario something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based step number; 0 for set-up, steps+1 for convergence.
    pub step: usize,
    pub step_description: String,
    pub order: Option<String>,
    pub violation: Violation,
    /// For a snapshot that differs (`snapshot-matches`): the line diff from the accepted
    /// snapshot to what the target did.
    pub diff: Option<String>,
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
    /// Per order alias: the order as the target answered at the end, raw (ids not replaced).
    /// Recorded with a full trace only, as `aliases` (property histories do without).
    pub final_orders: BTreeMap<String, Value>,
    /// Every id the scenario made that has an alias: id → alias (orders `a`, sessions `s1`,
    /// `s1.payment_intent`, `s1.charge`), for showing the target's answers without raw ids.
    pub aliases: BTreeMap<String, String>,
    /// Every rule the judge checked, passed or failed.
    pub tally: RuleTally,
    /// Step by step, what happened (empty with a summary trace).
    pub trace: Vec<StepTrace>,
    /// Why the scenario was not played (it needs a route the target file says the app does
    /// not have); `None` when it was played.
    pub skipped: Option<String>,
}

impl ScenarioResult {
    /// Not failed: passed, or skipped.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    pub fn was_skipped(&self) -> bool {
        self.skipped.is_some()
    }

    /// The result of `scenario` before anything is played: no failure, nothing observed.
    pub(crate) fn unplayed(scenario: &Scenario, seed: u64) -> ScenarioResult {
        ScenarioResult {
            name: scenario.name.clone(),
            path: scenario.path.as_ref().map(|p| p.display().to_string()),
            rule: scenario.rule.clone(),
            seed,
            duration: Duration::ZERO,
            failure: None,
            history: BTreeMap::new(),
            finals: BTreeMap::new(),
            labelled: Vec::new(),
            final_orders: BTreeMap::new(),
            aliases: BTreeMap::new(),
            tally: RuleTally::default(),
            trace: Vec::new(),
            skipped: None,
        }
    }

    /// A result for a scenario that was not played, and why.
    fn skip(scenario: &Scenario, seed: u64, reason: String) -> ScenarioResult {
        ScenarioResult {
            skipped: Some(reason),
            ..ScenarioResult::unplayed(scenario, seed)
        }
    }

    /// The snapshot of what the target did, with ids replaced by their aliases.
    pub fn snapshot(&self) -> Value {
        json!({
            "scenario": self.name,
            "verdict": match &self.failure {
                None => "pass".to_string(),
                Some(f) => format!("fail: {}", f.violation.rule),
            },
            "observed": self.history,
            "final": self.finals,
            "snapshots": self.labelled.iter().map(|(l, s)| json!({ "label": l, "orders": s })).collect::<Vec<_>>(),
        })
    }
}

/// Plays `scenario` on a fresh simulator state, recording its full trace.
pub async fn run_scenario(h: &Harness, scenario: &Scenario) -> ScenarioResult {
    run_scenario_with(h, scenario, TraceOptions::FULL).await
}

/// [`run_scenario`], recording as much as `options` says.
pub async fn run_scenario_with(
    h: &Harness,
    scenario: &Scenario,
    options: TraceOptions,
) -> ScenarioResult {
    let seed = scenario
        .seed
        .unwrap_or_else(|| scenario_seed(h.seed, &scenario.name));
    if let Some(reason) = skip_reason(h, scenario) {
        return ScenarioResult::skip(scenario, seed, reason);
    }
    match h.reset(seed) {
        Ok(endpoint_id) => play_with(h, scenario, endpoint_id, seed, false, options).await,
        Err(message) => ScenarioResult {
            failure: Some(Failure {
                step: 0,
                step_description: "set-up".into(),
                order: None,
                violation: Violation::new(
                    Rule::Playable,
                    "the harness could not reset the simulator for the scenario",
                    "a clean simulator",
                    message,
                ),
                diff: None,
            }),
            ..ScenarioResult::unplayed(scenario, seed)
        },
    }
}

/// Why `scenario` cannot be played against this target, if it cannot: it needs a route the
/// target file says the app does not have.
pub fn skip_reason(h: &Harness, scenario: &Scenario) -> Option<String> {
    let needs_return_route = scenario.steps.iter().any(|s| matches!(s, Step::Capture(_)));
    (needs_return_route && !h.target.has_return_route()).then(|| {
        "it needs the return route, and the target file says the app has none ([routes].capture = false)".to_string()
    })
}

/// Plays `scenario` on the simulator as it is (no reset), delivering to `endpoint_id`: several
/// scenarios can share one simulator and one target this way, each on its own orders.
pub async fn play(
    h: &Harness,
    scenario: &Scenario,
    endpoint_id: EndpointId,
    seed: u64,
    options: TraceOptions,
) -> ScenarioResult {
    play_with(h, scenario, endpoint_id, seed, true, options).await
}

async fn play_with(
    h: &Harness,
    scenario: &Scenario,
    endpoint_id: EndpointId,
    seed: u64,
    shared: bool,
    options: TraceOptions,
) -> ScenarioResult {
    let started = Instant::now();
    let mut result = ScenarioResult::unplayed(scenario, seed);
    h.target
        .calls()
        .set_recording(options.level == TraceLevel::Full);
    if options.verbose {
        println!("{}  (seed {seed})", scenario.name);
    }
    let mut world = World::new(
        endpoint_id,
        shared,
        h.sim.delivery_count(),
        h.sim.now(),
        Recorder::new(options),
    );
    let mut failure = None;
    for (index, step) in scenario.steps.iter().enumerate() {
        begin_step(h, &mut world, index + 1, step.describe());
        let outcome = match run_step(h, &mut world, step).await {
            StepOutcome::Played => observe_all(h, &mut world).await,
            // In a shared simulator other histories move the clock: a step the model thought
            // possible (paying a session that has since expired, refunding a payment that never
            // happened because of it) is skipped. Broken rules are still failures.
            StepOutcome::CannotPlay(_)
                if world.shared
                    && !matches!(
                        step,
                        Step::CreateOrder(_) | Step::OpenLink(_) | Step::CreateSession(_)
                    ) =>
            {
                observe_all(h, &mut world).await
            }
            StepOutcome::Broken(v) => Err(Stop::Broken(v)),
            StepOutcome::CannotPlay(m) => Err(Stop::CannotPlay(m)),
        };
        end_step(h, &mut world, &outcome);
        if let Err(e) = outcome {
            failure = Some(to_failure(index + 1, step.describe(), e));
            break;
        }
    }
    if failure.is_none() {
        let number = scenario.steps.len() + 1;
        let description = "convergence: every delivery and retry done";
        begin_step(h, &mut world, number, description.to_string());
        let outcome = converge(h, &mut world).await;
        end_step(h, &mut world, &outcome);
        if let Err(e) = outcome {
            failure = Some(to_failure(number, description.into(), e));
        }
    }
    if let Some(f) = &failure {
        if f.violation.rule == Rule::Playable {
            world.tally.fail(Rule::Playable);
        }
    }
    result.failure = failure;
    result.tally = world.tally.clone();
    result.trace = std::mem::take(&mut world.recorder).finish();
    result.history = world.history.clone();
    result.labelled = world.labelled.clone();
    let full = options.level == TraceLevel::Full;
    if full {
        result.aliases = aliases(h, &world);
    }
    for order in &world.orders {
        if let Ok(observed) = h.target.get_order(&order.id).await {
            let session_alias = |id: &Option<String>| {
                id.as_ref()
                    .map(|i| world.alias_of(i).unwrap_or("[unnamed]").to_string())
            };
            let intent_alias = |id: &Option<String>| {
                id.as_ref().map(|pi| {
                    world
                        .sessions
                        .iter()
                        .find(|(_, cs)| {
                            h.sim
                                .session(cs)
                                .and_then(|s| s.payment_intent)
                                .is_some_and(|p| p == pi.as_str())
                        })
                        .map(|(a, _)| format!("{a}.payment_intent"))
                        .unwrap_or_else(|| "[unnamed]".to_string())
                })
            };
            if full {
                result
                    .final_orders
                    .insert(order.alias.clone(), observed.raw.clone());
            }
            result.finals.insert(
                order.alias.clone(),
                json!({
                    "status": observed.state,
                    "providerOrderId": session_alias(&observed.provider_order_id),
                    "providerCaptureId": intent_alias(&observed.provider_capture_id),
                }),
            );
        }
    }
    result.duration = started.elapsed();
    result
}

/// Every id the scenario gave a name: its orders, its sessions, their PaymentIntents and the
/// PaymentIntents' latest charges.
fn aliases(h: &Harness, world: &World) -> BTreeMap<String, String> {
    let mut aliases = BTreeMap::new();
    for order in &world.orders {
        aliases.insert(order.id.clone(), order.alias.clone());
    }
    for (alias, session) in &world.sessions {
        aliases.insert(session.to_string(), alias.clone());
        let Some(intent) = h.sim.session(session).and_then(|s| s.payment_intent) else {
            continue;
        };
        let charge = h.sim.object(intent.as_str()).and_then(|pi| {
            pi.get("latest_charge")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        aliases.insert(intent.to_string(), format!("{alias}.payment_intent"));
        if let Some(charge) = charge {
            aliases.insert(charge, format!("{alias}.charge"));
        }
    }
    aliases
}

/// Marks the start of a step in the trace.
fn begin_step(h: &Harness, world: &mut World, number: usize, step: String) {
    let mut recorder = std::mem::take(&mut world.recorder);
    recorder.begin(h, world, number, step);
    world.recorder = recorder;
}

/// Closes a step's trace with how it ended.
fn end_step(h: &Harness, world: &mut World, outcome: &StepResult) {
    let mut recorder = std::mem::take(&mut world.recorder);
    let outcome = match outcome {
        Ok(()) => "played".to_string(),
        Err(Stop::Broken(v)) => format!("broke {}", v.rule),
        Err(Stop::CannotPlay(_)) => "could not be played".to_string(),
    };
    recorder.end(h, world, outcome);
    world.recorder = recorder;
}

fn to_failure(step: usize, description: String, stop: Stop) -> Failure {
    let (order, violation) = match stop {
        Stop::Broken(v) => {
            let order = v
                .observed
                .split_once(": ")
                .map(|(o, _)| o.to_string())
                .filter(|o| o.starts_with("order "));
            (order, v)
        }
        Stop::CannotPlay(message) => (
            None,
            Violation::new(
                Rule::Playable,
                "the step could not be played (a mistake in the scenario, or the target or the simulator did not answer)",
                "no error",
                message,
            ),
        ),
    };
    Failure {
        step,
        step_description: description,
        order,
        violation,
        diff: None,
    }
}

/// Reads every order and checks the rules that hold at every observation.
async fn observe_all(h: &Harness, world: &mut World) -> StepResult {
    settle(h).await?;
    let facts = Facts::gather(&h.sim, &world.orders, &world.sessions);
    for order in world.orders.clone() {
        let observed = h.target.get_order(&order.id).await?;
        let previous = world.last.get(&order.alias).copied();
        let mut tally = RuleTally::default();
        let mut verdict =
            check_observation(&order, previous, &observed, &facts, &h.policy, &mut tally);
        if verdict.is_some() {
            // The target may already show an event that happened after the facts were read
            // (another history moved the shared clock): read them again before judging.
            let fresh = Facts::gather(&h.sim, &world.orders, &world.sessions);
            tally = RuleTally::default();
            verdict = check_observation(&order, previous, &observed, &fresh, &h.policy, &mut tally);
        }
        world.tally.merge(&tally);
        if world.recorder.full() {
            let allowed = allowances(&order, previous, &facts, &h.policy);
            let session_alias = observed
                .provider_order_id
                .as_deref()
                .and_then(|id| world.alias_of(id))
                .map(str::to_string);
            let word = observed
                .raw
                .pointer(&h.target.file.fields.status)
                .and_then(Value::as_str);
            world.recorder.observe(
                &order.alias,
                &observed,
                word,
                session_alias.as_deref(),
                allowed,
            );
        }
        if let Some(v) = verdict {
            return Err(Stop::Broken(with_order(&order, v)));
        }
        world.record(&order.alias, observed.state);
    }
    Ok(())
}

fn with_order(order: &OrderInfo, v: Violation) -> Violation {
    Violation {
        observed: format!("order {}: {}", order.alias, v.observed),
        ..v
    }
}

/// Lets every held delivery and retry finish, then checks the final states and the delivery log.
/// The events Stripe gave up delivering to the scenario's endpoint, oldest first: those whose
/// every retry failed (the endpoint was down throughout, or the target refused an event it could
/// not apply yet because an earlier one was lost), those whose retries were cancelled when Stripe
/// disabled the failing endpoint, and those made while it was disabled, which were sent nowhere.
/// The last kind is only known in a simulator of the scenario's own: in a shared one, another
/// history's events have their own endpoint.
fn given_up(h: &Harness, world: &World) -> Vec<EventId> {
    let records: Vec<_> = h
        .sim
        .deliveries_since(world.deliveries_mark)
        .into_iter()
        .filter(|d| d.endpoint_id == world.endpoint_id)
        .collect();
    let mut events: Vec<(i64, EventId)> = records
        .iter()
        .filter(|d| matches!(d.status, RecordStatus::Failed | RecordStatus::Canceled))
        .map(|d| (d.created, d.event_id.clone()))
        .collect();
    if world.endpoint_was_disabled && !world.shared {
        let recorded: HashSet<&EventId> = records.iter().map(|d| &d.event_id).collect();
        events.extend(
            h.sim
                .events()
                .into_iter()
                .filter(|e| e.created >= world.started_at && !recorded.contains(&e.id))
                .map(|e| (e.created, e.id)),
        );
    }
    // Stable: events made in the same second keep the log's order.
    events.sort_by_key(|(created, _)| *created);
    events.into_iter().map(|(_, id)| id).collect()
}

async fn converge(h: &Harness, world: &mut World) -> StepResult {
    h.sim.clear_faults();
    if world.endpoint_down || endpoint_disabled(h, world) {
        match run_step(h, world, &Step::EndpointUp {}).await {
            StepOutcome::Played => {}
            other => return Err(outcome_stop(other)),
        }
    }
    h.sim.release(Release::default()).await?;
    h.sim.set_delivery_mode(DeliveryMode::Auto);
    for _ in 0..50 {
        settle(h).await?;
        let Some(next) = h.sim.next_delivery_due() else {
            break;
        };
        h.sim.advance((next - h.sim.now()).max(1))?;
    }
    // What Stripe gave up on is resent, oldest first, as an operator watching the delivery log
    // would: the target must accept it now.
    for event_id in given_up(h, world) {
        h.sim.resend(&event_id, Some(&world.endpoint_id)).await?;
    }
    observe_all(h, world).await?;
    // In a shared simulator, facts can move just after the last delivery settled (another
    // history's clock advance): a mismatch is judged only if it survives a few fresh looks.
    let attempts = if world.shared { 4 } else { 1 };
    // An app that applies webhooks in the background gets `[observe].poll_ms` to converge.
    let deadline = Instant::now() + h.target.file.observe.poll();
    for order in world.orders.clone() {
        let mut attempt = 0;
        let (verdict, tally) = loop {
            attempt += 1;
            settle(h).await?;
            let facts = Facts::gather(&h.sim, &world.orders, &world.sessions);
            let observed = h.target.get_order(&order.id).await?;
            let mut tally = RuleTally::default();
            let verdict = check_final(&order, &observed, &facts, &h.policy, &mut tally);
            if verdict.is_none() || (attempt >= attempts && Instant::now() >= deadline) {
                break (verdict, tally);
            }
            if attempt >= attempts {
                tokio::time::sleep(crate::steps::POLL_EVERY).await;
            }
        };
        world.tally.merge(&tally);
        if let Some(v) = verdict {
            return Err(Stop::Broken(with_order(&order, v)));
        }
    }
    for record in h.sim.deliveries_since(world.deliveries_mark) {
        for attempt in &record.attempts {
            // Only attempts that reached the target count: an unreachable endpoint answers nothing.
            let Some(forgery) = attempt.fault.and_then(|f| f.forgery()) else {
                continue;
            };
            let Some(status) = attempt.status_code else {
                continue;
            };
            let broken = (!(400..500).contains(&status)).then(|| {
                Violation::new(
                    Rule::ForgedRefused,
                    format!(
                        "a forged ({forgery}) delivery of {} {} was answered {status}",
                        record.event_type, record.event_id
                    ),
                    "4xx",
                    format!("{status} {}", attempt.response),
                )
            });
            if let Some(v) = world.tally.check(Rule::ForgedRefused, broken) {
                return Err(Stop::Broken(v));
            }
        }
        if record.endpoint_id != world.endpoint_id {
            continue;
        }
        // Stripe gave up on it and the harness's resend was refused too.
        let accepted_at_last = record.attempts.last().is_some_and(|a| a.delivered());
        let broken = (record.status == RecordStatus::Failed && !accepted_at_last).then(|| {
            let last = record.attempts.last();
            let answer = last
                .and_then(|a| a.status_code)
                .map(|s| s.to_string())
                .unwrap_or_else(|| last.and_then(|a| a.error.clone()).unwrap_or_default());
            Violation::new(
                Rule::GenuineAccepted,
                format!(
                    "{} {} was refused by every retry and by a resend after Stripe gave up",
                    record.event_type, record.event_id
                ),
                format!(
                    "{} {} accepted after retries",
                    record.event_type, record.event_id
                ),
                format!(
                    "still refused after {} attempts; last answer {answer} {}",
                    record.attempts.len(),
                    last.map(|a| a.response.clone()).unwrap_or_default()
                ),
            )
        });
        if let Some(v) = world.tally.check(Rule::GenuineAccepted, broken) {
            return Err(Stop::Broken(v));
        }
    }
    Ok(())
}

/// A step outcome that stops the scenario.
fn outcome_stop(outcome: StepOutcome) -> Stop {
    match outcome {
        StepOutcome::Broken(v) => Stop::Broken(v),
        StepOutcome::CannotPlay(m) => Stop::CannotPlay(m),
        StepOutcome::Played => Stop::CannotPlay("internal: a played step stopped".into()),
    }
}
