//! The processes a target file starts: spawned in a process group of their own with their
//! output captured ([`crate::output`]), registered for [`crate::signals`], stopped (SIGTERM, then
//! SIGKILL to the group) whatever happens; each instance with its own port and folder
//! (`{port}`, `{tmp}`); and what the ready check saw while it waited for one.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::output::{capture, OutputBuffer, Stream};
use crate::signals;

/// How long a stopped target gets to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What the ready check's polls saw.
#[derive(Debug, Default)]
pub(crate) struct ReadyPolls {
    /// Answers by status, in the order each status was first seen.
    pub(crate) statuses: Vec<(u16, u32)>,
    pub(crate) refused: u32,
    pub(crate) timeouts: u32,
    pub(crate) other: Option<String>,
}

impl ReadyPolls {
    pub(crate) fn answered(&mut self, status: u16) {
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((status, 1)),
        }
    }

    /// `` `/` answered 404 ×600; set [start].ready_path to a route that answers 2xx ``.
    pub(crate) fn reason(&self, path: &str, explicit: bool, port: u16) -> String {
        let mut seen: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} ×{n}"))
            .collect();
        if self.refused > 0 {
            seen.push(format!("connection refused ×{}", self.refused));
        }
        if self.timeouts > 0 {
            seen.push(format!("no answer within 2 s ×{}", self.timeouts));
        }
        if let Some(other) = &self.other {
            seen.push(format!("last error: {other}"));
        }
        let seen = seen.join(", ");
        if !self.statuses.is_empty() {
            let fix = if explicit {
                "set [start].ready_path to a route that answers 2xx (or remove it: then any answer means ready)"
            } else {
                "set [start].ready_path to a route that answers 2xx"
            };
            return format!("`{path}` answered {seen}; {fix}");
        }
        if self.refused > 0 && self.timeouts == 0 {
            return format!(
                "nothing accepted a connection on 127.0.0.1:{port} ({seen}): the app must listen on 127.0.0.1 (not only ::1) at the port in $PORT ({port})"
            );
        }
        if self.refused + self.timeouts == 0 && self.other.is_none() {
            return "no poll was made".to_string();
        }
        format!("`{path}` never answered ({seen})")
    }
}

/// A started process: its group, its leader's exit status once it exits (a thread waits for
/// it), and the threads reading its output.
pub(crate) struct Process {
    pub(crate) pgid: u32,
    pub(crate) exit: watch::Receiver<Option<ExitStatus>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Process {
    pub(crate) fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Waits (up to one second) until the reader threads have read the pipes to their end, so
    /// the last lines the process printed reach the message about its exit.
    pub(crate) async fn drain(&self) {
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGTERM to the group, up to [`STOP_GRACE`] for the leader to exit, then SIGKILL to the
    /// group: children that ignored SIGTERM must not outlive the run.
    pub(crate) async fn stop(&self) {
        signal_group(self.pgid, Signal::Term);
        let mut exit = self.exit.clone();
        let _ = tokio::time::timeout(STOP_GRACE, exit.wait_for(Option::is_some)).await;
        signal_group(self.pgid, Signal::Kill);
        let _ = tokio::time::timeout(STOP_GRACE, exit.wait_for(Option::is_some)).await;
        signals::forget(self.pgid);
    }
}

/// A new folder for one instance of a started app (`{tmp}`).
pub(crate) fn instance_dir(job: usize) -> std::io::Result<PathBuf> {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("stripe-harness-{}-{job}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Spawns `command` (its stdout and stderr piped) with a thread reading each stream into
/// `output` and one waiting for its exit, and registers its process group for
/// [`crate::signals`].
pub(crate) fn spawn(
    command: &mut std::process::Command,
    output: &OutputBuffer,
) -> std::io::Result<Process> {
    // Spawned and registered under the lock: a signal cannot arrive between the two.
    let mut live = signals::live();
    if live.closing {
        return Err(std::io::Error::other("the harness is being interrupted"));
    }
    let mut child = command.spawn()?;
    let pgid = child.id();
    let streams = [
        child
            .stdout
            .take()
            .map(|s| (Box::new(s) as Box<dyn std::io::Read + Send>, Stream::Stdout)),
        child
            .stderr
            .take()
            .map(|s| (Box::new(s) as Box<dyn std::io::Read + Send>, Stream::Stderr)),
    ];
    let (tx, exit) = watch::channel(None);
    let threads = (|| -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
        let mut readers = Vec::new();
        for (reader, stream) in streams.into_iter().flatten() {
            let output = output.clone();
            readers.push(
                std::thread::Builder::new()
                    .name(format!("target-{}", stream.as_str()))
                    .spawn(move || capture(reader, stream, &output))?,
            );
        }
        std::thread::Builder::new()
            .name("target-wait".into())
            .spawn(move || {
                let status = child.wait().ok();
                tx.send_replace(status);
            })?;
        Ok(readers)
    })();
    let readers = match threads {
        Ok(readers) => readers,
        Err(e) => {
            signal_group(pgid, Signal::Kill);
            return Err(e);
        }
    };
    live.add(signals::Group {
        pgid,
        exit: exit.clone(),
    });
    Ok(Process {
        pgid,
        exit,
        readers,
    })
}

/// A signal [`signal_group`] sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    Term,
    Kill,
}

/// Sends a signal to a whole process group with the system's `kill` (the workspace has no
/// `unsafe`, so no `libc::kill`).
pub(crate) fn signal_group(pgid: u32, signal: Signal) {
    if pgid == 0 {
        return;
    }
    let name = match signal {
        Signal::Term => "-TERM",
        Signal::Kill => "-KILL",
    };
    let _ = std::process::Command::new("kill")
        .arg(name)
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
