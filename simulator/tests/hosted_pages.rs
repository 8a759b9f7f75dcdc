//! The buyer's path through the hosted pages over plain HTTP, redirects not followed: a payment
//! link (`/b/{token}`) opens a session and sends the buyer to its checkout page (`/c/pay/{id}`),
//! whose forms pay it.

#![allow(clippy::unwrap_used)]

mod common;

use common::{str_of, Resp, TestSim, LIFETIME_REDIRECT};
use reqwest::Method;
use serde_json::Value;

/// `/b/{token}` of a payment link, from its `url`.
async fn link_path(t: &TestSim, link_id: &str) -> String {
    let link = t.object(&format!("/v1/payment_links/{link_id}")).await;
    let url = str_of(&link["url"]);
    let path = url.strip_prefix(&t.base).unwrap().to_string();
    assert!(path.starts_with("/b/"), "{url}");
    path
}

/// A page, as a browser would fetch it (no API key).
async fn browse(t: &TestSim, path: &str) -> Resp {
    t.send(t.anonymous(Method::GET, path)).await
}

/// Submits a checkout form.
async fn submit(t: &TestSim, page: &str, fields: &[(&str, &str)]) -> Resp {
    t.send(
        t.anonymous(Method::POST, page)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(common::encode(fields)),
    )
    .await
}

/// Opens a payment link as a buyer: the checkout page's path (`/c/pay/cs_…`).
async fn open(t: &TestSim, link_id: &str, query: &str) -> String {
    let answer = browse(t, &format!("{}{query}", link_path(t, link_id).await)).await;
    assert_eq!(answer.status, 303, "{}", answer.text);
    answer.header("location").unwrap().to_string()
}

fn session_id(page: &str) -> String {
    page.strip_prefix("/c/pay/").unwrap().to_string()
}

async fn session(t: &TestSim, page: &str) -> Value {
    t.object(&format!("/v1/checkout/sessions/{}", session_id(page)))
        .await
}

fn card(number: &str) -> Vec<(&'static str, String)> {
    vec![
        ("method", "card".to_string()),
        ("email", "ada@example.com".to_string()),
        ("card_number", number.to_string()),
        ("exp", "12 / 34".to_string()),
        ("cvc", "123".to_string()),
        ("name", "Ada Lovelace".to_string()),
    ]
}

async fn pay_on_page(t: &TestSim, page: &str, number: &str) -> Resp {
    let fields = card(number);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    submit(t, page, &fields).await
}

/// A payment link showing Stripe's confirmation page with `message` after payment.
async fn hosted_confirmation_link(t: &TestSim, currency: &str, message: &str) -> String {
    let price = t.price("Ebook", 1500, currency).await;
    let link = t
        .create_link(
            &price,
            &[
                ("after_completion[type]", "hosted_confirmation"),
                (
                    "after_completion[hosted_confirmation][custom_message]",
                    message,
                ),
            ],
        )
        .await;
    str_of(&link["id"])
}

#[tokio::test]
async fn visiting_a_link_redirects_303_to_a_new_checkout_page() {
    // Arrange
    let t = common::start().await;
    let path = link_path(&t, &t.lifetime_link()).await;

    // Act
    let answer = browse(&t, &format!("{path}?client_reference_id=order_9")).await;

    // Assert
    assert_eq!(answer.status, 303);
    let location = answer.header("location").unwrap();
    assert!(location.starts_with("/c/pay/cs_test_"), "{location}");
    let s = session(&t, location).await;
    assert_eq!(s["status"], "open");
    assert_eq!(s["client_reference_id"], "order_9");
    assert_eq!(s["payment_link"], t.lifetime_link().as_str());
    assert_eq!(s["url"], format!("{}{location}", t.base));
}

#[tokio::test]
async fn invalid_client_reference_id_in_the_url_is_dropped_and_the_page_still_opens() {
    // Arrange
    let t = common::start().await;

    // Act
    let page = open(&t, &t.lifetime_link(), "?client_reference_id=order%201").await;

    // Assert
    assert_eq!(session(&t, &page).await["client_reference_id"], Value::Null);
    assert_eq!(browse(&t, &page).await.status, 200);
}

#[tokio::test]
async fn checkout_page_shows_the_item_the_total_and_a_card_form() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let answer = browse(&t, &page).await;

    // Assert
    assert_eq!(answer.status, 200);
    assert!(answer
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = &answer.text;
    assert!(html.contains("Lifetime × 1"), "{html}");
    assert!(html.contains("$199.00"), "{html}");
    assert!(html.contains(r#"name="method" value="card""#), "{html}");
    assert!(html.contains(r#"name="card_number""#), "{html}");
    assert!(html.contains(r#"name="exp""#), "{html}");
    assert!(html.contains(r#"name="cvc""#), "{html}");
    assert!(html.contains(&format!(r#"action="{page}""#)), "{html}");
    assert!(html.contains("TEST MODE"), "{html}");
}

#[tokio::test]
async fn usd_checkout_page_offers_ach_and_no_sepa() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let html = browse(&t, &page).await.text;

    // Assert
    assert!(html.contains(r#"value="us_bank_account""#), "{html}");
    assert!(html.contains(r#"name="routing_number""#), "{html}");
    assert!(!html.contains(r#"value="sepa_debit""#), "{html}");
    assert!(!html.contains(r#"name="iban""#), "{html}");
}

#[tokio::test]
async fn eur_checkout_page_offers_sepa_and_no_ach() {
    // Arrange
    let t = common::start().await;
    let link = t.link(4900, "eur").await;
    let page = open(&t, &str_of(&link["id"]), "").await;

    // Act
    let html = browse(&t, &page).await.text;

    // Assert
    assert!(html.contains("€49.00"), "{html}");
    assert!(html.contains(r#"value="sepa_debit""#), "{html}");
    assert!(html.contains(r#"name="iban""#), "{html}");
    assert!(!html.contains(r#"value="us_bank_account""#), "{html}");
}

#[tokio::test]
async fn declined_card_on_the_page_shows_the_reason_and_leaves_the_session_open() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let answer = pay_on_page(&t, &page, "4000 0000 0000 9995").await;

    // Assert
    assert_eq!(answer.status, 402);
    assert!(
        answer.text.contains("Your card has insufficient funds."),
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains(r#"name="card_number""#),
        "the form is shown again"
    );
    let s = session(&t, &page).await;
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    let pi = t
        .object(&format!(
            "/v1/payment_intents/{}",
            str_of(&s["payment_intent"])
        ))
        .await;
    assert_eq!(
        pi["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    assert!(t.events_of("checkout.session.completed").is_empty());
}

#[tokio::test]
async fn successful_card_on_the_page_redirects_to_the_success_url_with_the_session_id() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "?client_reference_id=order_1").await;
    let id = session_id(&page);

    // Act
    let answer = pay_on_page(&t, &page, "4242 4242 4242 4242").await;

    // Assert
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(
        answer.header("location").unwrap(),
        LIFETIME_REDIRECT.replace("{CHECKOUT_SESSION_ID}", &id)
    );
    let s = session(&t, &page).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["client_reference_id"], "order_1");
    assert_eq!(s["customer_details"]["email"], "ada@example.com");
    assert_eq!(s["customer_details"]["name"], "Ada Lovelace");
    let completed = t.events_of("checkout.session.completed");
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0]["data"]["object"]["id"], id.as_str());
}

#[tokio::test]
async fn retry_on_the_page_after_a_decline_completes_the_session() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;
    pay_on_page(&t, &page, "4000000000000002").await;

    // Act
    let answer = pay_on_page(&t, &page, "4242424242424242").await;

    // Assert
    assert_eq!(answer.status, 303);
    assert_eq!(session(&t, &page).await["status"], "complete");
    assert_eq!(t.count("/v1/payment_intents").await, 1);
    assert_eq!(t.count("/v1/charges").await, 2);
}

#[tokio::test]
async fn completed_session_page_sends_the_buyer_to_the_success_url_again() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;
    pay_on_page(&t, &page, "4242424242424242").await;

    // Act
    let answer = browse(&t, &page).await;

    // Assert
    assert_eq!(answer.status, 303);
    assert!(answer
        .header("location")
        .unwrap()
        .ends_with(&format!("session_id={}", session_id(&page))));
}

#[tokio::test]
async fn link_with_hosted_confirmation_shows_a_confirmation_page() {
    // Arrange
    let t = common::start().await;
    let link = hosted_confirmation_link(&t, "usd", "Check your inbox for the download.").await;
    let page = open(&t, &link, "").await;

    // Act
    let answer = pay_on_page(&t, &page, "4242424242424242").await;
    let revisit = browse(&t, &page).await;

    // Assert
    for answer in [&answer, &revisit] {
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(
            answer.text.contains("Thanks for your payment"),
            "{}",
            answer.text
        );
        assert!(answer.text.contains("Check your inbox for the download."));
        assert!(answer.header("location").is_none());
    }
    assert_eq!(
        session(&t, &page).await["success_url"],
        "https://stripe.com"
    );
}

#[tokio::test]
async fn sepa_debit_on_the_page_confirms_that_the_payment_is_processing() {
    // Arrange
    let t = common::start().await;
    let link = hosted_confirmation_link(&t, "eur", "Danke!").await;
    let page = open(&t, &link, "").await;

    // Act
    let answer = submit(
        &t,
        &page,
        &[
            ("method", "sepa_debit"),
            ("email", "jonas@example.com"),
            ("iban", "DE89 3704 0044 0532 0130 00"),
            ("name", "Jonas"),
        ],
    )
    .await;

    // Assert
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.contains("Your payment is processing."),
        "{}",
        answer.text
    );
    let s = session(&t, &page).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "unpaid");
}

#[tokio::test]
async fn ach_debit_on_the_page_completes_the_session_unpaid_and_redirects() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let answer = submit(
        &t,
        &page,
        &[
            ("method", "us_bank_account"),
            ("email", "sam@example.com"),
            ("routing_number", "110000000"),
            ("account_number", "000123456789"),
        ],
    )
    .await;

    // Assert
    assert_eq!(answer.status, 303, "{}", answer.text);
    let s = session(&t, &page).await;
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "unpaid");
}

#[tokio::test]
async fn unknown_test_account_on_the_page_shows_an_error() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let answer = submit(
        &t,
        &page,
        &[
            ("method", "us_bank_account"),
            ("routing_number", "021000021"),
            ("account_number", "000123456789"),
        ],
    )
    .await;

    // Assert
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .text
            .contains("is not one of Stripe's ACH test accounts"),
        "{}",
        answer.text
    );
    assert_eq!(session(&t, &page).await["status"], "open");
}

#[tokio::test]
async fn incomplete_card_details_on_the_page_are_refused_without_a_payment_attempt() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let no_number = submit(&t, &page, &[("method", "card"), ("card_number", "")]).await;
    let bad_expiry = submit(
        &t,
        &page,
        &[
            ("method", "card"),
            ("card_number", "4242424242424242"),
            ("exp", "12/"),
        ],
    )
    .await;

    // Assert
    assert_eq!(no_number.status, 400);
    assert!(no_number.text.contains("Your card number is incomplete."));
    assert_eq!(bad_expiry.status, 400);
    assert!(bad_expiry
        .text
        .contains("Your card's expiration date is incomplete."));
    assert_eq!(session(&t, &page).await["payment_intent"], Value::Null);
    assert!(t.sim.events().is_empty());
}

#[tokio::test]
async fn garbage_posted_to_the_page_shows_the_form_again() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    for body in ["%%%", "method=cash", "a]b=1", "method=card&card_number=abc"] {
        // Act
        let answer = t
            .send(
                t.anonymous(Method::POST, &page)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body),
            )
            .await;

        // Assert
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert!(answer.text.contains(r#"class="error""#), "{body}");
        assert!(answer.text.contains(r#"name="card_number""#), "{body}");
    }
    assert_eq!(session(&t, &page).await["status"], "open");
    assert!(t.sim.events().is_empty());
}

#[tokio::test]
async fn deactivated_link_shows_a_page_saying_so() {
    // Arrange
    let t = common::start().await;
    let link = t.lifetime_link();
    let path = link_path(&t, &link).await;
    t.post(&format!("/v1/payment_links/{link}"), &[("active", "false")])
        .await
        .ok();

    // Act
    let answer = browse(&t, &path).await;

    // Assert
    assert_eq!(answer.status, 410);
    assert!(
        answer.text.contains("This link has been deactivated"),
        "{}",
        answer.text
    );
    assert_eq!(t.count("/v1/checkout/sessions").await, 0);
}

#[tokio::test]
async fn deactivated_link_shows_its_inactive_message() {
    // Arrange
    let t = common::start().await;
    let link = t.lifetime_link();
    let path = link_path(&t, &link).await;
    t.post(
        &format!("/v1/payment_links/{link}"),
        &[
            ("active", "false"),
            ("inactive_message", "Sold out <for now>"),
        ],
    )
    .await
    .ok();

    // Act
    let answer = browse(&t, &path).await;

    // Assert
    assert_eq!(answer.status, 410);
    assert!(
        answer.text.contains("Sold out &lt;for now&gt;"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn reactivated_link_opens_sessions_again() {
    // Arrange
    let t = common::start().await;
    let link = t.lifetime_link();
    t.post(&format!("/v1/payment_links/{link}"), &[("active", "false")])
        .await
        .ok();
    t.post(&format!("/v1/payment_links/{link}"), &[("active", "true")])
        .await
        .ok();

    // Act
    let page = open(&t, &link, "").await;

    // Assert
    assert_eq!(session(&t, &page).await["status"], "open");
}

#[tokio::test]
async fn expired_session_page_says_it_expired_and_cannot_be_paid() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;
    t.advance(86_400).await;

    // Act
    let shown = browse(&t, &page).await;
    let paid = pay_on_page(&t, &page, "4242424242424242").await;

    // Assert
    assert_eq!(shown.status, 410);
    assert!(
        shown.text.contains("This Checkout Session has expired"),
        "{}",
        shown.text
    );
    assert_eq!(paid.status, 410, "{}", paid.text);
    assert!(paid.text.contains("has expired"));
    assert_eq!(t.count("/v1/charges").await, 0);
}

#[tokio::test]
async fn prefilled_email_lands_in_customer_email_and_the_form() {
    // Arrange
    let t = common::start().await;

    // Act
    let page = open(&t, &t.lifetime_link(), "?prefilled_email=ada%40example.com").await;

    // Assert
    let s = session(&t, &page).await;
    assert_eq!(s["customer_email"], "ada@example.com");
    let html = browse(&t, &page).await.text;
    assert!(html.contains(r#"value="ada@example.com""#), "{html}");
}

#[tokio::test]
async fn prefilled_email_without_an_at_sign_is_ignored() {
    // Arrange
    let t = common::start().await;

    // Act
    let page = open(&t, &t.lifetime_link(), "?prefilled_email=nobody").await;

    // Assert
    assert_eq!(session(&t, &page).await["customer_email"], Value::Null);
}

#[tokio::test]
async fn names_on_the_page_are_escaped() {
    // Arrange
    let t = common::start().await;
    let price = t.price("<b>Bold & Co</b>", 700, "usd").await;
    let link = t.create_link(&price, &[]).await;
    let page = open(&t, &str_of(&link["id"]), "").await;

    // Act
    let html = browse(&t, &page).await.text;

    // Assert
    assert!(html.contains("&lt;b&gt;Bold &amp; Co&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>Bold"), "{html}");
}

#[tokio::test]
async fn api_created_session_page_offers_a_way_back_to_the_cancel_url() {
    // Arrange
    let t = common::start().await;
    let created = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "2500"),
                (
                    "line_items[0][price_data][product_data][name]",
                    "Workshop seat",
                ),
                ("line_items[0][quantity]", "2"),
                ("success_url", "https://example.com/ok"),
                ("cancel_url", "https://example.com/cart"),
            ],
        )
        .await
        .ok();
    let page = str_of(&created["url"])
        .strip_prefix(&t.base)
        .unwrap()
        .to_string();

    // Act
    let html = browse(&t, &page).await.text;

    // Assert
    assert!(
        html.contains(r#"href="https://example.com/cart""#),
        "{html}"
    );
    assert!(html.contains("Workshop seat × 2"), "{html}");
    assert!(html.contains("$50.00"), "{html}");
}

#[tokio::test]
async fn unknown_link_and_unknown_session_pages_are_404() {
    // Arrange
    let t = common::start().await;

    // Act
    let link = browse(&t, "/b/test_doesnotexist").await;
    let page = browse(&t, "/c/pay/cs_test_doesnotexist").await;
    let post = pay_on_page(&t, "/c/pay/cs_test_doesnotexist", "4242424242424242").await;

    // Assert
    assert_eq!(link.status, 404);
    assert!(link.text.contains("could not be found"));
    assert_eq!(page.status, 404);
    assert!(page.text.contains("does not exist"));
    assert_eq!(post.status, 404);
    assert!(t.sim.events().is_empty());
}

// ----- the page as a buyer sees it: kept fields, unique ids, labels, test data, confirmation -----

/// Every `id="…"` of a page, in order.
fn ids(html: &str) -> Vec<String> {
    html.split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Every `<input …>` tag of a page.
fn inputs(html: &str) -> Vec<String> {
    html.split("<input ")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .map(str::to_string)
        .collect()
}

/// The value of `attribute` in one tag's text.
fn attribute(tag: &str, attribute: &str) -> Option<String> {
    tag.split(&format!(" {attribute}=\""))
        .nth(1)
        .or_else(|| tag.strip_prefix(&format!("{attribute}=\"")))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
}

/// The `<input>` whose `id` is `id`.
fn input(html: &str, id: &str) -> String {
    inputs(html)
        .into_iter()
        .find(|tag| attribute(tag, "id").as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no input #{id} in {html}"))
}

/// The page of a session made through the API: two of `product` at USD 25.00, with `params`.
async fn session_page(t: &TestSim, product: &str, params: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "2500"),
        ("line_items[0][price_data][product_data][name]", product),
        ("line_items[0][quantity]", "2"),
    ];
    all.extend_from_slice(params);
    let created = t.create_session(&all).await.ok();
    str_of(&created["url"])
        .strip_prefix(&t.base)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_decline_keeps_the_email_and_name_the_buyer_typed_but_no_card_details() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let html = pay_on_page(&t, &page, "4000000000009995").await.text;

    // Assert
    assert!(
        html.contains(r#"role="alert">Your card has insufficient funds.<"#),
        "{html}"
    );
    assert_eq!(
        attribute(&input(&html, "email"), "value").as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(
        attribute(&input(&html, "name"), "value").as_deref(),
        Some("Ada Lovelace")
    );
    assert_eq!(
        attribute(&input(&html, "card_number"), "value").as_deref(),
        Some("")
    );
    assert_eq!(
        attribute(&input(&html, "cvc"), "value").as_deref(),
        Some("")
    );
    assert!(
        input(&html, "card_number").contains("autofocus"),
        "the card number takes the focus for another try"
    );
}

#[tokio::test]
async fn a_refused_bank_account_keeps_the_chosen_method() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let html = submit(
        &t,
        &page,
        &[
            ("method", "us_bank_account"),
            ("email", "sam@example.com"),
            ("routing_number", "021000021"),
            ("account_number", "000123456789"),
        ],
    )
    .await
    .text;

    // Assert
    assert!(
        input(&html, "method-us_bank_account").contains("checked"),
        "{html}"
    );
    assert!(!input(&html, "method-card").contains("checked"), "{html}");
    assert_eq!(
        attribute(&input(&html, "routing_number"), "value").as_deref(),
        Some("021000021")
    );
    assert_eq!(
        attribute(&input(&html, "email"), "value").as_deref(),
        Some("sam@example.com")
    );
}

#[tokio::test]
async fn ids_are_unique_and_every_field_has_a_label_on_every_checkout_page() {
    // Arrange
    let t = common::start().await;
    let usd = open(&t, &t.lifetime_link(), "").await;
    let eur = format!("/c/pay/{}", t.open_eur_session().await);
    let declined = pay_on_page(&t, &usd, "4000000000000002").await.text;
    let card_only = session_page(&t, "Workshop seat", &[("payment_method_types[0]", "card")]).await;

    for html in [
        browse(&t, &usd).await.text,
        browse(&t, &eur).await.text,
        browse(&t, &card_only).await.text,
        declined,
    ] {
        // Act
        let ids = ids(&html);
        let fields: Vec<String> = inputs(&html)
            .into_iter()
            .filter(|tag| !tag.contains(r#"type="hidden""#))
            .collect();

        // Assert
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "ids used twice: {ids:?}");
        assert!(!fields.is_empty());
        for field in fields {
            let id = attribute(&field, "id").unwrap_or_else(|| panic!("no id: {field}"));
            assert!(
                html.contains(&format!(r#"<label for="{id}""#)),
                "no label for #{id}"
            );
        }
    }
}

#[tokio::test]
async fn placeholders_show_formats_not_values_that_pass_for_typed_ones() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "").await;

    // Act
    let html = browse(&t, &page).await.text;

    // Assert
    assert_eq!(
        attribute(&input(&html, "card_number"), "placeholder").as_deref(),
        Some("1234 1234 1234 1234")
    );
    assert_eq!(
        attribute(&input(&html, "exp"), "placeholder").as_deref(),
        Some("MM / YY")
    );
    assert!(html.contains("::placeholder{color:#6a7383"), "{html}");
}

#[tokio::test]
async fn the_test_mode_list_offers_the_cards_and_the_accounts_of_the_session_methods() {
    // Arrange
    let t = common::start().await;
    let usd = open(&t, &t.lifetime_link(), "").await;
    let eur = format!("/c/pay/{}", t.open_eur_session().await);

    // Act
    let usd = browse(&t, &usd).await.text;
    let eur = browse(&t, &eur).await.text;

    // Assert
    for html in [&usd, &eur] {
        assert!(html.contains("TEST MODE"));
        assert!(
            html.contains(r#"href="?prefill=4242424242424242""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="?prefill=4000000000009995""#),
            "{html}"
        );
        assert!(html.contains("declined: insufficient_funds"), "{html}");
        assert!(html.contains("<script>"), "the click-to-fill script");
    }
    assert!(usd.contains(r#"href="?prefill=000123456789""#), "{usd}");
    assert!(!usd.contains("?prefill=DE89370400440532013000"), "{usd}");
    assert!(
        eur.contains(r#"href="?prefill=DE89370400440532013000""#),
        "{eur}"
    );
    assert!(!eur.contains("?prefill=000123456789"), "{eur}");
}

#[tokio::test]
async fn prefill_fills_the_form_without_javascript() {
    // Arrange
    let t = common::start().await;
    let page = open(&t, &t.lifetime_link(), "?prefilled_email=ada%40example.com").await;

    // Act
    let card = browse(&t, &format!("{page}?prefill=4000000000009995")).await;
    let ach = browse(&t, &format!("{page}?prefill=000123456789"))
        .await
        .text;
    let unknown = browse(&t, &format!("{page}?prefill=1234")).await;

    // Assert
    assert_eq!(card.status, 200);
    let html = &card.text;
    assert_eq!(
        attribute(&input(html, "card_number"), "value").as_deref(),
        Some("4000 0000 0000 9995")
    );
    assert!(attribute(&input(html, "exp"), "value")
        .unwrap()
        .starts_with("12 / "));
    assert_eq!(
        attribute(&input(html, "email"), "value").as_deref(),
        Some("ada@example.com")
    );
    assert!(
        input(&ach, "method-us_bank_account").contains("checked"),
        "{ach}"
    );
    assert_eq!(
        attribute(&input(&ach, "routing_number"), "value").as_deref(),
        Some("110000000")
    );
    assert_eq!(
        attribute(&input(&ach, "account_number"), "value").as_deref(),
        Some("000123456789")
    );
    assert_eq!(unknown.status, 200);
    assert_eq!(
        attribute(&input(&unknown.text, "card_number"), "value").as_deref(),
        Some("")
    );
}

#[tokio::test]
async fn the_confirmation_page_shows_the_amount_the_product_the_reference_and_the_session_id() {
    // Arrange
    let t = common::start().await;
    let link = hosted_confirmation_link(&t, "usd", "See you soon.").await;
    let page = open(&t, &link, "?client_reference_id=order_77").await;

    // Act
    let html = pay_on_page(&t, &page, "4242424242424242").await.text;

    // Assert
    for expected in [
        "Thanks for your payment",
        "Ebook × 1",
        "$15.00",
        "order_77",
        session_id(&page).as_str(),
        "Visa – 4242",
        "ada@example.com",
        "View receipt",
        "See you soon.",
    ] {
        assert!(html.contains(expected), "{expected:?} in {html}");
    }
}

#[tokio::test]
async fn markup_in_a_product_name_is_escaped_on_the_page_and_after_a_decline() {
    // Arrange
    let t = common::start().await;
    let page = session_page(&t, "<script>alert(1)</script>", &[]).await;

    // Act
    let checkout = browse(&t, &page).await.text;
    let declined = pay_on_page(&t, &page, "4000000000000002").await.text;

    // Assert
    for html in [&checkout, &declined] {
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; × 2"),
            "{html}"
        );
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own: {html}"
        );
    }
}
