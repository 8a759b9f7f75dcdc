//! API versions: each request is answered at the version its `Stripe-Version` asks for (or the
//! account's default), an unknown one is refused in Stripe's words, events keep the version they
//! happened at, and each webhook endpoint receives events at its own `api_version`.

#![allow(clippy::unwrap_used)]

mod common;

use common::{receiver, str_of, TestSim, CLOCK_START};
use reqwest::Method;
use serde_json::{json, Value};
use stripe_sim::{ClockMode, Simulator, StartError};
use wiremock::MockServer;

const OLD: &str = "2022-08-01";
const PRE_DAHLIA: &str = "2024-06-20";
const NEWEST: &str = "2026-10-28.endive";

/// `GET path` with `Stripe-Version: version`: the status, the body and the version answered at.
async fn get_at(t: &TestSim, path: &str, version: &str) -> (u16, Value, String) {
    let answer = t
        .send(
            t.request(Method::GET, path)
                .header("stripe-version", version),
        )
        .await;
    let echoed = answer
        .header("stripe-version")
        .unwrap_or_default()
        .to_string();
    (answer.status, answer.body, echoed)
}

/// The bodies a receiver got, oldest first.
async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn an_unknown_stripe_version_is_refused_in_stripes_words() {
    // Arrange
    let t = common::start().await;
    let before = t.state().await;

    // Act
    let answer = t
        .send(
            t.request(Method::POST, "/v1/products")
                .header("stripe-version", "garbage")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("name=Nope"),
        )
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["message"], "Invalid Stripe API version: garbage");
    assert_eq!(answer.header("stripe-version"), Some(NEWEST));
    assert_eq!(t.state().await, before, "a refused request changes nothing");
    let (status, _, _) = get_at(&t, "/v1/products", "2019-2-19").await;
    assert_eq!(
        status, 400,
        "a version must be spelt as Stripe publishes it"
    );
}

#[tokio::test]
async fn each_request_is_answered_at_the_version_it_asks_for() {
    // Arrange
    let t = common::start().await;
    let session = t.open_session().await;
    let path = format!("/v1/checkout/sessions/{session}");

    // Act
    let (_, newest, newest_header) = get_at(&t, &path, NEWEST).await;
    let (_, older, older_header) = get_at(&t, &path, PRE_DAHLIA).await;
    let default = t.session(&session).await;

    // Assert
    assert_eq!(newest["ui_mode"], "hosted_page");
    assert!(newest.get("shipping_details").is_none());
    assert_eq!(newest_header, NEWEST);
    assert_eq!(older["ui_mode"], "hosted");
    assert_eq!(older["shipping_details"], Value::Null);
    assert_eq!(older_header, PRE_DAHLIA);
    assert_eq!(default["ui_mode"], "hosted_page", "the account's default");
    let (_, clover, _) = get_at(&t, &path, "2026-02-25.clover").await;
    assert_eq!(
        clover["ui_mode"], "hosted",
        "hosted_page arrived with dahlia"
    );
    let (_, dahlia, _) = get_at(&t, &path, "2026-03-25.dahlia").await;
    assert_eq!(dahlia["ui_mode"], "hosted_page");
}

#[tokio::test]
async fn before_2022_11_15_charges_include_their_refunds_and_intents_their_charges() {
    // Arrange
    let t = common::start().await;
    let (_, pi, ch) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &ch), ("amount", "500")])
        .await
        .ok();

    // Act
    let (_, old_charge, _) = get_at(&t, &format!("/v1/charges/{ch}"), OLD).await;
    let (_, new_charge, _) = get_at(&t, &format!("/v1/charges/{ch}"), NEWEST).await;
    let (_, expanded, _) = get_at(&t, &format!("/v1/charges/{ch}?expand[]=refunds"), NEWEST).await;
    let (_, old_intent, _) = get_at(&t, &format!("/v1/payment_intents/{pi}"), OLD).await;

    // Assert
    assert_eq!(old_charge["refunds"]["object"], "list");
    assert_eq!(old_charge["refunds"]["total_count"], 1);
    assert_eq!(old_charge["refunds"]["data"][0]["amount"], 500);
    assert_eq!(
        old_charge["refunds"]["url"],
        format!("/v1/charges/{ch}/refunds")
    );
    assert_eq!(old_charge["invoice"], Value::Null);
    assert!(
        new_charge.get("refunds").is_none(),
        "not included since 2022-11-15"
    );
    assert!(new_charge.get("invoice").is_none(), "removed in basil");
    assert_eq!(
        expanded["refunds"]["data"][0]["amount"], 500,
        "but expandable"
    );
    assert_eq!(
        old_intent["charges"]["url"],
        format!("/v1/charges?payment_intent={pi}")
    );
    assert_eq!(old_intent["charges"]["total_count"], 1);
    assert_eq!(old_intent["charges"]["data"][0]["id"], ch.as_str());
    assert_eq!(
        old_intent["charges"]["data"][0]["refunds"]["total_count"], 1,
        "embedded charges are rendered at the same version"
    );
    let (_, list, _) = get_at(&t, "/v1/charges", OLD).await;
    assert_eq!(list["data"][0]["refunds"]["total_count"], 1);
}

#[tokio::test]
async fn events_keep_the_version_of_the_account_when_they_happened() {
    // Arrange: an account whose default predates dahlia.
    let t = common::start_with(
        Simulator::builder()
            .clock(ClockMode::Manual)
            .clock_start(CLOCK_START)
            .seed(42)
            .api_version(PRE_DAHLIA),
    )
    .await;
    t.paid_session().await;
    let completed = t.events_of("checkout.session.completed")[0].clone();
    let id = str_of(&completed["id"]);

    // Act
    let (_, read_at_newest, header) = get_at(&t, &format!("/v1/events/{id}"), NEWEST).await;
    let session = t.session(&str_of(&completed["data"]["object"]["id"])).await;

    // Assert
    assert_eq!(completed["api_version"], PRE_DAHLIA);
    assert_eq!(completed["data"]["object"]["ui_mode"], "hosted");
    assert_eq!(read_at_newest["api_version"], PRE_DAHLIA);
    assert_eq!(read_at_newest["data"]["object"]["ui_mode"], "hosted");
    assert_eq!(
        header, NEWEST,
        "the answer itself is at the version asked for"
    );
    assert_eq!(
        session["ui_mode"], "hosted",
        "the account's default applies"
    );
}

#[tokio::test]
async fn each_webhook_endpoint_receives_events_at_its_own_api_version() {
    // Arrange: one endpoint without a version, one pinned before 2022-11-15.
    let t = common::start().await;
    let plain = receiver(200).await;
    let pinned = receiver(200).await;
    let created = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", &format!("{}/hook", plain.uri())),
                ("enabled_events[]", "*"),
            ],
        )
        .await
        .ok();
    let old = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", &format!("{}/hook", pinned.uri())),
                ("enabled_events[]", "*"),
                ("api_version", OLD),
            ],
        )
        .await
        .ok();

    // Act
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &ch), ("amount", "500")])
        .await
        .ok();
    assert!(
        t.sim
            .wait_for_deliveries(std::time::Duration::from_secs(10))
            .await
    );

    // Assert: the endpoint created without a version stays so and gets the account's default.
    assert_eq!(created["api_version"], Value::Null);
    let fetched = t
        .object(&format!("/v1/webhook_endpoints/{}", str_of(&created["id"])))
        .await;
    assert_eq!(fetched["api_version"], Value::Null);
    assert_eq!(old["api_version"], OLD);
    let plain = bodies(&plain).await;
    let pinned = bodies(&pinned).await;
    assert_eq!(plain.len(), pinned.len());
    assert!(plain.iter().all(|e| e["api_version"] == NEWEST));
    assert!(pinned.iter().all(|e| e["api_version"] == OLD));
    let of = |events: &[Value], ty: &str| -> Value {
        events.iter().find(|e| e["type"] == ty).unwrap()["data"]["object"].clone()
    };
    assert_eq!(
        of(&plain, "checkout.session.completed")["ui_mode"],
        "hosted_page"
    );
    assert_eq!(
        of(&pinned, "checkout.session.completed")["ui_mode"],
        "hosted"
    );
    assert!(of(&plain, "charge.refunded").get("refunds").is_none());
    let refunded = of(&pinned, "charge.refunded");
    assert_eq!(refunded["refunds"]["total_count"], 1);
    let succeeded = of(&pinned, "payment_intent.succeeded");
    assert_eq!(succeeded["charges"]["data"][0]["id"], ch.as_str());
    assert_eq!(
        succeeded["charges"]["data"][0]["refunds"]["total_count"], 0,
        "the refund came after this event: its snapshot shows none"
    );
    let (_, listed, _) = get_at(&t, "/v1/events?type=charge.refunded", OLD).await;
    assert!(
        listed["data"][0]["data"]["object"].get("refunds").is_none(),
        "the API shows events at their own version, whatever the request's"
    );
}

#[tokio::test]
async fn a_webhook_endpoint_with_an_unknown_version_is_refused() {
    // Arrange
    let t = common::start().await;

    // Act
    let answer = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://example.com/hook"),
                ("enabled_events[]", "*"),
                ("api_version", "2020-13-45"),
            ],
        )
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["message"], "Invalid Stripe API version: 2020-13-45");
    assert_eq!(error["param"], "api_version");
    assert_eq!(t.count("/v1/webhook_endpoints").await, 0);
}

#[tokio::test]
async fn the_pay_route_answers_at_the_version_a_raw_request_asks_for() {
    // Arrange
    let t = common::start().await;
    let paid_session = t.open_session().await;
    let declined_session = t.open_session().await;
    let pay = |session: &str, card: &str, version: &str| {
        t.request(
            Method::POST,
            &format!("/_sim/checkout/sessions/{session}/pay"),
        )
        .header("stripe-version", version)
        .json(&json!({ "card": card }))
    };

    // Act
    let paid = t
        .send(pay(&paid_session, "4242424242424242", PRE_DAHLIA))
        .await;
    let declined = t
        .send(pay(&declined_session, "4000000000000002", OLD))
        .await;
    let refused = t.send(pay(&paid_session, "4242424242424242", "soon")).await;

    // Assert
    assert_eq!(paid.body["ui_mode"], "hosted");
    let error = declined.error(402);
    assert_eq!(error["payment_intent"]["charges"]["total_count"], 1);
    assert_eq!(
        refused.error(400)["message"],
        "Invalid Stripe API version: soon"
    );
}

#[tokio::test]
async fn a_simulator_refuses_an_unpublished_default_version() {
    // Act
    let started = Simulator::builder().api_version("2026-13-01").start().await;

    // Assert
    match started {
        Err(StartError::ApiVersion(v)) => assert_eq!(v, "2026-13-01"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("an unpublished version must be refused"),
    }
}

#[test]
fn every_version_the_sdk_types_list_is_accepted_and_no_other() {
    let extract: Value =
        serde_json::from_str(include_str!("fixtures/stripe_node_types.json")).unwrap();
    let listed: Vec<&str> = extract["api_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(stripe_sim::ApiVersion::published(), listed.as_slice());
}
