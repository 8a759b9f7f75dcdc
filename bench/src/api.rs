//! API benchmarks: each operation at each connection count, several measured windows. Every
//! operation starts on a freshly started server, so no figure depends on what ran before it
//! (localstripe, which pickles its whole store on every write, slows down as it fills).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::load::{run_window, Conn, Load};
use crate::ops::{bind, fixtures, Op};
use crate::servers::{Kind, Programs, Server, SimOptions};
use crate::stats::{percentile, Runs};

/// Settings of the API runs.
#[derive(Debug, Clone)]
pub struct ApiPlan {
    pub runs: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub connections: Vec<usize>,
    /// Connection count of the whole-payment flow.
    pub flow_connections: usize,
}

/// One operation at one load on one server.
#[derive(Debug, Clone, Default)]
pub struct Figure {
    pub per_second: Runs,
    /// Medians over the runs of each run's percentile.
    pub p50: Duration,
    pub p99: Duration,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Everything measured on one server.
#[derive(Debug, Clone, Default)]
pub struct ServerFigures {
    pub figures: BTreeMap<(OpKey, usize), Figure>,
    pub peak_memory_kib: u64,
}

/// `Op` as a map key, in table order.
pub type OpKey = usize;

pub fn key(op: Op) -> OpKey {
    Op::API
        .iter()
        .position(|o| *o == op)
        .unwrap_or(Op::API.len())
}

pub fn measure(
    runtime: &tokio::runtime::Runtime,
    kind: Kind,
    programs: &Programs,
    plan: &ApiPlan,
) -> Result<ServerFigures, String> {
    let key_ = kind.api_key();
    let mut out = ServerFigures::default();
    let mut plan_items: Vec<(Op, usize)> = Vec::new();
    for op in Op::API {
        for &c in &plan.connections {
            plan_items.push((op, c));
        }
    }
    plan_items.push((Op::Payment, plan.flow_connections));
    let mut iteration = 1_000u64;
    for (op, connections) in plan_items {
        if !op.supported_by(kind) {
            continue;
        }
        let server = Server::start(kind, programs, &SimOptions::default())?;
        let fixtures = runtime.block_on(async {
            let mut conn = Conn::connect(server.addr, key_).await?;
            fixtures(&mut conn, kind).await
        })?;
        let bound = bind(op, kind, &fixtures);
        let load = Load {
            connections,
            warmup: plan.warmup,
            measure: plan.measure,
        };
        let (mut rates, mut p50s, mut p99s) = (Vec::new(), Vec::new(), Vec::new());
        let mut figure = Figure::default();
        for _ in 0..plan.runs {
            let mut window = runtime.block_on(run_window(
                server.addr,
                key_,
                load,
                bound.clone(),
                iteration,
            ))?;
            iteration += 10_000_000;
            rates.push(window.per_second());
            p50s.push(percentile(&mut window.latencies, 50.0));
            p99s.push(percentile(&mut window.latencies, 99.0));
            figure.errors += window.errors;
            if figure.first_error.is_none() {
                figure.first_error = window.first_error;
            }
        }
        figure.per_second = Runs::new(rates);
        figure.p50 = median_duration(p50s);
        figure.p99 = median_duration(p99s);
        out.figures.insert((key(op), connections), figure);
        out.peak_memory_kib = out
            .peak_memory_kib
            .max(server.peak_memory_kib().unwrap_or(0));
    }
    Ok(out)
}

fn median_duration(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}
