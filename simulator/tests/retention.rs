//! Bounded memory: idempotency keys expire after 24 hours, events and delivery records are kept
//! for a number of days and up to a number of records (oldest evicted first, never one with a
//! delivery still to make), and past `max_objects` new writes are refused.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{receiver, start_with, TestSim, CLOCK_START};
use reqwest::Method;
use serde_json::{json, Value};
use stripe_sim::{ClockMode, EndpointSpec, Retention, Simulator, SimulatorBuilder};

fn builder(retention: Retention) -> SimulatorBuilder {
    Simulator::builder()
        .clock(ClockMode::Manual)
        .clock_start(CLOCK_START)
        .seed(7)
        .retention(retention)
}

fn limits(days: Option<u32>, max_records: Option<usize>, max_objects: Option<usize>) -> Retention {
    Retention {
        days,
        max_records,
        max_objects,
    }
}

async fn create_customer(t: &TestSim, name: &str) -> String {
    t.post("/v1/customers", &[("name", name)]).await.ok()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The id of the `customer.created` event of a customer.
fn created_event(t: &TestSim, customer: &str) -> String {
    t.sim
        .events()
        .into_iter()
        .find(|e| e.object_id == customer)
        .map(|e| e.id.to_string())
        .unwrap()
}

async fn storage(t: &TestSim) -> Value {
    t.control(Method::GET, "/_sim/info", None).await.ok()["storage"].clone()
}

#[tokio::test]
async fn an_idempotency_key_expires_after_24_hours_of_simulator_time() {
    let t = start_with(builder(Retention::default())).await;
    let params = [("name", "Ada")];
    let first = t
        .post_idempotent("/v1/customers", "key-1", &params)
        .await
        .ok();
    let replayed = t.post_idempotent("/v1/customers", "key-1", &params).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body["id"], first["id"]);

    t.advance(24 * 3600 - 1).await;
    let still = t.post_idempotent("/v1/customers", "key-1", &params).await;
    assert_eq!(still.body["id"], first["id"], "kept for 24 hours");
    t.advance(1).await;
    let after = t.post_idempotent("/v1/customers", "key-1", &params).await;

    assert_eq!(after.header("idempotent-replayed"), None);
    assert_ne!(after.ok()["id"], first["id"], "a day later the key is new");
    assert_eq!(storage(&t).await["idempotency_keys"], 1);
}

#[tokio::test]
async fn an_event_older_than_the_retention_days_answers_404() {
    let t = start_with(builder(limits(Some(2), None, None))).await;
    let old = create_customer(&t, "old").await;
    let old_event = created_event(&t, &old);

    t.advance(2 * 86_400 + 1).await;
    let recent = create_customer(&t, "recent").await;

    let gone = t.get(&format!("/v1/events/{old_event}")).await;
    assert_eq!(gone.error(404)["code"], "resource_missing");
    let listed = t.list_all("/v1/events").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["data"]["object"]["id"], recent.as_str());
    assert_eq!(
        t.get(&format!("/v1/customers/{old}")).await.status,
        200,
        "objects stay"
    );
    assert_eq!(storage(&t).await["events_dropped"], 1);
}

#[tokio::test]
async fn at_most_max_records_events_are_kept_the_oldest_evicted_first() {
    let t = start_with(builder(limits(None, Some(3), None))).await;
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(create_customer(&t, &format!("c{i}")).await);
    }
    let first_event = created_event(&t, &customers[2]);
    t.get("/_sim/health").await; // any operation runs retention

    let listed = t.list_all("/v1/events").await;
    let about: Vec<&str> = listed
        .iter()
        .map(|e| e["data"]["object"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(about, [&customers[4], &customers[3], &customers[2]]);
    assert_eq!(
        t.get(&format!("/v1/events/{first_event}")).await.status,
        200
    );
    assert_eq!(storage(&t).await["events_dropped"], 2);
}

#[tokio::test]
async fn delivery_records_past_the_limit_are_dropped_and_the_log_counts_them() {
    let hook = receiver(200).await;
    let t = start_with(
        builder(limits(None, Some(2), None))
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri()))),
    )
    .await;
    for i in 0..5 {
        create_customer(&t, &format!("c{i}")).await;
        assert!(t.sim.wait_for_deliveries(Duration::from_secs(10)).await);
    }
    t.get("/_sim/health").await;

    let log = t
        .control(Method::GET, "/_sim/deliveries?limit=100", None)
        .await
        .ok();
    assert_eq!(log["data"].as_array().unwrap().len(), 2);
    assert_eq!(log["dropped"], 3);
    let status = t.control(Method::GET, "/_sim/webhooks", None).await.ok();
    assert_eq!(status["dropped"], 3);
    assert_eq!(hook.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn an_event_with_a_delivery_still_to_make_is_never_evicted() {
    let hook = receiver(200).await;
    let t = start_with(
        builder(limits(None, Some(1), None))
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri()))),
    )
    .await;
    t.control(Method::POST, "/_sim/webhooks/hold", None)
        .await
        .ok();
    for i in 0..3 {
        create_customer(&t, &format!("c{i}")).await;
    }
    t.get("/_sim/health").await;
    assert_eq!(
        storage(&t).await["events"],
        3,
        "held deliveries keep their events"
    );

    let released = t
        .control(Method::POST, "/_sim/webhooks/release", Some(json!({})))
        .await
        .ok();
    assert_eq!(released["released"].as_array().unwrap().len(), 3);
    t.get("/_sim/health").await;

    let left = storage(&t).await;
    assert_eq!(left["events"], 1);
    assert_eq!(left["delivery_records"], 1);
    assert_eq!(hook.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn past_max_objects_new_writes_are_refused_and_reads_deletes_and_reset_work() {
    let seeded = start_with(builder(Retention::default())).await;
    let base = storage(&seeded).await["objects"].as_u64().unwrap() as usize;
    let t = start_with(builder(limits(None, None, Some(base + 2)))).await;
    let kept = create_customer(&t, "one").await;
    create_customer(&t, "two").await;

    let refused = t.post("/v1/customers", &[("name", "three")]).await;
    let error = refused.error(400);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "simulator_full");
    assert!(error["message"].as_str().unwrap().contains("--max-objects"));
    let visit = t
        .control(
            Method::POST,
            &format!("/_sim/payment_links/{}/visit", t.lifetime_link()),
            Some(json!({})),
        )
        .await;
    assert_eq!(visit.error(400)["code"], "simulator_full");
    assert_eq!(t.get(&format!("/v1/customers/{kept}")).await.status, 200);

    t.control(Method::POST, "/_sim/reset", Some(json!({})))
        .await
        .ok();
    assert_eq!(
        t.post("/v1/customers", &[("name", "again")]).await.status,
        200
    );
}
