//! `--state FILE`: a restart on the same file brings everything back, a second simulator is
//! refused, files it cannot read are refused (never misread), a reset empties the file, and a
//! `kill -9` in the middle of a load loses nothing that was answered.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{answer, receiver, start_with, TestSim, CLOCK_START};
use reqwest::Method;
use serde_json::{json, Value};
use stripe_sim::{
    ClockMode, EndpointSpec, RetryPolicy, Simulator, SimulatorBuilder, StartError, StateError,
};
use wiremock::Request;

const SETTLE: Duration = Duration::from_secs(10);

/// A state file path of its own (removed, with its WAL, when dropped).
struct StateFile(PathBuf);

impl StateFile {
    fn new(name: &str) -> StateFile {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        StateFile(std::env::temp_dir().join(format!(
            "stripe-sim-{name}-{}-{nanos}.db",
            std::process::id()
        )))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for StateFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal", "-log", "-log.folding"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn manual(file: &StateFile) -> SimulatorBuilder {
    Simulator::builder()
        .clock(ClockMode::Manual)
        .clock_start(CLOCK_START)
        .seed(5)
        .state_file(file.path())
}

async fn stop(t: TestSim) {
    t.sim.shutdown().await;
}

fn start_error(result: Result<Simulator, StartError>) -> String {
    match result {
        Ok(_) => panic!("the simulator started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_restart_on_the_same_file_brings_everything_back() {
    let file = StateFile::new("restart");
    let good = receiver(200).await;
    let dead = receiver(500).await;
    let first = start_with(manual(&file).retry_policy(RetryPolicy { delays: vec![600] })).await;
    let good_endpoint = first
        .sim
        .add_webhook_endpoint(EndpointSpec {
            secret: Some("whsec_kept_over_restarts".into()),
            ..EndpointSpec::all_events(format!("{}/ok", good.uri()))
        })
        .unwrap();
    first
        .sim
        .add_webhook_endpoint(EndpointSpec::all_events(format!("{}/ko", dead.uri())))
        .unwrap();
    let customer = first
        .post_idempotent("/v1/customers", "idem-1", &[("name", "Ada")])
        .await
        .ok();
    let paid = first.paid_session().await;
    first.advance(120).await;
    assert!(first.sim.wait_for_deliveries(SETTLE).await);
    first
        .control(Method::POST, "/_sim/webhooks/hold", None)
        .await
        .ok();
    let held = first.post("/v1/customers", &[("name", "Held")]).await.ok();
    let before: Vec<Value> = first.list_all("/v1/events").await;
    let log_before = first
        .control(Method::GET, "/_sim/deliveries?limit=100", None)
        .await
        .ok();
    let clock_before = first.sim.now();
    let pending_before = first.sim.next_delivery_due();
    assert!(
        pending_before.is_some(),
        "the dead endpoint has a retry pending"
    );
    stop(first).await;

    let second = start_with(manual(&file).retry_policy(RetryPolicy { delays: vec![600] })).await;

    assert_eq!(
        second.sim.now(),
        clock_before,
        "the clock goes on from where it was"
    );
    let (_, restored) = second.sim.state_file().unwrap();
    assert!(restored.existing);
    assert_eq!(
        second
            .object(&format!(
                "/v1/customers/{}",
                customer["id"].as_str().unwrap()
            ))
            .await,
        customer
    );
    let session = second.session(paid["id"].as_str().unwrap()).await;
    assert_eq!(session["payment_status"], "paid");
    assert_eq!(second.list_all("/v1/events").await, before);
    let log_after = second
        .control(Method::GET, "/_sim/deliveries?limit=100", None)
        .await
        .ok();
    assert_eq!(log_after["data"], log_before["data"]);
    assert_eq!(second.sim.next_delivery_due(), pending_before);
    let endpoints = second.sim.webhook_endpoints();
    assert_eq!(endpoints[0].secret, "whsec_kept_over_restarts");
    assert_eq!(endpoints[0].id, good_endpoint.id);
    let replay = second
        .post_idempotent("/v1/customers", "idem-1", &[("name", "Ada")])
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], customer["id"]);
    let status = second
        .control(Method::GET, "/_sim/webhooks", None)
        .await
        .ok();
    assert_eq!(status["mode"], "hold");
    assert_eq!(status["held"], 2, "the held delivery waits for its release");

    // The held delivery is still delivered, and the retry of the dead endpoint still runs.
    answer(&dead, 200).await;
    second
        .control(
            Method::POST,
            "/_sim/webhooks/release",
            Some(json!({"resume": true})),
        )
        .await
        .ok();
    second.advance(600).await;
    assert!(second.sim.wait_for_deliveries(SETTLE).await);
    let held_event = second
        .list_all("/v1/events")
        .await
        .into_iter()
        .find(|e| e["data"]["object"]["id"] == held["id"])
        .unwrap();
    assert_eq!(held_event["pending_webhooks"], 0);
    let failed = second
        .control(Method::GET, "/_sim/deliveries?outcome=pending", None)
        .await
        .ok();
    assert_eq!(failed["data"].as_array().unwrap().len(), 0);
    stop(second).await;
}

#[tokio::test]
async fn the_seeded_id_stream_goes_on_after_a_restart() {
    let file = StateFile::new("ids");
    let unbroken = start_with(
        Simulator::builder()
            .clock(ClockMode::Manual)
            .clock_start(CLOCK_START)
            .seed(5),
    )
    .await;
    let restarted = start_with(manual(&file)).await;
    for t in [&unbroken, &restarted] {
        t.post("/v1/customers", &[("name", "one")]).await.ok();
    }
    stop(restarted).await;
    let restarted = start_with(manual(&file)).await;

    let a = unbroken
        .post("/v1/customers", &[("name", "two")])
        .await
        .ok();
    let b = restarted
        .post("/v1/customers", &[("name", "two")])
        .await
        .ok();

    assert_eq!(a["id"], b["id"]);
    stop(restarted).await;
}

#[tokio::test]
async fn retries_that_fell_due_while_it_was_down_run_at_start_up() {
    let file = StateFile::new("due");
    let hook = receiver(500).await;
    let builder = || {
        Simulator::builder()
            .seed(9)
            .state_file(file.path())
            .retry_policy(RetryPolicy { delays: vec![1] })
            .webhook_endpoint(EndpointSpec::all_events(format!("{}/hook", hook.uri())))
    };
    let first = start_with(builder()).await;
    first.post("/v1/customers", &[("name", "Ada")]).await.ok();
    first.post("/v1/customers", &[("name", "Bob")]).await.ok();
    assert!(first.sim.wait_for_deliveries(SETTLE).await);
    assert_eq!(first.sim.delivery_status().pending, 2);
    stop(first).await;

    answer(&hook, 200).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = start_with(builder()).await;
    let deadline = Instant::now() + SETTLE;
    while second.sim.delivery_status().succeeded < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let received = hook.received_requests().await.unwrap();
    let names: Vec<String> = received
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
        .map(|e| e["data"]["object"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Ada", "Bob"], "in the order they fell due");
    assert_eq!(
        second.sim.webhook_endpoints().len(),
        1,
        "--forward-to is not added twice"
    );
    stop(second).await;
}

#[tokio::test]
async fn a_second_simulator_on_the_same_file_is_refused() {
    let file = StateFile::new("locked");
    let first = start_with(manual(&file)).await;

    let message = start_error(manual(&file).start().await);

    assert!(
        message.contains("in use by another stripe-sim"),
        "{message}"
    );
    first
        .post("/v1/customers", &[("name", "still works")])
        .await
        .ok();
    stop(first).await;
    let again = start_with(manual(&file)).await;
    stop(again).await;
}

#[tokio::test]
async fn a_file_it_cannot_read_is_refused_and_left_as_it_was() {
    let file = StateFile::new("foreign");
    std::fs::write(file.path(), "not a database, just some notes\n".repeat(100)).unwrap();
    let message = start_error(manual(&file).start().await);
    assert!(message.contains("not a stripe-sim state file"), "{message}");
    assert!(std::fs::read_to_string(file.path())
        .unwrap()
        .starts_with("not a database"));

    let other = StateFile::new("other-app");
    rusqlite::Connection::open(other.path())
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER)")
        .unwrap();
    let message = start_error(manual(&other).start().await);
    assert!(message.contains("it has the tables users"), "{message}");
}

#[tokio::test]
async fn a_file_from_a_newer_version_or_with_an_unreadable_row_is_refused() {
    let newer = StateFile::new("newer");
    stop(start_with(manual(&newer)).await).await;
    rusqlite::Connection::open(newer.path())
        .unwrap()
        .execute(
            "UPDATE stripe_sim SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    let message = start_error(manual(&newer).start().await);
    assert!(message.contains("newer stripe-sim (schema 99"), "{message}");

    let broken = StateFile::new("broken");
    let t = start_with(manual(&broken)).await;
    let customer = t.post("/v1/customers", &[("name", "Ada")]).await.ok();
    stop(t).await;
    rusqlite::Connection::open(broken.path())
        .unwrap()
        .execute(
            "UPDATE state_rows SET body = '{\"id\": 1}' WHERE kind = 'customers'",
            [],
        )
        .unwrap();
    let message = start_error(manual(&broken).start().await);
    assert!(
        message.contains(&format!("customers {}", customer["id"].as_str().unwrap())),
        "{message}"
    );

    let unknown = StateFile::new("unknown-kind");
    stop(start_with(manual(&unknown)).await).await;
    rusqlite::Connection::open(unknown.path())
        .unwrap()
        .execute(
            "INSERT INTO state_rows (kind, id, pos, body) VALUES ('subscriptions', 'sub_1', 0, '{}')",
            [],
        )
        .unwrap();
    let message = start_error(manual(&unknown).start().await);
    assert!(message.contains("'subscriptions'"), "{message}");
    assert!(matches!(
        manual(&unknown).start().await,
        Err(StartError::State(StateError::Corrupt { .. }))
    ));
}

#[tokio::test]
async fn a_file_of_the_first_schema_is_migrated_and_keeps_everything() {
    let file = StateFile::new("schema-1");
    let t = start_with(manual(&file)).await;
    let customer = t.post("/v1/customers", &[("name", "Ada")]).await.ok();
    stop(t).await;
    // Schema 1 kept the rows in a `WITHOUT ROWID` table ordered by (kind, id).
    rusqlite::Connection::open(file.path())
        .unwrap()
        .execute_batch(
            "ALTER TABLE state_rows RENAME TO rows_2;
             CREATE TABLE state_rows (
                 kind TEXT NOT NULL, id TEXT NOT NULL, pos INTEGER NOT NULL, body BLOB NOT NULL,
                 PRIMARY KEY (kind, id)
             ) WITHOUT ROWID;
             INSERT INTO state_rows SELECT kind, id, pos, body FROM rows_2;
             DROP TABLE rows_2;
             UPDATE stripe_sim SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();

    let again = start_with(manual(&file)).await;

    let id = customer["id"].as_str().unwrap();
    let found = again.get(&format!("/v1/customers/{id}")).await.ok();
    assert_eq!(found["name"], "Ada");
    stop(again).await;
    let version: String = rusqlite::Connection::open(file.path())
        .unwrap()
        .query_row(
            "SELECT value FROM stripe_sim WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, "2");
}

fn log_of(file: &StateFile) -> PathBuf {
    PathBuf::from(format!("{}-log", file.path().display()))
}

/// Rows of `kind` in the SQLite file (the simulator stopped).
fn rows_of_kind(file: &StateFile, kind: &str) -> i64 {
    rusqlite::Connection::open(file.path())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM state_rows WHERE kind = ?1",
            [kind],
            |row| row.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn a_reset_empties_the_state_file_too() {
    let file = StateFile::new("reset");
    let t = start_with(manual(&file)).await;
    let customer = t.post("/v1/customers", &[("name", "Ada")]).await.ok();
    for n in 0..50 {
        t.post("/v1/customers", &[("name", &format!("c{n}"))])
            .await
            .ok();
    }
    t.control(Method::POST, "/_sim/reset", Some(json!({})))
        .await
        .ok();
    // Answered once the log is folded into SQLite and emptied: nothing is left in it but its
    // 8-byte header.
    assert_eq!(std::fs::metadata(log_of(&file)).unwrap().len(), 8);
    stop(t).await;
    assert!(!log_of(&file).exists(), "a clean stop removes the log");
    assert_eq!(rows_of_kind(&file, "customers"), 0);
    assert_eq!(rows_of_kind(&file, "events"), 0);

    let again = start_with(manual(&file)).await;

    let gone = again
        .get(&format!(
            "/v1/customers/{}",
            customer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(again.list_all("/v1/events").await.len(), 0);
    assert!(
        again.sim.seeded_link("lifetime").is_some(),
        "the seed is applied again"
    );
    stop(again).await;
}

#[tokio::test]
async fn a_log_damaged_in_the_middle_is_refused_naming_it() {
    let file = StateFile::new("damaged-log");
    let t = start_with(manual(&file)).await;
    let customer = t.post("/v1/customers", &[("name", "Ada")]).await.ok();
    stop(t).await;
    // A record whose checksum fails, with more after it: not what a crash leaves.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&5u32.to_le_bytes());
    bytes.extend_from_slice(&[7; 8]);
    bytes.extend_from_slice(b"12345");
    bytes.extend_from_slice(&[1; 40]);
    std::fs::write(log_of(&file), &bytes).unwrap();

    let message = start_error(manual(&file).start().await);

    assert!(
        message.contains(&log_of(&file).display().to_string()),
        "{message}"
    );
    assert!(message.contains("fails its checksum"), "{message}");
    assert_eq!(
        std::fs::read(log_of(&file)).unwrap(),
        bytes,
        "left as it was"
    );
    // Moved aside, the file starts with what SQLite holds.
    std::fs::remove_file(log_of(&file)).unwrap();
    let again = start_with(manual(&file)).await;
    let id = customer["id"].as_str().unwrap();
    assert_eq!(again.get(&format!("/v1/customers/{id}")).await.status, 200);
    stop(again).await;
}

// --- kill -9 --------------------------------------------------------------------------------

const BIN: &str = env!("CARGO_BIN_EXE_stripe-sim");
const KEY: &str = "sk_test_stripesim";

/// The real binary on a free port, with `--state`; its base URL from the banner.
fn spawn(state: &Path, forward_to: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--seed", "3", "--threads", "2"])
        .arg("--state")
        .arg(state)
        .args([
            "--forward-to",
            forward_to,
            "--webhook-secret",
            "whsec_kill_test",
        ])
        .args([
            "--retry-schedule",
            "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1",
        ])
        .env_remove("STRIPE_SECRET_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let base = first
        .trim()
        .trim_start_matches("stripe-sim listening on ")
        .to_string();
    assert!(base.starts_with("http://"), "banner: {first}");
    // Keep reading the banner in the background so the pipe never fills or closes.
    std::thread::spawn(move || {
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
    });
    (child, base)
}

/// Event ids of every `customer.created` the receiver answered 200, by customer id.
fn delivered_customers(received: &[Request]) -> HashSet<String> {
    received
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|e| e["type"] == "customer.created")
        .filter_map(|e| e["data"]["object"]["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_load_loses_nothing_that_was_answered() {
    let load_ms: u64 = std::env::var("STRIPE_SIM_KILL_TEST_LOAD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(700);
    let file = StateFile::new("kill9");
    // The receiver fails every delivery at first, so retries are pending when the kill comes.
    let hook = receiver(500).await;
    let forward = format!("{}/hook", hook.uri());
    let (mut child, base) = spawn(file.path(), &forward);
    let client = reqwest::Client::new();
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop_load = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (client, base, answered, stop_load) = (
            client.clone(),
            base.clone(),
            answered.clone(),
            stop_load.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop_load.load(Ordering::Relaxed) {
                n += 1;
                let sent = client
                    .post(format!("{base}/v1/customers"))
                    .bearer_auth(KEY)
                    .form(&[("name", format!("w{worker} n{n}"))])
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if !response.status().is_success() {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                answered
                    .lock()
                    .unwrap()
                    .push(body["id"].as_str().unwrap().to_string());
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(load_ms)).await;
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();
    stop_load.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() > 20,
        "the load made only {} customers",
        answered.len()
    );

    answer(&hook, 200).await;
    let (mut child, base) = spawn(file.path(), &forward);
    let get = |path: String| {
        let client = client.clone();
        async move { client.get(path).bearer_auth(KEY).send().await.unwrap() }
    };
    for id in &answered {
        let found = get(format!("{base}/v1/customers/{id}")).await;
        assert_eq!(found.status(), 200, "{id} was answered 2xx before the kill");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let delivered = delivered_customers(&hook.received_requests().await.unwrap());
        let missing: Vec<&String> = answered
            .iter()
            .filter(|id| !delivered.contains(*id))
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let status: Value = get(format!("{base}/_sim/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        missing,
        0,
        "every pending delivery is delivered after the restart ({} answered; status {status})",
        answered.len()
    );
    eprintln!(
        "kill -9 after {load_ms} ms: {} customers answered, all present and delivered after the restart",
        answered.len()
    );
}

/// `POST /v1/customers` on a spawned simulator; the new customer's id.
async fn create_customer(client: &reqwest::Client, base: &str, name: &str) -> String {
    let body: Value = client
        .post(format!("{base}/v1/customers"))
        .bearer_auth(KEY)
        .form(&[("name", name)])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    body["id"].as_str().unwrap().to_string()
}

async fn customer_status(client: &reqwest::Client, base: &str, id: &str) -> u16 {
    client
        .get(format!("{base}/v1/customers/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cut_short_by_a_kill_9_is_ignored_at_restart() {
    let file = StateFile::new("torn");
    let hook = receiver(200).await;
    let forward = format!("{}/hook", hook.uri());
    let client = reqwest::Client::new();
    let (mut child, base) = spawn(file.path(), &forward);
    let first = create_customer(&client, &base, "before the kill").await;
    child.kill().unwrap();
    child.wait().unwrap();
    // What a kill in the middle of a write leaves: the start of a record.
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log_of(&file))
        .unwrap();
    std::io::Write::write_all(&mut log, &[90, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 2, 9, 0]).unwrap();
    drop(log);

    let (mut child, base) = spawn(file.path(), &forward);
    assert_eq!(customer_status(&client, &base, &first).await, 200);
    let second = create_customer(&client, &base, "after the restart").await;
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, base) = spawn(file.path(), &forward);
    let statuses = (
        customer_status(&client, &base, &first).await,
        customer_status(&client, &base, &second).await,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(statuses, (200, 200), "both customers are back");
}
