//! Running a target and talking to it: the embedded reference target, a process the harness
//! starts (and stops, children included), or an app that is already running.
//!
//! A target is code still being written, so nothing it does may break or wedge the harness:
//! its output is captured byte-safely into a bounded buffer ([`crate::output`]), every answer is
//! read up to a cap ([`TargetAnswer`]), a process that exits mid-run or a target that stops
//! answering ends the run once, with a clear message ([`Target::fatal`]), and its process group
//! is stopped whatever happens (even on Ctrl-C: [`crate::signals`]).

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::call_log::CallLog;
use crate::harness::Reference;
use crate::output::{floor_char_boundary, OutputBuffer};
pub use crate::output::{OutputLine, Stream};
use crate::process::{free_port, instance_dir, signal_group, spawn, Process, ReadyPolls, Signal};
use crate::signals;
use crate::state::{ObservedOrder, OrderState};
use crate::target_file::{split_route, Command, TargetFile};

/// Lines of the target's output shown in an error message, and the bytes shown of each.
const OUTPUT_LINES: usize = 40;
/// The first lines shown, before those, when the target did not start.
const OUTPUT_HEAD: usize = 15;
const OUTPUT_WIDTH: usize = 400;

/// What an answer keeps for records: its first 2 KiB.
pub const EXCERPT_BYTES: usize = 2 * 1024;

/// What an error message shows of an answer.
pub const MESSAGE_EXCERPT_BYTES: usize = 300;

/// After a call fails without a timeout, how long to wait for a started process's exit to
/// show: a crashing process closes its sockets a moment before it can be reaped. (Missed under
/// heavy load, the exit is found by the next call.)
const EXIT_GRACE: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    #[error("target {target} could not start: {message}\n--- its output ---\n{output}")]
    Start {
        target: String,
        message: String,
        output: String,
    },
    #[error(
        "target {target} was not ready at {url} within {secs} s: {reason}\n--- its output (first and last lines) ---\n{output}"
    )]
    NotReady {
        target: String,
        url: String,
        secs: u64,
        /// What the polls saw, and the fix.
        reason: String,
        output: String,
    },
    #[error("target {target}: {call} failed: {message}\n--- its output ---\n{output}")]
    Call {
        target: String,
        call: String,
        message: String,
        output: String,
    },
    /// The process the harness started exited while the run was using it.
    #[error("target {target} exited with {status} in the middle of the run (found by {call})\n--- its last lines ---\n{output}")]
    Exited {
        target: String,
        call: String,
        status: String,
        output: String,
    },
    /// A mistake in the target file that would fail every scenario the same way (a status word
    /// it does not list, a route that is not there): the run stops once, naming the field.
    #[error("target {target}: check {field} in the target file: {message}")]
    Config {
        target: String,
        field: String,
        message: String,
    },
    /// The target stopped answering: `calls` calls in a row timed out.
    #[error("target {target} hangs: {calls} calls in a row got no answer within {secs} s (max_consecutive_timeouts = {calls}); the last was {call}\n--- its last lines ---\n{output}")]
    Hung {
        target: String,
        call: String,
        calls: u32,
        secs: u64,
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

/// One answer of the target to a call of the harness.
#[derive(Debug, Clone)]
pub struct TargetAnswer {
    pub status: u16,
    /// The answer parsed as JSON, or as text (lossy UTF-8) when it is not JSON or was cut.
    pub body: Value,
    /// Whether `body` was parsed from JSON.
    pub json: bool,
    /// Its first [`EXCERPT_BYTES`], as text (lossy UTF-8): what messages and records show.
    pub excerpt: String,
    /// Bytes read: the whole answer, or the cap when it was larger.
    pub bytes: usize,
    /// The answer was larger than the cap ([`TargetFile::answer_cap`]): the rest was not
    /// read.
    pub truncated: bool,
    /// From sending the call to the end of what was read.
    pub latency: Duration,
}

impl TargetAnswer {
    /// `404: {"error":"…"}` for a message: the status and the answer's first
    /// [`MESSAGE_EXCERPT_BYTES`], marked when the answer was longer or cut.
    pub fn describe(&self) -> String {
        let end = floor_char_boundary(&self.excerpt, MESSAGE_EXCERPT_BYTES);
        let mut out = format!("{}: {}", self.status, &self.excerpt[..end]);
        if self.bytes > end {
            out.push('…');
        }
        if self.truncated {
            out.push_str(&format!(" (answer cut at {})", human_bytes(self.bytes)));
        }
        out
    }

    /// A reason when the body is not JSON: the message to add to "no … in the answer".
    fn not_json(&self) -> &'static str {
        match (self.truncated, self.json) {
            (true, _) => ": an answer cut short is not read as JSON",
            (false, false) => " (the answer is not JSON)",
            (false, true) => "",
        }
    }
}

/// `1048576` → `1 MiB`.
fn human_bytes(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The first `max` bytes of `bytes` as text, not splitting a character.
fn excerpt(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut end = max;
    if bytes[end] & 0xC0 == 0x80 {
        if let Some(start) = (max.saturating_sub(3)..max)
            .rev()
            .find(|&i| bytes[i] >= 0xC0)
        {
            end = start;
        }
    }
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Bytes as text, without a copy when they are UTF-8.
fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

enum Running {
    Embedded(reference_target::server::RunningTarget),
    Process(Process),
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
    output: OutputBuffer,
    /// Calls in a row that got no answer within the call timeout.
    timeouts: AtomicU32,
    /// Set once the target cannot be driven any more (its process exited, or it hangs): every
    /// later call fails at once with it. A std mutex, never held across an `.await`.
    fatal: Mutex<Option<TargetError>>,
    /// The calls made, with their answers, while a trace is recorded.
    calls: CallLog,
    /// The instance's own folder (`{tmp}`), removed when it stops.
    tmp: Option<PathBuf>,
    /// Where and how `[observe]` commands run.
    commands: crate::commands::CommandContext,
}

impl Target {
    fn new(
        name: String,
        base_url: String,
        webhook_secret: String,
        file: TargetFile,
        running: Running,
        output: OutputBuffer,
    ) -> Target {
        Target {
            name,
            base_url,
            webhook_secret,
            file,
            client: client(),
            running,
            output,
            timeouts: AtomicU32::new(0),
            fatal: Mutex::new(None),
            calls: CallLog::default(),
            tmp: None,
            commands: crate::commands::CommandContext::default(),
        }
    }

    /// Starts counting timeouts in a row afresh (the configuration check before the run is not
    /// part of it).
    pub(crate) fn forget_timeouts(&self) {
        self.timeouts.store(0, Ordering::SeqCst);
    }

    /// The calls made to the target, recorded while [`CallLog::set_recording`] is on.
    pub fn calls(&self) -> &CallLog {
        &self.calls
    }

    /// The reference target, in this process, optionally with a defect switched on.
    pub async fn embedded(reference: Reference, env: &TargetEnv) -> Result<Target, TargetError> {
        let name = reference.name();
        // The report is the harness's; the embedded target's own log lines would drown it.
        reference_target::log::set_enabled(false);
        let config = reference_target::config::Config {
            port: 0,
            stripe_secret_key: env.api_key.clone(),
            stripe_webhook_secret: env.webhook_secret.clone(),
            stripe_api_base: env.api_base.clone(),
            defect: reference.defect,
            design: reference.design,
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
        Ok(Target::new(
            name,
            running.base_url(),
            env.webhook_secret.clone(),
            TargetFile::default(),
            Running::Embedded(running),
            OutputBuffer::default(),
        ))
    }

    /// A target described by a file: started as a process, or already running at `url`.
    pub async fn from_file(file: TargetFile, env: &TargetEnv) -> Result<Target, TargetError> {
        Target::from_file_as(file, env, 1).await
    }

    /// [`Target::from_file`] as instance `job` (1-based) of the app: `{job}`, `{port}` and
    /// `{tmp}` (a folder of its own, removed when it stops) in `[start]` and `[observe]` give
    /// each instance its own port, database and files.
    pub async fn from_file_as(
        file: TargetFile,
        env: &TargetEnv,
        job: usize,
    ) -> Result<Target, TargetError> {
        let name = file.name.clone().unwrap_or_else(|| "target".to_string());
        let start_error = |message: String| TargetError::Start {
            target: name.clone(),
            message,
            output: String::new(),
        };
        // Files from `TargetFile::load` are checked already; one built in code is checked here.
        file.validate().map_err(|e| start_error(e.to_string()))?;
        let Some(start) = file.start.clone() else {
            let base_url = file
                .url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string();
            let secret = file
                .webhook_secret
                .clone()
                .unwrap_or_else(|| env.webhook_secret.clone());
            let mut target = Target::new(
                name,
                base_url,
                secret,
                file,
                Running::External,
                OutputBuffer::default(),
            );
            target.commands.cwd = target.file.dir.clone();
            return Ok(target);
        };
        let port = free_port().map_err(|e| start_error(format!("no free port: {e}")))?;
        let base_url = format!("http://127.0.0.1:{port}");
        let tmp =
            instance_dir(job).map_err(|e| start_error(format!("no folder for {{tmp}}: {e}")))?;
        let instance: Vec<(&'static str, String)> = vec![
            ("{job}", job.to_string()),
            ("{port}", port.to_string()),
            ("{tmp}", tmp.display().to_string()),
        ];
        let (program, args) = crate::commands::fill_command(&start.command, &instance)
            .map_err(|e| start_error(format!("[start].command: {e}")))?;
        let mut command = std::process::Command::new(&program);
        command.args(&args);
        let cwd = match (&start.cwd, &file.dir) {
            (Some(cwd), Some(dir)) if cwd.is_relative() => Some(dir.join(cwd)),
            (Some(cwd), _) => Some(cwd.clone()),
            (None, _) => None,
        }
        .map(|c| PathBuf::from(crate::commands::fill_text(&c.to_string_lossy(), &instance)));
        if let Some(cwd) = &cwd {
            command.current_dir(cwd);
        }
        let mut app_env: Vec<(String, String)> = vec![
            ("PORT".into(), port.to_string()),
            ("STRIPE_SECRET_KEY".into(), env.api_key.clone()),
            ("STRIPE_WEBHOOK_SECRET".into(), env.webhook_secret.clone()),
            ("STRIPE_API_BASE".into(), env.api_base.clone()),
            ("NEXT_PUBLIC_APP_URL".into(), base_url.clone()),
        ];
        app_env.extend(
            start
                .env
                .iter()
                .map(|(k, v)| (k.clone(), crate::commands::fill_text(v, &instance))),
        );
        command
            .envs(app_env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        // Its own process group, so stopping it stops whatever it started too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let output = OutputBuffer::default();
        let process = spawn(&mut command, &output).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            start_error(format!(
                "cannot run {:?}{}: {e}",
                start.command,
                cwd.as_ref()
                    .map(|c| format!(" in {}", c.display()))
                    .unwrap_or_default()
            ))
        })?;
        let mut target = Target::new(
            name,
            base_url,
            env.webhook_secret.clone(),
            file,
            Running::Process(process),
            output,
        );
        target.tmp = Some(tmp);
        target.commands = crate::commands::CommandContext {
            cwd,
            env: app_env,
            instance,
        };
        target
            .wait_ready(
                start.ready_path.as_deref(),
                port,
                Duration::from_secs(start.ready_timeout_secs),
            )
            .await?;
        Ok(target)
    }

    /// Polls the app until it is ready: with `ready_path`, until that route answers 2xx;
    /// without, until `/` answers anything (the app listens). On a timeout the error says what
    /// the polls saw and what to change.
    async fn wait_ready(
        &self,
        ready_path: Option<&str>,
        port: u16,
        limit: Duration,
    ) -> Result<(), TargetError> {
        let path = ready_path.unwrap_or("/");
        let url = format!("{}{path}", self.base_url);
        let mut polls = ReadyPolls::default();
        let deadline = tokio::time::Instant::now().checked_add(limit);
        loop {
            if let Running::Process(process) = &self.running {
                if let Some(status) = process.exit_status() {
                    process.drain().await;
                    return Err(TargetError::Start {
                        target: self.name.clone(),
                        message: format!("it exited with {status} before becoming ready"),
                        output: self.startup_output(),
                    });
                }
            }
            match self
                .client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(answer) if ready_path.is_none() || answer.status().is_success() => return Ok(()),
                Ok(answer) => polls.answered(answer.status().as_u16()),
                Err(e) if e.is_timeout() => polls.timeouts += 1,
                Err(e) if e.is_connect() => polls.refused += 1,
                Err(e) => polls.other = Some(chain(&e)),
            }
            if deadline.is_none_or(|d| tokio::time::Instant::now() >= d) {
                return Err(TargetError::NotReady {
                    target: self.name.clone(),
                    url: url.clone(),
                    secs: limit.as_secs(),
                    reason: polls.reason(path, ready_path.is_some(), port),
                    output: self.startup_output(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The first and the last lines the target printed: for messages about a start that
    /// failed, where the first lines say why and a flood of later ones would push them out.
    fn startup_output(&self) -> String {
        self.output
            .head_and_tail(OUTPUT_HEAD, OUTPUT_LINES, OUTPUT_WIDTH)
    }

    fn call_timeout(&self) -> Duration {
        self.file.call_timeout()
    }

    /// The URL the simulator delivers webhooks to.
    pub fn webhook_url(&self) -> String {
        let path = self
            .file
            .routes
            .webhook_path()
            .unwrap_or_else(|_| self.file.routes.webhook.clone());
        format!("{}{path}", self.base_url)
    }

    /// Whether the app has a return route (`[routes].capture` is not `false`).
    pub fn has_return_route(&self) -> bool {
        self.file.has_return_route()
    }

    /// The last lines the target printed, for an error message.
    pub fn output(&self) -> String {
        self.output.tail(OUTPUT_LINES, OUTPUT_WIDTH)
    }

    /// The number the next line the target prints will get: [`Target::output_since`] this mark
    /// gives what it printed from now on.
    pub fn output_mark(&self) -> u64 {
        self.output.mark()
    }

    /// The lines the target printed since `mark` (those still kept: see
    /// [`Target::output_dropped`]), oldest first, stdout and stderr interleaved as read.
    pub fn output_since(&self, mark: u64) -> Vec<OutputLine> {
        self.output.since(mark)
    }

    /// Lines dropped so far to keep the output buffer within its caps
    /// ([`crate::output::MAX_LINES`], [`crate::output::MAX_BYTES`]).
    pub fn output_dropped(&self) -> u64 {
        self.output.dropped()
    }

    /// The started process's exit status, once it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match &self.running {
            Running::Process(process) => process.exit_status(),
            _ => None,
        }
    }

    /// Why this target cannot be driven any more, once a call found it so: its process exited,
    /// or it hangs ([`TargetFile::timeouts_before_hung`] calls in a row timed out). A run
    /// stops then: the next scenarios could only fail the same way.
    pub fn fatal(&self) -> Option<TargetError> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records `error` as fatal (the first one stays) and returns the one recorded.
    fn set_fatal(&self, error: TargetError) -> TargetError {
        self.fatal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(error)
            .clone()
    }

    fn call_error(&self, call: &str, message: impl Into<String>) -> TargetError {
        TargetError::Call {
            target: self.name.clone(),
            call: call.to_string(),
            message: message.into(),
            output: self.output(),
        }
    }

    /// The fatal error for a process that exited, once its last lines are read.
    async fn exited(&self, call: &str, process: &Process, status: ExitStatus) -> TargetError {
        process.drain().await;
        self.set_fatal(TargetError::Exited {
            target: self.name.clone(),
            call: call.to_string(),
            status: status.to_string(),
            output: self.startup_output(),
        })
    }

    /// Turns a failed call into its error: a timeout (fatal once too many came in a row), a
    /// process that exited, or anything else (refused, reset, cut mid-answer).
    async fn failed(&self, call: &str, error: reqwest::Error, read: Option<usize>) -> TargetError {
        if error.is_timeout() {
            let calls = self.timeouts.fetch_add(1, Ordering::SeqCst) + 1;
            let max = self.file.timeouts_before_hung();
            let secs = self.call_timeout().as_secs();
            if calls >= max {
                return self.set_fatal(TargetError::Hung {
                    target: self.name.clone(),
                    call: call.to_string(),
                    calls,
                    secs,
                    output: self.output(),
                });
            }
            return self.call_error(
                call,
                format!("no answer within {secs} s (the target hangs; {calls} of at most {max} timeouts in a row)"),
            );
        }
        if let Running::Process(process) = &self.running {
            let mut exit = process.exit.clone();
            let status =
                match tokio::time::timeout(EXIT_GRACE, exit.wait_for(Option::is_some)).await {
                    Ok(Ok(status)) => *status,
                    _ => None,
                };
            if let Some(status) = status {
                return self.exited(call, process, status).await;
            }
        }
        let mut message = chain(&error);
        if let Some(read) = read {
            message = format!("the answer broke off after {read} bytes: {message}");
        }
        self.call_error(call, message)
    }

    /// One call to the target: its answer read up to [`TargetFile::answer_cap`], within
    /// the call timeout.
    async fn request(
        &self,
        call: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<TargetAnswer, TargetError> {
        let started = Instant::now();
        let method_name = method.to_string();
        let answer = self.send(call, method, path, body).await;
        let record = crate::call_log::Call {
            call,
            method: &method_name,
            path,
        };
        match &answer {
            Ok(a) => self
                .calls
                .push(record, Some(a.status), a.latency, &a.excerpt, None),
            Err(e) => self.calls.push(
                record,
                None,
                started.elapsed(),
                "",
                Some(first_line(&e.to_string())),
            ),
        }
        answer
    }

    async fn send(
        &self,
        call: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<TargetAnswer, TargetError> {
        if let Some(fatal) = self.fatal() {
            return Err(fatal);
        }
        if let Running::Process(process) = &self.running {
            if let Some(status) = process.exit_status() {
                return Err(self.exited(call, process, status).await);
            }
        }
        let started = Instant::now();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .timeout(self.call_timeout());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Err(self.failed(call, e, None).await),
        };
        let status = response.status().as_u16();
        let limit = self.file.answer_cap();
        // Sized once from the announced length (never past the cap): no regrowth.
        let announced = response.content_length().unwrap_or(0);
        let mut bytes: Vec<u8> =
            Vec::with_capacity(usize::try_from(announced).unwrap_or(limit).min(limit));
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = limit.saturating_sub(bytes.len());
                    if chunk.len() > room {
                        // Stop reading: dropping the response closes the connection.
                        bytes.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.failed(call, e, Some(bytes.len())).await),
            }
        }
        drop(response);
        let latency = started.elapsed();
        self.timeouts.store(0, Ordering::SeqCst);
        let parsed = if truncated {
            None
        } else {
            serde_json::from_slice::<Value>(&bytes).ok()
        };
        let json = parsed.is_some();
        let excerpt = excerpt(&bytes, EXCERPT_BYTES);
        let read = bytes.len();
        let body = parsed.unwrap_or_else(|| Value::String(lossy(bytes)));
        Ok(TargetAnswer {
            status,
            body,
            json,
            excerpt,
            bytes: read,
            truncated,
            latency,
        })
    }

    /// `POST /api/orders` (or `[observe].create_order`): returns the new order's id.
    pub async fn create_order(
        &self,
        amount: i64,
        currency: &str,
        provider: &str,
    ) -> Result<String, TargetError> {
        let routes = &self.file.routes;
        let values = [
            ("{amount}", json!(amount)),
            ("{currency}", json!(currency)),
            ("{provider}", json!(provider)),
        ];
        let answer = match &self.file.observe.create_order {
            Some(command) => {
                let env = [
                    ("ORDER_AMOUNT", amount.to_string()),
                    ("ORDER_CURRENCY", currency.to_string()),
                    ("ORDER_PROVIDER", provider.to_string()),
                ];
                self.run_command("create order", command, &text_values(&values), &env)
                    .await?
            }
            None => {
                let (method, path) = split_route(&routes.create_order)
                    .map_err(|e| self.call_error("create order", e))?;
                let path = fill_path(&path, &values);
                let template = routes.create_order_body.clone().unwrap_or_else(|| {
                    json!({"productId": "lifetime", "productName": "Lifetime", "amount": "{amount}", "currency": "{currency}", "provider": "{provider}"})
                });
                let body = fill(&template, &values);
                let answer = self
                    .request("create order", method, &path, Some(body))
                    .await?;
                if !(200..300).contains(&answer.status) {
                    return Err(
                        self.call_error("create order", format!("answered {}", answer.describe()))
                    );
                }
                answer
            }
        };
        let id = match answer.body.pointer(&routes.order_id_pointer) {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(n)) => n.to_string(),
            // A command may print the bare id.
            _ if !answer.json && self.file.observe.create_order.is_some() => {
                answer.excerpt.trim().to_string()
            }
            _ => {
                return Err(self.call_error(
                    "create order",
                    format!(
                        "no order id at {} in {}{}",
                        routes.order_id_pointer,
                        answer.describe(),
                        answer.not_json()
                    ),
                ))
            }
        };
        // An id goes into every later path and message.
        if id.is_empty() || id.len() > MAX_ID_BYTES {
            return Err(self.call_error(
                "create order",
                format!(
                    "the order id at {} is {} bytes long (1 to {MAX_ID_BYTES} expected)",
                    routes.order_id_pointer,
                    id.len()
                ),
            ));
        }
        Ok(id)
    }

    /// `GET /api/orders/{id}` (or `[observe].read_order`), mapped to the four states.
    ///
    /// A status word that is none of `[status_words]` is a mistake in the target file, not in
    /// the app: every later read would fail the same way, so the run stops there, once.
    pub async fn get_order(&self, id: &str) -> Result<ObservedOrder, TargetError> {
        match self.read_order(id).await {
            Ok(order) => Ok(order),
            Err(ReadError::Target(e)) => Err(e),
            Err(ReadError::Config { field, message }) => {
                let error = TargetError::Config {
                    target: self.name.clone(),
                    field,
                    message,
                };
                Err(self.set_fatal(error))
            }
        }
    }

    async fn read_order(&self, id: &str) -> Result<ObservedOrder, ReadError> {
        let answer = match &self.file.observe.read_order {
            Some(command) => {
                self.run_command(
                    "read order",
                    command,
                    &[("{id}", id.to_string())],
                    &[("ORDER_ID", id.to_string())],
                )
                .await?
            }
            None => {
                let (method, path) = split_route(&self.file.routes.get_order)
                    .map_err(|e| self.call_error("read order", e))?;
                let path = fill_path(&path, &[("{id}", json!(id))]);
                let answer = self.request("read order", method, &path, None).await?;
                if answer.status != 200 {
                    return Err(self
                        .call_error(
                            "read order",
                            format!("GET {path} answered {}", answer.describe()),
                        )
                        .into());
                }
                answer
            }
        };
        let fields = &self.file.fields;
        let text = |pointer: &str| {
            answer
                .body
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let word = text(&fields.status).ok_or_else(|| {
            self.call_error(
                "read order",
                format!(
                    "no status at {} in {}{}",
                    fields.status,
                    answer.describe(),
                    answer.not_json()
                ),
            )
        })?;
        let state = self.map_status(&word).ok_or_else(|| ReadError::Config {
            field: "[status_words]".into(),
            message: format!(
                "the app answered status '{}' for order {id}, which is none of the words in [status_words] ({}); add it to the list of the state it means",
                word.escape_debug(),
                self.status_words_shown()
            ),
        })?;
        Ok(ObservedOrder {
            state,
            provider_order_id: text(&fields.provider_order_id),
            provider_capture_id: text(&fields.provider_capture_id),
            raw: answer.body,
        })
    }

    /// `pending = [pending], paid = [paid, complete], …`.
    fn status_words_shown(&self) -> String {
        let words = &self.file.status_words;
        [
            ("pending", &words.pending),
            ("paid", &words.paid),
            ("failed", &words.failed),
            ("refunded", &words.refunded),
        ]
        .iter()
        .map(|(state, list)| format!("{state} = [{}]", list.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// Runs an `[observe]` command as a call: what it printed is its answer (status 200).
    async fn run_command(
        &self,
        call: &str,
        command: &Command,
        values: &[(&str, String)],
        env: &[(&str, String)],
    ) -> Result<TargetAnswer, TargetError> {
        let shown = command.words().join(" ");
        let started = Instant::now();
        let outcome = crate::commands::run(
            command,
            &self.commands,
            values,
            env,
            self.call_timeout(),
            self.file.answer_cap(),
        )
        .await;
        let record = crate::call_log::Call {
            call,
            method: "RUN",
            path: &shown,
        };
        match outcome {
            Ok(output) => {
                let bytes = output.stdout.len();
                let parsed = serde_json::from_str::<Value>(&output.stdout).ok();
                let excerpt = excerpt(output.stdout.as_bytes(), EXCERPT_BYTES);
                self.calls
                    .push(record, Some(0), output.latency, &excerpt, None);
                Ok(TargetAnswer {
                    status: 200,
                    json: parsed.is_some(),
                    body: parsed.unwrap_or(Value::String(output.stdout)),
                    excerpt,
                    bytes,
                    truncated: output.truncated,
                    latency: output.latency,
                })
            }
            Err(message) => {
                self.calls
                    .push(record, None, started.elapsed(), "", Some(message.clone()));
                Err(self.call_error(call, format!("[observe] command: {message}")))
            }
        }
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

    /// The return route with a session id: its answer. Call it only when the app has one
    /// ([`Target::has_return_route`]).
    pub async fn capture(&self, session_id: &str) -> Result<TargetAnswer, TargetError> {
        let routes = &self.file.routes;
        let Some(route) = &routes.capture else {
            return Err(self.call_error(
                "return route",
                "the target file says the app has none ([routes].capture = false)",
            ));
        };
        let (method, path) = split_route(route).map_err(|e| self.call_error("return route", e))?;
        let values = [("{session_id}", json!(session_id))];
        let path = fill_path(&path, &values);
        let body = match &routes.capture_body {
            Some(template) => Some(fill(template, &values)),
            None if method == reqwest::Method::GET || method == reqwest::Method::HEAD => None,
            None => Some(fill(&json!({ "session_id": "{session_id}" }), &values)),
        };
        self.request("return route", method, &path, body).await
    }

    /// Stops a started process and everything it started: SIGTERM to the group, then SIGKILL.
    pub async fn stop(mut self) {
        match std::mem::replace(&mut self.running, Running::External) {
            Running::Embedded(target) => {
                let _ = target.stop().await;
            }
            Running::Process(process) => process.stop().await,
            Running::External => {}
        }
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_dir_all(tmp);
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Running::Process(process) = &self.running {
            signal_group(process.pgid, Signal::Kill);
            signals::forget(process.pgid);
        }
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_dir_all(tmp);
        }
    }
}

/// An error and its sources: reqwest's own message alone ("error sending request") says little.
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// The longest order id the harness accepts from a target.
const MAX_ID_BYTES: usize = 1024;

/// Why reading an order failed: the app, or the target file.
enum ReadError {
    Target(TargetError),
    /// Every read would fail the same way: the field of the target file to fix.
    Config {
        field: String,
        message: String,
    },
}

impl From<TargetError> for ReadError {
    fn from(error: TargetError) -> ReadError {
        ReadError::Target(error)
    }
}

/// Placeholders in a route's path and query, each value percent-encoded (RFC 3986).
fn fill_path(path: &str, values: &[(&str, Value)]) -> String {
    let mut out = path.to_string();
    for (placeholder, value) in values {
        let text = value
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        out = out.replace(placeholder, &crate::uri::encode_component(&text));
    }
    out
}

/// The values of placeholders as text, for commands.
fn text_values(values: &[(&'static str, Value)]) -> Vec<(&'static str, String)> {
    values
        .iter()
        .map(|(k, v)| {
            (
                *k,
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
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

/// The first line of a message (errors carry the target's output after it).
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_described_by_its_excerpt_and_says_when_it_was_cut() {
        let answer = TargetAnswer {
            status: 200,
            body: Value::Null,
            json: false,
            excerpt: excerpt(&vec![b'a'; 3000], EXCERPT_BYTES),
            bytes: 1024 * 1024,
            truncated: true,
            latency: Duration::ZERO,
        };
        let text = answer.describe();
        assert!(text.starts_with("200: aaa"), "{text}");
        assert!(text.ends_with("… (answer cut at 1 MiB)"), "{text}");
        assert_eq!(excerpt("é".repeat(2000).as_bytes(), 5), "éé");
    }

    #[test]
    fn placeholders_in_paths_are_percent_encoded_values() {
        let path = fill_path(
            "/checkout/success?session_id={session_id}",
            &[("{session_id}", json!("cs_test_a1 b"))],
        );
        assert_eq!(path, "/checkout/success?session_id=cs_test_a1%20b");
        assert_eq!(fill_path("/o/{id}", &[("{id}", json!(42))]), "/o/42");
    }

    #[test]
    fn templates_keep_number_types_for_whole_placeholders() {
        let t = json!({"amount": "{amount}", "note": "pay {amount} now"});
        let filled = fill(&t, &[("{amount}", json!(100))]);
        assert_eq!(filled, json!({"amount": 100, "note": "pay 100 now"}));
    }
}
