//! The HTTP load generator: `C` keep-alive HTTP/1.1 connections, each sending its next request as
//! soon as the last answer is read (a closed loop, like `wrk` or `oha`), for a warm-up and then a
//! measured window. Every server, ours and the peers, gets exactly the same load.
//!
//! It is written on hyper's connection API rather than a client with a pool, so that nothing but
//! the request itself sits between the generator and the server.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// One keep-alive connection to a server, speaking as a Stripe client would.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    api_key: String,
    authorization: String,
}

/// An answer: status and body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The answer's JSON, or an error naming the status and the start of the body.
    pub fn ok_json(self, what: &str) -> Result<serde_json::Value, String> {
        if self.status.is_success() {
            return Ok(self.json());
        }
        let text = String::from_utf8_lossy(&self.body);
        Err(format!(
            "{what}: HTTP {} {}",
            self.status.as_u16(),
            text.chars().take(200).collect::<String>()
        ))
    }
}

impl Conn {
    pub async fn connect(addr: SocketAddr, api_key: &str) -> Result<Conn, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream.set_nodelay(true).ok();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {addr} failed: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_string(),
            api_key: api_key.to_string(),
            authorization: format!("Bearer {api_key}"),
        })
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<Answer, String> {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a form-encoded body, as the official SDKs send.
    pub async fn post_form(&mut self, path: &str, form: &str) -> Result<Answer, String> {
        self.send(Method::POST, path, Some((FORM, form.to_string())))
            .await
    }

    /// `POST path` with a JSON body (stripe-sim's control API).
    pub async fn send_json(&mut self, path: &str, json: &str) -> Result<Answer, String> {
        self.send(Method::POST, path, Some((JSON, json.to_string())))
            .await
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&str, String)>,
    ) -> Result<Answer, String> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", &self.host)
            .header("Authorization", &self.authorization)
            .header("User-Agent", "stripe-bench/0.1");
        let body = match body {
            Some((content_type, body)) => {
                request = request.header("Content-Type", content_type);
                Full::new(Bytes::from(body))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request
            .body(body)
            .map_err(|e| format!("bad request {path}: {e}"))?;
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection closed: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{path}: reading the body failed: {e}"))?
            .to_bytes();
        Ok(Answer { status, body })
    }
}

/// What one closed-loop iteration does on its connection: one request, or a short flow.
pub trait Operation: Send + Sync + 'static {
    /// Runs iteration `n` (unique across all connections of a run).
    fn run<'a>(
        &'a self,
        conn: &'a mut Conn,
        n: u64,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// How to load a server.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

/// What one measured window gave.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub completed: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Window {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Loads `addr` with `op` for `load.warmup`, then measures for `load.measure`.
pub async fn run_window(
    addr: SocketAddr,
    api_key: &str,
    load: Load,
    op: Arc<dyn Operation>,
    first_iteration: u64,
) -> Result<Window, String> {
    let started = Instant::now();
    let measure_from = started + load.warmup;
    let until = measure_from + load.measure;
    let mut tasks = Vec::new();
    for connection in 0..load.connections {
        let mut conn = Conn::connect(addr, api_key).await?;
        let op = op.clone();
        let stride = load.connections as u64;
        tasks.push(tokio::spawn(async move {
            let mut window = Window::default();
            let mut n = first_iteration + connection as u64;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let outcome = op.run(&mut conn, n).await;
                n += stride;
                if sent < measure_from {
                    continue;
                }
                match outcome {
                    Ok(()) => {
                        window.completed += 1;
                        window.latencies.push(sent.elapsed());
                    }
                    Err(e) => {
                        window.errors += 1;
                        window.first_error.get_or_insert(e);
                        // A dead connection would spin: open a new one.
                        if conn.sender.is_closed() {
                            let key = conn.api_key.clone();
                            match Conn::connect(addr, &key).await {
                                Ok(fresh) => conn = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                }
            }
            window
        }));
    }
    let mut total = Window::default();
    for task in tasks {
        let window = task.await.map_err(|e| format!("load task failed: {e}"))?;
        total.completed += window.completed;
        total.errors += window.errors;
        if total.first_error.is_none() {
            total.first_error = window.first_error;
        }
        total.latencies.extend(window.latencies);
    }
    total.elapsed = load.measure;
    Ok(total)
}

/// Runs `op` exactly `count` times over `connections` connections (for filling a server).
pub async fn run_count(
    addr: SocketAddr,
    api_key: &str,
    connections: usize,
    count: u64,
    op: Arc<dyn Operation>,
) -> Result<Duration, String> {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let mut conn = Conn::connect(addr, api_key).await?;
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    return Ok::<(), String>(());
                }
                op.run(&mut conn, n).await?;
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("load task failed: {e}"))??;
    }
    Ok(started.elapsed())
}
