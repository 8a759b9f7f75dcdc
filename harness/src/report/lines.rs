//! What a run prints: one line per scenario, and for a failure the broken rule, the facts
//! behind it, the step, expected against observed, the command that replays it, and the
//! evidence of the failing step (the webhook attempts with the target's answers, the calls, the
//! lines the target printed); then a summary.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::runner::ScenarioResult;
use crate::trace::{clock_time, render_step, Detail, StepTrace};

/// How to run this program again, as it was invoked: `cargo run -p stripe-harness --` when cargo
/// ran it (the binary is not on the PATH then), else the path or name it was started by.
pub fn program() -> &'static str {
    static PROGRAM: OnceLock<String> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let argv0 = std::env::args().next().unwrap_or_default();
        let under_cargo = std::env::var_os("CARGO").is_some()
            && std::env::var("CARGO_PKG_NAME").is_ok_and(|p| p == "stripe-harness");
        if under_cargo {
            let release = argv0.contains("/release/");
            return format!(
                "cargo run{} -p stripe-harness --",
                if release { " --release" } else { "" }
            );
        }
        if argv0.is_empty() {
            "stripe-harness".to_string()
        } else {
            argv0
        }
    })
}

/// How to rerun one scenario.
pub fn replay_command(result: &ScenarioResult, run_seed: u64, target_args: &str) -> String {
    let path = result
        .path
        .clone()
        .unwrap_or_else(|| format!("scenarios/{}.toml", result.name));
    format!("{} run --seed {run_seed}{target_args} {path}", program())
}

/// The evidence of a failure: the failing step's trace (deliveries with the target's answers,
/// failed calls, the target's lines, what was observed), and the deliveries refused in earlier
/// steps, which are often the cause.
pub fn evidence(result: &ScenarioResult) -> String {
    match &result.failure {
        // A new snapshot is all additions: the first lines say what it is, the file has the rest
        // (reports and JUnit keep it whole).
        Some(failure) => match failure.diff.as_deref() {
            Some(diff)
                if diff.starts_with("@@ -1,0 ") && diff.lines().count() > NEW_SNAPSHOT_LINES =>
            {
                let shown: Vec<&str> = diff.lines().take(NEW_SNAPSHOT_LINES).collect();
                let mut out = diff_evidence(&shown.join("\n"));
                let _ = writeln!(
                    out,
                    "        … {} more lines (the whole snapshot: {})",
                    diff.lines().count() - NEW_SNAPSHOT_LINES,
                    failure.violation.observed
                );
                out
            }
            diff => failure_evidence(failure.step, diff, &result.trace),
        },
        None => String::new(),
    }
}

/// How many lines of a new snapshot a run prints.
const NEW_SNAPSHOT_LINES: usize = 30;

/// The evidence of a failure at `failed_step`: a snapshot's diff when it has one (`snapshot-
/// matches`: the whole scenario is the evidence, and the diff says what changed), else
/// [`evidence_of`] the trace.
pub fn failure_evidence(failed_step: usize, diff: Option<&str>, trace: &[StepTrace]) -> String {
    match diff {
        Some(diff) => diff_evidence(diff),
        None => evidence_of(failed_step, trace),
    }
}

/// A snapshot's line diff, indented as the rest of the evidence.
pub fn diff_evidence(diff: &str) -> String {
    let mut out = String::from("      snapshot diff (- accepted, + what the target did now):\n");
    for line in diff.lines() {
        let _ = writeln!(out, "        {line}");
    }
    out
}

/// How many earlier webhook attempts the evidence lists (the latest ones).
const EARLIER_ATTEMPTS: usize = 12;

/// How many lines the target printed in earlier steps the evidence shows (the latest ones).
const EARLIER_LINES: usize = 20;

/// The events the payment spec subscribes to.
const SPEC_EVENTS: [&str; 4] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refunded",
];

/// [`evidence`] for a failure at step `failed_step` of `trace`: the webhook attempts of the
/// steps before it that matter (the spec's events, and any attempt not answered 2xx; the latest
/// [`EARLIER_ATTEMPTS`], in the order the target answered them, with its answers: a refund
/// answered `200 {"ignored":true}` is often the cause), then the failing step's trace.
pub fn evidence_of(failed_step: usize, trace: &[StepTrace]) -> String {
    let mut out = String::new();
    let mut previous_answer: Option<&str> = None;
    let mut earlier: Vec<String> = Vec::new();
    for step in trace.iter().filter(|s| s.number < failed_step) {
        for d in step.deliveries.iter().filter(|d| {
            SPEC_EVENTS.contains(&d.event_type.as_str())
                || !d.status.is_some_and(|c| (200..300).contains(&c))
        }) {
            // An answer already shown just above is not repeated.
            let same = previous_answer == Some(d.answer.as_str()) && !d.answer.is_empty();
            let line = if same {
                format!("{} (the same answer)", d.line(0))
            } else {
                d.line(200)
            };
            earlier.push(format!("step {}: {line}", step.number));
            previous_answer = Some(d.answer.as_str());
        }
    }
    if !earlier.is_empty() {
        let _ = writeln!(out, "      webhook attempts before this step:");
        let skipped = earlier.len().saturating_sub(EARLIER_ATTEMPTS);
        if skipped > 0 {
            let _ = writeln!(out, "        … {skipped} earlier ones");
        }
        for line in &earlier[skipped..] {
            let _ = writeln!(out, "        {line}");
        }
    }
    // What the target printed while it refused deliveries or calls: its stack traces.
    let troubled: Vec<String> = trace
        .iter()
        .filter(|s| s.number < failed_step)
        .filter(|s| {
            s.deliveries
                .iter()
                .any(|d| !d.status.is_some_and(|c| (200..300).contains(&c)))
                || s.calls.iter().any(|c| c.status.is_none_or(|c| c >= 500))
        })
        .flat_map(|s| {
            s.output.iter().map(move |l| {
                format!(
                    "step {}: {} {} {}",
                    s.number,
                    l.stream,
                    clock_time(l.at_ms),
                    l.text
                )
            })
        })
        .collect();
    if !troubled.is_empty() {
        let _ = writeln!(out, "      what the target printed while it refused them:");
        let skipped = troubled.len().saturating_sub(EARLIER_LINES);
        if skipped > 0 {
            let _ = writeln!(out, "        … {skipped} earlier lines");
        }
        for line in &troubled[skipped..] {
            let _ = writeln!(out, "        {line}");
        }
    }
    if let Some(step) = trace.iter().find(|s| s.number == failed_step) {
        out.push_str(&render_step(step, Detail::Evidence));
    }
    out
}

/// The block printed for one scenario.
pub fn describe(result: &ScenarioResult, run_seed: u64, target_args: &str) -> String {
    let mut out = String::new();
    let verdict = match (result.passed(), &result.skipped) {
        (_, Some(_)) => "SKIP",
        (true, None) => "PASS",
        (false, None) => "FAIL",
    };
    let _ = writeln!(
        out,
        "{verdict}  {:<48} {:>7.2}s",
        result.name,
        result.duration.as_secs_f64()
    );
    if let Some(reason) = &result.skipped {
        let _ = writeln!(out, "      skipped:  {reason}");
    }
    if let Some(failure) = &result.failure {
        let _ = writeln!(
            out,
            "      rule:     {} ({})",
            failure.violation.rule,
            failure.violation.rule.name()
        );
        let _ = writeln!(out, "      why:      {}", failure.violation.detail);
        let _ = writeln!(
            out,
            "      step:     {} ({})",
            failure.step, failure.step_description
        );
        let _ = writeln!(out, "      expected: {}", failure.violation.expected);
        let _ = writeln!(out, "      observed: {}", failure.violation.observed);
        if !result.rule.is_empty() {
            let _ = writeln!(out, "      scenario: {}", result.rule);
        }
        let _ = writeln!(
            out,
            "      replay:   {}",
            replay_command(result, run_seed, target_args)
        );
        let evidence = evidence(result);
        if !evidence.is_empty() {
            let _ = writeln!(out, "      evidence:");
            out.push_str(&evidence);
        }
    }
    out
}

pub fn summary(results: &[ScenarioResult], seed: u64) -> String {
    let (passed, failed, skipped) = counts(results);
    let secs: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    // The count line stands alone so that CI log readers recognise it.
    format!(
        "{} scenarios in {secs:.1}s, seed {seed}\n{passed} passed, {failed} failed{}",
        results.len(),
        skipped_words(skipped)
    )
}

/// (passed, failed, skipped).
fn counts(results: &[ScenarioResult]) -> (usize, usize, usize) {
    let skipped = results.iter().filter(|r| r.was_skipped()).count();
    let failed = results.iter().filter(|r| !r.passed()).count();
    (results.len() - failed - skipped, failed, skipped)
}

/// `, 2 skipped` (nothing when none was).
fn skipped_words(skipped: usize) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!(", {skipped} skipped")
    }
}

/// The summary of a run that stopped because its target went away (the reason itself, with the
/// target's last lines, is printed once, after it).
pub fn stopped_summary(stopped: &crate::Stopped, seed: u64) -> String {
    let results = &stopped.results;
    let (passed, failed, skipped) = counts(results);
    let secs: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    format!(
        "{} of {} scenarios in {secs:.1}s, seed {seed}\n{passed} passed, {failed} failed{}, {} not played: the run stopped during {}",
        results.len(),
        skipped_words(skipped),
        stopped.planned,
        stopped.planned.saturating_sub(results.len()),
        stopped.during
    )
}
