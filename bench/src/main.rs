//! # stripe-bench: stripe-sim and stripe-harness, side by side with the fake Stripes people use
//!
//! Quick start (installs the peers under `bench/`, builds in release, prints one table):
//!
//! ```sh
//! bench/run.sh                   # the full run (about 12 minutes on 2 cores)
//! bench/run.sh --quick           # shorter windows and 100,000 sessions (about 3 minutes)
//! bench/run.sh --smoke --strict  # everything once, tiny (CI: fails if a measurement fails)
//! ```
//!
//! Every server is a separate process on loopback, loaded by the same closed-loop HTTP
//! generator ([`load`]) with the same operations ([`ops`]); figures are medians of several
//! measured windows, each after a warm-up, with the spread of the runs. There are no timed
//! assertions anywhere: the table says which goals are met.

mod api;
mod dashboard;
mod harness_bench;
mod load;
mod ops;
mod receiver;
mod report;
mod scale;
mod servers;
mod state;
mod stats;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use api::ApiPlan;
use report::Report;
use servers::{Kind, Programs};
use webhooks::WebhookPlan;

#[derive(Parser)]
#[command(
    name = "stripe-bench",
    about = "Benchmarks stripe-sim and stripe-harness against localstripe and stripe-stateful-mock and prints one table"
)]
struct Cli {
    /// Shorter windows, fewer runs, 100,000 sessions (about 2 minutes).
    #[arg(long)]
    quick: bool,
    /// The smallest run that exercises every measurement (for CI: it proves the benchmark works
    /// on a fresh machine; its figures mean little).
    #[arg(long, conflicts_with = "quick")]
    smoke: bool,
    /// Measured windows per figure (default 5; 3 with --quick).
    #[arg(long)]
    runs: Option<usize>,
    /// Seconds per measured window (default 2; 0.5 with --quick).
    #[arg(long)]
    seconds: Option<f64>,
    /// Checkout Sessions stored for the memory figure (default 1,000,000; 100,000 with --quick).
    #[arg(long)]
    sessions: Option<u64>,
    /// Sections to run, comma-separated: api, webhooks, harness, scale, state, dashboard
    /// (default: all);
    /// `state.creates`, `state.reset` or `state.long` runs one part of the state section.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The stripe-sim binary (default: next to this one, i.e. target/release/stripe-sim).
    #[arg(long, env = "STRIPE_SIM_BIN")]
    stripe_sim: Option<PathBuf>,
    /// localstripe's executable, as `bench/peers/install.sh` prints it (left out when missing).
    #[arg(long, env = "LOCALSTRIPE")]
    localstripe: Option<PathBuf>,
    /// stripe-stateful-mock's `dist/cli.js`, as `bench/peers/install.sh` prints it.
    #[arg(long, env = "STATEFUL_MOCK")]
    stateful_mock: Option<PathBuf>,
    /// Exit with an error if any measurement could not be made or any request failed (goals
    /// missed are reported, never an error).
    #[arg(long)]
    strict: bool,
    /// Also write the report (machine, settings, table) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Put the report into this markdown file between `<!-- bench-table:start -->` and
    /// `<!-- bench-table:end -->` (the README's performance section).
    #[arg(long)]
    update_readme: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stripe-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let size = Size::of(&cli);
    let stripe_sim = match cli.stripe_sim {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("stripe-sim"),
    };
    if !stripe_sim.is_file() {
        return Err(format!(
            "no stripe-sim binary at {} (cargo build --release -p stripe-sim, or --stripe-sim)",
            stripe_sim.display()
        ));
    }
    let programs = Programs {
        stripe_sim,
        localstripe: cli.localstripe.filter(|p| p.is_file()),
        stateful_mock: cli.stateful_mock.filter(|p| p.is_file()),
    };
    let section = |name: &str| cli.only.is_empty() || cli.only.iter().any(|s| s == name);
    let runs = cli.runs.unwrap_or(size.runs).max(1);
    let seconds = cli.seconds.unwrap_or(size.seconds);
    let sessions = cli.sessions.unwrap_or(size.sessions);
    let kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| programs.has(*k)).collect();
    for kind in Kind::ALL.iter().filter(|k| !programs.has(**k)) {
        eprintln!(
            "stripe-bench: {} is not installed (bench/peers/install.sh); its column stays empty",
            kind.name()
        );
    }
    // The load generator and the receiver: two threads, as many as the machine has cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut report = Report::default();

    if section("api") {
        let plan = ApiPlan {
            runs,
            warmup: Duration::from_secs_f64((seconds / 4.0).max(0.1)),
            measure: Duration::from_secs_f64(seconds),
            connections: vec![2, 16],
            flow_connections: 16,
        };
        for &kind in &kinds {
            eprintln!("== API: {}", kind.name());
            report
                .api
                .insert(kind, api::measure(&runtime, kind, &programs, &plan));
        }
        report.api_plan = Some(plan);
    }
    if section("webhooks") {
        let plan = WebhookPlan {
            runs,
            payments: size.payments,
            peer_events: size.peer_events,
            latency_samples: size.latency_samples,
            connections: 16,
        };
        for &kind in kinds.iter().filter(|k| **k != Kind::StatefulMock) {
            eprintln!("== webhooks: {}", kind.name());
            report
                .webhooks
                .insert(kind, webhooks::measure(&runtime, kind, &programs, plan));
        }
        if programs.has(Kind::StatefulMock) {
            report.webhooks.insert(
                Kind::StatefulMock,
                Err("no webhooks (the package has no event code)".into()),
            );
        }
    }
    if section("harness") {
        eprintln!("== harness");
        for jobs in [1, 2] {
            report
                .scripted
                .push((jobs, harness_bench::scripted(runs, size.passes, jobs)));
            report
                .prop
                .push((jobs, harness_bench::prop(runs, size.cases, 20, jobs)));
        }
        for jobs in [1, 2] {
            eprintln!("== harness: the Python target, {jobs} job(s)");
            report
                .python
                .push((jobs, harness_bench::python(runs.min(3), jobs)));
        }
    }
    if section("scale") {
        eprintln!("== scale: startup");
        for &kind in &kinds {
            let n = if kind == Kind::StripeSim {
                size.startups
            } else {
                size.startups.div_ceil(4)
            };
            report
                .startup
                .insert(kind, scale::startup(kind, &programs, n));
        }
        eprintln!("== scale: {sessions} sessions");
        for pricing in [scale::Pricing::StoredPrice, scale::Pricing::PriceData] {
            report.memory.push((
                pricing,
                scale::session_memory(&runtime, &programs, sessions, pricing),
            ));
        }
    }

    let state_part = |part: &str| section("state") || section(&format!("state.{part}"));
    if ["creates", "reset", "long"].iter().any(|p| state_part(p)) {
        report.state = Some(state::measure(
            &runtime,
            &programs,
            state::StatePlan {
                runs,
                warmup: Duration::from_secs_f64((seconds / 4.0).max(0.1)),
                measure: Duration::from_secs_f64(seconds),
                sessions: size.reset_sessions,
                events: size.long_run_events,
                creates: state_part("creates"),
                reset: state_part("reset"),
                long_run: state_part("long"),
            },
        ));
    }

    if section("dashboard") {
        eprintln!("== dashboard: creates with no dashboard and with one open");
        report.dashboard = Some(dashboard::measure(
            &runtime,
            &programs,
            dashboard::DashboardPlan {
                runs,
                warmup: Duration::from_secs_f64((seconds / 4.0).max(0.1)),
                measure: Duration::from_secs_f64(seconds),
                connections: 16,
            },
        ));
    }

    let text = format!(
        "{}\n{}\n{}",
        machine(),
        settings(runs, seconds, sessions),
        report.render()
    );
    println!("{text}");
    if let Some(path) = &cli.out {
        std::fs::write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = &cli.update_readme {
        report::update_markdown(path, &text)?;
    }
    let problems = report.problems();
    for problem in &problems {
        eprintln!("stripe-bench: {problem}");
    }
    if cli.strict {
        if !problems.is_empty() {
            return Err(format!(
                "{} measurements went wrong (see above)",
                problems.len()
            ));
        }
        if let Some(kind) = Kind::ALL.into_iter().find(|k| !programs.has(*k)) {
            return Err(format!(
                "{} is not installed: --strict compares with every peer",
                kind.name()
            ));
        }
    }
    Ok(())
}

/// How much each section does, by run size.
struct Size {
    runs: usize,
    seconds: f64,
    sessions: u64,
    payments: u64,
    peer_events: u64,
    latency_samples: u64,
    /// Passes over every scenario, per run.
    passes: usize,
    cases: u32,
    startups: usize,
    /// Sessions stored before the reset whose memory is measured.
    reset_sessions: u64,
    /// Events of the long run with one endpoint.
    long_run_events: u64,
}

impl Size {
    fn of(cli: &Cli) -> Size {
        if cli.smoke {
            Size {
                runs: 1,
                seconds: 0.2,
                sessions: 20_000,
                payments: 200,
                peer_events: 20,
                latency_samples: 50,
                passes: 1,
                cases: 40,
                startups: 4,
                reset_sessions: 20_000,
                long_run_events: 20_000,
            }
        } else if cli.quick {
            Size {
                runs: 3,
                seconds: 0.5,
                sessions: 100_000,
                payments: 1_000,
                peer_events: 100,
                latency_samples: 200,
                passes: 2,
                cases: 200,
                startups: 8,
                reset_sessions: 100_000,
                long_run_events: 200_000,
            }
        } else {
            Size {
                runs: 5,
                seconds: 2.0,
                sessions: 1_000_000,
                payments: 4_000,
                peer_events: 300,
                latency_samples: 1_000,
                passes: 10,
                cases: 1_000,
                startups: 20,
                reset_sessions: 200_000,
                long_run_events: 1_000_000,
            }
        }
    }
}

fn settings(runs: usize, seconds: f64, sessions: u64) -> String {
    format!(
        "Each figure: the median of {runs} measured windows of {seconds} s (each after a warm-up of a quarter of that), ± the largest distance of a window from the median. \
         Closed loop: every connection sends its next request when the last answer is read. {sessions} sessions for the memory figure.\n"
    )
}

/// The machine the figures come from.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown memory".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    format!("Machine: {model}, {cores} cores, {memory}, Linux {kernel}.")
}
