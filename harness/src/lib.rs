//! # stripe-harness: does your app handle Stripe payments correctly?
//!
//! The harness starts an embedded [stripe-sim](stripe_sim), points a target app at it (the
//! embedded reference target, or any app in any language described by a [target
//! file](target_file)), plays [scenarios](scenario), and lets the [judge](judge) say whether
//! every order ended where Stripe's ground truth says it must, and whether any observation on the
//! way broke a rule.
//!
//! ## Quick start
//!
//! ```
//! use stripe_harness::{default_scenarios_dir, run_scenarios, Scenario, TargetChoice};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = Scenario::load(&default_scenarios_dir().join("refund_before_payment.toml"))?;
//! // The embedded reference target, correct: it passes.
//! let results = run_scenarios(&TargetChoice::reference(), &[scenario.clone()], 42).await?;
//! assert!(results[0].passed());
//! // With a defect that drops refunds arriving before their payment: the judge says why.
//! let buggy = TargetChoice::defect(reference_target::Defect::RefundLost);
//! let results = run_scenarios(&buggy, &[scenario], 42).await?;
//! let failure = results[0].failure.as_ref().expect("the defect is caught");
//! println!("{} ({}): expected {}, observed {}", failure.violation.rule, failure.violation.detail, failure.violation.expected, failure.violation.observed);
//! # Ok(())
//! # }
//! ```
//!
//! From the command line: `stripe-harness run` (every scenario, reference target),
//! `stripe-harness run --target my-app.toml` (`--jobs 2`: two instances of the app),
//! `stripe-harness run --defect nosig`, `stripe-harness run --variant refund_at_once` (another
//! correct design), `stripe-harness prop --keep-going`, `stripe-harness merge` (partitions),
//! `stripe-harness run --target my-app.toml --snapshots snapshots/` (what the app did in each
//! scenario, against approved [snapshots]).

pub mod call_log;
mod commands;
pub mod harness;
pub mod hazards;
pub mod judge;
pub mod output;
mod preflight;
mod process;
pub mod prop;
pub mod report;
pub mod rules;
pub mod runner;
pub mod scenario;
pub mod signals;
mod sink;
pub mod snapshots;
pub mod state;
mod steps;
pub mod target;
pub mod target_file;
pub mod trace;
mod uri;
mod world;

pub use harness::{Harness, HarnessError, Reference, Stopped, TargetChoice};
pub use runner::{run_scenario, ScenarioResult};
pub use scenario::{Scenario, Step};
pub use state::OrderState;
pub use target::{OutputLine, Stream, TargetAnswer};
pub use target_file::TargetFile;

/// Starts a simulator and the target, plays every scenario in order, and stops the target.
///
/// If the target cannot be driven any more (its process exited, or it hangs), the remaining
/// scenarios are not played: the error [`HarnessError::Stopped`] says why and carries the
/// results so far.
pub async fn run_scenarios(
    choice: &TargetChoice,
    scenarios: &[Scenario],
    seed: u64,
) -> Result<Vec<ScenarioResult>, HarnessError> {
    let harness = Harness::start(choice, seed).await?;
    let halt = std::sync::atomic::AtomicBool::new(false);
    let played = play_until_stopped(
        &harness,
        scenarios.iter().enumerate(),
        &halt,
        trace::TraceOptions::FULL,
    )
    .await;
    harness.stop().await;
    finish(scenarios.len(), vec![played])
}

/// Plays `scenarios` on `jobs` independent harnesses (a simulator and a target each, on its own
/// thread: the embedded reference target, or an instance of a target file's app with its own
/// port and `{tmp}`) and returns the results in scenario order. Each scenario's ids come from
/// (seed, its name), so the results do not depend on `jobs`. A run stops as [`run_scenarios`]
/// does.
pub fn run_scenarios_in_jobs(
    choice: &TargetChoice,
    scenarios: &[Scenario],
    seed: u64,
    jobs: usize,
) -> Result<Vec<ScenarioResult>, HarnessError> {
    run_scenarios_traced(choice, scenarios, seed, jobs, trace::TraceOptions::FULL)
}

/// [`run_scenarios_in_jobs`], recording as much as `options` says (`--verbose` streams each
/// step's trace: with one job, so that the lines come in order).
pub fn run_scenarios_traced(
    choice: &TargetChoice,
    scenarios: &[Scenario],
    seed: u64,
    jobs: usize,
    options: trace::TraceOptions,
) -> Result<Vec<ScenarioResult>, HarnessError> {
    let jobs = jobs.clamp(1, scenarios.len().max(1));
    check_jobs(choice, jobs)?;
    // Set when one job's target went away: the others stop too.
    let halt = std::sync::atomic::AtomicBool::new(false);
    let played: Result<Vec<Played>, HarnessError> = std::thread::scope(|scope| {
        let halt = &halt;
        let handles: Vec<_> = (0..jobs)
            .map(|job| {
                scope.spawn(move || {
                    let runtime = runtime().map_err(|e| HarnessError::Simulator(e.to_string()))?;
                    runtime.block_on(async {
                        let harness = Harness::start_job(choice, seed, 1, job + 1).await?;
                        let mine = scenarios.iter().enumerate().skip(job).step_by(jobs);
                        let played = play_until_stopped(&harness, mine, halt, options).await;
                        harness.stop().await;
                        Ok(played)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(HarnessError::Simulator("a harness job panicked".into()))
                })
            })
            .collect()
    });
    finish(scenarios.len(), played?)
}

/// What one harness played: results by scenario index, and where and why it stopped early.
struct Played {
    results: Vec<(usize, ScenarioResult)>,
    halted: Option<(usize, String, target::TargetError)>,
}

/// Plays scenarios on `harness` one after the other, until the end, until its target cannot be
/// driven any more, or until another job's could not (`halt`).
async fn play_until_stopped<'a>(
    harness: &Harness,
    scenarios: impl Iterator<Item = (usize, &'a Scenario)>,
    halt: &std::sync::atomic::AtomicBool,
    options: trace::TraceOptions,
) -> Played {
    use std::sync::atomic::Ordering;
    let mut results = Vec::new();
    for (index, scenario) in scenarios {
        if halt.load(Ordering::SeqCst) {
            break;
        }
        let result = runner::run_scenario_with(harness, scenario, options).await;
        if let Some(reason) = harness.target.fatal() {
            halt.store(true, Ordering::SeqCst);
            // A scenario that could not be played because of it was not judged: the run's
            // message names it instead. A verdict reached before the target went stays.
            let unjudged = result
                .failure
                .as_ref()
                .is_some_and(|f| f.violation.rule == rules::Rule::Playable);
            if !unjudged {
                results.push((index, result));
            }
            return Played {
                results,
                halted: Some((index, format!("scenario {}", scenario.name), reason)),
            };
        }
        results.push((index, result));
    }
    Played {
        results,
        halted: None,
    }
}

/// The results in scenario order, or the run's stop with them.
fn finish(planned: usize, played: Vec<Played>) -> Result<Vec<ScenarioResult>, HarnessError> {
    let mut all = Vec::new();
    let mut halted = None;
    for p in played {
        all.extend(p.results);
        if let Some(h) = p.halted {
            // With several jobs, the earliest scenario where a target was found gone.
            if halted.as_ref().is_none_or(|(i, _, _)| h.0 < *i) {
                halted = Some(h);
            }
        }
    }
    all.sort_by_key(|(index, _)| *index);
    let results: Vec<ScenarioResult> = all.into_iter().map(|(_, result)| result).collect();
    match halted {
        None => Ok(results),
        Some((_, during, reason)) => Err(HarnessError::Stopped(Box::new(Stopped {
            reason,
            during,
            played: results.len(),
            results,
            planned,
        }))),
    }
}

/// Several jobs need an app the harness can start several times: the embedded reference
/// target, or a target file with `[start]` (each instance gets its own port and `{tmp}`). An app
/// that is already running (`url`) is one instance.
pub(crate) fn check_jobs(choice: &TargetChoice, jobs: usize) -> Result<(), HarnessError> {
    if jobs <= 1 {
        return Ok(());
    }
    if let TargetChoice::File(file) = choice {
        if file.start.is_none() {
            return Err(HarnessError::Config(
                "--jobs needs an app the harness starts ([start]): an app already running (url) is one instance".into(),
            ));
        }
        if file.simulator_port.is_some_and(|p| p != 0) {
            return Err(HarnessError::Config(
                "--jobs cannot share one fixed simulator_port: remove it, each job gets a simulator of its own".into(),
            ));
        }
    }
    Ok(())
}

/// How many jobs to run by default: one per core with the embedded reference target (results do
/// not depend on it), one with a target file (its app is one instance).
pub fn default_jobs(choice: &TargetChoice) -> usize {
    match choice {
        TargetChoice::Reference(_) => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        TargetChoice::File(_) => 1,
    }
}

/// The runtime a run drives the simulator, the embedded target and the scenarios on: one thread.
///
/// A scenario is a chain of short loopback round trips (harness → simulator → target → simulator),
/// each waiting on the one before. On a multi-threaded runtime every hop wakes another worker
/// thread through the kernel, and those wake-ups cost more than the work itself: a current-thread
/// runtime plays property histories about 2.3 times faster (measured with `stripe-bench`).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The scenario library `run` plays when no path is given: `./scenarios` when the working
/// directory has one, else the library of the tree this binary was built from.
pub fn default_scenarios_dir() -> std::path::PathBuf {
    scenario_library().dir
}

/// The scenario library of the tree this crate was built from (what the project's own tests
/// play, wherever they run from).
pub fn builtin_scenarios_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Where the default library comes from, so a run can say which one it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioLibrary {
    pub dir: std::path::PathBuf,
    /// `./scenarios` of the working directory, or the built-in one.
    pub in_working_directory: bool,
}

impl ScenarioLibrary {
    /// `./scenarios`, or `/path/scenarios (built in: no ./scenarios here)`.
    pub fn describe(&self) -> String {
        if self.in_working_directory {
            "./scenarios".to_string()
        } else {
            format!("{} (built in: no ./scenarios here)", self.dir.display())
        }
    }
}

/// `./scenarios` when it exists, else [`builtin_scenarios_dir`].
pub fn scenario_library() -> ScenarioLibrary {
    let here = std::path::PathBuf::from("scenarios");
    if here.is_dir() {
        return ScenarioLibrary {
            dir: here,
            in_working_directory: true,
        };
    }
    let built = builtin_scenarios_dir();
    ScenarioLibrary {
        dir: built.canonicalize().unwrap_or(built),
        in_working_directory: false,
    }
}

/// The scenarios of the built-in library: the `*.toml` files at the top of
/// [`builtin_scenarios_dir`], never what a user's run left in a folder below it.
pub fn library_scenarios() -> Result<Vec<Scenario>, scenario::ScenarioError> {
    Scenario::load_library(&builtin_scenarios_dir())
}
