//! Shared pieces of the async-stripe suite: the SDK's client pointed at the simulator the
//! documented way (`ClientBuilder::new(key).url(…)`), a ledger of every SDK call and whether its
//! answer decoded into async-stripe's typed struct (with the exact serde error and field path
//! when it did not), the `/_sim` control API through reqwest, and a webhook receiver that checks
//! every delivery with `stripe_webhook::Webhook::construct_event`.
//!
//! The SDK decodes with miniserde, whose errors name nothing ("error deserializing request
//! data"). When a decode fails, the suite keeps the exact bytes the SDK received and decodes them
//! again with the same type's serde impl (the `deserialize` feature) through
//! `serde_path_to_error`, which names the field. It then patches that field and decodes again,
//! until the object decodes, so one run lists every field in the way rather than the first one.
//! A call whose answer does not decode still hands the raw JSON back, so the flow goes on and
//! later calls are checked too; the test fails at its end (`Suite::finish`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use stripe::{Client, ClientBuilder, StripeError};
use stripe_client_core::{CustomizedStripeRequest, StripeClient, StripeMethod, StripeRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use stripe_client_core::RequestBuilder;

/// The simulator's base URL (`STRIPE_SIM_URL`, or run.sh's `SIM_URL`).
pub fn sim_url() -> String {
    std::env::var("STRIPE_SIM_URL")
        .or_else(|_| std::env::var("SIM_URL"))
        .unwrap_or_else(|_| "http://127.0.0.1:12111".to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The simulator's API key (`STRIPE_SECRET_KEY`, or run.sh's `SIM_API_KEY`).
pub fn api_key() -> String {
    std::env::var("STRIPE_SECRET_KEY")
        .or_else(|_| std::env::var("SIM_API_KEY"))
        .unwrap_or_else(|_| "sk_test_stripesim".to_string())
}

/// The SDK's client, as async-stripe 1.x documents pointing it at another host.
pub fn make_client(key: &str) -> Client {
    ClientBuilder::new(key)
        .url(format!("{}/", sim_url()))
        .build()
        .expect("async-stripe client")
}

// --- the SDK client, recording the bytes of each answer --------------------------------------

/// Delegates to the SDK's own hyper client and keeps the body of the last successful answer,
/// so a decode failure can be diagnosed on exactly the bytes the SDK saw.
#[derive(Clone, Debug)]
pub struct Recording {
    inner: Client,
    last: Arc<Mutex<Option<Bytes>>>,
}

impl StripeClient for Recording {
    type Err = StripeError;

    fn execute(
        &self,
        req: CustomizedStripeRequest,
    ) -> impl Future<Output = Result<Bytes, StripeError>> + Send {
        let inner = self.inner.clone();
        let last = self.last.clone();
        async move {
            let answer = inner.execute(req).await;
            if let Ok(bytes) = &answer {
                *last.lock().unwrap() = Some(bytes.clone());
            }
            answer
        }
    }
}

// --- the ledger ------------------------------------------------------------------------------

/// One field in the way of a decode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issue {
    /// serde_path_to_error's path, `data.object.` prefixed inside events.
    pub path: String,
    /// serde's message at that path.
    pub error: String,
    /// What the simulator sent there (`None`: the field was absent).
    pub sent: Option<Value>,
    /// For an absent field: the keys its parent object did have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_keys: Option<Vec<String>>,
}

/// One SDK call (or one webhook delivery) and how its answer decoded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    pub test: String,
    /// `call` (an SDK request's answer), `error` (an error answer parsed by the SDK), `event`
    /// (an event's `data.object` through the webhook crate's typed parse), `webhook` (a delivery
    /// through `Webhook::construct_event`).
    pub kind: String,
    /// `CreateProduct POST /products`, `webhook checkout.session.completed`, …
    pub call: String,
    /// The Rust type the answer must decode into.
    pub target: String,
    pub decoded: bool,
    /// The SDK's own error text when it did not.
    pub sdk_error: Option<String>,
    pub issues: Vec<Issue>,
}

/// A call that Stripe answered with an error, as the SDK parsed it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub type_: String,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub param: Option<String>,
    pub message: Option<String>,
    /// False when the SDK could not decode the error body itself.
    pub typed: bool,
}

/// What a call got: the typed object when it decoded, and always the raw JSON.
#[derive(Debug, Clone)]
pub struct Got<T> {
    pub raw: Value,
    pub typed: Option<T>,
}

impl<T> Got<T> {
    /// A string field of the raw answer (ids, statuses), whatever the typed decode did.
    pub fn s(&self, pointer: &str) -> String {
        str_at(&self.raw, pointer)
    }
    pub fn i(&self, pointer: &str) -> i64 {
        self.raw.pointer(pointer).and_then(Value::as_i64).unwrap_or_else(|| {
            panic!("no integer at {pointer} in {}", short(&self.raw))
        })
    }
    pub fn id(&self) -> String {
        self.s("/id")
    }
}

pub fn str_at(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
        other => panic!("no string at {pointer}: {other:?} in {}", short(v)),
    }
}

pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}…", &s[..s.char_indices().nth(300).map(|(i, _)| i).unwrap_or(s.len())])
    } else {
        s
    }
}

/// One test's view of the suite: the SDK client, its ledger, the control API.
pub struct Suite {
    pub test: String,
    pub client: Client,
    last: Arc<Mutex<Option<Bytes>>>,
    pub records: Arc<Mutex<Vec<Record>>>,
    pub http: reqwest::Client,
}

static RESET: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

impl Suite {
    /// The suite for one test; the first one of a test binary resets the simulator.
    pub async fn start(test: &str) -> Suite {
        capture_unknown_enum_warnings();
        let suite = Suite {
            test: test.to_string(),
            client: make_client(&api_key()),
            last: Arc::new(Mutex::new(None)),
            records: Arc::new(Mutex::new(Vec::new())),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("reqwest client"),
        };
        RESET
            .get_or_init(|| async {
                suite.sim("POST", "/_sim/reset", json!({})).await.expect("reset the simulator");
            })
            .await;
        suite
    }

    pub fn recording(&self) -> Recording {
        Recording { inner: self.client.clone(), last: self.last.clone() }
    }

    /// The SDK's client with another key, recording into this suite.
    pub fn recording_with_key(&self, key: &str) -> Recording {
        Recording { inner: make_client(key), last: self.last.clone() }
    }

    /// One SDK call: sends `req` through the SDK, records whether the answer decoded into
    /// `R::Output`, and returns the typed object (if any) with the raw JSON.
    pub async fn call<R>(&self, req: &R) -> Result<Got<R::Output>, ApiError>
    where
        R: StripeRequest,
        R::Output: Decode,
    {
        self.call_with(req, &self.recording()).await
    }

    /// `call`, through another client (another key, say).
    pub async fn call_with<R, C>(&self, req: &R, client: &C) -> Result<Got<R::Output>, ApiError>
    where
        R: StripeRequest,
        R::Output: Decode,
        C: StripeClient<Err = StripeError>,
    {
        self.call_full(req, client, None).await
    }

    /// `call` with the SDK's `RequestStrategy::Idempotent(key)`.
    pub async fn call_idempotent<R>(&self, req: &R, key: &str) -> Result<Got<R::Output>, ApiError>
    where
        R: StripeRequest,
        R::Output: Decode,
    {
        let strategy = stripe::RequestStrategy::Idempotent(stripe::IdempotencyKey::new(key).expect("key"));
        self.call_full(req, &self.recording(), Some(strategy)).await
    }

    async fn call_full<R, C>(
        &self,
        req: &R,
        client: &C,
        strategy: Option<stripe::RequestStrategy>,
    ) -> Result<Got<R::Output>, ApiError>
    where
        R: StripeRequest,
        R::Output: Decode,
        C: StripeClient<Err = StripeError>,
    {
        let built = req.build();
        let label = format!(
            "{} {} {}",
            type_name_short::<R>(),
            method_str(built.method),
            built.path
        );
        let target = type_name_short::<R::Output>();
        *self.last.lock().unwrap() = None;
        let mut customized = req.customize();
        if let Some(strategy) = strategy {
            customized = customized.request_strategy(strategy);
        }
        clear_unknown_enums();
        let answer = customized.send(client).await;
        let bytes = self.last.lock().unwrap().take();
        match answer {
            Ok(typed) => {
                let raw = bytes
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                note_unknown_enums(&self.test, &label, &raw);
                self.record(label, target, None, Vec::new());
                Ok(Got { raw, typed: Some(typed) })
            }
            Err(StripeError::JSONDeserialize(msg)) => match bytes {
                Some(bytes) => {
                    let raw: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                        panic!("{label}: the answer is not JSON ({e}): {}", String::from_utf8_lossy(&bytes))
                    });
                    let issues = diagnose::<R::Output>(&raw);
                    self.record(label, target, Some(msg), issues);
                    Ok(Got { raw, typed: None })
                }
                None => {
                    // An error answer the SDK could not parse: replay it to read its body.
                    let (status, body) = self.replay(&built).await;
                    let issues = diagnose::<stripe_shared::Error>(&body);
                    self.record(
                        format!("{label} (error answer {status})"),
                        "stripe_shared::Error".into(),
                        Some(msg),
                        issues,
                    );
                    Err(api_error_from_json(status, &body))
                }
            },
            Err(StripeError::Stripe(e, status)) => {
                self.record(format!("{label} (error answer {status})"), "stripe_shared::Error".into(), None, vec![]);
                Err(ApiError {
                    status,
                    type_: e.type_.as_str().to_string(),
                    code: e.code.as_ref().map(|c| c.as_str().to_string()),
                    decline_code: e.decline_code.clone(),
                    param: e.param.clone(),
                    message: e.message.clone(),
                    typed: true,
                })
            }
            Err(other) => panic!("{label}: {other}"),
        }
    }

    /// Sends a request the SDK built again, with reqwest, to read an answer the SDK swallowed.
    /// Only error answers are replayed, and a failed request changes nothing.
    async fn replay(&self, built: &RequestBuilder) -> (u16, Value) {
        let mut url = format!("{}/v1{}", sim_url(), built.path);
        if let Some(q) = &built.query {
            url.push('?');
            url.push_str(q);
        }
        let method = match built.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        let mut rb = self.http.request(method, url).bearer_auth(api_key());
        if let Some(body) = &built.body {
            rb = rb.header("content-type", "application/x-www-form-urlencoded").body(body.clone());
        }
        let resp = rb.send().await.expect("replay");
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub fn record(&self, call: String, target: String, sdk_error: Option<String>, issues: Vec<Issue>) {
        self.record_as(&self.test.clone(), call, target, sdk_error, issues, true)
    }

    /// Records a decode for `test` (a webhook delivery may arrive after its test ended), and
    /// counts it in this test's verdict when `mine`.
    pub fn record_as(
        &self,
        test: &str,
        call: String,
        target: String,
        sdk_error: Option<String>,
        issues: Vec<Issue>,
        mine: bool,
    ) {
        let decoded = sdk_error.is_none() && issues.is_empty();
        let kind = if call.starts_with("webhook ") {
            "webhook"
        } else if call.starts_with("event object ") {
            "event"
        } else if call.contains("(error answer") || call.starts_with("402 ") {
            "error"
        } else {
            "call"
        }
        .to_string();
        let rec = Record { test: test.to_string(), kind, call, target, decoded, sdk_error, issues };
        if !rec.decoded {
            eprintln!("decode failure: {} -> {}", rec.call, rec.target);
        }
        log_line(&serde_json::to_value(&rec).unwrap_or_default());
        if mine {
            self.records.lock().unwrap().push(rec);
        }
    }

    /// Ends a test: panics if any SDK call of it did not decode.
    pub fn finish(&self) {
        let records = self.records.lock().unwrap();
        let bad: Vec<&Record> = records.iter().filter(|r| !r.decoded).collect();
        println!(
            "{}: {} SDK decodes, {} failed",
            self.test,
            records.len(),
            bad.len()
        );
        if !bad.is_empty() {
            let mut text = String::new();
            for r in &bad {
                let _ = writeln!(text, "{}", describe(r));
            }
            panic!("{} of {} answers did not decode into async-stripe's types:\n{text}", bad.len(), records.len());
        }
    }

    // --- the control API (/_sim), JSON in and out ---------------------------------------------

    pub async fn sim(&self, method: &str, path: &str, body: Value) -> Result<Value, (u16, Value)> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(method.clone(), format!("{}{}", sim_url(), path)).bearer_auth(api_key());
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            rb = rb.json(&body);
        }
        let resp = rb.send().await.expect("control API call");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err((status, value))
        }
    }

    pub async fn sim_ok(&self, method: &str, path: &str, body: Value) -> Value {
        match self.sim(method, path, body).await {
            Ok(v) => v,
            Err((status, body)) => panic!("{method} {path}: HTTP {status}: {}", short(&body)),
        }
    }

    pub async fn advance(&self, seconds: i64) -> Value {
        self.sim_ok("POST", "/_sim/clock/advance", json!({ "seconds": seconds })).await
    }

    pub async fn flush(&self) {
        self.sim_ok("POST", "/_sim/webhooks/flush", json!({})).await;
    }

    /// The buyer paying a session on the hosted page (`/_sim/checkout/sessions/{id}/pay`).
    pub async fn pay(&self, session: &str, method: Value) -> Result<Value, (u16, Value)> {
        self.sim("POST", &format!("/_sim/checkout/sessions/{session}/pay"), method).await
    }

    /// A buyer opening a payment link (`/_sim/payment_links/{id}/visit`): the new session.
    pub async fn visit(&self, link: &str, reference: &str) -> Value {
        self.sim_ok(
            "POST",
            &format!("/_sim/payment_links/{link}/visit"),
            json!({ "client_reference_id": reference }),
        )
        .await
    }
}

// --- enum values the SDK does not know --------------------------------------------------------
//
// async-stripe decodes an enum value it does not know into the enum's `Unknown(String)` variant
// and says so only through `tracing::warn!("Unknown value '{v}' for enum '{Enum}'")`. A small
// tracing subscriber catches those warnings, per thread, around each decode.

thread_local! {
    static WARNINGS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct WarningCapture;

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for WarningCapture {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        if visitor.0.starts_with("Unknown value ") {
            WARNINGS.with(|w| w.borrow_mut().push(visitor.0));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Installs the capture once per process.
pub fn capture_unknown_enum_warnings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(WarningCapture);
    });
}

/// Forgets this thread's captured warnings (before a decode).
pub fn clear_unknown_enums() {
    WARNINGS.with(|w| w.borrow_mut().clear());
}

/// Logs the enum values this thread's last decode did not know, with the paths where `raw`
/// holds them (run.sh lists them; they fail nothing: the SDK accepts them as `Unknown`).
pub fn note_unknown_enums(test: &str, call: &str, raw: &Value) {
    let warnings = WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()));
    let mut seen = std::collections::HashSet::new();
    for warning in warnings {
        // Unknown value 'hosted' for enum 'CheckoutSessionUiMode'
        let mut parts = warning.split('\'');
        let (Some(_), Some(value), Some(_), Some(enum_name)) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !seen.insert((value.to_string(), enum_name.to_string())) {
            continue;
        }
        let mut paths = Vec::new();
        find_string(raw, value, String::new(), &mut paths);
        eprintln!("unknown enum value {value:?} ({enum_name}) in {call} at {paths:?}");
        log_line(&json!({
            "kind": "unknown_enum", "test": test, "call": call, "value": value, "enum": enum_name, "paths": paths,
        }));
    }
}

fn find_string(v: &Value, needle: &str, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s == needle => out.push(if at.is_empty() { "(top level)".into() } else { at }),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                find_string(x, needle, format!("{at}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                find_string(x, needle, if at.is_empty() { k.clone() } else { format!("{at}.{k}") }, out);
            }
        }
        _ => {}
    }
}

/// Appends one JSON line to `$SDK_DECODE_LOG`, which run.sh summarises.
pub fn log_line(line: &Value) {
    static LOCK: Mutex<()> = Mutex::new(());
    if let Ok(path) = std::env::var("SDK_DECODE_LOG") {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

fn method_str(m: StripeMethod) -> &'static str {
    match m {
        StripeMethod::Get => "GET",
        StripeMethod::Post => "POST",
        StripeMethod::Delete => "DELETE",
    }
}

fn type_name_short<T>() -> String {
    // `stripe_types::pagination::List<stripe_shared::checkout_session::CheckoutSession>` →
    // `List<CheckoutSession>`
    let full = std::any::type_name::<T>();
    let mut out = String::new();
    let mut word = String::new();
    for ch in full.chars() {
        if ch.is_alphanumeric() || ch == '_' || ch == ':' {
            word.push(ch);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(ch);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
}

pub fn api_error_from_json(status: u16, body: &Value) -> ApiError {
    let e = body.get("error").cloned().unwrap_or(Value::Null);
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    ApiError {
        status,
        type_: s("type").unwrap_or_default(),
        code: s("code"),
        decline_code: s("decline_code"),
        param: s("param"),
        message: s("message"),
        typed: false,
    }
}

pub fn describe(r: &Record) -> String {
    let mut text = format!("[{}] {} -> {}", r.test, r.call, r.target);
    if let Some(e) = &r.sdk_error {
        let _ = write!(text, "\n    SDK: {e}");
    }
    if r.issues.is_empty() && r.sdk_error.is_some() {
        let _ = write!(text, "\n    serde decodes it: the SDK's miniserde decoder alone refuses it");
    }
    for i in &r.issues {
        let sent = match (&i.sent, &i.parent_keys) {
            (Some(v), _) => short(v),
            (None, Some(keys)) => format!("(absent; the object had only {keys:?})"),
            (None, None) => "(absent)".to_string(),
        };
        let _ = write!(text, "\n    {}: {}\n      sent: {sent}", i.path, i.error);
    }
    text
}

// --- diagnosing a decode failure -------------------------------------------------------------

/// What an SDK answer must be: decodable by the SDK (miniserde) and, with the `diagnose` feature,
/// by serde too, which names the field a decode stops at.
#[cfg(feature = "diagnose")]
pub trait Decode: miniserde::Deserialize + serde::de::DeserializeOwned {}
#[cfg(feature = "diagnose")]
impl<T: miniserde::Deserialize + serde::de::DeserializeOwned> Decode for T {}
/// What an SDK answer must be: decodable by the SDK (miniserde).
#[cfg(not(feature = "diagnose"))]
pub trait Decode: miniserde::Deserialize {}
#[cfg(not(feature = "diagnose"))]
impl<T: miniserde::Deserialize> Decode for T {}

/// Every field of `raw` in the way of decoding it as `T`, found one at a time with
/// serde_path_to_error, patching each so the next one shows.
pub fn diagnose<T: Decode>(raw: &Value) -> Vec<Issue> {
    diagnose_at::<T>(raw, "")
}

/// Without the `diagnose` feature the serde impls that name fields are not built (they make the
/// build about 40% longer): the failure is reported as one issue saying how to name the fields.
#[cfg(not(feature = "diagnose"))]
pub fn diagnose_at<T: Decode>(_raw: &Value, prefix: &str) -> Vec<Issue> {
    vec![Issue {
        path: if prefix.is_empty() { "(whole object)".into() } else { prefix.to_string() },
        error: "the SDK's decoder refuses it; SDK_RUST_DIAGNOSE=1 tests/sdk/run.sh (cargo feature `diagnose`) names the fields".into(),
        sent: None,
        parent_keys: None,
    }]
}

/// `diagnose`, with `prefix` before every path. Once serde accepts the patched object, the SDK's
/// own miniserde decoder must accept it too, or that is said as well.
#[cfg(feature = "diagnose")]
pub fn diagnose_at<T: Decode>(raw: &Value, prefix: &str) -> Vec<Issue> {
    let mut value = raw.clone();
    let mut issues: Vec<Issue> = Vec::new();
    let mut synthetic: Vec<String> = Vec::new();
    for _ in 0..200 {
        let text = value.to_string();
        let mut de = serde_json::Deserializer::from_str(&text);
        let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(_) => {
                if miniserde::json::from_str::<T>(&text).is_err() {
                    let what = if issues.is_empty() { "serde decodes it" } else { "serde decodes it with the fields above patched" };
                    issues.push(Issue {
                        path: if prefix.is_empty() { "(whole object)".into() } else { prefix.to_string() },
                        error: format!("{what}, but the SDK's miniserde decoder still refuses it"),
                        sent: None,
                        parent_keys: None,
                    });
                }
                return issues;
            }
            Err(e) => e,
        };
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        let segments = path_segments(&path);
        // A "missing field `x`" error is reported at the parent's path.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
            .map(str::to_string);
        let mut target = segments.clone();
        if let Some(field) = &missing {
            if segments.last().map(String::as_str) != Some(field.as_str()) {
                target.push(field.clone());
            }
        }
        let sent = get_path(raw, &target).cloned();
        let parent_keys = if sent.is_none() {
            get_path(raw, &target[..target.len().saturating_sub(1)])
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
        } else {
            None
        };
        let shown = if prefix.is_empty() { target.join(".") } else { format!("{prefix}.{}", target.join(".")) };
        let shown = if shown.is_empty() { "(top level)".to_string() } else { shown.replace(".[", "[") };
        // Inside a placeholder the suite put in for an absent field: a consequence, not news.
        if synthetic.iter().any(|p| shown.starts_with(&format!("{p}.")) || shown.starts_with(&format!("{p}["))) {
            let replacement = if missing.is_some() { Value::Null } else { placeholder(&message) };
            if !set_path(&mut value, &target, replacement) {
                return issues;
            }
            continue;
        }
        // An absent field patched with null that must not be null: one issue, with what it expects.
        if let Some(last) = issues.last_mut() {
            if last.path == shown && last.sent.is_none() && message.starts_with("invalid type: null") && !last.error.contains("must be") {
                let expected = message.split("expected ").nth(1).unwrap_or("a value").to_string();
                last.error = format!("{} (must be {expected}, not null)", last.error);
                synthetic.push(shown.clone());
                if !set_path(&mut value, &target, placeholder(&message)) {
                    return issues;
                }
                continue;
            }
        }
        if issues.iter().any(|i| i.path == shown && i.error == message) {
            // Patching did not help: stop rather than loop.
            issues.push(Issue { path: shown, error: format!("{message} (no further diagnosis)"), sent, parent_keys });
            return issues;
        }
        issues.push(Issue { path: shown, error: message.clone(), sent, parent_keys });
        let replacement = if missing.is_some() { Value::Null } else { placeholder(&message) };
        if !set_path(&mut value, &target, replacement) {
            return issues;
        }
    }
    issues
}

#[cfg(feature = "diagnose")]
/// A value of the shape serde's message says it expected.
fn placeholder(message: &str) -> Value {
    if let Some(rest) = message.split("expected one of ").nth(1) {
        if let Some(first) = rest.split('`').nth(1) {
            return Value::String(first.to_string());
        }
    }
    if let Some(rest) = message.split("expected `").nth(1) {
        if let Some(first) = rest.split('`').next() {
            return Value::String(first.to_string());
        }
    }
    let expected = message.split("expected ").last().unwrap_or("").trim();
    let lower = expected.to_lowercase();
    if lower.contains("string") || (lower.starts_with("struct ") && expected.ends_with("Id")) {
        Value::String(String::new())
    } else if ["i64", "u64", "i32", "u32", "integer"].iter().any(|t| lower.contains(t)) {
        json!(0)
    } else if lower.contains("f64") || lower.contains("float") {
        json!(0.0)
    } else if lower.contains("bool") {
        json!(false)
    } else if lower.contains("sequence") {
        json!([])
    } else if lower.contains("map") || lower.starts_with("struct ") {
        json!({})
    } else {
        Value::Null
    }
}

#[cfg(feature = "diagnose")]
fn path_segments(path: &str) -> Vec<String> {
    if path == "." || path.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for part in path.split('.') {
        // `items[0]` → `items`, `[0]`
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(rest[..i].to_string());
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                out.push(rest[..=end].to_string());
                rest = &rest[end + 1..];
            }
        } else if !rest.is_empty() && rest != "?" {
            out.push(rest.to_string());
        }
    }
    out
}

#[cfg(feature = "diagnose")]
fn index(seg: &str) -> Option<usize> {
    seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse().ok())
}

#[cfg(feature = "diagnose")]
fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = match index(seg) {
            Some(i) => cur.get(i)?,
            None => cur.get(seg.as_str())?,
        };
    }
    Some(cur)
}

#[cfg(feature = "diagnose")]
fn set_path(v: &mut Value, path: &[String], new: Value) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = v;
    for seg in parents {
        cur = match index(seg) {
            Some(i) => match cur.get_mut(i) {
                Some(c) => c,
                None => return false,
            },
            None => match cur.get_mut(seg.as_str()) {
                Some(c) => c,
                None => return false,
            },
        };
    }
    match (index(last), cur) {
        (Some(i), Value::Array(a)) if i < a.len() => {
            a[i] = new;
            true
        }
        (None, Value::Object(o)) => {
            o.insert(last.clone(), new);
            true
        }
        _ => false,
    }
}

// --- typed event objects ---------------------------------------------------------------------

/// Checks an event's `data.object` against the type async-stripe's webhook crate decodes it
/// into for that event type; returns the issues (empty when it decodes).
pub fn diagnose_event_object(event_type: &str, object: &Value) -> (String, Vec<Issue>) {
    let p = "data.object";
    match object_kind(event_type) {
        "checkout.session" => ("CheckoutSession".into(), diagnose_at::<stripe_shared::CheckoutSession>(object, p)),
        "payment_intent" => ("PaymentIntent".into(), diagnose_at::<stripe_shared::PaymentIntent>(object, p)),
        "charge" => ("Charge".into(), diagnose_at::<stripe_shared::Charge>(object, p)),
        "refund" => ("Refund".into(), diagnose_at::<stripe_shared::Refund>(object, p)),
        "product" => ("Product".into(), diagnose_at::<stripe_shared::Product>(object, p)),
        "price" => ("Price".into(), diagnose_at::<stripe_shared::Price>(object, p)),
        "payment_link" => ("PaymentLink".into(), diagnose_at::<stripe_shared::PaymentLink>(object, p)),
        "customer" => ("Customer".into(), diagnose_at::<stripe_shared::Customer>(object, p)),
        other => (format!("(no typed object for {other})"), Vec::new()),
    }
}

pub fn object_kind(event_type: &str) -> &'static str {
    if event_type.starts_with("checkout.session.") {
        "checkout.session"
    } else if event_type.starts_with("payment_intent.") {
        "payment_intent"
    } else if event_type.starts_with("charge.refund.") || event_type.starts_with("refund.") {
        "refund"
    } else if event_type.starts_with("charge.") {
        "charge"
    } else if event_type.starts_with("product.") {
        "product"
    } else if event_type.starts_with("price.") {
        "price"
    } else if event_type.starts_with("payment_link.") {
        "payment_link"
    } else if event_type.starts_with("customer.") {
        "customer"
    } else {
        "other"
    }
}

impl Suite {
    /// The typed object of an event as the SDK's webhook crate decodes it (`Webhook::insecure`
    /// parses exactly as `construct_event` does once the signature checks out), recorded.
    pub fn typed_event(&self, call: &str, raw_event: &Value) -> Option<stripe_webhook::Event> {
        let text = raw_event.to_string();
        let event_type = raw_event.get("type").and_then(Value::as_str).unwrap_or("?").to_string();
        clear_unknown_enums();
        match stripe_webhook::Webhook::insecure(&text) {
            Ok(event) => {
                note_unknown_enums(&self.test, &format!("event object {event_type} ({call})"), raw_event);
                self.record(format!("event object {event_type} ({call})"), "stripe_webhook::Event".into(), None, vec![]);
                Some(event)
            }
            Err(e) => {
                let mut issues = diagnose::<stripe_shared::Event>(raw_event);
                let (target, more) = diagnose_event_object(&event_type, raw_event.get("data").and_then(|d| d.get("object")).unwrap_or(&Value::Null));
                issues.extend(more);
                self.record(
                    format!("event object {event_type} ({call})"),
                    format!("stripe_webhook::Event (data.object: {target})"),
                    Some(e.to_string()),
                    issues,
                );
                None
            }
        }
    }
}

// --- the webhook receiver --------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub raw: String,
    pub header: Option<String>,
    /// `Webhook::construct_event`'s verdict: the typed event, or its error.
    pub event: Result<stripe_webhook::Event, String>,
    /// The refusal as a `WebhookError` variant name (`BadSignature`, …).
    pub refusal: Option<String>,
    pub event_type: String,
    pub object_id: String,
    pub status: u16,
}

impl Delivery {
    /// The signature and timestamp checked out (the payload may still have failed to decode).
    pub fn verified(&self) -> bool {
        self.refusal.is_none() || self.refusal.as_deref() == Some("BadParse")
    }
    pub fn raw_json(&self) -> Value {
        serde_json::from_str(&self.raw).unwrap_or(Value::Null)
    }
    pub fn event_id(&self) -> String {
        self.raw_json().get("id").and_then(Value::as_str).unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct ReceiverState {
    secret: String,
    deliveries: Vec<Delivery>,
    fail_next: HashMap<String, u32>,
    /// The test being run, to which deliveries are attributed.
    test: String,
    records: Vec<(String, String, String, Option<String>, Vec<Issue>)>,
}

/// A small HTTP/1.1 server on 127.0.0.1 that verifies every POST with async-stripe's
/// `Webhook::construct_event` and answers 400 when it refuses it, 200 otherwise (500 for the
/// event types told to fail once).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    /// Starts the receiver on a thread of its own (its own runtime), so it outlives the
    /// runtime of the test that started it and serves every test of the binary.
    pub fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let receiver = Receiver {
            url: format!("http://127.0.0.1:{port}/webhooks"),
            state: Arc::new(Mutex::new(ReceiverState::default())),
        };
        let r = receiver.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let r = r.clone();
                    tokio::spawn(async move {
                        let _ = r.serve(stream).await;
                    });
                }
            });
        });
        receiver
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > 1 << 20 {
                return Ok(());
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut length = 0usize;
        let mut signature = None;
        for line in head.split("\r\n").skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                } else if k == "stripe-signature" {
                    signature = Some(v);
                }
            }
        }
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_end..(head_end + length).min(buf.len())]).to_string();
        let status = self.handle(body, signature);
        let answer = if status == 400 { "{\"error\":\"refused\"}" } else { "{\"received\":true}" };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            _ => "Internal Server Error",
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    }

    /// Verifies one delivery with the SDK, as an app's webhook route would.
    fn handle(&self, raw: String, header: Option<String>) -> u16 {
        let secret = self.state.lock().unwrap().secret.clone();
        clear_unknown_enums();
        let verdict = stripe_webhook::Webhook::construct_event(&raw, header.as_deref().unwrap_or(""), &secret);
        let json: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
        let event_type = json.get("type").and_then(Value::as_str).unwrap_or("?").to_string();
        let object_id = json.pointer("/data/object/id").and_then(Value::as_str).unwrap_or("").to_string();
        let refusal = verdict.as_ref().err().map(|e| {
            match e {
                stripe_webhook::WebhookError::BadKey => "BadKey",
                stripe_webhook::WebhookError::BadHeader(_) => "BadHeader",
                stripe_webhook::WebhookError::BadSignature => "BadSignature",
                stripe_webhook::WebhookError::BadTimestamp(_) => "BadTimestamp",
                stripe_webhook::WebhookError::BadParse(_) => "BadParse",
            }
            .to_string()
        });
        let mut state = self.state.lock().unwrap();
        // A delivery whose signature checked out but whose payload did not decode is the
        // simulator's fault, not a forgery: answer 200 (no retries) and record the fields.
        if refusal.as_deref() == Some("BadParse") {
            let mut issues = diagnose::<stripe_shared::Event>(&json);
            let (target, more) =
                diagnose_event_object(&event_type, json.pointer("/data/object").unwrap_or(&Value::Null));
            issues.extend(more);
            let test = state.test.clone();
            state.records.push((
                test,
                format!("webhook {event_type}"),
                format!("stripe_webhook::Event (data.object: {target})"),
                verdict.as_ref().err().map(|e| e.to_string()),
                issues,
            ));
        } else if let Ok(event) = &verdict {
            let _ = event;
            note_unknown_enums(&state.test, &format!("webhook {event_type}"), &json);
            let test = state.test.clone();
            state.records.push((test, format!("webhook {event_type}"), "stripe_webhook::Event".into(), None, vec![]));
        }
        let verified = refusal.is_none() || refusal.as_deref() == Some("BadParse");
        let status = if !verified {
            400
        } else if let Some(n) = state.fail_next.get_mut(&event_type).filter(|n| **n > 0) {
            *n -= 1;
            500
        } else {
            200
        };
        log_line(&json!({
            "kind": "delivery",
            "test": state.test,
            "event_type": event_type,
            "refusal": refusal,
            "status": status,
        }));
        state.deliveries.push(Delivery {
            raw,
            header,
            event: verdict.map_err(|e| e.to_string()),
            refusal,
            event_type,
            object_id,
            status,
        });
        status
    }

    pub fn set_secret(&self, secret: &str) {
        self.state.lock().unwrap().secret = secret.to_string();
    }
    pub fn secret(&self) -> String {
        self.state.lock().unwrap().secret.clone()
    }
    pub fn fail_next(&self, event_type: &str, times: u32) {
        self.state.lock().unwrap().fail_next.insert(event_type.to_string(), times);
    }
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries.clone()
    }
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().deliveries.len()
    }
    pub fn since(&self, mark: usize) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries[mark..].to_vec()
    }

    /// Moves the receiver's decode results into the ledger; those of `suite`'s test count in
    /// its verdict, late ones of an earlier test are only logged.
    pub fn drain_records(&self, suite: &Suite) {
        let records = std::mem::take(&mut self.state.lock().unwrap().records);
        for (test, call, target, sdk_error, issues) in records {
            let mine = test == suite.test;
            suite.record_as(&test, call, target, sdk_error, issues, mine);
        }
    }

    /// Deliveries from now on belong to `test`.
    pub fn begin(&self, suite: &Suite) {
        self.drain_records(suite);
        self.state.lock().unwrap().test = suite.test.clone();
    }
}

// --- flows shared by the tests ---------------------------------------------------------------

pub const CARD_OK: &str = "4242424242424242";

pub fn card(number: &str) -> Value {
    json!({ "card": number })
}
pub fn sepa(iban: &str) -> Value {
    json!({ "sepa_debit": { "iban": iban } })
}
pub fn ach(account: &str) -> Value {
    json!({ "us_bank_account": { "routing_number": "110000000", "account_number": account } })
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

pub fn next_n() -> u32 {
    COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

use stripe_checkout::checkout_session::{CreateCheckoutSession, CreateCheckoutSessionLineItems, RetrieveCheckoutSession};
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_product::price::CreatePrice;
use stripe_product::product::CreateProduct;

/// A product, a one-time price and a Checkout Session for it, all through the SDK.
pub struct NewSession {
    pub product: String,
    pub price: String,
    pub session: Got<stripe_shared::CheckoutSession>,
}

impl Suite {
    pub async fn new_session(&self, amount: i64, currency: &str, reference: Option<&str>) -> NewSession {
        let n = next_n();
        let product = self.call(&CreateProduct::new(format!("SDK test product {n}"))).await.expect("create product");
        let price = self
            .call(
                &CreatePrice::new(currency.parse::<stripe_types::Currency>().expect("currency"))
                    .product(product.id())
                    .unit_amount(amount),
            )
            .await
            .expect("create price");
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(price.id());
        item.quantity = Some(1);
        let reference = reference.map(str::to_string).unwrap_or_else(|| format!("rs_order_{n}"));
        let session = self
            .call(
                &CreateCheckoutSession::new()
                    .mode(stripe_shared::CheckoutSessionMode::Payment)
                    .line_items(vec![item])
                    .success_url("http://127.0.0.1:9/success?session_id={CHECKOUT_SESSION_ID}")
                    .cancel_url("http://127.0.0.1:9/cancel")
                    .client_reference_id(reference)
                    .metadata(HashMap::from([("order".to_string(), n.to_string())])),
            )
            .await
            .expect("create session");
        NewSession { product: product.id(), price: price.id(), session }
    }

    /// A session paid with `method`: the completed session and its payment intent.
    pub async fn paid_session(
        &self,
        method: Value,
        amount: i64,
        currency: &str,
    ) -> (Got<stripe_shared::CheckoutSession>, Got<stripe_shared::PaymentIntent>) {
        let s = self.new_session(amount, currency, None).await;
        self.pay(&s.session.id(), method).await.expect("pay");
        let completed = self.call(&RetrieveCheckoutSession::new(s.session.id())).await.expect("retrieve session");
        let intent = self
            .call(&RetrievePaymentIntent::new(completed.s("/payment_intent")))
            .await
            .expect("retrieve payment intent");
        (completed, intent)
    }
}
