//! Every way a request can be wrong, answered with Stripe's status and error envelope, and never
//! with a change of state: each test counts the objects before and after.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use common::{str_of, Resp, TestSim};
use reqwest::Method;
use serde_json::{json, Value};

/// Sends `request` and asserts that it failed with `status` and left every collection as it was.
async fn refused(t: &TestSim, request: reqwest::RequestBuilder, status: u16) -> Value {
    let before = t.counts().await;
    let answer = t.send(request).await;
    let error = answer.error(status).clone();
    assert_eq!(t.counts().await, before, "state changed: {}", answer.text);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "errors are JSON"
    );
    error
}

/// A form POST, ready to send.
fn form(t: &TestSim, path: &str, body: &str) -> reqwest::RequestBuilder {
    t.request(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
}

/// A world with something in every collection, so that "nothing changed" means something.
async fn populated() -> TestSim {
    let t = common::start().await;
    let (_, _, ch) = t.paid_with("4242424242424242").await;
    t.post("/v1/refunds", &[("charge", &ch), ("amount", "100")])
        .await
        .ok();
    t.post("/v1/customers", &[("email", "ada@example.com")])
        .await
        .ok();
    t
}

// ----- authentication -----

#[tokio::test]
async fn request_without_a_key_is_401() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.anonymous(Method::POST, "/v1/customers")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=Ada"),
        401,
    )
    .await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    assert!(str_of(&error["message"]).starts_with("You did not provide an API key."));
}

#[tokio::test]
async fn request_with_an_unknown_key_is_401_with_the_key_redacted() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.http
            .get(t.url("/v1/customers"))
            .bearer_auth("sk_test_someoneelse9876"),
        401,
    )
    .await;

    // Assert
    let message = str_of(&error["message"]);
    assert!(
        message.starts_with("Invalid API Key provided: sk_test_"),
        "{message}"
    );
    assert!(message.ends_with("9876"), "{message}");
    assert!(
        !message.contains("someoneelse"),
        "the key must be redacted: {message}"
    );
}

#[tokio::test]
async fn live_key_is_refused_with_a_message_saying_so() {
    // Arrange: even when it is the configured key.
    let sim = stripe_sim::Simulator::builder()
        .api_key("sk_live_realmoney1234")
        .clock(stripe_sim::ClockMode::Manual)
        .seed(1)
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();

    // Act
    let answer = http
        .get(format!("{}/v1/customers", sim.base_url()))
        .bearer_auth("sk_live_realmoney1234")
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(answer.status().as_u16(), 401);
    let body: Value = answer.json().await.unwrap();
    let message = str_of(&body["error"]["message"]);
    assert!(message.contains("live-mode keys"), "{message}");
    assert!(!message.contains("realmoney"), "{message}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn live_key_is_refused_on_a_default_simulator_too() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.http
            .post(t.url("/v1/customers"))
            .bearer_auth("sk_live_abcdefgh")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=Ada"),
        401,
    )
    .await;

    // Assert
    assert!(str_of(&error["message"]).contains("refuses live-mode keys"));
}

#[tokio::test]
async fn basic_auth_with_the_key_as_user_name_is_accepted() {
    // Arrange
    let t = common::start().await;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:", t.key));

    // Act
    let answer = t
        .send(
            t.anonymous(Method::POST, "/v1/customers")
                .header("authorization", format!("Basic {credentials}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("name=Ada"),
        )
        .await;

    // Assert
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(t.count("/v1/customers").await, 1);
}

#[tokio::test]
async fn control_api_requires_the_key() {
    // Arrange
    let t = populated().await;
    let session = t.open_session().await;

    // Act
    let error = refused(
        &t,
        t.anonymous(
            Method::POST,
            &format!("/_sim/checkout/sessions/{session}/pay"),
        )
        .json(&json!({ "card": "4242424242424242" })),
        401,
    )
    .await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    let s = t.object(&format!("/v1/checkout/sessions/{session}")).await;
    assert_eq!(s["status"], "open");
}

// ----- parameters -----

#[tokio::test]
async fn unknown_parameter_is_named_with_its_full_bracket_path() {
    // Arrange
    let t = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/payment_links",
            &common::encode(&[
                ("line_items[0][price]", &price),
                ("line_items[0][colour]", "red"),
            ]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "parameter_unknown");
    assert_eq!(
        error["message"],
        "Received unknown parameter: line_items[0][colour]"
    );
    assert_eq!(error["param"], "line_items[0][colour]");
}

#[tokio::test]
async fn unknown_top_level_parameter_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, form(&t, "/v1/customers", "name=Ada&nickname=ada"), 400).await;

    // Assert
    assert_eq!(error["message"], "Received unknown parameter: nickname");
    assert_eq!(error["param"], "nickname");
}

#[tokio::test]
async fn unknown_query_parameter_on_a_list_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, t.request(Method::GET, "/v1/charges?colour=red"), 400).await;

    // Assert
    assert_eq!(error["param"], "colour");
}

#[tokio::test]
async fn missing_required_parameter_is_named() {
    // Arrange
    let t = populated().await;
    let product = str_of(&t.list_all("/v1/products").await[0]["id"]);

    // Act
    let no_currency = refused(
        &t,
        form(
            &t,
            "/v1/prices",
            &common::encode(&[("product", &product), ("unit_amount", "100")]),
        ),
        400,
    )
    .await;
    let no_line_items = refused(&t, form(&t, "/v1/payment_links", ""), 400).await;
    let no_mode = refused(
        &t,
        form(
            &t,
            "/v1/checkout/sessions",
            "success_url=https%3A%2F%2Fexample.com",
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(no_currency["code"], "parameter_missing");
    assert_eq!(no_currency["message"], "Missing required param: currency.");
    assert_eq!(no_currency["param"], "currency");
    assert_eq!(no_line_items["param"], "line_items");
    assert_eq!(no_mode["param"], "mode");
}

#[tokio::test]
async fn missing_nested_parameter_is_named_with_its_path() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/checkout/sessions",
            &common::encode(&[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][product_data][name]", "Sticker"),
                ("success_url", "https://example.com"),
            ]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["code"], "parameter_missing");
    assert_eq!(error["param"], "line_items[0][price_data][unit_amount]");
}

#[tokio::test]
async fn non_integer_amount_is_an_invalid_integer() {
    // Arrange
    let t = populated().await;
    let product = str_of(&t.list_all("/v1/products").await[0]["id"]);

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/prices",
            &common::encode(&[
                ("product", &product),
                ("currency", "usd"),
                ("unit_amount", "abc"),
            ]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["message"], "Invalid integer: abc");
    assert_eq!(error["param"], "unit_amount");
    assert_eq!(error["code"], "parameter_invalid_integer");
}

#[tokio::test]
async fn wrong_shapes_and_enum_values_are_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let boolean = refused(
        &t,
        form(
            &t,
            &format!("/v1/payment_links/{}", t.lifetime_link()),
            "active=maybe",
        ),
        400,
    )
    .await;
    let hash = refused(&t, form(&t, "/v1/customers", "metadata=abc"), 400).await;
    let mode = refused(&t, form(&t, "/v1/checkout/sessions", "mode=rent"), 400).await;
    let currency = refused(
        &t,
        form(
            &t,
            "/v1/prices",
            "product_data[name]=X&unit_amount=100&currency=xyz",
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(boolean["message"], "Invalid boolean: maybe");
    assert_eq!(hash["param"], "metadata");
    assert_eq!(
        mode["message"],
        "Invalid mode: must be one of payment, setup, or subscription"
    );
    assert!(str_of(&currency["message"]).starts_with("Invalid currency: xyz"));
    assert_eq!(
        t.object(&format!("/v1/payment_links/{}", t.lifetime_link()))
            .await["active"],
        true
    );
}

#[tokio::test]
async fn non_positive_refund_amount_is_refused() {
    // Arrange
    let t = populated().await;
    let ch = str_of(&t.list_all("/v1/charges").await[0]["id"]);

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/refunds",
            &common::encode(&[("charge", &ch), ("amount", "0")]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "amount");
}

#[tokio::test]
async fn refund_without_charge_or_payment_intent_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, form(&t, "/v1/refunds", "amount=100"), 400).await;

    // Assert
    assert!(str_of(&error["message"]).contains("payment_intent or charge"));
}

#[tokio::test]
async fn invalid_url_is_refused_with_url_invalid() {
    // Arrange
    let t = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;
    let before = t.count("/v1/payment_links").await;

    // Act
    let answer = t
        .post(
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &price),
                ("after_completion[type]", "redirect"),
                ("after_completion[redirect][url]", "example.com/thanks"),
            ],
        )
        .await;

    // Assert
    let error = answer.error(400);
    assert_eq!(error["code"], "url_invalid");
    assert_eq!(error["param"], "after_completion[redirect][url]");
    assert_eq!(t.count("/v1/payment_links").await, before);
}

#[tokio::test]
async fn unknown_price_in_a_line_item_is_a_missing_resource() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        form(&t, "/v1/payment_links", "line_items[0][price]=price_nope"),
        404,
    )
    .await;

    // Assert
    assert_eq!(error["code"], "resource_missing");
    assert_eq!(error["message"], "No such price: 'price_nope'");
    assert_eq!(error["param"], "line_items[0][price]");
}

#[tokio::test]
async fn line_items_in_two_currencies_are_refused() {
    // Arrange
    let t = populated().await;
    let usd = t.price("A", 100, "usd").await;
    let eur = t.price("B", 100, "eur").await;

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/payment_links",
            &common::encode(&[
                ("line_items[0][price]", &usd),
                ("line_items[1][price]", &eur),
            ]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "line_items[1][price]");
}

#[tokio::test]
async fn subscription_mode_is_refused_as_unsupported() {
    // Arrange
    let t = populated().await;
    let price = t.price("A", 100, "usd").await;

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/checkout/sessions",
            &common::encode(&[
                ("mode", "subscription"),
                ("line_items[0][price]", &price),
                ("success_url", "https://example.com"),
            ]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "mode");
}

#[tokio::test]
async fn failed_session_create_with_price_data_leaves_no_product_or_price_behind() {
    // Arrange: a valid `price_data` line item, and one mistake found after it is read.
    let t = populated().await;
    let valid = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][price_data][product_data][name]", "Sticker"),
        ("success_url", "https://example.com"),
    ];
    let mistakes = [
        ("colour", "red"),
        ("expires_at", "1"),
        ("payment_method_types[0]", "sepa_debit"),
        ("line_items[1][price]", "price_nope"),
        ("customer", "cus_nope"),
    ];

    for mistake in mistakes {
        let mut params = valid.to_vec();
        params.push(mistake);

        // Act
        let error = refused(
            &t,
            form(&t, "/v1/checkout/sessions", &common::encode(&params)),
            if mistake.1.ends_with("_nope") {
                404
            } else {
                400
            },
        )
        .await;

        // Assert: `refused` found every collection (products, prices, events) unchanged.
        assert!(error["param"].is_string(), "{mistake:?}");
    }
}

#[tokio::test]
async fn failed_price_create_with_product_data_leaves_no_product_behind() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        form(
            &t,
            "/v1/prices",
            "product_data[name]=Mug&unit_amount=100&currency=usd&colour=red",
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "colour");
}

#[tokio::test]
async fn quantity_beyond_the_largest_total_is_refused_not_overflowed() {
    // Arrange
    let t = populated().await;
    let price = t.price("Yacht", 99_999_999, "usd").await;

    for (quantity, second) in [("9223372036854775807", false), ("2", false), ("1", true)] {
        let mut params = vec![
            ("line_items[0][price]", price.as_str()),
            ("line_items[0][quantity]", quantity),
        ];
        if second {
            params.push(("line_items[1][price]", price.as_str()));
        }

        // Act
        let error = refused(
            &t,
            form(&t, "/v1/payment_links", &common::encode(&params)),
            400,
        )
        .await;

        // Assert
        assert!(
            str_of(&error["message"]).contains("$999,999.99"),
            "{}",
            error["message"]
        );
    }
}

// ----- malformed requests -----

#[tokio::test]
async fn malformed_bracket_key_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, form(&t, "/v1/customers", "a]b=1"), 400).await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["message"], "Invalid parameter name: 'a]b'");
    assert_eq!(error["param"], "a]b");
}

#[tokio::test]
async fn unclosed_bracket_key_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, form(&t, "/v1/customers", "metadata[a=1"), 400).await;

    // Assert
    assert_eq!(error["param"], "metadata[a");
}

#[tokio::test]
async fn key_given_both_as_value_and_hash_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        form(&t, "/v1/customers", "metadata=1&metadata[a]=2"),
        400,
    )
    .await;

    // Assert
    assert!(str_of(&error["message"]).contains("both as a value and as a hash"));
}

#[tokio::test]
async fn percent_encoding_of_invalid_utf8_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, form(&t, "/v1/customers", "name=%FF%FE"), 400).await;

    // Assert
    assert!(str_of(&error["message"]).contains("not valid application/x-www-form-urlencoded"));
}

#[tokio::test]
async fn raw_body_that_is_not_utf8_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.request(Method::POST, "/v1/customers")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'n', b'a', b'm', b'e', b'=', 0xff, 0xfe]),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
}

#[tokio::test]
async fn malformed_query_string_on_a_get_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, t.request(Method::GET, "/v1/customers?limit]=3"), 400).await;

    // Assert
    assert_eq!(error["param"], "limit]");
}

#[tokio::test]
async fn json_body_on_the_stripe_api_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.request(Method::POST, "/v1/customers")
            .json(&json!({ "name": "Ada" })),
        400,
    )
    .await;

    // Assert
    assert!(str_of(&error["message"]).contains("x-www-form-urlencoded"));
}

#[tokio::test]
async fn body_over_256_kib_is_413_with_an_envelope() {
    // Arrange
    let t = populated().await;
    let body = format!("description={}", "a".repeat(300 * 1024));

    // Act
    let error = refused(&t, form(&t, "/v1/customers", &body), 413).await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    assert!(str_of(&error["message"]).contains("262144"));
}

#[tokio::test]
async fn body_over_256_kib_with_an_idempotency_key_is_413_too() {
    // Arrange
    let t = populated().await;
    let body = format!("description={}", "a".repeat(300 * 1024));

    // Act
    let error = refused(
        &t,
        form(&t, "/v1/customers", &body).header("idempotency-key", "big"),
        413,
    )
    .await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
}

#[tokio::test]
async fn idempotency_key_over_255_characters_is_refused() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        form(&t, "/v1/customers", "name=Ada").header("idempotency-key", "k".repeat(256)),
        400,
    )
    .await;

    // Assert
    assert!(str_of(&error["message"]).contains("255"));
}

// ----- unknown objects and routes -----

#[tokio::test]
async fn unknown_ids_are_404_resource_missing_naming_the_object() {
    // Arrange
    let t = populated().await;
    let cases = [
        (
            "/v1/checkout/sessions/cs_test_nope",
            "checkout.session",
            "cs_test_nope",
        ),
        ("/v1/payment_intents/pi_nope", "payment_intent", "pi_nope"),
        ("/v1/charges/ch_nope", "charge", "ch_nope"),
        ("/v1/refunds/re_nope", "refund", "re_nope"),
        ("/v1/customers/cus_nope", "customer", "cus_nope"),
        ("/v1/products/prod_nope", "product", "prod_nope"),
        ("/v1/prices/price_nope", "price", "price_nope"),
        ("/v1/payment_links/plink_nope", "payment_link", "plink_nope"),
        ("/v1/events/evt_nope", "event", "evt_nope"),
        (
            "/v1/checkout/sessions/cs_test_nope/line_items",
            "checkout.session",
            "cs_test_nope",
        ),
    ];

    for (path, object, id) in cases {
        // Act
        let error = refused(&t, t.request(Method::GET, path), 404).await;

        // Assert
        assert_eq!(error["type"], "invalid_request_error", "{path}");
        assert_eq!(error["code"], "resource_missing", "{path}");
        assert_eq!(
            error["message"],
            format!("No such {object}: '{id}'"),
            "{path}"
        );
        assert!(error["param"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn updating_or_expiring_an_unknown_object_is_404() {
    // Arrange
    let t = populated().await;

    // Act
    let customer = refused(&t, form(&t, "/v1/customers/cus_nope", "name=X"), 404).await;
    let expire = refused(
        &t,
        form(&t, "/v1/checkout/sessions/cs_test_nope/expire", ""),
        404,
    )
    .await;
    let refund = refused(&t, form(&t, "/v1/refunds", "charge=ch_nope"), 404).await;
    let pay = refused(
        &t,
        t.request(Method::POST, "/_sim/checkout/sessions/cs_test_nope/pay")
            .json(&json!({ "card": "4242424242424242" })),
        404,
    )
    .await;

    // Assert
    assert_eq!(customer["message"], "No such customer: 'cus_nope'");
    assert_eq!(
        expire["message"],
        "No such checkout.session: 'cs_test_nope'"
    );
    assert_eq!(refund["param"], "charge");
    assert_eq!(pay["code"], "resource_missing");
}

#[tokio::test]
async fn unknown_route_is_404_with_an_envelope() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, t.request(Method::GET, "/v1/subscriptions"), 404).await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(
        error["message"],
        "Unrecognized request URL (GET: /v1/subscriptions). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
    );
}

#[tokio::test]
async fn wrong_method_on_a_known_route_is_404_with_an_envelope() {
    // Arrange
    let t = populated().await;
    let customer = str_of(&t.list_all("/v1/customers").await[0]["id"]);

    // Act
    let delete = refused(
        &t,
        t.request(Method::DELETE, &format!("/v1/customers/{customer}")),
        404,
    )
    .await;
    let put = refused(&t, t.request(Method::PUT, "/v1/checkout/sessions"), 404).await;
    let get_expire = refused(
        &t,
        t.request(Method::GET, "/v1/checkout/sessions/cs_test_x/expire"),
        404,
    )
    .await;
    let control = refused(&t, t.request(Method::GET, "/_sim/reset"), 404).await;

    // Assert
    assert!(str_of(&delete["message"]).starts_with("Unrecognized request URL (DELETE: "));
    assert!(str_of(&put["message"]).starts_with("Unrecognized request URL (PUT: "));
    assert!(str_of(&get_expire["message"]).contains("GET: /v1/checkout/sessions/cs_test_x/expire"));
    assert_eq!(control["type"], "invalid_request_error");
}

// ----- lists and expand -----

#[tokio::test]
async fn limit_out_of_range_is_refused() {
    // Arrange
    let t = populated().await;

    for limit in ["0", "101", "-1"] {
        // Act
        let error = refused(
            &t,
            t.request(Method::GET, &format!("/v1/customers?limit={limit}")),
            400,
        )
        .await;

        // Assert
        assert_eq!(error["param"], "limit", "limit={limit}");
    }
    let error = refused(&t, t.request(Method::GET, "/v1/events?limit=ten"), 400).await;
    assert_eq!(error["message"], "Invalid integer: ten");
}

#[tokio::test]
async fn both_pagination_cursors_at_once_are_refused() {
    // Arrange
    let t = populated().await;
    let customer = str_of(&t.list_all("/v1/customers").await[0]["id"]);

    // Act
    let error = refused(
        &t,
        t.request(
            Method::GET,
            &format!("/v1/customers?starting_after={customer}&ending_before={customer}"),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "ending_before");
}

#[tokio::test]
async fn unknown_pagination_cursor_is_a_missing_resource() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.request(Method::GET, "/v1/customers?starting_after=cus_nope"),
        404,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "starting_after");
}

#[tokio::test]
async fn bad_expand_path_on_create_is_refused_and_nothing_is_created() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(&t, form(&t, "/v1/customers", "name=Ada&expand[]=name"), 400).await;

    // Assert
    assert_eq!(error["message"], "This property cannot be expanded (name).");
    assert_eq!(error["param"], "expand");
    assert!(
        t.events_of("customer.created").len() == 1,
        "only the populated one"
    );
}

#[tokio::test]
async fn bad_expand_paths_on_retrieve_and_list_are_refused() {
    // Arrange
    let t = populated().await;
    let session = str_of(&t.list_all("/v1/checkout/sessions").await[0]["id"]);

    // Act
    let not_expandable = refused(
        &t,
        t.request(
            Method::GET,
            &format!("/v1/checkout/sessions/{session}?expand[]=client_reference_id"),
        ),
        400,
    )
    .await;
    let list_without_data = refused(
        &t,
        t.request(Method::GET, "/v1/checkout/sessions?expand[]=payment_intent"),
        400,
    )
    .await;
    let too_deep = refused(
        &t,
        t.request(
            Method::GET,
            &format!("/v1/checkout/sessions/{session}?expand[]=a.b.c.d.e"),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(not_expandable["param"], "expand");
    assert_eq!(
        list_without_data["message"],
        "This property cannot be expanded (payment_intent)."
    );
    assert!(str_of(&too_deep["message"]).contains("more than 4 levels"));
}

#[tokio::test]
async fn bad_expand_on_a_refund_does_not_refund() {
    // Arrange
    let t = populated().await;
    let ch = str_of(&t.list_all("/v1/charges").await[0]["id"]);
    let refunded_before = t.object(&format!("/v1/charges/{ch}")).await["amount_refunded"].clone();

    // Act
    refused(
        &t,
        form(
            &t,
            "/v1/refunds",
            &common::encode(&[("charge", &ch), ("expand[]", "customer")]),
        ),
        400,
    )
    .await;

    // Assert
    assert_eq!(
        t.object(&format!("/v1/charges/{ch}")).await["amount_refunded"],
        refunded_before
    );
}

// ----- control API -----

#[tokio::test]
async fn control_api_with_malformed_json_is_400_with_an_envelope() {
    // Arrange
    let t = populated().await;
    let session = t.open_session().await;

    // Act
    let error = refused(
        &t,
        t.request(
            Method::POST,
            &format!("/_sim/checkout/sessions/{session}/pay"),
        )
        .header("content-type", "application/json")
        .body("{\"card\": "),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["type"], "invalid_request_error");
    assert!(str_of(&error["message"]).starts_with("Invalid JSON body"));
}

#[tokio::test]
async fn control_pay_with_two_methods_or_none_is_refused() {
    // Arrange
    let t = populated().await;
    let session = t.open_session().await;

    for body in [
        json!({}),
        json!({ "card": "4242424242424242", "sepa_debit": { "iban": "DE89370400440532013000" } }),
        json!({ "cash": true }),
    ] {
        // Act
        let error = refused(
            &t,
            t.request(
                Method::POST,
                &format!("/_sim/checkout/sessions/{session}/pay"),
            )
            .json(&body),
            400,
        )
        .await;

        // Assert
        assert_eq!(error["type"], "invalid_request_error", "{body}");
    }
    let s = t.object(&format!("/v1/checkout/sessions/{session}")).await;
    assert_eq!(s["status"], "open");
}

#[tokio::test]
async fn control_clock_refuses_to_go_back() {
    // Arrange
    let t = populated().await;
    let now = t.sim.now();

    // Act
    let error = refused(
        &t,
        t.request(Method::POST, "/_sim/clock/advance")
            .json(&json!({ "seconds": -1 })),
        400,
    )
    .await;
    let wrong_type = refused(
        &t,
        t.request(Method::POST, "/_sim/clock/advance")
            .json(&json!({ "seconds": "soon" })),
        400,
    )
    .await;

    // Assert
    assert_eq!(error["param"], "seconds");
    assert!(str_of(&wrong_type["message"]).starts_with("Invalid JSON body"));
    assert_eq!(t.sim.now(), now);
}

#[tokio::test]
async fn control_visit_of_an_unknown_link_is_404() {
    // Arrange
    let t = populated().await;

    // Act
    let error = refused(
        &t,
        t.request(Method::POST, "/_sim/payment_links/plink_nope/visit")
            .json(&json!({})),
        404,
    )
    .await;

    // Assert
    assert_eq!(error["message"], "No such payment_link: 'plink_nope'");
}

// ----- never a 500 -----

#[tokio::test]
async fn no_malformed_request_is_ever_answered_with_a_500() {
    // Arrange
    let t = populated().await;
    let session = t.open_session().await;
    let bodies = [
        "",
        "&&&",
        "=",
        "=1",
        "[]=1",
        "a[]=1&a[x]=2",
        "a[0]=1&a[x]=2",
        "line_items=abc",
        "line_items[0]=abc",
        "line_items[][price]=",
        "line_items[99999999999999999999][price]=x",
        "metadata[]=1",
        "expand=",
        "expand[0][x]=1",
        "mode=payment&line_items[0][quantity]=-5",
        "mode=payment&line_items[0][price_data][unit_amount]=99999999999999999999",
        "amount=1e3",
        "%",
        "a=%",
        "a%5Bb=1",
    ];
    let paths = [
        "/v1/customers",
        "/v1/products",
        "/v1/prices",
        "/v1/payment_links",
        "/v1/checkout/sessions",
        "/v1/refunds",
        &format!("/v1/checkout/sessions/{session}/expire"),
        &format!("/v1/payment_links/{}", t.lifetime_link()),
    ];

    for path in paths {
        for body in bodies {
            // Act
            let answer: Resp = t.send(form(&t, path, body)).await;

            // Assert
            assert!(
                answer.status < 500,
                "POST {path} with {body:?} gave {}: {}",
                answer.status,
                answer.text
            );
            if answer.status != 200 {
                answer.error(answer.status);
            }
        }
        for query in bodies {
            let answer = t
                .send(t.request(Method::GET, &format!("{path}?{query}")))
                .await;
            assert!(
                answer.status < 500,
                "GET {path}?{query} gave {}: {}",
                answer.status,
                answer.text
            );
        }
    }
}

#[tokio::test]
async fn control_pay_takes_the_form_body_of_an_sdk_raw_request() {
    // Arrange: stripe-node `rawRequest` and stripe-python `raw_request` form-encode their params.
    let t = populated().await;
    let session = t.open_session().await;
    let pay = format!("/_sim/checkout/sessions/{session}/pay");

    // Act
    let declined = t.post(&pay, &[("card", "4000000000009995")]).await;
    let paid = t.post(&pay, &[("card", "4242424242424242")]).await;

    // Assert: the decline is the card error envelope an SDK turns into its card error type.
    let error = declined.error(402);
    assert_eq!(error["type"], "card_error");
    assert_eq!(error["decline_code"], "insufficient_funds");
    assert_eq!(paid.ok()["payment_status"], "paid");
}

#[tokio::test]
async fn control_visit_takes_a_form_body_too() {
    // Arrange
    let t = populated().await;
    let link = t.lifetime_link();

    // Act
    let session = t
        .post(
            &format!("/_sim/payment_links/{link}/visit"),
            &[("client_reference_id", "order_form_1")],
        )
        .await
        .ok();

    // Assert
    assert_eq!(session["client_reference_id"], "order_form_1");
}

// ----- parser limits (a 30 KB URL of `[a]` used to overflow the stack and abort the process) -----

#[tokio::test]
async fn deep_bracket_nesting_is_a_400_on_every_route_and_the_server_lives() {
    // Arrange: the reproducer of the crash, and nesting just past the depth limit.
    let t = populated().await;
    let crash = format!("x{}=1", "[a]".repeat(10_000));
    let too_deep = format!("x{}=1", "[a]".repeat(17));
    let session = t.open_session().await;

    for key in [&crash, &too_deep] {
        // Act / Assert: the query string of a payment link and of an API GET.
        for path in [format!("/b/x?{key}"), format!("/v1/customers?{key}")] {
            let error = refused(&t, t.request(Method::GET, &path), 400).await;
            assert_eq!(error["type"], "invalid_request_error", "{path}");
            assert!(str_of(&error["param"]).starts_with("x[a][a]"), "{error}");
        }
        // Form bodies: the API, the hosted checkout form and the control API.
        for path in [
            "/v1/customers".to_string(),
            format!("/c/pay/{session}"),
            format!("/_sim/checkout/sessions/{session}/pay"),
        ] {
            let error = refused(&t, form(&t, &path, key), 400).await;
            assert_eq!(error["type"], "invalid_request_error", "{path}");
        }
    }

    // The process is alive and serving.
    assert_eq!(t.get("/v1/customers").await.status, 200);
}

// ----- URLs (a success_url with \x01 used to be stored, and its page then failed on every load) -----

#[tokio::test]
async fn checkout_urls_with_control_characters_or_other_schemes_are_refused_naming_the_param() {
    // Arrange
    let t = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;
    let cases = [
        ("success_url", "https://example.com/ok\u{1}"),
        ("success_url", "https://example.com/ok\r\nSet-Cookie: a=1"),
        ("success_url", "javascript:alert(1)"),
        ("cancel_url", "ftp://example.com/back"),
        ("cancel_url", "https://example.com/\u{7f}"),
        ("success_url", "/relative/path"),
    ];

    for (param, url) in cases {
        // Act
        let error = refused(
            &t,
            form(
                &t,
                "/v1/checkout/sessions",
                &common::encode(&[
                    ("mode", "payment"),
                    ("line_items[0][price]", &price),
                    (param, url),
                ]),
            ),
            400,
        )
        .await;

        // Assert
        assert_eq!(error["param"], param, "{url:?}");
        assert_eq!(error["message"], "Not a valid URL", "{url:?}");
        assert_eq!(error["code"], "url_invalid");
    }
}

#[tokio::test]
async fn the_session_id_placeholder_still_passes_the_url_checks() {
    // Arrange
    let t = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;

    // Act
    let session = t
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price]", &price),
                (
                    "success_url",
                    "https://example.com/thanks/{CHECKOUT_SESSION_ID}?s={CHECKOUT_SESSION_ID}",
                ),
            ],
        )
        .await
        .ok();

    // Assert
    assert_eq!(
        session["success_url"],
        "https://example.com/thanks/{CHECKOUT_SESSION_ID}?s={CHECKOUT_SESSION_ID}"
    );
}

#[tokio::test]
async fn payment_link_redirect_urls_are_checked_on_create_and_update() {
    // Arrange
    let t = populated().await;
    let price = t.price("Hoodie", 4000, "usd").await;
    let link = t.lifetime_link();

    for url in [
        "https://example.com/\u{1}",
        "data:text/html,hi",
        "mailto:a@b.c",
    ] {
        // Act
        let created = refused(
            &t,
            form(
                &t,
                "/v1/payment_links",
                &common::encode(&[
                    ("line_items[0][price]", &price),
                    ("after_completion[type]", "redirect"),
                    ("after_completion[redirect][url]", url),
                ]),
            ),
            400,
        )
        .await;
        let updated = refused(
            &t,
            form(
                &t,
                &format!("/v1/payment_links/{link}"),
                &common::encode(&[
                    ("after_completion[type]", "redirect"),
                    ("after_completion[redirect][url]", url),
                ]),
            ),
            400,
        )
        .await;

        // Assert
        for error in [created, updated] {
            assert_eq!(error["param"], "after_completion[redirect][url]", "{url:?}");
            assert_eq!(error["code"], "url_invalid");
        }
    }
}

#[tokio::test]
async fn webhook_endpoint_urls_are_checked_on_create_update_and_manual_delivery() {
    // Arrange
    let t = populated().await;
    let endpoint = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://example.com/hook"),
                ("enabled_events[0]", "*"),
            ],
        )
        .await
        .ok();
    let id = str_of(&endpoint["id"]);

    for url in [
        "javascript:alert(1)",
        "https://example.com/\n",
        "file:///etc/passwd",
    ] {
        // Act
        let created = t
            .post(
                "/v1/webhook_endpoints",
                &[("url", url), ("enabled_events[0]", "*")],
            )
            .await;
        let updated = t
            .post(&format!("/v1/webhook_endpoints/{id}"), &[("url", url)])
            .await;
        let delivered = t
            .control(
                Method::POST,
                "/_sim/webhooks/deliver",
                Some(json!({ "url": url, "secret": "whsec_x", "raw_body": "{}" })),
            )
            .await;

        // Assert
        for answer in [created, updated, delivered] {
            let error = answer.error(400);
            assert_eq!(error["param"], "url", "{url:?}");
            assert!(
                str_of(&error["message"]).starts_with("Invalid URL: "),
                "{error}"
            );
        }
    }
    let kept = t.get(&format!("/v1/webhook_endpoints/{id}")).await.ok();
    assert_eq!(kept["url"], "https://example.com/hook");
}

// ----- body limits everywhere (the control API used to take axum's 2 MB, answered in plain text) -----

#[tokio::test]
async fn control_api_bodies_over_256_kib_are_413_with_an_envelope() {
    // Arrange
    let t = populated().await;
    let session = t.open_session().await;
    let big = "x".repeat(300 * 1024);
    let requests = [
        (
            "/_sim/webhooks/deliver".to_string(),
            json!({ "url": "http://127.0.0.1:9/hook", "secret": "whsec_x", "raw_body": big }),
        ),
        (
            format!("/_sim/checkout/sessions/{session}/pay"),
            json!({ "card": "4242424242424242", "name": big }),
        ),
        ("/_sim/reset".to_string(), json!({ "padding": big })),
    ];

    for (path, body) in requests {
        // Act
        let error = refused(&t, t.request(Method::POST, &path).json(&body), 413).await;

        // Assert
        assert_eq!(error["type"], "invalid_request_error", "{path}");
        assert!(str_of(&error["message"]).contains("262144"), "{error}");
    }
}

#[tokio::test]
async fn bodies_past_axums_own_limit_and_undecodable_queries_answer_the_envelope() {
    // Arrange
    let t = populated().await;
    let session = t.open_session().await;
    let huge = "a".repeat(3 * 1024 * 1024);

    // Act
    let page = t
        .send(form(
            &t,
            &format!("/c/pay/{session}"),
            &format!("card_number={huge}"),
        ))
        .await;
    let clock = t
        .send(
            t.request(Method::POST, "/_sim/clock/advance")
                .header("content-type", "application/json")
                .body(huge.clone()),
        )
        .await;
    let deliveries = t.get("/_sim/deliveries?event=%FF%FE").await;

    // Assert
    for answer in [&page, &clock] {
        let error = answer.error(413);
        assert!(str_of(&error["message"]).contains("262144"), "{error}");
    }
    assert!(deliveries.status < 500, "{}", deliveries.text);
    if deliveries.status != 200 {
        deliveries.error(deliveries.status);
    }
}
