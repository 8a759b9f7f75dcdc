//! Target files: how to reach the app under test, in any language.
//!
//! ```toml
//! name = "my-app"
//!
//! # Either start it…
//! [start]
//! command = ["node", "server.js"]      # or a string run by `sh -c`
//! cwd = "targets/node"
//! env = { NODE_ENV = "test" }
//! ready_path = "/health"               # polled until 2xx
//! ready_timeout_secs = 60
//!
//! # …or reach one already running (it must use the webhook secret below and
//! # STRIPE_API_BASE = http://127.0.0.1:<simulator_port>).
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
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
    #[error("target file {path} is not valid: {message}")]
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

    pub fn parse(text: &str) -> Result<TargetFile, String> {
        let file: TargetFile = toml::from_str(text).map_err(|e| e.to_string())?;
        match (&file.start, &file.url) {
            (Some(_), Some(_)) => return Err("give either [start] or url, not both".into()),
            (None, None) => return Err("give [start] (a command that starts the target) or url (a running target)".into()),
            (None, Some(_)) if file.webhook_secret.is_none() => {
                return Err("a running target (url) needs webhook_secret: the secret it verifies signatures with".into())
            }
            (None, Some(_)) if file.simulator_port.is_none() => {
                return Err("a running target (url) needs simulator_port: the port its STRIPE_API_BASE points at".into())
            }
            _ => {}
        }
        for (name, route) in [
            ("create_order", &file.routes.create_order),
            ("get_order", &file.routes.get_order),
            ("capture", &file.routes.capture),
        ] {
            split_route(route).map_err(|e| format!("routes.{name}: {e}"))?;
        }
        Ok(file)
    }
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
        .contains("routes.create_order"));
        assert!(TargetFile::parse("[start]\ncommand = \"x\"\ncolour = 1\n").is_err());
    }
}
