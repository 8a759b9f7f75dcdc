//! `report.md`: the summary, the rule matrix and the failures with their evidence, short enough
//! to paste into a pull request comment. Passing scenarios are counted, not listed.

use std::fmt::Write as _;

use crate::report::data::{Report, ReportKind};
use crate::report::lines::evidence_of;
use crate::rules::scope_words;

/// A cell of a Markdown table: no line breaks, no stray pipes.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `1,234`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The report in Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let h = &report.header;
    let t = &report.totals;
    let verdict = if t.failed == 0 { "PASS" } else { "FAIL" };
    let what = match report.kind {
        ReportKind::Run => "scenarios",
        ReportKind::Prop => "histories",
    };
    let _ = writeln!(out, "# stripe-harness report: {} ({verdict})\n", h.target);
    out.push_str("| | |\n|---|---|\n");
    let _ = writeln!(out, "| target | {} |", cell(&h.target));
    if let Some(file) = &h.target_file {
        let _ = writeln!(out, "| target file | `{}` |", cell(file));
    }
    let _ = writeln!(out, "| command | `{}` |", cell(&h.command));
    let _ = writeln!(out, "| seed | {} |", h.seed);
    let _ = writeln!(out, "| harness | stripe-harness {} |", h.harness_version);
    let _ = writeln!(out, "| Stripe API version | {} |", h.api_version);
    let _ = writeln!(
        out,
        "| policy | partial_refund_marks_refunded = {}, unpaid_may_fail = {}, return_route_may_change = {} |",
        h.policy.partial_refund_marks_refunded,
        h.policy.unpaid_may_fail,
        h.policy.return_route_may_change
    );
    let _ = writeln!(out, "| date | {} |", h.date);
    if let Some(partition) = &h.partition {
        let _ = writeln!(out, "| partition | {partition} |");
    }
    let _ = writeln!(
        out,
        "| result | {} {what}: {} passed, {} failed{}; {} rule checks, {} failed |",
        thousands(t.played),
        thousands(t.passed),
        thousands(t.failed),
        if t.skipped > 0 {
            format!(", {} skipped", thousands(t.skipped))
        } else {
            String::new()
        },
        thousands(t.checks_passed + t.checks_failed),
        thousands(t.checks_failed)
    );
    if let Some(prop) = &report.prop {
        let _ = writeln!(
            out,
            "| steps | {} steps in {} histories |",
            thousands(prop.steps),
            thousands(prop.histories)
        );
    }

    out.push_str("\n## Rules\n\n");
    out.push_str("| rule | checked | passed | failed | exercised by |\n|---|---|---|---|---|\n");
    for row in &report.rules {
        let by = match (row.histories, row.exercised_by.len()) {
            (Some(histories), _) => format!("{} histories", thousands(histories)),
            (None, 0) => "not exercised".to_string(),
            (None, 1) => format!("`{}`", row.exercised_by[0]),
            (None, n) => format!("{n} scenarios"),
        };
        let _ = writeln!(
            out,
            "| `{}` {} | {} | {} | {} | {by} |",
            row.id,
            cell(&row.name),
            scope_words(row.scope),
            thousands(row.checks.passed),
            thousands(row.checks.failed)
        );
    }

    if let Some(prop) = &report.prop {
        out.push_str("\n## Hazards exercised\n\n| hazard | times |\n|---|---|\n");
        for (name, n) in prop.hazards.rows() {
            let _ = writeln!(out, "| {name} | {} |", thousands(n));
        }
    }

    let failures: Vec<_> = report.failures().collect();
    if failures.is_empty() {
        let _ = writeln!(out, "\nNo rule was broken.");
        return out;
    }
    out.push_str("\n## Failures\n");
    for scenario in failures {
        let Some(f) = &scenario.failure else {
            continue;
        };
        let _ = writeln!(out, "\n### `{}`: `{}`\n", scenario.name, f.rule);
        let _ = writeln!(out, "- rule: `{}` ({})", f.rule, cell(&f.rule_name));
        let _ = writeln!(out, "- why: {}", cell(&f.detail));
        let _ = writeln!(out, "- step {}: `{}`", f.step, cell(&f.step_description));
        let _ = writeln!(out, "- expected: {}", cell(&f.expected));
        let _ = writeln!(out, "- observed: {}", cell(&f.observed));
        let _ = writeln!(out, "- replay: `{}`", cell(&scenario.replay));
        if let Some(prop) = &report.prop {
            if let Some(found) = prop.failures.iter().find(|p| p.scenario == scenario.name) {
                let _ = writeln!(
                    out,
                    "- found at case {}, shrunk from {} to {} steps:\n\n```toml\n{}```",
                    found.case, found.original_steps, found.shrunk_steps, found.history
                );
            }
        }
        if let Some(diff) = &f.diff {
            let _ = writeln!(
                out,
                "\nSnapshot diff (`-` accepted, `+` what the target did now):\n\n```diff\n{}```",
                diff.replace("```", "'''")
            );
            continue;
        }
        let evidence = evidence_of(f.step, &scenario.trace);
        if !evidence.is_empty() {
            let _ = writeln!(out, "\n```text\n{}```", evidence.replace("```", "'''"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
