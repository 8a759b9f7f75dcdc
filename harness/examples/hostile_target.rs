//! A target that misbehaves on purpose, for `harness/tests/hostile_targets.rs`: the harness must
//! end every run against it with a clear message, within its timeouts, and leave no process
//! behind.
//!
//! ```sh
//! cargo run -p stripe-harness --example hostile_target -- --mode big   # PORT=3000 by default
//! ```
//!
//! It serves the payment spec's routes in the simplest way (every order stays pending), except
//! where its mode says otherwise:
//!
//! | mode | what it does |
//! |---|---|
//! | `ok` | behaves |
//! | `big` | answers orders with 10 MB of JSON (`--answer-mb N`: N MB) |
//! | `hang` | accepts calls (but `/health`) and never answers |
//! | `invalid-json` | answers orders with text that is not JSON |
//! | `cut` | closes the connection in the middle of its answers |
//! | `flood-lines` | prints lines as fast as it can, all the time |
//! | `flood-raw` | prints bytes without a newline as fast as it can |
//! | `binary` | prints bytes that are not UTF-8 on stdout and stderr |
//! | `crash-after=N` | exits with status 3 at its N+1-th call |
//! | `webhook-500` | its webhook handler crashes: answers 500 with an error page and prints a traceback |
//!
//! Like many apps, it dies if writing its log fails (the harness must keep reading its output).
//! `--child` starts a child process (`sleep`) that lives as long as it does; `--pids FILE`
//! writes "its pid, its child's pid" to FILE on the first call that is not `/health`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Big,
    Hang,
    InvalidJson,
    Cut,
    FloodLines,
    FloodRaw,
    Binary,
    CrashAfter(u64),
    Webhook500,
}

fn parse_mode(text: &str) -> Option<Mode> {
    Some(match text {
        "ok" => Mode::Ok,
        "big" => Mode::Big,
        "hang" => Mode::Hang,
        "invalid-json" => Mode::InvalidJson,
        "cut" => Mode::Cut,
        "flood-lines" => Mode::FloodLines,
        "flood-raw" => Mode::FloodRaw,
        "binary" => Mode::Binary,
        "webhook-500" => Mode::Webhook500,
        other => Mode::CrashAfter(other.strip_prefix("crash-after=")?.parse().ok()?),
    })
}

struct State {
    mode: Mode,
    calls: AtomicU64,
    orders: AtomicU64,
    pids_written: AtomicBool,
    pids: Option<String>,
    child: Option<u32>,
    /// The size of answers in mode `big`.
    answer_mb: usize,
}

/// Writes to stdout; like an app whose logger throws on `EPIPE`, it dies if that fails.
fn log(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
        eprintln!("hostile: cannot write my log (broken pipe): dying");
        std::process::exit(32);
    }
}

fn main() {
    let mut mode = Mode::Ok;
    let mut pids = None;
    let mut child = false;
    let mut answer_mb: usize = 10;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mode" => {
                let Some(m) = args.next().as_deref().and_then(parse_mode) else {
                    eprintln!("hostile: --mode takes ok, big, hang, invalid-json, cut, flood-lines, flood-raw, binary or crash-after=N");
                    std::process::exit(2);
                };
                mode = m;
            }
            "--pids" => pids = args.next(),
            "--child" => child = true,
            "--answer-mb" => {
                let Some(mb) = args.next().and_then(|n| n.parse().ok()) else {
                    eprintln!("hostile: --answer-mb takes a number");
                    std::process::exit(2);
                };
                answer_mb = mb;
            }
            other => {
                eprintln!("hostile: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let child = if child {
        match std::process::Command::new("sleep").arg("600").spawn() {
            Ok(c) => Some(c.id()),
            Err(e) => {
                eprintln!("hostile: cannot start my child: {e}");
                std::process::exit(2);
            }
        }
    } else {
        None
    };
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hostile: cannot listen on {port}: {e}");
            std::process::exit(2);
        }
    };
    match mode {
        Mode::Binary => {
            log(b"hostile: caf\xe9 \xff\xfe not utf-8 on stdout\n");
            let _ = std::io::stderr().write_all(b"hostile: \xc3\x28 not utf-8 on stderr\n");
        }
        Mode::FloodLines => {
            std::thread::spawn(|| {
                for i in 0u64.. {
                    log(format!(
                        "hostile: flood line {i} ........................................\n"
                    )
                    .as_bytes());
                }
            });
        }
        Mode::FloodRaw => {
            std::thread::spawn(|| {
                let chunk = [b'x'; 4096];
                loop {
                    log(&chunk);
                }
            });
        }
        _ => {}
    }
    log(format!("hostile: listening on {port}\n").as_bytes());
    let state = Arc::new(State {
        mode,
        calls: AtomicU64::new(0),
        orders: AtomicU64::new(0),
        pids_written: AtomicBool::new(false),
        pids,
        child,
        answer_mb,
    });
    for stream in listener.incoming().flatten() {
        let state = state.clone();
        std::thread::spawn(move || serve(stream, &state));
    }
}

/// Reads one request: its method, path and body.
fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if data.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((method, path, body))
}

fn answer(stream: &mut TcpStream, status: u16, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn serve(mut stream: TcpStream, state: &State) {
    let Some((method, path, _body)) = read_request(&mut stream) else {
        return;
    };
    if path == "/health" {
        answer(&mut stream, 200, b"{\"ok\":true}");
        return;
    }
    if let Some(file) = &state.pids {
        if !state.pids_written.swap(true, Ordering::SeqCst) {
            let child = state.child.map(|c| c.to_string()).unwrap_or_default();
            let _ = std::fs::write(file, format!("{} {child}", std::process::id()));
        }
    }
    let call = state.calls.fetch_add(1, Ordering::SeqCst) + 1;
    match state.mode {
        Mode::Binary => log(format!("hostile: {method} {path} \u{1}\n").as_bytes()),
        Mode::FloodLines | Mode::FloodRaw => {}
        _ => log(format!("hostile: {method} {path}\n").as_bytes()),
    }
    let order_call = path.starts_with("/api/orders") && !path.starts_with("/api/orders/capture");
    match state.mode {
        Mode::CrashAfter(n) if call > n => {
            eprintln!("hostile: crashing on purpose at call {call}");
            std::process::exit(3);
        }
        Mode::Hang => {
            // Hold the connection open, answer nothing.
            std::thread::sleep(std::time::Duration::from_secs(3600));
            return;
        }
        Mode::Big if order_call => {
            let pad = "x".repeat(state.answer_mb * 1024 * 1024);
            let body = format!("{{\"id\":\"o1\",\"status\":\"pending\",\"pad\":\"{pad}\"}}");
            answer(&mut stream, 200, body.as_bytes());
            return;
        }
        Mode::InvalidJson if order_call => {
            answer(&mut stream, 200, b"{\"id\": \"o1\", oops this is not json");
            return;
        }
        Mode::Webhook500 if path == "/api/webhooks/stripe" => {
            // What a Flask app whose handler raises looks like from outside.
            eprintln!("Traceback (most recent call last):");
            eprintln!("  File \"app.py\", line 42, in stripe_webhook");
            eprintln!("    order_id = session.get(\"client_reference_id\")");
            eprintln!("AttributeError: 'Session' object has no attribute 'get'");
            answer(
                &mut stream,
                500,
                b"<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\nAttributeError: 'Session' object has no attribute 'get'",
            );
            return;
        }
        Mode::Cut if order_call => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"id\":\"o1\",";
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        _ => {}
    }
    if method == "POST" && path == "/api/orders" {
        let id = state.orders.fetch_add(1, Ordering::SeqCst) + 1;
        answer(
            &mut stream,
            200,
            format!("{{\"id\":\"o{id}\",\"status\":\"pending\"}}").as_bytes(),
        );
    } else if let Some(id) = path
        .strip_prefix("/api/orders/")
        .filter(|_| method == "GET")
    {
        answer(
            &mut stream,
            200,
            format!("{{\"id\":\"{id}\",\"status\":\"pending\"}}").as_bytes(),
        );
    } else {
        answer(&mut stream, 200, b"{\"received\":true}");
    }
}
