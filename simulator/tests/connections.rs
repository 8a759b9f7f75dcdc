//! Connection limits on real sockets: silent, trickling and idle connections are closed, a
//! connection past the cap waits for a slot, and SDK-style keep-alive traffic is unaffected.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::Value;
use stripe_sim::{ClockMode, Simulator, SimulatorBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A simulator with a manual clock and every limit short enough to test.
fn builder() -> SimulatorBuilder {
    Simulator::builder().clock(ClockMode::Manual).seed(5)
}

fn addr(sim: &Simulator) -> String {
    sim.base_url().trim_start_matches("http://").to_string()
}

fn health_request() -> &'static [u8] {
    b"GET /_sim/health HTTP/1.1\r\nhost: sim\r\n\r\n"
}

/// Reads until the server closes the connection; answers how long that took.
async fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// One HTTP/1.1 answer: status line, headers and a `content-length` body.
async fn read_response(stream: &mut TcpStream, limit: Duration) -> Option<(u16, String, String)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                return Some((status, head, body));
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => data.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    // Arrange
    let sim = builder()
        .header_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();

    // Act: connect and say nothing.
    let mut stream = TcpStream::connect(addr(&sim)).await.unwrap();
    let closed_after = time_until_closed(&mut stream, Duration::from_secs(5)).await;

    // Assert
    let closed_after = closed_after.expect("the silent connection is still open after 5 s");
    assert!(
        closed_after >= Duration::from_millis(250),
        "{closed_after:?}"
    );
}

#[tokio::test]
async fn a_head_trickled_byte_by_byte_is_cut_off_at_the_header_timeout() {
    // Arrange
    let sim = builder()
        .header_timeout(Duration::from_millis(500))
        .idle_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(addr(&sim)).await.unwrap();
    let started = Instant::now();

    // Act: one byte every 50 ms, never finishing the head.
    let mut closed = false;
    for byte in b"GET /_sim/health HTTP/1.1\r\nx-slow: "
        .iter()
        .cycle()
        .take(200)
    {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut probe = [0u8; 16];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), stream.read(&mut probe)).await
        {
            closed = true;
            break;
        }
    }

    // Assert
    assert!(closed, "the trickling client was never cut off");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408_with_an_envelope() {
    // Arrange
    let sim = builder()
        .body_timeout(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(addr(&sim)).await.unwrap();

    // Act: a head announcing 100 bytes, then 10 of them.
    let head = format!(
        "POST /v1/customers HTTP/1.1\r\nhost: sim\r\nauthorization: Bearer {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nname=Ada&e",
        sim.api_key()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_response(&mut stream, Duration::from_secs(5)).await;

    // Assert
    let (status, head, body) = answer.expect("no answer to the stalled body");
    assert_eq!(status, 408, "{head}\n{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(time_until_closed(&mut stream, Duration::from_secs(2))
        .await
        .is_some());
    let listed = reqwest::Client::new()
        .get(format!("{}/v1/customers", sim.base_url()))
        .bearer_auth(sim.api_key())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_serves_again_and_then_closes_after_the_idle_timeout() {
    // Arrange
    let sim = builder()
        .header_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(addr(&sim)).await.unwrap();

    // Act: two requests 200 ms apart on one connection, then silence.
    stream.write_all(health_request()).await.unwrap();
    let first = read_response(&mut stream, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(health_request()).await.unwrap();
    let second = read_response(&mut stream, Duration::from_secs(2)).await;
    let closed_after = time_until_closed(&mut stream, Duration::from_secs(5)).await;

    // Assert
    assert_eq!(first.map(|r| r.0), Some(200));
    assert_eq!(second.map(|r| r.0), Some(200));
    let closed_after = closed_after.expect("the idle connection was never closed");
    assert!(
        closed_after >= Duration::from_millis(400) && closed_after < Duration::from_secs(3),
        "{closed_after:?}"
    );
}

#[tokio::test]
async fn a_connection_past_the_cap_is_served_only_once_another_closes() {
    // Arrange: two connections take both slots and say nothing.
    let sim = builder()
        .max_connections(2)
        .header_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let first = TcpStream::connect(addr(&sim)).await.unwrap();
    let _second = TcpStream::connect(addr(&sim)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Act: a third connection asks for /_sim/health.
    let mut third = TcpStream::connect(addr(&sim)).await.unwrap();
    third.write_all(health_request()).await.unwrap();
    let while_full = read_response(&mut third, Duration::from_millis(700)).await;
    drop(first);
    let after_one_closed = read_response(&mut third, Duration::from_secs(3)).await;

    // Assert
    assert!(while_full.is_none(), "served past the cap: {while_full:?}");
    assert_eq!(after_one_closed.map(|r| r.0), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_style_keep_alive_traffic_is_unaffected_by_the_limits() {
    // Arrange: the defaults, and a pooled client like the SDKs use.
    let sim = builder().start().await.unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .unwrap();
    let started = Instant::now();

    // Act: 16 connections, 25 requests each, a create and a read, with small pauses.
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let client = client.clone();
        let base = sim.base_url().to_string();
        let key = sim.api_key().to_string();
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..25 {
                let created = client
                    .post(format!("{base}/v1/customers"))
                    .bearer_auth(&key)
                    .form(&[("email", format!("w{worker}-{i}@example.com"))])
                    .send()
                    .await
                    .unwrap();
                statuses.push(created.status().as_u16());
                let id = created.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let read = client
                    .get(format!("{base}/v1/customers/{id}"))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .unwrap();
                statuses.push(read.status().as_u16());
                if i % 5 == 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            statuses
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.extend(done.unwrap());
    }

    // Assert
    assert_eq!(statuses.len(), 800);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn dropping_the_handle_stops_accepting_and_closes_idle_connections() {
    // Arrange: a keep-alive connection that has been served once.
    let sim = builder().start().await.unwrap();
    let address = addr(&sim);
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream.write_all(health_request()).await.unwrap();
    assert_eq!(
        read_response(&mut stream, Duration::from_secs(2))
            .await
            .map(|r| r.0),
        Some(200)
    );

    // Act
    drop(sim);

    // Assert
    assert!(time_until_closed(&mut stream, Duration::from_secs(3))
        .await
        .is_some());
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the port still accepts connections");
}

#[tokio::test]
async fn an_answer_given_before_the_body_was_read_tells_the_client_the_connection_closes() {
    // Arrange: a route that reads no body, and a body too large to be read, each announced in
    // full but sent only in part (the rest would follow).
    let sim = builder().start().await.unwrap();
    let key = sim.api_key().to_string();
    let requests = [
        format!(
            "POST /_sim/webhooks/hold HTTP/1.1\r\nhost: sim\r\nauthorization: Bearer {key}\r\ncontent-length: 1000000\r\n\r\n{}",
            "a".repeat(1000)
        ),
        format!(
            "POST /v1/customers HTTP/1.1\r\nhost: sim\r\nauthorization: Bearer {key}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 3000000\r\n\r\ndescription={}",
            "a".repeat(300 * 1024)
        ),
    ];

    for request in requests {
        // Act
        let mut stream = TcpStream::connect(addr(&sim)).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_response(&mut stream, Duration::from_secs(5)).await;

        // Assert: the client learns not to send its next request on this connection.
        let (status, head, _) = answer.expect("an answer");
        assert!(status < 500, "{head}");
        assert!(head.contains("connection: close"), "{head}");
    }
}

#[tokio::test]
async fn a_request_whose_body_was_read_keeps_its_connection_alive() {
    let sim = builder().start().await.unwrap();
    let mut stream = TcpStream::connect(addr(&sim)).await.unwrap();
    let request = format!(
        "POST /v1/customers HTTP/1.1\r\nhost: sim\r\nauthorization: Bearer {}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 8\r\n\r\nname=Ada",
        sim.api_key()
    );

    stream.write_all(request.as_bytes()).await.unwrap();
    let first = read_response(&mut stream, Duration::from_secs(2))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let second = read_response(&mut stream, Duration::from_secs(2)).await;

    assert_eq!(first.0, 200);
    assert!(!first.1.contains("connection: close"), "{}", first.1);
    assert_eq!(second.map(|r| r.0), Some(200));
}
