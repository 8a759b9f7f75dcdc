//! Orders in the target: creating them, and checking or recording their states.

use crate::harness::Harness;
use crate::judge::{expected, Facts, OrderInfo, Violation};
use crate::rules::Rule;
use crate::scenario::{CreateOrder, Expect};
use crate::state::OrderState;
use crate::steps::{settle, states, StepResult, Stop};
use crate::target_file::Policy;
use crate::world::World;

/// How often an expectation is read again while `[observe].poll_ms` lasts.
pub(crate) const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// `create_order`: the target's create route, as the app's pricing page would call it.
pub(super) async fn create_order(h: &Harness, world: &mut World, o: &CreateOrder) -> StepResult {
    if world.orders.iter().any(|x| x.alias == o.alias) {
        return Err(format!("order '{}' already exists", o.alias).into());
    }
    let id = h
        .target
        .create_order(o.amount, &o.currency, &o.provider)
        .await?;
    world.orders.push(OrderInfo {
        alias: o.alias.clone(),
        id,
        amount: o.amount,
        currency: o.currency.clone(),
        provider: o.provider.clone(),
    });
    Ok(())
}

/// `expect`: the order is in one of the states the scenario allows, once deliveries settled.
pub(super) async fn expect(h: &Harness, world: &mut World, e: &Expect) -> StepResult {
    let order = world.order(&e.order)?.clone();
    settle(h).await?;
    let allowed = allowed_under_policy(h, world, &order, e.allowed());
    // An app that applies webhooks in the background gets `[observe].poll_ms` to get there.
    let deadline = std::time::Instant::now() + h.target.file.observe.poll();
    let observed = loop {
        let observed = h.target.get_order(&order.id).await?;
        if allowed.contains(&observed.state) || std::time::Instant::now() >= deadline {
            break observed;
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    let words: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    let broken = (!allowed.contains(&observed.state)).then(|| {
        Violation::new(
            Rule::ScenarioExpectation,
            format!(
                "the scenario expects order {} to be {} here",
                e.order,
                words.join(" or ")
            ),
            format!("order {} {}", e.order, words.join(" or ")),
            format!("order {}: {}", e.order, observed.state),
        )
    });
    match world.tally.check(Rule::ScenarioExpectation, broken) {
        Some(v) => Err(Stop::Broken(v)),
        None => Ok(()),
    }
}

/// The states an `expect` allows for this target: the scenario's, and, where the target file's
/// policy changes what Stripe's ground truth requires right now (a partial refund that marks
/// the order refunded, an unpaid completion that may fail it), the states the policy makes
/// correct. Scenarios are written for the default policy; the judge is the authority.
fn allowed_under_policy(
    h: &Harness,
    world: &World,
    order: &OrderInfo,
    mut allowed: Vec<OrderState>,
) -> Vec<OrderState> {
    if h.policy == Policy::default() {
        return allowed;
    }
    let facts = Facts::gather(&h.sim, &world.orders, &world.sessions);
    let with_policy = expected(order, &facts, &h.policy).allowed;
    if with_policy != expected(order, &facts, &Policy::default()).allowed {
        for state in with_policy {
            if !allowed.contains(&state) {
                allowed.push(state);
            }
        }
    }
    allowed
}

/// `snapshot`: every order's state, recorded under a label.
pub(super) async fn snapshot(h: &Harness, world: &mut World, label: &str) -> StepResult {
    settle(h).await?;
    let now = states(h, world).await?;
    world.labelled.push((
        label.to_string(),
        now.into_iter().map(|(a, o)| (a, o.state)).collect(),
    ));
    Ok(())
}
