//! No target breaks stripe-harness: against small programs that misbehave on purpose
//! (`harness/examples/hostile_target.rs`), every run ends with a clear message within its
//! timeouts and leaves no process behind. Each test prints its time to verdict (the README's
//! Reliability table): `cargo test -p stripe-harness --test hostile_targets -- --nocapture`.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use stripe_harness::prop::{run_prop, PropConfig};
use stripe_harness::target::TargetError;
use stripe_harness::{
    run_scenario, run_scenarios, Harness, HarnessError, Scenario, Stream, TargetChoice, TargetFile,
};

mod common;
use common::{hostile_binary, workspace};

/// A scratch folder of its own (tests run in parallel).
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("hostile-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The target file of a hostile target in `mode`, and the file it writes its pids to.
fn hostile_file(mode: &str, flags: &str, call_timeout_secs: u64) -> (String, PathBuf) {
    let dir = scratch(mode);
    let pids = dir.join("pids");
    let toml = format!(
        "name = \"hostile {mode}\"\ncall_timeout_secs = {call_timeout_secs}\n[start]\ncommand = [\"{}\", \"--mode\", \"{mode}\", \"--pids\", \"{}\"{flags}]\nready_path = \"/health\"\nready_timeout_secs = 30\n",
        hostile_binary().display(),
        pids.display()
    );
    (toml, pids)
}

fn hostile(mode: &str) -> (TargetChoice, PathBuf) {
    let (toml, pids) = hostile_file(mode, "", 2);
    (
        TargetChoice::File(Box::new(TargetFile::parse(&toml).unwrap())),
        pids,
    )
}

/// Scenarios the hostile target passes when it behaves: a new order stays pending.
const PENDING: &str = "# Rule: a new order is pending.\n\n[[step]]\ncreate_order = { as = \"a\" }\n\n[[step]]\nexpect = { order = \"a\", status = \"pending\" }\n";

fn pending(n: usize) -> Vec<Scenario> {
    (1..=n)
        .map(|i| Scenario::parse(PENDING, &format!("pending_{i}")).unwrap())
        .collect()
}

/// Processes of group `pgid` that are alive (zombies waiting to be reaped are not).
fn alive_in_group(pgid: u32) -> Vec<u32> {
    let mut alive = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …: comm may hold spaces, so read after its ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
            alive.push(pid);
        }
    }
    alive
}

/// The pids the hostile target wrote (its own first: its process group's id).
fn read_pids(file: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Every process the hostile target started is gone (within a moment, for the kernel).
fn assert_nothing_left(file: &Path) {
    let pids = read_pids(file);
    let Some(&pgid) = pids.first() else {
        panic!("the hostile target wrote no pids to {}", file.display())
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = alive_in_group(pgid);
        if alive.is_empty() {
            if let Some(dir) = file.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the target's group {pgid} outlived the run: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn verdict_in(case: &str, took: Duration) {
    eprintln!("time to verdict, {case}: {:.2} s", took.as_secs_f64());
}

#[tokio::test]
async fn answers_of_10_mb_are_read_up_to_1_mib_and_said_to_be_cut() {
    let (choice, pids) = hostile("big");
    let started = Instant::now();

    let results = run_scenarios(&choice, &pending(2), 1).await.unwrap();

    let took = started.elapsed();
    verdict_in("answers of 10 MB", took);
    for result in &results {
        let failure = result.failure.as_ref().expect("an answer cut short fails");
        let observed = &failure.violation.observed;
        assert!(observed.contains("(answer cut at 1 MiB)"), "{observed}");
        assert!(observed.contains("no order id at /id"), "{observed}");
        assert!(
            observed.len() < 16 * 1024,
            "the message holds an excerpt, not the answer"
        );
    }
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_nothing_left(&pids);
}

#[tokio::test]
async fn a_target_that_never_answers_stops_the_run_after_three_timeouts_in_a_row() {
    let (toml, pids) = hostile_file("hang", "", 1);
    let choice = TargetChoice::File(Box::new(TargetFile::parse(&toml).unwrap()));
    let started = Instant::now();

    let outcome = run_scenarios(&choice, &pending(20), 1).await;

    let took = started.elapsed();
    verdict_in("an app that never answers", took);
    let Err(HarnessError::Stopped(stopped)) = outcome else {
        panic!("the run must stop: {outcome:?}")
    };
    assert!(matches!(stopped.reason, TargetError::Hung { calls: 3, .. }));
    let message = stopped.to_string();
    assert!(
        message.contains("hangs: 3 calls in a row got no answer within 1 s"),
        "{message}"
    );
    assert!(
        message.contains("the run stopped during scenario pending_3"),
        "{message}"
    );
    // The two scenarios whose call timed out failed; the third was cut short, not judged.
    assert_eq!(stopped.results.len(), 2);
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_nothing_left(&pids);
}

#[tokio::test]
async fn an_answer_that_is_not_json_is_reported_as_such() {
    let (choice, pids) = hostile("invalid-json");
    let started = Instant::now();

    let results = run_scenarios(&choice, &pending(1), 1).await.unwrap();

    verdict_in("invalid JSON", started.elapsed());
    let observed = &results[0].failure.as_ref().unwrap().violation.observed;
    assert!(
        observed.contains("oops this is not json (the answer is not JSON)"),
        "{observed}"
    );
    assert_nothing_left(&pids);
}

#[tokio::test]
async fn a_connection_closed_in_the_middle_of_an_answer_is_reported_as_such() {
    let (choice, pids) = hostile("cut");
    let started = Instant::now();

    let results = run_scenarios(&choice, &pending(1), 1).await.unwrap();

    let took = started.elapsed();
    verdict_in("a connection closed mid-answer", took);
    let observed = &results[0].failure.as_ref().unwrap().violation.observed;
    assert!(
        observed.contains("the answer broke off after"),
        "{observed}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_nothing_left(&pids);
}

/// Plays `n` pending scenarios on a harness kept open, so its target's output can be read.
async fn play_kept(choice: &TargetChoice, n: usize) -> (Harness, Vec<bool>, Duration) {
    let started = Instant::now();
    let harness = Harness::start(choice, 1).await.unwrap();
    let mut passed = Vec::new();
    for scenario in pending(n) {
        let result = run_scenario(&harness, &scenario).await;
        assert!(result.passed(), "{:?}", result.failure);
        passed.push(result.passed());
    }
    (harness, passed, started.elapsed())
}

#[tokio::test]
async fn a_flood_of_lines_is_kept_within_the_caps_and_the_run_goes_on() {
    let (choice, pids) = hostile("flood-lines");

    let (harness, passed, took) = play_kept(&choice, 3).await;

    verdict_in("a flood of lines", took);
    assert_eq!(passed, [true, true, true]);
    let target = &harness.target;
    assert!(target.exit_status().is_none(), "the target is still alive");
    assert!(target.output_dropped() > 0, "the flood went past the caps");
    let kept = target.output_since(0);
    assert!(kept.len() <= stripe_harness::output::MAX_LINES);
    assert!(kept
        .iter()
        .any(|l| l.text.starts_with("hostile: flood line")));
    harness.stop().await;
    assert_nothing_left(&pids);
}

#[tokio::test]
async fn a_flood_without_newlines_is_cut_into_pieces_and_the_run_goes_on() {
    let (choice, pids) = hostile("flood-raw");

    let (harness, passed, took) = play_kept(&choice, 3).await;

    verdict_in("a flood without newlines", took);
    assert_eq!(passed, [true, true, true]);
    let target = &harness.target;
    assert!(target.exit_status().is_none(), "the target is still alive");
    let mark = target.output_mark();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pieces = target.output_since(mark);
    assert!(!pieces.is_empty());
    assert!(pieces
        .iter()
        .all(|l| l.cut && l.text.len() == stripe_harness::output::LINE_CAP));
    let bytes: usize = target.output_since(0).iter().map(|l| l.text.len()).sum();
    assert!(bytes <= stripe_harness::output::MAX_BYTES);
    harness.stop().await;
    assert_nothing_left(&pids);
}

#[tokio::test]
async fn output_that_is_not_utf8_is_kept_and_the_target_keeps_running() {
    // It used to end the capture at the first bad byte: the target's next write failed with
    // EPIPE, and an app that dies of that died.
    let (choice, pids) = hostile("binary");

    let (harness, passed, took) = play_kept(&choice, 2).await;

    verdict_in("output that is not UTF-8", took);
    assert_eq!(passed, [true, true]);
    let target = &harness.target;
    assert!(target.exit_status().is_none(), "the target is still alive");
    let lines = target.output_since(0);
    let has = |stream: Stream, text: &str| {
        lines
            .iter()
            .any(|l| l.stream == stream && l.text.contains(text))
    };
    assert!(has(
        Stream::Stdout,
        "caf\u{fffd} \u{fffd}\u{fffd} not utf-8 on stdout"
    ));
    assert!(has(Stream::Stderr, "\u{fffd}( not utf-8 on stderr"));
    assert!(has(Stream::Stdout, "hostile: POST /api/orders"));
    assert!(lines.windows(2).all(|w| w[0].seq < w[1].seq));
    harness.stop().await;
    assert_nothing_left(&pids);
}

/// Runs the stripe-harness binary; kills it and fails after `limit`.
fn harness_binary(args: &[&str]) -> Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_stripe-harness"))
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit within `limit`: its status, stdout and stderr.
fn finish(mut child: Child, limit: Duration) -> (ExitStatus, String, String) {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("stripe-harness did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

fn write_files(dir: &Path, toml: &str, scenarios: usize) -> (PathBuf, PathBuf) {
    let target = dir.join("target.toml");
    std::fs::write(&target, toml).unwrap();
    let scenarios_dir = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios_dir).unwrap();
    for i in 1..=scenarios {
        std::fs::write(scenarios_dir.join(format!("pending_{i}.toml")), PENDING).unwrap();
    }
    (target, scenarios_dir)
}

#[test]
fn a_crash_halfway_through_a_run_is_said_once_and_stops_the_run() {
    // Six scenarios; the target exits at its ninth call, in the second scenario.
    let (toml, pids) = hostile_file("crash-after=8", "", 2);
    let dir = pids.parent().unwrap().to_path_buf();
    let (target, scenarios) = write_files(&dir, &toml, 6);
    let started = Instant::now();

    let child = harness_binary(&[
        "run",
        "--seed",
        "1",
        "--target",
        target.to_str().unwrap(),
        scenarios.to_str().unwrap(),
    ]);
    let (status, stdout, stderr) = finish(child, Duration::from_secs(30));

    verdict_in("a crash halfway through a run", started.elapsed());
    assert_eq!(status.code(), Some(2), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.matches("exited with exit status: 3").count(),
        1,
        "said once: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("hostile: crashing on purpose at call 9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the run stopped during scenario pending_"),
        "{stderr}"
    );
    assert!(
        stdout.contains("not played: the run stopped during scenario pending_"),
        "{stdout}"
    );
    assert!(!stdout.contains("error sending request"), "{stdout}");
    let verdicts = stdout.matches("PASS  ").count() + stdout.matches("FAIL  ").count();
    assert!(
        verdicts < 6,
        "the scenarios after the crash are not played: {stdout}"
    );
    assert_nothing_left(&pids);
}

#[test]
fn a_crash_in_a_property_run_stops_it_with_the_exit_status() {
    let (toml, pids) = hostile_file("crash-after=30", "", 2);
    let choice = TargetChoice::File(Box::new(TargetFile::parse(&toml).unwrap()));
    let config = PropConfig {
        cases: 200,
        seed: 1,
        max_steps: 6,
        out: pids.parent().unwrap().join("found"),
        ..PropConfig::default()
    };
    let started = Instant::now();

    let outcome = run_prop(&choice, &config);

    verdict_in("a crash in a property run", started.elapsed());
    let Err(HarnessError::Stopped(stopped)) = outcome else {
        panic!("the run must stop: {outcome:?}")
    };
    let message = stopped.to_string();
    assert!(message.contains("exited with exit status: 3"), "{message}");
    assert!(
        message.contains("the run stopped during history"),
        "{message}"
    );
    assert!(message.contains("crashing on purpose"), "{message}");
    assert_nothing_left(&pids);
}

/// Starts the binary on a target that starts a child and never answers, waits until the run is
/// under way, sends `signal` to the harness (and only to it).
fn interrupt(signal: &str, mode: &str) -> (ExitStatus, String, PathBuf, Duration) {
    let (toml, pids) = hostile_file(mode, ", \"--child\"", 60);
    let dir = pids.parent().unwrap().to_path_buf();
    let (target, scenarios) = write_files(&dir, &toml, 1);
    let child = harness_binary(&[
        "run",
        "--target",
        target.to_str().unwrap(),
        scenarios.to_str().unwrap(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while read_pids(&pids).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the run never reached the target"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success());
    let (status, _, stderr) = finish(child, Duration::from_secs(15));
    (status, stderr, pids, started.elapsed())
}

#[test]
fn sigterm_stops_the_target_and_its_children_then_exits_143() {
    let (status, stderr, pids, took) = interrupt("TERM", "hang");

    verdict_in("SIGTERM during a run", took);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("interrupted (SIGTERM): stopping the target"),
        "{stderr}"
    );
    assert!(stderr.contains("exiting with 143"), "{stderr}");
    assert_eq!(read_pids(&pids).len(), 2, "the target and its child");
    assert_nothing_left(&pids);
}

#[test]
fn ctrl_c_stops_the_target_and_its_children_then_exits_130() {
    let (status, stderr, pids, took) = interrupt("INT", "hang");

    verdict_in("Ctrl-C during a run", took);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted (SIGINT)"), "{stderr}");
    assert_nothing_left(&pids);
}
