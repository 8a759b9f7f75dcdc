//! Runs that scale out over CI machines: `prop --partition K/N` splits the cases, the parts
//! together play exactly the cases of the whole run, and `merge` (`Report::merge`, JUnit from
//! the merged data) gives the whole run's totals. The CI examples of the README are YAML that
//! loads, with the partition matrix and the merge step.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::report::build::{header, prop_report};
use stripe_harness::report::junit::{junit, merge_junit};
use stripe_harness::report::Report;
use stripe_harness::TargetChoice;

fn config(partition: Option<(u32, u32)>) -> PropConfig {
    PropConfig {
        cases: 60,
        seed: 404,
        jobs: 2,
        partition,
        out: std::env::temp_dir().join(format!("stripe-harness-partitions-{}", std::process::id())),
        ..PropConfig::default()
    }
}

#[test]
fn partitions_one_and_two_of_two_play_exactly_the_cases_of_the_whole_run() {
    let whole = config(None);
    let (one, two) = (config(Some((1, 2))), config(Some((2, 2))));
    let mut both = one.case_numbers();
    both.extend(two.case_numbers());
    both.sort_unstable();
    assert_eq!(both, whole.case_numbers());
    assert!(one
        .case_numbers()
        .iter()
        .all(|c| !two.case_numbers().contains(c)));

    let choice = TargetChoice::reference();
    let report = |config: &PropConfig| {
        let outcome = run_prop(&choice, config).unwrap();
        assert!(outcome.found.is_empty());
        let mut report = prop_report(header(&choice, None, config.seed), &outcome, &[], "");
        report.header.partition = config.partition.map(|(k, n)| format!("{k}/{n}"));
        report
    };
    let whole_report = report(&whole);
    let merged = Report::merge(vec![report(&one), report(&two)]).unwrap();

    assert_eq!(merged.totals, whole_report.totals);
    let prop = |r: &Report| {
        let p = r.prop.clone().unwrap();
        (p.histories, p.steps)
    };
    assert_eq!(prop(&merged), prop(&whole_report));
    assert_eq!(merged.prop.unwrap().partitions, ["1/2", "2/2"]);
    for (a, b) in merged.rules.iter().zip(&whole_report.rules) {
        assert_eq!((a.id, a.checks, a.histories), (b.id, b.checks, b.histories));
    }
}

#[test]
fn junit_files_of_partitions_merge_into_one_with_the_counts_summed() {
    let choice = TargetChoice::reference();
    let parts: Vec<String> = [Some((1, 2)), Some((2, 2))]
        .into_iter()
        .map(|partition| {
            let config = PropConfig {
                cases: 10,
                ..config(partition)
            };
            let outcome = run_prop(&choice, &config).unwrap();
            let mut report = prop_report(header(&choice, None, config.seed), &outcome, &[], "");
            report.header.partition = partition.map(|(k, n)| format!("{k}/{n}"));
            junit(&report)
        })
        .collect();
    let merged = merge_junit(&parts).unwrap();
    assert_eq!(merged.failures, 0);
    assert_eq!(
        merged.tests,
        parts
            .iter()
            .map(|p| p.matches("<testcase ").count())
            .sum::<usize>()
    );
    assert!(!merged.xml.contains("name=\"partition\""));
    assert!(merged.xml.ends_with("</testsuites>\n"));
}

fn yaml(path: &str) -> yaml_rust2::Yaml {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let mut docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    assert_eq!(docs.len(), 1, "{path}");
    docs.remove(0)
}

#[test]
fn the_ci_examples_load_as_yaml_with_a_partition_matrix_and_a_merge_step() {
    let github = yaml("docs/ci/github-actions.yml");
    let parts = &github["jobs"]["harness"]["strategy"]["matrix"]["part"];
    assert_eq!(parts.as_vec().map(Vec::len), Some(4));
    let merge = github["jobs"]["merge"]["steps"].as_vec().unwrap();
    assert!(merge.iter().any(|s| s["run"]
        .as_str()
        .is_some_and(|r| r.contains("stripe-harness merge"))));

    let gitlab = yaml("docs/ci/gitlab-ci.yml");
    assert_eq!(gitlab["harness"]["parallel"].as_i64(), Some(4));
    let script = gitlab["merge"]["script"].as_vec().unwrap();
    assert!(script.iter().any(|s| s
        .as_str()
        .is_some_and(|r| r.contains("stripe-harness merge"))));
}

#[test]
fn the_merge_command_combines_the_reports_of_two_partitions() {
    let dir = std::env::temp_dir().join(format!("stripe-harness-merge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let program = env!("CARGO_BIN_EXE_stripe-harness");
    for part in ["1/2", "2/2"] {
        let status = std::process::Command::new(program)
            .args([
                "prop",
                "--cases",
                "12",
                "--seed",
                "9",
                "--partition",
                part,
                "--report",
            ])
            .arg(dir.join(part.replace('/', "-of-")))
            .arg("--out")
            .arg(dir.join("found"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "partition {part}");
    }

    let output = std::process::Command::new(program)
        .args(["merge", "--report"])
        .arg(dir.join("all"))
        .arg("--junit")
        .arg(dir.join("all.xml"))
        .arg(dir.join("1-of-2"))
        .arg(dir.join("2-of-2").join("report.json"))
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let merged = stripe_harness::report::read_report(&dir.join("all").join("report.json"));
    let junit = std::fs::read_to_string(dir.join("all.xml")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("12 passed, 0 failed"), "{stdout}");
    let merged = merged.unwrap();
    assert_eq!(merged.totals.played, 12);
    assert_eq!(merged.prop.unwrap().partitions, ["1/2", "2/2"]);
    assert!(junit.contains("<testsuite name=\"properties\""), "{junit}");
}
