//! Each kind of scenario step, played against the simulator (its `/v1` API like an app would,
//! and its control layer through the Rust handle) and the target. One module per family of
//! steps; [`run_step`] dispatches and answers a typed [`StepOutcome`].
//!
//! Steps never call the runner: the runner calls [`run_step`], then observes.

mod deliveries;
mod orders;
mod refunds;
mod sessions;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::harness::Harness;
use crate::judge::Violation;
use crate::rules::Rule;
use crate::scenario::Step;
use crate::state::ObservedOrder;
use crate::target::TargetError;
use crate::world::World;

pub(crate) use deliveries::endpoint_disabled;
pub(crate) use orders::POLL_EVERY;

/// How long deliveries may take to settle after a step before the target counts as hung.
pub(crate) const SETTLE: Duration = Duration::from_secs(20);

/// What playing one step came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepOutcome {
    /// The step ran; the runner observes the orders next.
    Played,
    /// The target broke a rule while the step ran (a forgery accepted, the return route changing
    /// an order, a scenario's expectation).
    Broken(Violation),
    /// The step could not be played: a mistake in the scenario, or the target or the simulator
    /// failed to answer.
    CannotPlay(String),
}

/// Why a step stopped early; steps use it with `?`, [`run_step`] turns it into a
/// [`StepOutcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    Broken(Violation),
    CannotPlay(String),
}

pub(crate) type StepResult<T = ()> = Result<T, Stop>;

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::CannotPlay(message)
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Stop {
        Stop::CannotPlay(message.to_string())
    }
}

impl From<TargetError> for Stop {
    fn from(error: TargetError) -> Stop {
        Stop::CannotPlay(error.to_string())
    }
}

impl From<stripe_sim::ApiError> for Stop {
    fn from(error: stripe_sim::ApiError) -> Stop {
        Stop::CannotPlay(format!("the simulator refused: {}", error.message))
    }
}

impl From<Stop> for StepOutcome {
    fn from(stop: Stop) -> StepOutcome {
        match stop {
            Stop::Broken(v) => StepOutcome::Broken(v),
            Stop::CannotPlay(m) => StepOutcome::CannotPlay(m),
        }
    }
}

/// Plays one step.
pub(crate) async fn run_step(h: &Harness, world: &mut World, step: &Step) -> StepOutcome {
    let played = match step {
        Step::CreateOrder(o) => orders::create_order(h, world, o).await,
        Step::Expect(e) => orders::expect(h, world, e).await,
        Step::Snapshot { label } => orders::snapshot(h, world, label).await,
        Step::OpenLink(s) => sessions::open_link(h, world, s).await,
        Step::CreateSession(s) => sessions::create_session(h, world, s).await,
        Step::Pay(p) => sessions::pay(h, world, p),
        Step::Expire { session } => sessions::expire(h, world, session).await,
        Step::Capture(c) => sessions::capture(h, world, c).await,
        Step::Advance { seconds } => h.sim.advance(*seconds).map(drop).map_err(Stop::from),
        Step::Refund(r) => refunds::refund(h, world, r).await,
        Step::Hold {} => {
            h.sim.set_delivery_mode(stripe_sim::DeliveryMode::Hold);
            Ok(())
        }
        Step::Release(r) => deliveries::release(h, world, r).await,
        Step::Fault(f) => deliveries::fault(h, f),
        Step::Forge(f) => deliveries::forge(h, world, f).await,
        Step::RollSecret { overlap_seconds } => deliveries::roll_secret(h, world, *overlap_seconds),
        Step::EndpointDown {} => deliveries::endpoint_down(h, world).await,
        Step::EndpointUp {} => deliveries::endpoint_up(h, world).await,
        Step::Resend {
            event,
            session,
            new_event,
        } => deliveries::resend(h, world, *event, session.as_deref(), *new_event).await,
        Step::Trigger { event } => deliveries::trigger(h, *event).await,
    };
    match played {
        Ok(()) => StepOutcome::Played,
        Err(stop) => stop.into(),
    }
}

/// Waits until the deliveries the step caused have settled (and then `[observe].settle_ms`,
/// for apps that apply webhooks in the background after answering them).
pub(crate) async fn settle(h: &Harness) -> StepResult {
    if h.sim.wait_for_deliveries_so_far(SETTLE).await {
        let pause = h.target.file.observe.settle();
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        Ok(())
    } else {
        Err(Stop::CannotPlay(format!(
            "webhook deliveries did not settle within {} s: the target does not answer",
            SETTLE.as_secs()
        )))
    }
}

/// Every order of the scenario as the target shows it now.
pub(crate) async fn states(
    h: &Harness,
    world: &World,
) -> StepResult<BTreeMap<String, ObservedOrder>> {
    let mut out = BTreeMap::new();
    for order in &world.orders {
        out.insert(order.alias.clone(), h.target.get_order(&order.id).await?);
    }
    Ok(out)
}

/// `rule` is broken if any order changed between `before` and now; `what` names the request
/// that must have changed nothing.
pub(crate) async fn unchanged(
    h: &Harness,
    world: &mut World,
    before: &BTreeMap<String, ObservedOrder>,
    rule: Rule,
    what: &str,
) -> StepResult {
    settle(h).await?;
    if world.shared {
        // Other histories move the shared clock, so this order may legitimately settle or
        // expire meanwhile; the rules checked at every observation still hold.
        return Ok(());
    }
    let after = states(h, world).await?;
    for (alias, old) in before {
        let Some(new) = after.get(alias) else {
            continue;
        };
        let broken = (new.state != old.state || new.provider_order_id != old.provider_order_id)
            .then(|| {
                Violation::new(
                    rule,
                    format!(
                        "{what} changed order {alias} from {} to {}",
                        old.state, new.state
                    ),
                    format!("order {alias} stays {}", old.state),
                    format!("order {alias}: {}", new.state),
                )
            });
        if let Some(v) = world.tally.check(rule, broken) {
            return Err(Stop::Broken(v));
        }
    }
    Ok(())
}

/// One call to the simulator's `/v1` API, as the app's own server code would make it.
pub(crate) async fn api(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, String)],
) -> Result<(u16, Value), String> {
    let mut request = h
        .http
        .request(method, format!("{}{path}", h.sim.base_url()))
        .bearer_auth(h.sim.api_key());
    if !form.is_empty() {
        request = request.form(form);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("simulator call {path} failed: {e}"))?;
    let status = response.status().as_u16();
    let value = response.json().await.unwrap_or(Value::Null);
    Ok((status, value))
}

/// [`api`], requiring a 2xx.
pub(crate) async fn api_ok(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, String)],
) -> Result<Value, String> {
    let (status, value) = api(h, method, path, form).await?;
    if (200..300).contains(&status) {
        Ok(value)
    } else {
        Err(format!("simulator answered {status} to {path}: {value}"))
    }
}
