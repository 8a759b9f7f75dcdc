//! `stripe-harness`: run payment scenarios against a target app. Argument parsing only; the work
//! is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::report::build::{header, prop_report, run_report};
use stripe_harness::report::junit::junit;
use stripe_harness::report::{describe, program, stopped_summary, summary, write_report};
use stripe_harness::trace::{TraceLevel, TraceOptions};
use stripe_harness::{
    default_jobs, default_scenarios_dir, run_scenarios_traced, HarnessError, Scenario,
    TargetChoice, TargetFile,
};

#[derive(Parser)]
#[command(
    name = "stripe-harness",
    version,
    about = "Drive any app through Stripe payment scenarios and judge it against Stripe's ground truth"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Play scripted scenarios (the default: every scenario against the reference target).
    Run(RunArgs),
    /// Generate random payment histories, check every rule after every step, and shrink the
    /// first failure to a scenario file.
    Prop(PropArgs),
    /// List the judge's rules: id, what each requires, the Stripe fact behind it, a typical
    /// violation.
    Rules,
}

#[derive(Args)]
struct PropArgs {
    /// Target file (TOML) describing the app; the embedded reference target when omitted.
    #[arg(long)]
    target: Option<PathBuf>,
    /// Run the embedded reference target with this defect switched on.
    #[arg(long, conflicts_with = "target")]
    defect: Option<String>,
    /// Number of histories.
    #[arg(long, default_value_t = stripe_harness::prop::DEFAULT_CASES)]
    cases: u32,
    /// Seed of the histories and the simulator (printed; drawn at random when omitted).
    #[arg(long)]
    seed: Option<u64>,
    /// Longest history, in generated steps.
    #[arg(long, default_value_t = 20)]
    max_steps: usize,
    /// Shortest history, in generated steps (set it to --max-steps for histories of one length).
    #[arg(long, default_value_t = 1)]
    min_steps: usize,
    /// Histories played at once against the same target, each on its own orders.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Independent workers, each with its own simulator and embedded reference target (default:
    /// one per core; 1 with --target). Every case is drawn from (seed, its number), so the
    /// histories and the failure reported do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Where the shrunk failing history is written as a scenario (outside the scenario library:
    /// replay it by naming it, commit it under scenarios/ to make it a regression test).
    #[arg(long, default_value = stripe_harness::prop::DEFAULT_OUT)]
    out: PathBuf,
    /// Write report.html, report.md and report.json here: the rules checked, the hazards
    /// exercised, and a failing history's shrunk form with the trace of its replay.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write JUnit XML here: one test case per rule (with its number of checks), one per failure.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Print the trace of a failing history's replay step by step as it plays.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args, Default)]
struct RunArgs {
    /// Target file (TOML) describing the app; the embedded reference target when omitted.
    #[arg(long)]
    target: Option<PathBuf>,
    /// Run the embedded reference target with this defect switched on.
    #[arg(long, conflicts_with = "target")]
    defect: Option<String>,
    /// Only scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Run only part K of N (1-based), e.g. 2/4, for CI matrices.
    #[arg(long)]
    partition: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Seed of every id and random choice (printed; drawn at random when omitted).
    #[arg(long)]
    seed: Option<u64>,
    /// Scenarios played at once, each job with its own simulator and embedded reference target
    /// (default: one per core; 1 with --target). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Write report.html, report.md and report.json here: every rule checked and how often, and
    /// each scenario's trace, for review and sign-off.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print every step's trace as it happens (deliveries, calls, the target's lines, states):
    /// one job, scenarios one after the other.
    #[arg(short, long)]
    verbose: bool,
    /// Scenario files or folders (default: scenarios/).
    paths: Vec<PathBuf>,
}

/// Exit statuses: 0 every scenario passed, 1 one failed, 2 the run could not start or stopped
/// before its end (its target exited or hung), 130 / 143 interrupted by SIGINT / SIGTERM.
fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C must stop the targets the run started, not leave them running.
    if let Err(e) = stripe_harness::signals::stop_targets_on_signals() {
        eprintln!("stripe-harness: cannot watch for Ctrl-C ({e}): an interrupted run may leave its target running");
    }
    let outcome = match cli.command {
        Some(Command::Prop(args)) => prop(args),
        Some(Command::Run(args)) => run(args),
        Some(Command::Rules) => {
            print!("{}", stripe_harness::rules::catalogue_text());
            Ok(true)
        }
        None => run(RunArgs::default()),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("stripe-harness: {message}");
            ExitCode::from(2)
        }
    }
}

fn target_choice(
    target: &Option<PathBuf>,
    defect: &Option<String>,
) -> Result<(TargetChoice, String), String> {
    Ok(match (target, defect) {
        (Some(path), _) => (
            TargetChoice::File(Box::new(TargetFile::load(path).map_err(|e| e.to_string())?)),
            format!(" --target {}", path.display()),
        ),
        (None, Some(name)) => {
            let defect =
                reference_target::Defect::parse_optional(name).map_err(|e| e.to_string())?;
            (TargetChoice::Reference(defect), format!(" --defect {name}"))
        }
        (None, None) => (TargetChoice::Reference(None), String::new()),
    })
}

fn prop(args: PropArgs) -> Result<bool, String> {
    let (choice, target_args) = target_choice(&args.target, &args.defect)?;
    let seed = args.seed.unwrap_or_else(stripe_sim::fresh_seed);
    let jobs = match args.jobs {
        Some(jobs) => jobs.max(1),
        None if args.concurrency > 1 => 1,
        None => default_jobs(&choice),
    };
    println!(
        "stripe-harness prop: {} histories of up to {} steps, concurrency {}, jobs {jobs}, seed {seed}",
        args.cases, args.max_steps, args.concurrency
    );
    let config = PropConfig {
        cases: args.cases,
        seed,
        max_steps: args.max_steps,
        min_steps: args.min_steps,
        concurrency: args.concurrency.max(1),
        jobs,
        out: args.out,
        progress: true,
        ..PropConfig::default()
    };
    let outcome = run_prop(&choice, &config);
    stripe_harness::signals::wait_if_interrupted();
    let outcome = outcome.map_err(|e| e.to_string())?;
    println!(
        "{} cases ({} steps) in {:.1}s ({:.1} cases/s)",
        outcome.cases_run,
        outcome.steps_run,
        outcome.elapsed.as_secs_f64(),
        outcome.cases_per_second()
    );
    // A failing history is replayed once more with its full trace: the evidence of the report
    // and of the lines below (histories themselves record only rules and hazards, for speed).
    let mut replayed = Vec::new();
    if let Some(found) = &outcome.found {
        let options = TraceOptions {
            level: TraceLevel::Full,
            verbose: args.verbose,
        };
        if args.verbose {
            println!("--- replaying the shrunk history ---");
        }
        let results = run_scenarios_traced(
            &choice,
            std::slice::from_ref(&found.scenario),
            seed,
            1,
            options,
        )
        .map_err(|e| e.to_string())?;
        if let Some(result) = results.into_iter().next() {
            replayed.push((found.clone(), result));
        }
    }
    let target_file = args.target.as_ref().map(|p| p.display().to_string());
    let report = prop_report(
        header(&choice, target_file, seed),
        &outcome,
        &replayed,
        &target_args,
    );
    if let Some(dir) = &args.report {
        write_report(dir, &report)
            .map_err(|e| format!("cannot write the report to {}: {e}", dir.display()))?;
        println!("report: {}", dir.join("report.html").display());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&report))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let Some(found) = outcome.found else {
        println!("seed {seed}");
        println!("{} passed, 0 failed", outcome.cases_run);
        return Ok(true);
    };
    let Some(failure) = found.result.failure.clone() else {
        return Err("internal error: a found history without its failure".into());
    };
    println!(
        "FAIL  after {} cases (seed {seed}): {} ({})",
        found.case,
        failure.violation.rule,
        failure.violation.rule.name()
    );
    println!(
        "      shrunk from {} to {} steps in {:.1}s ({} runs)",
        found.original_steps,
        found.scenario.steps.len(),
        found.shrink_time.as_secs_f64(),
        found.shrink_runs
    );
    println!("      why:      {}", failure.violation.detail);
    println!(
        "      step:     {} ({})",
        failure.step, failure.step_description
    );
    println!("      expected: {}", failure.violation.expected);
    println!("      observed: {}", failure.violation.observed);
    if let Some((_, result)) = replayed.first() {
        let evidence = stripe_harness::report::evidence(result);
        if !evidence.is_empty() {
            println!("      evidence (replayed):\n{}", evidence.trim_end());
        }
    }
    println!("--- minimal history ---\n{}", found.scenario.to_toml());
    if let Some(path) = &found.written_to {
        println!(
            "written to {}; replay: {} run{target_args} {}",
            path.display(),
            program(),
            path.display()
        );
    }
    println!("seed {seed}");
    println!("{} passed, 1 failed", found.case.saturating_sub(1));
    Ok(false)
}

fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>, String> {
    let roots = if paths.is_empty() {
        vec![default_scenarios_dir()]
    } else {
        paths.to_vec()
    };
    let mut scenarios = Vec::new();
    for root in roots {
        if root.is_dir() {
            scenarios.extend(Scenario::load_dir(&root).map_err(|e| e.to_string())?);
        } else {
            scenarios.push(Scenario::load(&root).map_err(|e| e.to_string())?);
        }
    }
    Ok(scenarios)
}

/// `K/N` → keep the scenarios whose position modulo N is K-1.
fn partition(scenarios: Vec<Scenario>, spec: &str) -> Result<Vec<Scenario>, String> {
    let (k, n) = spec
        .split_once('/')
        .ok_or("--partition takes K/N, e.g. 1/3")?;
    let k: usize = k.parse().map_err(|_| "--partition: K is not a number")?;
    let n: usize = n.parse().map_err(|_| "--partition: N is not a number")?;
    if n == 0 || k == 0 || k > n {
        return Err("--partition: need 1 <= K <= N".into());
    }
    Ok(scenarios
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % n == k - 1)
        .map(|(_, s)| s)
        .collect())
}

fn run(args: RunArgs) -> Result<bool, String> {
    let (choice, target_args) = target_choice(&args.target, &args.defect)?;
    let mut scenarios = load_scenarios(&args.paths)?;
    if let Some(filter) = &args.filter {
        scenarios.retain(|s| s.name.contains(filter.as_str()));
    }
    if let Some(spec) = &args.partition {
        scenarios = partition(scenarios, spec)?;
    }
    if scenarios.is_empty() {
        return Err("no scenario to run".into());
    }
    let seed = args.seed.unwrap_or_else(stripe_sim::fresh_seed);
    let mut jobs = args.jobs.unwrap_or_else(|| default_jobs(&choice)).max(1);
    if args.verbose {
        // Streamed traces come in order only from one job.
        jobs = 1;
    }
    println!(
        "stripe-harness: {} scenarios, seed {seed}, jobs {jobs}",
        scenarios.len()
    );
    let options = TraceOptions {
        level: TraceLevel::Full,
        verbose: args.verbose,
    };
    let outcome = run_scenarios_traced(&choice, &scenarios, seed, jobs, options);
    stripe_harness::signals::wait_if_interrupted();
    let (results, stopped) = match outcome {
        Ok(results) => (results, None),
        Err(HarnessError::Stopped(mut stopped)) => {
            (std::mem::take(&mut stopped.results), Some(stopped))
        }
        Err(e) => return Err(e.to_string()),
    };
    for result in &results {
        print!("{}", describe(result, seed, &target_args));
    }
    let target_file = args.target.as_ref().map(|p| p.display().to_string());
    let mut report = run_report(
        header(&choice, target_file, seed),
        &scenarios,
        &results,
        &target_args,
    );
    report.header.partition = args.partition.clone();
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&report))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(dir) = &args.report {
        write_report(dir, &report)
            .map_err(|e| format!("cannot write the report to {}: {e}", dir.display()))?;
        println!("report: {}", dir.join("report.html").display());
    }
    match stopped {
        None => {
            println!("{}", summary(&results, seed));
            Ok(results.iter().all(|r| r.passed()))
        }
        Some(mut stopped) => {
            stopped.results = results;
            println!("{}", stopped_summary(&stopped, seed));
            // The reason, with the target's last lines, once.
            Err(stopped.to_string())
        }
    }
}
