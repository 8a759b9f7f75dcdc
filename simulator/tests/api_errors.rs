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
use serde_json::{json, Value};

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

// ----- URLs (a success_url with \x01 used to be stored, and its page then failed on every load) -----

#[tokio::test]
async fn checkout_urls_with_control_characters_or_other_schemes_are_refused_naming_the_param() {
    // Arrange
    let (t, _) = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;
    let cases = [
        ("success_url", "https://example.com/ok\u{1}"),
        ("success_url", "https://example.com/ok\r\nSet-Cookie: a=1"),
        ("success_url", "javascript:alert(1)"),
        ("cancel_url", "ftp://example.com/back"),
        ("cancel_url", "https://example.com/\u{7f}"),
        ("success_url", "/relative/path"),
    ];

    for (param, url) in cases {
        // Act
        let error = refused(
            &t,
            form(
                &t,
                "/v1/checkout/sessions",
                &common::encode(&[
                    ("mode", "payment"),
                    ("line_items[0][price]", &price),
                    (param, url),
                ]),
            ),
            400,
        )
        .await;

        // Assert
        assert_eq!(error["param"], param, "{url:?}");
        assert_eq!(error["message"], "Not a valid URL", "{url:?}");
        assert_eq!(error["code"], "url_invalid");
    }
}

#[tokio::test]
async fn the_session_id_placeholder_still_passes_the_url_checks() {
    // Arrange
    let (t, _) = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;

    // Act
    let session = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price]", &price),
                (
                    "success_url",
                    "https://example.com/thanks/{CHECKOUT_SESSION_ID}?s={CHECKOUT_SESSION_ID}",
                ),
            ],
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        session["success_url"],
        "https://example.com/thanks/{CHECKOUT_SESSION_ID}?s={CHECKOUT_SESSION_ID}"
    );
}

#[tokio::test]
async fn payment_link_redirect_urls_are_checked_on_create_and_update() {
    // Arrange
    let (t, _) = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;
    let link = t.lifetime_link();

    for url in [
        "https://example.com/\u{1}",
        "data:text/html,hi",
        "mailto:a@b.c",
    ] {
        // Act
        let created = refused(
            &t,
            form(
                &t,
                "/v1/payment_links",
                &common::encode(&[
                    ("line_items[0][price]", &price),
                    ("after_completion[type]", "redirect"),
                    ("after_completion[redirect][url]", url),
                ]),
            ),
            400,
        )
        .await;
        let updated = refused(
            &t,
            form(
                &t,
                &format!("/v1/payment_links/{link}"),
                &common::encode(&[
                    ("after_completion[type]", "redirect"),
                    ("after_completion[redirect][url]", url),
                ]),
            ),
            400,
        )
        .await;

        // Assert
        for error in [created, updated] {
            assert_eq!(error["param"], "after_completion[redirect][url]", "{url:?}");
            assert_eq!(error["code"], "url_invalid");
        }
    }
}

#[tokio::test]
async fn webhook_endpoint_urls_are_checked_on_create_update_and_manual_delivery() {
    // Arrange
    let (t, _) = populated().await;
    let endpoint = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://example.com/hook"),
                ("enabled_events[0]", "*"),
            ],
        )
        .await
        .ok();
    let id = str_of(&endpoint["id"]);

    for url in [
        "javascript:alert(1)",
        "https://example.com/\n",
        "file:///etc/passwd",
    ] {
        // Act
        let created = t
            .post(
                "/v1/webhook_endpoints",
                &[("url", url), ("enabled_events[0]", "*")],
            )
            .await;
        let updated = t
            .post(&format!("/v1/webhook_endpoints/{id}"), &[("url", url)])
            .await;
        let delivered = t
            .control(
                Method::POST,
                "/_sim/webhooks/deliver",
                Some(json!({ "url": url, "secret": "whsec_x", "raw_body": "{}" })),
            )
            .await;

        // Assert
        for answer in [created, updated, delivered] {
            let error = answer.error(400);
            assert_eq!(error["param"], "url", "{url:?}");
            assert!(
                str_of(&error["message"]).starts_with("Invalid URL: "),
                "{error}"
            );
        }
    }
    let kept = t.get(&format!("/v1/webhook_endpoints/{id}")).await.ok();
    assert_eq!(kept["url"], "https://example.com/hook");
}

// ----- body limits everywhere (the control API used to take axum's 2 MB, answered in plain text) -----

#[tokio::test]
async fn control_api_bodies_over_256_kib_are_413_with_an_envelope() {
    // Arrange
    let (t, _) = populated().await;
    let session = t.open_session().await;
    let big = "x".repeat(300 * 1024);
    let requests = [
        (
            "/_sim/webhooks/deliver".to_string(),
            json!({ "url": "http://127.0.0.1:9/hook", "secret": "whsec_x", "raw_body": big }),
        ),
        (
            format!("/_sim/checkout/sessions/{session}/pay"),
            json!({ "card": "4242424242424242", "name": big }),
        ),
        ("/_sim/reset".to_string(), json!({ "padding": big })),
    ];

    for (path, body) in requests {
        // Act
        let error = refused(&t, t.request(Method::POST, &path).json(&body), 413).await;

        // Assert
        assert_eq!(error["type"], "invalid_request_error", "{path}");
        assert!(str_of(&error["message"]).contains("262144"), "{error}");
    }
}

#[tokio::test]
async fn bodies_past_axums_own_limit_and_undecodable_queries_answer_the_envelope() {
    // Arrange
    let (t, _) = populated().await;
    let session = t.open_session().await;
    let huge = "a".repeat(3 * 1024 * 1024);

    // Act
    let page = t
        .send(form(
            &t,
            &format!("/c/pay/{session}"),
            &format!("card_number={huge}"),
        ))
        .await;
    let clock = t
        .send(
            t.request(Method::POST, "/_sim/clock/advance")
                .header("content-type", "application/json")
                .body(huge.clone()),
        )
        .await;
    let deliveries = t.get("/_sim/deliveries?event=%FF%FE").await;

    // Assert
    for answer in [&page, &clock] {
        let error = answer.error(413);
        assert!(str_of(&error["message"]).contains("262144"), "{error}");
    }
    assert!(deliveries.status < 500, "{}", deliveries.text);
    if deliveries.status != 200 {
        deliveries.error(deliveries.status);
    }
}
