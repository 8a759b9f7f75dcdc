//! The first hour with an app the harness was not written for: the ready check says what it saw
//! and the fix, a mistake in the target file stops the run once naming the field, an app without
//! a return route has those scenarios skipped (not failed), and the library is only the library.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stripe_harness::target::{Target, TargetEnv};
use stripe_harness::{run_scenarios, HarnessError, Scenario, TargetChoice, TargetFile};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The reference target's binary, built if needed.
fn reference_binary() -> PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "reference-target"])
        .current_dir(workspace())
        .status()
        .unwrap();
    assert!(status.success());
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target"));
    target_dir.join("debug").join("reference-target")
}

fn scenario(name: &str) -> Scenario {
    Scenario::load(&workspace().join("scenarios").join(format!("{name}.toml"))).unwrap()
}

fn env() -> TargetEnv {
    TargetEnv {
        api_base: "http://127.0.0.1:9".into(),
        api_key: "sk_test_x".into(),
        webhook_secret: "whsec_x".into(),
    }
}

/// The reference binary's target file, with `extra` sections appended.
fn reference_file(extra: &str) -> TargetFile {
    TargetFile::parse(&format!(
        "name = \"reference binary\"\n[start]\ncommand = [\"{}\"]\nready_timeout_secs = 30\n{extra}",
        reference_binary().display()
    ))
    .unwrap()
}

#[tokio::test]
async fn without_ready_path_any_answer_means_ready() {
    // The reference target answers 404 at `/`: it listens, so it is ready.
    let started = Instant::now();
    let target = Target::from_file(reference_file(""), &env()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    target.stop().await;
}

#[tokio::test]
async fn a_ready_path_that_answers_404_is_reported_with_the_fix() {
    let file = TargetFile::parse(&format!(
        "name = \"wrong ready path\"\n[start]\ncommand = [\"{}\"]\nready_path = \"/nope\"\nready_timeout_secs = 1\n",
        reference_binary().display()
    ))
    .unwrap();
    let Err(error) = Target::from_file(file, &env()).await else {
        panic!("must not be ready")
    };
    let message = error.to_string();
    assert!(message.contains("`/nope` answered 404 ×"), "{message}");
    assert!(message.contains("set [start].ready_path"), "{message}");
}

#[tokio::test]
async fn an_app_that_never_listens_is_told_where_to_listen() {
    let file = TargetFile::parse(
        "name = \"silent\"\n[start]\ncommand = \"echo starting up; exec sleep 30\"\nready_timeout_secs = 1\n",
    )
    .unwrap();
    let Err(error) = Target::from_file(file, &env()).await else {
        panic!("must not be ready")
    };
    let message = error.to_string();
    assert!(message.contains("connection refused ×"), "{message}");
    assert!(message.contains("must listen on 127.0.0.1"), "{message}");
    // Its first lines are kept in the message.
    assert!(message.contains("starting up"), "{message}");
}

/// The one error a run gives for a target file mistake.
async fn config_error(extra: &str) -> String {
    let choice = TargetChoice::File(Box::new(reference_file(extra)));
    let scenarios = vec![scenario("card_success"), scenario("refund_full")];
    match run_scenarios(&choice, &scenarios, 1).await {
        Err(HarnessError::Target(error)) => error.to_string(),
        Err(other) => panic!("not a target error: {other}"),
        Ok(results) => panic!("the run went on: {} results", results.len()),
    }
}

#[tokio::test]
async fn a_status_word_missing_from_the_file_stops_the_run_once_naming_the_field() {
    let message = config_error("[status_words]\npending = [\"open\"]\n").await;
    assert!(message.contains("check [status_words]"), "{message}");
    assert!(message.contains("'pending'"), "{message}");
}

#[tokio::test]
async fn a_create_route_that_is_not_there_stops_the_run_once_naming_the_field() {
    let message = config_error("[routes]\ncreate_order = \"POST /orders\"\n").await;
    assert!(message.contains("check [routes].create_order"), "{message}");
    assert!(message.contains("404"), "{message}");
}

#[tokio::test]
async fn a_webhook_route_that_is_not_there_stops_the_run_once_naming_the_field() {
    let message = config_error("[routes]\nwebhook = \"POST /webhook\"\n").await;
    assert!(message.contains("check [routes].webhook"), "{message}");
}

#[tokio::test]
async fn scenarios_that_need_a_missing_return_route_are_skipped_with_the_reason() {
    let choice = TargetChoice::File(Box::new(reference_file("[routes]\ncapture = false\n")));
    let scenarios = vec![
        scenario("card_success"),
        scenario("return_route_before_webhook"),
    ];
    let results = run_scenarios(&choice, &scenarios, 2).await.unwrap();
    assert!(results[0].passed() && !results[0].was_skipped());
    assert!(results[1].passed() && results[1].was_skipped());
    assert!(results[1]
        .skipped
        .as_deref()
        .unwrap()
        .contains("[routes].capture = false"));
    let summary = stripe_harness::report::summary(&results, 2);
    assert!(
        summary.ends_with("1 passed, 0 failed, 1 skipped"),
        "{summary}"
    );
    let report = stripe_harness::report::build::run_report(
        stripe_harness::report::build::header(&choice, None, 2),
        &scenarios,
        &results,
        "",
    );
    assert_eq!((report.totals.passed, report.totals.skipped), (1, 1));
    let junit = stripe_harness::report::junit::junit(&report);
    assert!(junit.contains("skipped=\"1\""), "{junit}");
    assert!(
        junit.contains("<skipped message=\"it needs the return route"),
        "{junit}"
    );
}

/// The first line of `stripe-harness run --filter card_success` run in `dir`.
fn banner_in(dir: &Path) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stripe-harness"))
        .args(["run", "--seed", "1", "--filter", "card_success"])
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}");
    stdout.lines().next().unwrap_or_default().to_string()
}

#[test]
fn a_run_outside_the_repository_says_which_library_it_plays() {
    let dir = std::env::temp_dir().join(format!("stripe-harness-cwd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let built_in = banner_in(&dir);
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    std::fs::copy(
        workspace().join("scenarios/card_success.toml"),
        dir.join("scenarios/card_success.toml"),
    )
    .unwrap();
    let here = banner_in(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        built_in.contains("(built in: no ./scenarios here)"),
        "{built_in}"
    );
    assert!(here.contains("1 scenarios from ./scenarios,"), "{here}");
}

#[test]
fn the_library_is_the_top_of_the_scenarios_folder_only() {
    let dir = std::env::temp_dir().join(format!("stripe-harness-library-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("found")).unwrap();
    let step = "# Rule: x\n[[step]]\ncreate_order = { as = \"a\" }\n";
    std::fs::write(dir.join("mine.toml"), step).unwrap();
    std::fs::write(dir.join("found").join("prop_1_2.toml"), step).unwrap();

    let library = Scenario::load_library(&dir).unwrap();
    let named = Scenario::load_dir(&dir.join("found")).unwrap();

    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        library.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["mine"]
    );
    assert_eq!(named.len(), 1);
}

/// Two runs with the same seed against one database file that outlives them.
async fn twice_on_one_database(fresh_ids: bool) -> (bool, bool) {
    let db = std::env::temp_dir().join(format!(
        "stripe-harness-kept-{}-{fresh_ids}.sqlite",
        std::process::id()
    ));
    let file = reference_file(&format!(
        "env = {{ DATABASE_PATH = \"{}\" }}\n",
        db.display()
    ));
    let mut file = file;
    file.fresh_ids = Some(fresh_ids);
    let choice = TargetChoice::File(Box::new(file));
    let scenarios = vec![scenario("card_success")];
    let first = run_scenarios(&choice, &scenarios, 7).await.unwrap();
    let second = run_scenarios(&choice, &scenarios, 7).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    (first[0].passed(), second[0].passed())
}

#[tokio::test]
async fn an_app_that_keeps_its_database_passes_the_same_seed_twice_with_fresh_ids() {
    assert_eq!(twice_on_one_database(true).await, (true, true));
    // The trap fresh ids avoid: the same ids again are (rightly) dropped as duplicates.
    assert_eq!(twice_on_one_database(false).await, (true, false));
}

#[tokio::test]
async fn a_target_whose_policy_marks_partial_refunds_refunded_passes_the_partial_refund_scenarios()
{
    // The reference binary with the partial_refund_full defect is exactly that design, and the
    // target file says so: the scenarios' `expect … paid` after a partial refund must not fail
    // it, since the judge, with this policy, requires refunded.
    let file = reference_file(
        "env = { DEFECT = \"partial_refund_full\" }\n[policy]\npartial_refund_marks_refunded = true\n",
    );
    let choice = TargetChoice::File(Box::new(file));
    let scenarios = vec![scenario("refund_partial"), scenario("refund_two_partials")];
    let results = run_scenarios(&choice, &scenarios, 3).await.unwrap();
    for result in &results {
        assert!(result.passed(), "{}: {:?}", result.name, result.failure);
    }
}
