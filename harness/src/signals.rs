//! Ctrl-C and `kill`: the harness stops the targets it started before it exits.
//!
//! A started target runs in its own process group (so stopping it stops whatever it started),
//! which also means Ctrl-C in a terminal reaches only the harness: without this, an interrupted
//! run left the app and its children running, holding their ports. Every started target's
//! process group is registered here while it lives; [`stop_targets_on_signals`] (called by the
//! binary, not by library users, who own their process's signals) stops them all on SIGINT or
//! SIGTERM and exits with the conventional status (130, 143).

use std::process::ExitStatus;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::process::{signal_group, Signal};

/// How long interrupted targets get to exit on SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// A started target's process group, and its leader's exit status once it has exited.
pub(crate) struct Group {
    pub(crate) pgid: u32,
    pub(crate) exit: watch::Receiver<Option<ExitStatus>>,
}

/// The process groups alive now.
pub(crate) struct Live {
    /// Set once a signal arrived: no target may start after it.
    pub(crate) closing: bool,
    groups: Vec<Group>,
}

impl Live {
    pub(crate) fn add(&mut self, group: Group) {
        self.groups.push(group);
    }
}

// A std mutex: it is held to spawn a target and register it (so that a signal cannot fall
// between the two) or to take the list, never across an `.await`.
static LIVE: Mutex<Live> = Mutex::new(Live {
    closing: false,
    groups: Vec::new(),
});

pub(crate) fn live() -> MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The group was stopped: nothing to do for it on a signal.
pub(crate) fn forget(pgid: u32) {
    live().groups.retain(|g| g.pgid != pgid);
}

/// On SIGINT or SIGTERM: stops every target process group (SIGTERM, up to 3 s to exit, then
/// SIGKILL for what is left), says so on stderr, and exits with 130 (SIGINT) or 143 (SIGTERM).
///
/// Call it once, early in `main`; it watches on a thread of its own, so it works whatever the
/// run is doing (waiting on a hung target, say).
pub fn stop_targets_on_signals() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Listening starts here, before the thread runs: a signal from now on is not missed.
    let (mut interrupt, mut terminate) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("stripe-harness-signals".into())
        .spawn(move || {
            let (name, code) = runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => ("SIGINT", 130),
                    _ = terminate.recv() => ("SIGTERM", 143),
                }
            });
            let groups = {
                let mut live = live();
                live.closing = true;
                std::mem::take(&mut live.groups)
            };
            if groups.is_empty() {
                eprintln!("\nstripe-harness: interrupted ({name}); no target process to stop");
            } else {
                let ids: Vec<String> = groups.iter().map(|g| g.pgid.to_string()).collect();
                eprintln!(
                    "\nstripe-harness: interrupted ({name}): stopping the target (process group {})",
                    ids.join(", ")
                );
                stop_all(&groups);
                eprintln!("stripe-harness: target stopped; exiting with {code}");
            }
            std::process::exit(code);
        })?;
    Ok(())
}

/// Blocks for good if a signal arrived: the thread watching for signals is stopping the targets
/// and will exit the process with the signal's status. A run that ends meanwhile (its target
/// just stopped under it) must not report that as its own ending, nor exit first.
pub fn wait_if_interrupted() {
    if !live().closing {
        return;
    }
    loop {
        std::thread::park();
    }
}

/// SIGTERM to every group, then SIGKILL to each once its leader exited or the grace is over:
/// children that ignore SIGTERM must not outlive the harness.
fn stop_all(groups: &[Group]) {
    for group in groups {
        signal_group(group.pgid, Signal::Term);
    }
    let deadline = std::time::Instant::now() + GRACE;
    while std::time::Instant::now() < deadline && groups.iter().any(|g| g.exit.borrow().is_none()) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for group in groups {
        signal_group(group.pgid, Signal::Kill);
    }
}
