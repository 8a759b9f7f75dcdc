//! What a run prints: one line per scenario (and for a failure: the broken rule, the step,
//! expected against observed, and the command that replays it), a summary, and JUnit XML.

use std::fmt::Write as _;

use crate::runner::ScenarioResult;

/// How to rerun one scenario.
pub fn replay_command(result: &ScenarioResult, run_seed: u64, target_args: &str) -> String {
    let path = result
        .path
        .clone()
        .unwrap_or_else(|| format!("scenarios/{}.toml", result.name));
    format!("stripe-harness run --seed {run_seed}{target_args} {path}")
}

/// The block printed for one scenario.
pub fn describe(result: &ScenarioResult, run_seed: u64, target_args: &str) -> String {
    let mut out = String::new();
    let verdict = if result.passed() { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "{verdict}  {:<48} {:>7.2}s",
        result.name,
        result.duration.as_secs_f64()
    );
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
    }
    out
}

pub fn summary(results: &[ScenarioResult], seed: u64) -> String {
    let failed = results.iter().filter(|r| !r.passed()).count();
    let passed = results.len() - failed;
    let secs: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    // The count line stands alone so that CI log readers recognise it.
    format!(
        "{} scenarios in {secs:.1}s, seed {seed}\n{passed} passed, {failed} failed",
        results.len()
    )
}

/// The summary of a run that stopped because its target went away (the reason itself, with the
/// target's last lines, is printed once, after it).
pub fn stopped_summary(stopped: &crate::Stopped, seed: u64) -> String {
    let results = &stopped.results;
    let failed = results.iter().filter(|r| !r.passed()).count();
    let passed = results.len() - failed;
    let secs: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    format!(
        "{} of {} scenarios in {secs:.1}s, seed {seed}\n{passed} passed, {failed} failed, {} not played: the run stopped during {}",
        results.len(),
        stopped.planned,
        stopped.planned.saturating_sub(results.len()),
        stopped.during
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A JUnit XML report, one test case per scenario.
pub fn junit(results: &[ScenarioResult], run_seed: u64, target_args: &str) -> String {
    let failures = results.iter().filter(|r| !r.passed()).count();
    let time: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"stripe-harness\" tests=\"{}\" failures=\"{failures}\" time=\"{time:.3}\">",
        results.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failures}\" time=\"{time:.3}\">",
        results.len()
    );
    for r in results {
        let _ = write!(
            out,
            "    <testcase classname=\"scenarios\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(&r.name),
            r.duration.as_secs_f64()
        );
        match &r.failure {
            None => out.push_str("/>\n"),
            Some(f) => {
                let _ = writeln!(out, ">");
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\">step {} ({}): expected {}, observed {}\nreplay: {}</failure>",
                    xml_escape(f.violation.rule.id()),
                    f.step,
                    xml_escape(&f.step_description),
                    xml_escape(&f.violation.expected),
                    xml_escape(&f.violation.observed),
                    xml_escape(&replay_command(r, run_seed, target_args))
                );
                out.push_str("    </testcase>\n");
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
