//! Every way a request can be wrong, answered with Stripe's status and error envelope, and never
//! with a change of state.
//!
//! Most wrong requests are rows of one table (`api_errors/cases.rs`), sent one after the other to
//! a populated simulator whose every object is compared before and after each row. The tests
//! below the table need a simulator of their own, a request that succeeds, or many requests.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "api_errors/case.rs"]
mod case;
#[path = "api_errors/cases.rs"]
mod cases;

use base64::Engine;
use common::{str_of, Resp, TestSim};
use reqwest::Method;
use serde_json::Value;

/// Sends `request` and asserts that it failed with `status` and left everything as it was.
async fn refused(t: &TestSim, request: reqwest::RequestBuilder, status: u16) -> Value {
    let before = t.state().await;
    let answer = t.send(request).await;
    let error = answer.error(status).clone();
    assert_eq!(t.state().await, before, "state changed: {}", answer.text);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "errors are JSON"
    );
    error
}

/// A form POST, ready to send.
fn form(t: &TestSim, path: &str, body: &str) -> reqwest::RequestBuilder {
    t.request(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
}

/// The objects of a populated simulator that wrong requests point at.
pub struct Ids {
    pub product: String,
    pub usd_price: String,
    pub eur_price: String,
    /// USD 999,999.99: one more unit makes a total too large.
    pub yacht_price: String,
    pub charge: String,
    pub customer: String,
    pub paid_session: String,
    pub open_session: String,
    /// The seeded Lifetime link.
    pub link: String,
}

/// A simulator with something in every collection, so that "nothing changed" means something.
async fn populated() -> (TestSim, Ids) {
    let t = common::start().await;
    let (paid_session, _, charge) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &charge), ("amount", "100")])
        .await
        .ok();
    let customer = t
        .post("/v1/customers", &[("email", "ada@example.com")])
        .await
        .id();
    let usd_price = t.price("Hoodie", 4000, "usd").await;
    let product = str_of(&t.object(&format!("/v1/prices/{usd_price}")).await["product"]);
    let ids = Ids {
        product,
        usd_price,
        eur_price: t.price("Mug", 100, "eur").await,
        yacht_price: t.price("Yacht", 99_999_999, "usd").await,
        charge,
        customer,
        paid_session,
        open_session: t.open_session().await,
        link: t.lifetime_link(),
    };
    (t, ids)
}

// ----- the table -----

#[tokio::test]
async fn every_wrong_request_of_the_table_gets_its_error_and_changes_nothing() {
    // Arrange
    let (t, ids) = populated().await;
    let cases = cases::all(&ids);
    let mut before = t.state().await;
    let mut failures = Vec::new();

    for case in &cases {
        // Act
        let answer = t.send(case.request(&t)).await;

        // Assert
        let mut wrong = case.differences(&answer);
        let after = t.state().await;
        if after != before {
            wrong.push("the simulator's state changed".to_string());
            before = after;
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}\n  request:  {}\n  expected: {}\n  wrong:    {}\n  answer:   {} {}",
                case.name,
                case.describe_request(),
                case.describe_expected(),
                wrong.join("; "),
                answer.status,
                answer.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

// ----- beyond the table -----

#[tokio::test]
async fn live_key_is_refused_with_a_message_saying_so() {
    // Arrange: even when it is the configured key.
    let sim = stripe_sim::Simulator::builder()
        .api_key("sk_live_realmoney1234")
        .clock(stripe_sim::ClockMode::Manual)
        .seed(1)
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();

    // Act
    let answer = http
        .get(format!("{}/v1/customers", sim.base_url()))
        .bearer_auth("sk_live_realmoney1234")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(answer.status().as_u16(), 401);
    let body: Value = answer.json().await.unwrap();
    let message = str_of(&body["error"]["message"]);
    assert!(message.contains("live-mode keys"), "{message}");
    assert!(!message.contains("realmoney"), "{message}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn basic_auth_with_the_key_as_user_name_is_accepted() {
    // Arrange
    let t = common::start().await;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:", t.key));

    // Act
    let answer = t
        .send(
            t.anonymous(Method::POST, "/v1/customers")
                .header("authorization", format!("Basic {credentials}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("name=Ada"),
        )
        .await;

    // Assert
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(t.count("/v1/customers").await, 1);
}

#[tokio::test]
async fn control_pay_takes_the_form_body_of_an_sdk_raw_request() {
    // Arrange: stripe-node `rawRequest` and stripe-python `raw_request` form-encode their params.
    let (t, ids) = populated().await;
    let session = &ids.open_session;
    let pay = format!("/_sim/checkout/sessions/{session}/pay");

    // Act
    let declined = t.post(&pay, &[("card", "4000000000009995")]).await;
    let paid = t.post(&pay, &[("card", "4242424242424242")]).await;

    // Assert: the decline is the card error envelope an SDK turns into its card error type.
    let error = declined.error(402);
    assert_eq!(error["type"], "card_error");
    assert_eq!(error["decline_code"], "insufficient_funds");
    assert_eq!(paid.ok()["payment_status"], "paid");
}

#[tokio::test]
async fn control_visit_takes_a_form_body_too() {
    // Arrange
    let (t, ids) = populated().await;
    let link = &ids.link;

    // Act
    let session = t
        .post(
            &format!("/_sim/payment_links/{link}/visit"),
            &[("client_reference_id", "order_form_1")],
        )
        .await
        .ok();

    // Assert
    assert_eq!(session["client_reference_id"], "order_form_1");
}

#[tokio::test]
async fn no_malformed_request_is_ever_answered_with_a_500() {
    // Arrange
    let (t, ids) = populated().await;
    let session = &ids.open_session;
    let bodies = [
        "",
        "&&&",
        "=",
        "=1",
        "[]=1",
        "a[]=1&a[x]=2",
        "a[0]=1&a[x]=2",
        "line_items=abc",
        "line_items[0]=abc",
        "line_items[][price]=",
        "line_items[99999999999999999999][price]=x",
        "metadata[]=1",
        "expand=",
        "expand[0][x]=1",
        "mode=payment&line_items[0][quantity]=-5",
        "mode=payment&line_items[0][price_data][unit_amount]=99999999999999999999",
        "amount=1e3",
        "%",
        "a=%",
        "a%5Bb=1",
    ];
    let paths = [
        "/v1/customers",
        "/v1/products",
        "/v1/prices",
        "/v1/payment_links",
        "/v1/checkout/sessions",
        "/v1/refunds",
        &format!("/v1/checkout/sessions/{session}/expire"),
        &format!("/v1/payment_links/{}", ids.link),
    ];

    for path in paths {
        for body in bodies {
            // Act
            let answer: Resp = t.send(form(&t, path, body)).await;

            // Assert
            assert!(
                answer.status < 500,
                "POST {path} with {body:?} gave {}: {}",
                answer.status,
                answer.text
            );
            if answer.status != 200 {
                answer.error(answer.status);
            }
        }
        for query in bodies {
            let answer = t
                .send(t.request(Method::GET, &format!("{path}?{query}")))
                .await;
            assert!(
                answer.status < 500,
                "GET {path}?{query} gave {}: {}",
                answer.status,
                answer.text
            );
        }
    }
}

// ----- parser limits (a 30 KB URL of `[a]` used to overflow the stack and abort the process) -----

#[tokio::test]
async fn deep_bracket_nesting_is_a_400_on_every_route_and_the_server_lives() {
    // Arrange: the reproducer of the crash, and nesting just past the depth limit.
    let (t, ids) = populated().await;
    let crash = format!("x{}=1", "[a]".repeat(10_000));
    let too_deep = format!("x{}=1", "[a]".repeat(17));
    let session = &ids.open_session;

    for key in [&crash, &too_deep] {
        // Act / Assert: the query string of a payment link and of an API GET.
        for path in [format!("/b/x?{key}"), format!("/v1/customers?{key}")] {
            let error = refused(&t, t.request(Method::GET, &path), 400).await;
            assert_eq!(error["type"], "invalid_request_error", "{path}");
            assert!(str_of(&error["param"]).starts_with("x[a][a]"), "{error}");
        }
        // Form bodies: the API, the hosted checkout form and the control API.
        for path in [
            "/v1/customers".to_string(),
            format!("/c/pay/{session}"),
            format!("/_sim/checkout/sessions/{session}/pay"),
        ] {
            let error = refused(&t, form(&t, &path, key), 400).await;
            assert_eq!(error["type"], "invalid_request_error", "{path}");
        }
    }

    // The process is alive and serving.
    assert_eq!(t.get("/v1/customers").await.status, 200);
}
