//! The control API (`/_sim`): the clock, reset, health and info, and the seed that makes ids
//! repeat from one run to the next.

#![allow(clippy::unwrap_used)]

mod common;

use common::CLOCK_START;
use reqwest::Method;

#[tokio::test]
async fn control_clock_reports_and_advances_simulator_time() {
    // Arrange
    let t = common::start().await;
    t.open_session().await;

    // Act
    let before = t.control(Method::GET, "/_sim/clock", None).await.ok();
    let after = t.advance(90).await;

    // Assert
    assert_eq!(before["now"], CLOCK_START);
    assert_eq!(before["mode"], "manual");
    assert_eq!(before["next_job_at"], CLOCK_START + 86_400);
    assert_eq!(after["now"], CLOCK_START + 90);
    assert_eq!(t.sim.now(), CLOCK_START + 90);
}

#[tokio::test]
async fn control_reset_forgets_everything_but_the_seed() {
    // Arrange
    let t = common::start().await;
    let link = t.lifetime_link();
    t.paid_session().await;
    t.post("/v1/customers", &[("name", "Ada")]).await.ok();

    // Act
    let answer = t.control(Method::POST, "/_sim/reset", None).await.ok();

    // Assert
    assert_eq!(answer["reset"], true);
    assert_eq!(t.count("/v1/checkout/sessions").await, 0);
    assert_eq!(t.count("/v1/customers").await, 0);
    assert_eq!(t.count("/v1/events").await, 0);
    assert_eq!(t.count("/v1/payment_links").await, 1);
    assert_eq!(t.lifetime_link(), link, "the same seed gives the same ids");
}

#[tokio::test]
async fn control_health_answers_without_a_key_and_info_with_one() {
    // Arrange
    let t = common::start().await;

    // Act
    let health = t.send(t.anonymous(Method::GET, "/_sim/health")).await.ok();
    let info = t.control(Method::GET, "/_sim/info", None).await.ok();
    let info_without_key = t.send(t.anonymous(Method::GET, "/_sim/info")).await;

    // Assert
    assert_eq!(health["status"], "ok");
    assert_eq!(info["base_url"], t.base.as_str());
    assert_eq!(info["seed"], 42);
    assert_eq!(info["clock"], "manual");
    assert_eq!(
        info["payment_links"]["lifetime"]["id"],
        t.lifetime_link().as_str()
    );
    info_without_key.error(401);
}

#[tokio::test]
async fn same_seed_and_requests_give_the_same_ids() {
    // Arrange
    let a = common::start_with_seed(7).await;
    let b = common::start_with_seed(7).await;

    // Act
    let paid_a = a.paid_session().await;
    let paid_b = b.paid_session().await;

    // Assert
    assert_eq!(paid_a["id"], paid_b["id"]);
    assert_eq!(paid_a["payment_intent"], paid_b["payment_intent"]);
}
