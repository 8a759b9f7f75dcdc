//! `stripe-harness`: run payment scenarios against a target app. Argument parsing only; the work
//! is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::report::build::{header, prop_report, run_report};
use stripe_harness::report::junit::junit;
use stripe_harness::report::{describe, program, stopped_summary, summary, write_report};
use stripe_harness::snapshots::{self, SnapshotDir, SnapshotOptions};
use stripe_harness::trace::{TraceLevel, TraceOptions};
use stripe_harness::{
    default_jobs, run_scenarios_traced, scenario_library, HarnessError, Scenario, TargetChoice,
    TargetFile,
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
    /// Combine the reports (report.json, or folders holding one) or the JUnit files of the
    /// partitions of one run (`--partition K/N` on several machines) into one.
    Merge(MergeArgs),
    /// Act on the pending snapshots (`*.snap.new`) a `run --snapshots DIR` wrote.
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
}

#[derive(Subcommand)]
enum SnapshotsCommand {
    /// Show each pending snapshot's diff and ask: accept, reject or skip (one answer per line).
    Review {
        /// The snapshot folder given to `run --snapshots`.
        dir: PathBuf,
    },
    /// Accept every pending snapshot (`X.snap.new` becomes `X.snap`).
    Accept {
        /// The snapshot folder given to `run --snapshots`.
        dir: PathBuf,
    },
    /// Reject every pending snapshot (the `.snap.new` files are removed; accepted ones stay).
    Reject {
        /// The snapshot folder given to `run --snapshots`.
        dir: PathBuf,
    },
}

#[derive(Args)]
struct MergeArgs {
    /// Write the merged report.json, report.md and report.html here (from report inputs).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the merged JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// The partitions' report.json files (or their folders), or their JUnit XML files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct PropArgs {
    /// Target file (TOML) describing the app; the embedded reference target when omitted.
    #[arg(long)]
    target: Option<PathBuf>,
    /// Run the embedded reference target with this defect switched on.
    #[arg(long, conflicts_with = "target")]
    defect: Option<String>,
    /// Run the embedded reference target in these correct designs (comma-separated:
    /// refund_retry, refund_at_once, first_session, latest_session, sqlite, memory).
    #[arg(long, conflicts_with = "target")]
    variant: Option<String>,
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
    /// Go on after a failure: find every distinct broken rule in the cases (one history per
    /// rule, the lowest case that broke it, each shrunk and written).
    #[arg(long, conflicts_with = "max_failures")]
    keep_going: bool,
    /// Stop once this many distinct rules broke (default 1: stop at the first failure).
    #[arg(long)]
    max_failures: Option<u32>,
    /// Play only part K of N of the cases (1-based), e.g. 2/4, for CI matrices; `merge`
    /// combines the parts' reports. Together the parts play exactly the cases of the whole run.
    #[arg(long)]
    partition: Option<String>,
}

#[derive(Args, Default)]
struct RunArgs {
    /// Target file (TOML) describing the app; the embedded reference target when omitted.
    #[arg(long)]
    target: Option<PathBuf>,
    /// Run the embedded reference target with this defect switched on.
    #[arg(long, conflicts_with = "target")]
    defect: Option<String>,
    /// Run the embedded reference target in these correct designs (comma-separated:
    /// refund_retry, refund_at_once, first_session, latest_session, sqlite, memory).
    #[arg(long, conflicts_with = "target")]
    variant: Option<String>,
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
    /// Compare what the target did in each scenario with its accepted snapshot DIR/<scenario>.snap
    /// (insta's format): a new or different one fails the scenario (rule snapshot-matches) and
    /// is written beside it as .snap.new (under CI=true: nothing is written).
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Write new and changed snapshots as accepted (also STRIPE_HARNESS_SNAPSHOTS=accept,
    /// which CI=true refuses: there only --accept accepts).
    #[arg(long, requires = "snapshots")]
    accept: bool,
    /// Scenario files or folders (default: the library, ./scenarios when it exists, else the
    /// built-in one; found histories are played by naming them).
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
        Some(Command::Merge(args)) => merge(args),
        Some(Command::Snapshots(command)) => snapshots(command),
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
    variant: &Option<String>,
) -> Result<(TargetChoice, String), String> {
    if let Some(path) = target {
        return Ok((
            TargetChoice::File(Box::new(TargetFile::load(path).map_err(|e| e.to_string())?)),
            format!(" --target {}", path.display()),
        ));
    }
    let reference = stripe_harness::Reference {
        defect: match defect {
            Some(name) => {
                reference_target::Defect::parse_optional(name).map_err(|e| e.to_string())?
            }
            None => None,
        },
        design: match variant {
            Some(names) => reference_target::Design::parse(names).map_err(|e| e.to_string())?,
            None => reference_target::Design::default(),
        },
    };
    Ok((TargetChoice::Reference(reference), reference.args()))
}

fn prop(args: PropArgs) -> Result<bool, String> {
    let (choice, target_args) = target_choice(&args.target, &args.defect, &args.variant)?;
    let seed = args.seed.unwrap_or_else(stripe_sim::fresh_seed);
    let jobs = match args.jobs {
        Some(jobs) => jobs.max(1),
        None if args.concurrency > 1 => 1,
        None => default_jobs(&choice),
    };
    let part = args
        .partition
        .as_ref()
        .map(|p| format!(" (partition {p})"))
        .unwrap_or_default();
    println!(
        "stripe-harness prop: {} histories{part} of up to {} steps, concurrency {}, jobs {jobs}, seed {seed}",
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
        partition: args
            .partition
            .as_deref()
            .map(stripe_harness::prop::parse_partition)
            .transpose()?,
        max_failures: if args.keep_going {
            u32::MAX
        } else {
            args.max_failures.unwrap_or(1).max(1)
        },
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
    for found in &outcome.found {
        let options = TraceOptions {
            level: TraceLevel::Full,
            verbose: args.verbose,
        };
        if args.verbose {
            println!(
                "--- replaying the shrunk history of case {} ---",
                found.case
            );
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
    let mut report = prop_report(
        header(&choice, target_file, seed),
        &outcome,
        &replayed,
        &target_args,
    );
    report.header.partition = args.partition.clone();
    if let Some(dir) = &args.report {
        write_report(dir, &report)
            .map_err(|e| format!("cannot write the report to {}: {e}", dir.display()))?;
        println!("report: {}", dir.join("report.html").display());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&report))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    for (index, found) in outcome.found.iter().enumerate() {
        let Some(failure) = found.result.failure.clone() else {
            return Err("internal error: a found history without its failure".into());
        };
        println!(
            "FAIL  case {} (seed {seed}): {} ({})",
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
        if let Some((_, result)) = replayed.iter().find(|(f, _)| f.case == found.case) {
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
        if index + 1 < outcome.found.len() {
            println!();
        }
    }
    println!("seed {seed}");
    // Histories that broke a rule already reported are failures too, but not listed again.
    let failed = outcome.failing_cases;
    println!(
        "{} passed, {failed} failed",
        outcome.cases_run.saturating_sub(failed)
    );
    Ok(outcome.found.is_empty())
}

/// The scenarios to play, and where they came from for the banner: the named files and
/// folders, or the library (`./scenarios` when it exists, else the built-in one).
fn load_scenarios(paths: &[PathBuf]) -> Result<(Vec<Scenario>, String), String> {
    if paths.is_empty() {
        let library = scenario_library();
        let scenarios = Scenario::load_library(&library.dir).map_err(|e| {
            format!(
                "{e}: no scenario library (name scenario files or folders, or run from a folder with scenarios/)"
            )
        })?;
        return Ok((scenarios, library.describe()));
    }
    let mut scenarios = Vec::new();
    for root in paths {
        if root.is_dir() {
            scenarios.extend(Scenario::load_dir(root).map_err(|e| e.to_string())?);
        } else {
            scenarios.push(Scenario::load(root).map_err(|e| e.to_string())?);
        }
    }
    let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Ok((scenarios, named.join(" ")))
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

/// How `run --snapshots DIR` checks: the folder, what it may write (from `--accept`,
/// `STRIPE_HARNESS_SNAPSHOTS` and `CI`), and what the target file records.
fn snapshot_options(
    dir: &std::path::Path,
    accept: bool,
    choice: &TargetChoice,
) -> Result<SnapshotOptions, String> {
    let env = std::env::var(snapshots::ENV).ok();
    let ci = snapshots::in_ci(std::env::var("CI").ok().as_deref());
    let write = snapshots::write_mode(accept, env.as_deref(), ci)?;
    let (fields, spec) = match choice {
        TargetChoice::File(file) => (file.fields.clone(), file.snapshots.clone()),
        TargetChoice::Reference(_) => Default::default(),
    };
    Ok(SnapshotOptions {
        dir: SnapshotDir::new(dir).map_err(|e| e.to_string())?,
        write,
        fields,
        spec,
        program: stripe_harness::report::program().to_string(),
    })
}

/// `stripe-harness snapshots review|accept|reject DIR`.
fn snapshots(command: SnapshotsCommand) -> Result<bool, String> {
    let (SnapshotsCommand::Review { dir }
    | SnapshotsCommand::Accept { dir }
    | SnapshotsCommand::Reject { dir }) = &command;
    let folder = SnapshotDir::new(dir).map_err(|e| e.to_string())?;
    match command {
        SnapshotsCommand::Review { .. } => {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut out = std::io::stdout();
            snapshots::review::review(&folder, &mut input, &mut out).map_err(|e| e.to_string())?;
        }
        SnapshotsCommand::Accept { .. } => {
            let names = snapshots::review::accept_all(&folder).map_err(|e| e.to_string())?;
            for name in &names {
                println!("accepted {}", folder.accepted_path(name).display());
            }
            println!("{} snapshots accepted in {}", names.len(), dir.display());
        }
        SnapshotsCommand::Reject { .. } => {
            let names = snapshots::review::reject_all(&folder).map_err(|e| e.to_string())?;
            for name in &names {
                println!("rejected {}", folder.pending_path(name).display());
            }
            println!(
                "{} pending snapshots rejected in {}",
                names.len(),
                dir.display()
            );
        }
    }
    Ok(true)
}

fn run(args: RunArgs) -> Result<bool, String> {
    let (choice, mut target_args) = target_choice(&args.target, &args.defect, &args.variant)?;
    // Checked before anything starts: a refused STRIPE_HARNESS_SNAPSHOTS stops the run at once.
    let snapshot_check = match &args.snapshots {
        Some(dir) => {
            // Replaying a failure with the folder checks its snapshot again.
            target_args.push_str(&format!(" --snapshots {}", dir.display()));
            Some(snapshot_options(dir, args.accept, &choice)?)
        }
        None => None,
    };
    let (mut scenarios, source) = load_scenarios(&args.paths)?;
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
        "stripe-harness: {} scenarios from {source}, seed {seed}, jobs {jobs}",
        scenarios.len()
    );
    let options = TraceOptions {
        level: TraceLevel::Full,
        verbose: args.verbose,
    };
    let outcome = run_scenarios_traced(&choice, &scenarios, seed, jobs, options);
    stripe_harness::signals::wait_if_interrupted();
    let (mut results, stopped) = match outcome {
        Ok(results) => (results, None),
        Err(HarnessError::Stopped(mut stopped)) => {
            (std::mem::take(&mut stopped.results), Some(stopped))
        }
        Err(e) => return Err(e.to_string()),
    };
    let snapshot_summary = match &snapshot_check {
        Some(options) => Some(
            snapshots::check_results(options, &scenarios, &mut results)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
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
    if let (Some(options), Some(found)) = (&snapshot_check, &snapshot_summary) {
        println!("{}", found.describe(options));
        // Only a run of the whole library knows which snapshots belong to no scenario.
        let whole_library =
            args.paths.is_empty() && args.filter.is_none() && args.partition.is_none();
        if whole_library && stopped.is_none() {
            let orphans = snapshots::orphans(&options.dir, &results).map_err(|e| e.to_string())?;
            if !orphans.is_empty() {
                println!(
                    "  {} accepted snapshots belong to no scenario of the library (renamed or removed? delete them): {}",
                    orphans.len(),
                    orphans
                        .iter()
                        .map(|n| options.dir.accepted_path(n).display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
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

/// `stripe-harness merge`: the partitions' reports (or JUnit files) as one.
fn merge(args: MergeArgs) -> Result<bool, String> {
    let xml = |p: &PathBuf| p.extension().is_some_and(|e| e == "xml");
    if args.inputs.iter().all(xml) {
        let Some(path) = &args.junit else {
            return Err("merging JUnit files needs --junit OUT.xml".into());
        };
        let texts = args
            .inputs
            .iter()
            .map(|p| {
                std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let merged = stripe_harness::report::junit::merge_junit(&texts)?;
        std::fs::write(path, &merged.xml)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("merged {} JUnit files into {}", texts.len(), path.display());
        println!(
            "{} passed, {} failed",
            merged.tests - merged.failures - merged.skipped,
            merged.failures
        );
        return Ok(merged.failures == 0);
    }
    if args.inputs.iter().any(xml) {
        return Err("give either report.json files (or their folders) or JUnit files, not both: JUnit output is made from the merged report".into());
    }
    let parts = args
        .inputs
        .iter()
        .map(|p| {
            let file = if p.is_dir() {
                p.join("report.json")
            } else {
                p.clone()
            };
            stripe_harness::report::read_report(&file)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = parts.len();
    let merged = stripe_harness::report::Report::merge(parts)?;
    if let Some(dir) = &args.report {
        write_report(dir, &merged)
            .map_err(|e| format!("cannot write the report to {}: {e}", dir.display()))?;
        println!("report: {}", dir.join("report.html").display());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&merged))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let t = &merged.totals;
    println!("merged {count} reports: {} played", t.played);
    let skipped = if t.skipped > 0 {
        format!(", {} skipped", t.skipped)
    } else {
        String::new()
    };
    println!("{} passed, {} failed{skipped}", t.passed, t.failed);
    Ok(t.failed == 0)
}
