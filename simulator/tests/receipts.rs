//! Receipts: every succeeded charge has a `receipt_url` the simulator serves (amount, the
//! payment method's last4, the date, the items, the refunds), every refund a receipt linked from
//! it; declined and pending charges have none. The last test opens a receipt in a real browser
//! (headless Chromium, through the shared `common::browser`: skipped with the reason printed
//! when it is missing, mandatory under `STRIPE_SIM_BROWSER=required`).

#![allow(clippy::unwrap_used)]

mod common;

use common::browser::Browser;
use common::{str_of, TestSim};
use reqwest::Method;
use serde_json::{json, Value};

/// The page at an absolute URL of the simulator, without the API key (a receipt is public).
async fn open(t: &TestSim, url: &str) -> (u16, String) {
    let path = url
        .strip_prefix(&t.base)
        .unwrap_or_else(|| panic!("{url} is not served by the simulator"));
    let answer = t.send(t.anonymous(Method::GET, path)).await;
    (answer.status, answer.text)
}

#[tokio::test]
async fn a_succeeded_card_charge_has_a_receipt_with_amount_last4_and_date() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;

    // Act
    let charge = t.charge(&ch).await;
    let url = str_of(&charge["receipt_url"]);
    let (status, html) = open(&t, &url).await;

    // Assert
    assert_eq!(url, format!("{}/receipts/payment/{ch}", t.base));
    assert_eq!(status, 200);
    assert!(html.contains("$199.00"), "{html}");
    assert!(html.contains("Visa – 4242"), "{html}");
    assert!(html.contains("January 1, 2026"), "{html}");
    assert!(html.contains("Lifetime"), "the items bought: {html}");
}

#[tokio::test]
async fn declined_and_pending_charges_have_no_receipt_until_they_succeed() {
    // Arrange
    let t = common::start().await;
    let declined = t.open_session().await;
    t.pay_card(&declined, "4000000000000002").await;
    let pending = t.open_session().await;
    let paid = t
        .pay(
            &pending,
            json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000123456789" } }),
        )
        .await
        .ok();

    // Act
    let failed = t.list_all("/v1/charges").await;
    let intent = t.intent(&str_of(&paid["payment_intent"])).await;
    let ach = str_of(&intent["latest_charge"]);
    let before = t.charge(&ach).await;
    t.advance(180).await;
    let after = t.charge(&ach).await;

    // Assert
    let declined_charge = failed.iter().find(|c| c["status"] == "failed").unwrap();
    assert_eq!(declined_charge["receipt_url"], Value::Null);
    let (status, _) = open(
        &t,
        &format!(
            "{}/receipts/payment/{}",
            t.base,
            str_of(&declined_charge["id"])
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(before["status"], "pending");
    assert_eq!(before["receipt_url"], Value::Null);
    assert_eq!(after["status"], "succeeded");
    let (status, html) = open(&t, &str_of(&after["receipt_url"])).await;
    assert_eq!(status, 200);
    assert!(html.contains("US bank account – 6789"), "{html}");
}

#[tokio::test]
async fn refunds_appear_on_the_charge_receipt_and_have_their_own() {
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("5555555555554444").await;
    t.advance(86_400 * 3).await;

    // Act
    let refund = t
        .post("/v1/refunds", &[("charge", &ch), ("amount", "4900")])
        .await
        .ok();
    let charge = t.charge(&ch).await;
    let (_, receipt) = open(&t, &str_of(&charge["receipt_url"])).await;
    let refund_url = format!("{}/receipts/refund/{}", t.base, str_of(&refund["id"]));
    let (status, refund_receipt) = open(&t, &refund_url).await;

    // Assert
    assert!(receipt.contains("Refunded"), "{receipt}");
    assert!(receipt.contains("$49.00"), "{receipt}");
    assert!(
        receipt.contains(&refund_url),
        "links to the refund's receipt: {receipt}"
    );
    assert_eq!(status, 200);
    assert!(refund_receipt.contains("$49.00"), "{refund_receipt}");
    assert!(
        refund_receipt.contains("Mastercard – 4444"),
        "{refund_receipt}"
    );
    assert!(
        refund_receipt.contains("January 4, 2026"),
        "{refund_receipt}"
    );
    assert!(refund_receipt.contains("Succeeded"), "{refund_receipt}");
}

#[tokio::test]
async fn receipts_escape_what_the_merchant_and_buyer_typed() {
    // Arrange: a product whose name is markup.
    let t = common::start().await;
    let price = t.price("<script>alert(1)</script>", 1500, "usd").await;
    let link = t.create_link(&price, &[]).await;
    let session = str_of(&t.visit(&str_of(&link["id"]), None).await["id"]);
    let paid = t.pay_card(&session, "4242424242424242").await.ok();
    let intent = t.intent(&str_of(&paid["payment_intent"])).await;
    let charge = t.charge(&str_of(&intent["latest_charge"])).await;

    // Act
    let (_, html) = open(&t, &str_of(&charge["receipt_url"])).await;

    // Assert
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn an_unknown_receipt_is_not_found() {
    // Arrange
    let t = common::start().await;

    // Act
    let (payment, _) = open(&t, &format!("{}/receipts/payment/ch_nope", t.base)).await;
    let (refund, _) = open(&t, &format!("{}/receipts/refund/re_nope", t.base)).await;

    // Assert
    assert_eq!(payment, 404);
    assert_eq!(refund, 404);
}

#[tokio::test]
async fn a_real_browser_renders_the_receipt() {
    let Some(browser) = Browser::start("receipts: a real browser").await else {
        return;
    };
    // Arrange
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    let url = str_of(&t.charge(&ch).await["receipt_url"]);

    // Act
    browser.goto(&url).await;
    let dom = browser
        .execute("return document.documentElement.outerHTML;")
        .await;
    browser.close().await;

    // Assert
    let dom = dom.as_str().unwrap_or_default();
    assert!(dom.contains("Receipt from stripe-sim"), "{dom}");
    assert!(dom.contains("$199.00"), "{dom}");
    assert!(dom.contains("4242"), "{dom}");
    assert!(dom.contains("January 1, 2026"), "{dom}");
}
