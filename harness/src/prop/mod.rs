//! `stripe-harness prop`: property-based histories that find webhook bugs nobody scripted.
//!
//! proptest generates histories of [`model::Intent`]s; the [`model::Model`] turns each into a
//! valid scenario; the runner plays it against the target, checking the judge's rules after
//! every step and convergence at the end. When a rule breaks, proptest shrinks the history to
//! the smallest one that still breaks *the same rule*, and it is written as a scenario file that
//! `stripe-harness run` replays to the same failure.

pub mod model;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::harness::{Harness, HarnessError, Stopped, TargetChoice};
use crate::hazards::Hazards;
use crate::judge::RuleTally;
use crate::rules::Rule;
use crate::runner::{play, run_scenario_with, ScenarioResult};
use crate::scenario::Scenario;
use crate::target::TargetError;
use crate::trace::TraceOptions;
use model::{history_strategy, Intent, Model};

/// Histories per run unless told otherwise (the command line and [`PropConfig`] share it).
pub const DEFAULT_CASES: u32 = 500;

/// Where found histories are written unless told otherwise: under `target/`, outside the
/// scenario library, so a user's findings never become part of `run`'s library or of the
/// project's tests by accident.
pub const DEFAULT_OUT: &str = "target/stripe-harness/found";

/// Settings of a property run.
#[derive(Debug, Clone)]
pub struct PropConfig {
    pub cases: u32,
    pub seed: u64,
    pub max_steps: usize,
    /// Shortest history, in generated steps (1 by default; benchmarks fix the length).
    pub min_steps: usize,
    /// Histories played at once against the same target (each on its own orders).
    pub concurrency: usize,
    /// Independent workers, each with its own simulator and reference target, on its own thread.
    /// Every case follows from (seed, case number), so `jobs` changes nothing but speed.
    pub jobs: usize,
    /// Where found scenarios are written.
    pub out: PathBuf,
    /// Upper bound on shrinking runs.
    pub max_shrink_iters: u32,
    /// Print progress to stderr.
    pub progress: bool,
    /// Distinct broken rules to find before stopping (1: stop at the first failure). Each is
    /// the lowest failing case that breaks its rule, shrunk and written.
    pub max_failures: u32,
    /// `(k, n)`: play only part `k` of `n` (1-based) of the cases, those whose 0-based number
    /// is `k - 1` modulo `n`, for CI machines that share a run. Each case is drawn from (seed,
    /// its number), so the parts together play exactly the cases of the whole run.
    pub partition: Option<(u32, u32)>,
}

impl PropConfig {
    /// The 0-based numbers of the cases this run plays, in order.
    pub fn case_numbers(&self) -> Vec<u32> {
        match self.partition {
            Some((k, n)) if n > 0 && (1..=n).contains(&k) => {
                (0..self.cases).filter(|c| c % n == k - 1).collect()
            }
            _ => (0..self.cases).collect(),
        }
    }
}

/// `K/N` → (K, N), 1 <= K <= N.
pub fn parse_partition(spec: &str) -> Result<(u32, u32), String> {
    let (k, n) = spec
        .split_once('/')
        .ok_or("--partition takes K/N, e.g. 1/3")?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| "--partition: K is not a number")?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| "--partition: N is not a number")?;
    if n == 0 || k == 0 || k > n {
        return Err("--partition: need 1 <= K <= N".into());
    }
    Ok((k, n))
}

impl Default for PropConfig {
    fn default() -> Self {
        PropConfig {
            cases: DEFAULT_CASES,
            seed: 0,
            max_steps: 20,
            min_steps: 1,
            concurrency: 1,
            jobs: 1,
            out: PathBuf::from(DEFAULT_OUT),
            max_shrink_iters: 2000,
            progress: false,
            max_failures: 1,
            partition: None,
        }
    }
}

/// A broken rule, shrunk.
#[derive(Debug, Clone)]
pub struct Found {
    /// 1-based number of the first failing case.
    pub case: u32,
    /// Steps of the history as first found, and once shrunk.
    pub original_steps: usize,
    pub scenario: Scenario,
    pub result: ScenarioResult,
    pub written_to: Option<PathBuf>,
    pub shrink_time: Duration,
    pub shrink_runs: u32,
}

#[derive(Debug, Clone)]
pub struct PropOutcome {
    pub cases_run: u32,
    pub elapsed: Duration,
    /// Steps played in the counted cases (what a history's length comes to once interpreted).
    pub steps_run: u64,
    /// The broken rules found, one per rule (the lowest case that broke it), shrunk, in case
    /// order; at most [`PropConfig::max_failures`].
    pub found: Vec<Found>,
    /// Cases that broke a rule (several may break the same one): `cases_run - failing_cases`
    /// passed.
    pub failing_cases: u32,
    /// What the counted cases exercised: rules checked and hazards.
    pub coverage: Coverage,
}

/// What a property run exercised, summed over its histories.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// Every rule checked, passed or failed.
    pub tally: RuleTally,
    /// Per rule: how many histories checked it at least once.
    pub histories: BTreeMap<Rule, u64>,
    pub hazards: Hazards,
}

impl Coverage {
    /// Adds one history.
    fn add(&mut self, steps: &[crate::scenario::Step], tally: &RuleTally) {
        self.tally.merge(tally);
        for (rule, counts) in &tally.counts {
            if counts.passed + counts.failed > 0 {
                *self.histories.entry(*rule).or_default() += 1;
            }
        }
        self.hazards.add(steps);
    }
}

impl Found {
    /// The rule the history breaks.
    pub fn rule(&self) -> Option<Rule> {
        self.result.failure.as_ref().map(|f| f.violation.rule)
    }
}

impl Shared {
    /// Records that `case` broke `rule`, and moves the last case to play to where the
    /// `max_failures`-th distinct rule broke, if that is known now.
    fn failed(&self, case: u32, rule: Rule, max_failures: u32) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        failing.entry(case).or_insert(rule);
        let mut rules: Vec<Rule> = Vec::new();
        for (&at, &rule) in failing.iter() {
            if !rules.contains(&rule) {
                rules.push(rule);
                if rules.len() as u32 >= max_failures.max(1) {
                    self.stop_at.fetch_min(at, Ordering::SeqCst);
                    break;
                }
            }
        }
    }

    /// Whether a case below `case` already broke `rule` (shrinking `case` is then wasted).
    fn found_lower(&self, case: u32, rule: Rule) -> bool {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .range(..case)
            .any(|(_, r)| *r == rule)
    }
}

impl PropOutcome {
    /// The first failure (the lowest failing case), if any.
    pub fn first(&self) -> Option<&Found> {
        self.found.first()
    }

    pub fn cases_per_second(&self) -> f64 {
        self.cases_run as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What workers share: counters for the progress line, and what was found.
struct Shared {
    /// Cases played (shrinking runs not counted).
    cases: AtomicU32,
    steps: AtomicU64,
    failures: AtomicU32,
    shrink_runs: AtomicU32,
    /// The last case to play (`u32::MAX`: all): the case where the `max_failures`-th distinct
    /// rule broke, in case order. Cases after it are not played, so the failures reported are
    /// the lowest failing cases whatever the number of jobs.
    stop_at: AtomicU32,
    /// Every failing case seen, with the rule it broke first.
    failing: Mutex<BTreeMap<u32, Rule>>,
    found: Mutex<Vec<Found>>,
    /// The case during which the target was found gone (it exited or hangs), and why.
    stopped: Mutex<Option<(u32, TargetError)>>,
    /// Rules and hazards of the counted cases.
    coverage: Mutex<Coverage>,
}

/// The seed of the simulator ids of case `case`'s `run`-th play (0: the case itself, then its
/// shrinking candidates). Every play gets new ids: the target remembers the events it has
/// processed, and would rightly ignore the same ids again as redeliveries.
fn case_seed(run_seed: u64, case: u32, run: u32) -> u64 {
    crate::harness::scenario_seed(run_seed, &format!("prop/{case}/{run}"))
}

/// The generator of case `case`: each case draws from its own stream, so that which worker
/// plays it (and how many workers there are) changes nothing.
fn case_rng(run_seed: u64, case: u32) -> TestRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&run_seed.to_le_bytes());
    key[8..12].copy_from_slice(&case.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &key)
}

/// Runs `config.cases` random histories against the target; stops once `config.max_failures`
/// distinct rules broke (the first, by default), and shrinks each.
pub fn run_prop(choice: &TargetChoice, config: &PropConfig) -> Result<PropOutcome, HarnessError> {
    let concurrent = config.concurrency > 1;
    let jobs = config.jobs.max(1);
    if concurrent && jobs > 1 {
        return Err(HarnessError::Config(
            "--jobs and --concurrency do not combine: jobs run independent targets, concurrency shares one".into(),
        ));
    }
    crate::check_jobs(choice, jobs)?;
    // Shared-target mode: one simulator and one target for every history, one endpoint, no
    // resets. Its histories block on the runtime from several threads at once, which needs the
    // multi-threaded runtime.
    let shared_run = if concurrent {
        let runtime =
            tokio::runtime::Runtime::new().map_err(|e| HarnessError::Simulator(e.to_string()))?;
        let harness = runtime.block_on(Harness::start_with(
            choice,
            config.seed,
            2 * config.concurrency,
        ))?;
        let endpoint = harness
            .reset(config.seed)
            .map_err(HarnessError::Simulator)?;
        Some((runtime, harness, endpoint))
    } else {
        None
    };
    let shared = Shared {
        cases: AtomicU32::new(0),
        steps: AtomicU64::new(0),
        failures: AtomicU32::new(0),
        shrink_runs: AtomicU32::new(0),
        stop_at: AtomicU32::new(u32::MAX),
        failing: Mutex::new(BTreeMap::new()),
        found: Mutex::new(Vec::new()),
        stopped: Mutex::new(None),
        coverage: Mutex::new(Coverage::default()),
    };
    let started = Instant::now();
    let workers = if concurrent { config.concurrency } else { jobs };
    let done = AtomicBool::new(false);
    let mut start_error = None;
    std::thread::scope(|scope| {
        if config.progress {
            scope.spawn(|| progress(&shared, config, started, &done));
        }
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (shared, shared_run) = (&shared, &shared_run);
                let player = Player {
                    shared,
                    config,
                    worker,
                    workers,
                    concurrent,
                };
                scope.spawn(move || -> Result<(), HarnessError> {
                    if let Some((runtime, harness, endpoint)) = shared_run {
                        player.play_cases(harness, runtime, Some(endpoint));
                        return Ok(());
                    }
                    // An independent job: its own simulator and target on its own thread. One
                    // history at a time runs fastest on a current-thread runtime.
                    let runtime =
                        crate::runtime().map_err(|e| HarnessError::Simulator(e.to_string()))?;
                    let harness =
                        runtime.block_on(Harness::start_job(choice, config.seed, 1, worker + 1))?;
                    player.play_cases(&harness, &runtime, None);
                    runtime.block_on(harness.stop());
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            if let Ok(Err(e)) = handle.join() {
                shared.stop_at.store(0, Ordering::SeqCst);
                start_error.get_or_insert(e);
            }
        }
        done.store(true, Ordering::SeqCst);
    });
    if let Some((runtime, harness, _)) = shared_run {
        runtime.block_on(harness.stop());
    }
    if let Some(e) = start_error {
        return Err(e);
    }
    let stopped = shared
        .stopped
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some((case, reason)) = stopped {
        return Err(HarnessError::Stopped(Box::new(Stopped {
            reason,
            during: format!("history {}", case + 1),
            results: Vec::new(),
            played: shared.cases.load(Ordering::SeqCst) as usize,
            planned: config.case_numbers().len(),
        })));
    }
    let elapsed = started.elapsed();
    let stop_at = shared.stop_at.load(Ordering::SeqCst);
    let mut all = shared.found.into_inner().unwrap_or_else(|p| p.into_inner());
    all.sort_by_key(|f| f.case);
    let mut found: Vec<Found> = Vec::new();
    for mut f in all {
        let Some(rule) = f.rule() else { continue };
        // 1-based case numbers; `stop_at` is 0-based.
        if f.case > stop_at.saturating_add(1) || found.iter().any(|g| g.rule() == Some(rule)) {
            continue;
        }
        if found.len() as u32 >= config.max_failures.max(1) {
            break;
        }
        f.written_to = write_found(&config.out, &f.scenario).ok();
        found.push(f);
    }
    let failing_cases = shared
        .failing
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .range(..=stop_at)
        .count() as u32;
    // A run that stopped early counts the cases up to its last failure (other jobs may have
    // played a few more meanwhile: they are not part of the verdict).
    let played = shared.cases.load(Ordering::SeqCst);
    let up_to_stop = config
        .case_numbers()
        .iter()
        .filter(|c| **c <= stop_at)
        .count() as u32;
    Ok(PropOutcome {
        cases_run: played.min(up_to_stop),
        failing_cases,
        elapsed,
        steps_run: shared.steps.load(Ordering::SeqCst),
        found,
        coverage: shared
            .coverage
            .into_inner()
            .unwrap_or_else(|p| p.into_inner()),
    })
}

/// One worker: plays cases `worker`, `worker + workers`, … until the end or past a failure.
struct Player<'a> {
    shared: &'a Shared,
    config: &'a PropConfig,
    worker: usize,
    workers: usize,
    concurrent: bool,
}

impl Player<'_> {
    fn play_cases(
        &self,
        harness: &Harness,
        runtime: &tokio::runtime::Runtime,
        endpoint: Option<&stripe_sim::EndpointId>,
    ) {
        let cases = self.config.case_numbers();
        for &case in cases.iter().skip(self.worker).step_by(self.workers) {
            if case > self.shared.stop_at.load(Ordering::SeqCst) {
                return;
            }
            let found = self.play_case(harness, runtime, endpoint, case);
            if let Some(reason) = harness.target.fatal() {
                // The target went away: nothing found after it can be trusted, nothing more
                // can be played.
                self.shared.stop_at.store(0, Ordering::SeqCst);
                self.shared
                    .stopped
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert((case, reason));
                return;
            }
            if let Some(found) = found {
                self.shared
                    .found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(found);
            }
        }
    }

    /// Plays case `case` (0-based); when it breaks a rule, shrinks it to the smallest history
    /// that breaks the same rule.
    fn play_case(
        &self,
        harness: &Harness,
        runtime: &tokio::runtime::Runtime,
        endpoint: Option<&stripe_sim::EndpointId>,
        case: u32,
    ) -> Option<Found> {
        let (config, shared) = (self.config, self.shared);
        let proptest_config = Config {
            cases: 1,
            max_shrink_iters: config.max_shrink_iters,
            failure_persistence: None,
            max_local_rejects: 100_000,
            max_global_rejects: 100_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(proptest_config, case_rng(config.seed, case));
        let strategy = history_strategy(config.min_steps, config.max_steps, self.concurrent);
        let rule: RefCell<Option<crate::rules::Rule>> = RefCell::new(None);
        let smallest: RefCell<Option<(Scenario, ScenarioResult)>> = RefCell::new(None);
        let original_steps = Cell::new(0usize);
        let shrink_runs = Cell::new(0u32);
        let shrink_started = Cell::new(None::<Instant>);
        // The verdict is kept in `rule` and `smallest`, not in what `run` returns.
        let _ = runner.run(&strategy, |intents: Vec<Intent>| {
            if harness.target.fatal().is_some() {
                // The target went away: play nothing more (`play_cases` reports it).
                return Ok(());
            }
            // proptest plays a case again only to shrink it, after it failed.
            let shrinking = rule.borrow().is_some();
            if shrinking {
                shrink_runs.set(shrink_runs.get() + 1);
                shared.shrink_runs.fetch_add(1, Ordering::SeqCst);
                let broken = rule.borrow().unwrap_or(Rule::Playable);
                if shared.stop_at.load(Ordering::SeqCst) < case || shared.found_lower(case, broken)
                {
                    // Lower cases are enough, or one broke the same rule: this one will not
                    // be reported.
                    return Ok(());
                }
            }
            let steps =
                Model::interpret_for(&intents, self.concurrent, harness.target.has_return_route());
            let seed = case_seed(config.seed, case, shrink_runs.get());
            let mut scenario = Scenario {
                name: format!("prop_{}_{}", config.seed, case + 1),
                rule: String::new(),
                seed: Some(seed),
                steps,
                ..Scenario::default()
            };
            let Some(result) = self.play_history(harness, runtime, endpoint, &scenario) else {
                // Not a verdict on this history: the target went away under it.
                return Ok(());
            };
            if !shrinking {
                shared.cases.fetch_add(1, Ordering::SeqCst);
                shared
                    .steps
                    .fetch_add(scenario.steps.len() as u64, Ordering::SeqCst);
                shared
                    .coverage
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .add(&scenario.steps, &result.tally);
            }
            let Some(failure) = &result.failure else {
                return Ok(());
            };
            let mut rule = rule.borrow_mut();
            match rule.as_ref() {
                None => {
                    *rule = Some(failure.violation.rule);
                    // Other workers stop before the cases after the last one needed.
                    shared.failed(case, failure.violation.rule, config.max_failures);
                    shared.failures.fetch_add(1, Ordering::SeqCst);
                    original_steps.set(scenario.steps.len());
                    shrink_started.set(Some(Instant::now()));
                }
                // Shrinking keeps only candidates that break the same rule.
                Some(first) if *first != failure.violation.rule => return Ok(()),
                Some(_) => {}
            }
            scenario.rule = format!(
                "Rule: {} ({}), found by `stripe-harness prop --seed {}`",
                failure.violation.rule,
                failure.violation.rule.name(),
                config.seed
            );
            let mut smallest = smallest.borrow_mut();
            if smallest
                .as_ref()
                .is_none_or(|(s, _)| scenario.steps.len() <= s.steps.len())
            {
                *smallest = Some((scenario, result.clone()));
            }
            Err(TestCaseError::fail(failure.violation.rule.id()))
        });
        let (scenario, result) = smallest.into_inner()?;
        let broken = rule.into_inner()?;
        // proptest shrinks the intents, which name sessions and orders by position, so removing
        // an unrelated step often changes what a later one means and is rejected. Removing
        // steps of the written scenario (whose steps name objects by alias) finishes the job.
        let budget = config.max_shrink_iters.saturating_sub(shrink_runs.get());
        let (scenario, result) = self.drop_unrelated_steps(
            harness,
            runtime,
            endpoint,
            (scenario, result),
            broken,
            budget,
            |scenario| {
                shrink_runs.set(shrink_runs.get() + 1);
                shared.shrink_runs.fetch_add(1, Ordering::SeqCst);
                scenario.seed = Some(case_seed(config.seed, case, shrink_runs.get()));
            },
        );
        Some(Found {
            case: case + 1,
            original_steps: original_steps.get(),
            scenario,
            result,
            written_to: None,
            shrink_time: shrink_started
                .get()
                .map(|t| t.elapsed())
                .unwrap_or_default(),
            shrink_runs: shrink_runs.get(),
        })
    }
}

impl Player<'_> {
    /// Plays one history; `None` when the target went away under it (no verdict).
    fn play_history(
        &self,
        harness: &Harness,
        runtime: &tokio::runtime::Runtime,
        endpoint: Option<&stripe_sim::EndpointId>,
        scenario: &Scenario,
    ) -> Option<ScenarioResult> {
        let result = match endpoint {
            Some(endpoint) => runtime.block_on(play(
                harness,
                scenario,
                endpoint.clone(),
                scenario.seed.unwrap_or_default(),
                TraceOptions::SUMMARY,
            )),
            None => runtime.block_on(run_scenario_with(harness, scenario, TraceOptions::SUMMARY)),
        };
        harness.target.fatal().is_none().then_some(result)
    }

    /// Removes, one at a time, every step whose absence still breaks `broken`, until none can
    /// go (at most `budget` plays). A step another one needs (the order a link is opened for,
    /// a hold before its release) cannot go: without it the history breaks another rule or
    /// none. `reseed` gives each candidate fresh ids, as every play needs.
    #[allow(clippy::too_many_arguments)]
    fn drop_unrelated_steps(
        &self,
        harness: &Harness,
        runtime: &tokio::runtime::Runtime,
        endpoint: Option<&stripe_sim::EndpointId>,
        (mut smallest, mut result): (Scenario, ScenarioResult),
        broken: Rule,
        mut budget: u32,
        reseed: impl Fn(&mut Scenario),
    ) -> (Scenario, ScenarioResult) {
        let mut removed_one = true;
        while removed_one {
            removed_one = false;
            // From the end: late steps depend on early ones, never the other way round.
            let mut index = smallest.steps.len();
            while index > 0 && budget > 0 && smallest.steps.len() > 1 {
                index -= 1;
                budget -= 1;
                let mut candidate = smallest.clone();
                candidate.steps.remove(index);
                reseed(&mut candidate);
                let Some(played) = self.play_history(harness, runtime, endpoint, &candidate) else {
                    return (smallest, result);
                };
                if played
                    .failure
                    .as_ref()
                    .is_some_and(|f| f.violation.rule == broken)
                {
                    (smallest, result) = (candidate, played);
                    removed_one = true;
                }
            }
        }
        (smallest, result)
    }
}

/// Writes a found scenario under `dir` and returns its path.
fn write_found(dir: &std::path::Path, scenario: &Scenario) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.toml", scenario.name));
    std::fs::write(&path, scenario.to_toml())?;
    Ok(path)
}

/// A progress line on stderr: cases done, rate, failures.
fn progress(shared: &Shared, config: &PropConfig, started: Instant, done: &AtomicBool) {
    let tty = std::io::stderr().is_terminal();
    let interval = if tty {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(5)
    };
    let mut last = Instant::now() - interval;
    let total = config.case_numbers().len().max(1);
    loop {
        let finished = done.load(Ordering::SeqCst);
        if finished || last.elapsed() >= interval {
            last = Instant::now();
            let cases = shared.cases.load(Ordering::SeqCst);
            let rate = cases as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let width = 30usize;
            let filled = ((cases as usize * width) / total).min(width);
            let shrinking = shared.shrink_runs.load(Ordering::SeqCst);
            let mut line = format!(
                "[{}{}] {cases}/{total} cases  {rate:.1}/s  {} failures",
                "#".repeat(filled),
                "-".repeat(width - filled),
                shared.failures.load(Ordering::SeqCst)
            );
            if shrinking > 0 {
                line.push_str(&format!("  shrinking ({shrinking} runs)"));
            }
            let mut err = std::io::stderr();
            if tty {
                let _ = write!(err, "\r{line}\x1b[K");
            } else {
                let _ = writeln!(err, "{line}");
            }
            let _ = err.flush();
        }
        if finished {
            if tty {
                let _ = writeln!(std::io::stderr());
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
