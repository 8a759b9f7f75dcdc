//! The target's log lines (stderr). An embedding harness turns them off so its own report stays
//! readable; the binary always logs.

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns logging on or off for the whole process.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Writes one line to stderr, prefixed with the target's name, unless logging is off.
pub fn line(message: std::fmt::Arguments<'_>) {
    if ENABLED.load(Ordering::Relaxed) {
        eprintln!("reference-target: {message}");
    }
}
