//! Every route against every kind of bad input: malformed encodings, deep nesting, huge and
//! negative numbers, wrong types, non-UTF-8 bytes (body and query), oversize bodies, missing and
//! wrong keys, odd methods. After each request: never a 5xx, the server still answers
//! `/_sim/health`, and a refusal (4xx other than a card decline, which is a real outcome) changed
//! nothing: the events, sessions, endpoints, deliveries and clock read the same before and after.
//!
//! It prints how many requests it sent (the README's reliability figures come from it).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Instant;

use common::{str_of, TestSim};
use reqwest::Method;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A world with something in every collection, and its one webhook endpoint disabled, so that
/// nothing changes on its own (no delivery attempts) while the sweep runs.
struct World {
    t: TestSim,
    ids: Ids,
}

struct Ids {
    customer: String,
    product: String,
    price: String,
    link: String,
    token: String,
    open_session: String,
    paid_session: String,
    intent: String,
    charge: String,
    refund: String,
    event: String,
    endpoint: String,
}

async fn world() -> World {
    let t = common::start_with_seed(1234).await;
    let customer = t
        .post("/v1/customers", &[("email", "ada@example.com")])
        .await
        .id();
    let price = t.price("Sweater", 5000, "usd").await;
    let product = str_of(&t.object(&format!("/v1/prices/{price}")).await["product"]);
    let link = t
        .create_link(
            &price,
            &[
                ("after_completion[type]", "redirect"),
                (
                    "after_completion[redirect][url]",
                    "https://example.com/ok?s={CHECKOUT_SESSION_ID}",
                ),
            ],
        )
        .await;
    let token = str_of(&link["url"]).rsplit('/').next().unwrap().to_string();
    let link = str_of(&link["id"]);
    let open_session = str_of(&t.visit(&link, Some("order_1")).await["id"]);
    let (paid_session, intent, charge) = t.paid_with("4242424242424242").await;
    let refund = t
        .post("/v1/refunds", &[("charge", &charge), ("amount", "100")])
        .await
        .id();
    let endpoint = t
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "http://127.0.0.1:9/hook"),
                ("enabled_events[0]", "*"),
            ],
        )
        .await
        .id();
    t.post(
        &format!("/v1/webhook_endpoints/{endpoint}"),
        &[("disabled", "true")],
    )
    .await
    .ok();
    let event = str_of(&t.list_all("/v1/events").await[0]["id"]);
    World {
        t,
        ids: Ids {
            customer,
            product,
            price,
            link,
            token,
            open_session,
            paid_session,
            intent,
            charge,
            refund,
            event,
            endpoint,
        },
    }
}

/// What a refused request must leave as it was: the newest event (every object created or
/// changed through the API emits one), the newest session (their creation emits none), the
/// webhook endpoints with their secrets, the delivery log's length and the clock. Cheap enough to
/// read after every request.
async fn digest(t: &TestSim) -> String {
    let newest = |path: &'static str| async move {
        let page = t.get_with(path, &[("limit", "1")]).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        page.body["data"][0].to_string()
    };
    let endpoints: Vec<_> = t
        .sim
        .webhook_endpoints()
        .into_iter()
        .map(|e| (t.sim.object(&e.id), e.secret))
        .collect();
    format!(
        "{}|{}|{endpoints:?}|{}|{}",
        newest("/v1/events").await,
        newest("/v1/checkout/sessions").await,
        t.sim.delivery_count(),
        t.sim.now()
    )
}

/// How many of the first payloads (the malformed encodings and nesting) also go in the query
/// string of routes that take a body.
const QUERY_TOO: usize = 12;

/// Bad payloads, each usable as a query string or a body (bytes: some are not UTF-8).
fn payloads() -> Vec<(String, Vec<u8>)> {
    let text = |name: &str, s: &str| (name.to_string(), s.as_bytes().to_vec());
    let mut all = vec![
        // Malformed encodings.
        text("lone percent", "%"),
        text("bad escape", "a=%zz&%G0=1"),
        text("half a bracket", "a%5Bb=1"),
        text("empties", "&&&=&=1&[]=1"),
        text("stray brackets", "a]=1&a[b=1&a[]b=1&[x]=1"),
        text("conflict", "metadata=1&metadata[k]=v"),
        text("list and hash", "a[]=1&a[x]=2"),
        text("nested appends", "line_items[][]=1"),
        // Deep nesting.
        text("deep nesting", &format!("x{}=1", "[a]".repeat(10_000))),
        text("just too deep", &format!("metadata{}=1", "[a]".repeat(17))),
        text("huge index", "line_items[99999999999999999999][price]=x"),
        text("many params", &"k=v&".repeat(5_000)),
        text("long key", &format!("{}=1", "k".repeat(2_000))),
        // Huge and negative numbers.
        text(
            "huge numbers",
            "amount=99999999999999999999999&unit_amount=1e999&limit=1000000000000&quantity=18446744073709551616",
        ),
        text(
            "negative numbers",
            "amount=-1&unit_amount=-5&limit=-5&quantity=-1&expires_at=-9999999999999&created[gte]=-1",
        ),
        text(
            "line item extremes",
            "mode=payment&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=99999999999&line_items[0][price_data][product_data][name]=x&line_items[0][quantity]=99999999999",
        ),
        // Wrong types.
        text(
            "wrong types",
            "metadata=string&expand=1&active[]=true&email[x]=y&enabled_events=*&url[]=x&line_items=abc",
        ),
        text("expand junk", "expand[0][x]=1&expand[]=data.nope.nope"),
        text("unknown params", "nope=1&nope2[a]=b"),
        text(
            "bad urls",
            "url=javascript:alert(1)&success_url=ftp://x&after_completion[type]=redirect&after_completion[redirect][url]=%01",
        ),
        // Non-UTF-8.
        ("raw non-UTF-8".to_string(), b"name=\xff\xfe\xfd&email=\xc3\x28".to_vec()),
        text("escaped non-UTF-8", "name=%FF%FE&%C3%28=1"),
        // JSON where a form belongs, and broken JSON where JSON belongs.
        text("broken json", "{\"card\": "),
        text("json wrong types", "{\"card\": {\"number\": 1}, \"seconds\": \"x\", \"order\": 5, \"seed\": -1}"),
        text("json huge numbers", "{\"seconds\": 1e400, \"seed\": 99999999999999999999999, \"count\": -1, \"timeout_ms\": 18446744073709551616}"),
        text("json deep", &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))),
        text("json null", "null"),
        text("json array", "[1,2,3]"),
        text(
            "json unknown fields",
            "{\"fault\": \"nope\", \"forgery\": \"duplicate\", \"order\": \"sideways\", \"url\": \"file:///etc/passwd\"}",
        ),
    ];
    // Oversize: just past the 256 KiB limit, and far past axum's own.
    all.push(text(
        "over 256 KiB",
        &format!("description={}", "a".repeat(300 * 1024)),
    ));
    all.push(text("3 MB", &"a".repeat(3 * 1024 * 1024)));
    all
}

/// Every route: method, path, and whether it takes a body.
fn routes(ids: &Ids) -> Vec<(Method, String)> {
    let get = |p: String| (Method::GET, p);
    let post = |p: String| (Method::POST, p);
    vec![
        post("/v1/customers".into()),
        get("/v1/customers".into()),
        get(format!("/v1/customers/{}", ids.customer)),
        post(format!("/v1/customers/{}", ids.customer)),
        post("/v1/products".into()),
        get("/v1/products".into()),
        get(format!("/v1/products/{}", ids.product)),
        post("/v1/prices".into()),
        get("/v1/prices".into()),
        get(format!("/v1/prices/{}", ids.price)),
        post("/v1/payment_links".into()),
        get("/v1/payment_links".into()),
        get(format!("/v1/payment_links/{}", ids.link)),
        post(format!("/v1/payment_links/{}", ids.link)),
        get(format!("/v1/payment_links/{}/line_items", ids.link)),
        post("/v1/checkout/sessions".into()),
        get("/v1/checkout/sessions".into()),
        get(format!("/v1/checkout/sessions/{}", ids.open_session)),
        post(format!("/v1/checkout/sessions/{}/expire", ids.paid_session)),
        get(format!(
            "/v1/checkout/sessions/{}/line_items",
            ids.open_session
        )),
        get("/v1/payment_intents".into()),
        get(format!("/v1/payment_intents/{}", ids.intent)),
        get("/v1/charges".into()),
        get(format!("/v1/charges/{}", ids.charge)),
        post("/v1/refunds".into()),
        get("/v1/refunds".into()),
        get(format!("/v1/refunds/{}", ids.refund)),
        get("/v1/events".into()),
        get(format!("/v1/events/{}", ids.event)),
        post("/v1/webhook_endpoints".into()),
        get("/v1/webhook_endpoints".into()),
        get(format!("/v1/webhook_endpoints/{}", ids.endpoint)),
        post(format!("/v1/webhook_endpoints/{}", ids.endpoint)),
        get(format!("/b/{}", ids.token)),
        get(format!("/c/pay/{}", ids.open_session)),
        post(format!("/c/pay/{}", ids.open_session)),
        post(format!("/_sim/checkout/sessions/{}/pay", ids.open_session)),
        post(format!("/_sim/payment_links/{}/visit", ids.link)),
        get("/_sim/clock".into()),
        post("/_sim/clock/advance".into()),
        get("/_sim/health".into()),
        get("/_sim/info".into()),
        get("/_sim/webhooks".into()),
        post("/_sim/webhooks/hold".into()),
        post("/_sim/webhooks/auto".into()),
        post("/_sim/webhooks/release".into()),
        get("/_sim/webhooks/faults".into()),
        post("/_sim/webhooks/faults".into()),
        post("/_sim/webhooks/deliver".into()),
        post("/_sim/webhooks/flush".into()),
        get("/_sim/deliveries".into()),
        post(format!("/_sim/events/{}/resend", ids.event)),
        post(format!("/_sim/events/{}/duplicate", ids.event)),
        post(format!(
            "/_sim/webhook_endpoints/{}/roll_secret",
            ids.endpoint
        )),
        (Method::DELETE, "/_sim/webhooks/faults".into()),
        // The dashboard's pages (its live stream never ends, so it is not swept) and a few of
        // its buttons, which refuse the sweep's POSTs for want of a CSRF token.
        get("/_sim/dashboard".into()),
        get("/_sim/dashboard/login".into()),
        post("/_sim/dashboard/login".into()),
        get("/_sim/dashboard/sessions".into()),
        get(format!("/_sim/dashboard/sessions/{}", ids.paid_session)),
        get("/_sim/dashboard/events".into()),
        get("/_sim/dashboard/webhooks".into()),
        get("/_sim/dashboard/tail".into()),
        post("/_sim/dashboard/clock/advance".into()),
        post(format!("/_sim/dashboard/sessions/{}/pay", ids.open_session)),
        post(format!(
            "/_sim/dashboard/sessions/{}/refund",
            ids.paid_session
        )),
        post(format!("/_sim/dashboard/events/{}/resend", ids.event)),
        post("/_sim/dashboard/webhooks/faults".into()),
        (
            Method::DELETE,
            format!("/v1/webhook_endpoints/{}", ids.endpoint),
        ),
        // Last: a reset that goes through forgets the world.
        post("/_sim/reset".into()),
    ]
}

/// The same path with its object id replaced by one that does not exist.
fn unknown_id(path: &str) -> Option<String> {
    let prefixes = [
        "cus_", "prod_", "price_", "plink_", "cs_test_", "pi_", "ch_", "re_", "evt_", "we_",
        "test_",
    ];
    let mut changed = false;
    let parts: Vec<String> = path
        .split('/')
        .map(|part| {
            if prefixes.iter().any(|p| part.starts_with(p)) {
                changed = true;
                let prefix = &part[..part.find('_').unwrap() + 1];
                format!("{prefix}nope")
            } else {
                part.to_string()
            }
        })
        .collect();
    changed.then(|| parts.join("/"))
}

/// A request the sweep sends, with what it is for the failure message.
struct Probe {
    what: String,
    request: reqwest::RequestBuilder,
}

/// Sends one probe and checks the three rules.
async fn check(t: &TestSim, probe: Probe, before: &mut String, sent: &mut usize) {
    *sent += 1;
    let answer = match probe.request.send().await {
        Ok(answer) => answer,
        // A connection closed on a request the server would not read to its end (a 3 MB body
        // after the 413) is an answer too, as long as the server lives.
        Err(e) if !e.is_timeout() => {
            alive(t, &probe.what).await;
            *before = digest(t).await;
            return;
        }
        Err(e) => panic!("{}: {e}", probe.what),
    };
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    assert!(status < 500, "{} answered {status}: {text}", probe.what);
    alive(t, &probe.what).await;
    let after = digest(t).await;
    if (400..500).contains(&status) && status != 402 {
        assert!(
            after == *before,
            "{} was refused ({status}: {text}) but changed the state",
            probe.what
        );
    }
    *before = after;
}

/// The server still answers its health check.
async fn alive(t: &TestSim, after: &str) {
    let health = t
        .http
        .get(t.url("/_sim/health"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("health after {after}: {e}"));
    assert_eq!(health.status(), 200, "health after {after}");
}

/// One raw HTTP/1.1 request on its own connection; answers the status, if any.
async fn raw(t: &TestSim, request: &[u8]) -> Option<u16> {
    let address = t.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(
        read.is_ok(),
        "no answer to {:?}",
        String::from_utf8_lossy(request)
    );
    let line = String::from_utf8_lossy(&answer);
    line.get(9..12).and_then(|s| s.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bad_input_on_any_route_gets_a_5xx_kills_the_server_or_changes_state_when_refused() {
    // Arrange
    let started = Instant::now();
    let World { t, ids } = world().await;
    let payloads = payloads();
    let mut before = digest(&t).await;
    let mut sent = 0usize;

    for (method, path) in routes(&ids) {
        // Act / Assert: every payload in the query of a GET, in the body of anything else
        // (as JSON for the control API, as a form elsewhere); the malformed encodings in the
        // query of those too, and a few in the other content type.
        let takes_body = method != Method::GET;
        let natural = if path.starts_with("/_sim") {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        let other = if natural == "application/json" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        for (index, (name, payload)) in payloads.iter().enumerate() {
            let query = String::from_utf8_lossy(payload).into_owned();
            if (!takes_body || index < QUERY_TOO) && query.len() < 64 * 1024 {
                let probe = Probe {
                    what: format!("{method} {path}?<{name}>"),
                    request: t.request(method.clone(), &format!("{path}?{query}")),
                };
                check(&t, probe, &mut before, &mut sent).await;
            }
            if !takes_body {
                continue;
            }
            let mut types = vec![natural];
            if index % 8 == 0 {
                types.push(other);
            }
            for content_type in types {
                let probe = Probe {
                    what: format!("{method} {path} <{name}> as {content_type}"),
                    request: t
                        .request(method.clone(), &path)
                        .header("content-type", content_type)
                        .body(payload.clone()),
                };
                check(&t, probe, &mut before, &mut sent).await;
            }
        }
        // Missing and wrong keys.
        for auth in [
            None,
            Some("Bearer sk_live_realmoney1234".to_string()),
            Some("Bearer sk_test_wrong".to_string()),
            Some("Basic !!!notbase64".to_string()),
            Some(format!("Bearer {}", "k".repeat(10_000))),
            Some("Bearer".to_string()),
        ] {
            let mut request = t.anonymous(method.clone(), &path);
            if let Some(auth) = &auth {
                request = request.header("authorization", auth);
            }
            let probe = Probe {
                what: format!("{method} {path} with authorization {auth:?}"),
                request,
            };
            check(&t, probe, &mut before, &mut sent).await;
        }
        // Odd methods, an unknown id, odd headers.
        for odd in ["PUT", "PATCH", "OPTIONS", "TRACE", "HEAD", "FOO"] {
            let probe = Probe {
                what: format!("{odd} {path}"),
                request: t.request(Method::from_bytes(odd.as_bytes()).unwrap(), &path),
            };
            check(&t, probe, &mut before, &mut sent).await;
        }
        if let Some(unknown) = unknown_id(&path) {
            let probe = Probe {
                what: format!("{method} {unknown}"),
                request: t.request(method.clone(), &unknown),
            };
            check(&t, probe, &mut before, &mut sent).await;
        }
        let probe = Probe {
            what: format!("{method} {path} with a 1,000-character idempotency key"),
            request: t
                .request(method.clone(), &path)
                .header("idempotency-key", "k".repeat(1_000))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("nope=1"),
        };
        check(&t, probe, &mut before, &mut sent).await;
        // Raw bytes that no HTTP client would send: non-UTF-8 in the path and query, in a header.
        for request in [
            format!("{method} {path}?a=\u{0} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .into_bytes(),
            [
                format!("{method} {path}?name=").as_bytes(),
                b"\xff\xfe",
                b" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            ]
            .concat(),
            [
                format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer ").as_bytes(),
                b"\xff\xfe\r\ncontent-length: 3\r\n\r\na=\xff",
            ]
            .concat(),
            format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: -5\r\n\r\n")
                .into_bytes(),
            format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n")
                .into_bytes(),
        ] {
            sent += 1;
            let status = raw(&t, &request).await;
            assert!(
                status.is_none_or(|s| s < 500),
                "raw {:?} answered {status:?}",
                String::from_utf8_lossy(&request)
            );
            alive(&t, &format!("raw {method} {path}")).await;
            let after = digest(&t).await;
            if status.is_some_and(|s| (400..500).contains(&s) && s != 402) {
                assert!(after == before, "raw {method} {path} was refused but changed the state");
            }
            before = after;
        }
    }

    // The reports.
    println!(
        "bad-input sweep: {sent} requests over {} routes, 0 answered 5xx, the server alive after each, no refusal changed state ({:.1?})",
        routes(&ids).len(),
        started.elapsed()
    );
}
