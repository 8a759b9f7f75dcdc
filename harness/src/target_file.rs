//! Target files: how to reach the app under test, in any language.
//!
//! ```toml
//! name = "my-app"
//! call_timeout_secs = 15               # a call slower than this timed out (1 to 3600)
//! max_consecutive_timeouts = 3         # that many in a row: the target hangs, the run stops
//! max_answer_bytes = 1048576           # answers are read up to this (1 KiB to 256 MiB)
//!
//! # Either start it…
//! [start]
//! command = ["node", "server.js"]      # or a string run by `sh -c`
//! cwd = "targets/node"
//! env = { DATABASE_PATH = "{tmp}/shop.db" }   # {job}, {port}, {tmp}: each instance its own
//! ready_path = "/health"               # polled until 2xx (default: any answer at / will do)
//! ready_timeout_secs = 60              # 1 to 3600
//!
//! # …or reach one already running (it must use the webhook secret below and
//! # STRIPE_API_BASE = http://127.0.0.1:<simulator_port>); top-level keys, above [start]:
//! # url = "http://127.0.0.1:3000"
//! # webhook_secret = "whsec_…"
//! # simulator_port = 12111
//!
//! [routes]                             # defaults follow the payment spec
//! create_order = "POST /api/orders"
//! order_id_pointer = "/id"
//! get_order = "GET /api/orders/{id}"
//! webhook = "/api/webhooks/stripe"     # or "POST /api/webhooks/stripe"
//! capture = "POST /api/orders/capture" # or "GET /done?session_id={session_id}", or false
//!
//! [fields]                             # JSON pointers into GET order
//! status = "/status"
//!
//! [status_words]                       # the app's words for the four states
//! paid = ["paid", "complete"]
//!
//! [policy]                             # where the spec leaves room
//! partial_refund_marks_refunded = false
//! unpaid_may_fail = false
//! return_route_may_change = false
//!
//! [observe]                            # apps of other shapes
//! # read_order = ["sqlite3", "-json", "{tmp}/shop.db", "select … where id = '{id}'"]
//! settle_ms = 0                        # wait after deliveries are answered (background apply)
//! poll_ms = 0                          # read an expectation again until it holds
//!
//! [snapshots]                          # what `run --snapshots DIR` records of each order
//! fields = { updatedAt = "/updatedAt" }  # more fields of GET order, by name
//! redact = ["updatedAt"]               # recorded as "[redacted]": values that vary by run
//! omit = ["amount"]                    # not recorded ("deliveries", "steps": whole sections)
//! ```
//!
//! [`TargetFile::parse`] checks every value (a timeout of zero or of centuries, an empty command,
//! a URL that does not parse, a JSON pointer without its leading `/`…) and names the field that
//! is wrong, so a mistake in the file is reported before anything starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Seconds one call may take by default before it counts as timed out.
pub const DEFAULT_CALL_TIMEOUT_SECS: u64 = 15;
/// Calls in a row that may time out, by default, before the target counts as hung.
pub const DEFAULT_MAX_CONSECUTIVE_TIMEOUTS: u32 = 3;
/// The most bytes of one answer read by default.
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// The bounds [`TargetFile::validate`] holds timeouts (seconds) and the other limits to.
const TIMEOUT_SECS: (u64, u64) = (1, 3600);
const CONSECUTIVE_TIMEOUTS: (u32, u32) = (1, 1000);
const ANSWER_BYTES: (u64, u64) = (1024, 256 * 1024 * 1024);

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub start: Option<StartSpec>,
    /// Base URL of a target that is already running.
    #[serde(default)]
    pub url: Option<String>,
    /// The signing secret a running target verifies with (started targets get one generated).
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// The secret key the simulator accepts and the target is given.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Port of the simulator (0, the default, picks a free one; a running target needs a fixed one).
    #[serde(default)]
    pub simulator_port: Option<u16>,
    /// Seconds one call to the target (create or read an order, the return route) may take
    /// before the target counts as hung. 15 by default.
    #[serde(default)]
    pub call_timeout_secs: Option<u64>,
    /// Calls in a row that may time out before the target counts as hung and the run stops
    /// (instead of waiting out every scenario). 3 by default.
    #[serde(default)]
    pub max_consecutive_timeouts: Option<u32>,
    /// The most bytes of one answer the harness reads; the rest is not read and the answer is
    /// reported as cut. 1 MiB by default.
    #[serde(default)]
    pub max_answer_bytes: Option<u64>,
    #[serde(default)]
    pub routes: Routes,
    #[serde(default)]
    pub fields: Fields,
    #[serde(default)]
    pub status_words: StatusWords,
    #[serde(default)]
    pub policy: Policy,
    /// Reading orders (and creating them) by running commands, and waiting for apps that apply
    /// webhooks in the background.
    #[serde(default)]
    pub observe: Observe,
    /// What `run --snapshots DIR` records of each order, and what it leaves out or redacts.
    #[serde(default)]
    pub snapshots: Snapshots,
    /// Whether the simulator's ids (events, sessions, PaymentIntents) are fresh on every run,
    /// so that an app that keeps its database between runs does not take a new run's events
    /// for duplicates of an old run's (true by default). The seed still replays the same
    /// histories, delivery order and verdicts; `false` repeats the ids too (then start the app
    /// on an empty database, `{tmp}`).
    #[serde(default)]
    pub fresh_ids: Option<bool>,
    /// Where this file was read from: relative `cwd`s are resolved against its folder.
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

/// A command that starts the target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSpec {
    pub command: Command,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A route polled until it answers 2xx. Without it, the app is ready as soon as `/`
    /// answers anything at all (a 404 included): it listens.
    #[serde(default)]
    pub ready_path: Option<String>,
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_secs: u64,
}

fn default_ready_timeout() -> u64 {
    60
}

/// `["prog", "arg"]`, or one string run with `sh -c`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Command {
    Shell(String),
    Argv(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Routes {
    /// `METHOD /path`; `{amount}`, `{currency}`, `{provider}` may appear in the path.
    pub create_order: String,
    /// JSON body of a new order; `{amount}`, `{currency}`, `{provider}` are replaced (numbers stay
    /// numbers). The payment spec's fields by default.
    pub create_order_body: Option<serde_json::Value>,
    pub order_id_pointer: String,
    /// `METHOD /path/{id}` (`{id}` anywhere in the path or query).
    pub get_order: String,
    /// `/path` or `POST /path`: where Stripe delivers webhooks.
    pub webhook: String,
    /// The return route, `METHOD /path` (`{session_id}` may appear in the path or query, as in
    /// `GET /checkout/success?session_id={session_id}`), or `false` when the app has none: the
    /// scenarios that need it are then skipped.
    #[serde(deserialize_with = "route_or_false")]
    pub capture: Option<String>,
    /// JSON body of the return route; `{session_id}` is replaced. By default
    /// `{"session_id": "{session_id}"}`, except for a `GET` route, which gets no body.
    pub capture_body: Option<serde_json::Value>,
}

/// A route, or `false` for one the app does not have.
fn route_or_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum RouteOrFlag {
        Route(String),
        Flag(bool),
    }
    match RouteOrFlag::deserialize(d)? {
        RouteOrFlag::Route(route) => Ok(Some(route)),
        RouteOrFlag::Flag(false) => Ok(None),
        RouteOrFlag::Flag(true) => Err(serde::de::Error::custom(
            "give the route (\"METHOD /path\"), or false when the app has none",
        )),
    }
}

/// Placeholders each route may carry in its path.
const CREATE_PLACEHOLDERS: &[&str] = &["{amount}", "{currency}", "{provider}"];
const GET_PLACEHOLDERS: &[&str] = &["{id}"];
const CAPTURE_PLACEHOLDERS: &[&str] = &["{session_id}"];

/// Placeholders every command and `[start].env` value may carry: what gives each instance of
/// the app (`--jobs`) its own port, database and files.
pub const INSTANCE_PLACEHOLDERS: &[&str] = &["{job}", "{port}", "{tmp}"];

impl Default for Routes {
    fn default() -> Self {
        Routes {
            create_order: "POST /api/orders".to_string(),
            create_order_body: None,
            order_id_pointer: "/id".to_string(),
            get_order: "GET /api/orders/{id}".to_string(),
            webhook: "/api/webhooks/stripe".to_string(),
            capture: Some("POST /api/orders/capture".to_string()),
            capture_body: None,
        }
    }
}

/// JSON pointers into the order the target returns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fields {
    pub status: String,
    pub amount: String,
    pub currency: String,
    pub provider: String,
    pub provider_order_id: String,
    pub provider_capture_id: String,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            status: "/status".to_string(),
            amount: "/amount".to_string(),
            currency: "/currency".to_string(),
            provider: "/provider".to_string(),
            provider_order_id: "/providerOrderId".to_string(),
            provider_capture_id: "/providerCaptureId".to_string(),
        }
    }
}

/// The target's words for each state (compared case-insensitively).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusWords {
    pub pending: Vec<String>,
    pub paid: Vec<String>,
    pub failed: Vec<String>,
    pub refunded: Vec<String>,
}

impl Default for StatusWords {
    fn default() -> Self {
        StatusWords {
            pending: vec!["pending".into()],
            paid: vec!["paid".into()],
            failed: vec!["failed".into()],
            refunded: vec!["refunded".into()],
        }
    }
}

/// `[observe]`: for apps whose orders cannot be read (or created) through a JSON route, and apps
/// that acknowledge webhooks before applying them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Observe {
    /// A command that prints the order as JSON, read with `[fields]` like the answer of
    /// `[routes].get_order` (which it replaces). `{id}` is the order's id (also in `$ORDER_ID`).
    pub read_order: Option<Command>,
    /// A command that creates an order and prints its id, or JSON with it at
    /// `[routes].order_id_pointer` (it replaces `[routes].create_order`). `{amount}`,
    /// `{currency}` and `{provider}` are its terms (also `$ORDER_AMOUNT`, `$ORDER_CURRENCY`,
    /// `$ORDER_PROVIDER`).
    pub create_order: Option<Command>,
    /// Milliseconds to wait after the app answered every webhook delivery before reading its
    /// orders: for apps that acknowledge first and apply in the background. 0 by default.
    pub settle_ms: Option<u64>,
    /// Milliseconds an expectation (an `expect` step, the final state the judge expects) is read
    /// again until it holds, before it counts as broken. 0 by default.
    pub poll_ms: Option<u64>,
}

/// `[snapshots]`: what a snapshot of the app's orders (`run --snapshots DIR`) holds besides the
/// mapped `[fields]`, and what it must not hold (values that change from run to run would make
/// every run a mismatch).
#[derive(Debug, Clone, Deserialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Snapshots {
    /// More fields of the order recorded in its final state: a name → a JSON pointer into the
    /// order (as `[fields]`).
    pub fields: BTreeMap<String, String>,
    /// Fields recorded as `"[redacted]"` whatever their value (present or not): timestamps,
    /// generated numbers.
    pub redact: Vec<String>,
    /// Fields not recorded at all; also `steps` (the states after each step) and `deliveries`
    /// (the status the app answered to each webhook request).
    pub omit: Vec<String>,
}

/// The `[fields]` every snapshot records, by their names in the target file.
pub const MAPPED_FIELDS: [&str; 6] = [
    "status",
    "amount",
    "currency",
    "provider",
    "provider_order_id",
    "provider_capture_id",
];

/// Sections of a snapshot that `[snapshots].omit` may leave out.
pub const SNAPSHOT_SECTIONS: [&str; 2] = ["steps", "deliveries"];

impl Snapshots {
    fn validate(&self) -> Result<(), String> {
        for (name, value) in &self.fields {
            if MAPPED_FIELDS.contains(&name.as_str()) || SNAPSHOT_SECTIONS.contains(&name.as_str())
            {
                return Err(format!(
                    "[snapshots].fields: '{}' is already recorded; give the field another name",
                    name.escape_debug()
                ));
            }
            not_blank("[snapshots].fields: a name", name)?;
            pointer(&format!("[snapshots].fields.{name}"), value)?;
        }
        let known = |name: &str| MAPPED_FIELDS.contains(&name) || self.fields.contains_key(name);
        for name in &self.redact {
            if !known(name) {
                return Err(format!(
                    "[snapshots].redact: '{}' is not a recorded field (known: {})",
                    name.escape_debug(),
                    self.known_fields().join(", ")
                ));
            }
        }
        for name in &self.omit {
            if !known(name) && !SNAPSHOT_SECTIONS.contains(&name.as_str()) {
                return Err(format!(
                    "[snapshots].omit: '{}' is not a recorded field or section (known: {}, {})",
                    name.escape_debug(),
                    self.known_fields().join(", "),
                    SNAPSHOT_SECTIONS.join(", ")
                ));
            }
            if self.redact.contains(name) {
                return Err(format!(
                    "[snapshots]: '{}' is both redacted and omitted; keep one",
                    name.escape_debug()
                ));
            }
        }
        Ok(())
    }

    /// The mapped fields, then the extra ones.
    pub fn known_fields(&self) -> Vec<String> {
        MAPPED_FIELDS
            .iter()
            .map(|f| f.to_string())
            .chain(self.fields.keys().cloned())
            .collect()
    }

    pub fn omits(&self, name: &str) -> bool {
        self.omit.iter().any(|o| o == name)
    }

    pub fn redacts(&self, name: &str) -> bool {
        self.redact.iter().any(|r| r == name)
    }
}

const SETTLE_MS: (u64, u64) = (0, 60_000);
const POLL_MS: (u64, u64) = (0, 600_000);

impl Observe {
    fn validate(&self) -> Result<(), String> {
        for (name, command) in [
            ("read_order", &self.read_order),
            ("create_order", &self.create_order),
        ] {
            if let Some(command) = command {
                command.validate(&format!("[observe].{name}"))?;
            }
        }
        if let Some(ms) = self.settle_ms {
            within("[observe].settle_ms", ms, SETTLE_MS)?;
        }
        if let Some(ms) = self.poll_ms {
            within("[observe].poll_ms", ms, POLL_MS)?;
        }
        Ok(())
    }

    pub fn settle(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.settle_ms.unwrap_or(0).min(SETTLE_MS.1))
    }

    pub fn poll(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.poll_ms.unwrap_or(0).min(POLL_MS.1))
    }
}

fn uses_instance_placeholders(observe: &Observe) -> bool {
    [&observe.read_order, &observe.create_order]
        .into_iter()
        .flatten()
        .any(|c| {
            c.words()
                .iter()
                .any(|w| INSTANCE_PLACEHOLDERS.iter().any(|p| w.contains(p)))
        })
}

impl Command {
    fn validate(&self, field: &str) -> Result<(), String> {
        match self {
            Command::Shell(line) => {
                not_blank(field, line)?;
                no_nul(field, line)
            }
            Command::Argv(argv) => {
                let Some(program) = argv.first() else {
                    return Err(format!("{field} is empty: give [\"program\", \"arg\", …] or one string run by sh -c"));
                };
                not_blank(&format!("{field}[0] (the program)"), program)?;
                for arg in argv {
                    no_nul(field, arg)?;
                }
                Ok(())
            }
        }
    }

    /// The command's words (one for a shell line).
    pub fn words(&self) -> Vec<&str> {
        match self {
            Command::Shell(line) => vec![line.as_str()],
            Command::Argv(argv) => argv.iter().map(String::as_str).collect(),
        }
    }
}

/// Choices the payment spec leaves to the app, with the harness's defaults.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Does a partial refund mark the order refunded? Default no: only a full refund does.
    pub partial_refund_marks_refunded: bool,
    /// May a completed-but-unpaid session (delayed method) mark the order failed before the
    /// outcome? Default no: it stays pending.
    pub unpaid_may_fail: bool,
    /// May the return route change the order? Default no: the spec says it is UX only.
    pub return_route_may_change: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetFileError {
    #[error("cannot read target file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("target file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl TargetFile {
    pub fn load(path: &Path) -> Result<TargetFile, TargetFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TargetFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut file = TargetFile::parse(&text).map_err(|message| TargetFileError::Invalid {
            path: path.display().to_string(),
            message,
        })?;
        file.dir = path.parent().map(Path::to_path_buf);
        if file.name.is_none() {
            file.name = Some(path.display().to_string());
        }
        Ok(file)
    }

    /// Reads a target file from its text and [validates](TargetFile::validate) it.
    pub fn parse(text: &str) -> Result<TargetFile, String> {
        let file: TargetFile = toml::from_str(text).map_err(|e| e.to_string())?;
        file.validate()?;
        Ok(file)
    }

    /// Checks every value a target or the harness will rely on, and names the field at fault:
    /// `[start].ready_timeout_secs must be between 1 and 3600 (got 0)`.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.start, &self.url) {
            (Some(_), Some(_)) => return Err("give either [start] or url, not both".into()),
            (None, None) => return Err("give [start] (a command that starts the target) or url (a running target)".into()),
            (None, Some(_)) if self.webhook_secret.is_none() => {
                return Err("a running target (url) needs webhook_secret: the secret it verifies signatures with".into())
            }
            (None, Some(_)) if self.simulator_port.is_none() => {
                return Err("a running target (url) needs simulator_port: the port its STRIPE_API_BASE points at".into())
            }
            _ => {}
        }
        if let Some(name) = &self.name {
            not_blank("name", name)?;
        }
        if let Some(start) = &self.start {
            start.validate()?;
        }
        if let Some(url) = &self.url {
            check_url(url)?;
        }
        if let Some(secret) = &self.webhook_secret {
            token("webhook_secret", secret)?;
        }
        if let Some(key) = &self.api_key {
            token("api_key", key)?;
        }
        if let Some(secs) = self.call_timeout_secs {
            within("call_timeout_secs", secs, TIMEOUT_SECS)?;
        }
        if let Some(calls) = self.max_consecutive_timeouts {
            within("max_consecutive_timeouts", calls, CONSECUTIVE_TIMEOUTS)?;
        }
        if let Some(bytes) = self.max_answer_bytes {
            within("max_answer_bytes", bytes, ANSWER_BYTES)?;
        }
        self.routes.validate(self.observe.read_order.is_some())?;
        self.fields.validate()?;
        self.status_words.validate()?;
        self.observe.validate()?;
        self.snapshots.validate()?;
        if self.url.is_some() && uses_instance_placeholders(&self.observe) {
            return Err("[observe]: {job}, {port} and {tmp} exist only for an app the harness starts ([start])".into());
        }
        Ok(())
    }

    /// Whether the app has a return route.
    pub fn has_return_route(&self) -> bool {
        self.routes.capture.is_some()
    }

    /// Whether the simulator's ids must be fresh on every run (see [`TargetFile::fresh_ids`]).
    pub fn wants_fresh_ids(&self) -> bool {
        self.fresh_ids.unwrap_or(true)
    }

    /// How long one call may take before it counts as timed out.
    pub fn call_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.call_timeout_secs
                .unwrap_or(DEFAULT_CALL_TIMEOUT_SECS)
                .clamp(TIMEOUT_SECS.0, TIMEOUT_SECS.1),
        )
    }

    /// Timeouts in a row after which the target counts as hung.
    pub fn timeouts_before_hung(&self) -> u32 {
        self.max_consecutive_timeouts
            .unwrap_or(DEFAULT_MAX_CONSECUTIVE_TIMEOUTS)
            .clamp(CONSECUTIVE_TIMEOUTS.0, CONSECUTIVE_TIMEOUTS.1)
    }

    /// The most bytes of one answer read.
    pub fn answer_cap(&self) -> usize {
        let bytes = self
            .max_answer_bytes
            .unwrap_or(DEFAULT_MAX_ANSWER_BYTES)
            .clamp(ANSWER_BYTES.0, ANSWER_BYTES.1);
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }
}

impl StartSpec {
    fn validate(&self) -> Result<(), String> {
        self.command.validate("[start].command")?;
        if let Some(cwd) = &self.cwd {
            no_nul("[start].cwd", &cwd.to_string_lossy())?;
        }
        for (key, value) in &self.env {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(format!(
                    "[start].env: '{}' is not a variable name (not empty, no '=')",
                    key.escape_debug()
                ));
            }
            no_nul(&format!("[start].env.{key}"), value)?;
        }
        if let Some(path) = &self.ready_path {
            url_path("[start].ready_path", path)?;
        }
        within(
            "[start].ready_timeout_secs",
            self.ready_timeout_secs,
            TIMEOUT_SECS,
        )
    }
}

impl Routes {
    fn validate(&self, reads_by_command: bool) -> Result<(), String> {
        let mut routes = vec![
            ("create_order", &self.create_order, CREATE_PLACEHOLDERS),
            ("get_order", &self.get_order, GET_PLACEHOLDERS),
        ];
        if let Some(capture) = &self.capture {
            routes.push(("capture", capture, CAPTURE_PLACEHOLDERS));
        }
        for (name, route, known) in routes {
            let (_, path) = split_route(route).map_err(|e| format!("[routes].{name}: {e}"))?;
            placeholders_known(&format!("[routes].{name}"), &path, known)?;
        }
        if !reads_by_command && !self.get_order.contains("{id}") {
            return Err(format!(
                "[routes].get_order must contain {{id}}, where the order's id goes (got '{}')",
                self.get_order.escape_debug()
            ));
        }
        self.webhook_path()?;
        pointer("[routes].order_id_pointer", &self.order_id_pointer)
    }

    /// The webhook's path: `[routes].webhook` as a bare path or as `POST /path`.
    pub fn webhook_path(&self) -> Result<String, String> {
        let route = self.webhook.trim();
        if route.starts_with('/') {
            url_path("[routes].webhook", route)?;
            placeholders_known("[routes].webhook", route, &[])?;
            return Ok(route.to_string());
        }
        let (method, path) = split_route(route).map_err(|e| {
            format!("[routes].webhook: {e} (or give the bare path, like \"/api/webhooks/stripe\")")
        })?;
        if method != reqwest::Method::POST {
            return Err(format!(
                "[routes].webhook: Stripe delivers webhooks with POST (got '{}')",
                route.escape_debug()
            ));
        }
        placeholders_known("[routes].webhook", &path, &[])?;
        Ok(path)
    }
}

/// Every `{word}` in a route's path must be one the harness fills in.
fn placeholders_known(field: &str, path: &str, known: &[&str]) -> Result<(), String> {
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            return Err(format!(
                "{field}: a '{{' without its '}}' in '{}'",
                path.escape_debug()
            ));
        };
        let word = &after[..=close];
        if !known.contains(&word) {
            let known = if known.is_empty() {
                "none here".to_string()
            } else {
                known.join(", ")
            };
            return Err(format!(
                "{field}: unknown placeholder {} in '{}' (known: {known})",
                word.escape_debug(),
                path.escape_debug()
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

impl Fields {
    /// The pointer of a mapped field, by its name in the target file (`provider_order_id`).
    pub fn pointer(&self, name: &str) -> Option<&str> {
        Some(match name {
            "status" => &self.status,
            "amount" => &self.amount,
            "currency" => &self.currency,
            "provider" => &self.provider,
            "provider_order_id" => &self.provider_order_id,
            "provider_capture_id" => &self.provider_capture_id,
            _ => return None,
        })
    }

    fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("status", &self.status),
            ("amount", &self.amount),
            ("currency", &self.currency),
            ("provider", &self.provider),
            ("provider_order_id", &self.provider_order_id),
            ("provider_capture_id", &self.provider_capture_id),
        ] {
            pointer(&format!("[fields].{name}"), value)?;
        }
        Ok(())
    }
}

impl StatusWords {
    fn validate(&self) -> Result<(), String> {
        let lists = [
            ("pending", &self.pending),
            ("paid", &self.paid),
            ("failed", &self.failed),
            ("refunded", &self.refunded),
        ];
        for (i, (name, words)) in lists.iter().enumerate() {
            for word in words.iter() {
                not_blank(&format!("[status_words].{name}"), word)?;
                for (other, other_words) in &lists[i + 1..] {
                    if other_words.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                        return Err(format!(
                            "[status_words]: '{}' is both {name} and {other}",
                            word.escape_debug()
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn within<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    (min, max): (T, T),
) -> Result<(), String> {
    if value < min || value > max {
        return Err(format!(
            "{field} must be between {min} and {max} (got {value})"
        ));
    }
    Ok(())
}

fn not_blank(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    Ok(())
}

fn no_nul(field: &str, value: &str) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!("{field} must not contain a NUL character"));
    }
    Ok(())
}

/// A secret or key: sent in headers and environment variables.
fn token(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "{field} must be printable ASCII without spaces (got '{}')",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// A path of a URL on the target: `/` then no space or control character.
fn url_path(field: &str, path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{field} must be a path starting with / without spaces (got '{}')",
            path.escape_debug()
        ));
    }
    Ok(())
}

/// A JSON pointer (RFC 6901): empty (the whole answer) or starting with `/`.
fn pointer(field: &str, value: &str) -> Result<(), String> {
    if !value.is_empty() && !value.starts_with('/') {
        return Err(format!(
            "{field} must be a JSON pointer starting with / (got '{}'; did you mean '/{}'?)",
            value.escape_debug(),
            value.escape_debug()
        ));
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        format!(
            "url must be an http(s) URL like http://127.0.0.1:3000 (got '{}': {e})",
            url.escape_debug()
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "url must be an http(s) URL like http://127.0.0.1:3000 (got '{}')",
            url.escape_debug()
        ));
    }
    Ok(())
}

/// `"POST /api/orders"` → (`POST`, `/api/orders`).
pub fn split_route(route: &str) -> Result<(reqwest::Method, String), String> {
    let (method, path) = route
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("'{route}' should be 'METHOD /path'"))?;
    let method = reqwest::Method::from_bytes(method.trim().to_uppercase().as_bytes())
        .map_err(|_| format!("unknown method in '{route}'"))?;
    let path = path.trim();
    if !path.starts_with('/') {
        return Err(format!("the path in '{route}' should start with /"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the path in '{}' should have no space or control character",
            route.escape_debug()
        ));
    }
    Ok((method, path.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_target_needs_only_a_command() {
        let file = TargetFile::parse("[start]\ncommand = \"node server.js\"\n").unwrap();
        assert_eq!(file.routes.create_order, "POST /api/orders");
        assert_eq!(file.fields.provider_capture_id, "/providerCaptureId");
        assert_eq!(file.policy, Policy::default());
    }

    #[test]
    fn a_running_target_needs_its_secret_and_the_simulator_port() {
        let err = TargetFile::parse("url = \"http://127.0.0.1:3000\"\n").unwrap_err();
        assert!(err.contains("webhook_secret"), "{err}");
        let ok = TargetFile::parse("url = \"http://127.0.0.1:3000\"\nwebhook_secret = \"whsec_x\"\nsimulator_port = 12111\n");
        assert!(ok.is_ok());
    }

    #[test]
    fn bad_routes_and_unknown_keys_are_reported() {
        assert!(TargetFile::parse(
            "[start]\ncommand = \"x\"\n[routes]\ncreate_order = \"/api/orders\"\n"
        )
        .unwrap_err()
        .contains("[routes].create_order"));
        assert!(TargetFile::parse("[start]\ncommand = \"x\"\ncolour = 1\n").is_err());
    }

    fn error(toml: &str) -> String {
        TargetFile::parse(toml).expect_err(toml)
    }

    const START: &str = "[start]\ncommand = \"x\"\n";

    #[test]
    fn impossible_timeouts_are_refused_with_the_field_named() {
        // It used to panic: Instant + Duration overflowed.
        let err = error("[start]\ncommand = \"x\"\nready_timeout_secs = 9223372036854775807\n");
        assert_eq!(
            err,
            "[start].ready_timeout_secs must be between 1 and 3600 (got 9223372036854775807)"
        );
        assert!(error("[start]\ncommand = \"x\"\nready_timeout_secs = 0\n")
            .contains("[start].ready_timeout_secs"));
        for bad in ["0", "3601", "9223372036854775807"] {
            let err = error(&format!("call_timeout_secs = {bad}\n{START}"));
            assert!(
                err.starts_with("call_timeout_secs must be between 1 and 3600"),
                "{err}"
            );
        }
        assert!(error(&format!("max_consecutive_timeouts = 0\n{START}"))
            .contains("max_consecutive_timeouts"));
        assert!(error(&format!("max_answer_bytes = 10\n{START}"))
            .contains("max_answer_bytes must be between 1024"));
        assert!(error("[start]\ncommand = \"x\"\nready_timeout_secs = -1\n")
            .contains("ready_timeout_secs"));
    }

    #[test]
    fn the_new_limits_have_defaults_and_can_be_set() {
        let file = TargetFile::parse(START).unwrap();
        assert_eq!(file.call_timeout(), std::time::Duration::from_secs(15));
        assert_eq!(file.timeouts_before_hung(), 3);
        assert_eq!(file.answer_cap(), 1024 * 1024);
        let file = TargetFile::parse(&format!(
            "call_timeout_secs = 2\nmax_consecutive_timeouts = 5\nmax_answer_bytes = 4096\n{START}"
        ))
        .unwrap();
        assert_eq!(file.call_timeout(), std::time::Duration::from_secs(2));
        assert_eq!(file.timeouts_before_hung(), 5);
        assert_eq!(file.answer_cap(), 4096);
    }

    #[test]
    fn empty_commands_are_refused() {
        assert!(error("[start]\ncommand = \"  \"\n").contains("[start].command must not be empty"));
        assert!(error("[start]\ncommand = []\n").contains("[start].command is empty"));
        assert!(error("[start]\ncommand = [\"\"]\n").contains("[start].command[0]"));
        assert!(error("[start]\ncommand = \"a\\u0000b\"\n").contains("NUL"));
        assert!(
            error("[start]\ncommand = \"x\"\nenv = { \"A=B\" = \"1\" }\n").contains("[start].env")
        );
        assert!(error("[start]\ncommand = \"x\"\nready_path = \"health\"\n")
            .contains("[start].ready_path"));
    }

    #[test]
    fn urls_that_do_not_parse_are_refused() {
        let running = "webhook_secret = \"whsec_x\"\nsimulator_port = 1\n";
        for bad in ["127.0.0.1:3000", "not a url", "ftp://host/", "http://"] {
            let err = error(&format!("url = \"{bad}\"\n{running}"));
            assert!(
                err.starts_with("url must be an http(s) URL"),
                "{bad}: {err}"
            );
        }
        assert!(
            error("url = \"http://h\"\nwebhook_secret = \"\"\nsimulator_port = 1\n")
                .contains("webhook_secret")
        );
    }

    #[test]
    fn routes_need_a_method_and_a_path() {
        for (route, field) in [
            ("create_order = \"POST\"", "[routes].create_order"),
            ("create_order = \"/api/orders\"", "[routes].create_order"),
            ("capture = \"POST api\"", "[routes].capture"),
            ("capture = \"POST /a b\"", "[routes].capture"),
            (
                "get_order = \"GET /api/orders\"",
                "[routes].get_order must contain {id}",
            ),
            ("webhook = \"hooks\"", "[routes].webhook"),
        ] {
            let err = error(&format!("{START}[routes]\n{route}\n"));
            assert!(err.contains(field), "{route}: {err}");
        }
    }

    #[test]
    fn route_placeholders_are_checked_and_the_webhook_takes_post_or_a_bare_path() {
        let ok = TargetFile::parse(&format!(
            "{START}[routes]\ncapture = \"GET /checkout/success?session_id={{session_id}}\"\nwebhook = \"POST /webhook\"\n"
        ))
        .unwrap();
        assert_eq!(ok.routes.webhook_path().unwrap(), "/webhook");
        assert!(ok.has_return_route());
        let err = error(&format!(
            "{START}[routes]\ncapture = \"GET /ok?id={{id}}\"\n"
        ));
        assert!(
            err.contains("unknown placeholder {id}") && err.contains("{session_id}"),
            "{err}"
        );
        let err = error(&format!("{START}[routes]\nwebhook = \"GET /webhook\"\n"));
        assert!(err.contains("Stripe delivers webhooks with POST"), "{err}");
        let none = TargetFile::parse(&format!("{START}[routes]\ncapture = false\n")).unwrap();
        assert!(!none.has_return_route());
        assert!(error(&format!("{START}[routes]\ncapture = true\n")).contains("capture"));
    }

    #[test]
    fn observe_commands_and_waits_are_checked() {
        let ok = TargetFile::parse(&format!(
            "{START}[observe]\nread_order = [\"sqlite3\", \"db\", \"select … '{{id}}'\"]\nsettle_ms = 100\npoll_ms = 2000\n"
        ))
        .unwrap();
        assert_eq!(ok.observe.settle(), std::time::Duration::from_millis(100));
        assert!(
            error(&format!("{START}[observe]\nread_order = []\n")).contains("[observe].read_order")
        );
        assert!(error(&format!("{START}[observe]\nsettle_ms = 3600000\n"))
            .contains("[observe].settle_ms"));
        let running =
            "url = \"http://127.0.0.1:3000\"\nwebhook_secret = \"whsec_x\"\nsimulator_port = 1\n";
        assert!(error(&format!(
            "{running}[observe]\nread_order = \"cat {{tmp}}/x\"\n"
        ))
        .contains("{tmp}"));
    }

    #[test]
    fn json_pointers_start_with_a_slash() {
        let err = error(&format!("{START}[fields]\nstatus = \"status\"\n"));
        assert_eq!(
            err,
            "[fields].status must be a JSON pointer starting with / (got 'status'; did you mean '/status'?)"
        );
        assert!(
            error(&format!("{START}[routes]\norder_id_pointer = \"id\"\n"))
                .contains("[routes].order_id_pointer")
        );
        // Empty: the whole answer.
        assert!(TargetFile::parse(&format!("{START}[routes]\norder_id_pointer = \"\"\n")).is_ok());
    }

    #[test]
    fn a_status_word_means_one_state() {
        let err = error(&format!(
            "{START}[status_words]\npaid = [\"done\"]\nrefunded = [\"DONE\"]\n"
        ));
        assert!(
            err.contains("'DONE' is both") || err.contains("'done' is both"),
            "{err}"
        );
        assert!(error(&format!("{START}[status_words]\npaid = [\"\"]\n"))
            .contains("[status_words].paid"));
    }

    #[test]
    fn unknown_policy_keys_are_refused() {
        let err = error(&format!(
            "{START}[policy]\npartial_refunds_mark_refunded = true\n"
        ));
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn snapshot_redactions_name_recorded_fields() {
        let ok = TargetFile::parse(&format!(
            "{START}[snapshots]\nfields = {{ updatedAt = \"/updatedAt\" }}\nredact = [\"updatedAt\", \"provider_capture_id\"]\nomit = [\"deliveries\", \"amount\"]\n"
        ))
        .unwrap();
        assert!(ok.snapshots.redacts("updatedAt") && ok.snapshots.omits("deliveries"));
        let err = error(&format!("{START}[snapshots]\nredact = [\"updated_at\"]\n"));
        assert!(
            err.starts_with(
                "[snapshots].redact: 'updated_at' is not a recorded field (known: status, amount"
            ),
            "{err}"
        );
        assert!(error(&format!("{START}[snapshots]\nomit = [\"stepz\"]\n"))
            .contains("steps, deliveries"));
        assert!(error(&format!(
            "{START}[snapshots]\nredact = [\"status\"]\nomit = [\"status\"]\n"
        ))
        .contains("both redacted and omitted"));
        assert!(error(&format!(
            "{START}[snapshots]\nfields = {{ t = \"updatedAt\" }}\n"
        ))
        .contains("[snapshots].fields.t must be a JSON pointer"));
        assert!(error(&format!(
            "{START}[snapshots]\nfields = {{ status = \"/s\" }}\n"
        ))
        .contains("already recorded"));
        assert!(error(&format!("{START}[snapshots]\nredacted = []\n")).contains("unknown field"));
    }

    #[test]
    fn a_loaded_file_names_itself_in_its_errors() {
        let path = std::env::temp_dir().join(format!("bad-target-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "[start]\ncommand = \"x\"\nready_timeout_secs = 9223372036854775807\n",
        )
        .unwrap();
        let err = TargetFile::load(&path).unwrap_err().to_string();
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            err,
            format!(
                "target file {}: [start].ready_timeout_secs must be between 1 and 3600 (got 9223372036854775807)",
                path.display()
            )
        );
    }

    /// The ```toml block after `after` in `text`, without a `//! ` prefix.
    fn toml_block(text: &str, after: &str) -> String {
        let start = text.find(after).expect("the section") + after.len();
        let rest = &text[start..];
        let open = rest.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let close = rest[open..].find("```").expect("its end");
        rest[open..open + close]
            .lines()
            .map(|l| {
                l.strip_prefix("//! ")
                    .or(l.strip_prefix("//!"))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_documented_examples_are_valid_target_files() {
        let doc = toml_block(include_str!("target_file.rs"), "//! Target files:");
        let file = TargetFile::parse(&doc).unwrap();
        assert_eq!(file.timeouts_before_hung(), 3);
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
                .unwrap();
        let example = toml_block(&readme, "## Test your own app, in any language");
        let file = TargetFile::parse(&example).unwrap();
        // It shows the real defaults.
        let defaults = TargetFile::parse(START).unwrap();
        let routes = |r: &Routes| {
            (
                r.create_order.clone(),
                r.order_id_pointer.clone(),
                r.get_order.clone(),
                r.webhook.clone(),
                r.capture.clone(),
            )
        };
        assert_eq!(routes(&file.routes), routes(&defaults.routes));
        assert_eq!(
            format!("{:?}", file.fields),
            format!("{:?}", defaults.fields)
        );
        assert_eq!(
            format!("{:?}", file.status_words),
            format!("{:?}", defaults.status_words)
        );
        assert_eq!(file.policy, defaults.policy);
        assert_eq!(file.start.as_ref().unwrap().ready_path, None);
        assert_eq!(file.call_timeout(), std::time::Duration::from_secs(15));
        assert_eq!(file.timeouts_before_hung(), 3);
        assert_eq!(file.answer_cap(), 1024 * 1024);
    }
}
