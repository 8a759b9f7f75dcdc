//! The `stripe-sim` binary: `serve` with no flags just works and prints where things are;
//! `--forward-to` delivers from the start; `trigger` runs real flows against a running simulator.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use stripe_sim::{ClockMode, Simulator};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_stripe-sim");

/// Kills the server when the test ends, whatever happened.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `stripe-sim serve` with `args` on a free port and returns it with its banner lines.
fn serve(args: &[&str]) -> (Server, Vec<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.starts_with("Point an SDK at it");
        lines.push(line.trim_end().to_string());
        if done {
            break;
        }
    }
    (Server(child), lines)
}

fn base_url(banner: &[String]) -> String {
    banner[0]
        .trim_start_matches("stripe-sim listening on ")
        .to_string()
}

#[tokio::test]
async fn serving_with_no_flags_prints_the_url_key_and_payment_link() {
    let (_server, banner) = serve(&[]);

    let base = base_url(&banner);
    assert!(base.starts_with("http://127.0.0.1:"), "{banner:?}");
    assert!(banner
        .iter()
        .any(|l| l.contains("API key:") && l.contains("sk_test_stripesim")));
    let dashboard = format!("{base}/_sim/dashboard");
    assert!(
        banner
            .iter()
            .any(|l| l.starts_with("  dashboard:") && l.contains(&dashboard)),
        "{banner:?}"
    );
    let link_line = banner
        .iter()
        .find(|l| l.contains("payment link lifetime:"))
        .unwrap();
    let link_url = link_line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let visit = client
        .get(format!("{link_url}?client_reference_id=order_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(visit.status(), 303);
    let health = client
        .get(format!("{base}/_sim/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_to_delivers_signed_events_from_the_start() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let hook = format!("{}/hook", receiver.uri());
    let (_server, banner) = serve(&[
        "--clock",
        "manual",
        "--forward-to",
        &hook,
        "--webhook-secret",
        "whsec_cli_test",
        "--events",
        "checkout.session.completed",
    ]);
    assert!(
        banner
            .iter()
            .any(|l| l.contains("webhook signing secret: the one given")),
        "{banner:?}"
    );
    assert!(
        !banner.iter().any(|l| l.contains("whsec_cli_test")),
        "a secret the user gave is never printed: {banner:?}"
    );
    let base = base_url(&banner);

    let status = Command::new(BIN)
        .args([
            "trigger",
            "checkout.session.completed",
            "--api-base",
            &base,
            "--api-key",
            "sk_test_stripesim",
        ])
        .env_remove("STRIPE_SECRET_KEY")
        .status()
        .unwrap();
    assert!(status.success());

    let mut received = Vec::new();
    for _ in 0..100 {
        received = receiver.received_requests().await.unwrap();
        if !received.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        received.len(),
        1,
        "only the enabled event type is forwarded"
    );
    let signature = received[0]
        .headers
        .get("stripe-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(signature.starts_with("t=") && signature.contains(",v1="));
}

// Multi-threaded: the simulator must keep serving while this thread waits for the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_runs_the_real_flow_behind_an_event() {
    let sim = Simulator::builder()
        .clock(ClockMode::Manual)
        .seed(9)
        .start()
        .await
        .unwrap();

    let status = Command::new(BIN)
        .args([
            "trigger",
            "checkout.session.async_payment_failed",
            "--api-base",
            sim.base_url(),
            "--api-key",
            sim.api_key(),
        ])
        .env_remove("STRIPE_SECRET_KEY")
        .stdout(Stdio::null())
        .status()
        .unwrap();

    assert!(status.success());
    let types: Vec<String> = sim
        .events()
        .iter()
        .map(|e| e.event_type.to_string())
        .collect();
    assert!(
        types.contains(&"checkout.session.completed".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"checkout.session.async_payment_failed".to_string()),
        "{types:?}"
    );
}

#[test]
fn trigger_refuses_an_unknown_event_type_with_a_clear_message() {
    let output = Command::new(BIN)
        .args([
            "trigger",
            "invoice.paid",
            "--api-base",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown event type 'invoice.paid'"),
        "{stderr}"
    );
}

/// Runs `stripe-sim serve` with `args` and `env`, expecting it to exit on its own within 10 s.
fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    panic!(
        "stripe-sim serve {args:?} did not exit: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn a_live_empty_or_non_test_api_key_stops_serve_at_once_with_a_clear_message() {
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(&[&str], Env); 4] = [
        (&["--api-key", "sk_live_realmoney1234"], &[]),
        (&["--api-key", ""], &[]),
        (&[], &[("STRIPE_SECRET_KEY", "rk_live_realmoney1234")]),
        (&["--api-key", "pk_test_publishable"], &[]),
    ];
    for (args, env) in cases {
        let output = run_to_exit(args, env);

        assert!(!output.status.success(), "{args:?} {env:?} started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("sk_test_") && stderr.contains("--api-key"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("realmoney"),
            "the key is redacted: {stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("listening"),
            "it must not listen"
        );
    }
}

#[test]
fn a_public_url_that_is_not_a_url_stops_serve() {
    let output = run_to_exit(&["--public-url", "localhost:12111"], &[]);

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--public-url"));
}

#[test]
fn a_non_loopback_bind_warns_that_anyone_who_reaches_the_port_can_use_the_key() {
    // Arrange / Act
    let mut child = Command::new(BIN)
        .args([
            "serve", "--port", "0", "--bind", "0.0.0.0", "--clock", "manual",
        ])
        .env_remove("STRIPE_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut warning = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut warning)
        .unwrap();
    let mut banner = Vec::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        banner.push(line);
    }
    let _server = Server(child);

    // Assert
    assert!(warning.starts_with("warning:"), "{warning}");
    assert!(
        warning.contains("0.0.0.0") && warning.contains("anyone who can reach this port"),
        "{warning}"
    );
    assert!(
        banner
            .iter()
            .any(|l| l.contains("bound to:") && l.contains("0.0.0.0:")),
        "{banner:?}"
    );
}

#[tokio::test]
async fn the_banner_shows_the_port_bound_and_never_an_api_key_the_user_gave() {
    // Arrange / Act
    let (_server, banner) = serve(&["--api-key", "sk_test_mine_0123456789"]);

    // Assert
    let base = base_url(&banner);
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0, "{banner:?}");
    assert!(
        !banner.iter().any(|l| l.contains("sk_test_mine_0123456789")),
        "{banner:?}"
    );
    assert!(
        banner
            .iter()
            .any(|l| l.contains("API key:") && l.contains("sk_test_****6789")),
        "{banner:?}"
    );
    let answer = reqwest::Client::new()
        .get(format!("{base}/v1/customers"))
        .bearer_auth("sk_test_mine_0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[test]
fn without_an_endpoint_the_banner_says_how_to_get_a_signing_secret() {
    let (_server, banner) = serve(&[]);

    let line = banner
        .iter()
        .find(|l| l.contains("webhooks:"))
        .unwrap_or_else(|| panic!("{banner:?}"));
    assert!(
        line.contains("--forward-to") && line.contains("POST /v1/webhook_endpoints"),
        "{line}"
    );
}

#[tokio::test]
async fn the_header_timeout_flag_closes_silent_connections() {
    use tokio::io::AsyncReadExt;

    // Arrange
    let (_server, banner) = serve(&["--header-timeout-ms", "300", "--clock", "manual"]);
    let address = base_url(&banner).trim_start_matches("http://").to_string();

    // Act
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let started = std::time::Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut [0u8; 16])).await;

    // Assert
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}
