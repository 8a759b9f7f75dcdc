//! The report an auditor signs off: `report.json` and `report.md` are snapshot-checked for a
//! fixed seed (the reference target clean, and with `refund_lost`), ids shown as aliases and
//! times zeroed; the example report committed under `harness/docs/example-report/` must be what
//! the harness makes today (`UPDATE_DOCS=1 cargo test -p stripe-harness --test report` rewrites
//! it); JUnit carries the rule, the replay command and the evidence; and reports of partitions
//! merge into the report of the whole run.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use stripe_harness::report::build::{header, run_report};
use stripe_harness::report::junit::junit;
use stripe_harness::report::markdown::markdown;
use stripe_harness::report::{write_report, Report};
use stripe_harness::{run_scenarios, Scenario, TargetChoice};

const SEED: u64 = 1;

/// A few scenarios that exercise every kind of evidence: a payment, a refund raced ahead of its
/// payment, and a forgery.
const SNAPSHOT_SCENARIOS: [&str; 3] = ["card_success", "refund_before_payment", "forged_unsigned"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(name: &str) -> Scenario {
    let mut s =
        Scenario::load(&workspace().join("scenarios").join(format!("{name}.toml"))).unwrap();
    // Reports show paths as a user would type them from the workspace root.
    s.path = Some(PathBuf::from(format!("scenarios/{name}.toml")));
    s
}

/// A report of `names` against `choice`, with the header's date and command fixed.
fn report_of(choice: &TargetChoice, names: &[&str], command: &str) -> Report {
    let scenarios: Vec<Scenario> = names.iter().map(|n| scenario(n)).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = runtime
        .block_on(run_scenarios(choice, &scenarios, SEED))
        .unwrap();
    let target_args = choice.replay_args(None);
    let mut head = header(choice, None, SEED);
    head.date = "2026-01-01T00:00:00Z".into();
    head.command = command.into();
    run_report(head, &scenarios, &results, &target_args)
}

/// Fields that differ between two runs of the same seed: wall-clock times and latencies.
const VOLATILE: [&str; 5] = ["duration_ms", "latency_ms", "signed_at", "at_ms", "date"];

/// `2026-12-06T21:08:33.070Z` (the reference target's `createdAt`) → `[time]`.
fn scrub_times(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = |i: usize| -> Option<usize> {
        let digits =
            |a: usize, b: usize| (a..b).all(|k| bytes.get(k).is_some_and(u8::is_ascii_digit));
        let at = |k: usize, c: u8| bytes.get(k) == Some(&c);
        if !(digits(i, i + 4)
            && at(i + 4, b'-')
            && digits(i + 5, i + 7)
            && at(i + 7, b'-')
            && digits(i + 8, i + 10)
            && at(i + 10, b'T')
            && digits(i + 11, i + 13)
            && at(i + 13, b':')
            && digits(i + 14, i + 16)
            && at(i + 16, b':')
            && digits(i + 17, i + 19))
        {
            return None;
        }
        let mut end = i + 19;
        if at(end, b'.') {
            end += 1;
            while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        at(end, b'Z').then_some(end + 1)
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = shape(i) {
            out.push_str("[time]");
            i = end;
            continue;
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

fn zero_volatile(value: &mut Value) {
    match value {
        Value::String(text) => *text = scrub_times(text),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if VOLATILE.contains(&key.as_str()) {
                    *v = match v {
                        Value::String(_) => Value::String("[volatile]".into()),
                        _ => Value::from(0),
                    };
                } else {
                    zero_volatile(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(zero_volatile),
        _ => {}
    }
}

/// Id prefixes of the simulator's objects, longest first.
const PREFIXES: [&str; 15] = [
    "cs_test_", "plink_", "price_", "prod_", "evt_", "txn_", "req_", "cus_", "pi_", "pm_", "ch_",
    "re_", "we_", "wd_", "li_",
];

/// Replaces every id in `text` by its alias (`s1`, `s1.payment_intent`, the order's `a`) when
/// the trace named it, else by its kind and order of first appearance (`evt_#3`).
fn alias_ids(text: &str, named: &[(String, String)]) -> String {
    let mut text = text.to_string();
    for (alias, id) in named {
        text = text.replace(id.as_str(), &format!("<{alias}>"));
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut seen: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let prefix = PREFIXES
            .iter()
            .find(|p| boundary && text[i..].starts_with(**p));
        if let Some(prefix) = prefix {
            let start = i + prefix.len();
            let end = start
                + text[start..]
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
            if end - start >= 8 {
                let id = &text[i..end];
                let n = match seen.iter().position(|s| s == id) {
                    Some(n) => n,
                    None => {
                        seen.push(id.to_string());
                        seen.len() - 1
                    }
                };
                out.push_str(&format!("{prefix}#{}", n + 1));
                i = end;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Every (alias, id) the traces named.
fn named(report: &Report) -> Vec<(String, String)> {
    let mut named: Vec<(String, String)> = report
        .scenarios
        .iter()
        .flat_map(|s| s.trace.iter())
        .flat_map(|t| t.created.iter())
        .map(|c| (c.alias.clone(), c.id.clone()))
        .collect();
    // Longer ids first, so no id is replaced inside another.
    named.sort_by_key(|(_, id)| std::cmp::Reverse(id.len()));
    named
}

/// The report as snapshot text: JSON with times zeroed and ids as aliases.
fn stable_json(report: &Report) -> String {
    let mut value = serde_json::to_value(report).unwrap();
    zero_volatile(&mut value);
    alias_ids(
        &serde_json::to_string_pretty(&value).unwrap(),
        &named(report),
    )
}

/// A report's Markdown with times zeroed and ids as aliases.
fn stable_markdown(report: &Report) -> String {
    alias_ids(&stable_text(&markdown(report)), &named(report))
}

/// Text with latencies and clock times replaced.
fn stable_text(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut words: Vec<String> = Vec::new();
        let parts: Vec<&str> = line.split(' ').collect();
        for (i, word) in parts.iter().enumerate() {
            let next_is_ms = parts.get(i + 1).is_some_and(|w| w.starts_with("ms"));
            if next_is_ms && word.bytes().all(|b| b.is_ascii_digit()) {
                words.push("N".into());
            } else if word.len() == 12
                && word.as_bytes()[2] == b':'
                && word.as_bytes()[5] == b':'
                && word.as_bytes()[8] == b'.'
            {
                words.push("HH:MM:SS.mmm".into());
            } else {
                words.push((*word).to_string());
            }
        }
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

#[test]
fn the_report_of_the_correct_reference_target_matches_its_snapshot() {
    // Arrange / Act
    let report = report_of(
        &TargetChoice::reference(),
        &SNAPSHOT_SCENARIOS,
        "stripe-harness run --seed 1 --report out",
    );

    // Assert
    assert_eq!(report.totals.failed, 0);
    assert!(report.totals.checks_passed > 0);
    insta::assert_snapshot!("report_clean.json", stable_json(&report));
    insta::assert_snapshot!("report_clean.md", stable_markdown(&report));
}

#[test]
fn the_report_of_a_defect_names_the_rule_and_carries_the_evidence() {
    // Arrange / Act
    let report = report_of(
        &TargetChoice::defect(reference_target::Defect::RefundLost),
        &SNAPSHOT_SCENARIOS,
        "stripe-harness run --seed 1 --defect refund_lost --report out",
    );

    // Assert
    assert_eq!(report.totals.failed, 1);
    let failure = report.failures().next().unwrap();
    assert_eq!(failure.name, "refund_before_payment");
    let md = markdown(&report);
    assert!(
        md.contains("charge.refunded") && md.contains("\"ignored\":true"),
        "{md}"
    );
    insta::assert_snapshot!("report_refund_lost.json", stable_json(&report));
    insta::assert_snapshot!("report_refund_lost.md", stable_markdown(&report));
}

#[test]
fn junit_carries_properties_groups_rule_ids_replay_and_evidence() {
    // Arrange
    let report = report_of(
        &TargetChoice::defect(reference_target::Defect::RefundLost),
        &SNAPSHOT_SCENARIOS,
        "stripe-harness run --seed 1 --defect refund_lost",
    );

    // Act
    let xml = junit(&report);

    // Assert
    assert!(
        xml.contains("<property name=\"seed\" value=\"1\"/>"),
        "{xml}"
    );
    assert!(xml.contains("<property name=\"api_version\""), "{xml}");
    assert!(xml.contains("<property name=\"policy.unpaid_may_fail\" value=\"false\"/>"));
    assert!(
        xml.contains("classname=\"scenarios\" name=\"card_success\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"scenario-expectation:"),
        "{xml}"
    );
    assert!(xml.contains("replay: cargo run -p stripe-harness -- run --seed 1 --defect refund_lost scenarios/refund_before_payment.toml"), "{xml}");
    assert!(
        xml.contains("<system-out>") && xml.contains("charge.refunded"),
        "{xml}"
    );
}

#[test]
fn reports_of_partitions_merge_into_the_report_of_the_whole_run() {
    // Arrange: the whole run, and its two halves.
    let choice = TargetChoice::reference();
    let whole = report_of(&choice, &SNAPSHOT_SCENARIOS, "whole");
    let first = report_of(&choice, &SNAPSHOT_SCENARIOS[..1], "part 1");
    let second = report_of(&choice, &SNAPSHOT_SCENARIOS[1..], "part 2");

    // Act
    let merged = Report::merge(vec![first, second]).unwrap();

    // Assert
    assert_eq!(merged.totals, whole.totals);
    let names = |r: &Report| -> Vec<String> {
        let mut n: Vec<String> = r.scenarios.iter().map(|s| s.name.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&merged), names(&whole));
    for (a, b) in merged.rules.iter().zip(&whole.rules) {
        assert_eq!(a.checks, b.checks, "{}", a.id);
    }
}

/// The example report in the docs: the reference target with `refund_lost`, on the scenarios
/// about refunds.
fn example_report() -> Report {
    let library = Scenario::load_dir(&workspace().join("scenarios")).unwrap();
    let names: Vec<String> = library
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| n.contains("refund"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut report = report_of(
        &TargetChoice::defect(reference_target::Defect::RefundLost),
        &names,
        "cargo run -p stripe-harness -- run --seed 1 --defect refund_lost --filter refund --report harness/docs/example-report",
    );
    // Times are not evidence, and would make the committed files change at every run.
    let mut value = serde_json::to_value(&report).unwrap();
    zero_volatile(&mut value);
    report = serde_json::from_value(value).unwrap();
    report.header.date = "2026-01-01T00:00:00Z".into();
    report
}

#[test]
fn the_example_report_in_the_docs_is_current() {
    let dir = workspace().join("harness/docs/example-report");
    let report = example_report();
    let fresh = std::env::temp_dir().join(format!("example-report-{}", std::process::id()));
    write_report(&fresh, &report).unwrap();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        write_report(&dir, &report).unwrap();
    }
    for file in ["report.json", "report.md", "report.html"] {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        let made = std::fs::read_to_string(fresh.join(file)).unwrap();
        assert!(
            committed == made,
            "harness/docs/example-report/{file} is stale: rerun with UPDATE_DOCS=1 cargo test -p stripe-harness --test report"
        );
    }
    let _ = std::fs::remove_dir_all(&fresh);
}

#[test]
fn a_property_report_counts_rules_per_history_and_lists_the_hazards_and_the_failure() {
    use stripe_harness::prop::{run_prop, PropConfig};
    use stripe_harness::report::build::prop_report;

    // Arrange: a defect the histories find within a few dozen cases.
    let choice = TargetChoice::defect(reference_target::Defect::RefundLost);
    let config = PropConfig {
        cases: 200,
        seed: 2,
        out: std::env::temp_dir().join(format!("prop-report-{}", std::process::id())),
        ..PropConfig::default()
    };
    let outcome = run_prop(&choice, &config).unwrap();
    let found = outcome
        .found
        .first()
        .cloned()
        .expect("refund_lost is found");
    let replayed = stripe_harness::run_scenarios_traced(
        &choice,
        std::slice::from_ref(&found.scenario),
        2,
        1,
        stripe_harness::trace::TraceOptions::FULL,
    )
    .unwrap();

    // Act
    let report = prop_report(
        header(&choice, None, 2),
        &outcome,
        &[(found.clone(), replayed[0].clone())],
        " --defect refund_lost",
    );

    // Assert: every history counted, rules checked per history, hazards tallied.
    assert_eq!(report.totals.played, u64::from(outcome.cases_run));
    assert_eq!(report.totals.failed, 1);
    let paid = report
        .rules
        .iter()
        .find(|r| r.id.id() == "paid-exact-amount")
        .unwrap();
    assert!(paid.histories.unwrap() > 0 && paid.checks.passed > 0);
    let prop = report.prop.as_ref().unwrap();
    assert!(
        prop.hazards.refunds_full > 0 && prop.hazards.holds > 0,
        "{:?}",
        prop.hazards
    );
    assert_eq!(prop.failures.len(), 1);
    assert_eq!(prop.failures[0].case, found.case);
    // The failing history comes with the trace of its replay.
    assert!(!report.scenarios[0].trace.is_empty());
    let xml = junit(&report);
    assert!(
        xml.contains("name=\"paid-exact-amount ("),
        "a case per rule: {xml}"
    );
    assert!(
        xml.contains(&format!("case {}:", found.case)),
        "and one per failure"
    );
}
