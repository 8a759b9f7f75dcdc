//! Buyers and Checkout Sessions: opening a payment link (or the app creating a session through
//! the API), paying, expiring, and landing on the return route.

use stripe_sim::{Buyer, CardInput, PaymentLinkId, PaymentMethodInput, PaymentStatus, SessionId};

use crate::harness::Harness;
use crate::judge::Violation;
use crate::rules::Rule;
use crate::scenario::{Capture, OpenSession, Pay, PaymentOutcome};
use crate::steps::{api_ok, states, unchanged, StepResult, Stop};
use crate::world::World;

/// A payment link for an amount and currency, created once per scenario through the API, with
/// the payment spec's redirect to the app's billing page.
async fn link_for(
    h: &Harness,
    world: &mut World,
    amount: i64,
    currency: &str,
) -> Result<PaymentLinkId, String> {
    let key = (amount, currency.to_lowercase());
    if let Some(id) = world.links.get(&key) {
        return Ok(id.clone());
    }
    let post = reqwest::Method::POST;
    let product = api_ok(
        h,
        post.clone(),
        "/v1/products",
        &[("name", "Lifetime".into())],
    )
    .await?;
    let price = api_ok(
        h,
        post.clone(),
        "/v1/prices",
        &[
            ("product", product["id"].as_str().unwrap_or_default().into()),
            ("unit_amount", amount.to_string()),
            ("currency", key.1.clone()),
        ],
    )
    .await?;
    let redirect = format!(
        "{}/dashboard/billing?provider=stripe&session_id={{CHECKOUT_SESSION_ID}}",
        h.target.base_url
    );
    let link = api_ok(
        h,
        post,
        "/v1/payment_links",
        &[
            (
                "line_items[0][price]",
                price["id"].as_str().unwrap_or_default().into(),
            ),
            ("line_items[0][quantity]", "1".into()),
            ("after_completion[type]", "redirect".into()),
            ("after_completion[redirect][url]", redirect),
        ],
    )
    .await?;
    let id = PaymentLinkId::parse(link["id"].as_str().unwrap_or_default())
        .map_err(|e| format!("the payment link: {e}"))?;
    world.links.insert(key, id.clone());
    Ok(id)
}

/// The `client_reference_id` and price of a new session.
fn session_terms(
    world: &World,
    step: &OpenSession,
) -> Result<(Option<String>, i64, String), String> {
    let order = step.order.as_deref().map(|a| world.order(a)).transpose()?;
    let reference = match (&step.client_reference_id, order) {
        (Some(literal), _) => Some(literal.clone()),
        (None, Some(o)) => Some(o.id.clone()),
        (None, None) => None,
    };
    let amount = step.amount.or(order.map(|o| o.amount)).unwrap_or(19900);
    let currency = step
        .currency
        .clone()
        .or(order.map(|o| o.currency.clone()))
        .unwrap_or_else(|| "USD".into());
    Ok((reference, amount, currency))
}

/// `open_link`: a buyer opens the payment link with `?client_reference_id=…` in a browser; the
/// simulator redirects to the new session's checkout page.
pub(super) async fn open_link(h: &Harness, world: &mut World, s: &OpenSession) -> StepResult {
    let (reference, amount, currency) = session_terms(world, s)?;
    let link = link_for(h, world, amount, &currency).await?;
    let url = h
        .sim
        .object(&link)
        .and_then(|l| l["url"].as_str().map(str::to_string))
        .unwrap_or_default();
    let url = match &reference {
        Some(r) => format!(
            "{url}?client_reference_id={}",
            crate::uri::encode_component(r)
        ),
        None => url,
    };
    let response = h
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("opening {url}: {e}"))?;
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let session = location
        .rsplit('/')
        .next()
        .and_then(|id| SessionId::parse(id).ok())
        .ok_or_else(|| {
            format!(
                "opening the link answered {} without a checkout redirect",
                response.status()
            )
        })?;
    world.sessions.insert(s.alias.clone(), session);
    Ok(())
}

/// `create_session`: the app creates a Checkout Session through the API instead of a link.
pub(super) async fn create_session(h: &Harness, world: &mut World, s: &OpenSession) -> StepResult {
    let (reference, amount, currency) = session_terms(world, s)?;
    let mut form = vec![
        ("mode", "payment".to_string()),
        (
            "success_url",
            format!(
                "{}/dashboard/billing?provider=stripe&session_id={{CHECKOUT_SESSION_ID}}",
                h.target.base_url
            ),
        ),
        ("line_items[0][quantity]", "1".into()),
        (
            "line_items[0][price_data][currency]",
            currency.to_lowercase(),
        ),
        ("line_items[0][price_data][unit_amount]", amount.to_string()),
        (
            "line_items[0][price_data][product_data][name]",
            "Lifetime".into(),
        ),
    ];
    if let Some(r) = reference {
        form.push(("client_reference_id", r));
    }
    let session = api_ok(h, reqwest::Method::POST, "/v1/checkout/sessions", &form).await?;
    let id = SessionId::parse(session["id"].as_str().unwrap_or_default())
        .map_err(|e| format!("the new session: {e}"))?;
    world.sessions.insert(s.alias.clone(), id);
    Ok(())
}

/// `pay`: the buyer pays on the hosted page; `expect` says what the payment must do.
pub(super) fn pay(h: &Harness, world: &World, p: &Pay) -> StepResult {
    let session = world.session(&p.session)?;
    let method = match (&p.card, &p.sepa_debit, &p.us_bank_account) {
        (Some(card), None, None) => PaymentMethodInput::Card(CardInput::number(card)),
        (None, Some(iban), None) => PaymentMethodInput::sepa_debit(iban),
        (None, None, Some(account)) => PaymentMethodInput::us_bank_account(account),
        _ => return Err("pay needs exactly one of card, sepa_debit or us_bank_account".into()),
    };
    let actual = match h.sim.pay(session, &method, &Buyer::default()) {
        Ok(s) if s.payment_status == PaymentStatus::Paid => PaymentOutcome::Succeeded,
        Ok(_) => PaymentOutcome::Processing,
        Err(e) if e.status == 402 => PaymentOutcome::Declined,
        Err(e) => {
            return Err(format!("paying {} was refused: {}", p.session, e.message).into());
        }
    };
    match p.expect {
        Some(expected) if expected != actual => Err(format!(
            "the payment was expected to be {} but was {}",
            expected.as_str(),
            actual.as_str()
        )
        .into()),
        _ => Ok(()),
    }
}

/// `expire`: the app expires an open session through the API.
pub(super) async fn expire(h: &Harness, world: &World, session: &str) -> StepResult {
    let id = world.session(session)?;
    api_ok(
        h,
        reqwest::Method::POST,
        &format!("/v1/checkout/sessions/{id}/expire"),
        &[],
    )
    .await?;
    Ok(())
}

/// `capture`: the buyer lands on the return route. It is UX only: no server error, and (unless
/// the policy says otherwise) no change to any order.
pub(super) async fn capture(h: &Harness, world: &mut World, c: &Capture) -> StepResult {
    let session = world.session(&c.session)?.clone();
    let before = states(h, world).await?;
    let answer = h.target.capture(&session).await?;
    let broken = (answer.status >= 500).then(|| {
        Violation::new(
            Rule::ReturnRouteNoServerError,
            format!(
                "the return route with session {} ({session}) answered {}",
                c.session, answer.status
            ),
            "a 2xx or 4xx answer",
            answer.describe(),
        )
    });
    if let Some(v) = world.tally.check(Rule::ReturnRouteNoServerError, broken) {
        return Err(Stop::Broken(v));
    }
    if !h.policy.return_route_may_change {
        let what = format!("the return route with session {}", c.session);
        unchanged(h, world, &before, Rule::ReturnRouteUxOnly, &what).await?;
    }
    Ok(())
}
