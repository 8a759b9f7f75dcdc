//! Webhook delivery end to end: a real simulator on loopback delivering to wiremock endpoints.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use stripe_sim::{
    Buyer, ClockMode, DeliveryFilter, DeliveryMode, DuplicateMode, EndpointSpec, EventId,
    EventType, Fault, FaultKind, Forgery, PaymentMethodInput, RecordStatus, Release, ReleaseOrder,
    RetryPolicy, Simulator,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "whsec_webhook_tests_0123456789";
const SETTLE: Duration = Duration::from_secs(10);

/// The official verification algorithm, written again here from Stripe's docs, independently of
/// the simulator's signer: any `v1` may match; the timestamp must be within 300 s.
fn verify(request: &Request, secret: &str) -> Result<i64, String> {
    let header = request
        .headers
        .get("stripe-signature")
        .ok_or("no Stripe-Signature")?
        .to_str()
        .map_err(|e| e.to_string())?;
    let mut t = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        match item.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(value.to_string()),
            _ => {}
        }
    }
    let t = t.ok_or("no timestamp")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if !v1.contains(&expected) {
        return Err(format!("no v1 matches (header {header})"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if now - t > 300 {
        return Err(format!("timestamp {t} too old"));
    }
    Ok(t)
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn types(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| body(r)["type"].as_str().unwrap().to_string())
        .collect()
}

async fn endpoint(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

fn spec(server: &MockServer, events: &[&str]) -> EndpointSpec {
    EndpointSpec {
        url: format!("{}/hook", server.uri()),
        enabled_events: events.iter().map(|s| s.to_string()).collect(),
        secret: Some(SECRET.to_string()),
        api_version: None,
    }
}

async fn sim_with(server: &MockServer, events: &[&str]) -> Simulator {
    Simulator::builder()
        .clock(ClockMode::Manual)
        .clock_start(1_800_000_000)
        .seed(7)
        .webhook_endpoint(spec(server, events))
        .start()
        .await
        .unwrap()
}

/// A buyer pays the seeded Lifetime link with a card; returns the session id.
fn pay(sim: &Simulator, card: &str) -> String {
    let link = sim.seeded_link("lifetime").unwrap();
    let session = sim.visit_link(&link.id, Some("order_1"), None).unwrap();
    let _ = sim.pay(
        &session.id,
        &PaymentMethodInput::card(card),
        &Buyer::default(),
    );
    session.id.to_string()
}

#[tokio::test]
async fn every_delivery_carries_stripes_headers_and_a_valid_signature_over_the_event() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["*"]).await;

    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4, "{:?}", types(&requests));
    for request in &requests {
        verify(request, SECRET).unwrap();
        let h = |name: &str| {
            request
                .headers
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(h("content-type"), "application/json; charset=utf-8");
        assert_eq!(
            h("user-agent"),
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        );
        assert_eq!(h("accept"), "*/*; q=0.5, application/xml");
        assert_eq!(h("cache-control"), "no-cache");
        let event = body(request);
        let logged = sim.object(event["id"].as_str().unwrap()).unwrap();
        assert_eq!(
            event["data"], logged["data"],
            "the body is the event as logged"
        );
        assert_eq!(event["object"], "event");
        assert_eq!(event["livemode"], false);
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(event["api_version"], sim.api_version());
    }
    // Delivered everywhere: nothing pending any more.
    assert!(sim.events().iter().all(|e| e.pending_webhooks == 0));
}

#[tokio::test]
async fn endpoints_receive_only_the_event_types_they_enabled() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["checkout.session.completed", "charge.*"]).await;

    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let mut received = types(&server.received_requests().await.unwrap());
    received.sort();
    assert_eq!(received, ["charge.succeeded", "checkout.session.completed"]);
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_the_test_schedule_until_they_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let sim = sim_with(&server, &["checkout.session.completed"]).await;
    let start = sim.now();

    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);
    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.status, RecordStatus::Pending);
    assert_eq!(record.next_attempt_at, Some(start + 300));

    sim.advance(299).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "not due before 5 minutes"
    );

    sim.advance(1).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);
    sim.advance(1800).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.status, RecordStatus::Succeeded);
    let at: Vec<i64> = record.attempts.iter().map(|a| a.at - start).collect();
    assert_eq!(at, [0, 300, 2100]);
    let codes: Vec<Option<u16>> = record.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(200)]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        verify(request, SECRET).unwrap();
    }
}

#[tokio::test]
async fn a_delivery_that_never_succeeds_fails_visibly_after_the_last_retry() {
    let server = endpoint(503).await;
    let sim = sim_with(&server, &["checkout.session.completed"]).await;

    pay(&sim, "4242424242424242");
    for _ in 0..4 {
        assert!(sim.wait_for_deliveries(SETTLE).await);
        sim.advance(3 * 3600).unwrap();
    }
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.status, RecordStatus::Failed);
    assert_eq!(record.attempts.len(), 4, "first attempt and 3 retries");
    let event = sim
        .events()
        .into_iter()
        .find(|e| e.event_type == EventType::CheckoutSessionCompleted)
        .unwrap();
    assert_eq!(event.pending_webhooks, 1);
}

#[tokio::test]
async fn redirects_count_as_failures() {
    let server = endpoint(302).await;
    let sim = sim_with(&server, &["checkout.session.completed"]).await;

    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.status, RecordStatus::Pending);
    assert_eq!(record.attempts[0].status_code, Some(302));
}

#[tokio::test]
async fn a_slow_endpoint_times_out_and_the_retry_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let sim = Simulator::builder()
        .clock(ClockMode::Manual)
        .seed(3)
        .webhook_timeout(Duration::from_millis(300))
        .retry_policy(RetryPolicy::parse("60").unwrap())
        .webhook_endpoint(spec(&server, &["checkout.session.completed"]))
        .start()
        .await
        .unwrap();

    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);
    sim.advance(60).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.status, RecordStatus::Succeeded);
    assert!(
        record.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("timed out"),
        "{:?}",
        record.attempts[0]
    );
    assert_eq!(record.attempts[1].status_code, Some(200));
}

#[tokio::test]
async fn a_dead_endpoint_does_not_block_the_api_or_other_endpoints() {
    let dead = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&dead)
        .await;
    let alive = endpoint(200).await;
    let sim = Simulator::builder()
        .clock(ClockMode::Manual)
        .seed(4)
        .webhook_timeout(Duration::from_secs(60))
        .webhook_endpoint(spec(&dead, &["*"]))
        .webhook_endpoint(spec(&alive, &["*"]))
        .start()
        .await
        .unwrap();

    pay(&sim, "4242424242424242");
    // The healthy endpoint gets all four events while the dead one still holds its requests.
    let mut received = 0;
    for _ in 0..200 {
        received = alive.received_requests().await.unwrap().len();
        if received == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(received, 4);
    // And the API answers while the dead endpoint's deliveries are in flight.
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let response = client
            .get(format!("{}/v1/events?limit=3", sim.base_url()))
            .bearer_auth(sim.api_key())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let in_flight = sim
        .deliveries(&DeliveryFilter::default())
        .iter()
        .filter(|r| r.status == RecordStatus::InFlight)
        .count();
    assert!(
        in_flight > 0,
        "the dead endpoint's deliveries are still in flight"
    );
}

async fn held_sim(server: &MockServer) -> (Simulator, Vec<EventId>) {
    let sim = sim_with(server, &["*"]).await;
    sim.set_delivery_mode(DeliveryMode::Hold);
    pay(&sim, "4242424242424242");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "held deliveries wait"
    );
    let ids = sim.events().into_iter().map(|e| e.id).collect();
    (sim, ids)
}

fn ids(requests: &[Request]) -> Vec<EventId> {
    requests
        .iter()
        .map(|r| EventId::parse(body(r)["id"].as_str().unwrap()).unwrap())
        .collect()
}

/// A release in `order`, each delivery sent once, one after the other.
fn in_order(order: ReleaseOrder) -> Release {
    Release {
        order,
        ..Release::default()
    }
}

#[tokio::test]
async fn held_deliveries_are_released_in_the_order_asked() {
    for (order, expect) in [(ReleaseOrder::AsIs, false), (ReleaseOrder::Reverse, true)] {
        let server = endpoint(200).await;
        let (sim, mut events) = held_sim(&server).await;

        let released = sim.release(in_order(order)).await.unwrap();

        assert_eq!(released.len(), 4);
        if expect {
            events.reverse();
        }
        assert_eq!(ids(&server.received_requests().await.unwrap()), events);
    }
}

#[tokio::test]
async fn shuffled_releases_repeat_for_the_same_seed() {
    let mut orders = Vec::new();
    for _ in 0..2 {
        let server = endpoint(200).await;
        let (sim, events) = held_sim(&server).await;
        sim.release(in_order(ReleaseOrder::Shuffle(99)))
            .await
            .unwrap();
        let received = ids(&server.received_requests().await.unwrap());
        let positions: Vec<usize> = received
            .iter()
            .map(|id| events.iter().position(|e| e == id).unwrap())
            .collect();
        orders.push(positions);
    }
    assert_eq!(orders[0], orders[1]);
    let mut sorted = orders[0].clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1, 2, 3]);
}

#[tokio::test]
async fn an_explicit_release_sends_only_the_listed_events_in_that_order() {
    let server = endpoint(200).await;
    let (sim, events) = held_sim(&server).await;

    sim.release(in_order(ReleaseOrder::Events(vec![
        events[3].clone(),
        events[0].clone(),
    ])))
    .await
    .unwrap();

    assert_eq!(
        ids(&server.received_requests().await.unwrap()),
        [events[3].clone(), events[0].clone()]
    );
    let held = sim
        .deliveries(&DeliveryFilter::default())
        .iter()
        .filter(|r| r.status == RecordStatus::Held)
        .count();
    assert_eq!(held, 2);
}

#[tokio::test]
async fn a_release_with_duplication_sends_each_event_twice() {
    let server = endpoint(200).await;
    let (sim, events) = held_sim(&server).await;

    sim.release(Release {
        duplicate: Some(DuplicateMode::Sequential),
        ..Release::default()
    })
    .await
    .unwrap();

    let received = ids(&server.received_requests().await.unwrap());
    assert_eq!(received.len(), 8);
    for event in &events {
        assert_eq!(received.iter().filter(|id| *id == event).count(), 2);
    }
}

async fn fault_sim(server: &MockServer, fault: Fault) -> Simulator {
    let sim = sim_with(server, &["checkout.session.completed"]).await;
    sim.add_fault(fault).unwrap();
    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);
    sim
}

#[tokio::test]
async fn a_duplicate_fault_delivers_the_same_event_twice_concurrently() {
    let server = endpoint(200).await;
    let sim = fault_sim(&server, Fault::new(FaultKind::Duplicate)).await;

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(body(&requests[0])["id"], body(&requests[1])["id"]);
    assert_eq!(
        sim.deliveries(&DeliveryFilter::default())[0].status,
        RecordStatus::Succeeded
    );
}

#[tokio::test]
async fn a_dropped_first_attempt_arrives_by_retry() {
    let server = endpoint(200).await;
    let sim = fault_sim(&server, Fault::new(FaultKind::Drop)).await;

    assert!(server.received_requests().await.unwrap().is_empty());
    sim.advance(300).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);

    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.attempts[0].fault, Some(FaultKind::Drop));
    assert_eq!(record.status, RecordStatus::Succeeded);
}

#[tokio::test]
async fn a_delay_in_simulator_time_holds_the_delivery_until_the_clock_passes_it() {
    let server = endpoint(200).await;
    let sim = fault_sim(
        &server,
        Fault {
            delay_seconds: Some(600),
            ..Fault::new(FaultKind::Delay)
        },
    )
    .await;

    assert!(server.received_requests().await.unwrap().is_empty());
    sim.advance(599).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);
    assert!(server.received_requests().await.unwrap().is_empty());
    sim.advance(1).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// A forged attempt reaches the endpoint, fails verification, and the genuine event follows by
/// retry.
async fn forged_then_genuine(kind: Forgery) -> (Request, Request) {
    let server = endpoint(400).await;
    let sim = fault_sim(&server, Fault::new(kind)).await;
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    sim.advance(300).unwrap();
    assert!(sim.wait_for_deliveries(SETTLE).await);
    let record = sim.deliveries(&DeliveryFilter::default()).remove(0);
    assert_eq!(record.status, RecordStatus::Succeeded, "{kind:?}");
    assert_eq!(record.attempts[0].fault, Some(FaultKind::Forge(kind)));
    let genuine = server.received_requests().await.unwrap().remove(0);
    verify(&genuine, SECRET).unwrap();
    // The forged request, as the endpoint saw it, is gone from wiremock after reset: rebuild it
    // by replaying the fault through the control API.
    let forged = replay_forgery(&sim, kind, &record.event_id).await;
    (forged, genuine)
}

async fn replay_forgery(sim: &Simulator, kind: Forgery, event_id: &str) -> Request {
    let catcher = endpoint(400).await;
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/webhooks/deliver", sim.base_url()))
        .bearer_auth(sim.api_key())
        .json(&serde_json::json!({
            "url": format!("{}/hook", catcher.uri()),
            "secret": SECRET,
            "event_id": event_id,
            "forgery": kind,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["attempt"]["status_code"], 400, "{answer}");
    catcher.received_requests().await.unwrap().remove(0)
}

#[tokio::test]
async fn each_forgery_fails_official_verification_and_the_genuine_event_follows() {
    for kind in [
        Forgery::Tamper,
        Forgery::Stale,
        Forgery::WrongSecret,
        Forgery::Unsigned,
        Forgery::BadHeader,
    ] {
        let (forged, genuine) = forged_then_genuine(kind).await;
        let failure = verify(&forged, SECRET).unwrap_err();
        match kind {
            Forgery::Tamper => {
                assert_ne!(forged.body, genuine.body);
                assert!(failure.contains("no v1 matches"), "{failure}");
            }
            Forgery::Stale => assert!(failure.contains("too old"), "{failure}"),
            Forgery::Unsigned => assert!(forged.headers.get("stripe-signature").is_none()),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_resend_delivers_the_event_again_without_cancelling_retries() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["checkout.session.completed"]).await;
    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);
    let event_id = sim.deliveries(&DeliveryFilter::default())[0]
        .event_id
        .clone();

    let attempts = sim.resend(&event_id, None).await.unwrap();

    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].manual);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(body(&requests[1])["id"], event_id.as_str());
    verify(&requests[1], SECRET).unwrap();
}

#[tokio::test]
async fn an_event_made_while_the_endpoint_was_disabled_is_resent_and_logged_after_re_enabling() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["checkout.session.completed"]).await;
    let endpoint_id = sim.webhook_endpoints()[0].id.clone();
    let set_disabled = |disabled: &'static str| {
        reqwest::Client::new()
            .post(format!(
                "{}/v1/webhook_endpoints/{endpoint_id}",
                sim.base_url()
            ))
            .bearer_auth(sim.api_key())
            .form(&[("disabled", disabled)])
            .send()
    };
    assert!(set_disabled("true").await.unwrap().status().is_success());
    pay(&sim, "4242424242424242");
    let event = sim.events_of_type(EventType::CheckoutSessionCompleted)[0].clone();
    assert!(
        sim.deliveries(&DeliveryFilter::default()).is_empty(),
        "no record for an endpoint that was disabled"
    );
    assert!(set_disabled("false").await.unwrap().status().is_success());

    let attempts = sim.resend(&event.id, Some(&endpoint_id)).await.unwrap();

    assert_eq!(attempts.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let log = sim.deliveries(&DeliveryFilter::default());
    assert_eq!(log.len(), 1, "the resend shows in the delivery log");
    assert_eq!(log[0].event_id, event.id);
    assert_eq!(log[0].status, RecordStatus::Succeeded);
    assert!(log[0].attempts[0].manual);
    assert_eq!(
        sim.events_of_type(EventType::CheckoutSessionCompleted)[0].pending_webhooks,
        0
    );
}

#[tokio::test]
async fn a_rolled_secret_signs_with_both_secrets_the_current_one_last() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["checkout.session.completed"]).await;
    let endpoint_id = sim.webhook_endpoints()[0].id.clone();

    let new_secret = sim.roll_webhook_secret(&endpoint_id, 3600).unwrap().secret;
    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let request = server.received_requests().await.unwrap().remove(0);
    verify(&request, SECRET).unwrap();
    verify(&request, &new_secret).unwrap();
    let header = request
        .headers
        .get("stripe-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(header.matches("v1=").count(), 2);
    let t: i64 = header
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=")
        .parse()
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(new_secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    assert!(
        header.ends_with(&hex::encode(mac.finalize().into_bytes())),
        "current secret last"
    );

    // After the overlap only the new secret signs.
    sim.advance(3601).unwrap();
    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);
    let later = server.received_requests().await.unwrap().pop().unwrap();
    verify(&later, &new_secret).unwrap();
    assert!(verify(&later, SECRET).is_err());
}

#[tokio::test]
async fn webhook_endpoints_are_managed_through_the_api_and_show_the_secret_only_on_creation() {
    let server = endpoint(200).await;
    let sim = Simulator::builder()
        .clock(ClockMode::Manual)
        .seed(5)
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", sim.base_url());

    let created: Value = client
        .post(url("/v1/webhook_endpoints"))
        .bearer_auth(sim.api_key())
        .form(&[
            ("url", format!("{}/hook", server.uri())),
            ("enabled_events[0]", "checkout.session.completed".into()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("we_"));
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["status"], "enabled");

    let fetched: Value = client
        .get(url(&format!("/v1/webhook_endpoints/{id}")))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(fetched.get("secret").is_none());

    let disabled: Value = client
        .post(url(&format!("/v1/webhook_endpoints/{id}")))
        .bearer_auth(sim.api_key())
        .form(&[("disabled", "true")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disabled["status"], "disabled");
    pay(&sim, "4242424242424242");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "a disabled endpoint receives nothing"
    );

    let deleted: Value = client
        .delete(url(&format!("/v1/webhook_endpoints/{id}")))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["deleted"], true);
    let list: Value = client
        .get(url("/v1/webhook_endpoints"))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn at_most_sixteen_endpoints_exist() {
    let server = endpoint(200).await;
    let sim = Simulator::builder().seed(6).start().await.unwrap();
    for _ in 0..16 {
        sim.add_webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", server.uri())))
            .unwrap();
    }
    let err = sim
        .add_webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", server.uri())))
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.contains("maximum of 16"));
}

#[tokio::test]
async fn the_control_api_holds_releases_and_logs_deliveries_over_http() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["*"]).await;
    let client = reqwest::Client::new();
    let post = |p: &str, body: Value| {
        client
            .post(format!("{}{p}", sim.base_url()))
            .bearer_auth(sim.api_key())
            .json(&body)
            .send()
    };

    assert_eq!(
        post("/_sim/webhooks/hold", serde_json::json!({}))
            .await
            .unwrap()
            .status(),
        200
    );
    pay(&sim, "4242424242424242");
    let status: Value = client
        .get(format!("{}/_sim/webhooks", sim.base_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["held"], 4);

    let released: Value = post(
        "/_sim/webhooks/release",
        serde_json::json!({"order": "reverse", "resume": true}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(released["released"].as_array().unwrap().len(), 4);
    assert_eq!(released["status"]["mode"], "auto");

    let log: Value = client
        .get(format!(
            "{}/_sim/deliveries?outcome=succeeded",
            sim.base_url()
        ))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["data"].as_array().unwrap().len(), 4);
    assert_eq!(log["data"][0]["attempts"][0]["status_code"], 200);

    let bad = post(
        "/_sim/webhooks/release",
        serde_json::json!({"order": "sideways"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    let err: Value = bad.json().await.unwrap();
    assert_eq!(err["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn a_delay_in_wall_time_holds_the_attempt_without_blocking_others() {
    let server = endpoint(200).await;
    let sim = sim_with(&server, &["*"]).await;
    // The first event of a payment is held back 300 ms on the wire.
    sim.add_fault(Fault {
        event_type: Some("payment_intent.created".into()),
        delay_ms: Some(300),
        ..Fault::new(FaultKind::Delay)
    })
    .unwrap();

    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);

    let record = sim
        .deliveries(&DeliveryFilter::default())
        .into_iter()
        .find(|r| r.event_type == EventType::PaymentIntentCreated)
        .unwrap();
    assert_eq!(record.status, RecordStatus::Succeeded);
    assert_eq!(record.attempts[0].fault, Some(FaultKind::Delay));
    // It arrived last: the events after it were not held behind it.
    let received = types(&server.received_requests().await.unwrap());
    assert_eq!(received.len(), 4);
    assert_eq!(
        received.last().map(String::as_str),
        Some("payment_intent.created")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_answering_a_gigabyte_is_read_only_64_kib_deep() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Arrange: an endpoint that answers 200 with a 1 GiB body and writes until the simulator
    // hangs up, counting what it managed to write.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut request).await;
                let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1073741824\r\n\r\n";
                if socket.write_all(head).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                while counter.load(Ordering::Relaxed) < 1 << 30 {
                    if socket.write_all(&chunk).await.is_err() {
                        break;
                    }
                    counter.fetch_add(chunk.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let sim = Simulator::builder()
        .clock(ClockMode::Manual)
        .seed(11)
        .webhook_timeout(Duration::from_secs(30))
        .webhook_endpoint(EndpointSpec::all_events(format!("http://{address}/hook")))
        .start()
        .await
        .unwrap();

    // Act
    let started = std::time::Instant::now();
    pay(&sim, "4242424242424242");
    assert!(sim.wait_for_deliveries(SETTLE).await);
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Assert: every delivery succeeded on the status, keeping the body's first bytes, and the
    // endpoint could write no more than the socket buffers hold beyond 64 KiB per delivery.
    let records = sim.deliveries(&DeliveryFilter::default());
    assert!(!records.is_empty());
    for record in &records {
        assert_eq!(record.status, RecordStatus::Succeeded, "{record:?}");
        let attempt = &record.attempts[0];
        assert_eq!(attempt.status_code, Some(200));
        assert_eq!(attempt.response.len(), 512);
        assert!(attempt.response.bytes().all(|b| b == b'x'));
    }
    let per_delivery = written.load(Ordering::Relaxed) / records.len();
    assert!(
        per_delivery < 16 << 20,
        "{per_delivery} bytes written per delivery"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}
