//! The dashboard in a real browser (headless Chromium through chromedriver and fantoccini): a
//! session and its events appear live on an open page, an event is resent from the events page,
//! and a SEPA payment settles when the clock is advanced from the overview. Screenshots at
//! desktop and phone widths go to `target/screenshots/dashboard-*.png`.
//!
//! Without Chromium and chromedriver the tests print why and pass (`cargo test` needs only the
//! Rust toolchain); `STRIPE_SIM_BROWSER=required` (set by `.ci/run`) makes them mandatory.
//!
//! The README's screenshot is made by an ignored test:
//! `cargo test -p stripe-sim --test browser_dashboard -- --ignored readme_screenshot`
//! writes `docs/screenshots/dashboard.png`.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use browser::Browser;
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

    // A day passes, from the overview's button.
    browser.goto(&t.sim.dashboard_url()).await;
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
        .contains("2026-01-02 00:00:00"));
    browser.screenshots("dashboard-overview").await;

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
async fn readme_screenshot() {
    let Some(browser) = Browser::start("readme_screenshot").await else {
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

/// A headless Chromium for these tests.
///
/// A copy of the minimum of `tests/common/browser.rs` (the shared browser helper, made on the
/// `hosted` branch and not merged when this was written): once it is, these tests should use
/// `common::browser::Browser` and this module should go.
mod browser {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use base64::Engine;
    use fantoccini::elements::Element;
    use fantoccini::wd::WebDriverCompatibleCommand;
    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::{json, Value};

    const REQUIRED_VAR: &str = "STRIPE_SIM_BROWSER";
    const DESKTOP: (u32, u32) = (1280, 900);
    const PHONE: (u32, u32) = (390, 844);

    fn executable(names: &[&str]) -> Option<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        dirs.push(PathBuf::from("/usr/bin"));
        names.iter().find_map(|name| {
            dirs.iter().map(|d| d.join(name)).find(|p| {
                std::fs::metadata(p).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.is_file() && m.permissions().mode() & 0o111 != 0
                })
            })
        })
    }

    fn installed() -> Result<(PathBuf, PathBuf), String> {
        let chromedriver = executable(&["chromedriver"]).ok_or(
            "no chromedriver on the PATH or in /usr/bin (apt-get install -y chromium-driver)",
        )?;
        let chromium = executable(&[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ])
        .ok_or("no Chromium on the PATH or in /usr/bin (apt-get install -y chromium)")?;
        Ok((chromedriver, chromium))
    }

    fn screenshot_dir() -> PathBuf {
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        };
        let dir = target.join("screenshots");
        std::fs::create_dir_all(&dir).expect("target/screenshots");
        dir
    }

    pub struct Browser {
        client: Client,
        driver: Driver,
        session: Option<String>,
    }

    struct Driver {
        child: Child,
        port: u16,
    }

    impl Drop for Driver {
        fn drop(&mut self) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }

    impl Browser {
        /// A browser at desktop size, or `None` (the reason printed) when Chromium or
        /// chromedriver is missing and `STRIPE_SIM_BROWSER` is not `required`.
        pub async fn start(test: &str) -> Option<Browser> {
            let (chromedriver, chromium) = match installed() {
                Ok(found) => found,
                Err(reason) if std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "required") => {
                    panic!("{REQUIRED_VAR}=required, but {reason}")
                }
                Err(reason) => {
                    eprintln!("skipped {test}: {reason}");
                    return None;
                }
            };
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let child = Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts");
            let driver = Driver { child, port };
            let client = connect(port, &chromium).await;
            let mut browser = Browser {
                client,
                driver,
                session: None,
            };
            browser.session = browser.client.session_id().await.ok().flatten();
            browser.set_size(DESKTOP, false).await;
            Some(browser)
        }

        pub async fn goto(&self, url: &str) {
            self.client
                .goto(url)
                .await
                .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        }

        pub async fn find(&self, css: &str) -> Element {
            self.client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("no element {css}: {e}"))
        }

        pub async fn type_into(&self, css: &str, text: &str) {
            let field = self.find(css).await;
            field.clear().await.ok();
            field
                .send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
        }

        pub async fn execute(&self, script: &str) -> Value {
            self.client
                .execute(script, vec![])
                .await
                .unwrap_or_else(|e| panic!("running a script: {e}"))
        }

        async fn cdp(&self, cmd: &str, params: Value) -> Value {
            self.client
                .issue_cmd(Cdp {
                    cmd: cmd.to_string(),
                    params,
                })
                .await
                .unwrap_or_else(|e| panic!("{cmd}: {e}"))
        }

        async fn set_size(&self, (width, height): (u32, u32), mobile: bool) {
            self.cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": if mobile { 2 } else { 1 }, "mobile": mobile}),
            )
            .await;
        }

        /// What the window shows, to `target/screenshots/{file}.png`.
        pub async fn screenshot(&self, file: &str) -> PathBuf {
            let png = self.client.screenshot().await.expect("screenshot");
            save(file, &png)
        }

        async fn full_page_screenshot(&self, file: &str) -> PathBuf {
            let shot = self
                .cdp(
                    "Page.captureScreenshot",
                    json!({"format": "png", "captureBeyondViewport": true}),
                )
                .await;
            let png = base64::engine::general_purpose::STANDARD
                .decode(shot["data"].as_str().unwrap_or_default())
                .expect("a base64 PNG");
            save(file, &png)
        }

        /// `target/screenshots/{name}-desktop.png` (the window) and `{name}-phone.png` (the
        /// whole page at 390 px).
        pub async fn screenshots(&self, name: &str) {
            self.set_size(DESKTOP, false).await;
            self.screenshot(&format!("{name}-desktop")).await;
            self.set_size(PHONE, true).await;
            self.full_page_screenshot(&format!("{name}-phone")).await;
            self.set_size(DESKTOP, false).await;
        }

        pub async fn close(mut self) {
            let client = self.client.clone();
            if client.close().await.is_ok() {
                self.session = None;
            }
        }
    }

    impl Drop for Browser {
        fn drop(&mut self) {
            // Asks chromedriver directly (the runtime may be ending), so it closes Chromium
            // before it is killed.
            if let Some(session) = self.session.take() {
                let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.driver.port)) else {
                    return;
                };
                stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let request = format!(
                    "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let mut answer = Vec::new();
                    stream.read_to_end(&mut answer).ok();
                }
            }
        }
    }

    async fn connect(port: u16, chromium: &Path) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--window-size=1280,1040",
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return client,
                Err(e) if started.elapsed() > Duration::from_secs(20) => {
                    panic!("no WebDriver session from chromedriver at {url} after 20 s: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn save(file: &str, png: &[u8]) -> PathBuf {
        let path = screenshot_dir().join(format!("{file}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// chromedriver's `goog/cdp/execute`: one DevTools command.
    #[derive(Debug)]
    struct Cdp {
        cmd: String,
        params: Value,
    }

    impl WebDriverCompatibleCommand for Cdp {
        fn endpoint(
            &self,
            base_url: &url::Url,
            session_id: Option<&str>,
        ) -> Result<url::Url, url::ParseError> {
            base_url.join(&format!(
                "session/{}/goog/cdp/execute",
                session_id.unwrap_or_default()
            ))
        }

        fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
            let body = json!({"cmd": self.cmd, "params": self.params});
            (axum::http::Method::POST, Some(body.to_string()))
        }
    }
}
