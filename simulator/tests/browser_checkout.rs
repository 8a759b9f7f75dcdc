//! The hosted checkout page in a real browser: headless Chromium over WebDriver
//! (`common::browser`). A buyer types a card and clicks Pay, sees a decline with what they typed
//! kept, fills the form from the test-card list; the page passes basic accessibility checks and
//! collapses to one column at phone width. Screenshots land in `target/screenshots/`.
//!
//! Without Chromium and chromedriver every test here is skipped with the reason printed;
//! `.ci/run` installs them and sets `STRIPE_SIM_BROWSER=required`.
//!
//! `cargo test -p stripe-sim --test browser_checkout -- --ignored readme_screenshots` writes
//! the README's `docs/screenshots/checkout.png`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::browser::Browser;
use common::{str_of, TestSim};
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The merchant's site: the success URL answers a page of its own.
async fn merchant_site() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!doctype html><title>Order confirmed</title><h1>Order confirmed</h1>",
            "text/html",
        ))
        .mount(&server)
        .await;
    server
}

/// A session made through the API (two workshop seats, USD 50.00) returning to `site`: its id
/// and hosted page URL.
async fn api_session(t: &TestSim, site: &MockServer) -> (String, String) {
    let success = format!("{}/done?session_id={{CHECKOUT_SESSION_ID}}", site.uri());
    let cancel = format!("{}/cart", site.uri());
    let session = t
        .create_session(&[
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "2500"),
            (
                "line_items[0][price_data][product_data][name]",
                "Workshop seat",
            ),
            ("line_items[0][quantity]", "2"),
            ("client_reference_id", "order_42"),
            ("success_url", &success),
            ("cancel_url", &cancel),
        ])
        .await
        .ok();
    (str_of(&session["id"]), str_of(&session["url"]))
}

/// Waits (up to 10 s) until the browser is at a URL starting with `prefix`.
async fn wait_for_url(browser: &Browser, prefix: &str) -> String {
    let start = Instant::now();
    loop {
        let url = browser.url().await;
        if url.starts_with(prefix) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still at {url}, expected {prefix}…"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types the buyer's details and a card into the form.
async fn type_card(browser: &Browser, number: &str) {
    browser.type_into("#email", "ada@example.com").await;
    browser.type_into("#name", "Ada Lovelace").await;
    browser.type_into("#card_number", number).await;
    browser.type_into("#exp", "12 / 34").await;
    browser.type_into("#cvc", "123").await;
}

/// The text of the page's alert, once the page shows one.
async fn alert(browser: &Browser) -> String {
    browser.wait_for("[role=alert]").await.text().await.unwrap()
}

#[tokio::test]
async fn a_buyer_who_types_a_card_and_clicks_pay_lands_on_the_success_url() {
    let Some(browser) = Browser::start("browser_checkout: pay by card").await else {
        return;
    };
    // Arrange
    let t = common::start().await;
    let site = merchant_site().await;
    let (id, url) = api_session(&t, &site).await;
    browser.goto(&url).await;

    // Act
    type_card(&browser, "4242 4242 4242 4242").await;
    browser.find("#pay").await.click().await.unwrap();

    // Assert
    let landed = wait_for_url(&browser, &format!("{}/done", site.uri())).await;
    assert_eq!(landed, format!("{}/done?session_id={id}", site.uri()));
    let session = t.session(&id).await;
    assert_eq!(session["status"], "complete");
    assert_eq!(session["payment_status"], "paid");
    assert_eq!(session["customer_details"]["email"], "ada@example.com");
    assert_eq!(session["customer_details"]["name"], "Ada Lovelace");
    browser.close().await;
}

#[tokio::test]
async fn pressing_tab_walks_the_form_in_reading_order_then_the_test_cards() {
    let Some(browser) = Browser::start("browser_checkout: focus order").await else {
        return;
    };
    // Arrange
    let t = common::start().await;
    let site = merchant_site().await;
    let (_, url) = api_session(&t, &site).await;
    browser.goto(&url).await;

    // Act: from the top of the page, as a keyboard user starts.
    browser
        .execute("document.activeElement.blur(); return null;")
        .await;
    let mut stops = Vec::new();
    for _ in 0..9 {
        stops.push(browser.press_tab().await);
    }

    // Assert: the way back to the merchant (top left, as on Stripe's page), contact, the
    // payment method (one stop for the radio group, then the chosen method's fields; the bank
    // account's are hidden), Pay, then the test list.
    assert_eq!(stops[0], format!("a {}/cart", site.uri()), "{stops:?}");
    assert_eq!(
        stops[1..8],
        [
            "email",
            "name",
            "method-card",
            "card_number",
            "exp",
            "cvc",
            "pay"
        ],
        "{stops:?}"
    );
    assert!(
        stops[8].starts_with("a ?prefill="),
        "after Pay, the test cards: {stops:?}"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_declined_card_shows_the_reason_and_keeps_what_the_buyer_typed() {
    let Some(browser) = Browser::start("browser_checkout: decline").await else {
        return;
    };
    // Arrange
    let t = common::start().await;
    let site = merchant_site().await;
    let (id, url) = api_session(&t, &site).await;
    browser.goto(&url).await;

    // Act
    type_card(&browser, "4000 0000 0000 9995").await;
    browser.find("#pay").await.click().await.unwrap();

    // Assert
    assert_eq!(alert(&browser).await, "Your card has insufficient funds.");
    assert_eq!(browser.prop("#email", "value").await, "ada@example.com");
    assert_eq!(browser.prop("#name", "value").await, "Ada Lovelace");
    assert_eq!(browser.prop("#card_number", "value").await, "");
    assert_eq!(
        browser
            .execute("return document.activeElement.id")
            .await
            .as_str(),
        Some("card_number"),
        "the card number takes the focus for another try"
    );
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    assert_eq!(t.session(&id).await["status"], "open");
    browser.screenshots("checkout-declined").await;
    browser.close().await;
}

#[tokio::test]
async fn clicking_a_test_card_fills_the_form_and_an_ach_account_switches_the_method() {
    let Some(browser) = Browser::start("browser_checkout: test cards").await else {
        return;
    };
    // Arrange
    let t = common::start().await;
    let site = merchant_site().await;
    let (id, url) = api_session(&t, &site).await;
    browser.goto(&url).await;

    // Act: a card entry, then an ACH account.
    browser
        .find(r#"a[href="?prefill=4000000000009995"]"#)
        .await
        .click()
        .await
        .unwrap();
    let card = (
        browser.prop("#card_number", "value").await,
        browser.prop("#exp", "value").await,
        browser.prop("#cvc", "value").await,
    );
    let after_card = browser.url().await;
    browser
        .find(r#"a[href="?prefill=000123456789"]"#)
        .await
        .click()
        .await
        .unwrap();
    let ach_chosen = browser
        .find("#method-us_bank_account")
        .await
        .is_selected()
        .await
        .unwrap();
    let card_field_shown = browser
        .find("#card_number")
        .await
        .is_displayed()
        .await
        .unwrap();
    browser.type_into("#email", "sam@example.com").await;
    browser.find("#pay").await.click().await.unwrap();

    // Assert
    assert_eq!(card.0, "4000 0000 0000 9995");
    assert!(card.1.contains(" / "), "{card:?}");
    assert_eq!(card.2, "123");
    assert_eq!(after_card, url, "the script filled the form: no navigation");
    assert!(ach_chosen, "the ACH entry chose the ACH method");
    assert!(!card_field_shown, "the card fields hide once ACH is chosen");
    wait_for_url(&browser, &format!("{}/done", site.uri())).await;
    let session = t.session(&id).await;
    assert_eq!(session["status"], "complete");
    assert_eq!(session["payment_status"], "unpaid", "ACH settles later");
    browser.close().await;
}

/// Where the summary and payment columns are: `[summary bottom, payment top, summary right,
/// payment left]`.
async fn columns(browser: &Browser) -> Vec<f64> {
    let value = browser
        .execute(
            "const s = document.querySelector('.summary').getBoundingClientRect();
             const p = document.querySelector('.payment').getBoundingClientRect();
             return [s.bottom, p.top, s.right, p.left];",
        )
        .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_page_has_two_columns_on_a_desktop_one_on_a_phone_and_passes_accessibility_checks() {
    let Some(browser) = Browser::start("browser_checkout: layout").await else {
        return;
    };
    // Arrange
    let t = common::start().await;
    let site = merchant_site().await;
    let (_, url) = api_session(&t, &site).await;
    let eur = t.open_eur_session().await;

    // Act
    browser.goto(&url).await;
    let (desktop_shot, phone_shot) = browser.screenshots("checkout").await;
    let desktop = columns(&browser).await;
    browser.set_phone().await;
    let phone = columns(&browser).await;
    let phone_width = browser
        .execute("return document.documentElement.scrollWidth")
        .await;
    browser.set_desktop().await;
    let usd_problems = browser.accessibility_problems().await;
    browser.goto(&t.url(&format!("/c/pay/{eur}"))).await;
    let eur_problems = browser.accessibility_problems().await;

    // Assert
    assert!(
        desktop[3] >= desktop[2] - 1.0,
        "side by side on a desktop: {desktop:?}"
    );
    assert!(phone[1] >= phone[0] - 1.0, "stacked on a phone: {phone:?}");
    assert_eq!(
        phone_width.as_f64(),
        Some(390.0),
        "nothing wider than the phone"
    );
    assert_eq!(usd_problems, Vec::<String>::new());
    assert_eq!(eur_problems, Vec::<String>::new());
    assert!(desktop_shot.exists() && phone_shot.exists());
    browser.close().await;
}

#[tokio::test]
async fn the_confirmation_page_shows_the_amount_the_product_and_the_session_id() {
    let Some(browser) = Browser::start("browser_checkout: confirmation").await else {
        return;
    };
    // Arrange: a link with Stripe's own confirmation page.
    let t = common::start().await;
    let price = t.price("Ebook", 1500, "usd").await;
    let link = t
        .create_link(
            &price,
            &[
                ("after_completion[type]", "hosted_confirmation"),
                (
                    "after_completion[hosted_confirmation][custom_message]",
                    "Check your inbox for the download.",
                ),
            ],
        )
        .await;
    browser.goto(&str_of(&link["url"])).await;
    let page = browser.url().await;
    let id = page.rsplit('/').next().unwrap().to_string();

    // Act
    type_card(&browser, "4242424242424242").await;
    browser.find("#pay").await.click().await.unwrap();

    // Assert
    browser.wait_for("dl.facts").await;
    let text: Value = browser.execute("return document.body.innerText").await;
    let text = text.as_str().unwrap();
    for expected in [
        "Thanks for your payment",
        "Ebook × 1",
        "$15.00",
        id.as_str(),
        "Visa – 4242",
        "ada@example.com",
        "Check your inbox for the download.",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert_eq!(browser.accessibility_problems().await, Vec::<String>::new());
    browser.screenshots("confirmation").await;
    browser.close().await;
}

/// The README's screenshot of the checkout page: `docs/screenshots/checkout.png`, desktop size.
/// Run it with `cargo test -p stripe-sim --test browser_checkout -- --ignored readme_screenshots`.
#[tokio::test]
#[ignore = "writes docs/screenshots/checkout.png; run it by name"]
async fn readme_screenshots() {
    let Some(browser) = Browser::start("readme_screenshots").await else {
        panic!("the README's screenshots need Chromium and chromedriver");
    };
    let t = common::start().await;
    let link = t
        .object(&format!("/v1/payment_links/{}", t.lifetime_link()))
        .await;
    browser.goto(&str_of(&link["url"])).await;
    browser.set_desktop().await;
    let png = browser.screenshot("checkout-readme").await;
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::copy(&png, docs.join("checkout.png")).unwrap();
    browser.close().await;
}

#[tokio::test]
async fn the_accessibility_check_finds_duplicate_ids_unlabelled_fields_and_faint_text() {
    let Some(browser) = Browser::start("browser_checkout: the accessibility check").await else {
        return;
    };
    // Arrange: a page with one of each problem.
    let page = "<!doctype html><html lang=en><title>bad</title>\
        <style>#c::placeholder{color:#ccc}</style><body>\
        <label for=a>A</label><input id=a><input id=a><input name=b>\
        <p style='color:#bbb'>faint</p><input id=c placeholder='faint too'>\
        <label for=c>C</label><button></button></body></html>";

    // Act
    browser
        .goto(&format!("data:text/html,{}", page.replace('#', "%23")))
        .await;
    let problems = browser.accessibility_problems().await.join("\n");

    // Assert
    for expected in [
        r#"id "a" is used 2 times"#,
        r#"<input name="b"> has no label"#,
        r#"text "faint" of <p> has contrast"#,
        r#"the placeholder of <input id="c"> has contrast"#,
        "<button> has no name",
    ] {
        assert!(problems.contains(expected), "{expected:?} in {problems}");
    }
    browser.close().await;
}
