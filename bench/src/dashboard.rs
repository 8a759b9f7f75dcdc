//! The dashboard's cost to the API: "with no dashboard open, nothing changes; with one open,
//! `stripe-bench` figures stay within noise".
//!
//! `POST /v1/customers` at 16 connections on one simulator, in windows that alternate between
//! no dashboard and one open (which goes first alternates too, as the store grows). "Open" is
//! what a browser showing the overview does: a client on the live stream
//! (`/_sim/dashboard/live`) reading every notice (each create makes a `customer.created`
//! event, so a notice), and, as the page's script does, fetching the page again at most every
//! 120 ms while notices arrive.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::load::{run_window, Conn, Load};
use crate::ops::{bind, Fixtures, Op};
use crate::servers::{Kind, Programs, Server, SimOptions};
use crate::stats::Runs;

/// What the page's script waits between two fetches while notices arrive
/// (`simulator/src/dashboard/layout.rs`).
const REFRESH_EVERY: Duration = Duration::from_millis(120);

/// Settings of the dashboard section.
#[derive(Debug, Clone, Copy)]
pub struct DashboardPlan {
    pub runs: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub connections: usize,
}

/// Creates per second with no dashboard and with one open.
#[derive(Debug, Clone)]
pub struct DashboardFigures {
    pub connections: usize,
    pub closed: Runs,
    pub open: Runs,
    /// What the open dashboard read from the live stream, and the pages it fetched.
    pub stream_bytes: u64,
    pub pages: u64,
}

impl DashboardFigures {
    /// The open rate as a share of the closed one.
    pub fn ratio(&self) -> f64 {
        self.open.median() / self.closed.median().max(1e-9)
    }

    /// Within noise: the open median is no further below the closed one than the larger spread
    /// of the two windows' runs (and 5% at least: two medians of the same thing differ that
    /// much here).
    pub fn within_noise(&self) -> bool {
        let noise = self.closed.spread().max(self.open.spread()).max(0.05);
        self.ratio() >= 1.0 - noise
    }
}

/// An open dashboard: the live stream read and the page fetched, until dropped.
struct OpenDashboard {
    task: tokio::task::JoinHandle<()>,
    bytes: Arc<AtomicU64>,
    pages: Arc<AtomicU64>,
}

impl OpenDashboard {
    async fn open(addr: SocketAddr, api_key: &str) -> Result<OpenDashboard, String> {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let request = format!(
            "GET /_sim/dashboard/live HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {api_key}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot ask for the live stream: {e}"))?;
        let mut head = vec![0; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
            .await
            .map_err(|_| "the live stream sent no head in 5 s".to_string())?
            .map_err(|e| format!("cannot read the live stream: {e}"))?;
        let head = String::from_utf8_lossy(&head[..n]).to_string();
        if !head.starts_with("HTTP/1.1 200") || !head.contains("text/event-stream") {
            return Err(format!(
                "the live stream answered {}",
                head.lines().next().unwrap_or("nothing")
            ));
        }
        let bytes = Arc::new(AtomicU64::new(0));
        let pages = Arc::new(AtomicU64::new(0));
        let notified = Arc::new(tokio::sync::Notify::new());
        let reader = {
            let (bytes, notified) = (bytes.clone(), notified.clone());
            async move {
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = stream.read(&mut buffer).await {
                    bytes.fetch_add(n as u64, Ordering::Relaxed);
                    notified.notify_one();
                }
            }
        };
        let mut page = Conn::connect(addr, api_key).await?;
        let refresher = {
            let pages = pages.clone();
            async move {
                loop {
                    notified.notified().await;
                    match page.get("/_sim/dashboard").await {
                        Ok(answer) if answer.status.is_success() => {
                            pages.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => break,
                    }
                    tokio::time::sleep(REFRESH_EVERY).await;
                }
            }
        };
        let task = tokio::spawn(async move {
            tokio::join!(reader, refresher);
        });
        Ok(OpenDashboard { task, bytes, pages })
    }
}

impl Drop for OpenDashboard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn measure(
    runtime: &tokio::runtime::Runtime,
    programs: &Programs,
    plan: DashboardPlan,
) -> Result<DashboardFigures, String> {
    let server = Server::start(Kind::StripeSim, programs, &SimOptions::default())?;
    let key = Kind::StripeSim.api_key();
    let op = bind(Op::CreateCustomer, Kind::StripeSim, &Fixtures::default());
    let load = Load {
        connections: plan.connections,
        warmup: plan.warmup,
        measure: plan.measure,
    };
    let (mut closed, mut open) = (Vec::new(), Vec::new());
    let (mut stream_bytes, mut pages) = (0, 0);
    let mut first_iteration = 1_000u64;
    for run in 0..plan.runs {
        for with_dashboard in [run % 2 == 1, run % 2 == 0] {
            let dashboard = if with_dashboard {
                Some(runtime.block_on(OpenDashboard::open(server.addr, key))?)
            } else {
                None
            };
            let window = runtime.block_on(run_window(
                server.addr,
                key,
                load,
                op.clone(),
                first_iteration,
            ))?;
            first_iteration += 10_000_000;
            if window.errors > 0 {
                return Err(format!(
                    "{} errors ({})",
                    window.errors,
                    window.first_error.unwrap_or_default()
                ));
            }
            match dashboard {
                Some(dashboard) => {
                    stream_bytes += dashboard.bytes.load(Ordering::Relaxed);
                    pages += dashboard.pages.load(Ordering::Relaxed);
                    open.push(window.per_second());
                }
                None => closed.push(window.per_second()),
            }
        }
    }
    if stream_bytes == 0 || pages == 0 {
        return Err(format!(
            "the open dashboard read {stream_bytes} bytes of notices and fetched {pages} pages: it was not open"
        ));
    }
    Ok(DashboardFigures {
        connections: plan.connections,
        closed: Runs::new(closed),
        open: Runs::new(open),
        stream_bytes,
        pages,
    })
}

fn rate(runs: &Runs) -> String {
    format!("{:.0}/s ±{:.0}%", runs.median(), runs.spread() * 100.0)
}

/// The section's own table.
pub fn render(result: &Result<DashboardFigures, String>) -> String {
    let mut out = String::from("\n| Dashboard | stripe-sim | Goal |\n|---|---|---|\n");
    match result {
        Err(e) => out.push_str(&format!("| dashboard section | not measured: {e} | — |\n")),
        Ok(f) => out.push_str(&format!(
            "| POST /v1/customers · {} conns: no dashboard / one open (its live stream read, its page fetched at most every {} ms) | {} / {} ({:.0}%; {} KiB of notices read, {} pages fetched) | within noise {} |\n",
            f.connections,
            REFRESH_EVERY.as_millis(),
            rate(&f.closed),
            rate(&f.open),
            f.ratio() * 100.0,
            f.stream_bytes / 1024,
            f.pages,
            if f.within_noise() { "✅" } else { "❌" }
        )),
    }
    out
}
