//! The binary: configuration from the environment, the banner line, and defect validation.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reference_target::Defect;

const BIN: &str = env!("CARGO_BIN_EXE_reference-target");

fn target() -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("STRIPE_SECRET_KEY", "sk_test_cli")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_cli")
        .env("STRIPE_API_BASE", "http://127.0.0.1:9");
    command
}

#[test]
fn an_unknown_defect_exits_with_an_error_listing_the_valid_names() {
    let output = target().env("DEFECT", "no_such_bug").output().unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("no_such_bug"), "{stderr}");
    for defect in Defect::ALL {
        assert!(stderr.contains(defect.name()), "{stderr}");
    }
}

#[test]
fn a_missing_webhook_secret_is_reported() {
    let output = target()
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.to_lowercase().contains("webhook"), "{stderr}");
}

/// Starts the binary, reads its first stdout line, checks `/health`, then stops it.
fn banner_and_health(configure: impl FnOnce(&mut Command)) -> String {
    let mut command = target();
    command.env("PORT", "0").stdout(Stdio::piped());
    configure(&mut command);
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap()
        .to_owned();
    let health = std::net::TcpStream::connect(url.trim_start_matches("http://"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(health.is_ok(), "nothing listens at {url}");
    line.trim_end().to_owned()
}

#[test]
fn the_binary_prints_one_banner_line_with_no_defect() {
    let line = banner_and_health(|_| {});

    assert!(
        line.starts_with("reference-target listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(
        line.ends_with(" (defect: none, variant: default)"),
        "{line}"
    );
}

#[test]
fn the_defect_flag_is_named_in_the_banner() {
    let line = banner_and_health(|command| {
        command.args(["--defect", "stale_ok"]);
    });

    assert!(
        line.ends_with(" (defect: stale_ok, variant: default)"),
        "{line}"
    );
}

#[test]
fn the_variant_is_named_in_the_banner() {
    let line = banner_and_health(|command| {
        command.env("VARIANT", "memory,refund_at_once");
    });

    assert!(
        line.ends_with(" (defect: none, variant: refund_at_once,memory)"),
        "{line}"
    );
}
