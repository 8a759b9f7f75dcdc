//! JUnit XML, the way CI systems read it: the run's settings as `<properties>`, one test case per
//! scenario (classname: its group) with the rule, step, expected, observed and replay command in
//! `<failure>` and the failing step's evidence in `<system-out>`. A property run has one test
//! case per rule (how many checks it passed) and one per failing history.

use std::fmt::Write as _;

use crate::report::data::{Report, ReportKind, ScenarioReport};
use crate::report::html::esc as xml_escape;
use crate::report::lines::failure_evidence;

/// The report as JUnit XML.
pub fn junit(report: &Report) -> String {
    let mut cases = String::new();
    let (tests, failures) = match report.kind {
        ReportKind::Run => scenario_cases(report, &mut cases),
        ReportKind::Prop => prop_cases(report, &mut cases),
    };
    let time: f64 = report
        .scenarios
        .iter()
        .map(|s| s.duration_ms as f64 / 1000.0)
        .sum();
    let suite = match report.kind {
        ReportKind::Run => "scenarios",
        ReportKind::Prop => "properties",
    };
    let skipped = report
        .scenarios
        .iter()
        .filter(|s| s.skipped.is_some())
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"stripe-harness\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\" timestamp=\"{}\">",
        xml_escape(&report.header.date)
    );
    out.push_str("    <properties>\n");
    for (name, value) in properties(report) {
        let _ = writeln!(
            out,
            "      <property name=\"{}\" value=\"{}\"/>",
            xml_escape(&name),
            xml_escape(&value)
        );
    }
    out.push_str("    </properties>\n");
    out.push_str(&cases);
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn properties(report: &Report) -> Vec<(String, String)> {
    let h = &report.header;
    let mut props = vec![
        ("seed".to_string(), h.seed.to_string()),
        ("target".to_string(), h.target.clone()),
        ("harness_version".to_string(), h.harness_version.clone()),
        ("api_version".to_string(), h.api_version.clone()),
        (
            "policy.partial_refund_marks_refunded".to_string(),
            h.policy.partial_refund_marks_refunded.to_string(),
        ),
        (
            "policy.unpaid_may_fail".to_string(),
            h.policy.unpaid_may_fail.to_string(),
        ),
        (
            "policy.return_route_may_change".to_string(),
            h.policy.return_route_may_change.to_string(),
        ),
        ("command".to_string(), h.command.clone()),
    ];
    if let Some(file) = &h.target_file {
        props.push(("target_file".to_string(), file.clone()));
    }
    if let Some(partition) = &h.partition {
        props.push(("partition".to_string(), partition.clone()));
    }
    props
}

/// One test case per scenario; returns (tests, failures).
fn scenario_cases(report: &Report, out: &mut String) -> (usize, usize) {
    for scenario in &report.scenarios {
        scenario_case(scenario, &scenario.group, &scenario.name, out);
    }
    (report.scenarios.len(), report.failures().count())
}

fn scenario_case(scenario: &ScenarioReport, classname: &str, name: &str, out: &mut String) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
        xml_escape(classname),
        xml_escape(name),
        scenario.duration_ms as f64 / 1000.0
    );
    if let Some(reason) = &scenario.skipped {
        let _ = writeln!(
            out,
            "><skipped message=\"{}\"/></testcase>",
            xml_escape(reason)
        );
        return;
    }
    let Some(f) = &scenario.failure else {
        out.push_str("/>\n");
        return;
    };
    out.push_str(">\n");
    let _ = writeln!(
        out,
        "      <failure message=\"{}: {}\" type=\"{}\">rule: {} ({})\nwhy: {}\nstep: {} ({})\nexpected: {}\nobserved: {}\nreplay: {}</failure>",
        xml_escape(f.rule.id()),
        xml_escape(&f.detail),
        xml_escape(f.rule.id()),
        xml_escape(f.rule.id()),
        xml_escape(&f.rule_name),
        xml_escape(&f.detail),
        f.step,
        xml_escape(&f.step_description),
        xml_escape(&f.expected),
        xml_escape(&f.observed),
        xml_escape(&scenario.replay)
    );
    let evidence = failure_evidence(f.step, f.diff.as_deref(), &scenario.trace);
    if !evidence.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            xml_escape(&evidence)
        );
    }
    out.push_str("    </testcase>\n");
}

/// One test case per rule (its checks), and one per failing history.
fn prop_cases(report: &Report, out: &mut String) -> (usize, usize) {
    let mut tests = 0;
    let mut failures = 0;
    for row in &report.rules {
        tests += 1;
        let checks = row.checks.passed + row.checks.failed;
        let histories = row
            .histories
            .map(|h| format!(" in {h} histories"))
            .unwrap_or_default();
        let _ = write!(
            out,
            "    <testcase classname=\"rules\" name=\"{} ({checks} checks)\" time=\"0\"",
            xml_escape(row.id.id())
        );
        if row.checks.failed == 0 {
            let _ = writeln!(
                out,
                "><system-out>{}: {} checks passed{histories}</system-out></testcase>",
                xml_escape(&row.name),
                row.checks.passed
            );
            continue;
        }
        failures += 1;
        let _ = writeln!(
            out,
            "><failure message=\"{}: {} of {checks} checks failed\" type=\"{}\">{}</failure></testcase>",
            xml_escape(row.id.id()),
            row.checks.failed,
            xml_escape(row.id.id()),
            xml_escape(&row.name)
        );
    }
    if let Some(prop) = &report.prop {
        for failure in &prop.failures {
            let Some(scenario) = report.scenarios.iter().find(|s| s.name == failure.scenario)
            else {
                continue;
            };
            tests += 1;
            failures += 1;
            let name = format!("case {}: {}", failure.case, failure.rule);
            scenario_case(scenario, "histories", &name, out);
        }
    }
    (tests, failures)
}

/// JUnit files merged by [`merge_junit`], with their counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedJunit {
    pub xml: String,
    pub tests: usize,
    pub failures: usize,
    pub skipped: usize,
}

/// The value of `name="…"` in an XML start tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

/// Several JUnit files written by this harness (the partitions of one run) as one: the test
/// cases of all, the counts summed, the first file's properties (its `partition` left out).
pub fn merge_junit(files: &[String]) -> Result<MergedJunit, String> {
    let (mut tests, mut failures, mut skipped, mut time) = (0usize, 0usize, 0usize, 0f64);
    let mut cases = String::new();
    let mut properties = String::new();
    let mut suite_name = String::from("scenarios");
    for (index, text) in files.iter().enumerate() {
        let not_ours = || format!("JUnit file {} was not written by stripe-harness", index + 1);
        let suite_at = text.find("<testsuite ").ok_or_else(not_ours)?;
        let suite_tag =
            &text[suite_at..suite_at + text[suite_at..].find('>').ok_or_else(not_ours)?];
        let number = |name: &str| {
            attribute(suite_tag, name)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        tests += number("tests") as usize;
        failures += number("failures") as usize;
        skipped += number("skipped") as usize;
        time += number("time");
        if index == 0 {
            suite_name = attribute(suite_tag, "name").unwrap_or(suite_name);
        }
        let props_end =
            text.find("</properties>\n").ok_or_else(not_ours)? + "</properties>\n".len();
        let suite_end = text.rfind("  </testsuite>").ok_or_else(not_ours)?;
        if props_end > suite_end {
            return Err(not_ours());
        }
        cases.push_str(&text[props_end..suite_end]);
        if index == 0 {
            let props_start = text.find("    <properties>\n").ok_or_else(not_ours)?;
            properties = text[props_start..props_end]
                .lines()
                .filter(|l| !l.contains("name=\"partition\""))
                .map(|l| format!("{l}\n"))
                .collect();
        }
    }
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"stripe-harness\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">",
        xml_escape(&suite_name)
    );
    xml.push_str(&properties);
    xml.push_str(&cases);
    xml.push_str("  </testsuite>\n</testsuites>\n");
    Ok(MergedJunit {
        xml,
        tests,
        failures,
        skipped,
    })
}
