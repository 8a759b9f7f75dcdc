//! The evidence behind a verdict: a trace of every step of a scenario or property history.
//!
//! For each step it records the step as written, the simulator objects it created (by alias and
//! raw id), every webhook attempt the target received (genuine or forged, duplicate, resend or
//! retry, with the signature's timestamp, the target's status, latency and the first 2 KiB of
//! its answer), every call the harness made to the target, the lines the target printed during
//! the step, the states observed afterwards with what the judge allowed and why, and the rules
//! checked. A failure prints its step's trace; `--verbose` streams every step's; reports keep
//! them all.
//!
//! Recording costs a few more simulator reads per step, so property runs record [summaries]
//! (rules and hazards only) and replay a failing history with the full trace.
//!
//! [summaries]: TraceLevel::Summary

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use stripe_sim::{Attempt, DeliveryId, FaultKind};

use crate::call_log::CallRecord;
use crate::harness::Harness;
use crate::judge::{Allowance, RuleTally};
use crate::output::OutputLine;
use crate::state::{ObservedOrder, OrderState};
use crate::world::World;

/// How much a run records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceLevel {
    /// Rules checked and hazards only: what property runs need for every history.
    #[default]
    Summary,
    /// Everything, step by step.
    Full,
}

/// The most lines of the target's output kept for one step.
pub const OUTPUT_LINES_PER_STEP: usize = 200;

/// The most bytes of the target's output kept for one step.
pub const OUTPUT_BYTES_PER_STEP: usize = 64 * 1024;

/// One step, and everything that happened while it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepTrace {
    /// 1-based; the convergence after the last step is numbered one past it.
    pub number: usize,
    /// The step as written in the scenario file.
    pub step: String,
    /// How the step ended: `played`, `broke <rule>` or `could not be played`.
    pub outcome: String,
    pub duration_ms: u64,
    pub created: Vec<Created>,
    pub deliveries: Vec<DeliveryTrace>,
    pub calls: Vec<CallRecord>,
    pub output: Vec<OutputTrace>,
    /// Lines printed during the step that were not kept (over the per-step caps).
    pub output_dropped: u64,
    pub observations: Vec<ObservationTrace>,
    /// The rules checked during the step, passed or failed.
    pub checks: RuleTally,
}

/// An object the step created in the simulator or the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// `a` (an order), `s1` (a session), `s1.payment_intent`.
    pub alias: String,
    pub id: String,
}

/// What kind of webhook request an attempt was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    /// The first attempt of a delivery.
    Genuine,
    /// A retry after a failed attempt.
    Retry,
    /// A resend asked for by the scenario or by convergence (`stripe events resend`).
    Resend,
    /// One of two copies of the same delivery.
    Duplicate,
    /// Lost on the way by a `drop` fault: it never reached the target.
    Dropped,
    /// Held back by a `delay` fault.
    Delayed,
    /// A forged request in place of the genuine one (see `forgery`).
    Forged,
}

/// One webhook request the target received (or that a fault swallowed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryTrace {
    pub event_id: String,
    pub event_type: String,
    pub kind: AttemptKind,
    /// For a forged request: `tamper`, `stale`, `wrong_secret`, `unsigned`, `bad_header`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forgery: Option<String>,
    /// Its number among the attempts of its delivery (1 for the first).
    pub attempt: usize,
    /// Its number among every attempt of the run, in the order the answers came back.
    pub seq: u64,
    /// The `t=` of its `Stripe-Signature` (the wall clock when it was sent).
    pub signed_at: i64,
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
    /// The first bytes of the target's answer.
    pub answer: String,
}

impl DeliveryTrace {
    fn of(event_id: &str, event_type: &str, attempt: &Attempt, number: usize) -> DeliveryTrace {
        let (kind, forgery) = match attempt.fault {
            Some(FaultKind::Forge(f)) => (AttemptKind::Forged, Some(f.to_string())),
            Some(FaultKind::Duplicate) => (AttemptKind::Duplicate, None),
            Some(FaultKind::Drop) => (AttemptKind::Dropped, None),
            Some(FaultKind::Delay) => (AttemptKind::Delayed, None),
            None if attempt.manual => (AttemptKind::Resend, None),
            None if number > 1 => (AttemptKind::Retry, None),
            None => (AttemptKind::Genuine, None),
        };
        DeliveryTrace {
            event_id: event_id.to_string(),
            event_type: event_type.to_string(),
            kind,
            forgery,
            attempt: number,
            seq: attempt.seq,
            signed_at: attempt.signed_at,
            status: attempt.status_code,
            error: attempt.error.clone(),
            latency_ms: attempt.latency_ms,
            answer: attempt.response.clone(),
        }
    }

    /// `genuine, attempt 1` / `forged (stale)` / `retry, attempt 3`.
    pub fn describe_kind(&self) -> String {
        match (self.kind, &self.forgery) {
            (AttemptKind::Forged, Some(f)) => format!("forged ({f})"),
            (AttemptKind::Resend, _) => "resend".to_string(),
            (kind, _) => format!(
                "{}, attempt {}",
                serde_json::to_value(kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                self.attempt
            ),
        }
    }

    /// `checkout.session.completed evt_… (genuine, attempt 1) → 500 in 3 ms: <!doctype…`.
    pub fn line(&self, answer_chars: usize) -> String {
        let outcome = match (self.status, &self.error) {
            (Some(status), _) => format!("{status} in {} ms", self.latency_ms),
            (None, Some(error)) => format!("no answer: {error}"),
            (None, None) => "no answer".to_string(),
        };
        let mut line = format!(
            "{} {} ({}) → {outcome}",
            self.event_type,
            self.event_id,
            self.describe_kind()
        );
        let answer = one_line(&self.answer, answer_chars);
        if !answer.is_empty() {
            let _ = write!(line, ": {answer}");
        }
        line
    }
}

/// One line the target printed during the step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputTrace {
    /// When the harness read it, unix milliseconds.
    pub at_ms: u64,
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// An id with the scenario's name for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl Named {
    /// `s2 (cs_test_…)`, or the id alone.
    pub fn show(&self) -> String {
        match &self.alias {
            Some(alias) => format!("{alias} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

/// One order as observed after a step, and what the judge allowed then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObservationTrace {
    pub order: String,
    pub state: OrderState,
    /// The app's own word for the state, when it is not the state's name (`complete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word: Option<String>,
    #[serde(rename = "providerOrderId")]
    pub provider_order_id: Option<Named>,
    #[serde(rename = "providerCaptureId")]
    pub provider_capture_id: Option<Named>,
    pub allowed: Vec<Allowance>,
}

impl ObservationTrace {
    /// `a: pending (allowed: pending, paid [converges-paid]; not failed [failed-after-…])`.
    pub fn line(&self) -> String {
        let allowed: Vec<String> = self
            .allowed
            .iter()
            .filter(|a| a.allowed)
            .map(|a| match a.rule {
                Some(rule) => format!("{} [{rule}]", a.state),
                None => format!("{} [in transit]", a.state),
            })
            .collect();
        let forbidden: Vec<String> = self
            .allowed
            .iter()
            .filter(|a| !a.allowed)
            .map(|a| match a.rule {
                Some(rule) => format!("{} [{rule}]", a.state),
                None => a.state.to_string(),
            })
            .collect();
        let mut line = format!("{}: {}", self.order, self.state);
        if let Some(session) = &self.provider_order_id {
            let _ = write!(line, " providerOrderId={}", session.show());
        }
        if let Some(intent) = &self.provider_capture_id {
            let _ = write!(line, " providerCaptureId={}", intent.show());
        }
        if !allowed.is_empty() || !forbidden.is_empty() {
            let _ = write!(
                line,
                " (allowed: {}; not: {})",
                allowed.join(", "),
                forbidden.join(", ")
            );
        }
        line
    }
}

/// `text` on one line, at most `chars` characters, with a mark where it was cut.
pub fn one_line(text: &str, chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let mut cut: String = flat.chars().take(chars).collect();
    cut.push('…');
    cut
}

/// What a run records, and whether it streams it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceOptions {
    pub level: TraceLevel,
    /// Print every step's trace as it completes (`--verbose`).
    pub verbose: bool,
}

impl TraceOptions {
    /// Everything, printed only on failure.
    pub const FULL: TraceOptions = TraceOptions {
        level: TraceLevel::Full,
        verbose: false,
    };

    /// Rules and hazards only.
    pub const SUMMARY: TraceOptions = TraceOptions {
        level: TraceLevel::Summary,
        verbose: false,
    };
}

/// Records the steps of one scenario.
#[derive(Default)]
pub(crate) struct Recorder {
    level: TraceLevel,
    /// Print every step's trace as it completes.
    verbose: bool,
    steps: Vec<StepTrace>,
    open: Option<OpenStep>,
    /// Attempts already reported, per delivery record.
    seen_attempts: HashMap<DeliveryId, usize>,
    /// Aliases already reported as created.
    named: BTreeSet<String>,
}

struct OpenStep {
    number: usize,
    step: String,
    started: Instant,
    output_mark: u64,
    calls_mark: u64,
    tally_before: RuleTally,
    observations: Vec<ObservationTrace>,
    forged: Vec<DeliveryTrace>,
}

impl Recorder {
    pub(crate) fn new(options: TraceOptions) -> Recorder {
        Recorder {
            level: options.level,
            verbose: options.verbose,
            ..Recorder::default()
        }
    }

    pub(crate) fn full(&self) -> bool {
        self.level == TraceLevel::Full
    }

    /// A step starts: marks the target's output and calls.
    pub(crate) fn begin(&mut self, h: &Harness, world: &World, number: usize, step: String) {
        if !self.full() {
            return;
        }
        self.open = Some(OpenStep {
            number,
            step,
            started: Instant::now(),
            output_mark: h.target.output_mark(),
            calls_mark: h.target.calls().mark(),
            tally_before: world.tally.clone(),
            observations: Vec::new(),
            forged: Vec::new(),
        });
    }

    /// An order as observed after the step, with what the judge allowed.
    pub(crate) fn observe(
        &mut self,
        order: &str,
        observed: &ObservedOrder,
        word: Option<&str>,
        session_alias: Option<&str>,
        allowed: Vec<Allowance>,
    ) {
        let Some(open) = &mut self.open else {
            return;
        };
        open.observations.retain(|o| o.order != order);
        open.observations.push(ObservationTrace {
            order: order.to_string(),
            state: observed.state,
            word: word
                .filter(|w| *w != observed.state.as_str())
                .map(str::to_string),
            provider_order_id: observed.provider_order_id.as_ref().map(|id| Named {
                id: id.clone(),
                alias: session_alias.map(str::to_string),
            }),
            // Named once the step's new PaymentIntents are known, in `end`.
            provider_capture_id: observed.provider_capture_id.as_ref().map(|id| Named {
                id: id.clone(),
                alias: None,
            }),
            allowed,
        });
    }

    /// A forged request the step sent straight to the target (outside the delivery log).
    pub(crate) fn forged(&mut self, event_id: &str, event_type: &str, attempt: &Attempt) {
        if let Some(open) = &mut self.open {
            open.forged
                .push(DeliveryTrace::of(event_id, event_type, attempt, 1));
        }
    }

    /// A delivery of a parallel release, sent straight to the target (outside the log).
    pub(crate) fn released(&mut self, event_id: &str, event_type: &str, attempt: &Attempt) {
        if let Some(open) = &mut self.open {
            let mut trace = DeliveryTrace::of(event_id, event_type, attempt, 1);
            trace.kind = AttemptKind::Genuine;
            open.forged.push(trace);
        }
    }

    /// Marks every attempt made so far as reported: attempts the log made to somewhere else than
    /// the target (after a parallel release) are not part of the trace.
    pub(crate) fn skip_attempts(
        &mut self,
        h: &Harness,
        mark: usize,
        endpoint: &stripe_sim::EndpointId,
    ) {
        if !self.full() {
            return;
        }
        for record in h.sim.deliveries_since(mark) {
            if record.endpoint_id != *endpoint {
                continue;
            }
            self.seen_attempts
                .insert(record.id.clone(), record.attempts.len());
        }
    }

    /// The step ended: collects what happened during it.
    pub(crate) fn end(&mut self, h: &Harness, world: &World, outcome: String) {
        let Some(open) = self.open.take() else {
            return;
        };
        let created = self.created(h, world);
        let mut observations = open.observations;
        for observation in &mut observations {
            if let Some(intent) = &mut observation.provider_capture_id {
                intent.alias = self
                    .steps
                    .iter()
                    .flat_map(|s| s.created.iter())
                    .chain(created.iter())
                    .find(|c| c.id == intent.id && c.alias.ends_with(".payment_intent"))
                    .map(|c| c.alias.clone());
            }
        }
        let mut deliveries = self.new_attempts(h, world);
        deliveries.extend(open.forged);
        let (output, output_dropped) = step_output(h.target.output_since(open.output_mark));
        let mut checks = world.tally.clone();
        subtract(&mut checks, &open.tally_before);
        let trace = StepTrace {
            number: open.number,
            step: open.step,
            outcome,
            duration_ms: u64::try_from(open.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            created,
            deliveries,
            calls: h.target.calls().since(open.calls_mark),
            output,
            output_dropped,
            observations,
            checks,
        };
        if self.verbose {
            print!("{}", render_step(&trace, Detail::Full));
        }
        self.steps.push(trace);
    }

    /// Orders, sessions and PaymentIntents that have an alias and were not reported yet.
    fn created(&mut self, h: &Harness, world: &World) -> Vec<Created> {
        let mut created = Vec::new();
        for order in &world.orders {
            if self.named.insert(order.alias.clone()) {
                created.push(Created {
                    alias: order.alias.clone(),
                    id: order.id.clone(),
                });
            }
        }
        for (alias, id) in &world.sessions {
            if self.named.insert(alias.clone()) {
                created.push(Created {
                    alias: alias.clone(),
                    id: id.to_string(),
                });
            }
            let intent_alias = format!("{alias}.payment_intent");
            if self.named.contains(&intent_alias) {
                continue;
            }
            if let Some(intent) = h.sim.session(id).and_then(|s| s.payment_intent) {
                self.named.insert(intent_alias.clone());
                created.push(Created {
                    alias: intent_alias,
                    id: intent.to_string(),
                });
            }
        }
        created
    }

    /// Webhook attempts made since the last look, from the simulator's delivery log.
    fn new_attempts(&mut self, h: &Harness, world: &World) -> Vec<DeliveryTrace> {
        let mut out = Vec::new();
        for record in h.sim.deliveries_since(world.deliveries_mark) {
            if record.endpoint_id != world.endpoint_id {
                continue;
            }
            let seen = self.seen_attempts.entry(record.id.clone()).or_insert(0);
            for (index, attempt) in record.attempts.iter().enumerate().skip(*seen) {
                out.push(DeliveryTrace::of(
                    &record.event_id,
                    record.event_type.as_str(),
                    attempt,
                    index + 1,
                ));
            }
            *seen = record.attempts.len();
        }
        out.sort_by_key(|d| d.seq);
        out
    }

    /// Every step recorded.
    pub(crate) fn finish(self) -> Vec<StepTrace> {
        self.steps
    }
}

/// The lines printed during a step, within the per-step caps, and how many were left out.
fn step_output(lines: Vec<OutputLine>) -> (Vec<OutputTrace>, u64) {
    let mut kept = Vec::new();
    let mut bytes = 0;
    let mut dropped = 0u64;
    for line in lines {
        if kept.len() >= OUTPUT_LINES_PER_STEP || bytes + line.text.len() > OUTPUT_BYTES_PER_STEP {
            dropped += 1;
            continue;
        }
        bytes += line.text.len();
        kept.push(OutputTrace {
            at_ms: line
                .at
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            stream: line.stream.as_str().to_string(),
            text: line.text,
        });
    }
    (kept, dropped)
}

fn subtract(tally: &mut RuleTally, before: &RuleTally) {
    for (rule, counts) in &before.counts {
        if let Some(mine) = tally.counts.get_mut(rule) {
            mine.passed -= counts.passed.min(mine.passed);
            mine.failed -= counts.failed.min(mine.failed);
        }
    }
    tally.counts.retain(|_, c| c.passed + c.failed > 0);
}

/// How much of a step to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: `--verbose`.
    Full,
    /// The evidence of a failure: deliveries with their answers, the target's lines, and what
    /// was observed.
    Evidence,
}

/// A step's trace as indented text lines.
pub fn render_step(trace: &StepTrace, detail: Detail) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "      step {}: {}", trace.number, trace.step);
    if detail == Detail::Full {
        for c in &trace.created {
            let _ = writeln!(out, "        created   {} = {}", c.alias, c.id);
        }
    }
    for d in &trace.deliveries {
        let _ = writeln!(out, "        webhook   {}", d.line(240));
    }
    for c in &trace.calls {
        if detail == Detail::Evidence && c.status.is_some_and(|s| s < 400) {
            continue;
        }
        let outcome = match (c.status, &c.error) {
            (Some(s), _) => format!("{s} in {} ms", c.latency_ms),
            (None, Some(e)) => format!("no answer: {e}"),
            (None, None) => "no answer".to_string(),
        };
        let _ = writeln!(
            out,
            "        call      {} {} {} → {outcome}: {}",
            c.call,
            c.method,
            c.path,
            one_line(&c.answer, 160)
        );
    }
    for line in &trace.output {
        let _ = writeln!(
            out,
            "        {:<9} {} {}",
            line.stream,
            clock_time(line.at_ms),
            line.text
        );
    }
    if trace.output_dropped > 0 {
        let _ = writeln!(
            out,
            "        output    ({} more lines not kept)",
            trace.output_dropped
        );
    }
    for o in &trace.observations {
        let _ = writeln!(out, "        observed  {}", o.line());
    }
    out
}

/// `12:00:01.123` (UTC) from unix milliseconds.
pub fn clock_time(unix_ms: u64) -> String {
    let day_ms = unix_ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_line_names_the_attempt_and_the_answer() {
        let attempt = Attempt {
            seq: 1,
            at: 0,
            signed_at: 1,
            status_code: Some(500),
            latency_ms: 3,
            error: None,
            response: "<!doctype html>\nTraceback…\nAttributeError: 'Session' object has no attribute 'get'".into(),
            fault: None,
            manual: false,
            signature: None,
        };
        let trace = DeliveryTrace::of("evt_1", "checkout.session.completed", &attempt, 1);
        assert_eq!(
            trace.line(200),
            "checkout.session.completed evt_1 (genuine, attempt 1) → 500 in 3 ms: <!doctype html> Traceback… AttributeError: 'Session' object has no attribute 'get'"
        );
        let retry = DeliveryTrace::of("evt_1", "charge.refunded", &attempt, 3);
        assert!(retry.line(10).contains("(retry, attempt 3)"));
    }

    #[test]
    fn clock_times_are_utc_with_milliseconds() {
        assert_eq!(clock_time(1_767_225_601_123), "00:00:01.123");
    }
}
