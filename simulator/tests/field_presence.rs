//! Every object the simulator renders, checked field by field against the TypeScript types of
//! the pinned stripe-node package (`tests/fixtures/stripe_node_types.json`, extracted from the
//! package by `tests/sdk/node/extract-types.mjs`; the SDK suite checks the extract is current).
//!
//! The types tell three cases apart, and strictly typed clients (async-stripe, stripe-go,
//! Stripe.net) fail on each mistake: a field typed `T` must be present and not null, one typed
//! `T | null` must be present, one typed `field?: T` may be absent but is never null. A field the
//! types do not know is an error too, and so is an enum value they do not list.
//!
//! One flow drives every object through the API (resources, lists, expansions, events, error
//! envelopes) and every webhook delivery, and each answer is checked.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use common::{str_of, TestSim};
use reqwest::Method;
use serde_json::{json, Map, Value};

const EXTRACT: &str = include_str!("fixtures/stripe_node_types.json");

fn extract() -> &'static Value {
    static PARSED: OnceLock<Value> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(EXTRACT).unwrap())
}

/// Checks JSON values against the extracted types and collects what does not fit.
#[derive(Default)]
struct Checker {
    /// `charge.radar_options: null, but …` → how often, and the first answer that showed it.
    problems: BTreeMap<String, (usize, String)>,
    /// Objects checked, by their `object` (or `error`), to prove the flow reached them.
    seen: BTreeSet<String>,
    /// The answer being checked (`GET /v1/charges/ch_…`), for the report.
    label: String,
}

impl Checker {
    fn types(&self) -> &'static Map<String, Value> {
        extract()["types"].as_object().unwrap()
    }

    fn root(&self, key: &str) -> &'static str {
        extract()["roots"][key]
            .as_str()
            .unwrap_or_else(|| panic!("no root type for {key}"))
    }

    /// `path` names fields from the object's type down (`charge.outcome.type`, `[]` for any
    /// index), so one mistake is reported once however many answers show it.
    fn problem(&mut self, path: &str, what: String) {
        let entry = self
            .problems
            .entry(format!("{path}: {what}"))
            .or_insert((0, self.label.clone()));
        entry.0 += 1;
    }

    /// Any answer of the API: an error envelope or an object.
    fn answer(&mut self, label: &str, value: &Value) {
        self.label = label.to_string();
        if let Some(error) = value.get("error") {
            if value.as_object().is_some_and(|o| o.len() != 1) {
                self.problem("error envelope", "has more than `error`".to_string());
            }
            self.seen.insert("error".to_string());
            let root = self.root("error");
            self.object(error, root, "error");
            return;
        }
        self.top(value, "");
    }

    /// An object whose type is named by its own `object` field.
    fn top(&mut self, value: &Value, path: &str) {
        let Some(object) = value["object"].as_str() else {
            self.problem(path, format!("no `object` field in {value}"));
            return;
        };
        let key = if value["deleted"] == true {
            format!("deleted:{object}")
        } else {
            object.to_string()
        };
        self.seen.insert(key.clone());
        let Some(root) = extract()["roots"][&key].as_str() else {
            self.problem(
                path,
                format!("the simulator renders `{key}`, which is not a root of the extract"),
            );
            return;
        };
        let path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}({key})")
        };
        if object == "list" {
            self.object(value, root, &path);
            for item in value["data"].as_array().into_iter().flatten() {
                self.top(item, &format!("{path}.data[]"));
            }
            return;
        }
        self.object(value, root, &path);
    }

    fn object(&mut self, value: &Value, type_name: &str, path: &str) {
        let Some(map) = value.as_object() else {
            self.problem(
                path,
                format!("expected an object ({type_name}), got {value}"),
            );
            return;
        };
        // The event envelope's `data.object` is whatever object the event is about.
        if type_name.ends_with("Event.Data.Object") {
            self.top(value, path);
            return;
        }
        if type_name.ends_with("Event.Data.PreviousAttributes") {
            return;
        }
        let Some(fields) = self.types().get(type_name).and_then(Value::as_object) else {
            self.problem(path, format!("no type {type_name} in the extract"));
            return;
        };
        self.fields(map, fields, path);
    }

    fn fields(&mut self, map: &Map<String, Value>, fields: &Map<String, Value>, path: &str) {
        for key in map.keys() {
            if !fields.contains_key(key) {
                self.problem(
                    &format!("{path}.{key}"),
                    "a field the types do not know".into(),
                );
            }
        }
        for (key, spec) in fields {
            let here = format!("{path}.{key}");
            let optional = spec["opt"] == true;
            let nullable = spec["null"] == true;
            match map.get(key) {
                None if !optional => self.problem(&here, "missing, but always present".into()),
                None => {}
                Some(Value::Null) if !nullable => {
                    let what = if optional {
                        "null, but may only be absent"
                    } else {
                        "null, but never null"
                    };
                    self.problem(&here, what.into());
                }
                Some(Value::Null) => {}
                Some(value) => self.shape(value, &spec["t"], &here),
            }
        }
    }

    fn shape(&mut self, value: &Value, shape: &Value, path: &str) {
        match shape {
            Value::String(kind) => {
                let fits = match kind.as_str() {
                    "string" => value.is_string(),
                    "number" => value.is_number(),
                    "boolean" => value.is_boolean(),
                    _ => true,
                };
                if !fits {
                    self.problem(path, format!("expected a {kind}, got {value}"));
                }
            }
            Value::Object(o) => {
                if let Some(values) = o.get("enum") {
                    let known = values.as_array().unwrap();
                    match value.as_str() {
                        Some(s) if known.iter().any(|v| v == s) => {}
                        Some(s) => {
                            let open = if o.get("open") == Some(&json!(true)) {
                                " (an open enum: the SDK keeps it as an unknown value)"
                            } else {
                                ""
                            };
                            self.problem(
                                path,
                                format!("`{s}` is not a value the types list{open}"),
                            );
                        }
                        None => self.problem(path, format!("expected an enum string, got {value}")),
                    }
                } else if let Some(Value::String(name)) = o.get("ref") {
                    self.object(value, name, path);
                } else if let Some(Value::String(name)) = o.get("resource") {
                    if !value.is_string() {
                        self.problem(path, format!("expected the id of a {name}, got {value}"));
                    }
                } else if let Some(item) = o.get("array") {
                    match value.as_array() {
                        Some(items) => {
                            for v in items {
                                self.shape(v, item, &format!("{path}[]"));
                            }
                        }
                        None => self.problem(path, format!("expected an array, got {value}")),
                    }
                } else if let Some(item) = o.get("list") {
                    let root = self.root("list");
                    self.object(value, root, path);
                    for v in value["data"].as_array().into_iter().flatten() {
                        self.shape(v, item, &format!("{path}.data[]"));
                    }
                } else if let Some(item) = o.get("map") {
                    match value.as_object() {
                        Some(map) => {
                            for (k, v) in map {
                                self.shape(v, item, &format!("{path}.{k}"));
                            }
                        }
                        None => self.problem(path, format!("expected a map, got {value}")),
                    }
                } else if let Some(Value::Object(fields)) = o.get("inline") {
                    match value.as_object() {
                        Some(map) => self.fields(map, fields, path),
                        None => self.problem(path, format!("expected an object, got {value}")),
                    }
                } else if let Some(Value::Array(members)) = o.get("union") {
                    self.union(value, members, path);
                }
            }
            _ => {}
        }
    }

    /// A union: a string (an id, or a string member), or the object member whose `object` fits.
    fn union(&mut self, value: &Value, members: &[Value], path: &str) {
        if value.is_object() {
            let wanted = value["object"].as_str();
            let candidates: Vec<&Value> = members
                .iter()
                .filter(|m| m.get("ref").is_some() || m.get("resource").is_some())
                .collect();
            let chosen = candidates
                .iter()
                .find(|m| {
                    let literal = match (&m["ref"], &m["object"]) {
                        (Value::String(name), _) => {
                            self.types()[name.as_str()]["object"]["t"]["enum"][0].as_str()
                        }
                        (_, Value::String(object)) => Some(object.as_str()),
                        _ => None,
                    };
                    literal.is_some() && literal == wanted
                })
                .or(candidates.first());
            match chosen {
                Some(member) => self.shape(value, member, path),
                None => self.problem(
                    path,
                    format!("no member of the union takes an object: {value}"),
                ),
            }
            return;
        }
        let scalar_fits = members.iter().any(|m| match m {
            Value::String(kind) => matches!(
                (kind.as_str(), value),
                ("string", Value::String(_))
                    | ("number", Value::Number(_))
                    | ("boolean", Value::Bool(_))
                    | ("any", _)
            ),
            Value::Object(o) => {
                (o.contains_key("enum") && value.is_string())
                    || (o.contains_key("array") && value.is_array())
            }
            _ => false,
        });
        if !scalar_fits {
            self.problem(path, format!("fits no member of the union: {value}"));
        } else if let Some(member) = members.iter().find(|m| {
            (m.get("enum").is_some() && value.is_string())
                || (m.get("array").is_some() && value.is_array())
        }) {
            // An enum member next to `string` (an open enum) accepts any string.
            if !members.iter().any(|m| m == "string") {
                self.shape(value, member, path);
            }
        }
    }
}

/// A buyer opening a payment link: the new session's id.
async fn visit(t: &TestSim, link: &str) -> String {
    str_of(&t.visit(link, Some("order_1")).await["id"])
}

/// Sends requests and checks every answer.
struct Flow<'a> {
    t: &'a TestSim,
    checker: Checker,
}

impl Flow<'_> {
    async fn get(&mut self, path: &str) -> Value {
        let resp = self.t.get(path).await;
        self.checker.answer(&format!("GET {path}"), &resp.body);
        resp.body
    }

    async fn post(&mut self, path: &str, params: &[(&str, &str)]) -> Value {
        let resp = self.t.post(path, params).await;
        self.checker.answer(&format!("POST {path}"), &resp.body);
        resp.body
    }

    async fn delete(&mut self, path: &str) -> Value {
        let resp = self.t.send(self.t.request(Method::DELETE, path)).await;
        self.checker.answer(&format!("DELETE {path}"), &resp.body);
        resp.body
    }

    async fn pay(&mut self, session: &str, body: Value) -> Value {
        let resp = self.t.pay(session, body).await;
        self.checker.answer(&format!("pay {session}"), &resp.body);
        resp.body
    }

    /// Every object of a list endpoint, walking its pages.
    async fn walk(&mut self, path: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = match &after {
                Some(a) => {
                    self.get(&format!("{path}?limit=100&starting_after={a}"))
                        .await
                }
                None => self.get(&format!("{path}?limit=100")).await,
            };
            let data = page["data"].as_array().cloned().unwrap_or_default();
            after = data.last().map(|o| str_of(&o["id"]));
            all.extend(data);
            if page["has_more"] != true {
                return all;
            }
        }
    }
}

#[tokio::test]
async fn every_rendered_object_has_the_fields_the_sdk_types_require() {
    // Arrange: a receiver for webhook deliveries.
    let receiver = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let t = common::start().await;
    let mut f = Flow {
        t: &t,
        checker: Checker::default(),
    };

    // Act: every resource, through every operation the API has.
    let endpoint = f
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", &format!("{}/hook", receiver.uri())),
                ("enabled_events[]", "*"),
            ],
        )
        .await;
    let endpoint_id = str_of(&endpoint["id"]);
    f.get(&format!("/v1/webhook_endpoints/{endpoint_id}")).await;
    f.post(
        &format!("/v1/webhook_endpoints/{endpoint_id}"),
        &[
            ("description", "every event"),
            ("metadata[team]", "payments"),
        ],
    )
    .await;
    f.walk("/v1/webhook_endpoints").await;

    let product = f
        .post(
            "/v1/products",
            &[
                ("name", "Field check"),
                ("description", "A product"),
                ("metadata[sku]", "F1"),
            ],
        )
        .await;
    let product_id = str_of(&product["id"]);
    f.get(&format!("/v1/products/{product_id}")).await;
    let price = f
        .post(
            "/v1/prices",
            &[
                ("product", &product_id),
                ("unit_amount", "2500"),
                ("currency", "usd"),
            ],
        )
        .await;
    let price_id = str_of(&price["id"]);
    f.get(&format!("/v1/prices/{price_id}?expand[]=product"))
        .await;
    f.walk("/v1/products").await;
    f.walk("/v1/prices").await;
    let eur_price = str_of(
        &f.post(
            "/v1/prices",
            &[
                ("product", &product_id),
                ("unit_amount", "4900"),
                ("currency", "eur"),
            ],
        )
        .await["id"],
    );

    let link = f
        .post(
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &price_id),
                ("line_items[0][quantity]", "1"),
                ("metadata[campaign]", "spring"),
                ("after_completion[type]", "redirect"),
                (
                    "after_completion[redirect][url]",
                    "https://example.com/thanks",
                ),
            ],
        )
        .await;
    let link_id = str_of(&link["id"]);
    f.get(&format!("/v1/payment_links/{link_id}?expand[]=line_items"))
        .await;
    f.get(&format!("/v1/payment_links/{link_id}/line_items"))
        .await;
    f.post(
        &format!("/v1/payment_links/{link_id}"),
        &[("active", "false")],
    )
    .await;
    f.post(
        &format!("/v1/payment_links/{link_id}"),
        &[("active", "true")],
    )
    .await;
    f.walk("/v1/payment_links").await;

    let customer = f
        .post(
            "/v1/customers",
            &[("email", "ada@example.com"), ("name", "Ada")],
        )
        .await;
    let customer_id = str_of(&customer["id"]);
    f.post(
        &format!("/v1/customers/{customer_id}"),
        &[("metadata[vip]", "yes")],
    )
    .await;
    f.get(&format!("/v1/customers/{customer_id}")).await;
    f.walk("/v1/customers").await;

    // Sessions: one through the API for a customer, one per payment method through the link.
    let api_session = f
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("success_url", "https://example.com/ok"),
                ("customer", &customer_id),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "1500"),
                ("line_items[0][price_data][product_data][name]", "Inline"),
                ("line_items[0][quantity]", "2"),
            ],
        )
        .await;
    let api_session_id = str_of(&api_session["id"]);
    f.pay(
        &api_session_id,
        json!({ "card": "4242424242424242", "name": "Ada" }),
    )
    .await;

    let declined = visit(&t, &link_id).await;
    f.pay(&declined, json!({ "card": "4000000000009995" }))
        .await;
    f.pay(&declined, json!({ "card": "4100000000000019" }))
        .await;
    f.pay(
        &declined,
        json!({ "card": "4000000000007726", "email": "bo@example.com", "name": "Bo" }),
    )
    .await;
    let ach_ok = visit(&t, &link_id).await;
    f.pay(&ach_ok, json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000123456789" } }))
        .await;
    let ach_failed = visit(&t, &link_id).await;
    f.pay(&ach_failed, json!({ "us_bank_account": { "routing_number": "110000000", "account_number": "000111111113" } }))
        .await;
    let eur_link = str_of(
        &f.post(
            "/v1/payment_links",
            &[
                ("line_items[0][price]", &eur_price),
                ("line_items[0][quantity]", "1"),
            ],
        )
        .await["id"],
    );
    let sepa_ok = visit(&t, &eur_link).await;
    f.pay(
        &sepa_ok,
        json!({ "sepa_debit": { "iban": "DE89370400440532013000" }, "name": "Cy" }),
    )
    .await;
    let sepa_failed = visit(&t, &eur_link).await;
    f.pay(
        &sepa_failed,
        json!({ "sepa_debit": { "iban": "DE62370400440532013001" } }),
    )
    .await;
    let abandoned = visit(&t, &link_id).await;
    f.pay(&abandoned, json!({ "card": "4000000000000002" }))
        .await;
    f.post(&format!("/v1/checkout/sessions/{abandoned}/expire"), &[])
        .await;
    t.advance(200).await;

    for id in [
        &api_session_id,
        &declined,
        &ach_ok,
        &ach_failed,
        &sepa_ok,
        &sepa_failed,
        &abandoned,
    ] {
        f.get(&format!(
            "/v1/checkout/sessions/{id}?expand[]=line_items&expand[]=payment_intent.latest_charge&expand[]=customer&expand[]=payment_link"
        ))
        .await;
        f.get(&format!("/v1/checkout/sessions/{id}/line_items"))
            .await;
    }
    f.walk("/v1/checkout/sessions").await;

    let intents = f.walk("/v1/payment_intents").await;
    for intent in &intents {
        let id = str_of(&intent["id"]);
        f.get(&format!("/v1/payment_intents/{id}?expand[]=payment_method&expand[]=latest_charge&expand[]=customer"))
            .await;
    }
    let charges = f.walk("/v1/charges").await;
    let mut methods = BTreeSet::new();
    for charge in &charges {
        let id = str_of(&charge["id"]);
        f.get(&format!(
            "/v1/charges/{id}?expand[]=refunds&expand[]=payment_intent&expand[]=customer"
        ))
        .await;
        methods.insert(str_of(&charge["payment_method"]));
    }
    for method in &methods {
        f.get(&format!("/v1/payment_methods/{method}")).await;
    }

    // Refunds: full, partial, pending, failing later, and the refusals.
    let paid = charges
        .iter()
        .filter(|c| c["status"] == "succeeded")
        .map(|c| str_of(&c["id"]))
        .collect::<Vec<_>>();
    assert!(
        paid.len() >= 3,
        "the flow should have succeeded charges: {paid:?}"
    );
    for charge in &paid {
        f.post(
            "/v1/refunds",
            &[
                ("charge", charge),
                ("amount", "100"),
                ("metadata[why]", "test"),
            ],
        )
        .await;
        f.post("/v1/refunds", &[("charge", charge), ("amount", "99999999")])
            .await;
        f.post("/v1/refunds", &[("charge", charge)]).await;
        f.post("/v1/refunds", &[("charge", charge)]).await;
    }
    let failing = visit(&t, &link_id).await;
    let failing_paid = f.pay(&failing, json!({ "card": "4000000000005126" })).await;
    let failing_pi = str_of(&failing_paid["payment_intent"]);
    f.post("/v1/refunds", &[("payment_intent", &failing_pi)])
        .await;
    t.advance(120).await;
    for refund in f.walk("/v1/refunds").await {
        let id = str_of(&refund["id"]);
        f.get(&format!(
            "/v1/refunds/{id}?expand[]=charge&expand[]=payment_intent"
        ))
        .await;
    }

    // Errors of every kind.
    f.get("/v1/checkout/sessions/cs_test_nope").await;
    f.post("/v1/products", &[("nmae", "typo")]).await;
    f.get("/v1/nothing_here").await;
    let unauthorized = t.send(t.anonymous(Method::GET, "/v1/products")).await;
    f.checker
        .answer("GET /v1/products without a key", &unauthorized.body);
    let first = t
        .post_idempotent("/v1/products", "key-1", &[("name", "A")])
        .await;
    f.checker
        .answer("POST /v1/products (idempotent)", &first.body);
    let mismatch = t
        .post_idempotent("/v1/products", "key-1", &[("name", "B")])
        .await;
    f.checker
        .answer("POST /v1/products (idempotency mismatch)", &mismatch.body);

    // Events, as the API lists them and as webhooks deliver them.
    for event in f.walk("/v1/events").await {
        let id = str_of(&event["id"]);
        f.get(&format!("/v1/events/{id}")).await;
    }
    assert!(
        t.sim
            .wait_for_deliveries(std::time::Duration::from_secs(10))
            .await
    );
    f.delete(&format!("/v1/webhook_endpoints/{endpoint_id}"))
        .await;
    let deliveries = receiver.received_requests().await.unwrap();
    for delivery in &deliveries {
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        f.checker
            .answer(&format!("webhook {}", body["type"]), &body);
    }

    // Assert: every kind of object was reached, and none broke the types.
    let expected = [
        "checkout.session",
        "payment_link",
        "product",
        "price",
        "customer",
        "payment_intent",
        "payment_method",
        "charge",
        "refund",
        "item",
        "event",
        "webhook_endpoint",
        "deleted:webhook_endpoint",
        "list",
        "error",
    ];
    for kind in expected {
        assert!(
            f.checker.seen.contains(kind),
            "the flow never rendered a {kind}"
        );
    }
    assert!(!deliveries.is_empty(), "no webhook was delivered");
    let problems: Vec<String> = f
        .checker
        .problems
        .iter()
        .map(|(p, (n, first))| format!("  {p} ({n}×, first in {first})"))
        .collect();
    assert!(
        problems.is_empty(),
        "{} fields do not fit stripe-node {}'s types:\n{}",
        problems.len(),
        extract()["stripe_node"],
        problems.join("\n")
    );
}

#[test]
fn the_extract_comes_from_the_pinned_sdk_and_lists_the_published_versions() {
    let e = extract();
    assert_eq!(e["stripe_node"], "23.1.0");
    assert_eq!(e["api_version"], stripe_sim::DEFAULT_API_VERSION);
    assert!(e["types"].as_object().unwrap().len() > 100);
}

#[tokio::test]
async fn the_check_catches_a_missing_field_a_forbidden_null_an_unknown_field_and_a_bad_enum() {
    // Arrange: a product as the simulator renders it, then broken four ways.
    let t = common::start().await;
    let product = t.create_product("Checked").await;
    let mut broken = product.clone();
    broken.as_object_mut().unwrap().remove("created");
    broken["livemode"] = Value::Null;
    broken["surprise"] = json!(1);
    broken["type"] = json!("subscription_plan");

    // Act
    let mut clean = Checker::default();
    clean.answer("the product", &product);
    let mut checker = Checker::default();
    checker.answer("the broken product", &broken);

    // Assert
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    let found: Vec<&str> = checker.problems.keys().map(String::as_str).collect();
    assert_eq!(
        found,
        [
            "product.created: missing, but always present",
            "product.livemode: null, but never null",
            "product.surprise: a field the types do not know",
            "product.type: `subscription_plan` is not a value the types list \
             (an open enum: the SDK keeps it as an unknown value)",
        ]
    );
}
