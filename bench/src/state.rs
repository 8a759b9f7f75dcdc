//! State: what `--state` costs, whether a reset gives memory back, and whether a long run stays
//! within the bound the retention flags set.
//!
//! * Creates per second (`POST /v1/customers`) in memory, with `--state` (a commit per batch of
//!   concurrent requests, no fsync) and with `--state --state-fsync`; the goal is at least half
//!   the in-memory figure with `--state`.
//! * Resident memory after filling the simulator with Checkout Sessions and after
//!   `POST /_sim/reset`.
//! * A long run: one customer updated again and again (each update is a `customer.updated`
//!   event), every event delivered to a signing receiver, with `--max-records`; resident memory
//!   is sampled along the way.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{run_count, run_window, Conn, Load, Operation};
use crate::ops::{bind, Fixtures, Op};
use crate::receiver::Receiver;
use crate::servers::{Kind, Programs, Server, SimOptions};
use crate::stats::Runs;

/// Events and delivery records kept at most in the long run.
pub const LONG_RUN_MAX_RECORDS: usize = 100_000;

/// What the state section measured.
#[derive(Debug, Clone, Default)]
pub struct StateFigures {
    /// (connections, in memory, --state, --state --state-fsync) creates per second.
    pub creates: Vec<(usize, Runs, Runs, Runs)>,
    pub sessions: u64,
    /// Resident memory (KiB): at start, filled, after the reset.
    pub reset_kib: Option<(u64, u64, u64)>,
    pub long_run: Option<LongRun>,
}

#[derive(Debug, Clone, Default)]
pub struct LongRun {
    pub events: u64,
    pub delivered: u64,
    pub elapsed: Duration,
    /// The largest resident memory sampled, and at the end (KiB).
    pub max_rss_kib: u64,
    pub end_rss_kib: u64,
    pub peak_kib: u64,
    /// Resident memory (KiB) after each tenth of the run.
    pub samples_kib: Vec<u64>,
}

impl LongRun {
    /// Bounded: the last sample is within 10% of the one half-way through (by then the run is
    /// several times `--max-records` past its start, so retention drops as much as comes in).
    pub fn bounded(&self) -> bool {
        let half = (self.samples_kib.len() / 2).checked_sub(1);
        match (
            half.and_then(|i| self.samples_kib.get(i)),
            self.samples_kib.last(),
        ) {
            (Some(&half), Some(&last)) => last as f64 <= half as f64 * 1.1,
            _ => false,
        }
    }

    /// The goal's mark: a run that stores fewer events than twice `--max-records` never
    /// reaches the limit (the smoke and quick sizes), so it can show no bound.
    pub fn verdict(&self) -> &'static str {
        if self.events < 2 * LONG_RUN_MAX_RECORDS as u64 {
            "— (too short to reach `--max-records`)"
        } else if self.bounded() {
            "✅"
        } else {
            "❌"
        }
    }
}

/// Settings of the state section.
#[derive(Debug, Clone, Copy)]
pub struct StatePlan {
    pub runs: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub sessions: u64,
    pub events: u64,
    /// Which parts to run.
    pub creates: bool,
    pub reset: bool,
    pub long_run: bool,
}

fn temp_state(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("stripe-bench-{name}-{}.db", std::process::id()))
}

fn remove_state(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-log", "-log.folding"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

fn create_rate(
    runtime: &tokio::runtime::Runtime,
    programs: &Programs,
    plan: &StatePlan,
    connections: usize,
    extra: &[&str],
) -> Result<Runs, String> {
    let path = temp_state("creates");
    remove_state(&path);
    let mut args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    for arg in &mut args {
        if arg == "FILE" {
            *arg = path.display().to_string();
        }
    }
    let options = SimOptions {
        extra: args,
        ..SimOptions::default()
    };
    let server = Server::start(Kind::StripeSim, programs, &options)?;
    let op = bind(Op::CreateCustomer, Kind::StripeSim, &Fixtures::default());
    let load = Load {
        connections,
        warmup: plan.warmup,
        measure: plan.measure,
    };
    let mut rates = Vec::new();
    for run in 0..plan.runs {
        let window = runtime.block_on(run_window(
            server.addr,
            Kind::StripeSim.api_key(),
            load,
            op.clone(),
            1_000 + run as u64 * 10_000_000,
        ))?;
        if window.errors > 0 {
            return Err(format!(
                "{} errors ({})",
                window.errors,
                window.first_error.unwrap_or_default()
            ));
        }
        rates.push(window.per_second());
    }
    drop(server);
    remove_state(&path);
    Ok(Runs::new(rates))
}

pub fn measure(
    runtime: &tokio::runtime::Runtime,
    programs: &Programs,
    plan: StatePlan,
) -> Result<StateFigures, String> {
    let mut figures = StateFigures {
        sessions: plan.sessions,
        ..StateFigures::default()
    };
    for connections in [2, 16].into_iter().filter(|_| plan.creates) {
        eprintln!("== state: creates at {connections} connections");
        figures.creates.push((
            connections,
            create_rate(runtime, programs, &plan, connections, &[])?,
            create_rate(runtime, programs, &plan, connections, &["--state", "FILE"])?,
            create_rate(
                runtime,
                programs,
                &plan,
                connections,
                &["--state", "FILE", "--state-fsync"],
            )?,
        ));
    }
    if plan.reset {
        eprintln!("== state: memory after a reset");
        figures.reset_kib = Some(reset_memory(runtime, programs, plan.sessions)?);
    }
    if plan.long_run {
        eprintln!("== state: long run of {} events", plan.events);
        figures.long_run = Some(long_run(runtime, programs, plan.events)?);
    }
    Ok(figures)
}

/// Fills a simulator with sessions, resets it, and reads its resident memory at each point.
fn reset_memory(
    runtime: &tokio::runtime::Runtime,
    programs: &Programs,
    sessions: u64,
) -> Result<(u64, u64, u64), String> {
    let server = Server::start(Kind::StripeSim, programs, &SimOptions::default())?;
    let key = Kind::StripeSim.api_key();
    let start = server
        .memory_kib()
        .ok_or("cannot read the server's memory")?;
    let create = bind(Op::CreateSession, Kind::StripeSim, &Fixtures::default());
    runtime.block_on(run_count(server.addr, key, 16, sessions, create))?;
    let filled = server
        .memory_kib()
        .ok_or("cannot read the server's memory")?;
    runtime.block_on(async {
        let mut conn = Conn::connect(server.addr, key).await?;
        conn.send_json("/_sim/reset", "{}")
            .await?
            .ok_json("resetting")
            .map(|_| ())
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let after = server
        .memory_kib()
        .ok_or("cannot read the server's memory")?;
    Ok((start, filled, after))
}

/// `POST /v1/customers/{id}` with a new metadata value: one `customer.updated` each.
struct UpdateCustomer {
    customer: String,
}

impl Operation for UpdateCustomer {
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        n: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            conn.post_form(
                &format!("/v1/customers/{}", self.customer),
                &format!("metadata%5Bn%5D={n}"),
            )
            .await?
            .ok_json("updating a customer")
            .map(|_| ())
        })
    }
}

/// `events` events, each delivered to a signing receiver, with `--max-records`; resident memory
/// sampled every tenth of the run.
fn long_run(
    runtime: &tokio::runtime::Runtime,
    programs: &Programs,
    events: u64,
) -> Result<LongRun, String> {
    const SECRET: &str = "whsec_bench_long_run";
    let receiver = runtime.block_on(Receiver::start(SECRET))?;
    let options = SimOptions {
        forward_to: Some(receiver.url.clone()),
        webhook_secret: Some(SECRET.into()),
        events: Some("customer.updated".into()),
        extra: vec!["--max-records".into(), LONG_RUN_MAX_RECORDS.to_string()],
    };
    let server = Server::start(Kind::StripeSim, programs, &options)?;
    let key = Kind::StripeSim.api_key();
    let customer = runtime.block_on(async {
        let mut conn = Conn::connect(server.addr, key).await?;
        let created = conn
            .post_form("/v1/customers", "name=Long+Run")
            .await?
            .ok_json("creating a customer")?;
        Ok::<_, String>(created["id"].as_str().unwrap_or_default().to_string())
    })?;
    let op: Arc<dyn Operation> = Arc::new(UpdateCustomer { customer });
    let started = Instant::now();
    let step = (events / 10).max(1);
    let mut done = 0;
    let mut max_rss = 0;
    let mut samples = Vec::new();
    while done < events {
        let count = step.min(events - done);
        runtime.block_on(run_count(server.addr, key, 8, count, op.clone()))?;
        done += count;
        // Let the deliveries catch up, as a developer's receiver would between bursts.
        runtime.block_on(receiver.wait_for(done, Duration::from_secs(120)));
        let rss = server.memory_kib().unwrap_or(0);
        samples.push(rss);
        max_rss = max_rss.max(rss);
    }
    let delivered = runtime.block_on(receiver.wait_for(events, Duration::from_secs(120)));
    let (_, bad) = receiver.counts();
    if bad > 0 {
        return Err(format!("{bad} deliveries whose signature did not verify"));
    }
    Ok(LongRun {
        events,
        delivered,
        elapsed: started.elapsed(),
        max_rss_kib: max_rss,
        end_rss_kib: server.memory_kib().unwrap_or(0),
        peak_kib: server.peak_memory_kib().unwrap_or(0),
        samples_kib: samples,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn rate(runs: &Runs) -> String {
    format!("{:.0}/s ±{:.0}%", runs.median(), runs.spread() * 100.0)
}

/// The section's own table.
pub fn render(result: &Result<StateFigures, String>) -> String {
    let mut out = String::from("\n| State and memory | stripe-sim | Goal |\n|---|---|---|\n");
    let figures = match result {
        Ok(f) => f,
        Err(e) => {
            out.push_str(&format!("| state section | not measured: {e} | — |\n"));
            return out;
        }
    };
    for (connections, memory, state, fsync) in &figures.creates {
        let ratio = state.median() / memory.median().max(1e-9);
        out.push_str(&format!(
            "| POST /v1/customers · {connections} conns: in memory / `--state` / `--state --state-fsync` | {} / {} / {} ({:.0}% of in memory with `--state`) | ≥ 50% with `--state` {} |\n",
            rate(memory),
            rate(state),
            rate(fsync),
            ratio * 100.0,
            if ratio >= 0.5 { "✅" } else { "❌" }
        ));
    }
    if let Some((start, filled, after)) = figures.reset_kib {
        out.push_str(&format!(
        "| resident memory: at start / after {} Checkout Sessions / after `POST /_sim/reset` | {} / {} / {} | gives it back {} |\n",
        figures.sessions,
        mib(start),
        mib(filled),
        mib(after),
        if after <= start + filled.saturating_sub(start) / 4 { "✅" } else { "❌" }
    ));
    }
    if let Some(run) = &figures.long_run {
        out.push_str(&format!(
            "| long run: {} `customer.updated` events, each delivered to one endpoint, `--max-records {LONG_RUN_MAX_RECORDS}` | {} delivered in {:.0} s; resident memory at most {} sampled, {} at the end (peak {}); after each tenth: {} MiB | stays bounded {} |\n",
            run.events,
            run.delivered,
            run.elapsed.as_secs_f64(),
            mib(run.max_rss_kib),
            mib(run.end_rss_kib),
            mib(run.peak_kib),
            run.samples_kib
                .iter()
                .map(|kib| format!("{:.0}", *kib as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(", "),
            run.verdict(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(samples: &[u64]) -> LongRun {
        LongRun {
            samples_kib: samples.to_vec(),
            ..LongRun::default()
        }
    }

    #[test]
    fn a_long_run_is_bounded_when_its_second_half_stays_near_its_middle() {
        assert!(run(&[366, 466, 495, 495, 520, 520, 520, 520, 520, 533]).bounded());
        assert!(!run(&[100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]).bounded());
        assert!(!run(&[]).bounded());
        assert!(!run(&[500]).bounded());
    }

    #[test]
    fn a_run_too_short_to_reach_the_limit_gets_no_mark() {
        let short = LongRun {
            events: 20_000,
            ..run(&[17, 23, 28, 34, 39, 44, 48, 55, 60, 65])
        };
        assert!(short.verdict().starts_with('—'));
        let long = LongRun {
            events: 1_000_000,
            ..run(&[366, 466, 495, 495, 520, 520, 520, 520, 520, 533])
        };
        assert_eq!(long.verdict(), "✅");
    }
}
