//! The table of wrong requests: each one alone, against the populated simulator, with the whole
//! error it must get. A case that names no `code` or `param` expects the error to have none.

use reqwest::Method;
use serde_json::json;

use crate::case::{call, get, post, post_bytes, post_json, post_params, Auth, Case};
use crate::Ids;

pub fn all(ids: &Ids) -> Vec<Case> {
    [
        authentication(ids),
        parameters(ids),
        malformed_requests(),
        unknown_objects_and_routes(ids),
        lists_and_expand(ids),
        control_api(ids),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn authentication(ids: &Ids) -> Vec<Case> {
    let pay = format!("/_sim/checkout/sessions/{}/pay", ids.open_session);
    vec![
        post("request_without_a_key_is_401", "/v1/customers", "name=Ada")
            .auth(Auth::Anonymous)
            .fails(401, "invalid_request_error")
            .message_starts_with("You did not provide an API key."),
        get(
            "request_with_an_unknown_key_is_401_with_the_key_redacted",
            "/v1/customers",
        )
        .auth(Auth::Bearer("sk_test_someoneelse9876"))
        .fails(401, "invalid_request_error")
        .message_starts_with("Invalid API Key provided: sk_test_")
        .message_ends_with("9876")
        .message_lacks("someoneelse"),
        post(
            "live_key_is_refused_on_a_default_simulator_too",
            "/v1/customers",
            "name=Ada",
        )
        .auth(Auth::Bearer("sk_live_abcdefgh"))
        .fails(401, "invalid_request_error")
        .message_contains("refuses live-mode keys"),
        post_json(
            "control_api_requires_the_key",
            &pay,
            json!({ "card": "4242424242424242" }),
        )
        .auth(Auth::Anonymous)
        .fails(401, "invalid_request_error"),
    ]
}

/// A session create with a valid `price_data` line item, plus one `mistake` found after that
/// item is read: no product or price may stay behind.
fn session_with(name: &str, mistake: (&str, &str)) -> Case {
    let params = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][price_data][product_data][name]", "Sticker"),
        ("success_url", "https://example.com"),
        mistake,
    ];
    post_params(name, "/v1/checkout/sessions", &params)
}

fn parameters(ids: &Ids) -> Vec<Case> {
    let yacht = ids.yacht_price.as_str();
    vec![
        post_params(
            "unknown_parameter_is_named_with_its_full_bracket_path",
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &ids.usd_price),
                ("line_items[0][colour]", "red"),
            ],
        )
        .code("parameter_unknown")
        .param("line_items[0][colour]")
        .message_is("Received unknown parameter: line_items[0][colour]"),
        post(
            "unknown_top_level_parameter_is_refused",
            "/v1/customers",
            "name=Ada&nickname=ada",
        )
        .code("parameter_unknown")
        .param("nickname")
        .message_is("Received unknown parameter: nickname"),
        get(
            "unknown_query_parameter_on_a_list_is_refused",
            "/v1/charges?colour=red",
        )
        .code("parameter_unknown")
        .param("colour"),
        post_params(
            "missing_required_parameter_is_named: currency",
            "/v1/prices",
            &[("product", &ids.product), ("unit_amount", "100")],
        )
        .code("parameter_missing")
        .param("currency")
        .message_is("Missing required param: currency."),
        post(
            "missing_required_parameter_is_named: line_items",
            "/v1/payment_links",
            "",
        )
        .code("parameter_missing")
        .param("line_items"),
        post(
            "missing_required_parameter_is_named: mode",
            "/v1/checkout/sessions",
            "success_url=https%3A%2F%2Fexample.com",
        )
        .code("parameter_missing")
        .param("mode"),
        post_params(
            "missing_nested_parameter_is_named_with_its_path",
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][product_data][name]", "Sticker"),
                ("success_url", "https://example.com"),
            ],
        )
        .code("parameter_missing")
        .param("line_items[0][price_data][unit_amount]"),
        post_params(
            "non_integer_amount_is_an_invalid_integer",
            "/v1/prices",
            &[
                ("product", &ids.product),
                ("currency", "usd"),
                ("unit_amount", "abc"),
            ],
        )
        .code("parameter_invalid_integer")
        .param("unit_amount")
        .message_is("Invalid integer: abc"),
        post(
            "wrong_shapes_and_enum_values_are_refused: boolean",
            &format!("/v1/payment_links/{}", ids.link),
            "active=maybe",
        )
        .param("active")
        .message_is("Invalid boolean: maybe"),
        post(
            "wrong_shapes_and_enum_values_are_refused: hash",
            "/v1/customers",
            "metadata=abc",
        )
        .code("parameter_invalid_object")
        .param("metadata"),
        post(
            "wrong_shapes_and_enum_values_are_refused: mode",
            "/v1/checkout/sessions",
            "mode=rent",
        )
        .param("mode")
        .message_is("Invalid mode: must be one of payment, setup, or subscription"),
        post(
            "wrong_shapes_and_enum_values_are_refused: currency",
            "/v1/prices",
            "product_data[name]=X&unit_amount=100&currency=xyz",
        )
        .param("currency")
        .message_starts_with("Invalid currency: xyz"),
        post_params(
            "non_positive_refund_amount_is_refused",
            "/v1/refunds",
            &[("charge", &ids.charge), ("amount", "0")],
        )
        .param("amount"),
        post(
            "refund_without_charge_or_payment_intent_is_refused",
            "/v1/refunds",
            "amount=100",
        )
        .message_contains("payment_intent or charge"),
        post_params(
            "invalid_url_is_refused_with_url_invalid",
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &ids.usd_price),
                ("after_completion[type]", "redirect"),
                ("after_completion[redirect][url]", "example.com/thanks"),
            ],
        )
        .code("url_invalid")
        .param("after_completion[redirect][url]"),
        post(
            "unknown_price_in_a_line_item_is_a_missing_resource",
            "/v1/payment_links",
            "line_items[0][price]=price_nope",
        )
        .missing("line_items[0][price]")
        .message_is("No such price: 'price_nope'"),
        post_params(
            "line_items_in_two_currencies_are_refused",
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &ids.usd_price),
                ("line_items[1][price]", &ids.eur_price),
            ],
        )
        .param("line_items[1][price]"),
        post_params(
            "subscription_mode_is_refused_as_unsupported",
            "/v1/checkout/sessions",
            &[
                ("mode", "subscription"),
                ("line_items[0][price]", &ids.usd_price),
                ("success_url", "https://example.com"),
            ],
        )
        .param("mode"),
        session_with(
            "failed_session_create_with_price_data_leaves_nothing: unknown parameter",
            ("colour", "red"),
        )
        .code("parameter_unknown")
        .param("colour"),
        session_with(
            "failed_session_create_with_price_data_leaves_nothing: expires_at",
            ("expires_at", "1"),
        )
        .param("expires_at"),
        session_with(
            "failed_session_create_with_price_data_leaves_nothing: payment method",
            ("payment_method_types[0]", "sepa_debit"),
        )
        .param("payment_method_types[0]"),
        session_with(
            "failed_session_create_with_price_data_leaves_nothing: unknown price",
            ("line_items[1][price]", "price_nope"),
        )
        .missing("line_items[1][price]"),
        session_with(
            "failed_session_create_with_price_data_leaves_nothing: unknown customer",
            ("customer", "cus_nope"),
        )
        .missing("customer"),
        post(
            "failed_price_create_with_product_data_leaves_no_product_behind",
            "/v1/prices",
            "product_data[name]=Mug&unit_amount=100&currency=usd&colour=red",
        )
        .code("parameter_unknown")
        .param("colour"),
        post_params(
            "quantity_beyond_the_largest_total_is_refused_not_overflowed: i64::MAX",
            "/v1/payment_links",
            &[
                ("line_items[0][price]", yacht),
                ("line_items[0][quantity]", "9223372036854775807"),
            ],
        )
        .param("line_items[0][quantity]")
        .message_contains("$999,999.99"),
        post_params(
            "quantity_beyond_the_largest_total_is_refused_not_overflowed: two",
            "/v1/payment_links",
            &[
                ("line_items[0][price]", yacht),
                ("line_items[0][quantity]", "2"),
            ],
        )
        .param("line_items[0][quantity]")
        .message_contains("$999,999.99"),
        post_params(
            "quantity_beyond_the_largest_total_is_refused_not_overflowed: two items",
            "/v1/payment_links",
            &[
                ("line_items[0][price]", yacht),
                ("line_items[0][quantity]", "1"),
                ("line_items[1][price]", yacht),
            ],
        )
        .param("line_items[1][quantity]")
        .message_contains("$999,999.99"),
    ]
}

fn malformed_requests() -> Vec<Case> {
    let big = format!("description={}", "a".repeat(300 * 1024));
    vec![
        post("malformed_bracket_key_is_refused", "/v1/customers", "a]b=1")
            .param("a]b")
            .message_is("Invalid parameter name: 'a]b'"),
        post(
            "unclosed_bracket_key_is_refused",
            "/v1/customers",
            "metadata[a=1",
        )
        .param("metadata[a"),
        post(
            "key_given_both_as_value_and_hash_is_refused",
            "/v1/customers",
            "metadata=1&metadata[a]=2",
        )
        .param("metadata[a]")
        .message_contains("both as a value and as a hash"),
        post(
            "percent_encoding_of_invalid_utf8_is_refused",
            "/v1/customers",
            "name=%FF%FE",
        )
        .message_contains("not valid application/x-www-form-urlencoded"),
        post_bytes(
            "raw_body_that_is_not_utf8_is_refused",
            "/v1/customers",
            &[b'n', b'a', b'm', b'e', b'=', 0xff, 0xfe],
        ),
        get(
            "malformed_query_string_on_a_get_is_refused",
            "/v1/customers?limit]=3",
        )
        .param("limit]"),
        post_json(
            "json_body_on_the_stripe_api_is_refused",
            "/v1/customers",
            json!({ "name": "Ada" }),
        )
        .message_contains("x-www-form-urlencoded"),
        post(
            "body_over_256_kib_is_413_with_an_envelope",
            "/v1/customers",
            &big,
        )
        .fails(413, "invalid_request_error")
        .message_contains("262144"),
        post(
            "body_over_256_kib_with_an_idempotency_key_is_413_too",
            "/v1/customers",
            &big,
        )
        .idempotency_key("big")
        .fails(413, "invalid_request_error"),
        post(
            "idempotency_key_over_255_characters_is_refused",
            "/v1/customers",
            "name=Ada",
        )
        .idempotency_key(&"k".repeat(256))
        .message_contains("255"),
    ]
}

fn unknown_objects_and_routes(ids: &Ids) -> Vec<Case> {
    // The path, the object the message names, and the param (Stripe names some ids its own way).
    let unknown_ids = [
        (
            "/v1/checkout/sessions/cs_test_nope",
            "checkout.session",
            "session",
        ),
        ("/v1/payment_intents/pi_nope", "payment_intent", "intent"),
        ("/v1/charges/ch_nope", "charge", "id"),
        ("/v1/refunds/re_nope", "refund", "refund"),
        ("/v1/customers/cus_nope", "customer", "id"),
        ("/v1/products/prod_nope", "product", "id"),
        ("/v1/prices/price_nope", "price", "id"),
        ("/v1/payment_links/plink_nope", "payment_link", "id"),
        ("/v1/events/evt_nope", "event", "id"),
        (
            "/v1/checkout/sessions/cs_test_nope/line_items",
            "checkout.session",
            "session",
        ),
    ];
    let mut cases: Vec<Case> = unknown_ids
        .into_iter()
        .map(|(path, object, param)| {
            let id = path
                .split('/')
                .find(|part| part.ends_with("_nope"))
                .unwrap();
            get(
                &format!("unknown_ids_are_404_resource_missing_naming_the_object: {path}"),
                path,
            )
            .missing(param)
            .message_is(&format!("No such {object}: '{id}'"))
        })
        .collect();
    let unrecognized = |name: &str, method: Method, path: &str| {
        call(name, method, path).fails(404, "invalid_request_error")
    };
    cases.extend([
        post(
            "updating_or_expiring_an_unknown_object_is_404: customer",
            "/v1/customers/cus_nope",
            "name=X",
        )
        .missing("id")
        .message_is("No such customer: 'cus_nope'"),
        post(
            "updating_or_expiring_an_unknown_object_is_404: expire",
            "/v1/checkout/sessions/cs_test_nope/expire",
            "",
        )
        .missing("session")
        .message_is("No such checkout.session: 'cs_test_nope'"),
        post(
            "updating_or_expiring_an_unknown_object_is_404: refund",
            "/v1/refunds",
            "charge=ch_nope",
        )
        .missing("charge"),
        post_json(
            "updating_or_expiring_an_unknown_object_is_404: pay",
            "/_sim/checkout/sessions/cs_test_nope/pay",
            json!({ "card": "4242424242424242" }),
        )
        .missing("session"),
        unrecognized(
            "unknown_route_is_404_with_an_envelope",
            Method::GET,
            "/v1/subscriptions",
        )
        .message_is(
            "Unrecognized request URL (GET: /v1/subscriptions). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
        ),
        unrecognized(
            "wrong_method_on_a_known_route_is_404_with_an_envelope: DELETE",
            Method::DELETE,
            &format!("/v1/customers/{}", ids.customer),
        )
        .message_starts_with("Unrecognized request URL (DELETE: "),
        unrecognized(
            "wrong_method_on_a_known_route_is_404_with_an_envelope: PUT",
            Method::PUT,
            "/v1/checkout/sessions",
        )
        .message_starts_with("Unrecognized request URL (PUT: "),
        unrecognized(
            "wrong_method_on_a_known_route_is_404_with_an_envelope: GET expire",
            Method::GET,
            "/v1/checkout/sessions/cs_test_x/expire",
        )
        .message_contains("GET: /v1/checkout/sessions/cs_test_x/expire"),
        unrecognized(
            "wrong_method_on_a_known_route_is_404_with_an_envelope: control API",
            Method::GET,
            "/_sim/reset",
        ),
    ]);
    cases
}

fn lists_and_expand(ids: &Ids) -> Vec<Case> {
    let session = format!("/v1/checkout/sessions/{}", ids.paid_session);
    let mut cases: Vec<Case> = ["0", "101", "-1"]
        .into_iter()
        .map(|limit| {
            get(
                &format!("limit_out_of_range_is_refused: {limit}"),
                &format!("/v1/customers?limit={limit}"),
            )
            .param("limit")
        })
        .collect();
    cases.extend([
        get(
            "limit_out_of_range_is_refused: not a number",
            "/v1/events?limit=ten",
        )
        .code("parameter_invalid_integer")
        .param("limit")
        .message_is("Invalid integer: ten"),
        get(
            "both_pagination_cursors_at_once_are_refused",
            &format!(
                "/v1/customers?starting_after={0}&ending_before={0}",
                ids.customer
            ),
        )
        .param("ending_before"),
        get(
            "unknown_pagination_cursor_is_a_missing_resource",
            "/v1/customers?starting_after=cus_nope",
        )
        .missing("starting_after"),
        post(
            "bad_expand_path_on_create_is_refused_and_nothing_is_created",
            "/v1/customers",
            "name=Ada&expand[]=name",
        )
        .param("expand")
        .message_is("This property cannot be expanded (name)."),
        get(
            "bad_expand_paths_on_retrieve_and_list_are_refused: not expandable",
            &format!("{session}?expand[]=client_reference_id"),
        )
        .param("expand"),
        get(
            "bad_expand_paths_on_retrieve_and_list_are_refused: list without data",
            "/v1/checkout/sessions?expand[]=payment_intent",
        )
        .param("expand")
        .message_is("This property cannot be expanded (payment_intent)."),
        get(
            "bad_expand_paths_on_retrieve_and_list_are_refused: too deep",
            &format!("{session}?expand[]=a.b.c.d.e"),
        )
        .param("expand")
        .message_contains("more than 4 levels"),
        post_params(
            "bad_expand_on_a_refund_does_not_refund",
            "/v1/refunds",
            &[("charge", &ids.charge), ("expand[]", "customer")],
        )
        .param("expand"),
    ]);
    cases
}

fn control_api(ids: &Ids) -> Vec<Case> {
    let pay = format!("/_sim/checkout/sessions/{}/pay", ids.open_session);
    vec![
        post_bytes(
            "control_api_with_malformed_json_is_400_with_an_envelope",
            &pay,
            b"{\"card\": ",
        )
        .content_type("application/json")
        .message_starts_with("Invalid JSON body"),
        post_json(
            "control_pay_with_two_methods_or_none_is_refused: none",
            &pay,
            json!({}),
        )
        .param("card"),
        post_json(
            "control_pay_with_two_methods_or_none_is_refused: two",
            &pay,
            json!({ "card": "4242424242424242", "sepa_debit": { "iban": "DE89370400440532013000" } }),
        )
        .param("card"),
        post_json(
            "control_pay_with_two_methods_or_none_is_refused: unknown",
            &pay,
            json!({ "cash": true }),
        ),
        post_json(
            "control_clock_refuses_to_go_back",
            "/_sim/clock/advance",
            json!({ "seconds": -1 }),
        )
        .param("seconds"),
        post_json(
            "control_clock_refuses_to_go_back: not a number",
            "/_sim/clock/advance",
            json!({ "seconds": "soon" }),
        )
        .message_starts_with("Invalid JSON body"),
        post_json(
            "control_visit_of_an_unknown_link_is_404",
            "/_sim/payment_links/plink_nope/visit",
            json!({}),
        )
        .missing("id")
        .message_is("No such payment_link: 'plink_nope'"),
    ]
}
