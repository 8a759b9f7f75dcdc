//! A real browser for tests: headless Chromium driven over WebDriver (Debian's `chromedriver`)
//! with [`fantoccini`].
//!
//! ```ignore
//! mod common;
//! use common::browser::Browser;
//! use fantoccini::Locator;
//!
//! #[tokio::test]
//! async fn the_page_works_in_a_real_browser() {
//!     let Some(browser) = Browser::start("the_page_works_in_a_real_browser").await else {
//!         return; // no Chromium here: skipped, and the reason printed
//!     };
//!     let t = common::start().await;
//!     browser.goto(&t.url("/some/page")).await;
//!     browser.find("#email").await.send_keys("ada@example.com").await.unwrap();
//!     assert!(browser.accessibility_problems().await.is_empty());
//!     browser.screenshots("some-page").await; // target/screenshots/some-page-{desktop,phone}.png
//!     browser.close().await;
//! }
//! ```
//!
//! [`Browser::start`] looks for `chromedriver` and Chromium (`chromium`, `chromium-browser`,
//! `google-chrome`) on the `PATH` and in `/usr/bin`. When one is missing it prints why and
//! returns `None`, so `cargo test` passes on a machine with only the Rust toolchain; with
//! `STRIPE_SIM_BROWSER=required` (set by `.ci/run`, which installs `chromium` and
//! `chromium-driver`) it panics with the reason instead. It starts chromedriver on a free
//! loopback port and opens one headless session at desktop size (1280×900). Dropping the
//! [`Browser`] ends the session (chromedriver closes Chromium) and kills chromedriver, so a
//! failing test leaves no process behind.
//!
//! The simulator runs in the test's own runtime: every call here awaits, so it keeps serving
//! while the browser loads its pages.

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

/// The environment variable that turns a skip into a failure.
pub const REQUIRED_VAR: &str = "STRIPE_SIM_BROWSER";

/// The desktop window: the size of the README's screenshots.
pub const DESKTOP: (u32, u32) = (1280, 900);
/// A phone's viewport (an iPhone 12–15), emulated with Chromium's device metrics.
pub const PHONE: (u32, u32) = (390, 844);

/// Chromium and its WebDriver, found on this machine.
#[derive(Debug, Clone)]
pub struct Installed {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

/// The first of `names` that is an executable file on the `PATH` or in `/usr/bin`.
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

/// Where chromedriver and Chromium are, or why the browser tests cannot run.
pub fn installed() -> Result<Installed, String> {
    let chromedriver = executable(&["chromedriver"])
        .ok_or("no chromedriver on the PATH or in /usr/bin (apt-get install -y chromium-driver)")?;
    let chromium = executable(&[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ])
    .ok_or("no Chromium on the PATH or in /usr/bin (apt-get install -y chromium)")?;
    Ok(Installed {
        chromedriver,
        chromium,
    })
}

/// Whether browser tests must run (`STRIPE_SIM_BROWSER=required`) rather than skip.
pub fn required() -> bool {
    std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "required")
}

/// The workspace's `target/` (or `CARGO_TARGET_DIR`), where screenshots go.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

/// `target/screenshots/`, created.
pub fn screenshot_dir() -> PathBuf {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir
}

/// A headless Chromium session and the chromedriver serving it.
pub struct Browser {
    pub client: Client,
    /// Dropped after the session is ended (fields drop after `Browser::drop`).
    driver: Driver,
    session: Option<String>,
}

/// The chromedriver process, killed when dropped, whatever happened before.
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
    /// A browser at desktop size, or `None` (with the reason printed) when Chromium or
    /// chromedriver is missing and `STRIPE_SIM_BROWSER` is not `required`.
    pub async fn start(test: &str) -> Option<Browser> {
        let installed = match installed() {
            Ok(found) => found,
            Err(reason) if required() => panic!("{REQUIRED_VAR}=required, but {reason}"),
            Err(reason) => {
                eprintln!("skipped {test}: {reason}");
                return None;
            }
        };
        Some(Browser::launch(&installed).await)
    }

    async fn launch(installed: &Installed) -> Browser {
        let port = free_port();
        let child = Command::new(&installed.chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // Owned before anything can fail, so a failure kills chromedriver.
        let driver = Driver { child, port };
        let client = connect(port, &installed.chromium, Instant::now()).await;
        let mut browser = Browser {
            client,
            driver,
            session: None,
        };
        browser.session = browser.client.session_id().await.ok().flatten();
        browser.set_desktop().await;
        browser
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The URL the browser is at.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    /// The element matching a CSS selector; panics naming it when there is none.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// The element matching `css` once it appears (after a navigation), waiting up to 10 s.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css} within 10 s: {e}"))
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.ok();
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Presses Tab in the page, as a keyboard user moves to the next control, and returns
    /// what has the focus then (its id, else its name, else its tag and `href`).
    pub async fn press_tab(&self) -> String {
        let focused = self
            .client
            .active_element()
            .await
            .unwrap_or_else(|e| panic!("the focused element: {e}"));
        focused
            .send_keys("\u{E004}") // WebDriver's Tab key
            .await
            .unwrap_or_else(|e| panic!("pressing Tab: {e}"));
        let described = self
            .execute(
                "var e = document.activeElement; \
                 return e.id || e.name || (e.tagName.toLowerCase() + ' ' + (e.getAttribute('href') || ''));",
            )
            .await;
        described.as_str().unwrap_or_default().to_string()
    }

    /// A property of the element matching `css` (`value` of an input).
    pub async fn prop(&self, css: &str, name: &str) -> String {
        self.find(css)
            .await
            .prop(name)
            .await
            .unwrap_or_else(|e| panic!("{name} of {css}: {e}"))
            .unwrap_or_default()
    }

    /// Runs `script` (a function body: `return …`) in the page.
    pub async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("running a script: {e}"))
    }

    /// One Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.to_string(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// A desktop viewport (1280×900), as a browser opens. (The window's size would include
    /// the headless browser's own chrome: the viewport is set instead.)
    pub async fn set_desktop(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": DESKTOP.0, "height": DESKTOP.1, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
    }

    /// A phone's viewport (390×844, a touch device): media queries see 390 px.
    pub async fn set_phone(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": PHONE.0, "height": PHONE.1, "deviceScaleFactor": 2, "mobile": true}),
        )
        .await;
    }

    /// Saves what the window shows to `target/screenshots/{file}.png`.
    pub async fn screenshot(&self, file: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        save(file, &png)
    }

    /// Saves the whole page, beyond the window, to `target/screenshots/{file}.png`.
    pub async fn full_page_screenshot(&self, file: &str) -> PathBuf {
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

    /// The page at desktop width (the window) and at phone width (the whole page):
    /// `target/screenshots/{name}-desktop.png` and `{name}-phone.png`. Leaves the desktop size.
    pub async fn screenshots(&self, name: &str) -> (PathBuf, PathBuf) {
        self.set_desktop().await;
        let desktop = self.screenshot(&format!("{name}-desktop")).await;
        self.set_phone().await;
        let phone = self.full_page_screenshot(&format!("{name}-phone")).await;
        self.set_desktop().await;
        (desktop, phone)
    }

    /// Basic accessibility checks of the page as rendered: ids used twice, form controls
    /// without a label (`<label for>`, a wrapping label, `aria-label` or `aria-labelledby`),
    /// buttons and links without a name, images without `alt`, and visible text or
    /// placeholders with a contrast under 4.5:1 (WCAG AA; 3:1 for large text) against the
    /// background they sit on. One line per problem; empty when none.
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let found = self.execute(ACCESSIBILITY_CHECK).await;
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ends the session; dropping the browser does the same without waiting for an answer.
    pub async fn close(mut self) {
        let client = self.client.clone();
        if client.close().await.is_ok() {
            self.session = None;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The client's own shutdown runs on the test's runtime, which may be ending: ask
        // chromedriver directly, so it closes Chromium before it is killed.
        if let Some(session) = self.session.take() {
            delete_session(self.driver.port, &session);
        }
    }
}

/// A free port on loopback for chromedriver.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A session with chromedriver on `port`, retried while chromedriver starts (a few seconds).
async fn connect(port: u16, chromium: &Path, started: Instant) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=1280,1040",
            ],
        },
    });
    let capabilities = match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    };
    let url = format!("http://127.0.0.1:{port}");
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

/// `DELETE /session/{id}`, synchronously: chromedriver quits Chromium.
fn delete_session(port: u16, session: &str) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok();
    }
}

fn save(file: &str, png: &[u8]) -> PathBuf {
    let path = screenshot_dir().join(format!("{file}.png"));
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// chromedriver's `goog/cdp/execute`: one DevTools command in the session's page.
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

/// The script behind [`Browser::accessibility_problems`].
const ACCESSIBILITY_CHECK: &str = r#"
const problems = [];
const seen = new Map();
for (const el of document.querySelectorAll('[id]')) {
  seen.set(el.id, (seen.get(el.id) || 0) + 1);
}
for (const [id, n] of seen) if (n > 1) problems.push(`id "${id}" is used ${n} times`);
const describe = (el) => `<${el.tagName.toLowerCase()}${el.id ? ' id="' + el.id + '"' : ''}${el.name ? ' name="' + el.name + '"' : ''}>`;
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const labelled = (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`))
    || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!labelled) problems.push(`${describe(el)} has no label`);
}
for (const el of document.querySelectorAll('button, a[href]')) {
  if (!(el.textContent.trim() || el.getAttribute('aria-label'))) problems.push(`${describe(el)} has no name`);
}
for (const el of document.querySelectorAll('img:not([alt])')) problems.push(`${describe(el)} has no alt`);
const rgba = (text) => {
  const m = text.match(/rgba?\(([^)]+)\)/);
  if (!m) return [0, 0, 0, 1];
  const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const background = (el) => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
};
const blend = (fg, bg) => [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
const luminance = (c) => {
  const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const check = (el, color, what) => {
  const style = getComputedStyle(el);
  const bg = background(el);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
  const r = ratio(blend(rgba(color), bg), bg);
  if (r < (large ? 3 : 4.5)) problems.push(`${what} of ${describe(el)} has contrast ${r.toFixed(2)}:1`);
};
for (const el of document.body.querySelectorAll('*')) {
  if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
  const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (ownText) check(el, getComputedStyle(el).color, `text "${el.textContent.trim().slice(0, 30)}"`);
  if (el.placeholder) check(el, getComputedStyle(el, '::placeholder').color, 'the placeholder');
  if ((el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && el.value) check(el, getComputedStyle(el).color, 'typed text');
}
return problems;
"#;
