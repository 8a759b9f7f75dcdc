//! The servers under test, each a separate process on a free loopback port: stripe-sim (the
//! release binary), localstripe (Python) and stripe-stateful-mock (Node). Memory is read from the
//! server's own process (`/proc/<pid>/status`), never the benchmark's.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::Conn;

/// Which fake Stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    StripeSim,
    Localstripe,
    StatefulMock,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::StripeSim, Kind::Localstripe, Kind::StatefulMock];

    pub fn name(self) -> &'static str {
        match self {
            Kind::StripeSim => "stripe-sim",
            Kind::Localstripe => "localstripe",
            Kind::StatefulMock => "stripe-stateful-mock",
        }
    }

    /// A key each accepts (stripe-stateful-mock wants `sk_test_…`; localstripe any `sk_…`).
    pub fn api_key(self) -> &'static str {
        match self {
            Kind::StripeSim => "sk_test_stripesim",
            _ => "sk_test_bench",
        }
    }

    /// A request that answers 200 once the server is up (and creates nothing).
    fn ready_path(self) -> &'static str {
        match self {
            Kind::StripeSim => "/_sim/health",
            // No auth needed, and unlike /v1/balance it records no event.
            Kind::Localstripe => "/js.stripe.com/v3/",
            Kind::StatefulMock => "/",
        }
    }
}

/// Where the programs are.
#[derive(Debug, Clone, Default)]
pub struct Programs {
    pub stripe_sim: PathBuf,
    /// `bench/.peers/localstripe-venv/bin/localstripe` (from `bench/peers/install.sh`).
    pub localstripe: Option<PathBuf>,
    /// `stripe-stateful-mock/dist/cli.js` (from `bench/peers/install.sh`).
    pub stateful_mock: Option<PathBuf>,
}

impl Programs {
    pub fn has(&self, kind: Kind) -> bool {
        match kind {
            Kind::StripeSim => true,
            Kind::Localstripe => self.localstripe.is_some(),
            Kind::StatefulMock => self.stateful_mock.is_some(),
        }
    }
}

/// Extra settings for a stripe-sim started for the webhook benchmarks.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    pub forward_to: Option<String>,
    pub webhook_secret: Option<String>,
    pub events: Option<String>,
    /// Further `stripe-sim serve` flags (`--state FILE`, `--max-records N`, …).
    pub extra: Vec<String>,
}

/// A running server; stopped when dropped.
pub struct Server {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub startup: Duration,
    child: Child,
}

impl Server {
    pub fn start(kind: Kind, programs: &Programs, options: &SimOptions) -> Result<Server, String> {
        let port = free_port()?;
        let mut command = match kind {
            Kind::StripeSim => {
                let mut c = Command::new(&programs.stripe_sim);
                c.args(["serve", "--port", &port.to_string(), "--seed", "1"]);
                if let Some(url) = &options.forward_to {
                    c.args(["--forward-to", url]);
                }
                if let Some(secret) = &options.webhook_secret {
                    c.args(["--webhook-secret", secret]);
                }
                if let Some(events) = &options.events {
                    c.args(["--events", events]);
                }
                c.args(&options.extra);
                c
            }
            Kind::Localstripe => {
                let exe = programs
                    .localstripe
                    .as_ref()
                    .ok_or("localstripe is not installed (run bench/peers/install.sh)")?;
                // The venv's python, with localstripe's per-request access log switched off
                // (it has no flag for it): the peer gets its best showing.
                let python = exe.with_file_name("python");
                let mut c = Command::new(python);
                c.args([
                    "-c",
                    "import logging; logging.disable(logging.INFO); from localstripe.server import start; start()",
                    "--port",
                    &port.to_string(),
                    // Otherwise it reloads the state an earlier run pickled to /tmp.
                    "--from-scratch",
                ]);
                c
            }
            Kind::StatefulMock => {
                let js = programs
                    .stateful_mock
                    .as_ref()
                    .ok_or("stripe-stateful-mock is not installed (run bench/peers/install.sh)")?;
                let mut c = Command::new("node");
                c.arg(js)
                    .env("PORT", port.to_string())
                    .env("LOG_LEVEL", "error");
                c
            }
        };
        let started = Instant::now();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.name()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Server {
            kind,
            addr,
            startup: Duration::ZERO,
            child,
        };
        server.startup = server.wait_ready(started)?;
        Ok(server)
    }

    /// Polls the ready path until it answers 200; the time from spawn is the startup time.
    fn wait_ready(&mut self, started: Instant) -> Result<Duration, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited at start: {status}", self.kind.name()));
            }
            let up = runtime.block_on(async {
                let mut conn = Conn::connect(self.addr, self.kind.api_key()).await.ok()?;
                let answer = conn.get(self.kind.ready_path()).await.ok()?;
                Some(answer.status.is_success())
            });
            if up == Some(true) {
                return Ok(started.elapsed());
            }
            if Instant::now() > deadline {
                return Err(format!("{} not ready after 30 s", self.kind.name()));
            }
            // Startup is what is being measured: poll often.
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The most memory the process has held (VmHWM), in KiB.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        proc_status_kib(self.child.id(), "VmHWM:")
    }

    /// The memory the process holds now (VmRSS), in KiB.
    pub fn memory_kib(&self) -> Option<u64> {
        proc_status_kib(self.child.id(), "VmRSS:")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A port nobody listens on now (the OS picks it).
pub fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on loopback: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
