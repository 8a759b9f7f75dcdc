//! Every call the harness makes to the target (create an order, read it, the return route), with
//! what it answered, kept while a trace is recorded.
//!
//! Like the output buffer, the log numbers its entries, so the runner takes a mark before a step
//! and reads the calls made since. It keeps only the first 2 KiB of each answer, and at most
//! [`MAX_CALLS`] calls.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The most calls kept (a long scenario makes a few hundred).
pub const MAX_CALLS: usize = 2_000;

/// One call to the target and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Its number among every call recorded.
    pub seq: u64,
    /// `create order`, `read order`, `return route`.
    pub call: String,
    pub method: String,
    pub path: String,
    /// `None` when no answer came (refused, timed out, cut).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The first 2 KiB of the answer, as text.
    pub answer: String,
    /// Why there was no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The calls recorded, shared by the target's methods.
#[derive(Debug, Default)]
pub struct CallLog {
    recording: AtomicBool,
    // A std mutex: held only to push or copy records, never across an `.await`.
    calls: Mutex<Calls>,
}

#[derive(Debug, Default)]
struct Calls {
    kept: VecDeque<CallRecord>,
    next: u64,
}

/// A call about to be recorded.
pub struct Call<'a> {
    pub call: &'a str,
    pub method: &'a str,
    pub path: &'a str,
}

impl CallLog {
    /// Starts or stops recording (off by default: property runs keep only summaries).
    pub fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::SeqCst);
    }

    pub fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a call, when recording.
    pub fn push(
        &self,
        call: Call<'_>,
        status: Option<u16>,
        latency: Duration,
        answer: &str,
        error: Option<String>,
    ) {
        if !self.recording() {
            return;
        }
        let mut calls = self.lock();
        let seq = calls.next;
        calls.next += 1;
        if calls.kept.len() == MAX_CALLS {
            calls.kept.pop_front();
        }
        calls.kept.push_back(CallRecord {
            seq,
            call: call.call.to_string(),
            method: call.method.to_string(),
            path: call.path.to_string(),
            status,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            answer: answer.to_string(),
            error,
        });
    }

    /// The number the next call will get: a mark for [`CallLog::since`].
    pub fn mark(&self) -> u64 {
        self.lock().next
    }

    /// The calls recorded since `mark`.
    pub fn since(&self, mark: u64) -> Vec<CallRecord> {
        self.lock()
            .kept
            .iter()
            .filter(|c| c.seq >= mark)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(log: &CallLog, path: &str) {
        log.push(
            Call {
                call: "read order",
                method: "GET",
                path,
            },
            Some(200),
            Duration::from_millis(3),
            "{}",
            None,
        );
    }

    #[test]
    fn calls_are_kept_only_while_recording_and_read_back_from_a_mark() {
        let log = CallLog::default();
        read(&log, "/a");
        assert_eq!(log.mark(), 0, "not recording: nothing kept");
        log.set_recording(true);
        read(&log, "/b");
        let mark = log.mark();
        read(&log, "/c");
        let since: Vec<String> = log.since(mark).into_iter().map(|c| c.path).collect();
        assert_eq!(since, ["/c"]);
    }
}
