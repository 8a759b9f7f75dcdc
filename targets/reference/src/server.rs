//! Serving: `run` for the binary, `serve` for a prepared state, and [`RunningTarget`] for a
//! harness that wants a target on a free port that stops when dropped.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::{AppState, StartError};
use crate::config::Config;
use crate::defect::Defect;
use crate::http::router;
use crate::variant::Design;

/// Builds the state from `config` and serves on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let state = AppState::new(config)?;
    serve(listener, state, shutdown).await
}

/// Serves an already-built state (useful when the caller wants to keep a handle on it).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The line printed once the binary listens; harnesses wait for it.
pub fn banner(addr: SocketAddr, defect: Option<Defect>, design: Design) -> String {
    let defect = defect.map_or("none", Defect::name);
    format!("reference-target listening on http://{addr} (defect: {defect}, variant: {design})")
}

/// A target serving in the background on 127.0.0.1:`config.port` (use 0 for a free port).
/// Dropping it shuts the server down.
#[derive(Debug)]
pub struct RunningTarget {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), StartError>>>,
}

impl RunningTarget {
    pub async fn start(config: Config) -> Result<RunningTarget, StartError> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(config)?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(RunningTarget {
            addr,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The webhook endpoint to register with Stripe (or the simulator).
    pub fn webhook_url(&self) -> String {
        format!("{}/api/webhooks/stripe", self.base_url())
    }

    /// The live state: read orders directly without going through HTTP.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the server.
    pub async fn stop(mut self) -> Result<(), StartError> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningTarget {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
