//! Refunds, made by the merchant through the API (as from the Dashboard).

use crate::harness::Harness;
use crate::scenario::Refund;
use crate::steps::{api, StepResult};
use crate::world::World;

/// `refund`: refunds a session's payment (all that is left unless `amount` says otherwise); with
/// `expect_error`, the API must refuse it with that code.
pub(super) async fn refund(h: &Harness, world: &World, r: &Refund) -> StepResult {
    let session = world.session(&r.session)?;
    let intent = h
        .sim
        .session(session)
        .and_then(|s| s.payment_intent)
        .map(|pi| pi.to_string())
        .unwrap_or_default();
    let mut form = vec![("payment_intent", intent)];
    if let Some(amount) = r.amount {
        form.push(("amount", amount.to_string()));
    }
    let (status, answer) = api(h, reqwest::Method::POST, "/v1/refunds", &form).await?;
    match (&r.expect_error, (200..300).contains(&status)) {
        (None, true) => Ok(()),
        (None, false) => Err(format!("the refund was refused: {answer}").into()),
        (Some(code), false) if answer["error"]["code"] == code.as_str() => Ok(()),
        (Some(code), _) => Err(format!(
            "the refund should fail with {code}; the API answered {status}: {answer}"
        )
        .into()),
    }
}
