//! The delivery log: one record per (event, endpoint), every attempt in it, and the bookkeeping
//! that decides what is sent next. Pure and synchronous, like the rest of the store; the
//! [`super::dispatcher`] does the sending.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::IdGenerator;
use crate::resources::event::EventType;
use crate::store::Store;
use crate::table::{Identified, Table};
use crate::typed_ids::{DeliveryId, EndpointId, EventId};
use crate::vocabulary::Vocabulary;
use crate::webhooks::faults::{take_matching, DuplicateMode, Fault, FaultKind};
use crate::webhooks::schedule::RetryPolicy;

/// `auto`: deliver as soon as an event exists. `hold`: queue deliveries until released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeliveryMode {
    #[default]
    Auto,
    Hold,
}

impl Vocabulary for DeliveryMode {
    const WHAT: &'static str = "delivery mode";
    const ALL: &'static [Self] = &[DeliveryMode::Auto, DeliveryMode::Hold];

    fn as_str(&self) -> &'static str {
        match self {
            DeliveryMode::Auto => "auto",
            DeliveryMode::Hold => "hold",
        }
    }
}

/// Where a delivery record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordStatus {
    /// Waiting for a release (hold mode).
    Held,
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// An attempt is on its way.
    InFlight,
    /// A genuine attempt got a 2xx.
    Succeeded,
    /// Every retry failed.
    Failed,
    /// The endpoint was deleted or disabled before the next retry.
    Canceled,
}

impl Vocabulary for RecordStatus {
    const WHAT: &'static str = "delivery outcome";
    const ALL: &'static [Self] = &[
        RecordStatus::Held,
        RecordStatus::Pending,
        RecordStatus::InFlight,
        RecordStatus::Succeeded,
        RecordStatus::Failed,
        RecordStatus::Canceled,
    ];

    fn as_str(&self) -> &'static str {
        match self {
            RecordStatus::Held => "held",
            RecordStatus::Pending => "pending",
            RecordStatus::InFlight => "in_flight",
            RecordStatus::Succeeded => "succeeded",
            RecordStatus::Failed => "failed",
            RecordStatus::Canceled => "canceled",
        }
    }
}

impl RecordStatus {
    /// Whether the record can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RecordStatus::Succeeded | RecordStatus::Failed | RecordStatus::Canceled
        )
    }
}

crate::vocabulary::serde_as_word!(DeliveryMode);
crate::vocabulary::serde_as_word!(RecordStatus);

/// One HTTP request to an endpoint (or one that a fault swallowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Its number among every attempt this simulator recorded, in the order their answers came
    /// back: attempts sent one after the other are numbered in the order the endpoint saw them.
    /// 0 for a request outside the log (`/_sim/webhooks/deliver`).
    pub seq: u64,
    /// Simulator time of the attempt.
    pub at: i64,
    /// The `t=` of the signature: the wall clock when it was sent.
    pub signed_at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The first bytes of the response body.
    pub response: String,
    pub fault: Option<FaultKind>,
    /// A resend or a forged delivery asked for through the control API.
    pub manual: bool,
    /// The `Stripe-Signature` header sent, for the dashboard to show. Kept in memory only (not
    /// in JSON answers, reports or the state file): a restart forgets it.
    #[serde(skip)]
    pub signature: Option<String>,
}

impl Attempt {
    /// A genuine attempt answered 2xx: the event is delivered.
    pub fn delivered(&self) -> bool {
        !self.injected() && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    /// A forged or dropped attempt: a test device, which says nothing about the endpoint.
    pub fn injected(&self) -> bool {
        self.fault
            .is_some_and(|f| f.is_forgery() || f == FaultKind::Drop)
    }
}

/// One event to one endpoint, with every attempt made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub endpoint_id: EndpointId,
    /// Simulator time the record was made (the event's time): retention and time filters use it.
    #[serde(default)]
    pub created: i64,
    pub status: RecordStatus,
    pub next_attempt_at: Option<i64>,
    pub attempts: Vec<Attempt>,
    /// Retries scheduled so far (the first attempt is not a retry).
    pub retries: usize,
}

impl Identified for DeliveryRecord {
    fn id(&self) -> &str {
        self.id.as_str()
    }
}

/// Everything the dispatcher needs to send one delivery; built under the lock, sent without it.
#[derive(Debug, Clone)]
pub struct AttemptJob {
    /// `None` for manual deliveries that belong to no record.
    pub record_id: Option<String>,
    pub url: String,
    /// Secrets that sign, the current one last.
    pub secrets: Vec<String>,
    pub body: Vec<u8>,
    pub fault: Option<Fault>,
    pub manual: bool,
}

#[derive(Debug, Default)]
pub struct DeliveryLog {
    pub mode: DeliveryMode,
    pub policy: RetryPolicy,
    pub faults: Vec<Fault>,
    /// Every record, oldest first, at a logical position that never moves (retention evicts
    /// from the front). The table persistence writes is this one.
    pub(crate) records: Table<DeliveryRecord>,
    /// Event id → positions of its records (one per endpoint), so a finished attempt updates the
    /// event's `pending_webhooks` without scanning the whole log.
    by_event: HashMap<EventId, Vec<usize>>,
    /// Every record before this position is finished for good (succeeded, failed or canceled),
    /// so the scans for due work start here: a long-running simulator does not rescan its
    /// history.
    settled_prefix: usize,
    /// Records dropped by retention since the log began (or the last reset).
    pub dropped: u64,
    /// Set when work became due, so the server wakes the dispatcher.
    pub wake: bool,
    /// The number of the last attempt recorded.
    attempts_recorded: u64,
}

impl DeliveryLog {
    pub fn new(policy: RetryPolicy) -> Self {
        DeliveryLog {
            policy,
            ..DeliveryLog::default()
        }
    }

    /// Every record still held, oldest first.
    pub fn records(&self) -> impl DoubleEndedIterator<Item = &DeliveryRecord> {
        self.records.iter()
    }

    /// How many records are held now.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// A mark for [`DeliveryLog::records_since`]: the position the next record gets.
    pub fn mark(&self) -> usize {
        self.records.end()
    }

    pub fn get(&self, id: &str) -> Option<&DeliveryRecord> {
        self.records.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut DeliveryRecord> {
        self.records.get_mut(id)
    }

    fn push(&mut self, record: DeliveryRecord) {
        let position = self.records.end();
        self.by_event
            .entry(record.event_id.clone())
            .or_default()
            .push(position);
        self.records.insert(record);
    }

    /// After the records were read back from a state file: the indexes are rebuilt from them.
    pub(crate) fn rebuild_indexes(&mut self, dropped: u64) {
        self.by_event.clear();
        for (position, record) in self.records.iter_from(0) {
            self.by_event
                .entry(record.event_id.clone())
                .or_default()
                .push(position);
        }
        self.settled_prefix = self.records.start();
        self.dropped = dropped;
        self.advance_settled_prefix();
    }

    /// The records of one event, one per endpoint it was sent to.
    pub fn of_event<'a>(&'a self, event_id: &str) -> impl Iterator<Item = &'a DeliveryRecord> + 'a {
        self.by_event
            .get(event_id)
            .into_iter()
            .flatten()
            .filter_map(|&p| self.records.at(p))
    }

    /// Moves [`DeliveryLog::settled_prefix`] past records that can no longer change.
    fn advance_settled_prefix(&mut self) {
        self.settled_prefix = self.settled_prefix.max(self.records.start());
        while self.settled_prefix < self.records.end() {
            match self.records.at(self.settled_prefix) {
                Some(r) if !r.status.is_final() => break,
                _ => self.settled_prefix += 1,
            }
        }
    }

    /// Records that may still change, with their positions.
    pub(crate) fn unsettled(&self) -> impl Iterator<Item = (usize, &DeliveryRecord)> {
        self.records.iter_from(self.settled_prefix)
    }

    /// Records created at or after `mark` (an earlier [`DeliveryLog::mark`]) and still held.
    pub fn records_since(&self, mark: usize) -> impl Iterator<Item = &DeliveryRecord> {
        self.records.iter_from(mark).map(|(_, r)| r)
    }

    /// Whether nothing is being sent and nothing is due at `now` (held deliveries do not count).
    pub fn idle(&self, now: i64) -> bool {
        self.idle_through(self.records.end(), now)
    }

    /// [`DeliveryLog::idle`] for the records before `mark` only (those that existed when the
    /// caller started waiting): later events do not hold it up.
    pub fn idle_through(&self, mark: usize, now: i64) -> bool {
        !self
            .unsettled()
            .take_while(|(i, _)| *i < mark)
            .any(|(_, r)| {
                r.status == RecordStatus::InFlight
                    || (r.status == RecordStatus::Pending
                        && r.next_attempt_at.is_some_and(|t| t <= now))
            })
    }

    /// Gives each attempt the next number, in the order given.
    fn numbered(&mut self, attempts: Vec<Attempt>) -> Vec<Attempt> {
        attempts
            .into_iter()
            .map(|mut a| {
                self.attempts_recorded += 1;
                a.seq = self.attempts_recorded;
                a
            })
            .collect()
    }

    /// The earliest scheduled attempt, if any.
    pub fn next_due(&self) -> Option<i64> {
        self.unsettled()
            .map(|(_, r)| r)
            .filter(|r| r.status == RecordStatus::Pending)
            .filter_map(|r| r.next_attempt_at)
            .min()
    }

    /// Drops the oldest record if it is finished and `expired` says it should go; returns
    /// whether it did.
    pub(crate) fn evict_oldest_if(&mut self, expired: impl Fn(&DeliveryRecord) -> bool) -> bool {
        match self.records.oldest() {
            Some(r) if r.status.is_final() && expired(r) => {}
            _ => return false,
        }
        let Some(record) = self.records.evict_oldest() else {
            return false;
        };
        if let Some(positions) = self.by_event.get_mut(&record.event_id) {
            positions.retain(|&p| p >= self.records.start());
            if positions.is_empty() {
                self.by_event.remove(&record.event_id);
            }
        }
        self.dropped += 1;
        true
    }

    /// Records that crashed in flight (a state file read back after `kill -9`) are due again
    /// now: the endpoint may get that delivery twice, which Stripe allows too.
    pub(crate) fn requeue_in_flight(&mut self, now: i64) {
        let in_flight: Vec<usize> = self
            .unsettled()
            .filter(|(_, r)| r.status == RecordStatus::InFlight)
            .map(|(p, _)| p)
            .collect();
        for position in in_flight {
            if let Some(r) = self.records.at_mut(position) {
                r.status = RecordStatus::Pending;
                r.next_attempt_at = Some(now);
                self.wake = true;
            }
        }
    }

    /// Cancels every record of `endpoint` still waiting (the endpoint was disabled or deleted).
    pub(crate) fn cancel_waiting(&mut self, endpoint: &str) -> Vec<EventId> {
        let waiting: Vec<usize> = self
            .unsettled()
            .filter(|(_, r)| {
                r.endpoint_id == endpoint
                    && matches!(r.status, RecordStatus::Pending | RecordStatus::Held)
            })
            .map(|(p, _)| p)
            .collect();
        let mut events = Vec::new();
        for position in waiting {
            if let Some(r) = self.records.at_mut(position) {
                r.status = RecordStatus::Canceled;
                r.next_attempt_at = None;
                events.push(r.event_id.clone());
            }
        }
        events
    }
}

/// The order held deliveries are released in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReleaseOrder {
    /// The order the events happened in.
    #[default]
    AsIs,
    /// Newest first.
    Reverse,
    /// A permutation drawn from this seed.
    Shuffle(u64),
    /// Only these events, in this order.
    Events(Vec<EventId>),
}

/// A release order as one word, the way scenario files and the control API spell it (`shuffle`
/// takes its seed beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReleaseOrderWord {
    #[default]
    AsIs,
    Reverse,
    Shuffle,
}

impl Vocabulary for ReleaseOrderWord {
    const WHAT: &'static str = "release order";
    const ALL: &'static [Self] = &[
        ReleaseOrderWord::AsIs,
        ReleaseOrderWord::Reverse,
        ReleaseOrderWord::Shuffle,
    ];

    fn as_str(&self) -> &'static str {
        match self {
            ReleaseOrderWord::AsIs => "as_is",
            ReleaseOrderWord::Reverse => "reverse",
            ReleaseOrderWord::Shuffle => "shuffle",
        }
    }
}

crate::vocabulary::serde_as_word!(ReleaseOrderWord);

impl ReleaseOrder {
    /// The order a word names; `shuffle` draws from `seed` (0 when not given).
    pub fn from_word(word: ReleaseOrderWord, seed: Option<u64>) -> ReleaseOrder {
        match word {
            ReleaseOrderWord::AsIs => ReleaseOrder::AsIs,
            ReleaseOrderWord::Reverse => ReleaseOrder::Reverse,
            ReleaseOrderWord::Shuffle => ReleaseOrder::Shuffle(seed.unwrap_or(0)),
        }
    }
}

impl Store {
    /// A record for resending an event to an endpoint it was never sent to (made while the
    /// endpoint was disabled, or before it existed), so that the attempt shows in the log, as on
    /// the event's page in Stripe's dashboard. It is `failed` (a resend is never retried) until
    /// an attempt gets through. Returns its id.
    fn record_for_resend(
        &mut self,
        event_id: &str,
        event_type: EventType,
        created: i64,
        endpoint_id: &str,
    ) -> String {
        let id = DeliveryId::trusted(format!("wd_{}", self.ids.alphanumeric(24)));
        self.deliveries.push(DeliveryRecord {
            id: id.clone(),
            event_id: EventId::trusted(event_id),
            event_type,
            endpoint_id: EndpointId::trusted(endpoint_id),
            created,
            status: RecordStatus::Failed,
            next_attempt_at: None,
            attempts: Vec::new(),
            retries: 0,
        });
        id.to_string()
    }

    /// Called for every new event: one record per enabled endpoint that wants it.
    pub fn enqueue_deliveries(&mut self, event_id: &str, event_type: EventType, now: i64) -> u32 {
        let endpoints: Vec<String> = self
            .webhook_endpoints
            .iter()
            .filter(|e| e.wants(event_type))
            .map(|e| e.id.clone())
            .collect();
        let held = self.deliveries.mode == DeliveryMode::Hold;
        for endpoint_id in &endpoints {
            let id = DeliveryId::trusted(format!("wd_{}", self.ids.alphanumeric(24)));
            self.deliveries.push(DeliveryRecord {
                id,
                event_id: EventId::trusted(event_id),
                event_type,
                endpoint_id: EndpointId::trusted(endpoint_id.as_str()),
                created: now,
                status: if held {
                    RecordStatus::Held
                } else {
                    RecordStatus::Pending
                },
                next_attempt_at: (!held).then_some(now),
                attempts: Vec::new(),
                retries: 0,
            });
        }
        if !held && !endpoints.is_empty() {
            self.deliveries.wake = true;
        }
        endpoints.len() as u32
    }

    /// The event body for one endpoint: rendered at the endpoint's API version (the event's own,
    /// the account's default when it happened, when the endpoint pins none), with the current
    /// `pending_webhooks`.
    pub fn event_body(&self, event_id: &str, endpoint_id: &str) -> Option<Vec<u8>> {
        let event = self.events.get(event_id)?;
        let version = self
            .webhook_endpoints
            .get(endpoint_id)
            .and_then(|e| e.api_version);
        Some(self.event_json(event, version))
    }

    /// Marks a record canceled (its endpoint is gone or disabled) and recounts its event.
    fn cancel_record(&mut self, record_id: &str, event_id: &EventId) {
        if let Some(r) = self.deliveries.get_mut(record_id) {
            r.status = RecordStatus::Canceled;
            r.next_attempt_at = None;
        }
        self.refresh_pending_webhooks(event_id);
    }

    /// Builds the job for a record's next attempt and marks it in flight; `None` if the record
    /// can no longer be delivered (its endpoint is gone or disabled: the record is canceled).
    fn start_attempt(
        &mut self,
        record_id: &str,
        now: i64,
        fault_override: Option<Fault>,
    ) -> Option<AttemptJob> {
        let record = self.deliveries.get(record_id)?;
        let (event_id, event_type) = (record.event_id.clone(), record.event_type);
        let endpoint = self
            .webhook_endpoints
            .get(&record.endpoint_id)
            .filter(|e| !e.disabled)
            .cloned();
        let Some(endpoint) = endpoint else {
            self.cancel_record(record_id, &event_id);
            return None;
        };
        let Some(body) = self.event_body(&event_id, &endpoint.id) else {
            // Only an event whose deliveries are all finished is ever evicted; this is a guard.
            self.cancel_record(record_id, &event_id);
            return None;
        };
        let fault = fault_override
            .or_else(|| take_matching(&mut self.deliveries.faults, event_type, &endpoint.id));
        if let Some(rule) = &fault {
            if rule.fault == FaultKind::Delay {
                if let Some(seconds) = rule.delay_seconds.filter(|s| *s > 0) {
                    // Delayed in simulator time: simply due later.
                    if let Some(r) = self.deliveries.get_mut(record_id) {
                        r.status = RecordStatus::Pending;
                        r.next_attempt_at = Some(now + seconds);
                    }
                    return None;
                }
            }
        }
        let r = self.deliveries.get_mut(record_id)?;
        r.status = RecordStatus::InFlight;
        r.next_attempt_at = None;
        Some(AttemptJob {
            record_id: Some(record_id.to_string()),
            url: endpoint.url.clone(),
            secrets: endpoint.signing_secrets(now),
            body,
            fault,
            manual: false,
        })
    }

    /// Every attempt due at `now`, each record marked in flight, in the order they fell due
    /// (retries that fell due while a restarted simulator was down go out oldest first).
    pub fn take_due_attempts(&mut self, now: i64) -> Vec<AttemptJob> {
        self.deliveries.advance_settled_prefix();
        let mut due: Vec<(i64, usize, String)> = self
            .deliveries
            .unsettled()
            .filter(|(_, r)| r.status == RecordStatus::Pending)
            .filter_map(|(p, r)| {
                Some((
                    r.next_attempt_at.filter(|t| *t <= now)?,
                    p,
                    r.id.to_string(),
                ))
            })
            .collect();
        due.sort_unstable();
        due.iter()
            .filter_map(|(_, _, id)| self.start_attempt(id, now, None))
            .collect()
    }

    /// Records the attempts of a job and decides what comes next: delivered, retried later, or
    /// given up after the last retry. An endpoint that has failed every delivery for
    /// [`crate::SimConfig::disable_endpoint_after`] is disabled, as Stripe does.
    pub fn finish_attempts(&mut self, record_id: &str, attempts: Vec<Attempt>, now: i64) {
        let policy = self.deliveries.policy.clone();
        let mut wake = false;
        let attempts = self.deliveries.numbered(attempts);
        let Some(record) = self.deliveries.get_mut(record_id) else {
            return;
        };
        let delivered = attempts.iter().any(Attempt::delivered);
        let failure = attempts.iter().find(|a| !a.injected()).cloned();
        record.attempts.extend(attempts);
        if record.status != RecordStatus::InFlight {
            return;
        }
        if delivered {
            record.status = RecordStatus::Succeeded;
        } else {
            record.retries += 1;
            match policy.delay_before_retry(record.retries) {
                Some(delay) => {
                    record.status = RecordStatus::Pending;
                    record.next_attempt_at = Some(now + delay);
                    wake = delay == 0;
                }
                None => record.status = RecordStatus::Failed,
            }
        }
        let event_id = record.event_id.clone();
        let endpoint_id = record.endpoint_id.clone();
        self.deliveries.wake |= wake;
        self.refresh_pending_webhooks(&event_id);
        if delivered {
            self.endpoint_reached(&endpoint_id);
        } else if let Some(failure) = failure {
            self.endpoint_failed(&endpoint_id, &failure, now);
        }
    }

    /// A genuine 2xx: the endpoint is healthy again.
    fn endpoint_reached(&mut self, endpoint_id: &str) {
        if let Some(endpoint) = self.webhook_endpoints.get(endpoint_id) {
            if endpoint.failing_since.is_none() {
                return;
            }
        }
        if let Some(endpoint) = self.webhook_endpoints.get_mut(endpoint_id) {
            endpoint.failing_since = None;
        }
    }

    /// A genuine failed attempt: start or continue the endpoint's run of failures, and disable
    /// it once that run has lasted the configured time.
    fn endpoint_failed(&mut self, endpoint_id: &str, failure: &Attempt, now: i64) {
        let Some(after) = self.config.disable_endpoint_after else {
            return;
        };
        let Some(endpoint) = self.webhook_endpoints.get_mut(endpoint_id) else {
            return;
        };
        if endpoint.disabled {
            return;
        }
        let since = *endpoint.failing_since.get_or_insert(now);
        if now - since < after {
            return;
        }
        let last = match (failure.status_code, &failure.error) {
            (Some(code), _) => format!("HTTP {code}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".to_string(),
        };
        endpoint.disabled = true;
        endpoint.disabled_reason = Some(format!(
            "Every delivery to this endpoint failed for {} (simulator time) since {since}; the last one at {now}: {last}. Re-enable it with POST /v1/webhook_endpoints/{endpoint_id} and disabled=false.",
            crate::retention::describe_seconds(now - since),
        ));
        for event_id in self.deliveries.cancel_waiting(endpoint_id) {
            self.refresh_pending_webhooks(&event_id);
        }
    }

    /// Records attempts that belong to no automatic schedule (a resend). One that got through
    /// delivers the record, as in Stripe's dashboard: the record is `succeeded`, its retries are
    /// off, and the event's `pending_webhooks` counts down.
    pub fn log_manual_attempts(&mut self, record_id: &str, attempts: Vec<Attempt>) {
        let attempts = self.deliveries.numbered(attempts);
        let Some(record) = self.deliveries.get_mut(record_id) else {
            return;
        };
        let delivered = attempts.iter().any(Attempt::delivered);
        record.attempts.extend(attempts);
        if !delivered || record.status == RecordStatus::Succeeded {
            return;
        }
        record.status = RecordStatus::Succeeded;
        record.next_attempt_at = None;
        let (event_id, endpoint_id) = (record.event_id.clone(), record.endpoint_id.clone());
        self.refresh_pending_webhooks(&event_id);
        self.endpoint_reached(&endpoint_id);
    }

    /// `pending_webhooks` = endpoints the event has not reached yet.
    fn refresh_pending_webhooks(&mut self, event_id: &str) {
        let pending = self
            .deliveries
            .of_event(event_id)
            .filter(|r| r.status != RecordStatus::Succeeded && r.status != RecordStatus::Canceled)
            .count() as u32;
        if self.events.get(event_id).map(|e| e.pending_webhooks) == Some(pending) {
            return;
        }
        if let Some(event) = self.events.get_mut(event_id) {
            event.pending_webhooks = pending;
        }
    }

    /// Marks held deliveries in flight in the requested order and returns their jobs, to be sent
    /// one after the other. `duplicate` sends each twice.
    pub fn release_held(
        &mut self,
        order: &ReleaseOrder,
        duplicate: Option<DuplicateMode>,
        now: i64,
    ) -> ApiResult<Vec<AttemptJob>> {
        let held: Vec<(String, EventId)> = self
            .deliveries
            .unsettled()
            .map(|(_, r)| r)
            .filter(|r| r.status == RecordStatus::Held)
            .map(|r| (r.id.to_string(), r.event_id.clone()))
            .collect();
        let ids: Vec<String> = match order {
            ReleaseOrder::AsIs => held.into_iter().map(|(id, _)| id).collect(),
            ReleaseOrder::Reverse => held.into_iter().rev().map(|(id, _)| id).collect(),
            ReleaseOrder::Shuffle(seed) => {
                let mut ids: Vec<String> = held.into_iter().map(|(id, _)| id).collect();
                let mut rng = IdGenerator::new(*seed);
                for i in (1..ids.len()).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    ids.swap(i, j);
                }
                ids
            }
            ReleaseOrder::Events(events) => {
                let mut ids = Vec::new();
                for event_id in events {
                    let matching: Vec<String> = held
                        .iter()
                        .filter(|(_, e)| e == event_id)
                        .map(|(id, _)| id.clone())
                        .collect();
                    if matching.is_empty() {
                        return Err(ApiError::invalid(
                            format!("No held delivery of event {event_id}."),
                            Some("order"),
                        ));
                    }
                    ids.extend(matching);
                }
                ids
            }
        };
        let fault = duplicate.map(|mode| Fault {
            duplicate_mode: Some(mode),
            ..Fault::new(FaultKind::Duplicate)
        });
        Ok(ids
            .iter()
            .filter_map(|id| {
                // Give every held record a pending state so start_attempt treats it uniformly.
                if let Some(r) = self.deliveries.get_mut(id) {
                    r.status = RecordStatus::Pending;
                }
                self.start_attempt(id, now, fault.clone())
            })
            .collect())
    }

    /// A manual resend of an event to one endpoint (or every endpoint with a record of it).
    pub fn resend_jobs(
        &mut self,
        event_id: &str,
        endpoint: Option<&str>,
        now: i64,
    ) -> ApiResult<Vec<AttemptJob>> {
        let Some(event) = self.events.get(event_id) else {
            return Err(ApiError::no_such("event", event_id, "id"));
        };
        let (event_type, created) = (event.event_type, event.created);
        let endpoints: Vec<String> = match endpoint {
            Some(id) => {
                if self.webhook_endpoints.get(id).is_none() {
                    return Err(ApiError::no_such(
                        "webhook_endpoint",
                        id,
                        "webhook_endpoint",
                    ));
                }
                vec![id.to_string()]
            }
            None => self
                .webhook_endpoints
                .iter()
                .map(|e| e.id.clone())
                .collect(),
        };
        let mut jobs = Vec::new();
        for endpoint_id in endpoints {
            let Some(endpoint) = self.webhook_endpoints.get(&endpoint_id) else {
                continue;
            };
            let (url, secrets) = (endpoint.url.clone(), endpoint.signing_secrets(now));
            let Some(body) = self.event_body(event_id, &endpoint_id) else {
                continue;
            };
            let existing = self
                .deliveries
                .of_event(event_id)
                .find(|r| r.endpoint_id == endpoint_id.as_str())
                .map(|r| r.id.to_string());
            let record_id = match existing {
                Some(id) => id,
                None => self.record_for_resend(event_id, event_type, created, &endpoint_id),
            };
            jobs.push(AttemptJob {
                record_id: Some(record_id),
                url,
                secrets,
                body,
                fault: None,
                manual: true,
            });
        }
        Ok(jobs)
    }
}
