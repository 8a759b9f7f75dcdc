//! Running a target and talking to it: the embedded reference target, a process the harness
//! starts (and stops, children included), or an app that is already running.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reference_target::defect::Defect;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::state::{ObservedOrder, OrderState};
use crate::target_file::{split_route, Command, TargetFile};

/// How long one HTTP call to the target may take before it counts as hung, unless the target
/// file says otherwise.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Lines of the target's output kept for error messages.
const OUTPUT_LINES: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target {target} could not start: {message}\n--- its output ---\n{output}")]
    Start {
        target: String,
        message: String,
        output: String,
    },
    #[error(
        "target {target} was not ready at {url} within {secs} s\n--- its output ---\n{output}"
    )]
    NotReady {
        target: String,
        url: String,
        secs: u64,
        output: String,
    },
    #[error("target {target}: {call} failed: {message}\n--- its output ---\n{output}")]
    Call {
        target: String,
        call: String,
        message: String,
        output: String,
    },
}

/// What the harness gives every target it starts.
#[derive(Debug, Clone)]
pub struct TargetEnv {
    /// `STRIPE_API_BASE`: the simulator's base URL.
    pub api_base: String,
    /// `STRIPE_SECRET_KEY`.
    pub api_key: String,
    /// `STRIPE_WEBHOOK_SECRET`.
    pub webhook_secret: String,
}

enum Running {
    Embedded(reference_target::server::RunningTarget),
    Process {
        pgid: u32,
        child: tokio::process::Child,
    },
    External,
}

/// A target ready to be driven.
pub struct Target {
    pub name: String,
    pub base_url: String,
    pub webhook_secret: String,
    pub file: TargetFile,
    client: reqwest::Client,
    running: Running,
    output: Arc<Mutex<VecDeque<String>>>,
    /// The tasks copying the process's stdout and stderr into `output`.
    collectors: Vec<tokio::task::JoinHandle<()>>,
}

impl Target {
    /// The reference target, in this process, optionally with a defect switched on.
    pub async fn embedded(defect: Option<Defect>, env: &TargetEnv) -> Result<Target, TargetError> {
        let name = match defect {
            Some(d) => format!("reference target (defect {})", d.name()),
            None => "reference target".to_string(),
        };
        // The report is the harness's; the embedded target's own log lines would drown it.
        reference_target::log::set_enabled(false);
        let config = reference_target::config::Config {
            port: 0,
            stripe_secret_key: env.api_key.clone(),
            stripe_webhook_secret: env.webhook_secret.clone(),
            stripe_api_base: env.api_base.clone(),
            defect,
            order_id_seed: Some(1),
            ..Default::default()
        };
        let running = reference_target::server::RunningTarget::start(config)
            .await
            .map_err(|e| TargetError::Start {
                target: name.clone(),
                message: e.to_string(),
                output: String::new(),
            })?;
        Ok(Target {
            base_url: running.base_url(),
            name,
            webhook_secret: env.webhook_secret.clone(),
            file: TargetFile::default(),
            client: client(),
            running: Running::Embedded(running),
            output: Arc::default(),
            collectors: Vec::new(),
        })
    }

    /// A target described by a file: started as a process, or already running at `url`.
    pub async fn from_file(file: TargetFile, env: &TargetEnv) -> Result<Target, TargetError> {
        let name = file.name.clone().unwrap_or_else(|| "target".to_string());
        let output: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let Some(start) = file.start.clone() else {
            let base_url = file
                .url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string();
            let target = Target {
                name,
                base_url,
                webhook_secret: file
                    .webhook_secret
                    .clone()
                    .unwrap_or_else(|| env.webhook_secret.clone()),
                file,
                client: client(),
                running: Running::External,
                output,
                collectors: Vec::new(),
            };
            return Ok(target);
        };
        let port = free_port().map_err(|e| TargetError::Start {
            target: name.clone(),
            message: format!("no free port: {e}"),
            output: String::new(),
        })?;
        let base_url = format!("http://127.0.0.1:{port}");
        let mut command = match &start.command {
            Command::Shell(line) => {
                let mut c = tokio::process::Command::new("sh");
                c.arg("-c").arg(line);
                c
            }
            Command::Argv(argv) => {
                let Some((program, args)) = argv.split_first() else {
                    return Err(TargetError::Start {
                        target: name,
                        message: "start.command is empty".into(),
                        output: String::new(),
                    });
                };
                let mut c = tokio::process::Command::new(program);
                c.args(args);
                c
            }
        };
        let cwd = match (&start.cwd, &file.dir) {
            (Some(cwd), Some(dir)) if cwd.is_relative() => Some(dir.join(cwd)),
            (Some(cwd), _) => Some(cwd.clone()),
            (None, _) => None,
        };
        if let Some(cwd) = &cwd {
            command.current_dir(cwd);
        }
        command
            .env("PORT", port.to_string())
            .env("STRIPE_SECRET_KEY", &env.api_key)
            .env("STRIPE_WEBHOOK_SECRET", &env.webhook_secret)
            .env("STRIPE_API_BASE", &env.api_base)
            .env("NEXT_PUBLIC_APP_URL", &base_url)
            .envs(&start.env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // Its own process group, so stopping it stops whatever it started too.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| TargetError::Start {
            target: name.clone(),
            message: format!(
                "cannot run {:?}{}: {e}",
                start.command,
                cwd.map(|c| format!(" in {}", c.display()))
                    .unwrap_or_default()
            ),
            output: String::new(),
        })?;
        let pgid = child.id().unwrap_or_default();
        let mut collectors = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            collectors.push(tokio::spawn(collect(
                BufReader::new(stdout),
                output.clone(),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            collectors.push(tokio::spawn(collect(
                BufReader::new(stderr),
                output.clone(),
            )));
        }
        let mut target = Target {
            name,
            base_url,
            webhook_secret: env.webhook_secret.clone(),
            file,
            client: client(),
            running: Running::Process { pgid, child },
            output,
            collectors,
        };
        target
            .wait_ready(
                &start.ready_path,
                Duration::from_secs(start.ready_timeout_secs),
            )
            .await?;
        Ok(target)
    }

    async fn wait_ready(&mut self, path: &str, limit: Duration) -> Result<(), TargetError> {
        let url = format!("{}{path}", self.base_url);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Running::Process { child, .. } = &mut self.running {
                if let Ok(Some(status)) = child.try_wait() {
                    // Let the last lines it printed reach the error message.
                    for collector in self.collectors.drain(..) {
                        let _ = tokio::time::timeout(Duration::from_secs(1), collector).await;
                    }
                    return Err(TargetError::Start {
                        target: self.name.clone(),
                        message: format!("it exited with {status} before becoming ready"),
                        output: self.output(),
                    });
                }
            }
            let ok = self
                .client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TargetError::NotReady {
                    target: self.name.clone(),
                    url,
                    secs: limit.as_secs(),
                    output: self.output(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn call_timeout(&self) -> Duration {
        self.file
            .call_timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(CALL_TIMEOUT)
    }

    /// The URL the simulator delivers webhooks to.
    pub fn webhook_url(&self) -> String {
        format!("{}{}", self.base_url, self.file.routes.webhook)
    }

    /// The last lines the target printed.
    pub fn output(&self) -> String {
        let lines = self.output.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn call_error(&self, call: &str, message: impl Into<String>) -> TargetError {
        TargetError::Call {
            target: self.name.clone(),
            call: call.to_string(),
            message: message.into(),
            output: self.output(),
        }
    }

    async fn request(
        &self,
        call: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), TargetError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .timeout(self.call_timeout());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            let what = if e.is_timeout() {
                format!(
                    "no answer within {} s (the target hangs)",
                    self.call_timeout().as_secs()
                )
            } else {
                e.to_string()
            };
            self.call_error(call, what)
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| self.call_error(call, e.to_string()))?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// `POST /api/orders`: returns the new order's id.
    pub async fn create_order(
        &self,
        amount: i64,
        currency: &str,
        provider: &str,
    ) -> Result<String, TargetError> {
        let routes = &self.file.routes;
        let (method, path) =
            split_route(&routes.create_order).map_err(|e| self.call_error("create order", e))?;
        let template = routes.create_order_body.clone().unwrap_or_else(|| {
            json!({"productId": "lifetime", "productName": "Lifetime", "amount": "{amount}", "currency": "{currency}", "provider": "{provider}"})
        });
        let body = fill(
            &template,
            &[
                ("{amount}", json!(amount)),
                ("{currency}", json!(currency)),
                ("{provider}", json!(provider)),
            ],
        );
        let (status, answer) = self
            .request("create order", method, &path, Some(body))
            .await?;
        if !(200..300).contains(&status) {
            return Err(self.call_error("create order", format!("answered {status}: {answer}")));
        }
        match answer.pointer(&routes.order_id_pointer) {
            Some(Value::String(id)) => Ok(id.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(self.call_error(
                "create order",
                format!("no order id at {} in {answer}", routes.order_id_pointer),
            )),
        }
    }

    /// `GET /api/orders/{id}`, mapped to the four states.
    pub async fn get_order(&self, id: &str) -> Result<ObservedOrder, TargetError> {
        let (method, path) = split_route(&self.file.routes.get_order)
            .map_err(|e| self.call_error("read order", e))?;
        let path = path.replace("{id}", &crate::uri::encode_component(id));
        let (status, answer) = self.request("read order", method, &path, None).await?;
        if status != 200 {
            return Err(self.call_error(
                "read order",
                format!("GET {path} answered {status}: {answer}"),
            ));
        }
        let fields = &self.file.fields;
        let text = |pointer: &str| {
            answer
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let word = text(&fields.status).ok_or_else(|| {
            self.call_error(
                "read order",
                format!("no status at {} in {answer}", fields.status),
            )
        })?;
        let state = self.map_status(&word).ok_or_else(|| {
            self.call_error(
                "read order",
                format!("status '{word}' is none of the words in [status_words]"),
            )
        })?;
        Ok(ObservedOrder {
            state,
            provider_order_id: text(&fields.provider_order_id),
            provider_capture_id: text(&fields.provider_capture_id),
            raw: answer,
        })
    }

    fn map_status(&self, word: &str) -> Option<OrderState> {
        let words = &self.file.status_words;
        let matches = |list: &[String]| list.iter().any(|w| w.eq_ignore_ascii_case(word));
        if matches(&words.pending) {
            Some(OrderState::Pending)
        } else if matches(&words.paid) {
            Some(OrderState::Paid)
        } else if matches(&words.failed) {
            Some(OrderState::Failed)
        } else if matches(&words.refunded) {
            Some(OrderState::Refunded)
        } else {
            None
        }
    }

    /// The return route with a session id: its status and answer.
    pub async fn capture(&self, session_id: &str) -> Result<(u16, Value), TargetError> {
        let routes = &self.file.routes;
        let (method, path) =
            split_route(&routes.capture).map_err(|e| self.call_error("return route", e))?;
        let template = routes
            .capture_body
            .clone()
            .unwrap_or_else(|| json!({ "session_id": "{session_id}" }));
        let body = fill(&template, &[("{session_id}", json!(session_id))]);
        self.request("return route", method, &path, Some(body))
            .await
    }

    /// Stops a started process and everything it started: SIGTERM to the group, then SIGKILL.
    pub async fn stop(mut self) {
        match std::mem::replace(&mut self.running, Running::External) {
            Running::Embedded(target) => {
                let _ = target.stop().await;
            }
            Running::Process { pgid, mut child } => {
                signal_group(pgid, "TERM");
                if tokio::time::timeout(Duration::from_secs(3), child.wait())
                    .await
                    .is_err()
                {
                    signal_group(pgid, "KILL");
                    let _ = child.wait().await;
                }
                // Children that ignored SIGTERM must not outlive the run.
                signal_group(pgid, "KILL");
            }
            Running::External => {}
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Running::Process { pgid, .. } = &self.running {
            signal_group(*pgid, "KILL");
        }
    }
}

/// Sends a signal to a whole process group with the system's `kill`.
fn signal_group(pgid: u32, signal: &str) {
    if pgid == 0 {
        return;
    }
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn collect<R: tokio::io::AsyncRead + Unpin>(
    reader: BufReader<R>,
    sink: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut buffer = sink.lock().unwrap_or_else(|p| p.into_inner());
        if buffer.len() == OUTPUT_LINES {
            buffer.pop_front();
        }
        buffer.push_back(line);
    }
}

/// Replaces placeholder strings anywhere in a JSON template (a value that is exactly a
/// placeholder takes the replacement's type).
fn fill(template: &Value, replacements: &[(&str, Value)]) -> Value {
    match template {
        Value::String(s) => {
            if let Some((_, v)) = replacements.iter().find(|(k, _)| s == k) {
                return v.clone();
            }
            let mut out = s.clone();
            for (k, v) in replacements {
                let text = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                out = out.replace(k, &text);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| fill(i, replacements)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, replacements)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_keep_number_types_for_whole_placeholders() {
        let t = json!({"amount": "{amount}", "note": "pay {amount} now"});
        let filled = fill(&t, &[("{amount}", json!(100))]);
        assert_eq!(filled, json!({"amount": 100, "note": "pay 100 now"}));
    }
}
