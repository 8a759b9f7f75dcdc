//! async-stripe against stripe-sim: every /v1 endpoint the SDK exposes for Payment Links and
//! Checkout, each answer decoded into async-stripe's typed structs, and the SDK's typed errors.
//! The same cases as the Node and Python suites (`tests/sdk/node`, `tests/sdk/python`).

use std::collections::HashMap;
use std::str::FromStr;

use futures_util::TryStreamExt;
use serde_json::{json, Value};
use stripe_checkout::checkout_session::{
    ExpireCheckoutSession, ListCheckoutSession, ListLineItemsCheckoutSession, RetrieveCheckoutSession,
};
use stripe_core::charge::{ListCharge, RetrieveCharge};
use stripe_core::customer::{CreateCustomer, ListCustomer, RetrieveCustomer};
use stripe_core::event::{ListEvent, RetrieveEvent};
use stripe_core::payment_intent::{ListPaymentIntent, RetrievePaymentIntent};
use stripe_core::refund::{CreateRefund, ListRefund, RetrieveRefund};
use stripe_misc::webhook_endpoint::{
    CreateWebhookEndpoint, CreateWebhookEndpointEnabledEvents, DeleteWebhookEndpoint, ListWebhookEndpoint,
    RetrieveWebhookEndpoint, UpdateWebhookEndpoint,
};
use stripe_payment::payment_method::RetrievePaymentMethod;
use stripe_payment::payment_link::{
    CreatePaymentLink, CreatePaymentLinkLineItems, ListLineItemsPaymentLink, ListPaymentLink, RetrievePaymentLink,
    UpdatePaymentLink,
};
use stripe_product::price::{CreatePrice, ListPrice, RetrievePrice};
use stripe_product::product::{CreateProduct, ListProduct, RetrieveProduct};
use stripe_sim_sdk_rust::*;

fn link_item(price: &str) -> CreatePaymentLinkLineItems {
    let mut item = CreatePaymentLinkLineItems::new(1u64);
    item.price = Some(price.to_string());
    item
}

fn usd() -> stripe_types::Currency {
    stripe_types::Currency::USD
}

#[tokio::test]
async fn products_prices_payment_links_and_customers() {
    let t = Suite::start("products_prices_payment_links_and_customers").await;
    let product = t
        .call(
            &CreateProduct::new("Lifetime access")
                .metadata(HashMap::from([("sku".to_string(), "L1".to_string())])),
        )
        .await
        .expect("create product");
    assert!(product.id().starts_with("prod_"));
    if let Some(p) = &product.typed {
        assert_eq!(p.name, "Lifetime access");
        assert_eq!(p.metadata.get("sku").map(String::as_str), Some("L1"));
    }
    let price = t
        .call(&CreatePrice::new(usd()).product(product.id()).unit_amount(19900))
        .await
        .expect("create price");
    if let Some(p) = &price.typed {
        assert_eq!(p.type_, stripe_shared::PriceType::OneTime);
        assert_eq!(p.unit_amount, Some(19900));
        assert_eq!(p.product.id().as_str(), product.id());
    }
    let link = t
        .call(&CreatePaymentLink::new(vec![link_item(&price.id())]))
        .await;
    let link = match link {
        Ok(l) => l,
        Err(e) => panic!("create payment link: {e:?}"),
    };
    assert!(link.s("/url").starts_with(&sim_url()), "{}", link.s("/url"));

    let fetched = t.call(&RetrieveProduct::new(product.id())).await.expect("retrieve product");
    assert_eq!(fetched.s("/name"), "Lifetime access");
    let expanded = t
        .call(&RetrievePrice::new(price.id()).expand(vec!["product".to_string()]))
        .await
        .expect("retrieve price");
    if let Some(p) = &expanded.typed {
        assert_eq!(p.product.as_object().map(|o| o.id.as_str()), Some(product.id().as_str()));
    }
    let again = t.call(&RetrievePaymentLink::new(link.id())).await.expect("retrieve link");
    assert_eq!(again.s("/url"), link.s("/url"));
    let items = t.call(&ListLineItemsPaymentLink::new(link.id())).await.expect("link line items");
    assert_eq!(items.s("/data/0/price/id"), price.id());
    let updated = t
        .call(
            &UpdatePaymentLink::new(link.id())
                .active(false)
                .metadata(HashMap::from([("campaign".to_string(), "spring".to_string())])),
        )
        .await
        .expect("update link");
    if let Some(l) = &updated.typed {
        assert!(!l.active);
        assert_eq!(l.metadata.get("campaign").map(String::as_str), Some("spring"));
    }
    t.call(&UpdatePaymentLink::new(link.id()).active(true)).await.expect("reactivate link");

    let products = t.call(&ListProduct::new().limit(100)).await.expect("list products");
    assert!(products.raw["data"].as_array().unwrap().iter().any(|p| p["id"] == product.id()));
    let prices = t.call(&ListPrice::new().product(product.id())).await.expect("list prices");
    assert_eq!(prices.s("/data/0/id"), price.id());
    let links = t.call(&ListPaymentLink::new().limit(100)).await.expect("list links");
    assert!(links.raw["data"].as_array().unwrap().iter().any(|l| l["id"] == link.id()));

    let customer = t
        .call(&CreateCustomer::new().email("buyer@example.com").name("Ada Buyer"))
        .await
        .expect("create customer");
    assert!(customer.id().starts_with("cus_"));
    let got = t.call(&RetrieveCustomer::new(customer.id())).await.expect("retrieve customer");
    assert_eq!(got.s("/email"), "buyer@example.com");
    let listed = t.call(&ListCustomer::new().email("buyer@example.com")).await.expect("list customers");
    assert_eq!(listed.s("/data/0/id"), customer.id());
    t.finish();
}

#[tokio::test]
async fn payment_link_visit_then_pay() {
    let t = Suite::start("payment_link_visit_then_pay").await;
    let product = t.call(&CreateProduct::new("Visited")).await.expect("product");
    let price = t.call(&CreatePrice::new(usd()).product(product.id()).unit_amount(1900)).await.expect("price");
    let link = t
        .call(&CreatePaymentLink::new(vec![link_item(&price.id())]))
        .await
        .expect("link");
    let visited = t.visit(&link.id(), "rs_visit_1").await;
    let session_id = str_at(&visited, "/id");
    let session = t.call(&RetrieveCheckoutSession::new(session_id.clone())).await.expect("retrieve session");
    assert_eq!(session.s("/client_reference_id"), "rs_visit_1");
    assert_eq!(session.s("/payment_link"), link.id());
    if let Some(s) = &session.typed {
        assert_eq!(s.status, Some(stripe_shared::CheckoutSessionStatus::Open));
        assert_eq!(s.amount_total, Some(1900));
    }
    let paid = t.pay(&session_id, card(CARD_OK)).await.expect("pay");
    assert_eq!(paid["payment_status"], "paid");
    let expanded = t
        .call(
            &RetrieveCheckoutSession::new(session_id.clone()).expand(vec![
                "line_items".to_string(),
                "payment_intent".to_string(),
                "payment_intent.latest_charge".to_string(),
                "payment_link".to_string(),
            ]),
        )
        .await
        .expect("retrieve expanded");
    assert_eq!(expanded.s("/payment_status"), "paid");
    if let Some(s) = &expanded.typed {
        assert_eq!(s.status, Some(stripe_shared::CheckoutSessionStatus::Complete));
        let intent = s.payment_intent.as_ref().and_then(|p| p.as_object()).expect("expanded payment intent");
        assert_eq!(intent.status, stripe_shared::PaymentIntentStatus::Succeeded);
        let charge = intent.latest_charge.as_ref().and_then(|c| c.as_object()).expect("expanded charge");
        assert!(charge.paid);
        assert_eq!(s.line_items.as_ref().map(|l| l.data.len()), Some(1));
        assert!(s.payment_link.as_ref().is_some_and(|l| l.is_object()));
    }
    let items = t.call(&ListLineItemsCheckoutSession::new(session_id.clone())).await.expect("line items");
    assert_eq!(items.i("/data/0/quantity"), 1);
    t.finish();
}

#[tokio::test]
async fn session_create_list_paginate_and_expire() {
    let t = Suite::start("session_create_list_paginate_and_expire").await;
    let s = t.new_session(4200, "usd", Some("rs_expand")).await;
    assert_eq!(s.session.s("/status"), "open");
    assert_eq!(s.session.s("/payment_status"), "unpaid");
    assert_eq!(s.session.i("/amount_total"), 4200);

    let product = t.call(&CreateProduct::new("Paged")).await.expect("product");
    let price = t.call(&CreatePrice::new(usd()).product(product.id()).unit_amount(700)).await.expect("price");
    let link = t
        .call(&CreatePaymentLink::new(vec![link_item(&price.id())]))
        .await
        .expect("link");
    let mut visited = Vec::new();
    for i in 0..7 {
        visited.push(str_at(&t.visit(&link.id(), &format!("page_{i}")).await, "/id"));
    }
    let first = t.call(&ListCheckoutSession::new().payment_link(link.id()).limit(3)).await.expect("list");
    assert_eq!(first.raw["data"].as_array().unwrap().len(), 3);
    assert_eq!(first.raw["has_more"], true);
    // The SDK's own auto-pagination (it follows the list's `url` with `starting_after`).
    let walked: Vec<String> = match ListCheckoutSession::new()
        .payment_link(link.id())
        .limit(3)
        .paginate()
        .stream(&t.recording())
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(all) => {
            t.record("ListCheckoutSession paginate().stream()".into(), "List<CheckoutSession>".into(), None, vec![]);
            all.iter().map(|s| s.id.as_str().to_string()).collect()
        }
        Err(e) => {
            t.record(
                "ListCheckoutSession paginate().stream()".into(),
                "List<CheckoutSession>".into(),
                Some(e.to_string()),
                vec![],
            );
            Vec::new()
        }
    };
    let mut newest_first = visited.clone();
    newest_first.reverse();
    if !walked.is_empty() {
        assert_eq!(walked, newest_first);
    }
    let older = t
        .call(&ListCheckoutSession::new().payment_link(link.id()).limit(2).starting_after(newest_first[2].clone()))
        .await
        .expect("starting_after");
    let ids = |v: &Value| v["data"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&older.raw), newest_first[3..5].to_vec());
    let newer = t
        .call(&ListCheckoutSession::new().payment_link(link.id()).limit(2).ending_before(newest_first[3].clone()))
        .await
        .expect("ending_before");
    assert_eq!(ids(&newer.raw), newest_first[1..3].to_vec());

    t.pay(&visited[0], card(CARD_OK)).await.expect("pay");
    let complete = t
        .call(&ListCheckoutSession::new().payment_link(link.id()).status(stripe_shared::CheckoutSessionStatus::Complete))
        .await
        .expect("status filter");
    assert_eq!(ids(&complete.raw), vec![visited[0].clone()]);
    let by_intent = t
        .call(&ListCheckoutSession::new().payment_intent(complete.s("/data/0/payment_intent")).limit(1))
        .await
        .expect("payment_intent filter");
    assert_eq!(ids(&by_intent.raw), vec![visited[0].clone()]);

    let expired = t.call(&ExpireCheckoutSession::new(s.session.id())).await.expect("expire");
    assert_eq!(expired.s("/status"), "expired");
    assert_eq!(t.call(&RetrieveCheckoutSession::new(s.session.id())).await.expect("retrieve").s("/status"), "expired");
    let (done, _) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    let err = t.call(&ExpireCheckoutSession::new(done.id())).await.expect_err("a complete session cannot expire");
    assert_eq!(err.status, 400);
    assert_eq!(err.type_, "invalid_request_error");
    t.finish();
}

#[tokio::test]
async fn payment_intent_and_charge() {
    let t = Suite::start("payment_intent_and_charge").await;
    let (session, intent) = t.paid_session(card(CARD_OK), 3100, "usd").await;
    assert_eq!(intent.i("/amount"), 3100);
    assert_eq!(intent.s("/status"), "succeeded");
    let charge_id = intent.s("/latest_charge");
    let charge = t.call(&RetrieveCharge::new(charge_id.clone())).await.expect("retrieve charge");
    if let Some(c) = &charge.typed {
        assert_eq!(c.amount, 3100);
        assert!(!c.refunded);
        assert_eq!(c.status, stripe_shared::ChargeStatus::Succeeded);
        assert_eq!(c.payment_intent.as_ref().map(|p| p.id().as_str().to_string()), Some(intent.id()));
    }
    let expanded = t
        .call(&RetrieveCharge::new(charge_id.clone()).expand(vec!["payment_intent".to_string(), "refunds".to_string()]))
        .await
        .expect("charge expanded");
    assert_eq!(expanded.s("/payment_intent/id"), intent.id());
    let listed = t.call(&ListCharge::new().payment_intent(intent.id())).await.expect("list charges");
    assert_eq!(listed.s("/data/0/id"), charge_id);
    let intents = t.call(&ListPaymentIntent::new().limit(100)).await.expect("list intents");
    assert!(intents.raw["data"].as_array().unwrap().iter().any(|p| p["id"] == session.s("/payment_intent")));
    let with_charge = t
        .call(&RetrievePaymentIntent::new(intent.id()).expand(vec!["latest_charge".to_string()]))
        .await
        .expect("intent expanded");
    assert_eq!(with_charge.s("/latest_charge/id"), charge_id);
    t.finish();
}

#[tokio::test]
async fn card_declines_are_402_card_errors() {
    let t = Suite::start("card_declines_are_402_card_errors").await;
    let s = t.new_session(2500, "usd", None).await;
    let sid = s.session.id();
    // Paying is the buyer's side: the SDK has no method for it, so the hosted page's pay call goes
    // through reqwest, and its 402 body is parsed with the SDK's own error type, as its client does.
    for (number, code, decline) in [
        ("4000000000009995", "card_declined", Some("insufficient_funds")),
        ("4000000000000002", "card_declined", Some("generic_decline")),
        ("4000000000000069", "expired_card", None),
        ("4000000000000127", "incorrect_cvc", None),
        ("4100000000000019", "card_declined", Some("fraudulent")),
    ] {
        let (status, body) = t.pay(&sid, card(number)).await.expect_err("declined");
        assert_eq!(status, 402, "{number}: {}", short(&body));
        let text = body.to_string();
        match miniserde::json::from_str::<stripe_shared::Error>(&text) {
            Ok(e) => {
                t.record(format!("402 card error {number} (SDK error parse)"), "stripe_shared::Error".into(), None, vec![]);
                let e = e.error;
                assert_eq!(e.type_, stripe_shared::ApiErrorsType::CardError);
                assert_eq!(e.code.as_ref().map(|c| c.as_str()), Some(code), "{number}");
                if let Some(d) = decline {
                    assert_eq!(e.decline_code.as_deref(), Some(d), "{number}");
                }
                assert!(e.message.is_some());
                let method = e.payment_method.as_ref().expect("the whole PaymentMethod in the 402 body");
                assert_eq!(method.card.as_ref().map(|c| c.last4.as_str()), Some(&number[12..]), "{number}");
                if number == "4000000000009995" {
                    assert_eq!(e.message.as_deref(), Some("Your card has insufficient funds."));
                }
            }
            Err(_) => {
                let issues = diagnose::<stripe_shared::Error>(&body);
                t.record(
                    format!("402 card error {number} (SDK error parse)"),
                    "stripe_shared::Error".into(),
                    Some("error deserializing Stripe error".into()),
                    issues,
                );
            }
        }
    }
    let session = t.call(&RetrieveCheckoutSession::new(sid.clone())).await.expect("session");
    assert_eq!(session.s("/status"), "open");
    let pi = session.s("/payment_intent");
    let intent = t.call(&RetrievePaymentIntent::new(pi.clone())).await.expect("intent after declines");
    assert_eq!(intent.s("/status"), "requires_payment_method");
    if let Some(i) = &intent.typed {
        let e = i.last_payment_error.as_ref().expect("last_payment_error");
        assert_eq!(e.type_, stripe_shared::ApiErrorsType::CardError);
        let method = e.payment_method.as_ref().expect("the whole PaymentMethod");
        assert_eq!(method.card.as_ref().map(|c| c.last4.as_str()), Some("0019"));
    }
    let charges = t.call(&ListCharge::new().payment_intent(pi.clone())).await.expect("failed charges");
    assert!(charges.raw["data"].as_array().unwrap().iter().all(|c| c["status"] == "failed"));
    assert_eq!(charges.raw["data"].as_array().unwrap().len(), 5);
    let paid = t.pay(&sid, json!({ "card": CARD_OK, "email": "ada@example.com" })).await.expect("pay");
    assert_eq!(paid["payment_status"], "paid");
    let intent = t
        .call(&RetrievePaymentIntent::new(pi).expand(vec!["payment_method".to_string(), "latest_charge".to_string()]))
        .await
        .expect("intent");
    assert_eq!(intent.s("/status"), "succeeded");
    let method_id = intent.s("/payment_method/id");
    assert!(method_id.starts_with("pm_"), "{method_id}");
    if let Some(i) = &intent.typed {
        let method = i.payment_method.as_ref().and_then(|m| m.as_object()).expect("expanded PaymentMethod");
        assert_eq!(method.card.as_ref().map(|c| c.last4.as_str()), Some("4242"));
    }
    let method = t.call(&RetrievePaymentMethod::new(method_id)).await.expect("payment method");
    if let Some(m) = &method.typed {
        assert_eq!(m.type_, stripe_shared::PaymentMethodType::Card);
        assert_eq!(m.billing_details.email.as_deref(), Some("ada@example.com"));
    }
    // The charge's receipt, served by the simulator.
    let receipt = intent.s("/latest_charge/receipt_url");
    let page = t.http.get(&receipt).send().await.expect("receipt");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap_or_default().contains("4242"));
    t.finish();
}

#[tokio::test]
async fn delayed_methods_sepa_and_ach() {
    let t = Suite::start("delayed_methods_sepa_and_ach").await;
    let cases = [
        ("eur", sepa("DE89370400440532013000"), "succeeded"),
        ("eur", sepa("DE62370400440532013001"), "requires_payment_method"),
        ("usd", ach("000123456789"), "succeeded"),
        ("usd", ach("000111111113"), "requires_payment_method"),
    ];
    let mut sessions = Vec::new();
    for (currency, method, _) in &cases {
        let s = t.new_session(3000, currency, None).await;
        let paid = t.pay(&s.session.id(), method.clone()).await.expect("pay");
        assert_eq!(paid["status"], "complete");
        assert_eq!(paid["payment_status"], "unpaid");
        let session = t.call(&RetrieveCheckoutSession::new(s.session.id())).await.expect("session");
        let intent = t.call(&RetrievePaymentIntent::new(session.s("/payment_intent"))).await.expect("intent");
        assert_eq!(intent.s("/status"), "processing");
        let charges = t.call(&ListCharge::new().payment_intent(intent.id())).await.expect("charges");
        assert_eq!(charges.s("/data/0/status"), "pending");
        sessions.push((s.session.id(), intent.id()));
    }
    t.advance(200).await;
    for ((session_id, intent_id), (_, _, outcome)) in sessions.iter().zip(cases.iter()) {
        let intent = t.call(&RetrievePaymentIntent::new(intent_id.clone())).await.expect("intent");
        assert_eq!(intent.s("/status"), *outcome, "{session_id}");
        let session = t.call(&RetrieveCheckoutSession::new(session_id.clone())).await.expect("session");
        let expected = if *outcome == "succeeded" { "paid" } else { "unpaid" };
        assert_eq!(session.s("/payment_status"), expected);
        let charges = t.call(&ListCharge::new().payment_intent(intent_id.clone())).await.expect("charges");
        assert_eq!(charges.s("/data/0/status"), if *outcome == "succeeded" { "succeeded" } else { "failed" });
        if let (Some(i), true) = (&intent.typed, *outcome != "succeeded") {
            // A failed bank debit: Stripe's failed-attempt error, the bank's reason on the charge.
            let e = i.last_payment_error.as_ref().expect("last_payment_error");
            assert_eq!(e.type_, stripe_shared::ApiErrorsType::InvalidRequestError);
            assert_eq!(e.code, Some(stripe_shared::ApiErrorsCode::PaymentIntentPaymentAttemptFailed));
            assert!(e.payment_method.is_some(), "the whole PaymentMethod");
        }
    }
    t.finish();
}

#[tokio::test]
async fn partial_full_and_too_large_refunds() {
    let t = Suite::start("partial_full_and_too_large_refunds").await;
    let (_, intent) = t.paid_session(card(CARD_OK), 5000, "usd").await;
    let charge_id = intent.s("/latest_charge");
    let partial = t.call(&CreateRefund::new().payment_intent(intent.id()).amount(1500)).await.expect("partial");
    assert_eq!(partial.i("/amount"), 1500);
    assert_eq!(partial.s("/status"), "succeeded");
    let charge = t.call(&RetrieveCharge::new(charge_id.clone())).await.expect("charge");
    assert_eq!((charge.i("/amount_refunded"), charge.raw["refunded"].clone()), (1500, json!(false)));
    let err = t.call(&CreateRefund::new().charge(charge_id.clone()).amount(3501)).await.expect_err("too large");
    assert_eq!(err.status, 400);
    assert_eq!(err.param.as_deref(), Some("amount"));
    assert!(err.message.as_deref().unwrap_or("").contains("greater than"), "{err:?}");
    let rest = t.call(&CreateRefund::new().charge(charge_id.clone())).await.expect("the rest");
    assert_eq!(rest.i("/amount"), 3500);
    let charge = t.call(&RetrieveCharge::new(charge_id.clone())).await.expect("charge");
    if let Some(c) = &charge.typed {
        assert_eq!((c.amount_refunded, c.refunded), (5000, true));
    }
    let again = t.call(&RetrieveRefund::new(partial.id())).await.expect("retrieve refund");
    assert_eq!(again.i("/amount"), 1500);
    let expanded = t
        .call(&RetrieveRefund::new(partial.id()).expand(vec!["charge".to_string()]))
        .await
        .expect("refund expanded");
    assert_eq!(expanded.s("/charge/id"), charge_id);
    let listed = t.call(&ListRefund::new().payment_intent(intent.id())).await.expect("list refunds");
    let mut ids: Vec<String> =
        listed.raw["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    let mut want = vec![partial.id(), rest.id()];
    want.sort();
    assert_eq!(ids, want);
    let err = t.call(&CreateRefund::new().charge(charge_id).amount(1)).await.expect_err("already refunded");
    assert_eq!(err.code.as_deref(), Some("charge_already_refunded"));
    t.finish();
}

#[tokio::test]
async fn events_list_and_retrieve() {
    let t = Suite::start("events_list_and_retrieve").await;
    let (session, _) = t.paid_session(card(CARD_OK), 2500, "usd").await;
    let completed = t
        .call(&ListEvent::new().type_("checkout.session.completed").limit(100))
        .await
        .expect("list events");
    let mine = completed.raw["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["object"]["id"] == session.id())
        .cloned()
        .expect("the session's event");
    // The list decodes the envelope; the webhook crate decodes each object into its type.
    for e in completed.raw["data"].as_array().unwrap() {
        t.typed_event("ListEvent data[]", e);
    }
    let id = str_at(&mine, "/id");
    let again = t.call(&RetrieveEvent::new(id.clone())).await.expect("retrieve event");
    assert_eq!(again.s("/type"), "checkout.session.completed");
    if let Some(typed) = t.typed_event("RetrieveEvent", &again.raw) {
        match typed.data.object {
            stripe_webhook::EventObject::CheckoutSessionCompleted(s) => assert_eq!(s.id.as_str(), session.id()),
            other => panic!("unexpected object {other:?}"),
        }
    }
    let every = t.call(&ListEvent::new().limit(100)).await.expect("all events");
    for e in every.raw["data"].as_array().unwrap() {
        t.typed_event("ListEvent data[]", e);
    }
    let walked = ListEvent::new().limit(5).paginate().stream(&t.recording()).try_collect::<Vec<_>>().await;
    match walked {
        Ok(all) => {
            t.record("ListEvent paginate().stream()".into(), "List<Event>".into(), None, vec![]);
            assert!(all.len() > 5);
            let mut ids: Vec<_> = all.iter().map(|e| e.id.as_str().to_string()).collect();
            assert!(ids.contains(&id));
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), all.len());
        }
        Err(e) => t.record("ListEvent paginate().stream()".into(), "List<Event>".into(), Some(e.to_string()), vec![]),
    }
    let several = t
        .call(&ListEvent::new().types(vec!["charge.succeeded".to_string(), "payment_intent.succeeded".to_string()]).limit(100))
        .await
        .expect("types[]");
    let data = several.raw["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(data.iter().all(|e| e["type"] == "charge.succeeded" || e["type"] == "payment_intent.succeeded"));
    t.finish();
}

#[tokio::test]
async fn webhook_endpoints_crud() {
    let t = Suite::start("webhook_endpoints_crud").await;
    let events = vec![
        CreateWebhookEndpointEnabledEvents::from_str("checkout.session.completed").unwrap(),
        CreateWebhookEndpointEnabledEvents::from_str("charge.refunded").unwrap(),
    ];
    let created = t.call(&CreateWebhookEndpoint::new(events, "http://127.0.0.1:9/hooks")).await.expect("create");
    assert!(created.s("/secret").starts_with("whsec_"));
    if let Some(w) = &created.typed {
        assert!(w.secret.as_deref().is_some_and(|s| s.starts_with("whsec_")));
        assert_eq!(w.status, "enabled");
    }
    let fetched = t.call(&RetrieveWebhookEndpoint::new(created.id())).await.expect("retrieve");
    assert!(fetched.raw.get("secret").is_none_or(Value::is_null), "the secret is shown only at creation");
    assert_eq!(fetched.s("/url"), "http://127.0.0.1:9/hooks");
    let updated = t.call(&UpdateWebhookEndpoint::new(created.id()).disabled(true)).await.expect("update");
    assert_eq!(updated.s("/status"), "disabled");
    let listed = t.call(&ListWebhookEndpoint::new()).await.expect("list");
    assert!(listed.raw["data"].as_array().unwrap().iter().any(|e| e["id"] == created.id()));
    let deleted = t.call(&DeleteWebhookEndpoint::new(created.id())).await.expect("delete");
    assert_eq!(deleted.raw["deleted"], true);
    assert_eq!(deleted.id(), created.id());
    let err = t.call(&RetrieveWebhookEndpoint::new(created.id())).await.expect_err("gone");
    assert_eq!((err.status, err.code.as_deref()), (404, Some("resource_missing")));
    // An endpoint pinned to the SDK's own API version, as an async-stripe app would create it.
    let pinned = t
        .call(
            &CreateWebhookEndpoint::new(
                vec![CreateWebhookEndpointEnabledEvents::from_str("*").unwrap()],
                "http://127.0.0.1:9/pinned",
            )
            .api_version(stripe_shared::version::VERSION),
        )
        .await
        .expect("create pinned");
    assert_eq!(pinned.s("/api_version"), stripe_shared::version::VERSION.as_str());
    t.call(&DeleteWebhookEndpoint::new(pinned.id())).await.expect("delete pinned");
    t.finish();
}

#[tokio::test]
async fn answers_follow_the_sdks_api_version() {
    let t = Suite::start("answers_follow_the_sdks_api_version").await;
    let version = stripe_shared::version::VERSION.as_str();
    let get = |v: &str| {
        t.http.get(format!("{}/v1/products", sim_url())).bearer_auth(api_key()).header("stripe-version", v.to_string()).send()
    };
    let answer = get(version).await.expect("products");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.headers().get("stripe-version").and_then(|v| v.to_str().ok()), Some(version));
    let refused = get("garbage").await.expect("refused");
    assert_eq!(refused.status().as_u16(), 400);
    let body: Value = refused.json().await.expect("error body");
    match miniserde::json::from_str::<stripe_shared::Error>(&body.to_string()) {
        Ok(e) => {
            t.record("400 invalid Stripe-Version (SDK error parse)".into(), "stripe_shared::Error".into(), None, vec![]);
            assert_eq!(e.error.type_, stripe_shared::ApiErrorsType::InvalidRequestError);
            assert_eq!(e.error.message.as_deref(), Some("Invalid Stripe API version: garbage"));
        }
        Err(_) => t.record(
            "400 invalid Stripe-Version (SDK error parse)".into(),
            "stripe_shared::Error".into(),
            Some("error deserializing Stripe error".into()),
            diagnose::<stripe_shared::Error>(&body),
        ),
    }
    // An endpoint created without api_version stays so: the SDK reads it, and its secret.
    let created = t
        .call(&CreateWebhookEndpoint::new(
            vec![CreateWebhookEndpointEnabledEvents::from_str("*").unwrap()],
            "http://127.0.0.1:9/unversioned",
        ))
        .await
        .expect("create");
    assert_eq!(created.raw["api_version"], Value::Null);
    if let Some(w) = &created.typed {
        assert_eq!(w.api_version, None);
        assert!(w.secret.as_deref().is_some_and(|s| s.starts_with("whsec_")));
    }
    t.call(&DeleteWebhookEndpoint::new(created.id())).await.expect("delete");
    t.finish();
}

#[tokio::test]
async fn typed_errors() {
    let t = Suite::start("typed_errors").await;
    let err = t.call(&RetrieveCheckoutSession::new("cs_test_nope")).await.expect_err("404");
    assert_eq!((err.status, err.code.as_deref()), (404, Some("resource_missing")));
    assert_eq!(err.type_, "invalid_request_error");
    assert!(err.param.is_some());
    assert!(err.typed, "the SDK parsed the error itself");
    let err = t.call(&CreatePrice::new(usd()).unit_amount(100)).await.expect_err("no product");
    assert_eq!((err.code.as_deref(), err.param.as_deref()), (Some("parameter_missing"), Some("product")));
    let err = t.call(&ListCheckoutSession::new().limit(500)).await.expect_err("limit");
    assert_eq!(err.param.as_deref(), Some("limit"));
    let bad = t.recording_with_key("sk_test_wrong_key_0000");
    let err = t.call_with(&ListProduct::new(), &bad).await.expect_err("401");
    assert_eq!(err.status, 401);
    assert!(err.message.as_deref().unwrap_or("").contains("Invalid API Key"), "{err:?}");
    t.finish();
}

#[tokio::test]
async fn explicit_idempotency_key() {
    let t = Suite::start("explicit_idempotency_key").await;
    let (_, intent) = t.paid_session(card(CARD_OK), 9000, "usd").await;
    let key = format!("rs-refund-{}", intent.id());
    let refund = CreateRefund::new().payment_intent(intent.id()).amount(1000);
    let first = t.call_idempotent(&refund, &key).await.expect("first");
    let second = t.call_idempotent(&refund, &key).await.expect("replayed");
    assert_eq!(second.id(), first.id());
    let other = CreateRefund::new().payment_intent(intent.id()).amount(2000);
    let err = t.call_idempotent(&other, &key).await.expect_err("same key, other parameters");
    assert_eq!((err.status, err.type_.as_str()), (400, "idempotency_error"));
    assert!(err.message.as_deref().unwrap_or("").contains("same parameters"), "{err:?}");
    let listed = t.call(&ListRefund::new().payment_intent(intent.id())).await.expect("list");
    assert_eq!(listed.raw["data"].as_array().unwrap().len(), 1);
    t.finish();
}
