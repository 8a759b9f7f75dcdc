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
//! env = { NODE_ENV = "test" }
//! ready_path = "/health"               # polled until 2xx
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
//! webhook = "/api/webhooks/stripe"
//! capture = "POST /api/orders/capture"
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
    #[serde(default = "default_ready_path")]
    pub ready_path: String,
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_secs: u64,
}

fn default_ready_path() -> String {
    "/".to_string()
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
    /// `METHOD /path`.
    pub create_order: String,
    /// JSON body of a new order; `{amount}`, `{currency}`, `{provider}` are replaced (numbers stay
    /// numbers). The payment spec's fields by default.
    pub create_order_body: Option<serde_json::Value>,
    pub order_id_pointer: String,
    /// `METHOD /path/{id}`.
    pub get_order: String,
    pub webhook: String,
    pub capture: String,
    /// JSON body of the return route; `{session_id}` is replaced.
    pub capture_body: Option<serde_json::Value>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            create_order: "POST /api/orders".to_string(),
            create_order_body: None,
            order_id_pointer: "/id".to_string(),
            get_order: "GET /api/orders/{id}".to_string(),
            webhook: "/api/webhooks/stripe".to_string(),
            capture: "POST /api/orders/capture".to_string(),
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
        self.routes.validate()?;
        self.fields.validate()?;
        self.status_words.validate()
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
        match &self.command {
            Command::Shell(line) => {
                not_blank("[start].command", line)?;
                no_nul("[start].command", line)?;
            }
            Command::Argv(argv) => {
                let Some(program) = argv.first() else {
                    return Err("[start].command is empty: give [\"program\", \"arg\", …] or one string run by sh -c".into());
                };
                not_blank("[start].command[0] (the program)", program)?;
                for arg in argv {
                    no_nul("[start].command", arg)?;
                }
            }
        }
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
        url_path("[start].ready_path", &self.ready_path)?;
        within(
            "[start].ready_timeout_secs",
            self.ready_timeout_secs,
            TIMEOUT_SECS,
        )
    }
}

impl Routes {
    fn validate(&self) -> Result<(), String> {
        for (name, route) in [
            ("create_order", &self.create_order),
            ("get_order", &self.get_order),
            ("capture", &self.capture),
        ] {
            split_route(route).map_err(|e| format!("[routes].{name}: {e}"))?;
        }
        if !self.get_order.contains("{id}") {
            return Err(format!(
                "[routes].get_order must contain {{id}}, where the order's id goes (got '{}')",
                self.get_order.escape_debug()
            ));
        }
        url_path("[routes].webhook", &self.webhook)?;
        pointer("[routes].order_id_pointer", &self.order_id_pointer)
    }
}

impl Fields {
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
        assert_eq!(file.call_timeout(), std::time::Duration::from_secs(15));
        assert_eq!(file.timeouts_before_hung(), 3);
        assert_eq!(file.answer_cap(), 1024 * 1024);
    }
}
