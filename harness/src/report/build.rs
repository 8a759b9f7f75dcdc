//! Building a [`Report`] from what a run found: the header from the target and the command line,
//! the scenarios of `run`, the coverage and the failing history of `prop`.

use crate::harness::TargetChoice;
use crate::prop::{Found, PropOutcome};
use crate::report::data::{utc_now, Header, PropFailure, PropReport, Report, ReportKind};
use crate::report::lines::{program, replay_command};
use crate::runner::ScenarioResult;
use crate::scenario::Scenario;

/// The target's name as reports show it.
pub fn target_name(choice: &TargetChoice) -> String {
    match choice {
        TargetChoice::Reference(reference) => reference.name(),
        TargetChoice::File(file) => file.name.clone().unwrap_or_else(|| "target".to_string()),
    }
}

/// This process's command line, as it can be run again.
pub fn command_line() -> String {
    let mut parts = vec![program().to_string()];
    parts.extend(std::env::args().skip(1).map(|a| shell_quote(&a)));
    parts.join(" ")
}

/// `a` as one shell word.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@+%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The header of a report about `choice`, run with `seed`.
pub fn header(choice: &TargetChoice, target_file: Option<String>, seed: u64) -> Header {
    Header {
        target: target_name(choice),
        target_file,
        command: command_line(),
        seed,
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        api_version: stripe_sim::DEFAULT_API_VERSION.to_string(),
        policy: match choice {
            TargetChoice::File(file) => file.policy,
            TargetChoice::Reference(_) => Default::default(),
        },
        date: utc_now(),
        partition: None,
    }
}

/// The report of a `run`: every scenario with its trace.
pub fn run_report(
    header: Header,
    scenarios: &[Scenario],
    results: &[ScenarioResult],
    target_args: &str,
) -> Report {
    let mut report = Report::new(ReportKind::Run, header);
    let seed = report.header.seed;
    for result in results {
        let group = scenarios
            .iter()
            .find(|s| s.name == result.name)
            .map(Scenario::group_name)
            .unwrap_or_else(|| "scenarios".to_string());
        report.add_scenario(result, group, replay_command(result, seed, target_args));
    }
    report
}

/// The report of a `prop` run: the coverage of every history, and each failing history with
/// the trace of its replay (`replayed`, recorded in full).
pub fn prop_report(
    header: Header,
    outcome: &PropOutcome,
    replayed: &[(Found, ScenarioResult)],
    target_args: &str,
) -> Report {
    let mut report = Report::new(ReportKind::Prop, header);
    let seed = report.header.seed;
    report.totals.played = u64::from(outcome.cases_run);
    report.totals.failed = u64::from(outcome.failing_cases).max(replayed.len() as u64);
    report.totals.passed = report.totals.played.saturating_sub(report.totals.failed);
    report.count_checks(&outcome.coverage.tally, None);
    for row in &mut report.rules {
        row.histories = Some(
            outcome
                .coverage
                .histories
                .get(&row.id)
                .copied()
                .unwrap_or(0),
        );
    }
    let mut failures = Vec::new();
    for (found, result) in replayed {
        let replay = match &found.written_to {
            Some(path) => format!(
                "{} run --seed {seed}{target_args} {}",
                program(),
                path.display()
            ),
            None => replay_command(result, seed, target_args),
        };
        let rule = found
            .result
            .failure
            .as_ref()
            .or(result.failure.as_ref())
            .map(|f| f.violation.rule)
            .unwrap_or(crate::rules::Rule::Playable);
        failures.push(PropFailure {
            case: found.case,
            rule,
            original_steps: found.original_steps,
            shrunk_steps: found.scenario.steps.len(),
            history: found.scenario.to_toml(),
            written_to: found.written_to.as_ref().map(|p| p.display().to_string()),
            replay: replay.clone(),
            scenario: result.name.clone(),
        });
        // Its checks are in the coverage already: listed, not counted again.
        report.list_scenario(result, "histories".to_string(), replay);
    }
    report.prop = Some(PropReport {
        histories: u64::from(outcome.cases_run),
        steps: outcome.steps_run,
        hazards: outcome.coverage.hazards.clone(),
        failures,
        partitions: Vec::new(),
    });
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_quote("--seed"), "--seed");
        assert_eq!(shell_quote("my app.toml"), "'my app.toml'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
