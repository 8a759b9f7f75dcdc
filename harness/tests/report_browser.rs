//! The HTML report in a real browser: headless Chromium loads `report.html` from disk (no
//! network, no JavaScript needed), and its DOM must show the rule matrix and a failing scenario's
//! trace. A screenshot is saved to `target/report-screenshot.png` (a CI artifact).
//!
//! Without Chromium the test is skipped with a printed reason; `.ci/run` installs Debian's
//! `chromium` and sets `STRIPE_HARNESS_BROWSER=required`, so CI never skips it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stripe_harness::report::build::{header, run_report};
use stripe_harness::report::write_report;
use stripe_harness::{run_scenarios, Scenario, TargetChoice};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Chromium's binary, or why the test cannot run.
fn chromium() -> Result<PathBuf, String> {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {candidate}"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        if let Some(path) = found {
            return Ok(path);
        }
    }
    Err("no chromium on the PATH (apt-get install -y chromium)".into())
}

/// The flags that make Chromium run headless here: no sandbox as root, no network of its own.
fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut command = Command::new(chromium);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn the_html_report_shows_the_rule_matrix_and_a_failing_trace_in_a_real_browser() {
    let chromium = match chromium() {
        Ok(path) => path,
        Err(reason) => {
            if std::env::var("STRIPE_HARNESS_BROWSER").is_ok_and(|v| v == "required") {
                panic!("STRIPE_HARNESS_BROWSER=required, but {reason}");
            }
            eprintln!("skipped: {reason}");
            return;
        }
    };

    // Arrange: a report with a failure.
    let names = ["card_success", "refund_before_payment"];
    let scenarios: Vec<Scenario> = names
        .iter()
        .map(|n| Scenario::load(&workspace().join(format!("scenarios/{n}.toml"))).unwrap())
        .collect();
    let choice = TargetChoice::defect(reference_target::Defect::RefundLost);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let results = runtime
        .block_on(run_scenarios(&choice, &scenarios, 1))
        .unwrap();
    let report = run_report(
        header(&choice, None, 1),
        &scenarios,
        &results,
        " --defect refund_lost",
    );
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target"));
    let dir = target_dir.join("report-browser");
    write_report(&dir, &report).unwrap();
    let page = format!(
        "file://{}",
        dir.join("report.html").canonicalize().unwrap().display()
    );
    let profile = std::env::temp_dir().join(format!("chromium-profile-{}", std::process::id()));

    // Act: the DOM as Chromium built it, and a screenshot.
    let dom = headless(&chromium, &profile)
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .unwrap();
    let screenshot = target_dir.join("report-screenshot.png");
    let shot = headless(&chromium, &profile)
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--window-size=1280,2400")
        .arg(&page)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);

    // Assert
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("id=\"rule-matrix\""),
        "the rule matrix is there"
    );
    assert!(
        dom.contains("id=\"rule-paid-exact-amount\""),
        "with every rule"
    );
    assert!(
        dom.contains("id=\"scenario-refund_before_payment\"")
            || dom.contains("id=\"scenario-refund-before-payment\""),
        "the failing scenario is there"
    );
    assert!(
        dom.contains("charge.refunded") && dom.contains("(genuine, attempt 1)"),
        "with its trace"
    );
    assert!(dom.contains("class=\"verdict fail\""), "and its verdict");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot was saved to {}",
        screenshot.display()
    );
    println!("screenshot: {}", screenshot.display());
}
