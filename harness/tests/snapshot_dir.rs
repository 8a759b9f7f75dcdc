//! `run --snapshots DIR`: approved snapshots of what a target did, for any target.
//!
//! Driven in-process against the embedded reference target (the library's check, as the binary
//! calls it), and through the binary for what the environment decides (`CI=true`).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use reference_target::Design;
use stripe_harness::report::build::{header, run_report};
use stripe_harness::report::junit::junit;
use stripe_harness::report::markdown::markdown;
use stripe_harness::snapshots::{
    check_results, CheckSummary, SnapshotDir, SnapshotOptions, WriteMode,
};
use stripe_harness::target_file::{Fields, Snapshots};
use stripe_harness::{
    library_scenarios, run_scenarios_in_jobs, Scenario, ScenarioResult, TargetChoice,
};

/// A fresh folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stripe-harness-snapshots-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(dir: &Path, write: WriteMode, spec: Snapshots) -> SnapshotOptions {
    SnapshotOptions {
        dir: SnapshotDir::new(dir).unwrap(),
        write,
        fields: Fields::default(),
        spec,
        program: "stripe-harness".into(),
    }
}

/// Plays `scenarios` against `choice` and checks their snapshots in `dir`.
fn run(
    choice: &TargetChoice,
    scenarios: &[Scenario],
    dir: &Path,
    write: WriteMode,
    spec: Snapshots,
) -> (Vec<ScenarioResult>, CheckSummary) {
    let mut results = run_scenarios_in_jobs(choice, scenarios, 7, 2).unwrap();
    assert!(results.iter().all(|r| r.passed()), "the judge passes them");
    let summary = check_results(&options(dir, write, spec), scenarios, &mut results).unwrap();
    (results, summary)
}

fn failing(results: &[ScenarioResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.name.clone())
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_first_run_writes_pending_snapshots_and_fails_and_accepting_makes_the_next_run_pass() {
    let dir = temp_dir("first-run");
    let scenarios = [
        common::scenario("card_success"),
        common::scenario("refund_full"),
    ];
    let reference = TargetChoice::reference();

    let (results, summary) = run(
        &reference,
        &scenarios,
        &dir,
        WriteMode::Pending,
        Snapshots::default(),
    );
    assert_eq!(failing(&results), vec!["card_success", "refund_full"]);
    assert_eq!(summary.new, vec!["card_success", "refund_full"]);
    assert_eq!(
        files(&dir),
        vec!["card_success.snap.new", "refund_full.snap.new"]
    );
    let failure = results[0].failure.as_ref().unwrap();
    assert_eq!(failure.violation.rule.id(), "snapshot-matches");
    assert!(
        failure.violation.observed.contains("card_success.snap.new"),
        "{}",
        failure.violation.observed
    );
    assert!(
        failure
            .violation
            .observed
            .contains("stripe-harness snapshots review"),
        "{}",
        failure.violation.observed
    );
    let diff = failure.diff.as_deref().unwrap();
    assert!(diff.contains("+  \"scenario\": \"card_success\""), "{diff}");

    // What --accept does: the next run, written nothing new, passes.
    let (results, summary) = run(
        &reference,
        &scenarios,
        &dir,
        WriteMode::Accept,
        Snapshots::default(),
    );
    assert!(failing(&results).is_empty());
    assert_eq!(summary.accepted, vec!["card_success", "refund_full"]);
    assert_eq!(files(&dir), vec!["card_success.snap", "refund_full.snap"]);
    let (results, summary) = run(
        &reference,
        &scenarios,
        &dir,
        WriteMode::Pending,
        Snapshots::default(),
    );
    assert!(failing(&results).is_empty(), "{:?}", failing(&results));
    assert_eq!(summary.matched.len(), 2);
    assert_eq!(files(&dir), vec!["card_success.snap", "refund_full.snap"]);

    // A snapshot no scenario made any more is pointed out (by a run of the whole library).
    std::fs::copy(dir.join("refund_full.snap"), dir.join("renamed_away.snap")).unwrap();
    let folder = SnapshotDir::new(&dir).unwrap();
    assert_eq!(
        stripe_harness::snapshots::orphans(&folder, &results).unwrap(),
        vec!["renamed_away"]
    );
    std::fs::remove_file(dir.join("renamed_away.snap")).unwrap();

    let snap = std::fs::read_to_string(dir.join("refund_full.snap")).unwrap();
    assert!(snap.starts_with("---\nsource: stripe-harness run --snapshots\nexpression: what the target did in scenario refund_full\n"), "{snap}");
    for raw in ["cs_test_", "pi_", "evt_", " ms"] {
        assert!(!snap.contains(raw), "{raw} in {snap}");
    }
    assert!(
        snap.contains("\"charge.refunded (genuine, attempt 1) → 200\""),
        "{snap}"
    );
    assert!(
        snap.contains("\"provider_capture_id\": \"s1.payment_intent\""),
        "{snap}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_scenario_gives_the_same_snapshot_on_every_run() {
    // The whole library, twice, with a different number of jobs: nothing that varies between
    // runs (times, latencies, raw ids, the order jobs finish in) may reach a snapshot.
    let dir = temp_dir("deterministic");
    let scenarios = library_scenarios().unwrap();
    let reference = TargetChoice::reference();
    let mut results = run_scenarios_in_jobs(&reference, &scenarios, 7, 2).unwrap();
    check_results(
        &options(&dir, WriteMode::Accept, Snapshots::default()),
        &scenarios,
        &mut results,
    )
    .unwrap();
    let mut again = run_scenarios_in_jobs(&reference, &scenarios, 7, 1).unwrap();
    let summary = check_results(
        &options(&dir, WriteMode::Pending, Snapshots::default()),
        &scenarios,
        &mut again,
    )
    .unwrap();
    let diffs: Vec<String> = again
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{}:\n{}",
                r.name,
                r.failure.as_ref()?.diff.as_deref()?
            ))
        })
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert_eq!(summary.matched.len(), scenarios.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_design_the_judge_allows_fails_with_a_diff_on_exactly_the_scenarios_where_it_differs() {
    let dir = temp_dir("variant");
    let scenarios: Vec<Scenario> = [
        "card_success",
        "refund_full",
        "refund_before_payment",
        "events_reversed",
        "duplicate_delivery",
        "sepa_success",
    ]
    .map(common::scenario)
    .to_vec();
    run(
        &TargetChoice::reference(),
        &scenarios,
        &dir,
        WriteMode::Accept,
        Snapshots::default(),
    );

    // An early refund marked at once instead of answered 503 until its payment is known: both
    // correct, the judge passes both; only the snapshots show the change.
    let at_once = TargetChoice::design(Design::parse("refund_at_once").unwrap());
    let (results, summary) = run(
        &at_once,
        &scenarios,
        &dir,
        WriteMode::Pending,
        Snapshots::default(),
    );
    assert_eq!(
        failing(&results),
        vec!["refund_before_payment", "events_reversed"]
    );
    assert_eq!(
        summary.changed,
        vec!["refund_before_payment", "events_reversed"]
    );
    let failure = results[2].failure.as_ref().unwrap();
    assert_eq!(failure.violation.rule.id(), "snapshot-matches");
    let diff = failure.diff.as_deref().unwrap();
    assert!(
        diff.contains("-        \"charge.refunded (genuine, attempt 1) → 503\""),
        "{diff}"
    );
    assert!(
        diff.contains("+        \"charge.refunded (genuine, attempt 1) → 200\""),
        "{diff}"
    );
    assert!(diff.contains("+        \"a\": \"refunded\""), "{diff}");
    assert_eq!(
        files(&dir)
            .iter()
            .filter(|f| f.ends_with(".snap.new"))
            .collect::<Vec<_>>(),
        vec!["events_reversed.snap.new", "refund_before_payment.snap.new"]
    );

    // The reports carry the diff like any other failure's evidence.
    let report = run_report(
        header(&at_once, None, 7),
        &scenarios,
        &results,
        " --variant refund_at_once",
    );
    let xml = junit(&report);
    assert!(xml.contains("type=\"snapshot-matches\""), "{xml}");
    assert!(xml.contains("→ 503&quot;"), "{xml}");
    let page = stripe_harness::report::html::html(&report);
    assert!(
        page.contains("<pre class=\"diff\">"),
        "the HTML report shows the diff"
    );
    let md = markdown(&report);
    assert!(md.contains("```diff\n@@"), "{md}");
    let json = serde_json::to_value(&report).unwrap();
    let failed = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "refund_before_payment")
        .unwrap();
    assert!(failed["failure"]["diff"]
        .as_str()
        .unwrap()
        .contains("→ 503"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_redacted_field_never_causes_a_mismatch() {
    let dir = temp_dir("redacted");
    let scenarios = [common::scenario("card_success")];
    let reference = TargetChoice::reference();
    let spec = |extra: &str| -> Snapshots {
        toml::from_str(&format!(
            "fields = {{ updatedAt = \"/updatedAt\" }}\n{extra}"
        ))
        .unwrap()
    };
    // The reference target's updatedAt is its wall clock: it differs from run to run.
    run(&reference, &scenarios, &dir, WriteMode::Accept, spec(""));
    let (results, _) = run(&reference, &scenarios, &dir, WriteMode::Nothing, spec(""));
    let diff = results[0].failure.as_ref().unwrap().diff.clone().unwrap();
    assert_eq!(
        diff.lines().filter(|l| l.starts_with('+')).count(),
        1,
        "{diff}"
    );
    assert!(diff.contains("+      \"updatedAt\": \""), "{diff}");

    run(
        &reference,
        &scenarios,
        &dir,
        WriteMode::Accept,
        spec("redact = [\"updatedAt\"]"),
    );
    for _ in 0..2 {
        let (results, summary) = run(
            &reference,
            &scenarios,
            &dir,
            WriteMode::Pending,
            spec("redact = [\"updatedAt\"]"),
        );
        assert!(failing(&results).is_empty());
        assert_eq!(summary.matched, vec!["card_success"]);
    }
    let snap = std::fs::read_to_string(dir.join("card_success.snap")).unwrap();
    assert!(snap.contains("\"updatedAt\": \"[redacted]\""), "{snap}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_snapshot_is_an_error_naming_the_file() {
    let dir = temp_dir("malformed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("card_success.snap"), "{ \"not\": \"insta\" }\n").unwrap();
    let scenarios = [common::scenario("card_success")];
    let mut results = run_scenarios_in_jobs(&TargetChoice::reference(), &scenarios, 7, 1).unwrap();
    let err = check_results(
        &options(&dir, WriteMode::Pending, Snapshots::default()),
        &scenarios,
        &mut results,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("card_success.snap is not a snapshot file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `stripe-harness run --seed 1 --snapshots DIR scenarios/card_success.toml` under `CI=true`.
fn harness_in_ci(dir: &Path, extra: &[&str], env: Option<&str>) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stripe-harness"));
    command
        .args(["run", "--seed", "1", "--jobs", "1", "--snapshots"])
        .arg(dir)
        .args(extra)
        .arg("scenarios/card_success.toml")
        .current_dir(common::workspace())
        .env("CI", "true")
        .env_remove("STRIPE_HARNESS_SNAPSHOTS");
    if let Some(value) = env {
        command.env("STRIPE_HARNESS_SNAPSHOTS", value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn ci_never_writes_accepted_snapshots_unless_told_to_accept_explicitly() {
    let dir = temp_dir("ci");
    let (status, out) = harness_in_ci(&dir, &[], None);
    assert_eq!(status, 1, "{out}");
    assert!(out.contains("rule:     snapshot-matches"), "{out}");
    assert!(out.contains("nothing written"), "{out}");
    assert!(files(&dir).is_empty(), "{:?}", files(&dir));

    let (status, out) = harness_in_ci(&dir, &[], Some("accept"));
    assert_eq!(status, 2, "{out}");
    assert!(
        out.contains("STRIPE_HARNESS_SNAPSHOTS=accept is refused under CI"),
        "{out}"
    );
    assert!(files(&dir).is_empty(), "{:?}", files(&dir));

    let (status, out) = harness_in_ci(&dir, &["--accept"], None);
    assert_eq!(status, 0, "{out}");
    assert_eq!(files(&dir), vec!["card_success.snap"]);
    let (status, out) = harness_in_ci(&dir, &[], None);
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("snapshots in"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pending_snapshots_are_accepted_or_rejected_from_the_command_line() {
    let dir = temp_dir("cli");
    let snapshots = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_stripe-harness"))
            .arg("snapshots")
            .args(args)
            .arg(&dir)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let folder = SnapshotDir::new(&dir).unwrap();
    let file = |body: &str| stripe_harness::snapshots::SnapFile {
        source: "s".into(),
        expression: "e".into(),
        input_file: None,
        body: body.into(),
    };
    folder.write_pending("a", &file("1")).unwrap();
    folder.write_pending("b", &file("2")).unwrap();
    let (status, out) = snapshots(&["accept"]);
    assert_eq!(status, Some(0), "{out}");
    assert!(out.contains("2 snapshots accepted"), "{out}");
    assert_eq!(files(&dir), vec!["a.snap", "b.snap"]);
    folder.write_pending("a", &file("changed")).unwrap();
    let (status, out) = snapshots(&["reject"]);
    assert_eq!(status, Some(0), "{out}");
    assert_eq!(files(&dir), vec!["a.snap", "b.snap"]);
    assert_eq!(folder.accepted("a").unwrap().unwrap().body, "1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_files_read_the_same_with_insta_in_both_directions() {
    // The Node target's snapshots, written by the harness, and the reference target's, written
    // by insta: each reads the other's files to the same metadata and text, so `cargo insta
    // review` works on the harness's folders.
    let root = common::workspace();
    let mut read = 0;
    for folder in ["targets/node/snapshots", "scenarios/snapshots"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "snap") {
                continue;
            }
            let ours = stripe_harness::snapshots::SnapFile::parse(
                &std::fs::read_to_string(&path).unwrap(),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let theirs = insta::Snapshot::from_file(&path).unwrap();
            let meta = theirs.metadata();
            assert_eq!(
                meta.source(),
                Some(ours.source.as_str()),
                "{}",
                path.display()
            );
            assert_eq!(
                meta.expression(),
                Some(ours.expression.as_str()),
                "{}",
                path.display()
            );
            assert_eq!(
                meta.input_file(),
                ours.input_file.as_deref(),
                "{}",
                path.display()
            );
            assert_eq!(
                theirs.as_text().unwrap().to_string(),
                ours.body,
                "{}",
                path.display()
            );
            read += 1;
        }
    }
    assert!(read > 100, "only {read} snapshots read");
}
