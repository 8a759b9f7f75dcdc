//! The dashboard in a real browser (headless Chromium through chromedriver and fantoccini): a
//! session and its events appear live on an open page, an event is resent from the events page,
//! and a SEPA payment settles when the clock is advanced from the overview. Screenshots at
//! desktop and phone widths go to `target/screenshots/dashboard-*.png`.
//!
//! Without Chromium and chromedriver the tests print why and pass (`cargo test` needs only the
//! Rust toolchain); `STRIPE_SIM_BROWSER=required` (set by `.ci/run`) makes them mandatory.
//!
//! The README's screenshot is made by an ignored test:
//! `cargo test -p stripe-sim --test browser_dashboard -- --ignored readme_screenshots`
//! writes `docs/screenshots/dashboard.png`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::browser::Browser;
use common::{receiver, TestSim};
use stripe_sim::{Buyer, EndpointSpec, PaymentMethodInput, SessionId};

/// The login form: the key, then the dashboard.
async fn log_in(browser: &Browser, t: &TestSim) {
    browser.goto(&t.sim.dashboard_url()).await;
    browser.type_into("input[name=key]", &t.key).await;
    browser
        .find("form[action$='/login'] button")
        .await
        .click()
        .await
        .unwrap();
    wait_for(
        browser,
        "document.querySelector('h1') && document.querySelector('h1').textContent === 'Overview'",
        "the overview after logging in",
    )
    .await;
}

/// Waits until `condition` (a JavaScript expression) holds in the page, at most 10 s.
async fn wait_for(browser: &Browser, condition: &str, what: &str) {
    let started = Instant::now();
    loop {
        let holds = browser.execute(&format!("return !!({condition});")).await;
        if holds.as_bool() == Some(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited 10 s for {what}; the page: {}",
            browser.execute("return document.body.innerText;").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The page passes the shared helper's accessibility checks (labels, names, contrast).
async fn accessible(browser: &Browser, page: &str) {
    let problems = browser.accessibility_problems().await;
    assert!(problems.is_empty(), "{page}: {problems:#?}");
}

/// Waits until the page's live stream is open.
async fn wait_for_stream(browser: &Browser) {
    wait_for(
        browser,
        "document.body.getAttribute('data-stream') === 'open'",
        "the live stream",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_session_appears_live_and_an_event_is_resent_from_the_events_page() {
    let Some(browser) =
        Browser::start("a_paid_session_appears_live_and_an_event_is_resent_from_the_events_page")
            .await
    else {
        return;
    };
    let t = common::start().await;
    let hook = receiver(200).await;
    t.sim
        .add_webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri())))
        .unwrap();
    log_in(&browser, &t).await;

    // The sessions page is open; a buyer pays meanwhile.
    browser
        .goto(&format!("{}/sessions", t.sim.dashboard_url()))
        .await;
    wait_for_stream(&browser).await;
    browser
        .execute("window.stillTheSamePage = true; return null;")
        .await;
    let link = t.sim.seeded_link("lifetime").unwrap();
    let session = t.sim.visit_link(&link.id, Some("order_77"), None).unwrap();
    t.sim
        .pay(
            &session.id,
            &PaymentMethodInput::card("4242424242424242"),
            &Buyer {
                email: Some("ada@example.com".into()),
                name: None,
            },
        )
        .unwrap();

    // It appears without a reload, paid.
    wait_for(
        &browser,
        &format!("document.getElementById('sessions').textContent.includes('{}') && document.getElementById('sessions').textContent.includes('paid')", session.id),
        "the paid session to appear",
    )
    .await;
    assert_eq!(
        browser
            .execute("return window.stillTheSamePage === true;")
            .await,
        true,
        "the page was reloaded"
    );
    browser.screenshots("dashboard-sessions").await;
    accessible(&browser, "dashboard-sessions").await;

    // Its page lists its events as they come.
    browser
        .goto(&format!(
            "{}/sessions/{}",
            t.sim.dashboard_url(),
            session.id
        ))
        .await;
    wait_for(
        &browser,
        "document.body.textContent.includes('checkout.session.completed')",
        "the session's events",
    )
    .await;
    browser.screenshots("dashboard-session").await;
    accessible(&browser, "dashboard-session").await;

    // The events page shows the delivery; a resend adds an attempt.
    assert!(t.sim.wait_for_deliveries(Duration::from_secs(10)).await);
    browser
        .goto(&format!(
            "{}/events?type=checkout.session.completed",
            t.sim.dashboard_url()
        ))
        .await;
    wait_for(
        &browser,
        "document.querySelectorAll('tr.attempt').length === 1",
        "the first attempt",
    )
    .await;
    browser
        .find("section.event form[action*='/resend'] button")
        .await
        .click()
        .await
        .unwrap();
    wait_for(
        &browser,
        "document.querySelectorAll('tr.attempt').length === 2",
        "the resend's attempt",
    )
    .await;
    let notice = browser
        .execute("return document.getElementById('notice').textContent;")
        .await;
    assert!(
        notice.as_str().unwrap().starts_with("Resent evt_"),
        "{notice}"
    );
    browser.screenshots("dashboard-events").await;
    accessible(&browser, "dashboard-events").await;

    // The tail shows each event and attempt as stripe listen does.
    browser
        .goto(&format!("{}/tail", t.sim.dashboard_url()))
        .await;
    wait_for_stream(&browser).await;
    t.sim
        .resend(
            &t.sim
                .events_of_type(stripe_sim::EventType::CheckoutSessionCompleted)[0]
                .id,
            None,
        )
        .await
        .unwrap();
    wait_for(
        &browser,
        "document.getElementById('tail').textContent.includes('(resend)')",
        "the resend in the tail",
    )
    .await;
    browser.screenshots("dashboard-tail").await;
    accessible(&browser, "dashboard-tail").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_the_clock_from_the_overview_settles_a_sepa_payment_made_on_the_session_page() {
    let Some(browser) = Browser::start(
        "advancing_the_clock_from_the_overview_settles_a_sepa_payment_made_on_the_session_page",
    )
    .await
    else {
        return;
    };
    let t = common::start().await;
    let session = t.open_eur_session().await;
    log_in(&browser, &t).await;

    // Pay by SEPA Direct Debit from the session's page: completed, not yet paid.
    let page = format!("{}/sessions/{session}", t.sim.dashboard_url());
    browser.goto(&page).await;
    browser
        .find("select[name=method]")
        .await
        .select_by_value("sepa_debit:DE89370400440532013000")
        .await
        .unwrap();
    browser
        .find("form[action$='/pay'] button")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&browser, "document.getElementById('notice') && document.getElementById('notice').textContent.includes('unpaid')", "the payment's notice").await;

    // A driver moves the clock a minute: the open overview shows it without a reload.
    browser.goto(&t.sim.dashboard_url()).await;
    wait_for_stream(&browser).await;
    t.sim.advance(60).unwrap();
    wait_for(
        &browser,
        "document.getElementById('clock').textContent.includes('2026-01-01 00:01:00')",
        "the clock to move live",
    )
    .await;

    // A day passes, from the overview's button.
    browser
        .find("form[action$='/clock/advance'] input[value='86400'] ~ button")
        .await
        .click()
        .await
        .unwrap();
    wait_for(&browser, "document.getElementById('notice') && document.getElementById('notice').textContent.startsWith('Clock advanced by 86400 s')", "the clock's notice").await;
    assert!(browser
        .execute("return document.getElementById('clock').textContent;")
        .await
        .as_str()
        .unwrap()
        .contains("2026-01-02 00:01:00"));
    browser.screenshots("dashboard-overview").await;
    accessible(&browser, "dashboard-overview").await;

    // The payment settled.
    browser.goto(&page).await;
    wait_for(&browser, "document.getElementById('payment').textContent.includes('checkout.session.async_payment_succeeded')", "the settlement's event").await;
    let status = t
        .sim
        .session(&SessionId::parse(&session).unwrap())
        .unwrap()
        .payment_status;
    assert_eq!(status.as_str(), "paid");
    browser.close().await;
}

/// Writes `docs/screenshots/dashboard.png`, the README's picture of the overview, from a
/// simulator with a few purchases in every state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/dashboard.png: run it when the dashboard's look changes"]
async fn readme_screenshots() {
    let Some(browser) = Browser::start("readme_screenshots").await else {
        panic!("the README's screenshot needs Chromium and chromedriver");
    };
    let t = common::start().await;
    let hook = receiver(200).await;
    t.sim
        .add_webhook_endpoint(EndpointSpec::all_events(format!(
            "{}/api/webhooks/stripe",
            hook.uri()
        )))
        .unwrap();
    let link = t.sim.seeded_link("lifetime").unwrap();
    for (reference, card) in [
        ("order_1001", "4242424242424242"),
        ("order_1002", "4000000000009995"),
        ("order_1003", "5555555555554444"),
    ] {
        let session = t.sim.visit_link(&link.id, Some(reference), None).unwrap();
        let buyer = Buyer {
            email: Some(format!("{reference}@example.com")),
            name: None,
        };
        let _ = t
            .sim
            .pay(&session.id, &PaymentMethodInput::card(card), &buyer);
    }
    let pending = t
        .sim
        .visit_link(&link.id, Some("order_1004"), None)
        .unwrap();
    t.sim
        .pay(
            &pending.id,
            &PaymentMethodInput::us_bank_account("000123456789"),
            &Buyer::default(),
        )
        .unwrap();
    t.sim
        .visit_link(&link.id, Some("order_1005"), None)
        .unwrap();
    assert!(t.sim.wait_for_deliveries(Duration::from_secs(10)).await);
    log_in(&browser, &t).await;
    wait_for_stream(&browser).await;

    let shot = browser.screenshot("dashboard-readme").await;

    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(&shot, docs.join("dashboard.png")).unwrap();
    browser.close().await;
}
