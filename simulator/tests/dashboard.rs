//! The dashboard over plain HTTP: who may see it, CSRF on every button, what each button does
//! (through the control layer), escaping, and the live stream.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{receiver, start, str_of, Resp, TestSim};
use reqwest::Method;
use serde_json::json;
use stripe_sim::{DeliveryMode, EndpointSpec, EventType, FaultKind, SessionId};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DASHBOARD: &str = "/_sim/dashboard";

/// A browser-like client of the dashboard: its login cookie and the CSRF token of its pages.
struct Browser<'a> {
    t: &'a TestSim,
    cookie: String,
}

impl<'a> Browser<'a> {
    /// Logs in through the form.
    async fn login(t: &'a TestSim) -> Browser<'a> {
        let answer = login(t, &t.key).await;
        assert_eq!(answer.status, 303, "{}", answer.text);
        let cookie = answer
            .header("set-cookie")
            .expect("a login cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        Browser { t, cookie }
    }

    async fn get(&self, path: &str) -> Resp {
        self.t
            .send(
                self.t
                    .anonymous(Method::GET, path)
                    .header("cookie", &self.cookie),
            )
            .await
    }

    /// A page, after checking it is a 200 HTML page.
    async fn page(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert!(
            page.header("content-type")
                .unwrap_or_default()
                .starts_with("text/html"),
            "{path} is not HTML"
        );
        page.text
    }

    /// The CSRF token on the overview.
    async fn csrf(&self) -> String {
        csrf_of(&self.page(DASHBOARD).await)
    }

    /// Presses a button: POSTs `fields` and the CSRF token to `path`; answers the 303's notice.
    async fn press(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let token = self.csrf().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let answer = self.post(path, &all).await;
        assert_eq!(answer.status, 303, "{path}: {}", answer.text);
        notice_of(answer.header("location").expect("a Location"))
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        self.t
            .send(
                self.t
                    .anonymous(Method::POST, path)
                    .header("cookie", &self.cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(common::encode(fields)),
            )
            .await
    }
}

async fn login(t: &TestSim, key: &str) -> Resp {
    t.send(
        t.anonymous(Method::POST, &format!("{DASHBOARD}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(common::encode(&[("key", key), ("next", DASHBOARD)])),
    )
    .await
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

/// The notice a redirect after an action carries.
fn notice_of(location: &str) -> String {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("notice="))
        .map(|n| {
            percent_encoding::percent_decode_str(&n.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default()
}

/// A simulator with a webhook endpoint answering 200.
async fn with_endpoint() -> (TestSim, MockServer, String) {
    let t = start().await;
    let hook = receiver(200).await;
    let endpoint = t
        .sim
        .add_webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri())))
        .unwrap();
    (t, hook, endpoint.id.to_string())
}

fn sid(id: &str) -> SessionId {
    SessionId::parse(id).unwrap()
}

// ----- who may see it -----

#[tokio::test]
async fn without_the_key_the_dashboard_answers_401_with_a_login_page_not_a_json_envelope() {
    let t = start().await;

    let page = t.send(t.anonymous(Method::GET, DASHBOARD)).await;

    assert_eq!(page.status, 401);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text.contains(r#"name="key""#), "{}", page.text);
    assert!(page.body.is_null(), "rewritten into JSON: {}", page.text);
    assert!(
        page.header("www-authenticate").is_none(),
        "no browser pop-up"
    );
}

#[tokio::test]
async fn the_login_form_sets_a_cookie_that_opens_every_page() {
    let t = start().await;

    let answer = login(&t, &t.key).await;

    let cookie = answer.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(answer.header("location"), Some(DASHBOARD));
    let browser = Browser::login(&t).await;
    let overview = browser.page(DASHBOARD).await;
    assert!(
        overview.contains("Overview") && overview.contains(">42<"),
        "the seed is shown"
    );
    let policy = browser.get(DASHBOARD).await;
    let policy = policy.header("content-security-policy").unwrap();
    assert!(
        policy.contains("script-src 'sha256-"),
        "only its own script: {policy}"
    );
    for page in ["/sessions", "/events", "/webhooks", "/tail"] {
        browser.page(&format!("{DASHBOARD}{page}")).await;
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_at_the_login_form_without_a_cookie() {
    let t = start().await;

    let answer = login(&t, "sk_test_guessed").await;

    assert_eq!(answer.status, 401);
    assert!(answer.header("set-cookie").is_none());
    assert!(
        answer.text.contains("not this simulator"),
        "{}",
        answer.text
    );
    let forged = t
        .send(t.anonymous(Method::GET, DASHBOARD).header(
            "cookie",
            "stripe_sim_dashboard=00000000000000000000000000000000",
        ))
        .await;
    assert_eq!(forged.status, 401);
}

#[tokio::test]
async fn http_basic_with_the_key_as_user_name_opens_it_as_curl_u_does() {
    let t = start().await;

    let ok = t
        .send(
            t.anonymous(Method::GET, DASHBOARD)
                .basic_auth(&t.key, Some("")),
        )
        .await;
    let wrong = t
        .send(
            t.anonymous(Method::GET, DASHBOARD)
                .basic_auth("sk_test_other", Some("")),
        )
        .await;

    assert_eq!(ok.status, 200);
    assert!(
        !ok.text.contains("Log out"),
        "nothing to log out of with Basic"
    );
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn logging_out_forgets_the_login() {
    let t = start().await;
    let browser = Browser::login(&t).await;

    browser.press(&format!("{DASHBOARD}/logout"), &[]).await;

    assert_eq!(browser.get(DASHBOARD).await.status, 401);
}

#[tokio::test]
async fn a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let before = t.sim.now();
    let advance = format!("{DASHBOARD}/clock/advance");

    let missing = browser.post(&advance, &[("seconds", "60")]).await;
    let wrong = browser
        .post(&advance, &[("seconds", "60"), ("csrf", &"0".repeat(64))])
        .await;
    let basic_token = csrf_of(
        &t.send(
            t.anonymous(Method::GET, DASHBOARD)
                .basic_auth(&t.key, Some("")),
        )
        .await
        .text,
    );
    let other_login = browser
        .post(&advance, &[("seconds", "60"), ("csrf", &basic_token)])
        .await;
    let basic_without = t
        .send(
            t.anonymous(Method::POST, &advance)
                .basic_auth(&t.key, Some(""))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("seconds=60"),
        )
        .await;

    for refused in [&missing, &wrong, &other_login, &basic_without] {
        assert_eq!(refused.status, 403, "{}", refused.text);
        assert!(refused
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(refused.text.contains("CSRF"), "{}", refused.text);
    }
    assert_eq!(t.sim.now(), before);
}

#[tokio::test]
async fn a_form_over_the_body_limit_is_refused() {
    let t = start().await;
    let browser = Browser::login(&t).await;

    let answer = browser
        .post(
            &format!("{DASHBOARD}/clock/advance"),
            &[("seconds", &"1".repeat(300 * 1024))],
        )
        .await;

    assert_eq!(answer.status, 413);
}

// ----- the buttons -----

#[tokio::test]
async fn the_clock_buttons_advance_simulator_time() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let start_time = t.sim.now();
    let advance = format!("{DASHBOARD}/clock/advance");

    let notice = browser.press(&advance, &[("seconds", "86400")]).await;
    browser
        .press(&advance, &[("amount", "2"), ("unit", "h")])
        .await;
    let refused = browser.press(&advance, &[("seconds", "-5")]).await;

    assert!(notice.starts_with("Clock advanced by 86400 s"), "{notice}");
    assert_eq!(t.sim.now(), start_time + 86_400 + 7_200);
    assert!(refused.starts_with("Not done:"), "{refused}");
    assert!(browser
        .page(DASHBOARD)
        .await
        .contains("2026-01-02 02:00:00"));
}

#[tokio::test]
async fn a_session_is_listed_and_paid_with_a_card_from_its_page() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let session = t.open_session().await;
    let page = format!("{DASHBOARD}/sessions/{session}");

    let list = browser.page(&format!("{DASHBOARD}/sessions")).await;
    let declined = browser
        .press(
            &format!("{page}/pay"),
            &[("method", "card:4000000000009995")],
        )
        .await;
    let paid = browser
        .press(
            &format!("{page}/pay"),
            &[
                ("method", "card:4242424242424242"),
                ("email", "buyer@example.com"),
            ],
        )
        .await;

    assert!(list.contains(&session) && list.contains("USD 199.00"));
    assert!(declined.contains("insufficient funds"), "{declined}");
    assert!(paid.contains("complete"), "{paid}");
    let view = t.sim.session(&sid(&session)).unwrap();
    assert_eq!(view.payment_status.as_str(), "paid");
    assert_eq!(view.customer_email.as_deref(), Some("buyer@example.com"));
    let detail = browser.page(&page).await;
    assert!(detail.contains("buyer@example.com") && detail.contains("pi_"));
    assert!(detail.contains("checkout.session.completed"));
}

#[tokio::test]
async fn a_sepa_payment_made_from_the_dashboard_settles_when_the_clock_is_advanced_there() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let session = t.open_eur_session().await;

    browser
        .press(
            &format!("{DASHBOARD}/sessions/{session}/pay"),
            &[("method", "sepa_debit:DE89370400440532013000")],
        )
        .await;
    let unpaid = t.sim.session(&sid(&session)).unwrap().payment_status;
    browser
        .press(
            &format!("{DASHBOARD}/clock/advance"),
            &[("seconds", "86400")],
        )
        .await;

    assert_eq!(unpaid.as_str(), "unpaid");
    assert_eq!(
        t.sim
            .session(&sid(&session))
            .unwrap()
            .payment_status
            .as_str(),
        "paid"
    );
    assert_eq!(
        t.sim
            .events_of_type(EventType::CheckoutSessionAsyncPaymentSucceeded)
            .len(),
        1
    );
}

#[tokio::test]
async fn the_expire_button_expires_an_open_session_and_only_an_open_one() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let session = t.open_session().await;
    let expire = format!("{DASHBOARD}/sessions/{session}/expire");

    let first = browser.press(&expire, &[]).await;
    let again = browser.press(&expire, &[]).await;

    assert_eq!(first, "Expired.");
    assert!(again.starts_with("Not done:"), "{again}");
    assert_eq!(
        t.sim.session(&sid(&session)).unwrap().status.as_str(),
        "expired"
    );
}

#[tokio::test]
async fn refunds_from_the_dashboard_are_partial_then_full() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let (session, _, charge) = t.paid_with("4242424242424242").await;
    let refund = format!("{DASHBOARD}/sessions/{session}/refund");

    let partial = browser.press(&refund, &[("amount", "5000")]).await;
    let rest = browser.press(&refund, &[]).await;
    let too_much = browser.press(&refund, &[("amount", "1")]).await;

    assert_eq!(partial, "Refunded USD 50.00 (succeeded).");
    assert_eq!(rest, "Refunded USD 149.00 (succeeded).");
    assert!(too_much.starts_with("Not done:"), "{too_much}");
    let charge = t.charge(&charge).await;
    assert_eq!(charge["amount_refunded"], 19900);
    assert_eq!(charge["refunded"], true);
    assert!(browser
        .page(&format!("{DASHBOARD}/sessions/{session}"))
        .await
        .contains("re_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_and_duplicate_deliver_again_and_the_events_page_shows_each_attempt() {
    let (t, hook, endpoint) = with_endpoint().await;
    let browser = Browser::login(&t).await;
    t.paid_session().await;
    assert!(t.sim.wait_for_deliveries(Duration::from_secs(10)).await);
    let completed = t.sim.events_of_type(EventType::CheckoutSessionCompleted)[0]
        .id
        .clone();
    let received = hook.received_requests().await.unwrap().len();

    let resent = browser
        .press(&format!("{DASHBOARD}/events/{completed}/resend"), &[])
        .await;
    let duplicated = browser
        .press(&format!("{DASHBOARD}/events/{completed}/duplicate"), &[])
        .await;
    assert!(t.sim.wait_for_deliveries(Duration::from_secs(10)).await);

    assert_eq!(resent, format!("Resent {completed}: 200."));
    assert!(duplicated.starts_with("Sent evt_"), "{duplicated}");
    assert_eq!(hook.received_requests().await.unwrap().len(), received + 2);
    let completed_events = t.sim.events_of_type(EventType::CheckoutSessionCompleted);
    assert_eq!(completed_events.len(), 2);
    let page = browser
        .page(&format!(
            "{DASHBOARD}/events?type=checkout.session.completed"
        ))
        .await;
    assert!(page.contains(completed.as_str()) && page.contains(completed_events[1].id.as_str()));
    assert!(page.contains(&endpoint));
    assert!(
        page.contains("t=") && page.contains(",v1="),
        "the signature header is shown"
    );
    assert!(page.contains(">resend<"), "the resend is marked");
    assert!(
        !page.contains(r#"<strong class="mono">payment_intent.created</strong>"#),
        "filtered by type"
    );
}

#[tokio::test]
async fn events_are_filtered_by_the_object_they_are_about() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let first = str_of(&t.paid_session().await["id"]);
    let second = str_of(&t.paid_session().await["id"]);

    let page = browser
        .page(&format!("{DASHBOARD}/events?object={first}"))
        .await;

    assert!(page.contains(&first));
    assert!(
        !page.contains(&format!(">{second}<")),
        "the other session's events are out"
    );
}

/// The event ids a release notice lists, in order.
fn released(notice: &str) -> Vec<String> {
    notice
        .split_once(": ")
        .map(|(_, ids)| ids.trim_end_matches('.'))
        .unwrap_or_default()
        .split(", ")
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_deliveries_are_released_in_order_reversed_or_shuffled() {
    let (t, _hook, _) = with_endpoint().await;
    let browser = Browser::login(&t).await;
    let webhooks = format!("{DASHBOARD}/webhooks");

    browser
        .press(&format!("{webhooks}/mode"), &[("mode", "hold")])
        .await;
    assert_eq!(t.sim.delivery_status().mode, DeliveryMode::Hold);
    let mut orders = Vec::new();
    for order in ["as_is", "reverse", "shuffle"] {
        t.paid_session().await;
        let held: Vec<String> = t
            .sim
            .deliveries(&Default::default())
            .into_iter()
            .filter(|r| r.status.to_string() == "held")
            .map(|r| r.event_id.to_string())
            .collect();
        assert!(
            browser.page(&webhooks).await.contains(&held[0]),
            "held ones are listed"
        );
        let notice = browser
            .press(
                &format!("{webhooks}/release"),
                &[("order", order), ("seed", "7")],
            )
            .await;
        orders.push((held, released(&notice)));
    }

    let (held, as_is) = &orders[0];
    assert_eq!(as_is, held);
    let (held, reversed) = &orders[1];
    assert_eq!(reversed, &held.iter().rev().cloned().collect::<Vec<_>>());
    let (held, shuffled) = &orders[2];
    let mut sorted = shuffled.clone();
    sorted.sort();
    let mut expected = held.clone();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(t.sim.delivery_status().held, 0);
}

#[tokio::test]
async fn a_fault_added_with_the_form_waits_and_a_meaningless_one_is_refused() {
    let (t, _hook, endpoint) = with_endpoint().await;
    let browser = Browser::login(&t).await;
    let faults = format!("{DASHBOARD}/webhooks/faults");

    let added = browser
        .press(
            &faults,
            &[
                ("fault", "drop"),
                ("count", "2"),
                ("event_type", "checkout.session.*"),
                ("endpoint", &endpoint),
            ],
        )
        .await;
    let refused = browser.press(&faults, &[("fault", "delay")]).await;

    assert_eq!(added, "Fault added: drop.");
    assert!(refused.starts_with("Not done:"), "{refused}");
    let pending = t.sim.faults();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].fault, FaultKind::Drop);
    assert_eq!(pending[0].count, 2);
    assert!(browser
        .page(&format!("{DASHBOARD}/webhooks"))
        .await
        .contains("checkout.session.*"));
    browser.press(&format!("{faults}/clear"), &[]).await;
    assert!(t.sim.faults().is_empty());
}

#[tokio::test]
async fn endpoints_are_disabled_enabled_and_their_secret_rolled() {
    let (t, _hook, endpoint) = with_endpoint().await;
    let browser = Browser::login(&t).await;
    let path = format!("{DASHBOARD}/webhooks/endpoints/{endpoint}");
    let secret = t.sim.webhook_endpoints()[0].secret.clone();

    browser
        .press(&format!("{path}/enabled"), &[("enabled", "false")])
        .await;
    let disabled = t.sim.webhook_endpoints()[0].status;
    browser
        .press(&format!("{path}/enabled"), &[("enabled", "true")])
        .await;
    let rolled = browser
        .press(&format!("{path}/roll"), &[("expires_in", "3600")])
        .await;

    assert_eq!(disabled, "disabled");
    let now = &t.sim.webhook_endpoints()[0];
    assert_eq!(now.status, "enabled");
    assert_ne!(now.secret, secret);
    assert!(rolled.contains("2026-01-01 01:00:00"), "{rolled}");
    let overview = browser.page(DASHBOARD).await;
    assert!(
        overview.contains("<details") && overview.contains(&now.secret),
        "behind a details"
    );
}

// ----- escaping -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_from_the_store_and_from_endpoints_are_escaped() {
    let t = start().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500).set_body_string("<script>alert('answer')</script>"),
        )
        .mount(&hook)
        .await;
    t.sim
        .add_webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri())))
        .unwrap();
    let price = t
        .price("<script>alert('product')</script>", 1000, "usd")
        .await;
    let session = t
        .create_session(&[
            ("line_items[0][price]", &price),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", "<script>alert('ref')</script>"),
            ("customer_email", "x@example.com"),
            ("metadata[note]", "<img src=x onerror=alert('meta')>"),
        ])
        .await;
    let session = session.id();
    t.pay(&session, json!({"card": "4242424242424242"}))
        .await
        .ok();
    assert!(t.sim.wait_for_deliveries(Duration::from_secs(10)).await);
    let browser = Browser::login(&t).await;

    for path in [
        format!("{DASHBOARD}/sessions"),
        format!("{DASHBOARD}/sessions/{session}"),
        format!("{DASHBOARD}/events"),
        format!("{DASHBOARD}/tail"),
    ] {
        let page = browser.page(&path).await;
        for raw in ["<script>alert", "<img src=x"] {
            assert!(!page.contains(raw), "{path} shows {raw} unescaped");
        }
    }
    let events = browser.page(&format!("{DASHBOARD}/events")).await;
    assert!(
        events.contains("&lt;script&gt;alert('answer')"),
        "the answer is shown, escaped"
    );
    let detail = browser
        .page(&format!("{DASHBOARD}/sessions/{session}"))
        .await;
    assert!(
        detail.contains("&lt;script&gt;alert('ref')"),
        "the reference is shown, escaped"
    );
}

#[tokio::test]
async fn a_notice_in_a_link_is_shown_only_when_the_dashboard_signed_it() {
    let t = start().await;
    let browser = Browser::login(&t).await;

    let page = browser
        .page(&format!(
            "{DASHBOARD}?notice=Your+key+expired%2C+go+to+evil.example&sig=00"
        ))
        .await;

    assert!(!page.contains("evil.example"));
}

// ----- live -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_tells_of_a_paid_session_and_its_delivery_attempts() {
    let (t, _hook, endpoint) = with_endpoint().await;
    let browser = Browser::login(&t).await;
    let mut stream = t
        .http
        .get(t.url(&format!("{DASHBOARD}/live")))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));

    let session = str_of(&t.paid_session().await["id"]);

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains("checkout.session.completed") && seen.contains("event: attempt")) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("notices within 10 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: event"), "{seen}");
    assert!(
        seen.contains(&session),
        "the event names its object: {seen}"
    );
    assert!(
        seen.contains(&endpoint) && seen.contains("<-- [200]"),
        "{seen}"
    );
}

#[tokio::test]
async fn the_live_stream_needs_the_key_too() {
    let t = start().await;

    let anonymous = t
        .send(t.anonymous(Method::GET, &format!("{DASHBOARD}/live")))
        .await;

    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn a_driver_can_subscribe_to_notices_through_the_control_layer() {
    let t = start().await;
    let mut feed = t.sim.subscribe();

    t.paid_session().await;

    let mut types = Vec::new();
    while types.len() < 4 {
        match tokio::time::timeout(Duration::from_secs(5), feed.next()).await {
            Ok(Some(stripe_sim::Notice::Event { event_type, .. })) => types.push(event_type),
            Ok(Some(_)) => {}
            other => panic!("no notice: {other:?}"),
        }
    }
    assert!(
        types.contains(&EventType::CheckoutSessionCompleted),
        "{types:?}"
    );
}

#[tokio::test]
async fn the_live_stream_tells_of_a_clock_advance() {
    let t = start().await;
    let browser = Browser::login(&t).await;
    let mut stream = t
        .http
        .get(t.url(&format!("{DASHBOARD}/live")))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();

    t.sim.advance(3600).unwrap();

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: clock") || !seen.contains("\n\n") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a notice within 10 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("2026-01-01 01:00:00"), "{seen}");
}

#[tokio::test]
async fn a_driver_changing_how_webhooks_are_delivered_is_a_notice_for_open_pages() {
    let t = start().await;
    let mut feed = t.sim.subscribe();

    t.sim.set_delivery_mode(stripe_sim::DeliveryMode::Hold);
    t.sim.clear_faults();

    let mut changes = Vec::new();
    while changes.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), feed.next()).await {
            Ok(Some(stripe_sim::Notice::Webhooks { change, .. })) => changes.push(change),
            Ok(Some(_)) => {}
            other => panic!("no notice: {other:?}"),
        }
    }
    assert_eq!(changes, ["deliveries held", "faults cleared"]);
}
