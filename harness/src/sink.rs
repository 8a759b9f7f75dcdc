//! A local endpoint that answers 200 to anything: where the log's copies of deliveries the
//! target already received in a parallel release are sent, so that each event reaches the
//! target once (see `release = { parallel = true }` in `steps/deliveries.rs`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The most bytes of one request read before answering (a webhook body is a few KiB).
const MAX_REQUEST: usize = 4 * 1024 * 1024;

/// A running sink; dropping it stops it.
pub(crate) struct Sink {
    pub(crate) url: String,
    _stop: oneshot::Sender<()>,
}

impl Sink {
    pub(crate) async fn start() -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/sink", listener.local_addr()?);
        let (stop, mut stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            tokio::spawn(answer(stream));
                        }
                    }
                }
            }
        });
        Ok(Sink { url, _stop: stop })
    }
}

/// Reads one request (headers, then `Content-Length` bytes) and answers 200.
async fn answer(mut stream: TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut needed: Option<usize> = None;
    loop {
        if let Some(total) = needed {
            if buffer.len() >= total {
                break;
            }
        }
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 || buffer.len() > MAX_REQUEST {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if needed.is_none() {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                needed = Some(end + 4 + length);
            }
        }
    }
    let _ = stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        .await;
    let _ = stream.shutdown().await;
}
