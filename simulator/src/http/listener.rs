//! Serving connections with limits: the simulator runs next to code still being written, so a
//! client that connects and says nothing, sends half a request, trickles a body or opens
//! thousands of sockets must not hold memory or the server.
//!
//! `axum::serve` has no such limits (3,000 silent sockets stayed open for 40 s and more and took
//! 122 MB), so connections are served here with hyper's HTTP/1 server and the axum `Router` as
//! the service, under four limits ([`ConnectionLimits`]):
//!
//! * **header timeout**: a request's head must be complete this long after its first byte (for a
//!   new connection: after it was accepted). Counted from the first byte, so a client trickling
//!   one header byte a second is cut off too. The connection is closed without an answer.
//! * **body timeout**: the whole body must have arrived this long after the head. A handler
//!   still waiting for it then fails and the client gets 408 with Stripe's error envelope; the
//!   connection is closed after it.
//! * **idle timeout**: a keep-alive connection with no request in flight is closed after this
//!   long without a byte from the client.
//! * **connection cap**: past this many open connections the server *waits*: it stops accepting
//!   until one closes, so the kernel's listen backlog holds the newcomers (their connect
//!   succeeds, their request is served once a slot frees). Refusing them would turn a burst into
//!   errors; waiting turns it into latency, and the timeouts above make sure slots do free.
//!
//! A request being handled is never cut off by these timers: a `/_sim/webhooks/flush` may
//! legitimately wait for minutes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::error::ApiError;

/// How long a request's head may take after its first byte (or after the connection opened).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request's body may take after its head.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a keep-alive connection may sit idle between requests.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How many connections are served at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// How long a shutdown waits for requests in flight before dropping them.
const DRAIN: Duration = Duration::from_secs(5);

/// The limits every connection is served under. The defaults are far above what an SDK or a
/// browser needs (they send a request's head and body at once, and pools reuse idle
/// connections within seconds) and low enough that abandoned sockets go away on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes; then
/// stops accepting, lets requests in flight finish (at most a few seconds) and closes the rest.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Over the cap, wait for a slot before accepting (see the module notes).
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // A connection reset before it was accepted is the client's business; any
                    // other error (out of file descriptors) passes if we wait a little.
                    if !is_connection_error(&e) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_one(
            stream,
            app.clone(),
            limits,
            closing_rx.clone(),
            slot,
        ));
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN, drained).await;
    connections.abort_all();
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// One connection, from accept to close. `_slot` frees its place under the cap when dropped.
async fn serve_one(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = InFlight::start(service_activity.clone());
        let progress = Arc::new(BodyProgress::default());
        let request =
            request.map(|body| Deadline::new(body, limits.body_timeout, progress.clone()));
        let mut app = app.clone();
        async move {
            let response = tower_service::Service::call(&mut app, request).await;
            drop(in_flight);
            if progress.timed_out.load(Ordering::Relaxed) {
                return Ok::<_, std::convert::Infallible>(body_timeout_response(
                    limits.body_timeout,
                ));
            }
            let Ok(mut response) = response;
            if !progress.finished.load(Ordering::Relaxed) {
                // The answer came before the body was read to its end (a 413, a route that
                // takes no body): hyper will close the connection rather than read the rest,
                // so say so, or the client would send its next request into a closing socket.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let expired = activity.expired(limits);
    tokio::pin!(expired);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            // Dropping the connection closes the socket: nothing is in flight.
            _ = &mut expired => break,
            _ = closing.wait_for(|closing| *closing), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The 408 a request gets when its body did not arrive in time; the connection closes after it.
fn body_timeout_response(limit: Duration) -> Response {
    let mut response = ApiError::request_timeout(limit).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// What the timers of one connection look at.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    changed: Notify,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests handed to the app and not answered yet.
    in_flight: usize,
    /// When the last request was answered (or the connection accepted).
    idle_since: Instant,
    /// When the first byte of the next request's head arrived, while none is in flight.
    head_started: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Activity {
            // A new connection is expected to send its request at once: it is under the header
            // timeout from the start.
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: now,
                head_started: Some(now),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived from the client.
    fn bytes_arrived(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
            drop(state);
            self.changed.notify_waiters();
        }
    }

    /// When the connection should be closed, if nothing happens before.
    fn deadline(&self, limits: ConnectionLimits) -> Option<Instant> {
        let state = self.lock();
        if state.in_flight > 0 {
            return None;
        }
        Some(match state.head_started {
            Some(started) => started + limits.header_timeout,
            None => state.idle_since + limits.idle_timeout,
        })
    }

    /// Completes when the connection has been idle, or reading a head, for too long.
    async fn expired(&self, limits: ConnectionLimits) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.deadline(limits) {
                None => changed.await,
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => {
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep_until(deadline) => {}
                    }
                }
            }
        }
    }
}

/// A request inside the app: the connection's timers wait while one exists.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        {
            let mut state = activity.lock();
            state.in_flight += 1;
            state.head_started = None;
        }
        activity.changed.notify_waiters();
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut state = self.0.lock();
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight == 0 {
                state.idle_since = Instant::now();
            }
        }
        self.0.changed.notify_waiters();
    }
}

/// The socket, reporting every read to the connection's [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a body read failed: it did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimeout;

/// What became of a request's body, for the answer to tell.
#[derive(Debug, Default)]
struct BodyProgress {
    /// Read to its end (or there was none).
    finished: AtomicBool,
    /// The body timeout passed while a handler waited for it.
    timed_out: AtomicBool,
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes.
struct Deadline {
    inner: Incoming,
    deadline: Instant,
    /// Created only when a read has to wait: most bodies arrive with their head.
    sleep: Option<Pin<Box<Sleep>>>,
    progress: Arc<BodyProgress>,
}

impl Deadline {
    fn new(inner: Incoming, limit: Duration, progress: Arc<BodyProgress>) -> Self {
        if inner.is_end_stream() {
            progress.finished.store(true, Ordering::Relaxed);
        }
        Deadline {
            inner,
            deadline: Instant::now() + limit,
            sleep: None,
            progress,
        }
    }
}

impl Body for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.is_none() || this.inner.is_end_stream() {
                this.progress.finished.store(true, Ordering::Relaxed);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.progress.timed_out.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(BodyTimeout.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
