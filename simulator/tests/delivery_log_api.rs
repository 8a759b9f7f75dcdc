//! The delivery log as an API: paginated and filtered like Stripe's lists, a manual resend is an
//! attempt that can deliver a record, and an endpoint that fails for too long is disabled (and
//! re-enabled over the API, as on Stripe).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{answer, receiver, start_with, TestSim, CLOCK_START};
use reqwest::Method;
use serde_json::{json, Value};
use stripe_sim::{ClockMode, EndpointSpec, RetryPolicy, Simulator, SimulatorBuilder};

const SETTLE: Duration = Duration::from_secs(10);

fn builder() -> SimulatorBuilder {
    Simulator::builder()
        .clock(ClockMode::Manual)
        .clock_start(CLOCK_START)
        .seed(11)
}

async fn create_customer(t: &TestSim, name: &str) -> String {
    t.post("/v1/customers", &[("name", name)]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn log(t: &TestSim, query: &str) -> Value {
    t.control(Method::GET, &format!("/_sim/deliveries?{query}"), None)
        .await
        .ok()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn event_of(t: &TestSim, customer: &str) -> Value {
    let events = t.list_all("/v1/events").await;
    events
        .into_iter()
        .find(|e| e["data"]["object"]["id"] == customer)
        .unwrap()
}

#[tokio::test]
async fn the_delivery_log_pages_newest_first_like_stripe_lists() {
    let hook = receiver(200).await;
    let t = start_with(
        builder().webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri()))),
    )
    .await;
    for i in 0..5 {
        create_customer(&t, &format!("c{i}")).await;
    }
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    let all = ids(&log(&t, "limit=100").await);
    assert_eq!(all.len(), 5);

    let first = log(&t, "limit=2").await;
    assert_eq!(ids(&first), all[..2]);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["object"], "list");
    let next = log(&t, &format!("limit=2&starting_after={}", all[1])).await;
    assert_eq!(ids(&next), all[2..4]);
    let last = log(&t, &format!("limit=2&starting_after={}", all[3])).await;
    assert_eq!(ids(&last), all[4..]);
    assert_eq!(last["has_more"], false);
    let back = log(&t, &format!("limit=2&ending_before={}", all[4])).await;
    assert_eq!(ids(&back), all[2..4]);
    assert_eq!(back["has_more"], true);

    for bad in ["limit=0", "limit=101", "limit=ten"] {
        let refused = t
            .control(Method::GET, &format!("/_sim/deliveries?{bad}"), None)
            .await;
        assert_eq!(refused.error(400)["param"], "limit", "{bad}");
    }
    let unknown = t
        .control(Method::GET, "/_sim/deliveries?starting_after=wd_nope", None)
        .await;
    assert_eq!(unknown.error(404)["param"], "starting_after");
}

#[tokio::test]
async fn the_delivery_log_filters_by_event_endpoint_outcome_and_time() {
    let good = receiver(200).await;
    let bad = receiver(500).await;
    let t = start_with(
        builder()
            .retry_policy(RetryPolicy { delays: vec![] })
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/ok", good.uri())))
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/ko", bad.uri()))),
    )
    .await;
    let endpoints = t.sim.webhook_endpoints();
    let early = create_customer(&t, "early").await;
    t.advance(3600).await;
    create_customer(&t, "late").await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    let early_event = event_of(&t, &early).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let of_event = log(&t, &format!("event={early_event}")).await;
    assert_eq!(of_event["data"].as_array().unwrap().len(), 2);
    let to_bad = log(&t, &format!("endpoint={}", endpoints[1].id)).await;
    assert_eq!(to_bad["data"].as_array().unwrap().len(), 2);
    let failed = log(&t, "outcome=failed").await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 2);
    assert!(failed["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["endpoint_id"] == endpoints[1].id.as_str()));
    let late_only = log(&t, &format!("created[gt]={CLOCK_START}")).await;
    assert_eq!(late_only["data"].as_array().unwrap().len(), 2);
    assert!(late_only["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["created"] == CLOCK_START + 3600));
    let early_only = log(&t, &format!("created[lte]={CLOCK_START}&outcome=succeeded")).await;
    assert_eq!(early_only["data"].as_array().unwrap().len(), 1);
    assert_eq!(early_only["data"][0]["event_id"], early_event.as_str());
    let exact = log(&t, &format!("created={}", CLOCK_START + 3600)).await;
    assert_eq!(exact["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_successful_resend_delivers_a_failed_record_and_counts_pending_webhooks_down() {
    let hook = receiver(500).await;
    let t = start_with(
        builder()
            .retry_policy(RetryPolicy {
                delays: vec![60, 60],
            })
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri()))),
    )
    .await;
    let customer = create_customer(&t, "Ada").await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    t.advance(60).await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    t.advance(60).await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    let event = event_of(&t, &customer).await;
    let event_id = event["id"].as_str().unwrap().to_string();
    let record = &log(&t, &format!("event={event_id}")).await["data"][0];
    assert_eq!(record["status"], "failed", "every automatic retry failed");
    assert_eq!(record["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(event["pending_webhooks"], 1);

    answer(&hook, 200).await;
    let resent = t
        .control(
            Method::POST,
            &format!("/_sim/events/{event_id}/resend"),
            Some(json!({})),
        )
        .await
        .ok();

    assert_eq!(resent["attempts"][0]["status_code"], 200);
    let record = &log(&t, &format!("event={event_id}")).await["data"][0];
    assert_eq!(record["status"], "succeeded");
    let attempts = record["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[3]["manual"], true);
    assert_eq!(attempts[3]["status_code"], 200);
    let event = t.object(&format!("/v1/events/{event_id}")).await;
    assert_eq!(event["pending_webhooks"], 0);
}

#[tokio::test]
async fn an_endpoint_failing_for_the_configured_time_is_disabled_and_re_enabled_over_the_api() {
    let hook = receiver(503).await;
    let t = start_with(
        builder()
            .retry_policy(RetryPolicy {
                delays: vec![1800; 5],
            })
            .disable_endpoint_after(Some(3600))
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri()))),
    )
    .await;
    let endpoint = t.sim.webhook_endpoints().remove(0).id.to_string();
    create_customer(&t, "first").await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    t.advance(1800).await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    let half = t
        .control(Method::GET, "/_sim/webhook_endpoints", None)
        .await
        .ok();
    assert_eq!(
        half["data"][0]["status"], "enabled",
        "failing for 30 min only"
    );
    assert_eq!(half["data"][0]["failing_since"], CLOCK_START);

    t.advance(1800).await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);

    let listed = t
        .control(Method::GET, "/_sim/webhook_endpoints", None)
        .await
        .ok();
    assert_eq!(listed["data"][0]["status"], "disabled");
    let reason = listed["data"][0]["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("1 h"), "{reason}");
    assert!(reason.contains("HTTP 503"), "{reason}");
    let object = t.object(&format!("/v1/webhook_endpoints/{endpoint}")).await;
    assert_eq!(object["status"], "disabled");
    let canceled = log(&t, "outcome=canceled").await;
    assert_eq!(
        canceled["data"].as_array().unwrap().len(),
        1,
        "its retries stop"
    );
    let sent = hook.received_requests().await.unwrap().len();
    create_customer(&t, "while disabled").await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    assert_eq!(hook.received_requests().await.unwrap().len(), sent);

    answer(&hook, 200).await;
    let enabled = t
        .post(
            &format!("/v1/webhook_endpoints/{endpoint}"),
            &[("disabled", "false")],
        )
        .await
        .ok();
    assert_eq!(enabled["status"], "enabled");
    let listed = t
        .control(Method::GET, "/_sim/webhook_endpoints", None)
        .await
        .ok();
    assert_eq!(listed["data"][0]["disabled_reason"], Value::Null);
    create_customer(&t, "after").await;
    assert!(t.sim.wait_for_deliveries(SETTLE).await);
    let delivered = log(&t, "outcome=succeeded").await;
    assert_eq!(delivered["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn one_page_of_a_long_log_is_small_and_quick() {
    let t = start_with(builder()).await;
    t.control(Method::POST, "/_sim/webhooks/hold", None)
        .await
        .ok();
    t.sim
        .add_webhook_endpoint(EndpointSpec::all_events("http://127.0.0.1:9/hook"))
        .unwrap();
    for i in 0..1_000 {
        create_customer(&t, &format!("bulk {i}")).await;
    }

    let started = std::time::Instant::now();
    let page = t
        .control(Method::GET, "/_sim/deliveries?limit=3", None)
        .await;
    let took = started.elapsed();

    assert_eq!(page.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(page.body["has_more"], true);
    assert!(page.text.len() < 4_000, "{} bytes", page.text.len());
    assert!(took < Duration::from_secs(1), "{took:?}");
}
